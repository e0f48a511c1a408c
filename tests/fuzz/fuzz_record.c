/*
 * fuzz_record.c: the `serve --record` event-to-journal conversion (hub_record_event_object).
 * The first byte picks the event kind, the rest is the event's data as JSON. Invariants: a
 * converted event names the event's identity and an op; a conversion the journal reader
 * accepts writes back out and reads again as the same op. Never touches a store or a file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/journal.h"
#include "hub/hub.h"
#include "hub/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	cJSON *d = cJSON_ParseWithLength((const char *)data + 1, size - 1);
	struct hub_event ev = {
		.id = 1, .kind = (enum hub_event_kind)((data[0] & 0x7f) % (HUB_EV__COUNT + 1)),
		.time_us = 1700000000000000LL, .device_id = "d1",
		.module_id = data[0] & 0x80 ? "m1" : NULL, .data = d,
	};
	cJSON *o = hub_record_event_object(&ev);
	if (o) {
		const cJSON *dev = cJSON_GetObjectItemCaseSensitive(o, "device");
		const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "op");
		if (!cJSON_IsString(dev) || strcmp(dev->valuestring, "d1") || !cJSON_IsString(op))
			abort();
		cJSON_AddNumberToObject(o, "t", 5);
		char *text = cJSON_PrintUnformatted(o);
		struct journal_entry e, again;
		if (text && journal_entry_parse(text, strlen(text), 2, &e, NULL) == SH_OK) {
			char *line = NULL;
			if (journal_entry_write(&e, &line) != SH_OK)
				abort();
			if (journal_entry_parse(line, strlen(line), 2, &again, NULL) != SH_OK ||
			    again.op != e.op || strcmp(again.device, "d1"))
				abort();
			journal_entry_free(&again);
			free(line);
		}
		journal_entry_free(&e);
		cJSON_free(text);
		cJSON_Delete(o);
	}
	cJSON_Delete(d);
	return 0;
}
