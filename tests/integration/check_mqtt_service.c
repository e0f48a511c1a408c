/*
 * check_mqtt_service.c: what the service REST API sends to MQTT devices (iothub-protocol.md §3.4,
 * §3.5, §5, §8.4): a desired change (PATCH /twins/{id}) is pushed to its identity's subscribed
 * connection only; a direct method (POST .../methods) reaches only its target, and the device's
 * answer, its silence or its absence becomes the HTTP answer. Never a fixed sleep: bounded waits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"

#define DESIRED_FILTER "$iothub/twin/PATCH/properties/desired/#"
#define METHODS_FILTER "$iothub/methods/POST/#"

/* A device or module client over TCP, subscribed to f1 and f2 when they are not NULL. */
static struct hx_mq *client(const char *dev, const char *mod, const char *key, const char *f1,
			    const char *f2)
{
	struct hx_mq *c = hx_mq_device(dev, mod, key, false);
	if (f1)
		ck_assert_int_ge(hx_mq_subscribe(c, f1, 0), 0);
	if (f2)
		ck_assert_int_ge(hx_mq_subscribe(c, f2, 0), 0);
	return c;
}

/* The IoT Hub error code of an HTTP error answer, in the current format (Message holds JSON). */
static int64_t error_code(const struct hx_http *r)
{
	cJSON *outer = hx_json(r->body, r->len);
	const char *msg = hx_jstr(outer, "Message");
	ck_assert_msg(msg != NULL, "error body without Message: %s", r->body);
	cJSON *inner = hx_json(msg, strlen(msg));
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(inner, "errorCode");
	ck_assert_msg(cJSON_IsNumber(code), "error Message without errorCode: %s", msg);
	return (int64_t)code->valuedouble;
}

/* The stored desired $version of an identity's twin. */
static int64_t desired_version(const char *dev, const char *mod)
{
	return hx_db_int("SELECT json_extract(document, '$.properties.desired.\"$version\"') FROM twins "
			 "WHERE device_id = %Q AND module_id = %Q",
			 dev, mod ? mod : "");
}

static const char *twin_path(const char *dev, const char *mod)
{
	return mod ? hx_fmt("/twins/%s/modules/%s", dev, mod) : hx_fmt("/twins/%s", dev);
}

/* Service PATCH of desired properties; fail unless HTTP 200. */
static void patch_desired(const char *dev, const char *mod, const char *desired)
{
	struct hx_http r;
	hx_https("PATCH", twin_path(dev, mod), hx_fmt("{\"properties\":{\"desired\":%s}}", desired), &r);
	ck_assert_msg(r.status == 200, "PATCH %s: HTTP %d %s", twin_path(dev, mod), r.status, r.body);
}

/* Fail unless the next message is the desired push of version v with exactly `want` (+ $version). */
static void expect_push(struct hx_mq *c, int64_t v, const char *want)
{
	const struct hx_msg *m =
		hx_mq_expect(c, hx_fmt("$iothub/twin/PATCH/properties/desired/?$version=%lld", (long long)v));
	ck_assert_int_eq(m->qos, 0);
	cJSON *w = hx_json(want, strlen(want));
	cJSON_AddNumberToObject(w, "$version", (double)v);
	char *txt = cJSON_PrintUnformatted(w);
	const char *wt = hx_fmt("%s", txt);
	cJSON_free(txt);
	hx_json_eq(m->payload, m->len, wt, "desired push body");
}

/* --- desired push ----------------------------------------------------------------------------- */

START_TEST(desired_patch_pushed_with_version)
{
	struct hx_mq *c = client(HX_DEV1, NULL, HX_DEV1_KEY, DESIRED_FILTER, NULL);
	int64_t v = desired_version(HX_DEV1, NULL);
	patch_desired(HX_DEV1, NULL, "{\"interval\":10,\"mode\":{\"a\":1},\"gone\":null}");
	ck_assert_int_eq(desired_version(HX_DEV1, NULL), v + 1);
	/* The patch as the service sent it (deleted keys as null), plus $version. */
	expect_push(c, v + 1, "{\"interval\":10,\"mode\":{\"a\":1},\"gone\":null}");
	patch_desired(HX_DEV1, NULL, "{\"interval\":null}");
	expect_push(c, v + 2, "{\"interval\":null}");
}
END_TEST

