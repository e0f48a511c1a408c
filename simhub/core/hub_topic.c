/*
 * hub_topic.c: IoT Hub MQTT topics (iothub-protocol.md §3, §12 items 1-4, 18-21): classify a
 * device's PUBLISH topic, check a SUBSCRIBE filter against the connection's identity, build
 * the hub's own topics. Pure: spans and caller buffers. It never compares a telemetry topic's
 * ids with the connection (the session does) and never decodes a property bag (msg_props).
 *
 * The grammar, as the SDKs really write it (traces in /work/shared/traces, SDK sources in §3).
 *
 * Device -> hub (hub_topic_parse_publish): five shapes, four kinds, told by their first segments:
 *
 *   devices/{id}/messages/events/{bag}                  telemetry of a device
 *   devices/{id}/modules/{mid}/messages/events/{bag}    telemetry of a module
 *   $iothub/twin/GET/?$rid={rid}                        twin GET (body ignored)
 *   $iothub/twin/PATCH/properties/reported/?$rid={rid}  reported patch (body = JSON)
 *   $iothub/methods/res/{status}/?$rid={rid}            direct-method answer
 *
 * {id} and {mid} are raw, never percent-decoded: an id may hold `% $ ? = : ( ) ...` (§1.1),
 * so `devices/a%25b/...` is the device "a%25b", not "a%b". They are one segment each (ids
 * cannot hold '/'), so "devices/modules/messages/events/" is the device named "modules".
 * {bag} is everything after the prefix, '/' included (the C SDK leaves values unencoded),
 * less ONE trailing '/': C# always writes `.../events/%24.mid=m1&a=b/`, Node's module
 * sendOutputEvent `.../events/%24.on=out1&k=v/`, the others nothing. An empty bag is fine.
 * The literal `events/` must end with its '/': `.../messages/events` alone is not the prefix.
 *
 * Twin and method topics carry no identity: the connection supplies it (§3.1, §12 item 4),
 * so modules use them unchanged. After the fixed path comes either nothing or `?` and a query
 * `name=value&...`, split on '&' and on the first '='; only `$rid` matters, its value is
 * copied verbatim (UUIDs from Node, decimal counters from C, any text from Embedded C: it may
 * contain '/', '=' or '?'). Other parameters are ignored; `$rid` twice is refused (which one
 * would the answer echo?). Anything between the fixed path and `?` (`$iothub/twin/GET/x/?..`)
 * is refused, as IoT Edge's hub does ("further resource specialization is not supported").
 *
 * Missing $rid, decided from Microsoft's own implementation of this protocol, IoT Edge's hub
 * (edge-hub MessagingServiceClient.cs), the only public one; the docs say nothing [I]:
 *   GET without $rid, or with `$rid=`    refused (SH_E_MALFORMED; Edge throws and drops the
 *                                        connection); the answer could not be matched anyway
 *   PATCH reported without $rid          parsed, has_rid false (Edge applies it and answers
 *                                        `?$rid=`; the session chooses what to answer)
 *   methods/res without $rid             refused; with `$rid=` accepted (matches no request,
 *                                        so the session drops it like a late answer)
 *
 * {status} of a method answer is chosen by the device: a signed decimal integer that fits an
 * int (`-1`, `200`, `0500`); nothing else (`abc`, `+1`, ``, `2147483648`).
 *
 * Not device -> hub (SH_E_NOTFOUND, the session closes the connection as the hub does, §2.4):
 * `devices/{id}/messages/devicebound/...`, `.../modules/{mid}/inputs/...`, `$iothub/twin/res/..`,
 * `$iothub/methods/POST/..`, desired PATCH, any other text. Not a topic name at all
 * (SH_E_MALFORMED): empty, or holding '+', '#' (MQTT 3.1.1 §4.7.1: wildcards are for filters)
 * or NUL.
 *
 * Subscribe filters (hub_topic_check_subscribe) are a closed list, see hub_topic.h: the five
 * documented ones, Embedded C's `devices/+/messages/devicebound/#` (the '+' standing for the
 * connected device), and both module-input spellings (`devices/{id}/modules/{mid}/#` from C
 * and C#, `.../inputs/#` from Node and Python). C2D filters are for devices only and input
 * filters for modules only (the hub never sends C2D to modules, §3.6). Anything else - another
 * device's topic, `#`, `$iothub/#`, the old C SDK's module devicebound filter, the C SDK's
 * `$iothub/credentials/res/#` - is SH_E_NOTFOUND, and the session closes the connection.
 *
 * Hub -> device (builders) always write `%24.` system keys and encoded values into bags
 * (msg_props_build does that part) and copy $rid verbatim:
 *   $iothub/twin/res/{status}/?$rid={rid}[&$version={n}]   ($version on reported-patch 204s)
 *   $iothub/twin/PATCH/properties/desired/?$version={n}
 *   $iothub/methods/POST/{name}/?$rid={rid}
 *   devices/{id}/messages/devicebound/{bag}
 */
