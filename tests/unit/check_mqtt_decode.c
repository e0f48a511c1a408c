/*
 * check_mqtt_decode.c: unit tests of core/mqtt_decode and its cursor core/mqtt_read: the
 * Node SDK trace packets field by field, then for every decoder an empty body, each prefix
 * (every field truncated), trailing bytes, bad UTF-8 (overlong, surrogate, U+0000), wrong
 * fixed-header flags, wrong type, QoS 3 and the spec's CONNECT refusals.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mqtt_consts.h"
#include "core/mqtt_decode.h"
#include "core/mqtt_frame.h"
#include "core/mqtt_read.h"

/* Client packets from the Node SDK trace (node-sdk-mqtt.md, device dev1), byte-exact. */
#define USER                                                                                   \
	"localhost/dev1/?api-version=2021-04-12&DeviceClientType=azure-iot-device%2F1.18.4%20(n" \
	"ode%20v20.20.2%3B%20Debian%2012%3B%20x64)"
#define PASS                                                                                   \
	"SharedAccessSignature sr=localhost%2Fdevices%2Fdev1&sig=GQRKA0gdIjJaeqDxJkDOTx%2FGHiIks" \
	"JDSDhjv2GPrFeU%3D&se=1795905406"
#define T1                                                                                     \
	"devices/dev1/messages/events/%24.mid=msg-0001&%24.cid=corr-1&%24.ct=application%2Fjson&" \
	"%24.ce=utf-8&alert=high&with%20space%26amp%3Deq%2Fslash=v%201%262%3D3%2F%C3%BC"
#define TWIN_GET "$iothub/twin/GET/?$rid=6f4b0949-7488-45cf-beca-99ebc02bd51f"

static const char NODE_CONNECT[] = "\x10\x89\x02"
				   "\x00\x04MQTT\x04\xc0\x00\xb4"
				   "\x00\x04"
				   "dev1"
				   "\x00\x7f" USER "\x00\x76" PASS;
static const char NODE_PUBLISH[] = "\x32\xbd\x01"
				   "\x00\xa5" T1 "\xd1\x4c"
				   "{\"temperature\":21.5}";
static const char NODE_TWIN_GET[] = "\x30\x3e"
				    "\x00\x3b" TWIN_GET " ";
static const char NODE_SUBSCRIBE[] = "\x82\x28\xd1\x50"
				     "\x00\x23"
				     "devices/dev1/messages/devicebound/#\x01";
/* azure-iot-sdk-c puts twin/res and methods in one SUBSCRIBE (c-clients.md). */
static const char C_SDK_SUBSCRIBE[] = "\x82\x30\x00\x02"
				      "\x00\x12$iothub/twin/res/#\x00"
				      "\x00\x16$iothub/methods/POST/#\x00";

/* Bad MQTT UTF-8, each a complete string the decoders must refuse. */
static const struct {
	const char *s;
	size_t len;
} bad_utf8[] = {
	{"a\x00" "b", 3},           /* U+0000 */
	{"\xc0\xaf", 2},            /* overlong '/' */
	{"\xc1\xbf", 2},            /* overlong */
	{"\xe0\x80\xaf", 3},        /* overlong '/' in three bytes */
	{"\xf0\x80\x80\xaf", 4},    /* overlong in four bytes */
	{"\xed\xa0\x80", 3},        /* U+D800, a surrogate */
	{"\xed\xbf\xbf", 3},        /* U+DFFF */
	{"\xf4\x90\x80\x80", 4},    /* U+110000 */
	{"\xf5\x80\x80\x80", 4},
	{"\x80", 1},                /* lone continuation byte */
	{"a\xbf", 2},
	{"\xe2\x82", 2},            /* truncated sequence */
	{"\xc3", 1},
	{"\xc3\x28", 2},            /* bad continuation */
	{"\xe2\x28\xa1", 3},
	{"\xf0\x9d\x84", 3},
	{"\xfe", 1},
	{"\xff", 1},
};
#define NBAD_UTF8 (sizeof bad_utf8 / sizeof bad_utf8[0])

/* Frame a whole packet held in a vector; the body borrows from the vector. */
static struct mqtt_raw frame_one(const char *pkt, size_t len)
{
	struct mqtt_framer f;
	struct mqtt_raw raw;
	size_t used;
	mqtt_framer_init(&f, 1u << 20);
	ck_assert_int_eq(mqtt_framer_feed(&f, (const uint8_t *)pkt, len, &used, &raw), SH_OK);
	ck_assert_uint_eq(used, len);
	mqtt_framer_free(&f);
	return raw;
}
#define FRAME(v) frame_one((v), sizeof(v) - 1)

/* A packet built from parts: type, flags and a body copied to an exact-size heap buffer so
 * ASan sees any read past it. Release with raw_free. */
static struct mqtt_raw raw_make(uint8_t type, uint8_t flags, const void *body, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(copy);
	if (len)
		memcpy(copy, body, len);
	struct mqtt_raw r = {type, flags, copy, len};
	return r;
}

static void raw_free(struct mqtt_raw *r)
{
	free((void *)r->body);
	r->body = NULL;
}

/*
 * The decode_*_bytes helpers return spans into their copy, so the copy must outlive the call:
 * each helper parks its packet here, freed by the next helper call or the test's teardown.
 */
static struct mqtt_raw parked;

static void park(struct mqtt_raw r)
{
	raw_free(&parked);
	parked = r;
}

static void release_parked(void)
{
	raw_free(&parked);
}

static int span_is(struct sh_span s, const char *lit, size_t len)
{
	return s.len == len && (len == 0 || memcmp(s.ptr, lit, len) == 0);
}
#define SPAN_IS(s, lit) span_is((s), (lit), sizeof(lit) - 1)

/* Build "len16 + bytes" into w; returns bytes written. */
static size_t put_str(uint8_t *w, const void *s, size_t n)
{
	w[0] = (uint8_t)(n >> 8);
	w[1] = (uint8_t)n;
	memcpy(w + 2, s, n);
	return 2 + n;
}

/* A CONNECT body: header fields, then client id, [will topic, will msg], [user], [pass]. */
static size_t connect_body(uint8_t *w, uint8_t flags, const char *id, size_t id_len, const char *wt,
			   size_t wt_len, const char *user, size_t user_len)
{
	size_t n = put_str(w, "MQTT", 4);
	w[n++] = 4;
	w[n++] = flags;
	w[n++] = 0;
	w[n++] = 60;
	n += put_str(w + n, id, id_len);
	if (flags & MQTT_CONNECT_WILL) {
		n += put_str(w + n, wt, wt_len);
		n += put_str(w + n, "bye", 3);
	}
	if (flags & MQTT_CONNECT_USERNAME)
		n += put_str(w + n, user, user_len);
	if (flags & MQTT_CONNECT_PASSWORD)
		n += put_str(w + n, "p\x00w", 3);
	return n;
}

