/*
 * check_events.c: the hub event bus (events.c), C2D feedback records (c2d.c) and hub_reset,
 * driven over a real store on ":memory:" with a fake clock. Never opens a socket.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hub/hub.h"
#include "store/store.h"

static int64_t fake_now = 1700000000000000LL;
static uint8_t rnd_next;

static int64_t env_now(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static void env_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	for (size_t i = 0; i < len; i++)
		buf[i] = rnd_next++;
}

static const struct sh_hub_env env = {env_now, env_random, NULL};
static struct sh_store *st;
static struct sh_hub *hub;
static struct iothub_err err;

/* What a recording listener saw: "tag:kind:id" lines, and the last event rendered. */
#define LOG_MAX 64
struct rec {
	const char *tag;
	int n;
	char line[LOG_MAX][96];
	uint64_t ids[LOG_MAX];
	cJSON *json[LOG_MAX];
	int unlisten_handle;   /* unlisten this handle on the first event (0: none) */
	bool run_op;           /* run a hub operation from the first event */
};

static void rec_fn(void *ctx, const struct hub_event *ev)
{
	struct rec *r = ctx;
	if (r->n < LOG_MAX) {
		snprintf(r->line[r->n], sizeof r->line[0], "%s:%s:%s", r->tag,
			 hub_event_kind_str(ev->kind), ev->device_id ? ev->device_id : "-");
		r->ids[r->n] = ev->id;
		r->json[r->n] = hub_event_to_json(ev);
		r->n++;
	}
	if (r->unlisten_handle) {
		hub_event_unlisten(hub, r->unlisten_handle);
		r->unlisten_handle = 0;
	}
	if (r->run_op) {
		r->run_op = false;
		struct iothub_err e;
		ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, "x", 1, NULL, &e), SH_OK);
	}
}

/* Shared log across listeners, to check the order in which they are called. */
static char order[256];

static void order_a(void *ctx, const struct hub_event *ev)
{
	(void)ctx;
	(void)ev;
	strcat(order, "a");
}

static void order_b(void *ctx, const struct hub_event *ev)
{
	(void)ctx;
	(void)ev;
	strcat(order, "b");
}

static void rec_clear(struct rec *r)
{
	for (int i = 0; i < r->n; i++)
		cJSON_Delete(r->json[i]);
	r->n = 0;
}

static void setup(void)
{
	char msg[256];
	ck_assert_int_eq(store_open(":memory:", &st, msg, sizeof msg), SH_OK);
	ck_assert_int_eq(hub_open(st, &env, &hub, &err), SH_OK);
	memset(&err, 0, sizeof err);
	order[0] = '\0';
}

static void teardown(void)
{
	hub_close(hub);
	store_close(st);
}

static void add_device(const char *id)
{
	struct sh_identity r;
	memset(&r, 0, sizeof r);
	snprintf(r.device_id, sizeof r.device_id, "%s", id);
	ck_assert_int_eq(hub_identity_create(hub, &r, NULL, &err), SH_OK);
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* --- hub_event_listen ------------------------------------------------------------------------- */

START_TEST(hub_event_listen_two_listeners_called_in_registration_order)
{
	add_device("d1");
	ck_assert_int_eq(hub_event_listen(hub, order_a, NULL, NULL), SH_OK);
	ck_assert_int_eq(hub_event_listen(hub, order_b, NULL, NULL), SH_OK);
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, "1", 1, NULL, &err), SH_OK);
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, "2", 1, NULL, &err), SH_OK);
	ck_assert_str_eq(order, "abab");
}
END_TEST

START_TEST(hub_event_listen_null_fn_invalid)
{
	ck_assert_int_eq(hub_event_listen(hub, NULL, NULL, NULL), SH_E_INVALID);
}
END_TEST

