/*
 * store_sqlite.c: the store room. One SQLite connection in WAL mode, every statement prepared
 * once at open (bind, step, reset) and finalised at close, numbered migrations, group-commit
 * transactions with a savepoint per hub operation. It never reads the clock, never parses JSON
 * and never chooses protocol results; schema text lives in migrations.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "store/store.h"
#include "store/store_internal.h"

/* PRAGMA application_id of a simhub file, "SIMH"; migration 1 writes the same number. */
#define STORE_APPLICATION_ID 0x53494D48

/*
 * How long a statement waits for a lock held by someone else (an outside writer such as the
 * sqlite3 shell, or a checkpoint) before failing with SH_E_IO. WAL readers never block us, so
 * this only matters when another process writes; it is bounded because it blocks the loop.
 */
#define STORE_BUSY_TIMEOUT_MS 2000

/*
 * Checkpoint when the WAL reaches this many pages (16 MiB at 4 KiB pages) rather than SQLite's
 * 1000: pages rewritten by consecutive commits (the last table page, index leaves) are copied
 * into the database once per checkpoint, and the database is synced less often. It measured
 * about 10% more rows/s with batches of 1000 (bench/README.md). Outside readers pay a slightly
 * bigger WAL index to search; the journal limit below bounds what is left on disk.
 */
#define STORE_WAL_CHECKPOINT_PAGES 4000

/*
 * The WAL is truncated back to this size after a checkpoint, so a burst of telemetry does not
 * leave a huge -wal file behind.
 */
#define STORE_WAL_LIMIT_BYTES (64 * 1024 * 1024)

/*
 * synchronous = NORMAL is the default. In WAL mode it syncs only at checkpoints, never per
 * commit, and a committed transaction survives a crash or kill -9 of simhub (the kill -9 test
 * checks it). Only a power loss or kernel crash may roll back the last few commits; the file is
 * never corrupted. FULL adds an fsync of the WAL at every commit: bench/README.md shows it
 * costs little with batches of 1000 (about 220k rows/s either way) and a lot with batches of 1,
 * which is what a lightly loaded loop commits (5k against 34k commits/s, worse on busy disks).
 * simhub emulates a hub for development and CI, where the host losing power is not a case to
 * pay for on every message; store_set_sync(FULL) is there for those who want it.
 */
#define STORE_DEFAULT_SYNC SH_STORE_SYNC_NORMAL

/* Column lists shared by the identity statements, in the order bind_identity() binds them. */
#define ID_COMMON_COLS \
	"generation_id, etag_counter, status, status_reason, status_updated_us, auth_type, " \
	"primary_key, secondary_key, primary_thumbprint, secondary_thumbprint, connected, " \
	"connection_state_updated_us, last_activity_us, c2d_count, created_us"
#define ID_SET_FROM_3 \
	"generation_id = ?3, etag_counter = ?4, status = ?5, status_reason = ?6, " \
	"status_updated_us = ?7, auth_type = ?8, primary_key = ?9, secondary_key = ?10, " \
	"primary_thumbprint = ?11, secondary_thumbprint = ?12, connected = ?13, " \
	"connection_state_updated_us = ?14, last_activity_us = ?15, c2d_count = ?16, " \
	"created_us = ?17"
/* Result columns of a c2d row, in the order read_c2d expects. */
#define C2D_COLS "seq, device_id, message_id, properties, body, ack, state, " \
	"coalesce(lock_token, ''), coalesce(lock_until_us, 0), delivery_count, enqueued_us, expiry_us"

#define D2C_COLS \
	"seq, device_id, module_id, enqueued_us, message_id, content_type, content_encoding, " \
	"interface_id, system_properties, app_properties, body"

/*
 * Every statement the store runs after open. Identity statements all use the same parameter
 * numbers (?1 device, ?2 module, ?3..?17 common columns, ?18 iot_edge or managed_by) and the
 * same result columns, so one binder and one reader serve devices and modules alike.
 */
enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_SETTING_GET,
	S_SETTING_SET,
	S_POLICY_GET,
	S_POLICY_PUT,
	S_POLICY_EACH,
	S_DEVICE_GET,
	S_MODULE_GET,
	S_DEVICE_INSERT,
	S_MODULE_INSERT,
	S_DEVICE_UPDATE,
	S_MODULE_UPDATE,
	S_DEVICE_DELETE,
	S_MODULE_DELETE,
	S_DEVICE_EACH,
	S_MODULE_EACH,
	S_DEVICE_COUNT,
	S_TWIN_GET,
	S_TWIN_PUT,
	S_D2C_APPEND,
	S_D2C_COUNT_ALL,
	S_D2C_COUNT_DEVICE,
	S_D2C_EACH_ALL,
	S_D2C_EACH_DEVICE,
	S_D2C_QUERY,
	S_CONNECTION_EVENT,
	S_CONN_EVENT_QUERY,
	S_METHOD_BEGIN,
	S_METHOD_FINISH,
	S_METHOD_QUERY,
	S_C2D_INSERT,
	S_C2D_COUNT_ACTIVE,
	S_C2D_EXPIRE,
	S_C2D_NEXT,
	S_C2D_LOCK,
	S_C2D_FIND_LOCK,
	S_C2D_FINISH,
	S_C2D_REQUEUE,
	S_C2D_RELEASE_AFTER,
	S_CA_PUT,
	S_CA_DELETE,
	S_CA_EACH,
	S_FEEDBACK_INSERT,
	S_FEEDBACK_QUERY,
	S_C2D_EXPIRING,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SAVEPOINT] = "SAVEPOINT op",
	[S_RELEASE] = "RELEASE op",
	[S_ROLLBACK_TO] = "ROLLBACK TO op",
	[S_SETTING_GET] = "SELECT value FROM hub_settings WHERE key = ?1",
	[S_SETTING_SET] = "INSERT INTO hub_settings (key, value) VALUES (?1, ?2) "
			  "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[S_POLICY_GET] = "SELECT name, primary_key, secondary_key, rights FROM access_policies "
			 "WHERE name = ?1",
	[S_POLICY_PUT] = "INSERT INTO access_policies (name, primary_key, secondary_key, rights) "
			 "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO UPDATE SET "
			 "primary_key = excluded.primary_key, "
			 "secondary_key = excluded.secondary_key, rights = excluded.rights",
	[S_POLICY_EACH] = "SELECT name, primary_key, secondary_key, rights FROM access_policies "
			  "ORDER BY name",
	[S_DEVICE_GET] = "SELECT device_id, '', " ID_COMMON_COLS ", iot_edge, '' FROM devices "
			 "WHERE device_id = ?1",
	[S_MODULE_GET] = "SELECT device_id, module_id, " ID_COMMON_COLS ", 0, managed_by "
			 "FROM modules WHERE device_id = ?1 AND module_id = ?2",
	[S_DEVICE_INSERT] = "INSERT INTO devices (device_id, " ID_COMMON_COLS ", iot_edge) "
			    "VALUES (?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
			    "?16, ?17, ?18)",
	[S_MODULE_INSERT] = "INSERT INTO modules (device_id, module_id, " ID_COMMON_COLS
			    ", managed_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
			    "?12, ?13, ?14, ?15, ?16, ?17, ?18)",
	[S_DEVICE_UPDATE] = "UPDATE devices SET " ID_SET_FROM_3 ", iot_edge = ?18 "
			    "WHERE device_id = ?1",
	[S_MODULE_UPDATE] = "UPDATE modules SET " ID_SET_FROM_3 ", managed_by = ?18 "
			    "WHERE device_id = ?1 AND module_id = ?2",
	[S_DEVICE_DELETE] = "DELETE FROM devices WHERE device_id = ?1",
	[S_MODULE_DELETE] = "DELETE FROM modules WHERE device_id = ?1 AND module_id = ?2",
	[S_DEVICE_EACH] = "SELECT device_id, '', " ID_COMMON_COLS ", iot_edge, '' FROM devices "
			  "ORDER BY device_id",
	[S_MODULE_EACH] = "SELECT device_id, module_id, " ID_COMMON_COLS ", 0, managed_by "
			  "FROM modules WHERE device_id = ?1 ORDER BY module_id",
	[S_DEVICE_COUNT] = "SELECT count(*), count(*) FILTER (WHERE status = 'enabled') FROM devices",
	[S_TWIN_GET] = "SELECT document FROM twins WHERE device_id = ?1 AND module_id = ?2",
	/* Inserts nothing when the identity is missing: sqlite3_changes() tells NOTFOUND. */
	[S_TWIN_PUT] = "INSERT INTO twins (device_id, module_id, version, document) "
		       "SELECT ?1, ?2, ?3, ?4 WHERE "
		       "(?2 = '' AND EXISTS (SELECT 1 FROM devices WHERE device_id = ?1)) OR "
		       "EXISTS (SELECT 1 FROM modules WHERE device_id = ?1 AND module_id = ?2) "
		       "ON CONFLICT (device_id, module_id) DO UPDATE SET "
		       "version = excluded.version, document = excluded.document",
	[S_D2C_APPEND] = "INSERT INTO d2c_messages (device_id, module_id, enqueued_us, message_id, "
			 "content_type, content_encoding, interface_id, system_properties, "
			 "app_properties, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[S_D2C_COUNT_ALL] = "SELECT count(*) FROM d2c_messages",
	[S_D2C_COUNT_DEVICE] = "SELECT count(*) FROM d2c_messages WHERE device_id = ?1",
	[S_D2C_EACH_ALL] = "SELECT " D2C_COLS " FROM d2c_messages WHERE seq > ?1 ORDER BY seq",
	[S_D2C_EACH_DEVICE] = "SELECT " D2C_COLS " FROM d2c_messages "
			      "WHERE device_id = ?2 AND seq > ?1 ORDER BY seq",
	/* Optional filters are NULL parameters; properties are matched with json_each, so names
	 * need no JSON path quoting. */
	[S_D2C_QUERY] = "SELECT " D2C_COLS " FROM d2c_messages WHERE seq > ?1 "
			"AND (?2 IS NULL OR device_id = ?2) AND (?3 IS NULL OR module_id = ?3) "
			"AND enqueued_us >= ?4 AND enqueued_us < ?5 "
			"AND (?6 IS NULL OR EXISTS (SELECT 1 FROM json_each(app_properties) "
			"WHERE key = ?6 AND type = 'text' AND value = ?7) "
			"OR EXISTS (SELECT 1 FROM json_each(system_properties) "
			"WHERE key = ?6 AND type = 'text' AND value = ?7)) "
			"AND (?9 OR interface_id IS NULL "
			"OR interface_id <> 'urn:azureiot:Security:SecurityAgent:1') "
			"ORDER BY seq LIMIT ?8",
	[S_CONN_EVENT_QUERY] = "SELECT id, device_id, module_id, at_us, event, reason "
			       "FROM connection_events WHERE id > ?1 "
			       "AND (?2 IS NULL OR device_id = ?2) AND (?3 IS NULL OR module_id = ?3) "
			       "AND at_us >= ?4 AND at_us < ?5 ORDER BY id LIMIT ?6",
	[S_CONNECTION_EVENT] = "INSERT INTO connection_events (device_id, module_id, at_us, event, "
			       "reason) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_METHOD_BEGIN] = "INSERT INTO method_calls (device_id, module_id, method_name, payload, "
			   "invoked_us, timeout_us, connect_timeout_us) "
			   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	/* Only a pending call moves: a second finish changes nothing (sqlite3_changes() = 0). */
	[S_METHOD_FINISH] = "UPDATE method_calls SET state = ?2, status = ?3, result = ?4, "
			    "error_code = ?5, completed_us = ?6 WHERE id = ?1 AND state = 'pending'",
	[S_METHOD_QUERY] = "SELECT id, device_id, module_id, method_name, payload, timeout_us, "
			   "connect_timeout_us, state, status, result, coalesce(error_code, 0), "
			   "invoked_us, coalesce(completed_us, 0) FROM method_calls WHERE id > ?1 "
			   "AND (?2 IS NULL OR device_id = ?2) AND (?3 IS NULL OR module_id = ?3) "
			   "AND (?4 IS NULL OR method_name = ?4) "
			   "AND invoked_us >= ?5 AND invoked_us < ?6 ORDER BY id LIMIT ?7",
	[S_C2D_INSERT] = "INSERT INTO c2d_messages (device_id, message_id, properties, body, ack, "
			 "enqueued_us, expiry_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_C2D_COUNT_ACTIVE] = "SELECT count(*) FROM c2d_messages WHERE device_id = ?1 AND "
			       "state IN ('enqueued', 'invisible')",
	[S_C2D_EXPIRE] = "UPDATE c2d_messages SET state = 'deadlettered', outcome = 'expired', "
			 "finished_us = ?2, lock_token = NULL WHERE device_id = ?1 AND "
			 "state IN ('enqueued', 'invisible') AND expiry_us > 0 AND expiry_us <= ?2",
	[S_C2D_NEXT] = "SELECT " C2D_COLS " FROM c2d_messages WHERE device_id = ?1 AND "
		       "(state = 'enqueued' OR (state = 'invisible' AND lock_until_us <= ?2)) "
		       "ORDER BY seq LIMIT 1",
	[S_C2D_LOCK] = "UPDATE c2d_messages SET state = 'invisible', lock_token = ?2, "
		       "lock_until_us = ?3 WHERE seq = ?1",
	[S_C2D_FIND_LOCK] = "SELECT " C2D_COLS " FROM c2d_messages WHERE device_id = ?1 AND "
			    "lock_token = ?2 AND state = 'invisible' AND lock_until_us > ?3",
	[S_C2D_FINISH] = "UPDATE c2d_messages SET state = ?2, outcome = ?3, finished_us = ?4, "
			 "lock_token = NULL WHERE seq = ?1",
	[S_C2D_REQUEUE] = "UPDATE c2d_messages SET state = 'enqueued', lock_token = NULL, "
			  "lock_until_us = NULL, delivery_count = delivery_count + ?2 WHERE seq = ?1",
	[S_C2D_RELEASE_AFTER] = "UPDATE c2d_messages SET state = 'enqueued', lock_token = NULL, "
				"lock_until_us = NULL WHERE state = 'invisible' AND lock_until_us > ?1",
	[S_CA_PUT] = "INSERT INTO x509_cas (name, pem, added_us) VALUES (?1, ?2, ?3) "
		     "ON CONFLICT (name) DO UPDATE SET pem = excluded.pem, added_us = excluded.added_us",
	[S_CA_DELETE] = "DELETE FROM x509_cas WHERE name = ?1",
	[S_CA_EACH] = "SELECT name, pem, added_us FROM x509_cas ORDER BY name",
	[S_FEEDBACK_INSERT] = "INSERT INTO c2d_feedback (device_id, original_message_id, "
			      "device_generation_id, enqueued_us, status_code, description, c2d_seq) "
			      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_FEEDBACK_QUERY] = "SELECT id, device_id, original_message_id, device_generation_id, "
			     "enqueued_us, status_code, description, c2d_seq FROM c2d_feedback "
			     "WHERE id > ?1 AND (?2 IS NULL OR device_id = ?2) AND enqueued_us >= ?3 "
			     "AND enqueued_us < ?4 ORDER BY id LIMIT ?5",
	[S_C2D_EXPIRING] = "SELECT seq, coalesce(message_id, ''), ack, delivery_count FROM "
			   "c2d_messages WHERE device_id = ?1 AND state IN ('enqueued', 'invisible') "
			   "AND expiry_us > 0 AND expiry_us <= ?2 ORDER BY seq",
};

