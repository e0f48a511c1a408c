/*
 * check_connstr.c: unit tests of core/connstr: parse every shape of iothub-protocol.md §1.2
 * (values holding '=' included), refuse bad input and the Node SDK's forbidden combinations,
 * build device / module / service strings, and round trips.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/connstr.h"
#include "core/sas.h"

#define KEY "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU="
#define TOKEN                                                                                   \
	"SharedAccessSignature sr=localhost%2Fdevices%2Fdev1&sig=qEkfTvLrLlojH%2BA2snZkaanhEiDIey" \
	"gAUR43CavEbZU%3D&se=1795904923"

static int span_eq(struct sas_span s, const char *lit)
{
	if (!lit)
		return s.p == NULL && s.len == 0;
	return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

static struct connstr parse_ok(const char *text)
{
	struct connstr cs;
	const char *why = NULL;
	sh_rc rc = connstr_parse(text, strlen(text), &cs, &why);
	ck_assert_msg(rc == SH_OK, "refused (%s): %s", why ? why : "?", text);
	ck_assert_str_eq(why, "");
	return cs;
}

/* ---- connstr_parse ---- */

START_TEST(connstr_parse_device_key_classified)
{
	struct connstr cs = parse_ok("HostName=myhub.azure-devices.net;DeviceId=dev1;SharedAccessKey=" KEY);
	ck_assert_int_eq(cs.kind, CONNSTR_DEVICE);
	ck_assert_int_eq(cs.auth, CONNSTR_AUTH_KEY);
	ck_assert(span_eq(cs.host_name, "myhub.azure-devices.net"));
	ck_assert(span_eq(cs.device_id, "dev1"));
	ck_assert(span_eq(cs.shared_access_key, KEY)); /* the '=' padding survives */
	ck_assert(span_eq(cs.module_id, NULL));
	ck_assert(span_eq(cs.gateway_host_name, NULL));
	ck_assert(span_eq(cs.shared_access_key_name, NULL));
}
END_TEST

START_TEST(connstr_parse_module_key_classified)
{
	struct connstr cs = parse_ok("HostName=h.net;DeviceId=dev1;ModuleId=mod1;SharedAccessKey=" KEY);
	ck_assert_int_eq(cs.kind, CONNSTR_MODULE);
	ck_assert_int_eq(cs.auth, CONNSTR_AUTH_KEY);
	ck_assert(span_eq(cs.module_id, "mod1"));
}
END_TEST

START_TEST(connstr_parse_x509_any_case_true)
{
	struct connstr cs = parse_ok("HostName=h.net;DeviceId=dev1;x509=true");
	ck_assert_int_eq(cs.auth, CONNSTR_AUTH_X509);
	cs = parse_ok("HostName=h.net;DeviceId=dev1;x509=True");
	ck_assert_int_eq(cs.auth, CONNSTR_AUTH_X509);
	cs = parse_ok("HostName=h.net;DeviceId=dev1;ModuleId=m;x509=TRUE");
	ck_assert_int_eq(cs.kind, CONNSTR_MODULE);
	ck_assert_int_eq(cs.auth, CONNSTR_AUTH_X509);
}
END_TEST

START_TEST(connstr_parse_token_value_with_equals_kept_whole)
{
	struct connstr cs = parse_ok("HostName=localhost;DeviceId=dev1;SharedAccessSignature=" TOKEN);
	ck_assert_int_eq(cs.auth, CONNSTR_AUTH_TOKEN);
	ck_assert(span_eq(cs.shared_access_signature, TOKEN));
	struct sas_token t;
	ck_assert_int_eq(sas_parse(cs.shared_access_signature.p, cs.shared_access_signature.len, &t),
			 SH_OK);
	ck_assert(t.expiry_s == 1795904923);
}
END_TEST

START_TEST(connstr_parse_gateway_kept)
{
	struct connstr cs = parse_ok("HostName=hub.azure-devices.net;DeviceId=d;SharedAccessKey=" KEY
				     ";GatewayHostName=localhost");
	ck_assert(span_eq(cs.gateway_host_name, "localhost"));
	ck_assert(span_eq(cs.host_name, "hub.azure-devices.net"));
}
END_TEST

