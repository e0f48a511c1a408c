/*
 * check_sa_config.c: unit tests of secagent's sa_config room (durations, apply, reported).
 * Never touches the network or the clock.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sa_config.h"

static cJSON *desired_of(const char *inner)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "{\"" SA_CONFIG_OBJECT "\":%s}", inner);
	cJSON *j = cJSON_Parse(buf);
	ck_assert_ptr_nonnull(j);
	return j;
}

START_TEST(sa_duration_parse_valid_forms_ok)
{
	static const struct { const char *s; uint32_t ms; } t[] = {
		{"PT7M", 420000}, {"PT5H", 18000000}, {"PT13H", 46800000}, {"PT1S", 1000},
		{"P1D", 86400000}, {"P1W", 604800000}, {"P1M", 2592000000u}, {"P1DT1H1M1S", 90061000},
		{"PT10S", 10000}, {"P0DT5S", 5000},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		uint32_t ms = 0;
		ck_assert_msg(sa_duration_parse(t[i].s, &ms) == SH_OK, "%s", t[i].s);
		ck_assert_uint_eq(ms, t[i].ms);
	}
}
END_TEST

START_TEST(sa_duration_parse_bad_forms_fail)
{
	static const char *const bad[] = {"", "P", "PT", "7M", "pt7m", "PT7", "PT-1S", "PT1.5S",
					  "PT1M1H", "P1D1W", "PT1HT1M", "P1Y", "PT0S", "P0D", "P50D",
					  "PT9999999999S", " PT1S", "PT1S ", "PTS", "P1H"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint32_t ms = 77;
		ck_assert_msg(sa_duration_parse(bad[i], &ms) != SH_OK, "accepted '%s'", bad[i]);
		ck_assert_uint_eq(ms, 77);
	}
	ck_assert_int_eq(sa_duration_parse(NULL, NULL), SH_E_MALFORMED);
}
END_TEST

START_TEST(sa_duration_format_round_trip_ok)
{
	char b[32];
	ck_assert_str_eq(sa_duration_format(420000, b), "PT7M");
	ck_assert_str_eq(sa_duration_format(46800000, b), "PT13H");
	ck_assert_str_eq(sa_duration_format(90061000, b), "P1DT1H1M1S");
	ck_assert_str_eq(sa_duration_format(86400000, b), "P1D");
	ck_assert_str_eq(sa_duration_format(0, b), "PT0S");
	ck_assert_str_eq(sa_duration_format(UINT32_MAX, b), "P49DT17H2M47S");
	uint32_t vals[] = {1000, 59000, 61000, 3600000, 90061000, 4000000000u};
	for (size_t i = 0; i < 6; i++) {
		uint32_t ms;
		ck_assert_int_eq(sa_duration_parse(sa_duration_format(vals[i], b), &ms), SH_OK);
		ck_assert_uint_eq(ms, vals[i] / 1000 * 1000);
	}
}
END_TEST

START_TEST(sa_config_apply_no_object_gives_defaults)
{
	struct sa_config c, d;
	sa_config_default(&d);
	memset(&c, 0x5a, sizeof c);
	struct sa_config_report rep;
	cJSON *empty = cJSON_CreateObject();
	ck_assert_int_eq(sa_config_apply(&c, empty, &rep), SH_OK);
	ck_assert(rep.accepted);
	ck_assert_uint_eq(rep.n_errors, 0);
	ck_assert_mem_eq(&c, &d, sizeof c);
	ck_assert_int_eq(sa_config_apply(&c, NULL, &rep), SH_OK);
	ck_assert_uint_eq(c.high_freq_ms, 420000);
	ck_assert_int_eq(c.max_cache_bytes, 2560000);
	ck_assert_int_eq(c.max_message_bytes, 204800);
	ck_assert_int_eq(c.prio[SA_LISTENING_PORTS], SA_PRIO_HIGH);
	ck_assert_int_eq(c.prio[SA_PROCESS_CREATE], SA_PRIO_LOW);
	cJSON_Delete(empty);
}
END_TEST

START_TEST(sa_config_apply_every_field_ok)
{
	cJSON *d = desired_of("{"
		"\"highPriorityMessageFrequency\":{\"value\":\"PT10S\"},"
		"\"lowPriorityMessageFrequency\":{\"value\":\"PT30S\"},"
		"\"snapshotFrequency\":{\"value\":\"PT1M\"},"
		"\"maxLocalCacheSizeInBytes\":{\"value\":65536},"
		"\"maxMessageSizeInBytes\":{\"value\":16384},"
		"\"eventPriorityProcessCreate\":{\"value\":\"high\"},"
		"\"eventPriorityListeningPorts\":{\"value\":\"LOW\"},"
		"\"eventPriorityLogin\":{\"value\":\"Off\"},"
		"\"eventPriorityOperational\":{\"value\":\"off\"},"
		"\"eventPriorityDiagnostic\":{\"value\":null},"
		"\"aggregationEnabledProcessCreate\":{\"value\":false},"
		"\"aggregationIntervalProcessCreate\":{\"value\":\"PT2H\"},"
		"\"aggregationEnabledConnectionCreate\":{\"value\":false},"
		"\"aggregationIntervalConnectionCreate\":{\"value\":\"PT3H\"},"
		"\"baselineCustomChecksEnabled\":{\"value\":true},"
		"\"baselineCustomChecksFilePath\":{\"value\":\"/etc/b.xml\"},"
		"\"baselineCustomChecksFileHash\":{\"value\":\"abc\"},"
		"\"someFutureKey\":{\"value\":1},"
		"\"hubResourceId\":null}");
	struct sa_config c;
	sa_config_default(&c);
	struct sa_config_report rep;
	ck_assert_int_eq(sa_config_apply(&c, d, &rep), SH_OK);
	ck_assert(rep.accepted);
	ck_assert_uint_eq(rep.n_errors, 0);
	ck_assert_uint_eq(c.high_freq_ms, 10000);
	ck_assert_uint_eq(c.low_freq_ms, 30000);
	ck_assert_uint_eq(c.snapshot_ms, 60000);
	ck_assert_int_eq(c.max_cache_bytes, 65536);
	ck_assert_int_eq(c.max_message_bytes, 16384);
	ck_assert_int_eq(c.prio[SA_PROCESS_CREATE], SA_PRIO_HIGH);
	ck_assert_int_eq(c.prio[SA_LISTENING_PORTS], SA_PRIO_LOW);
	ck_assert_int_eq(c.prio[SA_LOGIN], SA_PRIO_OFF);
	ck_assert_int_eq(c.prio[SA_DIAGNOSTIC], SA_PRIO_LOW);
	ck_assert_int_eq(c.operational, SA_PRIO_OFF);
	ck_assert(!c.agg_process_create && !c.agg_connection_create);
	ck_assert_uint_eq(c.agg_process_create_ms, 7200000);
	ck_assert_uint_eq(c.agg_connection_create_ms, 10800000);
	ck_assert(c.baseline_checks);
	ck_assert_str_eq(c.baseline_path, "/etc/b.xml");
	ck_assert_str_eq(c.baseline_hash, "abc");
	cJSON_Delete(d);
}
END_TEST

/* Each bad value must be refused and must leave the previous configuration in place. */
START_TEST(sa_config_apply_type_errors_keep_previous)
{
	static const char *const bad[] = {
		"{\"highPriorityMessageFrequency\":\"PT10S\"}",
		"{\"highPriorityMessageFrequency\":{\"val\":\"PT10S\"}}",
		"{\"highPriorityMessageFrequency\":{\"value\":10}}",
		"{\"lowPriorityMessageFrequency\":{\"value\":\"10 minutes\"}}",
		"{\"snapshotFrequency\":{\"value\":\"PT0S\"}}",
		"{\"maxLocalCacheSizeInBytes\":{\"value\":\"65536\"}}",
		"{\"maxLocalCacheSizeInBytes\":{\"value\":100}}",
		"{\"maxMessageSizeInBytes\":{\"value\":16384.5}}",
		"{\"maxMessageSizeInBytes\":{\"value\":300000}}",
		"{\"maxMessageSizeInBytes\":{\"value\":4096}}",
		"{\"eventPriorityLogin\":{\"value\":\"Medium\"}}",
		"{\"eventPriorityLogin\":{\"value\":2}}",
		"{\"aggregationEnabledProcessCreate\":{\"value\":\"true\"}}",
		"{\"baselineCustomChecksFilePath\":{\"value\":5}}",
		"[]",
		"\"text\"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct sa_config c, before;
		sa_config_default(&c);
		c.high_freq_ms = 1234000;   /* a non-default previous configuration */
		before = c;
		cJSON *d = desired_of(bad[i]);
		struct sa_config_report rep;
		ck_assert_msg(sa_config_apply(&c, d, &rep) == SH_E_INVALID, "accepted %s", bad[i]);
		ck_assert(!rep.accepted);
		ck_assert_uint_eq(rep.n_errors, 1);
		ck_assert_str_eq(rep.errors[0].type, "TypeMismatch");
		ck_assert_str_eq(rep.errors[0].name, "TwinConfiguration");
		ck_assert_ptr_nonnull(strstr(rep.errors[0].message, "Couldn't parse the following configurations: "));
		ck_assert_ptr_nonnull(strstr(rep.errors[0].used, "PT20M34S"));
		ck_assert_mem_eq(&c, &before, sizeof c);
		cJSON_Delete(d);
	}
}
END_TEST