START_TEST(hub_event_listen_held_batch_delivers_after_commit_only)
{
	add_device("d1");
	struct rec r = {.tag = "r"};
	ck_assert_int_eq(hub_event_listen(hub, rec_fn, &r, NULL), SH_OK);
	ck_assert_int_eq(hub_batch_hold(hub), SH_OK);
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, "{\"t\":1}", 7, NULL, &err), SH_OK);
	cJSON *p = cJSON_Parse("{\"a\":1}");
	ck_assert_int_eq(hub_twin_patch_desired(hub, "d1", NULL, p, NULL, &err), SH_OK);
	cJSON_Delete(p);
	ck_assert_int_eq(r.n, 0);            /* nothing before the commit */
	ck_assert_int_eq(hub_batch_release(hub), SH_OK);
	ck_assert_int_eq(r.n, 2);
	ck_assert_str_eq(r.line[0], "r:telemetry:d1");
	ck_assert_str_eq(r.line[1], "r:twin:d1");
	ck_assert_uint_eq(r.ids[1], r.ids[0] + 1);
	ck_assert_str_eq(jstr(r.json[0], "body"), "{\"t\":1}");
	ck_assert_str_eq(jstr(r.json[0], "type"), "telemetry");
	ck_assert_ptr_null(cJSON_GetObjectItem(r.json[0], "moduleId"));
	ck_assert_str_eq(jstr(r.json[1], "section"), "desired");
	ck_assert_double_eq(jnum(cJSON_GetObjectItem(r.json[1], "patch"), "a"), 1);
	ck_assert_double_eq(jnum(r.json[1], "desiredVersion"), 2);
	rec_clear(&r);
}
END_TEST

START_TEST(hub_event_listen_rolled_back_op_emits_nothing)
{
	add_device("d1");
	struct rec r = {.tag = "r"};
	ck_assert_int_eq(hub_event_listen(hub, rec_fn, &r, NULL), SH_OK);
	ck_assert_int_eq(hub_batch_hold(hub), SH_OK);
	/* A twin patch with a stale etag fails inside its operation: nothing is emitted. */
	cJSON *p = cJSON_Parse("{\"properties\":{\"desired\":{\"a\":1}}}");
	ck_assert_int_ne(hub_twin_service_patch(hub, "d1", NULL, p, "\"nope\"", NULL, &err), SH_OK);
	/* A twin patch that violates the limits fails after the merge: nothing either. */
	cJSON *bad = cJSON_Parse("{\"a.b\":1}");
	ck_assert_int_ne(hub_twin_patch_desired(hub, "d1", NULL, bad, NULL, &err), SH_OK);
	/* A C2D send past the queue limit rolls back. */
	struct hub_c2d_send m = {.body = "x", .len = 1};
	for (int i = 0; i < HUB_C2D_MAX_QUEUE; i++)
		ck_assert_int_eq(hub_c2d_send(hub, "d1", &m, NULL, &err), SH_OK);
	ck_assert_int_ne(hub_c2d_send(hub, "d1", &m, NULL, &err), SH_OK);
	ck_assert_int_eq(hub_batch_release(hub), SH_OK);
	ck_assert_int_eq(r.n, HUB_C2D_MAX_QUEUE);
	for (int i = 0; i < r.n; i++)
		ck_assert_str_eq(r.line[i], "r:c2d:d1");
	ck_assert_uint_eq(hub_metrics_get(hub)->committed[HUB_EV_TWIN][0], 0);
	ck_assert_uint_eq(hub_metrics_get(hub)->committed[HUB_EV_C2D][0], HUB_C2D_MAX_QUEUE);
	cJSON_Delete(p);
	cJSON_Delete(bad);
	rec_clear(&r);
}
END_TEST

START_TEST(hub_event_listen_nested_rollback_keeps_outer_events)
{
	add_device("d1");
	struct rec r = {.tag = "r"};
	ck_assert_int_eq(hub_event_listen(hub, rec_fn, &r, NULL), SH_OK);
	/* Without a held batch each op commits on its own and delivers at once. */
	ck_assert_int_eq(hub_connection_changed(hub, "d1", NULL, true, true, NULL, &err), SH_OK);
	ck_assert_int_eq(r.n, 1);
	ck_assert_str_eq(jstr(r.json[0], "event"), "connect");
	ck_assert_int_eq(hub_connection_changed(hub, "d1", NULL, false, true, "client-disconnect",
						&err), SH_OK);
	ck_assert_int_eq(r.n, 2);
	ck_assert_str_eq(jstr(r.json[1], "reason"), "client-disconnect");
	rec_clear(&r);
}
END_TEST

START_TEST(hub_event_listen_op_from_listener_delivered_after)
{
	add_device("d1");
	struct rec r = {.tag = "r", .run_op = true};
	ck_assert_int_eq(hub_event_listen(hub, rec_fn, &r, NULL), SH_OK);
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, "a", 1, NULL, &err), SH_OK);
	ck_assert_int_eq(r.n, 2);
	ck_assert_uint_eq(r.ids[1], r.ids[0] + 1);
	ck_assert_str_eq(jstr(r.json[0], "body"), "a");
	ck_assert_str_eq(jstr(r.json[1], "body"), "x");
	rec_clear(&r);
}
END_TEST

