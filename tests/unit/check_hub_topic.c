/*
 * check_hub_topic.c: unit tests of core/hub_topic: PUBLISH topic classification (every shape
 * the SDKs send, and bad input), SUBSCRIBE filters per identity kind, and the builders (exact
 * text, buffer sizes, round trips with the parsers). Topics marked "trace" are copied from
 * /work/shared/traces (Node SDK 1.18.4, C clients); the others from iothub-protocol.md §3.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hub_topic.h"
#include "core/msg_props.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static bool span_is(struct sh_span s, const char *lit)
{
	return sh_span_eq_str(s, lit);
}

/* A span lies inside [base, base + len) (an empty span may point anywhere). */
static bool inside(struct sh_span s, const char *base, size_t len)
{
	return s.len == 0 ||
	       ((const char *)s.ptr >= base && (const char *)s.ptr + s.len <= base + len);
}

static sh_rc parse(const char *topic, struct hub_topic *t)
{
	return hub_topic_parse_publish(topic, strlen(topic), t);
}

/* ---- hub_topic_parse_publish: telemetry ---- */

static const struct {
	const char *topic;
	const char *device, *module, *bag;
} telemetry[] = {
	/* trace: Node, device, system + application properties, escapes upper case */
	{ "devices/dev1/messages/events/%24.mid=msg-0001&%24.cid=corr-1&%24.ct=application%2Fjson&"
	  "%24.ce=utf-8&alert=high&with%20space%26amp%3Deq%2Fslash=v%201%262%3D3%2F%C3%BC",
	  "dev1", "",
	  "%24.mid=msg-0001&%24.cid=corr-1&%24.ct=application%2Fjson&%24.ce=utf-8&alert=high&"
	  "with%20space%26amp%3Deq%2Fslash=v%201%262%3D3%2F%C3%BC" },
	/* trace: Node, no properties */
	{ "devices/dev1/messages/events/", "dev1", "", "" },
	/* trace: Node, to/uid/exp/dt-subject and an unknown system key */
	{ "devices/dev1/messages/events/%24.uid=user-1&%24.to=%2Fdevices%2Fdev1%2Fmessages%2Fevents&"
	  "%24.exp=2030-01-01T00%3A00%3A00.000Z&%24.sub=thermostat1&%24.weird=x",
	  "dev1", "",
	  "%24.uid=user-1&%24.to=%2Fdevices%2Fdev1%2Fmessages%2Fevents&"
	  "%24.exp=2030-01-01T00%3A00%3A00.000Z&%24.sub=thermostat1&%24.weird=x" },
	/* trace: Node security message */
	{ "devices/dev1/messages/events/%24.ct=application%2Fjson&%24.ce=utf-8&"
	  "%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1",
	  "dev1", "",
	  "%24.ct=application%2Fjson&%24.ce=utf-8&%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1" },
	/* trace: Node module sendOutputEvent: trailing '/' after the bag */
	{ "devices/dev1/modules/mod1/messages/events/%24.on=out1&k=v/", "dev1", "mod1",
	  "%24.on=out1&k=v" },
	/* trace: Node module, no properties */
	{ "devices/dev1/modules/mod1/messages/events/", "dev1", "mod1", "" },
	/* trace: C SDK, lower-case escapes */
	{ "devices/d1/messages/events/%24.ct=application%2fjson&%24.ce=utf8", "d1", "",
	  "%24.ct=application%2fjson&%24.ce=utf8" },
	/* trace: security agent for C as a module, lower-case escapes */
	{ "devices/d1/modules/azureiotsecurity/messages/events/%24.ce=application%2fjson&"
	  "%24.ifid=urn%3aazureiot%3aSecurity%3aSecurityAgent%3a1",
	  "d1", "azureiotsecurity",
	  "%24.ce=application%2fjson&%24.ifid=urn%3aazureiot%3aSecurity%3aSecurityAgent%3a1" },
	/* trace: Embedded C PnP component */
	{ "devices/d1/messages/events/%24.sub=thermostat1", "d1", "", "%24.sub=thermostat1" },
	/* §3.2: C SDK without url encoding: raw '/' inside values */
	{ "devices/d1/messages/events/alert=true&%24.cid=c1&%24.mid=m1&%24.ct=application/json&%24.ce=utf-8",
	  "d1", "", "alert=true&%24.cid=c1&%24.mid=m1&%24.ct=application/json&%24.ce=utf-8" },
	/* §3.2: C# always ends a non-empty bag with '/' */
	{ "devices/d1/messages/events/%24.mid=m1&alert=true/", "d1", "", "%24.mid=m1&alert=true" },
	/* §3.2: docs example with a raw '$' */
	{ "devices/d1/messages/events/$.ct=application%2Fjson%3Bcharset%3Dutf-8", "d1", "",
	  "$.ct=application%2Fjson%3Bcharset%3Dutf-8" },
	/* only ONE trailing '/' is stripped */
	{ "devices/d1/messages/events/a=b//", "d1", "", "a=b/" },
	{ "devices/d1/messages/events//", "d1", "", "" },
	{ "devices/d1/messages/events///", "d1", "", "/" },
	/* ids are raw: '%' is a legal id character, not an escape (§1.1) */
	{ "devices/a%b/messages/events/", "a%b", "", "" },
	{ "devices/a%25b/modules/m%2Fx/messages/events/", "a%25b", "m%2Fx", "" },
	/* every special character §1.1 allows, in device and module ids */
	{ "devices/-.%_*?!(),:=@$'/modules/-.%_*?!(),:=@$'/messages/events/k=v",
	  "-.%_*?!(),:=@$'", "-.%_*?!(),:=@$'", "k=v" },
	{ "devices/a?b/messages/events/?x=1", "a?b", "", "?x=1" },
	/* ids named like path words are still ids (parsed by segment) */
	{ "devices/modules/messages/events/", "modules", "", "" },
	{ "devices/messages/modules/messages/messages/events/", "messages", "messages", "" },
	/* another device's telemetry still parses: identity is the session's business */
	{ "devices/someone-else/messages/events/a=1", "someone-else", "", "a=1" },
};

