/*
 * c2d.c: the cloud-to-device queue of iothub-protocol.md §6: at most 50 messages per device,
 * 64 KB each, a TTL, a one-minute lock on receive, complete / reject / abandon by lock token,
 * and dead-lettering on expiry, rejection or too many deliveries. Transport-free: the MQTT
 * session and the HTTPS device API both receive and settle through here.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/isotime.h"
#include "hub/hub_internal.h"

static const char *const ack_values[] = {"none", "positive", "negative", "full"};

static bool valid_ack(const char *a)
{
	for (size_t i = 0; i < sizeof ack_values / sizeof ack_values[0]; i++)
		if (strcmp(a, ack_values[i]) == 0)
			return true;
	return false;
}

/* The stored properties: {"sys":{canonical names},"app":{...}}. */
static cJSON *build_props(const char *device_id, const struct hub_c2d_send *m, int64_t expiry_us,
			  const char *ack)
{
	cJSON *props = cJSON_CreateObject();
	cJSON *sys = cJSON_AddObjectToObject(props, "sys");
	if (!sys)
		goto fail;
	if (m->message_id)
		cJSON_AddStringToObject(sys, "message-id", m->message_id);
	char to[SH_ID_MAX + 64];
	snprintf(to, sizeof to, "/devices/%s/messages/devicebound", device_id);
	cJSON_AddStringToObject(sys, "to", to);
	if (m->correlation_id)
		cJSON_AddStringToObject(sys, "correlation-id", m->correlation_id);
	if (m->user_id)
		cJSON_AddStringToObject(sys, "user-id", m->user_id);
	if (m->content_type)
		cJSON_AddStringToObject(sys, "iothub-content-type", m->content_type);
	if (m->content_encoding)
		cJSON_AddStringToObject(sys, "iothub-content-encoding", m->content_encoding);
	char when[ISOTIME_BUF];
	isotime_format(expiry_us, when);
	cJSON_AddStringToObject(sys, "absolute-expiry-time", when);
	if (strcmp(ack, "none") != 0)
		cJSON_AddStringToObject(sys, "iothub-ack", ack);
	cJSON *app = m->app ? cJSON_Duplicate(m->app, 1) : cJSON_CreateObject();
	if (!app)
		goto fail;
	cJSON_AddItemToObject(props, "app", app);
	return props;
fail:
	cJSON_Delete(props);
	return NULL;
}

/* Application properties must be an object of strings (they travel as text on every transport). */
static bool valid_app(const cJSON *app)
{
	if (!app)
		return true;
	if (!cJSON_IsObject(app))
		return false;
	const cJSON *v;
	cJSON_ArrayForEach(v, app) {
		if (!cJSON_IsString(v) || !v->string[0])
			return false;
	}
	return true;
}

sh_rc hub_c2d_send(struct sh_hub *hub, const char *device_id, const struct hub_c2d_send *m,
		   int64_t *seq_out, struct iothub_err *err)
{
	const char *ack = m->ack ? m->ack : "none";
	if (!valid_ack(ack)) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID,
			       "ack must be none, positive, negative or full, not '%.40s'", ack);
		return SH_E_INVALID;
	}
	if (!valid_app(m->app)) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID,
			       "application properties must have non-empty names and string values");
		return SH_E_INVALID;
	}
	int64_t now = hub_now_us(hub);
	int64_t expiry = m->expiry_us ? m->expiry_us : now + (int64_t)HUB_C2D_DEFAULT_TTL_S * 1000000;
	cJSON *props = build_props(device_id, m, expiry, ack);
	char *text = props ? cJSON_PrintUnformatted(props) : NULL;
	cJSON_Delete(props);
	if (!text) {
		iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
		return SH_E_NOMEM;
	}
	if (m->len + strlen(text) > HUB_C2D_MAX_BYTES) {
		cJSON_free(text);
		iothub_err_set(err, IOTHUB_MESSAGE_TOO_LARGE,
			       "a cloud-to-device message is limited to %d bytes with its properties",
			       HUB_C2D_MAX_BYTES);
		return SH_E_TOOLARGE;
	}
	sh_rc rc = hub_op_begin(hub, err);
	if (rc != SH_OK) {
		cJSON_free(text);
		return rc;
	}
	struct sh_identity dev;
	int64_t active = 0;
	rc = hub_identity_get(hub, device_id, NULL, &dev, err);
	if (rc == SH_OK && (rc = store_c2d_expire(hub->st, device_id, now, NULL)) == SH_OK &&
	    (rc = store_c2d_count_active(hub->st, device_id, &active)) == SH_OK) {
		if (active >= HUB_C2D_MAX_QUEUE) {
			iothub_err_set(err, IOTHUB_DEVICE_MAX_QUEUE_DEPTH,
				       "device %s already has %d cloud-to-device messages queued",
				       device_id, HUB_C2D_MAX_QUEUE);
			rc = SH_E_TOOLARGE;
		} else {
			rc = store_c2d_insert(hub->st, device_id, m->message_id, text, m->body, m->len,
					      ack, now, expiry, seq_out);
			if (rc != SH_OK)
				hub_store_failed(hub, rc, err);
		}
	} else if (rc != SH_OK && rc != SH_E_NOTFOUND) {
		hub_store_failed(hub, rc, err);
	}
	cJSON_free(text);
	rc = hub_op_end(hub, rc, err);
	if (rc == SH_OK && hub->notify.c2d_queued)
		hub->notify.c2d_queued(hub->notify.ctx, device_id);
	return rc;
}

