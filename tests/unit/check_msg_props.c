/*
 * check_msg_props.c: unit tests of core/msg_props: bag iteration, percent-decoding, parsing
 * into system/application properties (every §3.2 key in both spellings, every SDK encoding
 * in the traces, bad escapes, size limits), building C2D bags, round trips, and the same
 * system properties' HTTPS header names both ways.
 * Bags marked "trace" come from /work/shared/traces; the others from iothub-protocol.md §3.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/msg_props.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* trace: Node device telemetry bag (topic prefix removed) */
#define BAG_NODE                                                                           \
	"%24.mid=msg-0001&%24.cid=corr-1&%24.ct=application%2Fjson&%24.ce=utf-8&alert=high&" \
	"with%20space%26amp%3Deq%2Fslash=v%201%262%3D3%2F%C3%BC"
/* trace: the fake hub's C2D bag in the Node trace (what simhub must produce) */
#define BAG_C2D_TRACE                                                                           \
	"%24.mid=c2d-1&%24.to=%2Fdevices%2Fdev1%2Fmessages%2FdeviceBound&%24.cid=corr-9&%24.ct=" \
	"application%2Fjson&%24.ce=utf-8&%24.exp=2030-01-01T00%3A00%3A00.000Z&iothub-ack=full&"  \
	"color=red&spaced%20key=v%201"

static bool span_is(struct sh_span s, const char *lit)
{
	return sh_span_eq_str(s, lit);
}

