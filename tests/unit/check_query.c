/*
 * check_query.c: unit tests of core/query: every construct of the twin query language
 * (iothub-protocol.md §9), precedence, IoT Hub's undefined semantics, projection names,
 * GROUP BY / aggregates, and bad input of every kind with the error position checked.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/query.h"

/* ---- fixtures ----------------------------------------------------------------------------- */

static const char *const TWINS[] = {
	/* 0 */ "{\"deviceId\":\"d1\",\"etag\":\"AAA\",\"status\":\"enabled\","
		"\"connectionState\":\"Connected\",\"tags\":{\"location\":{\"region\":\"US\","
		"\"plant\":\"p1\"},\"floor\":3,\"list\":[\"a\",\"b\"],\"odd key\":\"yes\"},"
		"\"properties\":{\"desired\":{\"$version\":2,\"x\":1},\"reported\":{\"$version\":5,"
		"\"status\":\"scanning\",\"temp\":21.5,\"flag\":true,\"nothing\":null,"
		"\"telemetryConfig\":{\"status\":\"Success\"}}}}",
	/* 1 */ "{\"deviceId\":\"d2\",\"status\":\"disabled\",\"tags\":{\"location\":{\"region\":\"EU\"},"
		"\"floor\":1},\"properties\":{\"desired\":{\"$version\":1},\"reported\":{\"$version\":1,"
		"\"temp\":30,\"flag\":false,\"telemetryConfig\":{\"status\":\"Pending\"}}}}",
	/* 2 */ "{\"deviceId\":\"edge-1\",\"moduleId\":\"m1\",\"status\":\"enabled\",\"tags\":{},"
		"\"properties\":{\"desired\":{},\"reported\":{\"temp\":\"hot\","
		"\"telemetryConfig\":{\"status\":\"Success\"}}}}",
};
#define NTWINS 3

static cJSON *twins[NTWINS];

static void setup(void)
{
	for (int i = 0; i < NTWINS; i++) {
		twins[i] = cJSON_Parse(TWINS[i]);
		ck_assert_ptr_nonnull(twins[i]);
	}
}

static void teardown(void)
{
	for (int i = 0; i < NTWINS; i++)
		cJSON_Delete(twins[i]);
}

static struct query *parse_ok(const char *text)
{
	struct query *q = NULL;
	struct iothub_err err = { 0 };
	sh_rc rc = query_parse(text, strlen(text), &q, &err);
	ck_assert_msg(rc == SH_OK, "'%s' failed: %s", text, err.message);
	ck_assert_ptr_nonnull(q);
	return q;
}

/* Parse must fail with rc, and the message must contain `where` (e.g. "line 1, column 8"). */
static void parse_fails(const char *text, size_t len, sh_rc want, const char *where)
{
	struct query *q = (struct query *)0x1;
	struct iothub_err err = { 0 };
	sh_rc rc = query_parse(text, len, &q, &err);
	ck_assert_msg(rc == want, "'%.60s': rc %d, want %d (%s)", text, rc, want, err.message);
	ck_assert_ptr_null(q);
	ck_assert_int_eq(err.code, IOTHUB_ARGUMENT_INVALID);
	ck_assert_msg(strncmp(err.message, "The query is invalid.", 21) == 0, "%s", err.message);
	ck_assert_msg(strstr(err.message, where) != NULL, "'%.60s': message '%s' lacks '%s'", text,
		      err.message, where);
}

/* Bit i set when twin i matches. */
static unsigned match_mask(const char *text)
{
	struct query *q = parse_ok(text);
	unsigned m = 0;
	for (int i = 0; i < NTWINS; i++)
		if (query_match(q, twins[i]))
			m |= 1u << i;
	query_free(q);
	return m;
}

static void assert_json_eq(const cJSON *got, const char *want_text)
{
	cJSON *want = cJSON_Parse(want_text);
	ck_assert_ptr_nonnull(want);
	char *g = cJSON_PrintUnformatted(got);
	ck_assert_msg(cJSON_Compare(got, want, 1), "got %s\nwant %s", g, want_text);
	cJSON_free(g);
	cJSON_Delete(want);
}

/* ---- query_parse -------------------------------------------------------------------------- */

