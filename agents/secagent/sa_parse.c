/*
 * sa_parse.c: room sa_parse (see sa_parse.h): Linux text formats -> security payload items.
 * Pure: never opens a file, never reads the clock; every input is treated as hostile (bounded
 * copies, lines and fields cut at fixed sizes, malformed lines skipped and counted).
 */
#include "sa_parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define LINE_MAX_BYTES 4096
#define MAX_FIELDS 64

/* Cursor over the lines of a text (no NUL needed). */
struct lines {
	const char *p, *end;
};

/* Next line into buf (NUL-terminated, cut at cap - 1 bytes); false at the end. */
static bool next_line(struct lines *l, char *buf, size_t cap)
{
	if (l->p >= l->end)
		return false;
	const char *nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
	const char *e = nl ? nl : l->end;
	size_t n = (size_t)(e - l->p);
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, l->p, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\0')
			buf[i] = ' ';   /* a NUL inside a line would hide the rest */
	}
	l->p = nl ? nl + 1 : l->end;
	return true;
}

/* Split buf in place on spaces and tabs; returns the number of fields (at most max). */
static int split_ws(char *buf, char **f, int max)
{
	int n = 0;
	char *p = buf;
	while (*p && n < max) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p)
			break;
		f[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (*p)
			*p++ = '\0';
	}
	return n;
}

static bool hex_u32(const char *s, size_t n, uint32_t *v)
{
	if (n == 0 || n > 8)
		return false;
	uint32_t x = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return false;
		x = x << 4 | (uint32_t)d;
	}
	*v = x;
	return true;
}

/*
 * "0100007F:0016" (IPv4) or 32 hex digits + ":PORT" (IPv6) as the kernel prints them: each
 * 32-bit word in host (little-endian on every Linux port we care about) order. Writes the
 * address text and the port; false when malformed.
 */
static bool parse_endpoint(const char *s, bool v6, char *addr, size_t cap, unsigned *port)
{
	const char *colon = strchr(s, ':');
	if (!colon)
		return false;
	size_t alen = (size_t)(colon - s);
	uint32_t p;
	if (!hex_u32(colon + 1, strlen(colon + 1), &p) || p > 65535)
		return false;
	*port = p;
	if (!v6) {
		uint32_t a;
		if (alen != 8 || !hex_u32(s, 8, &a))
			return false;
		snprintf(addr, cap, "%u.%u.%u.%u", a & 0xff, (a >> 8) & 0xff, (a >> 16) & 0xff,
			 (a >> 24) & 0xff);
		return true;
	}
	if (alen != 32)
		return false;
	uint8_t b[16];
	for (int w = 0; w < 4; w++) {
		uint32_t x;
		if (!hex_u32(s + 8 * w, 8, &x))
			return false;
		b[4 * w] = (uint8_t)(x & 0xff);
		b[4 * w + 1] = (uint8_t)((x >> 8) & 0xff);
		b[4 * w + 2] = (uint8_t)((x >> 16) & 0xff);
		b[4 * w + 3] = (uint8_t)((x >> 24) & 0xff);
	}
	return inet_ntop(AF_INET6, b, addr, (socklen_t)cap) != NULL;
}

int sa_parse_proc_net(const char *text, size_t len, const char *proto, cJSON *items)
{
	if (!text || !proto || !cJSON_IsArray(items))
		return -1;
	bool tcp = strncmp(proto, "tcp", 3) == 0, udp = strncmp(proto, "udp", 3) == 0;
	bool v6 = proto[3] == '6';
	if ((!tcp && !udp) || (proto[3] != '\0' && !(v6 && proto[4] == '\0')))
		return -1;
	struct lines l = {text, text + len};
	char buf[LINE_MAX_BYTES];
	char *f[MAX_FIELDS];
	int skipped = 0;
	bool header = true;
	while (next_line(&l, buf, sizeof buf)) {
		if (header) {
			header = false;
			continue;
		}
		int n = split_ws(buf, f, MAX_FIELDS);
		if (n == 0)
			continue;
		if (n < 4) {
			skipped++;
			continue;
		}
		char laddr[64], raddr[64];
		unsigned lport, rport;
		uint32_t st;
		if (!parse_endpoint(f[1], v6, laddr, sizeof laddr, &lport) ||
		    !parse_endpoint(f[2], v6, raddr, sizeof raddr, &rport) ||
		    !hex_u32(f[3], strlen(f[3]), &st)) {
			skipped++;
			continue;
		}
		if ((tcp && st != 0x0A) || (udp && st != 0x07))
			continue;
		char port[8];
		snprintf(port, sizeof port, "%u", lport);
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(items, o) ||
		    !cJSON_AddStringToObject(o, "Protocol", proto) ||
		    !cJSON_AddStringToObject(o, "LocalAddress", laddr) ||
		    !cJSON_AddStringToObject(o, "LocalPort", port) ||
		    !cJSON_AddStringToObject(o, "RemoteAddress", raddr) ||
		    !cJSON_AddStringToObject(o, "RemotePort", "*"))
			return -1;
	}
	return skipped;
}