START_TEST(connstr_parse_service_classified)
{
	/* The Node service trace's string. */
	struct connstr cs = parse_ok("HostName=localhost;SharedAccessKeyName=iothubowner;SharedAccess"
				     "Key=c2VydmljZWtleXNlcnZpY2VrZXlzZXJ2aWNla2V5MDE=");
	ck_assert_int_eq(cs.kind, CONNSTR_SERVICE);
	ck_assert_int_eq(cs.auth, CONNSTR_AUTH_KEY);
	ck_assert(span_eq(cs.shared_access_key_name, "iothubowner"));
	ck_assert(span_eq(cs.shared_access_key, "c2VydmljZWtleXNlcnZpY2VrZXlzZXJ2aWNla2V5MDE="));
	ck_assert(span_eq(cs.device_id, NULL));
}
END_TEST

START_TEST(connstr_parse_device_with_policy_key_ok)
{
	struct connstr cs = parse_ok("HostName=h;DeviceId=d;SharedAccessKeyName=device;SharedAccessKey=" KEY);
	ck_assert_int_eq(cs.kind, CONNSTR_DEVICE);
	ck_assert_int_eq(cs.auth, CONNSTR_AUTH_KEY);
	ck_assert(span_eq(cs.shared_access_key_name, "device"));
}
END_TEST

START_TEST(connstr_parse_any_order_and_empty_pairs_ok)
{
	struct connstr cs = parse_ok("SharedAccessKey=" KEY ";;DeviceId=d;HostName=h;");
	ck_assert_int_eq(cs.kind, CONNSTR_DEVICE);
	ck_assert(span_eq(cs.host_name, "h"));
	cs = parse_ok(";HostName=h;DeviceId=d;x509=true;;;");
	ck_assert_int_eq(cs.auth, CONNSTR_AUTH_X509);
}
END_TEST

START_TEST(connstr_parse_oversize_value_carried_whole)
{
	size_t n = 100000;
	char *big = malloc(n + 64);
	strcpy(big, "HostName=h;DeviceId=d;SharedAccessKey=");
	size_t base = strlen(big);
	memset(big + base, 'A', n);
	struct connstr cs;
	ck_assert_int_eq(connstr_parse(big, base + n, &cs, NULL), SH_OK);
	ck_assert_uint_eq(cs.shared_access_key.len, n);
	free(big);
}
END_TEST

static const struct {
	const char *text;
	sh_rc rc;
} bad[] = {
	{ "", SH_E_MALFORMED },
	{ "H", SH_E_MALFORMED },
	{ ";", SH_E_INVALID },                                     /* nothing: no HostName */
	{ "HostName", SH_E_MALFORMED },
	{ "HostName=", SH_E_MALFORMED },
	{ "HostName=h;DeviceId=;x509=true", SH_E_MALFORMED },     /* empty value */
	{ "=h;DeviceId=d;x509=true", SH_E_MALFORMED },            /* empty name */
	{ "HostName=h;DeviceId=d;x509=true\n", SH_E_MALFORMED },  /* control byte */
	{ "HostName=h;DeviceId=d\t;x509=true", SH_E_MALFORMED },
	{ "Hostname=h;DeviceId=d;x509=true", SH_E_INVALID },      /* unknown (case) */
	{ "HostName=h;DeviceId=d;x509=true;UseProvisioning=true", SH_E_INVALID },
	{ "HostName=h;HostName=h;DeviceId=d;x509=true", SH_E_INVALID }, /* duplicate */
	{ "HostName=h;DeviceId=d;DeviceId=e;x509=true", SH_E_INVALID },
	{ "DeviceId=d;SharedAccessKey=" KEY, SH_E_INVALID },      /* no HostName */
	{ "HostName=h;ModuleId=m;SharedAccessKey=" KEY, SH_E_INVALID },
	{ "HostName=h;DeviceId=d", SH_E_INVALID },                /* no credential */
	{ "HostName=h;DeviceId=d;SharedAccessKey=" KEY ";x509=true", SH_E_INVALID },
	{ "HostName=h;DeviceId=d;SharedAccessKey=" KEY ";SharedAccessSignature=" TOKEN, SH_E_INVALID },
	{ "HostName=h;DeviceId=d;SharedAccessSignature=" TOKEN ";x509=true", SH_E_INVALID },
	{ "HostName=h;DeviceId=d;x509=false", SH_E_INVALID },
	{ "HostName=h;DeviceId=d;x509=1", SH_E_INVALID },
	{ "HostName=h;DeviceId=d;SharedAccessKeyName=p;SharedAccessSignature=" TOKEN, SH_E_INVALID },
	{ "HostName=h;DeviceId=d;SharedAccessKeyName=p;x509=true", SH_E_INVALID },
	{ "HostName=h;SharedAccessKey=" KEY, SH_E_INVALID },      /* service without policy */
	{ "HostName=h;SharedAccessKeyName=iothubowner", SH_E_INVALID },
	{ "HostName=h;SharedAccessKeyName=p;SharedAccessSignature=" TOKEN, SH_E_INVALID },
	{ "HostName=h;SharedAccessKeyName=p;SharedAccessKey=" KEY ";x509=true", SH_E_INVALID },
	{ "HostName=h", SH_E_INVALID },
	{ TOKEN, SH_E_INVALID },                                  /* wrong type: a token */
	{ "{\"HostName\":\"h\"}", SH_E_MALFORMED },               /* wrong type: JSON */
};