static const char *str_of(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static sh_rc parse(const char *bag, cJSON **sys, cJSON **app)
{
	return msg_props_parse(sh_span_str(bag), 262144, sys, app);
}

/* ---- msg_props_next ---- */

START_TEST(msg_props_next_node_trace_items_raw_in_order)
{
	struct sh_span bag = sh_span_str(BAG_NODE);
	static const char *const want[][2] = {
		{ "%24.mid", "msg-0001" }, { "%24.cid", "corr-1" }, { "%24.ct", "application%2Fjson" },
		{ "%24.ce", "utf-8" }, { "alert", "high" },
		{ "with%20space%26amp%3Deq%2Fslash", "v%201%262%3D3%2F%C3%BC" },
	};
	size_t pos = 0;
	struct msg_prop p;
	for (size_t i = 0; i < NELEM(want); i++) {
		ck_assert_int_eq(msg_props_next(bag, &pos, &p), SH_OK);
		ck_assert_msg(span_is(p.key, want[i][0]), "key %zu", i);
		ck_assert_msg(span_is(p.value, want[i][1]), "value %zu", i);
		ck_assert(p.has_value);
		ck_assert(p.key.ptr >= bag.ptr && p.value.ptr + p.value.len <= bag.ptr + bag.len);
	}
	ck_assert_int_eq(msg_props_next(bag, &pos, &p), SH_E_NOTFOUND);
	ck_assert_uint_eq(pos, bag.len);
	ck_assert_int_eq(msg_props_next(bag, &pos, &p), SH_E_NOTFOUND);
}
END_TEST

START_TEST(msg_props_next_key_only_and_empty_value)
{
	struct sh_span bag = sh_span_str("flag&empty=&k=v");
	size_t pos = 0;
	struct msg_prop p;
	ck_assert_int_eq(msg_props_next(bag, &pos, &p), SH_OK);
	ck_assert(span_is(p.key, "flag") && !p.has_value && p.value.len == 0);
	ck_assert_int_eq(msg_props_next(bag, &pos, &p), SH_OK);
	ck_assert(span_is(p.key, "empty") && p.has_value && p.value.len == 0);
	ck_assert_int_eq(msg_props_next(bag, &pos, &p), SH_OK);
	ck_assert(span_is(p.key, "k") && span_is(p.value, "v"));
	ck_assert_int_eq(msg_props_next(bag, &pos, &p), SH_E_NOTFOUND);
}
END_TEST

START_TEST(msg_props_next_raw_slash_and_equals_in_value_kept)
{
	/* §3.2: the C SDK does not encode values: '/' and '=' appear raw */
	struct sh_span bag = sh_span_str("%24.ct=application/json&b64=QUJD==&path=/a/b");
	size_t pos = 0;
	struct msg_prop p;
	ck_assert_int_eq(msg_props_next(bag, &pos, &p), SH_OK);
	ck_assert(span_is(p.value, "application/json"));
	ck_assert_int_eq(msg_props_next(bag, &pos, &p), SH_OK);
	ck_assert(span_is(p.key, "b64") && span_is(p.value, "QUJD=="));
	ck_assert_int_eq(msg_props_next(bag, &pos, &p), SH_OK);
	ck_assert(span_is(p.value, "/a/b"));
}
END_TEST

START_TEST(msg_props_next_empty_items_skipped)
{
	struct sh_span bag = sh_span_str("&&a=1&&&b&");
	size_t pos = 0;
	struct msg_prop p;
	ck_assert_int_eq(msg_props_next(bag, &pos, &p), SH_OK);
	ck_assert(span_is(p.key, "a"));
	ck_assert_int_eq(msg_props_next(bag, &pos, &p), SH_OK);
	ck_assert(span_is(p.key, "b"));
	ck_assert_int_eq(msg_props_next(bag, &pos, &p), SH_E_NOTFOUND);
	pos = 0;
	ck_assert_int_eq(msg_props_next(sh_span_str("&"), &pos, &p), SH_E_NOTFOUND);
}
END_TEST

START_TEST(msg_props_next_empty_and_one_byte)
{
	size_t pos = 0;
	struct msg_prop p;
	ck_assert_int_eq(msg_props_next(sh_span_make(NULL, 0), &pos, &p), SH_E_NOTFOUND);
	ck_assert_int_eq(msg_props_next(sh_span_str(""), &pos, &p), SH_E_NOTFOUND);
	pos = 0;
	ck_assert_int_eq(msg_props_next(sh_span_str("a"), &pos, &p), SH_OK);
	ck_assert(span_is(p.key, "a") && !p.has_value);
	pos = 0;
	ck_assert_int_eq(msg_props_next(sh_span_str("="), &pos, &p), SH_E_MALFORMED);
	pos = 0;
	ck_assert_int_eq(msg_props_next(sh_span_str("%"), &pos, &p), SH_E_MALFORMED);
	pos = 99;
	ck_assert_int_eq(msg_props_next(sh_span_str("a=1"), &pos, &p), SH_E_NOTFOUND);
}
END_TEST

static const char *const bad_items[] = {
	"%G1=v", "k=%G1", "k=%2", "k=%", "%=v", "k=a%2", "k=%%41", "k=%g0", "k%=v", "=v", "=",
	"k=%0G",
};

START_TEST(msg_props_next_bad_item_malformed_then_continues)
{
	char text[64];
	snprintf(text, sizeof text, "%s&next=1", bad_items[_i]);
	struct sh_span bag = sh_span_str(text);
	size_t pos = 0;
	struct msg_prop p;
	ck_assert_msg(msg_props_next(bag, &pos, &p) == SH_E_MALFORMED, "%s", bad_items[_i]);
	ck_assert_uint_eq(pos, strlen(bad_items[_i]));
	ck_assert_int_eq(msg_props_next(bag, &pos, &p), SH_OK);
	ck_assert(span_is(p.key, "next"));
}
END_TEST

/* ---- msg_props_decode ---- */

START_TEST(msg_props_decode_both_hex_cases)
{
	char out[64];
	size_t n;
	ck_assert_int_eq(msg_props_decode(sh_span_str("application%2Fjson"), out, sizeof out, &n), SH_OK);
	ck_assert_str_eq(out, "application/json");
	ck_assert_uint_eq(n, 16);
	ck_assert_int_eq(msg_props_decode(sh_span_str("application%2fjson"), out, sizeof out, &n), SH_OK);
	ck_assert_str_eq(out, "application/json");
	ck_assert_int_eq(msg_props_decode(sh_span_str("urn%3aazureiot%3ASecurity"), out, sizeof out, &n),
			 SH_OK);
	ck_assert_str_eq(out, "urn:azureiot:Security");
	ck_assert_int_eq(msg_props_decode(sh_span_str("%C3%bc%24."), out, sizeof out, &n), SH_OK);
	ck_assert_str_eq(out, "\xc3\xbc$.");
}
END_TEST

START_TEST(msg_props_decode_plus_kept)
{
	char out[16];
	size_t n;
	ck_assert_int_eq(msg_props_decode(sh_span_str("a+b%2B"), out, sizeof out, &n), SH_OK);
	ck_assert_str_eq(out, "a+b+");
}
END_TEST

START_TEST(msg_props_decode_nul_escape_counted)
{
	char out[16];
	size_t n;
	ck_assert_int_eq(msg_props_decode(sh_span_str("a%00b"), out, sizeof out, &n), SH_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert(memcmp(out, "a\0b", 4) == 0);
}
END_TEST

START_TEST(msg_props_decode_empty_ok)
{
	char out[4] = "xyz";
	size_t n = 9;
	ck_assert_int_eq(msg_props_decode(sh_span_make(NULL, 0), out, sizeof out, &n), SH_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(out, "");
}
END_TEST

static const char *const bad_escapes[] = { "%G1", "%", "%2", "a%", "%%", "%g0", "%0g", "x%2", "%-1" };

START_TEST(msg_props_decode_bad_escape_malformed)
{
	char out[16] = "junk";
	size_t n = 7;
	ck_assert_int_eq(msg_props_decode(sh_span_str(bad_escapes[_i]), out, sizeof out, &n),
			 SH_E_MALFORMED);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(msg_props_decode_short_buffer_nospace_reports_need)
{
	char out[8];
	size_t n = 0;
	/* "abc%2Fdef" decodes to 7 bytes: needs 8 */
	ck_assert_int_eq(msg_props_decode(sh_span_str("abc%2Fdef"), out, 7, &n), SH_E_NOSPACE);
	ck_assert_uint_eq(n, 7);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(msg_props_decode(sh_span_str("abc%2Fdef"), NULL, 0, &n), SH_E_NOSPACE);
	ck_assert_uint_eq(n, 7);
	ck_assert_int_eq(msg_props_decode(sh_span_str("abc%2Fdef"), out, 8, NULL), SH_OK);
	ck_assert_str_eq(out, "abc/def");
}
END_TEST

START_TEST(msg_props_decode_all_bytes_round_trip)
{
	/* every byte value, escaped in upper then lower case, decodes back */
	char in[256 * 3 + 1], out[257];
	for (int k = 0; k < 2; k++) {
		for (int b = 0; b < 256; b++)
			snprintf(in + 3 * b, 4, k ? "%%%02x" : "%%%02X", b);
		size_t n;
		ck_assert_int_eq(msg_props_decode(sh_span_make(in, 768), out, sizeof out, &n), SH_OK);
		ck_assert_uint_eq(n, 256);
		for (int b = 0; b < 256; b++)
			ck_assert_int_eq((unsigned char)out[b], b);
	}
}
END_TEST

/* ---- msg_props_parse ---- */

START_TEST(msg_props_parse_node_trace_split_and_decoded)
{
	cJSON *sys, *app;
	ck_assert_int_eq(parse(BAG_NODE, &sys, &app), SH_OK);
	ck_assert_int_eq(cJSON_GetArraySize(sys), 4);
	ck_assert_str_eq(str_of(sys, "message-id"), "msg-0001");
	ck_assert_str_eq(str_of(sys, "correlation-id"), "corr-1");
	ck_assert_str_eq(str_of(sys, "iothub-content-type"), "application/json");
	ck_assert_str_eq(str_of(sys, "iothub-content-encoding"), "utf-8");
	ck_assert_int_eq(cJSON_GetArraySize(app), 2);
	ck_assert_str_eq(str_of(app, "alert"), "high");
	ck_assert_str_eq(str_of(app, "with space&amp=eq/slash"), "v 1&2=3/\xc3\xbc");
	/* order kept */
	ck_assert_str_eq(sys->child->string, "message-id");
	ck_assert_str_eq(app->child->string, "alert");
	cJSON_Delete(sys);
	cJSON_Delete(app);
}
END_TEST

/* Every key of the §3.2 table, in both spellings. */
static const char *const sys_table[][2] = {
	{ "mid", "message-id" },
	{ "cid", "correlation-id" },
	{ "uid", "user-id" },
	{ "to", "to" },
	{ "exp", "absolute-expiry-time" },
	{ "ct", "iothub-content-type" },
	{ "ce", "iothub-content-encoding" },
	{ "ctime", "iothub-creation-time-utc" },
	{ "ifid", "iothub-interface-id" },
	{ "sub", "dt-subject" },
	{ "schema", "iothub-message-schema" },
	{ "on", "iothub-outputname" },
	{ "diagid", "iothub-diag-id" },
	{ "diagctx", "diag-correlation-context" },
	{ "cdid", "iothub-connection-device-id" },
	{ "cmid", "iothub-connection-module-id" },
};

START_TEST(msg_props_parse_every_system_key_both_spellings)
{
	static const char *const prefixes[] = { "%24.", "$.", "%24%2E", "%24%2e" };
	for (size_t k = 0; k < NELEM(prefixes); k++) {
		char bag[128];
		snprintf(bag, sizeof bag, "%s%s=v%%2F1", prefixes[k], sys_table[_i][0]);
		cJSON *sys, *app;
		ck_assert_int_eq(parse(bag, &sys, &app), SH_OK);
		ck_assert_msg(str_of(sys, sys_table[_i][1]) != NULL, "%s", bag);
		ck_assert_str_eq(str_of(sys, sys_table[_i][1]), "v/1");
		ck_assert_int_eq(cJSON_GetArraySize(sys), 1);
		ck_assert_int_eq(cJSON_GetArraySize(app), 0);
		cJSON_Delete(sys);
		cJSON_Delete(app);
	}
}
END_TEST

/* The §3.2 "really seen on the wire" table, one bag per client. */
static const struct {
	const char *bag;
	const char *sys_key, *sys_value, *app_key, *app_value;
} encodings[] = {
	/* C SDK default: user keys/values and system values not encoded */
	{ "alert=true&%24.cid=c1&%24.mid=m1&%24.ct=application/json&%24.ce=utf-8",
	  "iothub-content-type", "application/json", "alert", "true" },
	/* Node */
	{ "%24.mid=m1&%24.ct=application%2Fjson&alert=true", "iothub-content-type", "application/json",
	  "alert", "true" },
	/* Node module output (trailing '/' already stripped by hub_topic) */
	{ "%24.on=out1&k=v", "iothub-outputname", "out1", "k", "v" },
	/* C# */
	{ "%24.mid=m1&alert=true", "message-id", "m1", "alert", "true" },
	/* Python */
	{ "%24.mid=m1&%24.ct=application%2Fjson&alert=true", "message-id", "m1", "alert", "true" },
	/* docs: raw '$' */
	{ "$.ct=application%2Fjson%3Bcharset%3Dutf-8", "iothub-content-type",
	  "application/json;charset=utf-8", NULL, NULL },
	/* C SDK trace: lower-case escapes */
	{ "%24.ct=application%2fjson&%24.ce=utf8", "iothub-content-type", "application/json", NULL, NULL },
	/* security agent (C), lower-case escapes */
	{ "%24.ce=application%2fjson&%24.ifid=urn%3aazureiot%3aSecurity%3aSecurityAgent%3a1",
	  "iothub-interface-id", "urn:azureiot:Security:SecurityAgent:1", NULL, NULL },
	/* Node security message */
	{ "%24.ct=application%2Fjson&%24.ce=utf-8&%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1",
	  "iothub-interface-id", "urn:azureiot:Security:SecurityAgent:1", NULL, NULL },
	/* trace: to/uid/exp/dt-subject, unknown system key kept */
	{ "%24.uid=user-1&%24.to=%2Fdevices%2Fdev1%2Fmessages%2Fevents&%24.exp=2030-01-01T00%3A00%3A00"
	  ".000Z&%24.sub=thermostat1&%24.weird=x",
	  "$.weird", "x", NULL, NULL },
	/* Embedded C component */
	{ "%24.sub=thermostat1", "dt-subject", "thermostat1", NULL, NULL },
	/* distributed tracing context carries '=' and ',' */
	{ "%24.diagid=abc&%24.diagctx=creationtimeutc%3D2020-01-01T00%3A00%3A00.000Z",
	  "diag-correlation-context", "creationtimeutc=2020-01-01T00:00:00.000Z", NULL, NULL },
	/* C2D keys */
	{ BAG_C2D_TRACE, "to", "/devices/dev1/messages/deviceBound", "iothub-ack", "full" },
	/* '+' stays '+' */
	{ "a+b=c+d", NULL, NULL, "a+b", "c+d" },
	/* "$" without "." and "$x" are application keys */
	{ "%24=1&$x=2", NULL, NULL, "$x", "2" },
	/* system keys are case-sensitive: "$.MID" is unknown, kept as is */
	{ "%24.MID=1", "$.MID", "1", NULL, NULL },
};

START_TEST(msg_props_parse_sdk_encodings_ok)
{
	cJSON *sys, *app;
	ck_assert_msg(parse(encodings[_i].bag, &sys, &app) == SH_OK, "%s", encodings[_i].bag);
	if (encodings[_i].sys_key) {
		ck_assert_msg(str_of(sys, encodings[_i].sys_key) != NULL, "%s in %s",
			      encodings[_i].sys_key, encodings[_i].bag);
		ck_assert_str_eq(str_of(sys, encodings[_i].sys_key), encodings[_i].sys_value);
	}
	if (encodings[_i].app_key) {
		ck_assert_msg(str_of(app, encodings[_i].app_key) != NULL, "%s in %s",
			      encodings[_i].app_key, encodings[_i].bag);
		ck_assert_str_eq(str_of(app, encodings[_i].app_key), encodings[_i].app_value);
	}
	/* no key of one object leaks into the other */
	for (const cJSON *it = app->child; it; it = it->next)
		ck_assert(!(it->string[0] == '$' && it->string[1] == '.'));
	cJSON_Delete(sys);
	cJSON_Delete(app);
}
END_TEST

START_TEST(msg_props_parse_null_and_empty_values)
{
	cJSON *sys, *app;
	ck_assert_int_eq(parse("flag&empty=&%24.cid&%24.mid=", &sys, &app), SH_OK);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(app, "flag")));
	ck_assert_str_eq(str_of(app, "empty"), "");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(sys, "correlation-id")));
	ck_assert_str_eq(str_of(sys, "message-id"), "");
	cJSON_Delete(sys);
	cJSON_Delete(app);
}
END_TEST

