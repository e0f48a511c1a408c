/*
 * fleet_replay.c (agents/fleet): `fleet replay`, a journal (core/journal, docs/recordings.md)
 * played back over real MQTT connections, one libmosquitto client per identity and clone, all
 * on one thread and one epoll set. It plays what devices did, answers what the hub asks, and
 * with --check compares the hub's answers with the recorded ones. It never plays the service
 * side (desired patches, method calls, C2D): it only expects them.
 *
 * How an identity ("actor") plays: its device-originated ops run in journal order, each when
 * its time t / speed has come and the connection is up and subscribed (a missing "connect" is
 * implied). Twin ops are pipelined (the answer is matched by $rid later); telemetry is QoS 1
 * and its PUBACK is the acknowledgement. method.response lines are not played in order: they
 * answer the hub's method request with the same name as the recorded request they answered.
 * c2d.settle lines need no action: libmosquitto's PUBACK of the delivery completes it (MQTT
 * cannot abandon or reject). Recorded twin versions are compared relative to the first one
 * seen, so clones of a device with history still compare.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <mosquitto.h>

#include "agent_ident.h"
#include "core/identity.h"
#include "core/journal.h"
#include "core/msg_props.h"
#include "core/span.h"
#include "fleet_load.h"
#include "fleet_util.h"

#define MAX_DIFF_LINES 20

struct options {
	const char *journal;
	const char *host;
	int port;
	bool tcp;
	const char *ca;
	bool insecure;
	double speed;
	int clones;
	const char *pattern;
	double rate;
	const char *keys_file;
	const char *service_cs;
	bool create;
	const char *https_host;
	int https_port;
	const char *hub_host;
	bool check;
	bool json;
	double wait_s;
	int keepalive;
};

struct pub {
	int mid;
	uint64_t sent_ns;
};

struct pending {         /* a twin op waiting for its answer */
	unsigned rid;
	int entry;
	uint64_t sent_ns;
};

struct actor {
	char device[SH_ID_MAX + 1];
	char module[SH_ID_MAX + 1];   /* "" for a device */
	const char *orig;             /* recorded "device[/module]" (borrowed from names[]) */
	char full[2 * SH_ID_MAX + 2]; /* "device[/module]" as played */
	struct mosquitto *m;
	int fd;
	uint32_t ev;
	enum { A_IDLE, A_CONNECTING, A_UP, A_READY, A_DOWN, A_FAILED } state;
	bool asked_down;              /* the disconnect was ours */
	int *ops, nops, next;         /* device-originated entries, in order */
	int *exp, nexp;               /* hub-originated entries expected */
	bool *exp_seen;
	struct pub *pubs;
	int npubs, cappubs;
	struct pending *pend;
	int npend, cappend;
	unsigned next_rid;
	bool have_v0, have_dv0;
	int64_t v0_rec, v0_live, dv0_rec, dv0_live;
	bool done;
};

struct stats {
	uint64_t sent, acked, failed, twin_sent, twin_answered, method_answers, c2d_received,
		desired_received, skipped_unknown;
	int refused, lost;
	uint64_t diffs;
	struct fleet_lat puback, twin;
};

static struct options opt;
static struct stats st;
static struct journal_entry *entries;
static long *entry_line;
static int nentries;
static struct actor *actors;
static int nactors;
static int epfd = -1;
static uint64_t start_ns;
static uint64_t rate_t0, rate_sent;
static volatile sig_atomic_t stop_flag;
static cJSON *diff_list;      /* --json: the differences */
static struct fleet_keys *keys;
static SSL_CTX *ssl_ctx;
static const char *hub_host;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fleet replay JOURNAL --host H [options]\n"
		"\n"
		"Plays the device side of a simhub journal (docs/recordings.md) over MQTT: one\n"
		"connection per recorded device or module (times --clone), at the recorded times.\n"
		"\n"
		"  --host H              hub address (MQTT and, by default, HTTPS)\n"
		"  --port P              MQTT port (default 8883 with TLS, 1883 with --tcp)\n"
		"  --ca FILE             trust this CA (default: the system store)\n"
		"  --tcp                 MQTT over plain TCP (simhub's debugging listener)\n"
		"  --insecure            TLS: check the chain but not the server name\n"
		"  --hub-host NAME       hub name in usernames and SAS tokens (default: the service\n"
		"                        string's HostName, else --host)\n"
		"  --speed X             play X times faster (default 1; 10 = ten times faster)\n"
		"  --clone N             play every identity N times, renamed by --clone-pattern\n"
		"  --clone-pattern P     {id} the recorded id, {n} the clone number 1..N, {n:4}\n"
		"                        zero-padded (default '{id}-{n}'); modules keep their id\n"
		"  --rate N              at most N messages/s over all identities (telemetry, twin)\n"
		"  --keys FILE           key map, JSON {\"dev1\":\"KEY\",\"dev1/mod\":\"KEY\",\"*\":\"KEY\"};\n"
		"                        a clone without its own entry uses its recorded identity's\n"
		"  --service-cs CS       service connection string (iothubowner or registryWrite)\n"
		"  --create              with --service-cs: create missing identities (PUT\n"
		"                        /devices/{id} over HTTPS) and use their keys\n"
		"  --https-host H --https-port P   the registry's address (default --host, 443)\n"
		"  --check               compare the hub's answers with the journal (twin status and\n"
		"                        versions, desired patches, method requests, C2D); exit 1 and\n"
		"                        list the differences when they differ\n"
		"  --wait S              after the last op, wait up to S seconds for expected hub\n"
		"                        messages and answers (default 3)\n"
		"  --keepalive S         MQTT keepalive when the journal has none (default 60)\n"
		"  --json                print the summary as one JSON object on stdout\n"
		"\n"
		"Progress goes to stderr: one updating line on a terminal, a line every 5 s otherwise.\n"
		"Exit status: 0 success; 1 a connection or message failed, or --check found\n"
		"differences; 2 usage error, unreadable journal or key map, identities not created.\n");
}