static sh_rc decode_connect_bytes(const uint8_t *body, size_t len, struct mqtt_connect *c,
				  enum mqtt_connack_code *code)
{
	struct mqtt_raw r = raw_make(MQTT_CONNECT, 0, body, len);
	sh_rc rc = mqtt_decode_connect(&r, c, code);
	park(r);
	return rc;
}

/* ---- mqtt_decode_connect ---- */

START_TEST(mqtt_decode_connect_node_trace_fields)
{
	struct mqtt_raw r = FRAME(NODE_CONNECT);
	struct mqtt_connect c;
	enum mqtt_connack_code code = MQTT_CONNACK_NOT_AUTHORIZED;
	ck_assert_int_eq(mqtt_decode_connect(&r, &c, &code), SH_OK);
	ck_assert_int_eq(code, MQTT_CONNACK_ACCEPTED);
	ck_assert(SPAN_IS(c.protocol_name, "MQTT"));
	ck_assert_uint_eq(c.level, 4);
	ck_assert(!c.clean_session);
	ck_assert_uint_eq(c.keepalive, 180);
	ck_assert(SPAN_IS(c.client_id, "dev1"));
	ck_assert(!c.has_will);
	ck_assert_uint_eq(c.will_qos, 0);
	ck_assert(!c.will_retain);
	ck_assert_ptr_null(c.will_topic.ptr);
	ck_assert_ptr_null(c.will_payload.ptr);
	ck_assert(c.has_username && SPAN_IS(c.username, USER));
	ck_assert(c.has_password && SPAN_IS(c.password, PASS));
}
END_TEST

START_TEST(mqtt_decode_connect_will_and_clean_session_fields)
{
	uint8_t b[128];
	uint8_t flags = MQTT_CONNECT_CLEAN_SESSION | MQTT_CONNECT_WILL | (1 << MQTT_CONNECT_WILL_QOS_SHIFT) |
			MQTT_CONNECT_WILL_RETAIN | MQTT_CONNECT_USERNAME | MQTT_CONNECT_PASSWORD;
	size_t n = connect_body(b, flags, "dev1", 4, "devices/dev1/messages/events/", 29, "u", 1);
	struct mqtt_connect c;
	ck_assert_int_eq(decode_connect_bytes(b, n, &c, NULL), SH_OK);
	ck_assert(c.clean_session && c.has_will && c.will_retain);
	ck_assert_uint_eq(c.will_qos, 1);
	ck_assert_uint_eq(c.keepalive, 60);
	ck_assert_uint_eq(c.will_topic.len, 29);
	ck_assert_uint_eq(c.will_payload.len, 3);
	ck_assert_uint_eq(c.username.len, 1);
	ck_assert_uint_eq(c.password.len, 3); /* binary: U+0000 is fine in a password */
}
END_TEST

START_TEST(mqtt_decode_connect_empty_client_id_clean_ok)
{
	uint8_t b[64];
	size_t n = connect_body(b, MQTT_CONNECT_CLEAN_SESSION, "", 0, NULL, 0, NULL, 0);
	struct mqtt_connect c;
	enum mqtt_connack_code code;
	ck_assert_int_eq(decode_connect_bytes(b, n, &c, &code), SH_OK);
	ck_assert_int_eq(code, MQTT_CONNACK_ACCEPTED);
	ck_assert_uint_eq(c.client_id.len, 0);
	ck_assert(!c.has_username && !c.has_password);
}
END_TEST

START_TEST(mqtt_decode_connect_empty_client_id_persistent_rejected)
{
	uint8_t b[64];
	size_t n = connect_body(b, 0, "", 0, NULL, 0, NULL, 0);
	struct mqtt_connect c;
	enum mqtt_connack_code code = MQTT_CONNACK_ACCEPTED;
	ck_assert_int_eq(decode_connect_bytes(b, n, &c, &code), SH_E_INVALID);
	ck_assert_int_eq(code, MQTT_CONNACK_ID_REJECTED);
	/* ...but a malformed rest still wins: close without CONNACK. */
	b[n++] = 0;
	ck_assert_int_eq(decode_connect_bytes(b, n, &c, &code), SH_E_MALFORMED);
}
END_TEST

START_TEST(mqtt_decode_connect_other_level_bad_protocol)
{
	static const uint8_t levels[] = {0, 3, 5, 255};
	for (size_t i = 0; i < sizeof levels; i++) {
		uint8_t b[64];
		size_t n = connect_body(b, MQTT_CONNECT_CLEAN_SESSION, "x", 1, NULL, 0, NULL, 0);
		b[6] = levels[i];
		struct mqtt_connect c;
		enum mqtt_connack_code code = MQTT_CONNACK_ACCEPTED;
		ck_assert_int_eq(decode_connect_bytes(b, n, &c, &code), SH_E_INVALID);
		ck_assert_int_eq(code, MQTT_CONNACK_BAD_PROTOCOL);
		ck_assert_uint_eq(c.level, levels[i]);
		/* Decided at the level byte: whatever follows (an MQTT 5 property block) is not read. */
		ck_assert_int_eq(decode_connect_bytes(b, 7, &c, &code), SH_E_INVALID);
		ck_assert_int_eq(code, MQTT_CONNACK_BAD_PROTOCOL);
	}
}
END_TEST

START_TEST(mqtt_decode_connect_other_protocol_name_malformed)
{
	static const uint8_t mqisdp[] = {0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 2, 0, 60, 0, 1, 'x'};
	static const uint8_t lower[] = {0, 4, 'm', 'q', 't', 't', 4, 2, 0, 60, 0, 1, 'x'};
	static const uint8_t empty[] = {0, 0, 4, 2, 0, 60, 0, 1, 'x'};
	struct mqtt_connect c;
	enum mqtt_connack_code code;
	ck_assert_int_eq(decode_connect_bytes(mqisdp, sizeof mqisdp, &c, &code), SH_E_MALFORMED);
	ck_assert_int_eq(decode_connect_bytes(lower, sizeof lower, &c, &code), SH_E_MALFORMED);
	ck_assert_int_eq(decode_connect_bytes(empty, sizeof empty, &c, &code), SH_E_MALFORMED);
}
END_TEST

