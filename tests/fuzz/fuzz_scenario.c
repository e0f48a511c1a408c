/*
 * fuzz_scenario.c: libFuzzer target for the scenario model room (core/scenario). Feeds arbitrary
 * bytes to scenario_parse, checks the model's invariants on success (and expands every step's
 * templates with a lookup that knows everything) and the error's on failure; the same bytes also
 * go through the template expander as text. Corpus: tests/fuzz/corpus/scenario/.
 */
/* The invariants below are the point of this target: keep assert() on in every build type. */
#undef NDEBUG
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/jsonmatch.h"
#include "core/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *know_all(void *ctx, enum scenario_ref_kind kind, const char *name,
			    bool *is_json)
{
	(void)ctx;
	assert(name != NULL && is_json != NULL && !*is_json);
	if (kind == SCENARIO_REF_CAPTURE) {
		*is_json = true;   /* a typed value: a whole placeholder becomes this array */
		return "[1,{\"a\":true}]";
	}
	return "v";
}

static void check_json(const cJSON *j, const char *where)
{
	if (!j)
		return;
	cJSON *out = NULL;
	struct scenario_error e;
	sh_rc rc = scenario_expand_json(j, know_all, NULL, "f", where, &out, &e);
	/* parse-time checks promised that every placeholder is well formed */
	assert(rc == SH_OK || rc == SH_E_NOMEM);
	cJSON_Delete(out);
}

static void check_model(const struct scenario *sc)
{
	assert(sc->name && sc->name[0]);
	assert(sc->file);
	assert(sc->step_count >= 1 && sc->step_count <= SCENARIO_MAX_STEPS);
	assert(sc->clock == SCENARIO_CLOCK_REAL || sc->clock == SCENARIO_CLOCK_VIRTUAL);
	for (size_t i = 0; i < sc->fixture_count; i++) {
		const struct scenario_fixture *f = &sc->fixtures[i];
		assert((f->path == NULL) != (f->inline_fx == NULL));
		assert((f->path == NULL) == (f->resolved == NULL));
		assert(strncmp(f->json_path, "$.fixtures", 10) == 0);
	}
	assert(!(sc->agent.shell && sc->agent.argv));
	if (sc->agent.argv)
		assert(sc->agent.argc >= 1 && sc->agent.argv[sc->agent.argc] == NULL);
	for (size_t i = 0; i < sc->identity_count; i++) {
		const struct scenario_identity *id = &sc->identities[i];
		char text[2 * SH_ID_MAX + 2];
		size_t n = strlen(id->device_id);
		memcpy(text, id->device_id, n);
		if (id->module_id[0]) {
			text[n++] = '/';
			memcpy(text + n, id->module_id, strlen(id->module_id));
			n += strlen(id->module_id);
		}
		struct scenario_identity back;
		assert(scenario_parse_identity(text, n, &back) == SH_OK);
		assert(strcmp(back.device_id, id->device_id) == 0);
	}
	for (size_t i = 0; i < sc->step_count; i++) {
		const struct scenario_step *st = &sc->steps[i];
		assert((unsigned)st->kind < SCENARIO_KIND_COUNT);
		assert(st->name[0] != '\0');
		assert(strncmp(st->path, "$.steps[", 8) == 0);
		assert(st->within_us >= 0 && st->within_us <= SCENARIO_DURATION_MAX_US);
		assert(st->for_us >= 0 && st->for_us <= SCENARIO_DURATION_MAX_US);
		assert(st->duration_us >= 0 && st->duration_us <= SCENARIO_DURATION_MAX_US);
		if (st->match)
			assert(jsonmatch_validate_template(st->match, "$", NULL) == SH_OK);
		if (st->count)
			assert(jsonmatch_validate(st->count, "$", NULL) == SH_OK);
		if (st->kind == SCENARIO_ADVANCE_CLOCK)
			assert(sc->clock == SCENARIO_CLOCK_VIRTUAL);
		if (st->kind == SCENARIO_SEND_C2D)
			assert(st->has_identity && st->identity.module_id[0] == '\0');
		if (scenario_kind_class(st->kind) == SCENARIO_FAULT)
			assert(st->has_identity);
		check_json(st->json, st->path);
		check_json(st->properties, st->path);
		check_json(st->match, st->path);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scenario *sc = NULL;
	struct scenario_error err;
	sh_rc rc = scenario_parse((const char *)data, size, "dir/fuzz.json", &sc, &err);
	assert(rc == SH_OK || rc == SH_E_MALFORMED || rc == SH_E_INVALID ||
	       rc == SH_E_TOOLARGE || rc == SH_E_NOMEM);
	char line[1024];
	if (rc == SH_OK) {
		assert(sc != NULL);
		check_model(sc);
		scenario_free(sc);
	} else {
		assert(sc == NULL);
		assert(err.path[0] == '$');
		assert(strnlen(err.reason, sizeof err.reason) < sizeof err.reason && err.reason[0]);
		assert((rc == SH_E_MALFORMED) == (err.column != 0));
		scenario_error_format(&err, line, sizeof line);
		assert(strlen(line) < sizeof line);
	}
	/* Parsing is a function of the bytes alone, whether or not an error is wanted. */
	struct scenario *again = NULL;
	assert(scenario_parse((const char *)data, size, "dir/fuzz.json", &again, NULL) == rc);
	scenario_free(again);

	/* The same bytes as template text. */
	if (size < 4096 && !memchr(data, 0, size)) {
		char *text = malloc(size + 1);
		if (!text)
			return 0;
		memcpy(text, data, size);
		text[size] = '\0';
		char *out = NULL;
		struct scenario_error e;
		sh_rc xr = scenario_expand(text, know_all, NULL, NULL, "$", &out, &e);
		assert(xr == SH_OK || xr == SH_E_MALFORMED || xr == SH_E_NOMEM);
		assert((xr == SH_OK) == (out != NULL));
		free(out);
		free(text);
	}
	return 0;
}
