/*
 * hub_internal.h: what the hub's own files share and nobody else sees: the hub struct and
 * the all-or-nothing operation bracket around store savepoints.
 */
#ifndef SH_HUB_INTERNAL_H
#define SH_HUB_INTERNAL_H

#include "core/secrules.h"
#include "hub/hub.h"
#include "store/store.h"

/* A listener of the event bus (events.c); fn NULL once it left during a delivery. */
struct hub_listener {
	hub_event_fn fn;
	void *ctx;
	int handle;
};

/* An emitted event waiting for its operation to end, then for the batch to commit. */
struct hub_pending_event {
	enum hub_event_kind kind;
	int label;                    /* counter label index (hub_metric_labels), -1 none */
	int64_t time_us;
	char *device_id, *module_id;  /* malloc'd; NULL when absent */
	struct cJSON *data;           /* owned; NULL when nobody listened at emit time */
	struct hub_pending_event *next;
};

#define HUB_EV_MAX_DEPTH 32           /* nested operations whose events are tracked apart */

struct sh_hub {
	struct sh_store *st;          /* borrowed */
	struct sh_hub_env env;
	struct sh_hub_notify notify;
	char hostname[256];
	int own_batch;                /* the current op opened the batch itself */
	bool held;                    /* the loop holds a batch open (group commit) */
	struct after_commit *after;   /* callbacks to run once the held batch commits, in order */
	struct after_commit **after_tail;
	/* The event bus (events.c). */
	struct hub_listener *listeners;
	size_t n_listeners, cap_listeners, n_active;
	int next_handle;
	bool delivering;
	bool flush_scheduled;
	uint64_t next_event_id;
	struct hub_pending_event *pending, **pending_tail;  /* emitted by open operations */
	size_t n_pending;
	size_t ev_marks[HUB_EV_MAX_DEPTH];                 /* n_pending when each op began */
	int ev_depth;
	struct hub_pending_event *ready, **ready_tail;      /* committed, to deliver */
	struct hub_metrics metrics;
	sh_rc (*reseed)(void *ctx, struct sh_hub *hub, struct iothub_err *err);
	void *reseed_ctx;
	/* The security room (security.c): settings read once, again after a "security." set. */
	bool sec_loaded;
	bool sec_strict;
	struct secrules_thresholds sec_thresholds;
	int64_t sec_last_sweep_us;
	int sec_no_autocreate;        /* > 0 while fixtures apply (they auto-create at their end) */
};

struct after_commit {
	void (*fn)(void *arg);
	void *arg;
	struct after_commit *next;
};

/*
 * Start an operation: opens a batch when the caller has none, then a savepoint. Returns SH_E_IO
 * (with err filled as 500001) when the store refuses.
 */
sh_rc hub_op_begin(struct sh_hub *hub, struct iothub_err *err);
/*
 * End an operation with its result: keeps the savepoint on SH_OK, rolls it back otherwise, and
 * commits the batch if hub_op_begin opened it. Returns rc, or SH_E_IO if the commit failed.
 */
sh_rc hub_op_end(struct sh_hub *hub, sh_rc rc, struct iothub_err *err);

/* Map a store failure to 500001 with the store's message. */
sh_rc hub_store_failed(struct sh_hub *hub, sh_rc rc, struct iothub_err *err);

/* Random SAS key text: base64 of 32 random bytes (44 characters). */
void hub_random_key(struct sh_hub *hub, char out[SH_KEY_MAX + 1]);

/* 400004 unless `key` is base64 of 16 to 64 bytes (an empty key is allowed when empty_ok). */
sh_rc hub_check_key(const char *key, const char *what, int empty_ok, struct iothub_err *err);

/* --- event bus internals (events.c) --- */
/* Counter label indexes (positions in hub_metric_labels of their kind). */
enum {
	HUB_ML_CONNECT = 0, HUB_ML_DISCONNECT = 1,
	HUB_ML_MESSAGE = 0,
	HUB_ML_TWIN_DESIRED = 0, HUB_ML_TWIN_REPORTED = 1, HUB_ML_TWIN_TAGS = 2, HUB_ML_TWIN_REPLACE = 3,
	HUB_ML_METHOD_COMPLETED = 0, HUB_ML_METHOD_TIMEOUT = 1, HUB_ML_METHOD_OFFLINE = 2,
	HUB_ML_METHOD_FAILED = 3,
	HUB_ML_C2D_QUEUED = 0, HUB_ML_C2D_DELIVERED = 1, HUB_ML_C2D_COMPLETED = 2,
	HUB_ML_C2D_REJECTED = 3, HUB_ML_C2D_ABANDONED = 4, HUB_ML_C2D_EXPIRED = 5,
	HUB_ML_C2D_DEADLETTERED = 6, HUB_ML_C2D_FEEDBACK = 7,
};
/* hub_op_begin / hub_op_end call these: events of a failed op are dropped, the outermost op
 * hands its events to the after-commit queue. */
void hub_events_op_begin(struct sh_hub *hub);
void hub_events_op_end(struct sh_hub *hub, bool ok);
/* Free listeners and undelivered events (hub_close). */
void hub_events_free(struct sh_hub *hub);
/* True when a listener is registered: emitters build the event's data only then. */
bool hub_events_wanted(const struct sh_hub *hub);
/*
 * Emit with a counter label (HUB_ML_*, -1 for none); data (owned) may be NULL when
 * !hub_events_wanted: the event is then only counted. module_id "" means none.
 */
void hub_emit(struct sh_hub *hub, enum hub_event_kind kind, int label, const char *device_id,
	      const char *module_id, struct cJSON *data);
/* Add "body" to o: the text when it is UTF-8 without NUL, else base64 plus
 * "bodyEncoding":"base64". False when out of memory. */
bool hub_event_add_body(struct cJSON *o, const void *body, size_t len);

/* --- security.c --- */
/*
 * Inside hub_telemetry's operation: validate and store a message marked as a security message
 * (d2c row `d2c_seq` already written, `sys` stamped), raise alerts, emit HUB_EV_SECURITY (and
 * HUB_EV_ALERT per new alert). Returns SH_OK or a store failure with err set.
 */
sh_rc hub_security_ingest(struct sh_hub *hub, const char *device_id, const char *module_id,
			  const struct cJSON *sys, const struct cJSON *app, const void *body,
			  size_t len, int64_t d2c_seq, struct iothub_err *err);
/* A device was just created: give it the security module when security.autoCreateModule is on
 * (not while fixtures apply). */
sh_rc hub_security_on_device_created(struct sh_hub *hub, const char *device_id,
				     struct iothub_err *err);
/* Forget the cached security settings (hub_set_setting of a "security." key). */
void hub_security_settings_changed(struct sh_hub *hub);

/* If-Match (quoted, W/, "*" tolerated; NULL or empty match anything) against an etag. */
int hub_etag_matches(const char *if_match, const char *etag);

#endif