START_TEST(mqtt_decode_connect_bad_flag_combinations_malformed)
{
	static const uint8_t bad[] = {
		MQTT_CONNECT_RESERVED,
		MQTT_CONNECT_CLEAN_SESSION | MQTT_CONNECT_RESERVED,
		1 << MQTT_CONNECT_WILL_QOS_SHIFT,                   /* will QoS without will */
		2 << MQTT_CONNECT_WILL_QOS_SHIFT,
		MQTT_CONNECT_WILL_RETAIN,                           /* will retain without will */
		MQTT_CONNECT_WILL | (3 << MQTT_CONNECT_WILL_QOS_SHIFT), /* will QoS 3 */
		MQTT_CONNECT_PASSWORD,                              /* password without username */
	};
	for (size_t i = 0; i < sizeof bad; i++) {
		uint8_t b[128];
		size_t n = connect_body(b, (uint8_t)(bad[i] | MQTT_CONNECT_CLEAN_SESSION), "x", 1, "t", 1,
					"u", 1);
		struct mqtt_connect c;
		ck_assert_msg(decode_connect_bytes(b, n, &c, NULL) == SH_E_MALFORMED, "flags 0x%02x", bad[i]);
	}
}
END_TEST

START_TEST(mqtt_decode_connect_bad_will_topic_malformed)
{
	static const char *topics[] = {"", "a/+", "#", "devices/d/messages/events/#"};
	for (size_t i = 0; i < 4; i++) {
		uint8_t b[128];
		size_t n = connect_body(b, MQTT_CONNECT_CLEAN_SESSION | MQTT_CONNECT_WILL, "x", 1, topics[i],
					strlen(topics[i]), NULL, 0);
		struct mqtt_connect c;
		ck_assert_int_eq(decode_connect_bytes(b, n, &c, NULL), SH_E_MALFORMED);
	}
}
END_TEST

START_TEST(mqtt_decode_connect_every_prefix_malformed)
{
	const uint8_t *body = (const uint8_t *)NODE_CONNECT + 3;
	size_t len = sizeof NODE_CONNECT - 1 - 3;
	ck_assert_uint_eq(len, 265);
	for (size_t k = 0; k < len; k++) {
		struct mqtt_connect c;
		ck_assert_msg(decode_connect_bytes(body, k, &c, NULL) == SH_E_MALFORMED, "prefix %zu", k);
	}
}
END_TEST

START_TEST(mqtt_decode_connect_trailing_bytes_malformed)
{
	uint8_t b[300];
	size_t len = sizeof NODE_CONNECT - 1 - 3;
	memcpy(b, NODE_CONNECT + 3, len);
	b[len] = 'x';
	struct mqtt_connect c;
	ck_assert_int_eq(decode_connect_bytes(b, len, &c, NULL), SH_OK);
	ck_assert_int_eq(decode_connect_bytes(b, len + 1, &c, NULL), SH_E_MALFORMED);
	memcpy(b + len, "\x00\x00", 2);
	ck_assert_int_eq(decode_connect_bytes(b, len + 2, &c, NULL), SH_E_MALFORMED);
}
END_TEST

START_TEST(mqtt_decode_connect_bad_utf8_malformed)
{
	for (size_t i = 0; i < NBAD_UTF8; i++) {
		uint8_t b[128];
		struct mqtt_connect c;
		size_t n = connect_body(b, MQTT_CONNECT_CLEAN_SESSION, bad_utf8[i].s, bad_utf8[i].len, NULL,
					0, NULL, 0);
		ck_assert_msg(decode_connect_bytes(b, n, &c, NULL) == SH_E_MALFORMED, "client id %zu", i);
		n = connect_body(b, MQTT_CONNECT_CLEAN_SESSION | MQTT_CONNECT_USERNAME, "x", 1, NULL, 0,
				 bad_utf8[i].s, bad_utf8[i].len);
		ck_assert_msg(decode_connect_bytes(b, n, &c, NULL) == SH_E_MALFORMED, "username %zu", i);
		n = connect_body(b, MQTT_CONNECT_CLEAN_SESSION | MQTT_CONNECT_WILL, "x", 1, bad_utf8[i].s,
				 bad_utf8[i].len, NULL, 0);
		ck_assert_msg(decode_connect_bytes(b, n, &c, NULL) == SH_E_MALFORMED, "will topic %zu", i);
	}
}
END_TEST

START_TEST(mqtt_decode_connect_wrong_flags_or_type_malformed)
{
	const uint8_t *body = (const uint8_t *)NODE_CONNECT + 3;
	size_t len = sizeof NODE_CONNECT - 1 - 3;
	struct mqtt_connect c;
	for (uint8_t fl = 1; fl < 16; fl++) {
		struct mqtt_raw r = raw_make(MQTT_CONNECT, fl, body, len);
		ck_assert_int_eq(mqtt_decode_connect(&r, &c, NULL), SH_E_MALFORMED);
		raw_free(&r);
	}
	struct mqtt_raw r = raw_make(MQTT_PUBLISH, 0, body, len);
	ck_assert_int_eq(mqtt_decode_connect(&r, &c, NULL), SH_E_MALFORMED);
	raw_free(&r);
}
END_TEST

START_TEST(mqtt_decode_connect_max_length_fields_ok)
{
	/* A 65535-byte username (the largest a two-byte length holds) decodes whole. */
	size_t n = 10 + 3 + 2 + 65535;
	uint8_t *b = malloc(n);
	size_t k = connect_body(b, MQTT_CONNECT_CLEAN_SESSION, "x", 1, NULL, 0, NULL, 0);
	b[7] |= MQTT_CONNECT_USERNAME;
	b[k] = 0xff;
	b[k + 1] = 0xff;
	memset(b + k + 2, 'u', 65535);
	struct mqtt_connect c;
	ck_assert_int_eq(decode_connect_bytes(b, k + 2 + 65535, &c, NULL), SH_OK);
	ck_assert_uint_eq(c.username.len, 65535);
	free(b);
}
END_TEST

/* ---- mqtt_decode_publish ---- */

static sh_rc decode_publish_bytes(uint8_t flags, const void *body, size_t len, struct mqtt_publish *p)
{
	struct mqtt_raw r = raw_make(MQTT_PUBLISH, flags, body, len);
	sh_rc rc = mqtt_decode_publish(&r, p);
	park(r);
	return rc;
}

START_TEST(mqtt_decode_publish_node_trace_fields)
{
	struct mqtt_raw r = FRAME(NODE_PUBLISH);
	struct mqtt_publish p;
	ck_assert_int_eq(mqtt_decode_publish(&r, &p), SH_OK);
	ck_assert_uint_eq(p.qos, 1);
	ck_assert(!p.dup && !p.retain);
	ck_assert(SPAN_IS(p.topic, T1));
	ck_assert_uint_eq(p.packet_id, 53580);
	ck_assert(SPAN_IS(p.payload, "{\"temperature\":21.5}"));

	r = FRAME(NODE_TWIN_GET);
	ck_assert_int_eq(mqtt_decode_publish(&r, &p), SH_OK);
	ck_assert_uint_eq(p.qos, 0);
	ck_assert_uint_eq(p.packet_id, 0);
	ck_assert(SPAN_IS(p.topic, TWIN_GET));
	ck_assert(SPAN_IS(p.payload, " "));
}
END_TEST

