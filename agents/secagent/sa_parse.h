/*
 * sa_parse.h: room sa_parse of secagent: the text formats the Linux collectors read
 * (/proc/net/{tcp,udp}[6], /etc/passwd + /etc/group, /proc/meminfo, /etc/os-release,
 * /proc/<pid>/stat and status, iptables-save, auth.log) turned into security event payload
 * items (security-agent.md §4). Pure: text in, cJSON items out; it never opens a file.
 * Malformed lines are skipped and counted, never fatal: a collector reports what it can read.
 */
#ifndef SA_PARSE_H
#define SA_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

struct cJSON;

/*
 * ListeningPorts items from a /proc/net table (`len` bytes of `text`, borrowed; the header
 * line is skipped). `proto` is "tcp", "tcp6", "udp" or "udp6": TCP rows in state 0A (LISTEN)
 * and UDP rows in state 07 (bound, unconnected) become
 * {"Protocol","LocalAddress","LocalPort","RemoteAddress","RemotePort":"*"} appended to `items`
 * (a cJSON array, borrowed). Returns the number of malformed rows skipped, or -1 for a bad
 * argument or an allocation failure.
 */
int sa_parse_proc_net(const char *text, size_t len, const char *proto, struct cJSON *items);

/*
 * LocalUsers items from /etc/passwd and /etc/group texts (borrowed): one
 * {"UserName","UserId","GroupNames","GroupIds"} per passwd line, the primary group first, then
 * every group that lists the user, ';'-separated. Returns malformed lines skipped, or -1.
 */
int sa_parse_users(const char *passwd, size_t plen, const char *group, size_t glen,
		   struct cJSON *items);

/* Values of /proc/meminfo in kB (0 when absent). */
struct sa_meminfo {
	int64_t mem_total_kb, mem_free_kb, mem_available_kb, swap_total_kb, swap_free_kb;
};
/* Parse /proc/meminfo. Returns SH_OK, or SH_E_MALFORMED when MemTotal is missing. */
sh_rc sa_parse_meminfo(const char *text, size_t len, struct sa_meminfo *out);

/*
 * The value of `key` (e.g. "PRETTY_NAME") in an os-release text, unquoted, into out (cap
 * bytes). Returns SH_OK; SH_E_NOTFOUND (out = ""); SH_E_NOSPACE (out = "").
 */
sh_rc sa_parse_os_release(const char *text, size_t len, const char *key, char *out, size_t cap);

/*
 * From /proc/<pid>/stat: the parent pid and the start time (clock ticks since boot), read
 * after the last ')' so a command name with spaces or parentheses cannot confuse it.
 * Returns SH_OK or SH_E_MALFORMED.
 */
sh_rc sa_parse_proc_stat(const char *text, size_t len, int *ppid, uint64_t *start_ticks);

/* The real uid from the "Uid:" line of /proc/<pid>/status. Returns SH_OK or SH_E_MALFORMED. */
sh_rc sa_parse_proc_uid(const char *text, size_t len, long *uid);

/*
 * /proc/<pid>/cmdline (NUL-separated arguments, `len` bytes) as one line, arguments joined by
 * spaces, into out (cap bytes, truncated, always NUL-terminated). Returns the length written.
 */
size_t sa_cmdline_join(const char *raw, size_t len, char *out, size_t cap);

/* One process as the process collector sees it. */
struct sa_proc {
	int pid, ppid;
	uint64_t start_ticks;  /* with pid, identifies the process across pid reuse */
	long uid;
	char exe[256];
	char cmdline[512];
};

/*
 * Compare two snapshots (each sorted by pid ascending, borrowed): a process in `cur` and not
 * in `prev` (same pid and start time) becomes a ProcessCreate item
 * {"Executable","ProcessId","ParentProcessId","UserId","CommandLine"} in `created`; one in
 * `prev` and not in `cur` becomes a ProcessTerminate item {"Executable","ProcessId",
 * "ExitStatus": -1} in `terminated` (polling /proc cannot see exit codes; -1 says unknown).
 * Either output may be NULL. Returns 0, or -1 on an allocation failure.
 */
int sa_proc_diff(const struct sa_proc *prev, size_t nprev, const struct sa_proc *cur, size_t ncur,
		 struct cJSON *created, struct cJSON *terminated);

/*
 * FirewallConfiguration items from `iptables-save` output: only the *filter table; each chain
 * policy line ":INPUT ACCEPT [..]" gives {"ChainName","Direction"?,"Priority":0..,"Enabled":true,
 * "Action"} and each "-A CHAIN ..." rule gives an item with Protocol, SourceAddress,
 * DestinationAddress, SourcePort, DestinationPort and Action from -p/-s/-d/--sport/--dport/-j
 * (ACCEPT -> Allow, DROP/REJECT -> Deny, anything else -> Other). INPUT -> "In", OUTPUT ->
 * "Out"; other chains have no Direction. Priority counts rules within a chain from 0; the
 * policy comes last. Returns lines skipped, or -1.
 */
int sa_parse_iptables(const char *text, size_t len, struct cJSON *items);

/*
 * A Login item from one syslog auth line of sshd ("Accepted password for pi from 10.0.0.2 port
 * 5022 ssh2", "Failed password for [invalid user ]x from ... port ..."): {"ProcessId",
 * "UserName","Operation":"sshd:<method>","Executable":"/usr/sbin/sshd","Result":"Success"|"Fail",
 * "RemoteAddress","RemotePort"}. `line` borrowed, `len` bytes without the newline.
 * Returns a new item (caller frees) or NULL when the line is not such a login.
 */
struct cJSON *sa_parse_auth_line(const char *line, size_t len);

#endif
