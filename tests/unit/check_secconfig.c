/*
 * check_secconfig.c: unit tests of core/secconfig: the field table against §1.3/§1.4, the
 * default desired document against azureiotsecurity_default.json's shape, ISO 8601 durations,
 * entry checks, and the desired/reported drift with the C agent's lower-case priorities and
 * its ConfigurationError reports (§1.5).
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secconfig.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static cJSON *json(const char *text)
{
	cJSON *j = cJSON_Parse(text);
	ck_assert_msg(j != NULL, "bad test JSON: %s", text);
	return j;
}

static const struct secconfig_drift_row *row_of(const struct secconfig_drift *d, const char *key)
{
	for (size_t i = 0; i < d->n_rows; i++)
		if (strcmp(d->rows[i].key, key) == 0)
			return &d->rows[i];
	return NULL;
}

/* ---- secconfig_field_at / find ---- */

START_TEST(secconfig_field_at_table_matches_docs)
{
	size_t n = 0, in_default = 0, priorities = 0, some = 0;
	for (const struct secconfig_field *f; (f = secconfig_field_at(n)); n++) {
		in_default += f->in_default_twin;
		some += f->some_agents_only;
		priorities += f->kind == SECCONFIG_PRIORITY;
		ck_assert_ptr_eq(secconfig_field_find(f->key), f);
	}
	ck_assert_uint_eq(n, 30);
	ck_assert_uint_eq(in_default, 25);
	ck_assert_uint_eq(priorities, 15); /* 14 of the twin + the C agent's Operational */
	/* 5 priorities and 2 ProcessTerminate aggregation keys the C agent lacks, the C# agent's
	 * missing Operational, and hubResourceId (C# only). */
	ck_assert_uint_eq(some, 9);
	ck_assert(secconfig_field_find("aggregationIntervalProcessTerminate")->some_agents_only);
	ck_assert(!secconfig_field_find("eventPriorityLogin")->some_agents_only);
	const struct secconfig_field *f = secconfig_field_find("maxMessageSizeInBytes");
	ck_assert_int_eq(f->min, 8192);
	ck_assert_int_eq(f->max, 262144);
	ck_assert_str_eq(f->default_json, "204800");
	ck_assert_str_eq(secconfig_field_find("eventPriorityDiagnostic")->default_json, "\"Low\"");
}
END_TEST

START_TEST(secconfig_field_find_unknown_null)
{
	ck_assert_ptr_null(secconfig_field_find("HighPriorityMessageFrequency"));
	ck_assert_ptr_null(secconfig_field_find(""));
	ck_assert_ptr_null(secconfig_field_find(NULL));
}
END_TEST

/* ---- secconfig_duration_parse ---- */

START_TEST(secconfig_duration_parse_valid)
{
	static const struct {
		const char *text;
		int64_t ms;
	} ok[] = {
		{ "PT7M", 420000 }, { "PT5H", 18000000 }, { "PT13H", 46800000 }, { "PT1H", 3600000 },
		{ "PT10S", 10000 }, { "PT1.5S", 1500 }, { "P1D", 86400000 }, { "P1W", 604800000 },
		{ "P1M", 2592000000LL }, { "P1Y", 31536000000LL }, { "P1DT1H1M1S", 90061000 },
		{ "PT0S", 0 }, { "P0.5D", 43200000 }, { "PT0.001S", 1 }, { "PT60M", 3600000 },
		{ "PT0.123456789S", 123 },
	};
	for (size_t i = 0; i < NELEM(ok); i++) {
		int64_t ms = -1;
		ck_assert_msg(secconfig_duration_parse(ok[i].text, &ms) == SH_OK, "%s", ok[i].text);
		ck_assert_msg(ms == ok[i].ms, "%s -> %lld", ok[i].text, (long long)ms);
	}
}
END_TEST

START_TEST(secconfig_duration_parse_invalid)
{
	static const char *const bad[] = {
		"", "P", "PT", "7M", "pt7m", "PT7", "PT-7M", "PT1.5M30S", "PT7M1H", "P1H", "PT1D",
		"PTT1H", "P1DT", "PT1.S", "PT.5S", "P1Y1Y", "PT7M ", " PT7M", "00:07:00", "PT1,5S",
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		int64_t ms = 77;
		ck_assert_msg(secconfig_duration_parse(bad[i], &ms) == SH_E_MALFORMED, "%s", bad[i]);
		ck_assert_int_eq(ms, 77);
	}
	int64_t ms;
	ck_assert_int_eq(secconfig_duration_parse(NULL, &ms), SH_E_MALFORMED);
	ck_assert_int_eq(secconfig_duration_parse("P99999999999999999999Y", &ms), SH_E_TOOLARGE);
	ck_assert_int_eq(secconfig_duration_parse("P300000000Y", &ms), SH_E_TOOLARGE);
}
END_TEST

/* ---- secconfig_check_entry ---- */

