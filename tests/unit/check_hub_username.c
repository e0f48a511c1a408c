/*
 * check_hub_username.c: unit tests of core/hub_username: every CONNECT username shape in the
 * traces and §2.2 (Node device/module/port, C SDK lower-case escapes, Embedded C model-id,
 * Arduino's partly unencoded client type), query parameter order and duplicates, and refusals
 * (DPS style without '?', empty segments, truncation, NUL).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hub_username.h"
#include "core/msg_props.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define NODE_UA "azure-iot-device%2F1.18.4%20(node%20v20.20.2%3B%20Debian%2012%3B%20x64)"

static bool span_is(struct sh_span s, const char *lit)
{
	return sh_span_eq_str(s, lit);
}

static bool inside(struct sh_span s, const char *base, size_t len)
{
	return s.len == 0 ||
	       ((const char *)s.ptr >= base && (const char *)s.ptr + s.len <= base + len);
}

static const struct {
	const char *text;
	const char *host, *device, *module, *api, *type, *model;
	bool has_api;
} good[] = {
	/* trace: Node device and module */
	{ "localhost/dev1/?api-version=2021-04-12&DeviceClientType=" NODE_UA, "localhost", "dev1", "",
	  "2021-04-12", NODE_UA, "", true },
	{ "localhost/dev1/mod1/?api-version=2021-04-12&DeviceClientType=" NODE_UA, "localhost", "dev1",
	  "mod1", "2021-04-12", NODE_UA, "", true },
	/* trace: Node with a port in HostName */
	{ "localhost:28883/dev1/?api-version=2021-04-12&DeviceClientType=" NODE_UA, "localhost:28883",
	  "dev1", "", "2021-04-12", NODE_UA, "", true },
	/* c-clients.md: Embedded C, then model-id (encoded) */
	{ "h.azure-devices.net/d1/?api-version=2020-09-30&DeviceClientType=azsdk-c%2F1.6.0-beta.1"
	  "&model-id=dtmi%3Acom%3Aexample%3AThermostat%3B1",
	  "h.azure-devices.net", "d1", "", "2020-09-30", "azsdk-c%2F1.6.0-beta.1",
	  "dtmi%3Acom%3Aexample%3AThermostat%3B1", true },
	/* c-clients.md: azure-iot-sdk-c, lower-case escapes; module of the security agent */
	{ "h.azure-devices.net/d1/azureiotsecurity/?api-version=2020-09-30&DeviceClientType="
	  "iothubclient%2f1.11.0%20(native%3b%20Linux%3b%20x86_64)",
	  "h.azure-devices.net", "d1", "azureiotsecurity", "2020-09-30",
	  "iothubclient%2f1.11.0%20(native%3b%20Linux%3b%20x86_64)", "", true },
	/* §2.2: Node puts model-id first and does not encode it */
	{ "h/d/?api-version=2021-04-12&model-id=dtmi:com:example:X;1&DeviceClientType=x", "h", "d", "",
	  "2021-04-12", "x", "dtmi:com:example:X;1", true },
	/* azure-sdk-for-c#2264: Arduino, client type partly unencoded */
	{ "IoTHub4000.azure-devices.net/ESP32GardenSensor1/?api-version=2020-09-30&DeviceClientType="
	  "c%2F1.3.2(ard;esp32)",
	  "IoTHub4000.azure-devices.net", "ESP32GardenSensor1", "", "2020-09-30", "c%2F1.3.2(ard;esp32)",
	  "", true },
	/* old api-versions, any value accepted */
	{ "h/d/?api-version=2016-11-14", "h", "d", "", "2016-11-14", "", "", true },
	{ "h/d/?api-version=2017-11-08-preview&DeviceClientType=iothubclient%2f1.1.0", "h", "d", "",
	  "2017-11-08-preview", "iothubclient%2f1.1.0", "", true },
	/* api-version absent or empty: parsed, has_api_version false */
	{ "h/d/?DeviceClientType=x", "h", "d", "", "", "x", "", false },
	{ "h/d/?", "h", "d", "", "", "", "", false },
	{ "h/d/?api-version=", "h", "d", "", "", "", "", false },
	{ "h/d/m/?api-version", "h", "d", "m", "", "", "", false },
	/* unknown parameters ignored, empty items skipped, any order */
	{ "h/d/?x=1&&DeviceClientType=t&api-version=v&&y", "h", "d", "", "v", "t", "", true },
	/* names are case-sensitive */
	{ "h/d/?API-VERSION=1&api-version=2", "h", "d", "", "2", "", "", true },
	/* a parameter given twice keeps its first value */
	{ "h/d/?api-version=1&api-version=2&model-id=a&model-id=b", "h", "d", "", "1", "", "a", true },
	/* raw values may hold '/', '?' and '=' (unencoded client types) */
	{ "h/d/?DeviceClientType=c/1.0 (x?y=z)&api-version=1", "h", "d", "", "1", "c/1.0 (x?y=z)", "",
	  true },
	{ "h/d/m/?DeviceClientType=a/b/c&api-version=1", "h", "d", "m", "1", "a/b/c", "", true },
	/* ids with the special characters §1.1 allows, '?' and '%' included */
	{ "h/a?b/?api-version=1", "h", "a?b", "", "1", "", "", true },
	{ "h/?dev/?api-version=1", "h", "?dev", "", "1", "", "", true },
	{ "h/-.%_*?!(),:=@$'/-.%_*!(),:=@$'/?api-version=1", "h", "-.%_*?!(),:=@$'", "-.%_*!(),:=@$'",
	  "1", "", "", true },
	/* a module id that begins with '?' cannot be told from a query: read as a device */
	{ "h/d/?mod/?api-version=1", "h", "d", "", "", "", "", false },
};

