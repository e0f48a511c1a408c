/*
 * twins.c: twin operations of the hub: load the stored document, apply a core/twin operation,
 * store it back within one hub op, and tell a live session about desired changes. The twin
 * rules themselves (merge, versions, metadata, limits) are core/twin's.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/identity_json.h"
#include "core/twin.h"
#include "hub/hub_internal.h"

/* Which twin operation a write performs. */
enum twin_op { OP_DESIRED, OP_TAGS, OP_REPORTED, OP_SERVICE_PATCH, OP_REPLACE };

static void limits(struct sh_hub *hub, struct twin_limits *lim)
{
	twin_limits_init(lim, hub_setting_bool(hub, HUB_SETTING_TWIN_LEGACY_LIMITS, false));
}

/* The identity and its stored twin document (caller frees *twin). */
static sh_rc load(struct sh_hub *hub, const char *device_id, const char *module_id,
		  struct sh_identity *id, cJSON **twin, struct iothub_err *err)
{
	*twin = NULL;
	sh_rc rc = hub_identity_get(hub, device_id, module_id, id, err);
	if (rc != SH_OK)
		return rc;
	char *text = NULL;
	rc = store_twin_get(hub->st, id->device_id, id->module_id, &text);
	if (rc != SH_OK)
		return hub_store_failed(hub, rc, err);
	*twin = cJSON_Parse(text);
	free(text);
	if (!*twin) {
		iothub_err_set(err, IOTHUB_SERVER_ERROR, "stored twin of %s is not valid JSON",
			       device_id);
		return SH_E_IO;
	}
	return SH_OK;
}

static sh_rc save(struct sh_hub *hub, const struct sh_identity *id, const cJSON *twin,
		  struct iothub_err *err)
{
	char *text = cJSON_PrintUnformatted(twin);
	if (!text) {
		iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
		return SH_E_NOMEM;
	}
	sh_rc rc = store_twin_put(hub->st, id->device_id, id->module_id, text, twin_version(twin));
	cJSON_free(text);
	return rc == SH_OK ? SH_OK : hub_store_failed(hub, rc, err);
}

static cJSON *full_view(const struct sh_identity *id, const cJSON *twin)
{
	return identity_twin_view(id, twin_service_view(twin));
}

/* Read a twin and render it with the service view (identity fields too) or the device view. */
static sh_rc read_view(struct sh_hub *hub, const char *device_id, const char *module_id,
		       int device_view, cJSON **out, struct iothub_err *err)
{
	struct sh_identity id;
	cJSON *twin;
	*out = NULL;
	sh_rc rc = load(hub, device_id, module_id, &id, &twin, err);
	if (rc != SH_OK)
		return rc;
	*out = device_view ? twin_device_view(twin) : full_view(&id, twin);
	cJSON_Delete(twin);
	if (!*out) {
		iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
		return SH_E_NOMEM;
	}
	return SH_OK;
}

sh_rc hub_twin_get(struct sh_hub *hub, const char *device_id, const char *module_id, cJSON **out,
		   struct iothub_err *err)
{
	return read_view(hub, device_id, module_id, 0, out, err);
}

sh_rc hub_twin_device_view(struct sh_hub *hub, const char *device_id, const char *module_id,
			   cJSON **out, struct iothub_err *err)
{
	return read_view(hub, device_id, module_id, 1, out, err);
}

/* One twin event: the section written, its patch (copied), and the twin's versions after it. */
static void emit_twin(struct sh_hub *hub, const struct sh_identity *id, const cJSON *twin,
		      int label, const char *section, const cJSON *patch)
{
	cJSON *d = NULL;
	if (hub_events_wanted(hub) && (d = cJSON_CreateObject()) != NULL) {
		cJSON *p = patch ? cJSON_Duplicate(patch, 1) : cJSON_CreateObject();
		cJSON_AddStringToObject(d, "section", section);
		if (p)
			cJSON_AddItemToObject(d, "patch", p);
		cJSON_AddNumberToObject(d, "version", (double)twin_version(twin));
		cJSON_AddNumberToObject(d, "desiredVersion", (double)twin_desired_version(twin));
		cJSON_AddNumberToObject(d, "reportedVersion", (double)twin_reported_version(twin));
	}
	hub_emit(hub, HUB_EV_TWIN, label, id->device_id, id->module_id, d);
}

/*
 * The events of a successful write. A service PATCH may touch tags and desired at once: one
 * event per section, each with its own part of the patch.
 */
