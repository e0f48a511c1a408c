/*
 * harness.c: the integration harness (see harness.h): a `simhub serve` child per test, SAS
 * tokens, synchronous libmosquitto clients, raw sockets, database reads. It never sleeps to
 * synchronise: it polls for a condition (a file, a packet, a row) until a deadline, and it never
 * encodes MQTT with simhub's own encoder, so a shared bug cannot hide itself.
 */
#define _XOPEN_SOURCE 700

#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sqlite3.h>

#include "core/base64.h"
#include "core/crypto.h"
#include "core/result.h"
#include "core/sas.h"

/* The fixture every test's hub loads: fixed keys, so tokens can be made in the test. */
static const char fixture_json[] =
	"{\"version\":1,\"description\":\"simhub integration tests (tests/integration/harness.c)\",\n"
	" \"settings\":{\"hostname\":\"" HX_HOST "\"},\n"
	" \"policies\":[\n"
	"  {\"name\":\"iothubowner\",\"primaryKey\":\"" HX_OWNER_KEY "\",\n"
	"   \"rights\":[\"RegistryRead\",\"RegistryWrite\",\"ServiceConnect\",\"DeviceConnect\"]},\n"
	"  {\"name\":\"device\",\"primaryKey\":\"" HX_DEVICE_POLICY_KEY "\",\"rights\":[\"DeviceConnect\"]},\n"
	"  {\"name\":\"service\",\"primaryKey\":\"" HX_SERVICE_POLICY_KEY "\",\"rights\":[\"ServiceConnect\"]}\n"
	" ],\n"
	" \"devices\":[\n"
	"  {\"id\":\"" HX_DEV1 "\",\"authentication\":{\"type\":\"sas\",\"primaryKey\":\"" HX_DEV1_KEY "\",\n"
	"   \"secondaryKey\":\"" HX_DEV1_KEY2 "\"},\n"
	"   \"twin\":{\"desired\":{\"interval\":5},\"reported\":{\"fw\":\"1.0\"}}},\n"
	"  {\"id\":\"" HX_DEV2 "\",\"authentication\":{\"type\":\"sas\",\"primaryKey\":\"" HX_DEV2_KEY "\"},\n"
	"   \"twin\":{\"desired\":{\"interval\":7}}},\n"
	"  {\"id\":\"" HX_DEVOFF "\",\"status\":\"disabled\",\n"
	"   \"authentication\":{\"type\":\"sas\",\"primaryKey\":\"" HX_DEVOFF_KEY "\"}},\n"
	"  {\"id\":\"" HX_GW "\",\"authentication\":{\"type\":\"sas\",\"primaryKey\":\"" HX_GW_KEY "\"},\n"
	"   \"modules\":[{\"id\":\"" HX_MOD "\",\n"
	"    \"authentication\":{\"type\":\"sas\",\"primaryKey\":\"" HX_GW_M1_KEY "\"},\n"
	"    \"twin\":{\"desired\":{\"mode\":\"fast\"}}}]},\n"
	"  {\"id\":\"" HX_PARENTOFF "\",\"status\":\"disabled\",\n"
	"   \"authentication\":{\"type\":\"sas\",\"primaryKey\":\"" HX_PARENTOFF_KEY "\"},\n"
	"   \"modules\":[{\"id\":\"" HX_MOD "\",\n"
	"    \"authentication\":{\"type\":\"sas\",\"primaryKey\":\"" HX_PARENTOFF_M1_KEY "\"}}]},\n"
	"  {\"id\":\"" HX_X509DEV "\",\"authentication\":{\"type\":\"selfSigned\",\n"
	"   \"primaryThumbprint\":\"0A1B2C3D4E5F60718293A4B5C6D7E8F901234567\",\n"
	"   \"secondaryThumbprint\":\"ABCDEFABCDEFABCDEFABCDEFABCDEFABCDEF0123\"}}\n"
	" ]}\n";

/* --- per-process state (each forked test has its own copy) ------------------------------------ */
static char root_dir[256];
static struct hx_hub cur_hub;
static pid_t owner_pid;          /* the process that started cur_hub.pid */
static bool exit_hook_set;

static void **kept;
static size_t n_kept, cap_kept;
static cJSON **kept_json;
static size_t n_json, cap_json;
static int open_fds[256];
static size_t n_fds;

struct msg_node {
	struct msg_node *next;
	char *topic;
	uint8_t *payload;
	size_t len;
	int qos;
	bool retain;
};

struct hx_mq {
	struct mosquitto *m;
	bool connack_seen, connected, lost;
	int connack;
	uint8_t *mid_done;           /* 65536 flags: on_publish seen for mid */
	int sub_mid, sub_granted, unsub_mid;
	bool sub_seen, unsub_seen;
	struct msg_node *head, *tail;
	struct msg_node *cur;        /* the message last handed out */
	struct hx_msg view;
	struct hx_mq *next;
};
static struct hx_mq *clients;
static struct hx_mq *healthy_client;   /* this test's hx_healthy() client */

struct hx_https {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
	struct hx_https *next;
};
static struct hx_https *https_conns;

/* --- small things ----------------------------------------------------------------------------- */

int64_t hx_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hx_wall_s(void)
{
	return (int64_t)time(NULL);
}

/* Pause between two polls of a condition (not a synchronisation: the caller re-checks). */
static void poll_pause(void)
{
	struct timespec ts = {0, 5 * 1000 * 1000};
	nanosleep(&ts, NULL);
}

void *hx_keep(void *p)
{
	ck_assert_msg(p != NULL, "out of memory");
	if (n_kept == cap_kept) {
		size_t cap = cap_kept ? cap_kept * 2 : 64;
		void **nk = realloc(kept, cap * sizeof *nk);
		ck_assert_msg(nk != NULL, "out of memory");
		kept = nk;
		cap_kept = cap;
	}
	kept[n_kept++] = p;
	return p;
}

