/*
 * secagent.c: the secagent program: options, the device-identity bootstrap, the module twin
 * (configuration in, effective configuration out), the collection and send schedule, and clean
 * shutdown. The glue room: it owns the clock and the signals; it never parses a twin or a /proc
 * file itself (sa_config, sa_parse do) and never builds JSON messages by hand (sa_event does).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent_https.h"
#include "agent_ident.h"
#include "agent_mqtt.h"
#include "core/sas.h"
#include "sa_collect.h"
#include "sa_config.h"
#include "sa_event.h"
#include "sa_synth.h"

#define AGENT_VERSION "0.1.0"
#define MODULE_ID "azureiotsecurity"
#define BOOTSTRAP_API "2018-06-30"

static const char usage[] =
	"usage: secagent [options]\n"
	"\n"
	"The reference security agent of simhub: connects to an IoT Hub (or simhub) as the\n"
	"azureiotsecurity module, applies the configuration of its module twin, reports the\n"
	"effective configuration, and sends security messages about this Linux machine.\n"
	"\n"
	"Identity (one of):\n"
	"  -c, --connection-string CS  a module connection string (ModuleId=azureiotsecurity), or a\n"
	"                              device connection string: the agent then reads its module's\n"
	"                              key over HTTPS as the device (device-identity bootstrap)\n"
	"                              (default: $SECAGENT_CONNECTION_STRING)\n"
	"Connection:\n"
	"      --ca FILE               PEM CA certificate to trust (default: the system store)\n"
	"      --host NAME             host to dial (default: GatewayHostName, else HostName)\n"
	"      --mqtts-port N          MQTT over TLS port (default 8883)\n"
	"      --mqtt-port N           plain MQTT over TCP on port N instead of TLS (debugging)\n"
	"      --https-port N          HTTPS port of the bootstrap (default 443)\n"
	"      --sas-ttl SECONDS       lifetime of each SAS token; renewed by reconnecting at 80%\n"
	"                              of it (default 3600)\n"
	"      --twin-timeout SECONDS  how long to wait for the module twin at start (default 30)\n"
	"Collection:\n"
	"      --synthetic SEED        deterministic made-up events instead of the collectors\n"
	"      --poll SECONDS          period of the triggered collectors (processes, logins;\n"
	"                              default 10)\n"
	"      --proc DIR, --etc DIR   roots the collectors read (default /proc, /etc)\n"
	"      --auth-log FILE         sshd log for Login events (default /var/log/auth.log;\n"
	"                              \"\" to disable)\n"
	"      --agent-id GUID         AgentId of the messages (default: from /etc/machine-id)\n"
	"Run:\n"
	"      --once                  connect, apply the twin, collect once, send everything,\n"
	"                              disconnect and exit\n"
	"  -h, --help                  this text\n"
	"      --version               print the agent version\n"
	"\n"
	"Exit status: 0 on success or SIGTERM/SIGINT, 1 when the agent cannot run (bad credentials,\n"
	"no twin within the timeout, bootstrap refused), 2 on a usage error. One line per action is\n"
	"logged to stderr.\n";

struct opts {
	const char *cs, *ca, *host, *agent_id, *proc, *etc, *auth_log;
	int mqtts_port, mqtt_port, https_port, sas_ttl, twin_timeout, poll_s;
	bool synthetic, once;
	uint64_t seed;
};

struct agent {
	struct opts o;
	struct agent_ident id;
	struct agent_mqtt *mq;
	struct sa_config cfg;
	bool have_twin;
	unsigned twin_rid;
	struct sa_queues qs;
	struct sa_sched sched;
	struct sa_envelope env;
	struct sa_rng rng;
	struct sa_synth synth;
	struct sa_collector col;
	uint64_t sent, under4k, failed;   /* MessageStatistics counters since the last report */
	uint64_t total_sent;
	int64_t last_poll_us;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Seconds east of UTC of the local zone now (no tm_gmtoff: it is not POSIX). */
