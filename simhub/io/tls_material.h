/*
 * tls_material.h: simhub's local CA and server certificate on disk (io room): creates them,
 * decides when the server certificate must be re-issued, and checks a user's own pair. It never
 * listens, never talks to clients and never touches the database; the listeners only get paths.
 */
#ifndef SH_TLS_MATERIAL_H
#define SH_TLS_MATERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

/*
 * Where the material lives (tls_material_dir_for_db):
 *   --db ./simhub-data/simhub.db  ->  ./simhub-data/tls/   (the folder of the database)
 *   --db :memory:                 ->  $XDG_STATE_HOME/simhub/tls, else ~/.local/state/simhub/tls
 * A throw-away hub still keeps one per-user CA, so a client set up to trust it once keeps
 * working across runs (a fresh CA per run would have to be re-trusted every time).
 *
 * Files in that folder (created 0700):
 *   ca.pem      the CA certificate: the one file clients trust (0644)
 *   ca.key      the CA private key (0600); created once and kept
 *   server.pem  the server certificate, signed by the CA (0644)
 *   server.key  its private key (0600)
 *   .lock       an fcntl lock taken while the folder is checked or written
 * Every write is atomic (temporary file, fsync, rename), so a reader sees an old file or a new
 * one, never half of one.
 */
#define TLS_MATERIAL_MAX_NAMES 64   /* hostnames accepted besides the three defaults */
#define TLS_MATERIAL_NAME_MAX 254   /* bytes of one SAN as text, NUL included */
#define TLS_MATERIAL_RENEW_DAYS 30  /* a server certificate this close to expiry is re-issued */
#define TLS_MATERIAL_CA_DAYS 3650   /* CA validity */
#define TLS_MATERIAL_CERT_DAYS 825  /* server certificate validity (the browser maximum) */

/* Absolute paths of the four files. */
struct tls_material {
	char ca_cert[4096];
	char ca_key[4096];
	char cert[4096];
	char key[4096];
};

/*
 * The TLS folder for a database path, by the rule above, into `out` (cap bytes). `db` borrowed;
 * it is only looked at, never opened. The folder is not created here.
 * Returns SH_OK; SH_E_INVALID when `db` is empty or, for ":memory:", neither XDG_STATE_HOME
 * (absolute) nor HOME is set (reason in err); SH_E_NOSPACE when out is too small.
 */
sh_rc tls_material_dir_for_db(const char *db, char *out, size_t cap, char *err, size_t errlen);

/*
 * Ensure the CA and a server certificate in folder `dir` (created with its parents if needed).
 *
 * CA: EC P-256, SHA-256, CN "simhub local CA", valid 10 years, basicConstraints CA:TRUE
 * (critical), keyUsage keyCertSign+cRLSign (critical), subjectKeyIdentifier. It is created when
 * ca.pem is missing (a lone ca.key left by an interrupted first run is replaced: nobody can
 * have trusted a CA that was never written), and re-created when it expires within 30 days of
 * `now_s`. It is otherwise kept: an unreadable ca.pem, or a ca.key that is missing, unreadable
 * or does not match it, is an error (err tells to delete the folder), never silently replaced,
 * because clients were told to trust that CA.
 *
 * Server certificate: EC P-256, SHA-256, valid 825 days (never past the CA's end), CN = the
 * first hostname (or "localhost"; a name over 64 bytes cannot be a CN, "localhost" is used),
 * basicConstraints CA:FALSE, keyUsage digitalSignature (critical), extendedKeyUsage
 * serverAuth, subjectKeyIdentifier, authorityKeyIdentifier, and subjectAltName exactly
 * {localhost, 127.0.0.1, ::1} + hostnames: names that parse as IPv4 or IPv6 addresses become
 * IP entries, others DNS entries (lower-cased; duplicates dropped). It is (re-)issued, with a
 * fresh key, when server.pem or server.key is missing or unreadable, the key does not match,
 * it does not verify against the CA at `now_s` for TLS server use, it expires within 30 days
 * of `now_s`, or its SAN set differs from the wanted one (as a set: order and the CN are not
 * compared, IP addresses by value). Otherwise nothing is written (files, inodes and mtimes
 * stay as they are).
 *
 * Validity starts one hour before `now_s` to tolerate clock skew between hosts.
 *
 * dir, hostnames: borrowed; hostnames may be NULL when n is 0. A hostname is a DNS name
 * (letters, digits, '-', '_', dots; labels up to 63 bytes; a leading "*." label allowed;
 * at most 253 bytes) or an IPv4/IPv6 literal.
 * now_s: seconds since the epoch, for every validity decision and for the new certificates.
 * out: filled with absolute paths on SH_OK (may not be NULL). renewed: optional; set to true
 * when the server certificate was (re)issued in this call, false otherwise.
 * err: optional (errlen 0), one line: the path and the OpenSSL or errno text.
 *
 * Returns SH_OK; SH_E_INVALID for a hostname that cannot be a SAN, more than
 * TLS_MATERIAL_MAX_NAMES names, or paths too long for struct tls_material; SH_E_IO when a
 * file or folder cannot be created, read or written, or the CA on disk is unusable.
 */
sh_rc tls_material_ensure(const char *dir, const char *const *hostnames, size_t n, int64_t now_s,
			  struct tls_material *out, bool *renewed, char *err, size_t errlen);

/*
 * Check a user-supplied --tls-cert/--tls-key pair: both files are readable PEM (the cert file
 * may hold a chain, leaf first; the key may sit in the same file), the key is not
 * password-protected, and it matches the certificate's public key. Expiry and names are not
 * checked (a user's certificate is the user's business). cert, key, err: borrowed.
 * Returns SH_OK, or SH_E_IO with the file and the reason in err.
 */
sh_rc tls_material_check_user(const char *cert, const char *key, char *err, size_t errlen);

/*
 * The subjectAltName entries of the certificate in `cert_path`, in certificate order, as text
 * (DNS names as written, IP addresses in canonical inet_ntop form), into names[0..cap) with
 * the count in *n (entries beyond cap are dropped and reported as SH_E_NOSPACE with *n = cap).
 * Entries of other types (email, URI) are skipped. cert_path, err: borrowed.
 * Returns SH_OK (also for a certificate without the extension: *n = 0); SH_E_NOSPACE as said;
 * SH_E_IO when the file cannot be read or holds no certificate.
 */
sh_rc tls_material_sans(const char *cert_path, char (*names)[TLS_MATERIAL_NAME_MAX], size_t cap,
			size_t *n, char *err, size_t errlen);

/* True when `name` is one of the three names every server certificate carries. */
bool tls_material_is_default_name(const char *name);

/*
 * Check the PEM text of a CA certificate to register with the hub (X.509 certificateAuthority
 * devices): it must hold exactly one certificate that parses and is a CA (basicConstraints
 * CA:TRUE). subject (cap bytes) gets its subject as one line. Returns SH_OK or SH_E_INVALID
 * with the reason in err.
 */
sh_rc tls_material_check_ca_pem(const char *pem, char *subject, size_t cap, char *err,
				size_t errlen);

#endif
