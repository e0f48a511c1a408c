/*
 * rest_internal.h: what the REST handlers share: the context, the error and JSON answer
 * helpers, and the per-area handlers (rest_devices.c, rest_twins.c, rest_methods.c,
 * rest_c2d.c, rest_device_api.c, rest_simhub.c).
 */
#ifndef SH_REST_INTERNAL_H
#define SH_REST_INTERNAL_H

#include <stdbool.h>

#include "core/identity.h"
#include "core/iothub_error.h"
#include "hub/hub.h"
#include "hub/session.h"
#include "rest/rest.h"

struct cJSON;

/* A method call waiting for its device. */
struct rest_pending {
	struct rest_ctx *rc;
	void *conn;                  /* NULL once cancelled */
	rest_done_fn done;
	bool legacy_errors;
	struct sh_hub *hub;          /* the method-call record's hub; outlives rest_free */
	int64_t log_id;              /* its record (methods_log.c), 0 when none could be made */
	struct rest_pending *next;
};

struct rest_ctx {
	struct sh_hub *hub;
	struct hub_sessions *reg;
	struct rest_pending *pending;
	int64_t started_us;          /* hub time at rest_new, for the health answer's uptime */
};

/* The parsed target of a request: ids copied out of the path. */
struct rest_target {
	char device_id[SH_ID_MAX + 1];
	char module_id[SH_ID_MAX + 1];
	bool legacy_errors;          /* the Node service SDK only parses the legacy error text */
};

/* Fill resp with IoT Hub's error answer for err (status from the code, header, body). */
void rest_error(struct rest_response *resp, const struct iothub_err *err, bool legacy);
void rest_error_code(struct rest_response *resp, enum iothub_error code, bool legacy,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* 200 (or `status`) with a JSON body; takes ownership of j. */
void rest_json(struct rest_response *resp, int status, struct cJSON *j);
/* Parse the body as JSON; on failure fills resp with 400 and returns NULL. */
struct cJSON *rest_body_json(const struct rest_request *req, struct rest_response *resp, bool legacy);

/* --- paged lists of simhub's own API (rest_list.c; docs/api.md "Common query arguments") --- */
#define REST_PAGE_DEFAULT 100
#define REST_PAGE_MAX 1000

/* The filters every list shares, as read from the query string. */
struct rest_list_args {
	char device_id[SH_ID_MAX + 1];
	char module_id[SH_ID_MAX + 1];
	bool has_device, has_module;
	int64_t from_us, to_us;   /* INT64_MIN / INT64_MAX when absent */
	int64_t after;            /* the continuation: the last seq or id already given; 0 = none */
	int64_t limit;            /* 1..REST_PAGE_MAX, default REST_PAGE_DEFAULT */
};
/*
 * Read deviceId, moduleId, from, to, limit and continuation. Fills resp with 400 and returns
 * false on any bad value: an id too long, a time that is not ISO 8601, a limit outside
 * 1..REST_PAGE_MAX, a continuation that is not a count.
 */
bool rest_list_args_read(const struct rest_request *req, struct rest_response *resp, bool legacy,
			 struct rest_list_args *a);

/* A page being filled by a store walk: the items, how many are wanted, the last key given,
 * whether more exist. Walks ask for want + 1 rows: the extra one only says that more exist. */
struct rest_page {
	struct cJSON *items;
	int64_t want, got, last;
	bool more, nomem;
};
/* Room for one more item? SH_OK, or SH_E_STATE (marks `more`, stops the walk) when full. */
sh_rc rest_page_room(struct rest_page *p);
/* Append o (NULL: out of memory, SH_E_NOMEM) with its key, the next continuation. */
sh_rc rest_page_add(struct rest_page *p, struct cJSON *o, int64_t key);
/*
 * Answer a walk's outcome: {key: items, "continuation"?} when more rows exist, or 500 when
 * the store or memory failed. Takes the items. Returns 1 (answered).
 */
int rest_page_answer(struct rest_ctx *rc, struct rest_page *p, sh_rc walk_rc, const char *key,
		     struct rest_response *resp, bool legacy);

int rest_devices(struct rest_ctx *rc, const struct rest_route *route, const struct rest_target *t,
		 const struct rest_request *req, struct rest_response *resp);
int rest_twins(struct rest_ctx *rc, const struct rest_target *t, const struct rest_request *req,
	       struct rest_response *resp);
int rest_query(struct rest_ctx *rc, const struct rest_target *t, const struct rest_request *req,
	       struct rest_response *resp);
/*
 * POST /devices (rest_bulk.c, iothub-protocol.md §8.2): 1-100 ExportImportDevice items, each
 * applied on its own; 200 {isSuccessful, errors[], warnings[]}, 400 for a body that is not such
 * an array. Always answers now (returns 1).
 */
int rest_bulk(struct rest_ctx *rc, const struct rest_target *t, const struct rest_request *req,
	      struct rest_response *resp);
/*
 * A Device or Module JSON body into an identity request for the hub (rest_devices.c); the ids
 * come from t (borrowed). False with resp filled (400004) when the body is invalid.
 */
bool rest_parse_identity(const struct cJSON *b, const struct rest_target *t, struct sh_identity *req,
			 struct rest_response *resp);
int rest_c2d_send(struct rest_ctx *rc, const struct rest_target *t, const struct rest_request *req,
		  struct rest_response *resp);
int rest_methods(struct rest_ctx *rc, const struct rest_target *t, const struct rest_request *req,
		 struct rest_response *resp, rest_done_fn done, void *conn);
/* The HTTPS device API (rest_device_api.c); the caller has checked the device's token. */
int rest_device_api(struct rest_ctx *rc, const struct rest_route *route,
		    const struct rest_target *t, const struct rest_request *req,
		    struct rest_response *resp);

/*
 * simhub's own read API under /simhub/v1 (rest_simhub.c, docs/api.md); the caller has checked
 * the service token. Always answers now (returns 1).
 */
int rest_simhub(struct rest_ctx *rc, const struct rest_route *route, const struct rest_target *t,
		const struct rest_request *req, struct rest_response *resp);
/* simhub's security API under /simhub/v1/security (rest_security.c); caller checked auth. */
int rest_security(struct rest_ctx *rc, const struct rest_route *route, const struct rest_target *t,
		  const struct rest_request *req, struct rest_response *resp);

/*
 * Copy the value of query argument `name` (borrowed, exact case) into buf (cap bytes,
 * NUL-terminated), percent-decoding any %XX left in it. The first occurrence wins; an argument
 * without '=' has the value "". Returns 1 when found, 0 when absent, -1 when the value does not
 * fit (buf then holds "").
 */
int rest_query_get(const struct rest_request *req, const char *name, char *buf, size_t cap);

#endif
