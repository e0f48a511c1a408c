/*
 * session_publish.c: PUBLISH from a device: telemetry (property bag, size limit, RETAIN),
 * twin GET and reported PATCH with their answers on $iothub/twin/res/, and direct-method
 * answers. Every twin request gets an answer (the Node SDK has no twin timeout); a publish to a
 * topic that is not this identity's, or QoS 2, closes the connection (§2.4).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/hub_topic.h"
#include "core/isotime.h"
#include "core/msg_props.h"
#include "core/mqtt_write.h"
#include "hub/session_internal.h"

static void puback(struct hub_session *s, const struct mqtt_publish *pub)
{
	if (pub->qos != 1)
		return;
	uint8_t buf[4];
	size_t n = 0;
	if (mqtt_write_puback(buf, sizeof buf, pub->packet_id, &n) == SH_OK)
		session_send(s, buf, n);
}

static void on_telemetry(struct hub_session *s, const struct mqtt_publish *pub,
			 const struct hub_topic *t)
{
	if (!sh_span_eq_str(t->device_id, s->device_id) || !sh_span_eq_str(t->module_id, s->module_id)) {
		session_fail(s, "publish-to-foreign-topic");
		return;
	}
	if (pub->payload.len + t->props.len > SESSION_MAX_MESSAGE) {
		session_fail(s, "message-too-large");
		return;
	}
	cJSON *sys = NULL, *app = NULL;
	if (msg_props_parse(t->props, SESSION_MAX_MESSAGE, &sys, &app) != SH_OK) {
		session_fail(s, "malformed-property-bag");
		return;
	}
	if (pub->retain) {
		if (!app)
			app = cJSON_CreateObject();
		cJSON_DeleteItemFromObjectCaseSensitive(app, "mqtt-retain");
		cJSON_AddStringToObject(app, "mqtt-retain", "true");
	}
	if (session_fault_throttled(s)) {
		cJSON_Delete(sys);
		cJSON_Delete(app);
		session_fail(s, "fault-throttled-429001");
		return;
	}
	session_fault_injection(s, app);
	struct iothub_err err;
	sh_rc rc = hub_telemetry(s->hub, s->device_id, s->module_id, sys, app, pub->payload.ptr,
				 pub->payload.len, NULL, &err);
	cJSON_Delete(sys);
	cJSON_Delete(app);
	if (rc != SH_OK) {
		session_fail(s, "store-error");
		return;
	}
	int64_t delay = 0;
	int held = pub->qos == 1 ? session_fault_puback(s, &delay) : 0;
	if (held == 2)
		session_fault_delay_ack(s, pub->packet_id, hub_now_us(s->hub) + delay);
	else if (held == 0)
		puback(s, pub);
}

/*
 * Answer a twin request on $iothub/twin/res/{status}/?$rid=... (only when the connection is
 * subscribed to $iothub/twin/res/#: MQTT forbids publishing what was not subscribed to).
 * Errors carry the body IoT Hub sends on the device channel, errorCode first (§3.7).
 */
static void twin_answer(struct hub_session *s, int status, struct sh_span rid, int64_t version,
			const char *body, const struct iothub_err *err)
{
	if (!(s->subs & SUB_TWIN_RES))
		return;
	char topic[512];
	size_t n = 0;
	if (hub_topic_build_twin_res(status, rid, version, topic, sizeof topic, &n) != SH_OK)
		return;
	char ebody[512];
	if (err) {
		char when[ISOTIME_BUF];
		isotime_format(hub_now_us(s->hub), when);
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "errorCode", (double)err->code);
		char track[48];
		snprintf(track, sizeof track, "simhub-%" PRId64, hub_now_us(s->hub));
		cJSON_AddStringToObject(e, "trackingId", track);
		cJSON_AddStringToObject(e, "message", err->message);
		cJSON_AddStringToObject(e, "timestampUtc", when);
		char *txt = cJSON_PrintUnformatted(e);
		cJSON_Delete(e);
		snprintf(ebody, sizeof ebody, "%s", txt ? txt : "{\"errorCode\":500001}");
		cJSON_free(txt);
		body = ebody;
	}
	session_publish(s, topic, body, body ? strlen(body) : 0, 0, 0);
}

static void twin_error(struct hub_session *s, struct sh_span rid, enum iothub_error code,
		       const char *msg)
{
	struct iothub_err err;
	iothub_err_set(&err, code, "%s", msg);
	twin_answer(s, iothub_error_http_status(code), rid, -1, NULL, &err);
}

/* A twin-error fault takes this request: answer with its status (session_faults.c). */
static bool twin_fault(struct hub_session *s, unsigned op, struct sh_span rid)
{
	int status = 0;
	if (!session_fault_twin(s, op, &status))
		return false;
	struct iothub_err err;
	enum iothub_error code = status == 429 ? IOTHUB_THROTTLED
			       : status == 503 ? IOTHUB_SERVICE_UNAVAILABLE
			       : status == 500 ? IOTHUB_SERVER_ERROR
			       : (enum iothub_error)(status * 1000 + 1);
	iothub_err_set(&err, code, "fault injected by the scenario runner");
	twin_answer(s, status, rid, -1, NULL, &err);
	return true;
}

/*
 * The session event of a twin request (twin.get or twin.reported; `serve --record`): its $rid
 * (absent when the request had none), the patch when there is one, and the answer: status,
 * and version when it is >= 0 (the reported $version).
 */