static void parse_args(int argc, char **argv)
{
	opt = (struct options){.speed = 1, .pattern = "{id}-{n}", .https_port = 443, .wait_s = 3,
			       .keepalive = 60};
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool flag = true;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(FLEET_EXIT_OK);
		} else if (!strcmp(a, "--tcp")) {
			opt.tcp = true;
		} else if (!strcmp(a, "--insecure")) {
			opt.insecure = true;
		} else if (!strcmp(a, "--create")) {
			opt.create = true;
		} else if (!strcmp(a, "--check")) {
			opt.check = true;
		} else if (!strcmp(a, "--json")) {
			opt.json = true;
		} else if (a[0] != '-') {
			if (opt.journal) {
				fleet_log("one journal only (\"%s\" and \"%s\")", opt.journal, a);
				exit(FLEET_EXIT_USAGE);
			}
			opt.journal = a;
		} else {
			flag = false;
		}
		if (flag)
			continue;
		if (!v) {
			fleet_log("%s needs a value, or is unknown (see fleet replay --help)", a);
			exit(FLEET_EXIT_USAGE);
		}
		if (!strcmp(a, "--host"))
			opt.host = v;
		else if (!strcmp(a, "--port"))
			opt.port = fleet_opt_int(a, v, 1, 65535);
		else if (!strcmp(a, "--ca") || !strcmp(a, "--cafile"))
			opt.ca = v;
		else if (!strcmp(a, "--speed"))
			opt.speed = fleet_opt_double(a, v, 0.0001, 1e9);
		else if (!strcmp(a, "--clone"))
			opt.clones = fleet_opt_int(a, v, 1, 10000000);
		else if (!strcmp(a, "--clone-pattern"))
			opt.pattern = v;
		else if (!strcmp(a, "--rate"))
			opt.rate = fleet_opt_double(a, v, 0.001, 1e9);
		else if (!strcmp(a, "--keys"))
			opt.keys_file = v;
		else if (!strcmp(a, "--service-cs"))
			opt.service_cs = v;
		else if (!strcmp(a, "--https-host"))
			opt.https_host = v;
		else if (!strcmp(a, "--https-port"))
			opt.https_port = fleet_opt_int(a, v, 1, 65535);
		else if (!strcmp(a, "--hub-host"))
			opt.hub_host = v;
		else if (!strcmp(a, "--wait"))
			opt.wait_s = fleet_opt_double(a, v, 0, 86400);
		else if (!strcmp(a, "--keepalive"))
			opt.keepalive = fleet_opt_int(a, v, 5, 65535);
		else {
			fleet_log("unknown option %s (see fleet replay --help)", a);
			exit(FLEET_EXIT_USAGE);
		}
		i++;
	}
	if (!opt.journal || !opt.host) {
		fleet_log("usage: fleet replay JOURNAL --host H ... (see fleet replay --help)");
		exit(FLEET_EXIT_USAGE);
	}
	if (opt.create && !opt.service_cs) {
		fleet_log("--create needs --service-cs");
		exit(FLEET_EXIT_USAGE);
	}
	if (!opt.keys_file && !opt.create) {
		fleet_log("give the device keys: --keys FILE, or --service-cs CS --create");
		exit(FLEET_EXIT_USAGE);
	}
	if (!opt.port)
		opt.port = opt.tcp ? 1883 : 8883;
	if (!opt.https_host)
		opt.https_host = opt.host;
}

/* ---- the journal ---- */

/*
 * Read the whole journal: the header (version checked), then every line. Unknown ops from a
 * newer writer are skipped with one warning each; any other bad line stops the run with
 * "FILE:LINE: PATH: REASON". Blank lines are allowed. Returns 0 or -1.
 */
static int read_journal(const char *path, struct journal_header *h)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fleet_log("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	int cape = 0, rc = -1;
	bool have_header = false;
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		size_t len = (size_t)n;
		size_t k = 0;
		while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r' ||
				   line[k] == '\n'))
			k++;
		if (k == len && have_header)
			continue;
		struct journal_error err;
		char msg[512];
		if (!have_header) {
			if (journal_header_parse(line, len, lineno, h, &err) != SH_OK) {
				journal_error_format(&err, path, msg, sizeof msg);
				fleet_log("%s", msg);
				goto out;
			}
			have_header = true;
			continue;
		}
		if (nentries == cape) {
			cape = cape ? cape * 2 : 256;
			struct journal_entry *ne = realloc(entries, (size_t)cape * sizeof *ne);
			long *nl = realloc(entry_line, (size_t)cape * sizeof *nl);
			if (ne)
				entries = ne;
			if (nl)
				entry_line = nl;
			if (!ne || !nl)
				goto out;
		}
		sh_rc prc = journal_entry_parse(line, len, lineno, &entries[nentries], &err);
		if (prc == SH_E_NOTFOUND) {
			journal_error_format(&err, path, msg, sizeof msg);
			fleet_log("skipped: %s", msg);
			st.skipped_unknown++;
			journal_entry_free(&entries[nentries]);
			continue;
		}
		if (prc != SH_OK) {
			journal_error_format(&err, path, msg, sizeof msg);
			fleet_log("%s", msg);
			journal_entry_free(&entries[nentries]);
			goto out;
		}
		if (nentries > 0 && entries[nentries].t_us < entries[nentries - 1].t_us) {
			fleet_log("%s:%ld: $.t: goes back in time (%lld after %lld)", path, lineno,
				  (long long)entries[nentries].t_us,
				  (long long)entries[nentries - 1].t_us);
			journal_entry_free(&entries[nentries]);
			goto out;
		}
		entry_line[nentries++] = lineno;
	}
	if (!have_header) {
		fleet_log("%s: empty: a journal starts with its header line", path);
		goto out;
	}
	rc = 0;
