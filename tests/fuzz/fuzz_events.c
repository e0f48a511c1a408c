/*
 * fuzz_events.c: the live stream's filter parser (hub_event_filter_init). The input is three
 * newline-separated fields: types, deviceId, moduleId ("-" alone: absent). Invariants: an
 * accepted filter holds ids within SH_ID_MAX and only known kind bits, and matching any event
 * against it neither crashes nor accepts a kind it excludes. Never touches a store.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/hub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char *field[3] = {NULL, NULL, NULL};
	char *p = text;
	for (int i = 0; i < 3 && p; i++) {
		field[i] = p;
		p = strchr(p, '\n');
		if (p)
			*p++ = '\0';
		if (strcmp(field[i], "-") == 0)
			field[i] = NULL;
	}
	struct hub_event_filter f;
	struct iothub_err err;
	if (hub_event_filter_init(&f, field[0], field[1], field[2], &err) == SH_OK) {
		if (strlen(f.device_id) > SH_ID_MAX || strlen(f.module_id) > SH_ID_MAX ||
		    (f.kinds >> HUB_EV__COUNT) != 0)
			abort();
		for (int k = 0; k < HUB_EV__COUNT; k++) {
			struct hub_event ev = {.kind = (enum hub_event_kind)k, .device_id = "d1",
					       .module_id = k % 2 ? "m1" : NULL};
			bool m = hub_event_filter_match(&f, &ev);
			if (m && f.kinds && !(f.kinds & (1u << k)))
				abort();
		}
	}
	free(text);
	return 0;
}
