/*
 * devices.c: what the hub does for device-side traffic, whatever the transport: check a
 * connection's SAS token, record connects and disconnects, and store telemetry. The wire codes
 * these results become (CONNACK, HTTP status) are chosen at the edges.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "core/isotime.h"
#include "core/sas.h"
#include "core/secmsg.h"
#include "hub/hub_internal.h"

const char *hub_auth_result_str(enum hub_auth_result r)
{
	switch (r) {
	case HUB_AUTH_OK: return "ok";
	case HUB_AUTH_UNKNOWN_IDENTITY: return "unknown identity";
	case HUB_AUTH_DISABLED: return "identity disabled";
	case HUB_AUTH_MALFORMED: return "malformed SAS token";
	case HUB_AUTH_EXPIRED: return "SAS token expired";
	case HUB_AUTH_WRONG_SCOPE: return "SAS token scope does not cover this identity";
	case HUB_AUTH_BAD_SIGNATURE: return "SAS signature does not match the identity's keys";
	case HUB_AUTH_UNKNOWN_POLICY:
		return "the token's policy (skn) is unknown or lacks DeviceConnect";
	case HUB_AUTH_NO_CREDENTIALS: return "identity does not use SAS keys";
	case HUB_AUTH_STORE_ERROR: return "store error";
	}
	return "unknown";
}

/* Identity lookup and status checks shared by the SAS and X.509 paths. */
static enum hub_auth_result identity_usable(struct sh_hub *hub, const char *device_id,
					    const char *mod, struct sh_identity *out)
{
	sh_rc rc = store_identity_get(hub->st, device_id, mod, out);
	if (rc == SH_E_NOTFOUND)
		return HUB_AUTH_UNKNOWN_IDENTITY;
	if (rc != SH_OK)
		return HUB_AUTH_STORE_ERROR;
	if (out->status == SH_STATUS_DISABLED)
		return HUB_AUTH_DISABLED;
	if (mod[0]) {
		struct sh_identity dev;
		if (store_identity_get(hub->st, device_id, "", &dev) != SH_OK)
			return HUB_AUTH_UNKNOWN_IDENTITY;
		if (dev.status == SH_STATUS_DISABLED)
			return HUB_AUTH_DISABLED;
	}
	return HUB_AUTH_OK;
}

enum hub_auth_result hub_auth_sas(struct sh_hub *hub, const char *device_id, const char *module_id,
				  const char *token, size_t token_len, struct sh_identity *out,
				  int64_t *expiry_s)
{
	const char *mod = module_id ? module_id : "";
	enum hub_auth_result r = identity_usable(hub, device_id, mod, out);
	if (r != HUB_AUTH_OK)
		return r;
	sh_rc rc;
	struct sas_token t;
	if (!token || sas_parse(token, token_len, &t) != SH_OK)
		return HUB_AUTH_MALFORMED;

	const char *keys[2];
	struct sh_policy pol;
	if (t.skn.len) {
		char name[SH_POLICY_NAME_MAX + 1];
		if (t.skn.len > SH_POLICY_NAME_MAX)
			return HUB_AUTH_UNKNOWN_POLICY;
		memcpy(name, t.skn.p, t.skn.len);
		name[t.skn.len] = '\0';
		if (store_policy_get(hub->st, name, &pol) != SH_OK ||
		    !(pol.rights & SH_RIGHT_DEVICE_CONNECT))
			return HUB_AUTH_UNKNOWN_POLICY;
		keys[0] = pol.primary_key;
		keys[1] = pol.secondary_key;
	} else {
		if (out->auth_type != SH_AUTH_SAS)
			return HUB_AUTH_NO_CREDENTIALS;
		keys[0] = out->primary_key;
		keys[1] = out->secondary_key;
	}
	char target[SH_ID_MAX * 2 + 32];
	snprintf(target, sizeof target, "%s/devices/%s%s%s", hub->hostname, device_id,
		 mod[0] ? "/modules/" : "", mod);
	enum sas_refusal why = SAS_REFUSAL_NONE;
	rc = sas_check(&t, target, keys, 2, hub_now_us(hub) / 1000000, 0, false, &why);
	if (rc == SH_OK) {
		*expiry_s = t.expiry_s;
		return HUB_AUTH_OK;
	}
	switch (why) {
	case SAS_REFUSAL_EXPIRED: return HUB_AUTH_EXPIRED;
	case SAS_REFUSAL_WRONG_SCOPE: return HUB_AUTH_WRONG_SCOPE;
	case SAS_REFUSAL_BAD_SIGNATURE: return HUB_AUTH_BAD_SIGNATURE;
	case SAS_REFUSAL_UNKNOWN_POLICY: return HUB_AUTH_UNKNOWN_POLICY;
	default: return HUB_AUTH_MALFORMED;
	}
}

