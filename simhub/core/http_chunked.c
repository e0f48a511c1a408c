/*
 * http_chunked.c: HTTP/1.1 chunked transfer decoding (RFC 9112 §7.1) as a byte-driven state
 * machine. Pure: it never allocates, never copies body bytes (they come back as spans into
 * the caller's input) and never looks at headers; io/lws_rest.c feeds it what lws delivers.
 *
 * The grammar, and what this decoder does with each part:
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   last-chunk   = 1*"0" [ chunk-ext ] CRLF
 *   chunk-size   = 1*HEXDIG                     any case; leading zeros allowed
 *   chunk-ext    = *( BWS ";" BWS name [ BWS "=" BWS value ] )
 *                                               skipped up to CR; controls other than tab refused
 *   trailer-section = *( field-line CRLF )      skipped, same byte rule, bounded in size
 * Line ends must be CRLF: a bare LF is refused, because a front end and this decoder that
 * disagreed about line ends could be made to see two different bodies (request smuggling).
 * Sizes are checked against the caller's limit as soon as their digits arrive, so a hostile
 * "ffffffffffffffffff" fails before any data is awaited and the arithmetic cannot overflow.
 */
#include "core/http_chunked.h"

enum {
	S_SIZE_FIRST,   /* first hex digit of a chunk size */
	S_SIZE,         /* more hex digits, or what ends the size */
	S_SIZE_WS,      /* blanks after the size (BWS before ';') */
	S_EXT,          /* chunk extensions, up to CR */
	S_SIZE_LF,      /* LF after the size line's CR */
	S_DATA,         /* chunk data */
	S_DATA_CR,      /* CR after chunk data */
	S_DATA_LF,      /* LF after chunk data */
	S_TRAILER_START,/* start of a trailer line, or the CR of the final empty line */
	S_TRAILER_LINE, /* inside a trailer field line */
	S_TRAILER_LF,   /* LF after a trailer line */
	S_END_LF,       /* LF of the final empty line */
	S_DONE,
	S_ERR_MALFORMED,
	S_ERR_TOOLARGE,
};