struct sh_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT];
	int batch_depth;           /* store_batch_begin nesting; BEGIN at 0 -> 1, COMMIT at 1 -> 0 */
	int op_depth;              /* open savepoints */
	int op_owns_batch;         /* the outermost op opened the batch and commits it */
	char errmsg[256];
	sqlite3_stmt *sec_stmt[STORE_SEC_STMTS]; /* store_security.c's, prepared on first use */
};

static const char *const status_names[] = { "enabled", "disabled" };
static const char *const auth_names[] = { "sas", "selfSigned", "certificateAuthority", "none" };

/* ---- errors ------------------------------------------------------------------------------ */

static void set_err(struct sh_store *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_err(struct sh_store *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->errmsg, sizeof st->errmsg, fmt, ap);
	va_end(ap);
}

static void put_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void put_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Turn the SQLite result `rc` of the call named `what` into an sh_rc and a reason in errmsg.
 * Constraint failures become the result the header promises (a taken key is SH_E_EXISTS, a
 * missing parent SH_E_NOTFOUND, a CHECK SH_E_INVALID); everything else is SH_E_IO.
 */
static sh_rc db_fail(struct sh_store *st, int rc, const char *what)
{
	set_err(st, "%s: %s (%s)", what, sqlite3_errmsg(st->db), sqlite3_errstr(rc));
	switch (rc) {
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_UNIQUE:
		return SH_E_EXISTS;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return SH_E_NOTFOUND;
	case SQLITE_CONSTRAINT_CHECK:
	case SQLITE_CONSTRAINT_NOTNULL:
		return SH_E_INVALID;
	case SQLITE_TOOBIG:
		return SH_E_TOOLARGE;
	case SQLITE_NOMEM:
		return SH_E_NOMEM;
	default:
		return SH_E_IO;
	}
}

/* ---- statement helpers ------------------------------------------------------------------- */

/* Reset a statement and drop its bindings, so no borrowed pointer outlives the call. */
static void done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Step a statement that returns no rows to completion; reset it either way. */
static sh_rc run(struct sh_store *st, enum stmt_id id, const char *what)
{
	sqlite3_stmt *s = st->stmt[id];
	int rc = sqlite3_step(s);
	sh_rc out = SH_OK;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		out = db_fail(st, sqlite3_extended_errcode(st->db), what);
	done(s);
	return out;
}

/* Bind text, NULL as SQL NULL. SQLITE_STATIC is safe: done() clears bindings before return. */
static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Bind a char array field of a struct: never reads past its size, even if unterminated. */
static int bind_field(sqlite3_stmt *s, int i, const char *field, size_t cap)
{
	return sqlite3_bind_text(s, i, field, (int)strnlen(field, cap), SQLITE_STATIC);
}

#define BIND_FIELD(s, i, f) bind_field((s), (i), (f), sizeof(f))

static const char *nz(const char *s)
{
	return s != NULL ? s : "";
}

static int empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* A column as a fresh NUL-terminated heap string ("" for NULL); NULL when out of memory. */
static char *col_dup(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	size_t n = (size_t)sqlite3_column_bytes(s, col);
	char *out = malloc(n + 1);

	if (out == NULL)
		return NULL;
	if (t != NULL)
		memcpy(out, t, n);
	out[n] = '\0';
	return out;
}

/*
 * Copy a text column into a fixed struct field. A value that does not fit (a row edited by hand
 * in the shell) is refused rather than truncated, so a key is never silently shortened.
 */
static sh_rc col_copy(struct sh_store *st, sqlite3_stmt *s, int col, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	size_t n = (size_t)sqlite3_column_bytes(s, col);

	if (n >= cap) {
		set_err(st, "column %s holds %zu bytes, more than the %zu allowed",
			sqlite3_column_name(s, col), n, cap - 1);
		return SH_E_IO;
	}
	if (t != NULL)
		memcpy(dst, t, n);
	dst[n] = '\0';
	return SH_OK;
}

#define COL_COPY(st, s, c, f) col_copy((st), (s), (c), (f), sizeof(f))

/* Index of `text` in names[n], or -1. */
static int name_index(const unsigned char *text, const char *const *names, int n)
{
	if (text == NULL)
		return -1;
	for (int i = 0; i < n; i++)
		if (strcmp((const char *)text, names[i]) == 0)
			return i;
	return -1;
}

/*
 * Writes inside a batch whose transaction SQLite has rolled back (after SQLITE_FULL, an I/O error)
 * would otherwise run in autocommit mode, each one durable on its own: refuse them instead, so
 * the hub does not acknowledge messages of a batch that is going to report failure.
 */
static sh_rc write_guard(struct sh_store *st)
{
	if (st->batch_depth > 0 && sqlite3_get_autocommit(st->db)) {
		set_err(st, "the batch transaction was lost after an earlier error");
		return SH_E_IO;
	}
	return SH_OK;
}

/* ---- open, migrate, close ---------------------------------------------------------------- */

