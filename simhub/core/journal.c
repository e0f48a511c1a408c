/*
 * journal.c (core/journal): the recording format, one JSON object per line (docs/recordings.md).
 * It turns lines into struct journal_entry and back, checks the header's version, and renames
 * identities for clones. It never reads files, the clock or the network: the recorder and the
 * replayer own those.
 *
 * The rules, in short (the documentation has the examples):
 * - Line 1 is the header {"simhubJournal":1,"hub":...,"started":ISO,"source":...}. A reader
 *   refuses a header whose version is newer than JOURNAL_VERSION: that number changes only
 *   when a field changes meaning or disappears.
 * - Within one version a writer may add optional fields (readers ignore unknown ones) and new
 *   ops: a reader reports an unknown op as SH_E_NOTFOUND with the op's name, so a replayer can
 *   skip it with a warning instead of refusing the whole recording.
 * - "t" (microseconds since the header's start) orders and times everything; "at" (ISO) is the
 *   same instant for people and is only checked for syntax.
 * - Numbers are JSON numbers, so integers are exact only up to 2^53: t, version and status are
 *   refused beyond that (2^53 microseconds is 285 years of recording).
 */
#include "core/journal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/base64.h"
#include "core/identity.h"
#include "core/isotime.h"
#include "core/msg_props.h"
#include "core/span.h"

#define JSON_INT_MAX 9007199254740992.0   /* 2^53: the last integer a double holds exactly */

static const char *const op_names[JOURNAL_OP_COUNT] = {
	[JOURNAL_OP_CONNECT] = "connect",
	[JOURNAL_OP_DISCONNECT] = "disconnect",
	[JOURNAL_OP_TELEMETRY] = "telemetry",
	[JOURNAL_OP_TWIN_GET] = "twin.get",
	[JOURNAL_OP_TWIN_REPORTED] = "twin.reported",
	[JOURNAL_OP_METHOD_RESPONSE] = "method.response",
	[JOURNAL_OP_C2D_SETTLE] = "c2d.settle",
	[JOURNAL_OP_TWIN_DESIRED] = "twin.desired",
	[JOURNAL_OP_METHOD_REQUEST] = "method.request",
	[JOURNAL_OP_C2D] = "c2d",
};

const char *journal_op_name(enum journal_op op)
{
	if ((int)op < 0 || op >= JOURNAL_OP_COUNT)
		return "unknown";
	return op_names[op];
}

bool journal_op_from_device(enum journal_op op)
{
	return (int)op >= 0 && op <= JOURNAL_OP_C2D_SETTLE;
}

/* ---- errors ---- */

struct ctx {
	long lineno;
	struct journal_error *err;
};

