/*
 * cmd_registry.c: the registry verbs: device and module add/list/show/rm/enable/disable,
 * `cs` (connection strings and SAS tokens) and `policy list`. Device and module verbs go
 * through the running hub's REST API when one answers (so IoT Hub's rules, etags and live
 * sessions apply), and work on the database file otherwise, with the same output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app/cli.h"
#include "core/identity_json.h"
#include "core/sas.h"
#include "store/store.h"

/* --- shared helpers -------------------------------------------------------------------------- */

/* Fill an identity request from the add options common to devices and modules. */
static int request_from_opts(struct cli_ctx *ctx, struct sh_identity *req)
{
	const char *pk = cli_opt(ctx, "primary-key"), *skey = cli_opt(ctx, "secondary-key");
	const char *thumbs[2] = {NULL, NULL};
	int nthumb = cli_opt_all(ctx, "x509-thumbprint", thumbs, 2);
	bool ca = cli_flag(ctx, "x509-ca");
	if ((nthumb || ca) && (pk || skey))
		return cli_error(CLI_USAGE, "X.509 authentication and SAS keys exclude each other");
	if (nthumb && ca)
		return cli_error(CLI_USAGE, "--x509-ca and --x509-thumbprint exclude each other");
	if (pk && strlen(pk) > SH_KEY_MAX)
		return cli_error(CLI_USAGE, "--primary-key is too long");
	if (skey && strlen(skey) > SH_KEY_MAX)
		return cli_error(CLI_USAGE, "--secondary-key is too long");
	for (int i = 0; i < nthumb; i++)
		if (strlen(thumbs[i]) > SH_THUMB_MAX)
			return cli_error(CLI_USAGE, "--x509-thumbprint must be 40 or 64 hex digits");
	req->auth_type = ca ? SH_AUTH_CA : nthumb ? SH_AUTH_SELF_SIGNED : SH_AUTH_SAS;
	snprintf(req->primary_key, sizeof req->primary_key, "%s", pk ? pk : "");
	snprintf(req->secondary_key, sizeof req->secondary_key, "%s", skey ? skey : "");
	snprintf(req->primary_thumbprint, sizeof req->primary_thumbprint, "%s",
		 nthumb > 0 ? thumbs[0] : "");
	snprintf(req->secondary_thumbprint, sizeof req->secondary_thumbprint, "%s",
		 nthumb > 1 ? thumbs[1] : "");
	return CLI_OK;
}

static int copy_id(const char *src, char *dst, size_t cap, const char *what)
{
	if (strlen(src) >= cap)
		return cli_error(CLI_FAIL, "%s is longer than %d characters (ArgumentInvalid 400004)",
				 what, SH_ID_MAX);
	strcpy(dst, src);
	return CLI_OK;
}

/* The text form of an identity; `etag` is its etag text. */
static void print_identity_text(const struct sh_identity *id, const char *etag)
{
	printf("%s%s%s\n", id->device_id, id->module_id[0] ? "/" : "", id->module_id);
	if (!id->module_id[0])
		printf("  status:        %s%s%s\n", id->status == SH_STATUS_ENABLED ? "enabled" : "disabled",
		       id->status_reason[0] ? " - " : "", id->status_reason);
	printf("  auth:          %s\n", identity_auth_str(id->auth_type));
	if (id->auth_type == SH_AUTH_SAS) {
		printf("  primaryKey:    %s\n", id->primary_key);
		printf("  secondaryKey:  %s\n", id->secondary_key);
	}
	if (id->primary_thumbprint[0])
		printf("  thumbprints:   %s %s\n", id->primary_thumbprint, id->secondary_thumbprint);
	if (id->managed_by[0])
		printf("  managedBy:     %s\n", id->managed_by);
	printf("  connection:    %s\n", id->connected ? "Connected" : "Disconnected");
	printf("  generationId:  %s\n  etag:          %s\n", id->generation_id, etag);
}

