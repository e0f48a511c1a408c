/*
 * lws_rest.c: the HTTPS side of the https listener: requests other than the WebSocket upgrade
 * go to rest/ (IoT Hub's service and device REST APIs). This file only collects the request
 * (method, decoded path, the headers rest/ reads, api-version, body, chunked bodies decoded by
 * core/http_chunked) and writes the answer: headers in one WRITEABLE, body in the next with
 * LWS_WRITE_HTTP_FINAL (lws-4.1-notes.md). A method invocation keeps the request open until
 * the device answers; the loop keeps serving meanwhile. Two answers are io's own: the live
 * event stream (GET /simhub/v1/events, once rest/ has authorised it: each watcher listens on
 * the hub's event bus and has a bounded queue written from WRITEABLE) and GET /metrics
 * (Prometheus text, no auth). It never blocks on a slow client: it drops it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "hub/hub.h"
#include "hub/session.h"
#include "io/io_internal.h"
#include "rest/rest.h"

#ifndef SIMHUB_VERSION
#define SIMHUB_VERSION "0.1.0"
#endif

#define WS_PATH "/$iothub/websocket"
#define HTTP_BODY_MAX (1024u * 1024u)

enum { PHASE_READ = 0, PHASE_WAIT, PHASE_COMMIT, PHASE_HEADERS, PHASE_BODY, PHASE_STREAM };

#define SSE_CONTENT_TYPE "text/event-stream"
#define SSE_QUEUE_MAX (1024u * 1024u)        /* a watcher further behind is dropped */
#define SSE_WRITE_MAX 16384u                 /* bytes per WRITEABLE */
#define SSE_OVERFLOW_GRACE_S 5               /* time to write the overflow event, then close */

/* A live-stream watcher: its filter, its hub listener and the bytes it has yet to take. */
struct sse_stream {
	struct lws *wsi;
	struct io_loop *loop;
	int handle;                          /* hub_event_listen handle */
	struct hub_event_filter filter;
	char *buf;
	size_t len, off, cap;                /* pending bytes are buf[off..len) */
	bool overflowed;                     /* only the overflow event is left; then close */
	struct sse_stream *next;             /* loop->watchers */
};

/*
 * lws 4.1's per-request header buffer ("ah data") size: max_http_header_data, which io/loop.c
 * leaves at lws's default. list_app_headers reads no further than this; keep the two equal.
 */
#define LWS_AH_DATA_SIZE 4096u
/* list_app_headers knows lws 4.1's header buffer layout: look again before building on another. */
#if LWS_LIBRARY_VERSION_MAJOR != 4 || LWS_LIBRARY_VERSION_MINOR != 1
#error "io/lws_rest.c list_app_headers relies on libwebsockets 4.1's header storage: re-verify it"
#endif
#define APP_HEADERS_MAX 64                   /* iothub-app-* headers listed per request */
#define APP_NAME_MAX 200                     /* longest iothub-app-* header name listed */

static void http_reset(struct http_conn *h)
{
	free(h->body);
	rest_response_free(&h->resp);
	struct io_loop *l = h->loop;
	memset(h, 0, sizeof *h);
	h->loop = l;
}

static size_t resp_body_len(const struct rest_response *r)
{
	if (!r->body)
		return 0;
	return r->body_len ? r->body_len : strlen(r->body);
}

/* --- the live event stream ------------------------------------------------------------------ */

/* Append n bytes to a watcher's queue, or drop its backlog for the overflow event. */
static void sse_append(struct sse_stream *s, const char *data, size_t n)
{
	static const char overflow[] = "event: overflow\ndata: {\"reason\":\"the client reads too "
				       "slowly; reconnect\"}\n\n";
	if (s->overflowed)
		return;
	if (s->len - s->off + n > SSE_QUEUE_MAX) {
		s->overflowed = true;
		s->loop->metrics.stream_overflows++;
		s->off = s->len = 0;
		data = overflow;
		n = sizeof overflow - 1;
		/* A client that reads nothing never takes even this: close it after a grace time. */
		lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, SSE_OVERFLOW_GRACE_S);
	}
	if (s->off && s->len + n > s->cap) {
		memmove(s->buf, s->buf + s->off, s->len - s->off);
		s->len -= s->off;
		s->off = 0;
	}
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n)
			cap *= 2;
		char *nb = realloc(s->buf, cap);
		if (!nb)
			return;   /* out of memory: this event is lost for this watcher */
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	struct http_conn *h = lws_wsi_user(s->wsi);
	if (h && h->phase == PHASE_STREAM)
		lws_callback_on_writable(s->wsi);
}

