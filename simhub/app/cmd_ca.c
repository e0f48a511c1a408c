/*
 * cmd_ca.c: `simhub ca`: makes sure the local CA and the server certificate exist (io/
 * tls_material) and tells the user where the CA is and how each kind of client trusts it.
 * It only derives the TLS folder from --db; it never opens or creates the database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "app/cli.h"
#include "io/tls_material.h"

/* True when `s` can be pasted into a POSIX shell as is. */
static int shell_safe(const char *s)
{
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:@%,=", *s))
			return 0;
	return 1;
}

/* Print `s` for a shell command line: single-quoted (with ' as '\'') unless it is plain. */
static void print_shell(const char *s)
{
	if (shell_safe(s)) {
		fputs(s, stdout);
		return;
	}
	putchar('\'');
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*s);
	}
	putchar('\'');
}

/* Print `s` as a JavaScript string literal (a JSON string is one). */
static void print_js_string(const char *s)
{
	cJSON *j = cJSON_CreateString(s);
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;
	fputs(text ? text : "\"\"", stdout);
	cJSON_free(text);
	cJSON_Delete(j);
}

static void print_guide(const struct tls_material *m, char (*sans)[TLS_MATERIAL_NAME_MAX], size_t nsans,
			bool renewed)
{
	printf("CA certificate: %s\n", m->ca_cert);
	printf("server certificate: %s (key %s)%s\n", m->cert, m->key, renewed ? ", issued now" : "");
	printf("  names:");
	for (size_t i = 0; i < nsans; i++)
		printf("%s %s", i ? "," : "", sans[i]);
	printf("\n\nClients trust the CA certificate (ca.pem), never the server certificate:\n");
	printf("  %-22s NODE_EXTRA_CA_CERTS=", "Node.js, any SDK");
	print_shell(m->ca_cert);
	printf(" node app.js\n");
	printf("  %-22s client.setOptions({ ca: fs.readFileSync(", "Node device client");
	print_js_string(m->ca_cert);
	printf(", 'utf8') })\n");
	printf("  %-22s IoTHubDeviceClient_LL_SetOption(handle, OPTION_TRUSTED_CERT, pem);\n",
	       "azure-iot-sdk-c");
	printf("  %-22s (option \"TrustedCerts\"; pem is the text of ca.pem, not its path)\n", "");
	printf("  %-22s --cafile ", "mosquitto_pub/_sub");
	print_shell(m->ca_cert);
	printf("\n  %-22s --cacert ", "curl");
	print_shell(m->ca_cert);
	printf("\n  %-22s -CAfile ", "openssl s_client");
	print_shell(m->ca_cert);
	printf("\n  %-22s cp ", "system store (Debian)");
	print_shell(m->ca_cert);
	printf(" /usr/local/share/ca-certificates/simhub.crt && update-ca-certificates\n");
	printf("  %-22s (for libcurl-based clients, e.g. the C SDK over HTTPS, which ignore\n"
	       "  %-22s SSL_CERT_FILE)\n", "", "");
	printf("\nKeep ca.key private: with it anyone can impersonate any server to these clients.\n");
}

static int ca(struct cli_ctx *ctx)
{
	char dir[4096], err[1024];
	sh_rc rc = tls_material_dir_for_db(ctx->db, dir, sizeof dir, err, sizeof err);
	if (rc != SH_OK)
		return cli_error(CLI_FAIL, "%s", err);

	const char *names[TLS_MATERIAL_MAX_NAMES];
	int n = cli_opt_all(ctx, "hostname", names, TLS_MATERIAL_MAX_NAMES);
	/* Without --hostname, keep the extra names the current server certificate carries. */
	static char kept[TLS_MATERIAL_MAX_NAMES + 3][TLS_MATERIAL_NAME_MAX];
	char current[4096];
	struct stat sb;
	if (n == 0 && snprintf(current, sizeof current, "%s/server.pem", dir) < (int)sizeof current &&
	    stat(current, &sb) == 0) {
		size_t nk = 0;
		if (tls_material_sans(current, kept, TLS_MATERIAL_MAX_NAMES + 3, &nk, NULL, 0) == SH_OK) {
			for (size_t i = 0; i < nk; i++)
				if (!tls_material_is_default_name(kept[i]))
					names[n++] = kept[i];
		}
	}

	struct tls_material m;
	bool renewed = false;
	rc = tls_material_ensure(dir, names, (size_t)n, (int64_t)time(NULL), &m, &renewed, err, sizeof err);
	if (rc != SH_OK)
		return cli_error(rc == SH_E_INVALID ? CLI_USAGE : CLI_FAIL, "%s", err);

	static char sans[TLS_MATERIAL_MAX_NAMES + 3][TLS_MATERIAL_NAME_MAX];
	size_t nsans = 0;
	rc = tls_material_sans(m.cert, sans, TLS_MATERIAL_MAX_NAMES + 3, &nsans, err, sizeof err);
	if (rc != SH_OK)
		return cli_error(CLI_FAIL, "%s", err);

	if (!ctx->json) {
		print_guide(&m, sans, nsans, renewed);
		return CLI_OK;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON *arr = cJSON_CreateArray();
	cJSON_AddStringToObject(o, "ca", m.ca_cert);
	cJSON_AddStringToObject(o, "cert", m.cert);
	cJSON_AddStringToObject(o, "key", m.key);
	for (size_t i = 0; i < nsans; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(sans[i]));
	cJSON_AddItemToObject(o, "sans", arr);
	cli_print_json(o);
	cJSON_Delete(o);
	return CLI_OK;
}

static const struct cli_opt ca_opts[] = {
	{"hostname", "NAME", "a name the server certificate must carry (DNS name or IP); repeatable"},
	{NULL, NULL, NULL},
};

const struct cli_verb cli_verbs_ca[] = {
	{NULL, "ca", NULL, "create the local CA and server certificate; print how clients trust it",
	 "The files live in a 'tls' folder next to the database: --db ./simhub-data/simhub.db\n"
	 "uses ./simhub-data/tls/; --db :memory: uses $XDG_STATE_HOME/simhub/tls, else\n"
	 "~/.local/state/simhub/tls. Only that folder is derived from --db: the database itself\n"
	 "is never opened or created.\n"
	 "\n"
	 "The CA (ca.pem, ca.key) is created once and kept. The server certificate (server.pem,\n"
	 "server.key) names localhost, 127.0.0.1, ::1 and each --hostname; it is re-issued when\n"
	 "those names change, when it expires within 30 days, or when it no longer verifies.\n"
	 "Without --hostname the names of the existing server certificate are kept (give\n"
	 "--hostname localhost to go back to the three defaults).\n"
	 "\n"
	 "--json prints {\"ca\": path, \"cert\": path, \"key\": path, \"sans\": [names]}.",
	 ca_opts, 0, 0, ca},
	{NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL},
};
