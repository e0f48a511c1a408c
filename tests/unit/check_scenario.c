/*
 * check_scenario.c: unit tests of the scenario model room (core/scenario): the parser with
 * every step kind, its error messages (file, line, JSON path), durations, identities, templates
 * and their expander, and agreement with scenarios/scenario.schema.json. Never runs a hub.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/fixture.h"
#include "core/scenario.h"

#define KEY "t1CAOadhixhQthLQKWlyPmdQLHHu61HdaHWvsEJWCKA="

/* Copy single-quoted JSON with double quotes, exact length, no NUL: ASan sees overreads. */
static sh_rc parse_q(const char *q, const char *file, struct scenario **sc,
		     struct scenario_error *err)
{
	size_t n = strlen(q);
	char *buf = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < n; i++)
		buf[i] = q[i] == '\'' ? '"' : q[i];
	sh_rc rc = scenario_parse(buf, n, file, sc, err);
	free(buf);
	return rc;
}

/* Wrap step JSON (single-quoted) into a scenario with a virtual clock and two variables. */
static sh_rc parse_steps(const char *steps, struct scenario **sc, struct scenario_error *err)
{
	char doc[8192];
	snprintf(doc, sizeof doc,
		 "{'name':'t','clock':'virtual','variables':{'mode':'eco','n':3},'steps':[%s]}",
		 steps);
	return parse_q(doc, "dir/t.json", sc, err);
}

static void expect_step_fail(const char *steps, const char *path, const char *reason_part)
{
	struct scenario *sc = (struct scenario *)1;
	struct scenario_error e;
	sh_rc rc = parse_steps(steps, &sc, &e);
	ck_assert_msg(rc == SH_E_INVALID, "%s: rc %d", steps, rc);
	ck_assert_ptr_null(sc);
	ck_assert_msg(strcmp(e.path, path) == 0, "%s: path %s, want %s (%s)", steps, e.path, path,
		      e.reason);
	ck_assert_msg(strstr(e.reason, reason_part) != NULL, "%s: reason '%s' lacks '%s'", steps,
		      e.reason, reason_part);
	ck_assert_str_eq(e.file, "dir/t.json");
}

static struct scenario *ok_steps(const char *steps)
{
	struct scenario *sc = NULL;
	struct scenario_error e;
	sh_rc rc = parse_steps(steps, &sc, &e);
	char line[800];
	ck_assert_msg(rc == SH_OK, "%s: %s", steps, scenario_error_format(&e, line, sizeof line));
	return sc;
}

/* --- scenario_parse: a file using every kind -------------------------------------------------- */

static const char full[] =
	"{\n"
	" '$schema': '../scenarios/scenario.schema.json',\n"
	" 'name': 'everything',\n"
	" 'description': 'all kinds',\n"
	" 'clock': 'virtual',\n"
	" 'fixtures': ['fx/demo', {'devices': [{'id': 'dev1', 'modules': [{'id': 'azureiotsecurity'}]}]}],\n"
	" 'agent': {'command': ['node', 'agent.js', '{{cs:dev1/azureiotsecurity}}', '{{ca}}'],\n"
	"           'env': {'PORT': '{{port:mqtts}}', 'MODE': '{{mode}}', 'EMPTY': ''},\n"
	"           'cwd': 'agents/x', 'grace': '2s', 'autostart': false},\n"
	" 'defaults': {'within': '20s', 'for': '3s', 'responseTimeout': '10s'},\n"
	" 'variables': {'mode': 'eco', 'level': 3, 'on': true},\n"
	" 'steps': [\n"
	"  {'action': 'start-agent'},\n"
	"  {'action': 'patch-desired', 'identity': 'dev1/azureiotsecurity', 'patch': {'mode': '{{mode}}'}},\n"
	"  {'action': 'patch-tags', 'identity': 'dev1', 'patch': {'site': 'a'}, 'name': 'tag it'},\n"
	"  {'action': 'replace-twin', 'identity': 'dev1', 'twin': {'tags': {}}},\n"
	"  {'action': 'invoke-method', 'identity': 'dev1', 'method': 'reboot', 'payload': {'d': 1},\n"
	"   'responseTimeout': '5s', 'connectTimeout': '0s', 'status': 200, 'match': {'ok': true}, 'capture': 'r1'},\n"
	"  {'action': 'invoke-method', 'identity': 'dev1', 'method': 'slow', 'async': true, 'capture': 'call1'},\n"
	"  {'expect': 'method-result', 'call': 'call1', 'status': 504},\n"
	"  {'action': 'send-c2d', 'identity': 'dev1', 'body': 'hi {{capture.r1.payload}}', 'properties': {'k': 'v'},\n"
	"   'ttl': '1h', 'ack': 'full', 'messageId': 'm-{{level}}', 'capture': 'msg1'},\n"
	"  {'expect': 'c2d', 'message': 'msg1', 'outcome': 'expired', 'identity': 'dev1'},\n"
	"  {'expect': 'c2d', 'messageId': 'm-3', 'outcome': 'completed'},\n"
	"  {'action': 'create-identity', 'identity': 'dev2', 'status': 'disabled', 'primaryKey': '" KEY "'},\n"
	"  {'action': 'disable-identity', 'identity': 'dev2', 'reason': 'test'},\n"
	"  {'action': 'enable-identity', 'identity': 'dev2'},\n"
	"  {'action': 'delete-identity', 'identity': 'dev2'},\n"
	"  {'action': 'stop-agent'},\n"
	"  {'action': 'restart-agent', 'grace': '1s'},\n"
	"  {'action': 'wait', 'duration': '500ms'},\n"
	"  {'action': 'advance-clock', 'by': 'PT2H'},\n"
	"  {'fault': 'drop-connection', 'identity': 'dev1'},\n"
	"  {'fault': 'refuse-connect', 'identity': 'dev1', 'count': 2, 'returnCode': 5},\n"
	"  {'fault': 'twin-error', 'identity': 'dev1', 'status': 429, 'operations': ['get']},\n"
	"  {'fault': 'delay-puback', 'identity': 'dev1', 'delay': '2s', 'count': 3},\n"
	"  {'fault': 'withhold-puback', 'identity': 'dev1', 'for': '10s'},\n"
	"  {'fault': 'close-at-sas-expiry', 'identity': 'dev1'},\n"
	"  {'fault': 'throttle', 'identity': 'dev1', 'rate': 10},\n"
	"  {'fault': 'clear-faults', 'identity': 'dev1'},\n"
	"  {'expect': 'connected', 'identity': 'dev1', 'within': '30s'},\n"
	"  {'expect': 'disconnected', 'identity': 'dev1', 'for': '1m'},\n"
	"  {'expect': 'reported', 'identity': 'dev1', 'match': {'mode': {'$regex': '^e'}}, 'capture': 'rep'},\n"
	"  {'expect': 'twin', 'identity': 'dev1', 'match': {'tags': {'site': 'a'}}},\n"
	"  {'expect': 'telemetry', 'identity': 'dev1', 'properties': {'t': 'x'}, 'systemProperties': {'contentType': 'application/json'},\n"
	"   'match': {'temp': {'$gt': 20}}, 'count': {'$gte': 3}, 'since': 'step'},\n"
	"  {'expect': 'security-event', 'eventName': 'ProcessCreate', 'eventType': 'Triggered', 'count': 1},\n"
	"  {'expect': 'alert', 'alertType': 'IoT_Miner', 'match': {}},\n"
	"  {'expect': 'security-config-applied', 'identity': 'dev1/azureiotsecurity', 'keys': ['snapshotFrequency'], 'ignoreCase': false},\n"
	"  {'expect': 'nothing', 'of': 'alert', 'alertType': 'x', 'for': '10s'},\n"
	"  {'expect': 'nothing', 'of': 'disconnect', 'identity': 'dev1'}\n"
	" ]\n"
	"}\n";

