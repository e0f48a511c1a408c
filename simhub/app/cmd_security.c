/*
 * cmd_security.c: `simhub security ...` (issue 5): enable the security module of a device, list
 * stored security messages, events and alerts, show a device's summary and its configuration
 * drift. Through the running hub's API (/simhub/v1/security) when one answers, else on the
 * database file with the same hub calls the API makes. It never validates messages itself.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app/cli.h"
#include "core/isotime.h"
#include "store/store.h"

static const char *jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The three lists: their API path, answer key and filters (option -> query argument). */
enum list_kind { LIST_EVENTS, LIST_MESSAGES, LIST_ALERTS };

static const char *const list_path[] = {"events", "messages", "alerts"};

static const struct {
	const char *opt, *arg;
} filters[] = {
	{"device", "deviceId"}, {"module", "moduleId"}, {"name", "name"}, {"type", "type"},
	{"category", "category"}, {"verdict", "verdict"}, {"rule", "rule"},
	{"severity", "severity"},
};

/* Append "&name=value" (value percent-encoded) to q; -1 when it does not fit. */
static int add_arg(char *q, size_t cap, const char *name, const char *value)
{
	char enc[3 * 512 + 1];
	if (cli_url_encode(value, enc, sizeof enc))
		return -1;
	size_t len = strlen(q);
	int n = snprintf(q + len, cap - len, "%s%s=%s", len ? "&" : "?", name, enc);
	return n < 0 || (size_t)n >= cap - len ? -1 : 0;
}

/* --since as hub time (microseconds), 0 when absent; -1 when malformed (printed). */
static int since_opt(struct cli_ctx *ctx, int64_t *from)
{
	*from = 0;
	const char *s = cli_opt(ctx, "since");
	if (!s)
		return 0;
	if (cli_parse_since(s, cli_now_us(), from) != 0) {
		cli_error(CLI_USAGE, "--since takes a duration (90s, 10m, 2h, 7d) or an ISO 8601 time");
		return -1;
	}
	return 0;
}

/* One item as one line for people. */
static void print_line(enum list_kind k, const cJSON *o)
{
	const char *dev = jstr(o, "deviceId"), *mod = jstr(o, "moduleId");
	char who[2 * SH_ID_MAX + 2];
	snprintf(who, sizeof who, "%s%s%s", dev ? dev : "?", mod ? "/" : "", mod ? mod : "");
	if (k == LIST_ALERTS) {
		printf("%s  %-6s %-18s %-24s %s\n", jstr(o, "createdTimeUtc"), jstr(o, "severity"),
		       jstr(o, "rule"), who, jstr(o, "description"));
		return;
	}
	if (k == LIST_MESSAGES) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "eventCount");
		printf("%s  %-24s %-9s %d event(s)  agent %s\n", jstr(o, "receivedTimeUtc"), who,
		       jstr(o, "verdict"), cJSON_IsNumber(n) ? n->valueint : 0,
		       jstr(o, "agentId") ? jstr(o, "agentId") : "-");
		return;
	}
	char *payload = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(o, "payload"));
	printf("%s  %-24s %-22s %-9s %s\n", jstr(o, "receivedTimeUtc"), who, jstr(o, "name"),
	       jstr(o, "verdict"), payload ? payload : "null");
	cJSON_free(payload);
}

/* --- the database-file side: the same items the API returns (hub_security_*_json) ------------ */

static sh_rc local_add(void *arg, cJSON *o)
{
	if (!o)
		return SH_E_NOMEM;
	cJSON_AddItemToArray(arg, o);
	return SH_OK;
}

static sh_rc local_event(void *arg, const struct hub_security_event *e)
{
	return local_add(arg, hub_security_event_json(e));
}

static sh_rc local_message(void *arg, const struct hub_security_message *m)
{
	return local_add(arg, hub_security_message_json(m));
}

static sh_rc local_alert(void *arg, const struct hub_security_alert *a)
{
	return local_add(arg, hub_security_alert_json(a));
}

