/*
 * secrules.h: simhub's built-in security alerts and recommendations (security-agent.md §5):
 * small rules over normalised security event rows, with thresholds read from hub settings.
 * Pure: time is an argument, no I/O, no globals; it never stores or announces an alert (the
 * hub does) and never parses message bodies (secmsg does).
 */
#ifndef SH_SECRULES_H
#define SH_SECRULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

struct cJSON;

/* One event as the rules see it (all borrowed; rows of secmsg plus the connection's identity). */
struct secrules_event {
	const char *device_id;
	const char *module_id;      /* NULL or "" for a device connection */
	const char *event_id;       /* the event's Id (evidence) */
	const char *name;           /* Name, e.g. "Login" */
	int64_t time_us;            /* the event's UTC time, microseconds since 1970 */
	const struct cJSON *payload; /* the parsed Payload array (normalised by secmsg) */
	bool stored;                /* an earlier message's event, looked back at (not new) */
};

#define SECRULES_MAX_PORTS 64

/* Thresholds; secrules_thresholds_default gives the values of docs/differences.md. */
struct secrules_thresholds {
	bool brute_force_enabled;
	int brute_force_failures;      /* failed Logins from one address for one user ... */
	int64_t brute_force_window_us; /* ... within this window (default 5 in PT10M) */
	bool open_ports_enabled;
	uint16_t open_ports_allowed[SECRULES_MAX_PORTS]; /* ports never reported (default 22) */
	size_t n_open_ports_allowed;
	bool open_ports_all_interfaces_only; /* only 0.0.0.0 / :: / * / no address (default true) */
	bool firewall_enabled;
	bool baseline_enabled;
	int baseline_min_severity;     /* 0 Informational, 1 Warning, 2 Important, 3 Critical
					* (default 1: Warning and above) */
	bool agent_silent_enabled;
	int agent_silent_multiple;     /* silent after this many high-priority periods (default 3) */
	bool dropped_events_enabled;
	int64_t dropped_events_min;    /* DroppedEvents at or above this count (default 1) */
};

/* One alert. Owned by the list that holds it. */
struct secrules_alert {
	const char *rule;       /* static: "bruteForce", "bruteForceSuccess", "openPorts",
				 * "permissiveFirewall", "osBaseline", "agentSilent", "droppedEvents" */
	const char *severity;   /* static: "High", "Medium", "Low" */
	int64_t time_us;        /* the time of the last evidence event (agentSilent: now) */
	char *device_id;
	char *module_id;        /* NULL when the events came from a device connection */
	char **evidence;        /* event ids, in event order, no duplicates */
	size_t n_evidence;
	char *description;      /* one sentence for people */
};

struct secrules_alerts {
	struct secrules_alert *v;
	size_t n, cap;
};

/* Fill `t` with the defaults. */
void secrules_thresholds_default(struct secrules_thresholds *t);

/*
 * Apply one hub setting. Keys (case-sensitive) and values:
 *   security.alerts.<rule>.enabled        true | false   (<rule>: bruteForce, openPorts,
 *                                         permissiveFirewall, osBaseline, agentSilent, droppedEvents)
 *   security.alerts.bruteForce.failures   integer 1..100000
 *   security.alerts.bruteForce.window     ISO 8601 duration ("PT10M") or whole seconds, > 0
 *   security.alerts.openPorts.allowed     comma-separated ports 0..65535 ("22,443"; "" for none)
 *   security.alerts.openPorts.allInterfacesOnly  true | false
 *   security.alerts.osBaseline.minSeverity Critical | Important | Warning | Informational
 *   security.alerts.agentSilent.multiple  integer 1..1000
 *   security.alerts.droppedEvents.min     integer 1..2^31
 * key, value: borrowed. `t` changes only on SH_OK.
 * Returns SH_OK; SH_E_NOTFOUND for a key outside that list (keys not starting with
 * "security.alerts." included); SH_E_INVALID for a bad value.
 */
sh_rc secrules_thresholds_set(struct secrules_thresholds *t, const char *key, const char *value);

/*
 * Thresholds from hub settings: defaults, then every pair of `keys`/`values` (n each, borrowed)
 * whose key starts with "security.alerts." (others are ignored).
 * bad_key (optional): on failure, the offending key (borrowed from `keys`).
 * Returns SH_OK; SH_E_NOTFOUND / SH_E_INVALID as secrules_thresholds_set (t then holds the
 * pairs before the bad one).
 */
