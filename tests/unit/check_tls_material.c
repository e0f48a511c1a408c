/*
 * check_tls_material.c: unit tests of io/tls_material: the CA and server certificate on a
 * temporary folder, checked with OpenSSL itself (chain verification, SAN parsing, extension
 * bits), reuse without rewriting, every re-issue trigger, damaged files, and the helpers.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "io/tls_material.h"

#define NOW ((int64_t)1767225600)  /* 2026-01-01T00:00:00Z */
#define DAY ((int64_t)86400)

static char base[256];   /* per-test temporary folder */
static char dir[512];    /* base/tls */

static void setup(void)
{
	snprintf(base, sizeof base, "/tmp/check_tls_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(dir, sizeof dir, "%s/tls", base);
}

static void teardown(void)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", base, base);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", base);
}

static const char *path_in(const char *d, const char *name)
{
	static char buf[4][600];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s/%s", d, name);
	return buf[i];
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_msg(x != NULL, "no certificate in %s", path);
	return x;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_msg(k != NULL, "no key in %s", path);
	return k;
}

/* Whole file as a heap string (caller frees). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

static void copy_file(const char *from, const char *to)
{
	char *t = slurp(from);
	spit(to, t);
	free(t);
}

/* Ensure in `d` with the given names at `now`; asserts success and returns `renewed`. */
static bool ensure_ok(const char *d, const char *const *names, size_t n, int64_t now, struct tls_material *m)
{
	char err[512];
	bool renewed = false;
	sh_rc rc = tls_material_ensure(d, names, n, now, m, &renewed, err, sizeof err);
	ck_assert_msg(rc == SH_OK, "ensure failed (%d): %s", (int)rc, err);
	return renewed;
}

/* X509_verify_cert of cert against ca only, at `now`, for TLS server use, strict RFC 5280 checks. */
static int verify_at(const char *cert_path, const char *ca_path, int64_t now)
{
	X509 *cert = read_cert(cert_path), *ca = read_cert(ca_path);
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *c = X509_STORE_CTX_new();
	ck_assert_int_eq(X509_STORE_add_cert(st, ca), 1);
	ck_assert_int_eq(X509_STORE_CTX_init(c, st, cert, NULL), 1);
	X509_STORE_CTX_set_purpose(c, X509_PURPOSE_SSL_SERVER);
	X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(c);
	X509_VERIFY_PARAM_set_time(p, (time_t)now);
	X509_VERIFY_PARAM_set_flags(p, X509_V_FLAG_X509_STRICT);
	int ok = X509_verify_cert(c);
	if (ok != 1)
		fprintf(stderr, "verify: %s\n", X509_verify_cert_error_string(X509_STORE_CTX_get_error(c)));
	X509_STORE_CTX_free(c);
	X509_STORE_free(st);
	X509_free(ca);
	X509_free(cert);
	ERR_clear_error();
	return ok;
}

/* The SAN entries of a certificate as "DNS:x" / "IP:<hex bytes>" joined by ' '. */
static void san_string(const char *cert_path, char *out, size_t cap)
{
	X509 *x = read_cert(cert_path);
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	ck_assert_ptr_nonnull(gens);
	out[0] = '\0';
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		size_t used = strlen(out);
		if (g->type == GEN_DNS) {
			snprintf(out + used, cap - used, "%sDNS:%.*s", i ? " " : "",
				 ASN1_STRING_length(g->d.dNSName), (const char *)ASN1_STRING_get0_data(g->d.dNSName));
		} else if (g->type == GEN_IPADD) {
			snprintf(out + used, cap - used, "%sIP:", i ? " " : "");
			const unsigned char *b = ASN1_STRING_get0_data(g->d.iPAddress);
			for (int k = 0; k < ASN1_STRING_length(g->d.iPAddress); k++) {
				used = strlen(out);
				snprintf(out + used, cap - used, "%02x", b[k]);
			}
		} else {
			snprintf(out + used, cap - used, "%sOTHER", i ? " " : "");
		}
	}
	GENERAL_NAMES_free(gens);
	X509_free(x);
}

#define SAN_DEFAULTS "DNS:localhost IP:7f000001 IP:00000000000000000000000000000001"

struct fstamp {
	ino_t ino;
	struct timespec mtime;
	mode_t mode;
};

static struct fstamp stamp(const char *path)
{
	struct stat sb;
	ck_assert_msg(stat(path, &sb) == 0, "stat %s: %s", path, strerror(errno));
	struct fstamp s = {sb.st_ino, sb.st_mtim, sb.st_mode & 07777};
	return s;
}

static bool same_stamp(struct fstamp a, struct fstamp b)
{
	return a.ino == b.ino && a.mtime.tv_sec == b.mtime.tv_sec && a.mtime.tv_nsec == b.mtime.tv_nsec;
}

/* ---- tls_material_ensure ---- */

