/*
 * secconfig.h: the security module twin's configuration object (security-agent.md §1): its
 * fields with types, defaults and bounds, the default desired document a new `azureiotsecurity`
 * module twin gets, and the drift between what the service desired and what the agent
 * reported. Pure: no clock, no I/O, no globals; it never writes a twin (the hub does).
 */
#ifndef SH_SECCONFIG_H
#define SH_SECCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

struct cJSON;

#define SECCONFIG_MODULE_ID "azureiotsecurity"
#define SECCONFIG_OBJECT "ms_iotn:urn_azureiot_Security_SecurityAgentConfiguration"

enum secconfig_kind {
	SECCONFIG_DURATION, /* ISO 8601 duration string ("PT7M") */
	SECCONFIG_INT,      /* JSON integer */
	SECCONFIG_BOOL,     /* JSON boolean */
	SECCONFIG_PRIORITY, /* "High" | "Low" | "Off", any case (the C agent reports lower case) */
	SECCONFIG_STRING,   /* JSON string */
};

/* One field of §1.3/§1.4 (static data). */
struct secconfig_field {
	const char *key;           /* e.g. "highPriorityMessageFrequency" */
	enum secconfig_kind kind;
	const char *default_json;  /* the default value as JSON text ("\"PT7M\"", "2560000",
				    * "true", "\"Low\""), or NULL when there is none ("" strings) */
	bool in_default_twin;      /* part of azureiotsecurity_default.json (and of
				    * secconfig_default_desired) */
	int64_t min, max;          /* SECCONFIG_INT: documented bounds (the agents do not enforce
				    * them); 0, 0 when unbounded */
	bool some_agents_only;     /* not every agent knows it (§1.5): the C agent reports no
				    * ProcessTerminate aggregation and no priority for
				    * ConnectedHardware, ProcessTerminate, ConfigurationError,
				    * DroppedEventsStatistics, MessageStatistics; the C# agent none
				    * for Operational; only the C# agent reports hubResourceId */
};

/* The i-th known field (i from 0), NULL past the last. Order: the twin default's, then the
 * fields it leaves out (baselineCustomChecks*, hubResourceId, eventPriorityOperational). */
const struct secconfig_field *secconfig_field_at(size_t i);

/* The field named `key` (borrowed, case-sensitive), or NULL. */
const struct secconfig_field *secconfig_field_find(const char *key);

/*
 * Parse an ISO 8601 duration as the twin schema's pattern allows it:
 * P[nY][nM][nW][nD][T[nH][nM][nS]], at least one component, a fraction only on the last one
 * ("PT1.5S", "P0.5D"). Months count 30 days, years 365 (as the C agent counts months).
 * s: borrowed, NUL-terminated. *ms_out: milliseconds (fractions below 1 ms truncated).
 * Returns SH_OK; SH_E_MALFORMED for any other text; SH_E_TOOLARGE past ~292 million years.
 */
sh_rc secconfig_duration_parse(const char *s, int64_t *ms_out);

/*
 * Check one configuration entry as the service would store it: `wrapper` (borrowed) must be
 * {"value": <value of f's kind>} (JSON null, or a null value, means "use the default" and is
 * fine), durations must parse and be > 0, priorities one of High/Low/Off in any case, sizes
 * within min/max.
 * why: caller buffer (may be NULL) for a one-line reason on failure.
 * Returns SH_OK; SH_E_INVALID with `why` filled.
 */
sh_rc secconfig_check_entry(const struct secconfig_field *f, const struct cJSON *wrapper,
			    char *why, size_t why_cap);

/*
 * The desired section a new security module twin gets: {SECCONFIG_OBJECT: {"<key>":
 * {"value": <default>}, …}} with exactly the keys and values of azureiotsecurity_default.json
 * (§1.2/§1.3), in its order. Returns a new object (caller frees with cJSON_Delete), NULL on
 * allocation failure.
 */
struct cJSON *secconfig_default_desired(void);

enum secconfig_state {
	SECCONFIG_APPLIED,       /* desired set and reported equal (after normalising) */
	SECCONFIG_PENDING,       /* desired set, reported missing or different */
	SECCONFIG_REJECTED,      /* desired set and the agent reported a TypeMismatch for it */
	SECCONFIG_DEFAULT,       /* desired does not set it: the agent uses its default (the
				  * reported value, when present, shows which) */
	SECCONFIG_UNKNOWN_FIELD, /* a key simhub does not know, on either side */
	SECCONFIG_NOT_REPORTED,  /* desired set, some_agents_only, and the agent reported the
				  * configuration object without it: this agent does not know the
				  * field (it neither applies nor rejects it) */
};

/* One row of the drift. Owned by the drift that holds it. */
struct secconfig_drift_row {
	char *key;
	const struct secconfig_field *field; /* NULL for an unknown field */
	struct cJSON *desired;   /* the desired "value" (a copy), NULL when not set */
	struct cJSON *reported;  /* the reported "value" (a copy), NULL when not reported */
	enum secconfig_state state;
	char *desired_error;     /* simhub's own check of the desired entry failed: why; or NULL */
	char *agent_error;       /* "<ErrorType>: <Message>" of the agent's ConfigurationError
				  * item naming this field; or NULL */
};

