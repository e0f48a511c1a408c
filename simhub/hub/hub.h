/*
 * hub.h: the hub's operations, transport-agnostic (ARCHITECTURE.md "Rooms"). The CLI, the MQTT
 * and REST front doors and the scenario runner all call these; none of them touch the store.
 * The hub reads time and randomness only through the env it is given, so tests and the
 * scenario runner's virtual clock drive it deterministically.
 *
 * Every operation is all-or-nothing: it runs inside a store savepoint, inside the caller's
 * open batch (group commit) or, when no batch is open, a batch of its own that commits before
 * the call returns. Failures fill a struct iothub_err with IoT Hub's code and a sentence.
 */
#ifndef SH_HUB_H
#define SH_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/identity.h"
#include "core/iothub_error.h"
#include "core/result.h"

struct cJSON;
struct sh_store;
struct sh_hub;

/* What the hub needs from its surroundings: the hub clock and a random source. */
struct sh_hub_env {
	int64_t (*now_us)(void *ctx);                        /* microseconds since 1970 UTC */
	void (*random)(void *ctx, uint8_t *buf, size_t len); /* cryptographic quality in serve */
	void *ctx;
};

/* Called when something must reach a live device or module session. */
struct sh_hub_notify {
	void (*desired_patch)(void *ctx, const char *device_id, const char *module_id,
			      const struct cJSON *delta);
	/* A cloud-to-device message was queued for device_id. */
	void (*c2d_queued)(void *ctx, const char *device_id);
	void *ctx;
};

#define HUB_DEFAULT_HOSTNAME "localhost"

/* Setting keys stored in the hub's settings table. */
#define HUB_SETTING_HOSTNAME "hostname"
#define HUB_SETTING_SECURITY_AUTOCREATE "security.autoCreateModule"
#define HUB_SETTING_TWIN_LEGACY_LIMITS "twin.legacyLimits"

/*
 * Open the hub over an open store (borrowed; it must outlive the hub). Creates the default
 * shared access policies with random keys the first time. SH_E_IO when the store fails.
 */
sh_rc hub_open(struct sh_store *st, const struct sh_hub_env *env, struct sh_hub **out,
	       struct iothub_err *err);
void hub_close(struct sh_hub *hub);
struct sh_store *hub_store(struct sh_hub *hub);
void hub_set_notify(struct sh_hub *hub, const struct sh_hub_notify *notify);
int64_t hub_now_us(const struct sh_hub *hub);

/* --- settings -------------------------------------------------------------------------------- */
/* The hub's host name (connection strings, SAS scopes). Borrowed; valid until the next set. */
const char *hub_hostname(const struct sh_hub *hub);
sh_rc hub_set_hostname(struct sh_hub *hub, const char *hostname, struct iothub_err *err);
bool hub_setting_bool(struct sh_hub *hub, const char *key, bool fallback);
sh_rc hub_set_setting(struct sh_hub *hub, const char *key, const char *value, struct iothub_err *err);

/* --- shared access policies ------------------------------------------------------------------- */
sh_rc hub_policy_get(struct sh_hub *hub, const char *name, struct sh_policy *out,
		     struct iothub_err *err);
/* Insert or replace a policy; keys are validated (base64 of 16 to 64 bytes). */
sh_rc hub_policy_put(struct sh_hub *hub, const struct sh_policy *p, struct iothub_err *err);
sh_rc hub_policy_each(struct sh_hub *hub, sh_rc (*fn)(void *arg, const struct sh_policy *p),
		      void *arg);
/* "RegistryRead, ServiceConnect" style list of a rights bit set into buf. */
const char *hub_rights_str(unsigned rights, char *buf, size_t cap);

/* --- identity registry ------------------------------------------------------------------------ */
/*
 * Create a device (module_id "") or a module. From `req` the hub takes the ids, status,
 * statusReason, auth type, keys, thumbprints, iot_edge and managed_by; empty SAS keys are
 * generated (32 random bytes each). Everything else (generationId, etag, timestamps,
 * connection state) is the hub's. *out gets the stored identity.
 * Errors: 400004 bad id, key or thumbprint; 404001 module on a missing device;
 * 409001 / 409301 already exists.
 */
sh_rc hub_identity_create(struct sh_hub *hub, const struct sh_identity *req,
			  struct sh_identity *out, struct iothub_err *err);