static int32_t tz_offset_s(void)
{
	time_t t = time(NULL);
	struct tm lt, gt;
	localtime_r(&t, &lt);
	gmtime_r(&t, &gt);
	int days = lt.tm_yday - gt.tm_yday;
	if (lt.tm_year != gt.tm_year)
		days = lt.tm_year > gt.tm_year ? 1 : -1;
	return (int32_t)(days * 86400 + (lt.tm_hour - gt.tm_hour) * 3600 + (lt.tm_min - gt.tm_min) * 60);
}

static bool parse_int(const char *s, int lo, int hi, int *out)
{
	char *e;
	errno = 0;
	long v = strtol(s, &e, 10);
	if (errno || e == s || *e || v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

static bool random_seed(uint64_t *out)
{
	FILE *f = fopen("/dev/urandom", "rb");
	if (!f)
		return false;
	size_t n = fread(out, sizeof *out, 1, f);
	fclose(f);
	return n == 1;
}

/* AgentId: --agent-id, else /etc/machine-id as a GUID, else random. */
static void choose_agent_id(struct agent *a)
{
	if (a->o.agent_id) {
		snprintf(a->env.agent_id, sizeof a->env.agent_id, "%s", a->o.agent_id);
		return;
	}
	if (a->o.synthetic) {
		struct sa_rng r;
		sa_rng_seed(&r, a->o.seed ^ 0x5ec0a9e47ull);
		sa_guid(&r, a->env.agent_id);
		return;
	}
	size_t len = 0;
	char *mid = sa_read_file("/etc/machine-id", 128, &len);
	if (mid && len >= 32) {
		snprintf(a->env.agent_id, sizeof a->env.agent_id, "%.8s-%.4s-%.4s-%.4s-%.12s", mid,
			 mid + 8, mid + 12, mid + 16, mid + 20);
	} else {
		sa_guid(&a->rng, a->env.agent_id);
	}
	free(mid);
}

/*
 * The device-identity bootstrap (security-agent.md §2.3): GET the azureiotsecurity module as
 * the device, with a SAS token whose sr is the bare hub host name (no skn), and take its
 * primary key. On success the identity becomes the module's.
 */
static bool bootstrap(struct agent *a)
{
	char token[SAS_SR_MAX + 512], path[512];
	if (sas_build(a->id.host, a->id.key, NULL, (int64_t)time(NULL) + 3600, token, sizeof token,
		      NULL) != SH_OK) {
		agent_log("bootstrap: cannot sign with the device key");
		return false;
	}
	snprintf(path, sizeof path, "/devices/%s/modules/" MODULE_ID "?api-version=" BOOTSTRAP_API,
		 a->id.device_id);
	struct agent_https_req req = {
		.host = a->o.host ? a->o.host : agent_ident_dial_host(&a->id),
		.port = a->o.https_port,
		.ca_file = a->o.ca,
		.method = "GET",
		.path = path,
		.authorization = token,
	};
	agent_log("bootstrap: GET https://%s:%d%s as device %s", req.host, req.port, path,
		  a->id.device_id);
	struct agent_https_res res;
	if (agent_https_request(&req, &res) != SH_OK)
		return false;
	bool ok = false;
	if (res.status == 200) {
		cJSON *j = cJSON_ParseWithLength(res.body, res.len);
		const cJSON *auth = cJSON_GetObjectItemCaseSensitive(j, "authentication");
		const cJSON *sym = cJSON_GetObjectItemCaseSensitive(auth, "symmetricKey");
		const cJSON *pk = cJSON_GetObjectItemCaseSensitive(sym, "primaryKey");
		if (cJSON_IsString(pk) && pk->valuestring[0] &&
		    strlen(pk->valuestring) < sizeof a->id.key) {
			snprintf(a->id.key, sizeof a->id.key, "%s", pk->valuestring);
			snprintf(a->id.module_id, sizeof a->id.module_id, MODULE_ID);
			ok = true;
			agent_log("bootstrap: got the key of %s/" MODULE_ID, a->id.device_id);
		} else {
			agent_log("bootstrap: the module has no symmetric primary key");
		}
		cJSON_Delete(j);
	} else {
		agent_log("bootstrap: HTTP %d (%s): %.200s", res.status,
			  res.status == 401 ? "Authentication / Unauthorized"
			  : res.status == 404 ? "Authentication / Not Found" : "Other",
			  res.body);
	}
	free(res.body);
	return ok;
}

/* Make events of `kind` from items (consumed) and queue them; logs what happened. */
static void queue_items(struct agent *a, enum sa_kind kind, cJSON *items)
{
	if (!items)
		return;
	if (sa_queue_for(&a->cfg, kind) < 0) {
		cJSON_Delete(items);
		return;
	}
	struct sa_event *evs = NULL;
	size_t skipped = 0;
	sh_rc rc = sa_event_make(kind, items, now_us(), tz_offset_s(), &a->rng, &a->env,
				 (size_t)a->cfg.max_message_bytes, &evs, &skipped);
	int n_items = cJSON_GetArraySize(items);
	cJSON_Delete(items);
	if (rc != SH_OK) {
		agent_log("cannot make %s events: %s", sa_kind_name(kind), sh_rc_str(rc));
		return;
	}
	size_t n = 0;
	for (struct sa_event *e = evs; e; e = e->next)
		n++;
	if (!n)
		return;
	size_t dropped = sa_queues_push(&a->qs, &a->cfg, evs);
	agent_log("collected %s: %d item(s) in %zu event(s)%s%s", sa_kind_name(kind), n_items, n,
		  dropped ? ", some dropped (cache full)" : "", skipped ? ", oversize items left out" : "");
}

static void queue_config_errors(struct agent *a, const struct sa_config_report *rep)
{
	if (!rep->n_errors)
		return;
	cJSON *items = cJSON_CreateArray();
	for (size_t i = 0; items && i < rep->n_errors; i++) {
		const struct sa_config_error *e = &rep->errors[i];
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(items, o) ||
		    !cJSON_AddStringToObject(o, "ConfigurationName", e->name) ||
		    !cJSON_AddStringToObject(o, "ErrorType", e->type) ||
		    !cJSON_AddStringToObject(o, "UsedConfiguration", e->used) ||
		    !cJSON_AddStringToObject(o, "Message", e->message)) {
			cJSON_Delete(items);
			return;
		}
		agent_log("configuration %s: %s (%s)", e->type, e->name, e->message);
	}
	queue_items(a, SA_CONFIGURATION_ERROR, items);
}

/*
 * Apply `desired` (the twin's desired section, or one desired patch read on its own as the
 * real agents read it, §2.5), report the effective configuration, queue the findings.
 */
static void apply_and_report(struct agent *a, const cJSON *desired)
{
	struct sa_config_report rep;
	sh_rc rc = sa_config_apply(&a->cfg, desired, &rep);
	char h[SECCONFIG_DURATION_TEXT], l[SECCONFIG_DURATION_TEXT], s[SECCONFIG_DURATION_TEXT];
	agent_log("configuration %s: high %s, low %s, snapshot %s, message %lld B, cache %lld B",
		  rc == SH_OK ? "applied" : "rejected, previous one kept",
		  secconfig_duration_format(a->cfg.high_freq_ms, h),
		  secconfig_duration_format(a->cfg.low_freq_ms, l),
		  secconfig_duration_format(a->cfg.snapshot_ms, s), (long long)a->cfg.max_message_bytes,
		  (long long)a->cfg.max_cache_bytes);
	queue_config_errors(a, &rep);
	cJSON *rep_doc = sa_config_reported(&a->cfg);
	char *text = rep_doc ? cJSON_PrintUnformatted(rep_doc) : NULL;
	cJSON_Delete(rep_doc);
	unsigned rid = 0;
	if (text && agent_mqtt_twin_report(a->mq, text, &rid) == SH_OK)
		agent_log("reported the effective configuration ($rid %u, %zu bytes)", rid, strlen(text));
	else
		agent_log("could not report the effective configuration (will on the next change)");
	cJSON_free(text);
}

static void on_ready(void *ctx, unsigned connections)
{
	struct agent *a = ctx;
	if (agent_mqtt_twin_get(a->mq, &a->twin_rid) == SH_OK)
		agent_log("twin GET sent ($rid %u, connection %u)", a->twin_rid, connections);
}

static void on_twin_res(void *ctx, int status, int64_t rid, int64_t version, const char *body,
			size_t len)
{
	struct agent *a = ctx;
	if (rid != (int64_t)a->twin_rid) {
		agent_log("twin answer %d for $rid %lld%s", status, (long long)rid,
			  status / 100 == 2 ? " (reported properties accepted)" : "");
		return;
	}
	a->twin_rid = 0;
	if (status != 200) {
		agent_log("twin GET failed with status %d", status);
		return;
	}
	cJSON *twin = cJSON_ParseWithLength(body, len);
	cJSON *desired = cJSON_DetachItemFromObjectCaseSensitive(twin, "desired");
	cJSON_Delete(twin);
	if (!cJSON_IsObject(desired)) {
		agent_log("the twin has no desired section; using the defaults");
		cJSON_Delete(desired);
		desired = cJSON_CreateObject();
	}
	a->have_twin = true;
	/* A twin GET answer carries no $version in its topic (only reported-patch answers do):
	 * the desired section's own $version says which configuration this is. */
	const cJSON *dv = cJSON_GetObjectItemCaseSensitive(desired, "$version");
	agent_log("twin received (desired $version %lld)",
		  cJSON_IsNumber(dv) ? (long long)dv->valuedouble : (long long)version);
	apply_and_report(a, desired);
	cJSON_Delete(desired);
}

static void on_desired(void *ctx, int64_t version, const char *body, size_t len)
{
	struct agent *a = ctx;
	cJSON *patch = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(patch)) {
		agent_log("ignoring a desired patch that is not a JSON object");
		cJSON_Delete(patch);
		return;
	}
	/* read on its own, as a whole configuration: keys it leaves out go back to their defaults */
	agent_log("desired patch received ($version %lld): applied as the whole configuration",
		  (long long)version);
	apply_and_report(a, patch);
	cJSON_Delete(patch);
}

