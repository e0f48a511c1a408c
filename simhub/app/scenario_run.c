/*
 * scenario_run.c: one scenario run: a fresh hub in a temp folder (store, TLS material,
 * fixtures, every listener on a free port), the hub clock (wall clock plus the virtual offset),
 * the event log the expectations read, and the step machine that the loop's ticker drives:
 * actions and faults act at once, expectations are polled until they hold or time runs out.
 * It never blocks the loop and never parses the scenario file (core/scenario does).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "app/cli.h"
#include "app/scenario_run_internal.h"
#include "core/jsonmatch.h"
#include "hub/session.h"
#include "io/loop.h"
#include "store/store.h"

#define TICK_US 20000             /* the step machine's period */

volatile sig_atomic_t scenario_run_interrupted;

int64_t run_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *run_strf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

const char *run_ident(const struct scenario_identity *id, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%s%s", id->device_id, id->module_id[0] ? "/" : "", id->module_id);
	return buf;
}

char *run_json_text(const struct cJSON *v, size_t max)
{
	if (!v)
		return strdup("(absent)");
	char *t = cJSON_PrintUnformatted(v);
	if (!t)
		return strdup("(out of memory)");
	if (strlen(t) > max && max > 3)
		strcpy(t + max - 3, "...");
	char *out = strdup(t);
	cJSON_free(t);
	return out;
}

/* --- the hub clock ------------------------------------------------------------------------------ */

static int64_t run_now_us(void *ctx)
{
	struct run *r = ctx;
	return cli_now_us() + r->offset_us;
}

static void run_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	cli_env()->random(cli_env()->ctx, buf, len);
}

/* --- captures and templates ---------------------------------------------------------------------- */

void run_capture(struct run *r, const char *name, cJSON *value)
{
	if (!name || !name[0] || !value) {
		cJSON_Delete(value);
		return;
	}
	for (size_t i = 0; i < r->n_caps; i++) {
		if (strcmp(r->cap_names[i], name) == 0) {
			cJSON_Delete(r->cap_values[i]);
			r->cap_values[i] = value;
			return;
		}
	}
	char **nn = realloc(r->cap_names, (r->n_caps + 1) * sizeof *nn);
	if (nn)
		r->cap_names = nn;
	cJSON **nv = realloc(r->cap_values, (r->n_caps + 1) * sizeof *nv);
	if (nv)
		r->cap_values = nv;
	char *dup = strdup(name);
	if (!nn || !nv || !dup) {
		free(dup);
		cJSON_Delete(value);
		return;
	}
	r->cap_names[r->n_caps] = dup;
	r->cap_values[r->n_caps] = value;
	r->n_caps++;
}

const cJSON *run_capture_get(const struct run *r, const char *name)
{
	for (size_t i = 0; i < r->n_caps; i++)
		if (strcmp(r->cap_names[i], name) == 0)
			return r->cap_values[i];
	return NULL;
}

/* Keep `text` as the lookup's answer (borrowed by scenario_expand until the next lookup). */
static const char *lookup_keep(struct run *r, char *text)
{
	free(r->lookup_tmp);
	r->lookup_tmp = text;
	return text;
}

const char *run_lookup(void *ctx, enum scenario_ref_kind kind, const char *name, bool *is_json)
{
	struct run *r = ctx;
	switch (kind) {
	case SCENARIO_REF_VAR:
		*is_json = scenario_var_is_json(r->sc, name);
		return scenario_var(r->sc, name);
	case SCENARIO_REF_CS: {
		struct scenario_identity id;
		char *cs = NULL;
		struct iothub_err err;
		if (scenario_parse_identity(name, strlen(name), &id) != SH_OK ||
		    hub_connection_string(r->hub, id.device_id, id.module_id, NULL, &cs, &err) != SH_OK)
			return NULL;
		return lookup_keep(r, cs);
	}
	case SCENARIO_REF_CA:
		return r->tm.ca_cert;
	case SCENARIO_REF_HOST:
		return hub_hostname(r->hub);
	case SCENARIO_REF_PORT: {
		enum io_listener w = strcmp(name, "mqtt") == 0 ? IO_MQTT
				   : strcmp(name, "mqtts") == 0 ? IO_MQTTS : IO_HTTPS;
		return lookup_keep(r, run_strf("%d", io_loop_port(r->loop, w)));
	}
	case SCENARIO_REF_CAPTURE: {
		/* "NAME" or "NAME.a.b": the capture, then members. */
		char buf[SCENARIO_NAME_MAX * 4];
		snprintf(buf, sizeof buf, "%s", name);
		char *save = NULL;
		char *part = strtok_r(buf, ".", &save);
		const cJSON *v = part ? run_capture_get(r, part) : NULL;
		while (v && (part = strtok_r(NULL, ".", &save)))
			v = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, atoi(part))
					     : cJSON_GetObjectItemCaseSensitive(v, part);
		if (!v)
			return NULL;
		if (cJSON_IsString(v))
			return v->valuestring;
		*is_json = true;   /* JSON text of a typed value (scenario_expand_json keeps it) */
		return lookup_keep(r, cJSON_PrintUnformatted(v));
	}
	}
	return NULL;
}

