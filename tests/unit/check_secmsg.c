/*
 * check_secmsg.c: unit tests of core/secmsg: the 14 examples of security-agent.md §4 and the C
 * agent aggregate of §4.15 (tests/data/secmsg/), every event type made invalid, every deviation
 * of §3.4 in both modes with its JSON path, the envelope rules, timestamps, hostile bodies, the
 * normalised rows and their JSON view, security-message detection in every encoding of §3.1,
 * and the validator's tables.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/msg_props.h"
#include "core/secmsg.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* tests/data/secmsg next to this file (CMake compiles it with its absolute path). */
static void data_path(char *out, size_t cap, const char *name)
{
	const char *file = __FILE__;
	const char *slash = strrchr(file, '/');
	int dir = slash ? (int)(slash - file) : 1;
	snprintf(out, cap, "%.*s/../data/secmsg/%s", dir, slash ? file : ".", name);
}

static char *read_data(const char *name, size_t *len)
{
	char path[1024];
	data_path(path, sizeof(path), name);
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void validate_text(const char *text, enum secmsg_mode mode, struct secmsg_result *r)
{
	ck_assert_int_eq(secmsg_validate(text, strlen(text), mode, r), SH_OK);
}

static void validate_file(const char *name, enum secmsg_mode mode, struct secmsg_result *r)
{
	size_t len;
	char *buf = read_data(name, &len);
	ck_assert_int_eq(secmsg_validate(buf, len, mode, r), SH_OK);
	free(buf);
}

/* The reason at exactly `path` (message or event level), or NULL. */
static const struct secmsg_reason *find_reason(const struct secmsg_result *r, const char *path)
{
	for (size_t i = 0; i < r->n_reasons; i++)
		if (strcmp(r->reasons[i].path, path) == 0)
			return &r->reasons[i];
	for (size_t e = 0; e < r->n_events; e++)
		for (size_t i = 0; i < r->events[e].n_reasons; i++)
			if (strcmp(r->events[e].reasons[i].path, path) == 0)
				return &r->events[e].reasons[i];
	return NULL;
}

static void dump(const struct secmsg_result *r)
{
	cJSON *j = secmsg_result_json(r);
	char *t = cJSON_Print(j);
	fprintf(stderr, "%s\n", t);
	cJSON_free(t);
	cJSON_Delete(j);
}

/* A message around one event object given as JSON text. */
static char *wrap_event(const char *event)
{
	static const char fmt[] = "{\"AgentVersion\":\"0.0.5\",\"AgentId\":\"5a7f5c2e-3f0c-4b8e-9a55-"
				  "2f4d6c1e9b10\",\"MessageSchemaVersion\":\"1.0\",\"Events\":[%s]}";
	size_t n = strlen(fmt) + strlen(event) + 1;
	char *out = malloc(n);
	ck_assert_ptr_nonnull(out);
	snprintf(out, n, fmt, event);
	return out;
}

/* An example file with its single event's first payload item edited by `edit`. */
static char *edit_example(const char *file, void (*edit)(cJSON *item, const struct secmsg_schema *s))
{
	size_t len;
	char *buf = read_data(file, &len);
	cJSON *root = cJSON_Parse(buf);
	free(buf);
	ck_assert_ptr_nonnull(root);
	cJSON *ev = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "Events"), 0);
	const struct secmsg_schema *s = secmsg_schema_find(cJSON_GetObjectItem(ev, "Name")->valuestring);
	ck_assert_ptr_nonnull(s);
	edit(cJSON_GetArrayItem(cJSON_GetObjectItem(ev, "Payload"), 0), s);
	char *txt = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return txt;
}

static const char *const examples[] = {
	"example-processcreate.json", "example-processterminate.json",
	"example-connectioncreate.json", "example-login.json", "example-listeningports.json",
	"example-localusers.json", "example-systeminformation.json",
	"example-firewallconfiguration.json", "example-osbaseline.json",
	"example-connectedhardware.json", "example-diagnostic.json",
	"example-configurationerror.json", "example-droppedeventsstatistics.json",
	"example-messagestatistics.json",
};

/* ---- secmsg_validate: the examples ---- */

START_TEST(secmsg_validate_example_each_type_valid_in_both_modes)
{
	for (int m = 0; m < 2; m++) {
		struct secmsg_result r;
		validate_file(examples[_i], (enum secmsg_mode)m, &r);
		if (r.verdict != SECMSG_VALID)
			dump(&r);
		ck_assert_int_eq(r.verdict, SECMSG_VALID);
		ck_assert_uint_eq(r.n_reasons, 0);
		ck_assert_uint_eq(r.n_events, 1);
		ck_assert_str_eq(r.agent_id, "5a7f5c2e-3f0c-4b8e-9a55-2f4d6c1e9b10");
		ck_assert_str_eq(r.schema_version, "1.0");
		const struct secmsg_event *e = &r.events[0];
		ck_assert_int_eq(e->verdict, SECMSG_VALID);
		ck_assert_ptr_nonnull(secmsg_schema_find(e->name));
		ck_assert_str_eq(e->event_type, secmsg_schema_find(e->name)->event_type);
		ck_assert(e->has_time && e->time_utc_us > 1579000000000000LL);
		ck_assert(e->payload_count >= 1 && e->payload_json[0] == '[');
		ck_assert_uint_eq(strlen(e->id), 36);
		secmsg_result_free(&r);
	}
}
END_TEST

START_TEST(secmsg_validate_example_login_row_normalised)
{
	struct secmsg_result r;
	validate_file("example-login.json", SECMSG_STRICT, &r);
	const struct secmsg_event *e = &r.events[0];
	ck_assert_str_eq(r.agent_version, "0.0.5");
	ck_assert_uint_eq(e->index, 0);
	ck_assert_str_eq(e->id, "3d4e5f60-7182-493a-8cbd-2e3f4a5b6c04");
	ck_assert_str_eq(e->name, "Login");
	ck_assert_str_eq(e->event_type, "Security");
	ck_assert_str_eq(e->category, "Triggered");
	ck_assert(!e->is_empty);
	ck_assert_str_eq(e->timestamp_local, "2020-01-15T12:23:45+02:00");
	ck_assert_str_eq(e->timestamp_utc, "2020-01-15T10:23:45Z");
	ck_assert_int_eq(e->time_utc_us, 1579083825000000LL);
	ck_assert_str_eq(e->payload_json,
			 "[{\"ProcessId\":5120,\"UserId\":\"0\",\"UserName\":\"root\",\"Operation\":"
			 "\"PAM:authentication\",\"Executable\":\"/usr/sbin/sshd\",\"RemoteAddress\":"
			 "\"198.51.100.23\",\"RemotePort\":\"40522\",\"LocalPort\":\"22\",\"Result\":\"Fail\"}]");
	secmsg_result_free(&r);
}
END_TEST