START_TEST(scenario_parse_every_kind_succeeds)
{
	struct scenario *sc = NULL;
	struct scenario_error e;
	char line[800];
	sh_rc rc = parse_q(full, "scen/all.json", &sc, &e);
	ck_assert_msg(rc == SH_OK, "%s", scenario_error_format(&e, line, sizeof line));
	ck_assert_str_eq(sc->name, "everything");
	ck_assert_str_eq(sc->description, "all kinds");
	ck_assert_int_eq(sc->clock, SCENARIO_CLOCK_VIRTUAL);
	ck_assert_uint_eq(sc->fixture_count, 2);
	ck_assert_str_eq(sc->fixtures[0].path, "fx/demo");
	ck_assert_str_eq(sc->fixtures[0].resolved, "scen/fx/demo");
	ck_assert_ptr_null(sc->fixtures[0].inline_fx);
	ck_assert_ptr_nonnull(sc->fixtures[1].inline_fx);
	ck_assert_uint_eq(sc->fixtures[1].inline_fx->identity_count, 2);
	ck_assert_str_eq(sc->fixtures[1].json_path, "$.fixtures[1]");
	ck_assert(sc->agent.present);
	ck_assert_ptr_null(sc->agent.shell);
	ck_assert_uint_eq(sc->agent.argc, 4);
	ck_assert_str_eq(sc->agent.argv[2], "{{cs:dev1/azureiotsecurity}}");
	ck_assert_ptr_null(sc->agent.argv[4]);
	ck_assert_uint_eq(sc->agent.env_count, 3);
	ck_assert_str_eq(sc->agent.env_names[1], "MODE");
	ck_assert_str_eq(sc->agent.env_values[2], "");
	ck_assert_str_eq(sc->agent.cwd_resolved, "scen/agents/x");
	ck_assert_int_eq(sc->agent.grace_us, 2000000);
	ck_assert(!sc->agent.autostart);
	ck_assert_int_eq(sc->default_within_us, 20000000);
	ck_assert_str_eq(scenario_var(sc, "level"), "3");
	ck_assert_str_eq(scenario_var(sc, "on"), "true");
	ck_assert_ptr_null(scenario_var(sc, "nope"));
	ck_assert_uint_eq(sc->step_count, 36);

	/* every kind appears once at least */
	bool seen[SCENARIO_KIND_COUNT] = { false };
	for (size_t i = 0; i < sc->step_count; i++)
		seen[sc->steps[i].kind] = true;
	for (int k = 0; k < SCENARIO_KIND_COUNT; k++)
		ck_assert_msg(seen[k], "kind %s not covered", scenario_kind_name((enum scenario_kind)k));

	const struct scenario_step *st = &sc->steps[1];
	ck_assert_int_eq(st->kind, SCENARIO_PATCH_DESIRED);
	ck_assert_str_eq(st->name, "patch-desired dev1/azureiotsecurity");
	ck_assert_str_eq(st->path, "$.steps[1]");
	ck_assert_uint_eq(st->line, 14);
	ck_assert_str_eq(st->identity.module_id, "azureiotsecurity");
	ck_assert_str_eq(cJSON_GetObjectItem(st->json, "mode")->valuestring, "{{mode}}");
	ck_assert_str_eq(sc->steps[2].name, "tag it");
	st = &sc->steps[4];
	ck_assert_str_eq(st->name, "invoke-method dev1 reboot");
	ck_assert_int_eq(st->response_timeout_us, 5000000);
	ck_assert(st->has_status && st->status == 200);
	ck_assert_ptr_nonnull(st->match);
	ck_assert_int_eq(sc->steps[5].response_timeout_us, 10000000); /* defaults.responseTimeout */
	ck_assert(sc->steps[5].async);
	ck_assert_str_eq(sc->steps[6].ref, "call1");
	ck_assert_int_eq(sc->steps[6].within_us, 20000000);           /* defaults.within */
	st = &sc->steps[7];
	ck_assert_int_eq(st->ttl_us, 3600000000LL);
	ck_assert_int_eq(st->ack, SCENARIO_ACK_FULL);
	ck_assert_str_eq(st->message_id, "m-{{level}}");
	ck_assert_int_eq(sc->steps[8].outcome, SCENARIO_OUTCOME_EXPIRED);
	ck_assert(sc->steps[10].create_disabled);
	ck_assert_str_eq(sc->steps[10].primary_key, KEY);
	ck_assert_str_eq(sc->steps[11].reason, "test");
	ck_assert_int_eq(sc->steps[14].grace_us, 2000000);            /* agent.grace */
	ck_assert_int_eq(sc->steps[15].grace_us, 1000000);
	ck_assert_int_eq(sc->steps[17].duration_us, 7200000000LL);
	ck_assert_int_eq(sc->steps[19].count_n, 2);
	ck_assert_int_eq(sc->steps[19].return_code, 5);
	ck_assert_uint_eq(sc->steps[20].twin_ops, SCENARIO_TWIN_OP_GET);
	ck_assert_int_eq(sc->steps[20].status, 429);
	ck_assert_int_eq(sc->steps[21].duration_us, 2000000);
	ck_assert_int_eq(sc->steps[22].count_n, 0);
	ck_assert_int_eq(sc->steps[22].for_us, 10000000);
	ck_assert_int_eq(sc->steps[24].rate, 10);
	ck_assert_int_eq(sc->steps[26].within_us, 30000000);
	ck_assert_int_eq(sc->steps[27].within_us, 0);
	ck_assert_int_eq(sc->steps[27].for_us, 60000000);
	st = &sc->steps[30];
	ck_assert_int_eq(st->since, SCENARIO_SINCE_STEP);
	ck_assert_ptr_nonnull(st->system_properties);
	ck_assert_double_eq(cJSON_GetObjectItem(st->count, "$gte")->valuedouble, 3);
	ck_assert(cJSON_IsNumber(sc->steps[31].count));
	ck_assert_double_eq(cJSON_GetObjectItem(sc->steps[32].count, "$gte")->valuedouble, 1);
	ck_assert_int_eq(sc->steps[32].since, SCENARIO_SINCE_START);
	ck_assert_uint_eq(sc->steps[33].key_count, 1);
	ck_assert(!sc->steps[33].ignore_case);
	ck_assert_int_eq(sc->steps[34].for_us, 10000000);
	ck_assert_int_eq(sc->steps[35].for_us, 3000000);              /* defaults.for */
	ck_assert_int_eq(sc->steps[35].of, SCENARIO_NOTHING_DISCONNECT);

	/* identities: first mention order, {{cs:}} included, no duplicates */
	ck_assert_uint_eq(sc->identity_count, 3);
	ck_assert_str_eq(sc->identities[0].device_id, "dev1");
	ck_assert_str_eq(sc->identities[0].module_id, "azureiotsecurity");
	ck_assert_str_eq(sc->identities[1].module_id, "");
	ck_assert_str_eq(sc->identities[2].device_id, "dev2");
	scenario_free(sc);
}
END_TEST

START_TEST(scenario_parse_minimal_applies_defaults)
{
	struct scenario *sc = NULL;
	ck_assert_int_eq(parse_q("{'steps':[{'action':'wait','duration':'1s'},"
				 "{'expect':'connected','identity':'d'}]}",
				 "a/b/01-twin.json", &sc, NULL), SH_OK);
	ck_assert_str_eq(sc->name, "01-twin");
	ck_assert_ptr_null(sc->description);
	ck_assert_int_eq(sc->clock, SCENARIO_CLOCK_REAL);
	ck_assert(!sc->agent.present);
	ck_assert(sc->agent.autostart);
	ck_assert_int_eq(sc->agent.grace_us, SCENARIO_DEFAULT_GRACE_US);
	ck_assert_int_eq(sc->steps[1].within_us, SCENARIO_DEFAULT_WITHIN_US);
	ck_assert_str_eq(sc->steps[0].name, "wait");
	ck_assert_uint_eq(sc->steps[0].line, 1);
	scenario_free(sc);
	ck_assert_int_eq(parse_q("{'steps':[{'action':'start-agent'}]}", NULL, &sc, NULL), SH_OK);
	ck_assert_str_eq(sc->name, "scenario");
	ck_assert_str_eq(sc->file, "");
	scenario_free(sc);
	/* a UTF-8 byte order mark and a shell command string */
	const char bom[] = "\xEF\xBB\xBF{\"agent\":{\"command\":\"./a --x\"},\"steps\":[{\"action\":\"start-agent\"}]}";
	ck_assert_int_eq(scenario_parse(bom, sizeof bom - 1, "x.json", &sc, NULL), SH_OK);
	ck_assert_str_eq(sc->agent.shell, "./a --x");
	ck_assert_ptr_null(sc->agent.argv);
	scenario_free(sc);
}
END_TEST

