/*
 * store.h: the storage interface the hub sees. One SQLite connection in WAL mode, statements
 * prepared once, schema versioned by numbered migrations (PRAGMA user_version).
 * The store never reads the clock, never interprets JSON and never picks protocol results:
 * times and documents come in as arguments and go back out as they were stored.
 *
 * Transactions (group commit, ARCHITECTURE.md "Storage"): the event loop opens one batch,
 * every hub operation runs inside it, and the batch commits before the loop polls again.
 * Inside a batch each hub operation is made all-or-nothing with a savepoint:
 *
 *     store_batch_begin(st);                 // BEGIN IMMEDIATE (or depth+1 if already open)
 *       store_op_begin(st);                  // SAVEPOINT
 *       ... writes ...
 *       store_op_end(st, rc == SH_OK);       // RELEASE, or ROLLBACK TO + RELEASE
 *     store_batch_commit(st);                // COMMIT when depth returns to 0: now durable
 *
 * An operation begun outside any batch opens one for itself and commits it at its end, so a
 * hub operation called on its own (a test, a CLI verb) is still atomic and durable.
 * A write made outside any batch and any operation is its own transaction (autocommit); the hub
 * never relies on it.
 * If SQLite loses the open transaction (disk full, I/O error), every later write of the batch
 * fails with SH_E_IO and the batch commit reports SH_E_IO: nothing of that batch is stored.
 *
 * Strings in rows are copied in; rows handed to callbacks are borrowed for the call only.
 * A callback may call other store functions, but not the same _each function again
 * (SH_E_STATE). All functions take a non-NULL store; every failure leaves a one-line reason in
 * store_errmsg().
 */
#ifndef SH_STORE_H
#define SH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/identity.h"
#include "core/result.h"

struct sh_store;

/* The newest schema version this build writes (PRAGMA user_version). */
int store_schema_version(void);

/*
 * The SQL of migration `version` (1..store_schema_version()), which brings a database from
 * user_version version-1 to version: a NULL-terminated array of statements, static, borrowed.
 * NULL for any other number. It does not set user_version. For tests and tools that need an
 * old-format file; store_open applies migrations itself.
 */
const char *const *store_migration_sql(int version);

/*
 * Open or create the database at `path` (":memory:" for a throw-away store), switch it to WAL,
 * turn foreign keys on, migrate it to store_schema_version() and prepare every statement.
 * The parent folder must exist. An empty file is taken as a new database (SQLite's rule).
 *   path  borrowed; err/errlen: a buffer for a one-line reason on failure (may be NULL/0).
 * Returns SH_OK and *out (caller closes with store_close);
 *   SH_E_VERSION when the file's schema version is newer than this build's (err names the path,
 *                the file's version, the supported version and says a newer simhub wrote it);
 *   SH_E_INVALID when path or out is NULL or path is empty;
 *   SH_E_NOMEM   when allocation fails;
 *   SH_E_IO      otherwise: folder missing, not a SQLite file, a SQLite file of another
 *                application, permissions, a failed migration (rolled back).
 * A file refused for what it is (not SQLite, another application's, newer) is not modified.
 * On failure *out is NULL.
 */
sh_rc store_open(const char *path, struct sh_store **out, char *err, size_t errlen);

/* Finalise every statement and close. An open batch is rolled back. NULL is a no-op. */
void store_close(struct sh_store *st);

/* Reason for the last failure of a store call, "" if none yet. Borrowed until the next call. */
const char *store_errmsg(const struct sh_store *st);

/*
 * How a commit reaches the disk (PRAGMA synchronous). NORMAL, the default, survives a crash or
 * kill of simhub: every committed batch is there on restart. FULL also survives the machine
 * losing power, at the price of an fsync per commit (figures in bench/README.md).
 */
enum sh_store_sync {
	SH_STORE_SYNC_NORMAL = 1,
	SH_STORE_SYNC_FULL = 2,
};
/* SH_OK; SH_E_INVALID for an unknown mode; SH_E_STATE inside a batch; SH_E_IO. */
sh_rc store_set_sync(struct sh_store *st, enum sh_store_sync mode);

/*
 * Run SQLite's integrity check and the foreign key check over the whole file (slow on big
 * files: a tool's or a test's call, not the loop's). SH_OK when clean; SH_E_IO with the first
 * problem in store_errmsg() otherwise.
 */
