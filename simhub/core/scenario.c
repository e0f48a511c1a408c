/*
 * scenario.c: scenario JSON text -> validated struct scenario (format: docs/scenarios.md).
 * Pure: never opens the fixture files it names (the runner does), never reads the clock or the
 * environment. Everything that can be checked before an agent starts is checked here, so a bad
 * file exits 2 at once instead of failing half-way through a run.
 *
 * Errors name the file, the line and the JSON path of the offending value:
 *   `s.json:14: $.steps[2].within: "10 parsecs" is not a duration (use 500ms, 10s, ...)`.
 * cJSON keeps no positions, so lines come from a second, tiny scan of the text that records
 * where each value starts, in document order; a pre-order walk of the cJSON tree visits values
 * in that same order, which pairs every node with its line (struct line_map).
 * Steps are table-driven: each kind lists its allowed and required keys (struct kind_def), each
 * key has one field parser (struct field_def), and a per-kind check runs last for rules that
 * span keys (defaults, "within or for", captures that must exist).
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
#include "core/jsonmatch.h"
#include "core/scenario.h"

#define ERR_PATH_CAP sizeof(((struct scenario_error *)0)->path)
#define MAX_FIXTURES 100u
#define MAX_VARIABLES 1000u
#define MAX_ENV 1000u
#define MAX_ARGV 1000u
#define MAX_KEYS 64u
#define MAX_CAPTURES 1000u
#define PLACEHOLDER_MAX 300          /* bytes between {{ and }} */

/* --- small growable things ------------------------------------------------------------------- */

/* A growable byte buffer for expansions; `ok` turns false after an allocation failure. */
struct buf {
	char *s;
	size_t len, cap;
	bool ok;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (!b->ok)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *ns = realloc(b->s, cap);
		if (!ns) {
			b->ok = false;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* Map from cJSON node to the 1-based line where its value starts. */
struct line_entry {
	const cJSON *node;
	unsigned line;
};

struct line_map {
	struct line_entry *e;
	size_t n;
};

/* A capture defined by a step, in step order. */
struct capture_def {
	char name[SCENARIO_NAME_MAX + 1];
	enum scenario_kind kind;
	bool async;
};

/* Parser state. */
struct parser {
	struct scenario *sc;
	struct scenario_error *err;
	struct line_map lines;
	struct capture_def *captures;
	size_t capture_count;
	size_t step_cap;
	size_t identity_cap;
	bool in_agent;               /* template check: captures do not exist for the agent */
	char lookup_reason[256];     /* why the template check's lookup refused a name */
};

/* --- errors ---------------------------------------------------------------------------------- */

static unsigned line_of(const struct parser *p, const cJSON *node);

/*
 * Record an error at `path` (line taken from `node`, which may be NULL) with a printf-style
 * reason and return `rc`. Parsing stops at the first error, so only one is ever kept.
 */
static sh_rc fail(struct parser *p, const cJSON *node, const char *path, sh_rc rc,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static sh_rc fail(struct parser *p, const cJSON *node, const char *path, sh_rc rc,
		  const char *fmt, ...)
{
	if (!p->err)
		return rc;
	snprintf(p->err->path, sizeof p->err->path, "%s", path);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err->reason, sizeof p->err->reason, fmt, ap);
	va_end(ap);
	p->err->line = node ? line_of(p, node) : 0;
	p->err->column = 0;
	return rc;
}

/* Quote untrusted text for a message: printable ASCII kept, the rest '?', cut at 60 bytes. */
static void quote(char *out, size_t cap, const char *s)
{
	char shown[72];
	size_t k = 0, n = strlen(s);
	for (size_t i = 0; i < n && i < 60; i++) {
		unsigned char c = (unsigned char)s[i];
		shown[k++] = (c < 0x20 || c >= 0x7f || c == '"') ? '?' : (char)c;
	}
	if (n > 60) {
		memcpy(shown + k, "...", 3);
		k += 3;
	}
	shown[k] = '\0';
	snprintf(out, cap, "\"%s\"", shown);
}

/* --- line map -------------------------------------------------------------------------------- */

/*
 * Scan JSON text that cJSON already accepted and append the line of every value start (not
 * object keys) in document order to `lines`. The container stack only needs one byte per level,
 * and cJSON refuses nesting beyond CJSON_NESTING_LIMIT, so a fixed array is enough; on any
 * surprise the scan stops and lines stay unknown (0) rather than wrong.
 */
static size_t scan_lines(const char *t, size_t len, unsigned *lines, size_t cap)
{
	char stack[CJSON_NESTING_LIMIT + 8];
	size_t depth = 0, n = 0;
	bool want_key = false;   /* inside an object, before a key */
	unsigned line = 1;
	for (size_t i = 0; i < len; i++) {
		char c = t[i];
		if (c == '\n') {
			line++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == ':')
			continue;
		if (c == ',') {
			want_key = depth > 0 && stack[depth - 1] == 'o';
			continue;
		}
		if (c == '}' || c == ']') {
			if (depth == 0)
				return n;
			depth--;
			want_key = false;
			continue;
		}
		bool is_key = want_key && c == '"';
		if (!is_key) {
			if (n >= cap)
				return n;
			lines[n++] = line;
		}
		want_key = false;
		if (c == '{' || c == '[') {
			if (depth >= sizeof stack)
				return n;
			stack[depth++] = c == '{' ? 'o' : 'a';
			want_key = c == '{';
			continue;
		}
		if (c == '"') {
			for (i++; i < len && t[i] != '"'; i++) {
				if (t[i] == '\n')
					line++;
				else if (t[i] == '\\')
					i++;
			}
			continue;
		}
		/* number or literal: skip to the next delimiter */
		while (i + 1 < len && t[i + 1] != ',' && t[i + 1] != '}' && t[i + 1] != ']' &&
		       t[i + 1] != ' ' && t[i + 1] != '\n' && t[i + 1] != '\t' && t[i + 1] != '\r')
			i++;
	}
	return n;
}

static size_t count_nodes(const cJSON *v)
{
	size_t n = 1;
	for (const cJSON *c = v->child; c; c = c->next)
		n += count_nodes(c);
	return n;
}

static void collect_nodes(const cJSON *v, struct line_entry *e, const unsigned *lines,
			  size_t nlines, size_t *i)
{
	e[*i].node = v;
	e[*i].line = *i < nlines ? lines[*i] : 0;
	(*i)++;
	for (const cJSON *c = v->child; c; c = c->next)
		collect_nodes(c, e, lines, nlines, i);
}

static int entry_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct line_entry *)a)->node;
	uintptr_t y = (uintptr_t)((const struct line_entry *)b)->node;
	return x < y ? -1 : x > y;
}

/*
 * Build the node -> line map for `root` parsed from `text`. When the scan and the tree disagree
 * in count (which should not happen), every line is 0. Returns SH_E_NOMEM or SH_OK.
 */
static sh_rc build_line_map(struct line_map *m, const cJSON *root, const char *text, size_t len)
{
	size_t n = count_nodes(root);
	unsigned *lines = calloc(n, sizeof *lines);
	m->e = calloc(n, sizeof *m->e);
	if (!lines || !m->e) {
		free(lines);
		free(m->e);
		m->e = NULL;
		return SH_E_NOMEM;
	}
	size_t got = scan_lines(text, len, lines, n);
	size_t i = 0;
	collect_nodes(root, m->e, lines, got == n ? n : 0, &i);
	m->n = n;
	free(lines);
	qsort(m->e, m->n, sizeof *m->e, entry_cmp);
	return SH_OK;
}

static unsigned line_of(const struct parser *p, const cJSON *node)
{
	if (!p->lines.e || !node)
		return 0;
	struct line_entry key = { .node = node };
	const struct line_entry *e = bsearch(&key, p->lines.e, p->lines.n, sizeof key, entry_cmp);
	return e ? e->line : 0;
}

/* --- generic checks -------------------------------------------------------------------------- */

static bool in_list(const char *const *list, const char *name)
{
	for (size_t i = 0; list[i]; i++) {
		if (strcmp(list[i], name) == 0)
			return true;
	}
	return false;
}

/*
 * Check that object `obj` at `path` has only members named in the NULL-terminated `allowed`
 * list, each at most once. The reason lists the allowed names, so a typo's fix is obvious.
 */
static sh_rc check_members(struct parser *p, const cJSON *obj, const char *path,
			   const char *const *allowed)
{
	const cJSON *m;
	cJSON_ArrayForEach(m, obj) {
		const char *name = m->string ? m->string : "";
		char mpath[ERR_PATH_CAP];
		jsondoc_path_member(mpath, sizeof mpath, path, name, true);
		if (!in_list(allowed, name)) {
			char list[300];
			size_t used = 0;
			list[0] = '\0';
			for (size_t i = 0; allowed[i] && used < sizeof list; i++) {
				int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
						 allowed[i]);
				if (w < 0)
					break;
				used += (size_t)w;
			}
			return fail(p, m, mpath, SH_E_INVALID, "unknown key (allowed here: %s)", list);
		}
		for (const cJSON *q = obj->child; q != m; q = q->next) {
			if (q->string && strcmp(q->string, name) == 0)
				return fail(p, m, mpath, SH_E_INVALID, "key appears twice in the same object");
		}
	}
	return SH_OK;
}

static sh_rc want(struct parser *p, const cJSON *v, const char *path, bool ok, const char *what)
{
	if (ok)
		return SH_OK;
	return fail(p, v, path, SH_E_INVALID, "must be %s, not %s", what, jsondoc_type_name(v));
}

/* True when s is free text: no control bytes (UTF-8 is not checked; cJSON passes it through). */
static bool plain_text(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

/* Copy a string member into out[cap]: non-empty, no control bytes, at most cap - 1 bytes. */
static sh_rc get_text(struct parser *p, const cJSON *v, const char *path, char *out, size_t cap)
{
	sh_rc rc = want(p, v, path, cJSON_IsString(v), "a string");
	if (rc != SH_OK)
		return rc;
	size_t n = strlen(v->valuestring);
	if (n == 0)
		return fail(p, v, path, SH_E_INVALID, "must not be empty");
	if (n >= cap)
		return fail(p, v, path, SH_E_INVALID, "is longer than %zu bytes", cap - 1);
	if (!plain_text(v->valuestring))
		return fail(p, v, path, SH_E_INVALID, "must not contain control characters");
	memcpy(out, v->valuestring, n + 1);
	return SH_OK;
}

static bool is_ident(const char *s, bool dashes)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (s++; *s; s++) {
		bool ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
			  (*s >= '0' && *s <= '9') || (dashes && *s == '-');
		if (!ok)
			return false;
	}
	return true;
}

/* A name for a variable or capture: identifier with '-' allowed, at most SCENARIO_NAME_MAX. */
static sh_rc get_name(struct parser *p, const cJSON *v, const char *path, char *out, size_t cap)
{
	sh_rc rc = get_text(p, v, path, out, cap);
	if (rc != SH_OK)
		return rc;
	if (!is_ident(out, true))
		return fail(p, v, path, SH_E_INVALID,
			    "must be a name of letters, digits, '_' and '-', starting with a letter or '_'");
	return SH_OK;
}

static sh_rc get_int(struct parser *p, const cJSON *v, const char *path, long lo, long hi,
		     int *out)
{
	sh_rc rc = want(p, v, path, cJSON_IsNumber(v), "an integer");
	if (rc != SH_OK)
		return rc;
	double d = v->valuedouble;
	if (!(d >= (double)lo && d <= (double)hi) || d != (double)(long)d)
		return fail(p, v, path, SH_E_INVALID, "must be an integer from %ld to %ld", lo, hi);
	*out = (int)d;
	return SH_OK;
}

