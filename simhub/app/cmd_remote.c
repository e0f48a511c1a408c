/*
 * cmd_remote.c: the verbs that only work through a running hub (issue 4): `method invoke`,
 * `c2d send`, `messages`, `query` and `watch`. Each finds the hub with cli_remote_open and speaks
 * its REST API through hubclient; none of them opens the database.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "app/cli.h"
#include "core/isotime.h"

/* --- shared -------------------------------------------------------------------------------------- */

/*
 * "/twins/DEV[/modules/MOD]" (ids percent-encoded) from a DEVICE[/MODULE] argument, followed
 * by `suffix`. Returns CLI_OK or CLI_USAGE (printed).
 */
static int twin_path(const char *arg, const char *suffix, char *out, size_t cap)
{
	char dev[SH_ID_MAX + 1], mod[SH_ID_MAX + 1], edev[3 * SH_ID_MAX + 1], emod[3 * SH_ID_MAX + 1];
	if (cli_split_identity(arg, dev, sizeof dev, mod, sizeof mod) != 0)
		return cli_error(CLI_USAGE, "expected DEVICE or DEVICE/MODULE, got '%s'", arg);
	if (cli_url_encode(dev, edev, sizeof edev) || cli_url_encode(mod, emod, sizeof emod))
		return cli_error(CLI_USAGE, "'%s' is too long", arg);
	snprintf(out, cap, "/twins/%s%s%s%s", edev, mod[0] ? "/modules/" : "", mod[0] ? emod : "",
		 suffix);
	return CLI_OK;
}

/* A positive whole number of seconds option (or `def` when absent); -1 when malformed. */
static long long seconds_opt(const struct cli_ctx *ctx, const char *name, long long def)
{
	const char *v = cli_opt(ctx, name);
	if (!v)
		return def;
	return cli_parse_duration(v);
}

