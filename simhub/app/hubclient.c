/*
 * hubclient.c: the CLI's HTTPS client of a running hub (libwebsockets client API, one context
 * per request, serviced until the answer is complete), IoT Hub error bodies as one line, and an
 * incremental text/event-stream parser for `simhub watch`. Never prints, never opens the store.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h>

#include "app/hubclient.h"
#include "core/connstr.h"
#include "core/iothub_error.h"
#include "core/sas.h"

#define API_VERSION "2021-04-12"
#define BODY_MAX (64u * 1024 * 1024)

struct hubclient {
	char *url;
	struct hubclient_url u;
	char *ca_file;
	char token[1024];
};

/* --- URL ------------------------------------------------------------------------------------------ */

sh_rc hubclient_url_parse(const char *url, struct hubclient_url *out)
{
	static const char scheme[] = "https://";
	if (!url || strncmp(url, scheme, sizeof scheme - 1) != 0)
		return SH_E_MALFORMED;
	const char *h = url + sizeof scheme - 1, *hend, *rest;
	if (*h == '[') {
		hend = strchr(h, ']');
		if (!hend || hend == h + 1)
			return SH_E_MALFORMED;
		h++;
		rest = hend + 1;
	} else {
		hend = h + strcspn(h, ":/?#@");
		rest = hend;
	}
	size_t hlen = (size_t)(hend - h);
	if (hlen == 0 || hlen >= sizeof out->host)
		return SH_E_MALFORMED;
	for (size_t i = 0; i < hlen; i++)
		if (!isalnum((unsigned char)h[i]) && !strchr(".-_:", h[i]))
			return SH_E_MALFORMED;
	long port = 443;
	if (*rest == ':') {
		char *end;
		if (!isdigit((unsigned char)rest[1]))
			return SH_E_MALFORMED;
		errno = 0;
		port = strtol(rest + 1, &end, 10);
		if (errno || port < 1 || port > 65535)
			return SH_E_MALFORMED;
		rest = end;
	}
	if (*rest == '/')
		rest++;
	if (*rest)
		return SH_E_MALFORMED;
	memcpy(out->host, h, hlen);
	out->host[hlen] = '\0';
	out->port = (int)port;
	return SH_OK;
}

/* --- client --------------------------------------------------------------------------------------- */

/* Copy a span into a NUL-terminated buffer; 0 when it fits. */
static int span_copy(const struct sas_span *s, char *out, size_t cap)
{
	if (!s->p || s->len >= cap)
		return -1;
	memcpy(out, s->p, s->len);
	out[s->len] = '\0';
	return 0;
}

sh_rc hubclient_new(const struct hubclient_config *cfg, struct hubclient **out, char *err,
		    size_t errcap)
{
	*out = NULL;
	struct hubclient_url u;
	if (hubclient_url_parse(cfg->url, &u) != SH_OK) {
		snprintf(err, errcap, "'%s' is not a hub URL (expected https://HOST:PORT)",
			 cfg->url ? cfg->url : "");
		return SH_E_MALFORMED;
	}
	struct connstr cs;
	const char *why = NULL;
	if (!cfg->service_cs ||
	    connstr_parse(cfg->service_cs, strlen(cfg->service_cs), &cs, &why) != SH_OK) {
		snprintf(err, errcap, "the service connection string is not valid: %s",
			 why ? why : "missing");
		return SH_E_MALFORMED;
	}
	char host[256], policy[256], key[256];
	if (span_copy(&cs.host_name, host, sizeof host) ||
	    span_copy(&cs.shared_access_key_name, policy, sizeof policy) ||
	    span_copy(&cs.shared_access_key, key, sizeof key)) {
		snprintf(err, errcap, "the service connection string needs HostName, "
				      "SharedAccessKeyName and SharedAccessKey (a policy string such as "
				      "'simhub cs --policy iothubowner' prints)");
		return SH_E_INVALID;
	}
	struct hubclient *hc = calloc(1, sizeof *hc);
	if (!hc)
		return SH_E_NOMEM;
	hc->u = u;
	hc->url = strdup(cfg->url);
	hc->ca_file = cfg->ca_file ? strdup(cfg->ca_file) : NULL;
	size_t tlen = 0;
	if (!hc->url || (cfg->ca_file && !hc->ca_file)) {
		hubclient_free(hc);
		return SH_E_NOMEM;
	}
	if (sas_build(host, key, policy, cfg->now_s + 3600, hc->token, sizeof hc->token, &tlen) !=
	    SH_OK) {
		hubclient_free(hc);
		snprintf(err, errcap, "cannot sign a SAS token with the service connection string "
				      "(is SharedAccessKey base64?)");
		return SH_E_INVALID;
	}
	*out = hc;
	return SH_OK;
}