START_TEST(mqtt_decode_publish_flags_reported)
{
	static const uint8_t body[] = {0, 3, 'a', '/', 'b', 0x12, 0x34, 'x'};
	struct mqtt_publish p;
	ck_assert_int_eq(decode_publish_bytes(0x0b, body, sizeof body, &p), SH_OK); /* dup, qos 1, retain */
	ck_assert(p.dup && p.retain);
	ck_assert_uint_eq(p.qos, 1);
	ck_assert_uint_eq(p.packet_id, 0x1234);
	ck_assert(SPAN_IS(p.payload, "x"));
	/* QoS 2 decodes; closing is the session's call. */
	ck_assert_int_eq(decode_publish_bytes(0x04, body, sizeof body, &p), SH_OK);
	ck_assert_uint_eq(p.qos, 2);
	/* DUP on QoS 0 is reported as sent. */
	ck_assert_int_eq(decode_publish_bytes(0x08, body, 5, &p), SH_OK);
	ck_assert(p.dup);
	ck_assert_uint_eq(p.qos, 0);
	ck_assert_uint_eq(p.payload.len, 0);
}
END_TEST

START_TEST(mqtt_decode_publish_qos3_malformed)
{
	static const uint8_t body[] = {0, 1, 'a', 0, 1};
	static const uint8_t flags[] = {0x6, 0x7, 0xe, 0xf};
	struct mqtt_publish p;
	for (size_t i = 0; i < sizeof flags; i++)
		ck_assert_int_eq(decode_publish_bytes(flags[i], body, sizeof body, &p), SH_E_MALFORMED);
}
END_TEST

START_TEST(mqtt_decode_publish_packet_id_zero_malformed)
{
	static const uint8_t body[] = {0, 1, 'a', 0, 0, 'x'};
	struct mqtt_publish p;
	ck_assert_int_eq(decode_publish_bytes(0x2, body, sizeof body, &p), SH_E_MALFORMED);
	ck_assert_int_eq(decode_publish_bytes(0x4, body, sizeof body, &p), SH_E_MALFORMED);
	/* For QoS 0 those two bytes are payload. */
	ck_assert_int_eq(decode_publish_bytes(0x0, body, sizeof body, &p), SH_OK);
	ck_assert_uint_eq(p.payload.len, 3);
}
END_TEST

START_TEST(mqtt_decode_publish_bad_topic_malformed)
{
	static const char *topics[] = {"", "+", "#", "a/+", "a/#", "a+b", "devices/#/x"};
	for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++) {
		uint8_t b[64];
		size_t n = put_str(b, topics[i], strlen(topics[i]));
		struct mqtt_publish p;
		ck_assert_msg(decode_publish_bytes(0, b, n, &p) == SH_E_MALFORMED, "%s", topics[i]);
	}
	for (size_t i = 0; i < NBAD_UTF8; i++) {
		uint8_t b[64];
		size_t n = put_str(b, bad_utf8[i].s, bad_utf8[i].len);
		struct mqtt_publish p;
		ck_assert_msg(decode_publish_bytes(0, b, n, &p) == SH_E_MALFORMED, "utf8 %zu", i);
	}
}
END_TEST

START_TEST(mqtt_decode_publish_truncated_malformed)
{
	const uint8_t *body = (const uint8_t *)NODE_PUBLISH + 3;
	size_t len = sizeof NODE_PUBLISH - 1 - 3;
	size_t fixed = 2 + 165 + 2; /* topic and packet id */
	for (size_t k = 0; k <= len; k++) {
		struct mqtt_publish p;
		sh_rc rc = decode_publish_bytes(0x2, body, k, &p);
		if (k < fixed) {
			ck_assert_msg(rc == SH_E_MALFORMED, "prefix %zu", k);
		} else {
			/* Cutting into the payload is just a shorter payload. */
			ck_assert_int_eq(rc, SH_OK);
			ck_assert_uint_eq(p.payload.len, k - fixed);
		}
	}
}
END_TEST

START_TEST(mqtt_decode_publish_binary_payload_kept)
{
	/* The Embedded C sample's reported patch: JSON then NUL padding; payloads are not text. */
	uint8_t b[600];
	size_t n = put_str(b, "$iothub/twin/PATCH/properties/reported/?$rid=1", 46);
	memset(b + n, 0, 512);
	memcpy(b + n, "{\"a\":1}", 7);
	struct mqtt_publish p;
	ck_assert_int_eq(decode_publish_bytes(0, b, n + 512, &p), SH_OK);
	ck_assert_uint_eq(p.payload.len, 512);
	ck_assert_uint_eq(p.payload.ptr[511], 0);
}
END_TEST

START_TEST(mqtt_decode_publish_wrong_type_malformed)
{
	static const uint8_t body[] = {0, 1, 'a'};
	struct mqtt_raw r = raw_make(MQTT_SUBSCRIBE, 0, body, sizeof body);
	struct mqtt_publish p;
	ck_assert_int_eq(mqtt_decode_publish(&r, &p), SH_E_MALFORMED);
	raw_free(&r);
}
END_TEST

/* ---- mqtt_decode_subscribe ---- */

static sh_rc decode_subscribe_bytes(uint8_t flags, const void *body, size_t len, struct mqtt_subscribe *s)
{
	struct mqtt_raw r = raw_make(MQTT_SUBSCRIBE, flags, body, len);
	sh_rc rc = mqtt_decode_subscribe(&r, s);
	park(r);
	return rc;
}

/* SUBSCRIBE body: id 7 and one filter at QoS qos. */
static size_t sub_body(uint8_t *b, const char *filter, size_t n, uint8_t qos)
{
	b[0] = 0;
	b[1] = 7;
	size_t k = 2 + put_str(b + 2, filter, n);
	b[k++] = qos;
	return k;
}

START_TEST(mqtt_decode_subscribe_trace_fields)
{
	struct mqtt_raw r = FRAME(NODE_SUBSCRIBE);
	struct mqtt_subscribe s;
	ck_assert_int_eq(mqtt_decode_subscribe(&r, &s), SH_OK);
	ck_assert_uint_eq(s.packet_id, 53584);
	ck_assert_uint_eq(s.count, 1);
	ck_assert(SPAN_IS(s.topics[0].filter, "devices/dev1/messages/devicebound/#"));
	ck_assert_uint_eq(s.topics[0].qos, 1);

	r = FRAME(C_SDK_SUBSCRIBE);
	ck_assert_int_eq(mqtt_decode_subscribe(&r, &s), SH_OK);
	ck_assert_uint_eq(s.packet_id, 2);
	ck_assert_uint_eq(s.count, 2);
	ck_assert(SPAN_IS(s.topics[0].filter, "$iothub/twin/res/#"));
	ck_assert(SPAN_IS(s.topics[1].filter, "$iothub/methods/POST/#"));
	ck_assert_uint_eq(s.topics[1].qos, 0);
}
END_TEST

