/*
 * fuzz_twin.c: libFuzzer target for the twin room (core/twin, core/merge_patch, core/isotime).
 * Input: "<twin-ish JSON>\0<patch JSON>". The first part is used as a stored twin when it has
 * the stored form, otherwise as a PUT body on a fresh twin; every operation is then applied with
 * today's and the legacy limits, and the invariants are asserted: a rejected operation leaves the
 * stored text unchanged, counters move exactly as twin.c says, views and deltas print and parse.
 * The patch part is also fed to isotime_parse (round trip through isotime_format).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/isotime.h"
#include "core/merge_patch.h"
#include "core/twin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* assert() vanishes under NDEBUG (RelWithDebInfo); invariants must hold in every build. */
#define assert(cond)                                                                            \
	do {                                                                                     \
		if (!(cond)) {                                                                    \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                  \
		}                                                                                 \
	} while (0)

#define NOW 1743501600000000LL

struct counters {
	int64_t version, dver, rver, etag;
};

static struct counters counters_of(const cJSON *twin)
{
	struct counters c = { twin_version(twin), twin_desired_version(twin),
			      twin_reported_version(twin), -1 };
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(twin, "etagSeq");
	if (cJSON_IsNumber(e))
		c.etag = (int64_t)e->valuedouble;
	return c;
}

/* Print, parse back and free: any view or delta must be valid JSON text. */
static void assert_prints(const cJSON *v)
{
	char *s = cJSON_PrintUnformatted(v);
	if (!s)
		return;  /* allocation failure only */
	cJSON *back = cJSON_Parse(s);
	assert(back != NULL);
	cJSON_Delete(back);
	cJSON_free(s);
}

static void check_views(const cJSON *twin)
{
	cJSON *sv = twin_service_view(twin);
	cJSON *dv = twin_device_view(twin);
	assert(sv && dv);
	assert_prints(sv);
	assert_prints(dv);
	assert(!cJSON_GetObjectItemCaseSensitive(dv, "tags"));
	for (const char *const *k = (const char *const[]){ "desired", "reported", NULL }; *k; k++) {
		const cJSON *sec = cJSON_GetObjectItemCaseSensitive(dv, *k);
		assert(cJSON_IsObject(sec));
		assert(!cJSON_GetObjectItemCaseSensitive(sec, "$metadata"));
		assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(sec, "$version")));
	}
	cJSON_Delete(sv);
	cJSON_Delete(dv);
	/* the stored text round-trips */
	char *s = cJSON_PrintUnformatted(twin);
	if (s) {
		cJSON *back = cJSON_Parse(s);
		assert(back && twin_version(back) == twin_version(twin));
		cJSON_Delete(back);
		cJSON_free(s);
	}
}

enum op { OP_DESIRED, OP_REPORTED, OP_TAGS, OP_SERVICE, OP_REPLACE };

/*
 * Run one operation and assert its invariants: on failure the stored text is unchanged and no
 * delta is returned; on success the counters moved as the version essay in twin.c says.
 */