void hubclient_free(struct hubclient *hc)
{
	if (!hc)
		return;
	free(hc->url);
	free(hc->ca_file);
	free(hc);
}

const char *hubclient_base_url(const struct hubclient *hc)
{
	return hc->url;
}

void hubclient_response_free(struct hubclient_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}

/* --- one request on lws --------------------------------------------------------------------------- */

/* The state of one exchange, hung off the client wsi as its user data. */
struct exchange {
	struct hubclient *hc;
	const char *content_type, *body;
	size_t len, sent;
	const struct hubclient_header *headers;
	struct hubclient_response *resp;
	size_t cap;
	int done, established, completed, failed_tls, conn_error, too_big;
	char errmsg[256];
	/* stream mode */
	struct sse_parser *sse;
	sse_event_fn fn;
	void *arg;
	int fn_rc;
};

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
		      unsigned char *end)
{
	char lname[128];
	size_t n = strlen(name);
	if (n + 2 > sizeof lname)
		return -1;
	for (size_t i = 0; i < n; i++)
		lname[i] = (char)tolower((unsigned char)name[i]);
	lname[n] = ':';
	lname[n + 1] = '\0';
	return lws_add_http_header_by_name(wsi, (const unsigned char *)lname,
					   (const unsigned char *)value, (int)strlen(value), p, end);
}

static void copy_custom(struct lws *wsi, const char *name, char *out, size_t cap)
{
	out[0] = '\0';
	int n = lws_hdr_custom_length(wsi, name, (int)strlen(name));
	if (n <= 0 || (size_t)n >= cap)
		return;
	if (lws_hdr_custom_copy(wsi, out, (int)cap, name, (int)strlen(name)) < 0)
		out[0] = '\0';
}