/* The list from the database file, filtered like the API. */
static int local_list(struct cli_ctx *ctx, enum list_kind k, int64_t from, long long limit,
		      cJSON *out)
{
	int rc = cli_open(ctx, false);
	if (rc)
		return rc;
	sh_rc w;
	if (k == LIST_EVENTS) {
		struct hub_security_event_query q = {
			.device_id = cli_opt(ctx, "device"), .module_id = cli_opt(ctx, "module"),
			.name = cli_opt(ctx, "name"), .event_type = cli_opt(ctx, "type"),
			.category = cli_opt(ctx, "category"), .verdict = cli_opt(ctx, "verdict"),
			.from_us = from, .limit = limit,
		};
		w = hub_security_events_each(ctx->hub, &q, local_event, out);
	} else if (k == LIST_MESSAGES) {
		struct hub_security_message_query q = {
			.device_id = cli_opt(ctx, "device"), .module_id = cli_opt(ctx, "module"),
			.verdict = cli_opt(ctx, "verdict"), .from_us = from, .limit = limit,
		};
		w = hub_security_messages_each(ctx->hub, &q, local_message, out);
	} else {
		struct hub_security_alert_query q = {
			.device_id = cli_opt(ctx, "device"), .rule = cli_opt(ctx, "rule"),
			.severity = cli_opt(ctx, "severity"), .from_us = from, .limit = limit,
		};
		w = hub_security_alerts_each(ctx->hub, &q, local_alert, out);
	}
	if (w != SH_OK)
		return cli_error(CLI_FAIL, "cannot read the security %s: %s", list_path[k],
				 store_errmsg(hub_store(ctx->hub)));
	return CLI_OK;
}

/* The list through the running hub, following continuations up to `limit` items. */
static int remote_list(struct cli_ctx *ctx, enum list_kind k, const char *q, long long limit,
		       cJSON *out)
{
	char cont[32] = "";
	long long got = 0;
	for (;;) {
		long long want = limit - got > 1000 ? 1000 : limit - got;
		char path[4096];
		snprintf(path, sizeof path, "/simhub/v1/security/%s%s%slimit=%lld%s%s", list_path[k], q,
			 q[0] ? "&" : "?", want, cont[0] ? "&continuation=" : "", cont);
		cJSON *page = NULL;
		int rc = cli_remote_json(ctx, "GET", path, NULL, NULL, &page, NULL,
					 "cannot read the security lists");
		if (rc)
			return rc;
		cJSON *arr = cJSON_GetObjectItemCaseSensitive(page, list_path[k]), *it;
		cJSON_ArrayForEach(it, arr)
		{
			cJSON_AddItemToArray(out, cJSON_Duplicate(it, 1));
			got++;
		}
		const char *c = jstr(page, "continuation");
		snprintf(cont, sizeof cont, "%s", c ? c : "");
		cJSON_Delete(page);
		if (!cont[0] || got >= limit)
			return CLI_OK;
	}
}

static int list_verb(struct cli_ctx *ctx, enum list_kind k)
{
	long long limit = 1000;
	if (cli_opt(ctx, "limit")) {
		char *end;
		limit = strtoll(cli_opt(ctx, "limit"), &end, 10);
		if (*end || limit < 1 || limit > 1000000)
			return cli_error(CLI_USAGE, "--limit takes 1 to 1000000");
	}
	int64_t from = 0;
	if (since_opt(ctx, &from))
		return CLI_USAGE;
	const char *v = cli_opt(ctx, "verdict");
	if (v && strcmp(v, "valid") && strcmp(v, "tolerated") && strcmp(v, "invalid"))
		return cli_error(CLI_USAGE, "--verdict takes valid, tolerated or invalid");
	char q[4096] = "";
	for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
		const char *val = cli_opt(ctx, filters[i].opt);
		if (val && add_arg(q, sizeof q, filters[i].arg, val))
			return cli_error(CLI_USAGE, "--%s is too long", filters[i].opt);
	}
	if (from) {
		char iso[ISOTIME_BUF];
		isotime_format(from, iso);
		add_arg(q, sizeof q, "from", iso);
	}
	cJSON *items = cJSON_CreateArray();
	if (!items)
		return cli_error(CLI_FAIL, "out of memory");
	int rc = cli_remote_open(ctx, false);
	if (!rc)
		rc = ctx->remote ? remote_list(ctx, k, q, limit, items)
				 : local_list(ctx, k, from, limit, items);
	if (!rc) {
		if (ctx->json) {
			cli_print_json(items);
		} else {
			const cJSON *it;
			cJSON_ArrayForEach(it, items)
				print_line(k, it);
			if (!cJSON_GetArraySize(items))
				fprintf(stderr, "simhub: no security %s match\n", list_path[k]);
		}
	}
	cJSON_Delete(items);
	return rc;
}