out:
	free(line);
	fclose(f);
	return rc;
}

static void full_id(const char *device, const char *module, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s%s", device, module && module[0] ? "/" : "",
		 module && module[0] ? module : "");
}

/* The actor as an IoT Hub identity of hub_host, signing with `key` (NULL: topics only). */
static sh_rc actor_ident(const struct actor *a, const char *key, struct agent_ident *id)
{
	return agent_ident_make(id, hub_host, a->device, a->module, key);
}

/* ---- differences ---- */

static void diff(const struct actor *a, int entry, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Count a difference; print the first MAX_DIFF_LINES, keep every one for --json. */
static void diff(const struct actor *a, int entry, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	st.diffs++;
	if (!opt.check)
		return;
	char line[700];
	if (entry >= 0)
		snprintf(line, sizeof line, "%s: %s line %ld: %s", a->full,
			 journal_op_name(entries[entry].op), entry_line[entry], what);
	else
		snprintf(line, sizeof line, "%s: %s", a->full, what);
	if (st.diffs <= MAX_DIFF_LINES)
		fleet_log("DIFF %s", line);
	if (diff_list)
		cJSON_AddItemToArray(diff_list, cJSON_CreateString(line));
}

/* Versions compare relative to the first pair seen (clones of a device with history). */
static void check_version(struct actor *a, int entry, int64_t rec, int64_t live, bool desired)
{
	if (rec < 0)
		return;
	if (live < 0) {
		diff(a, entry, "the hub sent no version (recorded %lld)", (long long)rec);
		return;
	}
	bool *have = desired ? &a->have_dv0 : &a->have_v0;
	int64_t *r0 = desired ? &a->dv0_rec : &a->v0_rec, *l0 = desired ? &a->dv0_live : &a->v0_live;
	if (!*have) {
		*have = true;
		*r0 = rec;
		*l0 = live;
		return;
	}
	if (rec - *r0 != live - *l0)
		diff(a, entry, "version %lld, recorded %lld (%+lld since the first, recorded %+lld)",
		     (long long)live, (long long)rec, (long long)(live - *l0), (long long)(rec - *r0));
}

/* ---- MQTT plumbing ---- */

static void sync_interest(struct actor *a)
{
	if (!a->m)
		return;
	int fd = mosquitto_socket(a->m);
	if (fd != a->fd) {
		if (a->fd >= 0)
			epoll_ctl(epfd, EPOLL_CTL_DEL, a->fd, NULL);
		a->fd = -1;
		a->ev = 0;
		if (fd < 0)
			return;
		struct epoll_event e = {.events = EPOLLIN, .data.ptr = a};
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) != 0)
			return;
		a->fd = fd;
		a->ev = EPOLLIN;
	}
	uint32_t want = EPOLLIN | (mosquitto_want_write(a->m) ? (uint32_t)EPOLLOUT : 0u);
	if (want != a->ev) {
		struct epoll_event e = {.events = want, .data.ptr = a};
		if (epoll_ctl(epfd, EPOLL_CTL_MOD, a->fd, &e) == 0)
			a->ev = want;
	}
}

/* Everything in flight on a connection that went away is lost. */
static void fail_in_flight(struct actor *a)
{
	st.failed += (uint64_t)a->npubs;
	a->npubs = 0;
	for (int i = 0; i < a->npend; i++)
		diff(a, a->pend[i].entry, "no answer: the connection went away");
	st.failed += (uint64_t)a->npend;
	a->npend = 0;
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	struct actor *a = obj;
	if (rc != 0) {
		a->state = A_FAILED;
		st.refused++;
		fleet_log("%s: connection refused: CONNACK %d (%s)", a->full, rc,
			  mosquitto_connack_string(rc));
		return;
	}
	a->state = A_UP;
	char c2d[300];
	char *subs[4] = {"$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/#",
			 "$iothub/methods/POST/#", c2d};
	int nsubs = 3;
	struct agent_ident id;
	if (!a->module[0] && actor_ident(a, NULL, &id) == SH_OK &&
	    agent_ident_c2d_filter(&id, c2d, sizeof c2d) == SH_OK)
		nsubs = 4;
	if (mosquitto_subscribe_multiple(m, NULL, nsubs, subs, 1, 0, NULL) != MOSQ_ERR_SUCCESS)
		a->state = A_READY;   /* play anyway: the answers will be missing */
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
	(void)m;
	(void)mid;
	struct actor *a = obj;
	for (int i = 0; i < n; i++)
		if (granted[i] > 2)
			fleet_log("%s: a subscription was refused", a->full);
	if (a->state == A_UP)
		a->state = A_READY;
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
	(void)m;
	(void)rc;
	struct actor *a = obj;
	if (a->state == A_FAILED)
		return;
	if (!a->asked_down && (a->state == A_UP || a->state == A_READY)) {
		st.lost++;
		fleet_log("%s: connection lost", a->full);
	} else if (!a->asked_down && a->state == A_CONNECTING) {
		st.refused++;
		fleet_log("%s: connection failed before CONNACK", a->full);
		a->state = A_FAILED;
		fail_in_flight(a);
		return;
	}
	a->state = A_DOWN;
	fail_in_flight(a);
}

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
	(void)m;
	struct actor *a = obj;
	for (int i = 0; i < a->npubs; i++) {
		if (a->pubs[i].mid != mid)
			continue;
		fleet_lat_add(&st.puback, fleet_now_ns() - a->pubs[i].sent_ns);
		st.acked++;
		a->pubs[i] = a->pubs[--a->npubs];
		return;
	}
	/* a twin or method publish: its answer is what counts */
}

