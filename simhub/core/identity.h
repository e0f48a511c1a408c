/*
 * identity.h: the registry's entities as IoT Hub has them (devices, modules, shared access
 * policies): their fields, the id rules, and their service-API JSON shapes. Pure: no storage,
 * no clock (times are arguments, in microseconds since 1970 UTC).
 */
#ifndef SH_IDENTITY_H
#define SH_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

struct cJSON;

#define SH_ID_MAX 128            /* deviceId / moduleId length limit (iothub-protocol §1.1) */
#define SH_KEY_MAX 128           /* base64 symmetric key text */
#define SH_THUMB_MAX 64          /* SHA-256 thumbprint in hex */
#define SH_REASON_MAX 128        /* statusReason */
#define SH_GENID_MAX 32
#define SH_POLICY_NAME_MAX 64

enum sh_status { SH_STATUS_ENABLED = 0, SH_STATUS_DISABLED = 1 };
enum sh_auth { SH_AUTH_SAS = 0, SH_AUTH_SELF_SIGNED = 1, SH_AUTH_CA = 2, SH_AUTH_NONE = 3 };

/* A device (module_id empty) or a module (module_id set). */
struct sh_identity {
	char device_id[SH_ID_MAX + 1];
	char module_id[SH_ID_MAX + 1];           /* "" for a device */
	char generation_id[SH_GENID_MAX + 1];
	int64_t etag_counter;                     /* identity etag = base64 of its decimal text */
	enum sh_status status;
	char status_reason[SH_REASON_MAX + 1];    /* "" when none (JSON null) */
	int64_t status_updated_us;                /* 0 = never (0001-01-01T00:00:00Z) */
	enum sh_auth auth_type;
	char primary_key[SH_KEY_MAX + 1];
	char secondary_key[SH_KEY_MAX + 1];
	char primary_thumbprint[SH_THUMB_MAX + 1];   /* "" = null */
	char secondary_thumbprint[SH_THUMB_MAX + 1];
	bool connected;
	int64_t connection_state_updated_us;
	int64_t last_activity_us;
	int64_t c2d_count;
	bool iot_edge;                            /* capabilities.iotEdge (devices) */
	char managed_by[SH_ID_MAX + 1];           /* modules: "" = absent */
	int64_t created_us;
};

/* Shared access policy rights (bit set). */
enum sh_right {
	SH_RIGHT_REGISTRY_READ = 1u << 0,
	SH_RIGHT_REGISTRY_WRITE = 1u << 1,
	SH_RIGHT_SERVICE_CONNECT = 1u << 2,
	SH_RIGHT_DEVICE_CONNECT = 1u << 3,
};

struct sh_policy {
	char name[SH_POLICY_NAME_MAX + 1];
	char primary_key[SH_KEY_MAX + 1];
	char secondary_key[SH_KEY_MAX + 1];
	unsigned rights;                          /* enum sh_right bits */
};

/*
 * Check a deviceId or moduleId (iothub-protocol.md §1.1): 1 to SH_ID_MAX characters, each an
 * ASCII letter or digit or one of - . % _ * ? ! ( ) , : = @ $ '. Case-sensitive; `+` and `#`
 * are refused (current docs). `id` is borrowed and need not be NUL-terminated.
 * Returns SH_OK, or SH_E_INVALID for an empty, too long or badly charactered id (or NULL).
 */
sh_rc identity_validate_id(const char *id, size_t len);

#endif
