/*
 * store_bench.c: how fast the store appends telemetry. Writes rows with 200-byte bodies through
 * store_d2c_append in batches (store_batch_begin .. N appends .. store_batch_commit) into a
 * fresh file database per run, and prints rows/s and commits/s per synchronous mode and batch
 * size. A program for people to read, not a test: it asserts nothing about speed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

#define BODY_LEN 200
#define DEVICES 10

struct options {
	double seconds;        /* per run, upper bound */
	long max_rows;         /* per run, upper bound */
	const char *dir;       /* where the temporary folder goes */
	int sync_modes[2];
	int n_sync;
	long batches[8];
	int n_batches;
};

struct result {
	long rows;
	long commits;
	double seconds;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: store_bench [--seconds S] [--rows N] [--dir DIR] "
		"[--sync normal|full|both] [--batches 1,100,1000]\n"
		"  each (sync, batch) pair runs on a fresh database until N rows or S seconds;\n"
		"  defaults: --seconds 2 --rows 1000000 --dir $TMPDIR or /tmp --sync both\n");
}

static int parse_batches(const char *s, struct options *o)
{
	char *end;

	o->n_batches = 0;
	while (*s != '\0' && o->n_batches < 8) {
		long v = strtol(s, &end, 10);

		if (end == s || v < 1)
			return -1;
		o->batches[o->n_batches++] = v;
		s = *end == ',' ? end + 1 : end;
		if (*end != ',' && *end != '\0')
			return -1;
	}
	return o->n_batches > 0 ? 0 : -1;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	const char *tmp = getenv("TMPDIR");

	o->seconds = 2.0;
	o->max_rows = 1000000;
	o->dir = tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp";
	o->sync_modes[0] = SH_STORE_SYNC_NORMAL;
	o->sync_modes[1] = SH_STORE_SYNC_FULL;
	o->n_sync = 2;
	o->batches[0] = 1;
	o->batches[1] = 100;
	o->batches[2] = 1000;
	o->n_batches = 3;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			exit(0);
		}
		if (v == NULL)
			return -1;
		i++;
		if (strcmp(a, "--seconds") == 0) {
			o->seconds = strtod(v, NULL);
			if (o->seconds <= 0)
				return -1;
		} else if (strcmp(a, "--rows") == 0) {
			o->max_rows = strtol(v, NULL, 10);
			if (o->max_rows < 1)
				return -1;
		} else if (strcmp(a, "--dir") == 0) {
			o->dir = v;
		} else if (strcmp(a, "--sync") == 0) {
			o->n_sync = 1;
			if (strcmp(v, "normal") == 0) {
				o->sync_modes[0] = SH_STORE_SYNC_NORMAL;
			} else if (strcmp(v, "full") == 0) {
				o->sync_modes[0] = SH_STORE_SYNC_FULL;
			} else if (strcmp(v, "both") == 0) {
				o->n_sync = 2;
			} else {
				return -1;
			}
		} else if (strcmp(a, "--batches") == 0) {
			if (parse_batches(v, o) != 0)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

/* Remove a run's database and its WAL companions. */
static void remove_db(const char *db)
{
	char p[4200];

	unlink(db);
	snprintf(p, sizeof p, "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", db);
	unlink(p);
}

/*
 * One run: a fresh database, `batch` appends per commit, until the row or time budget is spent.
 * The clock is read once per commit, so a run may overshoot its seconds by one batch.
 * Returns 0, or -1 after printing why.
 */
static int run_one(const char *db, int sync, long batch, const struct options *o,
		   struct result *res)
{
	static const char *const devices[DEVICES] = {
		"sensor-00", "sensor-01", "sensor-02", "sensor-03", "sensor-04",
		"sensor-05", "sensor-06", "sensor-07", "sensor-08", "sensor-09",
	};
	unsigned char body[BODY_LEN];
	char mid[32], err[256];
	struct sh_store *st;
	struct sh_d2c_row row = { 0 };
	int64_t count = 0, enqueued = 1700000000000000;
	double t0, t;
	sh_rc rc;

	/* A JSON-looking telemetry body, padded to 200 bytes. */
	memset(body, ' ', sizeof body);
	memcpy(body, "{\"temperature\":21.5,\"humidity\":40.25,\"pressure\":1013.2,\"pad\":\"",
	       sizeof "{\"temperature\":21.5,\"humidity\":40.25,\"pressure\":1013.2,\"pad\":\"" - 1);
	body[BODY_LEN - 2] = '"';
	body[BODY_LEN - 1] = '}';

	rc = store_open(db, &st, err, sizeof err);
	if (rc != SH_OK) {
		fprintf(stderr, "store_bench: %s\n", err);
		return -1;
	}
	if (store_set_sync(st, (enum sh_store_sync)sync) != SH_OK) {
		fprintf(stderr, "store_bench: %s\n", store_errmsg(st));
		store_close(st);
		return -1;
	}
	row.content_type = "application/json";
	row.content_encoding = "utf-8";
	row.sys_props_json = "{\"iothub-connection-auth-method\":\"sas\"}";
	row.app_props_json = "{\"alert\":\"false\"}";
	row.message_id = mid;
	row.body = body;
	row.body_len = sizeof body;

	memset(res, 0, sizeof *res);
	t0 = now_s();
	t = t0;
	while (res->rows < o->max_rows && t - t0 < o->seconds) {
		rc = store_batch_begin(st);
		for (long i = 0; rc == SH_OK && i < batch && res->rows < o->max_rows; i++) {
			row.device_id = devices[res->rows % DEVICES];
			row.enqueued_us = enqueued++;
			snprintf(mid, sizeof mid, "m-%ld", res->rows);
			rc = store_d2c_append(st, &row, NULL);
			res->rows++;
		}
		if (rc == SH_OK)
			rc = store_batch_commit(st);
		if (rc != SH_OK) {
			fprintf(stderr, "store_bench: %s: %s\n", sh_rc_str(rc), store_errmsg(st));
			store_close(st);
			return -1;
		}
		res->commits++;
		t = now_s();
	}
	res->seconds = t - t0;
	rc = store_d2c_count(st, NULL, &count);
	store_close(st);
	if (rc != SH_OK || count != res->rows) {
		fprintf(stderr, "store_bench: stored %lld rows, expected %ld\n",
			(long long)count, res->rows);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	char dir[4096], db[4200];
	int failed = 0;

	if (parse_args(argc, argv, &o) != 0) {
		usage(stderr);
		return 2;
	}
	snprintf(dir, sizeof dir, "%s/simhub-store-bench.XXXXXX", o.dir);
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "store_bench: mkdtemp %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(db, sizeof db, "%s/bench.db", dir);

	printf("store_bench: %d-byte bodies, WAL, one fresh database per run in %s\n",
	       BODY_LEN, o.dir);
	printf("each run: up to %ld rows or %.1f s\n\n", o.max_rows, o.seconds);
	printf("%-8s %7s %10s %8s %12s %11s %12s\n",
	       "sync", "batch", "rows", "seconds", "rows/s", "commits/s", "us/commit");
	for (int si = 0; si < o.n_sync; si++) {
		for (int bi = 0; bi < o.n_batches; bi++) {
			struct result r;
			int sync = o.sync_modes[si];

			remove_db(db);
			if (run_one(db, sync, o.batches[bi], &o, &r) != 0) {
				failed = 1;
				continue;
			}
			printf("%-8s %7ld %10ld %8.2f %12.0f %11.0f %12.1f\n",
			       sync == SH_STORE_SYNC_FULL ? "FULL" : "NORMAL", o.batches[bi],
			       r.rows, r.seconds, (double)r.rows / r.seconds,
			       (double)r.commits / r.seconds, r.seconds * 1e6 / (double)r.commits);
			fflush(stdout);
		}
	}
	remove_db(db);
	rmdir(dir);
	return failed;
}