START_TEST(scenario_parse_faults_have_defaults)
{
	struct scenario *sc = ok_steps("{'fault':'refuse-connect','identity':'d'},"
				       "{'fault':'twin-error','identity':'d','status':503}");
	ck_assert_int_eq(sc->steps[0].count_n, 1);
	ck_assert_int_eq(sc->steps[0].return_code, SCENARIO_DEFAULT_CONNACK_CODE);
	ck_assert_int_eq(sc->steps[1].count_n, 1);
	ck_assert_uint_eq(sc->steps[1].twin_ops, SCENARIO_TWIN_OP_GET | SCENARIO_TWIN_OP_PATCH_REPORTED);
	ck_assert_int_eq(sc->steps[1].for_us, 0);
	scenario_free(sc);
}
END_TEST

/* --- scenario_parse: bad input ---------------------------------------------------------------- */

START_TEST(scenario_parse_empty_and_not_json_fail)
{
	struct scenario *sc = (struct scenario *)1;
	struct scenario_error e;
	ck_assert_int_eq(scenario_parse("", 0, "f.json", &sc, &e), SH_E_MALFORMED);
	ck_assert_ptr_null(sc);
	ck_assert(strstr(e.reason, "empty") != NULL);
	ck_assert_int_eq(scenario_parse("{", 1, "f.json", &sc, &e), SH_E_MALFORMED);
	ck_assert_uint_eq(e.line, 1);
	ck_assert_int_eq(scenario_parse(" \n ", 3, "f.json", &sc, &e), SH_E_MALFORMED);
	const char bad[] = "{\n  \"steps\": [\n    {\"action\": \"wait\",}\n  ]\n}";
	ck_assert_int_eq(scenario_parse(bad, sizeof bad - 1, "f.json", &sc, &e), SH_E_MALFORMED);
	ck_assert_uint_eq(e.line, 3);
	ck_assert_uint_gt(e.column, 1);
	char line[400];
	scenario_error_format(&e, line, sizeof line);
	ck_assert_msg(strncmp(line, "f.json:3:", 9) == 0, "%s", line);
	ck_assert_int_eq(scenario_parse("{} x", 4, "f.json", &sc, &e), SH_E_MALFORMED);
	ck_assert(strstr(e.reason, "after") != NULL);
	ck_assert_int_eq(scenario_parse("{\"a\0\":1}", 8, "f.json", &sc, &e), SH_E_MALFORMED);
	ck_assert(strstr(e.reason, "NUL") != NULL);
	ck_assert_int_eq(scenario_parse(NULL, 5, "f.json", &sc, &e), SH_E_INVALID);
	ck_assert_int_eq(scenario_parse("{}", 2, "f.json", NULL, &e), SH_E_INVALID);
	ck_assert_int_eq(scenario_parse("{}", SCENARIO_MAX_BYTES + 1u, "f.json", &sc, &e),
			 SH_E_TOOLARGE);
	ck_assert_ptr_null(sc);
}
END_TEST

struct top_case {
	const char *doc;
	const char *path;
	const char *reason_part;
};

static const struct top_case top_bad[] = {
	{ "[]", "$", "must be an object" },
	{ "1", "$", "must be an object" },
	{ "{}", "$", "needs \"steps\"" },
	{ "{'steps':[]}", "$.steps", "at least one step" },
	{ "{'steps':{}}", "$.steps", "an array" },
	{ "{'stpes':[]}", "$.stpes", "unknown key" },
	{ "{'name':5,'steps':[1]}", "$.name", "a string" },
	{ "{'name':'','steps':[1]}", "$.name", "empty" },
	{ "{'clock':'fast','steps':[1]}", "$.clock", "\"real\", \"virtual\"" },
	{ "{'defaults':{'within':'soon'},'steps':[1]}", "$.defaults.within", "not a duration" },
	{ "{'defaults':{'timeout':'1s'},'steps':[1]}", "$.defaults.timeout", "unknown key" },
	{ "{'defaults':{'responseTimeout':'1s'},'steps':[1]}", "$.defaults.responseTimeout", "5s to 300s" },
	{ "{'variables':[],'steps':[1]}", "$.variables", "an object" },
	{ "{'variables':{'ca':'x'},'steps':[1]}", "$.variables.ca", "reserved" },
	{ "{'variables':{'9x':'x'},'steps':[1]}", "$.variables[\"9x\"]", "variable name" },
	{ "{'variables':{'a':{}},'steps':[1]}", "$.variables.a", "a string, a number or a boolean" },
	{ "{'variables':{'a':'{{b}}'},'steps':[1]}", "$.variables.a", "not expanded" },
	{ "{'variables':{'a':1,'a':2},'steps':[1]}", "$.variables.a", "twice" },
	{ "{'agent':'node x','steps':[1]}", "$.agent", "an object" },
	{ "{'agent':{'cmd':'x'},'steps':[1]}", "$.agent.cmd", "unknown key" },
	{ "{'agent':{'command':5},'steps':[1]}", "$.agent.command", "shell command string or an array" },
	{ "{'agent':{'command':[]},'steps':[1]}", "$.agent.command", "1 to" },
	{ "{'agent':{'command':['a',1]},'steps':[1]}", "$.agent.command[1]", "a string" },
	{ "{'agent':{'command':'a {{nope}}'},'steps':[1]}", "$.agent.command", "no variable" },
	{ "{'agent':{'command':'a {{capture.x}}'},'steps':[1]}", "$.agent.command", "captures do not exist" },
	{ "{'agent':{'env':{'A-B':'x'}},'steps':[1]}", "$.agent.env[\"A-B\"]", "environment variable name" },
	{ "{'agent':{'env':{'A':1}},'steps':[1]}", "$.agent.env.A", "a string" },
	{ "{'agent':{'grace':'forever'},'steps':[1]}", "$.agent.grace", "not a duration" },
	{ "{'agent':{'autostart':'yes'},'steps':[1]}", "$.agent.autostart", "true or false" },
	{ "{'fixtures':5,'steps':[1]}", "$.fixtures", "a path (a string) or an inline fixture" },
	{ "{'fixtures':[''],'steps':[1]}", "$.fixtures[0]", "empty" },
	{ "{'fixtures':[{'devices':[{'id':'a b'}]}],'steps':[1]}", "$.fixtures[0].devices[0].id", "" },
	{ "{'fixtures':{'devises':[]},'steps':[1]}", "$.fixtures.devises", "unknown key" },
};

START_TEST(scenario_parse_bad_top_level_fails)
{
	const struct top_case *c = &top_bad[_i];
	struct scenario *sc = (struct scenario *)1;
	struct scenario_error e;
	sh_rc rc = parse_q(c->doc, "t.json", &sc, &e);
	ck_assert_msg(rc == SH_E_INVALID, "%s: rc %d", c->doc, rc);
	ck_assert_ptr_null(sc);
	ck_assert_msg(strcmp(e.path, c->path) == 0, "%s: path %s (%s)", c->doc, e.path, e.reason);
	ck_assert_msg(strstr(e.reason, c->reason_part) != NULL, "%s: reason %s", c->doc, e.reason);
}
END_TEST