/* Append received bytes to the response body (the stream mode feeds the SSE parser instead). */
static int take_bytes(struct exchange *ex, const char *in, size_t len)
{
	struct hubclient_response *r = ex->resp;
	if (ex->sse && r->status == 200) {
		int rc = sse_feed(ex->sse, in, len, ex->fn, ex->arg);
		if (rc) {
			ex->fn_rc = rc;
			ex->done = 1;
			return -1;
		}
		return 0;
	}
	if (r->body_len + len + 1 > BODY_MAX) {
		ex->too_big = 1;
		return -1;
	}
	if (r->body_len + len + 1 > ex->cap) {
		size_t ncap = ex->cap ? ex->cap : 4096;
		while (ncap < r->body_len + len + 1)
			ncap *= 2;
		char *nb = realloc(r->body, ncap);
		if (!nb)
			return -1;
		r->body = nb;
		ex->cap = ncap;
	}
	memcpy(r->body + r->body_len, in, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return 0;
}

/*
 * The one lws protocol callback of the client. Headers go out in APPEND_HANDSHAKE_HEADER (with
 * the body announced there and written from CLIENT_HTTP_WRITEABLE, one lws_write per turn);
 * the answer comes as ESTABLISHED (status, headers), RECEIVE (we must call
 * lws_http_client_read, which strips chunking and calls back with RECEIVE_..._READ) and
 * COMPLETED or CLOSED. CONNECTION_ERROR ends the exchange before any answer.
 */
static int client_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		     size_t len)
{
	struct exchange *ex = user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (!ex)
			break;
		snprintf(ex->errmsg, sizeof ex->errmsg, "%s", in ? (const char *)in : "connection failed");
		ex->conn_error = 1;
		ex->done = 1;
		break;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		unsigned char **p = (unsigned char **)in, *end = (*p) + len;
		if (add_header(wsi, "authorization", ex->hc->token, p, end) ||
		    add_header(wsi, "accept", ex->sse ? "text/event-stream" : "application/json", p, end) ||
		    add_header(wsi, "user-agent", "simhub-cli", p, end))
			return -1;
		for (const struct hubclient_header *h = ex->headers; h && h->name; h++)
			if (add_header(wsi, h->name, h->value, p, end))
				return -1;
		if (ex->body) {
			char clen[32];
			snprintf(clen, sizeof clen, "%zu", ex->len);
			if (add_header(wsi, "content-type",
				       ex->content_type ? ex->content_type : "application/json", p, end) ||
			    add_header(wsi, "content-length", clen, p, end))
				return -1;
			lws_client_http_body_pending(wsi, 1);
			lws_callback_on_writable(wsi);
		}
		break;
	}
	case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE: {
		if (!ex->body || ex->sent >= ex->len) {
			if (ex->body && ex->len == 0 && ex->sent == 0) {
				lws_client_http_body_pending(wsi, 0);
				ex->sent = 1;
			}
			break;
		}
		unsigned char buf[LWS_PRE + 16384];
		size_t n = ex->len - ex->sent;
		if (n > sizeof buf - LWS_PRE)
			n = sizeof buf - LWS_PRE;
		memcpy(buf + LWS_PRE, ex->body + ex->sent, n);
		int last = ex->sent + n == ex->len;
		if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
		    (int)n)
			return -1;
		ex->sent += n;
		if (last)
			lws_client_http_body_pending(wsi, 0);
		else
			lws_callback_on_writable(wsi);
		break;
	}
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP: {
		struct hubclient_response *r = ex->resp;
		ex->established = 1;
		r->status = (int)lws_http_client_http_response(wsi);
		copy_custom(wsi, "x-ms-continuation:", r->continuation, sizeof r->continuation);
		copy_custom(wsi, "iothub-errorcode:", r->error_code, sizeof r->error_code);
		r->etag[0] = '\0';
		if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_ETAG) > 0 &&
		    lws_hdr_copy(wsi, r->etag, (int)sizeof r->etag, WSI_TOKEN_HTTP_ETAG) < 0)
			r->etag[0] = '\0';
		break;
	}
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
		char buf[LWS_PRE + 8192];
		char *px = buf + LWS_PRE;
		int lenx = (int)(sizeof buf - LWS_PRE);
		if (lws_http_client_read(wsi, &px, &lenx) < 0)
			return -1;
		return 0;
	}
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		if (take_bytes(ex, in, len) != 0)
			return -1;
		return 0;
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		ex->completed = 1;
		ex->done = 1;
		return -1; /* close: one request per connection */
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		if (ex)
			ex->done = 1;
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols client_protocols[] = {
	{"simhub-cli", client_cb, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* True when an lws connection error text is about TLS rather than reaching the port. */
static int is_tls_error(const char *msg)
{
	static const char *const words[] = {"ssl", "SSL", "tls", "TLS", "cert", "X509", "x509",
					    "verify", "hs1", "hs2"};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strstr(msg, words[i]))
			return 1;
	return 0;
}

/*
 * Run one exchange: a fresh lws context (client only, CA from the client), one connection with
 * HTTP/1.1 ALPN, serviced until the exchange ends, the deadline passes or *stop is set.
 * Classifies the failure into the sh_rc and text that hubclient_request documents.
 */
static sh_rc run_exchange(struct hubclient *hc, const char *method, const char *path,
			  struct exchange *ex, int timeout_s, volatile sig_atomic_t *stop, char *err,
			  size_t errcap)
{
	const char *dbg = getenv("SIMHUB_LWS_DEBUG");
	lws_set_log_level(dbg && *dbg ? LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO : 0, NULL);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = client_protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.client_ssl_ca_filepath = hc->ca_file;
	info.fd_limit_per_thread = 16;
	info.timeout_secs = (unsigned)(timeout_s > 0 ? timeout_s + 5 : 3600);
	info.connect_timeout_secs = 10;
	struct lws_context *ctx = lws_create_context(&info);
	if (!ctx) {
		snprintf(err, errcap, "cannot start the TLS client (is --ca %s a PEM file?)",
			 hc->ca_file ? hc->ca_file : "(system)");
		return SH_E_STATE;
	}
	char full[4096];
	int has_q = strchr(path, '?') != NULL;
	if (strstr(path, "api-version="))
		snprintf(full, sizeof full, "%s", path);
	else
		snprintf(full, sizeof full, "%s%capi-version=" API_VERSION, path, has_q ? '&' : '?');
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof ci);
	ci.context = ctx;
	ci.address = hc->u.host;
	ci.port = hc->u.port;
	ci.path = full;
	ci.host = hc->u.host;
	ci.origin = hc->u.host;
	ci.method = method;
	ci.ssl_connection = LCCSCF_USE_SSL | LCCSCF_HTTP_NO_FOLLOW_REDIRECT;
	ci.alpn = "http/1.1";
	ci.protocol = client_protocols[0].name;
	ci.local_protocol_name = client_protocols[0].name;
	ci.userdata = ex;
	struct lws *wsi = NULL;
	ci.pwsi = &wsi;
	double deadline = mono_s() + (timeout_s > 0 ? timeout_s : 1e9);
	if (!lws_client_connect_via_info(&ci) && !ex->done) {
		ex->conn_error = 1;
		ex->done = 1;
		snprintf(ex->errmsg, sizeof ex->errmsg, "cannot start the connection");
	}
	int timed_out = 0;
	while (!ex->done) {
		if (stop && *stop)
			break;
		if (mono_s() > deadline) {
			timed_out = 1;
			break;
		}
		if (lws_service(ctx, 100) < 0)
			break;
	}
	lws_context_destroy(ctx);

	if (ex->conn_error) {
		if (is_tls_error(ex->errmsg)) {
			snprintf(err, errcap, "TLS failure talking to %s: %s (is the CA right? see --ca)",
				 hc->url, ex->errmsg);
			return SH_E_STATE;
		}
		snprintf(err, errcap, "no hub at %s: is `simhub serve` running? (%s)", hc->url,
			 ex->errmsg);
		return SH_E_IO;
	}
	if (stop && *stop)
		return SH_OK;
	if (ex->fn_rc)
		return SH_OK;
	if (timed_out) {
		snprintf(err, errcap, "%s %s: no answer from %s within %d s", method, path, hc->url,
			 timeout_s);
		return SH_E_EXPIRED;
	}
	if (ex->too_big) {
		snprintf(err, errcap, "%s %s: the answer is over %u bytes", method, path, BODY_MAX);
		return SH_E_TOOLARGE;
	}
	if (!ex->established) {
		snprintf(err, errcap, "%s closed the connection before answering %s %s", hc->url, method,
			 path);
		return SH_E_MALFORMED;
	}
	if (!ex->completed && !ex->sse) {
		snprintf(err, errcap, "%s %s: the answer was cut short", method, path);
		return SH_E_MALFORMED;
	}
	return SH_OK;
}

