/*
 * utf8.c: the one strict UTF-8 decoder and checker of simhub (room utf8).
 * Pure: never allocates, never repairs input, knows nothing of JSON, MQTT or XML; the
 * character rules of those (control characters, NUL) stay with their callers.
 */
#include "core/utf8.h"

/*
 * The lead byte names the length and the payload bits; each continuation byte adds six bits.
 * Checking the decoded value against the smallest one of that length catches every overlong
 * form (C0 and C1 leads included, E0 80..9F, F0 80..8F), and the range checks catch
 * surrogates and F4 90.. or F5..FF leads above U+10FFFF. A sequence is refused as soon as a
 * byte is missing or is not 10xxxxxx, so a truncated one never reads past `len`.
 */
size_t utf8_decode(const uint8_t *s, size_t len, uint32_t *out_cp)
{
	if (len == 0)
		return 0;
	uint8_t c = s[0];
	size_t n;
	uint32_t v, min;
	if (c < 0x80) {
		if (out_cp)
			*out_cp = c;
		return 1;
	} else if ((c & 0xE0) == 0xC0) {
		n = 2, v = c & 0x1Fu, min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		n = 3, v = c & 0x0Fu, min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		n = 4, v = c & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3Fu);
	}
	if (v < min || v > UTF8_MAX_CODE_POINT || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	if (out_cp)
		*out_cp = v;
	return n;
}

bool utf8_valid(const void *s, size_t len, enum utf8_nul nul)
{
	const uint8_t *p = s;
	size_t i = 0;
	while (i < len) {
		if (p[i] < 0x80) {
			if (p[i] == 0 && nul == UTF8_NUL_REFUSE)
				return false;
			i++;
			continue;
		}
		size_t k = utf8_decode(p + i, len - i, NULL);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}
