/*
 * tls_material.c: simhub's local CA and server certificate on disk (io room). Generates EC
 * P-256 keys and X.509 certificates with OpenSSL, writes them atomically, and re-issues the
 * server certificate only when it is no longer fit. It never listens, never reads the clock
 * (time is an argument) and never opens the database.
 */

/*
 * The decision "reuse or re-issue" is a set comparison on purpose: clients only trust the CA,
 * so re-issuing the server certificate is cheap and invisible to them, while re-creating the CA
 * breaks every client that was told to trust it. Hence the CA is re-created only when it is
 * absent or about to expire, and a damaged CA is reported, not replaced.
 */
#include "io/tls_material.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define DAY_S 86400
#define SKEW_S 3600  /* validity starts this long before `now` */
#define CA_CN "simhub local CA"
#define MAX_SANS (3 + TLS_MATERIAL_MAX_NAMES)

/* One subjectAltName entry in comparable form: lower-case DNS text, or 4/16 address bytes. */
struct san {
	int type;  /* GEN_DNS or GEN_IPADD */
	size_t len;
	unsigned char v[TLS_MATERIAL_NAME_MAX];
};

struct san_set {
	size_t n;
	bool foreign;  /* the certificate had entries of another type (email, URI, ...) */
	struct san e[MAX_SANS];
};

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * The earliest error in OpenSSL's queue as text (the root cause; later entries are the
 * callers' complaints about it), then the queue is cleared. "unknown OpenSSL error" when
 * the queue is empty.
 */
static const char *ossl_reason(char *buf, size_t cap)
{
	unsigned long e = ERR_peek_error();
	if (e == 0)
		snprintf(buf, cap, "unknown OpenSSL error");
	else
		ERR_error_string_n(e, buf, cap);
	ERR_clear_error();
	return buf;
}

/* Never prompt on the terminal for a key pass phrase: an encrypted key simply fails to load. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* ---- names ------------------------------------------------------------------------------------- */

static bool san_equal(const struct san *a, const struct san *b)
{
	return a->type == b->type && a->len == b->len && memcmp(a->v, b->v, a->len) == 0;
}

/* Add `s` unless the set already holds it. Returns false when the set is full. */
static bool san_add(struct san_set *set, const struct san *s)
{
	for (size_t i = 0; i < set->n; i++)
		if (san_equal(&set->e[i], s))
			return true;
	if (set->n == MAX_SANS)
		return false;
	set->e[set->n++] = *s;
	return true;
}

/* Same entries, ignoring order (both sets are duplicate-free). */
static bool san_set_equal(const struct san_set *a, const struct san_set *b)
{
	if (a->foreign || b->foreign || a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		bool found = false;
		for (size_t j = 0; j < b->n && !found; j++)
			found = san_equal(&a->e[i], &b->e[j]);
		if (!found)
			return false;
	}
	return true;
}

/*
 * A DNS name we are willing to put in a certificate: 1..253 bytes, dot-separated labels of
 * 1..63 letters, digits, '-' or '_', no empty label (so no leading or trailing dot), and "*"
 * allowed as the whole first label of a name with at least two more labels' worth of dots.
 */
static bool dns_name_ok(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > 253)
		return false;
	const char *p = name;
	if (p[0] == '*') {
		if (p[1] != '.' || !strchr(p + 2, '.'))
			return false;
		p += 2;
	}
	size_t label = 0;
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return false;
		if (c > 0x7f || ++label > 63)
			return false;
	}
	return label > 0;
}

/* Parse one wanted name: an IPv4 or IPv6 literal becomes an IP entry, else a DNS name. */
static sh_rc san_parse(const char *name, struct san *out)
{
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, name, out->v) == 1) {
		out->type = GEN_IPADD;
		out->len = 4;
		return SH_OK;
	}
	if (inet_pton(AF_INET6, name, out->v) == 1) {
		out->type = GEN_IPADD;
		out->len = 16;
		return SH_OK;
	}
	if (!dns_name_ok(name))
		return SH_E_INVALID;
	out->type = GEN_DNS;
	out->len = strlen(name);
	for (size_t i = 0; i < out->len; i++)
		out->v[i] = (unsigned char)tolower((unsigned char)name[i]);
	return SH_OK;
}