/* Split a line on ':' into at most max fields (empty fields kept). */
static int split_colon(char *buf, char **f, int max)
{
	int n = 0;
	char *p = buf;
	f[n++] = p;
	while (*p && n < max) {
		if (*p == ':') {
			*p = '\0';
			f[n++] = p + 1;
		}
		p++;
	}
	return n;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
	}
	return true;
}

/* Is `user` one of the comma-separated names in `members`? */
static bool member_of(const char *members, const char *user)
{
	size_t ul = strlen(user);
	const char *p = members;
	while (*p) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == ul && memcmp(p, user, ul) == 0)
			return true;
		if (!c)
			break;
		p = c + 1;
	}
	return false;
}

static void append(char *dst, size_t cap, const char *sep, const char *s)
{
	size_t l = strlen(dst);
	if (l + strlen(sep) + strlen(s) + 1 > cap)
		return;
	snprintf(dst + l, cap - l, "%s%s", l ? sep : "", s);
}

int sa_parse_users(const char *passwd, size_t plen, const char *group, size_t glen, cJSON *items)
{
	if (!passwd || !group || !cJSON_IsArray(items))
		return -1;
	struct lines l = {passwd, passwd + plen};
	char buf[LINE_MAX_BYTES], gbuf[LINE_MAX_BYTES];
	char *f[8], *g[5];
	int skipped = 0;
	while (next_line(&l, buf, sizeof buf)) {
		if (!buf[0] || buf[0] == '#')
			continue;
		int n = split_colon(buf, f, 8);
		if (n < 4 || !f[0][0] || !all_digits(f[2]) || !all_digits(f[3])) {
			skipped++;
			continue;
		}
		char names[1024] = "", ids[512] = "";
		/* the primary group first, then supplementary groups in file order */
		struct lines gl = {group, group + glen};
		while (next_line(&gl, gbuf, sizeof gbuf)) {
			if (split_colon(gbuf, g, 5) >= 3 && strcmp(g[2], f[3]) == 0) {
				append(names, sizeof names, ";", g[0]);
				append(ids, sizeof ids, ";", g[2]);
				break;
			}
		}
		if (!ids[0])
			append(ids, sizeof ids, ";", f[3]);
		gl.p = group;
		while (next_line(&gl, gbuf, sizeof gbuf)) {
			if (split_colon(gbuf, g, 5) >= 4 && all_digits(g[2]) && strcmp(g[2], f[3]) != 0 &&
			    member_of(g[3], f[0])) {
				append(names, sizeof names, ";", g[0]);
				append(ids, sizeof ids, ";", g[2]);
			}
		}
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(items, o) ||
		    !cJSON_AddStringToObject(o, "UserName", f[0]) ||
		    !cJSON_AddStringToObject(o, "UserId", f[2]) ||
		    !cJSON_AddStringToObject(o, "GroupNames", names) ||
		    !cJSON_AddStringToObject(o, "GroupIds", ids))
			return -1;
	}
	return skipped;
}

