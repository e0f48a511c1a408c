/*
 * lws_rest.c: the HTTPS side of the https listener: requests other than the WebSocket upgrade
 * go to rest/ (IoT Hub's REST API). This file only collects the request (method, decoded path,
 * the headers rest/ reads, api-version, body) and writes the answer: headers in one WRITEABLE,
 * body in the next with LWS_WRITE_HTTP_FINAL (lws-4.1-notes.md). A method invocation keeps the
 * request open until the device answers; the loop keeps serving meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <strings.h>

#include "io/io_internal.h"
#include "rest/rest.h"

#define WS_PATH "/$iothub/websocket"
#define HTTP_BODY_MAX (1024u * 1024u)

enum { PHASE_READ = 0, PHASE_WAIT, PHASE_HEADERS, PHASE_BODY };

static void http_reset(struct http_conn *h)
{
	free(h->body);
	free(h->resp_body);
	struct io_loop *l = h->loop;
	memset(h, 0, sizeof *h);
	h->loop = l;
}

/* Take the answer and ask for WRITEABLE. */
static void http_answer(struct lws *wsi, struct http_conn *h, struct rest_response *r)
{
	h->resp_status = r->status;
	snprintf(h->resp_etag, sizeof h->resp_etag, "%s", r->etag);
	snprintf(h->resp_error, sizeof h->resp_error, "%s", r->error_name);
	h->resp_body = r->body;
	h->resp_len = r->body ? strlen(r->body) : 0;
	r->body = NULL;
	h->phase = PHASE_HEADERS;
	lws_callback_on_writable(wsi);
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

/* The whole request is in: hand it to rest/. */
static int http_dispatch(struct lws *wsi, struct http_conn *h)
{
	char auth[2048], ifm[128], ua[256], apiv[64];
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
	};
	struct rest_response resp;
	h->phase = PHASE_WAIT;
	io_loop_touch(h->loop);   /* the hub operation joins the loop's batch */
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

static int write_headers(struct lws *wsi, struct http_conn *h)
{
	unsigned char buf[LWS_PRE + 1024];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
	if (lws_add_http_common_headers(wsi, (unsigned int)h->resp_status,
					h->resp_len ? "application/json; charset=utf-8" : NULL,
					h->resp_len, &p, end))
		return -1;
	char quoted[80];
	if (h->resp_etag[0]) {
		int n = snprintf(quoted, sizeof quoted, "\"%s\"", h->resp_etag);
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)"ETag:",
						(const unsigned char *)quoted, n, &p, end))
			return -1;
	}
	if (h->resp_error[0] &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"iothub-errorcode:",
					(const unsigned char *)h->resp_error, (int)strlen(h->resp_error),
					&p, end))
		return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	h->phase = PHASE_BODY;
	lws_callback_on_writable(wsi);
	return 0;
}

static int write_body(struct lws *wsi, struct http_conn *h)
{
	if (h->resp_len) {
		unsigned char *buf = malloc(LWS_PRE + h->resp_len);
		if (!buf)
			return -1;
		memcpy(buf + LWS_PRE, h->resp_body, h->resp_len);
		int w = lws_write(wsi, buf + LWS_PRE, h->resp_len, LWS_WRITE_HTTP_FINAL);
		free(buf);
		if (w < 0)
			return -1;
	}
	http_reset(h);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
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
		if (h->body_chunked) {
			/* lws 4.1 does not decode chunked request bodies (notes): not served yet. */
			lws_return_http_status(wsi, HTTP_STATUS_LENGTH_REQUIRED, NULL);
			return -1;
		}
		if (h->body_expected > HTTP_BODY_MAX) {
			lws_return_http_status(wsi, HTTP_STATUS_REQ_ENTITY_TOO_LARGE, NULL);
			return -1;
		}
		/* lws sends BODY callbacks only when a body is announced, and for a POST with an
		 * explicit Content-Length: 0 (notes); otherwise the request is complete now. */
		if (h->body_expected > 0 || (h->method == REST_POST && has_cl))
			return 0;
		return http_dispatch(wsi, h);
	}
	case LWS_CALLBACK_HTTP_BODY:
		if (h->body_len + len > HTTP_BODY_MAX)
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
		memcpy(h->body + h->body_len, in, len);
		h->body_len += len;
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return http_dispatch(wsi, h);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!h)
			return 0;
		if (h->phase == PHASE_HEADERS)
			return write_headers(wsi, h);
		if (h->phase == PHASE_BODY)
			return write_body(wsi, h);
		return 0;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (h) {
			if (h->phase == PHASE_WAIT && h->loop)
				rest_cancel(h->loop->rest, wsi);
			http_reset(h);
		}
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}