static char *dup_text(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

/*
 * Join a relative `path` to the folder of `file` ("dir/s.json" + "fx.json" -> "dir/fx.json").
 * Absolute paths and files without a folder give a copy of `path`. NULL on allocation failure.
 */
static char *resolve_path(const char *file, const char *path)
{
	const char *slash = file ? strrchr(file, '/') : NULL;
	if (path[0] == '/' || !slash)
		return dup_text(path);
	size_t dn = (size_t)(slash - file) + 1, pn = strlen(path);
	char *out = malloc(dn + pn + 1);
	if (!out)
		return NULL;
	memcpy(out, file, dn);
	memcpy(out + dn, path, pn + 1);
	return out;
}

/* --- durations and identities ---------------------------------------------------------------- */

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Read "digits[.digits]" at s[*i] and scale it by `unit` microseconds into *acc, truncating
 * below one microsecond. `frac_ok` says whether a fraction is allowed. Returns SH_OK,
 * SH_E_MALFORMED or SH_E_TOOLARGE (past SCENARIO_DURATION_MAX_US).
 */
static sh_rc read_amount(const char *s, size_t len, size_t *i, int64_t unit, bool frac_ok,
			 int64_t *acc)
{
	size_t start = *i;
	int64_t whole = 0;
	while (*i < len && digit(s[*i])) {
		if (whole > SCENARIO_DURATION_MAX_US)
			return SH_E_TOOLARGE;
		whole = whole * 10 + (s[*i] - '0');
		(*i)++;
	}
	if (*i == start)
		return SH_E_MALFORMED;
	int64_t frac_us = 0;
	if (*i < len && (s[*i] == '.' || s[*i] == ',')) {
		if (!frac_ok)
			return SH_E_MALFORMED;
		(*i)++;
		size_t fs = *i;
		int64_t scale = unit;
		while (*i < len && digit(s[*i])) {
			if (*i - fs >= 9)
				return SH_E_MALFORMED;
			scale /= 10;
			frac_us += (s[*i] - '0') * scale;
			(*i)++;
		}
		if (*i == fs)
			return SH_E_MALFORMED;
	}
	if (whole > SCENARIO_DURATION_MAX_US / unit)
		return SH_E_TOOLARGE;
	int64_t v = whole * unit + frac_us;
	if (v > SCENARIO_DURATION_MAX_US - *acc)
		return SH_E_TOOLARGE;
	*acc += v;
	return SH_OK;
}

/* ISO 8601 "P[nD][T[nH][nM][n[.f]S]]": components in that order, at least one. */
static sh_rc parse_iso_duration(const char *s, size_t len, int64_t *us_out)
{
	static const struct {
		char letter;
		int64_t unit;
		bool time;
	} parts[] = {
		{ 'D', 86400 * SCENARIO_US_PER_S, false }, { 'H', 3600 * SCENARIO_US_PER_S, true },
		{ 'M', 60 * SCENARIO_US_PER_S, true }, { 'S', SCENARIO_US_PER_S, true },
	};
	size_t i = 1, next = 0;
	bool in_time = false, any = false, any_time = false;
	int64_t acc = 0;
	while (i < len) {
		if (s[i] == 'T') {
			if (in_time)
				return SH_E_MALFORMED;
			in_time = true;
			i++;
			continue;
		}
		size_t at = i;
		while (at < len && (digit(s[at]) || s[at] == '.' || s[at] == ','))
			at++;
		if (at >= len)
			return SH_E_MALFORMED;
		size_t k = next;
		while (k < 4 && (parts[k].letter != s[at] || parts[k].time != in_time))
			k++;
		if (k == 4)
			return SH_E_MALFORMED;
		sh_rc rc = read_amount(s, at, &i, parts[k].unit, parts[k].letter == 'S', &acc);
		if (rc != SH_OK)
			return rc;
		if (i != at)
			return SH_E_MALFORMED;
		i++;
		next = k + 1;
		any = true;
		any_time |= in_time;
	}
	if (!any || (in_time && !any_time))
		return SH_E_MALFORMED;
	*us_out = acc;
	return SH_OK;
}

sh_rc scenario_parse_duration(const char *s, size_t len, int64_t *us_out)
{
	if (!s || len == 0 || !us_out)
		return SH_E_MALFORMED;
	if (s[0] == 'P')
		return parse_iso_duration(s, len, us_out);
	static const struct {
		const char *suffix;
		int64_t unit;
	} units[] = {
		{ "us", 1 }, { "ms", 1000 }, { "s", SCENARIO_US_PER_S }, { "m", 60 * SCENARIO_US_PER_S },
		{ "h", 3600 * SCENARIO_US_PER_S }, { "d", 86400 * SCENARIO_US_PER_S },
	};
	size_t i = 0;
	int64_t acc = 0;
	while (i < len) {
		size_t at = i;
		while (at < len && (digit(s[at]) || s[at] == '.'))
			at++;
		size_t ue = at;
		while (ue < len && s[ue] >= 'a' && s[ue] <= 'z')
			ue++;
		size_t k = 0;
		for (; k < sizeof units / sizeof units[0]; k++) {
			if (strlen(units[k].suffix) == ue - at && memcmp(units[k].suffix, s + at, ue - at) == 0)
				break;
		}
		if (k == sizeof units / sizeof units[0])
			return SH_E_MALFORMED;
		sh_rc rc = read_amount(s, at, &i, units[k].unit, true, &acc);
		if (rc != SH_OK)
			return rc;
		if (i != at)
			return SH_E_MALFORMED;
		i = ue;
	}
	*us_out = acc;
	return SH_OK;
}

sh_rc scenario_parse_identity(const char *s, size_t len, struct scenario_identity *out)
{
	if (!s || !out || len == 0)
		return SH_E_MALFORMED;
	const char *slash = memchr(s, '/', len);
	size_t dn = slash ? (size_t)(slash - s) : len;
	size_t mn = slash ? len - dn - 1 : 0;
	if (identity_validate_id(s, dn) != SH_OK)
		return SH_E_MALFORMED;
	if (slash && identity_validate_id(slash + 1, mn) != SH_OK)
		return SH_E_MALFORMED;
	if (dn > SH_ID_MAX || mn > SH_ID_MAX)
		return SH_E_MALFORMED;
	memcpy(out->device_id, s, dn);
	out->device_id[dn] = '\0';
	if (slash)
		memcpy(out->module_id, slash + 1, mn);
	out->module_id[mn] = '\0';
	return SH_OK;
}

static sh_rc get_duration(struct parser *p, const cJSON *v, const char *path, int64_t *out)
{
	if (!cJSON_IsString(v))
		return fail(p, v, path, SH_E_INVALID,
			    "must be a duration string such as \"10s\", not %s", jsondoc_type_name(v));
	char q[80];
	quote(q, sizeof q, v->valuestring);
	sh_rc rc = scenario_parse_duration(v->valuestring, strlen(v->valuestring), out);
	if (rc == SH_E_TOOLARGE)
		return fail(p, v, path, SH_E_INVALID, "%s is longer than 30 days", q);
	if (rc != SH_OK)
		return fail(p, v, path, SH_E_INVALID,
			    "%s is not a duration (use 500ms, 10s, 2m, 1h or PT1H)", q);
	return SH_OK;
}

/* Remember an identity the scenario names, once, in first-mention order. */
static sh_rc note_identity(struct parser *p, const struct scenario_identity *id)
{
	struct scenario *sc = p->sc;
	for (size_t i = 0; i < sc->identity_count; i++) {
		if (strcmp(sc->identities[i].device_id, id->device_id) == 0 &&
		    strcmp(sc->identities[i].module_id, id->module_id) == 0)
			return SH_OK;
	}
	if (sc->identity_count == p->identity_cap) {
		size_t cap = p->identity_cap ? p->identity_cap * 2 : 8;
		struct scenario_identity *n = realloc(sc->identities, cap * sizeof *n);
		if (!n)
			return SH_E_NOMEM;
		sc->identities = n;
		p->identity_cap = cap;
	}
	sc->identities[sc->identity_count++] = *id;
	return SH_OK;
}

/* --- templates ------------------------------------------------------------------------------- */

static bool seg_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

/*
 * Classify the text between {{ and }} (c[0..n), n <= PLACEHOLDER_MAX) into a reference kind
 * and its name (copied into name[PLACEHOLDER_MAX + 1]). *open is set for {{open}}, the literal
 * "{{". Returns SH_OK or SH_E_MALFORMED.
 */
static sh_rc classify(const char *c, size_t n, enum scenario_ref_kind *kind, bool *open,
		      char *name)
{
	*open = false;
	name[0] = '\0';
	if (n == 4 && memcmp(c, "open", 4) == 0) {
		*open = true;
		return SH_OK;
	}
	if (n == 2 && memcmp(c, "ca", 2) == 0) {
		*kind = SCENARIO_REF_CA;
		return SH_OK;
	}
	if (n == 4 && memcmp(c, "host", 4) == 0) {
		*kind = SCENARIO_REF_HOST;
		return SH_OK;
	}
	if (n > 3 && memcmp(c, "cs:", 3) == 0) {
		struct scenario_identity id;
		if (scenario_parse_identity(c + 3, n - 3, &id) != SH_OK)
			return SH_E_MALFORMED;
		*kind = SCENARIO_REF_CS;
		memcpy(name, c + 3, n - 3);
		name[n - 3] = '\0';
		return SH_OK;
	}
	if (n > 5 && memcmp(c, "port:", 5) == 0) {
		static const char *const names[] = { "mqtt", "mqtts", "https", "wss", NULL };
		memcpy(name, c + 5, n - 5);
		name[n - 5] = '\0';
		if (!in_list(names, name))
			return SH_E_MALFORMED;
		*kind = SCENARIO_REF_PORT;
		return SH_OK;
	}
	if (n > 8 && memcmp(c, "capture.", 8) == 0) {
		const char *s = c + 8, *end = c + n;
		while (s <= end) {
			const char *dot = memchr(s, '.', (size_t)(end - s));
			const char *se = dot ? dot : end;
			if (!seg_ok(s, (size_t)(se - s)))
				return SH_E_MALFORMED;
			s = se + 1;
		}
		*kind = SCENARIO_REF_CAPTURE;
		memcpy(name, c + 8, n - 8);
		name[n - 8] = '\0';
		return SH_OK;
	}
	memcpy(name, c, n);
	name[n] = '\0';
	if (!is_ident(name, true))
		return SH_E_MALFORMED;
	*kind = SCENARIO_REF_VAR;
	return SH_OK;
}

/*
 * Expand `text` into `out` (NULL: check only). On SH_E_MALFORMED or SH_E_NOTFOUND, `shown`
 * (cap 96) gets the offending placeholder for the message. *last_json (optional) gets the
 * lookup's is_json answer for the last placeholder expanded (false when there was none): for
 * a whole-placeholder string, whether its text is a typed JSON value. Returns SH_OK,
 * SH_E_MALFORMED, SH_E_NOTFOUND or SH_E_NOMEM.
 */
static sh_rc expand_text(const char *text, scenario_lookup_fn lookup, void *ctx, struct buf *out,
			 char *shown, bool *last_json)
{
	if (last_json)
		*last_json = false;
	const char *s = text;
	for (;;) {
		const char *o = strstr(s, "{{");
		if (!o) {
			if (out)
				buf_add(out, s, strlen(s));
			break;
		}
		if (out)
			buf_add(out, s, (size_t)(o - s));
		const char *c = o + 2;
		const char *e = strstr(c, "}}");
		size_t n = e ? (size_t)(e - c) : strlen(c);
		snprintf(shown, 96, "{{%.*s%s", (int)(n > 60 ? 60 : n), c,
			 n > 60 ? "..." : e ? "}}" : "");
		for (char *q = shown; *q; q++) {
			if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f || *q == '"')
				*q = '?';
		}
		if (!e || n == 0 || n > PLACEHOLDER_MAX)
			return SH_E_MALFORMED;
		enum scenario_ref_kind kind = SCENARIO_REF_VAR;
		bool open = false;
		char name[PLACEHOLDER_MAX + 1];
		if (memchr(c, '{', n) || classify(c, n, &kind, &open, name) != SH_OK)
			return SH_E_MALFORMED;
		if (open) {
			if (out)
				buf_add(out, "{{", 2);
		} else {
			bool is_json = false;
			const char *val = lookup ? lookup(ctx, kind, name, &is_json) : NULL;
			if (!val)
				return SH_E_NOTFOUND;
			if (last_json)
				*last_json = is_json;
			if (out)
				buf_add(out, val, strlen(val));
		}
		s = e + 2;
	}
	if (out && !out->ok)
		return SH_E_NOMEM;
	return SH_OK;
}