/* Check that the folder holding `path` exists, for a clearer message than SQLite's. */
static sh_rc check_folder(const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	struct stat sb;
	size_t n;

	if (slash == NULL)
		return SH_OK;  /* the current folder */
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof dir) {
		put_err(err, errlen, "%s: path too long", path);
		return SH_E_IO;
	}
	memcpy(dir, path, n);
	dir[n] = '\0';
	if (stat(dir, &sb) != 0) {
		put_err(err, errlen, "%s: folder %s: %s", path, dir,
			errno == ENOENT ? "does not exist" : strerror(errno));
		return SH_E_IO;
	}
	if (!S_ISDIR(sb.st_mode)) {
		put_err(err, errlen, "%s: %s is not a folder", path, dir);
		return SH_E_IO;
	}
	return SH_OK;
}

/*
 * An existing, non-empty file must start with SQLite's 16-byte magic. SQLite alone would take a
 * one-byte file for an empty database and write over it; checking first keeps every file that
 * is not a database untouched. A missing or empty file is fine: SQLite creates the database.
 */
static sh_rc check_magic(const char *path, char *err, size_t errlen)
{
	static const char magic[16] = "SQLite format 3";  /* with its NUL: 16 bytes */
	char head[16];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return SH_OK;  /* missing (created below) or unreadable (SQLite says why) */
	n = fread(head, 1, sizeof head, f);
	fclose(f);
	if (n == 0 || (n == sizeof head && memcmp(head, magic, sizeof magic) == 0))
		return SH_OK;
	put_err(err, errlen, "%s: not a SQLite database (it does not start with the SQLite header)",
		path);
	return SH_E_IO;
}

/* Run a one-value query (a pragma, a count) outside the prepared set; SQLite result code. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		*out = 0;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

/* Run a one-text-value query; copies at most cap-1 bytes into buf. */
static int query_text(sqlite3 *db, const char *sql, char *buf, size_t cap)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

	buf[0] = '\0';
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);

		snprintf(buf, cap, "%s", t != NULL ? (const char *)t : "");
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

/*
 * Read the file's identity before touching it: schema version, application id, and whether it
 * already has tables. Refuses (without writing anything) a file that is not SQLite, a SQLite
 * file of another application, and a file from a newer simhub. *version_out gets user_version.
 */
static sh_rc inspect(sqlite3 *db, const char *path, int64_t *version_out,
		     char *err, size_t errlen)
{
	int64_t version = 0, app_id = 0, objects = 0;
	int rc;

	rc = query_int(db, "PRAGMA user_version", &version);
	if (rc == SQLITE_OK)
		rc = query_int(db, "PRAGMA application_id", &app_id);
	if (rc == SQLITE_OK)
		rc = query_int(db, "SELECT count(*) FROM sqlite_schema", &objects);
	if ((rc & 0xff) == SQLITE_NOTADB) {
		put_err(err, errlen, "%s: not a SQLite database (%s)", path, sqlite3_errmsg(db));
		return SH_E_IO;
	}
	if (rc != SQLITE_OK) {
		put_err(err, errlen, "%s: cannot read: %s", path, sqlite3_errmsg(db));
		return SH_E_IO;
	}
	if (app_id != 0 && app_id != STORE_APPLICATION_ID) {
		put_err(err, errlen, "%s: a SQLite database of another application "
			"(application_id 0x%08llx), not a simhub one", path, (unsigned long long)app_id);
		return SH_E_IO;
	}
	if (version == 0 && objects > 0) {
		put_err(err, errlen, "%s: a SQLite database that simhub did not create "
			"(it has tables but no schema version)", path);
		return SH_E_IO;
	}
	if (version < 0 || version > store_schema_version()) {
		put_err(err, errlen, "%s: schema version %lld, this simhub supports up to %d: "
			"the file was written by a newer simhub", path, (long long)version,
			store_schema_version());
		return version < 0 ? SH_E_IO : SH_E_VERSION;
	}
	*version_out = version;
	return SH_OK;
}

/*
 * Bring the file from `from` to store_schema_version(), one migration per transaction. Each
 * transaction re-reads user_version after taking the write lock, so two processes opening an
 * old file at once do not apply a migration twice. A failed migration is rolled back whole.
 */
static sh_rc migrate(sqlite3 *db, const char *path, int64_t from, char *err, size_t errlen)
{
	for (int v = (int)from + 1; v <= store_schema_version(); v++) {
		char sql[64];
		int64_t now = 0;
		int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

		if (rc == SQLITE_OK)
			rc = query_int(db, "PRAGMA user_version", &now);
		if (rc == SQLITE_OK && now < v) {
			snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
			const char *const *step = store_migration_sql(v);

			for (; rc == SQLITE_OK && *step != NULL; step++)
				rc = sqlite3_exec(db, *step, NULL, NULL, NULL);
			if (rc == SQLITE_OK)
				rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		}
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			put_err(err, errlen, "%s: migration to schema version %d failed: %s",
				path, v, sqlite3_errmsg(db));
			if (!sqlite3_get_autocommit(db))
				sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return SH_E_IO;
		}
	}
	return SH_OK;
}

/* Connection settings that do not depend on the schema: WAL, foreign keys, sync, limits. */
static sh_rc configure(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	char mode[32];
	int64_t fk = 0;
	int rc;
	char sql[64];

	rc = query_text(db, "PRAGMA journal_mode = WAL", mode, sizeof mode);
	if (rc == SQLITE_OK && strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0) {
		put_err(err, errlen, "%s: cannot switch to WAL (journal mode stays %s)", path, mode);
		return SH_E_IO;
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = query_int(db, "PRAGMA foreign_keys", &fk);
	if (rc == SQLITE_OK && fk != 1) {
		put_err(err, errlen, "%s: this SQLite cannot enforce foreign keys", path);
		return SH_E_IO;
	}
	snprintf(sql, sizeof sql, "PRAGMA synchronous = %d", (int)STORE_DEFAULT_SYNC);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	snprintf(sql, sizeof sql, "PRAGMA journal_size_limit = %d", STORE_WAL_LIMIT_BYTES);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	snprintf(sql, sizeof sql, "PRAGMA wal_autocheckpoint = %d", STORE_WAL_CHECKPOINT_PAGES);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		put_err(err, errlen, "%s: cannot configure: %s", path, sqlite3_errmsg(db));
		return SH_E_IO;
	}
	return SH_OK;
}

/*
 * PRAGMA temp_store = MEMORY, set after the migrations. What it moves into memory here is the
 * savepoint sub-journal: inside a held batch, every page a hub operation (SAVEPOINT op) changes
 * that the batch had already changed is copied there first, so ROLLBACK TO can undo just that
 * operation. SQLite spills that journal to a temporary file past 64 KiB, and a security message
 * (its d2c row, ten event rows and their three indexes, the agent row) passes that: the spill
 * cost 45 µs of system time per message (bench/README.md, secmsg_bench). In memory it is
 * bounded by the pages one operation touches (one message, at most SECMSG_MAX_BODY of body and
 * SECMSG_MAX_EVENTS rows) and freed at its RELEASE. The store's other temporary structures are
 * small (GROUP BY over a handful of names), and the migrations, which copy whole tables, ran
 * before this with the default.
 */
static sh_rc temp_in_memory(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	if (sqlite3_exec(db, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL) != SQLITE_OK) {
		put_err(err, errlen, "%s: cannot configure: %s", path, sqlite3_errmsg(db));
		return SH_E_IO;
	}
	return SH_OK;
}

static void close_all(struct sh_store *st)
{
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	for (int i = 0; i < STORE_SEC_STMTS; i++)
		sqlite3_finalize(st->sec_stmt[i]);
	sqlite3_close_v2(st->db);
	free(st);
}

sh_rc store_open(const char *path, struct sh_store **out, char *err, size_t errlen)
{
	struct sh_store *st;
	int64_t version = 0;
	sh_rc rc;
	int src;

	put_err(err, errlen, "%s", "");
	if (out == NULL || empty(path)) {
		put_err(err, errlen, "store_open: no database path");
		return SH_E_INVALID;
	}
	*out = NULL;
	if (strcmp(path, ":memory:") != 0) {
		rc = check_folder(path, err, errlen);
		if (rc == SH_OK)
			rc = check_magic(path, err, errlen);
		if (rc != SH_OK)
			return rc;
	}
	st = calloc(1, sizeof *st);
	if (st == NULL) {
		put_err(err, errlen, "%s: out of memory", path);
		return SH_E_NOMEM;
	}
	/* NOMUTEX: the connection belongs to one thread (the loop); no lock per call. */
	src = sqlite3_open_v2(path, &st->db,
			      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (src != SQLITE_OK) {
		put_err(err, errlen, "%s: cannot open: %s", path,
			st->db != NULL ? sqlite3_errmsg(st->db) : sqlite3_errstr(src));
		close_all(st);
		return src == SQLITE_NOMEM ? SH_E_NOMEM : SH_E_IO;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);

	rc = inspect(st->db, path, &version, err, errlen);
	if (rc == SH_OK)
		rc = configure(st->db, path, err, errlen);
	if (rc == SH_OK)
		rc = migrate(st->db, path, version, err, errlen);
	if (rc == SH_OK)
		rc = temp_in_memory(st->db, path, err, errlen);
	for (int i = 0; rc == SH_OK && i < S_COUNT; i++) {
		src = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					 &st->stmt[i], NULL);
		if (src != SQLITE_OK) {
			put_err(err, errlen, "%s: cannot prepare statement %d: %s", path, i,
				sqlite3_errmsg(st->db));
			rc = SH_E_IO;
		}
	}
	if (rc != SH_OK) {
		close_all(st);
		return rc;
	}
	*out = st;
	return SH_OK;
}

void store_close(struct sh_store *st)
{
	if (st == NULL)
		return;
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	close_all(st);
}

const char *store_errmsg(const struct sh_store *st)
{
	return st->errmsg;
}

sh_rc store_set_sync(struct sh_store *st, enum sh_store_sync mode)
{
	char sql[64];
	int rc;

	if (mode != SH_STORE_SYNC_NORMAL && mode != SH_STORE_SYNC_FULL) {
		set_err(st, "store_set_sync: unknown mode %d", (int)mode);
		return SH_E_INVALID;
	}
	if (st->batch_depth > 0) {
		set_err(st, "store_set_sync: not inside a batch");
		return SH_E_STATE;
	}
	snprintf(sql, sizeof sql, "PRAGMA synchronous = %d", (int)mode);
	rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(st, rc, "store_set_sync");
	return SH_OK;
}

