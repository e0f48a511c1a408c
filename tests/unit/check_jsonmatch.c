/*
 * check_jsonmatch.c: unit tests of the JSON pattern room (core/jsonmatch): validation of
 * patterns, matching with every operator, the "where and why" of mismatches, hostile nesting.
 * Inline JSON only; never touches storage or the network.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/jsonmatch.h"

/* Parse JSON written with single quotes (so tests stay readable); the test fails on bad JSON. */
static cJSON *j(const char *single_quoted)
{
	char *buf = strdup(single_quoted);
	ck_assert_ptr_nonnull(buf);
	for (char *c = buf; *c; c++) {
		if (*c == '\'')
			*c = '"';
	}
	cJSON *v = cJSON_Parse(buf);
	ck_assert_msg(v != NULL, "bad test JSON: %s", single_quoted);
	free(buf);
	return v;
}

/* Does value match pattern? On mismatch, why is filled. */
static bool m(const char *pattern, const char *value, struct jsonmatch_why *why)
{
	cJSON *p = j(pattern), *v = j(value);
	bool r = jsonmatch_eval(p, v, "$", why);
	cJSON_Delete(p);
	cJSON_Delete(v);
	return r;
}

struct pair {
	const char *pattern;
	const char *value;
};

#define X100 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static const struct pair matching[] = {
	{ "{}", "{'a':1}" },
	{ "{'a':1}", "{'a':1.0,'b':2}" },
	{ "{'a':{'b':'x'}}", "{'a':{'b':'x','c':[1]}}" },
	{ "[1,2]", "[1,2]" },
	{ "[{'a':1}]", "[{'a':1,'b':2}]" },
	{ "'x'", "'x'" },
	{ "null", "null" },
	{ "true", "true" },
	{ "{'a':{'$eq':{'b':1}}}", "{'a':{'b':1}}" },
	{ "{'a':{'$ne':2}}", "{'a':1}" },
	{ "{'a':{'$ne':2}}", "{}" },
	{ "{'a':{'$exists':true}}", "{'a':null}" },
	{ "{'z':{'$exists':false}}", "{'a':1}" },
	{ "{'v':{'$regex':'^1\\\\.[0-9]+$'}}", "{'v':'1.25'}" },
	{ "{'v':{'$regex':'eco'}}", "{'v':'the eco mode'}" },
	{ "{'v':{'$regex':'^(ab+)+$'}}", "{'v':'abbab'}" },
	{ "{'v':{'$regex':'^x{1,200}$'}}", "{'v':'xxx'}" },
	{ "{'v':{'$regex':'^(x{2}){100}$'}}", "{'v':'" X100 X100 "'}" },
	{ "{'v':{'$regex':'^[[:digit:]]{3}-[0-9]{4}$'}}", "{'v':'555-1234'}" },
	{ "{'v':{'$regex':'^[]a]+$'}}", "{'v':']a]'}" },
	{ "{'v':{'$regex':'^([a-z]+,)*[a-z]+$'}}", "{'v':'red,green,blue'}" },
	{ "{'v':{'$regex':'^[0-9a-f]{64}$'}}", "{'v':'" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" "'}" },
	{ "{'v':{'$regex':'^(x+){1,255}$'}}", "{'v':'xx'}" },
	{ "{'v':{'$regex':'^(x{1,50}){1,90}$'}}", "{'v':'xx'}" },
	{ "{'v':{'$regex':'^(x*)+(y?)*$'}}", "{'v':'xxy'}" },
	{ "{'n':{'$gt':1,'$lte':3}}", "{'n':3}" },
	{ "{'n':{'$gte':1}}", "{'n':1}" },
	{ "{'n':{'$lt':0}}", "{'n':-0.5}" },
	{ "{'s':{'$in':['a','b']}}", "{'s':'b'}" },
	{ "{'l':{'$contains':2}}", "{'l':[1,2,3]}" },
	{ "{'l':{'$contains':{'k':'x'}}}", "{'l':[{'k':'y'},{'k':'x','o':1}]}" },
	{ "{'l':{'$contains':[3,1]}}", "{'l':[1,2,3]}" },
	{ "{'$version':2}", "{'$version':2}" },
	{ "{'$$odd':1}", "{'$odd':1}" },
	{ "{'a b':{'c-d':1}}", "{'a b':{'c-d':1}}" },
	{ "{'$gte':0}", "5" },
};

