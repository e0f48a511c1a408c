/*
 * rest.c: the REST entry point: route, authorise (a service SAS token, or for the HTTPS device
 * API a token of the device or module in the path), dispatch to the area handlers, and the one
 * place where hub errors become HTTP answers: the status from the IoT Hub code, the
 * iothub-errorcode header, and the error body in IoT Hub's current format (Message holds a JSON
 * string), or the legacy text the Node service SDK parses (§8.1, §8.8).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/isotime.h"
#include "core/sas.h"
#include "rest/rest_internal.h"

struct rest_ctx *rest_new(struct sh_hub *hub, struct hub_sessions *reg)
{
	struct rest_ctx *rc = calloc(1, sizeof *rc);
	if (rc) {
		rc->hub = hub;
		rc->reg = reg;
		rc->started_us = hub_now_us(hub);
	}
	return rc;
}

void rest_free(struct rest_ctx *rc)
{
	if (!rc)
		return;
	/* Pending calls still get their callback from the sessions; detach them from us. */
	for (struct rest_pending *p = rc->pending; p; p = p->next) {
		p->conn = NULL;
		p->rc = NULL;
	}
	free(rc);
}

void rest_cancel(struct rest_ctx *rc, void *conn)
{
	for (struct rest_pending *p = rc->pending; p; p = p->next)
		if (p->conn == conn)
			p->conn = NULL;
}

const char *rest_header(const struct rest_request *req, const char *name, char *buf, size_t cap)
{
	return req->header ? req->header(req->hctx, name, buf, cap) : NULL;
}

bool rest_query_has(const struct rest_request *req, const char *name)
{
	size_t n = strlen(name);
	const char *q = req->query;
	if (!q || n == 0)
		return false;
	/* lws 4.1 joins the arguments with '&' or ',' (see rest.h): either separates. */
	while (*q) {
		size_t arg = strcspn(q, "&,");
		if (arg >= n && strncmp(q, name, n) == 0 && (arg == n || q[n] == '='))
			return true;
		q += arg;
		if (*q)
			q++;
	}
	return false;
}

/* The value of one hex digit, or -1. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int rest_query_get(const struct rest_request *req, const char *name, char *buf, size_t cap)
{
	size_t n = strlen(name);
	const char *q = req->query;
	if (cap > 0)
		buf[0] = '\0';
	if (!q || n == 0 || cap == 0)
		return cap == 0 ? -1 : 0;
	while (*q) {
		size_t arg = strcspn(q, "&,");
		if (arg >= n && strncmp(q, name, n) == 0 && (arg == n || q[n] == '=')) {
			const char *v = q + n + (arg > n ? 1 : 0), *end = q + arg;
			size_t o = 0;
			/* lws usually decodes already; decode what is left (a %XX it kept). */
			while (v < end) {
				char c = *v++;
				if (c == '%' && end - v >= 2 && hex_value(v[0]) >= 0 && hex_value(v[1]) >= 0) {
					c = (char)(hex_value(v[0]) * 16 + hex_value(v[1]));
					v += 2;
				}
				if (o + 1 >= cap) {
					buf[0] = '\0';
					return -1;
				}
				buf[o++] = c;
			}
			buf[o] = '\0';
			return 1;
		}
		q += arg;
		if (*q)
			q++;
	}
	return 0;
}

int rest_response_add_header(struct rest_response *resp, const char *name, const char *value)
{
	struct rest_out_header *nh = realloc(resp->headers, (resp->n_headers + 1) * sizeof *nh);
	if (!nh)
		return -1;
	resp->headers = nh;
	char *n = strdup(name), *v = strdup(value);
	if (!n || !v) {
		free(n);
		free(v);
		return -1;
	}
	nh[resp->n_headers].name = n;
	nh[resp->n_headers].value = v;
	resp->n_headers++;
	return 0;
}

