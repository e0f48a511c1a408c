/*
 * check_mqtt_frame.c: unit tests of core/mqtt_frame: the same packets whatever the chunking
 * (whole, byte by byte, every split point, pseudo-random chunkings), several packets in one
 * feed, zero copy, remaining-length edge values, the five-byte length, reserved types,
 * max_packet on both sides of the boundary, sticky errors and bounded buffering.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mqtt_consts.h"
#include "core/mqtt_frame.h"

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
static const char PINGREQ[] = "\xc0\x00";
static const char PUBACK[] = "\x40\x02\x00\x01";
static const char DISCONNECT[] = "\xe0\x00";

#define VEC(v) ((const uint8_t *)(v)), (sizeof(v) - 1)

/* One expected packet of the test stream: where its body starts in its vector. */
struct part {
	const uint8_t *bytes;
	size_t len;
	size_t hdr;       /* fixed header length */
	uint8_t type, flags;
};

static const struct part stream_parts[] = {
	{VEC(NODE_CONNECT), 3, MQTT_CONNECT, 0},
	{VEC(NODE_PUBLISH), 3, MQTT_PUBLISH, 2},
	{VEC(NODE_SUBSCRIBE), 2, MQTT_SUBSCRIBE, 2},
	{VEC(PINGREQ), 2, MQTT_PINGREQ, 0},
	{VEC(PUBACK), 2, MQTT_PUBACK, 0},
	{VEC(NODE_PUBLISH), 3, MQTT_PUBLISH, 2},
	{VEC(DISCONNECT), 2, MQTT_DISCONNECT, 0},
};
#define NPARTS (sizeof stream_parts / sizeof stream_parts[0])

static uint8_t *stream_build(size_t *len)
{
	size_t n = 0;
	for (size_t i = 0; i < NPARTS; i++)
		n += stream_parts[i].len;
	uint8_t *s = malloc(n);
	ck_assert_ptr_nonnull(s);
	*len = 0;
	for (size_t i = 0; i < NPARTS; i++) {
		memcpy(s + *len, stream_parts[i].bytes, stream_parts[i].len);
		*len += stream_parts[i].len;
	}
	return s;
}

/* What a framing run produced: copies of the packets, the last result, bytes pending. */
#define MAX_GOT 32
struct got {
	size_t n;
	struct {
		uint8_t type, flags;
		size_t len;
		uint8_t *body;
	} p[MAX_GOT];
	sh_rc end;
	size_t pending;
	size_t err_at;   /* stream offset just after the bytes consumed by the failing call */
};

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->p[i].body);
	g->n = 0;
}

/* Chunk size chooser: returns the next chunk length (>= 1). */
typedef size_t (*chunker)(void *ctx);

static size_t chunk_one(void *ctx)
{
	(void)ctx;
	return 1;
}

static size_t chunk_all(void *ctx)
{
	(void)ctx;
	return SIZE_MAX;
}

struct lcg {
	uint32_t state;
	size_t max;
};

static size_t chunk_lcg(void *ctx)
{
	struct lcg *l = ctx;
	l->state = l->state * 1664525u + 1013904223u;
	return 1 + (size_t)(l->state >> 8) % l->max;
}

struct split {
	size_t first;
	int calls;
};

static size_t chunk_split(void *ctx)
{
	struct split *s = ctx;
	return s->calls++ == 0 ? s->first : SIZE_MAX;
}

/*
 * Feed s[0..len) in chunks, each copied into an exact-size heap buffer (so ASan catches a read
 * past a chunk and a body that outlives its feed). Checks the feed contract on every call.
 */