START_TEST(hub_username_parse_sdk_shapes_ok)
{
	const char *text = good[_i].text;
	struct hub_username u;
	ck_assert_msg(hub_username_parse(text, strlen(text), &u) == SH_OK, "%s", text);
	ck_assert_msg(span_is(u.host, good[_i].host), "host of %s", text);
	ck_assert_msg(span_is(u.device_id, good[_i].device), "device of %s", text);
	ck_assert_msg(span_is(u.module_id, good[_i].module), "module of %s", text);
	ck_assert_msg(span_is(u.api_version, good[_i].api), "api of %s", text);
	ck_assert_msg(span_is(u.client_type, good[_i].type), "type of %s", text);
	ck_assert_msg(span_is(u.model_id, good[_i].model), "model of %s", text);
	ck_assert_int_eq(u.has_api_version, good[_i].has_api);
	size_t n = strlen(text);
	ck_assert(inside(u.host, text, n) && inside(u.device_id, text, n));
	ck_assert(inside(u.module_id, text, n) && inside(u.api_version, text, n));
	ck_assert(inside(u.client_type, text, n) && inside(u.model_id, text, n));
}
END_TEST

START_TEST(hub_username_parse_values_decode_with_msg_props)
{
	const char *text = good[0].text;
	struct hub_username u;
	ck_assert_int_eq(hub_username_parse(text, strlen(text), &u), SH_OK);
	char ua[128];
	ck_assert_int_eq(msg_props_decode(u.client_type, ua, sizeof ua, NULL), SH_OK);
	ck_assert_str_eq(ua, "azure-iot-device/1.18.4 (node v20.20.2; Debian 12; x64)");
	text = good[4].text;
	ck_assert_int_eq(hub_username_parse(text, strlen(text), &u), SH_OK);
	ck_assert_int_eq(msg_props_decode(u.client_type, ua, sizeof ua, NULL), SH_OK);
	ck_assert_str_eq(ua, "iothubclient/1.11.0 (native; Linux; x86_64)");
}
END_TEST

START_TEST(hub_username_parse_len_limits_text)
{
	const char *text = "h/d/?api-version=12XYZ";
	struct hub_username u;
	ck_assert_int_eq(hub_username_parse(text, strlen(text) - 3, &u), SH_OK);
	ck_assert(span_is(u.api_version, "12"));
}
END_TEST

static const char *const bad[] = {
	/* §11, §12 item 21: DPS usernames have no '?' */
	"0ne00000000/registrations/dev1/api-version=2019-03-31&ClientVersion=azsdk-c%2F1.6.0",
	"0ne00000000/registrations/dev1/api-version=2019-03-31",
	/* no '?' segment at all */
	"h/d/api-version=2021-04-12",
	"h/d?api-version=1",
	"h/d/m?api-version=1",
	"h/d/",
	"h/d",
	"h/d/m/",
	"h/",
	"h",
	"?",
	"/",
	"",
	/* empty segments */
	"/d/?api-version=1",
	"h//?api-version=1",
	"//?api-version=1",
	"h/d//?api-version=1",
	"h/?api-version=1",
	/* too many segments */
	"h/d/m/x/?api-version=1",
	"h/d/m/x/y/?api-version=1",
	/* IoT Edge's old Azure ML form: not IoT Hub's */
	"h/d/m/api-version=2017-06-30/DeviceClientType=Microsoft.Azure.Devices.Client/1.5.1-preview-003",
};

