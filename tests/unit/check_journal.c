/*
 * check_journal.c: unit tests of core/journal (the recording format of docs/recordings.md):
 * every op parsed from a hand-written line and written back, bad lines of every kind with
 * their error path and reason, the header's version check, and clone renaming.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/identity.h"
#include "core/journal.h"

/* One hand-written line per op, in the writer's own field order (so a write gives it back). */
static const char *const op_lines[] = {
	"{\"t\":0,\"at\":\"2026-01-02T03:04:05.0000000Z\",\"device\":\"dev1\",\"op\":\"connect\","
	"\"transport\":\"mqtt\",\"cleanSession\":true,\"keepAlive\":60}",
	"{\"t\":9000000,\"device\":\"dev1\",\"op\":\"disconnect\",\"reason\":\"client\"}",
	"{\"t\":1500,\"device\":\"dev1\",\"module\":\"mod1\",\"op\":\"telemetry\","
	"\"systemProperties\":{\"message-id\":\"m1\",\"iothub-content-type\":\"application/json\"},"
	"\"properties\":{\"color\":\"red\",\"flag\":null},\"body\":\"{\\\"temp\\\":21.5}\"}",
	"{\"t\":1600,\"device\":\"dev1\",\"op\":\"telemetry\",\"body\":\"AP8BAg==\","
	"\"bodyEncoding\":\"base64\"}",
	"{\"t\":2000,\"device\":\"dev1\",\"op\":\"twin.get\",\"rid\":\"1\",\"status\":200,"
	"\"version\":1}",
	"{\"t\":2500,\"device\":\"dev1\",\"op\":\"twin.reported\",\"rid\":\"2\","
	"\"patch\":{\"fw\":\"1.2\",\"nested\":{\"a\":[1,2]}},\"status\":204,\"version\":2}",
	"{\"t\":3000,\"device\":\"dev1\",\"op\":\"method.response\",\"rid\":\"7\",\"status\":200,"
	"\"payload\":{\"ok\":true}}",
	"{\"t\":3500,\"device\":\"dev1\",\"op\":\"c2d.settle\",\"messageId\":\"c1\","
	"\"outcome\":\"complete\"}",
	"{\"t\":4000,\"device\":\"dev1\",\"op\":\"twin.desired\",\"patch\":{\"interval\":5},"
	"\"version\":3}",
	"{\"t\":4500,\"device\":\"dev1\",\"op\":\"method.request\",\"rid\":\"7\",\"name\":\"reboot\","
	"\"payload\":{\"delay\":1}}",
	"{\"t\":5000,\"device\":\"dev1\",\"op\":\"c2d\",\"messageId\":\"c1\","
	"\"systemProperties\":{\"message-id\":\"c1\"},\"properties\":{\"k\":\"v\"},\"body\":\"hi\"}",
};
static const enum journal_op op_of_line[] = {
	JOURNAL_OP_CONNECT, JOURNAL_OP_DISCONNECT, JOURNAL_OP_TELEMETRY, JOURNAL_OP_TELEMETRY,
	JOURNAL_OP_TWIN_GET, JOURNAL_OP_TWIN_REPORTED, JOURNAL_OP_METHOD_RESPONSE,
	JOURNAL_OP_C2D_SETTLE, JOURNAL_OP_TWIN_DESIRED, JOURNAL_OP_METHOD_REQUEST, JOURNAL_OP_C2D,
};
#define N_OPS ((int)(sizeof op_lines / sizeof op_lines[0]))

static sh_rc parse(const char *line, struct journal_entry *e, struct journal_error *err)
{
	return journal_entry_parse(line, strlen(line), 12, e, err);
}

START_TEST(journal_entry_write_every_op_round_trips_byte_for_byte)
{
	struct journal_entry e;
	struct journal_error err;
	char *out = NULL;
	ck_assert_int_eq(parse(op_lines[_i], &e, &err), SH_OK);
	ck_assert_int_eq(e.op, op_of_line[_i]);
	ck_assert_int_eq(journal_entry_write(&e, &out), SH_OK);
	ck_assert_str_eq(out, op_lines[_i]);
	free(out);
	journal_entry_free(&e);
}
END_TEST

