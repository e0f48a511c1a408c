/*
 * secmsg_bench.c: security-message ingestion through the hub (issue 5). Sends security
 * messages of about 10 events through hub_telemetry (the call the MQTT and HTTPS paths make),
 * in held batches as the event loop does, then plain telemetry of the same bodies, each on a
 * fresh file database; prints messages/s, events/s and the ratio. Every message is distinct:
 * the template's event ids and timestamps are rewritten per message, as a running agent's are.
 * A benchmark: it never asserts a speed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/isotime.h"
#include "core/secmsg.h"
#include "hub/hub.h"
#include "store/store.h"

/*
 * The built-in message: what a busy C agent's high-priority message looks like (3
 * ProcessCreate, 2 ConnectionCreate, one successful Login, ListeningPorts on port 22 only,
 * SystemInformation, LocalUsers, FirewallConfiguration), about 4 KB. It raises no alert.
 */
#define EV_HEAD(type, cat, name, id, t) \
	"{\"EventType\":\"" type "\",\"Category\":\"" cat "\",\"Name\":\"" name "\"," \
	"\"IsEmpty\":false,\"PayloadSchemaVersion\":\"1.0\",\"Id\":\"" id "\"," \
	"\"TimestampLocal\":\"2020-01-15T12:" t "+02:00\",\"TimestampUTC\":\"2020-01-15T10:" t "Z\"," \
	"\"Payload\":"
#define PROC(id, t, exe, pid, cmd) \
	EV_HEAD("Security", "Triggered", "ProcessCreate", id, t) \
	"[{\"Executable\":\"" exe "\",\"ProcessId\":" pid ",\"ParentProcessId\":1017," \
	"\"UserId\":\"1000\",\"UserName\":\"pi\",\"CommandLine\":\"" cmd "\"}]}"
#define CONN(id, t, rport, lport) \
	EV_HEAD("Security", "Triggered", "ConnectionCreate", id, t) \
	"[{\"Executable\":\"/usr/bin/python3\",\"CommandLine\":\"python3 /opt/app/upload.py\"," \
	"\"ProcessId\":4301,\"UserId\":\"1000\",\"RemoteAddress\":\"203.0.113.7\",\"RemotePort\":\"" \
	rport "\",\"LocalAddress\":\"192.168.1.20\",\"LocalPort\":\"" lport "\",\"Direction\":\"Out\"," \
	"\"Protocol\":\"tcp\"}]}"
