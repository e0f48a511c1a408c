/*
 * events.c: the hub event bus. Hub operations emit events while they run; an event waits with
 * its operation (a rolled-back operation takes its events along) and reaches the listeners
 * only after the batch that holds it has committed, through the after-commit queue. Also the
 * committed-event counters behind /metrics. It never writes to the store and knows no sockets.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/base64.h"
#include "core/isotime.h"
#include "core/utf8.h"
#include "hub/hub_internal.h"

static const char *const kind_names[HUB_EV__COUNT] = {
	"connection", "telemetry", "twin", "method", "c2d", "alert", "security", "session",
};

/* The counter labels of each kind, in the order of the HUB_ML_* values (hub_internal.h). */
static const char *const labels_connection[] = {"connect", "disconnect", NULL};
static const char *const labels_telemetry[] = {"message", NULL};
static const char *const labels_twin[] = {"desired", "reported", "tags", "replace", NULL};
static const char *const labels_method[] = {"completed", "timeout", "offline", "failed", NULL};
static const char *const labels_c2d[] = {"queued", "delivered", "completed", "rejected",
					 "abandoned", "expired", "deadlettered", "feedback", NULL};
static const char *const labels_other[] = {"event", NULL};

const char *hub_event_kind_str(enum hub_event_kind kind)
{
	if ((unsigned)kind >= HUB_EV__COUNT)
		return "unknown";
	return kind_names[kind];
}

bool hub_event_kind_parse(const char *name, size_t len, enum hub_event_kind *out)
{
	for (int k = 0; k < HUB_EV__COUNT; k++) {
		if (strlen(kind_names[k]) == len && memcmp(kind_names[k], name, len) == 0) {
			*out = (enum hub_event_kind)k;
			return true;
		}
	}
	return false;
}

const char *const *hub_metric_labels(enum hub_event_kind kind)
{
	switch (kind) {
	case HUB_EV_CONNECTION: return labels_connection;
	case HUB_EV_TELEMETRY: return labels_telemetry;
	case HUB_EV_TWIN: return labels_twin;
	case HUB_EV_METHOD: return labels_method;
	case HUB_EV_C2D: return labels_c2d;
	default: return labels_other;
	}
}

const struct hub_metrics *hub_metrics_get(const struct sh_hub *hub)
{
	return &hub->metrics;
}

/* --- filters ---------------------------------------------------------------------------------- */

sh_rc hub_event_filter_init(struct hub_event_filter *f, const char *types, const char *device_id,
			    const char *module_id, struct iothub_err *err)
{
	memset(f, 0, sizeof *f);
	if (types) {
		const char *p = types;
		for (;;) {
			size_t n = strcspn(p, ",");
			enum hub_event_kind k;
			if (!hub_event_kind_parse(p, n, &k)) {
				iothub_err_set(err, IOTHUB_ARGUMENT_INVALID,
					       "types: '%.*s' is not an event type (connection, "
					       "telemetry, twin, method, c2d, alert, security, session)",
					       (int)(n > 40 ? 40 : n), p);
				return SH_E_INVALID;
			}
			f->kinds |= 1u << k;
			if (!p[n])
				break;
			p += n + 1;
		}
	}
	if (device_id) {
		size_t n = strlen(device_id);
		if (n == 0 || n > SH_ID_MAX) {
			iothub_err_set(err, IOTHUB_ARGUMENT_INVALID,
				       "deviceId must be 1 to %d characters", SH_ID_MAX);
			return SH_E_INVALID;
		}
		memcpy(f->device_id, device_id, n + 1);
		f->has_device = true;
	}
	if (module_id) {
		size_t n = strlen(module_id);
		if (n > SH_ID_MAX) {
			iothub_err_set(err, IOTHUB_ARGUMENT_INVALID,
				       "moduleId must be at most %d characters", SH_ID_MAX);
			return SH_E_INVALID;
		}
		memcpy(f->module_id, module_id, n + 1);
		f->has_module = true;
	}
	return SH_OK;
}

bool hub_event_filter_match(const struct hub_event_filter *f, const struct hub_event *ev)
{
	if (f->kinds && !(f->kinds & (1u << ev->kind)))
		return false;
	if (f->has_device && (!ev->device_id || strcmp(ev->device_id, f->device_id) != 0))
		return false;
	if (f->has_module && strcmp(ev->module_id ? ev->module_id : "", f->module_id) != 0)
		return false;
	return true;
}