static void expand_fail(struct scenario_error *err, const char *file, const char *where,
			sh_rc rc, const char *shown)
{
	if (!err)
		return;
	memset(err, 0, sizeof *err);
	snprintf(err->file, sizeof err->file, "%s", file ? file : "");
	snprintf(err->path, sizeof err->path, "%s", where ? where : "$");
	if (rc == SH_E_NOTFOUND)
		snprintf(err->reason, sizeof err->reason, "%s has no value", shown);
	else if (rc == SH_E_NOMEM)
		snprintf(err->reason, sizeof err->reason, "out of memory");
	else
		snprintf(err->reason, sizeof err->reason,
			 "%s is not a placeholder (use {{name}}, {{cs:device[/module]}}, {{ca}}, "
			 "{{host}}, {{port:mqtts}}, {{capture.name}} or {{open}} for a literal {{)",
			 shown);
}

sh_rc scenario_expand(const char *text, scenario_lookup_fn lookup, void *ctx, const char *file,
		      const char *where, char **out, struct scenario_error *err)
{
	if (out)
		*out = NULL;
	if (!text || !out) {
		expand_fail(err, file, where, SH_E_MALFORMED, "(no text)");
		return SH_E_MALFORMED;
	}
	struct buf b = { .ok = true };
	buf_add(&b, "", 0);
	char shown[96] = "";
	sh_rc rc = expand_text(text, lookup, ctx, &b, shown, NULL);
	if (rc != SH_OK) {
		free(b.s);
		expand_fail(err, file, where, rc, shown);
		return rc;
	}
	*out = b.s;
	return SH_OK;
}

bool scenario_is_whole_placeholder(const char *s)
{
	if (!s || strncmp(s, "{{", 2) != 0)
		return false;
	const char *e = strstr(s + 2, "}}");
	size_t n = e ? (size_t)(e - (s + 2)) : 0;
	return e && n > 0 && e[2] == '\0' && !memchr(s + 2, '{', n) &&
	       !(n == 4 && memcmp(s + 2, "open", 4) == 0);
}

/*
 * Expand one string node `t` of a fresh copy. Text is replaced in place. A whole placeholder
 * whose lookup answers a typed value is not touched: *typed gets that value parsed (a new
 * item the caller puts in t's place), else NULL. Returns SH_OK or the expansion's failure
 * (err filled).
 */
static sh_rc expand_string(cJSON *t, scenario_lookup_fn lookup, void *ctx, const char *file,
			   const char *where, struct scenario_error *err, cJSON **typed)
{
	*typed = NULL;
	if (!strstr(t->valuestring, "{{"))
		return SH_OK;
	struct buf b = { .ok = true };
	buf_add(&b, "", 0);
	char shown[96] = "";
	bool is_json = false;
	sh_rc rc = expand_text(t->valuestring, lookup, ctx, &b, shown, &is_json);
	if (rc != SH_OK) {
		free(b.s);
		expand_fail(err, file, where, rc, shown);
		return rc;
	}
	if (is_json && scenario_is_whole_placeholder(t->valuestring)) {
		/* The lookup's JSON text of a typed value; text that does not parse stays text. */
		*typed = cJSON_Parse(b.s);
		if (*typed) {
			free(b.s);
			return SH_OK;
		}
	}
	char *fresh = cJSON_malloc(strlen(b.s) + 1);
	if (!fresh) {
		free(b.s);
		expand_fail(err, file, where, SH_E_NOMEM, "");
		return SH_E_NOMEM;
	}
	memcpy(fresh, b.s, strlen(b.s) + 1);
	free(b.s);
	cJSON_free(t->valuestring);
	t->valuestring = fresh;
	return SH_OK;
}

/*
 * Recursive worker of scenario_expand_json: expands the children of `t` (a fresh copy) in
 * place, replacing a child string that is a typed whole placeholder by its value (under the
 * same key).
 */
static sh_rc expand_tree(cJSON *t, scenario_lookup_fn lookup, void *ctx, const char *file,
			 const char *where, struct scenario_error *err)
{
	size_t i = 0;
	cJSON *next = NULL;
	for (cJSON *c = t->child; c; c = next, i++) {
		next = c->next;
		char cp[ERR_PATH_CAP];
		if (cJSON_IsObject(t))
			jsondoc_path_member(cp, sizeof cp, where, c->string, true);
		else
			jsondoc_path_index(cp, sizeof cp, where, i);
		if (!cJSON_IsString(c)) {
			sh_rc rc = expand_tree(c, lookup, ctx, file, cp, err);
			if (rc != SH_OK)
				return rc;
			continue;
		}
		cJSON *typed = NULL;
		sh_rc rc = expand_string(c, lookup, ctx, file, cp, err, &typed);
		if (rc != SH_OK)
			return rc;
		if (!typed)
			continue;
		if (c->string) {
			size_t kn = strlen(c->string) + 1;
			typed->string = cJSON_malloc(kn);
			if (!typed->string) {
				cJSON_Delete(typed);
				expand_fail(err, file, cp, SH_E_NOMEM, "");
				return SH_E_NOMEM;
			}
			memcpy(typed->string, c->string, kn);
		}
		cJSON_ReplaceItemViaPointer(t, c, typed);
	}
	return SH_OK;
}

sh_rc scenario_expand_json(const cJSON *in, scenario_lookup_fn lookup, void *ctx,
			   const char *file, const char *where, cJSON **out,
			   struct scenario_error *err)
{
	if (!out)
		return SH_E_INVALID;
	*out = NULL;
	if (!in)
		return SH_OK;
	cJSON *copy = cJSON_Duplicate(in, 1);
	if (!copy) {
		expand_fail(err, file, where, SH_E_NOMEM, "");
		return SH_E_NOMEM;
	}
	const char *w = where ? where : "$";
	cJSON *typed = NULL;
	sh_rc rc = cJSON_IsString(copy) ? expand_string(copy, lookup, ctx, file, w, err, &typed)
					: expand_tree(copy, lookup, ctx, file, w, err);
	if (rc != SH_OK) {
		cJSON_Delete(copy);
		return rc;
	}
	if (typed) {
		cJSON_Delete(copy);
		copy = typed;
	}
	*out = copy;
	return SH_OK;
}

/*
 * The parse-time lookup: knows which variables exist and which captures earlier steps defined.
 * Returns "" for a known name (the text itself does not matter when only checking) and NULL,
 * with p->lookup_reason set, for an unknown one. Connection strings it meets are noted as
 * identities the scenario names, so the runner hands their strings to the agent.
 */
static const char *check_lookup(void *ctx, enum scenario_ref_kind kind, const char *name,
				bool *is_json)
{
	struct parser *p = ctx;
	(void)is_json;
	switch (kind) {
	case SCENARIO_REF_VAR:
		if (scenario_var(p->sc, name))
			return "";
		snprintf(p->lookup_reason, sizeof p->lookup_reason,
			 "{{%.60s}}: no variable of that name in \"variables\"", name);
		return NULL;
	case SCENARIO_REF_CAPTURE: {
		if (p->in_agent) {
			snprintf(p->lookup_reason, sizeof p->lookup_reason,
				 "{{capture.%.60s}}: captures do not exist before the steps run", name);
			return NULL;
		}
		size_t n = strcspn(name, ".");
		for (size_t i = 0; i < p->capture_count; i++) {
			if (strlen(p->captures[i].name) == n && memcmp(p->captures[i].name, name, n) == 0)
				return "";
		}
		snprintf(p->lookup_reason, sizeof p->lookup_reason,
			 "{{capture.%.60s}}: no earlier step captures \"%.*s\"", name,
			 (int)(n > 60 ? 60 : n), name);
		return NULL;
	}
	case SCENARIO_REF_CS: {
		struct scenario_identity id;
		if (scenario_parse_identity(name, strlen(name), &id) == SH_OK &&
		    note_identity(p, &id) != SH_OK) {
			snprintf(p->lookup_reason, sizeof p->lookup_reason, "out of memory");
			return NULL;
		}
		return "";
	}
	case SCENARIO_REF_CA:
	case SCENARIO_REF_HOST:
	case SCENARIO_REF_PORT:
		return "";
	}
	return NULL;
}

/* Check the placeholders of one string at `path` (node for the line). */
static sh_rc check_template(struct parser *p, const cJSON *node, const char *path, const char *s)
{
	if (!strstr(s, "{{"))
		return SH_OK;
	char shown[96] = "";
	p->lookup_reason[0] = '\0';
	sh_rc rc = expand_text(s, check_lookup, p, NULL, shown, NULL);
	if (rc == SH_OK)
		return SH_OK;
	if (rc == SH_E_NOTFOUND)
		return fail(p, node, path, SH_E_INVALID, "%s", p->lookup_reason);
	return fail(p, node, path, SH_E_INVALID,
		    "%s is not a placeholder (use {{name}}, {{cs:device[/module]}}, {{ca}}, {{host}}, "
		    "{{port:mqtts}}, {{capture.name}} or {{open}} for a literal {{)", shown);
}

/* Check every string value of tree `t` at `path` (keys are never expanded). */
static sh_rc check_templates_json(struct parser *p, const cJSON *t, const char *path)
{
	if (!t)
		return SH_OK;
	if (cJSON_IsString(t))
		return check_template(p, t, path, t->valuestring);
	size_t i = 0;
	for (const cJSON *c = t->child; c; c = c->next, i++) {
		char cp[ERR_PATH_CAP];
		if (cJSON_IsObject(t))
			jsondoc_path_member(cp, sizeof cp, path, c->string, true);
		else
			jsondoc_path_index(cp, sizeof cp, path, i);
		sh_rc rc = check_templates_json(p, c, cp);
		if (rc != SH_OK)
			return rc;
	}
	return SH_OK;
}

const char *scenario_var(const struct scenario *sc, const char *name)
{
	if (!sc || !name)
		return NULL;
	for (size_t i = 0; i < sc->var_count; i++) {
		if (strcmp(sc->var_names[i], name) == 0)
			return sc->var_values[i];
	}
	return NULL;
}

bool scenario_var_is_json(const struct scenario *sc, const char *name)
{
	if (!sc || !name || !sc->var_json)
		return false;
	for (size_t i = 0; i < sc->var_count; i++) {
		if (strcmp(sc->var_names[i], name) == 0)
			return sc->var_json[i];
	}
	return false;
}

/* --- step fields ----------------------------------------------------------------------------- */

/* One key's parser: reads `v` at `path` into `st` (kind already set). */
typedef sh_rc (*field_fn)(struct parser *p, struct scenario_step *st, const cJSON *v,
			  const char *path);