/* --- events -------------------------------------------------------------------------------------- */

static void on_event(void *ctx, const struct hub_event *ev)
{
	struct run *r = ctx;
	if (r->n_ev == r->cap_ev) {
		size_t cap = r->cap_ev ? r->cap_ev * 2 : 256;
		struct run_event *n = realloc(r->ev, cap * sizeof *n);
		if (!n)
			return;
		r->ev = n;
		r->cap_ev = cap;
	}
	struct run_event *e = &r->ev[r->n_ev];
	e->id = ev->id;
	e->kind = ev->kind;
	e->time_us = ev->time_us;
	e->device_id = strdup(ev->device_id ? ev->device_id : "");
	e->module_id = strdup(ev->module_id ? ev->module_id : "");
	e->data = ev->data ? cJSON_Duplicate(ev->data, 1) : cJSON_CreateObject();
	if (!e->device_id || !e->module_id || !e->data) {
		free(e->device_id);
		free(e->module_id);
		cJSON_Delete(e->data);
		return;
	}
	r->n_ev++;
}

/* --- step outcome -------------------------------------------------------------------------------- */

enum step_state run_fail(struct run *r, enum step_state st, const char *expected, const char *seen)
{
	const struct scenario_step *step = &r->sc->steps[r->cur];
	const char *s = seen ? seen : (r->seen ? r->seen : "nothing");
	free(r->msg);
	free(r->detail);
	r->msg = st == STEP_ERROR ? run_strf("%s", expected)
				  : run_strf("expected %s; seen last: %s", expected, s);
	r->detail = st == STEP_ERROR ? run_strf("error: %s\nat: %s:%u %s", expected, r->sc->file,
						step->line, step->path)
				     : run_strf("expected: %s\nseen last: %s\nat: %s:%u %s", expected, s,
						r->sc->file, step->line, step->path);
	return st;
}

/* Keep a string for the report (the result owns it). NULL stays NULL. */
static const char *keep(struct scenario_result *res, char *s)
{
	if (!s)
		return NULL;
	if (res->n_strings == res->cap_strings) {
		size_t cap = res->cap_strings ? res->cap_strings * 2 : 64;
		char **n = realloc(res->strings, cap * sizeof *n);
		if (!n) {
			free(s);
			return NULL;
		}
		res->strings = n;
		res->cap_strings = cap;
	}
	res->strings[res->n_strings++] = s;
	return s;
}

/* Forget the current step's expanded JSON and scratch state. */
static void step_reset(struct run *r)
{
	cJSON_Delete(r->x_json);
	cJSON_Delete(r->x_match);
	cJSON_Delete(r->x_props);
	cJSON_Delete(r->x_sys);
	cJSON_Delete(r->matched);
	r->x_json = r->x_match = r->x_props = r->x_sys = r->matched = NULL;
	free(r->seen);
	r->seen = NULL;
	r->call = NULL;
	r->started = false;
}

/* Record the current step's case and print its progress line. */
static void finish_step(struct run *r, enum step_state st)
{
	const struct scenario_step *step = &r->sc->steps[r->cur];
	struct report_case *c = &r->res->cases[r->cur];
	int64_t now = run_mono_us();
	c->name = step->name;
	c->kind = scenario_kind_name(step->kind);
	c->location = keep(r->res, run_strf("%s:%u %s", r->sc->file, step->line, step->path));
	c->duration_us = now - r->step_mono;
	c->status = st == STEP_PASSED ? REPORT_PASSED : st == STEP_FAILED ? REPORT_FAILED : REPORT_ERROR;
	printf("  [%7.2fs] %-5s %s (%.2fs)\n", (double)(r->step_mono - r->t0_mono) / 1e6,
	       st == STEP_PASSED ? "ok" : st == STEP_FAILED ? "FAIL" : "ERROR", step->name,
	       (double)c->duration_us / 1e6);
	if (st != STEP_PASSED) {
		c->message = keep(r->res, r->msg);
		c->detail = keep(r->res, r->detail);
		r->msg = r->detail = NULL;
		for (const char *p = c->detail; p && *p;) {
			const char *nl = strchr(p, '\n');
			int len = nl ? (int)(nl - p) : (int)strlen(p);
			printf("        %.*s\n", len, p);
			p = nl ? nl + 1 : p + len;
		}
		if (st == STEP_FAILED)
			r->failed = true;
		else
			r->errored = true;
	}
	fflush(stdout);
	free(r->msg);
	free(r->detail);
	r->msg = r->detail = NULL;
	step_reset(r);
	r->cur++;
}

