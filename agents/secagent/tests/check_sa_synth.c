/*
 * check_sa_synth.c: unit tests of secagent's sa_synth room: the same seed gives the same items,
 * another seed other items, and only the kinds it promises.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sa_synth.h"

/* All items of one round, as text. */
static char *round_text(struct sa_synth *s)
{
	cJSON *all = cJSON_CreateArray();
	for (int k = 0; k < SA_KIND_COUNT; k++) {
		cJSON *items = sa_synth_items(s, (enum sa_kind)k);
		cJSON_AddItemToArray(all, items ? items : cJSON_CreateNull());
	}
	char *t = cJSON_PrintUnformatted(all);
	cJSON_Delete(all);
	return t;
}

START_TEST(sa_synth_items_same_seed_same_events)
{
	struct sa_synth a, b;
	sa_synth_init(&a, 1);
	sa_synth_init(&b, 1);
	for (int round = 0; round < 20; round++) {
		char *x = round_text(&a), *y = round_text(&b);
		ck_assert_str_eq(x, y);
		cJSON_free(x);
		cJSON_free(y);
	}
}
END_TEST

START_TEST(sa_synth_items_other_seed_other_events)
{
	struct sa_synth a, b;
	sa_synth_init(&a, 1);
	sa_synth_init(&b, 2);
	char *x = round_text(&a), *y = round_text(&b);
	ck_assert_str_ne(x, y);
	cJSON_free(x);
	cJSON_free(y);
	/* successive rounds of one source differ too */
	x = round_text(&a);
	y = round_text(&a);
	ck_assert_str_ne(x, y);
	cJSON_free(x);
	cJSON_free(y);
}
END_TEST

START_TEST(sa_synth_items_kinds_promised)
{
	struct sa_synth s;
	sa_synth_init(&s, 7);
	for (int k = 0; k < SA_KIND_COUNT; k++) {
		cJSON *items = sa_synth_items(&s, (enum sa_kind)k);
		bool made = k <= SA_FIREWALL_CONFIGURATION;
		ck_assert_msg((items != NULL) == made, "kind %s", sa_kind_name((enum sa_kind)k));
		if (items) {
			ck_assert(cJSON_IsArray(items));
			if (sa_kind_periodic((enum sa_kind)k) || k == SA_PROCESS_CREATE || k == SA_LOGIN)
				ck_assert_int_gt(cJSON_GetArraySize(items), 0);
		}
		cJSON_Delete(items);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sa_synth");
	TCase *t = tcase_create("sa_synth_items");
	tcase_add_test(t, sa_synth_items_same_seed_same_events);
	tcase_add_test(t, sa_synth_items_other_seed_other_events);
	tcase_add_test(t, sa_synth_items_kinds_promised);
	suite_add_tcase(s, t);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