/* Keep a copy of `v` in *slot after checking its templates (on `v`, whose nodes have lines). */
static sh_rc dup_into(struct parser *p, const cJSON *v, const char *path, cJSON **slot)
{
	sh_rc rc = check_templates_json(p, v, path);
	if (rc != SH_OK)
		return rc;
	*slot = cJSON_Duplicate(v, 1);
	if (!*slot)
		return fail(p, v, path, SH_E_NOMEM, "out of memory");
	return SH_OK;
}

/*
 * A jsonmatch pattern: validated, then kept with its templates checked. A whole placeholder
 * may stand as an operand that needs a number, boolean or array (typed placeholders); the
 * runner validates the expanded pattern again. `strict` (count, never expanded) refuses it.
 */
static sh_rc pattern_into(struct parser *p, const cJSON *v, const char *path, bool strict,
			  cJSON **slot)
{
	struct jsonmatch_why why;
	sh_rc vrc = strict ? jsonmatch_validate(v, path, &why)
			   : jsonmatch_validate_template(v, path, &why);
	if (vrc != SH_OK)
		return fail(p, v, why.path, SH_E_INVALID, "%s", why.reason);
	return dup_into(p, v, path, slot);
}

static sh_rc f_ignore(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	(void)st;
	return want(p, v, path, cJSON_IsString(v), "a string");
}

static sh_rc f_name(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	return get_text(p, v, path, st->name, sizeof st->name);
}

static sh_rc f_identity(struct parser *p, struct scenario_step *st, const cJSON *v,
			const char *path)
{
	sh_rc rc = want(p, v, path, cJSON_IsString(v), "a string \"device\" or \"device/module\"");
	if (rc != SH_OK)
		return rc;
	if (scenario_parse_identity(v->valuestring, strlen(v->valuestring), &st->identity) != SH_OK) {
		char q[80];
		quote(q, sizeof q, v->valuestring);
		return fail(p, v, path, SH_E_INVALID,
			    "%s is not \"device\" or \"device/module\" (ids of up to 128 letters, digits "
			    "and -:.+%%_#*?!(),=@;$')", q);
	}
	st->has_identity = true;
	if (note_identity(p, &st->identity) != SH_OK)
		return fail(p, v, path, SH_E_NOMEM, "out of memory");
	return SH_OK;
}

static sh_rc f_object(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	sh_rc rc = want(p, v, path, cJSON_IsObject(v), "an object");
	return rc != SH_OK ? rc : dup_into(p, v, path, &st->json);
}

static sh_rc f_any(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	return dup_into(p, v, path, &st->json);
}

/*
 * "properties": for send-c2d an object of string values (the message's application properties);
 * everywhere else a pattern over the properties seen.
 */
static sh_rc f_properties(struct parser *p, struct scenario_step *st, const cJSON *v,
			  const char *path)
{
	sh_rc rc = want(p, v, path, cJSON_IsObject(v), "an object");
	if (rc != SH_OK)
		return rc;
	if (st->kind != SCENARIO_SEND_C2D)
		return pattern_into(p, v, path, false, &st->properties);
	const cJSON *m;
	cJSON_ArrayForEach(m, v) {
		char mp[ERR_PATH_CAP];
		jsondoc_path_member(mp, sizeof mp, path, m->string, true);
		if (!cJSON_IsString(m))
			return fail(p, m, mp, SH_E_INVALID, "a message property must be a string, not %s",
				    jsondoc_type_name(m));
		if (m->string[0] == '\0')
			return fail(p, m, mp, SH_E_INVALID, "a message property needs a name");
	}
	return dup_into(p, v, path, &st->properties);
}

static sh_rc f_system_properties(struct parser *p, struct scenario_step *st, const cJSON *v,
				 const char *path)
{
	sh_rc rc = want(p, v, path, cJSON_IsObject(v), "an object");
	return rc != SH_OK ? rc : pattern_into(p, v, path, false, &st->system_properties);
}

static sh_rc f_match(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	return pattern_into(p, v, path, false, &st->match);
}

/*
 * "count": for faults, how many times (an integer); for expectations, a pattern over the number
 * of matching items: an integer (exactly) or an operator object such as {"$gte": 3}.
 */
static sh_rc f_count(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	if (scenario_kind_class(st->kind) == SCENARIO_FAULT) {
		int lo = (st->kind == SCENARIO_REFUSE_CONNECT || st->kind == SCENARIO_TWIN_ERROR) ? 1 : 0;
		return get_int(p, v, path, lo, 1000000, &st->count_n);
	}
	if (cJSON_IsNumber(v)) {
		int n;
		sh_rc rc = get_int(p, v, path, 0, 1000000000, &n);
		if (rc != SH_OK)
			return rc;
	} else if (!cJSON_IsObject(v) || !v->child || !v->child->string ||
		   v->child->string[0] != '$') {
		return fail(p, v, path, SH_E_INVALID,
			    "must be an integer or an operator object such as {\"$gte\": 1}, not %s",
			    jsondoc_type_name(v));
	}
	return pattern_into(p, v, path, true, &st->count);
}

static sh_rc f_method(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	return get_text(p, v, path, st->method, sizeof st->method);
}

static sh_rc f_within(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	return get_duration(p, v, path, &st->within_us);
}

static sh_rc f_for(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	return get_duration(p, v, path, &st->for_us);
}

static sh_rc f_duration(struct parser *p, struct scenario_step *st, const cJSON *v,
			const char *path)
{
	return get_duration(p, v, path, &st->duration_us);
}

static sh_rc f_ttl(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	return get_duration(p, v, path, &st->ttl_us);
}

static sh_rc f_response_timeout(struct parser *p, struct scenario_step *st, const cJSON *v,
				const char *path)
{
	sh_rc rc = get_duration(p, v, path, &st->response_timeout_us);
	if (rc == SH_OK && (st->response_timeout_us < 5 * SCENARIO_US_PER_S ||
			    st->response_timeout_us > 300 * SCENARIO_US_PER_S))
		return fail(p, v, path, SH_E_INVALID,
			    "must be from 5s to 300s (IoT Hub's range for responseTimeoutInSeconds)");
	return rc;
}

static sh_rc f_connect_timeout(struct parser *p, struct scenario_step *st, const cJSON *v,
			       const char *path)
{
	sh_rc rc = get_duration(p, v, path, &st->connect_timeout_us);
	if (rc == SH_OK && st->connect_timeout_us > 300 * SCENARIO_US_PER_S)
		return fail(p, v, path, SH_E_INVALID,
			    "must be at most 300s (IoT Hub's range for connectTimeoutInSeconds)");
	return rc;
}

static sh_rc f_grace(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	return get_duration(p, v, path, &st->grace_us);
}

/* "status": expected method status, twin-error's answer, or create-identity's enabled/disabled. */
static sh_rc f_status(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	if (st->kind == SCENARIO_CREATE_IDENTITY) {
		if (cJSON_IsString(v) && strcmp(v->valuestring, "enabled") == 0)
			return SH_OK;
		if (cJSON_IsString(v) && strcmp(v->valuestring, "disabled") == 0) {
			st->create_disabled = true;
			return SH_OK;
		}
		return fail(p, v, path, SH_E_INVALID, "must be \"enabled\" or \"disabled\"");
	}
	st->has_status = true;
	if (st->kind == SCENARIO_TWIN_ERROR)
		return get_int(p, v, path, 400, 599, &st->status);
	return get_int(p, v, path, -2147483647L, 2147483647L, &st->status);
}

static sh_rc f_capture(struct parser *p, struct scenario_step *st, const cJSON *v,
		       const char *path)
{
	return get_name(p, v, path, st->capture, sizeof st->capture);
}

static sh_rc f_ref(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	return get_name(p, v, path, st->ref, sizeof st->ref);
}

static sh_rc f_bool(struct parser *p, const cJSON *v, const char *path, bool *out)
{
	sh_rc rc = want(p, v, path, cJSON_IsBool(v), "true or false");
	if (rc == SH_OK)
		*out = cJSON_IsTrue(v);
	return rc;
}

static sh_rc f_async(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	return f_bool(p, v, path, &st->async);
}

static sh_rc f_ignore_case(struct parser *p, struct scenario_step *st, const cJSON *v,
			   const char *path)
{
	return f_bool(p, v, path, &st->ignore_case);
}

/* Look `v` up in a NULL-terminated word list; *out is its index. */
static sh_rc get_word(struct parser *p, const cJSON *v, const char *path,
		      const char *const *words, int *out)
{
	if (cJSON_IsString(v)) {
		for (int i = 0; words[i]; i++) {
			if (strcmp(words[i], v->valuestring) == 0) {
				*out = i;
				return SH_OK;
			}
		}
	}
	char list[200];
	size_t used = 0;
	list[0] = '\0';
	for (size_t i = 0; words[i] && used < sizeof list; i++) {
		int w = snprintf(list + used, sizeof list - used, "%s\"%s\"", i ? ", " : "", words[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	return fail(p, v, path, SH_E_INVALID, "must be one of %s", list);
}

static sh_rc f_ack(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	static const char *const words[] = { "none", "positive", "negative", "full", NULL };
	int i = 0;
	sh_rc rc = get_word(p, v, path, words, &i);
	st->ack = (enum scenario_ack)i;
	return rc;
}

static sh_rc f_outcome(struct parser *p, struct scenario_step *st, const cJSON *v,
		       const char *path)
{
	static const char *const words[] = { "completed", "rejected", "abandoned", "expired", NULL };
	int i = 0;
	sh_rc rc = get_word(p, v, path, words, &i);
	st->outcome = (enum scenario_outcome)i;
	return rc;
}

static sh_rc f_since(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	static const char *const words[] = { "start", "step", NULL };
	int i = 0;
	sh_rc rc = get_word(p, v, path, words, &i);
	st->since = (enum scenario_since)i;
	return rc;
}

static sh_rc f_of(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	static const char *const words[] = { "telemetry", "security-event", "alert", "c2d-settled",
					     "connect", "disconnect", "reported-change",
					     "method-call", NULL };
	int i = 0;
	sh_rc rc = get_word(p, v, path, words, &i);
	st->of = (enum scenario_nothing)i;
	return rc;
}

static sh_rc f_message_id(struct parser *p, struct scenario_step *st, const cJSON *v,
			  const char *path)
{
	sh_rc rc = get_text(p, v, path, st->message_id, sizeof st->message_id);
	return rc != SH_OK ? rc : check_template(p, v, path, st->message_id);
}

static sh_rc f_event_name(struct parser *p, struct scenario_step *st, const cJSON *v,
			  const char *path)
{
	return get_text(p, v, path, st->event_name, sizeof st->event_name);
}

static sh_rc f_event_type(struct parser *p, struct scenario_step *st, const cJSON *v,
			  const char *path)
{
	return get_text(p, v, path, st->event_type, sizeof st->event_type);
}

static sh_rc f_alert_type(struct parser *p, struct scenario_step *st, const cJSON *v,
			  const char *path)
{
	return get_text(p, v, path, st->alert_type, sizeof st->alert_type);
}

static sh_rc f_reason(struct parser *p, struct scenario_step *st, const cJSON *v,
		      const char *path)
{
	return get_text(p, v, path, st->reason, sizeof st->reason);
}

/* A SAS key: base64 of 16 to 64 bytes, as fixtures require. */
static sh_rc get_key(struct parser *p, const cJSON *v, const char *path, char *out, size_t cap)
{
	sh_rc rc = get_text(p, v, path, out, cap);
	if (rc != SH_OK)
		return rc;
	uint8_t raw[SH_KEY_MAX];
	size_t n = 0;
	if (base64_decode(out, strlen(out), raw, sizeof raw, &n) != SH_OK ||
	    n < FIXTURE_KEY_MIN_BYTES || n > FIXTURE_KEY_MAX_BYTES)
		return fail(p, v, path, SH_E_INVALID, "must be base64 of 16 to 64 bytes");
	return SH_OK;
}

static sh_rc f_primary_key(struct parser *p, struct scenario_step *st, const cJSON *v,
			   const char *path)
{
	return get_key(p, v, path, st->primary_key, sizeof st->primary_key);
}

static sh_rc f_secondary_key(struct parser *p, struct scenario_step *st, const cJSON *v,
			     const char *path)
{
	return get_key(p, v, path, st->secondary_key, sizeof st->secondary_key);
}

static sh_rc f_return_code(struct parser *p, struct scenario_step *st, const cJSON *v,
			   const char *path)
{
	return get_int(p, v, path, 1, 5, &st->return_code);
}

static sh_rc f_rate(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	return get_int(p, v, path, 1, 100000, &st->rate);
}

static sh_rc f_operations(struct parser *p, struct scenario_step *st, const cJSON *v,
			  const char *path)
{
	sh_rc rc = want(p, v, path, cJSON_IsArray(v) && v->child, "a non-empty array");
	if (rc != SH_OK)
		return rc;
	static const char *const words[] = { "get", "patch-reported", NULL };
	size_t i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, v) {
		char ep[ERR_PATH_CAP];
		jsondoc_path_index(ep, sizeof ep, path, i++);
		int w = 0;
		rc = get_word(p, e, ep, words, &w);
		if (rc != SH_OK)
			return rc;
		unsigned bit = w == 0 ? SCENARIO_TWIN_OP_GET : SCENARIO_TWIN_OP_PATCH_REPORTED;
		if (st->twin_ops & bit)
			return fail(p, e, ep, SH_E_INVALID, "operation listed twice");
		st->twin_ops |= bit;
	}
	return SH_OK;
}

static sh_rc f_keys(struct parser *p, struct scenario_step *st, const cJSON *v, const char *path)
{
	sh_rc rc = want(p, v, path, cJSON_IsArray(v) && v->child, "a non-empty array of key names");
	if (rc != SH_OK)
		return rc;
	size_t n = (size_t)cJSON_GetArraySize(v);
	if (n > MAX_KEYS)
		return fail(p, v, path, SH_E_INVALID, "more than %u keys", MAX_KEYS);
	st->keys = calloc(n, sizeof *st->keys);
	if (!st->keys)
		return fail(p, v, path, SH_E_NOMEM, "out of memory");
	size_t i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, v) {
		char ep[ERR_PATH_CAP];
		jsondoc_path_index(ep, sizeof ep, path, i);
		char name[SCENARIO_NAME_MAX + 1];
		rc = get_text(p, e, ep, name, sizeof name);
		if (rc != SH_OK)
			return rc;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(st->keys[j], name) == 0)
				return fail(p, e, ep, SH_E_INVALID, "key listed twice");
		}
		st->keys[i] = dup_text(name);
		if (!st->keys[i])
			return fail(p, e, ep, SH_E_NOMEM, "out of memory");
		st->key_count = ++i;
	}
	return SH_OK;
}

