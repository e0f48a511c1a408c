/*
 * scenario.h: the scenario model room. A scenario file (JSON, format in docs/scenarios.md)
 * names fixtures, the agent under test and ordered steps (actions, faults, expectations);
 * scenario_parse validates all of it and builds the model `simhub test` runs. Pure: never reads
 * files (fixture paths are kept for the runner), the clock or the environment.
 */
#ifndef SH_SCENARIO_H
#define SH_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/identity.h"
#include "core/result.h"

struct cJSON;
struct fixture;

#define SCENARIO_MAX_BYTES (4u << 20)      /* larger files are refused with SH_E_TOOLARGE */
#define SCENARIO_MAX_STEPS 10000u
#define SCENARIO_NAME_MAX 128              /* step names, method names, capture names, ... */
#define SCENARIO_PATH_MAX 64               /* "$.steps[N]" */

#define SCENARIO_US_PER_S 1000000LL
#define SCENARIO_DURATION_MAX_US (30LL * 86400 * SCENARIO_US_PER_S) /* 30 days */
#define SCENARIO_DEFAULT_WITHIN_US (10 * SCENARIO_US_PER_S)
#define SCENARIO_DEFAULT_FOR_US (5 * SCENARIO_US_PER_S)
#define SCENARIO_DEFAULT_GRACE_US (5 * SCENARIO_US_PER_S)
#define SCENARIO_DEFAULT_RESPONSE_TIMEOUT_US (30 * SCENARIO_US_PER_S)
#define SCENARIO_DEFAULT_CONNACK_CODE 3    /* refuse-connect: "server unavailable" */

/* A step is one of three classes, chosen by which of these keys it has. */
enum scenario_class {
	SCENARIO_ACTION,      /* "action": "patch-desired" */
	SCENARIO_FAULT,       /* "fault": "drop-connection" */
	SCENARIO_EXPECT,      /* "expect": "reported" */
};

/* Every step kind; scenario_kind_name gives the spelling used in files. */
enum scenario_kind {
	/* actions */
	SCENARIO_PATCH_DESIRED,        /* patch-desired: identity, patch */
	SCENARIO_PATCH_TAGS,           /* patch-tags: identity, patch */
	SCENARIO_REPLACE_TWIN,         /* replace-twin: identity, twin */
	SCENARIO_INVOKE_METHOD,        /* invoke-method: identity, method, payload, timeouts, ... */
	SCENARIO_SEND_C2D,             /* send-c2d: identity (a device), body, properties, ttl, ack */
	SCENARIO_CREATE_IDENTITY,      /* create-identity: identity, status, keys */
	SCENARIO_DISABLE_IDENTITY,     /* disable-identity: identity, reason */
	SCENARIO_ENABLE_IDENTITY,      /* enable-identity: identity */
	SCENARIO_DELETE_IDENTITY,      /* delete-identity: identity */
	SCENARIO_START_AGENT,          /* start-agent */
	SCENARIO_STOP_AGENT,           /* stop-agent: grace */
	SCENARIO_RESTART_AGENT,        /* restart-agent: grace */
	SCENARIO_WAIT,                 /* wait: duration */
	SCENARIO_ADVANCE_CLOCK,        /* advance-clock: by (clock "virtual" only) */
	/* faults, each addressed to one identity */
	SCENARIO_DROP_CONNECTION,      /* drop-connection */
	SCENARIO_REFUSE_CONNECT,       /* refuse-connect: count, returnCode */
	SCENARIO_TWIN_ERROR,           /* twin-error: status, count, operations */
	SCENARIO_DELAY_PUBACK,         /* delay-puback: delay, count, for */
	SCENARIO_WITHHOLD_PUBACK,      /* withhold-puback: count, for */
	SCENARIO_CLOSE_AT_SAS_EXPIRY,  /* close-at-sas-expiry */
	SCENARIO_THROTTLE,             /* throttle: rate, for */
	SCENARIO_CLEAR_FAULTS,         /* clear-faults */
	/* expectations */
	SCENARIO_EXPECT_CONNECTED,     /* connected: within (becomes) or for (stays) */
	SCENARIO_EXPECT_DISCONNECTED,  /* disconnected: within or for */
	SCENARIO_EXPECT_REPORTED,      /* reported: match against properties.reported */
	SCENARIO_EXPECT_TWIN,          /* twin: match against the whole twin */
	SCENARIO_EXPECT_TELEMETRY,     /* telemetry: identity?, properties, systemProperties, match, count */
	SCENARIO_EXPECT_SECURITY_EVENT,/* security-event: eventName, eventType, match, count */
	SCENARIO_EXPECT_ALERT,         /* alert: alertType, match, count */
	SCENARIO_EXPECT_METHOD_RESULT, /* method-result: call (an async invoke-method's capture) */
	SCENARIO_EXPECT_C2D,           /* c2d: message or messageId, outcome */
	SCENARIO_EXPECT_SECURITY_CONFIG, /* security-config-applied: keys, ignoreCase */
	SCENARIO_EXPECT_NOTHING,       /* nothing: of, filters, for */
	SCENARIO_KIND_COUNT
};