START_TEST(mqtt_decode_subscribe_wildcard_placement)
{
	static const char *good[] = {"#", "+", "/", "a/+", "+/b", "a/+/b", "a/#", "/#", "+/+", "a//b",
				     "devices/+/messages/devicebound/#", "$iothub/twin/res/#", "+/#", "//"};
	static const char *bad[] = {"", "a#", "a/#/b", "#/", "##", "a+", "+a", "a/b+", "a/+b/c", "#a",
				    "a/#b", "++"};
	struct mqtt_subscribe s;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		uint8_t b[64];
		size_t n = sub_body(b, good[i], strlen(good[i]), 1);
		ck_assert_msg(decode_subscribe_bytes(2, b, n, &s) == SH_OK, "%s", good[i]);
		ck_assert_uint_eq(s.topics[0].filter.len, strlen(good[i]));
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t b[64];
		size_t n = sub_body(b, bad[i], strlen(bad[i]), 1);
		ck_assert_msg(decode_subscribe_bytes(2, b, n, &s) == SH_E_MALFORMED, "%s", bad[i]);
	}
}
END_TEST

START_TEST(mqtt_decode_subscribe_qos_byte_checked)
{
	static const uint8_t bad[] = {3, 4, 0x80, 0xfc, 0xff, 0x41};
	struct mqtt_subscribe s;
	uint8_t b[32];
	for (uint8_t q = 0; q <= 2; q++) {
		size_t n = sub_body(b, "a", 1, q);
		ck_assert_int_eq(decode_subscribe_bytes(2, b, n, &s), SH_OK);
		ck_assert_uint_eq(s.topics[0].qos, q);
	}
	for (size_t i = 0; i < sizeof bad; i++) {
		size_t n = sub_body(b, "a", 1, bad[i]);
		ck_assert_msg(decode_subscribe_bytes(2, b, n, &s) == SH_E_MALFORMED, "qos 0x%02x", bad[i]);
	}
}
END_TEST

START_TEST(mqtt_decode_subscribe_wrong_flags_malformed)
{
	const uint8_t *body = (const uint8_t *)NODE_SUBSCRIBE + 2;
	size_t len = sizeof NODE_SUBSCRIBE - 1 - 2;
	struct mqtt_subscribe s;
	for (uint8_t fl = 0; fl < 16; fl++)
		ck_assert_int_eq(decode_subscribe_bytes(fl, body, len, &s), fl == 2 ? SH_OK : SH_E_MALFORMED);
	struct mqtt_raw r = raw_make(MQTT_UNSUBSCRIBE, 2, body, len);
	ck_assert_int_eq(mqtt_decode_subscribe(&r, &s), SH_E_MALFORMED);
	raw_free(&r);
}
END_TEST

START_TEST(mqtt_decode_subscribe_every_prefix_and_trailing_malformed)
{
	const uint8_t *body = (const uint8_t *)NODE_SUBSCRIBE + 2;
	size_t len = sizeof NODE_SUBSCRIBE - 1 - 2;
	struct mqtt_subscribe s;
	for (size_t k = 0; k < len; k++)
		ck_assert_msg(decode_subscribe_bytes(2, body, k, &s) == SH_E_MALFORMED, "prefix %zu", k);
	/* Trailing: one stray byte, a length alone, a filter without its QoS byte. */
	static const char *tails[] = {"\x00", "\x00\x01", "\x00\x01" "a", "\x00\x05" "ab"};
	static const size_t tail_len[] = {1, 2, 3, 4};
	for (size_t t = 0; t < 4; t++) {
		uint8_t b[64];
		memcpy(b, body, len);
		memcpy(b + len, tails[t], tail_len[t]);
		ck_assert_msg(decode_subscribe_bytes(2, b, len + tail_len[t], &s) == SH_E_MALFORMED,
			      "tail %zu", t);
	}
	/* Multi-entry: a prefix that ends on an entry boundary is a shorter, valid SUBSCRIBE. */
	const uint8_t *cb = (const uint8_t *)C_SDK_SUBSCRIBE + 2;
	size_t clen = sizeof C_SDK_SUBSCRIBE - 1 - 2;
	for (size_t k = 0; k < clen; k++) {
		sh_rc rc = decode_subscribe_bytes(2, cb, k, &s);
		ck_assert_int_eq(rc, k == 2 + 2 + 18 + 1 ? SH_OK : SH_E_MALFORMED);
	}
}
END_TEST

START_TEST(mqtt_decode_subscribe_packet_id_zero_or_no_topic_malformed)
{
	struct mqtt_subscribe s;
	uint8_t b[32];
	size_t n = sub_body(b, "a", 1, 0);
	b[1] = 0;
	ck_assert_int_eq(decode_subscribe_bytes(2, b, n, &s), SH_E_MALFORMED);
	ck_assert_int_eq(decode_subscribe_bytes(2, "\x00\x07", 2, &s), SH_E_MALFORMED);
	ck_assert_int_eq(decode_subscribe_bytes(2, "", 0, &s), SH_E_MALFORMED);
	ck_assert_int_eq(decode_subscribe_bytes(2, "\x00", 1, &s), SH_E_MALFORMED);
}
END_TEST

START_TEST(mqtt_decode_subscribe_bad_utf8_malformed)
{
	struct mqtt_subscribe s;
	for (size_t i = 0; i < NBAD_UTF8; i++) {
		uint8_t b[32];
		size_t n = sub_body(b, bad_utf8[i].s, bad_utf8[i].len, 0);
		ck_assert_msg(decode_subscribe_bytes(2, b, n, &s) == SH_E_MALFORMED, "utf8 %zu", i);
	}
}
END_TEST

START_TEST(mqtt_decode_subscribe_over_max_toolarge)
{
	uint8_t b[256];
	size_t n = 2;
	b[0] = 0x12;
	b[1] = 0x34;
	for (int i = 0; i < MQTT_MAX_TOPICS_PER_SUBSCRIBE; i++) {
		char t[3] = {'t', (char)('a' + i), 0};
		n += put_str(b + n, t, 2);
		b[n++] = (uint8_t)(i % 3);
	}
	struct mqtt_subscribe s;
	ck_assert_int_eq(decode_subscribe_bytes(2, b, n, &s), SH_OK);
	ck_assert_uint_eq(s.count, MQTT_MAX_TOPICS_PER_SUBSCRIBE);
	ck_assert(SPAN_IS(s.topics[15].filter, "tp"));
	ck_assert_uint_eq(s.topics[15].qos, 0);

	size_t m = n + put_str(b + n, "zz", 2);
	b[m++] = 1;
	ck_assert_int_eq(decode_subscribe_bytes(2, b, m, &s), SH_E_TOOLARGE);
	ck_assert_uint_eq(s.count, MQTT_MAX_TOPICS_PER_SUBSCRIBE);
	ck_assert_uint_eq(s.packet_id, 0x1234);
	/* A malformed extra entry is malformed, not too large. */
	b[m - 1] = 3;
	ck_assert_int_eq(decode_subscribe_bytes(2, b, m, &s), SH_E_MALFORMED);
}
END_TEST

