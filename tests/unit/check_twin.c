/*
 * check_twin.c: unit tests of core/twin: every rule of iothub-protocol.md §4 (merge, versions,
 * etag, $metadata, limits, service PATCH/PUT bodies, views), bad input of every kind, and the
 * promise that a rejected operation leaves the stored twin byte-identical.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/isotime.h"
#include "core/twin.h"

#define T0 1743501600000000LL        /* 2025-04-01T10:00:00Z */
#define T1 (T0 + 60000000LL)         /* 10:01:00 */
#define T2 (T0 + 120000000LL)        /* 10:02:00 */
#define TS0 "2025-04-01T10:00:00.0000000Z"
#define TS1 "2025-04-01T10:01:00.0000000Z"
#define TS2 "2025-04-01T10:02:00.0000000Z"

/* ---- helpers ------------------------------------------------------------------------------ */

static cJSON *j(const char *text)
{
	cJSON *v = cJSON_Parse(text);
	ck_assert_msg(v != NULL, "test JSON does not parse: %s", text);
	return v;
}

static char *txt(const cJSON *v)
{
	char *s = cJSON_PrintUnformatted(v);
	ck_assert_ptr_nonnull(s);
	return s;
}

static void assert_json_eq(const cJSON *got, const char *want_text)
{
	cJSON *want = j(want_text);
	char *got_text = txt(got);
	ck_assert_msg(cJSON_Compare(got, want, 1), "got %s\nwant %s", got_text, want_text);
	cJSON_free(got_text);
	cJSON_Delete(want);
}

/* The member at a dotted path ("properties.desired.$metadata.a"); NULL when absent. */
static const cJSON *at(const cJSON *root, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", path);
	const cJSON *cur = root;
	for (char *seg = strtok(buf, "."); seg && cur; seg = strtok(NULL, "."))
		cur = cJSON_GetObjectItemCaseSensitive(cur, seg);
	return cur;
}

static const char *str_at(const cJSON *root, const char *path)
{
	const cJSON *v = at(root, path);
	ck_assert_msg(cJSON_IsString(v), "no string at %s", path);
	return v->valuestring;
}

static double num_at(const cJSON *root, const char *path)
{
	const cJSON *v = at(root, path);
	ck_assert_msg(cJSON_IsNumber(v), "no number at %s", path);
	return v->valuedouble;
}

static void assert_etag(const cJSON *twin, const char *want)
{
	char etag[16];
	ck_assert_int_eq(twin_etag(twin, etag), SH_OK);
	ck_assert_str_eq(etag, want);
}

static void assert_versions(const cJSON *twin, int64_t version, int64_t dver, int64_t rver)
{
	ck_assert_int_eq(twin_version(twin), version);
	ck_assert_int_eq(twin_desired_version(twin), dver);
	ck_assert_int_eq(twin_reported_version(twin), rver);
}

/* A fresh twin with one desired patch applied at T0 (desired $version 2, version 3). */
static cJSON *twin_with_desired(const char *patch_text)
{
	cJSON *t = twin_new(T0);
	cJSON *p = j(patch_text);
	struct iothub_err err = { 0 };
	ck_assert_int_eq(twin_patch_desired(t, p, T0, NULL, NULL, &err), SH_OK);
	cJSON_Delete(p);
	return t;
}

/* A string of n copies of `c`, in a static buffer. */
static const char *repeat(char c, size_t n)
{
	static char buf[40000];
	ck_assert_uint_lt(n, sizeof buf);
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/* {"<key>":1} built with a key given as raw text (may hold any byte). */
static cJSON *obj1(const char *key)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, key, 1);
	return o;
}

/* {"a":{"a":{...{"leaf":1}}}} with `levels` nested objects below the root. */
static cJSON *nested(int levels)
{
	cJSON *inner = cJSON_CreateObject();
	cJSON_AddNumberToObject(inner, "leaf", 1);
	for (int i = 1; i < levels; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "a", inner);
		inner = o;
	}
	cJSON *root = cJSON_CreateObject();
	cJSON_AddItemToObject(root, "a", inner);
	return root;
}

/*
 * A patch of exactly `size` bytes under the §4.6 rule: keys k00, k01, ... (3 bytes each) with
 * string values of at most ~450 bytes, so it passes the legacy string limit too. Every value
 * but the first is `size / n - 3` bytes long (k01 is used by tests that resize one value).
 */
static cJSON *sized_patch(size_t size)
{
	size_t n = size / 403 + 1;
	ck_assert_uint_ge(size, 3 * n);
	size_t v = size - 3 * n, each = v / n, rest = v % n;
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; i < n; i++) {
		char key[8];
		snprintf(key, sizeof key, "k%02zu", i);
		cJSON_AddStringToObject(o, key, repeat('v', each + (i == 0 ? rest : 0)));
	}
	return o;
}

/* Apply `op` and check it failed with rc / 400004 / message, leaving the twin text unchanged. */
#define ASSERT_REJECTED(twin, call, want_rc, want_msg)                                          \
	do {                                                                                     \
		char *before_ = txt(twin);                                                       \
		struct iothub_err err_ = { 0 };                                                   \
		struct iothub_err *errp = &err_;                                                  \
		(void)errp;                                                                       \
		sh_rc rc_ = (call);                                                               \
		ck_assert_int_eq(rc_, (want_rc));                                                 \
		ck_assert_int_eq(err_.code, IOTHUB_ARGUMENT_INVALID);                              \
		if ((want_msg) != NULL)                                                           \
			ck_assert_str_eq(err_.message, (const char *)(want_msg));                 \
		char *after_ = txt(twin);                                                        \
		ck_assert_str_eq(after_, before_);                                                \
		cJSON_free(before_);                                                              \
		cJSON_free(after_);                                                               \
	} while (0)

/* ---- twin_limits_init -------------------------------------------------------------------- */

START_TEST(twin_limits_init_default_has_current_limits)
{
	struct twin_limits l;
	twin_limits_init(&l, false);
	ck_assert_uint_eq(l.max_key_bytes, 1024);
	ck_assert_uint_eq(l.max_string_bytes, 4096);
	ck_assert_int_eq(l.max_depth, 10);
	ck_assert(l.allow_arrays);
	ck_assert_uint_eq(l.max_tags_bytes, 8192);
	ck_assert_uint_eq(l.max_desired_bytes, 32768);
	ck_assert_uint_eq(l.max_reported_bytes, 32768);
}
END_TEST

START_TEST(twin_limits_init_legacy_has_old_module_limits)
{
	struct twin_limits l;
	twin_limits_init(&l, true);
	ck_assert_uint_eq(l.max_key_bytes, 64);
	ck_assert_uint_eq(l.max_string_bytes, 512);
	ck_assert_int_eq(l.max_depth, 5);
	ck_assert(!l.allow_arrays);
	ck_assert_uint_eq(l.max_tags_bytes, 8192);
	ck_assert_uint_eq(l.max_desired_bytes, 8192);
	ck_assert_uint_eq(l.max_reported_bytes, 8192);
}
END_TEST

/* ---- twin_new ------------------------------------------------------------------------------ */

START_TEST(twin_new_fresh_has_observed_counters)
{
	cJSON *t = twin_new(T0);
	ck_assert_ptr_nonnull(t);
	assert_versions(t, 2, 1, 1);
	assert_etag(t, "AAAAAAAAAAE=");
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_new_metadata_roots_have_only_last_updated)
{
	cJSON *t = twin_new(T0);
	cJSON *v = twin_service_view(t);
	assert_json_eq(at(v, "properties.desired"),
		       "{\"$metadata\":{\"$lastUpdated\":\"" TS0 "\"},\"$version\":1}");
	assert_json_eq(at(v, "properties.reported"),
		       "{\"$metadata\":{\"$lastUpdated\":\"" TS0 "\"},\"$version\":1}");
	assert_json_eq(at(v, "tags"), "{}");
	cJSON_Delete(v);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_new_zero_time_gives_never_set_text)
{
	cJSON *t = twin_new(0);
	ck_assert_str_eq(str_at(t, "properties.desired.$metadata.$lastUpdated"), "0001-01-01T00:00:00Z");
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_new_survives_text_round_trip)
{
	cJSON *t = twin_new(T0);
	char *s = txt(t);
	cJSON *back = j(s);
	assert_versions(back, 2, 1, 1);
	cJSON *p = j("{\"a\":1}");
	ck_assert_int_eq(twin_patch_desired(back, p, T1, NULL, NULL, NULL), SH_OK);
	assert_versions(back, 3, 2, 1);
	cJSON_Delete(p);
	cJSON_Delete(back);
	cJSON_free(s);
	cJSON_Delete(t);
}
END_TEST

