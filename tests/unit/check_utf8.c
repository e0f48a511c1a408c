/*
 * check_utf8.c: unit tests of core/utf8 (strict RFC 3629 decoding and checking): every
 * boundary of each sequence length, overlong forms, surrogates, values above U+10FFFF,
 * truncated and interrupted sequences, the NUL policy, and a round trip over all code points.
 */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

/* Valid sequences at the edges of each length, with the code point each decodes to. */
static const struct {
	const char *bytes;
	size_t len;
	uint32_t cp;
} good[] = {
	{ "\x00", 1, 0x0 },
	{ "A", 1, 0x41 },
	{ "\x7f", 1, 0x7f },
	{ "\xc2\x80", 2, 0x80 },
	{ "\xdf\xbf", 2, 0x7ff },
	{ "\xe0\xa0\x80", 3, 0x800 },
	{ "\xed\x9f\xbf", 3, 0xd7ff },
	{ "\xee\x80\x80", 3, 0xe000 },
	{ "\xef\xbf\xbf", 3, 0xffff },
	{ "\xf0\x90\x80\x80", 4, 0x10000 },
	{ "\xf4\x8f\xbf\xbf", 4, 0x10ffff },
};

/* Byte strings that hold no valid first sequence (utf8_decode returns 0). */
static const struct {
	const char *bytes;
	size_t len;
	const char *why;
} bad[] = {
	{ "\x80", 1, "continuation byte as lead" },
	{ "\xbf", 1, "continuation byte as lead" },
	{ "\xc0\x80", 2, "overlong NUL" },
	{ "\xc1\xbf", 2, "overlong U+007F" },
	{ "\xe0\x80\x80", 3, "overlong three-byte U+0000" },
	{ "\xe0\x9f\xbf", 3, "overlong U+07FF" },
	{ "\xf0\x80\x80\x80", 4, "overlong four-byte U+0000" },
	{ "\xf0\x8f\xbf\xbf", 4, "overlong U+FFFF" },
	{ "\xed\xa0\x80", 3, "surrogate U+D800" },
	{ "\xed\xbf\xbf", 3, "surrogate U+DFFF" },
	{ "\xf4\x90\x80\x80", 4, "U+110000" },
	{ "\xf7\xbf\xbf\xbf", 4, "U+1FFFFF" },
	{ "\xf8\x88\x80\x80\x80", 5, "five-byte form" },
	{ "\xfc\x84\x80\x80\x80\x80", 6, "six-byte form" },
	{ "\xfe", 1, "0xFE" },
	{ "\xff", 1, "0xFF" },
	{ "\xc2", 1, "two-byte truncated" },
	{ "\xe2\x82", 2, "three-byte truncated" },
	{ "\xf0\x9f\x98", 3, "four-byte truncated" },
	{ "\xc2\x41", 2, "two-byte interrupted by ASCII" },
	{ "\xe2\x28\xa1", 3, "three-byte interrupted" },
	{ "\xf0\x9f\x98\xc0", 4, "four-byte ends in a lead byte" },
};

/* Test-side encoder, written from RFC 3629 §3, to drive the round trip. */
static size_t encode(uint32_t cp, uint8_t *out)
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

START_TEST(utf8_decode_edge_sequence_decodes)
{
	uint32_t cp = 0xdeadbeef;
	const uint8_t *s = (const uint8_t *)good[_i].bytes;
	ck_assert_uint_eq(utf8_decode(s, good[_i].len, &cp), good[_i].len);
	ck_assert_uint_eq(cp, good[_i].cp);
	/* the length argument bounds it: one byte less never decodes a multi-byte sequence */
	if (good[_i].len > 1)
		ck_assert_uint_eq(utf8_decode(s, good[_i].len - 1, &cp), 0);
}
END_TEST

START_TEST(utf8_decode_invalid_sequence_returns_zero)
{
	uint32_t cp = 0x12345;
	ck_assert_msg(utf8_decode((const uint8_t *)bad[_i].bytes, bad[_i].len, &cp) == 0, "%s",
		      bad[_i].why);
	ck_assert_uint_eq(cp, 0x12345);
}
END_TEST

START_TEST(utf8_decode_empty_returns_zero)
{
	uint32_t cp = 7;
	ck_assert_uint_eq(utf8_decode((const uint8_t *)"A", 0, &cp), 0);
	ck_assert_uint_eq(cp, 7);
}
END_TEST

START_TEST(utf8_decode_null_out_returns_length)
{
	ck_assert_uint_eq(utf8_decode((const uint8_t *)"\xe2\x82\xac", 3, NULL), 3);
	ck_assert_uint_eq(utf8_decode((const uint8_t *)"\xe2\x82\xacxyz", 6, NULL), 3);
}
END_TEST

START_TEST(utf8_decode_all_code_points_round_trip)
{
	/* plain comparisons in the loop (ck_assert per code point is slow under ASan) */
	uint8_t buf[4];
	uint32_t first_bad = 0xffffffff;
	for (uint32_t cp = 0; cp <= UTF8_MAX_CODE_POINT && first_bad == 0xffffffff; cp++) {
		size_t n = encode(cp, buf);
		uint32_t back = 0xffffffff;
		size_t got = utf8_decode(buf, n, &back);
		bool surrogate = cp >= 0xd800 && cp <= 0xdfff;
		if (surrogate ? got != 0 : (got != n || back != cp))
			first_bad = cp;
	}
	ck_assert_msg(first_bad == 0xffffffff, "code point U+%04X", (unsigned)first_bad);
}
END_TEST

