/*
 * check_http_chunked.c: unit tests of core/http_chunked: the Node device SDK's chunked bodies
 * (node-sdk-device-https.md) decoded whole and split at every byte, extensions, trailers, hex
 * case and leading zeros, bytes after the end left alone, every kind of bad framing, limits
 * (chunk sizes, line and trailer lengths, arithmetic overflow), sticky errors, and round trips
 * through a test-side encoder.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http_chunked.h"

/* trace: Node sendEvent body {"temperature":21.5} (20 bytes = 0x14), as Node frames it */
#define NODE_EVENT "14\r\n{\"temperature\":21.5}\r\n0\r\n\r\n"
#define NODE_EVENT_BODY "{\"temperature\":21.5}"
/* trace: Node sendEventBatch body (70 bytes = 0x46) */
#define NODE_BATCH_BODY \
	"[{\"body\": \"b25l\", \"properties\":{\"iothub-app-k\":\"v\"}},{\"body\": \"dHdv\"}]"
#define NODE_BATCH "46\r\n" NODE_BATCH_BODY "\r\n0\r\n\r\n"

struct decoded {
	sh_rc rc;
	size_t consumed;          /* bytes of the input used in all */
	uint8_t out[8192];
	size_t out_len;
};

/*
 * Feed `in` to a fresh decoder in pieces of at most `piece` bytes, as a transport would, and
 * collect the data. Checks on the way that every data span lies inside what was consumed.
 * Stops at the first result other than SH_NEED_MORE.
 */
static void decode(const char *in, size_t len, size_t piece, size_t limit, struct decoded *d)
{
	struct http_chunked c;
	http_chunked_init(&c, limit);
	memset(d, 0, sizeof *d);
	d->rc = SH_NEED_MORE;
	size_t off = 0;
	while (off < len && d->rc == SH_NEED_MORE) {
		size_t n = len - off < piece ? len - off : piece, used = 0, k = 0;
		const uint8_t *p = (const uint8_t *)in + off;
		while (k < n) {
			struct sh_span data;
			d->rc = http_chunked_feed(&c, p + k, n - k, &used, &data);
			ck_assert_uint_le(used, n - k);
			if (data.len) {
				ck_assert(data.ptr >= p + k && data.ptr + data.len <= p + k + used);
				ck_assert_uint_le(d->out_len + data.len, sizeof d->out);
				memcpy(d->out + d->out_len, data.ptr, data.len);
				d->out_len += data.len;
			}
			k += used;
			if (d->rc != SH_NEED_MORE)
				break;
		}
		off += k;
		if (d->rc != SH_NEED_MORE)
			break;
	}
	d->consumed = off;
	ck_assert_uint_eq(c.total, d->out_len);
}

static void assert_body(const struct decoded *d, const char *want)
{
	ck_assert_int_eq(d->rc, SH_OK);
	ck_assert_uint_eq(d->out_len, strlen(want));
	ck_assert(memcmp(d->out, want, d->out_len) == 0);
}

/* Test-side encoder: `body` in chunks of `chunk` bytes, lower- or upper-case hex. */
static size_t encode(const uint8_t *body, size_t len, size_t chunk, bool upper, char *out,
		     size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i += chunk) {
		size_t n = len - i < chunk ? len - i : chunk;
		o += (size_t)snprintf(out + o, cap - o, upper ? "%zX\r\n" : "%zx\r\n", n);
		memcpy(out + o, body + i, n);
		o += n;
		o += (size_t)snprintf(out + o, cap - o, "\r\n");
	}
	o += (size_t)snprintf(out + o, cap - o, "0\r\n\r\n");
	return o;
}

START_TEST(http_chunked_init_fresh_decoder_reads_empty_body)
{
	struct http_chunked c;
	memset(&c, 0xa5, sizeof c);
	http_chunked_init(&c, 100);
	ck_assert_uint_eq(c.limit, 100);
	ck_assert_uint_eq(c.total, 0);
	size_t used;
	struct sh_span data;
	ck_assert_int_eq(http_chunked_feed(&c, (const uint8_t *)"0\r\n\r\n", 5, &used, &data), SH_OK);
	ck_assert_uint_eq(used, 5);
	ck_assert_uint_eq(data.len, 0);
}
END_TEST