START_TEST(secmsg_validate_multi_event_message_all_rows)
{
	struct secmsg_result r;
	validate_file("multi-10-events.json", SECMSG_STRICT, &r);
	if (r.verdict != SECMSG_VALID)
		dump(&r);
	ck_assert_int_eq(r.verdict, SECMSG_VALID);
	ck_assert_uint_eq(r.n_events, 10);
	for (size_t i = 0; i < 10; i++)
		ck_assert_uint_eq(r.events[i].index, i);
	ck_assert(r.events[9].is_empty);
	ck_assert_uint_eq(r.events[9].payload_count, 0);
	ck_assert_str_eq(r.events[9].payload_json, "[]");
	secmsg_result_free(&r);
}
END_TEST

/* ---- secmsg_validate: every event type made invalid ---- */

static void drop_first_required(cJSON *item, const struct secmsg_schema *s)
{
	for (size_t k = 0; k < s->n_fields; k++) {
		if (s->fields[k].required) {
			cJSON_DeleteItemFromObject(item, s->fields[k].name);
			return;
		}
	}
	/* SystemInformation requires nothing: break a type instead */
	cJSON_ReplaceItemInObject(item, "OSName", cJSON_CreateNumber(7));
}

static void break_first_type(cJSON *item, const struct secmsg_schema *s)
{
	(void)s;
	cJSON_ReplaceItemInObjectCaseSensitive(item, item->child->string, cJSON_CreateArray());
}

static void add_unknown_key(cJSON *item, const struct secmsg_schema *s)
{
	(void)s;
	cJSON_AddStringToObject(item, "Unexpected", "x");
}

START_TEST(secmsg_validate_each_type_missing_required_invalid_both_modes)
{
	char *txt = edit_example(examples[_i], drop_first_required);
	for (int m = 0; m < 2; m++) {
		struct secmsg_result r;
		validate_text(txt, (enum secmsg_mode)m, &r);
		ck_assert_int_eq(r.verdict, SECMSG_INVALID);
		ck_assert_int_eq(r.events[0].verdict, SECMSG_INVALID);
		const struct secmsg_reason *why = r.events[0].reasons;
		ck_assert_uint_ge(r.events[0].n_reasons, 1);
		ck_assert(strncmp(why->path, "$.Events[0].Payload[0]", 22) == 0);
		ck_assert(!why->tolerated);
		secmsg_result_free(&r);
	}
	free(txt);
}
END_TEST

START_TEST(secmsg_validate_each_type_wrong_type_invalid_both_modes)
{
	char *txt = edit_example(examples[_i], break_first_type);
	for (int m = 0; m < 2; m++) {
		struct secmsg_result r;
		validate_text(txt, (enum secmsg_mode)m, &r);
		ck_assert_int_eq(r.verdict, SECMSG_INVALID);
		ck_assert(strstr(r.events[0].reasons[0].text, "got array") != NULL);
		secmsg_result_free(&r);
	}
	free(txt);
}
END_TEST

START_TEST(secmsg_validate_each_type_extra_key_invalid_with_path)
{
	char *txt = edit_example(examples[_i], add_unknown_key);
	for (int m = 0; m < 2; m++) {
		struct secmsg_result r;
		validate_text(txt, (enum secmsg_mode)m, &r);
		ck_assert_int_eq(r.verdict, SECMSG_INVALID);
		const struct secmsg_reason *why = find_reason(&r, "$.Events[0].Payload[0].Unexpected");
		ck_assert_ptr_nonnull(why);
		ck_assert_str_eq(why->text, "key not allowed by the schema");
		secmsg_result_free(&r);
	}
	free(txt);
}
END_TEST

/* ---- secmsg_validate: the deviations of §3.4 ---- */

struct deviation_case {
	const char *file;
	const char *path; /* where the tolerated reason sits */
	const char *normalised; /* a substring of payload_json in service mode, or NULL */
};

static const struct deviation_case deviations[] = {
	{ "c-aggregate-processcreate.json", "$.Events[0].Category", NULL },
	{ "c-aggregate-processcreate.json", "$.Events[0].Payload[0].ExtraDetails.HitCount", "\"HitCount\":\"14\"" },
	{ "c-aggregate-connectioncreate.json", "$.Events[0].Payload[0].RemotePort", "\"RemotePort\":\"0\"" },
	{ "c-aggregate-connectioncreate.json", "$.Events[0].Category", "\"HitCount\":\"3\"" },
	{ "c-empty-configurationerror.json", "$.Events[0]", "[]" },
	{ "c-osbaseline-upper-result.json", "$.Events[0].Payload[0].Result", "\"Result\":\"Fail\"" },
	{ "csharp-dropped-events-operational.json", "$.Events[0].Payload[2].Queue", "\"Queue\":\"Operational\"" },
	{ "csharp-dropped-events-operational.json", "$.Events[0].TimestampUTC", NULL },
	{ "csharp-dropped-events-operational.json", "$.Events[0].TimestampLocal", NULL },
	{ "csharp-connectedhardware.json", "$.Events[0].Payload[0].ConnectedHardware", NULL },
	{ "csharp-processcreate-hash.json", "$.Events[0].Payload[0].Hash", "\"Hash\":" },
	{ "docs-space-timestamp.json", "$.Events[0].TimestampUTC", NULL },
	{ "docs-space-timestamp.json", "$.Events[0].TimestampLocal", NULL },
};

START_TEST(secmsg_validate_deviation_service_tolerates_strict_rejects_at_path)
{
	const struct deviation_case *d = &deviations[_i];
	struct secmsg_result r;
	validate_file(d->file, SECMSG_SERVICE, &r);
	if (r.verdict != SECMSG_TOLERATED)
		dump(&r);
	ck_assert_int_eq(r.verdict, SECMSG_TOLERATED);
	ck_assert_int_eq(r.events[0].verdict, SECMSG_TOLERATED);
	const struct secmsg_reason *why = find_reason(&r, d->path);
	ck_assert_msg(why != NULL, "no reason at %s", d->path);
	ck_assert(why->tolerated);
	if (d->normalised)
		ck_assert_msg(strstr(r.events[0].payload_json, d->normalised) != NULL, "%s",
			      r.events[0].payload_json);
	secmsg_result_free(&r);

	validate_file(d->file, SECMSG_STRICT, &r);
	ck_assert_int_eq(r.verdict, SECMSG_INVALID);
	ck_assert_int_eq(r.events[0].verdict, SECMSG_INVALID);
	why = find_reason(&r, d->path);
	ck_assert_msg(why != NULL, "strict: no reason at %s", d->path);
	ck_assert(!why->tolerated);
	secmsg_result_free(&r);
}
END_TEST

START_TEST(secmsg_validate_zoneless_time_read_as_utc)
{
	struct secmsg_result r;
	validate_file("csharp-processcreate-hash.json", SECMSG_SERVICE, &r);
	ck_assert(r.events[0].has_time);
	ck_assert_int_eq(r.events[0].time_utc_us, 1579083630000000LL); /* 2020-01-15T10:20:30Z */
	secmsg_result_free(&r);
}
END_TEST