START_TEST(jsonmatch_eval_matching_pairs_succeed)
{
	struct jsonmatch_why why;
	const struct pair *c = &matching[_i];
	ck_assert_msg(m(c->pattern, c->value, &why), "%s vs %s: %s: %s", c->pattern, c->value,
		      why.path, why.reason);
}
END_TEST

struct miss {
	const char *pattern;
	const char *value;
	const char *path;
	const char *reason_part;
};

static const struct miss missing[] = {
	{ "{'properties':{'reported':{'mode':'eco'}}}",
	  "{'properties':{'reported':{'mode':'boost'}}}", "$.properties.reported.mode",
	  "expected \"eco\", got \"boost\"" },
	{ "{'a':1}", "{}", "$.a", "got nothing" },
	{ "{'a':1}", "[]", "$", "expected an object" },
	{ "[1,2]", "[1]", "$", "2 elements, got 1" },
	{ "[1,2]", "[1,3]", "$[1]", "expected 2, got 3" },
	{ "[1]", "{}", "$", "expected an array" },
	{ "1", "'1'", "$", "expected 1, got \"1\"" },
	{ "null", "false", "$", "expected null" },
	{ "{'a':{'$eq':{'b':1}}}", "{'a':{'b':1,'c':2}}", "$.a", "exactly" },
	{ "{'a':{'$ne':1}}", "{'a':1}", "$.a", "anything but 1" },
	{ "{'a':{'$exists':true}}", "{}", "$.a", "present" },
	{ "{'a':{'$exists':false}}", "{'a':0}", "$.a", "no such key" },
	{ "{'v':{'$regex':'^2'}}", "{'v':'1.0'}", "$.v", "matching /^2/" },
	{ "{'v':{'$regex':'1'}}", "{'v':1}", "$.v", "a string matching" },
	{ "{'n':{'$gt':5}}", "{'n':3}", "$.n", "a number > 5, got 3" },
	{ "{'n':{'$gt':5}}", "{'n':'9'}", "$.n", "a number > 5" },
	{ "{'n':{'$lt':5}}", "{}", "$.n", "got nothing" },
	{ "{'s':{'$in':['a']}}", "{'s':'b'}", "$.s", "one of [\"a\"]" },
	{ "{'l':{'$contains':4}}", "{'l':[1,2]}", "$.l", "containing" },
	{ "{'l':{'$contains':4}}", "{'l':4}", "$.l", "containing" },
	{ "{'l':{'$contains':[1,4]}}", "{'l':[1,2]}", "$.l", "each of" },
	{ "{'a b':1}", "{'a b':2}", "$[\"a b\"]", "expected 1" },
	{ "{'$version':2}", "{'$version':3}", "$.$version", "expected 2" },
};

START_TEST(jsonmatch_eval_mismatch_explains_where)
{
	struct jsonmatch_why why;
	const struct miss *c = &missing[_i];
	ck_assert_msg(!m(c->pattern, c->value, &why), "%s matched %s", c->pattern, c->value);
	ck_assert_str_eq(why.path, c->path);
	ck_assert_msg(strstr(why.reason, c->reason_part) != NULL, "%s: reason '%s' lacks '%s'",
		      c->pattern, why.reason, c->reason_part);
}
END_TEST

START_TEST(jsonmatch_eval_absent_value_matches_only_absence_ops)
{
	cJSON *p = j("{'$exists':false}");
	ck_assert(jsonmatch_eval(p, NULL, "$.x", NULL));
	cJSON_Delete(p);
	p = j("{'$ne':1}");
	ck_assert(jsonmatch_eval(p, NULL, "$.x", NULL));
	cJSON_Delete(p);
	p = j("1");
	struct jsonmatch_why why;
	ck_assert(!jsonmatch_eval(p, NULL, "$.x", &why));
	ck_assert_str_eq(why.path, "$.x");
	ck_assert_str_eq(why.reason, "expected 1, got nothing");
	cJSON_Delete(p);
}
END_TEST

START_TEST(jsonmatch_eval_invalid_pattern_never_matches)
{
	struct jsonmatch_why why;
	ck_assert(!m("{'a':{'$bogus':1}}", "{'a':{'$bogus':1}}", &why));
	ck_assert_msg(strstr(why.reason, "invalid pattern") != NULL, "%s", why.reason);
	ck_assert(!jsonmatch_eval(NULL, NULL, NULL, &why));
}
END_TEST

