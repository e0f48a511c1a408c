/*
 * check_store.c: unit tests of store/ (SQLite): open and migration paths (fresh, reopened, v1,
 * newer, not SQLite, another application's, missing folder), the group-commit and savepoint
 * API and its misuse, and every table function with its NOTFOUND / EXISTS paths. A second
 * connection opened with sqlite3 directly checks what really is on disk.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"

/* ---- fixtures and helpers ---- */

static char tmpdir[256];

/* Every test gets a fresh folder (check forks per test; the fixture runs in the child). */
static void tmp_setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof tmpdir, "%s/check_store.XXXXXX", t != NULL && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char p[600];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(tmpdir);
}

static const char *path_in_tmp(const char *name)
{
	static char p[600];

	snprintf(p, sizeof p, "%s/%s", tmpdir, name);
	return p;
}

static struct sh_store *open_ok(const char *path)
{
	struct sh_store *st = NULL;
	char err[256] = "";
	sh_rc rc = store_open(path, &st, err, sizeof err);

	ck_assert_msg(rc == SH_OK, "store_open(%s): %s: %s", path, sh_rc_str(rc), err);
	ck_assert_ptr_nonnull(st);
	return st;
}

static struct sh_store *open_mem(void)
{
	return open_ok(":memory:");
}

/* A second, plain SQLite connection to the same file, as an outside reader would open it. */
static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg != NULL ? msg : "?");
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	int64_t v;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* First column of the first row as text, copied into a static buffer. */
static const char *raw_text(sqlite3 *db, const char *sql)
{
	static char buf[512];
	sqlite3_stmt *s = NULL;
	const unsigned char *t;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	t = sqlite3_column_text(s, 0);
	snprintf(buf, sizeof buf, "%s", t != NULL ? (const char *)t : "(null)");
	sqlite3_finalize(s);
	return buf;
}

/* A file written by an older simhub: migration 1 only, with one device and its twin. */
static void make_v1_file(const char *path)
{
	sqlite3 *db = raw_open(path);
	const char *const *step = store_migration_sql(1);

	ck_assert_ptr_nonnull(step);
	raw_exec(db, "BEGIN");
	for (; *step != NULL; step++)
		raw_exec(db, *step);
	raw_exec(db, "PRAGMA user_version = 1");
	raw_exec(db, "INSERT INTO devices (device_id, generation_id, primary_key) "
		     "VALUES ('old-dev', '637000000000000001', 'a2V5')");
	raw_exec(db, "INSERT INTO twins VALUES ('old-dev', '', 4, '{\"version\":4}')");
	raw_exec(db, "INSERT INTO hub_settings VALUES ('hub.name', 'oldhub')");
	raw_exec(db, "COMMIT");
	sqlite3_close(db);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* The file holds exactly these bytes (a refused file was not written to). */
static void assert_file_is(const char *path, const void *data, size_t len)
{
	char buf[8192];
	FILE *f = fopen(path, "rb");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	ck_assert_uint_eq(n, len);
	ck_assert(memcmp(buf, data, len) == 0);
}

/* A device or module with every field set to something distinct. */
static struct sh_identity make_identity(const char *device_id, const char *module_id)
{
	struct sh_identity id;

	memset(&id, 0, sizeof id);
	snprintf(id.device_id, sizeof id.device_id, "%s", device_id);
	snprintf(id.module_id, sizeof id.module_id, "%s", module_id != NULL ? module_id : "");
	snprintf(id.generation_id, sizeof id.generation_id, "637%015d", 42);
	id.etag_counter = 3;
	id.status = SH_STATUS_DISABLED;
	snprintf(id.status_reason, sizeof id.status_reason, "maintenance");
	id.status_updated_us = 1700000000000001;
	id.auth_type = SH_AUTH_SELF_SIGNED;
	snprintf(id.primary_key, sizeof id.primary_key, "cHJpbWFyeQ==");
	snprintf(id.secondary_key, sizeof id.secondary_key, "c2Vjb25kYXJ5");
	snprintf(id.primary_thumbprint, sizeof id.primary_thumbprint, "%064d", 1);
	snprintf(id.secondary_thumbprint, sizeof id.secondary_thumbprint, "%064d", 2);
	id.connected = true;
	id.connection_state_updated_us = 1700000000000002;
	id.last_activity_us = 1700000000000003;
	id.c2d_count = 7;
	if (module_id != NULL && module_id[0] != '\0')
		snprintf(id.managed_by, sizeof id.managed_by, "IotEdge");
	else
		id.iot_edge = true;
	id.created_us = 1700000000000004;
	return id;
}

static void assert_identity_eq(const struct sh_identity *a, const struct sh_identity *b)
{
	ck_assert_str_eq(a->device_id, b->device_id);
	ck_assert_str_eq(a->module_id, b->module_id);
	ck_assert_str_eq(a->generation_id, b->generation_id);
	ck_assert_int_eq(a->etag_counter, b->etag_counter);
	ck_assert_int_eq(a->status, b->status);
	ck_assert_str_eq(a->status_reason, b->status_reason);
	ck_assert_int_eq(a->status_updated_us, b->status_updated_us);
	ck_assert_int_eq(a->auth_type, b->auth_type);
	ck_assert_str_eq(a->primary_key, b->primary_key);
	ck_assert_str_eq(a->secondary_key, b->secondary_key);
	ck_assert_str_eq(a->primary_thumbprint, b->primary_thumbprint);
	ck_assert_str_eq(a->secondary_thumbprint, b->secondary_thumbprint);
	ck_assert_int_eq(a->connected, b->connected);
	ck_assert_int_eq(a->connection_state_updated_us, b->connection_state_updated_us);
	ck_assert_int_eq(a->last_activity_us, b->last_activity_us);
	ck_assert_int_eq(a->c2d_count, b->c2d_count);
	ck_assert_int_eq(a->iot_edge, b->iot_edge);
	ck_assert_str_eq(a->managed_by, b->managed_by);
	ck_assert_int_eq(a->created_us, b->created_us);
}

static void insert_identity(struct sh_store *st, const char *device_id, const char *module_id)
{
	struct sh_identity id = make_identity(device_id, module_id);

	ck_assert_int_eq(store_identity_insert(st, &id), SH_OK);
}

static void append_msg(struct sh_store *st, const char *device_id, const char *body)
{
	struct sh_d2c_row row = { 0 };

	row.device_id = device_id;
	row.enqueued_us = 1700000000000000;
	row.body = body;
	row.body_len = strlen(body);
	ck_assert_int_eq(store_d2c_append(st, &row, NULL), SH_OK);
}

static int64_t d2c_total(struct sh_store *st)
{
	int64_t n = -1;

	ck_assert_int_eq(store_d2c_count(st, NULL, &n), SH_OK);
	return n;
}

/* ---- store_x509_ca_* ---- */

static sh_rc collect_ca(void *arg, const char *name, const char *pem, int64_t added_us)
{
	char *buf = arg;
	char line[128];
	snprintf(line, sizeof line, "%s=%s@%lld;", name, pem, (long long)added_us);
	strcat(buf, line);
	return SH_OK;
}

START_TEST(store_x509_ca_put_each_delete)
{
	struct sh_store *st = open_ok(":memory:");
	char buf[512] = "";
	ck_assert_int_eq(store_x509_ca_each(st, collect_ca, buf), SH_OK);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(store_x509_ca_put(st, "zeta", "Z", 2), SH_OK);
	ck_assert_int_eq(store_x509_ca_put(st, "alpha", "A", 1), SH_OK);
	ck_assert_int_eq(store_x509_ca_put(st, "alpha", "A2", 3), SH_OK);   /* replace */
	ck_assert_int_eq(store_x509_ca_each(st, collect_ca, buf), SH_OK);
	ck_assert_str_eq(buf, "alpha=A2@3;zeta=Z@2;");
	ck_assert_int_eq(store_x509_ca_delete(st, "alpha"), SH_OK);
	ck_assert_int_eq(store_x509_ca_delete(st, "alpha"), SH_E_NOTFOUND);
	buf[0] = '\0';
	ck_assert_int_eq(store_x509_ca_each(st, collect_ca, buf), SH_OK);
	ck_assert_str_eq(buf, "zeta=Z@2;");
	store_close(st);
}
END_TEST

/* ---- store_schema_version, store_migration_sql ---- */

START_TEST(store_schema_version_is_seven)
{
	ck_assert_int_eq(store_schema_version(), 7);
}
END_TEST

START_TEST(store_migration_sql_known_versions_listed)
{
	for (int v = 1; v <= store_schema_version(); v++) {
		const char *const *step = store_migration_sql(v);
		int n = 0;

		ck_assert_ptr_nonnull(step);
		for (; *step != NULL; step++, n++)
			ck_assert(sqlite3_complete(*step));
		ck_assert_int_gt(n, 0);
	}
	ck_assert_ptr_null(store_migration_sql(0));
	ck_assert_ptr_null(store_migration_sql(-1));
	ck_assert_ptr_null(store_migration_sql(store_schema_version() + 1));
}
END_TEST

/* ---- store_open ---- */

START_TEST(store_open_memory_succeeds)
{
	struct sh_store *st = open_mem();

	ck_assert_int_eq(store_batch_depth(st), 0);
	append_msg(st, "d1", "x");
	ck_assert_int_eq(d2c_total(st), 1);
	store_close(st);
}
END_TEST

START_TEST(store_open_new_file_is_wal_current_and_marked)
{
	const char *path = path_in_tmp("new.db");
	struct sh_store *st = open_ok(path);
	sqlite3 *db = raw_open(path);

	ck_assert_str_eq(raw_text(db, "PRAGMA journal_mode"), "wal");
	ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), store_schema_version());
	ck_assert_int_eq(raw_int(db, "PRAGMA application_id"), 0x53494D48);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE name IN "
				 "('devices', 'modules', 'twins', 'd2c_messages', 'c2d_messages', "
				 "'method_calls', 'security_messages', 'security_events', "
				 "'connection_events', 'journal', 'hub_settings', 'access_policies')"),
			 12);
	sqlite3_close(db);
	store_close(st);
}
END_TEST

