/*
 * isotime.h: ISO 8601 UTC timestamps as IoT Hub writes them, to and from microseconds since
 * 1970-01-01T00:00:00Z. Pure civil-date arithmetic: never reads the clock, never calls gmtime,
 * never allocates. Years 0001 to 9999 only.
 */
#ifndef SH_ISOTIME_H
#define SH_ISOTIME_H

#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

/* Bytes isotime_format needs, NUL included ("2025-04-01T10:00:00.1234560Z" is 28 + 1). */
#define ISOTIME_BUF 32

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in microseconds since 1970. */
#define ISOTIME_MIN_US (-62135596800000000LL)
#define ISOTIME_MAX_US (253402300799999999LL)

/*
 * Format `us` (microseconds since 1970 UTC) as `2025-04-01T10:00:00.1234560Z`: always seven
 * fractional digits, as the hub's captures show; the seventh (100 ns) is always 0.
 * `us` == 0 means "never set" and gives `0001-01-01T00:00:00Z`.
 * out: caller buffer of at least ISOTIME_BUF bytes, always NUL-terminated.
 * Returns SH_OK; SH_E_INVALID when `us` is outside [ISOTIME_MIN_US, ISOTIME_MAX_US], in which
 * case `out` holds the never-set text.
 */
sh_rc isotime_format(int64_t us, char out[ISOTIME_BUF]);

/*
 * Parse `len` bytes of `s` (no NUL needed): `YYYY-MM-DDTHH:MM:SS[.f{1,7}](Z|+hh:mm|-hh:mm)`.
 * Strict: upper-case `T` and `Z`, exact field widths, real calendar dates (leap years), no
 * leap second, no surrounding space, year 0001-9999. Fraction digits beyond the sixth are
 * truncated (microsecond precision). The offset is subtracted to give UTC.
 * The instant 0001-01-01T00:00:00Z (any fraction of zero) is the never-set value and parses to 0,
 * so isotime_parse(isotime_format(0)) == 0.
 * Returns SH_OK with *us_out set; SH_E_MALFORMED for anything else (*us_out untouched);
 * SH_E_INVALID when the UTC result falls outside the representable years.
 */
sh_rc isotime_parse(const char *s, size_t len, int64_t *us_out);

#endif
