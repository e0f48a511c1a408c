/*
 * sessions.c: the table of live MQTT sessions: every connection in a list, connected ones
 * indexed by identity (one per identity: a new connection drops the old, 400027), desired
 * patches routed to the identity's session, direct-method calls with their $rid correlation
 * and timeouts, and the timer sweep.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/hub_topic.h"
#include "hub/session_internal.h"

#define ID_BUCKETS 4096u

/* The subscriptions of an identity whose last session had clean session 0. */
struct persisted {
	char device_id[SH_ID_MAX + 1];
	char module_id[SH_ID_MAX + 1];
	unsigned subs;
	struct persisted *next;
};

/* A method call waiting for its identity to connect and subscribe (connectTimeoutInSeconds). */
struct waiting_method {
	char device_id[SH_ID_MAX + 1];
	char module_id[SH_ID_MAX + 1];
	char method[136];
	char *payload;                /* JSON text */
	int response_timeout_s;
	int64_t deadline_us;
	hub_method_cb cb;
	void *arg;
	struct waiting_method *next;
};

struct hub_sessions {
	struct sh_hub *hub;
	struct hub_session *all;
	size_t count;
	struct hub_session *by_id[ID_BUCKETS];
	struct persisted *persisted[ID_BUCKETS];
	struct waiting_method *waiting;
	struct fault_entry *faults;   /* session_faults.c */
	size_t n_faults;
};

