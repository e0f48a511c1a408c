/*
 * check_mqtt_twin.c: twins over MQTT (iothub-protocol.md §3.4, §3.7, §4.3-§4.6, §12): GET answers
 * 200 with both sections and their $version but never $metadata; reported PATCH answers 204 with
 * the new $version and is stored; a bad PATCH answers 400 with errorCode and changes nothing;
 * answers never reach another connection; $rid comes back byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"

/* A connected client subscribed to $iothub/twin/res/#. */
static struct hx_mq *twin_client(const char *dev, const char *mod, const char *key, bool tls)
{
	struct hx_mq *c = hx_mq_device(dev, mod, key, tls);
	ck_assert_int_eq(hx_mq_subscribe(c, "$iothub/twin/res/#", 0), 0);
	return c;
}

/* GET with this $rid; fail unless the answer is 200 on exactly the right topic. Returns the body. */
static cJSON *twin_get(struct hx_mq *c, const char *rid)
{
	const char *topic = hx_fmt("$iothub/twin/GET/?$rid=%s", rid);
	ck_assert(hx_mq_publish(c, topic, "", 0, 0, false));
	const struct hx_msg *m = hx_mq_expect(c, hx_fmt("$iothub/twin/res/200/?$rid=%s", rid));
	ck_assert_int_eq(m->qos, 0);
	return hx_json(m->payload, m->len);
}

/* Reported PATCH; returns the message answering it (the next one on the connection). */
static const struct hx_msg *twin_patch(struct hx_mq *c, const char *rid, const char *body)
{
	const char *topic = hx_fmt("$iothub/twin/PATCH/properties/reported/?$rid=%s", rid);
	ck_assert(hx_mq_publish(c, topic, body, strlen(body), 0, false));
	const struct hx_msg *m = hx_mq_next(c, HX_WAIT_MS);
	ck_assert_msg(m != NULL, "no answer to the reported PATCH %s", body);
	return m;
}

static int64_t json_int(const cJSON *obj, const char *a, const char *b)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(obj, a);
	const cJSON *v = b ? cJSON_GetObjectItemCaseSensitive(o, b) : o;
	ck_assert_msg(cJSON_IsNumber(v), "%s.%s is not a number", a, b ? b : "");
	return (int64_t)v->valuedouble;
}

/* The stored reported $version of an identity's twin. */
static int64_t stored_reported_version(const char *dev, const char *mod)
{
	return hx_db_int("SELECT json_extract(document, '$.properties.reported.\"$version\"') FROM twins "
			 "WHERE device_id = %Q AND module_id = %Q",
			 dev, mod ? mod : "");
}

/* What the device must see: the stored sections without $metadata, as JSON text. */
static const char *device_view_from_db(const char *dev, const char *mod)
{
	const char *doc = hx_db_text("SELECT document FROM twins WHERE device_id = %Q AND module_id = %Q",
				     dev, mod ? mod : "");
	ck_assert_msg(doc != NULL, "no twin row for %s", dev);
	cJSON *j = hx_json(doc, strlen(doc));
	cJSON *props = cJSON_GetObjectItemCaseSensitive(j, "properties");
	cJSON *d = cJSON_GetObjectItemCaseSensitive(props, "desired");
	cJSON *r = cJSON_GetObjectItemCaseSensitive(props, "reported");
	ck_assert(d && r);
	cJSON_DeleteItemFromObjectCaseSensitive(d, "$metadata");
	cJSON_DeleteItemFromObjectCaseSensitive(r, "$metadata");
	cJSON *v = cJSON_CreateObject();
	cJSON_AddItemReferenceToObject(v, "desired", d);
	cJSON_AddItemReferenceToObject(v, "reported", r);
	char *txt = cJSON_PrintUnformatted(v);
	cJSON_Delete(v);
	const char *out = hx_fmt("%s", txt);
	cJSON_free(txt);
	return out;
}