/* --- actions ------------------------------------------------------------------------------------- */

/* Expand a step's JSON member (NULL stays NULL). ERROR state with the reason on failure. */
static bool expand_json(struct run *r, const cJSON *in, const char *member, cJSON **out)
{
	const struct scenario_step *step = &r->sc->steps[r->cur];
	char where[SCENARIO_PATH_MAX + 32];
	snprintf(where, sizeof where, "%s.%s", step->path, member);
	struct scenario_error err;
	if (scenario_expand_json(in, run_lookup, r, r->sc->file, where, out, &err) != SH_OK) {
		char buf[800];
		run_fail(r, STEP_ERROR, scenario_error_format(&err, buf, sizeof buf), NULL);
		return false;
	}
	return true;
}

static enum step_state hub_failed(struct run *r, const char *what, const struct iothub_err *err)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s: %s (%s %d)", what, err->message,
		 iothub_error_name(err->code), (int)err->code);
	return run_fail(r, STEP_ERROR, buf, NULL);
}

/* A method call's outcome arrives (from the session, a timer, or a disconnect). */
static void call_done(void *arg, int status, const cJSON *payload, const struct iothub_err *err)
{
	struct run_call *c = arg;
	c->done = true;
	c->status = status;
	if (err) {
		c->has_err = true;
		c->err = *err;
	}
	c->payload = payload ? cJSON_Duplicate(payload, 1) : NULL;
	if (c->log_id) {
		struct iothub_err lerr;
		hub_method_log_finish(c->run->hub, c->log_id, status, payload, err, &lerr);
	}
}

/* Seconds for the hub's method API: rounded up, at least 1. */
static int to_seconds(int64_t us)
{
	int64_t s = (us + 999999) / 1000000;
	return s < 1 ? 1 : s > 86400 ? 86400 : (int)s;
}

static enum step_state start_method(struct run *r, const struct scenario_step *st)
{
	cJSON *payload = NULL;
	if (!expand_json(r, st->json, "payload", &payload))
		return STEP_ERROR;
	struct run_call *c = calloc(1, sizeof *c);
	if (!c) {
		cJSON_Delete(payload);
		return run_fail(r, STEP_ERROR, "out of memory", NULL);
	}
	c->run = r;
	snprintf(c->name, sizeof c->name, "%s", st->capture);
	c->next = r->calls;
	r->calls = c;
	struct iothub_err err, lerr;
	int rto = to_seconds(st->response_timeout_us);
	int cto = st->connect_timeout_us ? to_seconds(st->connect_timeout_us) : 0;
	if (hub_method_log_begin(r->hub, st->identity.device_id, st->identity.module_id, st->method,
				 payload, rto, cto, &c->log_id, &lerr) != SH_OK)
		c->log_id = 0;
	if (hub_method_invoke(r->reg, st->identity.device_id, st->identity.module_id, st->method,
			      payload, rto, cto, call_done, c, &err) != SH_OK)
		call_done(c, 0, NULL, &err);   /* offline: an outcome like any other */
	cJSON_Delete(payload);
	r->call = c;
	return STEP_PENDING;
}

/* The {"status", "payload"} object a method capture holds. */
static cJSON *call_json(const struct run_call *c)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "status", c->has_err ? (double)c->err.code : c->status);
	cJSON_AddItemToObject(o, "payload", c->payload ? cJSON_Duplicate(c->payload, 1) : cJSON_CreateNull());
	if (c->has_err)
		cJSON_AddStringToObject(o, "error", c->err.message);
	return o;
}

/*
 * Judge a finished call against a step's `status` and `match` (invoke-method and
 * method-result share this). The call's status is the device's, or the hub's error code
 * (404103, 504101) when the device did not answer; `status` may name that code or its HTTP
 * status (504). Without `status`, any answer from the device passes and hub errors fail.
 */
