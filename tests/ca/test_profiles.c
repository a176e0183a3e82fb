/*
 * test_profiles: issues a certificate for every profile x generation x key type through the
 * public API (CA-made keys and PKCS#10 CSRs) and decodes each one with the OpenSSL API to
 * assert every S/MIME BR 7.1 field; then the signer/recipient lookups, revocation, the CRL,
 * and refused requests that must write nothing. A fresh store in a temporary directory.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "tests/ca/ca_fixture.h"
#include "tests/ca/domain_fixture.h"
#include "tests/tap.h"

static char dir[256];
static X509 *issuing;

static bool
hex_is(const unsigned char *p, int n, const char *hex)
{
	char buf[256];
	int i;

	if (n * 2 + 1 > (int)sizeof(buf))
		return false;
	for (i = 0; i < n; i++)
		snprintf(buf + 2 * i, 3, "%02x", p[i]);
	return strcmp(buf, hex) == 0;
}

static const char *
policy_of(X509 *x, char *buf, size_t cap)
{
	CERTIFICATEPOLICIES *cp = X509_get_ext_d2i(x, NID_certificate_policies, NULL, NULL);

	buf[0] = '\0';
	if (cp != NULL && sk_POLICYINFO_num(cp) == 1)
		OBJ_obj2txt(buf, (int)cap, sk_POLICYINFO_value(cp, 0)->policyid, 1);
	CERTIFICATEPOLICIES_free(cp);
	return buf;
}

static const char *
subj(X509 *x, int nid, char *buf, size_t cap)
{
	buf[0] = '\0';
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), nid, buf, (int)cap) < 0)
		return NULL;
	return buf;
}

/* Decode DER again and check every field the profile fixes. */
static void
check_cert(const char *label, X509 *in, const char *mailbox, enum ca_profile p,
    enum ca_generation g, enum ca_key_type kt)
{
	static const char *pol[3][2] = { { "2.23.140.1.5.1.3", "2.23.140.1.5.1.2" },
		{ "2.23.140.1.5.3.3", "2.23.140.1.5.3.2" }, { "2.23.140.1.5.2.3", "2.23.140.1.5.2.2" } };
	unsigned char *der = NULL;
	const unsigned char *q;
	int len = i2d_X509(in, &der), crit = -1, idx, days, secs;
	X509 *x;
	X509_ALGOR *alg;
	const X509_ALGOR *sig;
	unsigned char *adr = NULL;
	char buf[256], buf2[256];
	EVP_PKEY *k;
	uint32_t ku;
	BIGNUM *bn;
	GENERAL_NAMES *san;
	AUTHORITY_KEYID *aki;
	const ASN1_OCTET_STRING *iski;
	bool ec = kt == CA_KEY_EC_P256 || kt == CA_KEY_EC_P384;
	int alen;

