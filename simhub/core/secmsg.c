/*
 * secmsg.c: security message detection, validation and normalisation (security-agent.md §3,
 * §4). Pure: no clock, no I/O, no globals; it allocates only the result it hands back and a
 * private cJSON tree it frees. It never decides what the hub stores or alerts on.
 *
 * The schema, as code. messageRoot.json -> message_v1_0.json is one document: a root object
 * with exactly AgentVersion, AgentId (36 characters), MessageSchemaVersion ("1.0") and Events
 * (>= 1 item); each event has exactly the nine keys Id, TimestampLocal, TimestampUTC, Category,
 * Name, EventType, IsEmpty, PayloadSchemaVersion, Payload; (Category, IsEmpty, Payload) is one of
 * Periodic+true+any, Periodic+false+>=1, Triggered+false+>=1; Name picks one of the 14 schemas of
 * the table below, which fixes EventType, Category and PayloadSchemaVersion "1.0" and lists the
 * payload item properties (additionalProperties false everywhere). Shared definitions: ports
 * are strings, process and thread ids integers, ip fields ipv4 or ipv6, ExtraDetails a map of
 * strings, Direction In|Out.
 *
 * Service mode adds the deviations real agents send (§3.4 and the Emulation notes, item 7),
 * each recorded as a "tolerated" reason at its JSON path and normalised in the event's payload:
 *   Category "Aggregated" on an event whose schema says Triggered (checked as Triggered);
 *   integer ports ("RemotePort": 0) -> "0";
 *   non-string ExtraDetails values (numbers, booleans: C's HitCount) -> their text;
 *   date-times without a zone (C#) -> read as UTC; a space instead of 'T' (docs samples);
 *   ConfigurationError with IsEmpty true and an empty Payload (C, after every twin update);
 *   `Result` in another case ("FAIL", omsbaseline) -> the schema's spelling;
 *   DroppedEventsStatistics `Queue: "Operational"` (C#);
 *   ConnectedHardware items {"ConnectedHardware": "<name>"} (C# Windows);
 *   ProcessCreate items with a top-level string `Hash` (C#).
 * Strict mode reports each of these as an ordinary (not tolerated) reason, so the message is
 * invalid. Everything else (unknown names, extra keys, wrong types, bad enums) is invalid in
 * both modes.
 *
 * Hostile input is bounded before cJSON sees it: size, UTF-8 and nesting depth are checked by
 * one linear scan; event and item counts before any event is examined; reasons are capped per
 * event (the verdict still counts every finding).
 */
#include "core/secmsg.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/isotime.h"
#include "core/msg_props.h"
#include "core/utf8.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PATH_MAX_LEN 160

/* ---- the tables ---- */

static const char *const en_direction[] = { "In", "Out", NULL };
static const char *const en_login_result[] = { "Fail", "Success", NULL };
static const char *const en_fw_action[] = { "Allow", "Deny", "Other", NULL };
static const char *const en_baseline_result[] = { "Pass", "Fail", "Err", NULL };
static const char *const en_baseline_severity[] = { "Critical", "Important", "Warning", "Informational", NULL };
static const char *const en_diag_severity[] = { "Fatal", "Error", "Warning", "Information", "Debug", NULL };
static const char *const en_error_type[] = { "TypeMismatch", "NotOptimal", "Conflict", NULL };
static const char *const en_queue[] = { "High", "Low", NULL };

#define F_STR(n, r) { n, SECMSG_F_STRING, r, NULL }
#define F_INT(n, r) { n, SECMSG_F_INT, r, NULL }
#define F_BOOL(n, r) { n, SECMSG_F_BOOL, r, NULL }
#define F_IP(n, r) { n, SECMSG_F_IP, r, NULL }
#define F_PORT(n, r) { n, SECMSG_F_PORT, r, NULL }
#define F_GUID(n, r) { n, SECMSG_F_GUID, r, NULL }
#define F_ENUM(n, r, e) { n, SECMSG_F_ENUM, r, e }
#define F_EXTRA { "ExtraDetails", SECMSG_F_EXTRA, false, NULL }

static const struct secmsg_field f_process_create[] = {
	F_STR("Executable", true), F_INT("ProcessId", true), F_INT("ParentProcessId", true),
	F_STR("UserId", true), F_STR("UserName", false), F_STR("CommandLine", true), F_EXTRA,
};
static const struct secmsg_field f_process_terminate[] = {
	F_STR("Executable", true), F_INT("ProcessId", true), F_INT("ExitStatus", true), F_EXTRA,
};
static const struct secmsg_field f_connection_create[] = {
	F_IP("RemoteAddress", true), F_PORT("RemotePort", true), F_IP("LocalAddress", false),
	F_PORT("LocalPort", false), F_ENUM("Direction", true, en_direction),
	F_STR("Protocol", true), F_INT("ProcessId", true), F_STR("UserId", false),
	F_STR("Executable", true), F_STR("CommandLine", false), F_EXTRA,
};
static const struct secmsg_field f_login[] = {
	F_INT("ProcessId", true), F_STR("UserId", false), F_STR("UserName", false),
	F_STR("Operation", true), F_STR("Executable", true), F_IP("RemoteAddress", false),
	F_PORT("RemotePort", false), F_PORT("LocalPort", false),
	F_ENUM("Result", true, en_login_result), F_EXTRA,
};
static const struct secmsg_field f_listening_ports[] = {
	F_IP("RemoteAddress", false), F_PORT("RemotePort", false), F_IP("LocalAddress", false),
	F_PORT("LocalPort", true), F_STR("Protocol", true), F_EXTRA,
};
static const struct secmsg_field f_local_users[] = {
	F_STR("GroupIds", true), F_STR("GroupNames", true), F_STR("UserId", true),
	F_STR("UserName", true), F_EXTRA,
};
static const struct secmsg_field f_system_information[] = {
	F_STR("OSName", false), F_STR("OSVersion", false), F_STR("OSVendor", false),
	F_STR("OsArchitecture", false), F_STR("HostName", false), F_STR("BIOSVersion", false),
	F_STR("BootDevice", false), F_INT("TotalPhysicalMemoryInKB", false),
	F_INT("FreePhysicalMemoryInKB", false), F_INT("TotalVirtualMemoryInKB", false),
	F_INT("FreeVirtualMemoryInKB", false), F_EXTRA,
};
static const struct secmsg_field f_firewall[] = {
	F_INT("Priority", false), F_ENUM("Direction", false, en_direction),
	F_STR("ChainName", false), F_STR("Application", false), F_BOOL("Enabled", true),
	F_ENUM("Action", true, en_fw_action), F_STR("SourceAddress", false),
	F_PORT("SourcePort", false), F_STR("DestinationAddress", false),
	F_PORT("DestinationPort", false), F_STR("Protocol", false), F_EXTRA,
};
static const struct secmsg_field f_os_baseline[] = {
	F_STR("Description", true), F_STR("CceId", true),
	F_ENUM("Result", true, en_baseline_result), F_STR("Error", true),
	F_ENUM("Severity", true, en_baseline_severity), F_EXTRA,
};
static const struct secmsg_field f_connected_hardware[] = {
	F_STR("HardwareCategory", true), F_STR("HardwareSubCategory", true),
	F_STR("HardwareName", true), F_EXTRA,
};
static const struct secmsg_field f_diagnostic[] = {
	F_GUID("CorrelationId", false), F_ENUM("Severity", true, en_diag_severity),
	F_STR("Message", true), F_INT("ProcessId", true), F_INT("ThreadId", true), F_EXTRA,
};
static const struct secmsg_field f_configuration_error[] = {
	F_STR("ConfigurationName", true), F_ENUM("ErrorType", true, en_error_type),
	F_STR("UsedConfiguration", true), F_STR("Message", true), F_EXTRA,
};
static const struct secmsg_field f_dropped_events[] = {
	F_ENUM("Queue", true, en_queue), F_INT("CollectedEvents", true),
	F_INT("DroppedEvents", true), F_EXTRA,
};
static const struct secmsg_field f_message_statistics[] = {
	F_INT("MessagesSent", true), F_INT("MessagesUnder4KB", true), F_INT("TotalFailed", true),
	F_EXTRA,
};

