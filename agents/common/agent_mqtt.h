/*
 * agent_mqtt.h: room agent_mqtt of simhub_agentlib (agents/common): an IoT Hub MQTT client for
 * agents, on libmosquitto (MQTT 3.1.1, QoS 1), single-threaded: the caller drives it with
 * agent_mqtt_service. It never spawns threads and never blocks longer than one service call
 * (plus the TCP/TLS connect itself). See agent_ident.h for the library overview.
 */
#ifndef SH_AGENT_MQTT_H
#define SH_AGENT_MQTT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_ident.h"
#include "core/result.h"

/* How to reach the hub. Strings are borrowed only during agent_mqtt_new (copied). */
struct agent_mqtt_opts {
	const char *dial_host;  /* NULL: GatewayHostName, else HostName of the identity */
	int port;               /* 0: 8883 with TLS, 1883 without */
	const char *ca_file;    /* PEM CA to trust; NULL with tls: the system store */
	bool tls;               /* MQTT over TLS (server name verified against dial_host) */
	int sas_ttl_s;          /* lifetime of each minted token; 0: 3600 */
	int keepalive_s;        /* 0: 60 */
	int64_t backoff_base_ms, backoff_max_ms;  /* 0: 1000 and 60000 */
};

/*
 * Callbacks, all called from inside agent_mqtt_service on the caller's thread; `ctx` is
 * agent_mqtt_cbs.ctx. Bodies are borrowed for the call only.
 * - on_ready: connected and subscribed to the twin topics (after every (re)connection);
 * - on_twin_res: an answer to one of our twin GET / reported PATCH ($rid as returned by
 *   agent_mqtt_twin_get / _report; -1 when the hub sent none); version -1 when absent;
 * - on_desired: a desired-properties patch with its $version (-1 when absent);
 * - on_lost: the connection went away (the client will reconnect by itself).
 * Any of them may be NULL.
 */
struct agent_mqtt_cbs {
	void *ctx;
	void (*on_ready)(void *ctx, unsigned connections);
	void (*on_twin_res)(void *ctx, int status, int64_t rid, int64_t version, const char *body,
			    size_t len);
	void (*on_desired)(void *ctx, int64_t version, const char *body, size_t len);
	void (*on_lost)(void *ctx, const char *why);
};

struct agent_mqtt;

/*
 * Log one line to stderr as "{prog}: {text}" (prog set once by agent_log_init, default
 * "agent"). Used by this library for every action (connect, subscribe, renew, lost, retry).
 */
void agent_log_init(const char *prog);
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* agent_log with a va_list, for programs that wrap it (agents/fleet's progress-aware log). */
void agent_logv(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/*
 * Make a client for `id` (copied). Calls mosquitto_lib_init once per process. Does not connect.
 * Returns the client (free with agent_mqtt_free), or NULL when libmosquitto refuses the options
 * (the reason is logged), e.g. an unreadable CA file.
 */
struct agent_mqtt *agent_mqtt_new(const struct agent_ident *id, const struct agent_mqtt_opts *o,
				  const struct agent_mqtt_cbs *cbs);

/*
 * Run the client for up to `timeout_ms`: connect when due (first call: at once; after a loss:
 * after the backoff delay), renew the SAS token by reconnecting when agent_renew_at_s says so,
 * read and write packets, call the callbacks.
 * Returns SH_OK (whatever the connection state: retries are automatic); SH_E_UNAUTHORIZED when
 * the hub refused the credentials (CONNACK 4 or 5: retrying would not help, the caller decides);
 * SH_E_STATE after agent_mqtt_disconnect.
 */
sh_rc agent_mqtt_service(struct agent_mqtt *m, int timeout_ms);

/* True between on_ready and the next loss. */
bool agent_mqtt_ready(const struct agent_mqtt *m);

/*
 * Publish a twin GET (empty payload) / a reported-properties patch (`json`, borrowed, copied by
 * libmosquitto), QoS 0 as the SDKs do; *rid (optional) gets the request id.
 * Returns SH_OK; SH_E_STATE when not ready; SH_E_IO when libmosquitto refuses.
 */
sh_rc agent_mqtt_twin_get(struct agent_mqtt *m, unsigned *rid);
sh_rc agent_mqtt_twin_report(struct agent_mqtt *m, const char *json, unsigned *rid);

/*
 * Send telemetry (QoS 1) with property bag `bag` (already percent-encoded, e.g.
 * "%24.ifid=urn%3A...", NULL for none) and `len` bytes of `body` (borrowed, copied).
 * Returns SH_OK once queued; SH_E_STATE when not ready; SH_E_IO when libmosquitto refuses.
 * agent_mqtt_unacked tells how many QoS 1 sends still wait for their PUBACK.
 */
sh_rc agent_mqtt_send(struct agent_mqtt *m, const char *bag, const void *body, size_t len);
unsigned agent_mqtt_unacked(const struct agent_mqtt *m);
/* PUBACKs received since the client was made. */
uint64_t agent_mqtt_acked(const struct agent_mqtt *m);

/*
 * Clean shutdown: wait up to `drain_ms` for unacknowledged sends, send DISCONNECT, close.
 * Later service calls return SH_E_STATE. Returns SH_OK, or SH_E_STATE when not connected.
 */
sh_rc agent_mqtt_disconnect(struct agent_mqtt *m, int drain_ms);

/* Free the client (closing the socket without DISCONNECT if still open). NULL is fine. */
void agent_mqtt_free(struct agent_mqtt *m);

#endif