/*
 * Replace the updatable fields of an existing identity (IoT Hub PUT with If-Match): status,
 * statusReason, auth type, keys (empty keys keep the current ones: docs/differences.md),
 * thumbprints, iot_edge, managed_by. `if_match` NULL or "*" (quotes and W/ tolerated) skips the
 * etag check. Errors: 404001/404010, 412001 on an etag mismatch, 400004.
 */
sh_rc hub_identity_update(struct sh_hub *hub, const struct sh_identity *req, const char *if_match,
			  struct sh_identity *out, struct iothub_err *err);
sh_rc hub_identity_get(struct sh_hub *hub, const char *device_id, const char *module_id,
		       struct sh_identity *out, struct iothub_err *err);
/* Delete an identity and its twin (a device takes its modules along). */
sh_rc hub_identity_delete(struct sh_hub *hub, const char *device_id, const char *module_id,
			  const char *if_match, struct iothub_err *err);
/* Enable or disable; reason may be NULL. */
sh_rc hub_identity_set_status(struct sh_hub *hub, const char *device_id, const char *module_id,
			      enum sh_status status, const char *reason, struct sh_identity *out,
			      struct iothub_err *err);
/* Devices (device_id NULL) or the modules of one device, in id order. */
sh_rc hub_identity_each(struct sh_hub *hub, const char *device_id,
			sh_rc (*fn)(void *arg, const struct sh_identity *id), void *arg,
			struct iothub_err *err);

/* --- connection strings and tokens ----------------------------------------------------------- */
/*
 * The connection string of an identity (primary key), with GatewayHostName when `gateway` is
 * set. Malloc'd; caller frees. 404001/404010 when absent; 400004 for a non-SAS identity.
 */
sh_rc hub_connection_string(struct sh_hub *hub, const char *device_id, const char *module_id,
			    const char *gateway, char **out, struct iothub_err *err);
/* Service connection string of a policy (e.g. iothubowner). Malloc'd. */
sh_rc hub_policy_connection_string(struct sh_hub *hub, const char *policy, char **out,
				   struct iothub_err *err);

/* --- twins ------------------------------------------------------------------------------------ */
/* Full service view (identity fields + tags + properties with metadata). Caller frees. */
sh_rc hub_twin_get(struct sh_hub *hub, const char *device_id, const char *module_id,
		   struct cJSON **out, struct iothub_err *err);
/* Device view: {"desired":{...},"reported":{...}}, no metadata. Caller frees. */
sh_rc hub_twin_device_view(struct sh_hub *hub, const char *device_id, const char *module_id,
			   struct cJSON **out, struct iothub_err *err);
/* Service PATCH: {"tags":..,"properties":{"desired":..}}; notifies on a desired change. */
sh_rc hub_twin_service_patch(struct sh_hub *hub, const char *device_id, const char *module_id,
			     const struct cJSON *patch, const char *if_match, struct cJSON **out,
			     struct iothub_err *err);
/* Service PUT: replaces tags and desired. */
sh_rc hub_twin_replace(struct sh_hub *hub, const char *device_id, const char *module_id,
		       const struct cJSON *twin, const char *if_match, struct cJSON **out,
		       struct iothub_err *err);
/* Merge-patch desired (a bare desired object) or tags. out (optional): the service view. */
sh_rc hub_twin_patch_desired(struct sh_hub *hub, const char *device_id, const char *module_id,
			     const struct cJSON *patch, struct cJSON **out, struct iothub_err *err);
sh_rc hub_twin_patch_tags(struct sh_hub *hub, const char *device_id, const char *module_id,
			  const struct cJSON *patch, struct cJSON **out, struct iothub_err *err);
/* Device side: merge-patch reported; *version_out gets the new reported $version. */
sh_rc hub_twin_patch_reported(struct sh_hub *hub, const char *device_id, const char *module_id,
			      const struct cJSON *patch, int64_t *version_out, struct iothub_err *err);

/* --- device side: authentication, connection state, telemetry ------------------------------- */

/* Why a device connection was refused; the MQTT and HTTPS edges map these to wire codes. */
enum hub_auth_result {
	HUB_AUTH_OK = 0,
	HUB_AUTH_UNKNOWN_IDENTITY,   /* no such device or module */
	HUB_AUTH_DISABLED,           /* the device is disabled */
	HUB_AUTH_MALFORMED,          /* the password is not a SAS token */
	HUB_AUTH_EXPIRED,            /* se is past */
	HUB_AUTH_WRONG_SCOPE,        /* sr does not cover this identity */
	HUB_AUTH_BAD_SIGNATURE,      /* no key of the identity (or the policy) signs it */
	HUB_AUTH_UNKNOWN_POLICY,     /* skn names no policy, or one without DeviceConnect */
	HUB_AUTH_NO_CREDENTIALS,     /* SAS token for an identity that does not use SAS keys, or none */
	HUB_AUTH_STORE_ERROR,
};
const char *hub_auth_result_str(enum hub_auth_result r);

