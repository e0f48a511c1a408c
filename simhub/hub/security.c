/*
 * security.c: the hub's security room (issue 5, docs/security.md): the `azureiotsecurity`
 * module twin (explicit and automatic creation with secconfig's default desired object),
 * ingestion of security messages (secmsg verdicts, stored rows, bus events), alerts from the
 * secrules rules with dedupe, the agent-silent sweep, drift and summaries. It never parses a
 * wire format itself (the front doors and core rooms do) and never touches SQL (the store does).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/isotime.h"
#include "core/secconfig.h"
#include "core/secmsg.h"
#include "core/secrules.h"
#include "hub/hub_internal.h"

/* The "security.alerts.*" keys secrules_thresholds_set knows (read from hub settings). */
static const char *const threshold_keys[] = {
	"security.alerts.bruteForce.enabled",
	"security.alerts.bruteForce.failures",
	"security.alerts.bruteForce.window",
	"security.alerts.openPorts.enabled",
	"security.alerts.openPorts.allowed",
	"security.alerts.openPorts.allInterfacesOnly",
	"security.alerts.permissiveFirewall.enabled",
	"security.alerts.osBaseline.enabled",
	"security.alerts.osBaseline.minSeverity",
	"security.alerts.agentSilent.enabled",
	"security.alerts.agentSilent.multiple",
	"security.alerts.droppedEvents.enabled",
	"security.alerts.droppedEvents.min",
};

/*
 * At most this many stored failed Logins are looked at around a message's own (brute force),
 * newest first: enough to see that a group's run was complete before (secrules then raises
 * nothing again) unless more than this many failures of other groups came in between.
 */
#define SEC_MAX_RULE_EVENTS 64

void hub_security_settings_changed(struct sh_hub *hub)
{
	hub->sec_loaded = false;
}

/*
 * Read the mode and the thresholds from the hub settings once (again after a change). A bad
 * stored threshold is skipped (its default stays): settings are checked when they are set
 * (simhub security set, serve flags), so this only meets rows edited by hand.
 */
static void load_settings(struct sh_hub *hub)
{
	if (hub->sec_loaded)
		return;
	hub->sec_strict = hub_setting_bool(hub, HUB_SETTING_SECURITY_STRICT, false);
	secrules_thresholds_default(&hub->sec_thresholds);
	for (size_t i = 0; i < sizeof threshold_keys / sizeof threshold_keys[0]; i++) {
		char *v = NULL;
		if (store_setting_get(hub->st, threshold_keys[i], &v) == SH_OK)
			secrules_thresholds_set(&hub->sec_thresholds, threshold_keys[i], v);
		free(v);
	}
	hub->sec_loaded = true;
}

bool hub_security_strict(struct sh_hub *hub)
{
	load_settings(hub);
	return hub->sec_strict;
}

/* ---- the security module ------------------------------------------------------------------- */

/* Does the device view's desired section hold the configuration object? */
static bool has_config_object(const cJSON *view)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(view, "desired");
	return cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(d, SECCONFIG_OBJECT));
}

sh_rc hub_security_enable(struct sh_hub *hub, const char *device_id, bool *created,
			  struct iothub_err *err)
{
	if (created)
		*created = false;
	sh_rc rc = hub_op_begin(hub, err);
	if (rc != SH_OK)
		return rc;
	struct sh_identity dev, mod;
	rc = hub_identity_get(hub, device_id, NULL, &dev, err);
	if (rc == SH_OK) {
		sh_rc g = store_identity_get(hub->st, device_id, HUB_SECURITY_MODULE_ID, &mod);
		if (g == SH_E_NOTFOUND) {
			struct sh_identity req;
			memset(&req, 0, sizeof req);
			snprintf(req.device_id, sizeof req.device_id, "%s", device_id);
			snprintf(req.module_id, sizeof req.module_id, "%s", HUB_SECURITY_MODULE_ID);
			req.status = SH_STATUS_ENABLED;
			req.auth_type = SH_AUTH_SAS;
			rc = hub_identity_create(hub, &req, NULL, err);
			if (rc == SH_OK && created)
				*created = true;
		} else if (g != SH_OK) {
			rc = hub_store_failed(hub, g, err);
		}
	}
	cJSON *view = NULL;
	if (rc == SH_OK)
		rc = hub_twin_device_view(hub, device_id, HUB_SECURITY_MODULE_ID, &view, err);
	if (rc == SH_OK && !has_config_object(view)) {
		cJSON *def = secconfig_default_desired();
		if (!def) {
			iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
			rc = SH_E_NOMEM;
		} else {
			rc = hub_twin_patch_desired(hub, device_id, HUB_SECURITY_MODULE_ID, def, NULL,
						    err);
			cJSON_Delete(def);
		}
	}
	cJSON_Delete(view);
	return hub_op_end(hub, rc, err);
}

sh_rc hub_security_on_device_created(struct sh_hub *hub, const char *device_id,
				     struct iothub_err *err)
{
	if (hub->sec_no_autocreate > 0 ||
	    !hub_setting_bool(hub, HUB_SETTING_SECURITY_AUTOCREATE, false))
		return SH_OK;
	return hub_security_enable(hub, device_id, NULL, err);
}

