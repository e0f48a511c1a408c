/*
 * sas.h: IoT Hub shared access signature tokens (iothub-protocol.md §1.3): parse a token into
 * spans, build one, and check it (scope, HMAC-SHA256 signature, expiry) for the hub.
 * Pure: no allocation, no clock (the time is an argument), no key lookup (the caller picks
 * the candidate keys from skn or from the identity). HMAC goes through core/crypto.h.
 */
#ifndef SH_SAS_H
#define SH_SAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

#define SAS_PREFIX "SharedAccessSignature "  /* required, case-sensitive, as every SDK sends it */
#define SAS_SR_MAX 2048       /* longest raw sr accepted (a module URI, fully encoded, is ~1.1 KB) */
#define SAS_SE_MAX 20         /* longest se text accepted (int64 has 19 digits) */
#define SAS_KEY_MAX 512       /* longest base64 key text sas_build and sas_check use */

/* A borrowed (pointer, length) view into the caller's text; not NUL-terminated. */
struct sas_span {
	const char *p;
	size_t len;
};

/*
 * A parsed token. Every span points into the text given to sas_parse (borrowed: valid while
 * that text is). sr and se are kept exactly as received, because the client signed those bytes.
 */
struct sas_token {
	struct sas_span sr;   /* resource URI, raw (encoded or not, as the client sent it) */
	struct sas_span sig;  /* signature, raw (still percent-encoded) */
	struct sas_span se;   /* expiry, raw decimal text */
	struct sas_span skn;  /* policy name, raw; len 0 when absent or empty (device-key token) */
	int64_t expiry_s;     /* se as a number: seconds since 1970-01-01 UTC, >= 0 */
};

/* Why a token was refused, for a log line. */
enum sas_refusal {
	SAS_REFUSAL_NONE = 0,       /* accepted */
	SAS_REFUSAL_MALFORMED,      /* not a token (sas_parse failed, bad escape) */
	SAS_REFUSAL_EXPIRED,        /* se at or before now - skew */
	SAS_REFUSAL_WRONG_SCOPE,    /* sr does not cover the resource asked for */
	SAS_REFUSAL_BAD_SIGNATURE,  /* no candidate key produces sig */
	SAS_REFUSAL_UNKNOWN_POLICY, /* skn names no policy, or one without the right (set by the hub) */
};

/* Stable short name of a refusal ("malformed", "expired", "wrong-scope", "bad-signature",
 * "unknown-policy", "ok"); "unknown" for a value outside the enum. Static text. */
const char *sas_refusal_str(enum sas_refusal why);

/*
 * Parse `len` bytes of token text `SharedAccessSignature sr=..&sig=..&se=..[&skn=..]` into
 * *out (spans into `text`, borrowed). Rules:
 * - the prefix is exact (one space, this case); then `&`-separated `key=value` fields, split
 *   on the first `=` so a raw `=` in a value survives; fields in any order;
 * - sr, sig, se required and non-empty; skn optional, empty = absent;
 * - a known field twice, an empty field (`&&`, trailing `&`), a field without `=`, a byte
 *   outside printable ASCII (0x21..0x7e), or a bad %-escape in sr, sig or skn is refused;
 * - unknown fields are ignored (see sas.c for why);
 * - se is 1..SAS_SE_MAX decimal digits that fit int64; sr at most SAS_SR_MAX bytes.
 * Returns SH_OK, or SH_E_MALFORMED (then *out is zeroed).
 */
sh_rc sas_parse(const char *text, size_t len, struct sas_token *out);

/*
 * Build a token for `resource_uri` (unencoded, e.g. "myhub.azure-devices.net/devices/dev1")
 * signed with `key_b64` (base64 text), with `policy` as skn (NULL or "" for a device-key
 * token) and `expiry_s` as se. sr is the URI encoded as the Node and Embedded C SDKs do (RFC
 * 3986 unreserved characters kept, others %XX upper-case); sig is the %XX-encoded base64 of
 * HMAC-SHA256(decoded key, sr + "\n" + se). Field order: sr, sig, se[, skn].
 * Writes a NUL-terminated token into `out` (caller's buffer of `cap` bytes); *out_len gets
 * its length without the NUL, also on SH_E_NOSPACE, so the caller can retry with len + 1.
 * Returns SH_OK; SH_E_NOSPACE; SH_E_INVALID for an empty URI, a key that is not base64, is
 * empty or longer than SAS_KEY_MAX, or a negative expiry; SH_E_TOOLARGE when the encoded URI
 * exceeds SAS_SR_MAX; SH_E_NOMEM when the HMAC fails.
 */
