/*
 * secmsg.h: security messages of the ASC for IoT agents (security-agent.md §3, §4): say whether
 * a message is marked as one, validate its body against the published schema (strict) or the
 * schema plus the real agents' known deviations (service), and normalise it into one row per
 * event. Pure: no clock, no I/O, no globals; it never stores, never alerts (secrules does).
 */
#ifndef SH_SECMSG_H
#define SH_SECMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"
#include "core/span.h"

struct cJSON;

/* The interface id that marks a security message (§3.1), compared byte for byte. */
#define SECMSG_INTERFACE_ID "urn:azureiot:Security:SecurityAgent:1"

/* Limits against hostile input (simhub's own; see docs/security.md). */
#define SECMSG_MAX_BODY 262144u   /* bytes: the IoT Hub device-to-cloud message limit */
#define SECMSG_MAX_DEPTH 16       /* nested objects/arrays; a real message needs 5 */
#define SECMSG_MAX_EVENTS 1024    /* items of $.Events */
#define SECMSG_MAX_ITEMS 8192     /* payload items, all events together */
#define SECMSG_MAX_REASONS 32     /* reasons kept per event and for the envelope */

enum secmsg_mode {
	SECMSG_SERVICE = 0, /* default: schema + the agents' deviations of §3.4, each recorded */
	SECMSG_STRICT = 1,  /* the published schema, RFC 3339 date-times, nothing more */
};

enum secmsg_verdict {
	SECMSG_VALID = 0,     /* conforms to the schema */
	SECMSG_TOLERATED = 1, /* service mode accepted known deviations (reasons say which) */
	SECMSG_INVALID = 2,   /* rejected (reasons say why); still stored by the hub */
};

/* One finding. Both strings are owned by the result that holds them. */
struct secmsg_reason {
	char *path;     /* JSON path, e.g. "$.Events[3].Payload[0].RemotePort" ("$" for the body) */
	char *text;     /* short reason, e.g. "integer where a port string is expected" */
	bool tolerated; /* a deviation accepted in service mode (never set in strict mode) */
};

/* One normalised event: every char * is owned by the result, NULL when the field was missing
 * or not a string. */
struct secmsg_event {
	size_t index;            /* position in $.Events */
	char *id;                /* Id */
	char *name;              /* Name, e.g. "ProcessCreate" */
	char *event_type;        /* EventType: Security | Operational | Diagnostic */
	char *category;          /* Category: Periodic | Triggered | Aggregated (as sent) */
	bool is_empty;           /* IsEmpty (false when missing) */
	char *timestamp_local;   /* TimestampLocal as sent */
	char *timestamp_utc;     /* TimestampUTC as sent */
	bool has_time;           /* time_utc_us is set */
	int64_t time_utc_us;     /* the event's UTC instant, microseconds since 1970: TimestampUTC,
				  * or TimestampLocal when it carries an offset and TimestampUTC
				  * cannot be read; a zone-less text is read as UTC (service) */
	char *payload_json;      /* Payload as compact JSON ("[...]"), normalised in service mode
				  * (integer ports and ExtraDetails values as strings, Result
				  * spelled as the schema does); "null" when Payload is missing */
	size_t payload_count;    /* items in Payload */
	enum secmsg_verdict verdict;
	struct secmsg_reason *reasons;
	size_t n_reasons;
	void *storage;           /* private: the one block the texts above point into (freed by
				  * secmsg_result_free; never free a text on its own) */
};

/* The outcome of secmsg_validate. Release with secmsg_result_free. */
struct secmsg_result {
	enum secmsg_mode mode;
	enum secmsg_verdict verdict;     /* worst of the envelope and every event */
	struct secmsg_reason *reasons;   /* envelope and body reasons (not the events') */
	size_t n_reasons;
	char *agent_version;             /* AgentVersion, NULL when missing or not a string */
	char *agent_id;                  /* AgentId, likewise */
	char *schema_version;            /* MessageSchemaVersion, likewise */
	struct secmsg_event *events;     /* one per item of $.Events (none when the body is not
					  * JSON, not an object, or over a limit) */
	size_t n_events;
};

/*
 * Validate and normalise a security message body.
 * body: `len` bytes (borrowed; any bytes, need not be NUL-terminated or UTF-8). mode: as above.
 * out: filled in full (caller releases with secmsg_result_free, also after SH_E_NOMEM).
 * Every body yields a result: one that is empty, over SECMSG_MAX_BODY, not UTF-8, nested deeper
 * than SECMSG_MAX_DEPTH, not JSON, or with more than SECMSG_MAX_EVENTS events or
 * SECMSG_MAX_ITEMS payload items is INVALID with a reason at "$" (or "$.Events") and no events.
 * The message verdict is INVALID when any envelope reason or any event is invalid (the schema
 * is one document), else TOLERATED when any reason is tolerated, else VALID.
 * Returns SH_OK (whatever the verdict); SH_E_NOMEM when an allocation failed (the result then
 * holds what was built so far, verdict INVALID).
 */
sh_rc secmsg_validate(const void *body, size_t len, enum secmsg_mode mode,
		      struct secmsg_result *out);

/* Release everything a result owns and zero it. NULL and a zeroed result are fine. */
void secmsg_result_free(struct secmsg_result *r);

