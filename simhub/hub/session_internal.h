/*
 * session_internal.h: the session's state and the helpers its packet handlers share. Only
 * hub/session*.c include it.
 */
#ifndef SH_SESSION_INTERNAL_H
#define SH_SESSION_INTERNAL_H

#include "core/identity.h"
#include "core/mqtt_decode.h"
#include "core/mqtt_frame.h"
#include "hub/session.h"

/* Subscription bits, one per filter kind of hub_topic_check_subscribe. */
enum {
	SUB_C2D = 1u << 0,
	SUB_TWIN_RES = 1u << 1,
	SUB_TWIN_DESIRED = 1u << 2,
	SUB_METHODS = 1u << 3,
	SUB_MODULE_INPUTS = 1u << 4,
	SUB_C2D_QOS0 = 1u << 8,      /* only in persisted bits: the C2D subscription was QoS 0 */
};

/* A method call waiting for the device's answer. */
struct pending_method {
	char rid[24];
	int64_t deadline_us;
	hub_method_cb cb;
	void *arg;
	struct pending_method *next;
};

struct hub_session {
	struct hub_sessions *reg;
	struct sh_hub *hub;
	struct session_io io;
	char transport[8];
	struct mqtt_framer framer;

	/* state */
	bool connected;          /* CONNACK 0 sent */
	bool closing;            /* close asked: ignore further input */
	bool clean_disconnect;   /* DISCONNECT received: no Will */
	bool replaced;           /* a newer connection of the same identity took over */
	const char *close_reason;
	int64_t opened_us;
	int64_t last_rx_us;
	uint16_t keepalive_s;
	int64_t sas_expiry_s;    /* 0 = none (X.509) */
	unsigned subs;

	/* TLS client certificate, when the peer sent one */
	bool has_cert;
	struct hub_client_cert cert;

	/* identity */
	char device_id[SH_ID_MAX + 1];
	char module_id[SH_ID_MAX + 1];

	/* Will, copied from CONNECT */
	bool has_will;
	char *will_bag;          /* property bag of the Will topic */
	uint8_t *will_payload;
	size_t will_len;

	/* output held until the loop's batch commits */
	uint8_t *held;
	size_t held_len, held_cap;
	bool flush_queued;       /* an after-commit flush is queued */
	bool close_after_flush;

	struct pending_method *methods;
	uint32_t next_rid;

	/* cloud-to-device delivery: one message in flight at a time */
	bool clean_session;
	uint8_t c2d_qos;              /* granted QoS of the devicebound subscription */
	uint16_t next_pid;
	uint16_t c2d_pid;             /* packet id of the message in flight; 0 = none */
	char c2d_lock[40];

	/* faults (session_faults.c) */
	struct delayed_ack *delayed;  /* PUBACKs held by a delay-puback fault, due order */
	int fi_op;                    /* a fault-injection message's operation; 0 = none */
	int64_t fi_due_us;            /* when it takes effect (hub time) */
	int64_t fi_duration_us;       /* how long its refusal lasts after that */

	struct hub_session *next, *prev;   /* all sessions */
	struct hub_session *id_next;       /* identity hash chain (connected sessions) */
};

/* Bytes to the peer, after the current batch commits when one is held. 0 ok, -1 failure. */
int session_send(struct hub_session *s, const uint8_t *buf, size_t len);
/* Encode and send a PUBLISH (qos 0 or 1; packet id 0 for qos 0). */
int session_publish(struct hub_session *s, const char *topic, const void *payload, size_t len,
		    uint8_t qos, uint16_t packet_id);
/* End the connection after pending output; `reason` (static text) goes to the disconnect record. */
void session_fail(struct hub_session *s, const char *reason);

/* Packet handlers (session_connect.c, session_publish.c, session_subscribe.c). */
void session_on_connect(struct hub_session *s, const struct mqtt_raw *p);
void session_on_publish(struct hub_session *s, const struct mqtt_raw *p);
void session_on_subscribe(struct hub_session *s, const struct mqtt_raw *p);
void session_on_unsubscribe(struct hub_session *s, const struct mqtt_raw *p);

