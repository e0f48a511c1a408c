/*
 * cli.c: shared plumbing of the `simhub` verbs: store and hub opening, errors, JSON input and
 * output, durations, the process clock and random source, and fixture loading from paths.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "app/cli.h"
#include "core/fixture.h"
#include "core/identity.h"
#include "core/isotime.h"
#include "core/sas.h"
#include "store/store.h"

const char *cli_opt(const struct cli_ctx *ctx, const char *name)
{
	const char *v = NULL;
	for (int i = 0; i < ctx->nopt; i++)
		if (strcmp(ctx->opt_name[i], name) == 0)
			v = ctx->opt_value[i];
	return v;
}

bool cli_flag(const struct cli_ctx *ctx, const char *name)
{
	for (int i = 0; i < ctx->nopt; i++)
		if (strcmp(ctx->opt_name[i], name) == 0)
			return true;
	return false;
}

int cli_opt_all(const struct cli_ctx *ctx, const char *name, const char **out, int max)
{
	int n = 0;
	for (int i = 0; i < ctx->nopt && n < max; i++)
		if (strcmp(ctx->opt_name[i], name) == 0)
			out[n++] = ctx->opt_value[i];
	return n;
}

int cli_error(int code, const char *fmt, ...)
{
	va_list ap;
	fputs("simhub: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int cli_fail_hub(const char *what, const struct iothub_err *err)
{
	return cli_error(CLI_FAIL, "%s: %s (%s %d)", what, err->message,
			 iothub_error_name(err->code), (int)err->code);
}

/* mkdir -p for the folder part of `path`; 0 on success. */
static int make_parent_dirs(const char *path)
{
	char buf[4096];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return -1;
	char *slash = strrchr(buf, '/');
	if (!slash || slash == buf)
		return 0;
	*slash = '\0';
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

int cli_open(struct cli_ctx *ctx, bool create)
{
	const char *db = ctx->db;
	if (strcmp(db, ":memory:") != 0) {
		struct stat sb;
		if (stat(db, &sb) != 0) {
			if (!create)
				return cli_error(CLI_FAIL,
						 "no database at %s: create one with 'simhub serve', "
						 "'simhub load' or 'simhub device add', or pass --db PATH", db);
			if (make_parent_dirs(db) != 0)
				return cli_error(CLI_FAIL, "cannot create the folder of %s: %s", db,
						 strerror(errno));
		} else if (S_ISDIR(sb.st_mode)) {
			return cli_error(CLI_FAIL, "%s is a folder; --db takes a file path", db);
		}
	}
	char err[512];
	sh_rc rc = store_open(db, &ctx->st, err, sizeof err);
	if (rc != SH_OK)
		return cli_error(CLI_FAIL, "cannot open database %s: %s", db, err);
	struct iothub_err herr = {0};
	rc = hub_open(ctx->st, cli_env(), &ctx->hub, &herr);
	if (rc != SH_OK) {
		store_close(ctx->st);
		ctx->st = NULL;
		return cli_fail_hub("cannot open the hub", &herr);
	}
	return CLI_OK;
}

void cli_close(struct cli_ctx *ctx)
{
	hubclient_free(ctx->remote);
	ctx->remote = NULL;
	if (ctx->hub)
		hub_close(ctx->hub);
	if (ctx->st)
		store_close(ctx->st);
	ctx->hub = NULL;
	ctx->st = NULL;
}

int cli_split_identity(const char *arg, char *dev, size_t devcap, char *mod, size_t modcap)
{
	const char *slash = strchr(arg, '/');
	size_t dlen = slash ? (size_t)(slash - arg) : strlen(arg);
	const char *m = slash ? slash + 1 : "";
	if (dlen == 0 || dlen >= devcap || strlen(m) >= modcap || (slash && !*m))
		return -1;
	memcpy(dev, arg, dlen);
	dev[dlen] = '\0';
	strcpy(mod, m);
	return 0;
}

void cli_print_json(const cJSON *j)
{
	char *text = cJSON_Print(j);
	if (text) {
		fputs(text, stdout);
		fputc('\n', stdout);
		cJSON_free(text);
	}
}

/* Whole file into a NUL-terminated heap buffer; NULL with errno set on failure. */
static char *read_file(FILE *f, size_t *len_out)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
		if (len + 1 == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
	}
	if (buf) {
		buf[len] = '\0';
		if (len_out)
			*len_out = len;
	}
	return buf;
}