START_TEST(query_parse_valid_forms_parse)
{
	static const char *const ok[] = {
		"SELECT * FROM devices",
		"select * from DEVICES",
		"SeLeCt * FrOm devices.modules",
		"SELECT TOP 10 * FROM devices",
		"SELECT deviceId, properties.reported.temp AS t FROM devices",
		"SELECT COUNT() AS total FROM devices",
		"SELECT COUNT() FROM devices WHERE status = 'enabled'",
		"SELECT properties.reported.telemetryConfig.status AS status, COUNT() AS numberOfDevices "
		"FROM devices GROUP BY properties.reported.telemetryConfig.status",
		"SELECT * FROM devices.modules WHERE properties.reported.status = 'scanning' AND "
		"deviceId IN ['d1','d2']",
		"SELECT * FROM devices WHERE tags.location.region = \"US\"",
		"SELECT * FROM devices WHERE tags['odd key'] = 'yes' AND tags.list[1] = 'b'",
		"SELECT * FROM devices WHERE properties.reported.$version >= 0x10",
		"SELECT * FROM devices WHERE NOT (a = 1 OR b <> 2) AND c != -3.5e2",
		"SELECT * FROM devices WHERE x NIN [] AND y IN [1, 'a', true, null]",
		"SELECT * FROM devices WHERE is_defined(tags.x) AND StartsWith(deviceId, 'd')",
		"SELECT * FROM devices WHERE ENDSWITH(deviceId, '1') OR x = undefined",
		"SELECT * FROM devices WHERE properties.reported.from = 1",
		"SELECT * FROM devices WHERE a + b * c - d / e % f > 0",
		"SELECT count FROM devices",
		"SELECT AVG(properties.reported.temp), SUM(tags.floor), MIN(tags.floor), "
		"MAX(tags.floor) FROM devices",
		"SELECT *\nFROM devices\r\n\tWHERE a = 'x\\'y\\\"\\\\\\u00e9\\ud83d\\ude00'",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		query_free(parse_ok(ok[i]));
}
END_TEST

START_TEST(query_parse_empty_fails_at_start)
{
	parse_fails("", 0, SH_E_MALFORMED, "line 1, column 1: expected SELECT but found end of query");
	parse_fails(NULL, 0, SH_E_MALFORMED, "line 1, column 1");
	parse_fails("   \n  ", 6, SH_E_MALFORMED, "line 2, column 3");
	parse_fails("S", 1, SH_E_MALFORMED, "line 1, column 1: expected SELECT but found 'S'");
}
END_TEST

/* Truncated after every token of a valid query: each prefix fails (the full one parses). */
START_TEST(query_parse_truncated_fails)
{
	static const char full[] = "SELECT deviceId AS d FROM devices WHERE tags.a IN ['x'] GROUP BY deviceId";
	static const size_t cuts[] = { 6, 15, 18, 20, 25, 40, 49, 50, 51, 54, 61, 64 };
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		struct query *q = NULL;
		struct iothub_err err = { 0 };
		ck_assert_msg(query_parse(full, cuts[i], &q, &err) == SH_E_MALFORMED, "cut %zu", cuts[i]);
		ck_assert_ptr_null(q);
		ck_assert_ptr_nonnull(strstr(err.message, "end of query"));
	}
}
END_TEST

START_TEST(query_parse_unterminated_string_fails_at_quote)
{
	parse_fails("SELECT * FROM devices WHERE a = 'abc", 36, SH_E_MALFORMED,
		    "line 1, column 33: unterminated string");
	parse_fails("SELECT * FROM devices WHERE a = 'abc\\'", 38, SH_E_MALFORMED,
		    "column 33: unterminated string");
	parse_fails("SELECT * FROM devices WHERE a = \"x'", 35, SH_E_MALFORMED, "column 33");
}
END_TEST