/* Record where and why (only the first failure of a line is kept) and return rc. */
static sh_rc fail(struct ctx *c, sh_rc rc, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static sh_rc fail(struct ctx *c, sh_rc rc, const char *path, const char *fmt, ...)
{
	if (c->err && c->err->reason[0] == '\0') {
		va_list ap;
		c->err->line = c->lineno;
		snprintf(c->err->path, sizeof c->err->path, "%s", path);
		va_start(ap, fmt);
		vsnprintf(c->err->reason, sizeof c->err->reason, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int journal_error_format(const struct journal_error *e, const char *file, char *out, size_t cap)
{
	return snprintf(out, cap, "%s:%ld: %s: %s", file ? file : "(journal)", e->line,
			e->path[0] ? e->path : "$", e->reason[0] ? e->reason : "error");
}

/* ---- parsing helpers ---- */

/*
 * Parse `len` bytes as exactly one JSON value: a trailing "\n" or "\r\n" and surrounding
 * blanks are allowed, anything else after the value is not. cJSON gets a NUL-terminated copy
 * so it never reads past the caller's bytes. Returns SH_OK with *out (caller deletes).
 */
static sh_rc parse_json(struct ctx *c, const char *line, size_t len, cJSON **out)
{
	*out = NULL;
	if (len > JOURNAL_LINE_MAX)
		return fail(c, SH_E_TOOLARGE, "$", "line of %zu bytes is over the limit of %d", len,
			    JOURNAL_LINE_MAX);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
			   line[len - 1] == '\t'))
		len--;
	if (len == 0)
		return fail(c, SH_E_MALFORMED, "$", "empty line (expected a JSON object)");
	if (memchr(line, '\0', len))
		return fail(c, SH_E_MALFORMED, "$", "NUL byte in the line");
	char *copy = malloc(len + 1);
	if (!copy)
		return fail(c, SH_E_NOMEM, "$", "out of memory");
	memcpy(copy, line, len);
	copy[len] = '\0';
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(copy, len, &end, 0);
	if (!root) {
		size_t at = end && end >= copy ? (size_t)(end - copy) : 0;
		free(copy);
		return fail(c, SH_E_MALFORMED, "$", "not valid JSON (near byte %zu)", at + 1);
	}
	size_t rest = end ? (size_t)(end - copy) : len;
	while (rest < len && (copy[rest] == ' ' || copy[rest] == '\t'))
		rest++;
	free(copy);
	if (rest < len) {
		cJSON_Delete(root);
		return fail(c, SH_E_MALFORMED, "$", "text after the JSON object (byte %zu)", rest + 1);
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return fail(c, SH_E_MALFORMED, "$", "a line must be a JSON object");
	}
	*out = root;
	return SH_OK;
}

static void path_of(char *buf, size_t cap, const char *key)
{
	snprintf(buf, cap, "$.%s", key);
}

/* A string field: absent is SH_OK with *out NULL unless required; copied (caller frees). */
static sh_rc get_string(struct ctx *c, const cJSON *obj, const char *key, bool required,
			size_t max, char **out)
{
	char path[JOURNAL_PATH_MAX];
	path_of(path, sizeof path, key);
	*out = NULL;
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!it) {
		if (required)
			return fail(c, SH_E_MALFORMED, path, "missing (a string is required)");
		return SH_OK;
	}
	if (!cJSON_IsString(it) || !it->valuestring)
		return fail(c, SH_E_MALFORMED, path, "must be a string");
	size_t n = strlen(it->valuestring);
	if (n > max)
		return fail(c, SH_E_TOOLARGE, path, "string of %zu bytes is over the limit of %zu", n,
			    max);
	*out = malloc(n + 1);
	if (!*out)
		return fail(c, SH_E_NOMEM, path, "out of memory");
	memcpy(*out, it->valuestring, n + 1);
	return SH_OK;
}

/* An integer field in [lo, hi]; absent leaves *out alone unless required. */
static sh_rc get_int(struct ctx *c, const cJSON *obj, const char *key, bool required, double lo,
		     double hi, int64_t *out)
{
	char path[JOURNAL_PATH_MAX];
	path_of(path, sizeof path, key);
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!it) {
		if (required)
			return fail(c, SH_E_MALFORMED, path, "missing (an integer is required)");
		return SH_OK;
	}
	if (!cJSON_IsNumber(it))
		return fail(c, SH_E_MALFORMED, path, "must be an integer");
	double d = it->valuedouble;
	if (!(d >= lo && d <= hi))
		return fail(c, SH_E_MALFORMED, path, "out of range (%.0f..%.0f)", lo, hi);
	int64_t v = (int64_t)d;
	if ((double)v != d)
		return fail(c, SH_E_MALFORMED, path, "must be an integer, not a fraction");
	*out = v;
	return SH_OK;
}

static sh_rc get_bool(struct ctx *c, const cJSON *obj, const char *key, bool *out)
{
	char path[JOURNAL_PATH_MAX];
	path_of(path, sizeof path, key);
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!it)
		return SH_OK;
	if (!cJSON_IsBool(it))
		return fail(c, SH_E_MALFORMED, path, "must be true or false");
	*out = cJSON_IsTrue(it);
	return SH_OK;
}

/* Detach a JSON value from the parsed line (no copy); `object` requires an object. */
static sh_rc take_json(struct ctx *c, cJSON *obj, const char *key, bool required, bool object,
		       cJSON **out)
{
	char path[JOURNAL_PATH_MAX];
	path_of(path, sizeof path, key);
	*out = NULL;
	cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!it) {
		if (required)
			return fail(c, SH_E_MALFORMED, path, "missing (a JSON %s is required)",
				    object ? "object" : "value");
		return SH_OK;
	}
	if (object && !cJSON_IsObject(it))
		return fail(c, SH_E_MALFORMED, path, "must be a JSON object");
	*out = cJSON_DetachItemViaPointer(obj, it);
	return SH_OK;
}

