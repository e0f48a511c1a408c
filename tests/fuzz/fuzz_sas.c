/*
 * fuzz_sas.c: libFuzzer target for core/sas. The input is parsed as a token (spans must stay
 * inside it, the checks must not crash), and used as a resource URI to build a token that must
 * parse, verify with its key and cover its own URI. Never allocates beyond one copy.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sas.h"

/* assert() vanishes under NDEBUG (RelWithDebInfo); invariants here must always run. */
#define CHECK(c)                                                                           \
	do {                                                                               \
		if (!(c)) {                                                                \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                           \
		}                                                                          \
	} while (0)

#define KEY "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU="

static int inside(struct sas_span s, const uint8_t *data, size_t size)
{
	return s.len == 0 || ((const uint8_t *)s.p >= data && (const uint8_t *)s.p + s.len <= data + size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "", KEY };
	struct sas_token t;
	enum sas_refusal why;

	if (sas_parse((const char *)data, size, &t) == SH_OK) {
		CHECK(inside(t.sr, data, size) && inside(t.sig, data, size));
		CHECK(inside(t.se, data, size) && inside(t.skn, data, size));
		CHECK(t.sr.len > 0 && t.sr.len <= SAS_SR_MAX && t.sig.len > 0 && t.expiry_s >= 0);
		CHECK(sas_check_scope(&t, "h.net/devices/d", true) != SH_E_MALFORMED);
		sh_rc rc = sas_check(&t, "h.net/devices/d/modules/m", keys, 2, 1000, 300, false, &why);
		CHECK((rc == SH_OK) == (why == SAS_REFUSAL_NONE) && why != SAS_REFUSAL_MALFORMED);
	}

	/* The input as an (unencoded) resource URI, up to its first NUL. */
	char *uri = malloc(size + 1);
	if (!uri)
		return 0;
	memcpy(uri, data, size);
	uri[size] = '\0';
	char tok[3 * SAS_SR_MAX + 256];
	size_t n = 0;
	sh_rc rc = sas_build(uri, KEY, "p&q", 42, tok, sizeof tok, &n);
	if (rc == SH_OK) {
		CHECK(n == strlen(tok));
		CHECK(sas_parse(tok, n, &t) == SH_OK && t.expiry_s == 42);
		CHECK(sas_verify_signature(&t, keys, 2, NULL) == SH_OK);
		if (strcmp(uri, "/") != 0)
			CHECK(sas_check(&t, uri, keys, 2, 41, 0, true, &why) == SH_OK);
	} else {
		CHECK(rc == SH_E_INVALID || rc == SH_E_TOOLARGE);
	}
	free(uri);
	return 0;
}