void rest_response_free(struct rest_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
	for (size_t i = 0; i < resp->n_headers; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	free(resp->headers);
	resp->headers = NULL;
	resp->n_headers = 0;
}

void rest_json(struct rest_response *resp, int status, cJSON *j)
{
	resp->status = status;
	resp->body = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
}

/* Hub time of the request being answered, for error timestamps (one thread: set per request). */
static int64_t answer_now_us;

void rest_error(struct rest_response *resp, const struct iothub_err *err, bool legacy)
{
	char when[ISOTIME_BUF], tracking[64];
	/* Tracking ids only need to be unique-looking; the message text is what people read. */
	static uint64_t counter;
	snprintf(tracking, sizeof tracking, "simhub-%016" PRIx64, ++counter);
	isotime_format(answer_now_us, when);
	resp->status = iothub_error_http_status(err->code);
	snprintf(resp->error_name, sizeof resp->error_name, "%s", iothub_error_name(err->code));
	cJSON *outer = cJSON_CreateObject();
	if (legacy) {
		char msg[400];
		snprintf(msg, sizeof msg, "ErrorCode:%s;%s", iothub_error_name(err->code), err->message);
		cJSON_AddStringToObject(outer, "Message", msg);
		char ex[128];
		snprintf(ex, sizeof ex, "Tracking ID:%s", tracking);
		cJSON_AddStringToObject(outer, "ExceptionMessage", ex);
	} else {
		cJSON *inner = cJSON_CreateObject();
		cJSON_AddNumberToObject(inner, "errorCode", (double)err->code);
		cJSON_AddStringToObject(inner, "trackingId", tracking);
		cJSON_AddStringToObject(inner, "message", err->message);
		cJSON_AddStringToObject(inner, "timestampUtc", when);
		char *text = cJSON_PrintUnformatted(inner);
		cJSON_Delete(inner);
		cJSON_AddStringToObject(outer, "Message", text ? text : "");
		cJSON_AddStringToObject(outer, "ExceptionMessage", "");
		cJSON_free(text);
	}
	resp->body = cJSON_PrintUnformatted(outer);
	cJSON_Delete(outer);
}

void rest_error_code(struct rest_response *resp, enum iothub_error code, bool legacy,
		     const char *fmt, ...)
{
	struct iothub_err err;
	err.code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err.message, sizeof err.message, fmt, ap);
	va_end(ap);
	rest_error(resp, &err, legacy);
}

void rest_body_too_large(struct rest_response *resp, const char *user_agent, size_t max)
{
	memset(resp, 0, sizeof *resp);
	bool legacy = user_agent && strncmp(user_agent, "azure-iothub/", 13) == 0;
	rest_error_code(resp, IOTHUB_MESSAGE_TOO_LARGE, legacy,
			"the request body is larger than %zu bytes", max);
}

cJSON *rest_body_json(const struct rest_request *req, struct rest_response *resp, bool legacy)
{
	cJSON *j = req->body_len ? cJSON_ParseWithLength(req->body, req->body_len) : NULL;
	if (!j)
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
				req->body_len ? "the request body is not valid JSON"
					      : "the request needs a JSON body");
	return j;
}

