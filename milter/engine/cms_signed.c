/*
 * cms_signed: DER encoder for detached CMS SignedData (RFC 5652 5.1-5.4) with the S/MIME
 * signed attributes of RFC 8551 2.5, and its per-signer template. Owns the template and
 * the DER it returns; borrows the key, certificate and chain only while building.
 *
 * Output, byte for byte the layout OpenSSL's CMS encoder gives for the same signer:
 *   ContentInfo { signedData, [0] SignedData {
 *     version 1, digestAlgorithms { D (parameters absent) }, encapContentInfo { data },
 *     certificates [0] (signer + chain, SET OF sorted by DER),
 *     signerInfos { SignerInfo { version 1, IssuerAndSerialNumber, D,
 *       signedAttrs [0] (contentType, signingTime, messageDigest, encrypKeyPref,
 *         SMIMECapabilities: SET OF sorted by DER, X.690 11.6),
 *       ecdsa-with-D (absent) | rsaEncryption (NULL), signature } } } }
 * where D, the digest, follows the key (cms_signed_digest_for): sha256, or sha384 / sha512
 * for P-384 / P-521.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/rsa.h>

#include "milter/engine/cms_signed.h"

/* Upper bound of any encoding here, so lengths fit 3 octets and sums cannot overflow. */
#define DER_MAX (16u * 1024 * 1024)
/* Largest signature accepted: RSA up to 8192 bits; ECDSA P-521 needs 139 octets. */
#define SIG_MAX 1024

static const unsigned char OID_SIGNED_DATA[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
	0x01, 0x07, 0x02 };
/* AlgorithmIdentifiers: digests with absent parameters, ecdsa-with-SHA2 (RFC 5758 3.2) */
#define ALG_DIGEST_LEN 13
#define ALG_ECDSA_LEN 12
static const unsigned char ALG_SHA256[ALG_DIGEST_LEN] = { 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86,
	0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };
static const unsigned char ALG_SHA384[ALG_DIGEST_LEN] = { 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86,
	0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02 };
static const unsigned char ALG_SHA512[ALG_DIGEST_LEN] = { 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86,
	0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03 };
