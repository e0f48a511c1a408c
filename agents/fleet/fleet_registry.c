/*
 * fleet_registry.c (agents/fleet): `fleet replay --service-cs CS --create`: makes sure every
 * identity of the replay exists on the target hub, through the registry REST API over HTTPS
 * (libwebsockets' client, the project's HTTP stack), and collects each one's primary key.
 * PUT /devices/{id} (or /devices/{id}/modules/{mid}) creates; 409 means it exists, and GET
 * reads its keys. It never touches MQTT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h>

#include "core/connstr.h"
#include "core/sas.h"
#include "fleet_load.h"
#include "fleet_util.h"

#define RESP_MAX (1024 * 1024)

/* One request and its answer. */
struct exchange {
	const char *method;
	const char *token;
	const char *body;
	size_t len, sent;
	int status;
	char *resp;
	size_t resp_len;
	char err[200];
	bool done;
};

/*
 * The client callback: headers (authorization, content type and length) in
 * APPEND_HANDSHAKE_HEADER, the body from CLIENT_HTTP_WRITEABLE in one write, the status at
 * ESTABLISHED, the answer through lws_http_client_read, and the end at COMPLETED, CLOSED or
 * CONNECTION_ERROR.
 */
static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct exchange *ex = user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (ex) {
			snprintf(ex->err, sizeof ex->err, "%s", in ? (const char *)in : "connection failed");
			ex->done = true;
		}
		return 0;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		unsigned char **p = (unsigned char **)in, *end = (*p) + len;
		char clen[32];
		snprintf(clen, sizeof clen, "%zu", ex->len);
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)"authorization:",
						(const unsigned char *)ex->token, (int)strlen(ex->token),
						p, end) ||
		    lws_add_http_header_by_name(wsi, (const unsigned char *)"accept:",
						(const unsigned char *)"application/json", 16, p, end))
			return -1;
		if (ex->body) {
			if (lws_add_http_header_by_name(wsi, (const unsigned char *)"content-type:",
							(const unsigned char *)"application/json", 16,
							p, end) ||
			    lws_add_http_header_by_name(wsi, (const unsigned char *)"content-length:",
							(const unsigned char *)clen, (int)strlen(clen),
							p, end))
				return -1;
			lws_client_http_body_pending(wsi, 1);
			lws_callback_on_writable(wsi);
		}
		return 0;
	}
	case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE: {
		if (!ex->body || ex->sent)
			return 0;
		unsigned char buf[LWS_PRE + 4096];
		if (ex->len > sizeof buf - LWS_PRE)
			return -1;
		memcpy(buf + LWS_PRE, ex->body, ex->len);
		if (lws_write(wsi, buf + LWS_PRE, ex->len, LWS_WRITE_HTTP_FINAL) != (int)ex->len)
			return -1;
		ex->sent = ex->len;
		lws_client_http_body_pending(wsi, 0);
		return 0;
	}
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		ex->status = (int)lws_http_client_http_response(wsi);
		return 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
		char buf[LWS_PRE + 4096];
		char *px = buf + LWS_PRE;
		int n = (int)(sizeof buf - LWS_PRE);
		return lws_http_client_read(wsi, &px, &n) < 0 ? -1 : 0;
	}
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		if (ex->resp_len + len > RESP_MAX)
			return -1;
		{
			char *r = realloc(ex->resp, ex->resp_len + len + 1);
			if (!r)
				return -1;
			ex->resp = r;
			memcpy(r + ex->resp_len, in, len);
			ex->resp_len += len;
			r[ex->resp_len] = '\0';
		}
		return 0;
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		ex->done = true;
		return -1;   /* one request per connection */
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		if (ex)
			ex->done = true;
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{"fleet-registry", cb, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Run one request on `ctx`; 0 when an answer came (any status), -1 otherwise (ex->err). */
static int run(struct lws_context *ctx, const char *host, int port, bool insecure,
	       const char *path, struct exchange *ex)
{
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof ci);
	ci.context = ctx;
	ci.address = host;
	ci.port = port;
	ci.path = path;
	ci.host = host;
	ci.origin = host;
	ci.method = ex->method;
	ci.ssl_connection = LCCSCF_USE_SSL | LCCSCF_HTTP_NO_FOLLOW_REDIRECT |
			    (insecure ? LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK : 0);
	ci.alpn = "http/1.1";
	ci.protocol = protocols[0].name;
	ci.local_protocol_name = protocols[0].name;
	ci.userdata = ex;
	if (!lws_client_connect_via_info(&ci) && !ex->done) {
		snprintf(ex->err, sizeof ex->err, "cannot start the connection");
		return -1;
	}
	uint64_t deadline = fleet_now_ns() + 30000000000u;
	while (!ex->done && fleet_now_ns() < deadline)
		if (lws_service(ctx, 100) < 0)
			break;
	if (!ex->done)
		snprintf(ex->err, sizeof ex->err, "no answer in 30 s");
	return ex->status ? 0 : -1;
}

