/*
 * scenario_run_expect.c: the runner's expectations. Things that happen (telemetry, security
 * events, alerts, C2D outcomes, connects) are read from the events the hub's bus delivered
 * since the scenario started; state (connection, twin, security configuration) is read from
 * the hub when polled. Each poll says pending, passed or failed, and keeps what it saw last
 * for the failure message. It never changes the hub.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "app/scenario_run_internal.h"
#include "core/jsonmatch.h"
#include "core/secconfig.h"
#include "hub/session.h"

static void set_seen(struct run *r, char *text)
{
	free(r->seen);
	r->seen = text;
}

static bool is_connected(struct run *r, const struct scenario_identity *id)
{
	struct hub_session *s = hub_sessions_find(r->reg, id->device_id, id->module_id);
	return s && session_is_connected(s);
}

static bool same_identity(const struct run_event *e, const struct scenario_step *st)
{
	return !st->has_identity || (strcmp(e->device_id, st->identity.device_id) == 0 &&
				     strcmp(e->module_id, st->identity.module_id) == 0);
}

static const char *str_field(const cJSON *o, const char *a, const char *b, const char *c)
{
	const char *names[3] = {a, b, c};
	for (int i = 0; i < 3; i++) {
		const cJSON *v = names[i] ? cJSON_GetObjectItemCaseSensitive(o, names[i]) : NULL;
		if (cJSON_IsString(v))
			return v->valuestring;
	}
	return NULL;
}

char *run_event_text(const struct run_event *e)
{
	char *json = run_json_text(e->data, 300);
	char *t = run_strf("%s event from %s%s%s: %s", hub_event_kind_str(e->kind),
			   e->device_id[0] ? e->device_id : "(hub)", e->module_id[0] ? "/" : "",
			   e->module_id, json ? json : "");
	free(json);
	return t;
}

/* The last connection event of an identity, as text ("none" when it never connected). */
static char *last_connection(struct run *r, const struct scenario_identity *id)
{
	for (size_t i = r->n_ev; i-- > 0;) {
		const struct run_event *e = &r->ev[i];
		if (e->kind != HUB_EV_CONNECTION || strcmp(e->device_id, id->device_id) != 0 ||
		    strcmp(e->module_id, id->module_id) != 0)
			continue;
		const char *what = str_field(e->data, "event", NULL, NULL);
		const char *why = str_field(e->data, "reason", NULL, NULL);
		return run_strf("last connection event: %s (%s)", what ? what : "?", why ? why : "no reason");
	}
	return strdup("it never connected");
}

/* The body of a telemetry event as JSON: parsed when it is JSON text, else a string. */
static cJSON *event_body(const struct run_event *e)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(e->data, "body");
	const char *enc = str_field(e->data, "bodyEncoding", NULL, NULL);
	if (!cJSON_IsString(b))
		return NULL;
	if (!enc) {
		cJSON *j = cJSON_Parse(b->valuestring);
		if (j)
			return j;
	}
	return cJSON_CreateString(b->valuestring);
}

/*
 * Does event e pass the filters of step st for `kind`? On a mismatch of a pattern, *why
 * (optional) gets the reason (caller frees). Identity, names and types are filters: an event
 * they exclude is not a "mismatch" worth reporting.
 */
