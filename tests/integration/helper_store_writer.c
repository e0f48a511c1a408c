/*
 * helper_store_writer.c: the writer and the checker of the store's kill -9 test
 * (test_store_kill9.sh). It only talks to the store through store.h; it never decides
 * pass/fail for the script beyond its exit code.
 *
 *   helper_store_writer DB_PATH            write batches forever; after each commit print
 *                                          "committed <last_seq> ok" and flush
 *   helper_store_writer --check DB_PATH N  verify the file after a crash (exit 0 = intact)
 *
 * Every batch holds K rows (K varies from 1 to 50), one operation that is rolled back (its rows
 * must never appear), and a twin update recording the batch's last seq (it must always match
 * the newest row: rows and twin share the transaction). Row `seq` has a body derived from seq
 * alone, so the checker can tell a torn or misplaced row from an intact one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

#define BODY_LEN 200
#define DEVICES 5

static const char *device_of(int64_t seq)
{
	static const char *const names[DEVICES] = { "dev-0", "dev-1", "dev-2", "dev-3", "dev-4" };

	return names[seq % DEVICES];
}

/* The body of row `seq`: 192 bytes of xorshift stream seeded by seq, then seq itself. */
static void make_body(int64_t seq, unsigned char body[BODY_LEN])
{
	uint64_t x = (uint64_t)seq * 0x9E3779B97F4A7C15u + 1;

	for (int i = 0; i < BODY_LEN - 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		body[i] = (unsigned char)(x >> 32);
	}
	for (int i = 0; i < 8; i++)
		body[BODY_LEN - 8 + i] = (unsigned char)((uint64_t)seq >> (8 * i));
}

static void die(const char *what, sh_rc rc, struct sh_store *st)
{
	fprintf(stderr, "helper_store_writer: %s: %s: %s\n", what, sh_rc_str(rc),
		st != NULL ? store_errmsg(st) : "");
	exit(3);
}

static void ensure_devices(struct sh_store *st)
{
	for (int i = 0; i < DEVICES; i++) {
		struct sh_identity id;
		sh_rc rc;

		memset(&id, 0, sizeof id);
		snprintf(id.device_id, sizeof id.device_id, "%s", device_of(i));
		snprintf(id.generation_id, sizeof id.generation_id, "kill9");
		rc = store_identity_insert(st, &id);
		if (rc != SH_OK && rc != SH_E_EXISTS)
			die("identity_insert", rc, st);
	}
}

/* Append row `seq`; the store must hand back exactly that seq (no gaps, no reuse). */
static void append(struct sh_store *st, int64_t seq, const char *message_id)
{
	unsigned char body[BODY_LEN];
	struct sh_d2c_row row = { 0 };
	int64_t got = 0;
	sh_rc rc;

	make_body(seq, body);
	row.device_id = device_of(seq);
	row.enqueued_us = 1700000000000000 + seq;
	row.message_id = message_id;
	row.content_type = "application/octet-stream";
	row.body = body;
	row.body_len = sizeof body;
	rc = store_d2c_append(st, &row, &got);
	if (rc != SH_OK)
		die("d2c_append", rc, st);
	if (got != seq) {
		fprintf(stderr, "helper_store_writer: expected seq %lld, store gave %lld\n",
			(long long)seq, (long long)got);
		exit(3);
	}
}

