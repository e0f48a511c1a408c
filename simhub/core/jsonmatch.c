/*
 * jsonmatch.c: JSON pattern validation and matching (language in jsonmatch.h).
 * Pure: never allocates beyond short-lived value renderings and compiled regexes, never reads
 * the clock, keeps no globals. Validation and evaluation walk the same grammar, so a pattern
 * that validates can only fail to match, never be "half understood" at run time.
 */
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/jsondoc.h"
#include "core/jsonmatch.h"

#define SHOWN_VALUE_MAX 80          /* values quoted in reasons are cut after this many bytes */

enum op {
	OP_NONE = 0, OP_EQ, OP_NE, OP_EXISTS, OP_REGEX, OP_GT, OP_GTE, OP_LT, OP_LTE, OP_IN,
	OP_CONTAINS
};

static const struct {
	const char *name;
	enum op op;
} ops[] = {
	{ "$eq", OP_EQ }, { "$ne", OP_NE }, { "$exists", OP_EXISTS }, { "$regex", OP_REGEX },
	{ "$gt", OP_GT }, { "$gte", OP_GTE }, { "$lt", OP_LT }, { "$lte", OP_LTE },
	{ "$in", OP_IN }, { "$contains", OP_CONTAINS },
};

/* --- paths and messages ---------------------------------------------------------------------- */

void jsonmatch_path_member(char *out, size_t cap, const char *parent, const char *name)
{
	jsondoc_path_member(out, cap, parent, name, true);
}

void jsonmatch_path_index(char *out, size_t cap, const char *parent, size_t i)
{
	jsondoc_path_index(out, cap, parent, i);
}

static void set_why(struct jsonmatch_why *why, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_why(struct jsonmatch_why *why, const char *path, const char *fmt, ...)
{
	if (!why)
		return;
	snprintf(why->path, sizeof why->path, "%s", path);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why->reason, sizeof why->reason, fmt, ap);
	va_end(ap);
}

/*
 * Render a value for a message: compact JSON cut at SHOWN_VALUE_MAX bytes with "...", or
 * "nothing" for an absent value. Control bytes cannot appear (cJSON escapes them).
 */
static void show(const cJSON *v, char *buf, size_t cap)
{
	if (!v) {
		snprintf(buf, cap, "nothing");
		return;
	}
	char *s = cJSON_PrintUnformatted(v);
	if (!s) {
		snprintf(buf, cap, "(a value)");
		return;
	}
	size_t n = strlen(s);
	if (n > SHOWN_VALUE_MAX)
		snprintf(buf, cap, "%.*s...", SHOWN_VALUE_MAX, s);
	else
		snprintf(buf, cap, "%s", s);
	cJSON_free(s);
}

/* The type of v for a reason; "nothing" for an absent value. */
static const char *type_word(const cJSON *v)
{
	return v ? jsondoc_type_name(v) : "nothing";
}

const char *jsonmatch_why_format(const struct jsonmatch_why *why, char *buf, size_t cap)
{
	if (!buf || cap == 0)
		return buf;
	if (!why)
		snprintf(buf, cap, "no details");
	else
		snprintf(buf, cap, "%s: %s", why->path[0] ? why->path : "$", why->reason);
	return buf;
}

/* --- equality -------------------------------------------------------------------------------- */

bool jsonmatch_equal(const cJSON *a, const cJSON *b)
{
	if (!a || !b)
		return a == b;
	if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
		return a->valuedouble == b->valuedouble;
	if (cJSON_IsBool(a) && cJSON_IsBool(b))
		return cJSON_IsTrue(a) == cJSON_IsTrue(b);
	if ((a->type & 0xFF) != (b->type & 0xFF))
		return false;
	if (cJSON_IsNull(a))
		return true;
	if (cJSON_IsString(a))
		return strcmp(a->valuestring, b->valuestring) == 0;
	if (cJSON_IsArray(a)) {
		const cJSON *x = a->child, *y = b->child;
		for (; x && y; x = x->next, y = y->next) {
			if (!jsonmatch_equal(x, y))
				return false;
		}
		return !x && !y;
	}
	if (cJSON_IsObject(a)) {
		if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
			return false;
		const cJSON *m;
		cJSON_ArrayForEach(m, a) {
			if (!m->string)
				return false;
			if (cJSON_GetObjectItemCaseSensitive(a, m->string) != m)
				continue;   /* a repeated key: only its first occurrence counts */
			if (!jsonmatch_equal(m, cJSON_GetObjectItemCaseSensitive(b, m->string)))
				return false;
		}
		cJSON_ArrayForEach(m, b) {
			if (!m->string || !cJSON_GetObjectItemCaseSensitive(a, m->string))
				return false;
		}
		return true;
	}
	return false;
}

