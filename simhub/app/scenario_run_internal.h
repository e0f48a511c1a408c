/*
 * scenario_run_internal.h: what the runner's files share (scenario_run.c: the hub, the loop
 * and the step machine; scenario_run_agent.c: the agent process; scenario_run_expect.c: the
 * expectations). Only app/scenario_run*.c include it.
 */
#ifndef SH_SCENARIO_RUN_INTERNAL_H
#define SH_SCENARIO_RUN_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "app/scenario_run.h"
#include "core/iothub_error.h"
#include "core/scenario.h"
#include "hub/hub.h"
#include "io/tls_material.h"

struct cJSON;
struct io_loop;
struct hub_sessions;
struct sh_store;

/* A hub event as the runner keeps it (a copy: the bus lends events for the callback only). */
struct run_event {
	uint64_t id;
	enum hub_event_kind kind;
	int64_t time_us;
	char *device_id;              /* "" when none */
	char *module_id;              /* "" for a device */
	struct cJSON *data;
};

/* A direct-method call made by an invoke-method step. */
struct run_call {
	struct run *run;
	char name[SCENARIO_NAME_MAX + 1];  /* its capture name ("" for an unnamed sync call) */
	bool done;
	bool has_err;
	int status;                   /* the device's status */
	struct iothub_err err;        /* 404103, 504101... when has_err */
	struct cJSON *payload;        /* the device's payload (owned), NULL for none */
	int64_t log_id;
	struct run_call *next;
};

/* What a step's poll decided. */
enum step_state { STEP_PENDING, STEP_PASSED, STEP_FAILED, STEP_ERROR };

enum run_phase { RUN_STEPS, RUN_STOPPING, RUN_DONE };

struct run {
	const struct scenario *sc;
	const struct scenario_run_opts *opts;
	struct scenario_result *res;
	char dir[1024];               /* temp folder: TLS material, agent output, database */
	char db[1100];
	struct sh_store *st;
	struct sh_hub *hub;
	struct hub_sessions *reg;
	struct io_loop *loop;
	struct tls_material tm;
	struct sh_hub_env env;
	int64_t offset_us;            /* virtual clock: hub time = wall clock + offset */
	char *service_cs;

	/* events since the scenario started */
	struct run_event *ev;
	size_t n_ev, cap_ev;
	int listen_handle;

	/* the agent */
	pid_t pid;                    /* 0 = not running */
	bool stopping;                /* SIGTERM sent, waiting for it to go */
	int64_t kill_at_mono;         /* SIGKILL then */
	bool could_not_start;
	char agent_error[512];
	char out_path[1100], err_path[1100];
	int starts;

	/* steps */
	enum run_phase phase;
	size_t cur;
	bool started;                 /* the current step has begun */
	int64_t t0_mono;              /* scenario start */
	int64_t step_mono;            /* current step start */
	int64_t t0_hub_us, step_hub_us; /* the same instants on the hub clock */
	size_t step_mark;             /* n_ev when the current step began */
	bool failed, errored;
	char *msg;                    /* current step's outcome line (owned until recorded) */
	char *detail;
	char *seen;                   /* what the current expectation saw last */
	struct cJSON *x_json, *x_match, *x_props, *x_sys; /* current step's expanded JSON */
	struct cJSON *count_default;
	struct run_call *call;        /* current sync invoke-method */
	struct cJSON *matched;        /* the item an expectation matched (capture) */

	/* captures and calls */
	char **cap_names;
	struct cJSON **cap_values;
	size_t n_caps;
	struct run_call *calls;
	char *lookup_tmp;             /* the last lookup's text */
	int c2d_counter;
	volatile sig_atomic_t stop;   /* io_loop_run's flag */
};

/* scenario_run.c */
int64_t run_mono_us(void);
const char *run_lookup(void *ctx, enum scenario_ref_kind kind, const char *name, bool *is_json);
/* printf into a new string (caller frees); NULL when out of memory. */
char *run_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Set the current step's failure text: `expected` and `seen` (may be NULL: r->seen). */
enum step_state run_fail(struct run *r, enum step_state st, const char *expected, const char *seen);
/* Keep a capture (takes ownership of value). */
void run_capture(struct run *r, const char *name, struct cJSON *value);
const struct cJSON *run_capture_get(const struct run *r, const char *name);
/* JSON text of v, cut to `max` bytes with "..." (caller frees). */
char *run_json_text(const struct cJSON *v, size_t max);
/* "dev1" or "dev1/mod". */
const char *run_ident(const struct scenario_identity *id, char *buf, size_t cap);

/* Judge a finished method call against a step's status and match. */
enum step_state run_judge_call(struct run *r, const struct scenario_step *st,
			       const struct run_call *c, const struct cJSON *match);

/* scenario_run_agent.c */
/* Start the agent. Returns 0; -1 with r->agent_error set when it could not start. */
int run_agent_start(struct run *r);
/* Send SIGTERM to its process group (SIGKILL after grace_us). */
void run_agent_stop(struct run *r, int64_t grace_us);
/* Reap it if it exited; SIGKILL when its grace ran out. True when no agent runs any more. */
bool run_agent_poll(struct run *r);
/* Read the agent's output files into res (last REPORT_OUTPUT_MAX bytes of each). */
void run_agent_collect(struct run *r);

/* scenario_run_expect.c */
enum step_state run_expect(struct run *r, const struct scenario_step *st);
/* Text describing an event for messages (caller frees). */
char *run_event_text(const struct run_event *e);

#endif