static const char *const builtin_mix[] = {
	"{\"AgentVersion\":\"0.0.5\",\"AgentId\":\"5a7f5c2e-3f0c-4b8e-9a55-2f4d6c1e9b10\","
	"\"MessageSchemaVersion\":\"1.0\",\"Events\":["
	PROC("0c5d0e6e-8f7b-4f9a-9b55-000000000000", "20:30", "/usr/bin/curl", "4242",
	     "curl -s https://updates.example.com/manifest.json -o /tmp/manifest.json") ",",
	PROC("0c5d0e6e-8f7b-4f9a-9b55-000000000001", "20:31", "/bin/sh", "4243",
	     "/bin/sh -c /opt/app/bin/collect --interval 60 --out /var/lib/app/metrics") ","
	PROC("0c5d0e6e-8f7b-4f9a-9b55-000000000002", "20:32", "/usr/bin/python3", "4244",
	     "python3 /opt/app/upload.py --endpoint https://ingest.example.com/v2") ","
	CONN("0c5d0e6e-8f7b-4f9a-9b55-000000000003", "20:33", "443", "51514") ","
	CONN("0c5d0e6e-8f7b-4f9a-9b55-000000000004", "20:34", "443", "51516") ",",
	EV_HEAD("Security", "Triggered", "Login", "0c5d0e6e-8f7b-4f9a-9b55-000000000005", "20:35")
	"[{\"ProcessId\":5120,\"UserId\":\"1000\",\"UserName\":\"pi\",\"Operation\":\"PAM:session\","
	"\"Executable\":\"/usr/sbin/sshd\",\"RemoteAddress\":\"192.168.1.5\",\"RemotePort\":\"40522\","
	"\"LocalPort\":\"22\",\"Result\":\"Success\"}]},"
	EV_HEAD("Security", "Periodic", "ListeningPorts", "0c5d0e6e-8f7b-4f9a-9b55-000000000006",
		"20:36")
	"[{\"Protocol\":\"tcp\",\"LocalAddress\":\"0.0.0.0\",\"LocalPort\":\"22\","
	"\"RemoteAddress\":\"0.0.0.0\",\"RemotePort\":\"*\",\"ExtraDetails\":{\"Pid\":\"812\"}}]},"
	EV_HEAD("Security", "Periodic", "SystemInformation", "0c5d0e6e-8f7b-4f9a-9b55-000000000007",
		"20:37")
	"[{\"OSName\":\"Linux\",\"OSVersion\":\"4.19.75-v7+ #1270 SMP Tue Sep 24 18:45:11 BST 2019\","
	"\"OsArchitecture\":\"armv7l\",\"HostName\":\"gateway-01\",\"TotalPhysicalMemoryInKB\":948304,"
	"\"FreePhysicalMemoryInKB\":512220}]},",
	EV_HEAD("Security", "Periodic", "LocalUsers", "0c5d0e6e-8f7b-4f9a-9b55-000000000008", "20:38")
	"[{\"UserName\":\"root\",\"UserId\":\"0\",\"GroupNames\":\"root\",\"GroupIds\":\"0\"},"
	"{\"UserName\":\"pi\",\"UserId\":\"1000\",\"GroupNames\":\"pi;sudo;adm\","
	"\"GroupIds\":\"1000;27;4\"}]},"
	EV_HEAD("Security", "Periodic", "FirewallConfiguration",
		"0c5d0e6e-8f7b-4f9a-9b55-000000000009", "20:39")
	"[{\"ChainName\":\"INPUT\",\"Direction\":\"In\",\"Priority\":0,\"Enabled\":true,"
	"\"Action\":\"Allow\",\"Protocol\":\"tcp\",\"SourceAddress\":\"192.168.1.0/24\","
	"\"SourcePort\":\"*\",\"DestinationAddress\":\"0.0.0.0/0\",\"DestinationPort\":\"22\"},"
	"{\"ChainName\":\"INPUT\",\"Direction\":\"In\",\"Priority\":1,\"Enabled\":true,"
	"\"Action\":\"Deny\"}]}"
	"]}",
};

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* CPU time (user + system) of this process so far: steadier than rates on a shared machine. */
static int64_t cpu_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
	       ru.ru_stime.tv_usec;
}

static int64_t wall_us(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void rnd(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)rand();
}

/* Where the template's event ids and timestamps are, so each message can get its own. */
#define MAX_PATCHES 4096
struct patch {
	size_t at;        /* offset of the value's first character in the body */
	bool is_id;       /* a 36-character Id, else the 19-character date-time prefix */
	int64_t orig_s;   /* a date-time: its prefix as seconds (read as UTC) */
};

struct tmpl {
	char *body;
	size_t len;
	struct patch p[MAX_PATCHES];
	size_t n;
};

/* Seconds of a "YYYY-MM-DD?HH:MM:SS" prefix read as UTC; -1 when it is not one. */
static int64_t prefix_seconds(const char *s)
{
	char buf[32];
	memcpy(buf, s, 19);
	buf[10] = 'T';
	memcpy(buf + 19, "Z", 2);
	int64_t us;
	return isotime_parse(buf, 20, &us) == SH_OK ? us / 1000000 : -1;
}

/*
 * Find every `"Id":"` (36 characters follow) and `"TimestampUTC":"` / `"TimestampLocal":"`
 * (a date-time follows) in the body. The envelope's AgentId is not an event Id and stays.
 */
static void tmpl_scan(struct tmpl *t)
{
	static const char *const keys[] = { "\"Id\":\"", "\"TimestampUTC\":\"",
					    "\"TimestampLocal\":\"" };
	for (size_t k = 0; k < 3; k++) {
		size_t kl = strlen(keys[k]);
		for (const char *p = t->body; (p = strstr(p, keys[k])) != NULL; p += kl) {
			size_t at = (size_t)(p - t->body) + kl;
			if (t->n == MAX_PATCHES || at + 36 > t->len)
				break;
			struct patch *x = &t->p[t->n];
			x->at = at;
			x->is_id = k == 0;
			x->orig_s = x->is_id ? 0 : prefix_seconds(t->body + at);
			if (!x->is_id && x->orig_s < 0)
				continue;
			t->n++;
		}
	}
}

