/*
 * check_record.c: the `serve --record` journal writer (hub/record.c) over a real hub on a
 * ":memory:" store with a fake clock, writing to memory streams and /dev/full. Every line it
 * writes is read back with core/journal. Never opens a socket.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/journal.h"
#include "hub/hub.h"
#include "hub/record.h"
#include "store/store.h"

static int64_t fake_now = 1700000000000000LL;

static int64_t env_now(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static void env_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	memset(buf, 7, len);
}

static const struct sh_hub_env env = {env_now, env_random, NULL};
static struct sh_store *st;
static struct sh_hub *hub;
static struct iothub_err err;
static char *mem;
static size_t mem_len;
static FILE *out;

static void setup(void)
{
	char msg[256];
	fake_now = 1700000000000000LL;
	ck_assert_int_eq(store_open(":memory:", &st, msg, sizeof msg), SH_OK);
	ck_assert_int_eq(hub_open(st, &env, &hub, &err), SH_OK);
	ck_assert_int_eq(hub_set_hostname(hub, "rec.azure-devices.net", &err), SH_OK);
	struct sh_identity r;
	memset(&r, 0, sizeof r);
	snprintf(r.device_id, sizeof r.device_id, "d1");
	ck_assert_int_eq(hub_identity_create(hub, &r, NULL, &err), SH_OK);
	mem = NULL;
	mem_len = 0;
	out = open_memstream(&mem, &mem_len);
	ck_assert_ptr_nonnull(out);
}

static void teardown(void)
{
	if (out)
		fclose(out);
	free(mem);
	hub_close(hub);
	store_close(st);
}

/* The n-th line (0 = header) of what was written, in buf. False when there are fewer. */
static bool nth_line(int n, char *buf, size_t cap)
{
	fflush(out);
	const char *p = mem;
	for (int i = 0; i < n && p; i++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p || !*p)
		return false;
	size_t len = strcspn(p, "\n");
	ck_assert_uint_lt(len, cap);
	memcpy(buf, p, len);
	buf[len] = '\0';
	return true;
}

static int count_lines(void)
{
	fflush(out);
	int n = 0;
	for (const char *p = mem; p && *p; p++)
		n += *p == '\n';
	return n;
}

/* Parse line n with the journal reader (it must be valid). */
static void entry_at(int n, struct journal_entry *e)
{
	char buf[8192];
	ck_assert_msg(nth_line(n, buf, sizeof buf), "no line %d", n);
	struct journal_error je;
	sh_rc rc = journal_entry_parse(buf, strlen(buf), n + 1, e, &je);
	ck_assert_msg(rc == SH_OK, "line %d: %s: %s (%s)", n, je.path, je.reason, buf);
}

static cJSON *obj(const char *json)
{
	cJSON *o = cJSON_Parse(json);
	ck_assert_ptr_nonnull(o);
	return o;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* --- hub_record_start ----------------------------------------------------------------------- */

START_TEST(hub_record_start_writes_header_with_hub_time)
{
	struct hub_recorder *rec = NULL;
	ck_assert_int_eq(hub_record_start(hub, out, "simhub test", NULL, NULL, &rec), SH_OK);
	char buf[512];
	ck_assert(nth_line(0, buf, sizeof buf));
	struct journal_header h;
	ck_assert_int_eq(journal_header_parse(buf, strlen(buf), 1, &h, NULL), SH_OK);
	ck_assert_int_eq(h.version, JOURNAL_VERSION);
	ck_assert_str_eq(h.hub, "rec.azure-devices.net");
	ck_assert_int_eq(h.started_us, fake_now);
	ck_assert_str_eq(h.source, "simhub test");
	journal_header_free(&h);
	struct hub_record_stats s;
	ck_assert_int_eq(hub_record_stop(rec, &s), SH_OK);
	ck_assert_uint_eq(s.lines, 1);
	ck_assert(!s.failed);
}
END_TEST

START_TEST(hub_record_start_null_arguments_invalid)
{
	struct hub_recorder *rec = (struct hub_recorder *)&rec;
	ck_assert_int_eq(hub_record_start(NULL, out, NULL, NULL, NULL, &rec), SH_E_INVALID);
	ck_assert_int_eq(hub_record_start(hub, NULL, NULL, NULL, NULL, &rec), SH_E_INVALID);
	ck_assert_int_eq(hub_record_start(hub, out, NULL, NULL, NULL, NULL), SH_E_INVALID);
	ck_assert_int_eq(count_lines(), 0);
}
END_TEST

START_TEST(hub_record_start_full_device_io_no_recorder)
{
	FILE *full = fopen("/dev/full", "w");
	ck_assert_ptr_nonnull(full);
	struct hub_recorder *rec = (struct hub_recorder *)&rec;
	ck_assert_int_eq(hub_record_start(hub, full, NULL, NULL, NULL, &rec), SH_E_IO);
	ck_assert_ptr_null(rec);
	fclose(full);
	/* nothing listens: an operation afterwards is not affected */
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, "x", 1, NULL, &err), SH_OK);
}
END_TEST

