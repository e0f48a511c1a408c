/*
 * check_sa_event.c: unit tests of secagent's sa_event room: ids, timestamps, event making and
 * splitting, queues and the cache limit, batching within the message size, the schedule. Every
 * message built here is checked by simhub's own validator (core/secmsg, strict mode) when the
 * build has it (SA_HAVE_SECMSG).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sa_event.h"
#include "sa_synth.h"
#if SA_HAVE_SECMSG
#include "core/secmsg.h"
#endif

#define T0 1579083630000000LL   /* 2020-01-15T10:20:30Z */

static struct sa_envelope env = {"0.1.0", "5a7f5c2e-3f0c-4b8e-9a55-2f4d6c1e9b10"};

/* Fail unless `msg` is a valid security message (strict) with `n` events, when secmsg exists. */
static void expect_valid(const char *msg, size_t len, size_t n)
{
	cJSON *j = cJSON_ParseWithLength(msg, len);
	ck_assert_msg(j != NULL, "not JSON: %s", msg);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "Events")), (int)n);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "MessageSchemaVersion")->valuestring, "1.0");
	cJSON_Delete(j);
#if SA_HAVE_SECMSG
	struct secmsg_result r;
	ck_assert_int_eq(secmsg_validate(msg, len, SECMSG_STRICT, &r), SH_OK);
	char why[512] = "";
	for (size_t i = 0; i < r.n_reasons; i++)
		snprintf(why + strlen(why), sizeof why - strlen(why), "%s: %s; ", r.reasons[i].path, r.reasons[i].text);
	for (size_t e = 0; e < r.n_events; e++)
		for (size_t i = 0; i < r.events[e].n_reasons; i++)
			snprintf(why + strlen(why), sizeof why - strlen(why), "%s: %s; ",
				 r.events[e].reasons[i].path, r.events[e].reasons[i].text);
	ck_assert_msg(r.verdict == SECMSG_VALID, "secmsg strict: %s -- %s", why, msg);
	ck_assert_uint_eq(r.n_events, n);
	secmsg_result_free(&r);
#endif
}

START_TEST(sa_guid_shape_and_determinism)
{
	struct sa_rng a, b;
	sa_rng_seed(&a, 1);
	sa_rng_seed(&b, 1);
	char x[37], y[37];
	for (int i = 0; i < 100; i++) {
		sa_guid(&a, x);
		sa_guid(&b, y);
		ck_assert_str_eq(x, y);
		ck_assert_uint_eq(strlen(x), 36);
		ck_assert(x[8] == '-' && x[13] == '-' && x[18] == '-' && x[23] == '-');
		ck_assert(x[14] == '4');
	}
	sa_rng_seed(&b, 2);
	sa_guid(&b, y);
	ck_assert_str_ne(x, y);
}
END_TEST

START_TEST(sa_time_formats_ok)
{
	char b[32];
	ck_assert_int_eq(sa_time_utc(T0, b), SH_OK);
	ck_assert_str_eq(b, "2020-01-15T10:20:30Z");
	ck_assert_int_eq(sa_time_local(T0, 7200, b), SH_OK);
	ck_assert_str_eq(b, "2020-01-15T12:20:30+02:00");
	ck_assert_int_eq(sa_time_local(T0, -(5 * 3600 + 1800), b), SH_OK);
	ck_assert_str_eq(b, "2020-01-15T04:50:30-05:30");
	ck_assert_int_eq(sa_time_local(T0, 86400, b), SH_E_INVALID);
	ck_assert_int_eq(sa_time_utc(INT64_MAX, b), SH_E_INVALID);
}
END_TEST

static cJSON *ports(int n)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		char p[8];
		snprintf(p, sizeof p, "%d", 1000 + i);
		cJSON_AddStringToObject(o, "Protocol", "tcp");
		cJSON_AddStringToObject(o, "LocalAddress", "0.0.0.0");
		cJSON_AddStringToObject(o, "LocalPort", p);
		cJSON_AddStringToObject(o, "RemoteAddress", "0.0.0.0");
		cJSON_AddStringToObject(o, "RemotePort", "*");
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