START_TEST(secconfig_check_entry_types_and_bounds)
{
	static const struct {
		const char *key, *wrapper;
		sh_rc rc;
	} cases[] = {
		{ "highPriorityMessageFrequency", "{\"value\":\"PT10S\"}", SH_OK },
		{ "highPriorityMessageFrequency", "{\"value\":\"PT0S\"}", SH_E_INVALID },
		{ "highPriorityMessageFrequency", "{\"value\":\"00:07:00\"}", SH_E_INVALID },
		{ "highPriorityMessageFrequency", "\"PT7M\"", SH_E_INVALID },
		{ "highPriorityMessageFrequency", "{}", SH_E_INVALID },
		{ "highPriorityMessageFrequency", "{\"value\":null}", SH_OK },
		{ "highPriorityMessageFrequency", "null", SH_OK },
		{ "maxMessageSizeInBytes", "{\"value\":8192}", SH_OK },
		{ "maxMessageSizeInBytes", "{\"value\":262144}", SH_OK },
		{ "maxMessageSizeInBytes", "{\"value\":8191}", SH_E_INVALID },
		{ "maxMessageSizeInBytes", "{\"value\":262145}", SH_E_INVALID },
		{ "maxMessageSizeInBytes", "{\"value\":\"204800\"}", SH_E_INVALID },
		{ "maxMessageSizeInBytes", "{\"value\":204800.5}", SH_E_INVALID },
		{ "maxLocalCacheSizeInBytes", "{\"value\":10485760}", SH_OK },
		{ "eventPriorityLogin", "{\"value\":\"high\"}", SH_OK },
		{ "eventPriorityLogin", "{\"value\":\"OFF\"}", SH_OK },
		{ "eventPriorityLogin", "{\"value\":\"Medium\"}", SH_E_INVALID },
		{ "eventPriorityLogin", "{\"value\":2}", SH_E_INVALID },
		{ "aggregationEnabledProcessCreate", "{\"value\":false}", SH_OK },
		{ "aggregationEnabledProcessCreate", "{\"value\":\"true\"}", SH_E_INVALID },
		{ "hubResourceId", "{\"value\":\"\"}", SH_OK },
		{ "baselineCustomChecksFilePath", "{\"value\":7}", SH_E_INVALID },
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		char why[96] = "";
		cJSON *w = json(cases[i].wrapper);
		sh_rc rc = secconfig_check_entry(secconfig_field_find(cases[i].key), w, why, sizeof(why));
		ck_assert_msg(rc == cases[i].rc, "%s %s -> %d", cases[i].key, cases[i].wrapper, rc);
		ck_assert(rc == SH_OK || why[0] != '\0');
		cJSON_Delete(w);
	}
	ck_assert_int_eq(secconfig_check_entry(secconfig_field_find("eventPriorityLogin"), NULL, NULL, 0),
			 SH_OK);
}
END_TEST

/* ---- secconfig_default_desired ---- */

START_TEST(secconfig_default_desired_shape_of_twin_default)
{
	cJSON *d = secconfig_default_desired();
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(cJSON_GetArraySize(d), 1);
	cJSON *o = cJSON_GetObjectItemCaseSensitive(d, SECCONFIG_OBJECT);
	ck_assert_int_eq(cJSON_GetArraySize(o), 25);
	ck_assert_str_eq(o->child->string, "highPriorityMessageFrequency");
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "highPriorityMessageFrequency"), "value")->valuestring,
			 "PT7M");
	ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "maxLocalCacheSizeInBytes"), "value")->valueint,
			 2560000);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "aggregationEnabledProcessTerminate"), "value")));
	ck_assert_ptr_null(cJSON_GetObjectItem(o, "hubResourceId"));
	for (cJSON *e = o->child; e; e = e->next) {
		ck_assert_int_eq(cJSON_GetArraySize(e), 1);
		ck_assert_int_eq(secconfig_check_entry(secconfig_field_find(e->string), e, NULL, 0), SH_OK);
	}
	cJSON_Delete(d);
}
END_TEST

START_TEST(secconfig_default_desired_equals_published_file)
{
	const char *path = "/work/shared/asc-schemas/security_module_twin/azureiotsecurity_default.json";
	char buf[1024];
	const char *src = getenv("SIMHUB_SOURCE_DIR");
	if (src) {
		snprintf(buf, sizeof(buf), "%s/../shared/asc-schemas/security_module_twin/azureiotsecurity_default.json", src);
		path = buf;
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("SKIP secconfig_default_desired_equals_published_file: %s absent\n", path);
		return;
	}
	char text[8192];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	cJSON *pub = json(text);
	cJSON *want = cJSON_GetObjectItem(cJSON_GetObjectItem(pub, "properties"), "desired");
	cJSON *got = secconfig_default_desired();
	ck_assert(cJSON_Compare(want, got, 1));
	/* same key order too */
	cJSON *a = cJSON_GetObjectItem(want, SECCONFIG_OBJECT)->child, *b = cJSON_GetObjectItem(got, SECCONFIG_OBJECT)->child;
	for (; a && b; a = a->next, b = b->next)
		ck_assert_str_eq(a->string, b->string);
	ck_assert(!a && !b);
	cJSON_Delete(got);
	cJSON_Delete(pub);
}
END_TEST

