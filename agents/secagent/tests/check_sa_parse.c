/*
 * check_sa_parse.c: unit tests of secagent's sa_parse room on fixture texts (tests/fixtures)
 * and hostile inputs; never reads the live machine.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sa_collect.h"
#include "sa_parse.h"

static char *fixture(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", SA_FIXTURES, name);
	char *t = sa_read_file(path, 1 << 20, len);
	ck_assert_msg(t != NULL, "cannot read %s", path);
	return t;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

START_TEST(sa_parse_proc_net_tcp_listeners_only)
{
	size_t len;
	char *t = fixture("proc/net/tcp", &len);
	cJSON *a = cJSON_CreateArray();
	ck_assert_int_eq(sa_parse_proc_net(t, len, "tcp", a), 0);
	ck_assert_int_eq(cJSON_GetArraySize(a), 2);   /* the ESTABLISHED row is not listening */
	cJSON *o = cJSON_GetArrayItem(a, 0);
	ck_assert_str_eq(str(o, "LocalAddress"), "0.0.0.0");
	ck_assert_str_eq(str(o, "LocalPort"), "22");
	ck_assert_str_eq(str(o, "RemotePort"), "*");
	ck_assert_str_eq(str(o, "Protocol"), "tcp");
	o = cJSON_GetArrayItem(a, 1);
	ck_assert_str_eq(str(o, "LocalAddress"), "127.0.0.1");
	ck_assert_str_eq(str(o, "LocalPort"), "631");
	cJSON_Delete(a);
	free(t);
}
END_TEST

START_TEST(sa_parse_proc_net_tcp6_and_udp)
{
	size_t len;
	char *t = fixture("proc/net/tcp6", &len);
	cJSON *a = cJSON_CreateArray();
	ck_assert_int_eq(sa_parse_proc_net(t, len, "tcp6", a), 0);
	ck_assert_int_eq(cJSON_GetArraySize(a), 2);
	ck_assert_str_eq(str(cJSON_GetArrayItem(a, 0), "LocalAddress"), "::");
	ck_assert_str_eq(str(cJSON_GetArrayItem(a, 0), "LocalPort"), "8888");
	ck_assert_str_eq(str(cJSON_GetArrayItem(a, 1), "LocalAddress"), "::1");
	free(t);
	cJSON_Delete(a);
	t = fixture("proc/net/udp", &len);
	a = cJSON_CreateArray();
	ck_assert_int_eq(sa_parse_proc_net(t, len, "udp", a), 0);
	ck_assert_int_eq(cJSON_GetArraySize(a), 1);
	ck_assert_str_eq(str(cJSON_GetArrayItem(a, 0), "LocalAddress"), "127.0.0.53");
	ck_assert_str_eq(str(cJSON_GetArrayItem(a, 0), "LocalPort"), "53");
	cJSON_Delete(a);
	free(t);
}
END_TEST

START_TEST(sa_parse_proc_net_hostile_input_skipped)
{
	static const char *const bad[] = {
		"", "h", "header only\n", "header\n 0: zz:0016 00000000:0000 0A\n",
		"header\n 0: 00000000:FFFFF 00000000:0000 0A\n", "header\n 0: 0000:0016 00000000:0000 0A\n",
		"header\n 0: 00000000:0016\n", "header\n 0: 00000000:0016 00000000:0000 0A",
		"header\n\0\0\0\n", "header\n 0: 00000000:0016 00000000:0000 0G\n",
	};
	int expect_skip[] = {0, 0, 0, 1, 1, 1, 1, 0, 0, 1};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cJSON *a = cJSON_CreateArray();
		size_t len = i == 8 ? 10 : strlen(bad[i]);
		ck_assert_int_eq(sa_parse_proc_net(bad[i], len, "tcp", a), expect_skip[i]);
		ck_assert_int_eq(cJSON_GetArraySize(a), i == 7 ? 1 : 0);
		cJSON_Delete(a);
	}
	cJSON *a = cJSON_CreateArray();
	ck_assert_int_eq(sa_parse_proc_net("", 0, "sctp", a), -1);
	ck_assert_int_eq(sa_parse_proc_net("", 0, "tcp66", a), -1);
	ck_assert_int_eq(sa_parse_proc_net("", 0, "tcp", NULL), -1);
	/* IPv4 text for a tcp6 table is malformed, not misread */
	ck_assert_int_eq(sa_parse_proc_net("h\n 0: 00000000:0016 00000000:0000 0A\n", strlen("h\n 0: 00000000:0016 00000000:0000 0A\n"), "tcp6", a), 1);
	cJSON_Delete(a);
}
END_TEST