struct secconfig_drift {
	struct secconfig_drift_row *rows; /* known fields in table order, then unknown keys */
	size_t n_rows;
	struct cJSON *errors;    /* the agent's validation errors as reported: a copy of the
				  * ConfigurationError payload items given (an array, maybe empty) */
	bool reported_present;   /* the reported section holds the configuration object */
	bool applied;            /* reported_present and no row is PENDING or REJECTED
				  * (NOT_REPORTED rows do not count against it) */
};

/*
 * Compute the drift.
 * desired, reported: the twin's properties.desired and properties.reported sections
 * (borrowed; either may be NULL); the configuration object is read from key SECCONFIG_OBJECT.
 * Entries are {"value": v}; a bare value on the reported side is read as v (lenient), on the
 * desired side it is a desired_error.
 * config_errors: borrowed array of the agent's ConfigurationError payload items (§4.12), the
 * latest event's; may be NULL. Items of ErrorType TypeMismatch name fields directly
 * (ConfigurationName) or in their Message ("Couldn't parse the following conifgurations: a, b"
 * from the C agent, where "eventPriorities" means every eventPriority* key; JSON paths from C#)
 * and make those rows REJECTED; NotOptimal and Conflict items only fill agent_error.
 * Comparison: durations by length (PT60M = PT1H), priorities ignoring case, numbers by value.
 * A desired field missing from a reported object is PENDING, except a some_agents_only field,
 * which is NOT_REPORTED (the agent in front does not know it); before the agent reports the
 * object at all every desired field is PENDING.
 * out: filled (caller releases with secconfig_drift_free, also after an error).
 * Returns SH_OK; SH_E_NOMEM.
 */
sh_rc secconfig_drift(const struct cJSON *desired, const struct cJSON *reported,
		      const struct cJSON *config_errors, struct secconfig_drift *out);

/* Release a drift and zero it. NULL is fine. */
void secconfig_drift_free(struct secconfig_drift *d);

/* "applied", "pending", "rejected", "default", "unknown-field", "not-reported" (static
 * text). */
const char *secconfig_state_str(enum secconfig_state s);

/*
 * The drift as JSON for the API and the CLI:
 * {"applied":bool,"reportedPresent":bool,"fields":[{"field","state","desired","reported",
 *  "default","desiredError","agentError"}…],"errors":[…]} (absent values are null).
 * Returns a new object (caller frees), NULL on allocation failure.
 */
struct cJSON *secconfig_drift_json(const struct secconfig_drift *d);

/*
 * The effective high-priority message frequency in milliseconds: the reported value when it
 * parses, else the desired one, else the default (7 minutes). Sections borrowed, may be NULL.
 * (secrules' agent-silent rule takes it.)
 */
int64_t secconfig_high_priority_ms(const struct cJSON *desired, const struct cJSON *reported);

/* ---- typed values, for whoever applies a configuration (agents/secagent) ---- */

/* The levels of a SECCONFIG_PRIORITY value. */
enum secconfig_priority {
	SECCONFIG_PRIO_OFF = 0,
	SECCONFIG_PRIO_LOW = 1,
	SECCONFIG_PRIO_HIGH = 2,
};

/* One field's value, typed by the field's kind. */
struct secconfig_value {
	bool set;      /* false: no value (missing, null, or no default); the rest is zero */
	int64_t i;     /* DURATION: milliseconds (> 0); INT: the integer; BOOL: 0 or 1;
			* PRIORITY: an enum secconfig_priority */
	const char *s; /* STRING: the text, borrowed from the JSON read (or static for a
			* default); NULL for the other kinds */
};

/*
 * "High", "Low" or "Off" in any case (s borrowed, may be NULL) to *out.
 * Returns SH_OK; SH_E_INVALID for anything else (*out untouched).
 */
sh_rc secconfig_priority_parse(const char *s, enum secconfig_priority *out);

/*
 * Read one configuration entry by type only, as the agents do (§1.5): `wrapper` (borrowed)
 * must be {"value": <value of f's kind>}; JSON null, a missing wrapper (NULL) or a null value
 * give out->set = false ("use the default"). Durations must parse (secconfig_duration_parse)
 * and be > 0, integers be whole, priorities High/Low/Off in any case. The documented bounds
 * (f->min/max) are NOT checked: secconfig_check_entry does that for the service side.
 * why: caller buffer (may be NULL) for a one-line reason on failure.
 * Returns SH_OK with *out filled; SH_E_INVALID (out->set false, `why` filled).
 */
sh_rc secconfig_entry_value(const struct secconfig_field *f, const struct cJSON *wrapper,
			    struct secconfig_value *out, char *why, size_t why_cap);

/*
 * The field's default (its default_json) as a typed value; string defaults are the empty
 * string (static). Returns SH_OK with out->set true; SH_E_NOTFOUND when the field has no
 * default (out->set false: the agents pick their own, e.g. eventPriorityOperational).
 */
sh_rc secconfig_field_default(const struct secconfig_field *f, struct secconfig_value *out);

#define SECCONFIG_DURATION_TEXT 40 /* room for any secconfig_duration_format text */

/*
 * Write `ms` (>= 0) as an ISO 8601 duration that secconfig_duration_parse reads back to the
 * same value: P[nD][T[nH][nM][n[.fff]S]] with zero parts left out and days as the largest
 * unit, e.g. 420000 -> "PT7M", 90061000 -> "P1DT1H1M1S", 1500 -> "PT1.5S", 0 -> "PT0S".
 * A negative ms is written as "PT0S". out: at least SECCONFIG_DURATION_TEXT bytes.
 * Returns out.
 */
char *secconfig_duration_format(int64_t ms, char *out);

#endif