enum step_state run_judge_call(struct run *r, const struct scenario_step *st, const struct run_call *c,
			       const cJSON *match)
{
	cJSON *got = call_json(c);
	free(r->seen);
	r->seen = run_json_text(got, 400);
	cJSON_Delete(got);
	char expected[512];
	if (st->has_status) {
		int http = c->has_err ? iothub_error_http_status(c->err.code) : c->status;
		bool ok = c->has_err ? ((int)c->err.code == st->status || http == st->status)
				     : c->status == st->status;
		if (!ok) {
			snprintf(expected, sizeof expected, "method %s to end with status %d", st->method[0] ? st->method : st->ref,
				 st->status);
			return run_fail(r, STEP_FAILED, expected, NULL);
		}
	} else if (c->has_err) {
		snprintf(expected, sizeof expected, "an answer from the device");
		return run_fail(r, STEP_FAILED, expected, NULL);
	}
	if (match) {
		struct jsonmatch_why why;
		if (!jsonmatch_eval(match, c->payload, "$.payload", &why)) {
			char w[800];
			snprintf(expected, sizeof expected, "the payload to match (%s)",
				 jsonmatch_why_format(&why, w, sizeof w));
			return run_fail(r, STEP_FAILED, expected, NULL);
		}
	}
	return STEP_PASSED;
}

static enum step_state send_c2d(struct run *r, const struct scenario_step *st)
{
	cJSON *body = NULL, *props = NULL;
	if (!expand_json(r, st->json, "body", &body) || !expand_json(r, st->properties, "properties", &props)) {
		cJSON_Delete(body);
		return STEP_ERROR;
	}
	char *text = cJSON_IsString(body) ? strdup(body->valuestring) : cJSON_PrintUnformatted(body);
	char *mid = NULL;
	if (st->message_id[0]) {
		struct scenario_error e;
		if (scenario_expand(st->message_id, run_lookup, r, r->sc->file, st->path, &mid, &e) != SH_OK)
			mid = NULL;
	}
	if (!mid)
		mid = run_strf("simhub-test-%d", ++r->c2d_counter);
	static const char *const acks[] = {"none", "positive", "negative", "full"};
	struct hub_c2d_send m = {
		.body = text,
		.len = text ? strlen(text) : 0,
		.app = props,
		.message_id = mid,
		.ack = acks[st->ack],
		.expiry_us = st->ttl_us ? hub_now_us(r->hub) + st->ttl_us : 0,
	};
	int64_t seq = 0;
	struct iothub_err err;
	enum step_state rc = STEP_PASSED;
	if (!text || !mid)
		rc = run_fail(r, STEP_ERROR, "out of memory", NULL);
	else if (hub_c2d_send(r->hub, st->identity.device_id, &m, &seq, &err) != SH_OK)
		rc = hub_failed(r, "send-c2d", &err);
	else if (st->capture[0]) {
		cJSON *cap = cJSON_CreateObject();
		cJSON_AddStringToObject(cap, "messageId", mid);
		cJSON_AddNumberToObject(cap, "seq", (double)seq);
		run_capture(r, st->capture, cap);
	}
	free(text);
	free(mid);
	cJSON_Delete(body);
	cJSON_Delete(props);
	return rc;
}

static enum step_state create_identity(struct run *r, const struct scenario_step *st)
{
	struct sh_identity req, out;
	memset(&req, 0, sizeof req);
	snprintf(req.device_id, sizeof req.device_id, "%s", st->identity.device_id);
	snprintf(req.module_id, sizeof req.module_id, "%s", st->identity.module_id);
	req.status = st->create_disabled ? SH_STATUS_DISABLED : SH_STATUS_ENABLED;
	req.auth_type = SH_AUTH_SAS;
	snprintf(req.primary_key, sizeof req.primary_key, "%s", st->primary_key);
	snprintf(req.secondary_key, sizeof req.secondary_key, "%s", st->secondary_key);
	struct iothub_err err;
	if (hub_identity_create(r->hub, &req, &out, &err) != SH_OK)
		return hub_failed(r, "create-identity", &err);
	return STEP_PASSED;
}

/* The module ids of a device, collected before it is deleted. */
struct module_ids {
	char (*ids)[SH_ID_MAX + 1];
	size_t n;
};

static sh_rc collect_module(void *arg, const struct sh_identity *id)
{
	struct module_ids *m = arg;
	char (*n)[SH_ID_MAX + 1] = realloc(m->ids, (m->n + 1) * sizeof *n);
	if (!n)
		return SH_E_NOMEM;
	m->ids = n;
	snprintf(m->ids[m->n++], SH_ID_MAX + 1, "%s", id->module_id);
	return SH_OK;
}

/*
 * delete-identity: a device takes its modules along (hub_identity_delete), so the connections
 * of its modules end with its own, as in IoT Hub. Without that a deleted device's module stayed
 * connected for the rest of the scenario.
 */
