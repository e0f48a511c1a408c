/*
 * sa_event.h: room sa_event of secagent: security events and messages (security-agent.md
 * §2.6, §3.2): turn payload items into serialized events (split to fit the message size), keep
 * them in the high, low and operational queues within the cache size (counting drops), decide
 * when a queue is due, and batch events into one message envelope. Pure: time and randomness
 * are arguments; the only allocations are the events and message texts it hands out.
 */
#ifndef SA_EVENT_H
#define SA_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"
#include "sa_config.h"

struct cJSON;

#define SA_INTERFACE_ID "urn:azureiot:Security:SecurityAgent:1"
/* The property bag of every security message, as the C SDK writes it (§3.1). */
#define SA_SECURITY_BAG "%24.ce=application%2Fjson&%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1"

/* A small deterministic generator (xorshift64*), for event ids and the synthetic source. */
struct sa_rng {
	uint64_t s;
};
/* Seed it; any seed (0 included) gives a usable, reproducible sequence. */
void sa_rng_seed(struct sa_rng *r, uint64_t seed);
uint64_t sa_rng_next(struct sa_rng *r);
/* A version-4-shaped GUID, lower-case, 36 characters + NUL, from the generator. */
void sa_guid(struct sa_rng *r, char out[37]);

/*
 * Timestamps as RFC 3339 text without fraction: "2020-01-15T10:20:30Z" (utc) and
 * "2020-01-15T12:20:30+02:00" (local, `tz_off_s` east of UTC, |offset| < 24 h). out >= 32 bytes.
 * Returns SH_OK; SH_E_INVALID outside years 0001-9999.
 */
sh_rc sa_time_utc(int64_t us, char out[32]);
sh_rc sa_time_local(int64_t us, int32_t tz_off_s, char out[32]);

/* One serialized event (a JSON object), linked in a list or queue. Caller frees with sa_event_free_list. */
struct sa_event {
	struct sa_event *next;
	enum sa_kind kind;
	size_t len;         /* strlen(json) */
	char json[];
};

void sa_event_free_list(struct sa_event *list);

/* The fixed part of every message for an agent: its envelope without events. */
struct sa_envelope {
	char agent_version[32];
	char agent_id[37];
};

/* Bytes the envelope adds around the events (exact, with compact JSON). */
size_t sa_envelope_overhead(const struct sa_envelope *env);

/*
 * Make the events of `kind` from `items` (a cJSON array of payload objects, borrowed) observed
 * at `now_us` (UTC microseconds) in a zone `tz_off_s` east of UTC. Each event gets a new id
 * from `rng`. Items are split over as many events as needed so that each event, alone in a
 * message, fits `max_message` bytes with envelope `env`; an item too large for that alone is
 * left out and counted in *skipped (optional). An empty array gives one IsEmpty event for a
 * Periodic kind and nothing for a Triggered one (the schema allows no empty Triggered event).
 * *out gets the list (caller frees; NULL when nothing was made).
 * Returns SH_OK; SH_E_INVALID (items not an array, kind out of range); SH_E_NOMEM.
 */
sh_rc sa_event_make(enum sa_kind kind, const struct cJSON *items, int64_t now_us,
		    int32_t tz_off_s, struct sa_rng *rng, const struct sa_envelope *env,
		    size_t max_message, struct sa_event **out, size_t *skipped);

enum sa_qid { SA_Q_HIGH = 0, SA_Q_LOW = 1, SA_Q_OPER = 2, SA_Q_COUNT = 3 };

struct sa_queue {
	struct sa_event *head, *tail;
	size_t n, bytes;
	uint64_t collected, dropped;   /* since the last sa_queues_take_dropped */
};

struct sa_queues {
	struct sa_queue q[SA_Q_COUNT];
};

/* The queue an event of `kind` goes to under `cfg`, or -1 when its priority is Off. */
int sa_queue_for(const struct sa_config *cfg, enum sa_kind kind);

/*
 * Queue every event of `list` (takes ownership of all of it): Off events are freed uncounted;
 * an event that would take the queued bytes of all queues over cfg->max_cache_bytes is freed
 * and counted as dropped in its queue; the rest are appended and counted as collected.
 * Returns the number of events dropped.
 */
size_t sa_queues_push(struct sa_queues *qs, const struct sa_config *cfg, struct sa_event *list);

/* Bytes queued in all queues. */
size_t sa_queues_bytes(const struct sa_queues *qs);
/* Free every queued event (counters kept). */
void sa_queues_clear(struct sa_queues *qs);

/*
 * The DroppedEventsStatistics payload (§4.13): [{"Queue":"High",...},{"Queue":"Low",...}] from
 * the counters, which are then reset (operational counters are reset too; the schema's Queue
 * enum has no operational value). Returns a new array (caller frees), NULL on failure.
 */
struct cJSON *sa_queues_take_dropped(struct sa_queues *qs);

/*
 * Build one message: the operational queue first, then queue `due`, then the other priority
 * queue, taking events in order while the whole message stays within `max_message` bytes. An
 * event that cannot fit even alone (after a configuration change) is dropped and counted.
 * *out gets the NUL-terminated text (caller frees with free), *out_len its length, *n_events
 * (optional) the events in it; taken events are freed.
 * Returns SH_OK; SH_E_NOTFOUND when there is nothing to send (then *out is NULL); SH_E_NOMEM.
 */
sh_rc sa_batch_build(struct sa_queues *qs, enum sa_qid due, size_t max_message,
		     const struct sa_envelope *env, char **out, size_t *out_len, size_t *n_events);

/* When each queue was last sent and the snapshot collectors last ran (UTC microseconds). */
struct sa_sched {
	int64_t last_high_us, last_low_us, last_snapshot_us, last_triggered_us;
};

/* Start the clocks at `now_us`; the snapshot is due at once (§2.6: "once right after start"). */
void sa_sched_start(struct sa_sched *s, int64_t now_us);

/*
 * Which queue is due at `now_us`: SA_Q_HIGH when the high or operational queue holds events and
 * high_freq has passed since the last high message, or when the queued bytes exceed the message
 * size (send now); SA_Q_LOW when the low queue holds events and low_freq has passed; -1 when
 * nothing is due. The caller sets last_high_us / last_low_us after sending.
 */
int sa_sched_due(const struct sa_sched *s, const struct sa_config *cfg,
		 const struct sa_queues *qs, int64_t now_us);

/* True when the snapshot collectors are due (snapshot_ms passed since the last run). */
bool sa_sched_snapshot_due(const struct sa_sched *s, const struct sa_config *cfg, int64_t now_us);

#endif