static void on_twin_res(struct actor *a, const struct agent_topic *t,
			const struct mosquitto_message *msg)
{
	int status = t->status;
	int64_t rid = t->rid;
	for (int i = 0; i < a->npend; i++) {
		if ((int64_t)a->pend[i].rid != rid)
			continue;
		struct pending p = a->pend[i];
		a->pend[i] = a->pend[--a->npend];
		fleet_lat_add(&st.twin, fleet_now_ns() - p.sent_ns);
		st.twin_answered++;
		const struct journal_entry *e = &entries[p.entry];
		if (status >= 300)
			st.failed++;
		if (e->status && e->status != status)
			diff(a, p.entry, "status %d, recorded %d", status, e->status);
		int64_t live = t->version;
		if (e->op == JOURNAL_OP_TWIN_GET) {
			cJSON *doc = cJSON_ParseWithLength(msg->payload, (size_t)msg->payloadlen);
			cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "reported"), "$version");
			live = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
			cJSON_Delete(doc);
		}
		check_version(a, p.entry, e->version, live, false);
		return;
	}
}

/* The next expected hub-originated entry of this op that has not been seen (-1 if none). */
static int take_expected(struct actor *a, enum journal_op op, const char *name)
{
	for (int i = 0; i < a->nexp; i++) {
		const struct journal_entry *e = &entries[a->exp[i]];
		if (a->exp_seen[i] || e->op != op || (name && strcmp(e->name, name)))
			continue;
		a->exp_seen[i] = true;
		return a->exp[i];
	}
	return -1;
}

static cJSON *parse_payload(const struct mosquitto_message *msg)
{
	return msg->payloadlen ? cJSON_ParseWithLength(msg->payload, (size_t)msg->payloadlen) : NULL;
}

static void on_desired(struct actor *a, const struct agent_topic *t,
		       const struct mosquitto_message *msg)
{
	st.desired_received++;
	int k = take_expected(a, JOURNAL_OP_TWIN_DESIRED, NULL);
	if (k < 0) {
		diff(a, -1, "a desired patch the journal does not have (%s)", msg->topic);
		return;
	}
	cJSON *patch = parse_payload(msg);
	cJSON *ver = cJSON_DetachItemFromObjectCaseSensitive(patch, "$version");
	int64_t live = t->version;
	if (live < 0 && cJSON_IsNumber(ver))
		live = (int64_t)ver->valuedouble;
	if (!patch || !cJSON_Compare(patch, entries[k].patch, true))
		diff(a, k, "the desired patch differs from the recorded one");
	check_version(a, k, entries[k].version, live, true);
	cJSON_Delete(ver);
	cJSON_Delete(patch);
}

/*
 * A method request: answer it the way the journal's method.response to the recorded request
 * of the same name answered (status and payload); without one, answer 501 and count a
 * difference.
 */
static void on_method(struct actor *a, const struct agent_topic *t,
		      const struct mosquitto_message *msg)
{
	char nm[AGENT_ID_MAX + 1];
	snprintf(nm, sizeof nm, "%.*s", (int)t->name_len, t->name);
	int k = take_expected(a, JOURNAL_OP_METHOD_REQUEST, nm);
	int status = 501;
	char *body = NULL;
	if (k < 0) {
		diff(a, -1, "a method request \"%s\" the journal does not have", nm);
	} else {
		cJSON *payload = parse_payload(msg);
		const cJSON *rec = entries[k].payload;
		bool same = (!payload && (!rec || cJSON_IsNull(rec))) ||
			    (payload && rec && cJSON_Compare(payload, rec, true)) ||
			    (payload && cJSON_IsNull(payload) && !rec);
		if (!same)
			diff(a, k, "the method payload differs from the recorded one");
		cJSON_Delete(payload);
		for (int i = 0; i < a->nops; i++) {
			const struct journal_entry *r = &entries[a->ops[i]];
			if (r->op == JOURNAL_OP_METHOD_RESPONSE && !strcmp(r->rid, entries[k].rid)) {
				status = r->status;
				body = r->payload ? cJSON_PrintUnformatted(r->payload) : NULL;
				break;
			}
		}
	}
	char topic[300];
	const char *b = body ? body : "null";
	if (agent_topic_method_res(status, t->rid_text, t->rid_len, topic, sizeof topic) != SH_OK)
		diff(a, k, "cannot answer the method request \"%s\": its $rid is unusable", nm);
	else if (mosquitto_publish(a->m, NULL, topic, (int)strlen(b), b, 1, false) ==
		 MOSQ_ERR_SUCCESS)
		st.method_answers++;
	free(body);
}

static void on_c2d(struct actor *a, const struct mosquitto_message *msg)
{
	st.c2d_received++;
	int k = take_expected(a, JOURNAL_OP_C2D, NULL);
	if (k < 0) {
		diff(a, -1, "a C2D message the journal does not have");
		return;
	}
	const struct journal_entry *e = &entries[k];
	if ((size_t)msg->payloadlen != e->body_len ||
	    (e->body_len && memcmp(msg->payload, e->body, e->body_len)))
		diff(a, k, "the C2D body differs from the recorded one (%d bytes, recorded %zu)",
		     msg->payloadlen, e->body_len);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	(void)m;
	struct actor *a = obj;
	struct agent_topic t;
	if (!msg->topic || agent_topic_parse(msg->topic, strlen(msg->topic), &t) != SH_OK) {
		diff(a, -1, "a message on a malformed topic (%.200s)", msg->topic ? msg->topic : "");
		return;
	}
	if (t.kind == AGENT_TOPIC_TWIN_RES)
		on_twin_res(a, &t, msg);
	else if (t.kind == AGENT_TOPIC_TWIN_DESIRED)
		on_desired(a, &t, msg);
	else if (t.kind == AGENT_TOPIC_METHOD)
		on_method(a, &t, msg);
	else if (t.kind == AGENT_TOPIC_C2D)
		on_c2d(a, msg);
}

