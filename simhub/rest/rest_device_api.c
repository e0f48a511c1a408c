/*
 * rest_device_api.c: the HTTPS device API (iothub-protocol.md §7): telemetry, one message with
 * its properties in headers or a JSON batch, and the C2D receive / complete / reject / abandon
 * cycle. rest.c has already checked the device's (or module's) token; this file never touches
 * lws or the store, only the hub.
 *
 * Telemetry, one message (§7.1): the body as it came (the HTTP Content-Type is not a message
 * property; the C SDK always says application/octet-stream), system properties from the
 * iothub-* headers of §3.2 stored under their canonical names ("IoTHub-MessageId" ->
 * "message-id"), application properties from iothub-app-{name} headers (lower case: lws
 * lower-cases header names, HTTP/2 would too). Batch: Content-Type
 * application/vnd.microsoft.iothub.json and a JSON array of {"body", "base64Encoded"
 * (default true; the C SDK sends false with the text in "body"), "properties"}; a property
 * named iothub-app-{k} is the application property k, a system-property header name is that
 * system property, any other name is kept as an application property under its own name (a
 * device's data is not dropped for a spelling the docs do not cover). A batch is validated
 * whole before any message is stored. Both answer 204; 413001 over 256 KB (body and properties
 * of a message, or the whole batch request), 400004 for what cannot be read.
 *
 * C2D (§7.2, §7.3): GET answers 204 when nothing is deliverable, else 200 with the body, the
 * lock token as a quoted ETag, and headers spelt exactly as the C SDK compares them
 * (case-sensitively, §12.22): iothub-messageid, iothub-sequencenumber, iothub-to,
 * iothub-expiry, iothub-correlationid, iothub-userid, iothub-ack, iothub-enqueuedtime,
 * iothub-deliverycount, iothub-app-{name}, and ContentType / ContentEncoding. A property that
 * cannot be a header (a name that is not an HTTP token, a value with a control character) is
 * left out rather than risk splitting the response. DELETE completes (or rejects with
 * ?reject), POST .../abandon abandons; both 204, or 412002 when the lock is unknown or lost.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "core/base64.h"
#include "core/isotime.h"
#include "core/msg_props.h"
#include "rest/rest_internal.h"

#define D2C_MAX_BYTES (256 * 1024)              /* §10: device-to-cloud message size limit */
#define BATCH_TYPE "application/vnd.microsoft.iothub.json"
#define APP_PREFIX "iothub-app-"
#define APP_PREFIX_LEN (sizeof APP_PREFIX - 1)
#define HEADER_VALUE_MAX 4096                   /* lws keeps 4 KB of request headers in all */

/* Replace-or-add a string member (a header or property seen twice: the last one wins). */
static void put_string(cJSON *obj, const char *key, const char *value)
{
	cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
	cJSON_AddStringToObject(obj, key, value);
}

static int fail(struct rest_response *resp, const struct rest_target *t, enum iothub_error code,
		const char *msg)
{
	rest_error_code(resp, code, t->legacy_errors, "%s", msg);
	return 1;
}

/*
 * Read the system-property headers (every header of msg_props' table the request has) into
 * sys and the iothub-app-* headers the transport listed into app, adding the bytes of names
 * and values to *prop_bytes. Returns false with resp filled when a value is not UTF-8 text.
 */
static bool props_from_headers(const struct rest_request *req, const struct rest_target *t,
			       cJSON *sys, cJSON *app, size_t *prop_bytes, struct rest_response *resp)
{
	char *val = malloc(HEADER_VALUE_MAX);
	if (!val) {
		fail(resp, t, IOTHUB_SERVER_ERROR, "out of memory");
		return false;
	}
	bool ok = true;
	const char *name;
	for (size_t i = 0; ok && (name = msg_props_http_header_at(i)) != NULL; i++) {
		if (!rest_header(req, name, val, HEADER_VALUE_MAX))
			continue;
		const char *canonical = msg_props_from_http_header(sh_span_str(name));
		if (!msg_props_text_ok(sh_span_str(val))) {
			rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, t->legacy_errors,
					"header %s is not UTF-8 text", name);
			ok = false;
			break;
		}
		put_string(sys, canonical, val);
		*prop_bytes += strlen(canonical) + strlen(val);
	}
	for (size_t i = 0; ok && i < req->n_app_headers; i++) {
		name = req->app_headers[i];
		if (strncasecmp(name, APP_PREFIX, APP_PREFIX_LEN) != 0 || !name[APP_PREFIX_LEN] ||
		    !rest_header(req, name, val, HEADER_VALUE_MAX))
			continue;
		if (!msg_props_text_ok(sh_span_str(val))) {
			rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, t->legacy_errors,
					"header %.140s is not UTF-8 text", name);
			ok = false;
			break;
		}
		put_string(app, name + APP_PREFIX_LEN, val);
		*prop_bytes += strlen(name + APP_PREFIX_LEN) + strlen(val);
	}
	free(val);
	return ok;
}