/* ---- secconfig_drift ---- */

#define OBJ "\"" SECCONFIG_OBJECT "\""

START_TEST(secconfig_drift_c_agent_lowercase_priorities_applied)
{
	cJSON *des = json("{" OBJ ":{\"highPriorityMessageFrequency\":{\"value\":\"PT10S\"},"
			  "\"eventPriorityLogin\":{\"value\":\"High\"},\"eventPriorityDiagnostic\":{\"value\":\"Off\"}},"
			  "\"$version\":3}");
	cJSON *rep = json("{" OBJ ":{\"highPriorityMessageFrequency\":{\"value\":\"PT10S\"},"
			  "\"lowPriorityMessageFrequency\":{\"value\":\"PT5H\"},\"eventPriorityLogin\":{\"value\":\"high\"},"
			  "\"eventPriorityDiagnostic\":{\"value\":\"off\"},\"eventPriorityOperational\":{\"value\":\"high\"}},"
			  "\"$version\":4}");
	struct secconfig_drift d;
	ck_assert_int_eq(secconfig_drift(des, rep, NULL, &d), SH_OK);
	ck_assert(d.applied && d.reported_present);
	ck_assert_int_eq(row_of(&d, "highPriorityMessageFrequency")->state, SECCONFIG_APPLIED);
	ck_assert_int_eq(row_of(&d, "eventPriorityLogin")->state, SECCONFIG_APPLIED);
	ck_assert_int_eq(row_of(&d, "eventPriorityDiagnostic")->state, SECCONFIG_APPLIED);
	ck_assert_int_eq(row_of(&d, "lowPriorityMessageFrequency")->state, SECCONFIG_DEFAULT);
	ck_assert_str_eq(row_of(&d, "lowPriorityMessageFrequency")->reported->valuestring, "PT5H");
	ck_assert_int_eq(row_of(&d, "eventPriorityOperational")->state, SECCONFIG_DEFAULT);
	ck_assert_int_eq(row_of(&d, "snapshotFrequency")->state, SECCONFIG_DEFAULT);
	ck_assert_ptr_null(row_of(&d, "snapshotFrequency")->reported);
	ck_assert_int_eq(cJSON_GetArraySize(d.errors), 0);
	secconfig_drift_free(&d);
	cJSON_Delete(des);
	cJSON_Delete(rep);
}
END_TEST

START_TEST(secconfig_drift_duration_spelling_and_pending)
{
	cJSON *des = json("{" OBJ ":{\"snapshotFrequency\":{\"value\":\"PT60M\"},\"maxMessageSizeInBytes\":{\"value\":8192}}}");
	cJSON *rep = json("{" OBJ ":{\"snapshotFrequency\":{\"value\":\"PT1H\"},\"maxMessageSizeInBytes\":{\"value\":204800}}}");
	struct secconfig_drift d;
	ck_assert_int_eq(secconfig_drift(des, rep, NULL, &d), SH_OK);
	ck_assert_int_eq(row_of(&d, "snapshotFrequency")->state, SECCONFIG_APPLIED);
	ck_assert_int_eq(row_of(&d, "maxMessageSizeInBytes")->state, SECCONFIG_PENDING);
	ck_assert(!d.applied);
	secconfig_drift_free(&d);
	/* nothing reported yet: pending, not applied */
	ck_assert_int_eq(secconfig_drift(des, NULL, NULL, &d), SH_OK);
	ck_assert(!d.applied && !d.reported_present);
	ck_assert_int_eq(row_of(&d, "snapshotFrequency")->state, SECCONFIG_PENDING);
	secconfig_drift_free(&d);
	cJSON_Delete(des);
	cJSON_Delete(rep);
}
END_TEST

START_TEST(secconfig_drift_type_mismatch_rejected)
{
	cJSON *des = json("{" OBJ ":{\"maxMessageSizeInBytes\":{\"value\":\"big\"},\"eventPriorityLogin\":{\"value\":\"Medium\"},"
			  "\"lowPriorityMessageFrequency\":{\"value\":\"PT1H\"}}}");
	cJSON *rep = json("{" OBJ ":{\"maxMessageSizeInBytes\":{\"value\":204800},\"eventPriorityLogin\":{\"value\":\"high\"},"
			  "\"lowPriorityMessageFrequency\":{\"value\":\"PT5H\"}}}");
	cJSON *errs = json("[{\"ConfigurationName\":\"TwinConfiguration\",\"ErrorType\":\"TypeMismatch\","
			   "\"UsedConfiguration\":\"{}\",\"Message\":\"Couldn't parse the following conifgurations: "
			   "maxMessageSizeInBytes, eventPriorities\"}]");
	struct secconfig_drift d;
	ck_assert_int_eq(secconfig_drift(des, rep, errs, &d), SH_OK);
	const struct secconfig_drift_row *r = row_of(&d, "maxMessageSizeInBytes");
	ck_assert_int_eq(r->state, SECCONFIG_REJECTED);
	ck_assert_ptr_nonnull(r->desired_error);
	ck_assert(strncmp(r->agent_error, "TypeMismatch: ", 14) == 0);
	ck_assert_int_eq(row_of(&d, "eventPriorityLogin")->state, SECCONFIG_REJECTED);
	/* the whole update was discarded, so this one stays pending, not rejected */
	ck_assert_int_eq(row_of(&d, "lowPriorityMessageFrequency")->state, SECCONFIG_PENDING);
	/* "maxMessageSizeInBytes" must not match "maxLocalCacheSizeInBytes" or a longer key */
	ck_assert_ptr_null(row_of(&d, "maxLocalCacheSizeInBytes")->agent_error);
	ck_assert(!d.applied);
	ck_assert_int_eq(cJSON_GetArraySize(d.errors), 1);
	secconfig_drift_free(&d);
	cJSON_Delete(des);
	cJSON_Delete(rep);
	cJSON_Delete(errs);
}
END_TEST

