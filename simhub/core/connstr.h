/*
 * connstr.h: IoT Hub connection strings (iothub-protocol.md §1.2): parse `Key=Value;...` into
 * spans, classify device / module / service, and build the three kinds into caller buffers.
 * Pure: no allocation, no key checks (a SharedAccessKey is carried, not decoded), no I/O.
 */
#ifndef SH_CONNSTR_H
#define SH_CONNSTR_H

#include <stddef.h>

#include "core/result.h"
#include "core/sas.h"

enum connstr_kind {
	CONNSTR_DEVICE = 0,   /* DeviceId, no ModuleId */
	CONNSTR_MODULE = 1,   /* DeviceId and ModuleId */
	CONNSTR_SERVICE = 2,  /* no DeviceId: a shared access policy */
};

enum connstr_auth {
	CONNSTR_AUTH_KEY = 0,    /* SharedAccessKey (with SharedAccessKeyName for a policy key) */
	CONNSTR_AUTH_TOKEN = 1,  /* SharedAccessSignature: a ready-made token */
	CONNSTR_AUTH_X509 = 2,   /* x509=true */
};

/*
 * A parsed connection string. Spans point into the parsed text (borrowed); an absent field
 * is { NULL, 0 }; a present one is never empty.
 */
struct connstr {
	enum connstr_kind kind;
	enum connstr_auth auth;
	struct sas_span host_name;                /* HostName: always present */
	struct sas_span device_id;                /* DeviceId: device and module strings */
	struct sas_span module_id;                /* ModuleId: module strings */
	struct sas_span shared_access_key;        /* SharedAccessKey: base64 text, not checked */
	struct sas_span shared_access_key_name;   /* SharedAccessKeyName: policy name */
	struct sas_span shared_access_signature;  /* SharedAccessSignature: whole token text */
	struct sas_span gateway_host_name;        /* GatewayHostName: optional, any kind */
};

/*
 * Parse `len` bytes of `text` into *out (spans into `text`, borrowed). Grammar: pairs split
 * on ';' (empty pairs, as from a trailing ';', are skipped); each pair split on its FIRST '='
 * so base64 padding and token text survive; names are case-sensitive. Rules:
 * - known names only: HostName, DeviceId, ModuleId, SharedAccessKey, SharedAccessKeyName,
 *   SharedAccessSignature, x509, GatewayHostName; an unknown name is refused (it is a typo
 *   such as "Hostname" far more often than a field simhub could use);
 * - no name twice; no empty value; no control byte (0x00-0x1f, 0x7f) anywhere;
 * - HostName always; ModuleId only with DeviceId; x509 only as "true" (any case);
 * - device/module: exactly one of SharedAccessKey, SharedAccessSignature, x509=true (the Node
 *   device SDK's rule), and SharedAccessKeyName only beside SharedAccessKey (a policy key);
 * - service (no DeviceId): SharedAccessKeyName and SharedAccessKey, nothing else for auth.
 * *why (optional) gets a static sentence on failure, "" on success.
 * Returns SH_OK; SH_E_MALFORMED (pair without '=', empty name or value, control byte);
 * SH_E_INVALID (unknown or duplicate name, missing or conflicting fields). *out is zeroed on
 * failure.
 */
sh_rc connstr_parse(const char *text, size_t len, struct connstr *out, const char **why);

/*
 * Build "HostName=h;DeviceId=d;SharedAccessKey=k[;GatewayHostName=g]", or with key NULL
 * "HostName=h;DeviceId=d;x509=true[;GatewayHostName=g]". `gateway` NULL or "" = none.
 * Writes NUL-terminated text into `out` (caller's, `cap` bytes); *out_len (optional) gets its
 * length without the NUL, also on SH_E_NOSPACE. Arguments borrowed.
 * Returns SH_OK; SH_E_NOSPACE; SH_E_INVALID when a required value is NULL or empty, or any
 * value contains ';' or a control byte (it could not be parsed back).
 */
sh_rc connstr_build_device(const char *host, const char *device_id, const char *key,
			   const char *gateway, char *out, size_t cap, size_t *out_len);

/* As connstr_build_device, with ";ModuleId=m" after DeviceId. */
sh_rc connstr_build_module(const char *host, const char *device_id, const char *module_id,
			   const char *key, const char *gateway, char *out, size_t cap,
			   size_t *out_len);

/*
 * Build "HostName=h;SharedAccessKeyName=p;SharedAccessKey=k[;GatewayHostName=g]"; all but
 * `gateway` required. Otherwise as connstr_build_device.
 */
sh_rc connstr_build_service(const char *host, const char *policy, const char *key,
			    const char *gateway, char *out, size_t cap, size_t *out_len);

#endif