START_TEST(desired_push_over_tls_module)
{
	struct hx_mq *m = hx_mq_device(HX_GW, HX_MOD, HX_GW_M1_KEY, true);
	ck_assert_int_eq(hx_mq_subscribe(m, DESIRED_FILTER, 1), 1);
	struct hx_mq *d = client(HX_GW, NULL, HX_GW_KEY, DESIRED_FILTER, NULL);
	int64_t mv = desired_version(HX_GW, HX_MOD), dv = desired_version(HX_GW, NULL);
	patch_desired(HX_GW, HX_MOD, "{\"mode\":\"slow\"}");
	expect_push(m, mv + 1, "{\"mode\":\"slow\"}");
	/* The device gw got nothing: its next message is its own later push. */
	patch_desired(HX_GW, NULL, "{\"d\":1}");
	expect_push(d, dv + 1, "{\"d\":1}");
}
END_TEST

/* dev1 and dev2 both subscribed: a change of dev1's twin reaches dev1 only (§12.1). */
START_TEST(desired_push_only_to_its_identity)
{
	struct hx_mq *a = client(HX_DEV1, NULL, HX_DEV1_KEY, DESIRED_FILTER, NULL);
	struct hx_mq *b = client(HX_DEV2, NULL, HX_DEV2_KEY, DESIRED_FILTER, NULL);
	int64_t va = desired_version(HX_DEV1, NULL), vb = desired_version(HX_DEV2, NULL);
	patch_desired(HX_DEV1, NULL, "{\"for\":\"a\"}");
	expect_push(a, va + 1, "{\"for\":\"a\"}");
	patch_desired(HX_DEV2, NULL, "{\"for\":\"b\"}");
	expect_push(b, vb + 1, "{\"for\":\"b\"}");   /* first message on b: nothing of a's came */
	ck_assert_ptr_null(hx_mq_next(a, 200));
}
END_TEST

/* Not subscribed to desired: no push; the next message is the answer to a later GET (§3.4). */
START_TEST(desired_not_pushed_without_subscription)
{
	struct hx_mq *c = client(HX_DEV1, NULL, HX_DEV1_KEY, "$iothub/twin/res/#", NULL);
	int64_t v = desired_version(HX_DEV1, NULL);
	patch_desired(HX_DEV1, NULL, "{\"quiet\":true}");
	ck_assert(hx_mq_publish(c, "$iothub/twin/GET/?$rid=after", "", 0, 0, false));
	const struct hx_msg *m = hx_mq_expect(c, "$iothub/twin/res/200/?$rid=after");
	cJSON *body = hx_json(m->payload, m->len);
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(body, "desired");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(d, "$version");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "quiet")));
	ck_assert(cJSON_IsNumber(ver) && (int64_t)ver->valuedouble == v + 1);
}
END_TEST

/* A tags-only change is no desired change: nothing is pushed. */
START_TEST(desired_not_pushed_for_tags)
{
	struct hx_mq *c = client(HX_DEV1, NULL, HX_DEV1_KEY, DESIRED_FILTER, NULL);
	int64_t v = desired_version(HX_DEV1, NULL);
	struct hx_http r;
	hx_https("PATCH", "/twins/dev1", "{\"tags\":{\"site\":\"lab\"}}", &r);
	ck_assert_msg(r.status == 200, "tags PATCH: HTTP %d %s", r.status, r.body);
	ck_assert_int_eq(desired_version(HX_DEV1, NULL), v);
	patch_desired(HX_DEV1, NULL, "{\"x\":1}");
	expect_push(c, v + 1, "{\"x\":1}");   /* the first message */
}
END_TEST