START_TEST(secconfig_drift_not_optimal_shown_not_rejected)
{
	cJSON *des = json("{" OBJ ":{\"maxMessageSizeInBytes\":{\"value\":200000}}}");
	cJSON *rep = json("{" OBJ ":{\"maxMessageSizeInBytes\":{\"value\":200000}}}");
	cJSON *errs = json("[{\"ConfigurationName\":\"maxMessageSizeInBytes\",\"ErrorType\":\"NotOptimal\","
			   "\"UsedConfiguration\":\"200000\",\"Message\":\"maxMessageSize is not optimal\"}]");
	struct secconfig_drift d;
	ck_assert_int_eq(secconfig_drift(des, rep, errs, &d), SH_OK);
	const struct secconfig_drift_row *r = row_of(&d, "maxMessageSizeInBytes");
	ck_assert_int_eq(r->state, SECCONFIG_APPLIED);
	ck_assert_str_eq(r->agent_error, "NotOptimal: maxMessageSize is not optimal");
	ck_assert(d.applied);
	secconfig_drift_free(&d);
	cJSON_Delete(des);
	cJSON_Delete(rep);
	cJSON_Delete(errs);
}
END_TEST

START_TEST(secconfig_drift_unknown_fields_and_bad_shapes)
{
	cJSON *des = json("{" OBJ ":{\"fooBar\":{\"value\":1},\"eventPriorityLogin\":\"High\",\"$metadata\":{}}}");
	cJSON *rep = json("{" OBJ ":{\"fooBar\":{\"value\":1},\"reportedOnly\":true,\"eventPriorityLogin\":\"High\"}}");
	struct secconfig_drift d;
	ck_assert_int_eq(secconfig_drift(des, rep, NULL, &d), SH_OK);
	ck_assert_int_eq(row_of(&d, "fooBar")->state, SECCONFIG_UNKNOWN_FIELD);
	ck_assert_int_eq(row_of(&d, "reportedOnly")->state, SECCONFIG_UNKNOWN_FIELD);
	ck_assert_ptr_null(row_of(&d, "$metadata"));
	const struct secconfig_drift_row *r = row_of(&d, "eventPriorityLogin");
	ck_assert_ptr_nonnull(r->desired_error);       /* bare value on the desired side */
	ck_assert_str_eq(r->reported->valuestring, "High"); /* read leniently on the reported side */
	ck_assert_uint_eq(d.n_rows, 32);
	secconfig_drift_free(&d);
	cJSON_Delete(des);
	cJSON_Delete(rep);
	/* no sections at all */
	ck_assert_int_eq(secconfig_drift(NULL, NULL, NULL, &d), SH_OK);
	ck_assert(!d.applied);
	ck_assert_int_eq(row_of(&d, "snapshotFrequency")->state, SECCONFIG_DEFAULT);
	secconfig_drift_free(&d);
}
END_TEST

/* The C agent's reported object (§1.5): the default twin's fields but the ones it does not know,
 * priorities in lower case, plus eventPriorityOperational. */
static cJSON *c_agent_report_of_default(void)
{
	cJSON *rep = secconfig_default_desired();
	cJSON *obj = cJSON_GetObjectItemCaseSensitive(rep, SECCONFIG_OBJECT);
	static const char *const unknown[] = {
		"eventPriorityConnectedHardware", "eventPriorityProcessTerminate",
		"eventPriorityConfigurationError", "eventPriorityDroppedEventsStatistics",
		"eventPriorityMessageStatistics", "aggregationEnabledProcessTerminate",
		"aggregationIntervalProcessTerminate",
	};
	for (size_t i = 0; i < NELEM(unknown); i++)
		cJSON_DeleteItemFromObjectCaseSensitive(obj, unknown[i]);
	for (cJSON *e = obj->child; e; e = e->next) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");
		if (strncmp(e->string, "eventPriority", 13) == 0 && cJSON_IsString(v)) {
			char low[8];
			snprintf(low, sizeof low, "%s", v->valuestring);
			for (char *c = low; *c; c++)
				*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
			cJSON_SetValuestring(v, low);
		}
	}
	cJSON *op = cJSON_AddObjectToObject(obj, "eventPriorityOperational");
	cJSON_AddStringToObject(op, "value", "off");
	return rep;
}