START_TEST(query_parse_bad_escape_fails)
{
	const char *bad[] = {
		"SELECT * FROM devices WHERE a = 'x\\q'",
		"SELECT * FROM devices WHERE a = '\\u12'",
		"SELECT * FROM devices WHERE a = '\\u0000'",
		"SELECT * FROM devices WHERE a = '\\ud800'",
		"SELECT * FROM devices WHERE a = '\\udc00x'",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		parse_fails(bad[i], strlen(bad[i]), SH_E_MALFORMED, "invalid escape");
}
END_TEST

START_TEST(query_parse_unknown_function_fails)
{
	const char *q = "SELECT * FROM devices WHERE STARTS_WITH(deviceId, 'd')";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "line 1, column 29: unknown function 'STARTS_WITH'");
	q = "SELECT * FROM devices WHERE CONTAINS(deviceId, 'd')";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "unknown function 'CONTAINS'");
	q = "SELECT * FROM devices WHERE IS_STRING(deviceId)";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "unknown function 'IS_STRING'");
	q = "SELECT LOWER(deviceId) FROM devices";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 8: unknown function 'LOWER' in SELECT");
	q = "SELECT * FROM devices WHERE IS_DEFINED('x')";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 40: expected a property path in IS_DEFINED");
	q = "SELECT * FROM devices WHERE STARTSWITH(deviceId)";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 48: expected ','");
	q = "SELECT COUNT(deviceId) FROM devices";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 14: expected ')' (COUNT takes no argument)");
}
END_TEST

START_TEST(query_parse_trailing_garbage_fails)
{
	const char *q = "SELECT * FROM devices WHERE a = 1 b";
	parse_fails(q, strlen(q), SH_E_MALFORMED,
		    "line 1, column 35: expected AND, OR, GROUP BY or end of query but found 'b'");
	q = "SELECT * FROM devices garbage";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 23: expected WHERE, GROUP BY or end of query");
	q = "SELECT * FROM devices WHERE a = 1 = 2";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 35");
	q = "SELECT * FROM devices WHERE a = 1)";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 34");
	q = "SELECT * FROM devices WHERE a = 1 #";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 35: unexpected character '#'");
	parse_fails("SELECT * FROM devices\0x", 23, SH_E_MALFORMED, "column 22: unexpected character '?'");
}
END_TEST

START_TEST(query_parse_keyword_misuse_fails)
{
	const char *q = "SELECT * FROM devices WHERE select = 1";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 29: keyword 'select' cannot be used here");
	q = "SELECT FROM devices";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 8: expected '*', a property path");
	q = "SELECT * devices";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 10: expected FROM but found 'devices'");
	q = "SELECT * FROM twins";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 15: expected devices or devices.modules");
	q = "SELECT * FROM devices.jobs";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 23: devices.jobs is not supported");
	q = "SELECT * FROM devices.things";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 23: expected modules");
	q = "SELECT * FROM devices WHERE a = 1 GROUP deviceId";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 41: expected BY");
	q = "SELECT deviceId AS FROM FROM devices";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 20: expected an alias name after AS");
	q = "SELECT TOP x * FROM devices";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 12: expected a non-negative integer");
	q = "SELECT TOP 1.5 * FROM devices";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 12");
	q = "SELECT * FROM devices WHERE a IN 'x'";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 34: expected '[' after IN/NIN");
	q = "SELECT * FROM devices WHERE a IN ['x' 'y']";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 39: expected ',' or ']'");
	q = "SELECT * FROM devices WHERE a. = 1";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 32: expected a property name after '.'");
	q = "SELECT * FROM devices WHERE a[-1] = 1";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 31: expected a quoted name or an index");
	q = "SELECT * FROM devices WHERE a = 12abc";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 33: invalid number");
	q = "SELECT * FROM devices WHERE a = 1. ";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 33: invalid number");
	q = "SELECT * FROM devices WHERE a = 0x";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "invalid number");
	q = "SELECT * FROM devices WHERE a ! b";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 31: unexpected character '!'");
}
END_TEST

START_TEST(query_parse_aggregate_misuse_fails)
{
	const char *q = "SELECT deviceId, COUNT() FROM devices";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "SELECT element 1 must be an aggregate");
	q = "SELECT * FROM devices GROUP BY status";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 23: SELECT * cannot be used with GROUP BY");
	q = "SELECT deviceId, COUNT() FROM devices GROUP BY status";
	parse_fails(q, strlen(q), SH_E_MALFORMED, "column 39: SELECT element 1 must be");
}
END_TEST

