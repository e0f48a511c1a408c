/*
 * twin.c: the twin room. Applies the hub's twin rules to a stored cJSON document the caller
 * owns: validation and limits, merge, versions and etag, $metadata, and the service and device
 * views. Never reads the clock, never does I/O, never keeps state between calls.
 *
 * VERSIONS AND ETAGS
 *
 * A twin carries four counters:
 *   properties.desired.$version   +1 per successful desired write: a desired patch, a service
 *                                 PATCH that names properties.desired, a PUT.
 *   properties.reported.$version  +1 per successful reported patch from the device; it is the
 *                                 `&$version=` of the 204 answer.
 *   version                       +1 per successful write of any kind (tags, desired, reported).
 *   etagSeq (stored only)         +1 per successful service write (tags and/or desired, PATCH or
 *                                 PUT). Reported patches leave it alone.
 * The etag is base64 of etagSeq as 8 big-endian bytes: 1 -> "AAAAAAAAAAE=", 7 -> "AAAAAAAAAAc=".
 *
 * Where the numbers come from. Real twins published with their counters all fit one pattern:
 *   - a fresh twin (the Event Grid "Microsoft.Devices.DeviceCreated" sample in
 *     MicrosoftDocs/azure-docs, and the IoT Edge "edit the device twin" example): etag
 *     AAAAAAAAAAE= (1), version 2, desired and reported $version 1, each root $metadata with only
 *     $lastUpdated (no $lastUpdatedVersion yet), no tags;
 *   - after one `az iot hub device-twin update --tags` (azure-docs CLI how-to output): etag
 *     AAAAAAAAAAI= (2), version 4, desired $version 1, reported $version 2;
 *   - user-posted twins: etag 18, version 462, desired 18, reported 444; etag 11, version 927,
 *     desired 11, reported 916; etag 14, version 25, desired 14, reported 11.
 * In every sample version = desired $version + reported $version + tag writes, and the etag =
 * desired $version + tag writes. So: a fresh twin is version 2 / etag 1 / $versions 1, and a
 * device reporting does not invalidate a service's If-Match. Confidence [O] (several independent
 * captures, no written rule). [U]: a service PATCH carrying tags and desired together counts as
 * ONE write here (+1 on version, etag and desired $version); an empty patch ({}) is a write too.
 *
 * $METADATA
 *
 * Desired and reported each keep a $metadata tree mirroring their data: a node per object level
 * and per leaf, holding $lastUpdated (ISO time of the write that last touched it) and, for
 * desired only, $lastUpdatedVersion (the desired $version of that write). A write stamps the
 * section root, each node on the path of every key in the patch, and every node below a value it
 * sets; members the patch does not mention keep their stamps. A null removes the key together
 * with its metadata subtree. A value replaced by a scalar or array loses any child metadata; an
 * object written over a scalar gets metadata for its children (the real hub was once seen not to
 * do that, azure-docs issue #16960; the documented rule is "every level and leaf"). A PUT
 * rebuilds desired metadata entirely with the time of the PUT. Tags have no metadata.
 *
 * VALIDATION (§4.6), checked on the patch before anything changes
 *
 * Keys: valid UTF-8, at most max_key_bytes bytes, no C0/C1 control (U+0000-U+001F,
 * U+007F-U+009F), no '.', '$' or space. Strings: valid UTF-8, at most max_string_bytes bytes.
 * Numbers: finite; an integral value below 2^63 in magnitude (it could come from an integer
 * literal: cJSON cannot tell 5 from 5.0) must lie in -4503599627370496 .. 4503599627370495.
 * Arrays: allowed unless legacy; their elements follow the same rules except null, which is
 * rejected inside arrays. Depth: an object value is one level deeper than the object holding it;
 * the section root is level 0 and levels above max_depth are rejected (10 nested objects pass,
 * 11 fail).
 * Size, checked on the RESULT of the merge: the sum over every member of size(key) + size(value),
 * where a string (or key) counts its UTF-8 bytes minus those of C0/C1 control characters, a
 * number 8, a boolean 4, an object the sum of its members, an array the sum of its elements;
 * $metadata and $version are not counted. Over the limit: SH_E_TOOLARGE.
 *
 * ERROR CODE. Every rejection is 400004 ArgumentInvalid, section overflow included. The SDKs'
 * error-code enums have no twin-size code (413001 is MessageTooLarge, for messages), and the
 * twin-limit errors seen from the real hub are ArgumentInvalid ("ErrorCode:ArgumentInvalid;
 * Property or Tag value should be maximum 4096 bytes", Azure/azure-iot-cli-extension#62,
 * Azure/iotedge#6547). Confidence [I]. The rc (SH_E_TOOLARGE) still tells overflow apart.
 *
 * ATOMICITY. Each operation validates the patch, builds the new section(s) on copies, checks
 * sizes, creates the delta, and only then swaps the copies in and bumps the counters in place
 * (no allocation after the first change), so any failure leaves the twin byte-identical.
 */
#include <math.h>   /* isfinite only: a macro, no libm needed */
#include <stdio.h>
#include <string.h>

#include "core/base64.h"
#include "core/isotime.h"
#include "core/merge_patch.h"
#include "core/twin.h"
#include "core/utf8.h"

