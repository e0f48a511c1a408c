/*
 * registry.c: the identity registry: devices and modules with IoT Hub's rules (ids, status,
 * generationId, etags, SAS keys, X.509 thumbprints), and their connection strings. Each
 * operation is one hub op (all or nothing). Twins are created and removed with identities.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/base64.h"
#include "core/connstr.h"
#include "core/identity.h"
#include "core/identity_json.h"
#include "core/twin.h"
#include "hub/hub_internal.h"

static const char *kind(const char *module_id)
{
	return module_id && module_id[0] ? "module" : "device";
}

/*
 * 404 for a missing identity: 404001 when the device itself is missing (also when a module was
 * asked for), 404010 when the device exists but the module does not.
 */
static sh_rc not_found(struct sh_hub *hub, const char *device_id, const char *module_id,
		       struct iothub_err *err)
{
	struct sh_identity dev;
	if (module_id && module_id[0] && store_identity_get(hub->st, device_id, "", &dev) == SH_OK)
		iothub_err_set(err, IOTHUB_MODULE_NOT_FOUND, "module %s not found on device %s",
			       module_id, device_id);
	else
		iothub_err_set(err, IOTHUB_DEVICE_NOT_FOUND, "device %s not found", device_id);
	return SH_E_NOTFOUND;
}

static sh_rc check_id(const char *id, const char *what, struct iothub_err *err)
{
	if (identity_validate_id(id, strlen(id)) != SH_OK) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID,
			       "%s '%.*s' is invalid: 1-128 characters of letters, digits and "
			       "- . %% _ * ? ! ( ) , : = @ $ '", what, 160, id);
		return SH_E_INVALID;
	}
	return SH_OK;
}

/* A thumbprint is 40 (SHA-1) or 64 (SHA-256) hex digits, or empty. */
static sh_rc check_thumbprint(const char *t, const char *what, struct iothub_err *err)
{
	size_t n = strlen(t);
	int ok = n == 0 || n == 40 || n == 64;
	for (size_t i = 0; ok && i < n; i++) {
		char c = t[i];
		ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
	}
	if (!ok) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID,
			       "%s must be 40 or 64 hex digits (SHA-1 or SHA-256)", what);
		return SH_E_INVALID;
	}
	return SH_OK;
}

/*
 * Validate the caller-settable fields of `req` and copy them into `dst`, generating SAS keys
 * that are empty: from a create (keep = NULL) or keeping the stored ones on an update.
 */
static sh_rc take_settable(struct sh_hub *hub, const struct sh_identity *req,
			   const struct sh_identity *keep, struct sh_identity *dst,
			   struct iothub_err *err)
{
	if (req->status != SH_STATUS_ENABLED && req->status != SH_STATUS_DISABLED) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID, "status must be enabled or disabled");
		return SH_E_INVALID;
	}
	if (req->auth_type < SH_AUTH_SAS || req->auth_type > SH_AUTH_NONE) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID, "unknown authentication type");
		return SH_E_INVALID;
	}
	sh_rc rc = SH_OK;
	if (req->auth_type == SH_AUTH_SAS) {
		rc = hub_check_key(req->primary_key, "primaryKey", 1, err);
		if (rc == SH_OK)
			rc = hub_check_key(req->secondary_key, "secondaryKey", 1, err);
	}
	if (rc == SH_OK)
		rc = check_thumbprint(req->primary_thumbprint, "primaryThumbprint", err);
	if (rc == SH_OK)
		rc = check_thumbprint(req->secondary_thumbprint, "secondaryThumbprint", err);
	if (rc != SH_OK)
		return rc;
	if (req->auth_type == SH_AUTH_SELF_SIGNED && req->primary_thumbprint[0] == '\0') {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID,
			       "selfSigned authentication needs a primaryThumbprint");
		return SH_E_INVALID;
	}
	if (dst->status != req->status)
		dst->status_updated_us = hub_now_us(hub);
	dst->status = req->status;
	memcpy(dst->status_reason, req->status_reason, sizeof dst->status_reason);
	dst->auth_type = req->auth_type;
	dst->primary_key[0] = dst->secondary_key[0] = '\0';
	if (req->auth_type == SH_AUTH_SAS) {
		if (req->primary_key[0])
			memcpy(dst->primary_key, req->primary_key, sizeof dst->primary_key);
		else if (keep && keep->primary_key[0])
			memcpy(dst->primary_key, keep->primary_key, sizeof dst->primary_key);
		else
			hub_random_key(hub, dst->primary_key);
		if (req->secondary_key[0])
			memcpy(dst->secondary_key, req->secondary_key, sizeof dst->secondary_key);
		else if (keep && keep->secondary_key[0])
			memcpy(dst->secondary_key, keep->secondary_key, sizeof dst->secondary_key);
		else
			hub_random_key(hub, dst->secondary_key);
	}
	memcpy(dst->primary_thumbprint, req->primary_thumbprint, sizeof dst->primary_thumbprint);
	memcpy(dst->secondary_thumbprint, req->secondary_thumbprint, sizeof dst->secondary_thumbprint);
	dst->iot_edge = req->module_id[0] ? false : req->iot_edge;
	memcpy(dst->managed_by, req->managed_by, sizeof dst->managed_by);
	return SH_OK;
}

