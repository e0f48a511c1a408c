/*
 * hub_username.c: the CONNECT username of IoT Hub MQTT clients (iothub-protocol.md §2.2,
 * §12 item 21). Pure: spans into the caller's text; it never decodes the values and never
 * compares the ids with the client id or the SAS scope (the session does).
 *
 * Shapes seen on the wire:
 *   Node        localhost/dev1/?api-version=2021-04-12&DeviceClientType=azure-iot-device%2F1.18.4%20(node...)
 *   Node module localhost/dev1/mod1/?api-version=2021-04-12&DeviceClientType=...
 *   Node port   localhost:28883/dev1/?api-version=...          (the host as in the connection string)
 *   Node PnP    h/d/?api-version=...&model-id=dtmi:com:example:X;1&DeviceClientType=...  (model-id raw, first)
 *   Embedded C  h/d/?api-version=2020-09-30&DeviceClientType=azsdk-c%2F1.6.0-beta.1&model-id=dtmi%3Acom...%3B1
 *   C SDK       h/d/?api-version=2020-09-30&DeviceClientType=iothubclient%2f1.11.0%20(native%3b%20Linux%3b%20x86_64)
 *   Arduino     h/d/?api-version=2020-09-30&DeviceClientType=c%2F1.3.2(ard;esp32)   (partly unencoded)
 *   DPS         {scope}/registrations/{id}/api-version=2019-03-31&ClientVersion=...  (no '?': not IoT Hub)
 *
 * The '?' that opens the query must begin a path segment: device ids may contain '?' (§1.1),
 * so "h/a?b/?api-version=1" is device "a?b". The segment after the device is looked at first:
 * if it begins with '?', the identity is a device and everything from there on is the query
 * (values may then contain '/', e.g. an unencoded DeviceClientType). Otherwise it is a module
 * id, and the next segment must begin with '?'. A module id that itself begins with '?' is
 * therefore read as a query, and the connection then fails the client-id check; no SDK makes
 * such ids. Without any '?' segment the username is refused: IoT Hub's grammar has one, DPS's
 * has none, so a device pointed at the wrong endpoint hears about it at CONNECT.
 */
#include "core/hub_username.h"

#include <string.h>

/* Length of the segment starting at p (up to the next '/' or the end). */
static size_t seg_len(const uint8_t *p, size_t n)
{
	const uint8_t *slash = n ? memchr(p, '/', n) : NULL;
	return slash ? (size_t)(slash - p) : n;
}

/* Fill api_version, client_type, model_id from the query (the text after '?'). */
static void parse_query(struct sh_span q, struct hub_username *out)
{
	bool seen_api = false, seen_type = false, seen_model = false;
	size_t i = 0;
	while (i < q.len) {
		size_t start = i;
		while (i < q.len && q.ptr[i] != '&')
			i++;
		struct sh_span item = sh_span_make(q.ptr + start, i - start);
		i++;
		const uint8_t *eq = item.len ? memchr(item.ptr, '=', item.len) : NULL;
		if (!eq)
			continue;
		struct sh_span name = sh_span_make(item.ptr, (size_t)(eq - item.ptr));
		struct sh_span value = sh_span_make(eq + 1, item.len - name.len - 1);
		if (sh_span_eq_str(name, "api-version") && !seen_api) {
			seen_api = true;
			out->api_version = value;
			out->has_api_version = value.len > 0;
		} else if (sh_span_eq_str(name, "DeviceClientType") && !seen_type) {
			seen_type = true;
			out->client_type = value;
		} else if (sh_span_eq_str(name, "model-id") && !seen_model) {
			seen_model = true;
			out->model_id = value;
		}
	}
}

sh_rc hub_username_parse(const char *text, size_t len, struct hub_username *out)
{
	memset(out, 0, sizeof *out);
	if (!text || len == 0 || memchr(text, '\0', len))
		return SH_E_MALFORMED;
	const uint8_t *p = (const uint8_t *)text;
	size_t n = len;
	struct sh_span seg[3];
	size_t nseg = 0;

	/* Host, device, then at most a module, each followed by '/'; stop at a '?' segment. */
	while (nseg < 3) {
		if (nseg >= 2 && n > 0 && p[0] == '?')
			break;
		size_t k = seg_len(p, n);
		if (k == n || k == 0) /* no '/' after it, or an empty segment */
			goto malformed;
		seg[nseg++] = sh_span_make(p, k);
		p += k + 1;
		n -= k + 1;
	}
	if (n == 0 || p[0] != '?')
		goto malformed;

	out->host = seg[0];
	out->device_id = seg[1];
	out->module_id = nseg == 3 ? seg[2] : sh_span_make(p, 0);
	parse_query(sh_span_make(p + 1, n - 1), out);
	return SH_OK;

malformed:
	memset(out, 0, sizeof *out);
	return SH_E_MALFORMED;
}
