/*
 * check_mqtt_publish.c: device-to-cloud PUBLISH (iothub-protocol.md §2.4, §3.2, §12): property bags
 * in every SDK encoding, bodies byte for byte, module telemetry, RETAIN, QoS 0/1 (a PUBACK means
 * the row is committed), refused publishes (closed, nothing stored, others unaffected), the Will.
 * It never trusts an acknowledgement alone: every claim is checked in the database file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"

#define MAX_MESSAGE (256 * 1024)

/*
 * Check a stored row's properties: `want_sys` is the system properties the hub must store
 * without iothub-enqueuedtime (checked separately: present, ISO 8601 UTC), `want_app` the
 * application properties, both as JSON text compared as JSON values.
 */
static void expect_props(const struct hx_d2c *r, const char *want_sys, const char *want_app)
{
	const char *when = hx_jstr(r->sys, "iothub-enqueuedtime");
	ck_assert_msg(when && strlen(when) >= 20 && when[4] == '-' && when[10] == 'T' &&
			      when[strlen(when) - 1] == 'Z',
		      "iothub-enqueuedtime missing or not ISO 8601 UTC: %s", when ? when : "(none)");
	cJSON_DeleteItemFromObjectCaseSensitive(r->sys, "iothub-enqueuedtime");
	char *sys = cJSON_PrintUnformatted(r->sys), *app = cJSON_PrintUnformatted(r->app);
	const char *s = hx_fmt("%s", sys ? sys : "null"), *a = hx_fmt("%s", app ? app : "null");
	cJSON_free(sys);
	cJSON_free(app);
	hx_json_eq(s, strlen(s), want_sys, "system properties");
	hx_json_eq(a, strlen(a), want_app, "application properties");
}

/* Publish at QoS 1 with libmosquitto (PUBACK awaited) and return the stored row. */
static struct hx_d2c publish_and_read(struct hx_mq *c, const char *dev, const char *mod,
				      const char *topic, const void *body, size_t len)
{
	int64_t before = hx_d2c_count(dev, mod);
	ck_assert_msg(hx_mq_publish(c, topic, body, len, 1, false), "no PUBACK for %s", topic);
	ck_assert_msg(hx_d2c_count(dev, mod) == before + 1, "no row right after the PUBACK for %s", topic);
	struct hx_d2c r;
	ck_assert(hx_d2c_last(dev, mod, &r));
	ck_assert_str_eq(r.device_id, dev);
	ck_assert_str_eq(r.module_id, mod ? mod : "");
	return r;
}

static void expect_body(const struct hx_d2c *r, const void *body, size_t len)
{
	ck_assert_msg(r->body_len == len && memcmp(r->body, body, len) == 0,
		      "body stored as [%s], sent [%s]", hx_hex(r->body, r->body_len), hx_hex(body, len));
}

/* --- property bags (§3.2) --------------------------------------------------------------------- */

START_TEST(telemetry_node_bag_stored)
{
	struct hx_mq *c = hx_mq_device(HX_DEV1, NULL, HX_DEV1_KEY, false);
	const char body[] = "{\"temperature\":21.5}";
	struct hx_d2c r = publish_and_read(
		c, HX_DEV1, NULL,
		"devices/dev1/messages/events/%24.mid=m1&%24.ct=application%2Fjson&%24.ce=utf-8&alert=true",
		body, strlen(body));
	expect_props(&r,
		     "{\"message-id\":\"m1\",\"iothub-content-type\":\"application/json\","
		     "\"iothub-content-encoding\":\"utf-8\",\"iothub-connection-device-id\":\"dev1\"}",
		     "{\"alert\":\"true\"}");
	ck_assert_str_eq(r.message_id, "m1");
	ck_assert_str_eq(r.content_type, "application/json");
	ck_assert_str_eq(r.content_encoding, "utf-8");
	expect_body(&r, body, strlen(body));
}
END_TEST

START_TEST(telemetry_csdk_raw_bag_stored)
{
	/* The C SDK encodes nothing but the "%24." of system keys; values may hold '/' and '='. */
	struct hx_mq *c = hx_mq_device(HX_DEV1, NULL, HX_DEV1_KEY, false);
	struct hx_d2c r = publish_and_read(
		c, HX_DEV1, NULL,
		"devices/dev1/messages/events/alert=true&path=/a/b=c&%24.cid=c1&%24.mid=m1"
		"&%24.ct=application/json&%24.ce=utf-8",
		"x", 1);
	expect_props(&r,
		     "{\"correlation-id\":\"c1\",\"message-id\":\"m1\",\"iothub-content-type\":"
		     "\"application/json\",\"iothub-content-encoding\":\"utf-8\","
		     "\"iothub-connection-device-id\":\"dev1\"}",
		     "{\"alert\":\"true\",\"path\":\"/a/b=c\"}");
	ck_assert_str_eq(r.content_type, "application/json");
}
END_TEST