static void expect_device_view(const cJSON *body, const char *dev, const char *mod)
{
	char *txt = cJSON_PrintUnformatted(body);
	const char *got = hx_fmt("%s", txt);
	cJSON_free(txt);
	ck_assert_msg(strstr(got, "$metadata") == NULL && strstr(got, "tags") == NULL,
		      "the device view shows $metadata or tags: %s", got);
	ck_assert_msg(cJSON_GetArraySize(body) == 2, "the device view has other members: %s", got);
	hx_json_eq(got, strlen(got), device_view_from_db(dev, mod), "twin GET body");
}

/* --- GET -------------------------------------------------------------------------------------- */

START_TEST(twin_get_subscribed_200_versions_no_metadata)
{
	struct hx_mq *c = twin_client(HX_DEV1, NULL, HX_DEV1_KEY, false);
	cJSON *body = twin_get(c, "1");
	/* The fixture's values, with their section versions. */
	ck_assert_int_eq(json_int(body, "desired", "interval"), 5);
	ck_assert_str_eq(hx_jstr(cJSON_GetObjectItemCaseSensitive(body, "reported"), "fw"), "1.0");
	ck_assert_int_ge(json_int(body, "desired", "$version"), 1);
	ck_assert_int_ge(json_int(body, "reported", "$version"), 1);
	expect_device_view(body, HX_DEV1, NULL);
}
END_TEST

START_TEST(twin_get_tls_module_own_twin)
{
	struct hx_mq *c = twin_client(HX_GW, HX_MOD, HX_GW_M1_KEY, true);
	cJSON *body = twin_get(c, "m");
	ck_assert_str_eq(hx_jstr(cJSON_GetObjectItemCaseSensitive(body, "desired"), "mode"), "fast");
	expect_device_view(body, HX_GW, HX_MOD);
}
END_TEST

/* Exact bytes: the answer is a QoS 0 PUBLISH (no packet id), whatever the GET's QoS and body. */
START_TEST(twin_get_raw_exact_answer)
{
	int fd = hx_raw_device(HX_DEV1, NULL, HX_DEV1_KEY, 60);
	hx_raw_subscribe(fd, 1, "$iothub/twin/res/#", 0);
	struct hx_buf b = {0};
	const char get[] = "$iothub/twin/GET/?$rid=1";
	hx_pkt_publish(&b, get, strlen(get), " ", 1, 0, false, 0);   /* Node sends one space */
	hx_raw_send_buf(fd, &b);
	struct hx_packet p;
	hx_raw_packet(fd, &p, "twin answer");
	ck_assert_msg(p.first == 0x30, "answer first byte %02x, want 30 (PUBLISH QoS 0)", p.first);
	ck_assert_str_eq(p.topic, "$iothub/twin/res/200/?$rid=1");
	ck_assert_uint_eq(p.len, 2 + strlen(p.topic) + p.payload_len);   /* no packet id */
	expect_device_view(hx_json(p.payload, p.payload_len), HX_DEV1, NULL);
	/* At QoS 1 the PUBACK comes first, then the same answer. */
	hx_pkt_publish(&b, get, strlen(get), "", 0, 1, false, 5);
	hx_raw_send_buf(fd, &b);
	static const uint8_t puback[] = {0x40, 0x02, 0x00, 0x05};
	hx_raw_expect(fd, puback, sizeof puback, "PUBACK of a QoS 1 GET");
	hx_raw_packet(fd, &p, "answer to a QoS 1 GET");
	ck_assert_int_eq(p.first, 0x30);
	ck_assert_str_eq(p.topic, "$iothub/twin/res/200/?$rid=1");
}
END_TEST

/* --- reported PATCH --------------------------------------------------------------------------- */

