/*
 * check_sas.c: unit tests of core/sas: token parse (every shape the SDKs send, and bad input),
 * build, signature, expiry, scope and the hub's sas_check entry point.
 *
 * Known-answer signatures. Tokens marked "trace" are copied from /work/shared/traces (Node SDK
 * 1.18.4 and azure-iothub 1.16.6, throwaway keys given there). The others were computed while
 * writing these tests with the openssl CLI, independently of this code:
 *   printf '%s\n%s' "$sr" "$se" | openssl dgst -sha256 -mac HMAC \
 *     -macopt hexkey:$(echo -n "$KEY" | base64 -d | xxd -p -c 256) -binary | base64
 * where $sr is the sr text exactly as it appears in the token. The base64 result was then
 * %-escaped by hand ('+' %2B, '/' %2F, '=' %3D; lower-case where a test says so).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/sas.h"

/* Device key of the Node traces: base64 of "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345". */
#define KEY_DEV "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU="
/* iothubowner key of the Node service trace. */
#define KEY_SVC "c2VydmljZWtleXNlcnZpY2VrZXlzZXJ2aWNla2V5MDE="
/* Primary / secondary keys of the service trace's "dev2". */
#define KEY_P "cHJpbWFyeWtleXByaW1hcnlrZXlwcmltYXJ5a2V5MDE="
#define KEY_S "c2Vjb25kYXJ5a2V5c2Vjb25kYXJ5a2V5c2Vjb25kYXI="

#define HUB "myhub.azure-devices.net"

/* trace: Node device SDK over HTTPS, dev1, expires 1795904923. */
#define TOK_NODE_DEV                                                                            \
	"SharedAccessSignature sr=localhost%2Fdevices%2Fdev1&sig=qEkfTvLrLlojH%2BA2snZkaanhEiDIey" \
	"gAUR43CavEbZU%3D&se=1795904923"
/* trace: Node module client over MQTT-WS, dev1/mod1, expires 1795905416. */
#define TOK_NODE_MOD                                                                            \
	"SharedAccessSignature sr=localhost%2Fdevices%2Fdev1%2Fmodules%2Fmod1&sig=ei%2BlMZaoYMUrG" \
	"ze4q5yZMApZe9xL9PgKQ8UXw%2BlJ2hE%3D&se=1795905416"
/* trace: Node device SDK with HostName=localhost:28883 (the port is in sr). */
#define TOK_NODE_PORT                                                                           \
	"SharedAccessSignature sr=localhost%3A28883%2Fdevices%2Fdev1&sig=%2FVWJyZM3IzLwapcIDiX167a" \
	"WEq%2FQqDFsdd2GU3K0bLU%3D&se=1795905438"
/* trace: Node service SDK, order sr, sig, skn, se; sr unencoded host. Key KEY_SVC. */
#define TOK_NODE_SVC                                                                            \
	"SharedAccessSignature sr=localhost&sig=xX9X8aBExnVb7%2B%2BRs8Vxcm9IkhuPb6%2FZpF5QlLt2GE4%3D" \
	"&skn=iothubowner&se=1795904895"
/* openssl: azure-iot-sdk-c shape: sr NOT encoded, empty skn, lower-case escapes in sig.
 * sr="myhub.azure-devices.net/devices/dev1" se=1700003600 KEY_DEV
 * -> TtDrrwwYg+KDjwz9Wh7L/zhIIc420vdMfA6O220vzEc= */
#define TOK_C_DEV                                                                               \
	"SharedAccessSignature sr=" HUB "/devices/dev1&sig=TtDrrwwYg%2bKDjwz9Wh7L%2fzhIIc420vdMfA6" \
	"O220vzEc%3d&se=1700003600&skn="
/* openssl: C SDK module: sr="myhub.azure-devices.net/devices/dev1/modules/mod1" se=1700003600
 * KEY_DEV -> ssJaDMfL01pgFyqrTLB9uA2q9pETYGQ7AoqznXq381o= */
#define TOK_C_MOD                                                                               \
	"SharedAccessSignature sr=" HUB "/devices/dev1/modules/mod1&sig=ssJaDMfL01pgFyqrTLB9uA2q9p" \
	"ETYGQ7AoqznXq381o%3d&se=1700003600"
/* openssl: docs / C# shape: sig first, lower-case hex in sr, policy "device" with KEY_P.
 * sr="myhub.azure-devices.net%2fdevices%2fdev1" se=1700003600
 * -> RlDBCvBZS9HsS4Tl26Gbh7GN1e2W3mW0LwYOJmuZKJs= */
#define TOK_DOCS                                                                                \
	"SharedAccessSignature sig=RlDBCvBZS9HsS4Tl26Gbh7GN1e2W3mW0LwYOJmuZKJs%3d&se=1700003600&skn" \
	"=device&sr=" HUB "%2fdevices%2fdev1"
/* openssl: signed with the SECONDARY key KEY_S: sr="myhub.azure-devices.net%2Fdevices%2Fdev1"
 * se=1700003600 -> vaZK/lcL5dQNiXw+9ljc+M4/7hAIAg12ZvUzJzOnKQo= */
#define TOK_SECONDARY                                                                           \
	"SharedAccessSignature sr=" HUB "%2Fdevices%2Fdev1&sig=vaZK%2FlcL5dQNiXw%2B9ljc%2BM4%2F7hAI" \
	"Ag12ZvUzJzOnKQo%3D&se=1700003600"
/* openssl: sas_build's expected output for HUB/devices/dev1, KEY_DEV, se=1700003600:
 * sr="myhub.azure-devices.net%2Fdevices%2Fdev1" -> TMLKBPDEsiUEPfJKuIW7RR7sXDqjUzhJrCg+gXK5sDI= */
#define TOK_BUILD_DEV                                                                           \
	"SharedAccessSignature sr=" HUB "%2Fdevices%2Fdev1&sig=TMLKBPDEsiUEPfJKuIW7RR7sXDqjUzhJrCg" \
	"%2BgXK5sDI%3D&se=1700003600"
/* openssl: service token HUB, KEY_P, se=1700003600, skn=iothubowner:
 * sr="myhub.azure-devices.net" -> i/2ylTmcMbTNdpNDqFoQqQzC0UgjUrB3oAVlvcnvCO0= */
