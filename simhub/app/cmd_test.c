/*
 * cmd_test.c: `simhub test SCENARIO...`: validate every scenario file first (exit 2 on the
 * first invalid one, with file:line: path: reason), run them one after the other
 * (scenario_run.c), write the JUnit and JSON reports, and exit 0 (all passed), 1 (one failed)
 * or 2 (invalid file, or a hub or agent that could not start). It never touches --db's default.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app/cli.h"
#include "app/scenario_run.h"
#include "core/report.h"
#include "core/scenario.h"

/* Read a whole file (at most SCENARIO_MAX_BYTES + 1 bytes). Caller frees. NULL with errno. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0 || n > SCENARIO_MAX_BYTES)
			break;
		if (n == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		errno = EIO;
		return NULL;
	}
	*len = n;
	return buf;
}

static int write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	int ok = fwrite(text, 1, len, f) == len;
	ok = (fclose(f) == 0) && ok;
	return ok ? 0 : -1;
}

static void on_signal(int sig)
{
	(void)sig;
	scenario_run_interrupted = 1;
}

/*
 * --db for the scenario: main.c sets ctx->db to $SIMHUB_DB or the default when --db is absent;
 * `simhub test` uses a temp database then. With several scenarios each gets PATH.N after the
 * first, so none inherits another's hub.
 */
static const char *db_for(const struct cli_ctx *ctx, int i, char *buf, size_t cap)
{
	const char *env = getenv("SIMHUB_DB");
	if ((env && ctx->db == env) || strcmp(ctx->db, CLI_DEFAULT_DB) == 0)
		return NULL;
	if (i == 0)
		return ctx->db;
	snprintf(buf, cap, "%s.%d", ctx->db, i);
	return buf;
}

static int run_tests(struct cli_ctx *ctx)
{
	int n = ctx->npos;
	struct scenario **sc = calloc((size_t)n, sizeof *sc);
	struct scenario_result *res = calloc((size_t)n, sizeof *res);
	struct report_suite *suites = calloc((size_t)n, sizeof *suites);
	int rc = CLI_OK;
	if (!sc || !res || !suites) {
		rc = cli_error(CLI_FAIL, "out of memory");
		goto cleanup;
	}
	/* Every file is validated before anything runs. */
	for (int i = 0; i < n; i++) {
		size_t len = 0;
		char *text = read_file(ctx->pos[i], &len);
		if (!text) {
			rc = cli_error(CLI_USAGE, "cannot read %s: %s", ctx->pos[i], strerror(errno));
			goto cleanup;
		}
		struct scenario_error err;
		sh_rc prc = scenario_parse(text, len, ctx->pos[i], &sc[i], &err);
		free(text);
		if (prc != SH_OK) {
			char buf[1024];
			fprintf(stderr, "simhub: invalid scenario: %s\n",
				scenario_error_format(&err, buf, sizeof buf));
			rc = CLI_USAGE;
			goto cleanup;
		}
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	bool not_run = false, failed = false;
	for (int i = 0; i < n && !scenario_run_interrupted; i++) {
		char dbbuf[4200];
		struct scenario_run_opts o = {
			.agent = cli_opt(ctx, "agent"),
			.db = db_for(ctx, i, dbbuf, sizeof dbbuf),
			.keep = cli_flag(ctx, "keep"),
		};
		enum scenario_verdict v = scenario_run(sc[i], &o, &res[i]);
		suites[i] = res[i].suite;
		not_run |= v == SCENARIO_NOT_RUN;
		failed |= v == SCENARIO_FAILED;
	}
	int ran = 0;
	while (ran < n && res[ran].suite.name)
		ran++;
	struct report_totals t = report_count(suites, (size_t)ran);
	printf("%d scenario%s: %zu steps, %zu failed, %zu errors, %zu skipped\n", ran,
	       ran == 1 ? "" : "s", t.tests, t.failures, t.errors, t.skipped);
	const char *junit = cli_opt(ctx, "junit"), *json = cli_opt(ctx, "json");
	const char *paths[2] = {junit, json};
	for (int k = 0; k < 2; k++) {
		if (!paths[k])
			continue;
		char *text = NULL;
		size_t len = 0;
		sh_rc r = k == 0 ? report_junit("simhub test", suites, (size_t)ran, &text, &len)
				 : report_json("simhub test", suites, (size_t)ran, &text, &len);
		if (r != SH_OK || write_file(paths[k], text, len) != 0) {
			cli_error(CLI_FAIL, "cannot write %s", paths[k]);
			not_run = true;
		}
		free(text);
	}
	rc = not_run ? CLI_USAGE : (failed || scenario_run_interrupted) ? CLI_FAIL : CLI_OK;
cleanup:
	for (int i = 0; sc && i < n; i++) {
		scenario_free(sc[i]);
		if (res)
			scenario_result_free(&res[i]);
	}
	free(sc);
	free(res);
	free(suites);
	return rc;
}

static const struct cli_opt test_opts[] = {
	{"agent", "CMD", "run this shell command as the agent (replaces the scenario's)"},
	{"junit", "FILE", "write a JUnit XML report"},
	{"json", "FILE", "write the JSON report"},
	{"keep", NULL, "keep each scenario's temp folder (database, CA, agent output)"},
	{"db", "PATH", "the hub's database (the next scenarios use PATH.1, PATH.2...; default: temp)"},
	{NULL, NULL, NULL},
};

const struct cli_verb cli_verbs_test[] = {
	{NULL, "test", "SCENARIO...", "run scenarios against an in-process hub and judge the agent",
	 "Each scenario gets a fresh hub on free ports (MQTT, MQTT/TLS, HTTPS and WebSocket)\n"
	 "with its own CA, its fixtures, and the agent started with SIMHUB_HOST,\n"
	 "SIMHUB_MQTT_PORT, SIMHUB_MQTTS_PORT, SIMHUB_HTTPS_PORT, SIMHUB_CA,\n"
	 "SIMHUB_SERVICE_CS and SIMHUB_CS_<IDENTITY> in its environment (docs/scenarios.md).\n"
	 "--db PATH keeps the hub's database there instead of the temp folder.\n"
	 "Exit codes: 0 every scenario passed, 1 one failed, 2 an invalid scenario file or a\n"
	 "hub or agent that could not start.",
	 test_opts, 1, CLI_ANY_POSITIONAL, run_tests},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
