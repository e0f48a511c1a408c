/*
 * fuzz_journal.c: libFuzzer target for core/journal. The input is one line, read both as a
 * header and as an operation. A line that parses must write back, and the written line must
 * parse to an entry that writes the very same text (write is a fixed point after one trip);
 * an error always names a path and a reason. Frees everything it makes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/journal.h"

/* assert() vanishes under NDEBUG (RelWithDebInfo); invariants here must always run. */
#define CHECK(c)                                                                           \
	do {                                                                               \
		if (!(c)) {                                                                \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                           \
		}                                                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct journal_header h;
	struct journal_entry e, again;
	struct journal_error err;
	char *line = NULL, *line2 = NULL;

	if (journal_header_parse((const char *)data, size, 1, &h, &err) == SH_OK) {
		CHECK(h.version >= 1 && h.version <= JOURNAL_VERSION && h.hub && h.hub[0]);
		CHECK(journal_header_write(&h, &line) == SH_OK);
		struct journal_header h2;
		CHECK(journal_header_parse(line, strlen(line), 1, &h2, NULL) == SH_OK);
		CHECK(h2.started_us == h.started_us && !strcmp(h2.hub, h.hub));
		journal_header_free(&h2);
		free(line);
		line = NULL;
	} else {
		CHECK(err.path[0] == '$' && err.reason[0]);
	}
	journal_header_free(&h);

	sh_rc rc = journal_entry_parse((const char *)data, size, 1, &e, &err);
	if (rc != SH_OK) {
		CHECK(err.path[0] == '$' && err.reason[0] && err.line == 1);
		journal_entry_free(&e);
		return 0;
	}
	CHECK(e.device && e.t_us >= 0 && e.op < JOURNAL_OP_COUNT);
	CHECK(journal_entry_write(&e, &line) == SH_OK);
	CHECK(journal_entry_parse(line, strlen(line), 1, &again, &err) == SH_OK);
	CHECK(again.op == e.op && again.t_us == e.t_us && !strcmp(again.device, e.device));
	CHECK(again.body_len == e.body_len &&
	      (e.body_len == 0 || !memcmp(again.body, e.body, e.body_len)));
	CHECK(journal_entry_write(&again, &line2) == SH_OK);
	CHECK(!strcmp(line, line2));
	free(line);
	free(line2);
	journal_entry_free(&again);
	journal_entry_free(&e);
	return 0;
}