/* "2025-04-01 12:00:00.123" in local time from an ISO 8601 text; the text itself if it does not parse. */
static void local_time(const char *iso, char *out, size_t cap)
{
	int64_t us = 0;
	if (!iso || isotime_parse(iso, strlen(iso), &us) != SH_OK) {
		snprintf(out, cap, "%s", iso ? iso : "-");
		return;
	}
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	localtime_r(&t, &tm);
	char base[32];
	strftime(base, sizeof base, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(out, cap, "%s.%03d", base, (int)((us % 1000000) / 1000));
}

/* Print text with control bytes escaped, so one message stays on one line. */
static void print_escaped(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\r')
			fputs("\\r", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static const char *jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void catch_stop(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* --- method invoke ----------------------------------------------------------------------------- */

static int method_invoke(struct cli_ctx *ctx)
{
	char path[1024];
	int rc = twin_path(ctx->pos[0], "/methods", path, sizeof path);
	if (rc)
		return rc;
	const char *name = ctx->pos[1];
	if (!*name || strlen(name) > 128)
		return cli_error(CLI_USAGE, "the method name takes 1 to 128 characters");
	long long timeout = seconds_opt(ctx, "timeout", 30);
	long long ctimeout = seconds_opt(ctx, "connect-timeout", 0);
	if (timeout < 5 || timeout > 300)
		return cli_error(CLI_USAGE, "--timeout takes 5 to 300 seconds (IoT Hub's bounds)");
	if (ctimeout < 0 || ctimeout > 300)
		return cli_error(CLI_USAGE, "--connect-timeout takes 0 to 300 seconds");
	cJSON *payload = NULL;
	if (cli_opt(ctx, "payload") && !(payload = cli_read_json_arg(cli_opt(ctx, "payload"), "--payload")))
		return CLI_FAIL;
	if ((rc = cli_remote_open(ctx, true))) {
		cJSON_Delete(payload);
		return rc;
	}
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "methodName", name);
	cJSON_AddItemToObject(req, "payload", payload ? payload : cJSON_CreateNull());
	cJSON_AddNumberToObject(req, "responseTimeoutInSeconds", (double)timeout);
	cJSON_AddNumberToObject(req, "connectTimeoutInSeconds", (double)ctimeout);
	char *text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!text)
		return cli_error(CLI_FAIL, "out of memory");
	struct hubclient_response resp;
	char what[300];
	snprintf(what, sizeof what, "method %s on %s", name, ctx->pos[0]);
	rc = cli_remote_call(ctx, "POST", path, "application/json; charset=utf-8", text, strlen(text),
			     NULL, (int)(timeout + ctimeout + 15), &resp, what, NULL);
	cJSON_free(text);
	if (rc)
		return rc;
	cJSON *answer = cJSON_Parse(resp.body);
	hubclient_response_free(&resp);
	if (!answer)
		return cli_error(CLI_FAIL, "%s: the hub's answer is not JSON", what);
	if (ctx->json) {
		cli_print_json(answer);
	} else {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(answer, "status");
		const cJSON *pl = cJSON_GetObjectItemCaseSensitive(answer, "payload");
		printf("status %d\n", cJSON_IsNumber(st) ? st->valueint : 0);
		if (pl)
			cli_print_json(pl);
	}
	cJSON_Delete(answer);
	return CLI_OK;
}

/* --- c2d send ------------------------------------------------------------------------------------ */

/* A random message id in the 8-4-4-4-12 hex form (RFC 4122 version 4). */
static void random_id(char out[37])
{
	unsigned char b[16];
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
		memset(b, 0x5a, sizeof b);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
}

static int c2d_send(struct cli_ctx *ctx)
{
	const char *dev = ctx->pos[0];
	char edev[3 * SH_ID_MAX + 1];
	if (strchr(dev, '/'))
		return cli_error(CLI_USAGE, "C2D messages go to devices, not modules: '%s'", dev);
	if (!*dev || strlen(dev) > SH_ID_MAX || cli_url_encode(dev, edev, sizeof edev))
		return cli_error(CLI_USAGE, "'%s' is not a device id", dev);
	const char *ack = cli_opt(ctx, "ack");
	if (ack && strcmp(ack, "full") && strcmp(ack, "positive") && strcmp(ack, "negative") &&
	    strcmp(ack, "none"))
		return cli_error(CLI_USAGE, "--ack takes full, positive, negative or none");
	long long ttl = seconds_opt(ctx, "ttl", 0);
	if (ttl < 0 || (cli_opt(ctx, "ttl") && ttl == 0))
		return cli_error(CLI_USAGE, "--ttl takes a positive duration (3600, 60m, 2h, 2d)");
	cJSON *props = cJSON_CreateObject();
	const char *kv[CLI_MAX_REPEAT];
	int nkv = cli_opt_all(ctx, "property", kv, CLI_MAX_REPEAT);
	for (int i = 0; i < nkv; i++) {
		char name[128 + 12], value[1024];
		memcpy(name, "iothub-app-", 11);
		if (cli_parse_property(kv[i], name + 11, sizeof name - 11, value, sizeof value) != 0) {
			cJSON_Delete(props);
			return cli_error(CLI_USAGE, "--property takes NAME=VALUE, got '%s'", kv[i]);
		}
		cJSON_AddStringToObject(props, name, value);
	}
	char mid[37];
	const char *message_id = cli_opt(ctx, "message-id");
	if (!message_id) {
		random_id(mid);
		message_id = mid;
	}
	cJSON_AddStringToObject(props, "iothub-messageid", message_id);
	if (cli_opt(ctx, "correlation-id"))
		cJSON_AddStringToObject(props, "iothub-correlationid", cli_opt(ctx, "correlation-id"));
	if (ack)
		cJSON_AddStringToObject(props, "iothub-ack", ack);
	if (ttl > 0) {
		char iso[ISOTIME_BUF];
		isotime_format(cli_now_us() + (int64_t)ttl * 1000000, iso);
		cJSON_AddStringToObject(props, "iothub-expiry", iso);
	}
	int rc = cli_remote_open(ctx, true);
	if (rc) {
		cJSON_Delete(props);
		return rc;
	}
	cJSON *env = cJSON_CreateObject();
	cJSON_AddStringToObject(env, "body", ctx->pos[1]);
	cJSON_AddBoolToObject(env, "base64Encoded", 0);
	cJSON_AddItemToObject(env, "properties", props);
	char *text = cJSON_PrintUnformatted(env);
	cJSON_Delete(env);
	if (!text)
		return cli_error(CLI_FAIL, "out of memory");
	char path[1024];
	snprintf(path, sizeof path, "/devices/%s/messages/deviceBound", edev);
	struct hubclient_response resp;
	char what[300];
	snprintf(what, sizeof what, "cannot send to %s", dev);
	rc = cli_remote_call(ctx, "POST", path, "application/vnd.microsoft.iothub.json", text,
			     strlen(text), NULL, 30, &resp, what, NULL);
	cJSON_free(text);
	if (rc)
		return rc;
	hubclient_response_free(&resp);
	if (ctx->json)
		printf("{\"deviceId\":\"%s\",\"messageId\":\"%s\",\"queued\":true}\n", dev, message_id);
	else
		printf("queued for %s: message id %s\n", dev, message_id);
	return CLI_OK;
}

/* --- messages ------------------------------------------------------------------------------------ */

/* Append "&name=value" (value percent-encoded) to q. -1 when it does not fit. */
static int add_arg(char *q, size_t cap, const char *name, const char *value)
{
	char enc[3 * 1024 + 1];
	if (cli_url_encode(value, enc, sizeof enc))
		return -1;
	size_t len = strlen(q);
	int n = snprintf(q + len, cap - len, "%s%s=%s", len ? "&" : "?", name, enc);
	return n < 0 || (size_t)n >= cap - len ? -1 : 0;
}

/* True when the message has every --property after the first (the hub filters on the first). */
static int has_props(const cJSON *m, const char *const *kv, int nkv)
{
	for (int i = 1; i < nkv; i++) {
		char name[256], value[1024];
		if (cli_parse_property(kv[i], name, sizeof name, value, sizeof value) != 0)
			return 0;
		const char *a = jstr(cJSON_GetObjectItemCaseSensitive(m, "properties"), name);
		const char *s = jstr(cJSON_GetObjectItemCaseSensitive(m, "systemProperties"), name);
		if (!(a && strcmp(a, value) == 0) && !(s && strcmp(s, value) == 0))
			return 0;
	}
	return 1;
}

/* One message as one line: local time, identity, body, then the application properties. */
static void print_message_line(const cJSON *m)
{
	char when[64];
	local_time(jstr(m, "enqueuedTimeUtc"), when, sizeof when);
	const char *dev = jstr(m, "deviceId"), *mod = jstr(m, "moduleId");
	char who[2 * SH_ID_MAX + 2];
	snprintf(who, sizeof who, "%s%s%s", dev ? dev : "?", mod ? "/" : "", mod ? mod : "");
	printf("%s  %-24s ", when, who);
	const char *body = jstr(m, "body");
	if (body) {
		print_escaped(body);
	} else {
		fputs("base64:", stdout);
		fputs(jstr(m, "bodyBase64") ? jstr(m, "bodyBase64") : "", stdout);
	}
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(m, "properties");
	const cJSON *p;
	int first = 1;
	cJSON_ArrayForEach(p, props)
	{
		if (!cJSON_IsString(p))
			continue;
		printf("%s%s=", first ? "  [" : " ", p->string);
		print_escaped(p->valuestring);
		first = 0;
	}
	if (!first)
		putchar(']');
	putchar('\n');
}

static int messages(struct cli_ctx *ctx)
{
	char q[4096] = "";
	const char *dev = cli_opt(ctx, "device"), *mod = cli_opt(ctx, "module");
	if (mod && !dev)
		return cli_error(CLI_USAGE, "--module needs --device");
	long long limit = 100;
	if (cli_opt(ctx, "limit")) {
		char *end;
		limit = strtoll(cli_opt(ctx, "limit"), &end, 10);
		if (*end || limit < 1 || limit > 1000000)
			return cli_error(CLI_USAGE, "--limit takes 1 to 1000000");
	}
	if ((dev && add_arg(q, sizeof q, "deviceId", dev)) || (mod && add_arg(q, sizeof q, "moduleId", mod)))
		return cli_error(CLI_USAGE, "--device or --module is too long");
	if (cli_opt(ctx, "since")) {
		int64_t from = 0;
		char iso[ISOTIME_BUF];
		if (cli_parse_since(cli_opt(ctx, "since"), cli_now_us(), &from) != 0 ||
		    isotime_format(from, iso) != SH_OK)
			return cli_error(CLI_USAGE, "--since takes a duration (90s, 10m, 2h, 7d) or an ISO "
				       "8601 time such as 2025-04-01T10:00:00Z");
		add_arg(q, sizeof q, "from", iso);
	}
	const char *kv[CLI_MAX_REPEAT];
	int nkv = cli_opt_all(ctx, "property", kv, CLI_MAX_REPEAT);
	for (int i = 0; i < nkv; i++) {
		char name[256], value[1024], both[1300];
		if (cli_parse_property(kv[i], name, sizeof name, value, sizeof value) != 0 ||
		    strchr(name, ':'))
			return cli_error(CLI_USAGE, "--property takes NAME=VALUE (no ':' in NAME), got '%s'",
					 kv[i]);
		snprintf(both, sizeof both, "%s:%s", name, value);
		if (i == 0 && add_arg(q, sizeof q, "property", both))
			return cli_error(CLI_USAGE, "--property is too long");
	}
	bool follow = cli_flag(ctx, "follow");
	int rc = cli_remote_open(ctx, true);
	if (rc)
		return rc;
	if (follow)
		catch_stop();
	cJSON *all = ctx->json && !follow ? cJSON_CreateArray() : NULL;
	long long printed = 0;
	char cont[64] = "";
	long long last_seq = 0;
	for (;;) {
		char path[4600];
		long long want = limit - printed;
		if (follow || want > 1000)
			want = 1000;
		snprintf(path, sizeof path, "/simhub/v1/messages%s%slimit=%lld%s%s", q, q[0] ? "&" : "?",
			 want, cont[0] ? "&continuation=" : "", cont);
		cJSON *page = NULL;
		rc = cli_remote_json(ctx, "GET", path, NULL, NULL, &page, NULL, "cannot read messages");
		if (rc)
			break;
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(page, "messages"), *m;
		cJSON_ArrayForEach(m, arr)
		{
			const cJSON *seq = cJSON_GetObjectItemCaseSensitive(m, "seq");
			if (cJSON_IsNumber(seq))
				last_seq = (long long)seq->valuedouble;
			if ((!follow && printed >= limit) || !has_props(m, kv, nkv))
				continue;
			printed++;
			if (all) {
				cJSON_AddItemToArray(all, cJSON_Duplicate(m, 1));
			} else if (ctx->json) {
				char *t = cJSON_PrintUnformatted(m);
				if (t)
					puts(t);
				cJSON_free(t);
			} else {
				print_message_line(m);
			}
		}
		const char *next = jstr(page, "continuation");
		snprintf(cont, sizeof cont, "%s", next ? next : "");
		cJSON_Delete(page);
		fflush(stdout);
		if (cont[0] && (follow || printed < limit))
			continue;
		if (!follow)
			break;
		/* --follow: poll for rows after the last one seen (the continuation is its sequence
		 * number, docs/api.md) until ^C. */
		for (int i = 0; i < 10 && !stop_flag; i++) {
			struct timespec ts = {0, 100000000L};
			nanosleep(&ts, NULL);
		}
		if (stop_flag)
			break;
		if (last_seq)
			snprintf(cont, sizeof cont, "%lld", last_seq);
	}
	if (all) {
		cli_print_json(all);
		cJSON_Delete(all);
	}
	if (!rc && !printed && !ctx->json && !follow)
		fprintf(stderr, "(no messages)\n");
	return rc;
}

/* --- query --------------------------------------------------------------------------------------- */

/* True when every row is an object of scalars: then the rows print as a table. */
static int flat_rows(const cJSON *rows)
{
	const cJSON *r, *v;
	cJSON_ArrayForEach(r, rows)
	{
		if (!cJSON_IsObject(r))
			return 0;
		cJSON_ArrayForEach(v, r) if (cJSON_IsObject(v) || cJSON_IsArray(v)) return 0;
	}
	return 1;
}

static void scalar_text(const cJSON *v, char *out, size_t cap)
{
	if (!v)
		snprintf(out, cap, "-");
	else if (cJSON_IsString(v))
		snprintf(out, cap, "%s", v->valuestring);
	else {
		char *t = cJSON_PrintUnformatted(v);
		snprintf(out, cap, "%s", t ? t : "?");
		cJSON_free(t);
	}
}

/* Rows of scalars as aligned columns, named after the first row's keys. */
static void print_table(const cJSON *rows)
{
	const cJSON *first = cJSON_GetArrayItem(rows, 0), *k, *r;
	int ncol = cJSON_GetArraySize(first);
	if (ncol > 32)
		ncol = 32;
	int width[32];
	int c = 0;
	cJSON_ArrayForEach(k, first)
	{
		if (c >= ncol)
			break;
		width[c++] = (int)strlen(k->string);
	}
	char cell[256];
	cJSON_ArrayForEach(r, rows)
	{
		c = 0;
		cJSON_ArrayForEach(k, first)
		{
			if (c >= ncol)
				break;
			scalar_text(cJSON_GetObjectItemCaseSensitive(r, k->string), cell, sizeof cell);
			if ((int)strlen(cell) > width[c])
				width[c] = (int)strlen(cell);
			c++;
		}
	}
	c = 0;
	cJSON_ArrayForEach(k, first)
	{
		if (c >= ncol)
			break;
		if (c + 1 < ncol)
			printf("%-*s  ", width[c], k->string);
		else
			printf("%s\n", k->string);
		c++;
	}
	cJSON_ArrayForEach(r, rows)
	{
		c = 0;
		cJSON_ArrayForEach(k, first)
		{
			if (c >= ncol)
				break;
			scalar_text(cJSON_GetObjectItemCaseSensitive(r, k->string), cell, sizeof cell);
			if (c + 1 < ncol)
				printf("%-*s  ", width[c], cell);
			else
				printf("%s\n", cell);
			c++;
		}
	}
}

static int query(struct cli_ctx *ctx)
{
	long long page_size = 100;
	if (cli_opt(ctx, "page-size")) {
		char *end;
		page_size = strtoll(cli_opt(ctx, "page-size"), &end, 10);
		if (*end || page_size < 1 || page_size > 1000)
			return cli_error(CLI_USAGE, "--page-size takes 1 to 1000");
	}
	int rc = cli_remote_open(ctx, true);
	if (rc)
		return rc;
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "query", ctx->pos[0]);
	char *text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!text)
		return cli_error(CLI_FAIL, "out of memory");
	cJSON *rows = cJSON_CreateArray();
	char cont[512] = "", size[32];
	snprintf(size, sizeof size, "%lld", page_size);
	int pages = 0;
	do {
		struct hubclient_header h[] = {{"x-ms-max-item-count", size},
					       {cont[0] ? "x-ms-continuation" : NULL, cont},
					       {NULL, NULL}};
		struct hubclient_response resp;
		rc = cli_remote_call(ctx, "POST", "/devices/query", "application/json; charset=utf-8",
				     text, strlen(text), h, 60, &resp, "query failed", NULL);
		if (rc)
			break;
		cJSON *page = cJSON_Parse(resp.body);
		snprintf(cont, sizeof cont, "%s", resp.continuation);
		hubclient_response_free(&resp);
		if (!cJSON_IsArray(page)) {
			cJSON_Delete(page);
			rc = cli_error(CLI_FAIL, "query failed: the hub's answer is not a JSON array");
			break;
		}
		while (cJSON_GetArraySize(page) > 0)
			cJSON_AddItemToArray(rows, cJSON_DetachItemFromArray(page, 0));
		cJSON_Delete(page);
		pages++;
	} while (cont[0] && pages < 100000);
	cJSON_free(text);
	if (rc == CLI_OK) {
		if (ctx->json)
			cli_print_json(rows);
		else if (cJSON_GetArraySize(rows) == 0)
			fprintf(stderr, "(no rows)\n");
		else if (flat_rows(rows))
			print_table(rows);
		else {
			const cJSON *r;
			cJSON_ArrayForEach(r, rows)
			{
				char *t = cJSON_PrintUnformatted(r);
				if (t)
					puts(t);
				cJSON_free(t);
			}
		}
	}
	cJSON_Delete(rows);
	return rc;
}