#define MAX_SAFE_INT 4503599627370495.0      /* 2^52 - 1 */
#define MIN_SAFE_INT (-4503599627370496.0)   /* -2^52 */
#define INTEGRAL_SPAN 9223372036854775808.0  /* 2^63: beyond this a value is surely a float */
#define MAX_COUNTER 9007199254740992.0       /* 2^53: counters stay exact as JSON numbers */

#define PATH_TAGS "tags"
#define PATH_DESIRED "properties.desired"
#define PATH_REPORTED "properties.reported"

void twin_limits_init(struct twin_limits *lim, bool legacy)
{
	lim->max_key_bytes = legacy ? 64 : 1024;
	lim->max_string_bytes = legacy ? 512 : 4096;
	lim->max_depth = legacy ? 5 : 10;
	lim->allow_arrays = !legacy;
	lim->max_tags_bytes = 8192;
	lim->max_desired_bytes = legacy ? 8192 : 32768;
	lim->max_reported_bytes = legacy ? 8192 : 32768;
}

static const struct twin_limits *limits_or_default(const struct twin_limits *lim,
						   struct twin_limits *buf)
{
	if (lim)
		return lim;
	twin_limits_init(buf, false);
	return buf;
}

/* ---- UTF-8 ------------------------------------------------------------------------------- */

static bool is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

/* ---- JSON paths for error messages -------------------------------------------------------- */

#define PATH_CAP 160

struct jpath {
	char buf[PATH_CAP];
	size_t len;
};

static void path_init(struct jpath *p, const char *root)
{
	p->len = strlen(root);
	memcpy(p->buf, root, p->len + 1);
}

/*
 * Append one segment to the path (".key", or "[i]" when key is NULL) and return the previous
 * length for path_pop. Key bytes that are not printable UTF-8 become '?', so a message never
 * carries the control characters or broken bytes it complains about. When the buffer is full the
 * path ends in "..." and further segments are dropped.
 */
static size_t path_push(struct jpath *p, const char *key, int index)
{
	size_t saved = p->len;
	const size_t limit = PATH_CAP - 4;  /* room left for "..." and the NUL */
	char seg[24];
	const unsigned char *s;
	size_t n;
	if (key) {
		if (p->len + 1 > limit)
			goto full;
		p->buf[p->len++] = '.';
		s = (const unsigned char *)key;
		n = strlen(key);
	} else {
		snprintf(seg, sizeof seg, "[%d]", index);
		s = (const unsigned char *)seg;
		n = strlen(seg);
	}
	while (n > 0) {
		uint32_t cp;
		size_t k = utf8_decode(s, n, &cp);
		bool ok = k > 0 && !is_control(cp);
		size_t step = ok ? k : 1;   /* a bad byte is consumed alone and shown as '?' */
		if (p->len + step > limit)
			goto full;
		if (ok)
			memcpy(p->buf + p->len, s, k);
		else
			p->buf[p->len] = '?';
		p->len += step;
		s += step;
		n -= step;
	}
	p->buf[p->len] = '\0';
	return saved;
full:
	if (p->len < 3 || memcmp(p->buf + p->len - 3, "...", 3) != 0) {
		memcpy(p->buf + p->len, "...", 3);
		p->len += 3;
	}
	p->buf[p->len] = '\0';
	return saved;
}

static void path_pop(struct jpath *p, size_t saved)
{
	p->len = saved;
	p->buf[saved] = '\0';
}

/* ---- validation ---------------------------------------------------------------------------- */

struct vctx {
	const struct twin_limits *lim;
	struct iothub_err *err;
	struct jpath path;
};

static sh_rc reject(struct vctx *v, const char *what)
{
	iothub_err_set(v->err, IOTHUB_ARGUMENT_INVALID, "%s: %s", v->path.buf, what);
	return SH_E_INVALID;
}

static sh_rc check_key(struct vctx *v, const char *key)
{
	const unsigned char *s = (const unsigned char *)key;
	size_t n = strlen(key);
	if (n > v->lim->max_key_bytes) {
		char msg[64];
		snprintf(msg, sizeof msg, "key is longer than %zu bytes", v->lim->max_key_bytes);
		return reject(v, msg);
	}
	while (n > 0) {
		uint32_t cp;
		size_t k = utf8_decode(s, n, &cp);
		if (k == 0)
			return reject(v, "key is not valid UTF-8");
		if (is_control(cp))
			return reject(v, "key contains a control character");
		if (cp == '.')
			return reject(v, "key contains '.'");
		if (cp == '$')
			return reject(v, "key contains '$'");
		if (cp == ' ')
			return reject(v, "key contains a space");
		s += k;
		n -= k;
	}
	return SH_OK;
}

static sh_rc check_string(struct vctx *v, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);
	if (n > v->lim->max_string_bytes) {
		char msg[64];
		snprintf(msg, sizeof msg, "string is longer than %zu bytes", v->lim->max_string_bytes);
		return reject(v, msg);
	}
	while (n > 0) {
		uint32_t cp;
		size_t k = utf8_decode(s, n, &cp);
		if (k == 0)
			return reject(v, "string is not valid UTF-8");
		s += k;
		n -= k;
	}
	return SH_OK;
}

static sh_rc check_object(struct vctx *v, const cJSON *obj, int depth);