/* ---- mqtt_decode_unsubscribe ---- */

static sh_rc decode_unsub_bytes(uint8_t flags, const void *body, size_t len, struct mqtt_unsubscribe *u)
{
	struct mqtt_raw r = raw_make(MQTT_UNSUBSCRIBE, flags, body, len);
	sh_rc rc = mqtt_decode_unsubscribe(&r, u);
	park(r);
	return rc;
}

START_TEST(mqtt_decode_unsubscribe_fields)
{
	static const char body[] = "\x00\x09\x00\x12$iothub/twin/res/#\x00\x01#";
	struct mqtt_unsubscribe u;
	ck_assert_int_eq(decode_unsub_bytes(2, body, sizeof body - 1, &u), SH_OK);
	ck_assert_uint_eq(u.packet_id, 9);
	ck_assert_uint_eq(u.count, 2);
	ck_assert(SPAN_IS(u.filters[0], "$iothub/twin/res/#"));
	ck_assert(SPAN_IS(u.filters[1], "#"));
	for (size_t k = 0; k < sizeof body - 1; k++) {
		sh_rc rc = decode_unsub_bytes(2, body, k, &u);
		ck_assert_int_eq(rc, k == 2 + 2 + 18 ? SH_OK : SH_E_MALFORMED);
	}
	for (uint8_t fl = 0; fl < 16; fl++)
		if (fl != 2)
			ck_assert_int_eq(decode_unsub_bytes(fl, body, sizeof body - 1, &u), SH_E_MALFORMED);
}
END_TEST

START_TEST(mqtt_decode_unsubscribe_bad_input_malformed)
{
	struct mqtt_unsubscribe u;
	ck_assert_int_eq(decode_unsub_bytes(2, "", 0, &u), SH_E_MALFORMED);
	ck_assert_int_eq(decode_unsub_bytes(2, "\x00\x01", 2, &u), SH_E_MALFORMED);        /* no filter */
	ck_assert_int_eq(decode_unsub_bytes(2, "\x00\x00\x00\x01" "a", 5, &u), SH_E_MALFORMED); /* id 0 */
	ck_assert_int_eq(decode_unsub_bytes(2, "\x00\x01\x00\x00", 4, &u), SH_E_MALFORMED); /* empty */
	ck_assert_int_eq(decode_unsub_bytes(2, "\x00\x01\x00\x02" "a#", 6, &u), SH_E_MALFORMED);
	ck_assert_int_eq(decode_unsub_bytes(2, "\x00\x01\x00\x01" "a" "\x00", 6, &u), SH_E_MALFORMED);
	for (size_t i = 0; i < NBAD_UTF8; i++) {
		uint8_t b[32] = {0, 1};
		size_t n = 2 + put_str(b + 2, bad_utf8[i].s, bad_utf8[i].len);
		ck_assert_msg(decode_unsub_bytes(2, b, n, &u) == SH_E_MALFORMED, "utf8 %zu", i);
	}
}
END_TEST

START_TEST(mqtt_decode_unsubscribe_over_max_toolarge)
{
	uint8_t b[128] = {0, 5};
	size_t n = 2;
	for (int i = 0; i < MQTT_MAX_TOPICS_PER_SUBSCRIBE + 1; i++)
		n += put_str(b + n, "a", 1);
	struct mqtt_unsubscribe u;
	ck_assert_int_eq(decode_unsub_bytes(2, b, n, &u), SH_E_TOOLARGE);
	ck_assert_uint_eq(u.count, MQTT_MAX_TOPICS_PER_SUBSCRIBE);
	ck_assert_int_eq(decode_unsub_bytes(2, b, n - 3, &u), SH_OK);
}
END_TEST

/* ---- mqtt_decode_ack ---- */

START_TEST(mqtt_decode_ack_each_type)
{
	static const struct {
		uint8_t type, flags;
	} ok[] = {
	    {MQTT_PUBACK, 0}, {MQTT_PUBREC, 0}, {MQTT_PUBREL, 2}, {MQTT_PUBCOMP, 0}, {MQTT_UNSUBACK, 0}};
	for (size_t i = 0; i < 5; i++) {
		uint16_t id = 0;
		struct mqtt_raw r = raw_make(ok[i].type, ok[i].flags, "\xd1\x4c", 2);
		ck_assert_int_eq(mqtt_decode_ack(&r, &id), SH_OK);
		ck_assert_uint_eq(id, 53580);
		raw_free(&r);
		for (uint8_t fl = 0; fl < 16; fl++) {
			if (fl == ok[i].flags)
				continue;
			r = raw_make(ok[i].type, fl, "\xd1\x4c", 2);
			ck_assert_int_eq(mqtt_decode_ack(&r, &id), SH_E_MALFORMED);
			raw_free(&r);
		}
	}
}
END_TEST

START_TEST(mqtt_decode_ack_bad_length_id_or_type_malformed)
{
	uint16_t id;
	static const size_t lens[] = {0, 1, 3, 4};
	for (size_t i = 0; i < 4; i++) {
		struct mqtt_raw r = raw_make(MQTT_PUBACK, 0, "\x00\x01\x00\x01", lens[i]);
		ck_assert_int_eq(mqtt_decode_ack(&r, &id), SH_E_MALFORMED);
		raw_free(&r);
	}
	struct mqtt_raw r = raw_make(MQTT_PUBACK, 0, "\x00\x00", 2);
	ck_assert_int_eq(mqtt_decode_ack(&r, &id), SH_E_MALFORMED);
	raw_free(&r);
	r = raw_make(MQTT_PUBLISH, 0, "\x00\x01", 2);
	ck_assert_int_eq(mqtt_decode_ack(&r, &id), SH_E_MALFORMED);
	raw_free(&r);
	r = raw_make(MQTT_SUBACK, 0, "\x00\x01", 2);
	ck_assert_int_eq(mqtt_decode_ack(&r, &id), SH_E_MALFORMED);
	raw_free(&r);
}
END_TEST

/* ---- mqtt_decode_empty ---- */