START_TEST(msg_props_parse_duplicate_last_wins)
{
	cJSON *sys, *app;
	ck_assert_int_eq(parse("a=1&b=2&a=3&$.mid=x&%24.mid=y&a", &sys, &app), SH_OK);
	ck_assert_int_eq(cJSON_GetArraySize(app), 2);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(app, "a")));
	ck_assert_str_eq(app->child->string, "b"); /* the replaced key moved to the end */
	ck_assert_int_eq(cJSON_GetArraySize(sys), 1);
	ck_assert_str_eq(str_of(sys, "message-id"), "y");
	cJSON_Delete(sys);
	cJSON_Delete(app);
	/* keys differing only in case are different keys */
	ck_assert_int_eq(parse("A=1&a=2", &sys, &app), SH_OK);
	ck_assert_int_eq(cJSON_GetArraySize(app), 2);
	cJSON_Delete(sys);
	cJSON_Delete(app);
}
END_TEST

START_TEST(msg_props_parse_empty_bag_two_empty_objects)
{
	cJSON *sys, *app;
	ck_assert_int_eq(msg_props_parse(sh_span_make(NULL, 0), 0, &sys, &app), SH_OK);
	ck_assert(cJSON_IsObject(sys) && cJSON_IsObject(app));
	ck_assert_int_eq(cJSON_GetArraySize(sys) + cJSON_GetArraySize(app), 0);
	cJSON_Delete(sys);
	cJSON_Delete(app);
	ck_assert_int_eq(parse("&&", &sys, &app), SH_OK);
	ck_assert_int_eq(cJSON_GetArraySize(sys) + cJSON_GetArraySize(app), 0);
	cJSON_Delete(sys);
	cJSON_Delete(app);
}
END_TEST