static bool event_matches(struct run *r, const struct scenario_step *st, const struct run_event *e,
			  enum hub_event_kind kind, char **why)
{
	if (e->kind != kind || !same_identity(e, st))
		return false;
	struct jsonmatch_why w;
	char buf[800];
	switch (kind) {
	case HUB_EV_TELEMETRY: {
		const cJSON *app = cJSON_GetObjectItemCaseSensitive(e->data, "properties");
		const cJSON *sys = cJSON_GetObjectItemCaseSensitive(e->data, "systemProperties");
		cJSON *empty = cJSON_CreateObject();
		bool ok = true;
		if (r->x_props && !jsonmatch_eval(r->x_props, app ? app : empty, "$.properties", &w))
			ok = false;
		else if (r->x_sys && !jsonmatch_eval(r->x_sys, sys ? sys : empty, "$.systemProperties", &w))
			ok = false;
		cJSON_Delete(empty);
		if (ok && r->x_match) {
			cJSON *body = event_body(e);
			ok = jsonmatch_eval(r->x_match, body, "$.body", &w);
			cJSON_Delete(body);
		}
		if (!ok && why)
			*why = strdup(jsonmatch_why_format(&w, buf, sizeof buf));
		return ok;
	}
	case HUB_EV_SECURITY:
	case HUB_EV_ALERT: {
		if (kind == HUB_EV_SECURITY) {
			const char *name = str_field(e->data, "eventName", "name", "Name");
			const char *type = str_field(e->data, "eventType", "EventType", "type");
			if (st->event_name[0] && (!name || strcmp(name, st->event_name) != 0))
				return false;
			if (st->event_type[0] && (!type || strcasecmp(type, st->event_type) != 0))
				return false;
		} else {
			const char *type = str_field(e->data, "alertType", "type", "name");
			if (st->alert_type[0] && (!type || strcmp(type, st->alert_type) != 0))
				return false;
		}
		if (r->x_match && !jsonmatch_eval(r->x_match, e->data, "$", &w)) {
			if (why)
				*why = strdup(jsonmatch_why_format(&w, buf, sizeof buf));
			return false;
		}
		return true;
	}
	default:
		return true;
	}
}

/* A walk over stored security events or alerts for one expectation. */
struct sec_walk {
	struct run *r;
	const struct scenario_step *st;
	size_t n, seen;
	cJSON *last;                  /* the last matching item (owned) */
	char *why;                    /* the last mismatch */
};

/* The item a security-event pattern is matched against: the event as the agent sent it
 * (PascalCase fields of the security message schema) plus where it came from. */
static cJSON *security_event_json(const struct hub_security_event *e)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "EventType", e->event_type);
	cJSON_AddStringToObject(o, "Category", e->category);
	cJSON_AddStringToObject(o, "Name", e->name);
	cJSON_AddBoolToObject(o, "IsEmpty", e->is_empty);
	if (e->event_id)
		cJSON_AddStringToObject(o, "Id", e->event_id);
	if (e->timestamp_local)
		cJSON_AddStringToObject(o, "TimestampLocal", e->timestamp_local);
	cJSON *p = cJSON_Parse(e->payload_json ? e->payload_json : "null");
	cJSON_AddItemToObject(o, "Payload", p ? p : cJSON_CreateNull());
	cJSON_AddStringToObject(o, "verdict", e->verdict);
	cJSON_AddStringToObject(o, "deviceId", e->device_id);
	cJSON_AddStringToObject(o, "moduleId", e->module_id ? e->module_id : "");
	if (e->agent_id)
		cJSON_AddStringToObject(o, "agentId", e->agent_id);
	return o;
}

static cJSON *alert_json(const struct hub_security_alert *a)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "alertType", a->rule);
	cJSON_AddStringToObject(o, "severity", a->severity);
	cJSON_AddStringToObject(o, "deviceId", a->device_id);
	cJSON_AddStringToObject(o, "moduleId", a->module_id ? a->module_id : "");
	cJSON_AddStringToObject(o, "description", a->description ? a->description : "");
	cJSON *ev = cJSON_Parse(a->evidence_json ? a->evidence_json : "[]");
	cJSON_AddItemToObject(o, "evidence", ev ? ev : cJSON_CreateArray());
	return o;
}

/* Count one item: identity (module exact) and the step's match pattern. */
static void sec_item(struct sec_walk *w, const char *module_id, cJSON *item)
{
	const struct scenario_step *st = w->st;
	if (st->has_identity && strcmp(module_id ? module_id : "", st->identity.module_id) != 0) {
		cJSON_Delete(item);
		return;
	}
	w->seen++;
	struct jsonmatch_why why;
	char buf[800];
	if (w->r->x_match && !jsonmatch_eval(w->r->x_match, item, "$", &why)) {
		free(w->why);
		w->why = strdup(jsonmatch_why_format(&why, buf, sizeof buf));
		cJSON_Delete(item);
		return;
	}
	w->n++;
	cJSON_Delete(w->last);
	w->last = item;
}

