/*
 * query.c: the query room (core/query): a hand-written lexer and recursive-descent parser for
 * IoT Hub's twin query language, and an evaluator over one cJSON twin at a time. Never does I/O,
 * paging or storage; never reads the clock.
 *
 * Semantics (iothub-protocol.md §9, which follows the Cosmos DB SQL it derives from): every
 * expression evaluates to a value or to "undefined". A path that does not exist is undefined;
 * comparisons are defined only between two primitives of the same type (numbers and strings
 * order, booleans and null only compare for equality), otherwise undefined; arithmetic is
 * defined only on numbers. AND is false if either side is false, true if both are true,
 * undefined otherwise; OR mirrors it; NOT flips booleans and keeps undefined. WHERE matches only
 * when the result is boolean true, so `tags.x != 'a'` does not match a twin without tags.x.
 * IS_DEFINED(p) is true whenever p exists, even as null. STARTSWITH/ENDSWITH take two strings
 * (spelled without underscore: STARTS_WITH belongs to message routing and IoT Hub rejects it).
 */
#include "core/query.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char INVALID_SENTENCE[] =
	"The query is invalid. Please check the format of the query and try again.";

/* ---- AST ---------------------------------------------------------------------------------- */

enum tok_kind {
	T_EOF, T_IDENT, T_NUM, T_STR, T_STAR, T_COMMA, T_DOT, T_LP, T_RP, T_LB, T_RB,
	T_EQ, T_NE, T_LT, T_GT, T_LE, T_GE, T_PLUS, T_MINUS, T_SLASH, T_PCT,
};

enum node_kind {
	N_LIT, N_PATH, N_NOT, N_NEG, N_AND, N_OR, N_CMP, N_ARITH, N_IN, N_NIN,
	N_DEFINED, N_STARTS, N_ENDS,
};

struct seg {
	char *name;   /* member name, or NULL for an array index */
	long index;
};

struct node {
	enum node_kind kind;
	enum tok_kind op;      /* N_CMP, N_ARITH */
	struct node *a, *b;    /* operands */
	struct node **list;    /* N_AND, N_OR, N_IN, N_NIN (the constants) */
	size_t nlist;
	cJSON *lit;            /* N_LIT; NULL means undefined */
	struct seg *segs;      /* N_PATH */
	size_t nsegs;
	int height;
};

enum item_kind { I_PATH, I_COUNT, I_AVG, I_SUM, I_MIN, I_MAX };

struct item {
	enum item_kind kind;
	struct node *path;   /* I_PATH and the argument of AVG..MAX */
	char *name;          /* alias, or "$n" for unnamed aggregates/indexes, or NULL (path name) */
};

struct query {
	enum query_source from;
	long top;
	bool star;
	bool aggregate;
	struct item *items;
	size_t nitems;
	struct node *where;
	struct node *group;
};

static void node_free(struct node *n)
{
	if (!n)
		return;
	node_free(n->a);
	node_free(n->b);
	for (size_t i = 0; i < n->nlist; i++)
		node_free(n->list[i]);
	free(n->list);
	cJSON_Delete(n->lit);
	for (size_t i = 0; i < n->nsegs; i++)
		free(n->segs[i].name);
	free(n->segs);
	free(n);
}

void query_free(struct query *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->nitems; i++) {
		node_free(q->items[i].path);
		free(q->items[i].name);
	}
	free(q->items);
	node_free(q->where);
	node_free(q->group);
	free(q);
}

/* ---- lexer -------------------------------------------------------------------------------- */

struct tok {
	enum tok_kind kind;
	size_t off, len;   /* the token's bytes in the text */
	int line, col;
	double num;
	char *str;         /* T_STR: decoded text, owned by the parser until taken */
};

struct parser {
	const char *s;
	size_t n, pos;
	int line, col;
	struct tok t;
	struct iothub_err *err;
	sh_rc rc;          /* SH_OK until the first error */
	int depth;
};

/*
 * Record the first error only: later ones are consequences. The message is IoT Hub's sentence
 * followed by the place and what was wrong; err may be NULL.
 */
