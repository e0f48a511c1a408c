/*
 * cmd_serve.c: `simhub serve` (open the store, load fixtures, print connection strings, run
 * until SIGINT/SIGTERM) and `simhub load` (apply fixtures to a database and exit).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app/cli.h"
#include "store/store.h"

struct print_state {
	struct cli_ctx *ctx;
	cJSON *arr;       /* --json: array of {identity, connectionString} */
	int failed;
};

static sh_rc print_module(void *arg, const struct sh_identity *id);

static void print_cs(struct print_state *ps, const struct sh_identity *id)
{
	if (id->auth_type != SH_AUTH_SAS)
		return;
	char *text = NULL;
	struct iothub_err err = {0};
	if (hub_connection_string(ps->ctx->hub, id->device_id, id->module_id, NULL, &text, &err) != SH_OK) {
		ps->failed = 1;
		return;
	}
	char name[2 * SH_ID_MAX + 2];
	snprintf(name, sizeof name, "%s%s%s", id->device_id, id->module_id[0] ? "/" : "", id->module_id);
	if (ps->arr) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "identity", name);
		cJSON_AddStringToObject(o, "connectionString", text);
		cJSON_AddItemToArray(ps->arr, o);
	} else {
		printf("  %-36s %s\n", name, text);
	}
	free(text);
}

static sh_rc print_device(void *arg, const struct sh_identity *id)
{
	struct print_state *ps = arg;
	print_cs(ps, id);
	struct iothub_err err = {0};
	return hub_identity_each(ps->ctx->hub, id->device_id, print_module, ps, &err);
}

static sh_rc print_module(void *arg, const struct sh_identity *id)
{
	print_cs(arg, id);
	return SH_OK;
}

/* The banner: hub name, database, the iothubowner string and every identity's string. */
static int print_connection_info(struct cli_ctx *ctx)
{
	char *owner = NULL;
	struct iothub_err err = {0};
	if (hub_policy_connection_string(ctx->hub, "iothubowner", &owner, &err) != SH_OK)
		return cli_fail_hub("cannot read the iothubowner policy", &err);
	struct print_state ps = {ctx, ctx->json ? cJSON_CreateArray() : NULL, 0};
	if (!ctx->json) {
		printf("simhub: hub %s, database %s (schema v%d)\n", hub_hostname(ctx->hub), ctx->db,
		       store_schema_version());
		printf("service (iothubowner):\n  %s\n", owner);
		printf("identities:\n");
	}
	sh_rc rc = hub_identity_each(ctx->hub, NULL, print_device, &ps, &err);
	if (ctx->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "host", hub_hostname(ctx->hub));
		cJSON_AddStringToObject(o, "db", ctx->db);
		cJSON_AddStringToObject(o, "service", owner);
		cJSON_AddItemToObject(o, "identities", ps.arr);
		cli_print_json(o);
		cJSON_Delete(o);
	}
	free(owner);
	fflush(stdout);
	if (rc != SH_OK || ps.failed)
		return cli_error(CLI_FAIL, "cannot list identities: %s", err.message);
	return CLI_OK;
}

static int apply_common(struct cli_ctx *ctx)
{
	const char *host = cli_opt(ctx, "hostname");
	if (host) {
		struct iothub_err err = {0};
		if (hub_set_hostname(ctx->hub, host, &err) != SH_OK)
			return cli_fail_hub("--hostname", &err);
	}
	return CLI_OK;
}

static int serve(struct cli_ctx *ctx)
{
	/* Block the stop signals first so they are only ever taken by sigwait below. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, NULL);

	int rc = cli_open(ctx, true);
	if (rc)
		return rc;
	const char *paths[CLI_MAX_REPEAT];
	int n = cli_opt_all(ctx, "fixtures", paths, CLI_MAX_REPEAT);
	if (n && (rc = cli_load_fixtures(ctx, paths, n, ctx->json)))
		return rc;
	if ((rc = apply_common(ctx)) || (rc = print_connection_info(ctx)))
		return rc;
	if (!ctx->json) {
		printf("listeners: none in this build (MQTT and HTTPS endpoints are not served yet)\n");
		printf("running; stop with Ctrl-C or SIGTERM\n");
	}
	fflush(stdout);
	int sig = 0;
	sigwait(&stop, &sig);
	fprintf(stderr, "simhub: %s received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	return CLI_OK;
}

static int load(struct cli_ctx *ctx)
{
	int rc = cli_open(ctx, true);
	if (rc)
		return rc;
	if ((rc = cli_load_fixtures(ctx, ctx->pos, ctx->npos, false)))
		return rc;
	return apply_common(ctx);
}

static const struct cli_opt serve_opts[] = {
	{"fixtures", "PATH", "load a fixture file or folder (*.json) first; repeatable"},
	{"hostname", "NAME", "the hub's host name in connection strings and SAS scopes"},
	{NULL, NULL, NULL},
};
static const struct cli_opt load_opts[] = {
	{"hostname", "NAME", "also set the hub's host name"},
	{NULL, NULL, NULL},
};

const struct cli_verb cli_verbs_serve[] = {
	{NULL, "serve", NULL, "run the hub: open the database, load fixtures, print connection strings",
	 "Runs until SIGINT or SIGTERM. Fixtures are applied all-or-nothing before anything\n"
	 "is printed; a bad fixture names its file, JSON path and reason, and nothing is\n"
	 "changed. See docs/fixtures.md.",
	 serve_opts, 0, 0, serve},
	{NULL, "load", "PATH...", "apply fixture files or folders to the database and exit",
	 "Loading is idempotent and all-or-nothing (docs/fixtures.md).", load_opts, 1,
	 CLI_MAX_POSITIONAL, load},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
