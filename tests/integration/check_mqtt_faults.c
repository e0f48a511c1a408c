/*
 * check_mqtt_faults.c: malformed and out-of-order MQTT in exact bytes over raw sockets (as in
 * mosquitto's broker tests): truncation, bad remaining lengths, reserved and server-only types,
 * wrong flags, bad UTF-8, packets before CONNECT, a second CONNECT, empty SUBSCRIBE. A fault never
 * closes more than its own connection: a healthy client keeps working after every one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "harness.h"

/* A fault sent on a fresh connection before any CONNECT: closed, no CONNACK, others unaffected. */
static void fault_before_connect(const void *bytes, size_t n, const char *what)
{
	struct hx_mq *healthy = hx_healthy();
	int fd = hx_raw_open(hx_hub()->mqtt);
	hx_raw_send(fd, bytes, n);
	hx_raw_expect_closed(fd, HX_WAIT_MS, what);
	ck_assert_msg(hx_db_int("SELECT count(*) FROM d2c_messages WHERE device_id <> 'dev2'") == 0,
		      "%s: something was stored", what);
	hx_healthy_check(healthy, what);
}

/*
 * A fault sent by dev1 after a good CONNECT: closed without an answer, recorded as a disconnect
 * that is not a clean one, nothing stored, and the healthy client still served.
 */
static void fault_after_connect(const void *bytes, size_t n, const char *what)
{
	struct hx_mq *healthy = hx_healthy();
	int fd = hx_raw_device(HX_DEV1, NULL, HX_DEV1_KEY, 60);
	hx_raw_send(fd, bytes, n);
	hx_raw_expect_closed(fd, HX_WAIT_MS, what);
	ck_assert_msg(hx_db_wait_int(1, "SELECT count(*) FROM connection_events WHERE device_id = 'dev1' "
				     "AND event = 'disconnect' AND reason <> 'client-disconnect'"),
		      "%s: no disconnect row for the fault", what);
	ck_assert_msg(hx_db_int("SELECT count(*) FROM d2c_messages WHERE device_id = 'dev1'") == 0,
		      "%s: something was stored", what);
	hx_healthy_check(healthy, what);
}

#define BEFORE(name, what, ...)                                                                    \
	START_TEST(name)                                                                           \
	{                                                                                          \
		static const uint8_t b[] = {__VA_ARGS__};                                          \
		fault_before_connect(b, sizeof b, what);                                           \
	}                                                                                          \
	END_TEST

#define AFTER(name, what, ...)                                                                     \
	START_TEST(name)                                                                           \
	{                                                                                          \
		static const uint8_t b[] = {__VA_ARGS__};                                          \
		fault_after_connect(b, sizeof b, what);                                            \
	}                                                                                          \
	END_TEST

/* --- truncated packets and remaining lengths -------------------------------------------------- */

/* CONNECT whose remaining length (5) ends inside the protocol name ("MQT" of 4 announced). */
BEFORE(fault_connect_field_truncated_closed, "CONNECT truncated inside the protocol name",
       0x10, 0x05, 0x00, 0x04, 'M', 'Q', 'T')
/* PUBLISH announcing a 10-byte topic in a 3-byte body. */
AFTER(fault_publish_topic_truncated_closed, "PUBLISH topic longer than the packet",
      0x30, 0x03, 0x00, 0x0a, 'd')
/* QoS 1 PUBLISH whose packet id is cut: topic "a" then one byte. */
AFTER(fault_publish_packet_id_truncated_closed, "QoS 1 PUBLISH without a whole packet id",
      0x32, 0x04, 0x00, 0x01, 'a', 0x00)
/* SUBSCRIBE with a filter but no requested-QoS byte. */
AFTER(fault_subscribe_qos_missing_closed, "SUBSCRIBE filter without its QoS byte",
      0x82, 0x08, 0x00, 0x01, 0x00, 0x04, '$', 'i', 'o', 't')
