/*
 * ocsp_check: the pre-issuance checks of OCSP. A responder certificate is re-decoded and read
 * against the profile ocsp_build.c means to make; a response is re-decoded and read against
 * RFC 6960 / RFC 5019 and S/MIME BR 4.9.9-4.9.10: signed by a checked responder certificate of
 * the issuing CA its CertIDs name, byKey responder id, validity interval 8 hours .. 10 days,
 * nonce 1..32 octets (RFC 8954). Reads bytes only, never the builder's inputs.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "ca/ca_int.h"

#define FAIL(...) do { ca_seterr(err, "OCSP check: " __VA_ARGS__); goto out; } while (0)
#define SKEW 300

static int
responder_subject_ok(X509 *x)
{
	X509_NAME *n = X509_get_subject_name(x);
	int i, nid, cn = 0;

	for (i = 0; i < X509_NAME_entry_count(n); i++) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);

		nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		if (nid == NID_commonName) {
			cn++;
			if (ASN1_STRING_length(X509_NAME_ENTRY_get_data(e)) > 64)
				return 0;
		} else if (nid != NID_countryName && nid != NID_organizationName)
			return 0;
	}
	return cn == 1;
}

/* keyUsage digitalSignature only, EKU OCSPSigning only, nocheck, AKI, SKI; nothing else. */
static int
responder_exts(X509 *x, X509 *issuer, struct ca_error *err)
{
	const STACK_OF(X509_EXTENSION) *exts = X509_get0_extensions(x);
	unsigned seen = 0;
	unsigned char ski[20], md[20];
	unsigned mdlen = 0;
	int i, r = CA_INVALID;

	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
		int crit = X509_EXTENSION_get_critical(ext);

		if (X509_get_ext_by_OBJ(x, X509_EXTENSION_get_object(ext), i) >= 0)
			FAIL("an extension appears twice in the responder certificate");
		switch (nid) {
		case NID_key_usage:
			if (!crit || X509_get_key_usage(x) != KU_DIGITAL_SIGNATURE)
				FAIL("responder keyUsage must be critical digitalSignature only");
			seen |= 1;
			break;
		case NID_ext_key_usage: {
			EXTENDED_KEY_USAGE *eku = X509V3_EXT_d2i(ext);
			int ok = eku != NULL && !crit && sk_ASN1_OBJECT_num(eku) == 1 &&
			    OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)) == NID_OCSP_sign;

			sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
			if (!ok)
				FAIL("responder extKeyUsage must be id-kp-OCSPSigning alone");
			seen |= 2;
			break;
		}
		case NID_id_pkix_OCSP_noCheck:
			if (crit)
				FAIL("id-pkix-ocsp-nocheck must not be critical");
			seen |= 4;
			break;
		case NID_authority_key_identifier: {
			AUTHORITY_KEYID *aki = X509V3_EXT_d2i(ext);
			int ok = aki != NULL && !crit && aki->keyid != NULL && aki->issuer == NULL &&
			    aki->serial == NULL && ca_ski(issuer, ski) == 0 &&
			    ASN1_STRING_length(aki->keyid) == 20 &&
			    memcmp(ASN1_STRING_get0_data(aki->keyid), ski, 20) == 0;

			AUTHORITY_KEYID_free(aki);
			if (!ok)
				FAIL("responder authorityKeyIdentifier is not the issuing CA's");
			seen |= 8;
			break;
		}
		case NID_subject_key_identifier:
			if (crit || ca_ski(x, ski) < 0 || !X509_pubkey_digest(x, EVP_sha1(), md,
			    &mdlen) || mdlen != 20 || memcmp(md, ski, 20) != 0)
				FAIL("responder subjectKeyIdentifier must be the key's SHA-1");
			seen |= 16;
			break;
		default:
			FAIL("extension %s is not in the responder profile", OBJ_nid2sn(nid));
		}
	}
	if (seen != 31)
		FAIL("a required responder extension is missing");
	r = CA_OK;
out:
	return r;
}

int
ca_ocsp_responder_check(struct ca *ca, X509 *issuer, const unsigned char *der, size_t len,
    struct ca_error *err)
{
	const unsigned char *p = der, *a, *b;
	const X509_ALGOR *outer = NULL;
	size_t alen, blen;
	BIGNUM *bn = NULL;
	X509 *x = NULL;
	time_t nb, na;
	int r = CA_INVALID;

