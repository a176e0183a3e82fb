/*
 * test_cms_signed: the SignedData encoder (milter/engine/cms_signed.c) against OpenSSL's CMS
 * parser and verifier. A CA chain is made in memory (P-256 root and issuing CA; P-256,
 * P-384, P-521, RSA-2048 and RSA-PSS signers, all with the same serial so their
 * encrypKeyPref values can be compared). Checks: the output verifies (CMS_verify, detached
 * content, trusted root only), signed attributes in DER order, messageDigest, signingTime
 * (UTCTime, GeneralizedTime after 2049), SMIMECapabilities and encrypKeyPref equal to what
 * the OpenSSL CMS path (RSA-PSS signer) writes, the digest follows the key (SHA-384 for
 * P-384, SHA-512 for P-521, else SHA-256) with the AlgorithmIdentifiers OpenSSL's CMS_sign
 * writes for it, smime_sign's micalg and its SHA-256 audit figure, a tampered content
 * fails, a mismatched key or an over-long chain is refused, and one template shared by
 * 4 threads x 250 messages.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "milter/engine/cms_signed.h"
#include "milter/engine/smime.h"
#include "tests/tap.h"

#define SERIAL 0x5eed1234L
#define THREADS 4
#define PER_THREAD 250

struct signer {
	const char *name;
	EVP_PKEY *key;
	X509 *cert;
	int md_nid;		/* the digest it must sign with */
	const char *micalg;
};

static X509 *root, *ca;
static EVP_PKEY *root_key, *ca_key;
static STACK_OF(X509) *chain;
static X509_STORE *store;

static EVP_PKEY *
gen(const char *name)
{
	if (strcmp(name, "p256") == 0)
		return EVP_EC_gen("P-256");
	if (strcmp(name, "p384") == 0)
		return EVP_EC_gen("P-384");
	if (strcmp(name, "p521") == 0)
		return EVP_EC_gen("P-521");
	if (strcmp(name, "rsa2048") == 0)
		return EVP_RSA_gen(2048);
	{
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
		EVP_PKEY *k = NULL;

		if (c == NULL || EVP_PKEY_keygen_init(c) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048) <= 0 || EVP_PKEY_keygen(c, &k) <= 0)
			k = NULL;
		EVP_PKEY_CTX_free(c);
		return k;
	}
}

static int
ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX c;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&c, issuer, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &c, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

static X509 *
cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey, long serial, bool is_ca)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	char san[128];
	bool ok = x != NULL && n != NULL;

	if (ok) {
		X509_set_version(x, 2);
		ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
		X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
		    -1, 0);
		X509_set_subject_name(x, n);
		X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : n);
		X509_gmtime_adj(X509_getm_notBefore(x), -3600);
		X509_gmtime_adj(X509_getm_notAfter(x), 86400L);
		X509_set_pubkey(x, key);
		if (is_ca) {
			ok = ext(x, issuer != NULL ? issuer : x, NID_basic_constraints,
			    "critical,CA:TRUE") && ext(x, issuer != NULL ? issuer : x,
			    NID_key_usage, "critical,keyCertSign,cRLSign");
		} else {
			snprintf(san, sizeof(san), "email:%s", cn);
			ok = ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
			    ext(x, issuer, NID_key_usage, "critical,digitalSignature") &&
			    ext(x, issuer, NID_ext_key_usage, "emailProtection") &&
			    ext(x, issuer, NID_subject_alt_name, san);
		}
		ok = ok && X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256()) > 0;
	}
	X509_NAME_free(n);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Verify `der` over content against the root only; 1 when it verifies. */
static int
verify(const unsigned char *der, size_t len, const unsigned char *content, size_t clen)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	BIO *in = BIO_new_mem_buf(content, (int)clen);
	int ok = cms != NULL && in != NULL && p == der + len &&
	    CMS_verify(cms, NULL, store, in, NULL, CMS_BINARY) == 1;

	BIO_free(in);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return ok;
}