static void frame_run(const uint8_t *s, size_t len, size_t max_packet, chunker next, void *ctx,
		      struct got *g)
{
	struct mqtt_framer f;
	memset(g, 0, sizeof *g);
	mqtt_framer_init(&f, max_packet);
	g->end = SH_NEED_MORE;
	size_t off = 0;
	while (off < len) {
		size_t want = next(ctx);
		size_t n = want > len - off ? len - off : want;
		uint8_t *chunk = malloc(n);
		ck_assert_ptr_nonnull(chunk);
		memcpy(chunk, s + off, n);
		size_t pos = 0;
		for (;;) {
			struct mqtt_raw raw;
			size_t used = 99999;
			sh_rc rc = mqtt_framer_feed(&f, chunk + pos, n - pos, &used, &raw);
			ck_assert_uint_le(used, n - pos);
			if (rc == SH_OK) {
				ck_assert_uint_ge(used, 1);
				ck_assert_uint_lt(g->n, MAX_GOT);
				g->p[g->n].type = raw.type;
				g->p[g->n].flags = raw.flags;
				g->p[g->n].len = raw.len;
				g->p[g->n].body = malloc(raw.len + 1);
				memcpy(g->p[g->n].body, raw.body, raw.len);
				g->n++;
				pos += used;
				continue;
			}
			if (rc == SH_NEED_MORE) {
				ck_assert_uint_eq(used, n - pos);
				ck_assert(raw.body == NULL && raw.len == 0);
				break;
			}
			g->end = rc;
			g->err_at = off + pos + used;
			free(chunk);
			mqtt_framer_free(&f);
			return;
		}
		free(chunk);
		off += n;
	}
	g->pending = mqtt_framer_pending(&f);
	mqtt_framer_free(&f);
}

static void check_stream_packets(const struct got *g)
{
	ck_assert_int_eq(g->end, SH_NEED_MORE);
	ck_assert_uint_eq(g->pending, 0);
	ck_assert_uint_eq(g->n, NPARTS);
	for (size_t i = 0; i < NPARTS; i++) {
		const struct part *p = &stream_parts[i];
		ck_assert_uint_eq(g->p[i].type, p->type);
		ck_assert_uint_eq(g->p[i].flags, p->flags);
		ck_assert_uint_eq(g->p[i].len, p->len - p->hdr);
		ck_assert(memcmp(g->p[i].body, p->bytes + p->hdr, p->len - p->hdr) == 0);
	}
}

/* Encode a remaining length the way the spec does (shortest form). */
static size_t put_len(uint8_t *w, size_t v)
{
	size_t n = 0;
	do {
		uint8_t b = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			b |= 0x80;
		w[n++] = b;
	} while (v);
	return n;
}

/* ---- mqtt_framer_feed ---- */

START_TEST(mqtt_framer_feed_whole_stream_all_packets)
{
	size_t len;
	uint8_t *s = stream_build(&len);
	struct got g;
	frame_run(s, len, 1u << 20, chunk_all, NULL, &g);
	check_stream_packets(&g);
	got_free(&g);
	free(s);
}
END_TEST

START_TEST(mqtt_framer_feed_one_byte_at_a_time_same_packets)
{
	size_t len;
	uint8_t *s = stream_build(&len);
	struct got g;
	frame_run(s, len, 1u << 20, chunk_one, NULL, &g);
	check_stream_packets(&g);
	got_free(&g);
	free(s);
}
END_TEST

START_TEST(mqtt_framer_feed_every_split_point_same_packets)
{
	size_t len;
	uint8_t *s = stream_build(&len);
	for (size_t k = 1; k < len; k++) {
		struct split sp = {k, 0};
		struct got g;
		frame_run(s, len, 1u << 20, chunk_split, &sp, &g);
		check_stream_packets(&g);
		got_free(&g);
	}
	free(s);
}
END_TEST

START_TEST(mqtt_framer_feed_random_chunkings_same_packets)
{
	size_t len;
	uint8_t *s = stream_build(&len);
	for (uint32_t seed = 1; seed <= 300; seed++) {
		struct lcg l = {seed, 1 + seed % 97};
		struct got g;
		frame_run(s, len, 1u << 20, chunk_lcg, &l, &g);
		check_stream_packets(&g);
		got_free(&g);
	}
	free(s);
}
END_TEST

