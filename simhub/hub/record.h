/*
 * record.h: the journal writer behind `simhub serve --record FILE` (docs/recordings.md). It
 * listens on the hub event bus and turns what devices and modules did, and what the hub sent
 * them, into core/journal lines with their hub time, one flushed line per operation.
 * It never opens or closes the file and never reads the clock except through the hub.
 */
#ifndef SH_RECORD_H
#define SH_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/result.h"

struct sh_hub;
struct hub_event;
struct cJSON;
struct hub_recorder;

/* Called once, when a write fails: `message` names the reason (borrowed for the call). */
typedef void (*hub_record_error_fn)(void *ctx, const char *message);

/* What a recorder did so far. */
struct hub_record_stats {
	uint64_t lines;               /* lines written, the header included */
	uint64_t skipped;             /* events that could not become a journal line */
	bool failed;                  /* a write failed: the recorder stopped listening */
};

/*
 * Start journaling `hub`'s device-side operations to `out` (borrowed: the caller opens it and
 * closes it after hub_record_stop). Writes and flushes the header at once: version
 * JOURNAL_VERSION, the hub's host name, `started` = hub time now, `source` (borrowed, may be
 * NULL). Every later line is flushed as it is written, so a crash loses at most the line being
 * written. on_error (may be NULL) is called once if a later write fails; the recorder then
 * stops listening and the journal ends at its last whole line.
 * *rec_out gets the recorder (free it with hub_record_stop).
 * Returns SH_OK; SH_E_INVALID for a NULL hub, out or rec_out; SH_E_IO when the header cannot
 * be written (errno tells why); SH_E_NOMEM.
 */
sh_rc hub_record_start(struct sh_hub *hub, FILE *out, const char *source, hub_record_error_fn on_error,
		       void *ctx, struct hub_recorder **rec_out);

/*
 * Stop listening, flush and free the recorder (NULL is fine); `out` stays open.
 * *stats (optional) gets the final counts. Returns SH_OK; SH_E_IO when a write failed at
 * any time during the recording.
 */
sh_rc hub_record_stop(struct hub_recorder *rec, struct hub_record_stats *stats);

/* The counts so far (rec borrowed). */
void hub_record_get_stats(const struct hub_recorder *rec, struct hub_record_stats *stats);

/*
 * The journal line object of one hub event, without "t" and "at": {"device", "module"?,
 * "op", the op's fields}, or NULL when the event is not journaled (service-side writes,
 * connects, which come as session events, and the disconnect of a connection a newer one
 * replaced) or out of memory. Security events are not handled here: they name their stored
 * message (d2cSeq), which the recorder reads back from the store as telemetry. Caller frees
 * (cJSON_Delete). Exposed for the unit tests.
 */
struct cJSON *hub_record_event_object(const struct hub_event *ev);

#endif
