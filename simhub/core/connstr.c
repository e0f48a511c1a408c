/*
 * connstr.c: IoT Hub connection strings: parse into spans, classify, build. Pure; never
 * allocates and never decodes the key or the token it carries (sas.c and the hub do that).
 *
 * Splitting: pairs on ';', then each pair on its first '=' only, because values hold '=' of
 * their own: "SharedAccessKey=QUJD...NDU=" and "SharedAccessSignature=SharedAccessSignature
 * sr=h%2Fdevices%2Fd&sig=...%3D&se=1" must both come back whole. A ';' cannot be escaped, so a
 * value containing one cannot be built (the builders refuse it).
 */
#include "core/connstr.h"

#include <stdbool.h>
#include <string.h>

enum field {
	F_HOST_NAME,
	F_DEVICE_ID,
	F_MODULE_ID,
	F_KEY,
	F_KEY_NAME,
	F_SIGNATURE,
	F_X509,
	F_GATEWAY,
	F_COUNT
};

static const char *const field_names[F_COUNT] = {
	[F_HOST_NAME] = "HostName",
	[F_DEVICE_ID] = "DeviceId",
	[F_MODULE_ID] = "ModuleId",
	[F_KEY] = "SharedAccessKey",
	[F_KEY_NAME] = "SharedAccessKeyName",
	[F_SIGNATURE] = "SharedAccessSignature",
	[F_X509] = "x509",
	[F_GATEWAY] = "GatewayHostName",
};

static int field_of(const char *name, size_t len)
{
	for (int f = 0; f < F_COUNT; f++)
		if (strlen(field_names[f]) == len && memcmp(field_names[f], name, len) == 0)
			return f;
	return -1;
}

static bool is_true(struct sas_span s)
{
	static const char t[] = "true";
	if (s.len != 4)
		return false;
	for (size_t i = 0; i < 4; i++) {
		char c = s.p[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != t[i])
			return false;
	}
	return true;
}

/* Record the reason and pass the result through, so failures read as one line. */
static sh_rc fail(const char **why, const char *msg, sh_rc rc, struct connstr *out)
{
	if (why)
		*why = msg;
	memset(out, 0, sizeof *out);
	return rc;
}

/*
 * The classification rules, applied once every pair is known: which kind the string is, and
 * whether its fields form one of the shapes in iothub-protocol.md §1.2.
 */
static sh_rc classify(struct sas_span v[F_COUNT], struct connstr *out, const char **why)
{
	bool has[F_COUNT];
	for (int f = 0; f < F_COUNT; f++)
		has[f] = v[f].len > 0;

	if (!has[F_HOST_NAME])
		return fail(why, "missing HostName", SH_E_INVALID, out);
	if (has[F_X509] && !is_true(v[F_X509]))
		return fail(why, "x509 must be true", SH_E_INVALID, out);
	if (has[F_MODULE_ID] && !has[F_DEVICE_ID])
		return fail(why, "ModuleId without DeviceId", SH_E_INVALID, out);

	if (!has[F_DEVICE_ID]) {
		if (has[F_SIGNATURE] || has[F_X509])
			return fail(why, "a service string authenticates with SharedAccessKeyName and "
				    "SharedAccessKey only", SH_E_INVALID, out);
		if (!has[F_KEY_NAME] || !has[F_KEY])
			return fail(why, "a service string needs SharedAccessKeyName and SharedAccessKey",
				    SH_E_INVALID, out);
		out->kind = CONNSTR_SERVICE;
		out->auth = CONNSTR_AUTH_KEY;
	} else {
		int n = (int)has[F_KEY] + (int)has[F_SIGNATURE] + (int)has[F_X509];
		if (n != 1)
			return fail(why, "need exactly one of SharedAccessKey, SharedAccessSignature, "
				    "x509=true", SH_E_INVALID, out);
		if (has[F_KEY_NAME] && !has[F_KEY])
			return fail(why, "SharedAccessKeyName needs SharedAccessKey", SH_E_INVALID, out);
		out->kind = has[F_MODULE_ID] ? CONNSTR_MODULE : CONNSTR_DEVICE;
		out->auth = has[F_KEY] ? CONNSTR_AUTH_KEY
				       : has[F_SIGNATURE] ? CONNSTR_AUTH_TOKEN : CONNSTR_AUTH_X509;
	}
	out->host_name = v[F_HOST_NAME];
	out->device_id = v[F_DEVICE_ID];
	out->module_id = v[F_MODULE_ID];
	out->shared_access_key = v[F_KEY];
	out->shared_access_key_name = v[F_KEY_NAME];
	out->shared_access_signature = v[F_SIGNATURE];
	out->gateway_host_name = v[F_GATEWAY];
	if (why)
		*why = "";
	return SH_OK;
}

