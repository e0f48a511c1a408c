/*
 * check_report.c: unit tests of the report room (core/report): JUnit XML and JSON reports,
 * counts, escaping of hostile agent output (NULs, "]]>", markup, control bytes, broken UTF-8)
 * and the output size cap. When xmllint is installed the XML is also validated against the
 * common JUnit XSD shape below; nothing else leaves the process.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/report.h"

/* The JUnit shape CI servers read (after the Jenkins/Ant junit.xsd), reduced to what we emit. */
static const char junit_xsd[] =
	"<?xml version='1.0' encoding='UTF-8'?>\n"
	"<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema' elementFormDefault='qualified'>\n"
	" <xs:simpleType name='ts'><xs:restriction base='xs:string'>\n"
	"  <xs:pattern value='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}'/>\n"
	" </xs:restriction></xs:simpleType>\n"
	" <xs:complexType name='problem'><xs:simpleContent><xs:extension base='xs:string'>\n"
	"  <xs:attribute name='message' type='xs:string'/><xs:attribute name='type' type='xs:string' use='required'/>\n"
	" </xs:extension></xs:simpleContent></xs:complexType>\n"
	" <xs:element name='testsuites'><xs:complexType><xs:sequence>\n"
	"  <xs:element name='testsuite' minOccurs='0' maxOccurs='unbounded'><xs:complexType><xs:sequence>\n"
	"   <xs:element name='properties' minOccurs='0'><xs:complexType><xs:sequence>\n"
	"    <xs:element name='property' minOccurs='0' maxOccurs='unbounded'><xs:complexType>\n"
	"     <xs:attribute name='name' type='xs:string' use='required'/><xs:attribute name='value' type='xs:string' use='required'/>\n"
	"    </xs:complexType></xs:element></xs:sequence></xs:complexType></xs:element>\n"
	"   <xs:element name='testcase' minOccurs='0' maxOccurs='unbounded'><xs:complexType><xs:choice minOccurs='0'>\n"
	"    <xs:element name='skipped'><xs:complexType><xs:attribute name='message' type='xs:string'/></xs:complexType></xs:element>\n"
	"    <xs:element name='error' type='problem'/><xs:element name='failure' type='problem'/>\n"
	"   </xs:choice>\n"
	"    <xs:attribute name='name' type='xs:string' use='required'/><xs:attribute name='classname' type='xs:string' use='required'/>\n"
	"    <xs:attribute name='time' type='xs:decimal' use='required'/>\n"
	"   </xs:complexType></xs:element>\n"
	"   <xs:element name='system-out' type='xs:string'/><xs:element name='system-err' type='xs:string'/>\n"
	"  </xs:sequence>\n"
	"   <xs:attribute name='name' type='xs:string' use='required'/><xs:attribute name='timestamp' type='ts' use='required'/>\n"
	"   <xs:attribute name='hostname' type='xs:string' use='required'/><xs:attribute name='tests' type='xs:int' use='required'/>\n"
	"   <xs:attribute name='failures' type='xs:int' use='required'/><xs:attribute name='errors' type='xs:int' use='required'/>\n"
	"   <xs:attribute name='skipped' type='xs:int'/><xs:attribute name='time' type='xs:decimal' use='required'/>\n"
	"  </xs:complexType></xs:element></xs:sequence>\n"
	"  <xs:attribute name='name' type='xs:string'/><xs:attribute name='tests' type='xs:int'/>\n"
	"  <xs:attribute name='failures' type='xs:int'/><xs:attribute name='errors' type='xs:int'/>\n"
	"  <xs:attribute name='skipped' type='xs:int'/><xs:attribute name='time' type='xs:decimal'/>\n"
	" </xs:complexType></xs:element>\n"
	"</xs:schema>\n";

/* Hostile agent output: markup, a CDATA end, NUL, ESC, DEL-adjacent controls, bad UTF-8. */
static const char hostile[] = "ok <b>&amp;</b> \"q\" 'a' ]]> </system-out>\x00\x1b[31mred\x01\x08"
			      "\xff\xfe \xc3\x28 \xe2\x82 \xed\xa0\x80 \xef\xbf\xbe caf\xc3\xa9 \xf0\x9f\x98\x80\r\n";