cJSON *cli_read_json_arg(const char *arg, const char *what)
{
	char *owned = NULL;
	const char *text = arg;
	if (strcmp(arg, "-") == 0 || arg[0] == '@') {
		FILE *f = arg[0] == '@' ? fopen(arg + 1, "rb") : stdin;
		if (!f) {
			cli_error(CLI_FAIL, "%s: cannot open %s: %s", what, arg + 1, strerror(errno));
			return NULL;
		}
		owned = read_file(f, NULL);
		if (f != stdin)
			fclose(f);
		if (!owned) {
			cli_error(CLI_FAIL, "%s: cannot read input", what);
			return NULL;
		}
		text = owned;
	}
	cJSON *j = cJSON_ParseWithOpts(text, NULL, 1);
	if (!j) {
		const char *at = cJSON_GetErrorPtr();
		long off = at && at >= text ? (long)(at - text) : 0;
		cli_error(CLI_FAIL, "%s: not valid JSON (at character %ld)", what, off);
	}
	free(owned);
	return j;
}

long long cli_parse_duration(const char *s)
{
	if (!s || *s < '0' || *s > '9')   /* strtoll would take spaces and signs */
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return -1;
	long long mul = 1;
	if (*end) {
		switch (*end) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		default: return -1;
		}
		if (end[1])
			return -1;
	}
	if (v > (long long)(10LL * 365 * 86400) / mul)
		return -1;
	return v * mul;
}

static int64_t wall_now_us(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void os_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	while (len > 0) {
		ssize_t n = getrandom(buf, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "simhub: getrandom failed: %s\n", strerror(errno));
			abort();
		}
		buf += n;
		len -= (size_t)n;
	}
}

const struct sh_hub_env *cli_env(void)
{
	static const struct sh_hub_env env = {wall_now_us, os_random, NULL};
	return &env;
}

/* --- fixtures ------------------------------------------------------------------------------------ */

struct fx_list {
	char **files;
	struct fixture **fx;
	size_t n, cap;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int fx_add_file(struct fx_list *l, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return cli_error(CLI_FAIL, "%s: cannot open: %s", path, strerror(errno));
	size_t len = 0;
	char *text = read_file(f, &len);
	fclose(f);
	if (!text)
		return cli_error(CLI_FAIL, "%s: cannot read", path);
	struct fixture *fx = NULL;
	struct fixture_error ferr;
	memset(&ferr, 0, sizeof ferr);
	sh_rc rc = fixture_parse(text, len, &fx, &ferr);
	free(text);
	if (rc != SH_OK) {
		char msg[512];
		return cli_error(CLI_FAIL, "%s: %s", path, fixture_error_format(&ferr, msg, sizeof msg));
	}
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 8;
		char **nf = realloc(l->files, ncap * sizeof *nf);
		if (nf)
			l->files = nf;
		struct fixture **nx = realloc(l->fx, ncap * sizeof *nx);
		if (nx)
			l->fx = nx;
		if (!nf || !nx) {
			fixture_free(fx);
			return cli_error(CLI_FAIL, "out of memory");
		}
		l->cap = ncap;
	}
	l->files[l->n] = strdup(path);
	l->fx[l->n] = fx;
	l->n++;
	return CLI_OK;
}

/* A folder contributes its *.json files in name order (not recursive). */
static int fx_add_path(struct fx_list *l, const char *path)
{
	struct stat sb;
	if (stat(path, &sb) != 0)
		return cli_error(CLI_FAIL, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return fx_add_file(l, path);
	DIR *d = opendir(path);
	if (!d)
		return cli_error(CLI_FAIL, "%s: %s", path, strerror(errno));
	char *names[1024];
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < sizeof names / sizeof names[0]) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof names[0], cmp_str);
	int rc = CLI_OK;
	if (n == 0)
		rc = cli_error(CLI_FAIL, "%s: no *.json fixture files in this folder", path);
	for (size_t i = 0; i < n; i++) {
		if (rc == CLI_OK) {
			char full[4096];
			snprintf(full, sizeof full, "%s/%s", path, names[i]);
			rc = fx_add_file(l, full);
		}
		free(names[i]);
	}
	return rc;
}

int cli_load_fixtures(struct cli_ctx *ctx, const char *const *paths, int n, bool quiet)
{
	struct fx_list l = {0};
	int rc = CLI_OK;
	for (int i = 0; i < n && rc == CLI_OK; i++)
		rc = fx_add_path(&l, paths[i]);
	if (rc == CLI_OK) {
		struct iothub_err err = {0};
		if (hub_fixtures_apply(ctx->hub, l.fx, (const char *const *)l.files, l.n, &err) != SH_OK)
			rc = cli_error(CLI_FAIL, "fixtures not loaded (nothing was changed): %s",
				       err.message);
		else if (!quiet)
			fprintf(stderr, "simhub: loaded %zu fixture file%s\n", l.n, l.n == 1 ? "" : "s");
	}
	for (size_t i = 0; i < l.n; i++) {
		fixture_free(l.fx[i]);
		free(l.files[i]);
	}
	free(l.fx);
	free(l.files);
	return rc;
}

