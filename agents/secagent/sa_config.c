/*
 * sa_config.c: room sa_config (see sa_config.h): the security module twin configuration, read
 * and written as the C agent does (security-agent.md §1.3-§1.5), plus the schema's size
 * bounds. Pure: never reads the clock or a file; cJSON trees are the only allocations.
 *
 * Why the whole configuration is re-read on every change: both real agents parse each desired
 * update as a complete configuration (§2.5). secagent keeps the full desired section (merging
 * each patch into it, as IoT Hub does) and passes the merged section here, so a patch that
 * changes one key leaves the others as the twin says, not at their defaults.
 */
#include "sa_config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

struct kind_info {
	const char *name, *type;
	bool periodic;
	enum sa_prio def;
};

static const struct kind_info kinds[SA_KIND_COUNT] = {
	[SA_PROCESS_CREATE] = {"ProcessCreate", "Security", false, SA_PRIO_LOW},
	[SA_PROCESS_TERMINATE] = {"ProcessTerminate", "Security", false, SA_PRIO_LOW},
	[SA_CONNECTION_CREATE] = {"ConnectionCreate", "Security", false, SA_PRIO_LOW},
	[SA_LOGIN] = {"Login", "Security", false, SA_PRIO_HIGH},
	[SA_LISTENING_PORTS] = {"ListeningPorts", "Security", true, SA_PRIO_HIGH},
	[SA_LOCAL_USERS] = {"LocalUsers", "Security", true, SA_PRIO_HIGH},
	[SA_SYSTEM_INFORMATION] = {"SystemInformation", "Security", true, SA_PRIO_LOW},
	[SA_FIREWALL_CONFIGURATION] = {"FirewallConfiguration", "Security", true, SA_PRIO_LOW},
	[SA_OS_BASELINE] = {"OSBaseline", "Security", true, SA_PRIO_LOW},
	[SA_CONNECTED_HARDWARE] = {"ConnectedHardware", "Security", true, SA_PRIO_LOW},
	[SA_DIAGNOSTIC] = {"Diagnostic", "Diagnostic", false, SA_PRIO_LOW},
	[SA_CONFIGURATION_ERROR] = {"ConfigurationError", "Operational", false, SA_PRIO_LOW},
	[SA_DROPPED_EVENTS_STATISTICS] = {"DroppedEventsStatistics", "Operational", true, SA_PRIO_LOW},
	[SA_MESSAGE_STATISTICS] = {"MessageStatistics", "Operational", true, SA_PRIO_LOW},
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

void sa_config_default(struct sa_config *c)
{
	memset(c, 0, sizeof *c);
	c->high_freq_ms = 7u * 60 * 1000;
	c->low_freq_ms = 5u * 3600 * 1000;
	c->snapshot_ms = 13u * 3600 * 1000;
	c->max_cache_bytes = 2560000;
	c->max_message_bytes = 204800;
	for (int k = 0; k < SA_KIND_COUNT; k++)
		c->prio[k] = kinds[k].def;
	c->operational = SA_PRIO_HIGH;
	c->agg_process_create = true;
	c->agg_connection_create = true;
	c->agg_process_create_ms = 3600u * 1000;
	c->agg_connection_create_ms = 3600u * 1000;
}

/*
 * Durations. Grammar (C agent time_utils.c): 'P', then optional nY nM nW nD in that order,
 * then optionally 'T' with nH nM nS in that order (at least one). n is 1..9 digits. The total
 * must be > 0 and fit uint32 milliseconds.
 */
sh_rc sa_duration_parse(const char *s, uint32_t *ms_out)
{
	if (!s || s[0] != 'P')
		return SH_E_MALFORMED;
	static const char date_units[] = "YMWD";
	static const char time_units[] = "HMS";
	static const uint64_t date_ms[] = {0, 30ull * 86400000, 7ull * 86400000, 86400000};
	static const uint64_t time_ms[] = {3600000, 60000, 1000};
	const char *p = s + 1;
	uint64_t total = 0;
	int fields = 0, u = 0;
	bool in_time = false, years = false;
	while (*p) {
		if (*p == 'T') {
			if (in_time)
				return SH_E_MALFORMED;
			in_time = true;
			u = 0;
			p++;
			if (!isdigit((unsigned char)*p))
				return SH_E_MALFORMED;
			continue;
		}
		if (!isdigit((unsigned char)*p))
			return SH_E_MALFORMED;
		uint64_t n = 0;
		int digits = 0;
		while (isdigit((unsigned char)*p)) {
			if (++digits > 9)
				return SH_E_INVALID;
			n = n * 10 + (uint64_t)(*p - '0');
			p++;
		}
		const char *units = in_time ? time_units : date_units;
		int nunits = in_time ? 3 : 4;
		int found = -1;
		for (int i = u; i < nunits; i++) {
			if (*p == units[i]) {
				found = i;
				break;
			}
		}
		if (found < 0)
			return SH_E_MALFORMED;
		if (!in_time && found == 0)
			years = true;
		total += n * (in_time ? time_ms[found] : date_ms[found]);
		if (total > UINT32_MAX)
			return SH_E_INVALID;
		u = found + 1;
		fields++;
		p++;
	}
	if (fields == 0)
		return SH_E_MALFORMED;
	if (years)
		return SH_E_INVALID;   /* years count for nothing in the C agent: refuse, not ignore */
	if (total == 0)
		return SH_E_INVALID;
	*ms_out = (uint32_t)total;
	return SH_OK;
}

char *sa_duration_format(uint32_t ms, char out[32])
{
	uint32_t s = ms / 1000;
	uint32_t d = s / 86400, h = (s / 3600) % 24, m = (s / 60) % 60, sec = s % 60;
	int n = snprintf(out, 32, "P");
	if (d)
		n += snprintf(out + n, 32 - (size_t)n, "%" PRIu32 "D", d);
	if (h || m || sec || !d) {
		n += snprintf(out + n, 32 - (size_t)n, "T");
		if (h)
			n += snprintf(out + n, 32 - (size_t)n, "%" PRIu32 "H", h);
		if (m)
			n += snprintf(out + n, 32 - (size_t)n, "%" PRIu32 "M", m);
		if (sec || (!h && !m))
			snprintf(out + n, 32 - (size_t)n, "%" PRIu32 "S", sec);
	}
	return out;
}

/* Collects the keys that failed the type check, for the TypeMismatch message. */
struct bad_keys {
	char text[400];
	size_t n;
};

static void note_bad(struct bad_keys *b, const char *key)
{
	size_t len = strlen(b->text);
	if (len + strlen(key) + 3 >= sizeof b->text)
		return;
	snprintf(b->text + len, sizeof b->text - len, "%s%s", b->n ? ", " : "", key);
	b->n++;
}

/*
 * The {"value": x} wrapper of key `key` in `obj`: NULL when the key is missing, null, or its
 * value is null (all mean "default"); sets *bad for a non-object wrapper or one without value.
 */
static const cJSON *wrapped(const cJSON *obj, const char *key, struct bad_keys *bad)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!w || cJSON_IsNull(w))
		return NULL;
	const cJSON *v = cJSON_IsObject(w) ? cJSON_GetObjectItemCaseSensitive(w, "value") : NULL;
	if (!v) {
		note_bad(bad, key);
		return NULL;
	}
	if (cJSON_IsNull(v))
		return NULL;
	return v;
}

