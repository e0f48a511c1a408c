/*
 * check_mqtt_write.c: unit tests of core/mqtt_write: byte-exact CONNACK, PUBACK, SUBACK,
 * UNSUBACK, PINGRESP and the Node SDK trace's PUBLISH, CONNECT and SUBSCRIBE; remaining-length
 * edge sizes; SH_E_NOSPACE reporting the need without writing; argument errors; and round
 * trips (write, then frame and decode, gives the same fields).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mqtt_consts.h"
#include "core/mqtt_decode.h"
#include "core/mqtt_frame.h"
#include "core/mqtt_write.h"

#define USER                                                                                   \
	"localhost/dev1/?api-version=2021-04-12&DeviceClientType=azure-iot-device%2F1.18.4%20(n" \
	"ode%20v20.20.2%3B%20Debian%2012%3B%20x64)"
#define PASS                                                                                   \
	"SharedAccessSignature sr=localhost%2Fdevices%2Fdev1&sig=GQRKA0gdIjJaeqDxJkDOTx%2FGHiIks" \
	"JDSDhjv2GPrFeU%3D&se=1795905406"
#define T1                                                                                     \
	"devices/dev1/messages/events/%24.mid=msg-0001&%24.cid=corr-1&%24.ct=application%2Fjson&" \
	"%24.ce=utf-8&alert=high&with%20space%26amp%3Deq%2Fslash=v%201%262%3D3%2F%C3%BC"

static const char NODE_CONNECT[] = "\x10\x89\x02"
				   "\x00\x04MQTT\x04\xc0\x00\xb4"
				   "\x00\x04"
				   "dev1"
				   "\x00\x7f" USER "\x00\x76" PASS;
static const char NODE_PUBLISH[] = "\x32\xbd\x01"
				   "\x00\xa5" T1 "\xd1\x4c"
				   "{\"temperature\":21.5}";
static const char NODE_SUBSCRIBE[] = "\x82\x28\xd1\x50"
				     "\x00\x23"
				     "devices/dev1/messages/devicebound/#\x01";
static const char C_SDK_SUBSCRIBE[] = "\x82\x30\x00\x02"
				      "\x00\x12$iothub/twin/res/#\x00"
				      "\x00\x16$iothub/methods/POST/#\x00";

#define CANARY 0xa5

/* A buffer of canaries; check_untouched proves a failed call wrote nothing. */
static void fill(uint8_t *b, size_t n)
{
	memset(b, CANARY, n);
}

static void check_untouched(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(b[i], CANARY);
}

static void check_bytes(const uint8_t *got, size_t got_len, const char *want, size_t want_len)
{
	ck_assert_uint_eq(got_len, want_len);
	ck_assert_msg(memcmp(got, want, want_len) == 0, "bytes differ");
}
#define CHECK_BYTES(got, n, lit) check_bytes((got), (n), (lit), sizeof(lit) - 1)

/* Frame buf one byte at a time (the hardest way) and return the one packet, copied to *body
 * (caller frees). */
static struct mqtt_raw reframe(const uint8_t *buf, size_t len, uint8_t **body)
{
	struct mqtt_framer f;
	struct mqtt_raw raw, got = {0};
	size_t used;
	int n = 0;
	mqtt_framer_init(&f, MQTT_MAX_REMAINING_LENGTH);
	for (size_t i = 0; i < len; i++) {
		sh_rc rc = mqtt_framer_feed(&f, buf + i, 1, &used, &raw);
		ck_assert_uint_eq(used, 1);
		if (rc == SH_OK) {
			ck_assert_uint_eq(i, len - 1);
			got = raw;
			*body = malloc(raw.len ? raw.len : 1);
			memcpy(*body, raw.body, raw.len);
			got.body = *body;
			n++;
		} else {
			ck_assert_int_eq(rc, SH_NEED_MORE);
		}
	}
	ck_assert_int_eq(n, 1);
	mqtt_framer_free(&f);
	return got;
}

/* ---- mqtt_write_connack ---- */