START_TEST(sa_event_make_single_event_valid)
{
	struct sa_rng r;
	sa_rng_seed(&r, 9);
	cJSON *items = ports(3);
	struct sa_event *ev = NULL;
	ck_assert_int_eq(sa_event_make(SA_LISTENING_PORTS, items, T0, 3600, &r, &env, 204800, &ev, NULL), SH_OK);
	ck_assert_ptr_nonnull(ev);
	ck_assert_ptr_null(ev->next);
	ck_assert_uint_eq(ev->len, strlen(ev->json));
	cJSON *j = cJSON_Parse(ev->json);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "Name")->valuestring, "ListeningPorts");
	ck_assert_str_eq(cJSON_GetObjectItem(j, "Category")->valuestring, "Periodic");
	ck_assert_str_eq(cJSON_GetObjectItem(j, "TimestampLocal")->valuestring, "2020-01-15T11:20:30+01:00");
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "IsEmpty")));
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "Payload")), 3);
	ck_assert(cJSON_Compare(cJSON_GetObjectItem(j, "Payload"), items, true));
	cJSON_Delete(j);
	struct sa_queues qs;
	memset(&qs, 0, sizeof qs);
	struct sa_config c;
	sa_config_default(&c);
	ck_assert_uint_eq(sa_queues_push(&qs, &c, ev), 0);
	char *msg;
	size_t len, n;
	ck_assert_int_eq(sa_batch_build(&qs, SA_Q_HIGH, 204800, &env, &msg, &len, &n), SH_OK);
	ck_assert_uint_eq(len, strlen(msg));
	expect_valid(msg, len, 1);
	free(msg);
	cJSON_Delete(items);
}
END_TEST

START_TEST(sa_event_make_empty_periodic_and_triggered)
{
	struct sa_rng r;
	sa_rng_seed(&r, 9);
	cJSON *none = cJSON_CreateArray();
	struct sa_event *ev = NULL;
	ck_assert_int_eq(sa_event_make(SA_LOCAL_USERS, none, T0, 0, &r, &env, 8192, &ev, NULL), SH_OK);
	ck_assert_ptr_nonnull(ev);
	ck_assert_ptr_nonnull(strstr(ev->json, "\"IsEmpty\":true"));
	struct sa_queues qs;
	memset(&qs, 0, sizeof qs);
	struct sa_config c;
	sa_config_default(&c);
	sa_queues_push(&qs, &c, ev);
	char *msg;
	size_t len, n;
	ck_assert_int_eq(sa_batch_build(&qs, SA_Q_HIGH, 8192, &env, &msg, &len, &n), SH_OK);
	expect_valid(msg, len, 1);
	free(msg);
	ck_assert_int_eq(sa_event_make(SA_PROCESS_CREATE, none, T0, 0, &r, &env, 8192, &ev, NULL), SH_OK);
	ck_assert_ptr_null(ev);
	ck_assert_int_eq(sa_event_make(SA_KIND_COUNT, none, T0, 0, &r, &env, 8192, &ev, NULL), SH_E_INVALID);
	cJSON *obj = cJSON_CreateObject();
	ck_assert_int_eq(sa_event_make(SA_LOGIN, obj, T0, 0, &r, &env, 8192, &ev, NULL), SH_E_INVALID);
	cJSON_Delete(obj);
	cJSON_Delete(none);
}
END_TEST

/* 400 ports do not fit 8192 bytes: they are split, no item lost, every message within size. */
START_TEST(sa_event_make_splits_to_fit_message_size)
{
	struct sa_rng r;
	sa_rng_seed(&r, 3);
	cJSON *items = ports(400);
	struct sa_event *ev = NULL;
	size_t skipped = 99;
	ck_assert_int_eq(sa_event_make(SA_LISTENING_PORTS, items, T0, 0, &r, &env, 8192, &ev, &skipped), SH_OK);
	ck_assert_uint_eq(skipped, 0);
	size_t events = 0;
	for (struct sa_event *e = ev; e; e = e->next)
		events++;
	ck_assert_uint_gt(events, 4);
	struct sa_queues qs;
	memset(&qs, 0, sizeof qs);
	struct sa_config c;
	sa_config_default(&c);
	sa_queues_push(&qs, &c, ev);
	int total_items = 0, msgs = 0;
	char *msg;
	size_t len, n;
	while (sa_batch_build(&qs, SA_Q_HIGH, 8192, &env, &msg, &len, &n) == SH_OK) {
		ck_assert_uint_le(len, 8192);
		ck_assert_uint_ge(n, 1);
		expect_valid(msg, len, n);
		cJSON *j = cJSON_Parse(msg);
		cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "Events"))
			total_items += cJSON_GetArraySize(cJSON_GetObjectItem(e, "Payload"));
		cJSON_Delete(j);
		free(msg);
		msgs++;
	}
	ck_assert_int_eq(total_items, 400);
	ck_assert_int_ge(msgs, 5);
	ck_assert_uint_eq(sa_queues_bytes(&qs), 0);
	cJSON_Delete(items);
}
END_TEST

