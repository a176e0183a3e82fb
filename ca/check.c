/*
 * check: the CA's own S/MIME BR 7.1 checker. It re-decodes a freshly signed subscriber
 * certificate from its DER and checks every field against the profile it was meant to have;
 * ca_issue stores nothing unless this passes. Independent of profile.c: it reads the bytes,
 * never the builder's inputs other than the intended mailbox, profile and generation.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "ca/ca_int.h"
#include "common/org_id.h"

#define FAIL(...) do { ca_seterr(err, "profile check: " __VA_ARGS__); goto out; } while (0)

static const char *const sigalg_ok[] = {
	"300a06082a8648ce3d040302", "300a06082a8648ce3d040303",
	"300d06092a864886f70d01010b0500", "300d06092a864886f70d01010c0500",
	"300d06092a864886f70d01010d0500",
	/* RSASSA-PSS with SHA-256, one literal split over two lines */
	("304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f7"
	 "0d010108300d06096086480165030402010500a203020120"),
};

static bool
der_hex_is(const unsigned char *der, int len, const char *hex)
{
	char buf[512];

	if (len <= 0 || (size_t)len * 2 + 1 > sizeof(buf))
		return false;
	ca_hex(der, (size_t)len, buf);
	return strcmp(buf, hex) == 0;
}

static bool
algor_hex_is(const X509_ALGOR *a, const char *hex)
{
	unsigned char *der = NULL;
	int len = i2d_X509_ALGOR(a, &der);
	bool ok = der_hex_is(der, len, hex);

	OPENSSL_free(der);
	return ok;
}

/* The signature algorithm must suit the issuer key (BR 7.1.3.2). */
bool
ca_sigalg_fits(const X509_ALGOR *a, EVP_PKEY *issuer_key)
{
	size_t i;

	if (EVP_PKEY_is_a(issuer_key, "EC"))
		return algor_hex_is(a, EVP_PKEY_get_bits(issuer_key) > 256 ? sigalg_ok[1] :
		    sigalg_ok[0]);
	for (i = 2; i < sizeof(sigalg_ok) / sizeof(sigalg_ok[0]); i++)
		if (algor_hex_is(a, sigalg_ok[i]))
			return true;
	return false;
}

static bool
spki_ok(X509 *x)
{
	X509_PUBKEY *pk = X509_get_X509_PUBKEY(x);
	X509_ALGOR *a = NULL;
	EVP_PKEY *k = X509_get0_pubkey(x);

	if (pk == NULL || k == NULL || !X509_PUBKEY_get0_param(NULL, NULL, NULL, &a, pk))
		return false;
	if (EVP_PKEY_is_a(k, "RSA"))
		return algor_hex_is(a, "300d06092a864886f70d0101010500");
	return algor_hex_is(a, "301306072a8648ce3d020106082a8648ce3d030107") ||
	    algor_hex_is(a, "301006072a8648ce3d020106052b81040022");
}

bool
ca_spki_ok(X509 *x)
{
	return spki_ok(x);
}

static bool
only_metadata(const unsigned char *s, int len)
{
	int i;

	for (i = 0; i < len; i++)
		if (s[i] != '.' && s[i] != '-' && s[i] != ' ')
			return false;
	return true;
}

static bool
all_http(const GENERAL_NAMES *names, int *count)
{
	int i;

	for (i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);

		if (g->type != GEN_URI || strncmp((const char *)ASN1_STRING_get0_data(
		    g->d.uniformResourceIdentifier), "http://", 7) != 0)
			return false;
		(*count)++;
	}
	return true;
}

static bool
asn1_eq(const ASN1_STRING *s, const char *v)
{
	return s != NULL && v != NULL && (size_t)ASN1_STRING_length(s) == strlen(v) &&
	    memcmp(ASN1_STRING_get0_data(s), v, strlen(v)) == 0;
}