sh_rc store_check_integrity(struct sh_store *st);

/*
 * Group commit; see the header comment.
 * store_batch_begin: SH_OK; SH_E_IO when BEGIN fails (busy past the timeout, I/O).
 * store_batch_commit: SH_OK (committed, or depth decremented); SH_E_STATE without a batch or
 *   when it would commit while an operation is still open (nothing changes); SH_E_IO when the
 *   commit failed or the transaction was lost: the batch is rolled back, depth is 0.
 * store_batch_depth: current nesting depth, 0 outside a batch.
 * store_op_begin: SH_OK; SH_E_IO.
 * store_op_end: keep non-zero releases the operation's writes into the batch, zero undoes them
 *   (earlier operations of the batch are kept). SH_OK; SH_E_STATE without an open operation;
 *   SH_E_IO when the savepoint could not be released or the batch it opened could not commit.
 */
sh_rc store_batch_begin(struct sh_store *st);
sh_rc store_batch_commit(struct sh_store *st);
int store_batch_depth(const struct sh_store *st);
sh_rc store_op_begin(struct sh_store *st);
sh_rc store_op_end(struct sh_store *st, int keep);

/*
 * Results common to every function below: SH_E_IO when SQLite fails (reason in store_errmsg),
 * SH_E_INVALID for a NULL or empty key where one is required.
 */

/* --- hub settings (key/value text) --------------------------------------------------------- */
/* *value_out is malloc'd (caller frees); SH_E_NOTFOUND when unset; SH_E_NOMEM. */
sh_rc store_setting_get(struct sh_store *st, const char *key, char **value_out);
/* Insert or replace; key and value borrowed. */
sh_rc store_setting_set(struct sh_store *st, const char *key, const char *value);

/* --- shared access policies ------------------------------------------------------------------ */
/* Copies the policy into *out; SH_E_NOTFOUND when absent. */
sh_rc store_policy_get(struct sh_store *st, const char *name, struct sh_policy *out);
/* Insert or replace by name. SH_E_INVALID for an empty name or rights outside enum sh_right. */
sh_rc store_policy_put(struct sh_store *st, const struct sh_policy *p);
/* Every policy in name order; the callback's non-SH_OK result stops the walk and is returned. */
sh_rc store_policy_each(struct sh_store *st,
			sh_rc (*fn)(void *arg, const struct sh_policy *p), void *arg);

/* --- identities: devices (module_id "") and modules ------------------------------------------ */
/*
 * Devices and modules live in two tables (devices, modules); struct sh_identity carries both.
 * A device row ignores managed_by; a module row ignores iot_edge (read back as "" and false).
 */
/* Copies into *out. SH_E_NOTFOUND when absent. module_id "" or NULL selects the device itself. */
sh_rc store_identity_get(struct sh_store *st, const char *device_id, const char *module_id,
			 struct sh_identity *out);
/*
 * SH_E_EXISTS when the (device, module) pair is taken; SH_E_NOTFOUND when a module's device
 * does not exist; SH_E_INVALID for an empty device id or a status/auth type out of range.
 */
sh_rc store_identity_insert(struct sh_store *st, const struct sh_identity *id);
/* SH_E_NOTFOUND when absent. Rewrites every column. SH_E_INVALID as for insert. */
sh_rc store_identity_update(struct sh_store *st, const struct sh_identity *id);
/*
 * Deletes the identity and its twin; deleting a device deletes its modules, their twins and its
 * queued c2d messages. Messages and events it sent stay. SH_E_NOTFOUND when absent.
 */
sh_rc store_identity_delete(struct sh_store *st, const char *device_id, const char *module_id);
/*
 * Iterate in id order. device_id NULL: every device (not modules). device_id set: the modules
 * of that device (none, SH_OK, when the device does not exist). The callback's non-SH_OK result
 * stops the walk and is returned.
 */
sh_rc store_identity_each(struct sh_store *st, const char *device_id,
			  sh_rc (*fn)(void *arg, const struct sh_identity *id), void *arg);
/* Devices only (registry statistics): *total of them, *enabled with status enabled. */
sh_rc store_identity_count(struct sh_store *st, int64_t *total, int64_t *enabled);