static sh_rc sec_event_cb(void *arg, const struct hub_security_event *e)
{
	struct sec_walk *w = arg;
	sec_item(w, e->module_id, security_event_json(e));
	return SH_OK;
}

static sh_rc sec_alert_cb(void *arg, const struct hub_security_alert *a)
{
	struct sec_walk *w = arg;
	sec_item(w, a->module_id, alert_json(a));
	return SH_OK;
}

/*
 * Security events (eventName, eventType, match) or alerts (alertType, match) of the step's
 * identity stored since hub time from_us, read from the hub's security store: one item per
 * event of a message, as security-agent.md describes them.
 */
static sh_rc security_walk(struct run *r, const struct scenario_step *st, bool alerts,
			   int64_t from_us, struct sec_walk *w)
{
	memset(w, 0, sizeof *w);
	w->r = r;
	w->st = st;
	if (alerts) {
		struct hub_security_alert_query q = {
			.device_id = st->has_identity ? st->identity.device_id : NULL,
			.rule = st->alert_type[0] ? st->alert_type : NULL,
			.from_us = from_us,
		};
		return hub_security_alerts_each(r->hub, &q, sec_alert_cb, w);
	}
	struct hub_security_event_query q = {
		.device_id = st->has_identity ? st->identity.device_id : NULL,
		.module_id = st->has_identity ? st->identity.module_id : NULL,
		.name = st->event_name[0] ? st->event_name : NULL,
		.event_type = st->event_type[0] ? st->event_type : NULL,
		.from_us = from_us,
	};
	return hub_security_events_each(r->hub, &q, sec_event_cb, w);
}

static enum step_state expect_security(struct run *r, const struct scenario_step *st, bool alerts,
				       bool timed_out)
{
	struct sec_walk w;
	int64_t from = st->since == SCENARIO_SINCE_STEP ? r->step_hub_us : r->t0_hub_us;
	if (security_walk(r, st, alerts, from, &w) != SH_OK) {
		free(w.why);
		cJSON_Delete(w.last);
		return run_fail(r, STEP_ERROR, "cannot read the security store", NULL);
	}
	cJSON *count = cJSON_CreateNumber((double)w.n);
	struct jsonmatch_why cw;
	bool ok = jsonmatch_eval(st->count ? st->count : r->count_default, count, "$.count", &cw);
	cJSON_Delete(count);
	const char *noun = alerts ? "alert" : "security event";
	set_seen(r, run_strf("%zu matching of %zu %s%s%s%s", w.n, w.seen, noun, w.seen == 1 ? "" : "s",
			     w.why ? "; last mismatch: " : "", w.why ? w.why : ""));
	free(w.why);
	if (ok && w.last && st->capture[0]) {
		run_capture(r, st->capture, w.last);
		w.last = NULL;
	}
	cJSON_Delete(w.last);
	if (ok)
		return STEP_PASSED;
	if (!timed_out)
		return STEP_PENDING;
	char *pat = run_json_text(st->count ? st->count : r->count_default, 200);
	char *exp = run_strf("%s count %s%s%s%s%s within %.1fs", noun, pat,
			     st->event_name[0] ? " named " : "", st->event_name,
			     st->alert_type[0] ? " of type " : "", st->alert_type,
			     (double)st->within_us / 1e6);
	enum step_state s = run_fail(r, STEP_FAILED, exp, NULL);
	free(pat);
	free(exp);
	return s;
}

/*
 * What a telemetry expectation captures: the message's live event with its body as `match`
 * saw it (parsed when it is JSON text), so {{capture.NAME.body.field}} reaches into the body.
 * Caller owns the result.
 */