static const struct top_case step_bad[] = {
	{ "1", "$.steps[0]", "must be an object" },
	{ "{}", "$.steps[0]", "needs \"action\", \"fault\" or \"expect\"" },
	{ "{'action':'wait','expect':'twin'}", "$.steps[0]", "exactly one" },
	{ "{'action':'dance'}", "$.steps[0].action", "\"dance\" is not a known action (known: patch-desired" },
	{ "{'action':5}", "$.steps[0].action", "not a known action" },
	{ "{'fault':'wait'}", "$.steps[0].fault", "not a known fault" },
	{ "{'expect':'drop-connection'}", "$.steps[0].expect", "not a known expect" },
	{ "{'action':'wait','duration':'1s','durration':'2s'}", "$.steps[0].durration", "unknown key (allowed here: action, name, comment, duration)" },
	{ "{'action':'wait'}", "$.steps[0]", "action \"wait\" needs \"duration\"" },
	{ "{'action':'wait','duration':'1s','duration':'2s'}", "$.steps[0].duration", "twice" },
	{ "{'expect':'connected','identity':'d','within':'10 parsecs'}", "$.steps[0].within", "\"10 parsecs\" is not a duration (use 500ms, 10s, 2m, 1h or PT1H)" },
	{ "{'expect':'connected','identity':'d','within':10}", "$.steps[0].within", "duration string" },
	{ "{'action':'wait','duration':'31d'}", "$.steps[0].duration", "longer than 30 days" },
	{ "{'action':'patch-desired','identity':'a/b/c','patch':{}}", "$.steps[0].identity", "is not \"device\" or \"device/module\"" },
	{ "{'action':'patch-desired','identity':'','patch':{}}", "$.steps[0].identity", "is not" },
	{ "{'action':'patch-desired','identity':7,'patch':{}}", "$.steps[0].identity", "a string" },
	{ "{'action':'patch-desired','identity':'d','patch':[]}", "$.steps[0].patch", "an object" },
	{ "{'action':'patch-desired','identity':'d','patch':{'m':'{{nope}}'}}", "$.steps[0].patch.m", "{{nope}}: no variable" },
	{ "{'action':'patch-desired','identity':'d','patch':{'m':'{{mode'}}", "$.steps[0].patch.m", "{{mode is not a placeholder" },
	{ "{'action':'patch-desired','identity':'d','patch':{'m':'{{}}'}}", "$.steps[0].patch.m", "not a placeholder" },
	{ "{'action':'patch-desired','identity':'d','patch':{'m':'{{port:ftp}}'}}", "$.steps[0].patch.m", "not a placeholder" },
	{ "{'action':'patch-desired','identity':'d','patch':{'m':'{{cs:a/b/c}}'}}", "$.steps[0].patch.m", "not a placeholder" },
	{ "{'action':'patch-desired','identity':'d','patch':{'m':'{{capture.x}}'}}", "$.steps[0].patch.m", "no earlier step captures \"x\"" },
	{ "{'action':'patch-desired','identity':'d','patch':{'m':'{{capture.x.}}'}}", "$.steps[0].patch.m", "not a placeholder" },
	{ "{'action':'invoke-method','identity':'d','method':'m','capture':'c','match':{'$x':1}}", "$.steps[0].match.$x", "unknown operator" },
	{ "{'action':'invoke-method','identity':'d','method':'m','capture':'c','match':{'v':{'$regex':'['}}}", "$.steps[0].match.v.$regex", "POSIX" },
	{ "{'action':'invoke-method','identity':'d','method':'m','async':true}", "$.steps[0]", "needs a \"capture\"" },
	{ "{'action':'invoke-method','identity':'d','method':'m','async':true,'capture':'c','status':200}", "$.steps[0]", "method-result" },
	{ "{'action':'invoke-method','identity':'d','method':'m','responseTimeout':'1s'}", "$.steps[0].responseTimeout", "5s to 300s" },
	{ "{'action':'invoke-method','identity':'d','method':'m','connectTimeout':'10m'}", "$.steps[0].connectTimeout", "at most 300s" },
	{ "{'action':'invoke-method','identity':'d','method':'m','status':'200'}", "$.steps[0].status", "an integer" },
	{ "{'action':'invoke-method','identity':'d','method':'m','capture':'bad name'}", "$.steps[0].capture", "a name of letters" },
	{ "{'action':'invoke-method','identity':'d','method':'m','capture':'c'},{'action':'send-c2d','identity':'d','body':'','capture':'c'}", "$.steps[1].capture", "already defined" },
	{ "{'action':'send-c2d','identity':'d/m','body':'x'}", "$.steps[0].identity", "not modules" },
	{ "{'action':'send-c2d','identity':'d','body':'x','properties':{'a':1}}", "$.steps[0].properties.a", "must be a string" },
	{ "{'action':'send-c2d','identity':'d','body':'x','ack':'maybe'}", "$.steps[0].ack", "one of \"none\"" },
	{ "{'action':'create-identity','identity':'d','status':'on'}", "$.steps[0].status", "\"enabled\" or \"disabled\"" },
	{ "{'action':'create-identity','identity':'d','primaryKey':'abc'}", "$.steps[0].primaryKey", "base64 of 16 to 64 bytes" },
	{ "{'fault':'drop-connection'}", "$.steps[0]", "fault \"drop-connection\" needs \"identity\"" },
	{ "{'fault':'refuse-connect','identity':'d','returnCode':6}", "$.steps[0].returnCode", "from 1 to 5" },
	{ "{'fault':'refuse-connect','identity':'d','count':0}", "$.steps[0].count", "from 1 to" },
	{ "{'fault':'refuse-connect','identity':'d','count':1.5}", "$.steps[0].count", "an integer" },
	{ "{'fault':'twin-error','identity':'d','status':200}", "$.steps[0].status", "from 400 to 599" },
	{ "{'fault':'twin-error','identity':'d','status':500,'operations':['get','get']}", "$.steps[0].operations[1]", "twice" },
	{ "{'fault':'twin-error','identity':'d','status':500,'operations':[]}", "$.steps[0].operations", "non-empty array" },
	{ "{'fault':'throttle','identity':'d','rate':0}", "$.steps[0].rate", "from 1 to" },
	{ "{'expect':'connected','identity':'d','within':'1s','for':'1s'}", "$.steps[0]", "not both" },
	{ "{'expect':'connected','identity':'d','for':'0s'}", "$.steps[0].for", "longer than 0" },
	{ "{'expect':'reported','identity':'d'}", "$.steps[0]", "needs \"match\"" },
	{ "{'expect':'telemetry','count':-1}", "$.steps[0].count", "from 0 to" },
	{ "{'expect':'telemetry','count':'3'}", "$.steps[0].count", "operator object" },
	{ "{'expect':'telemetry','count':{'n':3}}", "$.steps[0].count", "operator object" },
	{ "{'expect':'telemetry','since':'yesterday'}", "$.steps[0].since", "\"start\", \"step\"" },
	{ "{'expect':'method-result','call':'c'}", "$.steps[0].call", "not the capture of an earlier invoke-method" },
	{ "{'action':'invoke-method','identity':'d','method':'m','capture':'c'},{'expect':'method-result','call':'c'}", "$.steps[1].call", "\"async\": true" },
	{ "{'expect':'c2d','outcome':'completed'}", "$.steps[0]", "exactly one" },
	{ "{'expect':'c2d','outcome':'completed','message':'m','messageId':'x'}", "$.steps[0]", "exactly one" },
	{ "{'expect':'c2d','outcome':'completed','message':'m'}", "$.steps[0].message", "not the capture of an earlier send-c2d" },
	{ "{'expect':'c2d','outcome':'done','messageId':'x'}", "$.steps[0].outcome", "one of" },
	{ "{'expect':'security-config-applied','identity':'d','keys':['a','a']}", "$.steps[0].keys[1]", "twice" },
	{ "{'expect':'security-config-applied','identity':'d','keys':'a'}", "$.steps[0].keys", "non-empty array" },
	{ "{'expect':'nothing'}", "$.steps[0]", "needs \"of\"" },
	{ "{'expect':'nothing','of':'rain'}", "$.steps[0].of", "one of \"telemetry\"" },
	{ "{'expect':'nothing','of':'alert','eventName':'x'}", "$.steps[0].eventName", "does not apply" },
	{ "{'expect':'nothing','of':'connect','match':{}}", "$.steps[0].match", "does not apply" },
	{ "{'expect':'nothing','of':'alert','within':'1s'}", "$.steps[0].within", "unknown key" },
	{ "{'action':'wait','duration':'1s','name':''}", "$.steps[0].name", "empty" },
	{ "{'action':'wait','duration':'1s','name':'a\\nb'}", "$.steps[0].name", "control characters" },
};