START_TEST(hub_topic_parse_publish_telemetry_variants_ok)
{
	const char *topic = telemetry[_i].topic;
	struct hub_topic t;
	ck_assert_int_eq(parse(topic, &t), SH_OK);
	ck_assert_int_eq(t.kind, HUB_TOPIC_TELEMETRY);
	ck_assert_msg(span_is(t.device_id, telemetry[_i].device), "device of %s", topic);
	ck_assert_msg(span_is(t.module_id, telemetry[_i].module), "module of %s", topic);
	ck_assert_msg(span_is(t.props, telemetry[_i].bag), "bag of %s", topic);
	ck_assert(inside(t.device_id, topic, strlen(topic)));
	ck_assert(inside(t.module_id, topic, strlen(topic)));
	ck_assert(inside(t.props, topic, strlen(topic)));
	ck_assert(!t.has_rid);
	ck_assert_uint_eq(t.rid.len, 0);
	ck_assert_int_eq(t.status, 0);
}
END_TEST

START_TEST(hub_topic_parse_publish_telemetry_spans_point_into_topic)
{
	const char *topic = "devices/dev1/modules/mod1/messages/events/a=1";
	struct hub_topic t;
	ck_assert_int_eq(parse(topic, &t), SH_OK);
	ck_assert_ptr_eq(t.device_id.ptr, topic + 8);
	ck_assert_ptr_eq(t.module_id.ptr, topic + 21);
	ck_assert_ptr_eq(t.props.ptr, topic + 42);
}
END_TEST

START_TEST(hub_topic_parse_publish_len_limits_topic)
{
	/* Not NUL-terminated where len ends: the parser must stop at len. */
	const char *text = "devices/d1/messages/events/a=1XXXX";
	struct hub_topic t;
	ck_assert_int_eq(hub_topic_parse_publish(text, strlen(text) - 4, &t), SH_OK);
	ck_assert(span_is(t.props, "a=1"));
	ck_assert_int_eq(hub_topic_parse_publish("$iothub/twin/GET/?$rid=12", 24, &t), SH_OK);
	ck_assert(span_is(t.rid, "1"));
}
END_TEST

START_TEST(hub_topic_parse_publish_large_bag_ok)
{
	size_t bag = 300000;
	const char *prefix = "devices/d/messages/events/";
	size_t plen = strlen(prefix);
	char *topic = malloc(plen + bag + 2);
	ck_assert_ptr_nonnull(topic);
	memcpy(topic, prefix, plen);
	memset(topic + plen, 'x', bag);
	topic[plen + bag] = '/';
	struct hub_topic t;
	ck_assert_int_eq(hub_topic_parse_publish(topic, plen + bag + 1, &t), SH_OK);
	ck_assert_uint_eq(t.props.len, bag);
	free(topic);
}
END_TEST

/* ---- hub_topic_parse_publish: twin and methods ---- */

static const struct {
	const char *topic;
	enum hub_topic_kind kind;
	const char *rid; /* NULL: no $rid */
	int status;
} twin_method[] = {
	/* trace: Node */
	{ "$iothub/twin/GET/?$rid=6f4b0949-7488-45cf-beca-99ebc02bd51f", HUB_TOPIC_TWIN_GET,
	  "6f4b0949-7488-45cf-beca-99ebc02bd51f", 0 },
	{ "$iothub/twin/PATCH/properties/reported/?$rid=cdaf0b88-4008-4972-807f-414d38351fdd",
	  HUB_TOPIC_TWIN_PATCH_REPORTED, "cdaf0b88-4008-4972-807f-414d38351fdd", 0 },
	{ "$iothub/methods/res/200/?$rid=42", HUB_TOPIC_METHOD_RESPONSE, "42", 200 },
	/* C SDK: decimal counters; Embedded C: caller text */
	{ "$iothub/twin/GET/?$rid=1", HUB_TOPIC_TWIN_GET, "1", 0 },
	{ "$iothub/twin/GET/?$rid=get_twin", HUB_TOPIC_TWIN_GET, "get_twin", 0 },
	{ "$iothub/twin/PATCH/properties/reported/?$rid=reported_prop", HUB_TOPIC_TWIN_PATCH_REPORTED,
	  "reported_prop", 0 },
	/* $rid verbatim: '/', '?', '=', '%', '$' kept */
	{ "$iothub/twin/GET/?$rid=a/b?c=d%2F$", HUB_TOPIC_TWIN_GET, "a/b?c=d%2F$", 0 },
	/* other parameters, before or after, ignored */
	{ "$iothub/twin/PATCH/properties/reported/?foo=1&$rid=7&$version=3",
	  HUB_TOPIC_TWIN_PATCH_REPORTED, "7", 0 },
	{ "$iothub/twin/GET/?$rid=9&", HUB_TOPIC_TWIN_GET, "9", 0 },
	{ "$iothub/twin/GET/?&&$rid=9", HUB_TOPIC_TWIN_GET, "9", 0 },
	/* a name that merely starts like $rid is another parameter */
	{ "$iothub/twin/GET/?$ridx=1&$rid=2", HUB_TOPIC_TWIN_GET, "2", 0 },
	/* reported patch without $rid: accepted (IoT Edge behaviour) */
	{ "$iothub/twin/PATCH/properties/reported/", HUB_TOPIC_TWIN_PATCH_REPORTED, NULL, 0 },
	{ "$iothub/twin/PATCH/properties/reported/?", HUB_TOPIC_TWIN_PATCH_REPORTED, NULL, 0 },
	{ "$iothub/twin/PATCH/properties/reported/?$version=1", HUB_TOPIC_TWIN_PATCH_REPORTED, NULL, 0 },
	{ "$iothub/twin/PATCH/properties/reported/?$rid=", HUB_TOPIC_TWIN_PATCH_REPORTED, "", 0 },
	/* method status: any signed int the device picks */
	{ "$iothub/methods/res/-1/?$rid=x", HUB_TOPIC_METHOD_RESPONSE, "x", -1 },
	{ "$iothub/methods/res/0500/?$rid=x", HUB_TOPIC_METHOD_RESPONSE, "x", 500 },
	{ "$iothub/methods/res/0/?$rid=x", HUB_TOPIC_METHOD_RESPONSE, "x", 0 },
	{ "$iothub/methods/res/2147483647/?$rid=x", HUB_TOPIC_METHOD_RESPONSE, "x", INT_MAX },
	{ "$iothub/methods/res/-2147483648/?$rid=x", HUB_TOPIC_METHOD_RESPONSE, "x", INT_MIN },
	{ "$iothub/methods/res/00000000000000000404/?$rid=x", HUB_TOPIC_METHOD_RESPONSE, "x", 404 },
	/* method answer with an empty $rid: accepted, matches no request */
	{ "$iothub/methods/res/200/?$rid=", HUB_TOPIC_METHOD_RESPONSE, "", 200 },
};