/*
 * integrity_check answers one row "ok" when clean, otherwise one row per problem;
 * foreign_key_check answers no rows when clean. Both are read to the end.
 */
sh_rc store_check_integrity(struct sh_store *st)
{
	sqlite3_stmt *s = NULL;
	int rc, rows = 0;
	sh_rc out = SH_OK;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA integrity_check", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_fail(st, rc, "integrity_check");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);

		if (rows++ == 0 && (t == NULL || strcmp((const char *)t, "ok") != 0)) {
			set_err(st, "integrity_check: %s", t != NULL ? (const char *)t : "(null)");
			out = SH_E_IO;
		}
	}
	if (rc != SQLITE_DONE && out == SH_OK)
		out = db_fail(st, sqlite3_extended_errcode(st->db), "integrity_check");
	sqlite3_finalize(s);
	if (out != SH_OK)
		return out;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA foreign_key_check", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_fail(st, rc, "foreign_key_check");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		set_err(st, "foreign_key_check: row %lld of %s has no parent in %s",
			(long long)sqlite3_column_int64(s, 1), sqlite3_column_text(s, 0),
			sqlite3_column_text(s, 2));
		out = SH_E_IO;
	} else if (rc != SQLITE_DONE) {
		out = db_fail(st, sqlite3_extended_errcode(st->db), "foreign_key_check");
	}
	sqlite3_finalize(s);
	return out;
}

/* ---- transactions ------------------------------------------------------------------------ */

sh_rc store_batch_begin(struct sh_store *st)
{
	if (st->batch_depth == INT_MAX) {
		set_err(st, "store_batch_begin: nested too deep");
		return SH_E_STATE;
	}
	if (st->batch_depth == 0) {
		sh_rc rc = run(st, S_BEGIN, "BEGIN");

		if (rc != SH_OK)
			return rc;
	}
	st->batch_depth++;
	return SH_OK;
}

/* Abandon the whole batch: roll back whatever transaction is open and forget the depths. */
static void rollback_batch(struct sh_store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_step(st->stmt[S_ROLLBACK]);
	done(st->stmt[S_ROLLBACK]);
	st->batch_depth = 0;
	st->op_depth = 0;
	st->op_owns_batch = 0;
}

/*
 * The commit at depth 0. If SQLite already rolled the transaction back after an error, or the
 * COMMIT fails, the batch is gone: make sure no transaction stays open and report SH_E_IO.
 */
static sh_rc commit_now(struct sh_store *st)
{
	sh_rc rc;

	if (sqlite3_get_autocommit(st->db)) {
		set_err(st, "batch lost: SQLite rolled the transaction back after an earlier error");
		return SH_E_IO;
	}
	rc = run(st, S_COMMIT, "COMMIT");
	if (rc != SH_OK) {
		rollback_batch(st);
		return SH_E_IO;
	}
	return SH_OK;
}

sh_rc store_batch_commit(struct sh_store *st)
{
	if (st->batch_depth == 0) {
		set_err(st, "store_batch_commit without store_batch_begin");
		return SH_E_STATE;
	}
	if (st->batch_depth == 1 && st->op_depth > 0) {
		set_err(st, "store_batch_commit while an operation is open");
		return SH_E_STATE;
	}
	if (--st->batch_depth > 0)
		return SH_OK;
	return commit_now(st);
}

int store_batch_depth(const struct sh_store *st)
{
	return st->batch_depth;
}

sh_rc store_op_begin(struct sh_store *st)
{
	int owns = 0;
	sh_rc rc;

	if (st->op_depth == INT_MAX) {
		set_err(st, "store_op_begin: nested too deep");
		return SH_E_STATE;
	}
	if (st->batch_depth == 0) {
		rc = store_batch_begin(st);
		if (rc != SH_OK)
			return rc;
		owns = 1;
	}
	rc = write_guard(st);
	if (rc == SH_OK)
		rc = run(st, S_SAVEPOINT, "SAVEPOINT");
	if (rc != SH_OK) {
		if (owns)
			rollback_batch(st);
		return rc;
	}
	if (owns)
		st->op_owns_batch = 1;
	st->op_depth++;
	return SH_OK;
}

sh_rc store_op_end(struct sh_store *st, int keep)
{
	sh_rc rc;

	if (st->op_depth == 0) {
		set_err(st, "store_op_end without store_op_begin");
		return SH_E_STATE;
	}
	st->op_depth--;
	rc = write_guard(st);
	if (rc == SH_OK && !keep)
		rc = run(st, S_ROLLBACK_TO, "ROLLBACK TO");
	if (rc == SH_OK)
		rc = run(st, S_RELEASE, "RELEASE");
	if (st->op_depth == 0 && st->op_owns_batch) {
		sh_rc crc;

		st->op_owns_batch = 0;
		if (rc != SH_OK) {
			/* Do not commit half an operation: drop the batch it opened. */
			rollback_batch(st);
			return rc;
		}
		crc = store_batch_commit(st);
		if (crc != SH_OK)
			return crc;
	}
	return rc;
}

/* ---- settings ---------------------------------------------------------------------------- */

sh_rc store_setting_get(struct sh_store *st, const char *key, char **value_out)
{
	sqlite3_stmt *s = st->stmt[S_SETTING_GET];
	sh_rc out = SH_OK;
	int rc;

	*value_out = NULL;
	if (empty(key)) {
		set_err(st, "store_setting_get: empty key");
		return SH_E_INVALID;
	}
	bind_text(s, 1, key);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*value_out = col_dup(s, 0);
		if (*value_out == NULL) {
			set_err(st, "store_setting_get: out of memory");
			out = SH_E_NOMEM;
		}
	} else if (rc == SQLITE_DONE) {
		set_err(st, "setting %s not found", key);
		out = SH_E_NOTFOUND;
	} else {
		out = db_fail(st, sqlite3_extended_errcode(st->db), "store_setting_get");
	}
	done(s);
	return out;
}

sh_rc store_setting_set(struct sh_store *st, const char *key, const char *value)
{
	sqlite3_stmt *s = st->stmt[S_SETTING_SET];
	sh_rc rc = write_guard(st);

	if (rc != SH_OK)
		return rc;
	if (empty(key) || value == NULL) {
		set_err(st, "store_setting_set: empty key or NULL value");
		return SH_E_INVALID;
	}
	bind_text(s, 1, key);
	bind_text(s, 2, value);
	return run(st, S_SETTING_SET, "store_setting_set");
}

/* ---- policies ---------------------------------------------------------------------------- */

static sh_rc read_policy(struct sh_store *st, sqlite3_stmt *s, struct sh_policy *p)
{
	sh_rc rc;

	memset(p, 0, sizeof *p);
	rc = COL_COPY(st, s, 0, p->name);
	if (rc == SH_OK)
		rc = COL_COPY(st, s, 1, p->primary_key);
	if (rc == SH_OK)
		rc = COL_COPY(st, s, 2, p->secondary_key);
	p->rights = (unsigned)sqlite3_column_int64(s, 3);
	return rc;
}

sh_rc store_policy_get(struct sh_store *st, const char *name, struct sh_policy *out)
{
	sqlite3_stmt *s = st->stmt[S_POLICY_GET];
	sh_rc ret;
	int rc;

	if (empty(name)) {
		set_err(st, "store_policy_get: empty name");
		return SH_E_INVALID;
	}
	bind_text(s, 1, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		ret = read_policy(st, s, out);
	} else if (rc == SQLITE_DONE) {
		set_err(st, "policy %s not found", name);
		ret = SH_E_NOTFOUND;
	} else {
		ret = db_fail(st, sqlite3_extended_errcode(st->db), "store_policy_get");
	}
	done(s);
	return ret;
}

sh_rc store_policy_put(struct sh_store *st, const struct sh_policy *p)
{
	const unsigned all = SH_RIGHT_REGISTRY_READ | SH_RIGHT_REGISTRY_WRITE |
			     SH_RIGHT_SERVICE_CONNECT | SH_RIGHT_DEVICE_CONNECT;
	sqlite3_stmt *s = st->stmt[S_POLICY_PUT];
	sh_rc rc = write_guard(st);

	if (rc != SH_OK)
		return rc;
	if (p->name[0] == '\0' || (p->rights & ~all) != 0) {
		set_err(st, "store_policy_put: empty name or unknown rights 0x%x", p->rights);
		return SH_E_INVALID;
	}
	BIND_FIELD(s, 1, p->name);
	BIND_FIELD(s, 2, p->primary_key);
	BIND_FIELD(s, 3, p->secondary_key);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)p->rights);
	return run(st, S_POLICY_PUT, "store_policy_put");
}

/*
 * The shared walk of the _each functions: refuse re-entry on a statement already stepping,
 * hand each row to `row_fn` (which converts and calls the user callback), stop at the first
 * non-SH_OK result.
 */
static sh_rc walk(struct sh_store *st, sqlite3_stmt *s, const char *what,
		  sh_rc (*row_fn)(struct sh_store *st, sqlite3_stmt *s, void *ctx), void *ctx)
{
	sh_rc out = SH_OK;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		out = row_fn(st, s, ctx);
		if (out != SH_OK)
			break;
	}
	if (out == SH_OK && rc != SQLITE_DONE)
		out = db_fail(st, sqlite3_extended_errcode(st->db), what);
	done(s);
	return out;
}

/* Refuse to restart a statement whose walk is still running (a callback re-entering). */
static sh_rc not_busy(struct sh_store *st, sqlite3_stmt *s, const char *what)
{
	if (sqlite3_stmt_busy(s)) {
		set_err(st, "%s: called again from its own callback", what);
		return SH_E_STATE;
	}
	return SH_OK;
}

struct policy_walk {
	sh_rc (*fn)(void *arg, const struct sh_policy *p);
	void *arg;
};

static sh_rc policy_row(struct sh_store *st, sqlite3_stmt *s, void *ctx)
{
	struct policy_walk *w = ctx;
	struct sh_policy p;
	sh_rc rc = read_policy(st, s, &p);

	return rc != SH_OK ? rc : w->fn(w->arg, &p);
}

