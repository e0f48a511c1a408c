/*
 * fuzz_fixture.c: libFuzzer target for the fixture room (core/fixture). Feeds arbitrary bytes
 * to fixture_parse and checks the model's invariants on success and the error's on failure.
 * Never touches storage; the corpus is in tests/fuzz/corpus/fixture/.
 */
/* The invariants below are the point of this target: keep assert() on in every build type. */
#undef NDEBUG
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/base64.h"
#include "core/fixture.h"
#include "core/identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_key(const char *k)
{
	size_t n = strnlen(k, SH_KEY_MAX + 1);
	assert(n <= SH_KEY_MAX);
	if (n == 0)
		return;
	uint8_t raw[SH_KEY_MAX];
	size_t raw_len = 0;
	assert(base64_decode(k, n, raw, sizeof raw, &raw_len) == SH_OK);
	assert(raw_len >= FIXTURE_KEY_MIN_BYTES && raw_len <= FIXTURE_KEY_MAX_BYTES);
}

static void check_section(const cJSON *s)
{
	assert(s == NULL || (cJSON_IsObject(s) && s->next == NULL && s->prev == NULL));
}

static void check_model(const struct fixture *fx)
{
	assert(fx->identity_count == fx->device_count + fx->module_count);
	assert(!fx->settings.has_hostname || fx->settings.hostname[0] != '\0');
	for (size_t i = 0; i < fx->policy_count; i++) {
		const struct fixture_policy *p = &fx->policies[i];
		assert(p->row.name[0] != '\0');
		assert(p->row.rights != 0 && p->row.rights <= 0xFu);
		check_key(p->row.primary_key);
		check_key(p->row.secondary_key);
		assert(strncmp(p->path, "$.policies[", 11) == 0);
		for (size_t j = 0; j < i; j++)
			assert(strcmp(fx->policies[j].row.name, p->row.name) != 0);
	}
	size_t devices = 0;
	for (size_t i = 0; i < fx->identity_count; i++) {
		const struct fixture_identity *id = &fx->identities[i];
		const struct sh_identity *r = &id->row;
		assert(identity_validate_id(r->device_id, strlen(r->device_id)) == SH_OK);
		assert(strncmp(id->path, "$.devices[", 10) == 0);
		assert(id->device_index <= i);
		const struct fixture_identity *dev = &fx->identities[id->device_index];
		assert(dev->row.module_id[0] == '\0');
		assert(strcmp(dev->row.device_id, r->device_id) == 0);
		if (r->module_id[0] == '\0') {
			devices++;
			assert(id->device_index == i);
			assert(strstr(id->path, ".modules[") == NULL);
			for (size_t j = 0; j < i; j++)
				assert(fx->identities[j].row.module_id[0] != '\0' ||
				       strcmp(fx->identities[j].row.device_id, r->device_id) != 0);
		} else {
			assert(identity_validate_id(r->module_id, strlen(r->module_id)) == SH_OK);
			assert(id->device_index < i);
			assert(strstr(id->path, ".modules[") != NULL);
			for (size_t j = id->device_index + 1; j < i; j++)
				assert(strcmp(fx->identities[j].row.module_id, r->module_id) != 0);
		}
		assert(r->status == SH_STATUS_ENABLED || r->status == SH_STATUS_DISABLED);
		assert(r->auth_type >= SH_AUTH_SAS && r->auth_type <= SH_AUTH_NONE);
		if (r->auth_type != SH_AUTH_SAS)
			assert(r->primary_key[0] == '\0' && r->secondary_key[0] == '\0');
		if (r->auth_type == SH_AUTH_SELF_SIGNED)
			assert(r->primary_thumbprint[0] != '\0');
		else
			assert(r->primary_thumbprint[0] == '\0' && r->secondary_thumbprint[0] == '\0');
		check_key(r->primary_key);
		check_key(r->secondary_key);
		check_section(id->twin.tags);
		check_section(id->twin.desired);
		check_section(id->twin.reported);
	}
	assert(devices == fx->device_count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fixture *fx = NULL;
	struct fixture_error err;
	sh_rc rc = fixture_parse((const char *)data, size, &fx, &err);
	assert(rc == SH_OK || rc == SH_E_MALFORMED || rc == SH_E_INVALID ||
	       rc == SH_E_TOOLARGE || rc == SH_E_NOMEM);
	char line[512];
	if (rc == SH_OK) {
		assert(fx != NULL);
		check_model(fx);
		fixture_free(fx);
	} else {
		assert(fx == NULL);
		assert(err.path[0] == '$');
		assert(strnlen(err.path, sizeof err.path) < sizeof err.path);
		assert(err.reason[0] != '\0');
		assert(strnlen(err.reason, sizeof err.reason) < sizeof err.reason);
		assert((rc == SH_E_MALFORMED) == (err.line != 0));
		fixture_error_format(&err, line, sizeof line);
		assert(strlen(line) < sizeof line);
	}
	/* Parsing is a function of the bytes alone. */
	struct fixture *again = NULL;
	assert(fixture_parse((const char *)data, size, &again, NULL) == rc);
	fixture_free(again);
	return 0;
}