START_TEST(journal_entry_parse_telemetry_fills_fields)
{
	struct journal_entry e;
	ck_assert_int_eq(parse(op_lines[2], &e, NULL), SH_OK);
	ck_assert_int_eq(e.t_us, 1500);
	ck_assert_int_eq(e.at_us, 0);
	ck_assert_str_eq(e.device, "dev1");
	ck_assert_str_eq(e.module, "mod1");
	ck_assert_str_eq(cJSON_GetObjectItem(e.sys_props, "message-id")->valuestring, "m1");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(e.app_props, "flag")));
	ck_assert_uint_eq(e.body_len, 13);
	ck_assert_mem_eq(e.body, "{\"temp\":21.5}", 13);
	journal_entry_free(&e);
}
END_TEST

START_TEST(journal_entry_parse_base64_body_decodes_bytes)
{
	struct journal_entry e;
	ck_assert_int_eq(parse(op_lines[3], &e, NULL), SH_OK);
	ck_assert_int_eq(e.body_encoding, JOURNAL_BODY_BASE64);
	ck_assert_uint_eq(e.body_len, 4);
	ck_assert_mem_eq(e.body, "\x00\xff\x01\x02", 4);
	journal_entry_free(&e);
}
END_TEST

START_TEST(journal_entry_parse_connect_fills_fields_and_time)
{
	struct journal_entry e;
	ck_assert_int_eq(parse(op_lines[0], &e, NULL), SH_OK);
	ck_assert_str_eq(e.transport, "mqtt");
	ck_assert(e.clean_session);
	ck_assert_int_eq(e.keepalive_s, 60);
	ck_assert_int_eq(e.at_us, 1767323045000000LL);   /* 2026-01-02T03:04:05Z, from `date -d` */
	ck_assert_ptr_null(e.module);
	journal_entry_free(&e);
}
END_TEST

START_TEST(journal_entry_parse_twin_answers_fill_status_and_version)
{
	struct journal_entry e;
	ck_assert_int_eq(parse(op_lines[5], &e, NULL), SH_OK);
	ck_assert_str_eq(e.rid, "2");
	ck_assert_int_eq(e.status, 204);
	ck_assert_int_eq(e.version, 2);
	ck_assert_str_eq(cJSON_GetObjectItem(e.patch, "fw")->valuestring, "1.2");
	journal_entry_free(&e);
	ck_assert_int_eq(parse("{\"t\":1,\"device\":\"d\",\"op\":\"twin.reported\",\"patch\":{}}",
			       &e, NULL), SH_OK);
	ck_assert_ptr_null(e.rid);
	ck_assert_int_eq(e.status, 0);
	ck_assert_int_eq(e.version, -1);
	journal_entry_free(&e);
}
END_TEST

START_TEST(journal_entry_parse_trailing_newline_and_unknown_field_succeed)
{
	struct journal_entry e;
	ck_assert_int_eq(parse("{\"t\":1,\"device\":\"d\",\"op\":\"twin.get\",\"rid\":\"1\","
			       "\"futureField\":[1]}\r\n", &e, NULL), SH_OK);
	ck_assert_int_eq(e.op, JOURNAL_OP_TWIN_GET);
	journal_entry_free(&e);
}
END_TEST

struct bad {
	const char *line;
	sh_rc rc;
	const char *path;
	const char *reason_part;
};