char *hx_fmt(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(n, 0);
	char *s = hx_keep(malloc((size_t)n + 1));
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static char *keep_copy(const void *p, size_t n)
{
	char *s = hx_keep(malloc(n + 1));
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

const char *hx_hex(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t shown = n > 96 ? 96 : n;
	char *s = hx_keep(malloc(shown * 3 + 32));
	size_t o = 0;
	for (size_t i = 0; i < shown; i++)
		o += (size_t)sprintf(s + o, "%02x ", b[i]);
	if (shown < n)
		sprintf(s + o, "... (%zu bytes)", n);
	else if (o)
		s[o - 1] = '\0';
	else
		s[0] = '\0';
	return s;
}

struct cJSON *hx_json(const void *text, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(text, len);
	ck_assert_msg(j != NULL, "not JSON: %s", keep_copy(text, len));
	if (n_json == cap_json) {
		size_t cap = cap_json ? cap_json * 2 : 32;
		cJSON **nj = realloc(kept_json, cap * sizeof *nj);
		ck_assert_msg(nj != NULL, "out of memory");
		kept_json = nj;
		cap_json = cap;
	}
	kept_json[n_json++] = j;
	return j;
}

void hx_json_eq(const void *got, size_t got_len, const char *want, const char *what)
{
	cJSON *g = hx_json(got, got_len);
	cJSON *w = hx_json(want, strlen(want));
	ck_assert_msg(cJSON_Compare(g, w, true), "%s: got %s, want %s", what, keep_copy(got, got_len),
		      want);
}

const char *hx_jstr(const struct cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Text of a file (kept until teardown; "" when unreadable), for failure messages. */
static const char *file_text(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return "";
	char *buf = hx_keep(malloc(8192));
	size_t n = fread(buf, 1, 8191, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Remove a folder tree (our own temporary folders only). */
static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		unlink(path);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char sub[1024];
		snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
		struct stat st;
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(sub);
		else
			unlink(sub);
	}
	closedir(d);
	rmdir(path);
}

/* --- the simhub process ----------------------------------------------------------------------- */

/* Exit handler of a test process: a hub still running here means the test failed; kill it. */
static void kill_leftover_hub(void)
{
	if (cur_hub.pid > 0 && owner_pid == getpid()) {
		kill(cur_hub.pid, SIGKILL);
		waitpid(cur_hub.pid, NULL, 0);
		cur_hub.pid = 0;
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
	ck_assert_msg(fputs(text, f) >= 0 && fclose(f) == 0, "cannot write %s", path);
}

/* Read the ready file {host, mqtt, mqtts, https, ca, service, db} into *h. */
static void read_ready(struct hx_hub *h, const char *path)
{
	const char *text = file_text(path);
	cJSON *j = hx_json(text, strlen(text));
	const cJSON *mq = cJSON_GetObjectItemCaseSensitive(j, "mqtt");
	const cJSON *mqs = cJSON_GetObjectItemCaseSensitive(j, "mqtts");
	const cJSON *hs = cJSON_GetObjectItemCaseSensitive(j, "https");
	const char *ca = hx_jstr(j, "ca"), *host = hx_jstr(j, "host"), *svc = hx_jstr(j, "service");
	ck_assert_msg(cJSON_IsNumber(mq) && cJSON_IsNumber(mqs) && cJSON_IsNumber(hs) && ca && host && svc,
		      "ready file lacks a field: %s", text);
	h->mqtt = mq->valueint;
	h->mqtts = mqs->valueint;
	h->https = hs->valueint;
	ck_assert_msg(h->mqtt > 0 && h->mqtts > 0 && h->https > 0, "ready file ports: %s", text);
	snprintf(h->ca, sizeof h->ca, "%s", ca);
	snprintf(h->host, sizeof h->host, "%s", host);
	snprintf(h->service, sizeof h->service, "%s", svc);
}

void hx_hub_start(struct hx_hub *h)
{
	const char *bin = getenv("SIMHUB");
	ck_assert_msg(bin && bin[0], "SIMHUB (the simhub binary) is not set; run through ctest");
	ck_assert_msg(root_dir[0], "hx_run did not make a root folder");
	memset(h, 0, sizeof *h);
	static unsigned seq;
	snprintf(h->dir, sizeof h->dir, "%s/t%ld-%u", root_dir, (long)getpid(), seq++);
	ck_assert_msg(mkdir(h->dir, 0700) == 0, "mkdir %s: %s", h->dir, strerror(errno));
	snprintf(h->db, sizeof h->db, "%s/hub.db", h->dir);
	char fx[640], ready[640], out[640], err[640];
	snprintf(fx, sizeof fx, "%s/fixture.json", h->dir);
	snprintf(ready, sizeof ready, "%s/ready.json", h->dir);
	snprintf(out, sizeof out, "%s/stdout.txt", h->dir);
	snprintf(err, sizeof err, "%s/stderr.txt", h->dir);
	write_file(fx, fixture_json);

	if (!exit_hook_set) {
		atexit(kill_leftover_hub);
		exit_hook_set = true;
	}
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* The hub must not outlive the test process, whatever way that one ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(111);
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(112);
		close(o);
		close(e);
		signal(SIGPIPE, SIG_DFL);
		execl(bin, "simhub", "serve", "--db", h->db, "--fixtures", fx, "--mqtt-port", "0",
		      "--mqtts-port", "0", "--https-port", "0", "--ready-file", ready, (char *)NULL);
		_exit(127);
	}
	h->pid = pid;
	owner_pid = parent;
	int64_t deadline = hx_mono_ms() + HX_START_MS;
	while (access(ready, F_OK) != 0) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			h->pid = 0;
			ck_abort_msg("simhub exited early (status %d): %s", status, file_text(err));
		}
		if (hx_mono_ms() > deadline)
			ck_abort_msg("simhub not ready after %d ms: %s", HX_START_MS, file_text(err));
		poll_pause();
	}
	read_ready(h, ready);
}

void hx_hub_stop(struct hx_hub *h)
{
	if (h->pid <= 0)
		return;
	pid_t pid = h->pid;
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	int status = 0;
	int64_t deadline = hx_mono_ms() + 15000;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (hx_mono_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			h->pid = 0;
			ck_abort_msg("simhub did not stop within 15 s of SIGTERM");
		}
		poll_pause();
	}
	h->pid = 0;
	char err[700];
	snprintf(err, sizeof err, "%s/stderr.txt", h->dir);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "simhub did not exit 0 on SIGTERM (status 0x%x): %s", status, file_text(err));
}

