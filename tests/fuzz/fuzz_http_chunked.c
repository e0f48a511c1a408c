/*
 * fuzz_http_chunked.c: the first byte picks how the rest is cut into pieces (as a transport
 * delivers them) and the limit; the rest is a chunked body. Invariants: consumption and data
 * stay inside each piece, the data total matches the decoder's count and never passes the
 * limit, the outcome does not depend on the cutting, and done or an error is final.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/http_chunked.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decode in pieces of `piece` bytes; returns the result, *total gets the data bytes seen. */
static sh_rc run(const uint8_t *in, size_t len, size_t piece, size_t limit, size_t *total,
		 size_t *consumed)
{
	struct http_chunked c;
	http_chunked_init(&c, limit);
	sh_rc rc = SH_NEED_MORE;
	size_t off = 0;
	*total = 0;
	while (off < len && rc == SH_NEED_MORE) {
		size_t n = len - off < piece ? len - off : piece, k = 0;
		while (k < n) {
			size_t used = 0;
			struct sh_span d;
			rc = http_chunked_feed(&c, in + off + k, n - k, &used, &d);
			if (used > n - k)
				abort();
			if (d.len && (d.ptr < in + off + k || d.ptr + d.len > in + off + k + used))
				abort();
			*total += d.len;
			k += used;
			if (rc != SH_NEED_MORE)
				break;
			if (used == 0)
				abort();   /* no progress on non-empty input */
		}
		off += k;
	}
	if (c.total != *total || *total > limit)
		abort();
	if (rc != SH_NEED_MORE && rc != SH_OK && rc != SH_E_MALFORMED && rc != SH_E_TOOLARGE)
		abort();
	if (rc != SH_NEED_MORE) {
		/* final: another feed consumes nothing and says the same */
		size_t used = 1;
		struct sh_span d;
		if (http_chunked_feed(&c, (const uint8_t *)"0\r\n\r\n", 5, &used, &d) != rc || used || d.len)
			abort();
	}
	*consumed = off;
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = (size_t)(data[0] & 0x0f) + 1;
	size_t limit = (data[0] & 0x80) ? 64 : 1u << 20;
	size_t t1, t2, c1, c2;
	sh_rc whole = run(data + 1, size - 1, SIZE_MAX, limit, &t1, &c1);
	sh_rc cut = run(data + 1, size - 1, piece, limit, &t2, &c2);
	if (whole != cut || t1 != t2 || c1 != c2)
		abort();
	return 0;
}
