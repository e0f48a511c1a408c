/*
 * fleet_load.c (agents/fleet): `fleet load`, the synthetic fleet (it replaced bench/mqtt_load).
 * It connects N devices (SAS like an IoT Hub SDK, or anonymous for a plain broker), has each
 * publish QoS 1 telemetry, closed-loop with a window of messages in flight or open-loop at a
 * fixed total rate, and prints throughput and PUBACK latency; or it holds N idle connections
 * open (connection memory); or it times a server's start-up to its ready file. It prints
 * figures and never asserts one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <mosquitto.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "agent_ident.h"
#include "fleet_load.h"
#include "fleet_util.h"

#define MAX_REFUSAL_LINES 10     /* refusals printed one by one; the rest are counted */
#define DRAIN_SECONDS 10         /* how long to wait for the last PUBACKs after the run */
#define CONNECT_SECONDS 120      /* how long every connection may take to be accepted */

struct options {
	const char *host;
	int port;
	bool tls;
	const char *cafile;
	bool insecure;             /* skip the server name / address check (never the chain) */
	int devices;
	int first;                 /* index of the first device (several processes, one range) */
	const char *prefix;
	const char *keys_file;
	const char *key;
	const char *hub_host;      /* host part of the username and SAS scope */
	bool no_auth;
	int window;
	double rate;               /* > 0: open loop, this many messages per second in all */
	double seconds;
	double warmup;
	int size;
	const char *topic_style;   /* "iothub" or "plain" */
	int idle;                  /* > 0: idle mode with this many connections */
	int burst;                 /* connections being set up at once */
	int keepalive;
	int startup;               /* > 0: start-up timing mode, this many runs */
	const char *ready_file;
	char **command;            /* start-up mode: the server command line (after "--") */
};

/* One device connection and its window of messages in flight. */
struct client {
	struct mosquitto *m;
	int idx;
	int fd;                    /* the socket registered with epoll, -1 when none */
	uint32_t ev;               /* the epoll events currently asked for */
	enum { C_IDLE, C_CONNECTING, C_UP, C_REFUSED, C_FAILED, C_LOST } state;
	int inflight;
	int *mids;                 /* [window]: message ids in flight, 0 for a free slot */
	uint64_t *sent_ns;         /* [window]: when each was handed to the socket */
	char topic[256];
};

struct stats {
	uint64_t published, acked_total, acked_window, pub_errors;
	struct fleet_lat lat;      /* PUBACK latencies of messages acknowledged in the window */
	int refused, failed, lost;
	int refusal_lines;
};

static struct options opt;
static struct stats st;
static struct client *clients;
static int nclients;
static int epfd = -1;
static bool phase_measure;      /* acknowledgements count toward the figures */
static uint64_t window_end_ns;
static volatile sig_atomic_t stop_flag;

#define now_ns fleet_now_ns

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fleet load [options]                     N devices publish QoS 1 telemetry\n"
		"       fleet load --idle N [options]            hold N connections until SIGTERM\n"
		"       fleet load --startup RUNS --ready-file PATH -- COMMAND [ARGS...]\n"
		"                                                time COMMAND from exec to PATH\n"
		"\n"
		"  --host H            server address (default 127.0.0.1)\n"
		"  --port P            server port (default 1883)\n"
		"  --tls --ca PEM      TLS, trusting this CA; the server name must match --host\n"
		"                      (--cafile is the same option)\n"
		"  --insecure          with --tls: check the chain but not the name\n"
		"  --devices N         devices (default 100)\n"
		"  --first K           index of the first device (default 0)\n"
		"  --prefix P          device ids P0000, P0001, ... (default bench-)\n"
		"  --key BASE64        one device key for every device\n"
		"  --keys FILE         key map, JSON {\"bench-0000\":\"KEY\", \"*\":\"KEY\"}\n"
		"  --hub-host NAME     hub host name in username and SAS (default simhub.azure-devices.net)\n"
		"  --no-auth           no username or password (a plain broker)\n"
		"  --window W          QoS 1 messages in flight per device (default 16)\n"
		"  --rate R            open loop: R messages/s over all devices (default: closed loop,\n"
		"                      a new message as soon as a PUBACK frees a window slot)\n"
		"  --duration S        measured time in seconds (default 10; --seconds is the same)\n"
		"  --warmup S          publishing before the measurement starts (default 1)\n"
		"  --size BYTES        payload size (default 200)\n"
		"  --topic-style iothub|plain   devices/{id}/messages/events/ (default) or bench/{id}\n"
		"  --burst N           connections set up at once (default 64)\n"
		"  --keepalive S       MQTT keepalive (default 60)\n"
		"Output ends with one line 'RESULT key=value ...' (load) or 'IDLE key=value ...' or\n"
		"'STARTUP key=value ...'. Exit status 0; 1 when a connection was refused or lost or a\n"
		"message went without PUBACK; 2 for a usage error.\n");
}