/* The DER of signed attribute `nid`'s single value, or an empty blob. */
static ASN1_TYPE *
attr_value(CMS_SignerInfo *si, int nid)
{
	int i = CMS_signed_get_attr_by_NID(si, nid, -1);
	X509_ATTRIBUTE *a = i >= 0 ? CMS_signed_get_attr(si, i) : NULL;

	return a != NULL && X509_ATTRIBUTE_count(a) == 1 ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
}

static bool
same_value(ASN1_TYPE *a, ASN1_TYPE *b)
{
	return a != NULL && b != NULL && ASN1_TYPE_cmp(a, b) == 0;
}

/* Are the signed attributes, in the order they were decoded, in DER SET OF order? */
static bool
attrs_sorted(CMS_SignerInfo *si, int *count)
{
	bool ok = true;

	for (int i = 0; i + 1 < CMS_signed_get_attr_count(si); i++) {
		unsigned char *a = NULL, *b = NULL;
		int al = i2d_X509_ATTRIBUTE(CMS_signed_get_attr(si, i), &a);
		int bl = i2d_X509_ATTRIBUTE(CMS_signed_get_attr(si, i + 1), &b);
		int c = al > 0 && bl > 0 ? memcmp(a, b, (size_t)(al < bl ? al : bl)) : 0;

		if (al <= 0 || bl <= 0 || c > 0 || (c == 0 && al > bl))
			ok = false;
		OPENSSL_free(a);
		OPENSSL_free(b);
	}
	*count = CMS_signed_get_attr_count(si);
	return ok;
}

static bool
certs_sorted(STACK_OF(X509) *certs)
{
	unsigned char *a = NULL, *b = NULL;
	int al = i2d_X509(sk_X509_value(certs, 0), &a), bl = i2d_X509(sk_X509_value(certs, 1), &b);
	int c = al > 0 && bl > 0 ? memcmp(a, b, (size_t)(al < bl ? al : bl)) : 1;

	OPENSSL_free(a);
	OPENSSL_free(b);
	return c < 0 || (c == 0 && al <= bl);
}

/* Parsed view of one encoding. Lifetime: one check. */
struct parsed {
	CMS_ContentInfo *cms;
	CMS_SignerInfo *si;
};

static bool
parse(const unsigned char *der, size_t len, struct parsed *pp)
{
	const unsigned char *p = der;

	pp->si = NULL;
	pp->cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	if (pp->cms != NULL && CMS_get0_SignerInfos(pp->cms) != NULL)
		pp->si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(pp->cms), 0);
	return pp->si != NULL;
}

/* The signatureAlgorithm OpenSSL writes for an EC key with this digest (RFC 5758 3.2). */
static int
ecdsa_nid(int md_nid)
{
	return md_nid == NID_sha512 ? NID_ecdsa_with_SHA512 : md_nid == NID_sha384 ?
	    NID_ecdsa_with_SHA384 : NID_ecdsa_with_SHA256;
}

/*
 * Are the digest and signature AlgorithmIdentifiers of `ours` those OpenSSL's own CMS_sign
 * writes for the same signer and digest (what smime_sign's OpenSSL path does)?
 */
static bool
same_algs_as_openssl(const struct signer *s, CMS_SignerInfo *ours)
{
	const unsigned int flags = CMS_DETACHED | CMS_BINARY | CMS_PARTIAL;
	BIO *in = BIO_new_mem_buf("x\r\n", 3);
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	CMS_SignerInfo *si = cms != NULL ? CMS_add1_signer(cms, s->cert, s->key,
	    EVP_get_digestbynid(s->md_nid), flags) : NULL;
	X509_ALGOR *d1 = NULL, *g1 = NULL, *d2 = NULL, *g2 = NULL;
	bool ok = in != NULL && si != NULL && CMS_final(cms, in, NULL, flags) == 1;

	if (ok) {
		CMS_SignerInfo_get0_algs(si, NULL, NULL, &d1, &g1);
		CMS_SignerInfo_get0_algs(ours, NULL, NULL, &d2, &g2);
		ok = d1 != NULL && d2 != NULL && g1 != NULL && g2 != NULL &&
		    X509_ALGOR_cmp(d1, d2) == 0 && X509_ALGOR_cmp(g1, g2) == 0;
	}
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return ok;
}