/* --- what gets journaled, through the real bus ------------------------------------------------ */

START_TEST(hub_record_start_hub_operations_become_journal_lines)
{
	struct hub_recorder *rec = NULL;
	int64_t t0 = fake_now;
	ck_assert_int_eq(hub_record_start(hub, out, NULL, NULL, NULL, &rec), SH_OK);
	fake_now += 1500;
	/* a session connect as the MQTT edge emits it */
	hub_event_emit(hub, HUB_EV_SESSION, "d1", NULL,
		       obj("{\"op\":\"connect\",\"transport\":\"mqtts\",\"cleanSession\":true,"
			   "\"keepAlive\":60}"));
	ck_assert_int_eq(hub_connection_changed(hub, "d1", NULL, true, true, "mqtts", &err), SH_OK);
	fake_now += 1000;
	cJSON *sys = obj("{\"message-id\":\"m1\",\"iothub-content-type\":\"application/json\","
			 "\"iothub-enqueuedtime\":\"forged\"}");
	cJSON *app = obj("{\"color\":\"red\"}");
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, sys, app, "{\"t\":1}", 7, NULL, &err), SH_OK);
	cJSON_Delete(sys);
	cJSON_Delete(app);
	const uint8_t bin[] = {0, 0xff, 1};
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, bin, sizeof bin, NULL, &err), SH_OK);
	/* a service-side desired write is not journaled: only what reached the device is */
	cJSON *desired = obj("{\"interval\":5}");
	ck_assert_int_eq(hub_twin_patch_desired(hub, "d1", NULL, desired, NULL, &err), SH_OK);
	cJSON_Delete(desired);
	fake_now += 1000;
	ck_assert_int_eq(hub_connection_changed(hub, "d1", NULL, false, true, "client-disconnect",
						&err), SH_OK);
	struct hub_record_stats s;
	ck_assert_int_eq(hub_record_stop(rec, &s), SH_OK);
	ck_assert_uint_eq(s.lines, 5);
	ck_assert_uint_eq(s.skipped, 0);
	ck_assert_int_eq(count_lines(), 5);

	struct journal_entry e;
	entry_at(1, &e);
	ck_assert_int_eq(e.op, JOURNAL_OP_CONNECT);
	ck_assert_int_eq(e.t_us, 1500);
	ck_assert_int_eq(e.at_us, t0 + 1500);
	ck_assert_str_eq(e.transport, "mqtt");
	ck_assert(e.clean_session);
	ck_assert_int_eq(e.keepalive_s, 60);
	ck_assert_str_eq(e.device, "d1");
	ck_assert_ptr_null(e.module);
	journal_entry_free(&e);

	entry_at(2, &e);
	ck_assert_int_eq(e.op, JOURNAL_OP_TELEMETRY);
	ck_assert_int_eq(e.t_us, 2500);
	ck_assert_str_eq(jstr(e.sys_props, "message-id"), "m1");
	ck_assert_ptr_null(jstr(e.sys_props, "iothub-enqueuedtime"));
	ck_assert_ptr_null(jstr(e.sys_props, "iothub-connection-device-id"));
	ck_assert_str_eq(jstr(e.app_props, "color"), "red");
	ck_assert_uint_eq(e.body_len, 7);
	ck_assert_mem_eq(e.body, "{\"t\":1}", 7);
	journal_entry_free(&e);

	entry_at(3, &e);
	ck_assert_int_eq(e.op, JOURNAL_OP_TELEMETRY);
	ck_assert_int_eq(e.body_encoding, JOURNAL_BODY_BASE64);
	ck_assert_uint_eq(e.body_len, 3);
	ck_assert_mem_eq(e.body, bin, 3);
	ck_assert_ptr_null(e.sys_props);   /* only stamps: nothing the device sent */
	journal_entry_free(&e);

	entry_at(4, &e);
	ck_assert_int_eq(e.op, JOURNAL_OP_DISCONNECT);
	ck_assert_int_eq(e.t_us, 3500);
	ck_assert_str_eq(e.reason, "client");
	journal_entry_free(&e);
}
END_TEST

