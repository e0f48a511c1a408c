/*
 * cmd_serve.c: `simhub serve` (open the store, load fixtures, print connection strings, run
 * until SIGINT/SIGTERM) and `simhub load` (apply fixtures to a database and exit).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "app/cli.h"
#include "core/secrules.h"
#include "hub/record.h"
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

/*
 * serve's security options (docs/security.md): --security-mode service|strict,
 * --security-auto-create-module, --security-alert KEY=VALUE (a secrules threshold, the
 * "security.alerts." prefix optional). Each is stored as a hub setting. Then every device
 * lacking the security module gets it when auto-creation is on.
 */
static int apply_security(struct cli_ctx *ctx)
{
	struct iothub_err err = {0};
	const char *mode = cli_opt(ctx, "security-mode");
	if (mode) {
		if (strcmp(mode, "service") != 0 && strcmp(mode, "strict") != 0)
			return cli_error(CLI_USAGE, "--security-mode takes service or strict");
		if (hub_set_setting(ctx->hub, HUB_SETTING_SECURITY_STRICT,
				    strcmp(mode, "strict") == 0 ? "true" : "false", &err) != SH_OK)
			return cli_fail_hub("--security-mode", &err);
	}
	if (cli_flag(ctx, "security-auto-create-module") &&
	    hub_set_setting(ctx->hub, HUB_SETTING_SECURITY_AUTOCREATE, "true", &err) != SH_OK)
		return cli_fail_hub("--security-auto-create-module", &err);
	const char *alerts[CLI_MAX_REPEAT];
	int n = cli_opt_all(ctx, "security-alert", alerts, CLI_MAX_REPEAT);
	for (int i = 0; i < n; i++) {
		const char *eq = strchr(alerts[i], '=');
		char key[160];
		if (!eq || eq == alerts[i])
			return cli_error(CLI_USAGE, "--security-alert takes KEY=VALUE, not '%s'",
					 alerts[i]);
		snprintf(key, sizeof key, "%s%.*s",
			 strncmp(alerts[i], "security.alerts.", 16) == 0 ? "" : "security.alerts.",
			 (int)(eq - alerts[i]), alerts[i]);
		struct secrules_thresholds t;
		secrules_thresholds_default(&t);
		sh_rc src = secrules_thresholds_set(&t, key, eq + 1);
		if (src != SH_OK)
			return cli_error(CLI_USAGE, "--security-alert %s: %s", alerts[i],
					 src == SH_E_NOTFOUND ? "unknown threshold (docs/security.md)"
							      : "bad value");
		if (hub_set_setting(ctx->hub, key, eq + 1, &err) != SH_OK)
			return cli_fail_hub("--security-alert", &err);
	}
	int64_t made = 0;
	if (hub_security_autocreate_all(ctx->hub, &made, &err) != SH_OK)
		return cli_fail_hub("security module auto-creation", &err);
	if (made)
		fprintf(stderr, "simhub: gave %lld device%s the azureiotsecurity module\n",
			(long long)made, made == 1 ? "" : "s");
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

#ifndef SIMHUB_VERSION
#define SIMHUB_VERSION "0.1.0"
#endif

/* --record FILE: the journal file and its writer (hub/record.c). */
struct record_state {
	const char *path;             /* NULL: not recording */
	FILE *f;
	struct hub_recorder *rec;
};

static void record_error(void *ctx, const char *message)
{
	const struct record_state *rs = ctx;
	fprintf(stderr, "simhub: --record %s: %s\n", rs->path, message);
}

/* Open the journal (truncating it) and start the writer; a file that cannot be written is a
 * failure before any listener opens. */
static int record_begin(struct cli_ctx *ctx, struct record_state *rs)
{
	rs->path = cli_opt(ctx, "record");
	if (!rs->path)
		return CLI_OK;
	rs->f = fopen(rs->path, "w");
	if (!rs->f)
		return cli_error(CLI_FAIL, "cannot write the journal %s: %s", rs->path, strerror(errno));
	sh_rc rc = hub_record_start(ctx->hub, rs->f, "simhub " SIMHUB_VERSION, record_error, rs,
				    &rs->rec);
	if (rc != SH_OK) {
		int e = errno;
		fclose(rs->f);
		rs->f = NULL;
		return cli_error(CLI_FAIL, "cannot write the journal %s: %s", rs->path,
				 rc == SH_E_NOMEM ? "out of memory" : strerror(e ? e : EIO));
	}
	return CLI_OK;
}

/* Stop the writer once the sessions are gone (their disconnects are in), close the file, say
 * how many lines it holds. A write that failed on the way turns a clean exit into 1. */
static int record_end(struct record_state *rs, int rc)
{
	if (!rs->f)
		return rc;
	struct hub_record_stats st = {0};
	bool failed = hub_record_stop(rs->rec, &st) != SH_OK;
	failed = (fclose(rs->f) != 0) || failed;
	rs->f = NULL;
	fprintf(stderr, "simhub: journal %s: %llu lines%s\n", rs->path, (unsigned long long)st.lines,
		failed ? ", incomplete (a write failed)" : "");
	return failed && rc == CLI_OK ? CLI_FAIL : rc;
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
	if ((rc = apply_common(ctx)) || (rc = apply_security(ctx)))
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
	struct record_state rs = {0};
	if ((rc = record_begin(ctx, &rs)))
		return rc;
	struct hub_sessions *reg = hub_sessions_new(ctx->hub);
	if (!reg)
		return record_end(&rs, cli_error(CLI_FAIL, "out of memory"));
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
		return record_end(&rs, cli_error(CLI_FAIL, "%s", err));
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
	return record_end(&rs, rc);
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
	{"record", "FILE", "journal what devices do and are sent to FILE (docs/recordings.md)"},
	{"security-mode", "MODE", "validate security messages in service (default) or strict mode"},
	{"security-auto-create-module", NULL, "give every device the azureiotsecurity module twin"},
	{"security-alert", "KEY=VALUE", "a rule threshold, e.g. bruteForce.failures=3 (docs/differences.md)"},
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
	 "{host, mqtt, mqtts, https, ca, service, db, url}.\n"
	 "--record FILE writes a journal (JSON lines, docs/recordings.md) of every\n"
	 "operation devices and modules originate (connect, disconnect, telemetry, twin get\n"
	 "and reported patch, method answers, C2D settlement) and of what the hub sent them\n"
	 "(desired patches, method requests, C2D), with hub time; each line is flushed as it\n"
	 "is written. The file is truncated first; one that cannot be written stops serve\n"
	 "before it listens. Replay it with 'fleet replay FILE' (agents/fleet).",
	 serve_opts, 0, 0, serve},
	{NULL, "load", "PATH...", "apply fixture files or folders to the database and exit",
	 "Loading is idempotent and all-or-nothing (docs/fixtures.md).", load_opts, 1,
	 CLI_ANY_POSITIONAL, load},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