/* FNV-1a over "device/module". */
static unsigned id_hash(const char *d, const char *m)
{
	uint32_t h = 2166136261u;
	for (const char *p = d; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (const char *p = m; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h % ID_BUCKETS;
}

static void on_desired(void *ctx, const char *device_id, const char *module_id, const cJSON *delta);
static void on_c2d_queued(void *ctx, const char *device_id);
static void serve_waiting(struct hub_sessions *reg);

struct hub_sessions *hub_sessions_new(struct sh_hub *hub)
{
	struct hub_sessions *reg = calloc(1, sizeof *reg);
	if (!reg)
		return NULL;
	reg->hub = hub;
	struct sh_hub_notify n = {on_desired, on_c2d_queued, reg};
	hub_set_notify(hub, &n);
	return reg;
}

void hub_sessions_free(struct hub_sessions *reg)
{
	if (!reg)
		return;
	hub_set_notify(reg->hub, NULL);
	sessions_faults_free(reg);
	while (reg->waiting) {
		struct waiting_method *w = reg->waiting;
		struct iothub_err err;
		reg->waiting = w->next;
		iothub_err_set(&err, IOTHUB_DEVICE_NOT_ONLINE, "the hub is shutting down");
		w->cb(w->arg, 0, NULL, &err);
		free(w->payload);
		free(w);
	}
	for (size_t i = 0; i < ID_BUCKETS; i++) {
		while (reg->persisted[i]) {
			struct persisted *p = reg->persisted[i];
			reg->persisted[i] = p->next;
			free(p);
		}
	}
	free(reg);
}

static struct persisted **persisted_slot(struct hub_sessions *reg, const struct hub_session *s)
{
	struct persisted **pp = &reg->persisted[id_hash(s->device_id, s->module_id)];
	for (; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->device_id, s->device_id) == 0 &&
		    strcmp((*pp)->module_id, s->module_id) == 0)
			break;
	return pp;
}

unsigned sessions_persisted_subs(struct hub_sessions *reg, const struct hub_session *s)
{
	struct persisted **pp = persisted_slot(reg, s);
	return *pp ? (*pp)->subs : 0;
}

void sessions_persist_subs(struct hub_sessions *reg, const struct hub_session *s, bool keep)
{
	struct persisted **pp = persisted_slot(reg, s);
	unsigned subs = s->subs | ((s->subs & SUB_C2D) && s->c2d_qos == 0 ? SUB_C2D_QOS0 : 0);
	if (!keep || !s->subs) {
		if (*pp) {
			struct persisted *p = *pp;
			*pp = p->next;
			free(p);
		}
		return;
	}
	if (!*pp) {
		struct persisted *p = calloc(1, sizeof *p);
		if (!p)
			return;
		snprintf(p->device_id, sizeof p->device_id, "%s", s->device_id);
		snprintf(p->module_id, sizeof p->module_id, "%s", s->module_id);
		*pp = p;
	}
	(*pp)->subs = subs;
}

struct sh_hub *sessions_hub(struct hub_sessions *reg)
{
	return reg->hub;
}

struct fault_entry **sessions_faults(struct hub_sessions *reg)
{
	return &reg->faults;
}

size_t *sessions_fault_n(struct hub_sessions *reg)
{
	return &reg->n_faults;
}

size_t hub_fault_count(const struct hub_sessions *reg)
{
	return reg->n_faults;
}

void hub_sessions_clock_jumped(struct hub_sessions *reg, int64_t delta_us)
{
	for (struct hub_session *s = reg->all; s; s = s->next) {
		s->opened_us += delta_us;
		s->last_rx_us += delta_us;
	}
}

bool hub_sessions_drop(struct hub_sessions *reg, const char *device_id, const char *module_id,
		       const char *reason)
{
	struct hub_session *s = hub_sessions_find(reg, device_id, module_id);
	if (!s)
		return false;
	session_fail(s, reason);
	return true;
}

size_t hub_sessions_count(const struct hub_sessions *reg)
{
	return reg->count;
}

size_t hub_sessions_connected_devices(const struct hub_sessions *reg)
{
	size_t n = 0;
	for (const struct hub_session *s = reg->all; s; s = s->next)
		n += s->connected && !s->closing && !s->module_id[0];
	return n;
}

void sessions_link(struct hub_sessions *reg, struct hub_session *s)
{
	s->next = reg->all;
	s->prev = NULL;
	if (reg->all)
		reg->all->prev = s;
	reg->all = s;
	reg->count++;
}

static void id_remove(struct hub_sessions *reg, struct hub_session *s)
{
	struct hub_session **pp = &reg->by_id[id_hash(s->device_id, s->module_id)];
	for (; *pp; pp = &(*pp)->id_next) {
		if (*pp == s) {
			*pp = s->id_next;
			s->id_next = NULL;
			return;
		}
	}
}

struct hub_session *hub_sessions_find(struct hub_sessions *reg, const char *device_id,
				      const char *module_id)
{
	const char *mod = module_id ? module_id : "";
	for (struct hub_session *s = reg->by_id[id_hash(device_id, mod)]; s; s = s->id_next)
		if (strcmp(s->device_id, device_id) == 0 && strcmp(s->module_id, mod) == 0 &&
		    !s->closing)
			return s;
	return NULL;
}

void sessions_register(struct hub_sessions *reg, struct hub_session *s)
{
	struct hub_session *old = hub_sessions_find(reg, s->device_id, s->module_id);
	if (old) {
		id_remove(reg, old);
		old->replaced = true;
		session_fail(old, "400027-new-connection");
	}
	unsigned h = id_hash(s->device_id, s->module_id);
	s->id_next = reg->by_id[h];
	reg->by_id[h] = s;
}

void sessions_unlink(struct hub_sessions *reg, struct hub_session *s)
{
	if (s->device_id[0])
		id_remove(reg, s);
	if (s->prev)
		s->prev->next = s->next;
	else if (reg->all == s)
		reg->all = s->next;
	if (s->next)
		s->next->prev = s->prev;
	reg->count--;
}

void hub_sessions_tick(struct hub_sessions *reg)
{
	int64_t now = hub_now_us(reg->hub);
	for (struct hub_session *s = reg->all; s; s = s->next)
		session_tick(s, now);
	if (reg->waiting)
		serve_waiting(reg);
	hub_security_sweep(reg->hub, NULL, NULL); /* agent-silent alerts (security.c) */
}

/* A desired change: push it to the identity's session if it subscribed (§3.4; not queued). */
static void on_desired(void *ctx, const char *device_id, const char *module_id, const cJSON *delta)
{
	struct hub_sessions *reg = ctx;
	struct hub_session *s = hub_sessions_find(reg, device_id, module_id);
	if (!s || !s->connected || !(s->subs & SUB_TWIN_DESIRED))
		return;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(delta, "$version");
	char topic[128];
	size_t n = 0;
	if (!cJSON_IsNumber(v) ||
	    hub_topic_build_desired((int64_t)v->valuedouble, topic, sizeof topic, &n) != SH_OK)
		return;
	char *body = cJSON_PrintUnformatted(delta);
	if (body) {
		session_publish(s, topic, body, strlen(body), 0, 0);
		cJSON_free(body);
	}
	cJSON *ev = session_event_new(s, "twin.desired");   /* the patch without $version */
	cJSON *patch = ev ? cJSON_Duplicate(delta, 1) : NULL;
	if (patch) {
		cJSON_DeleteItemFromObjectCaseSensitive(patch, "$version");
		cJSON_AddItemToObject(ev, "patch", patch);
		cJSON_AddNumberToObject(ev, "version", v->valuedouble);
	}
	session_emit(s, ev);
}

/* A message was queued (or returned to the queue): the device's session may take it now. */
static void on_c2d_queued(void *ctx, const char *device_id)
{
	struct hub_session *s = hub_sessions_find(ctx, device_id, "");
	if (s)
		session_c2d_pump(s);
}

/* --- direct methods ------------------------------------------------------------------------------ */

/* Send a method request on a session that is connected and subscribed. */
static sh_rc send_method(struct hub_session *s, const char *method, const char *body,
			 int timeout_s, hub_method_cb cb, void *arg, struct iothub_err *err)
{
	struct pending_method *pm = calloc(1, sizeof *pm);
	char topic[512];
	size_t n = 0;
	if (!pm) {
		iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
		return SH_E_NOMEM;
	}
	snprintf(pm->rid, sizeof pm->rid, "%" PRIx32, ++s->next_rid);
	if (hub_topic_build_method(method, pm->rid, topic, sizeof topic, &n) != SH_OK) {
		free(pm);
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID, "method name is too long or invalid");
		return SH_E_INVALID;
	}
	pm->deadline_us = hub_now_us(s->hub) + (int64_t)timeout_s * 1000000;
	pm->cb = cb;
	pm->arg = arg;
	pm->next = s->methods;
	s->methods = pm;
	session_publish(s, topic, body, strlen(body), 0, 0);
	cJSON *ev = session_event_new(s, "method.request");
	if (ev) {
		cJSON_AddStringToObject(ev, "rid", pm->rid);
		cJSON_AddStringToObject(ev, "name", method);
		cJSON *payload = cJSON_Parse(body);
		cJSON_AddItemToObject(ev, "payload", payload ? payload : cJSON_CreateNull());
	}
	session_emit(s, ev);
	return SH_OK;
}