	(void)ca;
	if (len > 16384 || (x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len)
		FAIL("responder certificate does not re-decode");
	if (X509_get_version(x) != X509_VERSION_3)
		FAIL("responder certificate is not v3");
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) == NULL ||
	    BN_is_negative(bn) || BN_num_bits(bn) < 64 || BN_num_bits(bn) > 159)
		FAIL("responder serial number must be positive, 64..159 bits");
	X509_get0_signature(NULL, &outer, x);
	if (!ca_sigalg_fits(outer, X509_get0_pubkey(issuer)) ||
	    X509_ALGOR_cmp(outer, X509_get0_tbs_sigalg(x)) != 0)
		FAIL("responder signature algorithm does not match the issuing CA key");
	if (!ca_spki_ok(x))
		FAIL("responder subjectPublicKeyInfo encoding is not allowed");
	if (!X509_NAME_get0_der(X509_get_issuer_name(x), &a, &alen) ||
	    !X509_NAME_get0_der(X509_get_subject_name(issuer), &b, &blen) || alen != blen ||
	    memcmp(a, b, alen) != 0)
		FAIL("responder issuer name is not byte-identical to the CA subject");
	if (!responder_subject_ok(x))
		FAIL("responder subject must be C, O and one CN");
	nb = ca_time_of(X509_get0_notBefore(x));
	na = ca_time_of(X509_get0_notAfter(x));
	if (nb == (time_t)-1 || na <= nb || na - nb > CA_OCSP_RESPONDER_MAX ||
	    ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(issuer)) > 0)
		FAIL("responder validity must be positive, at most 90 days, within the CA's");
	if (responder_exts(x, issuer, err) != CA_OK)
		goto out;
	if (X509_verify(x, X509_get0_pubkey(issuer)) != 1)
		FAIL("responder signature does not verify with the issuing CA key");
	r = CA_OK;
out:
	BN_free(bn);
	X509_free(x);
	return r;
}

/* The issuing CA whose key identifier the responder's AKI names. */
static int
issuer_of(struct ca *ca, X509 *responder, struct ca_issuer **iss, struct ca_error *err)
{
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(responder);
	char id[41];

	if (aki == NULL || ASN1_STRING_length(aki) != 20)
		return CA_INVALID;
	ca_hex(ASN1_STRING_get0_data(aki), 20, id);
	return ca_issuer_get(ca, id, false, iss, err) == CA_OK ? CA_OK : CA_INVALID;
}

static int
single_ok(OCSP_SINGLERESP *s, X509 *issuer, time_t now, struct ca_error *err)
{
	ASN1_GENERALIZEDTIME *rev = NULL, *thisu = NULL, *nextu = NULL;
	const OCSP_CERTID *cid = OCSP_SINGLERESP_get0_id(s);
	OCSP_CERTID *mine = NULL;
	ASN1_OBJECT *md = NULL;
	int reason = -1, status, nid, r = CA_INVALID;
	time_t t0, t1;

	status = OCSP_single_get0_status(s, &reason, &rev, &thisu, &nextu);
	if (OCSP_id_get0_info(NULL, &md, NULL, NULL, (OCSP_CERTID *)cid) != 1)
		FAIL("a CertID does not decode");
	nid = OBJ_obj2nid(md);
	if (nid != NID_sha1 && nid != NID_sha256)
		FAIL("CertID hash is neither SHA-1 nor SHA-256");
	if ((mine = OCSP_cert_to_id(EVP_get_digestbynid(nid), NULL, issuer)) == NULL ||
	    OCSP_id_issuer_cmp(mine, cid) != 0)
		FAIL("a CertID names another issuer than the responder's");
	if (status != V_OCSP_CERTSTATUS_GOOD && status != V_OCSP_CERTSTATUS_REVOKED &&
	    status != V_OCSP_CERTSTATUS_UNKNOWN)
		FAIL("a certStatus is not good, revoked or unknown");
	if (status == V_OCSP_CERTSTATUS_REVOKED && (rev == NULL || ca_time_of(rev) == (time_t)-1 ||
	    ca_time_of(rev) > now + SKEW || reason == OCSP_REVOKED_STATUS_UNSPECIFIED))
		FAIL("a revoked status lacks a past revocationTime or has reason unspecified");
	t0 = ca_time_of(thisu);
	t1 = ca_time_of(nextu);
	if (t0 == (time_t)-1 || t1 == (time_t)-1 || t0 > now + SKEW)
		FAIL("thisUpdate and nextUpdate are required, thisUpdate not in the future");
	if (t1 - t0 < CA_OCSP_VALIDITY_MIN || t1 - t0 > CA_OCSP_VALIDITY_MAX)
		FAIL("validity interval must be 8 hours .. 10 days (S/MIME BR 4.9.10)");
	if (OCSP_SINGLERESP_get_ext_count(s) > 0)
		FAIL("singleExtensions are not in the profile");
	r = CA_OK;
out:
	OCSP_CERTID_free(mine);
	return r;
}