struct field_def {
	const char *key;
	field_fn fn;
};

/* Every step key and its parser; the class keys are handled before these run. */
static const struct field_def fields[] = {
	{ "name", f_name }, { "comment", f_ignore }, { "identity", f_identity },
	{ "patch", f_object }, { "twin", f_object }, { "payload", f_any }, { "body", f_any },
	{ "properties", f_properties }, { "systemProperties", f_system_properties },
	{ "match", f_match }, { "count", f_count }, { "method", f_method },
	{ "responseTimeout", f_response_timeout }, { "connectTimeout", f_connect_timeout },
	{ "within", f_within }, { "for", f_for }, { "duration", f_duration }, { "by", f_duration },
	{ "delay", f_duration }, { "ttl", f_ttl }, { "grace", f_grace }, { "status", f_status },
	{ "capture", f_capture }, { "call", f_ref }, { "message", f_ref }, { "async", f_async },
	{ "ignoreCase", f_ignore_case }, { "ack", f_ack }, { "outcome", f_outcome },
	{ "since", f_since }, { "of", f_of }, { "messageId", f_message_id },
	{ "eventName", f_event_name }, { "eventType", f_event_type }, { "alertType", f_alert_type },
	{ "reason", f_reason }, { "primaryKey", f_primary_key }, { "secondaryKey", f_secondary_key },
	{ "returnCode", f_return_code }, { "rate", f_rate }, { "operations", f_operations },
	{ "keys", f_keys },
};

/* --- step kinds ------------------------------------------------------------------------------ */

#define A "action", "name", "comment"
#define F "fault", "name", "comment", "identity"
#define E "expect", "name", "comment"

static const char *const k_patch[] = { A, "identity", "patch", NULL };
static const char *const r_patch[] = { "action", "identity", "patch", NULL };
static const char *const k_replace[] = { A, "identity", "twin", NULL };
static const char *const r_replace[] = { "action", "identity", "twin", NULL };
static const char *const k_invoke[] = { A, "identity", "method", "payload", "responseTimeout",
					"connectTimeout", "status", "match", "capture", "async",
					NULL };
static const char *const r_invoke[] = { "action", "identity", "method", NULL };
static const char *const k_c2d[] = { A, "identity", "body", "properties", "ttl", "ack",
				     "messageId", "capture", NULL };
static const char *const r_c2d[] = { "action", "identity", "body", NULL };
static const char *const k_create[] = { A, "identity", "status", "primaryKey", "secondaryKey",
					NULL };
static const char *const k_disable[] = { A, "identity", "reason", NULL };
static const char *const k_identity[] = { A, "identity", NULL };
static const char *const r_identity[] = { "action", "identity", NULL };
static const char *const k_agent[] = { A, NULL };
static const char *const k_agent_stop[] = { A, "grace", NULL };
static const char *const r_action[] = { "action", NULL };
static const char *const k_wait[] = { A, "duration", NULL };
static const char *const r_wait[] = { "action", "duration", NULL };
static const char *const k_advance[] = { A, "by", NULL };
static const char *const r_advance[] = { "action", "by", NULL };

static const char *const k_fault[] = { F, NULL };
static const char *const r_fault[] = { "fault", "identity", NULL };
static const char *const k_refuse[] = { F, "count", "returnCode", NULL };
static const char *const k_twin_error[] = { F, "status", "count", "operations", NULL };
static const char *const r_twin_error[] = { "fault", "identity", "status", NULL };
static const char *const k_delay[] = { F, "delay", "count", "for", NULL };
static const char *const r_delay[] = { "fault", "identity", "delay", NULL };
static const char *const k_withhold[] = { F, "count", "for", NULL };
static const char *const k_throttle[] = { F, "rate", "for", NULL };
static const char *const r_throttle[] = { "fault", "identity", "rate", NULL };

static const char *const k_conn[] = { E, "identity", "within", "for", NULL };
static const char *const r_ident_e[] = { "expect", "identity", NULL };
static const char *const k_reported[] = { E, "identity", "match", "within", "capture", NULL };
static const char *const r_reported[] = { "expect", "identity", "match", NULL };
static const char *const k_telemetry[] = { E, "identity", "properties", "systemProperties",
					   "match", "count", "since", "within", "capture", NULL };
static const char *const r_expect[] = { "expect", NULL };
static const char *const k_secevent[] = { E, "identity", "eventName", "eventType", "match",
					  "count", "since", "within", "capture", NULL };
static const char *const k_alert[] = { E, "identity", "alertType", "match", "count", "since",
				       "within", "capture", NULL };
static const char *const k_method_result[] = { E, "call", "status", "match", "within",
					       "capture", NULL };
static const char *const r_method_result[] = { "expect", "call", NULL };
static const char *const k_c2d_e[] = { E, "identity", "message", "messageId", "outcome",
				       "within", NULL };
static const char *const r_c2d_e[] = { "expect", "outcome", NULL };
static const char *const k_secconfig[] = { E, "identity", "keys", "ignoreCase", "within", NULL };
static const char *const k_nothing[] = { E, "of", "identity", "properties", "match",
					 "eventName", "eventType", "alertType", "for", NULL };
static const char *const r_nothing[] = { "expect", "of", NULL };

#undef A
#undef F
#undef E

struct kind_def {
	const char *name;
	enum scenario_class cls;
	const char *const *keys;
	const char *const *required;
};

/* Indexed by enum scenario_kind. */
static const struct kind_def kinds[SCENARIO_KIND_COUNT] = {
	[SCENARIO_PATCH_DESIRED] = { "patch-desired", SCENARIO_ACTION, k_patch, r_patch },
	[SCENARIO_PATCH_TAGS] = { "patch-tags", SCENARIO_ACTION, k_patch, r_patch },
	[SCENARIO_REPLACE_TWIN] = { "replace-twin", SCENARIO_ACTION, k_replace, r_replace },
	[SCENARIO_INVOKE_METHOD] = { "invoke-method", SCENARIO_ACTION, k_invoke, r_invoke },
	[SCENARIO_SEND_C2D] = { "send-c2d", SCENARIO_ACTION, k_c2d, r_c2d },
	[SCENARIO_CREATE_IDENTITY] = { "create-identity", SCENARIO_ACTION, k_create, r_identity },
	[SCENARIO_DISABLE_IDENTITY] = { "disable-identity", SCENARIO_ACTION, k_disable, r_identity },
	[SCENARIO_ENABLE_IDENTITY] = { "enable-identity", SCENARIO_ACTION, k_identity, r_identity },
	[SCENARIO_DELETE_IDENTITY] = { "delete-identity", SCENARIO_ACTION, k_identity, r_identity },
	[SCENARIO_START_AGENT] = { "start-agent", SCENARIO_ACTION, k_agent, r_action },
	[SCENARIO_STOP_AGENT] = { "stop-agent", SCENARIO_ACTION, k_agent_stop, r_action },
	[SCENARIO_RESTART_AGENT] = { "restart-agent", SCENARIO_ACTION, k_agent_stop, r_action },
	[SCENARIO_WAIT] = { "wait", SCENARIO_ACTION, k_wait, r_wait },
	[SCENARIO_ADVANCE_CLOCK] = { "advance-clock", SCENARIO_ACTION, k_advance, r_advance },
	[SCENARIO_DROP_CONNECTION] = { "drop-connection", SCENARIO_FAULT, k_fault, r_fault },
	[SCENARIO_REFUSE_CONNECT] = { "refuse-connect", SCENARIO_FAULT, k_refuse, r_fault },
	[SCENARIO_TWIN_ERROR] = { "twin-error", SCENARIO_FAULT, k_twin_error, r_twin_error },
	[SCENARIO_DELAY_PUBACK] = { "delay-puback", SCENARIO_FAULT, k_delay, r_delay },
	[SCENARIO_WITHHOLD_PUBACK] = { "withhold-puback", SCENARIO_FAULT, k_withhold, r_fault },
	[SCENARIO_CLOSE_AT_SAS_EXPIRY] = { "close-at-sas-expiry", SCENARIO_FAULT, k_fault, r_fault },
	[SCENARIO_THROTTLE] = { "throttle", SCENARIO_FAULT, k_throttle, r_throttle },
	[SCENARIO_CLEAR_FAULTS] = { "clear-faults", SCENARIO_FAULT, k_fault, r_fault },
	[SCENARIO_EXPECT_CONNECTED] = { "connected", SCENARIO_EXPECT, k_conn, r_ident_e },
	[SCENARIO_EXPECT_DISCONNECTED] = { "disconnected", SCENARIO_EXPECT, k_conn, r_ident_e },
	[SCENARIO_EXPECT_REPORTED] = { "reported", SCENARIO_EXPECT, k_reported, r_reported },
	[SCENARIO_EXPECT_TWIN] = { "twin", SCENARIO_EXPECT, k_reported, r_reported },
	[SCENARIO_EXPECT_TELEMETRY] = { "telemetry", SCENARIO_EXPECT, k_telemetry, r_expect },
	[SCENARIO_EXPECT_SECURITY_EVENT] = { "security-event", SCENARIO_EXPECT, k_secevent, r_expect },
	[SCENARIO_EXPECT_ALERT] = { "alert", SCENARIO_EXPECT, k_alert, r_expect },
	[SCENARIO_EXPECT_METHOD_RESULT] = { "method-result", SCENARIO_EXPECT, k_method_result,
					    r_method_result },
	[SCENARIO_EXPECT_C2D] = { "c2d", SCENARIO_EXPECT, k_c2d_e, r_c2d_e },
	[SCENARIO_EXPECT_SECURITY_CONFIG] = { "security-config-applied", SCENARIO_EXPECT,
					      k_secconfig, r_ident_e },
	[SCENARIO_EXPECT_NOTHING] = { "nothing", SCENARIO_EXPECT, k_nothing, r_nothing },
};