sh_rc store_policy_each(struct sh_store *st,
			sh_rc (*fn)(void *arg, const struct sh_policy *p), void *arg)
{
	struct policy_walk w = { fn, arg };
	sqlite3_stmt *s = st->stmt[S_POLICY_EACH];
	sh_rc rc = not_busy(st, s, "store_policy_each");

	if (rc != SH_OK)
		return rc;
	return walk(st, s, "store_policy_each", policy_row, &w);
}

/* ---- identities -------------------------------------------------------------------------- */

static int is_module(const char *module_id)
{
	return !empty(module_id);
}

/* Check what the schema cannot say clearly: ids present, enums in range. */
static sh_rc check_identity(struct sh_store *st, const struct sh_identity *id)
{
	if (id->device_id[0] == '\0') {
		set_err(st, "identity without a device id");
		return SH_E_INVALID;
	}
	if ((unsigned)id->status > SH_STATUS_DISABLED || (unsigned)id->auth_type > SH_AUTH_NONE) {
		set_err(st, "identity %s: status %d or auth type %d out of range", id->device_id,
			(int)id->status, (int)id->auth_type);
		return SH_E_INVALID;
	}
	return SH_OK;
}

/* Bind ?1..?18 of an identity statement (see enum stmt_id). */
static void bind_identity(sqlite3_stmt *s, const struct sh_identity *id, int module)
{
	BIND_FIELD(s, 1, id->device_id);
	BIND_FIELD(s, 2, id->module_id);
	BIND_FIELD(s, 3, id->generation_id);
	sqlite3_bind_int64(s, 4, id->etag_counter);
	bind_text(s, 5, status_names[id->status]);
	BIND_FIELD(s, 6, id->status_reason);
	sqlite3_bind_int64(s, 7, id->status_updated_us);
	bind_text(s, 8, auth_names[id->auth_type]);
	BIND_FIELD(s, 9, id->primary_key);
	BIND_FIELD(s, 10, id->secondary_key);
	BIND_FIELD(s, 11, id->primary_thumbprint);
	BIND_FIELD(s, 12, id->secondary_thumbprint);
	sqlite3_bind_int(s, 13, id->connected ? 1 : 0);
	sqlite3_bind_int64(s, 14, id->connection_state_updated_us);
	sqlite3_bind_int64(s, 15, id->last_activity_us);
	sqlite3_bind_int64(s, 16, id->c2d_count);
	sqlite3_bind_int64(s, 17, id->created_us);
	if (module)
		BIND_FIELD(s, 18, id->managed_by);
	else
		sqlite3_bind_int(s, 18, id->iot_edge ? 1 : 0);
}

/* Read the 19 result columns of an identity SELECT (see enum stmt_id) into *id. */
static sh_rc read_identity(struct sh_store *st, sqlite3_stmt *s, struct sh_identity *id)
{
	int status, auth;
	sh_rc rc;

	memset(id, 0, sizeof *id);
	rc = COL_COPY(st, s, 0, id->device_id);
	if (rc == SH_OK)
		rc = COL_COPY(st, s, 1, id->module_id);
	if (rc == SH_OK)
		rc = COL_COPY(st, s, 2, id->generation_id);
	id->etag_counter = sqlite3_column_int64(s, 3);
	status = name_index(sqlite3_column_text(s, 4), status_names, 2);
	if (rc == SH_OK)
		rc = COL_COPY(st, s, 5, id->status_reason);
	id->status_updated_us = sqlite3_column_int64(s, 6);
	auth = name_index(sqlite3_column_text(s, 7), auth_names, 4);
	if (rc == SH_OK)
		rc = COL_COPY(st, s, 8, id->primary_key);
	if (rc == SH_OK)
		rc = COL_COPY(st, s, 9, id->secondary_key);
	if (rc == SH_OK)
		rc = COL_COPY(st, s, 10, id->primary_thumbprint);
	if (rc == SH_OK)
		rc = COL_COPY(st, s, 11, id->secondary_thumbprint);
	id->connected = sqlite3_column_int(s, 12) != 0;
	id->connection_state_updated_us = sqlite3_column_int64(s, 13);
	id->last_activity_us = sqlite3_column_int64(s, 14);
	id->c2d_count = sqlite3_column_int64(s, 15);
	id->created_us = sqlite3_column_int64(s, 16);
	id->iot_edge = sqlite3_column_int(s, 17) != 0;
	if (rc == SH_OK)
		rc = COL_COPY(st, s, 18, id->managed_by);
	if (rc != SH_OK)
		return rc;
	if (status < 0 || auth < 0) {
		set_err(st, "identity %s: unknown status or auth type in the row", id->device_id);
		return SH_E_IO;
	}
	id->status = (enum sh_status)status;
	id->auth_type = (enum sh_auth)auth;
	return SH_OK;
}

sh_rc store_identity_get(struct sh_store *st, const char *device_id, const char *module_id,
			 struct sh_identity *out)
{
	sqlite3_stmt *s = st->stmt[is_module(module_id) ? S_MODULE_GET : S_DEVICE_GET];
	sh_rc ret;
	int rc;

	if (empty(device_id)) {
		set_err(st, "store_identity_get: empty device id");
		return SH_E_INVALID;
	}
	bind_text(s, 1, device_id);
	if (is_module(module_id))
		bind_text(s, 2, module_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		ret = read_identity(st, s, out);
	} else if (rc == SQLITE_DONE) {
		set_err(st, "identity %s/%s not found", device_id, nz(module_id));
		ret = SH_E_NOTFOUND;
	} else {
		ret = db_fail(st, sqlite3_extended_errcode(st->db), "store_identity_get");
	}
	done(s);
	return ret;
}

sh_rc store_identity_insert(struct sh_store *st, const struct sh_identity *id)
{
	int module = is_module(id->module_id);
	enum stmt_id sid = module ? S_MODULE_INSERT : S_DEVICE_INSERT;
	sh_rc rc = write_guard(st);

	if (rc == SH_OK)
		rc = check_identity(st, id);
	if (rc != SH_OK)
		return rc;
	bind_identity(st->stmt[sid], id, module);
	rc = run(st, sid, "store_identity_insert");
	if (rc == SH_E_NOTFOUND)
		set_err(st, "module %s: device %s not found", id->module_id, id->device_id);
	return rc;
}

sh_rc store_identity_update(struct sh_store *st, const struct sh_identity *id)
{
	int module = is_module(id->module_id);
	enum stmt_id sid = module ? S_MODULE_UPDATE : S_DEVICE_UPDATE;
	sh_rc rc = write_guard(st);

	if (rc == SH_OK)
		rc = check_identity(st, id);
	if (rc != SH_OK)
		return rc;
	bind_identity(st->stmt[sid], id, module);
	rc = run(st, sid, "store_identity_update");
	if (rc == SH_OK && sqlite3_changes(st->db) == 0) {
		set_err(st, "identity %s/%s not found", id->device_id, id->module_id);
		rc = SH_E_NOTFOUND;
	}
	return rc;
}

sh_rc store_identity_delete(struct sh_store *st, const char *device_id, const char *module_id)
{
	int module = is_module(module_id);
	enum stmt_id sid = module ? S_MODULE_DELETE : S_DEVICE_DELETE;
	sh_rc rc = write_guard(st);

	if (rc != SH_OK)
		return rc;
	if (empty(device_id)) {
		set_err(st, "store_identity_delete: empty device id");
		return SH_E_INVALID;
	}
	bind_text(st->stmt[sid], 1, device_id);
	if (module)
		bind_text(st->stmt[sid], 2, module_id);
	rc = run(st, sid, "store_identity_delete");
	if (rc == SH_OK && sqlite3_changes(st->db) == 0) {
		set_err(st, "identity %s/%s not found", device_id, nz(module_id));
		rc = SH_E_NOTFOUND;
	}
	return rc;
}

struct identity_walk {
	sh_rc (*fn)(void *arg, const struct sh_identity *id);
	void *arg;
};

static sh_rc identity_row(struct sh_store *st, sqlite3_stmt *s, void *ctx)
{
	struct identity_walk *w = ctx;
	struct sh_identity id;
	sh_rc rc = read_identity(st, s, &id);

	return rc != SH_OK ? rc : w->fn(w->arg, &id);
}

sh_rc store_identity_each(struct sh_store *st, const char *device_id,
			  sh_rc (*fn)(void *arg, const struct sh_identity *id), void *arg)
{
	struct identity_walk w = { fn, arg };
	sqlite3_stmt *s = st->stmt[device_id != NULL ? S_MODULE_EACH : S_DEVICE_EACH];
	sh_rc rc = not_busy(st, s, "store_identity_each");

	if (rc != SH_OK)
		return rc;
	if (device_id != NULL)
		bind_text(s, 1, device_id);
	return walk(st, s, "store_identity_each", identity_row, &w);
}

sh_rc store_identity_count(struct sh_store *st, int64_t *total, int64_t *enabled)
{
	sqlite3_stmt *s = st->stmt[S_DEVICE_COUNT];
	sh_rc out = SH_OK;

	if (sqlite3_step(s) == SQLITE_ROW) {
		if (total != NULL)
			*total = sqlite3_column_int64(s, 0);
		if (enabled != NULL)
			*enabled = sqlite3_column_int64(s, 1);
	} else {
		out = db_fail(st, sqlite3_extended_errcode(st->db), "store_identity_count");
	}
	done(s);
	return out;
}

/* ---- twins ------------------------------------------------------------------------------- */

sh_rc store_twin_get(struct sh_store *st, const char *device_id, const char *module_id,
		     char **json_out)
{
	sqlite3_stmt *s = st->stmt[S_TWIN_GET];
	sh_rc out = SH_OK;
	int rc;

	*json_out = NULL;
	if (empty(device_id)) {
		set_err(st, "store_twin_get: empty device id");
		return SH_E_INVALID;
	}
	bind_text(s, 1, device_id);
	bind_text(s, 2, nz(module_id));
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*json_out = col_dup(s, 0);
		if (*json_out == NULL) {
			set_err(st, "store_twin_get: out of memory");
			out = SH_E_NOMEM;
		}
	} else if (rc == SQLITE_DONE) {
		set_err(st, "twin of %s/%s not found", device_id, nz(module_id));
		out = SH_E_NOTFOUND;
	} else {
		out = db_fail(st, sqlite3_extended_errcode(st->db), "store_twin_get");
	}
	done(s);
	return out;
}

