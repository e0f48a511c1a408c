/*
 * rest_query.c: POST /devices/query (iothub-protocol.md §8.6, §9): run an IoT Hub query
 * (core/query) over the device or module twins, a page at a time. The page size comes from
 * x-ms-max-item-count (default 100, at most 1000), the position from x-ms-continuation (an
 * opaque offset); x-ms-continuation is sent only when more rows follow (the Node SDK loops while
 * it is present), x-ms-item-type is Twin for SELECT * and Raw otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/query.h"
#include "rest/rest_internal.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000

struct run {
	struct rest_ctx *rc;
	struct query *q;
	struct query_groups *groups;   /* aggregates */
	cJSON *rows;                    /* non-aggregates */
	const char *device_id;          /* set while walking one device's modules */
	sh_rc failed;
};

/* One twin: fold it or, when it matches, project it. */
static void consider(struct run *r, const char *device_id, const char *module_id)
{
	cJSON *twin = NULL;
	struct iothub_err err;
	if (hub_twin_get(r->rc->hub, device_id, module_id, &twin, &err) != SH_OK)
		return;   /* deleted meanwhile: not a row */
	if (r->groups) {
		if (query_groups_add(r->groups, twin) != SH_OK)
			r->failed = SH_E_NOMEM;
	} else if (query_match(r->q, twin)) {
		cJSON *row = query_project(r->q, twin);
		if (row)
			cJSON_AddItemToArray(r->rows, row);
		else
			r->failed = SH_E_NOMEM;
	}
	cJSON_Delete(twin);
}

static sh_rc on_module(void *arg, const struct sh_identity *id)
{
	struct run *r = arg;
	consider(r, id->device_id, id->module_id);
	return r->failed;
}

static sh_rc on_device(void *arg, const struct sh_identity *id)
{
	struct run *r = arg;
	if (query_from(r->q) == QUERY_FROM_DEVICES) {
		consider(r, id->device_id, NULL);
		return r->failed;
	}
	struct iothub_err err;
	sh_rc rc = hub_identity_each(r->rc->hub, id->device_id, on_module, r, &err);
	return rc == SH_E_NOTFOUND ? SH_OK : rc;
}

/* A non-negative integer header, or `fallback` when absent; -1 when malformed. */
static long int_header(const struct rest_request *req, const char *name, long fallback)
{
	char buf[32];
	const char *v = rest_header(req, name, buf, sizeof buf);
	if (!v || !*v)
		return fallback;
	char *end;
	long n = strtol(v, &end, 10);
	return *end || n < 0 ? -1 : n;
}

int rest_query(struct rest_ctx *rc, const struct rest_target *t, const struct rest_request *req,
	       struct rest_response *resp)
{
	bool legacy = t->legacy_errors;
	long page = int_header(req, "x-ms-max-item-count", PAGE_DEFAULT);
	long offset = int_header(req, "x-ms-continuation", 0);
	if (page <= 0 || page > PAGE_MAX) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
				"x-ms-max-item-count must be 1 to %d", PAGE_MAX);
		return 1;
	}
	if (offset < 0) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy, "x-ms-continuation is not one of ours");
		return 1;
	}
	cJSON *body = rest_body_json(req, resp, legacy);
	if (!body)
		return 1;
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(body, "query");
	struct iothub_err err;
	struct run r = {.rc = rc};
	if (!cJSON_IsString(text)) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy, "the body needs a \"query\" string");
		goto out;
	}
	if (query_parse(text->valuestring, strlen(text->valuestring), &r.q, &err) != SH_OK) {
		rest_error(resp, &err, legacy);
		goto out;
	}
	if (query_is_aggregate(r.q))
		r.groups = query_groups_new(r.q);
	else
		r.rows = cJSON_CreateArray();
	if ((query_is_aggregate(r.q) && !r.groups) || (!query_is_aggregate(r.q) && !r.rows)) {
		rest_error_code(resp, IOTHUB_SERVER_ERROR, legacy, "out of memory");
		goto out;
	}
	sh_rc rcw = hub_identity_each(rc->hub, NULL, on_device, &r, &err);
	if (rcw != SH_OK || r.failed != SH_OK) {
		rest_error_code(resp, IOTHUB_SERVER_ERROR, legacy, "the query could not be run");
		goto out;
	}
	cJSON *all = r.groups ? query_groups_result(r.groups) : r.rows;
	if (!r.groups)
		r.rows = NULL;
	long total = cJSON_GetArraySize(all);
	long top = query_top(r.q);
	if (top >= 0 && top < total)
		total = top;
	cJSON *pagearr = cJSON_CreateArray();
	for (long i = offset; i < total && i < offset + page; i++)
		cJSON_AddItemToArray(pagearr, cJSON_Duplicate(cJSON_GetArrayItem(all, (int)i), 1));
	cJSON_Delete(all);
	if (offset + page < total) {
		char next[32];
		snprintf(next, sizeof next, "%ld", offset + page);
		rest_response_add_header(resp, "x-ms-continuation", next);
	}
	rest_response_add_header(resp, "x-ms-item-type",
				 query_is_select_star(r.q) ? "Twin" : "Raw");
	rest_json(resp, 200, pagearr);
out:
	query_groups_free(r.groups);
	cJSON_Delete(r.rows);
	query_free(r.q);
	cJSON_Delete(body);
	return 1;
}
