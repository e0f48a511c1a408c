/*
 * check_fixture.c: unit tests of the fixture room (core/fixture) and of the id rule it relies
 * on (identity_validate_id in core/identity.c). Inline JSON only: the demo fixtures under
 * fixtures/demo/ are parsed by the integration tests through `simhub load`.
 * Never touches storage or the network.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/fixture.h"
#include "core/identity.h"

/* Test keys (32 random bytes each); not used anywhere else. */
#define K1 "t1CAOadhixhQthLQKWlyPmdQLHHu61HdaHWvsEJWCKA="
#define K2 "6jcRM9HSjaEESdvwh1a4QVQroSTnQo+xs5VKPhC5Wl4="
#define K3 "0XpBhlqNGiQd4MxHXL4fCrz/BhYcXFI1Fg/EEXXnBZM="
#define THUMB_LOWER "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
#define THUMB_UPPER "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567"

/*
 * Parse JSON written with single quotes (turned into double quotes first) so the test texts
 * stay readable. The converted text is handed over with its exact length and no NUL, so
 * ASan sees any read past the end.
 */
static sh_rc parse_q(const char *single_quoted, struct fixture **fx, struct fixture_error *err)
{
	size_t n = strlen(single_quoted);
	char *buf = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < n; i++)
		buf[i] = single_quoted[i] == '\'' ? '"' : single_quoted[i];
	sh_rc rc = fixture_parse(buf, n, fx, err);
	free(buf);
	return rc;
}

/* Parse raw bytes (no quote conversion). */
static sh_rc parse_raw(const char *text, size_t n, struct fixture **fx, struct fixture_error *err)
{
	char *buf = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, text, n);
	sh_rc rc = fixture_parse(buf, n, fx, err);
	free(buf);
	return rc;
}

/* Expect a failure with `rc` at exactly `path`, whose reason contains `reason_part`. */
static void expect_fail(const char *q, sh_rc rc, const char *path, const char *reason_part)
{
	struct fixture *fx = (struct fixture *)1;
	struct fixture_error e;
	sh_rc got = parse_q(q, &fx, &e);
	ck_assert_msg(got == rc, "input %s: rc %d (%s: %s), want %d", q, got, e.path, e.reason, rc);
	ck_assert_ptr_null(fx);
	ck_assert_str_eq(e.path, path);
	ck_assert_msg(strstr(e.reason, reason_part) != NULL, "reason \"%s\" lacks \"%s\"",
		      e.reason, reason_part);
}

static struct fixture *expect_ok(const char *q)
{
	struct fixture *fx = NULL;
	struct fixture_error e;
	sh_rc rc = parse_q(q, &fx, &e);
	ck_assert_msg(rc == SH_OK, "input %s: rc %d at %s: %s", q, rc, e.path, e.reason);
	ck_assert_ptr_nonnull(fx);
	return fx;
}

static const char full_q[] =
	"{'version':1,'description':'unit test',"
	"'settings':{'hostname':'unit.azure-devices.net','security':{'autoCreateModule':true}},"
	"'policies':["
	"{'name':'iothubowner','primaryKey':'" K1 "','secondaryKey':'" K2 "',"
	"'rights':['RegistryRead','RegistryWrite','ServiceConnect','DeviceConnect']},"
	"{'name':'device','rights':['DeviceConnect']}],"
	"'devices':["
	"{'id':'dev-1','status':'disabled','statusReason':'maintenance',"
	"'authentication':{'type':'sas','primaryKey':'" K1 "','secondaryKey':'" K2 "'},"
	"'capabilities':{'iotEdge':true},"
	"'twin':{'tags':{'site':'lab'},'desired':{'interval':5},'reported':{'fw':'1.0'}},"
	"'modules':[{'id':'azureiotsecurity','authentication':{'primaryKey':'" K3 "'},"
	"'twin':{'desired':{'x':{'value':1}}}},{'id':'m2','managedBy':'IotEdge'}]},"
	"{'id':'dev-2','authentication':{'type':'selfSigned','primaryThumbprint':'" THUMB_LOWER "'}},"
	"{'id':'dev-3','modules':[{'id':'azureiotsecurity'}]}]}";

/* --- fixture_parse: bad input --------------------------------------------------------------- */

START_TEST(fixture_parse_empty_input_fails)
{
	struct fixture *fx = (struct fixture *)1;
	struct fixture_error e;
	ck_assert_int_eq(fixture_parse("", 0, &fx, &e), SH_E_MALFORMED);
	ck_assert_ptr_null(fx);
	ck_assert_str_eq(e.path, "$");
	ck_assert_uint_eq(e.line, 1);
	ck_assert_uint_eq(e.column, 1);
	ck_assert_ptr_nonnull(strstr(e.reason, "empty"));
	ck_assert_int_eq(fixture_parse(NULL, 0, &fx, &e), SH_E_MALFORMED);
}
END_TEST

START_TEST(fixture_parse_whitespace_only_fails)
{
	struct fixture *fx = NULL;
	struct fixture_error e;
	ck_assert_int_eq(parse_raw(" \n\t\r ", 5, &fx, &e), SH_E_MALFORMED);
	ck_assert_ptr_nonnull(strstr(e.reason, "empty"));
	ck_assert_uint_eq(e.line, 2);
}
END_TEST

START_TEST(fixture_parse_one_byte_fails)
{
	static const char *const bytes[] = { "{", "}", "[", "0", "\"", "x", " ", "\xff" };
	for (size_t i = 0; i < sizeof bytes / sizeof bytes[0]; i++) {
		struct fixture *fx = (struct fixture *)1;
		struct fixture_error e;
		sh_rc rc = parse_raw(bytes[i], 1, &fx, &e);
		ck_assert_msg(rc == SH_E_MALFORMED || rc == SH_E_INVALID, "byte %zu: rc %d", i, rc);
		ck_assert_ptr_null(fx);
	}
	/* "0" is valid JSON but not an object. */
	struct fixture *fx = NULL;
	struct fixture_error e;
	ck_assert_int_eq(parse_raw("0", 1, &fx, &e), SH_E_INVALID);
	ck_assert_str_eq(e.path, "$");
	ck_assert_str_eq(e.reason, "must be a JSON object, not a number");
}
END_TEST

START_TEST(fixture_parse_truncated_fails)
{
	size_t n = strlen(full_q);
	char *buf = malloc(n);
	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < n; i++)
		buf[i] = full_q[i] == '\'' ? '"' : full_q[i];
	/* Every strict prefix of an object is malformed; the whole text parses. */
	for (size_t cut = 0; cut < n; cut++) {
		char *exact = malloc(cut ? cut : 1);
		ck_assert_ptr_nonnull(exact);
		memcpy(exact, buf, cut);
		struct fixture *fx = (struct fixture *)1;
		struct fixture_error e;
		sh_rc rc = fixture_parse(exact, cut, &fx, &e);
		free(exact);
		ck_assert_msg(rc == SH_E_MALFORMED, "cut at %zu: rc %d", cut, rc);
		ck_assert_ptr_null(fx);
		ck_assert_uint_eq(e.line, 1);
		ck_assert_uint_le(e.column, cut + 1);
	}
	struct fixture *fx = NULL;
	ck_assert_int_eq(fixture_parse(buf, n, &fx, NULL), SH_OK);
	fixture_free(fx);
	free(buf);
}
END_TEST

