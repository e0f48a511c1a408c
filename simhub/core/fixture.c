/*
 * fixture.c: fixture JSON text -> validated struct fixture (format: docs/fixtures.md).
 * Pure: never reads the clock, never draws random keys (absent keys stay empty for the loader
 * to generate), never touches storage. Twin sections are only type-checked here; their key and
 * value rules belong to the twin engine, which the loader runs with each identity's path.
 *
 * Every rejection names the JSON path of the offending value, e.g.
 * "$.devices[2].modules[0].id", so a typo in a thousand-device file is one search away.
 * Unknown keys are errors everywhere (a misspelt "statusReson" must not be silently ignored),
 * and so are repeated keys in one object (cJSON keeps both; we would read only the first).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/base64.h"
#include "core/fixture.h"
#include "core/jsondoc.h"
#include "core/utf8.h"

#define ERR_PATH_CAP sizeof(((struct fixture_error *)0)->path)
#define MAX_IDENTITIES 100000u      /* sanity bound: each entry is about 1.2 KB in memory */
#define MAX_POLICIES 1000u

/* Parser state: the fixture being built and where errors go. */
struct parser {
	struct fixture *fx;
	struct fixture_error *err;
	size_t identity_cap;
};

/* --- errors and paths ------------------------------------------------------------------------- */

/*
 * Record an error at `path` with a printf-style reason and return `rc`, so callers write
 * `return fail(p, path, SH_E_INVALID, "...")`. Only the first error is kept: parsing stops
 * at it.
 */
static sh_rc fail(struct parser *p, const char *path, sh_rc rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static sh_rc fail(struct parser *p, const char *path, sh_rc rc, const char *fmt, ...)
{
	if (!p->err)
		return rc;
	snprintf(p->err->path, sizeof p->err->path, "%s", path);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err->reason, sizeof p->err->reason, fmt, ap);
	va_end(ap);
	p->err->line = 0;
	p->err->column = 0;
	return rc;
}

/* --- generic checks --------------------------------------------------------------------------- */

/*
 * Check that object `obj` at `path` has only members named in the NULL-terminated `allowed`
 * list, each at most once. The error path is the offending member's; the reason lists the
 * allowed names so the fix is obvious.
 */
static sh_rc check_members(struct parser *p, const cJSON *obj, const char *path,
			   const char *const *allowed)
{
	const cJSON *m;
	cJSON_ArrayForEach(m, obj) {
		const char *name = m->string ? m->string : "";
		char mpath[ERR_PATH_CAP];
		jsondoc_path_member(mpath, sizeof mpath, path, name, false);
		bool known = false;
		for (size_t i = 0; allowed[i]; i++) {
			if (strcmp(allowed[i], name) == 0) {
				known = true;
				break;
			}
		}
		if (!known) {
			char list[200];
			size_t used = 0;
			list[0] = '\0';
			for (size_t i = 0; allowed[i] && used < sizeof list; i++) {
				int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
						 allowed[i]);
				if (w < 0)
					break;
				used += (size_t)w;
			}
			return fail(p, mpath, SH_E_INVALID, "unknown key (allowed here: %s)", list);
		}
		for (const cJSON *q = obj->child; q != m; q = q->next) {
			if (q->string && strcmp(q->string, name) == 0)
				return fail(p, mpath, SH_E_INVALID, "key appears twice in the same object");
		}
	}
	return SH_OK;
}

static sh_rc want_type(struct parser *p, const cJSON *v, const char *path, int type,
		       const char *what)
{
	if ((v->type & 0xFF) == type)
		return SH_OK;
	return fail(p, path, SH_E_INVALID, "must be %s, not %s", what, jsondoc_type_name(v));
}

/*
 * True when s[0..len) is well-formed UTF-8 with no C0 control characters or DEL: the rule
 * for free-text registry strings (statusReason, managedBy) that end up in JSON responses.
 */
static bool text_ok(const char *s, size_t len)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t i = 0;
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(u + i, len - i, &cp);
		if (n == 0 || cp < 0x20 || cp == 0x7f)
			return false;
		i += n;
	}
	return true;
}

/* Optional free-text string: absent or null leaves `out` empty. */
static sh_rc get_text(struct parser *p, const cJSON *obj, const char *key, const char *path,
		      char *out, size_t max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	out[0] = '\0';
	if (!v || cJSON_IsNull(v))
		return SH_OK;
	char vpath[ERR_PATH_CAP];
	jsondoc_path_member(vpath, sizeof vpath, path, key, false);
	sh_rc rc = want_type(p, v, vpath, cJSON_String, "a string or null");
	if (rc != SH_OK)
		return rc;
	size_t n = strlen(v->valuestring);
	if (n > max)
		return fail(p, vpath, SH_E_INVALID, "must be at most %zu bytes (got %zu)", max, n);
	if (!text_ok(v->valuestring, n))
		return fail(p, vpath, SH_E_INVALID,
			    "must be UTF-8 text without control characters");
	memcpy(out, v->valuestring, n + 1);
	return SH_OK;
}