/* --- watch --------------------------------------------------------------------------------------- */

struct watch_state {
	struct cli_ctx *ctx;
	const char *types;      /* comma list or NULL */
	const char *device;
};

/* True when `type` is in the comma-separated list. */
static int in_list(const char *list, const char *type)
{
	size_t n = strlen(type);
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, type, n) == 0)
			return 1;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int on_event(void *arg, const struct sse_event *ev)
{
	struct watch_state *ws = arg;
	cJSON *j = cJSON_ParseWithLength(ev->data, ev->data_len);
	const char *type = jstr(j, "type") ? jstr(j, "type") : ev->type;
	const char *dev = jstr(j, "deviceId"), *mod = jstr(j, "moduleId");
	if ((ws->types && !in_list(ws->types, type)) ||
	    (ws->device && (!dev || strcmp(dev, ws->device) != 0))) {
		cJSON_Delete(j);
		return 0;
	}
	if (ws->ctx->json) {
		fwrite(ev->data, 1, ev->data_len, stdout);
		putchar('\n');
	} else {
		char when[64];
		local_time(jstr(j, "time"), when, sizeof when);
		char who[2 * SH_ID_MAX + 2];
		snprintf(who, sizeof who, "%s%s%s", dev ? dev : "-", mod ? "/" : "", mod ? mod : "");
		printf("%s  %-12s %-24s ", when, type, who);
		if (j) {
			static const char *const skip[] = {"id", "type", "time", "deviceId", "moduleId"};
			for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
				cJSON_DeleteItemFromObjectCaseSensitive(j, skip[i]);
			char *t = cJSON_PrintUnformatted(j);
			if (t)
				print_escaped(t);
			cJSON_free(t);
		} else {
			fwrite(ev->data, 1, ev->data_len, stdout);
		}
		putchar('\n');
	}
	fflush(stdout);
	cJSON_Delete(j);
	return 0;
}