/* A refused service call (bad token) changes nothing and pushes nothing. */
START_TEST(desired_unauthorized_patch_not_pushed)
{
	struct hx_mq *c = client(HX_DEV1, NULL, HX_DEV1_KEY, DESIRED_FILTER, NULL);
	int64_t v = desired_version(HX_DEV1, NULL);
	char bad[HX_TOKEN_MAX];
	hx_sas(bad, HX_SAS_NODE, HX_HOST, HX_UNUSED_KEY, "iothubowner", hx_wall_s() + 3600);
	struct hx_http r;
	hx_https_wait(hx_https_send("PATCH", "/twins/dev1", "{\"properties\":{\"desired\":{\"no\":1}}}", bad),
		      &r, HX_WAIT_MS);
	ck_assert_int_eq(r.status, 401);
	hx_https_wait(hx_https_send("PATCH", "/twins/dev1", "{\"properties\":{\"desired\":{\"no\":1}}}",
				    NULL),
		      &r, HX_WAIT_MS);
	ck_assert_int_eq(r.status, 401);
	ck_assert_int_eq(desired_version(HX_DEV1, NULL), v);
	patch_desired(HX_DEV1, NULL, "{\"yes\":1}");
	expect_push(c, v + 1, "{\"yes\":1}");
}
END_TEST

/* --- direct methods --------------------------------------------------------------------------- */

/* The $rid of a method request topic "$iothub/methods/POST/{name}/?$rid={rid}" (kept). */
static const char *request_rid(const struct hx_msg *m, const char *name)
{
	const char *prefix = hx_fmt("$iothub/methods/POST/%s/?$rid=", name);
	ck_assert_msg(strncmp(m->topic, prefix, strlen(prefix)) == 0, "method request on %s, want %s...",
		      m->topic, prefix);
	const char *rid = m->topic + strlen(prefix);
	ck_assert_msg(*rid && !strchr(rid, '&'), "odd $rid in %s", m->topic);
	return hx_fmt("%s", rid);
}

static struct hx_https *invoke(const char *dev, const char *mod, const char *body)
{
	const char *path = mod ? hx_fmt("/twins/%s/modules/%s/methods", dev, mod)
			       : hx_fmt("/twins/%s/methods", dev);
	return hx_https_send("POST", path, body, hx_service_token());
}

static void answer(struct hx_mq *c, const char *status, const char *rid, const char *body)
{
	ck_assert(hx_mq_publish(c, hx_fmt("$iothub/methods/res/%s/?$rid=%s", status, rid), body,
				strlen(body), 0, false));
}

START_TEST(method_device_answer_returned_200)
{
	struct hx_mq *c = client(HX_DEV1, NULL, HX_DEV1_KEY, METHODS_FILTER, NULL);
	struct hx_https *r = invoke(HX_DEV1, NULL,
				    "{\"methodName\":\"reboot\",\"payload\":{\"delay\":5,\"why\":\"test\"},"
				    "\"responseTimeoutInSeconds\":30}");
	const struct hx_msg *m = hx_mq_next(c, HX_WAIT_MS);
	ck_assert_msg(m != NULL, "the device got no method request");
	ck_assert_int_eq(m->qos, 0);
	const char *rid = request_rid(m, "reboot");
	hx_json_eq(m->payload, m->len, "{\"delay\":5,\"why\":\"test\"}", "method request body");
	answer(c, "200", rid, "{\"done\":true}");
	struct hx_http h;
	hx_https_wait(r, &h, HX_WAIT_MS);
	ck_assert_msg(h.status == 200, "HTTP %d %s", h.status, h.body);
	hx_json_eq(h.body, h.len, "{\"status\":200,\"payload\":{\"done\":true}}", "method result");
	const char *ct = hx_http_header(&h, "Content-Type");
	ck_assert_msg(ct && strstr(ct, "application/json"), "Content-Type %s", ct ? ct : "(none)");
}
END_TEST

