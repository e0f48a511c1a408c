/*
 * secconfig.c: the security module twin configuration (security-agent.md §1): field table,
 * default desired document, entry checks and desired/reported drift. Pure: no clock, no I/O,
 * no globals; it allocates only what it returns and never changes a twin.
 *
 * What "drift" means here. The agents report their whole effective configuration after every
 * apply (§1.5), each entry {"value": v}; the C agent writes priorities in lower case and adds
 * eventPriorityOperational, the C# agent adds hubResourceId. So a field is APPLIED when the
 * reported value equals the desired one after normalising (durations by length, priorities by
 * case), PENDING while it differs or is missing (the C agent applies twin updates on a 10 s
 * task), REJECTED when the agent's latest ConfigurationError says TypeMismatch for it (the agent
 * then keeps its previous configuration), DEFAULT when the service does not set it. Some fields
 * only some agents know (the Windows-only ProcessTerminate aggregation of the default twin, the
 * priorities the C agent has no collector for, hubResourceId): one missing from a reported
 * object is NOT_REPORTED, since an agent that reported its configuration and left a field out
 * does not know it, and waiting for it would never end. The whole configuration counts as
 * applied once the agent has reported the object and no field is PENDING or REJECTED.
 * NotOptimal and Conflict errors do not stop an apply: they are shown.
 */
#include "core/secconfig.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define DUR(k, d) { k, SECCONFIG_DURATION, d, true, 0, 0, false }
#define PRIO(k, d) { k, SECCONFIG_PRIORITY, d, true, 0, 0, false }
#define BOOL_T(k) { k, SECCONFIG_BOOL, "true", true, 0, 0, false }
/* The same, known to some agents only (secconfig_field.some_agents_only). */
#define DUR_S(k, d) { k, SECCONFIG_DURATION, d, true, 0, 0, true }
#define PRIO_S(k, d) { k, SECCONFIG_PRIORITY, d, true, 0, 0, true }
#define BOOL_T_S(k) { k, SECCONFIG_BOOL, "true", true, 0, 0, true }

static const struct secconfig_field fields[] = {
	DUR("highPriorityMessageFrequency", "\"PT7M\""),
	DUR("lowPriorityMessageFrequency", "\"PT5H\""),
	DUR("snapshotFrequency", "\"PT13H\""),
	{ "maxLocalCacheSizeInBytes", SECCONFIG_INT, "2560000", true, 8192, 0, false },
	{ "maxMessageSizeInBytes", SECCONFIG_INT, "204800", true, 8192, 262144, false },
	PRIO_S("eventPriorityConnectedHardware", "\"Low\""),
	PRIO("eventPriorityListeningPorts", "\"High\""),
	PRIO("eventPriorityProcessCreate", "\"Low\""),
	PRIO_S("eventPriorityProcessTerminate", "\"Low\""),
	PRIO("eventPrioritySystemInformation", "\"Low\""),
	PRIO("eventPriorityLocalUsers", "\"High\""),
	PRIO("eventPriorityLogin", "\"High\""),
	PRIO("eventPriorityConnectionCreate", "\"Low\""),
	PRIO("eventPriorityFirewallConfiguration", "\"Low\""),
	PRIO("eventPriorityOSBaseline", "\"Low\""),
	PRIO("eventPriorityDiagnostic", "\"Low\""),
	PRIO_S("eventPriorityConfigurationError", "\"Low\""),
	PRIO_S("eventPriorityDroppedEventsStatistics", "\"Low\""),
	PRIO_S("eventPriorityMessageStatistics", "\"Low\""),
	BOOL_T("aggregationEnabledProcessCreate"),
	DUR("aggregationIntervalProcessCreate", "\"PT1H\""),
	BOOL_T("aggregationEnabledConnectionCreate"),
	DUR("aggregationIntervalConnectionCreate", "\"PT1H\""),
	BOOL_T_S("aggregationEnabledProcessTerminate"),
	DUR_S("aggregationIntervalProcessTerminate", "\"PT1H\""),
	/* not in the twin default */
	{ "baselineCustomChecksEnabled", SECCONFIG_BOOL, "false", false, 0, 0, false },
	{ "baselineCustomChecksFilePath", SECCONFIG_STRING, NULL, false, 0, 0, false },
	{ "baselineCustomChecksFileHash", SECCONFIG_STRING, NULL, false, 0, 0, false },
	{ "hubResourceId", SECCONFIG_STRING, "\"\"", false, 0, 0, true },
	{ "eventPriorityOperational", SECCONFIG_PRIORITY, NULL, false, 0, 0, true },
};

