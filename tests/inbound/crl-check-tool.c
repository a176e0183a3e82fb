/*
 * crl-check-tool: the remembered CRL signature check (milter/inbound/crl_check.c) through the
 * real CRL cache and a chain_crl store, against CRLs it signs itself and serves through the
 * test's crl-server on loopback. The cache's clock is the tool's, so moving it past a CRL's
 * nextUpdate makes the cache fetch the next one the tool wrote:
 *   crl-check-tool WWWDIR URL ROOT.pem INT.pem INT.key GOOD-LEAF.pem REVOKED-LEAF.pem
 * The leaves' distribution point is URL, which crl-server serves from WWWDIR/int.crl.
 * Prints TAP lines; the shell test (crlcheck.sh) counts them.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "milter/inbound/chain_crl.h"
#include "milter/inbound/crl_fetch.h"

static time_t clock_now;
static int n, failed;

static time_t
test_clock(void)
{
	return clock_now;
}

static void
ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++n, what);
	failed += !cond;
}

static void *
read_pem(const char *path, bool key)
{
	FILE *fp = fopen(path, "r");
	void *v;

	if (fp == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		exit(1);
	}
	v = key ? (void *)PEM_read_PrivateKey(fp, NULL, NULL, NULL) :
	    (void *)PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (v == NULL) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	return v;
}

/* int.crl in dir: issued by issuer's name, signed by key, `extra` filler entries + revoked. */
static void
write_crl(const char *dir, X509 *issuer, EVP_PKEY *key, time_t last, time_t next,
    const ASN1_INTEGER *revoked, long extra)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	char path[4096];
	FILE *fp;

	X509_CRL_set_version(crl, X509_CRL_VERSION_2);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
	ASN1_TIME_set(t, last);
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_TIME_set(t, next);
	X509_CRL_set1_nextUpdate(crl, t);
	for (long i = 0; i <= extra; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = i == extra ? ASN1_INTEGER_dup(revoked) : ASN1_INTEGER_new();

		if (i < extra)
			ASN1_INTEGER_set_int64(s, 0x7000000 + i);
		ASN1_TIME_set(t, last);
		X509_REVOKED_set_serialNumber(r, s);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(s);
	}
	X509_CRL_sort(crl);
	if (X509_CRL_sign(crl, key, EVP_sha256()) <= 0) {
		fprintf(stderr, "cannot sign the CRL\n");
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/int.crl", dir);
	if ((fp = fopen(path, "wb")) == NULL || i2d_X509_CRL_fp(fp, crl) != 1) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
	fclose(fp);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
}

/* The CA certificates carry no distribution point: their CRL is not this test's subject. */
static int
verify_cb(int okv, X509_STORE_CTX *ctx)
{
	if (!okv && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL &&
	    X509_STORE_CTX_get_error_depth(ctx) > 0)
		return 1;
	return okv;
}

/* X509_V_OK or the first error verifying leaf at the tool's clock. */
static int
verify(struct crl_cache *c, X509 *root, X509 *inter, X509 *leaf)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	struct chain_crl cc;
	int e = -1;

	sk_X509_push(untrusted, inter);
	X509_STORE_add_cert(store, root);
	X509_STORE_set_verify_cb(store, verify_cb);
	if (chain_crl_attach(store, &cc, c, NULL, true, NULL) == 0 &&
	    X509_STORE_CTX_init(ctx, store, leaf, untrusted) == 1) {
		X509_STORE_CTX_set_time(ctx, 0, clock_now);
		e = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
	}
	ERR_clear_error();
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return e;
}

