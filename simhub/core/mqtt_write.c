/*
 * mqtt_write.c: MQTT 3.1.1 encoders into caller buffers. Pure; never allocates.
 *
 * Every encoder has the same three steps: check the arguments, compute the remaining length
 * (the body size) and from it the total, then either report the need (SH_E_NOSPACE) or write
 * the fixed header and the fields front to back with the put_* helpers. Sizes are computed
 * before anything is written, so a short buffer is never touched.
 */
#include "core/mqtt_write.h"

#include <string.h>

/* Bytes the remaining-length field takes for rem (rem <= MQTT_MAX_REMAINING_LENGTH). */
static size_t varint_size(size_t rem)
{
	if (rem < 128u)
		return 1;
	if (rem < 16384u)
		return 2;
	if (rem < 2097152u)
		return 3;
	return 4;
}

/*
 * Total packet size for a body of rem bytes, or 0 when rem cannot be expressed. The check
 * keeps callers free of overflow arithmetic: they only add bounded field sizes to rem.
 */
static size_t total_size(size_t rem)
{
	if (rem > MQTT_MAX_REMAINING_LENGTH)
		return 0;
	return 1 + varint_size(rem) + rem;
}

static uint8_t *put_u8(uint8_t *w, uint8_t v)
{
	*w = v;
	return w + 1;
}

static uint8_t *put_u16(uint8_t *w, uint16_t v)
{
	w[0] = (uint8_t)(v >> 8);
	w[1] = (uint8_t)(v & 0xff);
	return w + 2;
}

static uint8_t *put_bytes(uint8_t *w, const void *p, size_t n)
{
	if (n)
		memcpy(w, p, n);
	return w + n;
}

/* A two-byte length and the bytes (n <= MQTT_MAX_STRING, checked by the caller). */
static uint8_t *put_string(uint8_t *w, const void *p, size_t n)
{
	return put_bytes(put_u16(w, (uint16_t)n), p, n);
}

/* The fixed header: type/flags byte, then rem in seven-bit groups, least significant first. */
static uint8_t *put_header(uint8_t *w, enum mqtt_type type, uint8_t flags, size_t rem)
{
	w = put_u8(w, (uint8_t)(((unsigned)type << 4) | (flags & 0x0f)));
	do {
		uint8_t b = (uint8_t)(rem & 0x7f);
		rem >>= 7;
		if (rem)
			b |= 0x80;
		w = put_u8(w, b);
	} while (rem);
	return w;
}

/*
 * The shared ending: with the total known (0 = not expressible), decide between
 * SH_E_TOOLARGE, SH_E_NOSPACE and "go ahead" (SH_OK, *out_len set; the caller writes).
 */
static sh_rc room_for(size_t total, size_t cap, size_t *out_len)
{
	if (total == 0) {
		*out_len = 0;
		return SH_E_TOOLARGE;
	}
	*out_len = total;
	return total > cap ? SH_E_NOSPACE : SH_OK;
}

static sh_rc invalid(size_t *out_len)
{
	*out_len = 0;
	return SH_E_INVALID;
}

sh_rc mqtt_write_connack(uint8_t *buf, size_t cap, bool session_present, enum mqtt_connack_code code,
			 size_t *out_len)
{
	if ((unsigned)code > MQTT_CONNACK_NOT_AUTHORIZED)
		return invalid(out_len);
	sh_rc rc = room_for(total_size(2), cap, out_len);
	if (rc != SH_OK)
		return rc;
	uint8_t *w = put_header(buf, MQTT_CONNACK, MQTT_FLAGS_NONE, 2);
	w = put_u8(w, (session_present && code == MQTT_CONNACK_ACCEPTED) ? MQTT_CONNACK_SESSION_PRESENT : 0);
	put_u8(w, (uint8_t)code);
	return SH_OK;
}

size_t mqtt_publish_size(size_t topic_len, size_t payload_len, uint8_t qos)
{
	if (topic_len == 0 || topic_len > MQTT_MAX_STRING || payload_len > MQTT_MAX_REMAINING_LENGTH)
		return 0;
	return total_size(2 + topic_len + (qos > 0 ? 2u : 0u) + payload_len);
}