/* --- hub_event_unlisten ----------------------------------------------------------------------- */

START_TEST(hub_event_unlisten_during_delivery_stops_next_listener)
{
	add_device("d1");
	struct rec a = {.tag = "a"}, b = {.tag = "b"};
	int hb = 0;
	ck_assert_int_eq(hub_event_listen(hub, rec_fn, &a, NULL), SH_OK);
	ck_assert_int_eq(hub_event_listen(hub, rec_fn, &b, &hb), SH_OK);
	a.unlisten_handle = hb;   /* a removes b while the first event is being delivered */
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, "1", 1, NULL, &err), SH_OK);
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, "2", 1, NULL, &err), SH_OK);
	ck_assert_int_eq(a.n, 2);
	ck_assert_int_eq(b.n, 0);
	rec_clear(&a);
}
END_TEST

START_TEST(hub_event_unlisten_self_during_delivery_then_silent)
{
	add_device("d1");
	struct rec a = {.tag = "a"};
	int ha = 0;
	ck_assert_int_eq(hub_event_listen(hub, rec_fn, &a, &ha), SH_OK);
	a.unlisten_handle = ha;
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, "1", 1, NULL, &err), SH_OK);
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, "2", 1, NULL, &err), SH_OK);
	ck_assert_int_eq(a.n, 1);
	hub_event_unlisten(hub, 9999);   /* unknown: ignored */
	rec_clear(&a);
}
END_TEST

/* --- hub_event_emit, hub_event_kind_str / parse, hub_event_to_json ---------------------------------- */

START_TEST(hub_event_emit_outside_op_delivered_with_module)
{
	struct rec r = {.tag = "r"};
	ck_assert_int_eq(hub_event_listen(hub, rec_fn, &r, NULL), SH_OK);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "rule", "temp-high");
	cJSON_AddStringToObject(d, "type", "ignored: the envelope wins");
	hub_event_emit(hub, HUB_EV_ALERT, "d9", "m1", d);
	hub_event_emit(hub, HUB_EV_SECURITY, NULL, "", NULL);
	ck_assert_int_eq(r.n, 2);
	ck_assert_str_eq(jstr(r.json[0], "type"), "alert");
	ck_assert_str_eq(jstr(r.json[0], "moduleId"), "m1");
	ck_assert_str_eq(jstr(r.json[0], "rule"), "temp-high");
	ck_assert_ptr_null(cJSON_GetObjectItem(r.json[1], "deviceId"));
	ck_assert_ptr_null(cJSON_GetObjectItem(r.json[1], "moduleId"));
	ck_assert_str_eq(jstr(r.json[1], "time"), "2023-11-14T22:13:20.0000000Z");
	rec_clear(&r);
}
END_TEST

START_TEST(hub_event_kind_str_and_parse_round_trip)
{
	for (int k = 0; k < HUB_EV__COUNT; k++) {
		const char *n = hub_event_kind_str((enum hub_event_kind)k);
		enum hub_event_kind back;
		ck_assert(hub_event_kind_parse(n, strlen(n), &back));
		ck_assert_int_eq(back, k);
	}
	enum hub_event_kind x;
	ck_assert(!hub_event_kind_parse("", 0, &x));
	ck_assert(!hub_event_kind_parse("Twin", 4, &x));
	ck_assert(!hub_event_kind_parse("twins", 5, &x));
	ck_assert(!hub_event_kind_parse("tw", 2, &x));
	ck_assert_str_eq(hub_event_kind_str(HUB_EV__COUNT), "unknown");
}
END_TEST

/* --- hub_event_filter_init / hub_event_filter_match --------------------------------------------- */