static const char *const default_names[] = {"localhost", "127.0.0.1", "::1"};

/* The wanted SAN set: the three defaults, then each hostname in order. */
static sh_rc wanted_sans(const char *const *hostnames, size_t n, struct san_set *set, char *err,
			 size_t errlen)
{
	memset(set, 0, sizeof *set);
	if (n > TLS_MATERIAL_MAX_NAMES) {
		set_err(err, errlen, "too many host names (%zu, at most %d)", n, TLS_MATERIAL_MAX_NAMES);
		return SH_E_INVALID;
	}
	struct san s;
	for (size_t i = 0; i < 3; i++) {
		san_parse(default_names[i], &s);
		san_add(set, &s);
	}
	for (size_t i = 0; i < n; i++) {
		if (!hostnames[i] || san_parse(hostnames[i], &s) != SH_OK) {
			set_err(err, errlen, "'%s' cannot be a certificate name: give a DNS name "
				"(letters, digits, '-', dots) or an IP address",
				hostnames[i] ? hostnames[i] : "(null)");
			return SH_E_INVALID;
		}
		san_add(set, &s);
	}
	return SH_OK;
}

/* The certificate's SAN entries as a set; `foreign` when it holds types we never issue. */
static void cert_sans(X509 *x, struct san_set *set)
{
	memset(set, 0, sizeof *set);
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	if (!gens)
		return;
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		struct san s;
		memset(&s, 0, sizeof s);
		const ASN1_STRING *str = NULL;
		if (g->type == GEN_DNS)
			str = g->d.dNSName;
		else if (g->type == GEN_IPADD)
			str = g->d.iPAddress;
		int len = str ? ASN1_STRING_length(str) : -1;
		if (!str || len < 0 || (size_t)len >= sizeof s.v) {
			set->foreign = true;
			continue;
		}
		s.type = g->type;
		s.len = (size_t)len;
		memcpy(s.v, ASN1_STRING_get0_data(str), s.len);
		if (s.type == GEN_DNS)
			for (size_t k = 0; k < s.len; k++)
				s.v[k] = (unsigned char)tolower(s.v[k]);
		if (!san_add(set, &s))
			set->foreign = true;
	}
	GENERAL_NAMES_free(gens);
}

/* ---- files ------------------------------------------------------------------------------------- */

/* mkdir -p; parents get 0755, the last component 0700 (it will hold private keys). */
static sh_rc make_dirs(const char *dir, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	size_t len = strlen(dir);
	if (len == 0 || len >= sizeof buf) {
		set_err(err, errlen, "%s: folder path empty or too long", dir);
		return SH_E_INVALID;
	}
	memcpy(buf, dir, len + 1);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	for (char *p = buf + 1; ; p++) {
		bool last = *p == '\0';
		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(buf, last ? 0700 : 0755) != 0 && errno != EEXIST) {
			set_err(err, errlen, "%s: cannot create folder: %s", buf, strerror(errno));
			return SH_E_IO;
		}
		if (last)
			break;
		*p = '/';
	}
	struct stat sb;
	if (stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		set_err(err, errlen, "%s: not a folder", buf);
		return SH_E_IO;
	}
	return SH_OK;
}

/*
 * `dir` as an absolute path (the working folder prepended, leading "./" dropped), so the
 * paths handed to listeners and printed for clients work from anywhere.
 */
static sh_rc absolute(const char *dir, char *out, size_t cap, char *err, size_t errlen)
{
	while (dir[0] == '.' && dir[1] == '/')
		dir += 2;
	int w;
	if (dir[0] == '/') {
		w = snprintf(out, cap, "%s", dir);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd)) {
			set_err(err, errlen, "%s: cannot find the working folder: %s", dir, strerror(errno));
			return SH_E_IO;
		}
		w = snprintf(out, cap, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", dir[0] ? dir : ".");
	}
	if (w < 0 || (size_t)w >= cap) {
		set_err(err, errlen, "%s: path too long", dir);
		return SH_E_INVALID;
	}
	size_t len = (size_t)w;
	while (len > 1 && out[len - 1] == '/')
		out[--len] = '\0';
	return SH_OK;
}

