/*
 * mqtt_decode.h: MQTT 3.1.1 packet bodies (from mqtt_frame) into structs of spans: CONNECT,
 * PUBLISH, SUBSCRIBE, UNSUBSCRIBE, the two-byte acks and the empty packets, plus CONNACK and
 * SUBACK for test clients. Pure: it never allocates or copies, and never decides what the
 * session does with a well-formed packet (QoS 2, IoT Hub topic rules, client ids).
 *
 * Common contract: p is borrowed; every span in *out points into p->body (an absent optional
 * field is { NULL, 0 }) and lives as long as the body. *out is zeroed first, so after a
 * failure it holds at most the fields decoded before it. A packet whose type is not one the
 * decoder reads returns SH_E_MALFORMED. Section numbers refer to the MQTT 3.1.1 standard.
 */
#ifndef SH_MQTT_DECODE_H
#define SH_MQTT_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mqtt_consts.h"
#include "core/mqtt_frame.h"
#include "core/mqtt_read.h" /* mqtt_utf8_valid */
#include "core/result.h"
#include "core/span.h"

struct mqtt_connect {
	struct sh_span protocol_name;   /* "MQTT" */
	uint8_t level;                  /* 4 */
	bool clean_session;
	uint16_t keepalive;             /* seconds; 0 = none */
	struct sh_span client_id;       /* may be empty (len 0) */
	bool has_will;
	uint8_t will_qos;               /* 0..2; 0 without a will */
	bool will_retain;
	struct sh_span will_topic;      /* non-empty, no wildcard, when has_will */
	struct sh_span will_payload;    /* any bytes, may be empty */
	bool has_username;
	struct sh_span username;
	bool has_password;              /* only with has_username */
	struct sh_span password;        /* any bytes (a SAS token for IoT Hub) */
};

/*
 * Decode a CONNECT (§3.1). *code (may be NULL) gets the CONNACK code to answer with.
 * Returns
 *   SH_OK          *out filled, *code = MQTT_CONNACK_ACCEPTED (the session may still refuse).
 *   SH_E_INVALID   the spec says to answer with a CONNACK refusal, then close:
 *                  protocol level != 4 -> MQTT_CONNACK_BAD_PROTOCOL (decided right after the
 *                  level byte; the rest is not read, as another level has another grammar);
 *                  empty client id with clean session 0 -> MQTT_CONNACK_ID_REJECTED (decided
 *                  after the whole packet has decoded).
 *   SH_E_MALFORMED close without CONNACK: wrong type, flags not 0, protocol name not "MQTT"
 *                  (MQTT 3.1's "MQIsdp" included), reserved connect-flag bit set, will QoS or
 *                  retain without the will flag, will QoS 3, password without username, a
 *                  field truncated, a string that is not MQTT UTF-8, an empty will topic or one
 *                  holding + or #, or bytes after the last field.
 */
sh_rc mqtt_decode_connect(const struct mqtt_raw *p, struct mqtt_connect *out, enum mqtt_connack_code *code);

struct mqtt_publish {
	uint8_t qos;                /* 0..2 */
	bool dup;
	bool retain;
	struct sh_span topic;       /* non-empty MQTT UTF-8 topic name, no + or # */
	uint16_t packet_id;         /* non-zero when qos > 0; 0 for qos 0 */
	struct sh_span payload;     /* the rest of the body, possibly empty */
};

/*
 * Decode a PUBLISH (§3.3). QoS 2 decodes fine (the session decides to close); the DUP flag is
 * reported as sent, even on QoS 0 (a sender's fault the spec gives the receiver no rule for).
 * Returns SH_OK; SH_E_MALFORMED for QoS 3, a truncated topic or packet id, packet id 0 with
 * qos > 0, a topic that is empty, not MQTT UTF-8, or holds a wildcard (+ or #).
 */
sh_rc mqtt_decode_publish(const struct mqtt_raw *p, struct mqtt_publish *out);