/* ---- twin_patch_desired ------------------------------------------------------------------- */

START_TEST(twin_patch_desired_valid_patch_merges_and_bumps)
{
	cJSON *t = twin_new(T0);
	cJSON *p = j("{\"temp\":25,\"cfg\":{\"mode\":\"eco\"}}");
	struct iothub_err err = { 0 };
	ck_assert_int_eq(twin_patch_desired(t, p, T1, NULL, NULL, &err), SH_OK);
	assert_versions(t, 3, 2, 1);
	assert_etag(t, "AAAAAAAAAAI=");
	ck_assert_int_eq((int)num_at(t, "properties.desired.temp"), 25);
	ck_assert_str_eq(str_at(t, "properties.desired.cfg.mode"), "eco");
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_delta_is_patch_plus_version)
{
	cJSON *t = twin_with_desired("{\"old\":1,\"keep\":2}");
	cJSON *p = j("{\"device_count\":100,\"old\":null,\"o\":{\"x\":[1,2]}}");
	cJSON *delta = NULL;
	ck_assert_int_eq(twin_patch_desired(t, p, T1, NULL, &delta, NULL), SH_OK);
	assert_json_eq(delta, "{\"device_count\":100,\"old\":null,\"o\":{\"x\":[1,2]},\"$version\":3}");
	/* the delta is a copy: the twin does not change when it is freed */
	cJSON_Delete(delta);
	assert_json_eq(at(t, "properties.desired.o"), "{\"x\":[1,2]}");
	ck_assert_ptr_null(at(t, "properties.desired.old"));
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_metadata_stamped_with_time_and_version)
{
	cJSON *t = twin_new(T0);
	cJSON *p = j("{\"a\":{\"b\":1}}");
	ck_assert_int_eq(twin_patch_desired(t, p, T1, NULL, NULL, NULL), SH_OK);
	assert_json_eq(at(t, "properties.desired.$metadata"),
		       "{\"$lastUpdated\":\"" TS1 "\",\"$lastUpdatedVersion\":2,"
		       "\"a\":{\"$lastUpdated\":\"" TS1 "\",\"$lastUpdatedVersion\":2,"
		       "\"b\":{\"$lastUpdated\":\"" TS1 "\",\"$lastUpdatedVersion\":2}}}");
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_untouched_sibling_keeps_metadata)
{
	cJSON *t = twin_new(T0);
	cJSON *p1 = j("{\"a\":{\"x\":1,\"y\":2},\"z\":3}");
	cJSON *p2 = j("{\"a\":{\"x\":9}}");
	ck_assert_int_eq(twin_patch_desired(t, p1, T1, NULL, NULL, NULL), SH_OK);
	ck_assert_int_eq(twin_patch_desired(t, p2, T2, NULL, NULL, NULL), SH_OK);
	const cJSON *m = at(t, "properties.desired.$metadata");
	assert_json_eq(at(m, "a.y"), "{\"$lastUpdated\":\"" TS1 "\",\"$lastUpdatedVersion\":2}");
	assert_json_eq(at(m, "z"), "{\"$lastUpdated\":\"" TS1 "\",\"$lastUpdatedVersion\":2}");
	assert_json_eq(at(m, "a.x"), "{\"$lastUpdated\":\"" TS2 "\",\"$lastUpdatedVersion\":3}");
	ck_assert_str_eq(str_at(m, "a.$lastUpdated"), TS2);
	ck_assert_int_eq((int)num_at(m, "a.$lastUpdatedVersion"), 3);
	ck_assert_str_eq(str_at(m, "$lastUpdated"), TS2);
	cJSON_Delete(p1);
	cJSON_Delete(p2);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_null_deletes_key_and_metadata_subtree)
{
	cJSON *t = twin_with_desired("{\"a\":{\"b\":{\"c\":1}},\"keep\":true}");
	cJSON *p = j("{\"a\":null}");
	ck_assert_int_eq(twin_patch_desired(t, p, T1, NULL, NULL, NULL), SH_OK);
	ck_assert_ptr_null(at(t, "properties.desired.a"));
	ck_assert_ptr_null(at(t, "properties.desired.$metadata.a"));
	ck_assert_ptr_nonnull(at(t, "properties.desired.$metadata.keep"));
	cJSON *dev = twin_device_view(t);
	assert_json_eq(at(dev, "desired"), "{\"keep\":true,\"$version\":3}");
	cJSON_Delete(dev);
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_nested_null_deletes_only_leaf)
{
	cJSON *t = twin_with_desired("{\"a\":{\"b\":1,\"c\":2}}");
	cJSON *p = j("{\"a\":{\"b\":null}}");
	ck_assert_int_eq(twin_patch_desired(t, p, T1, NULL, NULL, NULL), SH_OK);
	assert_json_eq(at(t, "properties.desired.a"), "{\"c\":2}");
	ck_assert_ptr_null(at(t, "properties.desired.$metadata.a.b"));
	ck_assert_ptr_nonnull(at(t, "properties.desired.$metadata.a.c"));
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_object_over_scalar_gets_child_metadata)
{
	cJSON *t = twin_with_desired("{\"test\":\"teststring\"}");
	cJSON *p = j("{\"test\":{\"test2\":\"x\"}}");
	ck_assert_int_eq(twin_patch_desired(t, p, T1, NULL, NULL, NULL), SH_OK);
	assert_json_eq(at(t, "properties.desired.test"), "{\"test2\":\"x\"}");
	assert_json_eq(at(t, "properties.desired.$metadata.test.test2"),
		       "{\"$lastUpdated\":\"" TS1 "\",\"$lastUpdatedVersion\":3}");
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_scalar_over_object_drops_child_metadata)
{
	cJSON *t = twin_with_desired("{\"a\":{\"b\":1}}");
	cJSON *p = j("{\"a\":[1,2]}");
	ck_assert_int_eq(twin_patch_desired(t, p, T1, NULL, NULL, NULL), SH_OK);
	assert_json_eq(at(t, "properties.desired.a"), "[1,2]");
	assert_json_eq(at(t, "properties.desired.$metadata.a"),
		       "{\"$lastUpdated\":\"" TS1 "\",\"$lastUpdatedVersion\":3}");
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_array_replaces_whole_value)
{
	cJSON *t = twin_with_desired("{\"a\":[1,2,3]}");
	cJSON *p = j("{\"a\":[\"x\"]}");
	ck_assert_int_eq(twin_patch_desired(t, p, T1, NULL, NULL, NULL), SH_OK);
	assert_json_eq(at(t, "properties.desired.a"), "[\"x\"]");
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_empty_object_is_a_write)
{
	cJSON *t = twin_new(T0);
	cJSON *p = j("{}");
	cJSON *delta = NULL;
	ck_assert_int_eq(twin_patch_desired(t, p, T1, NULL, &delta, NULL), SH_OK);
	assert_versions(t, 3, 2, 1);
	assert_json_eq(delta, "{\"$version\":2}");
	cJSON_Delete(delta);
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_wrong_type_fails_unchanged)
{
	static const char *const bad[] = { "[1,2]", "\"text\"", "42", "null", "true" };
	cJSON *t = twin_with_desired("{\"a\":1}");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cJSON *p = j(bad[i]);
		cJSON *delta = NULL;
		ASSERT_REJECTED(t, twin_patch_desired(t, p, T1, NULL, &delta, errp), SH_E_INVALID,
				"properties.desired: must be a JSON object");
		ck_assert_ptr_null(delta);
		cJSON_Delete(p);
	}
	ASSERT_REJECTED(t, twin_patch_desired(t, NULL, T1, NULL, NULL, errp), SH_E_INVALID,
			"properties.desired: must be a JSON object");
	cJSON_Delete(t);
}
END_TEST

/* Key rules, one by one: JSON text of the patch and the message expected. */
static const char *const key_cases[][2] = {
	{ "{\"a.b\":1}", "properties.desired.a.b: key contains '.'" },
	{ "{\"x\":{\"b.c\":1}}", "properties.desired.x.b.c: key contains '.'" },
	{ "{\"$version\":1}", "properties.desired.$version: key contains '$'" },
	{ "{\"$metadata\":{}}", "properties.desired.$metadata: key contains '$'" },
	{ "{\"a$\":1}", "properties.desired.a$: key contains '$'" },
	{ "{\"a b\":1}", "properties.desired.a b: key contains a space" },
	{ "{\" \":1}", "properties.desired. : key contains a space" },
	{ "{\"a\\tb\":1}", "properties.desired.a?b: key contains a control character" },
	{ "{\"a\\u0000b\":1}", NULL },  /* cJSON truncates at NUL: key "a" is fine, see test */
	{ "{\"a\\u001fb\":1}", "properties.desired.a?b: key contains a control character" },
	{ "{\"a\\u007fb\":1}", "properties.desired.a?b: key contains a control character" },
	{ "{\"a\\u0085b\":1}", "properties.desired.a??b: key contains a control character" },
	{ "{\"a\\u009fb\":1}", "properties.desired.a??b: key contains a control character" },
	{ "{\"o\":{\"p\":{\"q r\":1}}}", "properties.desired.o.p.q r: key contains a space" },
	{ "{\"arr\":[1,{\"k.k\":1}]}", "properties.desired.arr[1].k.k: key contains '.'" },
};
#define N_KEY_CASES ((int)(sizeof key_cases / sizeof key_cases[0]))