/* --- pattern shape --------------------------------------------------------------------------- */

static enum op op_of(const char *key)
{
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		if (strcmp(ops[i].name, key) == 0)
			return ops[i].op;
	}
	return OP_NONE;
}

/* Keys that start with '$' but are plain twin keys. */
static bool plain_dollar_key(const char *key)
{
	return strcmp(key, "$version") == 0 || strcmp(key, "$metadata") == 0;
}

/*
 * The value key a plain pattern key stands for: "$$name" means "$name"; anything else is
 * itself. Only called for keys already known not to be operators.
 */
static const char *value_key(const char *key)
{
	return (key[0] == '$' && key[1] == '$') ? key + 1 : key;
}

/* An object is an operator object when its first key is an operator (validation checks all). */
static bool is_op_object(const cJSON *p)
{
	return cJSON_IsObject(p) && p->child && p->child->string && p->child->string[0] == '$' &&
	       !plain_dollar_key(p->child->string) && p->child->string[1] != '$';
}

static sh_rc validate(const cJSON *p, const char *path, int depth, bool tmpl,
		      struct jsonmatch_why *why);

/*
 * Is `v` a string of exactly one template placeholder ("{{capture.v.n}}": "{{", a name without
 * braces, "}}", nothing around it)? The scenario runner gives such a string its value's JSON
 * type when it expands the pattern (docs/scenarios.md, Templates), so with `tmpl` it stands
 * where an operand must be a number, a boolean or an array. {{open}} is a literal "{{".
 */
static bool whole_placeholder(const cJSON *v)
{
	if (!cJSON_IsString(v))
		return false;
	const char *s = v->valuestring;
	size_t n = strlen(s);
	if (n < 5 || strncmp(s, "{{", 2) != 0 || strcmp(s + n - 2, "}}") != 0)
		return false;
	if (strcmp(s, "{{open}}") == 0)
		return false;
	return !memchr(s + 2, '{', n - 4) && !memchr(s + 2, '}', n - 4);
}

/*
 * Patterns that would take glibc's regex engine gigabytes or minutes are refused before
 * regcomp sees them. It copies a repeated sub-expression once per repetition ("a+" as "aa*",
 * "a{3}" as "aaa"), so stacked or nested repetitions multiply ("x++++..." of 60 pluses took
 * 2 GiB), and it matches a bounded repetition of something that can match the empty string
 * in time that grows with the bound to a high power ("^((x*)*){1,20}$" against "xx": 5 s;
 * "(x?){1,255}": 0.7 s). So: the size, counting copies, must stay within REGEX_COST_MAX; a
 * bound may not exceed 255 (the portable RE_DUP_MAX) nor repeat an expression that can match
 * the empty string; two repetition operators in a row are refused (undefined in POSIX);
 * back-references too (matching them can take exponential time); groups nest 32 deep at
 * most. NULL when the pattern is fine, else why.
 */
#define REGEX_COST_MAX 5000
#define REGEX_DEPTH_MAX 32
#define REGEX_BOUND_MAX 255

/* The pattern state of one group level: its size so far and the current branch. */
struct re_level {
	long long size;        /* copies, over every branch so far */
	bool any_null_branch;  /* a finished branch can match the empty string */
	int solid;             /* parts of the current branch that cannot match empty */
	long long last_size;   /* the last part (what a repetition operator applies to) */
	bool last_null, last_set, quantified;
};

