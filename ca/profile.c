/*
 * profile: builds and signs subscriber certificates per S/MIME BR 7.1 (mailbox-, sponsor- and
 * organization-validated; Strict or Multipurpose), plus the helpers the CA certificates share
 * (serial numbers, extensions from a value text, signature digests, URLs). Owns nothing.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "ca/ca_int.h"
#include "common/org_id.h"

#define OID_SMTPUTF8MAILBOX "1.3.6.1.5.5.7.8.9"
#define OID_UPN "1.3.6.1.4.1.311.20.2.3"

/* Reserved policy OIDs (BR 7.1.6.1), by [profile][generation]. */
static const char *const policy_oid[3][2] = {
	{ "2.23.140.1.5.1.3", "2.23.140.1.5.1.2" },
	{ "2.23.140.1.5.3.3", "2.23.140.1.5.3.2" },
	{ "2.23.140.1.5.2.3", "2.23.140.1.5.2.2" },
};

const char *
ca_policy_oid(enum ca_profile p, enum ca_generation g)
{
	return (unsigned)p < 3 && (unsigned)g < 2 ? policy_oid[p][g] : NULL;
}

/* Positive, non-zero first octet, top bit clear: 121..127 CSPRNG bits, far below 2^159. */
int
ca_rand_serial(ASN1_INTEGER **out)
{
	unsigned char b[CA_SERIAL_BYTES];
	BIGNUM *bn = NULL;
	int r = -1;

	do {
		if (RAND_bytes(b, sizeof(b)) != 1)
			return -1;
		b[0] &= 0x7f;
	} while (b[0] == 0);
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) != NULL && (*out = BN_to_ASN1_INTEGER(bn,
	    NULL)) != NULL)
		r = 0;
	BN_free(bn);
	return r;
}

const EVP_MD *
ca_sig_md(EVP_PKEY *signer)
{
	int bits = EVP_PKEY_get_bits(signer);

	if (EVP_PKEY_is_a(signer, "EC"))
		return bits > 256 ? EVP_sha384() : EVP_sha256();
	return EVP_sha256();
}

int
ca_sign_cert(X509 *x, EVP_PKEY *key, bool pss, struct ca_error *err)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int r = CA_ERR;

	if (mctx == NULL || EVP_DigestSignInit(mctx, &pctx, ca_sig_md(key), NULL, key) != 1)
		goto fail;
	if (pss && EVP_PKEY_is_a(key, "RSA") &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0))
		goto fail;
	if (X509_sign_ctx(x, mctx) <= 0)
		goto fail;
	r = CA_OK;
	goto out;
fail:
	ca_seterr_ssl(err, "cannot sign the certificate");
out:
	EVP_MD_CTX_free(mctx);
	return r;
}

int
ca_ski(X509 *x, unsigned char out[20])
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);

	if (ski == NULL || ASN1_STRING_length(ski) != 20)
		return -1;
	memcpy(out, ASN1_STRING_get0_data(ski), 20);
	return 0;
}

int
ca_base_url_check(struct ca *ca, struct ca_error *err)
{
	const char *u = ca->base_url;

	if (u == NULL || strncmp(u, "http://", 7) != 0 || strlen(u) > 200 ||
	    strpbrk(u, " \t\r\n,\"'\\<>") != NULL) {
		ca_seterr(err, "ca_base_url must be an http:// URL (BR 7.1.2.3: CRL and AIA use "
		    "HTTP) without spaces or commas");
		return CA_INVALID;
	}
	return CA_OK;
}

int
ca_ocsp_url_check(struct ca *ca, struct ca_error *err)
{
	const char *u = ca->ocsp_url;

	if (u != NULL && (strncmp(u, "http://", 7) != 0 || strlen(u) > 200 ||
	    strpbrk(u, " \t\r\n,\"'\\<>") != NULL)) {
		ca_seterr(err, "ocsp_url must be an http:// URL (RFC 5019, S/MIME BR 7.1.2.3) "
		    "without spaces or commas");
		return CA_INVALID;
	}
	return CA_OK;
}

int
ca_org_check(struct ca *ca, struct ca_error *err)
{
	char why[200];

	if (ca->org_country != NULL && !as_country_code_ok(ca->org_country)) {
		ca_seterr(err, "organization_country \"%.8s\" is not an ISO 3166-1 code",
		    ca->org_country);
		return CA_INVALID;
	}
	if (ca->org_id != NULL && as_org_id_check(ca->org_id, strlen(ca->org_id), ca->org_country,
	    why, sizeof(why), NULL, 0) < 0) {
		ca_seterr(err, "organization_identifier: %s", why);
		return CA_INVALID;
	}
	return CA_OK;
}

/* base_url/<id><suffix>; the CRL and the CA certificate are published side by side. */
int
ca_url(struct ca *ca, const char *id, const char *suffix, char *buf, size_t cap)
{
	size_t l = strlen(ca->base_url);
	int n = snprintf(buf, cap, "%s%s%s%s", ca->base_url,
	    l > 0 && ca->base_url[l - 1] == '/' ? "" : "/", id, suffix);

	return n > 0 && (size_t)n < cap ? 0 : -1;
}

