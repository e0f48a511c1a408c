/*
 * rest.h: IoT Hub's service REST API over the hub (iothub-protocol.md §5, §8): a request struct
 * in, a response struct out, no sockets. io/lws_rest.c carries the bytes. A method invocation
 * answers later (when the device does): rest_handle then returns 0 and calls `done` once.
 */
#ifndef SH_REST_H
#define SH_REST_H

#include <stddef.h>
#include <stdint.h>

#include "core/rest_route.h"

struct sh_hub;
struct hub_sessions;
struct rest_ctx;

struct rest_request {
	enum rest_method method;
	const char *path;            /* decoded, no query string */
	const char *api_version;     /* NULL when absent */
	const char *authorization;   /* NULL when absent */
	const char *if_match;        /* NULL when absent */
	const char *user_agent;      /* NULL when absent */
	const char *body;            /* not NUL-terminated; may be NULL when body_len is 0 */
	size_t body_len;
	/*
	 * Look up any request header by name (case-insensitive, without the colon) into buf;
	 * NULL when absent. lws 4.1 cannot list headers it does not know, so callers ask by name.
	 */
	const char *(*header)(void *hctx, const char *name, char *buf, size_t cap);
	void *hctx;
	const char *query;           /* query args without "?", separated by "&" or "," (lws 4.1) */
};

/* req->header(...) or NULL when the transport gave no lookup. */
const char *rest_header(const struct rest_request *req, const char *name, char *buf, size_t cap);

struct rest_response {
	int status;
	char etag[64];               /* "" = no ETag header; sent quoted */
	char error_name[64];         /* "" = no iothub-errorcode header */
	char *body;                  /* malloc'd JSON text, NULL for no body */
};

typedef void (*rest_done_fn)(void *conn, struct rest_response *resp);

struct rest_ctx *rest_new(struct sh_hub *hub, struct hub_sessions *reg);
void rest_free(struct rest_ctx *rc);

/*
 * Handle one request. Returns 1 when *resp holds the answer now; 0 when the answer comes later
 * through done(conn, resp) (resp then belongs to the callee during the call). The caller must
 * call rest_cancel(rc, conn) if its connection goes away first.
 */
int rest_handle(struct rest_ctx *rc, const struct rest_request *req, struct rest_response *resp,
		rest_done_fn done, void *conn);
void rest_cancel(struct rest_ctx *rc, void *conn);
void rest_response_free(struct rest_response *resp);

#endif