START_TEST(twin_patch_desired_bad_key_fails_with_path)
{
	cJSON *t = twin_with_desired("{\"a\":1}");
	cJSON *p = j(key_cases[_i][0]);
	if (key_cases[_i][1] == NULL) {
		/* "\u0000" ends the key inside cJSON; what reaches us is the legal key "a". */
		ck_assert_int_eq(twin_patch_desired(t, p, T1, NULL, NULL, NULL), SH_OK);
	} else {
		ASSERT_REJECTED(t, twin_patch_desired(t, p, T1, NULL, NULL, errp), SH_E_INVALID,
				key_cases[_i][1]);
	}
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_key_length_limit_is_bytes)
{
	cJSON *t = twin_new(T0);
	cJSON *ok = obj1(repeat('k', 1024));
	cJSON *bad = obj1(repeat('k', 1025));
	ck_assert_int_eq(twin_patch_desired(t, ok, T1, NULL, NULL, NULL), SH_OK);
	ASSERT_REJECTED(t, twin_patch_desired(t, bad, T1, NULL, NULL, errp), SH_E_INVALID, NULL);
	/* 342 three-byte characters = 1026 bytes: over, though only 342 characters */
	char key[1100] = "";
	for (int i = 0; i < 342; i++)
		strcat(key, "\xe2\x82\xac");
	cJSON *euro = obj1(key);
	ASSERT_REJECTED(t, twin_patch_desired(t, euro, T1, NULL, NULL, errp), SH_E_INVALID, NULL);
	cJSON_Delete(euro);
	cJSON_Delete(ok);
	cJSON_Delete(bad);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_invalid_utf8_fails)
{
	cJSON *t = twin_new(T0);
	cJSON *k = obj1("bad\xff");
	ASSERT_REJECTED(t, twin_patch_desired(t, k, T1, NULL, NULL, errp), SH_E_INVALID,
			"properties.desired.bad?: key is not valid UTF-8");
	cJSON *v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "s", "over\xc0\xaflong");
	ASSERT_REJECTED(t, twin_patch_desired(t, v, T1, NULL, NULL, errp), SH_E_INVALID,
			"properties.desired.s: string is not valid UTF-8");
	cJSON *sur = cJSON_CreateObject();
	cJSON_AddStringToObject(sur, "s", "\xed\xa0\x80");  /* a UTF-16 surrogate */
	ASSERT_REJECTED(t, twin_patch_desired(t, sur, T1, NULL, NULL, errp), SH_E_INVALID, NULL);
	cJSON *good = j("{\"temp\\u00e9rature\":\"\\u20ac \\ud83d\\ude00\"}");
	ck_assert_int_eq(twin_patch_desired(t, good, T1, NULL, NULL, NULL), SH_OK);
	cJSON_Delete(good);
	cJSON_Delete(sur);
	cJSON_Delete(v);
	cJSON_Delete(k);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_depth_10_passes_11_fails)
{
	cJSON *t = twin_new(T0);
	cJSON *ten = nested(10), *eleven = nested(11);
	ck_assert_int_eq(twin_patch_desired(t, ten, T1, NULL, NULL, NULL), SH_OK);
	ASSERT_REJECTED(t, twin_patch_desired(t, eleven, T1, NULL, NULL, errp), SH_E_INVALID,
			"properties.desired.a.a.a.a.a.a.a.a.a.a.a: nesting deeper than 10 levels");
	cJSON_Delete(ten);
	cJSON_Delete(eleven);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_depth_counts_objects_inside_arrays)
{
	cJSON *t = twin_new(T0);
	cJSON *deep = nested(10);
	/* wrap: {"arr":[ <10 levels> ]} puts the innermost object at level 11 */
	cJSON *arr = cJSON_CreateArray();
	cJSON_AddItemToArray(arr, deep);
	cJSON *p = cJSON_CreateObject();
	cJSON_AddItemToObject(p, "arr", arr);
	ASSERT_REJECTED(t, twin_patch_desired(t, p, T1, NULL, NULL, errp), SH_E_INVALID, NULL);
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_string_4096_passes_4097_fails)
{
	cJSON *t = twin_new(T0);
	cJSON *ok = cJSON_CreateObject(), *bad = cJSON_CreateObject();
	cJSON_AddStringToObject(ok, "s", repeat('x', 4096));
	cJSON_AddStringToObject(bad, "s", repeat('x', 4097));
	ck_assert_int_eq(twin_patch_desired(t, ok, T1, NULL, NULL, NULL), SH_OK);
	ASSERT_REJECTED(t, twin_patch_desired(t, bad, T1, NULL, NULL, errp), SH_E_INVALID,
			"properties.desired.s: string is longer than 4096 bytes");
	cJSON_Delete(ok);
	cJSON_Delete(bad);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_integer_range_edges)
{
	static const struct { const char *patch; sh_rc rc; } cases[] = {
		{ "{\"n\":4503599627370495}", SH_OK },
		{ "{\"n\":-4503599627370496}", SH_OK },
		{ "{\"n\":4503599627370496}", SH_E_INVALID },
		{ "{\"n\":-4503599627370497}", SH_E_INVALID },
		{ "{\"n\":9007199254740993}", SH_E_INVALID },
		{ "{\"n\":{\"m\":[1,4503599627370496]}}", SH_E_INVALID },
		{ "{\"n\":1.5}", SH_OK },
		{ "{\"n\":-0.0}", SH_OK },
		{ "{\"n\":1e300}", SH_OK },      /* beyond 2^63: a float, not an integer literal */
		{ "{\"n\":1e18}", SH_E_INVALID }, /* cJSON cannot tell it from 1000000000000000000 */
		{ "{\"n\":1e400}", SH_E_INVALID }, /* strtod gives infinity */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *t = twin_new(T0);
		cJSON *p = j(cases[i].patch);
		if (cases[i].rc == SH_OK) {
			ck_assert_msg(twin_patch_desired(t, p, T1, NULL, NULL, NULL) == SH_OK, "%s",
				      cases[i].patch);
		} else {
			ASSERT_REJECTED(t, twin_patch_desired(t, p, T1, NULL, NULL, errp), SH_E_INVALID,
					NULL);
		}
		cJSON_Delete(p);
		cJSON_Delete(t);
	}
}
END_TEST

