/*
 * fuzz_sse.c: libFuzzer target for core/sse, the incremental text/event-stream parser. Feeds
 * the input whole and split at a point taken from its first byte; both must give the same
 * events; every event is NUL-terminated within its stated lengths.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "core/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
	uint64_t hash;
	size_t n;
};

static int on_ev(void *arg, const struct sse_event *ev)
{
	struct tally *t = arg;
	assert(ev->data[ev->data_len] == '\0');
	assert(ev->data_len <= SSE_DATA_MAX);
	assert(strlen(ev->id) < 256 && strlen(ev->type) < 64 && ev->type[0]);
	for (size_t i = 0; i < ev->data_len; i++)
		t->hash = t->hash * 1099511628211ULL ^ (uint8_t)ev->data[i];
	for (const char *p = ev->type; *p; p++)
		t->hash = t->hash * 1099511628211ULL ^ (uint8_t)*p;
	t->n++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sse_parser a, b;
	if (sse_init(&a) != SH_OK)
		return 0;
	if (sse_init(&b) != SH_OK) {
		sse_free(&a);
		return 0;
	}
	struct tally ta = {14695981039346656037ULL, 0}, tb = ta;
	assert(sse_feed(&a, (const char *)data, size, on_ev, &ta) == 0);
	size_t cut = size ? data[0] % (size + 1) : 0;
	assert(sse_feed(&b, (const char *)data, cut, on_ev, &tb) == 0);
	assert(sse_feed(&b, (const char *)data + cut, size - cut, on_ev, &tb) == 0);
	assert(ta.n == tb.n && ta.hash == tb.hash);
	sse_free(&a);
	sse_free(&b);
	return 0;
}
