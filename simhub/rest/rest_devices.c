/*
 * rest_devices.c: the registry over REST (iothub-protocol.md §8.2, §8.3, §8.7): devices and
 * modules get, create (PUT without If-Match: 409 when it exists), update (PUT with If-Match),
 * delete and list; registry and service statistics.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/identity_json.h"
#include "rest/rest_internal.h"
#include "store/store.h"

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Copy an optional string field; false (with resp filled) when it is too long. */
static bool take(const cJSON *o, const char *k, char *dst, size_t cap, struct rest_response *resp,
		 bool legacy)
{
	const char *v = jstr(o, k);
	dst[0] = '\0';
	if (!v)
		return true;
	if (strlen(v) >= cap) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy, "%s is too long", k);
		return false;
	}
	strcpy(dst, v);
	return true;
}

/* A Device or Module JSON body into an identity request for the hub. */
bool rest_parse_identity(const cJSON *b, const struct rest_target *t, struct sh_identity *req,
			 struct rest_response *resp)
{
	bool legacy = t->legacy_errors;
	memset(req, 0, sizeof *req);
	if (!cJSON_IsObject(b)) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
				"the body must be a JSON object describing the identity");
		return false;
	}
	strcpy(req->device_id, t->device_id);
	strcpy(req->module_id, t->module_id);
	const char *bid = jstr(b, "deviceId"), *bmid = jstr(b, "moduleId");
	if ((bid && strcmp(bid, t->device_id) != 0) || (bmid && strcmp(bmid, t->module_id) != 0)) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
				"the id in the body differs from the id in the path");
		return false;
	}
	const char *status = jstr(b, "status");
	if (status && strcmp(status, "enabled") != 0 && strcmp(status, "disabled") != 0) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy, "status must be enabled or disabled");
		return false;
	}
	req->status = status && strcmp(status, "disabled") == 0 ? SH_STATUS_DISABLED : SH_STATUS_ENABLED;
	if (!take(b, "statusReason", req->status_reason, sizeof req->status_reason, resp, legacy) ||
	    !take(b, "managedBy", req->managed_by, sizeof req->managed_by, resp, legacy))
		return false;
	const cJSON *auth = cJSON_GetObjectItemCaseSensitive(b, "authentication");
	const char *type = jstr(auth, "type");
	int at = type ? identity_auth_parse(type) : SH_AUTH_SAS;
	if (at < 0) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy, "unknown authentication type '%s'", type);
		return false;
	}
	req->auth_type = (enum sh_auth)at;
	const cJSON *sk = cJSON_GetObjectItemCaseSensitive(auth, "symmetricKey");
	const cJSON *x5 = cJSON_GetObjectItemCaseSensitive(auth, "x509Thumbprint");
	if (!take(sk, "primaryKey", req->primary_key, sizeof req->primary_key, resp, legacy) ||
	    !take(sk, "secondaryKey", req->secondary_key, sizeof req->secondary_key, resp, legacy) ||
	    !take(x5, "primaryThumbprint", req->primary_thumbprint, sizeof req->primary_thumbprint, resp, legacy) ||
	    !take(x5, "secondaryThumbprint", req->secondary_thumbprint, sizeof req->secondary_thumbprint, resp, legacy))
		return false;
	const cJSON *cap = cJSON_GetObjectItemCaseSensitive(b, "capabilities");
	req->iot_edge = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cap, "iotEdge"));
	return true;
}

static void identity_answer(struct rest_response *resp, const struct sh_identity *id)
{
	char etag[32];
	identity_etag(id->etag_counter, etag);
	snprintf(resp->etag, sizeof resp->etag, "%s", etag);
	rest_json(resp, 200, identity_to_json(id));
}

static sh_rc add_json(void *arg, const struct sh_identity *id)
{
	cJSON *j = identity_to_json(id);
	if (!j)
		return SH_E_NOMEM;
	cJSON_AddItemToArray(arg, j);
	return SH_OK;
}

static int statistics(struct rest_ctx *rc, const struct rest_route *route, struct rest_response *resp,
		      bool legacy)
{
	cJSON *o = cJSON_CreateObject();
	if (route->id == ROUTE_STATS_SERVICE) {
		/* Connected identities: devices only, as IoT Hub counts them. */
		cJSON_AddNumberToObject(o, "connectedDeviceCount",
					(double)hub_sessions_connected_devices(rc->reg));
		rest_json(resp, 200, o);
		return 1;
	}
	int64_t total = 0, enabled = 0;
	if (store_identity_count(hub_store(rc->hub), &total, &enabled) != SH_OK) {
		cJSON_Delete(o);
		rest_error_code(resp, IOTHUB_SERVER_ERROR, legacy, "cannot count devices");
		return 1;
	}
	cJSON_AddNumberToObject(o, "totalDeviceCount", (double)total);
	cJSON_AddNumberToObject(o, "enabledDeviceCount", (double)enabled);
	cJSON_AddNumberToObject(o, "disabledDeviceCount", (double)(total - enabled));
	rest_json(resp, 200, o);
	return 1;
}

int rest_devices(struct rest_ctx *rc, const struct rest_route *route, const struct rest_target *t,
		 const struct rest_request *req, struct rest_response *resp)
{
	bool legacy = t->legacy_errors;
	struct iothub_err err;
	struct sh_identity id, req_id;
	if (route->id == ROUTE_STATS_DEVICES || route->id == ROUTE_STATS_SERVICE)
		return statistics(rc, route, resp, legacy);
	if (route->id == ROUTE_DEVICE_LIST || route->id == ROUTE_MODULE_LIST) {
		cJSON *arr = cJSON_CreateArray();
		if (hub_identity_each(rc->hub, route->id == ROUTE_MODULE_LIST ? t->device_id : NULL,
				      add_json, arr, &err) != SH_OK) {
			cJSON_Delete(arr);
			rest_error(resp, &err, legacy);
			return 1;
		}
		rest_json(resp, 200, arr);
		return 1;
	}
	switch (req->method) {
	case REST_GET:
		if (hub_identity_get(rc->hub, t->device_id, t->module_id, &id, &err) != SH_OK)
			rest_error(resp, &err, legacy);
		else
			identity_answer(resp, &id);
		return 1;
	case REST_DELETE:
		if (hub_identity_delete(rc->hub, t->device_id, t->module_id, req->if_match, &err) != SH_OK)
			rest_error(resp, &err, legacy);
		else
			resp->status = 204;
		return 1;
	case REST_PUT: {
		cJSON *b = rest_body_json(req, resp, legacy);
		if (!b)
			return 1;
		bool ok = rest_parse_identity(b, t, &req_id, resp);
		cJSON_Delete(b);
		if (!ok)
			return 1;
		sh_rc hrc = req->if_match ? hub_identity_update(rc->hub, &req_id, req->if_match, &id, &err)
					  : hub_identity_create(rc->hub, &req_id, &id, &err);
		if (hrc != SH_OK)
			rest_error(resp, &err, legacy);
		else
			identity_answer(resp, &id);
		return 1;
	}
	default:
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy, "method not allowed");
		resp->status = 405;
		return 1;
	}
}