int
ca_add_ext_conf(X509 *x, X509 *issuer, int nid, const char *value, struct ca_error *err)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value)) == NULL) {
		ca_seterr_ssl(err, OBJ_nid2sn(nid));
		return CA_ERR;
	}
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (!ok) {
		ca_seterr_ssl(err, "cannot add an extension");
		return CA_ERR;
	}
	return CA_OK;
}

int
ca_add_policies(X509 *x, const char *oids, struct ca_error *err)
{
	CERTIFICATEPOLICIES *cp = sk_POLICYINFO_new_null();
	POLICYINFO *pi = NULL;
	char buf[256], *save = NULL, *tok;
	int r = CA_ERR;

	snprintf(buf, sizeof(buf), "%s", oids);
	if (cp == NULL)
		goto out;
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if ((pi = POLICYINFO_new()) == NULL)
			goto out;
		ASN1_OBJECT_free(pi->policyid);
		if ((pi->policyid = OBJ_txt2obj(tok, 1)) == NULL || !sk_POLICYINFO_push(cp, pi))
			goto out;
		pi = NULL;
	}
	if (X509_add1_ext_i2d(x, NID_certificate_policies, cp, 0, X509V3_ADD_DEFAULT) == 1)
		r = CA_OK;
out:
	if (r != CA_OK)
		ca_seterr_ssl(err, "cannot build certificatePolicies");
	POLICYINFO_free(pi);
	CERTIFICATEPOLICIES_free(cp);
	return r;
}

static int
add_othername(GENERAL_NAMES *gens, const char *oid, const char *utf8)
{
	GENERAL_NAME *gen = GENERAL_NAME_new();
	ASN1_TYPE *val = ASN1_TYPE_new();
	ASN1_UTF8STRING *s = ASN1_UTF8STRING_new();
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);

	if (gen == NULL || val == NULL || s == NULL || obj == NULL ||
	    !ASN1_STRING_set(s, utf8, -1))
		goto fail;
	ASN1_TYPE_set(val, V_ASN1_UTF8STRING, s); /* transferred */
	s = NULL;
	if (!GENERAL_NAME_set0_othername(gen, obj, val))
		goto fail;
	obj = NULL; /* transferred */
	val = NULL;
	if (!sk_GENERAL_NAME_push(gens, gen))
		goto fail;
	return 0;
fail:
	GENERAL_NAME_free(gen);
	ASN1_TYPE_free(val);
	ASN1_UTF8STRING_free(s);
	ASN1_OBJECT_free(obj);
	return -1;
}

/* SAN: rfc822Name for an ASCII local part, SmtpUTF8Mailbox (RFC 9598) otherwise; UPN option. */
static int
add_san(X509 *x, const char *mailbox, const char *upn, bool critical, struct ca_error *err)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gen = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	int r = CA_ERR;

	if (gens == NULL)
		goto out;
	if (ca_mailbox_ascii_local(mailbox)) {
		if ((gen = GENERAL_NAME_new()) == NULL || (ia5 = ASN1_IA5STRING_new()) == NULL ||
		    !ASN1_STRING_set(ia5, mailbox, -1))
			goto out;
		GENERAL_NAME_set0_value(gen, GEN_EMAIL, ia5); /* transferred */
		ia5 = NULL;
		if (!sk_GENERAL_NAME_push(gens, gen))
			goto out;
		gen = NULL;
	} else if (add_othername(gens, OID_SMTPUTF8MAILBOX, mailbox) < 0)
		goto out;
	if (upn != NULL && add_othername(gens, OID_UPN, upn) < 0)
		goto out;
	if (!X509_add1_ext_i2d(x, NID_subject_alt_name, gens, critical ? 1 : 0, X509V3_ADD_DEFAULT))
		goto out;
	r = CA_OK;
out:
	if (r != CA_OK)
		ca_seterr_ssl(err, "cannot build subjectAltName");
	GENERAL_NAME_free(gen);
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAMES_free(gens);
	return r;
}

static int
name_add(X509_NAME *n, int nid, const char *v)
{
	return X509_NAME_add_entry_by_NID(n, nid, MBSTRING_UTF8, (const unsigned char *)v, -1, -1,
	    0) ? 0 : -1;
}