/*
 * Check a SAS token for a device (module_id "" or NULL) or module connection at hub time.
 * The token may be signed with the identity's keys or with a policy that grants DeviceConnect
 * (skn). The scope must cover {any host}/devices/{id}[/modules/{mid}] (docs/differences.md:
 * the host part is not compared, because clients sign for the name in their connection string).
 * On HUB_AUTH_OK, *out gets the identity and *expiry_s the token's se. Returns the result.
 */
enum hub_auth_result hub_auth_sas(struct sh_hub *hub, const char *device_id, const char *module_id,
				  const char *token, size_t token_len, struct sh_identity *out,
				  int64_t *expiry_s);

/*
 * A device-key SAS token of device_id (no skn; any scope the device key signs, the bare host
 * name included): what the security agents send for their bootstrap GET of
 * /devices/{d}/modules/azureiotsecurity (security-agent.md §2.3). A token with skn is
 * HUB_AUTH_UNKNOWN_POLICY. Otherwise as hub_auth_sas for the device.
 */
enum hub_auth_result hub_auth_device_token(struct sh_hub *hub, const char *device_id,
					   const char *token, size_t token_len);

/* What the TLS edge learnt about a client certificate. */
struct hub_client_cert {
	char sha1[41];          /* thumbprints, hex */
	char sha256[65];
	bool ca_verified;       /* the chain verifies against a CA registered with the hub */
	char common_name[SH_ID_MAX + 1];
};

/*
 * Check a TLS client certificate for a device or module connection (iothub-protocol.md §1.4).
 * selfSigned identities: the primary or secondary thumbprint must equal the certificate's
 * SHA-1 (40 hex) or SHA-256 (64 hex) digest, case-insensitively. certificateAuthority
 * identities: the chain must verify against a registered CA and the subject CN must be the
 * device id (the module id for a module; docs/differences.md). HUB_AUTH_BAD_SIGNATURE when the
 * certificate does not fit, HUB_AUTH_NO_CREDENTIALS for a SAS identity.
 */
enum hub_auth_result hub_auth_x509(struct sh_hub *hub, const char *device_id, const char *module_id,
				   const struct hub_client_cert *cert, struct sh_identity *out);

/* --- X.509 certificate authorities registered with the hub ---------------------------------------- */
/* Register (or replace) a CA by name: 1-64 letters, digits, '-', '_', '.'. The PEM text is
 * checked by the edge that reads it (the hub keeps it as text). */
sh_rc hub_x509_ca_put(struct sh_hub *hub, const char *name, const char *pem, struct iothub_err *err);
sh_rc hub_x509_ca_delete(struct sh_hub *hub, const char *name, struct iothub_err *err);
sh_rc hub_x509_ca_each(struct sh_hub *hub,
		       sh_rc (*fn)(void *arg, const char *name, const char *pem, int64_t added_us),
		       void *arg);

/*
 * Check a service SAS token (the Authorization header of the service REST API): signed with a
 * shared access policy named by skn that holds at least one of `rights_any` (enum sh_right
 * bits), its scope covering the hub (any host, docs/differences.md), not expired.
 * *policy_out (optional) gets the policy. Returns the result (HUB_AUTH_UNKNOWN_POLICY also
 * for a policy without the right, HUB_AUTH_MALFORMED for a missing or device-scoped token).
 */
enum hub_auth_result hub_auth_service(struct sh_hub *hub, const char *token, size_t token_len,
				      unsigned rights_any, struct sh_policy *policy_out);

/*
 * Record a connect or disconnect: a connection event row with `reason` (free text such as
 * "client-disconnect", "keepalive-timeout") and, when set_state is true, the identity's
 * connectionState and its time. A connection replaced by a newer one of the same identity
 * records its disconnect with set_state false: the identity stays Connected.
 */
sh_rc hub_connection_changed(struct sh_hub *hub, const char *device_id, const char *module_id,
			     bool connected, bool set_state, const char *reason,
			     struct iothub_err *err);

