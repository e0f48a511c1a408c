/*
 * check_sa_config.c: unit tests of secagent's sa_config room: defaults and durations from
 * core/secconfig, apply as the C agent does (type checks only, whole-configuration patches,
 * findings), the reported document, and that simhub's drift reads what the agent reports.
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

/* Apply {OBJECT: inner} to *c, which starts from the defaults. */
static sh_rc apply_inner(struct sa_config *c, const char *inner, struct sa_config_report *rep)
{
	cJSON *d = desired_of(inner);
	sa_config_default(c);
	sh_rc rc = sa_config_apply(c, d, rep);
	cJSON_Delete(d);
	return rc;
}

static const char *prio_text(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, key), "value");
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The C agent's duration forms are accepted with their length; the rest are TypeMismatch. */
START_TEST(sa_config_apply_durations_c_agent_forms)
{
	static const struct { const char *s; uint32_t ms; } good[] = {
		{"PT7M", 420000}, {"PT5H", 18000000}, {"PT13H", 46800000}, {"PT1S", 1000},
		{"P1D", 86400000}, {"P1W", 604800000}, {"P1M", 2592000000u}, {"P1DT1H1M1S", 90061000},
		{"PT10S", 10000}, {"P0DT5S", 5000}, {"P49DT17H2M47S", 4294967000u},
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		char inner[128];
		snprintf(inner, sizeof inner, "{\"snapshotFrequency\":{\"value\":\"%s\"}}", good[i].s);
		struct sa_config c;
		struct sa_config_report rep;
		ck_assert_msg(apply_inner(&c, inner, &rep) == SH_OK, "refused %s", good[i].s);
		ck_assert_uint_eq(c.snapshot_ms, good[i].ms);
	}
	static const char *const bad[] = {"", "P", "PT", "7M", "pt7m", "PT7", "PT-1S", "PT1.5S",
					  "P0.5D", "PT1M1H", "P1D1W", "PT1HT1M", "P1Y", "P1Y1D", "PT0S",
					  "P0D", "P50D", "PT4294968S", "PT9999999999S", " PT1S", "PT1S ",
					  "PTS", "P1H"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char inner[128];
		snprintf(inner, sizeof inner, "{\"snapshotFrequency\":{\"value\":\"%s\"}}", bad[i]);
		struct sa_config c;
		struct sa_config_report rep;
		ck_assert_msg(apply_inner(&c, inner, &rep) == SH_E_INVALID, "accepted '%s'", bad[i]);
		ck_assert_str_eq(rep.errors[0].message,
				 "Couldn't parse the following conifgurations: snapshotFrequency");
		ck_assert_uint_eq(c.snapshot_ms, 46800000);
	}
}
END_TEST

/* Every default comes from core/secconfig: the agent's defaults, reported, are the twin's. */
START_TEST(sa_config_default_matches_secconfig)
{
	struct sa_config c;
	sa_config_default(&c);
	ck_assert_uint_eq(c.high_freq_ms, 420000);
	ck_assert_int_eq(c.max_cache_bytes, 2560000);
	ck_assert_int_eq(c.max_message_bytes, 204800);
	ck_assert_int_eq(c.prio[SA_LISTENING_PORTS], SA_PRIO_HIGH);
	ck_assert_int_eq(c.prio[SA_PROCESS_CREATE], SA_PRIO_LOW);
	ck_assert_int_eq(c.operational, SA_PRIO_HIGH);
	ck_assert(c.agg_process_create && !c.baseline_checks);
	cJSON *r = sa_config_reported(&c);
	cJSON *twin = secconfig_default_desired();
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(twin);
	const cJSON *ro = cJSON_GetObjectItemCaseSensitive(r, SA_CONFIG_OBJECT);
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(twin, SECCONFIG_OBJECT);
	int compared = 0;
	for (const cJSON *e = ro->child; e; e = e->next) {
		const struct secconfig_field *f = secconfig_field_find(e->string);
		ck_assert_msg(f != NULL, "the agent reports %s, which secconfig does not know", e->string);
		const cJSON *tw = cJSON_GetObjectItemCaseSensitive(to, e->string);
		if (!tw)
			continue;
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "value");
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(tw, "value");
		if (f->kind == SECCONFIG_PRIORITY) {
			enum secconfig_priority x, y;
			ck_assert_int_eq(secconfig_priority_parse(a->valuestring, &x), SH_OK);
			ck_assert_int_eq(secconfig_priority_parse(b->valuestring, &y), SH_OK);
			ck_assert_msg(x == y, "%s: %s vs %s", e->string, a->valuestring, b->valuestring);
		} else {
			ck_assert_msg(cJSON_Compare(a, b, 1), "%s differs from the twin default", e->string);
		}
		compared++;
	}
	/* 5 general + 14 priorities + 4 aggregation; not the ProcessTerminate aggregation */
	ck_assert_int_eq(compared, 23);
	cJSON_Delete(r);
	cJSON_Delete(twin);
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
		"{\"maxMessageSizeInBytes\":{\"value\":16384.5}}",
		"{\"eventPriorityLogin\":{\"value\":\"Medium\"}}",
		"{\"eventPriorityLogin\":{\"value\":2}}",
		"{\"aggregationEnabledProcessCreate\":{\"value\":\"true\"}}",
		"{\"baselineCustomChecksFilePath\":{\"value\":5}}",
		"{\"maxMessageSizeInBytes\":{\"value\":-1}}",
		"{\"maxLocalCacheSizeInBytes\":{\"value\":2147483648}}",
		"{\"aggregationIntervalConnectionCreate\":{\"value\":\"PT1.5S\"}}",
		"{\"eventPriorityMessageStatistics\":{\"value\":\"\"}}",
		"{\"eventPriorityOperational\":{\"value\":true}}",
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
		ck_assert_ptr_nonnull(strstr(rep.errors[0].message, "Couldn't parse the following conifgurations: "));
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

