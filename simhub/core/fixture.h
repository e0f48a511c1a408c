/*
 * fixture.h: the fixture room. A fixture file (JSON, format in docs/fixtures.md) declares hub
 * settings, shared access policies, devices and their modules with twins; fixture_parse turns
 * its text into a validated model the hub loader applies. Pure: no storage, no clock, no
 * randomness (absent keys are flagged for the loader to generate, never generated here).
 */
#ifndef SH_FIXTURE_H
#define SH_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/identity.h"
#include "core/result.h"

struct cJSON;

#define FIXTURE_FORMAT_VERSION 1          /* the only "version" value understood */
#define FIXTURE_MAX_BYTES (64u << 20)     /* larger texts are refused with SH_E_TOOLARGE */
#define FIXTURE_PATH_MAX 64               /* "$.devices[N].modules[M]" with 20-digit indexes */
#define FIXTURE_HOSTNAME_MAX 253          /* DNS name limit */
#define FIXTURE_KEY_MIN_BYTES 16          /* IoT Hub symmetric keys: 16 to 64 decoded bytes */
#define FIXTURE_KEY_MAX_BYTES 64

/*
 * The twin sections of one identity, each a JSON object owned by the fixture, or NULL when
 * the fixture does not mention that section (the loader then leaves the stored one as is).
 * Only the type is checked here; twin key and value rules are the twin engine's, at load.
 */
struct fixture_twin {
	struct cJSON *tags;
	struct cJSON *desired;
	struct cJSON *reported;
};

/*
 * A device (row.module_id "") or a module. `row` holds the fixture's registry values in the
 * shape hub_identity_create / hub_identity_update take: device_id, module_id, status,
 * status_reason, auth_type, keys, thumbprints, iot_edge, managed_by. All other fields of
 * `row` (generation id, etag, times, connection state) are zero. An empty key means "not in
 * the fixture": the loader generates it on create and keeps the stored one on update.
 */
struct fixture_identity {
	struct sh_identity row;
	struct fixture_twin twin;
	size_t device_index;                 /* index of the device entry (itself for a device) */
	char path[FIXTURE_PATH_MAX];         /* "$.devices[1]" or "$.devices[1].modules[0]" */
};

/* A shared access policy; empty keys as for identities. */
struct fixture_policy {
	struct sh_policy row;
	char path[FIXTURE_PATH_MAX];         /* "$.policies[3]" */
};

/* Hub settings; each field carries whether the fixture set it. */
struct fixture_settings {
	bool has_hostname;
	char hostname[FIXTURE_HOSTNAME_MAX + 1];
	bool has_auto_create_module;
	bool auto_create_module;             /* settings.security.autoCreateModule */
};

/*
 * The parsed fixture. Identities are flattened in document order: each device is followed
 * directly by its modules, so a loader walking the array front to back always meets a
 * device before its modules.
 */
struct fixture {
	struct fixture_settings settings;
	struct fixture_policy *policies;
	size_t policy_count;
	struct fixture_identity *identities;
	size_t identity_count;
	size_t device_count;                 /* identity_count = device_count + module_count */
	size_t module_count;
};

/* Why a parse failed. */
struct fixture_error {
	char path[192];        /* JSON path of the offending value; "$" for the whole document */
	char reason[256];      /* one sentence, no trailing period */
	unsigned line;         /* JSON syntax errors: 1-based position of the error; else 0 */
	unsigned column;
};

/*
 * Parse and validate a fixture. `text` (borrowed) holds `len` bytes of UTF-8 JSON; it need not
 * be NUL-terminated. On SH_OK *out gets a fixture the caller frees with fixture_free.
 * On failure *out is NULL and `err` (optional) says where and why. Returns:
 *   SH_E_MALFORMED  not JSON (syntax error, NUL byte, trailing text): err->line/column set;
 *   SH_E_INVALID    JSON that breaks a fixture rule (type, unknown key, id, key, duplicate);
 *   SH_E_TOOLARGE   len > FIXTURE_MAX_BYTES;
 *   SH_E_NOMEM      allocation failed.
 */
sh_rc fixture_parse(const char *text, size_t len, struct fixture **out, struct fixture_error *err);

/* Free a fixture and every twin section it owns. NULL is a no-op. */
void fixture_free(struct fixture *fx);

/*
 * "path: reason" (or "line L, column C: reason" for a syntax error) into `buf` of `cap`
 * bytes, truncated and always NUL-terminated when cap > 0. Returns buf.
 */
const char *fixture_error_format(const struct fixture_error *err, char *buf, size_t cap);

#endif
