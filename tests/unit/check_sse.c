/*
 * check_sse.c: unit tests of core/sse (incremental text/event-stream parser): events under
 * any split of the input, LF/CRLF/CR line ends, incomplete events, the callback's stop value,
 * oversize lines and data, empty and one-byte input, and hostile bytes (NUL, invalid UTF-8).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sse.h"

/* --- sse_feed ----------------------------------------------------------------------- */

struct got {
	char text[4096];
	int n;
	int stop_at;
};

static int collect(void *arg, const struct sse_event *ev)
{
	struct got *g = arg;
	size_t len = strlen(g->text);
	snprintf(g->text + len, sizeof g->text - len, "[%s|%s|%s]", ev->id, ev->type, ev->data);
	g->n++;
	return g->stop_at && g->n == g->stop_at ? 7 : 0;
}

static void feed_bytewise(const char *s, struct got *g)
{
	struct sse_parser p;
	ck_assert_int_eq(sse_init(&p), SH_OK);
	for (size_t i = 0; s[i]; i++)
		ck_assert_int_eq(sse_feed(&p, s + i, 1, collect, g), 0);
	sse_free(&p);
}

START_TEST(sse_feed_events_any_split)
{
	const char *s = ": keepalive\n\nid: 1\nevent: telemetry\ndata: {\"a\":1}\n\n"
			"id: 2\r\nevent: twin\r\ndata: x\r\ndata: y\r\n\r\n"
			"data:z\r\r";
	struct got whole = {0}, bytes = {0};
	struct sse_parser p;
	ck_assert_int_eq(sse_init(&p), SH_OK);
	ck_assert_int_eq(sse_feed(&p, s, strlen(s), collect, &whole), 0);
	sse_free(&p);
	feed_bytewise(s, &bytes);
	ck_assert_str_eq(whole.text, "[1|telemetry|{\"a\":1}][2|twin|x\ny][|message|z]");
	ck_assert_str_eq(bytes.text, whole.text);
}
END_TEST

START_TEST(sse_feed_incomplete_event_waits)
{
	struct got g = {0};
	feed_bytewise("id: 1\ndata: half\n", &g);
	ck_assert_int_eq(g.n, 0);
	feed_bytewise("", &g);
	ck_assert_int_eq(g.n, 0);
	feed_bytewise("\n", &g);      /* a blank line with no data: nothing */
	ck_assert_int_eq(g.n, 0);
	feed_bytewise("event: x\n\n", &g);
	ck_assert_int_eq(g.n, 0);
}
END_TEST

START_TEST(sse_feed_callback_stops)
{
	struct got g = {.stop_at = 1};
	struct sse_parser p;
	ck_assert_int_eq(sse_init(&p), SH_OK);
	const char *s = "data: a\n\ndata: b\n\n";
	ck_assert_int_eq(sse_feed(&p, s, strlen(s), collect, &g), 7);
	ck_assert_int_eq(g.n, 1);
	sse_free(&p);
}
END_TEST

START_TEST(sse_feed_oversize_line_dropped)
{
	struct sse_parser p;
	ck_assert_int_eq(sse_init(&p), SH_OK);
	struct got g = {0};
	size_t n = SSE_LINE_MAX + 100;
	char *big = malloc(n + 32);
	memcpy(big, "data: ", 6);
	memset(big + 6, 'x', n - 6);
	memcpy(big + n, "\ndata: ok\n\n", 12);
	ck_assert_int_eq(sse_feed(&p, big, strlen(big), collect, &g), 0);
	ck_assert_str_eq(g.text, "[|message|ok]");
	free(big);
	sse_free(&p);
}
END_TEST

START_TEST(sse_feed_hostile_bytes_survive)
{
	struct sse_parser p;
	ck_assert_int_eq(sse_init(&p), SH_OK);
	struct got g = {0};
	const char s[] = "id: a\0b\nevent: \0\ndata: \xff\xfe\0z\n\n";
	ck_assert_int_eq(sse_feed(&p, s, sizeof s - 1, collect, &g), 0);
	ck_assert_int_eq(g.n, 1);
	sse_free(&p);
}
END_TEST

START_TEST(sse_feed_empty_and_one_byte_no_event)
{
	struct sse_parser p;
	ck_assert_int_eq(sse_init(&p), SH_OK);
	struct got g = {0};
	ck_assert_int_eq(sse_feed(&p, "", 0, collect, &g), 0);
	ck_assert_int_eq(sse_feed(&p, "\n", 1, collect, &g), 0);
	ck_assert_int_eq(sse_feed(&p, "d", 1, collect, &g), 0);
	ck_assert_int_eq(g.n, 0);
	sse_free(&p);
}
END_TEST

START_TEST(sse_feed_fields_bounded_and_filtered)
{
	struct got g = {0};
	char s[512];
	char type[100];
	memset(type, 't', sizeof type - 1);
	type[sizeof type - 1] = '\0';
	/* event name cut at 63 bytes; unknown fields and a NUL-holding id ignored; no space */
	int n = snprintf(s, sizeof s, "retry: 5\nfoo\nevent:%s\nid:keep\ndata\n\n", type);
	ck_assert(n > 0 && (size_t)n < sizeof s);
	feed_bytewise(s, &g);
	char want[256];
	snprintf(want, sizeof want, "[keep|%.63s|]", type);
	ck_assert_str_eq(g.text, want);
	ck_assert_int_eq(g.n, 1);
}
END_TEST

START_TEST(sse_feed_oversize_data_dropped)
{
	struct sse_parser p;
	ck_assert_int_eq(sse_init(&p), SH_OK);
	struct got g = {0};
	/* many lines of 60000 bytes: more than SSE_DATA_MAX in one event, which is dropped */
	size_t line = 60000, lines = SSE_DATA_MAX / line + 2;
	char *l = malloc(line + 8);
	ck_assert_ptr_nonnull(l);
	memcpy(l, "data: ", 6);
	memset(l + 6, 'y', line - 6);
	l[line] = '\n';
	for (size_t i = 0; i < lines; i++)
		ck_assert_int_eq(sse_feed(&p, l, line + 1, collect, &g), 0);
	const char *tail = "\ndata: next\n\n";
	ck_assert_int_eq(sse_feed(&p, tail, strlen(tail), collect, &g), 0);
	ck_assert_str_eq(g.text, "[|message|next]");
	free(l);
	sse_free(&p);
}
END_TEST

static Suite *sse_suite(void)
{
	Suite *s = suite_create("sse");
	TCase *tc = tcase_create("sse_feed");
	tcase_add_test(tc, sse_feed_events_any_split);
	tcase_add_test(tc, sse_feed_incomplete_event_waits);
	tcase_add_test(tc, sse_feed_callback_stops);
	tcase_add_test(tc, sse_feed_oversize_line_dropped);
	tcase_add_test(tc, sse_feed_hostile_bytes_survive);
	tcase_add_test(tc, sse_feed_empty_and_one_byte_no_event);
	tcase_add_test(tc, sse_feed_fields_bounded_and_filtered);
	tcase_add_test(tc, sse_feed_oversize_data_dropped);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sse_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