START_TEST(fixture_parse_oversize_fails)
{
	size_t n = (size_t)FIXTURE_MAX_BYTES + 1;
	char *big = malloc(n);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	struct fixture *fx = (struct fixture *)1;
	struct fixture_error e;
	ck_assert_int_eq(fixture_parse(big, n, &fx, &e), SH_E_TOOLARGE);
	ck_assert_ptr_null(fx);
	/* One byte less is accepted: the limit is inclusive. */
	ck_assert_int_eq(fixture_parse(big, n - 1, &fx, &e), SH_E_MALFORMED);
	big[n - 2] = '}';
	ck_assert_int_eq(fixture_parse(big, n - 1, &fx, &e), SH_OK);
	fixture_free(fx);
	free(big);
}
END_TEST

START_TEST(fixture_parse_nul_byte_fails)
{
	struct fixture *fx = NULL;
	struct fixture_error e;
	ck_assert_int_eq(parse_raw("{\n \"a\0\": 1}", 11, &fx, &e), SH_E_MALFORMED);
	ck_assert_ptr_nonnull(strstr(e.reason, "NUL"));
	ck_assert_uint_eq(e.line, 2);
	ck_assert_uint_eq(e.column, 4);
}
END_TEST

START_TEST(fixture_parse_trailing_text_fails)
{
	struct fixture *fx = NULL;
	struct fixture_error e;
	ck_assert_int_eq(parse_q("{} {}", &fx, &e), SH_E_MALFORMED);
	ck_assert_ptr_nonnull(strstr(e.reason, "after"));
	ck_assert_uint_eq(e.column, 4);
	/* Trailing whitespace is fine. */
	ck_assert_int_eq(parse_q("{} \n\t ", &fx, &e), SH_OK);
	fixture_free(fx);
}
END_TEST

START_TEST(fixture_parse_syntax_error_reports_line_and_column)
{
	struct fixture *fx = NULL;
	struct fixture_error e;
	ck_assert_int_eq(parse_q("{\n  'devices': [,]\n}", &fx, &e), SH_E_MALFORMED);
	ck_assert_str_eq(e.path, "$");
	ck_assert_uint_eq(e.line, 2);
	ck_assert_uint_eq(e.column, 15);
	char buf[128];
	ck_assert_str_eq(fixture_error_format(&e, buf, sizeof buf),
			 "line 2, column 15: not valid JSON");
}
END_TEST

START_TEST(fixture_parse_wrong_top_level_type_fails)
{
	expect_fail("[]", SH_E_INVALID, "$", "must be a JSON object, not an array");
	expect_fail("'x'", SH_E_INVALID, "$", "not a string");
	expect_fail("null", SH_E_INVALID, "$", "not null");
	expect_fail("true", SH_E_INVALID, "$", "not a boolean");
}
END_TEST

START_TEST(fixture_parse_bad_arguments_fail)
{
	struct fixture_error e;
	ck_assert_int_eq(fixture_parse("{}", 2, NULL, &e), SH_E_INVALID);
	struct fixture *fx = (struct fixture *)1;
	ck_assert_int_eq(fixture_parse(NULL, 2, &fx, &e), SH_E_INVALID);
	ck_assert_ptr_null(fx);
	/* err is optional. */
	ck_assert_int_eq(fixture_parse("[", 1, &fx, NULL), SH_E_MALFORMED);
	ck_assert_int_eq(fixture_parse("[]", 2, &fx, NULL), SH_E_INVALID);
}
END_TEST

START_TEST(fixture_parse_deep_nesting_fails_cleanly)
{
	/* 3000 nested arrays in a twin section: beyond cJSON's nesting limit -> malformed. */
	size_t depth = 3000;
	const char *head = "{\"devices\":[{\"id\":\"d\",\"twin\":{\"desired\":{\"a\":";
	const char *tail = "}}}]}";
	size_t n = strlen(head) + 2 * depth + strlen(tail);
	char *t = malloc(n);
	ck_assert_ptr_nonnull(t);
	size_t o = 0;
	memcpy(t + o, head, strlen(head));
	o += strlen(head);
	memset(t + o, '[', depth);
	o += depth;
	memset(t + o, ']', depth);
	o += depth;
	memcpy(t + o, tail, strlen(tail));
	struct fixture *fx = NULL;
	struct fixture_error e;
	ck_assert_int_eq(fixture_parse(t, n, &fx, &e), SH_E_MALFORMED);
	ck_assert_ptr_null(fx);
	free(t);
}
END_TEST

/* --- fixture_parse: good input -------------------------------------------------------------- */

START_TEST(fixture_parse_empty_object_succeeds)
{
	struct fixture *fx = expect_ok("{}");
	ck_assert_uint_eq(fx->identity_count, 0);
	ck_assert_uint_eq(fx->policy_count, 0);
	ck_assert(!fx->settings.has_hostname);
	ck_assert(!fx->settings.has_auto_create_module);
	fixture_free(fx);
	fx = expect_ok("{'policies':[],'devices':[],'settings':{'security':{}}}");
	ck_assert_uint_eq(fx->identity_count, 0);
	fixture_free(fx);
}
END_TEST

START_TEST(fixture_parse_full_example_succeeds)
{
	struct fixture *fx = expect_ok(full_q);
	ck_assert(fx->settings.has_hostname);
	ck_assert_str_eq(fx->settings.hostname, "unit.azure-devices.net");
	ck_assert(fx->settings.has_auto_create_module);
	ck_assert(fx->settings.auto_create_module);

	ck_assert_uint_eq(fx->policy_count, 2);
	ck_assert_str_eq(fx->policies[0].row.name, "iothubowner");
	ck_assert_str_eq(fx->policies[0].row.primary_key, K1);
	ck_assert_str_eq(fx->policies[0].row.secondary_key, K2);
	ck_assert_uint_eq(fx->policies[0].row.rights,
			  SH_RIGHT_REGISTRY_READ | SH_RIGHT_REGISTRY_WRITE |
				  SH_RIGHT_SERVICE_CONNECT | SH_RIGHT_DEVICE_CONNECT);
	ck_assert_str_eq(fx->policies[0].path, "$.policies[0]");
	ck_assert_str_eq(fx->policies[1].row.name, "device");
	ck_assert_str_eq(fx->policies[1].row.primary_key, "");
	ck_assert_str_eq(fx->policies[1].row.secondary_key, "");
	ck_assert_uint_eq(fx->policies[1].row.rights, SH_RIGHT_DEVICE_CONNECT);

	ck_assert_uint_eq(fx->identity_count, 6);
	ck_assert_uint_eq(fx->device_count, 3);
	ck_assert_uint_eq(fx->module_count, 3);

	const struct fixture_identity *d1 = &fx->identities[0];
	ck_assert_str_eq(d1->path, "$.devices[0]");
	ck_assert_str_eq(d1->row.device_id, "dev-1");
	ck_assert_str_eq(d1->row.module_id, "");
	ck_assert_uint_eq(d1->device_index, 0);
	ck_assert_int_eq(d1->row.status, SH_STATUS_DISABLED);
	ck_assert_str_eq(d1->row.status_reason, "maintenance");
	ck_assert_int_eq(d1->row.auth_type, SH_AUTH_SAS);
	ck_assert_str_eq(d1->row.primary_key, K1);
	ck_assert_str_eq(d1->row.secondary_key, K2);
	ck_assert(d1->row.iot_edge);
	ck_assert_ptr_nonnull(d1->twin.tags);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(d1->twin.tags, "site")->valuestring, "lab");
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(d1->twin.desired, "interval")->valueint, 5);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(d1->twin.reported, "fw")->valuestring, "1.0");
	ck_assert_ptr_null(d1->twin.tags->next);
	ck_assert_ptr_null(d1->twin.tags->prev);

	const struct fixture_identity *m1 = &fx->identities[1];
	ck_assert_str_eq(m1->path, "$.devices[0].modules[0]");
	ck_assert_str_eq(m1->row.device_id, "dev-1");
	ck_assert_str_eq(m1->row.module_id, "azureiotsecurity");
	ck_assert_uint_eq(m1->device_index, 0);
	ck_assert_int_eq(m1->row.status, SH_STATUS_ENABLED);
	ck_assert_int_eq(m1->row.auth_type, SH_AUTH_SAS);
	ck_assert_str_eq(m1->row.primary_key, K3);
	ck_assert_str_eq(m1->row.secondary_key, "");
	ck_assert_ptr_null(m1->twin.tags);
	ck_assert_ptr_nonnull(m1->twin.desired);
	ck_assert_ptr_null(m1->twin.reported);

	const struct fixture_identity *m2 = &fx->identities[2];
	ck_assert_str_eq(m2->path, "$.devices[0].modules[1]");
	ck_assert_str_eq(m2->row.module_id, "m2");
	ck_assert_str_eq(m2->row.managed_by, "IotEdge");

	const struct fixture_identity *d2 = &fx->identities[3];
	ck_assert_str_eq(d2->path, "$.devices[1]");
	ck_assert_uint_eq(d2->device_index, 3);
	ck_assert_int_eq(d2->row.status, SH_STATUS_ENABLED);
	ck_assert_int_eq(d2->row.auth_type, SH_AUTH_SELF_SIGNED);
	ck_assert_str_eq(d2->row.primary_thumbprint, THUMB_UPPER);
	ck_assert_str_eq(d2->row.secondary_thumbprint, "");
	ck_assert_str_eq(d2->row.primary_key, "");
	ck_assert(!d2->row.iot_edge);

	const struct fixture_identity *m3 = &fx->identities[5];
	ck_assert_str_eq(m3->path, "$.devices[2].modules[0]");
	ck_assert_str_eq(m3->row.device_id, "dev-3");
	ck_assert_uint_eq(m3->device_index, 4);
	ck_assert_str_eq(fx->identities[4].row.device_id, "dev-3");
	fixture_free(fx);
}
END_TEST