sh_rc secrules_thresholds_from_settings(struct secrules_thresholds *t, const char *const *keys,
					const char *const *values, size_t n, const char **bad_key);

/*
 * The rules. Each looks at `n` events `ev` (borrowed, any order, any devices; events of other
 * names are skipped) and appends zero or more alerts to `out` (initialise it to zero; release
 * with secrules_alerts_free). Each returns SH_OK or SH_E_NOMEM.
 *
 * brute_force: Login payload items with Result Fail, grouped by device, RemoteAddress (absent:
 *   local) and user (UserName, else UserId), sorted by time: `failures` of them within
 *   `window` give one "bruteForce" alert (Low) per group; a Success for the same group within
 *   `window` after the last failure of that run gives "bruteForceSuccess" (High) instead.
 *   Events marked `stored` were seen before: a run whose stored failures alone already reach
 *   `failures` raised its alert then, so it gives none now (a success is then reported only
 *   when it is new). A sustained attack thus alerts once, not once per message.
 * open_ports: each ListeningPorts event whose items listen on a port outside the allowed list
 *   (on every interface, when all_interfaces_only) gives one "openPorts" alert (Medium).
 * permissive_firewall: each FirewallConfiguration event with an enabled Allow item that limits
 *   nothing (no or wildcard addresses, ports and protocol: a chain's ACCEPT policy or an
 *   allow-all rule) gives one "permissiveFirewall" alert (Medium).
 * os_baseline: each OSBaseline event with items of Result Fail at min_severity or above gives
 *   one "osBaseline" alert (Medium) counting them by severity.
 * dropped_events: each DroppedEventsStatistics event with an item of DroppedEvents >= min gives
 *   one "droppedEvents" alert (Low).
 */
sh_rc secrules_brute_force(const struct secrules_event *ev, size_t n,
			   const struct secrules_thresholds *t, struct secrules_alerts *out);
sh_rc secrules_open_ports(const struct secrules_event *ev, size_t n,
			  const struct secrules_thresholds *t, struct secrules_alerts *out);
sh_rc secrules_permissive_firewall(const struct secrules_event *ev, size_t n,
				   const struct secrules_thresholds *t, struct secrules_alerts *out);
sh_rc secrules_os_baseline(const struct secrules_event *ev, size_t n,
			   const struct secrules_thresholds *t, struct secrules_alerts *out);
sh_rc secrules_dropped_events(const struct secrules_event *ev, size_t n,
			      const struct secrules_thresholds *t, struct secrules_alerts *out);

/*
 * Agent silent: one "agentSilent" alert (Low) for `device_id` (borrowed; module_id may be NULL)
 * when now_us - last_message_us > multiple * high_priority_us (the agent's configured
 * high-priority frequency, secconfig_high_priority_ms * 1000). No alert when the device never
 * sent one (last_message_us <= 0) or when the rule is disabled.
 * Returns SH_OK or SH_E_NOMEM.
 */
sh_rc secrules_agent_silent(const char *device_id, const char *module_id, int64_t last_message_us,
			    int64_t now_us, int64_t high_priority_us,
			    const struct secrules_thresholds *t, struct secrules_alerts *out);

/*
 * True when an event rule above reads the payload of events named `name` (borrowed; NULL
 * gives false): Login, ListeningPorts, FirewallConfiguration, OSBaseline,
 * DroppedEventsStatistics. A caller may leave the payload of other events unparsed (NULL).
 */
bool secrules_reads_payload(const char *name);

/*
 * The failed logins of one Login payload (borrowed, secmsg's normalised array): its items whose
 * Result is "Fail" in any case, as brute_force counts them. 0 for NULL or a non-array.
 */
int64_t secrules_login_failures(const struct cJSON *payload);

/* Every event rule above (not agent_silent), each when enabled, in the order listed. */
sh_rc secrules_evaluate(const struct secrules_event *ev, size_t n,
			const struct secrules_thresholds *t, struct secrules_alerts *out);

/* Release every alert and zero the list. NULL is fine. */
void secrules_alerts_free(struct secrules_alerts *a);

/*
 * One alert as JSON: {"rule","severity","timeUs","deviceId","moduleId","evidence":[ids],
 * "description"}. Returns a new object (caller frees), NULL on allocation failure.
 */
struct cJSON *secrules_alert_json(const struct secrules_alert *a);

#endif