START_TEST(store_open_reopen_keeps_rows)
{
	const char *path = path_in_tmp("reopen.db");
	struct sh_store *st = open_ok(path);
	struct sh_identity got;

	insert_identity(st, "dev1", NULL);
	append_msg(st, "dev1", "hello");
	store_close(st);
	st = open_ok(path);
	ck_assert_int_eq(store_identity_get(st, "dev1", NULL, &got), SH_OK);
	ck_assert_int_eq(d2c_total(st), 1);
	store_close(st);
}
END_TEST

START_TEST(store_open_v1_file_migrates_and_keeps_rows)
{
	const char *path = path_in_tmp("v1.db");
	struct sh_store *st;
	struct sh_identity got;
	char *json = NULL, *value = NULL;
	sqlite3 *db;

	make_v1_file(path);
	st = open_ok(path);
	ck_assert_int_eq(store_identity_get(st, "old-dev", NULL, &got), SH_OK);
	ck_assert_str_eq(got.primary_key, "a2V5");
	ck_assert_int_eq(got.status, SH_STATUS_ENABLED);
	ck_assert_int_eq(got.auth_type, SH_AUTH_SAS);
	ck_assert_int_eq(store_twin_get(st, "old-dev", NULL, &json), SH_OK);
	ck_assert_str_eq(json, "{\"version\":4}");
	free(json);
	ck_assert_int_eq(store_setting_get(st, "hub.name", &value), SH_OK);
	ck_assert_str_eq(value, "oldhub");
	free(value);
	append_msg(st, "old-dev", "new table works");  /* d2c_messages came with migration 2 */
	ck_assert_int_eq(d2c_total(st), 1);
	ck_assert_int_eq(store_x509_ca_put(st, "root", "PEM", 1), SH_OK);  /* migration 3 */
	store_close(st);

	db = raw_open(path);
	ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), store_schema_version());
	ck_assert_str_eq(raw_text(db, "PRAGMA journal_mode"), "wal");
	sqlite3_close(db);
}
END_TEST

START_TEST(store_open_failed_migration_rolls_back_whole)
{
	const char *path = path_in_tmp("clash.db");
	struct sh_store *st = NULL;
	char err[256] = "";
	sqlite3 *db;

	make_v1_file(path);
	/* Someone added a view that clashes with a table migration 2 creates late. */
	db = raw_open(path);
	raw_exec(db, "CREATE VIEW journal AS SELECT 1");
	sqlite3_close(db);
	ck_assert_int_eq(store_open(path, &st, err, sizeof err), SH_E_IO);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(err, "migration to schema version 2"));
	db = raw_open(path);
	ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), 1);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE name IN "
				 "('d2c_messages', 'c2d_messages', 'connection_events')"), 0);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM devices"), 1);
	sqlite3_close(db);
}
END_TEST

START_TEST(store_open_newer_file_fails_version_untouched)
{
	const char *path = path_in_tmp("newer.db");
	struct sh_store *st = (struct sh_store *)&st;  /* must be reset to NULL */
	char err[256] = "";
	char want[64];
	sqlite3 *db = raw_open(path);

	raw_exec(db, "PRAGMA application_id = 1397312840; PRAGMA user_version = 99; "
		     "CREATE TABLE future (x)");
	sqlite3_close(db);
	ck_assert_int_eq(store_open(path, &st, err, sizeof err), SH_E_VERSION);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "99"));
	snprintf(want, sizeof want, "up to %d", store_schema_version());
	ck_assert_ptr_nonnull(strstr(err, want));
	ck_assert_ptr_nonnull(strstr(err, "newer simhub"));

	db = raw_open(path);
	ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), 99);
	ck_assert_str_eq(raw_text(db, "PRAGMA journal_mode"), "delete");
	sqlite3_close(db);
}
END_TEST

START_TEST(store_open_text_file_fails_io)
{
	const char *path = path_in_tmp("notes.txt");
	char text[2048];
	struct sh_store *st = NULL;
	char err[256] = "";

	for (size_t i = 0; i < sizeof text; i++)
		text[i] = (char)('a' + i % 26);
	write_file(path, text, sizeof text);
	ck_assert_int_eq(store_open(path, &st, err, sizeof err), SH_E_IO);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(err, "not a SQLite database"));
	ck_assert_ptr_nonnull(strstr(err, path));
	assert_file_is(path, text, sizeof text);
}
END_TEST

START_TEST(store_open_bad_header_after_magic_fails_io)
{
	const char *path = path_in_tmp("garbled.db");
	char data[4096];
	struct sh_store *st = NULL;
	char err[256] = "";

	memset(data, 0xff, sizeof data);
	memcpy(data, "SQLite format 3", 16);
	write_file(path, data, sizeof data);
	ck_assert_int_eq(store_open(path, &st, err, sizeof err), SH_E_IO);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(err, path));
	assert_file_is(path, data, sizeof data);
}
END_TEST

START_TEST(store_open_one_byte_file_fails_io)
{
	const char *path = path_in_tmp("one");
	struct sh_store *st = NULL;
	char err[256] = "";

	write_file(path, "x", 1);
	ck_assert_int_eq(store_open(path, &st, err, sizeof err), SH_E_IO);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(err, "not a SQLite database"));
	assert_file_is(path, "x", 1);
}
END_TEST

START_TEST(store_open_empty_file_becomes_store)
{
	const char *path = path_in_tmp("empty.db");
	struct sh_store *st;

	write_file(path, "", 0);
	st = open_ok(path);
	append_msg(st, "d", "x");
	store_close(st);
}
END_TEST

START_TEST(store_open_other_app_sqlite_fails_io_untouched)
{
	const char *path = path_in_tmp("other.db");
	struct sh_store *st = NULL;
	char err[256] = "";
	sqlite3 *db = raw_open(path);

	raw_exec(db, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
	sqlite3_close(db);
	ck_assert_int_eq(store_open(path, &st, err, sizeof err), SH_E_IO);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(err, "did not create"));

	db = raw_open(path);
	raw_exec(db, "PRAGMA application_id = 42");
	sqlite3_close(db);
	ck_assert_int_eq(store_open(path, &st, err, sizeof err), SH_E_IO);
	ck_assert_ptr_nonnull(strstr(err, "another application"));

	db = raw_open(path);
	ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), 0);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sqlite_schema"), 1);
	sqlite3_close(db);
}
END_TEST

START_TEST(store_open_missing_folder_fails_io)
{
	char path[600];
	struct sh_store *st = NULL;
	char err[256] = "";

	snprintf(path, sizeof path, "%s/no-such-folder/sub/simhub.db", tmpdir);
	ck_assert_int_eq(store_open(path, &st, err, sizeof err), SH_E_IO);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(err, "does not exist"));
	ck_assert_ptr_nonnull(strstr(err, "no-such-folder"));
	ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

START_TEST(store_open_folder_path_fails_io)
{
	struct sh_store *st = NULL;
	char err[256] = "";

	ck_assert_int_eq(store_open(tmpdir, &st, err, sizeof err), SH_E_IO);
	ck_assert_ptr_null(st);
	ck_assert_str_ne(err, "");
}
END_TEST

START_TEST(store_open_empty_or_null_path_fails_invalid)
{
	struct sh_store *st = NULL;
	char err[128] = "";

	ck_assert_int_eq(store_open("", &st, err, sizeof err), SH_E_INVALID);
	ck_assert_ptr_null(st);
	ck_assert_str_ne(err, "");
	ck_assert_int_eq(store_open(NULL, &st, NULL, 0), SH_E_INVALID);
	ck_assert_int_eq(store_open(":memory:", NULL, NULL, 0), SH_E_INVALID);
}
END_TEST

/* ---- store_close ---- */

START_TEST(store_close_null_is_noop)
{
	store_close(NULL);
}
END_TEST

START_TEST(store_close_open_batch_rolls_back)
{
	const char *path = path_in_tmp("close.db");
	struct sh_store *st = open_ok(path);
	sqlite3 *db;

	ck_assert_int_eq(store_batch_begin(st), SH_OK);
	append_msg(st, "d", "lost");
	store_close(st);
	db = raw_open(path);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM d2c_messages"), 0);
	sqlite3_close(db);
}
END_TEST

/* ---- store_errmsg ---- */

START_TEST(store_errmsg_after_failure_names_it)
{
	struct sh_store *st = open_mem();
	char *v = NULL;

	ck_assert_str_eq(store_errmsg(st), "");
	ck_assert_int_eq(store_setting_get(st, "missing.key", &v), SH_E_NOTFOUND);
	ck_assert_ptr_nonnull(strstr(store_errmsg(st), "missing.key"));
	store_close(st);
}
END_TEST

/* ---- store_set_sync ---- */

START_TEST(store_set_sync_modes_succeed)
{
	struct sh_store *st = open_ok(path_in_tmp("sync.db"));

	ck_assert_int_eq(store_set_sync(st, SH_STORE_SYNC_FULL), SH_OK);
	append_msg(st, "d", "x");
	ck_assert_int_eq(store_set_sync(st, SH_STORE_SYNC_NORMAL), SH_OK);
	ck_assert_int_eq(store_set_sync(st, (enum sh_store_sync)0), SH_E_INVALID);
	ck_assert_int_eq(store_set_sync(st, (enum sh_store_sync)3), SH_E_INVALID);
	ck_assert_int_eq(store_batch_begin(st), SH_OK);
	ck_assert_int_eq(store_set_sync(st, SH_STORE_SYNC_FULL), SH_E_STATE);
	ck_assert_int_eq(store_batch_commit(st), SH_OK);
	store_close(st);
}
END_TEST

/* ---- store_check_integrity ---- */