static enum step_state delete_identity(struct run *r, const char *dev, const char *mod)
{
	struct module_ids m = {NULL, 0};
	struct iothub_err err;
	if (!mod[0] && hub_identity_each(r->hub, dev, collect_module, &m, &err) != SH_OK)
		m.n = 0;   /* no modules to end, or none readable: the device's own drop still happens */
	if (hub_identity_delete(r->hub, dev, mod, NULL, &err) != SH_OK) {
		free(m.ids);
		return hub_failed(r, "delete-identity", &err);
	}
	hub_sessions_drop(r->reg, dev, mod, "identity-deleted");
	for (size_t i = 0; i < m.n; i++)
		hub_sessions_drop(r->reg, dev, m.ids[i], "identity-deleted");
	free(m.ids);
	return STEP_PASSED;
}

/* A fault step into the session layer's fault table. */
static enum step_state add_fault(struct run *r, const struct scenario_step *st)
{
	struct hub_fault f;
	memset(&f, 0, sizeof f);
	f.until_us = st->for_us ? hub_now_us(r->hub) + st->for_us : 0;
	switch (st->kind) {
	case SCENARIO_REFUSE_CONNECT:
		f.kind = HUB_FAULT_REFUSE_CONNECT;
		f.count = st->count_n ? st->count_n : 1;
		f.code = st->return_code ? st->return_code : SCENARIO_DEFAULT_CONNACK_CODE;
		break;
	case SCENARIO_TWIN_ERROR:
		f.kind = HUB_FAULT_TWIN_ERROR;
		f.count = st->count_n ? st->count_n : 1;
		f.code = st->status;
		f.twin_ops = (st->twin_ops & SCENARIO_TWIN_OP_GET ? HUB_FAULT_TWIN_GET : 0) |
			     (st->twin_ops & SCENARIO_TWIN_OP_PATCH_REPORTED ? HUB_FAULT_TWIN_PATCH_REPORTED : 0);
		break;
	case SCENARIO_DELAY_PUBACK:
		f.kind = HUB_FAULT_DELAY_PUBACK;
		f.count = st->count_n;
		f.delay_us = st->duration_us;
		break;
	case SCENARIO_WITHHOLD_PUBACK:
		f.kind = HUB_FAULT_WITHHOLD_PUBACK;
		f.count = st->count_n;
		break;
	case SCENARIO_THROTTLE:
		f.kind = HUB_FAULT_THROTTLE;
		f.rate = st->rate;
		break;
	case SCENARIO_CLOSE_AT_SAS_EXPIRY:
		f.kind = HUB_FAULT_CLOSE_AT_SAS_EXPIRY;
		break;
	default:
		return run_fail(r, STEP_ERROR, "not a fault", NULL);
	}
	if (hub_fault_add(r->reg, st->identity.device_id, st->identity.module_id, &f) != SH_OK)
		return run_fail(r, STEP_ERROR, "cannot set the fault", NULL);
	return STEP_PASSED;
}

/* Move the virtual clock and let every timer see the new time at once. */
static void advance(struct run *r, int64_t us)
{
	r->offset_us += us;
	hub_sessions_clock_jumped(r->reg, us);
	hub_sessions_tick(r->reg);
}

/*
 * Start or poll the current step. Actions and faults finish in one call, except the ones
 * that wait (sync invoke-method, stop/restart-agent, real-clock wait); expectations are
 * polled by run_expect.
 */
