/*
 * mqtt_read.h: a bounds-checked cursor over one MQTT packet body (mosquitto's
 * packet__read_* idea): byte, two-byte integer, length-prefixed UTF-8 string or binary data,
 * the rest. It never reads past the end it was given, never allocates and never copies:
 * every span points into the body.
 */
#ifndef SH_MQTT_READ_H
#define SH_MQTT_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"
#include "core/span.h"

/* Cursor over p[0..len); pos is the next byte. Caller-owned; p borrowed. */
struct mqtt_reader {
	const uint8_t *p;
	size_t len;
	size_t pos;
};

/* Start a cursor at p[0] over len bytes (p borrowed; may be NULL when len is 0). */
void mqtt_read_init(struct mqtt_reader *r, const uint8_t *p, size_t len);

/* Bytes not yet read. */
size_t mqtt_read_left(const struct mqtt_reader *r);

/*
 * Each reader below returns SH_OK and advances, or SH_E_MALFORMED and leaves the cursor where
 * it was (a field that does not fit, or a string that is not MQTT UTF-8).
 */
sh_rc mqtt_read_u8(struct mqtt_reader *r, uint8_t *out);
/* Big-endian two-byte integer (§1.5.2). */
sh_rc mqtt_read_u16(struct mqtt_reader *r, uint16_t *out);
/* Two-byte length then that many bytes, any content (§1.5.3 shape, used for passwords and
 * will payloads). *out borrows from the body; a zero-length field gives len 0. */
sh_rc mqtt_read_binary(struct mqtt_reader *r, struct sh_span *out);
/* As mqtt_read_binary, and the bytes must pass mqtt_utf8_valid. */
sh_rc mqtt_read_utf8(struct mqtt_reader *r, struct sh_span *out);
/* Everything left (possibly nothing); always SH_OK. */
sh_rc mqtt_read_rest(struct mqtt_reader *r, struct sh_span *out);

/*
 * The MQTT UTF-8 string rule (§1.5.3): well-formed UTF-8 per RFC 3629 (no overlong forms,
 * no surrogates U+D800..U+DFFF, nothing above U+10FFFF, no truncated sequence) and no U+0000.
 * Other control characters and non-characters are allowed (the spec says SHOULD NOT, and
 * lets the receiver choose). s borrowed; len 0 is valid.
 */
bool mqtt_utf8_valid(const uint8_t *s, size_t len);

#endif
