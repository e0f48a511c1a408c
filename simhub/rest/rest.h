/*
 * rest.h: IoT Hub's REST APIs over the hub: the service API (iothub-protocol.md §5, §8) and the
 * HTTPS device API (§7): a request struct in, a response struct out, no sockets. io/lws_rest.c
 * carries the bytes. A method invocation answers later (when the device does): rest_handle then
 * returns 0 and calls `done` once.
 */
#ifndef SH_REST_H
#define SH_REST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rest_route.h"

struct sh_hub;
struct hub_sessions;
struct hub_client_cert;
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
	/*
	 * The names of the request's "iothub-app-*" headers (lower case, without the colon;
	 * borrowed), which header() cannot discover by itself: the HTTPS device API reads its
	 * application properties from them. NULL when none (io/lws_rest.c explains how it lists them).
	 */
	const char *const *app_headers;
	size_t n_app_headers;
	/*
	 * The TLS client certificate, when the transport read one (borrowed; NULL when none, or
	 * when the request has an Authorization header). Only the HTTPS device API and the
	 * security bootstrap GET accept it, and only without an Authorization header.
	 */
	const struct hub_client_cert *client_cert;
};

/* req->header(...) or NULL when the transport gave no lookup. */
const char *rest_header(const struct rest_request *req, const char *name, char *buf, size_t cap);

/*
 * True when the query string holds the argument `name` (borrowed, exact case), with or without
 * a value: "reject" matches "api-version=1&reject" and "reject=true", not "rejected".
 */
bool rest_query_has(const struct rest_request *req, const char *name);

/* One extra response header; both strings malloc'd and owned by the response. */
struct rest_out_header {
	char *name;                  /* exact spelling, without the colon (the C SDK compares
				      * header names case-sensitively, iothub-protocol.md §12.22) */
	char *value;
};

struct rest_response {
	int status;
	char etag[64];               /* "" = no ETag header; sent quoted */
	char error_name[64];         /* "" = no iothub-errorcode header */
	char *body;                  /* malloc'd, NULL for no body; JSON text unless content_type */
	size_t body_len;             /* bytes of body; 0 with a body means strlen(body) (JSON text) */
	const char *content_type;    /* static text; NULL = "application/json; charset=utf-8" */
	struct rest_out_header *headers; /* malloc'd array of n_headers; NULL when none */
	size_t n_headers;
};

/*
 * Append a response header (name without the colon; both strings copied). Returns 0, or -1
 * when out of memory (the response is unchanged).
 */
int rest_response_add_header(struct rest_response *resp, const char *name, const char *value);

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
/*
 * Fill *resp with IoT Hub's answer to a request body over `max` bytes: 413 and errorCode 413001
 * (MessageTooLarge), in the error format the client's User-Agent (NULL when absent) expects.
 * For the edge, which refuses such a body before reading it.
 */
void rest_body_too_large(struct rest_response *resp, const char *user_agent, size_t max);
/* Free what resp owns (body, extra headers) and clear those fields; the struct is the caller's. */
void rest_response_free(struct rest_response *resp);

#endif