START_TEST(http_chunked_init_zero_limit_refuses_any_data)
{
	struct decoded d;
	decode("1\r\na\r\n0\r\n\r\n", 11, 64, 0, &d);
	ck_assert_int_eq(d.rc, SH_E_TOOLARGE);
	decode("0\r\n\r\n", 5, 64, 0, &d);
	assert_body(&d, "");
}
END_TEST

START_TEST(http_chunked_feed_node_event_whole_ok)
{
	struct decoded d;
	decode(NODE_EVENT, strlen(NODE_EVENT), SIZE_MAX, 1024, &d);
	assert_body(&d, NODE_EVENT_BODY);
	ck_assert_uint_eq(d.consumed, strlen(NODE_EVENT));
	decode(NODE_BATCH, strlen(NODE_BATCH), SIZE_MAX, 1024, &d);
	assert_body(&d, NODE_BATCH_BODY);
}
END_TEST

START_TEST(http_chunked_feed_node_event_every_piece_size_same_body)
{
	const char *in[] = {NODE_EVENT, NODE_BATCH};
	const char *want[] = {NODE_EVENT_BODY, NODE_BATCH_BODY};
	for (size_t v = 0; v < 2; v++) {
		for (size_t piece = 1; piece <= strlen(in[v]); piece++) {
			struct decoded d;
			decode(in[v], strlen(in[v]), piece, 1024, &d);
			assert_body(&d, want[v]);
			ck_assert_uint_eq(d.consumed, strlen(in[v]));
		}
	}
}
END_TEST

START_TEST(http_chunked_feed_truncated_anywhere_needs_more)
{
	/* Every proper prefix is an unfinished body: never OK, never an error. */
	const char *in = "5;x=1\r\nhello\r\n2\r\n, \r\n0\r\nX-T: v\r\n\r\n";
	for (size_t n = 0; n < strlen(in); n++) {
		struct decoded d;
		decode(in, n, SIZE_MAX, 1024, &d);
		ck_assert_msg(d.rc == SH_NEED_MORE, "prefix of %zu bytes: rc %d", n, d.rc);
		ck_assert_uint_eq(d.consumed, n);
	}
	struct decoded d;
	decode(in, strlen(in), SIZE_MAX, 1024, &d);
	assert_body(&d, "hello, ");
}
END_TEST

START_TEST(http_chunked_feed_empty_input_consumes_nothing)
{
	struct http_chunked c;
	http_chunked_init(&c, 10);
	size_t used = 99;
	struct sh_span data;
	ck_assert_int_eq(http_chunked_feed(&c, (const uint8_t *)"", 0, &used, &data), SH_NEED_MORE);
	ck_assert_uint_eq(used, 0);
	ck_assert_uint_eq(data.len, 0);
	ck_assert_int_eq(http_chunked_feed(&c, (const uint8_t *)"a", 1, &used, &data), SH_NEED_MORE);
	ck_assert_uint_eq(used, 1);
}
END_TEST

START_TEST(http_chunked_feed_extensions_and_blanks_ignored)
{
	static const char *const ok[] = {
		"3;name=value\r\nabc\r\n0\r\n\r\n",
		"3;a;b=\"quoted ; value\"\r\nabc\r\n0;last\r\n\r\n",
		"3 ;a=b\r\nabc\r\n0\t;x\r\n\r\n",
		"3  \r\nabc\r\n0\r\n\r\n",
		"3;\xc3\xa9t\xc3\xa9\r\nabc\r\n0\r\n\r\n",      /* obs-text in an extension */
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct decoded d;
		decode(ok[i], strlen(ok[i]), SIZE_MAX, 100, &d);
		ck_assert_msg(d.rc == SH_OK, "case %zu", i);
		assert_body(&d, "abc");
	}
}
END_TEST

