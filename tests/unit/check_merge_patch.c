/*
 * check_merge_patch.c: unit tests of core/merge_patch: the RFC 7386 appendix A vectors, the
 * in-place variant's failure cases and the ownership promise (the patch is only borrowed).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/merge_patch.h"

static cJSON *j(const char *text)
{
	cJSON *v = cJSON_Parse(text);
	ck_assert_msg(v != NULL, "test JSON does not parse: %s", text);
	return v;
}

static void assert_json_eq(const cJSON *got, const char *want_text)
{
	cJSON *want = j(want_text);
	char *got_text = cJSON_PrintUnformatted(got);
	ck_assert_msg(cJSON_Compare(got, want, 1), "got %s, want %s", got_text, want_text);
	cJSON_free(got_text);
	cJSON_Delete(want);
}

/* RFC 7386 appendix A: target, patch, result. */
static const char *const rfc[][3] = {
	{ "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
	{ "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}" },
	{ "{\"a\":\"b\"}", "{\"a\":null}", "{}" },
	{ "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}" },
	{ "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
	{ "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}" },
	{ "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}" },
	{ "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}" },
	{ "[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]" },
	{ "{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]" },
	{ "{\"a\":\"foo\"}", "null", "null" },
	{ "{\"a\":\"foo\"}", "\"bar\"", "\"bar\"" },
	{ "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}" },
	{ "[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}" },
	{ "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}" },
};
#define N_RFC ((int)(sizeof rfc / sizeof rfc[0]))

/* ---- merge_patch_apply ------------------------------------------------------------------- */

START_TEST(merge_patch_apply_scalar_replaces_member)
{
	cJSON *t = j("{\"a\":1,\"b\":{\"c\":2}}");
	cJSON *p = j("{\"b\":\"x\",\"d\":true}");
	ck_assert_int_eq(merge_patch_apply(t, p), SH_OK);
	assert_json_eq(t, "{\"a\":1,\"b\":\"x\",\"d\":true}");
	cJSON_Delete(t);
	cJSON_Delete(p);
}
END_TEST

START_TEST(merge_patch_apply_object_merges_recursively)
{
	cJSON *t = j("{\"a\":{\"b\":{\"c\":1,\"d\":2},\"e\":3}}");
	cJSON *p = j("{\"a\":{\"b\":{\"c\":9,\"d\":null,\"f\":{\"g\":1}}}}");
	ck_assert_int_eq(merge_patch_apply(t, p), SH_OK);
	assert_json_eq(t, "{\"a\":{\"b\":{\"c\":9,\"f\":{\"g\":1}},\"e\":3}}");
	cJSON_Delete(t);
	cJSON_Delete(p);
}
END_TEST

START_TEST(merge_patch_apply_object_over_scalar_creates_object)
{
	cJSON *t = j("{\"a\":\"s\",\"b\":[1,2]}");
	cJSON *p = j("{\"a\":{\"x\":1,\"y\":null},\"b\":{\"z\":{}}}");
	ck_assert_int_eq(merge_patch_apply(t, p), SH_OK);
	assert_json_eq(t, "{\"a\":{\"x\":1},\"b\":{\"z\":{}}}");
	cJSON_Delete(t);
	cJSON_Delete(p);
}
END_TEST

START_TEST(merge_patch_apply_null_for_absent_key_is_noop)
{
	cJSON *t = j("{\"a\":1}");
	cJSON *p = j("{\"zz\":null}");
	ck_assert_int_eq(merge_patch_apply(t, p), SH_OK);
	assert_json_eq(t, "{\"a\":1}");
	cJSON_Delete(t);
	cJSON_Delete(p);
}
END_TEST

START_TEST(merge_patch_apply_empty_patch_changes_nothing)
{
	cJSON *t = j("{\"a\":{\"b\":[1,{\"c\":null}]}}");
	char *before = cJSON_PrintUnformatted(t);
	cJSON *p = j("{}");
	ck_assert_int_eq(merge_patch_apply(t, p), SH_OK);
	char *after = cJSON_PrintUnformatted(t);
	ck_assert_str_eq(after, before);
	cJSON_free(before);
	cJSON_free(after);
	cJSON_Delete(t);
	cJSON_Delete(p);
}
END_TEST

START_TEST(merge_patch_apply_keys_are_case_sensitive)
{
	cJSON *t = j("{\"a\":1,\"A\":2}");
	cJSON *p = j("{\"A\":null,\"a\":3}");
	ck_assert_int_eq(merge_patch_apply(t, p), SH_OK);
	assert_json_eq(t, "{\"a\":3}");
	cJSON_Delete(t);
	cJSON_Delete(p);
}
END_TEST

START_TEST(merge_patch_apply_repeated_patch_key_last_wins)
{
	cJSON *t = j("{}");
	cJSON *p = j("{\"a\":1,\"a\":{\"b\":2},\"a\":{\"c\":3}}");
	ck_assert_int_eq(merge_patch_apply(t, p), SH_OK);
	assert_json_eq(t, "{\"a\":{\"b\":2,\"c\":3}}");
	ck_assert_int_eq(cJSON_GetArraySize(t), 1);
	cJSON_Delete(t);
	cJSON_Delete(p);
}
END_TEST

START_TEST(merge_patch_apply_patch_is_borrowed_not_consumed)
{
	cJSON *t = j("{\"a\":{\"x\":1}}");
	cJSON *p = j("{\"a\":{\"y\":[1,2]},\"b\":\"s\",\"c\":null}");
	char *before = cJSON_PrintUnformatted(p);
	ck_assert_int_eq(merge_patch_apply(t, p), SH_OK);
	/* Changing the result must not change the patch: no node is shared. */
	cJSON_ReplaceItemInObjectCaseSensitive(t, "b", cJSON_CreateString("changed"));
	cJSON *y = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t, "a"), "y");
	cJSON_AddItemToArray(y, cJSON_CreateNumber(3));
	char *after = cJSON_PrintUnformatted(p);
	ck_assert_str_eq(after, before);
	cJSON_free(before);
	cJSON_free(after);
	cJSON_Delete(p);  /* freeing the patch first must leave the result intact */
	assert_json_eq(t, "{\"a\":{\"x\":1,\"y\":[1,2,3]},\"b\":\"changed\"}");
	cJSON_Delete(t);
}
END_TEST

