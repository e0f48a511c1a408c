/*
 * hubclient.h: the CLI's synchronous HTTPS client of a running hub, on libwebsockets' client
 * API: one request at a time, the hub's certificate checked against the hub CA, a service SAS
 * token minted from an owner connection string, and an SSE stream mode for `simhub watch`.
 * It never touches the database and never prints: errors come back as text for the caller.
 */
#ifndef SH_HUBCLIENT_H
#define SH_HUBCLIENT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"
#include "core/sse.h"

#define HUBCLIENT_HOST_MAX 256
#define HUBCLIENT_ERR_MAX 512

/* Where the hub is and how to talk to it. Every string is borrowed for the call that takes it. */
struct hubclient_config {
	const char *url;          /* "https://HOST:PORT" (a trailing '/' is tolerated) */
	const char *ca_file;      /* PEM of the CA that signed the hub's certificate; NULL: system store */
	const char *service_cs;   /* "HostName=..;SharedAccessKeyName=..;SharedAccessKey=.." */
	int64_t now_s;            /* wall clock, seconds: the minted token expires an hour later */
};

/* A parsed hub URL: host and port. */
struct hubclient_url {
	char host[HUBCLIENT_HOST_MAX];
	int port;
};

struct hubclient;

/* What came back from one request. */
struct hubclient_response {
	int status;                   /* HTTP status */
	char continuation[512];       /* x-ms-continuation, "" when absent */
	char error_code[64];          /* iothub-errorcode, "" when absent */
	char etag[128];               /* ETag as sent (quotes kept), "" when absent */
	char *body;                   /* NUL-terminated, malloc'd (may be ""); hubclient_response_free */
	size_t body_len;
};

/* One HTTP header to add to a request; arrays of them end with {NULL, NULL}. */
struct hubclient_header {
	const char *name;             /* without the colon */
	const char *value;
};

/*
 * Parse "https://HOST:PORT[/]" (HOST a name, an IPv4 address or [IPv6]; PORT 1-65535; the
 * port defaults to 443). Pure. Returns SH_OK with *out filled; SH_E_MALFORMED for any other
 * scheme, a path, an empty host, a bad port or a host over HUBCLIENT_HOST_MAX - 1 bytes.
 */
sh_rc hubclient_url_parse(const char *url, struct hubclient_url *out);

/*
 * Make a client: parses the URL and the service connection string and mints a SAS token for
 * the connection string's HostName, valid for an hour from cfg->now_s. No network yet.
 * *out: caller frees with hubclient_free. err: caller buffer, filled on failure.
 * Returns SH_OK; SH_E_MALFORMED (bad URL or connection string: the reason is in err);
 * SH_E_INVALID (the connection string is not a policy string with a key); SH_E_NOMEM.
 */
sh_rc hubclient_new(const struct hubclient_config *cfg, struct hubclient **out, char *err,
		    size_t errcap);
void hubclient_free(struct hubclient *hc);

/* The URL the client talks to, as given (borrowed from the client). */
const char *hubclient_base_url(const struct hubclient *hc);

/*
 * One request, waiting at most timeout_s seconds for the whole answer. `method` "GET", "PUT",
 * "PATCH", "POST" or "DELETE"; `path` starts with '/' and may hold a query string (already
 * percent-encoded); api-version is added when the path has none. `body` (len bytes, borrowed)
 * is sent with `content_type` when body is not NULL. `headers`: extra headers or NULL.
 * *resp is filled (caller frees with hubclient_response_free) on SH_OK, whatever the status.
 * Returns SH_OK; SH_E_IO when no connection could be made (err: "no hub at URL: ..."); SH_E_STATE
 * when TLS failed (err says so); SH_E_EXPIRED on timeout; SH_E_MALFORMED when the answer was cut
 * short; SH_E_NOMEM.
 */
sh_rc hubclient_request(struct hubclient *hc, const char *method, const char *path,
			const char *content_type, const char *body, size_t len,
			const struct hubclient_header *headers, int timeout_s,
			struct hubclient_response *resp, char *err, size_t errcap);

void hubclient_response_free(struct hubclient_response *resp);

/*
 * The IoT Hub error of a failed answer as one line, "404001 DeviceNotFound: message", from
 * either error body format (JSON text in Message, or legacy "ErrorCode:Name;message") and the
 * iothub-errorcode header; "HTTP 502: <first line of the body>" when the body is not IoT Hub's.
 * *code_out (optional) gets the numeric code or 0. Writes NUL-terminated text into out.
 */
void hubclient_error_text(const struct hubclient_response *resp, char *out, size_t cap,
			  int *code_out);

/* --- Server-Sent Events ------------------------------------------------------------------------ */

/* The stream is parsed by core/sse (struct sse_event, sse_event_fn). */


/*
 * GET `path` as an event stream and call fn per event until fn returns non-zero, *stop becomes
 * non-zero (checked at least every 200 ms), or the hub closes the stream.
 * Returns SH_OK when stopped by fn or *stop; SH_E_IO / SH_E_STATE as hubclient_request;
 * SH_E_INVALID when the answer is not 200 (err holds the error line); SH_E_MALFORMED when the hub
 * ended the stream.
 */
sh_rc hubclient_stream(struct hubclient *hc, const char *path, sse_event_fn fn, void *arg,
		       volatile sig_atomic_t *stop, char *err, size_t errcap);

#endif