/* Optional boolean: absent leaves *out and *has untouched. */
static sh_rc get_bool(struct parser *p, const cJSON *obj, const char *key, const char *path,
		      bool *out, bool *has)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return SH_OK;
	char vpath[ERR_PATH_CAP];
	jsondoc_path_member(vpath, sizeof vpath, path, key, false);
	if (!cJSON_IsBool(v))
		return fail(p, vpath, SH_E_INVALID, "must be true or false, not %s", jsondoc_type_name(v));
	*out = cJSON_IsTrue(v);
	if (has)
		*has = true;
	return SH_OK;
}

/* --- field rules ------------------------------------------------------------------------------ */

#define ID_RULE "must be 1-128 characters of letters, digits and - . %% _ * ? ! ( ) , : = @ $ '"

/*
 * Required device or module id at obj[key]. The reason carries the §1.1 rule plus what was
 * wrong (length or the first bad character), since ids are where typos hide.
 */
static sh_rc get_id(struct parser *p, const cJSON *obj, const char *key, const char *path,
		    char out[SH_ID_MAX + 1])
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char vpath[ERR_PATH_CAP];
	jsondoc_path_member(vpath, sizeof vpath, path, key, false);
	if (!v)
		return fail(p, vpath, SH_E_INVALID, "is required");
	sh_rc rc = want_type(p, v, vpath, cJSON_String, "a string");
	if (rc != SH_OK)
		return rc;
	const char *s = v->valuestring;
	size_t n = strlen(s);
	if (identity_validate_id(s, n) != SH_OK) {
		if (n == 0 || n > SH_ID_MAX)
			return fail(p, vpath, SH_E_INVALID, ID_RULE " (got %zu)", n);
		size_t i = 0;
		while (i < n && identity_validate_id(s + i, 1) == SH_OK)
			i++;
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x21 && c < 0x7f)
			return fail(p, vpath, SH_E_INVALID, ID_RULE " (character %zu is '%c')", i + 1,
				    (char)c);
		return fail(p, vpath, SH_E_INVALID, ID_RULE " (byte %zu is 0x%02x)", i + 1, c);
	}
	memcpy(out, s, n + 1);
	return SH_OK;
}

/*
 * Optional symmetric key at obj[key]: strict padded base64 that decodes to
 * FIXTURE_KEY_MIN_BYTES..FIXTURE_KEY_MAX_BYTES bytes (the range IoT Hub accepts). Absent
 * leaves `out` empty, meaning "the loader generates or keeps it".
 */
static sh_rc get_key(struct parser *p, const cJSON *obj, const char *key, const char *path,
		     char out[SH_KEY_MAX + 1])
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	out[0] = '\0';
	if (!v)
		return SH_OK;
	char vpath[ERR_PATH_CAP];
	jsondoc_path_member(vpath, sizeof vpath, path, key, false);
	sh_rc rc = want_type(p, v, vpath, cJSON_String, "a string");
	if (rc != SH_OK)
		return rc;
	const char *s = v->valuestring;
	size_t n = strlen(s);
	uint8_t raw[(SH_KEY_MAX / 4) * 3];
	size_t raw_len = 0;
	rc = n > SH_KEY_MAX ? SH_E_NOSPACE : base64_decode(s, n, raw, sizeof raw, &raw_len);
	if (rc == SH_E_NOSPACE)
		return fail(p, vpath, SH_E_INVALID,
			    "must be base64 of %d to %d bytes (this text is %zu characters)",
			    FIXTURE_KEY_MIN_BYTES, FIXTURE_KEY_MAX_BYTES, n);
	if (rc != SH_OK)
		return fail(p, vpath, SH_E_INVALID,
			    "must be standard padded base64 (RFC 4648 section 4) of %d to %d bytes",
			    FIXTURE_KEY_MIN_BYTES, FIXTURE_KEY_MAX_BYTES);
	if (raw_len < FIXTURE_KEY_MIN_BYTES || raw_len > FIXTURE_KEY_MAX_BYTES)
		return fail(p, vpath, SH_E_INVALID,
			    "must decode to %d to %d bytes (decodes to %zu); try openssl rand -base64 32",
			    FIXTURE_KEY_MIN_BYTES, FIXTURE_KEY_MAX_BYTES, raw_len);
	memcpy(out, s, n + 1);
	return SH_OK;
}