/* ---- playing ---- */

/* Create the client (first time) and start connecting with fresh credentials. */
static int start_connect(struct actor *a, const struct journal_entry *e)
{
	if (!a->m) {
		char cid[2 * SH_ID_MAX + 2];
		full_id(a->device, a->module, cid, sizeof cid);
		bool clean = e ? e->clean_session : true;
		a->m = mosquitto_new(cid, clean, a);
		if (!a->m)
			return -1;
		mosquitto_int_option(a->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
		mosquitto_int_option(a->m, MOSQ_OPT_TCP_NODELAY, 1);
		mosquitto_int_option(a->m, MOSQ_OPT_SEND_MAXIMUM, 1000);
		mosquitto_connect_callback_set(a->m, on_connect);
		mosquitto_disconnect_callback_set(a->m, on_disconnect);
		mosquitto_publish_callback_set(a->m, on_publish);
		mosquitto_subscribe_callback_set(a->m, on_subscribe);
		mosquitto_message_callback_set(a->m, on_message);
		if (ssl_ctx) {
			mosquitto_void_option(a->m, MOSQ_OPT_SSL_CTX, ssl_ctx);
			mosquitto_int_option(a->m, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
		}
	}
	const char *key = fleet_keys_get(keys, a->full, a->orig);
	if (!key) {
		fleet_log("%s: no key (add it to --keys, or use --service-cs --create)", a->full);
		a->state = A_FAILED;
		st.refused++;
		return -1;
	}
	char user[AGENT_USER_MAX], pass[AGENT_PASS_MAX];
	struct agent_ident id;
	if (actor_ident(a, key, &id) != SH_OK ||
	    agent_ident_username(&id, user, sizeof user) != SH_OK ||
	    agent_ident_password(&id, (int64_t)time(NULL) + 3600, pass, sizeof pass) != SH_OK) {
		fleet_log("%s: cannot sign a SAS token (is the key base64?)", a->full);
		a->state = A_FAILED;
		st.refused++;
		return -1;
	}
	mosquitto_username_pw_set(a->m, user, pass);
	int ka = e && e->keepalive_s >= 5 ? e->keepalive_s : opt.keepalive;
	a->asked_down = false;
	a->state = A_CONNECTING;
	int rc = mosquitto_connect(a->m, opt.host, opt.port, ka);
	if (rc != MOSQ_ERR_SUCCESS) {
		fleet_log("%s: cannot connect to %s:%d: %s", a->full, opt.host, opt.port,
			  rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		a->state = A_FAILED;
		st.refused++;
		return -1;
	}
	sync_interest(a);
	return 0;
}

static bool rate_allows(void)
{
	if (opt.rate <= 0)
		return true;
	return (double)rate_sent < opt.rate * (double)(fleet_now_ns() - rate_t0) / 1e9 + 1;
}

static void publish_telemetry(struct actor *a, const struct journal_entry *e)
{
	/* the hub stamps these itself; a device cannot send them */
	cJSON *sys = e->sys_props ? cJSON_Duplicate(e->sys_props, true) : NULL;
	static const char *const stamped[] = {"iothub-connection-device-id",
					      "iothub-connection-module-id",
					      "iothub-connection-auth-method",
					      "iothub-connection-auth-generation-id",
					      "iothub-enqueuedtime", "iothub-message-source"};
	for (size_t i = 0; sys && i < sizeof stamped / sizeof stamped[0]; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(sys, stamped[i]);
	char bag[4096], topic[5000];
	size_t blen = 0;
	if (msg_props_build(sys, e->app_props, bag, sizeof bag, &blen) != SH_OK)
		bag[0] = '\0';
	cJSON_Delete(sys);
	struct agent_ident id;
	if (actor_ident(a, NULL, &id) != SH_OK ||
	    agent_ident_telemetry_topic(&id, bag, topic, sizeof topic) != SH_OK) {
		st.sent++;
		st.failed++;
		return;
	}
	int mid = 0;
	uint64_t t = fleet_now_ns();
	int rc = mosquitto_publish(a->m, &mid, topic, (int)e->body_len, e->body, 1, false);
	st.sent++;
	if (rc != MOSQ_ERR_SUCCESS) {
		st.failed++;
		return;
	}
	if (a->npubs == a->cappubs) {
		a->cappubs = a->cappubs ? a->cappubs * 2 : 16;
		struct pub *p = realloc(a->pubs, (size_t)a->cappubs * sizeof *p);
		if (!p)
			abort();
		a->pubs = p;
	}
	a->pubs[a->npubs++] = (struct pub){mid, t};
}

static void publish_twin(struct actor *a, int entry)
{
	const struct journal_entry *e = &entries[entry];
	unsigned rid = ++a->next_rid;
	char topic[200];
	char *body = NULL;
	if (e->op == JOURNAL_OP_TWIN_GET) {
		agent_topic_twin_get(rid, topic, sizeof topic);
	} else {
		agent_topic_twin_report(rid, topic, sizeof topic);
		body = cJSON_PrintUnformatted(e->patch);
	}
	if (a->npend == a->cappend) {
		a->cappend = a->cappend ? a->cappend * 2 : 8;
		struct pending *p = realloc(a->pend, (size_t)a->cappend * sizeof *p);
		if (!p)
			abort();
		a->pend = p;
	}
	st.twin_sent++;
	st.sent++;
	int rc = mosquitto_publish(a->m, NULL, topic, body ? (int)strlen(body) : 0, body, 1, false);
	free(body);
	if (rc != MOSQ_ERR_SUCCESS) {
		st.failed++;
		return;
	}
	a->pend[a->npend++] = (struct pending){rid, entry, fleet_now_ns()};
}

/* When entry `k` is due, in monotonic nanoseconds. */
static uint64_t due_ns(int k)
{
	return start_ns + (uint64_t)((double)entries[k].t_us * 1000.0 / opt.speed);
}

/*
 * Run the actor's ops that are due, in order, as far as the connection allows. Returns the
 * time the next op is due (UINT64_MAX when none is waiting for the clock).
 */
static uint64_t advance(struct actor *a, uint64_t now)
{
	while (a->next < a->nops && !stop_flag) {
		int k = a->ops[a->next];
		const struct journal_entry *e = &entries[k];
		if (e->op == JOURNAL_OP_METHOD_RESPONSE || e->op == JOURNAL_OP_C2D_SETTLE) {
			a->next++;   /* answered when the request comes; settled by PUBACK */
			continue;
		}
		uint64_t due = due_ns(k);
		if (due > now)
			return due;
		if (a->state == A_FAILED) {
			if (e->op == JOURNAL_OP_TELEMETRY || e->op == JOURNAL_OP_TWIN_GET ||
			    e->op == JOURNAL_OP_TWIN_REPORTED) {
				st.sent++;
				st.failed++;
			}
			a->next++;
			continue;
		}
		if (e->op == JOURNAL_OP_CONNECT) {
			if (a->state == A_IDLE || a->state == A_DOWN)
				start_connect(a, e);
			a->next++;
			continue;
		}
		if (e->op == JOURNAL_OP_DISCONNECT) {
			if (a->state == A_CONNECTING || a->state == A_UP)
				return UINT64_MAX;   /* let it finish connecting first */
			if (a->state == A_READY) {
				if (a->npubs || a->npend)
					return UINT64_MAX;   /* answers first, then close */
				a->asked_down = true;
				mosquitto_disconnect(a->m);
				sync_interest(a);
			}
			a->next++;
			continue;
		}
		if (a->state == A_IDLE || a->state == A_DOWN) {
			start_connect(a, NULL);   /* the journal starts mid-session: connect first */
			continue;
		}
		if (a->state != A_READY)
			return UINT64_MAX;   /* woken by the CONNACK / SUBACK */
		if (!rate_allows())
			return now + 1000000;
		rate_sent++;
		if (e->op == JOURNAL_OP_TELEMETRY)
			publish_telemetry(a, e);
		else
			publish_twin(a, k);
		sync_interest(a);
		a->next++;
	}
	return UINT64_MAX;
}

static bool actor_settled(const struct actor *a)
{
	if (a->next < a->nops || a->npubs || a->npend)
		return a->state == A_FAILED && a->next >= a->nops;
	return true;
}

static bool expectations_met(const struct actor *a)
{
	for (int i = 0; i < a->nexp; i++)
		if (!a->exp_seen[i])
			return false;
	return true;
}

static void poll_once(int ms)
{
	struct epoll_event evs[512];
	int n = epoll_wait(epfd, evs, 512, ms);
	for (int i = 0; i < n; i++) {
		struct actor *a = evs[i].data.ptr;
		int rc = MOSQ_ERR_SUCCESS;
		if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			rc = mosquitto_loop_read(a->m, 1);
		if (rc == MOSQ_ERR_SUCCESS && (evs[i].events & EPOLLOUT) && mosquitto_socket(a->m) >= 0)
			rc = mosquitto_loop_write(a->m, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			if (a->state == A_CONNECTING) {
				fleet_log("%s: connection failed: %s", a->full, mosquitto_strerror(rc));
				st.refused++;
				a->state = A_FAILED;
			} else if (a->state == A_UP || a->state == A_READY) {
				if (!a->asked_down) {
					st.lost++;
					fleet_log("%s: connection lost: %s", a->full,
						  mosquitto_strerror(rc));
				}
				a->state = A_DOWN;
			}
			fail_in_flight(a);
			if (a->fd >= 0)
				epoll_ctl(epfd, EPOLL_CTL_DEL, a->fd, NULL);
			a->fd = -1;
			a->ev = 0;
			continue;
		}
		sync_interest(a);
	}
}

/* ---- setup and summary ---- */

/* Index of `name` in names[0..*n), added when missing. */
static int intern(char ***names, int *n, int *cap, const char *name)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp((*names)[i], name))
			return i;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		char **p = realloc(*names, (size_t)*cap * sizeof *p);
		if (!p)
			abort();
		*names = p;
	}
	(*names)[*n] = strdup(name);
	return (*n)++;
}

/*
 * One actor per recorded identity and clone: clone k of "dev1/mod" is
 * "{pattern(dev1, k)}/mod". Each gets the indices of its device-originated ops and of the
 * hub-originated ops it should expect. Returns 0 or -1 (a pattern that gives a bad id).
 */
static int make_actors(char **names, int nnames)
{
	int copies = opt.clones > 0 ? opt.clones : 1;
	nactors = nnames * copies;
	actors = calloc((size_t)nactors, sizeof *actors);
	if (!actors)
		return -1;
	for (int c = 0; c < copies; c++) {
		for (int i = 0; i < nnames; i++) {
			struct actor *a = &actors[c * nnames + i];
			char dev[SH_ID_MAX + 1];
			const char *slash = strchr(names[i], '/');
			snprintf(dev, sizeof dev, "%.*s",
				 slash ? (int)(slash - names[i]) : (int)strlen(names[i]), names[i]);
			snprintf(a->module, sizeof a->module, "%s", slash ? slash + 1 : "");
			if (opt.clones > 0) {
				if (journal_clone_id(opt.pattern, dev, (unsigned)(c + 1), a->device,
						     sizeof a->device, NULL) != SH_OK) {
					fleet_log("--clone-pattern '%s' gives no valid device id for %s "
						  "(it needs {n}; ids are at most %d characters)",
						  opt.pattern, dev, SH_ID_MAX);
					return -1;
				}
			} else {
				snprintf(a->device, sizeof a->device, "%s", dev);
			}
			full_id(a->device, a->module, a->full, sizeof a->full);
			a->orig = names[i];
			a->fd = -1;
			a->ops = malloc((size_t)nentries * sizeof *a->ops);
			a->exp = malloc((size_t)nentries * sizeof *a->exp);
			a->exp_seen = calloc((size_t)nentries + 1, sizeof *a->exp_seen);
			if (!a->ops || !a->exp || !a->exp_seen)
				return -1;
			for (int k = 0; k < nentries; k++) {
				char id[2 * SH_ID_MAX + 2];
				full_id(entries[k].device, entries[k].module, id, sizeof id);
				if (strcmp(id, names[i]))
					continue;
				if (journal_op_from_device(entries[k].op))
					a->ops[a->nops++] = k;
				else
					a->exp[a->nexp++] = k;
			}
		}
	}
	return 0;
}

static void print_summary(double secs, int nnames)
{
	uint64_t expected_missing = 0;
	for (int i = 0; i < nactors; i++) {
		struct actor *a = &actors[i];
		for (int k = 0; k < a->nexp; k++)
			if (!a->exp_seen[k]) {
				expected_missing++;
				diff(a, a->exp[k], "expected from the hub, never came");
			}
		for (int k = 0; k < a->npend; k++)
			diff(a, a->pend[k].entry, "no answer from the hub");
		st.failed += (uint64_t)(a->npubs + a->npend);
	}
	if (opt.json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "identities", nactors);
		cJSON_AddNumberToObject(o, "recordedIdentities", nnames);
		cJSON_AddNumberToObject(o, "seconds", secs);
		cJSON_AddNumberToObject(o, "sent", (double)st.sent);
		cJSON_AddNumberToObject(o, "acknowledged", (double)(st.acked + st.twin_answered));
		cJSON_AddNumberToObject(o, "failed", (double)st.failed);
		cJSON_AddNumberToObject(o, "refused", st.refused);
		cJSON_AddNumberToObject(o, "lost", st.lost);
		cJSON_AddNumberToObject(o, "skippedUnknownOps", (double)st.skipped_unknown);
		cJSON *p = cJSON_AddObjectToObject(o, "pubackMs");
		cJSON *t = cJSON_AddObjectToObject(o, "twinMs");
		static const double pcts[] = {50, 90, 99, 100};
		static const char *const pn[] = {"p50", "p90", "p99", "max"};
		for (int i = 0; i < 4; i++) {
			cJSON_AddNumberToObject(p, pn[i], fleet_lat_pct_us(&st.puback, pcts[i]) / 1000);
			cJSON_AddNumberToObject(t, pn[i], fleet_lat_pct_us(&st.twin, pcts[i]) / 1000);
		}
		if (opt.check) {
			cJSON_AddNumberToObject(o, "differences", (double)st.diffs);
			cJSON_AddItemToObject(o, "diff", diff_list);
			diff_list = NULL;
		}
		char *s = cJSON_PrintUnformatted(o);
		printf("%s\n", s ? s : "{}");
		free(s);
		cJSON_Delete(o);
		return;
	}
	printf("replayed %s: %d identities (%d recorded x %d), %.2f s at speed %g\n", opt.journal,
	       nactors, nnames, opt.clones > 0 ? opt.clones : 1, secs, opt.speed);
	printf("  sent %llu, acknowledged %llu, failed %llu (connections refused %d, lost %d)\n",
	       (unsigned long long)st.sent, (unsigned long long)(st.acked + st.twin_answered),
	       (unsigned long long)st.failed, st.refused, st.lost);
	printf("  hub sent: %llu desired patches, %llu method requests (answered), %llu C2D\n",
	       (unsigned long long)st.desired_received, (unsigned long long)st.method_answers,
	       (unsigned long long)st.c2d_received);
	printf("  PUBACK latency      p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%zu)\n",
	       fleet_lat_pct_us(&st.puback, 50) / 1000, fleet_lat_pct_us(&st.puback, 90) / 1000,
	       fleet_lat_pct_us(&st.puback, 99) / 1000, fleet_lat_pct_us(&st.puback, 100) / 1000,
	       st.puback.n);
	printf("  twin round trip     p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%zu)\n",
	       fleet_lat_pct_us(&st.twin, 50) / 1000, fleet_lat_pct_us(&st.twin, 90) / 1000,
	       fleet_lat_pct_us(&st.twin, 99) / 1000, fleet_lat_pct_us(&st.twin, 100) / 1000,
	       st.twin.n);
	if (st.skipped_unknown)
		printf("  skipped %llu lines with ops this fleet does not know\n",
		       (unsigned long long)st.skipped_unknown);
	if (opt.check)
		printf("  check: %llu difference%s%s\n", (unsigned long long)st.diffs,
		       st.diffs == 1 ? "" : "s",
		       st.diffs > MAX_DIFF_LINES ? " (the first 20 are listed above)" : "");
	fflush(stdout);
}