const struct secconfig_field *secconfig_field_at(size_t i)
{
	return i < NELEM(fields) ? &fields[i] : NULL;
}

const struct secconfig_field *secconfig_field_find(const char *key)
{
	if (!key)
		return NULL;
	for (size_t i = 0; i < NELEM(fields); i++)
		if (strcmp(fields[i].key, key) == 0)
			return &fields[i];
	return NULL;
}

/* ---- durations ---- */

/*
 * One component "<digits>[.<digits>]<unit>" of a duration, at *p. Stores the whole part and
 * the fraction (as numerator / 10^digits, at most 9 digits kept) and moves *p past the digits.
 * Returns false when there is no digit, or a '.' with no digit after it.
 */
static bool read_number(const char **p, int64_t *whole, int64_t *frac, int64_t *scale)
{
	const char *s = *p;
	*whole = 0;
	*frac = 0;
	*scale = 1;
	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9') {
		if (*whole > (INT64_MAX - 9) / 10)
			*whole = INT64_MAX; /* saturate; the caller reports TOOLARGE */
		else
			*whole = *whole * 10 + (*s - '0');
		s++;
	}
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return false;
		for (int k = 0; *s >= '0' && *s <= '9'; s++, k++) {
			if (k < 9) {
				*frac = *frac * 10 + (*s - '0');
				*scale *= 10;
			}
		}
	}
	*p = s;
	return true;
}

sh_rc secconfig_duration_parse(const char *s, int64_t *ms_out)
{
	static const struct {
		char unit;
		bool time;
		int64_t ms;
	} units[] = {
		{ 'Y', false, 365LL * 86400000 }, { 'M', false, 30LL * 86400000 },
		{ 'W', false, 7LL * 86400000 },   { 'D', false, 86400000 },
		{ 'H', true, 3600000 },           { 'M', true, 60000 },
		{ 'S', true, 1000 },
	};
	if (!s || s[0] != 'P' || s[1] == '\0')
		return SH_E_MALFORMED;
	const char *p = s + 1;
	bool in_time = false, any = false, too_large = false;
	size_t next = 0; /* units must come in table order */
	int64_t total = 0;
	while (*p) {
		if (*p == 'T') {
			if (in_time || p[1] < '0' || p[1] > '9')
				return SH_E_MALFORMED;
			in_time = true;
			p++;
			continue;
		}
		int64_t whole, frac, scale;
		if (!read_number(&p, &whole, &frac, &scale))
			return SH_E_MALFORMED;
		size_t u;
		for (u = next; u < NELEM(units); u++)
			if (units[u].unit == *p && units[u].time == in_time)
				break;
		if (u == NELEM(units))
			return SH_E_MALFORMED;
		next = u + 1;
		p++;
		if (scale > 1 && *p != '\0')
			return SH_E_MALFORMED; /* a fraction only on the last component */
		if (whole > INT64_MAX / units[u].ms) {
			too_large = true;
		} else {
			/* every unit is whole seconds: frac/scale of it is q*1000/scale ms, q < 2^55 */
			int64_t q = frac * (units[u].ms / 1000);
			int64_t add = whole * units[u].ms +
				      (scale >= 1000 ? q / (scale / 1000) : q * (1000 / scale));
			if (add > INT64_MAX - total)
				too_large = true;
			else
				total += add;
		}
		any = true;
	}
	if (!any)
		return SH_E_MALFORMED;
	if (too_large)
		return SH_E_TOOLARGE;
	*ms_out = total;
	return SH_OK;
}