/* Remaining length in 5 bytes (§2.2.3 allows 4). */
BEFORE(fault_remaining_length_5_bytes_before_connect_closed, "5-byte remaining length",
       0x10, 0xff, 0xff, 0xff, 0xff, 0x7f)
AFTER(fault_remaining_length_5_bytes_closed, "5-byte remaining length after CONNECT",
      0x30, 0x80, 0x80, 0x80, 0x80, 0x01)
/* 393216 bytes announced: over simhub's packet limit, refused before the body comes. */
AFTER(fault_remaining_length_over_limit_closed, "remaining length of 384 KB", 0x30, 0x80, 0x80, 0x18)

/* A packet cut short, then the client's half of the connection closed: the hub closes too. */
START_TEST(fault_truncated_then_eof_closed)
{
	struct hx_mq *healthy = hx_healthy();
	int fd = hx_raw_device(HX_DEV1, NULL, HX_DEV1_KEY, 60);
	static const uint8_t part[] = {0x32, 0x20, 0x00, 0x1d, 'd', 'e', 'v'};
	hx_raw_send_ok(fd, part, sizeof part);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	hx_raw_expect_closed(fd, HX_WAIT_MS, "a half packet then EOF");
	ck_assert_int_eq(hx_d2c_count(HX_DEV1, NULL), 0);
	hx_healthy_check(healthy, "a half packet then EOF");
}
END_TEST

/* --- packet types and fixed-header flags ------------------------------------------------------ */

BEFORE(fault_reserved_type_0_before_connect_closed, "packet type 0", 0x00, 0x00)
BEFORE(fault_reserved_type_15_before_connect_closed, "packet type 15", 0xf0, 0x00)
AFTER(fault_reserved_type_0_closed, "packet type 0 after CONNECT", 0x00, 0x00)
AFTER(fault_reserved_type_15_closed, "packet type 15 after CONNECT", 0xf0, 0x00)
/* Server-to-client packets sent by a client. */
AFTER(fault_connack_from_client_closed, "CONNACK from the client", 0x20, 0x02, 0x00, 0x00)
AFTER(fault_suback_from_client_closed, "SUBACK from the client", 0x90, 0x03, 0x00, 0x01, 0x00)
AFTER(fault_unsuback_from_client_closed, "UNSUBACK from the client", 0xb0, 0x02, 0x00, 0x01)
AFTER(fault_pingresp_from_client_closed, "PINGRESP from the client", 0xd0, 0x00)
/* QoS 2 flow packets (IoT Hub has no QoS 2). */
AFTER(fault_pubrec_closed, "PUBREC", 0x50, 0x02, 0x00, 0x01)
AFTER(fault_pubrel_closed, "PUBREL", 0x62, 0x02, 0x00, 0x01)
AFTER(fault_pubcomp_closed, "PUBCOMP", 0x70, 0x02, 0x00, 0x01)
/* Wrong flags (§2.2.2): each of these must be 0 (or 0x2 for SUBSCRIBE and UNSUBSCRIBE). */
BEFORE(fault_connect_flags_closed, "CONNECT with fixed-header flags 1",
       0x11, 0x0c, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00)
AFTER(fault_subscribe_flags_0_closed, "SUBSCRIBE with flags 0",
      0x80, 0x17, 0x00, 0x01, 0x00, 0x12, '$', 'i', 'o', 't', 'h', 'u', 'b', '/', 't', 'w', 'i', 'n',
      '/', 'r', 'e', 's', '/', '#', 0x00)
AFTER(fault_unsubscribe_flags_0_closed, "UNSUBSCRIBE with flags 0",
      0xa0, 0x16, 0x00, 0x01, 0x00, 0x12, '$', 'i', 'o', 't', 'h', 'u', 'b', '/', 't', 'w', 'i', 'n',
      '/', 'r', 'e', 's', '/', '#')