sh_rc store_twin_put(struct sh_store *st, const char *device_id, const char *module_id,
		     const char *json, int64_t version)
{
	sqlite3_stmt *s = st->stmt[S_TWIN_PUT];
	sh_rc rc = write_guard(st);

	if (rc != SH_OK)
		return rc;
	if (empty(device_id) || json == NULL) {
		set_err(st, "store_twin_put: empty device id or NULL document");
		return SH_E_INVALID;
	}
	bind_text(s, 1, device_id);
	bind_text(s, 2, nz(module_id));
	sqlite3_bind_int64(s, 3, version);
	bind_text(s, 4, json);
	rc = run(st, S_TWIN_PUT, "store_twin_put");
	if (rc == SH_OK && sqlite3_changes(st->db) == 0) {
		set_err(st, "twin of %s/%s: identity not found", device_id, nz(module_id));
		rc = SH_E_NOTFOUND;
	}
	return rc;
}

/* ---- device-to-cloud messages ---------------------------------------------------------------- */

sh_rc store_d2c_append(struct sh_store *st, const struct sh_d2c_row *row, int64_t *seq_out)
{
	sqlite3_stmt *s = st->stmt[S_D2C_APPEND];
	sh_rc rc = write_guard(st);

	if (rc != SH_OK)
		return rc;
	if (empty(row->device_id) || (row->body == NULL && row->body_len > 0)) {
		set_err(st, "store_d2c_append: empty device id or missing body");
		return SH_E_INVALID;
	}
	bind_text(s, 1, row->device_id);
	bind_text(s, 2, nz(row->module_id));
	sqlite3_bind_int64(s, 3, row->enqueued_us);
	bind_text(s, 4, row->message_id);
	bind_text(s, 5, row->content_type);
	bind_text(s, 6, row->content_encoding);
	bind_text(s, 7, row->interface_id);
	bind_text(s, 8, row->sys_props_json != NULL ? row->sys_props_json : "{}");
	bind_text(s, 9, row->app_props_json != NULL ? row->app_props_json : "{}");
	if (sqlite3_bind_blob64(s, 10, row->body != NULL ? row->body : "",
				(sqlite3_uint64)row->body_len, SQLITE_STATIC) == SQLITE_TOOBIG) {
		done(s);
		set_err(st, "store_d2c_append: body of %zu bytes is too large", row->body_len);
		return SH_E_TOOLARGE;
	}
	rc = run(st, S_D2C_APPEND, "store_d2c_append");
	if (rc == SH_OK && seq_out != NULL)
		*seq_out = sqlite3_last_insert_rowid(st->db);
	return rc;
}

sh_rc store_d2c_count(struct sh_store *st, const char *device_id, int64_t *count_out)
{
	sqlite3_stmt *s = st->stmt[device_id != NULL ? S_D2C_COUNT_DEVICE : S_D2C_COUNT_ALL];
	sh_rc out = SH_OK;

	if (device_id != NULL)
		bind_text(s, 1, device_id);
	if (sqlite3_step(s) == SQLITE_ROW)
		*count_out = sqlite3_column_int64(s, 0);
	else
		out = db_fail(st, sqlite3_extended_errcode(st->db), "store_d2c_count");
	done(s);
	return out;
}

struct d2c_walk {
	sh_rc (*fn)(void *arg, int64_t seq, const struct sh_d2c_row *row);
	void *arg;
};

static const char *col_text_or_null(sqlite3_stmt *s, int col)
{
	return (const char *)sqlite3_column_text(s, col);
}

static sh_rc d2c_row(struct sh_store *st, sqlite3_stmt *s, void *ctx)
{
	struct d2c_walk *w = ctx;
	struct sh_d2c_row row;

	(void)st;
	row.device_id = nz(col_text_or_null(s, 1));
	row.module_id = nz(col_text_or_null(s, 2));
	row.enqueued_us = sqlite3_column_int64(s, 3);
	row.message_id = col_text_or_null(s, 4);
	row.content_type = col_text_or_null(s, 5);
	row.content_encoding = col_text_or_null(s, 6);
	row.interface_id = col_text_or_null(s, 7);
	row.sys_props_json = nz(col_text_or_null(s, 8));
	row.app_props_json = nz(col_text_or_null(s, 9));
	row.body = sqlite3_column_blob(s, 10);
	row.body_len = (size_t)sqlite3_column_bytes(s, 10);
	return w->fn(w->arg, sqlite3_column_int64(s, 0), &row);
}

sh_rc store_d2c_each(struct sh_store *st, const char *device_id, int64_t after_seq,
		     sh_rc (*fn)(void *arg, int64_t seq, const struct sh_d2c_row *row), void *arg)
{
	struct d2c_walk w = { fn, arg };
	sqlite3_stmt *s = st->stmt[device_id != NULL ? S_D2C_EACH_DEVICE : S_D2C_EACH_ALL];
	sh_rc rc = not_busy(st, s, "store_d2c_each");

	if (rc != SH_OK)
		return rc;
	sqlite3_bind_int64(s, 1, after_seq);
	if (device_id != NULL)
		bind_text(s, 2, device_id);
	return walk(st, s, "store_d2c_each", d2c_row, &w);
}

sh_rc store_d2c_query(struct sh_store *st, const struct sh_d2c_query *q,
		      sh_rc (*fn)(void *arg, int64_t seq, const struct sh_d2c_row *row), void *arg)
{
	struct d2c_walk w = { fn, arg };
	sqlite3_stmt *s = st->stmt[S_D2C_QUERY];
	sh_rc rc = not_busy(st, s, "store_d2c_query");

	if (rc != SH_OK)
		return rc;
	if (q->prop_name != NULL && q->prop_value == NULL) {
		set_err(st, "store_d2c_query: a property name without a value");
		return SH_E_INVALID;
	}
	sqlite3_bind_int64(s, 1, q->after_seq);
	bind_text(s, 2, q->device_id);
	bind_text(s, 3, q->module_id);
	sqlite3_bind_int64(s, 4, q->from_us);
	sqlite3_bind_int64(s, 5, q->to_us);
	bind_text(s, 6, q->prop_name);
	bind_text(s, 7, q->prop_value);
	sqlite3_bind_int64(s, 8, q->limit > 0 ? q->limit : -1);
	sqlite3_bind_int(s, 9, q->include_security ? 1 : 0);
	return walk(st, s, "store_d2c_query", d2c_row, &w);
}

/* ---- connection events ------------------------------------------------------------------- */

struct conn_event_walk {
	sh_rc (*fn)(void *arg, const struct sh_conn_event_row *row);
	void *arg;
};

static sh_rc conn_event_row(struct sh_store *st, sqlite3_stmt *s, void *ctx)
{
	struct conn_event_walk *w = ctx;
	struct sh_conn_event_row row;

	(void)st;
	row.id = sqlite3_column_int64(s, 0);
	row.device_id = nz(col_text_or_null(s, 1));
	row.module_id = nz(col_text_or_null(s, 2));
	row.at_us = sqlite3_column_int64(s, 3);
	row.event = nz(col_text_or_null(s, 4));
	row.reason = col_text_or_null(s, 5);
	return w->fn(w->arg, &row);
}

sh_rc store_connection_event_query(struct sh_store *st, const struct sh_conn_event_query *q,
				   sh_rc (*fn)(void *arg, const struct sh_conn_event_row *row),
				   void *arg)
{
	struct conn_event_walk w = { fn, arg };
	sqlite3_stmt *s = st->stmt[S_CONN_EVENT_QUERY];
	sh_rc rc = not_busy(st, s, "store_connection_event_query");

	if (rc != SH_OK)
		return rc;
	sqlite3_bind_int64(s, 1, q->after_id);
	bind_text(s, 2, q->device_id);
	bind_text(s, 3, q->module_id);
	sqlite3_bind_int64(s, 4, q->from_us);
	sqlite3_bind_int64(s, 5, q->to_us);
	sqlite3_bind_int64(s, 6, q->limit > 0 ? q->limit : -1);
	return walk(st, s, "store_connection_event_query", conn_event_row, &w);
}

const char *store_sqlite_version(void)
{
	return sqlite3_libversion();
}


sh_rc store_connection_event(struct sh_store *st, const char *device_id, const char *module_id,
			     int64_t at_us, const char *event, const char *reason)
{
	sqlite3_stmt *s = st->stmt[S_CONNECTION_EVENT];
	sh_rc rc = write_guard(st);

	if (rc != SH_OK)
		return rc;
	if (empty(device_id) || empty(event)) {
		set_err(st, "store_connection_event: empty device id or event");
		return SH_E_INVALID;
	}
	bind_text(s, 1, device_id);
	bind_text(s, 2, nz(module_id));
	sqlite3_bind_int64(s, 3, at_us);
	bind_text(s, 4, event);
	bind_text(s, 5, reason);
	return run(st, S_CONNECTION_EVENT, "store_connection_event");
}

/* ---- method calls ------------------------------------------------------------------------ */

static const char *const method_state_names[] = {
	"pending", "completed", "timeout", "offline", "failed",
};

const char *store_method_state_str(enum sh_method_state state)
{
	if ((unsigned)state >= sizeof method_state_names / sizeof method_state_names[0])
		return "failed";
	return method_state_names[state];
}

sh_rc store_method_call_begin(struct sh_store *st, const char *device_id, const char *module_id,
			      const char *method_name, const char *payload_json, int64_t invoked_us,
			      int64_t timeout_us, int64_t connect_timeout_us, int64_t *id_out)
{
	sqlite3_stmt *s = st->stmt[S_METHOD_BEGIN];
	sh_rc rc = write_guard(st);

	if (rc != SH_OK)
		return rc;
	if (empty(device_id) || empty(method_name)) {
		set_err(st, "store_method_call_begin: empty device id or method name");
		return SH_E_INVALID;
	}
	bind_text(s, 1, device_id);
	bind_text(s, 2, nz(module_id));
	bind_text(s, 3, method_name);
	bind_text(s, 4, payload_json);
	sqlite3_bind_int64(s, 5, invoked_us);
	sqlite3_bind_int64(s, 6, timeout_us);
	sqlite3_bind_int64(s, 7, connect_timeout_us);
	rc = run(st, S_METHOD_BEGIN, "store_method_call_begin");
	if (rc == SH_OK && id_out != NULL)
		*id_out = sqlite3_last_insert_rowid(st->db);
	return rc;
}

