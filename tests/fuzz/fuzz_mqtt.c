/*
 * fuzz_mqtt.c: libFuzzer target for core/mqtt_frame, mqtt_decode and mqtt_write. Input: byte 0
 * picks the chunking, byte 1 the max_packet, the rest is a client's byte stream. The stream is
 * framed twice, whole and in chunks; both must give the same packets and the same end. Every
 * packet is decoded by its type's decoder, spans must lie in the body, and what decodes is
 * encoded again and must give the same body bytes. Frees everything it allocates.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mqtt_consts.h"
#include "core/mqtt_decode.h"
#include "core/mqtt_frame.h"
#include "core/mqtt_write.h"

/* assert() vanishes under NDEBUG (RelWithDebInfo); invariants here must always run. */
#define CHECK(c)                                                                           \
	do {                                                                               \
		if (!(c)) {                                                                \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                           \
		}                                                                          \
	} while (0)

struct pkt {
	uint8_t type, flags;
	const uint8_t *body; /* first pass: points into the input (zero copy) */
	size_t len;
};

struct run {
	struct pkt *p;
	size_t n;
	sh_rc end;        /* SH_NEED_MORE or the error */
	size_t end_at;    /* stream offset after the last byte consumed */
	size_t pending;
};

static int inside(struct sh_span s, const struct mqtt_raw *r)
{
	if (s.ptr == NULL)
		return s.len == 0;
	return s.ptr >= r->body && s.len <= r->len && (size_t)(s.ptr - r->body) <= r->len - s.len;
}

static int no_wildcard(struct sh_span s)
{
	return memchr(s.ptr, '+', s.len) == NULL && memchr(s.ptr, '#', s.len) == NULL;
}

/* Bytes of the shortest remaining-length field for rem. */
static size_t varint_size(size_t rem)
{
	return rem < 128 ? 1 : rem < 16384 ? 2 : rem < 2097152 ? 3 : 4;
}

/* An encoded packet must have r's first byte and r's body (its length field may be shorter:
 * the input may use a non-minimal encoding, the encoder never does). */
static void check_same_packet(const uint8_t *enc, size_t n, const struct mqtt_raw *r)
{
	CHECK(n >= 2);
	CHECK(enc[0] == (uint8_t)(r->type << 4 | r->flags));
	size_t h = 1;
	while (enc[h] & 0x80)
		h++;
	h++;
	CHECK(n - h == r->len);
	CHECK(r->len == 0 || memcmp(enc + h, r->body, r->len) == 0);
}

/* Size with a NULL sizing call, then write for real; the two must agree. */
#define REENCODE(r, call_with_buf)                                                   \
	do {                                                                         \
		size_t need_ = 0, got_ = 0;                                          \
		uint8_t *buf = NULL;                                                 \
		size_t cap = 0;                                                      \
		size_t *out_len = &need_;                                            \
		sh_rc rc1_ = call_with_buf;                                          \
		CHECK(rc1_ == SH_E_NOSPACE && need_ >= 2);                           \
		buf = malloc(need_ ? need_ : 1);                                     \
		CHECK(buf != NULL);                                                  \
		cap = need_;                                                         \
		out_len = &got_;                                                     \
		CHECK((call_with_buf) == SH_OK && got_ == need_);                   \
		check_same_packet(buf, got_, (r));                                   \
		free(buf);                                                           \
	} while (0)

/*
 * Decode one packet with its type's decoder, check what the decoder promises, and re-encode
 * what decoded cleanly.
 */