enum hub_auth_result hub_auth_device_token(struct sh_hub *hub, const char *device_id,
					   const char *token, size_t token_len)
{
	struct sas_token t;
	if (!token || sas_parse(token, token_len, &t) != SH_OK)
		return HUB_AUTH_MALFORMED;
	if (t.skn.len)
		return HUB_AUTH_UNKNOWN_POLICY;
	struct sh_identity id;
	int64_t expiry = 0;
	return hub_auth_sas(hub, device_id, NULL, token, token_len, &id, &expiry);
}

enum hub_auth_result hub_auth_x509(struct sh_hub *hub, const char *device_id, const char *module_id,
				   const struct hub_client_cert *cert, struct sh_identity *out)
{
	const char *mod = module_id ? module_id : "";
	enum hub_auth_result r = identity_usable(hub, device_id, mod, out);
	if (r != HUB_AUTH_OK)
		return r;
	if (out->auth_type == SH_AUTH_CA) {
		/* The CN names the identity: the device id, or the module id for a module. */
		const char *want = mod[0] ? mod : device_id;
		return cert->ca_verified && strcmp(cert->common_name, want) == 0 ? HUB_AUTH_OK
										  : HUB_AUTH_BAD_SIGNATURE;
	}
	if (out->auth_type != SH_AUTH_SELF_SIGNED)
		return HUB_AUTH_NO_CREDENTIALS;
	const char *thumbs[2] = {out->primary_thumbprint, out->secondary_thumbprint};
	for (int i = 0; i < 2; i++) {
		const char *t = thumbs[i];
		size_t n = strlen(t);
		if ((n == 40 && strcasecmp(t, cert->sha1) == 0) ||
		    (n == 64 && strcasecmp(t, cert->sha256) == 0))
			return HUB_AUTH_OK;
	}
	return HUB_AUTH_BAD_SIGNATURE;
}

/* --- X.509 certificate authorities ------------------------------------------------------------ */

static bool valid_ca_name(const char *n)
{
	size_t len = strlen(n);
	if (len == 0 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = n[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

sh_rc hub_x509_ca_put(struct sh_hub *hub, const char *name, const char *pem, struct iothub_err *err)
{
	if (!valid_ca_name(name)) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID,
			       "CA name '%.80s' must be 1-64 letters, digits, '-', '_' or '.'", name);
		return SH_E_INVALID;
	}
	if (!strstr(pem, "-----BEGIN CERTIFICATE-----")) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID, "CA %s is not a PEM certificate", name);
		return SH_E_INVALID;
	}
	sh_rc rc = hub_op_begin(hub, err);
	if (rc != SH_OK)
		return rc;
	rc = store_x509_ca_put(hub->st, name, pem, hub_now_us(hub));
	if (rc != SH_OK)
		hub_store_failed(hub, rc, err);
	return hub_op_end(hub, rc, err);
}

sh_rc hub_x509_ca_delete(struct sh_hub *hub, const char *name, struct iothub_err *err)
{
	sh_rc rc = hub_op_begin(hub, err);
	if (rc != SH_OK)
		return rc;
	rc = store_x509_ca_delete(hub->st, name);
	if (rc == SH_E_NOTFOUND)
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID, "no CA named %.80s", name);
	else if (rc != SH_OK)
		hub_store_failed(hub, rc, err);
	return hub_op_end(hub, rc, err);
}

sh_rc hub_x509_ca_each(struct sh_hub *hub,
		       sh_rc (*fn)(void *arg, const char *name, const char *pem, int64_t added_us),
		       void *arg)
{
	return store_x509_ca_each(hub->st, fn, arg);
}

