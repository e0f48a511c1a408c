/*
 * check_hub_security.c: the hub's security room (hub/security.c) over a real store on
 * ":memory:" with a fake clock: the azureiotsecurity module (explicit, automatic, fixtures),
 * ingestion of security messages in both modes, storage rows, the not-telemetry rule, alerts
 * and their dedupe, the agent-silent sweep, drift, summaries and the device-token bootstrap;
 * and the storage choices of migration 7 (body stored once, failed-login look-back, the upgrade
 * of a version-6 file), checked on the file with a second SQLite connection.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include <cjson/cJSON.h>

#include "core/fixture.h"
#include "core/sas.h"
#include "core/secconfig.h"
#include "core/secmsg.h"
#include "hub/hub.h"
#include "store/store.h"

static int64_t fake_now = 1700000000000000LL; /* 2023-11-14T22:13:20Z */
static uint8_t rnd_next;

static int64_t env_now(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static void env_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	for (size_t i = 0; i < len; i++)
		buf[i] = rnd_next++;
}

static const struct sh_hub_env env = {env_now, env_random, NULL};
static struct sh_store *st;
static struct sh_hub *hub;
static struct iothub_err err;

/* Events seen on the bus, by kind. */
static int seen[HUB_EV__COUNT];
static char last_alert_rule[64];

static void on_event(void *ctx, const struct hub_event *ev)
{
	(void)ctx;
	seen[ev->kind]++;
	if (ev->kind == HUB_EV_ALERT) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(ev->data, "rule");
		snprintf(last_alert_rule, sizeof last_alert_rule, "%s",
			 cJSON_IsString(r) ? r->valuestring : "?");
	}
}

static void setup(void)
{
	char msg[256];
	fake_now = 1700000000000000LL;
	ck_assert_int_eq(store_open(":memory:", &st, msg, sizeof msg), SH_OK);
	ck_assert_int_eq(hub_open(st, &env, &hub, &err), SH_OK);
	memset(&err, 0, sizeof err);
	memset(seen, 0, sizeof seen);
	last_alert_rule[0] = '\0';
	ck_assert_int_eq(hub_event_listen(hub, on_event, NULL, NULL), SH_OK);
}

static void teardown(void)
{
	hub_close(hub);
	store_close(st);
}

static void add_device(const char *id)
{
	struct sh_identity r;
	memset(&r, 0, sizeof r);
	snprintf(r.device_id, sizeof r.device_id, "%s", id);
	ck_assert_int_eq(hub_identity_create(hub, &r, NULL, &err), SH_OK);
}

static bool has_module(const char *dev)
{
	struct sh_identity id;
	return hub_identity_get(hub, dev, SECCONFIG_MODULE_ID, &id, &err) == SH_OK;
}

/* tests/data/secmsg next to this file. */
static char *read_data(const char *name, size_t *len)
{
	const char *file = __FILE__;
	const char *slash = strrchr(file, '/');
	char path[1024];
	snprintf(path, sizeof path, "%.*s/../data/secmsg/%s", slash ? (int)(slash - file) : 1,
		 slash ? file : ".", name);
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	char *buf = malloc(1 << 20);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* Send body as a security message (sys with the interface id) from dev[/mod]. */
static void send_security(const char *dev, const char *mod, const char *body, size_t len)
{
	cJSON *sys = cJSON_CreateObject();
	cJSON_AddStringToObject(sys, "iothub-interface-id", SECMSG_INTERFACE_ID);
	int64_t seq = 0;
	ck_assert_int_eq(hub_telemetry(hub, dev, mod, sys, NULL, body, len, &seq, &err), SH_OK);
	ck_assert_int_gt(seq, 0);
	cJSON_Delete(sys);
}

static void send_file(const char *dev, const char *mod, const char *name)
{
	size_t len = 0;
	char *b = read_data(name, &len);
	send_security(dev, mod, b, len);
	free(b);
}

/* Counting walks. */
struct tally {
	int n;
	char verdict[16];
	char name[64];
	char rule[32];
	int64_t n_events;
};

static sh_rc count_msg(void *arg, const struct hub_security_message *m)
{
	struct tally *t = arg;
	t->n++;
	snprintf(t->verdict, sizeof t->verdict, "%s", m->verdict);
	t->n_events = m->n_events;
	return SH_OK;
}

static sh_rc count_event(void *arg, const struct hub_security_event *e)
{
	struct tally *t = arg;
	t->n++;
	snprintf(t->verdict, sizeof t->verdict, "%s", e->verdict);
	snprintf(t->name, sizeof t->name, "%s", e->name);
	return SH_OK;
}

static sh_rc count_alert(void *arg, const struct hub_security_alert *a)
{
	struct tally *t = arg;
	t->n++;
	snprintf(t->rule, sizeof t->rule, "%s", a->rule);
	return SH_OK;
}

static struct tally messages(const char *verdict)
{
	struct tally t = {0};
	struct hub_security_message_query q = { .verdict = verdict };
	ck_assert_int_eq(hub_security_messages_each(hub, &q, count_msg, &t), SH_OK);
	return t;
}

static struct tally events(const char *name)
{
	struct tally t = {0};
	struct hub_security_event_query q = { .name = name };
	ck_assert_int_eq(hub_security_events_each(hub, &q, count_event, &t), SH_OK);
	return t;
}

static struct tally alerts(const char *rule)
{
	struct tally t = {0};
	struct hub_security_alert_query q = { .rule = rule };
	ck_assert_int_eq(hub_security_alerts_each(hub, &q, count_alert, &t), SH_OK);
	return t;
}

static sh_rc count_d2c(void *arg, int64_t seq, const struct sh_d2c_row *row)
{
	(void)seq;
	(void)row;
	(*(int *)arg)++;
	return SH_OK;
}

static int d2c_rows(bool include_security)
{
	int n = 0;
	struct sh_d2c_query q = { .from_us = INT64_MIN, .to_us = INT64_MAX,
				  .include_security = include_security };
	ck_assert_int_eq(store_d2c_query(st, &q, count_d2c, &n), SH_OK);
	return n;
}

/* --- hub_security_enable ------------------------------------------------------------------- */

START_TEST(hub_security_enable_missing_device_fails_404001)
{
	bool created = true;
	ck_assert_int_eq(hub_security_enable(hub, "ghost", &created, &err), SH_E_NOTFOUND);
	ck_assert_int_eq(err.code, 404001);
	ck_assert(!created);
}
END_TEST

START_TEST(hub_security_enable_creates_module_with_default_config)
{
	add_device("d1");
	bool created = false;
	ck_assert_int_eq(hub_security_enable(hub, "d1", &created, &err), SH_OK);
	ck_assert(created);
	struct sh_identity m;
	ck_assert_int_eq(hub_identity_get(hub, "d1", SECCONFIG_MODULE_ID, &m, &err), SH_OK);
	ck_assert_int_gt(strlen(m.primary_key), 0);
	cJSON *view = NULL;
	ck_assert_int_eq(hub_twin_device_view(hub, "d1", SECCONFIG_MODULE_ID, &view, &err), SH_OK);
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(view, "desired"), SECCONFIG_OBJECT);
	ck_assert(cJSON_IsObject(obj));
	const cJSON *hp = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(obj, "highPriorityMessageFrequency"), "value");
	ck_assert_str_eq(hp->valuestring, "PT7M");
	cJSON_Delete(view);
	/* Second call: nothing new, keys kept. */
	ck_assert_int_eq(hub_security_enable(hub, "d1", &created, &err), SH_OK);
	ck_assert(!created);
	struct sh_identity again;
	ck_assert_int_eq(hub_identity_get(hub, "d1", SECCONFIG_MODULE_ID, &again, &err), SH_OK);
	ck_assert_str_eq(again.primary_key, m.primary_key);
}
END_TEST