static cJSON *capture_event(const struct run_event *e)
{
	cJSON *c = cJSON_Duplicate(e->data, 1);
	cJSON *body = c && e->kind == HUB_EV_TELEMETRY ? event_body(e) : NULL;
	if (body)
		cJSON_ReplaceItemInObjectCaseSensitive(c, "body", body);
	return c;
}

static const char *kind_noun(enum hub_event_kind k)
{
	return k == HUB_EV_TELEMETRY ? "telemetry message" : k == HUB_EV_SECURITY ? "security event"
							  : "alert";
}

/* telemetry, security-event, alert: count the matching events since the start or the step. */
static enum step_state expect_count(struct run *r, const struct scenario_step *st,
				    enum hub_event_kind kind, bool timed_out)
{
	size_t from = st->since == SCENARIO_SINCE_STEP ? r->step_mark : 0;
	size_t n = 0, seen_kind = 0;
	char *why = NULL;
	const struct run_event *last = NULL;
	for (size_t i = from; i < r->n_ev; i++) {
		const struct run_event *e = &r->ev[i];
		if (e->kind == kind && same_identity(e, st))
			seen_kind++;
		char *w = NULL;
		if (event_matches(r, st, e, kind, &w)) {
			n++;
			last = e;
		} else if (w) {
			free(why);
			why = w;
		}
	}
	cJSON *count = cJSON_CreateNumber((double)n);
	struct jsonmatch_why cw;
	bool ok = jsonmatch_eval(st->count ? st->count : r->count_default, count, "$.count", &cw);
	cJSON_Delete(count);
	char idbuf[2 * SH_ID_MAX + 2];
	set_seen(r, run_strf("%zu matching of %zu %s%s%s%s%s%s", n, seen_kind, kind_noun(kind),
			     seen_kind == 1 ? "" : "s", st->has_identity ? " from " : "",
			     st->has_identity ? run_ident(&st->identity, idbuf, sizeof idbuf) : "",
			     why ? "; last mismatch: " : "", why ? why : ""));
	free(why);
	if (ok) {
		if (last && st->capture[0])
			run_capture(r, st->capture, capture_event(last));
		return STEP_PASSED;
	}
	if (!timed_out)
		return STEP_PENDING;
	char *pat = run_json_text(st->count ? st->count : r->count_default, 200);
	char *exp = run_strf("%s count %s within %.1fs", kind_noun(kind), pat,
			     (double)st->within_us / 1e6);
	enum step_state s = run_fail(r, STEP_FAILED, exp, NULL);
	free(pat);
	free(exp);
	return s;
}

/* reported, twin: the twin read now against the pattern. */
static enum step_state expect_twin(struct run *r, const struct scenario_step *st, bool timed_out)
{
	cJSON *twin = NULL;
	struct iothub_err err;
	bool ok = false;
	const char *root = st->kind == SCENARIO_EXPECT_REPORTED ? "$.properties.reported" : "$";
	if (hub_twin_get(r->hub, st->identity.device_id, st->identity.module_id, &twin, &err) != SH_OK) {
		set_seen(r, run_strf("no twin: %s", err.message));
	} else {
		const cJSON *v = twin;
		if (st->kind == SCENARIO_EXPECT_REPORTED)
			v = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(twin, "properties"), "reported");
		struct jsonmatch_why w;
		char buf[800];
		ok = jsonmatch_eval(r->x_match, v, root, &w);
		if (ok) {
			if (st->capture[0])
				run_capture(r, st->capture, cJSON_Duplicate(v, 1));
		} else {
			char *val = run_json_text(v, 300);
			set_seen(r, run_strf("%s (%s was %s)", jsonmatch_why_format(&w, buf, sizeof buf), root,
					     val ? val : "?"));
			free(val);
		}
	}
	cJSON_Delete(twin);
	if (ok)
		return STEP_PASSED;
	if (!timed_out)
		return STEP_PENDING;
	char idbuf[2 * SH_ID_MAX + 2];
	char *pat = run_json_text(r->x_match, 300);
	char *exp = run_strf("%s of %s to match %s within %.1fs",
			     st->kind == SCENARIO_EXPECT_REPORTED ? "reported properties" : "the twin",
			     run_ident(&st->identity, idbuf, sizeof idbuf), pat,
			     (double)st->within_us / 1e6);
	enum step_state s = run_fail(r, STEP_FAILED, exp, NULL);
	free(pat);
	free(exp);
	return s;
}