/* Subject DN per BR 7.1.4.2.3 .. 7.1.4.2.5; may be empty (then the SAN is critical). */
static int
build_subject(struct ca *ca, const struct ca_leaf_spec *spec, X509_NAME *n, struct ca_error *err)
{
	const struct ca_issue_request *req = spec->req;
	char personal[300];
	const char *cn = strlen(spec->mailbox) <= 64 ? spec->mailbox : NULL;

	if (req->profile != CA_PROFILE_MAILBOX) {
		if ((ca->org_country != NULL && name_add(n, NID_countryName, ca->org_country) < 0) ||
		    name_add(n, NID_organizationName, ca->org_name) < 0 ||
		    name_add(n, NID_organizationIdentifier, ca->org_id) < 0)
			goto fail;
	}
	if (req->profile == CA_PROFILE_SPONSOR) {
		if (req->pseudonym != NULL) {
			if (name_add(n, NID_pseudonym, req->pseudonym) < 0)
				goto fail;
			cn = strlen(req->pseudonym) <= 64 ? req->pseudonym : cn;
		} else {
			if ((req->given_name != NULL && name_add(n, NID_givenName, req->given_name) < 0)
			    || (req->surname != NULL && name_add(n, NID_surname, req->surname) < 0))
				goto fail;
			snprintf(personal, sizeof(personal), "%s%s%s",
			    req->given_name != NULL ? req->given_name : "",
			    req->given_name != NULL && req->surname != NULL ? " " : "",
			    req->surname != NULL ? req->surname : "");
			if (strlen(personal) <= 64)
				cn = personal;
		}
	}
	if (cn != NULL && name_add(n, NID_commonName, cn) < 0)
		goto fail;
	return CA_OK;
fail:
	ca_seterr_ssl(err, "cannot build the subject");
	return CA_ERR;
}

/*
 * keyUsage of a leaf (S/MIME BR 7.1.2.3 e, strict): signing-only digitalSignature, key
 * management keyAgreement (EC) or keyEncipherment (RSA), dual use both.
 */
const char *
ca_leaf_key_usage(unsigned uses, bool ec)
{
	if (uses == CA_USE_SIGN)
		return "critical,digitalSignature";
	if (uses == CA_USE_ENCRYPT)
		return ec ? "critical,keyAgreement" : "critical,keyEncipherment";
	return ec ? "critical,digitalSignature,keyAgreement" :
	    "critical,digitalSignature,keyEncipherment";
}

int
ca_leaf_build(struct ca *ca, const struct ca_issuer *iss, const struct ca_leaf_spec *spec,
    X509 **out, struct ca_error *err)
{
	const struct ca_issue_request *req = spec->req;
	X509 *x = NULL;
	X509_NAME *subj = NULL;
	ASN1_INTEGER *serial = NULL;
	char url[512], value[600];
	bool ec = EVP_PKEY_is_a(spec->pubkey, "EC");
	int r = CA_ERR;

	*out = NULL;
	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    ca_rand_serial(&serial) < 0 || !X509_set_serialNumber(x, serial) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(iss->cert)) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), spec->not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), spec->not_after) == NULL ||
	    !X509_set_pubkey(x, spec->pubkey) || (subj = X509_NAME_new()) == NULL) {
		ca_seterr_ssl(err, "cannot build the certificate");
		goto out;
	}
	if (build_subject(ca, spec, subj, err) != CA_OK || !X509_set_subject_name(x, subj))
		goto out;
	if (ca_add_ext_conf(x, iss->cert, NID_key_usage, ca_leaf_key_usage(spec->uses, ec),
	    err) != CA_OK ||
	    ca_add_ext_conf(x, iss->cert, NID_ext_key_usage, "emailProtection", err) != CA_OK ||
	    ca_add_policies(x, policy_oid[req->profile][req->generation], err) != CA_OK)
		goto out;
	if (ca_url(ca, iss->id, ".crl", url, sizeof(url)) < 0)
		goto badurl;
	snprintf(value, sizeof(value), "URI:%s", url);
	if (ca_add_ext_conf(x, iss->cert, NID_crl_distribution_points, value, err) != CA_OK)
		goto out;
	if (ca_url(ca, iss->id, ".crt", url, sizeof(url)) < 0)
		goto badurl;
	/* the OCSP responder first (RFC 5019 clients try it before the CRL) */
	if (ca_ocsp_url_check(ca, err) != CA_OK)
		goto out;
	if (ca->ocsp_url != NULL)
		snprintf(value, sizeof(value), "OCSP;URI:%s,caIssuers;URI:%s", ca->ocsp_url, url);
	else
		snprintf(value, sizeof(value), "caIssuers;URI:%s", url);
	if (ca_add_ext_conf(x, iss->cert, NID_info_access, value, err) != CA_OK ||
	    ca_add_ext_conf(x, iss->cert, NID_authority_key_identifier, "keyid:always",
	    err) != CA_OK ||
	    ca_add_ext_conf(x, iss->cert, NID_subject_key_identifier, "hash", err) != CA_OK ||
	    add_san(x, spec->mailbox, req->upn, X509_NAME_entry_count(subj) == 0, err) != CA_OK)
		goto out;
	if ((req->rsa_pss && iss->in_token ? ca_hsm_sign_pss(x, iss->key, err) :
	    ca_sign_cert(x, iss->key, req->rsa_pss, err)) != CA_OK)
		goto out;
	*out = x; /* transferred */
	x = NULL;
	r = CA_OK;
	goto out;
badurl:
	ca_seterr(err, "ca_base_url is too long");
out:
	X509_free(x);
	X509_NAME_free(subj);
	ASN1_INTEGER_free(serial);
	return r;
}