START_TEST(sa_event_make_oversize_item_skipped)
{
	struct sa_rng r;
	sa_rng_seed(&r, 3);
	cJSON *items = cJSON_CreateArray();
	cJSON *o = cJSON_CreateObject();
	char *big = malloc(9000);
	memset(big, 'a', 8999);
	big[8999] = '\0';
	cJSON_AddStringToObject(o, "Executable", "/bin/sh");
	cJSON_AddNumberToObject(o, "ProcessId", 1);
	cJSON_AddNumberToObject(o, "ParentProcessId", 1);
	cJSON_AddStringToObject(o, "UserId", "0");
	cJSON_AddStringToObject(o, "CommandLine", big);
	cJSON_AddItemToArray(items, o);
	cJSON_AddItemToArray(items, cJSON_Parse("{\"Executable\":\"/bin/ls\",\"ProcessId\":2,\"ParentProcessId\":1,\"UserId\":\"0\",\"CommandLine\":\"ls\"}"));
	struct sa_event *ev = NULL;
	size_t skipped = 0;
	ck_assert_int_eq(sa_event_make(SA_PROCESS_CREATE, items, T0, 0, &r, &env, 8192, &ev, &skipped), SH_OK);
	ck_assert_uint_eq(skipped, 1);
	ck_assert_ptr_nonnull(ev);
	ck_assert_ptr_null(ev->next);
	ck_assert_ptr_nonnull(strstr(ev->json, "\"ls\""));
	sa_event_free_list(ev);
	free(big);
	cJSON_Delete(items);
}
END_TEST

START_TEST(sa_queues_push_cache_limit_drops_and_counts)
{
	struct sa_rng r;
	sa_rng_seed(&r, 5);
	struct sa_config c;
	sa_config_default(&c);
	c.max_cache_bytes = 8192;
	struct sa_queues qs;
	memset(&qs, 0, sizeof qs);
	size_t dropped = 0;
	for (int i = 0; i < 50; i++) {
		cJSON *items = ports(2);
		struct sa_event *ev = NULL;
		ck_assert_int_eq(sa_event_make(SA_LISTENING_PORTS, items, T0, 0, &r, &env, 8192, &ev, NULL), SH_OK);
		dropped += sa_queues_push(&qs, &c, ev);
		cJSON_Delete(items);
		ck_assert_uint_le(sa_queues_bytes(&qs), 8192);
	}
	ck_assert_uint_gt(dropped, 0);
	ck_assert_uint_eq(qs.q[SA_Q_HIGH].collected, 50);
	ck_assert_uint_eq(qs.q[SA_Q_HIGH].dropped, dropped);
	cJSON *stats = sa_queues_take_dropped(&qs);
	ck_assert_int_eq(cJSON_GetArraySize(stats), 2);
	cJSON *high = cJSON_GetArrayItem(stats, 0);
	ck_assert_str_eq(cJSON_GetObjectItem(high, "Queue")->valuestring, "High");
	ck_assert_int_eq(cJSON_GetObjectItem(high, "CollectedEvents")->valueint, 50);
	ck_assert_int_eq(cJSON_GetObjectItem(high, "DroppedEvents")->valueint, (int)dropped);
	ck_assert_uint_eq(qs.q[SA_Q_HIGH].collected, 0);
	/* the statistics event itself is valid */
	struct sa_event *ev = NULL;
	ck_assert_int_eq(sa_event_make(SA_DROPPED_EVENTS_STATISTICS, stats, T0, 0, &r, &env, 8192, &ev, NULL), SH_OK);
	struct sa_queues q2;
	memset(&q2, 0, sizeof q2);
	sa_queues_push(&q2, &c, ev);
	ck_assert_uint_eq(q2.q[SA_Q_OPER].n, 1);
	char *msg;
	size_t len, n;
	ck_assert_int_eq(sa_batch_build(&q2, SA_Q_LOW, 8192, &env, &msg, &len, &n), SH_OK);
	expect_valid(msg, len, 1);
	free(msg);
	cJSON_Delete(stats);
	sa_queues_clear(&qs);
}
END_TEST