static enum step_state expect_connection(struct run *r, const struct scenario_step *st,
					 int64_t elapsed)
{
	bool want = st->kind == SCENARIO_EXPECT_CONNECTED;
	bool conn = is_connected(r, &st->identity);
	char *last = last_connection(r, &st->identity);
	set_seen(r, run_strf("%s; %s", conn ? "connected" : "not connected", last ? last : ""));
	free(last);
	char idbuf[2 * SH_ID_MAX + 2];
	char exp[512];
	run_ident(&st->identity, idbuf, sizeof idbuf);
	if (st->for_us > 0) {
		if (conn != want) {
			snprintf(exp, sizeof exp, "%s to stay %s for %.1fs (it changed after %.2fs)", idbuf,
				 want ? "connected" : "disconnected", (double)st->for_us / 1e6,
				 (double)elapsed / 1e6);
			return run_fail(r, STEP_FAILED, exp, NULL);
		}
		return elapsed >= st->for_us ? STEP_PASSED : STEP_PENDING;
	}
	if (conn == want)
		return STEP_PASSED;
	if (elapsed < st->within_us)
		return STEP_PENDING;
	snprintf(exp, sizeof exp, "%s %s within %.1fs", idbuf, want ? "connected" : "disconnected",
		 (double)st->within_us / 1e6);
	return run_fail(r, STEP_FAILED, exp, NULL);
}

static enum step_state expect_method(struct run *r, const struct scenario_step *st, bool timed_out)
{
	struct run_call *c = r->calls;
	while (c && strcmp(c->name, st->ref) != 0)
		c = c->next;
	if (!c)
		return run_fail(r, STEP_ERROR, "no invoke-method step made that call", NULL);
	if (!c->done) {
		set_seen(r, strdup("the call is still waiting for the device"));
		if (!timed_out)
			return STEP_PENDING;
		char exp[256];
		snprintf(exp, sizeof exp, "method call \"%s\" to finish within %.1fs", st->ref,
			 (double)st->within_us / 1e6);
		return run_fail(r, STEP_FAILED, exp, NULL);
	}
	enum step_state s = run_judge_call(r, st, c, r->x_match);
	if (s == STEP_PASSED && st->capture[0]) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "status", c->has_err ? (double)c->err.code : c->status);
		cJSON_AddItemToObject(o, "payload", c->payload ? cJSON_Duplicate(c->payload, 1) : cJSON_CreateNull());
		run_capture(r, st->capture, o);
	}
	return s;
}

static const char *const outcome_names[] = {"completed", "rejected", "abandoned", "expired"};