static void on_lost(void *ctx, const char *why)
{
	(void)ctx;
	agent_log("events stay queued while disconnected (%s)", why);
}

static cJSON *snapshot_items(struct agent *a, enum sa_kind kind)
{
	if (a->o.synthetic)
		return sa_synth_items(&a->synth, kind);
	const char *why = "";
	cJSON *items = NULL;
	switch (kind) {
	case SA_LISTENING_PORTS:
		items = sa_collect_listening(&a->col, &why);
		break;
	case SA_LOCAL_USERS:
		items = sa_collect_users(&a->col, &why);
		break;
	case SA_SYSTEM_INFORMATION:
		items = sa_collect_sysinfo(&a->col, &why);
		break;
	case SA_FIREWALL_CONFIGURATION:
		items = sa_collect_firewall(&a->col, &why);
		break;
	default:
		break;
	}
	if (!items && why[0])
		agent_log("skipping %s: %s", sa_kind_name(kind), why);
	return items;
}

static void collect_snapshot(struct agent *a)
{
	static const enum sa_kind snaps[] = {SA_LISTENING_PORTS, SA_LOCAL_USERS,
					     SA_SYSTEM_INFORMATION, SA_FIREWALL_CONFIGURATION};
	for (size_t i = 0; i < sizeof snaps / sizeof snaps[0]; i++) {
		if (sa_queue_for(&a->cfg, snaps[i]) >= 0)
			queue_items(a, snaps[i], snapshot_items(a, snaps[i]));
	}
	/* the agent's own statistics (§2.7), counters reset after each report */
	if (sa_queue_for(&a->cfg, SA_DROPPED_EVENTS_STATISTICS) >= 0)
		queue_items(a, SA_DROPPED_EVENTS_STATISTICS, sa_queues_take_dropped(&a->qs));
	if (sa_queue_for(&a->cfg, SA_MESSAGE_STATISTICS) >= 0) {
		cJSON *items = cJSON_CreateArray();
		cJSON *o = items ? cJSON_CreateObject() : NULL;
		if (o && !cJSON_AddItemToArray(items, o)) {
			cJSON_Delete(o);
			o = NULL;
		}
		if (o && cJSON_AddNumberToObject(o, "MessagesSent", (double)a->sent) &&
		    cJSON_AddNumberToObject(o, "MessagesUnder4KB", (double)a->under4k) &&
		    cJSON_AddNumberToObject(o, "TotalFailed", (double)a->failed)) {
			a->sent = a->under4k = a->failed = 0;
			queue_items(a, SA_MESSAGE_STATISTICS, items);
		} else {
			cJSON_Delete(items);
		}
	}
}