#define TOK_BUILD_SVC                                                                           \
	"SharedAccessSignature sr=" HUB "&sig=i%2F2ylTmcMbTNdpNDqFoQqQzC0UgjUrB3oAVlvcnvCO0%3D&se=1" \
	"700003600&skn=iothubowner"
/* openssl: special characters, python quote(uri, safe='-_.~') for
 * uri = HUB "/devices/d(1)!*'@x/modules/m~x y", se=4102444800, KEY_DEV
 * -> Ik7XZ+RfV6KrlY7xT+QFLKdolszGCLPVGKD5NgZ9wu4= */
#define URI_SPECIAL HUB "/devices/d(1)!*'@x/modules/m~x y"
#define TOK_SPECIAL                                                                             \
	"SharedAccessSignature sr=" HUB "%2Fdevices%2Fd%281%29%21%2A%27%40x%2Fmodules%2Fm~x%20y&si" \
	"g=Ik7XZ%2BRfV6KrlY7xT%2BQFLKdolszGCLPVGKD5NgZ9wu4%3D&se=4102444800"

static const char *const dev_keys[] = { KEY_DEV };

static struct sas_token parse_ok(const char *text)
{
	struct sas_token t;
	sh_rc rc = sas_parse(text, strlen(text), &t);
	ck_assert_msg(rc == SH_OK, "parse failed (%d): %s", (int)rc, text);
	return t;
}

static int span_eq(struct sas_span s, const char *lit)
{
	return s.len == strlen(lit) && (s.len == 0 || memcmp(s.p, lit, s.len) == 0);
}

/* ---- sas_refusal_str ---- */

START_TEST(sas_refusal_str_every_value_distinct_name)
{
	ck_assert_str_eq(sas_refusal_str(SAS_REFUSAL_NONE), "ok");
	ck_assert_str_eq(sas_refusal_str(SAS_REFUSAL_MALFORMED), "malformed");
	ck_assert_str_eq(sas_refusal_str(SAS_REFUSAL_EXPIRED), "expired");
	ck_assert_str_eq(sas_refusal_str(SAS_REFUSAL_WRONG_SCOPE), "wrong-scope");
	ck_assert_str_eq(sas_refusal_str(SAS_REFUSAL_BAD_SIGNATURE), "bad-signature");
	ck_assert_str_eq(sas_refusal_str(SAS_REFUSAL_UNKNOWN_POLICY), "unknown-policy");
}
END_TEST

START_TEST(sas_refusal_str_out_of_range_unknown)
{
	ck_assert_str_eq(sas_refusal_str((enum sas_refusal)99), "unknown");
}
END_TEST

/* ---- sas_percent_decode ---- */

START_TEST(sas_percent_decode_upper_and_lower_hex_decoded)
{
	char out[32];
	size_t n = 0;
	ck_assert_int_eq(sas_percent_decode("a%2Fb%2fc%3D%3d", 15, out, sizeof out, &n), SH_OK);
	ck_assert_str_eq(out, "a/b/c==");
	ck_assert_uint_eq(n, 7);
}
END_TEST

START_TEST(sas_percent_decode_plus_kept)
{
	char out[8];
	size_t n;
	ck_assert_int_eq(sas_percent_decode("a+b", 3, out, sizeof out, &n), SH_OK);
	ck_assert_str_eq(out, "a+b");
}
END_TEST