START_TEST(secmsg_validate_aggregated_on_periodic_event_invalid_both_modes)
{
	char *m = wrap_event("{\"EventType\":\"Security\",\"Category\":\"Aggregated\",\"Name\":\"LocalUsers\","
			     "\"IsEmpty\":false,\"PayloadSchemaVersion\":\"1.0\",\"Id\":\"5f607182-93a4-4b5c-"
			     "8edf-4a5b6c7d8e06\",\"TimestampLocal\":\"2020-01-15T12:00:00Z\",\"TimestampUTC\":"
			     "\"2020-01-15T10:00:00Z\",\"Payload\":[{\"UserName\":\"root\",\"UserId\":\"0\","
			     "\"GroupNames\":\"root\",\"GroupIds\":\"0\"}]}");
	struct secmsg_result r;
	validate_text(m, SECMSG_SERVICE, &r);
	ck_assert_int_eq(r.verdict, SECMSG_INVALID);
	ck_assert(!find_reason(&r, "$.Events[0].Category")->tolerated);
	secmsg_result_free(&r);
	free(m);
}
END_TEST

START_TEST(secmsg_validate_extra_details_object_value_invalid_both_modes)
{
	char *m = wrap_event("{\"EventType\":\"Security\",\"Category\":\"Periodic\",\"Name\":\"LocalUsers\","
			     "\"IsEmpty\":false,\"PayloadSchemaVersion\":\"1.0\",\"Id\":\"5f607182-93a4-4b5c-"
			     "8edf-4a5b6c7d8e06\",\"TimestampLocal\":\"2020-01-15T12:00:00Z\",\"TimestampUTC\":"
			     "\"2020-01-15T10:00:00Z\",\"Payload\":[{\"UserName\":\"root\",\"UserId\":\"0\","
			     "\"GroupNames\":\"root\",\"GroupIds\":\"0\",\"ExtraDetails\":{\"a\":{}}}]}");
	struct secmsg_result r;
	validate_text(m, SECMSG_SERVICE, &r);
	ck_assert_int_eq(r.verdict, SECMSG_INVALID);
	ck_assert_ptr_nonnull(find_reason(&r, "$.Events[0].Payload[0].ExtraDetails.a"));
	secmsg_result_free(&r);
	free(m);
}
END_TEST

/* ---- secmsg_validate: event-level rules, table-driven ---- */

#define EV_HEAD "\"Id\":\"0c5d0e6e-8f7b-4f9a-9b55-7d3a2b1c4e01\",\"PayloadSchemaVersion\":\"1.0\","
#define LOGIN_ITEM "{\"ProcessId\":1,\"UserName\":\"root\",\"Operation\":\"PAM\",\"Executable\":\"/sshd\",\"Result\":\"Fail\"}"
#define EV_TIMES "\"TimestampLocal\":\"2020-01-15T12:00:00+02:00\",\"TimestampUTC\":\"2020-01-15T10:00:00Z\","

struct event_case {
	const char *event;
	const char *path;
};

static const struct event_case bad_events[] = {
	/* not an object */
	{ "[]", "$.Events[0]" },
	/* a key the schema does not allow */
	{ "{" EV_HEAD EV_TIMES "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\","
	  "\"IsEmpty\":false,\"Payload\":[" LOGIN_ITEM "],\"Priority\":\"High\"}", "$.Events[0].Priority" },
	/* unknown name */
	{ "{" EV_HEAD EV_TIMES "\"Name\":\"UserLoginAttempts\",\"EventType\":\"Security\",\"Category\":\"Triggered\","
	  "\"IsEmpty\":false,\"Payload\":[{}]}", "$.Events[0].Name" },
	/* EventType does not match the name */
	{ "{" EV_HEAD EV_TIMES "\"Name\":\"Login\",\"EventType\":\"Operational\",\"Category\":\"Triggered\","
	  "\"IsEmpty\":false,\"Payload\":[" LOGIN_ITEM "]}", "$.Events[0].EventType" },
	/* Category does not match the name */
	{ "{" EV_HEAD EV_TIMES "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Periodic\","
	  "\"IsEmpty\":false,\"Payload\":[" LOGIN_ITEM "]}", "$.Events[0].Category" },
	/* Category outside the enum */
	{ "{" EV_HEAD EV_TIMES "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"triggered\","
	  "\"IsEmpty\":false,\"Payload\":[" LOGIN_ITEM "]}", "$.Events[0].Category" },
	/* IsEmpty false with nothing in Payload */
	{ "{" EV_HEAD EV_TIMES "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\","
	  "\"IsEmpty\":false,\"Payload\":[]}", "$.Events[0].Payload" },
	/* a Triggered event other than ConfigurationError sent empty */
	{ "{" EV_HEAD EV_TIMES "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\","
	  "\"IsEmpty\":true,\"Payload\":[]}", "$.Events[0]" },
	/* IsEmpty not a boolean */
	{ "{" EV_HEAD EV_TIMES "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\","
	  "\"IsEmpty\":\"false\",\"Payload\":[" LOGIN_ITEM "]}", "$.Events[0].IsEmpty" },
	/* Payload not an array */
	{ "{" EV_HEAD EV_TIMES "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\","
	  "\"IsEmpty\":false,\"Payload\":" LOGIN_ITEM "}", "$.Events[0].Payload" },
	/* PayloadSchemaVersion other than 1.0 */
	{ "{\"Id\":\"0c5d0e6e-8f7b-4f9a-9b55-7d3a2b1c4e01\",\"PayloadSchemaVersion\":\"2.0\"," EV_TIMES
	  "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\","
	  "\"IsEmpty\":false,\"Payload\":[" LOGIN_ITEM "]}", "$.Events[0].PayloadSchemaVersion" },
	/* Id not 36 characters */
	{ "{\"Id\":\"0c5d0e6e\",\"PayloadSchemaVersion\":\"1.0\"," EV_TIMES
	  "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\","
	  "\"IsEmpty\":false,\"Payload\":[" LOGIN_ITEM "]}", "$.Events[0].Id" },
	/* a required event key missing (TimestampLocal) */
	{ "{" EV_HEAD "\"TimestampUTC\":\"2020-01-15T10:00:00Z\",\"Name\":\"Login\",\"EventType\":\"Security\","
	  "\"Category\":\"Triggered\",\"IsEmpty\":false,\"Payload\":[" LOGIN_ITEM "]}", "$.Events[0].TimestampLocal" },
	/* a duplicated key */
	{ "{" EV_HEAD EV_TIMES "\"Name\":\"Login\",\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\","
	  "\"IsEmpty\":false,\"Payload\":[" LOGIN_ITEM "]}", "$.Events[0].Name" },
	/* impossible date */
	{ "{" EV_HEAD "\"TimestampLocal\":\"2020-02-30T12:00:00Z\",\"TimestampUTC\":\"2020-01-15T10:00:00Z\","
	  "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\",\"IsEmpty\":false,"
	  "\"Payload\":[" LOGIN_ITEM "]}", "$.Events[0].TimestampLocal" },
	/* not a date at all */
	{ "{" EV_HEAD "\"TimestampLocal\":\"01/15/2020 10:20:30\",\"TimestampUTC\":\"2020-01-15T10:00:00Z\","
	  "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\",\"IsEmpty\":false,"
	  "\"Payload\":[" LOGIN_ITEM "]}", "$.Events[0].TimestampLocal" },
	/* timestamp of the wrong type */
	{ "{" EV_HEAD "\"TimestampLocal\":1579083630,\"TimestampUTC\":\"2020-01-15T10:00:00Z\","
	  "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\",\"IsEmpty\":false,"
	  "\"Payload\":[" LOGIN_ITEM "]}", "$.Events[0].TimestampLocal" },
	/* Login with neither UserId nor UserName */
	{ "{" EV_HEAD EV_TIMES "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\","
	  "\"IsEmpty\":false,\"Payload\":[{\"ProcessId\":1,\"Operation\":\"PAM\",\"Executable\":\"/sshd\","
	  "\"Result\":\"Fail\"}]}", "$.Events[0].Payload[0]" },
	/* Login Result outside the enum (not a case variant) */
	{ "{" EV_HEAD EV_TIMES "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\","
	  "\"IsEmpty\":false,\"Payload\":[{\"ProcessId\":1,\"UserId\":\"0\",\"Operation\":\"PAM\",\"Executable\":"
	  "\"/sshd\",\"Result\":\"Denied\"}]}", "$.Events[0].Payload[0].Result" },
	/* an address that is not an ip */
	{ "{" EV_HEAD EV_TIMES "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\","
	  "\"IsEmpty\":false,\"Payload\":[{\"ProcessId\":1,\"UserId\":\"0\",\"Operation\":\"PAM\",\"Executable\":"
	  "\"/sshd\",\"Result\":\"Fail\",\"RemoteAddress\":\"198.51.100.256\"}]}", "$.Events[0].Payload[0].RemoteAddress" },
	/* a process id with a fraction */
	{ "{" EV_HEAD EV_TIMES "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\","
	  "\"IsEmpty\":false,\"Payload\":[{\"ProcessId\":1.5,\"UserId\":\"0\",\"Operation\":\"PAM\",\"Executable\":"
	  "\"/sshd\",\"Result\":\"Fail\"}]}", "$.Events[0].Payload[0].ProcessId" },
	/* a port of the wrong type (boolean is not tolerated) */
	{ "{" EV_HEAD EV_TIMES "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\","
	  "\"IsEmpty\":false,\"Payload\":[{\"ProcessId\":1,\"UserId\":\"0\",\"Operation\":\"PAM\",\"Executable\":"
	  "\"/sshd\",\"Result\":\"Fail\",\"LocalPort\":true}]}", "$.Events[0].Payload[0].LocalPort" },
	/* a payload item that is not an object */
	{ "{" EV_HEAD EV_TIMES "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\","
	  "\"IsEmpty\":false,\"Payload\":[\"root\"]}", "$.Events[0].Payload[0]" },
	/* the C# ConnectedHardware key on another event */
	{ "{" EV_HEAD EV_TIMES "\"Name\":\"LocalUsers\",\"EventType\":\"Security\",\"Category\":\"Periodic\","
	  "\"IsEmpty\":false,\"Payload\":[{\"UserName\":\"a\",\"UserId\":\"1\",\"GroupNames\":\"a\",\"GroupIds\":"
	  "\"1\",\"ConnectedHardware\":\"x\"}]}", "$.Events[0].Payload[0].ConnectedHardware" },
};

