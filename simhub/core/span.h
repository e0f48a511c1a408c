/*
 * span.h: a borrowed (pointer, length) view of bytes, the currency of simhub's parsers
 * (azure-sdk-for-c's az_span idea). A span never owns its bytes; it is valid as long as the
 * buffer it points into. Not NUL-terminated.
 */
#ifndef SH_SPAN_H
#define SH_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sh_span {
	const uint8_t *ptr;
	size_t len;
};

static inline struct sh_span sh_span_make(const void *ptr, size_t len)
{
	struct sh_span s = {(const uint8_t *)ptr, len};
	return s;
}

static inline struct sh_span sh_span_str(const char *s)
{
	return sh_span_make(s, s ? strlen(s) : 0);
}

static inline bool sh_span_eq(struct sh_span a, struct sh_span b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool sh_span_eq_str(struct sh_span a, const char *s)
{
	return sh_span_eq(a, sh_span_str(s));
}

/* Copy into a NUL-terminated buffer; returns false (buf = "") when it does not fit. */
static inline bool sh_span_copy(struct sh_span s, char *buf, size_t cap)
{
	if (cap == 0)
		return false;
	if (s.len >= cap) {
		buf[0] = '\0';
		return false;
	}
	if (s.len)
		memcpy(buf, s.ptr, s.len);
	buf[s.len] = '\0';
	return true;
}

#endif
