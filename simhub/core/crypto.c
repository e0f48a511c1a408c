/*
 * crypto.c: HMAC-SHA256, SHA-1/SHA-256 and constant-time compare over OpenSSL's libcrypto.
 * The only file in core/ that includes OpenSSL; it never draws random bytes, reads the clock
 * or keeps state between calls.
 */
#include "core/crypto.h"

#include <limits.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* OpenSSL wants a real pointer even for empty input; this stands in for NULL. */
static const uint8_t empty_input[1];

sh_rc crypto_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
			 uint8_t out[CRYPTO_SHA256_LEN])
{
	if (key_len > INT_MAX)
		return SH_E_TOOLARGE;
	unsigned int n = 0;
	if (!HMAC(EVP_sha256(), key_len ? key : empty_input, (int)key_len,
		  msg_len ? msg : empty_input, msg_len, out, &n) || n != CRYPTO_SHA256_LEN)
		return SH_E_NOMEM;
	return SH_OK;
}

/*
 * One-shot digest through EVP: the md_len check guards against a library that hands back
 * something other than the size the caller's array was declared with.
 */
static sh_rc digest(const EVP_MD *md, const uint8_t *data, size_t len, uint8_t *out,
		    unsigned int want)
{
	unsigned int n = 0;
	if (!EVP_Digest(len ? data : empty_input, len, out, &n, md, NULL) || n != want)
		return SH_E_NOMEM;
	return SH_OK;
}

sh_rc crypto_sha256(const uint8_t *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
	return digest(EVP_sha256(), data, len, out, CRYPTO_SHA256_LEN);
}

sh_rc crypto_sha1(const uint8_t *data, size_t len, uint8_t out[CRYPTO_SHA1_LEN])
{
	return digest(EVP_sha1(), data, len, out, CRYPTO_SHA1_LEN);
}

bool crypto_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
	if (a_len != b_len)
		return false;
	if (a_len == 0)
		return true;
	return CRYPTO_memcmp(a, b, a_len) == 0;
}
