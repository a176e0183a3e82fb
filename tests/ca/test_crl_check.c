/*
 * test_crl_check: the CA's CRL check (ca/crl_check.c) against CRLs built here with OpenSSL, so
 * that each rule is seen to refuse: a good ARL and a good issuing CA's CRL pass; an entry
 * without a reason code, with unspecified or (in an ARL) certificateHold, an ARL without its
 * issuingDistributionPoint or with one that is not critical, an issuing CA's CRL that has one,
 * nextUpdate too far, no nextUpdate, a foreign authorityKeyIdentifier, an unknown extension,
 * a version 1 CRL and a signature by another key are refused.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "ca/ca_int.h"
#include "tests/tap.h"

#define DAY 86400L

/* How one CRL of the test differs from a good one. */
struct variant {
	bool arl;               /* the CA's root CRL (else an issuing CA's) */
	int reason;             /* the entry's reason code; -1: none; -2: no entry */
	int idp;                /* 0 none, 1 critical onlyCA, 2 not critical onlyCA */
	long next_days;         /* 0: no nextUpdate */
	bool foreign_aki, extra_ext, v1, other_key;
};

static EVP_PKEY *ca_key, *other_key;
static X509 *ca_cert;

static X509 *
self_signed(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"crl test root",
	    -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 30 * DAY);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	X509_sign(x, key, EVP_sha256());
	X509_NAME_free(n);
	return x;
}

static void
add_conf_ext(X509_CRL *crl, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	X509_CRL_add_ext(crl, ext, -1);
	X509_EXTENSION_free(ext);
}

static int
check(const struct variant *v)
{
	struct ca_error err = { "" };
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	X509 *foreign = NULL;
	unsigned char *der = NULL;
	time_t now = time(NULL);
	int len, r;

	X509_CRL_set_version(crl, v->v1 ? X509_CRL_VERSION_1 : X509_CRL_VERSION_2);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca_cert));
	ASN1_TIME_set(t, now);
	X509_CRL_set1_lastUpdate(crl, t);
	if (v->next_days > 0) {
		ASN1_TIME_set(t, now + v->next_days * DAY);
		X509_CRL_set1_nextUpdate(crl, t);
	}
	if (!v->v1) {
		ASN1_INTEGER_set(num, 3);
		X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);
		foreign = v->foreign_aki ? self_signed(other_key) : NULL;
		add_conf_ext(crl, foreign != NULL ? foreign : ca_cert, NID_authority_key_identifier,
		    "keyid:always");
		if (v->idp > 0)
			add_conf_ext(crl, ca_cert, NID_issuing_distribution_point, v->idp == 1 ?
			    "critical,onlyCA:TRUE" : "onlyCA:TRUE");
		if (v->extra_ext)
			X509_CRL_add1_ext_i2d(crl, NID_delta_crl, num, 1, 0);
	}
	if (v->reason != -2) {
		X509_REVOKED *e = X509_REVOKED_new();
		ASN1_INTEGER *sn = ASN1_INTEGER_new();
		ASN1_ENUMERATED *code = ASN1_ENUMERATED_new();

		ASN1_INTEGER_set(sn, 0x1234);
		X509_REVOKED_set_serialNumber(e, sn);
		ASN1_TIME_set(t, now - 60);
		X509_REVOKED_set_revocationDate(e, t);
		if (v->reason >= 0) {
			ASN1_ENUMERATED_set(code, v->reason);
			X509_REVOKED_add1_ext_i2d(e, NID_crl_reason, code, 0, 0);
		}
		X509_CRL_add0_revoked(crl, e);
		ASN1_INTEGER_free(sn);
		ASN1_ENUMERATED_free(code);
	}
	X509_CRL_sort(crl);
	X509_CRL_sign(crl, v->other_key ? other_key : ca_key, EVP_sha256());
	len = i2d_X509_CRL(crl, &der);
	r = len > 0 ? ca_crl_check(der, (size_t)len, ca_cert, v->arl, &err) : CA_ERR;
	if (r != CA_OK)
		tap_diag("%s", err.text);
	OPENSSL_free(der);
	X509_free(foreign);
	X509_CRL_free(crl);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(num);
	return r;
}

#define KC CA_REASON_KEY_COMPROMISE
#define SU CA_REASON_SUPERSEDED
#define HOLD CA_REASON_CERTIFICATE_HOLD

/* Each case: a good ARL (KC, idp 1, 364 days) or issuing CA's CRL (SU, 7 days), one change. */
static const struct {
	struct variant v;
	int want;
	const char *what;
} cases[] = {
	{ { .arl = true, .reason = KC, .idp = 1, .next_days = 364 }, CA_OK,
	  "an ARL (critical IDP onlyContainsCACerts, 364 days) passes" },
	{ { .reason = SU, .next_days = 7 }, CA_OK,
	  "an issuing CA's CRL (7 days, no IDP) passes" },
	{ { .reason = -2, .next_days = 7 }, CA_OK,
	  "an empty issuing CA's CRL passes" },
	{ { .reason = HOLD, .next_days = 7 }, CA_OK,
	  "certificateHold passes in an issuing CA's CRL" },
	{ { .arl = true, .reason = -1, .idp = 1, .next_days = 364 }, CA_INVALID,
	  "an entry without a reason code is refused" },
	{ { .reason = 0, .next_days = 7 }, CA_INVALID,
	  "reason code unspecified is refused" },
	{ { .arl = true, .reason = HOLD, .idp = 1, .next_days = 364 }, CA_INVALID,
	  "certificateHold in an ARL is refused" },
	{ { .arl = true, .reason = KC, .idp = 0, .next_days = 364 }, CA_INVALID,
	  "an ARL without issuingDistributionPoint is refused" },
	{ { .arl = true, .reason = KC, .idp = 2, .next_days = 364 }, CA_INVALID,
	  "an ARL whose issuingDistributionPoint is not critical is refused" },
	{ { .reason = SU, .idp = 1, .next_days = 7 }, CA_INVALID,
	  "an issuing CA's CRL with issuingDistributionPoint is refused" },
	{ { .reason = SU, .next_days = 11 }, CA_INVALID,
	  "an issuing CA's CRL with nextUpdate 11 days on is refused" },
	{ { .arl = true, .reason = KC, .idp = 1, .next_days = 366 }, CA_INVALID,
	  "an ARL with nextUpdate 366 days on is refused" },
	{ { .reason = SU, .next_days = 0 }, CA_INVALID,
	  "a CRL without nextUpdate is refused" },
	{ { .reason = SU, .next_days = 7, .foreign_aki = true }, CA_INVALID,
	  "another key's authorityKeyIdentifier is refused" },
	{ { .reason = SU, .next_days = 7, .extra_ext = true }, CA_INVALID,
	  "an extension outside the profile (deltaCRLIndicator) is refused" },
	{ { .reason = SU, .next_days = 7, .v1 = true }, CA_INVALID,
	  "a version 1 CRL is refused" },
	{ { .arl = true, .reason = KC, .idp = 1, .next_days = 364, .other_key = true }, CA_INVALID,
	  "a signature by another key is refused" },
};

int
main(void)
{
	ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	other_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (ca_key == NULL || other_key == NULL || (ca_cert = self_signed(ca_key)) == NULL) {
		tap_skip_all("cannot make a test CA");
		return 0;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		tap_ok(check(&cases[i].v) == cases[i].want, "%s", cases[i].what);
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_key);
	return tap_done();
}