/* The CMS signature of an smime_sign result and its signed entity. */
static bool
split_result(struct smime_result *res, unsigned char **p7s, size_t *p7s_len, char **entity,
    size_t *entity_len)
{
	const char *ct = NULL, *b;
	char boundary[128], delim[140], *body, *s, *e, *h;
	size_t n = spool_size(res->body), m;
	EVP_ENCODE_CTX *dc;
	int outl = 0, fin = 0;

	for (size_t i = 0; i < res->add_count; i++)
		if (strcmp(res->add[i].name, "Content-Type") == 0)
			ct = res->add[i].value;
	if (ct == NULL || (b = strstr(ct, "boundary=\"")) == NULL ||
	    sscanf(b + 10, "%100[^\"]", boundary) != 1)
		return false;
	if ((body = malloc(n + 1)) == NULL || spool_rewind(res->body) != 0 ||
	    spool_read(res->body, body, n) != (ssize_t)n) {
		free(body);
		return false;
	}
	body[n] = '\0';
	snprintf(delim, sizeof(delim), "--%s\r\n", boundary);
	s = strstr(body, delim);
	snprintf(delim, sizeof(delim), "\r\n--%s\r\n", boundary);
	e = s != NULL ? strstr(s, delim) : NULL;
	h = e != NULL ? strstr(e, "\r\n\r\n") : NULL;
	if (h == NULL) {
		free(body);
		return false;
	}
	s += strlen(boundary) + 4;
	*entity_len = (size_t)(e - s);
	h += 4;
	m = strlen(h);
	*entity = malloc(*entity_len + 1);
	*p7s = malloc(m + 1);
	dc = EVP_ENCODE_CTX_new();
	if (*entity == NULL || *p7s == NULL || dc == NULL) {
		EVP_ENCODE_CTX_free(dc);
		free(body);
		return false;
	}
	memcpy(*entity, s, *entity_len);
	EVP_DecodeInit(dc);
	/* the closing delimiter is not base64: the decoder stops at '-' with an error */
	{
		char *end = strstr(h, "\r\n--");

		m = end != NULL ? (size_t)(end - h) : m;
	}
	if (EVP_DecodeUpdate(dc, *p7s, &outl, (unsigned char *)h, (int)m) < 0 ||
	    EVP_DecodeFinal(dc, *p7s + outl, &fin) != 1)
		outl = -1;
	EVP_ENCODE_CTX_free(dc);
	free(body);
	*p7s_len = outl >= 0 ? (size_t)(outl + fin) : 0;
	return outl > 0;
}

static enum smime_status
sign_message(const struct signer *s, const struct cms_signed_template *t, const char *text,
    struct smime_result *res, struct smime_error *err)
{
	static const struct smime_header hdr[] = { { "From", "a@example.org" },
		{ "Subject", "test" }, { "Content-Type", "text/plain" } };
	struct spool *body = spool_new(1 << 20, "/tmp", 0);
	struct smime_message msg = { hdr, 3, body };
	struct smime_options opt = { false, SMIME_AES256_CBC, 1 << 20, "/tmp", 0 };
	struct smime_signer sg = { s->key, s->cert, chain, t, NULL, 0 };
	enum smime_status st = SMIME_ERROR;

	if (body != NULL && spool_write(body, text, strlen(text)) == 0)
		st = smime_sign(&msg, &sg, &opt, res, err);
	spool_free(body);
	return st;
}

/* Expected values, taken from the OpenSSL CMS path's output (RSA-PSS signer). */
static ASN1_TYPE *want_caps, *want_keypref;
static struct parsed fallback;