START_TEST(store_check_integrity_clean_file_succeeds)
{
	struct sh_store *st = open_ok(path_in_tmp("clean.db"));

	insert_identity(st, "d", NULL);
	insert_identity(st, "d", "m");
	ck_assert_int_eq(store_check_integrity(st), SH_OK);
	store_close(st);
}
END_TEST

START_TEST(store_check_integrity_orphan_module_fails_io)
{
	const char *path = path_in_tmp("orphan.db");
	struct sh_store *st = open_ok(path);
	sqlite3 *db = raw_open(path);

	/* An outside writer without foreign keys leaves a module with no device. */
	raw_exec(db, "PRAGMA foreign_keys = OFF; INSERT INTO modules (device_id, module_id, "
		     "generation_id) VALUES ('ghost', 'm', 'g')");
	sqlite3_close(db);
	ck_assert_int_eq(store_check_integrity(st), SH_E_IO);
	ck_assert_ptr_nonnull(strstr(store_errmsg(st), "modules"));
	store_close(st);
}
END_TEST

/* ---- store_batch_begin, store_batch_commit, store_batch_depth ---- */

START_TEST(store_batch_commit_without_begin_fails_state)
{
	struct sh_store *st = open_mem();

	ck_assert_int_eq(store_batch_commit(st), SH_E_STATE);
	ck_assert_int_eq(store_batch_depth(st), 0);
	append_msg(st, "d", "still works");
	ck_assert_int_eq(store_batch_begin(st), SH_OK);
	ck_assert_int_eq(store_batch_commit(st), SH_OK);
	ck_assert_int_eq(store_batch_commit(st), SH_E_STATE);
	store_close(st);
}
END_TEST

START_TEST(store_batch_commit_visible_to_second_connection_after_commit)
{
	const char *path = path_in_tmp("batch.db");
	struct sh_store *st = open_ok(path);
	sqlite3 *db = raw_open(path);

	ck_assert_int_eq(store_batch_begin(st), SH_OK);
	ck_assert_int_eq(store_batch_depth(st), 1);
	append_msg(st, "d", "1");
	append_msg(st, "d", "2");
	append_msg(st, "d", "3");
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM d2c_messages"), 0);
	ck_assert_int_eq(store_batch_commit(st), SH_OK);
	ck_assert_int_eq(store_batch_depth(st), 0);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM d2c_messages"), 3);
	sqlite3_close(db);
	store_close(st);
}
END_TEST

START_TEST(store_batch_nested_commits_at_depth_zero)
{
	const char *path = path_in_tmp("nested.db");
	struct sh_store *st = open_ok(path);
	sqlite3 *db = raw_open(path);

	ck_assert_int_eq(store_batch_begin(st), SH_OK);
	ck_assert_int_eq(store_batch_begin(st), SH_OK);
	ck_assert_int_eq(store_batch_depth(st), 2);
	append_msg(st, "d", "inner");
	ck_assert_int_eq(store_batch_commit(st), SH_OK);
	ck_assert_int_eq(store_batch_depth(st), 1);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM d2c_messages"), 0);
	ck_assert_int_eq(store_batch_commit(st), SH_OK);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM d2c_messages"), 1);
	sqlite3_close(db);
	store_close(st);
}
END_TEST

START_TEST(store_batch_commit_with_open_op_fails_state_then_recovers)
{
	const char *path = path_in_tmp("openop.db");
	struct sh_store *st = open_ok(path);
	sqlite3 *db = raw_open(path);

	ck_assert_int_eq(store_batch_begin(st), SH_OK);
	ck_assert_int_eq(store_op_begin(st), SH_OK);
	append_msg(st, "d", "kept");
	ck_assert_int_eq(store_batch_commit(st), SH_E_STATE);
	ck_assert_int_eq(store_batch_depth(st), 1);
	ck_assert_int_eq(store_op_end(st, 1), SH_OK);
	ck_assert_int_eq(store_batch_commit(st), SH_OK);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM d2c_messages"), 1);
	sqlite3_close(db);
	store_close(st);
}
END_TEST

START_TEST(store_batch_constraint_failure_keeps_batch)
{
	const char *path = path_in_tmp("constraint.db");
	struct sh_store *st = open_ok(path);
	struct sh_identity id = make_identity("dup", NULL);
	sqlite3 *db = raw_open(path);

	ck_assert_int_eq(store_batch_begin(st), SH_OK);
	append_msg(st, "d", "before");
	ck_assert_int_eq(store_identity_insert(st, &id), SH_OK);
	ck_assert_int_eq(store_identity_insert(st, &id), SH_E_EXISTS);
	append_msg(st, "d", "after");
	ck_assert_int_eq(store_batch_commit(st), SH_OK);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM d2c_messages"), 2);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM devices"), 1);
	sqlite3_close(db);
	store_close(st);
}
END_TEST

START_TEST(store_batch_begin_other_writer_holds_lock_fails_io)
{
	const char *path = path_in_tmp("locked.db");
	struct sh_store *st = open_ok(path);
	sqlite3 *db = raw_open(path);

	sqlite3_busy_timeout(db, 0);
	raw_exec(db, "BEGIN IMMEDIATE");
	ck_assert_int_eq(store_batch_begin(st), SH_E_IO);  /* after the busy timeout */
	ck_assert_int_eq(store_batch_depth(st), 0);
	ck_assert_ptr_nonnull(strstr(store_errmsg(st), "locked"));
	raw_exec(db, "ROLLBACK");
	ck_assert_int_eq(store_batch_begin(st), SH_OK);
	append_msg(st, "d", "x");
	ck_assert_int_eq(store_batch_commit(st), SH_OK);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM d2c_messages"), 1);
	sqlite3_close(db);
	store_close(st);
}
END_TEST

/* ---- store_op_begin, store_op_end ---- */

START_TEST(store_op_end_without_begin_fails_state)
{
	struct sh_store *st = open_mem();

	ck_assert_int_eq(store_op_end(st, 1), SH_E_STATE);
	ck_assert_int_eq(store_batch_begin(st), SH_OK);
	ck_assert_int_eq(store_op_end(st, 0), SH_E_STATE);
	append_msg(st, "d", "x");
	ck_assert_int_eq(store_batch_commit(st), SH_OK);
	ck_assert_int_eq(d2c_total(st), 1);
	store_close(st);
}
END_TEST

START_TEST(store_op_end_rollback_keeps_earlier_ops)
{
	const char *path = path_in_tmp("savepoint.db");
	struct sh_store *st = open_ok(path);
	sqlite3 *db = raw_open(path);
	char *v = NULL;

	ck_assert_int_eq(store_batch_begin(st), SH_OK);
	ck_assert_int_eq(store_op_begin(st), SH_OK);
	append_msg(st, "d", "A");
	ck_assert_int_eq(store_op_end(st, 1), SH_OK);
	ck_assert_int_eq(store_op_begin(st), SH_OK);
	append_msg(st, "d", "B");
	ck_assert_int_eq(store_setting_set(st, "k", "from B"), SH_OK);
	ck_assert_int_eq(store_op_end(st, 0), SH_OK);
	ck_assert_int_eq(store_op_begin(st), SH_OK);
	append_msg(st, "d", "C");
	ck_assert_int_eq(store_op_end(st, 1), SH_OK);
	ck_assert_int_eq(store_batch_commit(st), SH_OK);

	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM d2c_messages"), 2);
	ck_assert_str_eq(raw_text(db, "SELECT group_concat(CAST(body AS TEXT), '') FROM "
				      "(SELECT body FROM d2c_messages ORDER BY seq)"), "AC");
	ck_assert_int_eq(store_setting_get(st, "k", &v), SH_E_NOTFOUND);
	sqlite3_close(db);
	store_close(st);
}
END_TEST

START_TEST(store_op_nested_inner_rollback_keeps_outer)
{
	struct sh_store *st = open_mem();

	ck_assert_int_eq(store_batch_begin(st), SH_OK);
	ck_assert_int_eq(store_op_begin(st), SH_OK);
	append_msg(st, "d", "outer");
	ck_assert_int_eq(store_op_begin(st), SH_OK);
	append_msg(st, "d", "inner");
	ck_assert_int_eq(store_op_end(st, 0), SH_OK);
	ck_assert_int_eq(store_op_end(st, 1), SH_OK);
	ck_assert_int_eq(store_batch_commit(st), SH_OK);
	ck_assert_int_eq(d2c_total(st), 1);
	store_close(st);
}
END_TEST

START_TEST(store_op_outside_batch_commits_itself)
{
	const char *path = path_in_tmp("implicit.db");
	struct sh_store *st = open_ok(path);
	sqlite3 *db = raw_open(path);

	ck_assert_int_eq(store_op_begin(st), SH_OK);
	ck_assert_int_eq(store_batch_depth(st), 1);
	append_msg(st, "d", "kept");
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM d2c_messages"), 0);
	ck_assert_int_eq(store_op_end(st, 1), SH_OK);
	ck_assert_int_eq(store_batch_depth(st), 0);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM d2c_messages"), 1);

	ck_assert_int_eq(store_op_begin(st), SH_OK);
	append_msg(st, "d", "dropped");
	ck_assert_int_eq(store_op_end(st, 0), SH_OK);
	ck_assert_int_eq(store_batch_depth(st), 0);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM d2c_messages"), 1);
	ck_assert_int_eq(store_batch_commit(st), SH_E_STATE);
	sqlite3_close(db);
	store_close(st);
}
END_TEST

/* ---- store_setting_get, store_setting_set ---- */

START_TEST(store_setting_get_missing_fails_notfound)
{
	struct sh_store *st = open_mem();
	char *v = (char *)&v;

	ck_assert_int_eq(store_setting_get(st, "nope", &v), SH_E_NOTFOUND);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(store_setting_get(st, "", &v), SH_E_INVALID);
	store_close(st);
}
END_TEST

