/*
 * cli.h: what the `simhub` verbs share: option parsing against a per-verb table, opening the
 * store and hub named by --db, the real clock and random source, and uniform error output
 * (stderr, non-zero exit). Exit codes: 0 success, 1 the operation failed, 2 usage error.
 */
#ifndef SH_CLI_H
#define SH_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "app/hubclient.h"
#include "core/iothub_error.h"
#include "hub/hub.h"

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

#define CLI_DEFAULT_DB "./simhub-data/simhub.db"
/* max_pos of a verb that takes any number of positional arguments */
#define CLI_ANY_POSITIONAL 1000000
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
	const char **pos;        /* positional arguments (argv entries), npos of them */
	int npos;
	const char *opt_name[CLI_MAX_REPEAT * 2];
	const char *opt_value[CLI_MAX_REPEAT * 2];
	int nopt;
	const char *db;          /* --db, or CLI_DEFAULT_DB */
	bool json;               /* --json */
	struct sh_store *st;
	struct sh_hub *hub;
	struct hubclient *remote;  /* set by cli_remote_open when a hub answers */
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

/* --- the running hub (issue 4) ------------------------------------------------------------------ */

/* The options of every verb that can talk to a running hub; put them in the verb's table. */
#define CLI_REMOTE_OPTS \
	{"hub", "URL", "the running hub, https://HOST:PORT (default $SIMHUB_HUB, else the ready file)"}, \
	{"ca", "PEM", "CA file of the hub's certificate (default $SIMHUB_CA, else the ready file's)"}, \
	{"service-cs", "CS", "service connection string (default $SIMHUB_SERVICE_CS, else the ready file's iothubowner)"}

/* The ready file `simhub serve` writes beside its database. */
#define CLI_READY_NAME "simhub.ready.json"

/*
 * The ready file path for database path `db`: "<folder of db>/simhub.ready.json" ("./" when db
 * has no folder). Writes into out (cap bytes). Returns 0; -1 for ":memory:" or when it does not fit.
 */
int cli_ready_path(const char *db, char *out, size_t cap);

/*
 * Find the running hub: --hub (or $SIMHUB_HUB) with --ca/--service-cs (or $SIMHUB_CA,
 * $SIMHUB_SERVICE_CS, else the values of the ready file beside --db when it has them); else the
 * ready file beside --db, checked with a health request. On success ctx->remote is set.
 * required: a verb that only works through a hub; with false, "no hub" (no ready file, or a
 * stale one) is not an error: CLI_OK with ctx->remote NULL, and the caller uses the database.
 * Returns CLI_OK; CLI_FAIL with the reason printed; CLI_USAGE for a malformed --hub.
 */
int cli_remote_open(struct cli_ctx *ctx, bool required);

/*
 * One request to the hub opened by cli_remote_open. On a transport failure, or an answer of
 * status 300 or more, prints "simhub: <what>: <error line>" and returns CLI_FAIL (*resp freed).
 * On CLI_OK *resp holds the answer (caller frees with hubclient_response_free).
 * *hub_code (optional) gets the IoT Hub error code of a failed answer, else 0.
 */
int cli_remote_call(struct cli_ctx *ctx, const char *method, const char *path,
		    const char *content_type, const char *body, size_t len,
		    const struct hubclient_header *headers, int timeout_s,
		    struct hubclient_response *resp, const char *what, int *hub_code);

/*
 * cli_remote_call with an optional JSON body (borrowed) and a JSON answer: *out (caller frees
 * with cJSON_Delete) is the parsed body, or NULL when the body is empty. etag_out (optional,
 * 128 bytes) gets the ETag header. Returns CLI_OK or CLI_FAIL (printed).
 */
int cli_remote_json(struct cli_ctx *ctx, const char *method, const char *path,
		    const struct cJSON *body, const struct hubclient_header *headers,
		    struct cJSON **out, char *etag_out, const char *what);

/* Percent-encode an id or a query value for a URL (A-Z a-z 0-9 - _ . ~ kept). -1 if it does not fit. */
int cli_url_encode(const char *in, char *out, size_t cap);

/*
 * --since: a duration before now ("90s", "10m", "2h", "7d", plain seconds) or an ISO 8601 time.
 * *out_us gets the instant in microseconds since 1970. Returns 0; -1 when malformed.
 */
int cli_parse_since(const char *s, int64_t now_us, int64_t *out_us);

/*
 * "k=v" (a property option): name is everything before the first '=', not empty; value the
 * rest (may be empty). Writes both NUL-terminated. Returns 0; -1 when malformed or too long.
 */
int cli_parse_property(const char *s, char *name, size_t ncap, char *value, size_t vcap);

/* Microseconds since 1970 from the wall clock. */
int64_t cli_now_us(void);

/* Verb tables, one per file. */
extern const struct cli_verb cli_verbs_registry[];
extern const struct cli_verb cli_verbs_twin[];
extern const struct cli_verb cli_verbs_serve[];
extern const struct cli_verb cli_verbs_ca[];
extern const struct cli_verb cli_verbs_x509[];
extern const struct cli_verb cli_verbs_remote[];
extern const struct cli_verb cli_verbs_security[];

#endif