START_TEST(connstr_parse_bad_input_refused)
{
	struct connstr cs;
	const char *why = NULL;
	memset(&cs, 0x5a, sizeof cs);
	sh_rc rc = connstr_parse(bad[_i].text, strlen(bad[_i].text), &cs, &why);
	ck_assert_msg(rc == bad[_i].rc, "%s: rc %d (%s)", bad[_i].text, (int)rc, why ? why : "?");
	ck_assert(why && *why);
	ck_assert(cs.host_name.p == NULL && cs.device_id.p == NULL && cs.shared_access_key.p == NULL);
}
END_TEST

START_TEST(connstr_parse_embedded_nul_malformed)
{
	struct connstr cs;
	const char s[] = "HostName=h\0;DeviceId=d;x509=true";
	ck_assert_int_eq(connstr_parse(s, sizeof s - 1, &cs, NULL), SH_E_MALFORMED);
	ck_assert_int_eq(connstr_parse(NULL, 0, &cs, NULL), SH_E_MALFORMED);
}
END_TEST

START_TEST(connstr_parse_truncated_fails_until_complete)
{
	/* Exact-length copies so ASan sees over-reads. Before the key's value starts the string
	 * lacks a credential (or ends in an empty value); after, it is a shorter key. */
	const char *full = "HostName=h.net;DeviceId=dev1;SharedAccessKey=" KEY;
	size_t len = strlen(full);
	size_t key_at = len - strlen(KEY);
	for (size_t cut = 0; cut < len; cut++) {
		char *copy = malloc(cut ? cut : 1);
		memcpy(copy, full, cut);
		struct connstr cs;
		sh_rc rc = connstr_parse(copy, cut, &cs, NULL);
		if (cut <= key_at)
			ck_assert_msg(rc != SH_OK, "cut at %zu accepted", cut);
		else
			ck_assert_msg(rc == SH_OK && cs.shared_access_key.len == cut - key_at,
				      "cut at %zu refused", cut);
		free(copy);
	}
}
END_TEST

START_TEST(connstr_parse_null_why_allowed)
{
	struct connstr cs;
	ck_assert_int_eq(connstr_parse("HostName=h", 10, &cs, NULL), SH_E_INVALID);
}
END_TEST

/* ---- connstr_build_device ---- */

START_TEST(connstr_build_device_key_exact)
{
	char out[256];
	size_t n = 0;
	ck_assert_int_eq(connstr_build_device("h.net", "dev1", KEY, NULL, out, sizeof out, &n), SH_OK);
	ck_assert_str_eq(out, "HostName=h.net;DeviceId=dev1;SharedAccessKey=" KEY);
	ck_assert_uint_eq(n, strlen(out));
}
END_TEST