START_TEST(fixture_parse_defaults_succeeds)
{
	struct fixture *fx = expect_ok("{'devices':[{'id':'d'}]}");
	const struct sh_identity *r = &fx->identities[0].row;
	ck_assert_int_eq(r->status, SH_STATUS_ENABLED);
	ck_assert_str_eq(r->status_reason, "");
	ck_assert_int_eq(r->auth_type, SH_AUTH_SAS);
	ck_assert_str_eq(r->primary_key, "");
	ck_assert_str_eq(r->secondary_key, "");
	ck_assert(!r->iot_edge);
	ck_assert_str_eq(r->generation_id, "");
	ck_assert_int_eq(r->etag_counter, 0);
	ck_assert_ptr_null(fx->identities[0].twin.tags);
	ck_assert_ptr_null(fx->identities[0].twin.desired);
	ck_assert_ptr_null(fx->identities[0].twin.reported);
	fixture_free(fx);
	/* Explicit nulls for the free-text fields mean "none". */
	fx = expect_ok("{'devices':[{'id':'d','statusReason':null,'modules':[{'id':'m','managedBy':null}]}]}");
	ck_assert_str_eq(fx->identities[0].row.status_reason, "");
	ck_assert_str_eq(fx->identities[1].row.managed_by, "");
	fixture_free(fx);
	/* Empty twin sections are kept (they mean "set to empty"), unlike absent ones. */
	fx = expect_ok("{'devices':[{'id':'d','twin':{'tags':{},'desired':{},'reported':{}}}]}");
	ck_assert_ptr_nonnull(fx->identities[0].twin.tags);
	ck_assert_ptr_null(fx->identities[0].twin.tags->child);
	fixture_free(fx);
	fx = expect_ok("{'settings':{'security':{'autoCreateModule':false}}}");
	ck_assert(fx->settings.has_auto_create_module);
	ck_assert(!fx->settings.auto_create_module);
	fixture_free(fx);
}
END_TEST

START_TEST(fixture_parse_bom_succeeds)
{
	struct fixture *fx = NULL;
	struct fixture_error e;
	ck_assert_int_eq(parse_raw("\xEF\xBB\xBF{}", 5, &fx, &e), SH_OK);
	fixture_free(fx);
	/* A BOM in the middle is not tolerated. */
	ck_assert_int_eq(parse_raw("{}\xEF\xBB\xBF", 5, &fx, &e), SH_E_MALFORMED);
}
END_TEST

START_TEST(fixture_parse_auth_types_succeed)
{
	struct fixture *fx = expect_ok(
		"{'devices':[{'id':'a','authentication':{'type':'certificateAuthority'}},"
		"{'id':'b','authentication':{'type':'none'}},"
		"{'id':'c','authentication':{'type':'selfSigned','primaryThumbprint':'" THUMB_LOWER "',"
		"'secondaryThumbprint':'abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd'}},"
		"{'id':'d','authentication':{}}]}");
	ck_assert_int_eq(fx->identities[0].row.auth_type, SH_AUTH_CA);
	ck_assert_int_eq(fx->identities[1].row.auth_type, SH_AUTH_NONE);
	ck_assert_int_eq(fx->identities[2].row.auth_type, SH_AUTH_SELF_SIGNED);
	ck_assert_str_eq(fx->identities[2].row.secondary_thumbprint,
			 "ABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCD");
	ck_assert_int_eq(fx->identities[3].row.auth_type, SH_AUTH_SAS);
	fixture_free(fx);
}
END_TEST

START_TEST(fixture_parse_key_lengths_at_limits_succeed)
{
	/* 16 bytes and 64 bytes decoded. */
	struct fixture *fx = expect_ok(
		"{'devices':[{'id':'a','authentication':{'primaryKey':'AAAAAAAAAAAAAAAAAAAAAA==',"
		"'secondaryKey':'"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="
		"'}}]}");
	ck_assert_uint_eq(strlen(fx->identities[0].row.secondary_key), 88);
	fixture_free(fx);
}
END_TEST

START_TEST(fixture_parse_id_limits_succeed)
{
	char q[512];
	char id[SH_ID_MAX + 1];
	memset(id, 'x', SH_ID_MAX);
	id[SH_ID_MAX] = '\0';
	snprintf(q, sizeof q, "{'devices':[{'id':'%s','modules':[{'id':'%s'}]}]}", id, id);
	struct fixture *fx = expect_ok(q);
	ck_assert_str_eq(fx->identities[0].row.device_id, id);
	ck_assert_str_eq(fx->identities[1].row.module_id, id);
	fixture_free(fx);
	/* Every allowed punctuation character, including the apostrophe (raw text: no quote swap). */
	const char *raw = "{\"devices\":[{\"id\":\"aZ09-.%_*?!(),:=@$'\"}]}";
	struct fixture_error e;
	ck_assert_int_eq(parse_raw(raw, strlen(raw), &fx, &e), SH_OK);
	ck_assert_str_eq(fx->identities[0].row.device_id, "aZ09-.%_*?!(),:=@$'");
	fixture_free(fx);
}
END_TEST

START_TEST(fixture_parse_same_module_id_on_two_devices_succeeds)
{
	struct fixture *fx = expect_ok("{'devices':[{'id':'a','modules':[{'id':'m'}]},"
				       "{'id':'b','modules':[{'id':'m'}]},{'id':'m'}]}");
	ck_assert_uint_eq(fx->identity_count, 5);
	fixture_free(fx);
}
END_TEST

