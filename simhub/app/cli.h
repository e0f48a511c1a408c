/*
 * cli.h: what the `simhub` verbs share: option parsing against a per-verb table, opening the
 * store and hub named by --db, the real clock and random source, and uniform error output
 * (stderr, non-zero exit). Exit codes: 0 success, 1 the operation failed, 2 usage error.
 */
#ifndef SH_CLI_H
#define SH_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "core/iothub_error.h"
#include "hub/hub.h"

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

#define CLI_DEFAULT_DB "./simhub-data/simhub.db"
#define CLI_MAX_POSITIONAL 16
#define CLI_MAX_REPEAT 32

struct cli_ctx;

/* One option a verb accepts. `value` names its argument ("PATH"), NULL for a flag. */
struct cli_opt {
	const char *name;   /* without the leading "--" */
	const char *value;
	const char *help;
};

/* A verb: `simhub <group> <name>` or `simhub <name>` when group is NULL. */
struct cli_verb {
	const char *group;
	const char *name;
	const char *args;        /* positional synopsis, e.g. "DEVICE[/MODULE]" */
	const char *summary;     /* one line */
	const char *details;     /* paragraph for --help, may be NULL */
	const struct cli_opt *opts;  /* terminated by {NULL}; --db, --json and --help are implicit */
	int min_pos, max_pos;
	int (*run)(struct cli_ctx *ctx);
};

/* Parsed command line of one verb. */
struct cli_ctx {
	const struct cli_verb *verb;
	const char *pos[CLI_MAX_POSITIONAL];
	int npos;
	const char *opt_name[CLI_MAX_REPEAT * 2];
	const char *opt_value[CLI_MAX_REPEAT * 2];
	int nopt;
	const char *db;          /* --db, or CLI_DEFAULT_DB */
	bool json;               /* --json */
	struct sh_store *st;
	struct sh_hub *hub;
};

/* Last value of --name, or NULL. */
const char *cli_opt(const struct cli_ctx *ctx, const char *name);
bool cli_flag(const struct cli_ctx *ctx, const char *name);
/* Every value of a repeatable option, in order; returns the count. */
int cli_opt_all(const struct cli_ctx *ctx, const char *name, const char **out, int max);

/*
 * Open the store named by --db (creating its folder when `create` is true) and the hub over it.
 * With create false, a missing file is an error that says how to make one. Prints the reason and
 * returns CLI_FAIL on failure.
 */
int cli_open(struct cli_ctx *ctx, bool create);
void cli_close(struct cli_ctx *ctx);

/* Print "simhub: <what>: <message> (<Name> <code>)" to stderr; returns CLI_FAIL. */
int cli_fail_hub(const char *what, const struct iothub_err *err);
/* printf-style error to stderr with the "simhub: " prefix; returns `code`. */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Split "dev/mod" into device and module (module "" when absent) in caller buffers. */
int cli_split_identity(const char *arg, char *dev, size_t devcap, char *mod, size_t modcap);

/* Print a cJSON tree (pretty) to stdout followed by a newline. Does not free it. */
struct cJSON;
void cli_print_json(const struct cJSON *j);

/* Read a JSON argument: literal text, "-" for stdin or "@file". Caller frees with cJSON_Delete. */
struct cJSON *cli_read_json_arg(const char *arg, const char *what);

/* Parse a duration: "3600", "90s", "15m", "2h", "7d" -> seconds; -1 when malformed. */
long long cli_parse_duration(const char *s);

/* The process's hub environment: wall clock and getrandom(). */
const struct sh_hub_env *cli_env(void);

/* Apply fixtures from files and folders (*.json in name order) in one transaction. */
int cli_load_fixtures(struct cli_ctx *ctx, const char *const *paths, int n, bool quiet);

/* Verb tables, one per file. */
extern const struct cli_verb cli_verbs_registry[];
extern const struct cli_verb cli_verbs_twin[];
extern const struct cli_verb cli_verbs_serve[];
extern const struct cli_verb cli_verbs_ca[];
extern const struct cli_verb cli_verbs_x509[];

#endif