#define SCHEMA(n, t, c, f, u) { n, t, c, f, NELEM(f), u }
static const struct secmsg_schema schemas[] = {
	SCHEMA("ProcessCreate", "Security", "Triggered", f_process_create, false),
	SCHEMA("ProcessTerminate", "Security", "Triggered", f_process_terminate, false),
	SCHEMA("ConnectionCreate", "Security", "Triggered", f_connection_create, false),
	SCHEMA("Login", "Security", "Triggered", f_login, true),
	SCHEMA("ListeningPorts", "Security", "Periodic", f_listening_ports, false),
	SCHEMA("LocalUsers", "Security", "Periodic", f_local_users, false),
	SCHEMA("SystemInformation", "Security", "Periodic", f_system_information, false),
	SCHEMA("FirewallConfiguration", "Security", "Periodic", f_firewall, false),
	SCHEMA("OSBaseline", "Security", "Periodic", f_os_baseline, false),
	SCHEMA("ConnectedHardware", "Security", "Periodic", f_connected_hardware, false),
	SCHEMA("Diagnostic", "Diagnostic", "Triggered", f_diagnostic, false),
	SCHEMA("ConfigurationError", "Operational", "Triggered", f_configuration_error, false),
	SCHEMA("DroppedEventsStatistics", "Operational", "Periodic", f_dropped_events, false),
	SCHEMA("MessageStatistics", "Operational", "Periodic", f_message_statistics, false),
};

static const char *const t_root_keys[] = { "AgentVersion", "AgentId", "MessageSchemaVersion", "Events", NULL };
static const char *const t_event_keys[] = { "Id", "TimestampLocal", "TimestampUTC", "Category", "Name",
					    "EventType", "IsEmpty", "PayloadSchemaVersion", "Payload", NULL };
static const char *const t_schema_version[] = { "1.0", NULL };
static const char *const t_category[] = { "Periodic", "Triggered", NULL };
static const char *const t_event_type[] = { "Security", "Operational", "Diagnostic", NULL };

const struct secmsg_schema *secmsg_schema_at(size_t i)
{
	return i < NELEM(schemas) ? &schemas[i] : NULL;
}

const struct secmsg_schema *secmsg_schema_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < NELEM(schemas); i++)
		if (strcmp(schemas[i].name, name) == 0)
			return &schemas[i];
	return NULL;
}

const char *secmsg_table_at(enum secmsg_table t, size_t i)
{
	const char *const *tab;
	switch (t) {
	case SECMSG_T_ROOT_KEYS: tab = t_root_keys; break;
	case SECMSG_T_EVENT_KEYS: tab = t_event_keys; break;
	case SECMSG_T_SCHEMA_VERSION: tab = t_schema_version; break;
	case SECMSG_T_CATEGORY: tab = t_category; break;
	case SECMSG_T_EVENT_TYPE: tab = t_event_type; break;
	case SECMSG_T_DIRECTION: tab = en_direction; break;
	default: return NULL;
	}
	for (size_t k = 0; tab[k]; k++)
		if (k == i)
			return tab[k];
	return NULL;
}

const char *secmsg_verdict_str(enum secmsg_verdict v)
{
	switch (v) {
	case SECMSG_VALID: return "valid";
	case SECMSG_TOLERATED: return "tolerated";
	default: return "invalid";
	}
}

const char *secmsg_mode_str(enum secmsg_mode m)
{
	return m == SECMSG_STRICT ? "strict" : "service";
}

sh_rc secmsg_mode_parse(const char *s, enum secmsg_mode *out)
{
	if (s && strcmp(s, "service") == 0)
		*out = SECMSG_SERVICE;
	else if (s && strcmp(s, "strict") == 0)
		*out = SECMSG_STRICT;
	else
		return SH_E_INVALID;
	return SH_OK;
}

/* ---- IP formats ---- */

/* Dotted quad, each part 0-255 written without leading zeros (ajv's "ipv4"). */
static bool is_ipv4(const uint8_t *p, size_t len)
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= len || p[i] != '.')
				return false;
			i++;
		}
		size_t start = i;
		unsigned v = 0;
		while (i < len && p[i] >= '0' && p[i] <= '9' && i - start < 3)
			v = v * 10 + (unsigned)(p[i++] - '0');
		if (i == start || v > 255 || (i - start > 1 && p[start] == '0'))
			return false;
	}
	return i == len;
}

