/*
 * rest_security.c: simhub's security API under /simhub/v1/security (docs/api.md "Security"):
 * stored security messages, events and alerts (filtered, paged like the other lists), the
 * per-device summary and configuration drift, and enabling the security module of a device.
 * It calls hub functions only; it never touches the store and never validates messages.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "rest/rest_internal.h"
#include "store/store.h"

#define SEC_TEXT_MAX 130

/* The query arguments of the three lists: the shared ones (rest_list.c) and the text filters. */
struct sec_args {
	struct rest_list_args list;
	int64_t from_us, to_us;   /* the list's bounds as the security queries take them: 0 = none */
	char name[SEC_TEXT_MAX], type[SEC_TEXT_MAX], category[SEC_TEXT_MAX];
	char verdict[SEC_TEXT_MAX], rule[SEC_TEXT_MAX], severity[SEC_TEXT_MAX];
	bool has_name, has_type, has_category, has_verdict, has_rule, has_severity;
};

/* An optional text filter: 1..SEC_TEXT_MAX-1 characters. False (400 sent) when bad. */
static bool text_arg(const struct rest_request *req, struct rest_response *resp, bool legacy,
		     const char *name, char *buf, bool *has)
{
	int r = rest_query_get(req, name, buf, SEC_TEXT_MAX);
	if (r < 0 || (r > 0 && !buf[0])) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
				"%s must be 1 to %d characters", name, SEC_TEXT_MAX - 1);
		return false;
	}
	*has = r > 0;
	return true;
}

/*
 * Read the filters every list shares (deviceId, moduleId, from, to, limit, continuation) and
 * the text filters; 400 with a sentence for a bad value. verdict must be valid, tolerated or
 * invalid.
 */
static bool args_read(const struct rest_request *req, struct rest_response *resp, bool legacy,
		      struct sec_args *a)
{
	memset(a, 0, sizeof *a);
	if (!rest_list_args_read(req, resp, legacy, &a->list))
		return false;
	a->from_us = a->list.from_us == INT64_MIN ? 0 : a->list.from_us;
	a->to_us = a->list.to_us == INT64_MAX ? 0 : a->list.to_us;
	if (!text_arg(req, resp, legacy, "name", a->name, &a->has_name) ||
	    !text_arg(req, resp, legacy, "type", a->type, &a->has_type) ||
	    !text_arg(req, resp, legacy, "category", a->category, &a->has_category) ||
	    !text_arg(req, resp, legacy, "verdict", a->verdict, &a->has_verdict) ||
	    !text_arg(req, resp, legacy, "rule", a->rule, &a->has_rule) ||
	    !text_arg(req, resp, legacy, "severity", a->severity, &a->has_severity))
		return false;
	if (a->has_verdict && strcmp(a->verdict, "valid") != 0 &&
	    strcmp(a->verdict, "tolerated") != 0 && strcmp(a->verdict, "invalid") != 0) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
				"verdict must be valid, tolerated or invalid");
		return false;
	}
	return true;
}

static sh_rc message_item(void *arg, const struct hub_security_message *m)
{
	struct rest_page *p = arg;
	if (rest_page_room(p) != SH_OK)
		return SH_E_STATE;
	return rest_page_add(p, hub_security_message_json(m), m->seq);
}

static sh_rc event_item(void *arg, const struct hub_security_event *e)
{
	struct rest_page *p = arg;
	if (rest_page_room(p) != SH_OK)
		return SH_E_STATE;
	return rest_page_add(p, hub_security_event_json(e), e->id);
}

static sh_rc alert_item(void *arg, const struct hub_security_alert *a)
{
	struct rest_page *p = arg;
	if (rest_page_room(p) != SH_OK)
		return SH_E_STATE;
	return rest_page_add(p, hub_security_alert_json(a), a->id);
}

static int list(struct rest_ctx *rc, enum rest_route_id id, const struct rest_request *req,
		struct rest_response *resp, bool legacy)
{
	struct sec_args a;
	if (!args_read(req, resp, legacy, &a))
		return 1;
	struct rest_page p = { .items = cJSON_CreateArray(), .want = a.list.limit };
	if (!p.items) {
		rest_error_code(resp, IOTHUB_SERVER_ERROR, legacy, "out of memory");
		return 1;
	}
	const char *dev = a.list.has_device ? a.list.device_id : NULL;
	const char *mod = a.list.has_module ? a.list.module_id : NULL;
	sh_rc w;
	if (id == ROUTE_SIMHUB_SEC_MESSAGES) {
		struct hub_security_message_query q = {
			.device_id = dev, .module_id = mod,
			.verdict = a.has_verdict ? a.verdict : NULL, .from_us = a.from_us,
			.to_us = a.to_us, .after_seq = a.list.after, .limit = a.list.limit + 1,
		};
		w = hub_security_messages_each(rc->hub, &q, message_item, &p);
		return rest_page_answer(rc, &p, w, "messages", resp, legacy);
	}
	if (id == ROUTE_SIMHUB_SEC_EVENTS) {
		struct hub_security_event_query q = {
			.device_id = dev, .module_id = mod, .name = a.has_name ? a.name : NULL,
			.event_type = a.has_type ? a.type : NULL,
			.category = a.has_category ? a.category : NULL,
			.verdict = a.has_verdict ? a.verdict : NULL, .from_us = a.from_us,
			.to_us = a.to_us, .after_id = a.list.after, .limit = a.list.limit + 1,
		};
		w = hub_security_events_each(rc->hub, &q, event_item, &p);
		return rest_page_answer(rc, &p, w, "events", resp, legacy);
	}
	struct hub_security_alert_query q = {
		.device_id = dev, .rule = a.has_rule ? a.rule : NULL,
		.severity = a.has_severity ? a.severity : NULL, .from_us = a.from_us,
		.to_us = a.to_us, .after_id = a.list.after, .limit = a.list.limit + 1,
	};
	w = hub_security_alerts_each(rc->hub, &q, alert_item, &p);
	return rest_page_answer(rc, &p, w, "alerts", resp, legacy);
}

int rest_security(struct rest_ctx *rc, const struct rest_route *route, const struct rest_target *t,
		  const struct rest_request *req, struct rest_response *resp)
{
	bool legacy = t->legacy_errors;
	struct iothub_err err;
	memset(&err, 0, sizeof err);
	cJSON *out = NULL;
	sh_rc hrc;
	switch (route->id) {
	case ROUTE_SIMHUB_SEC_SUMMARY:
		hrc = hub_security_summary(rc->hub, t->device_id, &out, &err);
		break;
	case ROUTE_SIMHUB_SEC_CONFIG:
		hrc = hub_security_config_json(rc->hub, t->device_id, &out, &err);
		break;
	case ROUTE_SIMHUB_SEC_ENABLE: {
		bool created = false;
		hrc = hub_security_enable(rc->hub, t->device_id, &created, &err);
		if (hrc == SH_OK && (out = cJSON_CreateObject()) != NULL) {
			cJSON_AddStringToObject(out, "deviceId", t->device_id);
			cJSON_AddStringToObject(out, "moduleId", HUB_SECURITY_MODULE_ID);
			cJSON_AddBoolToObject(out, "created", created);
		}
		break;
	}
	default:
		return list(rc, route->id, req, resp, legacy);
	}
	if (hrc != SH_OK) {
		rest_error(resp, &err, legacy);
		return 1;
	}
	if (!out) {
		rest_error_code(resp, IOTHUB_SERVER_ERROR, legacy, "out of memory");
		return 1;
	}
	rest_json(resp, 200, out);
	return 1;
}