START_TEST(http_chunked_feed_trailers_ignored)
{
	const char *in = "3\r\nabc\r\n0\r\nExpires: never\r\nX-Checksum: 12ab\r\n\r\n";
	struct decoded d;
	decode(in, strlen(in), SIZE_MAX, 100, &d);
	assert_body(&d, "abc");
	ck_assert_uint_eq(d.consumed, strlen(in));
}
END_TEST

START_TEST(http_chunked_feed_hex_case_and_leading_zeros)
{
	char big[64];
	memset(big, 'x', 26);
	big[26] = '\0';
	const char *in[] = {"1a\r\nxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n0\r\n\r\n",
			    "1A\r\nxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n000\r\n\r\n",
			    "00001a\r\nxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n0\r\n\r\n"};
	for (size_t i = 0; i < 3; i++) {
		struct decoded d;
		decode(in[i], strlen(in[i]), SIZE_MAX, 100, &d);
		assert_body(&d, big);
	}
}
END_TEST

START_TEST(http_chunked_feed_bytes_after_end_not_consumed)
{
	const char *in = "2\r\nhi\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
	struct http_chunked c;
	http_chunked_init(&c, 100);
	size_t off = 0, used;
	struct sh_span data;
	sh_rc rc;
	do {
		rc = http_chunked_feed(&c, (const uint8_t *)in + off, strlen(in) - off, &used, &data);
		off += used;
	} while (rc == SH_NEED_MORE);
	ck_assert_int_eq(rc, SH_OK);
	ck_assert_uint_eq(off, 12);
	/* Done stays done: nothing more is taken. */
	ck_assert_int_eq(http_chunked_feed(&c, (const uint8_t *)in + off, 5, &used, &data), SH_OK);
	ck_assert_uint_eq(used, 0);
	ck_assert_uint_eq(data.len, 0);
}
END_TEST

START_TEST(http_chunked_feed_bad_framing_malformed)
{
	static const char *const bad[] = {
		"\r\n",                         /* no size */
		";ext\r\n",                     /* extension without a size */
		"x\r\n",                        /* not hex */
		"-1\r\n",                       /* signed */
		"0x10\r\n",                     /* C prefix */
		"3\nabc\r\n0\r\n\r\n",          /* bare LF after the size */
		"3\r\rabc",                     /* CR CR */
		"3\r\nabcX\r\n",                /* data longer than announced */
		"3\r\nabc\rX",                  /* CR not followed by LF */
		"3\r\nabc\n0\r\n\r\n",          /* bare LF after data */
		"3 4\r\n",                      /* two sizes */
		"3;a\nb\r\n",                   /* LF inside an extension */
		"3;a\x01\r\n",                  /* control byte in an extension */
		"3;a\x7f\r\n",                  /* DEL in an extension */
		"0\r\nX: a\x01\r\n\r\n",        /* control byte in a trailer */
		"0\r\nX: a\nY: b\r\n\r\n",      /* bare LF in a trailer */
		"0\r\n\rX",                     /* end CR without LF */
		"0\r\nX: a\rY",                 /* trailer CR without LF */
		"0\n\r\n",                      /* bare LF after the last chunk */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct decoded d;
		decode(bad[i], strlen(bad[i]), SIZE_MAX, 100, &d);
		ck_assert_msg(d.rc == SH_E_MALFORMED, "case %zu: rc %d", i, d.rc);
	}
	/* A NUL is a byte like any other to a length-counted API: refused in a size line. */
	struct decoded d;
	decode("3\0\r\nabc", 7, SIZE_MAX, 100, &d);
	ck_assert_int_eq(d.rc, SH_E_MALFORMED);
	/* ...but fine as data. */
	decode("3\r\na\0c\r\n0\r\n\r\n", 13, SIZE_MAX, 100, &d);
	ck_assert_int_eq(d.rc, SH_OK);
	ck_assert_uint_eq(d.out_len, 3);
	ck_assert(memcmp(d.out, "a\0c", 3) == 0);
}
END_TEST

