/*
 * cmd_twin.c: the twin verbs: show (service or device view), patch-desired, patch-tags.
 * They go through the running hub's REST API when one answers, so a connected device gets
 * its desired patch at once; otherwise they work on the database file. --device-view has no
 * REST form and always reads the database.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app/cli.h"

static int identity_arg(const char *arg, char *dev, char *mod)
{
	if (cli_split_identity(arg, dev, SH_ID_MAX + 1, mod, SH_ID_MAX + 1) != 0)
		return cli_error(CLI_USAGE, "expected DEVICE or DEVICE/MODULE, got '%s'", arg);
	return CLI_OK;
}

/* "/twins/DEV[/modules/MOD]" with percent-encoded ids. */
static int twin_path(const char *dev, const char *mod, char *out, size_t cap)
{
	char edev[3 * SH_ID_MAX + 1], emod[3 * SH_ID_MAX + 1];
	if (cli_url_encode(dev, edev, sizeof edev) || cli_url_encode(mod, emod, sizeof emod))
		return cli_error(CLI_USAGE, "the id is too long");
	snprintf(out, cap, "/twins/%s%s%s", edev, mod[0] ? "/modules/" : "", mod[0] ? emod : "");
	return CLI_OK;
}

static int twin_show(struct cli_ctx *ctx)
{
	char dev[SH_ID_MAX + 1], mod[SH_ID_MAX + 1];
	int rc = identity_arg(ctx->pos[0], dev, mod);
	if (rc)
		return rc;
	if (!cli_flag(ctx, "device-view") && ((rc = cli_remote_open(ctx, false)) || ctx->remote)) {
		char path[1024];
		cJSON *twin = NULL;
		if (rc || (rc = twin_path(dev, mod, path, sizeof path)) ||
		    (rc = cli_remote_json(ctx, "GET", path, NULL, NULL, &twin, NULL,
					  "cannot show the twin")))
			return rc;
		cli_print_json(twin);
		cJSON_Delete(twin);
		return CLI_OK;
	}
	if ((rc = cli_open(ctx, false)))
		return rc;
	cJSON *twin = NULL;
	struct iothub_err err = {0};
	sh_rc hrc = cli_flag(ctx, "device-view")
			    ? hub_twin_device_view(ctx->hub, dev, mod, &twin, &err)
			    : hub_twin_get(ctx->hub, dev, mod, &twin, &err);
	if (hrc != SH_OK)
		return cli_fail_hub("cannot show the twin", &err);
	cli_print_json(twin);
	cJSON_Delete(twin);
	return CLI_OK;
}

static int twin_patch(struct cli_ctx *ctx, int tags)
{
	char dev[SH_ID_MAX + 1], mod[SH_ID_MAX + 1];
	int rc = identity_arg(ctx->pos[0], dev, mod);
	if (rc)
		return rc;
	cJSON *patch = cli_read_json_arg(ctx->npos > 1 ? ctx->pos[1] : "-", "patch");
	if (!patch)
		return CLI_FAIL;
	if (!cJSON_IsObject(patch)) {
		cJSON_Delete(patch);
		return cli_error(CLI_USAGE, "the patch must be a JSON object such as '{\"interval\":5}'");
	}
	const char *what = tags ? "cannot patch tags" : "cannot patch desired properties";
	cJSON *twin = NULL;
	if ((rc = cli_remote_open(ctx, false)) || ctx->remote) {
		/* PATCH /twins/{id}: {"tags": patch} or {"properties": {"desired": patch}} */
		char path[1024];
		const char *im = cli_opt(ctx, "if-match");
		char etag[140];
		snprintf(etag, sizeof etag, im && im[0] != '"' && strcmp(im, "*") ? "\"%s\"" : "%s",
			 im ? im : "*");
		struct hubclient_header h[] = {{"If-Match", etag}, {NULL, NULL}};
		cJSON *body = cJSON_CreateObject();
		if (tags) {
			cJSON_AddItemToObject(body, "tags", patch);
		} else {
			cJSON *props = cJSON_AddObjectToObject(body, "properties");
			cJSON_AddItemToObject(props, "desired", patch);
		}
		if (!rc && !(rc = twin_path(dev, mod, path, sizeof path)))
			rc = cli_remote_json(ctx, "PATCH", path, body, h, &twin, NULL, what);
		cJSON_Delete(body);
		if (rc)
			return rc;
	} else {
		if ((rc = cli_open(ctx, false))) {
			cJSON_Delete(patch);
			return rc;
		}
		struct iothub_err err = {0};
		sh_rc hrc = tags ? hub_twin_patch_tags(ctx->hub, dev, mod, patch, &twin, &err)
				 : hub_twin_patch_desired(ctx->hub, dev, mod, patch, &twin, &err);
		cJSON_Delete(patch);
		if (hrc != SH_OK)
			return cli_fail_hub(what, &err);
	}
	if (ctx->json)
		cli_print_json(twin);
	else
		fprintf(stderr, "twin of %s updated: version %d\n", ctx->pos[0],
			cJSON_GetObjectItemCaseSensitive(twin, "version")
				? cJSON_GetObjectItemCaseSensitive(twin, "version")->valueint : 0);
	cJSON_Delete(twin);
	return CLI_OK;
}

static int twin_patch_desired(struct cli_ctx *ctx)
{
	return twin_patch(ctx, 0);
}

static int twin_patch_tags(struct cli_ctx *ctx)
{
	return twin_patch(ctx, 1);
}

static const struct cli_opt show_opts[] = {
	{"device-view", NULL, "what the device sees on a twin GET (read from the database)"},
	CLI_REMOTE_OPTS,
	{NULL, NULL, NULL},
};
static const struct cli_opt patch_opts[] = {
	{"if-match", "ETAG", "only patch if the twin etag still matches (through a running hub)"},
	CLI_REMOTE_OPTS,
	{NULL, NULL, NULL},
};

#define TWIN_NOTE                                                                                 \
	"Goes through the running hub (--hub, or the ready file beside --db) when one\n"           \
	"answers, so a connected device gets desired changes at once; else works on the\n"        \
	"database file."

const struct cli_verb cli_verbs_twin[] = {
	{"twin", "show", "DEVICE[/MODULE]", "print a twin as the service API returns it", TWIN_NOTE,
	 show_opts, 1, 1, twin_show},
	{"twin", "get", "DEVICE[/MODULE]", "the same as 'twin show'", TWIN_NOTE, show_opts, 1, 1,
	 twin_show},
	{"twin", "patch-desired", "DEVICE[/MODULE] [JSON]", "merge-patch the desired properties",
	 "JSON is a desired-properties object such as '{\"interval\":5}'; null deletes a key.\n"
	 "Give '-' or leave it out to read stdin, or '@FILE' to read a file.\n" TWIN_NOTE,
	 patch_opts, 1, 2, twin_patch_desired},
	{"twin", "patch-tags", "DEVICE[/MODULE] [JSON]", "merge-patch the tags",
	 "JSON is a tags object such as '{\"site\":\"lab\"}'; null deletes a key.\n"
	 "Give '-' or leave it out to read stdin, or '@FILE' to read a file.\n" TWIN_NOTE,
	 patch_opts, 1, 2, twin_patch_tags},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