START_TEST(hub_security_enable_existing_module_gets_config_keeps_keys)
{
	add_device("d1");
	struct sh_identity r;
	memset(&r, 0, sizeof r);
	snprintf(r.device_id, sizeof r.device_id, "d1");
	snprintf(r.module_id, sizeof r.module_id, "%s", SECCONFIG_MODULE_ID);
	struct sh_identity made;
	ck_assert_int_eq(hub_identity_create(hub, &r, &made, &err), SH_OK);
	bool created = true;
	ck_assert_int_eq(hub_security_enable(hub, "d1", &created, &err), SH_OK);
	ck_assert(!created);
	struct sh_identity m;
	ck_assert_int_eq(hub_identity_get(hub, "d1", SECCONFIG_MODULE_ID, &m, &err), SH_OK);
	ck_assert_str_eq(m.primary_key, made.primary_key);
	cJSON *view = NULL;
	ck_assert_int_eq(hub_twin_device_view(hub, "d1", SECCONFIG_MODULE_ID, &view, &err), SH_OK);
	ck_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(view, "desired"), SECCONFIG_OBJECT)));
	cJSON_Delete(view);
}
END_TEST

/* --- automatic creation -------------------------------------------------------------------- */

START_TEST(hub_identity_create_autocreate_follows_setting)
{
	add_device("off");
	ck_assert(!has_module("off"));
	ck_assert_int_eq(hub_set_setting(hub, HUB_SETTING_SECURITY_AUTOCREATE, "true", &err), SH_OK);
	add_device("on");
	ck_assert(has_module("on"));
	/* A module created on a device does not recurse. */
	ck_assert(!has_module("off"));
}
END_TEST

START_TEST(hub_security_autocreate_all_covers_existing_devices)
{
	add_device("a");
	add_device("b");
	int64_t made = -1;
	ck_assert_int_eq(hub_security_autocreate_all(hub, &made, &err), SH_OK);
	ck_assert_int_eq(made, 0); /* setting off */
	ck_assert_int_eq(hub_set_setting(hub, HUB_SETTING_SECURITY_AUTOCREATE, "true", &err), SH_OK);
	ck_assert_int_eq(hub_security_autocreate_all(hub, &made, &err), SH_OK);
	ck_assert_int_eq(made, 2);
	ck_assert(has_module("a") && has_module("b"));
	ck_assert_int_eq(hub_security_autocreate_all(hub, &made, &err), SH_OK);
	ck_assert_int_eq(made, 0);
}
END_TEST

START_TEST(hub_fixtures_apply_autocreate_with_listed_module_no_conflict)
{
	const char *text =
		"{\"version\":1,\"settings\":{\"security\":{\"autoCreateModule\":true}},"
		"\"devices\":[{\"id\":\"f1\",\"modules\":[{\"id\":\"azureiotsecurity\"}]},"
		"{\"id\":\"f2\"}]}";
	struct fixture *fx = NULL;
	struct fixture_error ferr;
	ck_assert_int_eq(fixture_parse(text, strlen(text), &fx, &ferr), SH_OK);
	const char *file = "t.json";
	ck_assert_msg(hub_fixtures_apply(hub, &fx, &file, 1, &err) == SH_OK, "%s", err.message);
	ck_assert(has_module("f1"));
	ck_assert(has_module("f2"));
	ck_assert_int_eq(hub_fixtures_apply(hub, &fx, &file, 1, &err), SH_OK);
	fixture_free(fx);
}
END_TEST