static const struct bad bad_lines[] = {
	{"", SH_E_MALFORMED, "$", "empty"},
	{"\n", SH_E_MALFORMED, "$", "empty"},
	{"{", SH_E_MALFORMED, "$", "not valid JSON"},
	{"x", SH_E_MALFORMED, "$", "not valid JSON"},
	{"[1,2]", SH_E_MALFORMED, "$", "JSON object"},
	{"\"op\"", SH_E_MALFORMED, "$", "JSON object"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"telemetry\"} x", SH_E_MALFORMED, "$", "after"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"telemetry\",\"body\":\"ab", SH_E_MALFORMED, "$",
	 "not valid JSON"},
	{"{\"t\":1,\"device\":\"d\"}", SH_E_MALFORMED, "$.op", "missing"},
	{"{\"t\":1,\"device\":\"d\",\"op\":7}", SH_E_MALFORMED, "$.op", "string"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"telepathy\"}", SH_E_NOTFOUND, "$.op", "unknown op"},
	{"{\"device\":\"d\",\"op\":\"telemetry\"}", SH_E_MALFORMED, "$.t", "missing"},
	{"{\"t\":\"1\",\"device\":\"d\",\"op\":\"telemetry\"}", SH_E_MALFORMED, "$.t", "integer"},
	{"{\"t\":-1,\"device\":\"d\",\"op\":\"telemetry\"}", SH_E_MALFORMED, "$.t", "range"},
	{"{\"t\":1.5,\"device\":\"d\",\"op\":\"telemetry\"}", SH_E_MALFORMED, "$.t", "fraction"},
	{"{\"t\":1e300,\"device\":\"d\",\"op\":\"telemetry\"}", SH_E_MALFORMED, "$.t", "range"},
	{"{\"t\":1,\"op\":\"telemetry\"}", SH_E_MALFORMED, "$.device", "missing"},
	{"{\"t\":1,\"device\":\"a/b\",\"op\":\"telemetry\"}", SH_E_MALFORMED, "$.device", "id"},
	{"{\"t\":1,\"device\":\"\",\"op\":\"telemetry\"}", SH_E_MALFORMED, "$.device", "id"},
	{"{\"t\":1,\"device\":\"d\",\"module\":5,\"op\":\"telemetry\"}", SH_E_MALFORMED,
	 "$.module", "string"},
	{"{\"t\":1,\"at\":\"yesterday\",\"device\":\"d\",\"op\":\"telemetry\"}", SH_E_MALFORMED,
	 "$.at", "ISO"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"telemetry\",\"body\":5}", SH_E_MALFORMED, "$.body",
	 "string"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"telemetry\",\"body\":\"!!\",\"bodyEncoding\":"
	 "\"base64\"}", SH_E_MALFORMED, "$.body", "base64"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"telemetry\",\"bodyEncoding\":\"hex\"}", SH_E_MALFORMED,
	 "$.bodyEncoding", "base64"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"telemetry\",\"properties\":[]}", SH_E_MALFORMED,
	 "$.properties", "object"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"telemetry\",\"properties\":{\"k\":1}}", SH_E_MALFORMED,
	 "$.properties.k", "string or null"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"telemetry\",\"systemProperties\":{\"\":\"x\"}}",
	 SH_E_MALFORMED, "$.systemProperties.", "empty"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"connect\",\"cleanSession\":1}", SH_E_MALFORMED,
	 "$.cleanSession", "true or false"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"connect\",\"keepAlive\":70000}", SH_E_MALFORMED,
	 "$.keepAlive", "range"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"twin.get\"}", SH_E_MALFORMED, "$.rid", "missing"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"twin.reported\",\"rid\":\"1\"}", SH_E_MALFORMED,
	 "$.patch", "missing"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"twin.reported\",\"patch\":[1]}", SH_E_MALFORMED,
	 "$.patch", "object"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"twin.reported\",\"patch\":{},\"version\":-2}",
	 SH_E_MALFORMED, "$.version", "range"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"twin.get\",\"rid\":\"1\",\"status\":1000}",
	 SH_E_MALFORMED, "$.status", "range"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"method.response\",\"rid\":\"1\"}", SH_E_MALFORMED,
	 "$.status", "missing"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"method.request\",\"rid\":\"1\",\"name\":\"\"}",
	 SH_E_MALFORMED, "$.name", "empty"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"c2d.settle\",\"messageId\":\"m\",\"outcome\":\"eat\"}",
	 SH_E_MALFORMED, "$.outcome", "complete"},
	{"{\"t\":1,\"device\":\"d\",\"op\":\"c2d.settle\",\"outcome\":\"reject\"}", SH_E_MALFORMED,
	 "$.messageId", "missing"},
	{"{\"simhubJournal\":1,\"hub\":\"h\",\"started\":\"2026-01-01T00:00:00Z\"}", SH_E_MALFORMED,
	 "$.simhubJournal", "header"},
};
#define N_BAD ((int)(sizeof bad_lines / sizeof bad_lines[0]))

START_TEST(journal_entry_parse_bad_line_fails_with_path_and_reason)
{
	struct journal_entry e;
	struct journal_error err;
	const struct bad *b = &bad_lines[_i];
	ck_assert_int_eq(parse(b->line, &e, &err), b->rc);
	ck_assert_int_eq(err.line, 12);
	ck_assert_str_eq(err.path, b->path);
	ck_assert_msg(strstr(err.reason, b->reason_part), "reason \"%s\" lacks \"%s\"", err.reason,
		      b->reason_part);
	journal_entry_free(&e);
}
END_TEST

