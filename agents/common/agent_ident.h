/*
 * agent_ident.h: room agent_ident of simhub_agentlib (agents/common): who an agent is, from a
 * connection string, and the IoT Hub MQTT strings that follow (client id, username, SAS
 * password, topics), plus the reconnect backoff schedule. Pure: no sockets, no clock (times
 * are arguments), no allocation; everything is written into caller buffers.
 *
 * simhub_agentlib in one paragraph (agent_ident.h + agent_mqtt.h): parse a device or module
 * connection string with agent_ident_from_cs, describe the broker with struct agent_mqtt_opts
 * (TLS with a CA file, or plain TCP for debugging), create an agent_mqtt client with callbacks
 * for twin responses and desired patches, then call agent_mqtt_service in a loop. The client
 * subscribes to the twin topics after every CONNACK, mints a fresh SAS token for every
 * connection (renewing it by reconnecting before it expires) and reconnects with exponential
 * backoff when the connection drops. Twin GET / reported PATCH carry a $rid the caller gets back.
 */
#ifndef SH_AGENT_IDENT_H
#define SH_AGENT_IDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

#define AGENT_ID_MAX 128          /* IoT Hub device and module ids */
#define AGENT_HOST_MAX 255
#define AGENT_KEY_MAX 512
#define AGENT_API_VERSION "2021-04-12"
/* Buffers that always hold a username / a SAS token of any identity that fits struct
 * agent_ident (agent_ident_username, agent_ident_password, agent_service_token). */
#define AGENT_USER_MAX (AGENT_HOST_MAX + 2 * AGENT_ID_MAX + 64)
#define AGENT_PASS_MAX 2560

/* Who the agent is. Plain NUL-terminated copies (the struct owns them, no heap). */
struct agent_ident {
	char host[AGENT_HOST_MAX + 1];     /* HostName: the hub's name (SAS scope, username) */
	char gateway[AGENT_HOST_MAX + 1];  /* GatewayHostName, "" when absent: where to dial */
	char device_id[AGENT_ID_MAX + 1];
	char module_id[AGENT_ID_MAX + 1];  /* "" for a device identity */
	char key[AGENT_KEY_MAX + 1];       /* SharedAccessKey, base64 text */
};

/*
 * Parse a device or module connection string with a SharedAccessKey (core/connstr rules) into
 * *out (zeroed first). `cs` borrowed. *why (optional) gets a static reason on failure.
 * Returns SH_OK; SH_E_MALFORMED or SH_E_INVALID from connstr_parse; SH_E_INVALID for a service
 * string, a SharedAccessSignature or x509 string (this library signs its own tokens), or a
 * policy key; SH_E_TOOLARGE when a field does not fit its buffer.
 */
sh_rc agent_ident_from_cs(const char *cs, struct agent_ident *out, const char **why);

/*
 * Fill *out (zeroed first) from parts, for programs that know an identity without a connection
 * string (agents/fleet: a hub name, a recorded device id, a key from a key map). `host` and
 * `device` are required; `module` NULL or "" for a device identity; `key` (base64 text) NULL or
 * "" for an identity that only builds topics and ids (agent_ident_password then fails with
 * SH_E_INVALID). All borrowed, copied. Returns SH_OK; SH_E_INVALID when host or device is NULL or
 * empty; SH_E_TOOLARGE when a part does not fit its buffer (*out is then zeroed).
 */
sh_rc agent_ident_make(struct agent_ident *out, const char *host, const char *device,
		       const char *module, const char *key);

/* The host to dial: GatewayHostName when set, else HostName (borrowed from *id). */
const char *agent_ident_dial_host(const struct agent_ident *id);

/*
 * The MQTT strings of an identity, written NUL-terminated into `buf` (caller's, `cap` bytes):
 * - client id: "{device}" or "{device}/{module}";
 * - username: "{host}/{device}[/{module}]/?api-version=" AGENT_API_VERSION;
 * - resource: "{host}/devices/{device}[/modules/{module}]" (the SAS scope);
 * - password: a SAS token for the resource, signed with the key, expiring at `expiry_s`.
 * Each returns SH_OK; SH_E_NOSPACE when `cap` is too small; agent_ident_password also
 * SH_E_INVALID (bad key) from sas_build.
 */
sh_rc agent_ident_client_id(const struct agent_ident *id, char *buf, size_t cap);
sh_rc agent_ident_username(const struct agent_ident *id, char *buf, size_t cap);
sh_rc agent_ident_resource(const struct agent_ident *id, char *buf, size_t cap);
sh_rc agent_ident_password(const struct agent_ident *id, int64_t expiry_s, char *buf, size_t cap);

/*
 * A service identity: a shared access policy of the hub, from a service connection string
 * (HostName, SharedAccessKeyName, SharedAccessKey, no DeviceId). The struct owns its copies.
 */
struct agent_service {
	char host[AGENT_HOST_MAX + 1];
	char policy[AGENT_ID_MAX + 1];
	char key[AGENT_KEY_MAX + 1];
};

