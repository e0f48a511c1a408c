/*
 * fuzz_query.c: libFuzzer target for the query room (core/query). Parses arbitrary bytes; a
 * rejected query must leave no AST and an error naming a line and column; an accepted one is
 * evaluated against two fixed twins (match, projection, aggregate fold) and every row must
 * print as JSON. Leaks are the sanitizer's business.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* assert() vanishes under NDEBUG (RelWithDebInfo); invariants must hold in every build. */
#define assert(cond)                                                                            \
	do {                                                                                     \
		if (!(cond)) {                                                                    \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                  \
		}                                                                                 \
	} while (0)

static const char *const TWINS[] = {
	"{\"deviceId\":\"d1\",\"etag\":\"AAA\",\"status\":\"enabled\",\"tags\":{\"location\":"
	"{\"region\":\"US\"},\"floor\":3,\"list\":[\"a\",1,null]},\"properties\":{\"desired\":"
	"{\"$version\":2,\"x\":1},\"reported\":{\"$version\":5,\"temp\":21.5,\"flag\":true,"
	"\"nothing\":null,\"s\":\"scanning\"}}}",
	"{\"deviceId\":\"d2\",\"moduleId\":\"m\",\"status\":\"disabled\",\"tags\":{},\"properties\":"
	"{\"desired\":{},\"reported\":{\"temp\":\"hot\"}}}",
};

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct query *q = (struct query *)&size;  /* must be overwritten */
	struct iothub_err err = { 0 };
	sh_rc rc = query_parse((const char *)data, size, &q, &err);
	if (rc != SH_OK) {
		assert(q == NULL);
		assert(err.code == IOTHUB_ARGUMENT_INVALID);
		assert(strncmp(err.message, "The query is invalid.", 21) == 0);
		assert(rc == SH_E_TOOLARGE || rc == SH_E_NOMEM || strstr(err.message, "(line ") != NULL);
		assert(rc == SH_E_MALFORMED || rc == SH_E_TOOLARGE || rc == SH_E_NOMEM);
		return 0;
	}
	assert(q != NULL);
	assert(query_from(q) == QUERY_FROM_DEVICES || query_from(q) == QUERY_FROM_MODULES);
	struct query_groups *g = query_is_aggregate(q) ? query_groups_new(q) : NULL;
	for (size_t i = 0; i < sizeof TWINS / sizeof TWINS[0]; i++) {
		cJSON *twin = cJSON_Parse(TWINS[i]);
		if (!twin)
			break;
		bool m = query_match(q, twin);
		assert(m == query_match(q, twin));  /* evaluation is pure */
		if (g) {
			assert(query_groups_add(g, twin) == SH_OK);
		} else if (m) {
			cJSON *row = query_project(q, twin);
			assert(row != NULL && cJSON_IsObject(row));
			assert_prints(row);
			cJSON_Delete(row);
		}
		cJSON_Delete(twin);
	}
	if (g) {
		cJSON *rows = query_groups_result(g);
		assert(rows != NULL && cJSON_IsArray(rows));
		assert_prints(rows);
		cJSON_Delete(rows);
		query_groups_free(g);
	}
	query_free(q);
	return 0;
}