START_TEST(hub_topic_parse_publish_twin_and_method_ok)
{
	const char *topic = twin_method[_i].topic;
	struct hub_topic t;
	ck_assert_msg(parse(topic, &t) == SH_OK, "%s", topic);
	ck_assert_int_eq(t.kind, twin_method[_i].kind);
	if (twin_method[_i].rid) {
		ck_assert(t.has_rid);
		ck_assert_msg(span_is(t.rid, twin_method[_i].rid), "rid of %s", topic);
		ck_assert(inside(t.rid, topic, strlen(topic)));
	} else {
		ck_assert(!t.has_rid);
		ck_assert_uint_eq(t.rid.len, 0);
	}
	ck_assert_int_eq(t.status, twin_method[_i].status);
	ck_assert_uint_eq(t.device_id.len + t.module_id.len + t.props.len, 0);
}
END_TEST

/* ---- hub_topic_parse_publish: refusals ---- */

static const struct {
	const char *topic;
	sh_rc rc;
} refused[] = {
	/* recognised prefix, broken rest */
	{ "$iothub/methods/res/abc/?$rid=1", SH_E_MALFORMED },
	{ "$iothub/methods/res//?$rid=1", SH_E_MALFORMED },
	{ "$iothub/methods/res/-/?$rid=1", SH_E_MALFORMED },
	{ "$iothub/methods/res/2x/?$rid=1", SH_E_MALFORMED },
	{ "$iothub/methods/res/ 200/?$rid=1", SH_E_MALFORMED },
	{ "$iothub/methods/res/2147483648/?$rid=1", SH_E_MALFORMED },
	{ "$iothub/methods/res/-2147483649/?$rid=1", SH_E_MALFORMED },
	{ "$iothub/methods/res/99999999999999999999/?$rid=1", SH_E_MALFORMED },
	{ "$iothub/methods/res/200", SH_E_MALFORMED },
	{ "$iothub/methods/res/200?$rid=1", SH_E_MALFORMED },
	{ "$iothub/methods/res/200/", SH_E_MALFORMED },
	{ "$iothub/methods/res/200/?", SH_E_MALFORMED },
	{ "$iothub/methods/res/200/?rid=1", SH_E_MALFORMED },
	{ "$iothub/methods/res/200/x/?$rid=1", SH_E_MALFORMED },
	{ "$iothub/methods/res/", SH_E_MALFORMED },
	{ "$iothub/twin/GET/", SH_E_MALFORMED },
	{ "$iothub/twin/GET/?", SH_E_MALFORMED },
	{ "$iothub/twin/GET/?$rid=", SH_E_MALFORMED },
	{ "$iothub/twin/GET/?$rid", SH_E_MALFORMED },
	{ "$iothub/twin/GET/?foo=1", SH_E_MALFORMED },
	{ "$iothub/twin/GET/x/?$rid=1", SH_E_MALFORMED },
	{ "$iothub/twin/GET/x", SH_E_MALFORMED },
	{ "$iothub/twin/GET/?$rid=1&$rid=2", SH_E_MALFORMED },
	{ "$iothub/twin/PATCH/properties/reported/?$rid=1&$rid=1", SH_E_MALFORMED },
	{ "$iothub/twin/PATCH/properties/reported/x/?$rid=1", SH_E_MALFORMED },
	{ "devices//messages/events/", SH_E_MALFORMED },
	{ "devices/d/modules//messages/events/", SH_E_MALFORMED },
	{ "devices//modules/m/messages/events/", SH_E_MALFORMED },
	/* not topic names */
	{ "", SH_E_MALFORMED },
	{ "devices/d/messages/events/#", SH_E_MALFORMED },
	{ "devices/+/messages/events/", SH_E_MALFORMED },
	{ "devices/d/messages/events/a=1+2", SH_E_MALFORMED },
	{ "$iothub/twin/res/#", SH_E_MALFORMED },
	{ "#", SH_E_MALFORMED },
	{ "+", SH_E_MALFORMED },
	/* well-formed, but not device -> hub */
	{ "d", SH_E_NOTFOUND },
	{ "/", SH_E_NOTFOUND },
	{ "hello/world", SH_E_NOTFOUND },
	{ "devices/", SH_E_NOTFOUND },
	{ "devices/d", SH_E_NOTFOUND },
	{ "devices/d/", SH_E_NOTFOUND },
	{ "devices/d/messages/events", SH_E_NOTFOUND },
	{ "devices/d/messages/event/", SH_E_NOTFOUND },
	{ "devices/d/messages/devicebound/", SH_E_NOTFOUND },
	{ "devices/d/messages/devicebound/%24.mid=1", SH_E_NOTFOUND },
	{ "devices/d/modules/m", SH_E_NOTFOUND },
	{ "devices/d/modules/m/messages/events", SH_E_NOTFOUND },
	{ "devices/d/modules/m/inputs/in1/%24.mid=in-1", SH_E_NOTFOUND },
	{ "devices/d/modules/m/x/messages/events/", SH_E_NOTFOUND },
	{ "Devices/d/messages/events/", SH_E_NOTFOUND },
	{ "/devices/d/messages/events/", SH_E_NOTFOUND },
	{ "devices/d/Messages/Events/", SH_E_NOTFOUND },
	{ "$iothub/", SH_E_NOTFOUND },
	{ "$iothub", SH_E_NOTFOUND },
	{ "$iothub/twin/GET", SH_E_NOTFOUND },
	{ "$iothub/twin/GET?$rid=1", SH_E_NOTFOUND },
	{ "$iothub/twin/get/?$rid=1", SH_E_NOTFOUND },
	{ "$iothub/twin/PATCH/properties/reported", SH_E_NOTFOUND },
	{ "$iothub/twin/res/200/?$rid=1", SH_E_NOTFOUND },
	{ "$iothub/twin/PATCH/properties/desired/?$version=2", SH_E_NOTFOUND },
	{ "$iothub/methods/POST/reboot/?$rid=42", SH_E_NOTFOUND },
	{ "$iothub/methods/res", SH_E_NOTFOUND },
	{ "$iothub/credentials/POST/issueCertificate/?$rid=1", SH_E_NOTFOUND },
	{ "$dps/registrations/PUT/iotdps-register/?$rid=1", SH_E_NOTFOUND },
	{ "$IOTHUB/twin/GET/?$rid=1", SH_E_NOTFOUND },
};