static const char *const bad_bags[] = {
	"a=%G1", "a=1&b=%", "a=%2", "%G1=1", "%24.mid=%2", "=x", "a=1&=2",
	/* decodes to NUL */
	"a=%00", "a%00b=1",
	/* decodes to invalid UTF-8: stray continuation, lone lead, overlong '/', surrogate, > U+10FFFF,
	 * truncated 4-byte, 0xFF */
	"a=%80", "a=%C3", "a=%C0%AF", "a=%ED%A0%80", "a=%F4%90%80%80", "a=%F0%9F%98", "%FF=1",
	"a=\xc3(",
};

START_TEST(msg_props_parse_bad_bag_malformed_outputs_null)
{
	cJSON dummy;
	cJSON *sys = &dummy, *app = &dummy;
	ck_assert_msg(parse(bad_bags[_i], &sys, &app) == SH_E_MALFORMED, "%s", bad_bags[_i]);
	ck_assert_ptr_null(sys);
	ck_assert_ptr_null(app);
}
END_TEST

START_TEST(msg_props_parse_valid_utf8_kept)
{
	cJSON *sys, *app;
	/* 2-, 3- and 4-byte sequences, escaped and raw */
	ck_assert_int_eq(parse("u=%C3%BC%E2%82%AC%F0%9F%98%80&r=\xc3\xbc", &sys, &app), SH_OK);
	ck_assert_str_eq(str_of(app, "u"), "\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80");
	ck_assert_str_eq(str_of(app, "r"), "\xc3\xbc");
	cJSON_Delete(sys);
	cJSON_Delete(app);
}
END_TEST