START_TEST(sa_queue_for_priorities_and_off)
{
	struct sa_config c;
	sa_config_default(&c);
	ck_assert_int_eq(sa_queue_for(&c, SA_LISTENING_PORTS), SA_Q_HIGH);
	ck_assert_int_eq(sa_queue_for(&c, SA_PROCESS_CREATE), SA_Q_LOW);
	ck_assert_int_eq(sa_queue_for(&c, SA_CONFIGURATION_ERROR), SA_Q_OPER);
	c.prio[SA_PROCESS_CREATE] = SA_PRIO_OFF;
	ck_assert_int_eq(sa_queue_for(&c, SA_PROCESS_CREATE), -1);
	c.operational = SA_PRIO_OFF;
	ck_assert_int_eq(sa_queue_for(&c, SA_MESSAGE_STATISTICS), -1);
	ck_assert_int_eq(sa_queue_for(&c, SA_KIND_COUNT), -1);
	/* Off events are freed, not counted */
	struct sa_rng r;
	sa_rng_seed(&r, 1);
	cJSON *items = cJSON_Parse("[{\"Executable\":\"/bin/ls\",\"ProcessId\":2,\"ParentProcessId\":1,\"UserId\":\"0\",\"CommandLine\":\"ls\"}]");
	struct sa_event *ev = NULL;
	sa_event_make(SA_PROCESS_CREATE, items, T0, 0, &r, &env, 8192, &ev, NULL);
	struct sa_queues qs;
	memset(&qs, 0, sizeof qs);
	ck_assert_uint_eq(sa_queues_push(&qs, &c, ev), 0);
	ck_assert_uint_eq(sa_queues_bytes(&qs), 0);
	ck_assert_uint_eq(qs.q[SA_Q_LOW].collected, 0);
	cJSON_Delete(items);
}
END_TEST

/* Operational first, then the due queue, then the other; all kinds from the synthetic source. */
START_TEST(sa_batch_build_order_and_every_kind_valid)
{
	struct sa_rng r;
	sa_rng_seed(&r, 11);
	struct sa_synth s;
	sa_synth_init(&s, 42);
	struct sa_config c;
	sa_config_default(&c);
	struct sa_queues qs;
	memset(&qs, 0, sizeof qs);
	static const enum sa_kind kinds[] = {SA_PROCESS_CREATE, SA_PROCESS_TERMINATE,
		SA_CONNECTION_CREATE, SA_LOGIN, SA_LISTENING_PORTS, SA_LOCAL_USERS,
		SA_SYSTEM_INFORMATION, SA_FIREWALL_CONFIGURATION};
	for (size_t i = 0; i < 8; i++) {
		cJSON *items = sa_synth_items(&s, kinds[i]);
		ck_assert_ptr_nonnull(items);
		struct sa_event *ev = NULL;
		ck_assert_int_eq(sa_event_make(kinds[i], items, T0, 0, &r, &env, 204800, &ev, NULL), SH_OK);
		sa_queues_push(&qs, &c, ev);
		cJSON_Delete(items);
	}
	cJSON *ce = cJSON_Parse("[{\"ConfigurationName\":\"maxMessageSizeInBytes\",\"ErrorType\":\"NotOptimal\",\"UsedConfiguration\":\"10000\",\"Message\":\"maxMessageSize is not optimal\"}]");
	struct sa_event *ev = NULL;
	sa_event_make(SA_CONFIGURATION_ERROR, ce, T0, 0, &r, &env, 204800, &ev, NULL);
	sa_queues_push(&qs, &c, ev);
	cJSON_Delete(ce);
	size_t queued = qs.q[0].n + qs.q[1].n + qs.q[2].n;
	char *msg;
	size_t len, n;
	ck_assert_int_eq(sa_batch_build(&qs, SA_Q_LOW, 204800, &env, &msg, &len, &n), SH_OK);
	ck_assert_uint_eq(n, queued);
	expect_valid(msg, len, n);
	cJSON *j = cJSON_Parse(msg);
	cJSON *evs = cJSON_GetObjectItem(j, "Events");
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 0), "Name")->valuestring, "ConfigurationError");
	/* then the due (low) queue: ProcessCreate is low by default */
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 1), "Name")->valuestring, "ProcessCreate");
	/* high events (Login, ListeningPorts, LocalUsers) come last */
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, (int)n - 1), "Name")->valuestring, "LocalUsers");
	cJSON_Delete(j);
	free(msg);
	ck_assert_int_eq(sa_batch_build(&qs, SA_Q_HIGH, 204800, &env, &msg, &len, &n), SH_E_NOTFOUND);
	ck_assert_ptr_null(msg);
}
END_TEST

