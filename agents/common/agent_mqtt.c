/*
 * agent_mqtt.c: room agent_mqtt (see agent_mqtt.h): the libmosquitto glue of simhub's agents.
 * It owns the connection life cycle (connect, subscribe, renew, lose, back off, reconnect) and
 * reads the clocks; it never interprets twin documents or message bodies (its callers do).
 */
#include "agent_mqtt.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>

#include "core/sas.h"

enum conn_state {
	ST_IDLE,        /* no socket; connect at next_connect_ms */
	ST_CONNECTING,  /* CONNECT sent, waiting for CONNACK */
	ST_SUBSCRIBING, /* CONNACK 0, waiting for SUBACK */
	ST_READY,
	ST_CLOSED,      /* agent_mqtt_disconnect was called */
};

struct agent_mqtt {
	struct mosquitto *mosq;
	struct agent_ident id;
	struct agent_mqtt_opts o;
	struct agent_mqtt_cbs cbs;
	char dial_host[AGENT_HOST_MAX + 1];
	char ca_file[1024];
	enum conn_state st;
	int sub_mid;
	unsigned attempt;         /* failed attempts since the last ready */
	unsigned connections;     /* times ready was reached */
	int64_t next_connect_ms;  /* monotonic */
	int64_t renew_at_s;       /* wall clock */
	bool renewing;            /* the current close is a deliberate SAS renewal */
	bool refused;             /* last CONNACK was 4 or 5 */
	unsigned rid;
	unsigned unacked;
	uint64_t acked;
	uint8_t qos1_mid[65536 / 8];
};

static char log_prog[64] = "agent";
static bool lib_ready;

void agent_log_init(const char *prog)
{
	snprintf(log_prog, sizeof log_prog, "%s", prog ? prog : "agent");
}

void agent_logv(const char *fmt, va_list ap)
{
	char line[1024];
	vsnprintf(line, sizeof line, fmt, ap);
	fprintf(stderr, "%s: %s\n", log_prog, line);
}

void agent_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	agent_logv(fmt, ap);
	va_end(ap);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_s(void)
{
	return (int64_t)time(NULL);
}

/* Mark the connection lost and schedule the next attempt (at once for a renewal). */
static void schedule_retry(struct agent_mqtt *m, const char *why)
{
	bool was_ready = m->st == ST_READY;
	if (m->st == ST_CLOSED)
		return;
	m->st = ST_IDLE;
	m->unacked = 0;   /* libmosquitto re-sends in-flight QoS 1 messages; we stop waiting */
	memset(m->qos1_mid, 0, sizeof m->qos1_mid);
	if (m->renewing) {
		m->renewing = false;
		m->next_connect_ms = mono_ms();
		return;
	}
	int64_t d = agent_backoff_ms(m->attempt, m->o.backoff_base_ms, m->o.backoff_max_ms,
				     (uint32_t)rand());
	m->attempt++;
	m->next_connect_ms = mono_ms() + d;
	agent_log("connection %s: %s; retry in %lld ms", was_ready ? "lost" : "failed", why,
		  (long long)d);
	if (was_ready && m->cbs.on_lost)
		m->cbs.on_lost(m->cbs.ctx, why);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	struct agent_mqtt *m = obj;
	if (rc != 0) {
		m->refused = rc == 4 || rc == 5;
		agent_log("CONNACK %d (%s)", rc, mosquitto_connack_string(rc));
		mosquitto_disconnect(mosq);
		schedule_retry(m, "connection refused");
		return;
	}
	m->refused = false;
	char *subs[2] = {"$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/#"};
	int prc = mosquitto_subscribe_multiple(mosq, &m->sub_mid, 2, subs, 0, 0, NULL);
	if (prc != MOSQ_ERR_SUCCESS) {
		agent_log("subscribe failed: %s", mosquitto_strerror(prc));
		mosquitto_disconnect(mosq);
		schedule_retry(m, "subscribe failed");
		return;
	}
	m->st = ST_SUBSCRIBING;
	agent_log("connected; subscribing to the twin topics");
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *granted)
{
	(void)mosq;
	struct agent_mqtt *m = obj;
	if (mid != m->sub_mid || m->st != ST_SUBSCRIBING)
		return;
	for (int i = 0; i < n; i++) {
		if (granted[i] > 2) {
			agent_log("the hub refused a twin subscription");
			mosquitto_disconnect(mosq);
			schedule_retry(m, "subscription refused");
			return;
		}
	}
	m->st = ST_READY;
	m->attempt = 0;
	m->connections++;
	agent_log("ready (connection %u, SAS renewal in %lld s)", m->connections,
		  (long long)(m->renew_at_s - wall_s()));
	if (m->cbs.on_ready)
		m->cbs.on_ready(m->cbs.ctx, m->connections);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	(void)mosq;
	struct agent_mqtt *m = obj;
	if (m->st == ST_IDLE || m->st == ST_CLOSED)
		return;
	schedule_retry(m, rc == 0 ? "closed" : mosquitto_strerror(rc));
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
	(void)mosq;
	struct agent_mqtt *m = obj;
	unsigned u = (unsigned)mid & 0xffffu;
	if (m->qos1_mid[u / 8] & (1u << (u % 8))) {
		m->qos1_mid[u / 8] &= (uint8_t)~(1u << (u % 8));
		if (m->unacked)
			m->unacked--;
		m->acked++;
	}
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	(void)mosq;
	struct agent_mqtt *m = obj;
	struct agent_topic t;
	if (!msg->topic || agent_topic_parse(msg->topic, strlen(msg->topic), &t) != SH_OK) {
		agent_log("ignoring a message on a malformed twin topic");
		return;
	}
	const char *body = msg->payload ? msg->payload : "";
	size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
	if (t.kind == AGENT_TOPIC_TWIN_RES && m->cbs.on_twin_res)
		m->cbs.on_twin_res(m->cbs.ctx, t.status, t.rid, t.version, body, len);
	else if (t.kind == AGENT_TOPIC_TWIN_DESIRED && m->cbs.on_desired)
		m->cbs.on_desired(m->cbs.ctx, t.version, body, len);
}