START_TEST(mqtt_write_connack_exact_bytes)
{
	uint8_t b[8];
	size_t n;
	ck_assert_int_eq(mqtt_write_connack(b, sizeof b, false, MQTT_CONNACK_ACCEPTED, &n), SH_OK);
	CHECK_BYTES(b, n, "\x20\x02\x00\x00");
	ck_assert_int_eq(mqtt_write_connack(b, sizeof b, true, MQTT_CONNACK_ACCEPTED, &n), SH_OK);
	CHECK_BYTES(b, n, "\x20\x02\x01\x00");
	ck_assert_int_eq(mqtt_write_connack(b, sizeof b, false, MQTT_CONNACK_NOT_AUTHORIZED, &n), SH_OK);
	CHECK_BYTES(b, n, "\x20\x02\x00\x05");
	/* A refusal never carries session-present (§3.2.2.2). */
	ck_assert_int_eq(mqtt_write_connack(b, sizeof b, true, MQTT_CONNACK_BAD_PROTOCOL, &n), SH_OK);
	CHECK_BYTES(b, n, "\x20\x02\x00\x01");
}
END_TEST

START_TEST(mqtt_write_connack_short_buffer_nospace)
{
	uint8_t b[4];
	size_t n = 0;
	fill(b, sizeof b);
	ck_assert_int_eq(mqtt_write_connack(b, 3, false, MQTT_CONNACK_ACCEPTED, &n), SH_E_NOSPACE);
	ck_assert_uint_eq(n, 4);
	check_untouched(b, sizeof b);
	ck_assert_int_eq(mqtt_write_connack(NULL, 0, false, MQTT_CONNACK_ACCEPTED, &n), SH_E_NOSPACE);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(mqtt_write_connack(b, 4, false, MQTT_CONNACK_ACCEPTED, &n), SH_OK);
}
END_TEST

START_TEST(mqtt_write_connack_bad_code_invalid)
{
	uint8_t b[8];
	size_t n = 9;
	fill(b, sizeof b);
	ck_assert_int_eq(mqtt_write_connack(b, sizeof b, false, (enum mqtt_connack_code)6, &n), SH_E_INVALID);
	ck_assert_uint_eq(n, 0);
	check_untouched(b, sizeof b);
}
END_TEST

START_TEST(mqtt_write_connack_round_trip)
{
	for (int code = 0; code <= 5; code++) {
		uint8_t b[4], *body;
		size_t n;
		ck_assert_int_eq(mqtt_write_connack(b, 4, code == 0, (enum mqtt_connack_code)code, &n),
				 SH_OK);
		struct mqtt_raw r = reframe(b, n, &body);
		struct mqtt_connack a;
		ck_assert_int_eq(mqtt_decode_connack(&r, &a), SH_OK);
		ck_assert_uint_eq(a.code, (unsigned)code);
		ck_assert(a.session_present == (code == 0));
		free(body);
	}
}
END_TEST

/* ---- mqtt_write_publish / mqtt_publish_size ---- */

START_TEST(mqtt_write_publish_node_trace_exact)
{
	uint8_t b[256];
	size_t n;
	static const char payload[] = "{\"temperature\":21.5}";
	ck_assert_int_eq(mqtt_write_publish(b, sizeof b, T1, strlen(T1), payload, sizeof payload - 1, 1,
					    false, false, 53580, &n),
			 SH_OK);
	CHECK_BYTES(b, n, NODE_PUBLISH);
	ck_assert_uint_eq(mqtt_publish_size(strlen(T1), sizeof payload - 1, 1), n);
}
END_TEST

START_TEST(mqtt_write_publish_qos0_no_packet_id)
{
	uint8_t b[64];
	size_t n;
	/* A twin 204 answer: QoS 0, empty payload; the packet id argument is ignored. */
	static const char topic[] = "$iothub/twin/res/204/?$rid=1&$version=2";
	ck_assert_int_eq(
	    mqtt_write_publish(b, sizeof b, topic, sizeof topic - 1, NULL, 0, 0, false, false, 77, &n),
	    SH_OK);
	CHECK_BYTES(b, n, "\x30\x29\x00\x27$iothub/twin/res/204/?$rid=1&$version=2");
	ck_assert_uint_eq(mqtt_publish_size(sizeof topic - 1, 0, 0), n);
}
END_TEST