/* --- method-call records (methods_log.c) ------------------------------------------------------ */
/*
 * Record an accepted direct-method call as pending, at hub time. module_id NULL or "" for the
 * device; payload (borrowed, NULL when absent) is stored as JSON text; timeouts in seconds.
 * *id_out gets the record's id for hub_method_log_finish.
 * Returns SH_OK; SH_E_NOMEM; the store's failure with err set (500).
 */
sh_rc hub_method_log_begin(struct sh_hub *hub, const char *device_id, const char *module_id,
			   const char *method, const struct cJSON *payload, int timeout_s,
			   int connect_timeout_s, int64_t *id_out, struct iothub_err *err);
/*
 * Finish record `id` at hub time, once: with the device's `status` and `payload` (borrowed,
 * may be NULL) when `outcome` is NULL, else with outcome->code (404103 offline, 504101
 * timeout, anything else failed).
 * Returns SH_OK; SH_E_NOTFOUND when the record is unknown or already finished; SH_E_NOMEM;
 * the store's failure, with err set.
 */
sh_rc hub_method_log_finish(struct sh_hub *hub, int64_t id, int status,
			    const struct cJSON *payload, const struct iothub_err *outcome,
			    struct iothub_err *err);

/*
 * Store one device-to-cloud message from an authenticated connection. `sys` and `app` are
 * JSON objects (borrowed; may be NULL); the hub stamps iothub-connection-device-id (and
 * -module-id) and iothub-enqueuedtime into a copy of sys. *seq_out (optional) gets the row id.
 * A message whose sys has iothub-interface-id = urn:azureiot:Security:SecurityAgent:1 is a
 * security message: it is also validated and stored as one (hub_security_messages_each), and
 * announced as a "security" event instead of "telemetry"; whatever its verdict, SH_OK.
 */
sh_rc hub_telemetry(struct sh_hub *hub, const char *device_id, const char *module_id,
		    const struct cJSON *sys, const struct cJSON *app, const void *body, size_t len,
		    int64_t *seq_out, struct iothub_err *err);

/* --- cloud-to-device messages (iothub-protocol.md §6) ------------------------------------------ */

#define HUB_C2D_MAX_QUEUE 50                 /* per device; the 51st is 403004 */
#define HUB_C2D_MAX_BYTES (64 * 1024)        /* body plus properties; larger is 413001 */
#define HUB_C2D_DEFAULT_TTL_S 3600           /* hub default defaultTtlAsIso8601 */
#define HUB_C2D_LOCK_S 60                    /* visibility timeout of a received message */
#define HUB_C2D_MAX_DELIVERIES 10            /* maxDeliveryCount */

/* What the service sends (borrowed strings; NULL = absent). */
struct hub_c2d_send {
	const void *body;
	size_t len;
	const struct cJSON *app;       /* application properties: an object of string values */
	const char *message_id, *correlation_id, *user_id, *content_type, *content_encoding;
	const char *ack;               /* none | positive | negative | full; NULL = none */
	int64_t expiry_us;             /* absolute; 0 = now + HUB_C2D_DEFAULT_TTL_S */
};

/*
 * Queue a message for a device (modules get no C2D from IoT Hub). Errors: 404001, 403004 when
 * HUB_C2D_MAX_QUEUE messages are already queued, 413001 over HUB_C2D_MAX_BYTES, 400004 for a
 * bad ack or property. Notifies the device's session. *seq_out (optional) gets the queue id.
 */
sh_rc hub_c2d_send(struct sh_hub *hub, const char *device_id, const struct hub_c2d_send *m,
		   int64_t *seq_out, struct iothub_err *err);

/* A received (locked) message. Fields are the caller's; free with hub_c2d_msg_free. */
struct hub_c2d_msg {
	int64_t seq;
	char lock_token[40];
	int delivery_count;
	int64_t enqueued_us, expiry_us;
	struct cJSON *sys;             /* message-id, correlation-id, user-id, to, ack, content-type,
					* content-encoding (canonical names of iothub-protocol §3.2) */
	struct cJSON *app;             /* application properties */
	void *body;
	size_t len;
};
void hub_c2d_msg_free(struct hub_c2d_msg *m);

/*
 * Lock the oldest deliverable message of device_id for lock_s seconds (expired ones are dead-
 * lettered on the way; a lock that ran out makes a message deliverable again). SH_E_NOTFOUND
 * when the queue has nothing to deliver (HTTP 204). 404001 when the device does not exist.
 */