/* hub_event_fn of a watcher: one SSE event (id, event, one data line of compact JSON). */
static void sse_on_event(void *ctx, const struct hub_event *ev)
{
	struct sse_stream *s = ctx;
	if (s->overflowed || !hub_event_filter_match(&s->filter, ev))
		return;
	cJSON *j = hub_event_to_json(ev);
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	if (!text)
		return;
	size_t tlen = strlen(text);
	char head[96];
	int hn = snprintf(head, sizeof head, "id: %llu\nevent: %s\ndata: ",
			  (unsigned long long)ev->id, hub_event_kind_str(ev->kind));
	char *msg = malloc((size_t)hn + tlen + 2);
	if (msg) {
		memcpy(msg, head, (size_t)hn);
		memcpy(msg + hn, text, tlen);
		memcpy(msg + (size_t)hn + tlen, "\n\n", 2);
		sse_append(s, msg, (size_t)hn + tlen + 2);
		free(msg);
	}
	cJSON_free(text);
}

void io_streams_keepalive(struct io_loop *l)
{
	static const char ka[] = ": keepalive\n\n";
	for (struct sse_stream *s = l->watchers; s; s = s->next)
		sse_append(s, ka, sizeof ka - 1);
}

/* An argument of the request (lws decodes it; lws_rest_query's joining does not apply). */
static const char *urlarg(struct lws *wsi, const char *name_eq, char *buf, int cap)
{
	return lws_get_urlarg_by_name(wsi, name_eq, buf, cap);
}

/*
 * Turn this request into a live stream: rest/ has checked the token and the filters (and
 * answered 200 text/event-stream). Read the filters again from lws's own argument table, where
 * a comma inside types= is not an argument separator, and listen on the hub's bus. False when
 * the filters do not parse here or memory runs out: the connection is then closed.
 */
static bool sse_start(struct lws *wsi, struct http_conn *h)
{
	char types[256], dev[SH_ID_MAX + 2], mod[SH_ID_MAX + 2];
	const char *t = urlarg(wsi, "types=", types, sizeof types);
	const char *d = urlarg(wsi, "deviceId=", dev, sizeof dev);
	const char *m = urlarg(wsi, "moduleId=", mod, sizeof mod);
	struct sse_stream *s = calloc(1, sizeof *s);
	struct iothub_err err;
	if (!s)
		return false;
	s->wsi = wsi;
	s->loop = h->loop;
	if (hub_event_filter_init(&s->filter, t, d, m, &err) != SH_OK ||
	    hub_event_listen(h->loop->hub, sse_on_event, s, &s->handle) != SH_OK) {
		free(s);
		return false;
	}
	s->next = h->loop->watchers;
	h->loop->watchers = s;
	h->loop->n_watchers++;
	h->sse = s;
	static const char hello[] = ": simhub live events\n\n";
	sse_append(s, hello, sizeof hello - 1);
	lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
	return true;
}

/* The watcher's connection is gone: stop listening, unlink, free. */
static void sse_stop(struct http_conn *h)
{
	struct sse_stream *s = h->sse;
	if (!s)
		return;
	hub_event_unlisten(h->loop->hub, s->handle);
	for (struct sse_stream **pp = &h->loop->watchers; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			h->loop->n_watchers--;
			break;
		}
	}
	free(s->buf);
	free(s);
	h->sse = NULL;
}

/* One WRITEABLE of a stream: up to SSE_WRITE_MAX queued bytes. -1 closes (after overflow). */
static int sse_write(struct lws *wsi, struct sse_stream *s)
{
	size_t n = s->len - s->off;
	if (n == 0)
		return s->overflowed ? -1 : 0;
	if (n > SSE_WRITE_MAX)
		n = SSE_WRITE_MAX;
	unsigned char *buf = malloc(LWS_PRE + n);
	if (!buf)
		return -1;
	memcpy(buf + LWS_PRE, s->buf + s->off, n);
	int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_HTTP);
	free(buf);
	if (w < 0)
		return -1;
	s->off += n;
	if (s->off == s->len)
		s->off = s->len = 0;
	if (s->len > s->off || s->overflowed)
		lws_callback_on_writable(wsi);
	return 0;
}

