/*
 * check_isotime.c: unit tests of core/isotime (format and parse of IoT Hub timestamps).
 * Expected texts were computed independently (Python datetime); never from the code under test.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/isotime.h"

struct known {
	int64_t us;
	const char *text;
};

static const struct known known[] = {
	{ 1LL, "1970-01-01T00:00:00.0000010Z" },
	{ -1LL, "1969-12-31T23:59:59.9999990Z" },
	{ 1000000LL, "1970-01-01T00:00:01.0000000Z" },
	{ -1000000LL, "1969-12-31T23:59:59.0000000Z" },
	{ 1743501600123456LL, "2025-04-01T10:00:00.1234560Z" },
	{ 1709251199999999LL, "2024-02-29T23:59:59.9999990Z" },
	{ 951782400000000LL, "2000-02-29T00:00:00.0000000Z" },
	{ 4107542400000000LL, "2100-03-01T00:00:00.0000000Z" },
	{ -2203846154500000LL, "1900-03-01T12:30:45.5000000Z" },
	{ -62135596799999999LL, "0001-01-01T00:00:00.0000010Z" },
	{ 253402300799999999LL, "9999-12-31T23:59:59.9999990Z" },
	{ -11644560000000000LL, "1600-12-31T00:00:00.0000000Z" },
	{ -62035891200000000LL, "0004-02-29T00:00:00.0000000Z" },
	{ 165464650827320632LL, "7213-05-14T03:00:27.3206320Z" },
	{ -34300366225415087LL, "0883-01-24T00:29:34.5849130Z" },
	{ -7873321278123988LL, "1720-07-03T14:18:41.8760120Z" },
	{ 61629480061079286LL, "3922-12-18T04:01:01.0792860Z" },
	{ -12590391510593319LL, "1571-01-10T21:01:29.4066810Z" },
	{ 178924237733996379LL, "7639-11-19T09:08:53.9963790Z" },
	{ 76597177215241104LL, "4397-04-08T09:40:15.2411040Z" },
	{ -28060711724676569LL, "1080-10-16T05:51:15.3234310Z" },
};
#define N_KNOWN ((int)(sizeof known / sizeof known[0]))

static sh_rc parse_str(const char *s, int64_t *us)
{
	return isotime_parse(s, strlen(s), us);
}

/* ---- isotime_format ---------------------------------------------------------------------- */

START_TEST(isotime_format_zero_gives_never_set_text)
{
	char out[ISOTIME_BUF];
	ck_assert_int_eq(isotime_format(0, out), SH_OK);
	ck_assert_str_eq(out, "0001-01-01T00:00:00Z");
}
END_TEST

START_TEST(isotime_format_known_instant_matches_table)
{
	char out[ISOTIME_BUF];
	ck_assert_int_eq(isotime_format(known[_i].us, out), SH_OK);
	ck_assert_str_eq(out, known[_i].text);
}
END_TEST

START_TEST(isotime_format_minimum_prints_seven_zero_digits)
{
	char out[ISOTIME_BUF];
	ck_assert_int_eq(isotime_format(ISOTIME_MIN_US, out), SH_OK);
	ck_assert_str_eq(out, "0001-01-01T00:00:00.0000000Z");
}
END_TEST

START_TEST(isotime_format_out_of_range_fails_with_never_text)
{
	const int64_t bad[] = { ISOTIME_MAX_US + 1, ISOTIME_MIN_US - 1, INT64_MAX, INT64_MIN };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char out[ISOTIME_BUF];
		memset(out, 'x', sizeof out);
		ck_assert_int_eq(isotime_format(bad[i], out), SH_E_INVALID);
		ck_assert_str_eq(out, "0001-01-01T00:00:00Z");
	}
}
END_TEST

START_TEST(isotime_format_every_day_of_2024_is_consecutive)
{
	/* Walk a leap year day by day: the day-of-month must advance by one or wrap to 01. */
	int64_t start = 1704067200000000LL; /* 2024-01-01T00:00:00Z */
	char prev[ISOTIME_BUF], cur[ISOTIME_BUF];
	isotime_format(start, prev);
	ck_assert_str_eq(prev, "2024-01-01T00:00:00.0000000Z");
	int days = 1;
	for (int i = 1; i < 366; i++) {
		isotime_format(start + (int64_t)i * 86400000000LL, cur);
		int pd = atoi(prev + 8), cd = atoi(cur + 8);
		ck_assert(cd == pd + 1 || cd == 1);
		days++;
		memcpy(prev, cur, sizeof cur);
	}
	ck_assert_int_eq(days, 366);
	ck_assert_str_eq(prev, "2024-12-31T00:00:00.0000000Z");
}
END_TEST

