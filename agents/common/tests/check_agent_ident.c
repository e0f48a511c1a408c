/*
 * check_agent_ident.c: unit tests of simhub_agentlib's agent_ident room (connection strings,
 * MQTT strings, topics, backoff, renewal). No network, no clock.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_ident.h"
#include "core/sas.h"

#define KEY "0It83Ij/StW87u4iOh6E2cdQlegt4W9hJevUj2k08eM="

START_TEST(agent_ident_from_cs_module_ok)
{
	struct agent_ident id;
	const char *why = NULL;
	ck_assert_int_eq(agent_ident_from_cs("HostName=h.azure-devices.net;DeviceId=d1;ModuleId=azureiotsecurity;"
					     "SharedAccessKey=" KEY ";GatewayHostName=localhost", &id, &why), SH_OK);
	ck_assert_str_eq(why, "");
	ck_assert_str_eq(id.host, "h.azure-devices.net");
	ck_assert_str_eq(id.device_id, "d1");
	ck_assert_str_eq(id.module_id, "azureiotsecurity");
	ck_assert_str_eq(id.key, KEY);
	ck_assert_str_eq(agent_ident_dial_host(&id), "localhost");
	char b[512];
	ck_assert_int_eq(agent_ident_client_id(&id, b, sizeof b), SH_OK);
	ck_assert_str_eq(b, "d1/azureiotsecurity");
	ck_assert_int_eq(agent_ident_username(&id, b, sizeof b), SH_OK);
	ck_assert_str_eq(b, "h.azure-devices.net/d1/azureiotsecurity/?api-version=" AGENT_API_VERSION);
	ck_assert_int_eq(agent_ident_resource(&id, b, sizeof b), SH_OK);
	ck_assert_str_eq(b, "h.azure-devices.net/devices/d1/modules/azureiotsecurity");
	ck_assert_int_eq(agent_ident_telemetry_topic(&id, "%24.ifid=x", b, sizeof b), SH_OK);
	ck_assert_str_eq(b, "devices/d1/modules/azureiotsecurity/messages/events/%24.ifid=x");
	ck_assert_int_eq(agent_ident_username(&id, b, 10), SH_E_NOSPACE);
	ck_assert_str_eq(b, "");
}
END_TEST

START_TEST(agent_ident_from_cs_device_ok)
{
	struct agent_ident id;
	ck_assert_int_eq(agent_ident_from_cs("HostName=h;DeviceId=d1;SharedAccessKey=" KEY, &id, NULL), SH_OK);
	ck_assert_str_eq(id.module_id, "");
	ck_assert_str_eq(agent_ident_dial_host(&id), "h");
	char b[256];
	agent_ident_client_id(&id, b, sizeof b);
	ck_assert_str_eq(b, "d1");
	agent_ident_username(&id, b, sizeof b);
	ck_assert_str_eq(b, "h/d1/?api-version=" AGENT_API_VERSION);
	agent_ident_telemetry_topic(&id, NULL, b, sizeof b);
	ck_assert_str_eq(b, "devices/d1/messages/events/");
}
END_TEST

START_TEST(agent_ident_from_cs_refused)
{
	static const char *const bad[] = {
		"", "x", "HostName=h", "HostName=h;SharedAccessKeyName=p;SharedAccessKey=" KEY,
		"HostName=h;DeviceId=d;SharedAccessSignature=SharedAccessSignature sr=a&sig=b&se=1",
		"HostName=h;DeviceId=d;x509=true", "HostName=h;DeviceId=d;SharedAccessKeyName=p;SharedAccessKey=" KEY,
		"Hostname=h;DeviceId=d;SharedAccessKey=" KEY, "HostName=h;DeviceId=d;DeviceId=e;SharedAccessKey=k",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct agent_ident id;
		const char *why = NULL;
		ck_assert_msg(agent_ident_from_cs(bad[i], &id, &why) != SH_OK, "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(why);
		ck_assert_str_ne(why, "");
		ck_assert_str_eq(id.host, "");
	}
	struct agent_ident id;
	ck_assert_int_eq(agent_ident_from_cs(NULL, &id, NULL), SH_E_INVALID);
	char longhost[400];
	memset(longhost, 'a', sizeof longhost);
	memcpy(longhost, "HostName=", 9);
	snprintf(longhost + 300, 100, ";DeviceId=d;SharedAccessKey=%s", KEY);
	ck_assert_int_eq(agent_ident_from_cs(longhost, &id, NULL), SH_E_TOOLARGE);
}
END_TEST

START_TEST(agent_ident_password_verifies)
{
	struct agent_ident id;
	ck_assert_int_eq(agent_ident_from_cs("HostName=h;DeviceId=d1;ModuleId=m;SharedAccessKey=" KEY, &id, NULL), SH_OK);
	char tok[1024];
	ck_assert_int_eq(agent_ident_password(&id, 2000000000, tok, sizeof tok), SH_OK);
	struct sas_token t;
	ck_assert_int_eq(sas_parse(tok, strlen(tok), &t), SH_OK);
	ck_assert_int_eq(t.expiry_s, 2000000000);
	const char *keys[] = {KEY};
	enum sas_refusal why;
	ck_assert_int_eq(sas_check(&t, "h/devices/d1/modules/m", keys, 1, 1999999999, 0, true, &why), SH_OK);
	ck_assert_int_eq(sas_check(&t, "h/devices/d1/modules/other", keys, 1, 1999999999, 0, true, &why),
			 SH_E_UNAUTHORIZED);
	snprintf(id.key, sizeof id.key, "not base64!");
	ck_assert_int_ne(agent_ident_password(&id, 2000000000, tok, sizeof tok), SH_OK);
}
END_TEST

START_TEST(agent_topic_parse_twin_topics)
{
	struct agent_topic t;
	const char *s = "$iothub/twin/res/200/?$rid=7&$version=12";
	ck_assert_int_eq(agent_topic_parse(s, strlen(s), &t), SH_OK);
	ck_assert_int_eq(t.kind, AGENT_TOPIC_TWIN_RES);
	ck_assert_int_eq(t.status, 200);
	ck_assert_int_eq(t.rid, 7);
	ck_assert_int_eq(t.version, 12);
	s = "$iothub/twin/res/204/?$version=3&$rid=8";
	ck_assert_int_eq(agent_topic_parse(s, strlen(s), &t), SH_OK);
	ck_assert_int_eq(t.status, 204);
	ck_assert_int_eq(t.rid, 8);
	s = "$iothub/twin/res/400/?$rid=abc";
	ck_assert_int_eq(agent_topic_parse(s, strlen(s), &t), SH_OK);
	ck_assert_int_eq(t.rid, -1);
	ck_assert_int_eq((int)t.rid_len, 3);
	ck_assert_int_eq(memcmp(t.rid_text, "abc", 3), 0);
	ck_assert_int_eq(t.version, -1);
	s = "$iothub/twin/PATCH/properties/desired/?$version=42";
	ck_assert_int_eq(agent_topic_parse(s, strlen(s), &t), SH_OK);
	ck_assert_int_eq(t.kind, AGENT_TOPIC_TWIN_DESIRED);
	ck_assert_int_eq(t.version, 42);
	ck_assert_ptr_null(t.rid_text);
	s = "devices/d/messages/events/x";
	ck_assert_int_eq(agent_topic_parse(s, strlen(s), &t), SH_OK);
	ck_assert_int_eq(t.kind, AGENT_TOPIC_OTHER);
	static const char *const bad[] = {"$iothub/twin/res/", "$iothub/twin/res/abc/?$rid=1",
					  "$iothub/twin/res/2000/?$rid=1",
					  "$iothub/twin/PATCH/properties/desired/?$version=x",
					  "$iothub/twin/res/200/?$version=99999999999999999999"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(agent_topic_parse(bad[i], strlen(bad[i]), &t) == SH_E_MALFORMED, "%s", bad[i]);
	ck_assert_int_eq(agent_topic_parse("", 0, &t), SH_OK);
	ck_assert_int_eq(t.kind, AGENT_TOPIC_OTHER);
	char b[80];
	ck_assert_int_eq(agent_topic_twin_get(5, b, sizeof b), SH_OK);
	ck_assert_str_eq(b, "$iothub/twin/GET/?$rid=5");
	ck_assert_int_eq(agent_topic_twin_report(6, b, sizeof b), SH_OK);
	ck_assert_str_eq(b, "$iothub/twin/PATCH/properties/reported/?$rid=6");
	ck_assert_int_eq(agent_topic_twin_report(6, b, 8), SH_E_NOSPACE);
}
END_TEST

START_TEST(agent_topic_parse_method_and_c2d)
{
	struct agent_topic t;
	const char *s = "$iothub/methods/POST/reboot/?$rid=1a2B";
	ck_assert_int_eq(agent_topic_parse(s, strlen(s), &t), SH_OK);
	ck_assert_int_eq(t.kind, AGENT_TOPIC_METHOD);
	ck_assert_int_eq((int)t.name_len, 6);
	ck_assert_int_eq(memcmp(t.name, "reboot", 6), 0);
	ck_assert_int_eq((int)t.rid_len, 4);
	ck_assert_int_eq(memcmp(t.rid_text, "1a2B", 4), 0);
	ck_assert_int_eq(t.rid, -1);   /* not decimal: only the text is usable */
	s = "$iothub/methods/POST/m/?x=1&$rid=42";
	ck_assert_int_eq(agent_topic_parse(s, strlen(s), &t), SH_OK);
	ck_assert_int_eq(t.rid, 42);
	ck_assert_int_eq((int)t.rid_len, 2);
	s = "devices/dev-1/messages/devicebound/%24.mid=1&a=b";
	ck_assert_int_eq(agent_topic_parse(s, strlen(s), &t), SH_OK);
	ck_assert_int_eq(t.kind, AGENT_TOPIC_C2D);
	ck_assert_int_eq((int)t.name_len, 5);
	ck_assert_int_eq(memcmp(t.name, "dev-1", 5), 0);
	static const char *const other[] = {"devices//messages/devicebound/", "devices/d",
					    "devices/d/messages/devicebound", "$iothub/methods/res/200/?$rid=1"};
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
		ck_assert_int_eq(agent_topic_parse(other[i], strlen(other[i]), &t), SH_OK);
		ck_assert_msg(t.kind == AGENT_TOPIC_OTHER, "%s", other[i]);
	}
	static const char *const bad[] = {"$iothub/methods/POST/", "$iothub/methods/POST/m",
					  "$iothub/methods/POST//?$rid=1", "$iothub/methods/POST/m/",
					  "$iothub/methods/POST/m/?$rid=", "$iothub/methods/POST/m/?a=1",
					  "$iothub/methods/POST/m?x/?$rid=1",
					  "$iothub/methods/POST/m/x?$rid=1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(agent_topic_parse(bad[i], strlen(bad[i]), &t) == SH_E_MALFORMED, "%s", bad[i]);
	/* a name longer than an id */
	char longname[300];
	snprintf(longname, sizeof longname, "$iothub/methods/POST/%0200d/?$rid=1", 0);
	ck_assert_int_eq(agent_topic_parse(longname, strlen(longname), &t), SH_E_MALFORMED);
	/* truncated prefixes are not method topics */
	ck_assert_int_eq(agent_topic_parse("$iothub/methods/POST/m/?$rid=1", 10, &t), SH_OK);
	ck_assert_int_eq(t.kind, AGENT_TOPIC_OTHER);
}
END_TEST