/* POST .../messages/events with one message. */
static int d2c_single(struct rest_ctx *rc, const struct rest_target *t,
		      const struct rest_request *req, struct rest_response *resp)
{
	cJSON *sys = cJSON_CreateObject(), *app = cJSON_CreateObject();
	size_t prop_bytes = 0;
	struct iothub_err err;
	if (!sys || !app) {
		fail(resp, t, IOTHUB_SERVER_ERROR, "out of memory");
		goto done;
	}
	if (!props_from_headers(req, t, sys, app, &prop_bytes, resp))
		goto done;
	if (req->body_len + prop_bytes > D2C_MAX_BYTES) {
		rest_error_code(resp, IOTHUB_MESSAGE_TOO_LARGE, t->legacy_errors,
				"the message is %zu bytes with its properties; the limit is %d",
				req->body_len + prop_bytes, D2C_MAX_BYTES);
		goto done;
	}
	if (hub_telemetry(rc->hub, t->device_id, t->module_id, sys, app, req->body, req->body_len,
			  NULL, &err) != SH_OK)
		rest_error(resp, &err, t->legacy_errors);
	else
		resp->status = 204;
done:
	cJSON_Delete(sys);
	cJSON_Delete(app);
	return 1;
}

/* One message of a batch, ready to store. */
struct batch_msg {
	cJSON *sys, *app;
	uint8_t *decoded;          /* owned: the base64-decoded body */
	const void *body;          /* decoded, or the "body" text itself */
	size_t len;
};

/*
 * Read item `i` of a batch into *m. The strings it points at stay owned by the parsed batch.
 * Returns false with resp filled (400004, naming the item) when the item cannot be read.
 */
static bool batch_item(const cJSON *item, size_t i, const struct rest_target *t,
		       struct batch_msg *m, struct rest_response *resp)
{
	const char *why = NULL;
	const cJSON *body = cJSON_GetObjectItemCaseSensitive(item, "body");
	const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(item, "base64Encoded");
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(item, "properties");
	m->sys = cJSON_CreateObject();
	m->app = cJSON_CreateObject();
	if (!m->sys || !m->app)
		why = "out of memory";
	else if (!cJSON_IsObject(item))
		why = "is not an object";
	else if (!cJSON_IsString(body))
		why = "needs a string \"body\"";
	else if (b64 && !cJSON_IsBool(b64))
		why = "has a \"base64Encoded\" that is not true or false";
	else if (props && !cJSON_IsObject(props))
		why = "has \"properties\" that are not an object";
	if (!why && !cJSON_IsFalse(b64)) {
		size_t n = strlen(body->valuestring), cap = n / 4 * 3 + 3, out = 0;
		m->decoded = malloc(cap);
		if (!m->decoded)
			why = "out of memory";
		else if (base64_decode(body->valuestring, n, m->decoded, cap, &out) != SH_OK)
			why = "has a \"body\" that is not base64";
		m->body = m->decoded;
		m->len = out;
	} else if (!why) {
		m->body = body->valuestring;
		m->len = strlen(body->valuestring);
	}
	const cJSON *p, *list = why ? NULL : props;
	cJSON_ArrayForEach(p, list) {
		const char *k = p->string;
		if (!cJSON_IsString(p) || !k || !k[0]) {
			why = "has a property that is not a named string";
			break;
		}
		if (!msg_props_text_ok(sh_span_str(p->valuestring)) || !msg_props_text_ok(sh_span_str(k))) {
			why = "has a property that is not UTF-8 text";
			break;
		}
		const char *canonical = msg_props_from_http_header(sh_span_str(k));
		if (strncasecmp(k, APP_PREFIX, APP_PREFIX_LEN) == 0 && k[APP_PREFIX_LEN])
			put_string(m->app, k + APP_PREFIX_LEN, p->valuestring);
		else if (canonical)
			put_string(m->sys, canonical, p->valuestring);
		else
			put_string(m->app, k, p->valuestring);
	}
	if (why)
		rest_error_code(resp, strcmp(why, "out of memory") == 0 ? IOTHUB_SERVER_ERROR
									  : IOTHUB_ARGUMENT_INVALID,
				t->legacy_errors, "batch item %zu %s", i, why);
	return why == NULL;
}