sh_rc sa_parse_meminfo(const char *text, size_t len, struct sa_meminfo *out)
{
	memset(out, 0, sizeof *out);
	struct lines l = {text, text + len};
	char buf[256];
	bool total = false;
	while (next_line(&l, buf, sizeof buf)) {
		char key[64];
		long long v;
		if (sscanf(buf, "%63[^:]: %lld", key, &v) != 2 || v < 0)
			continue;
		if (strcmp(key, "MemTotal") == 0) {
			out->mem_total_kb = v;
			total = true;
		} else if (strcmp(key, "MemFree") == 0) {
			out->mem_free_kb = v;
		} else if (strcmp(key, "MemAvailable") == 0) {
			out->mem_available_kb = v;
		} else if (strcmp(key, "SwapTotal") == 0) {
			out->swap_total_kb = v;
		} else if (strcmp(key, "SwapFree") == 0) {
			out->swap_free_kb = v;
		}
	}
	return total ? SH_OK : SH_E_MALFORMED;
}

sh_rc sa_parse_os_release(const char *text, size_t len, const char *key, char *out, size_t cap)
{
	if (cap)
		out[0] = '\0';
	struct lines l = {text, text + len};
	char buf[LINE_MAX_BYTES];
	size_t kl = strlen(key);
	while (next_line(&l, buf, sizeof buf)) {
		if (strncmp(buf, key, kl) != 0 || buf[kl] != '=')
			continue;
		char *v = buf + kl + 1;
		size_t vl = strlen(v);
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
			v[--vl] = '\0';
		if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
			v[vl - 1] = '\0';
			v++;
			vl -= 2;
		}
		if (vl >= cap)
			return SH_E_NOSPACE;
		memcpy(out, v, vl + 1);
		return SH_OK;
	}
	return SH_E_NOTFOUND;
}

sh_rc sa_parse_proc_stat(const char *text, size_t len, int *ppid, uint64_t *start_ticks)
{
	const char *rp = NULL;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == ')')
			rp = text + i;
	}
	if (!rp)
		return SH_E_MALFORMED;
	char buf[1024];
	size_t n = (size_t)(text + len - (rp + 1));
	if (n >= sizeof buf)
		n = sizeof buf - 1;
	memcpy(buf, rp + 1, n);
	buf[n] = '\0';
	/* after ')': state(3) ppid(4) ... starttime(22), i.e. fields 0 and 1, and 19 here */
	char *f[24];
	int nf = split_ws(buf, f, 24);
	if (nf < 20)
		return SH_E_MALFORMED;
	char *e;
	long pp = strtol(f[1], &e, 10);
	if (*e || pp < 0 || pp > 0x3fffffff)
		return SH_E_MALFORMED;
	unsigned long long st = strtoull(f[19], &e, 10);
	if (*e || !isdigit((unsigned char)f[19][0]))
		return SH_E_MALFORMED;
	*ppid = (int)pp;
	*start_ticks = st;
	return SH_OK;
}

sh_rc sa_parse_proc_uid(const char *text, size_t len, long *uid)
{
	struct lines l = {text, text + len};
	char buf[512];
	while (next_line(&l, buf, sizeof buf)) {
		long u;
		if (strncmp(buf, "Uid:", 4) == 0 && sscanf(buf + 4, "%ld", &u) == 1 && u >= 0) {
			*uid = u;
			return SH_OK;
		}
	}
	return SH_E_MALFORMED;
}

size_t sa_cmdline_join(const char *raw, size_t len, char *out, size_t cap)
{
	if (!cap)
		return 0;
	while (len && raw[len - 1] == '\0')
		len--;
	size_t n = len < cap - 1 ? len : cap - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)raw[i];
		out[i] = c == '\0' ? ' ' : (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[n] = '\0';
	return n;
}

static cJSON *proc_item(const struct sa_proc *p, bool create)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	char uid[24];
	snprintf(uid, sizeof uid, "%ld", p->uid);
	bool ok = cJSON_AddStringToObject(o, "Executable", p->exe[0] ? p->exe : "unknown") &&
		  cJSON_AddNumberToObject(o, "ProcessId", p->pid);
	if (ok && create)
		ok = cJSON_AddNumberToObject(o, "ParentProcessId", p->ppid) &&
		     cJSON_AddStringToObject(o, "UserId", uid) &&
		     cJSON_AddStringToObject(o, "CommandLine", p->cmdline[0] ? p->cmdline : p->exe);
	if (ok && !create)
		ok = cJSON_AddNumberToObject(o, "ExitStatus", -1);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static bool same_proc(const struct sa_proc *a, const struct sa_proc *b)
{
	return a->pid == b->pid && a->start_ticks == b->start_ticks;
}

