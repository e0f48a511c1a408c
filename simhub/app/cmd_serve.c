/*
 * cmd_serve.c: `simhub serve` (open the store, load fixtures, print connection strings, run
 * until SIGINT/SIGTERM) and `simhub load` (apply fixtures to a database and exit).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "app/cli.h"
#include "hub/session.h"
#include "io/loop.h"
#include "io/tls_material.h"
#include "store/store.h"

struct print_state {
	struct cli_ctx *ctx;
	cJSON *arr;       /* --json: array of {identity, connectionString} */
	const char *gateway;  /* GatewayHostName for the printed strings, or NULL */
	int failed;
};

static sh_rc print_module(void *arg, const struct sh_identity *id);

static void print_cs(struct print_state *ps, const struct sh_identity *id)
{
	if (id->auth_type != SH_AUTH_SAS)
		return;
	char *text = NULL;
	struct iothub_err err = {0};
	if (hub_connection_string(ps->ctx->hub, id->device_id, id->module_id, ps->gateway, &text,
				  &err) != SH_OK) {
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

/*
 * The banner: hub name, database, the iothubowner string and every identity's string. When
 * the hub's name is not localhost, device strings carry GatewayHostName=localhost[:port] so the
 * SDKs reach simhub while signing for the hub's name (iothub-protocol.md §12); `gateway` is that.
 */
static int print_connection_info(struct cli_ctx *ctx, const char *gateway)
{
	char *owner = NULL;
	struct iothub_err err = {0};
	if (hub_policy_connection_string(ctx->hub, "iothubowner", &owner, &err) != SH_OK)
		return cli_fail_hub("cannot read the iothubowner policy", &err);
	struct print_state ps = {ctx, ctx->json ? cJSON_CreateArray() : NULL, gateway, 0};
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

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t stop_signal;
static struct io_loop *running_loop;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
	stop_flag = 1;
	io_loop_wake(running_loop);
}

/* A port option: a number 0-65535 (0 = any free port). -2 when absent, -3 when malformed. */
static int port_opt(struct cli_ctx *ctx, const char *name)
{
	const char *v = cli_opt(ctx, name);
	if (!v)
		return -2;
	char *end;
	long n = strtol(v, &end, 10);
	if (!*v || *end || n < 0 || n > 65535)
		return -3;
	return (int)n;
}

/* Write `text` to `path` atomically (temp file + rename), so readers never see half of it.
 * Mode 0600: the ready file holds the iothubowner key. */
static int write_atomic(const char *path, const char *text)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The ready file and the text banner say the same things (issue: --ready-file). */
static cJSON *ready_info(struct cli_ctx *ctx, struct io_loop *loop, const struct tls_material *tm)
{
	char *owner = NULL;
	struct iothub_err err = {0};
	hub_policy_connection_string(ctx->hub, "iothubowner", &owner, &err);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "host", hub_hostname(ctx->hub));
	cJSON_AddNumberToObject(o, "mqtt", io_loop_port(loop, IO_MQTT));
	cJSON_AddNumberToObject(o, "mqtts", io_loop_port(loop, IO_MQTTS));
	cJSON_AddNumberToObject(o, "https", io_loop_port(loop, IO_HTTPS));
	cJSON_AddStringToObject(o, "ca", tm->ca_cert);
	cJSON_AddStringToObject(o, "service", owner ? owner : "");
	cJSON_AddStringToObject(o, "db", ctx->db);
	free(owner);
	return o;
}

/* GatewayHostName for printed device strings: none when the hub is called localhost; else
 * localhost, with the MQTT/TLS port when it is not the default 8883. */
static const char *gateway_for(struct cli_ctx *ctx, struct io_loop *loop)
{
	static char gw[64];
	if (strcmp(hub_hostname(ctx->hub), "localhost") == 0)
		return NULL;
	int port = io_loop_port(loop, IO_MQTTS);
	if (port == 8883 || port < 0)
		snprintf(gw, sizeof gw, "localhost");
	else
		snprintf(gw, sizeof gw, "localhost:%d", port);
	return gw;
}

/* The fixtures `serve --fixtures` loaded, for POST /simhub/v1/reset {"fixtures":true}. */
struct reseed_ctx {
	struct cli_ctx *cli;
	const char *const *paths;
	int n;
};

/*
 * The hub's reseed hook: apply the --fixtures paths again (read from disk again, inside the
 * reset's operation, so a fixture that no longer loads leaves the hub as it was).
 */
static sh_rc reseed_fixtures(void *arg, struct sh_hub *hub, struct iothub_err *err)
{
	struct reseed_ctx *r = arg;
	(void)hub;
	if (cli_load_fixtures(r->cli, r->paths, r->n, true) != CLI_OK) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID,
			       "the fixtures given to serve no longer load (simhub's log says why)");
		return SH_E_INVALID;
	}
	return SH_OK;
}