/* --- ingestion ----------------------------------------------------------------------------- */

START_TEST(hub_telemetry_security_service_mode_tolerates_aggregate)
{
	add_device("d1");
	send_file("d1", SECCONFIG_MODULE_ID, "c-aggregate-processcreate.json");
	struct tally m = messages(NULL);
	ck_assert_int_eq(m.n, 1);
	ck_assert_str_eq(m.verdict, "tolerated");
	ck_assert_int_eq(m.n_events, 1);
	struct tally e = events("ProcessCreate");
	ck_assert_int_eq(e.n, 1);
	ck_assert_str_eq(e.verdict, "tolerated");
	ck_assert_int_eq(seen[HUB_EV_SECURITY], 1);
	ck_assert_int_eq(seen[HUB_EV_TELEMETRY], 0);
	ck_assert(!hub_security_strict(hub));
}
END_TEST

START_TEST(hub_telemetry_security_strict_mode_rejects_aggregate)
{
	add_device("d1");
	ck_assert_int_eq(hub_set_setting(hub, HUB_SETTING_SECURITY_STRICT, "true", &err), SH_OK);
	ck_assert(hub_security_strict(hub));
	send_file("d1", SECCONFIG_MODULE_ID, "c-aggregate-processcreate.json");
	struct tally m = messages("invalid");
	ck_assert_int_eq(m.n, 1);
	ck_assert_int_eq(events(NULL).n, 1);
	ck_assert_str_eq(events(NULL).verdict, "invalid");
	ck_assert_int_eq(messages("tolerated").n, 0);
}
END_TEST

START_TEST(hub_telemetry_security_all_examples_valid)
{
	static const char *const names[] = {
		"example-processcreate.json", "example-processterminate.json",
		"example-connectioncreate.json", "example-login.json",
		"example-listeningports.json", "example-localusers.json",
		"example-systeminformation.json", "example-firewallconfiguration.json",
		"example-osbaseline.json", "example-connectedhardware.json",
		"example-diagnostic.json", "example-configurationerror.json",
		"example-droppedeventsstatistics.json", "example-messagestatistics.json",
	};
	add_device("d1");
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		send_file("d1", SECCONFIG_MODULE_ID, names[i]);
	ck_assert_int_eq(messages("valid").n, 14);
	ck_assert_int_eq(events(NULL).n, 14);
	ck_assert_int_eq(events("Login").n, 1);
}
END_TEST

START_TEST(hub_telemetry_security_not_json_kept_invalid_and_acked)
{
	add_device("d1");
	send_security("d1", "", "not json at all", 15);
	send_security("d1", "", "", 0);
	send_security("d1", "", "\xff\xfe{}", 4);
	struct tally m = messages("invalid");
	ck_assert_int_eq(m.n, 3);
	ck_assert_int_eq(m.n_events, 0);
	ck_assert_int_eq(events(NULL).n, 0);
}
END_TEST

START_TEST(hub_telemetry_security_not_ordinary_telemetry)
{
	add_device("d1");
	send_file("d1", SECCONFIG_MODULE_ID, "example-login.json");
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, NULL, NULL, "{\"t\":1}", 7, NULL, &err), SH_OK);
	ck_assert_int_eq(d2c_rows(false), 1);
	ck_assert_int_eq(d2c_rows(true), 2);
	ck_assert_int_eq(messages(NULL).n, 1);
	ck_assert_int_eq(seen[HUB_EV_TELEMETRY], 1);
	ck_assert_int_eq(seen[HUB_EV_SECURITY], 1);
}
END_TEST

START_TEST(hub_telemetry_other_interface_id_is_telemetry)
{
	add_device("d1");
	cJSON *sys = cJSON_CreateObject();
	cJSON_AddStringToObject(sys, "iothub-interface-id", "urn:example:Thermostat:1");
	ck_assert_int_eq(hub_telemetry(hub, "d1", NULL, sys, NULL, "{}", 2, NULL, &err), SH_OK);
	cJSON_Delete(sys);
	ck_assert_int_eq(messages(NULL).n, 0);
	ck_assert_int_eq(d2c_rows(false), 1);
}
END_TEST

/* --- alerts -------------------------------------------------------------------------------- */

/* A message of `n` Login events with `result`, ids "…-<first+k>", one second apart. */
static void send_logins(const char *dev, int first, int n, const char *result)
{
	char body[16384];
	size_t o = (size_t)snprintf(body, sizeof body,
		"{\"AgentVersion\":\"0.0.5\",\"AgentId\":\"5a7f5c2e-3f0c-4b8e-9a55-2f4d6c1e9b10\","
		"\"MessageSchemaVersion\":\"1.0\",\"Events\":[");
	for (int k = 0; k < n; k++) {
		int id = first + k;
		o += (size_t)snprintf(body + o, sizeof body - o,
			"%s{\"EventType\":\"Security\",\"Category\":\"Triggered\",\"Name\":\"Login\","
			"\"IsEmpty\":false,\"PayloadSchemaVersion\":\"1.0\","
			"\"Id\":\"3d4e5f60-7182-493a-8cbd-2e3f4a5b%04d\","
			"\"TimestampLocal\":\"2020-01-15T10:23:%02dZ\",\"TimestampUTC\":\"2020-01-15T10:23:%02dZ\","
			"\"Payload\":[{\"ProcessId\":5120,\"UserName\":\"root\",\"Operation\":\"PAM:authentication\","
			"\"Executable\":\"/usr/sbin/sshd\",\"RemoteAddress\":\"198.51.100.23\","
			"\"RemotePort\":\"40522\",\"LocalPort\":\"22\",\"Result\":\"%s\"}]}",
			k ? "," : "", id, id % 60, id % 60, result);
	}
	o += (size_t)snprintf(body + o, sizeof body - o, "]}");
	send_security(dev, SECCONFIG_MODULE_ID, body, o);
}