/* A device id list built by a walk (the walk's statement must end before we write). */
struct id_list {
	char (*v)[SH_ID_MAX + 1];
	size_t n, cap;
};

static sh_rc collect_device(void *arg, const struct sh_identity *id)
{
	struct id_list *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *p = realloc(l->v, cap * sizeof *l->v);
		if (!p)
			return SH_E_NOMEM;
		l->v = p;
		l->cap = cap;
	}
	memcpy(l->v[l->n++], id->device_id, SH_ID_MAX + 1);
	return SH_OK;
}

sh_rc hub_security_autocreate_all(struct sh_hub *hub, int64_t *created, struct iothub_err *err)
{
	if (created)
		*created = 0;
	if (!hub_setting_bool(hub, HUB_SETTING_SECURITY_AUTOCREATE, false))
		return SH_OK;
	struct id_list l = { NULL, 0, 0 };
	sh_rc rc = store_identity_each(hub->st, NULL, collect_device, &l);
	if (rc == SH_E_NOMEM)
		iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
	else if (rc != SH_OK)
		hub_store_failed(hub, rc, err);
	if (rc == SH_OK)
		rc = hub_op_begin(hub, err);
	if (rc == SH_OK) {
		for (size_t i = 0; i < l.n && rc == SH_OK; i++) {
			bool made = false;
			rc = hub_security_enable(hub, l.v[i], &made, err);
			if (made && created)
				(*created)++;
		}
		rc = hub_op_end(hub, rc, err);
	}
	free(l.v);
	return rc;
}

/* ---- ingestion ----------------------------------------------------------------------------- */

/* cJSON text of a JSON value (caller frees with cJSON_free); NULL when out of memory. */
static char *print_owned(cJSON *v)
{
	char *t = v ? cJSON_PrintUnformatted(v) : NULL;
	cJSON_Delete(v);
	return t;
}

/* The first reason worth naming as the message's error: "path: text". */
static void first_error(const struct secmsg_result *r, char *buf, size_t cap)
{
	buf[0] = '\0';
	const struct secmsg_reason *why = NULL;
	for (size_t i = 0; i < r->n_reasons && !why; i++)
		if (!r->reasons[i].tolerated)
			why = &r->reasons[i];
	for (size_t e = 0; e < r->n_events && !why; e++)
		if (r->events[e].verdict == SECMSG_INVALID)
			for (size_t i = 0; i < r->events[e].n_reasons && !why; i++)
				if (!r->events[e].reasons[i].tolerated)
					why = &r->events[e].reasons[i];
	if (why)
		snprintf(buf, cap, "%s: %s", why->path ? why->path : "$",
			 why->text ? why->text : "invalid");
}

/*
 * The events the rules look at, with parsed payloads and copied texts (store rows are borrowed
 * for their callback only). Freed with rule_set_free.
 */
struct rule_set {
	struct secrules_event *v;
	cJSON **payloads;
	char **texts;                 /* 4 per event: device, module, event id, name */
	size_t n, cap;
	size_t own;                   /* events of the message itself (before stored ones) */
	size_t *ids;                  /* open-addressing set of event ids: index + 1, 0 = free */
	size_t ids_cap;               /* a power of two, at least twice the events it may hold */
};

/* FNV-1a of an event id. */
static size_t id_hash(const char *id)
{
	uint32_t h = 2166136261u;
	for (; *id; id++)
		h = (h ^ (uint8_t)*id) * 16777619u;
	return h;
}

/*
 * Is event id `id` already in the set (the rules count an event resent by the agent once)?
 * When not, and `add` is true, remember it as entry `index`. Linear probing; the table is
 * sized by rule_set_index so it never fills. A set without a table answers false.
 */
static bool id_seen(struct rule_set *s, const char *id, size_t index, bool add)
{
	if (!s->ids || !id)
		return false;
	size_t mask = s->ids_cap - 1;
	for (size_t k = id_hash(id) & mask;; k = (k + 1) & mask) {
		if (s->ids[k] == 0) {
			if (add)
				s->ids[k] = index + 1;
			return false;
		}
		if (strcmp(s->v[s->ids[k] - 1].event_id, id) == 0)
			return true;
	}
}

/* Index the message's own events by id, with room for the look-back. */
static sh_rc rule_set_index(struct rule_set *s)
{
	size_t cap = 64;
	while (cap < 2 * (s->n + SEC_MAX_RULE_EVENTS))
		cap *= 2;
	s->ids = calloc(cap, sizeof *s->ids);
	if (!s->ids)
		return SH_E_NOMEM;
	s->ids_cap = cap;
	for (size_t i = 0; i < s->n; i++)
		id_seen(s, s->v[i].event_id, i, true);
	return SH_OK;
}