sh_rc hub_c2d_receive(struct sh_hub *hub, const char *device_id, int lock_s,
		      struct hub_c2d_msg *out, struct iothub_err *err);

enum hub_c2d_outcome {
	HUB_C2D_COMPLETE,      /* delivered (MQTT PUBACK, HTTPS DELETE) */
	HUB_C2D_REJECT,        /* dead-lettered (HTTPS DELETE ?reject) */
	HUB_C2D_ABANDON,       /* back to the queue, delivery count +1 (HTTPS POST .../abandon) */
	HUB_C2D_RELEASE,       /* back to the queue, count unchanged (MQTT connection lost) */
};
/* Settle a locked message by its lock token. 412002 DeviceMessageLockLost when the token is
 * unknown, already settled or its lock ran out. */
sh_rc hub_c2d_settle(struct sh_hub *hub, const char *device_id, const char *lock_token,
		     enum hub_c2d_outcome outcome, struct iothub_err *err);

/*
 * At the start of a serving hub: messages still locked by MQTT deliveries of an earlier run
 * (their locks outlast HUB_C2D_LOCK_S) go back to the queue, delivery count unchanged. HTTPS
 * receive locks are left to run out as usual. *released (optional) gets the count.
 */
sh_rc hub_c2d_recover(struct sh_hub *hub, int64_t *released, struct iothub_err *err);

/* --- group commit for the event loop ------------------------------------------------------------ */
/*
 * The loop holds one batch open while it handles a round of network events; operations join
 * it. hub_batch_hold opens it (no-op when held); hub_batch_release commits it, then runs every
 * after-commit callback queued with hub_after_commit, in order (this is when PUBACKs and
 * answers go out: acknowledged means committed).
 */
sh_rc hub_batch_hold(struct sh_hub *hub);
bool hub_batch_held(const struct sh_hub *hub);
sh_rc hub_batch_release(struct sh_hub *hub);
/* Run fn(arg) after the held batch commits (at once when no batch is held). */
sh_rc hub_after_commit(struct sh_hub *hub, void (*fn)(void *arg), void *arg);
/* Forget queued after-commit calls for `arg` (its owner is going away). */
void hub_after_commit_cancel(struct sh_hub *hub, void *arg);

/* --- fixtures ---------------------------------------------------------------------------------- */
struct fixture;
/*
 * Apply parsed fixtures in one transaction: all or nothing. `files` names each fixture for
 * error messages ("fixtures/demo/hub.json: $.devices[1].twin.desired.a: key contains '.'").
 */
sh_rc hub_fixtures_apply(struct sh_hub *hub, struct fixture *const *fx, const char *const *files,
			 size_t n, struct iothub_err *err);

/* --- the hub event bus (events.c) -------------------------------------------------------------- */
/*
 * Every hub event reaches the listeners after the batch that caused it has committed (a
 * rolled-back operation emits nothing), in emit order, with ids growing by 1 per delivered
 * event. Emitted today: connection (connect/disconnect), telemetry, twin writes, method-call
 * outcomes, C2D queue changes and feedback, security messages and alerts (security.c).
 * What each kind's data holds is in docs/api.md ("Live events").
 */
enum hub_event_kind {
	HUB_EV_CONNECTION, HUB_EV_TELEMETRY, HUB_EV_TWIN, HUB_EV_METHOD, HUB_EV_C2D,
	HUB_EV_ALERT, HUB_EV_SECURITY,
	/* "session": the device side of MQTT sessions that the kinds above do not carry (connect
	 * parameters, twin reads and reported patches with their $rid and answer, method requests
	 * sent and the device's answers, desired patches and C2D messages sent). data has "op",
	 * a journal op name (docs/recordings.md), and that op's fields. Not counted in metrics. */
	HUB_EV_SESSION,
	HUB_EV__COUNT
};

/* An event as listeners see it; everything borrowed for the callback only. */
struct hub_event {
	uint64_t id;                  /* 1, 2, 3... per hub object, in delivery order */
	enum hub_event_kind kind;
	int64_t time_us;              /* hub time at emit */
	const char *device_id;        /* NULL when the event has no identity */
	const char *module_id;        /* NULL for a device's own events */
	const struct cJSON *data;     /* a JSON object: the kind's fields */
};
typedef void (*hub_event_fn)(void *ctx, const struct hub_event *ev);