/* A finite whole number below 2^63 in magnitude (where an integer literal could have led). */
static bool is_integral(double d)
{
	return d > -INTEGRAL_SPAN && d < INTEGRAL_SPAN && d == (double)(int64_t)d;
}

/*
 * Check one value found at v->path, `depth` being the level of the object that holds it. Null
 * is a deletion and fine as an object member, but not inside an array (in_array).
 */
static sh_rc check_value(struct vctx *v, const cJSON *val, int depth, bool in_array)
{
	if (cJSON_IsNull(val))
		return in_array ? reject(v, "null inside an array") : SH_OK;
	if (cJSON_IsBool(val))
		return SH_OK;
	if (cJSON_IsNumber(val)) {
		double d = val->valuedouble;
		if (!isfinite(d))
			return reject(v, "number is not finite");
		if (is_integral(d) && (d > MAX_SAFE_INT || d < MIN_SAFE_INT))
			return reject(v, "integer out of range -4503599627370496..4503599627370495");
		return SH_OK;
	}
	if (cJSON_IsString(val))
		return check_string(v, val->valuestring);
	if (cJSON_IsArray(val)) {
		if (!v->lim->allow_arrays)
			return reject(v, "arrays are not supported");
		int i = 0;
		for (const cJSON *e = val->child; e; e = e->next, i++) {
			size_t saved = path_push(&v->path, NULL, i);
			sh_rc rc = check_value(v, e, depth, true);
			path_pop(&v->path, saved);
			if (rc != SH_OK)
				return rc;
		}
		return SH_OK;
	}
	if (cJSON_IsObject(val)) {
		if (depth + 1 > v->lim->max_depth) {
			char msg[64];
			snprintf(msg, sizeof msg, "nesting deeper than %d levels", v->lim->max_depth);
			return reject(v, msg);
		}
		return check_object(v, val, depth + 1);
	}
	return reject(v, "unsupported value type");
}

static sh_rc check_object(struct vctx *v, const cJSON *obj, int depth)
{
	for (const cJSON *m = obj->child; m; m = m->next) {
		if (!m->string)
			return reject(v, "member without a name");
		size_t saved = path_push(&v->path, m->string, 0);
		sh_rc rc = check_key(v, m->string);
		if (rc == SH_OK)
			rc = check_value(v, m, depth, false);
		path_pop(&v->path, saved);
		if (rc != SH_OK)
			return rc;
	}
	return SH_OK;
}

/*
 * Validate a patch (or replacement body) for the section named `root`: it must be an object,
 * and every key and value in it must follow the limits. Fills err and returns SH_E_INVALID on
 * the first problem found, in document order.
 */
static sh_rc check_patch(const cJSON *patch, const char *root, const struct twin_limits *lim,
			 struct iothub_err *err)
{
	struct vctx v = { .lim = lim, .err = err };
	path_init(&v.path, root);
	if (!cJSON_IsObject(patch))
		return reject(&v, "must be a JSON object");
	return check_object(&v, patch, 0);
}

/* ---- sizes ------------------------------------------------------------------------------- */

/* Size of a string under the §4.6 rule: UTF-8 bytes, control characters not counted. */
static size_t string_size(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), total = 0;
	while (n > 0) {
		uint32_t cp;
		size_t k = utf8_decode(s, n, &cp);
		if (k == 0) {
			k = 1;   /* stored data is valid; count stray bytes anyway */
			total++;
		} else if (!is_control(cp)) {
			total += k;
		}
		s += k;
		n -= k;
	}
	return total;
}

static size_t value_size(const cJSON *v)
{
	if (cJSON_IsString(v))
		return string_size(v->valuestring);
	if (cJSON_IsNumber(v))
		return 8;
	if (cJSON_IsBool(v))
		return 4;
	size_t total = 0;
	if (cJSON_IsObject(v)) {
		for (const cJSON *m = v->child; m; m = m->next)
			total += (m->string ? string_size(m->string) : 0) + value_size(m);
	} else if (cJSON_IsArray(v)) {
		for (const cJSON *m = v->child; m; m = m->next)
			total += value_size(m);
	}
	return total;
}

/* Size of a section: every member except the "$"-named ones ($metadata, $version). */
static size_t section_size(const cJSON *section)
{
	size_t total = 0;
	for (const cJSON *m = section->child; m; m = m->next) {
		if (m->string && m->string[0] == '$')
			continue;
		total += (m->string ? string_size(m->string) : 0) + value_size(m);
	}
	return total;
}

static sh_rc check_size(const cJSON *section, size_t max, const char *root, struct iothub_err *err)
{
	size_t size = section_size(section);
	if (size <= max)
		return SH_OK;
	iothub_err_set(err, IOTHUB_ARGUMENT_INVALID,
		       "%s: size %zu bytes exceeds the limit of %zu bytes", root, size, max);
	return SH_E_TOOLARGE;
}

/* ---- the stored document ------------------------------------------------------------------ */

struct parts {
	cJSON *version, *etag_seq, *tags, *props, *desired, *reported;
	cJSON *dver, *rver, *dmeta, *rmeta;
};

static bool counter_ok(const cJSON *n)
{
	return cJSON_IsNumber(n) && n->valuedouble >= 0 && n->valuedouble <= MAX_COUNTER &&
	       n->valuedouble == (double)(int64_t)n->valuedouble;
}