/*
 * RFC 4291 text: eight groups of 1-4 hex digits separated by ':', one "::" standing for one or
 * more zero groups, and the last 32 bits optionally as a dotted quad. No zone index, no brackets.
 */
static bool is_ipv6(const uint8_t *p, size_t len)
{
	size_t i = 0;
	int groups = 0;
	bool gap = false;
	if (len < 2 || len > 45)
		return false;
	if (p[0] == ':') {
		if (p[1] != ':')
			return false;
		gap = true;
		i = 2;
		if (i == len)
			return true;
	}
	while (i < len) {
		size_t start = i;
		while (i < len && i - start < 5 && ((p[i] >= '0' && p[i] <= '9') ||
						   ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f')))
			i++;
		if (i < len && p[i] == '.') {
			if (groups > 6 || !is_ipv4(p + start, len - start))
				return false;
			groups += 2;
			i = len;
			break;
		}
		if (i == start || i - start > 4)
			return false;
		groups++;
		if (i == len)
			break;
		if (p[i] != ':')
			return false;
		i++;
		if (i < len && p[i] == ':') {
			if (gap)
				return false;
			gap = true;
			i++;
			if (i == len)
				break;
		} else if (i == len) {
			return false; /* a single trailing ':' */
		}
	}
	return gap ? groups <= 7 : groups == 8;
}

bool secmsg_is_ip(struct sh_span s)
{
	return s.len > 0 && (is_ipv4(s.ptr, s.len) || is_ipv6(s.ptr, s.len));
}

/* ---- detection ---- */

bool secmsg_bag_is_security(struct sh_span bag)
{
	size_t pos = 0;
	struct msg_prop p;
	sh_rc rc;
	while ((rc = msg_props_next(bag, &pos, &p)) != SH_E_NOTFOUND) {
		char key[16], val[sizeof(SECMSG_INTERFACE_ID) + 1];
		size_t n;
		if (rc != SH_OK || p.key.len > 3 * sizeof(key) || !p.has_value)
			continue;
		if (msg_props_decode(p.key, key, sizeof(key), &n) != SH_OK || n != 6 ||
		    memcmp(key, "$.ifid", 6) != 0)
			continue;
		if (msg_props_decode(p.value, val, sizeof(val), &n) == SH_OK &&
		    n == strlen(SECMSG_INTERFACE_ID) && memcmp(val, SECMSG_INTERFACE_ID, n) == 0)
			return true;
	}
	return false;
}

bool secmsg_props_is_security(const cJSON *sys)
{
	if (!cJSON_IsObject(sys))
		return false;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(sys, "iothub-interface-id");
	return cJSON_IsString(v) && v->valuestring && strcmp(v->valuestring, SECMSG_INTERFACE_ID) == 0;
}

bool secmsg_header_is_security(struct sh_span name, struct sh_span value)
{
	const char *canon = msg_props_from_http_header(name);
	if (!canon || strcmp(canon, "iothub-interface-id") != 0)
		return false;
	while (value.len && (value.ptr[0] == ' ' || value.ptr[0] == '\t')) {
		value.ptr++;
		value.len--;
	}
	while (value.len && (value.ptr[value.len - 1] == ' ' || value.ptr[value.len - 1] == '\t'))
		value.len--;
	return sh_span_eq_str(value, SECMSG_INTERFACE_ID);
}

/* ---- reasons ---- */

/*
 * `base` + "." + key into `out`, the key made printable ASCII (others -> '?') and cut at 48
 * bytes, so a hostile key cannot make a path long or non-UTF-8.
 */
static void path_key(char out[PATH_MAX_LEN], const char *base, const char *key)
{
	size_t n = (size_t)snprintf(out, PATH_MAX_LEN, "%s.", base);
	if (n >= PATH_MAX_LEN)
		n = PATH_MAX_LEN - 1;
	for (size_t k = 0; key[k] && k < 48 && n + 4 < PATH_MAX_LEN; k++) {
		unsigned char ch = (unsigned char)key[k];
		out[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	if (strlen(key) > 48 && n + 4 < PATH_MAX_LEN) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

static void path_index(char out[PATH_MAX_LEN], const char *base, const char *key, size_t i)
{
	snprintf(out, PATH_MAX_LEN, "%s.%s[%zu]", base, key, i);
}

/*
 * A JSON path that is formatted only when a reason is recorded: the checks build a chain of
 * these on the stack as they descend (a value's path is its parent's plus a key or an index),
 * which costs a few stores, where formatting every path with snprintf cost 15% of validating
 * a valid message. Rendering applies path_key and path_index from the root down, so the text
 * is exactly what formatting each level eagerly gave, truncation of hostile keys included.
 */
enum jpath_kind { JP_LIT_K, JP_KEY_K, JP_IDX_K };

struct jpath {
	const struct jpath *up; /* the parent (NULL for a literal) */
	const char *key;        /* literal: the whole path; key: the key; index: the array's key */
	size_t index;           /* index: the position in that array */
	enum jpath_kind kind;
};

#define JP_LIT(s) ((struct jpath){ NULL, (s), 0, JP_LIT_K })
#define JP_KEY(u, k) ((struct jpath){ (u), (k), 0, JP_KEY_K })
#define JP_IDX(u, k, i) ((struct jpath){ (u), (k), (i), JP_IDX_K })

static void jpath_render(const struct jpath *p, char out[PATH_MAX_LEN])
{
	char base[PATH_MAX_LEN];
	if (p->kind == JP_LIT_K || !p->up) {
		snprintf(out, PATH_MAX_LEN, "%s", p->key);
		return;
	}
	jpath_render(p->up, base);
	if (p->kind == JP_KEY_K)
		path_key(out, base, p->key);
	else
		path_index(out, base, p->key, p->index);
}


struct rlist {
	struct secmsg_reason *v;
	size_t n, cap;
	bool any_invalid, any_tolerated, capped;
};

struct ctx {
	enum secmsg_mode mode;
	bool nomem;
	char *pbuf;  /* where payloads are printed, reused for every event (NULL: none) */
	size_t pcap; /* its size */
};

static char *dup_str(struct ctx *c, const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (!d) {
		c->nomem = true;
		return NULL;
	}
	memcpy(d, s, n + 1);
	return d;
}

/*
 * Record a finding in `l`. The verdict flags always move; the text is kept only for the first
 * SECMSG_MAX_REASONS - 1 findings, then one "further reasons omitted" entry closes the list.
 */
static void add_reason(struct ctx *c, struct rlist *l, const struct jpath *path, const char *text,
		       bool tolerated)
{
	if (tolerated)
		l->any_tolerated = true;
	else
		l->any_invalid = true;
	if (l->capped)
		return;
	static const struct jpath capped = { NULL, "$", 0, JP_LIT_K };
	if (l->n + 1 >= SECMSG_MAX_REASONS) {
		l->capped = true;
		path = &capped;
		text = "further reasons omitted";
		tolerated = false;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		struct secmsg_reason *v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			c->nomem = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	struct secmsg_reason *r = &l->v[l->n];
	char text_path[PATH_MAX_LEN];
	jpath_render(path, text_path);
	r->path = dup_str(c, text_path);
	r->text = dup_str(c, text);
	r->tolerated = tolerated;
	if (!r->path || !r->text) {
		free(r->path);
		free(r->text);
		return;
	}
	l->n++;
}

/*
 * A known deviation at `path`: in service mode recorded as tolerated and accepted (returns
 * true); in strict mode an ordinary reason (returns false, the caller treats the value as bad).
 */
static bool deviation(struct ctx *c, struct rlist *l, const struct jpath *path,
		      const char *text)
{
	add_reason(c, l, path, text, c->mode == SECMSG_SERVICE);
	return c->mode == SECMSG_SERVICE;
}

/* ---- the pre-scan ---- */

/*
 * One pass over the body before cJSON parses it: the deepest nesting of '{' and '[' outside
 * strings. Returns the depth, or SECMSG_MAX_DEPTH + 1 as soon as it is exceeded (so cJSON's
 * recursion never goes deep on hostile input).
 */
static int scan_depth(const uint8_t *p, size_t len)
{
	int depth = 0, max = 0;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		uint8_t ch = p[i];
		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
		} else if (ch == '"') {
			in_str = true;
		} else if (ch == '{' || ch == '[') {
			if (++depth > max)
				max = depth;
			if (max > SECMSG_MAX_DEPTH)
				return max;
		} else if (ch == '}' || ch == ']') {
			depth--;
		}
	}
	return max;
}

/* ---- field checks ---- */

/*
 * A JSON number with no fraction (draft-07 "integer": 1.0 counts). Doubles of magnitude 2^53
 * and more are all whole; below that a round trip through int64_t tells. No libm: the fuzz
 * targets do not link it.
 */
static bool is_integer(const cJSON *v)
{
	if (!cJSON_IsNumber(v))
		return false;
	double d = v->valuedouble, mag = d < 0 ? -d : d;
	if (d - d != 0.0)
		return false; /* inf or nan */
	return mag >= 9007199254740992.0 || (double)(int64_t)d == d;
}

/* The text a number or boolean becomes when service mode coerces it to a string. */
static void scalar_text(const cJSON *v, char out[40])
{
	if (cJSON_IsBool(v))
		snprintf(out, 40, "%s", cJSON_IsTrue(v) ? "true" : "false");
	else if (is_integer(v) && v->valuedouble < 1e15 && v->valuedouble > -1e15)
		snprintf(out, 40, "%lld", (long long)v->valuedouble);
	else
		snprintf(out, 40, "%.17g", v->valuedouble);
}

/*
 * Turn `v` into a string item holding `text`, in place, so it keeps its key and position
 * (service mode's coercions). False on allocation failure.
 */
static bool make_string(struct ctx *c, cJSON *v, const char *text)
{
	size_t n = strlen(text);
	char *d = cJSON_malloc(n + 1);
	if (!d) {
		c->nomem = true;
		return false;
	}
	memcpy(d, text, n + 1);
	if (cJSON_IsString(v))
		cJSON_free(v->valuestring);
	v->type = cJSON_String | (v->type & cJSON_StringIsConst);
	v->valuestring = d;
	return true;
}

static const char *type_name(const cJSON *v)
{
	if (cJSON_IsString(v)) return "string";
	if (cJSON_IsNumber(v)) return "number";
	if (cJSON_IsBool(v)) return "boolean";
	if (cJSON_IsNull(v)) return "null";
	if (cJSON_IsArray(v)) return "array";
	if (cJSON_IsObject(v)) return "object";
	return "invalid";
}

static void wrong_type(struct ctx *c, struct rlist *l, const struct jpath *path, const char *want,
		       const cJSON *v)
{
	char text[96];
	snprintf(text, sizeof(text), "expected %s, got %s", want, type_name(v));
	add_reason(c, l, path, text, false);
}

/* ExtraDetails: an object of strings; numbers and booleans are a tolerated deviation. */
static void check_extra(struct ctx *c, struct rlist *l, const struct jpath *path, cJSON *v)
{
	if (!cJSON_IsObject(v)) {
		wrong_type(c, l, path, "object of strings", v);
		return;
	}
	cJSON *next;
	for (cJSON *e = v->child; e; e = next) {
		next = e->next;
		const struct jpath p = JP_KEY(path, e->string ? e->string : "");
		if (cJSON_IsString(e))
			continue;
		if (cJSON_IsNumber(e) || cJSON_IsBool(e)) {
			if (deviation(c, l, &p, "ExtraDetails value is not a string")) {
				char t[40];
				scalar_text(e, t);
				make_string(c, e, t);
			}
			continue;
		}
		wrong_type(c, l, &p, "string", e);
	}
}

/* ASCII case-insensitive equality (strcasecmp is POSIX, not C11). */
static bool ascii_caseeq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		int x = (*a >= 'A' && *a <= 'Z') ? *a + 32 : *a, y = (*b >= 'A' && *b <= 'Z') ? *b + 32 : *b;
		if (x != y)
			return false;
	}
	return *a == *b;
}

/*
 * One payload property against its field definition. Service-mode coercions rewrite the
 * item in place, so the normalised payload carries the schema's types.
 */
static void check_field(struct ctx *c, struct rlist *l, const struct secmsg_schema *s,
			const struct secmsg_field *f, const struct jpath *path, cJSON *v)
{
	switch (f->type) {
	case SECMSG_F_STRING:
		if (!cJSON_IsString(v))
			wrong_type(c, l, path, "string", v);
		return;
	case SECMSG_F_INT:
		if (!is_integer(v))
			wrong_type(c, l, path, "integer", v);
		return;
	case SECMSG_F_BOOL:
		if (!cJSON_IsBool(v))
			wrong_type(c, l, path, "boolean", v);
		return;
	case SECMSG_F_GUID:
		if (!cJSON_IsString(v))
			wrong_type(c, l, path, "string", v);
		else if (strlen(v->valuestring) != 36)
			add_reason(c, l, path, "not a GUID (36 characters)", false);
		return;
	case SECMSG_F_IP:
		if (!cJSON_IsString(v))
			wrong_type(c, l, path, "string", v);
		else if (!secmsg_is_ip(sh_span_str(v->valuestring)))
			add_reason(c, l, path, "not an ipv4 or ipv6 address", false);
		return;
	case SECMSG_F_PORT:
		if (cJSON_IsString(v))
			return;
		if (is_integer(v)) {
			if (deviation(c, l, path, "integer where a port string is expected")) {
				char t[40];
				scalar_text(v, t);
				make_string(c, v, t);
			}
			return;
		}
		wrong_type(c, l, path, "port string", v);
		return;
	case SECMSG_F_EXTRA:
		check_extra(c, l, path, v);
		return;
	case SECMSG_F_ENUM:
		break;
	}
	if (!cJSON_IsString(v)) {
		wrong_type(c, l, path, "string", v);
		return;
	}
	for (size_t k = 0; f->enums[k]; k++)
		if (strcmp(v->valuestring, f->enums[k]) == 0)
			return;
	if (strcmp(f->name, "Result") == 0) {
		for (size_t k = 0; f->enums[k]; k++) {
			if (!ascii_caseeq(v->valuestring, f->enums[k]))
				continue;
			if (deviation(c, l, path, "Result not spelled as the schema enum"))
				make_string(c, v, f->enums[k]);
			return;
		}
	}
	if (strcmp(s->name, "DroppedEventsStatistics") == 0 && strcmp(f->name, "Queue") == 0 &&
	    strcmp(v->valuestring, "Operational") == 0) {
		deviation(c, l, path, "Queue \"Operational\" is not in the schema enum");
		return;
	}
	add_reason(c, l, path, "value not in the schema enum", false);
}

/* One payload item: known keys only (with the C# shapes as deviations), types, required. */
static void check_item(struct ctx *c, struct rlist *l, const struct secmsg_schema *s,
		       const struct jpath *path, cJSON *item)
{
	if (!cJSON_IsObject(item)) {
		wrong_type(c, l, path, "object", item);
		return;
	}
	uint32_t seen = 0;
	bool csharp_hw = false;
	cJSON *next;
	for (cJSON *v = item->child; v; v = next) {
		next = v->next;
		const char *key = v->string ? v->string : "";
		const struct jpath p = JP_KEY(path, key);
		size_t k;
		for (k = 0; k < s->n_fields; k++)
			if (strcmp(s->fields[k].name, key) == 0)
				break;
		if (k < s->n_fields) {
			if (seen & (1u << k)) {
				add_reason(c, l, &p, "duplicate key", false);
				continue;
			}
			seen |= 1u << k;
			check_field(c, l, s, &s->fields[k], &p, v);
			continue;
		}
		if (strcmp(s->name, "ProcessCreate") == 0 && strcmp(key, "Hash") == 0 &&
		    cJSON_IsString(v)) {
			deviation(c, l, &p, "top-level Hash is not in the schema (C# agent)");
			continue;
		}
		if (strcmp(s->name, "ConnectedHardware") == 0 && strcmp(key, "ConnectedHardware") == 0 &&
		    cJSON_IsString(v)) {
			csharp_hw = deviation(c, l, &p, "C# ConnectedHardware shape instead of "
						       "HardwareCategory/SubCategory/Name");
			continue;
		}
		add_reason(c, l, &p, "key not allowed by the schema", false);
	}
	for (size_t k = 0; k < s->n_fields; k++) {
		if (!s->fields[k].required || (seen & (1u << k)) || csharp_hw)
			continue;
		const struct jpath p = JP_KEY(path, s->fields[k].name);
		add_reason(c, l, &p, "required key missing", false);
	}
	if (s->user_any_of && !cJSON_HasObjectItem(item, "UserId") &&
	    !cJSON_HasObjectItem(item, "UserName"))
		add_reason(c, l, path, "one of UserId or UserName is required", false);
}

/* ---- timestamps ---- */

/*
 * Read a date-time. RFC 3339 (what "format: date-time" means) is accepted in both modes, with
 * fractions of any length (cut to microseconds) and lower-case 't'/'z'. A space for 'T' and a
 * missing zone are deviations: tolerated in service mode (no zone = UTC), reasons in strict.
 * Returns true with *us set when the text could be read at all (also when strict mode
 * reported a deviation in it); *zoned says whether it carried a zone.
 */
static bool read_time(struct ctx *c, struct rlist *l, const struct jpath *path, const char *s,
		      int64_t *us, bool *zoned)
{
	char buf[48];
	size_t len = strlen(s), n = 0;
	*zoned = false;
	if (len < 19 || len > 40) {
		add_reason(c, l, path, "not a date-time", false);
		return false;
	}
	memcpy(buf, s, 19);
	n = 19;
	bool space = buf[10] == ' ';
	if (buf[10] == 't' || buf[10] == ' ')
		buf[10] = 'T';
	size_t i = 19;
	if (s[i] == '.') {
		size_t digits = 0;
		buf[n++] = s[i++];
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (digits++ < 7)
				buf[n++] = s[i];
			i++;
		}
	}
	size_t zone = len - i;
	if (zone == 1 && (s[i] == 'Z' || s[i] == 'z')) {
		buf[n++] = 'Z';
		*zoned = true;
	} else if (zone == 6 && (s[i] == '+' || s[i] == '-')) {
		memcpy(buf + n, s + i, 6);
		n += 6;
		*zoned = true;
	} else if (zone != 0) {
		add_reason(c, l, path, "not a date-time", false);
		return false;
	}
	if (!*zoned)
		buf[n++] = 'Z';
	buf[n] = '\0';
	if (isotime_parse(buf, n, us) != SH_OK) {
		add_reason(c, l, path, "not a date-time", false);
		return false;
	}
	if (space)
		deviation(c, l, path, "space instead of 'T' in date-time");
	if (!*zoned)
		deviation(c, l, path, "date-time without a time zone (read as UTC)");
	return true;
}

/* ---- events ---- */

static bool strv_in(const char *s, const char *const *tab)
{
	for (size_t k = 0; tab[k]; k++)
		if (strcmp(s, tab[k]) == 0)
			return true;
	return false;
}

static char *copy_if_string(struct ctx *c, const cJSON *v)
{
	return cJSON_IsString(v) && v->valuestring ? dup_str(c, v->valuestring) : NULL;
}

/*
 * Print a payload compactly into the context's buffer, or, when it does not fit there (or
 * there is none), into a new one left in *heap for the caller to cJSON_free. Returns the
 * text, or NULL out of memory (c->nomem set).
 */
static const char *print_payload(struct ctx *c, cJSON *payload, char **heap)
{
	*heap = NULL;
	if (c->pbuf && c->pcap <= INT32_MAX &&
	    cJSON_PrintPreallocated(payload, c->pbuf, (int)c->pcap, 0))
		return c->pbuf;
	*heap = cJSON_PrintUnformatted(payload);
	if (!*heap)
		c->nomem = true;
	return *heap;
}

/*
 * Copy an event's texts into one block the row owns (row->storage): the payload text
 * (`payload`, NULL leaves payload_json NULL) and, each when it is a string, Id,
 * TimestampLocal, TimestampUTC, Category, Name and EventType (fv holds the event's values in
 * t_event_keys order). One allocation per event instead of seven.
 */
static void event_texts(struct ctx *c, struct secmsg_event *row, const cJSON *const fv[9],
			const char *payload)
{
	char **dst[6] = { &row->id, &row->timestamp_local, &row->timestamp_utc, &row->category,
			  &row->name, &row->event_type };
	size_t lens[6], plen = payload ? strlen(payload) + 1 : 0, total = plen;
	for (size_t k = 0; k < 6; k++) {
		const cJSON *v = fv[k];
		lens[k] = cJSON_IsString(v) && v->valuestring ? strlen(v->valuestring) + 1 : 0;
		total += lens[k];
	}
	if (total == 0)
		return;
	char *b = malloc(total);
	if (!b) {
		c->nomem = true;
		return;
	}
	row->storage = b;
	if (payload) {
		memcpy(b, payload, plen);
		row->payload_json = b;
		b += plen;
	}
	for (size_t k = 0; k < 6; k++) {
		if (!lens[k])
			continue;
		memcpy(b, fv[k]->valuestring, lens[k]);
		*dst[k] = b;
		b += lens[k];
	}
}

/*
 * Validate event `i` and fill its row. Order: keys, identity fields, the per-Name schema,
 * the (Category, IsEmpty, Payload) combination, then every payload item. The payload is
 * printed after the items were checked, so it carries service mode's coercions.
 */
static void check_event(struct ctx *c, cJSON *ev, size_t i, struct secmsg_event *row)
{
	struct rlist l = {0};
	const struct jpath root = JP_LIT("$"), base = JP_IDX(&root, "Events", i);
	struct jpath p;
	cJSON *payload = NULL;
	cJSON *fv[9] = {0};
	row->index = i;
	if (!cJSON_IsObject(ev)) {
		wrong_type(c, &l, &base, "object", ev);
		goto done;
	}
	for (cJSON *v = ev->child; v; v = v->next) {
		const char *key = v->string ? v->string : "";
		size_t k;
		for (k = 0; t_event_keys[k]; k++)
			if (strcmp(t_event_keys[k], key) == 0)
				break;
		p = JP_KEY(&base, key);
		if (!t_event_keys[k])
			add_reason(c, &l, &p, "key not allowed by the schema", false);
		else if (fv[k])
			add_reason(c, &l, &p, "duplicate key", false);
		else
			fv[k] = v;
	}
	for (size_t k = 0; t_event_keys[k]; k++) {
		if (fv[k])
			continue;
		p = JP_KEY(&base, t_event_keys[k]);
		add_reason(c, &l, &p, "required key missing", false);
	}
	const cJSON *id = fv[0], *tl = fv[1], *tu = fv[2], *cat = fv[3], *name = fv[4],
		    *etype = fv[5], *empty = fv[6], *psv = fv[7];
	payload = fv[8];
	row->is_empty = cJSON_IsTrue(empty);

	p = JP_KEY(&base, "Id");
	if (id && !cJSON_IsString(id))
		wrong_type(c, &l, &p, "string", id);
	else if (id && strlen(id->valuestring) != 36)
		add_reason(c, &l, &p, "not a GUID (36 characters)", false);

	int64_t us_local = 0, us_utc = 0;
	bool zl = false, zu = false, got_local = false, got_utc = false;
	p = JP_KEY(&base, "TimestampLocal");
	if (tl && !cJSON_IsString(tl))
		wrong_type(c, &l, &p, "string", tl);
	else if (tl)
		got_local = read_time(c, &l, &p, tl->valuestring, &us_local, &zl);
	p = JP_KEY(&base, "TimestampUTC");
	if (tu && !cJSON_IsString(tu))
		wrong_type(c, &l, &p, "string", tu);
	else if (tu)
		got_utc = read_time(c, &l, &p, tu->valuestring, &us_utc, &zu);
	/* the instant: TimestampUTC, else TimestampLocal (its offset applied; zone-less = UTC) */
	if (got_utc || got_local) {
		row->has_time = true;
		row->time_utc_us = got_utc ? us_utc : us_local;
	}

	const struct secmsg_schema *s = NULL;
	p = JP_KEY(&base, "Name");
	if (name && !cJSON_IsString(name))
		wrong_type(c, &l, &p, "string", name);
	else if (name && !(s = secmsg_schema_find(name->valuestring)))
		add_reason(c, &l, &p, "unknown event name", false);

	p = JP_KEY(&base, "EventType");
	if (etype && !cJSON_IsString(etype))
		wrong_type(c, &l, &p, "string", etype);
	else if (etype && !strv_in(etype->valuestring, t_event_type))
		add_reason(c, &l, &p, "value not in the schema enum", false);
	else if (etype && s && strcmp(etype->valuestring, s->event_type) != 0)
		add_reason(c, &l, &p, "EventType does not match Name", false);

	/* the category the combination rules see: Aggregated counts as Triggered when tolerated */
	const char *eff_cat = NULL;
	p = JP_KEY(&base, "Category");
	if (cat && !cJSON_IsString(cat)) {
		wrong_type(c, &l, &p, "string", cat);
	} else if (cat && strv_in(cat->valuestring, t_category)) {
		eff_cat = cat->valuestring;
		if (s && strcmp(eff_cat, s->category) != 0)
			add_reason(c, &l, &p, "Category does not match Name", false);
	} else if (cat && strcmp(cat->valuestring, "Aggregated") == 0 &&
		   (!s || strcmp(s->category, "Triggered") == 0)) {
		if (deviation(c, &l, &p, "Category \"Aggregated\" is not in the schema enum"))
			eff_cat = "Triggered";
	} else if (cat) {
		add_reason(c, &l, &p, "value not in the schema enum", false);
	}

	p = JP_KEY(&base, "IsEmpty");
	if (empty && !cJSON_IsBool(empty))
		wrong_type(c, &l, &p, "boolean", empty);
	p = JP_KEY(&base, "PayloadSchemaVersion");
	if (psv && !cJSON_IsString(psv))
		wrong_type(c, &l, &p, "string", psv);
	else if (psv && strcmp(psv->valuestring, "1.0") != 0)
		add_reason(c, &l, &p, "value not in the schema enum", false);

	p = JP_KEY(&base, "Payload");
	if (payload && !cJSON_IsArray(payload)) {
		wrong_type(c, &l, &p, "array", payload);
		payload = NULL;
	}
	if (payload) {
		row->payload_count = (size_t)cJSON_GetArraySize(payload);
		if (eff_cat && empty && cJSON_IsBool(empty)) {
			bool is_empty = cJSON_IsTrue(empty), periodic = strcmp(eff_cat, "Periodic") == 0;
			if (!is_empty && row->payload_count == 0)
				add_reason(c, &l, &p, "empty Payload while IsEmpty is false", false);
			else if (is_empty && !periodic) {
				if (s && strcmp(s->name, "ConfigurationError") == 0 && row->payload_count == 0)
					deviation(c, &l, &base, "empty triggered ConfigurationError "
							      "(IsEmpty true, Payload [])");
				else
					add_reason(c, &l, &base, "IsEmpty true is only allowed for "
								"Periodic events", false);
			}
		}
		if (s) {
			size_t k = 0;
			for (cJSON *it = payload->child; it; it = it->next, k++) {
				p = JP_IDX(&base, "Payload", k);
				check_item(c, &l, s, &p, it);
			}
		}
	}
done:;
	char *heap = NULL;
	const char *text = payload ? print_payload(c, payload, &heap) : "null";
	event_texts(c, row, (const cJSON *const *)fv, text);
	cJSON_free(heap);
	row->reasons = l.v;
	row->n_reasons = l.n;
	row->verdict = l.any_invalid ? SECMSG_INVALID
				     : l.any_tolerated ? SECMSG_TOLERATED : SECMSG_VALID;
}

/* ---- the message ---- */

static void set_verdict(struct secmsg_result *out, const struct rlist *l)
{
	enum secmsg_verdict v = l->any_invalid ? SECMSG_INVALID
					       : l->any_tolerated ? SECMSG_TOLERATED : SECMSG_VALID;
	for (size_t i = 0; i < out->n_events; i++)
		if (out->events[i].verdict > v)
			v = out->events[i].verdict;
	out->verdict = v;
	out->reasons = l->v;
	out->n_reasons = l->n;
}

/* Are the `len` bytes from `p` JSON white space only? */
static bool only_ws(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
			return false;
	return true;
}

/* The envelope: exactly the four keys, their types, then the events. */
static void check_root(struct ctx *c, struct rlist *l, cJSON *root, struct secmsg_result *out)
{
	const struct jpath top = JP_LIT("$");
	struct jpath p;
	const cJSON *fv[4] = {0};
	for (cJSON *v = root->child; v; v = v->next) {
		const char *key = v->string ? v->string : "";
		size_t k;
		for (k = 0; t_root_keys[k]; k++)
			if (strcmp(t_root_keys[k], key) == 0)
				break;
		p = JP_KEY(&top, key);
		if (!t_root_keys[k])
			add_reason(c, l, &p, "key not allowed by the schema", false);
		else if (fv[k])
			add_reason(c, l, &p, "duplicate key", false);
		else
			fv[k] = v;
	}
	for (size_t k = 0; t_root_keys[k]; k++) {
		if (fv[k])
			continue;
		p = JP_KEY(&top, t_root_keys[k]);
		add_reason(c, l, &p, "required key missing", false);
	}
	const cJSON *ver = fv[0], *aid = fv[1], *msv = fv[2], *events = fv[3];
	out->agent_version = copy_if_string(c, ver);
	out->agent_id = copy_if_string(c, aid);
	out->schema_version = copy_if_string(c, msv);
	if (ver && !cJSON_IsString(ver))
		wrong_type(c, l, &JP_LIT("$.AgentVersion"), "string", ver);
	if (aid && !cJSON_IsString(aid))
		wrong_type(c, l, &JP_LIT("$.AgentId"), "string", aid);
	else if (aid && strlen(aid->valuestring) != 36)
		add_reason(c, l, &JP_LIT("$.AgentId"), "not a GUID (36 characters)", false);
	if (msv && !cJSON_IsString(msv))
		wrong_type(c, l, &JP_LIT("$.MessageSchemaVersion"), "string", msv);
	else if (msv && !strv_in(msv->valuestring, t_schema_version))
		add_reason(c, l, &JP_LIT("$.MessageSchemaVersion"), "value not in the schema enum", false);
	if (!events)
		return;
	if (!cJSON_IsArray(events)) {
		wrong_type(c, l, &JP_LIT("$.Events"), "array", events);
		return;
	}
	size_t n = 0, items = 0;
	for (const cJSON *e = events->child; e; e = e->next) {
		n++;
		const cJSON *pl = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "Payload") : NULL;
		if (cJSON_IsArray(pl))
			items += (size_t)cJSON_GetArraySize(pl);
	}
	if (n == 0) {
		add_reason(c, l, &JP_LIT("$.Events"), "at least one event is required", false);
		return;
	}
	if (n > SECMSG_MAX_EVENTS) {
		add_reason(c, l, &JP_LIT("$.Events"), "more events than simhub accepts (1024)", false);
		return;
	}
	if (items > SECMSG_MAX_ITEMS) {
		add_reason(c, l, &JP_LIT("$.Events"), "more payload items than simhub accepts (8192)", false);
		return;
	}
	out->events = calloc(n, sizeof(*out->events));
	if (!out->events) {
		c->nomem = true;
		return;
	}
	size_t i = 0;
	for (cJSON *e = events->child; e && !c->nomem; e = e->next, i++) {
		check_event(c, e, i, &out->events[i]);
		out->n_events = i + 1;
	}
}