/* --- metrics -------------------------------------------------------------------------------- */

/* The IoT Hub codes simhub_errors_total counts; the last slot counts any other. */
static const enum iothub_error counted_codes[IO_ERROR_CODES - 1] = {
	IOTHUB_ARGUMENT_INVALID, IOTHUB_ARGUMENT_NULL, IOTHUB_FORMAT_ERROR,
	IOTHUB_CONNECTION_CLOSED_ON_NEW_CONNECTION, IOTHUB_UNAUTHORIZED_ACCESS, IOTHUB_UNAUTHORIZED,
	IOTHUB_QUOTA_EXCEEDED, IOTHUB_DEVICE_MAX_QUEUE_DEPTH, IOTHUB_DEVICE_NOT_FOUND,
	IOTHUB_MODULE_NOT_FOUND, IOTHUB_DEVICE_NOT_ONLINE, IOTHUB_DEVICE_CONNECTION_CLOSED_REMOTELY,
	IOTHUB_DEVICE_ALREADY_EXISTS, IOTHUB_MODULE_ALREADY_EXISTS, IOTHUB_PRECONDITION_FAILED,
	IOTHUB_DEVICE_MESSAGE_LOCK_LOST, IOTHUB_MESSAGE_TOO_LARGE, IOTHUB_TOO_MANY_MODULES,
	IOTHUB_THROTTLED, IOTHUB_THROTTLE_BACKLOG, IOTHUB_SERVER_ERROR, IOTHUB_SERVICE_UNAVAILABLE,
	IOTHUB_GATEWAY_TIMEOUT,
};

/* Count an error answer by its iothub-errorcode name and HTTP status (names repeat). */
static void count_error(struct io_loop *l, const struct rest_response *r)
{
	if (!r->error_name[0])
		return;
	size_t i;
	for (i = 0; i < IO_ERROR_CODES - 1; i++)
		if ((int)counted_codes[i] / 1000 == r->status &&
		    strcmp(iothub_error_name(counted_codes[i]), r->error_name) == 0)
			break;
	l->metrics.errors[i]++;
}

/* A growing text buffer for the metrics page. */
struct text {
	char *p;
	size_t len, cap;
	bool nomem;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
	for (int tries = 0; tries < 2 && !t->nomem; tries++) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->nomem = true;
			return;
		}
		if (t->p && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap ? t->cap : 4096;
		while (cap <= t->len + (size_t)n)
			cap *= 2;
		char *np = realloc(t->p, cap);
		if (!np) {
			t->nomem = true;
			return;
		}
		t->p = np;
		t->cap = cap;
	}
}