START_TEST(telemetry_csharp_trailing_slash_stored)
{
	struct hx_mq *c = hx_mq_device(HX_DEV1, NULL, HX_DEV1_KEY, false);
	struct hx_d2c r = publish_and_read(c, HX_DEV1, NULL,
					   "devices/dev1/messages/events/%24.mid=m1&alert=true/", "x", 1);
	expect_props(&r, "{\"message-id\":\"m1\",\"iothub-connection-device-id\":\"dev1\"}",
		     "{\"alert\":\"true\"}");
	/* Only one trailing '/' is the C# terminator; a second one belongs to the value. */
	r = publish_and_read(c, HX_DEV1, NULL, "devices/dev1/messages/events/dir=/x//", "x", 1);
	expect_props(&r, "{\"iothub-connection-device-id\":\"dev1\"}", "{\"dir\":\"/x/\"}");
}
END_TEST

START_TEST(telemetry_raw_dollar_key_stored)
{
	struct hx_mq *c = hx_mq_device(HX_DEV1, NULL, HX_DEV1_KEY, false);
	struct hx_d2c r = publish_and_read(
		c, HX_DEV1, NULL,
		"devices/dev1/messages/events/$.ct=application%2Fjson%3Bcharset%3Dutf-8&$.mid=raw1", "{}", 2);
	expect_props(&r,
		     "{\"iothub-content-type\":\"application/json;charset=utf-8\",\"message-id\":\"raw1\","
		     "\"iothub-connection-device-id\":\"dev1\"}",
		     "{}");
	ck_assert_str_eq(r.content_type, "application/json;charset=utf-8");
}
END_TEST

START_TEST(telemetry_no_bag_stored_empty_properties)
{
	struct hx_mq *c = hx_mq_device(HX_DEV1, NULL, HX_DEV1_KEY, false);
	struct hx_d2c r = publish_and_read(c, HX_DEV1, NULL, "devices/dev1/messages/events/", "hi", 2);
	expect_props(&r, "{\"iothub-connection-device-id\":\"dev1\"}", "{}");
	ck_assert_ptr_null(r.message_id);
	ck_assert_ptr_null(r.content_type);
	expect_body(&r, "hi", 2);
}
END_TEST

START_TEST(telemetry_value_forms_decoded)
{
	/* key alone -> null, key= -> "", lower-case hex, %2B and %20, UTF-8, unknown $. key kept
	 * (a raw + cannot occur: MQTT forbids wildcards in topic names). */
	struct hx_mq *c = hx_mq_device(HX_DEV1, NULL, HX_DEV1_KEY, false);
	struct hx_d2c r = publish_and_read(
		c, HX_DEV1, NULL,
		"devices/dev1/messages/events/flag&empty=&k%2fey=v%3d1&sum=1%2B2%20x&city=K%C3%B6ln"
		"&%24.ct=text%2fplain&$.weird=w",
		"", 0);
	expect_props(&r,
		     "{\"iothub-content-type\":\"text/plain\",\"$.weird\":\"w\","
		     "\"iothub-connection-device-id\":\"dev1\"}",
		     "{\"flag\":null,\"empty\":\"\",\"k/ey\":\"v=1\",\"sum\":\"1+2 x\","
		     "\"city\":\"K\xc3\xb6ln\"}");
	expect_body(&r, "", 0);
}
END_TEST

/* The connection's identity is stamped by the hub; a device cannot claim another one. */
START_TEST(telemetry_spoofed_connection_ids_overwritten)
{
	struct hx_mq *c = hx_mq_device(HX_DEV1, NULL, HX_DEV1_KEY, false);
	struct hx_d2c r = publish_and_read(
		c, HX_DEV1, NULL, "devices/dev1/messages/events/%24.cdid=dev2&%24.cmid=m1&a=1", "x", 1);
	expect_props(&r, "{\"iothub-connection-device-id\":\"dev1\"}", "{\"a\":\"1\"}");
}
END_TEST

