/*
 * msg_props.c: message property bags (iothub-protocol.md §3.2, §3.3): iterate, decode, parse
 * into system/application properties, build for C2D. Pure: no clock, no I/O; it allocates only
 * the cJSON trees it returns, and never looks at topics (hub_topic cuts the bag out).
 *
 * What arrives. The bag is the part of a telemetry topic after `.../messages/events/`, as each
 * SDK writes it (hub_topic has already stripped C#'s and Node's one trailing '/'):
 *   Node      %24.mid=msg-0001&%24.ct=application%2Fjson&alert=high     (upper-case hex)
 *   C SDK     %24.ct=application%2fjson&%24.ce=utf8                     (lower-case hex)
 *   C SDK     alert=true&%24.cid=c1&%24.ct=application/json             (values NOT encoded,
 *                                                                        so '/' and '=' occur)
 *   docs      $.ct=application%2Fjson%3Bcharset%3Dutf-8                 (raw '$')
 *   Emb. C    %24.sub=thermostat1                                       (or nothing at all)
 * So: split on '&', then on the FIRST '=' (a raw '=' stays in the value); decode %XX in
 * either case; '+' stays '+' (this is RFC 3986 percent-encoding, not HTML form encoding).
 * After decoding, a key starting with "$." is a system property.
 *
 * Choices where the docs are silent (all [U], kept lenient where a real SDK could produce it):
 * - empty items (`a=1&&b=2`, a leading or trailing '&') are skipped;
 * - an empty key (`=v`) is refused: no property can be named "" (C#'s tokenizer throws too);
 * - a bad escape, or a key or value that decodes to NUL or to invalid UTF-8, is refused: the
 *   properties end up in JSON text (the store, the service API), which can hold neither;
 * - a key seen twice: the last one wins, as in a dictionary filled in order;
 * - at most MSG_PROPS_MAX_COUNT items, so duplicate detection (a linear look-up per item)
 *   stays cheap on a hostile 256 KB bag; real messages carry a dozen.
 *
 * What leaves. C2D bags are built the way the hub writes them (capture in §3.3): system keys
 * always "%24." (the C SDK recognises no other spelling), everything percent-encoded with
 * upper-case hex and the RFC 3986 unreserved set kept, null -> `key`, "" -> `key=`.
 */
#include "core/msg_props.h"
#include "core/utf8.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>

static const char hex_upper[] = "0123456789ABCDEF";

/* The §3.2 table: MQTT short name (after "$.") and canonical name. */
static const struct {
	const char *short_name;
	const char *canonical;
} sys_names[] = {
	{ "mid", "message-id" },
	{ "cid", "correlation-id" },
	{ "uid", "user-id" },
	{ "to", "to" },
	{ "exp", "absolute-expiry-time" },
	{ "ct", "iothub-content-type" },
	{ "ce", "iothub-content-encoding" },
	{ "ctime", "iothub-creation-time-utc" },
	{ "ifid", "iothub-interface-id" },
	{ "sub", "dt-subject" },
	{ "schema", "iothub-message-schema" },
	{ "on", "iothub-outputname" },
	{ "diagid", "iothub-diag-id" },
	{ "diagctx", "diag-correlation-context" },
	{ "cdid", "iothub-connection-device-id" },
	{ "cmid", "iothub-connection-module-id" },
};

#define SYS_NAMES_N (sizeof sys_names / sizeof sys_names[0])

/*
 * The §3.2 table again, by HTTPS header (§7.1 adds iothub-ack, which has no MQTT short name
 * on the device-to-cloud side; its canonical name is the one the C2D bag uses, §3.3).
 */