START_TEST(sa_config_apply_semantic_findings_reported)
{
	cJSON *d = desired_of("{\"maxMessageSizeInBytes\":{\"value\":10000},"
			      "\"maxLocalCacheSizeInBytes\":{\"value\":9000},"
			      "\"highPriorityMessageFrequency\":{\"value\":\"PT6H\"}}");
	struct sa_config c;
	sa_config_default(&c);
	struct sa_config_report rep;
	ck_assert_int_eq(sa_config_apply(&c, d, &rep), SH_OK);
	ck_assert(rep.accepted);
	ck_assert_uint_eq(rep.n_errors, 3);
	ck_assert_str_eq(rep.errors[0].type, "NotOptimal");
	ck_assert_str_eq(rep.errors[0].name, "maxMessageSizeInBytes");
	ck_assert_str_eq(rep.errors[0].used, "10000");
	ck_assert_str_eq(rep.errors[1].type, "Conflict");
	ck_assert_str_eq(rep.errors[1].name, "maxLocalCacheSizeInBytes");
	ck_assert_str_eq(rep.errors[2].type, "Conflict");
	ck_assert_str_eq(rep.errors[2].name, "highPriorityMessageFrequency");
	ck_assert_str_eq(rep.errors[2].used, "PT6H");
	ck_assert_int_eq(c.max_message_bytes, 10000);
	cJSON_Delete(d);
}
END_TEST

