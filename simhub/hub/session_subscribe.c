/*
 * session_subscribe.c: SUBSCRIBE and UNSUBSCRIBE. Only the filters of iothub-protocol.md §3.1
 * for the connection's own identity are accepted; any other filter closes the connection
 * (IoT Hub does not answer 0x80, §2.4). QoS 2 is granted as 1.
 */
#include <string.h>

#include "core/hub_topic.h"
#include "core/mqtt_write.h"
#include "hub/session_internal.h"

static unsigned sub_bit(enum hub_sub_kind k)
{
	switch (k) {
	case HUB_SUB_C2D: return SUB_C2D;
	case HUB_SUB_TWIN_RES: return SUB_TWIN_RES;
	case HUB_SUB_TWIN_DESIRED: return SUB_TWIN_DESIRED;
	case HUB_SUB_METHODS: return SUB_METHODS;
	case HUB_SUB_MODULE_INPUTS: return SUB_MODULE_INPUTS;
	}
	return 0;
}

void session_on_subscribe(struct hub_session *s, const struct mqtt_raw *p)
{
	struct mqtt_subscribe sub;
	if (mqtt_decode_subscribe(p, &sub) != SH_OK) {
		session_fail(s, "malformed-subscribe");
		return;
	}
	uint8_t codes[MQTT_MAX_TOPICS_PER_SUBSCRIBE];
	unsigned bits = 0;
	for (size_t i = 0; i < sub.count; i++) {
		enum hub_sub_kind kind;
		if (hub_topic_check_subscribe((const char *)sub.topics[i].filter.ptr,
					      sub.topics[i].filter.len, s->device_id,
					      s->module_id[0] ? s->module_id : NULL, &kind) != SH_OK) {
			session_fail(s, "subscribe-refused");
			return;
		}
		bits |= sub_bit(kind);
		codes[i] = sub.topics[i].qos > 1 ? 1 : sub.topics[i].qos;
		if (kind == HUB_SUB_C2D)
			s->c2d_qos = codes[i];
	}
	s->subs |= bits;
	uint8_t buf[8 + MQTT_MAX_TOPICS_PER_SUBSCRIBE];
	size_t n = 0;
	if (mqtt_write_suback(buf, sizeof buf, sub.packet_id, codes, sub.count, &n) == SH_OK)
		session_send(s, buf, n);
	if (bits & SUB_C2D)
		session_c2d_pump(s);   /* queued messages are delivered on subscribe */
	if (bits & SUB_METHODS)
		sessions_methods_subscribed(s->reg);
}

void session_on_unsubscribe(struct hub_session *s, const struct mqtt_raw *p)
{
	struct mqtt_unsubscribe un;
	if (mqtt_decode_unsubscribe(p, &un) != SH_OK) {
		session_fail(s, "malformed-unsubscribe");
		return;
	}
	for (size_t i = 0; i < un.count; i++) {
		enum hub_sub_kind kind;
		if (hub_topic_check_subscribe((const char *)un.filters[i].ptr, un.filters[i].len,
					      s->device_id, s->module_id[0] ? s->module_id : NULL,
					      &kind) == SH_OK)
			s->subs &= ~sub_bit(kind);
	}
	uint8_t buf[8];
	size_t n = 0;
	if (mqtt_write_unsuback(buf, sizeof buf, un.packet_id, &n) == SH_OK)
		session_send(s, buf, n);
}
