/*
 * check_cli.c: the pure parsing of the CLI's client verbs: --since, NAME=VALUE properties,
 * DEVICE[/MODULE], the ready file path, hub URLs and IoT Hub error lines (the SSE parser
 * is core/sse, tested in check_sse.c).
 * app/ is an executable, not a library, so its two files are compiled into this test.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "app/cli.c"
#include "app/hubclient.c"

#define NOW_US (1743501600LL * 1000000) /* 2025-04-01T10:00:00Z */

/* --- cli_parse_since -------------------------------------------------------------------------- */

START_TEST(cli_parse_since_durations_subtract_from_now)
{
	int64_t us = 0;
	ck_assert_int_eq(cli_parse_since("10m", NOW_US, &us), 0);
	ck_assert(us == NOW_US - 600LL * 1000000);
	ck_assert_int_eq(cli_parse_since("90", NOW_US, &us), 0);
	ck_assert(us == NOW_US - 90LL * 1000000);
	ck_assert_int_eq(cli_parse_since("2d", NOW_US, &us), 0);
	ck_assert(us == NOW_US - 172800LL * 1000000);
	ck_assert_int_eq(cli_parse_since("0s", NOW_US, &us), 0);
	ck_assert(us == NOW_US);
}
END_TEST

START_TEST(cli_parse_since_iso_times_parse)
{
	int64_t us = 0;
	ck_assert_int_eq(cli_parse_since("2025-04-01T10:00:00Z", NOW_US + 5, &us), 0);
	ck_assert(us == NOW_US);
	ck_assert_int_eq(cli_parse_since("2025-04-01T12:00:00+02:00", 0, &us), 0);
	ck_assert(us == NOW_US);
}
END_TEST

static const char *const bad_since[] = {
	"", "m", "10x", "-5m", "10m ", " 10m", "2025-04-01", "2025-04-01T10:00:00", "yesterday",
	"99999999999999999999", "1e3", "10mm", "2025-13-01T00:00:00Z",
};

START_TEST(cli_parse_since_bad_input_fails)
{
	int64_t us = 77;
	ck_assert_int_eq(cli_parse_since(bad_since[_i], NOW_US, &us), -1);
	ck_assert(us == 77);
}
END_TEST

START_TEST(cli_parse_since_null_fails)
{
	int64_t us = 0;
	ck_assert_int_eq(cli_parse_since(NULL, NOW_US, &us), -1);
}
END_TEST

/* --- cli_parse_property ------------------------------------------------------------------------ */

START_TEST(cli_parse_property_splits_at_first_equals)
{
	char n[16], v[16];
	ck_assert_int_eq(cli_parse_property("color=red", n, sizeof n, v, sizeof v), 0);
	ck_assert_str_eq(n, "color");
	ck_assert_str_eq(v, "red");
	ck_assert_int_eq(cli_parse_property("a=b=c", n, sizeof n, v, sizeof v), 0);
	ck_assert_str_eq(n, "a");
	ck_assert_str_eq(v, "b=c");
	ck_assert_int_eq(cli_parse_property("k=", n, sizeof n, v, sizeof v), 0);
	ck_assert_str_eq(v, "");
}
END_TEST

START_TEST(cli_parse_property_bad_input_fails)
{
	char n[8], v[8];
	ck_assert_int_eq(cli_parse_property("", n, sizeof n, v, sizeof v), -1);
	ck_assert_int_eq(cli_parse_property("=", n, sizeof n, v, sizeof v), -1);
	ck_assert_int_eq(cli_parse_property("=v", n, sizeof n, v, sizeof v), -1);
	ck_assert_int_eq(cli_parse_property("novalue", n, sizeof n, v, sizeof v), -1);
	ck_assert_int_eq(cli_parse_property(NULL, n, sizeof n, v, sizeof v), -1);
	ck_assert_int_eq(cli_parse_property("12345678=v", n, sizeof n, v, sizeof v), -1);
	ck_assert_int_eq(cli_parse_property("k=12345678", n, sizeof n, v, sizeof v), -1);
	ck_assert_int_eq(cli_parse_property("1234567=1234567", n, sizeof n, v, sizeof v), 0);
}
END_TEST

/* --- cli_split_identity ----------------------------------------------------------------------- */

START_TEST(cli_split_identity_device_and_module)
{
	char d[8], m[8];
	ck_assert_int_eq(cli_split_identity("dev", d, sizeof d, m, sizeof m), 0);
	ck_assert_str_eq(d, "dev");
	ck_assert_str_eq(m, "");
	ck_assert_int_eq(cli_split_identity("dev/mod", d, sizeof d, m, sizeof m), 0);
	ck_assert_str_eq(d, "dev");
	ck_assert_str_eq(m, "mod");
}
END_TEST