AFTER(fault_pingreq_flags_closed, "PINGREQ with flags 1", 0xc1, 0x00)
AFTER(fault_disconnect_flags_closed, "DISCONNECT with flags 2", 0xe2, 0x00)
AFTER(fault_puback_flags_closed, "PUBACK with flags 2", 0x42, 0x02, 0x00, 0x01)
AFTER(fault_publish_qos3_closed, "PUBLISH with QoS 3",
      0x36, 0x22, 0x00, 0x1e, 'd', 'e', 'v', 'i', 'c', 'e', 's', '/', 'd', 'e', 'v', '1', '/', 'm',
      'e', 's', 's', 'a', 'g', 'e', 's', '/', 'e', 'v', 'e', 'n', 't', 's', '/', 'x', 0x00, 0x01)
AFTER(fault_pingreq_with_body_closed, "PINGREQ with a body", 0xc0, 0x01, 0x00)

/* --- UTF-8 in topics (§1.5.3) ----------------------------------------------------------------- */

/* PUBLISH QoS 1 on "devices/dev1/messages/events/k=" + `bad` (raw bytes in the topic). */
static void bad_topic(const void *bad, size_t n, const char *what)
{
	struct hx_buf b = {0};
	uint8_t topic[128];
	const char prefix[] = "devices/dev1/messages/events/k=";
	memcpy(topic, prefix, strlen(prefix));
	memcpy(topic + strlen(prefix), bad, n);
	hx_pkt_publish(&b, topic, strlen(prefix) + n, "x", 1, 1, false, 1);
	fault_after_connect(b.p, b.len, what);
	hx_buf_free(&b);
}

START_TEST(fault_topic_overlong_utf8_closed)
{
	static const uint8_t bad[] = {0xc0, 0xaf};
	bad_topic(bad, sizeof bad, "overlong '/' (C0 AF) in a topic");
}
END_TEST

START_TEST(fault_topic_nul_closed)
{
	static const uint8_t bad[] = {'a', 0x00, 'b'};
	bad_topic(bad, sizeof bad, "U+0000 in a topic");
}
END_TEST

START_TEST(fault_topic_surrogate_closed)
{
	static const uint8_t bad[] = {0xed, 0xa0, 0x80};
	bad_topic(bad, sizeof bad, "UTF-16 surrogate D800 in a topic");
}
END_TEST

START_TEST(fault_topic_invalid_byte_closed)
{
	static const uint8_t bad[] = {0xff};
	bad_topic(bad, sizeof bad, "byte FF in a topic");
}
END_TEST

START_TEST(fault_topic_plus_closed)
{
	bad_topic("1+2", 3, "'+' in a topic name");
}
END_TEST

START_TEST(fault_client_id_bad_utf8_closed)
{
	struct hx_buf b = {0};
	struct hx_connect c = {.client_id = "dev\xc0\xaf", .username = hx_username(HX_DEV1, NULL),
			       .password = hx_token(HX_DEV1, NULL, HX_DEV1_KEY), .keepalive = 60};
	hx_pkt_connect(&b, &c);
	fault_before_connect(b.p, b.len, "overlong UTF-8 in the client id");
	hx_buf_free(&b);
}
END_TEST

/* --- order of packets ------------------------------------------------------------------------- */

START_TEST(fault_publish_before_connect_closed)
{
	struct hx_buf b = {0};
	const char t[] = "devices/dev1/messages/events/";
	hx_pkt_publish(&b, t, strlen(t), "early", 5, 1, false, 1);
	fault_before_connect(b.p, b.len, "PUBLISH before CONNECT");
	hx_buf_free(&b);
}
END_TEST

BEFORE(fault_subscribe_before_connect_closed, "SUBSCRIBE before CONNECT",
       0x82, 0x17, 0x00, 0x01, 0x00, 0x12, '$', 'i', 'o', 't', 'h', 'u', 'b', '/', 't', 'w', 'i', 'n',
       '/', 'r', 'e', 's', '/', '#', 0x00)
BEFORE(fault_pingreq_before_connect_closed, "PINGREQ before CONNECT", 0xc0, 0x00)
BEFORE(fault_disconnect_before_connect_closed, "DISCONNECT before CONNECT", 0xe0, 0x00)