sh_rc store_method_call_finish(struct sh_store *st, int64_t id, enum sh_method_state state,
			       int status, const char *result_json, int error_code,
			       int64_t completed_us)
{
	sqlite3_stmt *s = st->stmt[S_METHOD_FINISH];
	sh_rc rc = write_guard(st);

	if (rc != SH_OK)
		return rc;
	if (state == SH_METHOD_PENDING) {
		set_err(st, "store_method_call_finish: a call cannot finish as pending");
		return SH_E_INVALID;
	}
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, store_method_state_str(state));
	if (state == SH_METHOD_COMPLETED)
		sqlite3_bind_int(s, 3, status);
	else
		sqlite3_bind_null(s, 3);
	bind_text(s, 4, result_json);
	if (error_code != 0)
		sqlite3_bind_int(s, 5, error_code);
	else
		sqlite3_bind_null(s, 5);
	sqlite3_bind_int64(s, 6, completed_us);
	rc = run(st, S_METHOD_FINISH, "store_method_call_finish");
	if (rc == SH_OK && sqlite3_changes(st->db) == 0) {
		set_err(st, "store_method_call_finish: no pending method call %lld", (long long)id);
		return SH_E_NOTFOUND;
	}
	return rc;
}

struct method_call_walk {
	sh_rc (*fn)(void *arg, const struct sh_method_call_row *row);
	void *arg;
};

static sh_rc method_call_row(struct sh_store *st, sqlite3_stmt *s, void *ctx)
{
	struct method_call_walk *w = ctx;
	struct sh_method_call_row row;

	(void)st;
	row.id = sqlite3_column_int64(s, 0);
	row.device_id = nz(col_text_or_null(s, 1));
	row.module_id = nz(col_text_or_null(s, 2));
	row.method_name = nz(col_text_or_null(s, 3));
	row.payload = col_text_or_null(s, 4);
	row.timeout_us = sqlite3_column_int64(s, 5);
	row.connect_timeout_us = sqlite3_column_int64(s, 6);
	row.state = nz(col_text_or_null(s, 7));
	row.has_status = sqlite3_column_type(s, 8) != SQLITE_NULL;
	row.status = sqlite3_column_int(s, 8);
	row.result = col_text_or_null(s, 9);
	row.error_code = sqlite3_column_int(s, 10);
	row.invoked_us = sqlite3_column_int64(s, 11);
	row.completed_us = sqlite3_column_int64(s, 12);
	return w->fn(w->arg, &row);
}

sh_rc store_method_call_query(struct sh_store *st, const struct sh_method_call_query *q,
			      sh_rc (*fn)(void *arg, const struct sh_method_call_row *row),
			      void *arg)
{
	struct method_call_walk w = { fn, arg };
	sqlite3_stmt *s = st->stmt[S_METHOD_QUERY];
	sh_rc rc = not_busy(st, s, "store_method_call_query");

	if (rc != SH_OK)
		return rc;
	sqlite3_bind_int64(s, 1, q->after_id);
	bind_text(s, 2, q->device_id);
	bind_text(s, 3, q->module_id);
	bind_text(s, 4, q->method_name);
	sqlite3_bind_int64(s, 5, q->from_us);
	sqlite3_bind_int64(s, 6, q->to_us);
	sqlite3_bind_int64(s, 7, q->limit > 0 ? q->limit : -1);
	return walk(st, s, "store_method_call_query", method_call_row, &w);
}

/* --- cloud-to-device queue ---------------------------------------------------------------------- */

void store_c2d_row_free(struct sh_c2d_row *r)
{
	if (!r)
		return;
	free(r->message_id);
	free(r->properties_json);
	free(r->body);
	r->message_id = r->properties_json = NULL;
	r->body = NULL;
}

static sh_rc read_c2d(struct sh_store *st, sqlite3_stmt *s, struct sh_c2d_row *r)
{
	memset(r, 0, sizeof *r);
	r->seq = sqlite3_column_int64(s, 0);
	sh_rc rc = col_copy(st, s, 1, r->device_id, sizeof r->device_id);
	if (rc == SH_OK && sqlite3_column_type(s, 2) != SQLITE_NULL && !(r->message_id = col_dup(s, 2)))
		rc = SH_E_NOMEM;
	if (rc == SH_OK && !(r->properties_json = col_dup(s, 3)))
		rc = SH_E_NOMEM;
	if (rc == SH_OK) {
		int n = sqlite3_column_bytes(s, 4);
		r->body = malloc(n > 0 ? (size_t)n : 1);
		if (!r->body) {
			rc = SH_E_NOMEM;
		} else {
			if (n > 0)
				memcpy(r->body, sqlite3_column_blob(s, 4), (size_t)n);
			r->body_len = (size_t)n;
		}
	}
	if (rc == SH_OK)
		rc = col_copy(st, s, 5, r->ack, sizeof r->ack);
	if (rc == SH_OK)
		rc = col_copy(st, s, 6, r->state, sizeof r->state);
	if (rc == SH_OK)
		rc = col_copy(st, s, 7, r->lock_token, sizeof r->lock_token);
	r->lock_until_us = sqlite3_column_int64(s, 8);
	r->delivery_count = sqlite3_column_int(s, 9);
	r->enqueued_us = sqlite3_column_int64(s, 10);
	r->expiry_us = sqlite3_column_int64(s, 11);
	if (rc != SH_OK)
		store_c2d_row_free(r);
	return rc;
}

sh_rc store_c2d_insert(struct sh_store *st, const char *device_id, const char *message_id,
		       const char *properties_json, const void *body, size_t len, const char *ack,
		       int64_t enqueued_us, int64_t expiry_us, int64_t *seq_out)
{
	sh_rc rc = write_guard(st);
	if (rc != SH_OK)
		return rc;
	sqlite3_stmt *s = st->stmt[S_C2D_INSERT];
	bind_text(s, 1, device_id);
	bind_text(s, 2, message_id);
	bind_text(s, 3, properties_json ? properties_json : "{}");
	sqlite3_bind_blob64(s, 4, len ? body : "", (sqlite3_uint64)len, SQLITE_TRANSIENT);
	bind_text(s, 5, ack ? ack : "none");
	sqlite3_bind_int64(s, 6, enqueued_us);
	sqlite3_bind_int64(s, 7, expiry_us);
	rc = run(st, S_C2D_INSERT, "store_c2d_insert");
	if (rc == SH_OK && seq_out)
		*seq_out = sqlite3_last_insert_rowid(st->db);
	return rc;
}

sh_rc store_c2d_count_active(struct sh_store *st, const char *device_id, int64_t *count_out)
{
	sqlite3_stmt *s = st->stmt[S_C2D_COUNT_ACTIVE];
	bind_text(s, 1, device_id);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		done(s);
		return db_fail(st, rc, "store_c2d_count_active");
	}
	*count_out = sqlite3_column_int64(s, 0);
	done(s);
	return SH_OK;
}

sh_rc store_c2d_expire(struct sh_store *st, const char *device_id, int64_t now_us, int64_t *count_out)
{
	sh_rc rc = write_guard(st);
	if (rc != SH_OK)
		return rc;
	sqlite3_stmt *s = st->stmt[S_C2D_EXPIRE];
	bind_text(s, 1, device_id);
	sqlite3_bind_int64(s, 2, now_us);
	rc = run(st, S_C2D_EXPIRE, "store_c2d_expire");
	if (rc == SH_OK && count_out)
		*count_out = sqlite3_changes(st->db);
	return rc;
}

/* Step a one-row query into *out; SH_E_NOTFOUND when it has no row. */
static sh_rc c2d_one(struct sh_store *st, sqlite3_stmt *s, struct sh_c2d_row *out, const char *what)
{
	int rc = sqlite3_step(s);
	sh_rc r;
	if (rc == SQLITE_ROW)
		r = read_c2d(st, s, out);
	else if (rc == SQLITE_DONE)
		r = SH_E_NOTFOUND;
	else
		r = db_fail(st, rc, what);
	done(s);
	return r;
}

sh_rc store_c2d_next(struct sh_store *st, const char *device_id, int64_t now_us,
		     struct sh_c2d_row *out)
{
	sqlite3_stmt *s = st->stmt[S_C2D_NEXT];
	bind_text(s, 1, device_id);
	sqlite3_bind_int64(s, 2, now_us);
	return c2d_one(st, s, out, "store_c2d_next");
}

sh_rc store_c2d_find_lock(struct sh_store *st, const char *device_id, const char *token,
			  int64_t now_us, struct sh_c2d_row *out)
{
	sqlite3_stmt *s = st->stmt[S_C2D_FIND_LOCK];
	bind_text(s, 1, device_id);
	bind_text(s, 2, token);
	sqlite3_bind_int64(s, 3, now_us);
	return c2d_one(st, s, out, "store_c2d_find_lock");
}

/* Run an UPDATE by seq; SH_E_NOTFOUND when no row changed. */
static sh_rc c2d_update(struct sh_store *st, enum stmt_id id, const char *what)
{
	sh_rc rc = run(st, id, what);
	if (rc == SH_OK && sqlite3_changes(st->db) == 0) {
		set_err(st, "%s: no such message", what);
		rc = SH_E_NOTFOUND;
	}
	return rc;
}

sh_rc store_c2d_lock(struct sh_store *st, int64_t seq, const char *token, int64_t until_us)
{
	sh_rc rc = write_guard(st);
	if (rc != SH_OK)
		return rc;
	sqlite3_stmt *s = st->stmt[S_C2D_LOCK];
	sqlite3_bind_int64(s, 1, seq);
	bind_text(s, 2, token);
	sqlite3_bind_int64(s, 3, until_us);
	return c2d_update(st, S_C2D_LOCK, "store_c2d_lock");
}

sh_rc store_c2d_finish(struct sh_store *st, int64_t seq, const char *state, const char *outcome,
		       int64_t now_us)
{
	sh_rc rc = write_guard(st);
	if (rc != SH_OK)
		return rc;
	sqlite3_stmt *s = st->stmt[S_C2D_FINISH];
	sqlite3_bind_int64(s, 1, seq);
	bind_text(s, 2, state);
	bind_text(s, 3, outcome);
	sqlite3_bind_int64(s, 4, now_us);
	return c2d_update(st, S_C2D_FINISH, "store_c2d_finish");
}