int sa_proc_diff(const struct sa_proc *prev, size_t nprev, const struct sa_proc *cur, size_t ncur,
		 cJSON *created, cJSON *terminated)
{
	size_t i = 0, j = 0;
	while (i < nprev || j < ncur) {
		const struct sa_proc *gone = NULL, *born = NULL;
		if (j >= ncur || (i < nprev && prev[i].pid < cur[j].pid)) {
			gone = &prev[i++];
		} else if (i >= nprev || cur[j].pid < prev[i].pid) {
			born = &cur[j++];
		} else {
			if (!same_proc(&prev[i], &cur[j])) {   /* pid reused */
				gone = &prev[i];
				born = &cur[j];
			}
			i++;
			j++;
		}
		if (gone && terminated) {
			cJSON *o = proc_item(gone, false);
			if (!o || !cJSON_AddItemToArray(terminated, o)) {
				cJSON_Delete(o);
				return -1;
			}
		}
		if (born && created) {
			cJSON *o = proc_item(born, true);
			if (!o || !cJSON_AddItemToArray(created, o)) {
				cJSON_Delete(o);
				return -1;
			}
		}
	}
	return 0;
}

static const char *fw_action(const char *target)
{
	if (!target)
		return "Other";
	if (strcmp(target, "ACCEPT") == 0)
		return "Allow";
	if (strcmp(target, "DROP") == 0 || strcmp(target, "REJECT") == 0)
		return "Deny";
	return "Other";
}

static bool add_fw_common(cJSON *o, const char *chain, int prio, const char *action)
{
	if (!cJSON_AddStringToObject(o, "ChainName", chain))
		return false;
	if (strcmp(chain, "INPUT") == 0 && !cJSON_AddStringToObject(o, "Direction", "In"))
		return false;
	if (strcmp(chain, "OUTPUT") == 0 && !cJSON_AddStringToObject(o, "Direction", "Out"))
		return false;
	return cJSON_AddNumberToObject(o, "Priority", prio) &&
	       cJSON_AddBoolToObject(o, "Enabled", true) &&
	       cJSON_AddStringToObject(o, "Action", action);
}

/* Rule counts per chain name, for Priority. */
struct chain_count {
	char name[32];
	int rules;
	char policy[16];
};

