/*
 * fuzz_secagent.c: libFuzzer target of secagent's parsers (sa_parse, sa_config): the first byte
 * picks the parser, the rest is its input. Invariants: no crash, outputs are arrays of objects,
 * a refused configuration leaves the previous one untouched.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sa_config.h"
#include "sa_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_items(cJSON *a)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, a)
		assert(cJSON_IsObject(it));
	char *t = cJSON_PrintUnformatted(a);
	assert(t);
	cJSON_free(t);
	cJSON_Delete(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t sel = data[0] % 8;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	char *z = malloc(len + 1);   /* a NUL-terminated copy for the parsers that need one */
	if (!z)
		return 0;
	memcpy(z, text, len);
	z[len] = '\0';
	switch (sel) {
	case 0:
	case 1: {
		static const char *const protos[] = {"tcp", "tcp6", "udp", "udp6"};
		cJSON *a = cJSON_CreateArray();
		int r = sa_parse_proc_net(text, len, protos[(data[0] >> 3) % 4], a);
		assert(r >= 0);
		check_items(a);
		break;
	}
	case 2: {
		size_t half = len / 2;
		cJSON *a = cJSON_CreateArray();
		assert(sa_parse_users(text, half, text + half, len - half, a) >= 0);
		check_items(a);
		break;
	}
	case 3: {
		cJSON *a = cJSON_CreateArray();
		assert(sa_parse_iptables(text, len, a) >= 0);
		check_items(a);
		break;
	}
	case 4: {
		cJSON *it = sa_parse_auth_line(text, len);
		if (it)
			assert(cJSON_GetObjectItem(it, "Result"));
		cJSON_Delete(it);
		int ppid;
		uint64_t st;
		sa_parse_proc_stat(text, len, &ppid, &st);
		struct sa_meminfo m;
		sa_parse_meminfo(text, len, &m);
		char out[64];
		sa_parse_os_release(text, len, "NAME", out, sizeof out);
		break;
	}
	case 5: {
		/* durations are core/secconfig's: parse, write back, read back the same length */
		int64_t ms;
		if (secconfig_duration_parse(z, &ms) == SH_OK) {
			char b[SECCONFIG_DURATION_TEXT];
			int64_t back;
			assert(ms >= 0);
			assert(secconfig_duration_parse(secconfig_duration_format(ms, b), &back) == SH_OK);
			assert(back == ms);
		}
		break;
	}
	default: {
		cJSON *d = cJSON_ParseWithLength(text, len);
		struct sa_config c, before;
		sa_config_default(&c);
		c.snapshot_ms = 12345000;
		before = c;
		struct sa_config_report rep;
		sh_rc rc = sa_config_apply(&c, d, &rep);
		if (rc != SH_OK)
			assert(memcmp(&c, &before, sizeof c) == 0 && rep.n_errors == 1);
		else
			assert(c.max_message_bytes >= 0 && c.max_message_bytes <= INT32_MAX &&
			       c.high_freq_ms > 0 && c.snapshot_ms > 0);
		/* what the agent reports, read back as desired, is the same configuration */
		cJSON *r = sa_config_reported(&c);
		assert(r);
		struct sa_config back;
		sa_config_default(&back);
		assert(sa_config_apply(&back, r, &rep) == SH_OK);
		assert(memcmp(&back, &c, sizeof c) == 0);
		cJSON_Delete(r);
		cJSON_Delete(d);
		break;
	}
	}
	free(z);
	return 0;
}
