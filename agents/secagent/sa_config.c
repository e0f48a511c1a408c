/*
 * sa_config.c: room sa_config (see sa_config.h): the security module twin configuration, read
 * and written as the C agent does (security-agent.md §1.5, §2.5). The field table, defaults,
 * types and durations come from core/secconfig; this file only maps fields onto the agent's
 * struct and says what the C agent accepts, finds and reports. Pure: never reads the clock or
 * a file; cJSON trees are the only allocations.
 *
 * Why every desired update is read as a whole configuration: both real agents parse a desired
 * patch as if it were the complete configuration object (§2.5): a key the patch leaves out
 * goes back to its default, and a patch without the object resets everything. secagent does
 * the same (it does not merge patches into the twin it knows), so it behaves like the agents
 * that simhub emulates the hub for.
 */
#include "sa_config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PRIO_PREFIX "eventPriority"

struct kind_info {
	const char *name, *type;
	bool periodic;
};

static const struct kind_info kinds[SA_KIND_COUNT] = {
	[SA_PROCESS_CREATE] = {"ProcessCreate", "Security", false},
	[SA_PROCESS_TERMINATE] = {"ProcessTerminate", "Security", false},
	[SA_CONNECTION_CREATE] = {"ConnectionCreate", "Security", false},
	[SA_LOGIN] = {"Login", "Security", false},
	[SA_LISTENING_PORTS] = {"ListeningPorts", "Security", true},
	[SA_LOCAL_USERS] = {"LocalUsers", "Security", true},
	[SA_SYSTEM_INFORMATION] = {"SystemInformation", "Security", true},
	[SA_FIREWALL_CONFIGURATION] = {"FirewallConfiguration", "Security", true},
	[SA_OS_BASELINE] = {"OSBaseline", "Security", true},
	[SA_CONNECTED_HARDWARE] = {"ConnectedHardware", "Security", true},
	[SA_DIAGNOSTIC] = {"Diagnostic", "Diagnostic", false},
	[SA_CONFIGURATION_ERROR] = {"ConfigurationError", "Operational", false},
	[SA_DROPPED_EVENTS_STATISTICS] = {"DroppedEventsStatistics", "Operational", true},
	[SA_MESSAGE_STATISTICS] = {"MessageStatistics", "Operational", true},
};

const char *sa_kind_name(enum sa_kind k)
{
	return (unsigned)k < SA_KIND_COUNT ? kinds[k].name : NULL;
}

const char *sa_kind_event_type(enum sa_kind k)
{
	return (unsigned)k < SA_KIND_COUNT ? kinds[k].type : NULL;
}

bool sa_kind_periodic(enum sa_kind k)
{
	return (unsigned)k < SA_KIND_COUNT && kinds[k].periodic;
}

/*
 * Where the agent keeps each field it reads, besides the eventPriority<Name> keys (prio[k]).
 * The member's type follows the field's secconfig kind: DURATION uint32_t ms, INT int64_t,
 * BOOL bool, PRIORITY enum sa_prio, STRING char[cap].
 */
static const struct {
	const char *key;
	size_t off, cap;
} slots[] = {
	{"highPriorityMessageFrequency", offsetof(struct sa_config, high_freq_ms), 0},
	{"lowPriorityMessageFrequency", offsetof(struct sa_config, low_freq_ms), 0},
	{"snapshotFrequency", offsetof(struct sa_config, snapshot_ms), 0},
	{"maxLocalCacheSizeInBytes", offsetof(struct sa_config, max_cache_bytes), 0},
	{"maxMessageSizeInBytes", offsetof(struct sa_config, max_message_bytes), 0},
	{"eventPriorityOperational", offsetof(struct sa_config, operational), 0},
	{"aggregationEnabledProcessCreate", offsetof(struct sa_config, agg_process_create), 0},
	{"aggregationIntervalProcessCreate", offsetof(struct sa_config, agg_process_create_ms), 0},
	{"aggregationEnabledConnectionCreate", offsetof(struct sa_config, agg_connection_create), 0},
	{"aggregationIntervalConnectionCreate", offsetof(struct sa_config, agg_connection_create_ms), 0},
	{"baselineCustomChecksEnabled", offsetof(struct sa_config, baseline_checks), 0},
	{"baselineCustomChecksFilePath", offsetof(struct sa_config, baseline_path),
	 sizeof(((struct sa_config *)0)->baseline_path)},
	{"baselineCustomChecksFileHash", offsetof(struct sa_config, baseline_hash),
	 sizeof(((struct sa_config *)0)->baseline_hash)},
};

/* The member of *c that holds field `key` (and its size for strings), or NULL when the agent
 * does not read that field. */