static enum step_state step_poll(struct run *r, const struct scenario_step *st)
{
	bool first = !r->started;
	if (first) {
		r->started = true;
		r->step_mono = run_mono_us();
		r->step_mark = r->n_ev;
		r->step_hub_us = hub_now_us(r->hub);
	}
	const char *dev = st->identity.device_id, *mod = st->identity.module_id;
	struct iothub_err err;
	cJSON *x = NULL;
	switch (st->kind) {
	case SCENARIO_PATCH_DESIRED:
	case SCENARIO_PATCH_TAGS:
	case SCENARIO_REPLACE_TWIN: {
		const char *member = st->kind == SCENARIO_REPLACE_TWIN ? "twin" : "patch";
		if (!expand_json(r, st->json, member, &x))
			return STEP_ERROR;
		sh_rc rc = st->kind == SCENARIO_PATCH_DESIRED
				   ? hub_twin_patch_desired(r->hub, dev, mod, x, NULL, &err)
			   : st->kind == SCENARIO_PATCH_TAGS
				   ? hub_twin_patch_tags(r->hub, dev, mod, x, NULL, &err)
				   : hub_twin_replace(r->hub, dev, mod, x, NULL, NULL, &err);
		cJSON_Delete(x);
		return rc == SH_OK ? STEP_PASSED : hub_failed(r, scenario_kind_name(st->kind), &err);
	}
	case SCENARIO_INVOKE_METHOD:
		if (first) {
			enum step_state s = start_method(r, st);
			if (s != STEP_PENDING || !st->async)
				return s;
			return STEP_PASSED;   /* async: judged by method-result */
		}
		if (!r->call->done)
			return STEP_PENDING;
		if (st->capture[0])
			run_capture(r, st->capture, call_json(r->call));
		if (!expand_json(r, st->match, "match", &r->x_match))
			return STEP_ERROR;
		return run_judge_call(r, st, r->call, r->x_match);
	case SCENARIO_SEND_C2D:
		return send_c2d(r, st);
	case SCENARIO_CREATE_IDENTITY:
		return create_identity(r, st);
	case SCENARIO_DISABLE_IDENTITY:
	case SCENARIO_ENABLE_IDENTITY: {
		bool off = st->kind == SCENARIO_DISABLE_IDENTITY;
		if (hub_identity_set_status(r->hub, dev, mod, off ? SH_STATUS_DISABLED : SH_STATUS_ENABLED,
					    st->reason[0] ? st->reason : NULL, NULL, &err) != SH_OK)
			return hub_failed(r, scenario_kind_name(st->kind), &err);
		if (off)
			hub_sessions_drop(r->reg, dev, mod, "identity-disabled");
		return STEP_PASSED;
	}
	case SCENARIO_DELETE_IDENTITY:
		return delete_identity(r, dev, mod);
	case SCENARIO_START_AGENT:
		if (r->pid)
			return run_fail(r, STEP_ERROR, "the agent is already running", NULL);
		if (run_agent_start(r) != 0) {
			r->could_not_start = true;
			return run_fail(r, STEP_ERROR, r->agent_error, NULL);
		}
		return STEP_PASSED;
	case SCENARIO_STOP_AGENT:
	case SCENARIO_RESTART_AGENT:
		if (first)
			run_agent_stop(r, st->grace_us ? st->grace_us : r->sc->agent.grace_us);
		if (!run_agent_poll(r))
			return STEP_PENDING;
		if (st->kind == SCENARIO_RESTART_AGENT && run_agent_start(r) != 0) {
			r->could_not_start = true;
			return run_fail(r, STEP_ERROR, r->agent_error, NULL);
		}
		return STEP_PASSED;
	case SCENARIO_WAIT:
		if (r->sc->clock == SCENARIO_CLOCK_VIRTUAL) {
			advance(r, st->duration_us);
			return STEP_PASSED;
		}
		return run_mono_us() - r->step_mono >= st->duration_us ? STEP_PASSED : STEP_PENDING;
	case SCENARIO_ADVANCE_CLOCK:
		advance(r, st->duration_us);
		return STEP_PASSED;
	case SCENARIO_DROP_CONNECTION:
		if (!hub_sessions_drop(r->reg, dev, mod, "fault-drop-connection"))
			return run_fail(r, STEP_ERROR, "the identity has no connection to drop", NULL);
		return STEP_PASSED;
	case SCENARIO_REFUSE_CONNECT:
	case SCENARIO_TWIN_ERROR:
	case SCENARIO_DELAY_PUBACK:
	case SCENARIO_WITHHOLD_PUBACK:
	case SCENARIO_CLOSE_AT_SAS_EXPIRY:
	case SCENARIO_THROTTLE:
		return add_fault(r, st);
	case SCENARIO_CLEAR_FAULTS:
		hub_fault_clear(r->reg, dev, mod);
		return STEP_PASSED;
	default:
		return run_expect(r, st);
	}
}

/* --- the ticker ---------------------------------------------------------------------------------- */

/* Mark every step from `from` on as skipped. */
static void skip_rest(struct run *r, size_t from, const char *why)
{
	for (size_t i = from; i < r->sc->step_count; i++) {
		struct report_case *c = &r->res->cases[i];
		c->name = r->sc->steps[i].name;
		c->kind = scenario_kind_name(r->sc->steps[i].kind);
		c->location = keep(r->res, run_strf("%s:%u %s", r->sc->file, r->sc->steps[i].line,
						     r->sc->steps[i].path));
		c->status = REPORT_SKIPPED;
		c->message = why;
	}
}

static void tick(void *arg)
{
	struct run *r = arg;
	run_agent_poll(r);
	hub_sessions_tick(r->reg);
	if (r->phase == RUN_STEPS) {
		while (r->cur < r->sc->step_count) {
			if (scenario_run_interrupted) {
				run_fail(r, STEP_ERROR, "interrupted (SIGINT or SIGTERM)", NULL);
				finish_step(r, STEP_ERROR);
				break;
			}
			enum step_state s = step_poll(r, &r->sc->steps[r->cur]);
			if (s == STEP_PENDING)
				break;
			finish_step(r, s);
			if (s != STEP_PASSED || r->could_not_start)
				break;
		}
		if (r->cur >= r->sc->step_count || r->failed || r->errored || r->could_not_start) {
			if (r->cur < r->sc->step_count)
				skip_rest(r, r->cur, "an earlier step failed");
			r->phase = RUN_STOPPING;
			run_agent_stop(r, r->sc->agent.grace_us);
		}
	}
	if (r->phase == RUN_STOPPING && run_agent_poll(r)) {
		r->phase = RUN_DONE;
		io_loop_set_ticker(r->loop, NULL, NULL, 0);
		r->stop = 1;
	}
}

