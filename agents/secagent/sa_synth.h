/*
 * sa_synth.h: room sa_synth of secagent: a deterministic source of security payload items
 * that replaces the Linux collectors for tests (`secagent --synthetic SEED`): the same seed and
 * the same sequence of calls give the same items. Pure: no clock, no I/O.
 */
#ifndef SA_SYNTH_H
#define SA_SYNTH_H

#include <stdint.h>

#include "sa_config.h"
#include "sa_event.h"

struct cJSON;

struct sa_synth {
	struct sa_rng rng;
	unsigned calls;
};

/* Start the source with `seed`. */
void sa_synth_init(struct sa_synth *s, uint64_t seed);

/*
 * Payload items of `kind` for this call: a new cJSON array (caller frees), possibly empty
 * (for Triggered kinds), or NULL for kinds the source never makes (OSBaseline,
 * ConnectedHardware, Diagnostic and the operational events, which the agent makes itself) and
 * on allocation failure. Every item validates against the event's schema.
 */
struct cJSON *sa_synth_items(struct sa_synth *s, enum sa_kind kind);

#endif