START_TEST(mqtt_framer_feed_several_packets_one_feed_zero_copy)
{
	size_t len;
	uint8_t *s = stream_build(&len);
	struct mqtt_framer f;
	mqtt_framer_init(&f, 4096);
	size_t off = 0;
	for (size_t i = 0; i < NPARTS; i++) {
		struct mqtt_raw raw;
		size_t used;
		ck_assert_int_eq(mqtt_framer_feed(&f, s + off, len - off, &used, &raw), SH_OK);
		ck_assert_uint_eq(used, stream_parts[i].len);
		/* The body is the caller's own bytes, not a copy. */
		ck_assert_ptr_eq(raw.body, s + off + stream_parts[i].hdr);
		off += used;
	}
	struct mqtt_raw raw;
	size_t used = 7;
	ck_assert_int_eq(mqtt_framer_feed(&f, s + off, 0, &used, &raw), SH_NEED_MORE);
	ck_assert_uint_eq(used, 0);
	ck_assert_ptr_null(f.buf); /* nothing was ever buffered */
	mqtt_framer_free(&f);
	free(s);
}
END_TEST

START_TEST(mqtt_framer_feed_split_header_whole_body_zero_copy)
{
	const uint8_t *p = (const uint8_t *)NODE_PUBLISH;
	struct mqtt_framer f;
	struct mqtt_raw raw;
	size_t used;
	mqtt_framer_init(&f, 4096);
	ck_assert_int_eq(mqtt_framer_feed(&f, p, 2, &used, &raw), SH_NEED_MORE);
	ck_assert_uint_eq(mqtt_framer_pending(&f), 2);
	ck_assert_int_eq(mqtt_framer_feed(&f, p + 2, sizeof NODE_PUBLISH - 3, &used, &raw), SH_OK);
	ck_assert_ptr_eq(raw.body, p + 3);
	ck_assert_uint_eq(raw.len, 189);
	ck_assert_uint_eq(mqtt_framer_pending(&f), 0);
	mqtt_framer_free(&f);
}
END_TEST

START_TEST(mqtt_framer_feed_empty_input_need_more)
{
	struct mqtt_framer f;
	struct mqtt_raw raw;
	size_t used = 5;
	mqtt_framer_init(&f, 100);
	ck_assert_int_eq(mqtt_framer_feed(&f, NULL, 0, &used, &raw), SH_NEED_MORE);
	ck_assert_uint_eq(used, 0);
	ck_assert_uint_eq(mqtt_framer_pending(&f), 0);
	mqtt_framer_free(&f);
}
END_TEST

START_TEST(mqtt_framer_feed_one_byte_need_more)
{
	struct mqtt_framer f;
	struct mqtt_raw raw;
	size_t used;
	mqtt_framer_init(&f, 100);
	ck_assert_int_eq(mqtt_framer_feed(&f, (const uint8_t *)"\x30", 1, &used, &raw), SH_NEED_MORE);
	ck_assert_uint_eq(used, 1);
	ck_assert_uint_eq(mqtt_framer_pending(&f), 1);
	/* A NULL, 0 feed in the middle of a packet changes nothing. */
	ck_assert_int_eq(mqtt_framer_feed(&f, NULL, 0, &used, &raw), SH_NEED_MORE);
	ck_assert_int_eq(mqtt_framer_feed(&f, (const uint8_t *)"\x02", 1, &used, &raw), SH_NEED_MORE);
	ck_assert_int_eq(mqtt_framer_feed(&f, NULL, 0, &used, &raw), SH_NEED_MORE);
	ck_assert_int_eq(mqtt_framer_feed(&f, (const uint8_t *)"ab", 2, &used, &raw), SH_OK);
	ck_assert_uint_eq(raw.type, MQTT_PUBLISH);
	ck_assert_uint_eq(raw.len, 2);
	ck_assert(memcmp(raw.body, "ab", 2) == 0);
	mqtt_framer_free(&f);
}
END_TEST

static const size_t edge_lengths[] = {0, 1, 127, 128, 16383, 16384, 2097151, 2097152};

