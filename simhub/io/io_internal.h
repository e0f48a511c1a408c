/*
 * io_internal.h: what io/'s files share: the loop object and the per-connection state that
 * hangs off each lws connection (pss), with its queue of bytes to write.
 */
#ifndef SH_IO_INTERNAL_H
#define SH_IO_INTERNAL_H

#include <stdbool.h>

#include <libwebsockets.h>

#include "core/http_chunked.h"
#include "hub/hub.h"
#include "hub/session.h"
#include "io/loop.h"
#include "rest/rest.h"

/* Bucket bounds of simhub_store_commit_seconds, in microseconds (100 us to 1 s). */
#define IO_COMMIT_BUCKETS 13
/* IoT Hub error codes counted by simhub_errors_total (lws_rest.c lists them). */
#define IO_ERROR_CODES 24

/* The loop's own metrics (GET /metrics); the hub keeps the event counters. */
struct io_metrics {
	uint64_t commit_bucket[IO_COMMIT_BUCKETS];  /* commits at or under each bound (not cumulative) */
	uint64_t commit_over;                       /* commits over the last bound */
	uint64_t commit_count;
	double commit_sum_s;
	uint64_t errors[IO_ERROR_CODES];            /* REST answers per code (lws_rest.c's table) */
	uint64_t stream_overflows;                  /* live-stream watchers dropped for being slow */
};

struct sse_stream;

struct io_loop {
	struct lws_context *ctx;
	struct lws_vhost *vh[IO_LISTENERS];
	int port[IO_LISTENERS];
	struct sh_hub *hub;
	struct hub_sessions *reg;
	lws_sorted_usec_list_t commit_sul;   /* commits the held batch on the next loop turn */
	bool commit_scheduled;
	lws_sorted_usec_list_t sweep_sul;    /* session timers, once a second */
	struct rest_ctx *rest;
	volatile sig_atomic_t *stop;
	struct io_metrics metrics;
	struct sse_stream *watchers;         /* live-stream connections (lws_rest.c) */
	size_t n_watchers;
	lws_sorted_usec_list_t keepalive_sul;  /* ": keepalive" to every watcher every 15 s */
	lws_sorted_usec_list_t ticker_sul;   /* io_loop_set_ticker (the scenario runner) */
	void (*ticker_fn)(void *arg);
	void *ticker_arg;
	int64_t ticker_period_us;
};

/* One chunk of output, with LWS_PRE bytes of headroom before data. */
struct outq_chunk {
	struct outq_chunk *next;
	size_t len, off;
	unsigned char buf[];                 /* LWS_PRE + len */
};

/* Per-connection state: the lws per-session data of every MQTT protocol. */
struct io_conn {
	struct io_loop *loop;
	struct lws *wsi;
	struct hub_session *sess;
	struct outq_chunk *head, *tail;
	bool close_pending;                  /* close once the queue is empty */
	bool ws;                             /* WebSocket framing: binary messages */
	bool first_rx_seen;
};

/* Per-request state of an HTTPS connection (lws_rest.c). */
struct http_conn {
	struct io_loop *loop;
	char *body;                          /* request body, growing */
	size_t body_len, body_cap, body_expected;
	bool body_chunked;                   /* Transfer-Encoding: chunked, decoded by `chunked` */
	struct http_chunked chunked;
	bool close_after;                    /* answer with Connection: close, then close */
	int method;                          /* enum rest_method */
	char path[1024];
	char query[512];                     /* raw args; lws 4.1 may join them with "," */
	struct rest_response resp;           /* answer being written (owns its body and headers) */
	int phase;                           /* reading, waiting for the hub, for the commit,
					      * writing headers, writing the body, streaming
					      * events (lws_rest.c) */
	struct sse_stream *sse;              /* set while this connection is a live stream */
};

/* The loop of a connection's context. */
struct io_loop *io_loop_of(struct lws *wsi);
/* A round of network events has started: hold the batch and schedule its commit. */
void io_loop_touch(struct io_loop *l);

/* Send ": keepalive" to every live stream (lws_rest.c); the loop's timer calls it. */
void io_streams_keepalive(struct io_loop *l);
/* Upper bound of commit-latency bucket i in microseconds (loop.c); 0 past the last. */
int64_t io_commit_bound_us(size_t i);
/* Seconds between keepalive comments on a live stream. */
#define IO_STREAM_KEEPALIVE_S 15

/*
 * The TLS client certificate of a connection (peer_cert.c): SHA-1 and SHA-256 thumbprints
 * (selfSigned identities), the subject CN and whether the chain verifies against a CA
 * registered with hub (certificateAuthority identities), iothub-protocol.md §1.4. Call it after
 * the handshake. hub and wsi are borrowed; *out is the caller's. Returns true with *out filled
 * when the connection is TLS and the peer sent a certificate; false (and *out zeroed) otherwise.
 */
bool io_peer_cert(struct sh_hub *hub, struct lws *wsi, struct hub_client_cert *out);

/* lws protocol callbacks (lws_mqtt.c). */
int io_callback_mqtt_raw(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			 void *in, size_t len);
int io_callback_mqtt_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			void *in, size_t len);
int io_callback_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		     size_t len);

#endif
