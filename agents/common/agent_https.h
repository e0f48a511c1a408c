/*
 * agent_https.h: room agent_https of simhub_agentlib (agents/common): one blocking HTTPS
 * request on libwebsockets' client (the project's rule: lws for simhub's own sockets other
 * than MQTT), for the agents' REST calls such as the security agent's device-identity
 * bootstrap. HTTP/1.1 only; it never follows redirects and never retries.
 */
#ifndef SH_AGENT_HTTPS_H
#define SH_AGENT_HTTPS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/result.h"

/* A request. Strings borrowed for the call. */
struct agent_https_req {
	const char *host;           /* dialled and sent as Host; TLS name checked against it */
	int port;                   /* 0: 443 */
	const char *ca_file;        /* PEM CA to trust; NULL: the system store */
	bool insecure_plain;        /* plain HTTP instead of TLS (debugging only) */
	bool skip_name_check;       /* TLS: verify the chain but not the server name (an address
				       the certificate does not name); never skips the chain */
	const char *method;         /* "GET", "PUT", "POST", "PATCH", "DELETE" */
	const char *path;           /* with its query, e.g. "/devices/d?api-version=..." */
	const char *authorization;  /* Authorization header value, NULL for none */
	const char *body;           /* JSON body (Content-Type: application/json), NULL for none */
	int timeout_ms;             /* 0: 10000 */
};

/* The answer: status and body (NUL-terminated, caller frees with free()). */
struct agent_https_res {
	int status;
	char *body;
	size_t len;
};

/*
 * Perform the request. *res is zeroed first. The body is capped at 1 MiB.
 * Returns SH_OK when an answer arrived (whatever its status); SH_E_IO when the connection or
 * TLS handshake failed or the server hung up before answering (the reason is logged with
 * agent_log); SH_E_EXPIRED on timeout; SH_E_NOMEM.
 */
sh_rc agent_https_request(const struct agent_https_req *req, struct agent_https_res *res);

#endif
