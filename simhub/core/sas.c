/*
 * sas.c: SAS tokens (iothub-protocol.md §1.3, §12 items 5-6): parse, build, scope, signature
 * and expiry checks. Pure: spans into the caller's text, caller buffers, time as an argument.
 * It never allocates, never looks up keys or policies (the hub does) and never includes
 * OpenSSL (HMAC goes through core/crypto.h).
 *
 * What a client signs. Each SDK signs exactly the sr text it puts in the token, and the SDKs
 * disagree on that text for the same device dev1 of hub h.net:
 *   Node, Embedded C, C#    sr=h.net%2Fdevices%2Fdev1        (upper-case hex)
 *   docs examples           sr=h.net%2fdevices%2fdev1        (lower-case hex)
 *   azure-iot-sdk-c (MQTT)  sr=h.net/devices/dev1            (not encoded at all)
 *   Node service SDK        sr=h.net&...&skn=iothubowner     (host only)
 * So the HMAC input is the raw sr, "\n", the raw se: never re-encode or decode before signing.
 * Only the scope check decodes sr, lower-cases it and compares it by path segment with the
 * resource asked for ("h.net/devices/dev1" covers ".../dev1/modules/m", not ".../dev10").
 * sig is compared after %-decoding only (a '+' stays '+'): Node sends %2B, the C SDK over
 * HTTPS %2b, and a raw base64 sig would still match.
 *
 * Unknown fields are ignored rather than refused: the signature covers only sr and se, so any
 * other field carries no authority either way, and the SDK parsers (Node's, C#'s) keep unknown
 * names too; refusing them would lock out a client that adds one without buying any safety.
 * Known fields twice are refused: which of two sr values was signed would be ambiguous.
 *
 * Order of the checks in sas_check: scope first (a token for dev10 presented as dev1 is then
 * logged as "wrong-scope", not as the "bad-signature" the other device's key would give), then
 * the signature, then expiry (so "expired" is only said of a token that was genuine).
 */
#include "core/sas.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/base64.h"
#include "core/crypto.h"

#define SIG_B64_LEN BASE64_ENCODED_LEN(CRYPTO_SHA256_LEN) /* 44 characters */
#define SIG_TEXT_MAX 64                                   /* longer decoded sig cannot match */
#define KEY_BYTES_MAX (SAS_KEY_MAX / 4 * 3)

static const char hex_upper[] = "0123456789ABCDEF";

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool span_is(struct sas_span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && memcmp(s.p, lit, n) == 0;
}

/*
 * A bounded text writer: appends while the text and its NUL fit in `cap`, and counts every
 * byte either way, so one pass both writes the output and learns the length it needs.
 */
struct writer {
	char *buf;
	size_t cap;
	size_t len;
};

static void put(struct writer *w, const char *p, size_t n)
{
	if (w->buf && w->len + n < w->cap)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void put_encoded(struct writer *w, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (is_unreserved(c)) {
			put(w, p + i, 1);
		} else {
			char esc[3] = { '%', hex_upper[c >> 4], hex_upper[c & 15] };
			put(w, esc, 3);
		}
	}
}

/* Terminate the writer's text: SH_OK when everything and the NUL fit, else SH_E_NOSPACE. */
static sh_rc finish(struct writer *w, size_t *out_len)
{
	if (out_len)
		*out_len = w->len;
	if (w->len + 1 > w->cap) {
		if (w->buf && w->cap > 0)
			w->buf[0] = '\0';
		return SH_E_NOSPACE;
	}
	w->buf[w->len] = '\0';
	return SH_OK;
}

const char *sas_refusal_str(enum sas_refusal why)
{
	switch (why) {
	case SAS_REFUSAL_NONE: return "ok";
	case SAS_REFUSAL_MALFORMED: return "malformed";
	case SAS_REFUSAL_EXPIRED: return "expired";
	case SAS_REFUSAL_WRONG_SCOPE: return "wrong-scope";
	case SAS_REFUSAL_BAD_SIGNATURE: return "bad-signature";
	case SAS_REFUSAL_UNKNOWN_POLICY: return "unknown-policy";
	}
	return "unknown";
}