/* Each edge value: the right header size, whole and split at several points, same body. */
START_TEST(mqtt_framer_feed_remaining_length_edges_ok)
{
	size_t v = edge_lengths[_i];
	size_t total = 1 + 4 + v;
	uint8_t *pkt = malloc(total);
	ck_assert_ptr_nonnull(pkt);
	pkt[0] = 0x30;
	size_t h = 1 + put_len(pkt + 1, v);
	size_t expect_h = v < 128 ? 2 : v < 16384 ? 3 : v < 2097152 ? 4 : 5;
	ck_assert_uint_eq(h, expect_h);
	for (size_t i = 0; i < v; i++)
		pkt[h + i] = (uint8_t)(i * 7 + 3);
	total = h + v;

	struct mqtt_framer f;
	struct mqtt_raw raw;
	size_t used;
	mqtt_framer_init(&f, v);
	ck_assert_int_eq(mqtt_framer_feed(&f, pkt, total, &used, &raw), SH_OK);
	ck_assert_uint_eq(used, total);
	ck_assert_uint_eq(raw.len, v);
	ck_assert_ptr_eq(raw.body, pkt + h);

	size_t cuts[] = {1, h - 1 ? h - 1 : 1, h, h + v / 2, total - 1};
	for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
		size_t k = cuts[c];
		if (k == 0 || k >= total)
			continue;
		struct mqtt_raw r2;
		sh_rc rc = mqtt_framer_feed(&f, pkt, k, &used, &r2);
		ck_assert_int_eq(rc, SH_NEED_MORE);
		ck_assert_uint_eq(mqtt_framer_pending(&f), k);
		ck_assert_int_eq(mqtt_framer_feed(&f, pkt + k, total - k, &used, &r2), SH_OK);
		ck_assert_uint_eq(used, total - k);
		ck_assert_uint_eq(r2.len, v);
		ck_assert(v == 0 || memcmp(r2.body, pkt + h, v) == 0);
	}
	mqtt_framer_free(&f);
	free(pkt);
}
END_TEST

START_TEST(mqtt_framer_feed_max_remaining_length_buffers_only_what_arrived)
{
	/* 268435455 = ff ff ff 7f: the largest length; the framer must not allocate it up front. */
	static const uint8_t hdr[] = {0x30, 0xff, 0xff, 0xff, 0x7f};
	uint8_t body[1000];
	memset(body, 'x', sizeof body);
	struct mqtt_framer f;
	struct mqtt_raw raw;
	size_t used;
	mqtt_framer_init(&f, SIZE_MAX); /* clamped to the protocol maximum */
	ck_assert_uint_eq(f.max_packet, MQTT_MAX_REMAINING_LENGTH);
	ck_assert_int_eq(mqtt_framer_feed(&f, hdr, sizeof hdr, &used, &raw), SH_NEED_MORE);
	ck_assert_uint_eq(used, 5);
	ck_assert_uint_eq(f.rem, MQTT_MAX_REMAINING_LENGTH);
	ck_assert_int_eq(mqtt_framer_feed(&f, body, sizeof body, &used, &raw), SH_NEED_MORE);
	ck_assert_uint_eq(used, sizeof body);
	ck_assert_uint_eq(mqtt_framer_pending(&f), 5 + sizeof body);
	ck_assert_uint_le(f.cap, 2 * sizeof body);
	mqtt_framer_free(&f);
}
END_TEST

START_TEST(mqtt_framer_feed_non_minimal_length_accepted)
{
	/* 0x80 0x00 encodes 0 in two bytes: 3.1.1 only caps the field at four bytes. */
	struct mqtt_framer f;
	struct mqtt_raw raw;
	size_t used;
	mqtt_framer_init(&f, 10);
	ck_assert_int_eq(mqtt_framer_feed(&f, (const uint8_t *)"\xc0\x80\x00", 3, &used, &raw), SH_OK);
	ck_assert_uint_eq(used, 3);
	ck_assert_uint_eq(raw.type, MQTT_PINGREQ);
	ck_assert_uint_eq(raw.len, 0);
	mqtt_framer_free(&f);
}
END_TEST