static void rule_set_free(struct rule_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		cJSON_Delete(s->payloads[i]);
		for (int k = 0; k < 4; k++)
			free(s->texts[i * 4 + (size_t)k]);
	}
	free(s->v);
	free(s->payloads);
	free(s->texts);
	free(s->ids);
	memset(s, 0, sizeof *s);
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static sh_rc rule_set_add(struct rule_set *s, const char *device_id, const char *module_id,
			  const char *event_id, const char *name, int64_t time_us,
			  const char *payload_json, bool stored)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct secrules_event *v = realloc(s->v, cap * sizeof *v);
		if (v)
			s->v = v;
		cJSON **p = realloc(s->payloads, cap * sizeof *p);
		if (p)
			s->payloads = p;
		char **t = realloc(s->texts, cap * 4 * sizeof *t);
		if (t)
			s->texts = t;
		if (!v || !p || !t)
			return SH_E_NOMEM;
		s->cap = cap;
	}
	size_t i = s->n;
	char **t = &s->texts[i * 4];
	t[0] = dup_or_empty(device_id);
	t[1] = dup_or_empty(module_id);
	t[2] = dup_or_empty(event_id);
	t[3] = dup_or_empty(name);
	s->payloads[i] = payload_json && secrules_reads_payload(name) ? cJSON_Parse(payload_json)
								     : NULL;
	s->n++;
	if (!t[0] || !t[1] || !t[2] || !t[3])
		return SH_E_NOMEM;
	s->v[i] = (struct secrules_event){
		.device_id = t[0], .module_id = t[1], .event_id = t[2], .name = t[3],
		.time_us = time_us, .payload = s->payloads[i], .stored = stored,
	};
	return SH_OK;
}

static sh_rc add_stored_login(void *arg, const struct sh_sec_event_row *row)
{
	struct rule_set *s = arg;
	if (s->n >= SEC_MAX_RULE_EVENTS + s->own)
		return SH_OK;
	/* An event resent by the agent (same Id) counts once. */
	if (id_seen(s, row->event_id, s->n, false))
		return SH_OK;
	sh_rc rc = rule_set_add(s, row->device_id, row->module_id, row->event_id, row->name,
				row->utc_us, row->payload_json, true);
	if (rc == SH_OK)
		id_seen(s, s->v[s->n - 1].event_id, s->n - 1, true);
	return rc;
}

/* The dedupe key of an alert: rule, device, module and its first evidence (or its time). */
static char *dedupe_key(const struct secrules_alert *a, int64_t extra)
{
	size_t n = strlen(a->rule) + strlen(a->device_id) +
		   (a->module_id ? strlen(a->module_id) : 0) +
		   (a->n_evidence ? strlen(a->evidence[0]) : 0) + 48;
	char *k = malloc(n);
	if (!k)
		return NULL;
	if (a->n_evidence)
		snprintf(k, n, "%s|%s|%s|%s", a->rule, a->device_id, a->module_id ? a->module_id : "",
			 a->evidence[0]);
	else
		snprintf(k, n, "%s|%s|%s|@%" PRId64, a->rule, a->device_id,
			 a->module_id ? a->module_id : "", extra);
	return k;
}

/*
 * Store the alerts of `list` that are new (dedupe key) and announce each on the bus.
 * `extra` distinguishes alerts without evidence (agentSilent: the last message time).
 */
static sh_rc store_alerts(struct sh_hub *hub, const struct secrules_alerts *list, int64_t extra,
			  int64_t *raised, struct iothub_err *err)
{
	int64_t now = hub_now_us(hub);
	for (size_t i = 0; i < list->n; i++) {
		const struct secrules_alert *a = &list->v[i];
		cJSON *ev = cJSON_CreateArray();
		for (size_t k = 0; ev && k < a->n_evidence; k++)
			cJSON_AddItemToArray(ev, cJSON_CreateString(a->evidence[k]));
		char *ev_text = print_owned(ev);
		char *key = dedupe_key(a, extra);
		if (!ev_text || !key) {
			cJSON_free(ev_text);
			free(key);
			iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
			return SH_E_NOMEM;
		}
		struct sh_sec_alert_row row = {
			.created_us = now, .time_us = a->time_us, .rule = a->rule,
			.severity = a->severity, .device_id = a->device_id,
			.module_id = a->module_id ? a->module_id : "", .evidence_json = ev_text,
			.description = a->description,
		};
		bool inserted = false;
		int64_t id = 0;
		sh_rc rc = store_sec_alert_insert(hub->st, &row, key, &inserted, &id);
		cJSON_free(ev_text);
		free(key);
		if (rc != SH_OK)
			return hub_store_failed(hub, rc, err);
		if (!inserted)
			continue;
		if (raised)
			(*raised)++;
		cJSON *d = NULL;
		if (hub_events_wanted(hub) && (d = secrules_alert_json(a)) != NULL)
			cJSON_AddNumberToObject(d, "alertId", (double)id);
		hub_emit(hub, HUB_EV_ALERT, 0, a->device_id, a->module_id ? a->module_id : "", d);
	}
	return SH_OK;
}