START_TEST(query_parse_multiline_position_counts_lines)
{
	const char *q = "SELECT *\nFROM devices\nWHERE a =\n  = 3";
	parse_fails(q, strlen(q), SH_E_MALFORMED,
		    "line 4, column 3: expected a value, a property path or '(' but found '='");
}
END_TEST

START_TEST(query_parse_huge_nesting_fails)
{
	char buf[4096];
	size_t n = (size_t)snprintf(buf, sizeof buf, "SELECT * FROM devices WHERE ");
	for (int i = 0; i < 100; i++)
		buf[n++] = '(';
	buf[n] = '\0';
	parse_fails(buf, n, SH_E_MALFORMED, "nested too deeply");
	/* 60 levels are fine */
	n = (size_t)snprintf(buf, sizeof buf, "SELECT * FROM devices WHERE ");
	for (int i = 0; i < 60; i++)
		buf[n++] = '(';
	n += (size_t)snprintf(buf + n, sizeof buf - n, "a = 1");
	for (int i = 0; i < 60; i++)
		buf[n++] = ')';
	buf[n] = '\0';
	query_free(parse_ok(buf));
	/* NOT NOT NOT ... and - - - ... */
	n = (size_t)snprintf(buf, sizeof buf, "SELECT * FROM devices WHERE ");
	for (int i = 0; i < 200; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "NOT ");
	n += (size_t)snprintf(buf + n, sizeof buf - n, "true");
	parse_fails(buf, n, SH_E_MALFORMED, "nested too deeply");
	n = (size_t)snprintf(buf, sizeof buf, "SELECT * FROM devices WHERE a = ");
	for (int i = 0; i < 200; i++)
		buf[n++] = '-';
	n += (size_t)snprintf(buf + n, sizeof buf - n, "1");
	parse_fails(buf, n, SH_E_MALFORMED, "nested too deeply");
	/* 1+1+1+... builds a tall tree */
	n = (size_t)snprintf(buf, sizeof buf, "SELECT * FROM devices WHERE a = 1");
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "+1");
	parse_fails(buf, n, SH_E_MALFORMED, "too complex");
}
END_TEST

START_TEST(query_parse_long_or_chain_parses)
{
	/* a generated 8 KB query: 400 alternatives stay a flat list */
	char *buf = malloc(QUERY_MAX_TEXT + 1);
	ck_assert_ptr_nonnull(buf);
	size_t n = (size_t)snprintf(buf, QUERY_MAX_TEXT, "SELECT * FROM devices WHERE deviceId = 'd0'");
	int i = 1;
	while (n + 48 < QUERY_MAX_TEXT)
		n += (size_t)snprintf(buf + n, QUERY_MAX_TEXT - n, " OR deviceId = 'd%d'", i++);
	n += (size_t)snprintf(buf + n, QUERY_MAX_TEXT + 1 - n, " OR deviceId = 'd2'");
	ck_assert_uint_le(n, QUERY_MAX_TEXT);
	struct query *q = NULL;
	ck_assert_int_eq(query_parse(buf, n, &q, NULL), SH_OK);
	ck_assert(query_match(q, twins[1]));
	ck_assert(query_match(q, twins[0]));
	ck_assert(!query_match(q, twins[2]));
	query_free(q);
	free(buf);
}
END_TEST

START_TEST(query_parse_oversize_fails)
{
	char *buf = malloc(QUERY_MAX_TEXT + 2);
	ck_assert_ptr_nonnull(buf);
	size_t n = (size_t)snprintf(buf, QUERY_MAX_TEXT + 2, "SELECT * FROM devices WHERE a = '");
	memset(buf + n, 'x', QUERY_MAX_TEXT + 1 - n);
	buf[QUERY_MAX_TEXT] = '\'';
	parse_fails(buf, QUERY_MAX_TEXT + 1, SH_E_TOOLARGE, "the limit is 8192");
	/* exactly at the limit it parses */
	buf[QUERY_MAX_TEXT - 1] = '\'';
	struct query *q = NULL;
	ck_assert_int_eq(query_parse(buf, QUERY_MAX_TEXT, &q, NULL), SH_OK);
	query_free(q);
	free(buf);
}
END_TEST

