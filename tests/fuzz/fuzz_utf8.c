/*
 * fuzz_utf8.c: libFuzzer target for core/utf8. Walking the input with utf8_decode must stay
 * inside it and agree with utf8_valid under both NUL policies; every decoded code point is in
 * range, not a surrogate, and of the shortest length. Allocates nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

/* assert() vanishes under NDEBUG (RelWithDebInfo); invariants here must always run. */
#define CHECK(c)                                                                           \
	do {                                                                               \
		if (!(c)) {                                                                \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                           \
		}                                                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i = 0;
	int ok = 1, nul = 0;
	while (i < size) {
		uint32_t cp = 0xffffffffu;
		size_t n = utf8_decode(data + i, size - i, &cp);
		if (n == 0) {
			ok = 0;
			break;
		}
		CHECK(n <= 4 && n <= size - i);
		CHECK(cp <= UTF8_MAX_CODE_POINT && (cp < 0xd800 || cp > 0xdfff));
		size_t want = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		CHECK(n == want);
		if (cp == 0)
			nul = 1;
		i += n;
	}
	CHECK(utf8_valid(data, size, UTF8_NUL_ALLOW) == ok);
	CHECK(utf8_valid(data, size, UTF8_NUL_REFUSE) == (ok && !nul));
	return 0;
}
