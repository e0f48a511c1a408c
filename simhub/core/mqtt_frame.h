/*
 * mqtt_frame.h: the MQTT push framer. Every transport (raw TCP, TLS, WebSocket pieces) feeds
 * whatever bytes it has; the framer hands back whole packets (fixed header split off, body
 * borrowed). It never reads a socket, never looks inside a body and never blocks.
 */
#ifndef SH_MQTT_FRAME_H
#define SH_MQTT_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mqtt_consts.h"
#include "core/result.h"

/*
 * Framer state. Caller-owned (embed it in the connection); the fields are private to
 * mqtt_frame.c. Initialise with mqtt_framer_init, release with mqtt_framer_free.
 */
struct mqtt_framer {
	size_t max_packet;              /* largest remaining length accepted */
	sh_rc dead;                     /* SH_OK while usable, else the sticky error */
	uint8_t hdr[MQTT_MAX_FIXED_HEADER]; /* fixed header of the packet in progress */
	size_t hdr_len;                 /* bytes of hdr received */
	bool have_len;                  /* the remaining length is complete */
	size_t rem;                     /* remaining length, once have_len */
	uint8_t *buf;                   /* body of a packet split across feeds (heap) */
	size_t cap;                     /* bytes allocated at buf */
	size_t have;                    /* body bytes of the packet in progress held in buf */
	bool lent;                      /* the last packet returned points into buf */
};

/*
 * One complete packet: type (1..14) and flags are the two nibbles of the first byte; body is
 * the `len` bytes after the remaining length (variable header + payload). body is borrowed,
 * from the framer or from the caller's `in`, and valid until the next mqtt_framer_feed or
 * mqtt_framer_free. A packet with len 0 has a non-NULL body pointer that must not be read.
 */
struct mqtt_raw {
	uint8_t type;
	uint8_t flags;
	const uint8_t *body;
	size_t len;
};

/*
 * Prepare *f. max_packet is the largest remaining length accepted (values above
 * MQTT_MAX_REMAINING_LENGTH are clamped to it). Allocates nothing.
 */
void mqtt_framer_init(struct mqtt_framer *f, size_t max_packet);

/* Release the framer's buffer; *f may be initialised again afterwards. */
void mqtt_framer_free(struct mqtt_framer *f);

/*
 * Consume bytes from in[0..len) (borrowed; may be NULL when len is 0). *used = bytes
 * consumed, always <= len. Returns
 *   SH_OK          a complete packet is in *out; *used >= 1. The caller handles it, then calls
 *                  again with in + *used, len - *used (it may be 0: that returns SH_NEED_MORE).
 *   SH_NEED_MORE   everything consumed (*used == len), no complete packet yet; a partial
 *                  packet is buffered.
 *   SH_E_MALFORMED remaining length encoded in more than 4 bytes, or a first byte of type 0
 *                  or 15 (the framer checks no other flag: the decoders do).
 *   SH_E_TOOLARGE  remaining length over max_packet, decided as soon as the length is known.
 *   SH_E_NOMEM     the buffer for a split packet could not grow.
 * On any error *used counts the bytes examined up to the bad one, *out is zeroed, and the
 * framer is dead: every later call returns the same error with *used = 0.
 * A packet lying wholly inside `in` (its body not yet partly buffered) is returned without
 * copying, body pointing into `in`; only a packet split across feeds is buffered, the buffer
 * growing with the bytes actually received (never to the announced length up front).
 */
sh_rc mqtt_framer_feed(struct mqtt_framer *f, const uint8_t *in, size_t len, size_t *used,
		       struct mqtt_raw *out);

/*
 * Bytes of an incomplete packet held by the framer (fixed header and body so far); 0 between
 * packets. Lets a transport tell a clean close from one in the middle of a packet.
 */
size_t mqtt_framer_pending(const struct mqtt_framer *f);

#endif