struct hx_hub *hx_hub(void)
{
	return &cur_hub;
}

void hx_setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	hx_hub_start(&cur_hub);
}

/* Release everything the test made through the harness. */
static void release_all(void)
{
	healthy_client = NULL;
	while (clients) {
		struct hx_mq *c = clients;
		clients = c->next;
		mosquitto_destroy(c->m);
		while (c->head) {
			struct msg_node *n = c->head;
			c->head = n->next;
			free(n->topic);
			free(n->payload);
			free(n);
		}
		if (c->cur) {
			free(c->cur->topic);
			free(c->cur->payload);
			free(c->cur);
		}
		free(c->mid_done);
		free(c);
	}
	while (https_conns) {
		struct hx_https *r = https_conns;
		https_conns = r->next;
		SSL_free(r->ssl);
		SSL_CTX_free(r->ctx);
		free(r);
	}
	for (size_t i = 0; i < n_fds; i++)
		close(open_fds[i]);
	n_fds = 0;
	for (size_t i = 0; i < n_json; i++)
		cJSON_Delete(kept_json[i]);
	free(kept_json);
	kept_json = NULL;
	n_json = cap_json = 0;
	for (size_t i = 0; i < n_kept; i++)
		free(kept[i]);
	free(kept);
	kept = NULL;
	n_kept = cap_kept = 0;
}

void hx_teardown(void)
{
	/* Stop the hub while clients are still connected: shutdown with live sessions is tested too. */
	hx_hub_stop(&cur_hub);
	release_all();
	if (!getenv("HX_KEEP") && cur_hub.dir[0])
		remove_tree(cur_hub.dir);
}

TCase *hx_tcase(const char *name)
{
	TCase *tc = tcase_create(name);
	tcase_add_checked_fixture(tc, hx_setup, hx_teardown);
	tcase_set_timeout(tc, 30);
	return tc;
}

int hx_run(Suite *s)
{
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	const char *tmp = getenv("TMPDIR");
	snprintf(root_dir, sizeof root_dir, "%s/simhub-integ-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(root_dir)) {
		fprintf(stderr, "mkdtemp %s: %s\n", root_dir, strerror(errno));
		return EXIT_FAILURE;
	}
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (getenv("HX_KEEP"))
		fprintf(stderr, "kept %s\n", root_dir);
	else
		remove_tree(root_dir);
	mosquitto_lib_cleanup();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* --- SAS tokens and CONNECT fields ------------------------------------------------------------ */

/* %-encode all but RFC 3986 unreserved characters, with upper- or lower-case hex. */
static void url_encode(const char *in, char *out, size_t cap, bool lower)
{
	const char *hex = lower ? "0123456789abcdef" : "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		ck_assert_msg(o + 4 < cap, "url_encode: buffer too small");
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}

void hx_sas(char *out, enum hx_sas_style style, const char *resource, const char *key_b64,
	    const char *policy, int64_t expiry_s)
{
	if (style == HX_SAS_NODE) {
		size_t n = 0;
		ck_assert_msg(sas_build(resource, key_b64, policy, expiry_s, out, HX_TOKEN_MAX, &n) == SH_OK,
			      "sas_build failed for %s", resource);
		return;
	}
	/* The other shapes are written here: HMAC of the sr exactly as it will be sent. */
	char sr[700], se[24], sig_b64[64], sig[200], tosign[800];
	if (style == HX_SAS_CSDK)
		snprintf(sr, sizeof sr, "%s", resource);
	else
		url_encode(resource, sr, sizeof sr, true);
	snprintf(se, sizeof se, "%lld", (long long)expiry_s);
	int n = snprintf(tosign, sizeof tosign, "%s\n%s", sr, se);
	uint8_t key[128], mac[CRYPTO_SHA256_LEN];
	size_t klen = 0, slen = 0;
	ck_assert(base64_decode(key_b64, strlen(key_b64), key, sizeof key, &klen) == SH_OK);
	ck_assert(crypto_hmac_sha256(key, klen, (const uint8_t *)tosign, (size_t)n, mac) == SH_OK);
	ck_assert(base64_encode(mac, sizeof mac, sig_b64, sizeof sig_b64, &slen) == SH_OK);
	sig_b64[slen] = '\0';
	url_encode(sig_b64, sig, sizeof sig, style == HX_SAS_DOCS);
	if (style == HX_SAS_CSDK)
		snprintf(out, HX_TOKEN_MAX, "SharedAccessSignature sr=%s&sig=%s&se=%s&skn=%s", sr, sig, se,
			 policy ? policy : "");
	else
		snprintf(out, HX_TOKEN_MAX, "SharedAccessSignature sig=%s&se=%s%s%s&sr=%s", sig, se,
			 policy ? "&skn=" : "", policy ? policy : "", sr);
}

const char *hx_resource(const char *dev, const char *mod)
{
	if (mod && mod[0])
		return hx_fmt("%s/devices/%s/modules/%s", HX_HOST, dev, mod);
	return hx_fmt("%s/devices/%s", HX_HOST, dev);
}

const char *hx_token(const char *dev, const char *mod, const char *key)
{
	char *t = hx_keep(malloc(HX_TOKEN_MAX));
	hx_sas(t, HX_SAS_NODE, hx_resource(dev, mod), key, NULL, hx_wall_s() + 3600);
	return t;
}

const char *hx_username(const char *dev, const char *mod)
{
	if (mod && mod[0])
		return hx_fmt("%s/%s/%s/?api-version=%s", HX_HOST, dev, mod, HX_API);
	return hx_fmt("%s/%s/?api-version=%s", HX_HOST, dev, HX_API);
}

const char *hx_client_id(const char *dev, const char *mod)
{
	if (mod && mod[0])
		return hx_fmt("%s/%s", dev, mod);
	return hx_fmt("%s", dev);
}

/* --- byte buffers and packets ----------------------------------------------------------------- */

void hx_put(struct hx_buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *np = realloc(b->p, cap);
		ck_assert_msg(np != NULL, "out of memory");
		b->p = np;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void hx_put_u8(struct hx_buf *b, uint8_t v)
{
	hx_put(b, &v, 1);
}

void hx_put_u16(struct hx_buf *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)(v & 0xff)};
	hx_put(b, x, 2);
}