START_TEST(store_setting_set_then_get_round_trips)
{
	struct sh_store *st = open_mem();
	char *v = NULL;

	ck_assert_int_eq(store_setting_set(st, "hub.name", "myhub"), SH_OK);
	ck_assert_int_eq(store_setting_get(st, "hub.name", &v), SH_OK);
	ck_assert_str_eq(v, "myhub");
	free(v);
	ck_assert_int_eq(store_setting_set(st, "hub.name", ""), SH_OK);  /* replace, empty ok */
	ck_assert_int_eq(store_setting_get(st, "hub.name", &v), SH_OK);
	ck_assert_str_eq(v, "");
	free(v);
	ck_assert_int_eq(store_setting_set(st, "", "x"), SH_E_INVALID);
	ck_assert_int_eq(store_setting_set(st, "k", NULL), SH_E_INVALID);
	store_close(st);
}
END_TEST

/* ---- store_policy_get, store_policy_put, store_policy_each ---- */

static struct sh_policy make_policy(const char *name, unsigned rights)
{
	struct sh_policy p;

	memset(&p, 0, sizeof p);
	snprintf(p.name, sizeof p.name, "%s", name);
	snprintf(p.primary_key, sizeof p.primary_key, "%s-primary", name);
	snprintf(p.secondary_key, sizeof p.secondary_key, "%s-secondary", name);
	p.rights = rights;
	return p;
}

START_TEST(store_policy_get_missing_fails_notfound)
{
	struct sh_store *st = open_mem();
	struct sh_policy p;

	ck_assert_int_eq(store_policy_get(st, "iothubowner", &p), SH_E_NOTFOUND);
	ck_assert_int_eq(store_policy_get(st, "", &p), SH_E_INVALID);
	store_close(st);
}
END_TEST

START_TEST(store_policy_put_then_get_round_trips_and_replaces)
{
	struct sh_store *st = open_mem();
	struct sh_policy p = make_policy("service", SH_RIGHT_SERVICE_CONNECT), got;

	ck_assert_int_eq(store_policy_put(st, &p), SH_OK);
	ck_assert_int_eq(store_policy_get(st, "service", &got), SH_OK);
	ck_assert_str_eq(got.name, "service");
	ck_assert_str_eq(got.primary_key, "service-primary");
	ck_assert_str_eq(got.secondary_key, "service-secondary");
	ck_assert_uint_eq(got.rights, SH_RIGHT_SERVICE_CONNECT);
	p.rights = SH_RIGHT_SERVICE_CONNECT | SH_RIGHT_REGISTRY_READ;
	snprintf(p.primary_key, sizeof p.primary_key, "rotated");
	ck_assert_int_eq(store_policy_put(st, &p), SH_OK);
	ck_assert_int_eq(store_policy_get(st, "service", &got), SH_OK);
	ck_assert_str_eq(got.primary_key, "rotated");
	ck_assert_uint_eq(got.rights, SH_RIGHT_SERVICE_CONNECT | SH_RIGHT_REGISTRY_READ);
	store_close(st);
}
END_TEST

START_TEST(store_policy_put_bad_policy_fails_invalid)
{
	struct sh_store *st = open_mem();
	struct sh_policy p = make_policy("", SH_RIGHT_DEVICE_CONNECT);

	ck_assert_int_eq(store_policy_put(st, &p), SH_E_INVALID);
	p = make_policy("x", 1u << 4);
	ck_assert_int_eq(store_policy_put(st, &p), SH_E_INVALID);
	store_close(st);
}
END_TEST

struct names {
	char list[256];
	int calls;
	int stop_after;
};

static sh_rc collect_policy(void *arg, const struct sh_policy *p)
{
	struct names *n = arg;

	strcat(n->list, p->name);
	strcat(n->list, ",");
	return ++n->calls == n->stop_after ? SH_E_PRECONDITION : SH_OK;
}

START_TEST(store_policy_each_name_order_and_stops)
{
	struct sh_store *st = open_mem();
	struct names n = { "", 0, 0 };
	struct sh_policy p;

	p = make_policy("service", 4);
	ck_assert_int_eq(store_policy_put(st, &p), SH_OK);
	p = make_policy("device", 8);
	ck_assert_int_eq(store_policy_put(st, &p), SH_OK);
	p = make_policy("iothubowner", 15);
	ck_assert_int_eq(store_policy_put(st, &p), SH_OK);
	ck_assert_int_eq(store_policy_each(st, collect_policy, &n), SH_OK);
	ck_assert_str_eq(n.list, "device,iothubowner,service,");
	memset(&n, 0, sizeof n);
	n.stop_after = 2;
	ck_assert_int_eq(store_policy_each(st, collect_policy, &n), SH_E_PRECONDITION);
	ck_assert_str_eq(n.list, "device,iothubowner,");
	store_close(st);
}
END_TEST

/* ---- store_identity_get, _insert, _update, _delete, _each, _count ---- */

START_TEST(store_identity_get_missing_fails_notfound)
{
	struct sh_store *st = open_mem();
	struct sh_identity got;

	ck_assert_int_eq(store_identity_get(st, "nope", NULL, &got), SH_E_NOTFOUND);
	insert_identity(st, "dev", NULL);
	ck_assert_int_eq(store_identity_get(st, "dev", "nomod", &got), SH_E_NOTFOUND);
	ck_assert_int_eq(store_identity_get(st, "", NULL, &got), SH_E_INVALID);
	ck_assert_int_eq(store_identity_get(st, NULL, NULL, &got), SH_E_INVALID);
	store_close(st);
}
END_TEST

START_TEST(store_identity_insert_device_and_module_round_trip)
{
	struct sh_store *st = open_mem();
	struct sh_identity dev = make_identity("dev-1", NULL);
	struct sh_identity mod = make_identity("dev-1", "mod-a");
	struct sh_identity got;

	ck_assert_int_eq(store_identity_insert(st, &dev), SH_OK);
	ck_assert_int_eq(store_identity_insert(st, &mod), SH_OK);
	ck_assert_int_eq(store_identity_get(st, "dev-1", NULL, &got), SH_OK);
	assert_identity_eq(&got, &dev);
	ck_assert_int_eq(store_identity_get(st, "dev-1", "", &got), SH_OK);
	assert_identity_eq(&got, &dev);
	ck_assert_int_eq(store_identity_get(st, "dev-1", "mod-a", &got), SH_OK);
	assert_identity_eq(&got, &mod);
	store_close(st);
}
END_TEST

START_TEST(store_identity_insert_taken_fails_exists)
{
	struct sh_store *st = open_mem();
	struct sh_identity dev = make_identity("dev", NULL);
	struct sh_identity mod = make_identity("dev", "m");

	ck_assert_int_eq(store_identity_insert(st, &dev), SH_OK);
	ck_assert_int_eq(store_identity_insert(st, &dev), SH_E_EXISTS);
	ck_assert_int_eq(store_identity_insert(st, &mod), SH_OK);
	ck_assert_int_eq(store_identity_insert(st, &mod), SH_E_EXISTS);
	store_close(st);
}
END_TEST

START_TEST(store_identity_insert_module_without_device_fails_notfound)
{
	struct sh_store *st = open_mem();
	struct sh_identity mod = make_identity("ghost", "m");
	int64_t total = -1;

	ck_assert_int_eq(store_identity_insert(st, &mod), SH_E_NOTFOUND);
	ck_assert_ptr_nonnull(strstr(store_errmsg(st), "ghost"));
	ck_assert_int_eq(store_identity_count(st, &total, NULL), SH_OK);
	ck_assert_int_eq(total, 0);
	store_close(st);
}
END_TEST

START_TEST(store_identity_insert_bad_fields_fail_invalid)
{
	struct sh_store *st = open_mem();
	struct sh_identity id = make_identity("", NULL);

	ck_assert_int_eq(store_identity_insert(st, &id), SH_E_INVALID);
	id = make_identity("d", NULL);
	id.status = (enum sh_status)2;
	ck_assert_int_eq(store_identity_insert(st, &id), SH_E_INVALID);
	id = make_identity("d", NULL);
	id.auth_type = (enum sh_auth)4;
	ck_assert_int_eq(store_identity_insert(st, &id), SH_E_INVALID);
	id = make_identity("d", NULL);
	id.status = (enum sh_status)-1;
	ck_assert_int_eq(store_identity_insert(st, &id), SH_E_INVALID);
	store_close(st);
}
END_TEST

START_TEST(store_identity_update_rewrites_every_column)
{
	struct sh_store *st = open_mem();
	struct sh_identity dev = make_identity("dev", NULL);
	struct sh_identity mod = make_identity("dev", "m");
	struct sh_identity got;

	ck_assert_int_eq(store_identity_insert(st, &dev), SH_OK);
	ck_assert_int_eq(store_identity_insert(st, &mod), SH_OK);
	snprintf(dev.generation_id, sizeof dev.generation_id, "other");
	dev.etag_counter = 9;
	dev.status = SH_STATUS_ENABLED;
	dev.status_reason[0] = '\0';
	dev.status_updated_us = 11;
	dev.auth_type = SH_AUTH_CA;
	snprintf(dev.primary_key, sizeof dev.primary_key, "new1");
	snprintf(dev.secondary_key, sizeof dev.secondary_key, "new2");
	dev.primary_thumbprint[0] = '\0';
	dev.secondary_thumbprint[0] = '\0';
	dev.connected = false;
	dev.connection_state_updated_us = 12;
	dev.last_activity_us = 13;
	dev.c2d_count = 14;
	dev.iot_edge = false;
	dev.created_us = 15;
	ck_assert_int_eq(store_identity_update(st, &dev), SH_OK);
	ck_assert_int_eq(store_identity_get(st, "dev", NULL, &got), SH_OK);
	assert_identity_eq(&got, &dev);

	mod.auth_type = SH_AUTH_NONE;
	snprintf(mod.managed_by, sizeof mod.managed_by, "someone");
	ck_assert_int_eq(store_identity_update(st, &mod), SH_OK);
	ck_assert_int_eq(store_identity_get(st, "dev", "m", &got), SH_OK);
	assert_identity_eq(&got, &mod);
	store_close(st);
}
END_TEST