START_TEST(hub_security_brute_force_fires_once_across_messages)
{
	add_device("d1");
	send_logins("d1", 1, 3, "Fail");
	ck_assert_int_eq(alerts(NULL).n, 0);
	send_logins("d1", 4, 2, "Fail");
	struct tally a = alerts("bruteForce");
	ck_assert_int_eq(a.n, 1);
	ck_assert_int_eq(seen[HUB_EV_ALERT], 1);
	ck_assert_str_eq(last_alert_rule, "bruteForce");
	/* The same evidence again (an agent resending): no second alert. */
	send_logins("d1", 4, 2, "Fail");
	ck_assert_int_eq(alerts("bruteForce").n, 1);
	ck_assert_int_eq(seen[HUB_EV_ALERT], 1);
}
END_TEST

START_TEST(hub_security_brute_force_threshold_from_settings)
{
	add_device("d1");
	ck_assert_int_eq(hub_set_setting(hub, "security.alerts.bruteForce.failures", "2", &err), SH_OK);
	send_logins("d1", 1, 2, "Fail");
	ck_assert_int_eq(alerts("bruteForce").n, 1);
	ck_assert_int_eq(hub_set_setting(hub, "security.alerts.bruteForce.enabled", "false", &err),
			 SH_OK);
	send_logins("d2", 10, 5, "Fail");
	ck_assert_int_eq(alerts("bruteForce").n, 1);
}
END_TEST

START_TEST(hub_security_open_ports_alert_and_dedupe)
{
	add_device("d1");
	send_file("d1", SECCONFIG_MODULE_ID, "example-listeningports.json");
	ck_assert_int_eq(alerts("openPorts").n, 1);
	send_file("d1", SECCONFIG_MODULE_ID, "example-listeningports.json");
	ck_assert_int_eq(alerts("openPorts").n, 1);
}
END_TEST

START_TEST(hub_security_sweep_agent_silent_once)
{
	add_device("d1");
	ck_assert_int_eq(hub_security_enable(hub, "d1", NULL, &err), SH_OK);
	send_file("d1", SECCONFIG_MODULE_ID, "example-systeminformation.json");
	int64_t raised = -1;
	ck_assert_int_eq(hub_security_sweep(hub, &raised, &err), SH_OK);
	ck_assert_int_eq(raised, 0);
	fake_now += 20LL * 60 * 1000000; /* 20 min < 3 x PT7M */
	ck_assert_int_eq(hub_security_sweep(hub, &raised, &err), SH_OK);
	ck_assert_int_eq(raised, 0);
	fake_now += 2LL * 60 * 1000000;  /* 22 min > 21 min */
	ck_assert_int_eq(hub_security_sweep(hub, &raised, &err), SH_OK);
	ck_assert_int_eq(raised, 1);
	ck_assert_int_eq(alerts("agentSilent").n, 1);
	fake_now += 60LL * 60 * 1000000;
	ck_assert_int_eq(hub_security_sweep(hub, &raised, &err), SH_OK);
	ck_assert_int_eq(raised, 0);
	/* Within HUB_SECURITY_SWEEP_US of the last sweep nothing runs. */
	fake_now += 1000000;
	ck_assert_int_eq(hub_security_sweep(hub, &raised, &err), SH_OK);
	ck_assert_int_eq(raised, 0);
}
END_TEST

START_TEST(hub_security_sweep_short_frequency_from_twin)
{
	add_device("d1");
	ck_assert_int_eq(hub_security_enable(hub, "d1", NULL, &err), SH_OK);
	cJSON *patch = cJSON_Parse("{\"" SECCONFIG_OBJECT "\":{\"highPriorityMessageFrequency\":"
				   "{\"value\":\"PT10S\"}}}");
	ck_assert_int_eq(hub_twin_patch_desired(hub, "d1", SECCONFIG_MODULE_ID, patch, NULL, &err),
			 SH_OK);
	cJSON_Delete(patch);
	send_file("d1", SECCONFIG_MODULE_ID, "example-systeminformation.json");
	fake_now += 31LL * 1000000;
	int64_t raised = 0;
	ck_assert_int_eq(hub_security_sweep(hub, &raised, &err), SH_OK);
	ck_assert_int_eq(raised, 1);
}
END_TEST

/* --- drift and summary --------------------------------------------------------------------- */

START_TEST(hub_security_drift_pending_then_applied)
{
	add_device("d1");
	struct secconfig_drift d;
	ck_assert_int_eq(hub_security_drift(hub, "d1", &d, &err), SH_E_NOTFOUND);
	ck_assert_int_eq(err.code, 404010);
	secconfig_drift_free(&d);
	ck_assert_int_eq(hub_security_enable(hub, "d1", NULL, &err), SH_OK);
	ck_assert_int_eq(hub_security_drift(hub, "d1", &d, &err), SH_OK);
	ck_assert(!d.applied);
	ck_assert(!d.reported_present);
	secconfig_drift_free(&d);
	/* The agent reports back what it was given (C agent style: lower-case priorities). */
	cJSON *rep = secconfig_default_desired();
	cJSON *obj = cJSON_GetObjectItemCaseSensitive(rep, SECCONFIG_OBJECT);
	cJSON *lp = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(obj, "eventPriorityLogin"), "value");
	cJSON_SetValuestring(lp, "high");
	int64_t v = 0;
	ck_assert_int_eq(hub_twin_patch_reported(hub, "d1", SECCONFIG_MODULE_ID, rep, &v, &err), SH_OK);
	cJSON_Delete(rep);
	ck_assert_int_eq(hub_security_drift(hub, "d1", &d, &err), SH_OK);
	ck_assert(d.reported_present);
	ck_assert(d.applied);
	secconfig_drift_free(&d);
	cJSON *j = NULL;
	ck_assert_int_eq(hub_security_config_json(hub, "d1", &j, &err), SH_OK);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "applied")));
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "deviceId")->valuestring, "d1");
	cJSON_Delete(j);
}
END_TEST

