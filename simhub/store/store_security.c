/*
 * store_security.c: the store room's security tables (migrations 6 and 7): security messages,
 * their events, the alerts raised from them and each agent's last message. The hot statements
 * (inserts, the brute-force look-back) are prepared once into slots that store_close
 * finalises; the list queries are built for the filters given, so every filter is an indexable
 * equality or range. It never reads the clock, never parses JSON and never judges a message:
 * verdicts, reasons, failure counts and dedupe keys come in as arguments.
 */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "store/store_internal.h"

enum sec_stmt {
	SEC_MSG_INSERT,
	SEC_AGENT_UPSERT,
	SEC_EVENT_INSERT,
	SEC_LOGIN_FAILURES,
	SEC_ALERT_INSERT,
	SEC_ALERT_EXISTS,
	SEC__COUNT
};

/* A message's body and properties are in its d2c row unless it kept its own (before
 * migration 7, or stored without a d2c row). */
#define MSG_COLS "m.id, coalesce(m.d2c_seq, 0), m.received_us, m.device_id, m.module_id, " \
	"m.agent_id, m.agent_version, m.message_schema_version, m.mode, m.verdict, m.reasons, " \
	"m.error, CASE WHEN m.body IS NULL AND d.seq IS NOT NULL THEN '{\"sys\":' || " \
	"d.system_properties || ',\"app\":' || d.app_properties || '}' ELSE m.properties END, " \
	"coalesce(m.body, d.body), m.n_events"
#define MSG_FROM " FROM security_messages m LEFT JOIN d2c_messages d ON d.seq = m.d2c_seq"
#define EVENT_COLS "id, message_id, received_us, device_id, module_id, agent_id, event_id, " \
	"name, event_type, category, is_empty, payload_schema_version, timestamp_local, " \
	"timestamp_utc_us, payload, verdict, reasons"
#define ALERT_COLS "id, created_us, time_us, rule, severity, device_id, module_id, evidence, " \
	"description"

static const char *const sec_sql[SEC__COUNT] = {
	[SEC_MSG_INSERT] = "INSERT INTO security_messages (d2c_seq, device_id, module_id, "
		"received_us, agent_id, agent_version, message_schema_version, valid, error, "
		"properties, body, mode, verdict, reasons, n_events) VALUES (nullif(?1, 0), ?2, ?3, "
		"?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
	[SEC_AGENT_UPSERT] = "INSERT INTO security_agents (device_id, module_id, last_us, messages) "
		"VALUES (?1, ?2, ?3, 1) ON CONFLICT (device_id, module_id) DO UPDATE SET "
		"last_us = max(last_us, excluded.last_us), messages = messages + 1",
	[SEC_EVENT_INSERT] = "INSERT INTO security_events (message_id, device_id, module_id, "
		"received_us, event_id, event_type, category, name, is_empty, "
		"payload_schema_version, timestamp_utc_us, timestamp_local, payload, agent_id, "
		"verdict, reasons, login_failures) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
		"?11, ?12, ?13, ?14, ?15, ?16, ?17)",
	/* The brute-force look-back: "login_failures > 0" as written in the partial index
	 * security_events_login_failures, so SQLite reads only failed Logins. */
	[SEC_LOGIN_FAILURES] = "SELECT " EVENT_COLS " FROM security_events "
		"WHERE device_id = ?1 AND login_failures > 0 AND timestamp_utc_us >= ?2 "
		"AND timestamp_utc_us <= ?3 AND message_id <> ?4 "
		"ORDER BY timestamp_utc_us DESC LIMIT ?5",
	[SEC_ALERT_INSERT] = "INSERT OR IGNORE INTO security_alerts (created_us, time_us, rule, "
		"severity, device_id, module_id, evidence, description, dedupe_key) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[SEC_ALERT_EXISTS] = "SELECT 1 FROM security_alerts WHERE dedupe_key = ?1",
};

/*
 * The statement of slot `id`, prepared the first time it is asked for; NULL (reason set) when
 * SQLite refuses it (an old file missing migration 6 cannot reach here: store_open migrates).
 * A statement still stepping (its callback re-entered) is refused with SH_E_STATE via *rc.
 */
