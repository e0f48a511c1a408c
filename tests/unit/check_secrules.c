/*
 * check_secrules.c: unit tests of core/secrules: each rule fires at its threshold and not one
 * step below it, the settings parser (every key, bad values, unknown keys), the JSON view, and
 * the rules over the rows secmsg makes of tests/data/secmsg/multi-10-events.json.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secmsg.h"
#include "core/secrules.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define S 1000000LL
#define T0 1579083600000000LL /* 2020-01-15T10:20:00Z */

static cJSON *payloads[64];
static size_t n_payloads;

/* An event row for device "dev1" / module azureiotsecurity; the payload is kept for teardown. */
static struct secrules_event mk(const char *id, const char *name, int64_t t, const char *payload)
{
	cJSON *p = cJSON_Parse(payload);
	ck_assert_msg(p != NULL, "bad payload %s", payload);
	ck_assert_uint_lt(n_payloads, NELEM(payloads));
	payloads[n_payloads++] = p;
	struct secrules_event e = { "dev1", "azureiotsecurity", id, name, t, p, false };
	return e;
}

static void teardown(void)
{
	for (size_t i = 0; i < n_payloads; i++)
		cJSON_Delete(payloads[i]);
	n_payloads = 0;
}

static struct secrules_thresholds defaults(void)
{
	struct secrules_thresholds t;
	secrules_thresholds_default(&t);
	return t;
}

#define FAIL_ITEM "[{\"ProcessId\":1,\"UserName\":\"root\",\"Operation\":\"PAM:authentication\",\"Executable\":\"/usr/sbin/sshd\",\"RemoteAddress\":\"198.51.100.23\",\"Result\":\"Fail\"}]"
#define OK_ITEM "[{\"ProcessId\":1,\"UserName\":\"root\",\"Operation\":\"PAM:authentication\",\"Executable\":\"/usr/sbin/sshd\",\"RemoteAddress\":\"198.51.100.23\",\"Result\":\"Success\"}]"

static const char *const ids[] = { "e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7" };

/* ---- brute force ---- */