#include "core/hub_topic.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* A cursor over the topic text. */
struct cur {
	const uint8_t *p;
	size_t len;
};

/* Consume the literal `lit` if the text starts with it. */
static bool eat(struct cur *c, const char *lit)
{
	size_t n = strlen(lit);
	if (c->len < n || memcmp(c->p, lit, n) != 0)
		return false;
	c->p += n;
	c->len -= n;
	return true;
}

/* Consume one segment (up to, not including, the next '/'); false when no '/' follows. */
static bool segment(struct cur *c, struct sh_span *seg)
{
	const uint8_t *slash = c->len ? memchr(c->p, '/', c->len) : NULL;
	if (!slash)
		return false;
	*seg = sh_span_make(c->p, (size_t)(slash - c->p));
	c->len -= seg->len + 1;
	c->p = slash + 1;
	return true;
}

/*
 * Telemetry: the text after "devices/". SH_OK with ids and bag; SH_E_NOTFOUND when it is not
 * one of the two events prefixes; SH_E_MALFORMED when it is but an id is empty.
 */
static sh_rc parse_telemetry(struct cur c, struct hub_topic *out)
{
	struct sh_span id, mid = { NULL, 0 };
	if (!segment(&c, &id))
		return SH_E_NOTFOUND;
	if (!eat(&c, "messages/events/")) {
		if (!eat(&c, "modules/") || !segment(&c, &mid) || !eat(&c, "messages/events/"))
			return SH_E_NOTFOUND;
		if (mid.len == 0)
			return SH_E_MALFORMED;
	}
	if (id.len == 0)
		return SH_E_MALFORMED;
	out->kind = HUB_TOPIC_TELEMETRY;
	out->device_id = id;
	out->module_id = mid.len ? mid : sh_span_make(c.p, 0);
	if (c.len > 0 && c.p[c.len - 1] == '/')
		c.len--;
	out->props = sh_span_make(c.p, c.len);
	return SH_OK;
}

/*
 * The tail after a twin or method path: empty, or '?' and a query. Finds $rid; has_rid and
 * rid are left zero when absent. SH_E_MALFORMED for any other tail or a second $rid.
 */
static sh_rc parse_query(struct cur c, struct hub_topic *out)
{
	if (c.len == 0)
		return SH_OK;
	if (c.p[0] != '?')
		return SH_E_MALFORMED;
	size_t i = 1;
	while (i <= c.len) {
		size_t start = i;
		while (i < c.len && c.p[i] != '&')
			i++;
		struct sh_span item = sh_span_make(c.p + start, i - start);
		if (item.len >= 5 && memcmp(item.ptr, "$rid=", 5) == 0) {
			if (out->has_rid)
				return SH_E_MALFORMED;
			out->has_rid = true;
			out->rid = sh_span_make(item.ptr + 5, item.len - 5);
		}
		i++; /* past the '&' (or past the end, which ends the loop) */
	}
	return SH_OK;
}