/* One line per identity in text mode; the service JSON in --json mode. */
static void print_identity(const struct cli_ctx *ctx, const struct sh_identity *id)
{
	if (ctx->json) {
		cJSON *j = identity_to_json(id);
		cli_print_json(j);
		cJSON_Delete(j);
		return;
	}
	char etag[32];
	identity_etag(id->etag_counter, etag);
	print_identity_text(id, etag);
}

/* --- through the running hub ------------------------------------------------------------------ */

struct list_state {
	struct cli_ctx *ctx;
	cJSON *arr;
	int n;
};

static sh_rc list_one(void *arg, const struct sh_identity *id);

static void jcopy(const cJSON *o, const char *name, char *out, size_t cap)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	snprintf(out, cap, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

/*
 * The fields the text form shows, from a Device or Module object of the service API (the
 * hub's answer). Unknown or missing fields stay empty; `etag` gets the object's etag.
 */
static void identity_from_service_json(const cJSON *j, struct sh_identity *id, char *etag,
				       size_t etag_cap)
{
	memset(id, 0, sizeof *id);
	char buf[64];
	jcopy(j, "deviceId", id->device_id, sizeof id->device_id);
	jcopy(j, "moduleId", id->module_id, sizeof id->module_id);
	jcopy(j, "status", buf, sizeof buf);
	id->status = strcmp(buf, "disabled") == 0 ? SH_STATUS_DISABLED : SH_STATUS_ENABLED;
	jcopy(j, "statusReason", id->status_reason, sizeof id->status_reason);
	jcopy(j, "managedBy", id->managed_by, sizeof id->managed_by);
	jcopy(j, "generationId", id->generation_id, sizeof id->generation_id);
	jcopy(j, "connectionState", buf, sizeof buf);
	id->connected = strcmp(buf, "Connected") == 0;
	const cJSON *auth = cJSON_GetObjectItemCaseSensitive(j, "authentication");
	jcopy(auth, "type", buf, sizeof buf);
	int a = identity_auth_parse(buf);
	id->auth_type = a < 0 ? SH_AUTH_SAS : (enum sh_auth)a;
	const cJSON *sk = cJSON_GetObjectItemCaseSensitive(auth, "symmetricKey");
	jcopy(sk, "primaryKey", id->primary_key, sizeof id->primary_key);
	jcopy(sk, "secondaryKey", id->secondary_key, sizeof id->secondary_key);
	const cJSON *x5 = cJSON_GetObjectItemCaseSensitive(auth, "x509Thumbprint");
	jcopy(x5, "primaryThumbprint", id->primary_thumbprint, sizeof id->primary_thumbprint);
	jcopy(x5, "secondaryThumbprint", id->secondary_thumbprint, sizeof id->secondary_thumbprint);
	jcopy(j, "etag", etag, etag_cap);
}

/* Print a hub answer (Device or Module object) as the local verbs print an identity. */
static void print_service_identity(const struct cli_ctx *ctx, const cJSON *j)
{
	if (ctx->json) {
		cli_print_json(j);
		return;
	}
	struct sh_identity id;
	char etag[128];
	identity_from_service_json(j, &id, etag, sizeof etag);
	print_identity_text(&id, etag);
}

/* "/devices/DEV[/modules/MOD]" with the ids percent-encoded. CLI_OK or CLI_USAGE (printed). */
static int registry_path(const char *dev, const char *mod, char *out, size_t cap)
{
	char edev[3 * SH_ID_MAX + 1], emod[3 * SH_ID_MAX + 1];
	if (cli_url_encode(dev, edev, sizeof edev) || cli_url_encode(mod ? mod : "", emod, sizeof emod))
		return cli_error(CLI_USAGE, "the id is too long");
	snprintf(out, cap, "/devices/%s%s%s", edev, mod && *mod ? "/modules/" : "",
		 mod && *mod ? emod : "");
	return CLI_OK;
}

/* The service JSON of a create request (PUT /devices/{id}[/modules/{mid}]). Caller frees. */
static cJSON *create_body(const struct sh_identity *req)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "deviceId", req->device_id);
	if (req->module_id[0]) {
		cJSON_AddStringToObject(j, "moduleId", req->module_id);
		if (req->managed_by[0])
			cJSON_AddStringToObject(j, "managedBy", req->managed_by);
	} else {
		cJSON_AddStringToObject(j, "status",
					req->status == SH_STATUS_DISABLED ? "disabled" : "enabled");
		if (req->status_reason[0])
			cJSON_AddStringToObject(j, "statusReason", req->status_reason);
		cJSON *cap = cJSON_AddObjectToObject(j, "capabilities");
		cJSON_AddBoolToObject(cap, "iotEdge", req->iot_edge);
	}
	cJSON *auth = cJSON_AddObjectToObject(j, "authentication");
	cJSON_AddStringToObject(auth, "type", identity_auth_str(req->auth_type));
	cJSON *sk = cJSON_AddObjectToObject(auth, "symmetricKey");
	cJSON_AddStringToObject(sk, "primaryKey", req->primary_key);
	cJSON_AddStringToObject(sk, "secondaryKey", req->secondary_key);
	cJSON *x5 = cJSON_AddObjectToObject(auth, "x509Thumbprint");
	if (req->primary_thumbprint[0])
		cJSON_AddStringToObject(x5, "primaryThumbprint", req->primary_thumbprint);
	if (req->secondary_thumbprint[0])
		cJSON_AddStringToObject(x5, "secondaryThumbprint", req->secondary_thumbprint);
	return j;
}

