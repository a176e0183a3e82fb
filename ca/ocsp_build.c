/*
 * ocsp_build: the delegated OCSP responder certificate of an issuing CA (RFC 6960 4.2.2.2,
 * S/MIME BR 4.9.9): subject C and O of the issuing CA with its own CN, keyUsage
 * digitalSignature, extKeyUsage id-kp-OCSPSigning alone, id-pkix-ocsp-nocheck (clients do not
 * ask about the responder itself), key identifiers; no CRL or AIA pointers, not a CA. Signed
 * by the issuing CA. Owns nothing; ocsp_check.c checks what this makes.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "ca/ca_int.h"

/* C and O copied from the issuing CA, so the responder reads as part of the same CA. */
static X509_NAME *
responder_subject(const struct ca_issuer *iss)
{
	X509_NAME *in = X509_get_subject_name(iss->cert), *n = X509_NAME_new();
	char cn[65];
	int i, nid;

	if (n == NULL)
		return NULL;
	for (i = 0; i < X509_NAME_entry_count(in); i++) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(in, i);

		nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		if ((nid == NID_countryName || nid == NID_organizationName) &&
		    !X509_NAME_add_entry(n, e, -1, 0))
			goto fail;
	}
	snprintf(cn, sizeof(cn), "OCSP Responder %.16s", iss->id);
	if (!X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0))
		goto fail;
	return n;
fail:
	X509_NAME_free(n);
	return NULL;
}

int
ca_ocsp_cert_build(struct ca *ca, const struct ca_issuer *iss, EVP_PKEY *pub, time_t now,
    long long validity, X509 **out, struct ca_error *err)
{
	X509 *x = X509_new();
	X509_NAME *subj = responder_subject(iss);
	ASN1_INTEGER *serial = NULL;
	int r = CA_ERR;

	(void)ca;
	*out = NULL;
	if (x == NULL || subj == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    ca_rand_serial(&serial) < 0 || !X509_set_serialNumber(x, serial) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(iss->cert)) ||
	    !X509_set_subject_name(x, subj) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), now) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), now + (time_t)validity) == NULL ||
	    !X509_set_pubkey(x, pub)) {
		ca_seterr_ssl(err, "cannot build the OCSP responder certificate");
		goto out;
	}
	/* never beyond the issuing CA */
	if (ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(iss->cert)) > 0 &&
	    !X509_set1_notAfter(x, X509_get0_notAfter(iss->cert)))
		goto out;
	if (ca_add_ext_conf(x, iss->cert, NID_key_usage, "critical,digitalSignature",
	    err) != CA_OK ||
	    ca_add_ext_conf(x, iss->cert, NID_ext_key_usage, "OCSPSigning", err) != CA_OK ||
	    ca_add_ext_conf(x, iss->cert, NID_id_pkix_OCSP_noCheck, "ignored", err) != CA_OK ||
	    ca_add_ext_conf(x, iss->cert, NID_authority_key_identifier, "keyid:always",
	    err) != CA_OK ||
	    ca_add_ext_conf(x, iss->cert, NID_subject_key_identifier, "hash", err) != CA_OK ||
	    ca_sign_cert(x, iss->key, false, err) != CA_OK)
		goto out;
	*out = x; /* transferred */
	x = NULL;
	r = CA_OK;
out:
	X509_free(x);
	X509_NAME_free(subj);
	ASN1_INTEGER_free(serial);
	return r;
}
