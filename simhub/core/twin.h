/*
 * twin.h: the twin engine. One stored cJSON document per device or module twin; the rules for
 * changing it (merge, key and value limits, $version, version, etag, $metadata) and the views
 * the service and the device see. Pure: time is an argument, no I/O, no globals; the caller
 * owns the stored document and persists it (as text) through the store.
 *
 * Stored form (the caller treats it as opaque and passes it back unchanged):
 *   {"version":N, "etagSeq":E, "tags":{...},
 *    "properties":{"desired": {...,"$metadata":{...},"$version":D},
 *                  "reported":{...,"$metadata":{...},"$version":R}}}
 * Version and etag rules are explained at the top of twin.c.
 *
 * Errors: every rejection of caller input returns SH_E_INVALID (or SH_E_TOOLARGE for a section
 * over its size) and fills `err` (may be NULL) with IoT Hub code 400004 ArgumentInvalid and a
 * message that starts with the JSON path, e.g. "properties.desired.a.b: key contains '.'".
 * A rejected operation leaves the twin exactly as it was (byte-identical when printed).
 * A stored document that is not in the stored form gives SH_E_MALFORMED with 500001.
 * Allocation failure gives SH_E_NOMEM with 500001, the twin unchanged.
 */
#ifndef SH_TWIN_H
#define SH_TWIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/iothub_error.h"
#include "core/result.h"

/* Limits of iothub-protocol.md §4.6. Sizes use the §4.6 size rule (see twin.c). */
struct twin_limits {
	size_t max_key_bytes;       /* 1024; legacy 64 */
	size_t max_string_bytes;    /* 4096; legacy 512 */
	int max_depth;              /* nested objects below a section root: 10; legacy 5 */
	bool allow_arrays;          /* true; legacy false ("arrays are not supported") */
	size_t max_tags_bytes;      /* 8192 */
	size_t max_desired_bytes;   /* 32768; legacy 8192 */
	size_t max_reported_bytes;  /* 32768; legacy 8192 */
};

/*
 * Fill `lim` with today's limits, or with the older module-twin limits when `legacy` is set
 * (64-byte keys, 512-byte strings, depth 5, no arrays, 8 KB per section). Functions below take
 * `lim` NULL to mean today's limits.
 */
void twin_limits_init(struct twin_limits *lim, bool legacy);

/*
 * A fresh twin as the hub creates it with its identity: version 2, etag AAAAAAAAAAE= (1),
 * desired and reported $version 1, empty tags, root $metadata.$lastUpdated = now (the never-set
 * text when now_us is 0 or outside isotime's years). Returns the stored document (caller frees with cJSON_Delete), NULL on allocation failure.
 */
cJSON *twin_new(int64_t now_us);

/*
 * Merge-patch properties.desired (the service side), e.g. {"fan":true,"old":null}.
 * Desired $version +1, version +1, etag changes; $metadata stamped with now and the new $version.
 * twin: borrowed, modified only on success. patch: borrowed, must be an object.
 * delta_out (optional): on success the device notification body for
 * $iothub/twin/PATCH/properties/desired/?$version=N: a copy of the patch (nulls kept) plus
 * "$version":N. Caller frees. Untouched on failure.
 * Returns SH_OK, SH_E_INVALID / SH_E_TOOLARGE (err filled), SH_E_MALFORMED, SH_E_NOMEM.
 */
sh_rc twin_patch_desired(cJSON *twin, const cJSON *patch, int64_t now_us,
			 const struct twin_limits *lim, cJSON **delta_out, struct iothub_err *err);

/*
 * Merge-patch properties.reported (the device side, MQTT PATCH or HTTPS). A top-level
 * "$version" in the patch is ignored (devices often echo the desired patch they received);
 * any other "$" key is rejected. Reported $version +1, version +1, etag unchanged.
 * version_out (optional): the new reported $version, for the 204 topic's &$version=.
 * Returns as twin_patch_desired.
 */
sh_rc twin_patch_reported(cJSON *twin, const cJSON *patch, int64_t now_us,
			  const struct twin_limits *lim, int64_t *version_out, struct iothub_err *err);

/* Merge-patch tags (service side; tags carry no $metadata). Version +1, etag changes. */
sh_rc twin_patch_tags(cJSON *twin, const cJSON *patch, const struct twin_limits *lim,
		      struct iothub_err *err);

/*
 * The service PATCH /twins/{id} body, applied all-or-nothing:
 * {"tags":{...},"properties":{"desired":{...}}}, each part optional (absent or null = no change).
 * properties.reported is rejected unless it is empty or holds only "$" keys (the C# SDK's Twin
 * serialiser writes properties.reported whenever the collection exists, normally empty); other
 * keys under "properties" are rejected.
 * Other top-level members (deviceId, etag, version, status, ... which SDKs serialise from their
 * Twin objects) are ignored. A body naming neither part succeeds and changes nothing.
 * When both parts are present it is one write: version +1, etag +1, desired $version +1.
 * body: borrowed. delta_out (optional): as twin_patch_desired, NULL when desired was not part
 * of the body. Returns as twin_patch_desired.
 */
sh_rc twin_service_patch(cJSON *twin, const cJSON *body, int64_t now_us,
			 const struct twin_limits *lim, cJSON **delta_out, struct iothub_err *err);

/*
 * The service PUT /twins/{id} body: replaces tags and properties.desired wholesale (absent or
 * null = emptied), reported untouched. The body is usually an edited GET result, so
 * properties.reported, desired's own "$metadata"/"$version" and the other top-level members
 * are ignored. Desired $version +1, version +1, etag +1; desired $metadata rebuilt with now.
 * delta_out (optional): the whole new desired document plus "$version" (what the device is
 * sent after a full replace). Returns as twin_patch_desired.
 */
sh_rc twin_replace(cJSON *twin, const cJSON *body, int64_t now_us, const struct twin_limits *lim,
		   cJSON **delta_out, struct iothub_err *err);

/*
 * The service view: {"etag":"...","version":N,"tags":{...},"properties":{"desired":{...,
 * "$metadata":{...},"$version":D},"reported":{...,"$metadata":{...},"$version":R}}}. The hub adds
 * deviceId, status and the other identity fields. twin: borrowed.
 * Returns a new tree (caller frees); NULL for a malformed twin or on allocation failure.
 */
cJSON *twin_service_view(const cJSON *twin);

/*
 * The device view (MQTT twin GET, 200): {"desired":{...,"$version":D},"reported":{...,
 * "$version":R}}: no $metadata, no tags. twin: borrowed.
 * Returns a new tree (caller frees); NULL for a malformed twin or on allocation failure.
 */
cJSON *twin_device_view(const cJSON *twin);

/*
 * The twin etag: base64 of the 8-byte big-endian etag counter ("AAAAAAAAAAE=" for 1), 12
 * characters + NUL, written to `out`. Returns SH_OK, or SH_E_MALFORMED (out = "") for a
 * malformed twin.
 */
sh_rc twin_etag(const cJSON *twin, char out[16]);

/* Twin `version`, desired `$version`, reported `$version`; -1 for a malformed twin. */
int64_t twin_version(const cJSON *twin);
int64_t twin_desired_version(const cJSON *twin);
int64_t twin_reported_version(const cJSON *twin);

#endif