/* Join dir and name into out (cap bytes); false when it does not fit. */
static bool join(char *out, size_t cap, const char *dir, const char *name)
{
	int w = snprintf(out, cap, "%s/%s", dir, name);
	return w > 0 && (size_t)w < cap;
}

/*
 * Load the first certificate (or private key when `want_key`) of a PEM file. Returns SH_OK;
 * SH_E_NOTFOUND when the file does not exist; SH_E_MALFORMED when it holds no usable PEM
 * object; SH_E_IO for any other open failure. err gets "path: reason" on failure.
 */
static sh_rc load_pem(const char *path, bool want_key, X509 **x, EVP_PKEY **k, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		set_err(err, errlen, "%s: cannot open: %s", path, strerror(e));
		return e == ENOENT ? SH_E_NOTFOUND : SH_E_IO;
	}
	char why[256];
	sh_rc rc = SH_OK;
	ERR_clear_error();
	if (want_key) {
		*k = PEM_read_PrivateKey(f, NULL, no_password, NULL);
		if (!*k) {
			set_err(err, errlen, "%s: no usable PEM private key (an encrypted key is not "
				"supported): %s", path, ossl_reason(why, sizeof why));
			rc = SH_E_MALFORMED;
		}
	} else {
		*x = PEM_read_X509(f, NULL, no_password, NULL);
		if (!*x) {
			set_err(err, errlen, "%s: no PEM certificate: %s", path, ossl_reason(why, sizeof why));
			rc = SH_E_MALFORMED;
		}
	}
	fclose(f);
	return rc;
}

/*
 * Write a certificate or a private key to dir/name atomically: a temporary file in the same
 * folder (mkstemp), mode set before any byte is written, PEM, fsync, rename over the target.
 * The caller fsyncs the folder once after its last rename. On failure the temporary file is
 * removed and the target is untouched.
 */
static sh_rc write_pem(const char *dir, const char *name, mode_t mode, X509 *x, EVP_PKEY *k,
		       char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	if (!join(path, sizeof path, dir, name) ||
	    snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name) >= (int)sizeof tmp) {
		set_err(err, errlen, "%s/%s: path too long", dir, name);
		return SH_E_INVALID;
	}
	int fd = mkstemp(tmp);
	if (fd < 0) {
		set_err(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		return SH_E_IO;
	}
	FILE *f = NULL;
	if (fchmod(fd, mode) != 0 || !(f = fdopen(fd, "w"))) {
		set_err(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return SH_E_IO;
	}
	char why[256];
	ERR_clear_error();
	int ok = k ? PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, x);
	if (!ok) {
		set_err(err, errlen, "%s: cannot write PEM: %s", tmp, ossl_reason(why, sizeof why));
		fclose(f);
		unlink(tmp);
		return SH_E_IO;
	}
	errno = 0;
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		set_err(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
		fclose(f);
		unlink(tmp);
		return SH_E_IO;
	}
	if (fclose(f) != 0) {
		set_err(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
		unlink(tmp);
		return SH_E_IO;
	}
	if (rename(tmp, path) != 0) {
		set_err(err, errlen, "%s: cannot replace: %s", path, strerror(errno));
		unlink(tmp);
		return SH_E_IO;
	}
	return SH_OK;
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Take an exclusive fcntl lock on dir/.lock (waits). Returns the fd to close, or -1. */
static int lock_dir(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	if (!join(path, sizeof path, dir, ".lock")) {
		set_err(err, errlen, "%s: path too long", dir);
		return -1;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		set_err(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		return -1;
	}
	struct flock fl;
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	int r;
	while ((r = fcntl(fd, F_SETLKW, &fl)) != 0 && errno == EINTR)
		;
	if (r != 0) {
		set_err(err, errlen, "%s: cannot lock: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- keys and certificates --------------------------------------------------------------------- */

static EVP_PKEY *new_p256_key(void)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (c && EVP_PKEY_keygen_init(c) == 1 && EVP_PKEY_CTX_set_group_name(c, "P-256") == 1)
		EVP_PKEY_generate(c, &k);
	EVP_PKEY_CTX_free(c);
	return k;
}

/* Add one extension given in OpenSSL's configuration syntax ("critical,CA:TRUE"). */
static bool add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, v3, nid, value);
	if (!e)
		return false;
	int ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok == 1;
}

/* The subjectAltName extension built entry by entry (no text syntax, so no quoting issues). */
static bool add_sans(X509 *x, const struct san_set *set)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	bool ok = gens != NULL;
	for (size_t i = 0; ok && i < set->n; i++) {
		const struct san *s = &set->e[i];
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_STRING *str = s->type == GEN_DNS ? ASN1_IA5STRING_new() : ASN1_OCTET_STRING_new();
		ok = g && str && ASN1_STRING_set(str, s->v, (int)s->len) == 1;
		if (ok) {
			GENERAL_NAME_set0_value(g, s->type, str);
			str = NULL;
			ok = sk_GENERAL_NAME_push(gens, g) > 0;
			if (ok)
				g = NULL;
		}
		ASN1_STRING_free(str);
		GENERAL_NAME_free(g);
	}
	if (ok)
		ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_REPLACE) == 1;
	GENERAL_NAMES_free(gens);
	return ok;
}

/* 16 random bytes as a positive, non-zero serial number (RFC 5280: at most 20 octets). */
static bool set_random_serial(X509 *x)
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof b) != 1)
		return false;
	b[0] = (unsigned char)((b[0] & 0x7f) | 0x40);
	BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
	bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

