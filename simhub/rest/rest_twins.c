/*
 * rest_twins.c: GET, PATCH and PUT /twins/{id}[/modules/{mid}] (iothub-protocol.md §8.4): the
 * full service twin with its etag in the ETag header; If-Match checked against the twin etag;
 * a desired change reaches a connected device at once (hub notify).
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "rest/rest_internal.h"

int rest_twins(struct rest_ctx *rc, const struct rest_target *t, const struct rest_request *req,
	       struct rest_response *resp)
{
	struct iothub_err err;
	cJSON *out = NULL, *body = NULL;
	sh_rc hrc;
	if (req->method == REST_GET) {
		hrc = hub_twin_get(rc->hub, t->device_id, t->module_id, &out, &err);
	} else {
		body = rest_body_json(req, resp, t->legacy_errors);
		if (!body)
			return 1;
		if (!cJSON_IsObject(body)) {
			cJSON_Delete(body);
			rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, t->legacy_errors,
					"the twin body must be a JSON object");
			return 1;
		}
		hrc = req->method == REST_PATCH
			? hub_twin_service_patch(rc->hub, t->device_id, t->module_id, body, req->if_match, &out, &err)
			: hub_twin_replace(rc->hub, t->device_id, t->module_id, body, req->if_match, &out, &err);
		cJSON_Delete(body);
	}
	if (hrc != SH_OK) {
		rest_error(resp, &err, t->legacy_errors);
		return 1;
	}
	const cJSON *etag = cJSON_GetObjectItemCaseSensitive(out, "etag");
	if (cJSON_IsString(etag))
		snprintf(resp->etag, sizeof resp->etag, "%s", etag->valuestring);
	rest_json(resp, 200, out);
	return 1;
}