START_TEST(hub_topic_parse_publish_bad_input_refused)
{
	struct hub_topic t;
	memset(&t, 0x5a, sizeof t);
	sh_rc rc = parse(refused[_i].topic, &t);
	ck_assert_msg(rc == refused[_i].rc, "'%s': got %d want %d", refused[_i].topic, rc,
		      refused[_i].rc);
	/* *out is zeroed on failure */
	ck_assert(!t.has_rid);
	ck_assert_uint_eq(t.rid.len + t.device_id.len + t.module_id.len + t.props.len, 0);
	ck_assert_int_eq(t.status, 0);
}
END_TEST

START_TEST(hub_topic_parse_publish_embedded_nul_malformed)
{
	static const char topic[] = "$iothub/twin/GET/?$rid=a\0b";
	struct hub_topic t;
	ck_assert_int_eq(hub_topic_parse_publish(topic, sizeof topic - 1, &t), SH_E_MALFORMED);
	static const char tel[] = "devices/d\0/messages/events/";
	ck_assert_int_eq(hub_topic_parse_publish(tel, sizeof tel - 1, &t), SH_E_MALFORMED);
}
END_TEST

START_TEST(hub_topic_parse_publish_null_topic_malformed)
{
	struct hub_topic t;
	ck_assert_int_eq(hub_topic_parse_publish(NULL, 0, &t), SH_E_MALFORMED);
}
END_TEST

/* Every prefix of every valid topic: a defined answer, spans inside the prefix. */
START_TEST(hub_topic_parse_publish_truncated_never_escapes)
{
	const char *topics[NELEM(telemetry) + NELEM(twin_method)];
	size_t n = 0;
	for (size_t i = 0; i < NELEM(telemetry); i++)
		topics[n++] = telemetry[i].topic;
	for (size_t i = 0; i < NELEM(twin_method); i++)
		topics[n++] = twin_method[i].topic;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(topics[i]);
		for (size_t k = 0; k <= len; k++) {
			char *copy = malloc(k ? k : 1);
			ck_assert_ptr_nonnull(copy);
			memcpy(copy, topics[i], k);
			struct hub_topic t;
			sh_rc rc = hub_topic_parse_publish(copy, k, &t);
			ck_assert(rc == SH_OK || rc == SH_E_NOTFOUND || rc == SH_E_MALFORMED);
			ck_assert(inside(t.device_id, copy, k) && inside(t.module_id, copy, k));
			ck_assert(inside(t.props, copy, k) && inside(t.rid, copy, k));
			free(copy);
		}
	}
}
END_TEST

START_TEST(hub_topic_parse_publish_truncated_fields_exact)
{
	struct hub_topic t;
	/* cut inside the prefix: not a hub topic; cut at the bag: an empty bag */
	ck_assert_int_eq(parse("devices/dev1/messages/eve", &t), SH_E_NOTFOUND);
	ck_assert_int_eq(parse("devices/dev1/messages/events/", &t), SH_OK);
	/* cut inside the status, after it, inside $rid */
	ck_assert_int_eq(parse("$iothub/methods/res/20", &t), SH_E_MALFORMED);
	ck_assert_int_eq(parse("$iothub/methods/res/200/?$ri", &t), SH_E_MALFORMED);
	ck_assert_int_eq(parse("$iothub/twin/GET/?$ri", &t), SH_E_MALFORMED);
	ck_assert_int_eq(parse("$iothub/twin/GET/?$rid=6f", &t), SH_OK);
	ck_assert(span_is(t.rid, "6f"));
}
END_TEST

/* ---- hub_topic_check_subscribe ---- */