START_TEST(secmsg_validate_bad_event_invalid_both_modes_with_path)
{
	char *m = wrap_event(bad_events[_i].event);
	for (int mode = 0; mode < 2; mode++) {
		struct secmsg_result r;
		validate_text(m, (enum secmsg_mode)mode, &r);
		const struct secmsg_reason *why = find_reason(&r, bad_events[_i].path);
		if (!why || r.verdict != SECMSG_INVALID)
			dump(&r);
		ck_assert_int_eq(r.verdict, SECMSG_INVALID);
		ck_assert_uint_eq(r.n_events, 1);
		ck_assert_int_eq(r.events[0].verdict, SECMSG_INVALID);
		ck_assert_msg(why != NULL, "case %d: no reason at %s", _i, bad_events[_i].path);
		ck_assert(!why->tolerated);
		secmsg_result_free(&r);
	}
	free(m);
}
END_TEST

START_TEST(secmsg_validate_rfc3339_variants_valid_in_strict)
{
	static const char *const times[] = {
		"2020-01-15T10:20:30Z", "2020-01-15t10:20:30z", "2020-01-15T10:20:30.123456789Z",
		"2020-01-15T12:20:30+02:00", "2020-01-15T05:20:30.5-05:00",
	};
	for (size_t i = 0; i < NELEM(times); i++) {
		char ev[1024];
		snprintf(ev, sizeof(ev), "{" EV_HEAD "\"TimestampLocal\":\"%s\",\"TimestampUTC\":\"%s\","
			 "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\","
			 "\"IsEmpty\":false,\"Payload\":[" LOGIN_ITEM "]}", times[i], times[i]);
		char *m = wrap_event(ev);
		struct secmsg_result r;
		validate_text(m, SECMSG_STRICT, &r);
		if (r.verdict != SECMSG_VALID)
			dump(&r);
		ck_assert_int_eq(r.verdict, SECMSG_VALID);
		ck_assert_int_eq(r.events[0].time_utc_us / 1000000, 1579083630LL);
		secmsg_result_free(&r);
		free(m);
	}
}
END_TEST

START_TEST(secmsg_validate_utc_unreadable_falls_back_to_local_offset)
{
	char *m = wrap_event("{" EV_HEAD "\"TimestampLocal\":\"2020-01-15T12:20:30+02:00\",\"TimestampUTC\":\"x\","
			     "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\","
			     "\"IsEmpty\":false,\"Payload\":[" LOGIN_ITEM "]}");
	struct secmsg_result r;
	validate_text(m, SECMSG_SERVICE, &r);
	ck_assert_int_eq(r.verdict, SECMSG_INVALID);
	ck_assert(r.events[0].has_time);
	ck_assert_int_eq(r.events[0].time_utc_us, 1579083630000000LL);
	secmsg_result_free(&r);
	free(m);
}
END_TEST

/* ---- secmsg_validate: the envelope ---- */

struct env_case {
	const char *body;
	const char *path;
};

#define AID "\"AgentId\":\"5a7f5c2e-3f0c-4b8e-9a55-2f4d6c1e9b10\""
#define EV_OK "{" EV_HEAD EV_TIMES "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":\"Triggered\",\"IsEmpty\":false,\"Payload\":[" LOGIN_ITEM "]}"