START_TEST(scenario_parse_bad_step_fails)
{
	const struct top_case *c = &step_bad[_i];
	expect_step_fail(c->doc, c->path, c->reason_part);
}
END_TEST

START_TEST(scenario_parse_advance_clock_needs_virtual_clock)
{
	struct scenario *sc = NULL;
	struct scenario_error e;
	ck_assert_int_eq(parse_q("{'steps':[{'action':'advance-clock','by':'1h'}]}", "v.json", &sc, &e),
			 SH_E_INVALID);
	ck_assert_str_eq(e.path, "$.steps[0]");
	ck_assert(strstr(e.reason, "\"clock\": \"virtual\"") != NULL);
}
END_TEST

START_TEST(scenario_parse_error_names_file_line_and_path)
{
	const char doc[] = "{\n  \"steps\": [\n    {\"action\": \"wait\", \"duration\": \"1s\"},\n"
			   "    {\"expect\": \"connected\", \"identity\": \"d\",\n"
			   "     \"within\": \"10 parsecs\"}\n  ]\n}\n";
	struct scenario *sc = NULL;
	struct scenario_error e;
	ck_assert_int_eq(scenario_parse(doc, sizeof doc - 1, "s.json", &sc, &e), SH_E_INVALID);
	char line[512];
	ck_assert_str_eq(scenario_error_format(&e, line, sizeof line),
			 "s.json:5: $.steps[1].within: \"10 parsecs\" is not a duration "
			 "(use 500ms, 10s, 2m, 1h or PT1H)");
}
END_TEST

/* Build {"steps":[{"action":"patch-desired",...,"patch":<depth nested arrays>}]}. */
static char *deep_doc(size_t depth, char open, char close)
{
	const char head[] = "{\"steps\":[{\"action\":\"patch-desired\",\"identity\":\"d\",\"patch\":{\"a\":";
	const char tail[] = "}}]}";
	size_t n = strlen(head) + 2 * depth + 1 + strlen(tail);
	char *s = malloc(n + 1);
	ck_assert_ptr_nonnull(s);
	char *w = s;
	memcpy(w, head, strlen(head));
	w += strlen(head);
	memset(w, open, depth);
	w += depth;
	*w++ = '1';
	memset(w, close, depth);
	w += depth;
	memcpy(w, tail, strlen(tail) + 1);
	return s;
}

START_TEST(scenario_parse_hostile_nesting_fails_cleanly)
{
	struct scenario *sc = NULL;
	struct scenario_error e;
	char *s = deep_doc(100000, '[', ']');
	ck_assert_int_eq(scenario_parse(s, strlen(s), "deep.json", &sc, &e), SH_E_MALFORMED);
	free(s);
	s = deep_doc(500, '[', ']');     /* deep but legal JSON: a patch may nest */
	ck_assert_int_eq(scenario_parse(s, strlen(s), "deep.json", &sc, &e), SH_OK);
	scenario_free(sc);
	free(s);
	/* a pattern nested beyond JSONMATCH_MAX_DEPTH is refused */
	char doc[4096];
	int w = snprintf(doc, sizeof doc, "{\"steps\":[{\"expect\":\"twin\",\"identity\":\"d\",\"match\":");
	for (int i = 0; i < 100; i++)
		w += snprintf(doc + w, sizeof doc - (size_t)w, "{\"a\":");
	w += snprintf(doc + w, sizeof doc - (size_t)w, "1");
	for (int i = 0; i < 100; i++)
		w += snprintf(doc + w, sizeof doc - (size_t)w, "}");
	snprintf(doc + w, sizeof doc - (size_t)w, "}]}");
	ck_assert_int_eq(scenario_parse(doc, strlen(doc), "deep.json", &sc, &e), SH_E_INVALID);
	ck_assert(strstr(e.reason, "deeper") != NULL);
}
END_TEST

START_TEST(scenario_parse_too_many_steps_fails)
{
	size_t n = SCENARIO_MAX_STEPS + 1;
	const char *one = "{\"action\":\"start-agent\"},";
	size_t cap = 20 + n * strlen(one);
	char *s = malloc(cap);
	ck_assert_ptr_nonnull(s);
	size_t w = (size_t)sprintf(s, "{\"steps\":[");
	for (size_t i = 0; i < n; i++)
		w += (size_t)sprintf(s + w, "%s", one);
	s[w - 1] = ']';
	s[w++] = '}';
	struct scenario *sc = NULL;
	struct scenario_error e;
	ck_assert_int_eq(scenario_parse(s, w, "big.json", &sc, &e), SH_E_TOOLARGE);
	ck_assert_ptr_null(sc);
	free(s);
}
END_TEST

START_TEST(scenario_parse_is_deterministic_round_trip)
{
	/* Parsing the same bytes twice gives the same model; parsing a model's own
	   re-serialised patch keeps it. */
	struct scenario *a = NULL, *b = NULL;
	ck_assert_int_eq(parse_q(full, "x.json", &a, NULL), SH_OK);
	ck_assert_int_eq(parse_q(full, "x.json", &b, NULL), SH_OK);
	ck_assert_uint_eq(a->step_count, b->step_count);
	for (size_t i = 0; i < a->step_count; i++) {
		ck_assert_int_eq(a->steps[i].kind, b->steps[i].kind);
		ck_assert_str_eq(a->steps[i].name, b->steps[i].name);
		ck_assert_uint_eq(a->steps[i].line, b->steps[i].line);
		ck_assert(cJSON_Compare(a->steps[i].json, b->steps[i].json, 1) ||
			  (!a->steps[i].json && !b->steps[i].json));
	}
	scenario_free(a);
	scenario_free(b);
}
END_TEST

/* --- durations and identities ----------------------------------------------------------------- */

struct dur {
	const char *text;
	sh_rc rc;
	int64_t us;
};