START_TEST(mqtt_write_publish_flags_bits)
{
	uint8_t b[16];
	size_t n;
	ck_assert_int_eq(mqtt_write_publish(b, sizeof b, "a", 1, "x", 1, 1, true, true, 1, &n), SH_OK);
	CHECK_BYTES(b, n, "\x3b\x06\x00\x01" "a" "\x00\x01x");
	ck_assert_int_eq(mqtt_write_publish(b, sizeof b, "a", 1, "x", 1, 2, false, false, 0x0102, &n), SH_OK);
	CHECK_BYTES(b, n, "\x34\x06\x00\x01" "a" "\x01\x02x");
	ck_assert_int_eq(mqtt_write_publish(b, sizeof b, "a", 1, "x", 1, 0, true, false, 0, &n), SH_OK);
	CHECK_BYTES(b, n, "\x31\x04\x00\x01" "ax");
}
END_TEST

START_TEST(mqtt_write_publish_bad_arguments_invalid)
{
	uint8_t b[16];
	size_t n = 5;
	fill(b, sizeof b);
	ck_assert_int_eq(mqtt_write_publish(b, sizeof b, "a", 1, "x", 1, 3, false, false, 1, &n),
			 SH_E_INVALID);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(mqtt_write_publish(b, sizeof b, "a", 1, "x", 1, 1, false, false, 0, &n),
			 SH_E_INVALID);
	ck_assert_int_eq(mqtt_write_publish(b, sizeof b, "", 0, "x", 1, 0, false, false, 0, &n),
			 SH_E_INVALID);
	ck_assert_int_eq(mqtt_write_publish(b, sizeof b, "a", 65536, "x", 1, 0, false, false, 0, &n),
			 SH_E_INVALID);
	check_untouched(b, sizeof b);
}
END_TEST

START_TEST(mqtt_write_publish_too_large)
{
	uint8_t b[16];
	size_t n = 5;
	fill(b, sizeof b);
	/* Nothing is read from the payload before the size is known to be impossible. */
	ck_assert_int_eq(mqtt_write_publish(b, sizeof b, "a", 1, "x", MQTT_MAX_REMAINING_LENGTH - 3 + 1, 0,
					    false, false, 0, &n),
			 SH_E_TOOLARGE);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(mqtt_publish_size(1, MQTT_MAX_REMAINING_LENGTH - 3 + 1, 0), 0);
	ck_assert_uint_eq(mqtt_publish_size(1, MQTT_MAX_REMAINING_LENGTH - 3, 0),
			  MQTT_MAX_REMAINING_LENGTH + 5);
	ck_assert_uint_eq(mqtt_publish_size(1, MQTT_MAX_REMAINING_LENGTH - 3, 1), 0);
	ck_assert_uint_eq(mqtt_publish_size(1, SIZE_MAX, 0), 0);
	ck_assert_uint_eq(mqtt_publish_size(0, 1, 0), 0);
	ck_assert_uint_eq(mqtt_publish_size(65536, 1, 0), 0);
	check_untouched(b, sizeof b);
}
END_TEST

START_TEST(mqtt_write_publish_short_buffer_nospace)
{
	uint8_t b[256];
	size_t n = 0;
	static const char payload[] = "{\"temperature\":21.5}";
	size_t need = sizeof NODE_PUBLISH - 1;
	fill(b, sizeof b);
	ck_assert_int_eq(mqtt_write_publish(b, need - 1, T1, strlen(T1), payload, sizeof payload - 1, 1,
					    false, false, 53580, &n),
			 SH_E_NOSPACE);
	ck_assert_uint_eq(n, need);
	check_untouched(b, sizeof b);
	ck_assert_int_eq(mqtt_write_publish(b, need, T1, strlen(T1), payload, sizeof payload - 1, 1, false,
					    false, 53580, &n),
			 SH_OK);
	ck_assert_uint_eq(n, need);
}
END_TEST

