/*
 * fuzz_msg_props.c: libFuzzer target for core/msg_props. The input is a property bag: the
 * iterator must stay inside it and always advance, decoding must agree with the iterator's
 * verdict, and a bag that parses must survive build -> parse unchanged (and build twice to the
 * same text). Frees everything it parses.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/msg_props.h"

/* assert() vanishes under NDEBUG (RelWithDebInfo); invariants here must always run. */
#define CHECK(c)                                                                           \
	do {                                                                               \
		if (!(c)) {                                                                \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                           \
		}                                                                          \
	} while (0)

static int inside(struct sh_span s, struct sh_span bag)
{
	return s.len == 0 || (s.ptr >= bag.ptr && s.ptr + s.len <= bag.ptr + bag.len);
}

/* Walk the bag: every item inside it, pos strictly increasing; counts good and bad items. */
static void walk(struct sh_span bag, long *good, long *bad_out)
{
	size_t pos = 0, last = 0;
	long items = 0, bad = 0;
	struct msg_prop p;
	sh_rc rc;
	while ((rc = msg_props_next(bag, &pos, &p)) != SH_E_NOTFOUND) {
		CHECK(rc == SH_OK || rc == SH_E_MALFORMED);
		CHECK(pos > last || (pos == 0 && last == 0 && items == 0 && bad == 0));
		CHECK(pos <= bag.len);
		CHECK(inside(p.key, bag) && inside(p.value, bag));
		CHECK(p.has_value || p.value.len == 0);
		if (rc == SH_OK) {
			CHECK(p.key.len > 0 && memchr(p.key.ptr, '&', p.key.len) == NULL);
			CHECK(memchr(p.key.ptr, '=', p.key.len) == NULL);
			CHECK(p.value.len == 0 || memchr(p.value.ptr, '&', p.value.len) == NULL);
			/* the iterator accepted the escapes: decoding cannot fail on them */
			size_t n;
			CHECK(msg_props_decode(p.key, NULL, 0, &n) == SH_E_NOSPACE && n <= p.key.len);
			CHECK(msg_props_decode(p.value, NULL, 0, &n) == SH_E_NOSPACE || p.value.len == 0);
			items++;
		} else {
			bad++;
		}
		last = pos;
	}
	CHECK(pos == bag.len);
	*good = items;
	*bad_out = bad;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sh_span bag = sh_span_make(data, size);
	long items, bad;
	walk(bag, &items, &bad);

	/* decode the whole input: length agrees with a second call into a real buffer */
	size_t need = 0;
	sh_rc rc = msg_props_decode(bag, NULL, 0, &need);
	CHECK(rc == SH_E_MALFORMED || rc == SH_E_NOSPACE);
	if (rc == SH_E_NOSPACE) {
		char *out = malloc(need + 1);
		size_t got = 0;
		if (out) {
			CHECK(msg_props_decode(bag, out, need + 1, &got) == SH_OK && got == need);
			CHECK(out[need] == '\0' && need <= size);
			free(out);
		}
	}

	cJSON *sys = NULL, *app = NULL;
	rc = msg_props_parse(bag, size, &sys, &app);
	CHECK(rc == SH_OK || rc == SH_E_MALFORMED || rc == SH_E_TOOLARGE);
	if (rc != SH_OK) {
		CHECK(sys == NULL && app == NULL);
		CHECK(rc != SH_E_TOOLARGE || items + bad > MSG_PROPS_MAX_COUNT);
		CHECK(rc != SH_E_MALFORMED || bad > 0 || items > 0);
		return 0;
	}
	CHECK(bad == 0 && items <= MSG_PROPS_MAX_COUNT);
	CHECK(cJSON_GetArraySize(sys) + cJSON_GetArraySize(app) <= items);

	/* build -> parse is the identity on parsed properties, and build is a fixed point */
	size_t len = 0;
	CHECK(msg_props_build(sys, app, NULL, 0, &len) == SH_E_NOSPACE);
	char *text = malloc(len + 1), *again = malloc(len + 1);
	if (text && again) {
		size_t len2 = 0;
		CHECK(msg_props_build(sys, app, text, len + 1, &len2) == SH_OK && len2 == len);
		cJSON *sys2 = NULL, *app2 = NULL;
		CHECK(msg_props_parse(sh_span_make(text, len), SIZE_MAX, &sys2, &app2) == SH_OK);
		CHECK(cJSON_Compare(sys, sys2, 1) && cJSON_Compare(app, app2, 1));
		CHECK(msg_props_build(sys2, app2, again, len + 1, &len2) == SH_OK && len2 == len);
		CHECK(memcmp(text, again, len) == 0);
		cJSON_Delete(sys2);
		cJSON_Delete(app2);
	}
	free(text);
	free(again);
	cJSON_Delete(sys);
	cJSON_Delete(app);
	return 0;
}