/* ---- entries ---- */

static bool ascii_caseeq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		int x = (*a >= 'A' && *a <= 'Z') ? *a + 32 : *a, y = (*b >= 'A' && *b <= 'Z') ? *b + 32 : *b;
		if (x != y)
			return false;
	}
	return *a == *b;
}

sh_rc secconfig_priority_parse(const char *s, enum secconfig_priority *out)
{
	static const struct {
		const char *name;
		enum secconfig_priority p;
	} names[] = { { "High", SECCONFIG_PRIO_HIGH }, { "Low", SECCONFIG_PRIO_LOW },
		      { "Off", SECCONFIG_PRIO_OFF } };
	for (size_t i = 0; s && i < NELEM(names); i++) {
		if (ascii_caseeq(s, names[i].name)) {
			*out = names[i].p;
			return SH_OK;
		}
	}
	return SH_E_INVALID;
}

static bool is_whole(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble >= -9.2e18 && v->valuedouble <= 9.2e18 &&
	       (double)(int64_t)v->valuedouble == v->valuedouble;
}

static sh_rc fail(char *why, size_t cap, const char *text)
{
	if (why && cap)
		snprintf(why, cap, "%s", text);
	return SH_E_INVALID;
}

/* A value (not its wrapper, not null) against the field's kind only, typed into *out. */
static sh_rc read_value(const struct secconfig_field *f, const cJSON *v, struct secconfig_value *out,
			char *why, size_t cap)
{
	enum secconfig_priority p;
	switch (f->kind) {
	case SECCONFIG_DURATION:
		if (!cJSON_IsString(v))
			return fail(why, cap, "expected an ISO 8601 duration string");
		if (secconfig_duration_parse(v->valuestring, &out->i) != SH_OK)
			return fail(why, cap, "not an ISO 8601 duration");
		if (out->i <= 0)
			return fail(why, cap, "duration must be longer than zero");
		break;
	case SECCONFIG_INT:
		if (!is_whole(v))
			return fail(why, cap, "expected an integer");
		out->i = (int64_t)v->valuedouble;
		break;
	case SECCONFIG_BOOL:
		if (!cJSON_IsBool(v))
			return fail(why, cap, "expected a boolean");
		out->i = cJSON_IsTrue(v);
		break;
	case SECCONFIG_PRIORITY:
		if (!cJSON_IsString(v) || secconfig_priority_parse(v->valuestring, &p) != SH_OK)
			return fail(why, cap, "expected \"High\", \"Low\" or \"Off\"");
		out->i = p;
		break;
	case SECCONFIG_STRING:
		if (!cJSON_IsString(v))
			return fail(why, cap, "expected a string");
		out->s = v->valuestring;
		break;
	default:
		return fail(why, cap, "unknown kind");
	}
	out->set = true;
	return SH_OK;
}

