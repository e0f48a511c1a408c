/*
 * hub_internal.h: what the hub's own files share and nobody else sees: the hub struct and
 * the all-or-nothing operation bracket around store savepoints.
 */
#ifndef SH_HUB_INTERNAL_H
#define SH_HUB_INTERNAL_H

#include "hub/hub.h"
#include "store/store.h"

struct sh_hub {
	struct sh_store *st;          /* borrowed */
	struct sh_hub_env env;
	struct sh_hub_notify notify;
	char hostname[256];
	int own_batch;                /* the current op opened the batch itself */
	bool held;                    /* the loop holds a batch open (group commit) */
	struct after_commit *after;   /* callbacks to run once the held batch commits, in order */
	struct after_commit **after_tail;
};

struct after_commit {
	void (*fn)(void *arg);
	void *arg;
	struct after_commit *next;
};

/*
 * Start an operation: opens a batch when the caller has none, then a savepoint. Returns SH_E_IO
 * (with err filled as 500001) when the store refuses.
 */
sh_rc hub_op_begin(struct sh_hub *hub, struct iothub_err *err);
/*
 * End an operation with its result: keeps the savepoint on SH_OK, rolls it back otherwise, and
 * commits the batch if hub_op_begin opened it. Returns rc, or SH_E_IO if the commit failed.
 */
sh_rc hub_op_end(struct sh_hub *hub, sh_rc rc, struct iothub_err *err);

/* Map a store failure to 500001 with the store's message. */
sh_rc hub_store_failed(struct sh_hub *hub, sh_rc rc, struct iothub_err *err);

/* Random SAS key text: base64 of 32 random bytes (44 characters). */
void hub_random_key(struct sh_hub *hub, char out[SH_KEY_MAX + 1]);

/* 400004 unless `key` is base64 of 16 to 64 bytes (an empty key is allowed when empty_ok). */
sh_rc hub_check_key(const char *key, const char *what, int empty_ok, struct iothub_err *err);

/* If-Match (quoted, W/, "*" tolerated; NULL or empty match anything) against an etag. */
int hub_etag_matches(const char *if_match, const char *etag);

#endif