/*
 * The message's own events as the rules see them (invalid events left out; events without a
 * readable time count at `now`), with the payloads the rules read parsed once. fails[i] gets
 * event i's failed-login count for its stored row. [*lo, *hi] spans its Logins' times
 * (lo > hi when it has none).
 */
static sh_rc own_events(struct rule_set *set, const char *device_id, const char *mod,
			const struct secmsg_result *r, int64_t now, int64_t *fails, int64_t *lo,
			int64_t *hi)
{
	sh_rc rc = SH_OK;
	*lo = INT64_MAX;
	*hi = INT64_MIN;
	for (size_t i = 0; i < r->n_events && rc == SH_OK; i++) {
		const struct secmsg_event *e = &r->events[i];
		if (!e->name || e->verdict == SECMSG_INVALID)
			continue;
		int64_t when = e->has_time ? e->time_utc_us : now;
		rc = rule_set_add(set, device_id, mod, e->id, e->name, when, e->payload_json, false);
		if (rc != SH_OK || strcmp(e->name, "Login") != 0)
			continue;
		if (when < *lo)
			*lo = when;
		if (when > *hi)
			*hi = when;
		fails[i] = secrules_login_failures(set->payloads[set->n - 1]);
	}
	set->own = set->n;
	return rc;
}

/*
 * Evaluate the event rules over the message's events (`set`, built by own_events) and, when it
 * carries Logins, the device's stored failed Logins around them: brute force needs the run,
 * not the one message. The look-back is bounded (SEC_MAX_RULE_EVENTS, the window) and reads
 * only failed Logins through their partial index, so its cost does not grow with the
 * device's other events or its successful logins.
 */
static sh_rc raise_alerts(struct sh_hub *hub, const char *device_id, struct rule_set *set,
			  int64_t msg_seq, int64_t lo, int64_t hi, struct iothub_err *err)
{
	const struct secrules_thresholds *t = &hub->sec_thresholds;
	sh_rc rc = SH_OK;
	if (lo <= hi && t->brute_force_enabled) {
		int64_t from = lo - t->brute_force_window_us, to = hi + t->brute_force_window_us;
		rc = rule_set_index(set);
		if (rc == SH_OK)
			rc = store_sec_login_failures(hub->st, device_id, from, to, msg_seq,
						      SEC_MAX_RULE_EVENTS, add_stored_login, set);
		if (rc != SH_OK && rc != SH_E_NOMEM)
			rc = hub_store_failed(hub, rc, err);
	}
	struct secrules_alerts alerts;
	memset(&alerts, 0, sizeof alerts);
	if (rc == SH_OK && set->n)
		rc = secrules_evaluate(set->v, set->n, t, &alerts);
	if (rc == SH_E_NOMEM)
		iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
	if (rc == SH_OK && alerts.n)
		rc = store_alerts(hub, &alerts, 0, NULL, err);
	secrules_alerts_free(&alerts);
	return rc;
}

/* The "security" bus event of a stored message. NULL when nobody listens. */
static cJSON *security_event(struct sh_hub *hub, int64_t seq, int64_t d2c_seq,
			     const struct secmsg_result *r)
{
	if (!hub_events_wanted(hub))
		return NULL;
	cJSON *d = cJSON_CreateObject();
	cJSON *evs = cJSON_CreateArray();
	if (!d || !evs) {
		cJSON_Delete(d);
		cJSON_Delete(evs);
		return NULL;
	}
	cJSON_AddNumberToObject(d, "seq", (double)seq);
	cJSON_AddNumberToObject(d, "d2cSeq", (double)d2c_seq);
	cJSON_AddStringToObject(d, "mode", secmsg_mode_str(r->mode));
	cJSON_AddStringToObject(d, "verdict", secmsg_verdict_str(r->verdict));
	if (r->agent_id)
		cJSON_AddStringToObject(d, "agentId", r->agent_id);
	for (size_t i = 0; i < r->n_events; i++) {
		cJSON *e = cJSON_CreateObject();
		if (!e)
			break;
		if (r->events[i].id)
			cJSON_AddStringToObject(e, "id", r->events[i].id);
		if (r->events[i].name)
			cJSON_AddStringToObject(e, "name", r->events[i].name);
		cJSON_AddStringToObject(e, "verdict", secmsg_verdict_str(r->events[i].verdict));
		cJSON_AddItemToArray(evs, e);
	}
	cJSON_AddItemToObject(d, "events", evs);
	return d;
}

/* {"sys":{...},"app":{...}} as text (caller frees with cJSON_free); NULL out of memory. */
static char *properties_text(const cJSON *sys, const cJSON *app)
{
	cJSON *p = cJSON_CreateObject();
	cJSON *s = sys ? cJSON_Duplicate(sys, 1) : cJSON_CreateObject();
	cJSON *a = app ? cJSON_Duplicate(app, 1) : cJSON_CreateObject();
	if (!p || !s || !a) {
		cJSON_Delete(p);
		cJSON_Delete(s);
		cJSON_Delete(a);
		return NULL;
	}
	cJSON_AddItemToObject(p, "sys", s);
	cJSON_AddItemToObject(p, "app", a);
	return print_owned(p);
}

