/*
 * check_crypto.c: unit tests of core/crypto (HMAC-SHA256, SHA-1, SHA-256, constant-time
 * compare) against published vectors: RFC 4231 for HMAC, FIPS 180 "abc" for the digests,
 * and values printed by the openssl CLI (the command is next to each literal).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"

/* Lower-case hex of n bytes into a static buffer (tests only; one result alive at a time). */
static const char *hex(const uint8_t *b, size_t n)
{
	static char buf[2 * 64 + 1];
	for (size_t i = 0; i < n && i < 64; i++)
		snprintf(buf + 2 * i, 3, "%02x", b[i]);
	buf[2 * (n < 64 ? n : 64)] = '\0';
	return buf;
}

/* ---- crypto_hmac_sha256 ---- */

START_TEST(crypto_hmac_sha256_rfc4231_case1_matches)
{
	uint8_t key[20], out[CRYPTO_SHA256_LEN];
	memset(key, 0x0b, sizeof key);
	ck_assert_int_eq(crypto_hmac_sha256(key, sizeof key, (const uint8_t *)"Hi There", 8, out), SH_OK);
	ck_assert_str_eq(hex(out, sizeof out),
			 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}
END_TEST

START_TEST(crypto_hmac_sha256_rfc4231_case2_matches)
{
	uint8_t out[CRYPTO_SHA256_LEN];
	const char *msg = "what do ya want for nothing?";
	ck_assert_int_eq(crypto_hmac_sha256((const uint8_t *)"Jefe", 4, (const uint8_t *)msg,
					    strlen(msg), out), SH_OK);
	ck_assert_str_eq(hex(out, sizeof out),
			 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

START_TEST(crypto_hmac_sha256_key_longer_than_block_matches)
{
	/* RFC 4231 case 6: a 131-byte key is hashed first. */
	uint8_t key[131], out[CRYPTO_SHA256_LEN];
	const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
	memset(key, 0xaa, sizeof key);
	ck_assert_int_eq(crypto_hmac_sha256(key, sizeof key, (const uint8_t *)msg, strlen(msg), out),
			 SH_OK);
	ck_assert_str_eq(hex(out, sizeof out),
			 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}
END_TEST

START_TEST(crypto_hmac_sha256_empty_key_and_message_matches)
{
	/* printf '' | openssl dgst -sha256 -mac HMAC -macopt hexkey:00 (zero padding = empty key) */
	uint8_t out[CRYPTO_SHA256_LEN];
	ck_assert_int_eq(crypto_hmac_sha256(NULL, 0, NULL, 0, out), SH_OK);
	ck_assert_str_eq(hex(out, sizeof out),
			 "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}
END_TEST

START_TEST(crypto_hmac_sha256_one_bit_of_key_changes_output)
{
	uint8_t k1[4] = { 'J', 'e', 'f', 'e' }, k2[4] = { 'J', 'e', 'f', 'g' };
	uint8_t a[CRYPTO_SHA256_LEN], b[CRYPTO_SHA256_LEN];
	ck_assert_int_eq(crypto_hmac_sha256(k1, 4, (const uint8_t *)"m", 1, a), SH_OK);
	ck_assert_int_eq(crypto_hmac_sha256(k2, 4, (const uint8_t *)"m", 1, b), SH_OK);
	ck_assert(memcmp(a, b, sizeof a) != 0);
}
END_TEST

/* ---- crypto_sha256 ---- */

START_TEST(crypto_sha256_abc_matches)
{
	uint8_t out[CRYPTO_SHA256_LEN];
	ck_assert_int_eq(crypto_sha256((const uint8_t *)"abc", 3, out), SH_OK);
	ck_assert_str_eq(hex(out, sizeof out),
			 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(crypto_sha256_empty_matches)
{
	uint8_t out[CRYPTO_SHA256_LEN];
	ck_assert_int_eq(crypto_sha256(NULL, 0, out), SH_OK);
	ck_assert_str_eq(hex(out, sizeof out),
			 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(crypto_sha256_thousand_bytes_matches)
{
	/* python3 -c "print('a'*1000,end='')" | openssl dgst -sha256 */
	uint8_t in[1000], out[CRYPTO_SHA256_LEN];
	memset(in, 'a', sizeof in);
	ck_assert_int_eq(crypto_sha256(in, sizeof in, out), SH_OK);
	ck_assert_str_eq(hex(out, sizeof out),
			 "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}
END_TEST

/* ---- crypto_sha1 ---- */

START_TEST(crypto_sha1_abc_matches)
{
	uint8_t out[CRYPTO_SHA1_LEN];
	ck_assert_int_eq(crypto_sha1((const uint8_t *)"abc", 3, out), SH_OK);
	ck_assert_str_eq(hex(out, sizeof out), "a9993e364706816aba3e25717850c26c9cd0d89d");
}
END_TEST

START_TEST(crypto_sha1_empty_matches)
{
	uint8_t out[CRYPTO_SHA1_LEN];
	ck_assert_int_eq(crypto_sha1(NULL, 0, out), SH_OK);
	ck_assert_str_eq(hex(out, sizeof out), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}
END_TEST

START_TEST(crypto_sha1_thousand_bytes_matches)
{
	/* python3 -c "print('a'*1000,end='')" | openssl dgst -sha1 */
	uint8_t in[1000], out[CRYPTO_SHA1_LEN];
	memset(in, 'a', sizeof in);
	ck_assert_int_eq(crypto_sha1(in, sizeof in, out), SH_OK);
	ck_assert_str_eq(hex(out, sizeof out), "291e9a6c66994949b57ba5e650361e98fc36b1ba");
}
END_TEST

/* ---- crypto_equal ---- */

START_TEST(crypto_equal_same_bytes_true)
{
	ck_assert(crypto_equal("abcdef", 6, "abcdef", 6));
	ck_assert(crypto_equal(NULL, 0, NULL, 0));
	ck_assert(crypto_equal("x", 0, "y", 0));
}
END_TEST

START_TEST(crypto_equal_differs_anywhere_false)
{
	const char *a = "abcdefgh";
	char b[9];
	for (size_t i = 0; i < 8; i++) {
		memcpy(b, a, 9);
		b[i] ^= 0x01;
		ck_assert_msg(!crypto_equal(a, 8, b, 8), "difference at %zu not seen", i);
	}
}
END_TEST

START_TEST(crypto_equal_different_lengths_false)
{
	ck_assert(!crypto_equal("abc", 3, "abcd", 4));
	ck_assert(!crypto_equal("abc", 3, "ab", 2));
	ck_assert(!crypto_equal("", 0, "a", 1));
}
END_TEST

static Suite *crypto_suite(void)
{
	Suite *s = suite_create("crypto");
	TCase *tc = tcase_create("crypto_hmac_sha256");
	tcase_add_test(tc, crypto_hmac_sha256_rfc4231_case1_matches);
	tcase_add_test(tc, crypto_hmac_sha256_rfc4231_case2_matches);
	tcase_add_test(tc, crypto_hmac_sha256_key_longer_than_block_matches);
	tcase_add_test(tc, crypto_hmac_sha256_empty_key_and_message_matches);
	tcase_add_test(tc, crypto_hmac_sha256_one_bit_of_key_changes_output);
	suite_add_tcase(s, tc);

	tc = tcase_create("crypto_sha256");
	tcase_add_test(tc, crypto_sha256_abc_matches);
	tcase_add_test(tc, crypto_sha256_empty_matches);
	tcase_add_test(tc, crypto_sha256_thousand_bytes_matches);
	suite_add_tcase(s, tc);

	tc = tcase_create("crypto_sha1");
	tcase_add_test(tc, crypto_sha1_abc_matches);
	tcase_add_test(tc, crypto_sha1_empty_matches);
	tcase_add_test(tc, crypto_sha1_thousand_bytes_matches);
	suite_add_tcase(s, tc);

	tc = tcase_create("crypto_equal");
	tcase_add_test(tc, crypto_equal_same_bytes_true);
	tcase_add_test(tc, crypto_equal_differs_anywhere_false);
	tcase_add_test(tc, crypto_equal_different_lengths_false);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(crypto_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