static enum step_state expect_c2d(struct run *r, const struct scenario_step *st, bool timed_out)
{
	int64_t seq = -1;
	const char *mid = NULL;
	char *mid_owned = NULL;
	if (st->ref[0]) {
		const cJSON *cap = run_capture_get(r, st->ref);
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(cap, "seq");
		if (!cJSON_IsNumber(s))
			return run_fail(r, STEP_ERROR, "that capture is not a send-c2d message", NULL);
		seq = (int64_t)s->valuedouble;
	} else {
		struct scenario_error e;
		if (scenario_expand(st->message_id, run_lookup, r, r->sc->file, st->path, &mid_owned, &e) != SH_OK)
			return run_fail(r, STEP_ERROR, "cannot expand messageId", NULL);
		mid = mid_owned;
	}
	const char *want = outcome_names[st->outcome];
	enum step_state res = STEP_PENDING;
	char *last = NULL;
	for (size_t i = 0; i < r->n_ev; i++) {
		const struct run_event *e = &r->ev[i];
		if (e->kind != HUB_EV_C2D || !same_identity(e, st))
			continue;
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(e->data, "seq");
		const char *m = str_field(e->data, "messageId", NULL, NULL);
		if (seq >= 0 ? !(cJSON_IsNumber(s) && (int64_t)s->valuedouble == seq)
			     : !(m && strcmp(m, mid) == 0))
			continue;
		const char *ev = str_field(e->data, "event", NULL, NULL);
		free(last);
		last = strdup(ev ? ev : "?");
		if (ev && strcmp(ev, want) == 0) {
			res = STEP_PASSED;
			if (st->capture[0])
				run_capture(r, st->capture, cJSON_Duplicate(e->data, 1));
			break;
		}
	}
	set_seen(r, last ? run_strf("the message's last event: %s", last)
			 : strdup("no event for that message"));
	free(last);
	if (res == STEP_PENDING && timed_out) {
		char exp[512];
		snprintf(exp, sizeof exp, "C2D message %s to be %s within %.1fs",
			 st->ref[0] ? st->ref : mid, want, (double)st->within_us / 1e6);
		res = run_fail(r, STEP_FAILED, exp, NULL);
	}
	free(mid_owned);
	return res;
}

/* Is `key` one of the step's `keys` (all keys when it has none)? */
static bool wanted_key(const struct scenario_step *st, const char *key)
{
	if (!st->key_count)
		return true;
	for (size_t i = 0; i < st->key_count; i++)
		if (strcmp(st->keys[i], key) == 0)
			return true;
	return false;
}

/*
 * security-config-applied: the security module twin's desired configuration object against
 * the reported one (security-agent.md §1.5), through core/secconfig's drift: every desired
 * key (or each of `keys`) must be applied. A not-reported row (a field only some agents know,
 * missing from a reported object) is skipped, unless `keys` names it: then it fails as not
 * applied. ignoreCase false also wants string values equal byte for byte.
 */
static enum step_state expect_secconfig(struct run *r, const struct scenario_step *st, bool timed_out)
{
	cJSON *twin = NULL;
	struct iothub_err err;
	bool ok = false;
	if (hub_twin_get(r->hub, st->identity.device_id, st->identity.module_id, &twin, &err) != SH_OK) {
		set_seen(r, run_strf("no twin: %s", err.message));
	} else {
		const cJSON *props = cJSON_GetObjectItemCaseSensitive(twin, "properties");
		struct secconfig_drift d;
		memset(&d, 0, sizeof d);
		if (secconfig_drift(cJSON_GetObjectItemCaseSensitive(props, "desired"),
				    cJSON_GetObjectItemCaseSensitive(props, "reported"), NULL, &d) == SH_OK) {
			ok = d.reported_present;
			char seen[1024] = "";
			size_t off = 0, checked = 0;
			for (size_t i = 0; i < d.n_rows; i++) {
				const struct secconfig_drift_row *row = &d.rows[i];
				if (!wanted_key(st, row->key) || (!st->key_count && !row->desired))
					continue;
				/* A field only some agents know, absent from this agent's reported
				 * object, holds nothing back unless the step names it in keys. */
				if (!st->key_count && row->state == SECCONFIG_NOT_REPORTED)
					continue;
				checked++;
				bool good = row->state == SECCONFIG_APPLIED;
				if (good && !st->ignore_case)
					good = jsonmatch_equal(row->desired, row->reported);
				if (good)
					continue;
				ok = false;
				char *dv = run_json_text(row->desired, 60), *rv = run_json_text(row->reported, 60);
				if (off < sizeof seen)
					off += (size_t)snprintf(seen + off, sizeof seen - off, "%s%s: desired %s, reported %s (%s)",
								off ? "; " : "", row->key, dv, rv,
								secconfig_state_str(row->state));
				free(dv);
				free(rv);
			}
			if (st->key_count && checked < st->key_count) {
				ok = false;
				snprintf(seen + (off < sizeof seen ? off : sizeof seen - 1),
					 sizeof seen - (off < sizeof seen ? off : sizeof seen - 1),
					 "%ssome of the keys are not in the configuration", off ? "; " : "");
			}
			set_seen(r, strdup(!d.reported_present ? "no reported configuration object"
						  : seen[0] ? seen : "every key applied"));
		}
		secconfig_drift_free(&d);
	}
	cJSON_Delete(twin);
	if (ok)
		return STEP_PASSED;
	if (!timed_out)
		return STEP_PENDING;
	char exp[512], idbuf[2 * SH_ID_MAX + 2];
	snprintf(exp, sizeof exp, "the security configuration of %s applied within %.1fs",
		 run_ident(&st->identity, idbuf, sizeof idbuf), (double)st->within_us / 1e6);
	return run_fail(r, STEP_FAILED, exp, NULL);
}

