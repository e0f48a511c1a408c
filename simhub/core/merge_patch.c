/*
 * merge_patch.c: the merge_patch room, RFC 7386 on cJSON trees. Reads the patch, never keeps a
 * node of it (values are deep-copied), never validates twin rules, never touches metadata.
 */
#include <stdbool.h>

#include "core/merge_patch.h"

/*
 * Set member `key` of `obj` to `item` (which becomes owned by obj), replacing the first member
 * of that name if there is one. On failure `item` is freed and false returned, so the caller
 * never has to track whether ownership moved.
 */
static bool set_member(cJSON *obj, const char *key, cJSON *item)
{
	cJSON *cur = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (cur) {
		if (!cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item)) {
			cJSON_Delete(item);
			return false;
		}
		return true;
	}
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

sh_rc merge_patch_apply(cJSON *target, const cJSON *patch)
{
	if (!cJSON_IsObject(target) || !cJSON_IsObject(patch))
		return SH_E_INVALID;
	for (const cJSON *p = patch->child; p; p = p->next) {
		const char *key = p->string;
		if (!key)
			continue;
		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, key);
			continue;
		}
		if (cJSON_IsObject(p)) {
			cJSON *cur = cJSON_GetObjectItemCaseSensitive(target, key);
			if (!cJSON_IsObject(cur)) {
				cur = cJSON_CreateObject();
				if (!cur || !set_member(target, key, cur))
					return SH_E_NOMEM;
			}
			sh_rc rc = merge_patch_apply(cur, p);
			if (rc != SH_OK)
				return rc;
			continue;
		}
		cJSON *copy = cJSON_Duplicate(p, 1);
		if (!copy || !set_member(target, key, copy))
			return SH_E_NOMEM;
	}
	return SH_OK;
}

cJSON *merge_patch(const cJSON *target, const cJSON *patch)
{
	if (!patch)
		return NULL;
	if (!cJSON_IsObject(patch))
		return cJSON_Duplicate(patch, 1);
	cJSON *out = cJSON_IsObject(target) ? cJSON_Duplicate(target, 1) : cJSON_CreateObject();
	if (!out)
		return NULL;
	if (merge_patch_apply(out, patch) != SH_OK) {
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}
