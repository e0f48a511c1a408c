/*
 * query.h: the IoT Hub query language over twins (iothub-protocol.md §9): parse once into an AST,
 * then match, project and aggregate single twin documents. Pure: no I/O, no store, no paging
 * (x-ms-max-item-count / x-ms-continuation belong to the REST edge), no clock; allocates only
 * its AST, cJSON result nodes and aggregate groups.
 *
 * Accepted: SELECT [TOP n] (* | elem [AS alias] {, elem [AS alias]}) FROM devices|devices.modules
 * [WHERE cond] [GROUP BY path]; elem is a path or COUNT() / AVG(p) / SUM(p) / MIN(p) / MAX(p).
 * Conditions: AND OR NOT, = != <> < > <= >=, IN [..], NIN [..], + - * / %, IS_DEFINED(p),
 * STARTSWITH(a, b), ENDSWITH(a, b); literals 'str' "str" (escapes \' \" \\ \/ \b \f \n \r \t
 * \uXXXX), numbers (decimal, 0x hex), true false null undefined. Keywords and function names are
 * case-insensitive. Paths: a.b.c, a['b'], a[0]; the first segment matches the twin's top-level
 * names case-insensitively (an exact match wins), later segments case-sensitively.
 */
#ifndef SH_QUERY_H
#define SH_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/iothub_error.h"
#include "core/result.h"

#define QUERY_MAX_TEXT 8192   /* IoT Hub's limit on the query text, in bytes */
#define QUERY_MAX_DEPTH 64    /* nesting of parentheses, NOT and unary minus */
#define QUERY_MAX_HEIGHT 256  /* height of an arithmetic/comparison tree */

/* The parsed query (AST); created by query_parse, freed by query_free. */
struct query;
/* A fold of twins into GROUP BY groups (or one group when there is no GROUP BY). */
struct query_groups;

enum query_source { QUERY_FROM_DEVICES, QUERY_FROM_MODULES };

/*
 * Parse `len` bytes of query text (need not be NUL-terminated).
 * text: borrowed. out: set to a new query the caller frees with query_free, only on SH_OK.
 * err: may be NULL; on failure filled with IOTHUB_ARGUMENT_INVALID and a message that starts
 * with IoT Hub's sentence "The query is invalid. ..." and names the place:
 * "(line 1, column 27: expected FROM but found 'WHERE')". Lines and columns count from 1;
 * columns count bytes.
 * Returns SH_OK; SH_E_MALFORMED on a syntax error (including unknown functions, STARTS_WITH,
 * keyword misuse, FROM devices.jobs, nesting deeper than QUERY_MAX_DEPTH / QUERY_MAX_HEIGHT,
 * non-aggregate columns beside aggregates); SH_E_TOOLARGE when len > QUERY_MAX_TEXT;
 * SH_E_NOMEM on allocation failure.
 */
sh_rc query_parse(const char *text, size_t len, struct query **out, struct iothub_err *err);

/* Free a query; NULL is fine. */
void query_free(struct query *q);

/* The collection of FROM. The caller feeds twins of that collection only. */
enum query_source query_from(const struct query *q);

/* TOP n, or -1 when the query has no TOP. */
long query_top(const struct query *q);

/*
 * Does the twin match WHERE? twin: borrowed, the full service view (deviceId, moduleId, etag,
 * status, tags, properties.desired/reported, ...). A query without WHERE matches everything.
 * IoT Hub semantics: a missing field or a comparison between different types is "undefined",
 * NOT undefined is undefined, and only a boolean true matches.
 */
bool query_match(const struct query *q, const cJSON *twin);

/*
 * The result row for a matching twin of a non-aggregate query: a copy of the twin for SELECT *,
 * otherwise a new object with one member per projected element whose value is defined. A member
 * is named by its alias, else by the twin's own spelling of the last path segment
 * (SELECT DeviceId gives "deviceId"), else "$1", "$2", ... (by element position).
 * twin: borrowed. Returns a new object the caller frees with cJSON_Delete; NULL on allocation
 * failure.
 */
cJSON *query_project(const struct query *q, const cJSON *twin);

/* SELECT * (rows are whole twins: x-ms-item-type Twin)? */
bool query_is_select_star(const struct query *q);

/* Does the query aggregate (GROUP BY, or COUNT/AVG/SUM/MIN/MAX in SELECT)? Then use the
 * query_groups_* functions instead of query_project. */
bool query_is_aggregate(const struct query *q);

/* A new, empty fold for an aggregate query. q: borrowed, must outlive the fold.
 * Returns the fold (free with query_groups_free) or NULL on allocation failure. */
struct query_groups *query_groups_new(const struct query *q);

/*
 * Fold one twin: tests WHERE itself (a non-matching twin is skipped) and adds the twin to the
 * group of its GROUP BY value (an undefined value is a group of its own).
 * twin: borrowed, nothing of it is kept but copies. Returns SH_OK; SH_E_NOMEM.
 */
sh_rc query_groups_add(struct query_groups *g, const cJSON *twin);

/*
 * The result rows: a new array, one object per group in order of first appearance. Members as in
 * query_project: the group value under the GROUP BY element's name (omitted when undefined),
 * COUNT() the number of twins, SUM/AVG/MIN/MAX over the numeric values only (SUM is 0 and
 * AVG/MIN/MAX are omitted when there are none). Without GROUP BY there is always exactly one row,
 * so SELECT COUNT() AS n over no twins gives [{"n":0}]. Returns NULL on allocation failure;
 * caller frees.
 */
cJSON *query_groups_result(const struct query_groups *g);

/* Free a fold; NULL is fine. */
void query_groups_free(struct query_groups *g);

#endif