START_TEST(journal_entry_parse_every_truncation_fails)
{
	const char *line = op_lines[5];
	size_t n = strlen(line);
	for (size_t k = 0; k < n; k++) {
		struct journal_entry e;
		ck_assert_int_ne(journal_entry_parse(line, k, 1, &e, NULL), SH_OK);
		journal_entry_free(&e);
	}
}
END_TEST

START_TEST(journal_entry_parse_one_byte_fails)
{
	struct journal_entry e;
	ck_assert_int_eq(journal_entry_parse("{", 1, 1, &e, NULL), SH_E_MALFORMED);
	journal_entry_free(&e);
	ck_assert_int_eq(journal_entry_parse("{}", 1, 1, &e, NULL), SH_E_MALFORMED);
	journal_entry_free(&e);
}
END_TEST

START_TEST(journal_entry_parse_embedded_nul_fails)
{
	static const char line[] = "{\"t\":1,\"device\":\"d\",\"op\":\"twin.get\",\"rid\":\"1\"}";
	char buf[sizeof line];
	memcpy(buf, line, sizeof line);
	buf[20] = '\0';
	struct journal_entry e;
	struct journal_error err;
	ck_assert_int_eq(journal_entry_parse(buf, sizeof line - 1, 1, &e, &err), SH_E_MALFORMED);
	ck_assert(strstr(err.reason, "NUL"));
	journal_entry_free(&e);
}
END_TEST

START_TEST(journal_entry_parse_oversize_line_fails_too_large)
{
	size_t n = JOURNAL_LINE_MAX + 1;
	char *big = malloc(n);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	big[0] = '{';
	struct journal_entry e;
	struct journal_error err;
	ck_assert_int_eq(journal_entry_parse(big, n, 3, &e, &err), SH_E_TOOLARGE);
	ck_assert_str_eq(err.path, "$");
	free(big);
	journal_entry_free(&e);
}
END_TEST

START_TEST(journal_entry_parse_oversize_string_field_fails_too_large)
{
	size_t n = JOURNAL_TEXT_MAX + 1;
	char *line = malloc(n + 100);
	ck_assert_ptr_nonnull(line);
	int k = sprintf(line, "{\"t\":1,\"device\":\"d\",\"op\":\"twin.get\",\"rid\":\"");
	memset(line + k, 'r', n);
	strcpy(line + k + n, "\"}");
	struct journal_entry e;
	struct journal_error err;
	ck_assert_int_eq(parse(line, &e, &err), SH_E_TOOLARGE);
	ck_assert_str_eq(err.path, "$.rid");
	free(line);
	journal_entry_free(&e);
	/* an id one over the IoT Hub limit */
	char id[200];
	memset(id, 'a', 129);
	id[129] = '\0';
	char l2[300];
	snprintf(l2, sizeof l2, "{\"t\":1,\"device\":\"%s\",\"op\":\"connect\"}", id);
	ck_assert_int_eq(parse(l2, &e, &err), SH_E_TOOLARGE);
	ck_assert_str_eq(err.path, "$.device");
	journal_entry_free(&e);
}
END_TEST

START_TEST(journal_entry_parse_hostile_nesting_is_bounded)
{
	/* 5000 nested arrays in a payload: cJSON's nesting limit refuses it, no stack overflow */
	size_t depth = 5000;
	char *line = malloc(2 * depth + 200);
	ck_assert_ptr_nonnull(line);
	int k = sprintf(line, "{\"t\":1,\"device\":\"d\",\"op\":\"method.request\",\"rid\":\"1\","
			      "\"name\":\"m\",\"payload\":");
	memset(line + k, '[', depth);
	memset(line + k + depth, ']', depth);
	strcpy(line + k + 2 * depth, "}");
	struct journal_entry e;
	ck_assert_int_eq(parse(line, &e, NULL), SH_E_MALFORMED);
	free(line);
	journal_entry_free(&e);
}
END_TEST