/*
 * Build and sign one certificate. For the CA, `issuer` is NULL and `key` signs itself; for the
 * server certificate, `issuer`/`issuer_key` are the CA and `sans` the wanted names, and the end
 * of validity is clamped to the CA's own. Returns the certificate (caller frees) or NULL with
 * the reason left in OpenSSL's error queue.
 */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, int days,
		       int64_t now_s, const struct san_set *sans)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	time_t t = (time_t)now_s;
	bool ok = x && name && X509_set_version(x, 2) == 1 && set_random_serial(x) &&
		  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1,
					     -1, 0) == 1 &&
		  X509_set_subject_name(x, name) == 1 &&
		  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) == 1 &&
		  X509_time_adj_ex(X509_getm_notBefore(x), 0, -SKEW_S, &t) != NULL &&
		  X509_time_adj_ex(X509_getm_notAfter(x), days, 0, &t) != NULL &&
		  X509_set_pubkey(x, key) == 1;
	if (ok && issuer && ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(issuer)) > 0)
		ok = X509_set1_notAfter(x, X509_get0_notAfter(issuer)) == 1;
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	if (ok && !issuer) {
		ok = add_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE") &&
		     add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign") &&
		     add_ext(x, &v3, NID_subject_key_identifier, "hash");
	} else if (ok) {
		ok = add_ext(x, &v3, NID_basic_constraints, "CA:FALSE") &&
		     add_ext(x, &v3, NID_key_usage, "critical,digitalSignature") &&
		     add_ext(x, &v3, NID_ext_key_usage, "serverAuth") &&
		     add_ext(x, &v3, NID_subject_key_identifier, "hash") &&
		     add_ext(x, &v3, NID_authority_key_identifier, "keyid:always") &&
		     add_sans(x, sans);
	}
	if (ok)
		ok = X509_sign(x, issuer ? issuer_key : key, EVP_sha256()) > 0;
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* True when the certificate's end of validity is later than now + the renewal margin. */
static bool lasts(X509 *x, int64_t now_s)
{
	time_t limit = (time_t)(now_s + (int64_t)TLS_MATERIAL_RENEW_DAYS * DAY_S);
	return ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), limit) == 1;
}