START_TEST(store_identity_update_missing_fails_notfound)
{
	struct sh_store *st = open_mem();
	struct sh_identity dev = make_identity("dev", NULL);
	struct sh_identity mod = make_identity("dev", "m");

	ck_assert_int_eq(store_identity_update(st, &dev), SH_E_NOTFOUND);
	ck_assert_int_eq(store_identity_insert(st, &dev), SH_OK);
	ck_assert_int_eq(store_identity_update(st, &mod), SH_E_NOTFOUND);
	dev.status = (enum sh_status)5;
	ck_assert_int_eq(store_identity_update(st, &dev), SH_E_INVALID);
	store_close(st);
}
END_TEST

START_TEST(store_identity_delete_missing_fails_notfound)
{
	struct sh_store *st = open_mem();

	ck_assert_int_eq(store_identity_delete(st, "nope", NULL), SH_E_NOTFOUND);
	insert_identity(st, "dev", NULL);
	ck_assert_int_eq(store_identity_delete(st, "dev", "nomod"), SH_E_NOTFOUND);
	ck_assert_int_eq(store_identity_delete(st, "", NULL), SH_E_INVALID);
	store_close(st);
}
END_TEST

START_TEST(store_identity_delete_module_deletes_its_twin_only)
{
	struct sh_store *st = open_mem();
	struct sh_identity got;
	char *json = NULL;

	insert_identity(st, "dev", NULL);
	insert_identity(st, "dev", "m1");
	insert_identity(st, "dev", "m2");
	ck_assert_int_eq(store_twin_put(st, "dev", NULL, "{\"d\":1}", 1), SH_OK);
	ck_assert_int_eq(store_twin_put(st, "dev", "m1", "{\"m\":1}", 1), SH_OK);
	ck_assert_int_eq(store_twin_put(st, "dev", "m2", "{\"m\":2}", 1), SH_OK);
	ck_assert_int_eq(store_identity_delete(st, "dev", "m1"), SH_OK);
	ck_assert_int_eq(store_identity_get(st, "dev", "m1", &got), SH_E_NOTFOUND);
	ck_assert_int_eq(store_twin_get(st, "dev", "m1", &json), SH_E_NOTFOUND);
	ck_assert_int_eq(store_twin_get(st, "dev", "m2", &json), SH_OK);
	free(json);
	ck_assert_int_eq(store_twin_get(st, "dev", NULL, &json), SH_OK);
	free(json);
	/* A new module of the same name starts without a twin. */
	insert_identity(st, "dev", "m1");
	ck_assert_int_eq(store_twin_get(st, "dev", "m1", &json), SH_E_NOTFOUND);
	store_close(st);
}
END_TEST

START_TEST(store_identity_delete_device_cascades_modules_twins_c2d)
{
	const char *path = path_in_tmp("cascade.db");
	struct sh_store *st = open_ok(path);
	struct sh_identity got;
	char *json = NULL;
	sqlite3 *db;

	insert_identity(st, "dev", NULL);
	insert_identity(st, "dev", "m1");
	insert_identity(st, "dev", "m2");
	insert_identity(st, "other", NULL);
	insert_identity(st, "other", "m1");
	ck_assert_int_eq(store_twin_put(st, "dev", NULL, "{}", 1), SH_OK);
	ck_assert_int_eq(store_twin_put(st, "dev", "m1", "{}", 1), SH_OK);
	ck_assert_int_eq(store_twin_put(st, "dev", "m2", "{}", 1), SH_OK);
	ck_assert_int_eq(store_twin_put(st, "other", NULL, "{}", 1), SH_OK);
	ck_assert_int_eq(store_twin_put(st, "other", "m1", "{}", 1), SH_OK);
	append_msg(st, "dev", "history stays");
	db = raw_open(path);
	raw_exec(db, "INSERT INTO c2d_messages (device_id, body, enqueued_us) VALUES "
		     "('dev', x'00', 1), ('other', x'01', 2)");

	ck_assert_int_eq(store_identity_delete(st, "dev", NULL), SH_OK);
	ck_assert_int_eq(store_identity_get(st, "dev", NULL, &got), SH_E_NOTFOUND);
	ck_assert_int_eq(store_identity_get(st, "dev", "m1", &got), SH_E_NOTFOUND);
	ck_assert_int_eq(store_identity_get(st, "dev", "m2", &got), SH_E_NOTFOUND);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM twins WHERE device_id = 'dev'"), 0);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM modules WHERE device_id = 'dev'"), 0);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM c2d_messages"), 1);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM d2c_messages"), 1);
	/* the other device is untouched */
	ck_assert_int_eq(store_identity_get(st, "other", "m1", &got), SH_OK);
	ck_assert_int_eq(store_twin_get(st, "other", "m1", &json), SH_OK);
	free(json);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM twins"), 2);
	sqlite3_close(db);
	store_close(st);
}
END_TEST

static sh_rc collect_identity(void *arg, const struct sh_identity *id)
{
	struct names *n = arg;

	strcat(n->list, id->device_id);
	if (id->module_id[0] != '\0') {
		strcat(n->list, "/");
		strcat(n->list, id->module_id);
	}
	strcat(n->list, ",");
	return ++n->calls == n->stop_after ? SH_E_NOTFOUND : SH_OK;
}

START_TEST(store_identity_each_devices_then_modules_in_order)
{
	struct sh_store *st = open_mem();
	struct names n = { "", 0, 0 };

	insert_identity(st, "b", NULL);
	insert_identity(st, "a", NULL);
	insert_identity(st, "c", NULL);
	insert_identity(st, "b", "z");
	insert_identity(st, "b", "y");
	insert_identity(st, "a", "x");
	ck_assert_int_eq(store_identity_each(st, NULL, collect_identity, &n), SH_OK);
	ck_assert_str_eq(n.list, "a,b,c,");
	memset(&n, 0, sizeof n);
	ck_assert_int_eq(store_identity_each(st, "b", collect_identity, &n), SH_OK);
	ck_assert_str_eq(n.list, "b/y,b/z,");
	memset(&n, 0, sizeof n);
	ck_assert_int_eq(store_identity_each(st, "nobody", collect_identity, &n), SH_OK);
	ck_assert_int_eq(n.calls, 0);
	memset(&n, 0, sizeof n);
	n.stop_after = 1;
	ck_assert_int_eq(store_identity_each(st, NULL, collect_identity, &n), SH_E_NOTFOUND);
	ck_assert_str_eq(n.list, "a,");
	/* the statement was reset: a new walk starts over */
	memset(&n, 0, sizeof n);
	ck_assert_int_eq(store_identity_each(st, NULL, collect_identity, &n), SH_OK);
	ck_assert_int_eq(n.calls, 3);
	store_close(st);
}
END_TEST

struct reenter {
	struct sh_store *st;
	sh_rc inner;
	int calls;
};

static sh_rc count_identity(void *arg, const struct sh_identity *id)
{
	(void)id;
	((struct reenter *)arg)->calls++;
	return SH_OK;
}

static sh_rc reenter_identity(void *arg, const struct sh_identity *id)
{
	struct reenter *r = arg;
	struct reenter inner = { r->st, SH_OK, 0 };
	struct sh_identity got;

	/* another statement works from a callback, the same walk does not */
	ck_assert_int_eq(store_identity_get(r->st, id->device_id, NULL, &got), SH_OK);
	ck_assert_int_eq(store_identity_each(r->st, id->device_id, count_identity, &inner), SH_OK);
	r->inner = store_identity_each(r->st, NULL, count_identity, &inner);
	r->calls++;
	return SH_OK;
}

START_TEST(store_identity_each_reentered_fails_state)
{
	struct sh_store *st = open_mem();
	struct reenter r = { st, SH_OK, 0 };

	insert_identity(st, "a", NULL);
	insert_identity(st, "a", "m");
	ck_assert_int_eq(store_identity_each(st, NULL, reenter_identity, &r), SH_OK);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_int_eq(r.inner, SH_E_STATE);
	store_close(st);
}
END_TEST

START_TEST(store_identity_count_devices_total_and_enabled)
{
	struct sh_store *st = open_mem();
	struct sh_identity id;
	int64_t total = -1, enabled = -1;

	ck_assert_int_eq(store_identity_count(st, &total, &enabled), SH_OK);
	ck_assert_int_eq(total, 0);
	ck_assert_int_eq(enabled, 0);
	id = make_identity("on1", NULL);
	id.status = SH_STATUS_ENABLED;
	ck_assert_int_eq(store_identity_insert(st, &id), SH_OK);
	id = make_identity("on2", NULL);
	id.status = SH_STATUS_ENABLED;
	ck_assert_int_eq(store_identity_insert(st, &id), SH_OK);
	insert_identity(st, "off", NULL);  /* make_identity: disabled */
	insert_identity(st, "on1", "module-not-counted");
	ck_assert_int_eq(store_identity_count(st, &total, &enabled), SH_OK);
	ck_assert_int_eq(total, 3);
	ck_assert_int_eq(enabled, 2);
	store_close(st);
}
END_TEST

/* ---- store_twin_get, store_twin_put ---- */

START_TEST(store_twin_get_missing_fails_notfound)
{
	struct sh_store *st = open_mem();
	char *json = (char *)&json;

	ck_assert_int_eq(store_twin_get(st, "dev", NULL, &json), SH_E_NOTFOUND);
	ck_assert_ptr_null(json);
	insert_identity(st, "dev", NULL);
	ck_assert_int_eq(store_twin_get(st, "dev", NULL, &json), SH_E_NOTFOUND);
	ck_assert_int_eq(store_twin_get(st, "", NULL, &json), SH_E_INVALID);
	store_close(st);
}
END_TEST