START_TEST(twin_patch_desired_integer_message_names_path)
{
	cJSON *t = twin_new(T0);
	cJSON *p = j("{\"n\":{\"m\":[1,4503599627370496]}}");
	ASSERT_REJECTED(t, twin_patch_desired(t, p, T1, NULL, NULL, errp), SH_E_INVALID,
			"properties.desired.n.m[1]: integer out of range "
			"-4503599627370496..4503599627370495");
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_null_inside_array_fails)
{
	cJSON *t = twin_new(T0);
	cJSON *p = j("{\"a\":[1,null]}");
	ASSERT_REJECTED(t, twin_patch_desired(t, p, T1, NULL, NULL, errp), SH_E_INVALID,
			"properties.desired.a[1]: null inside an array");
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_size_at_limit_passes_over_fails)
{
	cJSON *t = twin_new(T0);
	cJSON *full = sized_patch(32768);
	ck_assert_int_eq(twin_patch_desired(t, full, T1, NULL, NULL, NULL), SH_OK);
	cJSON *more = j("{\"z\":true}");  /* 1 + 4 bytes more */
	ASSERT_REJECTED(t, twin_patch_desired(t, more, T1, NULL, NULL, errp), SH_E_TOOLARGE,
			"properties.desired: size 32773 bytes exceeds the limit of 32768 bytes");
	/* checked on the result: shrinking one value makes room */
	cJSON *shrink = j("{\"k01\":\"v\",\"z\":true}");
	ck_assert_int_eq(twin_patch_desired(t, shrink, T1, NULL, NULL, NULL), SH_OK);
	cJSON_Delete(shrink);
	cJSON_Delete(more);
	cJSON_Delete(full);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_size_ignores_control_characters)
{
	cJSON *t = twin_new(T0);
	cJSON *full = sized_patch(32768);
	ck_assert_int_eq(twin_patch_desired(t, full, T1, NULL, NULL, NULL), SH_OK);
	/* k01 holds 396 bytes (32768 = 82 keys); 396 plus two newlines still counts 396 */
	char buf[400];
	memset(buf, 'v', 396);
	memcpy(buf + 396, "\n\n", 3);
	cJSON *same = cJSON_CreateObject();
	cJSON_AddStringToObject(same, "k01", buf);
	ck_assert_int_eq(twin_patch_desired(t, same, T1, NULL, NULL, NULL), SH_OK);
	cJSON *longer = cJSON_CreateObject();
	cJSON_AddStringToObject(longer, "k01", repeat('v', 397));
	ASSERT_REJECTED(t, twin_patch_desired(t, longer, T1, NULL, NULL, errp), SH_E_TOOLARGE, NULL);
	cJSON_Delete(longer);
	cJSON_Delete(same);
	cJSON_Delete(full);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_size_rule_counts_types)
{
	/* tags with tight custom limits check the rule exactly: key bytes + value size */
	static const struct { const char *patch; size_t size; } cases[] = {
		{ "{\"n\":1}", 1 + 8 },
		{ "{\"n\":1.25}", 1 + 8 },
		{ "{\"b\":false}", 1 + 4 },
		{ "{\"s\":\"\\u00e9t\\u00e9\"}", 1 + 5 },           /* UTF-8 bytes */
		{ "{\"s\":\"a\\u0085b\\u0001\"}", 1 + 2 },          /* C1 and C0 not counted */
		{ "{\"o\":{\"k\":\"vv\",\"m\":{}}}", 1 + (1 + 2) + (1 + 0) },
		{ "{\"a\":[1,\"xy\",true,{\"q\":false}]}", 1 + 8 + 2 + 4 + (1 + 4) },
		{ "{\"gone\":null}", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct twin_limits lim;
		twin_limits_init(&lim, false);
		cJSON *p = j(cases[i].patch);
		cJSON *t = twin_new(T0);
		if (cases[i].size > 0) {
			lim.max_tags_bytes = cases[i].size - 1;
			ASSERT_REJECTED(t, twin_patch_tags(t, p, &lim, errp), SH_E_TOOLARGE, NULL);
		}
		lim.max_tags_bytes = cases[i].size;
		ck_assert_msg(twin_patch_tags(t, p, &lim, NULL) == SH_OK, "%s", cases[i].patch);
		cJSON_Delete(t);
		cJSON_Delete(p);
	}
}
END_TEST

START_TEST(twin_patch_desired_rejected_patch_leaves_twin_byte_identical)
{
	static const char *const bad[] = {
		"[]", "{\"a\":{\"b.c\":1}}", "{\"x\":1,\"$version\":3}", "{\"ok\":1,\"bad key\":2}",
		"{\"ok\":{\"deep\":[1,null]}}", "{\"n\":4503599627370496}",
	};
	cJSON *t = twin_with_desired("{\"a\":{\"b\":1},\"list\":[1,2]}");
	cJSON *tags = j("{\"loc\":\"lab\"}");
	cJSON *rep = j("{\"fw\":\"1.0\"}");
	ck_assert_int_eq(twin_patch_tags(t, tags, NULL, NULL), SH_OK);
	ck_assert_int_eq(twin_patch_reported(t, rep, T1, NULL, NULL, NULL), SH_OK);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cJSON *p = j(bad[i]);
		ASSERT_REJECTED(t, twin_patch_desired(t, p, T2, NULL, NULL, errp), SH_E_INVALID, NULL);
		cJSON_Delete(p);
	}
	cJSON_Delete(rep);
	cJSON_Delete(tags);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_legacy_limits_apply)
{
	struct twin_limits legacy;
	twin_limits_init(&legacy, true);
	cJSON *t = twin_new(T0);
	cJSON *arr = j("{\"a\":[1]}");
	ASSERT_REJECTED(t, twin_patch_desired(t, arr, T1, &legacy, NULL, errp), SH_E_INVALID,
			"properties.desired.a: arrays are not supported");
	cJSON *key64 = obj1(repeat('k', 64)), *key65 = obj1(repeat('k', 65));
	ck_assert_int_eq(twin_patch_desired(t, key64, T1, &legacy, NULL, NULL), SH_OK);
	ASSERT_REJECTED(t, twin_patch_desired(t, key65, T1, &legacy, NULL, errp), SH_E_INVALID, NULL);
	cJSON *five = nested(5), *six = nested(6);
	ck_assert_int_eq(twin_patch_desired(t, five, T1, &legacy, NULL, NULL), SH_OK);
	ASSERT_REJECTED(t, twin_patch_desired(t, six, T1, &legacy, NULL, errp), SH_E_INVALID,
			"properties.desired.a.a.a.a.a.a: nesting deeper than 5 levels");
	cJSON *s512 = cJSON_CreateObject(), *s513 = cJSON_CreateObject();
	cJSON_AddStringToObject(s512, "s", repeat('x', 512));
	cJSON_AddStringToObject(s513, "s", repeat('x', 513));
	ck_assert_int_eq(twin_patch_desired(t, s512, T1, &legacy, NULL, NULL), SH_OK);
	ASSERT_REJECTED(t, twin_patch_desired(t, s513, T1, &legacy, NULL, errp), SH_E_INVALID, NULL);
	/* the same array is fine with today's limits */
	ck_assert_int_eq(twin_patch_desired(t, arr, T1, NULL, NULL, NULL), SH_OK);
	cJSON_Delete(s512);
	cJSON_Delete(s513);
	cJSON_Delete(five);
	cJSON_Delete(six);
	cJSON_Delete(key64);
	cJSON_Delete(key65);
	cJSON_Delete(arr);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_legacy_section_is_8k)
{
	struct twin_limits legacy;
	twin_limits_init(&legacy, true);
	cJSON *t = twin_new(T0);
	cJSON *ok = sized_patch(8192), *over = sized_patch(8193);
	ASSERT_REJECTED(t, twin_patch_desired(t, over, T1, &legacy, NULL, errp), SH_E_TOOLARGE,
			"properties.desired: size 8193 bytes exceeds the limit of 8192 bytes");
	ck_assert_int_eq(twin_patch_desired(t, ok, T1, &legacy, NULL, NULL), SH_OK);
	cJSON_Delete(ok);
	cJSON_Delete(over);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_desired_malformed_stored_twin_fails)
{
	static const char *const bad[] = {
		"{}", "[]", "{\"version\":2,\"etagSeq\":1,\"tags\":{},\"properties\":{}}",
		"{\"version\":\"2\",\"etagSeq\":1,\"tags\":{},\"properties\":{\"desired\":{\"$version\":1,"
		"\"$metadata\":{}},\"reported\":{\"$version\":1,\"$metadata\":{}}}}",
		"{\"version\":2,\"etagSeq\":1,\"tags\":{},\"properties\":{\"desired\":{\"$version\":1.5,"
		"\"$metadata\":{}},\"reported\":{\"$version\":1,\"$metadata\":{}}}}",
		"{\"version\":2,\"etagSeq\":-1,\"tags\":{},\"properties\":{\"desired\":{\"$version\":1,"
		"\"$metadata\":{}},\"reported\":{\"$version\":1,\"$metadata\":{}}}}",
		"{\"version\":2,\"etagSeq\":1,\"tags\":[],\"properties\":{\"desired\":{\"$version\":1,"
		"\"$metadata\":{}},\"reported\":{\"$version\":1,\"$metadata\":{}}}}",
		"{\"version\":2,\"etagSeq\":1,\"tags\":{},\"properties\":{\"desired\":{\"$version\":1,"
		"\"$metadata\":[]},\"reported\":{\"$version\":1,\"$metadata\":{}}}}",
	};
	cJSON *p = j("{\"a\":1}");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cJSON *t = j(bad[i]);
		struct iothub_err err = { 0 };
		ck_assert_int_eq(twin_patch_desired(t, p, T1, NULL, NULL, &err), SH_E_MALFORMED);
		ck_assert_int_eq(err.code, IOTHUB_SERVER_ERROR);
		ck_assert_int_eq(twin_patch_reported(t, p, T1, NULL, NULL, NULL), SH_E_MALFORMED);
		ck_assert_int_eq(twin_patch_tags(t, p, NULL, NULL), SH_E_MALFORMED);
		ck_assert_int_eq(twin_service_patch(t, p, T1, NULL, NULL, NULL), SH_E_MALFORMED);
		ck_assert_int_eq(twin_replace(t, p, T1, NULL, NULL, NULL), SH_E_MALFORMED);
		ck_assert_ptr_null(twin_service_view(t));
		ck_assert_ptr_null(twin_device_view(t));
		ck_assert_int_eq(twin_version(t), -1);
		cJSON_Delete(t);
	}
	ck_assert_int_eq(twin_patch_desired(NULL, p, T1, NULL, NULL, NULL), SH_E_MALFORMED);
	cJSON_Delete(p);
}
END_TEST