/* nothing: does event e count as the forbidden thing? */
static bool forbidden(struct run *r, const struct scenario_step *st, const struct run_event *e)
{
	const char *ev = str_field(e->data, "event", "section", NULL);
	switch (st->of) {
	case SCENARIO_NOTHING_TELEMETRY:
		return event_matches(r, st, e, HUB_EV_TELEMETRY, NULL);
	case SCENARIO_NOTHING_SECURITY_EVENT:
		return event_matches(r, st, e, HUB_EV_SECURITY, NULL);
	case SCENARIO_NOTHING_ALERT:
		return event_matches(r, st, e, HUB_EV_ALERT, NULL);
	case SCENARIO_NOTHING_C2D_SETTLED:
		return e->kind == HUB_EV_C2D && same_identity(e, st) && ev &&
		       (strcmp(ev, "completed") == 0 || strcmp(ev, "rejected") == 0 ||
			strcmp(ev, "abandoned") == 0 || strcmp(ev, "expired") == 0 ||
			strcmp(ev, "deadlettered") == 0);
	case SCENARIO_NOTHING_CONNECT:
	case SCENARIO_NOTHING_DISCONNECT:
		return e->kind == HUB_EV_CONNECTION && same_identity(e, st) && ev &&
		       strcmp(ev, st->of == SCENARIO_NOTHING_CONNECT ? "connect" : "disconnect") == 0;
	case SCENARIO_NOTHING_REPORTED_CHANGE:
		return e->kind == HUB_EV_TWIN && same_identity(e, st) && ev && strcmp(ev, "reported") == 0;
	case SCENARIO_NOTHING_METHOD_CALL:
		return e->kind == HUB_EV_METHOD && same_identity(e, st);
	}
	return false;
}

static const char *const nothing_names[] = {
	"telemetry", "security-event", "alert", "c2d-settled", "connect", "disconnect",
	"reported-change", "method-call",
};

static enum step_state expect_nothing(struct run *r, const struct scenario_step *st, int64_t elapsed)
{
	int64_t window = st->for_us ? st->for_us : r->sc->default_for_us;
	if (st->of == SCENARIO_NOTHING_SECURITY_EVENT || st->of == SCENARIO_NOTHING_ALERT) {
		struct sec_walk w;
		bool alerts = st->of == SCENARIO_NOTHING_ALERT;
		if (security_walk(r, st, alerts, r->step_hub_us, &w) != SH_OK) {
			free(w.why);
			cJSON_Delete(w.last);
			return run_fail(r, STEP_ERROR, "cannot read the security store", NULL);
		}
		free(w.why);
		if (w.n) {
			char exp[256];
			snprintf(exp, sizeof exp, "no %s for %.1fs (it happened after %.2fs)",
				 nothing_names[st->of], (double)window / 1e6, (double)elapsed / 1e6);
			char *t = run_json_text(w.last, 400);
			enum step_state s = run_fail(r, STEP_FAILED, exp, t);
			free(t);
			cJSON_Delete(w.last);
			return s;
		}
		cJSON_Delete(w.last);
		return elapsed >= window ? STEP_PASSED : STEP_PENDING;
	}
	for (size_t i = r->step_mark; i < r->n_ev; i++) {
		if (!forbidden(r, st, &r->ev[i]))
			continue;
		char exp[256];
		snprintf(exp, sizeof exp, "no %s for %.1fs (it happened after %.2fs)", nothing_names[st->of],
			 (double)window / 1e6, (double)elapsed / 1e6);
		char *t = run_event_text(&r->ev[i]);
		enum step_state s = run_fail(r, STEP_FAILED, exp, t);
		free(t);
		return s;
	}
	return elapsed >= window ? STEP_PASSED : STEP_PENDING;
}