static int remote_create(struct cli_ctx *ctx, const struct sh_identity *req, const char *what)
{
	char path[1024];
	int rc = registry_path(req->device_id, req->module_id, path, sizeof path);
	if (rc)
		return rc;
	cJSON *body = create_body(req), *out = NULL;
	rc = cli_remote_json(ctx, "PUT", path, body, NULL, &out, NULL, what);
	cJSON_Delete(body);
	if (rc == CLI_OK)
		print_service_identity(ctx, out);
	cJSON_Delete(out);
	return rc;
}

/* Lists print the same columns as the local list_one. */
static int remote_list(struct cli_ctx *ctx, const char *device_id)
{
	char path[1024] = "/devices";
	int rc = device_id ? registry_path(device_id, NULL, path, sizeof path) : CLI_OK;
	if (rc)
		return rc;
	if (device_id)
		strncat(path, "/modules", sizeof path - strlen(path) - 1);
	cJSON *arr = NULL;
	rc = cli_remote_json(ctx, "GET", path, NULL, NULL, &arr,
			     NULL, device_id ? "cannot list modules" : "cannot list devices");
	if (rc)
		return rc;
	if (ctx->json) {
		cli_print_json(arr);
	} else {
		const cJSON *j;
		cJSON_ArrayForEach(j, arr)
		{
			struct sh_identity id;
			char etag[128];
			identity_from_service_json(j, &id, etag, sizeof etag);
			list_one(&(struct list_state){ctx, NULL, 0}, &id);
		}
		if (cJSON_GetArraySize(arr) == 0)
			fprintf(stderr, "(no %s)\n", device_id ? "modules" : "devices");
	}
	cJSON_Delete(arr);
	return CLI_OK;
}


static sh_rc list_one(void *arg, const struct sh_identity *id)
{
	struct list_state *ls = arg;
	ls->n++;
	if (ls->arr) {
		cJSON *j = identity_to_json(id);
		if (!j)
			return SH_E_NOMEM;
		cJSON_AddItemToArray(ls->arr, j);
		return SH_OK;
	}
	if (id->module_id[0])
		printf("%-40s %s\n", id->module_id, id->managed_by);
	else
		printf("%-40s %-9s %s\n", id->device_id,
		       id->status == SH_STATUS_ENABLED ? "enabled" : "disabled",
		       identity_auth_str(id->auth_type));
	return SH_OK;
}