/* --- twins: one JSON document per identity (core/twin owns its shape) ------------------------ */
/* *json_out is malloc'd (caller frees). SH_E_NOTFOUND when the identity has no twin row. */
sh_rc store_twin_get(struct sh_store *st, const char *device_id, const char *module_id,
		     char **json_out);
/*
 * Insert or replace the twin document of an existing identity; `version` is kept beside it for
 * queries from the shell. SH_E_NOTFOUND when the identity does not exist.
 */
sh_rc store_twin_put(struct sh_store *st, const char *device_id, const char *module_id,
		     const char *json, int64_t version);

/* --- device-to-cloud messages --------------------------------------------------------------- */
struct sh_d2c_row {
	const char *device_id;
	const char *module_id;        /* "" or NULL for device messages */
	int64_t enqueued_us;
	const char *message_id;       /* NULL when absent */
	const char *content_type;     /* NULL when absent */
	const char *content_encoding; /* NULL when absent */
	const char *interface_id;     /* NULL when absent */
	const char *sys_props_json;   /* JSON object text, NULL = {} */
	const char *app_props_json;   /* JSON object text, NULL = {} */
	const void *body;             /* may be NULL when body_len is 0 */
	size_t body_len;
};
/*
 * Appends one message; *seq_out (optional) gets its row id, which grows with arrival order.
 * SH_E_INVALID for an empty device id; SH_E_TOOLARGE for a body past SQLite's limit.
 */
sh_rc store_d2c_append(struct sh_store *st, const struct sh_d2c_row *row, int64_t *seq_out);
/* Messages of device_id (its own and its modules'), or of everyone when device_id is NULL. */
sh_rc store_d2c_count(struct sh_store *st, const char *device_id, int64_t *count_out);
/*
 * Messages with seq > after_seq in seq order, of device_id (its own and its modules') or of
 * everyone when NULL. The row is borrowed for the call (module_id is "" for device messages,
 * absent strings are NULL, the property strings are never NULL). The callback's non-SH_OK
 * result stops the walk and is returned.
 */
sh_rc store_d2c_each(struct sh_store *st, const char *device_id, int64_t after_seq,
		     sh_rc (*fn)(void *arg, int64_t seq, const struct sh_d2c_row *row), void *arg);

/*
 * A filtered, paged read of the messages (simhub's own API). Every filter is optional.
 *   device_id   NULL: every device; else only that device (its own and its modules' messages,
 *               unless module_id narrows it).
 *   module_id   NULL: any; "": the device's own messages only; else that module's.
 *   from_us     enqueued at or after (INT64_MIN: no bound); to_us: enqueued strictly before
 *               (INT64_MAX: no bound).
 *   prop_name   NULL: no property filter; else only messages with an application or system
 *               property of that exact name whose value is the string prop_value (non-NULL).
 *   after_seq   only seq > after_seq (0: from the start); limit: at most this many rows
 *               (<= 0: no limit).
 */
struct sh_d2c_query {
	const char *device_id;
	const char *module_id;
	int64_t from_us, to_us;
	const char *prop_name;
	const char *prop_value;
	int64_t after_seq;
	int64_t limit;
	bool include_security;        /* false: leave out security messages (interface id
				       * urn:azureiot:Security:SecurityAgent:1, security-agent §3.1) */
};
/*
 * The messages matching q (borrowed) in seq order, handed to fn as in store_d2c_each.
 * SH_E_INVALID when prop_name is set without prop_value; the callback's non-SH_OK result stops
 * the walk and is returned; SH_E_STATE when called again from its own callback.
 */
sh_rc store_d2c_query(struct sh_store *st, const struct sh_d2c_query *q,
		      sh_rc (*fn)(void *arg, int64_t seq, const struct sh_d2c_row *row), void *arg);

/* --- cloud-to-device queue (c2d_messages) ------------------------------------------------------ */
/*
 * A queued message as read back. Strings and body are malloc'd copies owned by the row: free
 * with store_c2d_row_free. States: enqueued, invisible (locked), completed, deadlettered.
 */