/* Release the entries read so far and the header (also after a failed read). */
static void free_journal(struct journal_header *h)
{
	for (int k = 0; k < nentries; k++)
		journal_entry_free(&entries[k]);
	free(entries);
	free(entry_line);
	entries = NULL;
	entry_line = NULL;
	nentries = 0;
	journal_header_free(h);
}

int fleet_replay_main(int argc, char **argv)
{
	parse_args(argc, argv);
	struct journal_header h;
	memset(&h, 0, sizeof h);
	if (read_journal(opt.journal, &h) != 0) {
		free_journal(&h);
		return FLEET_EXIT_USAGE;
	}
	char **names = NULL;
	int nnames = 0, capn = 0;
	for (int k = 0; k < nentries; k++) {
		char id[2 * SH_ID_MAX + 2];
		full_id(entries[k].device, entries[k].module, id, sizeof id);
		intern(&names, &nnames, &capn, id);
	}
	if (make_actors(names, nnames) != 0)
		return FLEET_EXIT_USAGE;
	if (opt.check)
		diff_list = cJSON_CreateArray();

	/* credentials */
	static struct agent_service svc;
	if (opt.service_cs) {
		const char *why = NULL;
		if (agent_service_from_cs(opt.service_cs, &svc, &why) != SH_OK) {
			fleet_log("--service-cs: %s", why);
			return FLEET_EXIT_USAGE;
		}
	}
	hub_host = opt.hub_host ? opt.hub_host : svc.host[0] ? svc.host : opt.host;
	keys = opt.keys_file ? fleet_keys_load(opt.keys_file) : fleet_keys_new();
	if (!keys)
		return FLEET_EXIT_USAGE;
	if (opt.create) {
		char **ids = malloc((size_t)(2 * nactors) * sizeof *ids);
		int nids = 0;
		if (!ids)
			return FLEET_EXIT_FAIL;
		for (int pass = 0; pass < 2; pass++)   /* devices first, then modules */
			for (int i = 0; i < nactors; i++) {
				struct actor *a = &actors[i];
				if (pass == 0) {
					bool seen = false;
					for (int j = 0; j < nids && !seen; j++)
						seen = !strcmp(ids[j], a->device);
					if (!seen)
						ids[nids++] = a->device;
				} else if (a->module[0]) {
					ids[nids++] = a->full;
				}
			}
		int rc = fleet_registry_create(&svc, opt.https_host, opt.https_port, opt.ca,
					       opt.insecure, ids, nids, keys);
		free(ids);
		if (rc != 0)
			return FLEET_EXIT_USAGE;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	fleet_raise_fd_limit(nactors);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!opt.tcp && !(ssl_ctx = fleet_ssl_ctx(opt.ca, opt.host, opt.insecure)))
		return FLEET_EXIT_USAGE;

	start_ns = rate_t0 = fleet_now_ns();
	uint64_t last_misc = start_ns, all_played_ns = 0;
	for (;;) {
		uint64_t now = fleet_now_ns(), next = UINT64_MAX;
		bool settled = true, met = true;
		for (int i = 0; i < nactors; i++) {
			uint64_t d = advance(&actors[i], now);
			if (d < next)
				next = d;
			settled = settled && actor_settled(&actors[i]);
			met = met && expectations_met(&actors[i]);
		}
		if (stop_flag)
			break;
		if (settled && !all_played_ns)
			all_played_ns = now;
		if (settled && (met || now - all_played_ns > (uint64_t)(opt.wait_s * 1e9)))
			break;
		if (now - last_misc > 1000000000u) {
			for (int i = 0; i < nactors; i++)
				if (actors[i].m && actors[i].state != A_FAILED) {
					mosquitto_loop_misc(actors[i].m);
					sync_interest(&actors[i]);
				}
			last_misc = now;
			fleet_progress("replay %.0f s: sent %llu, acked %llu, failed %llu, %d identities",
				       (double)(now - start_ns) / 1e9, (unsigned long long)st.sent,
				       (unsigned long long)(st.acked + st.twin_answered),
				       (unsigned long long)st.failed, nactors);
		}
		int ms = 50;
		if (next != UINT64_MAX)
			ms = next <= now ? 0 : (int)((next - now) / 1000000u) + 1;
		if (ms > 50)
			ms = 50;
		poll_once(ms);
	}
	fleet_progress_end();
	double secs = (double)(fleet_now_ns() - start_ns) / 1e9;
	for (int i = 0; i < nactors; i++)
		if (actors[i].m && (actors[i].state == A_READY || actors[i].state == A_UP)) {
			actors[i].asked_down = true;
			mosquitto_disconnect(actors[i].m);
			sync_interest(&actors[i]);
		}
	for (int k = 0; k < 5; k++)
		poll_once(2);
	print_summary(secs, nnames);
	bool bad = st.failed || st.refused || st.lost || (opt.check && st.diffs);

	for (int i = 0; i < nactors; i++) {
		if (actors[i].m)
			mosquitto_destroy(actors[i].m);
		free(actors[i].ops);
		free(actors[i].exp);
		free(actors[i].exp_seen);
		free(actors[i].pubs);
		free(actors[i].pend);
	}
	free(actors);
	for (int i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free_journal(&h);
	fleet_keys_free(keys);
	fleet_lat_free(&st.puback);
	fleet_lat_free(&st.twin);
	cJSON_Delete(diff_list);
	if (ssl_ctx)
		SSL_CTX_free(ssl_ctx);
	mosquitto_lib_cleanup();
	return stop_flag ? FLEET_EXIT_FAIL : bad ? FLEET_EXIT_FAIL : FLEET_EXIT_OK;
}