START_TEST(fixture_parse_many_devices_succeeds)
{
	/* 5000 devices with 2 modules each: exercises array growth and the sorted duplicate scan. */
	size_t n = 5000, cap = n * 96 + 64, o = 0;
	char *t = malloc(cap);
	ck_assert_ptr_nonnull(t);
	o += (size_t)snprintf(t + o, cap - o, "{\"devices\":[");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(t + o, cap - o,
				      "%s{\"id\":\"dev%zu\",\"modules\":[{\"id\":\"a\"},{\"id\":\"b\"}]}",
				      i ? "," : "", n - i);
	o += (size_t)snprintf(t + o, cap - o, "]}");
	struct fixture *fx = NULL;
	struct fixture_error e;
	ck_assert_int_eq(parse_raw(t, o, &fx, &e), SH_OK);
	ck_assert_uint_eq(fx->device_count, n);
	ck_assert_uint_eq(fx->module_count, 2 * n);
	ck_assert_str_eq(fx->identities[3 * n - 1].row.device_id, "dev1");
	ck_assert_uint_eq(fx->identities[3 * n - 1].device_index, 3 * n - 3);
	fixture_free(fx);
	/* The same text with a repeat of dev5000 at the end fails, naming both entries. */
	o -= 2;
	o += (size_t)snprintf(t + o, cap - o, ",{\"id\":\"dev5000\"}]}");
	ck_assert_int_eq(parse_raw(t, o, &fx, &e), SH_E_INVALID);
	ck_assert_str_eq(e.path, "$.devices[5000].id");
	ck_assert_ptr_nonnull(strstr(e.reason, "$.devices[0].id"));
	free(t);
}
END_TEST

/* --- fixture_parse: rule violations (table-driven) ------------------------------------------ */

struct bad_case {
	const char *q;
	sh_rc rc;
	const char *path;
	const char *reason_part;
};

static const struct bad_case unknown_keys[] = {
	{ "{'devcies':[]}", SH_E_INVALID, "$.devcies", "unknown key (allowed here: version, description" },
	{ "{'settings':{'hostName':'a'}}", SH_E_INVALID, "$.settings.hostName", "hostname, security" },
	{ "{'settings':{'security':{'autocreate':true}}}", SH_E_INVALID, "$.settings.security.autocreate", "autoCreateModule" },
	{ "{'policies':[{'name':'p','rights':['DeviceConnect'],'key':'x'}]}", SH_E_INVALID, "$.policies[0].key", "unknown key" },
	{ "{'devices':[{'id':'d','statusReson':'x'}]}", SH_E_INVALID, "$.devices[0].statusReson", "statusReason" },
	{ "{'devices':[{'id':'d','authentication':{'symmetricKey':{}}}]}", SH_E_INVALID, "$.devices[0].authentication.symmetricKey", "primaryKey" },
	{ "{'devices':[{'id':'d','capabilities':{'iotedge':true}}]}", SH_E_INVALID, "$.devices[0].capabilities.iotedge", "iotEdge" },
	{ "{'devices':[{'id':'d','twin':{'properties':{}}}]}", SH_E_INVALID, "$.devices[0].twin.properties", "tags, desired, reported" },
	{ "{'devices':[{'id':'d','modules':[{'id':'m','status':'enabled'}]}]}", SH_E_INVALID, "$.devices[0].modules[0].status", "id, managedBy, authentication, twin" },
	{ "{'devices':[{'id':'d','modules':[{'id':'m','twin':{'tag':{}}}]}]}", SH_E_INVALID, "$.devices[0].modules[0].twin.tag", "unknown key" },
	/* Hostile member names are shown bounded and printable. */
	{ "{'a\\\"b\\nc':1}", SH_E_INVALID, "$[\"a?b?c\"]", "unknown key" },
	{ "{'':1}", SH_E_INVALID, "$[\"\"]", "unknown key" },
	{ "{'9lives':1}", SH_E_INVALID, "$[\"9lives\"]", "unknown key" },
	{ "{'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx':1}", SH_E_INVALID,
	  "$[\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\"]", "unknown key" },
};

START_TEST(fixture_parse_unknown_key_fails)
{
	const struct bad_case *c = &unknown_keys[_i];
	expect_fail(c->q, c->rc, c->path, c->reason_part);
}
END_TEST

static const struct bad_case duplicate_keys[] = {
	{ "{'devices':[],'devices':[]}", SH_E_INVALID, "$.devices", "twice" },
	{ "{'devices':[{'id':'a','id':'b'}]}", SH_E_INVALID, "$.devices[0].id", "twice" },
	{ "{'devices':[{'id':'a','twin':{'tags':{},'tags':{}}}]}", SH_E_INVALID, "$.devices[0].twin.tags", "twice" },
};

START_TEST(fixture_parse_duplicate_key_fails)
{
	const struct bad_case *c = &duplicate_keys[_i];
	expect_fail(c->q, c->rc, c->path, c->reason_part);
}
END_TEST

static const struct bad_case wrong_types[] = {
	{ "{'version':'1'}", SH_E_INVALID, "$.version", "unsupported" },
	{ "{'version':2}", SH_E_INVALID, "$.version", "reads 1" },
	{ "{'version':1.5}", SH_E_INVALID, "$.version", "unsupported" },
	{ "{'description':7}", SH_E_INVALID, "$.description", "must be a string, not a number" },
	{ "{'settings':[]}", SH_E_INVALID, "$.settings", "must be an object, not an array" },
	{ "{'settings':{'hostname':1}}", SH_E_INVALID, "$.settings.hostname", "must be a string" },
	{ "{'settings':{'security':true}}", SH_E_INVALID, "$.settings.security", "must be an object" },
	{ "{'settings':{'security':{'autoCreateModule':'true'}}}", SH_E_INVALID, "$.settings.security.autoCreateModule", "must be true or false, not a string" },
	{ "{'settings':{'security':{'autoCreateModule':1}}}", SH_E_INVALID, "$.settings.security.autoCreateModule", "not a number" },
	{ "{'policies':{}}", SH_E_INVALID, "$.policies", "must be an array, not an object" },
	{ "{'policies':['iothubowner']}", SH_E_INVALID, "$.policies[0]", "must be an object, not a string" },
	{ "{'policies':[{'name':5,'rights':['DeviceConnect']}]}", SH_E_INVALID, "$.policies[0].name", "must be a string" },
	{ "{'policies':[{'name':'p','rights':'DeviceConnect'}]}", SH_E_INVALID, "$.policies[0].rights", "must be an array of right names, not a string" },
	{ "{'policies':[{'name':'p','rights':[1]}]}", SH_E_INVALID, "$.policies[0].rights[0]", "must be one of RegistryRead" },
	{ "{'policies':[{'name':'p','primaryKey':null,'rights':['DeviceConnect']}]}", SH_E_INVALID, "$.policies[0].primaryKey", "must be a string, not null" },
	{ "{'devices':{}}", SH_E_INVALID, "$.devices", "must be an array" },
	{ "{'devices':[[]]}", SH_E_INVALID, "$.devices[0]", "must be an object, not an array" },
	{ "{'devices':[{'id':1}]}", SH_E_INVALID, "$.devices[0].id", "must be a string, not a number" },
	{ "{'devices':[{'id':null}]}", SH_E_INVALID, "$.devices[0].id", "not null" },
	{ "{'devices':[{'id':'d','status':true}]}", SH_E_INVALID, "$.devices[0].status", "\"enabled\" or \"disabled\"" },
	{ "{'devices':[{'id':'d','statusReason':1}]}", SH_E_INVALID, "$.devices[0].statusReason", "must be a string or null, not a number" },
	{ "{'devices':[{'id':'d','authentication':'sas'}]}", SH_E_INVALID, "$.devices[0].authentication", "must be an object" },
	{ "{'devices':[{'id':'d','authentication':{'type':1}}]}", SH_E_INVALID, "$.devices[0].authentication.type", "must be one of sas" },
	{ "{'devices':[{'id':'d','authentication':{'primaryKey':1}}]}", SH_E_INVALID, "$.devices[0].authentication.primaryKey", "must be a string" },
	{ "{'devices':[{'id':'d','capabilities':[]}]}", SH_E_INVALID, "$.devices[0].capabilities", "must be an object" },
	{ "{'devices':[{'id':'d','capabilities':{'iotEdge':null}}]}", SH_E_INVALID, "$.devices[0].capabilities.iotEdge", "true or false, not null" },
	{ "{'devices':[{'id':'d','twin':[]}]}", SH_E_INVALID, "$.devices[0].twin", "must be an object" },
	{ "{'devices':[{'id':'d','twin':{'tags':[]}}]}", SH_E_INVALID, "$.devices[0].twin.tags", "must be an object, not an array" },
	{ "{'devices':[{'id':'d','twin':{'desired':'x'}}]}", SH_E_INVALID, "$.devices[0].twin.desired", "not a string" },
	{ "{'devices':[{'id':'d','twin':{'reported':null}}]}", SH_E_INVALID, "$.devices[0].twin.reported", "not null" },
	{ "{'devices':[{'id':'d','modules':{}}]}", SH_E_INVALID, "$.devices[0].modules", "must be an array" },
	{ "{'devices':[{'id':'d','modules':[1]}]}", SH_E_INVALID, "$.devices[0].modules[0]", "must be an object, not a number" },
	{ "{'devices':[{'id':'d','modules':[{'id':'m','managedBy':false}]}]}", SH_E_INVALID, "$.devices[0].modules[0].managedBy", "string or null" },
	{ "{'devices':[{'id':'d','modules':[{'id':'m','twin':{'desired':1}}]}]}", SH_E_INVALID, "$.devices[0].modules[0].twin.desired", "must be an object" },
};

