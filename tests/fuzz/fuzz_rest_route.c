/*
 * fuzz_rest_route.c: the first byte picks the method, the rest is a path. Invariants: captures
 * lie inside the input, are non-empty when set, and contain no '/'; only the C2D settle routes
 * capture a lock token.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rest_route.h"

static void check_span(struct sh_span s, const uint8_t *base, size_t len)
{
	if (!s.len)
		return;
	if (s.ptr < base || s.ptr + s.len > base + len || memchr(s.ptr, '/', s.len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum rest_method m = (enum rest_method)(data[0] % 6);
	const char *path = (const char *)data + 1;
	struct rest_route r;
	sh_rc rc = rest_route_match(m, path, size - 1, &r);
	if (rc == SH_OK) {
		check_span(r.device_id, data + 1, size - 1);
		check_span(r.module_id, data + 1, size - 1);
		check_span(r.lock_token, data + 1, size - 1);
		if (r.lock_token.len && r.id != ROUTE_C2D_SETTLE && r.id != ROUTE_C2D_ABANDON)
			abort();
	} else if (rc != SH_E_NOTFOUND && rc != SH_E_STATE) {
		abort();
	}
	return 0;
}
