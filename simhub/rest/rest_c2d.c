/*
 * rest_c2d.c: simhub's C2D injection endpoint POST /devices/{id}/messages/deviceBound
 * (iothub-protocol.md §8.7, §12 item 23: the official service SDKs send C2D over AMQP, which
 * simhub does not serve). Two forms:
 *  - the body is the message; system properties in headers iothub-messageid,
 *    iothub-correlationid, iothub-userid, iothub-expiry (ISO 8601), iothub-ack, Content-Type,
 *    Content-Encoding; application properties in iothub-app-{name} headers (their names
 *    arrive lower-cased: HTTP header names are case-insensitive);
 *  - Content-Type application/vnd.microsoft.iothub.json: {"body": text, "base64Encoded": bool,
 *    "properties": {"iothub-app-k": "v", "iothub-messageid": "...", ...}}.
 * Answer: 204, or IoT Hub's error (404001, 403004, 413001, 400004).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "core/base64.h"
#include "core/isotime.h"
#include "rest/rest_internal.h"

#define ENVELOPE_TYPE "application/vnd.microsoft.iothub.json"

/* System property headers of a C2D send, as pointers into `vals` once looked up. */
struct sys_fields {
	const char *message_id, *correlation_id, *user_id, *expiry, *ack, *ctype, *cenc;
};

static int parse_expiry(const char *text, int64_t *us, struct rest_response *resp, bool legacy)
{
	if (!text)
		return 0;
	if (isotime_parse(text, strlen(text), us) != SH_OK) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
				"iothub-expiry must be an ISO 8601 UTC time, not '%.60s'", text);
		return -1;
	}
	return 0;
}

/* Envelope form: properties map names (iothub-app-*, iothub-*) onto the send. */
static int from_envelope(const cJSON *env, struct hub_c2d_send *m, struct sys_fields *f, cJSON *app,
			 uint8_t **decoded, struct rest_response *resp, bool legacy)
{
	const cJSON *body = cJSON_GetObjectItemCaseSensitive(env, "body");
	const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(env, "base64Encoded");
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(env, "properties");
	if (!cJSON_IsObject(env) || !cJSON_IsString(body) || (props && !cJSON_IsObject(props))) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
				"the envelope needs a string \"body\" and an object \"properties\"");
		return -1;
	}
	size_t blen = strlen(body->valuestring);
	if (cJSON_IsTrue(b64)) {
		*decoded = malloc(blen / 4 * 3 + 3);
		size_t n = 0;
		if (!*decoded || base64_decode(body->valuestring, blen, *decoded, blen / 4 * 3 + 3, &n) != SH_OK) {
			rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy, "body is not valid base64");
			return -1;
		}
		m->body = *decoded;
		m->len = n;
	} else {
		m->body = body->valuestring;
		m->len = blen;
	}
	const cJSON *p;
	cJSON_ArrayForEach(p, props) {
		if (!cJSON_IsString(p)) {
			rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
					"property %.60s must be a string", p->string);
			return -1;
		}
		const char *k = p->string, *v = p->valuestring;
		if (strncasecmp(k, "iothub-app-", 11) == 0 && k[11])
			cJSON_AddStringToObject(app, k + 11, v);
		else if (strcasecmp(k, "iothub-messageid") == 0)
			f->message_id = v;
		else if (strcasecmp(k, "iothub-correlationid") == 0)
			f->correlation_id = v;
		else if (strcasecmp(k, "iothub-userid") == 0)
			f->user_id = v;
		else if (strcasecmp(k, "iothub-expiry") == 0)
			f->expiry = v;
		else if (strcasecmp(k, "iothub-ack") == 0)
			f->ack = v;
		else if (strcasecmp(k, "iothub-contenttype") == 0)
			f->ctype = v;
		else if (strcasecmp(k, "iothub-contentencoding") == 0)
			f->cenc = v;
		else {
			rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
					"unknown property %.60s (application properties are iothub-app-*)", k);
			return -1;
		}
	}
	return 0;
}

int rest_c2d_send(struct rest_ctx *rc, const struct rest_target *t, const struct rest_request *req,
		  struct rest_response *resp)
{
	bool legacy = t->legacy_errors;
	char ctype[128], hmid[256], hcid[256], huid[256], hexp[64], hack[32], hcenc[64];
	struct sys_fields f = {
		rest_header(req, "iothub-messageid", hmid, sizeof hmid),
		rest_header(req, "iothub-correlationid", hcid, sizeof hcid),
		rest_header(req, "iothub-userid", huid, sizeof huid),
		rest_header(req, "iothub-expiry", hexp, sizeof hexp),
		rest_header(req, "iothub-ack", hack, sizeof hack),
		rest_header(req, "content-type", ctype, sizeof ctype),
		rest_header(req, "content-encoding", hcenc, sizeof hcenc),
	};
	struct hub_c2d_send m;
	memset(&m, 0, sizeof m);
	m.body = req->body;
	m.len = req->body_len;
	cJSON *app = cJSON_CreateObject(), *env = NULL;
	uint8_t *decoded = NULL;
	int out = 1;
	if (f.ctype && strncasecmp(f.ctype, ENVELOPE_TYPE, strlen(ENVELOPE_TYPE)) == 0) {
		env = rest_body_json(req, resp, legacy);
		f.ctype = NULL;
		if (!env || from_envelope(env, &m, &f, app, &decoded, resp, legacy) != 0)
			goto done;
	}
	if (!env) {
		char val[1024];
		for (size_t i = 0; i < req->n_app_headers; i++) {
			const char *name = req->app_headers[i];
			if (strncasecmp(name, "iothub-app-", 11) == 0 && name[11] &&
			    rest_header(req, name, val, sizeof val))
				cJSON_AddStringToObject(app, name + 11, val);
		}
	}
	if (parse_expiry(f.expiry, &m.expiry_us, resp, legacy) != 0)
		goto done;
	m.message_id = f.message_id;
	m.correlation_id = f.correlation_id;
	m.user_id = f.user_id;
	m.ack = f.ack;
	m.content_type = f.ctype;
	m.content_encoding = f.cenc;
	m.app = app;
	struct iothub_err err;
	if (hub_c2d_send(rc->hub, t->device_id, &m, NULL, &err) != SH_OK) {
		rest_error(resp, &err, legacy);
		goto done;
	}
	resp->status = 204;
done:
	free(decoded);
	cJSON_Delete(env);
	cJSON_Delete(app);
	return out;
}