START_TEST(msg_props_parse_oversize_toolarge)
{
	cJSON dummy;
	cJSON *sys = &dummy, *app = &dummy;
	const char *bag = "a=1&b=2";
	ck_assert_int_eq(msg_props_parse(sh_span_str(bag), 6, &sys, &app), SH_E_TOOLARGE);
	ck_assert_ptr_null(sys);
	ck_assert_ptr_null(app);
	ck_assert_int_eq(msg_props_parse(sh_span_str(bag), 7, &sys, &app), SH_OK);
	cJSON_Delete(sys);
	cJSON_Delete(app);
	ck_assert_int_eq(msg_props_parse(sh_span_str("a"), 0, &sys, &app), SH_E_TOOLARGE);
}
END_TEST

START_TEST(msg_props_parse_item_count_limit)
{
	/* MSG_PROPS_MAX_COUNT distinct items pass, one more is refused */
	size_t cap = (MSG_PROPS_MAX_COUNT + 1) * 8;
	char *bag = malloc(cap);
	ck_assert_ptr_nonnull(bag);
	size_t n = 0;
	for (int i = 0; i < MSG_PROPS_MAX_COUNT; i++)
		n += (size_t)snprintf(bag + n, cap - n, "%sk%d", i ? "&" : "", i);
	cJSON *sys, *app;
	ck_assert_int_eq(msg_props_parse(sh_span_make(bag, n), SIZE_MAX, &sys, &app), SH_OK);
	ck_assert_int_eq(cJSON_GetArraySize(app), MSG_PROPS_MAX_COUNT);
	cJSON_Delete(sys);
	cJSON_Delete(app);
	n += (size_t)snprintf(bag + n, cap - n, "&x");
	ck_assert_int_eq(msg_props_parse(sh_span_make(bag, n), SIZE_MAX, &sys, &app), SH_E_TOOLARGE);
	ck_assert_ptr_null(sys);
	free(bag);
}
END_TEST

START_TEST(msg_props_parse_hostile_large_bag_bounded)
{
	/* 256 KB of one long value and of percent signs: one item each, no blow-up */
	size_t len = 256 * 1024;
	char *bag = malloc(len);
	ck_assert_ptr_nonnull(bag);
	memset(bag, 'v', len);
	bag[0] = 'k';
	bag[1] = '=';
	cJSON *sys, *app;
	ck_assert_int_eq(msg_props_parse(sh_span_make(bag, len), len, &sys, &app), SH_OK);
	ck_assert_uint_eq(strlen(str_of(app, "k")), len - 2);
	cJSON_Delete(sys);
	cJSON_Delete(app);
	memset(bag, '%', len);
	ck_assert_int_eq(msg_props_parse(sh_span_make(bag, len), len, &sys, &app), SH_E_MALFORMED);
	memset(bag, '&', len);
	ck_assert_int_eq(msg_props_parse(sh_span_make(bag, len), len, &sys, &app), SH_OK);
	cJSON_Delete(sys);
	cJSON_Delete(app);
	free(bag);
}
END_TEST

/* ---- msg_props_build ---- */

START_TEST(msg_props_build_reproduces_c2d_trace)
{
	cJSON *sys = cJSON_CreateObject(), *app = cJSON_CreateObject();
	cJSON_AddStringToObject(sys, "message-id", "c2d-1");
	cJSON_AddStringToObject(sys, "to", "/devices/dev1/messages/deviceBound");
	cJSON_AddStringToObject(sys, "correlation-id", "corr-9");
	cJSON_AddStringToObject(sys, "iothub-content-type", "application/json");
	cJSON_AddStringToObject(sys, "iothub-content-encoding", "utf-8");
	cJSON_AddStringToObject(sys, "absolute-expiry-time", "2030-01-01T00:00:00.000Z");
	cJSON_AddStringToObject(sys, "iothub-ack", "full");
	cJSON_AddStringToObject(app, "color", "red");
	cJSON_AddStringToObject(app, "spaced key", "v 1");
	char buf[512];
	size_t n;
	ck_assert_int_eq(msg_props_build(sys, app, buf, sizeof buf, &n), SH_OK);
	ck_assert_str_eq(buf, BAG_C2D_TRACE);
	ck_assert_uint_eq(n, strlen(BAG_C2D_TRACE));
	cJSON_Delete(sys);
	cJSON_Delete(app);
}
END_TEST

START_TEST(msg_props_build_every_system_key_short_name)
{
	cJSON *sys = cJSON_CreateObject();
	cJSON_AddStringToObject(sys, sys_table[_i][1], "x");
	char buf[64], want[64];
	size_t n;
	ck_assert_int_eq(msg_props_build(sys, NULL, buf, sizeof buf, &n), SH_OK);
	snprintf(want, sizeof want, "%%24.%s=x", sys_table[_i][0]);
	ck_assert_str_eq(buf, want);
	cJSON_Delete(sys);
}
END_TEST