static const struct {
	const char *header;
	const char *canonical;
} http_names[] = {
	{ "iothub-messageid", "message-id" },
	{ "iothub-correlationid", "correlation-id" },
	{ "iothub-userid", "user-id" },
	{ "iothub-to", "to" },
	{ "iothub-expiry", "absolute-expiry-time" },
	{ "iothub-ack", "iothub-ack" },
	{ "iothub-contenttype", "iothub-content-type" },
	{ "iothub-contentencoding", "iothub-content-encoding" },
	{ "iothub-creationtimeutc", "iothub-creation-time-utc" },
	{ "iothub-interface-id", "iothub-interface-id" },
	{ "dt-subject", "dt-subject" },
	{ "iothub-messageschema", "iothub-message-schema" },
};

#define HTTP_NAMES_N (sizeof http_names / sizeof http_names[0])

static int hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_unreserved(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

/* True when every '%' in s starts a complete two-hex-digit escape; *n gets the decoded length. */
static bool scan_escapes(struct sh_span s, size_t *n)
{
	size_t len = 0;
	for (size_t i = 0; i < s.len; i++, len++) {
		if (s.ptr[i] != '%')
			continue;
		if (s.len - i < 3 || hex_value(s.ptr[i + 1]) < 0 || hex_value(s.ptr[i + 2]) < 0)
			return false;
		i += 2;
	}
	if (n)
		*n = len;
	return true;
}

/* Decode s (escapes already checked) into out, which has room for the result; returns its length. */
static size_t decode_into(struct sh_span s, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < s.len; i++) {
		if (s.ptr[i] == '%') {
			out[o++] = (char)(hex_value(s.ptr[i + 1]) << 4 | hex_value(s.ptr[i + 2]));
			i += 2;
		} else {
			out[o++] = (char)s.ptr[i];
		}
	}
	return o;
}

sh_rc msg_props_next(struct sh_span bag, size_t *pos, struct msg_prop *out)
{
	memset(out, 0, sizeof *out);
	size_t i = *pos;
	while (i < bag.len && bag.ptr[i] == '&')
		i++;
	if (i >= bag.len) {
		*pos = bag.len;
		return SH_E_NOTFOUND;
	}
	size_t start = i;
	while (i < bag.len && bag.ptr[i] != '&')
		i++;
	*pos = i;

	const uint8_t *item = bag.ptr + start;
	size_t n = i - start;
	const uint8_t *eq = memchr(item, '=', n);
	if (eq) {
		out->key = sh_span_make(item, (size_t)(eq - item));
		out->value = sh_span_make(eq + 1, n - out->key.len - 1);
		out->has_value = true;
	} else {
		out->key = sh_span_make(item, n);
		out->value = sh_span_make(item + n, 0);
	}
	if (out->key.len == 0 || !scan_escapes(out->key, NULL) || !scan_escapes(out->value, NULL))
		return SH_E_MALFORMED;
	return SH_OK;
}

sh_rc msg_props_decode(struct sh_span in, char *out, size_t cap, size_t *out_len)
{
	size_t n = 0;
	if (!scan_escapes(in, &n)) {
		if (out_len)
			*out_len = 0;
		if (out && cap > 0)
			out[0] = '\0';
		return SH_E_MALFORMED;
	}
	if (out_len)
		*out_len = n;
	if (!out || cap < n + 1) {
		if (out && cap > 0)
			out[0] = '\0';
		return SH_E_NOSPACE;
	}
	decode_into(in, out);
	out[n] = '\0';
	return SH_OK;
}

const char *msg_props_canonical_name(struct sh_span short_name)
{
	for (size_t i = 0; i < SYS_NAMES_N; i++)
		if (sh_span_eq_str(short_name, sys_names[i].short_name))
			return sys_names[i].canonical;
	return NULL;
}

/* ASCII case-insensitive equality of a span and a NUL-terminated lower-case name. */
static bool span_eq_nocase(struct sh_span a, const char *lower)
{
	size_t n = strlen(lower);
	if (a.len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = a.ptr[i];
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + ('a' - 'A'));
		if (c != (uint8_t)lower[i])
			return false;
	}
	return true;
}

