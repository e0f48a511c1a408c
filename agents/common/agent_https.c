/*
 * agent_https.c: room agent_https (see agent_https.h): a throw-away lws client context per
 * request, serviced until the answer is complete. It never keeps connections and never runs
 * in the background: when agent_https_request returns, the context is gone.
 */
#include "agent_https.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#include "agent_mqtt.h"

#define BODY_MAX (1u << 20)

struct call {
	const struct agent_https_req *req;
	struct agent_https_res *res;
	size_t cap;
	bool done, failed, nomem, body_sent;
	char err[160];
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void append(struct call *c, const void *p, size_t n)
{
	struct agent_https_res *r = c->res;
	if (r->len + n > BODY_MAX) {
		n = BODY_MAX - r->len;
	}
	if (r->len + n + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 1024;
		while (cap < r->len + n + 1)
			cap *= 2;
		char *nb = realloc(r->body, cap);
		if (!nb) {
			c->nomem = true;
			return;
		}
		r->body = nb;
		c->cap = cap;
	}
	memcpy(r->body + r->len, p, n);
	r->len += n;
	r->body[r->len] = '\0';
}

/*
 * The lws client callback: add our headers, note the status, collect the body, stream the
 * request body when there is one, and mark the call done on completion or any error.
 */
static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct call *c = user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (c) {
			snprintf(c->err, sizeof c->err, "%s", in ? (const char *)in : "connection error");
			c->failed = true;
			c->done = true;
		}
		return 0;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		unsigned char **p = (unsigned char **)in, *end = (*p) + len;
		const struct agent_https_req *r = c->req;
		if (r->authorization &&
		    lws_add_http_header_by_name(wsi, (const unsigned char *)"authorization:",
						(const unsigned char *)r->authorization,
						(int)strlen(r->authorization), p, end))
			return -1;
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)"accept:",
						(const unsigned char *)"application/json", 16, p, end))
			return -1;
		if (r->body) {
			char cl[32];
			snprintf(cl, sizeof cl, "%zu", strlen(r->body));
			if (lws_add_http_header_by_name(wsi, (const unsigned char *)"content-type:",
							(const unsigned char *)"application/json", 16, p, end) ||
			    lws_add_http_header_by_name(wsi, (const unsigned char *)"content-length:",
							(const unsigned char *)cl, (int)strlen(cl), p, end))
				return -1;
			lws_client_http_body_pending(wsi, 1);
			lws_callback_on_writable(wsi);
		}
		return 0;
	}
	case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE: {
		if (!c->req->body || c->body_sent)
			return 0;
		size_t n = strlen(c->req->body);
		unsigned char *buf = malloc(LWS_PRE + n + 1);
		if (!buf)
			return -1;
		memcpy(buf + LWS_PRE, c->req->body, n);
		c->body_sent = true;
		lws_client_http_body_pending(wsi, 0);
		int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_HTTP_FINAL);
		free(buf);
		return w < (int)n ? -1 : 0;
	}
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		c->res->status = (int)lws_http_client_http_response(wsi);
		return 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		append(c, in, len);
		return 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
		char buf[LWS_PRE + 4096];
		char *px = buf + LWS_PRE;
		int lenx = (int)sizeof buf - LWS_PRE;
		if (lws_http_client_read(wsi, &px, &lenx) < 0)
			return -1;
		return 0;
	}
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		c->done = true;
		return 0;
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		if (c && !c->done) {
			if (!c->res->status) {
				snprintf(c->err, sizeof c->err, "the server closed the connection");
				c->failed = true;
			}
			c->done = true;
		}
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

sh_rc agent_https_request(const struct agent_https_req *req, struct agent_https_res *res)
{
	memset(res, 0, sizeof *res);
	struct call c;
	memset(&c, 0, sizeof c);
	c.req = req;
	c.res = res;
	lws_set_log_level(LLL_ERR, NULL);
	static const struct lws_protocols protocols[] = {
		{"agent-https", cb, 0, 0, 0, NULL, 0},
		{NULL, NULL, 0, 0, 0, NULL, 0},
	};
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.client_ssl_ca_filepath = req->ca_file;
	struct lws_context *ctx = lws_create_context(&info);
	if (!ctx) {
		agent_log("https: cannot create the lws client context");
		return SH_E_IO;
	}
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof ci);
	ci.context = ctx;
	ci.address = req->host;
	ci.port = req->port > 0 ? req->port : 443;
	ci.ssl_connection = LCCSCF_HTTP_NO_FOLLOW_REDIRECT;
	if (!req->insecure_plain)
		ci.ssl_connection |= LCCSCF_USE_SSL |
				     (req->skip_name_check ? LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK : 0);
	ci.path = req->path;
	ci.host = req->host;
	ci.origin = req->host;
	ci.method = req->method;
	ci.protocol = protocols[0].name;
	ci.alpn = "http/1.1";
	ci.userdata = &c;
	if (!lws_client_connect_via_info(&ci) && !c.done) {
		c.failed = true;
		snprintf(c.err, sizeof c.err, "cannot start the connection");
	}
	int64_t end = mono_ms() + (req->timeout_ms > 0 ? req->timeout_ms : 10000);
	while (!c.done && mono_ms() < end) {
		if (lws_service(ctx, 50) < 0)
			break;
	}
	bool timed_out = !c.done;
	lws_context_destroy(ctx);
	if (c.nomem) {
		free(res->body);
		memset(res, 0, sizeof *res);
		return SH_E_NOMEM;
	}
	if (timed_out || c.failed || !res->status) {
		agent_log("https %s %s:%d%s: %s", req->method, req->host, ci.port, req->path,
			  timed_out ? "timed out" : c.err[0] ? c.err : "no answer");
		free(res->body);
		memset(res, 0, sizeof *res);
		return timed_out ? SH_E_EXPIRED : SH_E_IO;
	}
	if (!res->body) {
		res->body = calloc(1, 1);
		if (!res->body)
			return SH_E_NOMEM;
	}
	return SH_OK;
}