/* The rights an operation needs: any one of them will do (see docs/api notes). */
static unsigned rights_for(const struct rest_route *r, enum rest_method m)
{
	switch (r->id) {
	case ROUTE_TWIN:
		return SH_RIGHT_SERVICE_CONNECT |
		       (m == REST_GET ? SH_RIGHT_REGISTRY_READ : SH_RIGHT_REGISTRY_WRITE);
	case ROUTE_METHOD:
	case ROUTE_STATS_SERVICE:
	case ROUTE_C2D_SEND:
		return SH_RIGHT_SERVICE_CONNECT;
	case ROUTE_QUERY:
		return SH_RIGHT_SERVICE_CONNECT | SH_RIGHT_REGISTRY_READ;
	case ROUTE_DEVICE_LIST:
	case ROUTE_MODULE_LIST:
	case ROUTE_STATS_DEVICES:
		return SH_RIGHT_REGISTRY_READ;
	case ROUTE_BULK:
		return SH_RIGHT_REGISTRY_WRITE;
	case ROUTE_DEVICE:
	case ROUTE_MODULE:
		return m == REST_GET ? SH_RIGHT_REGISTRY_READ : SH_RIGHT_REGISTRY_WRITE;
	case ROUTE_D2C_SEND:
	case ROUTE_C2D_RECEIVE:
	case ROUTE_C2D_SETTLE:
	case ROUTE_C2D_ABANDON:
		return 0;   /* the device API: no policy right, a device token (device_auth) */
	case ROUTE_SIMHUB_MESSAGES:
	case ROUTE_SIMHUB_CONNECTIONS:
	case ROUTE_SIMHUB_METHODS:
	case ROUTE_SIMHUB_HEALTH:
	case ROUTE_SIMHUB_EVENTS:
	case ROUTE_SIMHUB_FEEDBACK:
		return SH_RIGHT_REGISTRY_READ | SH_RIGHT_SERVICE_CONNECT;
	case ROUTE_SIMHUB_RESET:
		return SH_RIGHT_REGISTRY_WRITE;
	case ROUTE_SIMHUB_SEC_MESSAGES:
	case ROUTE_SIMHUB_SEC_EVENTS:
	case ROUTE_SIMHUB_SEC_ALERTS:
	case ROUTE_SIMHUB_SEC_SUMMARY:
	case ROUTE_SIMHUB_SEC_CONFIG:
		return SH_RIGHT_REGISTRY_READ | SH_RIGHT_SERVICE_CONNECT;
	case ROUTE_SIMHUB_SEC_ENABLE:
		return SH_RIGHT_REGISTRY_WRITE;
	}
	return 0;
}

/* The rights of a rights_for() set as "RegistryRead or ServiceConnect", into buf. */
static void rights_text(unsigned rights, char *buf, size_t cap)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{SH_RIGHT_REGISTRY_READ, "RegistryRead"},
		{SH_RIGHT_REGISTRY_WRITE, "RegistryWrite"},
		{SH_RIGHT_SERVICE_CONNECT, "ServiceConnect"},
		{SH_RIGHT_DEVICE_CONNECT, "DeviceConnect"},
	};
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (!(rights & names[i].bit))
			continue;
		int n = snprintf(buf + o, cap - o, "%s%s", o ? " or " : "", names[i].name);
		if (n < 0 || (size_t)n >= cap - o)
			return;
		o += (size_t)n;
	}
}

/*
 * The HTTPS device API authenticates like an MQTT CONNECT (iothub-protocol.md §7, §1.3, §1.4):
 * a SAS token of the device or module the path names, signed with its key or with a policy
 * granting DeviceConnect; or, when there is no Authorization header, the TLS client certificate
 * of an X.509 identity (hub_auth_x509). A header wins: its token is checked even when a
 * certificate came too. Fills resp and returns false when refused: 401 IotHubUnauthorized for
 * every refusal (missing, malformed, expired, other identity, unknown or disabled identity, a
 * certificate that does not fit or a SAS identity with only a certificate), 500 when the store
 * failed.
 */
static bool device_auth(struct rest_ctx *rc, const struct rest_target *t,
			const struct rest_request *req, struct rest_response *resp)
{
	struct sh_identity id;
	enum hub_auth_result ar;
	if (req->authorization) {
		int64_t expiry_s = 0;
		ar = hub_auth_sas(rc->hub, t->device_id, t->module_id, req->authorization,
				  strlen(req->authorization), &id, &expiry_s);
	} else if (req->client_cert) {
		ar = hub_auth_x509(rc->hub, t->device_id, t->module_id, req->client_cert, &id);
	} else {
		rest_error_code(resp, IOTHUB_UNAUTHORIZED, t->legacy_errors,
				"the request has no Authorization header");
		return false;
	}
	if (ar == HUB_AUTH_OK)
		return true;
	rest_error_code(resp, ar == HUB_AUTH_STORE_ERROR ? IOTHUB_SERVER_ERROR : IOTHUB_UNAUTHORIZED,
			t->legacy_errors, "%s", hub_auth_result_str(ar));
	return false;
}