static struct report_case cases[] = {
	{ .name = "patch-desired dev1", .kind = "patch-desired", .status = REPORT_PASSED,
	  .duration_us = 1234 },
	{ .name = "reported <mode>", .kind = "reported", .location = "s.json:14 $.steps[1]",
	  .status = REPORT_FAILED, .duration_us = 10000000,
	  .message = "$.properties.reported.mode: expected \"eco\", got \"boost\"",
	  .detail = "expected: {\"mode\":\"eco\"}\nseen last: {\"mode\":\"boost\"}\nat s.json:14" },
	{ .name = "invoke-method dev1 reboot", .status = REPORT_ERROR, .message = "device not online" },
	{ .name = "wait", .status = REPORT_SKIPPED },
};

static struct report_suite suite(void)
{
	struct report_suite s = {
		.name = "twin & round trip", .file = "scenarios/01-twin.json",
		.started_us = 1743501600123456LL, .duration_us = 12345678, .cases = cases,
		.case_count = 4, .agent_stdout = hostile, .agent_stdout_len = sizeof hostile - 1,
		.agent_stderr = "boom\n", .agent_stderr_len = 5,
	};
	return s;
}

/* Every byte of an XML document must be allowed by XML 1.0 and no raw markup may leak. */
static void assert_xml_chars_ok(const char *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)x[i];
		ck_assert_msg(c >= 0x20 || c == '\n' || c == '\t', "raw control byte 0x%02x at %zu", c, i);
	}
	ck_assert_uint_eq(strlen(x), n);
}

START_TEST(report_junit_structure_and_counts)
{
	struct report_suite s = suite();
	char *x = NULL;
	size_t n = 0;
	ck_assert_int_eq(report_junit("ci run", &s, 1, &x, &n), SH_OK);
	assert_xml_chars_ok(x, n);
	ck_assert(strncmp(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"ci run\" "
			     "tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\" time=\"12.346\">", 107) == 0);
	ck_assert_ptr_nonnull(strstr(x, "<testsuite name=\"twin &amp; round trip\" tests=\"4\" failures=\"1\" "
				     "errors=\"1\" skipped=\"1\" time=\"12.346\" timestamp=\"2025-04-01T10:00:00\" "
				     "hostname=\"localhost\">"));
	ck_assert_ptr_nonnull(strstr(x, "<testcase name=\"patch-desired dev1\" classname=\"twin &amp; round trip\" "
				     "time=\"0.001\"/>"));
	ck_assert_ptr_nonnull(strstr(x, "<testcase name=\"reported &lt;mode&gt;\""));
	ck_assert_ptr_nonnull(strstr(x, "<failure message=\"$.properties.reported.mode: expected &quot;eco&quot;, "
				     "got &quot;boost&quot;\" type=\"expectation\">s.json:14 $.steps[1]\n"
				     "expected: {&quot;mode&quot;:&quot;eco&quot;}\n"));
	ck_assert_ptr_nonnull(strstr(x, "<error message=\"device not online\" type=\"error\">device not online</error>"));
	ck_assert_ptr_nonnull(strstr(x, "<skipped message=\"not run\"/>"));
	ck_assert_ptr_nonnull(strstr(x, "<property name=\"file\" value=\"scenarios/01-twin.json\"/>"));
	ck_assert_ptr_nonnull(strstr(x, "<system-err>boom\n</system-err>"));
	free(x);
}
END_TEST

START_TEST(report_junit_escapes_hostile_agent_output)
{
	struct report_suite s = suite();
	char *x = NULL;
	size_t n = 0;
	ck_assert_int_eq(report_junit(NULL, &s, 1, &x, &n), SH_OK);
	assert_xml_chars_ok(x, n);
	const char *out = strstr(x, "<system-out>");
	ck_assert_ptr_nonnull(out);
	const char *end = strstr(out, "</system-out>");
	ck_assert_ptr_nonnull(end);
	ck_assert_ptr_eq(strstr(out + 1, "<system-out>"), NULL);     /* one opening only */
	ck_assert_ptr_eq(strstr(x, "]]>"), NULL);
	ck_assert(strncmp(out, "<system-out>ok &lt;b&gt;&amp;amp;&lt;/b&gt; &quot;q&quot; &apos;a&apos; "
			       "]]&gt; &lt;/system-out&gt;\xEF\xBF\xBD\xEF\xBF\xBD[31mred", 106) == 0);
	/* valid multi-byte characters survive; U+FFFE and a surrogate do not; CR is a reference */
	ck_assert_ptr_nonnull(strstr(out, "caf\xc3\xa9 \xf0\x9f\x98\x80&#13;\n</system-out>"));
	ck_assert_ptr_eq(strstr(x, "\xef\xbf\xbe"), NULL);
	ck_assert_ptr_eq(strstr(x, "\xed\xa0\x80"), NULL);
	free(x);
}
END_TEST