static const char *const class_keys[] = { "action", "fault", "expect" };

const char *scenario_kind_name(enum scenario_kind kind)
{
	return (unsigned)kind < SCENARIO_KIND_COUNT ? kinds[kind].name : "?";
}

enum scenario_class scenario_kind_class(enum scenario_kind kind)
{
	return (unsigned)kind < SCENARIO_KIND_COUNT ? kinds[kind].cls : SCENARIO_ACTION;
}

const char *scenario_class_key(enum scenario_class cls)
{
	return (unsigned)cls < 3 ? class_keys[cls] : "?";
}

const char *const *scenario_kind_keys(enum scenario_kind kind, const char *const **required)
{
	if ((unsigned)kind >= SCENARIO_KIND_COUNT) {
		if (required)
			*required = NULL;
		return NULL;
	}
	if (required)
		*required = kinds[kind].required;
	return kinds[kind].keys;
}

static const char *const top_keys[] = { "$schema", "name", "description", "clock", "fixtures",
					"agent", "defaults", "variables", "steps", NULL };
static const char *const agent_keys[] = { "command", "env", "cwd", "grace", "autostart", NULL };
static const char *const defaults_keys[] = { "within", "for", "responseTimeout", NULL };

const char *const *scenario_top_keys(void)
{
	return top_keys;
}

const char *const *scenario_agent_keys(void)
{
	return agent_keys;
}

const char *const *scenario_defaults_keys(void)
{
	return defaults_keys;
}

/* --- steps ----------------------------------------------------------------------------------- */

static sh_rc add_capture(struct parser *p, const struct scenario_step *st, const cJSON *v)
{
	if (!st->capture[0])
		return SH_OK;
	char cp[ERR_PATH_CAP];
	jsondoc_path_member(cp, sizeof cp, st->path, "capture", true);
	const cJSON *node = cJSON_GetObjectItemCaseSensitive(v, "capture");
	for (size_t i = 0; i < p->capture_count; i++) {
		if (strcmp(p->captures[i].name, st->capture) == 0)
			return fail(p, node, cp, SH_E_INVALID,
				    "capture \"%s\" is already defined by an earlier step", st->capture);
	}
	if (p->capture_count >= MAX_CAPTURES)
		return fail(p, node, cp, SH_E_INVALID, "more than %u captures", MAX_CAPTURES);
	if (p->capture_count % 16 == 0) {
		struct capture_def *n = realloc(p->captures, (p->capture_count + 16) * sizeof *n);
		if (!n)
			return fail(p, node, cp, SH_E_NOMEM, "out of memory");
		p->captures = n;
	}
	struct capture_def *c = &p->captures[p->capture_count++];
	memcpy(c->name, st->capture, sizeof c->name);
	c->kind = st->kind;
	c->async = st->async;
	return SH_OK;
}

static const struct capture_def *find_capture(const struct parser *p, const char *name)
{
	for (size_t i = 0; i < p->capture_count; i++) {
		if (strcmp(p->captures[i].name, name) == 0)
			return &p->captures[i];
	}
	return NULL;
}

/*
 * Rules that span keys, run after every key of step `st` (object `v`) parsed: defaults,
 * "within or for", references to captures, and filters that only make sense for some kinds.
 */
static sh_rc check_step(struct parser *p, struct scenario_step *st, const cJSON *v)
{
	const struct scenario *sc = p->sc;
	const cJSON *has_within = cJSON_GetObjectItemCaseSensitive(v, "within");
	const cJSON *has_for = cJSON_GetObjectItemCaseSensitive(v, "for");
	char kp[ERR_PATH_CAP];
	bool expect = kinds[st->kind].cls == SCENARIO_EXPECT;
	if (expect && st->kind != SCENARIO_EXPECT_NOTHING && !has_within)
		st->within_us = sc->default_within_us;
	switch (st->kind) {
	case SCENARIO_INVOKE_METHOD:
		if (st->async && (st->has_status || st->match))
			return fail(p, v, st->path, SH_E_INVALID,
				    "an async call is checked by a later method-result step: move "
				    "\"status\" and \"match\" there");
		if (st->async && !st->capture[0])
			return fail(p, v, st->path, SH_E_INVALID,
				    "an async call needs a \"capture\" name for its method-result step");
		if (!cJSON_GetObjectItemCaseSensitive(v, "responseTimeout"))
			st->response_timeout_us = sc->default_response_timeout_us;
		break;
	case SCENARIO_SEND_C2D:
		if (st->identity.module_id[0]) {
			jsondoc_path_member(kp, sizeof kp, st->path, "identity", true);
			return fail(p, cJSON_GetObjectItemCaseSensitive(v, "identity"), kp, SH_E_INVALID,
				    "cloud-to-device messages go to devices, not modules");
		}
		break;
	case SCENARIO_STOP_AGENT:
	case SCENARIO_RESTART_AGENT:
		if (!cJSON_GetObjectItemCaseSensitive(v, "grace"))
			st->grace_us = sc->agent.grace_us;
		break;
	case SCENARIO_ADVANCE_CLOCK:
		if (sc->clock != SCENARIO_CLOCK_VIRTUAL)
			return fail(p, v, st->path, SH_E_INVALID,
				    "advance-clock needs \"clock\": \"virtual\" at the top of the file");
		break;
	case SCENARIO_TWIN_ERROR:
		if (!st->twin_ops)
			st->twin_ops = SCENARIO_TWIN_OP_GET | SCENARIO_TWIN_OP_PATCH_REPORTED;
		break;
	case SCENARIO_EXPECT_CONNECTED:
	case SCENARIO_EXPECT_DISCONNECTED:
		if (has_within && has_for)
			return fail(p, v, st->path, SH_E_INVALID,
				    "give \"within\" (becomes so by then) or \"for\" (stays so that "
				    "long), not both");
		if (has_for) {
			st->within_us = 0;
			if (st->for_us == 0) {
				jsondoc_path_member(kp, sizeof kp, st->path, "for", true);
				return fail(p, has_for, kp, SH_E_INVALID, "a window must be longer than 0");
			}
		}
		break;
	case SCENARIO_EXPECT_METHOD_RESULT: {
		const struct capture_def *c = find_capture(p, st->ref);
		if (!c || c->kind != SCENARIO_INVOKE_METHOD || !c->async) {
			jsondoc_path_member(kp, sizeof kp, st->path, "call", true);
			return fail(p, cJSON_GetObjectItemCaseSensitive(v, "call"), kp, SH_E_INVALID,
				    "\"%s\" is not the capture of an earlier invoke-method with "
				    "\"async\": true", st->ref);
		}
		break;
	}
	case SCENARIO_EXPECT_C2D:
		if (!st->ref[0] == !st->message_id[0])
			return fail(p, v, st->path, SH_E_INVALID,
				    "name the message by \"message\" (a send-c2d capture) or by "
				    "\"messageId\", exactly one of them");
		if (st->ref[0]) {
			const struct capture_def *c = find_capture(p, st->ref);
			if (!c || c->kind != SCENARIO_SEND_C2D) {
				jsondoc_path_member(kp, sizeof kp, st->path, "message", true);
				return fail(p, cJSON_GetObjectItemCaseSensitive(v, "message"), kp,
					    SH_E_INVALID,
					    "\"%s\" is not the capture of an earlier send-c2d", st->ref);
			}
		}
		if (st->identity.module_id[0])
			return fail(p, v, st->path, SH_E_INVALID,
				    "cloud-to-device messages go to devices, not modules");
		break;
	case SCENARIO_EXPECT_NOTHING: {
		if (!has_for)
			st->for_us = sc->default_for_us;
		st->since = SCENARIO_SINCE_STEP;
		const char *bad = NULL;
		if (st->properties && st->of != SCENARIO_NOTHING_TELEMETRY)
			bad = "properties";
		else if ((st->event_name[0] || st->event_type[0]) &&
			 st->of != SCENARIO_NOTHING_SECURITY_EVENT)
			bad = st->event_name[0] ? "eventName" : "eventType";
		else if (st->alert_type[0] && st->of != SCENARIO_NOTHING_ALERT)
			bad = "alertType";
		else if (st->match && (st->of == SCENARIO_NOTHING_CONNECT ||
				       st->of == SCENARIO_NOTHING_DISCONNECT))
			bad = "match";
		if (bad) {
			jsondoc_path_member(kp, sizeof kp, st->path, bad, true);
			return fail(p, cJSON_GetObjectItemCaseSensitive(v, bad), kp, SH_E_INVALID,
				    "does not apply to \"of\": \"%s\"",
				    cJSON_GetObjectItemCaseSensitive(v, "of")->valuestring);
		}
		break;
	}
	default:
		break;
	}
	if ((st->kind == SCENARIO_EXPECT_TELEMETRY || st->kind == SCENARIO_EXPECT_SECURITY_EVENT ||
	     st->kind == SCENARIO_EXPECT_ALERT) && !st->count) {
		st->count = cJSON_Parse("{\"$gte\":1}");
		if (!st->count)
			return fail(p, v, st->path, SH_E_NOMEM, "out of memory");
	}
	return SH_OK;
}

/* Derive "kind identity [method]" for a step without a name. */
static void derive_name(struct scenario_step *st)
{
	char who[2 * SH_ID_MAX + 3] = "";
	if (st->has_identity)
		snprintf(who, sizeof who, " %s%s%s", st->identity.device_id,
			 st->identity.module_id[0] ? "/" : "", st->identity.module_id);
	snprintf(st->name, sizeof st->name, "%s%s%s%s", kinds[st->kind].name, who,
		 st->method[0] ? " " : "", st->method);
}