sh_rc secmsg_validate(const void *body, size_t len, enum secmsg_mode mode,
		      struct secmsg_result *out)
{
	struct ctx c = { mode == SECMSG_STRICT ? SECMSG_STRICT : SECMSG_SERVICE, false, NULL, 0 };
	struct rlist l = {0};
	memset(out, 0, sizeof(*out));
	out->mode = c.mode;
	const uint8_t *p = body;
	if (len == 0 || !body) {
		add_reason(&c, &l, &JP_LIT("$"), "empty body", false);
	} else if (len > SECMSG_MAX_BODY) {
		add_reason(&c, &l, &JP_LIT("$"), "body larger than 262144 bytes", false);
	} else if (!utf8_valid(p, len, UTF8_NUL_REFUSE)) {
		add_reason(&c, &l, &JP_LIT("$"), "body is not UTF-8 text", false);
	} else if (scan_depth(p, len) > SECMSG_MAX_DEPTH) {
		add_reason(&c, &l, &JP_LIT("$"), "JSON nested deeper than 16 levels", false);
	} else {
		const char *end = NULL;
		cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
		if (!root || !end || !only_ws(end, len - (size_t)(end - (const char *)body))) {
			add_reason(&c, &l, &JP_LIT("$"), "body is not JSON", false);
		} else if (!cJSON_IsObject(root)) {
			wrong_type(&c, &l, &JP_LIT("$"), "object", root);
		} else {
			/* Compact payloads are about as long as their text in the body; one that
			 * is not (numbers printed longer, coercions) falls back to a new buffer. */
			c.pcap = len + 256;
			c.pbuf = malloc(c.pcap);
			check_root(&c, &l, root, out);
			free(c.pbuf);
		}
		cJSON_Delete(root);
	}
	set_verdict(out, &l);
	if (c.nomem) {
		out->verdict = SECMSG_INVALID;
		return SH_E_NOMEM;
	}
	return SH_OK;
}