/* A property object: every value a UTF-8 string without NUL, or null (a key without value). */
static sh_rc take_props(struct ctx *c, cJSON *obj, const char *key, cJSON **out)
{
	sh_rc rc = take_json(c, obj, key, false, true, out);
	if (rc != SH_OK || !*out)
		return rc;
	const cJSON *it;
	cJSON_ArrayForEach(it, *out) {
		char path[JOURNAL_PATH_MAX];
		snprintf(path, sizeof path, "$.%s.%s", key, it->string ? it->string : "");
		if (!it->string || !it->string[0])
			return fail(c, SH_E_MALFORMED, path, "empty property name");
		if (!(cJSON_IsString(it) && it->valuestring) && !cJSON_IsNull(it))
			return fail(c, SH_E_MALFORMED, path, "a property value is a string or null");
		if (cJSON_IsString(it) && !msg_props_text_ok(sh_span_str(it->valuestring)))
			return fail(c, SH_E_MALFORMED, path, "not UTF-8 text");
	}
	return SH_OK;
}

/* "body" and "bodyEncoding" into e->body / body_len / body_encoding. */
static sh_rc get_body(struct ctx *c, const cJSON *obj, struct journal_entry *e)
{
	char *enc = NULL;
	sh_rc rc = get_string(c, obj, "bodyEncoding", false, 16, &enc);
	if (rc != SH_OK)
		return rc;
	if (enc && strcmp(enc, "text") && strcmp(enc, "base64")) {
		free(enc);
		return fail(c, SH_E_MALFORMED, "$.bodyEncoding", "must be \"text\" or \"base64\"");
	}
	e->body_encoding = enc && !strcmp(enc, "base64") ? JOURNAL_BODY_BASE64 : JOURNAL_BODY_TEXT;
	free(enc);
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "body");
	if (!it) {
		e->body = calloc(1, 1);
		return e->body ? SH_OK : fail(c, SH_E_NOMEM, "$.body", "out of memory");
	}
	if (!cJSON_IsString(it) || !it->valuestring)
		return fail(c, SH_E_MALFORMED, "$.body", "must be a string");
	size_t n = strlen(it->valuestring);
	if (e->body_encoding == JOURNAL_BODY_TEXT) {
		if (!msg_props_text_ok(sh_span_make(it->valuestring, n)))
			return fail(c, SH_E_MALFORMED, "$.body", "not UTF-8 text (use base64)");
		e->body = malloc(n + 1);
		if (!e->body)
			return fail(c, SH_E_NOMEM, "$.body", "out of memory");
		memcpy(e->body, it->valuestring, n + 1);
		e->body_len = n;
		return SH_OK;
	}
	size_t cap = n / 4 * 3 + 1;
	e->body = malloc(cap);
	if (!e->body)
		return fail(c, SH_E_NOMEM, "$.body", "out of memory");
	size_t got = 0;
	if (base64_decode(it->valuestring, n, e->body, cap, &got) != SH_OK)
		return fail(c, SH_E_MALFORMED, "$.body", "not valid base64");
	e->body[got] = '\0';
	e->body_len = got;
	return SH_OK;
}

/* ---- header ---- */

void journal_header_free(struct journal_header *h)
{
	if (!h)
		return;
	free(h->hub);
	free(h->source);
	memset(h, 0, sizeof *h);
}