void hub_c2d_msg_free(struct hub_c2d_msg *m)
{
	if (!m)
		return;
	cJSON_Delete(m->sys);
	cJSON_Delete(m->app);
	free(m->body);
	memset(m, 0, sizeof *m);
}

/* A lock token: 32 random hex digits in the 8-4-4-4-12 shape of a GUID, as the hub's look. */
static void new_lock_token(struct sh_hub *hub, char out[40])
{
	uint8_t r[16];
	hub->env.random(hub->env.ctx, r, sizeof r);
	snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
		 r[13], r[14], r[15]);
}

sh_rc hub_c2d_receive(struct sh_hub *hub, const char *device_id, int lock_s,
		      struct hub_c2d_msg *out, struct iothub_err *err)
{
	memset(out, 0, sizeof *out);
	sh_rc rc = hub_op_begin(hub, err);
	if (rc != SH_OK)
		return rc;
	int64_t now = hub_now_us(hub);
	struct sh_identity dev;
	struct sh_c2d_row row;
	memset(&row, 0, sizeof row);
	bool empty = false;           /* the device exists but has nothing to deliver */
	rc = hub_identity_get(hub, device_id, NULL, &dev, err);
	if (rc == SH_OK && (rc = store_c2d_expire(hub->st, device_id, now, NULL)) == SH_OK) {
		rc = store_c2d_next(hub->st, device_id, now, &row);
		empty = rc == SH_E_NOTFOUND;
	}
	if (rc == SH_OK) {
		new_lock_token(hub, out->lock_token);
		rc = store_c2d_lock(hub->st, row.seq, out->lock_token,
				    now + (int64_t)lock_s * 1000000);
	}
	if (rc == SH_OK) {
		cJSON *props = cJSON_Parse(row.properties_json);
		out->sys = cJSON_DetachItemFromObjectCaseSensitive(props, "sys");
		out->app = cJSON_DetachItemFromObjectCaseSensitive(props, "app");
		cJSON_Delete(props);
		if (!out->sys)
			out->sys = cJSON_CreateObject();
		if (!out->app)
			out->app = cJSON_CreateObject();
		out->seq = row.seq;
		out->delivery_count = row.delivery_count;
		out->enqueued_us = row.enqueued_us;
		out->expiry_us = row.expiry_us;
		out->body = row.body;
		out->len = row.body_len;
		row.body = NULL;
	} else if (rc != SH_E_NOTFOUND) {
		hub_store_failed(hub, rc, err);
	}
	store_c2d_row_free(&row);
	/* An empty queue is not a failed operation: keep what expiry wrote, report NOTFOUND. */
	sh_rc end = hub_op_end(hub, empty ? SH_OK : rc, err);
	if (end != SH_OK && rc == SH_OK) {
		hub_c2d_msg_free(out);
		return end;
	}
	return empty ? SH_E_NOTFOUND : rc;
}

sh_rc hub_c2d_settle(struct sh_hub *hub, const char *device_id, const char *lock_token,
		     enum hub_c2d_outcome outcome, struct iothub_err *err)
{
	sh_rc rc = hub_op_begin(hub, err);
	if (rc != SH_OK)
		return rc;
	int64_t now = hub_now_us(hub);
	struct sh_c2d_row row;
	memset(&row, 0, sizeof row);
	rc = store_c2d_find_lock(hub->st, device_id, lock_token, now, &row);
	if (rc == SH_E_NOTFOUND) {
		iothub_err_set(err, IOTHUB_DEVICE_MESSAGE_LOCK_LOST,
			       "no locked cloud-to-device message with lock token %.60s", lock_token);
	} else if (rc == SH_OK) {
		switch (outcome) {
		case HUB_C2D_COMPLETE:
			rc = store_c2d_finish(hub->st, row.seq, "completed", "completed", now);
			break;
		case HUB_C2D_REJECT:
			rc = store_c2d_finish(hub->st, row.seq, "deadlettered", "rejected", now);
			break;
		case HUB_C2D_ABANDON:
			if (row.delivery_count + 1 >= HUB_C2D_MAX_DELIVERIES)
				rc = store_c2d_finish(hub->st, row.seq, "deadlettered",
						      "delivery-count-exceeded", now);
			else
				rc = store_c2d_requeue(hub->st, row.seq, 1);
			break;
		case HUB_C2D_RELEASE:
			rc = store_c2d_requeue(hub->st, row.seq, 0);
			break;
		}
		if (rc != SH_OK)
			hub_store_failed(hub, rc, err);
	} else {
		hub_store_failed(hub, rc, err);
	}
	store_c2d_row_free(&row);
	rc = hub_op_end(hub, rc, err);
	/* Back in the queue: a connected device may take it now. */
	if (rc == SH_OK && (outcome == HUB_C2D_ABANDON || outcome == HUB_C2D_RELEASE) &&
	    hub->notify.c2d_queued)
		hub->notify.c2d_queued(hub->notify.ctx, device_id);
	return rc;
}

sh_rc hub_c2d_recover(struct sh_hub *hub, int64_t *released, struct iothub_err *err)
{
	sh_rc rc = hub_op_begin(hub, err);
	if (rc != SH_OK)
		return rc;
	int64_t horizon = hub_now_us(hub) + (int64_t)(HUB_C2D_LOCK_S + 1) * 1000000;
	rc = store_c2d_release_locks_after(hub->st, horizon, released);
	if (rc != SH_OK)
		hub_store_failed(hub, rc, err);
	return hub_op_end(hub, rc, err);
}