static int list_identities(struct cli_ctx *ctx, const char *device_id)
{
	int rc = cli_remote_open(ctx, false);
	if (rc || ctx->remote)
		return rc ? rc : remote_list(ctx, device_id);
	if ((rc = cli_open(ctx, false)))
		return rc;
	struct list_state ls = {ctx, ctx->json ? cJSON_CreateArray() : NULL, 0};
	struct iothub_err err = {0};
	if (hub_identity_each(ctx->hub, device_id, list_one, &ls, &err) != SH_OK) {
		cJSON_Delete(ls.arr);
		return cli_fail_hub(device_id ? "cannot list modules" : "cannot list devices", &err);
	}
	if (ls.arr) {
		cli_print_json(ls.arr);
		cJSON_Delete(ls.arr);
	} else if (ls.n == 0) {
		fprintf(stderr, "(no %s)\n", device_id ? "modules" : "devices");
	}
	return CLI_OK;
}

/* --- device ----------------------------------------------------------------------------------- */

static int device_add(struct cli_ctx *ctx)
{
	struct sh_identity req;
	memset(&req, 0, sizeof req);
	if (copy_id(ctx->pos[0], req.device_id, sizeof req.device_id, "deviceId"))
		return CLI_FAIL;
	int rc = request_from_opts(ctx, &req);
	if (rc)
		return rc;
	req.status = cli_flag(ctx, "disabled") ? SH_STATUS_DISABLED : SH_STATUS_ENABLED;
	const char *reason = cli_opt(ctx, "status-reason");
	if (reason && strlen(reason) > SH_REASON_MAX)
		return cli_error(CLI_USAGE, "--status-reason is over %d characters", SH_REASON_MAX);
	snprintf(req.status_reason, sizeof req.status_reason, "%s", reason ? reason : "");
	req.iot_edge = cli_flag(ctx, "iot-edge");
	if ((rc = cli_remote_open(ctx, false)) || ctx->remote)
		return rc ? rc : remote_create(ctx, &req, "cannot add device");
	if ((rc = cli_open(ctx, true)))
		return rc;
	struct sh_identity out;
	struct iothub_err err = {0};
	if (hub_identity_create(ctx->hub, &req, &out, &err) != SH_OK)
		return cli_fail_hub("cannot add device", &err);
	print_identity(ctx, &out);
	return CLI_OK;
}

static int device_list(struct cli_ctx *ctx)
{
	return list_identities(ctx, NULL);
}

static int show(struct cli_ctx *ctx, const char *dev, const char *mod)
{
	int rc = cli_remote_open(ctx, false);
	if (rc)
		return rc;
	if (ctx->remote) {
		char path[1024];
		cJSON *out = NULL;
		if ((rc = registry_path(dev, mod, path, sizeof path)) ||
		    (rc = cli_remote_json(ctx, "GET", path, NULL, NULL, &out, NULL, "cannot show")))
			return rc;
		print_service_identity(ctx, out);
		cJSON_Delete(out);
		return CLI_OK;
	}
	if ((rc = cli_open(ctx, false)))
		return rc;
	struct sh_identity id;
	struct iothub_err err = {0};
	if (hub_identity_get(ctx->hub, dev, mod, &id, &err) != SH_OK)
		return cli_fail_hub("cannot show", &err);
	print_identity(ctx, &id);
	return CLI_OK;
}

static int remove_identity(struct cli_ctx *ctx, const char *dev, const char *mod)
{
	int rc = cli_remote_open(ctx, false);
	if (rc)
		return rc;
	if (ctx->remote) {
		char path[1024], etag[140];
		const char *im = cli_opt(ctx, "if-match");
		/* IoT Hub wants If-Match on DELETE: "*" unless the user gave an etag (quoted here). */
		snprintf(etag, sizeof etag, im && im[0] != '"' && strcmp(im, "*") ? "\"%s\"" : "%s",
			 im ? im : "*");
		struct hubclient_header h[] = {{"If-Match", etag}, {NULL, NULL}};
		cJSON *out = NULL;
		if ((rc = registry_path(dev, mod, path, sizeof path)) ||
		    (rc = cli_remote_json(ctx, "DELETE", path, NULL, h, &out, NULL, "cannot remove")))
			return rc;
		cJSON_Delete(out);
	} else {
		if ((rc = cli_open(ctx, false)))
			return rc;
		struct iothub_err err = {0};
		if (hub_identity_delete(ctx->hub, dev, mod, cli_opt(ctx, "if-match"), &err) != SH_OK)
			return cli_fail_hub("cannot remove", &err);
	}
	if (!ctx->json)
		fprintf(stderr, "removed %s%s%s\n", dev, mod && mod[0] ? "/" : "", mod ? mod : "");
	else
		printf("{\"removed\":true}\n");
	return CLI_OK;
}