/* The answered call is recorded once, completed with the device's status and payload. */
START_TEST(method_answered_call_recorded_completed)
{
	struct hx_mq *c = client(HX_DEV1, NULL, HX_DEV1_KEY, METHODS_FILTER, NULL);
	struct hx_https *r = invoke(HX_DEV1, NULL,
				    "{\"methodName\":\"logme\",\"payload\":{\"n\":1},"
				    "\"responseTimeoutInSeconds\":12,\"connectTimeoutInSeconds\":3}");
	const struct hx_msg *m = hx_mq_next(c, HX_WAIT_MS);
	ck_assert_ptr_nonnull(m);
	const char *rid = request_rid(m, "logme");
	ck_assert_str_eq(hx_db_text("SELECT state || '/' || payload || '/' || timeout_us || '/' || "
				    "connect_timeout_us FROM method_calls WHERE method_name = 'logme'"),
			 "pending/{\"n\":1}/12000000/3000000");
	answer(c, "-3", rid, "{\"ok\":false}");
	struct hx_http h;
	hx_https_wait(r, &h, HX_WAIT_MS);
	ck_assert_msg(h.status == 200, "HTTP %d %s", h.status, h.body);
	ck_assert_int_eq(hx_db_int("SELECT count(*) FROM method_calls"), 1);
	ck_assert_str_eq(hx_db_text("SELECT device_id || '/' || module_id || '/' || state || '/' || "
				    "status || '/' || result || '/' || ifnull(error_code, '-') || '/' || "
				    "(completed_us >= invoked_us) FROM method_calls"),
			 "dev1//completed/-3/{\"ok\":false}/-/1");
}
END_TEST

/* The device's status is passed through as a signed integer; an empty body is a null payload. */
START_TEST(method_device_status_passed_through)
{
	struct hx_mq *c = client(HX_DEV1, NULL, HX_DEV1_KEY, METHODS_FILTER, NULL);
	struct hx_https *r = invoke(HX_DEV1, NULL, "{\"methodName\":\"fail\"}");
	const struct hx_msg *m = hx_mq_next(c, HX_WAIT_MS);
	ck_assert_ptr_nonnull(m);
	const char *rid = request_rid(m, "fail");
	hx_json_eq(m->payload, m->len, "null", "absent payload");   /* sent as JSON null */
	answer(c, "-7", rid, "");
	struct hx_http h;
	hx_https_wait(r, &h, HX_WAIT_MS);
	ck_assert_msg(h.status == 200, "HTTP %d %s", h.status, h.body);   /* 200 whatever the device said */
	hx_json_eq(h.body, h.len, "{\"status\":-7,\"payload\":null}", "method result");
}
END_TEST

/* An answer with a $rid that is pending nowhere is dropped; the right one still completes. */
START_TEST(method_answer_unknown_rid_ignored)
{
	struct hx_mq *c = client(HX_DEV1, NULL, HX_DEV1_KEY, METHODS_FILTER, NULL);
	struct hx_https *r = invoke(HX_DEV1, NULL, "{\"methodName\":\"m\",\"payload\":1}");
	const struct hx_msg *m = hx_mq_next(c, HX_WAIT_MS);
	ck_assert_ptr_nonnull(m);
	const char *rid = request_rid(m, "m");
	answer(c, "500", hx_fmt("%sx", rid), "{\"wrong\":1}");
	answer(c, "201", rid, "[1,2]");
	struct hx_http h;
	hx_https_wait(r, &h, HX_WAIT_MS);
	hx_json_eq(h.body, h.len, "{\"status\":201,\"payload\":[1,2]}", "method result");
	ck_assert(hx_mq_connected(c));
}
END_TEST