/* The server certificate chains to `ca` at `now_s` for TLS server use (EKU included). */
static bool verifies(X509 *cert, X509 *ca, int64_t now_s)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *c = X509_STORE_CTX_new();
	bool ok = st && c && X509_STORE_add_cert(st, ca) == 1 &&
		  X509_STORE_CTX_init(c, st, cert, NULL) == 1 &&
		  X509_STORE_CTX_set_purpose(c, X509_PURPOSE_SSL_SERVER) == 1;
	if (ok) {
		X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(c), (time_t)now_s);
		ok = X509_verify_cert(c) == 1;
	}
	X509_STORE_CTX_free(c);
	X509_STORE_free(st);
	ERR_clear_error();
	return ok;
}

/*
 * Load the CA, or create it. Returns SH_OK with the CA and its key set (caller frees), *created
 * telling whether it is new; SH_E_IO when the CA on disk is damaged (message says how to start
 * over) or cannot be written.
 */
static sh_rc ensure_ca(const char *dir, const struct tls_material *m, int64_t now_s, X509 **ca,
		       EVP_PKEY **ca_key, bool *created, char *err, size_t errlen)
{
	char why[256];
	*created = false;
	sh_rc rc = load_pem(m->ca_cert, false, ca, NULL, err, errlen);
	if (rc == SH_OK) {
		rc = load_pem(m->ca_key, true, NULL, ca_key, err, errlen);
		if (rc == SH_OK && X509_check_private_key(*ca, *ca_key) != 1) {
			set_err(err, errlen, "%s does not match %s", m->ca_key, m->ca_cert);
			rc = SH_E_IO;
		}
		if (rc == SH_OK && X509_check_ca(*ca) == 0) {
			set_err(err, errlen, "%s is not a CA certificate", m->ca_cert);
			rc = SH_E_IO;
		}
		ERR_clear_error();
		if (rc == SH_OK && lasts(*ca, now_s))
			return SH_OK;
		if (rc != SH_OK) {
			size_t used = err ? strlen(err) : 0;
			if (err && used < errlen)
				snprintf(err + used, errlen - used,
					 "; to start over with a new CA, delete %s (clients must then "
					 "trust the new ca.pem)", dir);
			X509_free(*ca);
			EVP_PKEY_free(*ca_key);
			*ca = NULL;
			*ca_key = NULL;
			return SH_E_IO;
		}
		/* Expiring or expired: a CA nobody can use any more is replaced. */
		X509_free(*ca);
		EVP_PKEY_free(*ca_key);
		*ca = NULL;
		*ca_key = NULL;
	} else if (rc != SH_E_NOTFOUND) {
		size_t used = err ? strlen(err) : 0;
		if (err && used < errlen)
			snprintf(err + used, errlen - used, "; to start over with a new CA, delete %s", dir);
		return SH_E_IO;
	}

	ERR_clear_error();
	*ca_key = new_p256_key();
	*ca = *ca_key ? make_cert(CA_CN, *ca_key, NULL, NULL, TLS_MATERIAL_CA_DAYS, now_s, NULL) : NULL;
	if (!*ca) {
		set_err(err, errlen, "%s: cannot create the CA: %s", m->ca_cert, ossl_reason(why, sizeof why));
		EVP_PKEY_free(*ca_key);
		*ca_key = NULL;
		return SH_E_IO;
	}
	/* Key first: a crash between the two renames leaves no ca.pem, so the next run starts over. */
	rc = write_pem(dir, "ca.key", 0600, NULL, *ca_key, err, errlen);
	if (rc == SH_OK)
		rc = write_pem(dir, "ca.pem", 0644, *ca, NULL, err, errlen);
	if (rc != SH_OK) {
		X509_free(*ca);
		EVP_PKEY_free(*ca_key);
		*ca = NULL;
		*ca_key = NULL;
		return SH_E_IO;
	}
	*created = true;
	return SH_OK;
}

/* The existing server pair is complete, matching, valid at now for 30 more days, and named right. */
static bool server_fit(const struct tls_material *m, X509 *ca, const struct san_set *want, int64_t now_s)
{
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	bool fit = load_pem(m->cert, false, &cert, NULL, NULL, 0) == SH_OK &&
		   load_pem(m->key, true, NULL, &key, NULL, 0) == SH_OK &&
		   X509_check_private_key(cert, key) == 1 && verifies(cert, ca, now_s) &&
		   lasts(cert, now_s);
	if (fit) {
		struct san_set have;
		cert_sans(cert, &have);
		fit = san_set_equal(&have, want);
	}
	X509_free(cert);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return fit;
}

