/*
 * scenario_run_agent.c: the agent under test as a child process of `simhub test`: its command
 * and environment (templated), its own process group, stdout and stderr into files of the run's
 * folder, SIGTERM then SIGKILL after a grace period. It never blocks the loop: exits are reaped
 * with WNOHANG from the runner's ticker.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "app/scenario_run_internal.h"
#include "core/report.h"
#include "hub/hub.h"
#include "io/loop.h"

extern char **environ;

int scenario_env_name(const char *device_id, const char *module_id, char *out, size_t cap)
{
	size_t n = 0;
	const char *prefix = "SIMHUB_CS_";
	const char *parts[2] = {device_id, module_id && module_id[0] ? module_id : NULL};
	if (cap == 0)
		return -1;
	for (const char *p = prefix; *p; p++) {
		if (n + 1 >= cap)
			return -1;
		out[n++] = *p;
	}
	for (int i = 0; i < 2 && parts[i]; i++) {
		if (i == 1) {
			if (n + 3 >= cap)
				return -1;
			out[n++] = '_';
			out[n++] = '_';
		}
		for (const char *p = parts[i]; *p; p++) {
			unsigned char c = (unsigned char)*p;
			if (n + 1 >= cap)
				return -1;
			if (c >= 'a' && c <= 'z')
				out[n++] = (char)(c - 'a' + 'A');
			else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
				out[n++] = (char)c;
			else
				out[n++] = '_';
		}
	}
	out[n] = '\0';
	return 0;
}

/* A growing NULL-terminated list of malloc'd strings. */
struct strv {
	char **v;
	size_t n, cap;
};

