/*
 * methods_log.c: the hub's record of direct-method calls (GET /simhub/v1/methods): one row when
 * a call is accepted, finished once with the device's answer or the hub's error code. It never
 * sends anything to a device and never chooses a call's outcome: the caller reports it.
 */
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "hub/hub_internal.h"

sh_rc hub_method_log_begin(struct sh_hub *hub, const char *device_id, const char *module_id,
			   const char *method, const cJSON *payload, int timeout_s,
			   int connect_timeout_s, int64_t *id_out, struct iothub_err *err)
{
	char *text = payload ? cJSON_PrintUnformatted(payload) : NULL;
	if (payload && !text) {
		iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
		return SH_E_NOMEM;
	}
	sh_rc rc = hub_op_begin(hub, err);
	if (rc == SH_OK) {
		rc = store_method_call_begin(hub->st, device_id, module_id, method, text,
					     hub_now_us(hub), (int64_t)timeout_s * 1000000,
					     (int64_t)connect_timeout_s * 1000000, id_out);
		if (rc != SH_OK)
			hub_store_failed(hub, rc, err);
		rc = hub_op_end(hub, rc, err);
	}
	cJSON_free(text);
	return rc;
}

/* Which stored state an IoT Hub error code means for a method call. */
static enum sh_method_state state_of(enum iothub_error code)
{
	switch (code) {
	case IOTHUB_DEVICE_NOT_ONLINE: return SH_METHOD_OFFLINE;
	case IOTHUB_GATEWAY_TIMEOUT: return SH_METHOD_TIMEOUT;
	default: return SH_METHOD_FAILED;
	}
}

/* What the method event needs from the finished record (read back by its id). */
struct method_ev {
	int64_t id;
	cJSON *data;
	char device_id[SH_ID_MAX + 1], module_id[SH_ID_MAX + 1];
};

static sh_rc method_ev_row(void *arg, const struct sh_method_call_row *row)
{
	struct method_ev *m = arg;
	if (row->id != m->id)
		return SH_E_NOTFOUND;
	snprintf(m->device_id, sizeof m->device_id, "%s", row->device_id);
	snprintf(m->module_id, sizeof m->module_id, "%s", row->module_id);
	cJSON *d = cJSON_CreateObject();
	if (!d)
		return SH_E_NOMEM;
	cJSON_AddNumberToObject(d, "callId", (double)row->id);
	cJSON_AddStringToObject(d, "methodName", row->method_name);
	cJSON_AddStringToObject(d, "outcome", row->state);
	if (row->has_status)
		cJSON_AddNumberToObject(d, "status", row->status);
	if (row->error_code)
		cJSON_AddNumberToObject(d, "errorCode", row->error_code);
	cJSON *req = row->payload ? cJSON_Parse(row->payload) : NULL;
	cJSON_AddItemToObject(d, "payload", req ? req : cJSON_CreateNull());
	cJSON *res = row->result ? cJSON_Parse(row->result) : NULL;
	if (row->has_status)
		cJSON_AddItemToObject(d, "result", res ? res : cJSON_CreateNull());
	else
		cJSON_Delete(res);
	cJSON_AddNumberToObject(d, "durationMs",
				(double)((row->completed_us - row->invoked_us) / 1000));
	m->data = d;
	return SH_OK;
}

/* The method event of finished record `id` (counted even when nobody listens). */
static void emit_method(struct sh_hub *hub, int64_t id, int label)
{
	struct method_ev m = { .id = id };
	if (hub_events_wanted(hub)) {
		struct sh_method_call_query q = {
			.from_us = INT64_MIN, .to_us = INT64_MAX, .after_id = id - 1, .limit = 1,
		};
		if (store_method_call_query(hub->st, &q, method_ev_row, &m) != SH_OK) {
			cJSON_Delete(m.data);
			m.data = NULL;
		}
	}
	hub_emit(hub, HUB_EV_METHOD, label, m.data ? m.device_id : NULL,
		 m.data ? m.module_id : NULL, m.data);
}

static int method_label(const struct iothub_err *outcome)
{
	if (!outcome)
		return HUB_ML_METHOD_COMPLETED;
	switch (outcome->code) {
	case IOTHUB_DEVICE_NOT_ONLINE: return HUB_ML_METHOD_OFFLINE;
	case IOTHUB_GATEWAY_TIMEOUT: return HUB_ML_METHOD_TIMEOUT;
	default: return HUB_ML_METHOD_FAILED;
	}
}

sh_rc hub_method_log_finish(struct sh_hub *hub, int64_t id, int status, const cJSON *payload,
			    const struct iothub_err *outcome, struct iothub_err *err)
{
	char *text = !outcome && payload ? cJSON_PrintUnformatted(payload) : NULL;
	if (!outcome && payload && !text) {
		iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
		return SH_E_NOMEM;
	}
	sh_rc rc = hub_op_begin(hub, err);
	if (rc == SH_OK) {
		rc = store_method_call_finish(hub->st, id,
					      outcome ? state_of(outcome->code) : SH_METHOD_COMPLETED,
					      status, text, outcome ? (int)outcome->code : 0,
					      hub_now_us(hub));
		if (rc == SH_E_NOTFOUND)
			iothub_err_set(err, IOTHUB_SERVER_ERROR,
				       "method call record %lld is unknown or already finished",
				       (long long)id);
		else if (rc != SH_OK)
			hub_store_failed(hub, rc, err);
		else
			emit_method(hub, id, method_label(outcome));
		rc = hub_op_end(hub, rc, err);
	}
	cJSON_free(text);
	return rc;
}