/* POST .../messages/events with Content-Type application/vnd.microsoft.iothub.json. */
static int d2c_batch(struct rest_ctx *rc, const struct rest_target *t,
		     const struct rest_request *req, struct rest_response *resp)
{
	if (req->body_len > D2C_MAX_BYTES) {
		rest_error_code(resp, IOTHUB_MESSAGE_TOO_LARGE, t->legacy_errors,
				"the batch is %zu bytes; the limit is %d", req->body_len, D2C_MAX_BYTES);
		return 1;
	}
	cJSON *batch = rest_body_json(req, resp, t->legacy_errors);
	if (!batch)
		return 1;
	int n = cJSON_GetArraySize(batch);
	if (!cJSON_IsArray(batch) || n == 0) {
		cJSON_Delete(batch);
		return fail(resp, t, IOTHUB_ARGUMENT_INVALID,
			    "a batch is a non-empty JSON array of {\"body\", \"properties\"} objects");
	}
	struct batch_msg *msgs = calloc((size_t)n, sizeof *msgs);
	bool ok = msgs != NULL;
	if (!ok)
		fail(resp, t, IOTHUB_SERVER_ERROR, "out of memory");
	size_t i = 0;
	const cJSON *item, *items = ok ? batch : NULL;
	cJSON_ArrayForEach(item, items) {
		if (!(ok = batch_item(item, i, t, &msgs[i], resp)))
			break;
		i++;
	}
	struct iothub_err err;
	for (int k = 0; ok && k < n; k++) {
		if (hub_telemetry(rc->hub, t->device_id, t->module_id, msgs[k].sys, msgs[k].app,
				  msgs[k].body, msgs[k].len, NULL, &err) != SH_OK) {
			rest_error(resp, &err, t->legacy_errors);
			ok = false;
		}
	}
	if (ok)
		resp->status = 204;
	for (int k = 0; msgs && k < n; k++) {
		cJSON_Delete(msgs[k].sys);
		cJSON_Delete(msgs[k].app);
		free(msgs[k].decoded);
	}
	free(msgs);
	cJSON_Delete(batch);
	return 1;
}

static int d2c_send(struct rest_ctx *rc, const struct rest_target *t,
		    const struct rest_request *req, struct rest_response *resp)
{
	char ctype[128];
	if (rest_header(req, "content-type", ctype, sizeof ctype) &&
	    strncasecmp(ctype, BATCH_TYPE, sizeof BATCH_TYPE - 1) == 0)
		return d2c_batch(rc, t, req, resp);
	return d2c_single(rc, t, req, resp);
}

/* An HTTP token (RFC 9110 §5.6.2): what a header name may be made of. */
static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c))
			return false;
	}
	return true;
}