static sqlite3_stmt *stmt(struct sh_store *st, enum sec_stmt id, const char *what, sh_rc *rc)
{
	sqlite3_stmt **slots = store_internal_sec_stmts(st);
	if (slots[id] == NULL &&
	    sqlite3_prepare_v3(store_internal_db(st), sec_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
			       &slots[id], NULL) != SQLITE_OK) {
		*rc = store_internal_fail(st, what);
		return NULL;
	}
	if (sqlite3_stmt_busy(slots[id])) {
		store_internal_set_err(st, "security query called again from its own callback");
		*rc = SH_E_STATE;
		return NULL;
	}
	*rc = SH_OK;
	return slots[id];
}

static void done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static const char *col_text(sqlite3_stmt *s, int col)
{
	return (const char *)sqlite3_column_text(s, col);
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

static bool verdict_ok(const char *v)
{
	return v && (strcmp(v, "valid") == 0 || strcmp(v, "tolerated") == 0 ||
		     strcmp(v, "invalid") == 0);
}

/* Step an INSERT to its end; *id_out (optional) gets the new row id. */
static sh_rc run_insert(struct sh_store *st, sqlite3_stmt *s, const char *what, int64_t *id_out)
{
	int src = sqlite3_step(s);
	sh_rc rc = SH_OK;
	if (src != SQLITE_DONE)
		rc = store_internal_fail(st, what);
	else if (id_out)
		*id_out = sqlite3_last_insert_rowid(store_internal_db(st));
	done(s);
	return rc;
}

/* Step a SELECT, handing each row to row_fn until it returns non-SH_OK. */
static sh_rc walk(struct sh_store *st, sqlite3_stmt *s, const char *what,
		  sh_rc (*row_fn)(sqlite3_stmt *s, void *ctx), void *ctx)
{
	sh_rc out = SH_OK;
	int src;
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		out = row_fn(s, ctx);
		if (out != SH_OK)
			break;
	}
	if (out == SH_OK && src != SQLITE_DONE)
		out = store_internal_fail(st, what);
	done(s);
	return out;
}

sh_rc store_sec_message_insert(struct sh_store *st, const struct sh_sec_message_row *row,
			       int64_t *seq_out)
{
	sh_rc rc = store_internal_write_guard(st);
	if (rc != SH_OK)
		return rc;
	if (!row->device_id || !row->device_id[0] || !verdict_ok(row->verdict)) {
		store_internal_set_err(st, "store_sec_message_insert: empty device id or bad verdict");
		return SH_E_INVALID;
	}
	if (row->body_len > INT32_MAX) {
		store_internal_set_err(st, "store_sec_message_insert: body too large");
		return SH_E_TOOLARGE;
	}
	sqlite3_stmt *s = stmt(st, SEC_MSG_INSERT, "store_sec_message_insert", &rc);
	if (!s)
		return rc;
	sqlite3_stmt *a = stmt(st, SEC_AGENT_UPSERT, "store_sec_message_insert", &rc);
	if (!a)
		return rc;
	sqlite3_bind_int64(s, 1, row->d2c_seq);
	bind_text(s, 2, row->device_id);
	bind_text(s, 3, nz(row->module_id));
	sqlite3_bind_int64(s, 4, row->received_us);
	bind_text(s, 5, row->agent_id);
	bind_text(s, 6, row->agent_version);
	bind_text(s, 7, row->schema_version);
	sqlite3_bind_int(s, 8, strcmp(row->verdict, "invalid") != 0);
	bind_text(s, 9, row->error);
	if (row->d2c_seq) {
		/* Body and properties are the d2c row's: stored once (migration 7). */
		bind_text(s, 10, "{}");
		sqlite3_bind_null(s, 11);
	} else {
		bind_text(s, 10, row->properties_json ? row->properties_json : "{}");
		sqlite3_bind_blob(s, 11, row->body ? row->body : "", (int)row->body_len,
				  SQLITE_STATIC);
	}
	bind_text(s, 12, row->mode ? row->mode : "service");
	bind_text(s, 13, row->verdict);
	bind_text(s, 14, row->reasons_json ? row->reasons_json : "[]");
	sqlite3_bind_int64(s, 15, row->n_events);
	rc = run_insert(st, s, "store_sec_message_insert", seq_out);
	if (rc != SH_OK)
		return rc;
	bind_text(a, 1, row->device_id);
	bind_text(a, 2, nz(row->module_id));
	sqlite3_bind_int64(a, 3, row->received_us);
	return run_insert(st, a, "store_sec_message_insert", NULL);
}