static const size_t rem_edges[] = {3, 127, 128, 16383, 16384, 2097151, 2097152};

/* Each edge remaining length: the header size, mqtt_publish_size, and a full round trip. */
START_TEST(mqtt_write_publish_remaining_length_edges_round_trip)
{
	size_t rem = rem_edges[_i];
	size_t payload_len = rem - 2 - 1; /* topic "t", QoS 0 */
	uint8_t *payload = malloc(payload_len + 1);
	for (size_t i = 0; i < payload_len; i++)
		payload[i] = (uint8_t)(i ^ (i >> 8));
	size_t hdr = rem < 128 ? 2 : rem < 16384 ? 3 : rem < 2097152 ? 4 : 5;
	size_t need = mqtt_publish_size(1, payload_len, 0);
	ck_assert_uint_eq(need, hdr + rem);
	uint8_t *b = malloc(need);
	size_t n;
	ck_assert_int_eq(mqtt_write_publish(b, need, "t", 1, payload, payload_len, 0, false, false, 0, &n),
			 SH_OK);
	ck_assert_uint_eq(n, need);
	ck_assert_uint_eq(b[hdr - 1] & 0x80, 0);       /* the last length byte ends the field */
	for (size_t i = 1; i < hdr - 1; i++)
		ck_assert_uint_eq(b[i] & 0x80, 0x80);

	struct mqtt_framer f;
	struct mqtt_raw r;
	size_t used;
	mqtt_framer_init(&f, rem);
	ck_assert_int_eq(mqtt_framer_feed(&f, b, n, &used, &r), SH_OK);
	ck_assert_uint_eq(r.len, rem);
	struct mqtt_publish p;
	ck_assert_int_eq(mqtt_decode_publish(&r, &p), SH_OK);
	ck_assert_uint_eq(p.payload.len, payload_len);
	ck_assert(memcmp(p.payload.ptr, payload, payload_len) == 0);
	mqtt_framer_free(&f);
	free(b);
	free(payload);
}
END_TEST

START_TEST(mqtt_write_publish_round_trip_fields)
{
	static const struct {
		const char *topic;
		const char *payload;
		uint8_t qos;
		bool retain, dup;
		uint16_t id;
	} cases[] = {
	    {"devices/dev1/messages/devicebound/%24.mid=c2d-1&iothub-ack=full", "{\"cmd\":\"on\"}", 1, false,
	     false, 1},
	    {"$iothub/methods/POST/reboot/?$rid=42", "{\"delay\":5}", 0, false, false, 0},
	    {"$iothub/twin/PATCH/properties/desired/?$version=2", "", 0, false, false, 0},
	    {"a/\xc3\xbc/b", "x", 2, true, true, 65535},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t b[256], *body;
		size_t n;
		size_t tl = strlen(cases[i].topic), pl = strlen(cases[i].payload);
		ck_assert_int_eq(mqtt_write_publish(b, sizeof b, cases[i].topic, tl, cases[i].payload, pl,
						    cases[i].qos, cases[i].retain, cases[i].dup, cases[i].id,
						    &n),
				 SH_OK);
		ck_assert_uint_eq(n, mqtt_publish_size(tl, pl, cases[i].qos));
		struct mqtt_raw r = reframe(b, n, &body);
		struct mqtt_publish p;
		ck_assert_int_eq(mqtt_decode_publish(&r, &p), SH_OK);
		ck_assert_uint_eq(p.qos, cases[i].qos);
		ck_assert(p.retain == cases[i].retain && p.dup == cases[i].dup);
		ck_assert_uint_eq(p.packet_id, cases[i].qos ? cases[i].id : 0);
		ck_assert(p.topic.len == tl && memcmp(p.topic.ptr, cases[i].topic, tl) == 0);
		ck_assert(p.payload.len == pl &&
			  (pl == 0 || memcmp(p.payload.ptr, cases[i].payload, pl) == 0));
		free(body);
	}
}
END_TEST