START_TEST(agent_topic_method_res_round_trip)
{
	char b[128];
	ck_assert_int_eq(agent_topic_method_res(200, "1a2B", 4, b, sizeof b), SH_OK);
	ck_assert_str_eq(b, "$iothub/methods/res/200/?$rid=1a2B");
	struct agent_topic t;
	const char *req = "$iothub/methods/POST/go/?$rid=abc&x=1";
	ck_assert_int_eq(agent_topic_parse(req, strlen(req), &t), SH_OK);
	ck_assert_int_eq(agent_topic_method_res(501, t.rid_text, t.rid_len, b, sizeof b), SH_OK);
	ck_assert_str_eq(b, "$iothub/methods/res/501/?$rid=abc");
	ck_assert_int_eq(agent_topic_method_res(-1, "1", 1, b, sizeof b), SH_E_INVALID);
	ck_assert_int_eq(agent_topic_method_res(1000, "1", 1, b, sizeof b), SH_E_INVALID);
	ck_assert_int_eq(agent_topic_method_res(200, "a&b", 3, b, sizeof b), SH_E_INVALID);
	ck_assert_int_eq(agent_topic_method_res(200, "a/b", 3, b, sizeof b), SH_E_INVALID);
	ck_assert_int_eq(agent_topic_method_res(200, "a\0b", 3, b, sizeof b), SH_E_INVALID);
	ck_assert_int_eq(agent_topic_method_res(200, NULL, 2, b, sizeof b), SH_E_INVALID);
	ck_assert_int_eq(agent_topic_method_res(200, "123", 3, b, 10), SH_E_NOSPACE);
	ck_assert_str_eq(b, "");
}
END_TEST