sh_rc sas_percent_decode(const char *in, size_t len, char *out, size_t cap, size_t *out_len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++, n++) {
		if (in[i] != '%')
			continue;
		if (len - i < 3 || hex_value(in[i + 1]) < 0 || hex_value(in[i + 2]) < 0) {
			if (out_len)
				*out_len = 0;
			if (out && cap > 0)
				out[0] = '\0';
			return SH_E_MALFORMED;
		}
		i += 2;
	}
	if (out_len)
		*out_len = n;
	if (!out || cap < n + 1) {
		if (out && cap > 0)
			out[0] = '\0';
		return SH_E_NOSPACE;
	}
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '%') {
			out[o++] = (char)(hex_value(in[i + 1]) << 4 | hex_value(in[i + 2]));
			i += 2;
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
	return SH_OK;
}

sh_rc sas_url_encode(const char *in, size_t len, char *out, size_t cap, size_t *out_len)
{
	struct writer w = { out, cap, 0 };
	put_encoded(&w, in, len);
	return finish(&w, out_len);
}

/* True when every %-escape in s is complete and hex (SH_E_NOSPACE means it scanned clean). */
static bool escapes_ok(struct sas_span s)
{
	return sas_percent_decode(s.p, s.len, NULL, 0, NULL) != SH_E_MALFORMED;
}

/* se: 1..SAS_SE_MAX decimal digits, no sign, value within int64. */
static bool parse_se(struct sas_span s, int64_t *out)
{
	if (s.len == 0 || s.len > SAS_SE_MAX)
		return false;
	int64_t v = 0;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		int d = s.p[i] - '0';
		if (v > (INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

sh_rc sas_parse(const char *text, size_t len, struct sas_token *out)
{
	static const size_t plen = sizeof SAS_PREFIX - 1;
	struct sas_token t;
	bool seen_sr = false, seen_sig = false, seen_se = false, seen_skn = false;

	memset(out, 0, sizeof *out);
	memset(&t, 0, sizeof t);
	if (!text || len <= plen || memcmp(text, SAS_PREFIX, plen) != 0)
		return SH_E_MALFORMED;
	for (size_t i = plen; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c < 0x21 || c > 0x7e)
			return SH_E_MALFORMED;
	}
	const char *p = text + plen, *end = text + len;
	for (;;) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *fend = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(fend - p));
		if (!eq || eq == p)
			return SH_E_MALFORMED; /* empty field, no '=', or empty name */
		struct sas_span key = { p, (size_t)(eq - p) };
		struct sas_span val = { eq + 1, (size_t)(fend - eq - 1) };
		struct sas_span *slot = NULL;
		bool *seen = NULL;
		if (span_is(key, "sr")) {
			slot = &t.sr;
			seen = &seen_sr;
		} else if (span_is(key, "sig")) {
			slot = &t.sig;
			seen = &seen_sig;
		} else if (span_is(key, "se")) {
			slot = &t.se;
			seen = &seen_se;
		} else if (span_is(key, "skn")) {
			slot = &t.skn;
			seen = &seen_skn;
		}
		if (slot) {
			if (*seen)
				return SH_E_MALFORMED;
			*seen = true;
			*slot = val;
		}
		if (!amp)
			break;
		p = amp + 1;
	}
	if (!seen_sr || !seen_sig || !seen_se || t.sr.len == 0 || t.sig.len == 0 ||
	    t.sr.len > SAS_SR_MAX || !parse_se(t.se, &t.expiry_s))
		return SH_E_MALFORMED;
	if (!escapes_ok(t.sr) || !escapes_ok(t.sig) || !escapes_ok(t.skn))
		return SH_E_MALFORMED;
	if (t.skn.len == 0)
		t.skn.p = NULL;
	*out = t;
	return SH_OK;
}

