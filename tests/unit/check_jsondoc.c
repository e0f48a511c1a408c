/*
 * check_jsondoc.c: unit tests of core/jsondoc (reading people's JSON documents and naming
 * places in them): path building for plain, odd, hostile and long names, type names, line
 * and column of offsets, and every way jsondoc_parse refuses text, with the offset it names.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsondoc.h"

START_TEST(jsondoc_path_member_plain_name_dotted)
{
	char out[64];
	jsondoc_path_member(out, sizeof out, "$", "mode", false);
	ck_assert_str_eq(out, "$.mode");
	jsondoc_path_member(out, sizeof out, "$.a", "_x9", false);
	ck_assert_str_eq(out, "$.a._x9");
}
END_TEST

START_TEST(jsondoc_path_member_dollar_follows_flag)
{
	char out[64];
	jsondoc_path_member(out, sizeof out, "$.a", "$gt", true);
	ck_assert_str_eq(out, "$.a.$gt");
	jsondoc_path_member(out, sizeof out, "$.a", "$gt", false);
	ck_assert_str_eq(out, "$.a[\"$gt\"]");
}
END_TEST

START_TEST(jsondoc_path_member_hostile_name_quoted)
{
	char out[128];
	jsondoc_path_member(out, sizeof out, "$", "ms:urn\"x\n\\\xc3\xa9", true);
	ck_assert_str_eq(out, "$[\"ms:urn?x????\"]");
	jsondoc_path_member(out, sizeof out, "$", "", false);
	ck_assert_str_eq(out, "$[\"\"]");
	jsondoc_path_member(out, sizeof out, "$", NULL, false);
	ck_assert_str_eq(out, "$[\"\"]");
	jsondoc_path_member(out, sizeof out, "$", "9lives", false);
	ck_assert_str_eq(out, "$[\"9lives\"]");
}
END_TEST

START_TEST(jsondoc_path_member_oversize_name_cut)
{
	char name[200], out[200], want[200];
	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	jsondoc_path_member(out, sizeof out, "$", name, false);
	snprintf(want, sizeof want, "$[\"%.*s...\"]", JSONDOC_NAME_IN_PATH_MAX, name);
	ck_assert_str_eq(out, want);
	name[JSONDOC_NAME_IN_PATH_MAX] = '\0';   /* exactly the limit: still plain */
	jsondoc_path_member(out, sizeof out, "$", name, false);
	ck_assert_uint_eq(strlen(out), 2 + JSONDOC_NAME_IN_PATH_MAX);
}
END_TEST

START_TEST(jsondoc_path_member_small_buffer_terminated)
{
	char tiny[6] = "zzzzz";
	jsondoc_path_member(tiny, sizeof tiny, "$.abcdef", "x", false);
	ck_assert_str_eq(tiny, "$.abc");
	jsondoc_path_member(tiny, 0, "$", "y", false);   /* cap 0: nothing written */
	ck_assert_str_eq(tiny, "$.abc");
	jsondoc_path_member(NULL, 10, "$", "y", false);
}
END_TEST

START_TEST(jsondoc_path_index_appends_brackets)
{
	char out[32];
	jsondoc_path_index(out, sizeof out, "$.steps", 7);
	ck_assert_str_eq(out, "$.steps[7]");
	jsondoc_path_index(out, 4, "$.steps", 7);
	ck_assert_str_eq(out, "$.s");
}
END_TEST

START_TEST(jsondoc_type_name_each_type_named)
{
	cJSON *v = cJSON_Parse("[{},[],\"s\",1,true,false,null]");
	ck_assert_ptr_nonnull(v);
	static const char *const want[] = { "an object", "an array", "a string", "a number",
					     "a boolean", "a boolean", "null" };
	int i = 0;
	for (cJSON *c = v->child; c; c = c->next, i++)
		ck_assert_str_eq(jsondoc_type_name(c), want[i]);
	ck_assert_int_eq(i, 7);
	ck_assert_str_eq(jsondoc_type_name(NULL), "an invalid value");
	cJSON_Delete(v);
}
END_TEST

START_TEST(jsondoc_position_offsets_counted)
{
	const char *t = "ab\ncd\n\nx";
	unsigned l = 0, c = 0;
	jsondoc_position(t, strlen(t), 0, &l, &c);
	ck_assert_uint_eq(l, 1);
	ck_assert_uint_eq(c, 1);
	jsondoc_position(t, strlen(t), 4, &l, &c);
	ck_assert_uint_eq(l, 2);
	ck_assert_uint_eq(c, 2);
	jsondoc_position(t, strlen(t), 7, &l, &c);
	ck_assert_uint_eq(l, 4);
	ck_assert_uint_eq(c, 1);
	jsondoc_position(t, 3, 999, &l, &c);   /* past len counts as len */
	ck_assert_uint_eq(l, 2);
	ck_assert_uint_eq(c, 1);
	jsondoc_position(NULL, 0, 0, &l, &c);
	ck_assert_uint_eq(l, 1);
	ck_assert_uint_eq(c, 1);
}
END_TEST

START_TEST(jsondoc_bom_len_detects_bom)
{
	ck_assert_uint_eq(jsondoc_bom_len("\xEF\xBB\xBF{}", 5), 3);
	ck_assert_uint_eq(jsondoc_bom_len("\xEF\xBB", 2), 0);
	ck_assert_uint_eq(jsondoc_bom_len("{}", 2), 0);
	ck_assert_uint_eq(jsondoc_bom_len(NULL, 0), 0);
}
END_TEST