START_TEST(tls_material_ensure_fresh_dir_creates_files_keys_0600)
{
	struct tls_material m;
	const char *names[] = {"myhub.azure-devices.net"};
	ck_assert(ensure_ok(dir, names, 1, NOW, &m));
	ck_assert_str_eq(m.ca_cert, path_in(dir, "ca.pem"));
	ck_assert_str_eq(m.ca_key, path_in(dir, "ca.key"));
	ck_assert_str_eq(m.cert, path_in(dir, "server.pem"));
	ck_assert_str_eq(m.key, path_in(dir, "server.key"));
	ck_assert_int_eq(stamp(m.ca_key).mode, 0600);
	ck_assert_int_eq(stamp(m.key).mode, 0600);
	ck_assert_int_eq(stamp(m.ca_cert).mode, 0644);
	ck_assert_int_eq(stamp(m.cert).mode, 0644);
	ck_assert_int_eq(stamp(dir).mode, 0700);
	/* no temporary files left behind */
	char cmd[700];
	snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' | grep -v -e '^ca.pem$' -e '^ca.key$' "
		 "-e '^server.pem$' -e '^server.key$' -e '^.lock$')\"", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(tls_material_ensure_fresh_dir_cert_verifies_against_ca)
{
	struct tls_material m;
	const char *names[] = {"myhub.azure-devices.net"};
	ensure_ok(dir, names, 1, NOW, &m);
	ck_assert_int_eq(verify_at(m.cert, m.ca_cert, NOW), 1);
	/* and the names match the way a TLS client checks them */
	X509 *x = read_cert(m.cert);
	ck_assert_int_eq(X509_check_host(x, "myhub.azure-devices.net", 0, 0, NULL), 1);
	ck_assert_int_eq(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	ck_assert_int_eq(X509_check_host(x, "otherhub.azure-devices.net", 0, 0, NULL), 0);
	ck_assert_int_eq(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	ck_assert_int_eq(X509_check_ip_asc(x, "::1", 0), 1);
	X509_free(x);
	/* the key on disk belongs to the certificate */
	ck_assert_int_eq(tls_material_check_user(m.cert, m.key, NULL, 0), SH_OK);
}
END_TEST

START_TEST(tls_material_ensure_sans_exactly_wanted)
{
	struct tls_material m;
	const char *names[] = {"myhub.azure-devices.net", "10.1.2.3", "fe80::1", "*.Example.COM"};
	ensure_ok(dir, names, 4, NOW, &m);
	char sans[1024];
	san_string(m.cert, sans, sizeof sans);
	ck_assert_str_eq(sans, SAN_DEFAULTS " DNS:myhub.azure-devices.net IP:0a010203 "
			       "IP:fe800000000000000000000000000001 DNS:*.example.com");
}
END_TEST

START_TEST(tls_material_ensure_no_hostname_defaults_only)
{
	struct tls_material m;
	ensure_ok(dir, NULL, 0, NOW, &m);
	char sans[1024];
	san_string(m.cert, sans, sizeof sans);
	ck_assert_str_eq(sans, SAN_DEFAULTS);
	X509 *x = read_cert(m.cert);
	char cn[128];
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
	ck_assert_str_eq(cn, "localhost");
	X509_free(x);
}
END_TEST

START_TEST(tls_material_ensure_ip_names_are_ip_entries_not_dns)
{
	struct tls_material m;
	const char *names[] = {"192.168.1.7", "2001:db8::7"};
	ensure_ok(dir, names, 2, NOW, &m);
	X509 *x = read_cert(m.cert);
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int ip = 0, dns = 0;
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS) {
			dns++;
			ck_assert_str_eq((const char *)ASN1_STRING_get0_data(g->d.dNSName), "localhost");
		} else if (g->type == GEN_IPADD) {
			ip++;
		}
	}
	ck_assert_int_eq(dns, 1);
	ck_assert_int_eq(ip, 4);
	ck_assert_int_eq(X509_check_ip_asc(x, "192.168.1.7", 0), 1);
	ck_assert_int_eq(X509_check_ip_asc(x, "2001:db8::7", 0), 1);
	ck_assert_int_eq(X509_check_host(x, "192.168.1.7", 0, 0, NULL), 0);
	GENERAL_NAMES_free(gens);
	X509_free(x);
}
END_TEST

START_TEST(tls_material_ensure_duplicate_names_dropped)
{
	struct tls_material m;
	const char *names[] = {"LocalHost", "127.0.0.1", "0:0:0:0:0:0:0:1", "a.example", "A.EXAMPLE"};
	ensure_ok(dir, names, 5, NOW, &m);
	char sans[1024];
	san_string(m.cert, sans, sizeof sans);
	ck_assert_str_eq(sans, SAN_DEFAULTS " DNS:a.example");
}
END_TEST

START_TEST(tls_material_ensure_extensions_and_algorithms_proper)
{
	struct tls_material m;
	const char *names[] = {"myhub.azure-devices.net"};
	ensure_ok(dir, names, 1, NOW, &m);
	X509 *ca = read_cert(m.ca_cert), *x = read_cert(m.cert);
	char cn[128];

	/* CA */
	X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, cn, sizeof cn);
	ck_assert_str_eq(cn, "simhub local CA");
	ck_assert_int_eq(X509_check_ca(ca), 1);
	int at = X509_get_ext_by_NID(ca, NID_basic_constraints, -1);
	ck_assert_int_ge(at, 0);
	ck_assert_int_eq(X509_EXTENSION_get_critical(X509_get_ext(ca, at)), 1);
	ck_assert_uint_eq(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	ck_assert_ptr_nonnull(X509_get0_subject_key_id(ca));
	ck_assert_int_eq(X509_get_signature_nid(ca), NID_ecdsa_with_SHA256);
	ck_assert_int_eq(X509_check_issued(ca, ca), X509_V_OK);

	/* server */
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
	ck_assert_str_eq(cn, "myhub.azure-devices.net");
	ck_assert_int_eq(X509_check_ca(x), 0);
	ck_assert_int_ge(X509_get_ext_by_NID(x, NID_basic_constraints, -1), 0);
	ck_assert_uint_eq(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	ck_assert_uint_eq(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
	ck_assert_int_eq(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
	ck_assert_ptr_nonnull(aki);
	ck_assert_int_eq(ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(ca)), 0);
	ck_assert_int_eq(X509_get_version(x), 2);

	/* keys: EC P-256 */
	EVP_PKEY *k = read_key(m.key);
	char group[64];
	size_t glen = 0;
	ck_assert_int_eq(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
	ck_assert_int_eq(EVP_PKEY_get_group_name(k, group, sizeof group, &glen), 1);
	ck_assert_str_eq(group, "prime256v1");
	EVP_PKEY_free(k);
	k = read_key(m.ca_key);
	ck_assert_int_eq(EVP_PKEY_get_group_name(k, group, sizeof group, &glen), 1);
	ck_assert_str_eq(group, "prime256v1");
	EVP_PKEY_free(k);

	/* validity: from now - 1 h; 10 years for the CA, 825 days for the server certificate */
	int days = 0, secs = 0;
	ck_assert_int_eq(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(ca), X509_get0_notAfter(ca)), 1);
	ck_assert_int_eq(days, 3650);
	ck_assert_int_eq(secs, 3600);
	ck_assert_int_eq(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
	ck_assert_int_eq(days, 825);
	ck_assert_int_eq(secs, 3600);
	ck_assert_int_eq(ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), (time_t)(NOW - 3600)), 0);
	X509_free(ca);
	X509_free(x);
}
END_TEST

START_TEST(tls_material_ensure_same_names_again_nothing_rewritten)
{
	struct tls_material m;
	const char *names[] = {"myhub.azure-devices.net", "10.0.0.1"};
	ensure_ok(dir, names, 2, NOW, &m);
	struct fstamp s[4] = {stamp(m.ca_cert), stamp(m.ca_key), stamp(m.cert), stamp(m.key)};
	char *before = slurp(m.cert);
	struct timespec pause = {0, 20000000};
	nanosleep(&pause, NULL);  /* a rewrite would show in the nanosecond mtime */
	/* same set in another order and case: still the same */
	const char *again[] = {"10.0.0.1", "MyHub.Azure-Devices.net", "localhost"};
	ck_assert(!ensure_ok(dir, again, 3, NOW + 10 * DAY, &m));
	ck_assert(same_stamp(s[0], stamp(m.ca_cert)));
	ck_assert(same_stamp(s[1], stamp(m.ca_key)));
	ck_assert(same_stamp(s[2], stamp(m.cert)));
	ck_assert(same_stamp(s[3], stamp(m.key)));
	char *after = slurp(m.cert);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
}
END_TEST

START_TEST(tls_material_ensure_added_hostname_reissues_server_keeps_ca)
{
	struct tls_material m;
	const char *one[] = {"myhub.azure-devices.net"};
	ensure_ok(dir, one, 1, NOW, &m);
	struct fstamp ca_s = stamp(m.ca_cert), cak_s = stamp(m.ca_key);
	char *ca_before = slurp(m.ca_cert), *cert_before = slurp(m.cert), *key_before = slurp(m.key);
	const char *two[] = {"myhub.azure-devices.net", "simhub.azure-devices.net"};
	ck_assert(ensure_ok(dir, two, 2, NOW, &m));
	ck_assert(same_stamp(ca_s, stamp(m.ca_cert)));
	ck_assert(same_stamp(cak_s, stamp(m.ca_key)));
	char *ca_after = slurp(m.ca_cert), *cert_after = slurp(m.cert), *key_after = slurp(m.key);
	ck_assert_str_eq(ca_before, ca_after);
	ck_assert_str_ne(cert_before, cert_after);
	ck_assert_str_ne(key_before, key_after);  /* a fresh key with each issue */
	char sans[1024];
	san_string(m.cert, sans, sizeof sans);
	ck_assert_str_eq(sans, SAN_DEFAULTS " DNS:myhub.azure-devices.net DNS:simhub.azure-devices.net");
	ck_assert_int_eq(verify_at(m.cert, m.ca_cert, NOW), 1);
	ck_assert_int_eq(stamp(m.key).mode, 0600);
	/* removing it again re-issues again */
	ck_assert(ensure_ok(dir, one, 1, NOW, &m));
	san_string(m.cert, sans, sizeof sans);
	ck_assert_str_eq(sans, SAN_DEFAULTS " DNS:myhub.azure-devices.net");
	free(ca_before);
	free(cert_before);
	free(key_before);
	free(ca_after);
	free(cert_after);
	free(key_after);
}
END_TEST

START_TEST(tls_material_ensure_expiring_within_30_days_renewed)
{
	struct tls_material m;
	ensure_ok(dir, NULL, 0, NOW, &m);
	char *ca_before = slurp(m.ca_cert);
	/* 825 days of validity: 31 days before the end it is kept, 29 days before it is renewed */
	ck_assert(!ensure_ok(dir, NULL, 0, NOW + (825 - 31) * DAY, &m));
	ck_assert(ensure_ok(dir, NULL, 0, NOW + (825 - 29) * DAY, &m));
	ck_assert_int_eq(verify_at(m.cert, m.ca_cert, NOW + (825 - 29) * DAY), 1);
	char *ca_after = slurp(m.ca_cert);
	ck_assert_str_eq(ca_before, ca_after);
	free(ca_before);
	free(ca_after);
}
END_TEST

START_TEST(tls_material_ensure_expired_server_cert_renewed)
{
	struct tls_material m;
	ensure_ok(dir, NULL, 0, NOW, &m);
	ck_assert(ensure_ok(dir, NULL, 0, NOW + 900 * DAY, &m));
	ck_assert_int_eq(verify_at(m.cert, m.ca_cert, NOW + 900 * DAY), 1);
}
END_TEST

START_TEST(tls_material_ensure_cert_not_yet_valid_renewed)
{
	struct tls_material m;
	const char *names[] = {"a.example"};
	ensure_ok(dir, NULL, 0, NOW, &m);
	ck_assert(ensure_ok(dir, names, 1, NOW + 10 * DAY, &m));
	/* the clock goes back to day 1: that certificate is not valid yet, so it does not verify */
	ck_assert_int_eq(verify_at(m.cert, m.ca_cert, NOW + DAY), 0);
	ck_assert(ensure_ok(dir, names, 1, NOW + DAY, &m));
	ck_assert_int_eq(verify_at(m.cert, m.ca_cert, NOW + DAY), 1);
}
END_TEST

START_TEST(tls_material_ensure_server_cert_never_outlives_ca)
{
	struct tls_material m;
	ensure_ok(dir, NULL, 0, NOW, &m);
	/* 3650 - 100 days later the CA has 100 days left; the new server certificate stops with it */
	ck_assert(ensure_ok(dir, NULL, 0, NOW + (3650 - 100) * DAY, &m));
	X509 *ca = read_cert(m.ca_cert), *x = read_cert(m.cert);
	ck_assert_int_eq(ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca)), 0);
	X509_free(ca);
	X509_free(x);
}
END_TEST