static const struct {
	const char *filter, *device, *module;
	sh_rc rc;
	enum hub_sub_kind kind;
} subs[] = {
	/* devices: every documented filter and the Embedded C wildcard (traces) */
	{ "devices/dev1/messages/devicebound/#", "dev1", NULL, SH_OK, HUB_SUB_C2D },
	{ "devices/dev1/messages/devicebound/#", "dev1", "", SH_OK, HUB_SUB_C2D },
	{ "devices/+/messages/devicebound/#", "dev1", NULL, SH_OK, HUB_SUB_C2D },
	{ "$iothub/twin/res/#", "dev1", NULL, SH_OK, HUB_SUB_TWIN_RES },
	{ "$iothub/twin/PATCH/properties/desired/#", "dev1", NULL, SH_OK, HUB_SUB_TWIN_DESIRED },
	{ "$iothub/methods/POST/#", "dev1", NULL, SH_OK, HUB_SUB_METHODS },
	/* modules: twin, methods and both input spellings (Node trace; C/C# source) */
	{ "$iothub/twin/res/#", "dev1", "mod1", SH_OK, HUB_SUB_TWIN_RES },
	{ "$iothub/twin/PATCH/properties/desired/#", "dev1", "mod1", SH_OK, HUB_SUB_TWIN_DESIRED },
	{ "$iothub/methods/POST/#", "dev1", "mod1", SH_OK, HUB_SUB_METHODS },
	{ "devices/dev1/modules/mod1/#", "dev1", "mod1", SH_OK, HUB_SUB_MODULE_INPUTS },
	{ "devices/dev1/modules/mod1/inputs/#", "dev1", "mod1", SH_OK, HUB_SUB_MODULE_INPUTS },
	{ "devices/d1/modules/azureiotsecurity/#", "d1", "azureiotsecurity", SH_OK,
	  HUB_SUB_MODULE_INPUTS },
	/* special characters in ids, compared raw */
	{ "devices/a%b?$/messages/devicebound/#", "a%b?$", NULL, SH_OK, HUB_SUB_C2D },
	{ "devices/a%b/modules/(m)=!/inputs/#", "a%b", "(m)=!", SH_OK, HUB_SUB_MODULE_INPUTS },
	/* C2D is for devices only; inputs for modules only */
	{ "devices/dev1/messages/devicebound/#", "dev1", "mod1", SH_E_NOTFOUND, 0 },
	{ "devices/+/messages/devicebound/#", "dev1", "mod1", SH_E_NOTFOUND, 0 },
	{ "devices/dev1/modules/mod1/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "devices/dev1/modules/mod1/inputs/#", "dev1", "", SH_E_NOTFOUND, 0 },
	/* another identity's topics */
	{ "devices/dev2/messages/devicebound/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "devices/dev10/messages/devicebound/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "devices/dev/messages/devicebound/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "devices/DEV1/messages/devicebound/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "devices/dev1/modules/mod2/#", "dev1", "mod1", SH_E_NOTFOUND, 0 },
	{ "devices/dev1/modules/mod10/#", "dev1", "mod1", SH_E_NOTFOUND, 0 },
	{ "devices/dev2/modules/mod1/#", "dev1", "mod1", SH_E_NOTFOUND, 0 },
	{ "devices/dev1/modules/+/#", "dev1", "mod1", SH_E_NOTFOUND, 0 },
	{ "devices/+/modules/mod1/#", "dev1", "mod1", SH_E_NOTFOUND, 0 },
	/* wildcards elsewhere, unknown or near-miss filters */
	{ "#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "+", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "$iothub/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "$iothub/twin/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "$iothub/twin/res/+", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "$iothub/twin/res/", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "$iothub/twin/res", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "$iothub/twin/res/#/", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "$iothub/twin/res/##", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "$iothub/twin/PATCH/properties/desired/+", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "$iothub/twin/PATCH/properties/reported/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "$iothub/twin/GET/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "$iothub/methods/res/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "$iothub/methods/POST/reboot/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "$iothub/credentials/res/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "devices/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "devices/+/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "devices/dev1/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "devices/dev1/messages/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "devices/dev1/messages/devicebound/+", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "devices/dev1/messages/devicebound", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "devices/dev1/messages/devicebound/", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "devices/dev1/messages/deviceBound/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "devices/dev1/messages/events/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "devices/dev1/modules/mod1/messages/devicebound/#", "dev1", "mod1", SH_E_NOTFOUND, 0 },
	{ "devices/dev1/modules/mod1/inputs/in1/#", "dev1", "mod1", SH_E_NOTFOUND, 0 },
	{ "devices/dev1/modules/mod1/inputs/+", "dev1", "mod1", SH_E_NOTFOUND, 0 },
	{ "devices/dev1/modules/mod1", "dev1", "mod1", SH_E_NOTFOUND, 0 },
	{ "$dps/registrations/res/#", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "", "dev1", NULL, SH_E_NOTFOUND, 0 },
	{ "d", "dev1", NULL, SH_E_NOTFOUND, 0 },
	/* no identity: nothing */
	{ "$iothub/twin/res/#", "", NULL, SH_E_NOTFOUND, 0 },
	{ "devices//messages/devicebound/#", "", NULL, SH_E_NOTFOUND, 0 },
};

START_TEST(hub_topic_check_subscribe_table)
{
	enum hub_sub_kind kind = (enum hub_sub_kind)99;
	sh_rc rc = hub_topic_check_subscribe(subs[_i].filter, strlen(subs[_i].filter),
					     subs[_i].device, subs[_i].module, &kind);
	ck_assert_msg(rc == subs[_i].rc, "'%s' for %s/%s: got %d", subs[_i].filter,
		      subs[_i].device, subs[_i].module ? subs[_i].module : "(null)", rc);
	if (rc == SH_OK)
		ck_assert_int_eq(kind, subs[_i].kind);
	else
		ck_assert_int_eq(kind, 99); /* untouched */
}
END_TEST

START_TEST(hub_topic_check_subscribe_len_limits_filter)
{
	enum hub_sub_kind kind;
	/* the filter text goes on past len: only len bytes count */
	const char *f = "$iothub/twin/res/#garbage";
	ck_assert_int_eq(hub_topic_check_subscribe(f, 18, "d", NULL, &kind), SH_OK);
	ck_assert_int_eq(kind, HUB_SUB_TWIN_RES);
	ck_assert_int_eq(hub_topic_check_subscribe(f, 17, "d", NULL, &kind), SH_E_NOTFOUND);
	ck_assert_int_eq(hub_topic_check_subscribe(f, strlen(f), "d", NULL, &kind), SH_E_NOTFOUND);
	static const char nul[] = "$iothub/twin/res/#\0";
	ck_assert_int_eq(hub_topic_check_subscribe(nul, sizeof nul - 1, "d", NULL, &kind),
			 SH_E_NOTFOUND);
}
END_TEST

START_TEST(hub_topic_check_subscribe_null_arguments_notfound)
{
	enum hub_sub_kind kind;
	ck_assert_int_eq(hub_topic_check_subscribe(NULL, 0, "d", NULL, &kind), SH_E_NOTFOUND);
	ck_assert_int_eq(hub_topic_check_subscribe("$iothub/twin/res/#", 18, NULL, NULL, &kind),
			 SH_E_NOTFOUND);
}
END_TEST

/* Every prefix of an accepted filter is refused (only whole filters are accepted). */
START_TEST(hub_topic_check_subscribe_truncated_refused)
{
	for (size_t i = 0; i < NELEM(subs); i++) {
		if (subs[i].rc != SH_OK)
			continue;
		size_t len = strlen(subs[i].filter);
		for (size_t k = 0; k < len; k++) {
			enum hub_sub_kind kind;
			ck_assert_msg(hub_topic_check_subscribe(subs[i].filter, k, subs[i].device,
								subs[i].module, &kind) == SH_E_NOTFOUND,
				      "%.*s", (int)k, subs[i].filter);
		}
	}
}
END_TEST

/* ---- builders ---- */

START_TEST(hub_topic_build_twin_res_matches_trace)
{
	char buf[256];
	size_t n = 0;
	/* trace: reported patch answer, then GET answer (no $version) */
	ck_assert_int_eq(hub_topic_build_twin_res(204,
			 sh_span_str("cdaf0b88-4008-4972-807f-414d38351fdd"), 2, buf, sizeof buf, &n),
			 SH_OK);
	ck_assert_str_eq(buf, "$iothub/twin/res/204/?$rid=cdaf0b88-4008-4972-807f-414d38351fdd&$version=2");
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_int_eq(hub_topic_build_twin_res(200,
			 sh_span_str("6f4b0949-7488-45cf-beca-99ebc02bd51f"), -1, buf, sizeof buf, &n),
			 SH_OK);
	ck_assert_str_eq(buf, "$iothub/twin/res/200/?$rid=6f4b0949-7488-45cf-beca-99ebc02bd51f");
}
END_TEST

START_TEST(hub_topic_build_twin_res_edges_exact)
{
	char buf[256];
	size_t n;
	ck_assert_int_eq(hub_topic_build_twin_res(400, sh_span_make(NULL, 0), 0, buf, sizeof buf, &n),
			 SH_OK);
	ck_assert_str_eq(buf, "$iothub/twin/res/400/?$rid=&$version=0");
	ck_assert_int_eq(hub_topic_build_twin_res(-1, sh_span_str("a/b?c=d&e"), INT64_MAX, buf,
						  sizeof buf, &n), SH_OK);
	ck_assert_str_eq(buf, "$iothub/twin/res/-1/?$rid=a/b?c=d&e&$version=9223372036854775807");
	ck_assert_int_eq(hub_topic_build_twin_res(INT_MIN, sh_span_str("x"), -5, buf, sizeof buf, &n),
			 SH_OK);
	ck_assert_str_eq(buf, "$iothub/twin/res/-2147483648/?$rid=x");
}
END_TEST

START_TEST(hub_topic_build_twin_res_short_buffer_nospace_reports_need)
{
	const char *want = "$iothub/twin/res/200/?$rid=1&$version=7";
	size_t need = strlen(want), n = 0;
	char buf[64];
	memset(buf, 'Z', sizeof buf);
	ck_assert_int_eq(hub_topic_build_twin_res(200, sh_span_str("1"), 7, buf, need, &n),
			 SH_E_NOSPACE);
	ck_assert_uint_eq(n, need);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(hub_topic_build_twin_res(200, sh_span_str("1"), 7, NULL, 0, &n),
			 SH_E_NOSPACE);
	ck_assert_uint_eq(n, need);
	ck_assert_int_eq(hub_topic_build_twin_res(200, sh_span_str("1"), 7, buf, need + 1, &n),
			 SH_OK);
	ck_assert_str_eq(buf, want);
	ck_assert_uint_eq(n, need);
}
END_TEST

START_TEST(hub_topic_build_twin_res_wildcard_rid_invalid)
{
	char buf[64];
	size_t n = 9;
	ck_assert_int_eq(hub_topic_build_twin_res(200, sh_span_str("a+b"), -1, buf, sizeof buf, &n),
			 SH_E_INVALID);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(hub_topic_build_twin_res(200, sh_span_str("#"), -1, buf, sizeof buf, &n),
			 SH_E_INVALID);
	ck_assert_int_eq(hub_topic_build_twin_res(200, sh_span_make("a\0b", 3), -1, buf, sizeof buf,
						  &n), SH_E_INVALID);
}
END_TEST

/* Round trip: the $rid the device sent comes back byte for byte in the answer. */
START_TEST(hub_topic_build_twin_res_round_trip_rid_verbatim)
{
	for (size_t i = 0; i < NELEM(twin_method); i++) {
		if (twin_method[i].kind == HUB_TOPIC_METHOD_RESPONSE)
			continue;
		struct hub_topic t;
		ck_assert_int_eq(parse(twin_method[i].topic, &t), SH_OK);
		char buf[256], want[256];
		size_t n;
		ck_assert_int_eq(hub_topic_build_twin_res(200, t.rid, -1, buf, sizeof buf, &n), SH_OK);
		snprintf(want, sizeof want, "$iothub/twin/res/200/?$rid=%.*s", (int)t.rid.len,
			 (const char *)t.rid.ptr);
		ck_assert_str_eq(buf, want);
	}
}
END_TEST

START_TEST(hub_topic_build_desired_matches_trace)
{
	char buf[128];
	size_t n;
	ck_assert_int_eq(hub_topic_build_desired(2, buf, sizeof buf, &n), SH_OK);
	ck_assert_str_eq(buf, "$iothub/twin/PATCH/properties/desired/?$version=2");
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_int_eq(hub_topic_build_desired(0, buf, sizeof buf, &n), SH_OK);
	ck_assert_str_eq(buf, "$iothub/twin/PATCH/properties/desired/?$version=0");
	ck_assert_int_eq(hub_topic_build_desired(INT64_MAX, buf, sizeof buf, &n), SH_OK);
	ck_assert_str_eq(buf, "$iothub/twin/PATCH/properties/desired/?$version=9223372036854775807");
}
END_TEST

START_TEST(hub_topic_build_desired_negative_invalid_and_nospace)
{
	char buf[128];
	size_t n = 3;
	ck_assert_int_eq(hub_topic_build_desired(-1, buf, sizeof buf, &n), SH_E_INVALID);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(hub_topic_build_desired(12, buf, 10, &n), SH_E_NOSPACE);
	ck_assert_uint_eq(n, strlen("$iothub/twin/PATCH/properties/desired/?$version=12"));
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(hub_topic_build_desired(12, buf, n + 1, NULL), SH_OK);
	ck_assert_str_eq(buf, "$iothub/twin/PATCH/properties/desired/?$version=12");
}
END_TEST

START_TEST(hub_topic_build_method_matches_trace)
{
	char buf[128];
	size_t n;
	ck_assert_int_eq(hub_topic_build_method("reboot", "42", buf, sizeof buf, &n), SH_OK);
	ck_assert_str_eq(buf, "$iothub/methods/POST/reboot/?$rid=42");
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_int_eq(hub_topic_build_method("get?x=1", "a/b", buf, sizeof buf, &n), SH_OK);
	ck_assert_str_eq(buf, "$iothub/methods/POST/get?x=1/?$rid=a/b");
}
END_TEST

START_TEST(hub_topic_build_method_bad_arguments_invalid)
{
	char buf[128];
	size_t n = 5;
	static const char *const names[] = { NULL, "", "a/b", "a+b", "a#" };
	for (size_t i = 0; i < NELEM(names); i++) {
		ck_assert_int_eq(hub_topic_build_method(names[i], "1", buf, sizeof buf, &n), SH_E_INVALID);
		ck_assert_uint_eq(n, 0);
	}
	static const char *const rids[] = { NULL, "", "1+", "#" };
	for (size_t i = 0; i < NELEM(rids); i++)
		ck_assert_int_eq(hub_topic_build_method("m", rids[i], buf, sizeof buf, &n), SH_E_INVALID);
	ck_assert_int_eq(hub_topic_build_method("m", "1", buf, 5, &n), SH_E_NOSPACE);
	ck_assert_uint_eq(n, strlen("$iothub/methods/POST/m/?$rid=1"));
}
END_TEST

/* Round trip: the device answers on methods/res with the rid it got; it parses back. */
START_TEST(hub_topic_build_method_round_trip_response_rid)
{
	static const char *const rids[] = { "42", "1f", "a/b", "x?y=z", "%24" };
	for (size_t i = 0; i < NELEM(rids); i++) {
		char req[128], res[160];
		size_t n;
		ck_assert_int_eq(hub_topic_build_method("reboot", rids[i], req, sizeof req, &n), SH_OK);
		const char *q = strstr(req, "/?$rid=");
		ck_assert_ptr_nonnull(q);
		snprintf(res, sizeof res, "$iothub/methods/res/200%s", q);
		struct hub_topic t;
		ck_assert_int_eq(parse(res, &t), SH_OK);
		ck_assert_int_eq(t.kind, HUB_TOPIC_METHOD_RESPONSE);
		ck_assert(span_is(t.rid, rids[i]));
	}
}
END_TEST

START_TEST(hub_topic_build_c2d_matches_trace)
{
	char buf[512];
	size_t n;
	ck_assert_int_eq(hub_topic_build_c2d("dev1", NULL, buf, sizeof buf, &n), SH_OK);
	ck_assert_str_eq(buf, "devices/dev1/messages/devicebound/");
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_int_eq(hub_topic_build_c2d("dev1", "", buf, sizeof buf, &n), SH_OK);
	ck_assert_str_eq(buf, "devices/dev1/messages/devicebound/");
	/* §3.3: the VxWorks capture */
	ck_assert_int_eq(hub_topic_build_c2d("VxDev1",
			 "%24.mid=ee06e90f&%24.to=%2Fdevices%2FVxDev1%2Fmessages%2Fdevicebound&%24.ce=utf-8",
			 buf, sizeof buf, &n), SH_OK);
	ck_assert_str_eq(buf, "devices/VxDev1/messages/devicebound/%24.mid=ee06e90f&%24.to=%2Fdevices"
			      "%2FVxDev1%2Fmessages%2Fdevicebound&%24.ce=utf-8");
	ck_assert_int_eq(hub_topic_build_c2d("a%b$", "x", buf, sizeof buf, &n), SH_OK);
	ck_assert_str_eq(buf, "devices/a%b$/messages/devicebound/x");
}
END_TEST

START_TEST(hub_topic_build_c2d_bad_arguments_invalid)
{
	char buf[128];
	size_t n = 1;
	static const char *const ids[] = { NULL, "", "a/b", "a+", "#" };
	for (size_t i = 0; i < NELEM(ids); i++) {
		ck_assert_int_eq(hub_topic_build_c2d(ids[i], "", buf, sizeof buf, &n), SH_E_INVALID);
		ck_assert_uint_eq(n, 0);
		ck_assert_str_eq(buf, "");
	}
	ck_assert_int_eq(hub_topic_build_c2d("d", "a=1+2", buf, sizeof buf, &n), SH_E_INVALID);
	ck_assert_int_eq(hub_topic_build_c2d("d", "a#", buf, sizeof buf, &n), SH_E_INVALID);
	ck_assert_int_eq(hub_topic_build_c2d("d", "a=1", buf, 10, &n), SH_E_NOSPACE);
	ck_assert_uint_eq(n, strlen("devices/d/messages/devicebound/a=1"));
}
END_TEST

/* Round trip: properties -> msg_props_build -> C2D topic -> bag -> msg_props_parse. */
START_TEST(hub_topic_build_c2d_round_trip_properties)
{
	cJSON *sys = cJSON_CreateObject(), *app = cJSON_CreateObject();
	cJSON_AddStringToObject(sys, "message-id", "c2d-1");
	cJSON_AddStringToObject(sys, "to", "/devices/dev1/messages/devicebound");
	cJSON_AddStringToObject(app, "spaced key", "v 1&2=3/+");
	cJSON_AddNullToObject(app, "flag");
	char bag[512], topic[600];
	size_t n;
	ck_assert_int_eq(msg_props_build(sys, app, bag, sizeof bag, &n), SH_OK);
	ck_assert_int_eq(hub_topic_build_c2d("dev1", bag, topic, sizeof topic, &n), SH_OK);
	const char *prefix = "devices/dev1/messages/devicebound/";
	ck_assert(strncmp(topic, prefix, strlen(prefix)) == 0);
	cJSON *sys2, *app2;
	ck_assert_int_eq(msg_props_parse(sh_span_str(topic + strlen(prefix)), 4096, &sys2, &app2),
			 SH_OK);
	ck_assert(cJSON_Compare(sys, sys2, true));
	ck_assert(cJSON_Compare(app, app2, true));
	cJSON_Delete(sys);
	cJSON_Delete(app);
	cJSON_Delete(sys2);
	cJSON_Delete(app2);
}
END_TEST

static Suite *hub_topic_suite(void)
{
	Suite *s = suite_create("hub_topic");
	TCase *tc = tcase_create("hub_topic_parse_publish");
	tcase_add_loop_test(tc, hub_topic_parse_publish_telemetry_variants_ok, 0, NELEM(telemetry));
	tcase_add_test(tc, hub_topic_parse_publish_telemetry_spans_point_into_topic);
	tcase_add_test(tc, hub_topic_parse_publish_len_limits_topic);
	tcase_add_test(tc, hub_topic_parse_publish_large_bag_ok);
	tcase_add_loop_test(tc, hub_topic_parse_publish_twin_and_method_ok, 0, NELEM(twin_method));
	tcase_add_loop_test(tc, hub_topic_parse_publish_bad_input_refused, 0, NELEM(refused));
	tcase_add_test(tc, hub_topic_parse_publish_embedded_nul_malformed);
	tcase_add_test(tc, hub_topic_parse_publish_null_topic_malformed);
	tcase_add_test(tc, hub_topic_parse_publish_truncated_never_escapes);
	tcase_add_test(tc, hub_topic_parse_publish_truncated_fields_exact);
	suite_add_tcase(s, tc);

	tc = tcase_create("hub_topic_check_subscribe");
	tcase_add_loop_test(tc, hub_topic_check_subscribe_table, 0, NELEM(subs));
	tcase_add_test(tc, hub_topic_check_subscribe_len_limits_filter);
	tcase_add_test(tc, hub_topic_check_subscribe_null_arguments_notfound);
	tcase_add_test(tc, hub_topic_check_subscribe_truncated_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("hub_topic_build_twin_res");
	tcase_add_test(tc, hub_topic_build_twin_res_matches_trace);
	tcase_add_test(tc, hub_topic_build_twin_res_edges_exact);
	tcase_add_test(tc, hub_topic_build_twin_res_short_buffer_nospace_reports_need);
	tcase_add_test(tc, hub_topic_build_twin_res_wildcard_rid_invalid);
	tcase_add_test(tc, hub_topic_build_twin_res_round_trip_rid_verbatim);
	suite_add_tcase(s, tc);

	tc = tcase_create("hub_topic_build_desired");
	tcase_add_test(tc, hub_topic_build_desired_matches_trace);
	tcase_add_test(tc, hub_topic_build_desired_negative_invalid_and_nospace);
	suite_add_tcase(s, tc);

	tc = tcase_create("hub_topic_build_method");
	tcase_add_test(tc, hub_topic_build_method_matches_trace);
	tcase_add_test(tc, hub_topic_build_method_bad_arguments_invalid);
	tcase_add_test(tc, hub_topic_build_method_round_trip_response_rid);
	suite_add_tcase(s, tc);

	tc = tcase_create("hub_topic_build_c2d");
	tcase_add_test(tc, hub_topic_build_c2d_matches_trace);
	tcase_add_test(tc, hub_topic_build_c2d_bad_arguments_invalid);
	tcase_add_test(tc, hub_topic_build_c2d_round_trip_properties);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hub_topic_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
