/*
 * fleet_load.h (agents/fleet): the `fleet load` verb (synthetic fleet, idle connections,
 * start-up timing) and the `fleet replay` verb. Each takes the arguments after its verb.
 */
#ifndef FLEET_LOAD_H
#define FLEET_LOAD_H

#include <stdbool.h>

/* `fleet load ...`: argv holds the options after "load". Returns the exit status (0/1/2). */
int fleet_load_main(int argc, char **argv);

/* `fleet replay JOURNAL ...`: argv holds what follows "replay". Returns 0/1/2. */
int fleet_replay_main(int argc, char **argv);

/*
 * Create the identities `ids` ("device" or "device/module", n of them) on the hub of `svc` (a
 * policy with registryWrite, from agent_service_from_cs), over HTTPS (`https_host`:`port`, CA
 * file `ca` or the system store; `insecure`: the server name is not checked), and put each
 * one's primary key into `keys` (existing identities are read instead). Everything borrowed.
 * Returns 0, or -1 after logging why.
 */
struct fleet_keys;
struct agent_service;
int fleet_registry_create(const struct agent_service *svc, const char *https_host, int port,
			  const char *ca, bool insecure, char *const *ids, int n,
			  struct fleet_keys *keys);

#endif