static int parse_int(const char *name, const char *v, int lo, int hi)
{
	return fleet_opt_int(name, v, lo, hi);
}

static double parse_double(const char *name, const char *v)
{
	return fleet_opt_double(name, v, 0, 86400);
}

static void parse_args(int argc, char **argv)
{
	opt = (struct options){.host = "127.0.0.1", .port = 1883, .devices = 100, .prefix = "bench-",
			       .hub_host = "simhub.azure-devices.net", .window = 16, .seconds = 10,
			       .warmup = 1, .size = 200, .topic_style = "iothub", .burst = 64,
			       .keepalive = 60};
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool used = true;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--tls")) {
			opt.tls = true;
			used = false;
		} else if (!strcmp(a, "--insecure")) {
			opt.insecure = true;
			used = false;
		} else if (!strcmp(a, "--no-auth")) {
			opt.no_auth = true;
			used = false;
		} else if (!strcmp(a, "--")) {
			opt.command = argv + i + 1;
			break;
		} else if (!v) {
			fprintf(stderr, "fleet: %s needs a value (or is unknown; see --help)\n", a);
			exit(FLEET_EXIT_USAGE);
		} else if (!strcmp(a, "--host")) {
			opt.host = v;
		} else if (!strcmp(a, "--port")) {
			opt.port = parse_int(a, v, 1, 65535);
		} else if (!strcmp(a, "--cafile") || !strcmp(a, "--ca")) {
			opt.cafile = v;
		} else if (!strcmp(a, "--devices")) {
			opt.devices = parse_int(a, v, 1, 1000000);
		} else if (!strcmp(a, "--first")) {
			opt.first = parse_int(a, v, 0, 10000000);
		} else if (!strcmp(a, "--prefix")) {
			opt.prefix = v;
		} else if (!strcmp(a, "--keys")) {
			opt.keys_file = v;
		} else if (!strcmp(a, "--key")) {
			opt.key = v;
		} else if (!strcmp(a, "--hub-host")) {
			opt.hub_host = v;
		} else if (!strcmp(a, "--window")) {
			opt.window = parse_int(a, v, 1, 65535);
		} else if (!strcmp(a, "--rate")) {
			opt.rate = fleet_opt_double(a, v, 0.001, 1e8);
		} else if (!strcmp(a, "--seconds") || !strcmp(a, "--duration")) {
			opt.seconds = parse_double(a, v);
		} else if (!strcmp(a, "--warmup")) {
			opt.warmup = parse_double(a, v);
		} else if (!strcmp(a, "--size")) {
			opt.size = parse_int(a, v, 1, 256 * 1024);
		} else if (!strcmp(a, "--topic-style")) {
			opt.topic_style = v;
		} else if (!strcmp(a, "--idle")) {
			opt.idle = parse_int(a, v, 1, 1000000);
		} else if (!strcmp(a, "--burst")) {
			opt.burst = parse_int(a, v, 1, 100000);
		} else if (!strcmp(a, "--keepalive")) {
			opt.keepalive = parse_int(a, v, 5, 65535);
		} else if (!strcmp(a, "--startup")) {
			opt.startup = parse_int(a, v, 1, 10000);
		} else if (!strcmp(a, "--ready-file")) {
			opt.ready_file = v;
		} else {
			fprintf(stderr, "fleet: unknown option %s (see --help)\n", a);
			exit(FLEET_EXIT_USAGE);
		}
		if (used)
			i++;
	}
	if (strcmp(opt.topic_style, "iothub") && strcmp(opt.topic_style, "plain")) {
		fprintf(stderr, "fleet: --topic-style is iothub or plain\n");
		exit(FLEET_EXIT_USAGE);
	}
	if (opt.startup && (!opt.ready_file || !opt.command || !opt.command[0])) {
		fprintf(stderr, "fleet: --startup needs --ready-file PATH -- COMMAND ...\n");
		exit(FLEET_EXIT_USAGE);
	}
	if (!opt.startup && !opt.no_auth && !opt.key && !opt.keys_file) {
		fprintf(stderr, "fleet: give --key, --keys or --no-auth\n");
		exit(FLEET_EXIT_USAGE);
	}
	if (opt.idle)
		opt.devices = opt.idle;
}