START_TEST(jsonmatch_eval_long_values_are_cut_in_messages)
{
	char big[600];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	cJSON *p = cJSON_CreateString("short");
	cJSON *v = cJSON_CreateString(big);
	struct jsonmatch_why why;
	ck_assert(!jsonmatch_eval(p, v, "$", &why));
	ck_assert(strstr(why.reason, "...") != NULL);
	ck_assert(strlen(why.reason) < 300);
	cJSON_Delete(p);
	cJSON_Delete(v);
}
END_TEST

struct bad {
	const char *pattern;
	const char *path;
	const char *reason_part;
};

static const struct bad invalid[] = {
	{ "{'a':{'$bogus':1}}", "$.a.$bogus", "unknown operator $bogus" },
	{ "{'a':{'$eq':1,'b':2}}", "$.a.b", "mixes operators" },
	{ "{'b':2,'$eq':1}", "$.$eq", "mixes operators" },
	{ "{'a':{'$regex':'('}}", "$.a.$regex", "POSIX extended" },
	{ "{'a':{'$regex':5}}", "$.a.$regex", "takes a string" },
	/* hostile regexes: glibc's regcomp would take gigabytes (found by fuzz_jsonmatch) */
	{ "{'a':{'$regex':'^1x++++++++++++++++++++++++2'}}", "$.a.$regex", "two repetition operators" },
	{ "{'a':{'$regex':'x*?'}}", "$.a.$regex", "no lazy" },
	{ "{'a':{'$regex':'(x)*{2}'}}", "$.a.$regex", "two repetition operators" },
	{ "{'a':{'$regex':'((a{200}){200}){200}'}}", "$.a.$regex", "repeats too much" },
	{ "{'a':{'$regex':'(x{1,255}){1,255}'}}", "$.a.$regex", "repeats too much" },
	{ "{'a':{'$regex':'^((x*)*){1,20}$'}}", "$.a.$regex", "match the empty string" },
	{ "{'a':{'$regex':'(x?){1,255}'}}", "$.a.$regex", "match the empty string" },
	{ "{'a':{'$regex':'((x|y)?(z|^)){1,9}'}}", "$.a.$regex", "match the empty string" },
	{ "{'a':{'$regex':'(a|){2}'}}", "$.a.$regex", "match the empty string" },
	{ "{'a':{'$regex':'(((x*){1,20}){1,20}){1,20}'}}", "$.a.$regex", "match the empty string" },
	{ "{'a':{'$regex':'(((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+'}}", "$.a.$regex", "repeats too much" },
	{ "{'a':{'$regex':'x{1,1000}'}}", "$.a.$regex", "above 255" },
	{ "{'a':{'$regex':'x{99999999999999999999}'}}", "$.a.$regex", "above 255" },
	{ "{'a':{'$regex':'(a)\\\\1'}}", "$.a.$regex", "back-references" },
	{ "{'a':{'$regex':'((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))'}}", "$.a.$regex",
	  "nested more than 32 deep" },
	{ "{'a':{'$exists':1}}", "$.a.$exists", "true or false" },
	{ "{'a':{'$gt':'5'}}", "$.a.$gt", "$gt takes a number" },
	{ "{'a':{'$lte':null}}", "$.a.$lte", "$lte takes a number" },
	{ "{'a':{'$in':5}}", "$.a.$in", "array" },
	{ "{'a':{'$contains':{'$nope':1}}}", "$.a.$contains.$nope", "unknown operator" },
	{ "{'a':1,'a':2}", "$.a", "twice" },
	{ "[{'$x':1}]", "$[0].$x", "unknown operator" },
};

START_TEST(jsonmatch_validate_bad_pattern_fails)
{
	const struct bad *c = &invalid[_i];
	cJSON *p = j(c->pattern);
	struct jsonmatch_why why;
	ck_assert_int_eq(jsonmatch_validate(p, "$", &why), SH_E_INVALID);
	ck_assert_str_eq(why.path, c->path);
	ck_assert_msg(strstr(why.reason, c->reason_part) != NULL, "%s: '%s' lacks '%s'", c->pattern,
		      why.reason, c->reason_part);
	cJSON_Delete(p);
}
END_TEST

START_TEST(jsonmatch_validate_good_patterns_succeed)
{
	for (size_t i = 0; i < sizeof matching / sizeof matching[0]; i++) {
		cJSON *p = j(matching[i].pattern);
		ck_assert_int_eq(jsonmatch_validate(p, NULL, NULL), SH_OK);
		cJSON_Delete(p);
	}
	ck_assert_int_eq(jsonmatch_validate(NULL, NULL, NULL), SH_E_INVALID);
}
END_TEST