sh_rc secconfig_entry_value(const struct secconfig_field *f, const cJSON *wrapper,
			    struct secconfig_value *out, char *why, size_t why_cap)
{
	memset(out, 0, sizeof(*out));
	if (!wrapper || cJSON_IsNull(wrapper))
		return SH_OK;
	if (!cJSON_IsObject(wrapper))
		return fail(why, why_cap, "expected {\"value\": ...}");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(wrapper, "value");
	if (!v)
		return fail(why, why_cap, "missing \"value\"");
	if (cJSON_IsNull(v))
		return SH_OK;
	sh_rc rc = read_value(f, v, out, why, why_cap);
	if (rc != SH_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

sh_rc secconfig_check_entry(const struct secconfig_field *f, const cJSON *wrapper, char *why,
			    size_t why_cap)
{
	struct secconfig_value val;
	sh_rc rc = secconfig_entry_value(f, wrapper, &val, why, why_cap);
	if (rc != SH_OK || !val.set || f->kind != SECCONFIG_INT)
		return rc;
	if (f->min && val.i < f->min)
		return fail(why, why_cap, "below the documented minimum");
	if (f->max && val.i > f->max)
		return fail(why, why_cap, "above the documented maximum");
	return SH_OK;
}

/*
 * Defaults are read from the table's JSON text without a JSON parser (no allocation): a quoted
 * text is copied without its quotes (the defaults hold no escapes), then read per kind. The
 * only string default is "", so a string default is always the static empty string.
 */
sh_rc secconfig_field_default(const struct secconfig_field *f, struct secconfig_value *out)
{
	memset(out, 0, sizeof(*out));
	const char *j = f ? f->default_json : NULL;
	if (!j)
		return SH_E_NOTFOUND;
	char text[32];
	size_t n = strlen(j);
	if (n >= 2 && j[0] == '"' && j[n - 1] == '"' && n - 2 < sizeof(text)) {
		memcpy(text, j + 1, n - 2);
		text[n - 2] = '\0';
	} else if (n < sizeof(text)) {
		memcpy(text, j, n + 1);
	} else {
		return SH_E_NOTFOUND;
	}
	enum secconfig_priority p;
	switch (f->kind) {
	case SECCONFIG_DURATION:
		if (secconfig_duration_parse(text, &out->i) != SH_OK)
			return SH_E_NOTFOUND;
		break;
	case SECCONFIG_INT:
		out->i = strtoll(text, NULL, 10);
		break;
	case SECCONFIG_BOOL:
		out->i = strcmp(text, "true") == 0;
		break;
	case SECCONFIG_PRIORITY:
		if (secconfig_priority_parse(text, &p) != SH_OK)
			return SH_E_NOTFOUND;
		out->i = p;
		break;
	case SECCONFIG_STRING:
		if (text[0] != '\0')
			return SH_E_NOTFOUND;
		out->s = "";
		break;
	default:
		return SH_E_NOTFOUND;
	}
	out->set = true;
	return SH_OK;
}

/*
 * Durations are written with days as the largest unit (months and years have no fixed length
 * outside secconfig_duration_parse's convention), and milliseconds as a fraction of the
 * seconds, so that parse(format(ms)) == ms for every ms >= 0.
 */
char *secconfig_duration_format(int64_t ms, char *out)
{
	if (ms < 0)
		ms = 0;
	int64_t s = ms / 1000, frac = ms % 1000;
	int64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
	size_t cap = SECCONFIG_DURATION_TEXT, n = 0;
	n += (size_t)snprintf(out, cap, "P");
	if (d)
		n += (size_t)snprintf(out + n, cap - n, "%lldD", (long long)d);
	if (h || m || sec || frac || !d) {
		n += (size_t)snprintf(out + n, cap - n, "T");
		if (h)
			n += (size_t)snprintf(out + n, cap - n, "%lldH", (long long)h);
		if (m)
			n += (size_t)snprintf(out + n, cap - n, "%lldM", (long long)m);
		if (frac) {
			char f[4];
			snprintf(f, sizeof(f), "%03lld", (long long)frac);
			for (int k = 2; k > 0 && f[k] == '0'; k--)
				f[k] = '\0';
			snprintf(out + n, cap - n, "%lld.%sS", (long long)sec, f);
		}
		else if (sec || (!h && !m))
			snprintf(out + n, cap - n, "%lldS", (long long)sec);
	}
	return out;
}

cJSON *secconfig_default_desired(void)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *obj = root ? cJSON_AddObjectToObject(root, SECCONFIG_OBJECT) : NULL;
	if (!obj)
		goto fail;
	for (size_t i = 0; i < NELEM(fields); i++) {
		if (!fields[i].in_default_twin)
			continue;
		cJSON *w = cJSON_AddObjectToObject(obj, fields[i].key);
		cJSON *v = cJSON_Parse(fields[i].default_json);
		if (!w || !v || !cJSON_AddItemToObject(w, "value", v)) {
			cJSON_Delete(v);
			goto fail;
		}
	}
	return root;
fail:
	cJSON_Delete(root);
	return NULL;
}

/* ---- drift ---- */

const char *secconfig_state_str(enum secconfig_state s)
{
	switch (s) {
	case SECCONFIG_APPLIED: return "applied";
	case SECCONFIG_PENDING: return "pending";
	case SECCONFIG_REJECTED: return "rejected";
	case SECCONFIG_DEFAULT: return "default";
	case SECCONFIG_NOT_REPORTED: return "not-reported";
	default: return "unknown-field";
	}
}

static const cJSON *config_object(const cJSON *section)
{
	const cJSON *o = cJSON_IsObject(section) ? cJSON_GetObjectItemCaseSensitive(section, SECCONFIG_OBJECT)
						 : NULL;
	return cJSON_IsObject(o) ? o : NULL;
}

/* Values equal for field f (NULL f: exact JSON equality). */
static bool same_value(const struct secconfig_field *f, const cJSON *a, const cJSON *b)
{
	if (f && f->kind == SECCONFIG_DURATION && cJSON_IsString(a) && cJSON_IsString(b)) {
		int64_t x, y;
		if (secconfig_duration_parse(a->valuestring, &x) == SH_OK &&
		    secconfig_duration_parse(b->valuestring, &y) == SH_OK)
			return x == y;
	}
	if (f && f->kind == SECCONFIG_PRIORITY && cJSON_IsString(a) && cJSON_IsString(b))
		return ascii_caseeq(a->valuestring, b->valuestring);
	return cJSON_Compare(a, b, 1);
}

static char *dup_text(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

/* Does `text` name `key` as a whole word (neighbours not letters or digits)? */
static bool names_key(const char *text, const char *key)
{
	size_t n = strlen(key);
	for (const char *p = strstr(text, key); p; p = strstr(p + 1, key)) {
		char before = p == text ? ' ' : p[-1], after = p[n];
		bool wb = !((before >= 'a' && before <= 'z') || (before >= 'A' && before <= 'Z') ||
			    (before >= '0' && before <= '9'));
		bool wa = !((after >= 'a' && after <= 'z') || (after >= 'A' && after <= 'Z') ||
			    (after >= '0' && after <= '9'));
		if (wb && wa)
			return true;
	}
	return false;
}

static sh_rc add_row(struct secconfig_drift *d, size_t *cap, const char *key,
		     const struct secconfig_field *f)
{
	if (d->n_rows == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;
		struct secconfig_drift_row *r = realloc(d->rows, nc * sizeof(*r));
		if (!r)
			return SH_E_NOMEM;
		d->rows = r;
		*cap = nc;
	}
	struct secconfig_drift_row *row = &d->rows[d->n_rows];
	memset(row, 0, sizeof(*row));
	row->key = dup_text(key);
	if (!row->key)
		return SH_E_NOMEM;
	row->field = f;
	d->n_rows++;
	return SH_OK;
}

/*
 * Fill one row's desired and reported values from the two configuration objects. A desired
 * entry that is not {"value": v} gets a desired_error; a reported bare value is taken as is.
 */
static sh_rc fill_row(struct secconfig_drift_row *row, const cJSON *dobj, const cJSON *robj)
{
	char why[96];
	const cJSON *dw = dobj ? cJSON_GetObjectItemCaseSensitive(dobj, row->key) : NULL;
	const cJSON *rw = robj ? cJSON_GetObjectItemCaseSensitive(robj, row->key) : NULL;
	if (dw && !cJSON_IsNull(dw)) {
		const cJSON *v = cJSON_IsObject(dw) ? cJSON_GetObjectItemCaseSensitive(dw, "value") : dw;
		if (v && !cJSON_IsNull(v) && !(row->desired = cJSON_Duplicate(v, 1)))
			return SH_E_NOMEM;
		if (row->field && secconfig_check_entry(row->field, dw, why, sizeof(why)) != SH_OK &&
		    !(row->desired_error = dup_text(why)))
			return SH_E_NOMEM;
		if (!row->field && (!cJSON_IsObject(dw) || !v) &&
		    !(row->desired_error = dup_text("expected {\"value\": ...}")))
			return SH_E_NOMEM;
	}
	if (rw && !cJSON_IsNull(rw)) {
		const cJSON *v = cJSON_IsObject(rw) && cJSON_HasObjectItem(rw, "value")
					 ? cJSON_GetObjectItemCaseSensitive(rw, "value") : rw;
		if (!cJSON_IsNull(v) && !(row->reported = cJSON_Duplicate(v, 1)))
			return SH_E_NOMEM;
	}
	return SH_OK;
}

/* Attach the agent's ConfigurationError items to the rows they name. */
static sh_rc apply_errors(struct secconfig_drift *d, const cJSON *errs, bool *rejected)
{
	for (const cJSON *it = cJSON_IsArray(errs) ? errs->child : NULL; it; it = it->next) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "ConfigurationName");
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(it, "ErrorType");
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(it, "Message");
		const char *n = cJSON_IsString(name) ? name->valuestring : "";
		const char *t = cJSON_IsString(type) ? type->valuestring : "";
		const char *m = cJSON_IsString(msg) ? msg->valuestring : "";
		bool mismatch = strcmp(t, "TypeMismatch") == 0;
		bool all_prio = mismatch && names_key(m, "eventPriorities");
		for (size_t i = 0; i < d->n_rows; i++) {
			struct secconfig_drift_row *row = &d->rows[i];
			bool hit = strcmp(row->key, n) == 0 || (mismatch && names_key(m, row->key)) ||
				   (all_prio && strncmp(row->key, "eventPriority", 13) == 0);
			if (!hit)
				continue;
			if (mismatch)
				rejected[i] = true;
			if (row->agent_error)
				continue;
			size_t len = strlen(t) + strlen(m) + 3;
			row->agent_error = malloc(len);
			if (!row->agent_error)
				return SH_E_NOMEM;
			snprintf(row->agent_error, len, "%s: %s", t, m);
		}
	}
	return SH_OK;
}