START_TEST(twin_patch_desired_clock_out_of_range_fails_unchanged)
{
	cJSON *t = twin_new(T0);
	cJSON *p = j("{\"a\":1}");
	char *before = txt(t);
	struct iothub_err err = { 0 };
	ck_assert_int_eq(twin_patch_desired(t, p, ISOTIME_MAX_US + 1, NULL, NULL, &err),
			 SH_E_INVALID);
	ck_assert_int_eq(err.code, IOTHUB_SERVER_ERROR);
	char *after = txt(t);
	ck_assert_str_eq(after, before);
	cJSON_free(before);
	cJSON_free(after);
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

/* ---- twin_patch_reported ------------------------------------------------------------------- */

START_TEST(twin_patch_reported_returns_new_version_keeps_etag)
{
	cJSON *t = twin_new(T0);
	cJSON *p = j("{\"fw\":\"1.0\",\"battery\":{\"level\":88}}");
	int64_t v = 0;
	ck_assert_int_eq(twin_patch_reported(t, p, T1, NULL, &v, NULL), SH_OK);
	ck_assert_int_eq(v, 2);
	assert_versions(t, 3, 1, 2);
	assert_etag(t, "AAAAAAAAAAE=");
	ck_assert_int_eq((int)num_at(t, "properties.reported.battery.level"), 88);
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_reported_metadata_has_no_last_updated_version)
{
	cJSON *t = twin_new(T0);
	cJSON *p = j("{\"battery\":{\"level\":88}}");
	ck_assert_int_eq(twin_patch_reported(t, p, T1, NULL, NULL, NULL), SH_OK);
	assert_json_eq(at(t, "properties.reported.$metadata"),
		       "{\"$lastUpdated\":\"" TS1 "\",\"battery\":{\"$lastUpdated\":\"" TS1 "\","
		       "\"level\":{\"$lastUpdated\":\"" TS1 "\"}}}");
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_reported_top_level_version_is_ignored)
{
	cJSON *t = twin_new(T0);
	cJSON *p = j("{\"$version\":7,\"temp\":25,\"$version\":8}");
	int64_t v = 0;
	ck_assert_int_eq(twin_patch_reported(t, p, T1, NULL, &v, NULL), SH_OK);
	ck_assert_int_eq(v, 2);
	cJSON *dev = twin_device_view(t);
	assert_json_eq(at(dev, "reported"), "{\"temp\":25,\"$version\":2}");
	cJSON_Delete(dev);
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_reported_other_dollar_keys_fail)
{
	static const char *const bad[][2] = {
		{ "{\"$metadata\":{}}", "properties.reported.$metadata: key contains '$'" },
		{ "{\"a\":{\"$version\":1}}", "properties.reported.a.$version: key contains '$'" },
		{ "{\"$lastUpdated\":\"x\"}", "properties.reported.$lastUpdated: key contains '$'" },
	};
	cJSON *t = twin_new(T0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cJSON *p = j(bad[i][0]);
		int64_t v = -5;
		ASSERT_REJECTED(t, twin_patch_reported(t, p, T1, NULL, &v, errp), SH_E_INVALID, bad[i][1]);
		ck_assert_int_eq(v, -5);
		cJSON_Delete(p);
	}
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_reported_wrong_type_fails)
{
	static const char *const bad[] = { "[]", "\"s\"", "1", "null" };
	cJSON *t = twin_new(T0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cJSON *p = j(bad[i]);
		ASSERT_REJECTED(t, twin_patch_reported(t, p, T1, NULL, NULL, errp), SH_E_INVALID,
				"properties.reported: must be a JSON object");
		cJSON_Delete(p);
	}
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_reported_size_limit_applies)
{
	cJSON *t = twin_new(T0);
	cJSON *full = sized_patch(32768), *more = j("{\"x\":1}");
	ck_assert_int_eq(twin_patch_reported(t, full, T1, NULL, NULL, NULL), SH_OK);
	ASSERT_REJECTED(t, twin_patch_reported(t, more, T1, NULL, NULL, errp), SH_E_TOOLARGE,
			"properties.reported: size 32777 bytes exceeds the limit of 32768 bytes");
	cJSON_Delete(full);
	cJSON_Delete(more);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_reported_empty_object_bumps)
{
	cJSON *t = twin_new(T0);
	cJSON *p = j("{}");
	int64_t v = 0;
	ck_assert_int_eq(twin_patch_reported(t, p, T1, NULL, &v, NULL), SH_OK);
	ck_assert_int_eq(v, 2);
	assert_versions(t, 3, 1, 2);
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

/* ---- twin_patch_tags --------------------------------------------------------------------- */

START_TEST(twin_patch_tags_merges_without_metadata)
{
	cJSON *t = twin_new(T0);
	cJSON *p1 = j("{\"location\":{\"region\":\"US\",\"plant\":\"Redmond43\"}}");
	cJSON *p2 = j("{\"location\":{\"plant\":null},\"env\":\"prod\"}");
	ck_assert_int_eq(twin_patch_tags(t, p1, NULL, NULL), SH_OK);
	ck_assert_int_eq(twin_patch_tags(t, p2, NULL, NULL), SH_OK);
	assert_json_eq(at(t, "tags"), "{\"location\":{\"region\":\"US\"},\"env\":\"prod\"}");
	assert_versions(t, 4, 1, 1);
	assert_etag(t, "AAAAAAAAAAM=");
	cJSON_Delete(p1);
	cJSON_Delete(p2);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_tags_bad_input_fails)
{
	cJSON *t = twin_new(T0);
	cJSON *arr = j("[1]"), *key = j("{\"a\":{\"b c\":1}}");
	ASSERT_REJECTED(t, twin_patch_tags(t, arr, NULL, errp), SH_E_INVALID,
			"tags: must be a JSON object");
	ASSERT_REJECTED(t, twin_patch_tags(t, key, NULL, errp), SH_E_INVALID,
			"tags.a.b c: key contains a space");
	cJSON_Delete(arr);
	cJSON_Delete(key);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_patch_tags_8k_limit)
{
	cJSON *t = twin_new(T0);
	cJSON *ok = sized_patch(8192), *over = j("{\"z\":1}");
	ck_assert_int_eq(twin_patch_tags(t, ok, NULL, NULL), SH_OK);
	ASSERT_REJECTED(t, twin_patch_tags(t, over, NULL, errp), SH_E_TOOLARGE,
			"tags: size 8201 bytes exceeds the limit of 8192 bytes");
	cJSON_Delete(ok);
	cJSON_Delete(over);
	cJSON_Delete(t);
}
END_TEST

/* ---- twin_service_patch ------------------------------------------------------------------ */

START_TEST(twin_service_patch_tags_and_desired_is_one_write)
{
	cJSON *t = twin_new(T0);
	cJSON *b = j("{\"tags\":{\"location\":\"lab\"},\"properties\":{\"desired\":{\"temp\":25}}}");
	cJSON *delta = NULL;
	ck_assert_int_eq(twin_service_patch(t, b, T1, NULL, &delta, NULL), SH_OK);
	assert_versions(t, 3, 2, 1);
	assert_etag(t, "AAAAAAAAAAI=");
	assert_json_eq(delta, "{\"temp\":25,\"$version\":2}");
	ck_assert_str_eq(str_at(t, "tags.location"), "lab");
	cJSON_Delete(delta);
	cJSON_Delete(b);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_service_patch_tags_only_gives_no_delta)
{
	cJSON *t = twin_new(T0);
	cJSON *b = j("{\"tags\":{\"a\":1},\"properties\":{\"desired\":null}}");
	cJSON *delta = (cJSON *)&delta;  /* must be overwritten with NULL */
	ck_assert_int_eq(twin_service_patch(t, b, T1, NULL, &delta, NULL), SH_OK);
	ck_assert_ptr_null(delta);
	assert_versions(t, 3, 1, 1);
	assert_etag(t, "AAAAAAAAAAI=");
	cJSON_Delete(b);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_service_patch_non_empty_reported_fails)
{
	cJSON *t = twin_new(T0);
	cJSON *b = j("{\"properties\":{\"desired\":{\"a\":1},\"reported\":{\"fw\":\"2\"}}}");
	ASSERT_REJECTED(t, twin_service_patch(t, b, T1, NULL, NULL, errp), SH_E_INVALID,
			"properties.reported: reported properties cannot be set by the service");
	cJSON *arr = j("{\"properties\":{\"reported\":[1]}}");
	ASSERT_REJECTED(t, twin_service_patch(t, arr, T1, NULL, NULL, errp), SH_E_INVALID, NULL);
	cJSON_Delete(arr);
	cJSON_Delete(b);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_service_patch_empty_reported_is_ignored)
{
	cJSON *t = twin_new(T0);
	cJSON *b = j("{\"properties\":{\"desired\":{\"a\":1},\"reported\":{\"$version\":1}}}");
	ck_assert_int_eq(twin_service_patch(t, b, T1, NULL, NULL, NULL), SH_OK);
	assert_versions(t, 3, 2, 1);
	cJSON_Delete(b);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_service_patch_identity_fields_are_ignored)
{
	cJSON *t = twin_new(T0);
	cJSON *b = j("{\"deviceId\":\"dev1\",\"etag\":null,\"version\":99,\"status\":\"enabled\","
		     "\"properties\":{\"desired\":{\"fan\":true}}}");
	ck_assert_int_eq(twin_service_patch(t, b, T1, NULL, NULL, NULL), SH_OK);
	assert_versions(t, 3, 2, 1);
	ck_assert_ptr_null(at(t, "deviceId"));
	cJSON_Delete(b);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_service_patch_bad_shapes_fail)
{
	static const char *const bad[][2] = {
		{ "[]", "twin: patch must be a JSON object" },
		{ "\"x\"", "twin: patch must be a JSON object" },
		{ "5", "twin: patch must be a JSON object" },
		{ "{\"tags\":[1]}", "tags: must be a JSON object" },
		{ "{\"tags\":\"x\"}", "tags: must be a JSON object" },
		{ "{\"properties\":[]}", "properties: must be a JSON object" },
		{ "{\"properties\":{\"desired\":[1]}}", "properties.desired: must be a JSON object" },
		{ "{\"properties\":{\"desired\":5}}", "properties.desired: must be a JSON object" },
		{ "{\"properties\":{\"other\":{}}}", "properties.other: unknown properties section" },
		{ "{\"properties\":{\"desired\":{\"$version\":4}}}",
		  "properties.desired.$version: key contains '$'" },
		{ "{\"tags\":{\"$etag\":\"1\"}}", "tags.$etag: key contains '$'" },
	};
	cJSON *t = twin_new(T0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cJSON *b = j(bad[i][0]);
		ASSERT_REJECTED(t, twin_service_patch(t, b, T1, NULL, NULL, errp), SH_E_INVALID, bad[i][1]);
		cJSON_Delete(b);
	}
	ASSERT_REJECTED(t, twin_service_patch(t, NULL, T1, NULL, NULL, errp), SH_E_INVALID, NULL);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_service_patch_empty_body_changes_nothing)
{
	static const char *const empty[] = { "{}", "{\"properties\":{}}", "{\"tags\":null}",
					     "{\"properties\":null,\"deviceId\":\"d\"}" };
	cJSON *t = twin_new(T0);
	char *before = txt(t);
	for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
		cJSON *b = j(empty[i]);
		cJSON *delta = (cJSON *)&delta;
		ck_assert_int_eq(twin_service_patch(t, b, T1, NULL, &delta, NULL), SH_OK);
		ck_assert_ptr_null(delta);
		char *after = txt(t);
		ck_assert_str_eq(after, before);
		cJSON_free(after);
		cJSON_Delete(b);
	}
	cJSON_free(before);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_service_patch_is_atomic)
{
	cJSON *t = twin_with_desired("{\"a\":1}");
	cJSON *bad_desired = j("{\"tags\":{\"ok\":1},\"properties\":{\"desired\":{\"a.b\":1}}}");
	ASSERT_REJECTED(t, twin_service_patch(t, bad_desired, T1, NULL, NULL, errp), SH_E_INVALID,
			"properties.desired.a.b: key contains '.'");
	/* desired over its size while the tags part is fine */
	cJSON *big = cJSON_CreateObject();
	cJSON_AddItemToObject(big, "tags", j("{\"ok\":1}"));
	cJSON *props = cJSON_AddObjectToObject(big, "properties");
	cJSON_AddItemToObject(props, "desired", sized_patch(32769));
	cJSON *delta = NULL;
	ASSERT_REJECTED(t, twin_service_patch(t, big, T1, NULL, &delta, errp), SH_E_TOOLARGE, NULL);
	ck_assert_ptr_null(delta);
	/* tags over its size while desired is fine */
	cJSON *big_tags = cJSON_CreateObject();
	cJSON_AddItemToObject(big_tags, "tags", sized_patch(8193));
	cJSON_AddItemToObject(cJSON_AddObjectToObject(big_tags, "properties"), "desired", j("{\"b\":2}"));
	ASSERT_REJECTED(t, twin_service_patch(t, big_tags, T1, NULL, NULL, errp), SH_E_TOOLARGE, NULL);
	cJSON_Delete(big_tags);
	cJSON_Delete(big);
	cJSON_Delete(bad_desired);
	cJSON_Delete(t);
}
END_TEST

/* ---- twin_replace ------------------------------------------------------------------------ */

START_TEST(twin_replace_replaces_tags_and_desired_keeps_reported)
{
	cJSON *t = twin_with_desired("{\"old\":1,\"both\":{\"x\":1}}");
	cJSON *tags = j("{\"oldtag\":1}"), *rep = j("{\"fw\":\"1.0\"}");
	twin_patch_tags(t, tags, NULL, NULL);
	twin_patch_reported(t, rep, T1, NULL, NULL, NULL);
	assert_versions(t, 5, 2, 2);
	assert_etag(t, "AAAAAAAAAAM=");
	cJSON *b = j("{\"tags\":{\"newtag\":\"v\"},\"properties\":{\"desired\":{\"both\":{\"y\":2},"
		     "\"gone\":null}}}");
	cJSON *delta = NULL;
	ck_assert_int_eq(twin_replace(t, b, T2, NULL, &delta, NULL), SH_OK);
	assert_versions(t, 6, 3, 2);
	assert_etag(t, "AAAAAAAAAAQ=");
	assert_json_eq(at(t, "tags"), "{\"newtag\":\"v\"}");
	cJSON *dev = twin_device_view(t);
	assert_json_eq(dev, "{\"desired\":{\"both\":{\"y\":2},\"$version\":3},"
			    "\"reported\":{\"fw\":\"1.0\",\"$version\":2}}");
	assert_json_eq(delta, "{\"both\":{\"y\":2},\"$version\":3}");
	cJSON_Delete(dev);
	cJSON_Delete(delta);
	cJSON_Delete(b);
	cJSON_Delete(tags);
	cJSON_Delete(rep);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_replace_rebuilds_desired_metadata)
{
	cJSON *t = twin_with_desired("{\"a\":1}");
	cJSON *b = j("{\"properties\":{\"desired\":{\"o\":{\"p\":true}}}}");
	ck_assert_int_eq(twin_replace(t, b, T2, NULL, NULL, NULL), SH_OK);
	assert_json_eq(at(t, "properties.desired.$metadata"),
		       "{\"$lastUpdated\":\"" TS2 "\",\"$lastUpdatedVersion\":3,"
		       "\"o\":{\"$lastUpdated\":\"" TS2 "\",\"$lastUpdatedVersion\":3,"
		       "\"p\":{\"$lastUpdated\":\"" TS2 "\",\"$lastUpdatedVersion\":3}}}");
	cJSON_Delete(b);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_replace_accepts_a_get_result_as_body)
{
	cJSON *t = twin_with_desired("{\"a\":1}");
	cJSON *rep = j("{\"fw\":\"1.0\"}");
	twin_patch_reported(t, rep, T1, NULL, NULL, NULL);
	cJSON *view = twin_service_view(t);
	cJSON_AddStringToObject(view, "deviceId", "dev1");
	cJSON *desired = (cJSON *)at(view, "properties.desired");
	cJSON_ReplaceItemInObjectCaseSensitive(desired, "a", cJSON_CreateNumber(2));
	ck_assert_int_eq(twin_replace(t, view, T2, NULL, NULL, NULL), SH_OK);
	cJSON *dev = twin_device_view(t);
	assert_json_eq(dev, "{\"desired\":{\"a\":2,\"$version\":3},"
			    "\"reported\":{\"fw\":\"1.0\",\"$version\":2}}");
	cJSON_Delete(dev);
	cJSON_Delete(view);
	cJSON_Delete(rep);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_replace_absent_parts_empty_them)
{
	cJSON *t = twin_with_desired("{\"a\":1}");
	cJSON *tags = j("{\"t\":1}");
	twin_patch_tags(t, tags, NULL, NULL);
	cJSON *b = j("{\"deviceId\":\"dev1\"}");
	cJSON *delta = NULL;
	ck_assert_int_eq(twin_replace(t, b, T2, NULL, &delta, NULL), SH_OK);
	assert_json_eq(at(t, "tags"), "{}");
	assert_json_eq(delta, "{\"$version\":3}");
	cJSON *dev = twin_device_view(t);
	assert_json_eq(at(dev, "desired"), "{\"$version\":3}");
	cJSON_Delete(dev);
	cJSON_Delete(delta);
	cJSON_Delete(b);
	cJSON_Delete(tags);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_replace_bad_body_fails_unchanged)
{
	static const char *const bad[][2] = {
		{ "[]", "twin: replacement must be a JSON object" },
		{ "{\"tags\":5}", "tags: must be a JSON object" },
		{ "{\"properties\":\"x\"}", "properties: must be a JSON object" },
		{ "{\"properties\":{\"desired\":[]}}", "properties.desired: must be a JSON object" },
		{ "{\"properties\":{\"desired\":{\"a\":{\"$version\":1}}}}",
		  "properties.desired.a.$version: key contains '$'" },
		{ "{\"properties\":{\"desired\":{\"$other\":1}}}",
		  "properties.desired.$other: key contains '$'" },
		{ "{\"tags\":{\"a.b\":1}}", "tags.a.b: key contains '.'" },
	};
	cJSON *t = twin_with_desired("{\"a\":1}");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cJSON *b = j(bad[i][0]);
		cJSON *delta = NULL;
		ASSERT_REJECTED(t, twin_replace(t, b, T1, NULL, &delta, errp), SH_E_INVALID, bad[i][1]);
		ck_assert_ptr_null(delta);
		cJSON_Delete(b);
	}
	cJSON *big = cJSON_CreateObject();
	cJSON_AddItemToObject(cJSON_AddObjectToObject(big, "properties"), "desired", sized_patch(32769));
	ASSERT_REJECTED(t, twin_replace(t, big, T1, NULL, NULL, errp), SH_E_TOOLARGE, NULL);
	cJSON_Delete(big);
	cJSON_Delete(t);
}
END_TEST