/* Insert the event rows of a validated message (fails: each event's failed-login count). */
static sh_rc store_events(struct sh_hub *hub, const char *device_id, const char *mod,
			  const struct secmsg_result *r, int64_t seq, int64_t now,
			  const int64_t *fails, struct iothub_err *err)
{
	static char no_reasons[] = "[]";
	for (size_t i = 0; i < r->n_events; i++) {
		const struct secmsg_event *e = &r->events[i];
		char *reasons = e->n_reasons
			? print_owned(secmsg_reasons_json(e->reasons, e->n_reasons))
			: no_reasons;
		if (!reasons) {
			iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
			return SH_E_NOMEM;
		}
		struct sh_sec_event_row row = {
			.message_seq = seq, .received_us = now, .device_id = device_id,
			.module_id = mod, .agent_id = r->agent_id, .event_id = e->id,
			.name = e->name ? e->name : "", .event_type = e->event_type,
			.category = e->category, .is_empty = e->is_empty,
			.payload_schema_version = NULL, .timestamp_local = e->timestamp_local,
			.has_utc = e->has_time, .utc_us = e->time_utc_us,
			.payload_json = e->payload_json ? e->payload_json : "null",
			.verdict = secmsg_verdict_str(e->verdict), .reasons_json = reasons,
			.login_failures = fails[i],
		};
		sh_rc rc = store_sec_event_insert(hub->st, &row, NULL);
		if (reasons != no_reasons)
			cJSON_free(reasons);
		if (rc != SH_OK)
			return hub_store_failed(hub, rc, err);
	}
	return SH_OK;
}

sh_rc hub_security_ingest(struct sh_hub *hub, const char *device_id, const char *module_id,
			  const cJSON *sys, const cJSON *app, const void *body, size_t len,
			  int64_t d2c_seq, struct iothub_err *err)
{
	const char *mod = module_id ? module_id : "";
	int64_t now = hub_now_us(hub);
	load_settings(hub);
	struct secmsg_result r;
	memset(&r, 0, sizeof r);
	sh_rc rc = secmsg_validate(body, len, hub->sec_strict ? SECMSG_STRICT : SECMSG_SERVICE, &r);
	char *reasons = rc == SH_OK ? print_owned(secmsg_reasons_json(r.reasons, r.n_reasons))
				    : NULL;
	/* With a d2c row the store keeps the body and properties there, once. */
	char *props = reasons && !d2c_seq ? properties_text(sys, app) : NULL;
	int64_t *fails = reasons ? calloc(r.n_events + 1, sizeof *fails) : NULL;
	if (!reasons || (!d2c_seq && !props) || !fails) {
		cJSON_free(reasons);
		cJSON_free(props);
		free(fails);
		secmsg_result_free(&r);
		iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
		return SH_E_NOMEM;
	}
	char error[512];
	first_error(&r, error, sizeof error);
	struct sh_sec_message_row row = {
		.d2c_seq = d2c_seq, .received_us = now, .device_id = device_id, .module_id = mod,
		.agent_id = r.agent_id, .agent_version = r.agent_version,
		.schema_version = r.schema_version, .mode = secmsg_mode_str(r.mode),
		.verdict = secmsg_verdict_str(r.verdict), .reasons_json = reasons,
		.error = r.verdict == SECMSG_INVALID && error[0] ? error : NULL,
		.properties_json = props, .body = body, .body_len = len,
		.n_events = (int64_t)r.n_events,
	};
	int64_t seq = 0;
	rc = store_sec_message_insert(hub->st, &row, &seq);
	cJSON_free(reasons);
	cJSON_free(props);
	if (rc != SH_OK)
		rc = hub_store_failed(hub, rc, err);
	struct rule_set set;
	memset(&set, 0, sizeof set);
	int64_t lo = 0, hi = 0;
	if (rc == SH_OK) {
		rc = own_events(&set, device_id, mod, &r, now, fails, &lo, &hi);
		if (rc == SH_E_NOMEM)
			iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
	}
	if (rc == SH_OK)
		rc = store_events(hub, device_id, mod, &r, seq, now, fails, err);
	if (rc == SH_OK)
		hub_emit(hub, HUB_EV_SECURITY, 0, device_id, mod, security_event(hub, seq, d2c_seq, &r));
	if (rc == SH_OK)
		rc = raise_alerts(hub, device_id, &set, seq, lo, hi, err);
	rule_set_free(&set);
	free(fails);
	secmsg_result_free(&r);
	return rc;
}

/* ---- reading back -------------------------------------------------------------------------- */

struct msg_fwd {
	sh_rc (*fn)(void *arg, const struct hub_security_message *m);
	void *arg;
};