/* §1.5: the agents check types only; sizes outside the schema's 8192..262144 are applied,
 * and only the semantic checks speak about them. */
START_TEST(sa_config_apply_out_of_range_sizes_applied_as_c_agent)
{
	static const struct {
		const char *inner;
		int64_t message, cache;
		size_t n_errors;
		const char *first_type;
	} t[] = {
		{"{\"maxMessageSizeInBytes\":{\"value\":4096}}", 4096, 2560000, 0, NULL},
		{"{\"maxMessageSizeInBytes\":{\"value\":300000}}", 300000, 2560000, 1, "NotOptimal"},
		{"{\"maxLocalCacheSizeInBytes\":{\"value\":100}}", 204800, 100, 1, "Conflict"},
		{"{\"maxLocalCacheSizeInBytes\":{\"value\":0},\"maxMessageSizeInBytes\":{\"value\":0}}", 0,
		 0, 0, NULL},
		{"{\"maxLocalCacheSizeInBytes\":{\"value\":2147483647}}", 204800, 2147483647, 0, NULL},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct sa_config c;
		struct sa_config_report rep;
		ck_assert_msg(apply_inner(&c, t[i].inner, &rep) == SH_OK, "refused %s", t[i].inner);
		ck_assert(rep.accepted);
		ck_assert_int_eq(c.max_message_bytes, t[i].message);
		ck_assert_int_eq(c.max_cache_bytes, t[i].cache);
		ck_assert_uint_eq(rep.n_errors, t[i].n_errors);
		if (t[i].first_type)
			ck_assert_str_eq(rep.errors[0].type, t[i].first_type);
	}
}
END_TEST

/* §2.5: a desired patch is read as the whole configuration object. */
START_TEST(sa_config_apply_partial_patch_resets_the_rest)
{
	cJSON *twin = desired_of("{\"highPriorityMessageFrequency\":{\"value\":\"PT2S\"},"
				 "\"maxMessageSizeInBytes\":{\"value\":16384},"
				 "\"eventPriorityProcessCreate\":{\"value\":\"High\"}}");
	struct sa_config c;
	sa_config_default(&c);
	struct sa_config_report rep;
	ck_assert_int_eq(sa_config_apply(&c, twin, &rep), SH_OK);
	ck_assert_uint_eq(c.high_freq_ms, 2000);
	/* the patch IoT Hub delivers carries only the changed keys and $version */
	cJSON *patch = cJSON_Parse("{\"" SA_CONFIG_OBJECT "\":{\"maxMessageSizeInBytes\":{\"value\":32768},"
				   "\"eventPriorityLogin\":{\"value\":\"Off\"}},\"$version\":3}");
	ck_assert_ptr_nonnull(patch);
	ck_assert_int_eq(sa_config_apply(&c, patch, &rep), SH_OK);
	ck_assert_int_eq(c.max_message_bytes, 32768);
	ck_assert_int_eq(c.prio[SA_LOGIN], SA_PRIO_OFF);
	ck_assert_uint_eq(c.high_freq_ms, 420000);                 /* back to its default */
	ck_assert_int_eq(c.prio[SA_PROCESS_CREATE], SA_PRIO_LOW);  /* back to its default */
	/* a patch without the configuration object resets everything (C agent) */
	cJSON *other = cJSON_Parse("{\"someOtherKey\":1,\"$version\":4}");
	ck_assert_int_eq(sa_config_apply(&c, other, &rep), SH_OK);
	struct sa_config d;
	sa_config_default(&d);
	ck_assert_mem_eq(&c, &d, sizeof c);
	/* a patch that deletes the object (null) too */
	ck_assert_int_eq(sa_config_apply(&c, twin, &rep), SH_OK);
	cJSON *del = cJSON_Parse("{\"" SA_CONFIG_OBJECT "\":null}");
	ck_assert_int_eq(sa_config_apply(&c, del, &rep), SH_OK);
	ck_assert_mem_eq(&c, &d, sizeof c);
	cJSON_Delete(twin);
	cJSON_Delete(patch);
	cJSON_Delete(other);
	cJSON_Delete(del);
}
END_TEST