/* The primary key in a device or module JSON, or NULL. */
static const char *primary_key(const cJSON *doc)
{
	const cJSON *k = cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "authentication"), "symmetricKey"),
		"primaryKey");
	return cJSON_IsString(k) && k->valuestring[0] ? k->valuestring : NULL;
}

int fleet_registry_create(const char *service_cs, const char *https_host, int port, const char *ca,
			  bool insecure, char *const *ids, int n, struct fleet_keys *keys)
{
	struct connstr cs;
	const char *why = NULL;
	if (connstr_parse(service_cs, strlen(service_cs), &cs, &why) != SH_OK ||
	    cs.kind != CONNSTR_SERVICE) {
		fleet_log("--service-cs: not a service connection string");
		return -1;
	}
	char host[300], policy[100], key[600], token[2048];
	snprintf(host, sizeof host, "%.*s", (int)cs.host_name.len, cs.host_name.p);
	snprintf(policy, sizeof policy, "%.*s", (int)cs.shared_access_key_name.len,
		 cs.shared_access_key_name.p);
	snprintf(key, sizeof key, "%.*s", (int)cs.shared_access_key.len, cs.shared_access_key.p);
	size_t tl = 0;
	if (sas_build(host, key, policy, (int64_t)time(NULL) + 3600, token, sizeof token, &tl) !=
	    SH_OK) {
		fleet_log("--service-cs: cannot sign a token (is the key base64?)");
		return -1;
	}
	lws_set_log_level(0, NULL);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.client_ssl_ca_filepath = ca;
	info.connect_timeout_secs = 10;
	struct lws_context *ctx = lws_create_context(&info);
	if (!ctx) {
		fleet_log("cannot start the HTTPS client (is --ca %s a PEM file?)", ca ? ca : "-");
		return -1;
	}
	int rc = 0, created = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		char path[600], body[600];
		const char *slash = strchr(ids[i], '/');
		if (slash) {
			snprintf(path, sizeof path, "/devices/%.*s/modules/%s?api-version=%s",
				 (int)(slash - ids[i]), ids[i], slash + 1, FLEET_API_VERSION);
			snprintf(body, sizeof body, "{\"deviceId\":\"%.*s\",\"moduleId\":\"%s\"}",
				 (int)(slash - ids[i]), ids[i], slash + 1);
		} else {
			snprintf(path, sizeof path, "/devices/%s?api-version=%s", ids[i],
				 FLEET_API_VERSION);
			snprintf(body, sizeof body, "{\"deviceId\":\"%s\"}", ids[i]);
		}
		struct exchange ex = {.method = "PUT", .token = token, .body = body,
				      .len = strlen(body)};
		if (run(ctx, https_host, port, insecure, path, &ex) != 0) {
			fleet_log("creating %s on https://%s:%d: %s", ids[i], https_host, port, ex.err);
			rc = -1;
		} else if (ex.status == 409) {
			free(ex.resp);
			ex = (struct exchange){.method = "GET", .token = token};
			if (run(ctx, https_host, port, insecure, path, &ex) != 0 || ex.status != 200) {
				fleet_log("reading %s: HTTP %d %s", ids[i], ex.status, ex.err);
				rc = -1;
			}
		} else if (ex.status != 200 && ex.status != 201) {
			fleet_log("creating %s: HTTP %d: %.200s", ids[i], ex.status,
				  ex.resp ? ex.resp : "");
			rc = -1;
		} else {
			created++;
		}
		if (rc == 0) {
			cJSON *doc = cJSON_Parse(ex.resp ? ex.resp : "");
			const char *k = primary_key(doc);
			if (!k) {
				fleet_log("%s has no symmetric key (x509 identity?)", ids[i]);
				rc = -1;
			} else if (fleet_keys_put(keys, ids[i], k) != 0) {
				rc = -1;
			}
			cJSON_Delete(doc);
		}
		free(ex.resp);
	}
	lws_context_destroy(ctx);
	if (rc == 0)
		fleet_log("identities: %d created, %d already there", created, n - created);
	return rc;
}