/* Parse step `index` (object `v`) into st. */
static sh_rc parse_step(struct parser *p, const cJSON *v, size_t index, struct scenario_step *st)
{
	jsondoc_path_index(st->path, sizeof st->path, "$.steps", index);
	st->line = line_of(p, v);
	if (!cJSON_IsObject(v))
		return fail(p, v, st->path, SH_E_INVALID,
			    "a step must be an object with \"action\", \"fault\" or \"expect\", not %s",
			    jsondoc_type_name(v));
	const cJSON *cls_node = NULL;
	enum scenario_class cls = SCENARIO_ACTION;
	for (int c = 0; c < 3; c++) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(v, class_keys[c]);
		if (!n)
			continue;
		if (cls_node)
			return fail(p, v, st->path, SH_E_INVALID,
				    "a step has exactly one of \"action\", \"fault\" and \"expect\"");
		cls_node = n;
		cls = (enum scenario_class)c;
	}
	if (!cls_node)
		return fail(p, v, st->path, SH_E_INVALID,
			    "a step needs \"action\", \"fault\" or \"expect\" naming its kind");
	char cp[ERR_PATH_CAP];
	jsondoc_path_member(cp, sizeof cp, st->path, class_keys[cls], true);
	bool found = false;
	if (cJSON_IsString(cls_node)) {
		for (int k = 0; k < SCENARIO_KIND_COUNT && !found; k++) {
			if (kinds[k].cls == cls && strcmp(kinds[k].name, cls_node->valuestring) == 0) {
				st->kind = (enum scenario_kind)k;
				found = true;
			}
		}
	}
	if (!found) {
		char list[600];
		size_t used = 0;
		list[0] = '\0';
		for (int k = 0; k < SCENARIO_KIND_COUNT && used < sizeof list; k++) {
			if (kinds[k].cls != cls)
				continue;
			int w = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "",
					 kinds[k].name);
			if (w < 0)
				break;
			used += (size_t)w;
		}
		char q[80] = "this";
		if (cJSON_IsString(cls_node))
			quote(q, sizeof q, cls_node->valuestring);
		return fail(p, cls_node, cp, SH_E_INVALID, "%s is not a known %s (known: %s)", q,
			    class_keys[cls], list);
	}
	st->since = SCENARIO_SINCE_START;
	st->ignore_case = true;
	if (st->kind == SCENARIO_REFUSE_CONNECT || st->kind == SCENARIO_TWIN_ERROR)
		st->count_n = 1;
	if (st->kind == SCENARIO_REFUSE_CONNECT)
		st->return_code = SCENARIO_DEFAULT_CONNACK_CODE;
	sh_rc rc = check_members(p, v, st->path, kinds[st->kind].keys);
	if (rc != SH_OK)
		return rc;
	for (const char *const *r = kinds[st->kind].required; *r; r++) {
		if (!cJSON_GetObjectItemCaseSensitive(v, *r))
			return fail(p, v, st->path, SH_E_INVALID, "%s \"%s\" needs \"%s\"",
				    class_keys[cls], kinds[st->kind].name, *r);
	}
	const cJSON *m;
	cJSON_ArrayForEach(m, v) {
		if (m == cls_node)
			continue;
		char mp[ERR_PATH_CAP];
		jsondoc_path_member(mp, sizeof mp, st->path, m->string, true);
		for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
			if (strcmp(fields[f].key, m->string) == 0) {
				rc = fields[f].fn(p, st, m, mp);
				break;
			}
		}
		if (rc != SH_OK)
			return rc;
	}
	rc = check_step(p, st, v);
	if (rc != SH_OK)
		return rc;
	if (!st->name[0])
		derive_name(st);
	return add_capture(p, st, v);
}

static sh_rc parse_steps(struct parser *p, const cJSON *v)
{
	if (!v)
		return fail(p, NULL, "$", SH_E_INVALID, "a scenario needs \"steps\"");
	sh_rc rc = want(p, v, "$.steps", cJSON_IsArray(v), "an array of steps");
	if (rc != SH_OK)
		return rc;
	size_t n = (size_t)cJSON_GetArraySize(v);
	if (n == 0)
		return fail(p, v, "$.steps", SH_E_INVALID, "a scenario needs at least one step");
	if (n > SCENARIO_MAX_STEPS)
		return fail(p, v, "$.steps", SH_E_TOOLARGE, "more than %u steps", SCENARIO_MAX_STEPS);
	p->sc->steps = calloc(n, sizeof *p->sc->steps);
	if (!p->sc->steps)
		return fail(p, v, "$.steps", SH_E_NOMEM, "out of memory");
	size_t i = 0;
	const cJSON *s;
	cJSON_ArrayForEach(s, v) {
		p->sc->step_count = i + 1;   /* so scenario_free releases a half-built step */
		rc = parse_step(p, s, i, &p->sc->steps[i]);
		if (rc != SH_OK)
			return rc;
		i++;
	}
	return SH_OK;
}

/* --- top level ------------------------------------------------------------------------------- */

static sh_rc parse_defaults(struct parser *p, const cJSON *v)
{
	struct scenario *sc = p->sc;
	sc->default_within_us = SCENARIO_DEFAULT_WITHIN_US;
	sc->default_for_us = SCENARIO_DEFAULT_FOR_US;
	sc->default_response_timeout_us = SCENARIO_DEFAULT_RESPONSE_TIMEOUT_US;
	if (!v)
		return SH_OK;
	sh_rc rc = want(p, v, "$.defaults", cJSON_IsObject(v), "an object");
	if (rc == SH_OK)
		rc = check_members(p, v, "$.defaults", defaults_keys);
	const cJSON *m;
	cJSON_ArrayForEach(m, v) {
		if (rc != SH_OK)
			return rc;
		char mp[ERR_PATH_CAP];
		jsondoc_path_member(mp, sizeof mp, "$.defaults", m->string, true);
		if (strcmp(m->string, "within") == 0) {
			rc = get_duration(p, m, mp, &sc->default_within_us);
		} else if (strcmp(m->string, "for") == 0) {
			rc = get_duration(p, m, mp, &sc->default_for_us);
		} else {
			rc = get_duration(p, m, mp, &sc->default_response_timeout_us);
			if (rc == SH_OK && (sc->default_response_timeout_us < 5 * SCENARIO_US_PER_S ||
					    sc->default_response_timeout_us > 300 * SCENARIO_US_PER_S))
				rc = fail(p, m, mp, SH_E_INVALID, "must be from 5s to 300s");
		}
	}
	return rc;
}

static sh_rc parse_variables(struct parser *p, const cJSON *v)
{
	struct scenario *sc = p->sc;
	if (!v)
		return SH_OK;
	sh_rc rc = want(p, v, "$.variables", cJSON_IsObject(v), "an object");
	if (rc != SH_OK)
		return rc;
	size_t n = (size_t)cJSON_GetArraySize(v);
	if (n > MAX_VARIABLES)
		return fail(p, v, "$.variables", SH_E_INVALID, "more than %u variables", MAX_VARIABLES);
	sc->var_names = calloc(n ? n : 1, sizeof *sc->var_names);
	sc->var_values = calloc(n ? n : 1, sizeof *sc->var_values);
	sc->var_json = calloc(n ? n : 1, sizeof *sc->var_json);
	if (!sc->var_names || !sc->var_values || !sc->var_json)
		return fail(p, v, "$.variables", SH_E_NOMEM, "out of memory");
	static const char *const reserved[] = { "ca", "host", "open", NULL };
	const cJSON *m;
	cJSON_ArrayForEach(m, v) {
		char mp[ERR_PATH_CAP];
		jsondoc_path_member(mp, sizeof mp, "$.variables", m->string, true);
		if (strlen(m->string) > SCENARIO_NAME_MAX || !is_ident(m->string, true))
			return fail(p, m, mp, SH_E_INVALID,
				    "a variable name is letters, digits, '_' and '-', starting with a "
				    "letter or '_', at most %d bytes", SCENARIO_NAME_MAX);
		if (in_list(reserved, m->string))
			return fail(p, m, mp, SH_E_INVALID,
				    "\"%s\" is a reserved placeholder name ({{%s}})", m->string, m->string);
		if (scenario_var(sc, m->string))
			return fail(p, m, mp, SH_E_INVALID, "key appears twice in the same object");
		char *text = NULL;
		if (cJSON_IsString(m)) {
			if (strstr(m->valuestring, "{{"))
				return fail(p, m, mp, SH_E_INVALID,
					    "variables are not expanded: a value cannot hold {{...}}");
			text = dup_text(m->valuestring);
		} else if (cJSON_IsNumber(m) || cJSON_IsBool(m)) {
			text = cJSON_PrintUnformatted(m);
			if (text) {
				char *copy = dup_text(text);
				cJSON_free(text);
				text = copy;
			}
		} else {
			return fail(p, m, mp, SH_E_INVALID,
				    "a variable is a string, a number or a boolean, not %s", jsondoc_type_name(m));
		}
		char *name = dup_text(m->string);
		if (!text || !name) {
			free(text);
			free(name);
			return fail(p, m, mp, SH_E_NOMEM, "out of memory");
		}
		sc->var_names[sc->var_count] = name;
		sc->var_json[sc->var_count] = !cJSON_IsString(m);
		sc->var_values[sc->var_count++] = text;
	}
	return SH_OK;
}

/* A string of the agent ("command", an argv entry, an env value, cwd): text plus templates. */
static sh_rc agent_text(struct parser *p, const cJSON *v, const char *path, char **out)
{
	sh_rc rc = want(p, v, path, cJSON_IsString(v), "a string");
	if (rc != SH_OK)
		return rc;
	if (v->valuestring[0] == '\0')
		return fail(p, v, path, SH_E_INVALID, "must not be empty");
	rc = check_template(p, v, path, v->valuestring);
	if (rc != SH_OK)
		return rc;
	*out = dup_text(v->valuestring);
	return *out ? SH_OK : fail(p, v, path, SH_E_NOMEM, "out of memory");
}

static sh_rc parse_agent(struct parser *p, const cJSON *v)
{
	struct scenario_agent *a = &p->sc->agent;
	a->grace_us = SCENARIO_DEFAULT_GRACE_US;
	a->autostart = true;
	if (!v)
		return SH_OK;
	sh_rc rc = want(p, v, "$.agent", cJSON_IsObject(v), "an object");
	if (rc == SH_OK)
		rc = check_members(p, v, "$.agent", agent_keys);
	if (rc != SH_OK)
		return rc;
	a->present = true;
	p->in_agent = true;
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(v, "command");
	if (cJSON_IsArray(cmd)) {
		size_t n = (size_t)cJSON_GetArraySize(cmd);
		if (n == 0 || n > MAX_ARGV)
			return fail(p, cmd, "$.agent.command", SH_E_INVALID,
				    "must hold 1 to %u arguments", MAX_ARGV);
		a->argv = calloc(n + 1, sizeof *a->argv);
		if (!a->argv)
			return fail(p, cmd, "$.agent.command", SH_E_NOMEM, "out of memory");
		const cJSON *e;
		cJSON_ArrayForEach(e, cmd) {
			char ep[ERR_PATH_CAP];
			jsondoc_path_index(ep, sizeof ep, "$.agent.command", a->argc);
			rc = agent_text(p, e, ep, &a->argv[a->argc]);
			if (rc != SH_OK)
				return rc;
			a->argc++;
		}
	} else if (cmd) {
		if (!cJSON_IsString(cmd))
			return fail(p, cmd, "$.agent.command", SH_E_INVALID,
				    "must be a shell command string or an array of arguments, not %s",
				    jsondoc_type_name(cmd));
		rc = agent_text(p, cmd, "$.agent.command", &a->shell);
		if (rc != SH_OK)
			return rc;
	}
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(v, "env");
	if (env) {
		rc = want(p, env, "$.agent.env", cJSON_IsObject(env), "an object of strings");
		if (rc != SH_OK)
			return rc;
		size_t n = (size_t)cJSON_GetArraySize(env);
		if (n > MAX_ENV)
			return fail(p, env, "$.agent.env", SH_E_INVALID, "more than %u variables", MAX_ENV);
		a->env_names = calloc(n ? n : 1, sizeof *a->env_names);
		a->env_values = calloc(n ? n : 1, sizeof *a->env_values);
		if (!a->env_names || !a->env_values)
			return fail(p, env, "$.agent.env", SH_E_NOMEM, "out of memory");
		const cJSON *m;
		cJSON_ArrayForEach(m, env) {
			char mp[ERR_PATH_CAP];
			jsondoc_path_member(mp, sizeof mp, "$.agent.env", m->string, true);
			if (!is_ident(m->string, false))
				return fail(p, m, mp, SH_E_INVALID,
					    "an environment variable name is letters, digits and '_', "
					    "not starting with a digit");
			for (size_t j = 0; j < a->env_count; j++) {
				if (strcmp(a->env_names[j], m->string) == 0)
					return fail(p, m, mp, SH_E_INVALID,
						    "key appears twice in the same object");
			}
			char *val = NULL;
			if (cJSON_IsString(m) && m->valuestring[0] == '\0')
				val = dup_text("");   /* an empty value is allowed in the environment */
			else if ((rc = agent_text(p, m, mp, &val)) != SH_OK)
				return rc;
			char *name = dup_text(m->string);
			if (!val || !name) {
				free(val);
				free(name);
				return fail(p, m, mp, SH_E_NOMEM, "out of memory");
			}
			a->env_names[a->env_count] = name;
			a->env_values[a->env_count++] = val;
		}
	}
	const cJSON *cwd = cJSON_GetObjectItemCaseSensitive(v, "cwd");
	if (cwd) {
		rc = agent_text(p, cwd, "$.agent.cwd", &a->cwd);
		if (rc != SH_OK)
			return rc;
		a->cwd_resolved = resolve_path(p->sc->file, a->cwd);
		if (!a->cwd_resolved)
			return fail(p, cwd, "$.agent.cwd", SH_E_NOMEM, "out of memory");
	}
	const cJSON *grace = cJSON_GetObjectItemCaseSensitive(v, "grace");
	if (grace && (rc = get_duration(p, grace, "$.agent.grace", &a->grace_us)) != SH_OK)
		return rc;
	const cJSON *autostart = cJSON_GetObjectItemCaseSensitive(v, "autostart");
	if (autostart && (rc = f_bool(p, autostart, "$.agent.autostart", &a->autostart)) != SH_OK)
		return rc;
	p->in_agent = false;
	return SH_OK;
}