void hx_put_str(struct hx_buf *b, const void *s, size_t n)
{
	ck_assert(n <= 0xffff);
	hx_put_u16(b, (uint16_t)n);
	hx_put(b, s, n);
}

void hx_buf_free(struct hx_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* Append first byte, remaining length (MQTT variable byte integer) and body, then free body. */
static void put_packet(struct hx_buf *b, uint8_t first, struct hx_buf *body)
{
	hx_put_u8(b, first);
	size_t n = body->len;
	do {
		uint8_t d = (uint8_t)(n % 128);
		n /= 128;
		if (n)
			d |= 0x80;
		hx_put_u8(b, d);
	} while (n);
	hx_put(b, body->p, body->len);
	hx_buf_free(body);
}

void hx_pkt_connect(struct hx_buf *b, const struct hx_connect *c)
{
	struct hx_buf body = {0};
	const char *proto = c->protocol ? c->protocol : "MQTT";
	hx_put_str(&body, proto, strlen(proto));
	hx_put_u8(&body, c->level ? c->level : 4);
	uint8_t flags = 0;
	if (c->username)
		flags |= 0x80;
	if (c->password)
		flags |= 0x40;
	if (c->will_topic)
		flags |= 0x04;
	if (c->clean)
		flags |= 0x02;
	hx_put_u8(&body, flags);
	hx_put_u16(&body, c->keepalive);
	hx_put_str(&body, c->client_id, strlen(c->client_id));
	if (c->will_topic) {
		hx_put_str(&body, c->will_topic, strlen(c->will_topic));
		hx_put_str(&body, c->will_payload, c->will_len);
	}
	if (c->username)
		hx_put_str(&body, c->username, strlen(c->username));
	if (c->password)
		hx_put_str(&body, c->password, strlen(c->password));
	put_packet(b, 0x10, &body);
}

void hx_pkt_publish(struct hx_buf *b, const void *topic, size_t tlen, const void *payload,
		    size_t len, int qos, bool retain, uint16_t pid)
{
	struct hx_buf body = {0};
	hx_put_str(&body, topic, tlen);
	if (qos > 0)
		hx_put_u16(&body, pid);
	hx_put(&body, payload, len);
	put_packet(b, (uint8_t)(0x30 | (qos << 1) | (retain ? 1 : 0)), &body);
}

void hx_pkt_subscribe(struct hx_buf *b, uint16_t pid, size_t n, const char *const filters[],
		      const uint8_t qos[])
{
	struct hx_buf body = {0};
	hx_put_u16(&body, pid);
	for (size_t i = 0; i < n; i++) {
		hx_put_str(&body, filters[i], strlen(filters[i]));
		hx_put_u8(&body, qos[i]);
	}
	put_packet(b, 0x82, &body);
}

void hx_pkt_unsubscribe(struct hx_buf *b, uint16_t pid, size_t n, const char *const filters[])
{
	struct hx_buf body = {0};
	hx_put_u16(&body, pid);
	for (size_t i = 0; i < n; i++)
		hx_put_str(&body, filters[i], strlen(filters[i]));
	put_packet(b, 0xa2, &body);
}

/* --- raw sockets ------------------------------------------------------------------------------ */

int hx_raw_open(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
	ck_assert_msg(n_fds < sizeof open_fds / sizeof open_fds[0], "too many sockets");
	open_fds[n_fds++] = fd;
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_msg(connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect to port %d: %s", port,
		      strerror(errno));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

int hx_raw_send(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

void hx_raw_send_ok(int fd, const void *p, size_t n)
{
	ck_assert_msg(hx_raw_send(fd, p, n) == 0, "send %s: %s", hx_hex(p, n), strerror(errno));
}

void hx_raw_send_buf(int fd, struct hx_buf *b)
{
	hx_raw_send_ok(fd, b->p, b->len);
	hx_buf_free(b);
}

/* Read up to n bytes until the deadline; *got counts them. 1 all read, 0 EOF/reset, -1 timeout. */
static int read_until(int fd, uint8_t *buf, size_t n, int64_t deadline, size_t *got)
{
	*got = 0;
	while (*got < n) {
		int64_t left = deadline - hx_mono_ms();
		if (left <= 0)
			return -1;
		struct pollfd pfd = {fd, POLLIN, 0};
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return -1;
		ssize_t r = recv(fd, buf + *got, n - *got, 0);
		if (r == 0)
			return 0;
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return 0;   /* ECONNRESET and friends: the hub closed */
		}
		*got += (size_t)r;
	}
	return 1;
}

ssize_t hx_raw_read(int fd, void *buf, size_t n, int timeout_ms)
{
	size_t got = 0;
	int r = read_until(fd, buf, n, hx_mono_ms() + timeout_ms, &got);
	return r == 1 ? (ssize_t)n : r;
}

void hx_raw_expect(int fd, const void *want, size_t n, const char *what)
{
	uint8_t *buf = hx_keep(malloc(n ? n : 1));
	size_t got = 0;
	int r = read_until(fd, buf, n, hx_mono_ms() + HX_WAIT_MS, &got);
	ck_assert_msg(r == 1, "%s: expected [%s], got %s after [%s]", what, hx_hex(want, n),
		      r == 0 ? "a close" : "a timeout", hx_hex(buf, got));
	ck_assert_msg(memcmp(buf, want, n) == 0, "%s: expected [%s], got [%s]", what, hx_hex(want, n),
		      hx_hex(buf, n));
}

void hx_raw_expect_closed(int fd, int timeout_ms, const char *what)
{
	int64_t deadline = hx_mono_ms() + timeout_ms;
	for (;;) {
		int64_t left = deadline - hx_mono_ms();
		ck_assert_msg(left > 0, "%s: the hub did not close the connection within %d ms", what,
			      timeout_ms);
		struct pollfd pfd = {fd, POLLIN, 0};
		int pr = poll(&pfd, 1, (int)left);
		if (pr <= 0)
			continue;
		uint8_t buf[256];
		ssize_t r = recv(fd, buf, sizeof buf, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return;
		ck_abort_msg("%s: expected a close, got bytes [%s]", what, hx_hex(buf, (size_t)r));
	}
}

bool hx_raw_quiet(int fd, int ms)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	int64_t deadline = hx_mono_ms() + ms;
	for (;;) {
		int64_t left = deadline - hx_mono_ms();
		if (left <= 0)
			return true;
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		return pr == 0;
	}
}

void hx_raw_packet(int fd, struct hx_packet *out, const char *what)
{
	memset(out, 0, sizeof *out);
	int64_t deadline = hx_mono_ms() + HX_WAIT_MS;
	uint8_t b;
	size_t got;
	ck_assert_msg(read_until(fd, &out->first, 1, deadline, &got) == 1, "%s: no packet", what);
	size_t len = 0, mult = 1;
	for (int i = 0;; i++) {
		ck_assert_msg(i < 4, "%s: remaining length over 4 bytes", what);
		ck_assert_msg(read_until(fd, &b, 1, deadline, &got) == 1, "%s: truncated header", what);
		len += (size_t)(b & 0x7f) * mult;
		mult *= 128;
		if (!(b & 0x80))
			break;
	}
	uint8_t *body = hx_keep(malloc(len ? len : 1));
	ck_assert_msg(read_until(fd, body, len, deadline, &got) == 1,
		      "%s: packet %02x body truncated (%zu of %zu bytes)", what, out->first, got, len);
	out->body = body;
	out->len = len;
	if ((out->first >> 4) == 3) {
		ck_assert_msg(len >= 2, "%s: PUBLISH too short", what);
		size_t tlen = (size_t)body[0] << 8 | body[1];
		size_t off = 2 + tlen + (((out->first >> 1) & 3) ? 2 : 0);
		ck_assert_msg(off <= len, "%s: PUBLISH topic overruns the packet", what);
		out->topic = keep_copy(body + 2, tlen);
		out->payload = body + off;
		out->payload_len = len - off;
	}
}

void hx_raw_ping(int fd)
{
	static const uint8_t ping[] = {0xc0, 0x00}, pong[] = {0xd0, 0x00};
	hx_raw_send_ok(fd, ping, sizeof ping);
	hx_raw_expect(fd, pong, sizeof pong, "PINGRESP");
}

void hx_raw_close(int fd)
{
	for (size_t i = 0; i < n_fds; i++) {
		if (open_fds[i] == fd) {
			open_fds[i] = open_fds[--n_fds];
			break;
		}
	}
	close(fd);
}

int hx_raw_device(const char *dev, const char *mod, const char *key, uint16_t keepalive)
{
	int fd = hx_raw_open(hx_hub()->mqtt);
	struct hx_connect c = {
		.client_id = hx_client_id(dev, mod),
		.username = hx_username(dev, mod),
		.password = hx_token(dev, mod, key),
		.keepalive = keepalive,
	};
	struct hx_buf b = {0};
	hx_pkt_connect(&b, &c);
	hx_raw_send_buf(fd, &b);
	static const uint8_t ok[] = {0x20, 0x02, 0x00, 0x00};
	hx_raw_expect(fd, ok, sizeof ok, hx_fmt("CONNACK for %s", c.client_id));
	return fd;
}

void hx_raw_subscribe(int fd, uint16_t pid, const char *filter, uint8_t qos)
{
	struct hx_buf b = {0};
	hx_pkt_subscribe(&b, pid, 1, &filter, &qos);
	hx_raw_send_buf(fd, &b);
	uint8_t want[] = {0x90, 0x03, (uint8_t)(pid >> 8), (uint8_t)pid, qos > 1 ? 1 : qos};
	hx_raw_expect(fd, want, sizeof want, hx_fmt("SUBACK for %s", filter));
}

/* --- libmosquitto clients --------------------------------------------------------------------- */

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	(void)m;
	struct hx_mq *c = obj;
	c->connack_seen = true;
	c->connack = rc;
	c->connected = rc == 0;
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
	(void)m;
	(void)rc;
	struct hx_mq *c = obj;
	c->connected = false;
	c->lost = true;
}

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
	(void)m;
	struct hx_mq *c = obj;
	if (mid >= 0 && mid < 65536)
		c->mid_done[mid] = 1;
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int count, const int *granted)
{
	(void)m;
	struct hx_mq *c = obj;
	c->sub_seen = true;
	c->sub_mid = mid;
	c->sub_granted = count > 0 ? granted[0] : -1;
}