	q = der;
	x = d2i_X509(NULL, &q, len);
	tap_ok(x != NULL && X509_get_version(x) == X509_VERSION_3, "%s: decodes as v3", label);
	if (x == NULL)
		return;
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	tap_ok(BN_num_bits(bn) >= 64 && BN_num_bits(bn) < 160 && !BN_is_negative(bn),
	    "%s: serial %d bits, positive", label, BN_num_bits(bn));
	BN_free(bn);
	X509_get0_signature(NULL, &sig, x);
	alen = i2d_X509_ALGOR(sig, &adr);
	tap_ok(hex_is(adr, alen, "300a06082a8648ce3d040303"), "%s: signed ecdsa-with-SHA384 "
	    "(issuing CA is P-384)", label);
	OPENSSL_free(adr);
	adr = NULL;
	k = X509_get0_pubkey(x);
	X509_PUBKEY_get0_param(NULL, NULL, NULL, &alg, X509_get_X509_PUBKEY(x));
	alen = i2d_X509_ALGOR(alg, &adr);
	tap_ok(ec ? (kt == CA_KEY_EC_P256 ? hex_is(adr, alen,
	    "301306072a8648ce3d020106082a8648ce3d030107") : hex_is(adr, alen,
	    "301006072a8648ce3d020106052b81040022")) : (hex_is(adr, alen,
	    "300d06092a864886f70d0101010500") && EVP_PKEY_get_bits(k) ==
	    (kt == CA_KEY_RSA2048 ? 2048 : kt == CA_KEY_RSA3072 ? 3072 : 4096)),
	    "%s: subjectPublicKeyInfo encoding and size", label);
	OPENSSL_free(adr);
	ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x));
	tap_ok(days >= 0 && days < 825, "%s: validity %d days (< 825)", label, days);
	/* keyUsage critical, right bits. */
	idx = X509_get_ext_by_NID(x, NID_key_usage, -1);
	crit = idx >= 0 ? X509_EXTENSION_get_critical(X509_get_ext(x, idx)) : -1;
	ku = X509_get_key_usage(x);
	tap_ok(crit == 1 && ku == (ec ? (KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT) :
	    (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT)), "%s: keyUsage critical, 0x%x", label, ku);
	tap_ok(X509_get_extended_key_usage(x) == XKU_SMIME &&
	    !X509_EXTENSION_get_critical(X509_get_ext(x, X509_get_ext_by_NID(x,
	    NID_ext_key_usage, -1))), "%s: EKU emailProtection only, not critical", label);
	tap_ok(strcmp(policy_of(x, buf, sizeof(buf)), pol[p][g]) == 0, "%s: policy %s", label,
	    buf);
	{
		STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, &crit,
		    NULL);
		GENERAL_NAME *gn = dps != NULL ? sk_GENERAL_NAME_value(sk_DIST_POINT_value(dps,
		    0)->distpoint->name.fullname, 0) : NULL;

		tap_ok(gn != NULL && gn->type == GEN_URI && crit == 0 && strncmp((const char *)
		    ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
		    "http://ca.example.org/", 22) == 0, "%s: CRL DP is an HTTP URI", label);
		CRL_DIST_POINTS_free(dps);
	}
	{
		AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, &crit, NULL);
		ACCESS_DESCRIPTION *ad = aia != NULL ? sk_ACCESS_DESCRIPTION_value(aia, 0) : NULL;

		tap_ok(ad != NULL && crit == 0 && OBJ_obj2nid(ad->method) == NID_ad_ca_issuers &&
		    ad->location->type == GEN_URI, "%s: AIA caIssuers HTTP", label);
		AUTHORITY_INFO_ACCESS_free(aia);
	}
	aki = X509_get_ext_d2i(x, NID_authority_key_identifier, &crit, NULL);
	iski = X509_get0_subject_key_id(issuing);
	tap_ok(aki != NULL && crit == 0 && aki->issuer == NULL && aki->serial == NULL &&
	    ASN1_OCTET_STRING_cmp(aki->keyid, iski) == 0, "%s: AKI keyid only = issuer SKI", label);
	AUTHORITY_KEYID_free(aki);
	{
		unsigned char md[20];
		unsigned int mdl;
		const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);

		X509_pubkey_digest(x, EVP_sha1(), md, &mdl);
		tap_ok(ski != NULL && ASN1_STRING_length(ski) == 20 &&
		    memcmp(ASN1_STRING_get0_data(ski), md, 20) == 0, "%s: SKI = SHA-1 of key", label);
	}
	san = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	{
		GENERAL_NAME *gn = san != NULL ? sk_GENERAL_NAME_value(san, 0) : NULL;
		bool ok = gn != NULL && sk_GENERAL_NAME_num(san) == 1 && crit == 0;
		ASN1_OBJECT *oid;
		ASN1_TYPE *val;

		if (ok && strchr(mailbox, 0xc3) == NULL)
			ok = gn->type == GEN_EMAIL && strcmp((const char *)ASN1_STRING_get0_data(
			    gn->d.rfc822Name), mailbox) == 0;
		else if (ok)
			ok = GENERAL_NAME_get0_otherName(gn, &oid, &val) && OBJ_obj2txt(buf,
			    sizeof(buf), oid, 1) > 0 && strcmp(buf, "1.3.6.1.5.5.7.8.9") == 0 &&
			    val->type == V_ASN1_UTF8STRING && strcmp((const char *)
			    ASN1_STRING_get0_data(val->value.utf8string), mailbox) == 0;
		tap_ok(ok, "%s: SAN holds exactly the mailbox", label);
	}
	GENERAL_NAMES_free(san);
	tap_ok(X509_get_ext_count(x) == 8, "%s: exactly 8 extensions", label);
	/* Subject per profile. */
	if (p == CA_PROFILE_MAILBOX)
		tap_ok(X509_NAME_entry_count(X509_get_subject_name(x)) == 1 &&
		    strcmp(subj(x, NID_commonName, buf, sizeof(buf)), mailbox) == 0,
		    "%s: subject is CN=mailbox only", label);
	else
		tap_ok(subj(x, NID_organizationName, buf, sizeof(buf)) != NULL &&
		    strcmp(buf, "Example Org") == 0 && subj(x, NID_organizationIdentifier, buf2,
		    sizeof(buf2)) != NULL && strcmp(buf2, "NTRGB-12345678") == 0 &&
		    subj(x, NID_countryName, buf, sizeof(buf)) != NULL && strcmp(buf, "GB") == 0,
		    "%s: subject O, organizationIdentifier, C", label);
	if (p == CA_PROFILE_SPONSOR)
		tap_ok(subj(x, NID_givenName, buf, sizeof(buf)) != NULL && strcmp(buf, "Ada") == 0 &&
		    subj(x, NID_surname, buf2, sizeof(buf2)) != NULL && strcmp(buf2, "Lovelace") == 0
		    && subj(x, NID_commonName, buf, sizeof(buf)) != NULL &&
		    strcmp(buf, "Ada Lovelace") == 0, "%s: givenName, surname, CN personal name",
		    label);
	tap_ok(X509_verify(x, X509_get0_pubkey(issuing)) == 1, "%s: signature verifies", label);
	X509_free(x);
	OPENSSL_free(der);
}