START_TEST(agent_ident_make_parts)
{
	struct agent_ident id;
	ck_assert_int_eq(agent_ident_make(&id, "hub.example", "d1", "m1", KEY), SH_OK);
	char b[512];
	agent_ident_username(&id, b, sizeof b);
	ck_assert_str_eq(b, "hub.example/d1/m1/?api-version=" AGENT_API_VERSION);
	ck_assert_str_eq(agent_ident_dial_host(&id), "hub.example");
	/* the same token as the connection-string route */
	struct agent_ident cs;
	ck_assert_int_eq(agent_ident_from_cs("HostName=hub.example;DeviceId=d1;ModuleId=m1;SharedAccessKey=" KEY,
					     &cs, NULL), SH_OK);
	char t1[AGENT_PASS_MAX], t2[AGENT_PASS_MAX];
	ck_assert_int_eq(agent_ident_password(&id, 1900000000, t1, sizeof t1), SH_OK);
	ck_assert_int_eq(agent_ident_password(&cs, 1900000000, t2, sizeof t2), SH_OK);
	ck_assert_str_eq(t1, t2);
	/* device, no key: topics work, signing does not */
	ck_assert_int_eq(agent_ident_make(&id, "h", "d2", NULL, NULL), SH_OK);
	ck_assert_str_eq(id.module_id, "");
	agent_ident_telemetry_topic(&id, NULL, b, sizeof b);
	ck_assert_str_eq(b, "devices/d2/messages/events/");
	ck_assert_int_eq(agent_ident_c2d_filter(&id, b, sizeof b), SH_OK);
	ck_assert_str_eq(b, "devices/d2/messages/devicebound/#");
	ck_assert_int_eq(agent_ident_c2d_filter(&id, b, 5), SH_E_NOSPACE);
	ck_assert_int_ne(agent_ident_password(&id, 1900000000, t1, sizeof t1), SH_OK);
	/* refused */
	ck_assert_int_eq(agent_ident_make(&id, NULL, "d", NULL, KEY), SH_E_INVALID);
	ck_assert_int_eq(agent_ident_make(&id, "", "d", NULL, KEY), SH_E_INVALID);
	ck_assert_int_eq(agent_ident_make(&id, "h", "", NULL, KEY), SH_E_INVALID);
	ck_assert_int_eq(agent_ident_make(&id, "h", NULL, NULL, KEY), SH_E_INVALID);
	char big[AGENT_HOST_MAX + 2];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ck_assert_int_eq(agent_ident_make(&id, big, "d", NULL, KEY), SH_E_TOOLARGE);
	ck_assert_str_eq(id.host, "");
	big[AGENT_ID_MAX + 1] = '\0';
	ck_assert_int_eq(agent_ident_make(&id, "h", big, NULL, KEY), SH_E_TOOLARGE);
	ck_assert_int_eq(agent_ident_make(&id, "h", "d", big, KEY), SH_E_TOOLARGE);
	big[AGENT_ID_MAX] = '\0';
	ck_assert_int_eq(agent_ident_make(&id, "h", big, big, KEY), SH_OK);
}
END_TEST