static const struct env_case bad_envelopes[] = {
	{ "{" AID ",\"MessageSchemaVersion\":\"1.0\",\"Events\":[" EV_OK "]}", "$.AgentVersion" },
	{ "{\"AgentVersion\":\"0.0.5\",\"MessageSchemaVersion\":\"1.0\",\"Events\":[" EV_OK "]}", "$.AgentId" },
	{ "{\"AgentVersion\":\"0.0.5\"," AID ",\"Events\":[" EV_OK "]}", "$.MessageSchemaVersion" },
	{ "{\"AgentVersion\":\"0.0.5\"," AID ",\"MessageSchemaVersion\":\"1.0\"}", "$.Events" },
	{ "{\"AgentVersion\":\"0.0.5\"," AID ",\"MessageSchemaVersion\":\"1.0\",\"Events\":[]}", "$.Events" },
	{ "{\"AgentVersion\":\"0.0.5\"," AID ",\"MessageSchemaVersion\":\"1.0\",\"Events\":{}}", "$.Events" },
	{ "{\"AgentVersion\":\"0.0.5\"," AID ",\"MessageSchemaVersion\":\"2.0\",\"Events\":[" EV_OK "]}", "$.MessageSchemaVersion" },
	{ "{\"AgentVersion\":\"0.0.5\"," AID ",\"MessageSchemaVersion\":1.0,\"Events\":[" EV_OK "]}", "$.MessageSchemaVersion" },
	{ "{\"AgentVersion\":5," AID ",\"MessageSchemaVersion\":\"1.0\",\"Events\":[" EV_OK "]}", "$.AgentVersion" },
	{ "{\"AgentVersion\":\"0.0.5\",\"AgentId\":\"5a7f5c2e\",\"MessageSchemaVersion\":\"1.0\",\"Events\":[" EV_OK "]}", "$.AgentId" },
	{ "{\"AgentVersion\":\"0.0.5\"," AID ",\"MessageSchemaVersion\":\"1.0\",\"Events\":[" EV_OK "],\"HubResourceId\":\"\"}", "$.HubResourceId" },
	{ "{\"AgentVersion\":\"0.0.5\"," AID "," AID ",\"MessageSchemaVersion\":\"1.0\",\"Events\":[" EV_OK "]}", "$.AgentId" },
	{ "[]", "$" },
	{ "\"text\"", "$" },
	{ "null", "$" },
};

START_TEST(secmsg_validate_bad_envelope_invalid_both_modes_with_path)
{
	for (int mode = 0; mode < 2; mode++) {
		struct secmsg_result r;
		validate_text(bad_envelopes[_i].body, (enum secmsg_mode)mode, &r);
		const struct secmsg_reason *why = find_reason(&r, bad_envelopes[_i].path);
		if (!why)
			dump(&r);
		ck_assert_int_eq(r.verdict, SECMSG_INVALID);
		ck_assert_ptr_nonnull(why);
		ck_assert(!why->tolerated);
		secmsg_result_free(&r);
	}
}
END_TEST

START_TEST(secmsg_validate_one_bad_event_makes_message_invalid)
{
	char *m = wrap_event(EV_OK ",{}," EV_OK);
	struct secmsg_result r;
	validate_text(m, SECMSG_SERVICE, &r);
	ck_assert_int_eq(r.verdict, SECMSG_INVALID);
	ck_assert_uint_eq(r.n_events, 3);
	ck_assert_int_eq(r.events[0].verdict, SECMSG_VALID);
	ck_assert_int_eq(r.events[1].verdict, SECMSG_INVALID);
	ck_assert_int_eq(r.events[2].verdict, SECMSG_VALID);
	ck_assert_ptr_null(r.events[1].name);
	ck_assert_str_eq(r.events[1].payload_json, "null");
	ck_assert_ptr_nonnull(find_reason(&r, "$.Events[1].Payload"));
	secmsg_result_free(&r);
	free(m);
}
END_TEST

/* ---- secmsg_validate: hostile bodies ---- */

static void expect_body_invalid(const void *body, size_t len, const char *path, const char *text)
{
	for (int mode = 0; mode < 2; mode++) {
		struct secmsg_result r;
		ck_assert_int_eq(secmsg_validate(body, len, (enum secmsg_mode)mode, &r), SH_OK);
		ck_assert_int_eq(r.verdict, SECMSG_INVALID);
		ck_assert_uint_eq(r.n_events, 0);
		ck_assert_uint_ge(r.n_reasons, 1);
		ck_assert_str_eq(r.reasons[0].path, path);
		if (text)
			ck_assert_str_eq(r.reasons[0].text, text);
		secmsg_result_free(&r);
	}
}

START_TEST(secmsg_validate_empty_invalid)
{
	expect_body_invalid("", 0, "$", "empty body");
	expect_body_invalid(NULL, 0, "$", "empty body");
}
END_TEST

START_TEST(secmsg_validate_one_byte_invalid)
{
	expect_body_invalid("{", 1, "$", "body is not JSON");
	expect_body_invalid("1", 1, "$", NULL);
	expect_body_invalid("\xff", 1, "$", "body is not UTF-8 text");
}
END_TEST

START_TEST(secmsg_validate_truncated_example_every_length_invalid)
{
	size_t len;
	char *buf = read_data("example-firewallconfiguration.json", &len);
	while (len > 0 && (buf[len - 1] == '\n'))
		len--;
	for (size_t n = 0; n < len; n++) {
		struct secmsg_result r;
		ck_assert_int_eq(secmsg_validate(buf, n, SECMSG_SERVICE, &r), SH_OK);
		ck_assert_int_eq(r.verdict, SECMSG_INVALID);
		ck_assert_uint_eq(r.n_events, 0);
		secmsg_result_free(&r);
	}
	free(buf);
}
END_TEST

START_TEST(secmsg_validate_not_json_invalid)
{
	expect_body_invalid("AgentVersion=0.0.5", 18, "$", "body is not JSON");
	const char *trail = "{\"a\":1} x";
	expect_body_invalid(trail, strlen(trail), "$", "body is not JSON");
	/* an embedded NUL byte */
	expect_body_invalid("{\"a\":\0}", 7, "$", "body is not UTF-8 text");
}
END_TEST

START_TEST(secmsg_validate_deep_nesting_invalid)
{
	size_t n = 100000;
	char *deep = malloc(2 * n);
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	expect_body_invalid(deep, 2 * n, "$", "JSON nested deeper than 16 levels");
	/* 17 levels inside a string do not count; 17 real levels do */
	char buf[256];
	snprintf(buf, sizeof(buf), "{\"a\":\"%s\"}", "[[[[[[[[[[[[[[[[[[[[");
	struct secmsg_result r;
	validate_text(buf, SECMSG_SERVICE, &r);
	ck_assert_str_eq(r.reasons[0].path, "$.a");
	secmsg_result_free(&r);
	expect_body_invalid("[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]", 34, "$", "JSON nested deeper than 16 levels");
	free(deep);
}
END_TEST