static int64_t counter(const cJSON *n)
{
	return (int64_t)n->valuedouble;
}

/*
 * Find the members of a stored twin. Returns false unless every one is there with the right
 * type: numbers for version, etagSeq and both $version (whole, 0..2^53), objects for tags,
 * properties, desired, reported and both $metadata.
 */
static bool get_parts(const cJSON *twin, struct parts *p)
{
	if (!cJSON_IsObject(twin))
		return false;
	p->version = cJSON_GetObjectItemCaseSensitive(twin, "version");
	p->etag_seq = cJSON_GetObjectItemCaseSensitive(twin, "etagSeq");
	p->tags = cJSON_GetObjectItemCaseSensitive(twin, "tags");
	p->props = cJSON_GetObjectItemCaseSensitive(twin, "properties");
	if (!counter_ok(p->version) || !counter_ok(p->etag_seq) || !cJSON_IsObject(p->tags) ||
	    !cJSON_IsObject(p->props))
		return false;
	p->desired = cJSON_GetObjectItemCaseSensitive(p->props, "desired");
	p->reported = cJSON_GetObjectItemCaseSensitive(p->props, "reported");
	if (!cJSON_IsObject(p->desired) || !cJSON_IsObject(p->reported))
		return false;
	p->dver = cJSON_GetObjectItemCaseSensitive(p->desired, "$version");
	p->rver = cJSON_GetObjectItemCaseSensitive(p->reported, "$version");
	p->dmeta = cJSON_GetObjectItemCaseSensitive(p->desired, "$metadata");
	p->rmeta = cJSON_GetObjectItemCaseSensitive(p->reported, "$metadata");
	return counter_ok(p->dver) && counter_ok(p->rver) && cJSON_IsObject(p->dmeta) &&
	       cJSON_IsObject(p->rmeta);
}

static sh_rc malformed(struct iothub_err *err)
{
	iothub_err_set(err, IOTHUB_SERVER_ERROR, "stored twin is malformed");
	return SH_E_MALFORMED;
}

static sh_rc no_memory(struct iothub_err *err)
{
	iothub_err_set(err, IOTHUB_SERVER_ERROR, "out of memory");
	return SH_E_NOMEM;
}

/* Counters must stay exact as JSON numbers; past 2^53 the twin refuses further writes. */
static bool can_bump(const cJSON *n)
{
	return n->valuedouble < MAX_COUNTER;
}

static void bump(cJSON *n)
{
	cJSON_SetNumberValue(n, n->valuedouble + 1);
}

/* Add `item` to `obj` under `key` (obj takes it); frees item and returns false on failure. */
static bool add(cJSON *obj, const char *key, cJSON *item)
{
	if (!item)
		return false;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

/* Like add(), but replaces the first member named `key` when there is one. */
static bool put(cJSON *obj, const char *key, cJSON *item)
{
	if (!item)
		return false;
	if (cJSON_GetObjectItemCaseSensitive(obj, key)) {
		if (!cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item)) {
			cJSON_Delete(item);
			return false;
		}
		return true;
	}
	return add(obj, key, item);
}

/* ---- metadata ---------------------------------------------------------------------------- */

/* Set $lastUpdated (and $lastUpdatedVersion when ver >= 0) on a metadata node. */
static bool stamp(cJSON *node, const char *ts, int64_t ver)
{
	if (!put(node, "$lastUpdated", cJSON_CreateString(ts)))
		return false;
	return ver < 0 || put(node, "$lastUpdatedVersion", cJSON_CreateNumber((double)ver));
}

/*
 * A fresh metadata node for `value` and, when it is an object, for everything below it; every
 * node stamped with ts/ver. Returns NULL on allocation failure.
 */
static cJSON *meta_build(const cJSON *value, const char *ts, int64_t ver)
{
	cJSON *node = cJSON_CreateObject();
	if (!node || !stamp(node, ts, ver)) {
		cJSON_Delete(node);
		return NULL;
	}
	if (cJSON_IsObject(value)) {
		for (const cJSON *m = value->child; m; m = m->next) {
			if (!m->string || !add(node, m->string, meta_build(m, ts, ver))) {
				cJSON_Delete(node);
				return NULL;
			}
		}
	}
	return node;
}

/*
 * Bring the metadata node `meta` (of an object that `patch` was just merged into) up to date:
 * for each key of the patch, null drops the key's node, an object stamps the key's node (made
 * fresh if missing) and recurses, any other value gets a fresh node. The caller stamps `meta`
 * itself. Works on a copy, so a failure half-way only costs the copy.
 */
static bool meta_apply(cJSON *meta, const cJSON *patch, const char *ts, int64_t ver)
{
	for (const cJSON *p = patch->child; p; p = p->next) {
		const char *key = p->string;
		if (!key)
			continue;
		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(meta, key);
			continue;
		}
		if (cJSON_IsObject(p)) {
			cJSON *node = cJSON_GetObjectItemCaseSensitive(meta, key);
			if (!cJSON_IsObject(node)) {
				node = cJSON_CreateObject();
				if (!put(meta, key, node))
					return false;
			}
			if (!stamp(node, ts, ver) || !meta_apply(node, p, ts, ver))
				return false;
			continue;
		}
		if (!put(meta, key, meta_build(p, ts, ver)))
			return false;
	}
	return true;
}

