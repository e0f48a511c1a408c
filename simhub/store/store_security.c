/*
 * store_security.c: the store room's security tables (migration 6): security messages, their
 * events and the alerts raised from them. Statements are prepared on first use into slots that
 * store_close finalises. It never reads the clock, never parses JSON and never judges a
 * message: verdicts, reasons and dedupe keys come in as arguments.
 */
#include <stdint.h>
#include <string.h>

#include "store/store_internal.h"

enum sec_stmt {
	SEC_MSG_INSERT,
	SEC_EVENT_INSERT,
	SEC_MSG_QUERY,
	SEC_EVENT_QUERY,
	SEC_EVENT_QUERY_DESC,
	SEC_ALERT_INSERT,
	SEC_ALERT_QUERY,
	SEC_ALERT_EXISTS,
	SEC_COUNT_EVENT_NAME,
	SEC_COUNT_MSG_VERDICT,
	SEC_COUNT_ALERT_RULE,
	SEC_LAST_MESSAGES,
	SEC__COUNT
};

#define MSG_COLS "id, coalesce(d2c_seq, 0), received_us, device_id, module_id, agent_id, " \
	"agent_version, message_schema_version, mode, verdict, reasons, error, properties, " \
	"body, n_events"
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
	[SEC_EVENT_INSERT] = "INSERT INTO security_events (message_id, device_id, module_id, "
		"received_us, event_id, event_type, category, name, is_empty, "
		"payload_schema_version, timestamp_utc_us, timestamp_local, payload, agent_id, "
		"verdict, reasons) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
		"?14, ?15, ?16)",
	[SEC_MSG_QUERY] = "SELECT " MSG_COLS " FROM security_messages WHERE id > ?1 "
		"AND (?2 IS NULL OR device_id = ?2) AND (?3 IS NULL OR module_id = ?3) "
		"AND (?4 IS NULL OR verdict = ?4) AND received_us >= ?5 AND received_us < ?6 "
		"ORDER BY id LIMIT ?7",
	[SEC_EVENT_QUERY] = "SELECT " EVENT_COLS " FROM security_events WHERE id > ?1 "
		"AND (?2 IS NULL OR device_id = ?2) AND (?3 IS NULL OR module_id = ?3) "
		"AND (?4 IS NULL OR name = ?4) AND (?5 IS NULL OR event_type = ?5) "
		"AND (?6 IS NULL OR category = ?6) AND (?7 IS NULL OR verdict = ?7) "
		"AND received_us >= ?8 AND received_us < ?9 "
		"AND (?10 = 0 OR timestamp_utc_us >= ?10) AND (?11 = 0 OR timestamp_utc_us <= ?11) "
		"ORDER BY id LIMIT ?12",
	/* The rules' look-back: plain equalities and a range, so SQLite uses
	 * security_events_by_device_utc (an "?N IS NULL OR" filter would scan the table). */
	[SEC_EVENT_QUERY_DESC] = "SELECT " EVENT_COLS " FROM security_events "
		"WHERE device_id = ?2 AND name = ?4 AND timestamp_utc_us >= ?10 "
		"AND timestamp_utc_us <= ?11 AND (?1 = 0 OR id < ?1) ORDER BY id DESC LIMIT ?12",
	[SEC_ALERT_INSERT] = "INSERT OR IGNORE INTO security_alerts (created_us, time_us, rule, "
		"severity, device_id, module_id, evidence, description, dedupe_key) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[SEC_ALERT_QUERY] = "SELECT " ALERT_COLS " FROM security_alerts WHERE id > ?1 "
		"AND (?2 IS NULL OR device_id = ?2) AND (?3 IS NULL OR rule = ?3) "
		"AND (?4 IS NULL OR severity = ?4) AND created_us >= ?5 AND created_us < ?6 "
		"ORDER BY id LIMIT ?7",
	[SEC_ALERT_EXISTS] = "SELECT 1 FROM security_alerts WHERE dedupe_key = ?1",
	[SEC_COUNT_EVENT_NAME] = "SELECT name, count(*) FROM security_events "
		"WHERE ?1 IS NULL OR device_id = ?1 GROUP BY name ORDER BY name",
	[SEC_COUNT_MSG_VERDICT] = "SELECT verdict, count(*) FROM security_messages "
		"WHERE ?1 IS NULL OR device_id = ?1 GROUP BY verdict ORDER BY verdict",
	[SEC_COUNT_ALERT_RULE] = "SELECT rule, count(*) FROM security_alerts "
		"WHERE ?1 IS NULL OR device_id = ?1 GROUP BY rule ORDER BY rule",
	[SEC_LAST_MESSAGES] = "SELECT device_id, module_id, max(received_us), count(*) "
		"FROM security_messages WHERE ?1 IS NULL OR device_id = ?1 "
		"GROUP BY device_id, module_id ORDER BY device_id, module_id",
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
	sqlite3_bind_int64(s, 1, row->d2c_seq);
	bind_text(s, 2, row->device_id);
	bind_text(s, 3, nz(row->module_id));
	sqlite3_bind_int64(s, 4, row->received_us);
	bind_text(s, 5, row->agent_id);
	bind_text(s, 6, row->agent_version);
	bind_text(s, 7, row->schema_version);
	sqlite3_bind_int(s, 8, strcmp(row->verdict, "invalid") != 0);
	bind_text(s, 9, row->error);
	bind_text(s, 10, row->properties_json ? row->properties_json : "{}");
	sqlite3_bind_blob(s, 11, row->body ? row->body : "", (int)row->body_len, SQLITE_STATIC);
	bind_text(s, 12, row->mode ? row->mode : "service");
	bind_text(s, 13, row->verdict);
	bind_text(s, 14, row->reasons_json ? row->reasons_json : "[]");
	sqlite3_bind_int64(s, 15, row->n_events);
	return run_insert(st, s, "store_sec_message_insert", seq_out);
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
	return run_insert(st, s, "store_sec_event_insert", id_out);
}

