/*
 * mqtt_consts.h: MQTT 3.1.1 wire constants (packet types, fixed-header flags, CONNECT flag
 * bits, CONNACK and SUBACK codes, size limits). Constants only: no functions, no state.
 * Section numbers refer to the OASIS MQTT 3.1.1 standard.
 */
#ifndef SH_MQTT_CONSTS_H
#define SH_MQTT_CONSTS_H

/* Control packet types (§2.2.1): the high nibble of the first byte. 0 and 15 are reserved. */
enum mqtt_type {
	MQTT_CONNECT = 1,
	MQTT_CONNACK,
	MQTT_PUBLISH,
	MQTT_PUBACK,
	MQTT_PUBREC,
	MQTT_PUBREL,
	MQTT_PUBCOMP,
	MQTT_SUBSCRIBE,
	MQTT_SUBACK,
	MQTT_UNSUBSCRIBE,
	MQTT_UNSUBACK,
	MQTT_PINGREQ,
	MQTT_PINGRESP,
	MQTT_DISCONNECT
};

/* CONNACK return codes (§3.2.2.3). */
enum mqtt_connack_code {
	MQTT_CONNACK_ACCEPTED = 0,
	MQTT_CONNACK_BAD_PROTOCOL = 1,            /* unacceptable protocol level */
	MQTT_CONNACK_ID_REJECTED = 2,             /* identifier rejected */
	MQTT_CONNACK_UNAVAILABLE = 3,             /* server unavailable */
	MQTT_CONNACK_BAD_USERNAME_PASSWORD = 4,   /* bad user name or password */
	MQTT_CONNACK_NOT_AUTHORIZED = 5           /* not authorized */
};

/* SUBACK return code for a refused subscription (§3.9.3); granted codes are the QoS 0..2. */
#define MQTT_SUBACK_FAILURE 0x80

/* Fixed-header flag nibbles (§2.2.2). Every type but PUBLISH has one required value. */
#define MQTT_FLAGS_NONE 0x0          /* all types not listed below */
#define MQTT_FLAGS_PUBREL 0x2        /* PUBREL, SUBSCRIBE, UNSUBSCRIBE */
#define MQTT_FLAGS_SUBSCRIBE 0x2
#define MQTT_FLAGS_UNSUBSCRIBE 0x2
#define MQTT_PUBLISH_RETAIN 0x1      /* PUBLISH flag bits */
#define MQTT_PUBLISH_QOS_MASK 0x6
#define MQTT_PUBLISH_QOS_SHIFT 1
#define MQTT_PUBLISH_DUP 0x8

/* CONNECT flag byte (§3.1.2.3). */
#define MQTT_CONNECT_RESERVED 0x01
#define MQTT_CONNECT_CLEAN_SESSION 0x02
#define MQTT_CONNECT_WILL 0x04
#define MQTT_CONNECT_WILL_QOS_MASK 0x18
#define MQTT_CONNECT_WILL_QOS_SHIFT 3
#define MQTT_CONNECT_WILL_RETAIN 0x20
#define MQTT_CONNECT_PASSWORD 0x40
#define MQTT_CONNECT_USERNAME 0x80

/* CONNACK acknowledge flags (§3.2.2.2). */
#define MQTT_CONNACK_SESSION_PRESENT 0x01

#define MQTT_PROTOCOL_NAME "MQTT"
#define MQTT_PROTOCOL_LEVEL_311 4

/* Largest remaining length four length bytes can express (§2.2.3). */
#define MQTT_MAX_REMAINING_LENGTH 268435455u
/* Largest fixed header: one type byte and four length bytes. */
#define MQTT_MAX_FIXED_HEADER 5
/* Largest UTF-8 string or binary field: a two-byte length prefix (§1.5.3). */
#define MQTT_MAX_STRING 65535u

#endif
