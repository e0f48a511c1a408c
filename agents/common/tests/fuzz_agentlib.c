/*
 * fuzz_agentlib.c: libFuzzer target of simhub_agentlib's parsers (agents/common): the first
 * byte picks agent_topic_parse, agent_ident_from_cs or agent_service_from_cs, the rest is the
 * input. Invariants: no crash; spans of a parsed topic lie inside the input; what parses can be
 * turned into its MQTT strings or tokens without overflowing their documented buffers.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent_ident.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const char *base, size_t len, const char *p, size_t n)
{
	if (!p) {
		assert(n == 0);
		return;
	}
	assert(p >= base && p + n <= base + len);
}

static void fuzz_topic(const char *s, size_t n)
{
	struct agent_topic t;
	sh_rc rc = agent_topic_parse(s, n, &t);
	assert(rc == SH_OK || rc == SH_E_MALFORMED);
	if (rc != SH_OK)
		return;
	inside(s, n, t.rid_text, t.rid_len);
	inside(s, n, t.name, t.name_len);
	if (t.kind == AGENT_TOPIC_METHOD) {
		assert(t.name_len >= 1 && t.name_len <= AGENT_ID_MAX && t.rid_len >= 1);
		char b[512];
		rc = agent_topic_method_res(200, t.rid_text, t.rid_len, b, sizeof b);
		assert(rc == SH_OK || rc == SH_E_INVALID || rc == SH_E_NOSPACE);
		if (rc == SH_OK) {   /* the answer topic is a well-formed reply to the same rid */
			assert(strlen(b) == strlen("$iothub/methods/res/200/?$rid=") + t.rid_len);
		}
	}
	if (t.kind == AGENT_TOPIC_TWIN_RES)
		assert(t.status >= 0 && t.status <= 999);
	if (t.kind == AGENT_TOPIC_C2D)
		assert(t.name_len >= 1);
}

static void fuzz_cs(const char *s)
{
	struct agent_ident id;
	const char *why = NULL;
	if (agent_ident_from_cs(s, &id, &why) != SH_OK) {
		assert(why && why[0]);
		return;
	}
	char user[AGENT_USER_MAX], pass[AGENT_PASS_MAX], topic[1024];
	assert(agent_ident_username(&id, user, sizeof user) == SH_OK);
	assert(agent_ident_telemetry_topic(&id, NULL, topic, sizeof topic) == SH_OK);
	sh_rc rc = agent_ident_password(&id, 2000000000, pass, sizeof pass);
	assert(rc == SH_OK || rc == SH_E_INVALID);
}

static void fuzz_service(const char *s)
{
	struct agent_service svc;
	const char *why = NULL;
	if (agent_service_from_cs(s, &svc, &why) != SH_OK) {
		assert(why && why[0]);
		return;
	}
	char tok[AGENT_PASS_MAX];
	sh_rc rc = agent_service_token(&svc, 2000000000, tok, sizeof tok);
	assert(rc == SH_OK || rc == SH_E_INVALID);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 8192)
		return 0;
	char *s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		fuzz_topic(s, size - 1);
		break;
	case 1:
		fuzz_cs(s);
		break;
	default:
		fuzz_service(s);
		break;
	}
	free(s);
	return 0;
}