enum scenario_clock { SCENARIO_CLOCK_REAL, SCENARIO_CLOCK_VIRTUAL };

/* send-c2d "ack" (the iothub-ack property). */
enum scenario_ack { SCENARIO_ACK_NONE, SCENARIO_ACK_POSITIVE, SCENARIO_ACK_NEGATIVE, SCENARIO_ACK_FULL };

/* c2d expectation "outcome". */
enum scenario_outcome {
	SCENARIO_OUTCOME_COMPLETED, SCENARIO_OUTCOME_REJECTED, SCENARIO_OUTCOME_ABANDONED,
	SCENARIO_OUTCOME_EXPIRED,
};

/* Where counting starts for telemetry, security-event, alert and nothing. */
enum scenario_since {
	SCENARIO_SINCE_START,   /* the scenario's start (default for `within` expectations) */
	SCENARIO_SINCE_STEP,    /* this step's start (default for `nothing`) */
};

/* What a `nothing` expectation watches. */
enum scenario_nothing {
	SCENARIO_NOTHING_TELEMETRY, SCENARIO_NOTHING_SECURITY_EVENT, SCENARIO_NOTHING_ALERT,
	SCENARIO_NOTHING_C2D_SETTLED, SCENARIO_NOTHING_CONNECT, SCENARIO_NOTHING_DISCONNECT,
	SCENARIO_NOTHING_REPORTED_CHANGE, SCENARIO_NOTHING_METHOD_CALL,
};

/* twin-error "operations" bits. */
#define SCENARIO_TWIN_OP_GET 1u             /* "get" */
#define SCENARIO_TWIN_OP_PATCH_REPORTED 2u  /* "patch-reported" */

/* A device ("dev1": module_id "") or a module ("dev1/azureiotsecurity"). */
struct scenario_identity {
	char device_id[SH_ID_MAX + 1];
	char module_id[SH_ID_MAX + 1];
};

/*
 * One step. Only the fields of its kind are set (docs/scenarios.md lists them); the others are
 * zero, NULL or empty. JSON members are owned by the step and may hold {{templates}}, which the
 * runner expands with scenario_expand_json just before use.
 */
struct scenario_step {
	enum scenario_kind kind;
	char name[SCENARIO_NAME_MAX + 1];   /* given, or derived: "patch-desired dev1" */
	char path[SCENARIO_PATH_MAX];       /* "$.steps[3]" */
	unsigned line;                      /* 1-based line of the step's `{` in the file */
	bool has_identity;
	struct scenario_identity identity;

	/* times, microseconds; 0 when not given unless a default applies (see each field) */
	int64_t within_us;          /* expectations with a deadline; defaults.within when absent */
	int64_t for_us;             /* `nothing` and connected/disconnected windows (defaults.for);
				       faults: how long the fault lasts, 0 = until cleared */
	int64_t duration_us;        /* wait: duration; advance-clock: by; delay-puback: delay */
	int64_t ttl_us;             /* send-c2d: 0 = the hub's default */
	int64_t response_timeout_us;/* invoke-method: defaults.responseTimeout when absent */
	int64_t connect_timeout_us; /* invoke-method: 0 = do not wait for a connection */
	int64_t grace_us;           /* stop-agent, restart-agent: agent.grace when absent */

