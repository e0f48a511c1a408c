/*
 * fixtures.c: applying parsed fixtures (core/fixture) to the hub in one operation: settings,
 * policies, identities and twin sections, all or nothing. Idempotent: what already matches
 * the fixture is left untouched, so loading a file twice changes nothing the second time
 * (no etag or version moves).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/fixture.h"
#include "hub/hub_internal.h"

/*
 * The merge patch that turns `from` into `to` (both objects): keys only in `from` become null,
 * keys whose values differ take `to`'s value (objects on both sides recurse). An empty object
 * means nothing differs. Caller frees; NULL on no memory.
 */
static cJSON *diff_patch(const cJSON *from, const cJSON *to)
{
	cJSON *p = cJSON_CreateObject();
	if (!p)
		return NULL;
	const cJSON *f;
	cJSON_ArrayForEach(f, from) {
		if (f->string[0] == '$')
			continue;
		if (!cJSON_GetObjectItemCaseSensitive(to, f->string))
			cJSON_AddItemToObject(p, f->string, cJSON_CreateNull());
	}
	const cJSON *t;
	cJSON_ArrayForEach(t, to) {
		const cJSON *cur = cJSON_GetObjectItemCaseSensitive(from, t->string);
		if (cur && cJSON_IsObject(cur) && cJSON_IsObject(t)) {
			cJSON *sub = diff_patch(cur, t);
			if (sub && sub->child)
				cJSON_AddItemToObject(p, t->string, sub);
			else
				cJSON_Delete(sub);
		} else if (!cur || !cJSON_Compare(cur, t, 1)) {
			cJSON_AddItemToObject(p, t->string, cJSON_Duplicate(t, 1));
		}
	}
	return p;
}

/* The identity fields a fixture sets, compared with the stored identity. */
static int identity_differs(const struct sh_identity *cur, const struct sh_identity *fx)
{
	return cur->status != fx->status || strcmp(cur->status_reason, fx->status_reason) != 0 ||
	       cur->auth_type != fx->auth_type ||
	       (fx->primary_key[0] && strcmp(cur->primary_key, fx->primary_key) != 0) ||
	       (fx->secondary_key[0] && strcmp(cur->secondary_key, fx->secondary_key) != 0) ||
	       strcmp(cur->primary_thumbprint, fx->primary_thumbprint) != 0 ||
	       strcmp(cur->secondary_thumbprint, fx->secondary_thumbprint) != 0 ||
	       cur->iot_edge != fx->iot_edge || strcmp(cur->managed_by, fx->managed_by) != 0;
}

/* Prefix err->message with "FILE: PATH: " so the user sees where the fault is. */
static void locate(struct iothub_err *err, const char *file, const char *path)
{
	if (!err)
		return;
	char msg[sizeof err->message];
	snprintf(msg, sizeof msg, "%s", err->message);
	snprintf(err->message, sizeof err->message, "%s: %s: %s", file, path, msg);
}

/* Bring one twin section to the fixture's content with a minimal patch (none if equal). */
static sh_rc apply_section(struct sh_hub *hub, const struct sh_identity *id, const char *section,
			   const cJSON *want, const cJSON *current, struct iothub_err *err)
{
	if (!want)
		return SH_OK;
	cJSON *patch = diff_patch(current, want);
	if (!patch)
		return SH_E_NOMEM;
	sh_rc rc = SH_OK;
	if (patch->child) {
		if (strcmp(section, "tags") == 0)
			rc = hub_twin_patch_tags(hub, id->device_id, id->module_id, patch, NULL, err);
		else if (strcmp(section, "desired") == 0)
			rc = hub_twin_patch_desired(hub, id->device_id, id->module_id, patch, NULL, err);
		else
			rc = hub_twin_patch_reported(hub, id->device_id, id->module_id, patch, NULL, err);
	}
	cJSON_Delete(patch);
	return rc;
}

static sh_rc apply_twin(struct sh_hub *hub, const struct fixture_identity *fi, const char *file,
			struct iothub_err *err)
{
	const struct fixture_twin *t = &fi->twin;
	if (!t->tags && !t->desired && !t->reported)
		return SH_OK;
	cJSON *view = NULL;
	sh_rc rc = hub_twin_get(hub, fi->row.device_id, fi->row.module_id, &view, err);
	if (rc != SH_OK)
		return rc;
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(view, "properties");
	const cJSON *empty = NULL;
	cJSON *none = cJSON_CreateObject();
	empty = none;
	const cJSON *cur_tags = cJSON_GetObjectItemCaseSensitive(view, "tags");
	const cJSON *cur_des = cJSON_GetObjectItemCaseSensitive(props, "desired");
	const cJSON *cur_rep = cJSON_GetObjectItemCaseSensitive(props, "reported");
	char path[FIXTURE_PATH_MAX + 32];
	snprintf(path, sizeof path, "%s.twin.tags", fi->path);
	rc = apply_section(hub, &fi->row, "tags", t->tags, cur_tags ? cur_tags : empty, err);
	if (rc == SH_OK) {
		snprintf(path, sizeof path, "%s.twin.desired", fi->path);
		rc = apply_section(hub, &fi->row, "desired", t->desired, cur_des ? cur_des : empty, err);
	}
	if (rc == SH_OK) {
		snprintf(path, sizeof path, "%s.twin.reported", fi->path);
		rc = apply_section(hub, &fi->row, "reported", t->reported, cur_rep ? cur_rep : empty, err);
	}
	if (rc != SH_OK)
		locate(err, file, path);
	cJSON_Delete(none);
	cJSON_Delete(view);
	return rc;
}