static void fail_at(struct parser *p, sh_rc rc, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void fail_at(struct parser *p, sh_rc rc, int line, int col, const char *fmt, ...)
{
	if (p->rc != SH_OK)
		return;
	p->rc = rc;
	char detail[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	iothub_err_set(p->err, IOTHUB_ARGUMENT_INVALID, "%s (line %d, column %d: %s)",
		       INVALID_SENTENCE, line, col, detail);
}

/* A printable excerpt of the current token for error messages ("end of query" at EOF). */
static const char *tok_text(const struct parser *p, char *buf, size_t size)
{
	if (p->t.kind == T_EOF)
		return "end of query";
	size_t n = p->t.len < 24 ? p->t.len : 24;
	size_t k = 0;
	buf[k++] = '\'';
	for (size_t i = 0; i < n && k + 5 < size; i++) {
		unsigned char c = (unsigned char)p->s[p->t.off + i];
		buf[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (p->t.len > n)
		buf[k++] = '.', buf[k++] = '.', buf[k++] = '.';
	buf[k++] = '\'';
	buf[k] = '\0';
	return buf;
}

static void fail_expected(struct parser *p, const char *what)
{
	char buf[40];
	fail_at(p, SH_E_MALFORMED, p->t.line, p->t.col, "expected %s but found %s", what,
		tok_text(p, buf, sizeof buf));
}

static void advance_char(struct parser *p)
{
	if (p->s[p->pos] == '\n') {
		p->line++;
		p->col = 1;
	} else {
		p->col++;
	}
	p->pos++;
}

static bool is_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}

static bool is_ident_char(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Append code point cp as UTF-8 to out (room for 4 bytes is guaranteed by the caller). */
static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Read 4 hex digits at s[i..]; -1 when they are not there. */
static long hex4(const char *s, size_t n, size_t i)
{
	if (i + 4 > n)
		return -1;
	long v = 0;
	for (size_t k = 0; k < 4; k++) {
		int h = hexval((unsigned char)s[i + k]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/*
 * Lex a quoted string starting at the opening quote (either ' or "). The decoded text never
 * grows beyond the source bytes (escapes shrink or keep size), so one allocation of the
 * remaining length suffices. \u0000 is refused: cJSON strings end at NUL. Surrogate pairs
 * must come as a pair.
 */
static void lex_string(struct parser *p)
{
	const char *s = p->s;
	char quote = s[p->pos];
	size_t i = p->pos + 1;
	char *out = malloc(p->n - p->pos + 1);
	if (!out) {
		fail_at(p, SH_E_NOMEM, p->t.line, p->t.col, "out of memory");
		return;
	}
	size_t k = 0;
	for (;;) {
		if (i >= p->n) {
			free(out);
			fail_at(p, SH_E_MALFORMED, p->t.line, p->t.col, "unterminated string");
			return;
		}
		char c = s[i];
		if (c == quote)
			break;
		if (c != '\\') {
			out[k++] = c;
			i++;
			continue;
		}
		if (i + 1 >= p->n) {
			free(out);
			fail_at(p, SH_E_MALFORMED, p->t.line, p->t.col, "unterminated string");
			return;
		}
		char e = s[i + 1];
		static const char keys[] = "'\"\\/bfnrt";
		static const char map[] = "'\"\\/\b\f\n\r\t";
		const char *simple = e != '\0' ? strchr(keys, e) : NULL;
		if (simple) {
			out[k++] = map[simple - keys];
			i += 2;
			continue;
		}
		long cp = e == 'u' ? hex4(s, p->n, i + 2) : -1;
		size_t used = 6;
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			long lo = (i + 7 < p->n && s[i + 6] == '\\' && s[i + 7] == 'u')
					  ? hex4(s, p->n, i + 8) : -1;
			cp = (lo >= 0xDC00 && lo <= 0xDFFF) ? 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
							    : -1;
			used = 12;
		} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
			cp = -1;
		}
		if (cp <= 0) {
			free(out);
			fail_at(p, SH_E_MALFORMED, p->line, p->col + (int)(i - p->pos),
				"invalid escape in string");
			return;
		}
		k += put_utf8(out + k, (uint32_t)cp);
		i += used;
	}
	out[k] = '\0';
	p->t.kind = T_STR;
	p->t.str = out;
	p->t.len = i + 1 - p->pos;
}

/* Lex a number: decimal with optional fraction and exponent, or 0x hex. A letter glued to
 * the digits ("12abc") is an error, not two tokens. */
static void lex_number(struct parser *p)
{
	const char *s = p->s;
	size_t i = p->pos;
	if (s[i] == '0' && i + 1 < p->n && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		i += 2;
		double v = 0;
		size_t digits = 0;
		while (i < p->n && hexval((unsigned char)s[i]) >= 0) {
			v = v * 16 + hexval((unsigned char)s[i]);
			i++;
			digits++;
		}
		if (digits == 0 || digits > 13)
			goto bad;
		p->t.num = v;
	} else {
		while (i < p->n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i < p->n && s[i] == '.') {
			i++;
			if (i >= p->n || s[i] < '0' || s[i] > '9')
				goto bad;
			while (i < p->n && s[i] >= '0' && s[i] <= '9')
				i++;
		}
		if (i < p->n && (s[i] == 'e' || s[i] == 'E')) {
			i++;
			if (i < p->n && (s[i] == '+' || s[i] == '-'))
				i++;
			if (i >= p->n || s[i] < '0' || s[i] > '9')
				goto bad;
			while (i < p->n && s[i] >= '0' && s[i] <= '9')
				i++;
		}
		char buf[64];
		if (i - p->pos >= sizeof buf)
			goto bad;
		memcpy(buf, s + p->pos, i - p->pos);
		buf[i - p->pos] = '\0';
		p->t.num = strtod(buf, NULL);
		if (!isfinite(p->t.num))
			goto bad;
	}
	if (i < p->n && is_ident_char((unsigned char)s[i]))
		goto bad;
	p->t.kind = T_NUM;
	p->t.len = i - p->pos;
	return;
bad:
	fail_at(p, SH_E_MALFORMED, p->t.line, p->t.col, "invalid number");
}

/*
 * Move to the next token: skip white space, then lex one token into p->t. The previous
 * token's string, if nobody took it, is freed here. On a lexical error p->t is T_EOF and
 * p->rc is set, so every parse loop terminates.
 */
static void next(struct parser *p)
{
	free(p->t.str);
	p->t.str = NULL;
	if (p->rc != SH_OK) {
		p->t.kind = T_EOF;
		return;
	}
	while (p->pos < p->n && strchr(" \t\r\n", p->s[p->pos]) && p->s[p->pos] != '\0')
		advance_char(p);
	p->t.off = p->pos;
	p->t.line = p->line;
	p->t.col = p->col;
	p->t.len = 1;
	p->t.kind = T_EOF;
	if (p->pos >= p->n) {
		p->t.len = 0;
		return;
	}
	unsigned char c = (unsigned char)p->s[p->pos];
	unsigned char d = p->pos + 1 < p->n ? (unsigned char)p->s[p->pos + 1] : 0;
	if (is_ident_start(c)) {
		size_t i = p->pos;
		while (i < p->n && is_ident_char((unsigned char)p->s[i]))
			i++;
		p->t.kind = T_IDENT;
		p->t.len = i - p->pos;
	} else if (c >= '0' && c <= '9') {
		lex_number(p);
	} else if (c == '\'' || c == '"') {
		lex_string(p);
	} else {
		switch (c) {
		case '*': p->t.kind = T_STAR; break;
		case ',': p->t.kind = T_COMMA; break;
		case '.': p->t.kind = T_DOT; break;
		case '(': p->t.kind = T_LP; break;
		case ')': p->t.kind = T_RP; break;
		case '[': p->t.kind = T_LB; break;
		case ']': p->t.kind = T_RB; break;
		case '=': p->t.kind = T_EQ; break;
		case '+': p->t.kind = T_PLUS; break;
		case '-': p->t.kind = T_MINUS; break;
		case '/': p->t.kind = T_SLASH; break;
		case '%': p->t.kind = T_PCT; break;
		case '!':
			if (d == '=') {
				p->t.kind = T_NE;
				p->t.len = 2;
				break;
			}
			goto bad;
		case '<':
			p->t.kind = d == '=' ? T_LE : d == '>' ? T_NE : T_LT;
			p->t.len = (d == '=' || d == '>') ? 2 : 1;
			break;
		case '>':
			p->t.kind = d == '=' ? T_GE : T_GT;
			p->t.len = d == '=' ? 2 : 1;
			break;
		default:
			goto bad;
		}
	}
	if (p->rc != SH_OK) {
		p->t.kind = T_EOF;
		return;
	}
	for (size_t k = 0; k < p->t.len; k++)
		advance_char(p);
	return;
bad:
	fail_at(p, SH_E_MALFORMED, p->t.line, p->t.col, "unexpected character '%c'",
		(c >= 0x20 && c < 0x7f) ? c : '?');
	p->t.kind = T_EOF;
}

/* Is the current token the identifier `kw`, case-insensitively? */
static bool is_kw(const struct parser *p, const char *kw)
{
	return p->t.kind == T_IDENT && strlen(kw) == p->t.len &&
	       strncasecmp(p->s + p->t.off, kw, p->t.len) == 0;
}

static bool accept_kw(struct parser *p, const char *kw)
{
	if (!is_kw(p, kw))
		return false;
	next(p);
	return true;
}

static bool expect_kw(struct parser *p, const char *kw)
{
	if (accept_kw(p, kw))
		return true;
	fail_expected(p, kw);
	return false;
}

static bool expect(struct parser *p, enum tok_kind k, const char *what)
{
	if (p->t.kind == k) {
		next(p);
		return true;
	}
	fail_expected(p, what);
	return false;
}

static const char *const RESERVED[] = {
	"SELECT", "FROM", "WHERE", "GROUP", "BY", "AS", "TOP", "AND", "OR", "NOT", "IN", "NIN",
	"TRUE", "FALSE", "NULL", "UNDEFINED", NULL,
};

static bool is_reserved(const struct parser *p)
{
	for (const char *const *k = RESERVED; *k; k++)
		if (is_kw(p, *k))
			return true;
	return false;
}

/* ---- parser ------------------------------------------------------------------------------- */

static struct node *node_new(struct parser *p, enum node_kind kind)
{
	struct node *n = calloc(1, sizeof *n);
	if (!n) {
		fail_at(p, SH_E_NOMEM, p->t.line, p->t.col, "out of memory");
		return NULL;
	}
	n->kind = kind;
	n->height = 1;
	return n;
}

static char *dup_bytes(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* Append to a node pointer array; frees `item` and fails on allocation error. */
static bool list_push(struct parser *p, struct node ***list, size_t *n, struct node *item)
{
	struct node **grown = realloc(*list, (*n + 1) * sizeof **list);
	if (!grown) {
		node_free(item);
		fail_at(p, SH_E_NOMEM, p->t.line, p->t.col, "out of memory");
		return false;
	}
	*list = grown;
	grown[(*n)++] = item;
	return true;
}

static bool seg_push(struct parser *p, struct node *path, char *name, long index)
{
	struct seg *grown = realloc(path->segs, (path->nsegs + 1) * sizeof *grown);
	if (!grown) {
		free(name);
		fail_at(p, SH_E_NOMEM, p->t.line, p->t.col, "out of memory");
		return false;
	}
	path->segs = grown;
	grown[path->nsegs].name = name;
	grown[path->nsegs].index = index;
	path->nsegs++;
	return true;
}

/*
 * path := ident { '.' ident | '[' string ']' | '[' integer ']' }. Called with the current
 * token on the first identifier (already checked not to be a keyword). After a dot any
 * identifier is a member name, keywords included (properties.reported.from).
 */
static struct node *parse_path(struct parser *p)
{
	struct node *n = node_new(p, N_PATH);
	if (!n)
		return NULL;
	if (!seg_push(p, n, dup_bytes(p->s + p->t.off, p->t.len), -1) || !n->segs[0].name)
		goto fail;
	next(p);
	for (;;) {
		if (p->t.kind == T_DOT) {
			next(p);
			if (p->t.kind != T_IDENT) {
				fail_expected(p, "a property name after '.'");
				goto fail;
			}
			char *name = dup_bytes(p->s + p->t.off, p->t.len);
			if (!name || !seg_push(p, n, name, -1))
				goto fail;
			next(p);
		} else if (p->t.kind == T_LB) {
			next(p);
			if (p->t.kind == T_STR) {
				char *name = p->t.str;
				p->t.str = NULL;
				if (!seg_push(p, n, name, -1))
					goto fail;
			} else if (p->t.kind == T_NUM && p->t.num >= 0 && p->t.num <= 1e9 &&
				   p->t.num == (double)(long)p->t.num) {
				if (!seg_push(p, n, NULL, (long)p->t.num))
					goto fail;
			} else {
				fail_expected(p, "a quoted name or an index inside '[ ]'");
				goto fail;
			}
			next(p);
			if (!expect(p, T_RB, "']'"))
				goto fail;
		} else {
			break;
		}
		if (p->rc != SH_OK)
			goto fail;
	}
	if (p->rc != SH_OK)
		goto fail;
	return n;
fail:
	if (p->rc == SH_OK)
		fail_at(p, SH_E_NOMEM, p->t.line, p->t.col, "out of memory");
	node_free(n);
	return NULL;
}

static struct node *parse_or(struct parser *p);

static struct node *lit_node(struct parser *p, cJSON *v)
{
	struct node *n = node_new(p, N_LIT);
	if (!n) {
		cJSON_Delete(v);
		return NULL;
	}
	n->lit = v;
	return n;
}

/* A function call: name '(' args ')'. Only the functions twin queries know (see the top). */
static struct node *parse_call(struct parser *p)
{
	int line = p->t.line, col = p->t.col;
	enum node_kind kind;
	if (is_kw(p, "IS_DEFINED"))
		kind = N_DEFINED;
	else if (is_kw(p, "STARTSWITH"))
		kind = N_STARTS;
	else if (is_kw(p, "ENDSWITH"))
		kind = N_ENDS;
	else {
		char buf[40];
		fail_at(p, SH_E_MALFORMED, line, col, "unknown function %s", tok_text(p, buf, sizeof buf));
		return NULL;
	}
	next(p);  /* name */
	next(p);  /* ( */
	struct node *n = node_new(p, kind);
	if (!n)
		return NULL;
	if (kind == N_DEFINED) {
		if (p->t.kind != T_IDENT || is_reserved(p)) {
			fail_expected(p, "a property path in IS_DEFINED");
			goto fail;
		}
		n->a = parse_path(p);
	} else {
		n->a = parse_or(p);
		if (n->a && expect(p, T_COMMA, "','"))
			n->b = parse_or(p);
	}
	if (p->rc != SH_OK || !expect(p, T_RP, "')'"))
		goto fail;
	return n;
fail:
	node_free(n);
	return NULL;
}

/* Enter one level of recursion; false (with an error) beyond QUERY_MAX_DEPTH. */
static bool enter(struct parser *p)
{
	if (++p->depth > QUERY_MAX_DEPTH) {
		fail_at(p, SH_E_MALFORMED, p->t.line, p->t.col, "expression is nested too deeply");
		return false;
	}
	return true;
}

/* primary := literal | '(' expr ')' | function call | path */
static struct node *parse_primary(struct parser *p)
{
	if (p->t.kind == T_NUM) {
		struct node *n = lit_node(p, cJSON_CreateNumber(p->t.num));
		next(p);
		return n && n->lit ? n : (node_free(n), fail_at(p, SH_E_NOMEM, 0, 0, "oom"), NULL);
	}
	if (p->t.kind == T_STR) {
		struct node *n = lit_node(p, cJSON_CreateString(p->t.str));
		next(p);
		return n && n->lit ? n : (node_free(n), fail_at(p, SH_E_NOMEM, 0, 0, "oom"), NULL);
	}
	if (p->t.kind == T_LP) {
		next(p);
		if (!enter(p))
			return NULL;
		struct node *n = parse_or(p);
		p->depth--;
		if (n && !expect(p, T_RP, "')'")) {
			node_free(n);
			return NULL;
		}
		return n;
	}
	if (p->t.kind != T_IDENT) {
		fail_expected(p, "a value, a property path or '('");
		return NULL;
	}
	if (is_kw(p, "TRUE") || is_kw(p, "FALSE") || is_kw(p, "NULL")) {
		cJSON *v = is_kw(p, "NULL") ? cJSON_CreateNull() : cJSON_CreateBool(is_kw(p, "TRUE"));
		struct node *n = lit_node(p, v);
		next(p);
		return n && n->lit ? n : (node_free(n), fail_at(p, SH_E_NOMEM, 0, 0, "oom"), NULL);
	}
	if (is_kw(p, "UNDEFINED")) {
		next(p);
		return node_new(p, N_LIT);
	}
	if (is_reserved(p)) {
		char buf[40];
		fail_at(p, SH_E_MALFORMED, p->t.line, p->t.col, "keyword %s cannot be used here",
			tok_text(p, buf, sizeof buf));
		return NULL;
	}
	/* a call when '(' follows the name directly */
	size_t after = p->t.off + p->t.len;
	while (after < p->n && strchr(" \t\r\n", p->s[after]) && p->s[after] != '\0')
		after++;
	if (after < p->n && p->s[after] == '(')
		return parse_call(p);
	return parse_path(p);
}

/* unary := '-' unary | primary */
static struct node *parse_unary(struct parser *p)
{
	if (p->t.kind != T_MINUS)
		return parse_primary(p);
	next(p);
	if (!enter(p))
		return NULL;
	struct node *a = parse_unary(p);
	p->depth--;
	if (!a)
		return NULL;
	struct node *n = node_new(p, N_NEG);
	if (!n) {
		node_free(a);
		return NULL;
	}
	n->a = a;
	n->height = a->height + 1;
	return n;
}

/* Join a and b under a binary node; checks the tree height so evaluation stays shallow. */
static struct node *binary(struct parser *p, enum node_kind kind, enum tok_kind op, struct node *a,
			   struct node *b)
{
	struct node *n = (a && b) ? node_new(p, kind) : NULL;
	if (!n) {
		node_free(a);
		node_free(b);
		return NULL;
	}
	n->op = op;
	n->a = a;
	n->b = b;
	n->height = (a->height > b->height ? a->height : b->height) + 1;
	if (n->height > QUERY_MAX_HEIGHT) {
		fail_at(p, SH_E_MALFORMED, p->t.line, p->t.col, "expression is too complex");
		node_free(n);
		return NULL;
	}
	return n;
}

/* mul := unary { ('*' | '/' | '%') unary } ; add := mul { ('+' | '-') mul } */
static struct node *parse_mul(struct parser *p)
{
	struct node *n = parse_unary(p);
	while (n && (p->t.kind == T_STAR || p->t.kind == T_SLASH || p->t.kind == T_PCT)) {
		enum tok_kind op = p->t.kind;
		next(p);
		n = binary(p, N_ARITH, op, n, parse_unary(p));
	}
	return n;
}

static struct node *parse_add(struct parser *p)
{
	struct node *n = parse_mul(p);
	while (n && (p->t.kind == T_PLUS || p->t.kind == T_MINUS)) {
		enum tok_kind op = p->t.kind;
		next(p);
		n = binary(p, N_ARITH, op, n, parse_mul(p));
	}
	return n;
}

/* '[' [expr {',' expr}] ']' after IN / NIN, into n->list. */
static bool parse_list(struct parser *p, struct node *n)
{
	if (!expect(p, T_LB, "'[' after IN/NIN"))
		return false;
	if (p->t.kind == T_RB) {
		next(p);
		return true;
	}
	for (;;) {
		struct node *e = parse_add(p);
		if (!e || !list_push(p, &n->list, &n->nlist, e))
			return false;
		if (p->t.kind == T_RB) {
			next(p);
			return p->rc == SH_OK;
		}
		if (!expect(p, T_COMMA, "',' or ']'"))
			return false;
	}
}

/* cmp := add [ cmpop add | IN list | NIN list ]; one comparison, not a chain. */
static struct node *parse_cmp(struct parser *p)
{
	struct node *a = parse_add(p);
	if (!a)
		return NULL;
	enum tok_kind op = p->t.kind;
	if (op == T_EQ || op == T_NE || op == T_LT || op == T_GT || op == T_LE || op == T_GE) {
		next(p);
		return binary(p, N_CMP, op, a, parse_add(p));
	}
	bool in = is_kw(p, "IN");
	if (!in && !is_kw(p, "NIN"))
		return a;
	next(p);
	struct node *n = node_new(p, in ? N_IN : N_NIN);
	if (!n) {
		node_free(a);
		return NULL;
	}
	n->a = a;
	n->height = a->height + 1;
	if (!parse_list(p, n)) {
		node_free(n);
		return NULL;
	}
	return n;
}

/* not := NOT not | cmp */
static struct node *parse_not(struct parser *p)
{
	if (!is_kw(p, "NOT"))
		return parse_cmp(p);
	next(p);
	if (!enter(p))
		return NULL;
	struct node *a = parse_not(p);
	p->depth--;
	if (!a)
		return NULL;
	struct node *n = node_new(p, N_NOT);
	if (!n) {
		node_free(a);
		return NULL;
	}
	n->a = a;
	n->height = a->height + 1;
	return n;
}

/*
 * and := not { AND not } ; or := and { OR and }. Chains are n-ary lists rather than left-deep
 * trees, so a long generated `deviceId = 'a' OR deviceId = 'b' OR ...` stays shallow.
 */
static struct node *parse_chain(struct parser *p, enum node_kind kind, const char *kw,
				struct node *(*sub)(struct parser *))
{
	struct node *first = sub(p);
	if (!first || !is_kw(p, kw))
		return first;
	struct node *n = node_new(p, kind);
	if (!n || !list_push(p, &n->list, &n->nlist, first)) {
		if (!n)
			node_free(first);
		node_free(n);
		return NULL;
	}
	int h = first->height;
	while (accept_kw(p, kw)) {
		struct node *e = sub(p);
		if (!e || !list_push(p, &n->list, &n->nlist, e)) {
			node_free(n);
			return NULL;
		}
		if (e->height > h)
			h = e->height;
	}
	n->height = h + 1;
	return n;
}

static struct node *parse_and(struct parser *p)
{
	return parse_chain(p, N_AND, "AND", parse_not);
}

static struct node *parse_or(struct parser *p)
{
	return parse_chain(p, N_OR, "OR", parse_and);
}

static bool paths_equal(const struct node *a, const struct node *b)
{
	if (a->nsegs != b->nsegs)
		return false;
	for (size_t i = 0; i < a->nsegs; i++) {
		const struct seg *x = &a->segs[i], *y = &b->segs[i];
		if ((x->name == NULL) != (y->name == NULL) || x->index != y->index)
			return false;
		if (x->name && (i == 0 ? strcasecmp(x->name, y->name) : strcmp(x->name, y->name)))
			return false;
	}
	return true;
}

/*
 * One SELECT element: an aggregate call or a path, then an optional AS alias. Unnamed
 * aggregates and index-ended paths are named "$<position>".
 */
static bool parse_item(struct parser *p, struct query *q)
{
	static const struct { const char *name; enum item_kind kind; } aggs[] = {
		{ "COUNT", I_COUNT }, { "AVG", I_AVG }, { "SUM", I_SUM }, { "MIN", I_MIN }, { "MAX", I_MAX },
	};
	struct item *grown = realloc(q->items, (q->nitems + 1) * sizeof *grown);
	if (!grown) {
		fail_at(p, SH_E_NOMEM, p->t.line, p->t.col, "out of memory");
		return false;
	}
	q->items = grown;
	struct item *it = &grown[q->nitems++];
	memset(it, 0, sizeof *it);
	if (p->t.kind != T_IDENT || is_reserved(p)) {
		fail_expected(p, "'*', a property path or an aggregate in SELECT");
		return false;
	}
	it->kind = I_PATH;
	for (size_t k = 0; k < sizeof aggs / sizeof aggs[0]; k++)
		if (is_kw(p, aggs[k].name))
			it->kind = aggs[k].kind;
	size_t after = p->t.off + p->t.len;
	while (after < p->n && strchr(" \t\r\n", p->s[after]) && p->s[after] != '\0')
		after++;
	bool call = after < p->n && p->s[after] == '(';
	if (call && it->kind == I_PATH) {
		char buf[40];
		fail_at(p, SH_E_MALFORMED, p->t.line, p->t.col, "unknown function %s in SELECT",
			tok_text(p, buf, sizeof buf));
		return false;
	}
	if (!call)
		it->kind = I_PATH;  /* a property that happens to be called "count" */
	if (it->kind == I_PATH) {
		it->path = parse_path(p);
		if (!it->path)
			return false;
	} else {
		q->aggregate = true;
		next(p);
		next(p);
		if (it->kind != I_COUNT) {
			if (p->t.kind != T_IDENT || is_reserved(p)) {
				fail_expected(p, "a property path");
				return false;
			}
			it->path = parse_path(p);
			if (!it->path)
				return false;
		}
		if (!expect(p, T_RP, it->kind == I_COUNT ? "')' (COUNT takes no argument)" : "')'"))
			return false;
	}
	if (accept_kw(p, "AS")) {
		if (p->t.kind != T_IDENT || is_reserved(p)) {
			fail_expected(p, "an alias name after AS");
			return false;
		}
		it->name = dup_bytes(p->s + p->t.off, p->t.len);
		next(p);
	} else if (it->kind != I_PATH || it->path->segs[it->path->nsegs - 1].name == NULL) {
		char buf[24];
		snprintf(buf, sizeof buf, "$%zu", q->nitems);
		it->name = dup_bytes(buf, strlen(buf));
	} else {
		return p->rc == SH_OK;
	}
	if (!it->name) {
		fail_at(p, SH_E_NOMEM, p->t.line, p->t.col, "out of memory");
		return false;
	}
	return p->rc == SH_OK;
}

/* SELECT [TOP n] ( '*' | item {',' item} ) */
static bool parse_select(struct parser *p, struct query *q)
{
	if (!expect_kw(p, "SELECT"))
		return false;
	if (accept_kw(p, "TOP")) {
		if (p->t.kind != T_NUM || p->t.num < 0 || p->t.num > 2147483647.0 ||
		    p->t.num != (double)(long)p->t.num) {
			fail_expected(p, "a non-negative integer after TOP");
			return false;
		}
		q->top = (long)p->t.num;
		next(p);
	}
	if (p->t.kind == T_STAR) {
		q->star = true;
		next(p);
		return p->rc == SH_OK;
	}
	if (!parse_item(p, q))
		return false;
	while (p->t.kind == T_COMMA) {
		next(p);
		if (!parse_item(p, q))
			return false;
	}
	return p->rc == SH_OK;
}

/* FROM devices | devices.modules (devices.jobs exists in IoT Hub but not in simhub). */
static bool parse_from(struct parser *p, struct query *q)
{
	if (!expect_kw(p, "FROM"))
		return false;
	if (!is_kw(p, "devices")) {
		fail_expected(p, "devices or devices.modules");
		return false;
	}
	next(p);
	q->from = QUERY_FROM_DEVICES;
	if (p->t.kind != T_DOT)
		return p->rc == SH_OK;
	next(p);
	if (is_kw(p, "modules")) {
		q->from = QUERY_FROM_MODULES;
		next(p);
		return p->rc == SH_OK;
	}
	if (is_kw(p, "jobs"))
		fail_at(p, SH_E_MALFORMED, p->t.line, p->t.col, "devices.jobs is not supported by simhub");
	else
		fail_expected(p, "modules after 'devices.'");
	return false;
}

/* With aggregates, every plain column must be the GROUP BY path (or there is no plain column). */
static bool check_aggregate_columns(struct parser *p, struct query *q, int line, int col)
{
	if (!q->aggregate && !q->group)
		return true;
	if (q->star) {
		fail_at(p, SH_E_MALFORMED, line, col, "SELECT * cannot be used with GROUP BY");
		return false;
	}
	q->aggregate = true;
	for (size_t i = 0; i < q->nitems; i++) {
		const struct item *it = &q->items[i];
		if (it->kind == I_PATH && (!q->group || !paths_equal(it->path, q->group))) {
			fail_at(p, SH_E_MALFORMED, line, col,
				"SELECT element %zu must be an aggregate or the GROUP BY property", i + 1);
			return false;
		}
	}
	return true;
}

sh_rc query_parse(const char *text, size_t len, struct query **out, struct iothub_err *err)
{
	*out = NULL;
	if (len > QUERY_MAX_TEXT) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID,
			       "%s (the query is %zu bytes long; the limit is %d)", INVALID_SENTENCE, len,
			       QUERY_MAX_TEXT);
		return SH_E_TOOLARGE;
	}
	struct parser p = { .s = text ? text : "", .n = text ? len : 0, .line = 1, .col = 1,
			    .err = err, .rc = SH_OK };
	struct query *q = calloc(1, sizeof *q);
	if (!q) {
		iothub_err_set(err, IOTHUB_ARGUMENT_INVALID, "%s (out of memory)", INVALID_SENTENCE);
		return SH_E_NOMEM;
	}
	q->top = -1;
	next(&p);
	if (!parse_select(&p, q) || !parse_from(&p, q))
		goto fail;
	if (accept_kw(&p, "WHERE")) {
		q->where = parse_or(&p);
		if (!q->where)
			goto fail;
	}
	int gline = p.t.line, gcol = p.t.col;
	if (accept_kw(&p, "GROUP")) {
		if (!expect_kw(&p, "BY"))
			goto fail;
		if (p.t.kind != T_IDENT || is_reserved(&p)) {
			fail_expected(&p, "a property path after GROUP BY");
			goto fail;
		}
		q->group = parse_path(&p);
		if (!q->group)
			goto fail;
	}
	if (p.rc != SH_OK)
		goto fail;
	if (p.t.kind != T_EOF) {
		fail_expected(&p, q->group ? "end of query" : q->where ? "AND, OR, GROUP BY or end of query"
								       : "WHERE, GROUP BY or end of query");
		goto fail;
	}
	if (!check_aggregate_columns(&p, q, gline, gcol))
		goto fail;
	*out = q;
	return SH_OK;
fail:
	free(p.t.str);
	query_free(q);
	return p.rc != SH_OK ? p.rc : SH_E_MALFORMED;
}

enum query_source query_from(const struct query *q)
{
	return q->from;
}

long query_top(const struct query *q)
{
	return q->top;
}

bool query_is_select_star(const struct query *q)
{
	return q->star;
}

bool query_is_aggregate(const struct query *q)
{
	return q->aggregate;
}

/* ---- evaluation --------------------------------------------------------------------------- */

enum val_kind { V_UNDEF, V_NULL, V_BOOL, V_NUM, V_STR, V_OTHER };

struct val {
	enum val_kind kind;
	bool b;
	double n;
	const char *s;
};

static struct val val_of(const cJSON *j)
{
	struct val v = { V_UNDEF, false, 0, NULL };
	if (!j)
		return v;
	if (cJSON_IsNull(j))
		v.kind = V_NULL;
	else if (cJSON_IsBool(j))
		v.kind = V_BOOL, v.b = cJSON_IsTrue(j);
	else if (cJSON_IsNumber(j))
		v.kind = V_NUM, v.n = j->valuedouble;
	else if (cJSON_IsString(j) && j->valuestring)
		v.kind = V_STR, v.s = j->valuestring;
	else
		v.kind = V_OTHER;
	return v;
}

static struct val val_bool(bool b)
{
	struct val v = { V_BOOL, b, 0, NULL };
	return v;
}

static const struct val UNDEF = { V_UNDEF, false, 0, NULL };

/*
 * Walk a path through the twin. The first segment matches top-level names case-insensitively
 * (exact spelling first); `key` (may be NULL) receives the twin's own spelling of the last
 * member name, used to name projected columns. NULL when any step is missing.
 */
static const cJSON *resolve(const struct node *path, const cJSON *twin, const char **key)
{
	const cJSON *cur = twin;
	for (size_t i = 0; i < path->nsegs && cur; i++) {
		const struct seg *s = &path->segs[i];
		if (!s->name) {
			cur = cJSON_IsArray(cur) && s->index <= INT32_MAX
				      ? cJSON_GetArrayItem(cur, (int)s->index) : NULL;
			continue;
		}
		if (!cJSON_IsObject(cur))
			return NULL;
		const cJSON *next_j = cJSON_GetObjectItemCaseSensitive(cur, s->name);
		if (!next_j && i == 0)
			next_j = cJSON_GetObjectItem(cur, s->name);
		cur = next_j;
		if (cur && key)
			*key = cur->string;
	}
	return cur;
}

static bool same_primitive(struct val a, struct val b)
{
	if (a.kind != b.kind)
		return false;
	switch (a.kind) {
	case V_NULL: return true;
	case V_BOOL: return a.b == b.b;
	case V_NUM: return a.n == b.n;
	case V_STR: return strcmp(a.s, b.s) == 0;
	default: return false;
	}
}

static struct val compare(enum tok_kind op, struct val a, struct val b)
{
	if (a.kind != b.kind || a.kind == V_UNDEF || a.kind == V_OTHER)
		return UNDEF;
	if (op == T_EQ || op == T_NE)
		return val_bool(same_primitive(a, b) == (op == T_EQ));
	int c;
	if (a.kind == V_NUM)
		c = a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
	else if (a.kind == V_STR)
		c = strcmp(a.s, b.s);
	else
		return UNDEF;  /* booleans and null do not order */
	switch (op) {
	case T_LT: return val_bool(c < 0);
	case T_GT: return val_bool(c > 0);
	case T_LE: return val_bool(c <= 0);
	default: return val_bool(c >= 0);
	}
}

static struct val arith(enum tok_kind op, struct val a, struct val b)
{
	if (a.kind != V_NUM || b.kind != V_NUM)
		return UNDEF;
	struct val r = { V_NUM, false, 0, NULL };
	switch (op) {
	case T_PLUS: r.n = a.n + b.n; break;
	case T_MINUS: r.n = a.n - b.n; break;
	case T_STAR: r.n = a.n * b.n; break;
	case T_SLASH:
		if (b.n == 0)
			return UNDEF;
		r.n = a.n / b.n;
		break;
	default: {
		/* a - b * trunc(a / b), without libm (simhub_core does not link it) */
		double qt = b.n == 0 ? NAN : a.n / b.n;
		if (!(qt > -9.0e18 && qt < 9.0e18))
			return UNDEF;
		r.n = a.n - b.n * (double)(long long)qt;
		break;
	}
	}
	return isfinite(r.n) ? r : UNDEF;
}

static struct val eval(const struct node *n, const cJSON *twin)
{
	switch (n->kind) {
	case N_LIT:
		return val_of(n->lit);
	case N_PATH:
		return val_of(resolve(n, twin, NULL));
	case N_NOT: {
		struct val a = eval(n->a, twin);
		return a.kind == V_BOOL ? val_bool(!a.b) : UNDEF;
	}
	case N_NEG: {
		struct val a = eval(n->a, twin);
		if (a.kind != V_NUM)
			return UNDEF;
		a.n = -a.n;
		return a;
	}
	case N_AND:
	case N_OR: {
		/* AND: any false wins, all true gives true; OR mirrors it with true. */
		bool decisive = n->kind == N_OR;
		bool all = true;
		for (size_t i = 0; i < n->nlist; i++) {
			struct val v = eval(n->list[i], twin);
			if (v.kind == V_BOOL && v.b == decisive)
				return val_bool(decisive);
			if (v.kind != V_BOOL)
				all = false;
		}
		return all ? val_bool(!decisive) : UNDEF;
	}
	case N_CMP:
		return compare(n->op, eval(n->a, twin), eval(n->b, twin));
	case N_ARITH:
		return arith(n->op, eval(n->a, twin), eval(n->b, twin));
	case N_IN:
	case N_NIN: {
		struct val a = eval(n->a, twin);
		if (a.kind == V_UNDEF || a.kind == V_OTHER)
			return UNDEF;
		bool found = false;
		for (size_t i = 0; i < n->nlist && !found; i++)
			found = same_primitive(a, eval(n->list[i], twin));
		return val_bool(found == (n->kind == N_IN));
	}
	case N_DEFINED:
		return val_bool(resolve(n->a, twin, NULL) != NULL);
	case N_STARTS:
	case N_ENDS: {
		struct val a = eval(n->a, twin), b = eval(n->b, twin);
		if (a.kind != V_STR || b.kind != V_STR)
			return UNDEF;
		size_t la = strlen(a.s), lb = strlen(b.s);
		if (lb > la)
			return val_bool(false);
		return val_bool(memcmp(n->kind == N_STARTS ? a.s : a.s + la - lb, b.s, lb) == 0);
	}
	}
	return UNDEF;
}

bool query_match(const struct query *q, const cJSON *twin)
{
	if (!q->where)
		return true;
	struct val v = eval(q->where, twin);
	return v.kind == V_BOOL && v.b;
}

/* The column name of a plain path item: alias, else the twin's spelling, else the segment. */
static const char *column_name(const struct item *it, const char *twin_key)
{
	if (it->name)
		return it->name;
	if (twin_key)
		return twin_key;
	return it->path->segs[it->path->nsegs - 1].name;
}

/* Add a deep copy of v (borrowed) to row under name; false on allocation failure. */
static bool add_copy(cJSON *row, const char *name, const cJSON *v)
{
	cJSON *c = cJSON_Duplicate(v, 1);
	if (!c)
		return false;
	cJSON_DeleteItemFromObjectCaseSensitive(row, name);  /* a repeated column: last wins */
	if (!cJSON_AddItemToObject(row, name, c)) {
		cJSON_Delete(c);
		return false;
	}
	return true;
}

cJSON *query_project(const struct query *q, const cJSON *twin)
{
	if (q->star)
		return cJSON_Duplicate(twin, 1);
	cJSON *row = cJSON_CreateObject();
	if (!row)
		return NULL;
	for (size_t i = 0; i < q->nitems; i++) {
		const struct item *it = &q->items[i];
		if (it->kind != I_PATH)
			continue;  /* aggregates belong to query_groups_* */
		const char *key = NULL;
		const cJSON *v = resolve(it->path, twin, &key);
		if (v && !add_copy(row, column_name(it, key), v)) {
			cJSON_Delete(row);
			return NULL;
		}
	}
	return row;
}

/* ---- aggregates --------------------------------------------------------------------------- */

/* Per SELECT element running totals of one group. */
struct acc {
	double sum, min, max;
	size_t nums;
};

struct group {
	cJSON *key;           /* copy of the GROUP BY value; NULL = undefined */
	char *key_name;       /* the twin's spelling of the GROUP BY member */
	size_t count;
	struct acc *accs;     /* one per SELECT element */
};

struct query_groups {
	const struct query *q;
	struct group *groups;
	size_t ngroups;
};

struct query_groups *query_groups_new(const struct query *q)
{
	struct query_groups *g = calloc(1, sizeof *g);
	if (g)
		g->q = q;
	return g;
}

void query_groups_free(struct query_groups *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->ngroups; i++) {
		cJSON_Delete(g->groups[i].key);
		free(g->groups[i].key_name);
		free(g->groups[i].accs);
	}
	free(g->groups);
	free(g);
}

/* The group for a key (NULL = undefined), created on first sight. NULL on allocation failure. */
static struct group *group_for(struct query_groups *g, const cJSON *key, const char *key_name)
{
	for (size_t i = 0; i < g->ngroups; i++) {
		const cJSON *k = g->groups[i].key;
		if ((!k && !key) || (k && key && cJSON_Compare(k, key, 1)))
			return &g->groups[i];
	}
	struct group *grown = realloc(g->groups, (g->ngroups + 1) * sizeof *grown);
	if (!grown)
		return NULL;
	g->groups = grown;
	struct group *gr = &grown[g->ngroups];
	memset(gr, 0, sizeof *gr);
	gr->accs = calloc(g->q->nitems ? g->q->nitems : 1, sizeof *gr->accs);
	gr->key = key ? cJSON_Duplicate(key, 1) : NULL;
	gr->key_name = key_name ? dup_bytes(key_name, strlen(key_name)) : NULL;
	if (!gr->accs || (key && !gr->key) || (key_name && !gr->key_name)) {
		free(gr->accs);
		cJSON_Delete(gr->key);
		free(gr->key_name);
		return NULL;
	}
	g->ngroups++;
	return gr;
}

sh_rc query_groups_add(struct query_groups *g, const cJSON *twin)
{
	const struct query *q = g->q;
	if (!query_match(q, twin))
		return SH_OK;
	const char *key_name = NULL;
	const cJSON *key = q->group ? resolve(q->group, twin, &key_name) : NULL;
	struct group *gr = group_for(g, key, key_name);
	if (!gr)
		return SH_E_NOMEM;
	gr->count++;
	for (size_t i = 0; i < q->nitems; i++) {
		const struct item *it = &q->items[i];
		if (it->kind == I_PATH || it->kind == I_COUNT)
			continue;
		const cJSON *v = resolve(it->path, twin, NULL);
		if (!cJSON_IsNumber(v))
			continue;
		struct acc *a = &gr->accs[i];
		double x = v->valuedouble;
		a->sum += x;
		a->min = a->nums == 0 || x < a->min ? x : a->min;
		a->max = a->nums == 0 || x > a->max ? x : a->max;
		a->nums++;
	}
	return SH_OK;
}

/* One result row of a group; NULL on allocation failure. */
static cJSON *group_row(const struct query *q, const struct group *gr)
{
	cJSON *row = cJSON_CreateObject();
	if (!row)
		return NULL;
	for (size_t i = 0; i < q->nitems; i++) {
		const struct item *it = &q->items[i];
		const struct acc *a = &gr->accs[i];
		cJSON *v = NULL;
		bool omit = false;
		switch (it->kind) {
		case I_PATH:
			if (!gr->key)
				continue;
			if (!add_copy(row, column_name(it, gr->key_name), gr->key))
				goto fail;
			continue;
		case I_COUNT: v = cJSON_CreateNumber((double)gr->count); break;
		case I_SUM: v = cJSON_CreateNumber(a->sum); break;
		case I_AVG:
			omit = a->nums == 0;
			v = omit ? NULL : cJSON_CreateNumber(a->sum / (double)a->nums);
			break;
		case I_MIN: omit = a->nums == 0; v = omit ? NULL : cJSON_CreateNumber(a->min); break;
		case I_MAX: omit = a->nums == 0; v = omit ? NULL : cJSON_CreateNumber(a->max); break;
		}
		if (omit)
			continue;
		if (!v)
			goto fail;
		cJSON_DeleteItemFromObjectCaseSensitive(row, it->name);
		if (!cJSON_AddItemToObject(row, it->name, v)) {
			cJSON_Delete(v);
			goto fail;
		}
	}
	return row;
fail:
	cJSON_Delete(row);
	return NULL;
}

cJSON *query_groups_result(const struct query_groups *g)
{
	cJSON *rows = cJSON_CreateArray();
	if (!rows)
		return NULL;
	struct group empty = { NULL, NULL, 0, NULL };
	struct acc *zero = NULL;
	if (g->ngroups == 0 && !g->q->group) {
		zero = calloc(g->q->nitems ? g->q->nitems : 1, sizeof *zero);
		empty.accs = zero;
		if (!zero) {
			cJSON_Delete(rows);
			return NULL;
		}
	}
	size_t n = zero ? 1 : g->ngroups;
	for (size_t i = 0; i < n; i++) {
		cJSON *row = group_row(g->q, zero ? &empty : &g->groups[i]);
		if (!row || !cJSON_AddItemToArray(rows, row)) {
			cJSON_Delete(row);
			cJSON_Delete(rows);
			free(zero);
			return NULL;
		}
	}
	free(zero);
	return rows;
}