static void *slot_of(struct sa_config *c, const char *key, size_t *cap)
{
	*cap = 0;
	for (size_t i = 0; i < NELEM(slots); i++)
		if (strcmp(slots[i].key, key) == 0) {
			*cap = slots[i].cap;
			return (char *)c + slots[i].off;
		}
	if (strncmp(key, PRIO_PREFIX, strlen(PRIO_PREFIX)) == 0)
		for (int k = 0; k < SA_KIND_COUNT; k++)
			if (strcmp(key + strlen(PRIO_PREFIX), kinds[k].name) == 0)
				return &c->prio[k];
	return NULL;
}

static void store(void *slot, size_t cap, const struct secconfig_field *f,
		  const struct secconfig_value *v)
{
	switch (f->kind) {
	case SECCONFIG_DURATION:
		*(uint32_t *)slot = (uint32_t)v->i;
		break;
	case SECCONFIG_INT:
		*(int64_t *)slot = v->i;
		break;
	case SECCONFIG_BOOL:
		*(bool *)slot = v->i != 0;
		break;
	case SECCONFIG_PRIORITY:
		*(enum sa_prio *)slot = (enum sa_prio)v->i;
		break;
	case SECCONFIG_STRING:
		snprintf(slot, cap, "%s", v->s ? v->s : "");
		break;
	}
}

void sa_config_default(struct sa_config *c)
{
	memset(c, 0, sizeof *c);
	c->operational = SA_PRIO_HIGH;  /* absent in the C agent: the operational queue */
	const struct secconfig_field *f;
	for (size_t i = 0; (f = secconfig_field_at(i)); i++) {
		size_t cap;
		void *slot = slot_of(c, f->key, &cap);
		struct secconfig_value v;
		if (slot && secconfig_field_default(f, &v) == SH_OK)
			store(slot, cap, f, &v);
	}
}

/*
 * What the C agent's own types cannot hold, beyond secconfig's type check: it parses durations
 * with unsigned integers only into uint32 milliseconds (years count for nothing there, so a
 * duration naming years is refused here rather than half-read), reads sizes as 32-bit ints,
 * and secagent keeps strings in fixed buffers.
 */
static bool c_agent_holds(const struct secconfig_field *f, const cJSON *wrapper,
			  const struct secconfig_value *v, size_t cap)
{
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(wrapper, "value");
	switch (f->kind) {
	case SECCONFIG_DURATION:
		return v->i <= (int64_t)UINT32_MAX && !strpbrk(text->valuestring, ".Y");
	case SECCONFIG_INT:
		return v->i >= 0 && v->i <= INT32_MAX;
	case SECCONFIG_STRING:
		return strlen(v->s) < cap;
	default:
		return true;
	}
}

/* The keys that failed the type check, for the TypeMismatch message. */
struct bad_keys {
	char text[400];
	size_t n;
	bool priorities;
};

static void note_bad(struct bad_keys *b, const char *key)
{
	if (strncmp(key, PRIO_PREFIX, strlen(PRIO_PREFIX)) == 0) {
		if (b->priorities)
			return;
		b->priorities = true;
		key = "eventPriorities";
	}
	size_t len = strlen(b->text);
	if (len + strlen(key) + 3 >= sizeof b->text)
		return;
	snprintf(b->text + len, sizeof b->text - len, "%s%s", b->n ? ", " : "", key);
	b->n++;
}

static void add_error(struct sa_config_report *rep, const char *name, const char *type,
		      const char *used, const char *message)
{
	if (rep->n_errors >= SA_CONFIG_MAX_ERRORS)
		return;
	struct sa_config_error *e = &rep->errors[rep->n_errors++];
	snprintf(e->name, sizeof e->name, "%s", name);
	e->type = type;
	snprintf(e->used, sizeof e->used, "%s", used);
	snprintf(e->message, sizeof e->message, "%s", message);
}

/* The C agent's checks after an accepted update (§1.5); findings do not undo the update. */
static void semantic_checks(const struct sa_config *n, struct sa_config_report *rep)
{
	char used[SECCONFIG_DURATION_TEXT];
	if (n->max_message_bytes % 4096 != 0) {
		snprintf(used, sizeof used, "%lld", (long long)n->max_message_bytes);
		add_error(rep, "maxMessageSizeInBytes", "NotOptimal", used,
			  "maxMessageSize is not optimal");
	}
	if (n->max_cache_bytes < n->max_message_bytes) {
		snprintf(used, sizeof used, "%lld", (long long)n->max_cache_bytes);
		add_error(rep, "maxLocalCacheSizeInBytes", "Conflict", used,
			  "maxLocalCacheSize is lower than maxMessageSize");
	}
	if (n->high_freq_ms > n->low_freq_ms)
		add_error(rep, "highPriorityMessageFrequency", "Conflict",
			  secconfig_duration_format(n->high_freq_ms, used),
			  "high priority frequency is higher than low priority frequency");
}

