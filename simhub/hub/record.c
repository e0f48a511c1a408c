/*
 * record.c: the journal writer of `simhub serve --record` (docs/recordings.md). A listener on
 * the hub event bus: telemetry, disconnects and C2D settlements come from their own event
 * kinds (a security message, announced as "security", is read back from the store by its
 * d2cSeq), everything else a device did or was sent from the "session" kind. Each event becomes
 * one core/journal line, checked by the journal reader before it is written and flushed.
 * It never opens, closes or seeks the file and keeps no globals.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/journal.h"
#include "hub/hub_internal.h"
#include "hub/record.h"

struct hub_recorder {
	struct sh_hub *hub;           /* borrowed */
	FILE *out;                    /* borrowed */
	int handle;                   /* the bus listener; 0 once stopped */
	int64_t started_us;           /* the header's t = 0 */
	int64_t last_t_us;            /* "t" of the last line: lines never go back in time */
	hub_record_error_fn on_error;
	void *ctx;
	struct hub_record_stats stats;
};

/* System properties the hub stamps on stored telemetry: not what the device sent. */
static const char *const stamped_props[] = {
	"iothub-connection-device-id", "iothub-connection-module-id", "iothub-enqueuedtime",
	"iothub-connection-auth-method", "iothub-connection-auth-generation-id",
	"iothub-message-source", NULL,
};

