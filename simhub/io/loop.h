/*
 * loop.h: the network edge: one libwebsockets context, one thread, one loop (ARCHITECTURE.md).
 * It opens the listeners (MQTT over TCP, MQTT over TLS, HTTPS with MQTT over WebSocket at
 * /$iothub/websocket), feeds connections to hub sessions, holds the group-commit batch across a
 * round of network events and commits it on the next loop turn, and sweeps session timers.
 * The only code that includes libwebsockets.h is in io/.
 */
#ifndef SH_IO_LOOP_H
#define SH_IO_LOOP_H

#include <signal.h>
#include <stddef.h>

#include "core/result.h"

struct sh_hub;
struct hub_sessions;
struct io_loop;

enum io_listener { IO_MQTT = 0, IO_MQTTS, IO_HTTPS, IO_LISTENERS };

struct io_config {
	const char *bind;           /* interface address; "127.0.0.1" by default */
	int port[IO_LISTENERS];     /* -1: no such listener; 0: any free port */
	const char *cert, *key;     /* TLS server certificate and key (PEM paths) */
};

/*
 * Create the context and every listener of `cfg`. On failure returns SH_E_IO with a one-line
 * reason in err (which listener, which port, why). `hub` and `reg` are borrowed.
 */
sh_rc io_loop_start(struct sh_hub *hub, struct hub_sessions *reg, const struct io_config *cfg,
		    struct io_loop **out, char *err, size_t errlen);
/* The port a listener is bound to, or -1 when it is not open. */
int io_loop_port(const struct io_loop *l, enum io_listener which);
/* Serve until *stop becomes non-zero (set it from a signal handler, then call io_loop_wake). */
void io_loop_run(struct io_loop *l, volatile sig_atomic_t *stop);
/* Async-signal-safe: make io_loop_run look at *stop now. */
void io_loop_wake(struct io_loop *l);
/*
 * Call fn(arg) from the loop every period_us microseconds (at least 1000), until
 * io_loop_set_ticker(l, NULL, NULL, 0). One ticker per loop; setting a new one replaces it.
 * fn runs between rounds of network events, like the loop's own timers, after the batch of
 * earlier rounds has committed and its events have been delivered, so fn never sees an
 * outcome whose event is still to come. It may call hub operations and set the run's stop
 * flag (then call io_loop_wake). For `simhub test`.
 */
void io_loop_set_ticker(struct io_loop *l, void (*fn)(void *arg), void *arg, int64_t period_us);
/* Close every connection and the listeners; commit what is held. */
void io_loop_free(struct io_loop *l);

#endif