enum hub_auth_result hub_auth_service(struct sh_hub *hub, const char *token, size_t token_len,
				      unsigned rights_any, struct sh_policy *policy_out)
{
	struct sas_token t;
	if (!token || sas_parse(token, token_len, &t) != SH_OK || t.skn.len == 0)
		return HUB_AUTH_MALFORMED;
	char name[SH_POLICY_NAME_MAX + 1];
	struct sh_policy pol;
	if (t.skn.len > SH_POLICY_NAME_MAX)
		return HUB_AUTH_UNKNOWN_POLICY;
	memcpy(name, t.skn.p, t.skn.len);
	name[t.skn.len] = '\0';
	sh_rc rc = store_policy_get(hub->st, name, &pol);
	if (rc == SH_E_NOTFOUND || (rc == SH_OK && !(pol.rights & rights_any)))
		return HUB_AUTH_UNKNOWN_POLICY;
	if (rc != SH_OK)
		return HUB_AUTH_STORE_ERROR;
	const char *keys[2] = {pol.primary_key, pol.secondary_key};
	enum sas_refusal why = SAS_REFUSAL_NONE;
	if (sas_check(&t, hub->hostname, keys, 2, hub_now_us(hub) / 1000000, 0, false, &why) != SH_OK) {
		switch (why) {
		case SAS_REFUSAL_EXPIRED: return HUB_AUTH_EXPIRED;
		case SAS_REFUSAL_WRONG_SCOPE: return HUB_AUTH_WRONG_SCOPE;
		case SAS_REFUSAL_BAD_SIGNATURE: return HUB_AUTH_BAD_SIGNATURE;
		default: return HUB_AUTH_MALFORMED;
		}
	}
	if (policy_out)
		*policy_out = pol;
	return HUB_AUTH_OK;
}

sh_rc hub_connection_changed(struct sh_hub *hub, const char *device_id, const char *module_id,
			     bool connected, bool set_state, const char *reason,
			     struct iothub_err *err)
{
	const char *mod = module_id ? module_id : "";
	sh_rc rc = hub_op_begin(hub, err);
	if (rc != SH_OK)
		return rc;
	struct sh_identity id;
	int64_t now = hub_now_us(hub);
	rc = set_state ? store_identity_get(hub->st, device_id, mod, &id) : SH_E_NOTFOUND;
	if (rc == SH_OK) {
		/* IoT Hub does not move the identity etag for connection state changes. */
		id.connected = connected;
		id.connection_state_updated_us = now;
		id.last_activity_us = now;
		rc = store_identity_update(hub->st, &id);
	}
	if (rc == SH_OK || rc == SH_E_NOTFOUND) /* a deleted identity still gets its event row */
		rc = store_connection_event(hub->st, device_id, mod, now,
					    connected ? "connect" : "disconnect", reason);
	if (rc != SH_OK) {
		hub_store_failed(hub, rc, err);
	} else {
		cJSON *d = NULL;
		if (hub_events_wanted(hub) && (d = cJSON_CreateObject()) != NULL) {
			cJSON_AddStringToObject(d, "event", connected ? "connect" : "disconnect");
			cJSON_AddBoolToObject(d, "connected", connected);
			cJSON_AddBoolToObject(d, "stateChanged", set_state);
			if (reason)
				cJSON_AddStringToObject(d, "reason", reason);
		}
		hub_emit(hub, HUB_EV_CONNECTION, connected ? HUB_ML_CONNECT : HUB_ML_DISCONNECT,
			 device_id, mod, d);
	}
	return hub_op_end(hub, rc, err);
}

/*
 * The telemetry event of a stored message: its seq, the stamped system properties, the
 * application properties and the body (text or base64). NULL when nobody listens or out of
 * memory (the event is then only counted).
 */