	/* JSON, owned */
	struct cJSON *json;         /* patch-desired/-tags: patch; replace-twin: twin;
				       invoke-method: payload (null when absent); send-c2d: body
				       (a string is sent as text, anything else as JSON text) */
	struct cJSON *properties;   /* send-c2d: app properties (object of strings);
				       telemetry, nothing: pattern over app properties */
	struct cJSON *system_properties; /* telemetry: pattern over system properties */
	struct cJSON *match;        /* validated jsonmatch pattern: reported, twin, telemetry body,
				       security-event, alert, method payload, nothing filter */
	struct cJSON *count;        /* pattern over a count; default {"$gte": 1} */

	/* scalars */
	bool has_status;
	int status;                 /* invoke-method, method-result: expected status;
				       twin-error: the status answered (400-599) */
	int count_n;                /* refuse-connect, twin-error: times (default 1);
				       delay-/withhold-puback: messages (0 = every one) */
	int return_code;            /* refuse-connect CONNACK code, 1-5 */
	int rate;                   /* throttle: messages per second, >= 1 */
	unsigned twin_ops;          /* twin-error: SCENARIO_TWIN_OP_* bits (default both) */
	bool async;                 /* invoke-method: do not wait; check with method-result */
	bool ignore_case;           /* security-config-applied: default true */
	bool create_disabled;       /* create-identity: "status": "disabled" */
	enum scenario_ack ack;
	enum scenario_outcome outcome;
	enum scenario_since since;
	enum scenario_nothing of;

	/* text; empty when absent */
	char method[SCENARIO_NAME_MAX + 1];     /* invoke-method */
	char message_id[SCENARIO_NAME_MAX + 1]; /* send-c2d, c2d */
	char capture[SCENARIO_NAME_MAX + 1];    /* defines a capture named so */
	char ref[SCENARIO_NAME_MAX + 1];        /* method-result `call`, c2d `message` */
	char event_name[SCENARIO_NAME_MAX + 1];
	char event_type[SCENARIO_NAME_MAX + 1];
	char alert_type[SCENARIO_NAME_MAX + 1];
	char reason[SH_REASON_MAX + 1];         /* disable-identity */
	char primary_key[SH_KEY_MAX + 1];       /* create-identity: empty = generated */
	char secondary_key[SH_KEY_MAX + 1];
	char **keys;                            /* security-config-applied: names to compare */
	size_t key_count;                       /* 0 = every desired key */
};

/* A fixture: a path (resolved against the scenario's folder) or an inline fixture. */
struct scenario_fixture {
	char *path;                 /* as written; NULL for inline */
	char *resolved;             /* path joined to the scenario file's folder; NULL for inline */
	struct fixture *inline_fx;  /* parsed inline fixture, owned; NULL for a path */
	char json_path[SCENARIO_PATH_MAX]; /* "$.fixtures[0]" */
	unsigned line;
};

/* The agent under test. `present` is false when the file has no "agent" (use --agent). */
struct scenario_agent {
	bool present;
	char *shell;                /* "command": "text" runs under /bin/sh -c; NULL when argv */
	char **argv;                /* "command": ["prog", "arg"...]: NULL-terminated; or NULL */
	size_t argc;
	char **env_names;           /* "env": {"NAME": "value"} in file order */
	char **env_values;
	size_t env_count;
	char *cwd;                  /* as written; NULL = the scenario's folder */
	char *cwd_resolved;         /* joined to the scenario's folder; NULL when cwd is NULL */
	int64_t grace_us;           /* SIGTERM to SIGKILL; default SCENARIO_DEFAULT_GRACE_US */
	bool autostart;             /* start before the first step; default true */
};