static const char *regex_refusal(const char *re)
{
	static const char *const too_big =
		"it repeats too much (nested or stacked repetitions); simplify it";
	struct re_level lv[REGEX_DEPTH_MAX + 1];
	memset(lv, 0, sizeof lv);
	int d = 0;
	for (const char *c = re; *c; c++) {
		long long size = 1;
		bool null = false;   /* the part can match the empty string */
		if (*c == '\\') {
			if (c[1] >= '1' && c[1] <= '9')
				return "back-references (\\1 to \\9) are not supported";
			if (c[1] && strchr("bB<>`'", c[1]))
				null = true;   /* word and buffer anchors */
			if (c[1])
				c++;
		} else if (*c == '[') {
			const char *e = c + 1;
			if (*e == '^')
				e++;
			if (*e == ']')
				e++;
			while (*e && *e != ']') {
				if (*e == '[' && (e[1] == ':' || e[1] == '.' || e[1] == '=')) {
					const char *close = strchr(e + 2, e[1]);
					e = close && close[1] == ']' ? close + 2 : e + 1;
				} else {
					e++;
				}
			}
			if (!*e)
				return NULL;   /* unbalanced: regcomp says so */
			c = e;
		} else if (*c == '^' || *c == '$') {
			null = true;
		} else if (*c == '(') {
			if (d == REGEX_DEPTH_MAX)
				return "groups are nested more than 32 deep";
			memset(&lv[++d], 0, sizeof lv[d]);
			continue;
		} else if (*c == ')' && d > 0) {
			size = lv[d].size ? lv[d].size : 1;
			null = lv[d].any_null_branch || lv[d].solid == 0;
			d--;
		} else if (*c == '|') {
			lv[d].any_null_branch |= lv[d].solid == 0;
			lv[d].solid = 0;
			lv[d].last_set = lv[d].quantified = false;
			continue;
		} else if (*c == '*' || *c == '?' || *c == '+' || *c == '{') {
			struct re_level *l = &lv[d];
			if (!l->last_set)
				continue;   /* nothing to repeat: regcomp decides */
			if (l->quantified)
				return "two repetition operators in a row (undefined in POSIX extended "
				       "regular expressions; there are no lazy or possessive forms)";
			long long was = l->last_size, now = was;
			bool now_null = l->last_null;
			if (*c == '{') {
				long long lo = 0, hi = -1;
				const char *e = c + 1;
				for (; *e >= '0' && *e <= '9'; e++)
					lo = lo > REGEX_BOUND_MAX ? lo : lo * 10 + (*e - '0');
				if (*e == ',') {
					hi = *++e >= '0' && *e <= '9' ? 0 : -2;   /* -2: no upper bound */
					for (; *e >= '0' && *e <= '9'; e++)
						hi = hi > REGEX_BOUND_MAX ? hi : hi * 10 + (*e - '0');
				}
				if (*e != '}')
					continue;   /* not a bound: regcomp decides */
				if (lo > REGEX_BOUND_MAX || hi > REGEX_BOUND_MAX)
					return "a repetition bound is above 255";
				long long k = hi > lo ? hi : lo;
				if (k > 1 && l->last_null)
					return "a bounded repetition {n,m} of something that can match the empty "
					       "string (like (x*){2,9} or (a?){1,50}) takes the C library minutes "
					       "to match; drop the bound or make the inside match at least one "
					       "character";
				now = (k + 1) * was;
				now_null = lo == 0 || l->last_null;
				c = e;
			} else if (*c == '+') {
				now = 2 * was;
			} else {
				now_null = true;
			}
			l->size += now - was;
			if (!l->last_null && now_null)
				l->solid--;
			l->last_size = now;
			l->last_null = now_null;
			l->quantified = true;
			if (l->size > REGEX_COST_MAX)
				return too_big;
			continue;
		}
		struct re_level *l = &lv[d];
		l->size += size;
		l->solid += null ? 0 : 1;
		l->last_size = size;
		l->last_null = null;
		l->last_set = true;
		l->quantified = false;
		if (l->size > REGEX_COST_MAX)
			return too_big;
	}
	return NULL;
}