static sh_rc msg_fwd(void *arg, const struct sh_sec_message_row *row)
{
	struct msg_fwd *f = arg;
	struct hub_security_message m = {
		.seq = row->seq, .d2c_seq = row->d2c_seq, .received_us = row->received_us,
		.device_id = row->device_id, .module_id = row->module_id,
		.agent_id = row->agent_id, .agent_version = row->agent_version, .mode = row->mode,
		.verdict = row->verdict, .reasons_json = row->reasons_json,
		.properties_json = row->properties_json, .body = row->body,
		.body_len = row->body_len, .n_events = row->n_events,
	};
	return f->fn(f->arg, &m);
}

sh_rc hub_security_messages_each(struct sh_hub *hub, const struct hub_security_message_query *q,
				 sh_rc (*fn)(void *arg, const struct hub_security_message *m),
				 void *arg)
{
	struct sh_sec_message_query sq = {
		.device_id = q->device_id, .module_id = q->module_id, .verdict = q->verdict,
		.from_us = q->from_us, .to_us = q->to_us, .after_seq = q->after_seq,
		.limit = q->limit,
	};
	struct msg_fwd f = { fn, arg };
	return store_sec_message_query(hub->st, &sq, msg_fwd, &f);
}

struct event_fwd {
	sh_rc (*fn)(void *arg, const struct hub_security_event *e);
	void *arg;
};

static sh_rc event_fwd(void *arg, const struct sh_sec_event_row *row)
{
	struct event_fwd *f = arg;
	struct hub_security_event e = {
		.id = row->id, .message_seq = row->message_seq, .received_us = row->received_us,
		.device_id = row->device_id, .module_id = row->module_id,
		.agent_id = row->agent_id, .event_id = row->event_id, .name = row->name,
		.event_type = row->event_type, .category = row->category,
		.is_empty = row->is_empty, .timestamp_local = row->timestamp_local,
		.has_utc = row->has_utc, .utc_us = row->utc_us, .payload_json = row->payload_json,
		.verdict = row->verdict, .reasons_json = row->reasons_json,
	};
	return f->fn(f->arg, &e);
}

sh_rc hub_security_events_each(struct sh_hub *hub, const struct hub_security_event_query *q,
			       sh_rc (*fn)(void *arg, const struct hub_security_event *e),
			       void *arg)
{
	struct sh_sec_event_query sq = {
		.device_id = q->device_id, .module_id = q->module_id, .name = q->name,
		.event_type = q->event_type, .category = q->category, .verdict = q->verdict,
		.from_us = q->from_us, .to_us = q->to_us, .after_id = q->after_id,
		.limit = q->limit,
	};
	struct event_fwd f = { fn, arg };
	return store_sec_event_query(hub->st, &sq, event_fwd, &f);
}

struct alert_fwd {
	sh_rc (*fn)(void *arg, const struct hub_security_alert *a);
	void *arg;
};

static sh_rc alert_fwd(void *arg, const struct sh_sec_alert_row *row)
{
	struct alert_fwd *f = arg;
	struct hub_security_alert a = {
		.id = row->id, .created_us = row->created_us, .time_us = row->time_us,
		.rule = row->rule, .severity = row->severity, .device_id = row->device_id,
		.module_id = row->module_id, .evidence_json = row->evidence_json,
		.description = row->description,
	};
	return f->fn(f->arg, &a);
}

sh_rc hub_security_alerts_each(struct sh_hub *hub, const struct hub_security_alert_query *q,
			       sh_rc (*fn)(void *arg, const struct hub_security_alert *a),
			       void *arg)
{
	struct sh_sec_alert_query sq = {
		.device_id = q->device_id, .rule = q->rule, .severity = q->severity,
		.from_us = q->from_us, .to_us = q->to_us, .after_id = q->after_id,
		.limit = q->limit,
	};
	struct alert_fwd f = { fn, arg };
	return store_sec_alert_query(hub->st, &sq, alert_fwd, &f);
}

/* ---- drift and summary --------------------------------------------------------------------- */

static sh_rc keep_last_payload(void *arg, const struct sh_sec_event_row *row)
{
	char **last = arg;
	char *p = strdup(row->payload_json);
	if (!p)
		return SH_E_NOMEM;
	free(*last);
	*last = p;
	return SH_OK;
}

sh_rc hub_security_drift(struct sh_hub *hub, const char *device_id, struct secconfig_drift *out,
			 struct iothub_err *err)
{
	memset(out, 0, sizeof *out);
	cJSON *view = NULL;
	sh_rc rc = hub_twin_device_view(hub, device_id, HUB_SECURITY_MODULE_ID, &view, err);
	if (rc != SH_OK)
		return rc;
	char *last = NULL;
	struct sh_sec_event_query q = { .device_id = device_id, .name = "ConfigurationError",
					.newest_first = true, .limit = 1 };
	rc = store_sec_event_query(hub->st, &q, keep_last_payload, &last);
	if (rc != SH_OK) {
		if (rc == SH_E_NOMEM)
			iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
		else
			rc = hub_store_failed(hub, rc, err);
	}
	cJSON *errors = last ? cJSON_Parse(last) : NULL;
	free(last);
	if (rc == SH_OK) {
		rc = secconfig_drift(cJSON_GetObjectItemCaseSensitive(view, "desired"),
				     cJSON_GetObjectItemCaseSensitive(view, "reported"),
				     cJSON_IsArray(errors) ? errors : NULL, out);
		if (rc != SH_OK)
			iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
	}
	cJSON_Delete(errors);
	cJSON_Delete(view);
	return rc;
}