/*
 * Optional X.509 thumbprint: 40 (SHA-1) or 64 (SHA-256) hex digits, stored upper-case so the
 * loader and the TLS check compare one spelling. `required` turns absence into an error.
 */
static sh_rc get_thumbprint(struct parser *p, const cJSON *obj, const char *key, const char *path,
			    bool required, char out[SH_THUMB_MAX + 1])
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char vpath[ERR_PATH_CAP];
	jsondoc_path_member(vpath, sizeof vpath, path, key, false);
	out[0] = '\0';
	if (!v) {
		if (required)
			return fail(p, vpath, SH_E_INVALID, "is required for type selfSigned");
		return SH_OK;
	}
	sh_rc rc = want_type(p, v, vpath, cJSON_String, "a string");
	if (rc != SH_OK)
		return rc;
	const char *s = v->valuestring;
	size_t n = strlen(s);
	bool hex = n == 40 || n == 64;
	for (size_t i = 0; hex && i < n; i++) {
		char c = s[i];
		hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
	}
	if (!hex)
		return fail(p, vpath, SH_E_INVALID,
			    "must be 40 (SHA-1) or 64 (SHA-256) hexadecimal digits");
	for (size_t i = 0; i < n; i++)
		out[i] = (s[i] >= 'a' && s[i] <= 'f') ? (char)(s[i] - 'a' + 'A') : s[i];
	out[n] = '\0';
	return SH_OK;
}

/*
 * Shared access policy names appear in connection strings (SharedAccessKeyName=) and SAS
 * tokens (skn=), so they must stay clear of ; = & and spaces. simhub's rule (an emulator
 * choice): 1-64 letters, digits, '-', '.', '_'.
 */
static bool policy_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > SH_POLICY_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && c != '_' && c != '-' && c != '.')
			return false;
	}
	return true;
}

/*
 * Host names: RFC 1123 labels (1-63 letters, digits, '-', not starting or ending with '-')
 * joined by dots, at most 253 characters, no trailing dot.
 */
static bool hostname_ok(const char *s, size_t n)
{
	if (n == 0 || n > FIXTURE_HOSTNAME_MAX)
		return false;
	size_t label = 0;
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)s[i] : '.';
		if (c == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && !(c == '-' && label > 0))
			return false;
		label++;
	}
	return true;
}

/* --- duplicates ------------------------------------------------------------------------------- */

struct name_ref {
	const char *name;
	size_t index;
};

static int name_ref_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c != 0)
		return c;
	return (x->index > y->index) - (x->index < y->index);
}

/*
 * Find the first repeated name in document order: sort (name, index) pairs, then among the
 * groups of equal names pick the one whose second occurrence comes earliest. Returns true and
 * sets *first / *second (indexes into the original order) when there is a repeat. O(n log n),
 * so a fixture with many thousand devices stays fast. `refs` is scratch and gets reordered.
 */
static bool find_duplicate(struct name_ref *refs, size_t n, size_t *first, size_t *second)
{
	if (n < 2)
		return false;
	qsort(refs, n, sizeof *refs, name_ref_cmp);
	bool found = false;
	for (size_t k = 1; k < n; k++) {
		if (strcmp(refs[k].name, refs[k - 1].name) != 0)
			continue;
		bool group_start = k == 1 || strcmp(refs[k - 2].name, refs[k - 1].name) != 0;
		if (!group_start)
			continue;
		if (!found || refs[k].index < *second) {
			*first = refs[k - 1].index;
			*second = refs[k].index;
			found = true;
		}
	}
	return found;
}

/* --- sections --------------------------------------------------------------------------------- */

static sh_rc parse_settings(struct parser *p, const cJSON *v, const char *path)
{
	static const char *const allowed[] = { "hostname", "security", NULL };
	static const char *const sec_allowed[] = { "autoCreateModule", NULL };
	struct fixture_settings *st = &p->fx->settings;
	sh_rc rc = want_type(p, v, path, cJSON_Object, "an object");
	if (rc == SH_OK)
		rc = check_members(p, v, path, allowed);
	if (rc != SH_OK)
		return rc;

	const cJSON *h = cJSON_GetObjectItemCaseSensitive(v, "hostname");
	if (h) {
		char hpath[ERR_PATH_CAP];
		jsondoc_path_member(hpath, sizeof hpath, path, "hostname", false);
		rc = want_type(p, h, hpath, cJSON_String, "a string");
		if (rc != SH_OK)
			return rc;
		size_t n = strlen(h->valuestring);
		if (!hostname_ok(h->valuestring, n))
			return fail(p, hpath, SH_E_INVALID,
				    "must be a DNS name of at most 253 characters (labels of 1-63 "
				    "letters, digits and inner '-')");
		memcpy(st->hostname, h->valuestring, n + 1);
		st->has_hostname = true;
	}

	const cJSON *sec = cJSON_GetObjectItemCaseSensitive(v, "security");
	if (sec) {
		char spath[ERR_PATH_CAP];
		jsondoc_path_member(spath, sizeof spath, path, "security", false);
		rc = want_type(p, sec, spath, cJSON_Object, "an object");
		if (rc == SH_OK)
			rc = check_members(p, sec, spath, sec_allowed);
		if (rc == SH_OK)
			rc = get_bool(p, sec, "autoCreateModule", spath, &st->auto_create_module,
				      &st->has_auto_create_module);
	}
	return rc;
}