sh_rc sas_build(const char *resource_uri, const char *key_b64, const char *policy, int64_t expiry_s,
		char *out, size_t cap, size_t *out_len);

/*
 * Signature check: accept when, for one of `keys` (base64 text; NULL, empty, over-long or
 * non-base64 entries are skipped, so an identity with no secondary key can pass ""),
 * base64(HMAC-SHA256(decoded key, raw sr + "\n" + raw se)) equals the %-decoded sig, compared
 * in constant time. *matched (optional) gets the index of the key that matched.
 * Returns SH_OK or SH_E_UNAUTHORIZED (also when no key is usable).
 */
sh_rc sas_verify_signature(const struct sas_token *t, const char *const keys[], size_t nkeys,
			   size_t *matched);

/*
 * Expiry check: the token is valid while now_s - skew_s < expiry_s (seconds). A negative skew
 * counts as 0. Returns SH_OK or SH_E_EXPIRED.
 */
sh_rc sas_check_expiry(const struct sas_token *t, int64_t now_s, int64_t skew_s);

/*
 * Scope check against `target`, the unencoded resource asked for (NUL-terminated, borrowed):
 * "{host}/devices/{id}[/modules/{mid}]" for device traffic, "{host}" or "{host}/..." for
 * service calls. sr is %-decoded, both are lower-cased (ASCII) and lose one trailing '/', and
 * sr must be a segment prefix of target: "h/devices/a" covers "h/devices/a/modules/m", not
 * "h/devices/ab". With check_host false, only the paths from the first '/' on are compared,
 * and an sr without '/' (host only) covers every target.
 * Returns SH_OK, SH_E_UNAUTHORIZED (out of scope, or an sr that decodes to nothing), or
 * SH_E_MALFORMED (bad escape in sr; cannot happen after sas_parse succeeded).
 */
sh_rc sas_check_scope(const struct sas_token *t, const char *target, bool check_host);

/*
 * The hub's entry point, after sas_parse and after choosing the candidate keys (the named
 * policy's primary and secondary keys when skn is set, else the identity's): scope, then
 * signature, then expiry, as described above. *why (optional) gets the refusal reason,
 * SAS_REFUSAL_NONE on success. All arguments borrowed.
 * Returns SH_OK; SH_E_UNAUTHORIZED (wrong scope or bad signature); SH_E_EXPIRED; SH_E_MALFORMED.
 */
sh_rc sas_check(const struct sas_token *t, const char *target, const char *const keys[],
		size_t nkeys, int64_t now_s, int64_t skew_s, bool check_host, enum sas_refusal *why);

/*
 * Percent-decode `len` bytes of `in` (%XX with upper- or lower-case hex; every other byte,
 * '+' included, is copied as is) into `out`, NUL-terminated. *out_len gets the decoded length
 * (without the NUL), also on SH_E_NOSPACE. Returns SH_OK; SH_E_MALFORMED for a '%' not
 * followed by two hex digits; SH_E_NOSPACE when `cap` < decoded length + 1.
 */
sh_rc sas_percent_decode(const char *in, size_t len, char *out, size_t cap, size_t *out_len);

/*
 * Percent-encode `len` bytes of `in` as the SDKs encode sr and sig: A-Z a-z 0-9 - _ . ~ kept,
 * every other byte as %XX with upper-case hex. Output NUL-terminated in `out`; *out_len gets
 * the encoded length (without the NUL), also on SH_E_NOSPACE. Returns SH_OK or SH_E_NOSPACE.
 */
sh_rc sas_url_encode(const char *in, size_t len, char *out, size_t cap, size_t *out_len);

#endif