START_TEST(mqtt_decode_empty_flags_and_length_checked)
{
	static const uint8_t types[] = {MQTT_PINGREQ, MQTT_PINGRESP, MQTT_DISCONNECT};
	for (size_t i = 0; i < 3; i++) {
		struct mqtt_raw r = raw_make(types[i], 0, "", 0);
		ck_assert_int_eq(mqtt_decode_empty(&r), SH_OK);
		raw_free(&r);
		for (uint8_t fl = 1; fl < 16; fl++) {
			r = raw_make(types[i], fl, "", 0);
			ck_assert_int_eq(mqtt_decode_empty(&r), SH_E_MALFORMED);
			raw_free(&r);
		}
		r = raw_make(types[i], 0, "x", 1);
		ck_assert_int_eq(mqtt_decode_empty(&r), SH_E_MALFORMED);
		raw_free(&r);
	}
	struct mqtt_raw r = raw_make(MQTT_CONNECT, 0, "", 0);
	ck_assert_int_eq(mqtt_decode_empty(&r), SH_E_MALFORMED);
	raw_free(&r);
	ck_assert_int_eq(mqtt_decode_empty(&(struct mqtt_raw){MQTT_PINGREQ, 0, NULL, 0}), SH_OK);
}
END_TEST

/* ---- mqtt_decode_connack / mqtt_decode_suback ---- */

START_TEST(mqtt_decode_connack_codes_and_flags)
{
	struct mqtt_connack a;
	struct mqtt_raw r = FRAME("\x20\x02\x00\x00");
	ck_assert_int_eq(mqtt_decode_connack(&r, &a), SH_OK);
	ck_assert(!a.session_present);
	ck_assert_uint_eq(a.code, 0);
	r = FRAME("\x20\x02\x01\x00");
	ck_assert_int_eq(mqtt_decode_connack(&r, &a), SH_OK);
	ck_assert(a.session_present);
	r = FRAME("\x20\x02\x00\x05");
	ck_assert_int_eq(mqtt_decode_connack(&r, &a), SH_OK);
	ck_assert_uint_eq(a.code, MQTT_CONNACK_NOT_AUTHORIZED);
	static const char *bad[] = {"\x20\x02\x01\x05", "\x20\x02\x02\x00", "\x20\x02\x00\x06",
				    "\x21\x02\x00\x00", "\x20\x03\x00\x00\x00", "\x20\x01\x00", "\x20\x00"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t n = 2 + (size_t)bad[i][1];
		r = frame_one(bad[i], n);
		ck_assert_msg(mqtt_decode_connack(&r, &a) == SH_E_MALFORMED, "case %zu", i);
	}
}
END_TEST

START_TEST(mqtt_decode_suback_codes)
{
	struct mqtt_suback s;
	struct mqtt_raw r = FRAME("\x90\x03\xd1\x50\x01");
	ck_assert_int_eq(mqtt_decode_suback(&r, &s), SH_OK);
	ck_assert_uint_eq(s.packet_id, 53584);
	ck_assert_uint_eq(s.count, 1);
	ck_assert_uint_eq(s.codes[0], 1);
	r = FRAME("\x90\x05\x00\x02\x00\x80\x02");
	ck_assert_int_eq(mqtt_decode_suback(&r, &s), SH_OK);
	ck_assert_uint_eq(s.count, 3);
	ck_assert_uint_eq(s.codes[1], MQTT_SUBACK_FAILURE);
	static const char *bad[] = {"\x90\x03\x00\x01\x03", "\x90\x02\x00\x01", "\x90\x03\x00\x00\x01",
				    "\x92\x03\x00\x01\x01", "\x90\x01\x00"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r = frame_one(bad[i], 2 + (size_t)bad[i][1]);
		ck_assert_msg(mqtt_decode_suback(&r, &s) == SH_E_MALFORMED, "case %zu", i);
	}
	uint8_t many[2 + 17];
	memset(many, 1, sizeof many);
	r = raw_make(MQTT_SUBACK, 0, many, sizeof many);
	ck_assert_int_eq(mqtt_decode_suback(&r, &s), SH_E_TOOLARGE);
	ck_assert_uint_eq(s.count, MQTT_MAX_TOPICS_PER_SUBSCRIBE);
	raw_free(&r);
}
END_TEST

/* ---- mqtt_utf8_valid ---- */

