/*
 * jsondoc.c: reading JSON documents people write, and naming places in them (room jsondoc).
 * Pure: no files, no globals. It never validates a document's meaning; scenario.c,
 * fixture.c and jsonmatch.c do that and use these helpers for their messages.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsondoc.h"

static bool ident_start(unsigned char c, bool dollar)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (dollar && c == '$');
}

static bool ident_char(unsigned char c, bool dollar)
{
	return ident_start(c, dollar) || (c >= '0' && c <= '9');
}

void jsondoc_path_member(char *out, size_t cap, const char *parent, const char *name,
			 bool dollar)
{
	if (!out || cap == 0)
		return;
	if (!name)
		name = "";
	size_t n = strlen(name);
	bool plain = n > 0 && n <= JSONDOC_NAME_IN_PATH_MAX && ident_start((unsigned char)name[0], dollar);
	for (size_t i = 0; plain && i < n; i++)
		plain = ident_char((unsigned char)name[i], dollar);
	if (plain) {
		snprintf(out, cap, "%s.%s", parent, name);
		return;
	}
	char shown[JSONDOC_NAME_IN_PATH_MAX + 4];
	size_t k = 0;
	for (size_t i = 0; i < n && i < JSONDOC_NAME_IN_PATH_MAX; i++) {
		unsigned char c = (unsigned char)name[i];
		shown[k++] = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '?' : (char)c;
	}
	if (n > JSONDOC_NAME_IN_PATH_MAX) {
		memcpy(shown + k, "...", 3);
		k += 3;
	}
	shown[k] = '\0';
	snprintf(out, cap, "%s[\"%s\"]", parent, shown);
}

void jsondoc_path_index(char *out, size_t cap, const char *parent, size_t i)
{
	if (!out || cap == 0)
		return;
	snprintf(out, cap, "%s[%zu]", parent, i);
}

const char *jsondoc_type_name(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return "an object";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	return "an invalid value";
}

void jsondoc_position(const char *text, size_t len, size_t at, unsigned *line,
		      unsigned *column)
{
	unsigned l = 1, col = 1;
	for (size_t i = 0; i < at && i < len; i++) {
		if (text[i] == '\n') {
			l++;
			col = 1;
		} else if (col < UINT32_MAX) {
			col++;
		}
	}
	*line = l;
	*column = col;
}

size_t jsondoc_bom_len(const char *text, size_t len)
{
	return text && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

static bool json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * The checks run in the order a reader would fix them: a NUL byte first (cJSON would stop
 * there and report a misleading place), then a document of only whitespace, then cJSON's
 * verdict, then anything after the value. Offsets always count from the caller's text, BOM
 * included, so jsondoc_position on the same text names the right column.
 */
sh_rc jsondoc_parse(const char *text, size_t len, cJSON **out_root, size_t *out_at,
		    const char **out_reason)
{
	*out_root = NULL;
	*out_at = 0;
	*out_reason = NULL;
	size_t skip = jsondoc_bom_len(text, len);
	size_t nul = skip;
	while (nul < len && text[nul] != '\0')
		nul++;
	if (nul < len) {
		*out_at = nul;
		*out_reason = "NUL byte in the text";
		return SH_E_MALFORMED;
	}
	size_t ws = skip;
	while (ws < len && json_ws(text[ws]))
		ws++;
	if (ws == len) {
		*out_at = len;
		*out_reason = "empty document (expected a JSON object)";
		return SH_E_MALFORMED;
	}

	/* cJSON gets its own NUL-terminated copy, so it can never read past our caller's bytes. */
	size_t n = len - skip;
	char *copy = malloc(n + 1);
	if (!copy)
		return SH_E_NOMEM;
	memcpy(copy, text + skip, n);
	copy[n] = '\0';
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(copy, n, &end, 0);
	if (!root) {
		*out_at = end && end >= copy ? (size_t)(end - copy) + skip : skip;
		*out_reason = "not valid JSON";
		free(copy);
		return SH_E_MALFORMED;
	}
	size_t rest = end ? (size_t)(end - copy) : n;
	while (rest < n && json_ws(copy[rest]))
		rest++;
	free(copy);
	if (rest < n) {
		cJSON_Delete(root);
		*out_at = rest + skip;
		*out_reason = "text after the JSON document";
		return SH_E_MALFORMED;
	}
	*out_root = root;
	return SH_OK;
}