/* ---- isotime_parse ----------------------------------------------------------------------- */

START_TEST(isotime_parse_known_text_gives_table_value)
{
	int64_t us = 42;
	ck_assert_int_eq(parse_str(known[_i].text, &us), SH_OK);
	ck_assert_int_eq(us, known[_i].us);
}
END_TEST

START_TEST(isotime_parse_format_round_trip_is_identity)
{
	char out[ISOTIME_BUF];
	int64_t us = 0;
	for (int64_t v = -3000000000000007LL; v < 3000000000000000LL; v += 123456789012347LL) {
		ck_assert_int_eq(isotime_format(v, out), SH_OK);
		ck_assert_int_eq(parse_str(out, &us), SH_OK);
		ck_assert_int_eq(us, v);
	}
}
END_TEST

START_TEST(isotime_parse_never_set_text_gives_zero)
{
	int64_t us = 42;
	ck_assert_int_eq(parse_str("0001-01-01T00:00:00Z", &us), SH_OK);
	ck_assert_int_eq(us, 0);
	us = 42;
	ck_assert_int_eq(parse_str("0001-01-01T00:00:00.0000000Z", &us), SH_OK);
	ck_assert_int_eq(us, 0);
}
END_TEST

START_TEST(isotime_parse_without_fraction_succeeds)
{
	int64_t us = 0;
	ck_assert_int_eq(parse_str("2025-04-01T10:00:00Z", &us), SH_OK);
	ck_assert_int_eq(us, 1743501600000000LL);
}
END_TEST