static int events_verb(struct cli_ctx *ctx)
{
	return list_verb(ctx, LIST_EVENTS);
}

static int messages_verb(struct cli_ctx *ctx)
{
	return list_verb(ctx, LIST_MESSAGES);
}

static int alerts_verb(struct cli_ctx *ctx)
{
	return list_verb(ctx, LIST_ALERTS);
}

/* --- one device: summary, config, enable ------------------------------------------------------ */

enum device_op { OP_SUMMARY, OP_CONFIG, OP_ENABLE };

static void print_config(const cJSON *c)
{
	const cJSON *applied = cJSON_GetObjectItemCaseSensitive(c, "applied");
	printf("%s: configuration %s\n", jstr(c, "deviceId"),
	       cJSON_IsTrue(applied) ? "applied" : "not applied (yet)");
	printf("  %-38s %-13s %-14s %s\n", "field", "state", "desired", "reported");
	const cJSON *f;
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(c, "fields"))
	{
		char *d = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(f, "desired"));
		char *r = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(f, "reported"));
		printf("  %-38s %-13s %-14s %s%s%s\n", jstr(f, "field"), jstr(f, "state"),
		       d ? d : "-", r ? r : "-", jstr(f, "agentError") ? "  ! " : "",
		       jstr(f, "agentError") ? jstr(f, "agentError") : "");
		cJSON_free(d);
		cJSON_free(r);
	}
}

static const char *const device_tail[] = {"summary", "config", "enable"};

/*
 * One device answer (summary, config or enable) into *out (caller frees): through the hub
 * when ctx->remote is set, else on the database the caller opened. Returns CLI_OK, or the
 * failure printed; a config of a device without the security module fails (404010).
 */
static int device_fetch(struct cli_ctx *ctx, enum device_op op, const char *dev, const char *edev,
			cJSON **out)
{
	*out = NULL;
	if (ctx->remote) {
		char path[1024];
		snprintf(path, sizeof path, "/simhub/v1/security/devices/%s/%s", edev,
			 device_tail[op]);
		return cli_remote_json(ctx, op == OP_ENABLE ? "POST" : "GET", path, NULL, NULL, out,
				       NULL, "security");
	}
	struct iothub_err err = {0};
	sh_rc h;
	if (op == OP_SUMMARY) {
		h = hub_security_summary(ctx->hub, dev, out, &err);
	} else if (op == OP_CONFIG) {
		h = hub_security_config_json(ctx->hub, dev, out, &err);
	} else {
		bool created = false;
		h = hub_security_enable(ctx->hub, dev, &created, &err);
		if (h == SH_OK && (*out = cJSON_CreateObject()) != NULL) {
			cJSON_AddStringToObject(*out, "deviceId", dev);
			cJSON_AddStringToObject(*out, "moduleId", HUB_SECURITY_MODULE_ID);
			cJSON_AddBoolToObject(*out, "created", created);
		}
	}
	if (h != SH_OK)
		return cli_fail_hub(device_tail[op], &err);
	return CLI_OK;
}