static int watch(struct cli_ctx *ctx)
{
	struct watch_state ws = {ctx, cli_opt(ctx, "types"), cli_opt(ctx, "device")};
	char q[1200] = "";
	if ((ws.types && add_arg(q, sizeof q, "types", ws.types)) ||
	    (ws.device && add_arg(q, sizeof q, "deviceId", ws.device)))
		return cli_error(CLI_USAGE, "--types or --device is too long");
	int rc = cli_remote_open(ctx, true);
	if (rc)
		return rc;
	catch_stop();
	char path[1400], err[HUBCLIENT_ERR_MAX];
	snprintf(path, sizeof path, "/simhub/v1/events%s", q);
	if (!ctx->json)
		fprintf(stderr, "watching %s (Ctrl-C to stop)\n", hubclient_base_url(ctx->remote));
	sh_rc hrc = hubclient_stream(ctx->remote, path, on_event, &ws, &stop_flag, err, sizeof err);
	if (hrc != SH_OK)
		return cli_error(CLI_FAIL, "watch: %s", err);
	return CLI_OK;
}

/* --- table --------------------------------------------------------------------------------------- */

static const struct cli_opt method_opts[] = {
	{"payload", "JSON", "the method's payload (JSON text, '-' for stdin, '@FILE'); default null"},
	{"timeout", "SECONDS", "responseTimeoutInSeconds, 5 to 300 (default 30)"},
	{"connect-timeout", "SECONDS", "connectTimeoutInSeconds: wait this long for an offline device (default 0)"},
	CLI_REMOTE_OPTS,
	{NULL, NULL, NULL},
};
static const struct cli_opt c2d_opts[] = {
	{"property", "NAME=VALUE", "an application property; repeatable"},
	{"message-id", "ID", "the message id (default: a random UUID, printed)"},
	{"correlation-id", "ID", "the correlation id"},
	{"ack", "MODE", "feedback wanted: full, positive, negative or none"},
	{"ttl", "DURATION", "expire the message after DURATION (3600, 60m, 2h)"},
	CLI_REMOTE_OPTS,
	{NULL, NULL, NULL},
};
static const struct cli_opt messages_opts[] = {
	{"device", "ID", "only this device (and its modules, unless --module)"},
	{"module", "ID", "only this module of --device"},
	{"since", "WHEN", "only messages since a duration ago (10m, 2h) or an ISO 8601 time"},
	{"property", "NAME=VALUE", "only messages with this application or system property; repeatable"},
	{"limit", "N", "print at most N messages (default 100; ignored by --follow)"},
	{"follow", NULL, "after the stored messages, print new ones as they arrive until Ctrl-C"},
	CLI_REMOTE_OPTS,
	{NULL, NULL, NULL},
};
static const struct cli_opt query_opts[] = {
	{"page-size", "N", "rows per request (x-ms-max-item-count), 1 to 1000 (default 100)"},
	CLI_REMOTE_OPTS,
	{NULL, NULL, NULL},
};
static const struct cli_opt watch_opts[] = {
	{"types", "LIST", "only these event types, comma-separated (telemetry,twin,connection,method,...)"},
	{"device", "ID", "only events of this device"},
	CLI_REMOTE_OPTS,
	{NULL, NULL, NULL},
};