START_TEST(msg_props_build_null_empty_and_encoding)
{
	cJSON *sys = cJSON_CreateObject(), *app = cJSON_CreateObject();
	cJSON_AddNullToObject(sys, "correlation-id");
	cJSON_AddStringToObject(sys, "$.weird key", "a/b");
	cJSON_AddNullToObject(app, "flag");
	cJSON_AddStringToObject(app, "empty", "");
	cJSON_AddStringToObject(app, "AZaz09-_.~", "\xc3\xbc +&=%$/?#");
	char buf[256];
	size_t n;
	ck_assert_int_eq(msg_props_build(sys, app, buf, sizeof buf, &n), SH_OK);
	ck_assert_str_eq(buf, "%24.cid&%24.weird%20key=a%2Fb&flag&empty=&AZaz09-_.~="
			      "%C3%BC%20%2B%26%3D%25%24%2F%3F%23");
	cJSON_Delete(sys);
	cJSON_Delete(app);
}
END_TEST

START_TEST(msg_props_build_empty_inputs_empty_text)
{
	char buf[4] = "xyz";
	size_t n = 9;
	ck_assert_int_eq(msg_props_build(NULL, NULL, buf, sizeof buf, &n), SH_OK);
	ck_assert_str_eq(buf, "");
	ck_assert_uint_eq(n, 0);
	cJSON *sys = cJSON_CreateObject(), *app = cJSON_CreateObject();
	ck_assert_int_eq(msg_props_build(sys, app, buf, 1, &n), SH_OK);
	ck_assert_str_eq(buf, "");
	/* application properties alone: no leading '&' */
	cJSON_AddStringToObject(app, "a", "1");
	ck_assert_int_eq(msg_props_build(sys, app, buf, sizeof buf, &n), SH_OK);
	ck_assert_str_eq(buf, "a=1");
	cJSON_Delete(sys);
	cJSON_Delete(app);
}
END_TEST

START_TEST(msg_props_build_short_buffer_nospace_reports_need)
{
	cJSON *app = cJSON_CreateObject();
	cJSON_AddStringToObject(app, "k", "a b");
	char buf[16];
	size_t n = 0;
	ck_assert_int_eq(msg_props_build(NULL, app, buf, 7, &n), SH_E_NOSPACE); /* "k=a%20b" = 7 */
	ck_assert_uint_eq(n, 7);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(msg_props_build(NULL, app, NULL, 0, &n), SH_E_NOSPACE);
	ck_assert_uint_eq(n, 7);
	ck_assert_int_eq(msg_props_build(NULL, app, buf, 8, &n), SH_OK);
	ck_assert_str_eq(buf, "k=a%20b");
	cJSON_Delete(app);
}
END_TEST

START_TEST(msg_props_build_wrong_types_invalid)
{
	char buf[64];
	size_t n = 3;
	cJSON *arr = cJSON_CreateArray(), *str = cJSON_CreateString("x");
	ck_assert_int_eq(msg_props_build(arr, NULL, buf, sizeof buf, &n), SH_E_INVALID);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(msg_props_build(NULL, str, buf, sizeof buf, &n), SH_E_INVALID);
	cJSON_Delete(arr);
	cJSON_Delete(str);

	cJSON *values[] = { cJSON_CreateNumber(1), cJSON_CreateTrue(), cJSON_CreateObject(),
			    cJSON_CreateArray() };
	for (size_t i = 0; i < NELEM(values); i++) {
		cJSON *app = cJSON_CreateObject();
		cJSON_AddStringToObject(app, "ok", "1");
		cJSON_AddItemToObject(app, "bad", values[i]);
		ck_assert_int_eq(msg_props_build(NULL, app, buf, sizeof buf, &n), SH_E_INVALID);
		ck_assert_str_eq(buf, "");
		cJSON_Delete(app);
	}
	cJSON *app = cJSON_CreateObject();
	cJSON_AddStringToObject(app, "", "empty key");
	ck_assert_int_eq(msg_props_build(NULL, app, buf, sizeof buf, &n), SH_E_INVALID);
	cJSON_Delete(app);
}
END_TEST

/* Round trip: parse(build(props)) == props, and build(parse(bag)) is a fixed point. */
START_TEST(msg_props_build_round_trip_parse)
{
	static const char *const bags[] = {
		BAG_NODE, BAG_C2D_TRACE,
		"alert=true&%24.cid=c1&%24.mid=m1&%24.ct=application/json&%24.ce=utf-8",
		"%24.ce=application%2fjson&%24.ifid=urn%3aazureiot%3aSecurity%3aSecurityAgent%3a1",
		"%24.uid=user-1&%24.weird=x&%24.&flag&empty=&a+b=c+d&%24=1",
		"",
	};
	for (size_t i = 0; i < NELEM(bags); i++) {
		cJSON *sys, *app, *sys2, *app2;
		ck_assert_int_eq(parse(bags[i], &sys, &app), SH_OK);
		char built[1024], again[1024];
		size_t n;
		ck_assert_int_eq(msg_props_build(sys, app, built, sizeof built, &n), SH_OK);
		ck_assert_int_eq(parse(built, &sys2, &app2), SH_OK);
		ck_assert_msg(cJSON_Compare(sys, sys2, true), "sys of %s", bags[i]);
		ck_assert_msg(cJSON_Compare(app, app2, true), "app of %s", bags[i]);
		ck_assert_int_eq(msg_props_build(sys2, app2, again, sizeof again, &n), SH_OK);
		ck_assert_str_eq(built, again);
		cJSON_Delete(sys);
		cJSON_Delete(app);
		cJSON_Delete(sys2);
		cJSON_Delete(app2);
	}
}
END_TEST