/* --- the running hub ----------------------------------------------------------------------------- */

int64_t cli_now_us(void)
{
	return wall_now_us(NULL);
}

int cli_ready_path(const char *db, char *out, size_t cap)
{
	if (!db || !*db || strcmp(db, ":memory:") == 0 || strncmp(db, "file:", 5) == 0)
		return -1;
	const char *slash = strrchr(db, '/');
	int n;
	if (!slash)
		n = snprintf(out, cap, "./%s", CLI_READY_NAME);
	else if (slash == db)
		n = snprintf(out, cap, "/%s", CLI_READY_NAME);
	else
		n = snprintf(out, cap, "%.*s/%s", (int)(slash - db), db, CLI_READY_NAME);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* The ready file's fields the client needs, copied out (each "" when absent). */
struct ready_info {
	char url[300];
	char ca[4096];
	char service[1024];
};

/*
 * Read the ready file at `path`. Returns 0 with *ri filled; 1 when there is no file; -1 when
 * it exists but cannot be read or is not the JSON `simhub serve` writes (the reason printed).
 * The URL is the file's "url", else https://127.0.0.1:<https>.
 */
static int read_ready(const char *path, struct ready_info *ri)
{
	memset(ri, 0, sizeof *ri);
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (errno == ENOENT)
			return 1;
		cli_error(CLI_FAIL, "cannot read the ready file %s: %s", path, strerror(errno));
		return -1;
	}
	char *text = read_file(f, NULL);
	fclose(f);
	cJSON *j = text ? cJSON_Parse(text) : NULL;
	free(text);
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(j, "url");
	const cJSON *https = cJSON_GetObjectItemCaseSensitive(j, "https");
	const cJSON *ca = cJSON_GetObjectItemCaseSensitive(j, "ca");
	const cJSON *svc = cJSON_GetObjectItemCaseSensitive(j, "service");
	int rc = 0;
	if (cJSON_IsString(url))
		snprintf(ri->url, sizeof ri->url, "%s", url->valuestring);
	else if (cJSON_IsNumber(https) && https->valueint > 0)
		snprintf(ri->url, sizeof ri->url, "https://127.0.0.1:%d", https->valueint);
	else
		rc = -1;
	if (cJSON_IsString(ca))
		snprintf(ri->ca, sizeof ri->ca, "%s", ca->valuestring);
	if (cJSON_IsString(svc))
		snprintf(ri->service, sizeof ri->service, "%s", svc->valuestring);
	cJSON_Delete(j);
	if (rc)
		cli_error(CLI_FAIL, "the ready file %s is not one 'simhub serve' wrote", path);
	return rc;
}

static const char *opt_or_env(const struct cli_ctx *ctx, const char *opt, const char *env)
{
	const char *v = cli_opt(ctx, opt);
	if (!v) {
		v = getenv(env);
		if (v && !*v)
			v = NULL;
	}
	return v;
}