START_TEST(merge_patch_apply_non_object_fails_and_changes_nothing)
{
	static const char *const bad[] = { "[1]", "\"s\"", "1", "null", "true" };
	cJSON *t = j("{\"a\":1}");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cJSON *p = j(bad[i]);
		ck_assert_int_eq(merge_patch_apply(t, p), SH_E_INVALID);
		/* and as a target */
		cJSON *obj = j("{\"b\":2}");
		ck_assert_int_eq(merge_patch_apply(p, obj), SH_E_INVALID);
		cJSON_Delete(obj);
		cJSON_Delete(p);
	}
	ck_assert_int_eq(merge_patch_apply(t, NULL), SH_E_INVALID);
	ck_assert_int_eq(merge_patch_apply(NULL, t), SH_E_INVALID);
	assert_json_eq(t, "{\"a\":1}");
	cJSON_Delete(t);
}
END_TEST

START_TEST(merge_patch_apply_deep_patch_builds_path)
{
	cJSON *t = j("{}");
	cJSON *p = j("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":1}}}}}}");
	ck_assert_int_eq(merge_patch_apply(t, p), SH_OK);
	assert_json_eq(t, "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":1}}}}}}");
	cJSON_Delete(t);
	cJSON_Delete(p);
}
END_TEST

/* ---- merge_patch ------------------------------------------------------------------------- */

START_TEST(merge_patch_rfc7386_vector_gives_rfc_result)
{
	cJSON *t = j(rfc[_i][0]);
	cJSON *p = j(rfc[_i][1]);
	char *t_before = cJSON_PrintUnformatted(t);
	cJSON *r = merge_patch(t, p);
	ck_assert_ptr_nonnull(r);
	assert_json_eq(r, rfc[_i][2]);
	char *t_after = cJSON_PrintUnformatted(t);
	ck_assert_str_eq(t_after, t_before);  /* merge_patch only reads its target */
	cJSON_free(t_before);
	cJSON_free(t_after);
	cJSON_Delete(r);
	cJSON_Delete(t);
	cJSON_Delete(p);
}
END_TEST

START_TEST(merge_patch_null_target_acts_as_empty_object)
{
	cJSON *p = j("{\"a\":{\"b\":null,\"c\":1},\"d\":null}");
	cJSON *r = merge_patch(NULL, p);
	assert_json_eq(r, "{\"a\":{\"c\":1}}");
	cJSON_Delete(r);
	cJSON_Delete(p);
}
END_TEST

START_TEST(merge_patch_null_patch_pointer_returns_null)
{
	cJSON *t = j("{\"a\":1}");
	ck_assert_ptr_null(merge_patch(t, NULL));
	cJSON_Delete(t);
}
END_TEST

static Suite *merge_patch_suite(void)
{
	Suite *s = suite_create("merge_patch");
	TCase *tc = tcase_create("merge_patch_apply");
	tcase_add_test(tc, merge_patch_apply_scalar_replaces_member);
	tcase_add_test(tc, merge_patch_apply_object_merges_recursively);
	tcase_add_test(tc, merge_patch_apply_object_over_scalar_creates_object);
	tcase_add_test(tc, merge_patch_apply_null_for_absent_key_is_noop);
	tcase_add_test(tc, merge_patch_apply_empty_patch_changes_nothing);
	tcase_add_test(tc, merge_patch_apply_keys_are_case_sensitive);
	tcase_add_test(tc, merge_patch_apply_repeated_patch_key_last_wins);
	tcase_add_test(tc, merge_patch_apply_patch_is_borrowed_not_consumed);
	tcase_add_test(tc, merge_patch_apply_non_object_fails_and_changes_nothing);
	tcase_add_test(tc, merge_patch_apply_deep_patch_builds_path);
	suite_add_tcase(s, tc);

	tc = tcase_create("merge_patch");
	tcase_add_loop_test(tc, merge_patch_rfc7386_vector_gives_rfc_result, 0, N_RFC);
	tcase_add_test(tc, merge_patch_null_target_acts_as_empty_object);
	tcase_add_test(tc, merge_patch_null_patch_pointer_returns_null);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(merge_patch_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