/* Build {"a":{"a":...}} `depth` levels deep. */
static cJSON *nested(int depth)
{
	cJSON *v = cJSON_CreateNumber(1);
	for (int i = 0; i < depth; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "a", v);
		v = o;
	}
	return v;
}

START_TEST(jsonmatch_validate_hostile_nesting_fails)
{
	cJSON *ok = nested(JSONMATCH_MAX_DEPTH);
	ck_assert_int_eq(jsonmatch_validate(ok, "$", NULL), SH_OK);
	ck_assert(jsonmatch_eval(ok, ok, "$", NULL));
	cJSON_Delete(ok);
	cJSON *deep = nested(900);
	struct jsonmatch_why why;
	ck_assert_int_eq(jsonmatch_validate(deep, "$", &why), SH_E_INVALID);
	ck_assert(strstr(why.reason, "deeper") != NULL);
	ck_assert(!jsonmatch_eval(deep, deep, "$", NULL));
	cJSON_Delete(deep);
}
END_TEST

START_TEST(jsonmatch_equal_compares_deeply)
{
	cJSON *a = j("{'x':[1,{'y':null}],'z':true}"), *b = j("{'z':true,'x':[1.0,{'y':null}]}");
	cJSON *c = j("{'x':[1,{'y':null}]}"), *d = j("{'x':[1,{'y':null}],'z':false}");
	ck_assert(jsonmatch_equal(a, b));
	ck_assert(!jsonmatch_equal(a, c));
	ck_assert(!jsonmatch_equal(c, a));
	ck_assert(!jsonmatch_equal(a, d));
	ck_assert(jsonmatch_equal(NULL, NULL));
	ck_assert(!jsonmatch_equal(a, NULL));
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
	cJSON_Delete(d);
}
END_TEST

START_TEST(jsonmatch_path_member_quotes_odd_names)
{
	char out[128];
	jsonmatch_path_member(out, sizeof out, "$", "mode");
	ck_assert_str_eq(out, "$.mode");
	jsonmatch_path_member(out, sizeof out, "$", "ms_iotn:urn\"x\n");
	ck_assert_str_eq(out, "$[\"ms_iotn:urn?x?\"]");
	jsonmatch_path_member(out, sizeof out, "$", "");
	ck_assert_str_eq(out, "$[\"\"]");
	jsonmatch_path_index(out, sizeof out, "$.a", 7);
	ck_assert_str_eq(out, "$.a[7]");
	char tiny[4];
	jsonmatch_path_member(tiny, sizeof tiny, "$.abcdef", "x");
	ck_assert_str_eq(tiny, "$.a");
}
END_TEST

START_TEST(jsonmatch_why_format_joins_path_and_reason)
{
	struct jsonmatch_why why = { "$.a", "expected 1, got 2" };
	char buf[64];
	ck_assert_str_eq(jsonmatch_why_format(&why, buf, sizeof buf), "$.a: expected 1, got 2");
	ck_assert_str_eq(jsonmatch_why_format(&why, buf, 5), "$.a:");
	ck_assert_str_eq(jsonmatch_why_format(NULL, buf, sizeof buf), "no details");
}
END_TEST

/* --- jsonmatch_validate_template: typed placeholders ------------------------------------------ */

START_TEST(jsonmatch_validate_template_whole_placeholder_operand_succeeds)
{
	static const char *const ok[] = {
		"{'v':{'$gt':'{{capture.v.version}}'}}",
		"{'v':{'$gte':'{{n}}','$lt':'{{capture.c.max}}'}}",
		"{'v':{'$lte':'{{capture.c.a.b}}'}}",
		"{'v':{'$in':'{{capture.c.list}}'}}",
		"{'v':{'$exists':'{{flag}}'}}",
		"{'l':{'$contains':{'n':{'$gt':'{{n}}'}}}}",
		"[{'n':{'$gt':'{{n}}'}}]",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		cJSON *p = j(ok[i]);
		struct jsonmatch_why why;
		ck_assert_msg(jsonmatch_validate_template(p, "$.m", &why) == SH_OK, "%s: %s", ok[i],
			      why.reason);
		/* the strict check still refuses it: the expanded pattern is checked with it */
		ck_assert_msg(jsonmatch_validate(p, "$.m", &why) == SH_E_INVALID, "%s", ok[i]);
		cJSON_Delete(p);
	}
	ck_assert_int_eq(jsonmatch_validate_template(NULL, NULL, NULL), SH_E_INVALID);
}
END_TEST