static void
check_signer(const struct signer *s)
{
	struct smime_error err = { "" };
	struct cms_signed_template *t = cms_signed_template_new(s->key, s->cert, chain, NULL, 0,
	    &err);
	unsigned char content[3000], digest[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int dlen = 0;
	size_t len = 0;
	struct parsed pp = { NULL, NULL };
	time_t now = time(NULL);
	int count = 0;

	tap_ok(t != NULL, "%s: template built (%s)", s->name, err.text);
	if (t == NULL)
		return;
	tap_ok(cms_signed_template_digest(t)->nid == s->md_nid &&
	    cms_signed_digest_for(s->key) == cms_signed_template_digest(t) &&
	    EVP_MD_get_type(cms_signed_md(t)) == s->md_nid &&
	    strcmp(cms_signed_template_digest(t)->micalg, s->micalg) == 0,
	    "%s: template digest %s", s->name, s->micalg);
	RAND_bytes(content, sizeof(content));
	EVP_Digest(content, sizeof(content), digest, &dlen, EVP_get_digestbynid(s->md_nid), NULL);
	tap_ok(cms_signed_encode(t, digest, dlen == 32 ? 48 : 32, now, &der, &len, &err) != 0 &&
	    der == NULL, "%s: a digest of the wrong length is refused (%s)", s->name, err.text);
	tap_ok(cms_signed_encode(t, digest, dlen, now, &der, &len, &err) == 0, "%s: encoded",
	    s->name);
	tap_ok(der != NULL && verify(der, len, content, sizeof(content)),
	    "%s: CMS_verify against the root with the detached content", s->name);
	if (der != NULL && parse(der, len, &pp)) {
		ASN1_TYPE *md = attr_value(pp.si, NID_pkcs9_messageDigest);
		ASN1_TYPE *st = attr_value(pp.si, NID_pkcs9_signingTime);
		X509_ALGOR *dig = NULL, *sig = NULL;
		STACK_OF(X509) *certs;
		int ptype = -2;
		int day = 0, sec = 0;

		bool sorted = attrs_sorted(pp.si, &count);

		tap_ok(sorted && count == 5, "%s: five signed attributes in DER order (%d)",
		    s->name, count);
		tap_ok(md != NULL && md->type == V_ASN1_OCTET_STRING &&
		    md->value.octet_string->length == (int)dlen &&
		    memcmp(md->value.octet_string->data, digest, dlen) == 0,
		    "%s: messageDigest is the %s of the content", s->name, s->micalg);
		tap_ok(st != NULL && st->type == V_ASN1_UTCTIME &&
		    ASN1_TIME_diff(&day, &sec, st->value.utctime, NULL) == 1 && day == 0 &&
		    sec >= -60 && sec <= 60, "%s: signingTime is a UTCTime within a minute of now",
		    s->name);
		tap_ok(same_value(attr_value(pp.si, NID_SMIMECapabilities), want_caps),
		    "%s: SMIMECapabilities as the OpenSSL path writes it", s->name);
		tap_ok(same_value(attr_value(pp.si, NID_id_smime_aa_encrypKeyPref), want_keypref),
		    "%s: encrypKeyPref as the OpenSSL path writes it", s->name);
		tap_ok(attr_value(pp.si, NID_pkcs9_contentType) != NULL &&
		    OBJ_obj2nid(attr_value(pp.si, NID_pkcs9_contentType)->value.object) ==
		    NID_pkcs7_data, "%s: contentType is id-data", s->name);
		CMS_SignerInfo_get0_algs(pp.si, NULL, NULL, &dig, &sig);
		if (sig != NULL)
			X509_ALGOR_get0(NULL, &ptype, NULL, sig);
		tap_ok(dig != NULL && OBJ_obj2nid(dig->algorithm) == s->md_nid &&
		    dig->parameter == NULL && sig != NULL &&
		    (EVP_PKEY_is_a(s->key, "RSA") ?
		    OBJ_obj2nid(sig->algorithm) == NID_rsaEncryption && ptype == V_ASN1_NULL :
		    OBJ_obj2nid(sig->algorithm) == ecdsa_nid(s->md_nid) && ptype == V_ASN1_UNDEF),
		    "%s: digestAlgorithm %s (parameters absent), signatureAlgorithm %s", s->name,
		    OBJ_nid2sn(s->md_nid), EVP_PKEY_is_a(s->key, "RSA") ? "rsaEncryption (NULL)" :
		    OBJ_nid2sn(ecdsa_nid(s->md_nid)));
		tap_ok(same_algs_as_openssl(s, pp.si),
		    "%s: the AlgorithmIdentifiers OpenSSL's CMS_sign writes with that digest", s->name);
		certs = CMS_get1_certs(pp.cms);
		tap_ok(sk_X509_num(certs) == 2 && certs_sorted(certs) &&
		    ((X509_cmp(sk_X509_value(certs, 0), ca) == 0 &&
		    X509_cmp(sk_X509_value(certs, 1), s->cert) == 0) ||
		    (X509_cmp(sk_X509_value(certs, 1), ca) == 0 &&
		    X509_cmp(sk_X509_value(certs, 0), s->cert) == 0)),
		    "%s: certificates: the issuing CA and the signer, in DER order", s->name);
		sk_X509_pop_free(certs, X509_free);
	} else {
		tap_ok(0, "%s: parses", s->name);
	}
	CMS_ContentInfo_free(pp.cms);
	content[1234] ^= 1;
	tap_ok(der != NULL && !verify(der, len, content, sizeof(content)),
	    "%s: one changed content byte fails verification", s->name);
	OPENSSL_free(der);
	der = NULL;
	/* 2051-01-01: GeneralizedTime (RFC 5652 11.3) */
	if (cms_signed_encode(t, digest, dlen, (time_t)2556144000LL, &der, &len, &err) == 0 &&
	    parse(der, len, &pp)) {
		ASN1_TYPE *st = attr_value(pp.si, NID_pkcs9_signingTime);

		tap_ok(st != NULL && st->type == V_ASN1_GENERALIZEDTIME &&
		    st->value.generalizedtime->length == 15 &&
		    memcmp(st->value.generalizedtime->data, "20510101000000Z", 15) == 0,
		    "%s: a signing time in 2051 is a GeneralizedTime", s->name);
		CMS_ContentInfo_free(pp.cms);
	} else {
		tap_ok(0, "%s: a signing time in 2051 encodes", s->name);
	}
	OPENSSL_free(der);
	cms_signed_template_free(t);
}

/*
 * The digests of an smime_sign result: micalg names the signer's digest, the messageDigest
 * is that digest of the entity, and the audit figure stays its SHA-256.
 */
static void
check_result_digests(const struct signer *s, const struct smime_result *res,
    const unsigned char *p7s, size_t plen, const char *entity, size_t elen)
{
	unsigned char want[EVP_MAX_MD_SIZE], sha[32];
	unsigned int wlen = 0;
	char micalg[32];
	const char *ct = NULL;
	struct parsed pp = { NULL, NULL };
	ASN1_TYPE *md;

	for (size_t i = 0; i < res->add_count; i++)
		if (strcmp(res->add[i].name, "Content-Type") == 0)
			ct = res->add[i].value;
	snprintf(micalg, sizeof(micalg), "micalg=%s;", s->micalg);
	tap_ok(ct != NULL && strstr(ct, micalg) != NULL, "%s smime_sign: %s", s->name, micalg);
	EVP_Digest(entity, elen, want, &wlen, EVP_get_digestbynid(s->md_nid), NULL);
	EVP_Digest(entity, elen, sha, NULL, EVP_sha256(), NULL);
	md = parse(p7s, plen, &pp) ? attr_value(pp.si, NID_pkcs9_messageDigest) : NULL;
	tap_ok(md != NULL && md->type == V_ASN1_OCTET_STRING &&
	    md->value.octet_string->length == (int)wlen &&
	    memcmp(md->value.octet_string->data, want, wlen) == 0,
	    "%s smime_sign: messageDigest is the %s of the entity", s->name, s->micalg);
	tap_ok(memcmp(res->entity_sha256, sha, 32) == 0,
	    "%s smime_sign: entity_sha256 is the entity's SHA-256", s->name);
	CMS_ContentInfo_free(pp.cms);
}

/* A signer through smime_sign, with or without a template, verified like a mail client. */
static void
check_smime_sign(const struct signer *s, bool with_template, struct parsed *keep)
{
	struct smime_error err = { "" };
	struct cms_signed_template *t = with_template ?
	    cms_signed_template_new(s->key, s->cert, chain, NULL, 0, &err) : NULL;
	struct smime_result res;
	unsigned char *p7s = NULL;
	char *entity = NULL;
	size_t plen = 0, elen = 0;
	enum smime_status st = sign_message(s, t, "Hello,\r\nthis is a test.\r\n", &res, &err);

	tap_ok(st == SMIME_OK, "%s smime_sign%s: OK (%s)", s->name,
	    with_template ? " with a template" : "", err.text);
	if (st == SMIME_OK && split_result(&res, &p7s, &plen, &entity, &elen)) {
		tap_ok(verify(p7s, plen, (unsigned char *)entity, elen),
		    "%s smime_sign: the signature verifies over the signed entity", s->name);
		check_result_digests(s, &res, p7s, plen, entity, elen);
		entity[0] ^= 0x20;
		tap_ok(!verify(p7s, plen, (unsigned char *)entity, elen),
		    "%s smime_sign: a changed entity fails", s->name);
		if (keep != NULL)
			tap_ok(parse(p7s, plen, keep), "%s smime_sign: output parses", s->name);
	} else {
		tap_ok(0, "%s smime_sign: result has a signed entity and a signature", s->name);
	}
	free(p7s);
	free(entity);
	if (st == SMIME_OK)
		smime_result_free(&res);
	cms_signed_template_free(t);
}

struct worker {
	const struct cms_signed_template *t;
	int good;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	unsigned char content[512], digest[EVP_MAX_MD_SIZE], *der;
	unsigned int dlen;
	size_t len;

	for (int i = 0; i < PER_THREAD; i++) {
		der = NULL;
		RAND_bytes(content, sizeof(content));
		EVP_Digest(content, sizeof(content), digest, &dlen, cms_signed_md(w->t), NULL);
		if (cms_signed_encode(w->t, digest, dlen, time(NULL), &der, &len, NULL) == 0 &&
		    verify(der, len, content, sizeof(content)))
			w->good++;
		OPENSSL_free(der);
	}
	return NULL;
}

static void
check_threads(const struct signer *s)
{
	struct cms_signed_template *t = cms_signed_template_new(s->key, s->cert, chain, NULL, 0,
	    NULL);
	struct worker w[THREADS];
	pthread_t th[THREADS];
	int started = 0, good = 0;

	for (int i = 0; t != NULL && i < THREADS; i++) {
		w[i] = (struct worker){ t, 0 };
		if (pthread_create(&th[i], NULL, work, &w[i]) != 0)
			break;
		started++;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		good += w[i].good;
	}
	tap_ok(good == THREADS * PER_THREAD, "%s: one template, %d threads x %d messages: %d "
	    "verify", s->name, THREADS, PER_THREAD, good);
	cms_signed_template_free(t);
}

static void
check_refusals(const struct signer *ec, const struct signer *other, const struct signer *pss)
{
	struct smime_error err = { "" };
	struct cms_signed_template *t;
	STACK_OF(X509) *big = sk_X509_new_null();

	t = cms_signed_template_new(ec->key, other->cert, chain, NULL, 0, &err);
	tap_ok(t == NULL && strstr(err.text, "do not match") != NULL,
	    "key of another certificate refused (%s)", err.text);
	cms_signed_template_free(t);
	t = cms_signed_template_new(pss->key, pss->cert, chain, NULL, 0, &err);
	tap_ok(t == NULL && !cms_signed_supported(pss->key),
	    "RSA-PSS key: no template, left to the OpenSSL path (%s)", err.text);
	cms_signed_template_free(t);
	/* more certificates than the bound: distinct ones, so none is skipped as a duplicate */
	for (int i = 0; big != NULL && i < CMS_SIGNED_MAX_CERTS + 1; i++) {
		X509 *c = cert(ca_key, "filler CA", root, root_key, 1000 + i, true);

		if (c == NULL || !sk_X509_push(big, c))
			X509_free(c);
	}
	t = cms_signed_template_new(ec->key, ec->cert, big, NULL, 0, &err);
	tap_ok(t == NULL && strstr(err.text, "too large") != NULL,
	    "a chain of %d certificates is refused (%s)", sk_X509_num(big), err.text);
	cms_signed_template_free(t);
	{
		struct smime_result res;
		struct signer s = *ec;
		STACK_OF(X509) *saved = chain;
		enum smime_status st;

		chain = big;
		st = sign_message(&s, NULL, "x\r\n", &res, &err);
		chain = saved;
		tap_ok(st == SMIME_ERROR && strstr(err.text, "too large") != NULL,
		    "smime_sign with that chain: SMIME_ERROR (%s)", err.text);
		if (st == SMIME_OK)
			smime_result_free(&res);
	}
	sk_X509_pop_free(big, X509_free);
}

int
main(void)
{
	/* name, digest, micalg: RFC 5753 7.2 / RFC 6318 pair P-384 with SHA-384, P-521 with SHA-512 */
	static const struct { const char *name; int md_nid; const char *micalg; } want[] = {
		{ "p256", NID_sha256, "sha-256" }, { "p384", NID_sha384, "sha-384" },
		{ "p521", NID_sha512, "sha-512" }, { "rsa2048", NID_sha256, "sha-256" },
		{ "rsa-pss", NID_sha256, "sha-256" } };
	enum { N = sizeof(want) / sizeof(want[0]), PSS = N - 1 };
	struct signer s[N];
	bool ok = true;

	root_key = EVP_EC_gen("P-256");
	ca_key = EVP_EC_gen("P-256");
	root = root_key != NULL ? cert(root_key, "test root", NULL, NULL, 1, true) : NULL;
	ca = ca_key != NULL && root != NULL ? cert(ca_key, "test issuing CA", root, root_key, 2, true) :
	    NULL;
	chain = sk_X509_new_null();
	store = X509_STORE_new();
	if (ca == NULL || chain == NULL || store == NULL || !sk_X509_push(chain, ca) ||
	    X509_STORE_add_cert(store, root) != 1)
		tap_skip_all("cannot make a test CA");
	X509_STORE_set_purpose(store, X509_PURPOSE_SMIME_SIGN);
	for (int i = 0; i < N; i++) {
		char cn[64];

		snprintf(cn, sizeof(cn), "user-%s@example.org", want[i].name);
		s[i].name = want[i].name;
		s[i].md_nid = want[i].md_nid;
		s[i].micalg = want[i].micalg;
		s[i].key = gen(want[i].name);
		s[i].cert = s[i].key != NULL ? cert(s[i].key, cn, ca, ca_key, SERIAL, false) : NULL;
		if (s[i].cert == NULL)
			tap_diag("cannot make signer %s", want[i].name);
		ok = ok && s[i].cert != NULL;
	}
	if (!ok)
		tap_skip_all("cannot make the test signers");

	/* the OpenSSL CMS path (RSA-PSS key) first: it gives the expected attribute values */
	check_smime_sign(&s[PSS], false, &fallback);
	want_caps = fallback.si != NULL ? attr_value(fallback.si, NID_SMIMECapabilities) : NULL;
	want_keypref = fallback.si != NULL ?
	    attr_value(fallback.si, NID_id_smime_aa_encrypKeyPref) : NULL;
	tap_ok(want_caps != NULL && want_keypref != NULL,
	    "OpenSSL path writes SMIMECapabilities and encrypKeyPref");
	for (int i = 0; i < PSS; i++) {
		check_signer(&s[i]);
		check_smime_sign(&s[i], false, NULL);
		check_smime_sign(&s[i], true, NULL);
	}
	check_threads(&s[0]);
	check_threads(&s[1]);
	check_threads(&s[3]);
	check_refusals(&s[0], &s[1], &s[PSS]);

	CMS_ContentInfo_free(fallback.cms);
	for (int i = 0; i < N; i++) {
		EVP_PKEY_free(s[i].key);
		X509_free(s[i].cert);
	}
	X509_STORE_free(store);
	sk_X509_free(chain);
	X509_free(ca);
	X509_free(root);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(root_key);
	return tap_done();
}
