/*
 * mqtt_decode.c: MQTT 3.1.1 packet bodies into structs of spans, one function per packet
 * shape, each reading through the bounds-checked cursor of mqtt_read.c. Pure: never
 * allocates, never copies, never picks a reaction beyond the CONNACK code the spec dictates.
 *
 * Topic rules (§4.7), the part easiest to get wrong:
 *   - names and filters are non-empty MQTT UTF-8 strings;
 *   - a topic name (PUBLISH, will) holds no wildcard at all: "a/+" and "a/#" are refused;
 *   - in a filter '+' fills a whole level: "+", "a/+", "+/b", "a/+/b" are good, "a+", "+a",
 *     "a/b+" are not;
 *   - in a filter '#' is the whole last level: "#", "a/#" are good, "a#", "a/#/b", "#/" not;
 *   - empty levels are legal everywhere ("/", "a//b", "/#").
 * Which filters IoT Hub accepts is the session's question, not this file's.
 */
#include "core/mqtt_decode.h"

#include <string.h>

/* A topic name: non-empty, no wildcard (UTF-8 validity is checked when it is read). */
static bool topic_name_ok(struct sh_span t)
{
	if (t.len == 0)
		return false;
	return memchr(t.ptr, '+', t.len) == NULL && memchr(t.ptr, '#', t.len) == NULL;
}

/*
 * A topic filter: non-empty; each wildcard alone in its level, '#' only in the last one.
 * Walks the filter once, tracking where the current level started.
 */
static bool topic_filter_ok(struct sh_span t)
{
	if (t.len == 0)
		return false;
	size_t level = 0; /* index where the current level starts */
	for (size_t i = 0; i < t.len; i++) {
		uint8_t c = t.ptr[i];
		if (c == '/') {
			level = i + 1;
		} else if (c == '+' || c == '#') {
			bool alone = i == level && (i + 1 == t.len || t.ptr[i + 1] == '/');
			if (!alone)
				return false;
			if (c == '#' && i + 1 != t.len)
				return false;
		}
	}
	return true;
}

/* Start a cursor over the packet body. */
static void reader_for(struct mqtt_reader *r, const struct mqtt_raw *p)
{
	mqtt_read_init(r, p->body, p->len);
}

/* Record the CONNACK code (the pointer may be NULL) and pass rc through. */
static sh_rc connect_result(enum mqtt_connack_code *code, enum mqtt_connack_code value, sh_rc rc)
{
	if (code)
		*code = value;
	return rc;
}

/*
 * The connect-flag rules of §3.1.2.3-§3.1.2.9 that need no further bytes: reserved bit 0,
 * will QoS and retain only with the will flag, will QoS not 3, password only with username.
 */
static bool connect_flags_ok(uint8_t flags)
{
	if (flags & MQTT_CONNECT_RESERVED)
		return false;
	uint8_t will_qos = (uint8_t)((flags & MQTT_CONNECT_WILL_QOS_MASK) >> MQTT_CONNECT_WILL_QOS_SHIFT);
	if (!(flags & MQTT_CONNECT_WILL) && (will_qos != 0 || (flags & MQTT_CONNECT_WILL_RETAIN)))
		return false;
	if (will_qos == 3)
		return false;
	if ((flags & MQTT_CONNECT_PASSWORD) && !(flags & MQTT_CONNECT_USERNAME))
		return false;
	return true;
}

