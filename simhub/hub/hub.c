/*
 * hub.c: the hub object: opening over a store, the operation bracket (savepoint within the
 * group-commit batch), hub settings and shared access policies. Knows no SQL and no sockets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "hub/hub_internal.h"

/* The five policies every IoT Hub starts with (iothub-protocol.md §1.2). */
static const struct {
	const char *name;
	unsigned rights;
} default_policies[] = {
	{"iothubowner", SH_RIGHT_REGISTRY_READ | SH_RIGHT_REGISTRY_WRITE | SH_RIGHT_SERVICE_CONNECT |
				SH_RIGHT_DEVICE_CONNECT},
	{"service", SH_RIGHT_SERVICE_CONNECT},
	{"device", SH_RIGHT_DEVICE_CONNECT},
	{"registryRead", SH_RIGHT_REGISTRY_READ},
	{"registryReadWrite", SH_RIGHT_REGISTRY_READ | SH_RIGHT_REGISTRY_WRITE},
};

sh_rc hub_store_failed(struct sh_hub *hub, sh_rc rc, struct iothub_err *err)
{
	iothub_err_set(err, IOTHUB_SERVER_ERROR, "store: %s", store_errmsg(hub->st));
	return rc == SH_OK ? SH_E_IO : rc;
}

sh_rc hub_op_begin(struct sh_hub *hub, struct iothub_err *err)
{
	sh_rc rc;
	int opened = 0;
	if (store_batch_depth(hub->st) == 0) {
		rc = store_batch_begin(hub->st);
		if (rc != SH_OK)
			return hub_store_failed(hub, rc, err);
		opened = 1;
	}
	rc = store_op_begin(hub->st);
	if (rc != SH_OK) {
		if (opened)
			store_batch_commit(hub->st);
		return hub_store_failed(hub, rc, err);
	}
	/* Nested hub ops (fixtures applying identities) keep the outermost owner. */
	if (opened)
		hub->own_batch++;
	else if (hub->own_batch)
		hub->own_batch++;
	hub_events_op_begin(hub);
	return SH_OK;
}

sh_rc hub_op_end(struct sh_hub *hub, sh_rc rc, struct iothub_err *err)
{
	sh_rc src = store_op_end(hub->st, rc == SH_OK);
	if (src != SH_OK && rc == SH_OK)
		rc = hub_store_failed(hub, src, err);
	if (hub->own_batch > 0 && --hub->own_batch == 0) {
		src = store_batch_commit(hub->st);
		if (src != SH_OK && rc == SH_OK)
			rc = hub_store_failed(hub, src, err);
	}
	hub_events_op_end(hub, rc == SH_OK);
	return rc;
}

void hub_random_key(struct sh_hub *hub, char out[SH_KEY_MAX + 1])
{
	uint8_t raw[32];
	hub->env.random(hub->env.ctx, raw, sizeof raw);
	base64_encode(raw, sizeof raw, out, SH_KEY_MAX + 1, NULL);
}

sh_rc hub_check_key(const char *key, const char *what, int empty_ok, struct iothub_err *err)
{
	size_t len = strlen(key);
	if (len == 0 && empty_ok)
		return SH_OK;
	uint8_t raw[SH_KEY_MAX];
	size_t n = 0;
	if (len > SH_KEY_MAX || base64_decode(key, len, raw, sizeof raw, &n) != SH_OK || n < 16 ||
	    n > 64) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID,
			       "%s must be base64 of 16 to 64 bytes", what);
		return SH_E_INVALID;
	}
	return SH_OK;
}

/*
 * If-Match as the SDKs send it: quoted ("\"*\"", "\"MQ==\""), maybe with a W/ prefix.
 * NULL, empty, * and "*" match anything; otherwise the unquoted text must equal `etag`.
 */
int hub_etag_matches(const char *if_match, const char *etag)
{
	if (!if_match || !if_match[0])
		return 1;
	const char *s = if_match;
	if (strncmp(s, "W/", 2) == 0)
		s += 2;
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++;
		n -= 2;
	}
	if (n == 1 && s[0] == '*')
		return 1;
	return strlen(etag) == n && memcmp(s, etag, n) == 0;
}

static sh_rc load_hostname(struct sh_hub *hub)
{
	char *v = NULL;
	sh_rc rc = store_setting_get(hub->st, HUB_SETTING_HOSTNAME, &v);
	if (rc == SH_E_NOTFOUND) {
		snprintf(hub->hostname, sizeof hub->hostname, "%s", HUB_DEFAULT_HOSTNAME);
		return SH_OK;
	}
	if (rc != SH_OK)
		return rc;
	snprintf(hub->hostname, sizeof hub->hostname, "%s", v);
	free(v);
	return SH_OK;
}