START_TEST(fault_second_connect_closed)
{
	struct hx_buf b = {0};
	struct hx_connect c = {.client_id = HX_DEV1, .username = hx_username(HX_DEV1, NULL),
			       .password = hx_token(HX_DEV1, NULL, HX_DEV1_KEY), .keepalive = 60};
	hx_pkt_connect(&b, &c);
	fault_after_connect(b.p, b.len, "a second CONNECT on one connection");
	hx_buf_free(&b);
}
END_TEST

AFTER(fault_subscribe_no_topics_closed, "SUBSCRIBE with no topics", 0x82, 0x02, 0x00, 0x01)
AFTER(fault_unsubscribe_no_topics_closed, "UNSUBSCRIBE with no topics", 0xa2, 0x02, 0x00, 0x01)
AFTER(fault_subscribe_packet_id_0_closed, "SUBSCRIBE with packet id 0",
      0x82, 0x17, 0x00, 0x00, 0x00, 0x12, '$', 'i', 'o', 't', 'h', 'u', 'b', '/', 't', 'w', 'i', 'n',
      '/', 'r', 'e', 's', '/', '#', 0x00)
AFTER(fault_publish_qos1_packet_id_0_closed, "QoS 1 PUBLISH with packet id 0",
      0x32, 0x23, 0x00, 0x1d, 'd', 'e', 'v', 'i', 'c', 'e', 's', '/', 'd', 'e', 'v', '1', '/', 'm',
      'e', 's', 's', 'a', 'g', 'e', 's', '/', 'e', 'v', 'e', 'n', 't', 's', '/', 0x00, 0x00, 'x',
      'y')
AFTER(fault_empty_topic_closed, "PUBLISH with an empty topic", 0x30, 0x03, 0x00, 0x00, 'x')

/* --- CONNECT variants closed without a CONNACK ------------------------------------------------ */

static void connect_closes(const struct hx_connect *c, const char *what)
{
	struct hx_buf b = {0};
	hx_pkt_connect(&b, c);
	fault_before_connect(b.p, b.len, what);
	hx_buf_free(&b);
}

START_TEST(fault_connect_mqisdp_closed)
{
	struct hx_connect c = {.client_id = HX_DEV1, .username = hx_username(HX_DEV1, NULL),
			       .password = hx_token(HX_DEV1, NULL, HX_DEV1_KEY), .keepalive = 60,
			       .protocol = "MQIsdp", .level = 3};
	connect_closes(&c, "MQTT 3.1 (MQIsdp) CONNECT");
}
END_TEST

START_TEST(fault_connect_password_without_username_closed)
{
	struct hx_connect c = {.client_id = HX_DEV1, .password = hx_token(HX_DEV1, NULL, HX_DEV1_KEY),
			       .keepalive = 60};
	connect_closes(&c, "password flag without username flag");
}
END_TEST

BEFORE(fault_connect_reserved_flag_closed, "CONNECT flags with the reserved bit",
       0x10, 0x10, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x03, 0x00, 0x3c, 0x00, 0x04, 'd', 'e', 'v', '1')
BEFORE(fault_connect_trailing_bytes_closed, "CONNECT with bytes after the last field",
       0x10, 0x11, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x04, 'd', 'e', 'v', '1',
       0x00)

/* --- framing that is fine: one byte at a time, many packets in one write ---------------------- */

