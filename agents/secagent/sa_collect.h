/*
 * sa_collect.h: room sa_collect of secagent: the Linux collectors (security-agent.md §2.6,
 * §4): read /proc, /etc and the logs under configurable roots and hand payload items to the
 * agent. It only reads; it never parses inline (sa_parse does) and never sends.
 */
#ifndef SA_COLLECT_H
#define SA_COLLECT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/result.h"
#include "sa_parse.h"

struct cJSON;

/* Where the collectors read; tests point these at fixture folders. */
struct sa_sources {
	char proc[256];       /* "/proc" */
	char etc[256];        /* "/etc" */
	char auth_log[256];   /* "/var/log/auth.log"; "" = no Login collector */
	char iptables[256];   /* "iptables-save" program path; "" = look in /usr/sbin and /sbin */
};

/* The defaults above. */
void sa_sources_default(struct sa_sources *s);

/* State kept between polls (process list, log offset). */
struct sa_collector {
	struct sa_sources src;
	struct sa_proc *procs;   /* last snapshot, sorted by pid */
	size_t nprocs;
	bool procs_init;         /* the first poll only records the baseline */
	long auth_off;           /* bytes of auth.log already read; -1 before the first poll */
};

/* Start a collector on `src` (copied). */
void sa_collector_init(struct sa_collector *c, const struct sa_sources *src);
void sa_collector_free(struct sa_collector *c);

/*
 * Snapshot collectors. Each returns a new cJSON array of payload items (caller frees), or NULL
 * when its source is absent or unreadable (the caller then skips the event; *why, optional, gets
 * a static reason for the log).
 * - listening: proc/net/tcp, tcp6, udp, udp6 (missing tables are skipped);
 * - users: etc/passwd + etc/group;
 * - sysinfo: uname, proc/meminfo, etc/os-release (one item);
 * - firewall: `iptables-save -t filter` when the program exists and runs (usually root only).
 */
struct cJSON *sa_collect_listening(const struct sa_collector *c, const char **why);
struct cJSON *sa_collect_users(const struct sa_collector *c, const char **why);
struct cJSON *sa_collect_sysinfo(const struct sa_collector *c, const char **why);
struct cJSON *sa_collect_firewall(const struct sa_collector *c, const char **why);

/*
 * Triggered collectors (polled):
 * - processes: list proc/<pid>, diff with the previous poll; *created / *terminated get new
 *   arrays (caller frees; empty on the first poll, which records the baseline).
 *   Returns SH_OK, SH_E_IO (proc unreadable), SH_E_NOMEM.
 * - logins: sshd lines appended to auth_log since the previous poll (the first poll starts at
 *   the end of the file); NULL when there is no log.
 */
sh_rc sa_collect_processes(struct sa_collector *c, struct cJSON **created, struct cJSON **terminated);
struct cJSON *sa_collect_logins(struct sa_collector *c, const char **why);

/*
 * Read a whole file (at most max bytes) into a new NUL-terminated buffer (caller frees);
 * *len gets its length. NULL when it cannot be read.
 */
char *sa_read_file(const char *path, size_t max, size_t *len);

#endif
