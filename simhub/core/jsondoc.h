/*
 * jsondoc.h: JSON documents that people write (scenarios, fixtures, patterns): reading the
 * text into cJSON with the byte offset of a syntax error, turning an offset into a line and
 * column, and building the "$.a[\"b c\"][3]" paths error messages name. Pure; never reads
 * files and never keeps state between calls.
 */
#ifndef SH_JSONDOC_H
#define SH_JSONDOC_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "core/result.h"

/* Longest member name shown in a path; a longer one is cut and ends in "...". */
#define JSONDOC_NAME_IN_PATH_MAX 48

/*
 * Write parent + member `name` to out (cap bytes, always NUL-terminated when cap > 0, cut to
 * fit): ".name" when name is identifier-like ([A-Za-z_][A-Za-z0-9_]*, at most
 * JSONDOC_NAME_IN_PATH_MAX bytes; with `dollar`, '$' counts as a letter too, so pattern
 * operators read "$.a.$gt"), else "[\"name\"]" with quotes, backslashes, control and
 * non-ASCII bytes shown as '?' and a long name cut with "...". parent and name are borrowed;
 * name NULL is the empty name. Nothing is written when out is NULL or cap is 0.
 */
void jsondoc_path_member(char *out, size_t cap, const char *parent, const char *name,
			 bool dollar);

/* Write parent + "[i]" to out as jsondoc_path_member does. */
void jsondoc_path_index(char *out, size_t cap, const char *parent, size_t i);

/*
 * The type of v for messages: "an object", "an array", "a string", "a number", "a boolean",
 * "null", or "an invalid value" (also for NULL). Static text.
 */
const char *jsondoc_type_name(const cJSON *v);

/*
 * Line and column (1-based, the column counted in bytes) of byte offset `at` of text[0..len)
 * (borrowed); an offset past len counts as len. Both outputs are required.
 */
void jsondoc_position(const char *text, size_t len, size_t at, unsigned *line,
		      unsigned *column);

/* 3 when text[0..len) starts with a UTF-8 byte order mark, else 0. */
size_t jsondoc_bom_len(const char *text, size_t len);

/*
 * Read text[0..len) (borrowed; need not be NUL-terminated, never read past len) as one JSON
 * document: a leading UTF-8 byte order mark is skipped, whitespace may surround the value,
 * nothing else may follow it. cJSON reads a private NUL-terminated copy.
 * Returns SH_OK with *out_root set (caller frees with cJSON_Delete); SH_E_MALFORMED with
 * *out_at (the byte offset in text, BOM included) and *out_reason (static text: "NUL byte in
 * the text", "empty document (expected a JSON object)", "not valid JSON", "text after the
 * JSON document"); SH_E_NOMEM. On failure *out_root is NULL. Size limits are the caller's.
 */
sh_rc jsondoc_parse(const char *text, size_t len, cJSON **out_root, size_t *out_at,
		    const char **out_reason);

#endif