START_TEST(journal_entry_write_text_body_with_nul_switches_to_base64)
{
	struct journal_entry e = {.op = JOURNAL_OP_TELEMETRY, .t_us = 5, .version = -1};
	e.device = "d1";
	uint8_t body[] = {'a', 0, 'b'};
	e.body = body;
	e.body_len = 3;
	char *out = NULL;
	ck_assert_int_eq(journal_entry_write(&e, &out), SH_OK);
	ck_assert_str_eq(out, "{\"t\":5,\"device\":\"d1\",\"op\":\"telemetry\",\"body\":\"YQBi\","
			      "\"bodyEncoding\":\"base64\"}");
	struct journal_entry back;
	ck_assert_int_eq(parse(out, &back, NULL), SH_OK);
	ck_assert_uint_eq(back.body_len, 3);
	ck_assert_mem_eq(back.body, body, 3);
	journal_entry_free(&back);
	free(out);
}
END_TEST

START_TEST(journal_entry_write_missing_required_field_fails_invalid)
{
	char *out = (char *)1;
	struct journal_entry e = {.op = JOURNAL_OP_TWIN_REPORTED, .t_us = 1, .version = -1};
	ck_assert_int_eq(journal_entry_write(&e, &out), SH_E_INVALID);   /* no device */
	ck_assert_ptr_null(out);
	e.device = "d";
	ck_assert_int_eq(journal_entry_write(&e, &out), SH_E_INVALID);   /* no patch */
	e.op = JOURNAL_OP_COUNT;
	ck_assert_int_eq(journal_entry_write(&e, &out), SH_E_INVALID);
	e.op = JOURNAL_OP_CONNECT;
	e.t_us = -1;
	ck_assert_int_eq(journal_entry_write(&e, &out), SH_E_INVALID);
	e.t_us = 0;
	e.device = "bad/id";
	ck_assert_int_eq(journal_entry_write(&e, &out), SH_E_INVALID);
}
END_TEST

/* ---- header ---- */

START_TEST(journal_header_parse_valid_header_fills_fields)
{
	static const char line[] = "{\"simhubJournal\":1,\"hub\":\"myhub.azure-devices.net\","
				   "\"started\":\"2026-01-02T03:04:05.0000000Z\","
				   "\"source\":\"simhub 0.1.0\"}\n";
	struct journal_header h;
	ck_assert_int_eq(journal_header_parse(line, strlen(line), 1, &h, NULL), SH_OK);
	ck_assert_int_eq(h.version, 1);
	ck_assert_str_eq(h.hub, "myhub.azure-devices.net");
	ck_assert_str_eq(h.source, "simhub 0.1.0");
	ck_assert_int_eq(h.started_us, 1767323045000000LL);
	char *out = NULL;
	ck_assert_int_eq(journal_header_write(&h, &out), SH_OK);
	ck_assert_int_eq(strncmp(out, line, strlen(line) - 1), 0);
	ck_assert_uint_eq(strlen(out), strlen(line) - 1);
	free(out);
	journal_header_free(&h);
}
END_TEST

START_TEST(journal_header_parse_newer_version_fails_version)
{
	static const char line[] = "{\"simhubJournal\":2,\"hub\":\"h\",\"started\":"
				   "\"2026-01-02T03:04:05Z\"}";
	struct journal_header h;
	struct journal_error err;
	ck_assert_int_eq(journal_header_parse(line, strlen(line), 1, &h, &err), SH_E_VERSION);
	ck_assert_str_eq(err.path, "$.simhubJournal");
	ck_assert(strstr(err.reason, "version 2") && strstr(err.reason, "(1)"));
	ck_assert_ptr_null(h.hub);
}
END_TEST

