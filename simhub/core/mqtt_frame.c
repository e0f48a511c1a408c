/*
 * mqtt_frame.c: the MQTT push framer, written once for every transport (STYLE.md §1 warns of
 * mosquitto's two remaining-length decoders). Pure: no socket, no clock; it allocates only
 * the body buffer of a packet that arrives split across feeds.
 *
 * A packet is one type/flags byte, a remaining length of one to four bytes (seven bits each,
 * least significant first, the top bit meaning "another byte follows"), then that many body
 * bytes. The framer walks those three stages byte by byte for the header and in bulk for the
 * body. Non-minimal length encodings (0x80 0x00 for 0) are accepted: MQTT 3.1.1 only caps the
 * field at four bytes, unlike MQTT 5 which demands the shortest form.
 */
#include "core/mqtt_frame.h"

#include <stdlib.h>
#include <string.h>

/* A buffer that grew past this is released once its packet has been handed out. */
#define KEEP_BUFFER 4096u
/* First allocation for a split body. */
#define FIRST_BUFFER 256u

void mqtt_framer_init(struct mqtt_framer *f, size_t max_packet)
{
	memset(f, 0, sizeof *f);
	f->max_packet = max_packet > MQTT_MAX_REMAINING_LENGTH ? MQTT_MAX_REMAINING_LENGTH : max_packet;
	f->dead = SH_OK;
}

void mqtt_framer_free(struct mqtt_framer *f)
{
	free(f->buf);
	f->buf = NULL;
	f->cap = 0;
	f->have = 0;
	f->lent = false;
}

size_t mqtt_framer_pending(const struct mqtt_framer *f)
{
	return f->hdr_len + f->have;
}

/* Forget the packet in progress (the buffer itself stays). */
static void reset_packet(struct mqtt_framer *f)
{
	f->hdr_len = 0;
	f->have_len = false;
	f->rem = 0;
	f->have = 0;
}

/* Make the framer dead with rc; the buffer goes at once (a dead framer never uses it). */
static sh_rc die(struct mqtt_framer *f, sh_rc rc)
{
	mqtt_framer_free(f);
	reset_packet(f);
	f->dead = rc;
	return rc;
}

/*
 * Make room for `need` body bytes (need <= f->rem). The buffer doubles from FIRST_BUFFER but
 * never beyond the packet's remaining length, so a peer announcing 200 MB and sending ten
 * bytes costs a few hundred bytes, not 200 MB. Returns false when realloc fails.
 */
static bool reserve(struct mqtt_framer *f, size_t need)
{
	if (need <= f->cap)
		return true;
	size_t ncap = f->cap ? f->cap : FIRST_BUFFER;
	while (ncap < need)
		ncap *= 2;
	if (ncap > f->rem)
		ncap = f->rem;
	uint8_t *nb = realloc(f->buf, ncap);
	if (!nb)
		return false;
	f->buf = nb;
	f->cap = ncap;
	return true;
}

/*
 * Take fixed-header bytes from in[*pos..len) until the remaining length is complete or the
 * input ends. Returns SH_OK when the length is known, SH_NEED_MORE when the input ran out,
 * or an error (bad type, fifth length byte, over max_packet), leaving *pos after the byte
 * that decided.
 */
static sh_rc take_header(struct mqtt_framer *f, const uint8_t *in, size_t len, size_t *pos)
{
	while (!f->have_len) {
		if (*pos == len)
			return SH_NEED_MORE;
		uint8_t b = in[(*pos)++];
		if (f->hdr_len == 0) {
			uint8_t type = (uint8_t)(b >> 4);
			if (type == 0 || type == 15)
				return SH_E_MALFORMED;
			f->hdr[f->hdr_len++] = b;
			continue;
		}
		f->hdr[f->hdr_len++] = b;
		f->rem |= (size_t)(b & 0x7f) << (7 * (f->hdr_len - 2));
		if (!(b & 0x80)) {
			f->have_len = true;
			if (f->rem > f->max_packet)
				return SH_E_TOOLARGE;
		} else if (f->hdr_len == MQTT_MAX_FIXED_HEADER) {
			return SH_E_MALFORMED;
		}
	}
	return SH_OK;
}

/* Fill *out with the packet whose header is in f->hdr and whose body is at body. */
static void emit(const struct mqtt_framer *f, const uint8_t *body, struct mqtt_raw *out)
{
	out->type = (uint8_t)(f->hdr[0] >> 4);
	out->flags = (uint8_t)(f->hdr[0] & 0x0f);
	out->body = body;
	out->len = f->rem;
}

sh_rc mqtt_framer_feed(struct mqtt_framer *f, const uint8_t *in, size_t len, size_t *used,
		       struct mqtt_raw *out)
{
	memset(out, 0, sizeof *out);
	*used = 0;
	if (f->dead != SH_OK)
		return f->dead;
	if (f->lent) {
		/* The caller is done with the last buffered packet: shed a big buffer. */
		f->lent = false;
		if (f->cap > KEEP_BUFFER)
			mqtt_framer_free(f);
	}

	size_t pos = 0;
	sh_rc rc = take_header(f, in, len, &pos);
	*used = pos;
	if (rc == SH_NEED_MORE)
		return rc;
	if (rc != SH_OK)
		return die(f, rc);

	size_t avail = len - pos;
	if (f->have == 0 && avail >= f->rem) {
		/* Zero copy: the whole body is in the caller's bytes. */
		emit(f, in + pos, out);
		*used = pos + f->rem;
		reset_packet(f);
		return SH_OK;
	}

	size_t take = f->rem - f->have;
	if (take > avail)
		take = avail;
	if (!reserve(f, f->have + take))
		return die(f, SH_E_NOMEM);
	if (take)
		memcpy(f->buf + f->have, in + pos, take);
	f->have += take;
	pos += take;
	*used = pos;
	if (f->have < f->rem)
		return SH_NEED_MORE;

	emit(f, f->buf, out);
	f->lent = true;
	reset_packet(f);
	return SH_OK;
}