START_TEST(telemetry_binary_body_byte_exact)
{
	struct hx_mq *c = hx_mq_device(HX_DEV1, NULL, HX_DEV1_KEY, true);
	uint8_t body[1024];
	for (size_t i = 0; i < sizeof body; i++)
		body[i] = (uint8_t)(i * 7 + i / 256);
	body[0] = 0;
	body[sizeof body - 1] = 0;
	struct hx_d2c r = publish_and_read(c, HX_DEV1, NULL, "devices/dev1/messages/events/", body,
					   sizeof body);
	expect_body(&r, body, sizeof body);
}
END_TEST

START_TEST(telemetry_module_stored)
{
	/* Node's sendOutputEvent: "%24.on=..." and a trailing '/'. */
	struct hx_mq *c = hx_mq_device(HX_GW, HX_MOD, HX_GW_M1_KEY, false);
	struct hx_d2c r = publish_and_read(c, HX_GW, HX_MOD,
					   "devices/gw/modules/m1/messages/events/%24.on=out1/", "m", 1);
	expect_props(&r,
		     "{\"iothub-outputname\":\"out1\",\"iothub-connection-device-id\":\"gw\","
		     "\"iothub-connection-module-id\":\"m1\"}",
		     "{}");
	expect_body(&r, "m", 1);
	ck_assert_int_eq(hx_d2c_count(HX_GW, NULL), 0);
}
END_TEST

/* --- RETAIN, QoS ------------------------------------------------------------------------------ */

START_TEST(telemetry_retain_adds_mqtt_retain)
{
	struct hx_mq *c = hx_mq_device(HX_DEV1, NULL, HX_DEV1_KEY, false);
	ck_assert(hx_mq_publish(c, "devices/dev1/messages/events/a=1", "r", 1, 1, true));
	struct hx_d2c r;
	ck_assert(hx_d2c_last(HX_DEV1, NULL, &r));
	expect_props(&r, "{\"iothub-connection-device-id\":\"dev1\"}",
		     "{\"a\":\"1\",\"mqtt-retain\":\"true\"}");
	/* Without RETAIN, no such property. */
	r = publish_and_read(c, HX_DEV1, NULL, "devices/dev1/messages/events/a=1", "n", 1);
	expect_props(&r, "{\"iothub-connection-device-id\":\"dev1\"}", "{\"a\":\"1\"}");
}
END_TEST

START_TEST(telemetry_qos0_stored)
{
	struct hx_mq *c = hx_mq_device(HX_DEV1, NULL, HX_DEV1_KEY, false);
	ck_assert(hx_mq_publish(c, "devices/dev1/messages/events/q=0", "zero", 4, 0, false));
	ck_assert_msg(hx_db_wait_int(1, "SELECT count(*) FROM d2c_messages WHERE device_id = 'dev1'"),
		      "a QoS 0 message was not stored");
	struct hx_d2c r;
	ck_assert(hx_d2c_last(HX_DEV1, NULL, &r));
	expect_body(&r, "zero", 4);
}
END_TEST

/* Exact bytes: a QoS 1 PUBLISH gets exactly PUBACK with its packet id, and the row is visible. */
START_TEST(telemetry_qos1_puback_exact_after_commit)
{
	int fd = hx_raw_device(HX_DEV1, NULL, HX_DEV1_KEY, 60);
	struct hx_buf b = {0};
	const char topic[] = "devices/dev1/messages/events/%24.mid=raw";
	hx_pkt_publish(&b, topic, strlen(topic), "payload", 7, 1, false, 0x1234);
	hx_raw_send_buf(fd, &b);
	static const uint8_t puback[] = {0x40, 0x02, 0x12, 0x34};
	hx_raw_expect(fd, puback, sizeof puback, "PUBACK 0x1234");
	struct hx_d2c r;
	ck_assert_msg(hx_d2c_last(HX_DEV1, NULL, &r), "no row right after the PUBACK");
	ck_assert_str_eq(r.message_id, "raw");
	expect_body(&r, "payload", 7);
	/* QoS 0 gets no answer at all: the next bytes are the PINGRESP. */
	hx_pkt_publish(&b, topic, strlen(topic), "q0", 2, 0, false, 0);
	hx_raw_send_buf(fd, &b);
	hx_raw_ping(fd);
}
END_TEST

