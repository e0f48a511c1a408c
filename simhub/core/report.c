/*
 * report.c: JUnit XML and JSON reports from run results (report.h).
 * Pure: never writes files, never reads the clock. Agent output is untrusted bytes: every byte
 * goes through one sanitiser that keeps valid UTF-8 allowed by XML 1.0, replaces the rest with
 * U+FFFD and escapes markup, so nothing an agent prints (NULs, "]]>", "</system-out>", ESC
 * sequences, broken UTF-8) can break or end the document. No CDATA sections are used.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/isotime.h"
#include "core/report.h"
#include "core/utf8.h"

/* Growable text; `ok` turns false after an allocation failure and stays false. */
struct out {
	char *s;
	size_t len, cap;
	bool ok;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (!o->ok)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 1024;
		while (cap < o->len + n + 1)
			cap *= 2;
		char *ns = realloc(o->s, cap);
		if (!ns) {
			o->ok = false;
			return;
		}
		o->s = ns;
		o->cap = cap;
	}
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct out *o, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0)
		put(o, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static bool xml_char_ok(unsigned cp)
{
	return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
	       (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/*
 * Append `len` bytes of untrusted `s` to `o`: characters XML 1.0 cannot carry become U+FFFD;
 * with `xml`, markup characters are escaped as entities. With `xml` false the result is valid
 * UTF-8 for cJSON (which escapes what JSON needs).
 */
static void put_clean(struct out *o, const char *s, size_t len, bool xml)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;   /* run: start of bytes copied as they are */
	while (i < len) {
		uint32_t cp = 0;
		size_t n = utf8_decode(u + i, len - i, &cp);
		const char *rep = NULL;
		if (n == 0 || !xml_char_ok(cp))
			rep = "\xEF\xBF\xBD";
		else if (xml && cp == '&')
			rep = "&amp;";
		else if (xml && cp == '<')
			rep = "&lt;";
		else if (xml && cp == '>')
			rep = "&gt;";
		else if (xml && cp == '"')
			rep = "&quot;";
		else if (xml && cp == '\'')
			rep = "&apos;";
		else if (xml && cp == '\r')
			rep = "&#13;";
		if (!rep) {
			i += n;
			continue;
		}
		put(o, s + run, i - run);
		puts_(o, rep);
		i += n ? n : 1;
		run = i;
	}
	put(o, s + run, i - run);
}

/* put_clean of a NUL-terminated string; NULL appends nothing. */
static void put_text(struct out *o, const char *s, bool xml)
{
	if (s)
		put_clean(o, s, strlen(s), xml);
}

/*
 * Agent output: at most REPORT_OUTPUT_MAX bytes, the tail kept (the end of a log says why it
 * failed), cut on a character boundary, with a note of how much was dropped.
 */
static void put_output(struct out *o, const char *s, size_t len, bool xml)
{
	if (!s || len == 0)
		return;
	if (len > REPORT_OUTPUT_MAX) {
		size_t start = len - REPORT_OUTPUT_MAX;
		for (int k = 0; k < 3 && start < len && ((unsigned char)s[start] & 0xc0) == 0x80; k++)
			start++;
		putf(o, "[... %zu bytes cut ...]\n", start);
		s += start;
		len -= start;
	}
	put_clean(o, s, len, xml);
}

static void put_seconds(struct out *o, int64_t us)
{
	if (us < 0)
		us = 0;
	long long ms = (long long)((us + 500) / 1000);
	putf(o, "%lld.%03lld", ms / 1000, ms % 1000);
}

static double seconds(int64_t us)
{
	if (us < 0)
		us = 0;
	return (double)((us + 500) / 1000) / 1000.0;
}

/* JUnit timestamps carry no zone and no fraction: "2025-04-01T10:00:00" (UTC). */
static void timestamp(int64_t us, char out[ISOTIME_BUF])
{
	if (isotime_format(us, out) != SH_OK)
		isotime_format(0, out);
	out[19] = '\0';
}

const char *report_status_name(enum report_status s)
{
	switch (s) {
	case REPORT_PASSED:
		return "passed";
	case REPORT_FAILED:
		return "failed";
	case REPORT_ERROR:
		return "error";
	case REPORT_SKIPPED:
		return "skipped";
	}
	return "error";
}

static struct report_totals suite_count(const struct report_suite *s)
{
	struct report_totals t = { .duration_us = s->duration_us > 0 ? s->duration_us : 0 };
	t.tests = s->case_count;
	for (size_t i = 0; i < s->case_count; i++) {
		switch (s->cases[i].status) {
		case REPORT_FAILED:
			t.failures++;
			break;
		case REPORT_ERROR:
			t.errors++;
			break;
		case REPORT_SKIPPED:
			t.skipped++;
			break;
		case REPORT_PASSED:
			break;
		}
	}
	if (s->error) {
		t.tests++;
		t.errors++;
	}
	return t;
}

struct report_totals report_count(const struct report_suite *suites, size_t n)
{
	struct report_totals all = { 0 };
	for (size_t i = 0; suites && i < n; i++) {
		struct report_totals t = suite_count(&suites[i]);
		all.tests += t.tests;
		all.failures += t.failures;
		all.errors += t.errors;
		all.skipped += t.skipped;
		all.duration_us += t.duration_us;
	}
	return all;
}

static void put_attr(struct out *o, const char *name, const char *value)
{
	putf(o, " %s=\"", name);
	put_text(o, value, true);
	puts_(o, "\"");
}

static void put_case(struct out *o, const struct report_suite *s, const struct report_case *c)
{
	puts_(o, "    <testcase");
	put_attr(o, "name", c->name ? c->name : "step");
	put_attr(o, "classname", s->name ? s->name : "scenario");
	puts_(o, " time=\"");
	put_seconds(o, c->duration_us);
	puts_(o, "\"");
	if (c->status == REPORT_PASSED) {
		puts_(o, "/>\n");
		return;
	}
	puts_(o, ">\n      ");
	if (c->status == REPORT_SKIPPED) {
		puts_(o, "<skipped");
		put_attr(o, "message", c->message ? c->message : "not run");
		puts_(o, "/>\n    </testcase>\n");
		return;
	}
	const char *tag = c->status == REPORT_FAILED ? "failure" : "error";
	putf(o, "<%s", tag);
	put_attr(o, "message", c->message ? c->message : tag);
	put_attr(o, "type", c->status == REPORT_FAILED ? "expectation" : "error");
	puts_(o, ">");
	if (c->location) {
		put_text(o, c->location, true);
		puts_(o, "\n");
	}
	put_text(o, c->detail ? c->detail : c->message, true);
	putf(o, "</%s>\n    </testcase>\n", tag);
}

sh_rc report_junit(const char *name, const struct report_suite *suites, size_t n, char **out,
		   size_t *out_len)
{
	if (out)
		*out = NULL;
	if (!out || (!suites && n))
		return SH_E_INVALID;
	struct out o = { .ok = true };
	struct report_totals all = report_count(suites, n);
	puts_(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
	put_attr(&o, "name", name ? name : "simhub");
	putf(&o, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"",
	     all.tests, all.failures, all.errors, all.skipped);
	put_seconds(&o, all.duration_us);
	puts_(&o, "\">\n");
	for (size_t i = 0; i < n; i++) {
		const struct report_suite *s = &suites[i];
		struct report_totals t = suite_count(s);
		char ts[ISOTIME_BUF];
		timestamp(s->started_us, ts);
		puts_(&o, "  <testsuite");
		put_attr(&o, "name", s->name ? s->name : "scenario");
		putf(&o, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"",
		     t.tests, t.failures, t.errors, t.skipped);
		put_seconds(&o, t.duration_us);
		putf(&o, "\" timestamp=\"%s\"", ts);
		put_attr(&o, "hostname", s->hostname ? s->hostname : "localhost");
		puts_(&o, ">\n");
		if (s->file) {
			puts_(&o, "    <properties>\n      <property name=\"file\"");
			put_attr(&o, "value", s->file);
			puts_(&o, "/>\n    </properties>\n");
		}
		if (s->error) {
			puts_(&o, "    <testcase name=\"scenario\"");
			put_attr(&o, "classname", s->name ? s->name : "scenario");
			puts_(&o, " time=\"0.000\">\n      <error");
			put_attr(&o, "message", s->error);
			puts_(&o, " type=\"error\">");
			put_text(&o, s->error, true);
			puts_(&o, "</error>\n    </testcase>\n");
		}
		for (size_t k = 0; k < s->case_count; k++)
			put_case(&o, s, &s->cases[k]);
		puts_(&o, "    <system-out>");
		put_output(&o, s->agent_stdout, s->agent_stdout_len, true);
		puts_(&o, "</system-out>\n    <system-err>");
		put_output(&o, s->agent_stderr, s->agent_stderr_len, true);
		puts_(&o, "</system-err>\n  </testsuite>\n");
	}
	puts_(&o, "</testsuites>\n");
	if (!o.ok) {
		free(o.s);
		return SH_E_NOMEM;
	}
	if (out_len)
		*out_len = o.len;
	*out = o.s;
	return SH_OK;
}

/* Add a sanitised string member (NULL: omitted). False on allocation failure. */
static bool add_str(cJSON *obj, const char *key, const char *s, size_t len)
{
	if (!s)
		return true;
	struct out o = { .ok = true };
	put(&o, "", 0);
	put_clean(&o, s, len, false);
	bool ok = o.ok && cJSON_AddStringToObject(obj, key, o.s) != NULL;
	free(o.s);
	return ok;
}

static bool add_output(cJSON *obj, const char *key, const char *s, size_t len)
{
	struct out o = { .ok = true };
	put(&o, "", 0);
	put_output(&o, s, len, false);
	bool ok = o.ok && cJSON_AddStringToObject(obj, key, o.s) != NULL;
	free(o.s);
	return ok;
}

static bool add_totals(cJSON *obj, struct report_totals t)
{
	return cJSON_AddBoolToObject(obj, "passed", t.failures == 0 && t.errors == 0) &&
	       cJSON_AddNumberToObject(obj, "tests", (double)t.tests) &&
	       cJSON_AddNumberToObject(obj, "failures", (double)t.failures) &&
	       cJSON_AddNumberToObject(obj, "errors", (double)t.errors) &&
	       cJSON_AddNumberToObject(obj, "skipped", (double)t.skipped) &&
	       cJSON_AddNumberToObject(obj, "time", seconds(t.duration_us));
}

static bool add_suite(cJSON *arr, const struct report_suite *s)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddItemToArray(arr, o))
		return false;
	char ts[ISOTIME_BUF];
	if (isotime_format(s->started_us, ts) != SH_OK)
		isotime_format(0, ts);
	const char *nm = s->name ? s->name : "scenario";
	if (!add_str(o, "name", nm, strlen(nm)) ||
	    !add_str(o, "file", s->file, s->file ? strlen(s->file) : 0) ||
	    !cJSON_AddStringToObject(o, "timestamp", ts) || !add_totals(o, suite_count(s)) ||
	    !add_str(o, "error", s->error, s->error ? strlen(s->error) : 0))
		return false;
	cJSON *steps = cJSON_AddArrayToObject(o, "steps");
	if (!steps)
		return false;
	for (size_t i = 0; i < s->case_count; i++) {
		const struct report_case *c = &s->cases[i];
		cJSON *j = cJSON_CreateObject();
		if (!j || !cJSON_AddItemToArray(steps, j))
			return false;
		const char *cn = c->name ? c->name : "step";
		if (!add_str(j, "name", cn, strlen(cn)) ||
		    !add_str(j, "kind", c->kind, c->kind ? strlen(c->kind) : 0) ||
		    !cJSON_AddStringToObject(j, "status", report_status_name(c->status)) ||
		    !cJSON_AddNumberToObject(j, "time", seconds(c->duration_us)) ||
		    !add_str(j, "location", c->location, c->location ? strlen(c->location) : 0) ||
		    !add_str(j, "message", c->message, c->message ? strlen(c->message) : 0) ||
		    !add_str(j, "detail", c->detail, c->detail ? strlen(c->detail) : 0))
			return false;
	}
	cJSON *agent = cJSON_AddObjectToObject(o, "agent");
	return agent && add_output(agent, "stdout", s->agent_stdout, s->agent_stdout_len) &&
	       add_output(agent, "stderr", s->agent_stderr, s->agent_stderr_len);
}

sh_rc report_json(const char *name, const struct report_suite *suites, size_t n, char **out,
		  size_t *out_len)
{
	if (out)
		*out = NULL;
	if (!out || (!suites && n))
		return SH_E_INVALID;
	cJSON *root = cJSON_CreateObject();
	const char *nm = name ? name : "simhub";
	bool ok = root && add_str(root, "name", nm, strlen(nm)) &&
		  add_totals(root, report_count(suites, n));
	cJSON *arr = ok ? cJSON_AddArrayToObject(root, "scenarios") : NULL;
	ok = ok && arr;
	for (size_t i = 0; ok && i < n; i++)
		ok = add_suite(arr, &suites[i]);
	char *text = ok ? cJSON_Print(root) : NULL;
	cJSON_Delete(root);
	if (!text)
		return SH_E_NOMEM;
	size_t len = strlen(text);
	char *copy = malloc(len + 2);
	if (copy) {
		memcpy(copy, text, len);
		copy[len] = '\n';
		copy[len + 1] = '\0';
	}
	cJSON_free(text);
	if (!copy)
		return SH_E_NOMEM;
	if (out_len)
		*out_len = len + 1;
	*out = copy;
	return SH_OK;
}