START_TEST(store_twin_put_missing_identity_fails_notfound)
{
	const char *path = path_in_tmp("twin.db");
	struct sh_store *st = open_ok(path);
	sqlite3 *db;

	ck_assert_int_eq(store_twin_put(st, "ghost", NULL, "{}", 1), SH_E_NOTFOUND);
	insert_identity(st, "dev", NULL);
	ck_assert_int_eq(store_twin_put(st, "dev", "ghost-module", "{}", 1), SH_E_NOTFOUND);
	ck_assert_int_eq(store_twin_put(st, "dev", NULL, NULL, 1), SH_E_INVALID);
	db = raw_open(path);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM twins"), 0);
	sqlite3_close(db);
	store_close(st);
}
END_TEST

START_TEST(store_twin_put_then_get_round_trips_and_replaces)
{
	const char *path = path_in_tmp("twin2.db");
	struct sh_store *st = open_ok(path);
	const char *doc1 = "{\"properties\":{\"desired\":{\"$version\":1}}}";
	const char *doc2 = "{\"properties\":{\"desired\":{\"$version\":2,\"x\":\"\\u00e9\"}}}";
	char *json = NULL;
	sqlite3 *db;

	insert_identity(st, "dev", NULL);
	insert_identity(st, "dev", "m");
	ck_assert_int_eq(store_twin_put(st, "dev", NULL, doc1, 1), SH_OK);
	ck_assert_int_eq(store_twin_put(st, "dev", "m", "{\"module\":true}", 1), SH_OK);
	ck_assert_int_eq(store_twin_get(st, "dev", NULL, &json), SH_OK);
	ck_assert_str_eq(json, doc1);
	free(json);
	ck_assert_int_eq(store_twin_put(st, "dev", "", doc2, 2), SH_OK);
	ck_assert_int_eq(store_twin_get(st, "dev", "", &json), SH_OK);
	ck_assert_str_eq(json, doc2);
	free(json);
	ck_assert_int_eq(store_twin_get(st, "dev", "m", &json), SH_OK);
	ck_assert_str_eq(json, "{\"module\":true}");
	free(json);
	db = raw_open(path);
	ck_assert_int_eq(raw_int(db, "SELECT version FROM twins WHERE module_id = ''"), 2);
	ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM twins"), 2);
	sqlite3_close(db);
	store_close(st);
}
END_TEST

/* ---- store_d2c_append, store_d2c_count, store_d2c_each ---- */

START_TEST(store_d2c_append_all_columns_stored)
{
	const char *path = path_in_tmp("d2c.db");
	struct sh_store *st = open_ok(path);
	static const unsigned char body[] = { 0x00, 0xff, 0x7b, 0x00, 0x22 };
	struct sh_d2c_row row = {
		.device_id = "dev", .module_id = "mod", .enqueued_us = 1700000000123456,
		.message_id = "mid-1", .content_type = "application/json",
		.content_encoding = "utf-8", .interface_id = "urn:azureiot:Security:SecurityAgent:1",
		.sys_props_json = "{\"$.mid\":\"mid-1\"}", .app_props_json = "{\"a\":\"b\"}",
		.body = body, .body_len = sizeof body,
	};
	int64_t seq1 = 0, seq2 = 0;
	sqlite3 *db;

	ck_assert_int_eq(store_d2c_append(st, &row, &seq1), SH_OK);
	row.module_id = NULL;
	row.message_id = row.content_type = row.content_encoding = row.interface_id = NULL;
	row.sys_props_json = row.app_props_json = NULL;
	row.body = NULL;
	row.body_len = 0;
	ck_assert_int_eq(store_d2c_append(st, &row, &seq2), SH_OK);
	ck_assert_int_gt(seq2, seq1);

	db = raw_open(path);
	ck_assert_str_eq(raw_text(db, "SELECT device_id || '|' || module_id || '|' || enqueued_us "
				      "|| '|' || message_id || '|' || content_type || '|' || "
				      "content_encoding || '|' || interface_id || '|' || "
				      "system_properties || '|' || app_properties || '|' || hex(body) "
				      "FROM d2c_messages ORDER BY seq LIMIT 1"),
			 "dev|mod|1700000000123456|mid-1|application/json|utf-8|"
			 "urn:azureiot:Security:SecurityAgent:1|{\"$.mid\":\"mid-1\"}|{\"a\":\"b\"}|"
			 "00FF7B0022");
	ck_assert_str_eq(raw_text(db, "SELECT quote(module_id) || quote(message_id) || "
				      "quote(content_type) || system_properties || app_properties "
				      "|| length(body) || typeof(body) FROM d2c_messages "
				      "ORDER BY seq DESC LIMIT 1"), "''NULLNULL{}{}0blob");
	ck_assert_str_eq(raw_text(db, "SELECT enqueued_at FROM d2c_messages_view LIMIT 1"),
			 "2023-11-14T22:13:20.123Z");
	sqlite3_close(db);
	store_close(st);
}
END_TEST

START_TEST(store_d2c_append_bad_row_fails_invalid)
{
	struct sh_store *st = open_mem();
	struct sh_d2c_row row = { .device_id = "", .body = "x", .body_len = 1 };

	ck_assert_int_eq(store_d2c_append(st, &row, NULL), SH_E_INVALID);
	row.device_id = NULL;
	ck_assert_int_eq(store_d2c_append(st, &row, NULL), SH_E_INVALID);
	row.device_id = "d";
	row.body = NULL;
	ck_assert_int_eq(store_d2c_append(st, &row, NULL), SH_E_INVALID);
	ck_assert_int_eq(d2c_total(st), 0);
	store_close(st);
}
END_TEST

START_TEST(store_d2c_count_by_device_and_all)
{
	struct sh_store *st = open_mem();
	struct sh_d2c_row row = { .device_id = "a", .module_id = "m", .body = "x", .body_len = 1 };
	int64_t n = -1;

	ck_assert_int_eq(store_d2c_count(st, "a", &n), SH_OK);
	ck_assert_int_eq(n, 0);
	append_msg(st, "a", "1");
	append_msg(st, "a", "2");
	append_msg(st, "b", "3");
	ck_assert_int_eq(store_d2c_append(st, &row, NULL), SH_OK);
	ck_assert_int_eq(store_d2c_count(st, "a", &n), SH_OK);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(store_d2c_count(st, "b", &n), SH_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(store_d2c_count(st, "c", &n), SH_OK);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(d2c_total(st), 4);
	store_close(st);
}
END_TEST

struct d2c_seen {
	char bodies[64];
	int64_t last_seq;
	int calls;
	int stop_after;
	int bad;
};

static sh_rc collect_d2c(void *arg, int64_t seq, const struct sh_d2c_row *row)
{
	struct d2c_seen *s = arg;
	size_t n = strlen(s->bodies);

	if (seq <= s->last_seq || row->sys_props_json == NULL || row->app_props_json == NULL ||
	    row->module_id == NULL || row->body_len != 1)
		s->bad++;
	s->last_seq = seq;
	s->bodies[n] = ((const char *)row->body)[0];
	s->bodies[n + 1] = '\0';
	return ++s->calls == s->stop_after ? SH_E_TOOLARGE : SH_OK;
}

START_TEST(store_d2c_each_filters_and_orders_by_seq)
{
	struct sh_store *st = open_mem();
	struct sh_d2c_row row = { .device_id = "a", .module_id = "m", .body = "M", .body_len = 1 };
	struct d2c_seen s;
	int64_t seq2 = 0;

	append_msg(st, "a", "1");
	append_msg(st, "b", "2");
	append_msg(st, "a", "3");
	ck_assert_int_eq(store_d2c_append(st, &row, &seq2), SH_OK);
	append_msg(st, "b", "5");

	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_d2c_each(st, NULL, 0, collect_d2c, &s), SH_OK);
	ck_assert_str_eq(s.bodies, "123M5");
	ck_assert_int_eq(s.bad, 0);
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_d2c_each(st, "a", 0, collect_d2c, &s), SH_OK);
	ck_assert_str_eq(s.bodies, "13M");
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_d2c_each(st, NULL, 3, collect_d2c, &s), SH_OK);
	ck_assert_str_eq(s.bodies, "M5");
	memset(&s, 0, sizeof s);
	s.stop_after = 2;
	ck_assert_int_eq(store_d2c_each(st, NULL, 0, collect_d2c, &s), SH_E_TOOLARGE);
	ck_assert_str_eq(s.bodies, "12");
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_d2c_each(st, "nobody", 0, collect_d2c, &s), SH_OK);
	ck_assert_int_eq(s.calls, 0);
	store_close(st);
}
END_TEST

/* ---- store_d2c_query ---- */

/* Append a one-byte message with times and properties for the query tests. */
static void append_full(struct sh_store *st, const char *dev, const char *mod, int64_t at,
			const char *sys, const char *app, const char *body)
{
	struct sh_d2c_row row = { .device_id = dev, .module_id = mod, .enqueued_us = at,
				  .sys_props_json = sys, .app_props_json = app, .body = body,
				  .body_len = 1 };

	ck_assert_int_eq(store_d2c_append(st, &row, NULL), SH_OK);
}

static struct sh_d2c_query all_d2c(void)
{
	struct sh_d2c_query q = { .from_us = INT64_MIN, .to_us = INT64_MAX };

	return q;
}

static const char *d2c_query_bodies(struct sh_store *st, const struct sh_d2c_query *q)
{
	static struct d2c_seen s;

	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_d2c_query(st, q, collect_d2c, &s), SH_OK);
	ck_assert_int_eq(s.bad, 0);
	return s.bodies;
}