START_TEST(sa_parse_users_groups_ok)
{
	size_t pl, gl;
	char *p = fixture("etc/passwd", &pl), *g = fixture("etc/group", &gl);
	cJSON *a = cJSON_CreateArray();
	ck_assert_int_eq(sa_parse_users(p, pl, g, gl, a), 1);   /* the broken line */
	ck_assert_int_eq(cJSON_GetArraySize(a), 3);
	cJSON *pi = cJSON_GetArrayItem(a, 2);
	ck_assert_str_eq(str(pi, "UserName"), "pi");
	ck_assert_str_eq(str(pi, "UserId"), "1000");
	ck_assert_str_eq(str(pi, "GroupNames"), "pi;adm;sudo");
	ck_assert_str_eq(str(pi, "GroupIds"), "1000;4;27");
	ck_assert_str_eq(str(cJSON_GetArrayItem(a, 0), "GroupNames"), "root");
	cJSON_Delete(a);
	/* a user whose primary group is missing still gets its gid */
	a = cJSON_CreateArray();
	ck_assert_int_eq(sa_parse_users("x:x:5:77::/:/bin/sh\n", 20, "", 0, a), 0);
	ck_assert_str_eq(str(cJSON_GetArrayItem(a, 0), "GroupIds"), "77");
	ck_assert_str_eq(str(cJSON_GetArrayItem(a, 0), "GroupNames"), "");
	cJSON_Delete(a);
	a = cJSON_CreateArray();
	ck_assert_int_eq(sa_parse_users("a:x:b:c\n:x:1:1\nq\n", 17, "", 0, a), 3);
	ck_assert_int_eq(cJSON_GetArraySize(a), 0);
	ck_assert_int_eq(sa_parse_users(NULL, 0, "", 0, a), -1);
	cJSON_Delete(a);
	free(p);
	free(g);
}
END_TEST

START_TEST(sa_parse_meminfo_and_os_release_ok)
{
	size_t len;
	char *t = fixture("proc/meminfo", &len);
	struct sa_meminfo m;
	ck_assert_int_eq(sa_parse_meminfo(t, len, &m), SH_OK);
	ck_assert_int_eq(m.mem_total_kb, 8048232);
	ck_assert_int_eq(m.mem_free_kb, 512220);
	ck_assert_int_eq(m.swap_total_kb, 2097148);
	free(t);
	ck_assert_int_eq(sa_parse_meminfo("MemFree: 1 kB\n", 14, &m), SH_E_MALFORMED);
	ck_assert_int_eq(sa_parse_meminfo("", 0, &m), SH_E_MALFORMED);
	t = fixture("etc/os-release", &len);
	char out[64];
	ck_assert_int_eq(sa_parse_os_release(t, len, "PRETTY_NAME", out, sizeof out), SH_OK);
	ck_assert_str_eq(out, "Debian GNU/Linux 12 (bookworm)");
	ck_assert_int_eq(sa_parse_os_release(t, len, "ID", out, sizeof out), SH_OK);
	ck_assert_str_eq(out, "debian");
	ck_assert_int_eq(sa_parse_os_release(t, len, "VERSION", out, sizeof out), SH_E_NOTFOUND);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(sa_parse_os_release(t, len, "PRETTY_NAME", out, 5), SH_E_NOSPACE);
	free(t);
}
END_TEST