sh_rc hubclient_request(struct hubclient *hc, const char *method, const char *path,
			const char *content_type, const char *body, size_t len,
			const struct hubclient_header *headers, int timeout_s,
			struct hubclient_response *resp, char *err, size_t errcap)
{
	memset(resp, 0, sizeof *resp);
	struct exchange ex;
	memset(&ex, 0, sizeof ex);
	ex.hc = hc;
	ex.content_type = content_type;
	ex.body = body;
	ex.len = body ? len : 0;
	ex.headers = headers;
	ex.resp = resp;
	sh_rc rc = run_exchange(hc, method, path, &ex, timeout_s, NULL, err, errcap);
	if (rc == SH_OK && !resp->body) {
		resp->body = calloc(1, 1);
		if (!resp->body)
			rc = SH_E_NOMEM;
	}
	if (rc != SH_OK)
		hubclient_response_free(resp);
	return rc;
}

sh_rc hubclient_stream(struct hubclient *hc, const char *path, sse_event_fn fn, void *arg,
		       volatile sig_atomic_t *stop, char *err, size_t errcap)
{
	struct hubclient_response resp;
	memset(&resp, 0, sizeof resp);
	struct sse_parser sse;
	if (sse_init(&sse) != SH_OK)
		return SH_E_NOMEM;
	struct exchange ex;
	memset(&ex, 0, sizeof ex);
	ex.hc = hc;
	ex.resp = &resp;
	ex.sse = &sse;
	ex.fn = fn;
	ex.arg = arg;
	sh_rc rc = run_exchange(hc, "GET", path, &ex, 0, stop, err, errcap);
	if (rc == SH_OK && !(stop && *stop) && !ex.fn_rc) {
		if (resp.status != 200) {
			hubclient_error_text(&resp, err, errcap, NULL);
			rc = SH_E_INVALID;
		} else {
			snprintf(err, errcap, "the hub at %s ended the event stream", hc->url);
			rc = SH_E_MALFORMED;
		}
	}
	hubclient_response_free(&resp);
	sse_free(&sse);
	return rc;
}