static void collect_triggered(struct agent *a)
{
	if (a->o.synthetic) {
		static const enum sa_kind trig[] = {SA_PROCESS_CREATE, SA_PROCESS_TERMINATE,
						    SA_CONNECTION_CREATE, SA_LOGIN};
		for (size_t i = 0; i < sizeof trig / sizeof trig[0]; i++) {
			cJSON *items = sa_synth_items(&a->synth, trig[i]);
			queue_items(a, trig[i], items);
		}
		return;
	}
	cJSON *created = NULL, *terminated = NULL;
	if (sa_collect_processes(&a->col, &created, &terminated) == SH_OK) {
		queue_items(a, SA_PROCESS_CREATE, created);
		queue_items(a, SA_PROCESS_TERMINATE, terminated);
	}
	const char *why = "";
	cJSON *logins = sa_collect_logins(&a->col, &why);
	if (logins)
		queue_items(a, SA_LOGIN, logins);
}

/* Send one message from queue `due`; false when there was nothing to send or sending failed. */
static bool send_one(struct agent *a, enum sa_qid due)
{
	char *msg = NULL;
	size_t len = 0, n = 0;
	if (sa_batch_build(&a->qs, due, (size_t)a->cfg.max_message_bytes, &a->env, &msg, &len, &n) !=
	    SH_OK)
		return false;
	sh_rc rc = agent_mqtt_send(a->mq, SA_SECURITY_BAG, msg, len);
	free(msg);
	if (rc != SH_OK) {
		a->failed++;
		agent_log("security message of %zu event(s) lost: %s", n, sh_rc_str(rc));
		return false;
	}
	a->sent++;
	a->total_sent++;
	if (len < 4096)
		a->under4k++;
	agent_log("sent a %s-priority security message: %zu event(s), %zu bytes",
		  due == SA_Q_HIGH ? "high" : "low", n, len);
	return true;
}