/* First hostname as the CN when it fits the 64-byte limit of the attribute, else "localhost". */
static const char *server_cn(const char *const *hostnames, size_t n)
{
	if (n > 0 && strlen(hostnames[0]) <= 64)
		return hostnames[0];
	return "localhost";
}

sh_rc tls_material_ensure(const char *dir, const char *const *hostnames, size_t n, int64_t now_s,
			  struct tls_material *out, bool *renewed, char *err, size_t errlen)
{
	if (renewed)
		*renewed = false;
	if (err && errlen)
		err[0] = '\0';
	memset(out, 0, sizeof *out);
	ERR_clear_error();

	struct san_set want;
	sh_rc rc = wanted_sans(hostnames, n, &want, err, errlen);
	if (rc != SH_OK)
		return rc;
	if (!dir || !*dir) {
		set_err(err, errlen, "no folder given for the TLS material");
		return SH_E_INVALID;
	}
	if ((rc = make_dirs(dir, err, errlen)) != SH_OK)
		return rc;
	char abs[PATH_MAX];
	if ((rc = absolute(dir, abs, sizeof abs, err, errlen)) != SH_OK)
		return rc;
	if (!join(out->ca_cert, sizeof out->ca_cert, abs, "ca.pem") ||
	    !join(out->ca_key, sizeof out->ca_key, abs, "ca.key") ||
	    !join(out->cert, sizeof out->cert, abs, "server.pem") ||
	    !join(out->key, sizeof out->key, abs, "server.key")) {
		set_err(err, errlen, "%s: path too long", abs);
		return SH_E_INVALID;
	}

	int lock = lock_dir(abs, err, errlen);
	if (lock < 0)
		return SH_E_IO;
	X509 *ca = NULL, *cert = NULL;
	EVP_PKEY *ca_key = NULL, *key = NULL;
	bool ca_new = false;
	char why[256];
	rc = ensure_ca(abs, out, now_s, &ca, &ca_key, &ca_new, err, errlen);
	if (rc != SH_OK)
		goto cleanup;
	if (!ca_new && server_fit(out, ca, &want, now_s))
		goto cleanup;

	key = new_p256_key();
	cert = key ? make_cert(server_cn(hostnames, n), key, ca, ca_key, TLS_MATERIAL_CERT_DAYS, now_s,
			       &want) : NULL;
	if (!cert) {
		set_err(err, errlen, "%s: cannot issue the server certificate: %s", out->cert,
			ossl_reason(why, sizeof why));
		rc = SH_E_IO;
		goto cleanup;
	}
	rc = write_pem(abs, "server.key", 0600, NULL, key, err, errlen);
	if (rc == SH_OK)
		rc = write_pem(abs, "server.pem", 0644, cert, NULL, err, errlen);
	if (rc != SH_OK) {
		rc = SH_E_IO;
		goto cleanup;
	}
	if (renewed)
		*renewed = true;

cleanup:
	if (ca_new || cert)
		sync_dir(abs);
	X509_free(cert);
	EVP_PKEY_free(key);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	close(lock);  /* releases the lock */
	ERR_clear_error();
	if (rc != SH_OK)
		memset(out, 0, sizeof *out);
	return rc;
}

sh_rc tls_material_check_user(const char *cert, const char *key, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!cert || !*cert || !key || !*key) {
		set_err(err, errlen, "both --tls-cert and --tls-key are needed");
		return SH_E_IO;
	}
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	sh_rc rc = load_pem(cert, false, &x, NULL, err, errlen);
	if (rc == SH_OK)
		rc = load_pem(key, true, NULL, &k, err, errlen);
	if (rc == SH_OK && X509_check_private_key(x, k) != 1) {
		set_err(err, errlen, "%s: this key does not match the certificate in %s", key, cert);
		rc = SH_E_IO;
	}
	X509_free(x);
	EVP_PKEY_free(k);
	ERR_clear_error();
	return rc == SH_OK ? SH_OK : SH_E_IO;
}