static int write_forever(const char *path)
{
	struct sh_store *st;
	char err[512], mid[32];
	int64_t next;
	unsigned rnd = (unsigned)getpid();
	sh_rc rc;

	rc = store_open(path, &st, err, sizeof err);
	if (rc != SH_OK) {
		fprintf(stderr, "helper_store_writer: %s\n", err);
		return 3;
	}
	ensure_devices(st);
	rc = store_d2c_count(st, NULL, &next);
	if (rc != SH_OK)
		die("d2c_count", rc, st);
	next++;
	for (;;) {
		int k = 1 + (int)((rnd = rnd * 1103515245u + 12345u) >> 16) % 50;
		char twin[96];

		if ((rc = store_batch_begin(st)) != SH_OK)
			die("batch_begin", rc, st);
		if ((rc = store_op_begin(st)) != SH_OK)
			die("op_begin", rc, st);
		for (int i = 0; i < k; i++, next++) {
			snprintf(mid, sizeof mid, "kill9-%lld", (long long)next);
			append(st, next, mid);
		}
		if ((rc = store_op_end(st, 1)) != SH_OK)
			die("op_end", rc, st);
		/* An operation that fails: its rows vanish and their seqs are reused. */
		if ((rc = store_op_begin(st)) != SH_OK)
			die("op_begin", rc, st);
		append(st, next, "rolled-back");
		append(st, next + 1, "rolled-back");
		if ((rc = store_op_end(st, 0)) != SH_OK)
			die("op_end", rc, st);
		snprintf(twin, sizeof twin, "{\"properties\":{\"reported\":{\"lastSeq\":%lld}}}",
			 (long long)(next - 1));
		if ((rc = store_twin_put(st, "dev-0", NULL, twin, next - 1)) != SH_OK)
			die("twin_put", rc, st);
		if ((rc = store_batch_commit(st)) != SH_OK)
			die("batch_commit", rc, st);
		printf("committed %lld ok\n", (long long)(next - 1));
		fflush(stdout);
	}
}

struct check {
	int64_t expect;     /* next seq expected */
	int64_t bad_seq;    /* first bad row, 0 = none */
	const char *why;
};

static sh_rc check_row(void *arg, int64_t seq, const struct sh_d2c_row *row)
{
	struct check *c = arg;
	unsigned char body[BODY_LEN];
	char mid[32];

	snprintf(mid, sizeof mid, "kill9-%lld", (long long)seq);
	make_body(seq, body);
	if (seq != c->expect)
		c->why = "gap in seq";
	else if (row->body_len != BODY_LEN || memcmp(row->body, body, BODY_LEN) != 0)
		c->why = "body differs";
	else if (row->message_id == NULL || strcmp(row->message_id, mid) != 0)
		c->why = "message id differs (a rolled-back row survived?)";
	else if (strcmp(row->device_id, device_of(seq)) != 0)
		c->why = "device differs";
	if (c->why != NULL) {
		c->bad_seq = seq;
		return SH_E_INVALID;
	}
	c->expect++;
	return SH_OK;
}

static int check(const char *path, int64_t committed)
{
	struct sh_store *st;
	struct check c = { 1, 0, NULL };
	char err[512], *twin = NULL;
	const char *p;
	int64_t last, twin_seq = -1;
	sh_rc rc;

	rc = store_open(path, &st, err, sizeof err);
	if (rc != SH_OK) {
		fprintf(stderr, "check: open: %s\n", err);
		return 1;
	}
	rc = store_check_integrity(st);
	if (rc != SH_OK) {
		fprintf(stderr, "check: integrity: %s\n", store_errmsg(st));
		return 1;
	}
	rc = store_d2c_each(st, NULL, 0, check_row, &c);
	if (rc != SH_OK) {
		fprintf(stderr, "check: row %lld: %s\n", (long long)c.bad_seq,
			c.why != NULL ? c.why : store_errmsg(st));
		return 1;
	}
	last = c.expect - 1;
	if (last < committed) {
		fprintf(stderr, "check: only %lld rows, but %lld were reported committed\n",
			(long long)last, (long long)committed);
		return 1;
	}
	if (last > 0) {
		rc = store_twin_get(st, "dev-0", NULL, &twin);
		if (rc != SH_OK) {
			fprintf(stderr, "check: twin: %s\n", store_errmsg(st));
			return 1;
		}
		p = strstr(twin, "\"lastSeq\":");
		if (p != NULL)
			twin_seq = strtoll(p + strlen("\"lastSeq\":"), NULL, 10);
		free(twin);
		if (twin_seq != last) {
			fprintf(stderr, "check: twin says lastSeq %lld, newest row is %lld\n",
				(long long)twin_seq, (long long)last);
			return 1;
		}
	}
	store_close(st);
	printf("check: ok: %lld rows intact, %lld reported committed\n", (long long)last,
	       (long long)committed);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && argv[1][0] != '-')
		return write_forever(argv[1]);
	if (argc == 4 && strcmp(argv[1], "--check") == 0)
		return check(argv[2], strtoll(argv[3], NULL, 10));
	fprintf(stderr, "usage: helper_store_writer DB_PATH | --check DB_PATH N\n");
	return 2;
}