START_TEST(secconfig_drift_c_agent_on_default_twin_applied_not_reported)
{
	cJSON *des = secconfig_default_desired();
	cJSON *rep = c_agent_report_of_default();
	struct secconfig_drift d;
	ck_assert_int_eq(secconfig_drift(des, rep, NULL, &d), SH_OK);
	ck_assert(d.reported_present);
	ck_assert(d.applied);
	ck_assert_int_eq(row_of(&d, "aggregationEnabledProcessTerminate")->state,
			 SECCONFIG_NOT_REPORTED);
	ck_assert_int_eq(row_of(&d, "aggregationIntervalProcessTerminate")->state,
			 SECCONFIG_NOT_REPORTED);
	ck_assert_int_eq(row_of(&d, "eventPriorityMessageStatistics")->state,
			 SECCONFIG_NOT_REPORTED);
	ck_assert_int_eq(row_of(&d, "eventPriorityLogin")->state, SECCONFIG_APPLIED);
	ck_assert_int_eq(row_of(&d, "aggregationEnabledProcessCreate")->state, SECCONFIG_APPLIED);
	/* Not desired and reported: still "default", whoever knows it. */
	ck_assert_int_eq(row_of(&d, "eventPriorityOperational")->state, SECCONFIG_DEFAULT);
	cJSON *j = secconfig_drift_json(&d);
	const cJSON *f;
	bool seen = false;
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(j, "fields"))
		if (strcmp(cJSON_GetObjectItemCaseSensitive(f, "field")->valuestring,
			   "aggregationIntervalProcessTerminate") == 0) {
			ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(f, "state")->valuestring,
					 "not-reported");
			seen = true;
		}
	ck_assert(seen);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "applied")));
	cJSON_Delete(j);
	secconfig_drift_free(&d);
	cJSON_Delete(des);
	cJSON_Delete(rep);
}
END_TEST

START_TEST(secconfig_drift_common_field_missing_stays_pending)
{
	cJSON *des = secconfig_default_desired();
	cJSON *rep = c_agent_report_of_default();
	cJSON_DeleteItemFromObjectCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(rep, SECCONFIG_OBJECT), "snapshotFrequency");
	struct secconfig_drift d;
	ck_assert_int_eq(secconfig_drift(des, rep, NULL, &d), SH_OK);
	ck_assert(!d.applied);
	ck_assert_int_eq(row_of(&d, "snapshotFrequency")->state, SECCONFIG_PENDING);
	secconfig_drift_free(&d);
	/* A field some agents only know, reported with another value, is pending too. */
	cJSON_Delete(rep);
	rep = c_agent_report_of_default();
	cJSON *obj = cJSON_GetObjectItemCaseSensitive(rep, SECCONFIG_OBJECT);
	cJSON *w = cJSON_AddObjectToObject(obj, "aggregationIntervalProcessTerminate");
	cJSON_AddStringToObject(w, "value", "PT2H");
	ck_assert_int_eq(secconfig_drift(des, rep, NULL, &d), SH_OK);
	ck_assert(!d.applied);
	ck_assert_int_eq(row_of(&d, "aggregationIntervalProcessTerminate")->state,
			 SECCONFIG_PENDING);
	secconfig_drift_free(&d);
	cJSON_Delete(des);
	cJSON_Delete(rep);
}
END_TEST

START_TEST(secconfig_drift_nothing_reported_everything_pending)
{
	cJSON *des = secconfig_default_desired();
	cJSON *rep = json("{\"$version\":1}");
	struct secconfig_drift d;
	ck_assert_int_eq(secconfig_drift(des, rep, NULL, &d), SH_OK);
	ck_assert(!d.reported_present);
	ck_assert(!d.applied);
	ck_assert_int_eq(row_of(&d, "aggregationEnabledProcessTerminate")->state,
			 SECCONFIG_PENDING);
	ck_assert_int_eq(row_of(&d, "highPriorityMessageFrequency")->state, SECCONFIG_PENDING);
	secconfig_drift_free(&d);
	cJSON_Delete(des);
	cJSON_Delete(rep);
}
END_TEST

START_TEST(secconfig_drift_free_null_and_twice)
{
	struct secconfig_drift d;
	secconfig_drift_free(NULL);
	ck_assert_int_eq(secconfig_drift(NULL, NULL, NULL, &d), SH_OK);
	secconfig_drift_free(&d);
	ck_assert_ptr_null(d.rows);
	secconfig_drift_free(&d);
}
END_TEST