START_TEST(sa_batch_build_drops_event_too_big_after_shrink)
{
	struct sa_rng r;
	sa_rng_seed(&r, 1);
	struct sa_config c;
	sa_config_default(&c);
	cJSON *items = ports(200);
	struct sa_event *ev = NULL;
	sa_event_make(SA_LISTENING_PORTS, items, T0, 0, &r, &env, 204800, &ev, NULL);
	struct sa_queues qs;
	memset(&qs, 0, sizeof qs);
	sa_queues_push(&qs, &c, ev);
	ck_assert_uint_eq(qs.q[SA_Q_HIGH].n, 1);
	char *msg;
	size_t len, n;
	ck_assert_int_eq(sa_batch_build(&qs, SA_Q_HIGH, 8192, &env, &msg, &len, &n), SH_E_NOTFOUND);
	ck_assert_uint_eq(qs.q[SA_Q_HIGH].dropped, 1);
	ck_assert_uint_eq(sa_queues_bytes(&qs), 0);
	cJSON_Delete(items);
}
END_TEST

START_TEST(sa_sched_due_frequencies_and_size)
{
	struct sa_config c;
	sa_config_default(&c);
	c.high_freq_ms = 10000;
	c.low_freq_ms = 30000;
	c.snapshot_ms = 60000;
	struct sa_sched s;
	sa_sched_start(&s, T0);
	struct sa_queues qs;
	memset(&qs, 0, sizeof qs);
	ck_assert(sa_sched_snapshot_due(&s, &c, T0));
	s.last_snapshot_us = T0;
	ck_assert(!sa_sched_snapshot_due(&s, &c, T0 + 59999999));
	ck_assert(sa_sched_snapshot_due(&s, &c, T0 + 60000000));
	ck_assert_int_eq(sa_sched_due(&s, &c, &qs, T0 + 100000000), -1);   /* nothing queued */
	struct sa_rng r;
	sa_rng_seed(&r, 1);
	cJSON *items = ports(1);
	struct sa_event *ev = NULL;
	cJSON *term = cJSON_Parse("[{\"Executable\":\"/bin/ls\",\"ProcessId\":2,\"ExitStatus\":0}]");
	sa_event_make(SA_PROCESS_TERMINATE, term, T0, 0, &r, &env, 8192, &ev, NULL);
	cJSON_Delete(term);
	sa_queues_push(&qs, &c, ev);   /* low */
	ck_assert_int_eq(sa_sched_due(&s, &c, &qs, T0 + 29999999), -1);
	ck_assert_int_eq(sa_sched_due(&s, &c, &qs, T0 + 30000000), SA_Q_LOW);
	sa_event_make(SA_LISTENING_PORTS, items, T0, 0, &r, &env, 8192, &ev, NULL);
	sa_queues_push(&qs, &c, ev);   /* high */
	ck_assert_int_eq(sa_sched_due(&s, &c, &qs, T0 + 9999999), -1);
	ck_assert_int_eq(sa_sched_due(&s, &c, &qs, T0 + 10000000), SA_Q_HIGH);
	c.max_message_bytes = 100;   /* queued bytes over the message size: send now */
	ck_assert_int_eq(sa_sched_due(&s, &c, &qs, T0 + 1), SA_Q_HIGH);
	sa_queues_clear(&qs);
	cJSON_Delete(items);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sa_event");
	struct { const char *name; const TTest *t; } cases[] = {
		{"sa_guid", sa_guid_shape_and_determinism},
		{"sa_time", sa_time_formats_ok},
		{"sa_event_make", sa_event_make_single_event_valid},
		{"sa_event_make", sa_event_make_empty_periodic_and_triggered},
		{"sa_event_make", sa_event_make_splits_to_fit_message_size},
		{"sa_event_make", sa_event_make_oversize_item_skipped},
		{"sa_queues_push", sa_queues_push_cache_limit_drops_and_counts},
		{"sa_queue_for", sa_queue_for_priorities_and_off},
		{"sa_batch_build", sa_batch_build_order_and_every_kind_valid},
		{"sa_batch_build", sa_batch_build_drops_event_too_big_after_shrink},
		{"sa_sched_due", sa_sched_due_frequencies_and_size},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		TCase *t = tcase_create(cases[i].name);
		tcase_add_test(t, cases[i].t);
		suite_add_tcase(s, t);
	}
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