START_TEST(hub_event_filter_init_bad_input_invalid)
{
	struct hub_event_filter f;
	char long_id[SH_ID_MAX + 2];
	memset(long_id, 'a', sizeof long_id - 1);
	long_id[sizeof long_id - 1] = '\0';
	ck_assert_int_eq(hub_event_filter_init(&f, "", NULL, NULL, &err), SH_E_INVALID);
	ck_assert_int_eq(err.code, IOTHUB_ARGUMENT_INVALID);
	ck_assert_int_eq(hub_event_filter_init(&f, "twin,", NULL, NULL, &err), SH_E_INVALID);
	ck_assert_int_eq(hub_event_filter_init(&f, ",twin", NULL, NULL, &err), SH_E_INVALID);
	ck_assert_int_eq(hub_event_filter_init(&f, "twin,bogus", NULL, NULL, &err), SH_E_INVALID);
	ck_assert_int_eq(hub_event_filter_init(&f, "TWIN", NULL, NULL, &err), SH_E_INVALID);
	ck_assert_int_eq(hub_event_filter_init(&f, NULL, "", NULL, &err), SH_E_INVALID);
	ck_assert_int_eq(hub_event_filter_init(&f, NULL, long_id, NULL, &err), SH_E_INVALID);
	ck_assert_int_eq(hub_event_filter_init(&f, NULL, NULL, long_id, &err), SH_E_INVALID);
}
END_TEST

START_TEST(hub_event_filter_match_types_device_module)
{
	struct hub_event_filter f;
	struct hub_event tele = {.kind = HUB_EV_TELEMETRY, .device_id = "d1"};
	struct hub_event twin_m = {.kind = HUB_EV_TWIN, .device_id = "d1", .module_id = "m1"};
	struct hub_event c2d_d2 = {.kind = HUB_EV_C2D, .device_id = "d2"};
	struct hub_event anon = {.kind = HUB_EV_SECURITY};
	ck_assert_int_eq(hub_event_filter_init(&f, NULL, NULL, NULL, &err), SH_OK);
	ck_assert(hub_event_filter_match(&f, &tele) && hub_event_filter_match(&f, &anon));
	ck_assert_int_eq(hub_event_filter_init(&f, "twin,c2d", NULL, NULL, &err), SH_OK);
	ck_assert(!hub_event_filter_match(&f, &tele));
	ck_assert(hub_event_filter_match(&f, &twin_m) && hub_event_filter_match(&f, &c2d_d2));
	ck_assert_int_eq(hub_event_filter_init(&f, NULL, "d1", NULL, &err), SH_OK);
	ck_assert(hub_event_filter_match(&f, &tele) && hub_event_filter_match(&f, &twin_m));
	ck_assert(!hub_event_filter_match(&f, &c2d_d2) && !hub_event_filter_match(&f, &anon));
	ck_assert_int_eq(hub_event_filter_init(&f, NULL, "d1", "m1", &err), SH_OK);
	ck_assert(!hub_event_filter_match(&f, &tele) && hub_event_filter_match(&f, &twin_m));
	ck_assert_int_eq(hub_event_filter_init(&f, NULL, "d1", "", &err), SH_OK);
	ck_assert(hub_event_filter_match(&f, &tele) && !hub_event_filter_match(&f, &twin_m));
}
END_TEST

START_TEST(hub_event_to_json_binary_body_is_base64)
{
	add_device("d1");
	struct rec r = {.tag = "r"};
	ck_assert_int_eq(hub_event_listen(hub, rec_fn, &r, NULL), SH_OK);
	static const uint8_t bin[] = {0xff, 0x00, 0x01};
	cJSON *app = cJSON_Parse("{\"k\":\"v\"}");
	ck_assert_int_eq(hub_telemetry(hub, "d1", "m", NULL, app, bin, sizeof bin, NULL, &err), SH_OK);
	ck_assert_int_eq(r.n, 1);
	ck_assert_str_eq(jstr(r.json[0], "body"), "/wAB");
	ck_assert_str_eq(jstr(r.json[0], "bodyEncoding"), "base64");
	ck_assert_str_eq(jstr(r.json[0], "moduleId"), "m");
	ck_assert_str_eq(jstr(cJSON_GetObjectItem(r.json[0], "properties"), "k"), "v");
	ck_assert_str_eq(jstr(cJSON_GetObjectItem(r.json[0], "systemProperties"),
			      "iothub-connection-device-id"), "d1");
	cJSON_Delete(app);
	rec_clear(&r);
}
END_TEST