struct scenario {
	char *file;                 /* the file name given to scenario_parse */
	char *name;
	char *description;          /* NULL when absent */
	enum scenario_clock clock;
	struct scenario_fixture *fixtures;
	size_t fixture_count;
	struct scenario_agent agent;
	int64_t default_within_us;
	int64_t default_for_us;
	int64_t default_response_timeout_us;
	char **var_names;           /* "variables", values as text (numbers and booleans printed) */
	char **var_values;
	bool *var_json;             /* per variable: a number or boolean in the file (its text is
				     * the JSON text of that value) */
	size_t var_count;
	struct scenario_step *steps;
	size_t step_count;
	struct scenario_identity *identities; /* every identity named by a step or {{cs:...}}, */
	size_t identity_count;                /* first-mention order, no duplicates */
};

/* Why a parse or an expansion failed. */
struct scenario_error {
	char file[256];       /* the file name given; "" when none */
	char path[192];       /* JSON path of the offending value; "$" for the whole document */
	unsigned line;        /* 1-based line, 0 when unknown */
	unsigned column;      /* syntax errors only; else 0 */
	char reason[384];     /* one sentence, no trailing period */
};

/*
 * Parse and validate a scenario. `text` (borrowed) holds `len` bytes of UTF-8 JSON, NUL not
 * needed; `file` (borrowed, may be NULL) is its name for messages and for resolving relative
 * fixture and cwd paths. Every rule of docs/scenarios.md is checked here, so a scenario that
 * parses can be run without a late "bad scenario" error: unknown keys, types, durations,
 * identities, patterns (jsonmatch_validate), templates (unknown variables, captures used before
 * they are defined), inline fixtures (fixture_parse), advance-clock without a virtual clock.
 * On SH_OK *out gets a model freed with scenario_free; on failure *out is NULL and `err`
 * (optional) says where. Returns:
 *   SH_E_MALFORMED  not JSON (err->line and column set);
 *   SH_E_INVALID    JSON that breaks a scenario rule;
 *   SH_E_TOOLARGE   len > SCENARIO_MAX_BYTES or more than SCENARIO_MAX_STEPS steps;
 *   SH_E_NOMEM      allocation failed.
 */
sh_rc scenario_parse(const char *text, size_t len, const char *file, struct scenario **out,
		     struct scenario_error *err);

/* Free a model and everything it owns. NULL is a no-op. */
void scenario_free(struct scenario *sc);

/*
 * "file:line: path: reason" ("file: path: reason" without a line; "file:line:column: reason"
 * for syntax errors) into buf of cap bytes, always NUL-terminated when cap > 0. Returns buf.
 */
const char *scenario_error_format(const struct scenario_error *err, char *buf, size_t cap);

/*
 * Parse a duration: "250us", "500ms", "10s", "1.5s", "2m", "2h", "1d", compounds like "1h30m",
 * or ISO 8601 "PT2H", "PT1M30S", "PT0.5S", "P1DT2H". `s` borrowed, `len` bytes, no NUL needed.
 * Returns SH_OK with *us_out set (0 to SCENARIO_DURATION_MAX_US); SH_E_MALFORMED otherwise
 * (*us_out untouched); SH_E_TOOLARGE beyond SCENARIO_DURATION_MAX_US.
 */
sh_rc scenario_parse_duration(const char *s, size_t len, int64_t *us_out);

/*
 * Parse "device" or "device/module" (ids per identity_validate_id). Returns SH_OK with *out
 * filled; SH_E_MALFORMED otherwise (*out untouched).
 */
sh_rc scenario_parse_identity(const char *s, size_t len, struct scenario_identity *out);

/* The kind's file spelling ("patch-desired") and class. Out of range: "?" and SCENARIO_ACTION. */
const char *scenario_kind_name(enum scenario_kind kind);
enum scenario_class scenario_kind_class(enum scenario_kind kind);
/* "action", "fault" or "expect": the key that names a step of this class. */
const char *scenario_class_key(enum scenario_class cls);

/*
 * The keys a step of `kind` may have, NULL-terminated, the class key and the common keys
 * ("name", "comment") included; `required` (optional) gets the NULL-terminated list of keys it
 * must have. Static storage. NULL for an out-of-range kind. The schema test compares these
 * with scenarios/scenario.schema.json.
 */
