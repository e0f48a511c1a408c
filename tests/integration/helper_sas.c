/*
 * helper_sas.c: a small CLI over core/sas for integration scripts.
 *   helper_sas sign URI KEY_B64 EXPIRY [SKN]     prints a token
 *   helper_sas verify TOKEN TARGET KEY_B64 NOW [SKN]
 *       prints "ok" (exit 0) or the refusal reason (exit 1)
 * verify checks the host (check_host on) with no clock skew. Like the hub's policy lookup, the
 * token's skn must be SKN when given and absent otherwise ("unknown-policy"). It never reads
 * the clock itself.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sas.h"

static int usage(void)
{
	fprintf(stderr, "usage: helper_sas sign URI KEY_B64 EXPIRY [SKN]\n"
			"       helper_sas verify TOKEN TARGET KEY_B64 NOW [SKN]\n");
	return 2;
}

/* Decimal seconds from argv; false on junk or overflow. */
static int parse_i64(const char *s, int64_t *out)
{
	char *end = NULL;
	errno = 0;
	intmax_t v = strtoimax(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < INT64_MIN || v > INT64_MAX)
		return 0;
	*out = (int64_t)v;
	return 1;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && argc <= 6 && strcmp(argv[1], "sign") == 0) {
		int64_t expiry;
		char tok[8192];
		if (!parse_i64(argv[4], &expiry))
			return usage();
		sh_rc rc = sas_build(argv[2], argv[3], argc == 6 ? argv[5] : NULL, expiry, tok,
				     sizeof tok, NULL);
		if (rc != SH_OK) {
			fprintf(stderr, "helper_sas: sign: %s\n", sh_rc_str(rc));
			return 1;
		}
		printf("%s\n", tok);
		return 0;
	}
	if (argc >= 6 && argc <= 7 && strcmp(argv[1], "verify") == 0) {
		int64_t now;
		struct sas_token t;
		enum sas_refusal why = SAS_REFUSAL_MALFORMED;
		const char *const keys[] = { argv[4] };
		if (!parse_i64(argv[5], &now))
			return usage();
		const char *skn = argc == 7 ? argv[6] : "";
		if (sas_parse(argv[2], strlen(argv[2]), &t) == SH_OK) {
			if (t.skn.len != strlen(skn) || memcmp(t.skn.p ? t.skn.p : "", skn, t.skn.len) != 0)
				why = SAS_REFUSAL_UNKNOWN_POLICY;
			else
				sas_check(&t, argv[3], keys, 1, now, 0, true, &why);
		}
		printf("%s\n", sas_refusal_str(why));
		return why == SAS_REFUSAL_NONE ? 0 : 1;
	}
	return usage();
}