START_TEST(query_parse_hostile_bytes_fail_without_crash)
{
	static const char *const bad[] = {
		"\xff\xfe", "SELECT \x80 FROM devices", "'''''", "\"", "SELECT * FROM devices WHERE [",
		"SELECT * FROM devices WHERE a[", "SELECT * FROM devices WHERE a['x'", "((((",
		"SELECT * FROM devices WHERE f(", "SELECT * FROM devices WHERE a = 1e999",
		"SELECT TOP 99999999999 * FROM devices", "SELECT * FROM devices WHERE a = 0x12345678901234",
		"SELECT * FROM devices WHERE NOT", "SELECT * FROM devices WHERE a AND",
		"SELECT * FROM devices WHERE -", "SELECT a, FROM devices", "SELECT a b FROM devices",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct query *q = NULL;
		struct iothub_err err = { 0 };
		ck_assert_msg(query_parse(bad[i], strlen(bad[i]), &q, &err) == SH_E_MALFORMED, "%s", bad[i]);
		ck_assert_ptr_null(q);
		ck_assert_ptr_nonnull(strstr(err.message, "(line 1, column "));
	}
}
END_TEST

START_TEST(query_parse_err_null_is_allowed)
{
	struct query *q = NULL;
	ck_assert_int_eq(query_parse("SELECT", 6, &q, NULL), SH_E_MALFORMED);
	ck_assert_ptr_null(q);
}
END_TEST

/* ---- query_from / query_top / query_is_aggregate ------------------------------------------ */

START_TEST(query_from_modules_reports_modules)
{
	struct query *q = parse_ok("SELECT * FROM devices.modules");
	ck_assert_int_eq(query_from(q), QUERY_FROM_MODULES);
	ck_assert_int_eq(query_top(q), -1);
	ck_assert(!query_is_aggregate(q));
	ck_assert(query_is_select_star(q));
	query_free(q);
	q = parse_ok("select top 7 deviceId from DEVICES");
	ck_assert_int_eq(query_from(q), QUERY_FROM_DEVICES);
	ck_assert_int_eq(query_top(q), 7);
	ck_assert(!query_is_select_star(q));
	query_free(q);
	q = parse_ok("SELECT TOP 3 * FROM devices");
	ck_assert(query_is_select_star(q));
	query_free(q);
	q = parse_ok("SELECT COUNT() FROM devices");
	ck_assert(query_is_aggregate(q));
	ck_assert(!query_is_select_star(q));
	query_free(q);
	q = parse_ok("SELECT status FROM devices GROUP BY status");
	ck_assert(query_is_aggregate(q));
	query_free(q);
	query_free(NULL);
}
END_TEST

/* ---- query_match -------------------------------------------------------------------------- */

struct match_case {
	const char *where;
	unsigned mask;   /* bit i: twin i matches */
};

