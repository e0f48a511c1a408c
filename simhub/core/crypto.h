/*
 * crypto.h: the crypto seam of simhub_core: HMAC-SHA256, SHA-1 and SHA-256 digests, and a
 * constant-time compare, over caller buffers. crypto.c is the only core/ file that includes
 * OpenSSL; it never allocates what the caller sees, keeps no state and draws no random bytes.
 */
#ifndef SH_CRYPTO_H
#define SH_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

#define CRYPTO_SHA256_LEN 32  /* bytes of a SHA-256 digest or an HMAC-SHA256 */
#define CRYPTO_SHA1_LEN 20    /* bytes of a SHA-1 digest */

/*
 * HMAC-SHA256 of `msg` under `key` into `out` (CRYPTO_SHA256_LEN bytes). All buffers are
 * borrowed; `key` / `msg` may be NULL when their length is 0. An empty key is allowed here
 * (HMAC defines it); refusing empty credentials is the caller's policy.
 * Returns SH_OK; SH_E_TOOLARGE when key_len exceeds INT_MAX; SH_E_NOMEM when OpenSSL fails
 * (allocation is its only failure mode here).
 */
sh_rc crypto_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
			 uint8_t out[CRYPTO_SHA256_LEN]);

/*
 * SHA-256 of `data` into `out` (CRYPTO_SHA256_LEN bytes), e.g. an X.509 thumbprint over DER.
 * `data` borrowed, may be NULL when len is 0. Returns SH_OK, or SH_E_NOMEM when OpenSSL fails.
 */
sh_rc crypto_sha256(const uint8_t *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);

/* SHA-1 of `data` into `out` (CRYPTO_SHA1_LEN bytes); otherwise as crypto_sha256. */
sh_rc crypto_sha1(const uint8_t *data, size_t len, uint8_t out[CRYPTO_SHA1_LEN]);

/*
 * True when the two byte strings are equal. The time taken depends only on the lengths (which
 * may leak), never on where the contents differ. Buffers borrowed; NULL allowed with length 0.
 */
bool crypto_equal(const void *a, size_t a_len, const void *b, size_t b_len);

#endif