/* Does the reported object carry `key` at all (a null or malformed entry counts: the agent
 * knows the field)? */
static bool reported_has(const cJSON *robj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(robj, key) != NULL;
}

sh_rc secconfig_drift(const cJSON *desired, const cJSON *reported, const cJSON *config_errors,
		      struct secconfig_drift *out)
{
	memset(out, 0, sizeof(*out));
	const cJSON *dobj = config_object(desired), *robj = config_object(reported);
	size_t cap = 0;
	bool *rejected = NULL;
	sh_rc rc = SH_OK;
	out->reported_present = robj != NULL;
	for (size_t i = 0; i < NELEM(fields) && rc == SH_OK; i++)
		rc = add_row(out, &cap, fields[i].key, &fields[i]);
	const cJSON *sides[2] = { dobj, robj };
	for (int s = 0; s < 2 && rc == SH_OK; s++) {
		for (const cJSON *e = sides[s] ? sides[s]->child : NULL; e && rc == SH_OK; e = e->next) {
			if (!e->string || e->string[0] == '$' || secconfig_field_find(e->string))
				continue;
			bool dup = false;
			for (size_t i = NELEM(fields); i < out->n_rows && !dup; i++)
				dup = strcmp(out->rows[i].key, e->string) == 0;
			if (!dup)
				rc = add_row(out, &cap, e->string, NULL);
		}
	}
	for (size_t i = 0; i < out->n_rows && rc == SH_OK; i++)
		rc = fill_row(&out->rows[i], dobj, robj);
	if (rc == SH_OK) {
		out->errors = cJSON_IsArray(config_errors) ? cJSON_Duplicate(config_errors, 1)
							   : cJSON_CreateArray();
		rejected = calloc(out->n_rows ? out->n_rows : 1, sizeof(bool));
		if (!out->errors || !rejected)
			rc = SH_E_NOMEM;
	}
	if (rc == SH_OK)
		rc = apply_errors(out, config_errors, rejected);
	if (rc != SH_OK) {
		free(rejected);
		return rc;
	}
	out->applied = out->reported_present;
	for (size_t i = 0; i < out->n_rows; i++) {
		struct secconfig_drift_row *row = &out->rows[i];
		if (!row->field)
			row->state = SECCONFIG_UNKNOWN_FIELD;
		else if (!row->desired)
			row->state = SECCONFIG_DEFAULT;
		else if (rejected[i])
			row->state = SECCONFIG_REJECTED;
		else if (row->reported && same_value(row->field, row->desired, row->reported))
			row->state = SECCONFIG_APPLIED;
		else if (!row->reported && out->reported_present && row->field->some_agents_only &&
			 !reported_has(robj, row->key))
			row->state = SECCONFIG_NOT_REPORTED;
		else
			row->state = SECCONFIG_PENDING;
		if (row->state == SECCONFIG_PENDING || row->state == SECCONFIG_REJECTED)
			out->applied = false;
	}
	free(rejected);
	return SH_OK;
}