START_TEST(tls_material_ensure_expiring_ca_recreated)
{
	struct tls_material m;
	ensure_ok(dir, NULL, 0, NOW, &m);
	char *ca_before = slurp(m.ca_cert);
	int64_t later = NOW + (3650 - 29) * DAY;
	ck_assert(ensure_ok(dir, NULL, 0, later, &m));
	char *ca_after = slurp(m.ca_cert);
	ck_assert_str_ne(ca_before, ca_after);
	ck_assert_int_eq(verify_at(m.cert, m.ca_cert, later), 1);
	free(ca_before);
	free(ca_after);
}
END_TEST

START_TEST(tls_material_ensure_corrupt_server_pem_replaced)
{
	struct tls_material m;
	ensure_ok(dir, NULL, 0, NOW, &m);
	spit(m.cert, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
	ck_assert(ensure_ok(dir, NULL, 0, NOW, &m));
	ck_assert_int_eq(verify_at(m.cert, m.ca_cert, NOW), 1);
	spit(m.cert, "");
	ck_assert(ensure_ok(dir, NULL, 0, NOW, &m));
	ck_assert_int_eq(verify_at(m.cert, m.ca_cert, NOW), 1);
}
END_TEST

START_TEST(tls_material_ensure_missing_server_key_reissued)
{
	struct tls_material m;
	ensure_ok(dir, NULL, 0, NOW, &m);
	ck_assert_int_eq(unlink(m.key), 0);
	ck_assert(ensure_ok(dir, NULL, 0, NOW, &m));
	ck_assert_int_eq(tls_material_check_user(m.cert, m.key, NULL, 0), SH_OK);
}
END_TEST

START_TEST(tls_material_ensure_mismatched_server_key_reissued)
{
	struct tls_material m, other;
	char odir[600];
	snprintf(odir, sizeof odir, "%s/other", base);
	ensure_ok(dir, NULL, 0, NOW, &m);
	ensure_ok(odir, NULL, 0, NOW, &other);
	copy_file(other.key, m.key);
	ck_assert_int_ne(tls_material_check_user(m.cert, m.key, NULL, 0), SH_OK);
	ck_assert(ensure_ok(dir, NULL, 0, NOW, &m));
	ck_assert_int_eq(tls_material_check_user(m.cert, m.key, NULL, 0), SH_OK);
}
END_TEST

START_TEST(tls_material_ensure_cert_from_other_ca_reissued)
{
	struct tls_material m, other;
	char odir[600];
	snprintf(odir, sizeof odir, "%s/other", base);
	ensure_ok(dir, NULL, 0, NOW, &m);
	ensure_ok(odir, NULL, 0, NOW, &other);
	copy_file(other.key, m.key);
	copy_file(other.cert, m.cert);  /* a matching pair, names right, but not our CA's */
	ck_assert_int_eq(verify_at(m.cert, m.ca_cert, NOW), 0);
	ck_assert(ensure_ok(dir, NULL, 0, NOW, &m));
	ck_assert_int_eq(verify_at(m.cert, m.ca_cert, NOW), 1);
}
END_TEST

START_TEST(tls_material_ensure_unwritable_dir_fails_with_path)
{
	struct tls_material m;
	char err[512], bad[600];
	bool renewed = true;
	/* a regular file where a folder should be: fails even for root */
	snprintf(bad, sizeof bad, "%s/file", base);
	spit(bad, "x");
	snprintf(bad, sizeof bad, "%s/file/tls", base);
	ck_assert_int_eq(tls_material_ensure(bad, NULL, 0, NOW, &m, &renewed, err, sizeof err), SH_E_IO);
	ck_assert_msg(strstr(err, base) != NULL, "err lacks the path: %s", err);
	ck_assert(!renewed);
	ck_assert_str_eq(m.ca_cert, "");
	if (geteuid() != 0) {
		/* a read-only folder (permissions do not stop root) */
		snprintf(bad, sizeof bad, "%s/ro", base);
		ck_assert_int_eq(mkdir(bad, 0500), 0);
		ck_assert_int_eq(tls_material_ensure(bad, NULL, 0, NOW, &m, NULL, err, sizeof err), SH_E_IO);
		ck_assert_msg(strstr(err, bad) != NULL, "err lacks the path: %s", err);
	}
}
END_TEST

START_TEST(tls_material_ensure_corrupt_ca_fails_and_is_kept)
{
	struct tls_material m;
	char err[512];
	ensure_ok(dir, NULL, 0, NOW, &m);
	spit(m.ca_cert, "garbage\n");
	ck_assert_int_eq(tls_material_ensure(dir, NULL, 0, NOW, &m, NULL, err, sizeof err), SH_E_IO);
	ck_assert_msg(strstr(err, "ca.pem") != NULL && strstr(err, "delete") != NULL, "err: %s", err);
	char *text = slurp(path_in(dir, "ca.pem"));
	ck_assert_str_eq(text, "garbage\n");
	free(text);
}
END_TEST

START_TEST(tls_material_ensure_missing_ca_key_fails)
{
	struct tls_material m;
	char err[512];
	ensure_ok(dir, NULL, 0, NOW, &m);
	char ca_key[600];
	snprintf(ca_key, sizeof ca_key, "%s", m.ca_key);
	ck_assert_int_eq(unlink(ca_key), 0);
	ck_assert_int_eq(tls_material_ensure(dir, NULL, 0, NOW, &m, NULL, err, sizeof err), SH_E_IO);
	ck_assert_msg(strstr(err, ca_key) != NULL, "err: %s", err);
	ck_assert_int_ne(access(ca_key, F_OK), 0);
}
END_TEST

START_TEST(tls_material_ensure_ca_key_of_other_ca_fails)
{
	struct tls_material m, other;
	char err[512], odir[600];
	snprintf(odir, sizeof odir, "%s/other", base);
	ensure_ok(dir, NULL, 0, NOW, &m);
	ensure_ok(odir, NULL, 0, NOW, &other);
	copy_file(other.ca_key, m.ca_key);
	ck_assert_int_eq(tls_material_ensure(dir, NULL, 0, NOW, &m, NULL, err, sizeof err), SH_E_IO);
	ck_assert_msg(strstr(err, "does not match") != NULL, "err: %s", err);
}
END_TEST

START_TEST(tls_material_ensure_lone_ca_key_replaced)
{
	struct tls_material m;
	ensure_ok(dir, NULL, 0, NOW, &m);
	char *key_before = slurp(m.ca_key);
	ck_assert_int_eq(unlink(m.ca_cert), 0);  /* as after a crash between the two renames */
	ck_assert(ensure_ok(dir, NULL, 0, NOW, &m));
	char *key_after = slurp(m.ca_key);
	ck_assert_str_ne(key_before, key_after);
	ck_assert_int_eq(verify_at(m.cert, m.ca_cert, NOW), 1);
	free(key_before);
	free(key_after);
}
END_TEST

static const char *const bad_names[] = {
	"", "has space.example", "a..b", "trailing.", ".leading", "x/y", "under\nline", "caf\xc3\xa9.fr",
	"*", "*.com", "a.*.b", "fe80::1%eth0", "label-of-sixty-four-bytes-is-one-too-many-for-dns-xxxxxxxxxxxxxx.com",
};

START_TEST(tls_material_ensure_bad_hostname_invalid_nothing_created)
{
	struct tls_material m;
	char err[512];
	const char *names[] = {"good.example", bad_names[_i]};
	ck_assert_int_eq(tls_material_ensure(dir, names, 2, NOW, &m, NULL, err, sizeof err), SH_E_INVALID);
	ck_assert_msg(strstr(err, "certificate name") != NULL, "err: %s", err);
	ck_assert_int_ne(access(dir, F_OK), 0);
}
END_TEST

START_TEST(tls_material_ensure_long_names_ok)
{
	/* a 253-byte DNS name: fine as a SAN, too long for a CN (which falls back to localhost) */
	char longname[254];
	memset(longname, 'a', 253);
	longname[253] = '\0';
	for (int i = 63; i < 253; i += 64)
		longname[i] = '.';
	struct tls_material m;
	const char *names[] = {longname};
	ensure_ok(dir, names, 1, NOW, &m);
	X509 *x = read_cert(m.cert);
	ck_assert_int_eq(X509_check_host(x, longname, 0, 0, NULL), 1);
	char cn[128];
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
	ck_assert_str_eq(cn, "localhost");
	X509_free(x);
	longname[252] = 'a';
	char big[300];
	snprintf(big, sizeof big, "%s.b", longname);  /* 255 bytes */
	names[0] = big;
	ck_assert_int_eq(tls_material_ensure(dir, names, 1, NOW, &m, NULL, NULL, 0), SH_E_INVALID);
}
END_TEST

START_TEST(tls_material_ensure_too_many_names_invalid)
{
	struct tls_material m;
	const char *names[TLS_MATERIAL_MAX_NAMES + 1];
	for (size_t i = 0; i < TLS_MATERIAL_MAX_NAMES + 1; i++)
		names[i] = "same.example";
	char err[256];
	ck_assert_int_eq(tls_material_ensure(dir, names, TLS_MATERIAL_MAX_NAMES + 1, NOW, &m, NULL, err,
					     sizeof err), SH_E_INVALID);
	ck_assert_int_eq(tls_material_ensure(dir, names, TLS_MATERIAL_MAX_NAMES, NOW, &m, NULL, err,
					     sizeof err), SH_OK);
}
END_TEST

START_TEST(tls_material_ensure_relative_dir_gives_absolute_paths)
{
	ck_assert_int_eq(chdir(base), 0);  /* CK_FORK: the chdir dies with this test's process */
	struct tls_material m;
	ensure_ok("./data/tls", NULL, 0, NOW, &m);
	ck_assert_str_eq(m.ca_cert, path_in(base, "data/tls/ca.pem"));
	ck_assert_str_eq(m.key, path_in(base, "data/tls/server.key"));
	ck_assert_int_eq(access(m.cert, R_OK), 0);
}
END_TEST

/* ---- tls_material_check_user ---- */

START_TEST(tls_material_check_user_matching_pair_ok)
{
	struct tls_material m;
	ensure_ok(dir, NULL, 0, NOW, &m);
	char err[512] = "stale";
	ck_assert_int_eq(tls_material_check_user(m.cert, m.key, err, sizeof err), SH_OK);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(tls_material_check_user(m.ca_cert, m.ca_key, err, sizeof err), SH_OK);
}
END_TEST

START_TEST(tls_material_check_user_cert_and_key_in_one_file_ok)
{
	struct tls_material m;
	ensure_ok(dir, NULL, 0, NOW, &m);
	char *c = slurp(m.cert), *k = slurp(m.key);
	char both[600], text[8192];
	snprintf(both, sizeof both, "%s/both.pem", base);
	snprintf(text, sizeof text, "%s%s", k, c);
	spit(both, text);
	ck_assert_int_eq(tls_material_check_user(both, both, NULL, 0), SH_OK);
	free(c);
	free(k);
}
END_TEST

START_TEST(tls_material_check_user_key_of_other_cert_fails)
{
	struct tls_material m;
	char err[512];
	ensure_ok(dir, NULL, 0, NOW, &m);
	ck_assert_int_eq(tls_material_check_user(m.cert, m.ca_key, err, sizeof err), SH_E_IO);
	ck_assert_msg(strstr(err, "does not match") && strstr(err, m.ca_key), "err: %s", err);
}
END_TEST

START_TEST(tls_material_check_user_missing_files_fail_with_path)
{
	struct tls_material m;
	char err[512], missing[600];
	ensure_ok(dir, NULL, 0, NOW, &m);
	snprintf(missing, sizeof missing, "%s/nope.pem", base);
	ck_assert_int_eq(tls_material_check_user(missing, m.key, err, sizeof err), SH_E_IO);
	ck_assert_msg(strstr(err, missing) != NULL, "err: %s", err);
	ck_assert_int_eq(tls_material_check_user(m.cert, missing, err, sizeof err), SH_E_IO);
	ck_assert_msg(strstr(err, missing) != NULL, "err: %s", err);
	ck_assert_int_eq(tls_material_check_user("", m.key, err, sizeof err), SH_E_IO);
	ck_assert_int_eq(tls_material_check_user(m.cert, NULL, err, sizeof err), SH_E_IO);
}
END_TEST

START_TEST(tls_material_check_user_not_pem_fails)
{
	struct tls_material m;
	char err[512], junk[600];
	ensure_ok(dir, NULL, 0, NOW, &m);
	snprintf(junk, sizeof junk, "%s/junk.pem", base);
	spit(junk, "hello\n");
	ck_assert_int_eq(tls_material_check_user(junk, m.key, err, sizeof err), SH_E_IO);
	ck_assert_msg(strstr(err, junk) != NULL, "err: %s", err);
	ck_assert_int_eq(tls_material_check_user(m.cert, junk, err, sizeof err), SH_E_IO);
	ck_assert_msg(strstr(err, junk) != NULL, "err: %s", err);
	/* a certificate where the key should be, and the reverse */
	ck_assert_int_eq(tls_material_check_user(m.cert, m.cert, err, sizeof err), SH_E_IO);
	ck_assert_int_eq(tls_material_check_user(m.key, m.key, err, sizeof err), SH_E_IO);
}
END_TEST

START_TEST(tls_material_check_user_encrypted_key_fails_without_prompt)
{
	struct tls_material m;
	char err[512], enc[600];
	ensure_ok(dir, NULL, 0, NOW, &m);
	EVP_PKEY *k = read_key(m.key);
	snprintf(enc, sizeof enc, "%s/enc.key", base);
	FILE *f = fopen(enc, "w");
	ck_assert_int_eq(PEM_write_PrivateKey(f, k, EVP_aes_256_cbc(), (const unsigned char *)"pw", 2,
					      NULL, NULL), 1);
	fclose(f);
	EVP_PKEY_free(k);
	ck_assert_int_eq(tls_material_check_user(m.cert, enc, err, sizeof err), SH_E_IO);
	ck_assert_msg(strstr(err, "encrypted") != NULL, "err: %s", err);
}
END_TEST

/* ---- tls_material_sans ---- */

START_TEST(tls_material_sans_lists_names_in_order)
{
	struct tls_material m;
	const char *names[] = {"myhub.azure-devices.net", "10.1.2.3", "FE80:0::1"};
	ensure_ok(dir, names, 3, NOW, &m);
	char out[8][TLS_MATERIAL_NAME_MAX];
	size_t n = 99;
	ck_assert_int_eq(tls_material_sans(m.cert, out, 8, &n, NULL, 0), SH_OK);
	ck_assert_uint_eq(n, 6);
	ck_assert_str_eq(out[0], "localhost");
	ck_assert_str_eq(out[1], "127.0.0.1");
	ck_assert_str_eq(out[2], "::1");
	ck_assert_str_eq(out[3], "myhub.azure-devices.net");
	ck_assert_str_eq(out[4], "10.1.2.3");
	ck_assert_str_eq(out[5], "fe80::1");
}
END_TEST

START_TEST(tls_material_sans_small_array_nospace)
{
	struct tls_material m;
	ensure_ok(dir, NULL, 0, NOW, &m);
	char out[2][TLS_MATERIAL_NAME_MAX];
	size_t n = 0;
	ck_assert_int_eq(tls_material_sans(m.cert, out, 2, &n, NULL, 0), SH_E_NOSPACE);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(out[1], "127.0.0.1");
}
END_TEST

START_TEST(tls_material_sans_ca_without_extension_zero)
{
	struct tls_material m;
	ensure_ok(dir, NULL, 0, NOW, &m);
	char out[2][TLS_MATERIAL_NAME_MAX];
	size_t n = 7;
	ck_assert_int_eq(tls_material_sans(m.ca_cert, out, 2, &n, NULL, 0), SH_OK);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(tls_material_sans_not_a_cert_fails)
{
	char out[2][TLS_MATERIAL_NAME_MAX], err[512], junk[600];
	size_t n = 7;
	snprintf(junk, sizeof junk, "%s/junk.pem", base);
	ck_assert_int_eq(tls_material_sans(junk, out, 2, &n, err, sizeof err), SH_E_IO);
	ck_assert_msg(strstr(err, junk) != NULL, "err: %s", err);
	spit(junk, "");
	ck_assert_int_eq(tls_material_sans(junk, out, 2, &n, err, sizeof err), SH_E_IO);
	ck_assert_uint_eq(n, 0);
}
END_TEST

/* ---- tls_material_dir_for_db ---- */

START_TEST(tls_material_dir_for_db_file_uses_its_folder)
{
	char out[256];
	ck_assert_int_eq(tls_material_dir_for_db("./simhub-data/simhub.db", out, sizeof out, NULL, 0), SH_OK);
	ck_assert_str_eq(out, "./simhub-data/tls");
	ck_assert_int_eq(tls_material_dir_for_db("/var/lib/simhub/hub.db", out, sizeof out, NULL, 0), SH_OK);
	ck_assert_str_eq(out, "/var/lib/simhub/tls");
	ck_assert_int_eq(tls_material_dir_for_db("hub.db", out, sizeof out, NULL, 0), SH_OK);
	ck_assert_str_eq(out, "./tls");
	ck_assert_int_eq(tls_material_dir_for_db("/hub.db", out, sizeof out, NULL, 0), SH_OK);
	ck_assert_str_eq(out, "/tls");
}
END_TEST

START_TEST(tls_material_dir_for_db_memory_uses_state_home)
{
	char out[256], err[256];
	setenv("XDG_STATE_HOME", "/xdg/state", 1);
	setenv("HOME", "/home/u", 1);
	ck_assert_int_eq(tls_material_dir_for_db(":memory:", out, sizeof out, NULL, 0), SH_OK);
	ck_assert_str_eq(out, "/xdg/state/simhub/tls");
	setenv("XDG_STATE_HOME", "relative/ignored", 1);  /* the XDG spec: relative values are invalid */
	ck_assert_int_eq(tls_material_dir_for_db(":memory:", out, sizeof out, NULL, 0), SH_OK);
	ck_assert_str_eq(out, "/home/u/.local/state/simhub/tls");
	unsetenv("XDG_STATE_HOME");
	ck_assert_int_eq(tls_material_dir_for_db(":memory:", out, sizeof out, NULL, 0), SH_OK);
	ck_assert_str_eq(out, "/home/u/.local/state/simhub/tls");
	unsetenv("HOME");
	ck_assert_int_eq(tls_material_dir_for_db(":memory:", out, sizeof out, err, sizeof err), SH_E_INVALID);
	ck_assert_msg(strstr(err, "HOME") != NULL, "err: %s", err);
}
END_TEST

START_TEST(tls_material_dir_for_db_bad_input_fails)
{
	char out[256], small[8];
	ck_assert_int_eq(tls_material_dir_for_db("", out, sizeof out, NULL, 0), SH_E_INVALID);
	ck_assert_int_eq(tls_material_dir_for_db(NULL, out, sizeof out, NULL, 0), SH_E_INVALID);
	ck_assert_int_eq(tls_material_dir_for_db("/long/folder/x.db", small, sizeof small, NULL, 0),
			 SH_E_NOSPACE);
}
END_TEST

/* ---- tls_material_is_default_name ---- */

START_TEST(tls_material_is_default_name_three_only)
{
	ck_assert(tls_material_is_default_name("localhost"));
	ck_assert(tls_material_is_default_name("LOCALHOST"));
	ck_assert(tls_material_is_default_name("127.0.0.1"));
	ck_assert(tls_material_is_default_name("::1"));
	ck_assert(!tls_material_is_default_name("localhost.localdomain"));
	ck_assert(!tls_material_is_default_name("127.0.0.2"));
	ck_assert(!tls_material_is_default_name(""));
}
END_TEST

static Suite *tls_material_suite(void)
{
	Suite *s = suite_create("tls_material");
	TCase *tc = tcase_create("tls_material_ensure");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, tls_material_ensure_fresh_dir_creates_files_keys_0600);
	tcase_add_test(tc, tls_material_ensure_fresh_dir_cert_verifies_against_ca);
	tcase_add_test(tc, tls_material_ensure_sans_exactly_wanted);
	tcase_add_test(tc, tls_material_ensure_no_hostname_defaults_only);
	tcase_add_test(tc, tls_material_ensure_ip_names_are_ip_entries_not_dns);
	tcase_add_test(tc, tls_material_ensure_duplicate_names_dropped);
	tcase_add_test(tc, tls_material_ensure_extensions_and_algorithms_proper);
	tcase_add_test(tc, tls_material_ensure_same_names_again_nothing_rewritten);
	tcase_add_test(tc, tls_material_ensure_added_hostname_reissues_server_keeps_ca);
	tcase_add_test(tc, tls_material_ensure_expiring_within_30_days_renewed);
	tcase_add_test(tc, tls_material_ensure_expired_server_cert_renewed);
	tcase_add_test(tc, tls_material_ensure_cert_not_yet_valid_renewed);
	tcase_add_test(tc, tls_material_ensure_server_cert_never_outlives_ca);
	tcase_add_test(tc, tls_material_ensure_expiring_ca_recreated);
	tcase_add_test(tc, tls_material_ensure_corrupt_server_pem_replaced);
	tcase_add_test(tc, tls_material_ensure_missing_server_key_reissued);
	tcase_add_test(tc, tls_material_ensure_mismatched_server_key_reissued);
	tcase_add_test(tc, tls_material_ensure_cert_from_other_ca_reissued);
	tcase_add_test(tc, tls_material_ensure_unwritable_dir_fails_with_path);
	tcase_add_test(tc, tls_material_ensure_corrupt_ca_fails_and_is_kept);
	tcase_add_test(tc, tls_material_ensure_missing_ca_key_fails);
	tcase_add_test(tc, tls_material_ensure_ca_key_of_other_ca_fails);
	tcase_add_test(tc, tls_material_ensure_lone_ca_key_replaced);
	tcase_add_loop_test(tc, tls_material_ensure_bad_hostname_invalid_nothing_created, 0,
			    (int)(sizeof bad_names / sizeof bad_names[0]));
	tcase_add_test(tc, tls_material_ensure_long_names_ok);
	tcase_add_test(tc, tls_material_ensure_too_many_names_invalid);
	tcase_add_test(tc, tls_material_ensure_relative_dir_gives_absolute_paths);
	suite_add_tcase(s, tc);

	tc = tcase_create("tls_material_check_user");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, tls_material_check_user_matching_pair_ok);
	tcase_add_test(tc, tls_material_check_user_cert_and_key_in_one_file_ok);
	tcase_add_test(tc, tls_material_check_user_key_of_other_cert_fails);
	tcase_add_test(tc, tls_material_check_user_missing_files_fail_with_path);
	tcase_add_test(tc, tls_material_check_user_not_pem_fails);
	tcase_add_test(tc, tls_material_check_user_encrypted_key_fails_without_prompt);
	suite_add_tcase(s, tc);

	tc = tcase_create("tls_material_sans");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, tls_material_sans_lists_names_in_order);
	tcase_add_test(tc, tls_material_sans_small_array_nospace);
	tcase_add_test(tc, tls_material_sans_ca_without_extension_zero);
	tcase_add_test(tc, tls_material_sans_not_a_cert_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("tls_material_dir_for_db");
	tcase_add_test(tc, tls_material_dir_for_db_file_uses_its_folder);
	tcase_add_test(tc, tls_material_dir_for_db_memory_uses_state_home);
	tcase_add_test(tc, tls_material_dir_for_db_bad_input_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("tls_material_is_default_name");
	tcase_add_test(tc, tls_material_is_default_name_three_only);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tls_material_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