static const struct bad bad_headers[] = {
	{"", SH_E_MALFORMED, "$", "empty"},
	{"{", SH_E_MALFORMED, "$", "JSON"},
	{"{\"t\":0,\"device\":\"d\",\"op\":\"connect\"}", SH_E_MALFORMED, "$.simhubJournal",
	 "not a simhub journal"},
	{"{\"simhubJournal\":\"1\",\"hub\":\"h\",\"started\":\"2026-01-02T03:04:05Z\"}",
	 SH_E_MALFORMED, "$.simhubJournal", "integer"},
	{"{\"simhubJournal\":0,\"hub\":\"h\",\"started\":\"2026-01-02T03:04:05Z\"}", SH_E_MALFORMED,
	 "$.simhubJournal", "range"},
	{"{\"simhubJournal\":1,\"started\":\"2026-01-02T03:04:05Z\"}", SH_E_MALFORMED, "$.hub",
	 "missing"},
	{"{\"simhubJournal\":1,\"hub\":\"\",\"started\":\"2026-01-02T03:04:05Z\"}", SH_E_MALFORMED,
	 "$.hub", "empty"},
	{"{\"simhubJournal\":1,\"hub\":\"h\"}", SH_E_MALFORMED, "$.started", "missing"},
	{"{\"simhubJournal\":1,\"hub\":\"h\",\"started\":\"2026-13-02T03:04:05Z\"}",
	 SH_E_MALFORMED, "$.started", "ISO"},
	{"{\"simhubJournal\":1,\"hub\":\"h\",\"started\":\"2026-01-02T03:04:05Z\",\"source\":[]}",
	 SH_E_MALFORMED, "$.source", "string"},
};
#define N_BAD_HEADERS ((int)(sizeof bad_headers / sizeof bad_headers[0]))

START_TEST(journal_header_parse_bad_header_fails_with_path)
{
	const struct bad *b = &bad_headers[_i];
	struct journal_header h;
	struct journal_error err;
	ck_assert_int_eq(journal_header_parse(b->line, strlen(b->line), 1, &h, &err), b->rc);
	ck_assert_str_eq(err.path, b->path);
	ck_assert_msg(strstr(err.reason, b->reason_part), "reason \"%s\"", err.reason);
	ck_assert_ptr_null(h.hub);
}
END_TEST

START_TEST(journal_header_write_invalid_header_fails)
{
	char *out = NULL;
	struct journal_header h = {.version = 0, .hub = "h", .started_us = 1};
	ck_assert_int_eq(journal_header_write(&h, &out), SH_E_INVALID);
	h.version = 1;
	h.hub = "";
	ck_assert_int_eq(journal_header_write(&h, &out), SH_E_INVALID);
	h.hub = "h";
	h.started_us = INT64_MAX;
	ck_assert_int_eq(journal_header_write(&h, &out), SH_E_INVALID);
	ck_assert_ptr_null(out);
}
END_TEST

/* ---- clones, names, errors ---- */

START_TEST(journal_clone_id_patterns_expand)
{
	char out[64];
	size_t n = 0;
	ck_assert_int_eq(journal_clone_id("{id}-{n}", "dev1", 7, out, sizeof out, &n), SH_OK);
	ck_assert_str_eq(out, "dev1-7");
	ck_assert_uint_eq(n, 6);
	ck_assert_int_eq(journal_clone_id("c{n:4}.{id}", "dev1", 42, out, sizeof out, &n), SH_OK);
	ck_assert_str_eq(out, "c0042.dev1");
	ck_assert_int_eq(journal_clone_id("{n}", "x", 0, out, sizeof out, &n), SH_OK);
	ck_assert_str_eq(out, "0");
}
END_TEST