START_TEST(cli_split_identity_bad_input_fails)
{
	char d[8], m[8];
	ck_assert_int_eq(cli_split_identity("", d, sizeof d, m, sizeof m), -1);
	ck_assert_int_eq(cli_split_identity("/mod", d, sizeof d, m, sizeof m), -1);
	ck_assert_int_eq(cli_split_identity("dev/", d, sizeof d, m, sizeof m), -1);
	ck_assert_int_eq(cli_split_identity("12345678", d, sizeof d, m, sizeof m), -1);
	ck_assert_int_eq(cli_split_identity("d/12345678", d, sizeof d, m, sizeof m), -1);
}
END_TEST

/* --- cli_ready_path --------------------------------------------------------------------------- */

START_TEST(cli_ready_path_beside_the_database)
{
	char p[64];
	ck_assert_int_eq(cli_ready_path("./simhub-data/simhub.db", p, sizeof p), 0);
	ck_assert_str_eq(p, "./simhub-data/simhub.ready.json");
	ck_assert_int_eq(cli_ready_path("hub.db", p, sizeof p), 0);
	ck_assert_str_eq(p, "./simhub.ready.json");
	ck_assert_int_eq(cli_ready_path("/hub.db", p, sizeof p), 0);
	ck_assert_str_eq(p, "/simhub.ready.json");
}
END_TEST

START_TEST(cli_ready_path_memory_or_too_long_fails)
{
	char p[24];
	ck_assert_int_eq(cli_ready_path(":memory:", p, sizeof p), -1);
	ck_assert_int_eq(cli_ready_path("", p, sizeof p), -1);
	ck_assert_int_eq(cli_ready_path("/a/long/folder/name/x.db", p, sizeof p), -1);
}
END_TEST

/* --- hubclient_url_parse ---------------------------------------------------------------------- */

START_TEST(hubclient_url_parse_forms)
{
	struct hubclient_url u;
	ck_assert_int_eq(hubclient_url_parse("https://127.0.0.1:8443", &u), SH_OK);
	ck_assert_str_eq(u.host, "127.0.0.1");
	ck_assert_int_eq(u.port, 8443);
	ck_assert_int_eq(hubclient_url_parse("https://localhost/", &u), SH_OK);
	ck_assert_str_eq(u.host, "localhost");
	ck_assert_int_eq(u.port, 443);
	ck_assert_int_eq(hubclient_url_parse("https://[::1]:9", &u), SH_OK);
	ck_assert_str_eq(u.host, "::1");
	ck_assert_int_eq(u.port, 9);
}
END_TEST

static const char *const bad_urls[] = {
	"", "h", "http://127.0.0.1:1", "https://", "https://:443", "https://h:0", "https://h:65536",
	"https://h:x", "https://h:", "https://h/path", "https://h:1/x", "https://u@h", "https://[]:1",
	"https://[::1", "https://h h", "HTTPS://h", "https://h:99999999999999999999",
};

START_TEST(hubclient_url_parse_bad_input_fails)
{
	struct hubclient_url u;
	ck_assert_int_eq(hubclient_url_parse(bad_urls[_i], &u), SH_E_MALFORMED);
}
END_TEST

START_TEST(hubclient_url_parse_oversize_host_fails)
{
	char url[HUBCLIENT_HOST_MAX + 32] = "https://";
	memset(url + 8, 'a', HUBCLIENT_HOST_MAX);
	url[8 + HUBCLIENT_HOST_MAX] = '\0';
	struct hubclient_url u;
	ck_assert_int_eq(hubclient_url_parse(url, &u), SH_E_MALFORMED);
	url[8 + HUBCLIENT_HOST_MAX - 1] = '\0';
	ck_assert_int_eq(hubclient_url_parse(url, &u), SH_OK);
}
END_TEST

/* --- hubclient_new ---------------------------------------------------------------------------- */