/* Map an IoT Hub right name to its bit, 0 when unknown. */
static unsigned right_bit(const char *s)
{
	if (strcmp(s, "RegistryRead") == 0)
		return SH_RIGHT_REGISTRY_READ;
	if (strcmp(s, "RegistryWrite") == 0)
		return SH_RIGHT_REGISTRY_WRITE;
	if (strcmp(s, "ServiceConnect") == 0)
		return SH_RIGHT_SERVICE_CONNECT;
	if (strcmp(s, "DeviceConnect") == 0)
		return SH_RIGHT_DEVICE_CONNECT;
	return 0;
}

static sh_rc parse_rights(struct parser *p, const cJSON *obj, const char *path, unsigned *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "rights");
	char rpath[ERR_PATH_CAP];
	jsondoc_path_member(rpath, sizeof rpath, path, "rights", false);
	if (!v)
		return fail(p, rpath, SH_E_INVALID, "is required");
	sh_rc rc = want_type(p, v, rpath, cJSON_Array, "an array of right names");
	if (rc != SH_OK)
		return rc;
	if (!v->child)
		return fail(p, rpath, SH_E_INVALID, "must name at least one right");
	unsigned rights = 0;
	size_t i = 0;
	const cJSON *r;
	cJSON_ArrayForEach(r, v) {
		char ipath[ERR_PATH_CAP];
		jsondoc_path_index(ipath, sizeof ipath, rpath, i++);
		unsigned bit = cJSON_IsString(r) ? right_bit(r->valuestring) : 0;
		if (!bit)
			return fail(p, ipath, SH_E_INVALID,
				    "must be one of RegistryRead, RegistryWrite, ServiceConnect, "
				    "DeviceConnect");
		if (rights & bit)
			return fail(p, ipath, SH_E_INVALID, "right \"%s\" is listed twice",
				    r->valuestring);
		rights |= bit;
	}
	*out = rights;
	return SH_OK;
}

static sh_rc parse_policy(struct parser *p, const cJSON *v, const char *path,
			  struct fixture_policy *pol)
{
	static const char *const allowed[] = { "name", "primaryKey", "secondaryKey", "rights",
					       NULL };
	sh_rc rc = want_type(p, v, path, cJSON_Object, "an object");
	if (rc == SH_OK)
		rc = check_members(p, v, path, allowed);
	if (rc != SH_OK)
		return rc;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(v, "name");
	char npath[ERR_PATH_CAP];
	jsondoc_path_member(npath, sizeof npath, path, "name", false);
	if (!name)
		return fail(p, npath, SH_E_INVALID, "is required");
	rc = want_type(p, name, npath, cJSON_String, "a string");
	if (rc != SH_OK)
		return rc;
	size_t n = strlen(name->valuestring);
	if (!policy_name_ok(name->valuestring, n))
		return fail(p, npath, SH_E_INVALID,
			    "must be 1-64 characters of letters, digits, '-', '.' and '_'");
	memcpy(pol->row.name, name->valuestring, n + 1);
	rc = get_key(p, v, "primaryKey", path, pol->row.primary_key);
	if (rc == SH_OK)
		rc = get_key(p, v, "secondaryKey", path, pol->row.secondary_key);
	if (rc == SH_OK)
		rc = parse_rights(p, v, path, &pol->row.rights);
	return rc;
}

