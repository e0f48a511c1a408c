/*
 * session.c: the life of one MQTT connection: framing the bytes that arrive, the dispatch
 * switch on packet type, output held until the loop's batch commits, closing, the Will on an
 * abnormal close, and the per-session timers (CONNECT deadline, keep-alive at 1.5x, SAS expiry).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/msg_props.h"
#include "core/mqtt_consts.h"
#include "core/mqtt_write.h"
#include "hub/hub_internal.h"
#include "hub/session_internal.h"

struct hub_session *session_new(struct hub_sessions *reg, const struct session_io *io,
				const char *transport)
{
	struct hub_session *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->reg = reg;
	s->io = *io;
	snprintf(s->transport, sizeof s->transport, "%s", transport);
	mqtt_framer_init(&s->framer, SESSION_MAX_PACKET);
	sessions_link(reg, s);
	s->hub = sessions_hub(reg);
	s->opened_us = s->last_rx_us = hub_now_us(s->hub);
	return s;
}

void session_set_client_cert(struct hub_session *s, const struct hub_client_cert *cert)
{
	s->cert = *cert;
	s->has_cert = true;
}

bool session_is_connected(const struct hub_session *s)
{
	return s->connected;
}

/* After the batch commits: hand the held bytes to io, then close if that was asked. */
static void flush_held(void *arg)
{
	struct hub_session *s = arg;
	s->flush_queued = false;
	if (s->held_len) {
		if (s->io.send(s->io.ctx, s->held, s->held_len) != 0)
			s->close_after_flush = true;
		s->held_len = 0;
	}
	if (s->close_after_flush) {
		s->close_after_flush = false;
		s->io.close(s->io.ctx);
	}
}

int session_send(struct hub_session *s, const uint8_t *buf, size_t len)
{
	if (!hub_batch_held(s->hub) && s->held_len == 0)
		return s->io.send(s->io.ctx, buf, len);
	if (s->held_len + len > s->held_cap) {
		size_t cap = s->held_cap ? s->held_cap : 1024;
		while (cap < s->held_len + len)
			cap *= 2;
		uint8_t *nb = realloc(s->held, cap);
		if (!nb)
			return -1;
		s->held = nb;
		s->held_cap = cap;
	}
	memcpy(s->held + s->held_len, buf, len);
	s->held_len += len;
	if (!s->flush_queued) {
		s->flush_queued = true;
		if (hub_after_commit(s->hub, flush_held, s) != SH_OK)
			return -1;
	}
	return 0;
}

int session_publish(struct hub_session *s, const char *topic, const void *payload, size_t len,
		    uint8_t qos, uint16_t packet_id)
{
	size_t tlen = strlen(topic);
	size_t need = mqtt_publish_size(tlen, len, qos);
	uint8_t small[512];
	uint8_t *buf = need <= sizeof small ? small : malloc(need);
	if (!buf)
		return -1;
	size_t n = 0;
	int rc = -1;
	if (mqtt_write_publish(buf, need, topic, tlen, payload, len, qos, false, false, packet_id,
			       &n) == SH_OK)
		rc = session_send(s, buf, n);
	if (buf != small)
		free(buf);
	return rc;
}

void session_fail(struct hub_session *s, const char *reason)
{
	if (s->closing)
		return;
	s->closing = true;
	if (!s->close_reason)
		s->close_reason = reason;
	if (s->flush_queued)
		s->close_after_flush = true;
	else
		s->io.close(s->io.ctx);
}

cJSON *session_event_new(const struct hub_session *s, const char *op)
{
	if (!hub_events_wanted(s->hub))
		return NULL;
	cJSON *d = cJSON_CreateObject();
	if (d && !cJSON_AddStringToObject(d, "op", op)) {
		cJSON_Delete(d);
		d = NULL;
	}
	return d;
}

void session_emit(struct hub_session *s, cJSON *data)
{
	if (data)
		hub_emit(s->hub, HUB_EV_SESSION, -1, s->device_id, s->module_id, data);
}

