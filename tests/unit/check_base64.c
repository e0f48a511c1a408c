/*
 * check_base64.c: unit tests of core/base64 (strict RFC 4648 base64): the RFC's test vectors
 * both ways, every malformed shape the strict decoder must refuse, buffer limits, and a
 * round trip over all byte values.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"

/* RFC 4648 §10. */
static const struct {
	const char *plain;
	const char *b64;
} rfc_vectors[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

/* Inputs the strict decoder must refuse as SH_E_MALFORMED. */
static const char *const malformed[] = {
	"Z",          /* one byte */
	"Zg",         /* not a multiple of 4 */
	"Zg=",        /* truncated padding */
	"Zm9vY",      /* truncated group */
	"Zh==",       /* non-zero trailing bits (one byte) */
	"Zm9=",       /* non-zero trailing bits (two bytes) */
	"Z===",       /* three padding characters */
	"====",       /* padding only */
	"=Zg=",       /* padding first */
	"Zm=v",       /* padding inside the last group */
	"Zg==Zm9v",   /* padding before the end */
	"Zm9v\n",     /* whitespace */
	"Zm 9v",      /* whitespace inside */
	"Zm9-",       /* base64url alphabet */
	"Zm9_",       /* base64url alphabet */
	"Zm9\x80",    /* high byte */
};

/* ---- base64_encode ---- */

START_TEST(base64_encode_rfc_vector_matches)
{
	char out[16];
	size_t n = 99;
	const char *p = rfc_vectors[_i].plain;
	ck_assert_int_eq(base64_encode((const uint8_t *)p, strlen(p), out, sizeof out, &n), SH_OK);
	ck_assert_str_eq(out, rfc_vectors[_i].b64);
	ck_assert_uint_eq(n, strlen(rfc_vectors[_i].b64));
}
END_TEST

START_TEST(base64_encode_short_buffer_nospace_reports_need)
{
	char out[8];
	size_t n = 0;
	/* "foobar" needs 8 characters plus the NUL. */
	ck_assert_int_eq(base64_encode((const uint8_t *)"foobar", 6, out, sizeof out, &n), SH_E_NOSPACE);
	ck_assert_uint_eq(n, 8);
	ck_assert_int_eq(base64_encode((const uint8_t *)"foobar", 6, out, 0, &n), SH_E_NOSPACE);
	char ok[9];
	ck_assert_int_eq(base64_encode((const uint8_t *)"foobar", 6, ok, sizeof ok, NULL), SH_OK);
	ck_assert_str_eq(ok, "Zm9vYmFy");
}
END_TEST

START_TEST(base64_encode_binary_bytes_matches)
{
	/* printf '\x00\xff\xfe\x80' | base64 */
	const uint8_t in[] = { 0x00, 0xff, 0xfe, 0x80 };
	char out[16];
	ck_assert_int_eq(base64_encode(in, sizeof in, out, sizeof out, NULL), SH_OK);
	ck_assert_str_eq(out, "AP/+gA==");
}
END_TEST

/* ---- base64_decode ---- */

START_TEST(base64_decode_rfc_vector_matches)
{
	uint8_t out[16];
	size_t n = 99;
	const char *b = rfc_vectors[_i].b64;
	ck_assert_int_eq(base64_decode(b, strlen(b), out, sizeof out, &n), SH_OK);
	ck_assert_uint_eq(n, strlen(rfc_vectors[_i].plain));
	ck_assert(memcmp(out, rfc_vectors[_i].plain, n) == 0);
}
END_TEST

START_TEST(base64_decode_malformed_input_fails)
{
	uint8_t out[16];
	size_t n = 99;
	const char *b = malformed[_i];
	ck_assert_int_eq(base64_decode(b, strlen(b), out, sizeof out, &n), SH_E_MALFORMED);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(base64_decode_embedded_nul_fails)
{
	uint8_t out[16];
	size_t n;
	ck_assert_int_eq(base64_decode("Zm\0v", 4, out, sizeof out, &n), SH_E_MALFORMED);
}
END_TEST

START_TEST(base64_decode_short_buffer_nospace_reports_need)
{
	uint8_t out[5];
	size_t n = 0;
	ck_assert_int_eq(base64_decode("Zm9vYmFy", 8, out, sizeof out, &n), SH_E_NOSPACE);
	ck_assert_uint_eq(n, 6);
	ck_assert_int_eq(base64_decode("Zm9vYmE=", 8, out, sizeof out, &n), SH_OK);
	ck_assert_uint_eq(n, 5);
	ck_assert(memcmp(out, "fooba", 5) == 0);
}
END_TEST

START_TEST(base64_decode_iothub_key_is_32_bytes)
{
	/* The throwaway device key of the Node SDK traces. */
	uint8_t out[64];
	size_t n = 0;
	const char *k = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU=";
	ck_assert_int_eq(base64_decode(k, strlen(k), out, sizeof out, &n), SH_OK);
	ck_assert_uint_eq(n, 32);
	ck_assert(memcmp(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", 32) == 0);
}
END_TEST

START_TEST(base64_decode_round_trip_all_bytes_identical)
{
	uint8_t in[256], back[256];
	char text[BASE64_ENCODED_LEN(256) + 1];
	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	/* Every length 0..256, so each of the three tail shapes is crossed many times. */
	for (size_t len = 0; len <= 256; len++) {
		size_t tn = 0, bn = 0;
		ck_assert_int_eq(base64_encode(in, len, text, sizeof text, &tn), SH_OK);
		ck_assert_uint_eq(tn, BASE64_ENCODED_LEN(len));
		ck_assert_int_eq(base64_decode(text, tn, back, sizeof back, &bn), SH_OK);
		ck_assert_uint_eq(bn, len);
		ck_assert(memcmp(in, back, len) == 0);
	}
}
END_TEST

static Suite *base64_suite(void)
{
	Suite *s = suite_create("base64");
	int nv = (int)(sizeof rfc_vectors / sizeof rfc_vectors[0]);
	int nm = (int)(sizeof malformed / sizeof malformed[0]);

	TCase *tc = tcase_create("base64_encode");
	tcase_add_loop_test(tc, base64_encode_rfc_vector_matches, 0, nv);
	tcase_add_test(tc, base64_encode_short_buffer_nospace_reports_need);
	tcase_add_test(tc, base64_encode_binary_bytes_matches);
	suite_add_tcase(s, tc);

	tc = tcase_create("base64_decode");
	tcase_add_loop_test(tc, base64_decode_rfc_vector_matches, 0, nv);
	tcase_add_loop_test(tc, base64_decode_malformed_input_fails, 0, nm);
	tcase_add_test(tc, base64_decode_embedded_nul_fails);
	tcase_add_test(tc, base64_decode_short_buffer_nospace_reports_need);
	tcase_add_test(tc, base64_decode_iothub_key_is_32_bytes);
	tcase_add_test(tc, base64_decode_round_trip_all_bytes_identical);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(base64_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