/* Response extensions: a nonce of 1..32 octets (RFC 8954), nothing else. */
static int
resp_exts_ok(OCSP_BASICRESP *bs, struct ca_error *err)
{
	int i, r = CA_INVALID;

	for (i = 0; i < OCSP_BASICRESP_get_ext_count(bs); i++) {
		X509_EXTENSION *e = OCSP_BASICRESP_get_ext(bs, i);
		const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(e);
		const unsigned char *p = ASN1_STRING_get0_data(v);
		ASN1_OCTET_STRING *inner = NULL;
		int ok;

		if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) != NID_id_pkix_OCSP_Nonce ||
		    X509_EXTENSION_get_critical(e) || i > 0)
			FAIL("responseExtensions may hold one non-critical nonce only");
		inner = d2i_ASN1_OCTET_STRING(NULL, &p, ASN1_STRING_length(v));
		ok = inner != NULL && p == ASN1_STRING_get0_data(v) + ASN1_STRING_length(v) &&
		    ASN1_STRING_length(inner) >= 1 && ASN1_STRING_length(inner) <= 32;
		ASN1_OCTET_STRING_free(inner);
		if (!ok)
			FAIL("nonce must be an OCTET STRING of 1..32 octets (RFC 8954)");
	}
	r = CA_OK;
out:
	return r;
}

int
ca_ocsp_response_check(struct ca *ca, const unsigned char *der, size_t len,
    struct ca_error *err)
{
	return ca_ocsp_response_check_signed(ca, der, len, NULL, err);
}

int
ca_ocsp_response_check_signed(struct ca *ca, const unsigned char *der, size_t len,
    X509 *checked, struct ca_error *err)
{
	const unsigned char *p = der;
	const STACK_OF(X509) *certs;
	const ASN1_OCTET_STRING *rid = NULL;
	const X509_NAME *rname = NULL;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	struct ca_issuer *iss = NULL;
	unsigned char *rder = NULL, md[20];
	unsigned mdlen = 0;
	X509_STORE *st = NULL;
	X509 *responder;
	time_t now = ca_now(ca), produced;
	int i, n, rlen, r = CA_INVALID;

	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL || p != der + len)
		FAIL("response does not re-decode");
	if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		r = CA_OK; /* an error status carries nothing to check */
		goto out;
	}
	if ((bs = OCSP_response_get1_basic(resp)) == NULL)
		FAIL("a successful response must be a BasicOCSPResponse");
	certs = OCSP_resp_get0_certs(bs);
	if (sk_X509_num(certs) != 1)
		FAIL("the response must carry the responder certificate alone");
	responder = sk_X509_value(certs, 0);
	if (issuer_of(ca, responder, &iss, err) != CA_OK)
		FAIL("the responder certificate is not from an issuing CA of the store");
	/* the profile check of the responder certificate, unless it is the one that passed */
	if (checked == NULL || X509_cmp(checked, responder) != 0) {
		if ((rlen = i2d_X509(responder, &rder)) <= 0 ||
		    ca_ocsp_responder_check(ca, iss->cert, rder, (size_t)rlen, err) != CA_OK)
			goto out;
	}
	if (ca_time_of(X509_get0_notBefore(responder)) > now + SKEW ||
	    ca_time_of(X509_get0_notAfter(responder)) < now)
		FAIL("the responder certificate is not valid now");
	if (OCSP_resp_get0_id(bs, &rid, &rname) != 1 || rid == NULL ||
	    !X509_pubkey_digest(responder, EVP_sha1(), md, &mdlen) || mdlen != 20 ||
	    ASN1_STRING_length(rid) != 20 || memcmp(ASN1_STRING_get0_data(rid), md, 20) != 0)
		FAIL("responderID must be byKey of the responder certificate (RFC 5019 2.2.3)");
	if (!ca_sigalg_fits(OCSP_resp_get0_tbs_sigalg(bs), X509_get0_pubkey(responder)))
		FAIL("the signature algorithm does not suit the responder key");
	if ((st = X509_STORE_new()) == NULL ||
	    OCSP_basic_verify(bs, NULL, st, OCSP_NOVERIFY) != 1)
		FAIL("the response signature does not verify with the responder key");
	/* producedAt is the signing host's real clock */
	produced = ca_time_of(OCSP_resp_get0_produced_at(bs));
	if (produced == (time_t)-1 || produced > time(NULL) + SKEW)
		FAIL("producedAt is missing or in the future");
	n = OCSP_resp_count(bs);
	if (n < 1 || n > CA_OCSP_CERTIDS_MAX)
		FAIL("the response must answer 1..%d CertIDs", CA_OCSP_CERTIDS_MAX);
	for (i = 0; i < n; i++)
		if (single_ok(OCSP_resp_get0(bs, i), iss->cert, now, err) != CA_OK)
			goto out;
	if (resp_exts_ok(bs, err) != CA_OK)
		goto out;
	r = CA_OK;
out:
	X509_STORE_free(st);
	OPENSSL_free(rder);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	return r;
}