static void twin_event(struct hub_session *s, const char *op, const struct hub_topic *t,
		       const cJSON *patch, int status, int64_t version)
{
	cJSON *ev = session_event_new(s, op);
	if (!ev)
		return;
	char *rid = t->has_rid ? malloc(t->rid.len + 1) : NULL;
	if (rid) {
		sh_span_copy(t->rid, rid, t->rid.len + 1);
		cJSON_AddStringToObject(ev, "rid", rid);
		free(rid);
	}
	if (patch)
		cJSON_AddItemToObject(ev, "patch", cJSON_Duplicate(patch, 1));
	cJSON_AddNumberToObject(ev, "status", status);
	if (version >= 0)
		cJSON_AddNumberToObject(ev, "version", (double)version);
	session_emit(s, ev);
}

/*
 * The session event of a method answer: the $rid it names, the device's status and its body
 * as JSON (a body that is not JSON as a JSON string; none when empty). Emitted whether or not
 * a call waits for it: the device sent it.
 */
static void method_response_event(struct hub_session *s, const struct hub_topic *t,
				  const struct mqtt_publish *pub)
{
	cJSON *ev = session_event_new(s, "method.response");
	if (!ev)
		return;
	char *rid = malloc(t->rid.len + 1);
	if (rid) {
		sh_span_copy(t->rid, rid, t->rid.len + 1);
		cJSON_AddStringToObject(ev, "rid", rid);
		free(rid);
	}
	cJSON_AddNumberToObject(ev, "status", t->status);
	if (pub->payload.len) {
		cJSON *p = cJSON_ParseWithLength((const char *)pub->payload.ptr, pub->payload.len);
		char *txt = p ? NULL : malloc(pub->payload.len + 1);
		if (txt) {
			memcpy(txt, pub->payload.ptr, pub->payload.len);
			txt[pub->payload.len] = '\0';
			p = cJSON_CreateString(txt);
			free(txt);
		}
		if (p)
			cJSON_AddItemToObject(ev, "payload", p);
	}
	session_emit(s, ev);
}

static void on_twin_get(struct hub_session *s, const struct mqtt_publish *pub, const struct hub_topic *t)
{
	puback(s, pub);   /* hub_topic_parse_publish refuses a GET without $rid */
	if (twin_fault(s, HUB_FAULT_TWIN_GET, t->rid))
		return;
	cJSON *view = NULL;
	struct iothub_err err;
	if (hub_twin_device_view(s->hub, s->device_id, s->module_id, &view, &err) != SH_OK) {
		twin_answer(s, iothub_error_http_status(err.code), t->rid, -1, NULL, &err);
		twin_event(s, "twin.get", t, NULL, iothub_error_http_status(err.code), -1);
		return;
	}
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(view, "reported"), "$version");
	int64_t version = cJSON_IsNumber(rv) ? (int64_t)rv->valuedouble : -1;
	char *text = cJSON_PrintUnformatted(view);
	cJSON_Delete(view);
	if (!text) {
		twin_error(s, t->rid, IOTHUB_SERVER_ERROR, "out of memory");
		return;
	}
	twin_answer(s, 200, t->rid, -1, text, NULL);
	cJSON_free(text);
	twin_event(s, "twin.get", t, NULL, 200, version);
}

static void on_twin_patch(struct hub_session *s, const struct mqtt_publish *pub,
			  const struct hub_topic *t)
{
	puback(s, pub);   /* without $rid: applied, answered with an empty $rid (as IoT Edge) */
	if (twin_fault(s, HUB_FAULT_TWIN_PATCH_REPORTED, t->rid))
		return;
	cJSON *patch = cJSON_ParseWithLength((const char *)pub->payload.ptr, pub->payload.len);
	if (!patch || !cJSON_IsObject(patch)) {
		cJSON_Delete(patch);
		twin_error(s, t->rid, IOTHUB_ARGUMENT_INVALID,
			   "the reported properties patch must be a JSON object");
		return;
	}
	int64_t version = 0;
	struct iothub_err err;
	sh_rc rc = hub_twin_patch_reported(s->hub, s->device_id, s->module_id, patch, &version, &err);
	if (rc != SH_OK) {
		twin_answer(s, iothub_error_http_status(err.code), t->rid, -1, NULL, &err);
		twin_event(s, "twin.reported", t, patch, iothub_error_http_status(err.code), -1);
	} else {
		twin_answer(s, 204, t->rid, version, NULL, NULL);
		twin_event(s, "twin.reported", t, patch, 204, version);
	}
	cJSON_Delete(patch);
}

void session_on_publish(struct hub_session *s, const struct mqtt_raw *p)
{
	struct mqtt_publish pub;
	if (mqtt_decode_publish(p, &pub) != SH_OK) {
		session_fail(s, "malformed-publish");
		return;
	}
	if (pub.qos > 1) {
		session_fail(s, "qos2-publish");
		return;
	}
	struct hub_topic t;
	sh_rc rc = hub_topic_parse_publish((const char *)pub.topic.ptr, pub.topic.len, &t);
	if (rc != SH_OK) {
		session_fail(s, rc == SH_E_NOTFOUND ? "publish-to-unknown-topic" : "malformed-topic");
		return;
	}
	switch (t.kind) {
	case HUB_TOPIC_TELEMETRY:
		on_telemetry(s, &pub, &t);
		return;
	case HUB_TOPIC_TWIN_GET:
		on_twin_get(s, &pub, &t);
		return;
	case HUB_TOPIC_TWIN_PATCH_REPORTED:
		on_twin_patch(s, &pub, &t);
		return;
	case HUB_TOPIC_METHOD_RESPONSE:
		puback(s, &pub);
		method_response_event(s, &t, &pub);
		session_method_answer(s, (const char *)t.rid.ptr, t.rid.len, t.status, pub.payload.ptr,
				      pub.payload.len);
		return;
	}
	session_fail(s, "publish-to-unknown-topic");
}