START_TEST(agent_service_from_cs_ok_and_token_verifies)
{
	struct agent_service s;
	const char *why = NULL;
	ck_assert_int_eq(agent_service_from_cs("HostName=hub.example;SharedAccessKeyName=iothubowner;"
					       "SharedAccessKey=" KEY, &s, &why), SH_OK);
	ck_assert_str_eq(s.host, "hub.example");
	ck_assert_str_eq(s.policy, "iothubowner");
	ck_assert_str_eq(s.key, KEY);
	char tok[AGENT_PASS_MAX];
	ck_assert_int_eq(agent_service_token(&s, 2000000000, tok, sizeof tok), SH_OK);
	struct sas_token t;
	ck_assert_int_eq(sas_parse(tok, strlen(tok), &t), SH_OK);
	ck_assert_int_eq((int)t.skn.len, 11);
	ck_assert_int_eq(memcmp(t.skn.p, "iothubowner", 11), 0);
	const char *keys[] = {KEY};
	enum sas_refusal r;
	ck_assert_int_eq(sas_check(&t, "hub.example", keys, 1, 1999999999, 0, true, &r), SH_OK);
	ck_assert_int_eq(sas_check(&t, "other.example", keys, 1, 1999999999, 0, true, &r),
			 SH_E_UNAUTHORIZED);
	ck_assert_int_eq(agent_service_token(&s, 2000000000, tok, 20), SH_E_NOSPACE);
	snprintf(s.key, sizeof s.key, "not base64!");
	ck_assert_int_ne(agent_service_token(&s, 2000000000, tok, sizeof tok), SH_OK);
	s.key[0] = '\0';
	ck_assert_int_eq(agent_service_token(&s, 2000000000, tok, sizeof tok), SH_E_INVALID);
}
END_TEST