START_TEST(secconfig_state_str_each)
{
	ck_assert_str_eq(secconfig_state_str(SECCONFIG_APPLIED), "applied");
	ck_assert_str_eq(secconfig_state_str(SECCONFIG_PENDING), "pending");
	ck_assert_str_eq(secconfig_state_str(SECCONFIG_REJECTED), "rejected");
	ck_assert_str_eq(secconfig_state_str(SECCONFIG_DEFAULT), "default");
	ck_assert_str_eq(secconfig_state_str(SECCONFIG_UNKNOWN_FIELD), "unknown-field");
	ck_assert_str_eq(secconfig_state_str(SECCONFIG_NOT_REPORTED), "not-reported");
}
END_TEST

START_TEST(secconfig_drift_json_shape)
{
	cJSON *des = json("{" OBJ ":{\"eventPriorityLogin\":{\"value\":\"Low\"}}}");
	cJSON *rep = json("{" OBJ ":{\"eventPriorityLogin\":{\"value\":\"high\"}}}");
	struct secconfig_drift d;
	ck_assert_int_eq(secconfig_drift(des, rep, NULL, &d), SH_OK);
	cJSON *j = secconfig_drift_json(&d);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "applied")));
	cJSON *f = NULL;
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(j, "fields"))
		if (strcmp(cJSON_GetObjectItem(f, "field")->valuestring, "eventPriorityLogin") == 0)
			break;
	ck_assert_ptr_nonnull(f);
	char *t = cJSON_PrintUnformatted(f);
	ck_assert_str_eq(t, "{\"field\":\"eventPriorityLogin\",\"state\":\"pending\",\"desired\":\"Low\","
			    "\"reported\":\"high\",\"default\":\"High\",\"desiredError\":null,\"agentError\":null}");
	cJSON_free(t);
	ck_assert(cJSON_IsArray(cJSON_GetObjectItem(j, "errors")));
	cJSON_Delete(j);
	secconfig_drift_free(&d);
	cJSON_Delete(des);
	cJSON_Delete(rep);
}
END_TEST

START_TEST(secconfig_high_priority_ms_reported_desired_default)
{
	cJSON *des = json("{" OBJ ":{\"highPriorityMessageFrequency\":{\"value\":\"PT10S\"}}}");
	cJSON *rep = json("{" OBJ ":{\"highPriorityMessageFrequency\":{\"value\":\"PT20S\"}}}");
	cJSON *bad = json("{" OBJ ":{\"highPriorityMessageFrequency\":{\"value\":\"soon\"}}}");
	ck_assert_int_eq(secconfig_high_priority_ms(des, rep), 20000);
	ck_assert_int_eq(secconfig_high_priority_ms(des, NULL), 10000);
	ck_assert_int_eq(secconfig_high_priority_ms(des, bad), 10000);
	ck_assert_int_eq(secconfig_high_priority_ms(NULL, NULL), 420000);
	cJSON_Delete(des);
	cJSON_Delete(rep);
	cJSON_Delete(bad);
}
END_TEST

/* ---- typed values (secconfig_priority_parse, _entry_value, _field_default, _duration_format) ---- */

START_TEST(secconfig_priority_parse_any_case_ok_else_invalid)
{
	static const struct {
		const char *s;
		enum secconfig_priority p;
	} good[] = { { "High", SECCONFIG_PRIO_HIGH }, { "high", SECCONFIG_PRIO_HIGH },
		     { "LOW", SECCONFIG_PRIO_LOW },   { "Off", SECCONFIG_PRIO_OFF },
		     { "oFF", SECCONFIG_PRIO_OFF } };
	for (size_t i = 0; i < NELEM(good); i++) {
		enum secconfig_priority p = (enum secconfig_priority)99;
		ck_assert_int_eq(secconfig_priority_parse(good[i].s, &p), SH_OK);
		ck_assert_int_eq(p, good[i].p);
	}
	static const char *const bad[] = { "", "H", "Hig", "Highest", "Medium", " High", "1", "Lo w" };
	for (size_t i = 0; i < NELEM(bad); i++) {
		enum secconfig_priority p = (enum secconfig_priority)99;
		ck_assert_msg(secconfig_priority_parse(bad[i], &p) == SH_E_INVALID, "accepted '%s'", bad[i]);
		ck_assert_int_eq(p, 99);
	}
	enum secconfig_priority p = SECCONFIG_PRIO_LOW;
	ck_assert_int_eq(secconfig_priority_parse(NULL, &p), SH_E_INVALID);
}
END_TEST