START_TEST(hub_event_emit_method_record_event)
{
	struct rec r = {.tag = "r"};
	ck_assert_int_eq(hub_event_listen(hub, rec_fn, &r, NULL), SH_OK);
	int64_t id = 0;
	ck_assert_int_eq(hub_method_log_begin(hub, "d1", NULL, "reboot", NULL, 30, 0, &id, &err), SH_OK);
	ck_assert_int_eq(r.n, 0);
	fake_now += 1500000;
	cJSON *res = cJSON_Parse("{\"ok\":true}");
	ck_assert_int_eq(hub_method_log_finish(hub, id, 200, res, NULL, &err), SH_OK);
	ck_assert_int_eq(r.n, 1);
	ck_assert_str_eq(jstr(r.json[0], "methodName"), "reboot");
	ck_assert_str_eq(jstr(r.json[0], "outcome"), "completed");
	ck_assert_double_eq(jnum(r.json[0], "status"), 200);
	ck_assert_double_eq(jnum(r.json[0], "durationMs"), 1500);
	struct iothub_err to = {.code = IOTHUB_GATEWAY_TIMEOUT};
	ck_assert_int_eq(hub_method_log_begin(hub, "d1", NULL, "x", NULL, 5, 0, &id, &err), SH_OK);
	ck_assert_int_eq(hub_method_log_finish(hub, id, 0, NULL, &to, &err), SH_OK);
	ck_assert_str_eq(jstr(r.json[1], "outcome"), "timeout");
	ck_assert_double_eq(jnum(r.json[1], "errorCode"), 504101);
	ck_assert_uint_eq(hub_metrics_get(hub)->committed[HUB_EV_METHOD][0], 1);
	ck_assert_uint_eq(hub_metrics_get(hub)->committed[HUB_EV_METHOD][1], 1);
	cJSON_Delete(res);
	rec_clear(&r);
}
END_TEST

/* --- C2D feedback ----------------------------------------------------------------------------- */

struct fb_list {
	int n;
	char status[16][32];
	char msgid[16][32];
};

static sh_rc fb_collect(void *arg, const struct hub_c2d_feedback *f)
{
	struct fb_list *l = arg;
	if (l->n < 16) {
		snprintf(l->status[l->n], 32, "%s", f->status_code);
		snprintf(l->msgid[l->n], 32, "%s", f->original_message_id);
		l->n++;
	}
	ck_assert_str_eq(f->device_id, "d1");
	ck_assert_int_gt((int)strlen(f->device_generation_id), 0);
	return SH_OK;
}

static struct fb_list feedback_all(void)
{
	struct fb_list l;
	memset(&l, 0, sizeof l);
	struct hub_c2d_feedback_query q = {.from_us = INT64_MIN, .to_us = INT64_MAX};
	ck_assert_int_eq(hub_c2d_feedback_each(hub, &q, fb_collect, &l), SH_OK);
	return l;
}

/* Send one message with ack mode `ack` and message id `mid`, receive it, settle it with `how`. */
static void send_and_settle(const char *ack, const char *mid, enum hub_c2d_outcome how)
{
	struct hub_c2d_send m = {.body = "b", .len = 1, .ack = ack, .message_id = mid};
	ck_assert_int_eq(hub_c2d_send(hub, "d1", &m, NULL, &err), SH_OK);
	struct hub_c2d_msg got;
	ck_assert_int_eq(hub_c2d_receive(hub, "d1", HUB_C2D_LOCK_S, &got, &err), SH_OK);
	ck_assert_int_eq(hub_c2d_settle(hub, "d1", got.lock_token, how, &err), SH_OK);
	hub_c2d_msg_free(&got);
}

START_TEST(hub_c2d_feedback_each_per_ack_mode_and_outcome)
{
	add_device("d1");
	struct rec r = {.tag = "r"};
	ck_assert_int_eq(hub_event_listen(hub, rec_fn, &r, NULL), SH_OK);
	send_and_settle("none", "n-ok", HUB_C2D_COMPLETE);
	send_and_settle("none", "n-rej", HUB_C2D_REJECT);
	send_and_settle("positive", "p-ok", HUB_C2D_COMPLETE);
	send_and_settle("positive", "p-rej", HUB_C2D_REJECT);
	send_and_settle("negative", "g-ok", HUB_C2D_COMPLETE);
	send_and_settle("negative", "g-rej", HUB_C2D_REJECT);
	send_and_settle("full", "f-ok", HUB_C2D_COMPLETE);
	send_and_settle("full", "f-rej", HUB_C2D_REJECT);
	struct fb_list l = feedback_all();
	ck_assert_int_eq(l.n, 4);
	ck_assert_str_eq(l.msgid[0], "p-ok");
	ck_assert_str_eq(l.status[0], "Success");
	ck_assert_str_eq(l.msgid[1], "g-rej");
	ck_assert_str_eq(l.status[1], "Rejected");
	ck_assert_str_eq(l.msgid[2], "f-ok");
	ck_assert_str_eq(l.status[2], "Success");
	ck_assert_str_eq(l.msgid[3], "f-rej");
	ck_assert_str_eq(l.status[3], "Rejected");
	/* Each message: queued, delivered, completed|rejected (+ feedback when asked). */
	int fb_events = 0;
	for (int i = 0; i < r.n; i++)
		if (strcmp(jstr(r.json[i], "event"), "feedback") == 0) {
			fb_events++;
			ck_assert_ptr_nonnull(jstr(r.json[i], "statusCode"));
		}
	ck_assert_int_eq(fb_events, 4);
	ck_assert_int_eq(r.n, 8 * 3 + 4);
	rec_clear(&r);
}
END_TEST

