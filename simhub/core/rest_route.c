/*
 * rest_route.c: the route table of the REST API. A path is split into '/'-separated segments;
 * literal segments must match (exactly, or in any ASCII case when the pattern marks them with
 * '~'), `{id}` segments capture (non-empty). The table is small, so a linear walk is the whole
 * algorithm. Several rows may share a path with different methods.
 */
#include <string.h>

#include "core/rest_route.h"

enum rest_method rest_method_parse(const char *name)
{
	static const char *const names[] = {"GET", "PUT", "PATCH", "POST", "DELETE"};
	for (int i = 0; i < 5; i++)
		if (strcmp(name, names[i]) == 0)
			return (enum rest_method)i;
	return REST_OTHER;
}

#define M(x) (1u << (x))

static const struct {
	const char *pattern;     /* segments; "*d" captures the device, "*m" the module, "*l" a
				  * lock token; "~x" is the literal x in any case */
	enum rest_route_id id;
	unsigned methods;
} routes[] = {
	{"devices", ROUTE_DEVICE_LIST, M(REST_GET)},
	{"devices", ROUTE_BULK, M(REST_POST)},
	{"devices/query", ROUTE_QUERY, M(REST_POST)},
	{"devices/*d", ROUTE_DEVICE, M(REST_GET) | M(REST_PUT) | M(REST_DELETE)},
	{"devices/*d/modules", ROUTE_MODULE_LIST, M(REST_GET)},
	{"devices/*d/modules/*m", ROUTE_MODULE, M(REST_GET) | M(REST_PUT) | M(REST_DELETE)},
	{"twins/*d", ROUTE_TWIN, M(REST_GET) | M(REST_PATCH) | M(REST_PUT)},
	{"twins/*d/modules/*m", ROUTE_TWIN, M(REST_GET) | M(REST_PATCH) | M(REST_PUT)},
	{"twins/*d/methods", ROUTE_METHOD, M(REST_POST)},
	{"twins/*d/modules/*m/methods", ROUTE_METHOD, M(REST_POST)},
	{"devices/*d/messages/~deviceBound", ROUTE_C2D_SEND, M(REST_POST)},
	{"devices/*d/messages/~deviceBound", ROUTE_C2D_RECEIVE, M(REST_GET)},
	{"devices/*d/messages/~deviceBound/*l", ROUTE_C2D_SETTLE, M(REST_DELETE)},
	{"devices/*d/messages/~deviceBound/*l/abandon", ROUTE_C2D_ABANDON, M(REST_POST)},
	{"devices/*d/messages/events", ROUTE_D2C_SEND, M(REST_POST)},
	{"devices/*d/modules/*m/messages/events", ROUTE_D2C_SEND, M(REST_POST)},
	{"statistics/devices", ROUTE_STATS_DEVICES, M(REST_GET)},
	{"statistics/service", ROUTE_STATS_SERVICE, M(REST_GET)},
	{"simhub/v1/messages", ROUTE_SIMHUB_MESSAGES, M(REST_GET)},
	{"simhub/v1/connections", ROUTE_SIMHUB_CONNECTIONS, M(REST_GET)},
	{"simhub/v1/methods", ROUTE_SIMHUB_METHODS, M(REST_GET)},
	{"simhub/v1/health", ROUTE_SIMHUB_HEALTH, M(REST_GET)},
	{"simhub/v1/events", ROUTE_SIMHUB_EVENTS, M(REST_GET)},
	{"simhub/v1/reset", ROUTE_SIMHUB_RESET, M(REST_POST)},
	{"simhub/v1/c2d/feedback", ROUTE_SIMHUB_FEEDBACK, M(REST_GET)},
	{"simhub/v1/security/messages", ROUTE_SIMHUB_SEC_MESSAGES, M(REST_GET)},
	{"simhub/v1/security/events", ROUTE_SIMHUB_SEC_EVENTS, M(REST_GET)},
	{"simhub/v1/security/alerts", ROUTE_SIMHUB_SEC_ALERTS, M(REST_GET)},
	{"simhub/v1/security/devices/*d/summary", ROUTE_SIMHUB_SEC_SUMMARY, M(REST_GET)},
	{"simhub/v1/security/devices/*d/config", ROUTE_SIMHUB_SEC_CONFIG, M(REST_GET)},
	{"simhub/v1/security/devices/*d/enable", ROUTE_SIMHUB_SEC_ENABLE, M(REST_POST)},
};

