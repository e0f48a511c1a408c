/*
 * rest_route.h: HTTP method + path -> which IoT Hub REST operation, with the ids captured from
 * the path (iothub-protocol.md §5, §7, §8). Pure: no I/O, no allocation; captures are spans into
 * the caller's path.
 */
#ifndef SH_REST_ROUTE_H
#define SH_REST_ROUTE_H

#include <stdbool.h>

#include "core/result.h"
#include "core/span.h"

enum rest_method { REST_GET, REST_PUT, REST_PATCH, REST_POST, REST_DELETE, REST_OTHER };

enum rest_route_id {
	ROUTE_DEVICE_LIST,        /* GET    /devices */
	ROUTE_DEVICE,             /* GET|PUT|DELETE /devices/{id} */
	ROUTE_MODULE_LIST,        /* GET    /devices/{id}/modules */
	ROUTE_MODULE,             /* GET|PUT|DELETE /devices/{id}/modules/{mid} */
	ROUTE_TWIN,               /* GET|PATCH|PUT /twins/{id}[/modules/{mid}] */
	ROUTE_METHOD,             /* POST   /twins/{id}[/modules/{mid}]/methods */
	ROUTE_STATS_DEVICES,      /* GET    /statistics/devices */
	ROUTE_STATS_SERVICE,      /* GET    /statistics/service */
	ROUTE_QUERY,              /* POST   /devices/query */
	ROUTE_BULK,               /* POST   /devices (bulk registry import, §8.2) */
	ROUTE_C2D_SEND,           /* POST   /devices/{id}/messages/deviceBound (service side) */
	/* The HTTPS device API (§7); "deviceBound" matches in any case (Node and C: devicebound). */
	ROUTE_D2C_SEND,           /* POST   /devices/{id}[/modules/{mid}]/messages/events */
	ROUTE_C2D_RECEIVE,        /* GET    /devices/{id}/messages/deviceBound */
	ROUTE_C2D_SETTLE,         /* DELETE /devices/{id}/messages/deviceBound/{lock} (?reject) */
	ROUTE_C2D_ABANDON,        /* POST   /devices/{id}/messages/deviceBound/{lock}/abandon */
	/* simhub's own read API (docs/api.md), a service token like the registry's. */
	ROUTE_SIMHUB_MESSAGES,    /* GET    /simhub/v1/messages */
	ROUTE_SIMHUB_CONNECTIONS, /* GET    /simhub/v1/connections */
	ROUTE_SIMHUB_METHODS,     /* GET    /simhub/v1/methods */
	ROUTE_SIMHUB_HEALTH,      /* GET    /simhub/v1/health */
	ROUTE_SIMHUB_EVENTS,      /* GET    /simhub/v1/events (Server-Sent Events, io/ streams) */
	ROUTE_SIMHUB_RESET,       /* POST   /simhub/v1/reset (RegistryWrite) */
	ROUTE_SIMHUB_FEEDBACK,    /* GET    /simhub/v1/c2d/feedback */
	/* The security room (rest_security.c, docs/api.md "Security"). */
	ROUTE_SIMHUB_SEC_MESSAGES, /* GET   /simhub/v1/security/messages */
	ROUTE_SIMHUB_SEC_EVENTS,   /* GET   /simhub/v1/security/events */
	ROUTE_SIMHUB_SEC_ALERTS,   /* GET   /simhub/v1/security/alerts */
	ROUTE_SIMHUB_SEC_SUMMARY,  /* GET   /simhub/v1/security/devices/{id}/summary */
	ROUTE_SIMHUB_SEC_CONFIG,   /* GET   /simhub/v1/security/devices/{id}/config */
	ROUTE_SIMHUB_SEC_ENABLE,   /* POST  /simhub/v1/security/devices/{id}/enable (RegistryWrite) */
};

struct rest_route {
	enum rest_route_id id;
	struct sh_span device_id;
	struct sh_span module_id;   /* empty unless the path names a module */
	struct sh_span lock_token;  /* empty unless the path names a C2D lock token */
};

/* True for the routes of the HTTPS device API (device-scoped SAS, not a service token). */
bool rest_route_is_device_api(enum rest_route_id id);

/* True for the routes of simhub's own API under /simhub/v1 (docs/api.md). */
bool rest_route_is_simhub_api(enum rest_route_id id);

/* True for the security routes under /simhub/v1/security (a subset of the above). */
bool rest_route_is_security_api(enum rest_route_id id);

/* "GET" -> REST_GET ...; REST_OTHER for anything else. */
enum rest_method rest_method_parse(const char *name);

/*
 * Match a decoded path (no query string; one trailing '/' tolerated) for `method`.
 * Returns SH_OK with *out filled; SH_E_NOTFOUND when no route has this path;
 * SH_E_STATE when the path exists but not for this method (HTTP 405).
 */
sh_rc rest_route_match(enum rest_method method, const char *path, size_t len, struct rest_route *out);

#endif
