/*
 * secrules.c: built-in security alerts over normalised event rows (security-agent.md §5), and
 * their thresholds from hub settings. Pure: time is an argument, no I/O, no globals; it only
 * allocates the alerts it returns. It never decides where alerts go.
 *
 * The docs name the alerts and recommendations and their severities but give no trigger
 * conditions; every threshold here is simhub's choice and is listed in docs/differences.md
 * ("Security alerts"). Each rule reads only the fields of its event's schema, as secmsg
 * normalised them (ports as strings, Result spelled as the schema), and ignores items it cannot
 * read, so a rule never fails on a tolerated or invalid event: it just sees less.
 */
#include "core/secrules.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secconfig.h"

#define US_PER_S 1000000LL

void secrules_thresholds_default(struct secrules_thresholds *t)
{
	memset(t, 0, sizeof(*t));
	t->brute_force_enabled = true;
	t->brute_force_failures = 5;
	t->brute_force_window_us = 10 * 60 * US_PER_S;
	t->open_ports_enabled = true;
	t->open_ports_allowed[0] = 22;
	t->n_open_ports_allowed = 1;
	t->open_ports_all_interfaces_only = true;
	t->firewall_enabled = true;
	t->baseline_enabled = true;
	t->baseline_min_severity = 1;
	t->agent_silent_enabled = true;
	t->agent_silent_multiple = 3;
	t->dropped_events_enabled = true;
	t->dropped_events_min = 1;
}

/* ---- settings ---- */

/* Whole decimal number, digits only, within [lo, hi]. */
static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	int64_t v = 0;
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (*s - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	if (s && strcmp(s, "true") == 0)
		*out = true;
	else if (s && strcmp(s, "false") == 0)
		*out = false;
	else
		return false;
	return true;
}

static const char *const severities[] = { "Informational", "Warning", "Important", "Critical" };

static int severity_rank(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, severities[i]) == 0)
			return i;
	return -1;
}

/* "22,443" -> ports; "" -> none. */
static bool parse_ports(const char *s, uint16_t *ports, size_t *n)
{
	size_t k = 0;
	if (!s)
		return false;
	while (*s) {
		char buf[8];
		size_t len = strcspn(s, ",");
		int64_t v;
		if (len == 0 || len >= sizeof(buf) || k == SECRULES_MAX_PORTS)
			return false;
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (!parse_int(buf, 0, 65535, &v))
			return false;
		ports[k++] = (uint16_t)v;
		s += len;
		if (*s == ',' && *++s == '\0')
			return false;
	}
	*n = k;
	return true;
}

sh_rc secrules_thresholds_set(struct secrules_thresholds *t, const char *key, const char *value)
{
	static const char prefix[] = "security.alerts.";
	struct secrules_thresholds n = *t;
	int64_t v = 0;
	if (!key || strncmp(key, prefix, sizeof(prefix) - 1) != 0)
		return SH_E_NOTFOUND;
	const char *k = key + sizeof(prefix) - 1;
	bool ok;
	if (strcmp(k, "bruteForce.enabled") == 0)
		ok = parse_bool(value, &n.brute_force_enabled);
	else if (strcmp(k, "openPorts.enabled") == 0)
		ok = parse_bool(value, &n.open_ports_enabled);
	else if (strcmp(k, "permissiveFirewall.enabled") == 0)
		ok = parse_bool(value, &n.firewall_enabled);
	else if (strcmp(k, "osBaseline.enabled") == 0)
		ok = parse_bool(value, &n.baseline_enabled);
	else if (strcmp(k, "agentSilent.enabled") == 0)
		ok = parse_bool(value, &n.agent_silent_enabled);
	else if (strcmp(k, "droppedEvents.enabled") == 0)
		ok = parse_bool(value, &n.dropped_events_enabled);
	else if (strcmp(k, "bruteForce.failures") == 0) {
		ok = parse_int(value, 1, 100000, &v);
		n.brute_force_failures = (int)v;
	} else if (strcmp(k, "bruteForce.window") == 0) {
		int64_t ms = 0;
		if (parse_int(value, 1, INT64_MAX / US_PER_S, &v)) {
			ok = true;
			n.brute_force_window_us = v * US_PER_S;
		} else {
			ok = value && secconfig_duration_parse(value, &ms) == SH_OK && ms > 0 &&
			     ms <= INT64_MAX / 1000;
			n.brute_force_window_us = ms * 1000;
		}
	} else if (strcmp(k, "openPorts.allowed") == 0) {
		ok = parse_ports(value, n.open_ports_allowed, &n.n_open_ports_allowed);
	} else if (strcmp(k, "openPorts.allInterfacesOnly") == 0) {
		ok = parse_bool(value, &n.open_ports_all_interfaces_only);
	} else if (strcmp(k, "osBaseline.minSeverity") == 0) {
		n.baseline_min_severity = value ? severity_rank(value) : -1;
		ok = n.baseline_min_severity >= 0;
	} else if (strcmp(k, "agentSilent.multiple") == 0) {
		ok = parse_int(value, 1, 1000, &v);
		n.agent_silent_multiple = (int)v;
	} else if (strcmp(k, "droppedEvents.min") == 0) {
		ok = parse_int(value, 1, 2147483648LL, &v);
		n.dropped_events_min = v;
	} else {
		return SH_E_NOTFOUND;
	}
	if (!ok)
		return SH_E_INVALID;
	*t = n;
	return SH_OK;
}