/*
 * Register fn(ctx, ev) for every event from now on, after the listeners already registered.
 * *handle_out (optional) gets the handle for hub_event_unlisten. A listener may run hub
 * operations (their events come after the current one) and may unlisten itself or others.
 * Returns SH_OK; SH_E_INVALID for a NULL fn; SH_E_NOMEM.
 */
sh_rc hub_event_listen(struct sh_hub *hub, hub_event_fn fn, void *ctx, int *handle_out);
/* Stop calling a listener (at once, also during a delivery). Unknown handles are ignored. */
void hub_event_unlisten(struct sh_hub *hub, int handle);
/*
 * Emit an event: takes ownership of data (a JSON object; NULL means {}). Inside a hub operation
 * it waits for the operation's outcome; it is delivered after the commit. module_id NULL or ""
 * for a device. For helpers outside the hub (alerts, security).
 */
void hub_event_emit(struct sh_hub *hub, enum hub_event_kind kind, const char *device_id,
		    const char *module_id, struct cJSON *data);
/* "connection", "telemetry", "twin", "method", "c2d", "alert", "security", "session";
 * "unknown". Static. */
const char *hub_event_kind_str(enum hub_event_kind kind);
/* The kind named by name[0..len) (exact, lower case). False when none. */
bool hub_event_kind_parse(const char *name, size_t len, enum hub_event_kind *out);
/*
 * The event as the live stream sends it: {"id","type","time","deviceId","moduleId"?, then the
 * data's fields}. Caller frees (cJSON_Delete); NULL when out of memory.
 */
struct cJSON *hub_event_to_json(const struct hub_event *ev);

/* Which events a watcher wants (the live stream's types=, deviceId=, moduleId=). */
struct hub_event_filter {
	unsigned kinds;               /* bit (1u << kind) per wanted kind; 0 = every kind */
	bool has_device, has_module;
	char device_id[SH_ID_MAX + 1];
	char module_id[SH_ID_MAX + 1];  /* "" with has_module: a device's own events only */
};
/*
 * Fill f from the filter texts (each NULL when absent): `types` a comma-separated list of kind
 * names ("telemetry,twin"), device_id 1..SH_ID_MAX characters, module_id 0..SH_ID_MAX.
 * Returns SH_OK; SH_E_INVALID with a sentence in err (400004) for an unknown kind, an empty
 * list item, an empty or too long id.
 */
sh_rc hub_event_filter_init(struct hub_event_filter *f, const char *types, const char *device_id,
			    const char *module_id, struct iothub_err *err);
/* Does ev pass f? */
bool hub_event_filter_match(const struct hub_event_filter *f, const struct hub_event *ev);

/* Counters of committed events, per kind and label (for /metrics). */
#define HUB_METRIC_LABELS 8
struct hub_metrics {
	uint64_t committed[HUB_EV__COUNT][HUB_METRIC_LABELS];
};
/* The hub's counters; borrowed, live. */
const struct hub_metrics *hub_metrics_get(const struct sh_hub *hub);
/*
 * The label names of a kind's counters, NULL-terminated, static: connection {connect,
 * disconnect}, telemetry {message}, twin {desired, reported, tags, replace}, method {completed,
 * timeout, offline, failed}, c2d {queued, delivered, completed, rejected, abandoned, expired,
 * deadlettered, feedback}, alert and security {event}.
 */
const char *const *hub_metric_labels(enum hub_event_kind kind);

/* --- C2D feedback (iothub-protocol.md §6) --------------------------------------------------------- */
/* One feedback record; strings borrowed for the callback only. */
struct hub_c2d_feedback {
	int64_t id;
	const char *device_id, *original_message_id, *device_generation_id;
	int64_t enqueued_us;          /* when the outcome happened */
	const char *status_code;      /* Success, Expired, DeliveryCountExceeded, Rejected, Purged */
	const char *description;
};
/* Filters: device_id NULL for all; [from_us, to_us); ids after after_id; at most limit (0 = all). */
struct hub_c2d_feedback_query {
	const char *device_id;
	int64_t from_us, to_us;
	int64_t after_id;
	int64_t limit;
};
/* The records matching q in id order; a non-SH_OK callback result stops the walk and is
 * returned. SH_E_IO when the store fails. */
sh_rc hub_c2d_feedback_each(struct sh_hub *hub, const struct hub_c2d_feedback_query *q,
			    sh_rc (*fn)(void *arg, const struct hub_c2d_feedback *f), void *arg);