/*
 * Validate one operator `key: operand` at `path` (the operator's own path). Operands are checked
 * for type; $regex is compiled once to prove it compiles; $contains recurses as a pattern.
 * With `tmpl`, a whole placeholder is accepted as the operand of $exists, $gt/$gte/$lt/$lte
 * and $in (its type is known only once expanded; the expanded pattern is validated again).
 */
static sh_rc validate_op(enum op op, const char *name, const cJSON *arg, const char *path,
			 int depth, bool tmpl, struct jsonmatch_why *why)
{
	if (tmpl && whole_placeholder(arg) && (op == OP_EXISTS || op == OP_GT || op == OP_GTE ||
					       op == OP_LT || op == OP_LTE || op == OP_IN))
		return SH_OK;
	switch (op) {
	case OP_EQ:
	case OP_NE:
		return SH_OK;
	case OP_EXISTS:
		if (!cJSON_IsBool(arg)) {
			set_why(why, path, "$exists takes true or false, not %s", type_word(arg));
			return SH_E_INVALID;
		}
		return SH_OK;
	case OP_REGEX: {
		if (!cJSON_IsString(arg)) {
			set_why(why, path, "$regex takes a string, not %s", type_word(arg));
			return SH_E_INVALID;
		}
		const char *refused = regex_refusal(arg->valuestring);
		if (refused) {
			set_why(why, path, "$regex refused: %s", refused);
			return SH_E_INVALID;
		}
		regex_t re;
		int rc = regcomp(&re, arg->valuestring, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char msg[128];
			regerror(rc, &re, msg, sizeof msg);
			set_why(why, path, "not a POSIX extended regular expression: %s", msg);
			return SH_E_INVALID;
		}
		regfree(&re);
		return SH_OK;
	}
	case OP_GT:
	case OP_GTE:
	case OP_LT:
	case OP_LTE:
		if (!cJSON_IsNumber(arg) || !isfinite(arg->valuedouble)) {
			set_why(why, path, "%s takes a number, not %s", name, type_word(arg));
			return SH_E_INVALID;
		}
		return SH_OK;
	case OP_IN:
		if (!cJSON_IsArray(arg)) {
			set_why(why, path, "$in takes an array of values, not %s", type_word(arg));
			return SH_E_INVALID;
		}
		return SH_OK;
	case OP_CONTAINS:
		if (cJSON_IsArray(arg)) {
			size_t i = 0;
			const cJSON *e;
			cJSON_ArrayForEach(e, arg) {
				char ep[JSONMATCH_PATH_MAX];
				jsonmatch_path_index(ep, sizeof ep, path, i++);
				sh_rc rc = validate(e, ep, depth + 1, tmpl, why);
				if (rc != SH_OK)
					return rc;
			}
			return SH_OK;
		}
		return validate(arg, path, depth + 1, tmpl, why);
	case OP_NONE:
		break;
	}
	return SH_E_INVALID;
}

/*
 * Validate pattern `p` found at `path`, `depth` levels down. Returns SH_OK or SH_E_INVALID with
 * `why` set. Called once per node; the recursion is bounded by JSONMATCH_MAX_DEPTH.
 */