const char *const *scenario_kind_keys(enum scenario_kind kind, const char *const **required);

/* Keys allowed at the top level, in "agent" and in "defaults": NULL-terminated, static. */
const char *const *scenario_top_keys(void);
const char *const *scenario_agent_keys(void);
const char *const *scenario_defaults_keys(void);

/* A variable's text (borrowed from the model) or NULL. */
const char *scenario_var(const struct scenario *sc, const char *name);

/* Was variable `name` a number or a boolean in the file (its text is JSON)? False when it was
 * a string or does not exist. */
bool scenario_var_is_json(const struct scenario *sc, const char *name);

/* --- templates ------------------------------------------------------------------------------ */

/*
 * What a {{...}} placeholder refers to:
 *   {{NAME}}             SCENARIO_REF_VAR      name "NAME" (a variable)
 *   {{cs:dev1[/mod]}}    SCENARIO_REF_CS       name "dev1/mod" (its connection string)
 *   {{ca}}               SCENARIO_REF_CA       name ""  (path of the hub's CA certificate)
 *   {{host}}             SCENARIO_REF_HOST     name ""  (host name agents connect to)
 *   {{port:mqtts}}       SCENARIO_REF_PORT     name "mqtt", "mqtts", "https" or "wss"
 *   {{capture.NAME[.a.b]}} SCENARIO_REF_CAPTURE name "NAME" or "NAME.a.b"
 * {{open}} is the literal text "{{" and never reaches the lookup.
 */
enum scenario_ref_kind {
	SCENARIO_REF_VAR, SCENARIO_REF_CS, SCENARIO_REF_CA, SCENARIO_REF_HOST, SCENARIO_REF_PORT,
	SCENARIO_REF_CAPTURE,
};

/*
 * Lookup callback: the text for a placeholder, borrowed until the next call, or NULL when it
 * has none (the expansion then fails with SH_E_NOTFOUND naming the placeholder).
 * *is_json (never NULL) is false on entry; the lookup sets it when the text is the JSON text
 * of a typed value (a number, boolean, null, object or array, e.g. a captured number or a
 * numeric variable) rather than plain text. Only scenario_expand_json uses it.
 */
typedef const char *(*scenario_lookup_fn)(void *ctx, enum scenario_ref_kind kind,
					  const char *name, bool *is_json);

/*
 * Expand every placeholder of NUL-terminated `text` (borrowed). `where` names its position
 * for messages ("$.steps[3].payload.mode"); `file` may be NULL. On SH_OK *out is a new string
 * the caller frees with free(). Returns SH_E_MALFORMED for a bad placeholder ("{{", "{{}}",
 * "{{nope:x}}"), SH_E_NOTFOUND when the lookup returned NULL, SH_E_NOMEM; on failure *out
 * is NULL and `err` (optional) says where and which placeholder.
 */
sh_rc scenario_expand(const char *text, scenario_lookup_fn lookup, void *ctx, const char *file,
		      const char *where, char **out, struct scenario_error *err);

/*
 * Deep-copy `in` (borrowed) with every string value expanded as scenario_expand does (keys are
 * not expanded). Typed placeholders: a string that is exactly one placeholder ("{{x}}", nothing
 * else around it) whose lookup answers a typed value (*is_json) becomes that JSON value (a
 * number, boolean, null, object or array) instead of its text; placeholders inside longer
 * strings, and text values, stay text. On SH_OK *out is a new tree the caller frees with
 * cJSON_Delete; NULL `in` gives NULL. Failures as scenario_expand, with the path of the
 * offending string.
 */
sh_rc scenario_expand_json(const struct cJSON *in, scenario_lookup_fn lookup, void *ctx,
			   const char *file, const char *where, struct cJSON **out,
			   struct scenario_error *err);

/*
 * Is `s` (NUL-terminated, borrowed; NULL is false) exactly one placeholder: "{{", a name
 * without "{" or "}}", "}}", nothing before or after, and not {{open}}? Such a string takes
 * its value's JSON type in scenario_expand_json. Does not check that the name is valid.
 */
bool scenario_is_whole_placeholder(const char *s);

#endif