/*
 * generationId: IoT Hub shows an 18-digit decimal that changes when an id is deleted and
 * re-created. Ours is the creation time in microseconds followed by two random digits, so
 * it is unique per creation and sorts by age.
 */
static void new_generation_id(struct sh_hub *hub, char out[SH_GENID_MAX + 1])
{
	uint8_t r;
	hub->env.random(hub->env.ctx, &r, 1);
	snprintf(out, SH_GENID_MAX + 1, "%016" PRId64 "%02u", hub_now_us(hub), (unsigned)(r % 100));
}

static sh_rc create_twin(struct sh_hub *hub, const struct sh_identity *id, struct iothub_err *err)
{
	cJSON *twin = twin_new(hub_now_us(hub));
	char *text = twin ? cJSON_PrintUnformatted(twin) : NULL;
	sh_rc rc;
	if (!text) {
		iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
		rc = SH_E_NOMEM;
	} else {
		rc = store_twin_put(hub->st, id->device_id, id->module_id, text, twin_version(twin));
		if (rc != SH_OK)
			hub_store_failed(hub, rc, err);
	}
	cJSON_free(text);
	cJSON_Delete(twin);
	return rc;
}

static sh_rc do_create(struct sh_hub *hub, const struct sh_identity *req, struct sh_identity *out,
		       struct iothub_err *err)
{
	const char *mod = req->module_id;
	sh_rc rc = check_id(req->device_id, "deviceId", err);
	if (rc == SH_OK && mod[0])
		rc = check_id(mod, "moduleId", err);
	if (rc != SH_OK)
		return rc;

	struct sh_identity existing;
	if (mod[0]) {
		rc = store_identity_get(hub->st, req->device_id, "", &existing);
		if (rc == SH_E_NOTFOUND)
			return not_found(hub, req->device_id, NULL, err);
		if (rc != SH_OK)
			return hub_store_failed(hub, rc, err);
	}
	rc = store_identity_get(hub->st, req->device_id, mod, &existing);
	if (rc == SH_OK) {
		if (mod[0])
			iothub_err_set(err, IOTHUB_MODULE_ALREADY_EXISTS,
				       "module %s already exists on device %s", mod, req->device_id);
		else
			iothub_err_set(err, IOTHUB_DEVICE_ALREADY_EXISTS, "device %s already exists",
				       req->device_id);
		return SH_E_EXISTS;
	}
	if (rc != SH_E_NOTFOUND)
		return hub_store_failed(hub, rc, err);

	struct sh_identity id;
	memset(&id, 0, sizeof id);
	memcpy(id.device_id, req->device_id, sizeof id.device_id);
	memcpy(id.module_id, mod, sizeof id.module_id);
	id.status = req->status;
	rc = take_settable(hub, req, NULL, &id, err);
	if (rc != SH_OK)
		return rc;
	new_generation_id(hub, id.generation_id);
	id.etag_counter = 1;
	id.created_us = hub_now_us(hub);
	rc = store_identity_insert(hub->st, &id);
	if (rc != SH_OK)
		return hub_store_failed(hub, rc, err);
	rc = create_twin(hub, &id, err);
	if (rc == SH_OK && out)
		*out = id;
	return rc;
}

sh_rc hub_identity_create(struct sh_hub *hub, const struct sh_identity *req,
			  struct sh_identity *out, struct iothub_err *err)
{
	sh_rc rc = hub_op_begin(hub, err);
	if (rc != SH_OK)
		return rc;
	rc = do_create(hub, req, out, err);
	if (rc == SH_OK && !req->module_id[0])
		rc = hub_security_on_device_created(hub, req->device_id, err);
	return hub_op_end(hub, rc, err);
}

static sh_rc get_checked(struct sh_hub *hub, const char *device_id, const char *module_id,
			 const char *if_match, struct sh_identity *cur, struct iothub_err *err)
{
	sh_rc rc = store_identity_get(hub->st, device_id, module_id ? module_id : "", cur);
	if (rc == SH_E_NOTFOUND)
		return not_found(hub, device_id, module_id, err);
	if (rc != SH_OK)
		return hub_store_failed(hub, rc, err);
	char etag[32];
	identity_etag(cur->etag_counter, etag);
	if (!hub_etag_matches(if_match, etag)) {
		iothub_err_set(err, IOTHUB_PRECONDITION_FAILED,
			       "%s etag mismatch: If-Match %s, current \"%s\"", kind(module_id),
			       if_match, etag);
		return SH_E_PRECONDITION;
	}
	return SH_OK;
}

