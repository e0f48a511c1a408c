/*
 * session_c2d.c: cloud-to-device delivery over MQTT (iothub-protocol.md §3.3, §6): a device
 * subscribed to devices/{id}/messages/devicebound/# gets its queued messages one at a time on
 * devices/{id}/messages/devicebound/{bag} (system keys always %24.); its PUBACK completes the
 * message; a message in flight when the connection ends goes back to the queue. At QoS 0 a
 * message is completed as soon as it is sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/hub_topic.h"
#include "core/msg_props.h"
#include "hub/hub_internal.h"
#include "hub/session_internal.h"

/* An MQTT lock lasts until PUBACK or disconnect; this only bounds a lost one. */
#define MQTT_C2D_LOCK_S 3600

static uint16_t next_packet_id(struct hub_session *s)
{
	if (++s->next_pid == 0)
		s->next_pid = 1;
	return s->next_pid;
}

/* The session event of a message sent to the device: its id, properties and body. */
static void c2d_event(struct hub_session *s, const struct hub_c2d_msg *m)
{
	cJSON *ev = session_event_new(s, "c2d");
	if (!ev)
		return;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(m->sys, "message-id");
	if (cJSON_IsString(id))
		cJSON_AddStringToObject(ev, "messageId", id->valuestring);
	cJSON_AddItemToObject(ev, "systemProperties",
			      m->sys ? cJSON_Duplicate(m->sys, 1) : cJSON_CreateObject());
	cJSON_AddItemToObject(ev, "properties",
			      m->app ? cJSON_Duplicate(m->app, 1) : cJSON_CreateObject());
	if (!hub_event_add_body(ev, m->body, m->len)) {
		cJSON_Delete(ev);
		return;
	}
	session_emit(s, ev);
}

void session_c2d_pump(struct hub_session *s)
{
	if (!s->connected || s->closing || !(s->subs & SUB_C2D) || s->c2d_pid || s->module_id[0])
		return;
	for (;;) {
		struct hub_c2d_msg m;
		struct iothub_err err;
		if (hub_c2d_receive(s->hub, s->device_id, MQTT_C2D_LOCK_S, &m, &err) != SH_OK)
			return;   /* empty queue (or a store error: the next pump retries) */
		char bag[8192];
		size_t blen = 0;
		char topic[8192 + 2 * SH_ID_MAX];
		size_t tlen = 0;
		sh_rc rc = msg_props_build(m.sys, m.app, bag, sizeof bag, &blen);
		if (rc == SH_OK)
			rc = hub_topic_build_c2d(s->device_id, bag, topic, sizeof topic, &tlen);
		if (rc != SH_OK) {
			/* Properties that cannot travel on MQTT: dead-letter it rather than loop. */
			hub_c2d_settle(s->hub, s->device_id, m.lock_token, HUB_C2D_REJECT, &err);
			hub_c2d_msg_free(&m);
			continue;
		}
		uint16_t pid = s->c2d_qos ? next_packet_id(s) : 0;
		int sent = session_publish(s, topic, m.body, m.len, s->c2d_qos, pid);
		if (sent == 0)
			c2d_event(s, &m);
		if (s->c2d_qos == 0 || sent != 0) {
			hub_c2d_settle(s->hub, s->device_id, m.lock_token,
				       sent == 0 ? HUB_C2D_COMPLETE : HUB_C2D_RELEASE, &err);
			hub_c2d_msg_free(&m);
			if (sent != 0)
				return;
			continue;
		}
		s->c2d_pid = pid;
		snprintf(s->c2d_lock, sizeof s->c2d_lock, "%s", m.lock_token);
		hub_c2d_msg_free(&m);
		return;
	}
}

void session_c2d_puback(struct hub_session *s, uint16_t packet_id)
{
	if (!s->c2d_pid || packet_id != s->c2d_pid)
		return;   /* not ours (or a duplicate): IoT Hub ignores it */
	struct iothub_err err;
	hub_c2d_settle(s->hub, s->device_id, s->c2d_lock, HUB_C2D_COMPLETE, &err);
	s->c2d_pid = 0;
	s->c2d_lock[0] = '\0';
	session_c2d_pump(s);
}

void session_c2d_release(struct hub_session *s)
{
	if (!s->c2d_pid)
		return;
	struct iothub_err err;
	s->c2d_pid = 0;
	hub_c2d_settle(s->hub, s->device_id, s->c2d_lock, HUB_C2D_RELEASE, &err);
	s->c2d_lock[0] = '\0';
}