/* docs/differences.md: a non-JSON answer reaches the caller as a JSON string. */
START_TEST(method_non_json_answer_as_string)
{
	struct hx_mq *c = client(HX_DEV1, NULL, HX_DEV1_KEY, METHODS_FILTER, NULL);
	struct hx_https *r = invoke(HX_DEV1, NULL, "{\"methodName\":\"txt\"}");
	const struct hx_msg *m = hx_mq_next(c, HX_WAIT_MS);
	ck_assert_ptr_nonnull(m);
	answer(c, "200", request_rid(m, "txt"), "plain words");
	struct hx_http h;
	hx_https_wait(r, &h, HX_WAIT_MS);
	hx_json_eq(h.body, h.len, "{\"status\":200,\"payload\":\"plain words\"}", "method result");
}
END_TEST

START_TEST(method_module_target_only)
{
	struct hx_mq *mod = client(HX_GW, HX_MOD, HX_GW_M1_KEY, METHODS_FILTER, NULL);
	struct hx_mq *dev = client(HX_GW, NULL, HX_GW_KEY, METHODS_FILTER, NULL);
	struct hx_https *r = invoke(HX_GW, HX_MOD, "{\"methodName\":\"modcall\",\"payload\":{}}");
	const struct hx_msg *m = hx_mq_next(mod, HX_WAIT_MS);
	ck_assert_ptr_nonnull(m);
	answer(mod, "200", request_rid(m, "modcall"), "{\"from\":\"m1\"}");
	struct hx_http h;
	hx_https_wait(r, &h, HX_WAIT_MS);
	hx_json_eq(h.body, h.len, "{\"status\":200,\"payload\":{\"from\":\"m1\"}}", "module method result");
	/* The device's first method request is its own. */
	r = invoke(HX_GW, NULL, "{\"methodName\":\"devcall\"}");
	m = hx_mq_next(dev, HX_WAIT_MS);
	ck_assert_ptr_nonnull(m);
	answer(dev, "200", request_rid(m, "devcall"), "{}");
	hx_https_wait(r, &h, HX_WAIT_MS);
	ck_assert_int_eq(h.status, 200);
}
END_TEST

START_TEST(method_only_to_target_device)
{
	struct hx_mq *a = client(HX_DEV1, NULL, HX_DEV1_KEY, METHODS_FILTER, NULL);
	struct hx_mq *b = client(HX_DEV2, NULL, HX_DEV2_KEY, METHODS_FILTER, NULL);
	struct hx_https *r = invoke(HX_DEV1, NULL, "{\"methodName\":\"forA\"}");
	const struct hx_msg *m = hx_mq_next(a, HX_WAIT_MS);
	ck_assert_ptr_nonnull(m);
	answer(a, "200", request_rid(m, "forA"), "1");
	struct hx_http h;
	hx_https_wait(r, &h, HX_WAIT_MS);
	r = invoke(HX_DEV2, NULL, "{\"methodName\":\"forB\"}");
	m = hx_mq_next(b, HX_WAIT_MS);
	ck_assert_ptr_nonnull(m);
	request_rid(m, "forB");   /* b's first request is its own */
	answer(b, "200", request_rid(m, "forB"), "2");
	hx_https_wait(r, &h, HX_WAIT_MS);
	hx_json_eq(h.body, h.len, "{\"status\":200,\"payload\":2}", "dev2's method result");
}
END_TEST

START_TEST(method_not_subscribed_404103)
{
	struct hx_mq *c = client(HX_DEV1, NULL, HX_DEV1_KEY, "$iothub/twin/res/#", NULL);
	struct hx_http h;
	hx_https_wait(invoke(HX_DEV1, NULL, "{\"methodName\":\"x\"}"), &h, HX_WAIT_MS);
	ck_assert_msg(h.status == 404, "HTTP %d %s", h.status, h.body);
	ck_assert_int_eq(error_code(&h), 404103);
	const char *name = hx_http_header(&h, "iothub-errorcode");
	ck_assert_msg(name && strcmp(name, "DeviceNotOnline") == 0, "iothub-errorcode %s",
		      name ? name : "(none)");
	ck_assert_ptr_null(hx_mq_next(c, 200));
}
END_TEST