START_TEST(connstr_build_device_gateway_and_x509_exact)
{
	char out[256];
	ck_assert_int_eq(connstr_build_device("hub.azure-devices.net", "d", KEY, "localhost", out,
					      sizeof out, NULL), SH_OK);
	ck_assert_str_eq(out, "HostName=hub.azure-devices.net;DeviceId=d;SharedAccessKey=" KEY
			      ";GatewayHostName=localhost");
	ck_assert_int_eq(connstr_build_device("h", "d", NULL, "", out, sizeof out, NULL), SH_OK);
	ck_assert_str_eq(out, "HostName=h;DeviceId=d;x509=true");
}
END_TEST

START_TEST(connstr_build_device_short_buffer_nospace_reports_need)
{
	char out[64];
	size_t need = 0, n = 0;
	const char *want = "HostName=h;DeviceId=d;x509=true";
	ck_assert_int_eq(connstr_build_device("h", "d", NULL, NULL, out, strlen(want), &need),
			 SH_E_NOSPACE);
	ck_assert_uint_eq(need, strlen(want));
	ck_assert_int_eq(out[0], '\0');
	ck_assert_int_eq(connstr_build_device("h", "d", NULL, NULL, NULL, 0, &need), SH_E_NOSPACE);
	ck_assert_int_eq(connstr_build_device("h", "d", NULL, NULL, out, need + 1, &n), SH_OK);
	ck_assert_str_eq(out, want);
}
END_TEST

START_TEST(connstr_build_device_bad_value_invalid)
{
	char out[256];
	ck_assert_int_eq(connstr_build_device(NULL, "d", KEY, NULL, out, sizeof out, NULL), SH_E_INVALID);
	ck_assert_int_eq(connstr_build_device("h", "", KEY, NULL, out, sizeof out, NULL), SH_E_INVALID);
	ck_assert_int_eq(connstr_build_device("h", "d;x", KEY, NULL, out, sizeof out, NULL),
			 SH_E_INVALID);
	ck_assert_int_eq(connstr_build_device("h", "d", "", NULL, out, sizeof out, NULL), SH_E_INVALID);
	ck_assert_int_eq(connstr_build_device("h", "d", KEY, "gw\n", out, sizeof out, NULL),
			 SH_E_INVALID);
	ck_assert_int_eq(out[0], '\0');
}
END_TEST

START_TEST(connstr_build_device_round_trip_same_fields)
{
	char out[256];
	ck_assert_int_eq(connstr_build_device("h.net", "d=1", KEY, "gw", out, sizeof out, NULL), SH_OK);
	struct connstr cs = parse_ok(out);
	ck_assert_int_eq(cs.kind, CONNSTR_DEVICE);
	ck_assert(span_eq(cs.host_name, "h.net"));
	ck_assert(span_eq(cs.device_id, "d=1"));
	ck_assert(span_eq(cs.shared_access_key, KEY));
	ck_assert(span_eq(cs.gateway_host_name, "gw"));
}
END_TEST

/* ---- connstr_build_module ---- */

START_TEST(connstr_build_module_exact)
{
	char out[256];
	ck_assert_int_eq(connstr_build_module("h", "d", "m", KEY, NULL, out, sizeof out, NULL), SH_OK);
	ck_assert_str_eq(out, "HostName=h;DeviceId=d;ModuleId=m;SharedAccessKey=" KEY);
	ck_assert_int_eq(connstr_build_module("h", "d", NULL, KEY, NULL, out, sizeof out, NULL),
			 SH_E_INVALID);
	ck_assert_int_eq(connstr_build_module("h", "d", "", KEY, NULL, out, sizeof out, NULL),
			 SH_E_INVALID);
}
END_TEST

START_TEST(connstr_build_module_round_trip_same_fields)
{
	char out[256];
	ck_assert_int_eq(connstr_build_module("h", "d", "azureiotsecurity", NULL, "gw", out, sizeof out,
					      NULL), SH_OK);
	struct connstr cs = parse_ok(out);
	ck_assert_int_eq(cs.kind, CONNSTR_MODULE);
	ck_assert_int_eq(cs.auth, CONNSTR_AUTH_X509);
	ck_assert(span_eq(cs.module_id, "azureiotsecurity"));
	ck_assert(span_eq(cs.gateway_host_name, "gw"));
}
END_TEST