/* Next segment of s[*pos..len) (pos points after a '/'); false at the end. */
static bool next_segment(const char *s, size_t len, size_t *pos, struct sh_span *seg)
{
	if (*pos >= len)
		return false;
	const char *start = s + *pos;
	const char *slash = memchr(start, '/', len - *pos);
	size_t n = slash ? (size_t)(slash - start) : len - *pos;
	*seg = sh_span_make(start, n);
	*pos += n + (slash ? 1 : 0);
	return true;
}

/* ASCII case-insensitive equality of two spans. */
static bool span_eq_nocase(struct sh_span a, struct sh_span b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++) {
		uint8_t x = a.ptr[i], y = b.ptr[i];
		if (x >= 'A' && x <= 'Z')
			x = (uint8_t)(x + ('a' - 'A'));
		if (y >= 'A' && y <= 'Z')
			y = (uint8_t)(y + ('a' - 'A'));
		if (x != y)
			return false;
	}
	return true;
}

/* Does the path match the pattern? Fills captures into *out. */
static bool match(const char *pattern, const char *path, size_t len, struct rest_route *out)
{
	size_t ppos = 0, plen = strlen(pattern), spos = 0;
	struct sh_span pseg, sseg;
	out->device_id = out->module_id = out->lock_token = sh_span_make(NULL, 0);
	for (;;) {
		bool more_p = next_segment(pattern, plen, &ppos, &pseg);
		bool more_s = next_segment(path, len, &spos, &sseg);
		if (!more_p || !more_s)
			return more_p == more_s;
		if (sseg.len == 0)
			return false;
		if (pseg.len == 2 && pseg.ptr[0] == '*') {
			if (pseg.ptr[1] == 'd')
				out->device_id = sseg;
			else if (pseg.ptr[1] == 'm')
				out->module_id = sseg;
			else
				out->lock_token = sseg;
		} else if (pseg.ptr[0] == '~') {
			if (!span_eq_nocase(sh_span_make(pseg.ptr + 1, pseg.len - 1), sseg))
				return false;
		} else if (!sh_span_eq(pseg, sseg)) {
			return false;
		}
	}
}

bool rest_route_is_device_api(enum rest_route_id id)
{
	return id == ROUTE_D2C_SEND || id == ROUTE_C2D_RECEIVE || id == ROUTE_C2D_SETTLE ||
	       id == ROUTE_C2D_ABANDON;
}

bool rest_route_is_simhub_api(enum rest_route_id id)
{
	return id == ROUTE_SIMHUB_MESSAGES || id == ROUTE_SIMHUB_CONNECTIONS ||
	       id == ROUTE_SIMHUB_METHODS || id == ROUTE_SIMHUB_HEALTH ||
	       id == ROUTE_SIMHUB_EVENTS || id == ROUTE_SIMHUB_RESET || id == ROUTE_SIMHUB_FEEDBACK ||
	       rest_route_is_security_api(id);
}

bool rest_route_is_security_api(enum rest_route_id id)
{
	return id == ROUTE_SIMHUB_SEC_MESSAGES || id == ROUTE_SIMHUB_SEC_EVENTS ||
	       id == ROUTE_SIMHUB_SEC_ALERTS || id == ROUTE_SIMHUB_SEC_SUMMARY ||
	       id == ROUTE_SIMHUB_SEC_CONFIG || id == ROUTE_SIMHUB_SEC_ENABLE;
}

sh_rc rest_route_match(enum rest_method method, const char *path, size_t len, struct rest_route *out)
{
	if (len == 0 || path[0] != '/')
		return SH_E_NOTFOUND;
	path++;
	len--;
	if (len > 0 && path[len - 1] == '/')
		len--;
	if (len > 0 && path[len - 1] == '/') /* only one trailing '/' is tolerated */
		return SH_E_NOTFOUND;
	bool path_known = false;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		struct rest_route r;
		if (!match(routes[i].pattern, path, len, &r))
			continue;
		path_known = true;
		if (method != REST_OTHER && (routes[i].methods & M(method))) {
			r.id = routes[i].id;
			*out = r;
			return SH_OK;
		}
	}
	return path_known ? SH_E_STATE : SH_E_NOTFOUND;
}