START_TEST(method_offline_404103)
{
	struct hx_http h;
	hx_https_wait(invoke(HX_DEV1, NULL, "{\"methodName\":\"x\"}"), &h, HX_WAIT_MS);
	ck_assert_msg(h.status == 404, "HTTP %d %s", h.status, h.body);
	ck_assert_int_eq(error_code(&h), 404103);
}
END_TEST

START_TEST(method_unknown_device_404001)
{
	struct hx_http h;
	hx_https_wait(invoke("ghost", NULL, "{\"methodName\":\"x\"}"), &h, HX_WAIT_MS);
	ck_assert_msg(h.status == 404, "HTTP %d %s", h.status, h.body);
	ck_assert_int_eq(error_code(&h), 404001);
}
END_TEST

/* The device takes the request and never answers: 504101 after responseTimeoutInSeconds (5). */
START_TEST(method_timeout_504101)
{
	struct hx_mq *c = client(HX_DEV1, NULL, HX_DEV1_KEY, METHODS_FILTER, NULL);
	int64_t t0 = hx_mono_ms();
	struct hx_https *r = invoke(HX_DEV1, NULL, "{\"methodName\":\"slow\",\"responseTimeoutInSeconds\":5}");
	const struct hx_msg *m = hx_mq_next(c, HX_WAIT_MS);
	ck_assert_ptr_nonnull(m);
	const char *rid = request_rid(m, "slow");
	struct hx_http h;
	hx_https_wait(r, &h, 9000);
	int64_t took = hx_mono_ms() - t0;
	ck_assert_msg(h.status == 504, "HTTP %d %s", h.status, h.body);
	ck_assert_int_eq(error_code(&h), 504101);
	ck_assert_msg(took >= 4900 && took <= 8000, "timed out after %lld ms, want about 5 s",
		      (long long)took);
	/* A late answer is dropped; the device stays connected. */
	answer(c, "200", rid, "{}");
	ck_assert(hx_mq_publish(c, "devices/dev1/messages/events/", "x", 1, 1, false));
	/* recorded once as a timeout; the late answer did not finish it again */
	ck_assert_str_eq(hx_db_text("SELECT group_concat(state || '/' || error_code || '/' || "
				    "ifnull(status, '-') || '/' || ifnull(result, '-')) FROM method_calls "
				    "WHERE method_name = 'slow'"), "timeout/504101/-/-");
}
END_TEST

/* The device takes the request and goes away: the caller gets 404103 at once, not a timeout. */
START_TEST(method_device_gone_404103)
{
	int fd = hx_raw_device(HX_DEV1, NULL, HX_DEV1_KEY, 60);
	hx_raw_subscribe(fd, 1, METHODS_FILTER, 0);
	int64_t t0 = hx_mono_ms();
	struct hx_https *r = invoke(HX_DEV1, NULL, "{\"methodName\":\"bye\",\"responseTimeoutInSeconds\":60}");
	struct hx_packet p;
	hx_raw_packet(fd, &p, "method request");
	ck_assert_int_eq(p.first, 0x30);
	ck_assert_msg(strncmp(p.topic, "$iothub/methods/POST/bye/?$rid=", 31) == 0, "topic %s", p.topic);
	hx_raw_close(fd);
	struct hx_http h;
	hx_https_wait(r, &h, HX_WAIT_MS);
	ck_assert_msg(h.status == 404, "HTTP %d %s", h.status, h.body);
	ck_assert_int_eq(error_code(&h), 404103);
	ck_assert_msg(hx_mono_ms() - t0 < HX_WAIT_MS, "the caller waited for the timeout");
}
END_TEST

