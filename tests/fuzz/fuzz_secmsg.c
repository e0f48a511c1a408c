/*
 * fuzz_secmsg.c: libFuzzer target for core/secmsg. Any bytes are a message body: validation
 * always yields a result whose verdicts agree with its reasons, strict is never kinder than
 * service, every normalised payload is JSON, the JSON view builds; plus the bag detector.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/msg_props.h"
#include "core/secmsg.h"

#define CHECK(c)                                                                           \
	do {                                                                               \
		if (!(c)) {                                                                \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* Reasons are well-formed, and the verdict they imply is at most `v` (capping may hide some). */
static void check_reasons(const struct secmsg_reason *r, size_t n, enum secmsg_verdict v,
			  enum secmsg_mode mode)
{
	CHECK(n <= SECMSG_MAX_REASONS);
	for (size_t i = 0; i < n; i++) {
		CHECK(r[i].path && r[i].path[0] == '$' && r[i].text && r[i].text[0]);
		CHECK(msg_props_text_ok(sh_span_str(r[i].path)));
		CHECK(mode == SECMSG_SERVICE || !r[i].tolerated);
		CHECK(v != SECMSG_VALID);
		CHECK(r[i].tolerated || v == SECMSG_INVALID);
	}
}

static void check_result(const struct secmsg_result *r, enum secmsg_mode mode)
{
	CHECK(r->mode == mode);
	check_reasons(r->reasons, r->n_reasons, r->verdict, mode);
	CHECK(r->n_events <= SECMSG_MAX_EVENTS);
	for (size_t i = 0; i < r->n_events; i++) {
		const struct secmsg_event *e = &r->events[i];
		CHECK(e->index == i && e->verdict <= r->verdict);
		check_reasons(e->reasons, e->n_reasons, e->verdict, mode);
		CHECK(e->payload_json);
		cJSON *p = cJSON_Parse(e->payload_json);
		CHECK(p && (cJSON_IsArray(p) || cJSON_IsNull(p)));
		CHECK(!cJSON_IsArray(p) || (size_t)cJSON_GetArraySize(p) == e->payload_count);
		cJSON_Delete(p);
	}
	cJSON *j = secmsg_result_json(r);
	CHECK(j);
	char *txt = cJSON_PrintUnformatted(j);
	CHECK(txt);
	cJSON_free(txt);
	cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct secmsg_result service, strict;
	CHECK(secmsg_validate(data, size, SECMSG_SERVICE, &service) == SH_OK);
	CHECK(secmsg_validate(data, size, SECMSG_STRICT, &strict) == SH_OK);
	check_result(&service, SECMSG_SERVICE);
	check_result(&strict, SECMSG_STRICT);
	CHECK(service.n_events == strict.n_events);
	/* valid means valid in both; service tolerating means strict rejects */
	CHECK((service.verdict == SECMSG_VALID) == (strict.verdict == SECMSG_VALID));
	CHECK(service.verdict != SECMSG_TOLERATED || strict.verdict == SECMSG_INVALID);
	CHECK(service.verdict != SECMSG_INVALID || strict.verdict == SECMSG_INVALID);
	for (size_t i = 0; i < service.n_events; i++)
		CHECK((service.events[i].verdict == SECMSG_VALID) ==
		      (strict.events[i].verdict == SECMSG_VALID));

	secmsg_result_free(&service);
	secmsg_result_free(&strict);

	(void)secmsg_bag_is_security(sh_span_make(data, size));
	return 0;
}
