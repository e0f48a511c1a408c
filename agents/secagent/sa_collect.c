/*
 * sa_collect.c: room sa_collect (see sa_collect.h): the Linux collectors. It reads files
 * under the configured roots and runs iptables-save when present; it never writes anything and
 * never parses inline (the formats live in sa_parse.c).
 */
#include "sa_collect.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cjson/cJSON.h>

void sa_sources_default(struct sa_sources *s)
{
	memset(s, 0, sizeof *s);
	snprintf(s->proc, sizeof s->proc, "/proc");
	snprintf(s->etc, sizeof s->etc, "/etc");
	snprintf(s->auth_log, sizeof s->auth_log, "/var/log/auth.log");
}

void sa_collector_init(struct sa_collector *c, const struct sa_sources *src)
{
	memset(c, 0, sizeof *c);
	c->src = *src;
	c->auth_off = -1;
}

void sa_collector_free(struct sa_collector *c)
{
	free(c->procs);
	c->procs = NULL;
	c->nprocs = 0;
}

char *sa_read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		if (n == cap) {
			if (cap >= max)
				break;
			cap = cap * 2 > max ? max : cap * 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	if (!buf)
		return NULL;
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static void set_why(const char **why, const char *w)
{
	if (why)
		*why = w;
}

cJSON *sa_collect_listening(const struct sa_collector *c, const char **why)
{
	static const char *const protos[] = {"tcp", "tcp6", "udp", "udp6"};
	cJSON *items = cJSON_CreateArray();
	int tables = 0;
	for (size_t i = 0; items && i < 4; i++) {
		char path[300];
		snprintf(path, sizeof path, "%s/net/%s", c->src.proc, protos[i]);
		size_t len;
		char *t = sa_read_file(path, 16 << 20, &len);
		if (!t)
			continue;
		tables++;
		if (sa_parse_proc_net(t, len, protos[i], items) < 0) {
			cJSON_Delete(items);
			items = NULL;
		}
		free(t);
	}
	if (items && tables == 0) {
		cJSON_Delete(items);
		set_why(why, "no /proc/net table is readable");
		return NULL;
	}
	return items;
}

cJSON *sa_collect_users(const struct sa_collector *c, const char **why)
{
	char pp[300], gp[300];
	snprintf(pp, sizeof pp, "%s/passwd", c->src.etc);
	snprintf(gp, sizeof gp, "%s/group", c->src.etc);
	size_t pl = 0, gl = 0;
	char *p = sa_read_file(pp, 4 << 20, &pl);
	char *g = sa_read_file(gp, 4 << 20, &gl);
	cJSON *items = NULL;
	if (!p || !g) {
		set_why(why, "passwd or group is not readable");
	} else {
		items = cJSON_CreateArray();
		if (items && sa_parse_users(p, pl, g, gl, items) < 0) {
			cJSON_Delete(items);
			items = NULL;
		}
	}
	free(p);
	free(g);
	return items;
}

cJSON *sa_collect_sysinfo(const struct sa_collector *c, const char **why)
{
	struct utsname u;
	if (uname(&u) != 0) {
		set_why(why, "uname failed");
		return NULL;
	}
	cJSON *items = cJSON_CreateArray();
	cJSON *o = cJSON_CreateObject();
	if (!items || !o || !cJSON_AddItemToArray(items, o)) {
		cJSON_Delete(items);
		cJSON_Delete(o);
		return NULL;
	}
	char version[600];
	snprintf(version, sizeof version, "%s %s", u.release, u.version);
	char path[300], vendor[128] = "", pretty[256] = "";
	snprintf(path, sizeof path, "%s/os-release", c->src.etc);
	size_t len;
	char *osr = sa_read_file(path, 64 << 10, &len);
	if (osr) {
		sa_parse_os_release(osr, len, "NAME", vendor, sizeof vendor);
		sa_parse_os_release(osr, len, "PRETTY_NAME", pretty, sizeof pretty);
		free(osr);
	}
	bool ok = cJSON_AddStringToObject(o, "OSName", pretty[0] ? pretty : u.sysname) &&
		  cJSON_AddStringToObject(o, "OSVersion", version) &&
		  cJSON_AddStringToObject(o, "OsArchitecture", u.machine) &&
		  cJSON_AddStringToObject(o, "HostName", u.nodename);
	if (ok && vendor[0])
		ok = cJSON_AddStringToObject(o, "OSVendor", vendor) != NULL;
	snprintf(path, sizeof path, "%s/meminfo", c->src.proc);
	char *mi = sa_read_file(path, 64 << 10, &len);
	struct sa_meminfo m;
	if (ok && mi && sa_parse_meminfo(mi, len, &m) == SH_OK) {
		ok = cJSON_AddNumberToObject(o, "TotalPhysicalMemoryInKB", (double)m.mem_total_kb) &&
		     cJSON_AddNumberToObject(o, "FreePhysicalMemoryInKB", (double)m.mem_free_kb) &&
		     cJSON_AddNumberToObject(o, "TotalVirtualMemoryInKB",
					     (double)(m.mem_total_kb + m.swap_total_kb)) &&
		     cJSON_AddNumberToObject(o, "FreeVirtualMemoryInKB",
					     (double)(m.mem_free_kb + m.swap_free_kb));
	}
	free(mi);
	if (!ok) {
		cJSON_Delete(items);
		return NULL;
	}
	return items;
}

cJSON *sa_collect_firewall(const struct sa_collector *c, const char **why)
{
	const char *prog = NULL;
	static const char *const cands[] = {"/usr/sbin/iptables-save", "/sbin/iptables-save"};
	if (c->src.iptables[0]) {
		prog = access(c->src.iptables, X_OK) == 0 ? c->src.iptables : NULL;
	} else {
		for (size_t i = 0; i < 2 && !prog; i++) {
			if (access(cands[i], X_OK) == 0)
				prog = cands[i];
		}
	}
	if (!prog) {
		set_why(why, "iptables-save is not installed");
		return NULL;
	}
	char cmd[400];
	snprintf(cmd, sizeof cmd, "'%s' -t filter 2>/dev/null", prog);
	FILE *p = popen(cmd, "r");
	if (!p) {
		set_why(why, "cannot run iptables-save");
		return NULL;
	}
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap + 1);
	if (buf) {
		size_t r;
		while (n < cap && (r = fread(buf + n, 1, cap - n, p)) > 0)
			n += r;
		buf[n] = '\0';
	}
	int st = pclose(p);
	if (!buf || st != 0 || n == 0) {
		free(buf);
		set_why(why, "iptables-save failed (not root?)");
		return NULL;
	}
	cJSON *items = cJSON_CreateArray();
	if (items && sa_parse_iptables(buf, n, items) < 0) {
		cJSON_Delete(items);
		items = NULL;
	}
	free(buf);
	return items;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct sa_proc *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Read one /proc/<pid>; false when it vanished or is unreadable (kernel threads keep no exe). */
static bool read_proc(const char *root, int pid, struct sa_proc *p)
{
	char path[320];
	size_t len;
	memset(p, 0, sizeof *p);
	p->pid = pid;
	snprintf(path, sizeof path, "%s/%d/stat", root, pid);
	char *t = sa_read_file(path, 8192, &len);
	if (!t)
		return false;
	sh_rc rc = sa_parse_proc_stat(t, len, &p->ppid, &p->start_ticks);
	free(t);
	if (rc != SH_OK)
		return false;
	snprintf(path, sizeof path, "%s/%d/status", root, pid);
	t = sa_read_file(path, 16384, &len);
	if (t) {
		sa_parse_proc_uid(t, len, &p->uid);
		free(t);
	}
	snprintf(path, sizeof path, "%s/%d/exe", root, pid);
	ssize_t n = readlink(path, p->exe, sizeof p->exe - 1);
	p->exe[n > 0 ? n : 0] = '\0';
	snprintf(path, sizeof path, "%s/%d/cmdline", root, pid);
	t = sa_read_file(path, 4096, &len);
	if (t) {
		sa_cmdline_join(t, len, p->cmdline, sizeof p->cmdline);
		free(t);
	}
	return true;
}

sh_rc sa_collect_processes(struct sa_collector *c, cJSON **created, cJSON **terminated)
{
	*created = *terminated = NULL;
	DIR *d = opendir(c->src.proc);
	if (!d)
		return SH_E_IO;
	size_t n = 0, cap = 256;
	struct sa_proc *cur = malloc(cap * sizeof *cur);
	struct dirent *e;
	while (cur && (e = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0 || pid > 0x3fffffff)
			continue;
		if (n == cap) {
			struct sa_proc *nc = realloc(cur, cap * 2 * sizeof *cur);
			if (!nc) {
				free(cur);
				cur = NULL;
				break;
			}
			cur = nc;
			cap *= 2;
		}
		if (read_proc(c->src.proc, (int)pid, &cur[n]))
			n++;
	}
	closedir(d);
	if (!cur)
		return SH_E_NOMEM;
	qsort(cur, n, sizeof *cur, cmp_proc);
	*created = cJSON_CreateArray();
	*terminated = cJSON_CreateArray();
	if (!*created || !*terminated ||
	    (c->procs_init && sa_proc_diff(c->procs, c->nprocs, cur, n, *created, *terminated) != 0)) {
		cJSON_Delete(*created);
		cJSON_Delete(*terminated);
		*created = *terminated = NULL;
		free(cur);
		return SH_E_NOMEM;
	}
	free(c->procs);
	c->procs = cur;
	c->nprocs = n;
	c->procs_init = true;
	return SH_OK;
}

cJSON *sa_collect_logins(struct sa_collector *c, const char **why)
{
	if (!c->src.auth_log[0]) {
		set_why(why, "no auth log configured");
		return NULL;
	}
	FILE *f = fopen(c->src.auth_log, "rb");
	if (!f) {
		set_why(why, "the auth log is not readable");
		return NULL;
	}
	cJSON *items = cJSON_CreateArray();
	if (fseek(f, 0, SEEK_END) == 0) {
		long size = ftell(f);
		if (c->auth_off < 0 || c->auth_off > size)
			c->auth_off = c->auth_off < 0 ? size : 0;   /* first poll: end; rotated: start */
		fseek(f, c->auth_off, SEEK_SET);
	}
	char line[1024];
	while (items && fgets(line, sizeof line, f)) {
		size_t l = strlen(line);
		if (l && line[l - 1] == '\n')
			line[--l] = '\0';
		cJSON *it = sa_parse_auth_line(line, l);
		if (it)
			cJSON_AddItemToArray(items, it);
	}
	long off = ftell(f);
	if (off >= 0)
		c->auth_off = off;
	fclose(f);
	return items;
}
