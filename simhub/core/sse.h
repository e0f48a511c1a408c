/*
 * sse.h: an incremental Server-Sent Events parser (the text/event-stream grammar of the HTML
 * standard, the part simhub's /simhub/v1/events stream uses). Pure: bytes in, events out
 * through a callback; never does I/O, never retries, keeps no globals.
 */
#ifndef SH_SSE_H
#define SH_SSE_H

#include <stddef.h>

#include "core/result.h"

#define SSE_LINE_MAX 65536              /* longest line kept, its end included */
#define SSE_DATA_MAX (1024u * 1024)     /* an event whose data grows past this is dropped */

/* One event: fields point into the parser and are valid during the callback only. */
struct sse_event {
	const char *id;               /* "" when the event had no id line */
	const char *type;             /* "message" when the event had no event line */
	const char *data;             /* data lines joined with '\n', NUL-terminated */
	size_t data_len;
};

/* Return 0 to go on, non-zero to stop the stream (the value comes back from sse_feed). */
typedef int (*sse_event_fn)(void *arg, const struct sse_event *ev);

/* Parser state (lines end in LF, CRLF or CR). Treat as opaque. */
struct sse_parser {
	char *line;                   /* current line, SSE_LINE_MAX bytes */
	size_t line_len;
	int last_cr;                  /* the previous byte was CR: swallow one LF */
	int overflow;                 /* the current line is over the limit: skip it */
	char id[256], type[64];
	char *data;                   /* accumulated data of the pending event */
	size_t data_len, data_cap;
	int has_data;                 /* 0 none, 1 some, -1 too big (dropped at dispatch) */
};

/* Initialise *p. Returns SH_OK or SH_E_NOMEM. Free with sse_free (also after a failed init). */
sh_rc sse_init(struct sse_parser *p);

/* Release what *p holds and zero it. */
void sse_free(struct sse_parser *p);

/*
 * Feed len bytes of buf (borrowed; any split, any bytes). Calls fn once per complete event (a
 * blank line after at least one data line); comment lines (":") are skipped; fields other
 * than id, event and data are ignored; an id holding NUL is ignored; a line over
 * SSE_LINE_MAX bytes is dropped whole; events whose data grows over SSE_DATA_MAX are dropped.
 * Returns 0, or the first non-zero value fn returned (parsing stops there, the rest of buf
 * unread), or -1 on no memory.
 */
int sse_feed(struct sse_parser *p, const char *buf, size_t len, sse_event_fn fn, void *arg);

#endif