START_TEST(hub_security_summary_counts)
{
	cJSON *s = NULL;
	ck_assert_int_eq(hub_security_summary(hub, "nobody", &s, &err), SH_E_NOTFOUND);
	add_device("d1");
	ck_assert_int_eq(hub_security_enable(hub, "d1", NULL, &err), SH_OK);
	send_file("d1", SECCONFIG_MODULE_ID, "example-login.json");
	send_file("d1", SECCONFIG_MODULE_ID, "example-listeningports.json");
	send_security("d1", SECCONFIG_MODULE_ID, "nope", 4);
	ck_assert_int_eq(hub_security_summary(hub, "d1", &s, &err), SH_OK);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(s, "messages")->valueint, 3);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, "verdicts");
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(v, "valid")->valueint, 2);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(v, "invalid")->valueint, 1);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(s, "events");
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(e, "Login")->valueint, 1);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(s, "alertCount")->valueint, 1);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "hasModule")));
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(s, "configApplied")));
	ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(s, "lastMessageTime")));
	cJSON_Delete(s);
}
END_TEST

START_TEST(hub_security_events_each_filters_and_pages)
{
	add_device("d1");
	add_device("d2");
	send_file("d1", SECCONFIG_MODULE_ID, "multi-10-events.json");
	send_file("d2", "", "example-login.json");
	struct tally t = {0};
	struct hub_security_event_query q = { .device_id = "d2" };
	ck_assert_int_eq(hub_security_events_each(hub, &q, count_event, &t), SH_OK);
	ck_assert_int_eq(t.n, 1);
	ck_assert_str_eq(t.name, "Login");
	memset(&t, 0, sizeof t);
	struct hub_security_event_query q2 = { .device_id = "d1", .limit = 4 };
	ck_assert_int_eq(hub_security_events_each(hub, &q2, count_event, &t), SH_OK);
	ck_assert_int_eq(t.n, 4);
	memset(&t, 0, sizeof t);
	struct hub_security_event_query q3 = { .module_id = "" };
	ck_assert_int_eq(hub_security_events_each(hub, &q3, count_event, &t), SH_OK);
	ck_assert_int_eq(t.n, 1);
	memset(&t, 0, sizeof t);
	struct hub_security_event_query q4 = { .event_type = "Operational", .device_id = "d2" };
	ck_assert_int_eq(hub_security_events_each(hub, &q4, count_event, &t), SH_OK);
	ck_assert_int_eq(t.n, 0);
}
END_TEST

START_TEST(hub_reset_counts_security_rows_and_forgets_agents)
{
	add_device("d1");
	send_file("d1", SECCONFIG_MODULE_ID, "multi-10-events.json");
	send_file("d1", SECCONFIG_MODULE_ID, "example-listeningports.json");
	int64_t n_alerts = alerts(NULL).n;
	ck_assert_int_ge(n_alerts, 2);          /* brute force and open ports */
	struct hub_reset_counts c;
	ck_assert_int_eq(hub_reset(hub, false, &c, &err), SH_OK);
	ck_assert_int_eq(c.security_messages, 2);
	ck_assert_int_eq(c.security_events, 11);
	ck_assert_int_eq(c.security_alerts, n_alerts);
	ck_assert_int_eq(c.d2c_messages, 2);
	ck_assert_int_eq(events(NULL).n, 0);
	ck_assert_int_eq(alerts(NULL).n, 0);
	/* The last-message records went too: no agent to report silent. */
	fake_now += 24LL * 3600 * 1000000;
	int64_t raised = -1;
	ck_assert_int_eq(hub_security_sweep(hub, &raised, &err), SH_OK);
	ck_assert_int_eq(raised, 0);
	ck_assert_int_eq(hub_reset(hub, false, &c, &err), SH_OK);
	ck_assert_int_eq(c.security_events, 0);
	ck_assert_int_eq(c.security_alerts, 0);
}
END_TEST

/* --- migration 7: storage ------------------------------------------------------------------ */

/* A fresh file store (and hub) in place of setup's ":memory:" one; returns its path. */
static const char *reopen_on_file(void)
{
	static char path[256];
	char msg[256];
	snprintf(path, sizeof path, "/tmp/check_hub_security_%d.db", (int)getpid());
	hub_close(hub);
	store_close(st);
	unlink(path);
	ck_assert_int_eq(store_open(path, &st, msg, sizeof msg), SH_OK);
	ck_assert_int_eq(hub_open(st, &env, &hub, &err), SH_OK);
	return path;
}

static void remove_file(const char *path)
{
	char side[300];
	unlink(path);
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
}