static void on_unsubscribe(struct mosquitto *m, void *obj, int mid)
{
	(void)m;
	struct hx_mq *c = obj;
	c->unsub_seen = true;
	c->unsub_mid = mid;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	(void)m;
	struct hx_mq *c = obj;
	struct msg_node *n = calloc(1, sizeof *n);
	if (!n)
		return;
	n->topic = strdup(msg->topic);
	n->len = (size_t)msg->payloadlen;
	n->payload = malloc(n->len ? n->len : 1);
	if (n->len && n->payload)
		memcpy(n->payload, msg->payload, n->len);
	n->qos = msg->qos;
	n->retain = msg->retain;
	if (c->tail)
		c->tail->next = n;
	else
		c->head = n;
	c->tail = n;
}

/* Run the client's network loop until cond holds, the connection is lost, or the deadline. */
static bool pump(struct hx_mq *c, int timeout_ms, bool (*cond)(struct hx_mq *, int), int arg)
{
	int64_t deadline = hx_mono_ms() + timeout_ms;
	while (!cond(c, arg)) {
		if (c->lost)
			return false;
		int64_t left = deadline - hx_mono_ms();
		if (left <= 0)
			return false;
		int rc = mosquitto_loop(c->m, left < 50 ? (int)left : 50, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			c->lost = true;
			c->connected = false;
		}
	}
	return true;
}