/* One counter family from the hub's committed-event counters. */
static void metric_family(struct text *t, const struct hub_metrics *hm, enum hub_event_kind k,
			  const char *name, const char *label, const char *help)
{
	const char *const *labels = hub_metric_labels(k);
	text_add(t, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (int i = 0; labels[i] && i < HUB_METRIC_LABELS; i++)
		text_add(t, "%s{%s=\"%s\"} %llu\n", name, label, labels[i],
			 (unsigned long long)hm->committed[k][i]);
}

/*
 * GET /metrics: Prometheus text format 0.0.4. Connections are committed connects minus
 * disconnects; the event counters are the hub's (committed only); errors and the commit
 * histogram are the loop's.
 */
static void metrics_answer(struct io_loop *l, struct rest_response *r)
{
	const struct hub_metrics *hm = hub_metrics_get(l->hub);
	struct text t = {0};
	const uint64_t *conn = hm->committed[HUB_EV_CONNECTION];
	text_add(&t, "# HELP simhub_build_info simhub's version\n# TYPE simhub_build_info gauge\n"
		     "simhub_build_info{version=\"%s\"} 1\n", SIMHUB_VERSION);
	text_add(&t, "# HELP simhub_connections Device and module connections open now\n"
		     "# TYPE simhub_connections gauge\nsimhub_connections %lld\n",
		 (long long)(conn[0] - conn[1]));
	text_add(&t, "# HELP simhub_sessions Network sessions, connected or not yet\n"
		     "# TYPE simhub_sessions gauge\nsimhub_sessions %zu\n",
		 hub_sessions_count(l->reg));
	text_add(&t, "# HELP simhub_event_watchers Live event streams open now\n"
		     "# TYPE simhub_event_watchers gauge\nsimhub_event_watchers %zu\n", l->n_watchers);
	text_add(&t, "# HELP simhub_event_watchers_dropped_total Live streams dropped for reading "
		     "too slowly\n# TYPE simhub_event_watchers_dropped_total counter\n"
		     "simhub_event_watchers_dropped_total %llu\n",
		 (unsigned long long)l->metrics.stream_overflows);
	text_add(&t, "# HELP simhub_messages_received_total Device-to-cloud messages stored\n"
		     "# TYPE simhub_messages_received_total counter\n"
		     "simhub_messages_received_total %llu\n",
		 (unsigned long long)hm->committed[HUB_EV_TELEMETRY][0]);
	metric_family(&t, hm, HUB_EV_C2D, "simhub_c2d_messages_total", "outcome",
		      "Cloud-to-device queue events by outcome");
	metric_family(&t, hm, HUB_EV_TWIN, "simhub_twin_operations_total", "op",
		      "Twin writes by section");
	metric_family(&t, hm, HUB_EV_METHOD, "simhub_method_calls_total", "outcome",
		      "Direct-method calls by outcome");
	text_add(&t, "# HELP simhub_errors_total IoT Hub error answers of the REST API by code\n"
		     "# TYPE simhub_errors_total counter\n");
	for (size_t i = 0; i < IO_ERROR_CODES; i++) {
		if (!l->metrics.errors[i])
			continue;
		if (i < IO_ERROR_CODES - 1)
			text_add(&t, "simhub_errors_total{code=\"%d\",name=\"%s\"} %llu\n",
				 (int)counted_codes[i], iothub_error_name(counted_codes[i]),
				 (unsigned long long)l->metrics.errors[i]);
		else
			text_add(&t, "simhub_errors_total{code=\"other\",name=\"other\"} %llu\n",
				 (unsigned long long)l->metrics.errors[i]);
	}
	text_add(&t, "# HELP simhub_store_commit_seconds Group-commit latency\n"
		     "# TYPE simhub_store_commit_seconds histogram\n");
	uint64_t cum = 0;
	for (size_t i = 0; i < IO_COMMIT_BUCKETS; i++) {
		cum += l->metrics.commit_bucket[i];
		text_add(&t, "simhub_store_commit_seconds_bucket{le=\"%g\"} %llu\n",
			 (double)io_commit_bound_us(i) / 1e6, (unsigned long long)cum);
	}
	text_add(&t, "simhub_store_commit_seconds_bucket{le=\"+Inf\"} %llu\n"
		     "simhub_store_commit_seconds_sum %.6f\nsimhub_store_commit_seconds_count %llu\n",
		 (unsigned long long)l->metrics.commit_count, l->metrics.commit_sum_s,
		 (unsigned long long)l->metrics.commit_count);
	memset(r, 0, sizeof *r);
	if (t.nomem) {
		free(t.p);
		r->status = 500;
		return;
	}
	r->status = 200;
	r->body = t.p;
	r->body_len = t.len;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* After the loop's batch commits: the answer may go out now. */
static void http_committed(void *arg)
{
	struct lws *wsi = arg;
	struct http_conn *h = lws_wsi_user(wsi);
	if (h && h->phase == PHASE_COMMIT) {
		h->phase = PHASE_HEADERS;
		lws_callback_on_writable(wsi);
	}
}

/*
 * Take the answer (its body and headers move to h) and send it once the writes of this round
 * are committed: an acknowledged message is on disk (ARCHITECTURE.md "The path of a packet"),
 * for telemetry over HTTPS as for MQTT's PUBACK. The close callback cancels the wait.
 */
static void http_answer(struct lws *wsi, struct http_conn *h, struct rest_response *r)
{
	rest_response_free(&h->resp);
	h->resp = *r;
	h->resp.body_len = resp_body_len(r);
	r->body = NULL;
	r->body_len = 0;
	r->headers = NULL;
	r->n_headers = 0;
	h->phase = PHASE_COMMIT;
	count_error(h->loop, &h->resp);
	if (h->resp.status == 200 && h->resp.content_type &&
	    strcmp(h->resp.content_type, SSE_CONTENT_TYPE) == 0 && !h->sse && !sse_start(wsi, h)) {
		rest_response_free(&h->resp);
		h->resp.status = 500;
		h->resp.content_type = NULL;
	}
	if (hub_after_commit(h->loop->hub, http_committed, wsi) != SH_OK)
		http_committed(wsi);   /* out of memory: answer without waiting */
}

/* rest_done_fn: a late answer (method invocation) for the request on `conn` (its wsi). */
static void http_done(void *conn, struct rest_response *r)
{
	struct lws *wsi = conn;
	struct http_conn *h = lws_wsi_user(wsi);
	if (h && h->phase == PHASE_WAIT)
		http_answer(wsi, h, r);
}

static char *hdr(struct lws *wsi, enum lws_token_indexes tok, char *buf, int cap)
{
	if (lws_hdr_total_length(wsi, tok) <= 0 || lws_hdr_copy(wsi, buf, cap, tok) <= 0)
		return NULL;
	return buf;
}

/*
 * rest_request.header for lws: standard headers through lws's token table, any other through
 * lws_hdr_custom_copy (which wants the name with its colon, lower case as received).
 */
static const char *header_lookup(void *hctx, const char *name, char *buf, size_t cap)
{
	struct lws *wsi = hctx;
	static const struct {
		const char *name;
		enum lws_token_indexes tok;
	} known[] = {
		{"authorization", WSI_TOKEN_HTTP_AUTHORIZATION},
		{"content-type", WSI_TOKEN_HTTP_CONTENT_TYPE},
		{"content-length", WSI_TOKEN_HTTP_CONTENT_LENGTH},
		{"content-encoding", WSI_TOKEN_HTTP_CONTENT_ENCODING},
		{"if-match", WSI_TOKEN_HTTP_IF_MATCH},
		{"user-agent", WSI_TOKEN_HTTP_USER_AGENT},
		{"transfer-encoding", WSI_TOKEN_HTTP_TRANSFER_ENCODING},
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strcasecmp(name, known[i].name) == 0)
			return hdr(wsi, known[i].tok, buf, (int)cap);
	char key[128];
	size_t n = strlen(name);
	if (n + 2 > sizeof key || cap > (size_t)INT32_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++)
		key[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
	key[n] = ':';
	key[n + 1] = '\0';
	if (lws_hdr_custom_length(wsi, key, (int)(n + 1)) < 0 ||
	    lws_hdr_custom_copy(wsi, buf, (int)cap, key, (int)(n + 1)) < 0)
		return NULL;
	return buf;
}

static bool token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * List the names of the request's iothub-app-* headers into `names` (cap bytes; each name
 * NUL-terminated, lower case, without its colon) and `out` (at most `max` pointers into
 * names). Returns how many.
 *
 * Why this is not one lws call: lws 4.1.6 keeps headers it does not know ("custom headers")
 * in its per-request header buffer and can look one up by exact name (lws_hdr_custom_copy),
 * but cannot list them (lws_hdr_custom_name_foreach only arrived in lws 4.3). Application
 * properties have free names, so we find the candidates ourselves and let lws confirm each.
 * What this relies on, as read in lws v4.1.6 lib/roles/http/parsers.c and server.c:
 *  - lws_http_get_uri_and_method hands back a pointer into that buffer, and the request URI
 *    is the first thing stored in it (offset 0: the method's speculative name bytes are
 *    rewound before the URI is written), for every request of a keep-alive connection;
 *  - the buffer is max_http_header_data bytes long (LWS_AH_DATA_SIZE above);
 *  - a custom header's name is stored in one piece, lower-cased, followed by its colon.
 * Every candidate is confirmed with lws_hdr_custom_length, so bytes left in a reused buffer by
 * an earlier request, or a header value that happens to contain "iothub-app-x:", cannot invent
 * a header: should a later lws store things differently, app headers would be missed, not
 * misread. The ASan build runs tests/integration/test_https_device.sh, which makes this read
 * the whole window.
 */
static size_t list_app_headers(struct lws *wsi, char *names, size_t cap, const char **out,
			       size_t max)
{
	static const char pfx[] = "iothub-app-";
	const size_t plen = sizeof pfx - 1;
	char *uri = NULL;
	int ulen = 0;
	if (lws_http_get_uri_and_method(wsi, &uri, &ulen) < 0 || !uri)
		return 0;
	const char *end = uri + LWS_AH_DATA_SIZE;
	size_t n = 0, used = 0;
	for (const char *p = uri; n < max && (size_t)(end - p) > plen; p++) {
		if (*p != 'i' || memcmp(p, pfx, plen) != 0)
			continue;
		const char *q = p + plen;
		while (q < end && q - p <= APP_NAME_MAX && token_char(*q))
			q++;
		if (q == p + plen || q >= end || *q != ':')
			continue;
		char key[APP_NAME_MAX + 2];
		size_t klen = (size_t)(q - p) + 1;            /* with the colon */
		if (klen > APP_NAME_MAX + 1)
			continue;
		memcpy(key, p, klen);
		key[klen] = '\0';
		if (lws_hdr_custom_length(wsi, key, (int)klen) < 0 || used + klen > cap)
			continue;
		key[klen - 1] = '\0';
		bool seen = false;
		for (size_t i = 0; i < n && !seen; i++)
			seen = strcmp(out[i], key) == 0;
		if (seen)
			continue;
		memcpy(names + used, key, klen);
		out[n++] = names + used;
		used += klen;
	}
	return n;
}

/* The whole request is in: hand it to rest/. */
static int http_dispatch(struct lws *wsi, struct http_conn *h)
{
	char auth[2048], ifm[128], ua[256], apiv[64];
	char app_names[LWS_AH_DATA_SIZE];
	const char *app[APP_HEADERS_MAX];
	size_t n_app = list_app_headers(wsi, app_names, sizeof app_names, app, APP_HEADERS_MAX);
	struct rest_request req = {
		.method = (enum rest_method)h->method,
		.path = h->path,
		.api_version = lws_get_urlarg_by_name(wsi, "api-version=", apiv, sizeof apiv),
		.authorization = hdr(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, auth, sizeof auth),
		.if_match = hdr(wsi, WSI_TOKEN_HTTP_IF_MATCH, ifm, sizeof ifm),
		.user_agent = hdr(wsi, WSI_TOKEN_HTTP_USER_AGENT, ua, sizeof ua),
		.body = h->body,
		.body_len = h->body_len,
		.header = header_lookup,
		.hctx = wsi,
		.query = h->query,
		.app_headers = n_app ? app : NULL,
		.n_app_headers = n_app,
	};
	/* A TLS client certificate authenticates X.509 devices that send no Authorization header
	 * (iothub-protocol.md §1.4); with a header the certificate is not needed, so not read. */
	struct hub_client_cert cert;
	if (!req.authorization && io_peer_cert(h->loop->hub, wsi, &cert))
		req.client_cert = &cert;
	struct rest_response resp;
	h->phase = PHASE_WAIT;
	io_loop_touch(h->loop);   /* the hub operation joins the loop's batch */
	if (h->method == REST_GET && strcmp(h->path, "/metrics") == 0) {
		metrics_answer(h->loop, &resp);   /* no auth, as Prometheus scrapes (docs/api.md) */
		http_answer(wsi, h, &resp);
		rest_response_free(&resp);
		return 0;
	}
	if (rest_handle(h->loop->rest, &req, &resp, http_done, wsi)) {
		http_answer(wsi, h, &resp);
		rest_response_free(&resp);
	} else {
		/* Waiting for a device: a slow answer must not be cut by lws's timeouts. */
		lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
	}
	return 0;
}

static int method_of(struct lws *wsi, char *path, size_t cap)
{
	static const struct {
		enum lws_token_indexes tok;
		enum rest_method m;
	} m[] = {
		{WSI_TOKEN_GET_URI, REST_GET}, {WSI_TOKEN_POST_URI, REST_POST},
		{WSI_TOKEN_PUT_URI, REST_PUT}, {WSI_TOKEN_PATCH_URI, REST_PATCH},
		{WSI_TOKEN_DELETE_URI, REST_DELETE},
	};
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		if (lws_hdr_total_length(wsi, m[i].tok) > 0) {
			if (lws_hdr_copy(wsi, path, (int)cap, m[i].tok) < 0)
				return -1;
			return (int)m[i].m;
		}
	}
	return REST_OTHER;
}

static int write_body(struct lws *wsi, struct http_conn *h);

/* One header `name: value` (name without its colon) into the header block. */
static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
		      unsigned char *end)
{
	char key[256];
	int n = snprintf(key, sizeof key, "%s:", name);
	if (n < 0 || (size_t)n >= sizeof key)
		return -1;
	return lws_add_http_header_by_name(wsi, (const unsigned char *)key,
					   (const unsigned char *)value, (int)strlen(value), p, end);
}