/* ---- keys ---- */

static struct fleet_keys *keys;

static const char *key_for(const char *id)
{
	return opt.key ? opt.key : fleet_keys_get(keys, id, NULL);
}

/* ---- callbacks ---- */

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	(void)m;
	struct client *c = obj;
	if (rc == 0) {
		c->state = C_UP;
		return;
	}
	c->state = C_REFUSED;
	st.refused++;
	if (st.refusal_lines++ < MAX_REFUSAL_LINES)
		fprintf(stderr, "fleet: REFUSED %s%04d: CONNACK %d (%s)\n", opt.prefix,
			c->idx, rc, mosquitto_connack_string(rc));
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
	(void)m;
	struct client *c = obj;
	if (c->state == C_UP) {
		c->state = C_LOST;
		st.lost++;
		if (st.refusal_lines++ < MAX_REFUSAL_LINES)
			fprintf(stderr, "fleet: LOST %s%04d: %s (%d messages in flight)\n",
				opt.prefix, c->idx, rc ? mosquitto_strerror(rc) : "server closed",
				c->inflight);
	} else if (c->state == C_CONNECTING) {
		c->state = C_FAILED;
		st.failed++;
		if (st.refusal_lines++ < MAX_REFUSAL_LINES)
			fprintf(stderr, "fleet: FAILED %s%04d before CONNACK: %s\n", opt.prefix,
				c->idx, mosquitto_strerror(rc));
	}
}

/* A PUBACK: free the slot, count it, and keep its latency when it falls in the window. */
static void on_publish(struct mosquitto *m, void *obj, int mid)
{
	(void)m;
	struct client *c = obj;
	uint64_t t = now_ns();
	for (int i = 0; i < opt.window; i++) {
		if (c->mids[i] != mid)
			continue;
		c->mids[i] = 0;
		c->inflight--;
		st.acked_total++;
		if (phase_measure && t <= window_end_ns) {
			st.acked_window++;
			fleet_lat_add(&st.lat, t - c->sent_ns[i]);
		}
		return;
	}
}

/* ---- the poll loop ---- */

/* Ask epoll for what libmosquitto wants now: always input, output while it has bytes queued. */
static void sync_interest(struct client *c)
{
	if (c->state == C_FAILED || c->state == C_LOST || c->state == C_REFUSED)
		return;
	int fd = mosquitto_socket(c->m);
	if (fd != c->fd) {
		/* closed (epoll dropped it with the close) or replaced */
		c->fd = -1;
		c->ev = 0;
		if (fd < 0)
			return;
		struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
			fprintf(stderr, "fleet: epoll_ctl: %s\n", strerror(errno));
			exit(FLEET_EXIT_FAIL);
		}
		c->fd = fd;
		c->ev = EPOLLIN;
	}
	uint32_t want = EPOLLIN | (mosquitto_want_write(c->m) ? (uint32_t)EPOLLOUT : 0u);
	if (want != c->ev) {
		struct epoll_event e = {.events = want, .data.ptr = c};
		if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
			c->ev = want;
	}
}

static char *payload;
static uint64_t rate_t0;         /* open loop: when pacing started, and messages sent since */
static uint64_t rate_sent;
static int rate_cursor;          /* the next client pace_all offers a message to */