/* --- reset (POST /simhub/v1/reset) ------------------------------------------------------------------ */
/* What hub_reset removed. */
struct hub_reset_counts {
	int64_t devices, modules, d2c_messages, c2d_messages, c2d_feedback, connection_events,
		method_calls, security_messages;
	bool reseeded;                /* the fixtures were applied again */
	int64_t security_events, security_alerts; /* rows of the security room removed */
};
/*
 * How to seed the hub again after a reset: `serve --fixtures` sets a function that applies
 * its fixtures (inside the reset's operation: it fails, the reset does not happen). NULL fn:
 * none (the default).
 */
void hub_set_reseed(struct sh_hub *hub, sh_rc (*fn)(void *ctx, struct sh_hub *hub,
						    struct iothub_err *err), void *ctx);
/* True when a reseed function is set. */
bool hub_can_reseed(const struct sh_hub *hub);
/*
 * Empty the hub in one operation: identities, twins, messages, the c2d queue and feedback,
 * connection events, method records. Settings, policies and X.509 CAs stay. With `reseed`,
 * the reseed function then runs in the same operation (all or nothing). Live sessions are the
 * caller's to close. *counts (optional) gets what went.
 * Returns SH_OK; SH_E_STATE (400004) for reseed without a reseed function; the reseed
 * function's failure with its err; the store's failure (500001).
 */
sh_rc hub_reset(struct sh_hub *hub, bool reseed, struct hub_reset_counts *counts,
		struct iothub_err *err);


/* --- security module twins, security messages, alerts (security.c; docs/security.md) ---------- */
/*
 * Hub settings of the security room: "security.strict" (true: validate security messages in
 * secmsg's strict mode; default service mode), HUB_SETTING_SECURITY_AUTOCREATE, and the alert
 * thresholds "security.alerts.*" of secrules_thresholds_set.
 */
#define HUB_SETTING_SECURITY_STRICT "security.strict"
#define HUB_SECURITY_MODULE_ID "azureiotsecurity"

struct secconfig_drift;

/*
 * Give a device the security module `azureiotsecurity` (SAS keys generated) with the desired
 * configuration object of secconfig_default_desired(); an existing module keeps its keys and
 * gets the default object only when its desired section has no configuration object.
 * *created (optional): true when the module was created now.
 * Errors: 404001 no such device; the store's failure (500001).
 */
sh_rc hub_security_enable(struct sh_hub *hub, const char *device_id, bool *created,
			  struct iothub_err *err);
/*
 * With security.autoCreateModule on, hub_security_enable for every device lacking the module
 * (start-up). Off: nothing. *created (optional) counts the modules made.
 */
sh_rc hub_security_autocreate_all(struct sh_hub *hub, int64_t *created, struct iothub_err *err);

/* The validation mode (security.strict). */
bool hub_security_strict(struct sh_hub *hub);

/* One stored security message; strings borrowed for the callback only. */
struct hub_security_message {
	int64_t seq;                  /* grows with arrival order */
	int64_t d2c_seq;              /* the d2c_messages row of the same message */
	int64_t received_us;          /* hub time of arrival */
	const char *device_id;
	const char *module_id;        /* "" for a device connection */
	const char *agent_id, *agent_version; /* NULL when absent from the body */
	const char *mode;             /* "service" | "strict": how it was validated */
	const char *verdict;          /* "valid" | "tolerated" | "invalid" */
	const char *reasons_json;     /* JSON array of the envelope's reasons */
	const char *properties_json;  /* {"sys":{...},"app":{...}} as received */
	const void *body;             /* raw body as received */
	size_t body_len;
	int64_t n_events;             /* event rows stored for it */
};

/* Filters (NULL / 0 = any). Times bound received_us: from_us <= t < to_us (0 = no bound). */
struct hub_security_message_query {
	const char *device_id;
	const char *module_id;        /* "" = the device's own messages */
	const char *verdict;
	int64_t from_us, to_us;
	int64_t after_seq;            /* paging: seq > after_seq */
	int64_t limit;                /* <= 0: no limit */
};

/* The messages matching q in seq order; a non-SH_OK callback result stops the walk and is
 * returned. SH_E_IO when the store fails. */
sh_rc hub_security_messages_each(struct sh_hub *hub, const struct hub_security_message_query *q,
				 sh_rc (*fn)(void *arg, const struct hub_security_message *m),
				 void *arg);