static int hex_digit(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A byte allowed inside an extension or a trailer line: visible text, space, tab, obs-text. */
static int text_byte(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

void http_chunked_init(struct http_chunked *c, size_t limit)
{
	c->state = S_SIZE_FIRST;
	c->chunk_left = 0;
	c->size = 0;
	c->line_len = 0;
	c->limit = limit;
	c->total = 0;
}

static sh_rc fail(struct http_chunked *c, int state)
{
	c->state = state;
	return state == S_ERR_TOOLARGE ? SH_E_TOOLARGE : SH_E_MALFORMED;
}

/* An error at in[at]: the bytes before it were read, the decoder is now stuck in `state`. */
static sh_rc fail_at(struct http_chunked *c, int state, size_t *consumed, size_t at)
{
	*consumed = at;
	return fail(c, state);
}

/*
 * Take one hex digit of a chunk size. The size may not exceed what the limit still allows:
 * checked before the multiplication, so `size` stays below limit and never overflows.
 */
static sh_rc size_digit(struct http_chunked *c, int d)
{
	uint64_t room = (uint64_t)(c->limit - c->total);
	if ((uint64_t)d > room || c->size > (room - (uint64_t)d) / 16u)
		return fail(c, S_ERR_TOOLARGE);
	c->size = c->size * 16u + (uint64_t)d;
	return SH_OK;
}

sh_rc http_chunked_feed(struct http_chunked *c, const uint8_t *in, size_t len, size_t *consumed,
			struct sh_span *data)
{
	*consumed = 0;
	*data = sh_span_make(in, 0);
	switch (c->state) {
	case S_DONE:
		return SH_OK;
	case S_ERR_MALFORMED:
		return SH_E_MALFORMED;
	case S_ERR_TOOLARGE:
		return SH_E_TOOLARGE;
	default:
		break;
	}
	size_t i = 0;
	while (i < len) {
		uint8_t b = in[i];
		if (c->state == S_DATA) {
			size_t n = len - i;
			if ((uint64_t)n > c->chunk_left)
				n = (size_t)c->chunk_left;
			*data = sh_span_make(in + i, n);
			c->chunk_left -= n;
			c->total += n;
			if (c->chunk_left == 0)
				c->state = S_DATA_CR;
			*consumed = i + n;
			return SH_NEED_MORE;
		}
		i++;
		switch (c->state) {
		case S_SIZE_FIRST:
		case S_SIZE: {
			if (++c->line_len > HTTP_CHUNKED_LINE_MAX)
				return fail_at(c, S_ERR_MALFORMED, consumed, i - 1);
			int d = hex_digit(b);
			if (d >= 0) {
				if (size_digit(c, d) != SH_OK)
					return fail_at(c, S_ERR_TOOLARGE, consumed, i - 1);
				c->state = S_SIZE;
			} else if (c->state == S_SIZE_FIRST) {
				return fail_at(c, S_ERR_MALFORMED, consumed, i - 1);
			} else if (b == ';') {
				c->state = S_EXT;
			} else if (b == ' ' || b == '\t') {
				c->state = S_SIZE_WS;
			} else if (b == '\r') {
				c->state = S_SIZE_LF;
			} else {
				return fail_at(c, S_ERR_MALFORMED, consumed, i - 1);
			}
			break;
		}
		case S_SIZE_WS:
			if (++c->line_len > HTTP_CHUNKED_LINE_MAX)
				return fail_at(c, S_ERR_MALFORMED, consumed, i - 1);
			if (b == ';')
				c->state = S_EXT;
			else if (b == '\r')
				c->state = S_SIZE_LF;
			else if (b != ' ' && b != '\t')
				return fail_at(c, S_ERR_MALFORMED, consumed, i - 1);
			break;
		case S_EXT:
			if (++c->line_len > HTTP_CHUNKED_LINE_MAX)
				return fail_at(c, S_ERR_MALFORMED, consumed, i - 1);
			if (b == '\r')
				c->state = S_SIZE_LF;
			else if (!text_byte(b))
				return fail_at(c, S_ERR_MALFORMED, consumed, i - 1);
			break;
		case S_SIZE_LF:
			if (b != '\n')
				return fail_at(c, S_ERR_MALFORMED, consumed, i - 1);
			c->line_len = 0;
			if (c->size == 0) {
				c->state = S_TRAILER_START;
			} else {
				c->chunk_left = c->size;
				c->size = 0;
				c->state = S_DATA;
			}
			break;
		case S_DATA_CR:
			if (b != '\r')
				return fail_at(c, S_ERR_MALFORMED, consumed, i - 1);
			c->state = S_DATA_LF;
			break;
		case S_DATA_LF:
			if (b != '\n')
				return fail_at(c, S_ERR_MALFORMED, consumed, i - 1);
			c->state = S_SIZE_FIRST;
			break;
		case S_TRAILER_START:
		case S_TRAILER_LINE:
			if (++c->line_len > HTTP_CHUNKED_TRAILER_MAX)
				return fail_at(c, S_ERR_MALFORMED, consumed, i - 1);
			if (b == '\r')
				c->state = c->state == S_TRAILER_START ? S_END_LF : S_TRAILER_LF;
			else if (text_byte(b))
				c->state = S_TRAILER_LINE;
			else
				return fail_at(c, S_ERR_MALFORMED, consumed, i - 1);
			break;
		case S_TRAILER_LF:
			if (++c->line_len > HTTP_CHUNKED_TRAILER_MAX || b != '\n')
				return fail_at(c, S_ERR_MALFORMED, consumed, i - 1);
			c->state = S_TRAILER_START;
			break;
		case S_END_LF:
			if (b != '\n')
				return fail_at(c, S_ERR_MALFORMED, consumed, i - 1);
			c->state = S_DONE;
			*consumed = i;
			return SH_OK;
		default:
			return fail_at(c, S_ERR_MALFORMED, consumed, i - 1);
		}
	}
	*consumed = i;
	return SH_NEED_MORE;
}
