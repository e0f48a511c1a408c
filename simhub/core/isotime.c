/*
 * isotime.c: the isotime room. Converts between microseconds since 1970 UTC and the ISO 8601
 * text IoT Hub puts in twins, with its own proleptic Gregorian arithmetic. Never reads the
 * clock, never calls gmtime/timegm, never allocates.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/isotime.h"

#define US_PER_SEC 1000000LL
#define SEC_PER_DAY 86400LL
#define DAYS_0001_TO_1970 719162LL   /* days from 0001-01-01 to 1970-01-01 */

static const char never_text[] = "0001-01-01T00:00:00Z";

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Days from 0001-01-01 to January 1st of year y (y >= 1). */
static int64_t days_before_year(int64_t y)
{
	int64_t p = y - 1;
	return p * 365 + p / 4 - p / 100 + p / 400;
}

/* Days from January 1st to the first day of month m (1-12) in year y. */
static int64_t days_before_month(int64_t y, int m)
{
	int64_t n = 0;
	for (int i = 1; i < m; i++)
		n += days_in_month(y, i);
	return n;
}

/* Floor division for a possibly negative numerator and a positive divisor. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && a < 0) ? q - 1 : q;
}

/*
 * Turn a day number counted from 0001-01-01 (n >= 0) into year, month and day. The year is
 * first estimated from the 400-year cycle of 146097 days and then corrected by at most a step
 * or two in either direction, so no table or loop over years is needed.
 */
static void civil_from_days(int64_t n, int64_t *y, int *m, int *d)
{
	int64_t yy = n * 400 / 146097 + 1;
	while (days_before_year(yy + 1) <= n)
		yy++;
	while (days_before_year(yy) > n)
		yy--;
	int64_t doy = n - days_before_year(yy);
	int mm = 1;
	while (doy >= days_in_month(yy, mm)) {
		doy -= days_in_month(yy, mm);
		mm++;
	}
	*y = yy;
	*m = mm;
	*d = (int)doy + 1;
}

sh_rc isotime_format(int64_t us, char out[ISOTIME_BUF])
{
	if (us == 0 || us < ISOTIME_MIN_US || us > ISOTIME_MAX_US) {
		memcpy(out, never_text, sizeof never_text);
		return us == 0 ? SH_OK : SH_E_INVALID;
	}
	int64_t secs = floor_div(us, US_PER_SEC);
	int64_t frac = us - secs * US_PER_SEC;
	int64_t days = floor_div(secs, SEC_PER_DAY);
	int64_t sod = secs - days * SEC_PER_DAY;
	int64_t y;
	int m, d;
	civil_from_days(days + DAYS_0001_TO_1970, &y, &m, &d);
	snprintf(out, ISOTIME_BUF, "%04d-%02d-%02dT%02d:%02d:%02d.%06d0Z", (int)y, m, d,
		 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (int)frac);
	return SH_OK;
}

/* Read exactly `n` decimal digits at s[*pos]; advances *pos. False if any is not a digit. */
static bool read_digits(const char *s, size_t len, size_t *pos, int n, int64_t *v)
{
	if (len - *pos < (size_t)n)
		return false;
	int64_t acc = 0;
	for (int i = 0; i < n; i++) {
		char c = s[*pos + (size_t)i];
		if (c < '0' || c > '9')
			return false;
		acc = acc * 10 + (c - '0');
	}
	*pos += (size_t)n;
	*v = acc;
	return true;
}

static bool expect(const char *s, size_t len, size_t *pos, char c)
{
	if (*pos >= len || s[*pos] != c)
		return false;
	(*pos)++;
	return true;
}

sh_rc isotime_parse(const char *s, size_t len, int64_t *us_out)
{
	if (!s)
		return SH_E_MALFORMED;
	size_t pos = 0;
	int64_t y, mo, d, h, mi, se;
	if (!read_digits(s, len, &pos, 4, &y) || !expect(s, len, &pos, '-') ||
	    !read_digits(s, len, &pos, 2, &mo) || !expect(s, len, &pos, '-') ||
	    !read_digits(s, len, &pos, 2, &d) || !expect(s, len, &pos, 'T') ||
	    !read_digits(s, len, &pos, 2, &h) || !expect(s, len, &pos, ':') ||
	    !read_digits(s, len, &pos, 2, &mi) || !expect(s, len, &pos, ':') ||
	    !read_digits(s, len, &pos, 2, &se))
		return SH_E_MALFORMED;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (int)mo) || h > 23 ||
	    mi > 59 || se > 59)
		return SH_E_MALFORMED;

	int64_t frac_us = 0;
	if (pos < len && s[pos] == '.') {
		pos++;
		int ndig = 0;
		int64_t scale = 100000;
		while (pos < len && s[pos] >= '0' && s[pos] <= '9') {
			if (++ndig > 7)
				return SH_E_MALFORMED;
			frac_us += (s[pos] - '0') * scale;  /* the 7th digit has scale 0: truncated */
			scale /= 10;
			pos++;
		}
		if (ndig == 0)
			return SH_E_MALFORMED;
	}

	int64_t offset_sec = 0;
	if (pos >= len)
		return SH_E_MALFORMED;
	if (s[pos] == 'Z') {
		pos++;
	} else if (s[pos] == '+' || s[pos] == '-') {
		int sign = s[pos] == '-' ? -1 : 1;
		int64_t oh, om;
		pos++;
		if (!read_digits(s, len, &pos, 2, &oh) || !expect(s, len, &pos, ':') ||
		    !read_digits(s, len, &pos, 2, &om) || oh > 23 || om > 59)
			return SH_E_MALFORMED;
		offset_sec = sign * (oh * 3600 + om * 60);
	} else {
		return SH_E_MALFORMED;
	}
	if (pos != len)
		return SH_E_MALFORMED;

	int64_t days = days_before_year(y) + days_before_month(y, (int)mo) + d - 1 - DAYS_0001_TO_1970;
	int64_t secs = days * SEC_PER_DAY + h * 3600 + mi * 60 + se - offset_sec;
	int64_t us = secs * US_PER_SEC + frac_us;
	if (us < ISOTIME_MIN_US || us > ISOTIME_MAX_US)
		return SH_E_INVALID;
	*us_out = us == ISOTIME_MIN_US ? 0 : us;
	return SH_OK;
}