START_TEST(secmsg_validate_too_many_events_invalid)
{
	size_t n = SECMSG_MAX_EVENTS + 1, cap = n * 3 + 256;
	char *body = malloc(cap);
	size_t pos = (size_t)snprintf(body, cap, "{\"AgentVersion\":\"1\"," AID ",\"MessageSchemaVersion\":\"1.0\",\"Events\":[");
	for (size_t i = 0; i < n; i++)
		pos += (size_t)snprintf(body + pos, cap - pos, "%s{}", i ? "," : "");
	pos += (size_t)snprintf(body + pos, cap - pos, "]}");
	struct secmsg_result r;
	ck_assert_int_eq(secmsg_validate(body, pos, SECMSG_SERVICE, &r), SH_OK);
	ck_assert_int_eq(r.verdict, SECMSG_INVALID);
	ck_assert_uint_eq(r.n_events, 0);
	ck_assert_str_eq(r.reasons[0].path, "$.Events");
	secmsg_result_free(&r);
	free(body);
}
END_TEST

START_TEST(secmsg_validate_too_many_items_invalid)
{
	size_t n = SECMSG_MAX_ITEMS + 1, cap = n * 3 + 512;
	char *body = malloc(cap);
	size_t pos = (size_t)snprintf(body, cap, "{\"AgentVersion\":\"1\"," AID ",\"MessageSchemaVersion\":\"1.0\","
					       "\"Events\":[{\"Payload\":[");
	for (size_t i = 0; i < n; i++)
		pos += (size_t)snprintf(body + pos, cap - pos, "%s1", i ? "," : "");
	pos += (size_t)snprintf(body + pos, cap - pos, "]}]}");
	struct secmsg_result r;
	ck_assert_int_eq(secmsg_validate(body, pos, SECMSG_STRICT, &r), SH_OK);
	ck_assert_int_eq(r.verdict, SECMSG_INVALID);
	ck_assert_uint_eq(r.n_events, 0);
	ck_assert_str_eq(r.reasons[0].path, "$.Events");
	secmsg_result_free(&r);
	free(body);
}
END_TEST

START_TEST(secmsg_validate_oversize_invalid)
{
	size_t n = SECMSG_MAX_BODY + 1;
	char *body = malloc(n);
	memset(body, ' ', n);
	body[0] = '{';
	body[n - 1] = '}';
	expect_body_invalid(body, n, "$", "body larger than 262144 bytes");
	free(body);
}
END_TEST

START_TEST(secmsg_validate_non_utf8_in_string_invalid)
{
	size_t len;
	char *buf = read_data("example-login.json", &len);
	char *at = strstr(buf, "root");
	at[1] = (char)0xc3; /* a lead byte followed by 'o' */
	expect_body_invalid(buf, len, "$", "body is not UTF-8 text");
	free(buf);
}
END_TEST

START_TEST(secmsg_validate_many_bad_keys_reasons_capped)
{
	char item[8192] = "{";
	size_t pos = 1;
	for (int k = 0; k < 200; k++)
		pos += (size_t)snprintf(item + pos, sizeof(item) - pos, "%s\"k%d\":1", k ? "," : "", k);
	snprintf(item + pos, sizeof(item) - pos, "}");
	char ev[9000];
	snprintf(ev, sizeof(ev), "{" EV_HEAD EV_TIMES "\"Name\":\"Login\",\"EventType\":\"Security\","
		 "\"Category\":\"Triggered\",\"IsEmpty\":false,\"Payload\":[%s]}", item);
	char *m = wrap_event(ev);
	struct secmsg_result r;
	validate_text(m, SECMSG_SERVICE, &r);
	ck_assert_int_eq(r.verdict, SECMSG_INVALID);
	ck_assert_uint_eq(r.events[0].n_reasons, SECMSG_MAX_REASONS);
	ck_assert_str_eq(r.events[0].reasons[SECMSG_MAX_REASONS - 1].text, "further reasons omitted");
	secmsg_result_free(&r);
	free(m);
}
END_TEST

START_TEST(secmsg_validate_hostile_key_path_printable)
{
	char *m = wrap_event("{" EV_HEAD EV_TIMES "\"Name\":\"Login\",\"EventType\":\"Security\",\"Category\":"
			     "\"Triggered\",\"IsEmpty\":false,\"Payload\":[{\"ProcessId\":1,\"UserId\":\"0\","
			     "\"Operation\":\"PAM\",\"Executable\":\"/sshd\",\"Result\":\"Fail\",\"\\u00e9\\n"
			     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":1}]}");
	struct secmsg_result r;
	validate_text(m, SECMSG_SERVICE, &r);
	ck_assert_int_eq(r.verdict, SECMSG_INVALID);
	const char *p = r.events[0].reasons[0].path;
	for (const char *c = p; *c; c++)
		ck_assert(*c >= 0x20 && *c < 0x7f);
	ck_assert(strncmp(p, "$.Events[0].Payload[0].???aaa", 29) == 0);
	ck_assert(strstr(p, "...") != NULL);
	secmsg_result_free(&r);
	free(m);
}
END_TEST

/* ---- secmsg_result_free, verdict/mode names, JSON views ---- */

START_TEST(secmsg_result_free_zeroed_and_null_safe)
{
	struct secmsg_result r;
	memset(&r, 0, sizeof(r));
	secmsg_result_free(&r);
	secmsg_result_free(NULL);
	validate_file("example-login.json", SECMSG_SERVICE, &r);
	secmsg_result_free(&r);
	ck_assert_ptr_null(r.events);
	ck_assert_uint_eq(r.n_events, 0);
	secmsg_result_free(&r); /* twice is fine */
}
END_TEST

START_TEST(secmsg_verdict_str_each_value)
{
	ck_assert_str_eq(secmsg_verdict_str(SECMSG_VALID), "valid");
	ck_assert_str_eq(secmsg_verdict_str(SECMSG_TOLERATED), "tolerated");
	ck_assert_str_eq(secmsg_verdict_str(SECMSG_INVALID), "invalid");
}
END_TEST

START_TEST(secmsg_mode_str_each_value)
{
	ck_assert_str_eq(secmsg_mode_str(SECMSG_SERVICE), "service");
	ck_assert_str_eq(secmsg_mode_str(SECMSG_STRICT), "strict");
}
END_TEST

START_TEST(secmsg_mode_parse_known_and_unknown)
{
	enum secmsg_mode m = SECMSG_STRICT;
	ck_assert_int_eq(secmsg_mode_parse("service", &m), SH_OK);
	ck_assert_int_eq(m, SECMSG_SERVICE);
	ck_assert_int_eq(secmsg_mode_parse("strict", &m), SH_OK);
	ck_assert_int_eq(m, SECMSG_STRICT);
	ck_assert_int_eq(secmsg_mode_parse("Strict", &m), SH_E_INVALID);
	ck_assert_int_eq(secmsg_mode_parse("", &m), SH_E_INVALID);
	ck_assert_int_eq(secmsg_mode_parse(NULL, &m), SH_E_INVALID);
	ck_assert_int_eq(m, SECMSG_STRICT);
}
END_TEST