#define REMOTE_NOTE                                                                               \
	"Talks to the running hub: --hub URL, or the ready file that 'simhub serve' writes\n"       \
	"beside its database (found from --db)."

const struct cli_verb cli_verbs_remote[] = {
	{"method", "invoke", "DEVICE[/MODULE] NAME", "call a direct method and print its answer",
	 "Prints the device's status and payload. Fails (exit 1) with IoT Hub's error when the\n"
	 "device is not connected (404103 DeviceNotOnline) or does not answer in time\n"
	 "(504101 GatewayTimeout).\n" REMOTE_NOTE,
	 method_opts, 2, 2, method_invoke},
	{"c2d", "send", "DEVICE BODY", "queue a cloud-to-device message for a device",
	 "BODY is sent as text. The device receives it over MQTT or the HTTPS device API.\n"
	 REMOTE_NOTE,
	 c2d_opts, 2, 2, c2d_send},
	{NULL, "messages", NULL, "list the device-to-cloud messages the hub stored",
	 "One line per message: local time, DEVICE[/MODULE], body (text, or base64: when it is\n"
	 "not UTF-8), [application properties]. --json prints the API's objects.\n" REMOTE_NOTE,
	 messages_opts, 0, 0, messages},
	{NULL, "query", "\"SELECT ...\"", "run an IoT Hub query over device and module twins",
	 "Pages through every result with continuation tokens. Rows of plain values print as\n"
	 "a table; other rows as one JSON object per line.\n" REMOTE_NOTE,
	 query_opts, 1, 1, query},
	{NULL, "watch", NULL, "print the hub's live events until Ctrl-C",
	 "One line per event (time, type, DEVICE[/MODULE], details); --json prints one JSON\n"
	 "object per line.\n" REMOTE_NOTE,
	 watch_opts, 0, 0, watch},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
