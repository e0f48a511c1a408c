/*
 * loop.c: the libwebsockets context and its listeners, the group-commit timer and the session
 * sweep timer. lws 4.1 pitfalls (lws-4.1-notes.md): every TLS vhost needs DO_SSL_GLOBAL_INIT
 * itself; the raw TLS vhost needs alpn "mqtt" or h2 clients hijack it; binding 127.0.0.1 binds
 * [::] unless IPv6 is disabled; HTTPS is HTTP/1.1 only so slow replies are not killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>

#include "hub/hub.h"
#include "io/io_internal.h"
#include "rest/rest.h"

#define MQTT_RX_BUFFER 4096

static const struct lws_protocols raw_protocols[] = {
	{"simhub-mqtt", io_callback_mqtt_raw, sizeof(struct io_conn), MQTT_RX_BUFFER, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* protocols[0] takes all HTTP; WebSocket upgrades pick "mqtt" or "MQTT" by name (notes). */
static const struct lws_protocols https_protocols[] = {
	{"http", io_callback_http, sizeof(struct http_conn), 0, 0, NULL, 0},
	{"mqtt", io_callback_mqtt_ws, sizeof(struct io_conn), MQTT_RX_BUFFER, 0, NULL, 0},
	{"MQTT", io_callback_mqtt_ws, sizeof(struct io_conn), MQTT_RX_BUFFER, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

struct io_loop *io_loop_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* Upper bounds of the commit-latency histogram buckets, microseconds (io_internal.h). */
static const int64_t commit_bounds_us[IO_COMMIT_BUCKETS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
};

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One group commit's latency into the histogram. */
static void commit_observe(struct io_metrics *m, int64_t us)
{
	size_t i = 0;
	while (i < IO_COMMIT_BUCKETS && us > commit_bounds_us[i])
		i++;
	if (i < IO_COMMIT_BUCKETS)
		m->commit_bucket[i]++;
	else
		m->commit_over++;
	m->commit_count++;
	m->commit_sum_s += (double)us / 1e6;
}

int64_t io_commit_bound_us(size_t i)
{
	return i < IO_COMMIT_BUCKETS ? commit_bounds_us[i] : 0;
}

/* Commit the held batch now (its answers and events go out), timing it for /metrics. */
static void commit_held(struct io_loop *l)
{
	if (!hub_batch_held(l->hub))
		return;
	int64_t t0 = mono_us();
	if (hub_batch_release(l->hub) != SH_OK)
		lwsl_err("simhub: commit failed: the last batch of writes is lost\n");
	commit_observe(&l->metrics, mono_us() - t0);
}

static void commit_cb(lws_sorted_usec_list_t *sul)
{
	struct io_loop *l = lws_container_of(sul, struct io_loop, commit_sul);
	l->commit_scheduled = false;
	commit_held(l);
}

static void keepalive_cb(lws_sorted_usec_list_t *sul)
{
	struct io_loop *l = lws_container_of(sul, struct io_loop, keepalive_sul);
	io_streams_keepalive(l);
	lws_sul_schedule(l->ctx, 0, &l->keepalive_sul, keepalive_cb,
			 (lws_usec_t)IO_STREAM_KEEPALIVE_S * LWS_US_PER_SEC);
}

void io_loop_touch(struct io_loop *l)
{
	if (hub_batch_hold(l->hub) != SH_OK) {
		lwsl_err("simhub: cannot open a write batch\n");
		return;
	}
	if (!l->commit_scheduled) {
		l->commit_scheduled = true;
		/* 1 us: due on the next turn of the loop, after this round of events. */
		lws_sul_schedule(l->ctx, 0, &l->commit_sul, commit_cb, 1);
	}
}

static void sweep_cb(lws_sorted_usec_list_t *sul)
{
	struct io_loop *l = lws_container_of(sul, struct io_loop, sweep_sul);
	hub_sessions_tick(l->reg);
	lws_sul_schedule(l->ctx, 0, &l->sweep_sul, sweep_cb, LWS_US_PER_SEC);
}

static void ticker_cb(lws_sorted_usec_list_t *sul)
{
	struct io_loop *l = lws_container_of(sul, struct io_loop, ticker_sul);
	if (!l->ticker_fn)
		return;
	lws_sul_schedule(l->ctx, 0, &l->ticker_sul, ticker_cb, (lws_usec_t)l->ticker_period_us);
	commit_held(l);   /* the ticker may be due before the commit timer of the same turn */
	l->ticker_fn(l->ticker_arg);
}

void io_loop_set_ticker(struct io_loop *l, void (*fn)(void *arg), void *arg, int64_t period_us)
{
	lws_sul_cancel(&l->ticker_sul);
	l->ticker_fn = fn;
	l->ticker_arg = arg;
	l->ticker_period_us = period_us < 1000 ? 1000 : period_us;
	if (fn)
		lws_sul_schedule(l->ctx, 0, &l->ticker_sul, ticker_cb, (lws_usec_t)l->ticker_period_us);
}

static const char *listener_name(enum io_listener w)
{
	static const char *const names[] = {"mqtt", "mqtts", "https"};
	return names[w];
}

static struct lws_vhost *make_vhost(struct io_loop *l, const struct io_config *cfg,
				    enum io_listener w)
{
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.vhost_name = listener_name(w);
	info.port = cfg->port[w];
	info.iface = cfg->bind;
	info.user = l;
	info.options = 0;
	if (cfg->bind && strchr(cfg->bind, ':') == NULL)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	if (w == IO_MQTT || w == IO_MQTTS) {
		info.protocols = raw_protocols;
		info.options |= LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG;
		info.listen_accept_role = "raw-skt";
		info.listen_accept_protocol = "simhub-mqtt";
	} else {
		info.protocols = https_protocols;
		info.alpn = "http/1.1";
	}
	if (w == IO_MQTTS || w == IO_HTTPS) {
		/* Ask for a client certificate without requiring one: X.509 devices send theirs,
		 * SAS devices send none. Any certificate passes the handshake (the protocol[0]
		 * callbacks accept it); the hub matches its thumbprint at CONNECT. */
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
				LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT |
				LWS_SERVER_OPTION_PEER_CERT_NOT_REQUIRED;
		info.ssl_cert_filepath = cfg->cert;
		info.ssl_private_key_filepath = cfg->key;
		info.ssl_options_set = SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
		if (w == IO_MQTTS)
			info.alpn = "mqtt";
	}
	return lws_create_vhost(l->ctx, &info);
}

sh_rc io_loop_start(struct sh_hub *hub, struct hub_sessions *reg, const struct io_config *cfg,
		    struct io_loop **out, char *err, size_t errlen)
{
	*out = NULL;
	struct io_loop *l = calloc(1, sizeof *l);
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return SH_E_NOMEM;
	}
	l->hub = hub;
	l->reg = reg;
	l->rest = rest_new(hub, reg);
	if (!l->rest) {
		snprintf(err, errlen, "out of memory");
		free(l);
		return SH_E_NOMEM;
	}
	lws_set_log_level(LLL_ERR, NULL);

	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.user = l;
	/* The establish timeout doubles as the TLS handshake limit; CONNECT has its own deadline. */
	info.timeout_secs = 10;
	l->ctx = lws_create_context(&info);
	if (!l->ctx) {
		snprintf(err, errlen, "cannot create the libwebsockets context");
		rest_free(l->rest);
		free(l);
		return SH_E_IO;
	}
	for (int w = 0; w < IO_LISTENERS; w++) {
		l->port[w] = -1;
		if (cfg->port[w] < 0)
			continue;
		if ((w == IO_MQTTS || w == IO_HTTPS) && (!cfg->cert || !cfg->key)) {
			snprintf(err, errlen, "%s listener: no TLS certificate", listener_name((enum io_listener)w));
			io_loop_free(l);
			return SH_E_IO;
		}
		l->vh[w] = make_vhost(l, cfg, (enum io_listener)w);
		if (!l->vh[w]) {
			snprintf(err, errlen, "%s listener: cannot listen on %s port %d (in use, or not allowed)",
				 listener_name((enum io_listener)w), cfg->bind ? cfg->bind : "*", cfg->port[w]);
			io_loop_free(l);
			return SH_E_IO;
		}
		l->port[w] = lws_get_vhost_listen_port(l->vh[w]);
	}
	lws_sul_schedule(l->ctx, 0, &l->sweep_sul, sweep_cb, LWS_US_PER_SEC);
	lws_sul_schedule(l->ctx, 0, &l->keepalive_sul, keepalive_cb,
			 (lws_usec_t)IO_STREAM_KEEPALIVE_S * LWS_US_PER_SEC);
	*out = l;
	return SH_OK;
}

int io_loop_port(const struct io_loop *l, enum io_listener which)
{
	return l->port[which];
}

void io_loop_run(struct io_loop *l, volatile sig_atomic_t *stop)
{
	l->stop = stop;
	while (!*stop) {
		if (lws_service(l->ctx, 0) < 0)
			break;
	}
}

void io_loop_wake(struct io_loop *l)
{
	if (l && l->ctx)
		lws_cancel_service(l->ctx);
}

void io_loop_free(struct io_loop *l)
{
	if (!l)
		return;
	if (l->ctx) {
		lws_sul_cancel(&l->commit_sul);
		lws_sul_cancel(&l->sweep_sul);
		lws_sul_cancel(&l->keepalive_sul);
		lws_sul_cancel(&l->ticker_sul);
		lws_context_destroy(l->ctx);   /* closes every connection: sessions end there */
	}
	hub_batch_release(l->hub);
	rest_free(l->rest);
	free(l);
}
