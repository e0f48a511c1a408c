/*
 * sa_config.h: room sa_config of secagent: the security module twin configuration as the C
 * agent applies it (security-agent.md §1.5, §2.5): desired section in, effective configuration,
 * validation findings and the reported-properties document out. The field table, defaults and
 * ISO 8601 durations are simhub's core/secconfig; this room holds only agent behaviour.
 * Pure: no clock, no I/O; the only allocations are the cJSON trees it returns.
 */
#ifndef SA_CONFIG_H
#define SA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"
#include "core/secconfig.h"

struct cJSON;

#define SA_CONFIG_OBJECT SECCONFIG_OBJECT

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

enum sa_prio {
	SA_PRIO_OFF = SECCONFIG_PRIO_OFF,
	SA_PRIO_LOW = SECCONFIG_PRIO_LOW,
	SA_PRIO_HIGH = SECCONFIG_PRIO_HIGH,
};

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

/*
 * The defaults: each field's secconfig default (the twin default, azureiotsecurity_default.json),
 * and where secconfig has none, the C agent's: eventPriorityOperational "high" (the operational
 * queue), baseline path and hash null.
 */
void sa_config_default(struct sa_config *c);

/* One validation finding, the payload item of a ConfigurationError event (§4.12). */
struct sa_config_error {
	char name[64];          /* ConfigurationName */
	const char *type;       /* "TypeMismatch" | "NotOptimal" | "Conflict" (static) */
	char used[2048];        /* UsedConfiguration (room for the whole configuration JSON) */
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
 * Apply a desired section or a desired patch (`desired`, borrowed: the twin's
 * properties.desired object or a patch of it; NULL / a non-object = "no configuration") to *cfg
 * the C agent's way (§1.5, §2.5). The configuration object is read as a WHOLE configuration:
 * a missing object, key, or null value means the default (secconfig_field_default), so a
 * partial patch sets the keys it leaves out back to their defaults. Each key the C agent reads
 * is checked by type only (secconfig_entry_value), plus what the C agent's own types cannot
 * hold: durations with a fraction or years, or over UINT32_MAX ms; sizes outside 0..INT32_MAX;
 * strings longer than the agent keeps. The schema's size bounds (8192..262144) are NOT
 * enforced. Keys the C agent does not read (hubResourceId, the ProcessTerminate aggregation,
 * unknown keys) are ignored.
 * On any type error nothing changes (*cfg keeps the previous configuration) and rep gets one
 * TypeMismatch item named "TwinConfiguration" whose Message is the C agent's
 * "Couldn't parse the following conifgurations: <keys>" (sic; every eventPriority* key is
 * listed once as "eventPriorities"). On success *cfg is replaced and rep gets the semantic
 * findings: NotOptimal (max message size not a multiple of 4096), Conflict (cache smaller than
 * message size; high frequency above low frequency).
 * Returns SH_OK (accepted, maybe with findings); SH_E_INVALID (type errors, cfg unchanged).
 */
sh_rc sa_config_apply(struct sa_config *cfg, const struct cJSON *desired,
		      struct sa_config_report *rep);

/*
 * The reported patch: {"ms_iotn:…": {"<key>": {"value": …}, …}} with every field of *cfg in
 * secconfig's table order, durations by secconfig_duration_format ("PT7M"), priorities
 * lower-case (the C agent's shape), the baseline path and hash only when set.
 * Returns a new tree (caller frees with cJSON_Delete), NULL on allocation failure.
 */
struct cJSON *sa_config_reported(const struct sa_config *cfg);

/* The configuration as compact JSON text (the C agent's UsedConfiguration of a TypeMismatch):
 * the inner object of sa_config_reported. Caller frees with cJSON_free; NULL on failure. */
char *sa_config_json_text(const struct sa_config *cfg);

#endif