/* Create whichever default policies are missing, each with fresh random keys. */
static sh_rc ensure_default_policies(struct sh_hub *hub)
{
	for (size_t i = 0; i < sizeof default_policies / sizeof default_policies[0]; i++) {
		struct sh_policy p;
		sh_rc rc = store_policy_get(hub->st, default_policies[i].name, &p);
		if (rc == SH_OK)
			continue;
		if (rc != SH_E_NOTFOUND)
			return rc;
		memset(&p, 0, sizeof p);
		snprintf(p.name, sizeof p.name, "%s", default_policies[i].name);
		p.rights = default_policies[i].rights;
		hub_random_key(hub, p.primary_key);
		hub_random_key(hub, p.secondary_key);
		rc = store_policy_put(hub->st, &p);
		if (rc != SH_OK)
			return rc;
	}
	return SH_OK;
}

sh_rc hub_open(struct sh_store *st, const struct sh_hub_env *env, struct sh_hub **out,
	       struct iothub_err *err)
{
	*out = NULL;
	struct sh_hub *hub = calloc(1, sizeof *hub);
	if (!hub) {
		iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
		return SH_E_NOMEM;
	}
	hub->st = st;
	hub->env = *env;
	hub->after_tail = &hub->after;
	hub->pending_tail = &hub->pending;
	hub->ready_tail = &hub->ready;
	sh_rc rc = hub_op_begin(hub, err);
	if (rc == SH_OK) {
		rc = ensure_default_policies(hub);
		if (rc == SH_OK)
			rc = load_hostname(hub);
		if (rc != SH_OK)
			hub_store_failed(hub, rc, err);
		rc = hub_op_end(hub, rc, err);
	}
	if (rc != SH_OK) {
		free(hub);
		return rc;
	}
	*out = hub;
	return SH_OK;
}

void hub_close(struct sh_hub *hub)
{
	if (!hub)
		return;
	if (hub->held)
		hub_batch_release(hub);
	hub_events_free(hub);
	while (hub->after) {
		struct after_commit *a = hub->after;
		hub->after = a->next;
		free(a);
	}
	free(hub);
}

struct sh_store *hub_store(struct sh_hub *hub)
{
	return hub->st;
}

void hub_set_notify(struct sh_hub *hub, const struct sh_hub_notify *notify)
{
	if (notify)
		hub->notify = *notify;
	else
		memset(&hub->notify, 0, sizeof hub->notify);
}

int64_t hub_now_us(const struct sh_hub *hub)
{
	return hub->env.now_us(hub->env.ctx);
}

const char *hub_hostname(const struct sh_hub *hub)
{
	return hub->hostname;
}

/*
 * A host name as it may appear in HostName= and in a SAS scope: 1 to 253 characters of
 * letters, digits, '-', '.' and ':' (an IPv6 literal or a port is not a host name, but ':'
 * lets "[::1]" style gateways through harmlessly); no ';' or '=' which would break
 * connection strings.
 */
static int valid_hostname(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == ':' || c == '[' || c == ']'))
			return 0;
	}
	return 1;
}

sh_rc hub_set_hostname(struct sh_hub *hub, const char *hostname, struct iothub_err *err)
{
	if (!valid_hostname(hostname)) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID,
			       "hostname '%s' must be 1-253 letters, digits, '-' and '.'", hostname);
		return SH_E_INVALID;
	}
	sh_rc rc = hub_set_setting(hub, HUB_SETTING_HOSTNAME, hostname, err);
	if (rc == SH_OK)
		snprintf(hub->hostname, sizeof hub->hostname, "%s", hostname);
	return rc;
}

bool hub_setting_bool(struct sh_hub *hub, const char *key, bool fallback)
{
	char *v = NULL;
	if (store_setting_get(hub->st, key, &v) != SH_OK)
		return fallback;
	bool r = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
	free(v);
	return r;
}

sh_rc hub_set_setting(struct sh_hub *hub, const char *key, const char *value, struct iothub_err *err)
{
	sh_rc rc = hub_op_begin(hub, err);
	if (rc != SH_OK)
		return rc;
	rc = store_setting_set(hub->st, key, value);
	if (rc != SH_OK)
		hub_store_failed(hub, rc, err);
	if (strncmp(key, "security.", 9) == 0)
		hub_security_settings_changed(hub);
	return hub_op_end(hub, rc, err);
}