static sh_rc parse_policies(struct parser *p, const cJSON *v, const char *path)
{
	sh_rc rc = want_type(p, v, path, cJSON_Array, "an array");
	if (rc != SH_OK)
		return rc;
	size_t n = (size_t)cJSON_GetArraySize(v);
	if (n > MAX_POLICIES)
		return fail(p, path, SH_E_TOOLARGE, "at most %u policies per fixture (got %zu)",
			    MAX_POLICIES, n);
	if (n == 0)
		return SH_OK;
	p->fx->policies = calloc(n, sizeof *p->fx->policies);
	if (!p->fx->policies)
		return fail(p, path, SH_E_NOMEM, "out of memory");
	const cJSON *item;
	cJSON_ArrayForEach(item, v) {
		struct fixture_policy *pol = &p->fx->policies[p->fx->policy_count];
		jsondoc_path_index(pol->path, sizeof pol->path, path, p->fx->policy_count);
		rc = parse_policy(p, item, pol->path, pol);
		if (rc != SH_OK)
			return rc;
		p->fx->policy_count++;
	}

	struct name_ref *refs = malloc(n * sizeof *refs);
	if (!refs)
		return fail(p, path, SH_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct name_ref){ p->fx->policies[i].row.name, i };
	size_t a, b;
	if (find_duplicate(refs, n, &a, &b)) {
		free(refs);
		char bpath[ERR_PATH_CAP];
		jsondoc_path_member(bpath, sizeof bpath, p->fx->policies[b].path, "name", false);
		return fail(p, bpath, SH_E_INVALID, "duplicate policy name \"%s\" (first at %s.name)",
			    p->fx->policies[b].row.name, p->fx->policies[a].path);
	}
	free(refs);
	return SH_OK;
}

/*
 * authentication: {type, primaryKey, secondaryKey} for "sas" (the default type),
 * {type, primaryThumbprint, secondaryThumbprint} for "selfSigned", {type} alone for
 * "certificateAuthority" and "none". A field that does not belong to the type is an error
 * rather than ignored: keys on a selfSigned device are a sign of a copy-paste mistake.
 */
static sh_rc parse_auth(struct parser *p, const cJSON *obj, const char *path,
			struct sh_identity *row)
{
	static const char *const allowed[] = { "type", "primaryKey", "secondaryKey",
					       "primaryThumbprint", "secondaryThumbprint", NULL };
	row->auth_type = SH_AUTH_SAS;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "authentication");
	if (!v)
		return SH_OK;
	char apath[ERR_PATH_CAP];
	jsondoc_path_member(apath, sizeof apath, path, "authentication", false);
	sh_rc rc = want_type(p, v, apath, cJSON_Object, "an object");
	if (rc == SH_OK)
		rc = check_members(p, v, apath, allowed);
	if (rc != SH_OK)
		return rc;

	const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, "type");
	if (t) {
		char tpath[ERR_PATH_CAP];
		jsondoc_path_member(tpath, sizeof tpath, apath, "type", false);
		const char *s = cJSON_IsString(t) ? t->valuestring : "";
		if (strcmp(s, "sas") == 0)
			row->auth_type = SH_AUTH_SAS;
		else if (strcmp(s, "selfSigned") == 0)
			row->auth_type = SH_AUTH_SELF_SIGNED;
		else if (strcmp(s, "certificateAuthority") == 0)
			row->auth_type = SH_AUTH_CA;
		else if (strcmp(s, "none") == 0)
			row->auth_type = SH_AUTH_NONE;
		else
			return fail(p, tpath, SH_E_INVALID,
				    "must be one of sas, selfSigned, certificateAuthority, none");
	}

	static const char *const key_fields[] = { "primaryKey", "secondaryKey" };
	static const char *const thumb_fields[] = { "primaryThumbprint", "secondaryThumbprint" };
	for (size_t i = 0; i < 2; i++) {
		char fpath[ERR_PATH_CAP];
		if (row->auth_type != SH_AUTH_SAS && cJSON_GetObjectItemCaseSensitive(v, key_fields[i])) {
			jsondoc_path_member(fpath, sizeof fpath, apath, key_fields[i], false);
			return fail(p, fpath, SH_E_INVALID, "only allowed with type sas");
		}
		if (row->auth_type != SH_AUTH_SELF_SIGNED &&
		    cJSON_GetObjectItemCaseSensitive(v, thumb_fields[i])) {
			jsondoc_path_member(fpath, sizeof fpath, apath, thumb_fields[i], false);
			return fail(p, fpath, SH_E_INVALID, "only allowed with type selfSigned");
		}
	}
	if (row->auth_type == SH_AUTH_SAS) {
		rc = get_key(p, v, "primaryKey", apath, row->primary_key);
		if (rc == SH_OK)
			rc = get_key(p, v, "secondaryKey", apath, row->secondary_key);
	} else if (row->auth_type == SH_AUTH_SELF_SIGNED) {
		rc = get_thumbprint(p, v, "primaryThumbprint", apath, true, row->primary_thumbprint);
		if (rc == SH_OK)
			rc = get_thumbprint(p, v, "secondaryThumbprint", apath, false,
					    row->secondary_thumbprint);
	}
	return rc;
}

/*
 * twin: {tags, desired, reported}, each optional and each a JSON object. The sections are
 * detached from the parsed document and handed to the fixture, which frees them.
 */