/*
 * Decode a base64 key into buf (KEY_BYTES_MAX bytes). False for NULL, empty, longer than
 * SAS_KEY_MAX characters, or not strict base64: such a key signs nothing.
 */
static bool decode_key(const char *key_b64, uint8_t *buf, size_t *len)
{
	if (!key_b64)
		return false;
	size_t n = strnlen(key_b64, SAS_KEY_MAX + 1);
	if (n == 0 || n > SAS_KEY_MAX)
		return false;
	return base64_decode(key_b64, n, buf, KEY_BYTES_MAX, len) == SH_OK && *len > 0;
}

/*
 * The string to sign, raw sr + "\n" + raw se, into msg (SAS_SR_MAX + 1 + SAS_SE_MAX bytes).
 * Returns its length, or 0 when a part is over its limit (a hand-made token; parse refuses it).
 */
static size_t string_to_sign(const char *sr, size_t sr_len, const char *se, size_t se_len,
			     uint8_t *msg)
{
	if (sr_len > SAS_SR_MAX || se_len > SAS_SE_MAX)
		return 0;
	memcpy(msg, sr, sr_len);
	msg[sr_len] = '\n';
	memcpy(msg + sr_len + 1, se, se_len);
	return sr_len + 1 + se_len;
}

/* base64(HMAC-SHA256(key, msg)) into b64 (SIG_B64_LEN + 1 bytes, NUL-terminated). */
static sh_rc sign(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
		  char b64[SIG_B64_LEN + 1])
{
	uint8_t mac[CRYPTO_SHA256_LEN];
	sh_rc rc = crypto_hmac_sha256(key, key_len, msg, msg_len, mac);
	if (rc != SH_OK)
		return rc;
	return base64_encode(mac, sizeof mac, b64, SIG_B64_LEN + 1, NULL);
}

sh_rc sas_build(const char *resource_uri, const char *key_b64, const char *policy, int64_t expiry_s,
		char *out, size_t cap, size_t *out_len)
{
	uint8_t key[KEY_BYTES_MAX];
	size_t key_len = 0;
	char sr[SAS_SR_MAX + 1];
	size_t sr_len = 0;
	char se[SAS_SE_MAX + 1];
	uint8_t msg[SAS_SR_MAX + 1 + SAS_SE_MAX];
	char sig[SIG_B64_LEN + 1];

	if (out_len)
		*out_len = 0;
	if (!resource_uri || !*resource_uri || expiry_s < 0)
		return SH_E_INVALID;
	if (!decode_key(key_b64, key, &key_len))
		return SH_E_INVALID;
	if (sas_url_encode(resource_uri, strlen(resource_uri), sr, sizeof sr, &sr_len) != SH_OK)
		return SH_E_TOOLARGE;
	int se_len = snprintf(se, sizeof se, "%" PRId64, expiry_s);
	assert(se_len > 0 && (size_t)se_len < sizeof se);
	size_t msg_len = string_to_sign(sr, sr_len, se, (size_t)se_len, msg);
	sh_rc rc = sign(key, key_len, msg, msg_len, sig);
	if (rc != SH_OK)
		return rc;

	struct writer w = { out, cap, 0 };
	put(&w, SAS_PREFIX "sr=", sizeof SAS_PREFIX - 1 + 3);
	put(&w, sr, sr_len);
	put(&w, "&sig=", 5);
	put_encoded(&w, sig, SIG_B64_LEN);
	put(&w, "&se=", 4);
	put(&w, se, (size_t)se_len);
	if (policy && *policy) {
		put(&w, "&skn=", 5);
		put_encoded(&w, policy, strlen(policy));
	}
	return finish(&w, out_len);
}

