/*
 * rest_methods.c: POST /twins/{id}[/modules/{mid}]/methods (iothub-protocol.md §5): validate the
 * invocation, hand it to the device's session, and answer when the device does:
 * 200 {"status":N,"payload":...}, 404103 when it is not online, 504101 on timeout. The HTTP
 * request stays open meanwhile; the loop keeps serving everyone else. Every accepted call is
 * recorded (methods_log.c) and its record finished with whatever outcome reaches method_done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "rest/rest_internal.h"

#define METHOD_TIMEOUT_DEFAULT 30
#define METHOD_TIMEOUT_MIN 5
#define METHOD_TIMEOUT_MAX 300
#define METHOD_PAYLOAD_MAX (128 * 1024)

/* §5: printable US-ASCII except $ ( ) < > @ , ; : \ " / [ ] ? = { } space and tab. */
static bool valid_method_name(const char *s)
{
	if (!*s || strlen(s) > 128)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f || strchr("$()<>@,;:\\\"/[]?={}", c))
			return false;
	}
	return true;
}

static void unlink_pending(struct rest_pending *p)
{
	if (!p->rc)
		return;
	for (struct rest_pending **pp = &p->rc->pending; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			return;
		}
	}
}

/* The session's answer (or timeout, or disconnect): complete the HTTP request if it is still there. */
static void method_done(void *arg, int status, const cJSON *payload, const struct iothub_err *err)
{
	struct rest_pending *p = arg;
	unlink_pending(p);
	if (p->log_id) {
		struct iothub_err lerr;
		if (hub_method_log_finish(p->hub, p->log_id, status, payload, err, &lerr) != SH_OK)
			fprintf(stderr, "simhub: method call record: %s\n", lerr.message);
	}
	if (p->conn) {
		struct rest_response resp;
		memset(&resp, 0, sizeof resp);
		if (err) {
			rest_error(&resp, err, p->legacy_errors);
		} else {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddNumberToObject(o, "status", status);
			cJSON_AddItemToObject(o, "payload",
					      payload ? cJSON_Duplicate(payload, 1) : cJSON_CreateNull());
			rest_json(&resp, 200, o);
		}
		p->done(p->conn, &resp);
		rest_response_free(&resp);
	}
	free(p);
}

int rest_methods(struct rest_ctx *rc, const struct rest_target *t, const struct rest_request *req,
		 struct rest_response *resp, rest_done_fn done, void *conn)
{
	bool legacy = t->legacy_errors;
	if (req->body_len > METHOD_PAYLOAD_MAX + 1024) {
		rest_error_code(resp, IOTHUB_MESSAGE_TOO_LARGE, legacy,
				"the method payload is over %d bytes", METHOD_PAYLOAD_MAX);
		return 1;
	}
	cJSON *body = rest_body_json(req, resp, legacy);
	if (!body)
		return 1;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "methodName");
	const cJSON *payload = cJSON_GetObjectItemCaseSensitive(body, "payload");
	const cJSON *rto = cJSON_GetObjectItemCaseSensitive(body, "responseTimeoutInSeconds");
	const cJSON *cto = cJSON_GetObjectItemCaseSensitive(body, "connectTimeoutInSeconds");
	int timeout = METHOD_TIMEOUT_DEFAULT;
	if (!cJSON_IsObject(body) || !cJSON_IsString(name) || !valid_method_name(name->valuestring)) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
				"methodName is missing or has characters a method name cannot have");
		goto out;
	}
	if (rto && !cJSON_IsNull(rto)) {
		if (!cJSON_IsNumber(rto) || rto->valuedouble < METHOD_TIMEOUT_MIN ||
		    rto->valuedouble > METHOD_TIMEOUT_MAX) {
			rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
					"responseTimeoutInSeconds must be %d to %d", METHOD_TIMEOUT_MIN,
					METHOD_TIMEOUT_MAX);
			goto out;
		}
		timeout = (int)rto->valuedouble;
	}
	int connect_timeout = 0;
	if (cto && !cJSON_IsNull(cto)) {
		if (!cJSON_IsNumber(cto) || cto->valuedouble < 0 || cto->valuedouble > METHOD_TIMEOUT_MAX) {
			rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
					"connectTimeoutInSeconds must be 0 to %d", METHOD_TIMEOUT_MAX);
			goto out;
		}
		connect_timeout = (int)cto->valuedouble;
	}
	/* The identity must exist: 404001/404010 before "not online". */
	struct sh_identity id;
	struct iothub_err err;
	if (hub_identity_get(rc->hub, t->device_id, t->module_id, &id, &err) != SH_OK) {
		rest_error(resp, &err, legacy);
		goto out;
	}
	struct rest_pending *p = calloc(1, sizeof *p);
	if (!p) {
		rest_error_code(resp, IOTHUB_SERVER_ERROR, legacy, "out of memory");
		goto out;
	}
	p->rc = rc;
	p->conn = conn;
	p->done = done;
	p->legacy_errors = legacy;
	p->hub = rc->hub;
	/* The record is best effort: a store failure must not refuse the call itself. */
	struct iothub_err lerr;
	if (hub_method_log_begin(rc->hub, t->device_id, t->module_id, name->valuestring, payload,
				 timeout, connect_timeout, &p->log_id, &lerr) != SH_OK) {
		fprintf(stderr, "simhub: method call record: %s\n", lerr.message);
		p->log_id = 0;
	}
	if (hub_method_invoke(rc->reg, t->device_id, t->module_id, name->valuestring, payload, timeout,
			      connect_timeout, method_done, p, &err) != SH_OK) {
		if (p->log_id &&
		    hub_method_log_finish(rc->hub, p->log_id, 0, NULL, &err, &lerr) != SH_OK)
			fprintf(stderr, "simhub: method call record: %s\n", lerr.message);
		free(p);
		rest_error(resp, &err, legacy);
		goto out;
	}
	p->next = rc->pending;
	rc->pending = p;
	cJSON_Delete(body);
	return 0;
out:
	cJSON_Delete(body);
	return 1;
}