int sa_parse_iptables(const char *text, size_t len, cJSON *items)
{
	if (!text || !cJSON_IsArray(items))
		return -1;
	struct lines l = {text, text + len};
	char buf[LINE_MAX_BYTES];
	char *f[MAX_FIELDS];
	struct chain_count chains[32];
	size_t nch = 0;
	bool in_filter = false;
	int skipped = 0;
	while (next_line(&l, buf, sizeof buf)) {
		if (buf[0] == '*') {
			in_filter = strcmp(buf, "*filter") == 0;
			continue;
		}
		if (!in_filter || buf[0] == '#' || !buf[0])
			continue;
		if (strcmp(buf, "COMMIT") == 0) {
			in_filter = false;
			continue;
		}
		if (buf[0] == ':') {
			int n = split_ws(buf + 1, f, 3);
			if (n < 2 || nch >= 32 || strlen(f[0]) >= 32) {
				skipped++;
				continue;
			}
			snprintf(chains[nch].name, sizeof chains[nch].name, "%s", f[0]);
			snprintf(chains[nch].policy, sizeof chains[nch].policy, "%s", f[1]);
			chains[nch++].rules = 0;
			continue;
		}
		int n = split_ws(buf, f, MAX_FIELDS);
		if (n < 2 || strcmp(f[0], "-A") != 0) {
			skipped++;
			continue;
		}
		struct chain_count *c = NULL;
		for (size_t k = 0; k < nch; k++) {
			if (strcmp(chains[k].name, f[1]) == 0)
				c = &chains[k];
		}
		const char *proto = NULL, *src = NULL, *dst = NULL, *sport = NULL, *dport = NULL,
			   *target = NULL;
		for (int k = 2; k + 1 < n; k++) {
			if (strcmp(f[k], "-p") == 0)
				proto = f[++k];
			else if (strcmp(f[k], "-s") == 0)
				src = f[++k];
			else if (strcmp(f[k], "-d") == 0)
				dst = f[++k];
			else if (strcmp(f[k], "--sport") == 0)
				sport = f[++k];
			else if (strcmp(f[k], "--dport") == 0)
				dport = f[++k];
			else if (strcmp(f[k], "-j") == 0)
				target = f[++k];
		}
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(items, o) ||
		    !add_fw_common(o, f[1], c ? c->rules : 0, fw_action(target)))
			return -1;
		if (c)
			c->rules++;
		char port[32];
		if ((proto && !cJSON_AddStringToObject(o, "Protocol", proto)) ||
		    (src && !cJSON_AddStringToObject(o, "SourceAddress", src)) ||
		    (dst && !cJSON_AddStringToObject(o, "DestinationAddress", dst)))
			return -1;
		if (sport) {
			snprintf(port, sizeof port, "%s", sport);
			for (char *p = port; *p; p++) {
				if (*p == ':')
					*p = '-';
			}
			if (!cJSON_AddStringToObject(o, "SourcePort", port))
				return -1;
		}
		if (dport) {
			snprintf(port, sizeof port, "%s", dport);
			for (char *p = port; *p; p++) {
				if (*p == ':')
					*p = '-';
			}
			if (!cJSON_AddStringToObject(o, "DestinationPort", port))
				return -1;
		}
	}
	for (size_t k = 0; k < nch; k++) {
		if (strcmp(chains[k].policy, "-") == 0)
			continue;   /* user chains have no policy */
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(items, o) ||
		    !add_fw_common(o, chains[k].name, chains[k].rules, fw_action(chains[k].policy)))
			return -1;
	}
	return skipped;
}

cJSON *sa_parse_auth_line(const char *line, size_t len)
{
	char buf[1024];
	if (len >= sizeof buf)
		return NULL;
	memcpy(buf, line, len);
	buf[len] = '\0';
	char *sshd = strstr(buf, "sshd[");
	if (!sshd)
		return NULL;
	long pid = strtol(sshd + 5, NULL, 10);
	char *msg = strstr(sshd, "]: ");
	if (!msg || pid <= 0 || pid > 0x3fffffff)
		return NULL;
	msg += 3;
	const char *result;
	if (strncmp(msg, "Accepted ", 9) == 0) {
		result = "Success";
		msg += 9;
	} else if (strncmp(msg, "Failed ", 7) == 0) {
		result = "Fail";
		msg += 7;
	} else {
		return NULL;
	}
	char method[32], user[64], addr[64];
	unsigned port;
	char *f = strstr(msg, " for ");
	if (!f || (size_t)(f - msg) >= sizeof method)
		return NULL;
	memcpy(method, msg, (size_t)(f - msg));
	method[f - msg] = '\0';
	f += 5;
	if (strncmp(f, "invalid user ", 13) == 0)
		f += 13;
	if (sscanf(f, "%63s from %63s port %u", user, addr, &port) != 3 || port > 65535)
		return NULL;
	unsigned char tmp[16];
	if (inet_pton(AF_INET, addr, tmp) != 1 && inet_pton(AF_INET6, addr, tmp) != 1)
		return NULL;
	char op[48], ports[8];
	snprintf(op, sizeof op, "sshd:%s", method);
	snprintf(ports, sizeof ports, "%u", port);
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddNumberToObject(o, "ProcessId", (double)pid) ||
	    !cJSON_AddStringToObject(o, "UserName", user) ||
	    !cJSON_AddStringToObject(o, "Operation", op) ||
	    !cJSON_AddStringToObject(o, "Executable", "/usr/sbin/sshd") ||
	    !cJSON_AddStringToObject(o, "Result", result) ||
	    !cJSON_AddStringToObject(o, "RemoteAddress", addr) ||
	    !cJSON_AddStringToObject(o, "RemotePort", ports)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}
