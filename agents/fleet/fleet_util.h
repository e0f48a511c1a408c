/*
 * fleet_util.h (agents/fleet): what replay and load share: the monotonic clock, one TLS
 * context for every client, the key map, latency percentiles and the progress line. IoT Hub
 * strings (credentials, topics) and HTTPS come from agents/common (simhub_agentlib). No MQTT
 * state lives here; each mode owns its clients.
 */
#ifndef FLEET_UTIL_H
#define FLEET_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/ssl.h>

/* Exit statuses of every fleet verb. */
enum { FLEET_EXIT_OK = 0, FLEET_EXIT_FAIL = 1, FLEET_EXIT_USAGE = 2 };

/* Monotonic nanoseconds. */
uint64_t fleet_now_ns(void);

/* Print "fleet: ..." on stderr (agent_log, after ending an open progress line). */
void fleet_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * One SSL_CTX for every client (caller frees with SSL_CTX_free): the chain verified against
 * `cafile` (NULL: the system store), the server name or IP checked against `host` unless
 * `insecure`. Returns NULL after logging why.
 */
SSL_CTX *fleet_ssl_ctx(const char *cafile, const char *host, bool insecure);

/*
 * A key map: JSON object {"dev1":"KEY","dev1/mod":"KEY","*":"KEY"} read from a file.
 * fleet_keys_load returns NULL after logging why; fleet_keys_get returns the key of `id`
 * ("device" or "device/module"), else of `fallback` (may be NULL), else of "*", else NULL
 * (borrowed from the map). fleet_keys_put adds or replaces one (copied).
 */
struct fleet_keys;
struct fleet_keys *fleet_keys_new(void);
struct fleet_keys *fleet_keys_load(const char *path);
const char *fleet_keys_get(const struct fleet_keys *k, const char *id, const char *fallback);
int fleet_keys_put(struct fleet_keys *k, const char *id, const char *key);
void fleet_keys_free(struct fleet_keys *k);

/* Latency samples in nanoseconds: add, then percentiles (nearest rank) in microseconds. */
struct fleet_lat {
	uint64_t *ns;
	size_t n, cap;
	bool sorted;
};
void fleet_lat_add(struct fleet_lat *l, uint64_t ns);
double fleet_lat_pct_us(struct fleet_lat *l, double pct);
void fleet_lat_free(struct fleet_lat *l);

/*
 * Progress on stderr: on a terminal one line rewritten in place (every call), otherwise a
 * plain line at most every `plain_every_s` seconds. fleet_progress_end finishes a TTY line.
 */
void fleet_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fleet_progress_end(void);

/* Parse helpers for options: exit with FLEET_EXIT_USAGE and a message when wrong. */
int fleet_opt_int(const char *name, const char *v, long lo, long hi);
double fleet_opt_double(const char *name, const char *v, double lo, double hi);

/* Raise RLIMIT_NOFILE for n connections (3 descriptors each); warn when it cannot. */
void fleet_raise_fd_limit(int n);

#endif