START_TEST(secmsg_reasons_json_shape)
{
	struct secmsg_reason rs[2] = { { "$.a", "why", true }, { "$", "whole", false } };
	cJSON *a = secmsg_reasons_json(rs, 2);
	char *t = cJSON_PrintUnformatted(a);
	ck_assert_str_eq(t, "[{\"path\":\"$.a\",\"reason\":\"why\",\"tolerated\":true},"
			    "{\"path\":\"$\",\"reason\":\"whole\",\"tolerated\":false}]");
	cJSON_free(t);
	cJSON_Delete(a);
	a = secmsg_reasons_json(NULL, 0);
	ck_assert_int_eq(cJSON_GetArraySize(a), 0);
	cJSON_Delete(a);
}
END_TEST

START_TEST(secmsg_result_json_tolerated_aggregate)
{
	struct secmsg_result r;
	validate_file("c-aggregate-processcreate.json", SECMSG_SERVICE, &r);
	cJSON *j = secmsg_result_json(&r);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "verdict")->valuestring, "tolerated");
	ck_assert_str_eq(cJSON_GetObjectItem(j, "mode")->valuestring, "service");
	ck_assert_str_eq(cJSON_GetObjectItem(j, "agentVersion")->valuestring, "0.0.5");
	cJSON *ev = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "events"), 0);
	ck_assert_str_eq(cJSON_GetObjectItem(ev, "category")->valuestring, "Aggregated");
	ck_assert_str_eq(cJSON_GetObjectItem(ev, "verdict")->valuestring, "tolerated");
	ck_assert_double_eq(cJSON_GetObjectItem(ev, "timeUtcUs")->valuedouble, 1579083630000000.0);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(ev, "reasons")), 2);
	cJSON_Delete(j);
	secmsg_result_free(&r);

	validate_text("nope", SECMSG_STRICT, &r);
	j = secmsg_result_json(&r);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "agentId")));
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "events")), 0);
	cJSON_Delete(j);
	secmsg_result_free(&r);
}
END_TEST

/* ---- detection ---- */

static const char *const security_bags[] = {
	/* C SDK, module (security-agent.md §3.1) */
	"%24.ce=application%2Fjson&%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1",
	/* Node querystring.stringify */
	"%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1&%24.ct=application%2Fjson",
	/* lower-case hex */
	"%24.ifid=urn%3aazureiot%3aSecurity%3aSecurityAgent%3a1",
	/* raw, as the docs write property names */
	"$.ifid=urn:azureiot:Security:SecurityAgent:1",
	/* mixed: key encoded, value raw, among other items and a broken one */
	"a=%G1&%24.ifid=urn:azureiot:Security:SecurityAgent:1&b",
	/* every byte of the key encoded */
	"%24%2E%69%66%69%64=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1",
};

static const char *const other_bags[] = {
	"",
	"%24.ct=application%2Fjson",
	"%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A2",
	"%24.ifid=urn%3Aazureiot%3Asecurity%3Asecurityagent%3A1",
	"%24.ifid=dtmi%3Acom%3Aexample%3AThermostat%3B1",
	"ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1",
	"%24.ifid",
	"%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A",
	"%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1%",
	"%24.ifid=%20urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1",
	"%24.ifidx=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1",
};

START_TEST(secmsg_bag_is_security_every_encoding_true)
{
	ck_assert_msg(secmsg_bag_is_security(sh_span_str(security_bags[_i])), "%s", security_bags[_i]);
}
END_TEST

START_TEST(secmsg_bag_is_security_other_bags_false)
{
	ck_assert_msg(!secmsg_bag_is_security(sh_span_str(other_bags[_i])), "%s", other_bags[_i]);
}
END_TEST

START_TEST(secmsg_props_is_security_parsed_bags)
{
	for (size_t i = 0; i < NELEM(security_bags); i++) {
		cJSON *sys = NULL, *app = NULL;
		if (msg_props_parse(sh_span_str(security_bags[i]), 4096, &sys, &app) != SH_OK)
			continue; /* the bag with a bad escape is refused whole by msg_props */
		ck_assert_msg(secmsg_props_is_security(sys), "%s", security_bags[i]);
		ck_assert(!secmsg_props_is_security(app));
		cJSON_Delete(sys);
		cJSON_Delete(app);
	}
	cJSON *o = cJSON_CreateObject();
	ck_assert(!secmsg_props_is_security(o));
	cJSON_AddNumberToObject(o, "iothub-interface-id", 1);
	ck_assert(!secmsg_props_is_security(o));
	cJSON_Delete(o);
	ck_assert(!secmsg_props_is_security(NULL));
	o = cJSON_CreateString(SECMSG_INTERFACE_ID);
	ck_assert(!secmsg_props_is_security(o));
	cJSON_Delete(o);
}
END_TEST

START_TEST(secmsg_header_is_security_names_and_values)
{
	struct sh_span id = sh_span_str(SECMSG_INTERFACE_ID);
	ck_assert(secmsg_header_is_security(sh_span_str("iothub-interface-id"), id));
	ck_assert(secmsg_header_is_security(sh_span_str("IoTHub-Interface-Id"), id));
	ck_assert(secmsg_header_is_security(sh_span_str("iothub-interface-id"),
					    sh_span_str(" \turn:azureiot:Security:SecurityAgent:1 ")));
	ck_assert(!secmsg_header_is_security(sh_span_str("iothub-app-iothub-interface-id"), id));
	ck_assert(!secmsg_header_is_security(sh_span_str("iothub-interface-id"),
					     sh_span_str("urn:azureiot:Security:SecurityAgent:10")));
	ck_assert(!secmsg_header_is_security(sh_span_str("iothub-interface-id"), sh_span_str("")));
	ck_assert(!secmsg_header_is_security(sh_span_str(""), id));
}
END_TEST

/* ---- tables ---- */

START_TEST(secmsg_schema_at_fourteen_schemas)
{
	size_t n = 0, security = 0, operational = 0, diagnostic = 0;
	for (const struct secmsg_schema *s; (s = secmsg_schema_at(n)); n++) {
		ck_assert_ptr_eq(secmsg_schema_find(s->name), s);
		security += strcmp(s->event_type, "Security") == 0;
		operational += strcmp(s->event_type, "Operational") == 0;
		diagnostic += strcmp(s->event_type, "Diagnostic") == 0;
		ck_assert_str_eq(s->fields[s->n_fields - 1].name, "ExtraDetails");
	}
	ck_assert_uint_eq(n, 14);
	ck_assert_uint_eq(security, 10);
	ck_assert_uint_eq(operational, 3);
	ck_assert_uint_eq(diagnostic, 1);
}
END_TEST

START_TEST(secmsg_schema_find_unknown_null)
{
	ck_assert_ptr_null(secmsg_schema_find("Baseline"));
	ck_assert_ptr_null(secmsg_schema_find("login"));
	ck_assert_ptr_null(secmsg_schema_find(NULL));
	ck_assert_str_eq(secmsg_schema_find("OSBaseline")->category, "Periodic");
}
END_TEST

