/*
 * identity_json.c: Device, Module and twin identity fields as IoT Hub's service API writes
 * them. Field names and spellings follow iothub-protocol.md §8.2/§4.1 (the identity says
 * statusUpdatedTime, the twin statusUpdateTime).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/base64.h"
#include "core/identity_json.h"
#include "core/isotime.h"

const char *identity_auth_str(enum sh_auth a)
{
	switch (a) {
	case SH_AUTH_SAS: return "sas";
	case SH_AUTH_SELF_SIGNED: return "selfSigned";
	case SH_AUTH_CA: return "certificateAuthority";
	case SH_AUTH_NONE: return "none";
	}
	return "none";
}

int identity_auth_parse(const char *s)
{
	if (strcmp(s, "sas") == 0)
		return SH_AUTH_SAS;
	if (strcmp(s, "selfSigned") == 0)
		return SH_AUTH_SELF_SIGNED;
	if (strcmp(s, "certificateAuthority") == 0)
		return SH_AUTH_CA;
	if (strcmp(s, "none") == 0)
		return SH_AUTH_NONE;
	return -1;
}

void identity_etag(int64_t counter, char out[32])
{
	char dec[24];
	int n = snprintf(dec, sizeof dec, "%" PRId64, counter);
	base64_encode((const uint8_t *)dec, (size_t)n, out, 32, NULL);
}

static cJSON *str_or_null(const char *s)
{
	return s[0] ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static void add_time(cJSON *o, const char *name, int64_t us)
{
	char buf[40];
	isotime_format(us, buf);
	cJSON_AddStringToObject(o, name, buf);
}

static cJSON *thumbprints(const struct sh_identity *id)
{
	cJSON *t = cJSON_CreateObject();
	if (t) {
		cJSON_AddItemToObject(t, "primaryThumbprint", str_or_null(id->primary_thumbprint));
		cJSON_AddItemToObject(t, "secondaryThumbprint", str_or_null(id->secondary_thumbprint));
	}
	return t;
}

cJSON *identity_to_json(const struct sh_identity *id)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	char etag[32];
	identity_etag(id->etag_counter, etag);
	int module = id->module_id[0] != '\0';
	if (module) {
		cJSON_AddStringToObject(o, "moduleId", id->module_id);
		cJSON_AddItemToObject(o, "managedBy", str_or_null(id->managed_by));
	}
	cJSON_AddStringToObject(o, "deviceId", id->device_id);
	cJSON_AddStringToObject(o, "generationId", id->generation_id);
	cJSON_AddStringToObject(o, "etag", etag);
	cJSON_AddStringToObject(o, "connectionState", id->connected ? "Connected" : "Disconnected");
	if (!module) {
		cJSON_AddStringToObject(o, "status",
					id->status == SH_STATUS_ENABLED ? "enabled" : "disabled");
		cJSON_AddItemToObject(o, "statusReason", str_or_null(id->status_reason));
	}
	add_time(o, "connectionStateUpdatedTime", id->connection_state_updated_us);
	if (!module)
		add_time(o, "statusUpdatedTime", id->status_updated_us);
	add_time(o, "lastActivityTime", id->last_activity_us);
	cJSON_AddNumberToObject(o, "cloudToDeviceMessageCount", (double)id->c2d_count);

	cJSON *auth = cJSON_AddObjectToObject(o, "authentication");
	if (auth) {
		cJSON *sk = cJSON_AddObjectToObject(auth, "symmetricKey");
		if (sk) {
			cJSON_AddItemToObject(sk, "primaryKey", str_or_null(id->primary_key));
			cJSON_AddItemToObject(sk, "secondaryKey", str_or_null(id->secondary_key));
		}
		cJSON_AddItemToObject(auth, "x509Thumbprint", thumbprints(id));
		cJSON_AddStringToObject(auth, "type", identity_auth_str(id->auth_type));
	}
	if (!module) {
		cJSON *cap = cJSON_AddObjectToObject(o, "capabilities");
		if (cap)
			cJSON_AddBoolToObject(cap, "iotEdge", id->iot_edge);
	}
	return o;
}

cJSON *identity_twin_view(const struct sh_identity *id, cJSON *view)
{
	cJSON *o = cJSON_CreateObject();
	if (!o) {
		cJSON_Delete(view);
		return NULL;
	}
	char etag[32], t1[40], t2[40];
	identity_etag(id->etag_counter, etag);
	isotime_format(id->status_updated_us, t1);
	isotime_format(id->last_activity_us, t2);
	cJSON_AddStringToObject(o, "deviceId", id->device_id);
	if (id->module_id[0])
		cJSON_AddStringToObject(o, "moduleId", id->module_id);
	cJSON_AddStringToObject(o, "deviceEtag", etag);
	cJSON_AddStringToObject(o, "status", id->status == SH_STATUS_ENABLED ? "enabled" : "disabled");
	cJSON_AddItemToObject(o, "statusReason", str_or_null(id->status_reason));
	cJSON_AddStringToObject(o, "statusUpdateTime", t1);
	cJSON_AddStringToObject(o, "connectionState", id->connected ? "Connected" : "Disconnected");
	cJSON_AddStringToObject(o, "lastActivityTime", t2);
	cJSON_AddNumberToObject(o, "cloudToDeviceMessageCount", (double)id->c2d_count);
	cJSON_AddStringToObject(o, "authenticationType", identity_auth_str(id->auth_type));
	cJSON_AddItemToObject(o, "x509Thumbprint", thumbprints(id));
	cJSON_AddStringToObject(o, "modelId", "");
	if (!id->module_id[0]) {
		cJSON *cap = cJSON_AddObjectToObject(o, "capabilities");
		if (cap)
			cJSON_AddBoolToObject(cap, "iotEdge", id->iot_edge);
	}
	/* Then the twin's own items (etag, version, tags, properties), moved over. */
	while (view && view->child) {
		cJSON *item = cJSON_DetachItemViaPointer(view, view->child);
		cJSON_AddItemToObject(o, item->string, item);
	}
	cJSON_Delete(view);
	return o;
}