START_TEST(report_junit_validates_against_junit_xsd)
{
	if (system("command -v xmllint >/dev/null 2>&1") != 0) {
		fprintf(stderr, "xmllint not installed: XSD check skipped\n");
		return;
	}
	char dir[] = "/tmp/check_report_XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char xsd[64], xml[64], cmd[256];
	snprintf(xsd, sizeof xsd, "%s/junit.xsd", dir);
	snprintf(xml, sizeof xml, "%s/r.xml", dir);
	FILE *f = fopen(xsd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(junit_xsd, f);
	fclose(f);
	struct report_suite two[2] = { suite(), suite() };
	two[1].error = "agent could not start: exec ./nope: No such file";
	two[1].case_count = 0;
	two[1].agent_stdout = NULL;
	char *x = NULL;
	size_t n = 0;
	ck_assert_int_eq(report_junit("run", two, 2, &x, &n), SH_OK);
	f = fopen(xml, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(x, 1, n, f), n);
	fclose(f);
	free(x);
	snprintf(cmd, sizeof cmd, "xmllint --noout --schema %s %s", xsd, xml);
	int rc = system(cmd);
	/* a broken document must fail the same check, or the check proves nothing */
	f = fopen(xml, "a");
	fputs("<oops>", f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "xmllint --noout --schema %s %s 2>/dev/null", xsd, xml);
	int rc_bad = system(cmd);
	remove(xsd);
	remove(xml);
	rmdir(dir);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_ne(rc_bad, 0);
}
END_TEST

START_TEST(report_junit_suite_error_and_empty)
{
	struct report_suite s = { .name = "broken", .error = "bad <fixture>" };
	char *x = NULL;
	ck_assert_int_eq(report_junit(NULL, &s, 1, &x, NULL), SH_OK);
	ck_assert_ptr_nonnull(strstr(x, "tests=\"1\" failures=\"0\" errors=\"1\""));
	ck_assert_ptr_nonnull(strstr(x, "<error message=\"bad &lt;fixture&gt;\" type=\"error\">"));
	ck_assert_ptr_nonnull(strstr(x, "timestamp=\"0001-01-01T00:00:00\""));
	free(x);
	ck_assert_int_eq(report_junit(NULL, NULL, 0, &x, NULL), SH_OK);
	ck_assert_ptr_nonnull(strstr(x, "<testsuites name=\"simhub\" tests=\"0\""));
	free(x);
	ck_assert_int_eq(report_junit(NULL, NULL, 1, &x, NULL), SH_E_INVALID);
	ck_assert_ptr_null(x);
	ck_assert_int_eq(report_junit(NULL, &s, 1, NULL, NULL), SH_E_INVALID);
}
END_TEST

START_TEST(report_junit_caps_output_keeping_tail)
{
	size_t n = REPORT_OUTPUT_MAX + 4096;
	char *big = malloc(n);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', n);
	memcpy(big, "HEAD", 4);
	/* a 2-byte character straddles the cut: it must not leave half a sequence */
	big[n - REPORT_OUTPUT_MAX - 1] = '\xc3';
	big[n - REPORT_OUTPUT_MAX] = '\xa9';
	memcpy(big + n - 4, "TAIL", 4);
	struct report_suite s = { .name = "big", .agent_stdout = big, .agent_stdout_len = n };
	char *x = NULL;
	size_t len = 0;
	ck_assert_int_eq(report_junit(NULL, &s, 1, &x, &len), SH_OK);
	ck_assert_ptr_eq(strstr(x, "HEAD"), NULL);
	ck_assert_ptr_nonnull(strstr(x, "TAIL</system-out>"));
	ck_assert_ptr_nonnull(strstr(x, "[... 4097 bytes cut ...]\naaa"));
	ck_assert_uint_lt(len, REPORT_OUTPUT_MAX + 1024);
	free(x);
	free(big);
}
END_TEST

START_TEST(report_json_round_trips_through_cjson)
{
	struct report_suite s = suite();
	char *j = NULL;
	size_t n = 0;
	ck_assert_int_eq(report_json("ci", &s, 1, &j, &n), SH_OK);
	ck_assert_uint_eq(strlen(j), n);
	cJSON *r = cJSON_Parse(j);
	ck_assert_ptr_nonnull(r);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(r, "passed")));
	ck_assert_double_eq(cJSON_GetObjectItem(r, "tests")->valuedouble, 4);
	ck_assert_double_eq(cJSON_GetObjectItem(r, "failures")->valuedouble, 1);
	ck_assert_double_eq(cJSON_GetObjectItem(r, "time")->valuedouble, 12.346);
	cJSON *sc = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "scenarios"), 0);
	ck_assert_str_eq(cJSON_GetObjectItem(sc, "name")->valuestring, "twin & round trip");
	ck_assert_str_eq(cJSON_GetObjectItem(sc, "timestamp")->valuestring, "2025-04-01T10:00:00.1234560Z");
	ck_assert_ptr_null(cJSON_GetObjectItem(sc, "error"));
	cJSON *st = cJSON_GetArrayItem(cJSON_GetObjectItem(sc, "steps"), 1);
	ck_assert_str_eq(cJSON_GetObjectItem(st, "status")->valuestring, "failed");
	ck_assert_str_eq(cJSON_GetObjectItem(st, "kind")->valuestring, "reported");
	ck_assert_str_eq(cJSON_GetObjectItem(st, "location")->valuestring, "s.json:14 $.steps[1]");
	ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(sc, "steps"), 0),
					       "message"));
	const char *out = cJSON_GetObjectItem(cJSON_GetObjectItem(sc, "agent"), "stdout")->valuestring;
	const char want[] = "ok <b>&amp;</b> \"q\" 'a' ]]> </system-out>\xEF\xBF\xBD\xEF\xBF\xBD[31mred";
	ck_assert(strncmp(out, want, sizeof want - 1) == 0);
	ck_assert_ptr_nonnull(strstr(out, "caf\xc3\xa9"));
	ck_assert_ptr_eq(strstr(out, "\xff"), NULL);
	cJSON_Delete(r);
	free(j);
	struct report_case ok = { .name = "x", .status = REPORT_PASSED };
	struct report_suite pass = { .name = "p", .cases = &ok, .case_count = 1 };
	ck_assert_int_eq(report_json(NULL, &pass, 1, &j, NULL), SH_OK);
	r = cJSON_Parse(j);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(r, "passed")));
	cJSON_Delete(r);
	free(j);
	ck_assert_int_eq(report_json(NULL, NULL, 2, &j, NULL), SH_E_INVALID);
}
END_TEST