/* --- policies --------------------------------------------------------------------------------- */

sh_rc hub_policy_get(struct sh_hub *hub, const char *name, struct sh_policy *out,
		     struct iothub_err *err)
{
	sh_rc rc = store_policy_get(hub->st, name, out);
	if (rc == SH_E_NOTFOUND)
		iothub_err_set(err, IOTHUB_UNAUTHORIZED_ACCESS, "no shared access policy '%s'", name);
	else if (rc != SH_OK)
		hub_store_failed(hub, rc, err);
	return rc;
}

static int valid_policy_name(const char *n)
{
	size_t len = strlen(n);
	if (len == 0 || len > SH_POLICY_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = n[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

sh_rc hub_policy_put(struct sh_hub *hub, const struct sh_policy *p, struct iothub_err *err)
{
	if (!valid_policy_name(p->name)) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID,
			       "policy name '%s' must be 1-64 letters, digits, '-', '_' or '.'", p->name);
		return SH_E_INVALID;
	}
	if (p->rights == 0 || (p->rights & ~0xfu)) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID, "policy '%s' needs at least one right",
			       p->name);
		return SH_E_INVALID;
	}
	sh_rc rc = hub_check_key(p->primary_key, "primaryKey", 0, err);
	if (rc == SH_OK)
		rc = hub_check_key(p->secondary_key, "secondaryKey", 0, err);
	if (rc != SH_OK)
		return rc;
	rc = hub_op_begin(hub, err);
	if (rc != SH_OK)
		return rc;
	rc = store_policy_put(hub->st, p);
	if (rc != SH_OK)
		hub_store_failed(hub, rc, err);
	return hub_op_end(hub, rc, err);
}

sh_rc hub_policy_each(struct sh_hub *hub, sh_rc (*fn)(void *arg, const struct sh_policy *p),
		      void *arg)
{
	return store_policy_each(hub->st, fn, arg);
}

const char *hub_rights_str(unsigned rights, char *buf, size_t cap)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{SH_RIGHT_REGISTRY_READ, "RegistryRead"},
		{SH_RIGHT_REGISTRY_WRITE, "RegistryWrite"},
		{SH_RIGHT_SERVICE_CONNECT, "ServiceConnect"},
		{SH_RIGHT_DEVICE_CONNECT, "DeviceConnect"},
	};
	size_t o = 0;
	if (cap)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (!(rights & names[i].bit))
			continue;
		int n = snprintf(buf + o, cap > o ? cap - o : 0, "%s%s", o ? ", " : "", names[i].name);
		if (n > 0)
			o += (size_t)n;
		if (o >= cap)
			break;
	}
	return buf;
}

/* --- reset ---------------------------------------------------------------------------------------- */

void hub_set_reseed(struct sh_hub *hub, sh_rc (*fn)(void *ctx, struct sh_hub *hub,
						    struct iothub_err *err), void *ctx)
{
	hub->reseed = fn;
	hub->reseed_ctx = ctx;
}

bool hub_can_reseed(const struct sh_hub *hub)
{
	return hub->reseed != NULL;
}

sh_rc hub_reset(struct sh_hub *hub, bool reseed, struct hub_reset_counts *counts,
		struct iothub_err *err)
{
	struct sh_store_reset_counts sc;
	if (reseed && !hub->reseed) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID,
			       "no fixtures to re-apply: serve was started without --fixtures");
		return SH_E_STATE;
	}
	sh_rc rc = hub_op_begin(hub, err);
	if (rc != SH_OK)
		return rc;
	rc = store_reset(hub->st, &sc);
	if (rc != SH_OK)
		hub_store_failed(hub, rc, err);
	else if (reseed)
		rc = hub->reseed(hub->reseed_ctx, hub, err);
	rc = hub_op_end(hub, rc, err);
	if (rc == SH_OK && counts) {
		counts->devices = sc.devices;
		counts->modules = sc.modules;
		counts->d2c_messages = sc.d2c_messages;
		counts->c2d_messages = sc.c2d_messages;
		counts->c2d_feedback = sc.c2d_feedback;
		counts->connection_events = sc.connection_events;
		counts->method_calls = sc.method_calls;
		counts->security_messages = sc.security_messages;
		counts->security_events = sc.security_events;
		counts->security_alerts = sc.security_alerts;
		counts->reseeded = reseed;
	}
	return rc;
}