sh_rc store_c2d_release_locks_after(struct sh_store *st, int64_t until_us, int64_t *count_out)
{
	sh_rc rc = write_guard(st);
	if (rc != SH_OK)
		return rc;
	sqlite3_bind_int64(st->stmt[S_C2D_RELEASE_AFTER], 1, until_us);
	rc = run(st, S_C2D_RELEASE_AFTER, "store_c2d_release_locks_after");
	if (rc == SH_OK && count_out)
		*count_out = sqlite3_changes(st->db);
	return rc;
}

sh_rc store_c2d_requeue(struct sh_store *st, int64_t seq, int add)
{
	sh_rc rc = write_guard(st);
	if (rc != SH_OK)
		return rc;
	sqlite3_stmt *s = st->stmt[S_C2D_REQUEUE];
	sqlite3_bind_int64(s, 1, seq);
	sqlite3_bind_int(s, 2, add);
	return c2d_update(st, S_C2D_REQUEUE, "store_c2d_requeue");
}

/* --- X.509 certificate authorities -------------------------------------------------------------- */

sh_rc store_x509_ca_put(struct sh_store *st, const char *name, const char *pem, int64_t added_us)
{
	sh_rc rc = write_guard(st);
	if (rc != SH_OK)
		return rc;
	sqlite3_stmt *s = st->stmt[S_CA_PUT];
	bind_text(s, 1, name);
	bind_text(s, 2, pem);
	sqlite3_bind_int64(s, 3, added_us);
	return run(st, S_CA_PUT, "store_x509_ca_put");
}

sh_rc store_x509_ca_delete(struct sh_store *st, const char *name)
{
	sh_rc rc = write_guard(st);
	if (rc != SH_OK)
		return rc;
	bind_text(st->stmt[S_CA_DELETE], 1, name);
	rc = run(st, S_CA_DELETE, "store_x509_ca_delete");
	if (rc == SH_OK && sqlite3_changes(st->db) == 0) {
		set_err(st, "no X.509 CA named %s", name);
		rc = SH_E_NOTFOUND;
	}
	return rc;
}

struct ca_walk {
	sh_rc (*fn)(void *arg, const char *name, const char *pem, int64_t added_us);
	void *arg;
};

static sh_rc ca_row(struct sh_store *st, sqlite3_stmt *s, void *ctx)
{
	(void)st;
	struct ca_walk *w = ctx;
	return w->fn(w->arg, (const char *)sqlite3_column_text(s, 0),
		     (const char *)sqlite3_column_text(s, 1), sqlite3_column_int64(s, 2));
}

sh_rc store_x509_ca_each(struct sh_store *st,
			 sh_rc (*fn)(void *arg, const char *name, const char *pem, int64_t added_us),
			 void *arg)
{
	struct ca_walk w = {fn, arg};
	sqlite3_stmt *s = st->stmt[S_CA_EACH];
	sh_rc rc = not_busy(st, s, "store_x509_ca_each");
	if (rc != SH_OK)
		return rc;
	return walk(st, s, "store_x509_ca_each", ca_row, &w);
}

/* --- C2D feedback (migration 5) ------------------------------------------------------------------ */

sh_rc store_c2d_feedback_insert(struct sh_store *st, const struct sh_c2d_feedback_row *row,
				int64_t *id_out)
{
	sqlite3_stmt *s = st->stmt[S_FEEDBACK_INSERT];
	sh_rc rc = write_guard(st);

	if (rc != SH_OK)
		return rc;
	if (empty(row->device_id) || empty(row->status_code)) {
		set_err(st, "store_c2d_feedback_insert: empty device id or status code");
		return SH_E_INVALID;
	}
	bind_text(s, 1, row->device_id);
	bind_text(s, 2, nz(row->original_message_id));
	bind_text(s, 3, nz(row->device_generation_id));
	sqlite3_bind_int64(s, 4, row->enqueued_us);
	bind_text(s, 5, row->status_code);
	bind_text(s, 6, nz(row->description));
	sqlite3_bind_int64(s, 7, row->c2d_seq);
	rc = run(st, S_FEEDBACK_INSERT, "store_c2d_feedback_insert");
	if (rc == SH_OK && id_out != NULL)
		*id_out = sqlite3_last_insert_rowid(st->db);
	return rc;
}

struct feedback_walk {
	sh_rc (*fn)(void *arg, const struct sh_c2d_feedback_row *row);
	void *arg;
};

static sh_rc feedback_row(struct sh_store *st, sqlite3_stmt *s, void *ctx)
{
	struct feedback_walk *w = ctx;
	struct sh_c2d_feedback_row row;

	(void)st;
	row.id = sqlite3_column_int64(s, 0);
	row.device_id = nz(col_text_or_null(s, 1));
	row.original_message_id = nz(col_text_or_null(s, 2));
	row.device_generation_id = nz(col_text_or_null(s, 3));
	row.enqueued_us = sqlite3_column_int64(s, 4);
	row.status_code = nz(col_text_or_null(s, 5));
	row.description = nz(col_text_or_null(s, 6));
	row.c2d_seq = sqlite3_column_int64(s, 7);
	return w->fn(w->arg, &row);
}

sh_rc store_c2d_feedback_query(struct sh_store *st, const struct sh_c2d_feedback_query *q,
			       sh_rc (*fn)(void *arg, const struct sh_c2d_feedback_row *row),
			       void *arg)
{
	struct feedback_walk w = { fn, arg };
	sqlite3_stmt *s = st->stmt[S_FEEDBACK_QUERY];
	sh_rc rc = not_busy(st, s, "store_c2d_feedback_query");

	if (rc != SH_OK)
		return rc;
	sqlite3_bind_int64(s, 1, q->after_id);
	bind_text(s, 2, q->device_id);
	sqlite3_bind_int64(s, 3, q->from_us);
	sqlite3_bind_int64(s, 4, q->to_us);
	sqlite3_bind_int64(s, 5, q->limit > 0 ? q->limit : -1);
	return walk(st, s, "store_c2d_feedback_query", feedback_row, &w);
}

struct expiring_walk {
	sh_rc (*fn)(void *arg, int64_t seq, const char *message_id, const char *ack,
		    int delivery_count);
	void *arg;
};

static sh_rc expiring_row(struct sh_store *st, sqlite3_stmt *s, void *ctx)
{
	struct expiring_walk *w = ctx;

	(void)st;
	return w->fn(w->arg, sqlite3_column_int64(s, 0), nz(col_text_or_null(s, 1)),
		     nz(col_text_or_null(s, 2)), sqlite3_column_int(s, 3));
}

sh_rc store_c2d_each_expiring(struct sh_store *st, const char *device_id, int64_t now_us,
			      sh_rc (*fn)(void *arg, int64_t seq, const char *message_id,
					  const char *ack, int delivery_count),
			      void *arg)
{
	struct expiring_walk w = { fn, arg };
	sqlite3_stmt *s = st->stmt[S_C2D_EXPIRING];
	sh_rc rc = not_busy(st, s, "store_c2d_each_expiring");

	if (rc != SH_OK)
		return rc;
	bind_text(s, 1, device_id);
	sqlite3_bind_int64(s, 2, now_us);
	return walk(st, s, "store_c2d_each_expiring", expiring_row, &w);
}

/* --- reset ----------------------------------------------------------------------------------------- */

/*
 * The tables store_reset empties, in an order that satisfies the foreign keys. Modules are
 * counted before devices take them along (ON DELETE CASCADE), twins go with their identities.
 * Settings, policies, X.509 CAs and the --record journal stay.
 */
static const struct {
	const char *sql;
	size_t offset;           /* of the counter in struct sh_store_reset_counts */
} reset_steps[] = {
	/* Security rows first: events before their messages (no index on message_id, so each
	 * deleted message would scan the events) and messages before d2c_messages (each deleted
	 * d2c row would scan security_messages for its d2c_seq). */
	{"DELETE FROM security_events", offsetof(struct sh_store_reset_counts, security_events)},
	{"DELETE FROM security_messages", offsetof(struct sh_store_reset_counts, security_messages)},
	{"DELETE FROM security_agents", offsetof(struct sh_store_reset_counts, security_agents)},
	{"DELETE FROM security_alerts", offsetof(struct sh_store_reset_counts, security_alerts)},
	{"DELETE FROM c2d_feedback", offsetof(struct sh_store_reset_counts, c2d_feedback)},
	{"DELETE FROM c2d_messages", offsetof(struct sh_store_reset_counts, c2d_messages)},
	{"DELETE FROM twins", offsetof(struct sh_store_reset_counts, twins)},
	{"DELETE FROM modules", offsetof(struct sh_store_reset_counts, modules)},
	{"DELETE FROM devices", offsetof(struct sh_store_reset_counts, devices)},
	{"DELETE FROM d2c_messages", offsetof(struct sh_store_reset_counts, d2c_messages)},
	{"DELETE FROM connection_events", offsetof(struct sh_store_reset_counts, connection_events)},
	{"DELETE FROM method_calls", offsetof(struct sh_store_reset_counts, method_calls)},
};

sh_rc store_reset(struct sh_store *st, struct sh_store_reset_counts *counts)
{
	struct sh_store_reset_counts local;
	sh_rc rc = write_guard(st);

	if (rc != SH_OK)
		return rc;
	memset(&local, 0, sizeof local);
	for (size_t i = 0; i < sizeof reset_steps / sizeof reset_steps[0]; i++) {
		int src = sqlite3_exec(st->db, reset_steps[i].sql, NULL, NULL, NULL);
		if (src != SQLITE_OK)
			return db_fail(st, sqlite3_extended_errcode(st->db), "store_reset");
		int64_t *n = (int64_t *)(void *)((char *)&local + reset_steps[i].offset);
		*n += sqlite3_changes(st->db);
	}
	if (counts)
		*counts = local;
	return SH_OK;
}

/* ---- for the store's other files (store_internal.h) --------------------------------------- */

sqlite3 *store_internal_db(struct sh_store *st)
{
	return st->db;
}

sqlite3_stmt **store_internal_sec_stmts(struct sh_store *st)
{
	return st->sec_stmt;
}

sh_rc store_internal_fail(struct sh_store *st, const char *what)
{
	return db_fail(st, sqlite3_extended_errcode(st->db), what);
}

void store_internal_set_err(struct sh_store *st, const char *what)
{
	set_err(st, "%s", what);
}

sh_rc store_internal_write_guard(struct sh_store *st)
{
	return write_guard(st);
}