struct sh_c2d_row {
	int64_t seq;
	char device_id[SH_ID_MAX + 1];
	char *message_id;             /* NULL when absent */
	char *properties_json;        /* {"sys":{...},"app":{...}} */
	void *body;
	size_t body_len;
	char ack[16];
	char state[16];
	char lock_token[40];          /* "" when not locked */
	int64_t lock_until_us;
	int delivery_count;
	int64_t enqueued_us, expiry_us;
};
void store_c2d_row_free(struct sh_c2d_row *r);
sh_rc store_c2d_insert(struct sh_store *st, const char *device_id, const char *message_id,
		       const char *properties_json, const void *body, size_t len, const char *ack,
		       int64_t enqueued_us, int64_t expiry_us, int64_t *seq_out);
/* Messages still in the queue (enqueued or invisible). */
sh_rc store_c2d_count_active(struct sh_store *st, const char *device_id, int64_t *count_out);
/* Dead-letter (outcome "expired") the device's active messages whose expiry is at or before now. */
sh_rc store_c2d_expire(struct sh_store *st, const char *device_id, int64_t now_us, int64_t *count_out);
/* The oldest deliverable message: enqueued, or invisible with its lock run out. SH_E_NOTFOUND if none. */
sh_rc store_c2d_next(struct sh_store *st, const char *device_id, int64_t now_us,
		     struct sh_c2d_row *out);
/* Lock a message (state invisible) under `token` until `until_us`. */
sh_rc store_c2d_lock(struct sh_store *st, int64_t seq, const char *token, int64_t until_us);
/* The invisible message of device_id locked by `token` whose lock still holds at now. */
sh_rc store_c2d_find_lock(struct sh_store *st, const char *device_id, const char *token,
			  int64_t now_us, struct sh_c2d_row *out);
/* Final state: "completed" or "deadlettered", with an outcome ("completed", "rejected", ...). */
sh_rc store_c2d_finish(struct sh_store *st, int64_t seq, const char *state, const char *outcome,
		       int64_t now_us);
/* Back to the queue: every invisible message whose lock runs past until_us (locks held by
 * MQTT sessions of a simhub that stopped). *count_out (optional) gets how many. */
sh_rc store_c2d_release_locks_after(struct sh_store *st, int64_t until_us, int64_t *count_out);
/* Back to the queue, unlocked; the delivery count grows by `add`. */
sh_rc store_c2d_requeue(struct sh_store *st, int64_t seq, int add);

/* --- X.509 certificate authorities (x509_cas) ------------------------------------------------ */
/* Insert or replace a CA by name. */
sh_rc store_x509_ca_put(struct sh_store *st, const char *name, const char *pem, int64_t added_us);
/* SH_E_NOTFOUND when there is no CA of that name. */
sh_rc store_x509_ca_delete(struct sh_store *st, const char *name);
/* Every CA in name order; rows borrowed for the call. A non-SH_OK callback result stops the walk. */
sh_rc store_x509_ca_each(struct sh_store *st,
			 sh_rc (*fn)(void *arg, const char *name, const char *pem, int64_t added_us),
			 void *arg);

/* --- connection events ---------------------------------------------------------------------- */
/* Appends one event (connected, disconnected, ...); reason may be NULL. Strings borrowed. */
sh_rc store_connection_event(struct sh_store *st, const char *device_id, const char *module_id,
			     int64_t at_us, const char *event, const char *reason);

/* One stored connection event as read back; strings borrowed for the callback only. */
struct sh_conn_event_row {
	int64_t id;                   /* grows with arrival order */
	const char *device_id;
	const char *module_id;        /* "" for the device itself */
	int64_t at_us;
	const char *event;            /* "connect", "disconnect", ... */
	const char *reason;           /* NULL when none was recorded */
};
/*
 * A filtered, paged read of the connection events: fields as in struct sh_d2c_query
 * (device_id, module_id, from_us/to_us on at_us, after_id like after_seq, limit).
 */
struct sh_conn_event_query {
	const char *device_id;
	const char *module_id;
	int64_t from_us, to_us;
	int64_t after_id;
	int64_t limit;
};
/*
 * The events matching q (borrowed) in id order. The callback's non-SH_OK result stops the walk
 * and is returned; SH_E_STATE when called again from its own callback.
 */