/* Write `v` as `n` decimal digits (zero-padded) at dst. */
static void put_digits(char *dst, int64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v /= 10)
		dst[i] = (char)('0' + v % 10);
}

/*
 * Write "YYYY-MM-DD?HH:MM:SS" for `secs` (since 1970, UTC) over 19 characters, keeping the
 * separator at 10. Hand-made civil-date arithmetic (days to year/month/day): the bench runs
 * this 20 times a message, and snprintf there cost more than the plain telemetry it measures.
 */
static void put_time(char *dst, int64_t secs)
{
	int64_t days = secs / 86400, rem = secs % 86400;
	int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = yoe + era * 400 + (m <= 2);
	put_digits(dst, y, 4);
	put_digits(dst + 5, m, 2);
	put_digits(dst + 8, d, 2);
	put_digits(dst + 11, rem / 3600, 2);
	put_digits(dst + 14, rem / 60 % 60, 2);
	put_digits(dst + 17, rem % 60, 2);
}

/*
 * Message `n` of the run: device n % devices, its k-th message (k = n / devices) moved
 * k * interval seconds after the template's times; every event Id ends in 12 hex digits
 * unique to (n, event).
 */
static void tmpl_stamp(struct tmpl *t, long n, int devices, int interval_s)
{
	static const char hex[] = "0123456789abcdef";
	long k = n / devices;
	size_t ev = 0;
	for (size_t i = 0; i < t->n; i++) {
		struct patch *x = &t->p[i];
		if (x->is_id) {
			uint64_t v = (uint64_t)n * 256 + ev++ % 256;
			for (int j = 11; j >= 0; j--, v >>= 4)
				t->body[x->at + 24 + (size_t)j] = hex[v & 15];
		} else {
			put_time(t->body + x->at, x->orig_s + (int64_t)k * interval_s);
		}
	}
}

struct opts {
	double seconds;
	long count;         /* stop after this many messages (0: the time budget only) */
	int batch, devices, interval_s;
	const char *dir;
	const char *only;   /* NULL, "security" or "plain": one run only (for a profiler) */
	bool keep;          /* leave the database files behind (their paths are printed) */
};

/*
 * One run: `seconds` of messages from `devices` devices in batches of `batch` (one
 * hub_batch_hold / release per round, as the loop does), security-marked or not. Returns
 * messages per second (0 on failure, printed); *sent gets the count, *cpu_per_msg the
 * process's CPU microseconds per message.
 */
static double run(const struct opts *o, struct tmpl *t, bool security, long *sent,
		  double *cpu_per_msg)
{
	char path[4096], err[256];
	snprintf(path, sizeof path, "%s/secmsg_bench_%d_%d.db", o->dir, (int)getpid(), security);
	unlink(path);
	struct sh_store *st = NULL;
	struct sh_hub *hub = NULL;
	struct iothub_err herr;
	const struct sh_hub_env env = {wall_us, rnd, NULL};
	if (store_open(path, &st, err, sizeof err) != SH_OK ||
	    hub_open(st, &env, &hub, &herr) != SH_OK) {
		fprintf(stderr, "secmsg_bench: cannot open %s: %s\n", path, err);
		store_close(st);
		return 0;
	}
	cJSON *sys = cJSON_CreateObject();
	if (security)
		cJSON_AddStringToObject(sys, "iothub-interface-id", SECMSG_INTERFACE_ID);
	long n = 0;
	int64_t c0 = cpu_us();
	int64_t t0 = mono_us(), end = t0 + (int64_t)(o->seconds * 1e6);
	while (mono_us() < end && (o->count <= 0 || n < o->count)) {
		hub_batch_hold(hub);
		for (int i = 0; i < o->batch; i++, n++) {
			char dev[16];
			snprintf(dev, sizeof dev, "dev%ld", n % o->devices);
			tmpl_stamp(t, n, o->devices, o->interval_s);
			if (hub_telemetry(hub, dev, security ? "azureiotsecurity" : "", sys, NULL,
					  t->body, t->len, NULL, &herr) != SH_OK) {
				fprintf(stderr, "secmsg_bench: %s\n", herr.message);
				end = 0;
				break;
			}
		}
		hub_batch_release(hub);
	}
	double s = (double)(mono_us() - t0) / 1e6;
	*cpu_per_msg = n ? (double)(cpu_us() - c0) / (double)n : 0;
	cJSON_Delete(sys);
	hub_close(hub);
	store_close(st);
	*sent = n;
	if (o->keep) {
		printf("kept %s\n", path);
		return end == 0 ? 0 : (double)n / s;
	}
	unlink(path);
	char side[4200];
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
	return end == 0 ? 0 : (double)n / s;
}