sh_rc journal_header_parse(const char *line, size_t len, long lineno, struct journal_header *out,
			   struct journal_error *err)
{
	struct ctx c = {lineno, err};
	if (err)
		memset(err, 0, sizeof *err);
	memset(out, 0, sizeof *out);
	cJSON *root = NULL;
	sh_rc rc = parse_json(&c, line, len, &root);
	if (rc != SH_OK)
		return rc;
	int64_t v = 0;
	char *started = NULL;
	if (!cJSON_GetObjectItemCaseSensitive(root, "simhubJournal")) {
		rc = fail(&c, SH_E_MALFORMED, "$.simhubJournal",
			  "missing: not a simhub journal (the first line is its header)");
		goto cleanup;
	}
	rc = get_int(&c, root, "simhubJournal", true, 1, 1000000, &v);
	if (rc != SH_OK)
		goto cleanup;
	if (v > JOURNAL_VERSION) {
		rc = fail(&c, SH_E_VERSION, "$.simhubJournal",
			  "journal version %lld is newer than this reader's (%d): upgrade simhub",
			  (long long)v, JOURNAL_VERSION);
		goto cleanup;
	}
	out->version = (int)v;
	rc = get_string(&c, root, "hub", true, JOURNAL_TEXT_MAX, &out->hub);
	if (rc == SH_OK && !out->hub[0])
		rc = fail(&c, SH_E_MALFORMED, "$.hub", "empty");
	if (rc == SH_OK)
		rc = get_string(&c, root, "source", false, JOURNAL_TEXT_MAX, &out->source);
	if (rc == SH_OK)
		rc = get_string(&c, root, "started", true, 64, &started);
	if (rc == SH_OK && isotime_parse(started, strlen(started), &out->started_us) != SH_OK)
		rc = fail(&c, SH_E_MALFORMED, "$.started", "not an ISO 8601 time");
cleanup:
	free(started);
	cJSON_Delete(root);
	if (rc != SH_OK)
		journal_header_free(out);
	return rc;
}

/* Print an object as one line; the text is malloc'd (cJSON's default hooks), caller frees. */
static sh_rc print_line(cJSON *root, char **out_line)
{
	char *s = root ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	if (!s)
		return SH_E_NOMEM;
	*out_line = s;
	return SH_OK;
}

sh_rc journal_header_write(const struct journal_header *h, char **out_line)
{
	*out_line = NULL;
	char iso[ISOTIME_BUF];
	if (h->version < 1 || !h->hub || !h->hub[0] || isotime_format(h->started_us, iso) != SH_OK)
		return SH_E_INVALID;
	cJSON *root = cJSON_CreateObject();
	if (!root || !cJSON_AddNumberToObject(root, "simhubJournal", h->version) ||
	    !cJSON_AddStringToObject(root, "hub", h->hub) ||
	    !cJSON_AddStringToObject(root, "started", iso) ||
	    (h->source && !cJSON_AddStringToObject(root, "source", h->source))) {
		cJSON_Delete(root);
		return SH_E_NOMEM;
	}
	return print_line(root, out_line);
}

/* ---- entries ---- */

void journal_entry_free(struct journal_entry *e)
{
	if (!e)
		return;
	free(e->device);
	free(e->module);
	free(e->transport);
	free(e->reason);
	cJSON_Delete(e->sys_props);
	cJSON_Delete(e->app_props);
	free(e->body);
	free(e->rid);
	cJSON_Delete(e->patch);
	free(e->name);
	cJSON_Delete(e->payload);
	free(e->message_id);
	free(e->outcome);
	memset(e, 0, sizeof *e);
	e->version = -1;
}

static sh_rc get_id(struct ctx *c, const cJSON *obj, const char *key, bool required, char **out)
{
	sh_rc rc = get_string(c, obj, key, required, SH_ID_MAX, out);
	if (rc != SH_OK || !*out)
		return rc;
	if (identity_validate_id(*out, strlen(*out)) != SH_OK) {
		char path[JOURNAL_PATH_MAX];
		path_of(path, sizeof path, key);
		return fail(c, SH_E_MALFORMED, path, "not a valid IoT Hub identity id");
	}
	return SH_OK;
}

/*
 * The fields of one op, after the common ones (t, at, device, module) are in. Each op takes
 * what the table in journal.h lists; the hub's answers (status, version) are optional so a
 * journal written by hand may leave them out.
 */