/* ---- mqtt_write_puback / mqtt_write_unsuback / mqtt_write_ack ---- */

START_TEST(mqtt_write_puback_exact_bytes)
{
	uint8_t b[4];
	size_t n;
	ck_assert_int_eq(mqtt_write_puback(b, sizeof b, 53580, &n), SH_OK);
	CHECK_BYTES(b, n, "\x40\x02\xd1\x4c");
	ck_assert_int_eq(mqtt_write_puback(b, sizeof b, 0, &n), SH_E_INVALID);
	ck_assert_int_eq(mqtt_write_puback(b, 3, 1, &n), SH_E_NOSPACE);
	ck_assert_uint_eq(n, 4);
}
END_TEST

START_TEST(mqtt_write_unsuback_exact_bytes)
{
	uint8_t b[4];
	size_t n;
	ck_assert_int_eq(mqtt_write_unsuback(b, sizeof b, 4, &n), SH_OK);
	CHECK_BYTES(b, n, "\xb0\x02\x00\x04");
	ck_assert_int_eq(mqtt_write_unsuback(b, sizeof b, 0, &n), SH_E_INVALID);
}
END_TEST

START_TEST(mqtt_write_ack_each_type_round_trip)
{
	static const struct {
		enum mqtt_type type;
		const char *bytes;
	} cases[] = {
		{MQTT_PUBACK, "\x40\x02\x12\x34"},  {MQTT_PUBREC, "\x50\x02\x12\x34"},
		{MQTT_PUBREL, "\x62\x02\x12\x34"},  {MQTT_PUBCOMP, "\x70\x02\x12\x34"},
		{MQTT_UNSUBACK, "\xb0\x02\x12\x34"},
	};
	for (size_t i = 0; i < 5; i++) {
		uint8_t b[4], *body;
		size_t n;
		uint16_t id;
		ck_assert_int_eq(mqtt_write_ack(b, sizeof b, cases[i].type, 0x1234, &n), SH_OK);
		check_bytes(b, n, cases[i].bytes, 4);
		struct mqtt_raw r = reframe(b, n, &body);
		ck_assert_int_eq(mqtt_decode_ack(&r, &id), SH_OK);
		ck_assert_uint_eq(id, 0x1234);
		free(body);
	}
	size_t n;
	uint8_t b[4];
	ck_assert_int_eq(mqtt_write_ack(b, sizeof b, MQTT_PUBLISH, 1, &n), SH_E_INVALID);
	ck_assert_int_eq(mqtt_write_ack(b, sizeof b, MQTT_SUBACK, 1, &n), SH_E_INVALID);
}
END_TEST

/* ---- mqtt_write_suback ---- */

START_TEST(mqtt_write_suback_exact_bytes)
{
	uint8_t b[32];
	size_t n;
	static const uint8_t one[] = {1};
	ck_assert_int_eq(mqtt_write_suback(b, sizeof b, 53584, one, 1, &n), SH_OK);
	CHECK_BYTES(b, n, "\x90\x03\xd1\x50\x01"); /* the trace's SUBACK granted [1] */
	static const uint8_t mixed[] = {0, 1, MQTT_SUBACK_FAILURE};
	ck_assert_int_eq(mqtt_write_suback(b, sizeof b, 2, mixed, 3, &n), SH_OK);
	CHECK_BYTES(b, n, "\x90\x05\x00\x02\x00\x01\x80");
	uint8_t *body;
	struct mqtt_raw r = reframe(b, n, &body);
	struct mqtt_suback s;
	ck_assert_int_eq(mqtt_decode_suback(&r, &s), SH_OK);
	ck_assert_uint_eq(s.count, 3);
	ck_assert_uint_eq(s.codes[2], MQTT_SUBACK_FAILURE);
	free(body);
}
END_TEST