static int device_show(struct cli_ctx *ctx)
{
	return show(ctx, ctx->pos[0], NULL);
}

static int device_rm(struct cli_ctx *ctx)
{
	return remove_identity(ctx, ctx->pos[0], NULL);
}

/* Enable or disable through the hub: GET the device, PUT it back changed with its etag. */
static int remote_set_status(struct cli_ctx *ctx, enum sh_status status)
{
	const char *what = status == SH_STATUS_ENABLED ? "cannot enable" : "cannot disable";
	char path[1024], etag[128], quoted[140];
	cJSON *dev = NULL, *out = NULL;
	int rc = registry_path(ctx->pos[0], NULL, path, sizeof path);
	if (rc || (rc = cli_remote_json(ctx, "GET", path, NULL, NULL, &dev, etag, what)))
		return rc;
	const char *reason = cli_opt(ctx, "reason");
	cJSON_ReplaceItemInObjectCaseSensitive(
		dev, "status", cJSON_CreateString(status == SH_STATUS_ENABLED ? "enabled" : "disabled"));
	cJSON_DeleteItemFromObjectCaseSensitive(dev, "statusReason");
	if (reason)
		cJSON_AddStringToObject(dev, "statusReason", reason);
	snprintf(quoted, sizeof quoted, "%s", etag[0] ? etag : "*");
	struct hubclient_header h[] = {{"If-Match", quoted}, {NULL, NULL}};
	rc = cli_remote_json(ctx, "PUT", path, dev, h, &out, NULL, what);
	cJSON_Delete(dev);
	if (rc == CLI_OK)
		print_service_identity(ctx, out);
	cJSON_Delete(out);
	return rc;
}

static int set_status(struct cli_ctx *ctx, enum sh_status status)
{
	int rc = cli_remote_open(ctx, false);
	if (rc || ctx->remote)
		return rc ? rc : remote_set_status(ctx, status);
	if ((rc = cli_open(ctx, false)))
		return rc;
	struct sh_identity out;
	struct iothub_err err = {0};
	if (hub_identity_set_status(ctx->hub, ctx->pos[0], NULL, status, cli_opt(ctx, "reason"), &out,
				    &err) != SH_OK)
		return cli_fail_hub(status == SH_STATUS_ENABLED ? "cannot enable" : "cannot disable",
				    &err);
	print_identity(ctx, &out);
	return CLI_OK;
}

static int device_enable(struct cli_ctx *ctx)
{
	return set_status(ctx, SH_STATUS_ENABLED);
}

static int device_disable(struct cli_ctx *ctx)
{
	return set_status(ctx, SH_STATUS_DISABLED);
}

/* --- module ----------------------------------------------------------------------------------- */

/* Module verbs take "DEVICE MODULE" or "DEVICE/MODULE". */
static int module_args(struct cli_ctx *ctx, char *dev, char *mod)
{
	if (ctx->npos == 2) {
		if (copy_id(ctx->pos[0], dev, SH_ID_MAX + 1, "deviceId") ||
		    copy_id(ctx->pos[1], mod, SH_ID_MAX + 1, "moduleId"))
			return CLI_FAIL;
		return CLI_OK;
	}
	if (cli_split_identity(ctx->pos[0], dev, SH_ID_MAX + 1, mod, SH_ID_MAX + 1) != 0 || !mod[0])
		return cli_error(CLI_USAGE, "expected DEVICE MODULE or DEVICE/MODULE, got '%s'",
				 ctx->pos[0]);
	return CLI_OK;
}