START_TEST(report_count_adds_suites)
{
	struct report_suite two[2] = { suite(), suite() };
	two[1].error = "x";
	struct report_totals t = report_count(two, 2);
	ck_assert_uint_eq(t.tests, 9);
	ck_assert_uint_eq(t.failures, 2);
	ck_assert_uint_eq(t.errors, 3);
	ck_assert_uint_eq(t.skipped, 2);
	ck_assert_int_eq(t.duration_us, 2 * 12345678);
	t = report_count(NULL, 3);
	ck_assert_uint_eq(t.tests, 0);
}
END_TEST

START_TEST(report_status_name_all)
{
	ck_assert_str_eq(report_status_name(REPORT_PASSED), "passed");
	ck_assert_str_eq(report_status_name(REPORT_FAILED), "failed");
	ck_assert_str_eq(report_status_name(REPORT_ERROR), "error");
	ck_assert_str_eq(report_status_name(REPORT_SKIPPED), "skipped");
	ck_assert_str_eq(report_status_name((enum report_status)9), "error");
}
END_TEST

static Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("report_junit");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, report_junit_structure_and_counts);
	tcase_add_test(tc, report_junit_escapes_hostile_agent_output);
	tcase_add_test(tc, report_junit_validates_against_junit_xsd);
	tcase_add_test(tc, report_junit_suite_error_and_empty);
	tcase_add_test(tc, report_junit_caps_output_keeping_tail);
	suite_add_tcase(s, tc);
	tc = tcase_create("report_json");
	tcase_add_test(tc, report_json_round_trips_through_cjson);
	suite_add_tcase(s, tc);
	tc = tcase_create("report_count");
	tcase_add_test(tc, report_count_adds_suites);
	suite_add_tcase(s, tc);
	tc = tcase_create("report_status_name");
	tcase_add_test(tc, report_status_name_all);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(report_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
