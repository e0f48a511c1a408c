/*
 * check_secmsg_schemas.c: cross-checks core/secmsg's tables against the official JSON schemas
 * (Azure/Azure-IoT-Security, security_message/): every event name, EventType, Category,
 * payload property, property type, enum and required list, and the envelope's keys and enums.
 * The schemas live outside the repository ($SIMHUB_SOURCE_DIR/../shared/asc-schemas, or
 * /work/shared/asc-schemas when that variable is unset); without them each test prints SKIP.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secmsg.h"

static char dir[1024];

static void find_dir(void)
{
	const char *src = getenv("SIMHUB_SOURCE_DIR");
	if (src)
		snprintf(dir, sizeof(dir), "%s/../shared/asc-schemas/security_message", src);
	else
		snprintf(dir, sizeof(dir), "/work/shared/asc-schemas/security_message");
}

/* The schema file `name` parsed, or NULL when the folder is absent (the test then skips). */
static cJSON *load(const char *name)
{
	char path[1200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	cJSON *j = cJSON_Parse(buf);
	free(buf);
	ck_assert_msg(j != NULL, "%s is not JSON", path);
	return j;
}

static bool skip_if_absent(cJSON *j, const char *test)
{
	if (j)
		return false;
	printf("SKIP %s: %s absent\n", test, dir);
	return true;
}

/* A NULL-terminated list equals the JSON array of strings `arr`, in any order. */
static void same_set(const char *const *ours, size_t n_ours, const cJSON *arr, const char *what)
{
	ck_assert_msg(cJSON_IsArray(arr), "%s: no array in the schema", what);
	ck_assert_msg((size_t)cJSON_GetArraySize(arr) == n_ours, "%s: %d in the schema, %zu here", what,
		      cJSON_GetArraySize(arr), n_ours);
	const cJSON *e;
	cJSON_ArrayForEach(e, arr) {
		bool found = false;
		for (size_t i = 0; i < n_ours && !found; i++)
			found = cJSON_IsString(e) && strcmp(e->valuestring, ours[i]) == 0;
		ck_assert_msg(found, "%s: schema has %s, simhub does not", what,
			      cJSON_IsString(e) ? e->valuestring : "(non-string)");
	}
}

static void same_table(enum secmsg_table t, const cJSON *arr, const char *what)
{
	const char *v[16];
	size_t n = 0;
	while (n < 16 && (v[n] = secmsg_table_at(t, n)))
		n++;
	same_set(v, n, arr, what);
}

/* The type a schema property resolves to, with its enum (or NULL). */
static enum secmsg_ftype schema_type(const cJSON *prop, const cJSON *defs, const cJSON **enums)
{
	const cJSON *ref = cJSON_GetObjectItem(prop, "$ref");
	*enums = cJSON_GetObjectItem(prop, "enum");
	if (cJSON_IsString(ref)) {
		const char *r = ref->valuestring;
		if (strcmp(r, "message_v1_0.json#/definitions/guid") == 0)
			return SECMSG_F_GUID;
		const char *hash = strstr(r, "#/");
		ck_assert_msg(hash && strncmp(r, "messageEventTypeDefinitions_v1_0.json", 37) == 0, "ref %s", r);
		const char *name = hash + 2;
		if (strcmp(name, "ip") == 0)
			return SECMSG_F_IP;
		if (strcmp(name, "port") == 0)
			return SECMSG_F_PORT;
		if (strcmp(name, "extradetails") == 0)
			return SECMSG_F_EXTRA;
		return schema_type(cJSON_GetObjectItem(defs, name), defs, enums);
	}
	if (cJSON_IsArray(*enums))
		return SECMSG_F_ENUM;
	const char *type = cJSON_GetObjectItem(prop, "type")->valuestring;
	if (strcmp(type, "integer") == 0)
		return SECMSG_F_INT;
	if (strcmp(type, "boolean") == 0)
		return SECMSG_F_BOOL;
	ck_assert_str_eq(type, "string");
	return SECMSG_F_STRING;
}

static const char *const event_files[] = {
	"messageEventSecurityConnectionCreate_v1_0.json", "messageEventSecurityLogin_v1_0.json",
	"messageEventSecurityProcessCreate_v1_0.json", "messageEventSecurityProcessTerminate_v1_0.json",
	"messageEventSecurityListeningPorts_v1_0.json", "messageEventSecurityFirewallConfiguration_v1_0.json",
	"messageEventSecurityLocalUsers_v1_0.json", "messageEventSecurityConnectedHardware_v1_0.json",
	"messageEventSecurityOSBaseline_v1_0.json", "messageEventSecuritySystemInformation_v1_0.json",
	"messageEventDiagnostic_v1_0.json", "messageOperationalEventConfigurationError_v1_0.json",
	"messageOperationalEventDroppedEvents_v1_0.json", "messageOperationalEventMessageStatistics_v1_0.json",
};

START_TEST(secmsg_schema_find_matches_each_published_event_schema)
{
	cJSON *j = load(event_files[_i]), *defs = load("messageEventTypeDefinitions_v1_0.json");
	if (skip_if_absent(j, "secmsg_schema_find_matches_each_published_event_schema"))
		return;
	const cJSON *props = cJSON_GetObjectItem(j, "properties");
	const char *name = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(props, "Name"), "enum"), 0)->valuestring;
	const struct secmsg_schema *s = secmsg_schema_find(name);
	ck_assert_msg(s != NULL, "simhub has no schema for %s", name);
	ck_assert_str_eq(s->event_type, cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(props, "EventType"), "enum"), 0)->valuestring);
	ck_assert_str_eq(s->category, cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(props, "Category"), "enum"), 0)->valuestring);
	ck_assert_str_eq("1.0", cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(props, "PayloadSchemaVersion"), "enum"), 0)->valuestring);

	const cJSON *items = cJSON_GetObjectItem(cJSON_GetObjectItem(props, "Payload"), "items");
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(items, "additionalProperties")));
	const cJSON *iprops = cJSON_GetObjectItem(items, "properties");
	ck_assert_int_eq(cJSON_GetArraySize(iprops), (int)s->n_fields);
	const char *required[16];
	size_t n_req = 0;
	for (size_t k = 0; k < s->n_fields; k++) {
		const struct secmsg_field *f = &s->fields[k];
		const cJSON *p = cJSON_GetObjectItem(iprops, f->name), *enums;
		ck_assert_msg(p != NULL, "%s.%s: not in the schema", name, f->name);
		enum secmsg_ftype t = schema_type(p, defs, &enums);
		ck_assert_msg(t == f->type, "%s.%s: type %d in the schema, %d here", name, f->name, t, f->type);
		if (t == SECMSG_F_ENUM) {
			size_t n = 0;
			while (f->enums[n])
				n++;
			same_set(f->enums, n, enums, f->name);
		}
		if (f->required)
			required[n_req++] = f->name;
	}
	const cJSON *req = cJSON_GetObjectItem(items, "required");
	if (req)
		same_set(required, n_req, req, "required");
	else
		ck_assert_uint_eq(n_req, 0);
	ck_assert_int_eq(s->user_any_of, cJSON_GetObjectItem(items, "anyOf") != NULL);
	cJSON_Delete(j);
	cJSON_Delete(defs);
}
END_TEST