/* ---- section updates ---------------------------------------------------------------------- */

/*
 * Build the patched copy of one section (the live section is not touched): merge `patch` into a
 * duplicate, update its $metadata when `ts` is set (desired: ver >= 0 adds $lastUpdatedVersion),
 * set its $version when ver_field >= 0, and check its size. *out gets the copy (caller owns).
 */
static sh_rc patched_section(const cJSON *section, const cJSON *patch, const char *ts,
			     int64_t meta_ver, int64_t ver_field, size_t max, const char *root,
			     cJSON **out, struct iothub_err *err)
{
	cJSON *copy = cJSON_Duplicate(section, 1);
	if (!copy)
		return no_memory(err);
	sh_rc rc = merge_patch_apply(copy, patch);
	if (rc != SH_OK) {
		cJSON_Delete(copy);
		return rc == SH_E_NOMEM ? no_memory(err) : malformed(err);
	}
	if (ts) {
		cJSON *meta = cJSON_GetObjectItemCaseSensitive(copy, "$metadata");
		if (!meta || !meta_apply(meta, patch, ts, meta_ver) || !stamp(meta, ts, meta_ver)) {
			cJSON_Delete(copy);
			return no_memory(err);
		}
	}
	if (ver_field >= 0)
		cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(copy, "$version"), (double)ver_field);
	rc = check_size(copy, max, root, err);
	if (rc != SH_OK) {
		cJSON_Delete(copy);
		return rc;
	}
	*out = copy;
	return SH_OK;
}

/* The delta for a desired write: a copy of `body` plus "$version": ver. NULL on failure. */
static cJSON *make_delta(const cJSON *body, int64_t ver)
{
	cJSON *d = cJSON_Duplicate(body, 1);
	if (d && !add(d, "$version", cJSON_CreateNumber((double)ver))) {
		cJSON_Delete(d);
		return NULL;
	}
	return d;
}

static sh_rc time_text(int64_t now_us, char ts[ISOTIME_BUF], struct iothub_err *err)
{
	if (isotime_format(now_us, ts) != SH_OK) {
		iothub_err_set(err, IOTHUB_SERVER_ERROR, "clock value out of range");
		return SH_E_INVALID;
	}
	return SH_OK;
}

/* Swap `fresh` in for `old` inside `parent` (no allocation; fresh keeps its own name). */
static void swap_in(cJSON *parent, cJSON *old, cJSON *fresh)
{
	cJSON_ReplaceItemViaPointer(parent, old, fresh);
}

static sh_rc counters_full(struct iothub_err *err)
{
	iothub_err_set(err, IOTHUB_SERVER_ERROR, "twin version counter exhausted");
	return SH_E_STATE;
}

/* ---- operations -------------------------------------------------------------------------- */

cJSON *twin_new(int64_t now_us)
{
	char ts[ISOTIME_BUF];
	isotime_format(now_us, ts);
	cJSON *t = cJSON_CreateObject();
	cJSON *props = cJSON_CreateObject();
	cJSON *sec[2] = { cJSON_CreateObject(), cJSON_CreateObject() };
	bool ok = t && props && sec[0] && sec[1];
	for (int i = 0; ok && i < 2; i++) {
		cJSON *meta = cJSON_CreateObject();
		ok = add(sec[i], "$metadata", meta) && stamp(meta, ts, -1) &&
		     add(sec[i], "$version", cJSON_CreateNumber(1));
	}
	if (ok) {
		ok = add(props, "desired", sec[0]);
		sec[0] = NULL;
		ok = ok && add(props, "reported", sec[1]);
		sec[1] = NULL;
		ok = ok && add(t, "version", cJSON_CreateNumber(2)) &&
		     add(t, "etagSeq", cJSON_CreateNumber(1)) &&
		     add(t, "tags", cJSON_CreateObject()) && add(t, "properties", props);
		props = NULL;
	}
	cJSON_Delete(sec[0]);
	cJSON_Delete(sec[1]);
	cJSON_Delete(props);
	if (!ok) {
		cJSON_Delete(t);
		return NULL;
	}
	return t;
}

sh_rc twin_patch_desired(cJSON *twin, const cJSON *patch, int64_t now_us,
			 const struct twin_limits *lim, cJSON **delta_out, struct iothub_err *err)
{
	struct twin_limits lbuf;
	struct parts p;
	char ts[ISOTIME_BUF];
	lim = limits_or_default(lim, &lbuf);
	if (!get_parts(twin, &p))
		return malformed(err);
	sh_rc rc = check_patch(patch, PATH_DESIRED, lim, err);
	if (rc != SH_OK)
		return rc;
	if ((rc = time_text(now_us, ts, err)) != SH_OK)
		return rc;
	if (!can_bump(p.version) || !can_bump(p.etag_seq) || !can_bump(p.dver))
		return counters_full(err);
	int64_t ver = counter(p.dver) + 1;
	cJSON *fresh = NULL, *delta = NULL;
	rc = patched_section(p.desired, patch, ts, ver, ver, lim->max_desired_bytes, PATH_DESIRED,
			     &fresh, err);
	if (rc != SH_OK)
		return rc;
	if (delta_out && !(delta = make_delta(patch, ver))) {
		cJSON_Delete(fresh);
		return no_memory(err);
	}
	swap_in(p.props, p.desired, fresh);
	bump(p.version);
	bump(p.etag_seq);
	if (delta_out)
		*delta_out = delta;
	return SH_OK;
}