static const unsigned char ALG_ECDSA_SHA256[ALG_ECDSA_LEN] = { 0x30, 0x0a, 0x06, 0x08, 0x2a,
	0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
static const unsigned char ALG_ECDSA_SHA384[ALG_ECDSA_LEN] = { 0x30, 0x0a, 0x06, 0x08, 0x2a,
	0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 };
static const unsigned char ALG_ECDSA_SHA512[ALG_ECDSA_LEN] = { 0x30, 0x0a, 0x06, 0x08, 0x2a,
	0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04 };
static const unsigned char ALG_RSA[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
	0x0d, 0x01, 0x01, 0x01, 0x05, 0x00 };
/* encapContentInfo without content (detached): SEQUENCE { id-data } */
static const unsigned char ENCAP_DATA[] = { 0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
	0xf7, 0x0d, 0x01, 0x07, 0x01 };
/* Attribute { contentType, SET { id-data } } */
static const unsigned char ATTR_CONTENT_TYPE[] = { 0x30, 0x18, 0x06, 0x09, 0x2a, 0x86, 0x48,
	0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03, 0x31, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
	0x0d, 0x01, 0x07, 0x01 };
static const unsigned char OID_MESSAGE_DIGEST[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
	0x0d, 0x01, 0x09, 0x04 };
static const unsigned char OID_SIGNING_TIME[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
	0x0d, 0x01, 0x09, 0x05 };
static const unsigned char OID_SMIME_CAPS[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
	0x01, 0x09, 0x0f };
static const unsigned char OID_ENCRYP_KEY_PREF[] = { 0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7,
	0x0d, 0x01, 0x09, 0x10, 0x02, 0x0b };
/* 1.3.6.1.4.1.311.16.4, Microsoft's encryption key preference (Outlook) */
static const unsigned char OID_MS_KEY_PREF[] = { 0x06, 0x09, 0x2b, 0x06, 0x01, 0x04, 0x01,
	0x82, 0x37, 0x10, 0x04 };
static const unsigned char VERSION_1[] = { 0x02, 0x01, 0x01 };

/* A piece of DER. */
struct blob {
	const unsigned char *p;
	size_t n;
};

/* A signature digest and its DER. */
struct digest_row {
	struct cms_signed_digest d;	/* first: cms_signed_digest_for points at it */
	const unsigned char *alg;	/* digestAlgorithm, ALG_DIGEST_LEN octets */
	const unsigned char *ecdsa;	/* signatureAlgorithm of an EC key, ALG_ECDSA_LEN */
};

static const struct digest_row DIGESTS[] = {
	{ { NID_sha256, "SHA256", "sha-256", 32 }, ALG_SHA256, ALG_ECDSA_SHA256 },
	{ { NID_sha384, "SHA384", "sha-384", 48 }, ALG_SHA384, ALG_ECDSA_SHA384 },
	{ { NID_sha512, "SHA512", "sha-512", 64 }, ALG_SHA512, ALG_ECDSA_SHA512 },
};

/* Lifetime: see cms_signed.h. Never written after cms_signed_template_new returns. */
struct cms_signed_template {
	EVP_PKEY_CTX *sign;		/* sign_init done, padding and digest set; dup'ed per use */
	const struct digest_row *dig;	/* static */
	EVP_MD *md;			/* dig's implementation */
	const unsigned char *sig_alg;	/* static */
	size_t sig_alg_len;
	unsigned char *sd_head;		/* version .. certificates of SignedData */
	size_t sd_head_len;
	unsigned char *si_head;		/* version, sid, digestAlgorithm of SignerInfo */
	size_t si_head_len;
	unsigned char *keypref_attr;
	size_t keypref_attr_len;
	unsigned char *caps_attr;
	size_t caps_attr_len;
	unsigned char *ms_keypref_attr;	/* NULL when the signer certificate also encrypts */
	size_t ms_keypref_attr_len;
};

static void
set_err(struct smime_error *err, const char *text)
{
	if (err != NULL)
		snprintf(err->text, sizeof(err->text), "%s", text);
}

/* Octets of a tag and definite length for n content octets (n <= DER_MAX). */
static size_t
hdr_len(size_t n)
{
	return n < 0x80 ? 2 : n <= 0xff ? 3 : n <= 0xffff ? 4 : 5;
}

/* *acc += n, refusing anything beyond DER_MAX. */
static int
add_len(size_t *acc, size_t n)
{
	if (n > DER_MAX || *acc > DER_MAX - n)
		return -1;
	*acc += n;
	return 0;
}

/* *acc = header + n. */
static int
wrap_len(size_t *acc, size_t n)
{
	if (n > DER_MAX)
		return -1;
	*acc = 0;
	return add_len(acc, hdr_len(n)) == 0 && add_len(acc, n) == 0 ? 0 : -1;
}

static unsigned char *
put_hdr(unsigned char *p, unsigned char tag, size_t n)
{
	*p++ = tag;
	if (n < 0x80) {
		*p++ = (unsigned char)n;
	} else if (n <= 0xff) {
		*p++ = 0x81;
		*p++ = (unsigned char)n;
	} else if (n <= 0xffff) {
		*p++ = 0x82;
		*p++ = (unsigned char)(n >> 8);
		*p++ = (unsigned char)n;
	} else {
		*p++ = 0x83;
		*p++ = (unsigned char)(n >> 16);
		*p++ = (unsigned char)(n >> 8);
		*p++ = (unsigned char)n;
	}
	return p;
}

static unsigned char *
put(unsigned char *p, const void *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/*
 * Concatenate pieces, under one TLV header unless tag is 0. malloc'd result and its
 * length in *len, or NULL.
 */
static unsigned char *
build(unsigned char tag, const struct blob *v, size_t count, size_t *len)
{
	size_t content = 0, total;
	unsigned char *der, *p;

	for (size_t i = 0; i < count; i++)
		if (add_len(&content, v[i].n) != 0)
			return NULL;
	if (tag == 0)
		total = content;
	else if (wrap_len(&total, content) != 0)
		return NULL;
	if ((der = malloc(total > 0 ? total : 1)) == NULL)
		return NULL;
	p = tag != 0 ? put_hdr(der, tag, content) : der;
	for (size_t i = 0; i < count; i++)
		p = put(p, v[i].p, v[i].n);
	*len = total;
	return der;
}

/* X.690 11.6 order of SET OF elements: octet-wise, the shorter as if padded with zeros. */
static int
der_cmp(const struct blob *a, const struct blob *b)
{
	int c = memcmp(a->p, b->p, a->n < b->n ? a->n : b->n);

	if (c != 0)
		return c;
	return a->n < b->n ? -1 : a->n > b->n ? 1 : 0;
}

static int
der_cmp_q(const void *a, const void *b)
{
	return der_cmp(a, b);
}

/* Attribute ::= SEQUENCE { attrType OID, attrValues SET { value } } */
static unsigned char *
attr_new(const unsigned char *oid, size_t oid_len, const unsigned char *value, size_t value_len,
    size_t *len)
{
	struct blob set = { value, value_len }, parts[2];
	unsigned char *s, *a;
	size_t slen;

	if ((s = build(0x31, &set, 1, &slen)) == NULL)
		return NULL;
	parts[0] = (struct blob){ oid, oid_len };
	parts[1] = (struct blob){ s, slen };
	a = build(0x30, parts, 2, len);
	free(s);
	return a;
}

static STACK_OF(X509_ALGOR) *
new_capabilities(unsigned caps)
{
	static const struct { unsigned bit; int nid; } order[] = {
		{ SMIME_CAP_AES256_GCM, NID_aes_256_gcm }, { SMIME_CAP_AES128_GCM, NID_aes_128_gcm },
		{ SMIME_CAP_AES256_CBC, NID_aes_256_cbc }, { SMIME_CAP_AES192_CBC, NID_aes_192_cbc },
		{ SMIME_CAP_AES128_CBC, NID_aes_128_cbc } };
	STACK_OF(X509_ALGOR) *list = sk_X509_ALGOR_new_null();

	if (list == NULL)
		return NULL;
	if (caps == 0)
		caps = SMIME_CAPS_DEFAULT;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if ((caps & order[i].bit) && PKCS7_simple_smimecap(list, order[i].nid, -1) != 1) {
			sk_X509_ALGOR_pop_free(list, X509_ALGOR_free);
			return NULL;
		}
	return list;
}

unsigned
smime_cap_parse(const char *word)
{
	static const struct { const char *w; unsigned bit; } words[] = {
		{ "aes256-gcm", SMIME_CAP_AES256_GCM }, { "aes128-gcm", SMIME_CAP_AES128_GCM },
		{ "aes256-cbc", SMIME_CAP_AES256_CBC }, { "aes192-cbc", SMIME_CAP_AES192_CBC },
		{ "aes128-cbc", SMIME_CAP_AES128_CBC } };

	for (size_t i = 0; word != NULL && i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(word, words[i].w) == 0) /* as the configuration reads it */
			return words[i].bit;
	return 0;
}

int
cms_signed_caps_der(unsigned caps, unsigned char **der)
{
	STACK_OF(X509_ALGOR) *list = new_capabilities(caps);
	int len;

	*der = NULL;
	if (list == NULL)
		return -1;
	len = i2d_X509_ALGORS(list, der);
	sk_X509_ALGOR_pop_free(list, X509_ALGOR_free);
	if (len <= 0) {
		OPENSSL_free(*der);
		*der = NULL;
		return -1;
	}
	return len;
}

/* IssuerAndSerialNumber of cert under `tag` (0x30 for the sid, 0xA0 for encrypKeyPref). */
static unsigned char *
issuer_serial(X509 *cert, unsigned char tag, size_t *len)
{
	unsigned char *name = NULL, *serial = NULL, *der = NULL;
	int nl = i2d_X509_NAME(X509_get_issuer_name(cert), &name);
	int sl = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &serial);

	if (nl > 0 && sl > 0 && (size_t)nl + (size_t)sl <= 65535) {
		struct blob v[2] = { { name, (size_t)nl }, { serial, (size_t)sl } };

		der = build(tag, v, 2, len);
	}
	OPENSSL_free(name);
	OPENSSL_free(serial);
	return der;
}

int
cms_signed_keypref_der(X509 *cert, unsigned char **der)
{
	size_t len = 0;

	*der = issuer_serial(cert, 0xA0, &len);
	return *der != NULL ? (int)len : -1;
}

int
cms_signed_ms_keypref_der(X509 *cert, unsigned char **der)
{
	size_t len = 0;

	*der = issuer_serial(cert, 0x30, &len);
	return *der != NULL ? (int)len : -1;
}

/* By size, not curve name: an EC key's signature is only as strong as the hash it signs. */
static const struct digest_row *
digest_row(const EVP_PKEY *key)
{
	int bits = key != NULL && EVP_PKEY_is_a(key, "EC") ? EVP_PKEY_get_bits(key) : 0;

	return bits > 384 ? &DIGESTS[2] : bits > 256 ? &DIGESTS[1] : &DIGESTS[0];
}

const struct cms_signed_digest *
cms_signed_digest_for(const EVP_PKEY *key)
{
	return &digest_row(key)->d;
}

bool
cms_signed_supported(const EVP_PKEY *key)
{
	char group[64];
	size_t glen = 0;

	if (key == NULL)
		return false;
	if (EVP_PKEY_is_a(key, "RSA"))
		return true;
	if (!EVP_PKEY_is_a(key, "EC") ||
	    EVP_PKEY_get_group_name(key, group, sizeof(group), &glen) != 1)
		return false;
	return strcmp(group, "prime256v1") == 0 || strcmp(group, "secp384r1") == 0 ||
	    strcmp(group, "secp521r1") == 0;
}

/*
 * certificates [0] IMPLICIT SET OF: the signer certificate, its encryption partner and the
 * chain, each once,
 * sorted by DER like every SET OF.
 */
static unsigned char *
certificates(X509 *cert, X509 *enc_cert, STACK_OF(X509) *chain, size_t *len,
    struct smime_error *err)
{
	struct blob certs[CMS_SIGNED_MAX_CERTS];
	unsigned char *ders[CMS_SIGNED_MAX_CERTS], *set = NULL;
	size_t count = 0, total = 0;
	int n = chain != NULL ? sk_X509_num(chain) : 0;

	for (int i = -2; i < n; i++) {
		X509 *c = i == -2 ? cert : i == -1 ? (enc_cert != NULL ? enc_cert : cert) :
		    sk_X509_value(chain, i);
		unsigned char *d = NULL;
		int dl;
		bool dup = false;

		if (c == NULL || (dl = i2d_X509(c, &d)) <= 0) {
			OPENSSL_free(d);
			set_err(err, "cannot encode a certificate of the signer's chain");
			goto out;
		}
		for (size_t j = 0; j < count && !dup; j++)
			dup = certs[j].n == (size_t)dl && memcmp(certs[j].p, d, (size_t)dl) == 0;
		if (dup) {
			OPENSSL_free(d);
			continue;
		}
		if (count == CMS_SIGNED_MAX_CERTS || add_len(&total, (size_t)dl) != 0 ||
		    total > CMS_SIGNED_MAX_CERTS_LEN) {
			OPENSSL_free(d);
			set_err(err, "signer certificate chain too large");
			goto out;
		}
		ders[count] = d;
		certs[count++] = (struct blob){ d, (size_t)dl };
	}
	qsort(certs, count, sizeof(certs[0]), der_cmp_q);
	if ((set = build(0xA0, certs, count, len)) == NULL)
		set_err(err, "out of memory");
out:
	for (size_t j = 0; j < count; j++)
		OPENSSL_free(ders[j]);
	return set;
}

void
cms_signed_template_free(struct cms_signed_template *t)
{
	if (t == NULL)
		return;
	EVP_PKEY_CTX_free(t->sign);
	EVP_MD_free(t->md);
	free(t->sd_head);
	free(t->si_head);
	free(t->keypref_attr);
	free(t->caps_attr);
	free(t->ms_keypref_attr);
	free(t);
}

/* The signing context every message duplicates: key, padding and digest set once. */
static int
make_sign_ctx(struct cms_signed_template *t, EVP_PKEY *key, bool rsa)
{
	int size = EVP_PKEY_get_size(key);

	if (size <= 0 || size > SIG_MAX)
		return -1;
	if ((t->sign = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL ||
	    EVP_PKEY_sign_init(t->sign) <= 0 ||
	    (rsa && EVP_PKEY_CTX_set_rsa_padding(t->sign, RSA_PKCS1_PADDING) <= 0) ||
	    EVP_PKEY_CTX_set_signature_md(t->sign, t->md) <= 0)
		return -1;
	return 0;
}

struct cms_signed_template *
cms_signed_template_new(EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain, X509 *enc_cert,
    unsigned caps_wanted, struct smime_error *err)
{
	struct cms_signed_template *t = NULL;
	unsigned char *certs = NULL, *sid = NULL, *kp = NULL, *caps = NULL;
	size_t certs_len = 0, sid_len = 0, kp_len = 0, dalgs_len = 0;
	unsigned char dalgs[2 + ALG_DIGEST_LEN];
	int caps_len;
	bool rsa, ok = false;

	if (key == NULL || cert == NULL || !cms_signed_supported(key)) {
		set_err(err, "signer key type not supported by the CMS encoder");
		return NULL;
	}
	if (X509_check_private_key(cert, key) != 1) {
		set_err(err, "signer key and certificate do not match");
		goto out;
	}
	rsa = EVP_PKEY_is_a(key, "RSA");
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		set_err(err, "out of memory");
		goto out;
	}
	t->dig = digest_row(key);
	if ((t->md = EVP_MD_fetch(NULL, t->dig->d.name, NULL)) == NULL) {
		set_err(err, "the signer's digest is not available");
		goto out;
	}
	if (make_sign_ctx(t, key, rsa) != 0) {
		set_err(err, "cannot set up a signing context for the signer key");
		goto out;
	}
	t->sig_alg = rsa ? ALG_RSA : t->dig->ecdsa;
	t->sig_alg_len = rsa ? sizeof(ALG_RSA) : ALG_ECDSA_LEN;
	if (enc_cert != NULL && X509_cmp(enc_cert, cert) == 0)
		enc_cert = NULL;
	if ((certs = certificates(cert, enc_cert, chain, &certs_len, err)) == NULL)
		goto out;
	put(put_hdr(dalgs, 0x31, ALG_DIGEST_LEN), t->dig->alg, ALG_DIGEST_LEN);
	dalgs_len = sizeof(dalgs);
	{
		struct blob v[4] = { { VERSION_1, sizeof(VERSION_1) }, { dalgs, dalgs_len },
			{ ENCAP_DATA, sizeof(ENCAP_DATA) }, { certs, certs_len } };

		t->sd_head = build(0, v, 4, &t->sd_head_len);
	}
	if ((sid = issuer_serial(cert, 0x30, &sid_len)) != NULL) {
		struct blob v[3] = { { VERSION_1, sizeof(VERSION_1) }, { sid, sid_len },
			{ t->dig->alg, ALG_DIGEST_LEN } };

		t->si_head = build(0, v, 3, &t->si_head_len);
	}
	if ((kp = issuer_serial(enc_cert != NULL ? enc_cert : cert, 0xA0, &kp_len)) != NULL)
		t->keypref_attr = attr_new(OID_ENCRYP_KEY_PREF, sizeof(OID_ENCRYP_KEY_PREF), kp,
		    kp_len, &t->keypref_attr_len);
	if (enc_cert != NULL) {
		free(kp);
		if ((kp = issuer_serial(enc_cert, 0x30, &kp_len)) == NULL ||
		    (t->ms_keypref_attr = attr_new(OID_MS_KEY_PREF, sizeof(OID_MS_KEY_PREF), kp,
		    kp_len, &t->ms_keypref_attr_len)) == NULL) {
			set_err(err, "cannot encode the encryption key preference");
			goto out;
		}
	}
	if ((caps_len = cms_signed_caps_der(caps_wanted, &caps)) > 0)
		t->caps_attr = attr_new(OID_SMIME_CAPS, sizeof(OID_SMIME_CAPS), caps,
		    (size_t)caps_len, &t->caps_attr_len);
	if (t->sd_head == NULL || t->si_head == NULL || t->keypref_attr == NULL ||
	    t->caps_attr == NULL) {
		set_err(err, "cannot encode the signer's constant CMS parts");
		goto out;
	}
	ok = true;
out:
	free(certs);
	free(sid);
	free(kp);
	OPENSSL_free(caps);
	if (!ok) {
		cms_signed_template_free(t);
		t = NULL;
	}
	ERR_clear_error();
	return t;
}

const struct cms_signed_digest *
cms_signed_template_digest(const struct cms_signed_template *t)
{
	return &t->dig->d;
}

const EVP_MD *
cms_signed_md(const struct cms_signed_template *t)
{
	return t->md;
}

/* Attribute signingTime: UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5652 11.3). */
static int
signing_time_attr(time_t now, unsigned char *buf, size_t cap, size_t *len)
{
	struct tm tm;
	char txt[24];
	int year, n;
	bool utc;
	unsigned char *p;

	if (gmtime_r(&now, &tm) == NULL)
		return -1;
	year = tm.tm_year + 1900;
	if (year < 0 || year > 9999)
		return -1;
	utc = year >= 1950 && year <= 2049;
	n = snprintf(txt, sizeof(txt), utc ? "%02d%02d%02d%02d%02d%02dZ" :
	    "%04d%02d%02d%02d%02d%02dZ", utc ? year % 100 : year, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n != (utc ? 13 : 15) || cap < 2 + sizeof(OID_SIGNING_TIME) + 4 + (size_t)n)
		return -1;
	p = put_hdr(buf, 0x30, sizeof(OID_SIGNING_TIME) + 4 + (size_t)n);
	p = put(p, OID_SIGNING_TIME, sizeof(OID_SIGNING_TIME));
	p = put_hdr(p, 0x31, 2 + (size_t)n);
	p = put_hdr(p, utc ? 0x17 : 0x18, (size_t)n);
	p = put(p, txt, (size_t)n);
	*len = (size_t)(p - buf);
	return 0;
}

/* Sign the digest of `tbs` with a private copy of the template's context. */
static int
sign_attrs(const struct cms_signed_template *t, const unsigned char *tbs, size_t tbs_len,
    unsigned char *sig, size_t *sig_len)
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hl = 0;
	EVP_PKEY_CTX *ctx = NULL;
	int r = -1;

	if (EVP_Digest(tbs, tbs_len, h, &hl, t->md, NULL) != 1 || hl != t->dig->d.len)
		goto out;
	if ((ctx = EVP_PKEY_CTX_dup(t->sign)) == NULL)
		goto out;
	*sig_len = SIG_MAX;
	if (EVP_PKEY_sign(ctx, sig, sig_len, h, hl) <= 0 || *sig_len == 0)
		goto out;
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int
cms_signed_encode(const struct cms_signed_template *t, const unsigned char *digest,
    size_t digest_len, time_t now, unsigned char **der, size_t *der_len,
    struct smime_error *err)
{
	/* OID and at most 4 + 64 octets: below 128, so every header in mdattr is two octets */
	unsigned char stime[40], mdattr[2 + sizeof(OID_MESSAGE_DIGEST) + 4 + EVP_MAX_MD_SIZE], *p;
	unsigned char *set = NULL, *out = NULL, sig[SIG_MAX];
	struct blob attrs[6];
	size_t na = 5;
	size_t stime_len = 0, alen = 0, set_len, set_hdr, sig_len = 0;
	size_t si_c = 0, si, sis, sd_c = 0, sd, a0, ci_c = 0, total;
	int r = -1;

	*der = NULL;
	*der_len = 0;
	if (digest_len != t->dig->d.len) {
		set_err(err, "content digest of the wrong length for the signer");
		goto out;
	}
	if (signing_time_attr(now, stime, sizeof(stime), &stime_len) != 0) {
		set_err(err, "cannot encode the signing time");
		goto out;
	}
	p = put_hdr(mdattr, 0x30, sizeof(OID_MESSAGE_DIGEST) + 4 + digest_len);
	p = put(p, OID_MESSAGE_DIGEST, sizeof(OID_MESSAGE_DIGEST));
	p = put_hdr(p, 0x31, 2 + digest_len);
	p = put(put_hdr(p, 0x04, digest_len), digest, digest_len);
	attrs[0] = (struct blob){ ATTR_CONTENT_TYPE, sizeof(ATTR_CONTENT_TYPE) };
	attrs[1] = (struct blob){ stime, stime_len };
	attrs[2] = (struct blob){ mdattr, (size_t)(p - mdattr) };
	attrs[3] = (struct blob){ t->keypref_attr, t->keypref_attr_len };
	attrs[4] = (struct blob){ t->caps_attr, t->caps_attr_len };
	if (t->ms_keypref_attr != NULL)
		attrs[na++] = (struct blob){ t->ms_keypref_attr, t->ms_keypref_attr_len };
	/* SET OF in DER order; insertion sort of five or six */
	for (size_t i = 1; i < na; i++)
		for (size_t j = i; j > 0 && der_cmp(&attrs[j - 1], &attrs[j]) > 0; j--) {
			struct blob tmp = attrs[j];

			attrs[j] = attrs[j - 1];
			attrs[j - 1] = tmp;
		}
	/* the signature covers the attributes with the SET tag (RFC 5652 5.4) */
	if ((set = build(0x31, attrs, na, &set_len)) == NULL ||
	    sign_attrs(t, set, set_len, sig, &sig_len) != 0) {
		set_err(err, "cannot sign the CMS signed attributes");
		goto out;
	}
	alen = 0;
	for (size_t i = 0; i < na; i++)
		alen += attrs[i].n;	/* bounded: build() checked the same sum */
	set_hdr = set_len - alen;
	if (add_len(&si_c, t->si_head_len) != 0 || add_len(&si_c, set_len) != 0 ||
	    add_len(&si_c, t->sig_alg_len) != 0 || add_len(&si_c, hdr_len(sig_len)) != 0 ||
	    add_len(&si_c, sig_len) != 0 || wrap_len(&si, si_c) != 0 || wrap_len(&sis, si) != 0 ||
	    add_len(&sd_c, t->sd_head_len) != 0 || add_len(&sd_c, sis) != 0 ||
	    wrap_len(&sd, sd_c) != 0 || wrap_len(&a0, sd) != 0 ||
	    add_len(&ci_c, sizeof(OID_SIGNED_DATA)) != 0 || add_len(&ci_c, a0) != 0 ||
	    wrap_len(&total, ci_c) != 0) {
		set_err(err, "CMS signature too large");
		goto out;
	}
	if ((out = OPENSSL_malloc(total)) == NULL) {
		set_err(err, "out of memory");
		goto out;
	}
	p = put_hdr(out, 0x30, ci_c);
	p = put(p, OID_SIGNED_DATA, sizeof(OID_SIGNED_DATA));
	p = put_hdr(p, 0xA0, sd);
	p = put_hdr(p, 0x30, sd_c);
	p = put(p, t->sd_head, t->sd_head_len);
	p = put_hdr(p, 0x31, si);
	p = put_hdr(p, 0x30, si_c);
	p = put(p, t->si_head, t->si_head_len);
	/* signedAttrs [0] IMPLICIT: the same octets as signed, with the tag changed */
	p = put(p, set, set_len);
	p[-(ptrdiff_t)set_len] = 0xA0;
	p = put(p, t->sig_alg, t->sig_alg_len);
	p = put(put_hdr(p, 0x04, sig_len), sig, sig_len);
	if ((size_t)(p - out) != total || set_hdr != hdr_len(alen)) {
		set_err(err, "internal error in the CMS encoder");
		goto out;
	}
	*der = out;
	*der_len = total;
	out = NULL;	/* transferred */
	r = 0;
out:
	OPENSSL_free(out);
	free(set);
	ERR_clear_error();
	return r;
}
