/*
 * main.c: the `simhub` binary: finds the verb in argv, parses its options against the verb's
 * table, and runs it. Every verb has --help; usage errors exit 2, failed operations 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/cli.h"
#include "app/scenario_run.h"

#ifndef SIMHUB_VERSION
#define SIMHUB_VERSION "0.1.0"
#endif

static const struct cli_verb *const verb_tables[] = {
	cli_verbs_serve, cli_verbs_registry, cli_verbs_twin, cli_verbs_x509, cli_verbs_ca,
	cli_verbs_remote, cli_verbs_test, cli_verbs_security,
};

static void print_usage(FILE *out)
{
	fprintf(out,
		"simhub %s: a local Azure IoT Hub emulator and test harness\n\n"
		"usage: simhub VERB [ARGS] [--db PATH] [--json]\n"
		"       simhub VERB --help\n\nverbs:\n", SIMHUB_VERSION);
	for (size_t t = 0; t < sizeof verb_tables / sizeof verb_tables[0]; t++) {
		for (const struct cli_verb *v = verb_tables[t]; v->name; v++) {
			char head[64];
			snprintf(head, sizeof head, "%s%s%s", v->group ? v->group : "",
				 v->group ? " " : "", v->name);
			fprintf(out, "  %-20s %s\n", head, v->summary);
		}
	}
	fprintf(out,
		"\ncommon options:\n"
		"  --db PATH            SQLite database (default $SIMHUB_DB, else %s;\n"
		"                       ':memory:' for a throw-away hub)\n"
		"  --json               machine-readable output where a verb prints data\n"
		"  --help               help for the verb\n"
		"\nexit codes: 0 success, 1 the operation failed, 2 usage error\n",
		CLI_DEFAULT_DB);
}

static const struct cli_opt *find_opt(const struct cli_verb *v, const char *name);

static void print_verb_help(const struct cli_verb *v, FILE *out)
{
	fprintf(out, "usage: simhub %s%s%s%s%s [options]\n\n%s\n", v->group ? v->group : "",
		v->group ? " " : "", v->name, v->args ? " " : "", v->args ? v->args : "", v->summary);
	if (v->details)
		fprintf(out, "\n%s\n", v->details);
	fprintf(out, "\noptions:\n");
	for (const struct cli_opt *o = v->opts; o && o->name; o++) {
		char head[64];
		snprintf(head, sizeof head, "--%s%s%s", o->name, o->value ? " " : "",
			 o->value ? o->value : "");
		fprintf(out, "  %-24s %s\n", head, o->help);
	}
	/* A verb that gives --db or --json its own meaning (simhub test) lists only its own. */
	if (!find_opt(v, "db"))
		fprintf(out, "  %-24s %s\n", "--db PATH",
			"SQLite database (default $SIMHUB_DB, else " CLI_DEFAULT_DB ")");
	if (!find_opt(v, "json"))
		fprintf(out, "  %-24s %s\n", "--json", "machine-readable output");
	fprintf(out, "  %-24s %s\n", "--help", "this help");
}

static const struct cli_verb *find_verb(const char *a, const char *b, int *consumed)
{
	for (size_t t = 0; t < sizeof verb_tables / sizeof verb_tables[0]; t++) {
		for (const struct cli_verb *v = verb_tables[t]; v->name; v++) {
			if (!v->group && strcmp(v->name, a) == 0) {
				*consumed = 1;
				return v;
			}
			if (v->group && strcmp(v->group, a) == 0 && b && strcmp(v->name, b) == 0) {
				*consumed = 2;
				return v;
			}
		}
	}
	return NULL;
}

/* Print the verbs of a group (e.g. "simhub device") to out. Returns 0 if the group exists. */
static int print_group(const char *group, FILE *out)
{
	int found = 0;
	for (size_t t = 0; t < sizeof verb_tables / sizeof verb_tables[0]; t++) {
		for (const struct cli_verb *v = verb_tables[t]; v->name; v++) {
			if (!v->group || strcmp(v->group, group) != 0)
				continue;
			if (!found)
				fprintf(out, "usage: simhub %s VERB [ARGS] [options]\n\nverbs:\n", group);
			found = 1;
			fprintf(out, "  %s %-12s %s\n", group, v->name, v->summary);
		}
	}
	if (found)
		fprintf(out, "\n'simhub %s VERB --help' for the options of each\n", group);
	return found ? 0 : -1;
}