START_TEST(agent_service_from_cs_refused)
{
	static const char *const bad[] = {
		"", "x", ";;;", "HostName=h", "HostName=h;SharedAccessKey=" KEY,
		"HostName=h;DeviceId=d;SharedAccessKey=" KEY,
		"HostName=h;DeviceId=d;ModuleId=m;SharedAccessKey=" KEY,
		"HostName=h;SharedAccessKeyName=p",
		"HostName=h;SharedAccessKeyName=p;SharedAccessSignature=SharedAccessSignature sr=h&sig=a&se=1",
		"HostName=h;SharedAccessKeyName=p;SharedAccessKeyName=q;SharedAccessKey=" KEY,
		"\x01\xff=\x80",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct agent_service s;
		const char *why = NULL;
		ck_assert_msg(agent_service_from_cs(bad[i], &s, &why) != SH_OK, "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(why);
		ck_assert_str_ne(why, "");
		ck_assert_str_eq(s.host, "");
	}
	struct agent_service s;
	ck_assert_int_eq(agent_service_from_cs(NULL, &s, NULL), SH_E_INVALID);
	char longpol[400];
	snprintf(longpol, sizeof longpol, "HostName=h;SharedAccessKeyName=%0200d;SharedAccessKey=%s", 0, KEY);
	ck_assert_int_eq(agent_service_from_cs(longpol, &s, NULL), SH_E_TOOLARGE);
	ck_assert_str_eq(s.policy, "");
}
END_TEST

START_TEST(agent_backoff_ms_doubles_capped_jittered)
{
	ck_assert_int_eq(agent_backoff_ms(0, 1000, 60000, 0), 1000);
	ck_assert_int_eq(agent_backoff_ms(1, 1000, 60000, 0), 2000);
	ck_assert_int_eq(agent_backoff_ms(5, 1000, 60000, 0), 32000);
	ck_assert_int_eq(agent_backoff_ms(6, 1000, 60000, 0), 60000);
	ck_assert_int_eq(agent_backoff_ms(1000, 1000, 60000, 0), 60000);
	ck_assert_int_eq(agent_backoff_ms(0, 1000, 60000, 1023), 750);
	for (uint32_t j = 0; j < 5000; j += 7) {
		int64_t d = agent_backoff_ms(3, 1000, 60000, j);
		ck_assert_int_ge(d, 6000);
		ck_assert_int_le(d, 8000);
	}
	ck_assert_int_eq(agent_backoff_ms(0, 0, 0, 0), 1);
	ck_assert_int_eq(agent_backoff_ms(3, 100, 50, 0), 100);
}
END_TEST

START_TEST(agent_renew_at_s_within_lifetime)
{
	ck_assert_int_eq(agent_renew_at_s(1000, 4600), 1000 + 2880);
	ck_assert_int_eq(agent_renew_at_s(1000, 1010), 1008);
	ck_assert_int_eq(agent_renew_at_s(1000, 1002), 1001);
	ck_assert_int_eq(agent_renew_at_s(1000, 900), 1001);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent_ident");
	struct { const char *name; const TTest *t; } cases[] = {
		{"agent_ident_from_cs", agent_ident_from_cs_module_ok},
		{"agent_ident_from_cs", agent_ident_from_cs_device_ok},
		{"agent_ident_from_cs", agent_ident_from_cs_refused},
		{"agent_ident_password", agent_ident_password_verifies},
		{"agent_topic_parse", agent_topic_parse_twin_topics},
		{"agent_topic_parse", agent_topic_parse_method_and_c2d},
		{"agent_topic_method_res", agent_topic_method_res_round_trip},
		{"agent_ident_make", agent_ident_make_parts},
		{"agent_service_from_cs", agent_service_from_cs_ok_and_token_verifies},
		{"agent_service_from_cs", agent_service_from_cs_refused},
		{"agent_backoff_ms", agent_backoff_ms_doubles_capped_jittered},
		{"agent_renew_at_s", agent_renew_at_s_within_lifetime},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		TCase *t = tcase_create(cases[i].name);
		tcase_add_test(t, cases[i].t);
		suite_add_tcase(s, t);
	}
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
