/*
 * agent_ident.c: room agent_ident (see agent_ident.h): connection string -> identity, the MQTT
 * strings of IoT Hub (iothub-protocol.md §1-§3) and the backoff schedule. Pure: never reads the
 * clock, never touches a socket, never allocates.
 */
#include "agent_ident.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/connstr.h"
#include "core/sas.h"

static bool copy_span(struct sas_span s, char *buf, size_t cap)
{
	if (s.len >= cap)
		return false;
	if (s.len)
		memcpy(buf, s.p, s.len);
	buf[s.len] = '\0';
	return true;
}

/*
 * The common start of both connection-string readers: a NULL string is refused, and *why
 * (always set, "" on success) gets connstr_parse's reason. Returns connstr_parse's result.
 */
static sh_rc parse_cs(const char *cs, struct connstr *c, const char **why)
{
	*why = "";
	if (!cs) {
		*why = "no connection string";
		return SH_E_INVALID;
	}
	return connstr_parse(cs, strlen(cs), c, why);
}

sh_rc agent_ident_from_cs(const char *cs, struct agent_ident *out, const char **why)
{
	memset(out, 0, sizeof *out);
	const char *dummy;
	struct connstr c;
	if (!why)
		why = &dummy;
	sh_rc rc = parse_cs(cs, &c, why);
	if (rc != SH_OK)
		return rc;
	if (c.kind == CONNSTR_SERVICE) {
		*why = "a service connection string names no device (DeviceId is missing)";
		return SH_E_INVALID;
	}
	if (c.auth != CONNSTR_AUTH_KEY || c.shared_access_key_name.len) {
		*why = "only SharedAccessKey connection strings of the device or module itself are supported";
		return SH_E_INVALID;
	}
	if (!copy_span(c.host_name, out->host, sizeof out->host) ||
	    !copy_span(c.gateway_host_name, out->gateway, sizeof out->gateway) ||
	    !copy_span(c.device_id, out->device_id, sizeof out->device_id) ||
	    !copy_span(c.module_id, out->module_id, sizeof out->module_id) ||
	    !copy_span(c.shared_access_key, out->key, sizeof out->key)) {
		memset(out, 0, sizeof *out);
		*why = "a connection string field is too long";
		return SH_E_TOOLARGE;
	}
	return SH_OK;
}

/* Copy NUL-terminated `src` into buf[cap]; false when it does not fit. */
static bool copy_str(const char *src, char *buf, size_t cap)
{
	size_t n = strlen(src);
	if (n >= cap)
		return false;
	memcpy(buf, src, n + 1);
	return true;
}

sh_rc agent_ident_make(struct agent_ident *out, const char *host, const char *device,
		       const char *module, const char *key)
{
	memset(out, 0, sizeof *out);
	if (!host || !host[0] || !device || !device[0])
		return SH_E_INVALID;
	if (!copy_str(host, out->host, sizeof out->host) ||
	    !copy_str(device, out->device_id, sizeof out->device_id) ||
	    !copy_str(module ? module : "", out->module_id, sizeof out->module_id) ||
	    !copy_str(key ? key : "", out->key, sizeof out->key)) {
		memset(out, 0, sizeof *out);
		return SH_E_TOOLARGE;
	}
	return SH_OK;
}

sh_rc agent_service_from_cs(const char *cs, struct agent_service *out, const char **why)
{
	memset(out, 0, sizeof *out);
	const char *dummy;
	struct connstr c;
	if (!why)
		why = &dummy;
	sh_rc rc = parse_cs(cs, &c, why);
	if (rc != SH_OK)
		return rc;
	if (c.kind != CONNSTR_SERVICE) {
		*why = "not a service connection string (it names a device)";
		return SH_E_INVALID;
	}
	if (c.auth != CONNSTR_AUTH_KEY || !c.shared_access_key_name.len) {
		*why = "a service connection string needs SharedAccessKeyName and SharedAccessKey";
		return SH_E_INVALID;
	}
	if (!copy_span(c.host_name, out->host, sizeof out->host) ||
	    !copy_span(c.shared_access_key_name, out->policy, sizeof out->policy) ||
	    !copy_span(c.shared_access_key, out->key, sizeof out->key)) {
		memset(out, 0, sizeof *out);
		*why = "a connection string field is too long";
		return SH_E_TOOLARGE;
	}
	return SH_OK;
}

sh_rc agent_service_token(const struct agent_service *s, int64_t expiry_s, char *buf, size_t cap)
{
	size_t n = 0;
	if (!s->key[0])
		return SH_E_INVALID;
	return sas_build(s->host, s->key, s->policy, expiry_s, buf, cap, &n);
}

const char *agent_ident_dial_host(const struct agent_ident *id)
{
	return id->gateway[0] ? id->gateway : id->host;
}