START_TEST(hubclient_new_bad_connection_strings_fail)
{
	struct hubclient *hc = NULL;
	char err[256];
	struct hubclient_config cfg = {"https://127.0.0.1:1", NULL,
				       "HostName=h;DeviceId=d;SharedAccessKey=AAAA", 0};
	ck_assert_int_eq(hubclient_new(&cfg, &hc, err, sizeof err), SH_E_INVALID);
	ck_assert_ptr_null(hc);
	cfg.service_cs = "garbage";
	ck_assert_int_eq(hubclient_new(&cfg, &hc, err, sizeof err), SH_E_MALFORMED);
	cfg.service_cs = NULL;
	ck_assert_int_eq(hubclient_new(&cfg, &hc, err, sizeof err), SH_E_MALFORMED);
	cfg.service_cs = "HostName=h;SharedAccessKeyName=p;SharedAccessKey=AAAA";
	cfg.url = "ftp://x";
	ck_assert_int_eq(hubclient_new(&cfg, &hc, err, sizeof err), SH_E_MALFORMED);
	ck_assert_ptr_nonnull(strstr(err, "not a hub URL"));
	cfg.url = "https://x:1";
	ck_assert_int_eq(hubclient_new(&cfg, &hc, err, sizeof err), SH_OK);
	ck_assert_ptr_nonnull(strstr(hc->token, "sr=h&sig="));
	ck_assert_ptr_nonnull(strstr(hc->token, "&skn=p"));
	hubclient_free(hc);
}
END_TEST

/* --- hubclient_error_text --------------------------------------------------------------------- */

START_TEST(hubclient_error_text_both_body_formats)
{
	char out[256];
	int code = 0;
	struct hubclient_response r = {.status = 404, .error_code = "DeviceNotFound"};
	r.body = "{\"Message\":\"{\\\"errorCode\\\":404001,\\\"message\\\":\\\"device x not found\\\"}\","
		 "\"ExceptionMessage\":\"\"}";
	hubclient_error_text(&r, out, sizeof out, &code);
	ck_assert_str_eq(out, "404001 DeviceNotFound: device x not found");
	ck_assert_int_eq(code, 404001);
	r.body = "{\"Message\":\"ErrorCode:DeviceNotFound;device x not found\"}";
	hubclient_error_text(&r, out, sizeof out, &code);
	ck_assert_str_eq(out, "DeviceNotFound (HTTP 404): device x not found");
	ck_assert_int_eq(code, 0);
}
END_TEST

START_TEST(hubclient_error_text_foreign_bodies)
{
	char out[64];
	struct hubclient_response r = {.status = 502};
	r.body = "Bad gateway\nmore";
	hubclient_error_text(&r, out, sizeof out, NULL);
	ck_assert_str_eq(out, "HTTP 502: Bad gateway");
	r.body = NULL;
	hubclient_error_text(&r, out, sizeof out, NULL);
	ck_assert_str_eq(out, "HTTP 502");
	r.body = "{\"Message\":42}";
	hubclient_error_text(&r, out, sizeof out, NULL);
	ck_assert_str_eq(out, "HTTP 502: {\"Message\":42}");
}
END_TEST

static Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli_parse_since");
	tcase_add_test(tc, cli_parse_since_durations_subtract_from_now);
	tcase_add_test(tc, cli_parse_since_iso_times_parse);
	tcase_add_loop_test(tc, cli_parse_since_bad_input_fails, 0,
			    (int)(sizeof bad_since / sizeof bad_since[0]));
	tcase_add_test(tc, cli_parse_since_null_fails);
	suite_add_tcase(s, tc);
	tc = tcase_create("cli_parse_property");
	tcase_add_test(tc, cli_parse_property_splits_at_first_equals);
	tcase_add_test(tc, cli_parse_property_bad_input_fails);
	suite_add_tcase(s, tc);
	tc = tcase_create("cli_split_identity");
	tcase_add_test(tc, cli_split_identity_device_and_module);
	tcase_add_test(tc, cli_split_identity_bad_input_fails);
	suite_add_tcase(s, tc);
	tc = tcase_create("cli_ready_path");
	tcase_add_test(tc, cli_ready_path_beside_the_database);
	tcase_add_test(tc, cli_ready_path_memory_or_too_long_fails);
	suite_add_tcase(s, tc);
	tc = tcase_create("hubclient_url_parse");
	tcase_add_test(tc, hubclient_url_parse_forms);
	tcase_add_loop_test(tc, hubclient_url_parse_bad_input_fails, 0,
			    (int)(sizeof bad_urls / sizeof bad_urls[0]));
	tcase_add_test(tc, hubclient_url_parse_oversize_host_fails);
	suite_add_tcase(s, tc);
	tc = tcase_create("hubclient_new");
	tcase_add_test(tc, hubclient_new_bad_connection_strings_fail);
	suite_add_tcase(s, tc);
	tc = tcase_create("hubclient_error_text");
	tcase_add_test(tc, hubclient_error_text_both_body_formats);
	tcase_add_test(tc, hubclient_error_text_foreign_bodies);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cli_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
