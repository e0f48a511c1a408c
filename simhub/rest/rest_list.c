/*
 * rest_list.c: the query arguments and paging every list of simhub's own API shares
 * (docs/api.md "Common query arguments"): deviceId, moduleId, from, to, limit and continuation
 * in, pages with a continuation out. It reads the request and builds JSON; it never touches
 * the store but to name its last error.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/isotime.h"
#include "rest/rest_internal.h"
#include "store/store.h"

/* A non-negative decimal int64 with no sign, space or junk; false otherwise. */
static bool parse_count(const char *s, int64_t *out)
{
	int64_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return true;
}

bool rest_list_args_read(const struct rest_request *req, struct rest_response *resp, bool legacy,
			 struct rest_list_args *a)
{
	char buf[64];
	int r;
	memset(a, 0, sizeof *a);
	a->from_us = INT64_MIN;
	a->to_us = INT64_MAX;
	a->limit = REST_PAGE_DEFAULT;
	r = rest_query_get(req, "deviceId", a->device_id, sizeof a->device_id);
	if (r < 0 || (r > 0 && !a->device_id[0]))
		goto bad_id;
	a->has_device = r > 0;
	r = rest_query_get(req, "moduleId", a->module_id, sizeof a->module_id);
	if (r < 0)
		goto bad_id;
	a->has_module = r > 0;
	static const char *const times[] = {"from", "to"};
	for (int i = 0; i < 2; i++) {
		r = rest_query_get(req, times[i], buf, sizeof buf);
		if (r == 0)
			continue;
		if (r < 0 || isotime_parse(buf, strlen(buf), i == 0 ? &a->from_us : &a->to_us) != SH_OK) {
			rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
					"%s must be an ISO 8601 time such as 2025-04-01T10:00:00Z",
					times[i]);
			return false;
		}
	}
	r = rest_query_get(req, "limit", buf, sizeof buf);
	if (r != 0 &&
	    (r < 0 || !parse_count(buf, &a->limit) || a->limit < 1 || a->limit > REST_PAGE_MAX)) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
				"limit must be a whole number from 1 to %d", REST_PAGE_MAX);
		return false;
	}
	r = rest_query_get(req, "continuation", buf, sizeof buf);
	if (r != 0 && (r < 0 || !parse_count(buf, &a->after))) {
		rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
				"continuation must be the value a previous page returned");
		return false;
	}
	return true;
bad_id:
	rest_error_code(resp, IOTHUB_ARGUMENT_INVALID, legacy,
			"deviceId and moduleId must be ids of at most %d characters", SH_ID_MAX);
	return false;
}

sh_rc rest_page_room(struct rest_page *p)
{
	if (p->got == p->want) {
		p->more = true;
		return SH_E_STATE;
	}
	return SH_OK;
}

sh_rc rest_page_add(struct rest_page *p, cJSON *o, int64_t key)
{
	if (!o) {
		p->nomem = true;
		return SH_E_NOMEM;
	}
	cJSON_AddItemToArray(p->items, o);
	p->got++;
	p->last = key;
	return SH_OK;
}

int rest_page_answer(struct rest_ctx *rc, struct rest_page *p, sh_rc walk_rc, const char *key,
		     struct rest_response *resp, bool legacy)
{
	if (walk_rc != SH_OK && !(walk_rc == SH_E_STATE && p->more)) {
		cJSON_Delete(p->items);
		rest_error_code(resp, IOTHUB_SERVER_ERROR, legacy, "reading the store failed: %s",
				p->nomem ? "out of memory" : store_errmsg(hub_store(rc->hub)));
		return 1;
	}
	cJSON *root = cJSON_CreateObject();
	if (!root) {
		cJSON_Delete(p->items);
		rest_error_code(resp, IOTHUB_SERVER_ERROR, legacy, "out of memory");
		return 1;
	}
	cJSON_AddItemToObject(root, key, p->items);
	if (p->more) {
		char c[24];
		snprintf(c, sizeof c, "%" PRId64, p->last);
		cJSON_AddStringToObject(root, "continuation", c);
	}
	rest_json(resp, 200, root);
	return 1;
}
