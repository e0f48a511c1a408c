/*
 * msg_props.h: IoT Hub message property bags (iothub-protocol.md §3.2, §3.3): the
 * `key=value&key2&...` text after a telemetry or C2D topic prefix. Iterate it, percent-decode
 * it, turn it into system and application properties, and build one for C2D delivery; plus
 * the same system properties' names as HTTPS headers (§7), so the table lives in one place.
 * Pure: no clock, no I/O; the only allocations are the cJSON trees it hands back.
 */
#ifndef SH_MSG_PROPS_H
#define SH_MSG_PROPS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/result.h"
#include "core/span.h"

struct cJSON;

/* Most items msg_props_parse accepts in one bag (simhub's own limit, see msg_props.c). */
#define MSG_PROPS_MAX_COUNT 1024

/*
 * One item of a bag, still encoded: spans into the bag (borrowed). `key=value` gives both;
 * `key` alone gives has_value false and an empty value; `key=` gives has_value true and an
 * empty value.
 */
struct msg_prop {
	struct sh_span key;
	struct sh_span value;
	bool has_value;
};

/*
 * Iterate the items of `bag` (borrowed). Start with *pos = 0; each call stores the next item
 * in *out (spans into bag) and moves *pos past it. Items are split on '&', then on the first
 * '=' (so a raw '=' stays in the value); empty items (`&&`, a leading or trailing '&') are
 * skipped. The caller strips a topic's trailing '/' before (hub_topic does).
 * Returns SH_OK; SH_E_NOTFOUND at the end (also for an empty bag or *pos past the end);
 * SH_E_MALFORMED for an item with a bad %-escape (`%G1`, `%2`, a trailing `%`) in its key or
 * value, or with an empty key (`=v`). On SH_E_MALFORMED *pos is still moved past the item.
 */
sh_rc msg_props_next(struct sh_span bag, size_t *pos, struct msg_prop *out);

/*
 * Percent-decode `in` (borrowed) into `out` (caller's buffer of `cap` bytes): `%XX` with
 * upper- or lower-case hex becomes one byte, every other byte is copied ('+' stays '+'; this
 * is not form decoding). The result may contain any byte, NUL included; it is NUL-terminated
 * when it fits. *out_len (optional) gets the decoded length, also on SH_E_NOSPACE.
 * Returns SH_OK; SH_E_MALFORMED for a bad escape (then *out_len = 0); SH_E_NOSPACE when
 * cap < decoded length + 1 (out may be NULL to measure).
 */
sh_rc msg_props_decode(struct sh_span in, char *out, size_t cap, size_t *out_len);

/*
 * Parse a whole bag (borrowed) into two new cJSON objects (caller frees both with cJSON_Delete):
 * - *sys_out: items whose decoded key starts with "$." (sent as `$.` or `%24.`), under the
 *   canonical names of the §3.2 table ("$.mid" -> "message-id", "$.ct" ->
 *   "iothub-content-type", ...); an unknown "$." key is kept under its decoded key ("$.weird").
 * - *app_out: every other item, decoded key -> decoded value.
 * A key without '=' gives JSON null; `key=` gives "". A key seen twice: the last one wins (it
 * replaces the earlier value and moves to the end). Nothing is stamped or dropped here: the
 * caller overwrites "iothub-connection-device-id"/"-module-id" from the connection.
 * Returns SH_OK; SH_E_TOOLARGE when bag.len > max_bytes or it has more than
 * MSG_PROPS_MAX_COUNT items; SH_E_MALFORMED for a bad escape, an empty key, or a key or value
 * that decodes to a NUL byte or to invalid UTF-8; SH_E_NOMEM. On failure both outputs are NULL.
 */
sh_rc msg_props_parse(struct sh_span bag, size_t max_bytes, struct cJSON **sys_out,
		      struct cJSON **app_out);

/*
 * Build a bag for C2D delivery into `buf` (caller's, `cap` bytes), from `sys` and `app`
 * (borrowed cJSON objects, either may be NULL), system properties first, each in its
 * object's order. sys keys: a canonical name of the §3.2 table is written "%24." + its short
 * name ("message-id" -> "%24.mid"); a key starting with "$." is written "%24." + the encoded
 * rest; any other key (e.g. "iothub-ack") is written encoded, like an application key. Keys
 * and values are percent-encoded (RFC 3986 unreserved characters kept, others %XX upper
 * case). A null value is written as the key alone, "" as `key=`.
 * The text is NUL-terminated when it fits; *out_len gets its length without the NUL, also on
 * SH_E_NOSPACE. An empty result ("") is SH_OK.
 * Returns SH_OK; SH_E_NOSPACE; SH_E_INVALID when sys or app is not an object, a key is
 * empty, or a value is neither a string nor null.
 */
sh_rc msg_props_build(const struct cJSON *sys, const struct cJSON *app, char *buf, size_t cap,
		      size_t *out_len);

/*
 * The canonical name of a system property's short name (`short_name` borrowed, without
 * "$.": "mid" -> "message-id"), or NULL when it is not in the §3.2 table. Static text.
 */
const char *msg_props_canonical_name(struct sh_span short_name);

/*
 * HTTPS system-property headers (iothub-protocol.md §3.2 "HTTPS header" column, §7.1): the
 * canonical name of the property a request header carries ("iothub-messageid" ->
 * "message-id", "dt-subject" -> "dt-subject", "iothub-ack" -> "iothub-ack"). `header` is
 * borrowed, without ':' and compared case-insensitively (Node sends "IoTHub-MessageId").
 * Returns static text, or NULL for any other header (application "iothub-app-*" included).
 */
const char *msg_props_from_http_header(struct sh_span header);

/*
 * The reverse: the lower-case HTTPS header that carries the canonical property `canonical`
 * (borrowed, case-sensitive: "message-id" -> "iothub-messageid"), or NULL when the property has
 * no HTTPS header. Static text.
 */
const char *msg_props_http_header(const char *canonical);

/*
 * The i-th header of that table (lower case; i from 0), or NULL past its end, so a front door
 * can ask its transport for each one. Static text.
 */
const char *msg_props_http_header_at(size_t i);

/*
 * True when `s` (borrowed) may be a property key or value as it is stored: valid UTF-8
 * (RFC 3629: no overlong forms, no surrogates) with no NUL byte. msg_props_parse applies the
 * same rule to decoded bag items; the HTTPS front door applies it to header values.
 */
bool msg_props_text_ok(struct sh_span s);

#endif