START_TEST(journal_clone_id_bad_pattern_fails_invalid)
{
	char out[64];
	ck_assert_int_eq(journal_clone_id("{id}", "d", 1, out, sizeof out, NULL), SH_E_INVALID);
	ck_assert_int_eq(journal_clone_id("{id}-{m}", "d", 1, out, sizeof out, NULL), SH_E_INVALID);
	ck_assert_int_eq(journal_clone_id("{id}-{n", "d", 1, out, sizeof out, NULL), SH_E_INVALID);
	ck_assert_int_eq(journal_clone_id("{id}/{n}", "d", 1, out, sizeof out, NULL), SH_E_INVALID);
	ck_assert_int_eq(journal_clone_id("{n:0}", "d", 1, out, sizeof out, NULL), SH_E_INVALID);
	ck_assert_int_eq(journal_clone_id("", "d", 1, out, sizeof out, NULL), SH_E_INVALID);
	ck_assert_int_eq(journal_clone_id(NULL, "d", 1, out, sizeof out, NULL), SH_E_INVALID);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(journal_clone_id_too_long_fails)
{
	char id[SH_ID_MAX + 1];
	memset(id, 'a', SH_ID_MAX);
	id[SH_ID_MAX] = '\0';
	char out[512];
	/* fits the buffer, but 128 + "-1" is over the IoT Hub id limit */
	ck_assert_int_eq(journal_clone_id("{id}-{n}", id, 1, out, sizeof out, NULL), SH_E_INVALID);
	char small[4];
	size_t n = 0;
	ck_assert_int_eq(journal_clone_id("{id}-{n}", "dev1", 12, small, sizeof small, &n),
			 SH_E_NOSPACE);
	ck_assert_uint_eq(n, 7);
	ck_assert_uint_eq(strlen(small), 3);
}
END_TEST

START_TEST(journal_op_name_every_op_parses_back)
{
	for (int k = 0; k < JOURNAL_OP_COUNT; k++)
		ck_assert_str_ne(journal_op_name((enum journal_op)k), "unknown");
	ck_assert_str_eq(journal_op_name(JOURNAL_OP_COUNT), "unknown");
	ck_assert(journal_op_from_device(JOURNAL_OP_C2D_SETTLE));
	ck_assert(!journal_op_from_device(JOURNAL_OP_TWIN_DESIRED));
	ck_assert(!journal_op_from_device(JOURNAL_OP_COUNT));
}
END_TEST

START_TEST(journal_error_format_names_file_line_path)
{
	struct journal_entry e;
	struct journal_error err;
	ck_assert_int_eq(parse("{\"t\":1,\"device\":\"d\",\"op\":\"telepathy\"}", &e, &err),
			 SH_E_NOTFOUND);
	char buf[256];
	journal_error_format(&err, "x.jsonl", buf, sizeof buf);
	ck_assert_msg(strncmp(buf, "x.jsonl:12: $.op: unknown op \"telepathy\"", 40) == 0, "%s",
		      buf);
	journal_entry_free(&e);
}
END_TEST

static Suite *journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("journal_entry_parse");
	tcase_add_test(tc, journal_entry_parse_telemetry_fills_fields);
	tcase_add_test(tc, journal_entry_parse_base64_body_decodes_bytes);
	tcase_add_test(tc, journal_entry_parse_connect_fills_fields_and_time);
	tcase_add_test(tc, journal_entry_parse_twin_answers_fill_status_and_version);
	tcase_add_test(tc, journal_entry_parse_trailing_newline_and_unknown_field_succeed);
	tcase_add_loop_test(tc, journal_entry_parse_bad_line_fails_with_path_and_reason, 0, N_BAD);
	tcase_add_test(tc, journal_entry_parse_every_truncation_fails);
	tcase_add_test(tc, journal_entry_parse_one_byte_fails);
	tcase_add_test(tc, journal_entry_parse_embedded_nul_fails);
	tcase_add_test(tc, journal_entry_parse_oversize_line_fails_too_large);
	tcase_add_test(tc, journal_entry_parse_oversize_string_field_fails_too_large);
	tcase_add_test(tc, journal_entry_parse_hostile_nesting_is_bounded);
	suite_add_tcase(s, tc);

	tc = tcase_create("journal_entry_write");
	tcase_add_loop_test(tc, journal_entry_write_every_op_round_trips_byte_for_byte, 0, N_OPS);
	tcase_add_test(tc, journal_entry_write_text_body_with_nul_switches_to_base64);
	tcase_add_test(tc, journal_entry_write_missing_required_field_fails_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("journal_header_parse");
	tcase_add_test(tc, journal_header_parse_valid_header_fills_fields);
	tcase_add_test(tc, journal_header_parse_newer_version_fails_version);
	tcase_add_loop_test(tc, journal_header_parse_bad_header_fails_with_path, 0, N_BAD_HEADERS);
	suite_add_tcase(s, tc);

	tc = tcase_create("journal_header_write");
	tcase_add_test(tc, journal_header_write_invalid_header_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("journal_clone_id");
	tcase_add_test(tc, journal_clone_id_patterns_expand);
	tcase_add_test(tc, journal_clone_id_bad_pattern_fails_invalid);
	tcase_add_test(tc, journal_clone_id_too_long_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("journal_op_name");
	tcase_add_test(tc, journal_op_name_every_op_parses_back);
	suite_add_tcase(s, tc);

	tc = tcase_create("journal_error_format");
	tcase_add_test(tc, journal_error_format_names_file_line_path);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(journal_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