START_TEST(fixture_parse_wrong_type_fails)
{
	const struct bad_case *c = &wrong_types[_i];
	expect_fail(c->q, c->rc, c->path, c->reason_part);
}
END_TEST

static const struct bad_case bad_values[] = {
	/* ids */
	{ "{'devices':[{}]}", SH_E_INVALID, "$.devices[0].id", "is required" },
	{ "{'devices':[{'id':''}]}", SH_E_INVALID, "$.devices[0].id", "must be 1-128 characters of letters, digits and - . % _ * ? ! ( ) , : = @ $ ' (got 0)" },
	{ "{'devices':[{'id':'a+b'}]}", SH_E_INVALID, "$.devices[0].id", "(character 2 is '+')" },
	{ "{'devices':[{'id':'a#'}]}", SH_E_INVALID, "$.devices[0].id", "(character 2 is '#')" },
	{ "{'devices':[{'id':'a b'}]}", SH_E_INVALID, "$.devices[0].id", "(byte 2 is 0x20)" },
	{ "{'devices':[{'id':'caf\xc3\xa9'}]}", SH_E_INVALID, "$.devices[0].id", "(byte 4 is 0xc3)" },
	{ "{'devices':[{'id':'a/b'}]}", SH_E_INVALID, "$.devices[0].id", "character 2 is '/'" },
	{ "{'devices':[{'id':'\\u0000x'}]}", SH_E_INVALID, "$.devices[0].id", "(got 0)" },
	{ "{'devices':[{'id':'ok','modules':[{'id':'m','x':1}, {'id':'bad id'}]}]}", SH_E_INVALID, "$.devices[0].modules[0].x", "unknown key" },
	{ "{'devices':[{'id':'ok'},{'id':'d','modules':[{'id':'m'},{'id':'n&'}]}]}", SH_E_INVALID, "$.devices[1].modules[1].id", "must be 1-128 characters" },
	{ "{'devices':[{'id':'ok','modules':[{}]}]}", SH_E_INVALID, "$.devices[0].modules[0].id", "is required" },
	/* duplicates, with both paths */
	{ "{'devices':[{'id':'a'},{'id':'b'},{'id':'a'}]}", SH_E_INVALID, "$.devices[2].id", "duplicate device id \"a\" (first at $.devices[0].id)" },
	{ "{'devices':[{'id':'a'},{'id':'b'},{'id':'b'},{'id':'a'}]}", SH_E_INVALID, "$.devices[2].id", "first at $.devices[1].id" },
	{ "{'devices':[{'id':'A'},{'id':'a'},{'id':'x','modules':[{'id':'m'},{'id':'n'},{'id':'m'}]}]}", SH_E_INVALID, "$.devices[2].modules[2].id", "duplicate module id \"m\" (first at $.devices[2].modules[0].id)" },
	{ "{'policies':[{'name':'p','rights':['DeviceConnect']},{'name':'p','rights':['ServiceConnect']}]}", SH_E_INVALID, "$.policies[1].name", "duplicate policy name \"p\" (first at $.policies[0].name)" },
	/* status and free text */
	{ "{'devices':[{'id':'d','status':'Enabled'}]}", SH_E_INVALID, "$.devices[0].status", "\"enabled\" or \"disabled\"" },
	{ "{'devices':[{'id':'d','statusReason':'line\\nbreak'}]}", SH_E_INVALID, "$.devices[0].statusReason", "control characters" },
	{ "{'devices':[{'id':'d','statusReason':'\xff'}]}", SH_E_INVALID, "$.devices[0].statusReason", "UTF-8" },
	{ "{'devices':[{'id':'d','statusReason':'\xc0\xaf'}]}", SH_E_INVALID, "$.devices[0].statusReason", "UTF-8" },
	{ "{'devices':[{'id':'d','statusReason':'\xed\xa0\x80'}]}", SH_E_INVALID, "$.devices[0].statusReason", "UTF-8" },
	{ "{'devices':[{'id':'d','statusReason':'\xe2\x82'}]}", SH_E_INVALID, "$.devices[0].statusReason", "UTF-8" },
	{ "{'devices':[{'id':'d','modules':[{'id':'m','managedBy':'\\u0001'}]}]}", SH_E_INVALID, "$.devices[0].modules[0].managedBy", "control characters" },
	/* keys */
	{ "{'devices':[{'id':'d','authentication':{'primaryKey':''}}]}", SH_E_INVALID, "$.devices[0].authentication.primaryKey", "decodes to 0" },
	{ "{'devices':[{'id':'d','authentication':{'primaryKey':'not base64!'}}]}", SH_E_INVALID, "$.devices[0].authentication.primaryKey", "standard padded base64" },
	{ "{'devices':[{'id':'d','authentication':{'primaryKey':'AAAAAAAAAAAAAAAAAAAAAA'}}]}", SH_E_INVALID, "$.devices[0].authentication.primaryKey", "padded base64" },
	{ "{'devices':[{'id':'d','authentication':{'primaryKey':' AAAAAAAAAAAAAAAAAAAAAA=='}}]}", SH_E_INVALID, "$.devices[0].authentication.primaryKey", "padded base64" },
	{ "{'devices':[{'id':'d','authentication':{'secondaryKey':'AAAAAAAAAAAAAAAAAAAA'}}]}", SH_E_INVALID, "$.devices[0].authentication.secondaryKey", "decodes to 15" },
	{ "{'devices':[{'id':'d','authentication':{'primaryKey':'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='}}]}", SH_E_INVALID, "$.devices[0].authentication.primaryKey", "decodes to 65" },
	{ "{'devices':[{'id':'d','authentication':{'primaryKey':'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'}}]}", SH_E_INVALID, "$.devices[0].authentication.primaryKey", "this text is 148 characters" },
	{ "{'policies':[{'name':'p','secondaryKey':'QUJD','rights':['DeviceConnect']}]}", SH_E_INVALID, "$.policies[0].secondaryKey", "decodes to 3" },
	/* authentication shape */
	{ "{'devices':[{'id':'d','authentication':{'type':'x509'}}]}", SH_E_INVALID, "$.devices[0].authentication.type", "sas, selfSigned, certificateAuthority, none" },
	{ "{'devices':[{'id':'d','authentication':{'type':'selfSigned'}}]}", SH_E_INVALID, "$.devices[0].authentication.primaryThumbprint", "is required for type selfSigned" },
	{ "{'devices':[{'id':'d','authentication':{'type':'selfSigned','primaryThumbprint':'" THUMB_LOWER "','primaryKey':'" K1 "'}}]}", SH_E_INVALID, "$.devices[0].authentication.primaryKey", "only allowed with type sas" },
	{ "{'devices':[{'id':'d','authentication':{'secondaryThumbprint':'" THUMB_LOWER "'}}]}", SH_E_INVALID, "$.devices[0].authentication.secondaryThumbprint", "only allowed with type selfSigned" },
	{ "{'devices':[{'id':'d','authentication':{'type':'none','secondaryKey':'" K1 "'}}]}", SH_E_INVALID, "$.devices[0].authentication.secondaryKey", "only allowed with type sas" },
	{ "{'devices':[{'id':'d','authentication':{'type':'selfSigned','primaryThumbprint':'abc'}}]}", SH_E_INVALID, "$.devices[0].authentication.primaryThumbprint", "40 (SHA-1) or 64 (SHA-256)" },
	{ "{'devices':[{'id':'d','authentication':{'type':'selfSigned','primaryThumbprint':'0a1b2c3d4e5f60718293a4b5c6d7e8f90123456g'}}]}", SH_E_INVALID, "$.devices[0].authentication.primaryThumbprint", "hexadecimal" },
	/* policies */
	{ "{'policies':[{'rights':['DeviceConnect']}]}", SH_E_INVALID, "$.policies[0].name", "is required" },
	{ "{'policies':[{'name':'','rights':['DeviceConnect']}]}", SH_E_INVALID, "$.policies[0].name", "1-64 characters" },
	{ "{'policies':[{'name':'a;b','rights':['DeviceConnect']}]}", SH_E_INVALID, "$.policies[0].name", "1-64 characters" },
	{ "{'policies':[{'name':'a b','rights':['DeviceConnect']}]}", SH_E_INVALID, "$.policies[0].name", "1-64 characters" },
	{ "{'policies':[{'name':'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx','rights':['DeviceConnect']}]}", SH_E_INVALID, "$.policies[0].name", "1-64 characters" },
	{ "{'policies':[{'name':'p'}]}", SH_E_INVALID, "$.policies[0].rights", "is required" },
	{ "{'policies':[{'name':'p','rights':[]}]}", SH_E_INVALID, "$.policies[0].rights", "at least one right" },
	{ "{'policies':[{'name':'p','rights':['RegistryReadWrite']}]}", SH_E_INVALID, "$.policies[0].rights[0]", "must be one of RegistryRead, RegistryWrite, ServiceConnect, DeviceConnect" },
	{ "{'policies':[{'name':'p','rights':['registryread']}]}", SH_E_INVALID, "$.policies[0].rights[0]", "must be one of" },
	{ "{'policies':[{'name':'p','rights':['DeviceConnect','ServiceConnect','DeviceConnect']}]}", SH_E_INVALID, "$.policies[0].rights[2]", "listed twice" },
	/* hostnames */
	{ "{'settings':{'hostname':''}}", SH_E_INVALID, "$.settings.hostname", "DNS name" },
	{ "{'settings':{'hostname':'-a.b'}}", SH_E_INVALID, "$.settings.hostname", "DNS name" },
	{ "{'settings':{'hostname':'a-.b'}}", SH_E_INVALID, "$.settings.hostname", "DNS name" },
	{ "{'settings':{'hostname':'a..b'}}", SH_E_INVALID, "$.settings.hostname", "DNS name" },
	{ "{'settings':{'hostname':'a.b.'}}", SH_E_INVALID, "$.settings.hostname", "DNS name" },
	{ "{'settings':{'hostname':'.a'}}", SH_E_INVALID, "$.settings.hostname", "DNS name" },
	{ "{'settings':{'hostname':'a_b.net'}}", SH_E_INVALID, "$.settings.hostname", "DNS name" },
	{ "{'settings':{'hostname':'hub:443'}}", SH_E_INVALID, "$.settings.hostname", "DNS name" },
	{ "{'settings':{'hostname':'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.net'}}", SH_E_INVALID, "$.settings.hostname", "DNS name" },
};