static sh_rc apply_identity(struct sh_hub *hub, const struct fixture_identity *fi, const char *file,
			    struct iothub_err *err)
{
	struct sh_identity cur;
	sh_rc rc = store_identity_get(hub->st, fi->row.device_id, fi->row.module_id, &cur);
	if (rc == SH_E_NOTFOUND)
		rc = hub_identity_create(hub, &fi->row, NULL, err);
	else if (rc == SH_OK && identity_differs(&cur, &fi->row))
		rc = hub_identity_update(hub, &fi->row, NULL, NULL, err);
	else if (rc != SH_OK)
		return hub_store_failed(hub, rc, err);
	if (rc != SH_OK) {
		locate(err, file, fi->path);
		return rc;
	}
	return apply_twin(hub, fi, file, err);
}

static sh_rc apply_policy(struct sh_hub *hub, const struct fixture_policy *fp, const char *file,
			  struct iothub_err *err)
{
	struct sh_policy cur, want = fp->row;
	sh_rc rc = store_policy_get(hub->st, want.name, &cur);
	if (rc != SH_OK && rc != SH_E_NOTFOUND)
		return hub_store_failed(hub, rc, err);
	int exists = rc == SH_OK;
	if (!want.primary_key[0]) {
		if (exists)
			memcpy(want.primary_key, cur.primary_key, sizeof want.primary_key);
		else
			hub_random_key(hub, want.primary_key);
	}
	if (!want.secondary_key[0]) {
		if (exists)
			memcpy(want.secondary_key, cur.secondary_key, sizeof want.secondary_key);
		else
			hub_random_key(hub, want.secondary_key);
	}
	if (exists && cur.rights == want.rights && strcmp(cur.primary_key, want.primary_key) == 0 &&
	    strcmp(cur.secondary_key, want.secondary_key) == 0)
		return SH_OK;
	rc = hub_policy_put(hub, &want, err);
	if (rc != SH_OK)
		locate(err, file, fp->path);
	return rc;
}

static sh_rc apply_settings(struct sh_hub *hub, const struct fixture_settings *s, const char *file,
			    struct iothub_err *err)
{
	sh_rc rc = SH_OK;
	if (s->has_hostname && strcmp(s->hostname, hub->hostname) != 0)
		rc = hub_set_hostname(hub, s->hostname, err);
	if (rc == SH_OK && s->has_auto_create_module &&
	    hub_setting_bool(hub, HUB_SETTING_SECURITY_AUTOCREATE, false) != s->auto_create_module)
		rc = hub_set_setting(hub, HUB_SETTING_SECURITY_AUTOCREATE,
				     s->auto_create_module ? "true" : "false", err);
	if (rc != SH_OK)
		locate(err, file, "$.settings");
	return rc;
}

sh_rc hub_fixtures_apply(struct sh_hub *hub, struct fixture *const *fx, const char *const *files,
			 size_t n, struct iothub_err *err)
{
	char saved_host[sizeof hub->hostname];
	memcpy(saved_host, hub->hostname, sizeof saved_host);
	sh_rc rc = hub_op_begin(hub, err);
	if (rc != SH_OK)
		return rc;
	hub->sec_no_autocreate++; /* fixtures may list azureiotsecurity themselves */
	for (size_t i = 0; i < n && rc == SH_OK; i++) {
		rc = apply_settings(hub, &fx[i]->settings, files[i], err);
		for (size_t k = 0; k < fx[i]->policy_count && rc == SH_OK; k++)
			rc = apply_policy(hub, &fx[i]->policies[k], files[i], err);
		for (size_t k = 0; k < fx[i]->identity_count && rc == SH_OK; k++)
			rc = apply_identity(hub, &fx[i]->identities[k], files[i], err);
	}
	hub->sec_no_autocreate--;
	if (rc == SH_OK)
		rc = hub_security_autocreate_all(hub, NULL, err);
	rc = hub_op_end(hub, rc, err);
	if (rc != SH_OK) /* the hostname setting was rolled back with everything else */
		memcpy(hub->hostname, saved_host, sizeof saved_host);
	return rc;
}
