/*
 * rest_bulk.c: the bulk registry operation POST /devices (iothub-protocol.md §8.2): 1-100
 * ExportImportDevice items, each applied as its own hub operation; a failed item goes to
 * `errors` while the others still apply. Never touches the store directly: only hub_* calls.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "rest/rest_internal.h"

#define BULK_MAX_ITEMS 100

enum bulk_mode {
	BULK_CREATE,
	BULK_CREATE_OR_UPDATE,
	BULK_UPDATE,
	BULK_UPDATE_IF_MATCH,
	BULK_DELETE,
	BULK_DELETE_IF_MATCH,
	BULK_UPDATE_TWIN,
	BULK_UPDATE_TWIN_IF_MATCH,
};

static const struct {
	const char *name;
	enum bulk_mode mode;
} bulk_modes[] = {
	{"create", BULK_CREATE},
	{"createOrUpdate", BULK_CREATE_OR_UPDATE},
	{"update", BULK_UPDATE},
	{"updateIfMatchETag", BULK_UPDATE_IF_MATCH},
	{"delete", BULK_DELETE},
	{"deleteIfMatchETag", BULK_DELETE_IF_MATCH},
	{"updateTwin", BULK_UPDATE_TWIN},
	{"updateTwinIfMatchETag", BULK_UPDATE_TWIN_IF_MATCH},
};

static const char *item_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/*
 * An etag member matched without regard to case. The C# SDK sends `eTag`/`twinETag` (the
 * ExportImportDevice names). The Node service SDK (updateDevices/removeDevices without force)
 * sends the Device object it was given, so its etag arrives as `etag`. IoT Hub binds JSON
 * members without regard to case, as .NET does by default [I], and takes both.
 */
static const char *item_etag(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);   /* cJSON_GetObjectItem ignores case */
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Fill err with a 400004 item error; returns SH_E_INVALID for the caller to return. */
static sh_rc item_invalid(struct iothub_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static sh_rc item_invalid(struct iothub_err *err, const char *fmt, ...)
{
	va_list ap;
	err->code = IOTHUB_ARGUMENT_INVALID;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return SH_E_INVALID;
}

/* Append one DeviceRegistryOperationError to `errors`. */
static void add_error(cJSON *errors, const char *device_id, const char *module_id,
		      const struct iothub_err *err)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "deviceId", device_id);
	if (module_id && module_id[0])
		cJSON_AddStringToObject(e, "moduleId", module_id);
	cJSON_AddNumberToObject(e, "errorCode", (double)err->code);
	cJSON_AddStringToObject(e, "errorStatus", err->message);
	cJSON_AddItemToArray(errors, e);
}

/*
 * The twin part of an item as a service patch {"tags":..,"properties":{"desired":..}}, or NULL
 * when the item carries neither tags nor desired properties. Caller frees.
 */
static cJSON *twin_patch_of(const cJSON *item)
{
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(item, "tags");
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(item, "properties");
	const cJSON *desired = cJSON_GetObjectItemCaseSensitive(props, "desired");
	if (!cJSON_IsObject(tags) && !cJSON_IsObject(desired))
		return NULL;
	cJSON *patch = cJSON_CreateObject();
	if (cJSON_IsObject(tags))
		cJSON_AddItemToObject(patch, "tags", cJSON_Duplicate(tags, 1));
	if (cJSON_IsObject(desired)) {
		cJSON *p = cJSON_AddObjectToObject(patch, "properties");
		cJSON_AddItemToObject(p, "desired", cJSON_Duplicate(desired, 1));
	}
	return patch;
}

/* Apply the item's twin part (if any) with `if_match` (NULL: unconditional). */
static sh_rc apply_twin(struct rest_ctx *rc, const struct rest_target *t, const cJSON *item,
			const char *if_match, struct iothub_err *err)
{
	cJSON *patch = twin_patch_of(item);
	if (!patch)
		return SH_OK;
	cJSON *out = NULL;
	sh_rc hrc = hub_twin_service_patch(rc->hub, t->device_id, t->module_id, patch, if_match, &out, err);
	cJSON_Delete(patch);
	cJSON_Delete(out);
	return hrc;
}

/*
 * Apply one item. Validates the id and mode, then runs the matching hub operation; a create or
 * update also applies the item's tags/desired. Returns SH_OK, or an error with *err filled.
 * The identity parse reuses the single-device PUT parser, whose 400 answer goes to a scratch
 * response that is dropped: the item error carries a short message instead.
 */