int
main(int argc, char **argv)
{
	struct crl_cache_params p = { NULL, 5000, 16 * 1024 * 1024, 5000, 1, test_clock };
	struct crl_cache *c;
	X509 *root, *inter, *good, *bad;
	EVP_PKEY *ikey, *stray;
	X509_CRL *crl = NULL;
	const ASN1_INTEGER *rs;
	char why[160];
	time_t t0 = time(NULL);
	int e;

	if (argc != 8) {
		fprintf(stderr, "usage: crl-check-tool WWWDIR URL ROOT INT INT-KEY GOOD REVOKED\n");
		return 2;
	}
	root = read_pem(argv[3], false);
	inter = read_pem(argv[4], false);
	ikey = read_pem(argv[5], true);
	good = read_pem(argv[6], false);
	bad = read_pem(argv[7], false);
	stray = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	rs = X509_get0_serialNumber(bad);
	clock_now = t0;
	p.now = test_clock;
	if (stray == NULL || (c = crl_cache_new(&p, why, sizeof(why))) == NULL) {
		fprintf(stderr, "setup: %s\n", why);
		return 1;
	}

	/* 1: a good, small CRL; checked once, then remembered */
	write_crl(argv[1], inter, ikey, t0 - 60, t0 + 7200, rs, 10);
	ok(verify(c, root, inter, good) == X509_V_OK, "good CRL: unrevoked leaf verifies");
	ok(verify(c, root, inter, good) == X509_V_OK, "good CRL again (remembered check)");
	ok(verify(c, root, inter, bad) == X509_V_ERR_CERT_REVOKED, "good CRL: revoked leaf refused");
	ok(crl_cache_get(c, argv[2], &crl, why, sizeof(why)) == CRL_READY, "CRL cached");
	ok(crl != NULL && crl_cache_signature_ok(c, crl, ikey), "its signature checks with the issuer key");
	ok(crl != NULL && !crl_cache_signature_ok(c, crl, stray),
	    "the same CRL object with another key does not reuse the good outcome");
	ok(crl != NULL && crl_cache_signature_ok(c, crl, ikey), "and with the issuer key again it does");
	X509_CRL_free(crl);
	crl = NULL;

	/* 2: the next fetch brings a CRL with a bad signature: refused, not the good one's outcome */
	write_crl(argv[1], inter, stray, t0 + 7000, t0 + 14400, rs, 10);
	clock_now = t0 + 7300;
	e = verify(c, root, inter, good);
	ok(e == X509_V_ERR_CRL_SIGNATURE_FAILURE, "newer CRL with a bad signature refused");
	if (e != X509_V_ERR_CRL_SIGNATURE_FAILURE)
		printf("# got %d (%s)\n", e, X509_verify_cert_error_string(e));
	ok(verify(c, root, inter, good) == X509_V_ERR_CRL_SIGNATURE_FAILURE,
	    "and refused again (remembered bad outcome)");

	/* 3: then a good 60,000-entry CRL: checked anew, the revoked serial found */
	write_crl(argv[1], inter, ikey, t0 + 14000, t0 + 21600, rs, 60000);
	clock_now = t0 + 14500;
	ok(verify(c, root, inter, good) == X509_V_OK, "newer good 60000-entry CRL checked anew: leaf verifies");
	ok(verify(c, root, inter, bad) == X509_V_ERR_CERT_REVOKED,
	    "revoked serial found in the 60000-entry CRL");
	ok(verify(c, root, inter, bad) == X509_V_ERR_CERT_REVOKED, "and again (remembered check)");

	/* 4: past its nextUpdate with nothing newer: expired, as OpenSSL says */
	clock_now = t0 + 21700;
	e = verify(c, root, inter, good);
	ok(e == X509_V_ERR_CRL_HAS_EXPIRED, "CRL past nextUpdate: expired");
	if (e != X509_V_ERR_CRL_HAS_EXPIRED)
		printf("# got %d (%s)\n", e, X509_verify_cert_error_string(e));

	crl_cache_free(c);
	EVP_PKEY_free(stray);
	EVP_PKEY_free(ikey);
	X509_free(root);
	X509_free(inter);
	X509_free(good);
	X509_free(bad);
	printf("1..%d\n", n);
	return failed == 0 ? 0 : 1;
}