void secconfig_drift_free(struct secconfig_drift *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_rows; i++) {
		free(d->rows[i].key);
		cJSON_Delete(d->rows[i].desired);
		cJSON_Delete(d->rows[i].reported);
		free(d->rows[i].desired_error);
		free(d->rows[i].agent_error);
	}
	free(d->rows);
	cJSON_Delete(d->errors);
	memset(d, 0, sizeof(*d));
}

static bool add_copy(cJSON *o, const char *key, const cJSON *v)
{
	cJSON *c = v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
	if (!c)
		return false;
	if (!cJSON_AddItemToObject(o, key, c)) {
		cJSON_Delete(c);
		return false;
	}
	return true;
}

static bool add_text(cJSON *o, const char *key, const char *v)
{
	return v ? cJSON_AddStringToObject(o, key, v) != NULL : cJSON_AddNullToObject(o, key) != NULL;
}

cJSON *secconfig_drift_json(const struct secconfig_drift *d)
{
	cJSON *o = cJSON_CreateObject(), *arr = NULL;
	if (!o || !cJSON_AddBoolToObject(o, "applied", d->applied) ||
	    !cJSON_AddBoolToObject(o, "reportedPresent", d->reported_present) ||
	    !(arr = cJSON_AddArrayToObject(o, "fields")))
		goto fail;
	for (size_t i = 0; i < d->n_rows; i++) {
		const struct secconfig_drift_row *r = &d->rows[i];
		cJSON *row = cJSON_CreateObject(), *def = NULL;
		if (!row)
			goto fail;
		cJSON_AddItemToArray(arr, row);
		if (r->field && r->field->default_json && !(def = cJSON_Parse(r->field->default_json)))
			goto fail;
		bool ok = add_text(row, "field", r->key) &&
			  add_text(row, "state", secconfig_state_str(r->state)) &&
			  add_copy(row, "desired", r->desired) && add_copy(row, "reported", r->reported) &&
			  add_copy(row, "default", def) && add_text(row, "desiredError", r->desired_error) &&
			  add_text(row, "agentError", r->agent_error);
		cJSON_Delete(def);
		if (!ok)
			goto fail;
	}
	if (!add_copy(o, "errors", d->errors))
		goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

int64_t secconfig_high_priority_ms(const cJSON *desired, const cJSON *reported)
{
	const cJSON *objs[2] = { config_object(reported), config_object(desired) };
	for (int i = 0; i < 2; i++) {
		const cJSON *w = objs[i] ? cJSON_GetObjectItemCaseSensitive(objs[i], "highPriorityMessageFrequency")
					 : NULL;
		const cJSON *v = cJSON_IsObject(w) ? cJSON_GetObjectItemCaseSensitive(w, "value") : w;
		int64_t ms;
		if (cJSON_IsString(v) && secconfig_duration_parse(v->valuestring, &ms) == SH_OK && ms > 0)
			return ms;
	}
	return 7 * 60 * 1000;
}
