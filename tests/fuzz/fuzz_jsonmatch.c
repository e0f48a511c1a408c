/*
 * fuzz_jsonmatch.c: libFuzzer target for the JSON pattern room (core/jsonmatch). The input is a
 * pattern and a value, two JSON texts separated by the first newline; the target validates the
 * pattern, evaluates it and checks the invariants of both answers. Corpus:
 * tests/fuzz/corpus/jsonmatch/.
 */
/* The invariants below are the point of this target: keep assert() on in every build type. */
#undef NDEBUG
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/jsonmatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_why(const struct jsonmatch_why *why)
{
	assert(why->path[0] == '$');
	assert(strnlen(why->path, sizeof why->path) < sizeof why->path);
	assert(why->reason[0] != '\0');
	assert(strnlen(why->reason, sizeof why->reason) < sizeof why->reason);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t pn = nl ? (size_t)(nl - data) : size;
	cJSON *pattern = cJSON_ParseWithLength((const char *)data, pn);
	cJSON *value = nl ? cJSON_ParseWithLength((const char *)nl + 1, size - pn - 1) : NULL;
	if (!pattern) {
		cJSON_Delete(value);
		return 0;
	}
	struct jsonmatch_why why;
	memset(&why, 0, sizeof why);
	sh_rc vr = jsonmatch_validate(pattern, "$", &why);
	assert(vr == SH_OK || vr == SH_E_INVALID);
	if (vr != SH_OK)
		check_why(&why);
	memset(&why, 0, sizeof why);
	bool hit = jsonmatch_eval(pattern, value, "$", &why);
	if (vr != SH_OK)
		assert(!hit);
	if (!hit)
		check_why(&why);
	assert(jsonmatch_eval(pattern, value, "$", NULL) == hit);
	/* $eq of a value matches exactly that value; equality is reflexive and symmetric */
	if (value) {
		assert(jsonmatch_equal(value, value));
		assert(jsonmatch_equal(pattern, value) == jsonmatch_equal(value, pattern));
		cJSON *eq = cJSON_CreateObject();
		cJSON *dup = cJSON_Duplicate(value, 1);
		if (eq && dup && cJSON_AddItemToObject(eq, "$eq", dup))
			assert(jsonmatch_eval(eq, value, "$", NULL));
		else
			cJSON_Delete(dup);
		cJSON_Delete(eq);
	}
	cJSON_Delete(pattern);
	cJSON_Delete(value);
	return 0;
}