/* C2D (session_c2d.c): deliver the next queued message if the session can take one now. */
void session_c2d_pump(struct hub_session *s);
/* A PUBACK from the device: completes the message in flight. */
void session_c2d_puback(struct hub_session *s, uint16_t packet_id);
/* The session is ending: its message in flight goes back to the queue. */
void session_c2d_release(struct hub_session *s);
/* Persistent sessions (clean session 0): subscriptions kept per identity between connections. */
unsigned sessions_persisted_subs(struct hub_sessions *reg, const struct hub_session *s);
void sessions_persist_subs(struct hub_sessions *reg, const struct hub_session *s, bool keep);

/*
 * Session events (hub.h HUB_EV_SESSION, what `serve --record` journals). session_event_new
 * returns {"op": op} (op a journal op name) for the caller to add the op's fields to, or NULL
 * when nobody listens on the bus (or out of memory): build nothing then. session_emit takes
 * that object (NULL does nothing) and emits it for the session's identity; like every event
 * it reaches the listeners after the current batch commits.
 */
struct cJSON *session_event_new(const struct hub_session *s, const char *op);
void session_emit(struct hub_session *s, struct cJSON *data);

/* Timers of one session at hub time (called by hub_sessions_tick). */
void session_tick(struct hub_session *s, int64_t now_us);

/* The session table's side (sessions.c). */
struct sh_hub *sessions_hub(struct hub_sessions *reg);
void sessions_link(struct hub_sessions *reg, struct hub_session *s);       /* new connection */
/* The identity is authenticated: index it, closing an older session of the same identity. */
void sessions_register(struct hub_sessions *reg, struct hub_session *s);
void sessions_unlink(struct hub_sessions *reg, struct hub_session *s);
/* A session subscribed to methods: method calls waiting for it can go out now. */
void sessions_methods_subscribed(struct hub_sessions *reg);
/* Fire 504101 for methods past their deadline. */
void session_methods_expire(struct hub_session *s, int64_t now_us);
/* Answer a pending method call (session_publish.c -> here). */
void session_method_answer(struct hub_session *s, const char *rid, size_t rid_len, int status,
			   const uint8_t *body, size_t len);
/* End every pending method of s with 404103 (session going away). */
void session_methods_abort(struct hub_session *s);


/* --- faults (session_faults.c) --- */
struct fault_entry;
/* The fault list of a session table (sessions.c owns the storage). */
struct fault_entry **sessions_faults(struct hub_sessions *reg);
size_t *sessions_fault_n(struct hub_sessions *reg);
/* Free every fault of the table (hub_sessions_free). */
void sessions_faults_free(struct hub_sessions *reg);
/* After authentication: true when a refuse-connect fault takes this CONNECT; *code its CONNACK. */
bool session_fault_refuse_connect(struct hub_session *s, int *code);
/* A twin request (HUB_FAULT_TWIN_* op): true when a twin-error fault answers it with *status. */
bool session_fault_twin(struct hub_session *s, unsigned op, int *status);
/* A telemetry PUBACK: 0 send it, 1 withhold it, 2 hold it for *delay_us. */
int session_fault_puback(struct hub_session *s, int64_t *delay_us);
/* Queue a PUBACK to be sent at hub time due_us. */
void session_fault_delay_ack(struct hub_session *s, uint16_t packet_id, int64_t due_us);
/* A telemetry message: true when a throttle fault refuses it (the caller closes). */
bool session_fault_throttled(struct hub_session *s);
/* The message's application properties (borrowed, may be NULL): arm the fault its
 * AzIoTHub_FaultOperation* properties ask for. */
void session_fault_injection(struct hub_session *s, const struct cJSON *app);
/* Timers: due delayed PUBACKs, armed fault-injection operations. */
void session_faults_tick(struct hub_session *s, int64_t now_us);
/* The session is going away: drop its delayed PUBACKs. */
void session_faults_release(struct hub_session *s);

#endif
