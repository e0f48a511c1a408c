/*
 * scenario_run.h: the scenario runner behind `simhub test`. Runs one parsed scenario against a
 * fresh in-process hub (every listener on free ports, its own CA), spawns the agent under
 * test, executes the steps from the lws loop and fills a report suite. It never parses
 * scenario files (core/scenario) and never formats reports (core/report).
 */
#ifndef SH_SCENARIO_RUN_H
#define SH_SCENARIO_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/cli.h"
#include "core/report.h"

struct scenario;

/* How to run. Every pointer borrowed. */
struct scenario_run_opts {
	const char *agent;          /* --agent: a shell command replacing the file's agent; NULL */
	const char *db;             /* --db: database path; NULL = a file in the temp folder */
	bool keep;                  /* --keep: keep the temp folder (its path is printed) */
	bool verbose;               /* echo the agent's output as it comes (not used yet) */
};

/* What the runner decided about a scenario. */
enum scenario_verdict {
	SCENARIO_PASSED = 0,
	SCENARIO_FAILED = 1,        /* an expectation failed or a step could not run */
	SCENARIO_NOT_RUN = 2,       /* the hub or the agent could not start */
};

/*
 * One scenario's result: `suite` points into memory the result owns (names, messages, agent
 * output). Free with scenario_result_free.
 */
struct scenario_result {
	struct report_suite suite;
	enum scenario_verdict verdict;
	struct report_case *cases;
	char **strings;             /* every string the cases and the suite point to */
	size_t n_strings, cap_strings;
	char *out, *err;            /* agent output (the last REPORT_OUTPUT_MAX bytes of each) */
};

/*
 * Run `sc` (borrowed) with `opts` (borrowed). Progress lines go to stdout. `res` is filled in
 * every case (also when the scenario could not run: then suite.error says why). Returns the
 * verdict (also in res->verdict).
 */
enum scenario_verdict scenario_run(const struct scenario *sc, const struct scenario_run_opts *opts,
				   struct scenario_result *res);

/* Release what a result owns and zero it. */
void scenario_result_free(struct scenario_result *res);

/*
 * The environment variable that carries an identity's connection string: "SIMHUB_CS_" plus
 * the identity upper-cased, '/' written "__" and every other byte that is not a letter or a
 * digit written '_' ("dev1/azureiotsecurity" -> SIMHUB_CS_DEV1__AZUREIOTSECURITY). Writes
 * into out (cap bytes, NUL-terminated). Returns 0; -1 when it does not fit.
 */
int scenario_env_name(const char *device_id, const char *module_id, char *out, size_t cap);

/* Set from a signal handler: the running scenario stops at once (its step is an error). */
extern volatile sig_atomic_t scenario_run_interrupted;

/* The `simhub test` verb (cmd_test.c). */
extern const struct cli_verb cli_verbs_test[];

#endif