sh_rc mqtt_write_publish(uint8_t *buf, size_t cap, const char *topic, size_t topic_len,
			 const void *payload, size_t payload_len, uint8_t qos, bool retain, bool dup,
			 uint16_t packet_id, size_t *out_len)
{
	if (topic_len == 0 || topic_len > MQTT_MAX_STRING || qos > 2 || (qos > 0 && packet_id == 0))
		return invalid(out_len);
	sh_rc rc = room_for(mqtt_publish_size(topic_len, payload_len, qos), cap, out_len);
	if (rc != SH_OK)
		return rc;
	uint8_t flags = (uint8_t)(qos << MQTT_PUBLISH_QOS_SHIFT);
	if (retain)
		flags |= MQTT_PUBLISH_RETAIN;
	if (dup)
		flags |= MQTT_PUBLISH_DUP;
	uint8_t *w = put_header(buf, MQTT_PUBLISH, flags, 2 + topic_len + (qos > 0 ? 2u : 0u) + payload_len);
	w = put_string(w, topic, topic_len);
	if (qos > 0)
		w = put_u16(w, packet_id);
	put_bytes(w, payload, payload_len);
	return SH_OK;
}

sh_rc mqtt_write_ack(uint8_t *buf, size_t cap, enum mqtt_type type, uint16_t packet_id, size_t *out_len)
{
	uint8_t flags = MQTT_FLAGS_NONE;
	switch (type) {
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBCOMP:
	case MQTT_UNSUBACK:
		break;
	case MQTT_PUBREL:
		flags = MQTT_FLAGS_PUBREL;
		break;
	default:
		return invalid(out_len);
	}
	if (packet_id == 0)
		return invalid(out_len);
	sh_rc rc = room_for(total_size(2), cap, out_len);
	if (rc != SH_OK)
		return rc;
	put_u16(put_header(buf, type, flags, 2), packet_id);
	return SH_OK;
}

sh_rc mqtt_write_puback(uint8_t *buf, size_t cap, uint16_t packet_id, size_t *out_len)
{
	return mqtt_write_ack(buf, cap, MQTT_PUBACK, packet_id, out_len);
}

sh_rc mqtt_write_unsuback(uint8_t *buf, size_t cap, uint16_t packet_id, size_t *out_len)
{
	return mqtt_write_ack(buf, cap, MQTT_UNSUBACK, packet_id, out_len);
}

sh_rc mqtt_write_suback(uint8_t *buf, size_t cap, uint16_t packet_id, const uint8_t *codes, size_t n,
			size_t *out_len)
{
	if (n == 0 || packet_id == 0)
		return invalid(out_len);
	for (size_t i = 0; i < n; i++)
		if (codes[i] > 2 && codes[i] != MQTT_SUBACK_FAILURE)
			return invalid(out_len);
	sh_rc rc = room_for(n > MQTT_MAX_REMAINING_LENGTH ? 0 : total_size(2 + n), cap, out_len);
	if (rc != SH_OK)
		return rc;
	put_bytes(put_u16(put_header(buf, MQTT_SUBACK, MQTT_FLAGS_NONE, 2 + n), packet_id), codes, n);
	return SH_OK;
}

sh_rc mqtt_write_empty(uint8_t *buf, size_t cap, enum mqtt_type type, size_t *out_len)
{
	if (type != MQTT_PINGREQ && type != MQTT_PINGRESP && type != MQTT_DISCONNECT)
		return invalid(out_len);
	sh_rc rc = room_for(total_size(0), cap, out_len);
	if (rc != SH_OK)
		return rc;
	put_header(buf, type, MQTT_FLAGS_NONE, 0);
	return SH_OK;
}

sh_rc mqtt_write_pingresp(uint8_t *buf, size_t cap, size_t *out_len)
{
	return mqtt_write_empty(buf, cap, MQTT_PINGRESP, out_len);
}