static bool cond_connack(struct hx_mq *c, int arg)
{
	(void)arg;
	return c->connack_seen;
}

static bool cond_published(struct hx_mq *c, int mid)
{
	return c->mid_done[mid] != 0;
}

static bool cond_subscribed(struct hx_mq *c, int mid)
{
	return c->sub_seen && c->sub_mid == mid;
}

static bool cond_unsubscribed(struct hx_mq *c, int mid)
{
	return c->unsub_seen && c->unsub_mid == mid;
}

static bool cond_message(struct hx_mq *c, int arg)
{
	(void)arg;
	return c->head != NULL;
}

static bool cond_never(struct hx_mq *c, int arg)
{
	(void)c;
	(void)arg;
	return false;
}

struct hx_mq *hx_mq_new(const char *client_id)
{
	struct hx_mq *c = calloc(1, sizeof *c);
	ck_assert_msg(c != NULL, "out of memory");
	c->mid_done = calloc(65536, 1);
	c->m = mosquitto_new(client_id, false, c);
	ck_assert_msg(c->mid_done && c->m, "mosquitto_new failed for %s", client_id);
	c->next = clients;
	clients = c;
	mosquitto_int_option(c->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_connect_callback_set(c->m, on_connect);
	mosquitto_disconnect_callback_set(c->m, on_disconnect);
	mosquitto_publish_callback_set(c->m, on_publish);
	mosquitto_subscribe_callback_set(c->m, on_subscribe);
	mosquitto_unsubscribe_callback_set(c->m, on_unsubscribe);
	mosquitto_message_callback_set(c->m, on_message);
	return c;
}

void hx_mq_will(struct hx_mq *c, const char *topic, const void *payload, size_t len)
{
	ck_assert_int_eq(mosquitto_will_set(c->m, topic, (int)len, payload, 1, false), MOSQ_ERR_SUCCESS);
}

int hx_mq_connect(struct hx_mq *c, const char *username, const char *password, bool tls)
{
	struct hx_hub *h = hx_hub();
	if (username)
		ck_assert_int_eq(mosquitto_username_pw_set(c->m, username, password), MOSQ_ERR_SUCCESS);
	if (tls) {
		int rc = mosquitto_tls_set(c->m, h->ca, NULL, NULL, NULL, NULL);
		ck_assert_msg(rc == MOSQ_ERR_SUCCESS, "mosquitto_tls_set(%s): %s", h->ca, mosquitto_strerror(rc));
	}
	/* TLS: connect by name so the certificate's SAN "localhost" is what gets verified. */
	int rc = mosquitto_connect(c->m, tls ? "localhost" : "127.0.0.1", tls ? h->mqtts : h->mqtt, 60);
	ck_assert_msg(rc == MOSQ_ERR_SUCCESS, "mosquitto_connect: %s", mosquitto_strerror(rc));
	pump(c, HX_WAIT_MS, cond_connack, 0);
	return c->connack_seen ? c->connack : -1;
}

struct hx_mq *hx_mq_device(const char *dev, const char *mod, const char *key, bool tls)
{
	struct hx_mq *c = hx_mq_new(hx_client_id(dev, mod));
	int code = hx_mq_connect(c, hx_username(dev, mod), hx_token(dev, mod, key), tls);
	ck_assert_msg(code == 0, "%s over %s: CONNACK %d, want 0", hx_client_id(dev, mod),
		      tls ? "TLS" : "TCP", code);
	return c;
}

int hx_mq_subscribe(struct hx_mq *c, const char *filter, int qos)
{
	int mid = 0;
	int rc = mosquitto_subscribe(c->m, &mid, filter, qos);
	if (rc != MOSQ_ERR_SUCCESS)
		return -1;
	if (!pump(c, HX_WAIT_MS, cond_subscribed, mid))
		return -1;
	return c->sub_granted;
}

bool hx_mq_unsubscribe(struct hx_mq *c, const char *filter)
{
	int mid = 0;
	if (mosquitto_unsubscribe(c->m, &mid, filter) != MOSQ_ERR_SUCCESS)
		return false;
	return pump(c, HX_WAIT_MS, cond_unsubscribed, mid);
}

bool hx_mq_publish(struct hx_mq *c, const char *topic, const void *payload, size_t len, int qos,
		   bool retain)
{
	int mid = 0;
	int rc = mosquitto_publish(c->m, &mid, topic, (int)len, payload, qos, retain);
	if (rc != MOSQ_ERR_SUCCESS)
		return false;
	return pump(c, HX_WAIT_MS, cond_published, mid);
}

const struct hx_msg *hx_mq_next(struct hx_mq *c, int timeout_ms)
{
	if (c->cur) {
		free(c->cur->topic);
		free(c->cur->payload);
		free(c->cur);
		c->cur = NULL;
	}
	/* Messages already queued are handed out even when the connection has gone since. */
	if (!c->head && !pump(c, timeout_ms, cond_message, 0))
		return NULL;
	struct msg_node *n = c->head;
	c->head = n->next;
	if (!c->head)
		c->tail = NULL;
	c->cur = n;
	c->view.topic = n->topic;
	c->view.payload = n->payload;
	c->view.len = n->len;
	c->view.qos = n->qos;
	c->view.retain = n->retain;
	return &c->view;
}

const struct hx_msg *hx_mq_expect(struct hx_mq *c, const char *topic)
{
	const struct hx_msg *m = hx_mq_next(c, HX_WAIT_MS);
	ck_assert_msg(m != NULL, "no message (expected one on %s)", topic);
	ck_assert_msg(strcmp(m->topic, topic) == 0, "message on [%s], expected [%s]", m->topic, topic);
	return m;
}

bool hx_mq_wait_closed(struct hx_mq *c, int timeout_ms)
{
	pump(c, timeout_ms, cond_never, 0);
	return c->lost;
}

void hx_mq_disconnect(struct hx_mq *c)
{
	ck_assert_int_eq(mosquitto_disconnect(c->m), MOSQ_ERR_SUCCESS);
	pump(c, HX_WAIT_MS, cond_never, 0);
	ck_assert_msg(c->lost, "the connection did not end after DISCONNECT");
}

bool hx_mq_connected(const struct hx_mq *c)
{
	return c->connected && !c->lost;
}

struct hx_mq *hx_healthy(void)
{
	if (!healthy_client)
		healthy_client = hx_mq_device(HX_DEV2, NULL, HX_DEV2_KEY, false);
	return healthy_client;
}

void hx_healthy_check(struct hx_mq *c, const char *after)
{
	int64_t before = hx_d2c_count(HX_DEV2, NULL);
	ck_assert_msg(hx_mq_publish(c, "devices/" HX_DEV2 "/messages/events/probe=1", after, strlen(after),
				    1, false),
		      "the healthy client got no PUBACK after: %s", after);
	ck_assert_msg(hx_d2c_count(HX_DEV2, NULL) == before + 1,
		      "the healthy client's message is not stored after: %s", after);
}

/* --- the service REST API --------------------------------------------------------------------- */

const char *hx_service_token(void)
{
	char *t = hx_keep(malloc(HX_TOKEN_MAX));
	hx_sas(t, HX_SAS_NODE, HX_HOST, HX_OWNER_KEY, "iothubowner", hx_wall_s() + 3600);
	return t;
}

/* OpenSSL's error queue as text (kept), for messages. */
static const char *ssl_errors(void)
{
	char *s = hx_keep(calloc(1, 512));
	unsigned long e;
	size_t o = 0;
	while ((e = ERR_get_error()) != 0 && o < 400) {
		ERR_error_string_n(e, s + o, 512 - o);
		o = strlen(s);
		if (o < 510)
			s[o++] = ' ';
	}
	return s;
}

struct hx_https *hx_https_send(const char *method, const char *path, const char *body,
			       const char *auth)
{
	return hx_https_send_with(method, path, body, auth, NULL);
}

struct hx_https *hx_https_send_with(const char *method, const char *path, const char *body,
				    const char *auth, const char *headers)
{
	struct hx_hub *h = hx_hub();
	struct hx_https *r = calloc(1, sizeof *r);
	ck_assert_msg(r != NULL, "out of memory");
	r->next = https_conns;
	https_conns = r;
	r->ctx = SSL_CTX_new(TLS_client_method());
	ck_assert_msg(r->ctx && SSL_CTX_load_verify_locations(r->ctx, h->ca, NULL) == 1,
		      "TLS client context with CA %s: %s", h->ca, ssl_errors());
	SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, NULL);
	r->fd = hx_raw_open(h->https);
	struct timeval tv = {10, 0};
	setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	r->ssl = SSL_new(r->ctx);
	ck_assert(r->ssl != NULL);
	SSL_set_fd(r->ssl, r->fd);
	SSL_set_tlsext_host_name(r->ssl, "localhost");
	SSL_set1_host(r->ssl, "localhost");
	ck_assert_msg(SSL_connect(r->ssl) == 1, "TLS handshake with the https port: %s", ssl_errors());