static int module_add(struct cli_ctx *ctx)
{
	struct sh_identity req;
	memset(&req, 0, sizeof req);
	int rc = module_args(ctx, req.device_id, req.module_id);
	if (rc)
		return rc;
	if ((rc = request_from_opts(ctx, &req)))
		return rc;
	const char *mb = cli_opt(ctx, "managed-by");
	if (mb && strlen(mb) > SH_ID_MAX)
		return cli_error(CLI_USAGE, "--managed-by is too long");
	snprintf(req.managed_by, sizeof req.managed_by, "%s", mb ? mb : "");
	if ((rc = cli_remote_open(ctx, false)) || ctx->remote)
		return rc ? rc : remote_create(ctx, &req, "cannot add module");
	if ((rc = cli_open(ctx, true)))
		return rc;
	struct sh_identity out;
	struct iothub_err err = {0};
	if (hub_identity_create(ctx->hub, &req, &out, &err) != SH_OK)
		return cli_fail_hub("cannot add module", &err);
	print_identity(ctx, &out);
	return CLI_OK;
}

static int module_list(struct cli_ctx *ctx)
{
	char dev[SH_ID_MAX + 1];
	if (copy_id(ctx->pos[0], dev, sizeof dev, "deviceId"))
		return CLI_FAIL;
	return list_identities(ctx, dev);
}

static int module_show(struct cli_ctx *ctx)
{
	char dev[SH_ID_MAX + 1], mod[SH_ID_MAX + 1];
	int rc = module_args(ctx, dev, mod);
	return rc ? rc : show(ctx, dev, mod);
}

static int module_rm(struct cli_ctx *ctx)
{
	char dev[SH_ID_MAX + 1], mod[SH_ID_MAX + 1];
	int rc = module_args(ctx, dev, mod);
	return rc ? rc : remove_identity(ctx, dev, mod);
}

/* --- cs ----------------------------------------------------------------------------------------- */

static int print_token(struct cli_ctx *ctx, const char *resource, const char *key, const char *skn,
		       long long ttl)
{
	long long expiry = hub_now_us(ctx->hub) / 1000000 + ttl;
	char token[1024];
	size_t len = 0;
	if (sas_build(resource, key, skn, expiry, token, sizeof token, &len) != SH_OK)
		return cli_error(CLI_FAIL, "cannot build a SAS token for %s", resource);
	if (ctx->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "sas", token);
		cJSON_AddStringToObject(j, "resource", resource);
		cJSON_AddNumberToObject(j, "expiry", (double)expiry);
		cli_print_json(j);
		cJSON_Delete(j);
	} else {
		printf("%s\n", token);
	}
	return CLI_OK;
}