START_TEST(hub_username_parse_bad_shape_malformed)
{
	struct hub_username u;
	memset(&u, 0x5a, sizeof u);
	ck_assert_msg(hub_username_parse(bad[_i], strlen(bad[_i]), &u) == SH_E_MALFORMED, "'%s'",
		      bad[_i]);
	ck_assert_uint_eq(u.host.len + u.device_id.len + u.module_id.len + u.api_version.len +
				  u.client_type.len + u.model_id.len, 0);
	ck_assert(!u.has_api_version);
}
END_TEST

START_TEST(hub_username_parse_embedded_nul_malformed)
{
	static const char text[] = "h/d/?api-version=1\0x";
	struct hub_username u;
	ck_assert_int_eq(hub_username_parse(text, sizeof text - 1, &u), SH_E_MALFORMED);
	static const char text2[] = "h/d\0/?api-version=1";
	ck_assert_int_eq(hub_username_parse(text2, sizeof text2 - 1, &u), SH_E_MALFORMED);
	ck_assert_int_eq(hub_username_parse(NULL, 0, &u), SH_E_MALFORMED);
}
END_TEST

/* Truncated at every byte: never a span outside the prefix; OK only once "/?" is reached. */
START_TEST(hub_username_parse_truncated_defined)
{
	for (size_t i = 0; i < NELEM(good); i++) {
		const char *text = good[i].text;
		size_t len = strlen(text);
		size_t q = (size_t)(strstr(text, "/?") - text); /* every good text has one */
		for (size_t k = 0; k <= len; k++) {
			char *copy = malloc(k ? k : 1);
			ck_assert_ptr_nonnull(copy);
			memcpy(copy, text, k);
			struct hub_username u;
			sh_rc rc = hub_username_parse(copy, k, &u);
			ck_assert(rc == SH_OK || rc == SH_E_MALFORMED);
			/* before the first "/?" is complete there is no query: refused */
			if (k < q + 2)
				ck_assert_msg(rc == SH_E_MALFORMED, "%.*s", (int)k, text);
			else if (k == len)
				ck_assert_int_eq(rc, SH_OK);
			ck_assert(inside(u.host, copy, k) && inside(u.device_id, copy, k));
			ck_assert(inside(u.module_id, copy, k) && inside(u.client_type, copy, k));
			ck_assert(inside(u.api_version, copy, k) && inside(u.model_id, copy, k));
			free(copy);
		}
	}
}
END_TEST

START_TEST(hub_username_parse_long_values_ok)
{
	/* a 4 KB client type and 128-character ids */
	char text[8192];
	char id[129];
	memset(id, 'a', 128);
	id[128] = '\0';
	int n = snprintf(text, sizeof text, "h/%s/%s/?api-version=1&DeviceClientType=", id, id);
	memset(text + n, 'x', 4096);
	text[n + 4096] = '\0';
	struct hub_username u;
	ck_assert_int_eq(hub_username_parse(text, strlen(text), &u), SH_OK);
	ck_assert_uint_eq(u.device_id.len, 128);
	ck_assert_uint_eq(u.module_id.len, 128);
	ck_assert_uint_eq(u.client_type.len, 4096);
}
END_TEST

static Suite *hub_username_suite(void)
{
	Suite *s = suite_create("hub_username");
	TCase *tc = tcase_create("hub_username_parse");
	tcase_add_loop_test(tc, hub_username_parse_sdk_shapes_ok, 0, NELEM(good));
	tcase_add_test(tc, hub_username_parse_values_decode_with_msg_props);
	tcase_add_test(tc, hub_username_parse_len_limits_text);
	tcase_add_loop_test(tc, hub_username_parse_bad_shape_malformed, 0, NELEM(bad));
	tcase_add_test(tc, hub_username_parse_embedded_nul_malformed);
	tcase_add_test(tc, hub_username_parse_truncated_defined);
	tcase_add_test(tc, hub_username_parse_long_values_ok);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hub_username_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