/* One integer from `sql` on a second connection to `path` (-1 when there is no row). */
static int64_t raw_int64(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

struct got_message {
	int n;
	char body[8192];
	size_t body_len;
	char props[2048];
};

static sh_rc keep_message(void *arg, const struct hub_security_message *m)
{
	struct got_message *g = arg;
	g->n++;
	g->body_len = m->body_len < sizeof g->body ? m->body_len : sizeof g->body - 1;
	memcpy(g->body, m->body, g->body_len);
	g->body[g->body_len] = '\0';
	snprintf(g->props, sizeof g->props, "%s", m->properties_json);
	return SH_OK;
}

START_TEST(hub_security_messages_each_body_stored_once_read_back_whole)
{
	const char *path = reopen_on_file();
	add_device("d1");
	size_t len = 0;
	char *b = read_data("example-login.json", &len);
	cJSON *sys = cJSON_CreateObject();
	cJSON_AddStringToObject(sys, "iothub-interface-id", SECMSG_INTERFACE_ID);
	cJSON *app = cJSON_CreateObject();
	cJSON_AddStringToObject(app, "site", "lab-1");
	int64_t seq = 0;
	ck_assert_int_eq(hub_telemetry(hub, "d1", SECCONFIG_MODULE_ID, sys, app, b, len, &seq, &err),
			 SH_OK);
	cJSON_Delete(sys);
	cJSON_Delete(app);
	/* The security row keeps no copy: the body lives in the d2c row only. */
	ck_assert_int_eq(raw_int64(path, "SELECT count(*) FROM security_messages WHERE body IS NULL "
					 "AND d2c_seq IS NOT NULL"), 1);
	/* Read back: the body byte for byte, the properties as {"sys":…,"app":…}. */
	struct got_message g;
	memset(&g, 0, sizeof g);
	struct hub_security_message_query q = { .device_id = "d1" };
	ck_assert_int_eq(hub_security_messages_each(hub, &q, keep_message, &g), SH_OK);
	ck_assert_int_eq(g.n, 1);
	ck_assert_uint_eq(g.body_len, len);
	ck_assert_int_eq(memcmp(g.body, b, len), 0);
	cJSON *p = cJSON_Parse(g.props);
	ck_assert_ptr_nonnull(p);
	const cJSON *ps = cJSON_GetObjectItemCaseSensitive(p, "sys");
	const cJSON *pa = cJSON_GetObjectItemCaseSensitive(p, "app");
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(ps, "iothub-interface-id")->valuestring,
			 SECMSG_INTERFACE_ID);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(ps, "iothub-connection-device-id")
				 ->valuestring, "d1");
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(pa, "site")->valuestring, "lab-1");
	cJSON_Delete(p);
	free(b);
	remove_file(path);
}
END_TEST

START_TEST(hub_security_login_failures_counted_per_event_row)
{
	const char *path = reopen_on_file();
	add_device("d1");
	send_logins("d1", 1, 2, "Fail");
	send_logins("d1", 3, 3, "Success");
	send_file("d1", SECCONFIG_MODULE_ID, "example-listeningports.json");
	ck_assert_int_eq(raw_int64(path, "SELECT count(*) FROM security_events "
					 "WHERE login_failures = 1 AND name = 'Login'"), 2);
	ck_assert_int_eq(raw_int64(path, "SELECT count(*) FROM security_events "
					 "WHERE login_failures = 0"), 4);
	/* The look-back reads the partial index, not the table. */
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN SELECT id FROM security_events "
				"WHERE device_id = 'd1' AND login_failures > 0 AND timestamp_utc_us >= 0 "
				"AND timestamp_utc_us <= 1 AND message_id <> 0 "
				"ORDER BY timestamp_utc_us DESC LIMIT 5", -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_ptr_nonnull(strstr((const char *)sqlite3_column_text(s, 3),
				     "security_events_login_failures"));
	sqlite3_finalize(s);
	sqlite3_close(db);
	remove_file(path);
}
END_TEST

START_TEST(hub_security_brute_force_success_after_stored_failures)
{
	add_device("d1");
	send_logins("d1", 1, 5, "Fail");
	ck_assert_int_eq(alerts("bruteForce").n, 1);
	ck_assert_int_eq(alerts("bruteForceSuccess").n, 0);
	/* The success arrives alone, in a later message: the look-back brings the run. */
	send_logins("d1", 6, 1, "Success");
	ck_assert_int_eq(alerts("bruteForceSuccess").n, 1);
	ck_assert_str_eq(last_alert_rule, "bruteForceSuccess");
}
END_TEST

START_TEST(hub_security_brute_force_successes_alone_raise_nothing)
{
	add_device("d1");
	for (int k = 0; k < 6; k++)
		send_logins("d1", 1 + 10 * k, 10, "Success");
	ck_assert_int_eq(alerts(NULL).n, 0);
	/* Failures below the threshold after all those successes: still nothing. */
	send_logins("d1", 100, 4, "Fail");
	ck_assert_int_eq(alerts(NULL).n, 0);
	/* The fifth failure in the window completes the run. */
	send_logins("d1", 104, 1, "Fail");
	ck_assert_int_eq(alerts("bruteForce").n, 1);
}
END_TEST

struct lb {
	int n;
	int64_t last_utc;
	bool ordered;
	char ids[8][40];
};

static sh_rc keep_lb(void *arg, const struct sh_sec_event_row *row)
{
	struct lb *l = arg;
	if (l->n && row->utc_us > l->last_utc)
		l->ordered = false;
	l->last_utc = row->utc_us;
	if (l->n < 8)
		snprintf(l->ids[l->n], sizeof l->ids[0], "%s", row->event_id ? row->event_id : "");
	l->n++;
	return SH_OK;
}