static int write_headers(struct lws *wsi, struct http_conn *h)
{
	const struct rest_response *r = &h->resp;
	size_t cap = LWS_PRE + 1024;
	for (size_t i = 0; i < r->n_headers; i++)
		cap += strlen(r->headers[i].name) + strlen(r->headers[i].value) + 8;
	unsigned char *buf = malloc(cap);
	if (!buf)
		return -1;
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + cap - 1;
	const char *ctype = r->content_type ? r->content_type : "application/json; charset=utf-8";
	char quoted[80];
	int rc = -1;
	/* A stream has no length: lws adds Connection: close and the body runs until the end. */
	if (lws_add_http_common_headers(wsi, (unsigned int)r->status,
					h->sse ? SSE_CONTENT_TYPE : r->body_len ? ctype : NULL,
					h->sse ? LWS_ILLEGAL_HTTP_CONTENT_LEN : r->body_len, &p, end))
		goto done;
	if (r->etag[0]) {
		snprintf(quoted, sizeof quoted, "\"%s\"", r->etag);
		if (add_header(wsi, "ETag", quoted, &p, end))
			goto done;
	}
	if (r->error_name[0] && add_header(wsi, "iothub-errorcode", r->error_name, &p, end))
		goto done;
	if (h->close_after && add_header(wsi, "connection", "close", &p, end))
		goto done;
	for (size_t i = 0; i < r->n_headers; i++)
		if (add_header(wsi, r->headers[i].name, r->headers[i].value, &p, end))
			goto done;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		goto done;
	if (h->sse) {
		h->phase = PHASE_STREAM;
		lws_callback_on_writable(wsi);
		rc = 0;
		goto done;
	}
	h->phase = PHASE_BODY;
	if (r->body_len) {
		lws_callback_on_writable(wsi);
		rc = 0;
	} else {
		/* No body (204, 401 without one...): the client has the whole answer already and
		 * may send its next request at once; end the transaction now, not a WRITEABLE later. */
		rc = write_body(wsi, h);
	}
done:
	free(buf);
	return rc;
}