/* 200 pipelined QoS 1 messages: PUBACKs in order, each one after its row is committed. */
START_TEST(telemetry_pipelined_pubacks_follow_commits)
{
	int fd = hx_raw_device(HX_DEV1, NULL, HX_DEV1_KEY, 60);
	struct hx_buf b = {0};
	const int n = 200;
	for (int i = 1; i <= n; i++) {
		char topic[80], body[16];
		int tl = snprintf(topic, sizeof topic, "devices/dev1/messages/events/i=%d", i);
		int bl = snprintf(body, sizeof body, "%d", i);
		hx_pkt_publish(&b, topic, (size_t)tl, body, (size_t)bl, 1, false, (uint16_t)i);
	}
	hx_raw_send_buf(fd, &b);
	for (int i = 1; i <= n; i++) {
		uint8_t want[] = {0x40, 0x02, (uint8_t)(i >> 8), (uint8_t)i};
		hx_raw_expect(fd, want, sizeof want, hx_fmt("PUBACK %d", i));
		if (i % 20 == 0 || i == 1)
			ck_assert_msg(hx_d2c_count(HX_DEV1, NULL) >= i, "PUBACK %d before its row", i);
	}
	ck_assert_int_eq(hx_d2c_count(HX_DEV1, NULL), n);
	/* Stored in arrival order. */
	ck_assert_int_eq(hx_db_int("SELECT count(*) FROM d2c_messages a JOIN d2c_messages b "
				   "ON b.seq > a.seq WHERE CAST(CAST(b.body AS TEXT) AS INTEGER) < "
				   "CAST(CAST(a.body AS TEXT) AS INTEGER)"),
			 0);
}
END_TEST

/* The 256 KB limit counts body plus property bag (§3.2 rule 4): at the limit stored, one over closed. */
START_TEST(telemetry_at_size_limit_stored)
{
	int fd = hx_raw_device(HX_DEV1, NULL, HX_DEV1_KEY, 60);
	uint8_t *body = hx_keep(calloc(MAX_MESSAGE, 1));
	body[MAX_MESSAGE - 1] = 0x5a;
	struct hx_buf b = {0};
	const char t1[] = "devices/dev1/messages/events/";
	hx_pkt_publish(&b, t1, strlen(t1), body, MAX_MESSAGE, 1, false, 1);
	const char t2[] = "devices/dev1/messages/events/a=1";
	hx_pkt_publish(&b, t2, strlen(t2), body, MAX_MESSAGE - 3, 1, false, 2);
	hx_raw_send_buf(fd, &b);
	static const uint8_t ack1[] = {0x40, 0x02, 0x00, 0x01}, ack2[] = {0x40, 0x02, 0x00, 0x02};
	hx_raw_expect(fd, ack1, sizeof ack1, "PUBACK for a 256 KB body");
	hx_raw_expect(fd, ack2, sizeof ack2, "PUBACK for 256 KB of body and bag");
	ck_assert_int_eq(hx_db_int("SELECT length(body) FROM d2c_messages WHERE device_id = 'dev1' "
				   "ORDER BY seq LIMIT 1"),
			 MAX_MESSAGE);
	ck_assert_int_eq(hx_d2c_count(HX_DEV1, NULL), 2);
}
END_TEST

/* --- refused publishes: closed, nothing stored, others unaffected ----------------------------- */

/*
 * Connect (dev, mod) over raw TCP, send one PUBLISH, and check that the hub closes the
 * connection without answering, stores nothing for that identity, and still serves the
 * healthy client.
 */
static void expect_publish_closes(const char *dev, const char *mod, const char *key,
				  const void *topic, size_t tlen, const void *body, size_t len, int qos,
				  const char *what)
{
	struct hx_mq *healthy = hx_healthy();
	int fd = hx_raw_device(dev, mod, key, 60);
	struct hx_buf b = {0};
	hx_pkt_publish(&b, topic, tlen, body, len, qos, false, qos ? 9 : 0);
	/* A big packet may be cut short by the close: the hub may refuse before reading it all. */
	hx_raw_send(fd, b.p, b.len);
	hx_buf_free(&b);
	hx_raw_expect_closed(fd, HX_WAIT_MS, what);
	ck_assert_msg(hx_db_int("SELECT count(*) FROM d2c_messages WHERE device_id <> 'dev2'") == 0,
		      "%s: something was stored", what);
	ck_assert_msg(hx_db_wait_int(1, "SELECT count(*) FROM connection_events WHERE device_id = %Q "
				     "AND module_id = %Q AND event = 'disconnect'", dev, mod ? mod : ""),
		      "%s: no disconnect row", what);
	hx_healthy_check(healthy, what);
}

