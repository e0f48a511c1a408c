/*
 * check_mqtt_c2d.c: cloud-to-device messages over MQTT (iothub-protocol.md §3.3, §6) injected
 * through POST /devices/{id}/messages/deviceBound: delivery on subscribe and live, the topic's
 * %24. property bag, PUBACK completion, redelivery after a lost connection, clean session 0
 * reconnects, QoS 0, the 50-message queue and modules refused. Bounded waits only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define C2D_FILTER "devices/dev1/messages/devicebound/#"
#define C2D_PATH "/devices/dev1/messages/deviceBound"

/* Queue one message: raw body with system headers, or an envelope with app properties. */
static void send_c2d(const char *body, const char *headers)
{
	struct hx_https *r = hx_https_send_with("POST", C2D_PATH, body, hx_service_token(), headers);
	struct hx_http resp;
	hx_https_wait(r, &resp, HX_WAIT_MS);
	ck_assert_msg(resp.status == 204, "C2D send: HTTP %d %s", resp.status, resp.body);
}

static int64_t state_count(const char *state)
{
	return hx_db_int("SELECT count(*) FROM c2d_messages WHERE device_id = 'dev1' AND state = %Q", state);
}

/* The next message on the C2D topic: fail unless it comes with this body. */
static const struct hx_msg *expect_c2d(struct hx_mq *c, const char *body)
{
	const struct hx_msg *m = hx_mq_next(c, HX_WAIT_MS);
	ck_assert_msg(m != NULL, "no C2D message arrived");
	ck_assert_msg(strncmp(m->topic, "devices/dev1/messages/devicebound/", 34) == 0, "topic %s", m->topic);
	ck_assert_msg(m->len == strlen(body) && memcmp(m->payload, body, m->len) == 0,
		      "payload %.*s, want %s", (int)m->len, (const char *)m->payload, body);
	return m;
}

START_TEST(c2d_queued_before_subscribe_delivered_on_subscribe)
{
	send_c2d("early", "iothub-messageid: mid-1\r\nContent-Type: text/plain\r\n");
	struct hx_mq *c = hx_mq_device(HX_DEV1, NULL, HX_DEV1_KEY, false);
	ck_assert_int_eq(hx_mq_subscribe(c, C2D_FILTER, 1), 1);
	const struct hx_msg *m = expect_c2d(c, "early");
	ck_assert_int_eq(m->qos, 1);
	/* system keys always %24., values percent-encoded (the C SDK only reads that form) */
	ck_assert_msg(strstr(m->topic, "%24.mid=mid-1") != NULL, "%s", m->topic);
	ck_assert_msg(strstr(m->topic, "%24.to=%2Fdevices%2Fdev1%2Fmessages%2Fdevicebound") != NULL, "%s", m->topic);
	ck_assert_msg(strstr(m->topic, "%24.ct=text%2Fplain") != NULL, "%s", m->topic);
	ck_assert_msg(strstr(m->topic, "$.") == NULL, "raw $ in %s", m->topic);
	/* libmosquitto has PUBACKed: completed */
	ck_assert(hx_db_wait_int(1, "SELECT count(*) FROM c2d_messages WHERE state = 'completed' AND outcome = 'completed'"));
}
END_TEST

START_TEST(c2d_live_message_with_app_properties)
{
	struct hx_mq *c = hx_mq_device(HX_DEV1, NULL, HX_DEV1_KEY, true);
	ck_assert_int_eq(hx_mq_subscribe(c, C2D_FILTER, 1), 1);
	send_c2d("{\"body\":\"live\",\"properties\":{\"iothub-app-color\":\"dark red\",\"iothub-app-empty\":\"\","
		 "\"iothub-messageid\":\"m/2\",\"iothub-correlationid\":\"c1\"}}",
		 "Content-Type: application/vnd.microsoft.iothub.json\r\n");
	const struct hx_msg *m = expect_c2d(c, "live");
	ck_assert_msg(strstr(m->topic, "&color=dark%20red") != NULL, "%s", m->topic);
	ck_assert_msg(strstr(m->topic, "&empty=") != NULL, "%s", m->topic);
	ck_assert_msg(strstr(m->topic, "%24.mid=m%2F2") != NULL, "%s", m->topic);
	ck_assert_msg(strstr(m->topic, "%24.cid=c1") != NULL, "%s", m->topic);
	ck_assert(hx_db_wait_int(1, "SELECT count(*) FROM c2d_messages WHERE state = 'completed'"));
}
END_TEST

START_TEST(c2d_one_in_flight_then_next_after_puback)
{
	send_c2d("one", NULL);
	send_c2d("two", NULL);
	send_c2d("three", NULL);
	struct hx_mq *c = hx_mq_device(HX_DEV1, NULL, HX_DEV1_KEY, false);
	ck_assert_int_eq(hx_mq_subscribe(c, C2D_FILTER, 1), 1);
	expect_c2d(c, "one");
	expect_c2d(c, "two");
	expect_c2d(c, "three");
	ck_assert(hx_db_wait_int(3, "SELECT count(*) FROM c2d_messages WHERE state = 'completed'"));
	ck_assert_ptr_null(hx_mq_next(c, 200));
}
END_TEST