/* ---- twin_service_view -------------------------------------------------------------------- */

START_TEST(twin_service_view_has_documented_shape)
{
	cJSON *t = twin_with_desired("{\"telemetryConfig\":{\"sendFrequency\":\"5m\"}}");
	cJSON *rep = j("{\"batteryLevel\":55}"), *tags = j("{\"location\":{\"region\":\"US\"}}");
	twin_patch_reported(t, rep, T1, NULL, NULL, NULL);
	twin_patch_tags(t, tags, NULL, NULL);
	cJSON *v = twin_service_view(t);
	assert_json_eq(v,
		"{\"etag\":\"AAAAAAAAAAM=\",\"version\":5,\"tags\":{\"location\":{\"region\":\"US\"}},"
		"\"properties\":{"
		"\"desired\":{\"telemetryConfig\":{\"sendFrequency\":\"5m\"},"
		"\"$metadata\":{\"$lastUpdated\":\"" TS0 "\",\"$lastUpdatedVersion\":2,"
		"\"telemetryConfig\":{\"$lastUpdated\":\"" TS0 "\",\"$lastUpdatedVersion\":2,"
		"\"sendFrequency\":{\"$lastUpdated\":\"" TS0 "\",\"$lastUpdatedVersion\":2}}},"
		"\"$version\":2},"
		"\"reported\":{\"batteryLevel\":55,\"$metadata\":{\"$lastUpdated\":\"" TS1 "\","
		"\"batteryLevel\":{\"$lastUpdated\":\"" TS1 "\"}},\"$version\":2}}}");
	/* data first, then $metadata, then $version, as the hub prints them */
	const cJSON *d = at(v, "properties.desired");
	ck_assert_str_eq(d->child->string, "telemetryConfig");
	ck_assert_str_eq(d->child->next->string, "$metadata");
	ck_assert_str_eq(d->child->next->next->string, "$version");
	ck_assert_ptr_null(at(v, "etagSeq"));
	cJSON_Delete(v);
	cJSON_Delete(rep);
	cJSON_Delete(tags);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_service_view_is_a_copy)
{
	cJSON *t = twin_with_desired("{\"a\":1}");
	char *before = txt(t);
	cJSON *v = twin_service_view(t);
	cJSON_DeleteItemFromObjectCaseSensitive((cJSON *)at(v, "properties.desired"), "a");
	cJSON_Delete(v);
	char *after = txt(t);
	ck_assert_str_eq(after, before);
	cJSON_free(before);
	cJSON_free(after);
	cJSON_Delete(t);
}
END_TEST