static void publish_closes(const char *topic, int qos, const char *what)
{
	expect_publish_closes(HX_DEV1, NULL, HX_DEV1_KEY, topic, strlen(topic), "x", 1, qos, what);
}

START_TEST(publish_other_device_topic_closed)
{
	publish_closes("devices/dev2/messages/events/", 1, "dev1 publishing on dev2's topic");
}
END_TEST

START_TEST(publish_other_device_topic_qos0_closed)
{
	publish_closes("devices/dev2/messages/events/a=1", 0, "dev1 on dev2's topic, QoS 0");
}
END_TEST

START_TEST(publish_module_topic_from_device_closed)
{
	const char t[] = "devices/gw/modules/m1/messages/events/";
	expect_publish_closes(HX_GW, NULL, HX_GW_KEY, t, strlen(t), "x", 1, 1,
			      "device gw on its module's topic");
}
END_TEST

START_TEST(publish_device_topic_from_module_closed)
{
	const char t[] = "devices/gw/messages/events/";
	expect_publish_closes(HX_GW, HX_MOD, HX_GW_M1_KEY, t, strlen(t), "x", 1, 1,
			      "module gw/m1 on its device's topic");
}
END_TEST

START_TEST(publish_unknown_topic_closed)
{
	publish_closes("foo/bar", 1, "topic foo/bar");
}
END_TEST

START_TEST(publish_c2d_topic_closed)
{
	publish_closes("devices/dev1/messages/devicebound/", 1, "a device publishing on its C2D topic");
}
END_TEST

START_TEST(publish_twin_response_topic_closed)
{
	publish_closes("$iothub/twin/res/200/?$rid=1", 0, "a device publishing a twin response");
}
END_TEST

START_TEST(publish_qos2_closed)
{
	publish_closes("devices/dev1/messages/events/", 2, "QoS 2 telemetry");
}
END_TEST

START_TEST(publish_oversize_body_closed)
{
	uint8_t *body = hx_keep(calloc(MAX_MESSAGE + 1, 1));
	const char t[] = "devices/dev1/messages/events/";
	expect_publish_closes(HX_DEV1, NULL, HX_DEV1_KEY, t, strlen(t), body, MAX_MESSAGE + 1, 1,
			      "256 KB + 1 body");
}
END_TEST

START_TEST(publish_oversize_body_and_bag_closed)
{
	uint8_t *body = hx_keep(calloc(MAX_MESSAGE, 1));
	const char t[] = "devices/dev1/messages/events/a=1";
	expect_publish_closes(HX_DEV1, NULL, HX_DEV1_KEY, t, strlen(t), body, MAX_MESSAGE - 2, 1,
			      "body + bag of 256 KB + 1");
}
END_TEST

START_TEST(publish_bad_property_bag_closed)
{
	publish_closes("devices/dev1/messages/events/%ZZ=1", 1, "bad %-escape in a key");
}
END_TEST

START_TEST(publish_bag_empty_key_closed)
{
	publish_closes("devices/dev1/messages/events/=v", 1, "empty key");
}
END_TEST

START_TEST(publish_bag_nul_value_closed)
{
	publish_closes("devices/dev1/messages/events/k=%00", 1, "value decoding to NUL");
}
END_TEST

START_TEST(publish_bag_invalid_utf8_closed)
{
	publish_closes("devices/dev1/messages/events/k=%C0%AF", 1, "value decoding to overlong UTF-8");
}
END_TEST

/* --- Will (§2.4) ------------------------------------------------------------------------------ */

/* Raw CONNECT of dev (or dev/mod) with a Will; fail unless CONNACK 0. */
static int connect_with_will(const char *dev, const char *mod, const char *key, const char *topic,
			     const void *payload, size_t len, uint16_t keepalive)
{
	int fd = hx_raw_open(hx_hub()->mqtt);
	struct hx_connect c = {
		.client_id = hx_client_id(dev, mod),
		.username = hx_username(dev, mod),
		.password = hx_token(dev, mod, key),
		.keepalive = keepalive,
		.will_topic = topic,
		.will_payload = payload,
		.will_len = len,
	};
	struct hx_buf b = {0};
	hx_pkt_connect(&b, &c);
	hx_raw_send_buf(fd, &b);
	static const uint8_t ok[] = {0x20, 0x02, 0x00, 0x00};
	hx_raw_expect(fd, ok, sizeof ok, "CONNACK with a Will");
	return fd;
}