START_TEST(http_chunked_feed_error_consumed_stops_before_bad_byte)
{
	static const struct {
		const char *in;
		size_t bad_at;
	} cases[] = {
		{"3\r\rabc", 2}, {"zz", 0}, {"3\r\nabcX", 6}, {"0\r\nX: \x01\r\n\r\n", 6},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		for (size_t piece = 1; piece <= 3; piece += 2) {
			struct decoded d;
			decode(cases[i].in, strlen(cases[i].in), piece, 100, &d);
			ck_assert_int_eq(d.rc, SH_E_MALFORMED);
			ck_assert_msg(d.consumed == cases[i].bad_at, "case %zu piece %zu: consumed %zu",
				      i, piece, d.consumed);
		}
	}
}
END_TEST

START_TEST(http_chunked_feed_error_is_sticky)
{
	struct http_chunked c;
	http_chunked_init(&c, 100);
	size_t used;
	struct sh_span data;
	ck_assert_int_eq(http_chunked_feed(&c, (const uint8_t *)"zz", 2, &used, &data), SH_E_MALFORMED);
	ck_assert_int_eq(http_chunked_feed(&c, (const uint8_t *)"0\r\n\r\n", 5, &used, &data),
			 SH_E_MALFORMED);
	ck_assert_uint_eq(used, 0);
	http_chunked_init(&c, 1);
	ck_assert_int_eq(http_chunked_feed(&c, (const uint8_t *)"2\r\n", 3, &used, &data), SH_E_TOOLARGE);
	ck_assert_int_eq(http_chunked_feed(&c, (const uint8_t *)"0\r\n\r\n", 5, &used, &data),
			 SH_E_TOOLARGE);
	ck_assert_uint_eq(used, 0);
}
END_TEST

START_TEST(http_chunked_feed_over_limit_toolarge)
{
	struct decoded d;
	/* exactly the limit is fine, one more byte is not, in one chunk or across chunks */
	decode("5\r\nhello\r\n0\r\n\r\n", 15, SIZE_MAX, 5, &d);
	assert_body(&d, "hello");
	decode("6\r\nhello!\r\n0\r\n\r\n", 16, SIZE_MAX, 5, &d);
	ck_assert_int_eq(d.rc, SH_E_TOOLARGE);
	ck_assert_uint_eq(d.out_len, 0);           /* refused before any data */
	decode("3\r\nhel\r\n3\r\nlo!\r\n0\r\n\r\n", 21, SIZE_MAX, 5, &d);
	ck_assert_int_eq(d.rc, SH_E_TOOLARGE);
	ck_assert_uint_eq(d.out_len, 3);
}
END_TEST

START_TEST(http_chunked_feed_huge_size_no_overflow)
{
	struct decoded d;
	/* 2^64 and beyond must not wrap around to a small size */
	decode("10000000000000000\r\n", 19, SIZE_MAX, SIZE_MAX, &d);
	ck_assert_int_eq(d.rc, SH_E_TOOLARGE);
	decode("ffffffffffffffffffffffff\r\n", 26, SIZE_MAX, SIZE_MAX, &d);
	ck_assert_int_eq(d.rc, SH_E_TOOLARGE);
	decode("ffffffffffffffff\r\n", 18, SIZE_MAX, 1u << 20, &d);
	ck_assert_int_eq(d.rc, SH_E_TOOLARGE);
	/* the largest size a SIZE_MAX limit allows is accepted (and then waits for its data) */
	decode("ffffffffffffffff\r\nab", 20, SIZE_MAX, SIZE_MAX, &d);
	ck_assert_int_eq(d.rc, SH_NEED_MORE);
	ck_assert_uint_eq(d.out_len, 2);
}
END_TEST