sh_rc mqtt_decode_connect(const struct mqtt_raw *p, struct mqtt_connect *out, enum mqtt_connack_code *code)
{
	struct mqtt_reader r;
	uint8_t flags;

	memset(out, 0, sizeof *out);
	connect_result(code, MQTT_CONNACK_ACCEPTED, SH_OK);
	if (p->type != MQTT_CONNECT || p->flags != MQTT_FLAGS_NONE)
		return SH_E_MALFORMED;
	reader_for(&r, p);

	if (mqtt_read_utf8(&r, &out->protocol_name) != SH_OK ||
	    !sh_span_eq_str(out->protocol_name, MQTT_PROTOCOL_NAME))
		return SH_E_MALFORMED;
	if (mqtt_read_u8(&r, &out->level) != SH_OK)
		return SH_E_MALFORMED;
	if (out->level != MQTT_PROTOCOL_LEVEL_311)
		return connect_result(code, MQTT_CONNACK_BAD_PROTOCOL, SH_E_INVALID);

	if (mqtt_read_u8(&r, &flags) != SH_OK || !connect_flags_ok(flags))
		return SH_E_MALFORMED;
	out->clean_session = (flags & MQTT_CONNECT_CLEAN_SESSION) != 0;
	out->has_will = (flags & MQTT_CONNECT_WILL) != 0;
	out->will_qos = (uint8_t)((flags & MQTT_CONNECT_WILL_QOS_MASK) >> MQTT_CONNECT_WILL_QOS_SHIFT);
	out->will_retain = (flags & MQTT_CONNECT_WILL_RETAIN) != 0;
	out->has_username = (flags & MQTT_CONNECT_USERNAME) != 0;
	out->has_password = (flags & MQTT_CONNECT_PASSWORD) != 0;

	if (mqtt_read_u16(&r, &out->keepalive) != SH_OK)
		return SH_E_MALFORMED;
	if (mqtt_read_utf8(&r, &out->client_id) != SH_OK)
		return SH_E_MALFORMED;
	if (out->has_will) {
		if (mqtt_read_utf8(&r, &out->will_topic) != SH_OK || !topic_name_ok(out->will_topic))
			return SH_E_MALFORMED;
		if (mqtt_read_binary(&r, &out->will_payload) != SH_OK)
			return SH_E_MALFORMED;
	}
	if (out->has_username && mqtt_read_utf8(&r, &out->username) != SH_OK)
		return SH_E_MALFORMED;
	if (out->has_password && mqtt_read_binary(&r, &out->password) != SH_OK)
		return SH_E_MALFORMED;
	if (mqtt_read_left(&r) != 0)
		return SH_E_MALFORMED;

	/* §3.1.3.1: a server that is to keep no session may assign an id; with clean session 0
	 * there is nothing to key the session on, so the answer is CONNACK 2. */
	if (out->client_id.len == 0 && !out->clean_session)
		return connect_result(code, MQTT_CONNACK_ID_REJECTED, SH_E_INVALID);
	return SH_OK;
}

sh_rc mqtt_decode_publish(const struct mqtt_raw *p, struct mqtt_publish *out)
{
	struct mqtt_reader r;

	memset(out, 0, sizeof *out);
	if (p->type != MQTT_PUBLISH)
		return SH_E_MALFORMED;
	out->qos = (uint8_t)((p->flags & MQTT_PUBLISH_QOS_MASK) >> MQTT_PUBLISH_QOS_SHIFT);
	out->dup = (p->flags & MQTT_PUBLISH_DUP) != 0;
	out->retain = (p->flags & MQTT_PUBLISH_RETAIN) != 0;
	if (out->qos == 3)
		return SH_E_MALFORMED;
	reader_for(&r, p);
	if (mqtt_read_utf8(&r, &out->topic) != SH_OK || !topic_name_ok(out->topic))
		return SH_E_MALFORMED;
	if (out->qos > 0 && (mqtt_read_u16(&r, &out->packet_id) != SH_OK || out->packet_id == 0))
		return SH_E_MALFORMED;
	return mqtt_read_rest(&r, &out->payload);
}

/* Read the non-zero packet id that opens SUBSCRIBE, UNSUBSCRIBE and SUBACK. */
static sh_rc read_packet_id(struct mqtt_reader *r, uint16_t *id)
{
	if (mqtt_read_u16(r, id) != SH_OK || *id == 0)
		return SH_E_MALFORMED;
	return SH_OK;
}

sh_rc mqtt_decode_subscribe(const struct mqtt_raw *p, struct mqtt_subscribe *out)
{
	struct mqtt_reader r;
	size_t seen = 0;

	memset(out, 0, sizeof *out);
	if (p->type != MQTT_SUBSCRIBE || p->flags != MQTT_FLAGS_SUBSCRIBE)
		return SH_E_MALFORMED;
	reader_for(&r, p);
	if (read_packet_id(&r, &out->packet_id) != SH_OK)
		return SH_E_MALFORMED;
	while (mqtt_read_left(&r) > 0) {
		struct sh_span filter;
		uint8_t qos;
		if (mqtt_read_utf8(&r, &filter) != SH_OK || !topic_filter_ok(filter))
			return SH_E_MALFORMED;
		if (mqtt_read_u8(&r, &qos) != SH_OK || qos > 2)
			return SH_E_MALFORMED;
		if (seen < MQTT_MAX_TOPICS_PER_SUBSCRIBE) {
			out->topics[seen].filter = filter;
			out->topics[seen].qos = qos;
			out->count = seen + 1;
		}
		seen++;
	}
	if (seen == 0)
		return SH_E_MALFORMED;
	return seen > MQTT_MAX_TOPICS_PER_SUBSCRIBE ? SH_E_TOOLARGE : SH_OK;
}

