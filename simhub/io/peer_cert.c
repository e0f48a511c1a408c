/*
 * peer_cert.c: io room. What a connection's TLS client certificate says, for the hub's X.509
 * checks (MQTT sessions and the HTTPS device API share it). It reads the certificate and the
 * registered CAs; it never decides whether an identity may connect (hub_auth_x509 does).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "io/io_internal.h"

/* Hex of an X509 digest into out (2 * size + 1 bytes). */
static bool digest_hex(X509 *cert, const EVP_MD *md, char *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!X509_digest(cert, md, d, &n))
		return false;
	for (unsigned int i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02X", d[i]);
	return true;
}

/* Add one registered CA (PEM text) to the store being built (hub_x509_ca_each callback). */
static sh_rc add_ca(void *arg, const char *name, const char *pem, int64_t added_us)
{
	(void)name;
	(void)added_us;
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *ca = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	if (ca)
		X509_STORE_add_cert(arg, ca);   /* a CA that does not parse is skipped */
	X509_free(ca);
	BIO_free(bio);
	return SH_OK;
}

/* Does the client's chain verify against a CA registered with the hub? */
static bool chain_verifies(struct sh_hub *hub, SSL *ssl, X509 *leaf)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = false;
	if (store && ctx && hub_x509_ca_each(hub, add_ca, store) == SH_OK &&
	    X509_STORE_CTX_init(ctx, store, leaf, SSL_get_peer_cert_chain(ssl)) == 1) {
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
		ok = X509_verify_cert(ctx) == 1;
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

bool io_peer_cert(struct sh_hub *hub, struct lws *wsi, struct hub_client_cert *out)
{
	memset(out, 0, sizeof *out);
	if (!lws_is_ssl(wsi))
		return false;
	SSL *ssl = lws_get_ssl(lws_get_network_wsi(wsi));
	X509 *cert = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
	if (!cert)
		return false;
	bool ok = digest_hex(cert, EVP_sha1(), out->sha1) && digest_hex(cert, EVP_sha256(), out->sha256);
	if (ok) {
		X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, out->common_name,
					  sizeof out->common_name);
		out->ca_verified = chain_verifies(hub, ssl, cert);
	} else {
		memset(out, 0, sizeof *out);
	}
	X509_free(cert);
	return ok;
}