#define MQTT_MAX_TOPICS_PER_SUBSCRIBE 16

struct mqtt_subscribe {
	uint16_t packet_id;
	size_t count;               /* entries filled in topics[] */
	struct {
		struct sh_span filter;
		uint8_t qos;            /* requested QoS 0..2 */
	} topics[MQTT_MAX_TOPICS_PER_SUBSCRIBE];
};

/*
 * Decode a SUBSCRIBE (§3.8). Each entry is a topic filter (non-empty MQTT UTF-8; '#' only as
 * the whole last level; '+' only as a whole level) and a requested-QoS byte (0..2, the six
 * upper bits zero). Returns
 *   SH_OK          1..MQTT_MAX_TOPICS_PER_SUBSCRIBE entries in *out.
 *   SH_E_TOOLARGE  every entry is well-formed but there are more than the maximum; *out
 *                  holds the first MQTT_MAX_TOPICS_PER_SUBSCRIBE (and the packet id).
 *   SH_E_MALFORMED flags not 0x2, packet id missing or 0, no entry, an entry truncated (a
 *                  filter without its QoS byte included), a bad filter, QoS 3 or reserved
 *                  bits set.
 */
sh_rc mqtt_decode_subscribe(const struct mqtt_raw *p, struct mqtt_subscribe *out);

struct mqtt_unsubscribe {
	uint16_t packet_id;
	size_t count;
	struct sh_span filters[MQTT_MAX_TOPICS_PER_SUBSCRIBE];
};

/*
 * Decode an UNSUBSCRIBE (§3.10): packet id then one or more topic filters (checked as in
 * SUBSCRIBE). Returns SH_OK; SH_E_TOOLARGE as for SUBSCRIBE; SH_E_MALFORMED for flags not
 * 0x2, packet id missing or 0, no filter, a truncated or bad filter.
 */
sh_rc mqtt_decode_unsubscribe(const struct mqtt_raw *p, struct mqtt_unsubscribe *out);

/*
 * Decode a packet that is only a packet id: PUBACK, PUBREC, PUBCOMP (flags 0), PUBREL (flags
 * 0x2), UNSUBACK (flags 0). Returns SH_OK with *packet_id; SH_E_MALFORMED when the body is
 * not exactly 2 bytes, the flags are wrong, the id is 0 or the type is another one.
 */
sh_rc mqtt_decode_ack(const struct mqtt_raw *p, uint16_t *packet_id);

/* PINGREQ, PINGRESP, DISCONNECT: SH_OK when flags are 0 and the body is empty, else (or for
 * another type) SH_E_MALFORMED. */
sh_rc mqtt_decode_empty(const struct mqtt_raw *p);

/* A CONNACK as a client sees it (§3.2). */
struct mqtt_connack {
	bool session_present;
	uint8_t code;               /* enum mqtt_connack_code value, 0..5 */
};

/*
 * Decode a CONNACK: flags 0, exactly 2 bytes, acknowledge flags 0 or 1, code 0..5, session
 * present only with code 0. Returns SH_OK or SH_E_MALFORMED.
 */
sh_rc mqtt_decode_connack(const struct mqtt_raw *p, struct mqtt_connack *out);

/* A SUBACK as a client sees it (§3.9). */
struct mqtt_suback {
	uint16_t packet_id;
	size_t count;
	uint8_t codes[MQTT_MAX_TOPICS_PER_SUBSCRIBE]; /* 0, 1, 2 or MQTT_SUBACK_FAILURE */
};

/*
 * Decode a SUBACK: flags 0, non-zero packet id, one or more codes each 0, 1, 2 or 0x80.
 * Returns SH_OK; SH_E_TOOLARGE for more than MQTT_MAX_TOPICS_PER_SUBSCRIBE codes (the first
 * ones kept); SH_E_MALFORMED otherwise.
 */
sh_rc mqtt_decode_suback(const struct mqtt_raw *p, struct mqtt_suback *out);

#endif