sh_rc store_sec_event_insert(struct sh_store *st, const struct sh_sec_event_row *row,
			     int64_t *id_out)
{
	sh_rc rc = store_internal_write_guard(st);
	if (rc != SH_OK)
		return rc;
	if (!row->device_id || !row->device_id[0] || !verdict_ok(row->verdict)) {
		store_internal_set_err(st, "store_sec_event_insert: empty device id or bad verdict");
		return SH_E_INVALID;
	}
	sqlite3_stmt *s = stmt(st, SEC_EVENT_INSERT, "store_sec_event_insert", &rc);
	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, row->message_seq);
	bind_text(s, 2, row->device_id);
	bind_text(s, 3, nz(row->module_id));
	sqlite3_bind_int64(s, 4, row->received_us);
	bind_text(s, 5, row->event_id);
	bind_text(s, 6, row->event_type);
	bind_text(s, 7, row->category);
	bind_text(s, 8, nz(row->name));
	sqlite3_bind_int(s, 9, row->is_empty ? 1 : 0);
	bind_text(s, 10, row->payload_schema_version);
	if (row->has_utc)
		sqlite3_bind_int64(s, 11, row->utc_us);
	else
		sqlite3_bind_null(s, 11);
	bind_text(s, 12, row->timestamp_local);
	bind_text(s, 13, row->payload_json ? row->payload_json : "[]");
	bind_text(s, 14, row->agent_id);
	bind_text(s, 15, row->verdict);
	bind_text(s, 16, row->reasons_json ? row->reasons_json : "[]");
	sqlite3_bind_int64(s, 17, row->login_failures);
	return run_insert(st, s, "store_sec_event_insert", id_out);
}

/*
 * A list query built for the filters it is given. An optional filter written
 * "(?N IS NULL OR col = ?N)" makes SQLite scan the table; here each filter given becomes a
 * plain "AND col = ?" (or a range) that an index can serve, and absent ones leave no trace.
 * Parameters are anonymous and bound in the order they were added.
 */
#define QB_MAX_ARGS 16
struct qb {
	char sql[1536];
	size_t len;
	bool overflow;
	struct {
		const char *text;     /* NULL: an integer */
		int64_t num;
	} arg[QB_MAX_ARGS];
	int n;
};

static void qb_add(struct qb *b, const char *text)
{
	size_t l = strlen(text);
	if (b->len + l >= sizeof b->sql) {
		b->overflow = true;
		return;
	}
	memcpy(b->sql + b->len, text, l + 1);
	b->len += l;
}

/* Append `cond` (one "?") bound to text `v`; nothing when v is NULL. */
static void qb_text(struct qb *b, const char *cond, const char *v)
{
	if (!v)
		return;
	if (b->n == QB_MAX_ARGS) {
		b->overflow = true;
		return;
	}
	qb_add(b, cond);
	b->arg[b->n].text = v;
	b->arg[b->n++].num = 0;
}

/* Append `cond` (one "?") bound to `v`; nothing when `when` is false. */
static void qb_int(struct qb *b, const char *cond, int64_t v, bool when)
{
	if (!when)
		return;
	if (b->n == QB_MAX_ARGS) {
		b->overflow = true;
		return;
	}
	qb_add(b, cond);
	b->arg[b->n].text = NULL;
	b->arg[b->n++].num = v;
}

/* Prepare the built query, bind its arguments, hand each row to row_fn, finalise. */
static sh_rc qb_run(struct sh_store *st, struct qb *b, const char *what,
		    sh_rc (*row_fn)(sqlite3_stmt *s, void *ctx), void *ctx)
{
	if (b->overflow) {
		store_internal_set_err(st, "security query too long");
		return SH_E_INVALID;
	}
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(store_internal_db(st), b->sql, (int)b->len + 1, &s, NULL) !=
	    SQLITE_OK)
		return store_internal_fail(st, what);
	for (int i = 0; i < b->n; i++) {
		if (b->arg[i].text)
			sqlite3_bind_text(s, i + 1, b->arg[i].text, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(s, i + 1, b->arg[i].num);
	}
	sh_rc rc = walk(st, s, what, row_fn, ctx);
	sqlite3_finalize(s);
	return rc;
}

struct msg_walk {
	sh_rc (*fn)(void *arg, const struct sh_sec_message_row *row);
	void *arg;
};