START_TEST(c2d_unacknowledged_message_redelivered_after_reconnect)
{
	/* A raw client that never PUBACKs: the message stays locked until the connection ends. */
	int fd = hx_raw_device(HX_DEV1, NULL, HX_DEV1_KEY, 60);
	hx_raw_subscribe(fd, 1, C2D_FILTER, 1);
	send_c2d("again", NULL);
	struct hx_packet p;
	hx_raw_packet(fd, &p, "the C2D PUBLISH");
	ck_assert_int_eq(p.first >> 4, 3);
	ck_assert_int_eq(p.first & 0x06, 0x02);   /* QoS 1 */
	ck_assert(p.payload_len == 5 && memcmp(p.payload, "again", 5) == 0);
	ck_assert_int_eq(state_count("invisible"), 1);
	hx_raw_close(fd);
	/* back in the queue, delivery count unchanged, then delivered to the next connection */
	ck_assert(hx_db_wait_int(1, "SELECT count(*) FROM c2d_messages WHERE state = 'enqueued' AND delivery_count = 0"));
	struct hx_mq *c = hx_mq_device(HX_DEV1, NULL, HX_DEV1_KEY, false);
	ck_assert_int_eq(hx_mq_subscribe(c, C2D_FILTER, 1), 1);
	expect_c2d(c, "again");
	ck_assert(hx_db_wait_int(1, "SELECT count(*) FROM c2d_messages WHERE state = 'completed'"));
}
END_TEST

START_TEST(c2d_clean_session_0_delivers_on_reconnect_without_subscribe)
{
	struct hx_mq *c = hx_mq_device(HX_DEV1, NULL, HX_DEV1_KEY, false);   /* clean session 0 */
	ck_assert_int_eq(hx_mq_subscribe(c, C2D_FILTER, 1), 1);
	hx_mq_disconnect(c);
	send_c2d("while-away", NULL);
	/* Raw CONNECT with clean session 0 and no SUBSCRIBE: session present, message arrives. */
	struct hx_buf b = {0};
	struct hx_connect cc = {.client_id = hx_client_id(HX_DEV1, NULL),
				.username = hx_username(HX_DEV1, NULL),
				.password = hx_token(HX_DEV1, NULL, HX_DEV1_KEY),
				.keepalive = 60, .clean = false};
	hx_pkt_connect(&b, &cc);
	int fd = hx_raw_open(hx_hub()->mqtt);
	hx_raw_send_buf(fd, &b);
	static const uint8_t connack_present[] = {0x20, 0x02, 0x01, 0x00};
	hx_raw_expect(fd, connack_present, sizeof connack_present, "CONNACK with session present");
	struct hx_packet p;
	hx_raw_packet(fd, &p, "the C2D PUBLISH after reconnect");
	ck_assert(p.payload_len == 10 && memcmp(p.payload, "while-away", 10) == 0);
	hx_raw_close(fd);
	hx_buf_free(&b);
}
END_TEST

START_TEST(c2d_qos0_subscription_completes_on_send)
{
	struct hx_mq *c = hx_mq_device(HX_DEV1, NULL, HX_DEV1_KEY, false);
	ck_assert_int_eq(hx_mq_subscribe(c, C2D_FILTER, 0), 0);
	send_c2d("fire-and-forget", NULL);
	const struct hx_msg *m = expect_c2d(c, "fire-and-forget");
	ck_assert_int_eq(m->qos, 0);
	ck_assert(hx_db_wait_int(1, "SELECT count(*) FROM c2d_messages WHERE state = 'completed'"));
}
END_TEST

START_TEST(c2d_queue_full_403004_and_module_refused)
{
	for (int i = 0; i < 50; i++)
		send_c2d("q", NULL);
	struct hx_https *r = hx_https_send("POST", C2D_PATH, "\"q\"", hx_service_token());
	struct hx_http resp;
	hx_https_wait(r, &resp, HX_WAIT_MS);
	ck_assert_int_eq(resp.status, 403);
	ck_assert_str_eq(hx_http_header(&resp, "iothub-errorcode"), "DeviceMaximumQueueDepthExceeded");
	/* modules get no C2D: their filter is refused (the connection closes) */
	struct hx_mq *m = hx_mq_device(HX_GW, HX_MOD, HX_GW_M1_KEY, false);
	ck_assert_int_eq(hx_mq_subscribe(m, "devices/gw/messages/devicebound/#", 1), -1);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("mqtt_c2d");
	TCase *tc = hx_tcase("c2d");
	tcase_add_test(tc, c2d_queued_before_subscribe_delivered_on_subscribe);
	tcase_add_test(tc, c2d_live_message_with_app_properties);
	tcase_add_test(tc, c2d_one_in_flight_then_next_after_puback);
	tcase_add_test(tc, c2d_unacknowledged_message_redelivered_after_reconnect);
	tcase_add_test(tc, c2d_clean_session_0_delivers_on_reconnect_without_subscribe);
	tcase_add_test(tc, c2d_qos0_subscription_completes_on_send);
	tcase_add_test(tc, c2d_queue_full_403004_and_module_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hx_run(suite());
}