static sh_rc parse_twin(struct parser *p, cJSON *obj, const char *path, struct fixture_twin *tw)
{
	static const char *const allowed[] = { "tags", "desired", "reported", NULL };
	cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "twin");
	if (!v)
		return SH_OK;
	char tpath[ERR_PATH_CAP];
	jsondoc_path_member(tpath, sizeof tpath, path, "twin", false);
	sh_rc rc = want_type(p, v, tpath, cJSON_Object, "an object");
	if (rc == SH_OK)
		rc = check_members(p, v, tpath, allowed);
	if (rc != SH_OK)
		return rc;
	struct cJSON **slots[] = { &tw->tags, &tw->desired, &tw->reported };
	for (size_t i = 0; i < 3; i++) {
		cJSON *sec = cJSON_GetObjectItemCaseSensitive(v, allowed[i]);
		if (!sec)
			continue;
		char spath[ERR_PATH_CAP];
		jsondoc_path_member(spath, sizeof spath, tpath, allowed[i], false);
		rc = want_type(p, sec, spath, cJSON_Object, "an object");
		if (rc != SH_OK)
			return rc;
		*slots[i] = cJSON_DetachItemViaPointer(v, sec);
	}
	return SH_OK;
}

/* Append a zeroed identity; its index is identity_count - 1. NULL when out of memory. */
static struct fixture_identity *push_identity(struct parser *p)
{
	struct fixture *fx = p->fx;
	if (fx->identity_count == p->identity_cap) {
		size_t cap = p->identity_cap ? p->identity_cap * 2 : 8;
		struct fixture_identity *n = realloc(fx->identities, cap * sizeof *n);
		if (!n)
			return NULL;
		fx->identities = n;
		p->identity_cap = cap;
	}
	struct fixture_identity *id = &fx->identities[fx->identity_count++];
	memset(id, 0, sizeof *id);
	return id;
}

static sh_rc parse_module(struct parser *p, cJSON *v, size_t dev_index, size_t mod_index,
			  const char *mods_path)
{
	static const char *const allowed[] = { "id", "managedBy", "authentication", "twin", NULL };
	char path[FIXTURE_PATH_MAX];
	jsondoc_path_index(path, sizeof path, mods_path, mod_index);
	sh_rc rc = want_type(p, v, path, cJSON_Object, "an object");
	if (rc == SH_OK)
		rc = check_members(p, v, path, allowed);
	if (rc != SH_OK)
		return rc;
	struct fixture_identity *m = push_identity(p);
	if (!m)
		return fail(p, path, SH_E_NOMEM, "out of memory");
	p->fx->module_count++;
	memcpy(m->path, path, sizeof path);
	m->device_index = dev_index;
	memcpy(m->row.device_id, p->fx->identities[dev_index].row.device_id,
	       sizeof m->row.device_id);
	m->row.status = SH_STATUS_ENABLED;
	rc = get_id(p, v, "id", path, m->row.module_id);
	if (rc == SH_OK)
		rc = get_text(p, v, "managedBy", path, m->row.managed_by, SH_ID_MAX);
	if (rc == SH_OK)
		rc = parse_auth(p, v, path, &m->row);
	if (rc == SH_OK)
		rc = parse_twin(p, v, path, &m->twin);
	return rc;
}

static sh_rc check_duplicate_modules(struct parser *p, size_t first_mod, size_t n,
				     const char *mods_path)
{
	if (n < 2)
		return SH_OK;
	struct name_ref *refs = malloc(n * sizeof *refs);
	if (!refs)
		return fail(p, mods_path, SH_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct name_ref){ p->fx->identities[first_mod + i].row.module_id, i };
	size_t a, b;
	sh_rc rc = SH_OK;
	if (find_duplicate(refs, n, &a, &b)) {
		const struct fixture_identity *ma = &p->fx->identities[first_mod + a];
		const struct fixture_identity *mb = &p->fx->identities[first_mod + b];
		char bpath[ERR_PATH_CAP];
		jsondoc_path_member(bpath, sizeof bpath, mb->path, "id", false);
		rc = fail(p, bpath, SH_E_INVALID, "duplicate module id \"%s\" (first at %s.id)",
			  mb->row.module_id, ma->path);
	}
	free(refs);
	return rc;
}