/* ---- msg_props_canonical_name ---- */

START_TEST(msg_props_canonical_name_table)
{
	const char *c = msg_props_canonical_name(sh_span_str(sys_table[_i][0]));
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c, sys_table[_i][1]);
}
END_TEST

START_TEST(msg_props_canonical_name_unknown_null)
{
	ck_assert_ptr_null(msg_props_canonical_name(sh_span_str("MID")));
	ck_assert_ptr_null(msg_props_canonical_name(sh_span_str("mi")));
	ck_assert_ptr_null(msg_props_canonical_name(sh_span_str("midx")));
	ck_assert_ptr_null(msg_props_canonical_name(sh_span_str("")));
	ck_assert_ptr_null(msg_props_canonical_name(sh_span_str("message-id")));
}
END_TEST

/* ---- HTTPS headers (iothub-protocol.md §3.2 "HTTPS header" column, §7.1) ---- */

/* The table as the doc writes it: header, canonical name. */
static const char *const http_table[][2] = {
	{"iothub-messageid", "message-id"},
	{"iothub-correlationid", "correlation-id"},
	{"iothub-userid", "user-id"},
	{"iothub-to", "to"},
	{"iothub-expiry", "absolute-expiry-time"},
	{"iothub-ack", "iothub-ack"},
	{"iothub-contenttype", "iothub-content-type"},
	{"iothub-contentencoding", "iothub-content-encoding"},
	{"iothub-creationtimeutc", "iothub-creation-time-utc"},
	{"iothub-interface-id", "iothub-interface-id"},
	{"dt-subject", "dt-subject"},
	{"iothub-messageschema", "iothub-message-schema"},
};

START_TEST(msg_props_from_http_header_table_any_case)
{
	const char *h = http_table[_i][0];
	const char *c = msg_props_from_http_header(sh_span_str(h));
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c, http_table[_i][1]);
	char upper[64];
	size_t n = strlen(h);
	for (size_t k = 0; k <= n; k++)
		upper[k] = (char)(h[k] >= 'a' && h[k] <= 'z' ? h[k] - 32 : h[k]);
	c = msg_props_from_http_header(sh_span_str(upper));
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c, http_table[_i][1]);
}
END_TEST

START_TEST(msg_props_from_http_header_node_trace_spellings)
{
	/* trace: node-sdk-device-https.md sendEvent headers */
	ck_assert_str_eq(msg_props_from_http_header(sh_span_str("IoTHub-MessageId")), "message-id");
	ck_assert_str_eq(msg_props_from_http_header(sh_span_str("IoTHub-CorrelationId")), "correlation-id");
	ck_assert_str_eq(msg_props_from_http_header(sh_span_str("iothub-contenttype")), "iothub-content-type");
	ck_assert_str_eq(msg_props_from_http_header(sh_span_str("iothub-contentencoding")),
			 "iothub-content-encoding");
	ck_assert_str_eq(msg_props_from_http_header(sh_span_str("iothub-interface-id")),
			 "iothub-interface-id");
	ck_assert_str_eq(msg_props_from_http_header(sh_span_str("dt-subject")), "dt-subject");
	ck_assert_str_eq(msg_props_from_http_header(sh_span_str("iothub-to")), "to");
	/* not NUL-terminated: only the span counts */
	ck_assert_str_eq(msg_props_from_http_header(sh_span_make("iothub-toXYZ", 9)), "to");
}
END_TEST

START_TEST(msg_props_from_http_header_other_headers_null)
{
	static const char *const other[] = {
		"iothub-app-alert", "iothub-messageidx", "iothub-message-id", "iothub-", "iothub",
		"content-type", "Content-Encoding", "authorization", "dt-subjec", "dt-subject:", "",
		"message-id", "$.mid", "iothub-connection-device-id", "iothub-enqueuedtime",
	};
	for (size_t i = 0; i < NELEM(other); i++)
		ck_assert_msg(msg_props_from_http_header(sh_span_str(other[i])) == NULL, "%s", other[i]);
	ck_assert_ptr_null(msg_props_from_http_header(sh_span_make(NULL, 0)));
}
END_TEST

START_TEST(msg_props_http_header_table)
{
	const char *h = msg_props_http_header(http_table[_i][1]);
	ck_assert_ptr_nonnull(h);
	ck_assert_str_eq(h, http_table[_i][0]);
}
END_TEST

START_TEST(msg_props_http_header_no_header_null)
{
	static const char *const none[] = {"iothub-outputname", "Message-Id", "$.mid", "mid", "",
					   "iothub-connection-device-id", "diag-correlation-context"};
	for (size_t i = 0; i < NELEM(none); i++)
		ck_assert_msg(msg_props_http_header(none[i]) == NULL, "%s", none[i]);
}
END_TEST