/* ---- twin_device_view --------------------------------------------------------------------- */

START_TEST(twin_device_view_has_no_metadata_or_tags)
{
	cJSON *t = twin_with_desired("{\"device_count\":20,\"o\":{\"p\":1}}");
	cJSON *tags = j("{\"secret\":1}"), *rep = j("{\"device_count\":0}");
	twin_patch_tags(t, tags, NULL, NULL);
	twin_patch_reported(t, rep, T1, NULL, NULL, NULL);
	cJSON *d = twin_device_view(t);
	assert_json_eq(d, "{\"desired\":{\"device_count\":20,\"o\":{\"p\":1},\"$version\":2},"
			  "\"reported\":{\"device_count\":0,\"$version\":2}}");
	char *s = txt(d);
	ck_assert_ptr_null(strstr(s, "$metadata"));
	ck_assert_ptr_null(strstr(s, "secret"));
	cJSON_free(s);
	cJSON_Delete(d);
	cJSON_Delete(tags);
	cJSON_Delete(rep);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_device_view_fresh_twin_matches_protocol_shape)
{
	cJSON *t = twin_new(T0);
	cJSON *d = twin_device_view(t);
	char *s = txt(d);
	ck_assert_str_eq(s, "{\"desired\":{\"$version\":1},\"reported\":{\"$version\":1}}");
	cJSON_free(s);
	cJSON_Delete(d);
	cJSON_Delete(t);
}
END_TEST

/* ---- twin_etag ------------------------------------------------------------------------------ */

START_TEST(twin_etag_is_base64_of_big_endian_counter)
{
	static const struct { double seq; const char *etag; } cases[] = {
		{ 1, "AAAAAAAAAAE=" }, { 7, "AAAAAAAAAAc=" }, { 18, "AAAAAAAAABI=" },
		{ 256, "AAAAAAAAAQA=" }, { 4294967296.0, "AAAAAQAAAAA=" },
		{ 9007199254740992.0, "ACAAAAAAAAA=" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *t = twin_new(T0);
		cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(t, "etagSeq"), cases[i].seq);
		assert_etag(t, cases[i].etag);
		cJSON_Delete(t);
	}
}
END_TEST

START_TEST(twin_etag_moves_on_service_writes_only)
{
	cJSON *t = twin_new(T0);
	cJSON *p = j("{\"a\":1}");
	for (int i = 0; i < 6; i++) {
		ck_assert_int_eq(twin_patch_desired(t, p, T1, NULL, NULL, NULL), SH_OK);
		ck_assert_int_eq(twin_patch_reported(t, p, T1, NULL, NULL, NULL), SH_OK);
	}
	assert_etag(t, "AAAAAAAAAAc=");
	assert_versions(t, 14, 7, 7);
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_etag_malformed_twin_fails_with_empty_text)
{
	char etag[16] = "junk";
	cJSON *t = j("{\"etagSeq\":1}");
	ck_assert_int_eq(twin_etag(t, etag), SH_E_MALFORMED);
	ck_assert_str_eq(etag, "");
	ck_assert_int_eq(twin_etag(NULL, etag), SH_E_MALFORMED);
	cJSON_Delete(t);
}
END_TEST

/* ---- twin_version -------------------------------------------------------------------------- */