static void run(cJSON *twin, enum op op, const cJSON *arg, const struct twin_limits *lim)
{
	char *before = cJSON_PrintUnformatted(twin);
	if (!before)
		return;
	struct counters c0 = counters_of(twin);
	struct iothub_err err = { 0 };
	cJSON *delta = NULL;
	int64_t rver = -7;
	sh_rc rc = SH_OK;
	switch (op) {
	case OP_DESIRED: rc = twin_patch_desired(twin, arg, NOW, lim, &delta, &err); break;
	case OP_REPORTED: rc = twin_patch_reported(twin, arg, NOW, lim, &rver, &err); break;
	case OP_TAGS: rc = twin_patch_tags(twin, arg, lim, &err); break;
	case OP_SERVICE: rc = twin_service_patch(twin, arg, NOW, lim, &delta, &err); break;
	case OP_REPLACE: rc = twin_replace(twin, arg, NOW, lim, &delta, &err); break;
	}
	struct counters c1 = counters_of(twin);
	if (rc != SH_OK) {
		char *after = cJSON_PrintUnformatted(twin);
		assert(after && strcmp(after, before) == 0);
		cJSON_free(after);
		assert(delta == NULL && rver == -7);
		assert(err.code != 0 && err.message[0] != '\0');
		assert(rc == SH_E_INVALID || rc == SH_E_TOOLARGE || rc == SH_E_STATE ||
		       rc == SH_E_NOMEM || rc == SH_E_MALFORMED);
	} else {
		bool noop = op == OP_SERVICE && c1.version == c0.version;
		if (noop) {
			char *after = cJSON_PrintUnformatted(twin);
			assert(after && strcmp(after, before) == 0 && delta == NULL);
			cJSON_free(after);
		} else {
			assert(c1.version == c0.version + 1);
			if (op == OP_REPORTED) {
				assert(c1.rver == c0.rver + 1 && rver == c1.rver);
				assert(c1.dver == c0.dver && c1.etag == c0.etag);
			} else {
				assert(c1.rver == c0.rver && c1.etag == c0.etag + 1);
				assert(c1.dver == c0.dver || c1.dver == c0.dver + 1);
				if (op == OP_DESIRED || op == OP_REPLACE)
					assert(c1.dver == c0.dver + 1);
				if (op == OP_TAGS)
					assert(c1.dver == c0.dver);
			}
			if (delta) {
				const cJSON *v = cJSON_GetObjectItemCaseSensitive(delta, "$version");
				assert(cJSON_IsNumber(v) && (int64_t)v->valuedouble == c1.dver);
				assert_prints(delta);
			}
		}
		check_views(twin);
	}
	cJSON_Delete(delta);
	cJSON_free(before);
}

static void fuzz_isotime(const char *s, size_t n, const uint8_t *data, size_t size)
{
	int64_t us = 0;
	char out[ISOTIME_BUF];
	if (isotime_parse(s, n, &us) == SH_OK) {
		assert(isotime_format(us, out) == SH_OK);
		int64_t back = -1;
		assert(isotime_parse(out, strlen(out), &back) == SH_OK && back == us);
	}
	if (size >= 8) {
		int64_t v;
		memcpy(&v, data, 8);
		if (isotime_format(v, out) == SH_OK && v != ISOTIME_MIN_US) {
			int64_t back = -1;
			assert(isotime_parse(out, strlen(out), &back) == SH_OK && back == v);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t alen = nul ? (size_t)(nul - data) : size;
	size_t blen = nul ? size - alen - 1 : 0;
	char *a = malloc(alen + 1), *b = malloc(blen + 1);
	if (!a || !b) {
		free(a);
		free(b);
		return 0;
	}
	memcpy(a, data, alen);
	a[alen] = '\0';
	if (blen)
		memcpy(b, nul + 1, blen);
	b[blen] = '\0';
	fuzz_isotime(b, blen, data, size);

	cJSON *base = cJSON_Parse(a);
	cJSON *patch = cJSON_Parse(b);
	/* merge_patch on its own: the patch is only borrowed */
	if (patch) {
		char *pt = cJSON_PrintUnformatted(patch);
		cJSON *m = merge_patch(base, patch);
		cJSON_Delete(m);
		char *pt2 = cJSON_PrintUnformatted(patch);
		assert(!pt || !pt2 || strcmp(pt, pt2) == 0);
		cJSON_free(pt);
		cJSON_free(pt2);
	}
	for (int legacy = 0; legacy < 2; legacy++) {
		struct twin_limits lim;
		twin_limits_init(&lim, legacy != 0);
		cJSON *twin = NULL;
		if (base && twin_version(base) >= 0)
			twin = cJSON_Duplicate(base, 1);
		if (!twin) {
			twin = twin_new(NOW);
			if (!twin)
				break;
			if (base)
				run(twin, OP_REPLACE, base, &lim);
		}
		run(twin, OP_DESIRED, patch, &lim);
		run(twin, OP_REPORTED, patch, &lim);
		run(twin, OP_TAGS, patch, &lim);
		run(twin, OP_SERVICE, patch, &lim);
		run(twin, OP_DESIRED, patch, &lim);  /* a second time over its own result */
		run(twin, OP_REPLACE, patch, &lim);
		if (base)
			run(twin, OP_SERVICE, base, &lim);
		cJSON_Delete(twin);
	}
	cJSON_Delete(patch);
	cJSON_Delete(base);
	free(a);
	free(b);
	return 0;
}
