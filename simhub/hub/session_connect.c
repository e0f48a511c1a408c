/*
 * session_connect.c: CONNECT for IoT Hub: client id `{device}` or `{device}/{module}`, the
 * username `{host}/{device}[/{module}]/?api-version=...`, the SAS password, the Will, and the
 * one place where authentication results become CONNACK codes (iothub-protocol.md §2.3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/hub_topic.h"
#include "core/hub_username.h"
#include "core/mqtt_consts.h"
#include "core/mqtt_write.h"
#include "hub/session_internal.h"

/* §2.3: the CONNACK code for each refusal. 5 for every credential problem, 3 for disabled. */
static enum mqtt_connack_code connack_for(enum hub_auth_result r)
{
	switch (r) {
	case HUB_AUTH_OK:
		return MQTT_CONNACK_ACCEPTED;
	case HUB_AUTH_DISABLED:
	case HUB_AUTH_STORE_ERROR:
		return MQTT_CONNACK_UNAVAILABLE;
	case HUB_AUTH_UNKNOWN_IDENTITY:
	case HUB_AUTH_MALFORMED:
	case HUB_AUTH_EXPIRED:
	case HUB_AUTH_WRONG_SCOPE:
	case HUB_AUTH_BAD_SIGNATURE:
	case HUB_AUTH_UNKNOWN_POLICY:
	case HUB_AUTH_NO_CREDENTIALS:
		return MQTT_CONNACK_NOT_AUTHORIZED;
	}
	return MQTT_CONNACK_NOT_AUTHORIZED;
}

/* Send a refusing CONNACK and close. */
static void refuse(struct hub_session *s, enum mqtt_connack_code code, const char *reason)
{
	uint8_t buf[8];
	size_t n = 0;
	if (mqtt_write_connack(buf, sizeof buf, false, code, &n) == SH_OK)
		session_send(s, buf, n);
	session_fail(s, reason);
}

/* Split the client id into device and module; false when it is not `{d}` or `{d}/{m}`. */
static bool split_client_id(struct sh_span cid, char *dev, char *mod)
{
	const uint8_t *slash = cid.len ? memchr(cid.ptr, '/', cid.len) : NULL;
	struct sh_span d = cid, m = sh_span_make(NULL, 0);
	if (slash) {
		d.len = (size_t)(slash - cid.ptr);
		m = sh_span_make(slash + 1, cid.len - d.len - 1);
		if (m.len == 0 || memchr(m.ptr, '/', m.len))
			return false;
	}
	if (!sh_span_copy(d, dev, SH_ID_MAX + 1) || !sh_span_copy(m, mod, SH_ID_MAX + 1))
		return false;
	return identity_validate_id(dev, strlen(dev)) == SH_OK &&
	       (!mod[0] || identity_validate_id(mod, strlen(mod)) == SH_OK);
}

/* Keep the Will for an abnormal close; it must be this identity's telemetry topic (§2.4). */
static bool take_will(struct hub_session *s, const struct mqtt_connect *c)
{
	struct hub_topic t;
	if (hub_topic_parse_publish((const char *)c->will_topic.ptr, c->will_topic.len, &t) != SH_OK ||
	    t.kind != HUB_TOPIC_TELEMETRY || !sh_span_eq_str(t.device_id, s->device_id) ||
	    !sh_span_eq_str(t.module_id, s->module_id))
		return false;
	s->will_bag = malloc(t.props.len + 1);
	s->will_payload = malloc(c->will_payload.len ? c->will_payload.len : 1);
	if (!s->will_bag || !s->will_payload)
		return false;
	sh_span_copy(t.props, s->will_bag, t.props.len + 1);
	if (c->will_payload.len)
		memcpy(s->will_payload, c->will_payload.ptr, c->will_payload.len);
	s->will_len = c->will_payload.len;
	s->has_will = true;
	return true;
}

void session_on_connect(struct hub_session *s, const struct mqtt_raw *p)
{
	struct mqtt_connect c;
	enum mqtt_connack_code code = MQTT_CONNACK_ACCEPTED;
	sh_rc rc = mqtt_decode_connect(p, &c, &code);
	if (rc == SH_E_INVALID) {
		refuse(s, code, "connect-refused-protocol");
		return;
	}
	if (rc != SH_OK) {
		session_fail(s, "malformed-connect");
		return;
	}
	if (!split_client_id(c.client_id, s->device_id, s->module_id)) {
		refuse(s, MQTT_CONNACK_ID_REJECTED, "bad-client-id");
		return;
	}
	struct hub_username u;
	if (!c.has_username ||
	    hub_username_parse((const char *)c.username.ptr, c.username.len, &u) != SH_OK) {
		refuse(s, MQTT_CONNACK_BAD_USERNAME_PASSWORD, "bad-username");
		return;
	}
	if (!sh_span_eq_str(u.device_id, s->device_id) || !sh_span_eq_str(u.module_id, s->module_id)) {
		refuse(s, MQTT_CONNACK_ID_REJECTED, "username-client-id-mismatch");
		return;
	}
	struct sh_identity id;
	int64_t expiry = 0;
	enum hub_auth_result ar;
	if (c.has_password)
		ar = hub_auth_sas(s->hub, s->device_id, s->module_id, (const char *)c.password.ptr,
				  c.password.len, &id, &expiry);
	else if (s->has_cert)   /* X.509: the TLS client certificate authenticates */
		ar = hub_auth_x509(s->hub, s->device_id, s->module_id, &s->cert, &id);
	else
		ar = HUB_AUTH_NO_CREDENTIALS;
	if (ar != HUB_AUTH_OK) {
		refuse(s, connack_for(ar), hub_auth_result_str(ar));
		return;
	}
	int fault_code = 0;
	if (session_fault_refuse_connect(s, &fault_code)) {
		refuse(s, (enum mqtt_connack_code)fault_code, "fault-refuse-connect");
		return;
	}
	if (c.has_will && !take_will(s, &c)) {
		session_fail(s, "bad-will-topic");
		return;
	}
	s->keepalive_s = c.keepalive;
	s->sas_expiry_s = expiry;
	s->clean_session = c.clean_session;
	sessions_register(s->reg, s);   /* drops an older connection of this identity */
	struct iothub_err err;
	if (hub_connection_changed(s->hub, s->device_id, s->module_id, true, true, s->transport, &err) != SH_OK) {
		refuse(s, MQTT_CONNACK_UNAVAILABLE, "store-error");
		return;
	}
	s->connected = true;
	cJSON *ev = session_event_new(s, "connect");
	if (ev) {
		cJSON_AddStringToObject(ev, "transport", s->transport);
		cJSON_AddBoolToObject(ev, "cleanSession", c.clean_session);
		cJSON_AddNumberToObject(ev, "keepAlive", c.keepalive);
		session_emit(s, ev);
	}
	/* Clean session 0: the subscriptions of the identity's last session come back (C2D is
	 * then delivered on reconnect); clean session 1 forgets them. */
	unsigned kept = c.clean_session ? 0 : sessions_persisted_subs(s->reg, s);
	if (c.clean_session)
		sessions_persist_subs(s->reg, s, false);
	s->subs = kept & ~SUB_C2D_QOS0;
	if (kept & SUB_C2D)
		s->c2d_qos = (kept & SUB_C2D_QOS0) ? 0 : 1;
	uint8_t buf[8];
	size_t n = 0;
	if (mqtt_write_connack(buf, sizeof buf, kept != 0, MQTT_CONNACK_ACCEPTED, &n) == SH_OK)
		session_send(s, buf, n);
	session_c2d_pump(s);
}