static sh_rc parse_op_fields(struct ctx *c, cJSON *root, struct journal_entry *e)
{
	int64_t v = 0;
	sh_rc rc = SH_OK;
	switch (e->op) {
	case JOURNAL_OP_CONNECT:
		rc = get_string(c, root, "transport", false, 32, &e->transport);
		if (rc == SH_OK)
			rc = get_bool(c, root, "cleanSession", &e->clean_session);
		if (rc == SH_OK && (rc = get_int(c, root, "keepAlive", false, 0, 65535, &v)) == SH_OK)
			e->keepalive_s = (int)v;
		return rc;
	case JOURNAL_OP_DISCONNECT:
		return get_string(c, root, "reason", false, JOURNAL_TEXT_MAX, &e->reason);
	case JOURNAL_OP_C2D:
		rc = get_string(c, root, "messageId", false, JOURNAL_TEXT_MAX, &e->message_id);
		if (rc != SH_OK)
			return rc;
		/* a C2D message has the shape of telemetry */
		/* FALLTHROUGH */
	case JOURNAL_OP_TELEMETRY:
		rc = take_props(c, root, "systemProperties", &e->sys_props);
		if (rc == SH_OK)
			rc = take_props(c, root, "properties", &e->app_props);
		if (rc == SH_OK)
			rc = get_body(c, root, e);
		return rc;
	case JOURNAL_OP_TWIN_GET:
	case JOURNAL_OP_TWIN_REPORTED:
		rc = get_string(c, root, "rid", e->op == JOURNAL_OP_TWIN_GET, JOURNAL_TEXT_MAX,
				&e->rid);
		if (rc == SH_OK && e->op == JOURNAL_OP_TWIN_REPORTED)
			rc = take_json(c, root, "patch", true, true, &e->patch);
		if (rc == SH_OK && (rc = get_int(c, root, "status", false, 0, 999, &v)) == SH_OK)
			e->status = (int)v;
		if (rc == SH_OK)
			rc = get_int(c, root, "version", false, 0, JSON_INT_MAX, &e->version);
		return rc;
	case JOURNAL_OP_METHOD_RESPONSE:
		rc = get_string(c, root, "rid", true, JOURNAL_TEXT_MAX, &e->rid);
		if (rc == SH_OK && (rc = get_int(c, root, "status", true, -2147483647.0,
						 2147483647.0, &v)) == SH_OK)
			e->status = (int)v;
		if (rc == SH_OK)
			rc = take_json(c, root, "payload", false, false, &e->payload);
		return rc;
	case JOURNAL_OP_C2D_SETTLE:
		rc = get_string(c, root, "messageId", true, JOURNAL_TEXT_MAX, &e->message_id);
		if (rc == SH_OK)
			rc = get_string(c, root, "outcome", true, 16, &e->outcome);
		if (rc == SH_OK && strcmp(e->outcome, "complete") && strcmp(e->outcome, "abandon") &&
		    strcmp(e->outcome, "reject"))
			rc = fail(c, SH_E_MALFORMED, "$.outcome",
				  "must be \"complete\", \"abandon\" or \"reject\"");
		return rc;
	case JOURNAL_OP_TWIN_DESIRED:
		rc = take_json(c, root, "patch", true, true, &e->patch);
		if (rc == SH_OK)
			rc = get_int(c, root, "version", false, 0, JSON_INT_MAX, &e->version);
		return rc;
	case JOURNAL_OP_METHOD_REQUEST:
		rc = get_string(c, root, "rid", true, JOURNAL_TEXT_MAX, &e->rid);
		if (rc == SH_OK)
			rc = get_string(c, root, "name", true, JOURNAL_TEXT_MAX, &e->name);
		if (rc == SH_OK && !e->name[0])
			rc = fail(c, SH_E_MALFORMED, "$.name", "empty method name");
		if (rc == SH_OK)
			rc = take_json(c, root, "payload", false, false, &e->payload);
		return rc;
	case JOURNAL_OP_COUNT:
		break;
	}
	return fail(c, SH_E_MALFORMED, "$.op", "unknown op");
}

sh_rc journal_entry_parse(const char *line, size_t len, long lineno, struct journal_entry *out,
			  struct journal_error *err)
{
	struct ctx c = {lineno, err};
	if (err)
		memset(err, 0, sizeof *err);
	memset(out, 0, sizeof *out);
	out->version = -1;
	cJSON *root = NULL;
	sh_rc rc = parse_json(&c, line, len, &root);
	if (rc != SH_OK)
		return rc;
	char *op = NULL, *at = NULL;
	if (cJSON_GetObjectItemCaseSensitive(root, "simhubJournal")) {
		rc = fail(&c, SH_E_MALFORMED, "$.simhubJournal",
			  "a journal header where an operation was expected");
		goto cleanup;
	}
	rc = get_string(&c, root, "op", true, 64, &op);
	if (rc != SH_OK)
		goto cleanup;
	int k;
	for (k = 0; k < JOURNAL_OP_COUNT; k++)
		if (!strcmp(op, op_names[k]))
			break;
	if (k == JOURNAL_OP_COUNT) {
		rc = fail(&c, SH_E_NOTFOUND, "$.op",
			  "unknown op \"%.40s\" (this reader knows journal version %d: a newer "
			  "simhub wrote it?)", op, JOURNAL_VERSION);
		goto cleanup;
	}
	out->op = (enum journal_op)k;
	rc = get_int(&c, root, "t", true, 0, JSON_INT_MAX, &out->t_us);
	if (rc == SH_OK)
		rc = get_string(&c, root, "at", false, 64, &at);
	if (rc == SH_OK && at && isotime_parse(at, strlen(at), &out->at_us) != SH_OK)
		rc = fail(&c, SH_E_MALFORMED, "$.at", "not an ISO 8601 time");
	if (rc == SH_OK)
		rc = get_id(&c, root, "device", true, &out->device);
	if (rc == SH_OK)
		rc = get_id(&c, root, "module", false, &out->module);
	if (rc == SH_OK)
		rc = parse_op_fields(&c, root, out);
cleanup:
	free(op);
	free(at);
	cJSON_Delete(root);
	return rc;
}