static const struct cli_opt *find_opt(const struct cli_verb *v, const char *name)
{
	for (const struct cli_opt *o = v->opts; o && o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

/*
 * Parse the verb's options and positional arguments (argv[first..]; pos has room for argc
 * entries) and run it. The usage errors name the option and the verb.
 */
static int run_verb(const struct cli_verb *v, int first, int argc, char **argv, const char **pos)
{
	struct cli_ctx ctx;
	memset(&ctx, 0, sizeof ctx);
	ctx.verb = v;
	ctx.pos = pos;
	ctx.db = getenv("SIMHUB_DB") ? getenv("SIMHUB_DB") : CLI_DEFAULT_DB;
	int only_pos = 0;
	for (int i = first; i < argc; i++) {
		const char *a = argv[i];
		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (!only_pos && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
			print_verb_help(v, stdout);
			return CLI_OK;
		}
		if (!only_pos && a[0] == '-' && a[1] == '-' && a[2]) {
			char name[64];
			const char *eq = strchr(a + 2, '=');
			size_t nlen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			if (nlen >= sizeof name)
				return cli_error(CLI_USAGE, "unknown option '%s'", a);
			memcpy(name, a + 2, nlen);
			name[nlen] = '\0';
			/* --json is a flag, unless the verb takes --json FILE (simhub test). */
			if (strcmp(name, "json") == 0 && !eq && !find_opt(v, "json")) {
				ctx.json = true;
				continue;
			}
			const struct cli_opt *o = find_opt(v, name);
			int is_db = strcmp(name, "db") == 0;
			if (!o && !is_db)
				return cli_error(CLI_USAGE, "unknown option '--%s' for '%s%s%s' (see --help)",
						 name, v->group ? v->group : "", v->group ? " " : "", v->name);
			const char *val = NULL;
			if (is_db || o->value) {
				if (eq)
					val = eq + 1;
				else if (i + 1 < argc)
					val = argv[++i];
				else
					return cli_error(CLI_USAGE, "option '--%s' needs a value", name);
			} else if (eq) {
				return cli_error(CLI_USAGE, "option '--%s' takes no value", name);
			}
			if (is_db) {
				if (!*val)
					return cli_error(CLI_USAGE, "--db needs a path");
				ctx.db = val;
				continue;
			}
			if (ctx.nopt >= (int)(sizeof ctx.opt_name / sizeof ctx.opt_name[0]))
				return cli_error(CLI_USAGE, "too many options");
			ctx.opt_name[ctx.nopt] = o->name;
			ctx.opt_value[ctx.nopt] = val;
			ctx.nopt++;
			continue;
		}
		ctx.pos[ctx.npos++] = a;
	}
	if (ctx.npos < v->min_pos || ctx.npos > v->max_pos) {
		fprintf(stderr, "simhub: '%s%s%s' takes %s%s\n", v->group ? v->group : "",
			v->group ? " " : "", v->name, v->args ? v->args : "no arguments",
			v->args ? "" : "");
		fprintf(stderr, "usage: simhub %s%s%s %s (see --help)\n", v->group ? v->group : "",
			v->group ? " " : "", v->name, v->args ? v->args : "");
		return CLI_USAGE;
	}
	int rc = v->run(&ctx);
	cli_close(&ctx);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		print_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("simhub %s\n", SIMHUB_VERSION);
		return CLI_OK;
	}
	int consumed = 0;
	const struct cli_verb *v = find_verb(argv[1], argc > 2 ? argv[2] : NULL, &consumed);
	if (!v) {
		int help = argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0);
		if (print_group(argv[1], help ? stdout : stderr) == 0) {
			if (help)
				return CLI_OK;
			return argc > 2 ? cli_error(CLI_USAGE, "unknown verb '%s %s'", argv[1], argv[2])
					: CLI_USAGE;
		}
		cli_error(CLI_USAGE, "unknown verb '%s' (see 'simhub --help')", argv[1]);
		return CLI_USAGE;
	}

	const char **pos = calloc((size_t)argc, sizeof *pos);   /* never more than argv has */
	if (!pos)
		return cli_error(CLI_FAIL, "out of memory");
	int rc = run_verb(v, 1 + consumed, argc, argv, pos);
	free(pos);
	return rc;
}
