/*
 * mqtt_read.c: the bounds-checked cursor the MQTT decoders read with, and the MQTT UTF-8
 * rule. Pure; never allocates, never reads outside [p, p + len).
 */
#include "core/mqtt_read.h"
#include "core/utf8.h"

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

/* MQTT 3.1.1 §1.5.3: strict UTF-8 (core/utf8) and no U+0000. */
bool mqtt_utf8_valid(const uint8_t *s, size_t len)
{
	return utf8_valid(s, len, UTF8_NUL_REFUSE);
}