/* Add `item` (may be NULL: nothing to add) under key; false when out of memory. */
static bool add_copy(cJSON *root, const char *key, const cJSON *item)
{
	if (!item)
		return true;
	cJSON *dup = cJSON_Duplicate(item, true);
	return dup && cJSON_AddItemToObject(root, key, dup);
}

static bool add_str(cJSON *root, const char *key, const char *s)
{
	return !s || cJSON_AddStringToObject(root, key, s) != NULL;
}

/* "body" (and "bodyEncoding" when base64) of a telemetry or C2D entry. */
static bool add_body(cJSON *root, const struct journal_entry *e)
{
	const uint8_t *b = e->body ? e->body : (const uint8_t *)"";
	size_t n = e->body ? e->body_len : 0;
	if (e->body_encoding == JOURNAL_BODY_TEXT && msg_props_text_ok(sh_span_make(b, n)))
		return cJSON_AddStringToObject(root, "body", (const char *)b) != NULL;
	size_t cap = BASE64_ENCODED_LEN(n) + 1;
	char *text = malloc(cap);
	if (!text)
		return false;
	bool ok = base64_encode(b, n, text, cap, NULL) == SH_OK &&
		  cJSON_AddStringToObject(root, "body", text) &&
		  cJSON_AddStringToObject(root, "bodyEncoding", "base64");
	free(text);
	return ok;
}

/* What journal_entry_write refuses before it builds anything. */
static bool entry_ok(const struct journal_entry *e)
{
	if ((int)e->op < 0 || e->op >= JOURNAL_OP_COUNT || e->t_us < 0 ||
	    (double)e->t_us > JSON_INT_MAX || !e->device ||
	    identity_validate_id(e->device, strlen(e->device)) != SH_OK)
		return false;
	if (e->module && identity_validate_id(e->module, strlen(e->module)) != SH_OK)
		return false;
	switch (e->op) {
	case JOURNAL_OP_TWIN_GET:
	case JOURNAL_OP_METHOD_RESPONSE:
		return e->rid != NULL;
	case JOURNAL_OP_TWIN_REPORTED:
	case JOURNAL_OP_TWIN_DESIRED:
		return cJSON_IsObject(e->patch);
	case JOURNAL_OP_C2D_SETTLE:
		return e->message_id && e->outcome;
	case JOURNAL_OP_METHOD_REQUEST:
		return e->rid && e->name && e->name[0];
	default:
		return true;
	}
}