START_TEST(mqtt_framer_feed_five_byte_length_malformed)
{
	static const uint8_t bad[][6] = {
		{0x30, 0x80, 0x80, 0x80, 0x80, 0x01},
		{0x30, 0xff, 0xff, 0xff, 0xff, 0x7f},
	};
	for (size_t i = 0; i < 2; i++) {
		struct mqtt_framer f;
		struct mqtt_raw raw;
		size_t used;
		mqtt_framer_init(&f, SIZE_MAX);
		ck_assert_int_eq(mqtt_framer_feed(&f, bad[i], 6, &used, &raw), SH_E_MALFORMED);
		ck_assert_uint_eq(used, 5);
		mqtt_framer_free(&f);

		/* The same one byte at a time: the fifth length byte is refused when it arrives. */
		mqtt_framer_init(&f, SIZE_MAX);
		for (size_t k = 0; k < 4; k++)
			ck_assert_int_eq(mqtt_framer_feed(&f, bad[i] + k, 1, &used, &raw), SH_NEED_MORE);
		ck_assert_int_eq(mqtt_framer_feed(&f, bad[i] + 4, 1, &used, &raw), SH_E_MALFORMED);
		mqtt_framer_free(&f);
	}
}
END_TEST

START_TEST(mqtt_framer_feed_reserved_type_malformed)
{
	static const uint8_t first[] = {0x00, 0x0f, 0xf0, 0xff};
	for (size_t i = 0; i < sizeof first; i++) {
		uint8_t pkt[2] = {first[i], 0x00};
		struct mqtt_framer f;
		struct mqtt_raw raw;
		size_t used;
		mqtt_framer_init(&f, 100);
		ck_assert_int_eq(mqtt_framer_feed(&f, pkt, 2, &used, &raw), SH_E_MALFORMED);
		ck_assert_uint_eq(used, 1);
		ck_assert_ptr_null(raw.body);
		mqtt_framer_free(&f);
	}
	/* Every other type passes the framer (flags are the decoders' business). */
	for (unsigned t = 1; t <= 14; t++) {
		uint8_t pkt[2] = {(uint8_t)(t << 4 | 0xf), 0x00};
		struct mqtt_framer f;
		struct mqtt_raw raw;
		size_t used;
		mqtt_framer_init(&f, 100);
		ck_assert_int_eq(mqtt_framer_feed(&f, pkt, 2, &used, &raw), SH_OK);
		ck_assert_uint_eq(raw.type, t);
		ck_assert_uint_eq(raw.flags, 0xf);
		mqtt_framer_free(&f);
	}
}
END_TEST

START_TEST(mqtt_framer_feed_max_packet_boundary)
{
	uint8_t pkt[3 + 200];
	memset(pkt, 'p', sizeof pkt);
	pkt[0] = 0x30;
	for (size_t max = 126; max <= 130; max++) {
		for (size_t v = 126; v <= 130; v++) {
			size_t h = 1 + put_len(pkt + 1, v);
			struct mqtt_framer f;
			struct mqtt_raw raw;
			size_t used;
			mqtt_framer_init(&f, max);
			/* Only the header is fed: too large is decided before any body byte. */
			sh_rc rc = mqtt_framer_feed(&f, pkt, h, &used, &raw);
			ck_assert_uint_eq(used, h);
			if (v <= max) {
				ck_assert_int_eq(rc, v == 0 ? SH_OK : SH_NEED_MORE);
				ck_assert_int_eq(mqtt_framer_feed(&f, pkt + h, v, &used, &raw), SH_OK);
				ck_assert_uint_eq(raw.len, v);
			} else {
				ck_assert_int_eq(rc, SH_E_TOOLARGE);
			}
			mqtt_framer_free(&f);
		}
	}
}
END_TEST