/* Open loop: may one more message leave now? Always true in closed loop. */
static bool rate_allows(void)
{
	if (opt.rate <= 0)
		return true;
	double due = opt.rate * (double)(now_ns() - rate_t0) / 1e9 + 1;
	return (double)rate_sent < due;
}

/* Fill the client's window with new messages; each is written to the socket at once. */
static void refill(struct client *c)
{
	for (int i = 0; i < opt.window && c->state == C_UP && c->inflight < opt.window; i++) {
		if (c->mids[i])
			continue;
		if (!rate_allows())
			return;
		int mid = 0;
		uint64_t t = now_ns();
		int rc = mosquitto_publish(c->m, &mid, c->topic, opt.size, payload, 1, false);
		if (rc != MOSQ_ERR_SUCCESS) {
			st.pub_errors++;
			if (st.pub_errors <= MAX_REFUSAL_LINES)
				fprintf(stderr, "fleet: publish on %s%04d: %s\n", opt.prefix, c->idx,
					mosquitto_strerror(rc));
			return;
		}
		c->mids[i] = mid;
		c->sent_ns[i] = t;
		c->inflight++;
		st.published++;
		rate_sent++;
		if (opt.rate > 0)
			return;   /* open loop: one message per turn, so devices take turns */
	}
}

/*
 * Open loop: hand out the messages that are due, one per device in turn, starting where the
 * last turn stopped, so the rate is spread over the fleet. A device whose window is full is
 * skipped (its messages wait: the offered rate then exceeds what the server acknowledges).
 */
static void pace_all(void)
{
	int tried = 0;
	while (rate_allows() && tried < nclients) {
		struct client *c = &clients[rate_cursor];
		rate_cursor = (rate_cursor + 1) % nclients;
		uint64_t before = st.published;
		refill(c);
		sync_interest(c);
		tried = st.published == before ? tried + 1 : 0;
	}
}

/*
 * libmosquitto returned an error from a read or write. A failed TLS handshake returns one
 * without calling on_disconnect, so the client would wait for its CONNACK forever: count it
 * here, and stop watching its socket.
 */