static int serve(struct cli_ctx *ctx)
{
	int ports[IO_LISTENERS] = {port_opt(ctx, "mqtt-port"), port_opt(ctx, "mqtts-port"),
				   port_opt(ctx, "https-port")};
	static const char *const port_names[] = {"--mqtt-port", "--mqtts-port", "--https-port"};
	for (int i = 0; i < IO_LISTENERS; i++)
		if (ports[i] == -3)
			return cli_error(CLI_USAGE, "%s takes a port number 0-65535 (0: any free port)",
					 port_names[i]);
	const char *user_cert = cli_opt(ctx, "tls-cert"), *user_key = cli_opt(ctx, "tls-key");
	if (!user_cert != !user_key)
		return cli_error(CLI_USAGE, "--tls-cert and --tls-key go together");

	int rc = cli_open(ctx, true);
	if (rc)
		return rc;
	const char *paths[CLI_MAX_REPEAT];
	int n = cli_opt_all(ctx, "fixtures", paths, CLI_MAX_REPEAT);
	if (n && (rc = cli_load_fixtures(ctx, paths, n, ctx->json)))
		return rc;
	struct reseed_ctx reseed = {ctx, paths, n};
	if (n)
		hub_set_reseed(ctx->hub, reseed_fixtures, &reseed);
	if ((rc = apply_common(ctx)))
		return rc;

	/* TLS material: the user's, or simhub's own CA and server certificate. */
	struct tls_material tm;
	memset(&tm, 0, sizeof tm);
	char err[512];
	if (user_cert) {
		if (tls_material_check_user(user_cert, user_key, err, sizeof err) != SH_OK)
			return cli_error(CLI_FAIL, "%s", err);
		snprintf(tm.cert, sizeof tm.cert, "%s", user_cert);
		snprintf(tm.key, sizeof tm.key, "%s", user_key);
	} else {
		char dir[4096];
		const char *names[1] = {hub_hostname(ctx->hub)};
		if (tls_material_dir_for_db(ctx->db, dir, sizeof dir, err, sizeof err) != SH_OK ||
		    tls_material_ensure(dir, names, strcmp(names[0], "localhost") ? 1 : 0,
					hub_now_us(ctx->hub) / 1000000, &tm, NULL, err, sizeof err) != SH_OK)
			return cli_error(CLI_FAIL, "TLS material: %s", err);
	}

	struct iothub_err rerr = {0};
	int64_t released = 0;
	if (hub_c2d_recover(ctx->hub, &released, &rerr) != SH_OK)
		return cli_fail_hub("cannot recover the C2D queue", &rerr);
	if (released)
		fprintf(stderr, "simhub: %lld C2D message%s locked by an earlier run went back to the queue\n",
			(long long)released, released == 1 ? "" : "s");
	struct hub_sessions *reg = hub_sessions_new(ctx->hub);
	if (!reg)
		return cli_error(CLI_FAIL, "out of memory");
	struct io_config cfg = {
		.bind = cli_opt(ctx, "bind") ? cli_opt(ctx, "bind") : "127.0.0.1",
		.port = {ports[IO_MQTT] == -2 ? 1883 : ports[IO_MQTT],
			 ports[IO_MQTTS] == -2 ? 8883 : ports[IO_MQTTS],
			 ports[IO_HTTPS] == -2 ? 443 : ports[IO_HTTPS]},
		.cert = tm.cert,
		.key = tm.key,
	};
	struct io_loop *loop = NULL;
	if (io_loop_start(ctx->hub, reg, &cfg, &loop, err, sizeof err) != SH_OK &&
	    ports[IO_HTTPS] == -2) {
		/* 443 needs privileges or may be taken: say so and fall back to 8443. */
		fprintf(stderr, "simhub: cannot use port 443 (%s); using 8443 for HTTPS and WebSocket "
				"(set --https-port to choose)\n", err);
		cfg.port[IO_HTTPS] = 8443;
		if (io_loop_start(ctx->hub, reg, &cfg, &loop, err, sizeof err) != SH_OK)
			loop = NULL;
	}
	if (!loop) {
		hub_sessions_free(reg);
		return cli_error(CLI_FAIL, "%s", err);
	}

	running_loop = loop;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	cJSON *info = ready_info(ctx, loop, &tm);
	{	/* the URL clients use: the bound address, loopback for a wildcard bind */
		const char *b = cfg.bind;
		int any = !*b || strcmp(b, "0.0.0.0") == 0 || strcmp(b, "::") == 0;
		char url[300];
		snprintf(url, sizeof url, "https://%s%s%s:%d", strchr(any ? "" : b, ':') ? "[" : "",
			 any ? "127.0.0.1" : b, strchr(any ? "" : b, ':') ? "]" : "",
			 io_loop_port(loop, IO_HTTPS));
		cJSON_AddStringToObject(info, "url", url);
	}
	char own_ready[4200];   /* the ready file beside the database, for the client verbs */
	int has_own_ready = cli_ready_path(ctx->db, own_ready, sizeof own_ready) == 0;
	if (ctx->json) {
		cli_print_json(info);
	} else if ((rc = print_connection_info(ctx, gateway_for(ctx, loop)))) {
		goto out;
	} else {
		printf("listeners on %s: mqtt %d, mqtts %d, https+wss %d (/$iothub/websocket)\n",
		       cfg.bind, io_loop_port(loop, IO_MQTT), io_loop_port(loop, IO_MQTTS),
		       io_loop_port(loop, IO_HTTPS));
		if (!user_cert)
			printf("CA certificate: %s (see 'simhub ca' for how to trust it)\n", tm.ca_cert);
		printf("running; stop with Ctrl-C or SIGTERM\n");
	}
	fflush(stdout);
	const char *ready = cli_opt(ctx, "ready-file");
	if (ready) {
		char *text = cJSON_PrintUnformatted(info);
		if (!text || write_atomic(ready, text) != 0) {
			cJSON_free(text);
			rc = cli_error(CLI_FAIL, "cannot write the ready file %s", ready);
			goto out;
		}
		cJSON_free(text);
	}
	if (has_own_ready) {
		char *text = cJSON_PrintUnformatted(info);
		if (!text || write_atomic(own_ready, text) != 0)
			fprintf(stderr, "simhub: cannot write %s: client verbs will need --hub\n", own_ready);
		cJSON_free(text);
	}
	io_loop_run(loop, &stop_flag);
	if (has_own_ready)
		unlink(own_ready);
	fprintf(stderr, "simhub: %s received, shutting down\n",
		stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
out:
	cJSON_Delete(info);
	running_loop = NULL;
	io_loop_free(loop);
	hub_sessions_free(reg);
	return rc;
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
	{"hostname", "NAME", "the hub's host name: connection strings, SAS scopes, certificate SAN"},
	{"bind", "ADDRESS", "listen on this address (default 127.0.0.1; 0.0.0.0 opens the hub)"},
	{"mqtt-port", "PORT", "plain MQTT for debugging (default 1883; 0: any free port)"},
	{"mqtts-port", "PORT", "MQTT over TLS (default 8883; 0: any free port)"},
	{"https-port", "PORT", "HTTPS and MQTT over WebSocket (default 443, else 8443; 0: any)"},
	{"tls-cert", "PEM", "use this server certificate instead of simhub's own CA"},
	{"tls-key", "PEM", "the key of --tls-cert"},
	{"ready-file", "PATH", "write the listeners, CA and service string as JSON once up"},
	{NULL, NULL, NULL},
};
static const struct cli_opt load_opts[] = {
	{"hostname", "NAME", "also set the hub's host name"},
	{NULL, NULL, NULL},
};

const struct cli_verb cli_verbs_serve[] = {
	{NULL, "serve", NULL, "run the hub: load fixtures, open the MQTT and HTTPS listeners",
	 "Runs until SIGINT or SIGTERM. Fixtures are applied all-or-nothing before anything\n"
	 "is printed; a bad fixture names its file, JSON path and reason, and nothing is\n"
	 "changed (docs/fixtures.md). At first start simhub creates a local CA and a server\n"
	 "certificate next to the database (see 'simhub ca'). Once up, it writes\n"
	 "simhub.ready.json (mode 0600) beside the database, removed on a clean exit, which\n"
	 "the client verbs read; --ready-file writes a copy elsewhere. Both hold\n"
	 "{host, mqtt, mqtts, https, ca, service, db, url}.",
	 serve_opts, 0, 0, serve},
	{NULL, "load", "PATH...", "apply fixture files or folders to the database and exit",
	 "Loading is idempotent and all-or-nothing (docs/fixtures.md).", load_opts, 1,
	 CLI_MAX_POSITIONAL, load},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
