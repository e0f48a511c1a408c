/*
 * merge_patch.h: JSON merge patch (RFC 7386) over cJSON trees. Knows nothing of twins: no
 * key rules, no limits, no $metadata, no versions (core/twin does those). Pure; allocates only
 * cJSON nodes.
 *
 * Ownership, once for both functions: the PATCH IS ALWAYS BORROWED. It is never modified and
 * none of its nodes end up in the result: every value taken from it is deep-copied. The target
 * is either modified in place (merge_patch_apply, the caller keeps owning it) or only read
 * (merge_patch, which returns a new tree the caller frees with cJSON_Delete).
 */
#ifndef SH_MERGE_PATCH_H
#define SH_MERGE_PATCH_H

#include <cjson/cJSON.h>

#include "core/result.h"

/*
 * Merge the object `patch` into the object `target`, in place. For each member of the patch,
 * in order: null deletes the member (absent is fine); an object merges recursively into the
 * target member, which is first replaced by {} when absent or not an object; anything else
 * (string, number, bool, array) replaces the member by a deep copy. A key repeated in the
 * patch is applied twice, so the last one wins. Keys compare case-sensitively.
 * target: borrowed, modified. patch: borrowed, read only.
 * Returns SH_OK; SH_E_INVALID when either is not an object (nothing changed);
 * SH_E_NOMEM when an allocation failed: the target is then PARTLY patched, so apply to a
 * copy (cJSON_Duplicate) when the change must be all-or-nothing.
 */
sh_rc merge_patch_apply(cJSON *target, const cJSON *patch);

/*
 * The RFC 7386 MergePatch(target, patch) function as a new tree: when `patch` is not an object
 * the result is a copy of it (a null patch gives a JSON null); otherwise the result is
 * `target` (or {} when target is NULL or not an object) with merge_patch_apply's rules.
 * target: borrowed, may be NULL. patch: borrowed, must not be NULL.
 * Returns the new tree (caller frees), or NULL when patch is NULL or on allocation failure.
 */
cJSON *merge_patch(const cJSON *target, const cJSON *patch);

#endif