sh_rc sas_verify_signature(const struct sas_token *t, const char *const keys[], size_t nkeys,
			   size_t *matched)
{
	uint8_t msg[SAS_SR_MAX + 1 + SAS_SE_MAX];
	char got[SIG_TEXT_MAX + 1];
	size_t got_len = 0;

	assert(t);
	size_t msg_len = string_to_sign(t->sr.p, t->sr.len, t->se.p, t->se.len, msg);
	if (msg_len == 0 || t->se.len == 0)
		return SH_E_UNAUTHORIZED;
	if (sas_percent_decode(t->sig.p, t->sig.len, got, sizeof got, &got_len) != SH_OK)
		return SH_E_UNAUTHORIZED;
	for (size_t k = 0; keys && k < nkeys; k++) {
		uint8_t key[KEY_BYTES_MAX];
		size_t key_len = 0;
		char want[SIG_B64_LEN + 1];
		if (!decode_key(keys[k], key, &key_len))
			continue;
		if (sign(key, key_len, msg, msg_len, want) != SH_OK)
			continue;
		if (crypto_equal(want, SIG_B64_LEN, got, got_len)) {
			if (matched)
				*matched = k;
			return SH_OK;
		}
	}
	return SH_E_UNAUTHORIZED;
}

sh_rc sas_check_expiry(const struct sas_token *t, int64_t now_s, int64_t skew_s)
{
	assert(t);
	if (skew_s < 0)
		skew_s = 0;
	int64_t limit = now_s < INT64_MIN + skew_s ? INT64_MIN : now_s - skew_s;
	return t->expiry_s > limit ? SH_OK : SH_E_EXPIRED;
}

/* True when s (already lower-case) equals the first n bytes of t, case-insensitively, and
 * ends there on a segment boundary: t is exactly s, or continues with '/'. */
static bool segment_prefix(const char *s, size_t n, const char *t, size_t tlen)
{
	if (n > tlen)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] != ascii_lower(t[i]))
			return false;
	return n == tlen || t[n] == '/';
}

sh_rc sas_check_scope(const struct sas_token *t, const char *target, bool check_host)
{
	char sr[SAS_SR_MAX + 1];
	size_t n = 0;

	assert(t && target);
	sh_rc rc = sas_percent_decode(t->sr.p, t->sr.len, sr, sizeof sr, &n);
	if (rc == SH_E_MALFORMED)
		return SH_E_MALFORMED;
	if (rc != SH_OK)
		return SH_E_UNAUTHORIZED; /* longer than any token sas_parse accepts */
	for (size_t i = 0; i < n; i++)
		sr[i] = ascii_lower(sr[i]);
	if (n > 0 && sr[n - 1] == '/')
		n--;
	if (n == 0)
		return SH_E_UNAUTHORIZED;

	const char *s = sr, *tg = target;
	size_t tlen = strlen(target);
	if (tlen > 0 && tg[tlen - 1] == '/')
		tlen--;
	if (!check_host) {
		const char *slash = memchr(s, '/', n);
		if (!slash)
			return SH_OK; /* host-only scope: everything under any host */
		n -= (size_t)(slash - s);
		s = slash;
		const char *tslash = memchr(tg, '/', tlen);
		if (!tslash)
			return SH_E_UNAUTHORIZED; /* target is a bare host, the scope has a path */
		tlen -= (size_t)(tslash - tg);
		tg = tslash;
	}
	return segment_prefix(s, n, tg, tlen) ? SH_OK : SH_E_UNAUTHORIZED;
}

sh_rc sas_check(const struct sas_token *t, const char *target, const char *const keys[],
		size_t nkeys, int64_t now_s, int64_t skew_s, bool check_host, enum sas_refusal *why)
{
	enum sas_refusal r = SAS_REFUSAL_NONE;
	sh_rc rc = sas_check_scope(t, target, check_host);
	if (rc == SH_E_MALFORMED) {
		r = SAS_REFUSAL_MALFORMED;
	} else if (rc != SH_OK) {
		r = SAS_REFUSAL_WRONG_SCOPE;
	} else if ((rc = sas_verify_signature(t, keys, nkeys, NULL)) != SH_OK) {
		r = SAS_REFUSAL_BAD_SIGNATURE;
	} else if ((rc = sas_check_expiry(t, now_s, skew_s)) != SH_OK) {
		r = SAS_REFUSAL_EXPIRED;
	}
	if (why)
		*why = r;
	return rc;
}