static void twin_events(struct sh_hub *hub, const struct sh_identity *id, const cJSON *twin,
			enum twin_op op, const cJSON *body)
{
	switch (op) {
	case OP_DESIRED:
		emit_twin(hub, id, twin, HUB_ML_TWIN_DESIRED, "desired", body);
		break;
	case OP_TAGS:
		emit_twin(hub, id, twin, HUB_ML_TWIN_TAGS, "tags", body);
		break;
	case OP_REPORTED:
		emit_twin(hub, id, twin, HUB_ML_TWIN_REPORTED, "reported", body);
		break;
	case OP_REPLACE:
		emit_twin(hub, id, twin, HUB_ML_TWIN_REPLACE, "replace", body);
		break;
	case OP_SERVICE_PATCH: {
		const cJSON *tags = cJSON_GetObjectItemCaseSensitive(body, "tags");
		const cJSON *props = cJSON_GetObjectItemCaseSensitive(body, "properties");
		const cJSON *desired = cJSON_GetObjectItemCaseSensitive(props, "desired");
		if (tags)
			emit_twin(hub, id, twin, HUB_ML_TWIN_TAGS, "tags", tags);
		if (desired || !tags)
			emit_twin(hub, id, twin, HUB_ML_TWIN_DESIRED, "desired", desired);
		break;
	}
	}
}

/*
 * One twin write: load, check If-Match against the twin etag, apply `op`, store, and on
 * success hand back the service view (out), the new reported $version (version_out) and,
 * after the operation has ended, push the desired delta to a live session.
 */
static sh_rc write_twin(struct sh_hub *hub, const char *device_id, const char *module_id,
			enum twin_op op, const cJSON *body, const char *if_match, cJSON **out,
			int64_t *version_out, struct iothub_err *err)
{
	if (out)
		*out = NULL;
	struct twin_limits lim;
	limits(hub, &lim);
	sh_rc rc = hub_op_begin(hub, err);
	if (rc != SH_OK)
		return rc;
	struct sh_identity id;
	cJSON *twin = NULL, *delta = NULL;
	rc = load(hub, device_id, module_id, &id, &twin, err);
	if (rc == SH_OK && if_match) {
		char etag[16];
		twin_etag(twin, etag);
		if (!hub_etag_matches(if_match, etag)) {
			iothub_err_set(err, IOTHUB_PRECONDITION_FAILED,
				       "twin etag mismatch: If-Match %s, current \"%s\"", if_match, etag);
			rc = SH_E_PRECONDITION;
		}
	}
	if (rc == SH_OK) {
		int64_t now = hub_now_us(hub);
		switch (op) {
		case OP_DESIRED:
			rc = twin_patch_desired(twin, body, now, &lim, &delta, err);
			break;
		case OP_TAGS:
			rc = twin_patch_tags(twin, body, &lim, err);
			break;
		case OP_REPORTED:
			rc = twin_patch_reported(twin, body, now, &lim, version_out, err);
			break;
		case OP_SERVICE_PATCH:
			rc = twin_service_patch(twin, body, now, &lim, &delta, err);
			break;
		case OP_REPLACE:
			rc = twin_replace(twin, body, now, &lim, &delta, err);
			break;
		}
	}
	if (rc == SH_OK)
		rc = save(hub, &id, twin, err);
	if (rc == SH_OK)
		twin_events(hub, &id, twin, op, body);
	rc = hub_op_end(hub, rc, err);
	if (rc == SH_OK && delta && hub->notify.desired_patch)
		hub->notify.desired_patch(hub->notify.ctx, id.device_id, id.module_id, delta);
	if (rc == SH_OK && out) {
		*out = full_view(&id, twin);
		if (!*out) {
			iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
			rc = SH_E_NOMEM;
		}
	}
	cJSON_Delete(delta);
	cJSON_Delete(twin);
	return rc;
}

sh_rc hub_twin_service_patch(struct sh_hub *hub, const char *device_id, const char *module_id,
			     const cJSON *patch, const char *if_match, cJSON **out,
			     struct iothub_err *err)
{
	return write_twin(hub, device_id, module_id, OP_SERVICE_PATCH, patch, if_match, out, NULL, err);
}

sh_rc hub_twin_replace(struct sh_hub *hub, const char *device_id, const char *module_id,
		       const cJSON *twin, const char *if_match, cJSON **out, struct iothub_err *err)
{
	return write_twin(hub, device_id, module_id, OP_REPLACE, twin, if_match, out, NULL, err);
}

sh_rc hub_twin_patch_desired(struct sh_hub *hub, const char *device_id, const char *module_id,
			     const cJSON *patch, cJSON **out, struct iothub_err *err)
{
	return write_twin(hub, device_id, module_id, OP_DESIRED, patch, NULL, out, NULL, err);
}

sh_rc hub_twin_patch_tags(struct sh_hub *hub, const char *device_id, const char *module_id,
			  const cJSON *patch, cJSON **out, struct iothub_err *err)
{
	return write_twin(hub, device_id, module_id, OP_TAGS, patch, NULL, out, NULL, err);
}

sh_rc hub_twin_patch_reported(struct sh_hub *hub, const char *device_id, const char *module_id,
			      const cJSON *patch, int64_t *version_out, struct iothub_err *err)
{
	return write_twin(hub, device_id, module_id, OP_REPORTED, patch, NULL, NULL, version_out, err);
}