static void wait_disconnect_row(const char *dev, const char *mod, const char *reason)
{
	ck_assert_msg(hx_db_wait_int(1, "SELECT count(*) FROM connection_events WHERE device_id = %Q "
				     "AND module_id = %Q AND event = 'disconnect' AND reason = %Q",
				     dev, mod ? mod : "", reason),
		      "no disconnect row with reason %s", reason);
}

START_TEST(will_abnormal_close_ingested)
{
	const uint8_t payload[] = {'b', 'y', 'e', 0, 0xff};
	int fd = connect_with_will(HX_DEV1, NULL, HX_DEV1_KEY,
				   "devices/dev1/messages/events/kind=lastwill&%24.mid=w1", payload,
				   sizeof payload, 60);
	hx_raw_ping(fd);
	ck_assert_int_eq(hx_d2c_count(HX_DEV1, NULL), 0);   /* nothing while connected */
	hx_raw_close(fd);
	wait_disconnect_row(HX_DEV1, NULL, "connection-lost");
	/* The Will is stored before the disconnect is recorded. */
	struct hx_d2c r;
	ck_assert_msg(hx_d2c_last(HX_DEV1, NULL, &r), "no Will row after an abnormal close");
	expect_props(&r, "{\"message-id\":\"w1\",\"iothub-connection-device-id\":\"dev1\"}",
		     "{\"kind\":\"lastwill\",\"iothub-MessageType\":\"Will\"}");
	expect_body(&r, payload, sizeof payload);
	ck_assert_int_eq(hx_d2c_count(HX_DEV1, NULL), 1);
}
END_TEST

START_TEST(will_module_abnormal_close_ingested)
{
	int fd = connect_with_will(HX_GW, HX_MOD, HX_GW_M1_KEY, "devices/gw/modules/m1/messages/events/",
				   "gone", 4, 60);
	hx_raw_close(fd);
	wait_disconnect_row(HX_GW, HX_MOD, "connection-lost");
	struct hx_d2c r;
	ck_assert_msg(hx_d2c_last(HX_GW, HX_MOD, &r), "no Will row for the module");
	expect_props(&r, "{\"iothub-connection-device-id\":\"gw\",\"iothub-connection-module-id\":\"m1\"}",
		     "{\"iothub-MessageType\":\"Will\"}");
	expect_body(&r, "gone", 4);
}
END_TEST

START_TEST(will_clean_disconnect_not_ingested)
{
	int fd = connect_with_will(HX_DEV1, NULL, HX_DEV1_KEY, "devices/dev1/messages/events/", "bye", 3,
				   60);
	static const uint8_t disconnect[] = {0xe0, 0x00};
	hx_raw_send_ok(fd, disconnect, sizeof disconnect);
	hx_raw_expect_closed(fd, HX_WAIT_MS, "after DISCONNECT");
	wait_disconnect_row(HX_DEV1, NULL, "client-disconnect");
	ck_assert_int_eq(hx_d2c_count(HX_DEV1, NULL), 0);
}
END_TEST

/* A protocol fault is an abnormal end too: the Will goes out (MQTT 3.1.1 §3.1.2.5). */
START_TEST(will_protocol_fault_ingested)
{
	int fd = connect_with_will(HX_DEV1, NULL, HX_DEV1_KEY, "devices/dev1/messages/events/", "fault",
				   5, 60);
	static const uint8_t reserved[] = {0xf0, 0x00};
	hx_raw_send_ok(fd, reserved, sizeof reserved);
	hx_raw_expect_closed(fd, HX_WAIT_MS, "after a reserved packet type");
	ck_assert_msg(hx_db_wait_int(1, "SELECT count(*) FROM d2c_messages WHERE device_id = 'dev1' "
				     "AND json_extract(app_properties, '$.iothub-MessageType') = 'Will'"),
		      "no Will after a protocol fault");
}
END_TEST