static int
check_subject(struct ca *ca, X509 *x, const struct ca_leaf_spec *spec, struct ca_error *err)
{
	const struct ca_issue_request *req = spec->req;
	X509_NAME *n = X509_get_subject_name(x);
	const ASN1_STRING *cn = NULL, *o = NULL, *gn = NULL, *sn = NULL, *ps = NULL;
	const ASN1_STRING *c = NULL, *oi = NULL;
	char personal[300], country[3] = "", why[200];
	int i, nid, r = CA_INVALID;

	for (i = 0; i < X509_NAME_entry_count(n); i++) {
		X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);
		const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
		bool allowed;

		nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		if (only_metadata(ASN1_STRING_get0_data(v), ASN1_STRING_length(v)))
			FAIL("subject attribute holds only metadata");
		switch (nid) {
		case NID_commonName: allowed = true; cn = v; break;
		case NID_serialNumber: allowed = true; break;
		case NID_pkcs9_emailAddress:
			allowed = asn1_eq(v, spec->mailbox);
			break;
		case NID_organizationName:
			o = v;
			allowed = req->profile != CA_PROFILE_MAILBOX;
			break;
		case NID_organizationIdentifier: case NID_organizationalUnitName:
		case NID_countryName: case NID_localityName: case NID_stateOrProvinceName:
			allowed = req->profile != CA_PROFILE_MAILBOX;
			break;
		case NID_givenName: gn = v; allowed = req->profile == CA_PROFILE_SPONSOR; break;
		case NID_surname: sn = v; allowed = req->profile == CA_PROFILE_SPONSOR; break;
		case NID_pseudonym: ps = v; allowed = req->profile == CA_PROFILE_SPONSOR; break;
		case NID_title: allowed = req->profile == CA_PROFILE_SPONSOR; break;
		default: allowed = false; break;
		}
		if (!allowed)
			FAIL("subject attribute %s is not allowed in this profile", OBJ_nid2sn(nid));
		if (nid == NID_countryName && (ASN1_STRING_type(v) != V_ASN1_PRINTABLESTRING ||
		    ASN1_STRING_length(v) != 2 || !isupper(ASN1_STRING_get0_data(v)[0]) ||
		    !isupper(ASN1_STRING_get0_data(v)[1])))
			FAIL("subject countryName must be two upper-case letters");
		if (nid == NID_countryName)
			c = v;
		if (nid == NID_organizationIdentifier) {
			if (ASN1_STRING_type(v) != V_ASN1_UTF8STRING &&
			    ASN1_STRING_type(v) != V_ASN1_PRINTABLESTRING)
				FAIL("subject organizationIdentifier is not a UTF8String");
			oi = v;
		}
		if (nid == NID_commonName && ASN1_STRING_length(v) > 64)
			FAIL("subject commonName is longer than 64");
	}
	if (req->profile != CA_PROFILE_MAILBOX && (o == NULL || oi == NULL))
		FAIL("organizationName and organizationIdentifier are required");
	/* countryName was checked above to be two letters */
	if (c != NULL)
		memcpy(country, ASN1_STRING_get0_data(c), 2);
	/* the identifier's country against the certificate's own countryName */
	if (oi != NULL && as_org_id_check((const char *)ASN1_STRING_get0_data(oi),
	    (size_t)ASN1_STRING_length(oi), country, why, sizeof(why), NULL, 0) < 0)
		FAIL("subject %s", why);
	if (c != NULL && !as_country_code_ok(country))
		FAIL("subject countryName is not an ISO 3166-1 code");
	if (req->profile == CA_PROFILE_SPONSOR) {
		if (ps != NULL && (gn != NULL || sn != NULL))
			FAIL("pseudonym excludes givenName and surname");
		if (ps == NULL && gn == NULL && sn == NULL)
			FAIL("sponsor profile needs givenName/surname or pseudonym");
	}
	if (cn != NULL && !asn1_eq(cn, spec->mailbox)) {
		snprintf(personal, sizeof(personal), "%.*s%s%.*s",
		    gn != NULL ? ASN1_STRING_length(gn) : 0,
		    gn != NULL ? (const char *)ASN1_STRING_get0_data(gn) : "",
		    gn != NULL && sn != NULL ? " " : "",
		    sn != NULL ? ASN1_STRING_length(sn) : 0,
		    sn != NULL ? (const char *)ASN1_STRING_get0_data(sn) : "");
		if (req->profile == CA_PROFILE_MAILBOX ||
		    (req->profile == CA_PROFILE_ORGANIZATION && !asn1_eq(cn, ca->org_name)) ||
		    (req->profile == CA_PROFILE_SPONSOR && !(ps != NULL &&
		    ASN1_STRING_cmp(cn, ps) == 0) && !(ps == NULL && asn1_eq(cn, personal))))
			FAIL("subject commonName is not a value the profile allows");
	}
	r = CA_OK;