/* --- set-up and tear-down ------------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Apply the scenario's fixtures, in file order. False (message printed) when one fails. */
static bool load_fixtures(struct run *r, char *why, size_t cap)
{
	for (size_t i = 0; i < r->sc->fixture_count; i++) {
		const struct scenario_fixture *f = &r->sc->fixtures[i];
		if (f->resolved) {
			struct cli_ctx ctx;
			memset(&ctx, 0, sizeof ctx);
			ctx.hub = r->hub;
			ctx.st = r->st;
			const char *paths[1] = {f->resolved};
			if (cli_load_fixtures(&ctx, paths, 1, true) != CLI_OK) {
				snprintf(why, cap, "%s:%u %s: fixture %s does not load (see above)",
					 r->sc->file, f->line, f->json_path, f->path);
				return false;
			}
		} else {
			struct iothub_err err = {0};
			struct fixture *fx[1] = {f->inline_fx};
			char name[512];
			snprintf(name, sizeof name, "%s:%u %s", r->sc->file, f->line, f->json_path);
			const char *names[1] = {name};
			if (hub_fixtures_apply(r->hub, fx, names, 1, &err) != SH_OK) {
				snprintf(why, cap, "fixture not loaded: %s", err.message);
				return false;
			}
		}
	}
	return true;
}

/* Store, hub, TLS material, fixtures, sessions, listeners. False with `why` on failure. */
static bool setup(struct run *r, char *why, size_t cap)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(r->dir, sizeof r->dir, "%s/simhub-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(r->dir)) {
		snprintf(why, cap, "cannot create a temp folder in %s: %s", tmp ? tmp : "/tmp",
			 strerror(errno));
		r->dir[0] = '\0';
		return false;
	}
	snprintf(r->db, sizeof r->db, "%s", r->opts->db ? r->opts->db : "");
	if (!r->opts->db)
		snprintf(r->db, sizeof r->db, "%s/simhub.db", r->dir);
	snprintf(r->out_path, sizeof r->out_path, "%s/agent.stdout", r->dir);
	snprintf(r->err_path, sizeof r->err_path, "%s/agent.stderr", r->dir);
	char err[512];
	if (store_open(r->db, &r->st, err, sizeof err) != SH_OK) {
		snprintf(why, cap, "cannot open database %s: %s", r->db, err);
		return false;
	}
	r->env.now_us = run_now_us;
	r->env.random = run_random;
	r->env.ctx = r;
	struct iothub_err herr = {0};
	if (hub_open(r->st, &r->env, &r->hub, &herr) != SH_OK) {
		snprintf(why, cap, "cannot open the hub: %s", herr.message);
		return false;
	}
	if (tls_material_ensure(r->dir, NULL, 0, cli_now_us() / 1000000, &r->tm, NULL, err,
				sizeof err) != SH_OK) {
		snprintf(why, cap, "TLS material: %s", err);
		return false;
	}
	if (!load_fixtures(r, why, cap))
		return false;
	hub_policy_connection_string(r->hub, "iothubowner", &r->service_cs, &herr);
	r->reg = hub_sessions_new(r->hub);
	if (!r->reg) {
		snprintf(why, cap, "out of memory");
		return false;
	}
	struct io_config cfg = {
		.bind = "127.0.0.1",
		.port = {0, 0, 0},
		.cert = r->tm.cert,
		.key = r->tm.key,
	};
	if (io_loop_start(r->hub, r->reg, &cfg, &r->loop, err, sizeof err) != SH_OK) {
		snprintf(why, cap, "cannot start the listeners: %s", err);
		return false;
	}
	if (hub_event_listen(r->hub, on_event, r, &r->listen_handle) != SH_OK) {
		snprintf(why, cap, "out of memory");
		return false;
	}
	r->count_default = cJSON_Parse("{\"$gte\":1}");
	r->t0_hub_us = hub_now_us(r->hub);
	printf("  hub: mqtt %d, mqtts %d, https+wss %d; CA %s%s%s\n", io_loop_port(r->loop, IO_MQTT),
	       io_loop_port(r->loop, IO_MQTTS), io_loop_port(r->loop, IO_HTTPS), r->tm.ca_cert,
	       r->sc->clock == SCENARIO_CLOCK_VIRTUAL ? "; virtual clock" : "",
	       r->opts->keep ? "" : "");
	fflush(stdout);
	return true;
}