START_TEST(isotime_parse_fraction_of_each_width_succeeds)
{
	static const struct { const char *s; int64_t frac; } cases[] = {
		{ "2025-04-01T10:00:00.1Z", 100000 },
		{ "2025-04-01T10:00:00.12Z", 120000 },
		{ "2025-04-01T10:00:00.123Z", 123000 },
		{ "2025-04-01T10:00:00.1234Z", 123400 },
		{ "2025-04-01T10:00:00.12345Z", 123450 },
		{ "2025-04-01T10:00:00.123456Z", 123456 },
		{ "2025-04-01T10:00:00.1234567Z", 123456 },  /* 100 ns digit truncated */
		{ "2025-04-01T10:00:00.0000009Z", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t us = 0;
		ck_assert_int_eq(parse_str(cases[i].s, &us), SH_OK);
		ck_assert_int_eq(us, 1743501600000000LL + cases[i].frac);
	}
}
END_TEST

START_TEST(isotime_parse_offset_converts_to_utc)
{
	int64_t us = 0;
	ck_assert_int_eq(parse_str("2025-04-01T12:00:00+02:00", &us), SH_OK);
	ck_assert_int_eq(us, 1743501600000000LL);
	ck_assert_int_eq(parse_str("2025-04-01T04:30:00.5-05:30", &us), SH_OK);
	ck_assert_int_eq(us, 1743501600500000LL);
	ck_assert_int_eq(parse_str("2025-04-01T10:00:00+00:00", &us), SH_OK);
	ck_assert_int_eq(us, 1743501600000000LL);
	/* crossing midnight and a year boundary */
	ck_assert_int_eq(parse_str("2025-01-01T01:00:00+02:00", &us), SH_OK);
	ck_assert_int_eq(us, 1735686000000000LL); /* 2024-12-31T23:00:00Z */
}
END_TEST

START_TEST(isotime_parse_bad_input_fails)
{
	static const char *const bad[] = {
		"", "2", "2025", "2025-04-01", "2025-04-01T10:00:00", "2025-04-01T10:00Z",
		"2025-04-01t10:00:00Z", "2025-04-01T10:00:00z", "2025-04-01 10:00:00Z",
		"2025-4-01T10:00:00Z", "25-04-01T10:00:00Z", "+2025-04-01T10:00:00Z",
		"2025-00-01T10:00:00Z", "2025-13-01T10:00:00Z", "2025-04-00T10:00:00Z",
		"2025-04-31T10:00:00Z", "2025-02-29T10:00:00Z", "1900-02-29T10:00:00Z",
		"2024-02-30T10:00:00Z", "2025-04-01T24:00:00Z", "2025-04-01T10:60:00Z",
		"2025-04-01T10:00:60Z", "0000-01-01T00:00:00Z", "2025-04-01T10:00:00.Z",
		"2025-04-01T10:00:00.12345678Z", "2025-04-01T10:00:00.1a2Z", "2025-04-01T10:00:00+2:00",
		"2025-04-01T10:00:00+02", "2025-04-01T10:00:00+0200", "2025-04-01T10:00:00+24:00",
		"2025-04-01T10:00:00+02:60", "2025-04-01T10:00:00Z ", " 2025-04-01T10:00:00Z",
		"2025-04-01T10:00:00ZZ", "2025-04-01T10:00:00+02:00Z", "2025-04-01T10:00:00GMT",
		"abcd-ef-ghTij:kl:mnZ", "2025-04-01T10:00:00,5Z", "2025-04-01T10:00:00.-5Z",
		"\xff\xfe", "{\"a\":1}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t us = 42;
		ck_assert_msg(parse_str(bad[i], &us) == SH_E_MALFORMED, "accepted: %s", bad[i]);
		ck_assert_int_eq(us, 42);
	}
}
END_TEST

START_TEST(isotime_parse_every_truncation_fails)
{
	const char *full = "2025-04-01T10:00:00.1234567+02:00";
	size_t n = strlen(full);
	for (size_t len = 0; len < n; len++) {
		int64_t us = 42;
		ck_assert_msg(isotime_parse(full, len, &us) == SH_E_MALFORMED, "prefix %zu", len);
	}
	int64_t us = 0;
	ck_assert_int_eq(isotime_parse(full, n, &us), SH_OK);
}
END_TEST

START_TEST(isotime_parse_embedded_nul_fails)
{
	const char text[] = "2025-04-01T10:00:00Z\0";
	int64_t us = 42;
	ck_assert_int_eq(isotime_parse(text, sizeof text - 1, &us), SH_E_MALFORMED);
	ck_assert_int_eq(isotime_parse("2025-04-01T10:00:00\0Z", 21, &us), SH_E_MALFORMED);
}
END_TEST

START_TEST(isotime_parse_oversize_input_fails)
{
	char big[1024];
	memset(big, '9', sizeof big);
	memcpy(big, "2025-04-01T10:00:00.", 20);
	big[sizeof big - 1] = 'Z';
	int64_t us = 42;
	ck_assert_int_eq(isotime_parse(big, sizeof big, &us), SH_E_MALFORMED);
	ck_assert_int_eq(isotime_parse(NULL, 0, &us), SH_E_MALFORMED);
}
END_TEST

START_TEST(isotime_parse_offset_out_of_years_fails)
{
	int64_t us = 42;
	ck_assert_int_eq(parse_str("0001-01-01T00:00:00+00:01", &us), SH_E_INVALID);
	ck_assert_int_eq(parse_str("9999-12-31T23:59:59-00:01", &us), SH_E_INVALID);
	ck_assert_int_eq(us, 42);
	ck_assert_int_eq(parse_str("9999-12-31T23:59:59.9999999Z", &us), SH_OK);
	ck_assert_int_eq(us, ISOTIME_MAX_US);
}
END_TEST

static Suite *isotime_suite(void)
{
	Suite *s = suite_create("isotime");
	TCase *tc = tcase_create("isotime_format");
	tcase_add_test(tc, isotime_format_zero_gives_never_set_text);
	tcase_add_loop_test(tc, isotime_format_known_instant_matches_table, 0, N_KNOWN);
	tcase_add_test(tc, isotime_format_minimum_prints_seven_zero_digits);
	tcase_add_test(tc, isotime_format_out_of_range_fails_with_never_text);
	tcase_add_test(tc, isotime_format_every_day_of_2024_is_consecutive);
	suite_add_tcase(s, tc);

	tc = tcase_create("isotime_parse");
	tcase_add_loop_test(tc, isotime_parse_known_text_gives_table_value, 0, N_KNOWN);
	tcase_add_test(tc, isotime_parse_format_round_trip_is_identity);
	tcase_add_test(tc, isotime_parse_never_set_text_gives_zero);
	tcase_add_test(tc, isotime_parse_without_fraction_succeeds);
	tcase_add_test(tc, isotime_parse_fraction_of_each_width_succeeds);
	tcase_add_test(tc, isotime_parse_offset_converts_to_utc);
	tcase_add_test(tc, isotime_parse_bad_input_fails);
	tcase_add_test(tc, isotime_parse_every_truncation_fails);
	tcase_add_test(tc, isotime_parse_embedded_nul_fails);
	tcase_add_test(tc, isotime_parse_oversize_input_fails);
	tcase_add_test(tc, isotime_parse_offset_out_of_years_fails);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(isotime_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