START_TEST(sa_parse_proc_stat_uid_cmdline)
{
	const char *stat = "4242 (my (odd) proc) S 1017 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100";
	int ppid = 0;
	uint64_t st = 0;
	ck_assert_int_eq(sa_parse_proc_stat(stat, strlen(stat), &ppid, &st), SH_OK);
	ck_assert_int_eq(ppid, 1017);
	ck_assert_uint_eq(st, 987654);
	ck_assert_int_eq(sa_parse_proc_stat("1 (x) S 1", 9, &ppid, &st), SH_E_MALFORMED);
	ck_assert_int_eq(sa_parse_proc_stat("no paren", 8, &ppid, &st), SH_E_MALFORMED);
	ck_assert_int_eq(sa_parse_proc_stat("", 0, &ppid, &st), SH_E_MALFORMED);
	long uid = -1;
	const char *status = "Name:\tbash\nUid:\t1000\t1000\t1000\t1000\n";
	ck_assert_int_eq(sa_parse_proc_uid(status, strlen(status), &uid), SH_OK);
	ck_assert_int_eq(uid, 1000);
	ck_assert_int_eq(sa_parse_proc_uid("Name: x\n", 8, &uid), SH_E_MALFORMED);
	char out[16];
	ck_assert_uint_eq(sa_cmdline_join("ls\0-l\0/tmp\0", 11, out, sizeof out), 10);
	ck_assert_str_eq(out, "ls -l /tmp");
	ck_assert_uint_eq(sa_cmdline_join("abcdefghijklmnopqrstuvwxyz", 26, out, sizeof out), 15);
	ck_assert_uint_eq(sa_cmdline_join("a\tb", 3, out, sizeof out), 3);
	ck_assert_str_eq(out, "a?b");
	ck_assert_uint_eq(sa_cmdline_join("", 0, out, sizeof out), 0);
}
END_TEST

START_TEST(sa_proc_diff_create_terminate_and_reuse)
{
	struct sa_proc prev[3] = {{.pid = 1, .start_ticks = 5, .exe = "/sbin/init"},
				  {.pid = 20, .start_ticks = 50, .exe = "/bin/old"},
				  {.pid = 30, .start_ticks = 60, .exe = "/bin/reused"}};
	struct sa_proc cur[3] = {{.pid = 1, .start_ticks = 5, .exe = "/sbin/init"},
				 {.pid = 30, .start_ticks = 99, .ppid = 1, .uid = 1000, .exe = "/bin/new", .cmdline = "new --x"},
				 {.pid = 40, .start_ticks = 100, .ppid = 30, .exe = ""}};
	cJSON *c = cJSON_CreateArray(), *t = cJSON_CreateArray();
	ck_assert_int_eq(sa_proc_diff(prev, 3, cur, 3, c, t), 0);
	ck_assert_int_eq(cJSON_GetArraySize(c), 2);
	ck_assert_int_eq(cJSON_GetArraySize(t), 2);
	cJSON *n = cJSON_GetArrayItem(c, 0);
	ck_assert_str_eq(str(n, "Executable"), "/bin/new");
	ck_assert_str_eq(str(n, "CommandLine"), "new --x");
	ck_assert_str_eq(str(n, "UserId"), "1000");
	ck_assert_int_eq(cJSON_GetObjectItem(n, "ParentProcessId")->valueint, 1);
	ck_assert_str_eq(str(cJSON_GetArrayItem(c, 1), "Executable"), "unknown");
	ck_assert_str_eq(str(cJSON_GetArrayItem(t, 0), "Executable"), "/bin/old");
	ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(t, 0), "ExitStatus")->valueint, -1);
	ck_assert_str_eq(str(cJSON_GetArrayItem(t, 1), "Executable"), "/bin/reused");
	cJSON_Delete(c);
	cJSON_Delete(t);
	ck_assert_int_eq(sa_proc_diff(prev, 3, prev, 3, NULL, NULL), 0);
}
END_TEST