START_TEST(framing_byte_at_a_time_served)
{
	int fd = hx_raw_open(hx_hub()->mqtt);
	struct hx_buf b = {0};
	struct hx_connect c = {.client_id = HX_DEV1, .username = hx_username(HX_DEV1, NULL),
			       .password = hx_token(HX_DEV1, NULL, HX_DEV1_KEY), .keepalive = 60};
	hx_pkt_connect(&b, &c);
	const char t[] = "devices/dev1/messages/events/a=1";
	hx_pkt_publish(&b, t, strlen(t), "split", 5, 1, false, 77);
	for (size_t i = 0; i < b.len; i++)
		hx_raw_send_ok(fd, b.p + i, 1);
	hx_buf_free(&b);
	static const uint8_t want[] = {0x20, 0x02, 0x00, 0x00, 0x40, 0x02, 0x00, 77};
	hx_raw_expect(fd, want, sizeof want, "CONNACK and PUBACK for a byte-by-byte client");
	ck_assert_int_eq(hx_d2c_count(HX_DEV1, NULL), 1);
}
END_TEST

START_TEST(framing_many_packets_one_write_answered_in_order)
{
	int fd = hx_raw_open(hx_hub()->mqtt);
	struct hx_buf b = {0};
	struct hx_connect c = {.client_id = HX_DEV1, .username = hx_username(HX_DEV1, NULL),
			       .password = hx_token(HX_DEV1, NULL, HX_DEV1_KEY), .keepalive = 60};
	hx_pkt_connect(&b, &c);
	const char *f = "$iothub/twin/res/#";
	uint8_t q = 1;
	hx_pkt_subscribe(&b, 2, 1, &f, &q);
	const char t[] = "devices/dev1/messages/events/";
	hx_pkt_publish(&b, t, strlen(t), "one", 3, 1, false, 3);
	hx_put_u8(&b, 0xc0);
	hx_put_u8(&b, 0x00);
	hx_pkt_publish(&b, t, strlen(t), "two", 3, 1, false, 4);
	hx_put_u8(&b, 0xe0);
	hx_put_u8(&b, 0x00);
	hx_raw_send_buf(fd, &b);
	static const uint8_t want[] = {0x20, 0x02, 0x00, 0x00, 0x90, 0x03, 0x00, 0x02, 0x01,
				       0x40, 0x02, 0x00, 0x03, 0xd0, 0x00, 0x40, 0x02, 0x00, 0x04};
	hx_raw_expect(fd, want, sizeof want, "answers to six packets in one write");
	hx_raw_expect_closed(fd, HX_WAIT_MS, "after the DISCONNECT at the end of the write");
	ck_assert_int_eq(hx_d2c_count(HX_DEV1, NULL), 2);
}
END_TEST

/* --- TLS port --------------------------------------------------------------------------------- */

