/*
 * fuzz_hub_topic.c: libFuzzer target for core/hub_topic (and core/hub_username, which has no
 * target of its own). The input is classified as a PUBLISH topic (spans inside it, telemetry
 * reassembles to the input, $rid survives a round trip through the builders), checked as a
 * SUBSCRIBE filter for a device and a module, and parsed as a CONNECT username.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hub_topic.h"
#include "core/hub_username.h"

/* assert() vanishes under NDEBUG (RelWithDebInfo); invariants here must always run. */
#define CHECK(c)                                                                           \
	do {                                                                               \
		if (!(c)) {                                                                \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                           \
		}                                                                          \
	} while (0)

static int inside(struct sh_span s, const uint8_t *data, size_t size)
{
	return s.len == 0 || (s.ptr >= data && s.ptr + s.len <= data + size);
}

/* memmem without _GNU_SOURCE: does [h, h + hn) contain [n, n + nn)? */
static int contains(const void *h, size_t hn, const void *n, size_t nn)
{
	if (nn == 0)
		return 1;
	for (size_t i = 0; i + nn <= hn; i++)
		if (memcmp((const char *)h + i, n, nn) == 0)
			return 1;
	return 0;
}

/* Append n bytes to a bounded buffer; returns the new length (or cap + 1 on overflow). */
static size_t cat(char *buf, size_t len, size_t cap, const void *p, size_t n)
{
	if (len > cap || n > cap - len)
		return cap + 1;
	memcpy(buf + len, p, n);
	return len + n;
}

static void check_publish(const uint8_t *data, size_t size)
{
	struct hub_topic t;
	sh_rc rc = hub_topic_parse_publish((const char *)data, size, &t);
	CHECK(rc == SH_OK || rc == SH_E_NOTFOUND || rc == SH_E_MALFORMED);
	CHECK(inside(t.device_id, data, size) && inside(t.module_id, data, size));
	CHECK(inside(t.props, data, size) && inside(t.rid, data, size));
	if (rc != SH_OK) {
		CHECK(t.device_id.len + t.module_id.len + t.props.len + t.rid.len == 0 && !t.has_rid);
		return;
	}
	static char buf[1 << 17];
	size_t n = 0;
	switch (t.kind) {
	case HUB_TOPIC_TELEMETRY:
		/* prefix + ids + bag (+ the one '/' stripped) is exactly the input */
		CHECK(t.device_id.len > 0 && !t.has_rid && t.status == 0);
		n = cat(buf, n, sizeof buf, "devices/", 8);
		n = cat(buf, n, sizeof buf, t.device_id.ptr, t.device_id.len);
		if (t.module_id.len) {
			n = cat(buf, n, sizeof buf, "/modules/", 9);
			n = cat(buf, n, sizeof buf, t.module_id.ptr, t.module_id.len);
		}
		n = cat(buf, n, sizeof buf, "/messages/events/", 17);
		n = cat(buf, n, sizeof buf, t.props.ptr, t.props.len);
		if (n == size - 1)
			n = cat(buf, n, sizeof buf, "/", 1);
		CHECK(n > sizeof buf || (n == size && memcmp(buf, data, size) == 0));
		break;
	case HUB_TOPIC_TWIN_GET:
		CHECK(t.has_rid && t.rid.len > 0);
		/* fall through */
	case HUB_TOPIC_TWIN_PATCH_REPORTED:
	case HUB_TOPIC_METHOD_RESPONSE: {
		CHECK(t.device_id.len + t.module_id.len + t.props.len == 0);
		CHECK(t.kind != HUB_TOPIC_METHOD_RESPONSE || t.has_rid);
		CHECK(t.kind == HUB_TOPIC_METHOD_RESPONSE || t.status == 0);
		CHECK(t.has_rid || t.rid.len == 0);
		/* the answer echoes the rid verbatim, and a GET carrying it parses back to it */
		sh_rc b = hub_topic_build_twin_res(t.status, t.rid, 3, buf, sizeof buf, &n);
		CHECK(b == SH_OK || (b == SH_E_NOSPACE && n >= sizeof buf));
		if (b == SH_OK)
			CHECK(contains(buf, n, t.rid.ptr, t.rid.len));
		if (t.has_rid && t.rid.len > 0) {
			n = cat(buf, 0, sizeof buf, "$iothub/twin/GET/?$rid=", 23);
			n = cat(buf, n, sizeof buf, t.rid.ptr, t.rid.len);
			if (n <= sizeof buf) {
				struct hub_topic g;
				CHECK(hub_topic_parse_publish(buf, n, &g) == SH_OK);
				CHECK(g.kind == HUB_TOPIC_TWIN_GET && sh_span_eq(g.rid, t.rid));
			}
		}
		break;
	}
	default:
		CHECK(0);
	}
}

