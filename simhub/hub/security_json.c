/*
 * security_json.c: the JSON shape of a stored security message, event and alert, one builder
 * each, used by the API (/simhub/v1/security) and by the CLI on a database file, so both give
 * the same items (docs/api.md "Security").
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/base64.h"
#include "core/isotime.h"
#include "core/utf8.h"
#include "hub/hub.h"

/* Stored JSON text under name; an empty array or object when it does not parse. */
static void add_json(cJSON *o, const char *name, const char *text, bool array)
{
	cJSON *v = text ? cJSON_Parse(text) : NULL;
	if (!v)
		v = array ? cJSON_CreateArray() : cJSON_CreateObject();
	cJSON_AddItemToObject(o, name, v);
}

static void add_time(cJSON *o, const char *name, int64_t us)
{
	char when[ISOTIME_BUF];
	isotime_format(us, when);
	cJSON_AddStringToObject(o, name, when);
}

static void add_opt(cJSON *o, const char *name, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

/* The body as "body" (UTF-8 text without NUL) or "bodyBase64". */
static void add_body(cJSON *o, const void *body, size_t len)
{
	const uint8_t *b = body ? body : (const uint8_t *)"";
	if (utf8_valid(b, len, UTF8_NUL_REFUSE)) {
		char *t = malloc(len + 1);
		if (!t)
			return;
		memcpy(t, b, len);
		t[len] = '\0';
		cJSON_AddStringToObject(o, "body", t);
		free(t);
		return;
	}
	size_t cap = (len + 2) / 3 * 4 + 1, n = 0;
	char *t = malloc(cap);
	if (t && base64_encode(b, len, t, cap, &n) == SH_OK)
		cJSON_AddStringToObject(o, "bodyBase64", t);
	free(t);
}

cJSON *hub_security_message_json(const struct hub_security_message *m)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "seq", (double)m->seq);
	cJSON_AddNumberToObject(o, "d2cSeq", (double)m->d2c_seq);
	cJSON_AddStringToObject(o, "deviceId", m->device_id);
	if (m->module_id[0])
		cJSON_AddStringToObject(o, "moduleId", m->module_id);
	add_time(o, "receivedTimeUtc", m->received_us);
	add_opt(o, "agentId", m->agent_id);
	add_opt(o, "agentVersion", m->agent_version);
	cJSON_AddStringToObject(o, "mode", m->mode);
	cJSON_AddStringToObject(o, "verdict", m->verdict);
	add_json(o, "reasons", m->reasons_json, true);
	cJSON_AddNumberToObject(o, "eventCount", (double)m->n_events);
	add_json(o, "properties", m->properties_json, false);
	add_body(o, m->body, m->body_len);
	return o;
}

cJSON *hub_security_event_json(const struct hub_security_event *e)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", (double)e->id);
	cJSON_AddNumberToObject(o, "messageSeq", (double)e->message_seq);
	cJSON_AddStringToObject(o, "deviceId", e->device_id);
	if (e->module_id[0])
		cJSON_AddStringToObject(o, "moduleId", e->module_id);
	add_time(o, "receivedTimeUtc", e->received_us);
	add_opt(o, "agentId", e->agent_id);
	add_opt(o, "eventId", e->event_id);
	cJSON_AddStringToObject(o, "name", e->name);
	cJSON_AddStringToObject(o, "eventType", e->event_type);
	cJSON_AddStringToObject(o, "category", e->category);
	cJSON_AddBoolToObject(o, "isEmpty", e->is_empty);
	add_opt(o, "timestampLocal", e->timestamp_local);
	if (e->has_utc)
		add_time(o, "timestampUtc", e->utc_us);
	else
		cJSON_AddNullToObject(o, "timestampUtc");
	cJSON *payload = cJSON_Parse(e->payload_json);
	cJSON_AddItemToObject(o, "payload", payload ? payload : cJSON_CreateNull());
	cJSON_AddStringToObject(o, "verdict", e->verdict);
	add_json(o, "reasons", e->reasons_json, true);
	return o;
}

cJSON *hub_security_alert_json(const struct hub_security_alert *a)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", (double)a->id);
	cJSON_AddStringToObject(o, "rule", a->rule);
	cJSON_AddStringToObject(o, "severity", a->severity);
	cJSON_AddStringToObject(o, "deviceId", a->device_id);
	if (a->module_id[0])
		cJSON_AddStringToObject(o, "moduleId", a->module_id);
	add_time(o, "createdTimeUtc", a->created_us);
	add_time(o, "timeUtc", a->time_us);
	add_json(o, "evidence", a->evidence_json, true);
	cJSON_AddStringToObject(o, "description", a->description);
	return o;
}