START_TEST(store_d2c_query_filters_page_and_properties)
{
	struct sh_store *st = open_mem();
	struct sh_d2c_query q;

	append_full(st, "a", "", 100, "{\"message-id\":\"x1\"}", "{\"color\":\"red\"}", "1");
	append_full(st, "b", "", 200, NULL, "{\"color\":\"blue\",\"n\":\"5\"}", "2");
	append_full(st, "a", "m", 300, "{\"message-id\":\"red\"}", NULL, "3");
	append_full(st, "a", "", 400, NULL, "{\"color\":\"red\",\"odd key.$\":\"v\"}", "4");
	append_full(st, "a", "n", 500, NULL, "{\"color\":5}", "5");

	q = all_d2c();
	ck_assert_str_eq(d2c_query_bodies(st, &q), "12345");
	q.device_id = "a";
	ck_assert_str_eq(d2c_query_bodies(st, &q), "1345");
	q.module_id = "";
	ck_assert_str_eq(d2c_query_bodies(st, &q), "14");
	q.module_id = "m";
	ck_assert_str_eq(d2c_query_bodies(st, &q), "3");
	q = all_d2c();
	q.module_id = "m";    /* a module name alone matches it under any device */
	ck_assert_str_eq(d2c_query_bodies(st, &q), "3");
	q = all_d2c();
	q.from_us = 200;
	q.to_us = 400;        /* half-open: 400 itself is out */
	ck_assert_str_eq(d2c_query_bodies(st, &q), "23");
	q = all_d2c();
	q.after_seq = 2;
	q.limit = 2;
	ck_assert_str_eq(d2c_query_bodies(st, &q), "34");
	q.limit = 0;          /* no limit */
	ck_assert_str_eq(d2c_query_bodies(st, &q), "345");
	q = all_d2c();
	q.prop_name = "color";
	q.prop_value = "red";
	ck_assert_str_eq(d2c_query_bodies(st, &q), "14");
	q.prop_name = "message-id";   /* system properties too, by exact name */
	q.prop_value = "red";
	ck_assert_str_eq(d2c_query_bodies(st, &q), "3");
	q.prop_name = "odd key.$";
	q.prop_value = "v";
	ck_assert_str_eq(d2c_query_bodies(st, &q), "4");
	q.prop_name = "color";        /* a number is not the string "5" */
	q.prop_value = "5";
	ck_assert_str_eq(d2c_query_bodies(st, &q), "");
	q.prop_name = "Color";
	q.prop_value = "red";
	ck_assert_str_eq(d2c_query_bodies(st, &q), "");
	q.prop_name = "color' OR 1=1 --";
	ck_assert_str_eq(d2c_query_bodies(st, &q), "");
	q = all_d2c();
	q.device_id = "nobody";
	ck_assert_str_eq(d2c_query_bodies(st, &q), "");
	store_close(st);
}
END_TEST

START_TEST(store_d2c_query_name_without_value_fails_invalid)
{
	struct sh_store *st = open_mem();
	struct sh_d2c_query q = all_d2c();
	struct d2c_seen s;

	memset(&s, 0, sizeof s);
	append_msg(st, "a", "1");
	q.prop_name = "color";
	ck_assert_int_eq(store_d2c_query(st, &q, collect_d2c, &s), SH_E_INVALID);
	ck_assert_int_eq(s.calls, 0);
	/* a callback's result stops the walk and comes back */
	append_msg(st, "a", "2");
	q.prop_name = NULL;
	s.stop_after = 1;
	ck_assert_int_eq(store_d2c_query(st, &q, collect_d2c, &s), SH_E_TOOLARGE);
	ck_assert_str_eq(s.bodies, "1");
	store_close(st);
}
END_TEST

/* ---- store_connection_event_query ---- */

struct events_seen {
	char text[256];
	int64_t last_id;
	int bad;
};

static sh_rc collect_events(void *arg, const struct sh_conn_event_row *row)
{
	struct events_seen *s = arg;
	size_t n = strlen(s->text);

	if (row->id <= s->last_id || row->module_id == NULL || row->event == NULL)
		s->bad++;
	s->last_id = row->id;
	snprintf(s->text + n, sizeof s->text - n, "%s/%s/%lld/%s/%s;", row->device_id,
		 row->module_id, (long long)row->at_us, row->event,
		 row->reason != NULL ? row->reason : "-");
	return SH_OK;
}

START_TEST(store_connection_event_query_filters_and_pages)
{
	struct sh_store *st = open_mem();
	struct sh_conn_event_query q = { .from_us = INT64_MIN, .to_us = INT64_MAX };
	struct events_seen s;

	ck_assert_int_eq(store_connection_event(st, "a", NULL, 10, "connect", NULL), SH_OK);
	ck_assert_int_eq(store_connection_event(st, "b", "m", 20, "connect", NULL), SH_OK);
	ck_assert_int_eq(store_connection_event(st, "a", NULL, 30, "disconnect", "bye"), SH_OK);

	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_connection_event_query(st, &q, collect_events, &s), SH_OK);
	ck_assert_str_eq(s.text, "a//10/connect/-;b/m/20/connect/-;a//30/disconnect/bye;");
	ck_assert_int_eq(s.bad, 0);
	q.device_id = "a";
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_connection_event_query(st, &q, collect_events, &s), SH_OK);
	ck_assert_str_eq(s.text, "a//10/connect/-;a//30/disconnect/bye;");
	q.limit = 1;
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_connection_event_query(st, &q, collect_events, &s), SH_OK);
	ck_assert_str_eq(s.text, "a//10/connect/-;");
	q.after_id = s.last_id;
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_connection_event_query(st, &q, collect_events, &s), SH_OK);
	ck_assert_str_eq(s.text, "a//30/disconnect/bye;");
	q = (struct sh_conn_event_query){ .from_us = 20, .to_us = 30 };
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_connection_event_query(st, &q, collect_events, &s), SH_OK);
	ck_assert_str_eq(s.text, "b/m/20/connect/-;");
	q = (struct sh_conn_event_query){ .from_us = INT64_MIN, .to_us = INT64_MAX, .module_id = "" };
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_connection_event_query(st, &q, collect_events, &s), SH_OK);
	ck_assert_str_eq(s.text, "a//10/connect/-;a//30/disconnect/bye;");
	store_close(st);
}
END_TEST

START_TEST(store_sqlite_version_is_library_version)
{
	ck_assert_str_eq(store_sqlite_version(), sqlite3_libversion());
}
END_TEST

/* ---- store_connection_event ---- */

START_TEST(store_connection_event_appends_rows)
{
	const char *path = path_in_tmp("conn.db");
	struct sh_store *st = open_ok(path);
	sqlite3 *db;

	ck_assert_int_eq(store_connection_event(st, "dev", NULL, 1700000000000000, "connected",
						NULL), SH_OK);
	ck_assert_int_eq(store_connection_event(st, "dev", "mod", 1700000001000000,
						"disconnected", "keepalive timeout"), SH_OK);
	ck_assert_int_eq(store_connection_event(st, "", NULL, 1, "connected", NULL),
			 SH_E_INVALID);
	ck_assert_int_eq(store_connection_event(st, "dev", NULL, 1, "", NULL), SH_E_INVALID);
	db = raw_open(path);
	ck_assert_str_eq(raw_text(db, "SELECT group_concat(device_id || '/' || module_id || '/' || "
				      "event || '/' || ifnull(reason, '-') || '/' || at, ';') FROM "
				      "(SELECT * FROM connection_events_view ORDER BY id)"),
			 "dev//connected/-/2023-11-14T22:13:20.000Z;"
			 "dev/mod/disconnected/keepalive timeout/2023-11-14T22:13:21.000Z");
	sqlite3_close(db);
	store_close(st);
}
END_TEST

/* ---- store_method_call_begin, store_method_call_finish, store_method_call_query ---- */

struct calls_seen {
	char text[512];
	int64_t last_id;
	int bad;
};

/* One call as dev/mod/name/payload/timeout/connect/state/status/result/error/invoked/completed. */
static sh_rc collect_calls(void *arg, const struct sh_method_call_row *row)
{
	struct calls_seen *s = arg;
	size_t n = strlen(s->text);

	if (row->id <= s->last_id || row->module_id == NULL || row->state == NULL)
		s->bad++;
	s->last_id = row->id;
	snprintf(s->text + n, sizeof s->text - n, "%s/%s/%s/%s/%lld/%lld/%s/%s%d/%s/%d/%lld/%lld;",
		 row->device_id, row->module_id, row->method_name,
		 row->payload ? row->payload : "-", (long long)row->timeout_us,
		 (long long)row->connect_timeout_us, row->state, row->has_status ? "" : "~",
		 row->status, row->result ? row->result : "-", row->error_code,
		 (long long)row->invoked_us, (long long)row->completed_us);
	return SH_OK;
}

START_TEST(store_method_call_begin_pending_row_and_bad_args_fail_invalid)
{
	struct sh_store *st = open_mem();
	struct sh_method_call_query q = { .from_us = INT64_MIN, .to_us = INT64_MAX };
	struct calls_seen s;
	int64_t id1 = 0, id2 = 0;

	ck_assert_int_eq(store_method_call_begin(st, "d", NULL, "reboot", "{\"a\":1}", 100, 30, 5,
						 &id1), SH_OK);
	ck_assert_int_eq(store_method_call_begin(st, "d", "m", "x", NULL, 200, 10, 0, &id2), SH_OK);
	ck_assert_int_gt(id1, 0);
	ck_assert_int_gt(id2, id1);
	ck_assert_int_eq(store_method_call_begin(st, "", NULL, "x", NULL, 1, 1, 0, NULL),
			 SH_E_INVALID);
	ck_assert_int_eq(store_method_call_begin(st, NULL, NULL, "x", NULL, 1, 1, 0, NULL),
			 SH_E_INVALID);
	ck_assert_int_eq(store_method_call_begin(st, "d", NULL, "", NULL, 1, 1, 0, NULL),
			 SH_E_INVALID);
	ck_assert_int_eq(store_method_call_begin(st, "d", NULL, NULL, NULL, 1, 1, 0, NULL),
			 SH_E_INVALID);
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_method_call_query(st, &q, collect_calls, &s), SH_OK);
	ck_assert_str_eq(s.text, "d//reboot/{\"a\":1}/30/5/pending/~0/-/0/100/0;"
				 "d/m/x/-/10/0/pending/~0/-/0/200/0;");
	ck_assert_int_eq(s.bad, 0);
	store_close(st);
}
END_TEST