/* Time bounds: 0 means none. */
static int64_t lo(int64_t v)
{
	return v ? v : INT64_MIN;
}

static int64_t hi(int64_t v)
{
	return v ? v : INT64_MAX;
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
	sh_rc rc;
	sqlite3_stmt *s = stmt(st, SEC_MSG_QUERY, "store_sec_message_query", &rc);
	if (!s)
		return rc;
	struct msg_walk w = { fn, arg };
	sqlite3_bind_int64(s, 1, q->after_seq);
	bind_text(s, 2, q->device_id);
	bind_text(s, 3, q->module_id);
	bind_text(s, 4, q->verdict);
	sqlite3_bind_int64(s, 5, lo(q->from_us));
	sqlite3_bind_int64(s, 6, hi(q->to_us));
	sqlite3_bind_int64(s, 7, q->limit > 0 ? q->limit : -1);
	return walk(st, s, "store_sec_message_query", msg_row, &w);
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
	sh_rc rc;
	sqlite3_stmt *s = stmt(st, q->newest_first ? SEC_EVENT_QUERY_DESC : SEC_EVENT_QUERY,
			       "store_sec_event_query", &rc);
	if (!s)
		return rc;
	if (q->newest_first && (!q->device_id || !q->name || !q->utc_from_us || !q->utc_to_us)) {
		store_internal_set_err(st, "store_sec_event_query: newest_first needs device, name, "
				       "utc bounds");
		return SH_E_INVALID;
	}
	struct event_walk w = { fn, arg };
	sqlite3_bind_int64(s, 1, q->after_id);
	bind_text(s, 2, q->device_id);
	bind_text(s, 3, q->module_id);
	bind_text(s, 4, q->name);
	bind_text(s, 5, q->event_type);
	bind_text(s, 6, q->category);
	bind_text(s, 7, q->verdict);
	sqlite3_bind_int64(s, 8, lo(q->from_us));
	sqlite3_bind_int64(s, 9, hi(q->to_us));
	sqlite3_bind_int64(s, 10, q->utc_from_us);
	sqlite3_bind_int64(s, 11, q->utc_to_us);
	sqlite3_bind_int64(s, 12, q->limit > 0 ? q->limit : -1);
	return walk(st, s, "store_sec_event_query", event_row, &w);
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
	sh_rc rc;
	sqlite3_stmt *s = stmt(st, SEC_ALERT_QUERY, "store_sec_alert_query", &rc);
	if (!s)
		return rc;
	struct alert_walk w = { fn, arg };
	sqlite3_bind_int64(s, 1, q->after_id);
	bind_text(s, 2, q->device_id);
	bind_text(s, 3, q->rule);
	bind_text(s, 4, q->severity);
	sqlite3_bind_int64(s, 5, lo(q->from_us));
	sqlite3_bind_int64(s, 6, hi(q->to_us));
	sqlite3_bind_int64(s, 7, q->limit > 0 ? q->limit : -1);
	return walk(st, s, "store_sec_alert_query", alert_row, &w);
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
	enum sec_stmt id;
	if (what && strcmp(what, "event-name") == 0)
		id = SEC_COUNT_EVENT_NAME;
	else if (what && strcmp(what, "message-verdict") == 0)
		id = SEC_COUNT_MSG_VERDICT;
	else if (what && strcmp(what, "alert-rule") == 0)
		id = SEC_COUNT_ALERT_RULE;
	else {
		store_internal_set_err(st, "store_sec_count_by: unknown grouping");
		return SH_E_INVALID;
	}
	sh_rc rc;
	sqlite3_stmt *s = stmt(st, id, "store_sec_count_by", &rc);
	if (!s)
		return rc;
	struct count_walk w = { fn, arg };
	bind_text(s, 1, device_id);
	return walk(st, s, "store_sec_count_by", count_row, &w);
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
	sh_rc rc;
	sqlite3_stmt *s = stmt(st, SEC_LAST_MESSAGES, "store_sec_last_messages", &rc);
	if (!s)
		return rc;
	struct last_walk w = { fn, arg };
	bind_text(s, 1, device_id);
	return walk(st, s, "store_sec_last_messages", last_row, &w);
}
