/*
 * base64.h: standard base64 (RFC 4648 §4, with padding) into and out of caller buffers.
 * Pure; no allocation. Decoding is strict: no whitespace, correct padding, no trailing bits.
 */
#ifndef SH_BASE64_H
#define SH_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

/* Characters needed to encode n bytes, without the terminating NUL. */
#define BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)

/*
 * Encode `len` bytes into `out` (NUL-terminated). SH_E_NOSPACE when `cap` cannot hold
 * BASE64_ENCODED_LEN(len) + 1; *out_len (optional) gets the text length either way.
 */
sh_rc base64_encode(const uint8_t *in, size_t len, char *out, size_t cap, size_t *out_len);

/*
 * Decode `len` characters into `out`. SH_E_MALFORMED for a bad character, bad padding,
 * a length not a multiple of 4 or non-zero trailing bits; SH_E_NOSPACE when `cap` is short.
 * *out_len gets the byte count.
 */
sh_rc base64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len);

#endif