sh_rc twin_patch_reported(cJSON *twin, const cJSON *patch, int64_t now_us,
			  const struct twin_limits *lim, int64_t *version_out, struct iothub_err *err)
{
	struct twin_limits lbuf;
	struct parts p;
	char ts[ISOTIME_BUF];
	lim = limits_or_default(lim, &lbuf);
	if (!get_parts(twin, &p))
		return malformed(err);
	if (!cJSON_IsObject(patch))
		return check_patch(patch, PATH_REPORTED, lim, err);
	/* Work on a copy without the tolerated top-level "$version" (every occurrence). */
	cJSON *body = cJSON_Duplicate(patch, 1);
	if (!body)
		return no_memory(err);
	while (cJSON_GetObjectItemCaseSensitive(body, "$version"))
		cJSON_DeleteItemFromObjectCaseSensitive(body, "$version");
	sh_rc rc = check_patch(body, PATH_REPORTED, lim, err);
	if (rc == SH_OK)
		rc = time_text(now_us, ts, err);
	if (rc == SH_OK && (!can_bump(p.version) || !can_bump(p.rver)))
		rc = counters_full(err);
	cJSON *fresh = NULL;
	int64_t ver = counter(p.rver) + 1;
	if (rc == SH_OK)
		rc = patched_section(p.reported, body, ts, -1, ver, lim->max_reported_bytes,
				     PATH_REPORTED, &fresh, err);
	cJSON_Delete(body);
	if (rc != SH_OK)
		return rc;
	swap_in(p.props, p.reported, fresh);
	bump(p.version);
	if (version_out)
		*version_out = ver;
	return SH_OK;
}

sh_rc twin_patch_tags(cJSON *twin, const cJSON *patch, const struct twin_limits *lim,
		      struct iothub_err *err)
{
	struct twin_limits lbuf;
	struct parts p;
	lim = limits_or_default(lim, &lbuf);
	if (!get_parts(twin, &p))
		return malformed(err);
	sh_rc rc = check_patch(patch, PATH_TAGS, lim, err);
	if (rc != SH_OK)
		return rc;
	if (!can_bump(p.version) || !can_bump(p.etag_seq))
		return counters_full(err);
	cJSON *fresh = NULL;
	rc = patched_section(p.tags, patch, NULL, -1, -1, lim->max_tags_bytes, PATH_TAGS, &fresh, err);
	if (rc != SH_OK)
		return rc;
	swap_in(twin, p.tags, fresh);
	bump(p.version);
	bump(p.etag_seq);
	return SH_OK;
}

/* True when an object has no member whose name does not start with '$'. */
static bool only_dollar_keys(const cJSON *obj)
{
	for (const cJSON *m = obj->child; m; m = m->next)
		if (!m->string || m->string[0] != '$')
			return false;
	return true;
}

static sh_rc bad_part(const char *path, const char *what, struct iothub_err *err)
{
	iothub_err_set(err, IOTHUB_ARGUMENT_INVALID, "%s: %s", path, what);
	return SH_E_INVALID;
}

/*
 * Pick the tags and desired parts out of a service PATCH body. *tags and *desired are set to the
 * part (borrowed from body) or NULL when absent or null. Rejects a body that is not an object, a
 * part of the wrong type, a non-empty properties.reported and unknown sections in properties.
 */
static sh_rc split_service_patch(const cJSON *body, const cJSON **tags, const cJSON **desired,
				 struct iothub_err *err)
{
	*tags = *desired = NULL;
	if (!cJSON_IsObject(body))
		return bad_part("twin", "patch must be a JSON object", err);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(body, "tags");
	if (t && !cJSON_IsNull(t)) {
		if (!cJSON_IsObject(t))
			return bad_part(PATH_TAGS, "must be a JSON object", err);
		*tags = t;
	}
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(body, "properties");
	if (!props || cJSON_IsNull(props))
		return SH_OK;
	if (!cJSON_IsObject(props))
		return bad_part("properties", "must be a JSON object", err);
	for (const cJSON *m = props->child; m; m = m->next) {
		const char *k = m->string ? m->string : "";
		if (strcmp(k, "desired") == 0) {
			if (cJSON_IsNull(m))
				continue;
			if (!cJSON_IsObject(m))
				return bad_part(PATH_DESIRED, "must be a JSON object", err);
			*desired = m;
		} else if (strcmp(k, "reported") == 0) {
			if (cJSON_IsNull(m) || (cJSON_IsObject(m) && only_dollar_keys(m)))
				continue;
			return bad_part(PATH_REPORTED, "reported properties cannot be set by the service",
					err);
		} else {
			struct jpath jp;
			path_init(&jp, "properties");
			path_push(&jp, k, 0);
			return bad_part(jp.buf, "unknown properties section", err);
		}
	}
	return SH_OK;
}