/* A value that cannot break out of its header line: no control characters but tab. */
static bool is_header_value(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* Add `name: value` when the value is safe in a header; false only when out of memory. */
static bool add_header(struct rest_response *resp, const char *name, const char *value)
{
	if (!value || !is_header_value(value))
		return true;
	return rest_response_add_header(resp, name, value) == 0;
}

static const char *sys_string(const cJSON *sys, const char *canonical)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(sys, canonical);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The headers of a received C2D message (§7.2). False when out of memory. */
static bool c2d_headers(struct rest_response *resp, const struct hub_c2d_msg *m,
			const char *device_id)
{
	static const char *const sys_names[] = {
		"message-id", "to", "absolute-expiry-time", "correlation-id", "user-id", "iothub-ack",
	};
	char num[32], when[ISOTIME_BUF], to[SH_ID_MAX + 40];
	bool ok = true;
	for (size_t i = 0; ok && i < sizeof sys_names / sizeof sys_names[0]; i++) {
		const char *v = sys_string(m->sys, sys_names[i]);
		if (!v && strcmp(sys_names[i], "to") == 0) {
			snprintf(to, sizeof to, "/devices/%s/messages/devicebound", device_id);
			v = to;
		} else if (!v && strcmp(sys_names[i], "absolute-expiry-time") == 0 && m->expiry_us) {
			isotime_format(m->expiry_us, when);
			v = when;
		}
		ok = add_header(resp, msg_props_http_header(sys_names[i]), v);
	}
	snprintf(num, sizeof num, "%" PRId64, m->seq);
	ok = ok && add_header(resp, "iothub-sequencenumber", num);
	isotime_format(m->enqueued_us, when);
	ok = ok && add_header(resp, "iothub-enqueuedtime", when);
	snprintf(num, sizeof num, "%d", m->delivery_count);
	ok = ok && add_header(resp, "iothub-deliverycount", num);
	ok = ok && add_header(resp, "ContentType", sys_string(m->sys, "iothub-content-type"));
	ok = ok && add_header(resp, "ContentEncoding", sys_string(m->sys, "iothub-content-encoding"));
	const cJSON *p;
	cJSON_ArrayForEach(p, m->app) {
		if (!ok)
			break;
		if (!p->string || !is_token(p->string) || strlen(p->string) > 200 ||
		    !(cJSON_IsString(p) || cJSON_IsNull(p)))
			continue;
		char name[APP_PREFIX_LEN + 201];
		snprintf(name, sizeof name, "%s%s", APP_PREFIX, p->string);
		ok = add_header(resp, name, cJSON_IsString(p) ? p->valuestring : "");
	}
	return ok;
}

/* GET .../messages/deviceBound */
static int c2d_receive(struct rest_ctx *rc, const struct rest_target *t,
		       struct rest_response *resp)
{
	struct hub_c2d_msg m;
	struct iothub_err err;
	memset(&m, 0, sizeof m);
	sh_rc r = hub_c2d_receive(rc->hub, t->device_id, HUB_C2D_LOCK_S, &m, &err);
	if (r == SH_E_NOTFOUND) {
		resp->status = 204;
		return 1;
	}
	if (r != SH_OK) {
		rest_error(resp, &err, t->legacy_errors);
		return 1;
	}
	bool ok = c2d_headers(resp, &m, t->device_id);
	if (ok && m.len) {
		resp->body = malloc(m.len);
		if ((ok = resp->body != NULL)) {
			memcpy(resp->body, m.body, m.len);
			resp->body_len = m.len;
		}
	}
	if (ok) {
		resp->status = 200;
		resp->content_type = "application/octet-stream";
		snprintf(resp->etag, sizeof resp->etag, "%s", m.lock_token);
	} else {
		/* The message stays locked; its lock runs out and it is delivered again. */
		rest_response_free(resp);
		fail(resp, t, IOTHUB_SERVER_ERROR, "out of memory");
	}
	hub_c2d_msg_free(&m);
	return 1;
}

/* DELETE .../deviceBound/{lock}[?reject] and POST .../deviceBound/{lock}/abandon */
static int c2d_settle(struct rest_ctx *rc, const struct rest_route *route,
		      const struct rest_target *t, enum hub_c2d_outcome outcome,
		      struct rest_response *resp)
{
	char lock[64];
	struct iothub_err err;
	if (!sh_span_copy(route->lock_token, lock, sizeof lock))
		return fail(resp, t, IOTHUB_DEVICE_MESSAGE_LOCK_LOST, "no message has this lock token");
	if (hub_c2d_settle(rc->hub, t->device_id, lock, outcome, &err) != SH_OK)
		rest_error(resp, &err, t->legacy_errors);
	else
		resp->status = 204;
	return 1;
}

int rest_device_api(struct rest_ctx *rc, const struct rest_route *route,
		    const struct rest_target *t, const struct rest_request *req,
		    struct rest_response *resp)
{
	switch (route->id) {
	case ROUTE_D2C_SEND:
		return d2c_send(rc, t, req, resp);
	case ROUTE_C2D_RECEIVE:
		return c2d_receive(rc, t, resp);
	case ROUTE_C2D_SETTLE:
		return c2d_settle(rc, route, t,
				  rest_query_has(req, "reject") ? HUB_C2D_REJECT : HUB_C2D_COMPLETE, resp);
	case ROUTE_C2D_ABANDON:
		return c2d_settle(rc, route, t, HUB_C2D_ABANDON, resp);
	default:
		return fail(resp, t, IOTHUB_ARGUMENT_INVALID, "not a device API operation");
	}
}