sh_rc secrules_thresholds_from_settings(struct secrules_thresholds *t, const char *const *keys,
					const char *const *values, size_t n, const char **bad_key)
{
	secrules_thresholds_default(t);
	for (size_t i = 0; i < n; i++) {
		if (!keys[i] || strncmp(keys[i], "security.alerts.", 16) != 0)
			continue;
		sh_rc rc = secrules_thresholds_set(t, keys[i], values[i]);
		if (rc != SH_OK) {
			if (bad_key)
				*bad_key = keys[i];
			return rc;
		}
	}
	return SH_OK;
}

/* ---- alerts ---- */

static char *dup_text(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

static void alert_clear(struct secrules_alert *a)
{
	free(a->device_id);
	free(a->module_id);
	for (size_t i = 0; i < a->n_evidence; i++)
		free(a->evidence[i]);
	free(a->evidence);
	free(a->description);
}

void secrules_alerts_free(struct secrules_alerts *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		alert_clear(&a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* Add `id` to the alert's evidence unless it is there already. */
static bool add_evidence(struct secrules_alert *a, const char *id)
{
	if (!id)
		return true;
	for (size_t i = 0; i < a->n_evidence; i++)
		if (strcmp(a->evidence[i], id) == 0)
			return true;
	char **v = realloc(a->evidence, (a->n_evidence + 1) * sizeof(*v));
	if (!v)
		return false;
	a->evidence = v;
	if (!(v[a->n_evidence] = dup_text(id)))
		return false;
	a->n_evidence++;
	return true;
}

/*
 * Append an alert for the device of `ev` with a printf-style description. The alert is only
 * counted once every part is allocated, so a failure leaves `out` as it was.
 */
static sh_rc push_alert(struct secrules_alerts *out, const char *rule, const char *severity,
			const char *device_id, const char *module_id, int64_t time_us,
			const char *const *evidence, size_t n_evidence, const char *fmt, ...)
	__attribute__((format(printf, 9, 10)));
static sh_rc push_alert(struct secrules_alerts *out, const char *rule, const char *severity,
			const char *device_id, const char *module_id, int64_t time_us,
			const char *const *evidence, size_t n_evidence, const char *fmt, ...)
{
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 4;
		struct secrules_alert *v = realloc(out->v, cap * sizeof(*v));
		if (!v)
			return SH_E_NOMEM;
		out->v = v;
		out->cap = cap;
	}
	struct secrules_alert *a = &out->v[out->n];
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memset(a, 0, sizeof(*a));
	a->rule = rule;
	a->severity = severity;
	a->time_us = time_us;
	a->device_id = dup_text(device_id ? device_id : "");
	a->module_id = module_id && *module_id ? dup_text(module_id) : NULL;
	a->description = dup_text(text);
	bool ok = a->device_id && a->description && (!module_id || !*module_id || a->module_id);
	for (size_t i = 0; ok && i < n_evidence; i++)
		ok = add_evidence(a, evidence[i]);
	if (!ok) {
		alert_clear(a);
		return SH_E_NOMEM;
	}
	out->n++;
	return SH_OK;
}

static const char *item_str(const cJSON *item, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool ascii_caseeq(const char *a, const char *b)
{
	if (!a || !b)
		return false;
	for (; *a && *b; a++, b++) {
		int x = (*a >= 'A' && *a <= 'Z') ? *a + 32 : *a, y = (*b >= 'A' && *b <= 'Z') ? *b + 32 : *b;
		if (x != y)
			return false;
	}
	return *a == *b;
}

static bool named(const struct secrules_event *e, const char *name)
{
	return e->name && strcmp(e->name, name) == 0 && cJSON_IsArray(e->payload);
}

/* ---- brute force ---- */

struct login {
	char *group;  /* device \x1f address \x1f user */
	int64_t t;
	size_t order; /* position among all items, to keep sorting stable */
	bool success;
	const struct secrules_event *ev;
	const char *address, *user;
};

static int login_cmp(const void *a, const void *b)
{
	const struct login *x = a, *y = b;
	int c = strcmp(x->group, y->group);
	if (c)
		return c;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * One group's logins, sorted chronologically, l[0..n): find the first run of `failures` failures
 * within the window, widen it to every failure within the window of its first one, then look
 * for a success after the run's threshold-reaching failure and within the window of its last.
 * A run already complete with stored (earlier) failures raises nothing again, unless a new
 * success follows it.
 */
static sh_rc brute_group(const struct login *l, size_t n, const struct secrules_thresholds *t,
			 struct secrules_alerts *out)
{
	size_t nf = 0;
	const struct login **f = malloc((n ? n : 1) * sizeof(*f));
	if (!f)
		return SH_E_NOMEM;
	for (size_t i = 0; i < n; i++)
		if (!l[i].success)
			f[nf++] = &l[i];
	size_t need = (size_t)t->brute_force_failures, start = nf;
	for (size_t i = 0; i + need <= nf; i++) {
		if (f[i + need - 1]->t - f[i]->t <= t->brute_force_window_us) {
			start = i;
			break;
		}
	}
	sh_rc rc = SH_OK;
	if (start == nf) {
		free(f);
		return SH_OK;
	}
	size_t end = start + need; /* one past the run */
	while (end < nf && f[end]->t - f[start]->t <= t->brute_force_window_us)
		end++;
	const struct login *success = NULL;
	for (size_t i = 0; i < n && !success; i++)
		if (l[i].success && l[i].t >= f[start + need - 1]->t &&
		    l[i].t - f[end - 1]->t <= t->brute_force_window_us)
			success = &l[i];
	/* Failures seen in earlier messages that reach the threshold by themselves: the alert
	 * went out with them. Only a new success can still add the High one. */
	size_t stored = 0;
	for (size_t i = start; i < end; i++)
		stored += f[i]->ev->stored;
	if (stored >= need && (!success || success->ev->stored)) {
		free(f);
		return SH_OK;
	}
	const char **ids = malloc((end - start + 1) * sizeof(*ids));
	if (!ids) {
		free(f);
		return SH_E_NOMEM;
	}
	size_t k = 0;
	for (size_t i = start; i < end; i++)
		ids[k++] = f[i]->ev->event_id;
	const struct login *last = f[end - 1];
	const char *addr = last->address ? last->address : "the local host";
	if (success) {
		ids[k++] = success->ev->event_id;
		rc = push_alert(out, "bruteForceSuccess", "High", last->ev->device_id,
				last->ev->module_id, success->t, ids, k,
				"%zu failed logins for user '%s' from %s followed by a successful login",
				end - start, last->user, addr);
	} else {
		rc = push_alert(out, "bruteForce", "Low", last->ev->device_id, last->ev->module_id,
				last->t, ids, k, "%zu failed logins for user '%s' from %s within %lld s",
				end - start, last->user, addr,
				(long long)(t->brute_force_window_us / US_PER_S));
	}
	free(ids);
	free(f);
	return rc;
}

sh_rc secrules_brute_force(const struct secrules_event *ev, size_t n,
			   const struct secrules_thresholds *t, struct secrules_alerts *out)
{
	size_t count = 0, cap = 0;
	struct login *l = NULL;
	sh_rc rc = SH_OK;
	for (size_t i = 0; i < n && rc == SH_OK; i++) {
		if (!named(&ev[i], "Login"))
			continue;
		for (const cJSON *it = ev[i].payload->child; it && rc == SH_OK; it = it->next) {
			const char *result = item_str(it, "Result");
			bool fail = ascii_caseeq(result, "Fail"), ok = ascii_caseeq(result, "Success");
			const char *user = item_str(it, "UserName");
			if (!user)
				user = item_str(it, "UserId");
			if ((!fail && !ok) || !user)
				continue;
			const char *addr = item_str(it, "RemoteAddress");
			const char *dev = ev[i].device_id ? ev[i].device_id : "";
			size_t len = strlen(dev) + (addr ? strlen(addr) : 0) + strlen(user) + 4;
			if (count == cap) {
				size_t nc = cap ? cap * 2 : 16;
				struct login *nl = realloc(l, nc * sizeof(*nl));
				if (!nl) {
					rc = SH_E_NOMEM;
					break;
				}
				l = nl;
				cap = nc;
			}
			char *g = malloc(len);
			if (!g) {
				rc = SH_E_NOMEM;
				break;
			}
			snprintf(g, len, "%s\x1f%s\x1f%s", dev, addr ? addr : "", user);
			l[count] = (struct login){ g, ev[i].time_us, count, ok, &ev[i], addr, user };
			count++;
		}
	}
	if (rc == SH_OK && count)
		qsort(l, count, sizeof(*l), login_cmp);
	for (size_t i = 0; i < count && rc == SH_OK;) {
		size_t j = i;
		while (j < count && strcmp(l[j].group, l[i].group) == 0)
			j++;
		rc = brute_group(l + i, j - i, t, out);
		i = j;
	}
	for (size_t i = 0; i < count; i++)
		free(l[i].group);
	free(l);
	return rc;
}

/* ---- open ports ---- */

static bool port_allowed(const struct secrules_thresholds *t, long p)
{
	for (size_t i = 0; i < t->n_open_ports_allowed; i++)
		if (t->open_ports_allowed[i] == p)
			return true;
	return false;
}

/*
 * Does the port text ("22", "1000-1002", "22,53", "*") include a port outside the allowed
 * list? Text that is not a port list counts as exposed.
 */
static bool port_exposed(const struct secrules_thresholds *t, const char *s)
{
	while (*s) {
		char *end;
		if (*s < '0' || *s > '9')
			return true;
		long a = strtol(s, &end, 10), b = a;
		if (*end == '-') {
			if (end[1] < '0' || end[1] > '9')
				return true;
			b = strtol(end + 1, &end, 10);
		}
		if (a > 65535 || b > 65535 || b < a || (*end && *end != ','))
			return true;
		if ((size_t)(b - a) >= t->n_open_ports_allowed)
			return true; /* more ports than the allowed list holds */
		for (long p = a; p <= b; p++)
			if (!port_allowed(t, p))
				return true;
		if (*end == ',' && end[1] == '\0')
			return true; /* "80," is not a port list */
		s = *end ? end + 1 : end;
	}
	return false;
}

static bool any_address(const char *a)
{
	return !a || !*a || strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0 || strcmp(a, "*") == 0 ||
	       strcmp(a, "0:0:0:0:0:0:0:0") == 0;
}

sh_rc secrules_open_ports(const struct secrules_event *ev, size_t n,
			  const struct secrules_thresholds *t, struct secrules_alerts *out)
{
	for (size_t i = 0; i < n; i++) {
		if (!named(&ev[i], "ListeningPorts"))
			continue;
		char list[256] = "";
		size_t used = 0, exposed = 0;
		for (const cJSON *it = ev[i].payload->child; it; it = it->next) {
			const char *port = item_str(it, "LocalPort"), *proto = item_str(it, "Protocol");
			if (!port)
				continue;
			if (t->open_ports_all_interfaces_only && !any_address(item_str(it, "LocalAddress")))
				continue;
			if (!port_exposed(t, port))
				continue;
			if (exposed++ < 8 && used < sizeof(list)) {
				int w = snprintf(list + used, sizeof(list) - used, "%s%.16s %.16s",
						 used ? ", " : "", proto ? proto : "?", port);
				used += w > 0 ? (size_t)w : 0;
			}
		}
		if (!exposed)
			continue;
		sh_rc rc = push_alert(out, "openPorts", "Medium", ev[i].device_id, ev[i].module_id,
				      ev[i].time_us, &ev[i].event_id, 1,
				      "%zu listening port(s) outside the allowed list: %s%s", exposed,
				      list, exposed > 8 ? ", ..." : "");
		if (rc != SH_OK)
			return rc;
	}
	return SH_OK;
}

/* ---- permissive firewall ---- */

static bool wild(const char *v, const char *const *words)
{
	if (!v || !*v)
		return true;
	for (size_t i = 0; words[i]; i++)
		if (ascii_caseeq(v, words[i]))
			return true;
	return false;
}

static const char *const any_addr[] = { "*", "any", "0.0.0.0/0", "::/0", "0.0.0.0", "::", NULL };
static const char *const any_port[] = { "*", "any", "0-65535", "1-65535", NULL };
static const char *const any_proto[] = { "*", "any", "all", "ip", NULL };

sh_rc secrules_permissive_firewall(const struct secrules_event *ev, size_t n,
				   const struct secrules_thresholds *t, struct secrules_alerts *out)
{
	(void)t;
	for (size_t i = 0; i < n; i++) {
		if (!named(&ev[i], "FirewallConfiguration"))
			continue;
		size_t hits = 0;
		const char *chain = NULL, *dir = NULL;
		for (const cJSON *it = ev[i].payload->child; it; it = it->next) {
			if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "Enabled")) ||
			    !ascii_caseeq(item_str(it, "Action"), "Allow"))
				continue;
			if (!wild(item_str(it, "SourceAddress"), any_addr) ||
			    !wild(item_str(it, "DestinationAddress"), any_addr) ||
			    !wild(item_str(it, "SourcePort"), any_port) ||
			    !wild(item_str(it, "DestinationPort"), any_port) ||
			    !wild(item_str(it, "Protocol"), any_proto))
				continue;
			if (hits++ == 0) {
				chain = item_str(it, "ChainName");
				dir = item_str(it, "Direction");
			}
		}
		if (!hits)
			continue;
		sh_rc rc = push_alert(out, "permissiveFirewall", "Medium", ev[i].device_id,
				      ev[i].module_id, ev[i].time_us, &ev[i].event_id, 1,
				      "%zu firewall rule(s) or policies allow all traffic (first: chain "
				      "%.32s, direction %.8s)", hits, chain ? chain : "?", dir ? dir : "?");
		if (rc != SH_OK)
			return rc;
	}
	return SH_OK;
}

/* ---- OS baseline ---- */

sh_rc secrules_os_baseline(const struct secrules_event *ev, size_t n,
			   const struct secrules_thresholds *t, struct secrules_alerts *out)
{
	for (size_t i = 0; i < n; i++) {
		if (!named(&ev[i], "OSBaseline"))
			continue;
		size_t by[4] = {0}, total = 0, used = 0;
		char ids[160] = "";
		for (const cJSON *it = ev[i].payload->child; it; it = it->next) {
			const char *sev = item_str(it, "Severity"), *cce = item_str(it, "CceId");
			int rank = sev ? severity_rank(sev) : -1;
			if (!ascii_caseeq(item_str(it, "Result"), "Fail") || rank < t->baseline_min_severity)
				continue;
			by[rank]++;
			if (total++ < 5 && cce && used < sizeof(ids)) {
				int w = snprintf(ids + used, sizeof(ids) - used, "%s%.24s", used ? ", " : "", cce);
				used += w > 0 ? (size_t)w : 0;
			}
		}
		if (!total)
			continue;
		sh_rc rc = push_alert(out, "osBaseline", "Medium", ev[i].device_id, ev[i].module_id,
				      ev[i].time_us, &ev[i].event_id, 1,
				      "%zu failed OS baseline check(s) (Critical %zu, Important %zu, "
				      "Warning %zu, Informational %zu): %s%s", total, by[3], by[2],
				      by[1], by[0], ids, total > 5 ? ", ..." : "");
		if (rc != SH_OK)
			return rc;
	}
	return SH_OK;
}

/* ---- dropped events ---- */

sh_rc secrules_dropped_events(const struct secrules_event *ev, size_t n,
			      const struct secrules_thresholds *t, struct secrules_alerts *out)
{
	for (size_t i = 0; i < n; i++) {
		if (!named(&ev[i], "DroppedEventsStatistics"))
			continue;
		double dropped = 0, collected = 0;
		bool hit = false;
		for (const cJSON *it = ev[i].payload->child; it; it = it->next) {
			const cJSON *d = cJSON_GetObjectItemCaseSensitive(it, "DroppedEvents");
			const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "CollectedEvents");
			if (!cJSON_IsNumber(d))
				continue;
			dropped += d->valuedouble;
			collected += cJSON_IsNumber(c) ? c->valuedouble : 0;
			if (d->valuedouble >= (double)t->dropped_events_min)
				hit = true;
		}
		if (!hit)
			continue;
		sh_rc rc = push_alert(out, "droppedEvents", "Low", ev[i].device_id, ev[i].module_id,
				      ev[i].time_us, &ev[i].event_id, 1,
				      "the agent dropped %.0f of %.0f collected events (local cache full)",
				      dropped, collected);
		if (rc != SH_OK)
			return rc;
	}
	return SH_OK;
}