static sh_rc msg_row(sqlite3_stmt *s, void *ctx)
{
	struct msg_walk *w = ctx;
	struct sh_sec_message_row r;
	memset(&r, 0, sizeof r);
	r.seq = sqlite3_column_int64(s, 0);
	r.d2c_seq = sqlite3_column_int64(s, 1);
	r.received_us = sqlite3_column_int64(s, 2);
	r.device_id = nz(col_text(s, 3));
	r.module_id = nz(col_text(s, 4));
	r.agent_id = col_text(s, 5);
	r.agent_version = col_text(s, 6);
	r.schema_version = col_text(s, 7);
	r.mode = nz(col_text(s, 8));
	r.verdict = nz(col_text(s, 9));
	r.reasons_json = nz(col_text(s, 10));
	r.error = col_text(s, 11);
	r.properties_json = nz(col_text(s, 12));
	r.body = sqlite3_column_blob(s, 13);
	r.body_len = (size_t)sqlite3_column_bytes(s, 13);
	r.n_events = sqlite3_column_int64(s, 14);
	return w->fn(w->arg, &r);
}

sh_rc store_sec_message_query(struct sh_store *st, const struct sh_sec_message_query *q,
			      sh_rc (*fn)(void *arg, const struct sh_sec_message_row *row),
			      void *arg)
{
	struct qb b = { .len = 0 };
	qb_add(&b, "SELECT " MSG_COLS MSG_FROM " WHERE 1");
	qb_int(&b, " AND m.id > ?", q->after_seq, q->after_seq != 0);
	qb_text(&b, " AND m.device_id = ?", q->device_id);
	qb_text(&b, " AND m.module_id = ?", q->module_id);
	qb_text(&b, " AND m.verdict = ?", q->verdict);
	qb_int(&b, " AND m.received_us >= ?", q->from_us, q->from_us != 0);
	qb_int(&b, " AND m.received_us < ?", q->to_us, q->to_us != 0);
	qb_add(&b, " ORDER BY m.id");
	qb_int(&b, " LIMIT ?", q->limit, q->limit > 0);
	struct msg_walk w = { fn, arg };
	return qb_run(st, &b, "store_sec_message_query", msg_row, &w);
}

struct event_walk {
	sh_rc (*fn)(void *arg, const struct sh_sec_event_row *row);
	void *arg;
};

static sh_rc event_row(sqlite3_stmt *s, void *ctx)
{
	struct event_walk *w = ctx;
	struct sh_sec_event_row r;
	memset(&r, 0, sizeof r);
	r.id = sqlite3_column_int64(s, 0);
	r.message_seq = sqlite3_column_int64(s, 1);
	r.received_us = sqlite3_column_int64(s, 2);
	r.device_id = nz(col_text(s, 3));
	r.module_id = nz(col_text(s, 4));
	r.agent_id = col_text(s, 5);
	r.event_id = col_text(s, 6);
	r.name = nz(col_text(s, 7));
	r.event_type = nz(col_text(s, 8));
	r.category = nz(col_text(s, 9));
	r.is_empty = sqlite3_column_int(s, 10) != 0;
	r.payload_schema_version = col_text(s, 11);
	r.timestamp_local = col_text(s, 12);
	r.has_utc = sqlite3_column_type(s, 13) != SQLITE_NULL;
	r.utc_us = sqlite3_column_int64(s, 13);
	r.payload_json = nz(col_text(s, 14));
	r.verdict = nz(col_text(s, 15));
	r.reasons_json = nz(col_text(s, 16));
	return w->fn(w->arg, &r);
}