START_TEST(hub_record_start_security_message_journaled_as_telemetry)
{
	/* security messages are announced as "security" events; the recorder reads the stored
	 * message back, so the journal still has the telemetry the agent sent */
	struct hub_recorder *rec = NULL;
	ck_assert_int_eq(hub_record_start(hub, out, NULL, NULL, NULL, &rec), SH_OK);
	cJSON *sys = obj("{\"iothub-interface-id\":\"urn:azureiot:Security:SecurityAgent:1\","
			 "\"iothub-content-type\":\"application/json\"}");
	const char *body = "{\"AgentVersion\":\"1\",\"Events\":[]}";
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, sys, NULL, body, strlen(body), NULL, &err),
			 SH_OK);
	cJSON_Delete(sys);
	struct hub_record_stats s;
	ck_assert_int_eq(hub_record_stop(rec, &s), SH_OK);
	ck_assert_uint_eq(s.skipped, 0);
	ck_assert_int_eq(count_lines(), 2);
	struct journal_entry e;
	entry_at(1, &e);
	ck_assert_int_eq(e.op, JOURNAL_OP_TELEMETRY);
	ck_assert_str_eq(jstr(e.sys_props, "iothub-interface-id"), "urn:azureiot:Security:SecurityAgent:1");
	ck_assert_ptr_null(jstr(e.sys_props, "iothub-connection-device-id"));
	ck_assert_uint_eq(e.body_len, strlen(body));
	ck_assert_mem_eq(e.body, body, strlen(body));
	journal_entry_free(&e);
}
END_TEST

START_TEST(hub_record_start_clock_going_back_keeps_t_monotonic)
{
	struct hub_recorder *rec = NULL;
	ck_assert_int_eq(hub_record_start(hub, out, NULL, NULL, NULL, &rec), SH_OK);
	fake_now += 5000;
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, "a", 1, NULL, &err), SH_OK);
	fake_now -= 4000;   /* the wall clock stepped back */
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, "b", 1, NULL, &err), SH_OK);
	fake_now -= 10000;  /* even before the start */
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, "c", 1, NULL, &err), SH_OK);
	ck_assert_int_eq(hub_record_stop(rec, NULL), SH_OK);
	struct journal_entry e;
	for (int i = 1; i <= 3; i++) {
		entry_at(i, &e);
		ck_assert_int_eq(e.t_us, 5000);
		journal_entry_free(&e);
	}
}
END_TEST

START_TEST(hub_record_start_rolled_back_operation_not_journaled)
{
	struct hub_recorder *rec = NULL;
	ck_assert_int_eq(hub_record_start(hub, out, NULL, NULL, NULL, &rec), SH_OK);
	/* unknown device: the twin write fails, nothing is emitted */
	cJSON *p = obj("{\"a\":1}");
	int64_t v = 0;
	ck_assert_int_ne(hub_twin_patch_reported(hub, "nope", NULL, p, &v, &err), SH_OK);
	cJSON_Delete(p);
	ck_assert_int_eq(hub_record_stop(rec, NULL), SH_OK);
	ck_assert_int_eq(count_lines(), 1);
}
END_TEST

static int errors_seen;
static char last_error[256];

static void on_error(void *ctx, const char *message)
{
	(void)ctx;
	errors_seen++;
	snprintf(last_error, sizeof last_error, "%s", message);
}

START_TEST(hub_record_start_write_failure_reported_once_then_stops)
{
	/* a 400-byte stream: the header fits, a 1000-byte body does not */
	char small[400];
	FILE *f = fmemopen(small, sizeof small, "w");
	ck_assert_ptr_nonnull(f);
	struct hub_recorder *rec = NULL;
	errors_seen = 0;
	ck_assert_int_eq(hub_record_start(hub, f, NULL, on_error, NULL, &rec), SH_OK);
	char body[1000];
	memset(body, 'x', sizeof body);
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, body, sizeof body, NULL, &err), SH_OK);
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, body, sizeof body, NULL, &err), SH_OK);
	ck_assert_int_eq(errors_seen, 1);
	ck_assert_msg(strstr(last_error, "cannot write the journal") != NULL, "%s", last_error);
	struct hub_record_stats s;
	hub_record_get_stats(rec, &s);
	ck_assert(s.failed);
	ck_assert_uint_eq(s.lines, 1);
	ck_assert_int_eq(hub_record_stop(rec, &s), SH_E_IO);
	ck_assert(s.failed);
	fclose(f);
	/* the hub goes on without the recorder */
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, "x", 1, NULL, &err), SH_OK);
}
END_TEST

