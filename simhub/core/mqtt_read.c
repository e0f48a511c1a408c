/*
 * mqtt_read.c: the bounds-checked cursor the MQTT decoders read with, and the MQTT UTF-8
 * rule. Pure; never allocates, never reads outside [p, p + len).
 */
#include "core/mqtt_read.h"

void mqtt_read_init(struct mqtt_reader *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
}

size_t mqtt_read_left(const struct mqtt_reader *r)
{
	return r->len - r->pos;
}

sh_rc mqtt_read_u8(struct mqtt_reader *r, uint8_t *out)
{
	if (mqtt_read_left(r) < 1)
		return SH_E_MALFORMED;
	*out = r->p[r->pos++];
	return SH_OK;
}

sh_rc mqtt_read_u16(struct mqtt_reader *r, uint16_t *out)
{
	if (mqtt_read_left(r) < 2)
		return SH_E_MALFORMED;
	*out = (uint16_t)((r->p[r->pos] << 8) | r->p[r->pos + 1]);
	r->pos += 2;
	return SH_OK;
}

sh_rc mqtt_read_binary(struct mqtt_reader *r, struct sh_span *out)
{
	if (mqtt_read_left(r) < 2)
		return SH_E_MALFORMED;
	size_t n = (size_t)((r->p[r->pos] << 8) | r->p[r->pos + 1]);
	if (mqtt_read_left(r) - 2 < n)
		return SH_E_MALFORMED;
	*out = sh_span_make(r->p + r->pos + 2, n);
	r->pos += 2 + n;
	return SH_OK;
}

sh_rc mqtt_read_utf8(struct mqtt_reader *r, struct sh_span *out)
{
	struct mqtt_reader save = *r;
	struct sh_span s;
	if (mqtt_read_binary(r, &s) != SH_OK)
		return SH_E_MALFORMED;
	if (!mqtt_utf8_valid(s.ptr, s.len)) {
		*r = save;
		return SH_E_MALFORMED;
	}
	*out = s;
	return SH_OK;
}

sh_rc mqtt_read_rest(struct mqtt_reader *r, struct sh_span *out)
{
	*out = r->p ? sh_span_make(r->p + r->pos, r->len - r->pos) : sh_span_make(NULL, 0);
	r->pos = r->len;
	return SH_OK;
}

/*
 * RFC 3629 decoding by lead byte: 0x00..0x7F alone (0x00 refused by MQTT); 0xC2..0xDF one
 * continuation byte (0xC0/0xC1 could only start overlong forms); 0xE0..0xEF two, with the
 * second byte narrowed to A0..BF after E0 (overlong) and 80..9F after ED (surrogates);
 * 0xF0..0xF4 three, second byte 90..BF after F0 (overlong) and 80..8F after F4 (above
 * U+10FFFF). 0x80..0xBF as a lead and 0xF5..0xFF are never valid.
 */
bool mqtt_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		size_t more;
		uint8_t lo = 0x80, hi = 0xbf;
		if (c == 0x00)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			return false;
		}
		if (len - i - 1 < more)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= more; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += 1 + more;
	}
	return true;
}