START_TEST(store_method_call_finish_once_each_outcome)
{
	struct sh_store *st = open_mem();
	struct sh_method_call_query q = { .from_us = INT64_MIN, .to_us = INT64_MAX };
	struct calls_seen s;
	int64_t a, b, c, d;

	ck_assert_int_eq(store_method_call_begin(st, "d", NULL, "a", NULL, 1, 30, 0, &a), SH_OK);
	ck_assert_int_eq(store_method_call_begin(st, "d", NULL, "b", NULL, 2, 30, 0, &b), SH_OK);
	ck_assert_int_eq(store_method_call_begin(st, "d", NULL, "c", NULL, 3, 30, 0, &c), SH_OK);
	ck_assert_int_eq(store_method_call_begin(st, "d", NULL, "d", NULL, 4, 30, 0, &d), SH_OK);
	ck_assert_int_eq(store_method_call_finish(st, a, SH_METHOD_COMPLETED, -7, "[1]", 0, 11),
			 SH_OK);
	ck_assert_int_eq(store_method_call_finish(st, b, SH_METHOD_OFFLINE, 99, NULL, 404103, 12),
			 SH_OK);
	ck_assert_int_eq(store_method_call_finish(st, c, SH_METHOD_TIMEOUT, 0, NULL, 504101, 13),
			 SH_OK);
	ck_assert_int_eq(store_method_call_finish(st, d, SH_METHOD_PENDING, 0, NULL, 0, 14),
			 SH_E_INVALID);
	/* a second finish, and an unknown id, change nothing */
	ck_assert_int_eq(store_method_call_finish(st, a, SH_METHOD_FAILED, 0, NULL, 500001, 15),
			 SH_E_NOTFOUND);
	ck_assert_int_eq(store_method_call_finish(st, d + 100, SH_METHOD_COMPLETED, 200, NULL, 0,
						  15), SH_E_NOTFOUND);
	ck_assert_int_eq(store_method_call_finish(st, d, SH_METHOD_FAILED, 0, NULL, 500001, 16),
			 SH_OK);
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_method_call_query(st, &q, collect_calls, &s), SH_OK);
	ck_assert_str_eq(s.text, "d//a/-/30/0/completed/-7/[1]/0/1/11;"
				 "d//b/-/30/0/offline/~0/-/404103/2/12;"
				 "d//c/-/30/0/timeout/~0/-/504101/3/13;"
				 "d//d/-/30/0/failed/~0/-/500001/4/16;");
	ck_assert_str_eq(store_method_state_str(SH_METHOD_OFFLINE), "offline");
	ck_assert_str_eq(store_method_state_str((enum sh_method_state)42), "failed");
	store_close(st);
}
END_TEST

START_TEST(store_method_call_query_filters_and_pages)
{
	struct sh_store *st = open_mem();
	struct sh_method_call_query q = { .from_us = INT64_MIN, .to_us = INT64_MAX };
	struct calls_seen s;

	ck_assert_int_eq(store_method_call_begin(st, "a", NULL, "m1", NULL, 10, 1, 0, NULL), SH_OK);
	ck_assert_int_eq(store_method_call_begin(st, "b", "x", "m1", NULL, 20, 1, 0, NULL), SH_OK);
	ck_assert_int_eq(store_method_call_begin(st, "a", NULL, "m2", NULL, 30, 1, 0, NULL), SH_OK);
	q.device_id = "a";
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_method_call_query(st, &q, collect_calls, &s), SH_OK);
	ck_assert_str_eq(s.text, "a//m1/-/1/0/pending/~0/-/0/10/0;a//m2/-/1/0/pending/~0/-/0/30/0;");
	q.limit = 1;
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_method_call_query(st, &q, collect_calls, &s), SH_OK);
	ck_assert_str_eq(s.text, "a//m1/-/1/0/pending/~0/-/0/10/0;");
	q.after_id = s.last_id;
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_method_call_query(st, &q, collect_calls, &s), SH_OK);
	ck_assert_str_eq(s.text, "a//m2/-/1/0/pending/~0/-/0/30/0;");
	q = (struct sh_method_call_query){ .from_us = INT64_MIN, .to_us = INT64_MAX,
					   .method_name = "m1" };
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_method_call_query(st, &q, collect_calls, &s), SH_OK);
	ck_assert_str_eq(s.text, "a//m1/-/1/0/pending/~0/-/0/10/0;b/x/m1/-/1/0/pending/~0/-/0/20/0;");
	q = (struct sh_method_call_query){ .from_us = INT64_MIN, .to_us = INT64_MAX, .module_id = "x" };
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_method_call_query(st, &q, collect_calls, &s), SH_OK);
	ck_assert_str_eq(s.text, "b/x/m1/-/1/0/pending/~0/-/0/20/0;");
	q = (struct sh_method_call_query){ .from_us = 20, .to_us = 30 };
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_method_call_query(st, &q, collect_calls, &s), SH_OK);
	ck_assert_str_eq(s.text, "b/x/m1/-/1/0/pending/~0/-/0/20/0;");
	q = (struct sh_method_call_query){ .from_us = INT64_MIN, .to_us = INT64_MAX,
					   .method_name = "nope" };
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(store_method_call_query(st, &q, collect_calls, &s), SH_OK);
	ck_assert_str_eq(s.text, "");
	store_close(st);
}
END_TEST

static void add(Suite *s, const char *name, const TTest *const *tests, size_t n)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_set_timeout(tc, 30);
	for (size_t i = 0; i < n; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
}

#define ADD(s, name, ...) do { \
	const TTest *const t_[] = { __VA_ARGS__ }; \
	add((s), (name), t_, sizeof t_ / sizeof t_[0]); \
} while (0)

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");

	ADD(s, "store_schema_version", store_schema_version_is_seven);
	ADD(s, "store_x509_ca", store_x509_ca_put_each_delete);
	ADD(s, "store_migration_sql", store_migration_sql_known_versions_listed);
	ADD(s, "store_open", store_open_memory_succeeds, store_open_new_file_is_wal_current_and_marked,
	    store_open_reopen_keeps_rows, store_open_v1_file_migrates_and_keeps_rows,
	    store_open_failed_migration_rolls_back_whole,
	    store_open_newer_file_fails_version_untouched, store_open_text_file_fails_io,
	    store_open_one_byte_file_fails_io, store_open_bad_header_after_magic_fails_io,
	    store_open_empty_file_becomes_store,
	    store_open_other_app_sqlite_fails_io_untouched, store_open_missing_folder_fails_io,
	    store_open_folder_path_fails_io, store_open_empty_or_null_path_fails_invalid);
	ADD(s, "store_close", store_close_null_is_noop, store_close_open_batch_rolls_back);
	ADD(s, "store_errmsg", store_errmsg_after_failure_names_it);
	ADD(s, "store_set_sync", store_set_sync_modes_succeed);
	ADD(s, "store_check_integrity", store_check_integrity_clean_file_succeeds,
	    store_check_integrity_orphan_module_fails_io);
	ADD(s, "store_batch", store_batch_commit_without_begin_fails_state,
	    store_batch_commit_visible_to_second_connection_after_commit,
	    store_batch_nested_commits_at_depth_zero,
	    store_batch_commit_with_open_op_fails_state_then_recovers,
	    store_batch_constraint_failure_keeps_batch,
	    store_batch_begin_other_writer_holds_lock_fails_io);
	ADD(s, "store_op", store_op_end_without_begin_fails_state,
	    store_op_end_rollback_keeps_earlier_ops, store_op_nested_inner_rollback_keeps_outer,
	    store_op_outside_batch_commits_itself);
	ADD(s, "store_setting", store_setting_get_missing_fails_notfound,
	    store_setting_set_then_get_round_trips);
	ADD(s, "store_policy", store_policy_get_missing_fails_notfound,
	    store_policy_put_then_get_round_trips_and_replaces,
	    store_policy_put_bad_policy_fails_invalid, store_policy_each_name_order_and_stops);
	ADD(s, "store_identity_get", store_identity_get_missing_fails_notfound);
	ADD(s, "store_identity_insert", store_identity_insert_device_and_module_round_trip,
	    store_identity_insert_taken_fails_exists,
	    store_identity_insert_module_without_device_fails_notfound,
	    store_identity_insert_bad_fields_fail_invalid);
	ADD(s, "store_identity_update", store_identity_update_rewrites_every_column,
	    store_identity_update_missing_fails_notfound);
	ADD(s, "store_identity_delete", store_identity_delete_missing_fails_notfound,
	    store_identity_delete_module_deletes_its_twin_only,
	    store_identity_delete_device_cascades_modules_twins_c2d);
	ADD(s, "store_identity_each", store_identity_each_devices_then_modules_in_order,
	    store_identity_each_reentered_fails_state);
	ADD(s, "store_identity_count", store_identity_count_devices_total_and_enabled);
	ADD(s, "store_twin_get", store_twin_get_missing_fails_notfound);
	ADD(s, "store_twin_put", store_twin_put_missing_identity_fails_notfound,
	    store_twin_put_then_get_round_trips_and_replaces);
	ADD(s, "store_d2c_append", store_d2c_append_all_columns_stored,
	    store_d2c_append_bad_row_fails_invalid);
	ADD(s, "store_d2c_count", store_d2c_count_by_device_and_all);
	ADD(s, "store_d2c_each", store_d2c_each_filters_and_orders_by_seq);
	ADD(s, "store_d2c_query", store_d2c_query_filters_page_and_properties,
	    store_d2c_query_name_without_value_fails_invalid);
	ADD(s, "store_connection_event", store_connection_event_appends_rows);
	ADD(s, "store_connection_event_query", store_connection_event_query_filters_and_pages);
	ADD(s, "store_method_call_begin",
	    store_method_call_begin_pending_row_and_bad_args_fail_invalid);
	ADD(s, "store_method_call_finish", store_method_call_finish_once_each_outcome);
	ADD(s, "store_method_call_query", store_method_call_query_filters_and_pages);
	ADD(s, "store_sqlite_version", store_sqlite_version_is_library_version);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