/* --- IoT Hub errors ------------------------------------------------------------------------------ */

void hubclient_error_text(const struct hubclient_response *resp, char *out, size_t cap,
			  int *code_out)
{
	int code = 0;
	char msg[512] = "";
	cJSON *j = resp->body ? cJSON_Parse(resp->body) : NULL;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "Message");
	if (cJSON_IsString(m)) {
		cJSON *inner = cJSON_Parse(m->valuestring);
		const cJSON *ec = cJSON_GetObjectItemCaseSensitive(inner, "errorCode");
		const cJSON *im = cJSON_GetObjectItemCaseSensitive(inner, "message");
		if (cJSON_IsNumber(ec)) {
			code = ec->valueint;
			snprintf(msg, sizeof msg, "%s", cJSON_IsString(im) ? im->valuestring : "");
		} else {
			/* Legacy: "ErrorCode:DeviceNotFound;message" */
			const char *t = m->valuestring;
			const char *semi = strchr(t, ';');
			snprintf(msg, sizeof msg, "%s",
				 strncmp(t, "ErrorCode:", 10) == 0 && semi ? semi + 1 : t);
		}
		cJSON_Delete(inner);
	} else if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "message"))) {
		snprintf(msg, sizeof msg, "%s",
			 cJSON_GetObjectItemCaseSensitive(j, "message")->valuestring);
		const cJSON *ec = cJSON_GetObjectItemCaseSensitive(j, "errorCode");
		if (cJSON_IsNumber(ec))
			code = ec->valueint;
	}
	cJSON_Delete(j);
	if (code_out)
		*code_out = code;
	const char *name = code ? iothub_error_name((enum iothub_error)code) : "";
	if ((!name || !*name || strcmp(name, "Unknown") == 0) && resp->error_code[0])
		name = resp->error_code;
	if (code) {
		snprintf(out, cap, "%d %s: %s", code, name, msg);
		return;
	}
	if (resp->error_code[0]) {
		snprintf(out, cap, "%s (HTTP %d): %s", resp->error_code, resp->status, msg);
		return;
	}
	char first[200] = "";
	if (resp->body)
		snprintf(first, sizeof first, "%.*s", (int)strcspn(resp->body, "\r\n"), resp->body);
	snprintf(out, cap, "HTTP %d%s%s", resp->status, first[0] ? ": " : "", first);
}