/* One stored security event (one item of a message's Events); strings borrowed. */
struct hub_security_event {
	int64_t id;                   /* grows with arrival order */
	int64_t message_seq;          /* its hub_security_message */
	int64_t received_us;          /* hub time of arrival */
	const char *device_id;
	const char *module_id;
	const char *agent_id;         /* NULL when absent */
	const char *event_id;         /* the event's Id; NULL when absent */
	const char *name, *event_type, *category; /* "" when absent */
	bool is_empty;
	const char *timestamp_local;  /* as sent; NULL when absent */
	bool has_utc;                 /* utc_us is set */
	int64_t utc_us;               /* the event's UTC instant (secmsg's reading) */
	const char *payload_json;     /* Payload as normalised by secmsg ("null" when missing) */
	const char *verdict;          /* "valid" | "tolerated" | "invalid" */
	const char *reasons_json;     /* JSON array */
};

/* Filters (NULL / 0 = any); exact, case-sensitive texts. Times bound received_us. */
struct hub_security_event_query {
	const char *device_id;
	const char *module_id;
	const char *name;             /* e.g. "ProcessCreate" */
	const char *event_type;       /* Security | Operational | Diagnostic */
	const char *category;
	const char *verdict;
	int64_t from_us, to_us;
	int64_t after_id;
	int64_t limit;
};

sh_rc hub_security_events_each(struct sh_hub *hub, const struct hub_security_event_query *q,
			       sh_rc (*fn)(void *arg, const struct hub_security_event *e),
			       void *arg);

/* One stored alert; strings borrowed for the callback only. */
struct hub_security_alert {
	int64_t id;                   /* grows with creation order */
	int64_t created_us;           /* hub time the alert was raised */
	int64_t time_us;              /* time of its last evidence event (agentSilent: now) */
	const char *rule;             /* secrules rule name, e.g. "bruteForce" */
	const char *severity;         /* High | Medium | Low */
	const char *device_id;
	const char *module_id;        /* "" for a device connection */
	const char *evidence_json;    /* JSON array of event ids */
	const char *description;
};

/* Filters (NULL / 0 = any). Times bound created_us. */
struct hub_security_alert_query {
	const char *device_id;
	const char *rule;
	const char *severity;
	int64_t from_us, to_us;
	int64_t after_id;
	int64_t limit;
};

sh_rc hub_security_alerts_each(struct sh_hub *hub, const struct hub_security_alert_query *q,
			       sh_rc (*fn)(void *arg, const struct hub_security_alert *a),
			       void *arg);

/*
 * The items of the security lists as the API returns them (docs/api.md "Security"); NULL
 * when out of memory. Caller frees. Shared by the API and the CLI on a database file.
 */
struct cJSON *hub_security_message_json(const struct hub_security_message *m);
struct cJSON *hub_security_event_json(const struct hub_security_event *e);
struct cJSON *hub_security_alert_json(const struct hub_security_alert *a);

/*
 * Desired vs reported configuration of the device's security module twin, with the payload
 * of its latest ConfigurationError event (secconfig_drift). *out filled; caller releases with
 * secconfig_drift_free (also after an error). Errors: 404010 no security module; 500001.
 */
sh_rc hub_security_drift(struct sh_hub *hub, const char *device_id, struct secconfig_drift *out,
			 struct iothub_err *err);
/* The same as JSON: secconfig_drift_json plus "deviceId", "moduleId". Caller frees. */
sh_rc hub_security_config_json(struct sh_hub *hub, const char *device_id, struct cJSON **out,
			       struct iothub_err *err);
/*
 * Per-device summary: {"deviceId","hasModule","messages","lastMessageTime" (ISO or null),
 * "verdicts":{"valid","tolerated","invalid"},"events":{"<Name>":count,...},
 * "alerts":{"<rule>":count,...},"alertCount","configApplied":bool}. Caller frees.
 * Errors: 404001 when the device does not exist and never sent a security message.
 */
sh_rc hub_security_summary(struct sh_hub *hub, const char *device_id, struct cJSON **out,
			   struct iothub_err *err);
/*
 * The agent-silent rule at hub time, for every (device, module) that sent security messages:
 * called by the loop's 1 s sweep (it works at most once per HUB_SECURITY_SWEEP_US of hub time).
 * *raised (optional) counts new alerts. Returns SH_OK or the store's failure.
 */
#define HUB_SECURITY_SWEEP_US 5000000
sh_rc hub_security_sweep(struct sh_hub *hub, int64_t *raised, struct iothub_err *err);

#endif