START_TEST(fault_plain_mqtt_on_tls_port_closed)
{
	struct hx_mq *healthy = hx_healthy();
	int fd = hx_raw_open(hx_hub()->mqtts);
	struct hx_buf b = {0};
	struct hx_connect c = {.client_id = HX_DEV1, .username = hx_username(HX_DEV1, NULL),
			       .password = hx_token(HX_DEV1, NULL, HX_DEV1_KEY), .keepalive = 60};
	hx_pkt_connect(&b, &c);
	hx_raw_send(fd, b.p, b.len);
	hx_buf_free(&b);
	/* The hub may answer with a TLS alert (record type 0x15) before closing; never a CONNACK. */
	uint8_t got[64];
	size_t n = 0;
	int64_t deadline = hx_mono_ms() + 12000;
	for (;;) {
		uint8_t byte;
		ssize_t r = hx_raw_read(fd, &byte, 1, 200);
		if (r == 0)
			break;
		if (r == 1 && n < sizeof got)
			got[n++] = byte;
		ck_assert_msg(hx_mono_ms() < deadline, "plain MQTT on the TLS port: not closed");
	}
	ck_assert_msg(n == 0 || got[0] == 0x15, "plain MQTT on the TLS port answered [%s]", hx_hex(got, n));
	ck_assert_int_eq(hx_db_int("SELECT count(*) FROM connection_events WHERE device_id = 'dev1'"), 0);
	hx_healthy_check(healthy, "plain MQTT on the TLS port");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("mqtt_faults");
	TCase *tc = hx_tcase("fault_truncated");
	tcase_add_test(tc, fault_connect_field_truncated_closed);
	tcase_add_test(tc, fault_publish_topic_truncated_closed);
	tcase_add_test(tc, fault_publish_packet_id_truncated_closed);
	tcase_add_test(tc, fault_subscribe_qos_missing_closed);
	tcase_add_test(tc, fault_remaining_length_5_bytes_before_connect_closed);
	tcase_add_test(tc, fault_remaining_length_5_bytes_closed);
	tcase_add_test(tc, fault_remaining_length_over_limit_closed);
	tcase_add_test(tc, fault_truncated_then_eof_closed);
	suite_add_tcase(s, tc);

	tc = hx_tcase("fault_types_and_flags");
	tcase_add_test(tc, fault_reserved_type_0_before_connect_closed);
	tcase_add_test(tc, fault_reserved_type_15_before_connect_closed);
	tcase_add_test(tc, fault_reserved_type_0_closed);
	tcase_add_test(tc, fault_reserved_type_15_closed);
	tcase_add_test(tc, fault_connack_from_client_closed);
	tcase_add_test(tc, fault_suback_from_client_closed);
	tcase_add_test(tc, fault_unsuback_from_client_closed);
	tcase_add_test(tc, fault_pingresp_from_client_closed);
	tcase_add_test(tc, fault_pubrec_closed);
	tcase_add_test(tc, fault_pubrel_closed);
	tcase_add_test(tc, fault_pubcomp_closed);
	tcase_add_test(tc, fault_connect_flags_closed);
	tcase_add_test(tc, fault_subscribe_flags_0_closed);
	tcase_add_test(tc, fault_unsubscribe_flags_0_closed);
	tcase_add_test(tc, fault_pingreq_flags_closed);
	tcase_add_test(tc, fault_disconnect_flags_closed);
	tcase_add_test(tc, fault_puback_flags_closed);
	tcase_add_test(tc, fault_publish_qos3_closed);
	tcase_add_test(tc, fault_pingreq_with_body_closed);
	suite_add_tcase(s, tc);

	tc = hx_tcase("fault_utf8");
	tcase_add_test(tc, fault_topic_overlong_utf8_closed);
	tcase_add_test(tc, fault_topic_nul_closed);
	tcase_add_test(tc, fault_topic_surrogate_closed);
	tcase_add_test(tc, fault_topic_invalid_byte_closed);
	tcase_add_test(tc, fault_topic_plus_closed);
	tcase_add_test(tc, fault_client_id_bad_utf8_closed);
	suite_add_tcase(s, tc);

	tc = hx_tcase("fault_order");
	tcase_add_test(tc, fault_publish_before_connect_closed);
	tcase_add_test(tc, fault_subscribe_before_connect_closed);
	tcase_add_test(tc, fault_pingreq_before_connect_closed);
	tcase_add_test(tc, fault_disconnect_before_connect_closed);
	tcase_add_test(tc, fault_second_connect_closed);
	tcase_add_test(tc, fault_subscribe_no_topics_closed);
	tcase_add_test(tc, fault_unsubscribe_no_topics_closed);
	tcase_add_test(tc, fault_subscribe_packet_id_0_closed);
	tcase_add_test(tc, fault_publish_qos1_packet_id_0_closed);
	tcase_add_test(tc, fault_empty_topic_closed);
	suite_add_tcase(s, tc);

	tc = hx_tcase("fault_connect");
	tcase_add_test(tc, fault_connect_mqisdp_closed);
	tcase_add_test(tc, fault_connect_password_without_username_closed);
	tcase_add_test(tc, fault_connect_reserved_flag_closed);
	tcase_add_test(tc, fault_connect_trailing_bytes_closed);
	tcase_add_test(tc, fault_plain_mqtt_on_tls_port_closed);
	suite_add_tcase(s, tc);

	tc = hx_tcase("framing");
	tcase_add_test(tc, framing_byte_at_a_time_served);
	tcase_add_test(tc, framing_many_packets_one_write_answered_in_order);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hx_run(suite());
}