out:
	return r;
}

static int
check_san(X509_EXTENSION *ext, X509 *x, const struct ca_leaf_spec *spec, struct ca_error *err)
{
	GENERAL_NAMES *gens = X509V3_EXT_d2i(ext);
	bool found = false;
	int i, r = CA_INVALID;

	if (gens == NULL)
		FAIL("subjectAltName does not decode");
	if ((X509_EXTENSION_get_critical(ext) != 0) !=
	    (X509_NAME_entry_count(X509_get_subject_name(x)) == 0))
		FAIL("subjectAltName must be critical exactly when the subject is empty");
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		ASN1_OBJECT *oid;
		ASN1_TYPE *val;
		char txt[64];

		if (g->type == GEN_EMAIL) {
			if (!asn1_eq(g->d.rfc822Name, spec->mailbox))
				FAIL("rfc822Name is not the mailbox");
			found = true;
			continue;
		}
		if (g->type != GEN_OTHERNAME ||
		    !GENERAL_NAME_get0_otherName(g, &oid, &val))
			FAIL("subjectAltName holds a name type the profile does not allow");
		OBJ_obj2txt(txt, sizeof(txt), oid, 1);
		if (strcmp(txt, "1.3.6.1.5.5.7.8.9") == 0) {
			if (val->type != V_ASN1_UTF8STRING || !asn1_eq(val->value.utf8string,
			    spec->mailbox) || ca_mailbox_ascii_local(spec->mailbox))
				FAIL("SmtpUTF8Mailbox must hold a non-ASCII mailbox");
			found = true;
		} else if (spec->req->generation != CA_GEN_MULTIPURPOSE)
			FAIL("otherName %s is not allowed in the Strict generation", txt);
	}
	if (!found)
		FAIL("subjectAltName does not hold the mailbox");
	r = CA_OK;
out:
	GENERAL_NAMES_free(gens);
	return r;
}

/* Typed frees, so that one pointer can hold whichever extension value is being checked. */
static void ku_free(void *p) { ASN1_BIT_STRING_free(p); }
static void eku_free(void *p) { sk_ASN1_OBJECT_pop_free(p, ASN1_OBJECT_free); }
static void cp_free(void *p) { CERTIFICATEPOLICIES_free(p); }
static void dps_free(void *p) { CRL_DIST_POINTS_free(p); }
static void aia_free(void *p) { AUTHORITY_INFO_ACCESS_free(p); }
static void aki_free(void *p) { AUTHORITY_KEYID_free(p); }
static void bc_free(void *p) { BASIC_CONSTRAINTS_free(p); }