static const struct match_case MATCHES[] = {
	{ "", 7 },
	{ "WHERE tags.location.region = 'US'", 1 },
	{ "WHERE TAGS.location.region = 'US'", 1 },           /* top level case-insensitive */
	{ "WHERE tags.Location.region = 'US'", 0 },           /* deeper levels are not */
	{ "WHERE tags.location.region != 'US'", 2 },          /* missing field: not a match */
	{ "WHERE tags.location.region <> 'US'", 2 },
	{ "WHERE NOT (tags.location.region = 'US')", 2 },     /* NOT undefined is undefined */
	{ "WHERE deviceId IN ['d1', 'd2']", 3 },
	{ "WHERE deviceId NIN ['d1', 'd2']", 4 },
	{ "WHERE tags.floor NIN [3]", 2 },                   /* undefined stays undefined */
	{ "WHERE deviceId IN []", 0 },
	{ "WHERE tags.floor IN ['3']", 0 },                  /* types do not coerce */
	{ "WHERE tags.floor = '3'", 0 },
	{ "WHERE tags.floor = 3", 1 },
	{ "WHERE tags.floor > 1", 1 },
	{ "WHERE tags.floor >= 1", 3 },
	{ "WHERE tags.floor < 3", 2 },
	{ "WHERE tags.floor <= 3.0", 3 },
	{ "WHERE properties.reported.temp > 25", 2 },        /* "hot" is not a number */
	{ "WHERE properties.reported.temp > 'a'", 4 },       /* strings order ordinally */
	{ "WHERE deviceId < 'd2'", 1 },
	{ "WHERE properties.reported.flag", 1 },              /* only boolean true matches */
	{ "WHERE properties.reported.flag = true", 1 },
	{ "WHERE properties.reported.flag = false", 2 },
	{ "WHERE properties.reported.flag > false", 0 },      /* booleans do not order */
	{ "WHERE properties.reported.nothing = null", 1 },
	{ "WHERE properties.reported.nothing = undefined", 0 },
	{ "WHERE IS_DEFINED(properties.reported.nothing)", 1 },
	{ "WHERE NOT IS_DEFINED(moduleId)", 3 },
	{ "WHERE is_defined(tags.location)", 3 },
	{ "WHERE tags = tags", 0 },                         /* objects never compare */
	{ "WHERE properties.reported.$version = 5", 1 },
	{ "WHERE properties.reported['$version'] = 5", 1 },
	{ "WHERE tags['odd key'] = 'yes'", 1 },
	{ "WHERE tags.list[0] = 'a'", 1 },
	{ "WHERE tags.list[2] = 'a'", 0 },
	{ "WHERE tags[0] = 'a'", 0 },
	{ "WHERE STARTSWITH(deviceId, 'd')", 3 },
	{ "WHERE startswith(deviceId, '')", 7 },
	{ "WHERE ENDSWITH(deviceId, '-1')", 4 },
	{ "WHERE ENDSWITH(deviceId, 'much-too-long-suffix')", 0 },
	{ "WHERE STARTSWITH(tags.floor, '3')", 0 },
	{ "WHERE tags.floor * 2 + 1 = 7", 1 },
	{ "WHERE tags.floor + 1 * 2 = 5", 1 },               /* * before + */
	{ "WHERE (tags.floor + 1) * 2 = 8", 1 },
	{ "WHERE tags.floor % 2 = 1", 3 },
	{ "WHERE tags.floor / 0 = 1", 0 },
	{ "WHERE tags.floor - 4 = -1", 1 },
	{ "WHERE -tags.floor = -3", 1 },
	{ "WHERE 0x10 = 16", 7 },
	{ "WHERE 1.5e1 = 15", 7 },
	{ "WHERE deviceId = 'd1' OR deviceId = 'd2' AND status = 'enabled'", 1 },  /* AND first */
	{ "WHERE (deviceId = 'd1' OR deviceId = 'd2') AND status = 'enabled'", 1 },
	{ "WHERE deviceId = 'd2' OR deviceId = 'd1' AND status = 'disabled'", 2 },
	{ "WHERE NOT deviceId = 'd1' AND status = 'enabled'", 4 },                  /* NOT binds tighter */
	{ "WHERE NOT (deviceId = 'd1' AND status = 'enabled')", 6 },
	{ "WHERE NOT NOT deviceId = 'd1'", 1 },
	{ "WHERE tags.nope = 1 OR deviceId = 'd1'", 1 },      /* undefined OR true = true */
	{ "WHERE NOT (tags.nope = 1 OR deviceId = 'd9')", 0 },/* undefined OR false = undefined */
	{ "WHERE NOT (tags.nope = 1 AND deviceId = 'd9')", 7 },/* undefined AND false = false */
	{ "WHERE status = 'enabled' AND properties.reported.telemetryConfig.status = 'Success'", 5 },
	{ "WHERE deviceId = \"d1\"", 1 },
};

START_TEST(query_match_table_matches)
{
	const struct match_case *c = &MATCHES[_i];
	char text[512];
	snprintf(text, sizeof text, "SELECT * FROM devices %s", c->where);
	unsigned got = match_mask(text);
	ck_assert_msg(got == c->mask, "%s: mask %u, want %u", text, got, c->mask);
}
END_TEST