START_TEST(secconfig_entry_value_types_without_bounds)
{
	static const struct {
		const char *key, *wrapper;
		sh_rc rc;
		bool set;
		int64_t i;
	} cases[] = {
		{ "highPriorityMessageFrequency", "{\"value\":\"PT10S\"}", SH_OK, true, 10000 },
		{ "highPriorityMessageFrequency", "{\"value\":\"P1DT0.5S\"}", SH_OK, true, 86400500 },
		{ "highPriorityMessageFrequency", "{\"value\":\"PT0S\"}", SH_E_INVALID, false, 0 },
		{ "highPriorityMessageFrequency", "{\"value\":420}", SH_E_INVALID, false, 0 },
		{ "highPriorityMessageFrequency", "\"PT7M\"", SH_E_INVALID, false, 0 },
		{ "highPriorityMessageFrequency", "[]", SH_E_INVALID, false, 0 },
		{ "highPriorityMessageFrequency", "{\"val\":\"PT7M\"}", SH_E_INVALID, false, 0 },
		{ "highPriorityMessageFrequency", "{\"value\":null}", SH_OK, false, 0 },
		{ "highPriorityMessageFrequency", "null", SH_OK, false, 0 },
		/* bounds are the service's business: out of the schema's range is still an integer */
		{ "maxMessageSizeInBytes", "{\"value\":4096}", SH_OK, true, 4096 },
		{ "maxMessageSizeInBytes", "{\"value\":300000}", SH_OK, true, 300000 },
		{ "maxLocalCacheSizeInBytes", "{\"value\":-1}", SH_OK, true, -1 },
		{ "maxMessageSizeInBytes", "{\"value\":204800.5}", SH_E_INVALID, false, 0 },
		{ "maxMessageSizeInBytes", "{\"value\":1e300}", SH_E_INVALID, false, 0 },
		{ "maxMessageSizeInBytes", "{\"value\":\"204800\"}", SH_E_INVALID, false, 0 },
		{ "eventPriorityLogin", "{\"value\":\"oFf\"}", SH_OK, true, SECCONFIG_PRIO_OFF },
		{ "eventPriorityLogin", "{\"value\":\"High\"}", SH_OK, true, SECCONFIG_PRIO_HIGH },
		{ "eventPriorityLogin", "{\"value\":2}", SH_E_INVALID, false, 0 },
		{ "aggregationEnabledProcessCreate", "{\"value\":true}", SH_OK, true, 1 },
		{ "aggregationEnabledProcessCreate", "{\"value\":false}", SH_OK, true, 0 },
		{ "aggregationEnabledProcessCreate", "{\"value\":1}", SH_E_INVALID, false, 0 },
		{ "baselineCustomChecksFilePath", "{\"value\":{}}", SH_E_INVALID, false, 0 },
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		char why[96] = "";
		struct secconfig_value v = { true, 77, "x" };
		cJSON *w = json(cases[i].wrapper);
		sh_rc rc = secconfig_entry_value(secconfig_field_find(cases[i].key), w, &v, why, sizeof(why));
		ck_assert_msg(rc == cases[i].rc, "%s %s -> %d", cases[i].key, cases[i].wrapper, rc);
		ck_assert_msg(v.set == cases[i].set && v.i == cases[i].i, "%s %s -> set %d i %lld",
			      cases[i].key, cases[i].wrapper, v.set, (long long)v.i);
		ck_assert(rc == SH_OK || why[0] != '\0');
		ck_assert_ptr_null(v.s);
		cJSON_Delete(w);
	}
	/* a string is borrowed from the JSON read */
	cJSON *w = json("{\"value\":\"/etc/b.xml\"}");
	struct secconfig_value v;
	ck_assert_int_eq(secconfig_entry_value(secconfig_field_find("baselineCustomChecksFilePath"), w, &v,
					       NULL, 0), SH_OK);
	ck_assert(v.set);
	ck_assert_ptr_eq(v.s, cJSON_GetObjectItem(w, "value")->valuestring);
	cJSON_Delete(w);
	/* the same entry, out of bounds: accepted by type, refused by the service check */
	w = json("{\"value\":4096}");
	const struct secconfig_field *f = secconfig_field_find("maxMessageSizeInBytes");
	ck_assert_int_eq(secconfig_entry_value(f, w, &v, NULL, 0), SH_OK);
	ck_assert_int_eq(secconfig_check_entry(f, w, NULL, 0), SH_E_INVALID);
	cJSON_Delete(w);
	ck_assert_int_eq(secconfig_entry_value(f, NULL, &v, NULL, 0), SH_OK);
	ck_assert(!v.set);
}
END_TEST

