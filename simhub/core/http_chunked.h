/*
 * http_chunked.h: a push decoder for HTTP/1.1 chunked request bodies (RFC 9112 §7.1), because
 * libwebsockets 4.1 hands them over still framed (lws-4.1-notes.md) and the Node device SDK
 * sends its telemetry that way. Pure: no I/O, no allocation; data comes back as spans into the
 * caller's input. Chunk extensions and trailer fields are read and dropped.
 */
#ifndef SH_HTTP_CHUNKED_H
#define SH_HTTP_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include "core/result.h"
#include "core/span.h"

/* Longest chunk-size line (size, extensions, CRLF) and longest trailer section accepted. */
#define HTTP_CHUNKED_LINE_MAX 4096u
#define HTTP_CHUNKED_TRAILER_MAX 8192u

/* Decoder state: caller-owned, no heap. Zero it only through http_chunked_init. */
struct http_chunked {
	int state;                 /* private: where in the framing the next byte falls */
	uint64_t chunk_left;       /* private: data bytes still due in the current chunk */
	uint64_t size;             /* private: chunk size being read */
	size_t line_len;           /* private: bytes of the current size line or trailer section */
	size_t limit;              /* most data bytes accepted in all */
	size_t total;              /* data bytes decoded so far */
};

/* Start decoding one body of at most `limit` data bytes. */
void http_chunked_init(struct http_chunked *c, size_t limit);

/*
 * Feed the next `len` bytes of the body (borrowed; not NUL-terminated). Decoding stops after
 * the first data span or at the end of the input, whichever comes first, so call again with
 * in + *consumed while SH_NEED_MORE is returned and input is left.
 * *consumed gets the bytes used (always <= len); *data gets body bytes found, a span inside
 * in[0..*consumed) (empty when none). Returns:
 *   SH_NEED_MORE   the body goes on: call again with the rest of `in`, or with the next bytes;
 *   SH_OK          the last chunk and the trailer section are read: the body is complete
 *                  (*data empty); bytes after it are not consumed. Further calls return SH_OK
 *                  and consume nothing;
 *   SH_E_MALFORMED bad framing: a size that is not hex, a missing CRLF after data, a bare LF,
 *                  a NUL or control byte in a size line or trailer, a line or trailer section
 *                  over its limit;
 *   SH_E_TOOLARGE  the chunk sizes announce more than `limit` data bytes in all.
 * On an error *consumed counts the bytes before the offending one. After an error every
 * further call returns the same error and consumes nothing.
 */
sh_rc http_chunked_feed(struct http_chunked *c, const uint8_t *in, size_t len, size_t *consumed,
			struct sh_span *data);

#endif