START_TEST(utf8_decode_every_lead_byte_matches_rfc)
{
	/* one lead byte followed by the smallest continuation its length allows */
	for (unsigned c = 0; c < 256; c++) {
		uint8_t s[4] = { (uint8_t)c, 0x80, 0x80, 0x80 };
		if (c == 0xe0)
			s[1] = 0xa0;
		else if (c == 0xf0)
			s[1] = 0x90;
		size_t want = c < 0x80 ? 1 : c < 0xc2 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;
		ck_assert_msg(utf8_decode(s, 4, NULL) == want, "lead 0x%02x", c);
	}
}
END_TEST

START_TEST(utf8_valid_empty_is_valid)
{
	ck_assert(utf8_valid(NULL, 0, UTF8_NUL_REFUSE));
	ck_assert(utf8_valid("", 0, UTF8_NUL_ALLOW));
}
END_TEST

START_TEST(utf8_valid_mixed_text_is_valid)
{
	const char *t = "temp=21\xc2\xb0" "C \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad";
	ck_assert(utf8_valid(t, strlen(t), UTF8_NUL_REFUSE));
	ck_assert(utf8_valid(t, strlen(t), UTF8_NUL_ALLOW));
}
END_TEST

START_TEST(utf8_valid_invalid_anywhere_fails)
{
	/* the bad bytes at the start, in the middle and at the end of good text */
	char buf[64];
	size_t n = bad[_i].len;
	for (int where = 0; where < 3; where++) {
		size_t k = 0;
		if (where > 0) {
			memcpy(buf, "ab\xc3\xa9", 4);
			k = 4;
		}
		memcpy(buf + k, bad[_i].bytes, n);
		k += n;
		if (where == 1) {
			memcpy(buf + k, "cd", 2);
			k += 2;
		}
		ck_assert_msg(!utf8_valid(buf, k, UTF8_NUL_ALLOW), "%s at %d", bad[_i].why, where);
		ck_assert_msg(!utf8_valid(buf, k, UTF8_NUL_REFUSE), "%s at %d", bad[_i].why, where);
	}
}
END_TEST

START_TEST(utf8_valid_nul_follows_policy)
{
	ck_assert(!utf8_valid("a\0b", 3, UTF8_NUL_REFUSE));
	ck_assert(utf8_valid("a\0b", 3, UTF8_NUL_ALLOW));
	ck_assert(!utf8_valid("\0", 1, UTF8_NUL_REFUSE));
	ck_assert(utf8_valid("\0", 1, UTF8_NUL_ALLOW));
	/* the length bounds the check: a NUL past len is not seen */
	ck_assert(utf8_valid("ab\0", 2, UTF8_NUL_REFUSE));
}
END_TEST

START_TEST(utf8_valid_one_byte_matches_ascii)
{
	for (unsigned c = 1; c < 256; c++) {
		uint8_t b = (uint8_t)c;
		ck_assert_msg(utf8_valid(&b, 1, UTF8_NUL_REFUSE) == (c < 0x80), "byte 0x%02x", c);
	}
}
END_TEST

START_TEST(utf8_valid_oversize_text_is_valid)
{
	/* 1 MiB of four-byte characters: no length limit of its own, no overflow */
	size_t n = 1u << 20;
	uint8_t *big = malloc(n);
	ck_assert_ptr_nonnull(big);
	for (size_t i = 0; i < n; i += 4)
		memcpy(big + i, "\xf0\x9f\x98\x80", 4);
	ck_assert(utf8_valid(big, n, UTF8_NUL_REFUSE));
	ck_assert(!utf8_valid(big, n - 1, UTF8_NUL_REFUSE)); /* truncated last character */
	free(big);
}
END_TEST

static Suite *utf8_suite(void)
{
	Suite *s = suite_create("utf8");
	int ng = (int)(sizeof good / sizeof good[0]);
	int nb = (int)(sizeof bad / sizeof bad[0]);

	TCase *tc = tcase_create("utf8_decode");
	tcase_add_loop_test(tc, utf8_decode_edge_sequence_decodes, 0, ng);
	tcase_add_loop_test(tc, utf8_decode_invalid_sequence_returns_zero, 0, nb);
	tcase_add_test(tc, utf8_decode_empty_returns_zero);
	tcase_add_test(tc, utf8_decode_null_out_returns_length);
	tcase_add_test(tc, utf8_decode_all_code_points_round_trip);
	tcase_add_test(tc, utf8_decode_every_lead_byte_matches_rfc);
	suite_add_tcase(s, tc);

	tc = tcase_create("utf8_valid");
	tcase_add_test(tc, utf8_valid_empty_is_valid);
	tcase_add_test(tc, utf8_valid_mixed_text_is_valid);
	tcase_add_loop_test(tc, utf8_valid_invalid_anywhere_fails, 0, nb);
	tcase_add_test(tc, utf8_valid_nul_follows_policy);
	tcase_add_test(tc, utf8_valid_one_byte_matches_ascii);
	tcase_add_test(tc, utf8_valid_oversize_text_is_valid);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(utf8_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