/*
 * The service API authenticates with a shared access policy token (skn names the policy) that
 * grants one of the rights the route needs (rights_for). Fills resp and returns false when
 * refused: 401 IotHubUnauthorized with a text that says what is wrong, because the SDKs show
 * it as it is: no header; not a SAS token; a device-key token (no skn), which only the device
 * API takes; a policy the hub does not have; a policy without the right (named); expired,
 * wrong scope or bad signature. 500 when the store failed.
 */
static bool service_auth(struct rest_ctx *rc, const struct rest_route *route,
			 const struct rest_target *t, const struct rest_request *req,
			 struct rest_response *resp)
{
	if (!req->authorization) {
		rest_error_code(resp, IOTHUB_UNAUTHORIZED, t->legacy_errors,
				"the request has no Authorization header");
		return false;
	}
	size_t len = strlen(req->authorization);
	unsigned need = rights_for(route, req->method);
	struct sh_policy pol;
	enum hub_auth_result ar = hub_auth_service(rc->hub, req->authorization, len, need, &pol);
	if (ar == HUB_AUTH_OK)
		return true;
	if (ar == HUB_AUTH_STORE_ERROR) {
		rest_error_code(resp, IOTHUB_SERVER_ERROR, t->legacy_errors, "%s",
				hub_auth_result_str(ar));
		return false;
	}
	struct sas_token tok;
	bool parsed = sas_parse(req->authorization, len, &tok) == SH_OK;
	if (ar == HUB_AUTH_MALFORMED && parsed && tok.skn.len == 0) {
		rest_error_code(resp, IOTHUB_UNAUTHORIZED, t->legacy_errors,
				"a device token cannot call the service API; use a shared access "
				"policy token (skn=...)");
		return false;
	}
	if (ar == HUB_AUTH_UNKNOWN_POLICY && parsed) {
		char name[SH_POLICY_NAME_MAX + 1];
		char rights[80];
		size_t n = tok.skn.len < SH_POLICY_NAME_MAX ? tok.skn.len : SH_POLICY_NAME_MAX;
		memcpy(name, tok.skn.p, n);
		name[n] = '\0';
		rights_text(need, rights, sizeof rights);
		struct iothub_err err;
		memset(&err, 0, sizeof err);
		sh_rc prc = SH_E_NOTFOUND;
		if (tok.skn.len <= SH_POLICY_NAME_MAX)
			prc = hub_policy_get(rc->hub, name, &pol, &err);
		if (prc != SH_OK && prc != SH_E_NOTFOUND)
			rest_error_code(resp, IOTHUB_SERVER_ERROR, t->legacy_errors, "%s",
					hub_auth_result_str(HUB_AUTH_STORE_ERROR));
		else if (prc == SH_E_NOTFOUND)
			rest_error_code(resp, IOTHUB_UNAUTHORIZED, t->legacy_errors,
					"the hub has no shared access policy named '%s' (skn); this "
					"operation needs one that grants %s", name, rights);
		else
			rest_error_code(resp, IOTHUB_UNAUTHORIZED, t->legacy_errors,
					"the token's policy '%s' does not grant %s", name, rights);
		return false;
	}
	rest_error_code(resp, IOTHUB_UNAUTHORIZED, t->legacy_errors, "%s", hub_auth_result_str(ar));
	return false;
}

/*
 * May this request read a module of the device in its path as the security bootstrap? A
 * device-key token of that device, or (no Authorization header) that device's X.509 client
 * certificate. False sends the request on to the service checks, which refuse certificates.
 */