/* connectTimeoutInSeconds: the call waits for the device to connect and subscribe (§5). */
START_TEST(method_connect_timeout_waits_for_device)
{
	struct hx_https *r = invoke(HX_DEV1, NULL,
				    "{\"methodName\":\"late\",\"payload\":7,\"connectTimeoutInSeconds\":20}");
	/* The request is in (the hub read it) once the service statistics answer on another connection. */
	struct hx_http h;
	hx_https("GET", "/statistics/service", NULL, &h);
	ck_assert_int_eq(h.status, 200);
	struct hx_mq *c = client(HX_DEV1, NULL, HX_DEV1_KEY, METHODS_FILTER, NULL);
	const struct hx_msg *m = hx_mq_next(c, HX_WAIT_MS);
	ck_assert_msg(m != NULL, "the waiting method call did not reach the device once it subscribed");
	hx_json_eq(m->payload, m->len, "7", "method request body");
	answer(c, "200", request_rid(m, "late"), "{\"came\":true}");
	hx_https_wait(r, &h, HX_WAIT_MS);
	hx_json_eq(h.body, h.len, "{\"status\":200,\"payload\":{\"came\":true}}", "method result");
}
END_TEST

START_TEST(method_connect_timeout_expires_404103)
{
	int64_t t0 = hx_mono_ms();
	struct hx_https *r = invoke(HX_DEV1, NULL, "{\"methodName\":\"never\",\"connectTimeoutInSeconds\":1}");
	struct hx_http h;
	hx_https_wait(r, &h, HX_WAIT_MS);
	int64_t took = hx_mono_ms() - t0;
	ck_assert_msg(h.status == 404, "HTTP %d %s", h.status, h.body);
	ck_assert_int_eq(error_code(&h), 404103);
	ck_assert_msg(took >= 900 && took <= 4000, "answered after %lld ms, want about 1 s", (long long)took);
}
END_TEST

START_TEST(method_bad_requests_400)
{
	static const char *const bodies[] = {
		"{\"payload\":1}",                                      /* no methodName */
		"{\"methodName\":\"a/b\"}",                             /* '/' not allowed */
		"{\"methodName\":\"ok\",\"responseTimeoutInSeconds\":4}",   /* under 5 */
		"{\"methodName\":\"ok\",\"responseTimeoutInSeconds\":301}", /* over 300 */
		"not json",
	};
	struct hx_mq *c = client(HX_DEV1, NULL, HX_DEV1_KEY, METHODS_FILTER, NULL);
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		struct hx_http h;
		hx_https_wait(invoke(HX_DEV1, NULL, bodies[i]), &h, HX_WAIT_MS);
		ck_assert_msg(h.status == 400, "%s: HTTP %d %s", bodies[i], h.status, h.body);
		ck_assert_int_eq(error_code(&h), 400004);
	}
	ck_assert_ptr_null(hx_mq_next(c, 200));   /* nothing reached the device */
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("mqtt_service");
	TCase *tc = hx_tcase("desired_push");
	tcase_add_test(tc, desired_patch_pushed_with_version);
	tcase_add_test(tc, desired_push_over_tls_module);
	tcase_add_test(tc, desired_push_only_to_its_identity);
	tcase_add_test(tc, desired_not_pushed_without_subscription);
	tcase_add_test(tc, desired_not_pushed_for_tags);
	tcase_add_test(tc, desired_unauthorized_patch_not_pushed);
	suite_add_tcase(s, tc);

	tc = hx_tcase("direct_methods");
	tcase_add_test(tc, method_device_answer_returned_200);
	tcase_add_test(tc, method_answered_call_recorded_completed);
	tcase_add_test(tc, method_device_status_passed_through);
	tcase_add_test(tc, method_answer_unknown_rid_ignored);
	tcase_add_test(tc, method_non_json_answer_as_string);
	tcase_add_test(tc, method_module_target_only);
	tcase_add_test(tc, method_only_to_target_device);
	tcase_add_test(tc, method_not_subscribed_404103);
	tcase_add_test(tc, method_offline_404103);
	tcase_add_test(tc, method_unknown_device_404001);
	tcase_add_test(tc, method_timeout_504101);
	tcase_add_test(tc, method_device_gone_404103);
	tcase_add_test(tc, method_connect_timeout_waits_for_device);
	tcase_add_test(tc, method_connect_timeout_expires_404103);
	tcase_add_test(tc, method_bad_requests_400);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hx_run(suite());
}