static unsigned char *
make_csr(EVP_PKEY *key, size_t *len)
{
	X509_REQ *r = X509_REQ_new();
	unsigned char *der = NULL;
	int n;

	X509_REQ_set_pubkey(r, key);
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_ASC,
	    (const unsigned char *)"ignored", -1, -1, 0);
	X509_REQ_sign(r, key, EVP_sha256());
	n = i2d_X509_REQ(r, &der);
	X509_REQ_free(r);
	*len = (size_t)n;
	return der;
}

static int
count_cb(const struct ca_cert_info *i, void *arg)
{
	(void)i;
	(*(int *)arg)++;
	return 0;
}

static void
refused(struct ca *ca, const char *label, const struct ca_issue_request *req)
{
	struct ca_issued is;
	struct ca_error err = { "" };
	uint64_t g0, g1, a0, a1;
	int r;

	ca_generation_counter(ca, &g0, &err);
	ca_audit_verify(ca, &a0, &err);
	r = ca_issue(ca, req, &is, &err);
	ca_generation_counter(ca, &g1, &err);
	ca_audit_verify(ca, &a1, &err);
	tap_ok(r == CA_INVALID && err.text[0] != '\0' && g0 == g1 && a0 == a1,
	    "refused, nothing written: %s (%s)", label, err.text);
	if (r == CA_OK)
		ca_issued_free(&is);
}