sh_rc tls_material_sans(const char *cert_path, char (*names)[TLS_MATERIAL_NAME_MAX], size_t cap,
			size_t *n, char *err, size_t errlen)
{
	*n = 0;
	if (err && errlen)
		err[0] = '\0';
	X509 *x = NULL;
	if (load_pem(cert_path, false, &x, NULL, err, errlen) != SH_OK) {
		ERR_clear_error();
		return SH_E_IO;
	}
	sh_rc rc = SH_OK;
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char text[TLS_MATERIAL_NAME_MAX];
		if (g->type == GEN_DNS) {
			int len = ASN1_STRING_length(g->d.dNSName);
			if (len < 0 || (size_t)len >= sizeof text)
				continue;
			memcpy(text, ASN1_STRING_get0_data(g->d.dNSName), (size_t)len);
			text[len] = '\0';
		} else if (g->type == GEN_IPADD) {
			int len = ASN1_STRING_length(g->d.iPAddress);
			const unsigned char *b = ASN1_STRING_get0_data(g->d.iPAddress);
			if (!(len == 4 && inet_ntop(AF_INET, b, text, sizeof text)) &&
			    !(len == 16 && inet_ntop(AF_INET6, b, text, sizeof text)))
				continue;
		} else {
			continue;
		}
		if (*n == cap) {
			set_err(err, errlen, "%s: more than %zu names", cert_path, cap);
			rc = SH_E_NOSPACE;
			break;
		}
		memcpy(names[*n], text, strlen(text) + 1);
		(*n)++;
	}
	GENERAL_NAMES_free(gens);
	X509_free(x);
	ERR_clear_error();
	return rc;
}

bool tls_material_is_default_name(const char *name)
{
	return strcasecmp(name, "localhost") == 0 || strcmp(name, "127.0.0.1") == 0 ||
	       strcmp(name, "::1") == 0;
}

sh_rc tls_material_dir_for_db(const char *db, char *out, size_t cap, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	if (!db || !*db) {
		set_err(err, errlen, "no database path");
		return SH_E_INVALID;
	}
	int w;
	if (strcmp(db, ":memory:") == 0) {
		const char *xdg = getenv("XDG_STATE_HOME");
		const char *home = getenv("HOME");
		if (xdg && xdg[0] == '/')
			w = snprintf(out, cap, "%s/simhub/tls", xdg);
		else if (home && *home)
			w = snprintf(out, cap, "%s/.local/state/simhub/tls", home);
		else {
			set_err(err, errlen, "--db :memory: keeps its CA in $XDG_STATE_HOME/simhub/tls or "
				"~/.local/state/simhub/tls, but neither XDG_STATE_HOME nor HOME is set");
			return SH_E_INVALID;
		}
	} else {
		const char *slash = strrchr(db, '/');
		if (!slash)
			w = snprintf(out, cap, "./tls");
		else if (slash == db)
			w = snprintf(out, cap, "/tls");
		else
			w = snprintf(out, cap, "%.*s/tls", (int)(slash - db), db);
	}
	if (w < 0 || (size_t)w >= cap) {
		set_err(err, errlen, "TLS folder path too long");
		return SH_E_NOSPACE;
	}
	return SH_OK;
}

sh_rc tls_material_check_ca_pem(const char *pem, char *subject, size_t cap, char *err,
				size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	X509 *extra = cert ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	sh_rc rc = SH_E_INVALID;
	ERR_clear_error();
	if (!cert)
		snprintf(err, errlen, "not a PEM certificate");
	else if (extra)
		snprintf(err, errlen, "more than one certificate: give the CA certificate alone");
	else if (X509_check_ca(cert) < 1)
		snprintf(err, errlen, "not a CA certificate (basicConstraints CA:TRUE is missing)");
	else {
		if (subject && cap)
			X509_NAME_oneline(X509_get_subject_name(cert), subject, (int)cap);
		rc = SH_OK;
	}
	X509_free(extra);
	X509_free(cert);
	BIO_free(bio);
	return rc;
}
