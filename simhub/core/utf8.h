/*
 * utf8.h: strict UTF-8 (RFC 3629) for simhub: decode one sequence, check a whole buffer.
 * Pure; no allocation, no locale. Never repairs or replaces bytes: callers that sanitise
 * (report.c) or add their own character rules (twin.c, fixture.c) build on utf8_decode.
 */
#ifndef SH_UTF8_H
#define SH_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest code point UTF-8 may carry. */
#define UTF8_MAX_CODE_POINT 0x10FFFFu

/* What utf8_valid does with a NUL byte (U+0000), which is valid UTF-8 but ends a C string. */
enum utf8_nul {
	UTF8_NUL_REFUSE = 0, /* a NUL byte makes the text invalid (it must become a C string) */
	UTF8_NUL_ALLOW = 1,  /* NUL is an ordinary character */
};

/*
 * Decode the sequence that starts at s[0]. s (borrowed) holds `len` bytes; out_cp (optional)
 * gets the code point. Returns the sequence length, 1 to 4, or 0 when len is 0 or the bytes
 * there are not one valid sequence: a continuation byte as lead, a lead byte 0xF5..0xFF, a
 * sequence cut short by `len` or by a non-continuation byte, an overlong form (C0/C1 leads
 * included), a surrogate (U+D800..U+DFFF) or a value above U+10FFFF. U+0000 decodes (length
 * 1); *out_cp is left untouched on 0.
 */
size_t utf8_decode(const uint8_t *s, size_t len, uint32_t *out_cp);

/*
 * True when s[0..len) (borrowed; need not be NUL-terminated) is a sequence of valid UTF-8
 * characters, and under UTF8_NUL_REFUSE holds no NUL byte. The empty text is valid; s may be
 * NULL only when len is 0.
 */
bool utf8_valid(const void *s, size_t len, enum utf8_nul nul);

#endif