START_TEST(msg_props_http_header_at_lists_table_then_null)
{
	size_t i = 0;
	for (; msg_props_http_header_at(i); i++) {
		ck_assert_uint_lt(i, NELEM(http_table));
		ck_assert_str_eq(msg_props_http_header_at(i), http_table[i][0]);
		/* round trip through both directions */
		const char *c = msg_props_from_http_header(sh_span_str(msg_props_http_header_at(i)));
		ck_assert_str_eq(msg_props_http_header(c), msg_props_http_header_at(i));
	}
	ck_assert_uint_eq(i, NELEM(http_table));
	ck_assert_ptr_null(msg_props_http_header_at(1000));
	ck_assert_ptr_null(msg_props_http_header_at(SIZE_MAX));
}
END_TEST

START_TEST(msg_props_text_ok_utf8_without_nul)
{
	ck_assert(msg_props_text_ok(sh_span_str("")));
	ck_assert(msg_props_text_ok(sh_span_make(NULL, 0)));
	ck_assert(msg_props_text_ok(sh_span_str("deg C & more")));
	ck_assert(msg_props_text_ok(sh_span_str("\xc3\xbc \xe2\x82\xac \xf0\x9f\x98\x80")));
	static const char *const bad[] = {
		"\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "\xe2\x82",
	};
	for (size_t i = 0; i < NELEM(bad); i++)
		ck_assert_msg(!msg_props_text_ok(sh_span_str(bad[i])), "case %zu", i);
	ck_assert(!msg_props_text_ok(sh_span_make("a\0b", 3)));
	ck_assert(msg_props_text_ok(sh_span_make("a\0b", 1)));
}
END_TEST

static Suite *msg_props_suite(void)
{
	Suite *s = suite_create("msg_props");
	TCase *tc = tcase_create("msg_props_next");
	tcase_add_test(tc, msg_props_next_node_trace_items_raw_in_order);
	tcase_add_test(tc, msg_props_next_key_only_and_empty_value);
	tcase_add_test(tc, msg_props_next_raw_slash_and_equals_in_value_kept);
	tcase_add_test(tc, msg_props_next_empty_items_skipped);
	tcase_add_test(tc, msg_props_next_empty_and_one_byte);
	tcase_add_loop_test(tc, msg_props_next_bad_item_malformed_then_continues, 0, NELEM(bad_items));
	suite_add_tcase(s, tc);

	tc = tcase_create("msg_props_decode");
	tcase_add_test(tc, msg_props_decode_both_hex_cases);
	tcase_add_test(tc, msg_props_decode_plus_kept);
	tcase_add_test(tc, msg_props_decode_nul_escape_counted);
	tcase_add_test(tc, msg_props_decode_empty_ok);
	tcase_add_loop_test(tc, msg_props_decode_bad_escape_malformed, 0, NELEM(bad_escapes));
	tcase_add_test(tc, msg_props_decode_short_buffer_nospace_reports_need);
	tcase_add_test(tc, msg_props_decode_all_bytes_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("msg_props_parse");
	tcase_add_test(tc, msg_props_parse_node_trace_split_and_decoded);
	tcase_add_loop_test(tc, msg_props_parse_every_system_key_both_spellings, 0, NELEM(sys_table));
	tcase_add_loop_test(tc, msg_props_parse_sdk_encodings_ok, 0, NELEM(encodings));
	tcase_add_test(tc, msg_props_parse_null_and_empty_values);
	tcase_add_test(tc, msg_props_parse_duplicate_last_wins);
	tcase_add_test(tc, msg_props_parse_empty_bag_two_empty_objects);
	tcase_add_loop_test(tc, msg_props_parse_bad_bag_malformed_outputs_null, 0, NELEM(bad_bags));
	tcase_add_test(tc, msg_props_parse_valid_utf8_kept);
	tcase_add_test(tc, msg_props_parse_oversize_toolarge);
	tcase_add_test(tc, msg_props_parse_item_count_limit);
	tcase_add_test(tc, msg_props_parse_hostile_large_bag_bounded);
	suite_add_tcase(s, tc);

	tc = tcase_create("msg_props_build");
	tcase_add_test(tc, msg_props_build_reproduces_c2d_trace);
	tcase_add_loop_test(tc, msg_props_build_every_system_key_short_name, 0, NELEM(sys_table));
	tcase_add_test(tc, msg_props_build_null_empty_and_encoding);
	tcase_add_test(tc, msg_props_build_empty_inputs_empty_text);
	tcase_add_test(tc, msg_props_build_short_buffer_nospace_reports_need);
	tcase_add_test(tc, msg_props_build_wrong_types_invalid);
	tcase_add_test(tc, msg_props_build_round_trip_parse);
	suite_add_tcase(s, tc);

	tc = tcase_create("msg_props_canonical_name");
	tcase_add_loop_test(tc, msg_props_canonical_name_table, 0, NELEM(sys_table));
	tcase_add_test(tc, msg_props_canonical_name_unknown_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("msg_props_from_http_header");
	tcase_add_loop_test(tc, msg_props_from_http_header_table_any_case, 0, NELEM(http_table));
	tcase_add_test(tc, msg_props_from_http_header_node_trace_spellings);
	tcase_add_test(tc, msg_props_from_http_header_other_headers_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("msg_props_http_header");
	tcase_add_loop_test(tc, msg_props_http_header_table, 0, NELEM(http_table));
	tcase_add_test(tc, msg_props_http_header_no_header_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("msg_props_http_header_at");
	tcase_add_test(tc, msg_props_http_header_at_lists_table_then_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("msg_props_text_ok");
	tcase_add_test(tc, msg_props_text_ok_utf8_without_nul);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(msg_props_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