int cli_remote_open(struct cli_ctx *ctx, bool required)
{
	const char *url = opt_or_env(ctx, "hub", "SIMHUB_HUB");
	const char *ca = opt_or_env(ctx, "ca", "SIMHUB_CA");
	const char *svc = opt_or_env(ctx, "service-cs", "SIMHUB_SERVICE_CS");
	char path[4200];
	struct ready_info ri;
	memset(&ri, 0, sizeof ri);
	int have_ready = 0;
	if (cli_ready_path(ctx->db, path, sizeof path) == 0) {
		int r = read_ready(path, &ri);
		if (r < 0)
			return CLI_FAIL;
		have_ready = r == 0;
	}
	if (!url && !have_ready) {
		if (!required)
			return CLI_OK;
		return cli_error(CLI_FAIL, "no hub is running for %s (no ready file %s): start "
				 "'simhub serve', or pass --hub URL", ctx->db, path);
	}
	int from_ready = !url;
	if (!url)
		url = ri.url;
	if (!ca && have_ready && ri.ca[0])
		ca = ri.ca;
	if (!svc && have_ready && ri.service[0])
		svc = ri.service;
	if (!svc)
		return cli_error(CLI_USAGE, "talking to %s needs a service connection string: "
				 "--service-cs or $SIMHUB_SERVICE_CS ('simhub cs --policy iothubowner' "
				 "prints one)", url);
	struct hubclient_config cfg = {url, ca, svc, cli_now_us() / 1000000};
	char err[HUBCLIENT_ERR_MAX];
	sh_rc rc = hubclient_new(&cfg, &ctx->remote, err, sizeof err);
	if (rc == SH_E_MALFORMED && !from_ready && cli_opt(ctx, "hub"))
		return cli_error(CLI_USAGE, "--hub: %s", err);
	if (rc != SH_OK)
		return cli_error(CLI_FAIL, "%s", err);
	if (!from_ready)
		return CLI_OK;
	/* A ready file may outlive its hub (kill -9): ask the hub before trusting it. */
	struct hubclient_response resp;
	rc = hubclient_request(ctx->remote, "GET", "/simhub/v1/health", NULL, NULL, 0, NULL, 10,
			       &resp, err, sizeof err);
	if (rc == SH_OK) {
		hubclient_response_free(&resp);
		return CLI_OK;
	}
	hubclient_free(ctx->remote);
	ctx->remote = NULL;
	if (rc == SH_E_IO && !required)
		return CLI_OK;
	if (rc == SH_E_IO)
		return cli_error(CLI_FAIL, "no hub is running: the ready file %s names %s, which does "
				 "not answer (start 'simhub serve', or pass --hub URL)", path, url);
	return cli_error(CLI_FAIL, "%s", err);
}

int cli_remote_call(struct cli_ctx *ctx, const char *method, const char *path,
		    const char *content_type, const char *body, size_t len,
		    const struct hubclient_header *headers, int timeout_s,
		    struct hubclient_response *resp, const char *what, int *hub_code)
{
	char err[HUBCLIENT_ERR_MAX];
	if (hub_code)
		*hub_code = 0;
	sh_rc rc = hubclient_request(ctx->remote, method, path, content_type, body, len, headers,
				     timeout_s, resp, err, sizeof err);
	if (rc != SH_OK)
		return cli_error(CLI_FAIL, "%s: %s", what, err);
	if (resp->status >= 300) {
		int code = 0;
		hubclient_error_text(resp, err, sizeof err, &code);
		if (hub_code)
			*hub_code = code;
		hubclient_response_free(resp);
		return cli_error(CLI_FAIL, "%s: %s", what, err);
	}
	return CLI_OK;
}

int cli_remote_json(struct cli_ctx *ctx, const char *method, const char *path, const cJSON *body,
		    const struct hubclient_header *headers, cJSON **out, char *etag_out,
		    const char *what)
{
	*out = NULL;
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	if (body && !text)
		return cli_error(CLI_FAIL, "out of memory");
	struct hubclient_response resp;
	int rc = cli_remote_call(ctx, method, path, text ? "application/json; charset=utf-8" : NULL,
				 text, text ? strlen(text) : 0, headers, 60, &resp, what, NULL);
	cJSON_free(text);
	if (rc)
		return rc;
	if (etag_out)
		snprintf(etag_out, 128, "%s", resp.etag);
	if (resp.body_len) {
		*out = cJSON_ParseWithLength(resp.body, resp.body_len);
		if (!*out) {
			hubclient_response_free(&resp);
			return cli_error(CLI_FAIL, "%s: the hub's answer is not JSON", what);
		}
	}
	hubclient_response_free(&resp);
	return CLI_OK;
}

int cli_url_encode(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	return sas_url_encode(in, strlen(in), out, cap, &n) == SH_OK ? 0 : -1;
}

int cli_parse_since(const char *s, int64_t now_us, int64_t *out_us)
{
	if (!s || !*s)
		return -1;
	long long d = cli_parse_duration(s);
	if (d >= 0) {
		*out_us = now_us - (int64_t)d * 1000000;
		return 0;
	}
	int64_t us = 0;
	if (isotime_parse(s, strlen(s), &us) != SH_OK)
		return -1;
	*out_us = us;
	return 0;
}

int cli_parse_property(const char *s, char *name, size_t ncap, char *value, size_t vcap)
{
	const char *eq = s ? strchr(s, '=') : NULL;
	if (!eq || eq == s)
		return -1;
	size_t nlen = (size_t)(eq - s), vlen = strlen(eq + 1);
	if (nlen >= ncap || vlen >= vcap)
		return -1;
	memcpy(name, s, nlen);
	name[nlen] = '\0';
	memcpy(value, eq + 1, vlen + 1);
	return 0;
}