START_TEST(mqtt_write_suback_bad_arguments)
{
	uint8_t b[8];
	size_t n;
	static const uint8_t bad[] = {3};
	static const uint8_t ok[] = {0, 0};
	fill(b, sizeof b);
	ck_assert_int_eq(mqtt_write_suback(b, sizeof b, 1, bad, 1, &n), SH_E_INVALID);
	ck_assert_int_eq(mqtt_write_suback(b, sizeof b, 1, ok, 0, &n), SH_E_INVALID);
	ck_assert_int_eq(mqtt_write_suback(b, sizeof b, 0, ok, 1, &n), SH_E_INVALID);
	ck_assert_int_eq(mqtt_write_suback(b, 5, 1, ok, 2, &n), SH_E_NOSPACE);
	ck_assert_uint_eq(n, 6);
	check_untouched(b, sizeof b);
}
END_TEST

/* ---- mqtt_write_pingresp / mqtt_write_empty ---- */

START_TEST(mqtt_write_pingresp_exact_bytes)
{
	uint8_t b[2];
	size_t n;
	ck_assert_int_eq(mqtt_write_pingresp(b, sizeof b, &n), SH_OK);
	CHECK_BYTES(b, n, "\xd0\x00");
	ck_assert_int_eq(mqtt_write_pingresp(b, 1, &n), SH_E_NOSPACE);
	ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(mqtt_write_empty_types)
{
	uint8_t b[2];
	size_t n;
	ck_assert_int_eq(mqtt_write_empty(b, sizeof b, MQTT_PINGREQ, &n), SH_OK);
	CHECK_BYTES(b, n, "\xc0\x00");
	ck_assert_int_eq(mqtt_write_empty(b, sizeof b, MQTT_DISCONNECT, &n), SH_OK);
	CHECK_BYTES(b, n, "\xe0\x00");
	ck_assert_int_eq(mqtt_write_empty(b, sizeof b, MQTT_CONNACK, &n), SH_E_INVALID);
}
END_TEST

/* ---- mqtt_write_connect ---- */

START_TEST(mqtt_write_connect_node_trace_exact)
{
	struct mqtt_connect c = {0};
	c.keepalive = 180;
	c.client_id = sh_span_str("dev1");
	c.has_username = true;
	c.username = sh_span_str(USER);
	c.has_password = true;
	c.password = sh_span_str(PASS);
	uint8_t b[512];
	size_t n;
	ck_assert_int_eq(mqtt_write_connect(b, sizeof b, &c, &n), SH_OK);
	CHECK_BYTES(b, n, NODE_CONNECT);
}
END_TEST

START_TEST(mqtt_write_connect_round_trip_same_bytes)
{
	/* decode(trace) -> write -> identical bytes; and a will/clean-session variant via decode. */
	uint8_t b[512], *body;
	size_t n;
	struct mqtt_raw r = reframe((const uint8_t *)NODE_CONNECT, sizeof NODE_CONNECT - 1, &body);
	struct mqtt_connect c;
	ck_assert_int_eq(mqtt_decode_connect(&r, &c, NULL), SH_OK);
	ck_assert_int_eq(mqtt_write_connect(b, sizeof b, &c, &n), SH_OK);
	CHECK_BYTES(b, n, NODE_CONNECT);
	free(body);

	struct mqtt_connect w = {0};
	w.clean_session = true;
	w.keepalive = 0;
	w.client_id = sh_span_str("dev1/mod1");
	w.has_will = true;
	w.will_qos = 1;
	w.will_retain = true;
	w.will_topic = sh_span_str("devices/dev1/modules/mod1/messages/events/");
	w.will_payload = sh_span_make("\x00\x01", 2);
	ck_assert_int_eq(mqtt_write_connect(b, sizeof b, &w, &n), SH_OK);
	r = reframe(b, n, &body);
	ck_assert_int_eq(mqtt_decode_connect(&r, &c, NULL), SH_OK);
	ck_assert(c.clean_session && c.has_will && c.will_retain && !c.has_username && !c.has_password);
	ck_assert_uint_eq(c.will_qos, 1);
	ck_assert(sh_span_eq(c.will_topic, w.will_topic));
	ck_assert(sh_span_eq(c.will_payload, w.will_payload));
	ck_assert(sh_span_eq(c.client_id, w.client_id));
	free(body);
}
END_TEST

START_TEST(mqtt_write_connect_bad_arguments_invalid)
{
	uint8_t b[64];
	size_t n;
	struct mqtt_connect c = {0};
	c.client_id = sh_span_str("x");
	c.has_password = true;
	ck_assert_int_eq(mqtt_write_connect(b, sizeof b, &c, &n), SH_E_INVALID);
	c.has_password = false;
	c.has_will = true;
	c.will_topic = sh_span_str("t");
	c.will_qos = 3;
	ck_assert_int_eq(mqtt_write_connect(b, sizeof b, &c, &n), SH_E_INVALID);
	c.will_qos = 0;
	c.will_topic = sh_span_make(NULL, 0);
	ck_assert_int_eq(mqtt_write_connect(b, sizeof b, &c, &n), SH_E_INVALID);
	c.has_will = false;
	c.client_id = sh_span_make(b, 65536);
	ck_assert_int_eq(mqtt_write_connect(b, sizeof b, &c, &n), SH_E_INVALID);
	c.client_id = sh_span_str("x");
	ck_assert_int_eq(mqtt_write_connect(b, 14, &c, &n), SH_E_NOSPACE);
	ck_assert_uint_eq(n, 15);
}
END_TEST

/* ---- mqtt_write_subscribe / mqtt_write_unsubscribe ---- */

START_TEST(mqtt_write_subscribe_trace_exact)
{
	struct mqtt_subscribe s = {0};
	s.packet_id = 53584;
	s.count = 1;
	s.topics[0].filter = sh_span_str("devices/dev1/messages/devicebound/#");
	s.topics[0].qos = 1;
	uint8_t b[64];
	size_t n;
	ck_assert_int_eq(mqtt_write_subscribe(b, sizeof b, &s, &n), SH_OK);
	CHECK_BYTES(b, n, NODE_SUBSCRIBE);

	s.packet_id = 2;
	s.count = 2;
	s.topics[0].filter = sh_span_str("$iothub/twin/res/#");
	s.topics[0].qos = 0;
	s.topics[1].filter = sh_span_str("$iothub/methods/POST/#");
	s.topics[1].qos = 0;
	ck_assert_int_eq(mqtt_write_subscribe(b, sizeof b, &s, &n), SH_OK);
	CHECK_BYTES(b, n, C_SDK_SUBSCRIBE);

	uint8_t *body;
	struct mqtt_raw r = reframe(b, n, &body);
	struct mqtt_subscribe d;
	ck_assert_int_eq(mqtt_decode_subscribe(&r, &d), SH_OK);
	ck_assert_uint_eq(d.count, 2);
	ck_assert(sh_span_eq(d.topics[1].filter, s.topics[1].filter));
	free(body);
}
END_TEST

START_TEST(mqtt_write_subscribe_bad_arguments_invalid)
{
	uint8_t b[64];
	size_t n;
	struct mqtt_subscribe s = {0};
	s.packet_id = 1;
	ck_assert_int_eq(mqtt_write_subscribe(b, sizeof b, &s, &n), SH_E_INVALID); /* count 0 */
	s.count = 1;
	s.topics[0].filter = sh_span_str("a");
	s.topics[0].qos = 3;
	ck_assert_int_eq(mqtt_write_subscribe(b, sizeof b, &s, &n), SH_E_INVALID);
	s.topics[0].qos = 0;
	s.packet_id = 0;
	ck_assert_int_eq(mqtt_write_subscribe(b, sizeof b, &s, &n), SH_E_INVALID);
	s.packet_id = 1;
	s.count = MQTT_MAX_TOPICS_PER_SUBSCRIBE + 1;
	ck_assert_int_eq(mqtt_write_subscribe(b, sizeof b, &s, &n), SH_E_INVALID);
	s.count = 1;
	ck_assert_int_eq(mqtt_write_subscribe(b, 7, &s, &n), SH_E_NOSPACE);
	ck_assert_uint_eq(n, 8);
}
END_TEST

START_TEST(mqtt_write_unsubscribe_round_trip)
{
	struct mqtt_unsubscribe u = {0};
	u.packet_id = 9;
	u.count = 2;
	u.filters[0] = sh_span_str("$iothub/twin/res/#");
	u.filters[1] = sh_span_str("#");
	uint8_t b[64], *body;
	size_t n;
	ck_assert_int_eq(mqtt_write_unsubscribe(b, sizeof b, &u, &n), SH_OK);
	CHECK_BYTES(b, n, "\xa2\x19\x00\x09\x00\x12$iothub/twin/res/#\x00\x01#");
	struct mqtt_raw r = reframe(b, n, &body);
	struct mqtt_unsubscribe d;
	ck_assert_int_eq(mqtt_decode_unsubscribe(&r, &d), SH_OK);
	ck_assert_uint_eq(d.packet_id, 9);
	ck_assert_uint_eq(d.count, 2);
	ck_assert(sh_span_eq(d.filters[0], u.filters[0]) && sh_span_eq(d.filters[1], u.filters[1]));
	free(body);
	u.filters[1] = sh_span_make(NULL, 0);
	ck_assert_int_eq(mqtt_write_unsubscribe(b, sizeof b, &u, &n), SH_E_INVALID);
}
END_TEST

static Suite *mqtt_write_suite(void)
{
	Suite *s = suite_create("mqtt_write");
	TCase *tc = tcase_create("mqtt_write_connack");
	tcase_add_test(tc, mqtt_write_connack_exact_bytes);
	tcase_add_test(tc, mqtt_write_connack_short_buffer_nospace);
	tcase_add_test(tc, mqtt_write_connack_bad_code_invalid);
	tcase_add_test(tc, mqtt_write_connack_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_write_publish");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, mqtt_write_publish_node_trace_exact);
	tcase_add_test(tc, mqtt_write_publish_qos0_no_packet_id);
	tcase_add_test(tc, mqtt_write_publish_flags_bits);
	tcase_add_test(tc, mqtt_write_publish_bad_arguments_invalid);
	tcase_add_test(tc, mqtt_write_publish_too_large);
	tcase_add_test(tc, mqtt_write_publish_short_buffer_nospace);
	tcase_add_loop_test(tc, mqtt_write_publish_remaining_length_edges_round_trip, 0,
			    (int)(sizeof rem_edges / sizeof rem_edges[0]));
	tcase_add_test(tc, mqtt_write_publish_round_trip_fields);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_write_puback");
	tcase_add_test(tc, mqtt_write_puback_exact_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_write_unsuback");
	tcase_add_test(tc, mqtt_write_unsuback_exact_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_write_ack");
	tcase_add_test(tc, mqtt_write_ack_each_type_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_write_suback");
	tcase_add_test(tc, mqtt_write_suback_exact_bytes);
	tcase_add_test(tc, mqtt_write_suback_bad_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_write_pingresp");
	tcase_add_test(tc, mqtt_write_pingresp_exact_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_write_empty");
	tcase_add_test(tc, mqtt_write_empty_types);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_write_connect");
	tcase_add_test(tc, mqtt_write_connect_node_trace_exact);
	tcase_add_test(tc, mqtt_write_connect_round_trip_same_bytes);
	tcase_add_test(tc, mqtt_write_connect_bad_arguments_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_write_subscribe");
	tcase_add_test(tc, mqtt_write_subscribe_trace_exact);
	tcase_add_test(tc, mqtt_write_subscribe_bad_arguments_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_write_unsubscribe");
	tcase_add_test(tc, mqtt_write_unsubscribe_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mqtt_write_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