static void teardown(struct run *r)
{
	if (r->pid) {
		kill(-r->pid, SIGKILL);
		while (!run_agent_poll(r))
			usleep(10000);
	}
	if (r->hub && r->listen_handle)
		hub_event_unlisten(r->hub, r->listen_handle);
	if (r->loop)
		io_loop_free(r->loop);
	if (r->reg)
		hub_sessions_free(r->reg);
	step_reset(r);
	free(r->msg);
	free(r->detail);
	while (r->calls) {
		struct run_call *c = r->calls;
		r->calls = c->next;
		cJSON_Delete(c->payload);
		free(c);
	}
	if (r->hub)
		hub_close(r->hub);
	if (r->st)
		store_close(r->st);
	for (size_t i = 0; i < r->n_ev; i++) {
		free(r->ev[i].device_id);
		free(r->ev[i].module_id);
		cJSON_Delete(r->ev[i].data);
	}
	free(r->ev);
	for (size_t i = 0; i < r->n_caps; i++) {
		free(r->cap_names[i]);
		cJSON_Delete(r->cap_values[i]);
	}
	free(r->cap_names);
	free(r->cap_values);
	free(r->lookup_tmp);
	free(r->service_cs);
	cJSON_Delete(r->count_default);
	run_agent_collect(r);
	if (r->dir[0]) {
		if (r->opts->keep)
			printf("  kept: %s (database %s)\n", r->dir, r->db);
		else
			nftw(r->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
}

enum scenario_verdict scenario_run(const struct scenario *sc, const struct scenario_run_opts *opts,
				   struct scenario_result *res)
{
	memset(res, 0, sizeof *res);
	struct run *r = calloc(1, sizeof *r);
	res->cases = calloc(sc->step_count ? sc->step_count : 1, sizeof *res->cases);
	if (!r || !res->cases) {
		free(r);
		res->suite.error = "out of memory";
		res->verdict = SCENARIO_NOT_RUN;
		return res->verdict;
	}
	r->sc = sc;
	r->opts = opts;
	r->res = res;
	res->suite.name = sc->name;
	res->suite.file = sc->file;
	res->suite.started_us = cli_now_us();
	res->suite.cases = res->cases;
	res->suite.case_count = sc->step_count;
	printf("scenario \"%s\" (%s)\n", sc->name, sc->file);
	fflush(stdout);
	r->t0_mono = run_mono_us();
	char why[1024] = "";
	if (!setup(r, why, sizeof why)) {
		res->suite.error = keep(res, strdup(why));
		skip_rest(r, 0, "the scenario could not start");
		res->verdict = SCENARIO_NOT_RUN;
	} else if (sc->agent.autostart && (sc->agent.present || opts->agent) && run_agent_start(r) != 0) {
		res->suite.error = keep(res, run_strf("the agent could not start: %s", r->agent_error));
		skip_rest(r, 0, "the agent could not start");
		res->verdict = SCENARIO_NOT_RUN;
	} else {
		r->t0_mono = run_mono_us();
		io_loop_set_ticker(r->loop, tick, r, TICK_US);
		io_loop_run(r->loop, &r->stop);
		if (r->could_not_start) {
			res->suite.error = keep(res, run_strf("the agent could not start: %s", r->agent_error));
			res->verdict = SCENARIO_NOT_RUN;
		} else {
			res->verdict = r->failed || r->errored ? SCENARIO_FAILED : SCENARIO_PASSED;
		}
	}
	if (res->suite.error)
		printf("  ERROR %s\n", res->suite.error);
	teardown(r);
	res->suite.duration_us = run_mono_us() - r->t0_mono;
	struct report_totals t = report_count(&res->suite, 1);
	printf("  %s: %zu step%s, %zu failed, %zu error%s, %zu skipped, %.2fs\n",
	       res->verdict == SCENARIO_PASSED ? "PASSED" : res->verdict == SCENARIO_FAILED ? "FAILED"
											 : "NOT RUN",
	       t.tests, t.tests == 1 ? "" : "s", t.failures, t.errors, t.errors == 1 ? "" : "s",
	       t.skipped, (double)res->suite.duration_us / 1e6);
	fflush(stdout);
	free(r);
	return res->verdict;
}

void scenario_result_free(struct scenario_result *res)
{
	if (!res)
		return;
	for (size_t i = 0; i < res->n_strings; i++)
		free(res->strings[i]);
	free(res->strings);
	free(res->cases);
	free(res->out);
	free(res->err);
	memset(res, 0, sizeof *res);
}