START_TEST(mqtt_framer_feed_after_error_same_error)
{
	struct mqtt_framer f;
	struct mqtt_raw raw;
	size_t used;
	mqtt_framer_init(&f, 10);
	ck_assert_int_eq(mqtt_framer_feed(&f, (const uint8_t *)"\x30\x0b", 2, &used, &raw), SH_E_TOOLARGE);
	ck_assert_uint_eq(used, 2);
	for (int i = 0; i < 3; i++) {
		used = 42;
		ck_assert_int_eq(mqtt_framer_feed(&f, (const uint8_t *)PINGREQ, 2, &used, &raw),
				 SH_E_TOOLARGE);
		ck_assert_uint_eq(used, 0);
		ck_assert_ptr_null(raw.body);
	}
	mqtt_framer_free(&f);

	mqtt_framer_init(&f, 10);
	ck_assert_int_eq(mqtt_framer_feed(&f, (const uint8_t *)"\xc0\x00\xf0", 3, &used, &raw), SH_OK);
	ck_assert_int_eq(mqtt_framer_feed(&f, (const uint8_t *)"\xf0", 1, &used, &raw), SH_E_MALFORMED);
	ck_assert_int_eq(mqtt_framer_feed(&f, (const uint8_t *)PINGREQ, 2, &used, &raw), SH_E_MALFORMED);
	mqtt_framer_free(&f);
}
END_TEST

START_TEST(mqtt_framer_feed_error_mid_stream_at_same_offset_any_chunking)
{
	/* Two good packets, then a type-15 byte: the same packets and the same failing offset. */
	size_t len;
	uint8_t *s0 = stream_build(&len);
	uint8_t *s = malloc(len + 3);
	memcpy(s, s0, len);
	memcpy(s + len, "\xf0\x00\x00", 3);
	struct got whole, g;
	frame_run(s, len + 3, 4096, chunk_all, NULL, &whole);
	ck_assert_int_eq(whole.end, SH_E_MALFORMED);
	ck_assert_uint_eq(whole.err_at, len + 1);
	ck_assert_uint_eq(whole.n, NPARTS);
	for (uint32_t seed = 1; seed <= 50; seed++) {
		struct lcg l = {seed, 40};
		frame_run(s, len + 3, 4096, chunk_lcg, &l, &g);
		ck_assert_int_eq(g.end, SH_E_MALFORMED);
		ck_assert_uint_eq(g.err_at, len + 1);
		ck_assert_uint_eq(g.n, NPARTS);
		got_free(&g);
	}
	got_free(&whole);
	free(s);
	free(s0);
}
END_TEST

START_TEST(mqtt_framer_feed_big_buffer_released_after_use)
{
	size_t v = 20000;
	uint8_t *pkt = malloc(MQTT_MAX_FIXED_HEADER + v);
	pkt[0] = 0x30;
	size_t h = 1 + put_len(pkt + 1, v);
	memset(pkt + h, 'z', v);
	struct mqtt_framer f;
	struct mqtt_raw raw;
	size_t used;
	mqtt_framer_init(&f, 1u << 20);
	ck_assert_int_eq(mqtt_framer_feed(&f, pkt, 100, &used, &raw), SH_NEED_MORE);
	ck_assert_int_eq(mqtt_framer_feed(&f, pkt + 100, h + v - 100, &used, &raw), SH_OK);
	ck_assert_ptr_eq(raw.body, f.buf); /* split: served from the framer's buffer */
	ck_assert_uint_eq(raw.len, v);
	ck_assert_uint_ge(f.cap, v);
	/* The next feed gives the big buffer back. */
	ck_assert_int_eq(mqtt_framer_feed(&f, (const uint8_t *)PINGREQ, 2, &used, &raw), SH_OK);
	ck_assert_ptr_null(f.buf);
	mqtt_framer_free(&f);
	free(pkt);
}
END_TEST

/* ---- mqtt_framer_pending ---- */