struct agent_mqtt *agent_mqtt_new(const struct agent_ident *id, const struct agent_mqtt_opts *o,
				  const struct agent_mqtt_cbs *cbs)
{
	if (!lib_ready) {
		mosquitto_lib_init();
		lib_ready = true;
	}
	struct agent_mqtt *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->id = *id;
	m->o = *o;
	if (cbs)
		m->cbs = *cbs;
	if (m->o.sas_ttl_s <= 0)
		m->o.sas_ttl_s = 3600;
	if (m->o.keepalive_s <= 0)
		m->o.keepalive_s = 60;
	if (m->o.backoff_base_ms <= 0)
		m->o.backoff_base_ms = 1000;
	if (m->o.backoff_max_ms <= 0)
		m->o.backoff_max_ms = 60000;
	if (m->o.port <= 0)
		m->o.port = m->o.tls ? 8883 : 1883;
	snprintf(m->dial_host, sizeof m->dial_host, "%s",
		 o->dial_host ? o->dial_host : agent_ident_dial_host(id));
	m->o.dial_host = m->dial_host;
	if (o->ca_file)
		snprintf(m->ca_file, sizeof m->ca_file, "%s", o->ca_file);
	m->o.ca_file = m->ca_file[0] ? m->ca_file : NULL;

	char cid[2 * AGENT_ID_MAX + 2];
	agent_ident_client_id(id, cid, sizeof cid);
	m->mosq = mosquitto_new(cid, false, m);
	if (!m->mosq) {
		agent_log("mosquitto_new failed: %s", strerror(errno));
		free(m);
		return NULL;
	}
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_callback_set(m->mosq, on_connect);
	mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
	mosquitto_subscribe_callback_set(m->mosq, on_subscribe);
	mosquitto_publish_callback_set(m->mosq, on_publish);
	mosquitto_message_callback_set(m->mosq, on_message);
	if (m->o.tls) {
		int rc;
		if (m->o.ca_file) {
			rc = mosquitto_tls_set(m->mosq, m->o.ca_file, NULL, NULL, NULL, NULL);
		} else {
			rc = mosquitto_int_option(m->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
		}
		if (rc != MOSQ_ERR_SUCCESS) {
			agent_log("TLS setup (CA %s) failed: %s", m->o.ca_file ? m->o.ca_file : "system",
				  mosquitto_strerror(rc));
			agent_mqtt_free(m);
			return NULL;
		}
	}
	m->st = ST_IDLE;
	m->next_connect_ms = mono_ms();
	return m;
}

/*
 * One connection attempt: mint a token valid for sas_ttl_s from now, set it as the password,
 * and dial. mosquitto_connect performs the TCP connect (and TLS handshake) synchronously; the
 * CONNACK arrives later through on_connect.
 */
static void try_connect(struct agent_mqtt *m)
{
	char user[2 * AGENT_HOST_MAX + 2 * AGENT_ID_MAX + 64];
	char pass[SAS_SR_MAX + 512];
	int64_t now = wall_s();
	int64_t expiry = now + m->o.sas_ttl_s;
	if (agent_ident_username(&m->id, user, sizeof user) != SH_OK ||
	    agent_ident_password(&m->id, expiry, pass, sizeof pass) != SH_OK) {
		agent_log("cannot build the username or SAS token (bad key?)");
		m->refused = true;
		m->st = ST_IDLE;
		m->next_connect_ms = mono_ms() + m->o.backoff_max_ms;
		return;
	}
	m->renew_at_s = agent_renew_at_s(now, expiry);
	mosquitto_username_pw_set(m->mosq, user, pass);
	agent_log("connecting to %s:%d over %s as %s%s%s", m->dial_host, m->o.port,
		  m->o.tls ? "TLS" : "plain TCP", m->id.device_id, m->id.module_id[0] ? "/" : "",
		  m->id.module_id);
	int rc = mosquitto_connect(m->mosq, m->dial_host, m->o.port, m->o.keepalive_s);
	if (rc != MOSQ_ERR_SUCCESS) {
		m->st = ST_CONNECTING;   /* so schedule_retry logs it as a failure */
		schedule_retry(m, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		return;
	}
	m->st = ST_CONNECTING;
}

sh_rc agent_mqtt_service(struct agent_mqtt *m, int timeout_ms)
{
	if (m->st == ST_CLOSED)
		return SH_E_STATE;
	int64_t end = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	do {
		int64_t now = mono_ms();
		if (m->st == ST_IDLE && now >= m->next_connect_ms)
			try_connect(m);
		if (m->st == ST_READY && wall_s() >= m->renew_at_s) {
			agent_log("renewing the SAS token: reconnecting");
			m->renewing = true;
			mosquitto_disconnect(m->mosq);
			mosquitto_loop(m->mosq, 0, 1);
			if (m->st != ST_IDLE)
				schedule_retry(m, "renewal");
			continue;
		}
		int64_t left = end - mono_ms();
		if (left < 0)
			left = 0;
		if (m->st == ST_IDLE) {
			int64_t wait = m->next_connect_ms - mono_ms();
			if (wait > left)
				wait = left;
			if (wait > 0)
				poll(NULL, 0, (int)wait);
			continue;
		}
		int rc = mosquitto_loop(m->mosq, (int)(left > 100 ? 100 : left), 1);
		if (rc != MOSQ_ERR_SUCCESS && m->st != ST_IDLE && m->st != ST_CLOSED) {
			mosquitto_disconnect(m->mosq);
			schedule_retry(m, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		}
		if (m->refused)
			return SH_E_UNAUTHORIZED;
	} while (mono_ms() < end && m->st != ST_CLOSED);
	return m->refused ? SH_E_UNAUTHORIZED : SH_OK;
}

bool agent_mqtt_ready(const struct agent_mqtt *m)
{
	return m->st == ST_READY;
}

static sh_rc publish(struct agent_mqtt *m, const char *topic, const void *body, size_t len, int qos)
{
	if (m->st != ST_READY)
		return SH_E_STATE;
	if (len > 256 * 1024 + 1024)
		return SH_E_TOOLARGE;
	int mid = 0;
	int rc = mosquitto_publish(m->mosq, &mid, topic, (int)len, body, qos, false);
	if (rc != MOSQ_ERR_SUCCESS) {
		agent_log("publish on %s failed: %s", topic, mosquitto_strerror(rc));
		return SH_E_IO;
	}
	if (qos > 0) {
		unsigned u = (unsigned)mid & 0xffffu;
		m->qos1_mid[u / 8] |= (uint8_t)(1u << (u % 8));
		m->unacked++;
	}
	return SH_OK;
}

sh_rc agent_mqtt_twin_get(struct agent_mqtt *m, unsigned *rid)
{
	char topic[64];
	unsigned r = ++m->rid;
	agent_topic_twin_get(r, topic, sizeof topic);
	sh_rc rc = publish(m, topic, "", 0, 0);
	if (rc == SH_OK && rid)
		*rid = r;
	return rc;
}

sh_rc agent_mqtt_twin_report(struct agent_mqtt *m, const char *json, unsigned *rid)
{
	char topic[80];
	unsigned r = ++m->rid;
	agent_topic_twin_report(r, topic, sizeof topic);
	sh_rc rc = publish(m, topic, json, strlen(json), 0);
	if (rc == SH_OK && rid)
		*rid = r;
	return rc;
}

sh_rc agent_mqtt_send(struct agent_mqtt *m, const char *bag, const void *body, size_t len)
{
	char topic[4096];
	if (agent_ident_telemetry_topic(&m->id, bag, topic, sizeof topic) != SH_OK)
		return SH_E_TOOLARGE;
	return publish(m, topic, body, len, 1);
}

unsigned agent_mqtt_unacked(const struct agent_mqtt *m)
{
	return m->unacked;
}

uint64_t agent_mqtt_acked(const struct agent_mqtt *m)
{
	return m->acked;
}

sh_rc agent_mqtt_disconnect(struct agent_mqtt *m, int drain_ms)
{
	if (m->st == ST_CLOSED || m->st == ST_IDLE) {
		m->st = ST_CLOSED;
		return SH_E_STATE;
	}
	int64_t end = mono_ms() + drain_ms;
	while (m->st == ST_READY && m->unacked > 0 && mono_ms() < end)
		mosquitto_loop(m->mosq, 50, 1);
	m->st = ST_CLOSED;
	mosquitto_disconnect(m->mosq);
	mosquitto_loop(m->mosq, 0, 1);
	agent_log("disconnected (%llu messages acknowledged)", (unsigned long long)m->acked);
	return SH_OK;
}

void agent_mqtt_free(struct agent_mqtt *m)
{
	if (!m)
		return;
	if (m->mosq)
		mosquitto_destroy(m->mosq);
	free(m);
}