static sh_rc parse_device(struct parser *p, cJSON *v, size_t index, const char *devs_path)
{
	static const char *const allowed[] = { "id", "status", "statusReason", "authentication",
					       "capabilities", "twin", "modules", NULL };
	static const char *const cap_allowed[] = { "iotEdge", NULL };
	char path[FIXTURE_PATH_MAX];
	jsondoc_path_index(path, sizeof path, devs_path, index);
	sh_rc rc = want_type(p, v, path, cJSON_Object, "an object");
	if (rc == SH_OK)
		rc = check_members(p, v, path, allowed);
	if (rc != SH_OK)
		return rc;
	if (p->fx->identity_count >= MAX_IDENTITIES)
		return fail(p, path, SH_E_TOOLARGE, "at most %u devices and modules per fixture",
			    MAX_IDENTITIES);
	struct fixture_identity *d = push_identity(p);
	if (!d)
		return fail(p, path, SH_E_NOMEM, "out of memory");
	size_t dev_index = p->fx->identity_count - 1;
	p->fx->device_count++;
	memcpy(d->path, path, sizeof path);
	d->device_index = dev_index;
	d->row.status = SH_STATUS_ENABLED;

	rc = get_id(p, v, "id", path, d->row.device_id);
	if (rc != SH_OK)
		return rc;
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(v, "status");
	if (st) {
		char spath[ERR_PATH_CAP];
		jsondoc_path_member(spath, sizeof spath, path, "status", false);
		const char *s = cJSON_IsString(st) ? st->valuestring : "";
		if (strcmp(s, "enabled") == 0)
			d->row.status = SH_STATUS_ENABLED;
		else if (strcmp(s, "disabled") == 0)
			d->row.status = SH_STATUS_DISABLED;
		else
			return fail(p, spath, SH_E_INVALID, "must be \"enabled\" or \"disabled\"");
	}
	rc = get_text(p, v, "statusReason", path, d->row.status_reason, SH_REASON_MAX);
	if (rc != SH_OK)
		return rc;
	rc = parse_auth(p, v, path, &d->row);
	if (rc != SH_OK)
		return rc;
	const cJSON *caps = cJSON_GetObjectItemCaseSensitive(v, "capabilities");
	if (caps) {
		char cpath[ERR_PATH_CAP];
		jsondoc_path_member(cpath, sizeof cpath, path, "capabilities", false);
		rc = want_type(p, caps, cpath, cJSON_Object, "an object");
		if (rc == SH_OK)
			rc = check_members(p, caps, cpath, cap_allowed);
		if (rc == SH_OK)
			rc = get_bool(p, caps, "iotEdge", cpath, &d->row.iot_edge, NULL);
		if (rc != SH_OK)
			return rc;
	}
	/* `d` may move when modules are appended: use the index from here on. */
	rc = parse_twin(p, v, path, &p->fx->identities[dev_index].twin);
	if (rc != SH_OK)
		return rc;

	cJSON *mods = cJSON_GetObjectItemCaseSensitive(v, "modules");
	if (!mods)
		return SH_OK;
	char mpath[FIXTURE_PATH_MAX];
	jsondoc_path_member(mpath, sizeof mpath, path, "modules", false);
	rc = want_type(p, mods, mpath, cJSON_Array, "an array");
	if (rc != SH_OK)
		return rc;
	size_t first_mod = p->fx->identity_count, k = 0;
	cJSON *m;
	cJSON_ArrayForEach(m, mods) {
		if (p->fx->identity_count >= MAX_IDENTITIES) {
			char ipath[ERR_PATH_CAP];
			jsondoc_path_index(ipath, sizeof ipath, mpath, k);
			return fail(p, ipath, SH_E_TOOLARGE,
				    "at most %u devices and modules per fixture", MAX_IDENTITIES);
		}
		rc = parse_module(p, m, dev_index, k++, mpath);
		if (rc != SH_OK)
			return rc;
	}
	return check_duplicate_modules(p, first_mod, k, mpath);
}

static sh_rc parse_devices(struct parser *p, cJSON *v, const char *path)
{
	sh_rc rc = want_type(p, v, path, cJSON_Array, "an array");
	if (rc != SH_OK)
		return rc;
	size_t k = 0;
	cJSON *d;
	cJSON_ArrayForEach(d, v) {
		rc = parse_device(p, d, k++, path);
		if (rc != SH_OK)
			return rc;
	}
	size_t n = p->fx->device_count;
	if (n < 2)
		return SH_OK;
	struct name_ref *refs = malloc(n * sizeof *refs);
	if (!refs)
		return fail(p, path, SH_E_NOMEM, "out of memory");
	size_t j = 0;
	for (size_t i = 0; i < p->fx->identity_count; i++) {
		if (p->fx->identities[i].row.module_id[0] == '\0')
			refs[j++] = (struct name_ref){ p->fx->identities[i].row.device_id, i };
	}
	size_t a, b;
	if (find_duplicate(refs, j, &a, &b)) {
		free(refs);
		const struct fixture_identity *da = &p->fx->identities[a];
		const struct fixture_identity *db = &p->fx->identities[b];
		char bpath[ERR_PATH_CAP];
		jsondoc_path_member(bpath, sizeof bpath, db->path, "id", false);
		return fail(p, bpath, SH_E_INVALID, "duplicate device id \"%s\" (first at %s.id)",
			    db->row.device_id, da->path);
	}
	free(refs);
	return SH_OK;
}