static sh_rc apply_item(struct rest_ctx *rc, const cJSON *item, struct rest_target *t,
			struct iothub_err *err)
{
	const char *id = item_str(item, "id"), *mid = item_str(item, "moduleId");
	const char *mode_name = item_str(item, "importMode");
	if (!cJSON_IsObject(item) || !id || !id[0])
		return item_invalid(err, "an item needs a string id");
	if (strlen(id) > SH_ID_MAX || (mid && strlen(mid) > SH_ID_MAX))
		return item_invalid(err, "the id is longer than %d characters",
				      SH_ID_MAX);
	strcpy(t->device_id, id);
	strcpy(t->module_id, mid ? mid : "");
	int mode = -1;
	for (size_t i = 0; mode_name && i < sizeof bulk_modes / sizeof bulk_modes[0]; i++)
		if (strcasecmp(mode_name, bulk_modes[i].name) == 0)
			mode = (int)bulk_modes[i].mode;
	if (mode < 0)
		return item_invalid(err, "unknown importMode '%s'",
				      mode_name ? mode_name : "(none)");
	const char *etag = item_etag(item, "eTag"), *twin_etag = item_etag(item, "twinETag");
	if ((mode == BULK_UPDATE_IF_MATCH || mode == BULK_DELETE_IF_MATCH) && !etag)
		return item_invalid(err, "importMode %s needs an eTag",
				      mode_name);
	if (mode == BULK_UPDATE_TWIN_IF_MATCH && !twin_etag)
		return item_invalid(err, "importMode %s needs a twinETag",
				      mode_name);

	switch ((enum bulk_mode)mode) {
	case BULK_DELETE:
	case BULK_DELETE_IF_MATCH:
		return hub_identity_delete(rc->hub, t->device_id, t->module_id,
					   mode == BULK_DELETE ? NULL : etag, err);
	case BULK_UPDATE_TWIN:
	case BULK_UPDATE_TWIN_IF_MATCH: {
		cJSON *patch = twin_patch_of(item);
		if (!patch)
			return item_invalid(err, "importMode %s needs tags or properties.desired",
					    mode_name);
		cJSON_Delete(patch);
		return apply_twin(rc, t, item, mode == BULK_UPDATE_TWIN ? NULL : twin_etag, err);
	}
	default:
		break;
	}
	struct sh_identity req, out;
	struct rest_response scratch;
	memset(&scratch, 0, sizeof scratch);
	bool ok = rest_parse_identity(item, t, &req, &scratch);
	rest_response_free(&scratch);
	if (!ok)
		return item_invalid(err, "invalid device description");
	sh_rc hrc;
	if (mode == BULK_CREATE) {
		hrc = hub_identity_create(rc->hub, &req, &out, err);
	} else if (mode == BULK_CREATE_OR_UPDATE) {
		hrc = hub_identity_create(rc->hub, &req, &out, err);
		if (hrc != SH_OK && (err->code == IOTHUB_DEVICE_ALREADY_EXISTS ||
				     err->code == IOTHUB_MODULE_ALREADY_EXISTS))
			hrc = hub_identity_update(rc->hub, &req, NULL, &out, err);
	} else {
		hrc = hub_identity_update(rc->hub, &req, mode == BULK_UPDATE ? NULL : etag, &out, err);
	}
	if (hrc != SH_OK)
		return hrc;
	return apply_twin(rc, t, item, NULL, err);
}

int rest_bulk(struct rest_ctx *rc, const struct rest_target *t, const struct rest_request *req,
	      struct rest_response *resp)
{
	bool legacy = t->legacy_errors;
	cJSON *body = rest_body_json(req, resp, legacy);
	if (!body)
		return 1;
	int n = cJSON_IsArray(body) ? cJSON_GetArraySize(body) : -1;
	if (n < 1 || n > BULK_MAX_ITEMS) {
		cJSON_Delete(body);
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
				"the body must be an array of 1 to %d devices", BULK_MAX_ITEMS);
		return 1;
	}
	cJSON *answer = cJSON_CreateObject();
	cJSON *errors = cJSON_CreateArray(), *warnings = cJSON_CreateArray();
	const cJSON *item;
	cJSON_ArrayForEach(item, body) {
		struct rest_target it;
		struct iothub_err err;
		memset(&it, 0, sizeof it);
		it.legacy_errors = legacy;
		if (apply_item(rc, item, &it, &err) != SH_OK)
			add_error(errors, it.device_id, it.module_id, &err);
	}
	cJSON_Delete(body);
	cJSON_AddBoolToObject(answer, "isSuccessful", cJSON_GetArraySize(errors) == 0);
	cJSON_AddItemToObject(answer, "errors", errors);
	cJSON_AddItemToObject(answer, "warnings", warnings);
	rest_json(resp, 200, answer);
	return 1;
}