sh_rc mqtt_write_connect(uint8_t *buf, size_t cap, const struct mqtt_connect *c, size_t *out_len)
{
	if (c->client_id.len > MQTT_MAX_STRING || (c->has_password && !c->has_username))
		return invalid(out_len);
	if (c->has_will && (c->will_qos > 2 || c->will_topic.len == 0 ||
			    c->will_topic.len > MQTT_MAX_STRING || c->will_payload.len > MQTT_MAX_STRING))
		return invalid(out_len);
	if ((c->has_username && c->username.len > MQTT_MAX_STRING) ||
	    (c->has_password && c->password.len > MQTT_MAX_STRING))
		return invalid(out_len);

	uint8_t flags = 0;
	size_t rem = 2 + 4 + 1 + 1 + 2 + 2 + c->client_id.len; /* name, level, flags, keepalive, id */
	if (c->clean_session)
		flags |= MQTT_CONNECT_CLEAN_SESSION;
	if (c->has_will) {
		flags = (uint8_t)(flags | MQTT_CONNECT_WILL | (c->will_qos << MQTT_CONNECT_WILL_QOS_SHIFT));
		if (c->will_retain)
			flags |= MQTT_CONNECT_WILL_RETAIN;
		rem += 2 + c->will_topic.len + 2 + c->will_payload.len;
	}
	if (c->has_username) {
		flags |= MQTT_CONNECT_USERNAME;
		rem += 2 + c->username.len;
	}
	if (c->has_password) {
		flags |= MQTT_CONNECT_PASSWORD;
		rem += 2 + c->password.len;
	}
	sh_rc rc = room_for(total_size(rem), cap, out_len);
	if (rc != SH_OK)
		return rc;

	uint8_t *w = put_header(buf, MQTT_CONNECT, MQTT_FLAGS_NONE, rem);
	w = put_string(w, MQTT_PROTOCOL_NAME, 4);
	w = put_u8(w, MQTT_PROTOCOL_LEVEL_311);
	w = put_u8(w, flags);
	w = put_u16(w, c->keepalive);
	w = put_string(w, c->client_id.ptr, c->client_id.len);
	if (c->has_will) {
		w = put_string(w, c->will_topic.ptr, c->will_topic.len);
		w = put_string(w, c->will_payload.ptr, c->will_payload.len);
	}
	if (c->has_username)
		w = put_string(w, c->username.ptr, c->username.len);
	if (c->has_password)
		put_string(w, c->password.ptr, c->password.len);
	return SH_OK;
}

sh_rc mqtt_write_subscribe(uint8_t *buf, size_t cap, const struct mqtt_subscribe *s, size_t *out_len)
{
	if (s->packet_id == 0 || s->count == 0 || s->count > MQTT_MAX_TOPICS_PER_SUBSCRIBE)
		return invalid(out_len);
	size_t rem = 2;
	for (size_t i = 0; i < s->count; i++) {
		size_t n = s->topics[i].filter.len;
		if (n == 0 || n > MQTT_MAX_STRING || s->topics[i].qos > 2)
			return invalid(out_len);
		rem += 2 + n + 1;
	}
	sh_rc rc = room_for(total_size(rem), cap, out_len);
	if (rc != SH_OK)
		return rc;
	uint8_t *w = put_u16(put_header(buf, MQTT_SUBSCRIBE, MQTT_FLAGS_SUBSCRIBE, rem), s->packet_id);
	for (size_t i = 0; i < s->count; i++) {
		w = put_string(w, s->topics[i].filter.ptr, s->topics[i].filter.len);
		w = put_u8(w, s->topics[i].qos);
	}
	return SH_OK;
}

sh_rc mqtt_write_unsubscribe(uint8_t *buf, size_t cap, const struct mqtt_unsubscribe *u, size_t *out_len)
{
	if (u->packet_id == 0 || u->count == 0 || u->count > MQTT_MAX_TOPICS_PER_SUBSCRIBE)
		return invalid(out_len);
	size_t rem = 2;
	for (size_t i = 0; i < u->count; i++) {
		size_t n = u->filters[i].len;
		if (n == 0 || n > MQTT_MAX_STRING)
			return invalid(out_len);
		rem += 2 + n;
	}
	sh_rc rc = room_for(total_size(rem), cap, out_len);
	if (rc != SH_OK)
		return rc;
	uint8_t *w = put_u16(put_header(buf, MQTT_UNSUBSCRIBE, MQTT_FLAGS_UNSUBSCRIBE, rem), u->packet_id);
	for (size_t i = 0; i < u->count; i++)
		w = put_string(w, u->filters[i].ptr, u->filters[i].len);
	return SH_OK;
}