START_TEST(mqtt_framer_pending_counts_header_and_body)
{
	const uint8_t *p = (const uint8_t *)NODE_SUBSCRIBE;
	struct mqtt_framer f;
	struct mqtt_raw raw;
	size_t used;
	mqtt_framer_init(&f, 4096);
	ck_assert_uint_eq(mqtt_framer_pending(&f), 0);
	ck_assert_int_eq(mqtt_framer_feed(&f, p, 1, &used, &raw), SH_NEED_MORE);
	ck_assert_uint_eq(mqtt_framer_pending(&f), 1);
	ck_assert_int_eq(mqtt_framer_feed(&f, p + 1, 10, &used, &raw), SH_NEED_MORE);
	ck_assert_uint_eq(mqtt_framer_pending(&f), 11);
	ck_assert_int_eq(mqtt_framer_feed(&f, p + 11, sizeof NODE_SUBSCRIBE - 12, &used, &raw), SH_OK);
	ck_assert_uint_eq(mqtt_framer_pending(&f), 0);
	mqtt_framer_free(&f);
}
END_TEST

/* ---- mqtt_framer_init / mqtt_framer_free ---- */

START_TEST(mqtt_framer_free_twice_and_reinit_ok)
{
	struct mqtt_framer f;
	struct mqtt_raw raw;
	size_t used;
	mqtt_framer_init(&f, 50);
	ck_assert_int_eq(mqtt_framer_feed(&f,
					  (const uint8_t *)"\x30\x05"
							   "ab",
					  4, &used, &raw),
			 SH_NEED_MORE);
	mqtt_framer_free(&f);
	mqtt_framer_free(&f);
	mqtt_framer_init(&f, 50);
	ck_assert_uint_eq(mqtt_framer_pending(&f), 0);
	ck_assert_int_eq(mqtt_framer_feed(&f, (const uint8_t *)PUBACK, 4, &used, &raw), SH_OK);
	ck_assert_uint_eq(raw.type, MQTT_PUBACK);
	mqtt_framer_free(&f);
}
END_TEST

static Suite *mqtt_frame_suite(void)
{
	Suite *s = suite_create("mqtt_frame");
	TCase *tc = tcase_create("mqtt_framer_feed");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, mqtt_framer_feed_whole_stream_all_packets);
	tcase_add_test(tc, mqtt_framer_feed_one_byte_at_a_time_same_packets);
	tcase_add_test(tc, mqtt_framer_feed_every_split_point_same_packets);
	tcase_add_test(tc, mqtt_framer_feed_random_chunkings_same_packets);
	tcase_add_test(tc, mqtt_framer_feed_several_packets_one_feed_zero_copy);
	tcase_add_test(tc, mqtt_framer_feed_split_header_whole_body_zero_copy);
	tcase_add_test(tc, mqtt_framer_feed_empty_input_need_more);
	tcase_add_test(tc, mqtt_framer_feed_one_byte_need_more);
	tcase_add_loop_test(tc, mqtt_framer_feed_remaining_length_edges_ok, 0,
			    (int)(sizeof edge_lengths / sizeof edge_lengths[0]));
	tcase_add_test(tc, mqtt_framer_feed_max_remaining_length_buffers_only_what_arrived);
	tcase_add_test(tc, mqtt_framer_feed_non_minimal_length_accepted);
	tcase_add_test(tc, mqtt_framer_feed_five_byte_length_malformed);
	tcase_add_test(tc, mqtt_framer_feed_reserved_type_malformed);
	tcase_add_test(tc, mqtt_framer_feed_max_packet_boundary);
	tcase_add_test(tc, mqtt_framer_feed_after_error_same_error);
	tcase_add_test(tc, mqtt_framer_feed_error_mid_stream_at_same_offset_any_chunking);
	tcase_add_test(tc, mqtt_framer_feed_big_buffer_released_after_use);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_framer_pending");
	tcase_add_test(tc, mqtt_framer_pending_counts_header_and_body);
	suite_add_tcase(s, tc);

	tc = tcase_create("mqtt_framer_free");
	tcase_add_test(tc, mqtt_framer_free_twice_and_reinit_ok);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mqtt_frame_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