static double jnum(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* The name/count pairs of a summary's "events" or "alerts" object, one per line under `label`
 * ("none" when empty). */
static void print_counts(const char *label, const cJSON *counts)
{
	const cJSON *c;
	bool first = true;
	cJSON_ArrayForEach(c, counts)
	{
		if (cJSON_IsNumber(c)) {
			printf("  %-16s %-28s %.0f\n", first ? label : "", c->string, c->valuedouble);
			first = false;
		}
	}
	if (first)
		printf("  %-16s none\n", label);
}

/*
 * The configuration lines of the text summary: no module; applied (with the fields the agent
 * does not know, which do not count against it); not reported yet; or the rows that keep it
 * from being applied (pending, rejected) with desired and reported values. cfg is the device's
 * config answer, NULL when the summary says there is no module.
 */
static void print_summary_config(const cJSON *s, const cJSON *cfg)
{
	const char *label = "configuration:";
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "hasModule")) || !cfg) {
		printf("  %-16s no %s module (simhub security enable DEVICE)\n", label,
		       HUB_SECURITY_MODULE_ID);
		return;
	}
	bool applied = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "applied"));
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cfg, "reportedPresent"))) {
		printf("  %-16s not applied: the agent has not reported its configuration yet\n",
		       label);
		return;
	}
	printf("  %-16s %s\n", label, applied ? "applied" : "not applied; these fields drift:");
	const cJSON *f;
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(cfg, "fields"))
	{
		const char *st = jstr(f, "state");
		if (!st)
			continue;
		bool drift = strcmp(st, "pending") == 0 || strcmp(st, "rejected") == 0;
		bool unknown_to_agent = strcmp(st, "not-reported") == 0;
		if (!drift && !unknown_to_agent)
			continue;
		char *d = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(f, "desired"));
		char *r = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(f, "reported"));
		if (unknown_to_agent)
			printf("  %-16s %-38s %-13s desired %s (this agent does not know the field)\n",
			       "", jstr(f, "field"), st, d ? d : "-");
		else
			printf("  %-16s %-38s %-13s desired %s, reported %s%s%s\n", "",
			       jstr(f, "field"), st, d ? d : "-", r ? r : "-",
			       jstr(f, "agentError") ? "  ! " : "",
			       jstr(f, "agentError") ? jstr(f, "agentError") : "");
		cJSON_free(d);
		cJSON_free(r);
	}
}

/* The text form of `security summary`: aligned key/value lines. */
static void print_summary(const cJSON *s, const cJSON *cfg)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, "verdicts");
	bool exists = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "deviceExists"));
	printf("%s\n", jstr(s, "deviceId") ? jstr(s, "deviceId") : "?");
	printf("  %-16s %s\n", "device:",
	       exists ? "in the registry" : "not in the registry (deleted)");
	printf("  %-16s %.0f (valid %.0f, tolerated %.0f, invalid %.0f)\n", "messages:",
	       jnum(s, "messages"), jnum(v, "valid"), jnum(v, "tolerated"), jnum(v, "invalid"));
	printf("  %-16s %s\n", "last message:",
	       jstr(s, "lastMessageTime") ? jstr(s, "lastMessageTime") : "never");
	print_counts("events:", cJSON_GetObjectItemCaseSensitive(s, "events"));
	printf("  %-16s %.0f\n", "alerts:", jnum(s, "alertCount"));
	print_counts("alerts by rule:", cJSON_GetObjectItemCaseSensitive(s, "alerts"));
	print_summary_config(s, cfg);
}

static int device_verb(struct cli_ctx *ctx, enum device_op op)
{
	const char *dev = ctx->pos[0];
	char edev[3 * SH_ID_MAX + 1];
	if (!dev[0] || strlen(dev) > SH_ID_MAX || cli_url_encode(dev, edev, sizeof edev))
		return cli_error(CLI_USAGE, "DEVICE takes 1 to %d characters", SH_ID_MAX);
	cJSON *out = NULL, *cfg = NULL;
	int rc = cli_remote_open(ctx, false);
	if (rc)
		return rc;
	if (!ctx->remote && (rc = cli_open(ctx, op == OP_ENABLE)))
		return rc;
	if ((rc = device_fetch(ctx, op, dev, edev, &out)))
		return rc;
	if (!out)
		return cli_error(CLI_FAIL, "the hub's answer is empty");
	/* The text summary names the drifting fields: the config answer has them. */
	if (op == OP_SUMMARY && !ctx->json &&
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(out, "hasModule")) &&
	    (rc = device_fetch(ctx, OP_CONFIG, dev, edev, &cfg))) {
		cJSON_Delete(out);
		return rc;
	}
	if (ctx->json)
		cli_print_json(out);
	else if (op == OP_SUMMARY)
		print_summary(out, cfg);
	else if (op == OP_CONFIG)
		print_config(out);
	else
		printf("%s: %s %s\n", dev, HUB_SECURITY_MODULE_ID,
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(out, "created"))
			       ? "created with the default configuration"
			       : "already there (configuration object ensured)");
	cJSON_Delete(cfg);
	cJSON_Delete(out);
	return CLI_OK;
}