START_TEST(hub_c2d_feedback_each_expired_and_delivery_count)
{
	add_device("d1");
	/* Expired: a negative-ack message whose TTL runs out before anyone takes it. */
	struct hub_c2d_send m = {.body = "b", .len = 1, .ack = "negative", .message_id = "exp",
				 .expiry_us = fake_now + 1000000};
	ck_assert_int_eq(hub_c2d_send(hub, "d1", &m, NULL, &err), SH_OK);
	struct hub_c2d_send pos = {.body = "b", .len = 1, .ack = "positive", .message_id = "exp-pos",
				   .expiry_us = fake_now + 1000000};
	ck_assert_int_eq(hub_c2d_send(hub, "d1", &pos, NULL, &err), SH_OK);
	fake_now += 2000000;
	struct hub_c2d_msg got;
	ck_assert_int_eq(hub_c2d_receive(hub, "d1", HUB_C2D_LOCK_S, &got, &err), SH_E_NOTFOUND);
	/* Delivery count exceeded: a full-ack message abandoned HUB_C2D_MAX_DELIVERIES times. */
	struct hub_c2d_send f = {.body = "b", .len = 1, .ack = "full", .message_id = "dce"};
	ck_assert_int_eq(hub_c2d_send(hub, "d1", &f, NULL, &err), SH_OK);
	for (int i = 0; i < HUB_C2D_MAX_DELIVERIES; i++) {
		ck_assert_int_eq(hub_c2d_receive(hub, "d1", HUB_C2D_LOCK_S, &got, &err), SH_OK);
		ck_assert_int_eq(hub_c2d_settle(hub, "d1", got.lock_token, HUB_C2D_ABANDON, &err), SH_OK);
		hub_c2d_msg_free(&got);
	}
	ck_assert_int_eq(hub_c2d_receive(hub, "d1", HUB_C2D_LOCK_S, &got, &err), SH_E_NOTFOUND);
	struct fb_list l = feedback_all();
	ck_assert_int_eq(l.n, 2);
	ck_assert_str_eq(l.msgid[0], "exp");
	ck_assert_str_eq(l.status[0], "Expired");
	ck_assert_str_eq(l.msgid[1], "dce");
	ck_assert_str_eq(l.status[1], "DeliveryCountExceeded");
	const struct hub_metrics *mx = hub_metrics_get(hub);
	ck_assert_uint_eq(mx->committed[HUB_EV_C2D][5], 2);   /* expired */
	ck_assert_uint_eq(mx->committed[HUB_EV_C2D][4], HUB_C2D_MAX_DELIVERIES - 1); /* abandoned */
	ck_assert_uint_eq(mx->committed[HUB_EV_C2D][6], 1);   /* deadlettered */
	ck_assert_uint_eq(mx->committed[HUB_EV_C2D][7], 2);   /* feedback */
}
END_TEST

START_TEST(hub_c2d_feedback_each_filters_and_pages)
{
	add_device("d1");
	send_and_settle("full", "a", HUB_C2D_COMPLETE);
	fake_now += 10000000;
	int64_t mid = fake_now;
	send_and_settle("full", "b", HUB_C2D_COMPLETE);
	send_and_settle("full", "c", HUB_C2D_COMPLETE);
	struct fb_list l;
	memset(&l, 0, sizeof l);
	struct hub_c2d_feedback_query q = {.from_us = mid, .to_us = INT64_MAX, .limit = 1};
	ck_assert_int_eq(hub_c2d_feedback_each(hub, &q, fb_collect, &l), SH_OK);
	ck_assert_int_eq(l.n, 1);
	ck_assert_str_eq(l.msgid[0], "b");
	memset(&l, 0, sizeof l);
	q.device_id = "other";
	q.limit = 0;
	ck_assert_int_eq(hub_c2d_feedback_each(hub, &q, fb_collect, &l), SH_OK);
	ck_assert_int_eq(l.n, 0);
}
END_TEST