START_TEST(twin_patch_reported_204_new_version_stored)
{
	struct hx_mq *c = twin_client(HX_DEV1, NULL, HX_DEV1_KEY, false);
	int64_t n = json_int(twin_get(c, "g1"), "reported", "$version");
	ck_assert_int_eq(stored_reported_version(HX_DEV1, NULL), n);

	const struct hx_msg *m = twin_patch(c, "p1", "{\"battery\":50,\"fw\":null}");
	ck_assert_str_eq(m->topic, hx_fmt("$iothub/twin/res/204/?$rid=p1&$version=%lld", (long long)n + 1));
	ck_assert_uint_eq(m->len, 0);
	/* Committed before the answer: the file shows it now. */
	ck_assert_int_eq(stored_reported_version(HX_DEV1, NULL), n + 1);
	ck_assert_int_eq(hx_db_int("SELECT json_extract(document, '$.properties.reported.battery') "
				   "FROM twins WHERE device_id = 'dev1' AND module_id = ''"),
			 50);

	cJSON *body = twin_get(c, "g2");
	ck_assert_int_eq(json_int(body, "reported", "battery"), 50);
	ck_assert_int_eq(json_int(body, "reported", "$version"), n + 1);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "reported"),
							    "fw"));   /* null deleted it */
	expect_device_view(body, HX_DEV1, NULL);

	m = twin_patch(c, "p2", "{\"battery\":49}");
	ck_assert_str_eq(m->topic, hx_fmt("$iothub/twin/res/204/?$rid=p2&$version=%lld", (long long)n + 2));
}
END_TEST

START_TEST(twin_patch_reported_nested_merge)
{
	struct hx_mq *c = twin_client(HX_DEV1, NULL, HX_DEV1_KEY, false);
	twin_patch(c, "a", "{\"net\":{\"ip\":\"10.0.0.2\",\"up\":true}}");
	twin_patch(c, "b", "{\"net\":{\"mask\":24,\"up\":null}}");
	cJSON *body = twin_get(c, "g");
	const cJSON *net = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "reported"),
							   "net");
	char *txt = cJSON_PrintUnformatted(net);
	const char *got = hx_fmt("%s", txt ? txt : "null");
	cJSON_free(txt);
	hx_json_eq(got, strlen(got), "{\"ip\":\"10.0.0.2\",\"mask\":24}", "merged reported.net");
}
END_TEST

START_TEST(twin_patch_module_stored_in_module_twin)
{
	struct hx_mq *c = twin_client(HX_GW, HX_MOD, HX_GW_M1_KEY, false);
	int64_t dev_before = stored_reported_version(HX_GW, NULL);
	int64_t n = stored_reported_version(HX_GW, HX_MOD);
	const struct hx_msg *m = twin_patch(c, "7", "{\"state\":\"on\"}");
	ck_assert_str_eq(m->topic, hx_fmt("$iothub/twin/res/204/?$rid=7&$version=%lld", (long long)n + 1));
	const char *v = hx_db_text("SELECT json_extract(document, '$.properties.reported.state') FROM "
				   "twins WHERE device_id = 'gw' AND module_id = 'm1'");
	ck_assert_msg(v && strcmp(v, "on") == 0, "module twin not updated");
	ck_assert_int_eq(stored_reported_version(HX_GW, NULL), dev_before);
}
END_TEST

/* Without $rid the patch is applied and answered with an empty $rid (as IoT Edge; hub_topic.c). */
START_TEST(twin_patch_without_rid_applied_empty_rid)
{
	int fd = hx_raw_device(HX_DEV1, NULL, HX_DEV1_KEY, 60);
	hx_raw_subscribe(fd, 1, "$iothub/twin/res/#", 0);
	int64_t n = stored_reported_version(HX_DEV1, NULL);
	struct hx_buf b = {0};
	const char t[] = "$iothub/twin/PATCH/properties/reported/";
	hx_pkt_publish(&b, t, strlen(t), "{\"x\":1}", 7, 0, false, 0);
	hx_raw_send_buf(fd, &b);
	struct hx_packet p;
	hx_raw_packet(fd, &p, "answer to a PATCH without $rid");
	ck_assert_str_eq(p.topic, hx_fmt("$iothub/twin/res/204/?$rid=&$version=%lld", (long long)n + 1));
	ck_assert_int_eq(stored_reported_version(HX_DEV1, NULL), n + 1);
}
END_TEST

/* --- bad PATCH: 400 with errorCode, nothing changed ------------------------------------------- */