static sh_rc validate(const cJSON *p, const char *path, int depth, bool tmpl,
		      struct jsonmatch_why *why)
{
	if (!p) {
		set_why(why, path, "no pattern");
		return SH_E_INVALID;
	}
	if (depth > JSONMATCH_MAX_DEPTH) {
		set_why(why, path, "pattern nested deeper than %d levels", JSONMATCH_MAX_DEPTH);
		return SH_E_INVALID;
	}
	if (cJSON_IsArray(p)) {
		size_t i = 0;
		const cJSON *e;
		cJSON_ArrayForEach(e, p) {
			char ep[JSONMATCH_PATH_MAX];
			jsonmatch_path_index(ep, sizeof ep, path, i++);
			sh_rc rc = validate(e, ep, depth + 1, tmpl, why);
			if (rc != SH_OK)
				return rc;
		}
		return SH_OK;
	}
	if (!cJSON_IsObject(p))
		return SH_OK;
	bool op_object = is_op_object(p);
	const cJSON *m;
	cJSON_ArrayForEach(m, p) {
		const char *key = m->string ? m->string : "";
		char mp[JSONMATCH_PATH_MAX];
		jsonmatch_path_member(mp, sizeof mp, path, key);
		for (const cJSON *q = p->child; q != m; q = q->next) {
			if (q->string && strcmp(q->string, key) == 0) {
				set_why(why, mp, "key appears twice in the same object");
				return SH_E_INVALID;
			}
		}
		enum op op = op_of(key);
		bool dollar = key[0] == '$' && key[1] != '$' && !plain_dollar_key(key);
		if (dollar && op == OP_NONE) {
			set_why(why, mp, "unknown operator %.48s (operators: $eq, $ne, $exists, $regex, "
				"$gt, $gte, $lt, $lte, $in, $contains; write $$name for a key named $name)",
				key);
			return SH_E_INVALID;
		}
		if (dollar != op_object) {
			set_why(why, mp, "an object mixes operators and plain keys (put the operators "
				"in an object of their own under the key they test)");
			return SH_E_INVALID;
		}
		sh_rc rc = op_object ? validate_op(op, key, m, mp, depth, tmpl, why)
				     : validate(m, mp, depth + 1, tmpl, why);
		if (rc != SH_OK)
			return rc;
	}
	return SH_OK;
}

sh_rc jsonmatch_validate(const cJSON *pattern, const char *root, struct jsonmatch_why *why)
{
	return validate(pattern, root ? root : "$", 0, false, why);
}

sh_rc jsonmatch_validate_template(const cJSON *pattern, const char *root,
				  struct jsonmatch_why *why)
{
	return validate(pattern, root ? root : "$", 0, true, why);
}

/* --- evaluation ------------------------------------------------------------------------------ */

static bool eval(const cJSON *p, const cJSON *v, const char *path, int depth,
		 struct jsonmatch_why *why);

static bool regex_search(const char *re_text, const char *s)
{
	regex_t re;
	if (regex_refusal(re_text) || regcomp(&re, re_text, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	bool hit = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return hit;
}

/* Does some element of array `v` match pattern `p`? Sub-mismatch details are discarded. */
static bool some_element(const cJSON *p, const cJSON *v, const char *path, int depth)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, v) {
		if (eval(p, e, path, depth + 1, NULL))
			return true;
	}
	return false;
}

/*
 * Evaluate one operator `name: arg` (validated) against value `v` (NULL when absent) at `path`.
 * Returns whether it holds; on false `why` says what was expected and what was there.
 */
static bool eval_op(enum op op, const char *name, const cJSON *arg, const cJSON *v,
		    const char *path, int depth, struct jsonmatch_why *why)
{
	char want[SHOWN_VALUE_MAX + 8], got[SHOWN_VALUE_MAX + 8];
	show(arg, want, sizeof want);
	show(v, got, sizeof got);
	switch (op) {
	case OP_EQ:
		if (jsonmatch_equal(arg, v))
			return true;
		set_why(why, path, "expected exactly %s, got %s", want, got);
		return false;
	case OP_NE:
		if (!jsonmatch_equal(arg, v))
			return true;
		set_why(why, path, "expected anything but %s, got it", want);
		return false;
	case OP_EXISTS:
		if ((v != NULL) == cJSON_IsTrue(arg))
			return true;
		if (v)
			set_why(why, path, "expected no such key, got %s", got);
		else
			set_why(why, path, "expected the key to be present, got nothing");
		return false;
	case OP_REGEX:
		if (cJSON_IsString(v) && regex_search(arg->valuestring, v->valuestring))
			return true;
		set_why(why, path, "expected a string matching /%.80s/, got %s", arg->valuestring, got);
		return false;
	case OP_GT:
	case OP_GTE:
	case OP_LT:
	case OP_LTE: {
		const char *sym = op == OP_GT ? ">" : op == OP_GTE ? ">=" : op == OP_LT ? "<" : "<=";
		if (cJSON_IsNumber(v)) {
			double a = v->valuedouble, b = arg->valuedouble;
			bool ok = op == OP_GT ? a > b : op == OP_GTE ? a >= b : op == OP_LT ? a < b : a <= b;
			if (ok)
				return true;
		}
		set_why(why, path, "expected a number %s %s, got %s", sym, want, got);
		return false;
	}
	case OP_IN: {
		const cJSON *e;
		cJSON_ArrayForEach(e, arg) {
			if (jsonmatch_equal(e, v))
				return true;
		}
		set_why(why, path, "expected one of %s, got %s", want, got);
		return false;
	}
	case OP_CONTAINS:
		if (cJSON_IsArray(v)) {
			if (!cJSON_IsArray(arg) && some_element(arg, v, path, depth))
				return true;
			if (cJSON_IsArray(arg)) {
				bool all = true;
				const cJSON *e;
				cJSON_ArrayForEach(e, arg) {
					if (!some_element(e, v, path, depth)) {
						all = false;
						break;
					}
				}
				if (all)
					return true;
			}
		}
		set_why(why, path, "expected an array containing %s%s, got %s",
			cJSON_IsArray(arg) ? "elements matching each of " : "an element matching ",
			want, got);
		return false;
	case OP_NONE:
		break;
	}
	(void)name;
	set_why(why, path, "invalid pattern");
	return false;
}