static int cs(struct cli_ctx *ctx)
{
	const char *policy = cli_opt(ctx, "policy");
	const char *expiry = cli_opt(ctx, "expiry");
	const char *gateway = cli_opt(ctx, "gateway");
	long long ttl = 0;
	if (expiry && (ttl = cli_parse_duration(expiry)) <= 0)
		return cli_error(CLI_USAGE, "--expiry takes a positive duration such as 3600, 60m, 2h or 7d");
	if ((policy != NULL) == (ctx->npos == 1))
		return cli_error(CLI_USAGE, "give either DEVICE[/MODULE] or --policy NAME");
	if (policy && gateway)
		return cli_error(CLI_USAGE, "--gateway applies to device and module connection strings");
	int rc = cli_open(ctx, false);
	if (rc)
		return rc;
	struct iothub_err err = {0};
	char *text = NULL;
	if (policy) {
		struct sh_policy p;
		if (hub_policy_get(ctx->hub, policy, &p, &err) != SH_OK)
			return cli_fail_hub("cannot make a connection string", &err);
		if (expiry)
			return print_token(ctx, hub_hostname(ctx->hub), p.primary_key, p.name, ttl);
		if (hub_policy_connection_string(ctx->hub, policy, &text, &err) != SH_OK)
			return cli_fail_hub("cannot make a connection string", &err);
	} else {
		char dev[SH_ID_MAX + 1], mod[SH_ID_MAX + 1];
		if (cli_split_identity(ctx->pos[0], dev, sizeof dev, mod, sizeof mod) != 0)
			return cli_error(CLI_USAGE, "expected DEVICE or DEVICE/MODULE, got '%s'", ctx->pos[0]);
		if (expiry) {
			struct sh_identity id;
			if (hub_identity_get(ctx->hub, dev, mod, &id, &err) != SH_OK)
				return cli_fail_hub("cannot make a SAS token", &err);
			if (id.auth_type != SH_AUTH_SAS)
				return cli_error(CLI_FAIL, "%s does not use SAS keys", ctx->pos[0]);
			char resource[600];
			snprintf(resource, sizeof resource, "%s/devices/%s%s%s", hub_hostname(ctx->hub), dev,
				 mod[0] ? "/modules/" : "", mod);
			return print_token(ctx, resource, id.primary_key, NULL, ttl);
		}
		if (hub_connection_string(ctx->hub, dev, mod, gateway, &text, &err) != SH_OK)
			return cli_fail_hub("cannot make a connection string", &err);
	}
	if (ctx->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "connectionString", text);
		cli_print_json(j);
		cJSON_Delete(j);
	} else {
		printf("%s\n", text);
	}
	free(text);
	return CLI_OK;
}

/* --- policy ------------------------------------------------------------------------------------- */

static sh_rc policy_one(void *arg, const struct sh_policy *p)
{
	cJSON *arr = arg;
	char rights[128];
	hub_rights_str(p->rights, rights, sizeof rights);
	if (arr) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "keyName", p->name);
		cJSON_AddStringToObject(o, "primaryKey", p->primary_key);
		cJSON_AddStringToObject(o, "secondaryKey", p->secondary_key);
		cJSON_AddStringToObject(o, "rights", rights);
		cJSON_AddItemToArray(arr, o);
	} else {
		printf("%-20s %-60s %s\n", p->name, rights, p->primary_key);
	}
	return SH_OK;
}

static int policy_list(struct cli_ctx *ctx)
{
	int rc = cli_open(ctx, false);
	if (rc)
		return rc;
	cJSON *arr = ctx->json ? cJSON_CreateArray() : NULL;
	if (hub_policy_each(ctx->hub, policy_one, arr) != SH_OK) {
		cJSON_Delete(arr);
		return cli_error(CLI_FAIL, "cannot list policies: %s", store_errmsg(hub_store(ctx->hub)));
	}
	if (arr) {
		cli_print_json(arr);
		cJSON_Delete(arr);
	}
	return CLI_OK;
}

/* --- tables ------------------------------------------------------------------------------------- */