static int run(struct agent *a)
{
	int64_t deadline = now_us() + (int64_t)a->o.twin_timeout * 1000000;
	while (!stop_flag && !a->have_twin) {
		if (agent_mqtt_service(a->mq, 100) == SH_E_UNAUTHORIZED) {
			agent_log("the hub refused the credentials; giving up");
			return 1;
		}
		if (now_us() > deadline) {
			agent_log("Remote Configuration / Timeout: no module twin within %d s",
				  a->o.twin_timeout);
			return 1;
		}
	}
	if (stop_flag)
		return 0;
	agent_log("agent initialized (AgentId %s)", a->env.agent_id);
	sa_sched_start(&a->sched, now_us());
	a->last_poll_us = now_us();
	if (!a->o.synthetic)
		collect_triggered(a);   /* the baseline of the process collector */
	if (a->o.once) {
		collect_snapshot(a);
		collect_triggered(a);
		while (agent_mqtt_ready(a->mq) && (send_one(a, SA_Q_HIGH) || send_one(a, SA_Q_LOW)))
			agent_mqtt_service(a->mq, 0);
		return 0;
	}
	while (!stop_flag) {
		agent_mqtt_service(a->mq, 200);
		int64_t now = now_us();
		if (sa_sched_snapshot_due(&a->sched, &a->cfg, now)) {
			a->sched.last_snapshot_us = now;
			collect_snapshot(a);
		}
		if (now - a->last_poll_us >= (int64_t)a->o.poll_s * 1000000) {
			a->last_poll_us = now;
			collect_triggered(a);
		}
		if (!agent_mqtt_ready(a->mq))
			continue;
		int due = sa_sched_due(&a->sched, &a->cfg, &a->qs, now);
		if (due >= 0) {
			send_one(a, (enum sa_qid)due);
			if (due == SA_Q_HIGH)
				a->sched.last_high_us = now;
			else
				a->sched.last_low_us = now;
		}
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_CA = 256, O_HOST, O_MQTTS, O_MQTT, O_HTTPS, O_TTL, O_TWIN, O_SYN, O_POLL, O_PROC,
	       O_ETC, O_AUTH, O_AGENT, O_ONCE, O_VERSION };
	static const struct option lo[] = {
		{"connection-string", required_argument, NULL, 'c'},
		{"ca", required_argument, NULL, O_CA},
		{"host", required_argument, NULL, O_HOST},
		{"mqtts-port", required_argument, NULL, O_MQTTS},
		{"mqtt-port", required_argument, NULL, O_MQTT},
		{"https-port", required_argument, NULL, O_HTTPS},
		{"sas-ttl", required_argument, NULL, O_TTL},
		{"twin-timeout", required_argument, NULL, O_TWIN},
		{"synthetic", required_argument, NULL, O_SYN},
		{"poll", required_argument, NULL, O_POLL},
		{"proc", required_argument, NULL, O_PROC},
		{"etc", required_argument, NULL, O_ETC},
		{"auth-log", required_argument, NULL, O_AUTH},
		{"agent-id", required_argument, NULL, O_AGENT},
		{"once", no_argument, NULL, O_ONCE},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, O_VERSION},
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof *o);
	o->mqtts_port = 8883;
	o->https_port = 443;
	o->sas_ttl = 3600;
	o->twin_timeout = 30;
	o->poll_s = 10;
	o->cs = getenv("SECAGENT_CONNECTION_STRING");
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:h", lo, NULL)) != -1) {
		const char *bad = NULL;
		switch (c) {
		case 'c': o->cs = optarg; break;
		case O_CA: o->ca = optarg; break;
		case O_HOST: o->host = optarg; break;
		case O_MQTTS: if (!parse_int(optarg, 1, 65535, &o->mqtts_port)) bad = "--mqtts-port"; break;
		case O_MQTT: if (!parse_int(optarg, 1, 65535, &o->mqtt_port)) bad = "--mqtt-port"; break;
		case O_HTTPS: if (!parse_int(optarg, 1, 65535, &o->https_port)) bad = "--https-port"; break;
		case O_TTL: if (!parse_int(optarg, 10, 365 * 86400, &o->sas_ttl)) bad = "--sas-ttl"; break;
		case O_TWIN: if (!parse_int(optarg, 1, 3600, &o->twin_timeout)) bad = "--twin-timeout"; break;
		case O_POLL: if (!parse_int(optarg, 1, 86400, &o->poll_s)) bad = "--poll"; break;
		case O_SYN: {
			char *e;
			errno = 0;
			unsigned long long v = strtoull(optarg, &e, 10);
			if (errno || e == optarg || *e || optarg[0] == '-')
				bad = "--synthetic";
			o->seed = v;
			o->synthetic = true;
			break;
		}
		case O_PROC: o->proc = optarg; break;
		case O_ETC: o->etc = optarg; break;
		case O_AUTH: o->auth_log = optarg; break;
		case O_AGENT:
			if (strlen(optarg) != 36)
				bad = "--agent-id (a GUID of 36 characters)";
			o->agent_id = optarg;
			break;
		case O_ONCE: o->once = true; break;
		case 'h': fputs(usage, stdout); exit(0);
		case O_VERSION: printf("secagent %s\n", AGENT_VERSION); exit(0);
		default:
			fprintf(stderr, "secagent: unknown option or missing value: %s\n(see secagent --help)\n",
				argv[optind - 1]);
			return 2;
		}
		if (bad) {
			fprintf(stderr, "secagent: bad value for %s: %s\n", bad, optarg);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "secagent: unexpected argument: %s (see secagent --help)\n", argv[optind]);
		return 2;
	}
	if (!o->cs || !o->cs[0]) {
		fprintf(stderr, "secagent: no connection string: use --connection-string or "
				"SECAGENT_CONNECTION_STRING (see secagent --help)\n");
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	agent_log_init("secagent");
	static struct agent a;
	int rc = parse_opts(argc, argv, &a.o);
	if (rc)
		return rc;
	const char *why = "";
	if (agent_ident_from_cs(a.o.cs, &a.id, &why) != SH_OK) {
		fprintf(stderr, "secagent: bad connection string: %s\n", why);
		return 2;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	uint64_t seed = a.o.seed;
	if (!a.o.synthetic && !random_seed(&seed))
		seed = (uint64_t)now_us() ^ (uint64_t)getpid();
	sa_rng_seed(&a.rng, seed);
	sa_synth_init(&a.synth, a.o.seed);
	sa_config_default(&a.cfg);
	snprintf(a.env.agent_version, sizeof a.env.agent_version, "%s", AGENT_VERSION);
	choose_agent_id(&a);
	struct sa_sources src;
	sa_sources_default(&src);
	if (a.o.proc)
		snprintf(src.proc, sizeof src.proc, "%s", a.o.proc);
	if (a.o.etc)
		snprintf(src.etc, sizeof src.etc, "%s", a.o.etc);
	if (a.o.auth_log)
		snprintf(src.auth_log, sizeof src.auth_log, "%s", a.o.auth_log);
	sa_collector_init(&a.col, &src);

	if (!a.id.module_id[0]) {
		if (!bootstrap(&a))
			return 1;
	} else if (strcmp(a.id.module_id, MODULE_ID) != 0) {
		agent_log("note: connecting as module %s, not " MODULE_ID, a.id.module_id);
	}
	struct agent_mqtt_opts mo = {
		.dial_host = a.o.host,
		.port = a.o.mqtt_port ? a.o.mqtt_port : a.o.mqtts_port,
		.ca_file = a.o.ca,
		.tls = a.o.mqtt_port == 0,
		.sas_ttl_s = a.o.sas_ttl,
	};
	struct agent_mqtt_cbs cbs = {&a, on_ready, on_twin_res, on_desired, on_lost};
	a.mq = agent_mqtt_new(&a.id, &mo, &cbs);
	if (!a.mq)
		return 1;
	rc = run(&a);
	agent_mqtt_disconnect(a.mq, 5000);
	agent_log("exiting: %llu security message(s) sent, %zu event byte(s) still queued",
		  (unsigned long long)a.total_sent, sa_queues_bytes(&a.qs));
	agent_mqtt_free(a.mq);
	sa_queues_clear(&a.qs);
	sa_collector_free(&a.col);
	return rc;
}