START_TEST(secrules_brute_force_threshold_within_window_fires)
{
	struct secrules_thresholds t = defaults(); /* 5 in 600 s */
	struct secrules_event ev[5];
	for (int i = 0; i < 5; i++) /* 0, 150, 300, 450, 600 s: exactly the window */
		ev[i] = mk(ids[4 - i], "Login", T0 + (4 - i) * 150 * S, FAIL_ITEM);
	struct secrules_alerts out = {0};
	ck_assert_int_eq(secrules_brute_force(ev, 5, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_str_eq(out.v[0].rule, "bruteForce");
	ck_assert_str_eq(out.v[0].severity, "Low");
	ck_assert_str_eq(out.v[0].device_id, "dev1");
	ck_assert_str_eq(out.v[0].module_id, "azureiotsecurity");
	ck_assert_int_eq(out.v[0].time_us, T0 + 600 * S);
	ck_assert_uint_eq(out.v[0].n_evidence, 5);
	ck_assert_str_eq(out.v[0].evidence[0], "e0"); /* in time order */
	ck_assert_str_eq(out.v[0].evidence[4], "e4");
	ck_assert_ptr_nonnull(strstr(out.v[0].description, "198.51.100.23"));
	secrules_alerts_free(&out);
}
END_TEST

START_TEST(secrules_brute_force_below_threshold_or_outside_window_silent)
{
	struct secrules_thresholds t = defaults();
	struct secrules_event ev[5];
	for (int i = 0; i < 4; i++)
		ev[i] = mk(ids[i], "Login", T0 + i * 10 * S, FAIL_ITEM);
	struct secrules_alerts out = {0};
	ck_assert_int_eq(secrules_brute_force(ev, 4, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 0); /* four failures */
	ev[4] = mk("e4", "Login", T0 + 600 * S + 1, FAIL_ITEM); /* fifth one microsecond too late */
	ck_assert_int_eq(secrules_brute_force(ev, 5, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 0);
	/* other users, addresses and devices are other groups */
	struct secrules_event mixed[5];
	mixed[0] = mk("m0", "Login", T0, FAIL_ITEM);
	mixed[1] = mk("m1", "Login", T0 + S, FAIL_ITEM);
	mixed[2] = mk("m2", "Login", T0 + 2 * S, "[{\"ProcessId\":1,\"UserName\":\"pi\",\"Operation\":\"x\",\"Executable\":\"y\",\"RemoteAddress\":\"198.51.100.23\",\"Result\":\"Fail\"}]");
	mixed[3] = mk("m3", "Login", T0 + 3 * S, "[{\"ProcessId\":1,\"UserName\":\"root\",\"Operation\":\"x\",\"Executable\":\"y\",\"RemoteAddress\":\"203.0.113.9\",\"Result\":\"Fail\"}]");
	mixed[4] = mk("m4", "Login", T0 + 4 * S, FAIL_ITEM);
	mixed[4].device_id = "dev2";
	ck_assert_int_eq(secrules_brute_force(mixed, 5, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 0);
	secrules_alerts_free(&out);
}
END_TEST

START_TEST(secrules_brute_force_followed_by_success_high)
{
	struct secrules_thresholds t = defaults();
	t.brute_force_failures = 3;
	struct secrules_event ev[4];
	for (int i = 0; i < 3; i++)
		ev[i] = mk(ids[i], "Login", T0 + i * S, FAIL_ITEM);
	ev[3] = mk("ok", "Login", T0 + 2 * S + 600 * S, OK_ITEM); /* at the window's edge */
	struct secrules_alerts out = {0};
	ck_assert_int_eq(secrules_brute_force(ev, 4, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_str_eq(out.v[0].rule, "bruteForceSuccess");
	ck_assert_str_eq(out.v[0].severity, "High");
	ck_assert_uint_eq(out.v[0].n_evidence, 4);
	ck_assert_str_eq(out.v[0].evidence[3], "ok");
	secrules_alerts_free(&out);
	ev[3].time_us += 1; /* one microsecond later: only the failed attempt */
	ck_assert_int_eq(secrules_brute_force(ev, 4, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_str_eq(out.v[0].rule, "bruteForce");
	secrules_alerts_free(&out);
}
END_TEST

START_TEST(secrules_brute_force_stored_run_not_raised_again)
{
	struct secrules_thresholds t = defaults(); /* 5 in 600 s */
	static const char *const sid[] = { "s0", "s1", "s2", "s3", "s4", "n0", "n1", "ok" };
	struct secrules_event ev[8];
	for (int i = 0; i < 7; i++) {
		ev[i] = mk(sid[i], "Login", T0 + i * 10 * S, FAIL_ITEM);
		ev[i].stored = i < 5;
	}
	struct secrules_alerts out = {0};
	/* Five stored failures (alerted when they came) and two new ones: the same run. */
	ck_assert_int_eq(secrules_brute_force(ev, 7, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 0);
	/* Three stored and two new: the new ones complete the run now. */
	ck_assert_int_eq(secrules_brute_force(ev + 2, 5, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_str_eq(out.v[0].rule, "bruteForce");
	ck_assert_str_eq(out.v[0].evidence[0], "s2");
	secrules_alerts_free(&out);
	/* A new success after a stored complete run: the High alert, with the whole run. */
	ev[5] = mk("ok", "Login", T0 + 60 * S, OK_ITEM);
	ck_assert_int_eq(secrules_brute_force(ev, 6, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_str_eq(out.v[0].rule, "bruteForceSuccess");
	ck_assert_uint_eq(out.v[0].n_evidence, 6);
	secrules_alerts_free(&out);
	/* The same success seen before: nothing. */
	ev[5].stored = true;
	ck_assert_int_eq(secrules_brute_force(ev, 6, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 0);
}
END_TEST

/* ---- open ports ---- */

START_TEST(secrules_open_ports_outside_allowed_fires_allowed_silent)
{
	struct secrules_thresholds t = defaults(); /* allowed: 22, all interfaces only */
	struct secrules_event ev[3];
	ev[0] = mk("p0", "ListeningPorts", T0, "[{\"Protocol\":\"tcp\",\"LocalAddress\":\"0.0.0.0\",\"LocalPort\":\"22\"},"
					      "{\"Protocol\":\"tcp\",\"LocalAddress\":\"127.0.0.1\",\"LocalPort\":\"631\"}]");
	ev[1] = mk("p1", "ListeningPorts", T0, "[{\"Protocol\":\"tcp\",\"LocalAddress\":\"0.0.0.0\",\"LocalPort\":\"22\"},"
					      "{\"Protocol\":\"tcp6\",\"LocalAddress\":\"::\",\"LocalPort\":\"8888\"}]");
	ev[2] = mk("p2", "ListeningPorts", T0, "[]");
	struct secrules_alerts out = {0};
	ck_assert_int_eq(secrules_open_ports(ev, 3, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_str_eq(out.v[0].rule, "openPorts");
	ck_assert_str_eq(out.v[0].severity, "Medium");
	ck_assert_str_eq(out.v[0].evidence[0], "p1");
	ck_assert_ptr_nonnull(strstr(out.v[0].description, "tcp6 8888"));
	secrules_alerts_free(&out);
	/* allow 8888: silent; count loopback too: 631 fires */
	ck_assert_int_eq(secrules_thresholds_set(&t, "security.alerts.openPorts.allowed", "22,8888"), SH_OK);
	ck_assert_int_eq(secrules_open_ports(ev, 3, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 0);
	t.open_ports_all_interfaces_only = false;
	ck_assert_int_eq(secrules_open_ports(ev, 3, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_str_eq(out.v[0].evidence[0], "p0");
	secrules_alerts_free(&out);
}
END_TEST

START_TEST(secrules_open_ports_ranges_and_wildcards)
{
	struct secrules_thresholds t = defaults();
	ck_assert_int_eq(secrules_thresholds_set(&t, "security.alerts.openPorts.allowed", "80,81,82"), SH_OK);
	struct secrules_event ev[1];
	ev[0] = mk("r", "ListeningPorts", T0, "[{\"Protocol\":\"tcp\",\"LocalPort\":\"80-82,81\"}]");
	struct secrules_alerts out = {0};
	ck_assert_int_eq(secrules_open_ports(ev, 1, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 0);
	static const char *const exposed[] = { "80-83", "*", "79", "82-80", "80,", "65536" };
	for (size_t i = 0; i < NELEM(exposed); i++) {
		char p[128];
		snprintf(p, sizeof(p), "[{\"Protocol\":\"tcp\",\"LocalPort\":\"%s\"}]", exposed[i]);
		ev[0] = mk("r", "ListeningPorts", T0, p);
		ck_assert_int_eq(secrules_open_ports(ev, 1, &t, &out), SH_OK);
		ck_assert_msg(out.n == 1, "%s", exposed[i]);
		secrules_alerts_free(&out);
	}
}
END_TEST

/* ---- permissive firewall ---- */

START_TEST(secrules_permissive_firewall_policy_fires_narrow_rule_silent)
{
	struct secrules_thresholds t = defaults();
	struct secrules_event ev[2];
	ev[0] = mk("f0", "FirewallConfiguration", T0,
		   "[{\"ChainName\":\"INPUT\",\"Direction\":\"In\",\"Priority\":0,\"Enabled\":true,\"Action\":\"Allow\","
		   "\"Protocol\":\"tcp\",\"SourceAddress\":\"0.0.0.0/0\",\"SourcePort\":\"*\",\"DestinationAddress\":\"0.0.0.0/0\","
		   "\"DestinationPort\":\"22\"},"
		   "{\"ChainName\":\"INPUT\",\"Direction\":\"In\",\"Priority\":1,\"Enabled\":true,\"Action\":\"Deny\"},"
		   "{\"ChainName\":\"OUTPUT\",\"Direction\":\"Out\",\"Priority\":1,\"Enabled\":false,\"Action\":\"Allow\"}]");
	ev[1] = mk("f1", "FirewallConfiguration", T0,
		   "[{\"ChainName\":\"INPUT\",\"Direction\":\"In\",\"Priority\":1,\"Enabled\":true,\"Action\":\"Allow\"}]");
	struct secrules_alerts out = {0};
	ck_assert_int_eq(secrules_permissive_firewall(ev, 1, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 0);
	ck_assert_int_eq(secrules_permissive_firewall(ev, 2, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_str_eq(out.v[0].rule, "permissiveFirewall");
	ck_assert_str_eq(out.v[0].evidence[0], "f1");
	ck_assert_ptr_nonnull(strstr(out.v[0].description, "chain INPUT"));
	secrules_alerts_free(&out);
}
END_TEST

/* ---- OS baseline ---- */

START_TEST(secrules_os_baseline_min_severity_boundary)
{
	struct secrules_thresholds t = defaults(); /* Warning and above */
	struct secrules_event ev[1];
	ev[0] = mk("b0", "OSBaseline", T0,
		   "[{\"Description\":\"d\",\"CceId\":\"CCE-1\",\"Result\":\"Fail\",\"Error\":\"\",\"Severity\":\"Informational\"},"
		   "{\"Description\":\"d\",\"CceId\":\"CCE-2\",\"Result\":\"Pass\",\"Error\":\"\",\"Severity\":\"Critical\"}]");
	struct secrules_alerts out = {0};
	ck_assert_int_eq(secrules_os_baseline(ev, 1, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 0);
	ck_assert_int_eq(secrules_thresholds_set(&t, "security.alerts.osBaseline.minSeverity", "Informational"), SH_OK);
	ck_assert_int_eq(secrules_os_baseline(ev, 1, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 1);
	secrules_alerts_free(&out);
	t = defaults();
	ev[0] = mk("b1", "OSBaseline", T0,
		   "[{\"Description\":\"d\",\"CceId\":\"CCE-3660-8\",\"Result\":\"Fail\",\"Error\":\"\",\"Severity\":\"Warning\"},"
		   "{\"Description\":\"d\",\"CceId\":\"CCE-4\",\"Result\":\"Fail\",\"Error\":\"\",\"Severity\":\"Critical\"}]");
	ck_assert_int_eq(secrules_os_baseline(ev, 1, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_str_eq(out.v[0].rule, "osBaseline");
	ck_assert_ptr_nonnull(strstr(out.v[0].description, "2 failed"));
	ck_assert_ptr_nonnull(strstr(out.v[0].description, "Critical 1"));
	ck_assert_ptr_nonnull(strstr(out.v[0].description, "CCE-3660-8"));
	secrules_alerts_free(&out);
}
END_TEST

/* ---- dropped events ---- */

START_TEST(secrules_dropped_events_min_boundary)
{
	struct secrules_thresholds t = defaults();
	ck_assert_int_eq(secrules_thresholds_set(&t, "security.alerts.droppedEvents.min", "12"), SH_OK);
	struct secrules_event ev[1];
	ev[0] = mk("d0", "DroppedEventsStatistics", T0,
		   "[{\"Queue\":\"High\",\"CollectedEvents\":57,\"DroppedEvents\":0},{\"Queue\":\"Low\",\"CollectedEvents\":1290,\"DroppedEvents\":11}]");
	struct secrules_alerts out = {0};
	ck_assert_int_eq(secrules_dropped_events(ev, 1, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 0);
	ev[0] = mk("d1", "DroppedEventsStatistics", T0,
		   "[{\"Queue\":\"High\",\"CollectedEvents\":57,\"DroppedEvents\":0},{\"Queue\":\"Low\",\"CollectedEvents\":1290,\"DroppedEvents\":12}]");
	ck_assert_int_eq(secrules_dropped_events(ev, 1, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_str_eq(out.v[0].rule, "droppedEvents");
	ck_assert_str_eq(out.v[0].severity, "Low");
	ck_assert_ptr_nonnull(strstr(out.v[0].description, "12 of 1347"));
	secrules_alerts_free(&out);
}
END_TEST

/* ---- agent silent ---- */

START_TEST(secrules_agent_silent_multiple_boundary)
{
	struct secrules_thresholds t = defaults(); /* 3 periods */
	int64_t hp = 7 * 60 * S;
	struct secrules_alerts out = {0};
	ck_assert_int_eq(secrules_agent_silent("dev1", NULL, T0, T0 + 3 * hp, hp, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 0);
	ck_assert_int_eq(secrules_agent_silent("dev1", NULL, T0, T0 + 3 * hp + 1, hp, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_str_eq(out.v[0].rule, "agentSilent");
	ck_assert_str_eq(out.v[0].severity, "Low");
	ck_assert_int_eq(out.v[0].time_us, T0 + 3 * hp + 1);
	ck_assert_ptr_null(out.v[0].module_id);
	ck_assert_uint_eq(out.v[0].n_evidence, 0);
	secrules_alerts_free(&out);
	/* never sent, disabled, clock behind: nothing */
	ck_assert_int_eq(secrules_agent_silent("dev1", NULL, 0, T0, hp, &t, &out), SH_OK);
	ck_assert_int_eq(secrules_agent_silent("dev1", NULL, T0, T0 - S, hp, &t, &out), SH_OK);
	t.agent_silent_enabled = false;
	ck_assert_int_eq(secrules_agent_silent("dev1", NULL, T0, T0 + 100 * hp, hp, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 0);
}
END_TEST

/* ---- evaluate over secmsg rows ---- */

START_TEST(secrules_evaluate_rows_of_multi_event_message)
{
	char path[1024];
	const char *slash = strrchr(__FILE__, '/');
	snprintf(path, sizeof(path), "%.*s/../data/secmsg/multi-10-events.json", (int)(slash - __FILE__), __FILE__);
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	char body[16384];
	size_t len = fread(body, 1, sizeof(body), f);
	fclose(f);
	struct secmsg_result r;
	ck_assert_int_eq(secmsg_validate(body, len, SECMSG_SERVICE, &r), SH_OK);
	struct secrules_event ev[10];
	ck_assert_uint_eq(r.n_events, 10);
	for (size_t i = 0; i < r.n_events; i++)
		ev[i] = mk(r.events[i].id, r.events[i].name, r.events[i].time_utc_us, r.events[i].payload_json);
	struct secrules_thresholds t = defaults();
	struct secrules_alerts out = {0};
	ck_assert_int_eq(secrules_evaluate(ev, 10, &t, &out), SH_OK);
	/* six failed root logins in 50 s, port 8888 on ::, both chains' ACCEPT policies */
	ck_assert_uint_eq(out.n, 3);
	ck_assert_str_eq(out.v[0].rule, "bruteForce");
	ck_assert_uint_eq(out.v[0].n_evidence, 6);
	ck_assert_str_eq(out.v[1].rule, "openPorts");
	ck_assert_str_eq(out.v[2].rule, "permissiveFirewall");
	cJSON *j = secrules_alert_json(&out.v[0]);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "deviceId")->valuestring, "dev1");
	ck_assert_str_eq(cJSON_GetObjectItem(j, "moduleId")->valuestring, "azureiotsecurity");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "evidence")), 6);
	ck_assert_double_eq(cJSON_GetObjectItem(j, "timeUs")->valuedouble, (double)out.v[0].time_us);
	cJSON_Delete(j);
	secrules_alerts_free(&out);
	t.brute_force_enabled = t.open_ports_enabled = t.firewall_enabled = false;
	ck_assert_int_eq(secrules_evaluate(ev, 10, &t, &out), SH_OK);
	ck_assert_uint_eq(out.n, 0);
	secmsg_result_free(&r);
}
END_TEST

/* ---- settings ---- */

START_TEST(secrules_thresholds_set_every_key)
{
	struct secrules_thresholds t = defaults();
	ck_assert_int_eq(secrules_thresholds_set(&t, "security.alerts.bruteForce.failures", "3"), SH_OK);
	ck_assert_int_eq(t.brute_force_failures, 3);
	ck_assert_int_eq(secrules_thresholds_set(&t, "security.alerts.bruteForce.window", "PT2M"), SH_OK);
	ck_assert_int_eq(t.brute_force_window_us, 120 * S);
	ck_assert_int_eq(secrules_thresholds_set(&t, "security.alerts.bruteForce.window", "90"), SH_OK);
	ck_assert_int_eq(t.brute_force_window_us, 90 * S);
	ck_assert_int_eq(secrules_thresholds_set(&t, "security.alerts.openPorts.allowed", ""), SH_OK);
	ck_assert_uint_eq(t.n_open_ports_allowed, 0);
	ck_assert_int_eq(secrules_thresholds_set(&t, "security.alerts.openPorts.allowed", "22,443,0,65535"), SH_OK);
	ck_assert_uint_eq(t.n_open_ports_allowed, 4);
	ck_assert_int_eq(t.open_ports_allowed[3], 65535);
	ck_assert_int_eq(secrules_thresholds_set(&t, "security.alerts.openPorts.allInterfacesOnly", "false"), SH_OK);
	ck_assert(!t.open_ports_all_interfaces_only);
	ck_assert_int_eq(secrules_thresholds_set(&t, "security.alerts.osBaseline.minSeverity", "Critical"), SH_OK);
	ck_assert_int_eq(t.baseline_min_severity, 3);
	ck_assert_int_eq(secrules_thresholds_set(&t, "security.alerts.agentSilent.multiple", "10"), SH_OK);
	ck_assert_int_eq(t.agent_silent_multiple, 10);
	ck_assert_int_eq(secrules_thresholds_set(&t, "security.alerts.droppedEvents.min", "5"), SH_OK);
	ck_assert_int_eq(t.dropped_events_min, 5);
	static const char *const rules[] = { "bruteForce", "openPorts", "permissiveFirewall",
					     "osBaseline", "agentSilent", "droppedEvents" };
	for (size_t i = 0; i < NELEM(rules); i++) {
		char key[96];
		snprintf(key, sizeof(key), "security.alerts.%s.enabled", rules[i]);
		ck_assert_int_eq(secrules_thresholds_set(&t, key, "false"), SH_OK);
	}
	ck_assert(!t.brute_force_enabled && !t.open_ports_enabled && !t.firewall_enabled &&
		  !t.baseline_enabled && !t.agent_silent_enabled && !t.dropped_events_enabled);
}
END_TEST

START_TEST(secrules_thresholds_set_bad_values_unchanged)
{
	static const char *const bad[][2] = {
		{ "security.alerts.bruteForce.failures", "0" },
		{ "security.alerts.bruteForce.failures", "-1" },
		{ "security.alerts.bruteForce.failures", "5x" },
		{ "security.alerts.bruteForce.failures", "" },
		{ "security.alerts.bruteForce.failures", NULL },
		{ "security.alerts.bruteForce.failures", "99999999999999999999999" },
		{ "security.alerts.bruteForce.window", "PT0S" },
		{ "security.alerts.bruteForce.window", "10m" },
		{ "security.alerts.openPorts.allowed", "22,,80" },
		{ "security.alerts.openPorts.allowed", "22," },
		{ "security.alerts.openPorts.allowed", "65536" },
		{ "security.alerts.openPorts.allowed", " 22" },
		{ "security.alerts.openPorts.enabled", "yes" },
		{ "security.alerts.osBaseline.minSeverity", "critical" },
		{ "security.alerts.agentSilent.multiple", "0" },
		{ "security.alerts.agentSilent.multiple", "1001" },
		{ "security.alerts.droppedEvents.min", "0" },
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct secrules_thresholds t = defaults(), before = t;
		ck_assert_msg(secrules_thresholds_set(&t, bad[i][0], bad[i][1]) == SH_E_INVALID, "%s=%s",
			      bad[i][0], bad[i][1] ? bad[i][1] : "(null)");
		ck_assert(memcmp(&t, &before, sizeof(t)) == 0);
	}
	struct secrules_thresholds t = defaults();
	ck_assert_int_eq(secrules_thresholds_set(&t, "security.alerts.bruteForce.limit", "1"), SH_E_NOTFOUND);
	ck_assert_int_eq(secrules_thresholds_set(&t, "security.autoCreateModule", "true"), SH_E_NOTFOUND);
	ck_assert_int_eq(secrules_thresholds_set(&t, NULL, "1"), SH_E_NOTFOUND);
}
END_TEST

START_TEST(secrules_thresholds_from_settings_pairs)
{
	const char *keys[] = { "security.autoCreateModule", "security.alerts.bruteForce.failures",
			       "messages.retention", "security.alerts.agentSilent.multiple" };
	const char *values[] = { "true", "7", "P1D", "4" };
	struct secrules_thresholds t;
	const char *bad = NULL;
	ck_assert_int_eq(secrules_thresholds_from_settings(&t, keys, values, 4, &bad), SH_OK);
	ck_assert_int_eq(t.brute_force_failures, 7);
	ck_assert_int_eq(t.agent_silent_multiple, 4);
	ck_assert_int_eq(t.dropped_events_min, 1);
	values[3] = "many";
	ck_assert_int_eq(secrules_thresholds_from_settings(&t, keys, values, 4, &bad), SH_E_INVALID);
	ck_assert_ptr_eq(bad, keys[3]);
	keys[0] = "security.alerts.nope";
	ck_assert_int_eq(secrules_thresholds_from_settings(&t, keys, values, 1, &bad), SH_E_NOTFOUND);
	ck_assert_ptr_eq(bad, keys[0]);
}
END_TEST

START_TEST(secrules_thresholds_default_values)
{
	struct secrules_thresholds t = defaults();
	ck_assert_int_eq(t.brute_force_failures, 5);
	ck_assert_int_eq(t.brute_force_window_us, 600 * S);
	ck_assert_uint_eq(t.n_open_ports_allowed, 1);
	ck_assert_int_eq(t.open_ports_allowed[0], 22);
	ck_assert(t.open_ports_all_interfaces_only);
	ck_assert_int_eq(t.baseline_min_severity, 1);
	ck_assert_int_eq(t.agent_silent_multiple, 3);
	ck_assert_int_eq(t.dropped_events_min, 1);
}
END_TEST

START_TEST(secrules_alerts_free_null_and_empty)
{
	struct secrules_alerts a = {0};
	secrules_alerts_free(&a);
	secrules_alerts_free(NULL);
	ck_assert_ptr_null(a.v);
}
END_TEST

static Suite *secrules_suite(void)
{
	Suite *s = suite_create("secrules");
	struct {
		const char *name;
		const TTest *tests[5];
	} cases[] = {
		{ "secrules_brute_force", { secrules_brute_force_threshold_within_window_fires,
					    secrules_brute_force_below_threshold_or_outside_window_silent,
					    secrules_brute_force_followed_by_success_high,
					    secrules_brute_force_stored_run_not_raised_again } },
		{ "secrules_open_ports", { secrules_open_ports_outside_allowed_fires_allowed_silent,
					   secrules_open_ports_ranges_and_wildcards } },
		{ "secrules_permissive_firewall", { secrules_permissive_firewall_policy_fires_narrow_rule_silent } },
		{ "secrules_os_baseline", { secrules_os_baseline_min_severity_boundary } },
		{ "secrules_dropped_events", { secrules_dropped_events_min_boundary } },
		{ "secrules_agent_silent", { secrules_agent_silent_multiple_boundary } },
		{ "secrules_evaluate", { secrules_evaluate_rows_of_multi_event_message } },
		{ "secrules_thresholds_set", { secrules_thresholds_set_every_key,
					       secrules_thresholds_set_bad_values_unchanged } },
		{ "secrules_thresholds_from_settings", { secrules_thresholds_from_settings_pairs } },
		{ "secrules_thresholds_default", { secrules_thresholds_default_values } },
		{ "secrules_alerts_free", { secrules_alerts_free_null_and_empty } },
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_add_checked_fixture(tc, NULL, teardown);
		for (size_t k = 0; k < 5 && cases[i].tests[k]; k++)
			tcase_add_test(tc, cases[i].tests[k]);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(secrules_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
