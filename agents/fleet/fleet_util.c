/*
 * fleet_util.c (agents/fleet): the clock, the shared TLS context, the key map,
 * latency percentiles and the progress line used by both fleet modes. It never opens an MQTT
 * connection itself.
 */
#include "fleet_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <openssl/x509v3.h>

#include "agent_mqtt.h"

uint64_t fleet_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void fleet_log(const char *fmt, ...)
{
	va_list ap;
	fleet_progress_end();
	va_start(ap, fmt);
	agent_logv(fmt, ap);
	va_end(ap);
}

SSL_CTX *fleet_ssl_ctx(const char *cafile, const char *host, bool insecure)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return NULL;
	int ok = cafile ? SSL_CTX_load_verify_locations(ctx, cafile, NULL)
			: SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		fleet_log("cannot load the CA file %s", cafile ? cafile : "(system store)");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (!insecure) {
		X509_VERIFY_PARAM *p = SSL_CTX_get0_param(ctx);
		unsigned char addr[16];
		ok = (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1)
			     ? X509_VERIFY_PARAM_set1_ip_asc(p, host)
			     : X509_VERIFY_PARAM_set1_host(p, host, 0);
		if (ok != 1) {
			fleet_log("cannot set the TLS name check for %s", host);
			SSL_CTX_free(ctx);
			return NULL;
		}
	}
	return ctx;
}

/* ---- key map ---- */

struct fleet_keys {
	cJSON *map;   /* an object: id -> key text */
};

struct fleet_keys *fleet_keys_new(void)
{
	struct fleet_keys *k = calloc(1, sizeof *k);
	if (k && !(k->map = cJSON_CreateObject())) {
		free(k);
		return NULL;
	}
	return k;
}

struct fleet_keys *fleet_keys_load(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fleet_log("cannot open the key map %s: %s", path, strerror(errno));
		return NULL;
	}
	char *text = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *t = realloc(text, cap);
			if (!t) {
				free(text);
				fclose(f);
				return NULL;
			}
			text = t;
		}
		size_t got = fread(text + n, 1, 4096, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	text[n] = '\0';
	cJSON *map = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsObject(map)) {
		fleet_log("%s: a key map is a JSON object {\"device\":\"base64 key\", "
			  "\"device/module\":\"...\"}", path);
		cJSON_Delete(map);
		return NULL;
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, map) {
		if (!cJSON_IsString(it)) {
			fleet_log("%s: the key of \"%s\" is not a string", path, it->string);
			cJSON_Delete(map);
			return NULL;
		}
	}
	struct fleet_keys *k = calloc(1, sizeof *k);
	if (!k) {
		cJSON_Delete(map);
		return NULL;
	}
	k->map = map;
	return k;
}

const char *fleet_keys_get(const struct fleet_keys *k, const char *id, const char *fallback)
{
	if (!k)
		return NULL;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(k->map, id);
	if (!v && fallback)
		v = cJSON_GetObjectItemCaseSensitive(k->map, fallback);
	if (!v)
		v = cJSON_GetObjectItemCaseSensitive(k->map, "*");
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int fleet_keys_put(struct fleet_keys *k, const char *id, const char *key)
{
	cJSON_DeleteItemFromObjectCaseSensitive(k->map, id);
	return cJSON_AddStringToObject(k->map, id, key) ? 0 : -1;
}

void fleet_keys_free(struct fleet_keys *k)
{
	if (!k)
		return;
	cJSON_Delete(k->map);
	free(k);
}

/* ---- latency ---- */

void fleet_lat_add(struct fleet_lat *l, uint64_t ns)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		uint64_t *p = realloc(l->ns, cap * sizeof *p);
		if (!p)
			return;   /* a lost sample is better than a lost run */
		l->ns = p;
		l->cap = cap;
	}
	l->ns[l->n++] = ns;
	l->sorted = false;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

double fleet_lat_pct_us(struct fleet_lat *l, double pct)
{
	if (!l->n)
		return 0;
	if (!l->sorted) {
		qsort(l->ns, l->n, sizeof *l->ns, cmp_u64);
		l->sorted = true;
	}
	size_t k = (size_t)(pct / 100.0 * (double)l->n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > l->n)
		k = l->n;
	return (double)l->ns[k - 1] / 1000.0;
}

void fleet_lat_free(struct fleet_lat *l)
{
	free(l->ns);
	memset(l, 0, sizeof *l);
}

/* ---- progress ---- */

static int tty = -1;             /* stderr is a terminal: -1 unknown */
static bool tty_line_open;
static uint64_t last_plain_ns;

void fleet_progress(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (tty < 0)
		tty = isatty(2);
	if (tty) {
		fprintf(stderr, "\r\033[K%s", line);
		tty_line_open = true;
		return;
	}
	uint64_t now = fleet_now_ns();
	if (last_plain_ns && now - last_plain_ns < 5000000000u)
		return;
	last_plain_ns = now;
	fprintf(stderr, "fleet: %s\n", line);
}

void fleet_progress_end(void)
{
	if (tty_line_open) {
		fputc('\n', stderr);
		tty_line_open = false;
	}
}

/* ---- options ---- */

int fleet_opt_int(const char *name, const char *v, long lo, long hi)
{
	char *end = NULL;
	errno = 0;
	long x = v ? strtol(v, &end, 10) : 0;
	if (!v || !*v || errno || *end || x < lo || x > hi) {
		fleet_log("%s takes an integer %ld..%ld (see fleet --help)", name, lo, hi);
		exit(FLEET_EXIT_USAGE);
	}
	return (int)x;
}

double fleet_opt_double(const char *name, const char *v, double lo, double hi)
{
	char *end = NULL;
	double x = v ? strtod(v, &end) : -1;
	if (!v || !*v || *end || !(x >= lo) || x > hi) {
		fleet_log("%s takes a number %g..%g (see fleet --help)", name, lo, hi);
		exit(FLEET_EXIT_USAGE);
	}
	return x;
}

void fleet_raise_fd_limit(int n)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rlim_t need = (rlim_t)n * 3 + 64;
	if (rl.rlim_cur < need && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < need)
		fleet_log("warning: %d connections need about %lu descriptors, the limit is %lu: "
			  "run several processes", n, (unsigned long)need, (unsigned long)rl.rlim_cur);
}
