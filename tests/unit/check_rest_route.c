/*
 * check_rest_route.c: core/rest_route: every route with its captures (the HTTPS device API's
 * lock tokens too, and "deviceBound" in any case), method mismatches (405), unknown paths
 * (404), bad input (empty, no leading '/', empty segments, trailing '/'), and which routes
 * belong to the device API.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/rest_route.h"

static sh_rc route(enum rest_method m, const char *path, struct rest_route *r)
{
	return rest_route_match(m, path, strlen(path), r);
}

START_TEST(rest_method_parse_names)
{
	ck_assert_int_eq(rest_method_parse("GET"), REST_GET);
	ck_assert_int_eq(rest_method_parse("PUT"), REST_PUT);
	ck_assert_int_eq(rest_method_parse("PATCH"), REST_PATCH);
	ck_assert_int_eq(rest_method_parse("POST"), REST_POST);
	ck_assert_int_eq(rest_method_parse("DELETE"), REST_DELETE);
	ck_assert_int_eq(rest_method_parse("get"), REST_OTHER);
	ck_assert_int_eq(rest_method_parse(""), REST_OTHER);
	ck_assert_int_eq(rest_method_parse("OPTIONS"), REST_OTHER);
}
END_TEST

START_TEST(rest_route_match_every_route_captures_ids)
{
	static const struct {
		enum rest_method m;
		const char *path;
		enum rest_route_id id;
		const char *dev, *mod;
	} cases[] = {
		{REST_GET, "/devices", ROUTE_DEVICE_LIST, "", ""},
		{REST_GET, "/devices/", ROUTE_DEVICE_LIST, "", ""},
		{REST_GET, "/devices/dev1", ROUTE_DEVICE, "dev1", ""},
		{REST_POST, "/devices/query", ROUTE_QUERY, "", ""},
		{REST_GET, "/devices/query", ROUTE_DEVICE, "query", ""},
		{REST_PUT, "/devices/dev1", ROUTE_DEVICE, "dev1", ""},
		{REST_DELETE, "/devices/a-._%*?!(),:=@$'", ROUTE_DEVICE, "a-._%*?!(),:=@$'", ""},
		{REST_GET, "/devices/dev1/modules", ROUTE_MODULE_LIST, "dev1", ""},
		{REST_PUT, "/devices/dev1/modules/m1", ROUTE_MODULE, "dev1", "m1"},
		{REST_GET, "/twins/dev1", ROUTE_TWIN, "dev1", ""},
		{REST_PATCH, "/twins/dev1/", ROUTE_TWIN, "dev1", ""},
		{REST_PUT, "/twins/dev1/modules/azureiotsecurity", ROUTE_TWIN, "dev1", "azureiotsecurity"},
		{REST_POST, "/twins/dev1/methods", ROUTE_METHOD, "dev1", ""},
		{REST_POST, "/twins/dev1/modules/m1/methods", ROUTE_METHOD, "dev1", "m1"},
		{REST_POST, "/devices/dev1/messages/deviceBound", ROUTE_C2D_SEND, "dev1", ""},
		{REST_POST, "/devices/dev1/messages/devicebound", ROUTE_C2D_SEND, "dev1", ""},
		{REST_POST, "/devices/dev1/messages/events", ROUTE_D2C_SEND, "dev1", ""},
		{REST_POST, "/devices/dev1/messages/events/", ROUTE_D2C_SEND, "dev1", ""},
		{REST_POST, "/devices/dev1/modules/m1/messages/events", ROUTE_D2C_SEND, "dev1", "m1"},
		{REST_GET, "/devices/dev1/messages/devicebound", ROUTE_C2D_RECEIVE, "dev1", ""},
		{REST_GET, "/devices/dev1/messages/deviceBound", ROUTE_C2D_RECEIVE, "dev1", ""},
		{REST_GET, "/devices/dev1/messages/DEVICEBOUND/", ROUTE_C2D_RECEIVE, "dev1", ""},
		{REST_GET, "/statistics/devices", ROUTE_STATS_DEVICES, "", ""},
		{REST_GET, "/statistics/service", ROUTE_STATS_SERVICE, "", ""},
		{REST_GET, "/simhub/v1/messages", ROUTE_SIMHUB_MESSAGES, "", ""},
		{REST_GET, "/simhub/v1/connections/", ROUTE_SIMHUB_CONNECTIONS, "", ""},
		{REST_GET, "/simhub/v1/health", ROUTE_SIMHUB_HEALTH, "", ""},
		{REST_GET, "/simhub/v1/methods", ROUTE_SIMHUB_METHODS, "", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct rest_route r;
		ck_assert_msg(route(cases[i].m, cases[i].path, &r) == SH_OK, "%s", cases[i].path);
		ck_assert_int_eq(r.id, cases[i].id);
		ck_assert_msg(sh_span_eq_str(r.device_id, cases[i].dev), "%s device", cases[i].path);
		ck_assert_msg(sh_span_eq_str(r.module_id, cases[i].mod), "%s module", cases[i].path);
	}
}
END_TEST

START_TEST(rest_route_match_c2d_settle_captures_lock)
{
	/* trace: the Node SDK's complete / reject / abandon paths (node-sdk-device-https.md) */
	struct rest_route r;
	ck_assert_int_eq(route(REST_DELETE, "/devices/dev1/messages/devicebound/lock-token-1", &r), SH_OK);
	ck_assert_int_eq(r.id, ROUTE_C2D_SETTLE);
	ck_assert(sh_span_eq_str(r.device_id, "dev1"));
	ck_assert(sh_span_eq_str(r.lock_token, "lock-token-1"));
	ck_assert_uint_eq(r.module_id.len, 0);
	ck_assert_int_eq(route(REST_POST, "/devices/dev1/messages/devicebound/lock-token-1/abandon", &r),
			 SH_OK);
	ck_assert_int_eq(r.id, ROUTE_C2D_ABANDON);
	ck_assert(sh_span_eq_str(r.lock_token, "lock-token-1"));
	ck_assert_int_eq(route(REST_DELETE, "/devices/d/messages/deviceBound/c8f985f0-a4fd-4071/", &r),
			 SH_OK);
	ck_assert(sh_span_eq_str(r.lock_token, "c8f985f0-a4fd-4071"));
	/* other routes leave the lock capture empty */
	ck_assert_int_eq(route(REST_GET, "/devices/dev1/messages/devicebound", &r), SH_OK);
	ck_assert_uint_eq(r.lock_token.len, 0);
}
END_TEST