static int usage(void)
{
	fprintf(stderr, "usage: secmsg_bench [--seconds S] [--count N] [--batch N] [--devices N] "
			"[--interval SECONDS] [--dir DIR] [--only security|plain] [--keep]\n"
			"                    [MESSAGE.json]\n"
			"(without a file: a built-in 10-event message; "
			"tests/data/secmsg/multi-10-events.json is a brute-force attack)\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *file = NULL;
	struct opts o = { 3, 0, 100, 10, 10, getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", NULL,
			  false };
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			o.seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--count") && i + 1 < argc)
			o.count = atol(argv[++i]);
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
			o.batch = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--devices") && i + 1 < argc)
			o.devices = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--interval") && i + 1 < argc)
			o.interval_s = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			o.dir = argv[++i];
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			o.only = argv[++i];
		else if (!strcmp(argv[i], "--keep"))
			o.keep = true;
		else if (argv[i][0] != '-')
			file = argv[i];
		else
			return usage();
	}
	if (o.seconds <= 0 || o.batch < 1 || o.devices < 1 || o.interval_s < 0 ||
	    (o.only && strcmp(o.only, "security") && strcmp(o.only, "plain")))
		return usage();
	static struct tmpl t;
	static char body[SECMSG_MAX_BODY];
	if (file) {
		FILE *f = fopen(file, "rb");
		t.len = f ? fread(body, 1, sizeof body, f) : 0;
		if (f)
			fclose(f);
		if (!t.len) {
			fprintf(stderr, "secmsg_bench: cannot read %s\n", file);
			return 1;
		}
	} else {
		for (size_t i = 0; i < sizeof builtin_mix / sizeof builtin_mix[0]; i++) {
			size_t l = strlen(builtin_mix[i]);
			memcpy(body + t.len, builtin_mix[i], l);
			t.len += l;
		}
	}
	t.body = body;
	tmpl_scan(&t);
	/* A stamped message, not the template: the rewriting must keep it valid. */
	tmpl_stamp(&t, 12345, o.devices, o.interval_s);
	struct secmsg_result r;
	secmsg_validate(t.body, t.len, SECMSG_SERVICE, &r);
	size_t events = r.n_events;
	printf("message: %s, %zu bytes, %zu events, verdict %s; %d devices, one message per "
	       "device every %d s of event time\n", file ? file : "built-in mix", t.len, events,
	       secmsg_verdict_str(r.verdict), o.devices, o.interval_s);
	secmsg_result_free(&r);
	long ns = 0, np = 0;
	double sec = 0, plain = 0, sec_cpu = 0, plain_cpu = 0;
	if (!o.only || !strcmp(o.only, "security")) {
		if ((sec = run(&o, &t, true, &ns, &sec_cpu)) <= 0)
			return 1;
		printf("security messages: %8.0f msg/s %8.0f events/s %7.1f us CPU/msg (%ld sent, "
		       "batch %d)\n", sec, sec * (double)events, sec_cpu, ns, o.batch);
	}
	if (!o.only || !strcmp(o.only, "plain")) {
		if ((plain = run(&o, &t, false, &np, &plain_cpu)) <= 0)
			return 1;
		printf("plain telemetry:   %8.0f msg/s                 %7.1f us CPU/msg (%ld sent, "
		       "same bodies)\n", plain, plain_cpu, np);
	}
	if (o.only)
		return 0;
	printf("ratio security/plain: %.2f by rate, %.2f by CPU time per message\n", sec / plain,
	       plain_cpu / sec_cpu);
	return 0;
}