/*
 * The last WRITEABLE of an answer. Keep-alive goes on through lws_http_transaction_completed,
 * except after a chunked request: lws 4.1 took that body for one of unknown, huge length and
 * would discard the rest of it, the next request included, before serving again; so that
 * connection is closed (its answer said Connection: close, and clients open a new one).
 */
static int write_body(struct lws *wsi, struct http_conn *h)
{
	size_t len = h->resp.body_len;
	bool close_after = h->close_after;
	if (len) {
		unsigned char *buf = malloc(LWS_PRE + len);
		if (!buf)
			return -1;
		memcpy(buf + LWS_PRE, h->resp.body, len);
		int w = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
		free(buf);
		if (w < 0)
			return -1;
	}
	http_reset(h);
	if (close_after)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* Append body bytes; -1 when over HTTP_BODY_MAX or out of memory. */
static int body_append(struct http_conn *h, const void *data, size_t len)
{
	if (len == 0)
		return 0;   /* lws calls with no bytes for an explicit Content-Length: 0 */
	if (len > HTTP_BODY_MAX - h->body_len)
		return -1;
	if (h->body_len + len > h->body_cap) {
		size_t cap = h->body_cap ? h->body_cap * 2 : 4096;
		while (cap < h->body_len + len)
			cap *= 2;
		char *nb = realloc(h->body, cap);
		if (!nb)
			return -1;
		h->body = nb;
		h->body_cap = cap;
	}
	memcpy(h->body + h->body_len, data, len);
	h->body_len += len;
	return 0;
}

/*
 * A piece of a chunked body, still framed: lws 4.1 passes chunked request bodies through
 * undecoded, as if their length were unknown and huge, and never sends BODY_COMPLETION for
 * them (lws-4.1-notes.md). Decode the framing and dispatch when the last chunk is in. Bytes
 * after the end of the body are not ours (clients wait for the answer before sending more).
 * Bad framing gets 400 and a closed connection, too much data 413, as lws does for its own.
 */
static int chunked_body(struct lws *wsi, struct http_conn *h, const uint8_t *in, size_t len)
{
	if (h->phase != PHASE_READ)
		return 0;
	size_t off = 0;
	while (off < len) {
		size_t used = 0;
		struct sh_span data;
		sh_rc rc = http_chunked_feed(&h->chunked, in + off, len - off, &used, &data);
		if (data.len && body_append(h, data.ptr, data.len) < 0)
			rc = SH_E_TOOLARGE;
		off += used;
		if (rc == SH_OK)
			return http_dispatch(wsi, h);
		if (rc != SH_NEED_MORE) {
			lws_return_http_status(wsi, rc == SH_E_TOOLARGE ? HTTP_STATUS_REQ_ENTITY_TOO_LARGE
								    : HTTP_STATUS_BAD_REQUEST, NULL);
			return -1;
		}
	}
	return 0;
}

/* Is this upgrade for /$iothub/websocket (a query string is allowed, e.g. ?iothub-no-client-cert=true)? */
static int upgrade_path_ok(struct lws *wsi)
{
	char uri[256];
	if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0)
		return 0;
	char *q = strchr(uri, '?');
	if (q)
		*q = '\0';
	return strcmp(uri, WS_PATH) == 0;
}

