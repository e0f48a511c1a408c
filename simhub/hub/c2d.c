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

/* --- events and feedback ------------------------------------------------------------------------ */

/* A C2D event: {"event":..., "seq":..., "messageId":...} plus `extra` (owned, merged; may be NULL). */
static void emit_c2d(struct sh_hub *hub, const char *device_id, int label, const char *event,
		     int64_t seq, const char *message_id, cJSON *extra)
{
	cJSON *d = NULL;
	if (hub_events_wanted(hub) && (d = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(d, "event", event);
		cJSON_AddNumberToObject(d, "seq", (double)seq);
		if (message_id && message_id[0])
			cJSON_AddStringToObject(d, "messageId", message_id);
		cJSON *f;
		while (extra && (f = extra->child) != NULL) {
			cJSON_DetachItemViaPointer(extra, f);
			cJSON_AddItemToObject(d, f->string, f);
		}
	}
	cJSON_Delete(extra);
	hub_emit(hub, HUB_EV_C2D, label, device_id, NULL, d);
}

/* Does a message with this ack mode ask for a feedback record with this status code? */
static bool wants_feedback(const char *ack, const char *status)
{
	bool success = strcmp(status, "Success") == 0;
	if (strcmp(ack, "full") == 0)
		return true;
	if (strcmp(ack, "positive") == 0)
		return success;
	if (strcmp(ack, "negative") == 0)
		return !success;
	return false;
}

static const char *feedback_description(const char *status)
{
	if (strcmp(status, "Success") == 0)
		return "Success";
	if (strcmp(status, "Expired") == 0)
		return "Message expired";
	if (strcmp(status, "DeliveryCountExceeded") == 0)
		return "Message delivery count exceeded";
	if (strcmp(status, "Rejected") == 0)
		return "Message rejected";
	return "Message purged";
}

/*
 * Record the feedback of message `seq` when its ack mode asks for it (iothub-protocol.md §6),
 * at hub time, and emit it as a C2D "feedback" event. Runs inside the caller's operation.
 */
static sh_rc feedback(struct sh_hub *hub, const char *device_id, const char *generation_id,
		      int64_t seq, const char *message_id, const char *ack, const char *status)
{
	if (!wants_feedback(ack, status))
		return SH_OK;
	int64_t now = hub_now_us(hub), id = 0;
	struct sh_c2d_feedback_row row = {
		.device_id = device_id,
		.original_message_id = message_id ? message_id : "",
		.device_generation_id = generation_id,
		.enqueued_us = now,
		.status_code = status,
		.description = feedback_description(status),
		.c2d_seq = seq,
	};
	sh_rc rc = store_c2d_feedback_insert(hub->st, &row, &id);
	if (rc != SH_OK)
		return rc;
	cJSON *x = NULL;
	if (hub_events_wanted(hub) && (x = cJSON_CreateObject()) != NULL) {
		char when[ISOTIME_BUF];
		isotime_format(now, when);
		cJSON_AddNumberToObject(x, "feedbackId", (double)id);
		cJSON_AddStringToObject(x, "originalMessageId", row.original_message_id);
		cJSON_AddStringToObject(x, "deviceGenerationId", generation_id);
		cJSON_AddStringToObject(x, "enqueuedTimeUtc", when);
		cJSON_AddStringToObject(x, "statusCode", status);
		cJSON_AddStringToObject(x, "description", row.description);
	}
	emit_c2d(hub, device_id, HUB_ML_C2D_FEEDBACK, "feedback", seq, message_id, x);
	return SH_OK;
}

/* The expiry walk's context. */
struct expiring {
	struct sh_hub *hub;
	const struct sh_identity *dev;
};

static sh_rc expiring_one(void *arg, int64_t seq, const char *message_id, const char *ack,
			  int delivery_count)
{
	struct expiring *e = arg;
	cJSON *x = cJSON_CreateObject();
	if (x)
		cJSON_AddNumberToObject(x, "deliveryCount", delivery_count);
	emit_c2d(e->hub, e->dev->device_id, HUB_ML_C2D_EXPIRED, "expired", seq, message_id, x);
	return feedback(e->hub, e->dev->device_id, e->dev->generation_id, seq, message_id, ack,
			"Expired");
}

/* Dead-letter the device's expired messages, with their events and feedback records. */
static sh_rc expire_queue(struct sh_hub *hub, const struct sh_identity *dev, int64_t now)
{
	struct expiring e = { hub, dev };
	sh_rc rc = store_c2d_each_expiring(hub->st, dev->device_id, now, expiring_one, &e);
	if (rc == SH_OK)
		rc = store_c2d_expire(hub->st, dev->device_id, now, NULL);
	return rc;
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
	if (rc == SH_OK && (rc = expire_queue(hub, &dev, now)) == SH_OK &&
	    (rc = store_c2d_count_active(hub->st, device_id, &active)) == SH_OK) {
		if (active >= HUB_C2D_MAX_QUEUE) {
			iothub_err_set(err, IOTHUB_DEVICE_MAX_QUEUE_DEPTH,
				       "device %s already has %d cloud-to-device messages queued",
				       device_id, HUB_C2D_MAX_QUEUE);
			rc = SH_E_TOOLARGE;
		} else {
			int64_t seq = 0;
			rc = store_c2d_insert(hub->st, device_id, m->message_id, text, m->body, m->len,
					      ack, now, expiry, &seq);
			if (rc != SH_OK) {
				hub_store_failed(hub, rc, err);
			} else {
				if (seq_out)
					*seq_out = seq;
				cJSON *x = NULL;
				if (hub_events_wanted(hub) && (x = cJSON_CreateObject()) != NULL) {
					cJSON *p = cJSON_Parse(text);
					cJSON_AddStringToObject(x, "ack", ack);
					if (p)
						cJSON_AddItemToObject(x, "properties", p);
					hub_event_add_body(x, m->body, m->len);
				}
				emit_c2d(hub, device_id, HUB_ML_C2D_QUEUED, "queued", seq,
					 m->message_id, x);
			}
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
	if (rc == SH_OK && (rc = expire_queue(hub, &dev, now)) == SH_OK) {
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
		cJSON *x = cJSON_CreateObject();
		if (x) {
			cJSON_AddNumberToObject(x, "deliveryCount", row.delivery_count);
			cJSON_AddStringToObject(x, "lockToken", out->lock_token);
		}
		emit_c2d(hub, device_id, HUB_ML_C2D_DELIVERED, "delivered", row.seq, row.message_id, x);
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
	struct sh_identity dev;
	rc = store_c2d_find_lock(hub->st, device_id, lock_token, now, &row);
	if (rc == SH_OK && (rc = store_identity_get(hub->st, device_id, "", &dev)) == SH_E_NOTFOUND) {
		dev.generation_id[0] = '\0';   /* cannot happen: the queue goes with its device */
		rc = SH_OK;
	}
	if (rc == SH_E_NOTFOUND) {
		iothub_err_set(err, IOTHUB_DEVICE_MESSAGE_LOCK_LOST,
			       "no locked cloud-to-device message with lock token %.60s", lock_token);
	} else if (rc == SH_OK) {
		const char *status = NULL, *event = NULL;   /* feedback status, event name */
		int label = -1;
		switch (outcome) {
		case HUB_C2D_COMPLETE:
			rc = store_c2d_finish(hub->st, row.seq, "completed", "completed", now);
			status = "Success";
			event = "completed";
			label = HUB_ML_C2D_COMPLETED;
			break;
		case HUB_C2D_REJECT:
			rc = store_c2d_finish(hub->st, row.seq, "deadlettered", "rejected", now);
			status = "Rejected";
			event = "rejected";
			label = HUB_ML_C2D_REJECTED;
			break;
		case HUB_C2D_ABANDON:
			if (row.delivery_count + 1 >= HUB_C2D_MAX_DELIVERIES) {
				rc = store_c2d_finish(hub->st, row.seq, "deadlettered",
						      "delivery-count-exceeded", now);
				status = "DeliveryCountExceeded";
				event = "deadlettered";
				label = HUB_ML_C2D_DEADLETTERED;
			} else {
				rc = store_c2d_requeue(hub->st, row.seq, 1);
				event = "abandoned";
				label = HUB_ML_C2D_ABANDONED;
			}
			break;
		case HUB_C2D_RELEASE:
			rc = store_c2d_requeue(hub->st, row.seq, 0);
			break;
		}
		if (rc == SH_OK && event) {
			cJSON *x = cJSON_CreateObject();
			if (x)
				cJSON_AddNumberToObject(x, "deliveryCount", row.delivery_count +
							(outcome == HUB_C2D_ABANDON ? 1 : 0));
			emit_c2d(hub, device_id, label, event, row.seq, row.message_id, x);
		}
		if (rc == SH_OK && status)
			rc = feedback(hub, device_id, dev.generation_id, row.seq, row.message_id,
				      row.ack, status);
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

/* --- feedback records ------------------------------------------------------------------------------ */

struct feedback_walk {
	sh_rc (*fn)(void *arg, const struct hub_c2d_feedback *f);
	void *arg;
};

static sh_rc feedback_row(void *arg, const struct sh_c2d_feedback_row *row)
{
	struct feedback_walk *w = arg;
	struct hub_c2d_feedback f = {
		.id = row->id,
		.device_id = row->device_id,
		.original_message_id = row->original_message_id,
		.device_generation_id = row->device_generation_id,
		.enqueued_us = row->enqueued_us,
		.status_code = row->status_code,
		.description = row->description,
	};
	return w->fn(w->arg, &f);
}

sh_rc hub_c2d_feedback_each(struct sh_hub *hub, const struct hub_c2d_feedback_query *q,
			    sh_rc (*fn)(void *arg, const struct hub_c2d_feedback *f), void *arg)
{
	struct feedback_walk w = { fn, arg };
	struct sh_c2d_feedback_query sq = {
		.device_id = q->device_id,
		.from_us = q->from_us,
		.to_us = q->to_us,
		.after_id = q->after_id,
		.limit = q->limit,
	};
	return store_c2d_feedback_query(hub->st, &sq, feedback_row, &w);
}