START_TEST(query_match_string_escapes_decode)
{
	cJSON *t = cJSON_Parse("{\"a\":\"it's \\\"q\\\" \\\\ \\u00e9 \\ud83d\\ude00 /\"}");
	ck_assert_ptr_nonnull(t);
	struct query *q = parse_ok("SELECT * FROM devices WHERE a = 'it\\'s \"q\" \\\\ \\u00E9 "
				   "\\uD83D\\uDE00 \\/'");
	ck_assert(query_match(q, t));
	query_free(q);
	q = parse_ok("SELECT * FROM devices WHERE a = \"it's \\\"q\\\" \\\\ \u00e9 \U0001F600 /\"");
	ck_assert(query_match(q, t));
	query_free(q);
	/* SQL-style doubled quote is two strings glued together: a syntax error */
	const char *bad = "SELECT * FROM devices WHERE a = 'it''s'";
	parse_fails(bad, strlen(bad), SH_E_MALFORMED, "column 37");
	cJSON_Delete(t);
}
END_TEST

/* ---- query_project ------------------------------------------------------------------------ */

START_TEST(query_project_star_copies_twin)
{
	struct query *q = parse_ok("SELECT * FROM devices");
	cJSON *row = query_project(q, twins[0]);
	ck_assert(cJSON_Compare(row, twins[0], 1));
	ck_assert_ptr_ne(row, twins[0]);
	cJSON_Delete(row);
	query_free(q);
}
END_TEST

START_TEST(query_project_columns_named_like_twin)
{
	struct query *q = parse_ok("SELECT DeviceId, properties.reported.temp, tags.location AS loc, "
				   "tags.missing, tags.list[1], properties.reported.nothing FROM devices");
	cJSON *row = query_project(q, twins[0]);
	assert_json_eq(row, "{\"deviceId\":\"d1\",\"temp\":21.5,\"loc\":{\"region\":\"US\","
			    "\"plant\":\"p1\"},\"$5\":\"b\",\"nothing\":null}");
	cJSON_Delete(row);
	row = query_project(q, twins[2]);
	assert_json_eq(row, "{\"deviceId\":\"edge-1\",\"temp\":\"hot\"}");
	cJSON_Delete(row);
	query_free(q);
}
END_TEST

START_TEST(query_project_repeated_name_last_wins)
{
	struct query *q = parse_ok("SELECT deviceId AS x, status AS x FROM devices");
	cJSON *row = query_project(q, twins[1]);
	assert_json_eq(row, "{\"x\":\"disabled\"}");
	cJSON_Delete(row);
	query_free(q);
}
END_TEST

/* ---- query_groups ------------------------------------------------------------------------- */

static cJSON *fold(const char *text)
{
	struct query *q = parse_ok(text);
	ck_assert(query_is_aggregate(q));
	struct query_groups *g = query_groups_new(q);
	ck_assert_ptr_nonnull(g);
	for (int i = 0; i < NTWINS; i++)
		ck_assert_int_eq(query_groups_add(g, twins[i]), SH_OK);
	cJSON *rows = query_groups_result(g);
	ck_assert_ptr_nonnull(rows);
	query_groups_free(g);
	query_free(q);
	return rows;
}

START_TEST(query_groups_count_counts_matches)
{
	cJSON *rows = fold("SELECT COUNT() AS total FROM devices");
	assert_json_eq(rows, "[{\"total\":3}]");
	cJSON_Delete(rows);
	rows = fold("SELECT COUNT() FROM devices WHERE status = 'enabled'");
	assert_json_eq(rows, "[{\"$1\":2}]");
	cJSON_Delete(rows);
	rows = fold("SELECT COUNT() AS n FROM devices WHERE deviceId = 'none'");
	assert_json_eq(rows, "[{\"n\":0}]");
	cJSON_Delete(rows);
}
END_TEST

START_TEST(query_groups_group_by_splits_rows)
{
	cJSON *rows = fold("SELECT properties.reported.telemetryConfig.status AS status, COUNT() AS "
			   "numberOfDevices FROM devices GROUP BY properties.reported.telemetryConfig.status");
	assert_json_eq(rows, "[{\"status\":\"Success\",\"numberOfDevices\":2},"
			     "{\"status\":\"Pending\",\"numberOfDevices\":1}]");
	cJSON_Delete(rows);
	rows = fold("SELECT Status, COUNT() AS n FROM devices WHERE tags.floor >= 0 GROUP BY status");
	assert_json_eq(rows, "[{\"status\":\"enabled\",\"n\":1},{\"status\":\"disabled\",\"n\":1}]");
	cJSON_Delete(rows);
	/* undefined is a group of its own, without the column */
	rows = fold("SELECT tags.floor, COUNT() AS n FROM devices GROUP BY tags.floor");
	assert_json_eq(rows, "[{\"floor\":3,\"n\":1},{\"floor\":1,\"n\":1},{\"n\":1}]");
	cJSON_Delete(rows);
	rows = fold("SELECT COUNT() AS n FROM devices WHERE deviceId = 'none' GROUP BY status");
	assert_json_eq(rows, "[]");
	cJSON_Delete(rows);
}
END_TEST