static int
check_extensions(struct ca *ca, X509 *x, const struct ca_issuer *iss,
    const struct ca_leaf_spec *spec, struct ca_error *err)
{
	const STACK_OF(X509_EXTENSION) *exts = X509_get0_extensions(x);
	unsigned int seen = 0, want_ku;
	unsigned char ski[20], md[20];
	unsigned int mdlen = 0;
	int i, nid, crit, r = CA_INVALID;
	void *v = NULL;
	void (*vfree)(void *) = NULL;

	want_ku = (spec->uses & CA_USE_SIGN ? KU_DIGITAL_SIGNATURE : 0) |
	    (!(spec->uses & CA_USE_ENCRYPT) ? 0 : EVP_PKEY_is_a(X509_get0_pubkey(x), "EC") ?
	    KU_KEY_AGREEMENT : KU_KEY_ENCIPHERMENT);
	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);

		nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
		crit = X509_EXTENSION_get_critical(ext);
		if (X509_get_ext_by_OBJ(x, X509_EXTENSION_get_object(ext), i) >= 0)
			FAIL("an extension appears twice");
		switch (nid) {
		case NID_key_usage: {
			ASN1_BIT_STRING *ku = v = X509V3_EXT_d2i(ext);
			vfree = ku_free;
			unsigned int bits = 0;
			int b;

			if (ku == NULL || !crit)
				FAIL("keyUsage must be present and critical");
			for (b = 0; b < 9; b++)
				if (ASN1_BIT_STRING_get_bit(ku, b))
					bits |= b < 8 ? (0x80u >> b) : 0x8000u;
			if (bits != want_ku)
				FAIL("keyUsage bits do not suit the key type and use");
			vfree(v);
			v = NULL;
			seen |= 1;
			break;
		}
		case NID_ext_key_usage: {
			EXTENDED_KEY_USAGE *eku = v = X509V3_EXT_d2i(ext);
			vfree = eku_free;
			int j, n, email = 0;

			if (eku == NULL || crit)
				FAIL("extKeyUsage must be present and not critical");
			n = sk_ASN1_OBJECT_num(eku);
			for (j = 0; j < n; j++) {
				int e = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, j));

				if (e == NID_email_protect)
					email = 1;
				else if (spec->req->generation == CA_GEN_STRICT || e ==
				    NID_server_auth || e == NID_code_sign || e == NID_time_stamp ||
				    e == NID_anyExtendedKeyUsage)
					FAIL("extKeyUsage holds a purpose the generation forbids");
			}
			if (!email)
				FAIL("extKeyUsage lacks emailProtection");
			vfree(v);
			v = NULL;
			seen |= 2;
			break;
		}
		case NID_certificate_policies: {
			CERTIFICATEPOLICIES *cp = v = X509V3_EXT_d2i(ext);
			vfree = cp_free;
			int j, reserved = 0;
			char txt[64];

			if (cp == NULL || crit)
				FAIL("certificatePolicies must be present and not critical");
			for (j = 0; j < sk_POLICYINFO_num(cp); j++) {
				OBJ_obj2txt(txt, sizeof(txt), sk_POLICYINFO_value(cp, j)->policyid, 1);
				if (strncmp(txt, "2.23.140.1.5.", 13) == 0) {
					reserved++;
					if (strcmp(txt, ca_policy_oid(spec->req->profile,
					    spec->req->generation)) != 0)
						FAIL("policy %s does not match the profile", txt);
				}
			}
			if (reserved != 1)
				FAIL("exactly one reserved policy identifier is required");
			vfree(v);
			v = NULL;
			seen |= 4;
			break;
		}
		case NID_crl_distribution_points: {
			CRL_DIST_POINTS *dps = v = X509V3_EXT_d2i(ext);
			vfree = dps_free;
			int j, n = 0;

			if (dps == NULL || crit)
				FAIL("cRLDistributionPoints must be present and not critical");
			for (j = 0; j < sk_DIST_POINT_num(dps); j++) {
				DIST_POINT *dp = sk_DIST_POINT_value(dps, j);

				if (dp->distpoint == NULL || dp->distpoint->type != 0 ||
				    !all_http(dp->distpoint->name.fullname, &n))
					FAIL("CRL distribution points must be HTTP fullName URIs");
			}
			if (n == 0)
				FAIL("no CRL distribution point URI");
			vfree(v);
			v = NULL;
			seen |= 8;
			break;
		}
		case NID_info_access: {
			AUTHORITY_INFO_ACCESS *aia = v = X509V3_EXT_d2i(ext);
			vfree = aia_free;
			int j, n = 0, ca_issuers = 0, ocsp = 0;

			if (aia == NULL || crit)
				FAIL("authorityInformationAccess must not be critical");
			for (j = 0; j < sk_ACCESS_DESCRIPTION_num(aia); j++) {
				ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, j);
				GENERAL_NAMES *one = sk_GENERAL_NAME_new_null();
				bool ok;

				sk_GENERAL_NAME_push(one, ad->location);
				ok = all_http(one, &n);
				sk_GENERAL_NAME_free(one);
				if (!ok)
					FAIL("authorityInformationAccess URIs must be HTTP");
				ca_issuers |= OBJ_obj2nid(ad->method) == NID_ad_ca_issuers;
				if (OBJ_obj2nid(ad->method) == NID_ad_OCSP) {
					if (ca->ocsp_url == NULL || !asn1_eq(
					    ad->location->d.uniformResourceIdentifier, ca->ocsp_url))
						FAIL("authorityInformationAccess OCSP is not ocsp_url");
					ocsp++;
				}
			}
			if (!ca_issuers)
				FAIL("authorityInformationAccess lacks caIssuers");
			if (ocsp != (ca->ocsp_url != NULL ? 1 : 0))
				FAIL("authorityInformationAccess must hold ocsp_url once when set");
			vfree(v);
			v = NULL;
			seen |= 16;
			break;
		}
		case NID_authority_key_identifier: {
			AUTHORITY_KEYID *aki = v = X509V3_EXT_d2i(ext);
			vfree = aki_free;

			if (aki == NULL || crit || aki->keyid == NULL || aki->issuer != NULL ||
			    aki->serial != NULL)
				FAIL("authorityKeyIdentifier must hold keyIdentifier only");
			if (ca_ski(iss->cert, ski) < 0 || ASN1_STRING_length(aki->keyid) != 20 ||
			    memcmp(ASN1_STRING_get0_data(aki->keyid), ski, 20) != 0)
				FAIL("authorityKeyIdentifier is not the issuer's key identifier");
			vfree(v);
			v = NULL;
			seen |= 32;
			break;
		}
		case NID_subject_key_identifier:
			if (crit || ca_ski(x, ski) < 0 || !X509_pubkey_digest(x, EVP_sha1(), md,
			    &mdlen) || mdlen != 20 || memcmp(md, ski, 20) != 0)
				FAIL("subjectKeyIdentifier must be the key's SHA-1, not critical");
			seen |= 64;
			break;
		case NID_subject_alt_name:
			if (check_san(ext, x, spec, err) != CA_OK)
				goto out;
			seen |= 128;
			break;
		case NID_basic_constraints: {
			BASIC_CONSTRAINTS *bc = v = X509V3_EXT_d2i(ext);
			vfree = bc_free;

			if (bc == NULL || bc->ca || bc->pathlen != NULL)
				FAIL("basicConstraints must not say CA");
			vfree(v);
			v = NULL;
			break;
		}
		default:
			FAIL("extension %s is not in the profile", OBJ_nid2sn(nid));
		}
	}
	if ((seen & 255) != 255)
		FAIL("a required extension is missing");
	r = CA_OK;
