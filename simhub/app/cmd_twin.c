/*
 * cmd_twin.c: the twin verbs: show (service or device view), patch-desired, patch-tags.
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

static int twin_show(struct cli_ctx *ctx)
{
	char dev[SH_ID_MAX + 1], mod[SH_ID_MAX + 1];
	int rc = identity_arg(ctx->pos[0], dev, mod);
	if (rc || (rc = cli_open(ctx, false)))
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
	if ((rc = cli_open(ctx, false))) {
		cJSON_Delete(patch);
		return rc;
	}
	cJSON *twin = NULL;
	struct iothub_err err = {0};
	sh_rc hrc = tags ? hub_twin_patch_tags(ctx->hub, dev, mod, patch, &twin, &err)
			 : hub_twin_patch_desired(ctx->hub, dev, mod, patch, &twin, &err);
	cJSON_Delete(patch);
	if (hrc != SH_OK)
		return cli_fail_hub(tags ? "cannot patch tags" : "cannot patch desired properties", &err);
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
	{"device-view", NULL, "what the device sees on a twin GET (desired and reported, no metadata)"},
	{NULL, NULL, NULL},
};
static const struct cli_opt no_opts[] = {{NULL, NULL, NULL}};

const struct cli_verb cli_verbs_twin[] = {
	{"twin", "show", "DEVICE[/MODULE]", "print a twin as the service API returns it", NULL,
	 show_opts, 1, 1, twin_show},
	{"twin", "patch-desired", "DEVICE[/MODULE] [JSON]", "merge-patch the desired properties",
	 "JSON is a desired-properties object such as '{\"interval\":5}'; null deletes a key.\n"
	 "Give '-' or leave it out to read stdin, or '@FILE' to read a file.",
	 no_opts, 1, 2, twin_patch_desired},
	{"twin", "patch-tags", "DEVICE[/MODULE] [JSON]", "merge-patch the tags",
	 "JSON is a tags object such as '{\"site\":\"lab\"}'; null deletes a key.\n"
	 "Give '-' or leave it out to read stdin, or '@FILE' to read a file.",
	 no_opts, 1, 2, twin_patch_tags},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
