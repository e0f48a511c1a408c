/*
 * cmd_x509.c: `simhub x509-ca add|list|rm`: the certificate authorities registered with the
 * hub. A device created with `--x509-ca` connects with a certificate chained to one of them,
 * its subject CN being the device id (the module id for a module).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app/cli.h"
#include "core/isotime.h"
#include "io/tls_material.h"

/* Whole PEM file into a heap string (64 KB at most). */
static char *read_pem(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		cli_error(CLI_FAIL, "%s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(65537);
	size_t n = buf ? fread(buf, 1, 65536, f) : 0;
	int too_big = buf && n == 65536 && fgetc(f) != EOF;
	fclose(f);
	if (!buf || too_big) {
		free(buf);
		cli_error(CLI_FAIL, "%s: not a certificate (over 64 KB)", path);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static int ca_add(struct cli_ctx *ctx)
{
	char *pem = read_pem(ctx->pos[1]);
	if (!pem)
		return CLI_FAIL;
	char subject[512], err[256];
	if (tls_material_check_ca_pem(pem, subject, sizeof subject, err, sizeof err) != SH_OK) {
		free(pem);
		return cli_error(CLI_FAIL, "%s: %s", ctx->pos[1], err);
	}
	int rc = cli_open(ctx, true);
	if (rc) {
		free(pem);
		return rc;
	}
	struct iothub_err herr = {0};
	sh_rc hrc = hub_x509_ca_put(ctx->hub, ctx->pos[0], pem, &herr);
	free(pem);
	if (hrc != SH_OK)
		return cli_fail_hub("cannot register the CA", &herr);
	if (ctx->json)
		printf("{\"name\":\"%s\"}\n", ctx->pos[0]);
	else
		fprintf(stderr, "registered CA %s: %s\n", ctx->pos[0], subject);
	return CLI_OK;
}

static sh_rc list_one(void *arg, const char *name, const char *pem, int64_t added_us)
{
	cJSON *arr = arg;
	char when[ISOTIME_BUF], subject[512], err[128];
	isotime_format(added_us, when);
	if (tls_material_check_ca_pem(pem, subject, sizeof subject, err, sizeof err) != SH_OK)
		snprintf(subject, sizeof subject, "(%s)", err);
	if (arr) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", name);
		cJSON_AddStringToObject(o, "subject", subject);
		cJSON_AddStringToObject(o, "added", when);
		cJSON_AddStringToObject(o, "pem", pem);
		cJSON_AddItemToArray(arr, o);
	} else {
		printf("%-24s %s  %s\n", name, when, subject);
	}
	return SH_OK;
}

static int ca_list(struct cli_ctx *ctx)
{
	int rc = cli_open(ctx, false);
	if (rc)
		return rc;
	cJSON *arr = ctx->json ? cJSON_CreateArray() : NULL;
	if (hub_x509_ca_each(ctx->hub, list_one, arr) != SH_OK) {
		cJSON_Delete(arr);
		return cli_error(CLI_FAIL, "cannot list the CAs");
	}
	if (arr) {
		cli_print_json(arr);
		cJSON_Delete(arr);
	}
	return CLI_OK;
}

static int ca_rm(struct cli_ctx *ctx)
{
	int rc = cli_open(ctx, false);
	if (rc)
		return rc;
	struct iothub_err err = {0};
	if (hub_x509_ca_delete(ctx->hub, ctx->pos[0], &err) != SH_OK)
		return cli_fail_hub("cannot remove the CA", &err);
	return CLI_OK;
}

static const struct cli_opt no_opts[] = {{NULL, NULL, NULL}};

const struct cli_verb cli_verbs_x509[] = {
	{"x509-ca", "add", "NAME PEMFILE", "register a CA for certificateAuthority devices",
	 "Devices created with 'device add ID --x509-ca' then connect with a TLS client\n"
	 "certificate chained to a registered CA whose subject CN is the device id (the\n"
	 "module id for a module). The file must hold the CA certificate alone.",
	 no_opts, 2, 2, ca_add},
	{"x509-ca", "list", NULL, "list the registered CAs", NULL, no_opts, 0, 0, ca_list},
	{"x509-ca", "rm", "NAME", "remove a registered CA", NULL, no_opts, 1, 1, ca_rm},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