sh_rc store_connection_event_query(struct sh_store *st, const struct sh_conn_event_query *q,
				   sh_rc (*fn)(void *arg, const struct sh_conn_event_row *row),
				   void *arg);

/* --- method calls (method_calls) -------------------------------------------------------------- */
/* How a method call ended; stored as the words 'pending', 'completed', 'timeout', ... */
enum sh_method_state {
	SH_METHOD_PENDING,     /* accepted, no outcome yet */
	SH_METHOD_COMPLETED,   /* the device answered (status and result are its own) */
	SH_METHOD_TIMEOUT,     /* the hub gave up waiting for the answer */
	SH_METHOD_OFFLINE,     /* the device was not (or did not become) ready */
	SH_METHOD_FAILED,      /* any other hub-side failure */
};
/* The state's stored word ("pending", ...); "failed" for a value out of range. Static. */
const char *store_method_state_str(enum sh_method_state s);

/*
 * Record an accepted method call as pending. module_id NULL or "" for the device itself;
 * payload_json the request payload as JSON text (NULL when absent). Timeouts in microseconds.
 * Strings borrowed. *id_out (optional) gets the new row's id.
 * Returns SH_OK; SH_E_INVALID for an empty device id or method name; SH_E_IO (store_errmsg).
 */
sh_rc store_method_call_begin(struct sh_store *st, const char *device_id, const char *module_id,
			      const char *method_name, const char *payload_json, int64_t invoked_us,
			      int64_t timeout_us, int64_t connect_timeout_us, int64_t *id_out);
/*
 * Finish a pending call, once: `state` (not SH_METHOD_PENDING), the device's `status` and
 * `result_json` (borrowed, NULL for none) when it answered, else `error_code` (an IoT Hub code
 * such as 404103; 0 stores NULL). Status is stored only for SH_METHOD_COMPLETED.
 * Returns SH_OK; SH_E_INVALID for SH_METHOD_PENDING; SH_E_NOTFOUND when no pending call has
 * that id (unknown, or already finished); SH_E_IO.
 */
sh_rc store_method_call_finish(struct sh_store *st, int64_t id, enum sh_method_state state,
			       int status, const char *result_json, int error_code,
			       int64_t completed_us);

/* One stored method call as read back; strings borrowed for the callback only. */
struct sh_method_call_row {
	int64_t id;                   /* grows with arrival order */
	const char *device_id;
	const char *module_id;        /* "" for the device itself */
	const char *method_name;
	const char *payload;          /* JSON text, NULL when absent */
	int64_t timeout_us, connect_timeout_us;
	const char *state;            /* "pending", "completed", "timeout", "offline", "failed" */
	bool has_status;              /* status is the device's (completed calls only) */
	int status;
	const char *result;           /* the device's JSON answer, NULL when none */
	int error_code;               /* 0 when none */
	int64_t invoked_us;
	int64_t completed_us;         /* 0 while pending */
};
/*
 * A filtered, paged read of the method calls: as struct sh_conn_event_query, plus an exact
 * method name (NULL for any); from_us/to_us bound invoked_us.
 */
struct sh_method_call_query {
	const char *device_id;
	const char *module_id;
	const char *method_name;
	int64_t from_us, to_us;
	int64_t after_id;
	int64_t limit;
};
/*
 * The calls matching q (borrowed) in id order. The callback's non-SH_OK result stops the walk
 * and is returned; SH_E_STATE when called again from its own callback; SH_E_IO.
 */
sh_rc store_method_call_query(struct sh_store *st, const struct sh_method_call_query *q,
			      sh_rc (*fn)(void *arg, const struct sh_method_call_row *row),
			      void *arg);

/* --- C2D feedback records (c2d_feedback, migration 5) ------------------------------------------ */
/* One feedback record; strings borrowed (for the call, or for the callback only when read). */
struct sh_c2d_feedback_row {
	int64_t id;                        /* grows with arrival order; ignored by insert */
	const char *device_id;
	const char *original_message_id;   /* "" when the message had none */
	const char *device_generation_id;
	int64_t enqueued_us;               /* when the outcome happened */
	const char *status_code;           /* Success, Expired, DeliveryCountExceeded, Rejected, Purged */
	const char *description;
	int64_t c2d_seq;                   /* the queue row the record is about */
};
/*
 * Append a record. *id_out (optional) gets its id. Returns SH_OK; SH_E_INVALID for an empty
 * device id or a status code outside the list; SH_E_IO.
 */