sh_rc hub_identity_update(struct sh_hub *hub, const struct sh_identity *req, const char *if_match,
			  struct sh_identity *out, struct iothub_err *err)
{
	sh_rc rc = hub_op_begin(hub, err);
	if (rc != SH_OK)
		return rc;
	struct sh_identity cur, next;
	rc = get_checked(hub, req->device_id, req->module_id, if_match, &cur, err);
	if (rc == SH_OK) {
		next = cur;
		rc = take_settable(hub, req, &cur, &next, err);
	}
	if (rc == SH_OK) {
		next.etag_counter = cur.etag_counter + 1;
		rc = store_identity_update(hub->st, &next);
		if (rc != SH_OK)
			hub_store_failed(hub, rc, err);
	}
	if (rc == SH_OK && out)
		*out = next;
	return hub_op_end(hub, rc, err);
}

sh_rc hub_identity_get(struct sh_hub *hub, const char *device_id, const char *module_id,
		       struct sh_identity *out, struct iothub_err *err)
{
	sh_rc rc = store_identity_get(hub->st, device_id, module_id ? module_id : "", out);
	if (rc == SH_E_NOTFOUND)
		return not_found(hub, device_id, module_id, err);
	if (rc != SH_OK)
		return hub_store_failed(hub, rc, err);
	return SH_OK;
}

sh_rc hub_identity_delete(struct sh_hub *hub, const char *device_id, const char *module_id,
			  const char *if_match, struct iothub_err *err)
{
	sh_rc rc = hub_op_begin(hub, err);
	if (rc != SH_OK)
		return rc;
	struct sh_identity cur;
	rc = get_checked(hub, device_id, module_id, if_match, &cur, err);
	if (rc == SH_OK) {
		rc = store_identity_delete(hub->st, device_id, module_id ? module_id : "");
		if (rc != SH_OK)
			hub_store_failed(hub, rc, err);
	}
	return hub_op_end(hub, rc, err);
}

sh_rc hub_identity_set_status(struct sh_hub *hub, const char *device_id, const char *module_id,
			      enum sh_status status, const char *reason, struct sh_identity *out,
			      struct iothub_err *err)
{
	struct sh_identity cur;
	sh_rc rc = hub_identity_get(hub, device_id, module_id, &cur, err);
	if (rc != SH_OK)
		return rc;
	if (reason && strlen(reason) > SH_REASON_MAX) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID, "statusReason is over %d characters",
			       SH_REASON_MAX);
		return SH_E_INVALID;
	}
	struct sh_identity req = cur;
	req.status = status;
	snprintf(req.status_reason, sizeof req.status_reason, "%s", reason ? reason : "");
	return hub_identity_update(hub, &req, NULL, out, err);
}

sh_rc hub_identity_each(struct sh_hub *hub, const char *device_id,
			sh_rc (*fn)(void *arg, const struct sh_identity *id), void *arg,
			struct iothub_err *err)
{
	if (device_id) {
		struct sh_identity dev;
		sh_rc rc = hub_identity_get(hub, device_id, NULL, &dev, err);
		if (rc != SH_OK)
			return rc;
	}
	sh_rc rc = store_identity_each(hub->st, device_id, fn, arg);
	if (rc != SH_OK && rc != SH_E_STATE)
		hub_store_failed(hub, rc, err);
	return rc;
}

/* --- connection strings ------------------------------------------------------------------------ */

/* Hand a built connection string back as heap text. */
static sh_rc dup_out(const char *buf, char **out, struct iothub_err *err)
{
	*out = strdup(buf);
	if (!*out) {
		iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
		return SH_E_NOMEM;
	}
	return SH_OK;
}

sh_rc hub_connection_string(struct sh_hub *hub, const char *device_id, const char *module_id,
			    const char *gateway, char **out, struct iothub_err *err)
{
	*out = NULL;
	struct sh_identity id;
	sh_rc rc = hub_identity_get(hub, device_id, module_id, &id, err);
	if (rc != SH_OK)
		return rc;
	if (id.auth_type != SH_AUTH_SAS) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID,
			       "%s %s%s%s does not use SAS keys: it has no key connection string",
			       kind(module_id), device_id, id.module_id[0] ? "/" : "", id.module_id);
		return SH_E_INVALID;
	}
	char buf[1024];
	size_t len = 0;
	const char *gw = gateway && gateway[0] ? gateway : NULL;
	rc = id.module_id[0]
		? connstr_build_module(hub->hostname, id.device_id, id.module_id, id.primary_key, gw,
				       buf, sizeof buf, &len)
		: connstr_build_device(hub->hostname, id.device_id, id.primary_key, gw, buf, sizeof buf,
				       &len);
	if (rc != SH_OK) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID, "cannot build a connection string (%s)",
			       sh_rc_str(rc));
		return rc;
	}
	return dup_out(buf, out, err);
}

sh_rc hub_policy_connection_string(struct sh_hub *hub, const char *policy, char **out,
				   struct iothub_err *err)
{
	*out = NULL;
	struct sh_policy p;
	sh_rc rc = hub_policy_get(hub, policy, &p, err);
	if (rc != SH_OK)
		return rc;
	char buf[1024];
	size_t len = 0;
	rc = connstr_build_service(hub->hostname, p.name, p.primary_key, NULL, buf, sizeof buf, &len);
	if (rc != SH_OK) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID, "cannot build a connection string (%s)",
			       sh_rc_str(rc));
		return rc;
	}
	return dup_out(buf, out, err);
}
