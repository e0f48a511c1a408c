/*
 * rest_simhub.c: simhub's own API under /simhub/v1 (docs/api.md): the stored device-to-cloud
 * messages, connection events, method-call records and C2D feedback, filtered and paged; the
 * health answer; the reset; and the start of the live event stream (io/ streams it).
 * It never touches the store directly (hub calls only) and writes nothing but through reset.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>

#include "core/base64.h"
#include "core/isotime.h"
#include "core/utf8.h"
#include "hub/session_internal.h"   /* session_fail: reset closes the sessions it orphans */
#include "rest/rest_internal.h"
#include "store/store.h"

#ifndef SIMHUB_VERSION
#define SIMHUB_VERSION "0.1.0"
#endif

#define PROP_MAX 512

/* Add a stored JSON object text to o under name, {} when it does not parse. */
static void add_json_text(cJSON *o, const char *name, const char *text)
{
	cJSON *v = text ? cJSON_Parse(text) : NULL;
	if (!cJSON_IsObject(v)) {
		cJSON_Delete(v);
		v = cJSON_CreateObject();
	}
	cJSON_AddItemToObject(o, name, v);
}

/* Body as "body" (valid UTF-8 text without NUL) or "bodyBase64". False when out of memory. */
static bool add_body(cJSON *o, const void *body, size_t len)
{
	const uint8_t *b = body ? body : (const uint8_t *)"";
	bool ok;
	if (utf8_valid(b, len, UTF8_NUL_REFUSE)) {
		char *t = malloc(len + 1);
		if (!t)
			return false;
		memcpy(t, b, len);
		t[len] = '\0';
		ok = cJSON_AddStringToObject(o, "body", t) != NULL;
		free(t);
		return ok;
	}
	size_t cap = (len + 2) / 3 * 4 + 1, n = 0;
	char *t = malloc(cap);
	if (!t)
		return false;
	ok = base64_encode(b, len, t, cap, &n) == SH_OK &&
	     cJSON_AddStringToObject(o, "bodyBase64", t) != NULL;
	free(t);
	return ok;
}

static sh_rc message_item(void *arg, int64_t seq, const struct sh_d2c_row *row)
{
	struct rest_page *p = arg;
	if (rest_page_room(p) != SH_OK)
		return SH_E_STATE;   /* stop: one row past the page only says that more exist */
	cJSON *o = cJSON_CreateObject();
	char when[ISOTIME_BUF];
	isotime_format(row->enqueued_us, when);
	if (!o || !cJSON_AddNumberToObject(o, "seq", (double)seq) ||
	    !cJSON_AddStringToObject(o, "deviceId", row->device_id) ||
	    (row->module_id && row->module_id[0] &&
	     !cJSON_AddStringToObject(o, "moduleId", row->module_id)) ||
	    !cJSON_AddStringToObject(o, "enqueuedTimeUtc", when)) {
		cJSON_Delete(o);
		p->nomem = true;
		return SH_E_NOMEM;
	}
	add_json_text(o, "systemProperties", row->sys_props_json);
	add_json_text(o, "properties", row->app_props_json);
	if (!add_body(o, row->body, row->body_len)) {
		cJSON_Delete(o);
		p->nomem = true;
		return SH_E_NOMEM;
	}
	return rest_page_add(p, o, seq);
}

static sh_rc event_item(void *arg, const struct sh_conn_event_row *row)
{
	struct rest_page *p = arg;
	if (rest_page_room(p) != SH_OK)
		return SH_E_STATE;
	cJSON *o = cJSON_CreateObject();
	char when[ISOTIME_BUF];
	isotime_format(row->at_us, when);
	if (!o || !cJSON_AddNumberToObject(o, "id", (double)row->id) ||
	    !cJSON_AddStringToObject(o, "deviceId", row->device_id) ||
	    (row->module_id[0] && !cJSON_AddStringToObject(o, "moduleId", row->module_id)) ||
	    !cJSON_AddStringToObject(o, "timeUtc", when) ||
	    !cJSON_AddStringToObject(o, "event", row->event) ||
	    (row->reason && !cJSON_AddStringToObject(o, "reason", row->reason))) {
		cJSON_Delete(o);
		p->nomem = true;
		return SH_E_NOMEM;
	}
	return rest_page_add(p, o, row->id);
}