static void get_duration(const cJSON *obj, const char *key, uint32_t *out, struct bad_keys *bad)
{
	const cJSON *v = wrapped(obj, key, bad);
	if (!v)
		return;
	uint32_t ms;
	if (!cJSON_IsString(v) || sa_duration_parse(v->valuestring, &ms) != SH_OK) {
		note_bad(bad, key);
		return;
	}
	*out = ms;
}

static void get_size(const cJSON *obj, const char *key, int64_t lo, int64_t hi, int64_t *out,
		     struct bad_keys *bad)
{
	const cJSON *v = wrapped(obj, key, bad);
	if (!v)
		return;
	double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
	if (!cJSON_IsNumber(v) || d != (double)(int64_t)d || d < (double)lo || d > (double)hi) {
		note_bad(bad, key);
		return;
	}
	*out = (int64_t)d;
}

static void get_bool(const cJSON *obj, const char *key, bool *out, struct bad_keys *bad)
{
	const cJSON *v = wrapped(obj, key, bad);
	if (!v)
		return;
	if (!cJSON_IsBool(v)) {
		note_bad(bad, key);
		return;
	}
	*out = cJSON_IsTrue(v);
}

static void get_text(const cJSON *obj, const char *key, char *out, size_t cap, struct bad_keys *bad)
{
	const cJSON *v = wrapped(obj, key, bad);
	if (!v)
		return;
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap) {
		note_bad(bad, key);
		return;
	}
	snprintf(out, cap, "%s", v->valuestring);
}