static bool bootstrap_auth(struct rest_ctx *rc, const struct rest_target *t,
			   const struct rest_request *req)
{
	if (req->authorization)
		return hub_auth_device_token(rc->hub, t->device_id, req->authorization,
					     strlen(req->authorization)) == HUB_AUTH_OK;
	struct sh_identity id;
	return req->client_cert &&
	       hub_auth_x509(rc->hub, t->device_id, NULL, req->client_cert, &id) == HUB_AUTH_OK;
}

int rest_handle(struct rest_ctx *rc, const struct rest_request *req, struct rest_response *resp,
		rest_done_fn done, void *conn)
{
	memset(resp, 0, sizeof *resp);
	answer_now_us = hub_now_us(rc->hub);
	struct rest_target t;
	memset(&t, 0, sizeof t);
	t.legacy_errors = req->user_agent && strncmp(req->user_agent, "azure-iothub/", 13) == 0;

	struct rest_route route;
	sh_rc rc_route = rest_route_match(req->method, req->path, strlen(req->path), &route);
	if (rc_route == SH_E_NOTFOUND) {
		resp->status = 404;
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, t.legacy_errors,
				"no IoT Hub operation at %s", req->path);
		resp->status = 404;
		return 1;
	}
	if (rc_route != SH_OK) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, t.legacy_errors,
				"this method is not allowed on %s", req->path);
		resp->status = 405;
		return 1;
	}
	if (!sh_span_copy(route.device_id, t.device_id, sizeof t.device_id) ||
	    !sh_span_copy(route.module_id, t.module_id, sizeof t.module_id)) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, t.legacy_errors,
				"a device or module id is longer than %d characters", SH_ID_MAX);
		return 1;
	}
	if (rest_route_is_device_api(route.id)) {
		if (!device_auth(rc, &t, req, resp))
			return 1;
		return rest_device_api(rc, &route, &t, req, resp);
	}
	/* The security agents' device-identity bootstrap (security-agent.md §2.3): a device-key
	 * token (sr the bare host, no skn) may read the modules of its own device; so may the
	 * device's own X.509 client certificate when the request has no Authorization header. */
	if (route.id == ROUTE_MODULE && req->method == REST_GET && bootstrap_auth(rc, &t, req))
		return rest_devices(rc, &route, &t, req, resp);
	if (!service_auth(rc, &route, &t, req, resp))
		return 1;
	switch (route.id) {
	case ROUTE_TWIN:
		return rest_twins(rc, &t, req, resp);
	case ROUTE_METHOD:
		return rest_methods(rc, &t, req, resp, done, conn);
	case ROUTE_C2D_SEND:
		return rest_c2d_send(rc, &t, req, resp);
	case ROUTE_QUERY:
		return rest_query(rc, &t, req, resp);
	case ROUTE_BULK:
		return rest_bulk(rc, &t, req, resp);
	case ROUTE_SIMHUB_MESSAGES:
	case ROUTE_SIMHUB_CONNECTIONS:
	case ROUTE_SIMHUB_METHODS:
	case ROUTE_SIMHUB_HEALTH:
	case ROUTE_SIMHUB_EVENTS:
	case ROUTE_SIMHUB_RESET:
	case ROUTE_SIMHUB_FEEDBACK:
		return rest_simhub(rc, &route, &t, req, resp);
	case ROUTE_SIMHUB_SEC_MESSAGES:
	case ROUTE_SIMHUB_SEC_EVENTS:
	case ROUTE_SIMHUB_SEC_ALERTS:
	case ROUTE_SIMHUB_SEC_SUMMARY:
	case ROUTE_SIMHUB_SEC_CONFIG:
	case ROUTE_SIMHUB_SEC_ENABLE:
		return rest_security(rc, &route, &t, req, resp);
	default:
		return rest_devices(rc, &route, &t, req, resp);
	}
}