/* "valid", "tolerated", "invalid" (static text). */
const char *secmsg_verdict_str(enum secmsg_verdict v);

/* "service", "strict" (static text). */
const char *secmsg_mode_str(enum secmsg_mode m);

/* Parse "service" / "strict" (case-sensitive). Returns SH_OK, or SH_E_INVALID (*out untouched). */
sh_rc secmsg_mode_parse(const char *s, enum secmsg_mode *out);

/*
 * The reasons as a JSON array [{"path":…,"reason":…,"tolerated":bool}, …] (reasons borrowed).
 * Returns a new array (caller frees with cJSON_Delete), NULL on allocation failure.
 */
struct cJSON *secmsg_reasons_json(const struct secmsg_reason *reasons, size_t n);

/*
 * The whole result as JSON for the store and the API:
 * {"mode","verdict","agentVersion","agentId","messageSchemaVersion","reasons":[…],
 *  "events":[{"index","id","name","eventType","category","isEmpty","timestampLocal",
 *             "timestampUtc","timeUtcUs" (number or null),"payloadCount","verdict","reasons"}]}
 * (payloads are left out: they are in each event's payload_json). Missing texts are null.
 * Returns a new object (caller frees), NULL on allocation failure.
 */
struct cJSON *secmsg_result_json(const struct secmsg_result *r);

/* ---- Is this message a security message? (§3.1) ---- */

/*
 * True when the raw MQTT property bag `bag` (borrowed, the text after .../messages/events/)
 * holds `$.ifid` = SECMSG_INTERFACE_ID, key and value percent-decoded: `%24.ifid=urn%3Aazureiot…`
 * (C and Node SDKs, upper- or lower-case hex), `$.ifid=urn:azureiot:…` (raw), any mix. Items
 * with bad escapes are skipped; the value is compared exactly (case-sensitive, as the C# SDK).
 */
bool secmsg_bag_is_security(struct sh_span bag);

/*
 * True when `sys` (borrowed cJSON object of system properties by canonical name, as
 * msg_props_parse returns, or as a front door builds from HTTPS headers or AMQP annotations)
 * has "iothub-interface-id" = SECMSG_INTERFACE_ID. NULL or a non-object gives false.
 */
bool secmsg_props_is_security(const struct cJSON *sys);

/*
 * True when the HTTPS request header `name: value` (both borrowed, name compared
 * case-insensitively, value with surrounding spaces and tabs ignored) is
 * `iothub-interface-id: urn:azureiot:Security:SecurityAgent:1`.
 */
bool secmsg_header_is_security(struct sh_span name, struct sh_span value);

/* ---- The validator's tables, for tests that compare them with the published schemas ---- */

enum secmsg_ftype {
	SECMSG_F_STRING,  /* JSON string */
	SECMSG_F_INT,     /* JSON integer (a number with no fraction) */
	SECMSG_F_BOOL,    /* JSON boolean */
	SECMSG_F_IP,      /* string, format ipv4 or ipv6 (the "ip" definition) */
	SECMSG_F_PORT,    /* string (the "port" definition: "22", "1-9", "*", "22,53") */
	SECMSG_F_GUID,    /* string of exactly 36 characters */
	SECMSG_F_ENUM,    /* string, one of `enums` */
	SECMSG_F_EXTRA,   /* object whose values are strings (the "extradetails" definition) */
};

struct secmsg_field {
	const char *name;
	enum secmsg_ftype type;
	bool required;
	const char *const *enums; /* SECMSG_F_ENUM: NULL-terminated list; NULL otherwise */
};

/* One of the 14 event schemas of §4 (static data). */
struct secmsg_schema {
	const char *name;       /* the Name enum, e.g. "Login" */
	const char *event_type; /* the EventType enum */
	const char *category;   /* the Category enum: "Periodic" or "Triggered" */
	const struct secmsg_field *fields; /* payload item properties, ExtraDetails included */
	size_t n_fields;
	bool user_any_of;       /* Login: anyOf required UserId / UserName */
};

/* The i-th event schema (i from 0), NULL past the last (there are 14). */
const struct secmsg_schema *secmsg_schema_at(size_t i);

/* The event schema named `name` (borrowed, case-sensitive), or NULL. */
const struct secmsg_schema *secmsg_schema_find(const char *name);

enum secmsg_table {
	SECMSG_T_ROOT_KEYS,      /* required keys of the root object (all of its keys) */
	SECMSG_T_EVENT_KEYS,     /* required keys of an event (all of its keys) */
	SECMSG_T_SCHEMA_VERSION, /* MessageSchemaVersion enum */
	SECMSG_T_CATEGORY,       /* generic event Category enum */
	SECMSG_T_EVENT_TYPE,     /* generic EventType enum */
	SECMSG_T_DIRECTION,      /* the "direction" definition's enum */
};

/* The i-th entry of a table (static text), NULL past its end. */
const char *secmsg_table_at(enum secmsg_table t, size_t i);

/* Is `s` (borrowed) an IPv4 dotted quad (no leading zeros) or an RFC 4291 IPv6 text? */
bool secmsg_is_ip(struct sh_span s);

#endif
