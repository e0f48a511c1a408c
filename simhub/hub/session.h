/*
 * session.h: one MQTT 3.1.1 connection with IoT Hub semantics, independent of the transport.
 * io/ feeds it the bytes a device sends and gives it a small table to write bytes and to
 * close; the session does the rest (CONNECT and SAS, subscriptions, telemetry, twins, method
 * answers, keep-alive and token expiry). The session table (struct hub_sessions) knows every
 * live session by identity: it drops the older connection of an identity, routes desired
 * patches and method calls, and sweeps timers.
 *
 * Request path: io RX -> session_feed -> mqtt_framer_feed -> dispatch on packet type ->
 * session_on_<packet> -> hub_* operation (joins the loop's held batch) -> answer queued ->
 * released after the batch commits (hub_batch_release) -> io send.
 */
#ifndef SH_SESSION_H
#define SH_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/hub.h"

struct hub_session;
struct hub_sessions;
struct cJSON;

/*
 * What io/ provides to a session. send queues bytes for the peer in order (0 ok, -1 when the
 * connection is already going away). close asks for the connection to end once the queued
 * bytes are written; it must NOT call session_closed synchronously: io calls session_closed
 * later, from its close callback.
 */
struct session_io {
	int (*send)(void *ctx, const uint8_t *buf, size_t len);
	void (*close)(void *ctx);
	void *ctx;
};

/* Largest MQTT packet accepted: a 256 KB message plus room for its topic and property bag. */
#define SESSION_MAX_PACKET (256u * 1024u + 64u * 1024u)
/* IoT Hub's device-to-cloud message limit: body plus properties. */
#define SESSION_MAX_MESSAGE (256u * 1024u)
/* A connection must send CONNECT within this many seconds. */
#define SESSION_CONNECT_TIMEOUT_S 30

/* The table of live sessions. `hub` is borrowed. Registers itself for the hub's notifications. */
struct hub_sessions *hub_sessions_new(struct sh_hub *hub);
/* Frees the table. Sessions still open must have been closed (session_closed) first. */
void hub_sessions_free(struct hub_sessions *reg);
/* Keep-alive, CONNECT deadline, SAS expiry, method timeouts, at hub time. */
void hub_sessions_tick(struct hub_sessions *reg);
size_t hub_sessions_count(const struct hub_sessions *reg);
/* Connected device (not module) sessions, for GET /statistics/service. */
size_t hub_sessions_connected_devices(const struct hub_sessions *reg);
/* The session of a connected identity, or NULL. */
struct hub_session *hub_sessions_find(struct hub_sessions *reg, const char *device_id,
				      const char *module_id);

/* A new connection. `transport` ("mqtt", "mqtts", "wss") is for logs and events. NULL on no memory. */
struct hub_session *session_new(struct hub_sessions *reg, const struct session_io *io,
				const char *transport);
/* What the TLS edge learnt of the client certificate, once known, before CONNECT. */
void session_set_client_cert(struct hub_session *s, const struct hub_client_cert *cert);
/* Bytes from the peer, in order. Protocol faults close the connection (io->close). */
void session_feed(struct hub_session *s, const uint8_t *in, size_t len);
/* The connection is gone. Ingests the Will on an abnormal close, records the disconnect, frees s. */
void session_closed(struct hub_session *s);
bool session_is_connected(const struct hub_session *s);

/* --- direct methods --------------------------------------------------------------------------- */
/*
 * The answer to a method call: status is the device's status, payload its JSON body (borrowed,
 * may be NULL for an empty body); or err set (404103 not online, 504101 timeout) with status 0.
 */
typedef void (*hub_method_cb)(void *arg, int status, const struct cJSON *payload,
			      const struct iothub_err *err);
/*
 * Invoke `method` on an identity subscribed to $iothub/methods/POST/#. payload (borrowed, NULL
 * = JSON null) is sent as the body. When the identity is not online (or not subscribed yet) and
 * connect_timeout_s > 0, the call waits up to that long for it to connect and subscribe
 * (§5 connectTimeoutInSeconds); with 0 it fails at once. cb runs exactly once: with the
 * device's answer, with 504101 after response_timeout_s, or with 404103 when the device does not
 * come in time or disconnects first. Returns SH_OK when the call is under way (sent or waiting);
 * SH_E_NOTFOUND (err 404103) when the identity is not online and connect_timeout_s is 0 (cb not
 * called); SH_E_INVALID for a bad method name.
 */
sh_rc hub_method_invoke(struct hub_sessions *reg, const char *device_id, const char *module_id,
			const char *method, const struct cJSON *payload, int response_timeout_s,
			int connect_timeout_s, hub_method_cb cb, void *arg, struct iothub_err *err);


/* --- faults (scenario runner and fault-injection messages; session_faults.c) ------------------ */
/*
 * Faults are kept per identity in the session table and consulted by the session's hooks; with
 * none set every hook returns at its first test. Times are hub time (the virtual clock of
 * `simhub test` moves them).
 */
enum hub_fault_kind {
	HUB_FAULT_REFUSE_CONNECT,    /* refuse the next `count` CONNECTs with CONNACK `code` */
	HUB_FAULT_TWIN_ERROR,        /* answer the next `count` twin requests in `twin_ops` with
				      * status `code` (400-599) */
	HUB_FAULT_DELAY_PUBACK,      /* hold telemetry PUBACKs for `delay_us` (`count` 0 = every) */
	HUB_FAULT_WITHHOLD_PUBACK,   /* never acknowledge telemetry (`count` 0 = every) */
	HUB_FAULT_THROTTLE,          /* more than `rate` messages in a second: close (429) */
	HUB_FAULT_CLOSE_AT_SAS_EXPIRY, /* explicit form of the default: close when `se` passes */
};

#define HUB_FAULT_TWIN_GET 1u
#define HUB_FAULT_TWIN_PATCH_REPORTED 2u

struct hub_fault {
	enum hub_fault_kind kind;
	int count;                   /* see the kind; 0 means "every" where a count applies */
	int code;                    /* CONNACK code (1-5) or HTTP status */
	unsigned twin_ops;           /* HUB_FAULT_TWIN_* bits; 0 = both */
	int64_t delay_us;
	int rate;
	int64_t until_us;            /* hub time the fault ends; 0 = until hub_fault_clear */
};

/*
 * Add a fault for device_id (module_id NULL or "" for the device itself). The fault is copied.
 * Returns SH_OK; SH_E_INVALID for a NULL fault or id; SH_E_NOMEM.
 */
sh_rc hub_fault_add(struct hub_sessions *reg, const char *device_id, const char *module_id,
		    const struct hub_fault *f);
/* Remove every fault of an identity (nothing happens when it has none). */
void hub_fault_clear(struct hub_sessions *reg, const char *device_id, const char *module_id);
/*
 * The hub clock jumped forward by delta_us (the scenario runner's virtual clock): move every
 * session's transport timers (CONNECT deadline, keep-alive) along, so a jump expires tokens,
 * TTLs and method timeouts but not connections that keep talking on the real clock.
 */
void hub_sessions_clock_jumped(struct hub_sessions *reg, int64_t delta_us);
/* Number of faults currently set over every identity (expired ones are dropped by the sweep). */
size_t hub_fault_count(const struct hub_sessions *reg);
/*
 * Close the live connection of an identity now, as a lost connection (no DISCONNECT; the Will
 * applies). `reason` (static text) goes to the disconnect record. Returns true when there was
 * a connection to close.
 */
bool hub_sessions_drop(struct hub_sessions *reg, const char *device_id, const char *module_id,
		       const char *reason);

#endif