out:
	if (v != NULL)
		vfree(v); /* decoded before a failed check */
	return r;
}

int
ca_leaf_check(struct ca *ca, const struct ca_issuer *iss, const unsigned char *der,
    size_t len, const struct ca_leaf_spec *spec, struct ca_error *err)
{
	const unsigned char *p = der;
	const X509_ALGOR *outer = NULL;
	const ASN1_INTEGER *sn;
	const unsigned char *a, *b;
	size_t alen, blen;
	BIGNUM *bn = NULL;
	X509 *x = NULL;
	int days, secs, r = CA_INVALID;

	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL || p != der + len)
		FAIL("certificate does not re-decode");
	if (X509_get_version(x) != X509_VERSION_3)
		FAIL("not an X.509 v3 certificate");
	sn = X509_get0_serialNumber(x);
	if ((bn = ASN1_INTEGER_to_BN(sn, NULL)) == NULL || BN_is_negative(bn) || BN_is_zero(bn) ||
	    BN_num_bits(bn) < 64 || BN_num_bits(bn) > 159)
		FAIL("serial number must be positive, 64..159 bits");
	X509_get0_signature(NULL, &outer, x);
	if (!ca_sigalg_fits(outer, iss->key != NULL ? iss->key : X509_get0_pubkey(iss->cert)) ||
	    X509_ALGOR_cmp(outer, X509_get0_tbs_sigalg(x)) != 0)
		FAIL("signature algorithm does not match the issuer key");
	if (!spki_ok(x))
		FAIL("subjectPublicKeyInfo encoding is not allowed");
	if (!X509_NAME_get0_der(X509_get_issuer_name(x), &a, &alen) ||
	    !X509_NAME_get0_der(X509_get_subject_name(iss->cert), &b, &blen) || alen != blen ||
	    memcmp(a, b, alen) != 0)
		FAIL("issuer name is not byte-identical to the CA subject");
	if (!ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)) ||
	    days < 0 || (long long)days * 86400 + secs >= CA_MAX_VALIDITY || (days == 0 &&
	    secs <= 0))
		FAIL("validity must be positive and under 825 days");
	if (check_subject(ca, x, spec, err) != CA_OK ||
	    check_extensions(ca, x, iss, spec, err) != CA_OK)
		goto out;
	if (X509_verify(x, X509_get0_pubkey(iss->cert)) != 1)
		FAIL("signature does not verify with the issuing CA key");
	r = CA_OK;
out:
	BN_free(bn);
	X509_free(x);
	return r;
}