/* ---- connstr_build_service ---- */

START_TEST(connstr_build_service_exact)
{
	char out[256];
	ck_assert_int_eq(connstr_build_service("h", "iothubowner", KEY, NULL, out, sizeof out, NULL),
			 SH_OK);
	ck_assert_str_eq(out, "HostName=h;SharedAccessKeyName=iothubowner;SharedAccessKey=" KEY);
	ck_assert_int_eq(connstr_build_service("h", "iothubowner", KEY, "gw", out, sizeof out, NULL),
			 SH_OK);
	ck_assert_str_eq(out, "HostName=h;SharedAccessKeyName=iothubowner;SharedAccessKey=" KEY
			      ";GatewayHostName=gw");
}
END_TEST

START_TEST(connstr_build_service_missing_value_invalid)
{
	char out[256];
	ck_assert_int_eq(connstr_build_service("h", NULL, KEY, NULL, out, sizeof out, NULL),
			 SH_E_INVALID);
	ck_assert_int_eq(connstr_build_service("h", "p", NULL, NULL, out, sizeof out, NULL),
			 SH_E_INVALID);
	ck_assert_int_eq(connstr_build_service("", "p", KEY, NULL, out, sizeof out, NULL), SH_E_INVALID);
}
END_TEST

START_TEST(connstr_build_service_round_trip_same_fields)
{
	char out[256];
	ck_assert_int_eq(connstr_build_service("h.net", "registryRead", KEY, NULL, out, sizeof out,
					       NULL), SH_OK);
	struct connstr cs = parse_ok(out);
	ck_assert_int_eq(cs.kind, CONNSTR_SERVICE);
	ck_assert(span_eq(cs.shared_access_key_name, "registryRead"));
	ck_assert(span_eq(cs.shared_access_key, KEY));
}
END_TEST

static Suite *connstr_suite(void)
{
	Suite *s = suite_create("connstr");
	TCase *tc = tcase_create("connstr_parse");
	tcase_add_test(tc, connstr_parse_device_key_classified);
	tcase_add_test(tc, connstr_parse_module_key_classified);
	tcase_add_test(tc, connstr_parse_x509_any_case_true);
	tcase_add_test(tc, connstr_parse_token_value_with_equals_kept_whole);
	tcase_add_test(tc, connstr_parse_gateway_kept);
	tcase_add_test(tc, connstr_parse_service_classified);
	tcase_add_test(tc, connstr_parse_device_with_policy_key_ok);
	tcase_add_test(tc, connstr_parse_any_order_and_empty_pairs_ok);
	tcase_add_test(tc, connstr_parse_oversize_value_carried_whole);
	tcase_add_loop_test(tc, connstr_parse_bad_input_refused, 0, (int)(sizeof bad / sizeof bad[0]));
	tcase_add_test(tc, connstr_parse_embedded_nul_malformed);
	tcase_add_test(tc, connstr_parse_truncated_fails_until_complete);
	tcase_add_test(tc, connstr_parse_null_why_allowed);
	suite_add_tcase(s, tc);

	tc = tcase_create("connstr_build_device");
	tcase_add_test(tc, connstr_build_device_key_exact);
	tcase_add_test(tc, connstr_build_device_gateway_and_x509_exact);
	tcase_add_test(tc, connstr_build_device_short_buffer_nospace_reports_need);
	tcase_add_test(tc, connstr_build_device_bad_value_invalid);
	tcase_add_test(tc, connstr_build_device_round_trip_same_fields);
	suite_add_tcase(s, tc);

	tc = tcase_create("connstr_build_module");
	tcase_add_test(tc, connstr_build_module_exact);
	tcase_add_test(tc, connstr_build_module_round_trip_same_fields);
	suite_add_tcase(s, tc);

	tc = tcase_create("connstr_build_service");
	tcase_add_test(tc, connstr_build_service_exact);
	tcase_add_test(tc, connstr_build_service_missing_value_invalid);
	tcase_add_test(tc, connstr_build_service_round_trip_same_fields);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(connstr_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