sh_rc store_c2d_feedback_insert(struct sh_store *st, const struct sh_c2d_feedback_row *row,
				int64_t *id_out);
/* A filtered, paged read: fields as in struct sh_conn_event_query (from/to on enqueued_us). */
struct sh_c2d_feedback_query {
	const char *device_id;
	int64_t from_us, to_us;
	int64_t after_id;
	int64_t limit;
};
/* The records matching q in id order; a non-SH_OK callback result stops the walk and is returned. */
sh_rc store_c2d_feedback_query(struct sh_store *st, const struct sh_c2d_feedback_query *q,
			       sh_rc (*fn)(void *arg, const struct sh_c2d_feedback_row *row),
			       void *arg);
/*
 * The device's active messages that store_c2d_expire(now_us) would dead-letter, in seq order
 * (message_id "" when none; strings borrowed for the callback). The callback may write other
 * tables; a non-SH_OK result stops the walk and is returned.
 */
sh_rc store_c2d_each_expiring(struct sh_store *st, const char *device_id, int64_t now_us,
			      sh_rc (*fn)(void *arg, int64_t seq, const char *message_id,
					  const char *ack, int delivery_count),
			      void *arg);

/* --- reset (POST /simhub/v1/reset) ------------------------------------------------------------ */
/* Rows removed by store_reset, per table (security_agents: the last-message records). */
struct sh_store_reset_counts {
	int64_t devices, modules, twins, d2c_messages, c2d_messages, c2d_feedback;
	int64_t connection_events, method_calls, security_messages;
	int64_t security_alerts, security_events, security_agents;
};
/*
 * Empty the hub's data: identities, twins, device-to-cloud messages, security messages, events,
 * alerts and last-message records, the c2d queue and its feedback, connection events and method
 * records. Settings, policies, X.509 CAs and the journal stay. *counts (optional) gets what
 * went. Returns SH_OK or SH_E_IO (store_errmsg).
 */
sh_rc store_reset(struct sh_store *st, struct sh_store_reset_counts *counts);

/* The SQLite library's version text ("3.40.1"), static. */
const char *store_sqlite_version(void);


/* --- security messages, events and alerts (store_security.c, migrations 6 and 7) ------------ */
/* One security message (strings borrowed: for the call, or for the callback only when read). */
struct sh_sec_message_row {
	int64_t seq;                  /* ignored by insert */
	int64_t d2c_seq;              /* the d2c_messages row; 0 = none */
	int64_t received_us;
	const char *device_id;
	const char *module_id;        /* "" or NULL for a device */
	const char *agent_id, *agent_version, *schema_version; /* NULL when absent */
	const char *mode;             /* "service" | "strict" */
	const char *verdict;          /* "valid" | "tolerated" | "invalid" */
	const char *reasons_json;     /* JSON array text; NULL = [] */
	const char *error;            /* first reason of an invalid message, NULL otherwise */
	const char *properties_json;  /* JSON object text; NULL = {} */
	const void *body;
	size_t body_len;
	int64_t n_events;
};
/*
 * Insert a message and count it in its (device, module)'s last-message record
 * (store_sec_last_messages). With d2c_seq non-zero the body and properties are those of that
 * d2c_messages row, stored once: body and properties_json are ignored, and reading the
 * message back gives the d2c row's body and {"sys":system properties,"app":application
 * properties}. With d2c_seq 0 they are stored with the message.
 * SH_E_INVALID for an empty device id or a verdict outside the list.
 */
sh_rc store_sec_message_insert(struct sh_store *st, const struct sh_sec_message_row *row,
			       int64_t *seq_out);

/* One security event. */
struct sh_sec_event_row {
	int64_t id;                   /* ignored by insert */
	int64_t message_seq;
	int64_t received_us;
	const char *device_id, *module_id, *agent_id;
	const char *event_id, *name, *event_type, *category; /* name never NULL when read */
	bool is_empty;
	const char *payload_schema_version;
	const char *timestamp_local;
	bool has_utc;
	int64_t utc_us;
	const char *payload_json;     /* NULL = [] */
	const char *verdict;
	const char *reasons_json;
	int64_t login_failures;       /* insert: a Login's payload items with Result "Fail" (the
				       * brute-force look-back reads rows where this is > 0) */
};
sh_rc store_sec_event_insert(struct sh_store *st, const struct sh_sec_event_row *row,
			     int64_t *id_out);