/* Every default read without a parser agrees with the JSON text of the table, read as JSON. */
START_TEST(secconfig_field_default_agrees_with_table_json)
{
	size_t with = 0, without = 0;
	for (size_t k = 0; secconfig_field_at(k); k++) {
		const struct secconfig_field *f = secconfig_field_at(k);
		struct secconfig_value d = { true, 77, "x" };
		sh_rc rc = secconfig_field_default(f, &d);
		if (!f->default_json) {
			ck_assert_int_eq(rc, SH_E_NOTFOUND);
			ck_assert(!d.set);
			without++;
			continue;
		}
		ck_assert_msg(rc == SH_OK, "%s: %d", f->key, rc);
		char text[128];
		snprintf(text, sizeof(text), "{\"value\":%s}", f->default_json);
		cJSON *w = json(text);
		struct secconfig_value v;
		ck_assert_int_eq(secconfig_entry_value(f, w, &v, NULL, 0), SH_OK);
		ck_assert_msg(d.set && v.set && d.i == v.i, "%s: %lld vs %lld", f->key, (long long)d.i,
			      (long long)v.i);
		if (f->kind == SECCONFIG_STRING)
			ck_assert_str_eq(d.s, v.s);
		else
			ck_assert_ptr_null(d.s);
		cJSON_Delete(w);
		with++;
	}
	ck_assert_uint_gt(with, 20);
	ck_assert_uint_ge(without, 1);
	struct secconfig_value d;
	ck_assert_int_eq(secconfig_field_default(secconfig_field_find("highPriorityMessageFrequency"), &d),
			 SH_OK);
	ck_assert_int_eq(d.i, 420000);
	ck_assert_int_eq(secconfig_field_default(secconfig_field_find("maxLocalCacheSizeInBytes"), &d),
			 SH_OK);
	ck_assert_int_eq(d.i, 2560000);
	ck_assert_int_eq(secconfig_field_default(secconfig_field_find("eventPriorityListeningPorts"), &d),
			 SH_OK);
	ck_assert_int_eq(d.i, SECCONFIG_PRIO_HIGH);
	ck_assert_int_eq(secconfig_field_default(secconfig_field_find("eventPriorityOperational"), &d),
			 SH_E_NOTFOUND);
	ck_assert_int_eq(secconfig_field_default(NULL, &d), SH_E_NOTFOUND);
}
END_TEST

START_TEST(secconfig_duration_format_known_and_round_trip)
{
	static const struct {
		int64_t ms;
		const char *text;
	} known[] = {
		{ 420000, "PT7M" },	      { 18000000, "PT5H" }, { 46800000, "PT13H" },
		{ 90061000, "P1DT1H1M1S" }, { 86400000, "P1D" }, { 0, "PT0S" },
		{ 1500, "PT1.5S" },	      { 1, "PT0.001S" },    { 60010, "PT1M0.01S" },
		{ 4294967295LL, "P49DT17H2M47.295S" },	      { -5, "PT0S" },
	};
	char b[SECCONFIG_DURATION_TEXT];
	for (size_t i = 0; i < NELEM(known); i++)
		ck_assert_str_eq(secconfig_duration_format(known[i].ms, b), known[i].text);
	static const int64_t vals[] = { 1, 999, 1000, 59999, 3600000, 86399999, 86400001, 4294967296LL,
					INT64_MAX / 2, INT64_MAX };
	for (size_t i = 0; i < NELEM(vals); i++) {
		int64_t back = -1;
		ck_assert_int_eq(secconfig_duration_parse(secconfig_duration_format(vals[i], b), &back), SH_OK);
		ck_assert_msg(back == vals[i], "%lld -> %s -> %lld", (long long)vals[i], b, (long long)back);
		ck_assert_uint_lt(strlen(b), sizeof(b));
	}
}
END_TEST

static Suite *secconfig_suite(void)
{
	Suite *s = suite_create("secconfig");
	struct {
		const char *name;
		const TTest *tests[8];
	} cases[] = {
		{ "secconfig_field_at", { secconfig_field_at_table_matches_docs } },
		{ "secconfig_field_find", { secconfig_field_find_unknown_null } },
		{ "secconfig_duration_parse", { secconfig_duration_parse_valid, secconfig_duration_parse_invalid } },
		{ "secconfig_check_entry", { secconfig_check_entry_types_and_bounds } },
		{ "secconfig_default_desired", { secconfig_default_desired_shape_of_twin_default,
						 secconfig_default_desired_equals_published_file } },
		{ "secconfig_drift", { secconfig_drift_c_agent_lowercase_priorities_applied,
				       secconfig_drift_duration_spelling_and_pending,
				       secconfig_drift_type_mismatch_rejected,
				       secconfig_drift_not_optimal_shown_not_rejected,
				       secconfig_drift_unknown_fields_and_bad_shapes,
				       secconfig_drift_c_agent_on_default_twin_applied_not_reported,
				       secconfig_drift_common_field_missing_stays_pending,
				       secconfig_drift_nothing_reported_everything_pending } },
		{ "secconfig_drift_free", { secconfig_drift_free_null_and_twice } },
		{ "secconfig_state_str", { secconfig_state_str_each } },
		{ "secconfig_drift_json", { secconfig_drift_json_shape } },
		{ "secconfig_high_priority_ms", { secconfig_high_priority_ms_reported_desired_default } },
		{ "secconfig_priority_parse", { secconfig_priority_parse_any_case_ok_else_invalid } },
		{ "secconfig_entry_value", { secconfig_entry_value_types_without_bounds } },
		{ "secconfig_field_default", { secconfig_field_default_agrees_with_table_json } },
		{ "secconfig_duration_format", { secconfig_duration_format_known_and_round_trip } },
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		TCase *tc = tcase_create(cases[i].name);
		for (size_t k = 0; k < 8 && cases[i].tests[k]; k++)
			tcase_add_test(tc, cases[i].tests[k]);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(secconfig_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