static bool ready_for_methods(const struct hub_session *s)
{
	return s && s->connected && !s->closing && (s->subs & SUB_METHODS);
}

sh_rc hub_method_invoke(struct hub_sessions *reg, const char *device_id, const char *module_id,
			const char *method, const cJSON *payload, int response_timeout_s,
			int connect_timeout_s, hub_method_cb cb, void *arg, struct iothub_err *err)
{
	const char *mod = module_id ? module_id : "";
	char *body = payload ? cJSON_PrintUnformatted(payload) : NULL;
	if (payload && !body) {
		iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
		return SH_E_NOMEM;
	}
	const char *text = body ? body : "null";
	struct hub_session *s = hub_sessions_find(reg, device_id, mod);
	sh_rc rc;
	if (ready_for_methods(s)) {
		rc = send_method(s, method, text, response_timeout_s, cb, arg, err);
	} else if (connect_timeout_s <= 0) {
		iothub_err_set(err, IOTHUB_DEVICE_NOT_ONLINE,
			       "%s%s%s is not connected or not subscribed to direct methods",
			       device_id, mod[0] ? "/" : "", mod);
		rc = SH_E_NOTFOUND;
	} else {
		struct waiting_method *w = calloc(1, sizeof *w);
		if (!w || strlen(method) >= sizeof w->method) {
			free(w);
			iothub_err_set(err, w ? IOTHUB_ARGUMENT_INVALID : IOTHUB_SERVER_ERROR,
				       "cannot wait for the device");
			rc = SH_E_INVALID;
		} else {
			snprintf(w->device_id, sizeof w->device_id, "%s", device_id);
			snprintf(w->module_id, sizeof w->module_id, "%s", mod);
			snprintf(w->method, sizeof w->method, "%s", method);
			w->payload = strdup(text);
			w->response_timeout_s = response_timeout_s;
			w->deadline_us = hub_now_us(reg->hub) + (int64_t)connect_timeout_s * 1000000;
			w->cb = cb;
			w->arg = arg;
			w->next = reg->waiting;
			reg->waiting = w;
			rc = w->payload ? SH_OK : SH_E_NOMEM;
		}
	}
	cJSON_free(body);
	return rc;
}