/* A stored JSON text as a value (any JSON type); JSON null when absent or unparsable. */
static cJSON *json_value(const char *text)
{
	cJSON *v = text ? cJSON_Parse(text) : NULL;
	return v ? v : cJSON_CreateNull();
}

/*
 * One method-call record: ids, name, request payload, timeouts in seconds, state, and when it
 * finished, the device's status and payload or the hub's errorCode.
 */
static sh_rc method_item(void *arg, const struct sh_method_call_row *row)
{
	struct rest_page *p = arg;
	if (rest_page_room(p) != SH_OK)
		return SH_E_STATE;
	cJSON *o = cJSON_CreateObject();
	char when[ISOTIME_BUF], done[ISOTIME_BUF];
	isotime_format(row->invoked_us, when);
	isotime_format(row->completed_us, done);
	if (!o || !cJSON_AddNumberToObject(o, "id", (double)row->id) ||
	    !cJSON_AddStringToObject(o, "deviceId", row->device_id) ||
	    (row->module_id[0] && !cJSON_AddStringToObject(o, "moduleId", row->module_id)) ||
	    !cJSON_AddStringToObject(o, "methodName", row->method_name) ||
	    !cJSON_AddItemToObject(o, "payload", json_value(row->payload)) ||
	    !cJSON_AddNumberToObject(o, "responseTimeoutInSeconds",
				     (double)(row->timeout_us / 1000000)) ||
	    !cJSON_AddNumberToObject(o, "connectTimeoutInSeconds",
				     (double)(row->connect_timeout_us / 1000000)) ||
	    !cJSON_AddStringToObject(o, "state", row->state) ||
	    !cJSON_AddStringToObject(o, "requestedTimeUtc", when) ||
	    (row->completed_us && !cJSON_AddStringToObject(o, "completedTimeUtc", done)) ||
	    (row->has_status && !cJSON_AddNumberToObject(o, "status", row->status)) ||
	    (row->has_status && !cJSON_AddItemToObject(o, "result", json_value(row->result))) ||
	    (row->error_code && !cJSON_AddNumberToObject(o, "errorCode", row->error_code))) {
		cJSON_Delete(o);
		p->nomem = true;
		return SH_E_NOMEM;
	}
	return rest_page_add(p, o, row->id);
}

static int list_messages(struct rest_ctx *rc, const struct rest_request *req,
			 struct rest_response *resp, bool legacy)
{
	struct rest_list_args a;
	if (!rest_list_args_read(req, resp, legacy, &a))
		return 1;
	char prop[PROP_MAX];
	int r = rest_query_get(req, "property", prop, sizeof prop);
	char *colon = r > 0 ? strchr(prop, ':') : NULL;
	if (r < 0 || (r > 0 && (!colon || colon == prop))) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
				"property must be name:value (at most %d bytes)", PROP_MAX - 1);
		return 1;
	}
	if (colon)
		*colon = '\0';
	char inc[8];
	r = rest_query_get(req, "includeSecurity", inc, sizeof inc);
	if (r < 0 || (r > 0 && strcmp(inc, "true") != 0 && strcmp(inc, "false") != 0)) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
				"includeSecurity must be true or false");
		return 1;
	}
	struct sh_d2c_query q = {
		.include_security = r > 0 && strcmp(inc, "true") == 0,
		.device_id = a.has_device ? a.device_id : NULL,
		.module_id = a.has_module ? a.module_id : NULL,
		.from_us = a.from_us,
		.to_us = a.to_us,
		.prop_name = colon ? prop : NULL,
		.prop_value = colon ? colon + 1 : NULL,
		.after_seq = a.after,
		.limit = a.limit + 1,
	};
	struct rest_page p = { .items = cJSON_CreateArray(), .want = a.limit };
	if (!p.items) {
		rest_error_code(resp, IOTHUB_SERVER_ERROR, legacy, "out of memory");
		return 1;
	}
	sh_rc w = store_d2c_query(hub_store(rc->hub), &q, message_item, &p);
	return rest_page_answer(rc, &p, w, "messages", resp, legacy);
}