sh_rc connstr_parse(const char *text, size_t len, struct connstr *out, const char **why)
{
	struct sas_span v[F_COUNT];

	memset(out, 0, sizeof *out);
	memset(v, 0, sizeof v);
	if (!text || len == 0)
		return fail(why, "empty connection string", SH_E_MALFORMED, out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c < 0x20 || c == 0x7f)
			return fail(why, "control character", SH_E_MALFORMED, out);
	}
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *pend = semi ? semi : end;
		if (pend > p) {
			const char *eq = memchr(p, '=', (size_t)(pend - p));
			if (!eq)
				return fail(why, "pair without '='", SH_E_MALFORMED, out);
			if (eq == p)
				return fail(why, "empty name", SH_E_MALFORMED, out);
			if (eq + 1 == pend)
				return fail(why, "empty value", SH_E_MALFORMED, out);
			int f = field_of(p, (size_t)(eq - p));
			if (f < 0)
				return fail(why, "unknown name", SH_E_INVALID, out);
			if (v[f].len > 0)
				return fail(why, "duplicate name", SH_E_INVALID, out);
			v[f].p = eq + 1;
			v[f].len = (size_t)(pend - eq - 1);
		}
		p = semi ? semi + 1 : end;
	}
	return classify(v, out, why);
}

/* Output of a builder: text written while it fits, length always counted, `bad` once a value
 * was refused. */
struct builder {
	char *buf;
	size_t cap;
	size_t len;
	bool bad;
};

/* Append "Name=value" (with a leading ';' unless first); a missing, empty or unparsable
 * value (';' or a control byte) marks the builder bad instead. */
static void add(struct builder *b, const char *name, const char *value)
{
	if (!value || !*value) {
		b->bad = true;
		return;
	}
	for (const char *c = value; *c; c++)
		if (*c == ';' || (unsigned char)*c < 0x20 || *c == 0x7f)
			b->bad = true;
	const char *parts[4] = { b->len ? ";" : "", name, "=", value };
	for (int i = 0; i < 4; i++) {
		size_t n = strlen(parts[i]);
		if (b->buf && b->len + n < b->cap)
			memcpy(b->buf + b->len, parts[i], n);
		b->len += n;
	}
}

/* Close the text: SH_E_INVALID for a refused value, SH_E_NOSPACE when it did not fit. */
static sh_rc done(struct builder *b, size_t *out_len)
{
	if (out_len)
		*out_len = b->bad ? 0 : b->len;
	if (b->bad || b->len + 1 > b->cap) {
		if (b->buf && b->cap > 0)
			b->buf[0] = '\0';
		return b->bad ? SH_E_INVALID : SH_E_NOSPACE;
	}
	b->buf[b->len] = '\0';
	return SH_OK;
}

/* Device and module strings share one shape; module_id is NULL for a device. */
static sh_rc build_identity(const char *host, const char *device_id, bool is_module,
			    const char *module_id, const char *key, const char *gateway, char *out,
			    size_t cap, size_t *out_len)
{
	struct builder b = { out, cap, 0, false };
	add(&b, "HostName", host);
	add(&b, "DeviceId", device_id);
	if (is_module)
		add(&b, "ModuleId", module_id);
	if (key)
		add(&b, "SharedAccessKey", key);
	else
		add(&b, "x509", "true");
	if (gateway && *gateway)
		add(&b, "GatewayHostName", gateway);
	return done(&b, out_len);
}

sh_rc connstr_build_device(const char *host, const char *device_id, const char *key,
			   const char *gateway, char *out, size_t cap, size_t *out_len)
{
	return build_identity(host, device_id, false, NULL, key, gateway, out, cap, out_len);
}

sh_rc connstr_build_module(const char *host, const char *device_id, const char *module_id,
			   const char *key, const char *gateway, char *out, size_t cap,
			   size_t *out_len)
{
	return build_identity(host, device_id, true, module_id, key, gateway, out, cap, out_len);
}

sh_rc connstr_build_service(const char *host, const char *policy, const char *key,
			    const char *gateway, char *out, size_t cap, size_t *out_len)
{
	struct builder b = { out, cap, 0, false };
	add(&b, "HostName", host);
	add(&b, "SharedAccessKeyName", policy);
	add(&b, "SharedAccessKey", key);
	if (gateway && *gateway)
		add(&b, "GatewayHostName", gateway);
	return done(&b, out_len);
}