/* The single dispatch switch: one handler per packet type; anything unexpected closes. */
static void dispatch(struct hub_session *s, const struct mqtt_raw *p)
{
	if (!s->connected && p->type != MQTT_CONNECT) {
		session_fail(s, "packet-before-connect");
		return;
	}
	uint8_t buf[8];
	size_t n = 0;
	uint16_t id;
	switch (p->type) {
	case MQTT_CONNECT:
		if (s->connected)
			session_fail(s, "second-connect");
		else
			session_on_connect(s, p);
		return;
	case MQTT_PUBLISH:
		session_on_publish(s, p);
		return;
	case MQTT_PUBACK:
		/* C2D completion (session_c2d.c). */
		if (mqtt_decode_ack(p, &id) != SH_OK)
			session_fail(s, "malformed-puback");
		else
			session_c2d_puback(s, id);
		return;
	case MQTT_SUBSCRIBE:
		session_on_subscribe(s, p);
		return;
	case MQTT_UNSUBSCRIBE:
		session_on_unsubscribe(s, p);
		return;
	case MQTT_PINGREQ:
		if (mqtt_decode_empty(p) != SH_OK || mqtt_write_pingresp(buf, sizeof buf, &n) != SH_OK) {
			session_fail(s, "malformed-pingreq");
			return;
		}
		session_send(s, buf, n);
		return;
	case MQTT_DISCONNECT:
		if (mqtt_decode_empty(p) != SH_OK) {
			session_fail(s, "malformed-disconnect");
			return;
		}
		s->clean_disconnect = true;
		session_fail(s, "client-disconnect");
		return;
	default:
		/* QoS 2 flow packets and server-to-client types: IoT Hub closes. */
		session_fail(s, "unexpected-packet");
		return;
	}
}

void session_feed(struct hub_session *s, const uint8_t *in, size_t len)
{
	s->last_rx_us = hub_now_us(s->hub);
	while (len > 0 && !s->closing) {
		struct mqtt_raw p;
		size_t used = 0;
		sh_rc rc = mqtt_framer_feed(&s->framer, in, len, &used, &p);
		in += used;
		len -= used;
		if (rc == SH_NEED_MORE)
			return;
		if (rc != SH_OK) {
			session_fail(s, rc == SH_E_TOOLARGE ? "packet-too-large" : "malformed-packet");
			return;
		}
		dispatch(s, &p);
	}
}

/* On an abnormal close of a connected session with a Will: store the Will as telemetry. */
static void ingest_will(struct hub_session *s)
{
	cJSON *sys = NULL, *app = NULL;
	struct sh_span bag = sh_span_str(s->will_bag);
	if (msg_props_parse(bag, SESSION_MAX_MESSAGE, &sys, &app) != SH_OK)
		return;
	if (!app)
		app = cJSON_CreateObject();
	cJSON_DeleteItemFromObjectCaseSensitive(app, "iothub-MessageType");
	cJSON_AddStringToObject(app, "iothub-MessageType", "Will");
	struct iothub_err err;
	hub_telemetry(s->hub, s->device_id, s->module_id, sys, app, s->will_payload, s->will_len,
		      NULL, &err);
	cJSON_Delete(sys);
	cJSON_Delete(app);
}

void session_closed(struct hub_session *s)
{
	/* Closing first: releasing the C2D message in flight below notifies the queue, and this
	 * session must not take the message again. */
	s->closing = true;
	hub_after_commit_cancel(s->hub, s);
	session_methods_abort(s);
	session_c2d_release(s);
	session_faults_release(s);
	if (s->connected) {
		sessions_persist_subs(s->reg, s, !s->clean_session);
		if (s->has_will && !s->clean_disconnect)
			ingest_will(s);
		struct iothub_err err;
		hub_connection_changed(s->hub, s->device_id, s->module_id, false, !s->replaced,
				       s->close_reason ? s->close_reason : "connection-lost", &err);
	}
	sessions_unlink(s->reg, s);
	mqtt_framer_free(&s->framer);
	free(s->will_bag);
	free(s->will_payload);
	free(s->held);
	free(s);
}

void session_tick(struct hub_session *s, int64_t now_us)
{
	if (s->closing)
		return;
	if (!s->connected) {
		if (now_us - s->opened_us > (int64_t)SESSION_CONNECT_TIMEOUT_S * 1000000)
			session_fail(s, "connect-timeout");
		return;
	}
	/* MQTT 3.1.1 §3.1.2.10: one and a half keep-alive periods without a packet. */
	if (s->keepalive_s && now_us - s->last_rx_us > (int64_t)s->keepalive_s * 1500000) {
		session_fail(s, "keepalive-timeout");
		return;
	}
	if (s->sas_expiry_s && now_us / 1000000 >= s->sas_expiry_s) {
		session_fail(s, "sas-token-expired");
		return;
	}
	session_faults_tick(s, now_us);
	session_methods_expire(s, now_us);
}