START_TEST(twin_version_follows_sequence_of_operations)
{
	cJSON *t = twin_new(T0);
	cJSON *d = j("{\"a\":1}"), *r = j("{\"b\":1}"), *g = j("{\"c\":1}");
	cJSON *both = j("{\"tags\":{\"x\":1},\"properties\":{\"desired\":{\"y\":1}}}");
	cJSON *put = j("{\"tags\":{},\"properties\":{\"desired\":{\"z\":1}}}");
	cJSON *bad = j("{\"a.b\":1}");
	assert_versions(t, 2, 1, 1);
	ck_assert_int_eq(twin_patch_desired(t, d, T1, NULL, NULL, NULL), SH_OK);
	assert_versions(t, 3, 2, 1);
	ck_assert_int_eq(twin_patch_reported(t, r, T1, NULL, NULL, NULL), SH_OK);
	assert_versions(t, 4, 2, 2);
	ck_assert_int_eq(twin_patch_tags(t, g, NULL, NULL), SH_OK);
	assert_versions(t, 5, 2, 2);
	ck_assert_int_eq(twin_service_patch(t, both, T1, NULL, NULL, NULL), SH_OK);
	assert_versions(t, 6, 3, 2);
	ck_assert_int_eq(twin_replace(t, put, T2, NULL, NULL, NULL), SH_OK);
	assert_versions(t, 7, 4, 2);
	ck_assert_int_eq(twin_patch_desired(t, bad, T2, NULL, NULL, NULL), SH_E_INVALID);
	ck_assert_int_eq(twin_patch_reported(t, bad, T2, NULL, NULL, NULL), SH_E_INVALID);
	ck_assert_int_eq(twin_patch_tags(t, bad, NULL, NULL), SH_E_INVALID);
	assert_versions(t, 7, 4, 2);
	assert_etag(t, "AAAAAAAAAAU=");
	cJSON_Delete(d);
	cJSON_Delete(r);
	cJSON_Delete(g);
	cJSON_Delete(both);
	cJSON_Delete(put);
	cJSON_Delete(bad);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_version_malformed_twin_gives_minus_one)
{
	cJSON *t = j("[1]");
	ck_assert_int_eq(twin_version(t), -1);
	ck_assert_int_eq(twin_desired_version(t), -1);
	ck_assert_int_eq(twin_reported_version(t), -1);
	ck_assert_int_eq(twin_version(NULL), -1);
	cJSON_Delete(t);
}
END_TEST

START_TEST(twin_version_exhausted_counter_refuses_writes)
{
	cJSON *t = twin_new(T0);
	cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(t, "version"), 9007199254740992.0);
	cJSON *p = j("{\"a\":1}");
	char *before = txt(t);
	struct iothub_err err = { 0 };
	ck_assert_int_eq(twin_patch_reported(t, p, T1, NULL, NULL, &err), SH_E_STATE);
	ck_assert_int_eq(err.code, IOTHUB_SERVER_ERROR);
	char *after = txt(t);
	ck_assert_str_eq(after, before);
	cJSON_free(before);
	cJSON_free(after);
	cJSON_Delete(p);
	cJSON_Delete(t);
}
END_TEST

static Suite *twin_suite(void)
{
	Suite *s = suite_create("twin");
	TCase *tc = tcase_create("twin_limits_init");
	tcase_add_test(tc, twin_limits_init_default_has_current_limits);
	tcase_add_test(tc, twin_limits_init_legacy_has_old_module_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("twin_new");
	tcase_add_test(tc, twin_new_fresh_has_observed_counters);
	tcase_add_test(tc, twin_new_metadata_roots_have_only_last_updated);
	tcase_add_test(tc, twin_new_zero_time_gives_never_set_text);
	tcase_add_test(tc, twin_new_survives_text_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("twin_patch_desired");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, twin_patch_desired_valid_patch_merges_and_bumps);
	tcase_add_test(tc, twin_patch_desired_delta_is_patch_plus_version);
	tcase_add_test(tc, twin_patch_desired_metadata_stamped_with_time_and_version);
	tcase_add_test(tc, twin_patch_desired_untouched_sibling_keeps_metadata);
	tcase_add_test(tc, twin_patch_desired_null_deletes_key_and_metadata_subtree);
	tcase_add_test(tc, twin_patch_desired_nested_null_deletes_only_leaf);
	tcase_add_test(tc, twin_patch_desired_object_over_scalar_gets_child_metadata);
	tcase_add_test(tc, twin_patch_desired_scalar_over_object_drops_child_metadata);
	tcase_add_test(tc, twin_patch_desired_array_replaces_whole_value);
	tcase_add_test(tc, twin_patch_desired_empty_object_is_a_write);
	tcase_add_test(tc, twin_patch_desired_wrong_type_fails_unchanged);
	tcase_add_loop_test(tc, twin_patch_desired_bad_key_fails_with_path, 0, N_KEY_CASES);
	tcase_add_test(tc, twin_patch_desired_key_length_limit_is_bytes);
	tcase_add_test(tc, twin_patch_desired_invalid_utf8_fails);
	tcase_add_test(tc, twin_patch_desired_depth_10_passes_11_fails);
	tcase_add_test(tc, twin_patch_desired_depth_counts_objects_inside_arrays);
	tcase_add_test(tc, twin_patch_desired_string_4096_passes_4097_fails);
	tcase_add_test(tc, twin_patch_desired_integer_range_edges);
	tcase_add_test(tc, twin_patch_desired_integer_message_names_path);
	tcase_add_test(tc, twin_patch_desired_null_inside_array_fails);
	tcase_add_test(tc, twin_patch_desired_size_at_limit_passes_over_fails);
	tcase_add_test(tc, twin_patch_desired_size_ignores_control_characters);
	tcase_add_test(tc, twin_patch_desired_size_rule_counts_types);
	tcase_add_test(tc, twin_patch_desired_rejected_patch_leaves_twin_byte_identical);
	tcase_add_test(tc, twin_patch_desired_legacy_limits_apply);
	tcase_add_test(tc, twin_patch_desired_legacy_section_is_8k);
	tcase_add_test(tc, twin_patch_desired_malformed_stored_twin_fails);
	tcase_add_test(tc, twin_patch_desired_clock_out_of_range_fails_unchanged);
	suite_add_tcase(s, tc);

	tc = tcase_create("twin_patch_reported");
	tcase_add_test(tc, twin_patch_reported_returns_new_version_keeps_etag);
	tcase_add_test(tc, twin_patch_reported_metadata_has_no_last_updated_version);
	tcase_add_test(tc, twin_patch_reported_top_level_version_is_ignored);
	tcase_add_test(tc, twin_patch_reported_other_dollar_keys_fail);
	tcase_add_test(tc, twin_patch_reported_wrong_type_fails);
	tcase_add_test(tc, twin_patch_reported_size_limit_applies);
	tcase_add_test(tc, twin_patch_reported_empty_object_bumps);
	suite_add_tcase(s, tc);

	tc = tcase_create("twin_patch_tags");
	tcase_add_test(tc, twin_patch_tags_merges_without_metadata);
	tcase_add_test(tc, twin_patch_tags_bad_input_fails);
	tcase_add_test(tc, twin_patch_tags_8k_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("twin_service_patch");
	tcase_add_test(tc, twin_service_patch_tags_and_desired_is_one_write);
	tcase_add_test(tc, twin_service_patch_tags_only_gives_no_delta);
	tcase_add_test(tc, twin_service_patch_non_empty_reported_fails);
	tcase_add_test(tc, twin_service_patch_empty_reported_is_ignored);
	tcase_add_test(tc, twin_service_patch_identity_fields_are_ignored);
	tcase_add_test(tc, twin_service_patch_bad_shapes_fail);
	tcase_add_test(tc, twin_service_patch_empty_body_changes_nothing);
	tcase_add_test(tc, twin_service_patch_is_atomic);
	suite_add_tcase(s, tc);

	tc = tcase_create("twin_replace");
	tcase_add_test(tc, twin_replace_replaces_tags_and_desired_keeps_reported);
	tcase_add_test(tc, twin_replace_rebuilds_desired_metadata);
	tcase_add_test(tc, twin_replace_accepts_a_get_result_as_body);
	tcase_add_test(tc, twin_replace_absent_parts_empty_them);
	tcase_add_test(tc, twin_replace_bad_body_fails_unchanged);
	suite_add_tcase(s, tc);

	tc = tcase_create("twin_service_view");
	tcase_add_test(tc, twin_service_view_has_documented_shape);
	tcase_add_test(tc, twin_service_view_is_a_copy);
	suite_add_tcase(s, tc);

	tc = tcase_create("twin_device_view");
	tcase_add_test(tc, twin_device_view_has_no_metadata_or_tags);
	tcase_add_test(tc, twin_device_view_fresh_twin_matches_protocol_shape);
	suite_add_tcase(s, tc);

	tc = tcase_create("twin_etag");
	tcase_add_test(tc, twin_etag_is_base64_of_big_endian_counter);
	tcase_add_test(tc, twin_etag_moves_on_service_writes_only);
	tcase_add_test(tc, twin_etag_malformed_twin_fails_with_empty_text);
	suite_add_tcase(s, tc);

	tc = tcase_create("twin_version");
	tcase_add_test(tc, twin_version_follows_sequence_of_operations);
	tcase_add_test(tc, twin_version_malformed_twin_gives_minus_one);
	tcase_add_test(tc, twin_version_exhausted_counter_refuses_writes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(twin_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