static const char *str_field(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Copy o[key] into dst under the same key, when o has it. False only when out of memory. */
static bool copy_field(cJSON *dst, const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		return true;
	cJSON *c = cJSON_Duplicate(v, 1);
	return c && cJSON_AddItemToObject(dst, key, c);
}

/*
 * The journal's word for why a connection ended: "client" for an MQTT DISCONNECT, "network"
 * for a lost connection or a silent peer, "expired" for a SAS token past its expiry, "server"
 * for everything the hub ended itself (protocol faults, a newer connection, a reset).
 */
static const char *disconnect_reason(const char *r)
{
	if (!r)
		return NULL;
	if (!strcmp(r, "client-disconnect"))
		return "client";
	if (!strcmp(r, "connection-lost") || !strcmp(r, "keepalive-timeout"))
		return "network";
	if (!strcmp(r, "sas-token-expired"))
		return "expired";
	return "server";
}

/* The transport names of io/ ("mqtt", "mqtts", "wss") in the journal's words. */
static const char *journal_transport(const char *t)
{
	if (!t)
		return NULL;
	if (!strcmp(t, "mqtt") || !strcmp(t, "mqtts"))
		return "mqtt";
	if (!strcmp(t, "wss") || !strcmp(t, "ws"))
		return "mqtt-ws";
	return t;
}

/* Telemetry: the device's own system properties (stamps removed), properties, body. */
static bool telemetry_fields(cJSON *o, const cJSON *d)
{
	const cJSON *sys = cJSON_GetObjectItemCaseSensitive(d, "systemProperties");
	if (cJSON_IsObject(sys) && sys->child) {
		cJSON *s = cJSON_Duplicate(sys, 1);
		if (!s)
			return false;
		for (int i = 0; stamped_props[i]; i++)
			cJSON_DeleteItemFromObjectCaseSensitive(s, stamped_props[i]);
		if (s->child)
			cJSON_AddItemToObject(o, "systemProperties", s);
		else
			cJSON_Delete(s);
	}
	const cJSON *app = cJSON_GetObjectItemCaseSensitive(d, "properties");
	if (cJSON_IsObject(app) && app->child && !copy_field(o, d, "properties"))
		return false;
	return copy_field(o, d, "body") && copy_field(o, d, "bodyEncoding");
}

/* A C2D event the device caused, as c2d.settle's outcome; NULL for the others. */
static const char *settle_outcome(const char *event)
{
	if (!event)
		return NULL;
	if (!strcmp(event, "completed"))
		return "complete";
	if (!strcmp(event, "rejected"))
		return "reject";
	if (!strcmp(event, "abandoned") || !strcmp(event, "deadlettered"))
		return "abandon";
	return NULL;
}

/*
 * The op and fields of one event, added to o; false when the event is not journaled (or out
 * of memory). Session events already speak the journal's language: their fields are copied,
 * the transport name translated.
 */
static bool op_fields(cJSON *o, const struct hub_event *ev)
{
	const cJSON *d = ev->data;
	switch (ev->kind) {
	case HUB_EV_SESSION: {
		const char *op = str_field(d, "op");
		if (!op)
			return false;
		const cJSON *f;
		cJSON_ArrayForEach(f, d) {
			if (!f->string || !strcmp(f->string, "transport"))
				continue;
			if (!copy_field(o, d, f->string))
				return false;
		}
		const char *tr = journal_transport(str_field(d, "transport"));
		return !tr || cJSON_AddStringToObject(o, "transport", tr);
	}
	case HUB_EV_TELEMETRY:
		return cJSON_AddStringToObject(o, "op", "telemetry") && telemetry_fields(o, d);
	case HUB_EV_CONNECTION: {
		const char *event = str_field(d, "event");
		const cJSON *changed = cJSON_GetObjectItemCaseSensitive(d, "stateChanged");
		if (!event || strcmp(event, "disconnect") || cJSON_IsFalse(changed))
			return false;   /* connects come as session events, with their parameters */
		const char *reason = disconnect_reason(str_field(d, "reason"));
		return cJSON_AddStringToObject(o, "op", "disconnect") &&
		       (!reason || cJSON_AddStringToObject(o, "reason", reason));
	}
	case HUB_EV_C2D: {
		const char *outcome = settle_outcome(str_field(d, "event"));
		const char *mid = str_field(d, "messageId");
		if (!outcome || !mid)
			return false;
		return cJSON_AddStringToObject(o, "op", "c2d.settle") &&
		       cJSON_AddStringToObject(o, "messageId", mid) &&
		       cJSON_AddStringToObject(o, "outcome", outcome);
	}
	default:
		return false;
	}
}

cJSON *hub_record_event_object(const struct hub_event *ev)
{
	if (!ev || !ev->device_id || !ev->data)
		return NULL;
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "device", ev->device_id) ||
	    (ev->module_id && ev->module_id[0] &&
	     !cJSON_AddStringToObject(o, "module", ev->module_id)) ||
	    !op_fields(o, ev)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* The stored row of a security message: its properties and body as telemetry fields. */
struct row_ctx {
	cJSON *o;
	bool found, ok;
};

static sh_rc row_fields(void *arg, int64_t seq, const struct sh_d2c_row *row)
{
	struct row_ctx *c = arg;
	(void)seq;
	c->found = true;
	cJSON *d = cJSON_CreateObject();
	cJSON *sys = cJSON_Parse(row->sys_props_json ? row->sys_props_json : "{}");
	cJSON *app = cJSON_Parse(row->app_props_json ? row->app_props_json : "{}");
	c->ok = d && sys && app && cJSON_AddItemToObject(d, "systemProperties", sys) &&
		cJSON_AddItemToObject(d, "properties", app);
	if (!c->ok) {
		cJSON_Delete(sys);   /* not attached when the add failed */
		cJSON_Delete(app);
	}
	c->ok = c->ok && hub_event_add_body(d, row->body, row->body_len) &&
		cJSON_AddStringToObject(c->o, "op", "telemetry") && telemetry_fields(c->o, d);
	cJSON_Delete(d);
	return SH_OK;
}

/*
 * A security message's journal object: security events name the d2c row (d2cSeq) rather than
 * carry the message, which was stored as telemetry in the same committed operation.
 */
static cJSON *security_object(struct sh_hub *hub, const struct hub_event *ev)
{
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(ev->data, "d2cSeq");
	if (!ev->device_id || !cJSON_IsNumber(seq) || seq->valuedouble < 1)
		return NULL;
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "device", ev->device_id) ||
	    (ev->module_id && ev->module_id[0] &&
	     !cJSON_AddStringToObject(o, "module", ev->module_id))) {
		cJSON_Delete(o);
		return NULL;
	}
	struct row_ctx c = {o, false, false};
	struct sh_d2c_query q = {
		.device_id = ev->device_id,
		.module_id = ev->module_id ? ev->module_id : "",
		.from_us = INT64_MIN,
		.to_us = INT64_MAX,
		.after_seq = (int64_t)seq->valuedouble - 1,
		.limit = 1,
		.include_security = true,
	};
	if (store_d2c_query(hub_store(hub), &q, row_fields, &c) != SH_OK || !c.found || !c.ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Stop on a failed write: say it once, leave the bus, keep what was written. */
static void record_fail(struct hub_recorder *r, int errnum)
{
	if (r->stats.failed)
		return;
	r->stats.failed = true;
	if (r->handle) {
		hub_event_unlisten(r->hub, r->handle);
		r->handle = 0;
	}
	if (r->on_error) {
		char msg[256];
		snprintf(msg, sizeof msg, "cannot write the journal: %s; recording stopped",
			 errnum ? strerror(errnum) : "write error");
		r->on_error(r->ctx, msg);
	}
}

/* One line and its newline, flushed. False (errno set) when the stream refused it. */
static bool put_line(struct hub_recorder *r, const char *line)
{
	errno = 0;
	if (fputs(line, r->out) < 0 || fputc('\n', r->out) == EOF || fflush(r->out) != 0 ||
	    ferror(r->out)) {
		record_fail(r, errno);
		return false;
	}
	r->stats.lines++;
	return true;
}

/*
 * The bus listener: the event's journal object gets its "t" (hub time since the header, never
 * less than the line before), goes through the journal reader (what a replay will read) and
 * back out through the writer, then to the file. An event that does not make a valid line is
 * counted as skipped.
 */
static void on_event(void *ctx, const struct hub_event *ev)
{
	struct hub_recorder *r = ctx;
	if (r->stats.failed)
		return;
	cJSON *o = ev->kind == HUB_EV_SECURITY ? security_object(r->hub, ev)
					       : hub_record_event_object(ev);
	if (!o) {
		if (ev->kind == HUB_EV_SECURITY)
			r->stats.skipped++;   /* its message could not be read back */
		return;
	}
	int64_t t = ev->time_us - r->started_us;
	if (t < r->last_t_us)
		t = r->last_t_us;
	char *text = NULL, *line = NULL;
	struct journal_entry e;
	memset(&e, 0, sizeof e);
	bool ok = cJSON_AddNumberToObject(o, "t", (double)t) != NULL &&
		  (text = cJSON_PrintUnformatted(o)) != NULL &&
		  journal_entry_parse(text, strlen(text), (long)r->stats.lines + 1, &e, NULL) == SH_OK;
	if (ok) {
		e.at_us = r->started_us + t;
		ok = journal_entry_write(&e, &line) == SH_OK;
	}
	if (!ok)
		r->stats.skipped++;
	else if (put_line(r, line))
		r->last_t_us = t;
	free(line);
	journal_entry_free(&e);
	cJSON_free(text);
	cJSON_Delete(o);
}

sh_rc hub_record_start(struct sh_hub *hub, FILE *out, const char *source, hub_record_error_fn on_error,
		       void *ctx, struct hub_recorder **rec_out)
{
	if (!hub || !out || !rec_out)
		return SH_E_INVALID;
	*rec_out = NULL;
	struct hub_recorder *r = calloc(1, sizeof *r);
	if (!r)
		return SH_E_NOMEM;
	r->hub = hub;
	r->out = out;
	r->on_error = on_error;
	r->ctx = ctx;
	r->started_us = hub_now_us(hub);
	struct journal_header h = {
		.version = JOURNAL_VERSION,
		.hub = (char *)hub_hostname(hub),
		.started_us = r->started_us,
		.source = (char *)source,
	};
	char *line = NULL;
	sh_rc rc = journal_header_write(&h, &line);
	if (rc == SH_OK) {
		errno = 0;
		if (fputs(line, out) < 0 || fputc('\n', out) == EOF || fflush(out) != 0 || ferror(out))
			rc = SH_E_IO;
		else
			r->stats.lines = 1;
	}
	free(line);
	if (rc == SH_OK)
		rc = hub_event_listen(hub, on_event, r, &r->handle);
	if (rc != SH_OK) {
		int saved = errno;
		free(r);
		errno = saved;
		return rc == SH_E_INVALID ? SH_E_IO : rc;
	}
	*rec_out = r;
	return SH_OK;
}

void hub_record_get_stats(const struct hub_recorder *rec, struct hub_record_stats *stats)
{
	if (rec && stats)
		*stats = rec->stats;
}

sh_rc hub_record_stop(struct hub_recorder *rec, struct hub_record_stats *stats)
{
	if (!rec)
		return SH_OK;
	if (rec->handle)
		hub_event_unlisten(rec->hub, rec->handle);
	if (!rec->stats.failed && fflush(rec->out) != 0)
		rec->stats.failed = true;
	if (stats)
		*stats = rec->stats;
	sh_rc rc = rec->stats.failed ? SH_E_IO : SH_OK;
	free(rec);
	return rc;
}