/* The C agent's message: general keys by name, all priorities as one "eventPriorities". */
START_TEST(sa_config_apply_type_mismatch_lists_keys_c_agent_way)
{
	struct sa_config c;
	struct sa_config_report rep;
	ck_assert_int_eq(apply_inner(&c, "{\"maxMessageSizeInBytes\":{\"value\":\"big\"},"
				 "\"eventPriorityLogin\":{\"value\":\"Medium\"},"
				 "\"eventPriorityProcessCreate\":{\"value\":1},"
				 "\"lowPriorityMessageFrequency\":\"PT1H\","
				 "\"hubResourceId\":{\"value\":5},"
				 "\"aggregationIntervalProcessTerminate\":{\"value\":7}}", &rep),
			 SH_E_INVALID);
	ck_assert_uint_eq(rep.n_errors, 1);
	/* secconfig's table order; keys the C agent does not read are not checked */
	ck_assert_str_eq(rep.errors[0].message, "Couldn't parse the following conifgurations: "
			 "lowPriorityMessageFrequency, maxMessageSizeInBytes, eventPriorities");
	cJSON *used = cJSON_Parse(rep.errors[0].used);
	ck_assert_ptr_nonnull(used);
	ck_assert_str_eq(prio_text(used, "eventPriorityLogin"), "high");
	cJSON_Delete(used);
}
END_TEST

/* What the agent reports and finds is what simhub's drift (core/secconfig) reads. */
START_TEST(sa_config_reported_read_by_secconfig_drift)
{
	cJSON *des = desired_of("{\"highPriorityMessageFrequency\":{\"value\":\"PT60M\"},"
				"\"eventPriorityLogin\":{\"value\":\"Off\"},"
				"\"maxMessageSizeInBytes\":{\"value\":16384}}");
	struct sa_config c;
	sa_config_default(&c);
	struct sa_config_report rep;
	ck_assert_int_eq(sa_config_apply(&c, des, &rep), SH_OK);
	cJSON *r = sa_config_reported(&c);
	struct secconfig_drift dr;
	ck_assert_int_eq(secconfig_drift(des, r, NULL, &dr), SH_OK);
	ck_assert(dr.applied);
	for (size_t i = 0; i < dr.n_rows; i++)
		ck_assert_msg(dr.rows[i].state == SECCONFIG_APPLIED || dr.rows[i].state == SECCONFIG_DEFAULT,
			      "%s is %s", dr.rows[i].key, secconfig_state_str(dr.rows[i].state));
	secconfig_drift_free(&dr);
	/* a refused update: the agent keeps the old configuration, the drift says rejected */
	cJSON *bad = desired_of("{\"highPriorityMessageFrequency\":{\"value\":\"PT60M\"},"
				"\"eventPriorityLogin\":{\"value\":\"Sometimes\"},"
				"\"snapshotFrequency\":{\"value\":\"PT1.5S\"}}");
	ck_assert_int_eq(sa_config_apply(&c, bad, &rep), SH_E_INVALID);
	cJSON *items = cJSON_CreateArray();
	cJSON *it = cJSON_CreateObject();
	cJSON_AddItemToArray(items, it);
	cJSON_AddStringToObject(it, "ConfigurationName", rep.errors[0].name);
	cJSON_AddStringToObject(it, "ErrorType", rep.errors[0].type);
	cJSON_AddStringToObject(it, "UsedConfiguration", rep.errors[0].used);
	cJSON_AddStringToObject(it, "Message", rep.errors[0].message);
	ck_assert_int_eq(secconfig_drift(bad, r, items, &dr), SH_OK);
	ck_assert(!dr.applied);
	for (size_t i = 0; i < dr.n_rows; i++) {
		const char *k = dr.rows[i].key;
		if (!strcmp(k, "eventPriorityLogin") || !strcmp(k, "snapshotFrequency"))
			ck_assert_int_eq(dr.rows[i].state, SECCONFIG_REJECTED);
	}
	secconfig_drift_free(&dr);
	cJSON_Delete(items);
	cJSON_Delete(bad);
	cJSON_Delete(r);
	cJSON_Delete(des);
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
	TCase *t = tcase_create("sa_config_default");
	tcase_add_test(t, sa_config_default_matches_secconfig);
	suite_add_tcase(s, t);
	t = tcase_create("sa_config_apply");
	tcase_add_test(t, sa_config_apply_no_object_gives_defaults);
	tcase_add_test(t, sa_config_apply_every_field_ok);
	tcase_add_test(t, sa_config_apply_type_errors_keep_previous);
	tcase_add_test(t, sa_config_apply_semantic_findings_reported);
	tcase_add_test(t, sa_config_apply_durations_c_agent_forms);
	tcase_add_test(t, sa_config_apply_out_of_range_sizes_applied_as_c_agent);
	tcase_add_test(t, sa_config_apply_partial_patch_resets_the_rest);
	tcase_add_test(t, sa_config_apply_type_mismatch_lists_keys_c_agent_way);
	suite_add_tcase(s, t);
	t = tcase_create("sa_config_reported");
	tcase_add_test(t, sa_config_reported_shape_lower_case_round_trip);
	tcase_add_test(t, sa_config_reported_read_by_secconfig_drift);
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