static int list_connections(struct rest_ctx *rc, const struct rest_request *req,
			    struct rest_response *resp, bool legacy)
{
	struct rest_list_args a;
	if (!rest_list_args_read(req, resp, legacy, &a))
		return 1;
	struct sh_conn_event_query q = {
		.device_id = a.has_device ? a.device_id : NULL,
		.module_id = a.has_module ? a.module_id : NULL,
		.from_us = a.from_us,
		.to_us = a.to_us,
		.after_id = a.after,
		.limit = a.limit + 1,
	};
	struct rest_page p = { .items = cJSON_CreateArray(), .want = a.limit };
	if (!p.items) {
		rest_error_code(resp, IOTHUB_SERVER_ERROR, legacy, "out of memory");
		return 1;
	}
	sh_rc w = store_connection_event_query(hub_store(rc->hub), &q, event_item, &p);
	return rest_page_answer(rc, &p, w, "events", resp, legacy);
}

static int list_methods(struct rest_ctx *rc, const struct rest_request *req,
			struct rest_response *resp, bool legacy)
{
	struct rest_list_args a;
	if (!rest_list_args_read(req, resp, legacy, &a))
		return 1;
	char name[130];
	int r = rest_query_get(req, "methodName", name, sizeof name);
	if (r < 0 || (r > 0 && (!name[0] || strlen(name) > 128))) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
				"methodName must be 1 to 128 characters");
		return 1;
	}
	struct sh_method_call_query q = {
		.device_id = a.has_device ? a.device_id : NULL,
		.module_id = a.has_module ? a.module_id : NULL,
		.method_name = r > 0 ? name : NULL,
		.from_us = a.from_us,
		.to_us = a.to_us,
		.after_id = a.after,
		.limit = a.limit + 1,
	};
	struct rest_page p = { .items = cJSON_CreateArray(), .want = a.limit };
	if (!p.items) {
		rest_error_code(resp, IOTHUB_SERVER_ERROR, legacy, "out of memory");
		return 1;
	}
	sh_rc w = store_method_call_query(hub_store(rc->hub), &q, method_item, &p);
	return rest_page_answer(rc, &p, w, "calls", resp, legacy);
}

static int health(struct rest_ctx *rc, struct rest_response *resp)
{
	int64_t up = (hub_now_us(rc->hub) - rc->started_us) / 1000000;
	cJSON *o = cJSON_CreateObject();
	cJSON *v = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "status", "ok");
	cJSON_AddStringToObject(o, "version", SIMHUB_VERSION);
	cJSON_AddNumberToObject(o, "schema", store_schema_version());
	cJSON_AddNumberToObject(o, "uptimeSeconds", (double)(up > 0 ? up : 0));
	cJSON_AddStringToObject(v, "simhub", SIMHUB_VERSION);
	cJSON_AddStringToObject(v, "sqlite", store_sqlite_version());
	cJSON_AddStringToObject(v, "libwebsockets", lws_get_library_version());
	cJSON_AddStringToObject(v, "openssl", OpenSSL_version(OPENSSL_VERSION));
	cJSON_AddItemToObject(o, "versions", v);
	rest_json(resp, 200, o);
	return 1;
}

/* One C2D feedback record in IoT Hub's field names, plus simhub's record id. */
static sh_rc feedback_item(void *arg, const struct hub_c2d_feedback *f)
{
	struct rest_page *p = arg;
	if (rest_page_room(p) != SH_OK)
		return SH_E_STATE;
	cJSON *o = cJSON_CreateObject();
	char when[ISOTIME_BUF];
	isotime_format(f->enqueued_us, when);
	if (!o || !cJSON_AddNumberToObject(o, "id", (double)f->id) ||
	    !cJSON_AddStringToObject(o, "originalMessageId", f->original_message_id) ||
	    !cJSON_AddStringToObject(o, "deviceGenerationId", f->device_generation_id) ||
	    !cJSON_AddStringToObject(o, "deviceId", f->device_id) ||
	    !cJSON_AddStringToObject(o, "enqueuedTimeUtc", when) ||
	    !cJSON_AddStringToObject(o, "statusCode", f->status_code) ||
	    !cJSON_AddStringToObject(o, "description", f->description)) {
		cJSON_Delete(o);
		p->nomem = true;
		return SH_E_NOMEM;
	}
	return rest_page_add(p, o, f->id);
}