static cJSON *telemetry_event(struct sh_hub *hub, int64_t seq, const cJSON *sys, const cJSON *app,
			      const void *body, size_t len)
{
	if (!hub_events_wanted(hub))
		return NULL;
	cJSON *d = cJSON_CreateObject();
	cJSON *s = cJSON_Duplicate(sys, 1);
	cJSON *a = app ? cJSON_Duplicate(app, 1) : cJSON_CreateObject();
	if (!d || !s || !a) {
		cJSON_Delete(d);
		cJSON_Delete(s);
		cJSON_Delete(a);
		return NULL;
	}
	cJSON_AddNumberToObject(d, "seq", (double)seq);
	cJSON_AddItemToObject(d, "systemProperties", s);
	cJSON_AddItemToObject(d, "properties", a);
	if (!hub_event_add_body(d, body, len)) {
		cJSON_Delete(d);
		return NULL;
	}
	return d;
}

static const char *json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

sh_rc hub_telemetry(struct sh_hub *hub, const char *device_id, const char *module_id,
		    const cJSON *sys, const cJSON *app, const void *body, size_t len,
		    int64_t *seq_out, struct iothub_err *err)
{
	const char *mod = module_id ? module_id : "";
	int64_t now = hub_now_us(hub);
	cJSON *s = sys ? cJSON_Duplicate(sys, 1) : cJSON_CreateObject();
	char *sys_text = NULL, *app_text = NULL;
	sh_rc rc = SH_E_NOMEM;
	if (s) {
		char when[ISOTIME_BUF];
		isotime_format(now, when);
		cJSON_DeleteItemFromObjectCaseSensitive(s, "iothub-connection-device-id");
		cJSON_DeleteItemFromObjectCaseSensitive(s, "iothub-connection-module-id");
		cJSON_DeleteItemFromObjectCaseSensitive(s, "iothub-enqueuedtime");
		cJSON_AddStringToObject(s, "iothub-connection-device-id", device_id);
		if (mod[0])
			cJSON_AddStringToObject(s, "iothub-connection-module-id", mod);
		cJSON_AddStringToObject(s, "iothub-enqueuedtime", when);
		sys_text = cJSON_PrintUnformatted(s);
		app_text = app ? cJSON_PrintUnformatted(app) : NULL;
	}
	if (sys_text && (!app || app_text)) {
		struct sh_d2c_row row = {
			.device_id = device_id,
			.module_id = mod,
			.enqueued_us = now,
			.message_id = json_str(s, "message-id"),
			.content_type = json_str(s, "iothub-content-type"),
			.content_encoding = json_str(s, "iothub-content-encoding"),
			.interface_id = json_str(s, "iothub-interface-id"),
			.sys_props_json = sys_text,
			.app_props_json = app_text,
			.body = body,
			.body_len = len,
		};
		/* One INSERT is atomic by itself: inside the loop's held batch it needs no
		 * savepoint (the hot path); outside one it gets a batch of its own. */
		int64_t seq = 0;
		if (secmsg_props_is_security(s)) {
			/* A security message (security.c): several rows, so always an operation;
			 * announced as "security", not as telemetry (security-agent.md §3.1). */
			if ((rc = hub_op_begin(hub, err)) == SH_OK) {
				rc = store_d2c_append(hub->st, &row, &seq);
				if (rc != SH_OK)
					hub_store_failed(hub, rc, err);
				else
					rc = hub_security_ingest(hub, device_id, mod, s, app, body, len,
								 seq, err);
				rc = hub_op_end(hub, rc, err);
			}
		} else if (hub->held) {
			rc = store_d2c_append(hub->st, &row, &seq);
			if (rc != SH_OK)
				hub_store_failed(hub, rc, err);
			else
				hub_emit(hub, HUB_EV_TELEMETRY, HUB_ML_MESSAGE, device_id, mod,
					 telemetry_event(hub, seq, s, app, body, len));
		} else if ((rc = hub_op_begin(hub, err)) == SH_OK) {
			rc = store_d2c_append(hub->st, &row, &seq);
			if (rc != SH_OK)
				hub_store_failed(hub, rc, err);
			else
				hub_emit(hub, HUB_EV_TELEMETRY, HUB_ML_MESSAGE, device_id, mod,
					 telemetry_event(hub, seq, s, app, body, len));
			rc = hub_op_end(hub, rc, err);
		}
		if (rc == SH_OK && seq_out)
			*seq_out = seq;
	} else {
		iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
	}
	cJSON_free(sys_text);
	cJSON_free(app_text);
	cJSON_Delete(s);
	return rc;
}
