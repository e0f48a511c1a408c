/*
 * hub_topic.h: IoT Hub MQTT topic names (iothub-protocol.md §3): classify what a device
 * PUBLISHes, decide which SUBSCRIBE filters an identity may use, build the topics the hub
 * publishes. Pure: spans into the caller's text, caller buffers; it never checks identities
 * against the connection (the session does) and never decodes property bags (msg_props does).
 */
#ifndef SH_HUB_TOPIC_H
#define SH_HUB_TOPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"
#include "core/span.h"

enum hub_topic_kind {
	HUB_TOPIC_TELEMETRY,           /* devices/{id}[/modules/{mid}]/messages/events/[{bag}] */
	HUB_TOPIC_TWIN_GET,            /* $iothub/twin/GET/?$rid={rid} */
	HUB_TOPIC_TWIN_PATCH_REPORTED, /* $iothub/twin/PATCH/properties/reported/?$rid={rid} */
	HUB_TOPIC_METHOD_RESPONSE,     /* $iothub/methods/res/{status}/?$rid={rid} */
};

/* A classified PUBLISH topic; every span points into the topic text (borrowed). */
struct hub_topic {
	enum hub_topic_kind kind;
	struct sh_span device_id, module_id;  /* TELEMETRY: from the topic, raw (module_id empty for device telemetry) */
	struct sh_span props;                 /* TELEMETRY: raw property bag (after the prefix, one trailing '/' stripped); may be empty */
	struct sh_span rid;                   /* TWIN_* and METHOD_RESPONSE: raw $rid value, verbatim (empty span if absent) */
	bool has_rid;                         /* a $rid parameter was present (its value may be empty) */
	int status;                           /* METHOD_RESPONSE: the {status} (signed integer); 0 otherwise */
};

/*
 * Classify `len` bytes of `topic` (borrowed, need not be NUL-terminated) that a device or
 * module PUBLISHed; see the grammar at the top of hub_topic.c. *out is zeroed, then filled
 * with spans into `topic`.
 * - TELEMETRY: device_id, module_id, props (not validated here: msg_props_parse does).
 * - TWIN_GET: $rid required and non-empty.
 * - TWIN_PATCH_REPORTED: $rid optional (has_rid false without it; IoT Edge's hub applies such
 *   a patch and answers with an empty $rid; what to answer is the session's choice).
 * - METHOD_RESPONSE: status parsed; $rid required, its value may be empty (matches no request).
 * Other query parameters are ignored. Identity is NOT checked here: the session compares
 * device_id/module_id with the connection's identity.
 * Returns SH_OK; SH_E_NOTFOUND for a topic that is well-formed but not an IoT Hub
 * device->cloud topic (other devices/... or $iothub/... topics, C2D or response topics, any
 * other text); SH_E_MALFORMED for an empty topic, one containing '+', '#' or NUL, or a
 * recognised prefix with a broken rest (empty id, sub-path after GET/, bad status, missing or
 * duplicated $rid as described above).
 */
sh_rc hub_topic_parse_publish(const char *topic, size_t len, struct hub_topic *out);

enum hub_sub_kind { HUB_SUB_C2D, HUB_SUB_TWIN_RES, HUB_SUB_TWIN_DESIRED, HUB_SUB_METHODS, HUB_SUB_MODULE_INPUTS };

/*
 * May a connection of identity (device_id, module_id) subscribe to `len` bytes of `filter`
 * (all borrowed; device_id and module_id NUL-terminated, module_id NULL or "" for a device)?
 * Accepted, exactly (ids compared byte for byte):
 *   devices/{device_id}/messages/devicebound/#        HUB_SUB_C2D            devices only
 *   devices/+/messages/devicebound/#                  HUB_SUB_C2D            devices only (Embedded C)
 *   $iothub/twin/res/#                                HUB_SUB_TWIN_RES       both
 *   $iothub/twin/PATCH/properties/desired/#           HUB_SUB_TWIN_DESIRED   both
 *   $iothub/methods/POST/#                            HUB_SUB_METHODS        both
 *   devices/{device_id}/modules/{module_id}/#         HUB_SUB_MODULE_INPUTS  modules only (C, C#)
 *   devices/{device_id}/modules/{module_id}/inputs/#  HUB_SUB_MODULE_INPUTS  modules only (Node, Python)
 * Returns SH_OK with *kind set; SH_E_NOTFOUND for anything else (another identity's topic, an
 * unknown filter, a wildcard elsewhere, an empty device_id); *kind is then untouched.
 */
sh_rc hub_topic_check_subscribe(const char *filter, size_t len, const char *device_id,
				const char *module_id, enum hub_sub_kind *kind);

/*
 * Builders. Each writes a NUL-terminated topic into `buf` (caller's, `cap` bytes) and stores
 * its length without the NUL in *out_len (optional), also on SH_E_NOSPACE so the caller can
 * retry with *out_len + 1 bytes. Arguments are borrowed and copied verbatim (no encoding).
 * Each returns SH_OK, SH_E_NOSPACE, or SH_E_INVALID as listed (then *out_len is 0).
 */

/* "$iothub/twin/res/{status}/?$rid={rid}" + "&$version={version}" when version >= 0.
 * SH_E_INVALID when rid contains '+', '#' or NUL (it would not be a valid topic name). */
sh_rc hub_topic_build_twin_res(int status, struct sh_span rid, int64_t version, char *buf,
			       size_t cap, size_t *out_len);

/* "$iothub/twin/PATCH/properties/desired/?$version={version}". SH_E_INVALID for version < 0. */
sh_rc hub_topic_build_desired(int64_t version, char *buf, size_t cap, size_t *out_len);

/* "$iothub/methods/POST/{name}/?$rid={rid}". SH_E_INVALID when name or rid is NULL or empty,
 * name contains '/', or either contains '+' or '#'. */
sh_rc hub_topic_build_method(const char *name, const char *rid, char *buf, size_t cap,
			     size_t *out_len);

/* "devices/{device_id}/messages/devicebound/" + bag (already encoded, e.g. by
 * msg_props_build; NULL or "" for none). SH_E_INVALID when device_id is NULL or empty or
 * contains '/', '+' or '#', or bag contains '+' or '#'. */
sh_rc hub_topic_build_c2d(const char *device_id, const char *bag, char *buf, size_t cap,
			  size_t *out_len);

#endif