/* --- listeners ------------------------------------------------------------------------------- */

sh_rc hub_event_listen(struct sh_hub *hub, hub_event_fn fn, void *ctx, int *handle_out)
{
	if (!fn)
		return SH_E_INVALID;
	if (hub->n_listeners == hub->cap_listeners) {
		size_t cap = hub->cap_listeners ? hub->cap_listeners * 2 : 4;
		struct hub_listener *nl = realloc(hub->listeners, cap * sizeof *nl);
		if (!nl)
			return SH_E_NOMEM;
		hub->listeners = nl;
		hub->cap_listeners = cap;
	}
	int h = ++hub->next_handle;
	hub->listeners[hub->n_listeners].fn = fn;
	hub->listeners[hub->n_listeners].ctx = ctx;
	hub->listeners[hub->n_listeners].handle = h;
	hub->n_listeners++;
	hub->n_active++;
	if (handle_out)
		*handle_out = h;
	return SH_OK;
}

/* Drop the slots of listeners that left (only between deliveries: indexes stay put during one). */
static void compact_listeners(struct sh_hub *hub)
{
	size_t o = 0;
	for (size_t i = 0; i < hub->n_listeners; i++)
		if (hub->listeners[i].fn)
			hub->listeners[o++] = hub->listeners[i];
	hub->n_listeners = o;
}

void hub_event_unlisten(struct sh_hub *hub, int handle)
{
	for (size_t i = 0; i < hub->n_listeners; i++) {
		if (hub->listeners[i].fn && hub->listeners[i].handle == handle) {
			hub->listeners[i].fn = NULL;
			hub->n_active--;
			break;
		}
	}
	if (!hub->delivering)
		compact_listeners(hub);
}

bool hub_events_wanted(const struct sh_hub *hub)
{
	return hub->n_active > 0;
}

/* --- pending events and delivery ---------------------------------------------------------------- */

static void pending_free(struct hub_pending_event *p)
{
	cJSON_Delete(p->data);
	free(p->device_id);
	free(p->module_id);
	free(p);
}

static void list_free(struct hub_pending_event *p)
{
	while (p) {
		struct hub_pending_event *n = p->next;
		pending_free(p);
		p = n;
	}
}

/*
 * Deliver every ready event, oldest first, to the listeners present when it is delivered
 * (one registered during a delivery sees the next event, not this one). Listeners may run hub
 * operations: their events join the ready list and this same loop delivers them in turn, so
 * a nested call (an operation without a held batch runs its after-commit work at once)
 * returns at the door. Ids are given here, so a rolled-back event never takes a number.
 */
static void deliver_ready(void *arg)
{
	struct sh_hub *hub = arg;
	hub->flush_scheduled = false;
	if (hub->delivering)
		return;
	hub->delivering = true;
	while (hub->ready) {
		struct hub_pending_event *p = hub->ready;
		hub->ready = p->next;
		if (!hub->ready)
			hub->ready_tail = &hub->ready;
		if ((unsigned)p->kind < HUB_EV__COUNT && p->label >= 0 && p->label < HUB_METRIC_LABELS)
			hub->metrics.committed[p->kind][p->label]++;
		struct hub_event ev = {
			.id = ++hub->next_event_id,
			.kind = p->kind,
			.time_us = p->time_us,
			.device_id = p->device_id,
			.module_id = p->module_id,
			.data = p->data,
		};
		size_t n = hub->n_listeners;
		for (size_t i = 0; i < n && p->data; i++) {
			struct hub_listener l = hub->listeners[i];
			if (l.fn)
				l.fn(l.ctx, &ev);
		}
		pending_free(p);
	}
	hub->delivering = false;
	compact_listeners(hub);
}

/* Move `list` (committed) to the ready queue and have it delivered after the held batch. */
static void make_ready(struct sh_hub *hub, struct hub_pending_event *list)
{
	if (!list)
		return;
	*hub->ready_tail = list;
	while (list->next)
		list = list->next;
	hub->ready_tail = &list->next;
	if (hub->flush_scheduled)
		return;
	hub->flush_scheduled = true;
	if (hub_after_commit(hub, deliver_ready, hub) != SH_OK)
		deliver_ready(hub);   /* out of memory: deliver now rather than never */
}

void hub_events_op_begin(struct sh_hub *hub)
{
	if (hub->ev_depth < HUB_EV_MAX_DEPTH)
		hub->ev_marks[hub->ev_depth] = hub->n_pending;
	hub->ev_depth++;
}