START_TEST(http_chunked_feed_long_lines_malformed)
{
	size_t n = HTTP_CHUNKED_LINE_MAX + 16;
	char *in = malloc(n + 64);
	ck_assert_ptr_nonnull(in);
	/* leading zeros past the line limit */
	memset(in, '0', n);
	strcpy(in + n, "1\r\nx\r\n0\r\n\r\n");
	struct decoded d;
	decode(in, strlen(in), 1000, 100, &d);
	ck_assert_int_eq(d.rc, SH_E_MALFORMED);
	/* an extension past the line limit */
	in[0] = '1';
	in[1] = ';';
	memset(in + 2, 'e', n);
	strcpy(in + 2 + n, "\r\nx\r\n0\r\n\r\n");
	decode(in, strlen(in), 1000, 100, &d);
	ck_assert_int_eq(d.rc, SH_E_MALFORMED);
	/* a line just inside the limit is fine */
	in[0] = '1';
	in[1] = ';';
	memset(in + 2, 'e', HTTP_CHUNKED_LINE_MAX - 4);
	strcpy(in + HTTP_CHUNKED_LINE_MAX - 2, "\r\nx\r\n0\r\n\r\n");
	decode(in, strlen(in), 1000, 100, &d);
	assert_body(&d, "x");
	free(in);
}
END_TEST

START_TEST(http_chunked_feed_long_trailer_malformed)
{
	size_t n = HTTP_CHUNKED_TRAILER_MAX + 16;
	char *in = malloc(n + 64);
	ck_assert_ptr_nonnull(in);
	strcpy(in, "0\r\n");
	size_t o = 3;
	while (o < n) {
		memcpy(in + o, "X-Pad: aaaaaaaa\r\n", 17);
		o += 17;
	}
	strcpy(in + o, "\r\n");
	struct decoded d;
	decode(in, strlen(in), 700, 100, &d);
	ck_assert_int_eq(d.rc, SH_E_MALFORMED);
	free(in);
}
END_TEST

START_TEST(http_chunked_feed_round_trip_any_chunking)
{
	uint8_t body[3000];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof body; i++) {
		x = x * 1103515245u + 12345u;
		body[i] = (uint8_t)(x >> 16);
	}
	static char enc[20000];
	static const size_t chunks[] = {1, 2, 7, 100, 1024, 2999, 3000, 5000};
	static const size_t pieces[] = {1, 3, 64, 1500, SIZE_MAX};
	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		size_t len = encode(body, sizeof body, chunks[i], i % 2 == 1, enc, sizeof enc);
		for (size_t j = 0; j < sizeof pieces / sizeof pieces[0]; j++) {
			struct decoded d;
			decode(enc, len, pieces[j], sizeof body, &d);
			ck_assert_int_eq(d.rc, SH_OK);
			ck_assert_uint_eq(d.consumed, len);
			ck_assert_uint_eq(d.out_len, sizeof body);
			ck_assert(memcmp(d.out, body, sizeof body) == 0);
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_chunked");
	TCase *tc = tcase_create("http_chunked_init");
	tcase_add_test(tc, http_chunked_init_fresh_decoder_reads_empty_body);
	tcase_add_test(tc, http_chunked_init_zero_limit_refuses_any_data);
	suite_add_tcase(s, tc);
	tc = tcase_create("http_chunked_feed");
	tcase_add_test(tc, http_chunked_feed_node_event_whole_ok);
	tcase_add_test(tc, http_chunked_feed_node_event_every_piece_size_same_body);
	tcase_add_test(tc, http_chunked_feed_truncated_anywhere_needs_more);
	tcase_add_test(tc, http_chunked_feed_empty_input_consumes_nothing);
	tcase_add_test(tc, http_chunked_feed_extensions_and_blanks_ignored);
	tcase_add_test(tc, http_chunked_feed_trailers_ignored);
	tcase_add_test(tc, http_chunked_feed_hex_case_and_leading_zeros);
	tcase_add_test(tc, http_chunked_feed_bytes_after_end_not_consumed);
	tcase_add_test(tc, http_chunked_feed_bad_framing_malformed);
	tcase_add_test(tc, http_chunked_feed_error_consumed_stops_before_bad_byte);
	tcase_add_test(tc, http_chunked_feed_error_is_sticky);
	tcase_add_test(tc, http_chunked_feed_over_limit_toolarge);
	tcase_add_test(tc, http_chunked_feed_huge_size_no_overflow);
	tcase_add_test(tc, http_chunked_feed_long_lines_malformed);
	tcase_add_test(tc, http_chunked_feed_long_trailer_malformed);
	tcase_add_test(tc, http_chunked_feed_round_trip_any_chunking);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