static void decode_one(const struct mqtt_raw *r)
{
	switch (r->type) {
	case MQTT_CONNECT: {
		struct mqtt_connect c;
		enum mqtt_connack_code code = (enum mqtt_connack_code)99;
		sh_rc rc = mqtt_decode_connect(r, &c, &code);
		CHECK(rc == SH_OK || rc == SH_E_MALFORMED || rc == SH_E_INVALID);
		CHECK(inside(c.protocol_name, r) && inside(c.client_id, r) && inside(c.will_topic, r));
		CHECK(inside(c.will_payload, r) && inside(c.username, r) && inside(c.password, r));
		if (rc == SH_E_INVALID)
			CHECK(code == MQTT_CONNACK_BAD_PROTOCOL || code == MQTT_CONNACK_ID_REJECTED);
		if (rc == SH_E_INVALID && code == MQTT_CONNACK_BAD_PROTOCOL)
			CHECK(c.level != MQTT_PROTOCOL_LEVEL_311);
		if (rc == SH_E_INVALID && code == MQTT_CONNACK_ID_REJECTED)
			CHECK(c.client_id.len == 0 && !c.clean_session);
		if (rc != SH_OK)
			break;
		CHECK(code == MQTT_CONNACK_ACCEPTED);
		CHECK(sh_span_eq_str(c.protocol_name, "MQTT") && c.level == 4);
		CHECK(c.will_qos <= 2 && (!c.has_password || c.has_username));
		CHECK(c.has_will || (c.will_qos == 0 && !c.will_retain && c.will_topic.len == 0));
		CHECK(!c.has_will || (c.will_topic.len > 0 && no_wildcard(c.will_topic)));
		CHECK(mqtt_utf8_valid(c.client_id.ptr, c.client_id.len));
		CHECK(mqtt_utf8_valid(c.username.ptr, c.username.len));
		REENCODE(r, mqtt_write_connect(buf, cap, &c, out_len));
		break;
	}
	case MQTT_PUBLISH: {
		struct mqtt_publish p;
		sh_rc rc = mqtt_decode_publish(r, &p);
		CHECK(rc == SH_OK || rc == SH_E_MALFORMED);
		CHECK(inside(p.topic, r) && inside(p.payload, r));
		if (rc != SH_OK)
			break;
		CHECK(p.qos <= 2 && (p.qos == 0) == (p.packet_id == 0));
		CHECK(p.topic.len > 0 && no_wildcard(p.topic) && mqtt_utf8_valid(p.topic.ptr, p.topic.len));
		CHECK(mqtt_publish_size(p.topic.len, p.payload.len, p.qos) ==
		      1 + varint_size(r->len) + r->len);
		REENCODE(r,
			 mqtt_write_publish(buf, cap, (const char *)p.topic.ptr, p.topic.len, p.payload.ptr,
					    p.payload.len, p.qos, p.retain, p.dup, p.packet_id, out_len));
		break;
	}
	case MQTT_SUBSCRIBE: {
		struct mqtt_subscribe s;
		sh_rc rc = mqtt_decode_subscribe(r, &s);
		CHECK(rc == SH_OK || rc == SH_E_MALFORMED || rc == SH_E_TOOLARGE);
		CHECK(s.count <= MQTT_MAX_TOPICS_PER_SUBSCRIBE);
		for (size_t i = 0; i < s.count; i++)
			CHECK(inside(s.topics[i].filter, r) && s.topics[i].filter.len > 0 &&
			      s.topics[i].qos <= 2);
		if (rc == SH_E_TOOLARGE)
			CHECK(s.count == MQTT_MAX_TOPICS_PER_SUBSCRIBE);
		if (rc != SH_OK)
			break;
		CHECK(s.count >= 1 && s.packet_id != 0);
		REENCODE(r, mqtt_write_subscribe(buf, cap, &s, out_len));
		break;
	}
	case MQTT_UNSUBSCRIBE: {
		struct mqtt_unsubscribe u;
		sh_rc rc = mqtt_decode_unsubscribe(r, &u);
		CHECK(rc == SH_OK || rc == SH_E_MALFORMED || rc == SH_E_TOOLARGE);
		CHECK(u.count <= MQTT_MAX_TOPICS_PER_SUBSCRIBE);
		for (size_t i = 0; i < u.count; i++)
			CHECK(inside(u.filters[i], r) && u.filters[i].len > 0);
		if (rc != SH_OK)
			break;
		CHECK(u.count >= 1 && u.packet_id != 0);
		REENCODE(r, mqtt_write_unsubscribe(buf, cap, &u, out_len));
		break;
	}
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBREL:
	case MQTT_PUBCOMP:
	case MQTT_UNSUBACK: {
		uint16_t id = 1;
		sh_rc rc = mqtt_decode_ack(r, &id);
		CHECK(rc == SH_OK || rc == SH_E_MALFORMED);
		if (rc != SH_OK)
			break;
		CHECK(id != 0 && r->len == 2);
		REENCODE(r, mqtt_write_ack(buf, cap, (enum mqtt_type)r->type, id, out_len));
		break;
	}
	case MQTT_PINGREQ:
	case MQTT_PINGRESP:
	case MQTT_DISCONNECT: {
		sh_rc rc = mqtt_decode_empty(r);
		CHECK(rc == (r->len == 0 && r->flags == 0 ? SH_OK : SH_E_MALFORMED));
		if (rc == SH_OK)
			REENCODE(r, mqtt_write_empty(buf, cap, (enum mqtt_type)r->type, out_len));
		break;
	}
	case MQTT_CONNACK: {
		struct mqtt_connack a;
		sh_rc rc = mqtt_decode_connack(r, &a);
		CHECK(rc == SH_OK || rc == SH_E_MALFORMED);
		if (rc == SH_OK)
			REENCODE(r, mqtt_write_connack(buf, cap, a.session_present,
						       (enum mqtt_connack_code)a.code, out_len));
		break;
	}
	case MQTT_SUBACK: {
		struct mqtt_suback s;
		sh_rc rc = mqtt_decode_suback(r, &s);
		CHECK(rc == SH_OK || rc == SH_E_MALFORMED || rc == SH_E_TOOLARGE);
		CHECK(s.count <= MQTT_MAX_TOPICS_PER_SUBSCRIBE);
		if (rc == SH_OK)
			REENCODE(r, mqtt_write_suback(buf, cap, s.packet_id, s.codes, s.count, out_len));
		break;
	}
	default:
		CHECK(r->type >= MQTT_CONNECT && r->type <= MQTT_DISCONNECT); /* never reserved */
	}
}

