/*
 * crl_check: the CA's own check of a freshly signed CRL (RFC 5280 5, S/MIME BR 7.2), the
 * counterpart of check.c for certificates. It re-decodes the DER and checks every field; a CRL
 * is published only when this passes. An issuing CA's CRL: nextUpdate at most 10 days, no
 * issuingDistributionPoint. A root's CRL of issuing CAs is an ARL: a critical
 * issuingDistributionPoint that says onlyContainsCACerts and nothing else, nextUpdate at most
 * 12 months, and only the reasons RFC 5280 gives for a CA. Every entry carries a reason code,
 * never unspecified. Owns nothing.
 */
#include "config.h"

#include <string.h>

#include <openssl/x509v3.h>

#include "ca/ca_int.h"

#define FAIL(...) do { ca_seterr(err, "CRL check: " __VA_ARGS__); goto out; } while (0)
#define ISSUING_MAX_NEXT (10LL * 86400)
#define ARL_MAX_NEXT (365LL * 86400)

static bool
entry_reason_ok(int reason, bool arl)
{
	switch (reason) {
	case CA_REASON_KEY_COMPROMISE: case CA_REASON_CA_COMPROMISE:
	case CA_REASON_AFFILIATION_CHANGED: case CA_REASON_SUPERSEDED:
	case CA_REASON_CESSATION:
		return true;
	case CA_REASON_CERTIFICATE_HOLD: case CA_REASON_PRIVILEGE_WITHDRAWN:
	case CA_REASON_AA_COMPROMISE:
		return !arl;
	default:
		return false; /* unspecified (0) and unknown codes */
	}
}

/* Each entry: a positive serial, a date not after thisUpdate, exactly one reasonCode. */
static int
check_entries(X509_CRL *crl, bool arl, struct ca_error *err)
{
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
	int i, r = CA_INVALID;

	for (i = 0; i < sk_X509_REVOKED_num(rev); i++) {
		X509_REVOKED *e = sk_X509_REVOKED_value(rev, i);
		const STACK_OF(X509_EXTENSION) *exts = X509_REVOKED_get0_extensions(e);
		ASN1_ENUMERATED *code;
		int crit = -1, idx = -1;
		long reason;

		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(e), NULL);
		bool positive = bn != NULL && !BN_is_negative(bn) && !BN_is_zero(bn);

		BN_free(bn);
		if (!positive)
			FAIL("entry %d has no positive serial number", i);
		if (ASN1_TIME_compare(X509_REVOKED_get0_revocationDate(e),
		    X509_CRL_get0_lastUpdate(crl)) > 0)
			FAIL("entry %d is revoked after thisUpdate", i);
		if (sk_X509_EXTENSION_num(exts) != 1)
			FAIL("entry %d must carry exactly one extension, its reasonCode", i);
		if ((code = X509_REVOKED_get_ext_d2i(e, NID_crl_reason, &crit, &idx)) == NULL)
			FAIL("entry %d has no reasonCode", i);
		reason = ASN1_ENUMERATED_get(code);
		ASN1_ENUMERATED_free(code);
		if (crit != 0)
			FAIL("entry %d has a critical reasonCode", i);
		if (!entry_reason_ok((int)reason, arl))
			FAIL("entry %d has reason code %ld, not one allowed %s", i, reason,
			    arl ? "for a CA certificate" : "(never unspecified)");
	}
	r = CA_OK;
out:
	return r;
}

/* An ARL's issuingDistributionPoint: onlyContainsCACerts, nothing else (RFC 5280 5.2.5). */
static bool
idp_is_arl(const ISSUING_DIST_POINT *idp)
{
	return idp->distpoint == NULL && !idp->onlyuser && idp->onlyCA &&
	    idp->onlysomereasons == NULL && !idp->indirectCRL && !idp->onlyattr;
}