START_TEST(will_keepalive_timeout_ingested)
{
	int fd = connect_with_will(HX_DEV1, NULL, HX_DEV1_KEY, "devices/dev1/messages/events/", "silent",
				   6, 1);
	hx_raw_expect_closed(fd, 6000, "a silent client with a Will");
	wait_disconnect_row(HX_DEV1, NULL, "keepalive-timeout");
	struct hx_d2c r;
	ck_assert_msg(hx_d2c_last(HX_DEV1, NULL, &r), "no Will after the keep-alive timeout");
	expect_body(&r, "silent", 6);
}
END_TEST

/* A libmosquitto client's Will (QoS 1, as SDKs set it) after the client vanishes. */
START_TEST(will_mosquitto_client_ingested)
{
	struct hx_mq *c = hx_mq_new(HX_DEV1);
	hx_mq_will(c, "devices/dev1/messages/events/%24.ct=text%2Fplain", "lost", 4);
	ck_assert_int_eq(hx_mq_connect(c, hx_username(HX_DEV1, NULL), hx_token(HX_DEV1, NULL, HX_DEV1_KEY),
				       true),
			 0);
	/* A second connection of dev1 replaces this one: also no DISCONNECT from the first. */
	int fd = hx_raw_device(HX_DEV1, NULL, HX_DEV1_KEY, 60);
	ck_assert(hx_mq_wait_closed(c, HX_WAIT_MS));
	wait_disconnect_row(HX_DEV1, NULL, "400027-new-connection");
	struct hx_d2c r;
	ck_assert_msg(hx_d2c_last(HX_DEV1, NULL, &r), "no Will from the replaced connection");
	expect_props(&r, "{\"iothub-content-type\":\"text/plain\",\"iothub-connection-device-id\":\"dev1\"}",
		     "{\"iothub-MessageType\":\"Will\"}");
	hx_raw_ping(fd);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("mqtt_publish");
	TCase *tc = hx_tcase("telemetry_properties");
	tcase_add_test(tc, telemetry_node_bag_stored);
	tcase_add_test(tc, telemetry_csdk_raw_bag_stored);
	tcase_add_test(tc, telemetry_csharp_trailing_slash_stored);
	tcase_add_test(tc, telemetry_raw_dollar_key_stored);
	tcase_add_test(tc, telemetry_no_bag_stored_empty_properties);
	tcase_add_test(tc, telemetry_value_forms_decoded);
	tcase_add_test(tc, telemetry_spoofed_connection_ids_overwritten);
	tcase_add_test(tc, telemetry_binary_body_byte_exact);
	tcase_add_test(tc, telemetry_module_stored);
	suite_add_tcase(s, tc);

	tc = hx_tcase("telemetry_delivery");
	tcase_add_test(tc, telemetry_retain_adds_mqtt_retain);
	tcase_add_test(tc, telemetry_qos0_stored);
	tcase_add_test(tc, telemetry_qos1_puback_exact_after_commit);
	tcase_add_test(tc, telemetry_pipelined_pubacks_follow_commits);
	tcase_add_test(tc, telemetry_at_size_limit_stored);
	suite_add_tcase(s, tc);

	tc = hx_tcase("publish_refused");
	tcase_add_test(tc, publish_other_device_topic_closed);
	tcase_add_test(tc, publish_other_device_topic_qos0_closed);
	tcase_add_test(tc, publish_module_topic_from_device_closed);
	tcase_add_test(tc, publish_device_topic_from_module_closed);
	tcase_add_test(tc, publish_unknown_topic_closed);
	tcase_add_test(tc, publish_c2d_topic_closed);
	tcase_add_test(tc, publish_twin_response_topic_closed);
	tcase_add_test(tc, publish_qos2_closed);
	tcase_add_test(tc, publish_oversize_body_closed);
	tcase_add_test(tc, publish_oversize_body_and_bag_closed);
	tcase_add_test(tc, publish_bad_property_bag_closed);
	tcase_add_test(tc, publish_bag_empty_key_closed);
	tcase_add_test(tc, publish_bag_nul_value_closed);
	tcase_add_test(tc, publish_bag_invalid_utf8_closed);
	suite_add_tcase(s, tc);

	tc = hx_tcase("will");
	tcase_add_test(tc, will_abnormal_close_ingested);
	tcase_add_test(tc, will_module_abnormal_close_ingested);
	tcase_add_test(tc, will_clean_disconnect_not_ingested);
	tcase_add_test(tc, will_protocol_fault_ingested);
	tcase_add_test(tc, will_keepalive_timeout_ingested);
	tcase_add_test(tc, will_mosquitto_client_ingested);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hx_run(suite());
}