START_TEST(secmsg_table_at_matches_published_envelope)
{
	cJSON *j = load("message_v1_0.json"), *defs = load("messageEventTypeDefinitions_v1_0.json");
	if (skip_if_absent(j, "secmsg_table_at_matches_published_envelope"))
		return;
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "additionalProperties")));
	same_table(SECMSG_T_ROOT_KEYS, cJSON_GetObjectItem(j, "required"), "root required");
	const cJSON *props = cJSON_GetObjectItem(j, "properties");
	same_table(SECMSG_T_SCHEMA_VERSION, cJSON_GetObjectItem(cJSON_GetObjectItem(props, "MessageSchemaVersion"), "enum"),
		   "MessageSchemaVersion");
	const cJSON *events = cJSON_GetObjectItem(props, "Events");
	ck_assert_int_eq(cJSON_GetObjectItem(events, "minItems")->valueint, 1);
	const cJSON *all = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(events, "items"), "oneOf"), 0),
					       "allOf");
	const cJSON *generic = cJSON_GetArrayItem(all, 0);
	same_table(SECMSG_T_EVENT_KEYS, cJSON_GetObjectItem(generic, "required"), "event required");
	const cJSON *gp = cJSON_GetObjectItem(generic, "properties");
	same_table(SECMSG_T_CATEGORY, cJSON_GetObjectItem(cJSON_GetObjectItem(gp, "Category"), "enum"), "Category");
	same_table(SECMSG_T_EVENT_TYPE, cJSON_GetObjectItem(cJSON_GetObjectItem(gp, "EventType"), "enum"), "EventType");
	/* the event oneOf lists exactly our 14 schemas */
	const cJSON *refs = cJSON_GetObjectItem(cJSON_GetArrayItem(all, 2), "oneOf");
	size_t n = 0;
	while (secmsg_schema_at(n))
		n++;
	ck_assert_int_eq(cJSON_GetArraySize(refs), (int)n);
	same_table(SECMSG_T_DIRECTION, cJSON_GetObjectItem(cJSON_GetObjectItem(defs, "direction"), "enum"), "direction");
	/* AgentId and Id: the 36-character guid definition */
	const cJSON *guid = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "definitions"), "guid");
	ck_assert_int_eq(cJSON_GetObjectItem(guid, "minLength")->valueint, 36);
	ck_assert_int_eq(cJSON_GetObjectItem(guid, "maxLength")->valueint, 36);
	cJSON_Delete(j);
	cJSON_Delete(defs);
}
END_TEST

static Suite *schemas_suite(void)
{
	Suite *s = suite_create("secmsg_schemas");
	TCase *tc = tcase_create("secmsg_schema_find");
	tcase_add_loop_test(tc, secmsg_schema_find_matches_each_published_event_schema, 0,
			    (int)(sizeof(event_files) / sizeof(event_files[0])));
	suite_add_tcase(s, tc);
	tc = tcase_create("secmsg_table_at");
	tcase_add_test(tc, secmsg_table_at_matches_published_envelope);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	find_dir();
	SRunner *sr = srunner_create(schemas_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