/* Chunk sizes from the seed byte: 0 = all at once, else a small xorshift sequence. */
static size_t next_chunk(uint32_t *state, uint8_t seed)
{
	if (seed == 0)
		return SIZE_MAX;
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	size_t limit = (size_t)(seed & 0x3f) + 1; /* chunks of 1..64 bytes */
	return 1 + *state % limit;
}

/*
 * Frame s[0..len) in chunks, each copied into its own exact heap buffer so that a body kept
 * past its feed or read past its chunk shows up under ASan. With copy_chunks, packet bodies
 * are copied into run->p (caller frees); without, s goes in whole and bodies point into it.
 */
static void frame(const uint8_t *s, size_t len, size_t max_packet, uint8_t seed, struct run *run,
		  int copy_chunks)
{
	struct mqtt_framer f;
	uint32_t state = 0x9e3779b9u ^ seed;
	size_t off = 0;

	mqtt_framer_init(&f, max_packet);
	run->n = 0;
	run->end = SH_NEED_MORE;
	run->end_at = 0;
	while (off < len) {
		size_t want = copy_chunks ? next_chunk(&state, seed) : SIZE_MAX;
		size_t n = want > len - off ? len - off : want;
		uint8_t *chunk = copy_chunks ? malloc(n) : (uint8_t *)s + off;
		CHECK(chunk != NULL);
		if (copy_chunks)
			memcpy(chunk, s + off, n);
		size_t pos = 0;
		size_t calls = 0;
		for (;;) {
			struct mqtt_raw r;
			size_t used = 0;
			sh_rc rc = mqtt_framer_feed(&f, chunk + pos, n - pos, &used, &r);
			CHECK(used <= n - pos);
			CHECK(++calls <= n + 1); /* every SH_OK consumes a byte: no endless loop */
			if (rc == SH_OK) {
				CHECK(used >= 1);
				CHECK(r.type >= 1 && r.type <= 14 && r.flags <= 15 && r.len <= max_packet);
				decode_one(&r);
				struct pkt *pk = &run->p[run->n++];
				pk->type = r.type;
				pk->flags = r.flags;
				pk->len = r.len;
				if (copy_chunks) {
					uint8_t *c = malloc(r.len ? r.len : 1);
					CHECK(c != NULL);
					memcpy(c, r.body, r.len);
					pk->body = c;
				} else {
					CHECK(r.body == s + off + pos + used - r.len); /* zero copy */
					pk->body = r.body;
				}
				pos += used;
				continue;
			}
			if (rc == SH_NEED_MORE) {
				CHECK(used == n - pos);
				break;
			}
			CHECK(rc == SH_E_MALFORMED || rc == SH_E_TOOLARGE || rc == SH_E_NOMEM);
			run->end = rc;
			run->end_at = off + pos + used;
			/* Dead means dead. */
			CHECK(mqtt_framer_feed(&f, s, len, &used, &r) == rc && used == 0);
			if (copy_chunks)
				free(chunk);
			mqtt_framer_free(&f);
			return;
		}
		if (copy_chunks)
			free(chunk);
		off += n;
	}
	run->end_at = len;
	run->pending = mqtt_framer_pending(&f);
	mqtt_framer_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t seed = data[0];
	size_t max_packet = data[1] == 0 ? MQTT_MAX_REMAINING_LENGTH : (size_t)data[1] * 8;
	const uint8_t *s = data + 2;
	size_t len = size - 2;

	/* A packet takes at least two bytes, so len / 2 + 1 slots always suffice. */
	struct run whole = {calloc(len / 2 + 1, sizeof(struct pkt)), 0, SH_OK, 0, 0};
	struct run chunked = {calloc(len / 2 + 1, sizeof(struct pkt)), 0, SH_OK, 0, 0};
	CHECK(whole.p && chunked.p);

	frame(s, len, max_packet, seed, &whole, 0);
	frame(s, len, max_packet, seed, &chunked, 1);

	CHECK(whole.n == chunked.n);
	CHECK(whole.end == chunked.end && whole.end_at == chunked.end_at);
	if (whole.end == SH_NEED_MORE)
		CHECK(whole.pending == chunked.pending);
	for (size_t i = 0; i < whole.n; i++) {
		CHECK(whole.p[i].type == chunked.p[i].type && whole.p[i].flags == chunked.p[i].flags);
		CHECK(whole.p[i].len == chunked.p[i].len);
		CHECK(whole.p[i].len == 0 || memcmp(whole.p[i].body, chunked.p[i].body, whole.p[i].len) == 0);
		free((void *)chunked.p[i].body);
	}
	free(whole.p);
	free(chunked.p);
	return 0;
}