START_TEST(query_groups_numeric_aggregates_skip_non_numbers)
{
	cJSON *rows = fold("SELECT AVG(properties.reported.temp) AS avg, SUM(properties.reported.temp) AS s, "
			   "MIN(properties.reported.temp) AS lo, MAX(properties.reported.temp) AS hi, "
			   "COUNT() AS n FROM devices");
	assert_json_eq(rows, "[{\"avg\":25.75,\"s\":51.5,\"lo\":21.5,\"hi\":30,\"n\":3}]");
	cJSON_Delete(rows);
	rows = fold("SELECT AVG(tags.none) AS a, SUM(tags.none) AS s, MIN(tags.none) AS lo, "
		    "MAX(tags.none) FROM devices");
	assert_json_eq(rows, "[{\"s\":0}]");
	cJSON_Delete(rows);
}
END_TEST

START_TEST(query_groups_result_is_repeatable)
{
	struct query *q = parse_ok("SELECT COUNT() AS n FROM devices");
	struct query_groups *g = query_groups_new(q);
	cJSON *a = query_groups_result(g);
	ck_assert_int_eq(query_groups_add(g, twins[0]), SH_OK);
	cJSON *b = query_groups_result(g);
	assert_json_eq(a, "[{\"n\":0}]");
	assert_json_eq(b, "[{\"n\":1}]");
	cJSON_Delete(a);
	cJSON_Delete(b);
	query_groups_free(g);
	query_groups_free(NULL);
	query_free(q);
}
END_TEST

static Suite *query_suite(void)
{
	Suite *s = suite_create("query");
	TCase *tc = tcase_create("query_parse");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, query_parse_valid_forms_parse);
	tcase_add_test(tc, query_parse_empty_fails_at_start);
	tcase_add_test(tc, query_parse_truncated_fails);
	tcase_add_test(tc, query_parse_unterminated_string_fails_at_quote);
	tcase_add_test(tc, query_parse_bad_escape_fails);
	tcase_add_test(tc, query_parse_unknown_function_fails);
	tcase_add_test(tc, query_parse_trailing_garbage_fails);
	tcase_add_test(tc, query_parse_keyword_misuse_fails);
	tcase_add_test(tc, query_parse_aggregate_misuse_fails);
	tcase_add_test(tc, query_parse_multiline_position_counts_lines);
	tcase_add_test(tc, query_parse_huge_nesting_fails);
	tcase_add_test(tc, query_parse_long_or_chain_parses);
	tcase_add_test(tc, query_parse_oversize_fails);
	tcase_add_test(tc, query_parse_hostile_bytes_fail_without_crash);
	tcase_add_test(tc, query_parse_err_null_is_allowed);
	suite_add_tcase(s, tc);

	tc = tcase_create("query_from");
	tcase_add_test(tc, query_from_modules_reports_modules);
	suite_add_tcase(s, tc);

	tc = tcase_create("query_match");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, query_match_table_matches, 0,
			    (int)(sizeof MATCHES / sizeof MATCHES[0]));
	tcase_add_test(tc, query_match_string_escapes_decode);
	suite_add_tcase(s, tc);

	tc = tcase_create("query_project");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, query_project_star_copies_twin);
	tcase_add_test(tc, query_project_columns_named_like_twin);
	tcase_add_test(tc, query_project_repeated_name_last_wins);
	suite_add_tcase(s, tc);

	tc = tcase_create("query_groups");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, query_groups_count_counts_matches);
	tcase_add_test(tc, query_groups_group_by_splits_rows);
	tcase_add_test(tc, query_groups_numeric_aggregates_skip_non_numbers);
	tcase_add_test(tc, query_groups_result_is_repeatable);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(query_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