START_TEST(sas_percent_decode_nul_escape_counted)
{
	char out[8];
	size_t n = 0;
	ck_assert_int_eq(sas_percent_decode("a%00b", 5, out, sizeof out, &n), SH_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert(memcmp(out, "a\0b", 4) == 0);
}
END_TEST

START_TEST(sas_percent_decode_empty_input_ok)
{
	char out[1] = { 'x' };
	size_t n = 9;
	ck_assert_int_eq(sas_percent_decode("", 0, out, sizeof out, &n), SH_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(out[0], '\0');
}
END_TEST

static const char *const bad_escapes[] = { "%", "%2", "a%", "%G0", "%0G", "ab%2", "%%41", "%-1" };

START_TEST(sas_percent_decode_bad_escape_malformed)
{
	char out[16];
	size_t n = 9;
	const char *in = bad_escapes[_i];
	ck_assert_int_eq(sas_percent_decode(in, strlen(in), out, sizeof out, &n), SH_E_MALFORMED);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(sas_percent_decode_short_buffer_nospace_reports_need)
{
	char out[4];
	size_t n = 0;
	ck_assert_int_eq(sas_percent_decode("ab%2Fcd", 7, out, sizeof out, &n), SH_E_NOSPACE);
	ck_assert_uint_eq(n, 5);
	char ok[6];
	ck_assert_int_eq(sas_percent_decode("ab%2Fcd", 7, ok, sizeof ok, &n), SH_OK);
	ck_assert_str_eq(ok, "ab/cd");
}
END_TEST

/* ---- sas_url_encode ---- */

START_TEST(sas_url_encode_unreserved_kept_others_upper_hex)
{
	char out[128];
	size_t n = 0;
	const char *in = "aZ09-_.~/:+= !*'()%";
	ck_assert_int_eq(sas_url_encode(in, strlen(in), out, sizeof out, &n), SH_OK);
	ck_assert_str_eq(out, "aZ09-_.~%2F%3A%2B%3D%20%21%2A%27%28%29%25");
	ck_assert_uint_eq(n, strlen(out));
	ck_assert_int_eq(sas_url_encode("\xff\xab\x0a", 3, out, sizeof out, &n), SH_OK);
	ck_assert_str_eq(out, "%FF%AB%0A");
}
END_TEST

START_TEST(sas_url_encode_short_buffer_nospace_reports_need)
{
	char out[4];
	size_t n = 0;
	ck_assert_int_eq(sas_url_encode("a/b", 3, out, sizeof out, &n), SH_E_NOSPACE);
	ck_assert_uint_eq(n, 5);
	char exact[6];
	ck_assert_int_eq(sas_url_encode("a/b", 3, exact, sizeof exact, &n), SH_OK);
	ck_assert_str_eq(exact, "a%2Fb");
}
END_TEST

START_TEST(sas_url_encode_round_trip_all_bytes_identical)
{
	char in[256], enc[256 * 3 + 1], back[257];
	size_t en = 0, bn = 0;
	for (int i = 0; i < 256; i++)
		in[i] = (char)i;
	ck_assert_int_eq(sas_url_encode(in, sizeof in, enc, sizeof enc, &en), SH_OK);
	ck_assert_int_eq(sas_percent_decode(enc, en, back, sizeof back, &bn), SH_OK);
	ck_assert_uint_eq(bn, 256);
	ck_assert(memcmp(in, back, 256) == 0);
}
END_TEST

/* ---- sas_parse ---- */

START_TEST(sas_parse_node_device_token_spans_raw)
{
	struct sas_token t = parse_ok(TOK_NODE_DEV);
	ck_assert(span_eq(t.sr, "localhost%2Fdevices%2Fdev1"));
	ck_assert(span_eq(t.sig, "qEkfTvLrLlojH%2BA2snZkaanhEiDIeygAUR43CavEbZU%3D"));
	ck_assert(span_eq(t.se, "1795904923"));
	ck_assert_uint_eq(t.skn.len, 0);
	ck_assert(t.expiry_s == INT64_C(1795904923));
}
END_TEST

START_TEST(sas_parse_node_service_order_skn_before_se)
{
	struct sas_token t = parse_ok(TOK_NODE_SVC);
	ck_assert(span_eq(t.sr, "localhost"));
	ck_assert(span_eq(t.skn, "iothubowner"));
	ck_assert(span_eq(t.se, "1795904895"));
}
END_TEST

START_TEST(sas_parse_c_sdk_empty_skn_absent)
{
	struct sas_token t = parse_ok(TOK_C_DEV);
	ck_assert(span_eq(t.sr, HUB "/devices/dev1"));
	ck_assert_uint_eq(t.skn.len, 0);
	ck_assert(t.skn.p == NULL);
}
END_TEST

START_TEST(sas_parse_docs_order_sig_first)
{
	struct sas_token t = parse_ok(TOK_DOCS);
	ck_assert(span_eq(t.sr, HUB "%2fdevices%2fdev1"));
	ck_assert(span_eq(t.skn, "device"));
	ck_assert(t.expiry_s == 1700003600);
}
END_TEST

START_TEST(sas_parse_unknown_field_ignored)
{
	/* Even with a bad escape in it: unknown fields are not looked at. */
	struct sas_token t = parse_ok("SharedAccessSignature x=%zz&sr=a&sig=b&v=&se=1");
	ck_assert(span_eq(t.sr, "a"));
	ck_assert(span_eq(t.sig, "b"));
}
END_TEST

START_TEST(sas_parse_raw_equals_in_value_kept)
{
	struct sas_token t = parse_ok("SharedAccessSignature sr=a&sig=ab+/cd==&se=0");
	ck_assert(span_eq(t.sig, "ab+/cd=="));
	ck_assert(t.expiry_s == 0);
}
END_TEST

START_TEST(sas_parse_se_int64_max_ok)
{
	struct sas_token t = parse_ok("SharedAccessSignature sr=a&sig=b&se=9223372036854775807");
	ck_assert(t.expiry_s == INT64_MAX);
	t = parse_ok("SharedAccessSignature sr=a&sig=b&se=00000000000000000042");
	ck_assert(t.expiry_s == 42);
}
END_TEST

START_TEST(sas_parse_sr_at_limit_ok_over_limit_fails)
{
	static char text[SAS_SR_MAX + 64];
	struct sas_token t;
	strcpy(text, "SharedAccessSignature sig=b&se=1&sr=");
	size_t base = strlen(text);
	memset(text + base, 'a', SAS_SR_MAX);
	text[base + SAS_SR_MAX] = '\0';
	ck_assert_int_eq(sas_parse(text, strlen(text), &t), SH_OK);
	ck_assert_uint_eq(t.sr.len, SAS_SR_MAX);
	text[base + SAS_SR_MAX] = 'a';
	text[base + SAS_SR_MAX + 1] = '\0';
	ck_assert_int_eq(sas_parse(text, strlen(text), &t), SH_E_MALFORMED);
}
END_TEST

/* Bad inputs: each must be refused, and the output zeroed. */
static const char *const bad_tokens[] = {
	"",
	"S",
	"SharedAccessSignature",
	"SharedAccessSignature ",
	"sharedaccesssignature sr=a&sig=b&se=1",       /* prefix case */
	"SharedAccessSignature  sr=a&sig=b&se=1",      /* two spaces */
	"SharedAccessSignature\tsr=a&sig=b&se=1",
	"sr=a&sig=b&se=1",                             /* no prefix */
	"Bearer sr=a&sig=b&se=1",
	"SharedAccessSignature sig=b&se=1",            /* no sr */
	"SharedAccessSignature sr=a&se=1",             /* no sig */
	"SharedAccessSignature sr=a&sig=b",            /* no se */
	"SharedAccessSignature sr=&sig=b&se=1",        /* empty sr */
	"SharedAccessSignature sr=a&sig=&se=1",        /* empty sig */
	"SharedAccessSignature sr=a&sig=b&se=",        /* empty se */
	"SharedAccessSignature sr=a&sr=a&sig=b&se=1",  /* duplicates */
	"SharedAccessSignature sr=a&sig=b&sig=b&se=1",
	"SharedAccessSignature sr=a&sig=b&se=1&se=1",
	"SharedAccessSignature sr=a&sig=b&se=1&skn=x&skn=x",
	"SharedAccessSignature sr=a&sig=b&se=1&skn=&skn=",
	"SharedAccessSignature sr=a&sig=b&se=-1",      /* se not plain digits */
	"SharedAccessSignature sr=a&sig=b&se=+1",
	"SharedAccessSignature sr=a&sig=b&se=1.5",
	"SharedAccessSignature sr=a&sig=b&se=1e9",
	"SharedAccessSignature sr=a&sig=b&se=0x10",
	"SharedAccessSignature sr=a&sig=b&se=9223372036854775808",   /* int64 overflow */
	"SharedAccessSignature sr=a&sig=b&se=99999999999999999999",
	"SharedAccessSignature sr=a&sig=b&se=000000000000000000001", /* 21 digits */
	"SharedAccessSignature sr=a&junk&sig=b&se=1",  /* field without '=' */
	"SharedAccessSignature sr=a&&sig=b&se=1",      /* empty field */
	"SharedAccessSignature &sr=a&sig=b&se=1",
	"SharedAccessSignature sr=a&sig=b&se=1&",
	"SharedAccessSignature sr=a&=x&sig=b&se=1",    /* empty name */
	"SharedAccessSignature sr=a b&sig=b&se=1",     /* space */
	"SharedAccessSignature sr=a\nb&sig=b&se=1",    /* control byte */
	"SharedAccessSignature sr=a\x80&sig=b&se=1",   /* non-ASCII */
	"SharedAccessSignature sr=a%2&sig=b&se=1",     /* bad escapes in known fields */
	"SharedAccessSignature sr=a&sig=b%zz&se=1",
	"SharedAccessSignature sr=a&sig=b&se=1&skn=%",
	"SharedAccessSignature SR=a&SIG=b&SE=1",       /* names are case-sensitive */
	"HostName=h;DeviceId=d;SharedAccessKey=QUJD",  /* wrong type: a connection string */
	"{\"sr\":\"a\",\"sig\":\"b\",\"se\":1}",        /* wrong type: JSON */
};

START_TEST(sas_parse_bad_input_malformed)
{
	struct sas_token t;
	memset(&t, 0x5a, sizeof t);
	const char *s = bad_tokens[_i];
	ck_assert_msg(sas_parse(s, strlen(s), &t) == SH_E_MALFORMED, "accepted: %s", s);
	ck_assert(t.sr.p == NULL && t.sig.p == NULL && t.se.p == NULL && t.expiry_s == 0);
}
END_TEST

START_TEST(sas_parse_embedded_nul_malformed)
{
	struct sas_token t;
	const char s[] = "SharedAccessSignature sr=a\0&sig=b&se=1";
	ck_assert_int_eq(sas_parse(s, sizeof s - 1, &t), SH_E_MALFORMED);
	ck_assert_int_eq(sas_parse(NULL, 0, &t), SH_E_MALFORMED);
}
END_TEST

START_TEST(sas_parse_truncated_before_se_value_fails)
{
	/* Every cut before the first digit of se (the last field) fails; cuts inside the digits
	 * leave a shorter, valid se. Parsing the exact-length copy lets ASan see over-reads. */
	const char *full = TOK_C_MOD;
	size_t len = strlen(full);
	size_t digits = strlen("1700003600");
	size_t se_at = (size_t)(strstr(full, "&se=") - full) + 4;
	ck_assert_uint_eq(se_at + digits, len);
	for (size_t cut = 0; cut < len; cut++) {
		char *copy = malloc(cut ? cut : 1);
		memcpy(copy, full, cut);
		struct sas_token t;
		sh_rc rc = sas_parse(copy, cut, &t);
		if (cut <= se_at)
			ck_assert_msg(rc == SH_E_MALFORMED, "cut at %zu accepted", cut);
		else
			ck_assert_msg(rc == SH_OK && t.se.len == cut - se_at, "cut at %zu refused", cut);
		free(copy);
	}
}
END_TEST

START_TEST(sas_parse_oversize_input_malformed)
{
	size_t n = 70000;
	char *big = malloc(n);
	memcpy(big, "SharedAccessSignature sr=", 25);
	memset(big + 25, 'a', n - 25);
	struct sas_token t;
	ck_assert_int_eq(sas_parse(big, n, &t), SH_E_MALFORMED);
	free(big);
}
END_TEST

/* ---- sas_build ---- */

START_TEST(sas_build_device_token_matches_openssl)
{
	char out[256];
	size_t n = 0;
	ck_assert_int_eq(sas_build(HUB "/devices/dev1", KEY_DEV, NULL, 1700003600, out, sizeof out, &n),
			 SH_OK);
	ck_assert_str_eq(out, TOK_BUILD_DEV);
	ck_assert_uint_eq(n, strlen(TOK_BUILD_DEV));
}
END_TEST

START_TEST(sas_build_reproduces_node_trace_token)
{
	char out[256];
	ck_assert_int_eq(sas_build("localhost/devices/dev1", KEY_DEV, "", 1795904923, out, sizeof out,
				   NULL), SH_OK);
	ck_assert_str_eq(out, TOK_NODE_DEV);
	ck_assert_int_eq(sas_build("localhost/devices/dev1/modules/mod1", KEY_DEV, NULL, 1795905416,
				   out, sizeof out, NULL), SH_OK);
	ck_assert_str_eq(out, TOK_NODE_MOD);
}
END_TEST

START_TEST(sas_build_service_token_with_skn_matches_openssl)
{
	char out[256];
	ck_assert_int_eq(sas_build(HUB, KEY_P, "iothubowner", 1700003600, out, sizeof out, NULL), SH_OK);
	ck_assert_str_eq(out, TOK_BUILD_SVC);
}
END_TEST

START_TEST(sas_build_special_characters_encoded_as_node)
{
	char out[512];
	ck_assert_int_eq(sas_build(URI_SPECIAL, KEY_DEV, NULL, INT64_C(4102444800), out, sizeof out,
				   NULL), SH_OK);
	ck_assert_str_eq(out, TOK_SPECIAL);
}
END_TEST

START_TEST(sas_build_short_buffer_nospace_reports_need)
{
	char out[256];
	size_t need = 0, n = 0;
	size_t want = strlen(TOK_BUILD_DEV);
	ck_assert_int_eq(sas_build(HUB "/devices/dev1", KEY_DEV, NULL, 1700003600, out, want, &need),
			 SH_E_NOSPACE);
	ck_assert_uint_eq(need, want);
	ck_assert_int_eq(out[0], '\0');
	ck_assert_int_eq(sas_build(HUB "/devices/dev1", KEY_DEV, NULL, 1700003600, NULL, 0, &need),
			 SH_E_NOSPACE);
	ck_assert_uint_eq(need, want);
	ck_assert_int_eq(sas_build(HUB "/devices/dev1", KEY_DEV, NULL, 1700003600, out, need + 1, &n),
			 SH_OK);
	ck_assert_str_eq(out, TOK_BUILD_DEV);
}
END_TEST

START_TEST(sas_build_bad_arguments_invalid)
{
	char out[256], big[SAS_SR_MAX + 2];
	ck_assert_int_eq(sas_build(NULL, KEY_DEV, NULL, 1, out, sizeof out, NULL), SH_E_INVALID);
	ck_assert_int_eq(sas_build("", KEY_DEV, NULL, 1, out, sizeof out, NULL), SH_E_INVALID);
	ck_assert_int_eq(sas_build("h", NULL, NULL, 1, out, sizeof out, NULL), SH_E_INVALID);
	ck_assert_int_eq(sas_build("h", "", NULL, 1, out, sizeof out, NULL), SH_E_INVALID);
	ck_assert_int_eq(sas_build("h", "not base64!", NULL, 1, out, sizeof out, NULL), SH_E_INVALID);
	ck_assert_int_eq(sas_build("h", KEY_DEV, NULL, -1, out, sizeof out, NULL), SH_E_INVALID);
	memset(big, '/', sizeof big - 1); /* each '/' encodes to three characters */
	big[sizeof big - 1] = '\0';
	ck_assert_int_eq(sas_build(big, KEY_DEV, NULL, 1, out, sizeof out, NULL), SH_E_TOOLARGE);
}
END_TEST

START_TEST(sas_build_round_trip_parses_and_checks)
{
	char out[512];
	const char *const keys[] = { KEY_P };
	enum sas_refusal why = SAS_REFUSAL_MALFORMED;
	ck_assert_int_eq(sas_build(HUB "/devices/dev1/modules/m1", KEY_P, "device", 1000, out,
				   sizeof out, NULL), SH_OK);
	struct sas_token t = parse_ok(out);
	ck_assert(span_eq(t.skn, "device"));
	ck_assert(t.expiry_s == 1000);
	ck_assert_int_eq(sas_check(&t, HUB "/devices/dev1/modules/m1", keys, 1, 999, 0, true, &why),
			 SH_OK);
	ck_assert_int_eq(why, SAS_REFUSAL_NONE);
}
END_TEST

/* ---- sas_verify_signature ---- */

/* Each token with the key that signed it: every SDK shape must verify. */
static const struct {
	const char *token;
	const char *key;
} genuine[] = {
	{ TOK_NODE_DEV, KEY_DEV },  { TOK_NODE_MOD, KEY_DEV }, { TOK_NODE_PORT, KEY_DEV },
	{ TOK_NODE_SVC, KEY_SVC },  { TOK_C_DEV, KEY_DEV },    { TOK_C_MOD, KEY_DEV },
	{ TOK_DOCS, KEY_P },        { TOK_BUILD_DEV, KEY_DEV }, { TOK_BUILD_SVC, KEY_P },
	{ TOK_SPECIAL, KEY_DEV },
};

START_TEST(sas_verify_signature_sdk_shape_ok)
{
	struct sas_token t = parse_ok(genuine[_i].token);
	const char *const keys[] = { genuine[_i].key };
	size_t matched = 99;
	ck_assert_int_eq(sas_verify_signature(&t, keys, 1, &matched), SH_OK);
	ck_assert_uint_eq(matched, 0);
}
END_TEST

START_TEST(sas_verify_signature_secondary_key_ok)
{
	struct sas_token t = parse_ok(TOK_SECONDARY);
	const char *const keys[] = { KEY_P, KEY_S };
	size_t matched = 99;
	ck_assert_int_eq(sas_verify_signature(&t, keys, 2, &matched), SH_OK);
	ck_assert_uint_eq(matched, 1);
	ck_assert_int_eq(sas_verify_signature(&t, keys, 1, NULL), SH_E_UNAUTHORIZED);
}
END_TEST

START_TEST(sas_verify_signature_unusable_keys_skipped)
{
	struct sas_token t = parse_ok(TOK_BUILD_DEV);
	const char *const keys[] = { NULL, "", "!!!!", KEY_DEV };
	size_t matched = 99;
	ck_assert_int_eq(sas_verify_signature(&t, keys, 4, &matched), SH_OK);
	ck_assert_uint_eq(matched, 3);
	ck_assert_int_eq(sas_verify_signature(&t, keys, 3, NULL), SH_E_UNAUTHORIZED);
	ck_assert_int_eq(sas_verify_signature(&t, NULL, 0, NULL), SH_E_UNAUTHORIZED);
}
END_TEST

START_TEST(sas_verify_signature_wrong_key_unauthorized)
{
	struct sas_token t = parse_ok(TOK_NODE_DEV);
	const char *const keys[] = { KEY_SVC, KEY_P, KEY_S };
	ck_assert_int_eq(sas_verify_signature(&t, keys, 3, NULL), SH_E_UNAUTHORIZED);
}
END_TEST

/* One character changed in sig, sr or se of a genuine token. */
static const char *const tampered[] = {
	/* sig: first letter */
	"SharedAccessSignature sr=localhost%2Fdevices%2Fdev1&sig=rEkfTvLrLlojH%2BA2snZkaanhEiDIey"
	"gAUR43CavEbZU%3D&se=1795904923",
	/* sig: padding dropped */
	"SharedAccessSignature sr=localhost%2Fdevices%2Fdev1&sig=qEkfTvLrLlojH%2BA2snZkaanhEiDIey"
	"gAUR43CavEbZU&se=1795904923",
	/* sig: the %2B escape replaced by '-' (the base64url spelling) */
	"SharedAccessSignature sr=localhost%2Fdevices%2Fdev1&sig=qEkfTvLrLlojH-A2snZkaanhEiDIey"
	"gAUR43CavEbZU%3D&se=1795904923",
	/* sr: other device */
	"SharedAccessSignature sr=localhost%2Fdevices%2Fdev2&sig=qEkfTvLrLlojH%2BA2snZkaanhEiDIey"
	"gAUR43CavEbZU%3D&se=1795904923",
	/* sr: same resource, lower-case hex (different bytes were signed) */
	"SharedAccessSignature sr=localhost%2fdevices%2fdev1&sig=qEkfTvLrLlojH%2BA2snZkaanhEiDIey"
	"gAUR43CavEbZU%3D&se=1795904923",
	/* sr: same resource, unencoded */
	"SharedAccessSignature sr=localhost/devices/dev1&sig=qEkfTvLrLlojH%2BA2snZkaanhEiDIey"
	"gAUR43CavEbZU%3D&se=1795904923",
	/* se: one more second */
	"SharedAccessSignature sr=localhost%2Fdevices%2Fdev1&sig=qEkfTvLrLlojH%2BA2snZkaanhEiDIey"
	"gAUR43CavEbZU%3D&se=1795904924",
	/* se: a leading zero (same number, different signed text) */
	"SharedAccessSignature sr=localhost%2Fdevices%2Fdev1&sig=qEkfTvLrLlojH%2BA2snZkaanhEiDIey"
	"gAUR43CavEbZU%3D&se=01795904923",
};

START_TEST(sas_verify_signature_tampered_token_unauthorized)
{
	struct sas_token t = parse_ok(tampered[_i]);
	ck_assert_int_eq(sas_verify_signature(&t, dev_keys, 1, NULL), SH_E_UNAUTHORIZED);
}
END_TEST

START_TEST(sas_verify_signature_raw_base64_sig_ok)
{
	/* Not escaped at all: percent-decoding leaves it as is, and '+' is not a space. */
	struct sas_token t = parse_ok("SharedAccessSignature sr=localhost%2Fdevices%2Fdev1&sig="
				      "qEkfTvLrLlojH+A2snZkaanhEiDIeygAUR43CavEbZU=&se=1795904923");
	ck_assert_int_eq(sas_verify_signature(&t, dev_keys, 1, NULL), SH_OK);
}
END_TEST

/* ---- sas_check_expiry ---- */

START_TEST(sas_check_expiry_edges_exact)
{
	struct sas_token t = parse_ok("SharedAccessSignature sr=a&sig=b&se=1000");
	ck_assert_int_eq(sas_check_expiry(&t, 999, 0), SH_OK);
	ck_assert_int_eq(sas_check_expiry(&t, 1000, 0), SH_E_EXPIRED);
	ck_assert_int_eq(sas_check_expiry(&t, 1001, 0), SH_E_EXPIRED);
	ck_assert_int_eq(sas_check_expiry(&t, 1009, 10), SH_OK);
	ck_assert_int_eq(sas_check_expiry(&t, 1010, 10), SH_E_EXPIRED);
	ck_assert_int_eq(sas_check_expiry(&t, 1000, -5), SH_E_EXPIRED); /* negative skew = 0 */
	ck_assert_int_eq(sas_check_expiry(&t, 999, -5), SH_OK);
}
END_TEST

START_TEST(sas_check_expiry_extreme_values_no_overflow)
{
	struct sas_token t = parse_ok("SharedAccessSignature sr=a&sig=b&se=0");
	ck_assert_int_eq(sas_check_expiry(&t, 0, 0), SH_E_EXPIRED);
	ck_assert_int_eq(sas_check_expiry(&t, INT64_MIN, INT64_MAX), SH_OK); /* limit saturates */
	ck_assert_int_eq(sas_check_expiry(&t, INT64_MAX, INT64_MAX), SH_E_EXPIRED);
	ck_assert_int_eq(sas_check_expiry(&t, -1, 0), SH_OK);
	t = parse_ok("SharedAccessSignature sr=a&sig=b&se=9223372036854775807");
	ck_assert_int_eq(sas_check_expiry(&t, INT64_MAX, 0), SH_E_EXPIRED);
	ck_assert_int_eq(sas_check_expiry(&t, INT64_MAX, 1), SH_OK);
	ck_assert_int_eq(sas_check_expiry(&t, INT64_MIN, INT64_MAX), SH_OK);
}
END_TEST

/* ---- sas_check_scope ---- */

static sh_rc scope(const char *token, const char *target, bool check_host)
{
	struct sas_token t = parse_ok(token);
	return sas_check_scope(&t, target, check_host);
}

#define TOKEN_SR(sr) "SharedAccessSignature sr=" sr "&sig=x&se=1"

START_TEST(sas_check_scope_exact_device_ok)
{
	ck_assert_int_eq(scope(TOKEN_SR(HUB "%2Fdevices%2Fdev1"), HUB "/devices/dev1", true), SH_OK);
	ck_assert_int_eq(scope(TOKEN_SR(HUB "%2fdevices%2fdev1"), HUB "/devices/dev1", true), SH_OK);
	ck_assert_int_eq(scope(TOKEN_SR(HUB "/devices/dev1"), HUB "/devices/dev1", true), SH_OK);
}
END_TEST

START_TEST(sas_check_scope_device_token_covers_its_modules)
{
	ck_assert_int_eq(scope(TOKEN_SR(HUB "%2Fdevices%2Fdev1"), HUB "/devices/dev1/modules/m", true),
			 SH_OK);
	/* ... but a module token does not cover its device. */
	ck_assert_int_eq(scope(TOKEN_SR(HUB "%2Fdevices%2Fdev1%2Fmodules%2Fm"), HUB "/devices/dev1",
			       true), SH_E_UNAUTHORIZED);
}
END_TEST

START_TEST(sas_check_scope_segment_not_string_prefix)
{
	ck_assert_int_eq(scope(TOKEN_SR(HUB "%2Fdevices%2Fdev1"), HUB "/devices/dev10", true),
			 SH_E_UNAUTHORIZED);
	ck_assert_int_eq(scope(TOKEN_SR(HUB "%2Fdevices%2Fdev1"), HUB "/devices/dev10", false),
			 SH_E_UNAUTHORIZED);
	ck_assert_int_eq(scope(TOKEN_SR(HUB "%2Fdev"), HUB "/devices/dev1", true), SH_E_UNAUTHORIZED);
	ck_assert_int_eq(scope(TOKEN_SR(HUB "%2Fdevices%2Fdev10"), HUB "/devices/dev1", true),
			 SH_E_UNAUTHORIZED);
}
END_TEST

START_TEST(sas_check_scope_case_and_trailing_slash_ignored)
{
	ck_assert_int_eq(scope(TOKEN_SR("MyHub.Azure-Devices.NET%2FDevices%2FDev1%2F"),
			       HUB "/devices/dev1", true), SH_OK);
	ck_assert_int_eq(scope(TOKEN_SR(HUB "%2Fdevices%2Fdev1"), "MYHUB.azure-devices.net/DEVICES/Dev1/",
			       true), SH_OK);
}
END_TEST

START_TEST(sas_check_scope_service_host_covers_everything_under_it)
{
	ck_assert_int_eq(scope(TOKEN_SR(HUB), HUB, true), SH_OK);
	ck_assert_int_eq(scope(TOKEN_SR(HUB), HUB "/devices/dev1/modules/m", true), SH_OK);
	ck_assert_int_eq(scope(TOKEN_SR(HUB "%2Fdevices"), HUB "/devices/x", true), SH_OK);
	ck_assert_int_eq(scope(TOKEN_SR(HUB "%2Fdevices"), HUB, true), SH_E_UNAUTHORIZED);
	ck_assert_int_eq(scope(TOKEN_SR("myhub.azure-devices"), HUB, true), SH_E_UNAUTHORIZED);
}
END_TEST

START_TEST(sas_check_scope_host_mismatch_depends_on_check_host)
{
	/* The client signed with HostName=localhost:28883; simhub calls itself HUB. */
	ck_assert_int_eq(scope(TOK_NODE_PORT, HUB "/devices/dev1", true), SH_E_UNAUTHORIZED);
	ck_assert_int_eq(scope(TOK_NODE_PORT, HUB "/devices/dev1", false), SH_OK);
	ck_assert_int_eq(scope(TOK_NODE_PORT, HUB "/devices/dev2", false), SH_E_UNAUTHORIZED);
	/* Host-only token: with check_host off it covers every target under any host. */
	ck_assert_int_eq(scope(TOKEN_SR("localhost"), HUB "/devices/dev1", true), SH_E_UNAUTHORIZED);
	ck_assert_int_eq(scope(TOKEN_SR("localhost"), HUB "/devices/dev1", false), SH_OK);
	ck_assert_int_eq(scope(TOKEN_SR("localhost"), HUB, false), SH_OK);
	/* A path scope never covers a bare-host target. */
	ck_assert_int_eq(scope(TOKEN_SR("localhost%2Fdevices%2Fd"), HUB, false), SH_E_UNAUTHORIZED);
}
END_TEST

START_TEST(sas_check_scope_empty_after_decoding_unauthorized)
{
	ck_assert_int_eq(scope(TOKEN_SR("%2F"), HUB, true), SH_E_UNAUTHORIZED);
	ck_assert_int_eq(scope(TOKEN_SR("%2F"), HUB, false), SH_E_UNAUTHORIZED);
}
END_TEST

START_TEST(sas_check_scope_hand_made_bad_escape_malformed)
{
	struct sas_token t = parse_ok(TOKEN_SR("a"));
	t.sr.p = "a%zz";
	t.sr.len = 4;
	ck_assert_int_eq(sas_check_scope(&t, "a", true), SH_E_MALFORMED);
}
END_TEST

/* ---- sas_check ---- */

static enum sas_refusal check(const char *token, const char *target, const char *key,
			      int64_t now, int64_t skew, bool check_host, sh_rc want_rc)
{
	struct sas_token t = parse_ok(token);
	const char *const keys[] = { key };
	enum sas_refusal why = (enum sas_refusal)77;
	sh_rc rc = sas_check(&t, target, keys, 1, now, skew, check_host, &why);
	ck_assert_msg(rc == want_rc, "rc %d, wanted %d (%s)", (int)rc, (int)want_rc,
		      sas_refusal_str(why));
	return why;
}

START_TEST(sas_check_every_sdk_shape_accepted)
{
	/* now = one second before the earliest expiry of these tokens; host ignored. */
	const char *target = strstr(genuine[_i].token, "d%281") ? "x/devices/d(1)!*'@x/modules/m~x y"
			     : strstr(genuine[_i].token, "modules") ? "x/devices/dev1/modules/mod1"
			     : "x/devices/dev1";
	ck_assert_int_eq(check(genuine[_i].token, target, genuine[_i].key, 1700003599, 0, false, SH_OK),
			 SAS_REFUSAL_NONE);
}
END_TEST

START_TEST(sas_check_wrong_scope_refused)
{
	ck_assert_int_eq(check(TOK_BUILD_DEV, HUB "/devices/dev10", KEY_DEV, 0, 0, true,
			       SH_E_UNAUTHORIZED), SAS_REFUSAL_WRONG_SCOPE);
	/* Wrong scope wins over a bad signature (the key of another device). */
	ck_assert_int_eq(check(TOK_BUILD_DEV, HUB "/devices/dev10", KEY_P, 0, 0, true,
			       SH_E_UNAUTHORIZED), SAS_REFUSAL_WRONG_SCOPE);
}
END_TEST

START_TEST(sas_check_host_mismatch_refused_only_with_check_host)
{
	ck_assert_int_eq(check(TOK_NODE_DEV, HUB "/devices/dev1", KEY_DEV, 0, 0, true,
			       SH_E_UNAUTHORIZED), SAS_REFUSAL_WRONG_SCOPE);
	ck_assert_int_eq(check(TOK_NODE_DEV, HUB "/devices/dev1", KEY_DEV, 0, 0, false, SH_OK),
			 SAS_REFUSAL_NONE);
	ck_assert_int_eq(check(TOK_NODE_DEV, "localhost/devices/dev1", KEY_DEV, 0, 0, true, SH_OK),
			 SAS_REFUSAL_NONE);
}
END_TEST

START_TEST(sas_check_bad_signature_refused)
{
	ck_assert_int_eq(check(TOK_BUILD_DEV, HUB "/devices/dev1", KEY_P, 0, 0, true,
			       SH_E_UNAUTHORIZED), SAS_REFUSAL_BAD_SIGNATURE);
	/* Bad signature wins over expiry. */
	ck_assert_int_eq(check(TOK_BUILD_DEV, HUB "/devices/dev1", KEY_P, 1700003600, 0, true,
			       SH_E_UNAUTHORIZED), SAS_REFUSAL_BAD_SIGNATURE);
	ck_assert_int_eq(check(tampered[0], "localhost/devices/dev1", KEY_DEV, 0, 0, true,
			       SH_E_UNAUTHORIZED), SAS_REFUSAL_BAD_SIGNATURE);
}
END_TEST

START_TEST(sas_check_expired_at_skew_edges)
{
	const char *tg = HUB "/devices/dev1";
	ck_assert_int_eq(check(TOK_BUILD_DEV, tg, KEY_DEV, 1700003599, 0, true, SH_OK),
			 SAS_REFUSAL_NONE);
	ck_assert_int_eq(check(TOK_BUILD_DEV, tg, KEY_DEV, 1700003600, 0, true, SH_E_EXPIRED),
			 SAS_REFUSAL_EXPIRED);
	ck_assert_int_eq(check(TOK_BUILD_DEV, tg, KEY_DEV, 1700003600 + 299, 300, true, SH_OK),
			 SAS_REFUSAL_NONE);
	ck_assert_int_eq(check(TOK_BUILD_DEV, tg, KEY_DEV, 1700003600 + 300, 300, true, SH_E_EXPIRED),
			 SAS_REFUSAL_EXPIRED);
}
END_TEST

START_TEST(sas_check_malformed_reported)
{
	struct sas_token t = parse_ok(TOK_BUILD_DEV);
	t.sr.p = "%";
	t.sr.len = 1;
	enum sas_refusal why = SAS_REFUSAL_NONE;
	ck_assert_int_eq(sas_check(&t, HUB, dev_keys, 1, 0, 0, true, &why), SH_E_MALFORMED);
	ck_assert_int_eq(why, SAS_REFUSAL_MALFORMED);
}
END_TEST

START_TEST(sas_check_null_why_allowed)
{
	struct sas_token t = parse_ok(TOK_BUILD_DEV);
	ck_assert_int_eq(sas_check(&t, HUB "/devices/dev1", dev_keys, 1, 0, 0, true, NULL), SH_OK);
	ck_assert_int_eq(sas_check(&t, HUB "/devices/dev2", dev_keys, 1, 0, 0, true, NULL),
			 SH_E_UNAUTHORIZED);
}
END_TEST

static Suite *sas_suite(void)
{
	Suite *s = suite_create("sas");
	TCase *tc;
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

	tc = tcase_create("sas_refusal_str");
	tcase_add_test(tc, sas_refusal_str_every_value_distinct_name);
	tcase_add_test(tc, sas_refusal_str_out_of_range_unknown);
	suite_add_tcase(s, tc);

	tc = tcase_create("sas_percent_decode");
	tcase_add_test(tc, sas_percent_decode_upper_and_lower_hex_decoded);
	tcase_add_test(tc, sas_percent_decode_plus_kept);
	tcase_add_test(tc, sas_percent_decode_nul_escape_counted);
	tcase_add_test(tc, sas_percent_decode_empty_input_ok);
	tcase_add_loop_test(tc, sas_percent_decode_bad_escape_malformed, 0, NELEM(bad_escapes));
	tcase_add_test(tc, sas_percent_decode_short_buffer_nospace_reports_need);
	suite_add_tcase(s, tc);

	tc = tcase_create("sas_url_encode");
	tcase_add_test(tc, sas_url_encode_unreserved_kept_others_upper_hex);
	tcase_add_test(tc, sas_url_encode_short_buffer_nospace_reports_need);
	tcase_add_test(tc, sas_url_encode_round_trip_all_bytes_identical);
	suite_add_tcase(s, tc);

	tc = tcase_create("sas_parse");
	tcase_add_test(tc, sas_parse_node_device_token_spans_raw);
	tcase_add_test(tc, sas_parse_node_service_order_skn_before_se);
	tcase_add_test(tc, sas_parse_c_sdk_empty_skn_absent);
	tcase_add_test(tc, sas_parse_docs_order_sig_first);
	tcase_add_test(tc, sas_parse_unknown_field_ignored);
	tcase_add_test(tc, sas_parse_raw_equals_in_value_kept);
	tcase_add_test(tc, sas_parse_se_int64_max_ok);
	tcase_add_test(tc, sas_parse_sr_at_limit_ok_over_limit_fails);
	tcase_add_loop_test(tc, sas_parse_bad_input_malformed, 0, NELEM(bad_tokens));
	tcase_add_test(tc, sas_parse_embedded_nul_malformed);
	tcase_add_test(tc, sas_parse_truncated_before_se_value_fails);
	tcase_add_test(tc, sas_parse_oversize_input_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("sas_build");
	tcase_add_test(tc, sas_build_device_token_matches_openssl);
	tcase_add_test(tc, sas_build_reproduces_node_trace_token);
	tcase_add_test(tc, sas_build_service_token_with_skn_matches_openssl);
	tcase_add_test(tc, sas_build_special_characters_encoded_as_node);
	tcase_add_test(tc, sas_build_short_buffer_nospace_reports_need);
	tcase_add_test(tc, sas_build_bad_arguments_invalid);
	tcase_add_test(tc, sas_build_round_trip_parses_and_checks);
	suite_add_tcase(s, tc);

	tc = tcase_create("sas_verify_signature");
	tcase_add_loop_test(tc, sas_verify_signature_sdk_shape_ok, 0, NELEM(genuine));
	tcase_add_test(tc, sas_verify_signature_secondary_key_ok);
	tcase_add_test(tc, sas_verify_signature_unusable_keys_skipped);
	tcase_add_test(tc, sas_verify_signature_wrong_key_unauthorized);
	tcase_add_loop_test(tc, sas_verify_signature_tampered_token_unauthorized, 0, NELEM(tampered));
	tcase_add_test(tc, sas_verify_signature_raw_base64_sig_ok);
	suite_add_tcase(s, tc);

	tc = tcase_create("sas_check_expiry");
	tcase_add_test(tc, sas_check_expiry_edges_exact);
	tcase_add_test(tc, sas_check_expiry_extreme_values_no_overflow);
	suite_add_tcase(s, tc);

	tc = tcase_create("sas_check_scope");
	tcase_add_test(tc, sas_check_scope_exact_device_ok);
	tcase_add_test(tc, sas_check_scope_device_token_covers_its_modules);
	tcase_add_test(tc, sas_check_scope_segment_not_string_prefix);
	tcase_add_test(tc, sas_check_scope_case_and_trailing_slash_ignored);
	tcase_add_test(tc, sas_check_scope_service_host_covers_everything_under_it);
	tcase_add_test(tc, sas_check_scope_host_mismatch_depends_on_check_host);
	tcase_add_test(tc, sas_check_scope_empty_after_decoding_unauthorized);
	tcase_add_test(tc, sas_check_scope_hand_made_bad_escape_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("sas_check");
	tcase_add_loop_test(tc, sas_check_every_sdk_shape_accepted, 0, NELEM(genuine));
	tcase_add_test(tc, sas_check_wrong_scope_refused);
	tcase_add_test(tc, sas_check_host_mismatch_refused_only_with_check_host);
	tcase_add_test(tc, sas_check_bad_signature_refused);
	tcase_add_test(tc, sas_check_expired_at_skew_edges);
	tcase_add_test(tc, sas_check_malformed_reported);
	tcase_add_test(tc, sas_check_null_why_allowed);
	suite_add_tcase(s, tc);
#undef NELEM
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sas_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