START_TEST(sa_parse_iptables_filter_table_only)
{
	size_t len;
	char *t = fixture("iptables.txt", &len);
	cJSON *a = cJSON_CreateArray();
	ck_assert_int_eq(sa_parse_iptables(t, len, a), 0);
	/* 4 rules + 3 built-in chain policies (LOGGING has none); nat is ignored */
	ck_assert_int_eq(cJSON_GetArraySize(a), 7);
	cJSON *r = cJSON_GetArrayItem(a, 1);
	ck_assert_str_eq(str(r, "ChainName"), "INPUT");
	ck_assert_str_eq(str(r, "Direction"), "In");
	ck_assert_str_eq(str(r, "SourceAddress"), "10.0.0.0/8");
	ck_assert_str_eq(str(r, "DestinationPort"), "22");
	ck_assert_str_eq(str(r, "Action"), "Allow");
	ck_assert_int_eq(cJSON_GetObjectItem(r, "Priority")->valueint, 1);
	r = cJSON_GetArrayItem(a, 2);
	ck_assert_str_eq(str(r, "SourcePort"), "1000-2000");
	ck_assert_str_eq(str(r, "Action"), "Deny");
	r = cJSON_GetArrayItem(a, 3);
	ck_assert_str_eq(str(r, "Direction"), "Out");
	ck_assert_str_eq(str(r, "Action"), "Other");
	r = cJSON_GetArrayItem(a, 4);   /* INPUT policy, after its 3 rules */
	ck_assert_str_eq(str(r, "ChainName"), "INPUT");
	ck_assert_str_eq(str(r, "Action"), "Deny");
	ck_assert_int_eq(cJSON_GetObjectItem(r, "Priority")->valueint, 3);
	ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 5), "Direction"));   /* FORWARD */
	cJSON_Delete(a);
	free(t);
	a = cJSON_CreateArray();
	ck_assert_int_eq(sa_parse_iptables("*filter\ngarbage\n-A\n", 19, a), 2);
	ck_assert_int_eq(cJSON_GetArraySize(a), 0);
	ck_assert_int_eq(sa_parse_iptables("", 0, a), 0);
	ck_assert_int_eq(sa_parse_iptables(NULL, 0, a), -1);
	cJSON_Delete(a);
}
END_TEST

START_TEST(sa_parse_auth_line_logins_only)
{
	size_t len;
	char *t = fixture("auth.log", &len);
	int found = 0, fails = 0;
	char *line = t;
	while (line < t + len) {
		char *nl = strchr(line, '\n');
		size_t l = nl ? (size_t)(nl - line) : strlen(line);
		cJSON *it = sa_parse_auth_line(line, l);
		if (it) {
			found++;
			if (strcmp(str(it, "Result"), "Fail") == 0)
				fails++;
			ck_assert_str_eq(str(it, "Executable"), "/usr/sbin/sshd");
			cJSON_Delete(it);
		}
		line += l + 1;
	}
	ck_assert_int_eq(found, 3);
	ck_assert_int_eq(fails, 2);
	free(t);
	const char *ok = "Jan 15 10:24:01 gw sshd[5122]: Accepted publickey for pi from 2001:db8::5 port 50000 ssh2";
	cJSON *it = sa_parse_auth_line(ok, strlen(ok));
	ck_assert_str_eq(str(it, "UserName"), "pi");
	ck_assert_str_eq(str(it, "Operation"), "sshd:publickey");
	ck_assert_str_eq(str(it, "RemoteAddress"), "2001:db8::5");
	ck_assert_str_eq(str(it, "RemotePort"), "50000");
	ck_assert_int_eq(cJSON_GetObjectItem(it, "ProcessId")->valueint, 5122);
	cJSON_Delete(it);
	static const char *const bad[] = {"", "x", "sshd[1]: Accepted password for a from nothost port 1 ssh2",
		"sshd[1]: Accepted password for a from 1.2.3.4 port 99999 ssh2",
		"sshd[0]: Accepted password for a from 1.2.3.4 port 1 ssh2",
		"sshd[1]: Accepted password", "sshd[1]: Failed"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_ptr_null(sa_parse_auth_line(bad[i], strlen(bad[i])));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sa_parse");
	struct { const char *name; const TTest *t; } cases[] = {
		{"sa_parse_proc_net", sa_parse_proc_net_tcp_listeners_only},
		{"sa_parse_proc_net", sa_parse_proc_net_tcp6_and_udp},
		{"sa_parse_proc_net", sa_parse_proc_net_hostile_input_skipped},
		{"sa_parse_users", sa_parse_users_groups_ok},
		{"sa_parse_meminfo", sa_parse_meminfo_and_os_release_ok},
		{"sa_parse_proc_stat", sa_parse_proc_stat_uid_cmdline},
		{"sa_proc_diff", sa_proc_diff_create_terminate_and_reuse},
		{"sa_parse_iptables", sa_parse_iptables_filter_table_only},
		{"sa_parse_auth_line", sa_parse_auth_line_logins_only},
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