sh_rc hub_security_config_json(struct sh_hub *hub, const char *device_id, cJSON **out,
			       struct iothub_err *err)
{
	*out = NULL;
	struct secconfig_drift d;
	sh_rc rc = hub_security_drift(hub, device_id, &d, err);
	if (rc == SH_OK) {
		cJSON *j = secconfig_drift_json(&d);
		if (j) {
			cJSON_AddStringToObject(j, "deviceId", device_id);
			cJSON_AddStringToObject(j, "moduleId", HUB_SECURITY_MODULE_ID);
			*out = j;
		} else {
			iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
			rc = SH_E_NOMEM;
		}
	}
	secconfig_drift_free(&d);
	return rc;
}

static sh_rc add_count(void *arg, const char *key, int64_t count)
{
	cJSON *o = arg;
	return cJSON_AddNumberToObject(o, key, (double)count) ? SH_OK : SH_E_NOMEM;
}

struct last_acc {
	int64_t last_us, count;
};

static sh_rc acc_last(void *arg, const char *device_id, const char *module_id, int64_t last_us,
		      int64_t count)
{
	struct last_acc *a = arg;
	(void)device_id;
	(void)module_id;
	if (last_us > a->last_us)
		a->last_us = last_us;
	a->count += count;
	return SH_OK;
}

sh_rc hub_security_summary(struct sh_hub *hub, const char *device_id, cJSON **out,
			   struct iothub_err *err)
{
	*out = NULL;
	struct sh_identity id;
	sh_rc rc = store_identity_get(hub->st, device_id, "", &id);
	bool device = rc == SH_OK;
	if (rc != SH_OK && rc != SH_E_NOTFOUND)
		return hub_store_failed(hub, rc, err);
	bool module = device && store_identity_get(hub->st, device_id, HUB_SECURITY_MODULE_ID,
						   &id) == SH_OK;
	struct last_acc acc = { 0, 0 };
	rc = store_sec_last_messages(hub->st, device_id, acc_last, &acc);
	if (rc != SH_OK)
		return hub_store_failed(hub, rc, err);
	if (!device && acc.count == 0) {
		iothub_err_set(err, IOTHUB_DEVICE_NOT_FOUND, "device %s not found", device_id);
		return SH_E_NOTFOUND;
	}
	cJSON *s = cJSON_CreateObject();
	cJSON *verdicts = cJSON_CreateObject();
	cJSON *events = cJSON_CreateObject();
	cJSON *alerts = cJSON_CreateObject();
	if (!s || !verdicts || !events || !alerts) {
		cJSON_Delete(s);
		cJSON_Delete(verdicts);
		cJSON_Delete(events);
		cJSON_Delete(alerts);
		iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
		return SH_E_NOMEM;
	}
	cJSON_AddStringToObject(s, "deviceId", device_id);
	cJSON_AddBoolToObject(s, "deviceExists", device);
	cJSON_AddBoolToObject(s, "hasModule", module);
	cJSON_AddNumberToObject(s, "messages", (double)acc.count);
	if (acc.count) {
		char when[ISOTIME_BUF];
		isotime_format(acc.last_us, when);
		cJSON_AddStringToObject(s, "lastMessageTime", when);
	} else {
		cJSON_AddNullToObject(s, "lastMessageTime");
	}
	cJSON_AddNumberToObject(verdicts, "valid", 0);
	cJSON_AddNumberToObject(verdicts, "tolerated", 0);
	cJSON_AddNumberToObject(verdicts, "invalid", 0);
	cJSON_AddItemToObject(s, "verdicts", verdicts);
	cJSON_AddItemToObject(s, "events", events);
	cJSON_AddItemToObject(s, "alerts", alerts);
	cJSON *vcounts = cJSON_CreateObject();
	rc = vcounts ? store_sec_count_by(hub->st, "message-verdict", device_id, add_count, vcounts)
		     : SH_E_NOMEM;
	for (cJSON *c = vcounts ? vcounts->child : NULL; c; c = c->next)
		cJSON_ReplaceItemInObjectCaseSensitive(verdicts, c->string,
						       cJSON_CreateNumber(c->valuedouble));
	cJSON_Delete(vcounts);
	if (rc == SH_OK)
		rc = store_sec_count_by(hub->st, "event-name", device_id, add_count, events);
	if (rc == SH_OK)
		rc = store_sec_count_by(hub->st, "alert-rule", device_id, add_count, alerts);
	int64_t n_alerts = 0;
	for (cJSON *c = alerts->child; c; c = c->next)
		n_alerts += (int64_t)c->valuedouble;
	cJSON_AddNumberToObject(s, "alertCount", (double)n_alerts);
	if (rc == SH_OK && module) {
		struct secconfig_drift d;
		struct iothub_err e2;
		if (hub_security_drift(hub, device_id, &d, &e2) == SH_OK) {
			cJSON_AddBoolToObject(s, "configApplied", d.applied);
			cJSON_AddBoolToObject(s, "configReported", d.reported_present);
		}
		secconfig_drift_free(&d);
	} else if (rc == SH_OK) {
		cJSON_AddBoolToObject(s, "configApplied", false);
		cJSON_AddBoolToObject(s, "configReported", false);
	}
	if (rc != SH_OK) {
		cJSON_Delete(s);
		if (rc == SH_E_NOMEM)
			iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
		else
			hub_store_failed(hub, rc, err);
		return rc;
	}
	*out = s;
	return SH_OK;
}