int io_callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		     size_t len)
{
	struct http_conn *h = user;
	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		if (!in || strcasecmp((const char *)in, "websocket") != 0 || !upgrade_path_ok(wsi)) {
			lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
			return 1;
		}
		return 0;
	case LWS_CALLBACK_HTTP: {
		if (!h)
			return -1;
		struct io_loop *l = io_loop_of(wsi);
		http_reset(h);
		h->loop = l;
		h->method = method_of(wsi, h->path, sizeof h->path);
		if (h->method < 0)
			return -1;
		if (lws_hdr_copy(wsi, h->query, sizeof h->query, WSI_TOKEN_HTTP_URI_ARGS) < 0)
			h->query[0] = '\0';
		char cl[32], te[32];
		bool has_cl = hdr(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, cl, sizeof cl) != NULL;
		h->body_expected = has_cl ? strtoul(cl, NULL, 10) : 0;
		h->body_chunked = hdr(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING, te, sizeof te) &&
				  strcasecmp(te, "chunked") == 0;
		if (h->body_chunked && has_cl) {
			/* Both framings: which one ends the body is how requests get smuggled. */
			lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST, NULL);
			return -1;
		}
		if (h->body_chunked) {
			http_chunked_init(&h->chunked, HTTP_BODY_MAX);
			h->close_after = true;
			return 0;
		}
		if (h->body_expected > HTTP_BODY_MAX) {
			/* IoT Hub's error shape, unread body and all; the connection closes after. */
			char ua[256];
			struct rest_response resp;
			rest_body_too_large(&resp, hdr(wsi, WSI_TOKEN_HTTP_USER_AGENT, ua, sizeof ua),
					    HTTP_BODY_MAX);
			h->close_after = true;
			h->phase = PHASE_WAIT;
			http_answer(wsi, h, &resp);
			rest_response_free(&resp);
			return 0;
		}
		/* lws sends BODY callbacks only when a body is announced, and for a POST with an
		 * explicit Content-Length: 0 (notes); otherwise the request is complete now. */
		if (h->body_expected > 0 || (h->method == REST_POST && has_cl))
			return 0;
		return http_dispatch(wsi, h);
	}
	/*
	 * Once a request is dispatched, lws 4.1 may call BODY_COMPLETION again for it: its h1
	 * reader goes straight to completion whenever it runs with the announced body all read,
	 * e.g. when the client's next bytes arrive while the answer still waits (for the commit,
	 * or for a device). One request, one dispatch: later calls are ignored.
	 */
	case LWS_CALLBACK_HTTP_BODY:
		if (!h)
			return -1;
		if (h->body_chunked)
			return chunked_body(wsi, h, in, len);
		if (h->phase != PHASE_READ)
			return 0;
		return body_append(h, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (!h)
			return -1;
		if (h->phase != PHASE_READ)
			return 0;                /* already dispatched (chunked: at the last chunk) */
		if (h->body_chunked) {
			lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST, NULL);
			return -1;               /* the body ended before its last chunk */
		}
		return http_dispatch(wsi, h);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!h)
			return 0;
		if (h->phase == PHASE_HEADERS)
			return write_headers(wsi, h);
		if (h->phase == PHASE_BODY)
			return write_body(wsi, h);
		if (h->phase == PHASE_STREAM && h->sse)
			return sse_write(wsi, h->sse);
		return 0;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (h) {
			if (h->phase == PHASE_WAIT && h->loop)
				rest_cancel(h->loop->rest, wsi);
			if (h->loop)
				hub_after_commit_cancel(h->loop->hub, wsi);
			if (h->sse)
				sse_stop(h);
			http_reset(h);
		}
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}