static sh_rc parse_root(struct parser *p, cJSON *root)
{
	static const char *const allowed[] = { "version", "description", "settings", "policies",
					       "devices", NULL };
	sh_rc rc = want_type(p, root, "$", cJSON_Object, "a JSON object");
	if (rc == SH_OK)
		rc = check_members(p, root, "$", allowed);
	if (rc != SH_OK)
		return rc;
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (ver && !(cJSON_IsNumber(ver) && ver->valuedouble == FIXTURE_FORMAT_VERSION))
		return fail(p, "$.version", SH_E_INVALID,
			    "unsupported fixture format version (this simhub reads %d)",
			    FIXTURE_FORMAT_VERSION);
	const cJSON *desc = cJSON_GetObjectItemCaseSensitive(root, "description");
	if (desc) {
		rc = want_type(p, desc, "$.description", cJSON_String, "a string");
		if (rc != SH_OK)
			return rc;
	}
	const cJSON *settings = cJSON_GetObjectItemCaseSensitive(root, "settings");
	if (settings) {
		rc = parse_settings(p, settings, "$.settings");
		if (rc != SH_OK)
			return rc;
	}
	const cJSON *policies = cJSON_GetObjectItemCaseSensitive(root, "policies");
	if (policies) {
		rc = parse_policies(p, policies, "$.policies");
		if (rc != SH_OK)
			return rc;
	}
	cJSON *devices = cJSON_GetObjectItemCaseSensitive(root, "devices");
	if (devices)
		rc = parse_devices(p, devices, "$.devices");
	return rc;
}

/* --- text -> JSON ----------------------------------------------------------------------------- */

/*
 * Set err's line and column (1-based, counted in bytes) for offset `at` of the text, with a
 * syntax-error reason. Path is "$": the document as a whole could not be read.
 */
static sh_rc syntax_error(struct parser *p, const char *text, size_t len, size_t at,
			  const char *reason)
{
	fail(p, "$", SH_E_MALFORMED, "%s", reason);
	if (p->err)
		jsondoc_position(text, len, at, &p->err->line, &p->err->column);
	return SH_E_MALFORMED;
}

sh_rc fixture_parse(const char *text, size_t len, struct fixture **out, struct fixture_error *err)
{
	struct parser p = { .err = err };
	if (out)
		*out = NULL;
	if (err)
		memset(err, 0, sizeof *err);
	if (!out || (!text && len))
		return fail(&p, "$", SH_E_INVALID, "no output or no text given");
	if (len > FIXTURE_MAX_BYTES)
		return fail(&p, "$", SH_E_TOOLARGE, "fixture text is larger than %u bytes",
			    FIXTURE_MAX_BYTES);
	/* jsondoc_parse tolerates a UTF-8 byte order mark: some editors write one. */
	cJSON *root = NULL;
	size_t at = 0;
	const char *why = NULL;
	sh_rc prc = jsondoc_parse(text, len, &root, &at, &why);
	if (prc == SH_E_NOMEM)
		return fail(&p, "$", SH_E_NOMEM, "out of memory");
	if (prc != SH_OK)
		return syntax_error(&p, text, len, at, why);

	p.fx = calloc(1, sizeof *p.fx);
	if (!p.fx) {
		cJSON_Delete(root);
		return fail(&p, "$", SH_E_NOMEM, "out of memory");
	}
	sh_rc rc = parse_root(&p, root);
	cJSON_Delete(root);
	if (rc != SH_OK) {
		fixture_free(p.fx);
		return rc;
	}
	*out = p.fx;
	return SH_OK;
}

void fixture_free(struct fixture *fx)
{
	if (!fx)
		return;
	for (size_t i = 0; i < fx->identity_count; i++) {
		cJSON_Delete(fx->identities[i].twin.tags);
		cJSON_Delete(fx->identities[i].twin.desired);
		cJSON_Delete(fx->identities[i].twin.reported);
	}
	free(fx->identities);
	free(fx->policies);
	free(fx);
}

const char *fixture_error_format(const struct fixture_error *err, char *buf, size_t cap)
{
	if (!buf || cap == 0)
		return buf;
	if (!err) {
		snprintf(buf, cap, "unknown error");
		return buf;
	}
	if (err->line)
		snprintf(buf, cap, "line %u, column %u: %s", err->line, err->column, err->reason);
	else
		snprintf(buf, cap, "%s: %s", err->path[0] ? err->path : "$", err->reason);
	return buf;
}