	size_t blen = body ? strlen(body) : 0;
	bool if_match = strcmp(method, "PATCH") == 0 || strcmp(method, "PUT") == 0;
	bool own_type = false;
	for (const char *q = headers; q && *q && !own_type; q++)
		own_type = strncasecmp(q, "content-type:", 13) == 0;
	const char *req = hx_fmt("%s %s?api-version=%s HTTP/1.1\r\nHost: localhost:%d\r\n"
				 "User-Agent: simhub-integration\r\n%s%s%s%s%s%s"
				 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
				 method, path, HX_API, h->https, auth ? "Authorization: " : "",
				 auth ? auth : "", auth ? "\r\n" : "",
				 if_match ? "If-Match: \"*\"\r\n" : "",
				 body && !own_type ? "Content-Type: application/json; charset=utf-8\r\n" : "",
				 headers ? headers : "", blen, body ? body : "");
	int n = (int)strlen(req);
	ck_assert_msg(SSL_write(r->ssl, req, n) == n, "HTTPS write: %s", ssl_errors());
	return r;
}

/* Case-insensitive search for `name:` at a line start of the header block. */
static const char *header_in(const char *headers, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = headers; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			p += nl + 1;
			while (*p == ' ')
				p++;
			const char *e = strpbrk(p, "\r\n");
			return keep_copy(p, e ? (size_t)(e - p) : strlen(p));
		}
	}
	return NULL;
}

const char *hx_http_header(const struct hx_http *r, const char *name)
{
	return header_in(r->headers, name);
}