/*
 * Expand the step's patterns once, when it starts, and validate them again: a typed
 * placeholder ("{{capture.v.n}}" as the operand of $gt, $in, ...) was accepted when the file
 * loaded, and only now shows its type. False (ERROR state set, naming the pattern's path and
 * the step's location) on failure.
 */
static bool expand_patterns(struct run *r, const struct scenario_step *st)
{
	struct scenario_error err;
	char where[SCENARIO_PATH_MAX + 32];
	const cJSON *in[3] = {st->match, st->properties, st->system_properties};
	cJSON **out[3] = {&r->x_match, &r->x_props, &r->x_sys};
	static const char *const names[3] = {"match", "properties", "systemProperties"};
	for (int i = 0; i < 3; i++) {
		snprintf(where, sizeof where, "%s.%s", st->path, names[i]);
		if (in[i] && scenario_expand_json(in[i], run_lookup, r, r->sc->file, where, out[i], &err) != SH_OK) {
			char buf[800];
			run_fail(r, STEP_ERROR, scenario_error_format(&err, buf, sizeof buf), NULL);
			return false;
		}
		struct jsonmatch_why why;
		if (*out[i] && jsonmatch_validate(*out[i], where, &why) != SH_OK) {
			char buf[800], w[700];
			snprintf(buf, sizeof buf, "after expanding its placeholders, %s",
				 jsonmatch_why_format(&why, w, sizeof w));
			run_fail(r, STEP_ERROR, buf, NULL);
			return false;
		}
	}
	return true;
}

enum step_state run_expect(struct run *r, const struct scenario_step *st)
{
	if (!r->x_match && !r->x_props && !r->x_sys && !r->seen && !expand_patterns(r, st))
		return STEP_ERROR;
	if (!r->seen)
		set_seen(r, strdup("nothing yet"));
	int64_t elapsed = run_mono_us() - r->step_mono;
	bool timed_out = elapsed >= st->within_us;
	switch (st->kind) {
	case SCENARIO_EXPECT_CONNECTED:
	case SCENARIO_EXPECT_DISCONNECTED:
		return expect_connection(r, st, elapsed);
	case SCENARIO_EXPECT_REPORTED:
	case SCENARIO_EXPECT_TWIN:
		return expect_twin(r, st, timed_out);
	case SCENARIO_EXPECT_TELEMETRY:
		return expect_count(r, st, HUB_EV_TELEMETRY, timed_out);
	case SCENARIO_EXPECT_SECURITY_EVENT:
		return expect_security(r, st, false, timed_out);
	case SCENARIO_EXPECT_ALERT:
		return expect_security(r, st, true, timed_out);
	case SCENARIO_EXPECT_METHOD_RESULT:
		return expect_method(r, st, timed_out);
	case SCENARIO_EXPECT_C2D:
		return expect_c2d(r, st, timed_out);
	case SCENARIO_EXPECT_SECURITY_CONFIG:
		return expect_secconfig(r, st, timed_out);
	case SCENARIO_EXPECT_NOTHING:
		return expect_nothing(r, st, elapsed);
	default:
		return run_fail(r, STEP_ERROR, "not an expectation", NULL);
	}
}