/*
 * Walk the waiting method calls: send those whose identity is now ready; fail those past
 * their connect deadline with 404103 (as IoT Hub: "Timed out waiting for device to connect").
 */
static void serve_waiting(struct hub_sessions *reg)
{
	int64_t now = hub_now_us(reg->hub);
	struct waiting_method **pp = &reg->waiting;
	while (*pp) {
		struct waiting_method *w = *pp;
		struct hub_session *s = hub_sessions_find(reg, w->device_id, w->module_id);
		struct iothub_err err;
		bool ready = ready_for_methods(s);
		if (!ready && w->deadline_us > now) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		if (!ready || send_method(s, w->method, w->payload, w->response_timeout_s, w->cb,
					  w->arg, &err) != SH_OK) {
			if (!ready)
				iothub_err_set(&err, IOTHUB_DEVICE_NOT_ONLINE,
					       "timed out waiting for the device to connect");
			w->cb(w->arg, 0, NULL, &err);
		}
		free(w->payload);
		free(w);
	}
}

void sessions_methods_subscribed(struct hub_sessions *reg)
{
	if (reg->waiting)
		serve_waiting(reg);
}

void session_method_answer(struct hub_session *s, const char *rid, size_t rid_len, int status,
			   const uint8_t *body, size_t len)
{
	struct pending_method **pp = &s->methods;
	for (; *pp; pp = &(*pp)->next) {
		if (strlen((*pp)->rid) == rid_len && memcmp((*pp)->rid, rid, rid_len) == 0)
			break;
	}
	if (!*pp)
		return; /* late or unknown answer: IoT Hub drops it */
	struct pending_method *pm = *pp;
	*pp = pm->next;
	cJSON *payload = len ? cJSON_ParseWithLength((const char *)body, len) : NULL;
	if (len && !payload) {
		/* Not JSON: hand the text over as a JSON string rather than lose it. */
		char *txt = malloc(len + 1);
		if (txt) {
			memcpy(txt, body, len);
			txt[len] = '\0';
			payload = cJSON_CreateString(txt);
			free(txt);
		}
	}
	pm->cb(pm->arg, status, payload, NULL);
	cJSON_Delete(payload);
	free(pm);
}

static void method_fail(struct pending_method *pm, enum iothub_error code, const char *msg)
{
	struct iothub_err err;
	iothub_err_set(&err, code, "%s", msg);
	pm->cb(pm->arg, 0, NULL, &err);
	free(pm);
}

void session_methods_expire(struct hub_session *s, int64_t now_us)
{
	struct pending_method **pp = &s->methods;
	while (*pp) {
		struct pending_method *pm = *pp;
		if (pm->deadline_us > now_us) {
			pp = &pm->next;
			continue;
		}
		*pp = pm->next;
		method_fail(pm, IOTHUB_GATEWAY_TIMEOUT, "timed out waiting for the device to answer");
	}
}

void session_methods_abort(struct hub_session *s)
{
	while (s->methods) {
		struct pending_method *pm = s->methods;
		s->methods = pm->next;
		method_fail(pm, IOTHUB_DEVICE_NOT_ONLINE, "the device disconnected before answering");
	}
}
