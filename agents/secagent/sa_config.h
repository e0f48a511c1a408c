/*
 * sa_config.h: room sa_config of secagent: the security module twin configuration
 * (security-agent.md §1.2-§1.5): ISO 8601 durations, parse a desired section into an
 * effective configuration, the semantic checks, and the reported-properties document.
 * Pure: no clock, no I/O; the only allocations are the cJSON trees it returns.
 */
#ifndef SA_CONFIG_H
#define SA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

struct cJSON;

#define SA_CONFIG_OBJECT "ms_iotn:urn_azureiot_Security_SecurityAgentConfiguration"

/* The 14 event names of §4, in a fixed order (index = enum value). */
enum sa_kind {
	SA_PROCESS_CREATE, SA_PROCESS_TERMINATE, SA_CONNECTION_CREATE, SA_LOGIN,
	SA_LISTENING_PORTS, SA_LOCAL_USERS, SA_SYSTEM_INFORMATION, SA_FIREWALL_CONFIGURATION,
	SA_OS_BASELINE, SA_CONNECTED_HARDWARE, SA_DIAGNOSTIC,
	SA_CONFIGURATION_ERROR, SA_DROPPED_EVENTS_STATISTICS, SA_MESSAGE_STATISTICS,
	SA_KIND_COUNT
};

/* "ProcessCreate", ... (static text); NULL outside the enum. */
const char *sa_kind_name(enum sa_kind k);
/* "Security", "Operational" or "Diagnostic". */
const char *sa_kind_event_type(enum sa_kind k);
/* True for the Periodic (snapshot) events, false for the Triggered ones. */
bool sa_kind_periodic(enum sa_kind k);

enum sa_prio { SA_PRIO_OFF = 0, SA_PRIO_LOW = 1, SA_PRIO_HIGH = 2 };

/* The effective configuration. Sizes in bytes, durations in milliseconds. */
struct sa_config {
	uint32_t high_freq_ms, low_freq_ms, snapshot_ms;
	int64_t max_cache_bytes, max_message_bytes;
	enum sa_prio prio[SA_KIND_COUNT];   /* eventPriority<Name> */
	enum sa_prio operational;           /* eventPriorityOperational: OFF disables the three
					     * operational events; else they use the operational queue */
	bool agg_process_create, agg_connection_create;
	uint32_t agg_process_create_ms, agg_connection_create_ms;
	bool baseline_checks;
	char baseline_path[256];            /* "" = null */
	char baseline_hash[130];            /* "" = null */
};

/* Bounds of the twin schema (§1.3), enforced here (the real agents only check types). */
#define SA_MIN_MESSAGE 8192
#define SA_MAX_MESSAGE 262144
#define SA_MIN_CACHE 8192
#define SA_MAX_CACHE (1024LL * 1024 * 1024)

/* The twin defaults of §1.3 (azureiotsecurity_default.json). */
void sa_config_default(struct sa_config *c);

/*
 * Parse an ISO 8601 duration as the C agent accepts it (§1.3):
 * P[nY][nM][nW][nD][T[nH][nM][nS]] with unsigned integers, months = 30 days, years refused
 * (they add nothing in the C agent), at least one field, 'T' followed by at least one field.
 * `s` NUL-terminated, borrowed. Returns SH_OK with *ms_out; SH_E_MALFORMED for any other text;
 * SH_E_INVALID for a zero duration or one over UINT32_MAX ms (~49.7 days).
 */
sh_rc sa_duration_parse(const char *s, uint32_t *ms_out);

/*
 * Format `ms` (whole seconds are printed; a rest under 1 s is dropped) as
 * P[nD][T[nH][nM][nS]] with zero parts left out, e.g. 420000 -> "PT7M", 0 -> "PT0S".
 * `out` at least 32 bytes. Returns out.
 */
char *sa_duration_format(uint32_t ms, char out[32]);

/* One validation finding, the payload item of a ConfigurationError event (§4.12). */
struct sa_config_error {
	char name[64];          /* ConfigurationName */
	const char *type;       /* "TypeMismatch" | "NotOptimal" | "Conflict" (static) */
	char used[256];         /* UsedConfiguration */
	char message[512];      /* Message */
};

#define SA_CONFIG_MAX_ERRORS 8

/* Findings of one apply. */
struct sa_config_report {
	bool accepted;          /* the new configuration replaced the old one */
	size_t n_errors;
	struct sa_config_error errors[SA_CONFIG_MAX_ERRORS];
};

/*
 * Apply a desired section (`desired`, borrowed: the twin's properties.desired object, or NULL
 * / a non-object = "no configuration") to *cfg, the C agent's way (§1.5) with the twin schema's
 * bounds: a missing object, key, or null value means the default; every present key must be
 * {"value": <type>} with the right type, an ISO duration the C agent accepts, a priority
 * "High"/"Low"/"Off" in any case, a size within the SA_* bounds. Unknown keys are ignored.
 * On any type error nothing changes (*cfg keeps the previous configuration) and rep gets one
 * TypeMismatch item named "TwinConfiguration" listing the keys. On success *cfg is replaced and
 * rep gets the semantic findings: NotOptimal (max message size not a multiple of 4096),
 * Conflict (cache smaller than message size; high frequency above low frequency).
 * Returns SH_OK (accepted, maybe with findings); SH_E_INVALID (type errors, cfg unchanged).
 */
sh_rc sa_config_apply(struct sa_config *cfg, const struct cJSON *desired,
		      struct sa_config_report *rep);

/*
 * The reported patch: {"ms_iotn:…": {"<key>": {"value": …}, …}} with every field of *cfg,
 * durations formatted by sa_duration_format, priorities lower-case (the C agent's shape),
 * the baseline path and hash only when set. Returns a new tree (caller frees with
 * cJSON_Delete), NULL on allocation failure.
 */
struct cJSON *sa_config_reported(const struct sa_config *cfg);

/* The configuration as compact JSON text (the C agent's UsedConfiguration of a TypeMismatch):
 * the inner object of sa_config_reported. Caller frees with cJSON_free; NULL on failure. */
char *sa_config_json_text(const struct sa_config *cfg);

#endif