sh_rc mqtt_decode_unsubscribe(const struct mqtt_raw *p, struct mqtt_unsubscribe *out)
{
	struct mqtt_reader r;
	size_t seen = 0;

	memset(out, 0, sizeof *out);
	if (p->type != MQTT_UNSUBSCRIBE || p->flags != MQTT_FLAGS_UNSUBSCRIBE)
		return SH_E_MALFORMED;
	reader_for(&r, p);
	if (read_packet_id(&r, &out->packet_id) != SH_OK)
		return SH_E_MALFORMED;
	while (mqtt_read_left(&r) > 0) {
		struct sh_span filter;
		if (mqtt_read_utf8(&r, &filter) != SH_OK || !topic_filter_ok(filter))
			return SH_E_MALFORMED;
		if (seen < MQTT_MAX_TOPICS_PER_SUBSCRIBE) {
			out->filters[seen] = filter;
			out->count = seen + 1;
		}
		seen++;
	}
	if (seen == 0)
		return SH_E_MALFORMED;
	return seen > MQTT_MAX_TOPICS_PER_SUBSCRIBE ? SH_E_TOOLARGE : SH_OK;
}

sh_rc mqtt_decode_ack(const struct mqtt_raw *p, uint16_t *packet_id)
{
	uint8_t want;
	struct mqtt_reader r;

	*packet_id = 0;
	switch (p->type) {
	case MQTT_PUBACK:
	case MQTT_PUBREC:
	case MQTT_PUBCOMP:
	case MQTT_UNSUBACK:
		want = MQTT_FLAGS_NONE;
		break;
	case MQTT_PUBREL:
		want = MQTT_FLAGS_PUBREL;
		break;
	default:
		return SH_E_MALFORMED;
	}
	if (p->flags != want || p->len != 2)
		return SH_E_MALFORMED;
	reader_for(&r, p);
	return read_packet_id(&r, packet_id);
}

sh_rc mqtt_decode_empty(const struct mqtt_raw *p)
{
	if (p->type != MQTT_PINGREQ && p->type != MQTT_PINGRESP && p->type != MQTT_DISCONNECT)
		return SH_E_MALFORMED;
	if (p->flags != MQTT_FLAGS_NONE || p->len != 0)
		return SH_E_MALFORMED;
	return SH_OK;
}

sh_rc mqtt_decode_connack(const struct mqtt_raw *p, struct mqtt_connack *out)
{
	memset(out, 0, sizeof *out);
	if (p->type != MQTT_CONNACK || p->flags != MQTT_FLAGS_NONE || p->len != 2)
		return SH_E_MALFORMED;
	uint8_t ack = p->body[0], rc = p->body[1];
	if ((ack & ~MQTT_CONNACK_SESSION_PRESENT) != 0 || rc > MQTT_CONNACK_NOT_AUTHORIZED)
		return SH_E_MALFORMED;
	if (ack && rc != MQTT_CONNACK_ACCEPTED)
		return SH_E_MALFORMED;
	out->session_present = ack != 0;
	out->code = rc;
	return SH_OK;
}

sh_rc mqtt_decode_suback(const struct mqtt_raw *p, struct mqtt_suback *out)
{
	struct mqtt_reader r;
	size_t seen = 0;

	memset(out, 0, sizeof *out);
	if (p->type != MQTT_SUBACK || p->flags != MQTT_FLAGS_NONE)
		return SH_E_MALFORMED;
	reader_for(&r, p);
	if (read_packet_id(&r, &out->packet_id) != SH_OK)
		return SH_E_MALFORMED;
	while (mqtt_read_left(&r) > 0) {
		uint8_t c = 0;
		(void)mqtt_read_u8(&r, &c); /* cannot fail: a byte is left */
		if (c > 2 && c != MQTT_SUBACK_FAILURE)
			return SH_E_MALFORMED;
		if (seen < MQTT_MAX_TOPICS_PER_SUBSCRIBE) {
			out->codes[seen] = c;
			out->count = seen + 1;
		}
		seen++;
	}
	if (seen == 0)
		return SH_E_MALFORMED;
	return seen > MQTT_MAX_TOPICS_PER_SUBSCRIBE ? SH_E_TOOLARGE : SH_OK;
}