static int list_feedback(struct rest_ctx *rc, const struct rest_request *req,
			 struct rest_response *resp, bool legacy)
{
	struct rest_list_args a;
	if (!rest_list_args_read(req, resp, legacy, &a))
		return 1;
	struct hub_c2d_feedback_query q = {
		.device_id = a.has_device ? a.device_id : NULL,
		.from_us = a.from_us,
		.to_us = a.to_us,
		.after_id = a.after,
		.limit = a.limit + 1,
	};
	struct rest_page p = { .items = cJSON_CreateArray(), .want = a.limit };
	if (!p.items) {
		rest_error_code(resp, IOTHUB_SERVER_ERROR, legacy, "out of memory");
		return 1;
	}
	sh_rc w = hub_c2d_feedback_each(rc->hub, &q, feedback_item, &p);
	return rest_page_answer(rc, &p, w, "feedback", resp, legacy);
}

/*
 * The value of types= as the client wrote it. lws 4.1 may join the query's arguments with ','
 * (rest.h), the separator of the types list too: the fragments after "types=..." that hold no
 * '=' belong to it. Returns 1 found, 0 absent, -1 too long for cap.
 */
static int query_types(const struct rest_request *req, char *buf, size_t cap)
{
	int r = rest_query_get(req, "types", buf, cap);
	if (r <= 0 || !req->query)
		return r;
	const char *q = req->query, *start = NULL;
	while (*q) {
		size_t arg = strcspn(q, "&,");
		if (!start && strncmp(q, "types=", 6) == 0) {
			start = q;
		} else if (start) {
			if (q[-1] != ',' || memchr(q, '=', arg))
				break;
			size_t n = strlen(buf);
			if (n + 1 + arg >= cap)
				return -1;
			buf[n] = ',';
			memcpy(buf + n + 1, q, arg);
			buf[n + 1 + arg] = '\0';
		}
		q += arg;
		if (*q)
			q++;
	}
	return 1;
}

/*
 * GET /simhub/v1/events: check the filters and answer 200 text/event-stream without a body;
 * io/lws_rest.c sees that content type, keeps the connection and streams the events.
 */
static int events_start(const struct rest_request *req, struct rest_response *resp, bool legacy)
{
	char types[256], dev[SH_ID_MAX + 2], mod[SH_ID_MAX + 2];
	int rt = query_types(req, types, sizeof types);
	int rd = rest_query_get(req, "deviceId", dev, sizeof dev);
	int rm = rest_query_get(req, "moduleId", mod, sizeof mod);
	struct hub_event_filter f;
	struct iothub_err err;
	if (rt < 0 || rd < 0 || rm < 0) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
				"types, deviceId or moduleId is too long");
		return 1;
	}
	if (hub_event_filter_init(&f, rt ? types : NULL, rd ? dev : NULL, rm ? mod : NULL, &err) !=
	    SH_OK) {
		rest_error(resp, &err, legacy);
		return 1;
	}
	resp->status = 200;
	resp->content_type = "text/event-stream";
	rest_response_add_header(resp, "Cache-Control", "no-cache");
	return 1;
}

/* The identities live before a reset, so their sessions can be closed after it. */
struct id_list {
	struct hub_sessions *reg;
	struct sh_hub *hub;
	size_t n, cap;
	char (*ids)[2][SH_ID_MAX + 1];
	bool nomem;
};

static sh_rc collect_id(void *arg, const struct sh_identity *id)
{
	struct id_list *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char (*nl)[2][SH_ID_MAX + 1] = realloc(l->ids, cap * sizeof *nl);
		if (!nl) {
			l->nomem = true;
			return SH_E_NOMEM;
		}
		l->ids = nl;
		l->cap = cap;
	}
	snprintf(l->ids[l->n][0], SH_ID_MAX + 1, "%s", id->device_id);
	snprintf(l->ids[l->n][1], SH_ID_MAX + 1, "%s", id->module_id);
	l->n++;
	return SH_OK;
}

static sh_rc collect_device(void *arg, const struct sh_identity *id)
{
	struct id_list *l = arg;
	sh_rc rc = collect_id(arg, id);
	if (rc == SH_OK)
		rc = hub_identity_each(l->hub, id->device_id, collect_id, l, NULL);
	return rc;
}

