/*
 * mqtt_write.h: MQTT 3.1.1 encoders into caller buffers: what the server sends (CONNACK,
 * PUBLISH, PUBACK, SUBACK, UNSUBACK, PINGRESP) and, for tests and device-side tools, what a
 * client sends (CONNECT, SUBSCRIBE, UNSUBSCRIBE, the other acks, PINGREQ, DISCONNECT).
 * Never allocates, never validates topic grammar (the session builds its own topics).
 *
 * Common contract: buf is the caller's, cap bytes; arguments are borrowed. Each encoder
 * returns SH_OK with *out_len = bytes written, or SH_E_NOSPACE with *out_len = bytes needed
 * and nothing written (buf may be NULL when cap is 0: a sizing call). Argument errors return
 * SH_E_INVALID, packets whose remaining length would pass MQTT_MAX_REMAINING_LENGTH return
 * SH_E_TOOLARGE; both with *out_len = 0 and nothing written. The remaining length is always
 * written in its shortest form.
 */
#ifndef SH_MQTT_WRITE_H
#define SH_MQTT_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mqtt_consts.h"
#include "core/mqtt_decode.h"
#include "core/result.h"

/*
 * CONNACK (§3.2): 4 bytes. session_present is written only with MQTT_CONNACK_ACCEPTED (the
 * spec requires 0 with any refusal). SH_E_INVALID when code is not 0..5.
 */
sh_rc mqtt_write_connack(uint8_t *buf, size_t cap, bool session_present, enum mqtt_connack_code code,
			 size_t *out_len);

/*
 * PUBLISH (§3.3): topic (topic_len bytes, not NUL-terminated, 1..65535), payload (may be NULL
 * when payload_len is 0), QoS 0..2 with a non-zero packet_id when qos > 0 (ignored for qos 0).
 * SH_E_INVALID for an empty or over-long topic, qos > 2, or packet id 0 with qos > 0;
 * SH_E_TOOLARGE when the packet cannot be expressed.
 */
sh_rc mqtt_write_publish(uint8_t *buf, size_t cap, const char *topic, size_t topic_len,
			 const void *payload, size_t payload_len, uint8_t qos, bool retain, bool dup,
			 uint16_t packet_id, size_t *out_len);

/*
 * Total bytes of a PUBLISH with these sizes (fixed header included), to size a buffer before
 * mqtt_write_publish. Returns 0 when such a packet cannot be expressed (topic over 65535
 * bytes or empty, remaining length over MQTT_MAX_REMAINING_LENGTH).
 */
size_t mqtt_publish_size(size_t topic_len, size_t payload_len, uint8_t qos);

/* PUBACK (§3.4): 4 bytes. SH_E_INVALID when packet_id is 0. */
sh_rc mqtt_write_puback(uint8_t *buf, size_t cap, uint16_t packet_id, size_t *out_len);

/*
 * SUBACK (§3.9): packet id and n return codes (each 0, 1, 2 or MQTT_SUBACK_FAILURE), in the
 * order of the SUBSCRIBE's filters. SH_E_INVALID when n is 0, packet_id is 0 or a code is
 * another value; SH_E_TOOLARGE when n cannot be expressed.
 */
sh_rc mqtt_write_suback(uint8_t *buf, size_t cap, uint16_t packet_id, const uint8_t *codes, size_t n,
			size_t *out_len);

/* UNSUBACK (§3.11): 4 bytes. SH_E_INVALID when packet_id is 0. */
sh_rc mqtt_write_unsuback(uint8_t *buf, size_t cap, uint16_t packet_id, size_t *out_len);

/* PINGRESP (§3.13): 2 bytes. */
sh_rc mqtt_write_pingresp(uint8_t *buf, size_t cap, size_t *out_len);

/*
 * Any packet that is only a packet id: type MQTT_PUBACK, MQTT_PUBREC, MQTT_PUBREL (flags 0x2
 * written), MQTT_PUBCOMP or MQTT_UNSUBACK. SH_E_INVALID for another type or packet_id 0.
 */
sh_rc mqtt_write_ack(uint8_t *buf, size_t cap, enum mqtt_type type, uint16_t packet_id, size_t *out_len);

/* An empty packet: MQTT_PINGREQ, MQTT_PINGRESP or MQTT_DISCONNECT. SH_E_INVALID otherwise. */
sh_rc mqtt_write_empty(uint8_t *buf, size_t cap, enum mqtt_type type, size_t *out_len);

/*
 * CONNECT (§3.1) from *c, the inverse of mqtt_decode_connect: always protocol name "MQTT" and
 * level 4 (c->protocol_name and c->level are ignored); the will, username and password are
 * written when their has_ flag is set. SH_E_INVALID for will_qos > 2, a password without a
 * username, a will with an empty topic, or any field over 65535 bytes.
 */
sh_rc mqtt_write_connect(uint8_t *buf, size_t cap, const struct mqtt_connect *c, size_t *out_len);

/*
 * SUBSCRIBE (§3.8) from *s, the inverse of mqtt_decode_subscribe. SH_E_INVALID for packet id
 * 0, count 0 or over MQTT_MAX_TOPICS_PER_SUBSCRIBE, an empty or over-long filter, qos > 2.
 */
sh_rc mqtt_write_subscribe(uint8_t *buf, size_t cap, const struct mqtt_subscribe *s, size_t *out_len);

/* UNSUBSCRIBE (§3.10) from *u; the same argument rules as mqtt_write_subscribe. */
sh_rc mqtt_write_unsubscribe(uint8_t *buf, size_t cap, const struct mqtt_unsubscribe *u, size_t *out_len);

#endif