static int summary_verb(struct cli_ctx *ctx)
{
	return device_verb(ctx, OP_SUMMARY);
}

static int config_verb(struct cli_ctx *ctx)
{
	return device_verb(ctx, OP_CONFIG);
}

static int enable_verb(struct cli_ctx *ctx)
{
	return device_verb(ctx, OP_ENABLE);
}

/* Each list verb takes only the filters its API list honours: an option that would be ignored
 * is refused as unknown instead. */
#define SEC_WHO_OPTS                                                                               \
	{"device", "ID", "only this device (its own and its modules' rows)"},                     \
	{"module", "ID", "only this module ('' for the device's own rows)"}
#define SEC_PAGE_OPTS                                                                              \
	{"since", "WHEN", "received in the last 10m / 2h / 7d, or since an ISO 8601 time"},       \
	{"limit", "N", "at most N rows (default 1000)"}

static const struct cli_opt events_opts[] = {
	SEC_WHO_OPTS,
	{"name", "NAME", "only this event name (ProcessCreate, Login, ...)"},
	{"type", "TYPE", "Security, Operational or Diagnostic"},
	{"category", "CAT", "Periodic, Triggered or Aggregated"},
	{"verdict", "V", "valid, tolerated or invalid"},
	SEC_PAGE_OPTS,
	CLI_REMOTE_OPTS,
	{NULL, NULL, NULL},
};

static const struct cli_opt messages_opts[] = {
	SEC_WHO_OPTS,
	{"verdict", "V", "valid, tolerated or invalid"},
	SEC_PAGE_OPTS,
	CLI_REMOTE_OPTS,
	{NULL, NULL, NULL},
};

static const struct cli_opt alerts_opts[] = {
	{"device", "ID", "only this device (its own and its modules' alerts)"},
	{"rule", "RULE", "bruteForce, bruteForceSuccess, openPorts, permissiveFirewall, ..."},
	{"severity", "SEV", "High, Medium or Low"},
	{"since", "WHEN", "raised in the last 10m / 2h / 7d, or since an ISO 8601 time"},
	{"limit", "N", "at most N rows (default 1000)"},
	CLI_REMOTE_OPTS,
	{NULL, NULL, NULL},
};

static const struct cli_opt device_opts[] = {
	CLI_REMOTE_OPTS,
	{NULL, NULL, NULL},
};

const struct cli_verb cli_verbs_security[] = {
	{"security", "events", NULL, "list stored security events (filters, --json)",
	 "One line per event: receipt time, identity, name, verdict, payload. Through the running\n"
	 "hub when one answers, else on the database. docs/security.md explains verdicts.",
	 events_opts, 0, 0, events_verb},
	{"security", "messages", NULL, "list stored security messages with their verdicts", NULL,
	 messages_opts, 0, 0, messages_verb},
	{"security", "alerts", NULL, "list the alerts the built-in rules raised", NULL, alerts_opts, 0,
	 0, alerts_verb},
	{"security", "summary", "DEVICE", "a device's security counts, last message, alerts",
	 "Aligned lines: messages by verdict, events by name, alerts by rule, and whether the\n"
	 "agent applied the desired configuration (else the fields that drift). --json gives\n"
	 "the API's summary object.", device_opts, 1, 1, summary_verb},
	{"security", "config", "DEVICE", "desired vs reported agent configuration, per field",
	 "States: applied, pending, rejected (the agent reported a TypeMismatch), default\n"
	 "(not set in desired), unknown-field.", device_opts, 1, 1, config_verb},
	{"security", "enable", "DEVICE", "give a device the azureiotsecurity module twin",
	 "Creates the module (SAS keys generated) with the default agent configuration in its\n"
	 "desired properties; an existing module keeps its keys.", device_opts, 1, 1, enable_verb},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
