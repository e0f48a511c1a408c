/*
 * sse.c: the incremental text/event-stream parser (room sse), moved here from the CLI's
 * hubclient so it is tested and fuzzed as core code. Pure: no I/O, no clock; allocates only
 * the line buffer and the pending event's data, both bounded.
 */
#include <stdlib.h>
#include <string.h>

#include "core/sse.h"

sh_rc sse_init(struct sse_parser *p)
{
	memset(p, 0, sizeof *p);
	p->line = malloc(SSE_LINE_MAX);
	if (!p->line)
		return SH_E_NOMEM;
	return SH_OK;
}

void sse_free(struct sse_parser *p)
{
	free(p->line);
	free(p->data);
	memset(p, 0, sizeof *p);
}

static void reset_event(struct sse_parser *p)
{
	p->id[0] = '\0';
	p->type[0] = '\0';
	p->data_len = 0;
	p->has_data = 0;
}

/* Append one data line (with the joining '\n' before all but the first). -1 on no memory. */
static int add_data(struct sse_parser *p, const char *v, size_t n)
{
	if (p->has_data == -1)
		return 0;
	size_t need = p->data_len + n + 2;
	if (need > SSE_DATA_MAX) {
		p->has_data = -1; /* too big: dropped at dispatch */
		return 0;
	}
	if (need > p->data_cap) {
		size_t ncap = p->data_cap ? p->data_cap : 256;
		while (ncap < need)
			ncap *= 2;
		char *nd = realloc(p->data, ncap);
		if (!nd)
			return -1;
		p->data = nd;
		p->data_cap = ncap;
	}
	if (p->has_data == 1)
		p->data[p->data_len++] = '\n';
	memcpy(p->data + p->data_len, v, n);
	p->data_len += n;
	p->data[p->data_len] = '\0';
	p->has_data = 1;
	return 0;
}

/*
 * One complete line (without its end). A blank line dispatches the pending event when it has
 * data; "field: value" lines (one optional space after the colon) set id, event or data;
 * a line starting with ':' is a comment. Returns fn's value, or -1 on no memory.
 */
static int take_line(struct sse_parser *p, sse_event_fn fn, void *arg)
{
	const char *l = p->line;
	size_t n = p->line_len;
	if (n == 0) {
		int rc = 0;
		if (p->has_data == 1) {
			struct sse_event ev = {p->id, p->type[0] ? p->type : "message", p->data,
							 p->data_len};
			rc = fn(arg, &ev);
		}
		reset_event(p);
		return rc;
	}
	if (l[0] == ':')
		return 0;
	const char *colon = memchr(l, ':', n);
	size_t flen = colon ? (size_t)(colon - l) : n;
	const char *v = colon ? colon + 1 : l + n;
	size_t vlen = n - (size_t)(v - l);
	if (vlen && *v == ' ') {
		v++;
		vlen--;
	}
	if (flen == 4 && memcmp(l, "data", 4) == 0)
		return add_data(p, v, vlen);
	if (flen == 5 && memcmp(l, "event", 5) == 0) {
		size_t k = vlen < sizeof p->type ? vlen : sizeof p->type - 1;
		memcpy(p->type, v, k);
		p->type[k] = '\0';
	} else if (flen == 2 && memcmp(l, "id", 2) == 0 && !memchr(v, '\0', vlen)) {
		size_t k = vlen < sizeof p->id ? vlen : sizeof p->id - 1;
		memcpy(p->id, v, k);
		p->id[k] = '\0';
	}
	return 0;
}

int sse_feed(struct sse_parser *p, const char *buf, size_t len, sse_event_fn fn,
		       void *arg)
{
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (p->last_cr) {
			p->last_cr = 0;
			if (c == '\n')
				continue;
		}
		if (c == '\r' || c == '\n') {
			p->last_cr = c == '\r';
			int rc = 0;
			if (!p->overflow) {
				p->line[p->line_len] = '\0';
				rc = take_line(p, fn, arg);
			}
			p->overflow = 0;
			p->line_len = 0;
			if (rc)
				return rc;
			continue;
		}
		if (p->overflow)
			continue;
		if (p->line_len + 1 >= SSE_LINE_MAX) {
			p->overflow = 1;
			continue;
		}
		p->line[p->line_len++] = c;
	}
	return 0;
}
