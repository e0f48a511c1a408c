/*
 * session_faults.c: injected faults of the session layer. Per identity: refused CONNECTs,
 * twin errors, delayed or withheld PUBACKs, throttling (set by `simhub test` through
 * hub_fault_add), and the fault-injection messages the official SDKs' end-to-end tests send
 * (AzIoTHub_FaultOperationType, ...CloseReason, ...DelayInSecs, ...DurationInSecs). It never
 * touches the store; with no fault set every hook returns at its first test.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/mqtt_write.h"
#include "hub/session_internal.h"

struct fault_entry {
	char device_id[SH_ID_MAX + 1];
	char module_id[SH_ID_MAX + 1];
	struct hub_fault f;
	int64_t window_start_us;     /* throttle: start of the current one-second window */
	int window_count;            /* throttle: messages in it */
	struct fault_entry *next;
};

struct delayed_ack {
	uint16_t packet_id;
	int64_t due_us;
	struct delayed_ack *next;
};

/* Fault-injection operations (the SDKs' e2e helpers: C# FaultInjection, Java
 * ErrorInjectionHelper, Node e2e, C common_e2e). */
enum {
	FI_NONE = 0, FI_KILL, FI_SHUTDOWN, FI_THROTTLE, FI_QUOTA, FI_AUTH,
};

sh_rc hub_fault_add(struct hub_sessions *reg, const char *device_id, const char *module_id,
		    const struct hub_fault *f)
{
	if (!reg || !device_id || !f || strlen(device_id) > SH_ID_MAX ||
	    (module_id && strlen(module_id) > SH_ID_MAX))
		return SH_E_INVALID;
	struct fault_entry *e = calloc(1, sizeof *e);
	if (!e)
		return SH_E_NOMEM;
	strcpy(e->device_id, device_id);
	strcpy(e->module_id, module_id ? module_id : "");
	e->f = *f;
	/* Append: faults of one identity are consulted in the order they were set. */
	struct fault_entry **pp = sessions_faults(reg);
	while (*pp)
		pp = &(*pp)->next;
	*pp = e;
	(*sessions_fault_n(reg))++;
	return SH_OK;
}

void hub_fault_clear(struct hub_sessions *reg, const char *device_id, const char *module_id)
{
	const char *mod = module_id ? module_id : "";
	struct fault_entry **pp = sessions_faults(reg);
	while (*pp) {
		struct fault_entry *e = *pp;
		if (strcmp(e->device_id, device_id) == 0 && strcmp(e->module_id, mod) == 0) {
			*pp = e->next;
			free(e);
			(*sessions_fault_n(reg))--;
		} else {
			pp = &e->next;
		}
	}
}

void sessions_faults_free(struct hub_sessions *reg)
{
	struct fault_entry **pp = sessions_faults(reg);
	while (*pp) {
		struct fault_entry *e = *pp;
		*pp = e->next;
		free(e);
	}
	*sessions_fault_n(reg) = 0;
}

/*
 * The first live fault of `kind` for the session's identity, or NULL. Faults whose `until`
 * has passed are removed on the way, so an expired fault costs one walk at most. Returns at
 * once when the table has no fault at all (the common case).
 */
static struct fault_entry *find_fault(struct hub_session *s, enum hub_fault_kind kind)
{
	if (*sessions_fault_n(s->reg) == 0)
		return NULL;
	int64_t now = hub_now_us(s->hub);
	struct fault_entry **pp = sessions_faults(s->reg);
	while (*pp) {
		struct fault_entry *e = *pp;
		if (e->f.until_us && now >= e->f.until_us) {
			*pp = e->next;
			free(e);
			(*sessions_fault_n(s->reg))--;
			continue;
		}
		if (e->f.kind == kind && strcmp(e->device_id, s->device_id) == 0 &&
		    strcmp(e->module_id, s->module_id) == 0)
			return e;
		pp = &e->next;
	}
	return NULL;
}

/* One use of a counted fault: when its count runs out it goes. count 0 never runs out. */
static void use_fault(struct hub_session *s, struct fault_entry *e)
{
	if (e->f.count <= 0 || --e->f.count > 0)
		return;
	for (struct fault_entry **pp = sessions_faults(s->reg); *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			free(e);
			(*sessions_fault_n(s->reg))--;
			return;
		}
	}
}

bool session_fault_refuse_connect(struct hub_session *s, int *code)
{
	struct fault_entry *e = find_fault(s, HUB_FAULT_REFUSE_CONNECT);
	if (!e)
		return false;
	*code = e->f.code >= 1 && e->f.code <= 5 ? e->f.code : 3;
	use_fault(s, e);
	return true;
}

bool session_fault_twin(struct hub_session *s, unsigned op, int *status)
{
	struct fault_entry *e = find_fault(s, HUB_FAULT_TWIN_ERROR);
	if (!e || (e->f.twin_ops && !(e->f.twin_ops & op)))
		return false;
	*status = e->f.code >= 400 && e->f.code <= 599 ? e->f.code : 500;
	use_fault(s, e);
	return true;
}