/* snprintf into buf, SH_E_NOSPACE when truncated (buf then holds "" for safety). */
static sh_rc put(char *buf, size_t cap, int n)
{
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			buf[0] = '\0';
		return SH_E_NOSPACE;
	}
	return SH_OK;
}

sh_rc agent_ident_client_id(const struct agent_ident *id, char *buf, size_t cap)
{
	if (id->module_id[0])
		return put(buf, cap, snprintf(buf, cap, "%s/%s", id->device_id, id->module_id));
	return put(buf, cap, snprintf(buf, cap, "%s", id->device_id));
}

sh_rc agent_ident_username(const struct agent_ident *id, char *buf, size_t cap)
{
	if (id->module_id[0])
		return put(buf, cap, snprintf(buf, cap, "%s/%s/%s/?api-version=" AGENT_API_VERSION,
					      id->host, id->device_id, id->module_id));
	return put(buf, cap, snprintf(buf, cap, "%s/%s/?api-version=" AGENT_API_VERSION, id->host,
				      id->device_id));
}

sh_rc agent_ident_resource(const struct agent_ident *id, char *buf, size_t cap)
{
	if (id->module_id[0])
		return put(buf, cap, snprintf(buf, cap, "%s/devices/%s/modules/%s", id->host,
					      id->device_id, id->module_id));
	return put(buf, cap, snprintf(buf, cap, "%s/devices/%s", id->host, id->device_id));
}

sh_rc agent_ident_password(const struct agent_ident *id, int64_t expiry_s, char *buf, size_t cap)
{
	char res[2 * AGENT_HOST_MAX + 2 * AGENT_ID_MAX + 32];
	sh_rc rc = agent_ident_resource(id, res, sizeof res);
	if (rc != SH_OK)
		return rc;
	size_t n = 0;
	return sas_build(res, id->key, NULL, expiry_s, buf, cap, &n);
}

sh_rc agent_ident_telemetry_topic(const struct agent_ident *id, const char *bag, char *buf,
				  size_t cap)
{
	if (!bag)
		bag = "";
	if (id->module_id[0])
		return put(buf, cap, snprintf(buf, cap, "devices/%s/modules/%s/messages/events/%s",
					      id->device_id, id->module_id, bag));
	return put(buf, cap, snprintf(buf, cap, "devices/%s/messages/events/%s", id->device_id, bag));
}

sh_rc agent_topic_twin_get(unsigned rid, char *buf, size_t cap)
{
	return put(buf, cap, snprintf(buf, cap, "$iothub/twin/GET/?$rid=%u", rid));
}

sh_rc agent_topic_twin_report(unsigned rid, char *buf, size_t cap)
{
	return put(buf, cap, snprintf(buf, cap, "$iothub/twin/PATCH/properties/reported/?$rid=%u", rid));
}

sh_rc agent_topic_method_res(int status, const char *rid, size_t rid_len, char *buf, size_t cap)
{
	if (status < 0 || status > 999 || (rid_len && !rid))
		return SH_E_INVALID;
	for (size_t i = 0; i < rid_len; i++)
		if (rid[i] == '&' || rid[i] == '/' || rid[i] == '\0')
			return SH_E_INVALID;
	if (rid_len > (size_t)INT32_MAX)
		return SH_E_NOSPACE;
	return put(buf, cap, snprintf(buf, cap, "$iothub/methods/res/%d/?$rid=%.*s", status,
				      (int)rid_len, rid_len ? rid : ""));
}

sh_rc agent_ident_c2d_filter(const struct agent_ident *id, char *buf, size_t cap)
{
	return put(buf, cap, snprintf(buf, cap, "devices/%s/messages/devicebound/#", id->device_id));
}

/*
 * Parse 1..18 decimal digits at p[0..n) into *v. Anything else (empty, sign, other byte,
 * too long) is false; 18 digits keep the value far from int64 overflow.
 */
static bool parse_dec(const char *p, size_t n, int64_t *v)
{
	if (n == 0 || n > 18)
		return false;
	int64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		x = x * 10 + (p[i] - '0');
	}
	*v = x;
	return true;
}

/*
 * Read the query string q[0..n) ("a=1&b=2") for $rid and $version. A repeated key keeps the
 * last value; a $version that is not decimal makes the topic malformed, a $rid that is not
 * decimal is kept as -1 (it cannot be one of ours).
 */
static sh_rc parse_query(const char *q, size_t n, struct agent_topic *out)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && q[j] != '&')
			j++;
		const char *kv = q + i;
		size_t kl = j - i;
		const char *eq = memchr(kv, '=', kl);
		if (eq) {
			size_t name_len = (size_t)(eq - kv);
			const char *val = eq + 1;
			size_t vl = kl - name_len - 1;
			int64_t v;
			if (name_len == 4 && memcmp(kv, "$rid", 4) == 0) {
				out->rid = parse_dec(val, vl, &v) ? v : -1;
				out->rid_text = val;
				out->rid_len = vl;
			} else if (name_len == 8 && memcmp(kv, "$version", 8) == 0) {
				if (!parse_dec(val, vl, &v))
					return SH_E_MALFORMED;
				out->version = v;
			}
		}
		i = j + 1;
	}
	return SH_OK;
}