/* --- hub_reset ---------------------------------------------------------------------------------- */

START_TEST(hub_reset_empties_data_keeps_policies)
{
	add_device("d1");
	add_device("d2");
	struct sh_identity mr;
	memset(&mr, 0, sizeof mr);
	snprintf(mr.device_id, sizeof mr.device_id, "d1");
	snprintf(mr.module_id, sizeof mr.module_id, "m1");
	ck_assert_int_eq(hub_identity_create(hub, &mr, NULL, &err), SH_OK);
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, "1", 1, NULL, &err), SH_OK);
	ck_assert_int_eq(hub_connection_changed(hub, "d1", NULL, true, true, NULL, &err), SH_OK);
	send_and_settle("full", "a", HUB_C2D_COMPLETE);
	struct hub_reset_counts c;
	ck_assert_int_eq(hub_reset(hub, false, &c, &err), SH_OK);
	ck_assert_int_eq(c.devices, 2);
	ck_assert_int_eq(c.modules, 1);
	ck_assert_int_eq(c.d2c_messages, 1);
	ck_assert_int_eq(c.c2d_messages, 1);
	ck_assert_int_eq(c.c2d_feedback, 1);
	ck_assert_int_eq(c.connection_events, 1);
	struct sh_identity out;
	ck_assert_int_ne(hub_identity_get(hub, "d1", NULL, &out, &err), SH_OK);
	struct sh_policy p;
	ck_assert_int_eq(hub_policy_get(hub, "iothubowner", &p, &err), SH_OK);
	ck_assert_int_eq(feedback_all().n, 0);
	/* Again on the empty hub: nothing to remove. */
	ck_assert_int_eq(hub_reset(hub, false, &c, &err), SH_OK);
	ck_assert_int_eq(c.devices, 0);
	add_device("d1");   /* the ids are free again */
}
END_TEST

static Suite *events_suite(void)
{
	Suite *s = suite_create("events");
	TCase *tc = tcase_create("hub_event_listen");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hub_event_listen_two_listeners_called_in_registration_order);
	tcase_add_test(tc, hub_event_listen_null_fn_invalid);
	tcase_add_test(tc, hub_event_listen_held_batch_delivers_after_commit_only);
	tcase_add_test(tc, hub_event_listen_rolled_back_op_emits_nothing);
	tcase_add_test(tc, hub_event_listen_nested_rollback_keeps_outer_events);
	tcase_add_test(tc, hub_event_listen_op_from_listener_delivered_after);
	suite_add_tcase(s, tc);
	tc = tcase_create("hub_event_unlisten");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hub_event_unlisten_during_delivery_stops_next_listener);
	tcase_add_test(tc, hub_event_unlisten_self_during_delivery_then_silent);
	suite_add_tcase(s, tc);
	tc = tcase_create("hub_event_emit");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hub_event_emit_outside_op_delivered_with_module);
	tcase_add_test(tc, hub_event_emit_method_record_event);
	suite_add_tcase(s, tc);
	tc = tcase_create("hub_event_kind_str");
	tcase_add_test(tc, hub_event_kind_str_and_parse_round_trip);
	suite_add_tcase(s, tc);
	tc = tcase_create("hub_event_filter");
	tcase_add_test(tc, hub_event_filter_init_bad_input_invalid);
	tcase_add_test(tc, hub_event_filter_match_types_device_module);
	suite_add_tcase(s, tc);
	tc = tcase_create("hub_event_to_json");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hub_event_to_json_binary_body_is_base64);
	suite_add_tcase(s, tc);
	tc = tcase_create("hub_c2d_feedback_each");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hub_c2d_feedback_each_per_ack_mode_and_outcome);
	tcase_add_test(tc, hub_c2d_feedback_each_expired_and_delivery_count);
	tcase_add_test(tc, hub_c2d_feedback_each_filters_and_pages);
	suite_add_tcase(s, tc);
	tc = tcase_create("hub_reset");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hub_reset_empties_data_keeps_policies);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(events_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