static const struct cli_opt add_opts[] = {
	{"primary-key", "KEY", "SAS primary key, base64 of 16-64 bytes (default: generated)"},
	{"secondary-key", "KEY", "SAS secondary key (default: generated)"},
	{"x509-thumbprint", "HEX", "selfSigned X.509 thumbprint (repeat for the secondary)"},
	{"x509-ca", NULL, "X.509 certificateAuthority: a certificate from a registered CA, CN = id"},
	{"disabled", NULL, "create it disabled"},
	{"status-reason", "TEXT", "statusReason to record"},
	{"iot-edge", NULL, "mark the device as an IoT Edge device"},
	CLI_REMOTE_OPTS,
	{NULL, NULL, NULL},
};
static const struct cli_opt module_add_opts[] = {
	{"primary-key", "KEY", "SAS primary key, base64 of 16-64 bytes (default: generated)"},
	{"secondary-key", "KEY", "SAS secondary key (default: generated)"},
	{"x509-thumbprint", "HEX", "selfSigned X.509 thumbprint (repeat for the secondary)"},
	{"x509-ca", NULL, "X.509 certificateAuthority: a certificate from a registered CA, CN = id"},
	{"managed-by", "NAME", "managedBy of the module (e.g. IotEdge)"},
	CLI_REMOTE_OPTS,
	{NULL, NULL, NULL},
};
static const struct cli_opt rm_opts[] = {
	{"if-match", "ETAG", "only remove if the identity etag still matches"},
	CLI_REMOTE_OPTS,
	{NULL, NULL, NULL},
};
static const struct cli_opt status_opts[] = {
	{"reason", "TEXT", "statusReason to record"},
	CLI_REMOTE_OPTS,
	{NULL, NULL, NULL},
};
static const struct cli_opt no_opts[] = {{NULL, NULL, NULL}};
static const struct cli_opt remote_opts[] = {CLI_REMOTE_OPTS, {NULL, NULL, NULL}};
static const struct cli_opt cs_opts[] = {
	{"policy", "NAME", "the service connection string of a shared access policy"},
	{"gateway", "HOST", "add GatewayHostName=HOST (the SDKs connect there, sign for HostName)"},
	{"expiry", "DURATION", "print a SAS token valid for DURATION (3600, 60m, 2h, 7d) instead"},
	{NULL, NULL, NULL},
};

#define REGISTRY_NOTE                                                                             \
	"Goes through the running hub (--hub, or the ready file beside --db) when one\n"           \
	"answers, else works on the database file."

const struct cli_verb cli_verbs_registry[] = {
	{"device", "add", "DEVICE", "create a device identity", REGISTRY_NOTE, add_opts, 1, 1,
	 device_add},
	{"device", "list", NULL, "list device identities", REGISTRY_NOTE, remote_opts, 0, 0,
	 device_list},
	{"device", "show", "DEVICE", "show a device identity (keys included)", REGISTRY_NOTE,
	 remote_opts, 1, 1, device_show},
	{"device", "get", "DEVICE", "the same as 'device show'", REGISTRY_NOTE, remote_opts, 1, 1,
	 device_show},
	{"device", "rm", "DEVICE", "delete a device, its modules and their twins", REGISTRY_NOTE,
	 rm_opts, 1, 1, device_rm},
	{"device", "enable", "DEVICE", "enable a device", REGISTRY_NOTE, status_opts, 1, 1,
	 device_enable},
	{"device", "disable", "DEVICE", "disable a device (it can no longer connect)", REGISTRY_NOTE,
	 status_opts, 1, 1, device_disable},
	{"module", "add", "DEVICE MODULE", "create a module identity on a device",
	 "DEVICE/MODULE is accepted too.\n" REGISTRY_NOTE, module_add_opts, 1, 2, module_add},
	{"module", "list", "DEVICE", "list the modules of a device", REGISTRY_NOTE, remote_opts, 1, 1,
	 module_list},
	{"module", "show", "DEVICE MODULE", "show a module identity",
	 "DEVICE/MODULE is accepted too.\n" REGISTRY_NOTE, remote_opts, 1, 2, module_show},
	{"module", "get", "DEVICE MODULE", "the same as 'module show'",
	 "DEVICE/MODULE is accepted too.\n" REGISTRY_NOTE, remote_opts, 1, 2, module_show},
	{"module", "rm", "DEVICE MODULE", "delete a module and its twin",
	 "DEVICE/MODULE is accepted too.\n" REGISTRY_NOTE, rm_opts, 1, 2, module_rm},
	{NULL, "cs", "DEVICE[/MODULE]", "print a connection string (or a SAS token with --expiry)",
	 "Device and module connection strings use the identity's primary key and the hub's\n"
	 "hostname. 'simhub cs --policy iothubowner' prints the service connection string.",
	 cs_opts, 0, 1, cs},
	{"policy", "list", NULL, "list the shared access policies with their rights and keys", NULL,
	 no_opts, 0, 0, policy_list},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