static const struct dur durations[] = {
	{ "500ms", SH_OK, 500000 }, { "10s", SH_OK, 10000000 }, { "2m", SH_OK, 120000000 },
	{ "2h", SH_OK, 7200000000LL }, { "1d", SH_OK, 86400000000LL }, { "250us", SH_OK, 250 },
	{ "1.5s", SH_OK, 1500000 }, { "0.25ms", SH_OK, 250 }, { "1h30m", SH_OK, 5400000000LL },
	{ "0s", SH_OK, 0 }, { "PT2H", SH_OK, 7200000000LL }, { "PT1M30S", SH_OK, 90000000 },
	{ "PT0.5S", SH_OK, 500000 }, { "P1DT2H", SH_OK, 93600000000LL }, { "P1D", SH_OK, 86400000000LL },
	{ "PT7M", SH_OK, 420000000 }, { "30d", SH_OK, SCENARIO_DURATION_MAX_US },
	{ "", SH_E_MALFORMED, 0 }, { "s", SH_E_MALFORMED, 0 }, { "10", SH_E_MALFORMED, 0 },
	{ "10 s", SH_E_MALFORMED, 0 }, { "10 parsecs", SH_E_MALFORMED, 0 }, { "-1s", SH_E_MALFORMED, 0 },
	{ "1.s", SH_E_MALFORMED, 0 }, { ".5s", SH_E_MALFORMED, 0 }, { "1S", SH_E_MALFORMED, 0 },
	{ "P", SH_E_MALFORMED, 0 }, { "PT", SH_E_MALFORMED, 0 }, { "P1DT", SH_E_MALFORMED, 0 },
	{ "PT1H1H", SH_E_MALFORMED, 0 }, { "PT1S1M", SH_E_MALFORMED, 0 }, { "PT1.5M", SH_E_MALFORMED, 0 },
	{ "P1H", SH_E_MALFORMED, 0 }, { "pt1h", SH_E_MALFORMED, 0 }, { "PT1D", SH_E_MALFORMED, 0 },
	{ "1.0000000001s", SH_E_MALFORMED, 0 }, { "31d", SH_E_TOOLARGE, 0 },
	{ "99999999999999999999999s", SH_E_TOOLARGE, 0 }, { "20d20d", SH_E_TOOLARGE, 0 },
	{ "P9999999999999D", SH_E_TOOLARGE, 0 },
};

START_TEST(scenario_parse_duration_table)
{
	const struct dur *c = &durations[_i];
	int64_t us = -7;
	sh_rc rc = scenario_parse_duration(c->text, strlen(c->text), &us);
	ck_assert_msg(rc == c->rc, "%s: rc %d", c->text, rc);
	if (rc == SH_OK)
		ck_assert_msg(us == c->us, "%s: %lld", c->text, (long long)us);
	else
		ck_assert_int_eq(us, -7);
}
END_TEST

START_TEST(scenario_parse_duration_reads_only_len_bytes)
{
	int64_t us = 0;
	ck_assert_int_eq(scenario_parse_duration("10sXXXX", 3, &us), SH_OK);
	ck_assert_int_eq(us, 10000000);
	ck_assert_int_eq(scenario_parse_duration("10s", 2, &us), SH_E_MALFORMED);
	ck_assert_int_eq(scenario_parse_duration(NULL, 3, &us), SH_E_MALFORMED);
}
END_TEST

START_TEST(scenario_parse_identity_cases)
{
	struct scenario_identity id;
	ck_assert_int_eq(scenario_parse_identity("dev1", 4, &id), SH_OK);
	ck_assert_str_eq(id.device_id, "dev1");
	ck_assert_str_eq(id.module_id, "");
	ck_assert_int_eq(scenario_parse_identity("dev1/azureiotsecurity", 21, &id), SH_OK);
	ck_assert_str_eq(id.module_id, "azureiotsecurity");
	ck_assert_int_eq(scenario_parse_identity("dev1/", 5, &id), SH_E_MALFORMED);
	ck_assert_int_eq(scenario_parse_identity("/m", 2, &id), SH_E_MALFORMED);
	ck_assert_int_eq(scenario_parse_identity("a/b/c", 5, &id), SH_E_MALFORMED);
	ck_assert_int_eq(scenario_parse_identity("a b", 3, &id), SH_E_MALFORMED);
	ck_assert_int_eq(scenario_parse_identity("", 0, &id), SH_E_MALFORMED);
	char big[300];
	memset(big, 'x', sizeof big);
	ck_assert_int_eq(scenario_parse_identity(big, 129, &id), SH_E_MALFORMED);
	ck_assert_int_eq(scenario_parse_identity(big, 128, &id), SH_OK);
}
END_TEST

/* --- templates -------------------------------------------------------------------------------- */

/* A lookup that knows a few names; counts calls. Typed values: the variable "three" and the
 * captures r1.n, r1.obj, r1.yes and r1.none; r1.s is the text "7" (a captured string). */
static int lookups;
static const char *lookup(void *ctx, enum scenario_ref_kind kind, const char *name,
			  bool *is_json)
{
	(void)ctx;
	lookups++;
	static const struct {
		const char *name, *text;
		bool json;
	} caps[] = {
		{ "r1.payload.v", "42", false }, { "r1.n", "7", true }, { "r1.s", "7", false },
		{ "r1.obj", "{\"a\":[1,true]}", true }, { "r1.yes", "true", true },
		{ "r1.none", "null", true }, { "r1.bad", "{not json", true },
	};
	switch (kind) {
	case SCENARIO_REF_VAR:
		if (strcmp(name, "three") == 0) {
			*is_json = true;
			return "3";
		}
		return strcmp(name, "mode") == 0 ? "eco" : NULL;
	case SCENARIO_REF_CS:
		return strcmp(name, "dev1/azureiotsecurity") == 0 ? "HostName=h;DeviceId=dev1" : NULL;
	case SCENARIO_REF_CA:
		return "/tmp/ca.pem";
	case SCENARIO_REF_HOST:
		return "localhost";
	case SCENARIO_REF_PORT:
		return strcmp(name, "mqtts") == 0 ? "8883" : NULL;
	case SCENARIO_REF_CAPTURE:
		for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
			if (strcmp(name, caps[i].name) == 0) {
				*is_json = caps[i].json;
				return caps[i].text;
			}
		}
		return NULL;
	}
	return NULL;
}

START_TEST(scenario_expand_replaces_every_kind)
{
	char *out = NULL;
	struct scenario_error e;
	ck_assert_int_eq(scenario_expand("--cs '{{cs:dev1/azureiotsecurity}}' --ca {{ca}} "
					 "{{host}}:{{port:mqtts}} {{mode}}={{capture.r1.payload.v}} "
					 "{{open}}x}} }} {",
					 lookup, NULL, "f", "$.agent.command", &out, &e), SH_OK);
	ck_assert_str_eq(out, "--cs 'HostName=h;DeviceId=dev1' --ca /tmp/ca.pem localhost:8883 "
			      "eco=42 {{x}} }} {");
	free(out);
	lookups = 0;
	ck_assert_int_eq(scenario_expand("plain", lookup, NULL, NULL, NULL, &out, NULL), SH_OK);
	ck_assert_str_eq(out, "plain");
	ck_assert_int_eq(lookups, 0);
	free(out);
	ck_assert_int_eq(scenario_expand("", lookup, NULL, NULL, NULL, &out, NULL), SH_OK);
	ck_assert_str_eq(out, "");
	free(out);
}
END_TEST

START_TEST(scenario_expand_unknown_and_malformed_fail)
{
	char *out = (char *)1;
	struct scenario_error e;
	ck_assert_int_eq(scenario_expand("a {{capture.r2}} b", lookup, NULL, "s.json",
					 "$.steps[4].payload.x", &out, &e), SH_E_NOTFOUND);
	ck_assert_ptr_null(out);
	char line[512];
	ck_assert_str_eq(scenario_error_format(&e, line, sizeof line),
			 "s.json: $.steps[4].payload.x: {{capture.r2}} has no value");
	static const char *const bad[] = { "{{", "a {{mode", "{{}}", "{{ mode }}", "{{a{b}}",
					   "{{cs:}}", "{{port:}}", "{{nope:x}}", "{{capture.}}",
					   "{{capture..a}}", "{{\x01}}" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(scenario_expand(bad[i], lookup, NULL, "s.json", "$", &out, &e) ==
			      SH_E_MALFORMED, "%s", bad[i]);
		ck_assert_ptr_null(out);
		ck_assert(strstr(e.reason, "is not a placeholder") != NULL);
		for (const char *c = e.reason; *c; c++)
			ck_assert((unsigned char)*c >= 0x20);
	}
	char huge[400];
	memset(huge, 'a', sizeof huge);
	memcpy(huge, "{{", 2);
	memcpy(huge + sizeof huge - 3, "}}", 3);
	ck_assert_int_eq(scenario_expand(huge, lookup, NULL, NULL, NULL, &out, &e), SH_E_MALFORMED);
	ck_assert_int_eq(scenario_expand(NULL, lookup, NULL, NULL, NULL, &out, &e), SH_E_MALFORMED);
	ck_assert_int_eq(scenario_expand("{{mode}}", NULL, NULL, NULL, NULL, &out, &e), SH_E_NOTFOUND);
}
END_TEST