void hx_https_wait(struct hx_https *r, struct hx_http *out, int timeout_ms)
{
	memset(out, 0, sizeof *out);
	int64_t deadline = hx_mono_ms() + timeout_ms;
	struct hx_buf b = {0};
	size_t head_end = 0, want = (size_t)-1;
	for (;;) {
		if (head_end && b.len >= want)
			break;
		ck_assert_msg(hx_mono_ms() < deadline, "no whole HTTP answer within %d ms (got %zu bytes)",
			      timeout_ms, b.len);
		char chunk[4096];
		int n = SSL_read(r->ssl, chunk, sizeof chunk);
		if (n <= 0) {
			int e = SSL_get_error(r->ssl, n);
			if (e == SSL_ERROR_WANT_READ || (e == SSL_ERROR_SYSCALL && errno == EAGAIN))
				continue;
			ck_assert_msg(head_end && want == (size_t)-1,
				      "HTTPS connection ended before the whole answer (%zu bytes)", b.len);
			break;
		}
		hx_put(&b, chunk, (size_t)n);
		if (!head_end) {
			hx_put_u8(&b, 0);
			b.len--;
			const char *e = strstr((const char *)b.p, "\r\n\r\n");
			if (e) {
				head_end = (size_t)(e - (const char *)b.p) + 4;
				const char *heads = keep_copy(b.p, head_end);
				const char *cl = header_in(heads, "Content-Length");
				if (cl)
					want = head_end + (size_t)strtoul(cl, NULL, 10);
			}
		}
	}
	const char *all = keep_copy(b.p, b.len);
	hx_buf_free(&b);
	ck_assert_msg(sscanf(all, "HTTP/1.%*d %d", &out->status) == 1, "not an HTTP answer: %s", all);
	out->headers = keep_copy(all, head_end);
	out->body = all + head_end;
	out->len = strlen(out->body);
}

void hx_https(const char *method, const char *path, const char *body, struct hx_http *out)
{
	struct hx_https *r = hx_https_send(method, path, body, hx_service_token());
	hx_https_wait(r, out, HX_WAIT_MS);
}

/* --- the database file ------------------------------------------------------------------------ */

static sqlite3 *db_open(void)
{
	sqlite3 *d = NULL;
	int rc = sqlite3_open_v2(hx_hub()->db, &d, SQLITE_OPEN_READONLY, NULL);
	ck_assert_msg(rc == SQLITE_OK, "open %s: %s", hx_hub()->db, d ? sqlite3_errmsg(d) : "no memory");
	sqlite3_busy_timeout(d, 5000);
	return d;
}

/* Run sql; on a row, hand the statement to fn. Returns whether there was a row. */
static bool db_query(const char *sql, void (*fn)(sqlite3_stmt *, void *), void *arg)
{
	sqlite3 *d = db_open();
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(d, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		const char *msg = hx_fmt("%s", sqlite3_errmsg(d));
		sqlite3_close(d);
		ck_abort_msg("SQL %s: %s", sql, msg);
	}
	rc = sqlite3_step(st);
	bool row = rc == SQLITE_ROW;
	if (!row && rc != SQLITE_DONE) {
		const char *msg = hx_fmt("%s", sqlite3_errmsg(d));
		sqlite3_finalize(st);
		sqlite3_close(d);
		ck_abort_msg("SQL %s: %s", sql, msg);
	}
	if (row)
		fn(st, arg);
	sqlite3_finalize(st);
	sqlite3_close(d);
	return row;
}

static void take_int(sqlite3_stmt *st, void *arg)
{
	*(int64_t *)arg = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
}

static void take_text(sqlite3_stmt *st, void *arg)
{
	const unsigned char *t = sqlite3_column_text(st, 0);
	*(const char **)arg = t ? keep_copy(t, (size_t)sqlite3_column_bytes(st, 0)) : NULL;
}

static char *vsql(const char *fmt, va_list ap)
{
	char *s = sqlite3_vmprintf(fmt, ap);
	ck_assert_msg(s != NULL, "out of memory");
	char *k = hx_fmt("%s", s);
	sqlite3_free(s);
	return k;
}

int64_t hx_db_int(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *sql = vsql(fmt, ap);
	va_end(ap);
	int64_t v = -1;
	db_query(sql, take_int, &v);
	return v;
}

const char *hx_db_text(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *sql = vsql(fmt, ap);
	va_end(ap);
	const char *v = NULL;
	db_query(sql, take_text, &v);
	return v;
}

bool hx_db_wait_int(int64_t want, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *sql = vsql(fmt, ap);
	va_end(ap);
	int64_t deadline = hx_mono_ms() + HX_WAIT_MS;
	for (;;) {
		int64_t v = -1;
		db_query(sql, take_int, &v);
		if (v == want)
			return true;
		if (hx_mono_ms() > deadline)
			return false;
		poll_pause();
	}
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? keep_copy(t, (size_t)sqlite3_column_bytes(st, i)) : NULL;
}

static void take_d2c(sqlite3_stmt *st, void *arg)
{
	struct hx_d2c *o = arg;
	o->seq = sqlite3_column_int64(st, 0);
	o->device_id = col_text(st, 1);
	o->module_id = col_text(st, 2);
	o->message_id = col_text(st, 3);
	o->content_type = col_text(st, 4);
	o->content_encoding = col_text(st, 5);
	const char *sys = col_text(st, 6), *app = col_text(st, 7);
	o->sys = sys ? hx_json(sys, strlen(sys)) : NULL;
	o->app = app ? hx_json(app, strlen(app)) : NULL;
	o->body_len = (size_t)sqlite3_column_bytes(st, 8);
	o->body = (const uint8_t *)keep_copy(sqlite3_column_blob(st, 8), o->body_len);
}

bool hx_d2c_last(const char *dev, const char *mod, struct hx_d2c *out)
{
	memset(out, 0, sizeof *out);
	char *sql = sqlite3_mprintf(
		"SELECT seq, device_id, module_id, message_id, content_type, content_encoding, "
		"system_properties, app_properties, body FROM d2c_messages "
		"WHERE device_id = %Q AND module_id = %Q ORDER BY seq DESC LIMIT 1",
		dev, mod ? mod : "");
	ck_assert(sql != NULL);
	char *k = hx_fmt("%s", sql);
	sqlite3_free(sql);
	return db_query(k, take_d2c, out);
}

int64_t hx_d2c_count(const char *dev, const char *mod)
{
	return hx_db_int("SELECT count(*) FROM d2c_messages WHERE device_id = %Q AND module_id = %Q",
			 dev, mod ? mod : "");
}