/* One message row and `n` Login rows at utc 1000 * (first + k), failures given. */
static int64_t put_logins(const char *dev, int first, int n, int64_t failures)
{
	struct sh_sec_message_row m = { .device_id = dev, .module_id = "", .verdict = "valid",
					.received_us = 1, .body = "{}", .body_len = 2 };
	int64_t seq = 0;
	ck_assert_int_eq(store_sec_message_insert(st, &m, &seq), SH_OK);
	for (int k = 0; k < n; k++) {
		char id[40];
		snprintf(id, sizeof id, "e%d", first + k);
		struct sh_sec_event_row e = { .message_seq = seq, .device_id = dev, .module_id = "",
					      .event_id = id, .name = "Login", .verdict = "valid",
					      .has_utc = true, .utc_us = 1000 * (first + k),
					      .login_failures = failures };
		ck_assert_int_eq(store_sec_event_insert(st, &e, NULL), SH_OK);
	}
	return seq;
}

START_TEST(store_sec_login_failures_window_skip_limit_order)
{
	int64_t m1 = put_logins("d1", 1, 4, 1);   /* e1..e4 failed, utc 1000..4000 */
	put_logins("d1", 5, 2, 0);                /* e5, e6 succeeded */
	int64_t m3 = put_logins("d1", 7, 2, 2);   /* e7, e8 failed twice */
	put_logins("d2", 1, 3, 1);                /* another device */
	struct lb l = { .ordered = true };
	ck_assert_int_eq(store_sec_login_failures(st, "d1", 0, 100000, 0, 0, keep_lb, &l), SH_OK);
	ck_assert_int_eq(l.n, 6);
	ck_assert(l.ordered);
	ck_assert_str_eq(l.ids[0], "e8");
	/* The window is inclusive; the skipped message and successes never come back. */
	memset(&l, 0, sizeof l);
	l.ordered = true;
	ck_assert_int_eq(store_sec_login_failures(st, "d1", 2000, 7000, m3, 0, keep_lb, &l), SH_OK);
	ck_assert_int_eq(l.n, 3);
	ck_assert_str_eq(l.ids[0], "e4");
	ck_assert_str_eq(l.ids[2], "e2");
	memset(&l, 0, sizeof l);
	ck_assert_int_eq(store_sec_login_failures(st, "d1", 0, 100000, m1, 1, keep_lb, &l), SH_OK);
	ck_assert_int_eq(l.n, 1);
	ck_assert_str_eq(l.ids[0], "e8");
	memset(&l, 0, sizeof l);
	ck_assert_int_eq(store_sec_login_failures(st, "nobody", 0, 100000, 0, 0, keep_lb, &l),
			 SH_OK);
	ck_assert_int_eq(l.n, 0);
	ck_assert_int_eq(store_sec_login_failures(st, NULL, 0, 1, 0, 0, keep_lb, &l),
			 SH_E_INVALID);
}
END_TEST