sh_rc journal_entry_write(const struct journal_entry *e, char **out_line)
{
	*out_line = NULL;
	if (!entry_ok(e))
		return SH_E_INVALID;
	char iso[ISOTIME_BUF];
	if (e->at_us != 0 && isotime_format(e->at_us, iso) != SH_OK)
		return SH_E_INVALID;
	cJSON *r = cJSON_CreateObject();
	bool ok = r && cJSON_AddNumberToObject(r, "t", (double)e->t_us) &&
		  (e->at_us == 0 || cJSON_AddStringToObject(r, "at", iso)) &&
		  add_str(r, "device", e->device) && add_str(r, "module", e->module) &&
		  add_str(r, "op", op_names[e->op]);
	switch (e->op) {
	case JOURNAL_OP_CONNECT:
		ok = ok && add_str(r, "transport", e->transport) &&
		     cJSON_AddBoolToObject(r, "cleanSession", e->clean_session) &&
		     cJSON_AddNumberToObject(r, "keepAlive", e->keepalive_s);
		break;
	case JOURNAL_OP_DISCONNECT:
		ok = ok && add_str(r, "reason", e->reason);
		break;
	case JOURNAL_OP_C2D:
	case JOURNAL_OP_TELEMETRY:
		ok = ok && (e->op != JOURNAL_OP_C2D || add_str(r, "messageId", e->message_id)) &&
		     add_copy(r, "systemProperties", e->sys_props) &&
		     add_copy(r, "properties", e->app_props) && add_body(r, e);
		break;
	case JOURNAL_OP_TWIN_GET:
	case JOURNAL_OP_TWIN_REPORTED:
		ok = ok && add_str(r, "rid", e->rid) && add_copy(r, "patch", e->patch) &&
		     (e->status == 0 || cJSON_AddNumberToObject(r, "status", e->status)) &&
		     (e->version < 0 || cJSON_AddNumberToObject(r, "version", (double)e->version));
		break;
	case JOURNAL_OP_METHOD_RESPONSE:
		ok = ok && add_str(r, "rid", e->rid) &&
		     cJSON_AddNumberToObject(r, "status", e->status) &&
		     add_copy(r, "payload", e->payload);
		break;
	case JOURNAL_OP_C2D_SETTLE:
		ok = ok && add_str(r, "messageId", e->message_id) &&
		     add_str(r, "outcome", e->outcome);
		break;
	case JOURNAL_OP_TWIN_DESIRED:
		ok = ok && add_copy(r, "patch", e->patch) &&
		     (e->version < 0 || cJSON_AddNumberToObject(r, "version", (double)e->version));
		break;
	case JOURNAL_OP_METHOD_REQUEST:
		ok = ok && add_str(r, "rid", e->rid) && add_str(r, "name", e->name) &&
		     add_copy(r, "payload", e->payload);
		break;
	case JOURNAL_OP_COUNT:
		ok = false;
		break;
	}
	if (!ok) {
		cJSON_Delete(r);
		return SH_E_NOMEM;
	}
	return print_line(r, out_line);
}

/* ---- clones ---- */

/* Append `len` bytes at *pos when they fit; *pos always advances (to report the need). */
static void put(char *out, size_t cap, size_t *pos, const char *s, size_t len)
{
	if (*pos < cap) {
		size_t room = cap - *pos;
		memcpy(out + *pos, s, len < room ? len : room);
	}
	*pos += len;
}

sh_rc journal_clone_id(const char *pattern, const char *id, unsigned n, char *out, size_t cap,
		       size_t *out_len)
{
	size_t pos = 0;
	bool has_n = false;
	if (out_len)
		*out_len = 0;
	if (cap > 0)
		out[0] = '\0';
	if (!pattern || !id)
		return SH_E_INVALID;
	for (const char *p = pattern; *p;) {
		if (*p != '{') {
			put(out, cap, &pos, p, 1);
			p++;
			continue;
		}
		char num[32];
		if (!strncmp(p, "{id}", 4)) {
			put(out, cap, &pos, id, strlen(id));
			p += 4;
		} else if (!strncmp(p, "{n}", 3)) {
			int k = snprintf(num, sizeof num, "%u", n);
			put(out, cap, &pos, num, (size_t)k);
			has_n = true;
			p += 3;
		} else if (!strncmp(p, "{n:", 3) && p[3] >= '1' && p[3] <= '9' && p[4] == '}') {
			int k = snprintf(num, sizeof num, "%0*u", p[3] - '0', n);
			put(out, cap, &pos, num, (size_t)k);
			has_n = true;
			p += 5;
		} else {
			return SH_E_INVALID;
		}
	}
	if (!has_n)
		return SH_E_INVALID;
	if (out_len)
		*out_len = pos;
	if (pos >= cap) {
		if (cap > 0)
			out[cap - 1] = '\0';
		return SH_E_NOSPACE;
	}
	out[pos] = '\0';
	if (identity_validate_id(out, pos) != SH_OK) {
		out[0] = '\0';
		if (out_len)
			*out_len = 0;
		return SH_E_INVALID;
	}
	return SH_OK;
}