START_TEST(fixture_parse_bad_value_fails)
{
	const struct bad_case *c = &bad_values[_i];
	expect_fail(c->q, c->rc, c->path, c->reason_part);
}
END_TEST

START_TEST(fixture_parse_hostname_limits)
{
	struct fixture *fx = expect_ok("{'settings':{'hostname':'localhost'}}");
	ck_assert_str_eq(fx->settings.hostname, "localhost");
	fixture_free(fx);
	fx = expect_ok("{'settings':{'hostname':'My-Hub.azure-devices.net'}}");
	ck_assert_str_eq(fx->settings.hostname, "My-Hub.azure-devices.net");
	fixture_free(fx);
	/* 253 characters made of 63-character labels: accepted; one more: refused. */
	char name[260], q[400];
	size_t o = 0;
	for (int l = 0; l < 4; l++) {
		size_t len = l < 3 ? 63 : 61;
		memset(name + o, 'a' + l, len);
		o += len;
		if (l < 3)
			name[o++] = '.';
	}
	name[o] = '\0';
	ck_assert_uint_eq(o, 253);
	snprintf(q, sizeof q, "{'settings':{'hostname':'%s'}}", name);
	fx = expect_ok(q);
	fixture_free(fx);
	snprintf(q, sizeof q, "{'settings':{'hostname':'%sd'}}", name);
	expect_fail(q, SH_E_INVALID, "$.settings.hostname", "at most 253");
}
END_TEST

START_TEST(fixture_parse_id_too_long_fails)
{
	char q[512];
	char id[SH_ID_MAX + 2];
	memset(id, 'x', SH_ID_MAX + 1);
	id[SH_ID_MAX + 1] = '\0';
	snprintf(q, sizeof q, "{'devices':[{'id':'%s'}]}", id);
	expect_fail(q, SH_E_INVALID, "$.devices[0].id", "(got 129)");
	snprintf(q, sizeof q, "{'devices':[{'id':'d','modules':[{'id':'%s'}]}]}", id);
	expect_fail(q, SH_E_INVALID, "$.devices[0].modules[0].id", "(got 129)");
	char reason[SH_REASON_MAX + 2];
	memset(reason, 'r', SH_REASON_MAX + 1);
	reason[SH_REASON_MAX + 1] = '\0';
	snprintf(q, sizeof q, "{'devices':[{'id':'d','statusReason':'%s'}]}", reason);
	expect_fail(q, SH_E_INVALID, "$.devices[0].statusReason", "at most 128 bytes (got 129)");
	reason[SH_REASON_MAX] = '\0';
	snprintf(q, sizeof q, "{'devices':[{'id':'d','statusReason':'%s'}]}", reason);
	struct fixture *fx = expect_ok(q);
	ck_assert_str_eq(fx->identities[0].row.status_reason, reason);
	fixture_free(fx);
}
END_TEST