sh_rc twin_service_patch(cJSON *twin, const cJSON *body, int64_t now_us,
			 const struct twin_limits *lim, cJSON **delta_out, struct iothub_err *err)
{
	struct twin_limits lbuf;
	struct parts p;
	char ts[ISOTIME_BUF];
	const cJSON *tags, *desired;
	lim = limits_or_default(lim, &lbuf);
	if (!get_parts(twin, &p))
		return malformed(err);
	sh_rc rc = split_service_patch(body, &tags, &desired, err);
	if (rc == SH_OK && tags)
		rc = check_patch(tags, PATH_TAGS, lim, err);
	if (rc == SH_OK && desired)
		rc = check_patch(desired, PATH_DESIRED, lim, err);
	if (rc != SH_OK)
		return rc;
	if (delta_out)
		*delta_out = NULL;
	if (!tags && !desired)
		return SH_OK;
	if ((rc = time_text(now_us, ts, err)) != SH_OK)
		return rc;
	if (!can_bump(p.version) || !can_bump(p.etag_seq) || !can_bump(p.dver))
		return counters_full(err);

	int64_t ver = counter(p.dver) + 1;
	cJSON *new_tags = NULL, *new_desired = NULL, *delta = NULL;
	if (tags)
		rc = patched_section(p.tags, tags, NULL, -1, -1, lim->max_tags_bytes, PATH_TAGS,
				     &new_tags, err);
	if (rc == SH_OK && desired)
		rc = patched_section(p.desired, desired, ts, ver, ver, lim->max_desired_bytes,
				     PATH_DESIRED, &new_desired, err);
	if (rc == SH_OK && desired && delta_out && !(delta = make_delta(desired, ver)))
		rc = no_memory(err);
	if (rc != SH_OK) {
		cJSON_Delete(new_tags);
		cJSON_Delete(new_desired);
		return rc;
	}
	if (new_tags)
		swap_in(twin, p.tags, new_tags);
	if (new_desired)
		swap_in(p.props, p.desired, new_desired);
	bump(p.version);
	bump(p.etag_seq);
	if (desired && delta_out)
		*delta_out = delta;
	return SH_OK;
}

/*
 * A copy of the desired part of a PUT body without its own "$metadata" and "$version" at the
 * root (a GET result carries them). Other "$" keys stay, so validation rejects them.
 */
static cJSON *strip_desired_root(const cJSON *desired)
{
	cJSON *copy = cJSON_Duplicate(desired, 1);
	if (!copy)
		return NULL;
	while (cJSON_GetObjectItemCaseSensitive(copy, "$metadata"))
		cJSON_DeleteItemFromObjectCaseSensitive(copy, "$metadata");
	while (cJSON_GetObjectItemCaseSensitive(copy, "$version"))
		cJSON_DeleteItemFromObjectCaseSensitive(copy, "$version");
	return copy;
}

/*
 * Give an unnamed item the member name `name` so that it can later be swapped into a parent
 * without allocating: it is added to a scratch object (which copies the name) and detached.
 * Returns the item, or NULL (item freed) on allocation failure.
 */
static cJSON *named(cJSON *item, const char *name)
{
	cJSON *tmp = cJSON_CreateObject();
	if (!tmp || !cJSON_AddItemToObject(tmp, name, item)) {
		cJSON_Delete(tmp);
		cJSON_Delete(item);
		return NULL;
	}
	cJSON_DetachItemViaPointer(tmp, item);
	cJSON_Delete(tmp);
	return item;
}

/*
 * Validate a PUT body and build the replacement tags and desired sections. On success *tags_out
 * and *desired_out are new sections (caller owns) and *data_out the new desired data alone, for
 * the delta; all three are NULL after a failure.
 */
static sh_rc build_replacement(const cJSON *body, const char *ts, int64_t ver,
			       const struct twin_limits *lim, cJSON **tags_out, cJSON **desired_out,
			       cJSON **data_out, struct iothub_err *err)
{
	*tags_out = *desired_out = *data_out = NULL;
	if (!cJSON_IsObject(body))
		return bad_part("twin", "replacement must be a JSON object", err);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(body, "tags");
	if (t && !cJSON_IsNull(t) && !cJSON_IsObject(t))
		return bad_part(PATH_TAGS, "must be a JSON object", err);
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(body, "properties");
	const cJSON *d = NULL;
	if (props && !cJSON_IsNull(props)) {
		if (!cJSON_IsObject(props))
			return bad_part("properties", "must be a JSON object", err);
		d = cJSON_GetObjectItemCaseSensitive(props, "desired");
		if (d && !cJSON_IsNull(d) && !cJSON_IsObject(d))
			return bad_part(PATH_DESIRED, "must be a JSON object", err);
	}
	sh_rc rc = SH_OK;
	if (cJSON_IsObject(t))
		rc = check_patch(t, PATH_TAGS, lim, err);
	cJSON *dbody = cJSON_IsObject(d) ? strip_desired_root(d) : cJSON_CreateObject();
	if (!dbody)
		return no_memory(err);
	if (rc == SH_OK)
		rc = check_patch(dbody, PATH_DESIRED, lim, err);
	cJSON *tags = NULL, *data = NULL, *desired = NULL;
	if (rc == SH_OK) {
		/* Merging into {} drops nulls and repeated keys, as a patch would. */
		tags = cJSON_IsObject(t) ? merge_patch(NULL, t) : cJSON_CreateObject();
		data = merge_patch(NULL, dbody);
		desired = data ? cJSON_Duplicate(data, 1) : NULL;
		if (!tags || !data || !desired)
			rc = no_memory(err);
	}
	cJSON_Delete(dbody);
	if (rc == SH_OK) {
		cJSON *meta = meta_build(data, ts, ver);
		if (!add(desired, "$metadata", meta) ||
		    !add(desired, "$version", cJSON_CreateNumber((double)ver)) ||
		    !(tags = named(tags, "tags")) || !(desired = named(desired, "desired")))
			rc = no_memory(err);
	}
	if (rc == SH_OK)
		rc = check_size(tags, lim->max_tags_bytes, PATH_TAGS, err);
	if (rc == SH_OK)
		rc = check_size(desired, lim->max_desired_bytes, PATH_DESIRED, err);
	if (rc != SH_OK) {
		cJSON_Delete(tags);
		cJSON_Delete(data);
		cJSON_Delete(desired);
		return rc;
	}
	*tags_out = tags;
	*desired_out = desired;
	*data_out = data;
	return SH_OK;
}