static const char *const bad_patches[] = {
	"not json",
	"",
	"[1,2]",
	"\"text\"",
	"42",
	"{\"a.b\":1}",
	"{\"$foo\":3}",                 /* a top-level $version is tolerated (twin.c); other $ keys not */
	"{\"a b\":1}",
	"{\"ok\":1,\"nested\":{\"x.y\":2}}",
	"{\"unterminated\":",
};

START_TEST(twin_patch_bad_400_error_body)
{
	const char *patch = bad_patches[_i];
	struct hx_mq *c = twin_client(HX_DEV1, NULL, HX_DEV1_KEY, false);
	int64_t n = stored_reported_version(HX_DEV1, NULL);
	const char *doc = hx_db_text("SELECT document FROM twins WHERE device_id = 'dev1'");
	const struct hx_msg *m = twin_patch(c, "bad", patch);
	ck_assert_msg(strcmp(m->topic, "$iothub/twin/res/400/?$rid=bad") == 0,
		      "patch [%s]: answer on %s, want 400", patch, m->topic);
	cJSON *e = hx_json(m->payload, m->len);
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "errorCode");
	ck_assert_msg(cJSON_IsNumber(code) && code->valuedouble == 400004,
		      "patch [%s]: error body %s lacks errorCode 400004", patch,
		      hx_fmt("%.*s", (int)m->len, (const char *)m->payload));
	ck_assert_ptr_nonnull(hx_jstr(e, "trackingId"));
	ck_assert_ptr_nonnull(hx_jstr(e, "message"));
	ck_assert_ptr_nonnull(hx_jstr(e, "timestampUtc"));
	ck_assert_int_eq(stored_reported_version(HX_DEV1, NULL), n);
	ck_assert_str_eq(hx_db_text("SELECT document FROM twins WHERE device_id = 'dev1'"), doc);
	/* The connection is still fine. */
	twin_get(c, "after");
}
END_TEST

START_TEST(twin_patch_string_over_4k_400)
{
	struct hx_mq *c = twin_client(HX_DEV1, NULL, HX_DEV1_KEY, false);
	char *big = hx_keep(malloc(5000 + 16));
	memcpy(big, "{\"s\":\"", 6);
	memset(big + 6, 'x', 5000);
	memcpy(big + 5006, "\"}", 3);
	const struct hx_msg *m = twin_patch(c, "big", big);
	ck_assert_str_eq(m->topic, "$iothub/twin/res/400/?$rid=big");
	ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(hx_json(m->payload, m->len), "errorCode"));
}
END_TEST

/* --- routing and $rid ------------------------------------------------------------------------- */

/*
 * dev1 and dev2 both subscribe to $iothub/twin/res/# and ask with the same $rid: each gets its
 * own twin. Then dev1 asks alone, and dev2 asks after dev1 got its answer: dev2's next message
 * is its own answer, so nothing of dev1's reached it (TCP keeps order on dev2's connection).
 */
START_TEST(twin_answers_only_to_asking_connection)
{
	struct hx_mq *a = twin_client(HX_DEV1, NULL, HX_DEV1_KEY, false);
	struct hx_mq *b = twin_client(HX_DEV2, NULL, HX_DEV2_KEY, true);
	ck_assert_int_eq(json_int(twin_get(a, "1"), "desired", "interval"), 5);
	ck_assert_int_eq(json_int(twin_get(b, "1"), "desired", "interval"), 7);
	twin_get(a, "only-a");
	const struct hx_msg *m = twin_patch(a, "patch-a", "{\"v\":1}");
	ck_assert_msg(strncmp(m->topic, "$iothub/twin/res/204/?$rid=patch-a&", 35) == 0, "got %s", m->topic);
	ck_assert_int_eq(json_int(twin_get(b, "only-b"), "desired", "interval"), 7);
	/* And the other way round. */
	twin_get(b, "b2");
	ck_assert_int_eq(json_int(twin_get(a, "a2"), "desired", "interval"), 5);
	ck_assert(hx_mq_next(a, 0) == NULL && hx_mq_next(b, 0) == NULL);
}
END_TEST