START_TEST(fixture_parse_error_in_later_device_frees_earlier_twins)
{
	/* Twin sections already detached into the model are freed on failure (ASan checks). */
	expect_fail("{'devices':[{'id':'a','twin':{'tags':{'k':1},'desired':{'d':2}},"
		    "'modules':[{'id':'m','twin':{'reported':{'r':3}}}]},{'id':'a b'}]}",
		    SH_E_INVALID, "$.devices[1].id", "byte 2");
	expect_fail("{'devices':[{'id':'a','twin':{'tags':{'k':1}},"
		    "'modules':[{'id':'m','twin':{'reported':{'r':3}}},{'id':'m','twin':{'tags':{}}}]}]}",
		    SH_E_INVALID, "$.devices[0].modules[1].id", "duplicate module id");
}
END_TEST

/*
 * Round trip: build fixture JSON back from a parsed model (the inverse mapping written
 * independently here), parse that, and check both models agree field by field.
 */
static cJSON *emit_auth(const struct sh_identity *r)
{
	static const char *const types[] = { "sas", "selfSigned", "certificateAuthority", "none" };
	cJSON *a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "type", types[r->auth_type]);
	if (r->primary_key[0])
		cJSON_AddStringToObject(a, "primaryKey", r->primary_key);
	if (r->secondary_key[0])
		cJSON_AddStringToObject(a, "secondaryKey", r->secondary_key);
	if (r->primary_thumbprint[0])
		cJSON_AddStringToObject(a, "primaryThumbprint", r->primary_thumbprint);
	if (r->secondary_thumbprint[0])
		cJSON_AddStringToObject(a, "secondaryThumbprint", r->secondary_thumbprint);
	return a;
}

static cJSON *emit_twin(const struct fixture_twin *t)
{
	cJSON *o = cJSON_CreateObject();
	if (t->tags)
		cJSON_AddItemToObject(o, "tags", cJSON_Duplicate(t->tags, 1));
	if (t->desired)
		cJSON_AddItemToObject(o, "desired", cJSON_Duplicate(t->desired, 1));
	if (t->reported)
		cJSON_AddItemToObject(o, "reported", cJSON_Duplicate(t->reported, 1));
	return o;
}

static char *emit_fixture(const struct fixture *fx)
{
	static const char *const right_names[] = { "RegistryRead", "RegistryWrite",
						   "ServiceConnect", "DeviceConnect" };
	cJSON *root = cJSON_CreateObject();
	cJSON *settings = cJSON_AddObjectToObject(root, "settings");
	if (fx->settings.has_hostname)
		cJSON_AddStringToObject(settings, "hostname", fx->settings.hostname);
	if (fx->settings.has_auto_create_module)
		cJSON_AddBoolToObject(cJSON_AddObjectToObject(settings, "security"),
				      "autoCreateModule", fx->settings.auto_create_module);
	cJSON *pols = cJSON_AddArrayToObject(root, "policies");
	for (size_t i = 0; i < fx->policy_count; i++) {
		const struct sh_policy *p = &fx->policies[i].row;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", p->name);
		if (p->primary_key[0])
			cJSON_AddStringToObject(o, "primaryKey", p->primary_key);
		if (p->secondary_key[0])
			cJSON_AddStringToObject(o, "secondaryKey", p->secondary_key);
		cJSON *rights = cJSON_AddArrayToObject(o, "rights");
		for (unsigned b = 0; b < 4; b++) {
			if (p->rights & (1u << b))
				cJSON_AddItemToArray(rights, cJSON_CreateString(right_names[b]));
		}
		cJSON_AddItemToArray(pols, o);
	}
	cJSON *devs = cJSON_AddArrayToObject(root, "devices");
	cJSON *mods = NULL;
	for (size_t i = 0; i < fx->identity_count; i++) {
		const struct fixture_identity *id = &fx->identities[i];
		cJSON *o = cJSON_CreateObject();
		if (id->row.module_id[0] == '\0') {
			cJSON_AddStringToObject(o, "id", id->row.device_id);
			cJSON_AddStringToObject(o, "status",
						id->row.status == SH_STATUS_ENABLED ? "enabled" : "disabled");
			if (id->row.status_reason[0])
				cJSON_AddStringToObject(o, "statusReason", id->row.status_reason);
			cJSON_AddBoolToObject(cJSON_AddObjectToObject(o, "capabilities"), "iotEdge",
					      id->row.iot_edge);
			cJSON_AddItemToObject(o, "authentication", emit_auth(&id->row));
			cJSON_AddItemToObject(o, "twin", emit_twin(&id->twin));
			mods = cJSON_AddArrayToObject(o, "modules");
			cJSON_AddItemToArray(devs, o);
		} else {
			cJSON_AddStringToObject(o, "id", id->row.module_id);
			if (id->row.managed_by[0])
				cJSON_AddStringToObject(o, "managedBy", id->row.managed_by);
			cJSON_AddItemToObject(o, "authentication", emit_auth(&id->row));
			cJSON_AddItemToObject(o, "twin", emit_twin(&id->twin));
			cJSON_AddItemToArray(mods, o);
		}
	}
	char *text = cJSON_Print(root);
	cJSON_Delete(root);
	return text;
}

static void assert_same_twin_section(const cJSON *a, const cJSON *b)
{
	ck_assert((a == NULL) == (b == NULL));
	if (a)
		ck_assert(cJSON_Compare(a, b, 1));
}

START_TEST(fixture_parse_round_trip_succeeds)
{
	struct fixture *a = expect_ok(full_q);
	char *text = emit_fixture(a);
	ck_assert_ptr_nonnull(text);
	struct fixture *b = NULL;
	struct fixture_error e;
	ck_assert_msg(fixture_parse(text, strlen(text), &b, &e) == SH_OK, "%s: %s\n%s", e.path,
		      e.reason, text);
	ck_assert_mem_eq(&a->settings, &b->settings, sizeof a->settings);
	ck_assert_uint_eq(a->policy_count, b->policy_count);
	for (size_t i = 0; i < a->policy_count; i++) {
		ck_assert_mem_eq(&a->policies[i].row, &b->policies[i].row, sizeof a->policies[i].row);
		ck_assert_str_eq(a->policies[i].path, b->policies[i].path);
	}
	ck_assert_uint_eq(a->identity_count, b->identity_count);
	ck_assert_uint_eq(a->device_count, b->device_count);
	for (size_t i = 0; i < a->identity_count; i++) {
		const struct fixture_identity *x = &a->identities[i], *y = &b->identities[i];
		ck_assert_mem_eq(&x->row, &y->row, sizeof x->row);
		ck_assert_str_eq(x->path, y->path);
		ck_assert_uint_eq(x->device_index, y->device_index);
		assert_same_twin_section(x->twin.tags, y->twin.tags);
		assert_same_twin_section(x->twin.desired, y->twin.desired);
		assert_same_twin_section(x->twin.reported, y->twin.reported);
	}
	cJSON_free(text);
	fixture_free(a);
	fixture_free(b);
}
END_TEST