/* ---- the agent-silent sweep ---------------------------------------------------------------- */

struct last_row {
	char device_id[SH_ID_MAX + 1];
	char module_id[SH_ID_MAX + 1];
	int64_t last_us;
};

struct last_list {
	struct last_row *v;
	size_t n, cap;
	int64_t min_silence_us;
	int64_t now;
};

static sh_rc collect_last(void *arg, const char *device_id, const char *module_id,
			  int64_t last_us, int64_t count)
{
	struct last_list *l = arg;
	(void)count;
	if (l->now - last_us <= l->min_silence_us)
		return SH_OK;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->v, cap * sizeof *l->v);
		if (!p)
			return SH_E_NOMEM;
		l->v = p;
		l->cap = cap;
	}
	struct last_row *r = &l->v[l->n++];
	snprintf(r->device_id, sizeof r->device_id, "%s", device_id);
	snprintf(r->module_id, sizeof r->module_id, "%s", module_id);
	r->last_us = last_us;
	return SH_OK;
}

/*
 * One candidate of the sweep: skip it when its silence was already reported, else read the
 * agent's high-priority frequency from the module twin (the sending module's, else the
 * device's azureiotsecurity module, else the default) and apply the rule.
 */
static sh_rc sweep_one(struct sh_hub *hub, const struct last_row *c, int64_t now,
		       int64_t *raised, struct iothub_err *err)
{
	struct secrules_alert probe = {
		.rule = "agentSilent", .device_id = (char *)c->device_id,
		.module_id = c->module_id[0] ? (char *)c->module_id : NULL,
	};
	char *key = dedupe_key(&probe, c->last_us);
	if (!key)
		return SH_E_NOMEM;
	bool exists = false;
	sh_rc rc = store_sec_alert_exists(hub->st, key, &exists);
	free(key);
	if (rc != SH_OK)
		return hub_store_failed(hub, rc, err);
	if (exists)
		return SH_OK;
	cJSON *view = NULL;
	struct iothub_err ignore;
	const char *twin_mod = c->module_id[0] ? c->module_id : HUB_SECURITY_MODULE_ID;
	if (hub_twin_device_view(hub, c->device_id, twin_mod, &view, &ignore) != SH_OK)
		view = NULL;
	int64_t hp_ms = secconfig_high_priority_ms(cJSON_GetObjectItemCaseSensitive(view, "desired"),
						   cJSON_GetObjectItemCaseSensitive(view, "reported"));
	cJSON_Delete(view);
	struct secrules_alerts alerts;
	memset(&alerts, 0, sizeof alerts);
	rc = secrules_agent_silent(c->device_id, c->module_id[0] ? c->module_id : NULL, c->last_us,
				   now, hp_ms * 1000, &hub->sec_thresholds, &alerts);
	if (rc == SH_OK)
		rc = store_alerts(hub, &alerts, c->last_us, raised, err);
	secrules_alerts_free(&alerts);
	return rc;
}

sh_rc hub_security_sweep(struct sh_hub *hub, int64_t *raised, struct iothub_err *err)
{
	if (raised)
		*raised = 0;
	int64_t now = hub_now_us(hub);
	if (hub->sec_last_sweep_us && now >= hub->sec_last_sweep_us &&
	    now - hub->sec_last_sweep_us < HUB_SECURITY_SWEEP_US)
		return SH_OK;
	hub->sec_last_sweep_us = now;
	load_settings(hub);
	const struct secrules_thresholds *t = &hub->sec_thresholds;
	if (!t->agent_silent_enabled)
		return SH_OK;
	/* The C agent cannot send more often than once a second: shorter silences never count. */
	struct last_list l = { NULL, 0, 0, (int64_t)t->agent_silent_multiple * 1000000, now };
	sh_rc rc = store_sec_last_messages(hub->st, NULL, collect_last, &l);
	if (rc != SH_OK) {
		free(l.v);
		if (rc == SH_E_NOMEM) {
			iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
			return rc;
		}
		return hub_store_failed(hub, rc, err);
	}
	if (l.n) {
		rc = hub_op_begin(hub, err);
		if (rc == SH_OK) {
			for (size_t i = 0; i < l.n && rc == SH_OK; i++)
				rc = sweep_one(hub, &l.v[i], now, raised, err);
			rc = hub_op_end(hub, rc, err);
		}
	}
	free(l.v);
	return rc;
}