START_TEST(scenario_expand_json_expands_strings_not_keys)
{
	cJSON *in = cJSON_Parse("{\"{{mode}}\":\"{{mode}}\",\"n\":1,\"l\":[\"x{{ca}}\",{\"d\":\"{{host}}\"}]}");
	cJSON *out = NULL;
	ck_assert_int_eq(scenario_expand_json(in, lookup, NULL, NULL, "$.p", &out, NULL), SH_OK);
	char *text = cJSON_PrintUnformatted(out);
	ck_assert_str_eq(text, "{\"{{mode}}\":\"eco\",\"n\":1,\"l\":[\"x/tmp/ca.pem\",{\"d\":\"localhost\"}]}");
	cJSON_free(text);
	cJSON_Delete(out);
	cJSON *bad = cJSON_Parse("{\"a\":[1,{\"b\":\"{{zzz}}\"}]}");
	struct scenario_error e;
	ck_assert_int_eq(scenario_expand_json(bad, lookup, NULL, "f", "$.p", &out, &e), SH_E_NOTFOUND);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(e.path, "$.p.a[1].b");
	ck_assert_int_eq(scenario_expand_json(NULL, lookup, NULL, NULL, NULL, &out, &e), SH_OK);
	ck_assert_ptr_null(out);
	cJSON_Delete(in);
	cJSON_Delete(bad);
}
END_TEST

static void expect_expanded(const char *in_q, const char *want_q)
{
	char in[512], want[512];
	snprintf(in, sizeof in, "%s", in_q);
	snprintf(want, sizeof want, "%s", want_q);
	for (char *c = in; *c; c++)
		*c = *c == '\'' ? '"' : *c;
	for (char *c = want; *c; c++)
		*c = *c == '\'' ? '"' : *c;
	cJSON *j = cJSON_Parse(in);
	ck_assert_ptr_nonnull(j);
	cJSON *out = NULL;
	struct scenario_error e;
	ck_assert_int_eq(scenario_expand_json(j, lookup, NULL, "f", "$.p", &out, &e), SH_OK);
	char *text = cJSON_PrintUnformatted(out);
	ck_assert_msg(strcmp(text, want) == 0, "%s: got %s, want %s", in, text, want);
	cJSON_free(text);
	cJSON_Delete(out);
	cJSON_Delete(j);
}

START_TEST(scenario_expand_json_whole_placeholder_takes_the_value_type)
{
	expect_expanded("{'n':'{{capture.r1.n}}','o':'{{capture.r1.obj}}','b':'{{capture.r1.yes}}',"
			"'z':'{{capture.r1.none}}','v':'{{three}}','l':['{{capture.r1.n}}',{'k':'{{three}}'}]}",
			"{'n':7,'o':{'a':[1,true]},'b':true,'z':null,'v':3,'l':[7,{'k':3}]}");
	/* operands keep their keys and order around a replaced member */
	expect_expanded("{'v':{'$gt':'{{capture.r1.n}}','$lt':10}}", "{'v':{'$gt':7,'$lt':10}}");
	/* the whole tree may be one placeholder */
	expect_expanded("'{{capture.r1.obj}}'", "{'a':[1,true]}");
	expect_expanded("'{{mode}}'", "'eco'");
}
END_TEST

START_TEST(scenario_expand_json_text_placeholders_stay_text)
{
	/* a captured string, text around a typed value, two placeholders, {{open}}, keys */
	expect_expanded("{'s':'{{capture.r1.s}}','t':'n={{capture.r1.n}}','u':'{{capture.r1.n}} ',"
			"'w':'{{three}}{{three}}','x':'{{open}}three}}','{{three}}':'{{mode}}'}",
			"{'s':'7','t':'n=7','u':'7 ','w':'33','x':'{{three}}','{{three}}':'eco'}");
	/* a typed answer that is not JSON stays text */
	expect_expanded("{'b':'{{capture.r1.bad}}'}", "{'b':'{not json'}");
	/* scenario_expand is text only */
	char *out = NULL;
	ck_assert_int_eq(scenario_expand("{{capture.r1.obj}}", lookup, NULL, NULL, NULL, &out, NULL),
			 SH_OK);
	ck_assert_str_eq(out, "{\"a\":[1,true]}");
	free(out);
}
END_TEST

START_TEST(scenario_is_whole_placeholder_cases)
{
	ck_assert(scenario_is_whole_placeholder("{{x}}"));
	ck_assert(scenario_is_whole_placeholder("{{capture.v.version}}"));
	ck_assert(scenario_is_whole_placeholder("{{cs:dev1/m}}"));
	static const char *const no[] = { NULL, "", "{", "{{", "{{}}", "{{x}", "{x}}", " {{x}}",
					  "{{x}} ", "{{x}}{{y}}", "{{open}}", "{{a{b}}", "a{{x}}",
					  "{{x}}}" };
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		ck_assert_msg(!scenario_is_whole_placeholder(no[i]), "%s", no[i] ? no[i] : "NULL");
}
END_TEST

START_TEST(scenario_parse_placeholder_operand_succeeds)
{
	struct scenario *sc = ok_steps(
		"{'expect':'reported','identity':'d','match':{},'capture':'v'},"
		"{'expect':'reported','identity':'d','match':{'version':{'$gt':'{{capture.v.version}}'},"
		"'mode':{'$in':'{{capture.v.modes}}'},'x':{'$exists':'{{capture.v.has}}'},"
		"'n':{'$gte':'{{n}}'}}},"
		"{'expect':'telemetry','identity':'d','properties':{'k':{'$lt':'{{n}}'}}}");
	ck_assert_ptr_nonnull(sc->steps[1].match);
	scenario_free(sc);
}
END_TEST

START_TEST(scenario_parse_placeholder_operand_misused_fails)
{
	expect_step_fail("{'expect':'reported','identity':'d','match':{},'capture':'v'},"
			 "{'expect':'reported','identity':'d','match':{'a':{'$gt':'v{{capture.v.n}}'}}}",
			 "$.steps[1].match.a.$gt", "$gt takes a number");
	expect_step_fail("{'expect':'reported','identity':'d','match':{'a':{'$gt':'{{capture.v.n}}'}}}",
			 "$.steps[0].match.a.$gt", "no earlier step captures \"v\"");
	expect_step_fail("{'expect':'reported','identity':'d','match':{'a':{'$gt':'{{nope}}'}}}",
			 "$.steps[0].match.a.$gt", "no variable of that name");
	/* count is never expanded: a placeholder there stays refused */
	expect_step_fail("{'expect':'telemetry','identity':'d','count':{'$gte':'{{n}}'}}",
			 "$.steps[0].count.$gte", "$gte takes a number");
}
END_TEST

/* --- scenario_error_format -------------------------------------------------------------------- */

START_TEST(scenario_error_format_shapes)
{
	struct scenario_error e = { .file = "a.json", .path = "$.steps[0]", .line = 3, .reason = "bad" };
	char buf[128];
	ck_assert_str_eq(scenario_error_format(&e, buf, sizeof buf), "a.json:3: $.steps[0]: bad");
	e.line = 0;
	ck_assert_str_eq(scenario_error_format(&e, buf, sizeof buf), "a.json: $.steps[0]: bad");
	e.line = 2;
	e.column = 9;
	ck_assert_str_eq(scenario_error_format(&e, buf, sizeof buf), "a.json:2:9: bad");
	e.file[0] = '\0';
	ck_assert_str_eq(scenario_error_format(&e, buf, 9), "scenario");
	ck_assert_str_eq(scenario_error_format(NULL, buf, sizeof buf), "unknown error");
	scenario_free(NULL);
}
END_TEST