/* Message filters: NULL texts and 0 bounds mean any; from_us <= received_us < to_us. */
struct sh_sec_message_query {
	const char *device_id, *module_id, *verdict;
	int64_t from_us, to_us;
	int64_t after_seq;
	int64_t limit;
};
sh_rc store_sec_message_query(struct sh_store *st, const struct sh_sec_message_query *q,
			      sh_rc (*fn)(void *arg, const struct sh_sec_message_row *row),
			      void *arg);

/*
 * Event filters as above, plus utc bounds (utc_from_us <= utc_us <= utc_to_us; 0 = any).
 * newest_first: descending id order, after_id then means "id < after_id" (0: from the newest).
 * A callback may run other store reads (each query has its own statement).
 */
struct sh_sec_event_query {
	const char *device_id, *module_id, *name, *event_type, *category, *verdict;
	int64_t from_us, to_us;
	int64_t utc_from_us, utc_to_us;
	int64_t after_id;
	int64_t limit;
	bool newest_first;
};
sh_rc store_sec_event_query(struct sh_store *st, const struct sh_sec_event_query *q,
			    sh_rc (*fn)(void *arg, const struct sh_sec_event_row *row), void *arg);
/*
 * The brute-force rule's look-back: the Login events of `device_id` (borrowed) stored with
 * login_failures > 0 and utc_from_us <= utc_us <= utc_to_us, except those of message
 * skip_message_seq (0: none), latest event time first, at most `limit` (<= 0: all). Served by
 * a partial index: it reads failed Logins only, however many other events the device has.
 * fn gets each row (borrowed for the call). Returns SH_OK, fn's first non-SH_OK,
 * SH_E_INVALID (no device), SH_E_STATE (called again from its own callback) or SH_E_IO.
 */
sh_rc store_sec_login_failures(struct sh_store *st, const char *device_id, int64_t utc_from_us,
			       int64_t utc_to_us, int64_t skip_message_seq, int64_t limit,
			       sh_rc (*fn)(void *arg, const struct sh_sec_event_row *row),
			       void *arg);

/* One alert. */
struct sh_sec_alert_row {
	int64_t id;                   /* ignored by insert */
	int64_t created_us, time_us;
	const char *rule, *severity, *device_id, *module_id;
	const char *evidence_json;    /* NULL = [] */
	const char *description;
};
/*
 * Insert unless an alert with the same dedupe_key exists. *inserted (optional) says which;
 * *id_out (optional) gets the new id (0 when not inserted).
 */
sh_rc store_sec_alert_insert(struct sh_store *st, const struct sh_sec_alert_row *row,
			     const char *dedupe_key, bool *inserted, int64_t *id_out);
/* Alert filters: NULL / 0 = any; times bound created_us. */
struct sh_sec_alert_query {
	const char *device_id, *rule, *severity;
	int64_t from_us, to_us;
	int64_t after_id;
	int64_t limit;
};
sh_rc store_sec_alert_query(struct sh_store *st, const struct sh_sec_alert_query *q,
			    sh_rc (*fn)(void *arg, const struct sh_sec_alert_row *row), void *arg);
/* Does an alert with this dedupe key exist? */
sh_rc store_sec_alert_exists(struct sh_store *st, const char *dedupe_key, bool *exists);

/* Counts for summaries, by group: what = "event-name", "message-verdict", "alert-rule";
 * device_id NULL for all devices. fn gets each group's key and count. */
sh_rc store_sec_count_by(struct sh_store *st, const char *what, const char *device_id,
			 sh_rc (*fn)(void *arg, const char *key, int64_t count), void *arg);
/* The time of the last security message and the message count of every (device, module)
 * that sent one, or of one device's; read from a small table kept at each insert. */
sh_rc store_sec_last_messages(struct sh_store *st, const char *device_id,
			      sh_rc (*fn)(void *arg, const char *device_id, const char *module_id,
					  int64_t last_us, int64_t count),
			      void *arg);

#endif
