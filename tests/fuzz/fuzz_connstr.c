/*
 * fuzz_connstr.c: libFuzzer target for core/connstr. A string that parses must have spans
 * inside the input, a HostName and one consistent credential; when a builder can express it,
 * rebuilding and re-parsing must give the same fields. Frees what it copies.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/connstr.h"

/* assert() vanishes under NDEBUG (RelWithDebInfo); invariants here must always run. */
#define CHECK(c)                                                                           \
	do {                                                                               \
		if (!(c)) {                                                                \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                           \
		}                                                                          \
	} while (0)

static int inside(struct sas_span s, const uint8_t *data, size_t size)
{
	return s.p == NULL ? s.len == 0
			   : s.len > 0 && (const uint8_t *)s.p >= data &&
				     (const uint8_t *)s.p + s.len <= data + size;
}

static char *dup_span(struct sas_span s)
{
	if (!s.p)
		return NULL;
	char *c = malloc(s.len + 1);
	if (c) {
		memcpy(c, s.p, s.len);
		c[s.len] = '\0';
	}
	return c;
}

static int same(struct sas_span a, struct sas_span b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct connstr cs, again;
	const char *why = NULL;

	if (connstr_parse((const char *)data, size, &cs, &why) != SH_OK) {
		CHECK(why && *why);
		return 0;
	}
	CHECK(inside(cs.host_name, data, size) && cs.host_name.len > 0);
	CHECK(inside(cs.device_id, data, size) && inside(cs.module_id, data, size));
	CHECK(inside(cs.shared_access_key, data, size));
	CHECK(inside(cs.shared_access_key_name, data, size));
	CHECK(inside(cs.shared_access_signature, data, size));
	CHECK(inside(cs.gateway_host_name, data, size));
	CHECK((cs.kind == CONNSTR_SERVICE) == (cs.device_id.len == 0));
	CHECK((cs.kind == CONNSTR_MODULE) == (cs.module_id.len > 0));
	CHECK((cs.auth == CONNSTR_AUTH_KEY) == (cs.shared_access_key.len > 0));
	CHECK((cs.auth == CONNSTR_AUTH_TOKEN) == (cs.shared_access_signature.len > 0));

	/* Round trip where a builder can say the same thing. */
	if (cs.auth == CONNSTR_AUTH_TOKEN || (cs.kind != CONNSTR_SERVICE && cs.shared_access_key_name.p))
		return 0;
	char *host = dup_span(cs.host_name), *dev = dup_span(cs.device_id);
	char *mod = dup_span(cs.module_id), *key = dup_span(cs.shared_access_key);
	char *pol = dup_span(cs.shared_access_key_name), *gw = dup_span(cs.gateway_host_name);
	char out[512];
	size_t n = 0;
	sh_rc rc;
	if (cs.kind == CONNSTR_SERVICE)
		rc = connstr_build_service(host, pol, key, gw, out, sizeof out, &n);
	else if (cs.kind == CONNSTR_MODULE)
		rc = connstr_build_module(host, dev, mod, key, gw, out, sizeof out, &n);
	else
		rc = connstr_build_device(host, dev, key, gw, out, sizeof out, &n);
	CHECK(rc == SH_OK || rc == SH_E_NOSPACE);
	if (rc == SH_OK) {
		CHECK(connstr_parse(out, n, &again, NULL) == SH_OK);
		CHECK(again.kind == cs.kind && again.auth == cs.auth);
		CHECK(same(again.host_name, cs.host_name) && same(again.device_id, cs.device_id));
		CHECK(same(again.module_id, cs.module_id));
		CHECK(same(again.shared_access_key, cs.shared_access_key));
		CHECK(same(again.shared_access_key_name, cs.shared_access_key_name));
		CHECK(same(again.gateway_host_name, cs.gateway_host_name));
	}
	free(host);
	free(dev);
	free(mod);
	free(key);
	free(pol);
	free(gw);
	return 0;
}