/* --- hub_record_event_object ---------------------------------------------------------------- */

static cJSON *convert(enum hub_event_kind kind, const char *dev, const char *mod, const char *json)
{
	cJSON *d = json ? obj(json) : NULL;
	struct hub_event ev = {.id = 1, .kind = kind, .time_us = fake_now, .device_id = dev,
			       .module_id = mod, .data = d};
	cJSON *o = hub_record_event_object(&ev);
	cJSON_Delete(d);
	return o;
}

START_TEST(hub_record_event_object_session_ops_copied_transport_mapped)
{
	cJSON *o = convert(HUB_EV_SESSION, "d1", "m1",
			   "{\"op\":\"connect\",\"transport\":\"wss\",\"cleanSession\":false,"
			   "\"keepAlive\":30}");
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(jstr(o, "op"), "connect");
	ck_assert_str_eq(jstr(o, "transport"), "mqtt-ws");
	ck_assert_str_eq(jstr(o, "device"), "d1");
	ck_assert_str_eq(jstr(o, "module"), "m1");
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "cleanSession")));
	cJSON_Delete(o);
	o = convert(HUB_EV_SESSION, "d1", NULL,
		    "{\"op\":\"method.request\",\"rid\":\"1f\",\"name\":\"reboot\",\"payload\":{\"a\":1}}");
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(jstr(o, "rid"), "1f");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(o, "module"));
	ck_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "payload")));
	cJSON_Delete(o);
	/* no op: nothing */
	ck_assert_ptr_null(convert(HUB_EV_SESSION, "d1", NULL, "{\"rid\":\"1\"}"));
}
END_TEST

START_TEST(hub_record_event_object_connection_only_own_disconnects)
{
	static const char *const reasons[][2] = {
		{"client-disconnect", "client"}, {"connection-lost", "network"},
		{"keepalive-timeout", "network"}, {"sas-token-expired", "expired"},
		{"malformed-packet", "server"}, {"400027-new-connection", "server"},
	};
	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
		char json[200];
		snprintf(json, sizeof json, "{\"event\":\"disconnect\",\"connected\":false,"
			 "\"stateChanged\":true,\"reason\":\"%s\"}", reasons[i][0]);
		cJSON *o = convert(HUB_EV_CONNECTION, "d1", NULL, json);
		ck_assert_ptr_nonnull(o);
		ck_assert_str_eq(jstr(o, "op"), "disconnect");
		ck_assert_str_eq(jstr(o, "reason"), reasons[i][1]);
		cJSON_Delete(o);
	}
	/* replaced by a newer connection of the same identity: it stays connected */
	ck_assert_ptr_null(convert(HUB_EV_CONNECTION, "d1", NULL,
				   "{\"event\":\"disconnect\",\"stateChanged\":false,\"reason\":\"x\"}"));
	/* connects come as session events */
	ck_assert_ptr_null(convert(HUB_EV_CONNECTION, "d1", NULL,
				   "{\"event\":\"connect\",\"stateChanged\":true,\"reason\":\"mqtt\"}"));
}
END_TEST