sh_rc sa_config_apply(struct sa_config *cfg, const struct cJSON *desired,
		      struct sa_config_report *rep)
{
	memset(rep, 0, sizeof *rep);
	struct sa_config n;
	sa_config_default(&n);
	struct bad_keys bad = {{0}, 0, false};
	const cJSON *obj = cJSON_IsObject(desired)
		? cJSON_GetObjectItemCaseSensitive(desired, SA_CONFIG_OBJECT) : NULL;
	if (obj && !cJSON_IsNull(obj) && !cJSON_IsObject(obj))
		note_bad(&bad, SA_CONFIG_OBJECT);
	const struct secconfig_field *f;
	for (size_t i = 0; cJSON_IsObject(obj) && (f = secconfig_field_at(i)); i++) {
		size_t cap;
		void *slot = slot_of(&n, f->key, &cap);
		if (!slot)
			continue;
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(obj, f->key);
		struct secconfig_value v;
		if (secconfig_entry_value(f, w, &v, NULL, 0) != SH_OK ||
		    (v.set && !c_agent_holds(f, w, &v, cap)))
			note_bad(&bad, f->key);
		else if (v.set)
			store(slot, cap, f, &v);
	}
	if (bad.n) {
		char msg[512], *used = sa_config_json_text(cfg);
		snprintf(msg, sizeof msg, "Couldn't parse the following conifgurations: %s", bad.text);
		add_error(rep, "TwinConfiguration", "TypeMismatch", used ? used : "{}", msg);
		cJSON_free(used);
		return SH_E_INVALID;
	}
	*cfg = n;
	rep->accepted = true;
	semantic_checks(&n, rep);
	return SH_OK;
}

static const char *prio_lower(enum sa_prio p)
{
	return p == SA_PRIO_HIGH ? "high" : p == SA_PRIO_LOW ? "low" : "off";
}

/* The value of one field as the C agent reports it; NULL for a null string (left out) or
 * on allocation failure (*oom set). */
static cJSON *reported_value(const struct secconfig_field *f, const void *slot, bool *oom)
{
	char d[SECCONFIG_DURATION_TEXT];
	cJSON *v = NULL;
	switch (f->kind) {
	case SECCONFIG_DURATION:
		v = cJSON_CreateString(secconfig_duration_format(*(const uint32_t *)slot, d));
		break;
	case SECCONFIG_INT:
		v = cJSON_CreateNumber((double)*(const int64_t *)slot);
		break;
	case SECCONFIG_BOOL:
		v = cJSON_CreateBool(*(const bool *)slot);
		break;
	case SECCONFIG_PRIORITY:
		v = cJSON_CreateString(prio_lower(*(const enum sa_prio *)slot));
		break;
	case SECCONFIG_STRING:
		if (!((const char *)slot)[0])
			return NULL;
		v = cJSON_CreateString(slot);
		break;
	}
	*oom = v == NULL;
	return v;
}

static cJSON *config_object(const struct sa_config *cfg)
{
	struct sa_config c = *cfg;   /* slot_of takes a mutable struct */
	cJSON *o = cJSON_CreateObject();
	const struct secconfig_field *f;
	for (size_t i = 0; o && (f = secconfig_field_at(i)); i++) {
		size_t cap;
		const void *slot = slot_of(&c, f->key, &cap);
		bool oom = false;
		cJSON *v = slot ? reported_value(f, slot, &oom) : NULL;
		cJSON *w = v ? cJSON_CreateObject() : NULL;
		if (oom || (v && (!w || !cJSON_AddItemToObject(w, "value", v)))) {
			cJSON_Delete(v);
			cJSON_Delete(w);
			cJSON_Delete(o);
			return NULL;
		}
		if (w && !cJSON_AddItemToObject(o, f->key, w)) {
			cJSON_Delete(w);
			cJSON_Delete(o);
			return NULL;
		}
	}
	return o;
}

cJSON *sa_config_reported(const struct sa_config *cfg)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *o = config_object(cfg);
	if (!root || !o || !cJSON_AddItemToObject(root, SA_CONFIG_OBJECT, o)) {
		cJSON_Delete(root);
		cJSON_Delete(o);
		return NULL;
	}
	return root;
}

char *sa_config_json_text(const struct sa_config *cfg)
{
	cJSON *o = config_object(cfg);
	if (!o)
		return NULL;
	char *t = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return t;
}