START_TEST(rest_route_match_wrong_method_is_state)
{
	struct rest_route r;
	ck_assert_int_eq(route(REST_POST, "/devices/dev1", &r), SH_E_STATE);
	ck_assert_int_eq(route(REST_DELETE, "/twins/dev1", &r), SH_E_STATE);
	ck_assert_int_eq(route(REST_GET, "/twins/dev1/methods", &r), SH_E_STATE);
	ck_assert_int_eq(route(REST_OTHER, "/devices", &r), SH_E_STATE);
	ck_assert_int_eq(route(REST_PUT, "/statistics/devices", &r), SH_E_STATE);
	ck_assert_int_eq(route(REST_GET, "/devices/dev1/messages/events", &r), SH_E_STATE);
	ck_assert_int_eq(route(REST_PUT, "/devices/dev1/messages/devicebound", &r), SH_E_STATE);
	ck_assert_int_eq(route(REST_DELETE, "/devices/dev1/messages/devicebound", &r), SH_E_STATE);
	ck_assert_int_eq(route(REST_GET, "/devices/dev1/messages/devicebound/lock1", &r), SH_E_STATE);
	ck_assert_int_eq(route(REST_POST, "/devices/dev1/messages/devicebound/lock1", &r), SH_E_STATE);
	ck_assert_int_eq(route(REST_DELETE, "/devices/d/messages/devicebound/l/abandon", &r), SH_E_STATE);
	ck_assert_int_eq(route(REST_GET, "/devices/d/modules/m/messages/events", &r), SH_E_STATE);
	ck_assert_int_eq(route(REST_POST, "/simhub/v1/messages", &r), SH_E_STATE);
	ck_assert_int_eq(route(REST_DELETE, "/simhub/v1/connections", &r), SH_E_STATE);
	ck_assert_int_eq(route(REST_PUT, "/simhub/v1/health", &r), SH_E_STATE);
}
END_TEST

START_TEST(rest_route_match_post_devices_is_bulk)
{
	struct rest_route r;
	ck_assert_int_eq(route(REST_POST, "/devices", &r), SH_OK);
	ck_assert_int_eq(r.id, ROUTE_BULK);
	ck_assert_uint_eq(r.device_id.len, 0);
	ck_assert_int_eq(route(REST_POST, "/devices/", &r), SH_OK);
	ck_assert_int_eq(r.id, ROUTE_BULK);
	/* The list keeps GET, the query keeps its own POST path. */
	ck_assert_int_eq(route(REST_GET, "/devices", &r), SH_OK);
	ck_assert_int_eq(r.id, ROUTE_DEVICE_LIST);
	ck_assert_int_eq(route(REST_POST, "/devices/query", &r), SH_OK);
	ck_assert_int_eq(r.id, ROUTE_QUERY);
	ck_assert_int_eq(route(REST_PUT, "/devices", &r), SH_E_STATE);
	ck_assert_int_eq(route(REST_DELETE, "/devices", &r), SH_E_STATE);
	ck_assert_int_eq(route(REST_POST, "/Devices", &r), SH_E_NOTFOUND);
	ck_assert(!rest_route_is_device_api(ROUTE_BULK));
	ck_assert(!rest_route_is_simhub_api(ROUTE_BULK));
}
END_TEST

