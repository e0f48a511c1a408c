/*
 * fuzz_jsondoc.c: libFuzzer target for core/jsondoc. jsondoc_parse either returns a tree and
 * no error, or no tree, a reason and an offset inside the text; the offset's line and column
 * are plausible; member paths of the input's bytes stay bounded and terminated. Frees all.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsondoc.h"

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
	const char *text = (const char *)data;
	cJSON *root = NULL;
	size_t at = 0;
	const char *why = NULL;
	sh_rc rc = jsondoc_parse(text, size, &root, &at, &why);
	CHECK(rc == SH_OK || rc == SH_E_MALFORMED || rc == SH_E_NOMEM);
	if (rc == SH_OK) {
		CHECK(root && !why && at == 0);
	} else {
		CHECK(!root);
		if (rc == SH_E_MALFORMED) {
			CHECK(why && at <= size);
			unsigned line = 0, col = 0;
			jsondoc_position(text, size, at, &line, &col);
			CHECK(line >= 1 && col >= 1 && line <= size + 1 && col <= size + 1);
		}
	}
	cJSON_Delete(root);

	/* the input as a member name: bounded, terminated, '.' or '[' after the parent */
	char *name = malloc(size + 1);
	if (!name)
		return 0;
	memcpy(name, data, size);
	name[size] = '\0';
	char out[JSONDOC_NAME_IN_PATH_MAX + 16];
	for (int dollar = 0; dollar < 2; dollar++) {
		jsondoc_path_member(out, sizeof out, "$", name, dollar != 0);
		CHECK(strlen(out) < sizeof out && out[0] == '$' && (out[1] == '.' || out[1] == '['));
		for (const char *c = out; *c; c++)
			CHECK((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f);
	}
	free(name);
	return 0;
}