sh_rc store_sec_event_query(struct sh_store *st, const struct sh_sec_event_query *q,
			    sh_rc (*fn)(void *arg, const struct sh_sec_event_row *row), void *arg)
{
	struct qb b = { .len = 0 };
	qb_add(&b, "SELECT " EVENT_COLS " FROM security_events WHERE 1");
	if (q->newest_first)
		qb_int(&b, " AND id < ?", q->after_id, q->after_id != 0);
	else
		qb_int(&b, " AND id > ?", q->after_id, q->after_id != 0);
	qb_text(&b, " AND device_id = ?", q->device_id);
	qb_text(&b, " AND module_id = ?", q->module_id);
	qb_text(&b, " AND name = ?", q->name);
	qb_text(&b, " AND event_type = ?", q->event_type);
	qb_text(&b, " AND category = ?", q->category);
	qb_text(&b, " AND verdict = ?", q->verdict);
	qb_int(&b, " AND received_us >= ?", q->from_us, q->from_us != 0);
	qb_int(&b, " AND received_us < ?", q->to_us, q->to_us != 0);
	qb_int(&b, " AND timestamp_utc_us >= ?", q->utc_from_us, q->utc_from_us != 0);
	qb_int(&b, " AND timestamp_utc_us <= ?", q->utc_to_us, q->utc_to_us != 0);
	qb_add(&b, q->newest_first ? " ORDER BY id DESC" : " ORDER BY id");
	qb_int(&b, " LIMIT ?", q->limit, q->limit > 0);
	struct event_walk w = { fn, arg };
	return qb_run(st, &b, "store_sec_event_query", event_row, &w);
}

sh_rc store_sec_login_failures(struct sh_store *st, const char *device_id, int64_t utc_from_us,
			       int64_t utc_to_us, int64_t skip_message_seq, int64_t limit,
			       sh_rc (*fn)(void *arg, const struct sh_sec_event_row *row),
			       void *arg)
{
	if (!device_id) {
		store_internal_set_err(st, "store_sec_login_failures: no device id");
		return SH_E_INVALID;
	}
	sh_rc rc;
	sqlite3_stmt *s = stmt(st, SEC_LOGIN_FAILURES, "store_sec_login_failures", &rc);
	if (!s)
		return rc;
	struct event_walk w = { fn, arg };
	bind_text(s, 1, device_id);
	sqlite3_bind_int64(s, 2, utc_from_us);
	sqlite3_bind_int64(s, 3, utc_to_us);
	sqlite3_bind_int64(s, 4, skip_message_seq);
	sqlite3_bind_int64(s, 5, limit > 0 ? limit : -1);
	return walk(st, s, "store_sec_login_failures", event_row, &w);
}

sh_rc store_sec_alert_insert(struct sh_store *st, const struct sh_sec_alert_row *row,
			     const char *dedupe_key, bool *inserted, int64_t *id_out)
{
	sh_rc rc = store_internal_write_guard(st);
	if (inserted)
		*inserted = false;
	if (id_out)
		*id_out = 0;
	if (rc != SH_OK)
		return rc;
	if (!row->device_id || !row->device_id[0] || !row->rule || !row->severity ||
	    !dedupe_key || !dedupe_key[0]) {
		store_internal_set_err(st, "store_sec_alert_insert: missing device, rule or key");
		return SH_E_INVALID;
	}
	sqlite3_stmt *s = stmt(st, SEC_ALERT_INSERT, "store_sec_alert_insert", &rc);
	if (!s)
		return rc;
	sqlite3_bind_int64(s, 1, row->created_us);
	sqlite3_bind_int64(s, 2, row->time_us);
	bind_text(s, 3, row->rule);
	bind_text(s, 4, row->severity);
	bind_text(s, 5, row->device_id);
	bind_text(s, 6, nz(row->module_id));
	bind_text(s, 7, row->evidence_json ? row->evidence_json : "[]");
	bind_text(s, 8, nz(row->description));
	bind_text(s, 9, dedupe_key);
	int64_t id = 0;
	rc = run_insert(st, s, "store_sec_alert_insert", &id);
	if (rc == SH_OK && sqlite3_changes(store_internal_db(st)) > 0) {
		if (inserted)
			*inserted = true;
		if (id_out)
			*id_out = id;
	}
	return rc;
}

struct alert_walk {
	sh_rc (*fn)(void *arg, const struct sh_sec_alert_row *row);
	void *arg;
};

static sh_rc alert_row(sqlite3_stmt *s, void *ctx)
{
	struct alert_walk *w = ctx;
	struct sh_sec_alert_row r;
	r.id = sqlite3_column_int64(s, 0);
	r.created_us = sqlite3_column_int64(s, 1);
	r.time_us = sqlite3_column_int64(s, 2);
	r.rule = nz(col_text(s, 3));
	r.severity = nz(col_text(s, 4));
	r.device_id = nz(col_text(s, 5));
	r.module_id = nz(col_text(s, 6));
	r.evidence_json = nz(col_text(s, 7));
	r.description = nz(col_text(s, 8));
	return w->fn(w->arg, &r);
}

