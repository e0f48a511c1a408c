/*
 * batch.c: group commit for the event loop (ARCHITECTURE.md "The path of a packet"): one
 * store batch held open across a round of network events, committed before the loop polls
 * again, and the after-commit queue that releases PUBACKs and answers only once their
 * writes are durable.
 */
#include <stdlib.h>

#include "hub/hub_internal.h"

sh_rc hub_batch_hold(struct sh_hub *hub)
{
	if (hub->held)
		return SH_OK;
	sh_rc rc = store_batch_begin(hub->st);
	if (rc == SH_OK)
		hub->held = true;
	return rc;
}

bool hub_batch_held(const struct sh_hub *hub)
{
	return hub->held;
}

/*
 * Commit the held batch, then run the after-commit queue. A callback may queue more work
 * (a new answer): it lands on the fresh list and runs in the same release, after the ones
 * before it. When the commit fails the queue still runs (the writers' data is lost, the
 * error is returned for the log); the callbacks cannot tell, which is why the store commits
 * are checked in tests rather than assumed.
 */
sh_rc hub_batch_release(struct sh_hub *hub)
{
	sh_rc rc = SH_OK;
	if (hub->held) {
		hub->held = false;
		rc = store_batch_commit(hub->st);
	}
	while (hub->after) {
		struct after_commit *a = hub->after;
		hub->after = a->next;
		if (!hub->after)
			hub->after_tail = &hub->after;
		a->fn(a->arg);
		free(a);
	}
	return rc;
}

sh_rc hub_after_commit(struct sh_hub *hub, void (*fn)(void *arg), void *arg)
{
	if (!hub->held) {
		fn(arg);
		return SH_OK;
	}
	struct after_commit *a = malloc(sizeof *a);
	if (!a)
		return SH_E_NOMEM;
	a->fn = fn;
	a->arg = arg;
	a->next = NULL;
	*hub->after_tail = a;
	hub->after_tail = &a->next;
	return SH_OK;
}

void hub_after_commit_cancel(struct sh_hub *hub, void *arg)
{
	struct after_commit **pp = &hub->after;
	hub->after_tail = &hub->after;
	while (*pp) {
		struct after_commit *a = *pp;
		if (a->arg == arg) {
			*pp = a->next;
			free(a);
			continue;
		}
		hub->after_tail = &a->next;
		pp = &a->next;
	}
}