START_TEST(sa_config_reported_shape_lower_case_round_trip)
{
	struct sa_config c;
	sa_config_default(&c);
	c.prio[SA_LOGIN] = SA_PRIO_OFF;
	c.high_freq_ms = 10000;
	cJSON *r = sa_config_reported(&c);
	ck_assert_ptr_nonnull(r);
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(r, SA_CONFIG_OBJECT);
	ck_assert(cJSON_IsObject(o));
	ck_assert_int_eq(cJSON_GetArraySize(r), 1);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(o, "eventPriorityListeningPorts"), "value");
	ck_assert_str_eq(v->valuestring, "high");
	v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "eventPriorityLogin"), "value");
	ck_assert_str_eq(v->valuestring, "off");
	v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "highPriorityMessageFrequency"), "value");
	ck_assert_str_eq(v->valuestring, "PT10S");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(o, "baselineCustomChecksFilePath"));
	/* 5 general + 14 priorities + operational + 4 aggregation + baseline enabled */
	ck_assert_int_eq(cJSON_GetArraySize(o), 25);
	/* the reported object, read back as desired, gives the same configuration */
	struct sa_config back;
	sa_config_default(&back);
	struct sa_config_report rep;
	ck_assert_int_eq(sa_config_apply(&back, r, &rep), SH_OK);
	ck_assert_mem_eq(&back, &c, sizeof c);
	cJSON_Delete(r);
	char *t = sa_config_json_text(&c);
	ck_assert_ptr_nonnull(t);
	ck_assert(t[0] == '{');
	cJSON_free(t);
}
END_TEST

START_TEST(sa_kind_tables_consistent)
{
	int periodic = 0;
	for (int k = 0; k < SA_KIND_COUNT; k++) {
		ck_assert_ptr_nonnull(sa_kind_name((enum sa_kind)k));
		periodic += sa_kind_periodic((enum sa_kind)k);
	}
	ck_assert_int_eq(periodic, 8);
	ck_assert_ptr_null(sa_kind_name(SA_KIND_COUNT));
	ck_assert_str_eq(sa_kind_event_type(SA_MESSAGE_STATISTICS), "Operational");
	ck_assert_str_eq(sa_kind_event_type(SA_DIAGNOSTIC), "Diagnostic");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sa_config");
	TCase *t = tcase_create("sa_duration_parse");
	tcase_add_test(t, sa_duration_parse_valid_forms_ok);
	tcase_add_test(t, sa_duration_parse_bad_forms_fail);
	suite_add_tcase(s, t);
	t = tcase_create("sa_duration_format");
	tcase_add_test(t, sa_duration_format_round_trip_ok);
	suite_add_tcase(s, t);
	t = tcase_create("sa_config_apply");
	tcase_add_test(t, sa_config_apply_no_object_gives_defaults);
	tcase_add_test(t, sa_config_apply_every_field_ok);
	tcase_add_test(t, sa_config_apply_type_errors_keep_previous);
	tcase_add_test(t, sa_config_apply_semantic_findings_reported);
	suite_add_tcase(s, t);
	t = tcase_create("sa_config_reported");
	tcase_add_test(t, sa_config_reported_shape_lower_case_round_trip);
	suite_add_tcase(s, t);
	t = tcase_create("sa_kind");
	tcase_add_test(t, sa_kind_tables_consistent);
	suite_add_tcase(s, t);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