static void client_broken(struct client *c, int rc)
{
	if (c->state == C_CONNECTING) {
		c->state = C_FAILED;
		st.failed++;
		if (st.refusal_lines++ < MAX_REFUSAL_LINES)
			fprintf(stderr, "fleet: FAILED %s%04d before CONNACK: %s\n", opt.prefix,
				c->idx, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
	} else if (c->state == C_UP) {
		c->state = C_LOST;
		st.lost++;
		if (st.refusal_lines++ < MAX_REFUSAL_LINES)
			fprintf(stderr, "fleet: LOST %s%04d: %s\n", opt.prefix, c->idx,
				mosquitto_strerror(rc));
	}
	if (c->fd >= 0)
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	c->fd = -1;
	c->ev = 0;
}

/* libmosquitto's own error messages (TLS verification failures name their reason here). */
static void on_log(struct mosquitto *m, void *obj, int level, const char *text)
{
	(void)m;
	struct client *c = obj;
	if (level == MOSQ_LOG_ERR && st.refusal_lines < MAX_REFUSAL_LINES)
		fprintf(stderr, "fleet: %s%04d: %s\n", opt.prefix, c->idx, text);
}

/* Service sockets for up to `ms` milliseconds; `publishing` refills windows as acks arrive. */
static void poll_once(int ms, bool publishing)
{
	struct epoll_event evs[512];
	int n = epoll_wait(epfd, evs, 512, ms);
	for (int i = 0; i < n; i++) {
		struct client *c = evs[i].data.ptr;
		int rc = MOSQ_ERR_SUCCESS;
		if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			rc = mosquitto_loop_read(c->m, 1);
		if (rc == MOSQ_ERR_SUCCESS && (evs[i].events & EPOLLOUT) && mosquitto_socket(c->m) >= 0)
			rc = mosquitto_loop_write(c->m, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			client_broken(c, rc);
			continue;
		}
		if (publishing && c->state == C_UP && opt.rate <= 0)
			refill(c);
		sync_interest(c);
	}
}

static void keepalive_all(void)
{
	for (int i = 0; i < nclients; i++) {
		struct client *c = &clients[i];
		if (c->state == C_UP || c->state == C_CONNECTING) {
			mosquitto_loop_misc(c->m);
			sync_interest(c);
		}
	}
}

/* Create every client (nothing connects yet). */
static void make_clients(SSL_CTX *ctx)
{
	nclients = opt.devices;
	clients = calloc((size_t)nclients, sizeof *clients);
	if (!clients)
		abort();
	int64_t expiry = (int64_t)time(NULL) + 86400;
	for (int i = 0; i < nclients; i++) {
		struct client *c = &clients[i];
		char id[160];
		c->idx = opt.first + i;
		c->fd = -1;
		snprintf(id, sizeof id, "%s%04d", opt.prefix, c->idx);
		struct agent_ident ident;
		if (agent_ident_make(&ident, opt.hub_host, id, NULL, NULL) != SH_OK) {
			fprintf(stderr, "fleet: %s or --hub-host %s is too long\n", id, opt.hub_host);
			exit(FLEET_EXIT_USAGE);
		}
		if (!strcmp(opt.topic_style, "iothub"))
			agent_ident_telemetry_topic(&ident, NULL, c->topic, sizeof c->topic);
		else
			snprintf(c->topic, sizeof c->topic, "bench/%s", id);
		c->mids = calloc((size_t)opt.window, sizeof *c->mids);
		c->sent_ns = calloc((size_t)opt.window, sizeof *c->sent_ns);
		c->m = mosquitto_new(id, true, c);
		if (!c->mids || !c->sent_ns || !c->m) {
			fprintf(stderr, "fleet: cannot create client %d: %s\n", i, strerror(errno));
			exit(FLEET_EXIT_FAIL);
		}
		mosquitto_int_option(c->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
		mosquitto_int_option(c->m, MOSQ_OPT_TCP_NODELAY, 1);
		/* libmosquitto queues beyond its own in-flight limit (20); ours is the window. */
		mosquitto_int_option(c->m, MOSQ_OPT_SEND_MAXIMUM, opt.window);
		mosquitto_connect_callback_set(c->m, on_connect);
		mosquitto_disconnect_callback_set(c->m, on_disconnect);
		mosquitto_publish_callback_set(c->m, on_publish);
		mosquitto_log_callback_set(c->m, on_log);
		if (ctx) {
			mosquitto_void_option(c->m, MOSQ_OPT_SSL_CTX, ctx);
			mosquitto_int_option(c->m, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
		}
		if (!opt.no_auth) {
			const char *key = key_for(id);
			if (!key) {
				fprintf(stderr, "fleet: no key for %s\n", id);
				exit(FLEET_EXIT_USAGE);
			}
			char user[AGENT_USER_MAX], tok[AGENT_PASS_MAX];
			if (agent_ident_make(&ident, opt.hub_host, id, NULL, key) != SH_OK ||
			    agent_ident_username(&ident, user, sizeof user) != SH_OK ||
			    agent_ident_password(&ident, expiry, tok, sizeof tok) != SH_OK) {
				fprintf(stderr, "fleet: cannot sign a SAS token for %s (bad key?)\n", id);
				exit(FLEET_EXIT_USAGE);
			}
			mosquitto_username_pw_set(c->m, user, tok);
		}
	}
}

/*
 * Connect every client, at most --burst at a time being set up (TCP, TLS handshake, CONNACK),
 * so the servers' accept queues never overflow and a slow handshake never turns into a SYN
 * retransmission. Returns the number of accepted connections.
 */
static int connect_all(void)
{
	int next = 0, pending = 0, up = 0;
	uint64_t deadline = now_ns() + (uint64_t)CONNECT_SECONDS * 1000000000u;
	uint64_t last_misc = now_ns();
	while (!stop_flag) {
		while (next < nclients && pending < opt.burst) {
			struct client *c = &clients[next++];
			c->state = C_CONNECTING;
			int rc = mosquitto_connect(c->m, opt.host, opt.port, opt.keepalive);
			if (rc != MOSQ_ERR_SUCCESS) {
				c->state = C_FAILED;
				st.failed++;
				if (st.refusal_lines++ < MAX_REFUSAL_LINES)
					fprintf(stderr, "fleet: FAILED %s%04d: connect: %s\n",
						opt.prefix, c->idx,
						rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
				continue;
			}
			sync_interest(c);
			pending++;
		}
		poll_once(20, false);
		pending = 0;
		up = 0;
		for (int i = 0; i < next; i++) {
			if (clients[i].state == C_CONNECTING)
				pending++;
			else if (clients[i].state == C_UP)
				up++;
		}
		if (next == nclients && pending == 0)
			break;
		if (now_ns() > deadline) {
			fprintf(stderr, "fleet: FAILED: %d connections still without CONNACK after %d s\n",
				pending, CONNECT_SECONDS);
			st.failed += pending;
			break;
		}
		if (now_ns() - last_misc > 1000000000u) {
			keepalive_all();
			last_misc = now_ns();
		}
	}
	return up;
}

static double pct_us(double p)
{
	return fleet_lat_pct_us(&st.lat, p);
}

/* One turn of the publishing loop: sockets, then (open loop) the messages that are due. */
static void pump(void)
{
	if (opt.rate > 0) {
		poll_once(1, true);
		pace_all();
	} else {
		poll_once(10, true);
	}
}

/* Messages without PUBACK on live connections, or also on lost ones. */
static int in_flight_total(bool with_lost)
{
	int n = 0;
	for (int i = 0; i < nclients; i++)
		if (clients[i].state == C_UP || (with_lost && clients[i].state == C_LOST))
			n += clients[i].inflight;
	return n;
}

static int run_load(void)
{
	int up = connect_all();
	fprintf(stderr, "fleet: %d of %d devices connected to %s:%d%s\n", up, nclients, opt.host,
		opt.port, opt.tls ? " (TLS)" : "");
	if (st.refusal_lines > MAX_REFUSAL_LINES)
		fprintf(stderr, "fleet: (%d more refused or failed connections not listed)\n",
			st.refusal_lines - MAX_REFUSAL_LINES);
	if (up == 0) {
		printf("RESULT msgs_per_s=0 p50_us=0 p99_us=0 acked=0 devices=0 refused=%d failed=%d "
		       "lost=0 unacked=0 errors=%d\n", st.refused, st.failed, st.refused + st.failed);
		return FLEET_EXIT_FAIL;
	}
	payload = malloc((size_t)opt.size);
	if (!payload)
		abort();
	/* JSON-looking text, like device telemetry. */
	static const char pat[] = "{\"temperature\":21.5,\"humidity\":48.25,\"pressure\":1013.2,";
	for (int i = 0; i < opt.size; i++)
		payload[i] = pat[(size_t)i % (sizeof pat - 1)];

	uint64_t t0 = now_ns();
	uint64_t warm_end = t0 + (uint64_t)(opt.warmup * 1e9);
	uint64_t last_misc = t0;
	rate_t0 = t0;
	if (opt.rate <= 0)
		for (int i = 0; i < nclients; i++) {
			refill(&clients[i]);
			sync_interest(&clients[i]);
		}
	while (!stop_flag && now_ns() < warm_end)
		pump();
	window_end_ns = now_ns() + (uint64_t)(opt.seconds * 1e9);
	uint64_t ws = now_ns();
	phase_measure = true;
	while (!stop_flag) {
		uint64_t t = now_ns();
		if (t >= window_end_ns)
			break;
		pump();
		if (t - last_misc > 1000000000u) {
			keepalive_all();
			last_misc = t;
		}
	}
	double measured = (double)(now_ns() - ws) / 1e9;
	if (measured > opt.seconds)
		measured = opt.seconds;
	/* Drain: no new messages, wait for the PUBACKs of those in flight. */
	uint64_t drain_end = now_ns() + (uint64_t)DRAIN_SECONDS * 1000000000u;
	while (!stop_flag && in_flight_total(false) > 0 && now_ns() < drain_end)
		poll_once(10, false);
	int unacked = in_flight_total(true);
	for (int i = 0; i < nclients; i++)
		if (clients[i].state == C_UP) {
			clients[i].state = C_IDLE;   /* a close we asked for is not a loss */
			mosquitto_disconnect(clients[i].m);
		}
	for (int k = 0; k < 5; k++)
		poll_once(2, false);

	double rate = measured > 0 ? (double)st.acked_window / measured : 0;
	int errors = st.refused + st.failed + st.lost + unacked + (int)st.pub_errors;
	char pace[64];
	if (opt.rate > 0)
		snprintf(pace, sizeof pace, "open loop at %.0f msgs/s", opt.rate);
	else
		snprintf(pace, sizeof pace, "closed loop");
	printf("devices %d, window %d, %s, payload %d bytes, %s, warm-up %.1f s, measured %.2f s\n",
	       up, opt.window, pace, opt.size, opt.tls ? "TLS" : "TCP", opt.warmup, measured);
	printf("  acknowledged   %.0f msgs/s (%llu in the window, %llu published in all)\n", rate,
	       (unsigned long long)st.acked_window, (unsigned long long)st.published);
	printf("  sent %llu, acknowledged %llu, failed %d\n", (unsigned long long)st.published,
	       (unsigned long long)st.acked_total, unacked + (int)st.pub_errors);
	printf("  PUBACK latency p50 %.0f us, p90 %.0f us, p99 %.0f us, max %.0f us\n", pct_us(50),
	       pct_us(90), pct_us(99), pct_us(100));
	printf("  errors         %d (refused %d, failed %d, lost %d, no PUBACK %d s after the end %d, "
	       "publish errors %llu)\n", errors, st.refused, st.failed, st.lost, DRAIN_SECONDS,
	       unacked, (unsigned long long)st.pub_errors);
	printf("RESULT msgs_per_s=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f acked=%llu "
	       "acked_total=%llu sent=%llu devices=%d refused=%d failed=%d lost=%d unacked=%d "
	       "errors=%d\n", rate, pct_us(50), pct_us(90), pct_us(99), pct_us(100),
	       (unsigned long long)st.acked_window, (unsigned long long)st.acked_total,
	       (unsigned long long)st.published, up, st.refused, st.failed, st.lost, unacked,
	       errors);
	fflush(stdout);
	if (st.lost && st.refusal_lines > MAX_REFUSAL_LINES)
		fprintf(stderr, "fleet: (%d refused, failed or lost connections in all)\n",
			st.refused + st.failed + st.lost);
	if (st.refused || st.failed || st.lost) {
		fprintf(stderr, "fleet: *** %d of %d connections refused, failed or lost: the "
				"figures above are not a valid run ***\n",
			st.refused + st.failed + st.lost, nclients);
		return FLEET_EXIT_FAIL;
	}
	return unacked || st.pub_errors ? FLEET_EXIT_FAIL : FLEET_EXIT_OK;
}

static int run_idle(void)
{
	uint64_t t0 = now_ns();
	int up = connect_all();
	double secs = (double)(now_ns() - t0) / 1e9;
	if (st.refusal_lines > MAX_REFUSAL_LINES)
		fprintf(stderr, "fleet: (%d more refused or failed connections not listed)\n",
			st.refusal_lines - MAX_REFUSAL_LINES);
	printf("IDLE up=%d wanted=%d refused=%d failed=%d seconds=%.1f\n", up, nclients, st.refused,
	       st.failed, secs);
	fflush(stdout);
	if (up < nclients)
		fprintf(stderr, "fleet: *** only %d of %d idle connections are up ***\n", up,
			nclients);
	uint64_t last_misc = now_ns();
	while (!stop_flag) {
		poll_once(200, false);
		if (now_ns() - last_misc > 1000000000u) {
			keepalive_all();
			last_misc = now_ns();
		}
	}
	if (st.lost)
		fprintf(stderr, "fleet: *** %d idle connections were lost while held ***\n", st.lost);
	printf("IDLE_END lost=%d\n", st.lost);
	return (up < nclients || st.lost) ? FLEET_EXIT_FAIL : FLEET_EXIT_OK;
}

/* ---- start-up timing ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/*
 * One start: watch the ready file's folder with inotify (the rename that publishes the file
 * is an IN_MOVED_TO, a plain write an IN_CREATE), take the monotonic time, fork and exec the
 * command, and stop the clock when the file exists. Without inotify it polls stat() every
 * 100 microseconds. The server is then stopped with SIGTERM. Returns milliseconds, or -1.
 */
static double time_one_start(void)
{
	const char *path = opt.ready_file;
	unlink(path);
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = 0;
	else if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof dir, ".");
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (in >= 0 && inotify_add_watch(in, dir, IN_MOVED_TO | IN_CREATE | IN_CLOSE_WRITE) < 0) {
		close(in);
		in = -1;
	}
	struct stat sb;
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "fleet: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0) {
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		execvp(opt.command[0], opt.command);
		_exit(127);
	}
	double ms = -1;
	uint64_t deadline = t0 + 10000000000u;
	for (;;) {
		if (stat(path, &sb) == 0) {
			ms = (double)(now_ns() - t0) / 1e6;
			break;
		}
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "fleet: the server exited (status %d) before writing %s\n",
				WIFEXITED(status) ? WEXITSTATUS(status) : -1, path);
			if (in >= 0)
				close(in);
			return -1;
		}
		if (now_ns() > deadline) {
			fprintf(stderr, "fleet: no ready file after 10 s\n");
			break;
		}
		if (in >= 0) {
			char buf[4096];
			fd_set rf;
			FD_ZERO(&rf);
			FD_SET(in, &rf);
			struct timeval tv = {0, 20000};
			if (select(in + 1, &rf, NULL, NULL, &tv) > 0)
				while (read(in, buf, sizeof buf) > 0) {
				}
		} else {
			struct timespec ts = {0, 100000};
			nanosleep(&ts, NULL);
		}
	}
	if (in >= 0)
		close(in);
	kill(pid, SIGTERM);
	int status;
	waitpid(pid, &status, 0);
	return ms;
}