/* ---- agent silent ---- */

sh_rc secrules_agent_silent(const char *device_id, const char *module_id, int64_t last_message_us,
			    int64_t now_us, int64_t high_priority_us,
			    const struct secrules_thresholds *t, struct secrules_alerts *out)
{
	if (!t->agent_silent_enabled || last_message_us <= 0 || high_priority_us <= 0)
		return SH_OK;
	int64_t limit = high_priority_us > INT64_MAX / t->agent_silent_multiple
				? INT64_MAX
				: high_priority_us * t->agent_silent_multiple;
	if (now_us <= last_message_us || now_us - last_message_us <= limit)
		return SH_OK;
	return push_alert(out, "agentSilent", "Low", device_id, module_id, now_us, NULL, 0,
			  "no security message for %lld s (limit %d x the %lld s high-priority "
			  "frequency)", (long long)((now_us - last_message_us) / US_PER_S),
			  t->agent_silent_multiple, (long long)(high_priority_us / US_PER_S));
}

bool secrules_reads_payload(const char *name)
{
	static const char *const names[] = { "Login", "ListeningPorts", "FirewallConfiguration",
					     "OSBaseline", "DroppedEventsStatistics" };
	for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

int64_t secrules_login_failures(const cJSON *payload)
{
	int64_t n = 0;
	if (!cJSON_IsArray(payload))
		return 0;
	for (const cJSON *it = payload->child; it; it = it->next)
		if (ascii_caseeq(item_str(it, "Result"), "Fail"))
			n++;
	return n;
}

sh_rc secrules_evaluate(const struct secrules_event *ev, size_t n,
			const struct secrules_thresholds *t, struct secrules_alerts *out)
{
	sh_rc rc = SH_OK;
	if (rc == SH_OK && t->brute_force_enabled)
		rc = secrules_brute_force(ev, n, t, out);
	if (rc == SH_OK && t->open_ports_enabled)
		rc = secrules_open_ports(ev, n, t, out);
	if (rc == SH_OK && t->firewall_enabled)
		rc = secrules_permissive_firewall(ev, n, t, out);
	if (rc == SH_OK && t->baseline_enabled)
		rc = secrules_os_baseline(ev, n, t, out);
	if (rc == SH_OK && t->dropped_events_enabled)
		rc = secrules_dropped_events(ev, n, t, out);
	return rc;
}

cJSON *secrules_alert_json(const struct secrules_alert *a)
{
	cJSON *o = cJSON_CreateObject(), *ev = NULL;
	if (!o || !cJSON_AddStringToObject(o, "rule", a->rule) ||
	    !cJSON_AddStringToObject(o, "severity", a->severity) ||
	    !cJSON_AddNumberToObject(o, "timeUs", (double)a->time_us) ||
	    !cJSON_AddStringToObject(o, "deviceId", a->device_id) ||
	    !(a->module_id ? cJSON_AddStringToObject(o, "moduleId", a->module_id)
			   : cJSON_AddNullToObject(o, "moduleId")) ||
	    !(ev = cJSON_AddArrayToObject(o, "evidence")))
		goto fail;
	for (size_t i = 0; i < a->n_evidence; i++) {
		cJSON *s = cJSON_CreateString(a->evidence[i]);
		if (!s)
			goto fail;
		cJSON_AddItemToArray(ev, s);
	}
	if (!cJSON_AddStringToObject(o, "description", a->description))
		goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}