int session_fault_puback(struct hub_session *s, int64_t *delay_us)
{
	struct fault_entry *e = find_fault(s, HUB_FAULT_WITHHOLD_PUBACK);
	if (e) {
		use_fault(s, e);
		return 1;
	}
	e = find_fault(s, HUB_FAULT_DELAY_PUBACK);
	if (!e)
		return 0;
	*delay_us = e->f.delay_us;
	use_fault(s, e);
	return 2;
}

void session_fault_delay_ack(struct hub_session *s, uint16_t packet_id, int64_t due_us)
{
	struct delayed_ack *a = calloc(1, sizeof *a);
	if (!a)
		return;   /* out of memory: the PUBACK is lost, as a withheld one */
	a->packet_id = packet_id;
	a->due_us = due_us;
	struct delayed_ack **pp = &s->delayed;
	while (*pp && (*pp)->due_us <= due_us)
		pp = &(*pp)->next;
	a->next = *pp;
	*pp = a;
}

/*
 * Throttle: a fixed one-second window per fault. The message that makes the window's count
 * exceed `rate` is refused; the caller closes the connection, as IoT Hub ends an MQTT
 * connection over its limits (429001 in the disconnect record).
 */
bool session_fault_throttled(struct hub_session *s)
{
	struct fault_entry *e = find_fault(s, HUB_FAULT_THROTTLE);
	if (!e)
		return false;
	int64_t now = hub_now_us(s->hub);
	if (now - e->window_start_us >= 1000000 || now < e->window_start_us) {
		e->window_start_us = now;
		e->window_count = 0;
	}
	return ++e->window_count > (e->f.rate > 0 ? e->f.rate : 1);
}

/* A property's value as a whole number of seconds (0 when absent or not a number). */
static int64_t prop_seconds(const cJSON *app, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(app, name);
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return 0;
	char *end;
	long n = strtol(v->valuestring, &end, 10);
	if (*end || n < 0 || n > 86400)
		return 0;
	return (int64_t)n;
}

/*
 * AzIoTHub_FaultOperationType on a telemetry message arms a fault for this connection after
 * AzIoTHub_FaultOperationDelayInSecs. Over MQTT there are no AMQP links, so every Kill* type
 * drops the TCP connection; ShutDown* closes it; the Invoke* types close it too and, for
 * AzIoTHub_FaultOperationDurationInSecs, refuse the identity's CONNECTs (docs/scenarios.md).
 */
void session_fault_injection(struct hub_session *s, const cJSON *app)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(app, "AzIoTHub_FaultOperationType");
	if (!cJSON_IsString(t))
		return;
	const char *op = t->valuestring;
	int kind = FI_NONE;
	if (strncmp(op, "Kill", 4) == 0)
		kind = FI_KILL;
	else if (strcmp(op, "ShutDownMqtt") == 0 || strcmp(op, "ShutDownAmqp") == 0)
		kind = FI_SHUTDOWN;
	else if (strcmp(op, "InvokeThrottling") == 0)
		kind = FI_THROTTLE;
	else if (strcmp(op, "InvokeMaxMessageQuota") == 0)
		kind = FI_QUOTA;
	else if (strcmp(op, "InvokeAuthError") == 0)
		kind = FI_AUTH;
	if (kind == FI_NONE)
		return;
	s->fi_op = kind;
	s->fi_due_us = hub_now_us(s->hub) +
		       prop_seconds(app, "AzIoTHub_FaultOperationDelayInSecs") * 1000000;
	s->fi_duration_us = prop_seconds(app, "AzIoTHub_FaultOperationDurationInSecs") * 1000000;
}

/* Carry out an armed fault-injection operation. */
static void fire_injection(struct hub_session *s, int64_t now_us)
{
	int op = s->fi_op;
	s->fi_op = FI_NONE;
	if ((op == FI_THROTTLE || op == FI_QUOTA || op == FI_AUTH) && s->fi_duration_us > 0) {
		struct hub_fault f = {
			.kind = HUB_FAULT_REFUSE_CONNECT,
			.code = op == FI_AUTH ? 5 : 3,
			.until_us = now_us + s->fi_duration_us,
		};
		hub_fault_add(s->reg, s->device_id, s->module_id, &f);
	}
	static const char *const reasons[] = {
		"", "fault-injection-kill", "fault-injection-shutdown", "fault-injection-throttling-429001",
		"fault-injection-quota-403002", "fault-injection-auth-401003",
	};
	session_fail(s, reasons[op]);
}

void session_faults_tick(struct hub_session *s, int64_t now_us)
{
	while (s->delayed && s->delayed->due_us <= now_us && !s->closing) {
		struct delayed_ack *a = s->delayed;
		s->delayed = a->next;
		uint8_t buf[4];
		size_t n = 0;
		if (mqtt_write_puback(buf, sizeof buf, a->packet_id, &n) == SH_OK)
			session_send(s, buf, n);
		free(a);
	}
	if (s->fi_op && now_us >= s->fi_due_us && !s->closing)
		fire_injection(s, now_us);
}

void session_faults_release(struct hub_session *s)
{
	while (s->delayed) {
		struct delayed_ack *a = s->delayed;
		s->delayed = a->next;
		free(a);
	}
}