void hub_events_op_end(struct sh_hub *hub, bool ok)
{
	if (hub->ev_depth == 0)
		return;
	hub->ev_depth--;
	if (!ok) {
		/* Drop what this operation emitted: everything past its mark. */
		size_t mark = hub->ev_depth < HUB_EV_MAX_DEPTH ? hub->ev_marks[hub->ev_depth] : hub->n_pending;
		struct hub_pending_event **pp = &hub->pending;
		for (size_t i = 0; i < mark && *pp; i++)
			pp = &(*pp)->next;
		list_free(*pp);
		*pp = NULL;
		hub->pending_tail = pp;
		hub->n_pending = mark;
	}
	if (hub->ev_depth == 0) {
		struct hub_pending_event *list = hub->pending;
		hub->pending = NULL;
		hub->pending_tail = &hub->pending;
		hub->n_pending = 0;
		make_ready(hub, list);
	}
}

void hub_emit(struct sh_hub *hub, enum hub_event_kind kind, int label, const char *device_id,
	      const char *module_id, cJSON *data)
{
	struct hub_pending_event *p = calloc(1, sizeof *p);
	if (!p) {
		cJSON_Delete(data);
		return;
	}
	p->kind = kind;
	p->label = label;
	p->time_us = hub_now_us(hub);
	p->data = data;
	p->device_id = device_id ? strdup(device_id) : NULL;
	p->module_id = module_id && module_id[0] ? strdup(module_id) : NULL;
	if ((device_id && !p->device_id) || (module_id && module_id[0] && !p->module_id)) {
		pending_free(p);
		return;
	}
	if (hub->ev_depth == 0) {
		make_ready(hub, p);
		return;
	}
	*hub->pending_tail = p;
	hub->pending_tail = &p->next;
	hub->n_pending++;
}

void hub_event_emit(struct sh_hub *hub, enum hub_event_kind kind, const char *device_id,
		    const char *module_id, cJSON *data)
{
	if (!data)
		data = cJSON_CreateObject();
	hub_emit(hub, kind, 0, device_id, module_id, data);
}

void hub_events_free(struct sh_hub *hub)
{
	hub_after_commit_cancel(hub, hub);
	list_free(hub->pending);
	list_free(hub->ready);
	hub->pending = hub->ready = NULL;
	free(hub->listeners);
	hub->listeners = NULL;
	hub->n_listeners = hub->cap_listeners = 0;
	hub->n_active = 0;
}

/* --- rendering ---------------------------------------------------------------------------------- */

cJSON *hub_event_to_json(const struct hub_event *ev)
{
	cJSON *o = cJSON_CreateObject();
	char when[ISOTIME_BUF];
	isotime_format(ev->time_us, when);
	if (!o || !cJSON_AddNumberToObject(o, "id", (double)ev->id) ||
	    !cJSON_AddStringToObject(o, "type", hub_event_kind_str(ev->kind)) ||
	    !cJSON_AddStringToObject(o, "time", when) ||
	    (ev->device_id && !cJSON_AddStringToObject(o, "deviceId", ev->device_id)) ||
	    (ev->module_id && !cJSON_AddStringToObject(o, "moduleId", ev->module_id)))
		goto fail;
	const cJSON *f;
	cJSON_ArrayForEach(f, ev->data) {
		if (!f->string || cJSON_GetObjectItemCaseSensitive(o, f->string))
			continue;   /* the envelope's own fields win */
		cJSON *c = cJSON_Duplicate(f, 1);
		if (!c)
			goto fail;
		cJSON_AddItemToObject(o, f->string, c);
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

bool hub_event_add_body(cJSON *o, const void *body, size_t len)
{
	const uint8_t *b = body ? body : (const uint8_t *)"";
	bool text = utf8_valid(b, len, UTF8_NUL_REFUSE);
	size_t cap = text ? len + 1 : (len + 2) / 3 * 4 + 1, n = 0;
	char *t = malloc(cap);
	if (!t)
		return false;
	bool ok;
	if (text) {
		memcpy(t, b, len);
		t[len] = '\0';
		ok = cJSON_AddStringToObject(o, "body", t) != NULL;
	} else {
		ok = base64_encode(b, len, t, cap, &n) == SH_OK &&
		     cJSON_AddStringToObject(o, "body", t) != NULL &&
		     cJSON_AddStringToObject(o, "bodyEncoding", "base64") != NULL;
	}
	free(t);
	return ok;
}