/*
 * Match value `v` (NULL when absent) against validated pattern `p` at `path`. Stops at the first
 * difference, which `why` describes. Recursion is bounded by the validated pattern's depth.
 */
static bool eval(const cJSON *p, const cJSON *v, const char *path, int depth,
		 struct jsonmatch_why *why)
{
	if (depth > JSONMATCH_MAX_DEPTH) {
		set_why(why, path, "pattern nested deeper than %d levels", JSONMATCH_MAX_DEPTH);
		return false;
	}
	char want[SHOWN_VALUE_MAX + 8], got[SHOWN_VALUE_MAX + 8];
	if (is_op_object(p)) {
		const cJSON *m;
		cJSON_ArrayForEach(m, p) {
			if (!eval_op(op_of(m->string), m->string, m, v, path, depth, why))
				return false;
		}
		return true;
	}
	if (cJSON_IsObject(p)) {
		if (!cJSON_IsObject(v)) {
			show(v, got, sizeof got);
			set_why(why, path, "expected an object, got %s", got);
			return false;
		}
		const cJSON *m;
		cJSON_ArrayForEach(m, p) {
			const char *key = value_key(m->string);
			char mp[JSONMATCH_PATH_MAX];
			jsonmatch_path_member(mp, sizeof mp, path, key);
			if (!eval(m, cJSON_GetObjectItemCaseSensitive(v, key), mp, depth + 1, why))
				return false;
		}
		return true;
	}
	if (cJSON_IsArray(p)) {
		if (!cJSON_IsArray(v)) {
			show(v, got, sizeof got);
			set_why(why, path, "expected an array, got %s", got);
			return false;
		}
		int pn = cJSON_GetArraySize(p), vn = cJSON_GetArraySize(v);
		if (pn != vn) {
			set_why(why, path, "expected an array of %d element%s, got %d", pn,
				pn == 1 ? "" : "s", vn);
			return false;
		}
		size_t i = 0;
		const cJSON *x = p->child, *y = v->child;
		for (; x && y; x = x->next, y = y->next, i++) {
			char ep[JSONMATCH_PATH_MAX];
			jsonmatch_path_index(ep, sizeof ep, path, i);
			if (!eval(x, y, ep, depth + 1, why))
				return false;
		}
		return true;
	}
	if (jsonmatch_equal(p, v))
		return true;
	show(p, want, sizeof want);
	show(v, got, sizeof got);
	set_why(why, path, "expected %s, got %s", want, got);
	return false;
}

bool jsonmatch_eval(const cJSON *pattern, const cJSON *value, const char *root,
		    struct jsonmatch_why *why)
{
	const char *r = root ? root : "$";
	struct jsonmatch_why bad;
	if (validate(pattern, r, 0, false, &bad) != SH_OK) {
		set_why(why, bad.path, "invalid pattern: %s", bad.reason);
		return false;
	}
	return eval(pattern, value, r, 0, why);
}