static int
check_extensions(X509_CRL *crl, X509 *issuer, bool arl, struct ca_error *err)
{
	const STACK_OF(X509_EXTENSION) *exts = X509_CRL_get0_extensions(crl);
	unsigned char ski[20];
	unsigned seen = 0;
	int i, r = CA_INVALID;

	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
		int crit = X509_EXTENSION_get_critical(ext);

		if (X509_CRL_get_ext_by_OBJ(crl, X509_EXTENSION_get_object(ext), i) >= 0)
			FAIL("an extension appears twice");
		if (nid == NID_authority_key_identifier) {
			AUTHORITY_KEYID *aki = X509V3_EXT_d2i(ext);
			bool ok = aki != NULL && !crit && aki->keyid != NULL && aki->issuer == NULL &&
			    aki->serial == NULL && ca_ski(issuer, ski) == 0 &&
			    ASN1_STRING_length(aki->keyid) == 20 &&
			    memcmp(ASN1_STRING_get0_data(aki->keyid), ski, 20) == 0;

			AUTHORITY_KEYID_free(aki);
			if (!ok)
				FAIL("authorityKeyIdentifier must be the issuer's key identifier only");
			seen |= 1;
		} else if (nid == NID_crl_number) {
			ASN1_INTEGER *num = X509V3_EXT_d2i(ext);
			BIGNUM *bn = num != NULL ? ASN1_INTEGER_to_BN(num, NULL) : NULL;
			bool ok = bn != NULL && !crit && !BN_is_negative(bn) && BN_num_bits(bn) <= 159;

			BN_free(bn);
			ASN1_INTEGER_free(num);
			if (!ok)
				FAIL("cRLNumber must be non-critical and 0..2^159");
			seen |= 2;
		} else if (nid == NID_issuing_distribution_point) {
			ISSUING_DIST_POINT *idp = X509V3_EXT_d2i(ext);
			bool ok = idp != NULL && crit && idp_is_arl(idp);

			ISSUING_DIST_POINT_free(idp);
			if (!arl)
				FAIL("an issuing CA's CRL has no issuingDistributionPoint");
			if (!ok)
				FAIL("the ARL's issuingDistributionPoint must be critical and say "
				    "onlyContainsCACerts only");
			seen |= 4;
		} else {
			FAIL("extension %s is not in the CRL profile", OBJ_nid2sn(nid));
		}
	}
	if ((seen & 3) != 3)
		FAIL("authorityKeyIdentifier and cRLNumber are required");
	if (arl && !(seen & 4))
		FAIL("an ARL needs issuingDistributionPoint onlyContainsCACerts");
	r = CA_OK;
out:
	return r;
}

int
ca_crl_check(const unsigned char *der, size_t len, X509 *issuer, bool arl,
    struct ca_error *err)
{
	const unsigned char *p = der, *a, *b;
	const X509_ALGOR *alg = NULL;
	X509_CRL *crl = NULL;
	size_t alen, blen;
	int days, secs, r = CA_INVALID;

	if ((crl = d2i_X509_CRL(NULL, &p, (long)len)) == NULL || p != der + len)
		FAIL("the CRL does not re-decode");
	if (X509_CRL_get_version(crl) != X509_CRL_VERSION_2)
		FAIL("not a version 2 CRL");
	if (!X509_NAME_get0_der(X509_CRL_get_issuer(crl), &a, &alen) ||
	    !X509_NAME_get0_der(X509_get_subject_name(issuer), &b, &blen) || alen != blen ||
	    memcmp(a, b, alen) != 0)
		FAIL("issuer name is not byte-identical to the CA subject");
	X509_CRL_get0_signature(crl, NULL, &alg);
	if (!ca_sigalg_fits(alg, X509_get0_pubkey(issuer)))
		FAIL("signature algorithm does not match the issuer key");
	if (X509_CRL_get0_nextUpdate(crl) == NULL)
		FAIL("nextUpdate is required");
	if (!ASN1_TIME_diff(&days, &secs, X509_CRL_get0_lastUpdate(crl),
	    X509_CRL_get0_nextUpdate(crl)) || days < 0 || (days == 0 && secs <= 0) ||
	    (long long)days * 86400 + secs > (arl ? ARL_MAX_NEXT : ISSUING_MAX_NEXT))
		FAIL("nextUpdate must follow thisUpdate by at most %s", arl ? "12 months" :
		    "10 days");
	if (check_extensions(crl, issuer, arl, err) != CA_OK ||
	    check_entries(crl, arl, err) != CA_OK)
		goto out;
	if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1)
		FAIL("signature does not verify with the CA key");
	r = CA_OK;
out:
	X509_CRL_free(crl);
	return r;
}