START_TEST(rest_route_match_unknown_or_bad_paths_fail)
{
	const char *bad[] = {"", "/", "devices", "//devices", "/devices//", "/devices//modules",
			     "/twins", "/twins/dev1/modules", "/twins/dev1/modules/m1/methods/x",
			     "/devicesX", "/statistics", "/jobs/v2", "/twins/dev1/methods/extra",
			     "/devices/dev1/modules/m1/extra", "/devices/dev1//",
			     "/devices/dev1/messages", "/devices/dev1/messages/event",
			     "/devices/dev1/messages/events/x", "/devices/dev1/messages/Events",
			     "/devices/dev1/messages/deviceBoundX", "/devices/dev1/messages/devicebound//abandon",
			     "/devices/dev1/messages/devicebound/l/ABANDON",
			     "/devices/dev1/messages/devicebound/l/abandon/x",
			     "/devices/dev1/modules/m1/messages/devicebound",
			     "/devices//messages/events", "/devices/dev1/modules//messages/events",
			     "/simhub", "/simhub/v1", "/simhub/v2/messages", "/simhub/v1/Messages",
			     "/simhub/v1/messages/x", "/simhub//v1/health", "/simhub/v1/methods/x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct rest_route r;
		ck_assert_msg(route(REST_GET, bad[i], &r) == SH_E_NOTFOUND &&
			      route(REST_POST, bad[i], &r) != SH_OK, "'%s'", bad[i]);
	}
	/* not NUL-terminated: only len bytes count */
	struct rest_route r;
	ck_assert_int_eq(rest_route_match(REST_GET, "/devices/dev1XYZ", 13, &r), SH_OK);
	ck_assert(sh_span_eq_str(r.device_id, "dev1"));
}
END_TEST

START_TEST(rest_route_is_device_api_only_device_routes)
{
	ck_assert(rest_route_is_device_api(ROUTE_D2C_SEND));
	ck_assert(rest_route_is_device_api(ROUTE_C2D_RECEIVE));
	ck_assert(rest_route_is_device_api(ROUTE_C2D_SETTLE));
	ck_assert(rest_route_is_device_api(ROUTE_C2D_ABANDON));
	ck_assert(!rest_route_is_device_api(ROUTE_C2D_SEND));   /* the service injects C2D */
	ck_assert(!rest_route_is_device_api(ROUTE_DEVICE));
	ck_assert(!rest_route_is_device_api(ROUTE_TWIN));
	ck_assert(!rest_route_is_device_api(ROUTE_METHOD));
	ck_assert(!rest_route_is_device_api(ROUTE_STATS_SERVICE));
	ck_assert(!rest_route_is_device_api(ROUTE_SIMHUB_MESSAGES));
}
END_TEST

START_TEST(rest_route_is_simhub_api_only_simhub_routes)
{
	ck_assert(rest_route_is_simhub_api(ROUTE_SIMHUB_MESSAGES));
	ck_assert(rest_route_is_simhub_api(ROUTE_SIMHUB_CONNECTIONS));
	ck_assert(rest_route_is_simhub_api(ROUTE_SIMHUB_METHODS));
	ck_assert(rest_route_is_simhub_api(ROUTE_SIMHUB_HEALTH));
	ck_assert(!rest_route_is_simhub_api(ROUTE_DEVICE_LIST));
	ck_assert(!rest_route_is_simhub_api(ROUTE_STATS_SERVICE));
	ck_assert(!rest_route_is_simhub_api(ROUTE_D2C_SEND));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rest_route");
	TCase *tc = tcase_create("rest_method_parse");
	tcase_add_test(tc, rest_method_parse_names);
	suite_add_tcase(s, tc);
	tc = tcase_create("rest_route_match");
	tcase_add_test(tc, rest_route_match_every_route_captures_ids);
	tcase_add_test(tc, rest_route_match_c2d_settle_captures_lock);
	tcase_add_test(tc, rest_route_match_wrong_method_is_state);
	tcase_add_test(tc, rest_route_match_unknown_or_bad_paths_fail);
	tcase_add_test(tc, rest_route_match_post_devices_is_bulk);
	suite_add_tcase(s, tc);
	tc = tcase_create("rest_route_is_device_api");
	tcase_add_test(tc, rest_route_is_device_api_only_device_routes);
	suite_add_tcase(s, tc);
	tc = tcase_create("rest_route_is_simhub_api");
	tcase_add_test(tc, rest_route_is_simhub_api_only_simhub_routes);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