const char *msg_props_from_http_header(struct sh_span header)
{
	for (size_t i = 0; i < HTTP_NAMES_N; i++)
		if (span_eq_nocase(header, http_names[i].header))
			return http_names[i].canonical;
	return NULL;
}

const char *msg_props_http_header(const char *canonical)
{
	for (size_t i = 0; i < HTTP_NAMES_N; i++)
		if (strcmp(canonical, http_names[i].canonical) == 0)
			return http_names[i].header;
	return NULL;
}

const char *msg_props_http_header_at(size_t i)
{
	return i < HTTP_NAMES_N ? http_names[i].header : NULL;
}

bool msg_props_text_ok(struct sh_span s)
{
	return s.len == 0 || utf8_valid(s.ptr, s.len, UTF8_NUL_REFUSE);
}

/* The short name of a canonical system property name, or NULL. */
static const char *short_name_of(const char *canonical)
{
	for (size_t i = 0; i < SYS_NAMES_N; i++)
		if (strcmp(canonical, sys_names[i].canonical) == 0)
			return sys_names[i].short_name;
	return NULL;
}

/*
 * Decode s into a fresh cJSON_malloc'd C string (so it can become a cJSON item's own key or
 * value without a second copy). Returns SH_OK, SH_E_MALFORMED (bad escape, NUL, not UTF-8) or
 * SH_E_NOMEM; *out is NULL unless SH_OK.
 */
static sh_rc decode_dup(struct sh_span s, char **out)
{
	size_t n;
	*out = NULL;
	if (!scan_escapes(s, &n))
		return SH_E_MALFORMED;
	char *p = cJSON_malloc(n + 1);
	if (!p)
		return SH_E_NOMEM;
	decode_into(s, p);
	p[n] = '\0';
	if (!utf8_valid(p, n, UTF8_NUL_REFUSE)) {
		cJSON_free(p);
		return SH_E_MALFORMED;
	}
	*out = p;
	return SH_OK;
}

/*
 * Add one decoded item to `sys` or `app`: takes ownership of `key` (cJSON_malloc'd) and of
 * `value` (cJSON_malloc'd, or NULL for a key-only item). The item is built by hand so the
 * decoded texts are used in place: cJSON_Delete frees an item's `string` and `valuestring`
 * with the same hooks cJSON_malloc used. An earlier item with the same final key is removed
 * first (last wins). Returns SH_OK or SH_E_NOMEM (both texts freed).
 */
static sh_rc add_item(cJSON *sys, cJSON *app, char *key, char *value)
{
	cJSON *obj = app;
	if (key[0] == '$' && key[1] == '.') {
		obj = sys;
		const char *canon = msg_props_canonical_name(sh_span_str(key + 2));
		if (canon) {
			size_t n = strlen(canon);
			char *k = cJSON_malloc(n + 1);
			if (!k) {
				cJSON_free(key);
				cJSON_free(value);
				return SH_E_NOMEM;
			}
			memcpy(k, canon, n + 1);
			cJSON_free(key);
			key = k;
		}
	}
	cJSON *item = cJSON_CreateNull();
	if (!item) {
		cJSON_free(key);
		cJSON_free(value);
		return SH_E_NOMEM;
	}
	if (value) {
		item->type = cJSON_String;
		item->valuestring = value;
	}
	item->string = key;
	cJSON *old = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (old)
		cJSON_Delete(cJSON_DetachItemViaPointer(obj, old));
	cJSON_AddItemToArray(obj, item); /* an object is an array of named items; key set above */
	return SH_OK;
}