sh_rc store_sec_alert_query(struct sh_store *st, const struct sh_sec_alert_query *q,
			    sh_rc (*fn)(void *arg, const struct sh_sec_alert_row *row), void *arg)
{
	struct qb b = { .len = 0 };
	qb_add(&b, "SELECT " ALERT_COLS " FROM security_alerts WHERE 1");
	qb_int(&b, " AND id > ?", q->after_id, q->after_id != 0);
	qb_text(&b, " AND device_id = ?", q->device_id);
	qb_text(&b, " AND rule = ?", q->rule);
	qb_text(&b, " AND severity = ?", q->severity);
	qb_int(&b, " AND created_us >= ?", q->from_us, q->from_us != 0);
	qb_int(&b, " AND created_us < ?", q->to_us, q->to_us != 0);
	qb_add(&b, " ORDER BY id");
	qb_int(&b, " LIMIT ?", q->limit, q->limit > 0);
	struct alert_walk w = { fn, arg };
	return qb_run(st, &b, "store_sec_alert_query", alert_row, &w);
}

sh_rc store_sec_alert_exists(struct sh_store *st, const char *dedupe_key, bool *exists)
{
	sh_rc rc;
	sqlite3_stmt *s = stmt(st, SEC_ALERT_EXISTS, "store_sec_alert_exists", &rc);
	if (!s)
		return rc;
	bind_text(s, 1, dedupe_key);
	int src = sqlite3_step(s);
	if (src == SQLITE_ROW || src == SQLITE_DONE)
		*exists = src == SQLITE_ROW;
	else
		rc = store_internal_fail(st, "store_sec_alert_exists");
	done(s);
	return rc;
}

struct count_walk {
	sh_rc (*fn)(void *arg, const char *key, int64_t count);
	void *arg;
};

static sh_rc count_row(sqlite3_stmt *s, void *ctx)
{
	struct count_walk *w = ctx;
	return w->fn(w->arg, nz(col_text(s, 0)), sqlite3_column_int64(s, 1));
}

sh_rc store_sec_count_by(struct sh_store *st, const char *what, const char *device_id,
			 sh_rc (*fn)(void *arg, const char *key, int64_t count), void *arg)
{
	const char *col, *table;
	if (what && strcmp(what, "event-name") == 0) {
		col = "name";
		table = "security_events";
	} else if (what && strcmp(what, "message-verdict") == 0) {
		col = "verdict";
		table = "security_messages";
	} else if (what && strcmp(what, "alert-rule") == 0) {
		col = "rule";
		table = "security_alerts";
	} else {
		store_internal_set_err(st, "store_sec_count_by: unknown grouping");
		return SH_E_INVALID;
	}
	struct qb b = { .len = 0 };
	char head[128];
	snprintf(head, sizeof head, "SELECT %s, count(*) FROM %s WHERE 1", col, table);
	qb_add(&b, head);
	qb_text(&b, " AND device_id = ?", device_id);
	snprintf(head, sizeof head, " GROUP BY %s ORDER BY %s", col, col);
	qb_add(&b, head);
	struct count_walk w = { fn, arg };
	return qb_run(st, &b, "store_sec_count_by", count_row, &w);
}

struct last_walk {
	sh_rc (*fn)(void *arg, const char *device_id, const char *module_id, int64_t last_us,
		    int64_t count);
	void *arg;
};

static sh_rc last_row(sqlite3_stmt *s, void *ctx)
{
	struct last_walk *w = ctx;
	return w->fn(w->arg, nz(col_text(s, 0)), nz(col_text(s, 1)), sqlite3_column_int64(s, 2),
		     sqlite3_column_int64(s, 3));
}

sh_rc store_sec_last_messages(struct sh_store *st, const char *device_id,
			      sh_rc (*fn)(void *arg, const char *device_id, const char *module_id,
					  int64_t last_us, int64_t count),
			      void *arg)
{
	struct qb b = { .len = 0 };
	qb_add(&b, "SELECT device_id, module_id, last_us, messages FROM security_agents WHERE 1");
	qb_text(&b, " AND device_id = ?", device_id);
	qb_add(&b, " ORDER BY device_id, module_id");
	struct last_walk w = { fn, arg };
	return qb_run(st, &b, "store_sec_last_messages", last_row, &w);
}
