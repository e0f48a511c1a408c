/*
 * jsonmatch.h: the JSON pattern room. "Does this JSON value match this pattern?", with a
 * sentence saying where and why when it does not. Scenario expectations (docs/scenarios.md)
 * use it for reported properties, telemetry bodies, security events and method payloads.
 * Pure: no I/O, no clock, no globals; POSIX regcomp is the only library call beyond cJSON.
 */
#ifndef SH_JSONMATCH_H
#define SH_JSONMATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "core/result.h"

struct cJSON;

/*
 * The pattern language (also in docs/scenarios.md):
 *   - an object matches an object that has every key of the pattern, each matching its
 *     sub-pattern; extra keys in the value are allowed;
 *   - an array matches an array of the same length whose elements match in order (use
 *     $contains for "has an element like");
 *   - a string, number, boolean or null matches an equal value (numbers by value: 1 == 1.0);
 *   - an operator object (every key a known `$op`) matches when all its operators hold:
 *       $eq v       deep-equal to v (no subset rule)       $ne v   not deep-equal (absent is ok)
 *       $exists b   the key is present (true) / absent     $regex s  a string matching the POSIX
 *       $gt $gte $lt $lte n   a number compared with n               extended regex s (search)
 *       $in [..]    deep-equal to one of the list           $contains p  an array with an
 *                                                          element matching p; when p is an
 *                                                          array, every element of p matches
 *                                                          some element of the value;
 *   - keys `$version` and `$metadata` (IoT Hub twin keys) are plain keys, not operators; any
 *     other key that starts with `$` must be written `$$name` to mean the plain key `$name`.
 * An object mixing operators and plain keys, an unknown operator, an operand of the wrong type,
 * a regex that does not compile or nesting deeper than JSONMATCH_MAX_DEPTH makes the pattern
 * invalid: jsonmatch_validate says so and jsonmatch_eval never matches it.
 */

#define JSONMATCH_MAX_DEPTH 64       /* pattern nesting limit (objects, arrays, operators) */
#define JSONMATCH_PATH_MAX 256
#define JSONMATCH_REASON_MAX 384

/* Where and why a pattern is invalid or a value does not match. */
struct jsonmatch_why {
	char path[JSONMATCH_PATH_MAX];      /* "$.properties.reported.mode", rooted at `root` */
	char reason[JSONMATCH_REASON_MAX];  /* `expected "eco", got "boost"`; no trailing period */
};

/*
 * Check that `pattern` (borrowed; NULL is invalid) is a valid pattern. `root` names its
 * position for messages ("$.steps[2].match"; NULL means "$"). Returns SH_OK, or SH_E_INVALID
 * with `why` (optional) naming the offending part.
 */
sh_rc jsonmatch_validate(const struct cJSON *pattern, const char *root, struct jsonmatch_why *why);

/*
 * As jsonmatch_validate, for a pattern whose placeholders are not expanded yet (a scenario
 * file): a string that is exactly one placeholder ("{{capture.v.n}}", nothing around it) is
 * also accepted as the operand of $exists, $gt, $gte, $lt, $lte and $in, because the
 * scenario runner gives it its value's JSON type when it expands the pattern. The expanded
 * pattern must then pass jsonmatch_validate. Returns SH_OK, or SH_E_INVALID with `why`.
 */
sh_rc jsonmatch_validate_template(const struct cJSON *pattern, const char *root,
				  struct jsonmatch_why *why);

/*
 * Does `value` match `pattern`? Both borrowed. `value` NULL means "absent" (only `$exists:
 * false` and `$ne` match it). `root` names `value`'s position for messages (NULL means "$").
 * Returns true on a match; false otherwise, with `why` (optional) filled with the first
 * difference found. An invalid pattern never matches (its `why` says it is invalid).
 */
bool jsonmatch_eval(const struct cJSON *pattern, const struct cJSON *value, const char *root,
		    struct jsonmatch_why *why);

/* "path: reason" into buf of cap bytes, always NUL-terminated when cap > 0. Returns buf. */
const char *jsonmatch_why_format(const struct jsonmatch_why *why, char *buf, size_t cap);

/*
 * Append a member name to a JSON path: `.name` for names of letters, digits, `_` and `$` not
 * starting with a digit, `["name"]` (quotes,
 * backslashes, control and non-ASCII bytes shown as `?`, cut after 48 bytes with `...`)
 * otherwise. Always NUL-terminates `out` (cap > 0). Shared by the scenario parser.
 */
void jsonmatch_path_member(char *out, size_t cap, const char *parent, const char *name);

/* Append "[i]" to a JSON path. Always NUL-terminates `out` (cap > 0). */
void jsonmatch_path_index(char *out, size_t cap, const char *parent, size_t i);

/*
 * Deep equality of two JSON values (numbers by value, object members in any order, a repeated
 * key compared by its first occurrence). NULL equals only NULL.
 */
bool jsonmatch_equal(const struct cJSON *a, const struct cJSON *b);

#endif