static int strv_add(struct strv *s, char *str)
{
	if (!str)
		return -1;
	if (s->n + 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **nv = realloc(s->v, cap * sizeof *nv);
		if (!nv) {
			free(str);
			return -1;
		}
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
	return 0;
}

static void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

/* Expand one template string of the agent's settings; NULL (r->agent_error set) on failure. */
static char *expand(struct run *r, const char *text, const char *where)
{
	char *out = NULL;
	struct scenario_error err;
	if (scenario_expand(text, run_lookup, r, r->sc->file, where, &out, &err) != SH_OK) {
		char buf[800];
		snprintf(r->agent_error, sizeof r->agent_error, "%s",
			 scenario_error_format(&err, buf, sizeof buf));
		return NULL;
	}
	return out;
}

/* The environment: ours, then SIMHUB_*, then the scenario's agent.env (later wins). */
static int build_env(struct run *r, struct strv *env)
{
	for (char **e = environ; *e; e++)
		if (strv_add(env, strdup(*e)) != 0)
			return -1;
	char port[3][16];
	for (int i = 0; i < 3; i++)
		snprintf(port[i], sizeof port[i], "%d", io_loop_port(r->loop, (enum io_listener)i));
	if (strv_add(env, run_strf("SIMHUB_HOST=%s", hub_hostname(r->hub))) ||
	    strv_add(env, run_strf("SIMHUB_MQTT_PORT=%s", port[IO_MQTT])) ||
	    strv_add(env, run_strf("SIMHUB_MQTTS_PORT=%s", port[IO_MQTTS])) ||
	    strv_add(env, run_strf("SIMHUB_HTTPS_PORT=%s", port[IO_HTTPS])) ||
	    strv_add(env, run_strf("SIMHUB_CA=%s", r->tm.ca_cert)) ||
	    strv_add(env, run_strf("SIMHUB_SERVICE_CS=%s", r->service_cs ? r->service_cs : "")))
		return -1;
	for (size_t i = 0; i < r->sc->identity_count; i++) {
		const struct scenario_identity *id = &r->sc->identities[i];
		char name[2 * SH_ID_MAX + 16];
		char *cs = NULL;
		struct iothub_err err;
		if (scenario_env_name(id->device_id, id->module_id, name, sizeof name) != 0 ||
		    hub_connection_string(r->hub, id->device_id, id->module_id, NULL, &cs, &err) != SH_OK)
			continue;   /* not created yet, or not a SAS identity: no variable */
		int rc = strv_add(env, run_strf("%s=%s", name, cs));
		free(cs);
		if (rc)
			return -1;
	}
	const struct scenario_agent *a = &r->sc->agent;
	for (size_t i = 0; i < a->env_count; i++) {
		char where[128];
		snprintf(where, sizeof where, "$.agent.env.%s", a->env_names[i]);
		char *v = expand(r, a->env_values[i], where);
		if (!v)
			return -1;
		int rc = strv_add(env, run_strf("%s=%s", a->env_names[i], v));
		free(v);
		if (rc)
			return -1;
	}
	return 0;
}

static int build_argv(struct run *r, struct strv *argv)
{
	const struct scenario_agent *a = &r->sc->agent;
	const char *shell = r->opts->agent ? r->opts->agent : a->shell;
	if (shell) {
		char *cmd = expand(r, shell, r->opts->agent ? "--agent" : "$.agent.command");
		if (!cmd)
			return -1;
		if (strv_add(argv, strdup("/bin/sh")) || strv_add(argv, strdup("-c")) ||
		    strv_add(argv, cmd))
			return -1;
		return 0;
	}
	for (size_t i = 0; i < a->argc; i++) {
		char where[64];
		snprintf(where, sizeof where, "$.agent.command[%zu]", i);
		char *v = expand(r, a->argv[i], where);
		if (!v || strv_add(argv, v))
			return -1;
	}
	return 0;
}

/*
 * Fork and exec the agent. The child gets its own process group (so stopping it reaches the
 * processes it starts), stdin from /dev/null and stdout/stderr appended to the run's files. A
 * close-on-exec pipe tells the parent whether exec worked: it reads EOF on success, errno
 * otherwise. The read cannot block for long: the child writes or execs at once.
 */
int run_agent_start(struct run *r)
{
	struct strv argv = {0}, env = {0};
	r->agent_error[0] = '\0';
	if (!r->opts->agent && !r->sc->agent.present) {
		snprintf(r->agent_error, sizeof r->agent_error,
			 "the scenario has no \"agent\" and no --agent was given");
		return -1;
	}
	if (build_argv(r, &argv) != 0 || build_env(r, &env) != 0 || argv.n == 0) {
		if (!r->agent_error[0])
			snprintf(r->agent_error, sizeof r->agent_error, "out of memory");
		strv_free(&argv);
		strv_free(&env);
		return -1;
	}
	char *cwd = NULL;
	if (r->sc->agent.cwd_resolved && !(cwd = expand(r, r->sc->agent.cwd_resolved, "$.agent.cwd"))) {
		strv_free(&argv);
		strv_free(&env);
		return -1;
	}
	if (!cwd) {
		/* Default: the scenario's folder. */
		const char *slash = strrchr(r->sc->file, '/');
		cwd = slash ? strndup(r->sc->file, (size_t)(slash - r->sc->file) + (slash == r->sc->file))
			    : strdup(".");
	}
	int out = open(r->out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int err = open(r->err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int pfd[2] = {-1, -1};
	int rc = -1;
	if (out < 0 || err < 0 || pipe2(pfd, O_CLOEXEC) != 0) {
		snprintf(r->agent_error, sizeof r->agent_error, "cannot prepare the agent's output: %s",
			 strerror(errno));
		goto cleanup;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(r->agent_error, sizeof r->agent_error, "fork: %s", strerror(errno));
		goto cleanup;
	}
	if (pid == 0) {
		int e = 0;
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			e = errno;
		else if (cwd && chdir(cwd) != 0)
			e = errno;
		if (!e) {
			environ = env.v;
			execvp(argv.v[0], argv.v);
			e = errno;
		}
		ssize_t w = write(pfd[1], &e, sizeof e);
		(void)w;
		_exit(127);
	}
	setpgid(pid, pid);   /* also here: whichever runs first wins the race */
	close(pfd[1]);
	pfd[1] = -1;
	int child_errno = 0;
	ssize_t n;
	do
		n = read(pfd[0], &child_errno, sizeof child_errno);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof child_errno) {
		waitpid(pid, NULL, 0);
		snprintf(r->agent_error, sizeof r->agent_error, "cannot run %s (in %s): %s", argv.v[0],
			 cwd ? cwd : ".", strerror(child_errno));
		goto cleanup;
	}
	r->pid = pid;
	r->stopping = false;
	r->starts++;
	char line[160];
	size_t off = 0;
	for (size_t i = 0; i < argv.n && off < sizeof line; i++)
		off += (size_t)snprintf(line + off, sizeof line - off, "%s%s", i ? " " : "", argv.v[i]);
	if (off >= sizeof line)
		strcpy(line + sizeof line - 4, "...");
	printf("  agent started: pid %ld: %s\n", (long)pid, line);
	fflush(stdout);
	rc = 0;
cleanup:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (out >= 0)
		close(out);
	if (err >= 0)
		close(err);
	free(cwd);
	strv_free(&argv);
	strv_free(&env);
	return rc;
}

void run_agent_stop(struct run *r, int64_t grace_us)
{
	if (!r->pid || r->stopping)
		return;
	kill(-r->pid, SIGTERM);
	r->stopping = true;
	r->kill_at_mono = run_mono_us() + grace_us;
}

/* Describe a wait status: "exit 0", "signal 15". */
static void status_text(int st, char *buf, size_t cap)
{
	if (WIFEXITED(st))
		snprintf(buf, cap, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, cap, "signal %d", WTERMSIG(st));
	else
		snprintf(buf, cap, "status %d", st);
}

bool run_agent_poll(struct run *r)
{
	if (!r->pid)
		return true;
	int st = 0;
	pid_t w = waitpid(r->pid, &st, WNOHANG);
	if (w == r->pid) {
		char how[64];
		status_text(st, how, sizeof how);
		/* The group may outlive its leader (a shell's children): end it too. */
		kill(-r->pid, r->stopping ? SIGKILL : SIGTERM);
		if (!r->stopping) {
			printf("  agent exited by itself (%s) at %.2fs\n", how,
			       (double)(run_mono_us() - r->t0_mono) / 1e6);
			/* /bin/sh says 127 (not found) or 126 (not executable): it never ran. */
			if (WIFEXITED(st) && (WEXITSTATUS(st) == 127 || WEXITSTATUS(st) == 126) &&
			    !r->could_not_start) {
				r->could_not_start = true;
				snprintf(r->agent_error, sizeof r->agent_error,
					 "the agent could not start (%s: command not found or not "
					 "executable; its stderr is in the report)", how);
			}
		} else {
			printf("  agent stopped (%s)\n", how);
		}
		fflush(stdout);
		r->pid = 0;
		r->stopping = false;
		return true;
	}
	if (w < 0 && errno == ECHILD) {
		r->pid = 0;
		return true;
	}
	if (r->stopping && run_mono_us() >= r->kill_at_mono) {
		kill(-r->pid, SIGKILL);
		r->kill_at_mono = INT64_MAX;
	}
	return false;
}

/* The last `max` bytes of a file, malloc'd (NUL-terminated; *len without it); NULL when empty. */
static char *read_tail(const char *path, size_t max, size_t *len)
{
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat sb;
	char *buf = NULL;
	if (fstat(fd, &sb) == 0 && sb.st_size > 0) {
		size_t size = (size_t)sb.st_size;
		size_t want = size > max ? max : size;
		buf = malloc(want + 1);
		if (buf && lseek(fd, (off_t)(size - want), SEEK_SET) >= 0) {
			size_t got = 0;
			while (got < want) {
				ssize_t n = read(fd, buf + got, want - got);
				if (n <= 0)
					break;
				got += (size_t)n;
			}
			buf[got] = '\0';
			*len = got;
		}
	}
	close(fd);
	return buf;
}

void run_agent_collect(struct run *r)
{
	size_t n = 0;
	free(r->res->out);
	free(r->res->err);
	r->res->out = read_tail(r->out_path, REPORT_OUTPUT_MAX, &n);
	r->res->suite.agent_stdout = r->res->out;
	r->res->suite.agent_stdout_len = n;
	r->res->err = read_tail(r->err_path, REPORT_OUTPUT_MAX, &n);
	r->res->suite.agent_stderr = r->res->err;
	r->res->suite.agent_stderr_len = n;
}