/* --- fixture_free ----------------------------------------------------------------------------- */

START_TEST(fixture_free_null_is_noop)
{
	fixture_free(NULL);
	struct fixture *fx = expect_ok("{}");
	fixture_free(fx);
}
END_TEST

/* --- fixture_error_format --------------------------------------------------------------------- */

START_TEST(fixture_error_format_path_and_reason)
{
	struct fixture *fx = NULL;
	struct fixture_error e;
	ck_assert_int_eq(parse_q("{'devices':[{'id':'ok'},{'id':'ok','modules':[]}]}",
				 &fx, &e),
			 SH_E_INVALID);
	char buf[300];
	ck_assert_str_eq(fixture_error_format(&e, buf, sizeof buf),
			 "$.devices[1].id: duplicate device id \"ok\" (first at $.devices[0].id)");
	ck_assert_uint_eq(e.line, 0);
}
END_TEST

START_TEST(fixture_error_format_truncates_safely)
{
	struct fixture_error e = { .path = "$.devices[0].id", .reason = "is required" };
	char buf[8];
	memset(buf, 'z', sizeof buf);
	ck_assert_str_eq(fixture_error_format(&e, buf, sizeof buf), "$.devic");
	ck_assert_ptr_null(fixture_error_format(&e, NULL, 10));
	char one = 'z';
	ck_assert_ptr_eq(fixture_error_format(&e, &one, 0), &one);
	ck_assert_int_eq(one, 'z');
	char big[64];
	ck_assert_str_eq(fixture_error_format(NULL, big, sizeof big), "unknown error");
	struct fixture_error empty_path = { .reason = "x" };
	ck_assert_str_eq(fixture_error_format(&empty_path, big, sizeof big), "$: x");
}
END_TEST

/* --- identity_validate_id --------------------------------------------------------------------- */

START_TEST(identity_validate_id_allowed_succeeds)
{
	static const char *const ok[] = { "a", "Z", "0", "dev-01", "a.b", "50%", "x_y", "*", "?",
					  "!", "(x)", "a,b", "urn:dev", "k=v", "me@site", "$edgeHub",
					  "it's" };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		ck_assert_msg(identity_validate_id(ok[i], strlen(ok[i])) == SH_OK, "%s", ok[i]);
	char max[SH_ID_MAX];
	memset(max, '9', sizeof max);
	ck_assert_int_eq(identity_validate_id(max, sizeof max), SH_OK);
}
END_TEST

START_TEST(identity_validate_id_refused_fails)
{
	static const char *const bad[] = { "a+b", "a#b", "a b", "a/b", "a\\b", "a\"b", "a&b",
					   "a;b", "a<b", "a>b", "a[b", "a{b", "a|b", "a~b", "a^b",
					   "a`b", "caf\xc3\xa9", "\t", "\x7f" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(identity_validate_id(bad[i], strlen(bad[i])) == SH_E_INVALID, "%s",
			      bad[i]);
	char over[SH_ID_MAX + 1];
	memset(over, 'a', sizeof over);
	ck_assert_int_eq(identity_validate_id(over, sizeof over), SH_E_INVALID);
	ck_assert_int_eq(identity_validate_id("", 0), SH_E_INVALID);
	ck_assert_int_eq(identity_validate_id(NULL, 3), SH_E_INVALID);
	/* An embedded NUL inside `len` is a bad character, not an early end. */
	ck_assert_int_eq(identity_validate_id("ab\0c", 4), SH_E_INVALID);
}
END_TEST

START_TEST(identity_validate_id_reads_only_len_bytes)
{
	/* Not NUL-terminated: the check stops at len (ASan would flag an over-read). */
	char *id = malloc(3);
	ck_assert_ptr_nonnull(id);
	memcpy(id, "abc", 3);
	ck_assert_int_eq(identity_validate_id(id, 3), SH_OK);
	ck_assert_int_eq(identity_validate_id(id, 2), SH_OK);
	free(id);
	ck_assert_int_eq(identity_validate_id("ab+", 2), SH_OK);
}
END_TEST

static Suite *fixture_suite(void)
{
	Suite *s = suite_create("fixture");
	TCase *tc = tcase_create("fixture_parse");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, fixture_parse_empty_input_fails);
	tcase_add_test(tc, fixture_parse_whitespace_only_fails);
	tcase_add_test(tc, fixture_parse_one_byte_fails);
	tcase_add_test(tc, fixture_parse_truncated_fails);
	tcase_add_test(tc, fixture_parse_oversize_fails);
	tcase_add_test(tc, fixture_parse_nul_byte_fails);
	tcase_add_test(tc, fixture_parse_trailing_text_fails);
	tcase_add_test(tc, fixture_parse_syntax_error_reports_line_and_column);
	tcase_add_test(tc, fixture_parse_wrong_top_level_type_fails);
	tcase_add_test(tc, fixture_parse_bad_arguments_fail);
	tcase_add_test(tc, fixture_parse_deep_nesting_fails_cleanly);
	tcase_add_test(tc, fixture_parse_empty_object_succeeds);
	tcase_add_test(tc, fixture_parse_full_example_succeeds);
	tcase_add_test(tc, fixture_parse_defaults_succeeds);
	tcase_add_test(tc, fixture_parse_bom_succeeds);
	tcase_add_test(tc, fixture_parse_auth_types_succeed);
	tcase_add_test(tc, fixture_parse_key_lengths_at_limits_succeed);
	tcase_add_test(tc, fixture_parse_id_limits_succeed);
	tcase_add_test(tc, fixture_parse_same_module_id_on_two_devices_succeeds);
	tcase_add_test(tc, fixture_parse_many_devices_succeeds);
	tcase_add_loop_test(tc, fixture_parse_unknown_key_fails, 0,
			    (int)(sizeof unknown_keys / sizeof unknown_keys[0]));
	tcase_add_loop_test(tc, fixture_parse_duplicate_key_fails, 0,
			    (int)(sizeof duplicate_keys / sizeof duplicate_keys[0]));
	tcase_add_loop_test(tc, fixture_parse_wrong_type_fails, 0,
			    (int)(sizeof wrong_types / sizeof wrong_types[0]));
	tcase_add_loop_test(tc, fixture_parse_bad_value_fails, 0,
			    (int)(sizeof bad_values / sizeof bad_values[0]));
	tcase_add_test(tc, fixture_parse_hostname_limits);
	tcase_add_test(tc, fixture_parse_id_too_long_fails);
	tcase_add_test(tc, fixture_parse_error_in_later_device_frees_earlier_twins);
	tcase_add_test(tc, fixture_parse_round_trip_succeeds);
	suite_add_tcase(s, tc);

	tc = tcase_create("fixture_free");
	tcase_add_test(tc, fixture_free_null_is_noop);
	suite_add_tcase(s, tc);

	tc = tcase_create("fixture_error_format");
	tcase_add_test(tc, fixture_error_format_path_and_reason);
	tcase_add_test(tc, fixture_error_format_truncates_safely);
	suite_add_tcase(s, tc);
	return s;
}

static Suite *identity_suite(void)
{
	Suite *s = suite_create("identity");
	TCase *tc = tcase_create("identity_validate_id");
	tcase_add_test(tc, identity_validate_id_allowed_succeeds);
	tcase_add_test(tc, identity_validate_id_refused_fails);
	tcase_add_test(tc, identity_validate_id_reads_only_len_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fixture_suite());
	srunner_add_suite(sr, identity_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