sh_rc msg_props_parse(struct sh_span bag, size_t max_bytes, cJSON **sys_out, cJSON **app_out)
{
	*sys_out = NULL;
	*app_out = NULL;
	if (bag.len > max_bytes)
		return SH_E_TOOLARGE;

	sh_rc rc = SH_E_NOMEM;
	cJSON *sys = cJSON_CreateObject();
	cJSON *app = cJSON_CreateObject();
	if (!sys || !app)
		goto cleanup;

	size_t pos = 0, count = 0;
	struct msg_prop p;
	while ((rc = msg_props_next(bag, &pos, &p)) == SH_OK) {
		char *key = NULL, *value = NULL;
		if (++count > MSG_PROPS_MAX_COUNT) {
			rc = SH_E_TOOLARGE;
			goto cleanup;
		}
		rc = decode_dup(p.key, &key);
		if (rc == SH_OK && p.has_value)
			rc = decode_dup(p.value, &value);
		if (rc != SH_OK) {
			cJSON_free(key);
			goto cleanup;
		}
		rc = add_item(sys, app, key, value);
		if (rc != SH_OK)
			goto cleanup;
	}
	if (rc != SH_E_NOTFOUND)
		goto cleanup;
	*sys_out = sys;
	*app_out = app;
	return SH_OK;

cleanup:
	cJSON_Delete(app);
	cJSON_Delete(sys);
	return rc;
}

/*
 * A bounded text writer: appends while the text and its NUL fit in `cap`, and counts every
 * byte either way, so one pass both writes the output and learns the length it needs.
 */
struct writer {
	char *buf;
	size_t cap;
	size_t len;
};

static void put(struct writer *w, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (w->buf && w->len + n < w->cap)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void put_encoded(struct writer *w, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)p[i];
		if (is_unreserved(c)) {
			put(w, p + i, 1);
		} else {
			char esc[3] = { '%', hex_upper[c >> 4], hex_upper[c & 15] };
			put(w, esc, 3);
		}
	}
}

/* Write one item of `obj` (sys when is_sys): "&" unless first, the key, then "=value" or nothing. */
static sh_rc put_item(struct writer *w, const cJSON *item, bool is_sys)
{
	const char *key = item->string;
	if (!key || !key[0])
		return SH_E_INVALID;
	if (!cJSON_IsString(item) && !cJSON_IsNull(item))
		return SH_E_INVALID;
	if (cJSON_IsString(item) && !item->valuestring)
		return SH_E_INVALID;
	if (w->len > 0)
		put(w, "&", 1);
	const char *short_name = is_sys ? short_name_of(key) : NULL;
	if (short_name) {
		put(w, "%24.", 4);
		put(w, short_name, strlen(short_name));
	} else if (is_sys && key[0] == '$' && key[1] == '.') {
		put(w, "%24.", 4);
		put_encoded(w, key + 2, strlen(key + 2));
	} else {
		put_encoded(w, key, strlen(key));
	}
	if (cJSON_IsString(item)) {
		put(w, "=", 1);
		put_encoded(w, item->valuestring, strlen(item->valuestring));
	}
	return SH_OK;
}

sh_rc msg_props_build(const cJSON *sys, const cJSON *app, char *buf, size_t cap, size_t *out_len)
{
	struct writer w = { buf, cap, 0 };
	if (out_len)
		*out_len = 0;
	if (buf && cap > 0)
		buf[0] = '\0';
	if ((sys && !cJSON_IsObject(sys)) || (app && !cJSON_IsObject(app)))
		return SH_E_INVALID;
	const cJSON *objs[2] = { sys, app };
	for (int k = 0; k < 2; k++) {
		if (!objs[k])
			continue;
		for (const cJSON *it = objs[k]->child; it; it = it->next) {
			sh_rc rc = put_item(&w, it, k == 0);
			if (rc != SH_OK) {
				if (buf && cap > 0)
					buf[0] = '\0';
				return rc;
			}
		}
	}
	if (out_len)
		*out_len = w.len;
	if (!buf || w.len + 1 > cap) {
		if (buf && cap > 0)
			buf[0] = '\0';
		return SH_E_NOSPACE;
	}
	buf[w.len] = '\0';
	return SH_OK;
}