/*
 * POST /simhub/v1/reset: body empty, {} or {"fixtures":true|false}. Empties the hub (and seeds
 * it again from serve's fixtures when asked), then closes the live sessions of every identity
 * that existed before: their identities were deleted (or re-created with new keys). 200 with
 * the counts of what went.
 */
static int reset(struct rest_ctx *rc, const struct rest_request *req, struct rest_response *resp,
		 bool legacy)
{
	bool fixtures = false;
	if (req->body_len) {
		cJSON *b = rest_body_json(req, resp, legacy);
		if (!b)
			return 1;
		const cJSON *fx = cJSON_GetObjectItemCaseSensitive(b, "fixtures");
		bool ok = cJSON_IsObject(b) && (!fx || cJSON_IsBool(fx));
		fixtures = cJSON_IsTrue(fx);
		cJSON_Delete(b);
		if (!ok) {
			rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
					"the body must be {} or {\"fixtures\": true}");
			return 1;
		}
	}
	struct id_list l = { .reg = rc->reg, .hub = rc->hub };
	struct iothub_err err;
	memset(&err, 0, sizeof err);
	struct hub_reset_counts c;
	if (hub_identity_each(rc->hub, NULL, collect_device, &l, &err) != SH_OK || l.nomem) {
		free(l.ids);
		rest_error_code(resp, IOTHUB_SERVER_ERROR, legacy, "listing identities failed");
		return 1;
	}
	if (hub_reset(rc->hub, fixtures, &c, &err) != SH_OK) {
		free(l.ids);
		rest_error(resp, &err, legacy);
		return 1;
	}
	int64_t closed = 0;
	for (size_t i = 0; i < l.n && rc->reg; i++) {
		struct hub_session *s = hub_sessions_find(rc->reg, l.ids[i][0], l.ids[i][1]);
		if (s) {
			session_fail(s, "hub-reset");
			closed++;
		}
	}
	free(l.ids);
	cJSON *o = cJSON_CreateObject();
	cJSON *r = cJSON_AddObjectToObject(o, "removed");
	cJSON_AddNumberToObject(r, "devices", (double)c.devices);
	cJSON_AddNumberToObject(r, "modules", (double)c.modules);
	cJSON_AddNumberToObject(r, "messages", (double)c.d2c_messages);
	cJSON_AddNumberToObject(r, "c2dMessages", (double)c.c2d_messages);
	cJSON_AddNumberToObject(r, "c2dFeedback", (double)c.c2d_feedback);
	cJSON_AddNumberToObject(r, "connectionEvents", (double)c.connection_events);
	cJSON_AddNumberToObject(r, "methodCalls", (double)c.method_calls);
	cJSON_AddNumberToObject(r, "securityMessages", (double)c.security_messages);
	cJSON_AddNumberToObject(r, "securityEvents", (double)c.security_events);
	cJSON_AddNumberToObject(r, "securityAlerts", (double)c.security_alerts);
	cJSON_AddNumberToObject(o, "sessionsClosed", (double)closed);
	cJSON_AddBoolToObject(o, "fixtures", c.reseeded);
	rest_json(resp, 200, o);
	return 1;
}

int rest_simhub(struct rest_ctx *rc, const struct rest_route *route, const struct rest_target *t,
		const struct rest_request *req, struct rest_response *resp)
{
	switch (route->id) {
	case ROUTE_SIMHUB_EVENTS:
		return events_start(req, resp, t->legacy_errors);
	case ROUTE_SIMHUB_RESET:
		return reset(rc, req, resp, t->legacy_errors);
	case ROUTE_SIMHUB_FEEDBACK:
		return list_feedback(rc, req, resp, t->legacy_errors);
	case ROUTE_SIMHUB_MESSAGES:
		return list_messages(rc, req, resp, t->legacy_errors);
	case ROUTE_SIMHUB_CONNECTIONS:
		return list_connections(rc, req, resp, t->legacy_errors);
	case ROUTE_SIMHUB_METHODS:
		return list_methods(rc, req, resp, t->legacy_errors);
	default:
		return health(rc, resp);
	}
}