static void check_subscribe(const uint8_t *data, size_t size)
{
	/* every filter accepted for dev1 (device) or dev1/mod1 (module), and its kind */
	static const struct {
		const char *filter;
		enum hub_sub_kind kind;
		int device, module;
	} known[] = {
		{ "devices/dev1/messages/devicebound/#", HUB_SUB_C2D, 1, 0 },
		{ "devices/+/messages/devicebound/#", HUB_SUB_C2D, 1, 0 },
		{ "$iothub/twin/res/#", HUB_SUB_TWIN_RES, 1, 1 },
		{ "$iothub/twin/PATCH/properties/desired/#", HUB_SUB_TWIN_DESIRED, 1, 1 },
		{ "$iothub/methods/POST/#", HUB_SUB_METHODS, 1, 1 },
		{ "devices/dev1/modules/mod1/#", HUB_SUB_MODULE_INPUTS, 0, 1 },
		{ "devices/dev1/modules/mod1/inputs/#", HUB_SUB_MODULE_INPUTS, 0, 1 },
	};
	static const char *const mods[] = { NULL, "mod1" };
	for (size_t m = 0; m < 2; m++) {
		enum hub_sub_kind kind = (enum hub_sub_kind)77;
		sh_rc rc = hub_topic_check_subscribe((const char *)data, size, "dev1", mods[m], &kind);
		CHECK(rc == SH_OK || rc == SH_E_NOTFOUND);
		int expect = 0;
		enum hub_sub_kind want = (enum hub_sub_kind)77;
		for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
			if (strlen(known[k].filter) == size && memcmp(known[k].filter, data, size) == 0 &&
			    (m ? known[k].module : known[k].device)) {
				expect = 1;
				want = known[k].kind;
			}
		}
		CHECK((rc == SH_OK) == expect);
		CHECK(kind == want);
	}
}

static void check_username(const uint8_t *data, size_t size)
{
	struct hub_username u;
	sh_rc rc = hub_username_parse((const char *)data, size, &u);
	CHECK(rc == SH_OK || rc == SH_E_MALFORMED);
	CHECK(inside(u.host, data, size) && inside(u.device_id, data, size));
	CHECK(inside(u.module_id, data, size) && inside(u.api_version, data, size));
	CHECK(inside(u.client_type, data, size) && inside(u.model_id, data, size));
	if (rc != SH_OK) {
		CHECK(u.host.len + u.device_id.len + u.api_version.len == 0 && !u.has_api_version);
		return;
	}
	CHECK(u.host.len > 0 && u.device_id.len > 0);
	CHECK(memchr(u.host.ptr, '/', u.host.len) == NULL);
	CHECK(memchr(u.device_id.ptr, '/', u.device_id.len) == NULL);
	CHECK(u.host.ptr == data && u.device_id.ptr == data + u.host.len + 1);
	CHECK(u.has_api_version == (u.api_version.len > 0));
	CHECK(contains(data, size, "/?", 2));
}

/* The input (up to its first NUL) as a method name and request id: build, answer, parse. */
static void check_method_build(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	static char req[1 << 17], res[(1 << 17) + 32];
	size_t n = 0;
	sh_rc rc = hub_topic_build_method(s, s, req, sizeof req, &n);
	CHECK(rc == SH_OK || rc == SH_E_INVALID || rc == SH_E_NOSPACE);
	if (rc == SH_OK) {
		CHECK(n == strlen(req));
		int len = snprintf(res, sizeof res, "$iothub/methods/res/-7/?$rid=%s", s);
		struct hub_topic t;
		rc = hub_topic_parse_publish(res, (size_t)len, &t);
		if (strstr(s, "&$rid=")) { /* a second $rid: ambiguous, refused */
			CHECK(rc == SH_E_MALFORMED);
			goto c2d;
		}
		CHECK(rc == SH_OK);
		CHECK(t.kind == HUB_TOPIC_METHOD_RESPONSE && t.status == -7);
		/* the rid comes back up to its first '&' (a query separator) */
		size_t amp = strcspn(s, "&");
		CHECK(t.rid.len == amp && memcmp(t.rid.ptr, s, amp) == 0);
	}
c2d:
	rc = hub_topic_build_c2d(s, NULL, req, sizeof req, &n);
	CHECK(rc == SH_OK || rc == SH_E_INVALID || rc == SH_E_NOSPACE);
	if (rc == SH_OK) {
		struct hub_topic t;
		CHECK(hub_topic_parse_publish(req, n, &t) == SH_E_NOTFOUND);
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_publish(data, size);
	check_subscribe(data, size);
	check_username(data, size);
	check_method_build(data, size);
	return 0;
}