START_TEST(jsonmatch_validate_template_text_operand_fails)
{
	static const struct bad cases[] = {
		{ "{'v':{'$gt':'n={{n}}'}}", "$.v.$gt", "$gt takes a number, not a string" },
		{ "{'v':{'$gt':'{{n}} '}}", "$.v.$gt", "takes a number" },
		{ "{'v':{'$gt':'{{n}}{{m}}'}}", "$.v.$gt", "takes a number" },
		{ "{'v':{'$gt':'{{open}}'}}", "$.v.$gt", "takes a number" },
		{ "{'v':{'$gt':'{{}}'}}", "$.v.$gt", "takes a number" },
		{ "{'v':{'$gt':'{'}}", "$.v.$gt", "takes a number" },
		{ "{'v':{'$gt':''}}", "$.v.$gt", "takes a number" },
		{ "{'v':{'$in':'{{a}}x'}}", "$.v.$in", "array" },
		{ "{'v':{'$regex':{'$gt':1}}}", "$.v.$regex", "takes a string" },
		{ "{'v':{'$nope':'{{n}}'}}", "$.v.$nope", "unknown operator" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *p = j(cases[i].pattern);
		struct jsonmatch_why why;
		ck_assert_msg(jsonmatch_validate_template(p, "$", &why) == SH_E_INVALID, "%s",
			      cases[i].pattern);
		ck_assert_str_eq(why.path, cases[i].path);
		ck_assert_msg(strstr(why.reason, cases[i].reason_part) != NULL, "%s: '%s' lacks '%s'",
			      cases[i].pattern, why.reason, cases[i].reason_part);
		cJSON_Delete(p);
	}
}
END_TEST

START_TEST(jsonmatch_eval_unexpanded_placeholder_operand_never_matches)
{
	cJSON *p = j("{'v':{'$gt':'{{n}}'}}");
	cJSON *v = j("{'v':5}");
	struct jsonmatch_why why;
	ck_assert(!jsonmatch_eval(p, v, "$", &why));
	ck_assert(strstr(why.reason, "invalid pattern") != NULL);
	cJSON_Delete(p);
	cJSON_Delete(v);
}
END_TEST

static Suite *jsonmatch_suite(void)
{
	Suite *s = suite_create("jsonmatch");
	TCase *tc = tcase_create("jsonmatch_eval");
	tcase_add_loop_test(tc, jsonmatch_eval_matching_pairs_succeed, 0,
			    (int)(sizeof matching / sizeof matching[0]));
	tcase_add_loop_test(tc, jsonmatch_eval_mismatch_explains_where, 0,
			    (int)(sizeof missing / sizeof missing[0]));
	tcase_add_test(tc, jsonmatch_eval_absent_value_matches_only_absence_ops);
	tcase_add_test(tc, jsonmatch_eval_invalid_pattern_never_matches);
	tcase_add_test(tc, jsonmatch_eval_long_values_are_cut_in_messages);
	suite_add_tcase(s, tc);
	tc = tcase_create("jsonmatch_validate");
	tcase_add_loop_test(tc, jsonmatch_validate_bad_pattern_fails, 0,
			    (int)(sizeof invalid / sizeof invalid[0]));
	tcase_add_test(tc, jsonmatch_validate_good_patterns_succeed);
	tcase_add_test(tc, jsonmatch_validate_hostile_nesting_fails);
	suite_add_tcase(s, tc);
	tc = tcase_create("jsonmatch_validate_template");
	tcase_add_test(tc, jsonmatch_validate_template_whole_placeholder_operand_succeeds);
	tcase_add_test(tc, jsonmatch_validate_template_text_operand_fails);
	tcase_add_test(tc, jsonmatch_eval_unexpanded_placeholder_operand_never_matches);
	suite_add_tcase(s, tc);
	tc = tcase_create("jsonmatch_equal");
	tcase_add_test(tc, jsonmatch_equal_compares_deeply);
	suite_add_tcase(s, tc);
	tc = tcase_create("jsonmatch_path_member");
	tcase_add_test(tc, jsonmatch_path_member_quotes_odd_names);
	suite_add_tcase(s, tc);
	tc = tcase_create("jsonmatch_why_format");
	tcase_add_test(tc, jsonmatch_why_format_joins_path_and_reason);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jsonmatch_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
