/*
 * report.h: the test report room. Turns the results of scenario runs (filled in by the runner)
 * into JUnit XML, which GitLab, GitHub and Jenkins read as is, and into simhub's JSON report.
 * Pure: builds text in memory; never writes files, never reads the clock (times are inputs).
 */
#ifndef SH_REPORT_H
#define SH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

#define REPORT_OUTPUT_MAX (1u << 20)   /* agent output kept per stream: the last 1 MiB */

enum report_status {
	REPORT_PASSED,
	REPORT_FAILED,     /* an expectation did not hold: <failure> */
	REPORT_ERROR,      /* the step could not run (hub or agent error): <error> */
	REPORT_SKIPPED,    /* not run because an earlier step failed: <skipped> */
};

/* One step's result. Every pointer is borrowed; NULL means "none". */
struct report_case {
	const char *name;           /* step name */
	const char *kind;           /* "patch-desired", ... (JSON report only) */
	const char *location;       /* "s.json:14 $.steps[2]" (JSON report; JUnit failure text) */
	enum report_status status;
	int64_t duration_us;
	const char *message;        /* one line: the failure message attribute */
	const char *detail;         /* several lines: expected, seen last, where */
};

/* One scenario's result: a JUnit <testsuite>. Every pointer is borrowed. */
struct report_suite {
	const char *name;           /* scenario name */
	const char *file;           /* scenario file */
	int64_t started_us;         /* microseconds since 1970 UTC; the JUnit timestamp */
	int64_t duration_us;
	const struct report_case *cases;
	size_t case_count;
	const char *error;          /* the scenario could not run at all (agent did not start,
				       bad fixture): reported as an error; NULL otherwise */
	const char *agent_stdout;   /* raw bytes, any content (NULs, invalid UTF-8, "]]>") */
	size_t agent_stdout_len;
	const char *agent_stderr;
	size_t agent_stderr_len;
	const char *hostname;       /* JUnit hostname attribute; NULL: "localhost" */
};

/* Totals over suites, as both reports state them. */
struct report_totals {
	size_t tests, failures, errors, skipped;
	int64_t duration_us;
};

/* Add up the cases of `n` suites (a suite `error` counts as one error). */
struct report_totals report_count(const struct report_suite *suites, size_t n);

/*
 * JUnit XML: <testsuites name tests failures errors skipped time> holding one <testsuite name
 * tests failures errors skipped time timestamp hostname> per suite, one <testcase name
 * classname time> per case (classname = the suite name) with <failure message type>, <error
 * message type> or <skipped message>, and the agent's output in the suite's <system-out> and
 * <system-err>. Text is escaped (& < > " '); bytes that XML 1.0 cannot carry (control bytes
 * other than tab, LF and CR, invalid UTF-8, U+FFFE/U+FFFF) become U+FFFD, so hostile agent
 * output can neither break nor end the document; output beyond REPORT_OUTPUT_MAX keeps its tail.
 * `name` (borrowed, NULL: "simhub") names the run. On SH_OK *out is NUL-terminated text the
 * caller frees with free(), *out_len (optional) its length. Returns SH_E_INVALID for NULL out
 * or suites with n > 0, SH_E_NOMEM.
 */
sh_rc report_junit(const char *name, const struct report_suite *suites, size_t n, char **out,
		   size_t *out_len);

/*
 * The JSON report: {"name", "passed": bool, "tests", "failures", "errors", "skipped", "time",
 * "scenarios": [{"name", "file", "timestamp", "time", "passed", "error", "tests", "failures",
 * "errors", "skipped", "steps": [{"name", "kind", "status": "passed"|"failed"|"error"|"skipped",
 * "time", "location", "message", "detail"}], "agent": {"stdout", "stderr"}}]}, times in seconds.
 * Absent optional strings are omitted; text is made valid UTF-8 as for JUnit. Output and
 * returns as report_junit.
 */
sh_rc report_json(const char *name, const struct report_suite *suites, size_t n, char **out,
		  size_t *out_len);

/* "passed", "failed", "error", "skipped". */
const char *report_status_name(enum report_status s);

#endif