/*
 * The part of a method request topic after "$iothub/methods/POST/": "{name}/?$rid={rid}".
 * A name is 1..128 bytes without '/' or '?'; the $rid is required (without it the request
 * cannot be answered), any text without '&'.
 */
static sh_rc parse_method(const char *p, size_t rest, struct agent_topic *out)
{
	const char *slash = memchr(p, '/', rest);
	if (!slash)
		return SH_E_MALFORMED;
	size_t nl = (size_t)(slash - p);
	if (nl == 0 || nl > AGENT_ID_MAX || memchr(p, '?', nl))
		return SH_E_MALFORMED;
	size_t after = rest - nl - 1;
	if (after < 1 || slash[1] != '?')
		return SH_E_MALFORMED;
	out->kind = AGENT_TOPIC_METHOD;
	out->name = p;
	out->name_len = nl;
	sh_rc rc = parse_query(slash + 2, after - 1, out);
	if (rc != SH_OK || !out->rid_text || !out->rid_len)
		return SH_E_MALFORMED;
	return SH_OK;
}

sh_rc agent_topic_parse(const char *topic, size_t len, struct agent_topic *out)
{
	static const char res[] = "$iothub/twin/res/";
	static const char des[] = "$iothub/twin/PATCH/properties/desired/";
	static const char met[] = "$iothub/methods/POST/";
	static const char dev[] = "devices/";
	static const char c2d[] = "messages/devicebound/";
	memset(out, 0, sizeof *out);
	out->kind = AGENT_TOPIC_OTHER;
	out->status = -1;
	out->rid = -1;
	out->version = -1;
	if (len >= sizeof res - 1 && memcmp(topic, res, sizeof res - 1) == 0) {
		const char *p = topic + sizeof res - 1;
		size_t rest = len - (sizeof res - 1);
		const char *slash = memchr(p, '/', rest);
		size_t sl = slash ? (size_t)(slash - p) : rest;
		int64_t st;
		if (!parse_dec(p, sl, &st) || st > 999)
			return SH_E_MALFORMED;
		out->kind = AGENT_TOPIC_TWIN_RES;
		out->status = (int)st;
		if (slash && rest > sl + 1 && p[sl + 1] == '?')
			return parse_query(p + sl + 2, rest - sl - 2, out);
		return SH_OK;
	}
	if (len >= sizeof des - 1 && memcmp(topic, des, sizeof des - 1) == 0) {
		const char *p = topic + sizeof des - 1;
		size_t rest = len - (sizeof des - 1);
		out->kind = AGENT_TOPIC_TWIN_DESIRED;
		if (rest && p[0] == '?')
			return parse_query(p + 1, rest - 1, out);
		return SH_OK;
	}
	if (len >= sizeof met - 1 && memcmp(topic, met, sizeof met - 1) == 0)
		return parse_method(topic + sizeof met - 1, len - (sizeof met - 1), out);
	if (len >= sizeof dev - 1 && memcmp(topic, dev, sizeof dev - 1) == 0) {
		const char *p = topic + sizeof dev - 1;
		size_t rest = len - (sizeof dev - 1);
		const char *slash = memchr(p, '/', rest);
		size_t dl = slash ? (size_t)(slash - p) : rest;
		if (dl && slash && rest - dl - 1 >= sizeof c2d - 1 &&
		    memcmp(slash + 1, c2d, sizeof c2d - 1) == 0) {
			out->kind = AGENT_TOPIC_C2D;
			out->name = p;
			out->name_len = dl;
		}
	}
	return SH_OK;
}

int64_t agent_backoff_ms(unsigned attempt, int64_t base_ms, int64_t max_ms, uint32_t jitter)
{
	if (base_ms < 1)
		base_ms = 1;
	if (max_ms < base_ms)
		max_ms = base_ms;
	int64_t d = base_ms;
	for (unsigned i = 0; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	int64_t cut = (d / 4) * (int64_t)(jitter % 1024) / 1023;
	d -= cut;
	return d < 1 ? 1 : d;
}

int64_t agent_renew_at_s(int64_t issued_s, int64_t expiry_s)
{
	int64_t life = expiry_s - issued_s;
	if (life <= 2)
		return issued_s + 1;
	int64_t at = issued_s + life * 4 / 5;
	if (at <= issued_s)
		at = issued_s + 1;
	if (at >= expiry_s)
		at = expiry_s - 1;
	return at;
}