START_TEST(hub_record_event_object_c2d_settlements_only)
{
	static const char *const map[][2] = {
		{"completed", "complete"}, {"rejected", "reject"}, {"abandoned", "abandon"},
		{"deadlettered", "abandon"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		char json[200];
		snprintf(json, sizeof json, "{\"event\":\"%s\",\"seq\":3,\"messageId\":\"c1\"}", map[i][0]);
		cJSON *o = convert(HUB_EV_C2D, "d1", NULL, json);
		ck_assert_ptr_nonnull(o);
		ck_assert_str_eq(jstr(o, "op"), "c2d.settle");
		ck_assert_str_eq(jstr(o, "outcome"), map[i][1]);
		ck_assert_str_eq(jstr(o, "messageId"), "c1");
		cJSON_Delete(o);
	}
	ck_assert_ptr_null(convert(HUB_EV_C2D, "d1", NULL, "{\"event\":\"queued\",\"messageId\":\"c1\"}"));
	ck_assert_ptr_null(convert(HUB_EV_C2D, "d1", NULL, "{\"event\":\"expired\",\"messageId\":\"c1\"}"));
	ck_assert_ptr_null(convert(HUB_EV_C2D, "d1", NULL, "{\"event\":\"completed\",\"seq\":3}"));
}
END_TEST

START_TEST(hub_record_event_object_hostile_or_foreign_events_null)
{
	ck_assert_ptr_null(hub_record_event_object(NULL));
	ck_assert_ptr_null(convert(HUB_EV_TELEMETRY, NULL, NULL, "{\"body\":\"x\"}"));   /* no identity */
	ck_assert_ptr_null(convert(HUB_EV_TELEMETRY, "d1", NULL, NULL));                 /* no data */
	ck_assert_ptr_null(convert(HUB_EV_TWIN, "d1", NULL, "{\"section\":\"desired\",\"patch\":{}}"));
	ck_assert_ptr_null(convert(HUB_EV_METHOD, "d1", NULL, "{\"callId\":1}"));
	ck_assert_ptr_null(convert(HUB_EV_ALERT, "d1", NULL, "{}"));
	ck_assert_ptr_null(convert(HUB_EV_SESSION, "d1", NULL, "{\"op\":7}"));
	ck_assert_ptr_null(convert(HUB_EV_CONNECTION, "d1", NULL, "{\"event\":[1]}"));
	ck_assert_ptr_null(convert(HUB_EV__COUNT, "d1", NULL, "{}"));
}
END_TEST

START_TEST(hub_record_event_object_bad_session_data_skipped_not_written)
{
	/* a session event the journal reader refuses (no patch for twin.reported) is counted as
	 * skipped, and the journal stays valid */
	struct hub_recorder *rec = NULL;
	ck_assert_int_eq(hub_record_start(hub, out, NULL, NULL, NULL, &rec), SH_OK);
	hub_event_emit(hub, HUB_EV_SESSION, "d1", NULL, obj("{\"op\":\"twin.reported\",\"rid\":\"1\"}"));
	hub_event_emit(hub, HUB_EV_SESSION, "d1", NULL, obj("{\"op\":\"frobnicate\"}"));
	hub_event_emit(hub, HUB_EV_SESSION, "d1", NULL,
		       obj("{\"op\":\"twin.get\",\"rid\":\"2\",\"status\":200,\"version\":4}"));
	struct hub_record_stats s;
	ck_assert_int_eq(hub_record_stop(rec, &s), SH_OK);
	ck_assert_uint_eq(s.skipped, 2);
	ck_assert_uint_eq(s.lines, 2);
	struct journal_entry e;
	entry_at(1, &e);
	ck_assert_int_eq(e.op, JOURNAL_OP_TWIN_GET);
	ck_assert_str_eq(e.rid, "2");
	ck_assert_int_eq(e.version, 4);
	journal_entry_free(&e);
}
END_TEST

/* --- hub_record_stop ------------------------------------------------------------------------------ */

START_TEST(hub_record_stop_null_ok_and_stops_listening)
{
	ck_assert_int_eq(hub_record_stop(NULL, NULL), SH_OK);
	struct hub_recorder *rec = NULL;
	ck_assert_int_eq(hub_record_start(hub, out, NULL, NULL, NULL, &rec), SH_OK);
	ck_assert_int_eq(hub_record_stop(rec, NULL), SH_OK);
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, "x", 1, NULL, &err), SH_OK);
	ck_assert_int_eq(count_lines(), 1);
}
END_TEST

static Suite *record_suite(void)
{
	Suite *s = suite_create("record");
	TCase *tc = tcase_create("hub_record_start");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hub_record_start_writes_header_with_hub_time);
	tcase_add_test(tc, hub_record_start_null_arguments_invalid);
	tcase_add_test(tc, hub_record_start_full_device_io_no_recorder);
	tcase_add_test(tc, hub_record_start_hub_operations_become_journal_lines);
	tcase_add_test(tc, hub_record_start_security_message_journaled_as_telemetry);
	tcase_add_test(tc, hub_record_start_clock_going_back_keeps_t_monotonic);
	tcase_add_test(tc, hub_record_start_rolled_back_operation_not_journaled);
	tcase_add_test(tc, hub_record_start_write_failure_reported_once_then_stops);
	suite_add_tcase(s, tc);
	tc = tcase_create("hub_record_event_object");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hub_record_event_object_session_ops_copied_transport_mapped);
	tcase_add_test(tc, hub_record_event_object_connection_only_own_disconnects);
	tcase_add_test(tc, hub_record_event_object_c2d_settlements_only);
	tcase_add_test(tc, hub_record_event_object_hostile_or_foreign_events_null);
	tcase_add_test(tc, hub_record_event_object_bad_session_data_skipped_not_written);
	suite_add_tcase(s, tc);
	tc = tcase_create("hub_record_stop");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hub_record_stop_null_ok_and_stops_listening);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(record_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