/*
 * Parse a service connection string into *out (zeroed first). `cs` borrowed; *why (optional)
 * gets a static reason on failure. Returns SH_OK; SH_E_MALFORMED or SH_E_INVALID from
 * connstr_parse; SH_E_INVALID for a device or module string, or one without a key;
 * SH_E_TOOLARGE when a field does not fit its buffer.
 */
sh_rc agent_service_from_cs(const char *cs, struct agent_service *out, const char **why);

/*
 * The Authorization value for the service REST API: a SAS token for the hub (sr = HostName,
 * skn = the policy) expiring at `expiry_s`, written into `buf` (`cap` bytes). Returns SH_OK;
 * SH_E_NOSPACE when `cap` is too small; SH_E_INVALID (bad key) from sas_build.
 */
sh_rc agent_service_token(const struct agent_service *s, int64_t expiry_s, char *buf, size_t cap);

/*
 * Telemetry topic "devices/{device}[/modules/{module}]/messages/events/{bag}" with `bag`
 * (already percent-encoded, NULL or "" for none). Returns SH_OK or SH_E_NOSPACE.
 */
sh_rc agent_ident_telemetry_topic(const struct agent_ident *id, const char *bag, char *buf,
				  size_t cap);

/* Twin topics the client publishes: "$iothub/twin/GET/?$rid={rid}" and
 * "$iothub/twin/PATCH/properties/reported/?$rid={rid}". Return SH_OK or SH_E_NOSPACE. */
sh_rc agent_topic_twin_get(unsigned rid, char *buf, size_t cap);
sh_rc agent_topic_twin_report(unsigned rid, char *buf, size_t cap);

/*
 * Method answer topic "$iothub/methods/res/{status}/?$rid={rid}", `rid` being the request's
 * $rid text exactly as the hub sent it (`rid_len` bytes, borrowed; IoT Hub's are not always
 * decimal). Returns SH_OK; SH_E_INVALID for a status outside 0..999 or a rid holding '&', '/'
 * or a NUL; SH_E_NOSPACE.
 */
sh_rc agent_topic_method_res(int status, const char *rid, size_t rid_len, char *buf, size_t cap);

/* The C2D subscription filter of a device, "devices/{device}/messages/devicebound/#".
 * Returns SH_OK or SH_E_NOSPACE. */
sh_rc agent_ident_c2d_filter(const struct agent_ident *id, char *buf, size_t cap);

/* What a topic the hub published to the client is. */
enum agent_topic_kind {
	AGENT_TOPIC_OTHER = 0,      /* anything else (garbage, topics of no IoT Hub feature) */
	AGENT_TOPIC_TWIN_RES,       /* $iothub/twin/res/{status}/?$rid={rid}[&$version={v}] */
	AGENT_TOPIC_TWIN_DESIRED,   /* $iothub/twin/PATCH/properties/desired/?$version={v} */
	AGENT_TOPIC_METHOD,         /* $iothub/methods/POST/{name}/?$rid={rid} */
	AGENT_TOPIC_C2D,            /* devices/{device}/messages/devicebound/{bag} */
};

/* A classified inbound topic. Numbers absent from the topic are -1; spans point into it. */
struct agent_topic {
	enum agent_topic_kind kind;
	int status;          /* TWIN_RES: HTTP-like status */
	int64_t rid;         /* TWIN_RES: the decimal $rid we sent, -1 when absent or not a number */
	int64_t version;     /* $version, -1 when absent */
	const char *rid_text;  /* $rid exactly as sent (any kind), NULL when absent */
	size_t rid_len;
	const char *name;      /* METHOD: the method name; C2D: the device id; else NULL */
	size_t name_len;
};

/*
 * Classify `len` bytes of `topic` (borrowed; the spans of *out point into it). Query parameters
 * may come in any order; unknown ones are ignored. Returns SH_OK with *out filled (kind OTHER
 * for topics of no kind above); SH_E_MALFORMED for a twin topic whose status or numbers are not
 * decimal, or a method topic without a name or without its $rid (it could not be answered).
 */
sh_rc agent_topic_parse(const char *topic, size_t len, struct agent_topic *out);

/*
 * Reconnect delay before attempt number `attempt` (0 = first retry): base_ms * 2^attempt capped
 * at max_ms, then reduced by up to a quarter using `jitter` (any 32-bit value, e.g. random), so
 * a fleet does not reconnect in step. Never below 1 ms or above max_ms (max_ms >= base_ms >= 1
 * expected; other values are clamped).
 */
int64_t agent_backoff_ms(unsigned attempt, int64_t base_ms, int64_t max_ms, uint32_t jitter);

/*
 * When to renew a SAS token valid from `issued_s` to `expiry_s` (seconds): at 80 % of its
 * lifetime, but at least 1 s after issue and before expiry. Reconnecting at that time keeps the
 * hub from closing an expired connection.
 */
int64_t agent_renew_at_s(int64_t issued_s, int64_t expiry_s);

#endif