START_TEST(secmsg_table_at_each_table)
{
	ck_assert_str_eq(secmsg_table_at(SECMSG_T_ROOT_KEYS, 3), "Events");
	ck_assert_ptr_null(secmsg_table_at(SECMSG_T_ROOT_KEYS, 4));
	ck_assert_str_eq(secmsg_table_at(SECMSG_T_EVENT_KEYS, 8), "Payload");
	ck_assert_ptr_null(secmsg_table_at(SECMSG_T_EVENT_KEYS, 9));
	ck_assert_str_eq(secmsg_table_at(SECMSG_T_SCHEMA_VERSION, 0), "1.0");
	ck_assert_str_eq(secmsg_table_at(SECMSG_T_CATEGORY, 1), "Triggered");
	ck_assert_str_eq(secmsg_table_at(SECMSG_T_EVENT_TYPE, 2), "Diagnostic");
	ck_assert_str_eq(secmsg_table_at(SECMSG_T_DIRECTION, 1), "Out");
	ck_assert_ptr_null(secmsg_table_at((enum secmsg_table)99, 0));
}
END_TEST

START_TEST(secmsg_is_ip_v4_and_v6)
{
	static const char *const good[] = {
		"0.0.0.0", "198.51.100.23", "255.255.255.255", "::", "::1", "fe80::1",
		"2001:db8::8a2e:370:7334", "::ffff:192.0.2.128", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::",
		"::2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "::ffff:c000:0280", "ABCD::ef",
	};
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "a.b.c.d", ":", ":::",
		"1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "fe80::1%eth0", "[::1]",
		"1:", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "g::1", "localhost",
	};
	for (size_t i = 0; i < NELEM(good); i++)
		ck_assert_msg(secmsg_is_ip(sh_span_str(good[i])), "%s", good[i]);
	for (size_t i = 0; i < NELEM(bad); i++)
		ck_assert_msg(!secmsg_is_ip(sh_span_str(bad[i])), "%s", bad[i]);
}
END_TEST

static Suite *secmsg_suite(void)
{
	Suite *s = suite_create("secmsg");
	TCase *tc = tcase_create("secmsg_validate");
	tcase_add_loop_test(tc, secmsg_validate_example_each_type_valid_in_both_modes, 0, NELEM(examples));
	tcase_add_test(tc, secmsg_validate_example_login_row_normalised);
	tcase_add_test(tc, secmsg_validate_multi_event_message_all_rows);
	tcase_add_loop_test(tc, secmsg_validate_each_type_missing_required_invalid_both_modes, 0, NELEM(examples));
	tcase_add_loop_test(tc, secmsg_validate_each_type_wrong_type_invalid_both_modes, 0, NELEM(examples));
	tcase_add_loop_test(tc, secmsg_validate_each_type_extra_key_invalid_with_path, 0, NELEM(examples));
	tcase_add_loop_test(tc, secmsg_validate_deviation_service_tolerates_strict_rejects_at_path, 0,
			    NELEM(deviations));
	tcase_add_test(tc, secmsg_validate_zoneless_time_read_as_utc);
	tcase_add_test(tc, secmsg_validate_aggregated_on_periodic_event_invalid_both_modes);
	tcase_add_test(tc, secmsg_validate_extra_details_object_value_invalid_both_modes);
	tcase_add_loop_test(tc, secmsg_validate_bad_event_invalid_both_modes_with_path, 0, NELEM(bad_events));
	tcase_add_test(tc, secmsg_validate_rfc3339_variants_valid_in_strict);
	tcase_add_test(tc, secmsg_validate_utc_unreadable_falls_back_to_local_offset);
	tcase_add_loop_test(tc, secmsg_validate_bad_envelope_invalid_both_modes_with_path, 0, NELEM(bad_envelopes));
	tcase_add_test(tc, secmsg_validate_one_bad_event_makes_message_invalid);
	tcase_add_test(tc, secmsg_validate_empty_invalid);
	tcase_add_test(tc, secmsg_validate_one_byte_invalid);
	tcase_add_test(tc, secmsg_validate_truncated_example_every_length_invalid);
	tcase_add_test(tc, secmsg_validate_not_json_invalid);
	tcase_add_test(tc, secmsg_validate_deep_nesting_invalid);
	tcase_add_test(tc, secmsg_validate_too_many_events_invalid);
	tcase_add_test(tc, secmsg_validate_too_many_items_invalid);
	tcase_add_test(tc, secmsg_validate_oversize_invalid);
	tcase_add_test(tc, secmsg_validate_non_utf8_in_string_invalid);
	tcase_add_test(tc, secmsg_validate_many_bad_keys_reasons_capped);
	tcase_add_test(tc, secmsg_validate_hostile_key_path_printable);
	suite_add_tcase(s, tc);

	tc = tcase_create("secmsg_result_free");
	tcase_add_test(tc, secmsg_result_free_zeroed_and_null_safe);
	suite_add_tcase(s, tc);
	tc = tcase_create("secmsg_verdict_str");
	tcase_add_test(tc, secmsg_verdict_str_each_value);
	suite_add_tcase(s, tc);
	tc = tcase_create("secmsg_mode_str");
	tcase_add_test(tc, secmsg_mode_str_each_value);
	suite_add_tcase(s, tc);
	tc = tcase_create("secmsg_mode_parse");
	tcase_add_test(tc, secmsg_mode_parse_known_and_unknown);
	suite_add_tcase(s, tc);
	tc = tcase_create("secmsg_reasons_json");
	tcase_add_test(tc, secmsg_reasons_json_shape);
	suite_add_tcase(s, tc);
	tc = tcase_create("secmsg_result_json");
	tcase_add_test(tc, secmsg_result_json_tolerated_aggregate);
	suite_add_tcase(s, tc);
	tc = tcase_create("secmsg_bag_is_security");
	tcase_add_loop_test(tc, secmsg_bag_is_security_every_encoding_true, 0, NELEM(security_bags));
	tcase_add_loop_test(tc, secmsg_bag_is_security_other_bags_false, 0, NELEM(other_bags));
	suite_add_tcase(s, tc);
	tc = tcase_create("secmsg_props_is_security");
	tcase_add_test(tc, secmsg_props_is_security_parsed_bags);
	suite_add_tcase(s, tc);
	tc = tcase_create("secmsg_header_is_security");
	tcase_add_test(tc, secmsg_header_is_security_names_and_values);
	suite_add_tcase(s, tc);
	tc = tcase_create("secmsg_schema_at");
	tcase_add_test(tc, secmsg_schema_at_fourteen_schemas);
	suite_add_tcase(s, tc);
	tc = tcase_create("secmsg_schema_find");
	tcase_add_test(tc, secmsg_schema_find_unknown_null);
	suite_add_tcase(s, tc);
	tc = tcase_create("secmsg_table_at");
	tcase_add_test(tc, secmsg_table_at_each_table);
	suite_add_tcase(s, tc);
	tc = tcase_create("secmsg_is_ip");
	tcase_add_test(tc, secmsg_is_ip_v4_and_v6);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(secmsg_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
