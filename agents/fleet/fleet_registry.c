/*
 * fleet_registry.c (agents/fleet): `fleet replay --service-cs CS --create`: makes sure every
 * identity of the replay exists on the target hub, through the registry REST API over HTTPS
 * (agents/common's agent_https request), and collects each one's primary key.
 * PUT /devices/{id} (or /devices/{id}/modules/{mid}) creates; 409 means it exists, and GET
 * reads its keys. It never touches MQTT and never signs anything itself (agent_service_token).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "agent_https.h"
#include "agent_ident.h"
#include "fleet_load.h"
#include "fleet_util.h"

/* The primary key in a device or module JSON, or NULL. */
static const char *primary_key(const cJSON *doc)
{
	const cJSON *k = cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "authentication"), "symmetricKey"),
		"primaryKey");
	return cJSON_IsString(k) && k->valuestring[0] ? k->valuestring : NULL;
}

/*
 * Create (or, when it exists, read) one identity "device" or "device/module" and store its
 * primary key. *created is set when the PUT made it. Returns 0, or -1 after logging why.
 */
static int ensure_one(const struct agent_https_req *base, const char *full, struct fleet_keys *keys,
		      bool *created)
{
	char path[600], body[600];
	const char *slash = strchr(full, '/');
	if (slash) {
		snprintf(path, sizeof path, "/devices/%.*s/modules/%s?api-version=" AGENT_API_VERSION,
			 (int)(slash - full), full, slash + 1);
		snprintf(body, sizeof body, "{\"deviceId\":\"%.*s\",\"moduleId\":\"%s\"}",
			 (int)(slash - full), full, slash + 1);
	} else {
		snprintf(path, sizeof path, "/devices/%s?api-version=" AGENT_API_VERSION, full);
		snprintf(body, sizeof body, "{\"deviceId\":\"%s\"}", full);
	}
	struct agent_https_req req = *base;
	req.method = "PUT";
	req.path = path;
	req.body = body;
	struct agent_https_res res;
	*created = false;
	if (agent_https_request(&req, &res) != SH_OK) {
		fleet_log("creating %s on https://%s:%d failed (see above)", full, req.host, req.port);
		return -1;
	}
	if (res.status == 409) {
		free(res.body);
		req.method = "GET";
		req.body = NULL;
		if (agent_https_request(&req, &res) != SH_OK || res.status != 200) {
			fleet_log("reading %s: HTTP %d", full, res.status);
			free(res.body);
			return -1;
		}
	} else if (res.status != 200 && res.status != 201) {
		fleet_log("creating %s: HTTP %d: %.200s", full, res.status, res.body);
		free(res.body);
		return -1;
	} else {
		*created = true;
	}
	cJSON *doc = cJSON_ParseWithLength(res.body, res.len);
	const char *k = primary_key(doc);
	int rc = 0;
	if (!k) {
		fleet_log("%s has no symmetric key (x509 identity?)", full);
		rc = -1;
	} else if (fleet_keys_put(keys, full, k) != 0) {
		rc = -1;
	}
	cJSON_Delete(doc);
	free(res.body);
	return rc;
}

int fleet_registry_create(const struct agent_service *svc, const char *https_host, int port,
			  const char *ca, bool insecure, char *const *ids, int n,
			  struct fleet_keys *keys)
{
	char token[AGENT_PASS_MAX];
	if (agent_service_token(svc, (int64_t)time(NULL) + 3600, token, sizeof token) != SH_OK) {
		fleet_log("--service-cs: cannot sign a token (is the key base64?)");
		return -1;
	}
	struct agent_https_req base = {.host = https_host, .port = port, .ca_file = ca,
				       .skip_name_check = insecure, .authorization = token,
				       .timeout_ms = 30000};
	int created = 0;
	for (int i = 0; i < n; i++) {
		bool made = false;
		if (ensure_one(&base, ids[i], keys, &made) != 0)
			return -1;
		created += made;
	}
	fleet_log("identities: %d created, %d already there", created, n - created);
	return 0;
}