/* A signed decimal int: optional '-', 1 to 10 digits, within INT_MIN..INT_MAX. */
static bool parse_status(struct sh_span s, int *out)
{
	size_t i = 0;
	bool neg = false;
	if (s.len > 0 && s.ptr[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == s.len)
		return false;
	long long v = 0;
	for (; i < s.len; i++) {
		if (s.ptr[i] < '0' || s.ptr[i] > '9')
			return false;
		v = v * 10 + (s.ptr[i] - '0');
		if (v > (long long)INT_MAX + 1)
			return false;
	}
	if (neg)
		v = -v;
	if (v > INT_MAX || v < INT_MIN)
		return false;
	*out = (int)v;
	return true;
}

/* The text after "$iothub/": twin GET, reported PATCH, method answer, or SH_E_NOTFOUND. */
static sh_rc parse_iothub(struct cur c, struct hub_topic *out)
{
	sh_rc rc;
	if (eat(&c, "twin/GET/")) {
		out->kind = HUB_TOPIC_TWIN_GET;
		rc = parse_query(c, out);
		if (rc == SH_OK && (!out->has_rid || out->rid.len == 0))
			rc = SH_E_MALFORMED;
		return rc;
	}
	if (eat(&c, "twin/PATCH/properties/reported/")) {
		out->kind = HUB_TOPIC_TWIN_PATCH_REPORTED;
		return parse_query(c, out);
	}
	if (eat(&c, "methods/res/")) {
		struct sh_span st;
		out->kind = HUB_TOPIC_METHOD_RESPONSE;
		if (!segment(&c, &st) || !parse_status(st, &out->status))
			return SH_E_MALFORMED;
		rc = parse_query(c, out);
		if (rc == SH_OK && !out->has_rid)
			rc = SH_E_MALFORMED;
		return rc;
	}
	return SH_E_NOTFOUND;
}

sh_rc hub_topic_parse_publish(const char *topic, size_t len, struct hub_topic *out)
{
	memset(out, 0, sizeof *out);
	if (!topic || len == 0)
		return SH_E_MALFORMED;
	for (size_t i = 0; i < len; i++) {
		char ch = topic[i];
		if (ch == '+' || ch == '#' || ch == '\0')
			return SH_E_MALFORMED;
	}
	struct cur c = { (const uint8_t *)topic, len };
	sh_rc rc;
	if (eat(&c, "devices/"))
		rc = parse_telemetry(c, out);
	else if (eat(&c, "$iothub/"))
		rc = parse_iothub(c, out);
	else
		rc = SH_E_NOTFOUND;
	if (rc != SH_OK)
		memset(out, 0, sizeof *out);
	return rc;
}

/* True when the cursor holds exactly `s` (NUL-terminated) followed by `tail`, nothing else. */
static bool exactly(struct cur c, const char *s, const char *tail)
{
	return eat(&c, s) && eat(&c, tail) && c.len == 0;
}

sh_rc hub_topic_check_subscribe(const char *filter, size_t len, const char *device_id,
				const char *module_id, enum hub_sub_kind *kind)
{
	if (!filter || !device_id || !device_id[0])
		return SH_E_NOTFOUND;
	bool is_module = module_id && module_id[0];
	struct cur all = { (const uint8_t *)filter, len };
	struct cur c = all;

	if (exactly(all, "$iothub/twin/res/#", "")) {
		*kind = HUB_SUB_TWIN_RES;
		return SH_OK;
	}
	if (exactly(all, "$iothub/twin/PATCH/properties/desired/#", "")) {
		*kind = HUB_SUB_TWIN_DESIRED;
		return SH_OK;
	}
	if (exactly(all, "$iothub/methods/POST/#", "")) {
		*kind = HUB_SUB_METHODS;
		return SH_OK;
	}
	if (!eat(&c, "devices/"))
		return SH_E_NOTFOUND;
	if (!is_module) {
		if (exactly(c, "+", "/messages/devicebound/#") ||
		    exactly(c, device_id, "/messages/devicebound/#")) {
			*kind = HUB_SUB_C2D;
			return SH_OK;
		}
		return SH_E_NOTFOUND;
	}
	if (!eat(&c, device_id) || !eat(&c, "/modules/") || !eat(&c, module_id))
		return SH_E_NOTFOUND;
	if (exactly(c, "/#", "") || exactly(c, "/inputs/#", "")) {
		*kind = HUB_SUB_MODULE_INPUTS;
		return SH_OK;
	}
	return SH_E_NOTFOUND;
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

static void put(struct writer *w, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (w->buf && w->len + n < w->cap)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void puts_(struct writer *w, const char *s)
{
	put(w, s, strlen(s));
}

static void put_i64(struct writer *w, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof num, "%" PRId64, v);
	put(w, num, (size_t)n);
}

/* Terminate: SH_OK when the text and its NUL fit, else SH_E_NOSPACE (buf set to ""). */
static sh_rc finish(struct writer *w, size_t *out_len)
{
	if (out_len)
		*out_len = w->len;
	if (!w->buf || w->len + 1 > w->cap) {
		if (w->buf && w->cap > 0)
			w->buf[0] = '\0';
		return SH_E_NOSPACE;
	}
	w->buf[w->len] = '\0';
	return SH_OK;
}

/* SH_E_INVALID with the outputs cleared, for the builders' argument checks. */
static sh_rc invalid(char *buf, size_t cap, size_t *out_len)
{
	if (out_len)
		*out_len = 0;
	if (buf && cap > 0)
		buf[0] = '\0';
	return SH_E_INVALID;
}

/* True when the n bytes at p contain one of the characters of `set` (NUL may be in set via n). */
static bool has_any(const void *p, size_t n, const char *set)
{
	const uint8_t *s = p;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(set, s[i]))
			return true;
	return false;
}

sh_rc hub_topic_build_twin_res(int status, struct sh_span rid, int64_t version, char *buf,
			       size_t cap, size_t *out_len)
{
	if (rid.len && (!rid.ptr || has_any(rid.ptr, rid.len, "+#")))
		return invalid(buf, cap, out_len);
	struct writer w = { buf, cap, 0 };
	puts_(&w, "$iothub/twin/res/");
	put_i64(&w, status);
	puts_(&w, "/?$rid=");
	put(&w, rid.ptr, rid.len);
	if (version >= 0) {
		puts_(&w, "&$version=");
		put_i64(&w, version);
	}
	return finish(&w, out_len);
}

sh_rc hub_topic_build_desired(int64_t version, char *buf, size_t cap, size_t *out_len)
{
	if (version < 0)
		return invalid(buf, cap, out_len);
	struct writer w = { buf, cap, 0 };
	puts_(&w, "$iothub/twin/PATCH/properties/desired/?$version=");
	put_i64(&w, version);
	return finish(&w, out_len);
}

sh_rc hub_topic_build_method(const char *name, const char *rid, char *buf, size_t cap,
			     size_t *out_len)
{
	if (!name || !name[0] || !rid || !rid[0] || has_any(name, strlen(name), "/+#") ||
	    has_any(rid, strlen(rid), "+#"))
		return invalid(buf, cap, out_len);
	struct writer w = { buf, cap, 0 };
	puts_(&w, "$iothub/methods/POST/");
	puts_(&w, name);
	puts_(&w, "/?$rid=");
	puts_(&w, rid);
	return finish(&w, out_len);
}

sh_rc hub_topic_build_c2d(const char *device_id, const char *bag, char *buf, size_t cap,
			  size_t *out_len)
{
	if (!bag)
		bag = "";
	if (!device_id || !device_id[0] || has_any(device_id, strlen(device_id), "/+#") ||
	    has_any(bag, strlen(bag), "+#"))
		return invalid(buf, cap, out_len);
	struct writer w = { buf, cap, 0 };
	puts_(&w, "devices/");
	puts_(&w, device_id);
	puts_(&w, "/messages/devicebound/");
	puts_(&w, bag);
	return finish(&w, out_len);
}