sh_rc twin_replace(cJSON *twin, const cJSON *body, int64_t now_us, const struct twin_limits *lim,
		   cJSON **delta_out, struct iothub_err *err)
{
	struct twin_limits lbuf;
	struct parts p;
	char ts[ISOTIME_BUF];
	lim = limits_or_default(lim, &lbuf);
	if (!get_parts(twin, &p))
		return malformed(err);
	sh_rc rc = time_text(now_us, ts, err);
	if (rc != SH_OK)
		return rc;
	if (!can_bump(p.version) || !can_bump(p.etag_seq) || !can_bump(p.dver))
		return counters_full(err);
	int64_t ver = counter(p.dver) + 1;
	cJSON *tags, *desired, *data, *delta = NULL;
	rc = build_replacement(body, ts, ver, lim, &tags, &desired, &data, err);
	if (rc != SH_OK)
		return rc;
	if (delta_out && !(delta = make_delta(data, ver))) {
		cJSON_Delete(tags);
		cJSON_Delete(desired);
		cJSON_Delete(data);
		return no_memory(err);
	}
	cJSON_Delete(data);
	swap_in(twin, p.tags, tags);
	swap_in(p.props, p.desired, desired);
	bump(p.version);
	bump(p.etag_seq);
	if (delta_out)
		*delta_out = delta;
	return SH_OK;
}

/* ---- views ------------------------------------------------------------------------------- */

/* Data members of a section (no "$" names), then $metadata when with_meta, then $version. */
static cJSON *section_view(const cJSON *section, bool with_meta)
{
	cJSON *out = cJSON_CreateObject();
	if (!out)
		return NULL;
	for (const cJSON *m = section->child; m; m = m->next) {
		if (!m->string || m->string[0] == '$')
			continue;
		if (!add(out, m->string, cJSON_Duplicate(m, 1)))
			goto fail;
	}
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(section, "$metadata");
	if (with_meta && !add(out, "$metadata", cJSON_Duplicate(meta, 1)))
		goto fail;
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(section, "$version");
	if (!add(out, "$version", cJSON_CreateNumber(ver->valuedouble)))
		goto fail;
	return out;
fail:
	cJSON_Delete(out);
	return NULL;
}

cJSON *twin_service_view(const cJSON *twin)
{
	struct parts p;
	char etag[16];
	if (!get_parts(twin, &p) || twin_etag(twin, etag) != SH_OK)
		return NULL;
	cJSON *out = cJSON_CreateObject();
	cJSON *props = cJSON_CreateObject();
	bool ok = out && props && add(out, "etag", cJSON_CreateString(etag)) &&
		  add(out, "version", cJSON_CreateNumber(p.version->valuedouble)) &&
		  add(out, "tags", cJSON_Duplicate(p.tags, 1)) &&
		  add(props, "desired", section_view(p.desired, true)) &&
		  add(props, "reported", section_view(p.reported, true));
	if (ok) {
		ok = add(out, "properties", props);
		props = NULL;
	}
	cJSON_Delete(props);
	if (!ok) {
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}

cJSON *twin_device_view(const cJSON *twin)
{
	struct parts p;
	if (!get_parts(twin, &p))
		return NULL;
	cJSON *out = cJSON_CreateObject();
	if (!out || !add(out, "desired", section_view(p.desired, false)) ||
	    !add(out, "reported", section_view(p.reported, false))) {
		cJSON_Delete(out);
		return NULL;
	}
	return out;
}

sh_rc twin_etag(const cJSON *twin, char out[16])
{
	struct parts p;
	out[0] = '\0';
	if (!get_parts(twin, &p))
		return SH_E_MALFORMED;
	uint64_t v = (uint64_t)counter(p.etag_seq);
	uint8_t be[8];
	for (int i = 7; i >= 0; i--) {
		be[i] = (uint8_t)(v & 0xFF);
		v >>= 8;
	}
	return base64_encode(be, sizeof be, out, 16, NULL);
}

int64_t twin_version(const cJSON *twin)
{
	struct parts p;
	return get_parts(twin, &p) ? counter(p.version) : -1;
}

int64_t twin_desired_version(const cJSON *twin)
{
	struct parts p;
	return get_parts(twin, &p) ? counter(p.dver) : -1;
}

int64_t twin_reported_version(const cJSON *twin)
{
	struct parts p;
	return get_parts(twin, &p) ? counter(p.rver) : -1;
}