static int run_startup(void)
{
	double *ms = calloc((size_t)opt.startup, sizeof *ms);
	if (!ms)
		abort();
	int ok = 0;
	for (int i = 0; i < opt.startup && !stop_flag; i++) {
		double t = time_one_start();
		printf("start %d: %.1f ms\n", i + 1, t);
		if (t >= 0)
			ms[ok++] = t;
	}
	if (!ok) {
		printf("STARTUP runs=0 median_ms=0 min_ms=0 max_ms=0\n");
		return FLEET_EXIT_FAIL;
	}
	qsort(ms, (size_t)ok, sizeof *ms, cmp_double);
	double med = ok % 2 ? ms[ok / 2] : (ms[ok / 2 - 1] + ms[ok / 2]) / 2;
	printf("STARTUP runs=%d median_ms=%.1f min_ms=%.1f max_ms=%.1f\n", ok, med, ms[0],
	       ms[ok - 1]);
	free(ms);
	return ok == opt.startup ? FLEET_EXIT_OK : FLEET_EXIT_FAIL;
}

int fleet_load_main(int argc, char **argv)
{
	parse_args(argc, argv);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (opt.startup)
		return run_startup();

	if (opt.keys_file && !(keys = fleet_keys_load(opt.keys_file)))
		return FLEET_EXIT_USAGE;
	mosquitto_lib_init();
	nclients = opt.devices;
	fleet_raise_fd_limit(nclients);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		fprintf(stderr, "fleet: epoll_create1: %s\n", strerror(errno));
		return FLEET_EXIT_FAIL;
	}
	SSL_CTX *ctx = opt.tls ? fleet_ssl_ctx(opt.cafile, opt.host, opt.insecure) : NULL;
	if (opt.tls && !ctx)
		return FLEET_EXIT_USAGE;
	make_clients(ctx);
	int rc = opt.idle ? run_idle() : run_load();
	for (int i = 0; i < nclients; i++) {
		mosquitto_destroy(clients[i].m);
		free(clients[i].mids);
		free(clients[i].sent_ns);
	}
	free(clients);
	fleet_lat_free(&st.lat);
	fleet_keys_free(keys);
	free(payload);
	if (ctx)
		SSL_CTX_free(ctx);
	mosquitto_lib_cleanup();
	return rc;
}