/* --- the schema agrees with the parser -------------------------------------------------------- */

static char *read_schema(void)
{
	char path[1024];
	const char *src = getenv("SIMHUB_SOURCE_DIR");
	if (src) {
		snprintf(path, sizeof path, "%s/scenarios/scenario.schema.json", src);
	} else {
		/* this file is <source>/tests/unit/check_scenario.c */
		snprintf(path, sizeof path, "%s", __FILE__);
		char *cut = strstr(path, "/tests/unit/");
		ck_assert_ptr_nonnull(cut);
		snprintf(cut, sizeof path - (size_t)(cut - path), "/scenarios/scenario.schema.json");
	}
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

/* Same set of names: the schema object's member names vs a NULL-terminated list. */
static void same_names(const cJSON *obj, const char *const *list, const char *what)
{
	size_t n = 0;
	for (; list[n]; n++)
		ck_assert_msg(cJSON_GetObjectItemCaseSensitive(obj, list[n]) != NULL,
			      "%s: parser key %s missing from the schema", what, list[n]);
	const cJSON *m;
	cJSON_ArrayForEach(m, obj) {
		bool found = false;
		for (size_t i = 0; i < n; i++)
			found |= strcmp(list[i], m->string) == 0;
		ck_assert_msg(found, "%s: schema key %s unknown to the parser", what, m->string);
	}
}

static void same_items(const cJSON *arr, const char *const *list, const char *what)
{
	size_t n = 0;
	for (; list[n]; n++) {
		bool found = false;
		const cJSON *e;
		cJSON_ArrayForEach(e, arr)
			found |= strcmp(e->valuestring, list[n]) == 0;
		ck_assert_msg(found, "%s: required %s missing from the schema", what, list[n]);
	}
	ck_assert_msg((size_t)cJSON_GetArraySize(arr) == n, "%s: required lists differ", what);
}

START_TEST(scenario_kind_keys_agree_with_schema)
{
	char *text = read_schema();
	cJSON *schema = cJSON_Parse(text);
	free(text);
	ck_assert_ptr_nonnull(schema);
	const cJSON *defs = cJSON_GetObjectItem(schema, "$defs");
	same_names(cJSON_GetObjectItem(schema, "properties"), scenario_top_keys(), "top level");
	same_names(cJSON_GetObjectItem(cJSON_GetObjectItem(defs, "agent"), "properties"),
		   scenario_agent_keys(), "agent");
	same_names(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(schema, "properties"),
							     "defaults"), "properties"),
		   scenario_defaults_keys(), "defaults");
	size_t step_defs = 0;
	const cJSON *d;
	cJSON_ArrayForEach(d, defs) {
		const cJSON *props = cJSON_GetObjectItem(d, "properties");
		const cJSON *kind = NULL;
		enum scenario_class cls = SCENARIO_ACTION;
		for (int c = 0; c < 3 && !kind; c++) {
			cls = (enum scenario_class)c;
			kind = cJSON_GetObjectItem(cJSON_GetObjectItem(props, scenario_class_key(cls)), "const");
		}
		if (!kind)
			continue;
		step_defs++;
		int k = 0;
		while (k < SCENARIO_KIND_COUNT &&
		       !(scenario_kind_class((enum scenario_kind)k) == cls &&
			 strcmp(scenario_kind_name((enum scenario_kind)k), kind->valuestring) == 0))
			k++;
		ck_assert_msg(k < SCENARIO_KIND_COUNT, "schema kind %s unknown to the parser",
			      kind->valuestring);
		const char *const *req = NULL;
		const char *const *keys = scenario_kind_keys((enum scenario_kind)k, &req);
		same_names(props, keys, kind->valuestring);
		same_items(cJSON_GetObjectItem(d, "required"), req, kind->valuestring);
		ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(d, "additionalProperties")));
	}
	ck_assert_uint_eq(step_defs, SCENARIO_KIND_COUNT);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(defs, "step"), "oneOf")),
			 SCENARIO_KIND_COUNT);
	cJSON_Delete(schema);
}
END_TEST

START_TEST(scenario_kind_name_out_of_range)
{
	ck_assert_str_eq(scenario_kind_name(SCENARIO_KIND_COUNT), "?");
	ck_assert_int_eq(scenario_kind_class(SCENARIO_KIND_COUNT), SCENARIO_ACTION);
	ck_assert_str_eq(scenario_class_key((enum scenario_class)7), "?");
	const char *const *req = (const char *const *)1;
	ck_assert_ptr_null(scenario_kind_keys(SCENARIO_KIND_COUNT, &req));
	ck_assert_ptr_null(req);
	ck_assert_str_eq(scenario_kind_name(SCENARIO_EXPECT_SECURITY_CONFIG), "security-config-applied");
	ck_assert_int_eq(scenario_kind_class(SCENARIO_THROTTLE), SCENARIO_FAULT);
}
END_TEST

static Suite *scenario_suite(void)
{
	Suite *s = suite_create("scenario");
	TCase *tc = tcase_create("scenario_parse");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, scenario_parse_every_kind_succeeds);
	tcase_add_test(tc, scenario_parse_minimal_applies_defaults);
	tcase_add_test(tc, scenario_parse_faults_have_defaults);
	tcase_add_test(tc, scenario_parse_empty_and_not_json_fail);
	tcase_add_loop_test(tc, scenario_parse_bad_top_level_fails, 0,
			    (int)(sizeof top_bad / sizeof top_bad[0]));
	tcase_add_loop_test(tc, scenario_parse_bad_step_fails, 0,
			    (int)(sizeof step_bad / sizeof step_bad[0]));
	tcase_add_test(tc, scenario_parse_advance_clock_needs_virtual_clock);
	tcase_add_test(tc, scenario_parse_error_names_file_line_and_path);
	tcase_add_test(tc, scenario_parse_hostile_nesting_fails_cleanly);
	tcase_add_test(tc, scenario_parse_too_many_steps_fails);
	tcase_add_test(tc, scenario_parse_is_deterministic_round_trip);
	suite_add_tcase(s, tc);
	tc = tcase_create("scenario_parse_duration");
	tcase_add_loop_test(tc, scenario_parse_duration_table, 0,
			    (int)(sizeof durations / sizeof durations[0]));
	tcase_add_test(tc, scenario_parse_duration_reads_only_len_bytes);
	suite_add_tcase(s, tc);
	tc = tcase_create("scenario_parse_identity");
	tcase_add_test(tc, scenario_parse_identity_cases);
	suite_add_tcase(s, tc);
	tc = tcase_create("scenario_expand");
	tcase_add_test(tc, scenario_expand_replaces_every_kind);
	tcase_add_test(tc, scenario_expand_unknown_and_malformed_fail);
	suite_add_tcase(s, tc);
	tc = tcase_create("scenario_expand_json");
	tcase_add_test(tc, scenario_expand_json_expands_strings_not_keys);
	tcase_add_test(tc, scenario_expand_json_whole_placeholder_takes_the_value_type);
	tcase_add_test(tc, scenario_expand_json_text_placeholders_stay_text);
	tcase_add_test(tc, scenario_parse_placeholder_operand_succeeds);
	tcase_add_test(tc, scenario_parse_placeholder_operand_misused_fails);
	suite_add_tcase(s, tc);
	tc = tcase_create("scenario_is_whole_placeholder");
	tcase_add_test(tc, scenario_is_whole_placeholder_cases);
	suite_add_tcase(s, tc);
	tc = tcase_create("scenario_error_format");
	tcase_add_test(tc, scenario_error_format_shapes);
	suite_add_tcase(s, tc);
	tc = tcase_create("scenario_kind_keys");
	tcase_add_test(tc, scenario_kind_keys_agree_with_schema);
	tcase_add_test(tc, scenario_kind_name_out_of_range);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(scenario_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
