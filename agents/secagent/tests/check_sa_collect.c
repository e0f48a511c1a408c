/*
 * check_sa_collect.c: unit tests of secagent's sa_collect room on fixture roots
 * (tests/fixtures/proc, tests/fixtures/etc) and on a temporary /proc-like folder it builds;
 * never reads the live machine's /proc.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "sa_collect.h"

static void fixture_sources(struct sa_sources *s)
{
	sa_sources_default(s);
	snprintf(s->proc, sizeof s->proc, "%s/proc", SA_FIXTURES);
	snprintf(s->etc, sizeof s->etc, "%s/etc", SA_FIXTURES);
	snprintf(s->auth_log, sizeof s->auth_log, "%s/auth.log", SA_FIXTURES);
	snprintf(s->iptables, sizeof s->iptables, "%s/no-such-iptables-save", SA_FIXTURES);
}

START_TEST(sa_collect_snapshots_from_fixture_roots)
{
	struct sa_sources src;
	fixture_sources(&src);
	struct sa_collector c;
	sa_collector_init(&c, &src);
	const char *why = "";
	cJSON *l = sa_collect_listening(&c, &why);
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(cJSON_GetArraySize(l), 5);   /* 2 tcp + 2 tcp6 + 1 udp; udp6 absent */
	cJSON_Delete(l);
	cJSON *u = sa_collect_users(&c, &why);
	ck_assert_int_eq(cJSON_GetArraySize(u), 3);
	cJSON_Delete(u);
	cJSON *si = sa_collect_sysinfo(&c, &why);
	cJSON *o = cJSON_GetArrayItem(si, 0);
	ck_assert_str_eq(cJSON_GetObjectItem(o, "OSName")->valuestring, "Debian GNU/Linux 12 (bookworm)");
	ck_assert_str_eq(cJSON_GetObjectItem(o, "OSVendor")->valuestring, "Debian GNU/Linux");
	ck_assert_int_eq((int)cJSON_GetObjectItem(o, "TotalPhysicalMemoryInKB")->valuedouble, 8048232);
	ck_assert_int_eq((int)cJSON_GetObjectItem(o, "TotalVirtualMemoryInKB")->valuedouble, 8048232 + 2097148);
	cJSON_Delete(si);
	ck_assert_ptr_null(sa_collect_firewall(&c, &why));
	ck_assert_str_eq(why, "iptables-save is not installed");
	sa_collector_free(&c);
}
END_TEST

START_TEST(sa_collect_absent_sources_skip_cleanly)
{
	struct sa_sources src;
	sa_sources_default(&src);
	snprintf(src.proc, sizeof src.proc, "/nonexistent-proc");
	snprintf(src.etc, sizeof src.etc, "/nonexistent-etc");
	src.auth_log[0] = '\0';
	struct sa_collector c;
	sa_collector_init(&c, &src);
	const char *why = "";
	ck_assert_ptr_null(sa_collect_listening(&c, &why));
	ck_assert_str_eq(why, "no /proc/net table is readable");
	ck_assert_ptr_null(sa_collect_users(&c, &why));
	ck_assert_ptr_null(sa_collect_logins(&c, &why));
	cJSON *cr, *te;
	ck_assert_int_eq(sa_collect_processes(&c, &cr, &te), SH_E_IO);
	sa_collector_free(&c);
}
END_TEST

static void put(const char *dir, const char *name, const char *text, size_t len)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	ck_assert_ptr_nonnull(f);
	fwrite(text, 1, len, f);
	fclose(f);
}

static void make_proc(const char *root, int pid, int ppid, unsigned long start, const char *cmd)
{
	char d[512], stat[256];
	snprintf(d, sizeof d, "%s/%d", root, pid);
	mkdir(d, 0700);
	snprintf(stat, sizeof stat, "%d (x) S %d 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %lu 100 10", pid,
		 ppid, start);
	put(d, "stat", stat, strlen(stat));
	{ const char *st = "Name:\tx\nUid:\t1000\t1000\t1000\t1000\n"; put(d, "status", st, strlen(st)); }
	put(d, "cmdline", cmd, strlen(cmd) + 1);
}

START_TEST(sa_collect_processes_and_logins_polling)
{
	char root[] = "/tmp/sa_collect_XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(root));
	make_proc(root, 1, 0, 10, "init");
	make_proc(root, 50, 1, 20, "old");
	struct sa_sources src;
	sa_sources_default(&src);
	snprintf(src.proc, sizeof src.proc, "%s", root);
	char log[600];
	snprintf(log, sizeof log, "%s/auth.log", root);
	snprintf(src.auth_log, sizeof src.auth_log, "%s", log);
	{ const char *l0 = "old line sshd[9]: Accepted password for a from 1.2.3.4 port 1 ssh2\n"; put(root, "auth.log", l0, strlen(l0)); }
	struct sa_collector c;
	sa_collector_init(&c, &src);
	cJSON *cr, *te;
	ck_assert_int_eq(sa_collect_processes(&c, &cr, &te), SH_OK);
	ck_assert_int_eq(cJSON_GetArraySize(cr), 0);   /* baseline */
	cJSON_Delete(cr);
	cJSON_Delete(te);
	const char *why;
	cJSON *lg = sa_collect_logins(&c, &why);
	ck_assert_int_eq(cJSON_GetArraySize(lg), 0);    /* starts at the end of the log */
	cJSON_Delete(lg);
	make_proc(root, 77, 50, 30, "new\targ");
	char p[600];
	snprintf(p, sizeof p, "%s/50/stat", root);
	unlink(p);   /* pid 50 is gone (its folder without stat counts as vanished) */
	FILE *f = fopen(log, "ab");
	fputs("Jan 1 00:00:00 h sshd[10]: Failed password for root from 5.6.7.8 port 2 ssh2\n", f);
	fclose(f);
	ck_assert_int_eq(sa_collect_processes(&c, &cr, &te), SH_OK);
	ck_assert_int_eq(cJSON_GetArraySize(cr), 1);
	ck_assert_int_eq(cJSON_GetArraySize(te), 1);
	cJSON *n = cJSON_GetArrayItem(cr, 0);
	ck_assert_int_eq(cJSON_GetObjectItem(n, "ProcessId")->valueint, 77);
	ck_assert_int_eq(cJSON_GetObjectItem(n, "ParentProcessId")->valueint, 50);
	ck_assert_str_eq(cJSON_GetObjectItem(n, "UserId")->valuestring, "1000");
	ck_assert_str_eq(cJSON_GetObjectItem(n, "CommandLine")->valuestring, "new?arg");
	ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(te, 0), "ProcessId")->valueint, 50);
	cJSON_Delete(cr);
	cJSON_Delete(te);
	lg = sa_collect_logins(&c, &why);
	ck_assert_int_eq(cJSON_GetArraySize(lg), 1);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(lg, 0), "Result")->valuestring, "Fail");
	cJSON_Delete(lg);
	sa_collector_free(&c);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sa_collect");
	TCase *t = tcase_create("sa_collect_snapshots");
	tcase_add_test(t, sa_collect_snapshots_from_fixture_roots);
	tcase_add_test(t, sa_collect_absent_sources_skip_cleanly);
	suite_add_tcase(s, t);
	t = tcase_create("sa_collect_processes");
	tcase_add_test(t, sa_collect_processes_and_logins_polling);
	suite_add_tcase(s, t);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