static const char *const rids[] = {
	"9f1c2e7a-3b4d-4e5f-8a6b-7c8d9e0f1a2b",   /* Node: UUID */
	"1",                                      /* C SDK: packet id */
	"get twin 42",                            /* Embedded C: caller text */
	"%41%20x",                                /* not percent-decoded */
	"a/b?c=d",                                /* '/', '?' and '=' inside */
	"\xc3\xa9t\xc3\xa9",                      /* UTF-8 */
};

START_TEST(twin_rid_echoed_byte_for_byte)
{
	const char *rid = rids[_i];
	struct hx_mq *c = twin_client(HX_DEV1, NULL, HX_DEV1_KEY, false);
	twin_get(c, rid);
	int64_t n = stored_reported_version(HX_DEV1, NULL);
	const struct hx_msg *m = twin_patch(c, rid, "{\"r\":1}");
	ck_assert_str_eq(m->topic,
			 hx_fmt("$iothub/twin/res/204/?$rid=%s&$version=%lld", rid, (long long)n + 1));
	/* An error answer echoes it too. */
	m = twin_patch(c, rid, "[]");
	ck_assert_str_eq(m->topic, hx_fmt("$iothub/twin/res/400/?$rid=%s", rid));
}
END_TEST

/* --- refused twin topics ---------------------------------------------------------------------- */

static void twin_topic_closes(const char *topic, const char *what)
{
	struct hx_mq *healthy = hx_healthy();
	int fd = hx_raw_device(HX_DEV1, NULL, HX_DEV1_KEY, 60);
	hx_raw_subscribe(fd, 1, "$iothub/twin/res/#", 0);
	struct hx_buf b = {0};
	hx_pkt_publish(&b, topic, strlen(topic), "", 0, 0, false, 0);
	hx_raw_send_buf(fd, &b);
	hx_raw_expect_closed(fd, HX_WAIT_MS, what);
	hx_healthy_check(healthy, what);
}

START_TEST(twin_get_without_rid_closed)
{
	twin_topic_closes("$iothub/twin/GET/", "GET without $rid");
}
END_TEST

START_TEST(twin_get_empty_rid_closed)
{
	twin_topic_closes("$iothub/twin/GET/?$rid=", "GET with an empty $rid");
}
END_TEST

START_TEST(twin_get_two_rids_closed)
{
	twin_topic_closes("$iothub/twin/GET/?$rid=1&$rid=2", "GET with two $rid");
}
END_TEST

START_TEST(twin_patch_desired_from_device_closed)
{
	twin_topic_closes("$iothub/twin/PATCH/properties/desired/?$rid=1",
			  "a device patching desired properties");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("mqtt_twin");
	TCase *tc = hx_tcase("twin_get");
	tcase_add_test(tc, twin_get_subscribed_200_versions_no_metadata);
	tcase_add_test(tc, twin_get_tls_module_own_twin);
	tcase_add_test(tc, twin_get_raw_exact_answer);
	suite_add_tcase(s, tc);

	tc = hx_tcase("twin_patch_reported");
	tcase_add_test(tc, twin_patch_reported_204_new_version_stored);
	tcase_add_test(tc, twin_patch_reported_nested_merge);
	tcase_add_test(tc, twin_patch_module_stored_in_module_twin);
	tcase_add_test(tc, twin_patch_without_rid_applied_empty_rid);
	tcase_add_loop_test(tc, twin_patch_bad_400_error_body, 0,
			    (int)(sizeof bad_patches / sizeof bad_patches[0]));
	tcase_add_test(tc, twin_patch_string_over_4k_400);
	suite_add_tcase(s, tc);

	tc = hx_tcase("twin_routing");
	tcase_add_test(tc, twin_answers_only_to_asking_connection);
	tcase_add_loop_test(tc, twin_rid_echoed_byte_for_byte, 0, (int)(sizeof rids / sizeof rids[0]));
	tcase_add_test(tc, twin_get_without_rid_closed);
	tcase_add_test(tc, twin_get_empty_rid_closed);
	tcase_add_test(tc, twin_get_two_rids_closed);
	tcase_add_test(tc, twin_patch_desired_from_device_closed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hx_run(suite());
}