static bool prio_parse(const char *s, enum sa_prio *out)
{
	if (strcasecmp(s, "high") == 0)
		*out = SA_PRIO_HIGH;
	else if (strcasecmp(s, "low") == 0)
		*out = SA_PRIO_LOW;
	else if (strcasecmp(s, "off") == 0)
		*out = SA_PRIO_OFF;
	else
		return false;
	return true;
}

static void get_prio(const cJSON *obj, const char *key, enum sa_prio *out, struct bad_keys *bad)
{
	const cJSON *v = wrapped(obj, key, bad);
	if (!v)
		return;
	if (!cJSON_IsString(v) || !prio_parse(v->valuestring, out))
		note_bad(bad, key);
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

sh_rc sa_config_apply(struct sa_config *cfg, const struct cJSON *desired,
		      struct sa_config_report *rep)
{
	memset(rep, 0, sizeof *rep);
	struct sa_config n;
	sa_config_default(&n);
	struct bad_keys bad = {{0}, 0};
	const cJSON *obj = cJSON_IsObject(desired)
		? cJSON_GetObjectItemCaseSensitive(desired, SA_CONFIG_OBJECT) : NULL;
	if (obj && !cJSON_IsNull(obj) && !cJSON_IsObject(obj)) {
		note_bad(&bad, SA_CONFIG_OBJECT);
		obj = NULL;
	}
	if (cJSON_IsObject(obj)) {
		get_duration(obj, "highPriorityMessageFrequency", &n.high_freq_ms, &bad);
		get_duration(obj, "lowPriorityMessageFrequency", &n.low_freq_ms, &bad);
		get_duration(obj, "snapshotFrequency", &n.snapshot_ms, &bad);
		get_size(obj, "maxLocalCacheSizeInBytes", SA_MIN_CACHE, SA_MAX_CACHE,
			 &n.max_cache_bytes, &bad);
		get_size(obj, "maxMessageSizeInBytes", SA_MIN_MESSAGE, SA_MAX_MESSAGE,
			 &n.max_message_bytes, &bad);
		for (int k = 0; k < SA_KIND_COUNT; k++) {
			char key[64];
			snprintf(key, sizeof key, "eventPriority%s", kinds[k].name);
			get_prio(obj, key, &n.prio[k], &bad);
		}
		get_prio(obj, "eventPriorityOperational", &n.operational, &bad);
		get_bool(obj, "aggregationEnabledProcessCreate", &n.agg_process_create, &bad);
		get_duration(obj, "aggregationIntervalProcessCreate", &n.agg_process_create_ms, &bad);
		get_bool(obj, "aggregationEnabledConnectionCreate", &n.agg_connection_create, &bad);
		get_duration(obj, "aggregationIntervalConnectionCreate", &n.agg_connection_create_ms,
			     &bad);
		get_bool(obj, "baselineCustomChecksEnabled", &n.baseline_checks, &bad);
		get_text(obj, "baselineCustomChecksFilePath", n.baseline_path, sizeof n.baseline_path,
			 &bad);
		get_text(obj, "baselineCustomChecksFileHash", n.baseline_hash, sizeof n.baseline_hash,
			 &bad);
	}
	if (bad.n) {
		char msg[512], *used = sa_config_json_text(cfg);
		snprintf(msg, sizeof msg, "Couldn't parse the following configurations: %s", bad.text);
		add_error(rep, "TwinConfiguration", "TypeMismatch", used ? used : "{}", msg);
		cJSON_free(used);
		rep->accepted = false;
		return SH_E_INVALID;
	}
	*cfg = n;
	rep->accepted = true;
	char used[64];
	if (n.max_message_bytes % 4096 != 0) {
		snprintf(used, sizeof used, "%lld", (long long)n.max_message_bytes);
		add_error(rep, "maxMessageSizeInBytes", "NotOptimal", used,
			  "maxMessageSize is not optimal");
	}
	if (n.max_cache_bytes < n.max_message_bytes) {
		snprintf(used, sizeof used, "%lld", (long long)n.max_cache_bytes);
		add_error(rep, "maxLocalCacheSizeInBytes", "Conflict", used,
			  "maxLocalCacheSize is lower than maxMessageSize");
	}
	if (n.high_freq_ms > n.low_freq_ms) {
		add_error(rep, "highPriorityMessageFrequency", "Conflict",
			  sa_duration_format(n.high_freq_ms, used),
			  "high priority frequency is higher than low priority frequency");
	}
	return SH_OK;
}

static const char *prio_lower(enum sa_prio p)
{
	return p == SA_PRIO_HIGH ? "high" : p == SA_PRIO_LOW ? "low" : "off";
}

/* Add {"value": v} under key; v is consumed. False when out of memory. */
static bool put_value(cJSON *obj, const char *key, cJSON *v)
{
	cJSON *w = cJSON_CreateObject();
	if (!w || !v || !cJSON_AddItemToObject(w, "value", v)) {
		cJSON_Delete(w);
		cJSON_Delete(v);
		return false;
	}
	if (!cJSON_AddItemToObject(obj, key, w)) {
		cJSON_Delete(w);
		return false;
	}
	return true;
}

static cJSON *config_object(const struct sa_config *c)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	char d[32];
	bool ok = put_value(o, "highPriorityMessageFrequency",
			    cJSON_CreateString(sa_duration_format(c->high_freq_ms, d))) &&
		  put_value(o, "lowPriorityMessageFrequency",
			    cJSON_CreateString(sa_duration_format(c->low_freq_ms, d))) &&
		  put_value(o, "snapshotFrequency",
			    cJSON_CreateString(sa_duration_format(c->snapshot_ms, d))) &&
		  put_value(o, "maxLocalCacheSizeInBytes", cJSON_CreateNumber((double)c->max_cache_bytes)) &&
		  put_value(o, "maxMessageSizeInBytes", cJSON_CreateNumber((double)c->max_message_bytes));
	for (int k = 0; ok && k < SA_KIND_COUNT; k++) {
		char key[64];
		snprintf(key, sizeof key, "eventPriority%s", kinds[k].name);
		ok = put_value(o, key, cJSON_CreateString(prio_lower(c->prio[k])));
	}
	ok = ok && put_value(o, "eventPriorityOperational", cJSON_CreateString(prio_lower(c->operational))) &&
	     put_value(o, "aggregationEnabledProcessCreate", cJSON_CreateBool(c->agg_process_create)) &&
	     put_value(o, "aggregationIntervalProcessCreate",
		       cJSON_CreateString(sa_duration_format(c->agg_process_create_ms, d))) &&
	     put_value(o, "aggregationEnabledConnectionCreate", cJSON_CreateBool(c->agg_connection_create)) &&
	     put_value(o, "aggregationIntervalConnectionCreate",
		       cJSON_CreateString(sa_duration_format(c->agg_connection_create_ms, d))) &&
	     put_value(o, "baselineCustomChecksEnabled", cJSON_CreateBool(c->baseline_checks));
	if (ok && c->baseline_path[0])
		ok = put_value(o, "baselineCustomChecksFilePath", cJSON_CreateString(c->baseline_path));
	if (ok && c->baseline_hash[0])
		ok = put_value(o, "baselineCustomChecksFileHash", cJSON_CreateString(c->baseline_hash));
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
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