int
main(void)
{
	static const enum ca_key_type kts[] = { CA_KEY_EC_P256, CA_KEY_EC_P384, CA_KEY_RSA2048,
		CA_KEY_RSA3072 };
	/*
	 * Under valgrind, key generation above 2048 bits takes minutes per key while our code
	 * takes the same path for every RSA size: AUTOSMIME_TEST_RSA_MAX_BITS=2048 leaves those
	 * sizes to the normal and sanitizer runs.
	 */
	const char *max_bits_env = getenv("AUTOSMIME_TEST_RSA_MAX_BITS");
	int rsa_max_bits = max_bits_env != NULL ? atoi(max_bits_env) : 4096;
	int nkts = (int)(sizeof(kts) / sizeof(kts[0])) - (rsa_max_bits < 3072 ? 1 : 0);
	char label[128], mb[128];
	struct ca_fixture fx;
	struct ca_params params;
	struct ca_authority_request areq;
	struct ca_authority auth;
	struct ca_error err = { "" };
	struct ca_issue_request req;
	struct ca_issued is;
	struct ca_signer *signer = NULL;
	struct ca *ca = NULL;
	X509_CRL *crl = NULL;
	EVP_PKEY *k;
	X509 *rc = NULL;
	unsigned char *csr;
	size_t csr_len;
	uint64_t n;
	int p, g, i, r, count = 0;

	ca_fixture_params(&fx, &params);
	snprintf(dir, sizeof(dir), "%s", fx.dir);
	r = ca_open(&params, &ca, &err);
	tap_ok(r == CA_OK, "ca_open on a new store (%s)", err.text);
	if (r != CA_OK)
		return tap_done();
	memset(&areq, 0, sizeof(areq));
	areq.key_type = CA_KEY_EC_P384;
	areq.actor = "test";
	r = ca_init(ca, &areq, &auth, &err);
	tap_ok(r == CA_OK && auth.root_key != NULL, "ca_init makes root and issuing CA (%s)",
	    err.text);
	issuing = auth.cert;
	tap_ok(X509_check_issued(auth.root, auth.cert) == X509_V_OK &&
	    X509_get_extended_key_usage(auth.cert) == XKU_SMIME &&
	    (X509_get_key_usage(auth.cert) & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) ==
	    (KU_KEY_CERT_SIGN | KU_CRL_SIGN), "issuing CA: signed by root, EKU emailProtection, "
	    "keyCertSign+cRLSign");
	tap_ok(X509_get_ext_by_NID(auth.root, NID_certificate_policies, -1) < 0 &&
	    X509_get_ext_by_NID(auth.root, NID_ext_key_usage, -1) < 0,
	    "root: no certificatePolicies, no EKU");
	/* Organization-validated rows rest on a domain control validation (test_domain.c). */
	tap_ok(fixture_domain_validate(ca, "example.org", 86400, NULL, &err) == CA_OK,
	    "domain control validation of example.org recorded (%s)", err.text);

	for (p = 0; p < 3; p++)
		for (g = 0; g < 2; g++)
			for (i = 0; i < nkts; i++) {
				memset(&req, 0, sizeof(req));
				snprintf(mb, sizeof(mb), "%s%d.%d.%d@Example.ORG",
				    p == 2 && i == 1 ? "j\xc3\xb6rg" : "user", p, g, i);
				req.mailbox = mb;
				req.profile = (enum ca_profile)p;
				req.generation = (enum ca_generation)g;
				req.key_type = kts[i];
				req.actor = "test";
				if (p == CA_PROFILE_SPONSOR) {
					req.given_name = "Ada";
					req.surname = "Lovelace";
				}
				csr = NULL;
				/* Every second one from a CSR. */
				if ((i + g) % 2 == 1) {
					k = EVP_PKEY_Q_keygen(NULL, NULL, i < 2 ? "EC" : "RSA",
					    i == 0 ? "P-256" : i == 1 ? "P-384" : NULL,
					    (size_t)(i == 2 ? 2048 : 3072));
					csr = make_csr(k, &csr_len);
					EVP_PKEY_free(k);
					req.csr_der = csr;
					req.csr_len = csr_len;
				}
				snprintf(label, sizeof(label), "%s/%s/%s%s",
				    ca_profile_name(req.profile), ca_generation_name(req.generation),
				    ca_key_type_name(req.key_type), csr != NULL ? "/csr" : "");
				r = ca_issue(ca, &req, &is, &err);
				OPENSSL_free(csr);
				tap_ok(r == CA_OK, "%s: issued (%s)", label, err.text);
				if (r != CA_OK)
					continue;
				{
					char lower[128];

					snprintf(lower, sizeof(lower), "%s", mb);
					for (char *c = strchr(lower, '@'); *c != '\0'; c++)
						*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
					check_cert(label, is.cert, lower, req.profile, req.generation,
					    kts[i]);
				}
				ca_issued_free(&is);
			}
	/* RSA-4096 once (slow key generation). */
	memset(&req, 0, sizeof(req));
	req.mailbox = "big@example.org";
	req.key_type = CA_KEY_RSA4096;
	r = rsa_max_bits >= 4096 ? ca_issue(ca, &req, &is, &err) : CA_NOTFOUND;
	if (r == CA_NOTFOUND)
		tap_diag("RSA-4096 left to the runs without AUTOSMIME_TEST_RSA_MAX_BITS");
	else
		tap_ok(r == CA_OK, "mailbox/strict/rsa-4096 issued (%s)", err.text);
	if (r == CA_OK) {
		check_cert("mailbox/strict/rsa-4096", is.cert, "big@example.org", 0, 0,
		    CA_KEY_RSA4096);
		ca_issued_free(&is);
	}
	/* Multipurpose allows a UPN; Strict does not. */
	memset(&req, 0, sizeof(req));
	req.mailbox = "upn@example.org";
	req.generation = CA_GEN_MULTIPURPOSE;
	req.upn = "upn@corp.example.org";
	r = ca_issue(ca, &req, &is, &err);
	tap_ok(r == CA_OK, "multipurpose with UPN otherName issued (%s)", err.text);
	if (r == CA_OK)
		ca_issued_free(&is);
	req.generation = CA_GEN_STRICT;
	refused(ca, "UPN in Strict", &req);

	/* Lookups. */
	r = ca_signer_load(ca, "user0.0.0@example.org", &signer, &err);
	tap_ok(r == CA_OK && signer != NULL && X509_check_private_key(signer->cert, signer->key) == 1
	    && sk_X509_num(signer->chain) == 1, "signer_load: decrypted key matches (%s)", err.text);
	r = ca_recipient_cert(ca, "USER0.0.0@example.org", &rc, &err);
	tap_ok(r == CA_OK && rc != NULL && X509_cmp(rc, signer->cert) == 0,
	    "recipient_cert finds our own certificate, case-insensitively");
	X509_free(rc);
	rc = NULL;
	tap_ok(ca_recipient_cert(ca, "nobody@example.org", &rc, &err) == CA_NOTFOUND,
	    "recipient_cert: unknown mailbox is CA_NOTFOUND");
	{
		struct ca_cert_filter f = { "user0.0.0@example.org", NULL, -1, 0 };

		ca_cert_foreach(ca, &f, count_cb, &count, &err);
		tap_ok(count == 1, "mailbox index lists one certificate");
	}
	/* Revocation and CRL. */
	r = ca_revoke(ca, signer->serial_hex, CA_REASON_CERTIFICATE_HOLD, "test", &err);
	tap_ok(r == CA_INVALID, "certificateHold refused for Strict (%s)", err.text);
	r = ca_revoke(ca, signer->serial_hex, 0, "test", &err);
	tap_ok(r == CA_INVALID, "reason unspecified refused");
	r = ca_revoke(ca, signer->serial_hex, CA_REASON_KEY_COMPROMISE, "test", &err);
	tap_ok(r == CA_OK, "revoke keyCompromise (%s)", err.text);
	tap_ok(ca_revoke(ca, signer->serial_hex, CA_REASON_SUPERSEDED, "test", &err) == CA_INVALID,
	    "second revocation refused");
	tap_ok(ca_revoke(ca, "abcdef0123", CA_REASON_SUPERSEDED, "test", &err) == CA_NOTFOUND,
	    "revoking an unknown serial is CA_NOTFOUND");
	ca_signer_free(signer);
	signer = NULL;
	tap_ok(ca_signer_load(ca, "user0.0.0@example.org", &signer, &err) == CA_NOTFOUND,
	    "revoked certificate is no longer a signer");
	r = ca_crl_make(ca, NULL, 0, &crl, &err);
	tap_ok(r == CA_OK && crl != NULL && sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) == 1 &&
	    X509_CRL_verify(crl, X509_get0_pubkey(auth.cert)) == 1, "CRL lists 1 entry, verifies");
	{
		X509_CRL *crl2 = NULL;
		ASN1_INTEGER *n1 = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
		ASN1_INTEGER *n2;
		int d, s;

		ca_crl_make(ca, NULL, 0, &crl2, &err);
		n2 = crl2 != NULL ? X509_CRL_get_ext_d2i(crl2, NID_crl_number, NULL, NULL) : NULL;
		tap_ok(n1 != NULL && n2 != NULL && ASN1_INTEGER_cmp(n1, n2) < 0,
		    "CRL number grows");
		ASN1_TIME_diff(&d, &s, X509_CRL_get0_lastUpdate(crl), X509_CRL_get0_nextUpdate(crl));
		tap_ok(d <= 10, "nextUpdate %d days after thisUpdate (<= 10)", d);
		X509_CRL_free(crl2);
		crl2 = NULL;
		tap_ok(ca_crl_make(ca, NULL, 11 * 86400, &crl2, &err) == CA_INVALID && crl2 == NULL,
		    "nextUpdate beyond 10 days refused");
		ASN1_INTEGER_free(n1);
		ASN1_INTEGER_free(n2);
		X509_CRL_free(crl2);
	}
	X509_CRL_free(crl);

	/* Bad input: nothing written. */
	memset(&req, 0, sizeof(req));
	req.mailbox = "no-at-sign";
	refused(ca, "mailbox without @", &req);
	req.mailbox = "a b@example.org";
	refused(ca, "space in local part", &req);
	req.mailbox = "a..b@example.org";
	refused(ca, "two dots", &req);
	req.mailbox = "user@localhost";
	refused(ca, "single-label domain", &req);
	req.mailbox = "user@exa_mple.org";
	refused(ca, "underscore in domain", &req);
	req.mailbox = "\xc3\x28@example.org";
	refused(ca, "invalid UTF-8", &req);
	{
		char longmb[400];

		memset(longmb, 'a', 70);
		snprintf(longmb + 70, sizeof(longmb) - 70, "@example.org");
		req.mailbox = longmb;
		refused(ca, "local part of 70 octets", &req);
		memset(longmb, 'a', 300);
		longmb[10] = '@';
		snprintf(longmb + 290, sizeof(longmb) - 290, ".org");
		refused(ca, "mailbox over 254 octets", &req);
	}
	req.mailbox = "ok@example.org";
	req.validity_seconds = 826LL * 86400;
	refused(ca, "validity of 826 days", &req);
	req.validity_seconds = 0;
	req.profile = CA_PROFILE_SPONSOR;
	refused(ca, "sponsor without a name", &req);
	req.given_name = "Ada";
	req.pseudonym = "Countess";
	refused(ca, "pseudonym with given name", &req);
	req.profile = CA_PROFILE_MAILBOX;
	req.pseudonym = NULL;
	refused(ca, "given name in mailbox profile", &req);
	req.given_name = NULL;
	{
		unsigned char junk[64], *big;

		memset(junk, 0x30, sizeof(junk));
		req.csr_der = junk;
		req.csr_len = sizeof(junk);
		refused(ca, "malformed CSR", &req);
		big = calloc(1, 20000);
		req.csr_der = big;
		req.csr_len = 20000;
		refused(ca, "oversized CSR", &req);
		free(big);
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
		csr = make_csr(k, &csr_len);
		EVP_PKEY_free(k);
		req.csr_der = csr;
		req.csr_len = csr_len;
		refused(ca, "RSA-1024 CSR (weak key)", &req);
		OPENSSL_free(csr);
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
		csr = make_csr(k, &csr_len);
		EVP_PKEY_free(k);
		req.csr_der = csr;
		req.csr_len = csr_len;
		refused(ca, "P-521 CSR (not an allowed key type)", &req);
		csr[csr_len - 5] ^= 0x55; /* breaks the CSR's own signature */
		refused(ca, "CSR whose signature does not verify", &req);
		OPENSSL_free(csr);
	}
	r = ca_audit_verify(ca, &n, &err);
	tap_ok(r == CA_OK && n > 20, "audit chain verifies (%llu records)", (unsigned long long)n);
	ca_authority_free(&auth);
	ca_close(ca);
	/* Reopen: everything is still there (recovery on open). */
	r = ca_open(&params, &ca, &err);
	tap_ok(r == CA_OK && ca_audit_verify(ca, &n, &err) == CA_OK, "reopen and verify again");
	ca_close(ca);
	ca_fixture_remove(&fx);
	return tap_done();
}
