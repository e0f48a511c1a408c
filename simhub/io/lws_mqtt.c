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
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

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

/* Hex of an X509 digest into out (2 * size + 1 bytes). */
static bool digest_hex(X509 *cert, const EVP_MD *md, char *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!X509_digest(cert, md, d, &n))
		return false;
	for (unsigned int i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02X", d[i]);
	return true;
}

/* Add one registered CA (PEM text) to the store being built (hub_x509_ca_each callback). */
static sh_rc add_ca(void *arg, const char *name, const char *pem, int64_t added_us)
{
	(void)name;
	(void)added_us;
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *ca = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	if (ca)
		X509_STORE_add_cert(arg, ca);   /* a CA that does not parse is skipped */
	X509_free(ca);
	BIO_free(bio);
	return SH_OK;
}

/* Does the client's chain verify against a CA registered with the hub? */
static bool chain_verifies(struct io_conn *c, SSL *ssl, X509 *leaf)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = false;
	if (store && ctx && hub_x509_ca_each(c->loop->hub, add_ca, store) == SH_OK &&
	    X509_STORE_CTX_init(ctx, store, leaf, SSL_get_peer_cert_chain(ssl)) == 1) {
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
		ok = X509_verify_cert(ctx) == 1;
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

/*
 * The TLS client certificate of a connection, if any, for the session: SHA-1 and SHA-256
 * thumbprints (selfSigned identities), whether the chain verifies against a registered CA and
 * the subject CN (certificateAuthority identities), iothub-protocol.md §1.4. Read after the
 * handshake (first RX, or ESTABLISHED for WebSocket), never at adopt time (notes).
 */
static void take_client_cert(struct io_conn *c, struct lws *wsi)
{
	if (!c->sess || !lws_is_ssl(wsi))
		return;
	SSL *ssl = lws_get_ssl(lws_get_network_wsi(wsi));
	X509 *cert = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
	if (!cert)
		return;
	struct hub_client_cert hc;
	memset(&hc, 0, sizeof hc);
	if (digest_hex(cert, EVP_sha1(), hc.sha1) && digest_hex(cert, EVP_sha256(), hc.sha256)) {
		X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, hc.common_name,
					  sizeof hc.common_name);
		hc.ca_verified = chain_verifies(c, ssl, cert);
		session_set_client_cert(c->sess, &hc);
	}
	X509_free(cert);
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