static void free_reasons(struct secmsg_reason *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].path);
		free(r[i].text);
	}
	free(r);
}

void secmsg_result_free(struct secmsg_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_events; i++) {
		struct secmsg_event *e = &r->events[i];
		free(e->storage);
		free_reasons(e->reasons, e->n_reasons);
	}
	free(r->events);
	free_reasons(r->reasons, r->n_reasons);
	free(r->agent_version);
	free(r->agent_id);
	free(r->schema_version);
	memset(r, 0, sizeof(*r));
}

/* ---- JSON views ---- */

cJSON *secmsg_reasons_json(const struct secmsg_reason *reasons, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; arr && i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(arr, o) ||
		    !cJSON_AddStringToObject(o, "path", reasons[i].path) ||
		    !cJSON_AddStringToObject(o, "reason", reasons[i].text) ||
		    !cJSON_AddBoolToObject(o, "tolerated", reasons[i].tolerated)) {
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}

static bool add_text(cJSON *o, const char *key, const char *v)
{
	return v ? cJSON_AddStringToObject(o, key, v) != NULL : cJSON_AddNullToObject(o, key) != NULL;
}

cJSON *secmsg_result_json(const struct secmsg_result *r)
{
	cJSON *o = cJSON_CreateObject(), *events = NULL;
	if (!o || !add_text(o, "mode", secmsg_mode_str(r->mode)) ||
	    !add_text(o, "verdict", secmsg_verdict_str(r->verdict)) ||
	    !add_text(o, "agentVersion", r->agent_version) || !add_text(o, "agentId", r->agent_id) ||
	    !add_text(o, "messageSchemaVersion", r->schema_version) ||
	    !cJSON_AddItemToObject(o, "reasons", secmsg_reasons_json(r->reasons, r->n_reasons)) ||
	    !(events = cJSON_AddArrayToObject(o, "events")))
		goto fail;
	for (size_t i = 0; i < r->n_events; i++) {
		const struct secmsg_event *e = &r->events[i];
		cJSON *ev = cJSON_CreateObject();
		if (!ev)
			goto fail;
		cJSON_AddItemToArray(events, ev);
		if (!cJSON_AddNumberToObject(ev, "index", (double)e->index) ||
		    !add_text(ev, "id", e->id) || !add_text(ev, "name", e->name) ||
		    !add_text(ev, "eventType", e->event_type) || !add_text(ev, "category", e->category) ||
		    !cJSON_AddBoolToObject(ev, "isEmpty", e->is_empty) ||
		    !add_text(ev, "timestampLocal", e->timestamp_local) ||
		    !add_text(ev, "timestampUtc", e->timestamp_utc) ||
		    !(e->has_time ? cJSON_AddNumberToObject(ev, "timeUtcUs", (double)e->time_utc_us)
				  : cJSON_AddNullToObject(ev, "timeUtcUs")) ||
		    !cJSON_AddNumberToObject(ev, "payloadCount", (double)e->payload_count) ||
		    !add_text(ev, "verdict", secmsg_verdict_str(e->verdict)) ||
		    !cJSON_AddItemToObject(ev, "reasons", secmsg_reasons_json(e->reasons, e->n_reasons)))
			goto fail;
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}