/* One fixture entry: a path string or an inline fixture object (parsed by the fixture room). */
static sh_rc parse_fixture(struct parser *p, const cJSON *v, const char *path,
			   struct scenario_fixture *f)
{
	snprintf(f->json_path, sizeof f->json_path, "%s", path);
	f->line = line_of(p, v);
	if (cJSON_IsString(v)) {
		if (v->valuestring[0] == '\0')
			return fail(p, v, path, SH_E_INVALID, "a fixture path must not be empty");
		if (!plain_text(v->valuestring))
			return fail(p, v, path, SH_E_INVALID, "must not contain control characters");
		f->path = dup_text(v->valuestring);
		f->resolved = f->path ? resolve_path(p->sc->file, f->path) : NULL;
		if (!f->path || !f->resolved)
			return fail(p, v, path, SH_E_NOMEM, "out of memory");
		return SH_OK;
	}
	if (!cJSON_IsObject(v))
		return fail(p, v, path, SH_E_INVALID,
			    "a fixture is a path (a string) or an inline fixture (an object), not %s",
			    jsondoc_type_name(v));
	char *text = cJSON_PrintUnformatted(v);
	if (!text)
		return fail(p, v, path, SH_E_NOMEM, "out of memory");
	struct fixture_error fe;
	sh_rc rc = fixture_parse(text, strlen(text), &f->inline_fx, &fe);
	cJSON_free(text);
	if (rc == SH_E_NOMEM)
		return fail(p, v, path, SH_E_NOMEM, "out of memory");
	if (rc != SH_OK) {
		char fp[ERR_PATH_CAP];
		snprintf(fp, sizeof fp, "%s%s", path, fe.path[0] == '$' ? fe.path + 1 : "");
		return fail(p, v, fp, SH_E_INVALID, "%s", fe.reason);
	}
	return SH_OK;
}

static sh_rc parse_fixtures(struct parser *p, const cJSON *v)
{
	struct scenario *sc = p->sc;
	if (!v)
		return SH_OK;
	size_t n = cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 1;
	if (n > MAX_FIXTURES)
		return fail(p, v, "$.fixtures", SH_E_INVALID, "more than %u fixtures", MAX_FIXTURES);
	sc->fixtures = calloc(n ? n : 1, sizeof *sc->fixtures);
	if (!sc->fixtures)
		return fail(p, v, "$.fixtures", SH_E_NOMEM, "out of memory");
	if (!cJSON_IsArray(v)) {
		sc->fixture_count = 1;
		return parse_fixture(p, v, "$.fixtures", &sc->fixtures[0]);
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, v) {
		char ep[ERR_PATH_CAP];
		jsondoc_path_index(ep, sizeof ep, "$.fixtures", sc->fixture_count);
		sh_rc rc = parse_fixture(p, e, ep, &sc->fixtures[sc->fixture_count++]);
		if (rc != SH_OK)
			return rc;
	}
	return SH_OK;
}

/* The default scenario name: the file's base name without ".json", or "scenario". */
static char *default_name(const char *file)
{
	if (!file || !file[0])
		return dup_text("scenario");
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	size_t n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".json") == 0)
		n -= 5;
	if (n == 0)
		return dup_text("scenario");
	char *out = malloc(n + 1);
	if (out) {
		memcpy(out, base, n);
		out[n] = '\0';
	}
	return out;
}

static sh_rc parse_root(struct parser *p, const cJSON *root)
{
	struct scenario *sc = p->sc;
	sh_rc rc = want(p, root, "$", cJSON_IsObject(root), "an object");
	if (rc == SH_OK)
		rc = check_members(p, root, "$", top_keys);
	if (rc != SH_OK)
		return rc;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
	if (name) {
		char buf[SCENARIO_NAME_MAX + 1];
		if ((rc = get_text(p, name, "$.name", buf, sizeof buf)) != SH_OK)
			return rc;
		sc->name = dup_text(buf);
	} else {
		sc->name = default_name(sc->file);
	}
	if (!sc->name)
		return fail(p, root, "$", SH_E_NOMEM, "out of memory");
	const cJSON *desc = cJSON_GetObjectItemCaseSensitive(root, "description");
	if (desc) {
		if ((rc = want(p, desc, "$.description", cJSON_IsString(desc), "a string")) != SH_OK)
			return rc;
		if (!(sc->description = dup_text(desc->valuestring)))
			return fail(p, desc, "$.description", SH_E_NOMEM, "out of memory");
	}
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "$schema");
	if (schema && (rc = want(p, schema, "$[\"$schema\"]", cJSON_IsString(schema), "a string")))
		return rc;
	const cJSON *clock = cJSON_GetObjectItemCaseSensitive(root, "clock");
	if (clock) {
		static const char *const words[] = { "real", "virtual", NULL };
		int i = 0;
		if ((rc = get_word(p, clock, "$.clock", words, &i)) != SH_OK)
			return rc;
		sc->clock = (enum scenario_clock)i;
	}
	if ((rc = parse_defaults(p, cJSON_GetObjectItemCaseSensitive(root, "defaults"))) != SH_OK)
		return rc;
	if ((rc = parse_variables(p, cJSON_GetObjectItemCaseSensitive(root, "variables"))) != SH_OK)
		return rc;
	if ((rc = parse_agent(p, cJSON_GetObjectItemCaseSensitive(root, "agent"))) != SH_OK)
		return rc;
	if ((rc = parse_fixtures(p, cJSON_GetObjectItemCaseSensitive(root, "fixtures"))) != SH_OK)
		return rc;
	return parse_steps(p, cJSON_GetObjectItemCaseSensitive(root, "steps"));
}

static sh_rc syntax_error(struct parser *p, const char *text, size_t len, size_t at,
			  const char *reason)
{
	fail(p, NULL, "$", SH_E_MALFORMED, "%s", reason);
	if (p->err)
		jsondoc_position(text, len, at, &p->err->line, &p->err->column);
	return SH_E_MALFORMED;
}

sh_rc scenario_parse(const char *text, size_t len, const char *file, struct scenario **out,
		     struct scenario_error *err)
{
	struct parser p = { .err = err };
	if (out)
		*out = NULL;
	if (err) {
		memset(err, 0, sizeof *err);
		snprintf(err->file, sizeof err->file, "%s", file ? file : "");
	}
	if (!out || (!text && len))
		return fail(&p, NULL, "$", SH_E_INVALID, "no output or no text given");
	if (len > SCENARIO_MAX_BYTES)
		return fail(&p, NULL, "$", SH_E_TOOLARGE, "scenario text is larger than %u bytes",
			    SCENARIO_MAX_BYTES);
	cJSON *root = NULL;
	size_t at = 0;
	const char *why = NULL;
	sh_rc rc = jsondoc_parse(text, len, &root, &at, &why);
	if (rc == SH_E_NOMEM)
		return fail(&p, NULL, "$", SH_E_NOMEM, "out of memory");
	if (rc != SH_OK)
		return syntax_error(&p, text, len, at, why);
	size_t skip = jsondoc_bom_len(text, len);
	rc = build_line_map(&p.lines, root, text + skip, len - skip);
	if (rc == SH_OK)
		p.sc = calloc(1, sizeof *p.sc);
	if (rc != SH_OK || !p.sc || !(p.sc->file = dup_text(file ? file : ""))) {
		cJSON_Delete(root);
		free(p.lines.e);
		if (p.sc)
			scenario_free(p.sc);
		return fail(&p, NULL, "$", SH_E_NOMEM, "out of memory");
	}
	rc = parse_root(&p, root);
	cJSON_Delete(root);
	free(p.lines.e);
	free(p.captures);
	if (rc != SH_OK) {
		scenario_free(p.sc);
		return rc;
	}
	*out = p.sc;
	return SH_OK;
}

static void free_list(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void scenario_free(struct scenario *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->step_count; i++) {
		struct scenario_step *st = &sc->steps[i];
		cJSON_Delete(st->json);
		cJSON_Delete(st->properties);
		cJSON_Delete(st->system_properties);
		cJSON_Delete(st->match);
		cJSON_Delete(st->count);
		free_list(st->keys, st->key_count);
	}
	free(sc->steps);
	for (size_t i = 0; i < sc->fixture_count; i++) {
		free(sc->fixtures[i].path);
		free(sc->fixtures[i].resolved);
		fixture_free(sc->fixtures[i].inline_fx);
	}
	free(sc->fixtures);
	struct scenario_agent *a = &sc->agent;
	free(a->shell);
	free_list(a->argv, a->argc);
	free_list(a->env_names, a->env_count);
	free_list(a->env_values, a->env_count);
	free(a->cwd);
	free(a->cwd_resolved);
	free_list(sc->var_names, sc->var_count);
	free_list(sc->var_values, sc->var_count);
	free(sc->var_json);
	free(sc->identities);
	free(sc->file);
	free(sc->name);
	free(sc->description);
	free(sc);
}

const char *scenario_error_format(const struct scenario_error *err, char *buf, size_t cap)
{
	if (!buf || cap == 0)
		return buf;
	if (!err) {
		snprintf(buf, cap, "unknown error");
		return buf;
	}
	const char *file = err->file[0] ? err->file : "scenario";
	if (err->column)
		snprintf(buf, cap, "%s:%u:%u: %s", file, err->line, err->column, err->reason);
	else if (err->line)
		snprintf(buf, cap, "%s:%u: %s: %s", file, err->line, err->path[0] ? err->path : "$",
			 err->reason);
	else
		snprintf(buf, cap, "%s: %s: %s", file, err->path[0] ? err->path : "$", err->reason);
	return buf;
}
