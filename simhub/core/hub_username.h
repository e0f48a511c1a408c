/*
 * hub_username.h: the MQTT CONNECT username IoT Hub clients send (iothub-protocol.md §2.2):
 * "{host}/{device}[/{module}]/?api-version=...&DeviceClientType=...&model-id=...".
 * Pure: spans into the caller's text; it never decodes values, never checks the identity
 * against the client id or the token (the session does).
 */
#ifndef SH_HUB_USERNAME_H
#define SH_HUB_USERNAME_H

#include <stdbool.h>
#include <stddef.h>

#include "core/result.h"
#include "core/span.h"

/* A parsed username; every span points into the text given to hub_username_parse (borrowed). */
struct hub_username {
	struct sh_span host, device_id, module_id;   /* raw; module_id empty for devices */
	struct sh_span api_version;                  /* raw, empty if absent */
	struct sh_span client_type;                  /* DeviceClientType, raw (percent-encoded); empty if absent */
	struct sh_span model_id;                     /* model-id, raw (Node sends it unencoded); empty if absent */
	bool has_api_version;                        /* api-version present with a non-empty value */
};

/*
 * Parse `len` bytes of `text` (borrowed, need not be NUL-terminated) into *out (zeroed first,
 * zeroed again on failure). The path is two or three non-empty '/'-separated segments (host,
 * device, optional module; the host may carry ":port"), then "/?" and a query string. The
 * query starts at the first segment after the device that begins with '?', so a device id
 * may itself contain '?' ("h/a?b/?api-version=1"), and query values may contain '/' or '?'.
 * Query parameters: split on '&' and on the first '='; any order; empty items skipped; unknown
 * names ignored; names case-sensitive; a name given twice keeps its first value (as IoT Edge's
 * parser); values left raw (decode with msg_props_decode). api-version may be absent (then
 * has_api_version is false and the hub answers twin operations with 400, §2.2).
 * Returns SH_OK; SH_E_MALFORMED for an empty text, a NUL byte, an empty host, device or module
 * segment, more than three path segments, or no "/?" at all (DPS-style
 * "{scope}/registrations/{id}/api-version=..." and "h/d?api-version=..." are refused).
 */
sh_rc hub_username_parse(const char *text, size_t len, struct hub_username *out);

#endif