START_TEST(mqtt_utf8_valid_good_strings)
{
	static const struct {
		const char *s;
		size_t len;
	} good[] = {
		{"", 0},
		{"devices/dev1/messages/events/", 29},
		{"\xc3\xbc", 2},             /* U+00FC */
		{"\xc2\x80", 2},             /* U+0080, smallest two-byte */
		{"\xdf\xbf", 2},             /* U+07FF */
		{"\xe0\xa0\x80", 3},         /* U+0800, smallest three-byte */
		{"\xe2\x82\xac", 3},         /* U+20AC */
		{"\xed\x9f\xbf", 3},         /* U+D7FF, just below the surrogates */
		{"\xee\x80\x80", 3},         /* U+E000, just above */
		{"\xef\xbf\xbf", 3},         /* U+FFFF: a non-character, allowed */
		{"\xef\xbb\xbf", 3},         /* U+FEFF */
		{"\xf0\x90\x80\x80", 4},     /* U+10000 */
		{"\xf0\x9d\x84\x9e", 4},     /* U+1D11E */
		{"\xf4\x8f\xbf\xbf", 4},     /* U+10FFFF, the last */
		{"\x01\x1f\x7f", 3},         /* control characters: SHOULD NOT, not MUST NOT */
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		ck_assert_msg(mqtt_utf8_valid((const uint8_t *)good[i].s, good[i].len), "good %zu", i);
}
END_TEST

START_TEST(mqtt_utf8_valid_bad_strings_refused)
{
	for (size_t i = 0; i < NBAD_UTF8; i++) {
		/* Exact-size copy: the validator must not look past a truncated sequence. */
		uint8_t *c = malloc(bad_utf8[i].len);
		memcpy(c, bad_utf8[i].s, bad_utf8[i].len);
		ck_assert_msg(!mqtt_utf8_valid(c, bad_utf8[i].len), "bad %zu", i);
		free(c);
	}
}
END_TEST

START_TEST(mqtt_utf8_valid_every_two_byte_lead_checked)
{
	for (unsigned lead = 0x80; lead <= 0xff; lead++) {
		uint8_t s[2] = {(uint8_t)lead, 0x80};
		bool expect = lead >= 0xc2 && lead <= 0xdf;
		ck_assert_msg(mqtt_utf8_valid(s, 2) == expect, "lead 0x%02x", lead);
	}
}
END_TEST

/* ---- mqtt_read_* ---- */

START_TEST(mqtt_read_fields_and_bounds)
{
	static const uint8_t b[] = {0x01, 0x12, 0x34, 0x00, 0x02, 'h', 'i', 0x00, 0x00, 'z'};
	struct mqtt_reader r;
	uint8_t u8;
	uint16_t u16;
	struct sh_span s;
	mqtt_read_init(&r, b, sizeof b);
	ck_assert_int_eq(mqtt_read_u8(&r, &u8), SH_OK);
	ck_assert_uint_eq(u8, 1);
	ck_assert_int_eq(mqtt_read_u16(&r, &u16), SH_OK);
	ck_assert_uint_eq(u16, 0x1234);
	ck_assert_int_eq(mqtt_read_utf8(&r, &s), SH_OK);
	ck_assert(SPAN_IS(s, "hi"));
	ck_assert_int_eq(mqtt_read_binary(&r, &s), SH_OK);
	ck_assert_uint_eq(s.len, 0);
	ck_assert_ptr_eq(s.ptr, b + 9);
	ck_assert_uint_eq(mqtt_read_left(&r), 1);
	ck_assert_int_eq(mqtt_read_u16(&r, &u16), SH_E_MALFORMED);
	ck_assert_int_eq(mqtt_read_binary(&r, &s), SH_E_MALFORMED);
	ck_assert_uint_eq(mqtt_read_left(&r), 1); /* failures do not move the cursor */
	ck_assert_int_eq(mqtt_read_rest(&r, &s), SH_OK);
	ck_assert(SPAN_IS(s, "z"));
	ck_assert_int_eq(mqtt_read_u8(&r, &u8), SH_E_MALFORMED);
	ck_assert_int_eq(mqtt_read_rest(&r, &s), SH_OK);
	ck_assert_uint_eq(s.len, 0);
}
END_TEST

START_TEST(mqtt_read_string_longer_than_input_malformed)
{
	static const uint8_t b[] = {0x00, 0x05, 'a', 'b', 'c', 'd'};
	struct mqtt_reader r;
	struct sh_span s;
	mqtt_read_init(&r, b, sizeof b);
	ck_assert_int_eq(mqtt_read_utf8(&r, &s), SH_E_MALFORMED);
	ck_assert_int_eq(mqtt_read_binary(&r, &s), SH_E_MALFORMED);
	ck_assert_uint_eq(r.pos, 0);
	static const uint8_t bad[] = {0x00, 0x02, 0xc0, 0xaf};
	mqtt_read_init(&r, bad, sizeof bad);
	ck_assert_int_eq(mqtt_read_utf8(&r, &s), SH_E_MALFORMED);
	ck_assert_uint_eq(r.pos, 0);
	ck_assert_int_eq(mqtt_read_binary(&r, &s), SH_OK); /* binary takes any bytes */
	mqtt_read_init(&r, NULL, 0);
	ck_assert_int_eq(mqtt_read_rest(&r, &s), SH_OK);
	ck_assert_uint_eq(s.len, 0);
	ck_assert_int_eq(mqtt_read_u8(&r, &(uint8_t){0}), SH_E_MALFORMED);
}
END_TEST

static Suite *mqtt_decode_suite(void)
{
	Suite *s = suite_create("mqtt_decode");
	TCase *tc = tcase_create("mqtt_decode_connect");
	tcase_add_checked_fixture(tc, NULL, release_parked);
	tcase_add_test(tc, mqtt_decode_connect_node_trace_fields);
	tcase_add_test(tc, mqtt_decode_connect_will_and_clean_session_fields);
	tcase_add_test(tc, mqtt_decode_connect_empty_client_id_clean_ok);
	tcase_add_test(tc, mqtt_decode_connect_empty_client_id_persistent_rejected);
	tcase_add_test(tc, mqtt_decode_connect_other_level_bad_protocol);
	tcase_add_test(tc, mqtt_decode_connect_other_protocol_name_malformed);
	tcase_add_test(tc, mqtt_decode_connect_bad_flag_combinations_malformed);
	tcase_add_test(tc, mqtt_decode_connect_bad_will_topic_malformed);
	tcase_add_test(tc, mqtt_decode_connect_every_prefix_malformed);
	tcase_add_test(tc, mqtt_decode_connect_trailing_bytes_malformed);
	tcase_add_test(tc, mqtt_decode_connect_bad_utf8_malformed);
	tcase_add_test(tc, mqtt_decode_connect_wrong_flags_or_type_malformed);
	tcase_add_test(tc, mqtt_decode_connect_max_length_fields_ok);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_decode_publish");
	tcase_add_checked_fixture(tc, NULL, release_parked);
	tcase_add_test(tc, mqtt_decode_publish_node_trace_fields);
	tcase_add_test(tc, mqtt_decode_publish_flags_reported);
	tcase_add_test(tc, mqtt_decode_publish_qos3_malformed);
	tcase_add_test(tc, mqtt_decode_publish_packet_id_zero_malformed);
	tcase_add_test(tc, mqtt_decode_publish_bad_topic_malformed);
	tcase_add_test(tc, mqtt_decode_publish_truncated_malformed);
	tcase_add_test(tc, mqtt_decode_publish_binary_payload_kept);
	tcase_add_test(tc, mqtt_decode_publish_wrong_type_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_decode_subscribe");
	tcase_add_checked_fixture(tc, NULL, release_parked);
	tcase_add_test(tc, mqtt_decode_subscribe_trace_fields);
	tcase_add_test(tc, mqtt_decode_subscribe_wildcard_placement);
	tcase_add_test(tc, mqtt_decode_subscribe_qos_byte_checked);
	tcase_add_test(tc, mqtt_decode_subscribe_wrong_flags_malformed);
	tcase_add_test(tc, mqtt_decode_subscribe_every_prefix_and_trailing_malformed);
	tcase_add_test(tc, mqtt_decode_subscribe_packet_id_zero_or_no_topic_malformed);
	tcase_add_test(tc, mqtt_decode_subscribe_bad_utf8_malformed);
	tcase_add_test(tc, mqtt_decode_subscribe_over_max_toolarge);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_decode_unsubscribe");
	tcase_add_checked_fixture(tc, NULL, release_parked);
	tcase_add_test(tc, mqtt_decode_unsubscribe_fields);
	tcase_add_test(tc, mqtt_decode_unsubscribe_bad_input_malformed);
	tcase_add_test(tc, mqtt_decode_unsubscribe_over_max_toolarge);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_decode_ack");
	tcase_add_test(tc, mqtt_decode_ack_each_type);
	tcase_add_test(tc, mqtt_decode_ack_bad_length_id_or_type_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_decode_empty");
	tcase_add_test(tc, mqtt_decode_empty_flags_and_length_checked);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_decode_connack");
	tcase_add_test(tc, mqtt_decode_connack_codes_and_flags);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_decode_suback");
	tcase_add_test(tc, mqtt_decode_suback_codes);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_utf8_valid");
	tcase_add_test(tc, mqtt_utf8_valid_good_strings);
	tcase_add_test(tc, mqtt_utf8_valid_bad_strings_refused);
	tcase_add_test(tc, mqtt_utf8_valid_every_two_byte_lead_checked);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_read");
	tcase_add_test(tc, mqtt_read_fields_and_bounds);
	tcase_add_test(tc, mqtt_read_string_longer_than_input_malformed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mqtt_decode_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
