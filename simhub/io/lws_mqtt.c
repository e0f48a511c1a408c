/*
 * lws_mqtt.c: libwebsockets callbacks that carry MQTT: raw TCP and raw TLS connections, and
 * WebSocket connections at /$iothub/websocket (subprotocol mqtt, any case). Each callback only
 * moves bytes between lws and the connection's hub session: RX -> session_feed; the session's
 * output -> a queue drained one lws_write per WRITEABLE; close -> session_closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "io/io_internal.h"

/* Largest slice written per WRITEABLE; lws buffers what the socket does not take. */
#define WRITE_SLICE 16384

/* session_io.send: append to the connection's queue and ask for WRITEABLE. */
static int conn_send(void *ctx, const uint8_t *buf, size_t len)
{
	struct io_conn *c = ctx;
	if (!c->wsi || c->close_pending)
		return -1;
	struct outq_chunk *ch = malloc(sizeof *ch + LWS_PRE + len);
	if (!ch)
		return -1;
	ch->next = NULL;
	ch->len = len;
	ch->off = 0;
	memcpy(ch->buf + LWS_PRE, buf, len);
	if (c->tail)
		c->tail->next = ch;
	else
		c->head = ch;
	c->tail = ch;
	lws_callback_on_writable(c->wsi);
	return 0;
}

/* session_io.close: close after the queue drains (from the WRITEABLE callback). */
static void conn_close(void *ctx)
{
	struct io_conn *c = ctx;
	c->close_pending = true;
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
}

static void conn_open(struct io_conn *c, struct lws *wsi, const char *transport, bool ws)
{
	memset(c, 0, sizeof *c);
	c->loop = io_loop_of(wsi);
	c->wsi = wsi;
	c->ws = ws;
	struct session_io io = {conn_send, conn_close, c};
	c->sess = session_new(c->loop->reg, &io, transport);
}

/*
 * The TLS client certificate of a connection, if any, for the session (io_peer_cert). Read
 * after the handshake (first RX, or ESTABLISHED for WebSocket), never at adopt time (notes).
 */
static void take_client_cert(struct io_conn *c, struct lws *wsi)
{
	struct hub_client_cert hc;
	if (c->sess && io_peer_cert(c->loop->hub, wsi, &hc))
		session_set_client_cert(c->sess, &hc);
}

static void conn_gone(struct io_conn *c)
{
	if (c->sess) {
		session_closed(c->sess);
		c->sess = NULL;
	}
	while (c->head) {
		struct outq_chunk *ch = c->head;
		c->head = ch->next;
		free(ch);
	}
	c->tail = NULL;
	c->wsi = NULL;
}

static void conn_rx(struct io_conn *c, const void *in, size_t len)
{
	if (!c->sess || c->close_pending)
		return;
	io_loop_touch(c->loop);
	session_feed(c->sess, in, len);
}

/*
 * lws 4.1 hands a raw TLS connection one TLS record per loop turn, and MQTT clients send one
 * record per packet, so a busy TLS connection would get one message per turn and one PUBACK
 * write per message. After lws's RX, read on from the same SSL object until it has nothing
 * (bounded, for fairness between connections), so a round of events takes what each client
 * sent and the group commit answers it in one write. OpenSSL errors of the last, empty read are
 * cleared so lws's own next read starts clean; a real error or close shows up to lws there.
 */
static void drain_tls(struct io_conn *c, struct lws *wsi)
{
	SSL *ssl = lws_get_ssl(wsi);
	if (!ssl)
		return;
	unsigned char buf[16384];
	for (int i = 0; i < 64 && c->sess && !c->close_pending; i++) {
		int n = SSL_read(ssl, buf, (int)sizeof buf);
		if (n <= 0) {
			ERR_clear_error();
			break;
		}
		conn_rx(c, buf, (size_t)n);
	}
}

/*
 * WRITEABLE: write one slice of the head chunk; ask again while anything is left. Returns -1
 * to close once the queue is empty and a close was asked.
 */
static int conn_writeable(struct io_conn *c)
{
	struct outq_chunk *ch = c->head;
	if (!ch)
		return c->close_pending ? -1 : 0;
	size_t n = ch->len - ch->off;
	if (n > WRITE_SLICE && !c->ws)
		n = WRITE_SLICE;
	unsigned char *p = ch->buf + LWS_PRE + ch->off;
	int w;
	if (c->ws) {
		/* One MQTT chunk, one binary WebSocket message (MQTT framing is our own). */
		w = lws_write(c->wsi, p, n, LWS_WRITE_BINARY);
	} else {
		w = lws_write(c->wsi, p, n, LWS_WRITE_RAW);
	}
	if (w < 0)
		return -1;
	ch->off += n;
	if (ch->off >= ch->len) {
		c->head = ch->next;
		if (!c->head)
			c->tail = NULL;
		free(ch);
	}
	if (c->head || c->close_pending)
		lws_callback_on_writable(c->wsi);
	return 0;
}

int io_callback_mqtt_raw(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			 void *in, size_t len)
{
	struct io_conn *c = user;
	switch (reason) {
	case LWS_CALLBACK_RAW_ADOPT:
		conn_open(c, wsi, lws_is_ssl(wsi) ? "mqtts" : "mqtt", false);
		return c->sess ? 0 : -1;
	case LWS_CALLBACK_RAW_RX:
		if (!c->first_rx_seen) {
			/* lws 4.1 never clears the establish timeout on raw TLS (notes): do it here;
			 * the session's own CONNECT deadline takes over. */
			c->first_rx_seen = true;
			lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
			take_client_cert(c, wsi);
		}
		conn_rx(c, in, len);
		if (lws_is_ssl(wsi))
			drain_tls(c, wsi);
		return 0;
	case LWS_CALLBACK_RAW_WRITEABLE:
		return conn_writeable(c);
	case LWS_CALLBACK_RAW_CLOSE:
		conn_gone(c);
		return 0;
	default:
		return 0;
	}
}

int io_callback_mqtt_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			void *in, size_t len)
{
	struct io_conn *c = user;
	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		conn_open(c, wsi, "wss", true);
		take_client_cert(c, wsi);
		return c->sess ? 0 : -1;
	case LWS_CALLBACK_RECEIVE:
		/* Pieces of a large WebSocket message arrive in turn; the MQTT framer joins them. */
		conn_rx(c, in, len);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return conn_writeable(c);
	case LWS_CALLBACK_CLOSED:
		conn_gone(c);
		return 0;
	default:
		return 0;
	}
}