/* Text jsondoc_parse must refuse, with the offset and reason it must name. */
static const struct {
	const char *text;
	size_t len;
	size_t at;
	const char *reason;
} refused[] = {
	{ "", 0, 0, "empty document (expected a JSON object)" },
	{ " \n\t\r", 4, 4, "empty document (expected a JSON object)" },
	{ "\xEF\xBB\xBF", 3, 3, "empty document (expected a JSON object)" },
	{ "{", 1, 0, "not valid JSON" },   /* cJSON names the value that failed */
	{ "x", 1, 0, "not valid JSON" },
	{ "{\"a\":1,}", 8, 7, "not valid JSON" },
	{ "{\"a\":\0}", 7, 5, "NUL byte in the text" },
	{ "{} {}", 5, 3, "text after the JSON document" },
	{ "\xEF\xBB\xBF{}\n x", 8, 7, "text after the JSON document" },
	{ "\xEF\xBB\xBF[1,", 6, 5, "not valid JSON" },
	{ "{\"a\":[1,2", 9, 8, "not valid JSON" },   /* truncated */
};

START_TEST(jsondoc_parse_bad_text_names_offset)
{
	cJSON *root = (cJSON *)1;
	size_t at = 12345;
	const char *why = NULL;
	ck_assert_int_eq(jsondoc_parse(refused[_i].text, refused[_i].len, &root, &at, &why),
			 SH_E_MALFORMED);
	ck_assert_ptr_null(root);
	ck_assert_str_eq(why, refused[_i].reason);
	ck_assert_uint_eq(at, refused[_i].at);
}
END_TEST

START_TEST(jsondoc_parse_good_text_returns_tree)
{
	static const char *const good[] = { "{}", " [1, 2] \n", "\xEF\xBB\xBF{\"a\":{\"b\":null}}",
					    "\"str\"", "42" };
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		cJSON *root = NULL;
		size_t at = 1;
		const char *why = "x";
		ck_assert_int_eq(jsondoc_parse(good[i], strlen(good[i]), &root, &at, &why), SH_OK);
		ck_assert_ptr_nonnull(root);
		ck_assert_uint_eq(at, 0);
		ck_assert_ptr_null(why);
		cJSON_Delete(root);
	}
}
END_TEST

START_TEST(jsondoc_parse_unterminated_input_stays_inside)
{
	/* the caller's bytes are not NUL-terminated: only len of them may be read */
	char *buf = malloc(4);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, "[1] ", 4);
	cJSON *root = NULL;
	size_t at;
	const char *why;
	ck_assert_int_eq(jsondoc_parse(buf, 4, &root, &at, &why), SH_OK);
	cJSON_Delete(root);
	ck_assert_int_eq(jsondoc_parse(buf, 2, &root, &at, &why), SH_E_MALFORMED);
	ck_assert_uint_eq(at, 1);
	free(buf);
}
END_TEST

START_TEST(jsondoc_parse_round_trip_identical)
{
	const char *t = "{\"a\":[1,\"x\",{\"b\":true}],\"c\":null}";
	cJSON *root = NULL;
	size_t at;
	const char *why;
	ck_assert_int_eq(jsondoc_parse(t, strlen(t), &root, &at, &why), SH_OK);
	char *back = cJSON_PrintUnformatted(root);
	ck_assert_str_eq(back, t);
	cJSON_free(back);
	cJSON_Delete(root);
}
END_TEST

static Suite *jsondoc_suite(void)
{
	Suite *s = suite_create("jsondoc");
	TCase *tc = tcase_create("jsondoc_path_member");
	tcase_add_test(tc, jsondoc_path_member_plain_name_dotted);
	tcase_add_test(tc, jsondoc_path_member_dollar_follows_flag);
	tcase_add_test(tc, jsondoc_path_member_hostile_name_quoted);
	tcase_add_test(tc, jsondoc_path_member_oversize_name_cut);
	tcase_add_test(tc, jsondoc_path_member_small_buffer_terminated);
	suite_add_tcase(s, tc);

	tc = tcase_create("jsondoc_path_index");
	tcase_add_test(tc, jsondoc_path_index_appends_brackets);
	suite_add_tcase(s, tc);

	tc = tcase_create("jsondoc_type_name");
	tcase_add_test(tc, jsondoc_type_name_each_type_named);
	suite_add_tcase(s, tc);

	tc = tcase_create("jsondoc_position");
	tcase_add_test(tc, jsondoc_position_offsets_counted);
	suite_add_tcase(s, tc);

	tc = tcase_create("jsondoc_bom_len");
	tcase_add_test(tc, jsondoc_bom_len_detects_bom);
	suite_add_tcase(s, tc);

	tc = tcase_create("jsondoc_parse");
	tcase_add_loop_test(tc, jsondoc_parse_bad_text_names_offset, 0,
			    (int)(sizeof refused / sizeof refused[0]));
	tcase_add_test(tc, jsondoc_parse_good_text_returns_tree);
	tcase_add_test(tc, jsondoc_parse_unterminated_input_stays_inside);
	tcase_add_test(tc, jsondoc_parse_round_trip_identical);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jsondoc_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