/* Run every statement of migrations 1..6 on a new file: a database made before version 7. */
static void make_v6_file(const char *path)
{
	sqlite3 *db = NULL;
	remove_file(path);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA foreign_keys = ON; BEGIN", NULL, NULL, NULL),
			 SQLITE_OK);
	for (int v = 1; v <= 6; v++)
		for (const char *const *q = store_migration_sql(v); q && *q; q++)
			ck_assert_msg(sqlite3_exec(db, *q, NULL, NULL, NULL) == SQLITE_OK, "v%d: %s", v,
				      sqlite3_errmsg(db));
	const char *rows =
		"PRAGMA user_version = 6;"
		"INSERT INTO d2c_messages (seq, device_id, enqueued_us, body) "
		"  VALUES (1, 'd1', 5000000, X'7B7D');"
		"INSERT INTO security_messages (id, d2c_seq, device_id, module_id, received_us, "
		"  properties, body, verdict, n_events) "
		"  VALUES (1, 1, 'd1', 'azureiotsecurity', 5000000, '{\"sys\":{},\"app\":{}}', "
		"  CAST('old body' AS BLOB), 'tolerated', 2);"
		"INSERT INTO security_events (id, message_id, device_id, module_id, received_us, "
		"  event_id, name, timestamp_utc_us, payload, verdict) VALUES "
		"  (1, 1, 'd1', 'azureiotsecurity', 5000000, 'a', 'Login', 4000000, "
		"   '[{\"UserName\":\"root\",\"Result\":\"Fail\"},{\"UserName\":\"pi\",\"Result\":\"FAIL\"}]',"
		"   'valid'),"
		"  (2, 1, 'd1', 'azureiotsecurity', 5000000, 'b', 'Login', 4500000, "
		"   '[{\"UserName\":\"root\",\"Result\":\"Success\"}]', 'valid');"
		"COMMIT;";
	ck_assert_msg(sqlite3_exec(db, rows, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
}

static sh_rc keep_last(void *arg, const char *device_id, const char *module_id, int64_t last_us,
		       int64_t count)
{
	int64_t *v = arg;
	(void)device_id;
	(void)module_id;
	v[0] = last_us;
	v[1] = count;
	return SH_OK;
}

START_TEST(store_open_version6_file_migrates_keeping_security_rows)
{
	char path[256], msg[256];
	snprintf(path, sizeof path, "/tmp/check_hub_security_v6_%d.db", (int)getpid());
	make_v6_file(path);
	hub_close(hub);
	store_close(st);
	ck_assert_int_eq(store_open(path, &st, msg, sizeof msg), SH_OK);
	ck_assert_int_eq(hub_open(st, &env, &hub, &err), SH_OK);
	ck_assert_int_eq(raw_int64(path, "PRAGMA user_version"), 7);
	/* The old row keeps its own body and properties. */
	struct got_message g;
	memset(&g, 0, sizeof g);
	struct hub_security_message_query q = { .device_id = "d1" };
	ck_assert_int_eq(hub_security_messages_each(hub, &q, keep_message, &g), SH_OK);
	ck_assert_int_eq(g.n, 1);
	ck_assert_str_eq(g.body, "old body");
	ck_assert_str_eq(g.props, "{\"sys\":{},\"app\":{}}");
	/* Failures counted for the old Login rows (any case, as the rule reads them). */
	struct lb l = { .ordered = true };
	ck_assert_int_eq(store_sec_login_failures(st, "d1", 1, 10000000, 0, 0, keep_lb, &l), SH_OK);
	ck_assert_int_eq(l.n, 1);
	ck_assert_str_eq(l.ids[0], "a");
	ck_assert_int_eq(raw_int64(path, "SELECT login_failures FROM security_events WHERE id = 1"),
			 2);
	/* The last-message record is filled in from the old rows. */
	int64_t last[2] = { 0, 0 };
	ck_assert_int_eq(store_sec_last_messages(st, "d1", keep_last, last), SH_OK);
	ck_assert_int_eq(last[0], 5000000);
	ck_assert_int_eq(last[1], 1);
	/* Foreign keys still hold, and new rows go in next to the old ones. */
	ck_assert_int_eq(raw_int64(path, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
	add_device("d1");
	send_logins("d1", 1, 1, "Fail");
	ck_assert_int_eq(events("Login").n, 3);
	ck_assert_int_eq(store_sec_last_messages(st, "d1", keep_last, last), SH_OK);
	ck_assert_int_eq(last[1], 2);
	remove_file(path);
}
END_TEST

/* --- hub_auth_device_token ----------------------------------------------------------------- */

START_TEST(hub_auth_device_token_bare_host_scope_ok)
{
	add_device("d1");
	struct sh_identity d;
	ck_assert_int_eq(hub_identity_get(hub, "d1", NULL, &d, &err), SH_OK);
	char tok[512];
	size_t n = 0;
	int64_t se = fake_now / 1000000 + 3600;
	ck_assert_int_eq(sas_build(hub_hostname(hub), d.primary_key, NULL, se, tok, sizeof tok, &n),
			 SH_OK);
	ck_assert_int_eq(hub_auth_device_token(hub, "d1", tok, n), HUB_AUTH_OK);
	ck_assert_int_eq(hub_auth_device_token(hub, "d2", tok, n), HUB_AUTH_UNKNOWN_IDENTITY);
	ck_assert_int_eq(sas_build(hub_hostname(hub), d.primary_key, "iothubowner", se, tok,
				   sizeof tok, &n), SH_OK);
	ck_assert_int_eq(hub_auth_device_token(hub, "d1", tok, n), HUB_AUTH_UNKNOWN_POLICY);
	ck_assert_int_eq(sas_build(hub_hostname(hub), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
				   NULL, se, tok, sizeof tok, &n), SH_OK);
	ck_assert_int_eq(hub_auth_device_token(hub, "d1", tok, n), HUB_AUTH_BAD_SIGNATURE);
	ck_assert_int_eq(hub_auth_device_token(hub, "d1", "junk", 4), HUB_AUTH_MALFORMED);
}
END_TEST

static Suite *hub_security_suite(void)
{
	Suite *s = suite_create("hub_security");
	struct {
		const char *name;
		const TTest *tests[8];
	} cases[] = {
		{"hub_security_enable", {hub_security_enable_missing_device_fails_404001,
					 hub_security_enable_creates_module_with_default_config,
					 hub_security_enable_existing_module_gets_config_keeps_keys}},
		{"hub_security_autocreate_all", {hub_identity_create_autocreate_follows_setting,
						 hub_security_autocreate_all_covers_existing_devices,
						 hub_fixtures_apply_autocreate_with_listed_module_no_conflict}},
		{"hub_telemetry", {hub_telemetry_security_service_mode_tolerates_aggregate,
				   hub_telemetry_security_strict_mode_rejects_aggregate,
				   hub_telemetry_security_all_examples_valid,
				   hub_telemetry_security_not_json_kept_invalid_and_acked,
				   hub_telemetry_security_not_ordinary_telemetry,
				   hub_telemetry_other_interface_id_is_telemetry}},
		{"hub_security_alerts_each", {hub_security_brute_force_fires_once_across_messages,
					      hub_security_brute_force_threshold_from_settings,
					      hub_security_open_ports_alert_and_dedupe}},
		{"hub_security_sweep", {hub_security_sweep_agent_silent_once,
					hub_security_sweep_short_frequency_from_twin}},
		{"hub_security_drift", {hub_security_drift_pending_then_applied}},
		{"hub_security_summary", {hub_security_summary_counts}},
		{"hub_security_events_each", {hub_security_events_each_filters_and_pages}},
		{"hub_auth_device_token", {hub_auth_device_token_bare_host_scope_ok}},
		{"hub_security_messages_each", {hub_security_messages_each_body_stored_once_read_back_whole}},
		{"hub_security_ingest_rules", {hub_security_login_failures_counted_per_event_row,
					       hub_security_brute_force_success_after_stored_failures,
					       hub_security_brute_force_successes_alone_raise_nothing}},
		{"store_sec_login_failures", {store_sec_login_failures_window_skip_limit_order}},
		{"store_open", {store_open_version6_file_migrates_keeping_security_rows}},
		{"hub_reset", {hub_reset_counts_security_rows_and_forgets_agents}},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_add_checked_fixture(tc, setup, teardown);
		for (size_t k = 0; k < 8 && cases[i].tests[k]; k++)
			tcase_add_test(tc, cases[i].tests[k]);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hub_security_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
