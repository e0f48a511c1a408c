/*
 * methods_log.c: the hub's record of direct-method calls (GET /simhub/v1/methods): one row when
 * a call is accepted, finished once with the device's answer or the hub's error code. It never
 * sends anything to a device and never chooses a call's outcome: the caller reports it.
 */
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
		rc = hub_op_end(hub, rc, err);
	}
	cJSON_free(text);
	return rc;
}
