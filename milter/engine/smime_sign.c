/*
 * smime_sign: outbound S/MIME: smime_sign (multipart/signed with detached CMS SignedData,
 * RFC 8551 3.5.3), smime_encrypt (application/pkcs7-mime enveloped-data or, with AES-GCM,
 * authEnveloped-data per RFC 5083; signed first when a signer is given), smime_is_smime
 * and smime_result_free.
 *
 * The inner entity is streamed once from mime_canon through two consumers at the same
 * time: the result spool and a digest context (the signer's digest, cms_signed_digest_for),
 * from which cms_signed encodes the SignedData; for key types cms_signed does not handle,
 * OpenSSL's CMS digest BIO chain (CMS_dataInit/CMS_dataFinal) takes the place of the
 * digest context. When that digest is not SHA-256 (P-384, P-521), a third consumer computes
 * the SHA-256 the audit log records. Keys, certificates and templates are borrowed from the
 * caller.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>

#include "milter/engine/cms_signed.h"
#include "milter/engine/mime_boundary.h"
#include "milter/engine/mime_canon.h"
#include "milter/engine/smime.h"
#include "milter/engine/smime_bio.h"


static void
set_err(struct smime_error *err, const char *text)
{
	if (err != NULL)
		snprintf(err->text, sizeof(err->text), "%s", text);
}

#define TEE_BUF 65536

/*
 * Where the entity bytes go. The small writes of the entity builder (a line, a CRLF) are
 * gathered in buf and passed on in large pieces; tee_flush passes on the rest.
 * Lifetime: one entity build; buf is owned (tee_free).
 */
struct tee {
	struct spool *sp;
	BIO *cms;		/* may be NULL */
	EVP_MD_CTX *md;		/* may be NULL */
	EVP_MD_CTX *audit;	/* SHA-256 beside another signature digest; may be NULL */
	unsigned char *buf;	/* NULL: no buffering (out of memory) */
	size_t len;
};

static int
tee_pass(struct tee *t, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (t->sp != NULL && spool_write(t->sp, p, n) != 0)
		return -1;
	if (t->cms != NULL && BIO_write(t->cms, p, (int)n) != (int)n)
		return -1;
	if (t->md != NULL && EVP_DigestUpdate(t->md, p, n) != 1)
		return -1;
	if (t->audit != NULL && EVP_DigestUpdate(t->audit, p, n) != 1)
		return -1;
	return 0;
}

static int
tee_flush(struct tee *t)
{
	int r = tee_pass(t, t->buf, t->len);

	t->len = 0;
	return r;
}

static int
tee_write(void *arg, const void *p, size_t n)
{
	struct tee *t = arg;

	if (t->buf == NULL)
		return tee_pass(t, p, n);
	if (n > TEE_BUF - t->len && tee_flush(t) != 0)
		return -1;
	if (n >= TEE_BUF)
		return tee_pass(t, p, n);
	memcpy(t->buf + t->len, p, n);
	t->len += n;
	return 0;
}

static void
tee_init(struct tee *t, struct spool *sp)
{
	t->sp = sp;
	t->cms = NULL;
	t->md = NULL;
	t->audit = NULL;
	t->buf = malloc(TEE_BUF);	/* NULL only costs speed */
	t->len = 0;
}

static void
tee_free(struct tee *t)
{
	free(t->buf);
	t->buf = NULL;
}

/* Build the entity through the tee and pass on its last bytes. */
static enum smime_status
tee_entity(const struct smime_message *msg, const struct smime_options *opt, struct tee *t,
    struct smime_error *err)
{
	struct mime_out o = { tee_write, t, false, false };
	enum smime_status st = mime_canon_entity(msg, opt->header_protection, &o, err);

	if (st == SMIME_OK && tee_flush(t) != 0) {
		set_err(err, "cannot write the entity (I/O error or size limit)");
		st = SMIME_ERROR;
	}
	return st;
}

static int
put(struct spool *sp, const char *s)
{
	return spool_write(sp, s, strlen(s)) == 0 ? 0 : -1;
}

/*
 * The encryption key preference: SMIMEEncryptionKeyPreference ::= [0] IMPLICIT
 * IssuerAndSerialNumber (RFC 8551 2.5.3), or Microsoft's plain IssuerAndSerialNumber (ms).
 */
static int
add_key_preference(CMS_SignerInfo *si, X509 *cert, bool ms)
{
	unsigned char *der = NULL;
	int len = ms ? cms_signed_ms_keypref_der(cert, &der) : cms_signed_keypref_der(cert, &der);
	int r = -1;

	if (len > 0 && (ms ? CMS_signed_add1_attr_by_txt(si, CMS_SIGNED_MS_KEYPREF_OID,
	    V_ASN1_SEQUENCE, der, len) : CMS_signed_add1_attr_by_NID(si,
	    NID_id_smime_aa_encrypKeyPref, V_ASN1_SEQUENCE, der, len)) == 1)
		r = 0;
	free(der);
	return r;
}

/*
 * SMIMECapabilities (RFC 8551 2.5.2), built per message: only key types cms_signed does not
 * encode (RSA-PSS) come this way, so there is nothing worth caching.
 */
static int
add_capabilities(CMS_SignerInfo *si, unsigned caps)
{
	unsigned char *der = NULL;
	int len = cms_signed_caps_der(caps, &der), r = -1;

	if (len > 0 && CMS_signed_add1_attr_by_NID(si, NID_SMIMECapabilities, V_ASN1_SEQUENCE,
	    der, len) == 1)
		r = 0;
	OPENSSL_free(der);
	return r;
}

/*
 * The audit figure is the entity's SHA-256 whatever the signature digest. A second context
 * only when the signature uses another one: with SHA-256 (*ctx NULL) the signature's digest
 * is the figure, at no extra cost.
 */
static int
audit_begin(const struct cms_signed_digest *dig, EVP_MD_CTX **ctx)
{
	*ctx = NULL;
	if (dig->nid == NID_sha256)
		return 0;
	if ((*ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(*ctx, EVP_sha256(), NULL) != 1)
		return -1;
	return 0;
}

/* The entity's SHA-256: from the audit context, else it is the signature's digest `sd`. */
static int
audit_end(EVP_MD_CTX *ctx, const unsigned char *sd, unsigned char sha[32])
{
	unsigned int n = 0;

	if (ctx == NULL) {
		memcpy(sha, sd, 32);
		return 0;
	}
	return EVP_DigestFinal_ex(ctx, sha, &n) == 1 && n == 32 ? 0 : -1;
}

/* The signer's digest: its template's, else the one cms_signed would choose for its key. */
static const struct cms_signed_digest *
signer_digest(const struct smime_signer *signer)
{
	return signer->tmpl != NULL ? cms_signed_template_digest(signer->tmpl) :
	    cms_signed_digest_for(signer->key);
}

/* A SignedData ready for its content: signer, chain and signed attributes set. */
static CMS_ContentInfo *
new_signed(const struct smime_signer *signer, const EVP_MD *md)
{
	const unsigned int flags = CMS_DETACHED | CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP;
	const bool pss = EVP_PKEY_is_a(signer->key, "RSA-PSS");
	X509 *enc = signer->enc_cert != NULL && X509_cmp(signer->enc_cert, signer->cert) != 0 ?
	    signer->enc_cert : NULL;
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	CMS_SignerInfo *si;

	if (cms == NULL)
		return NULL;
	/*
	 * An RSA-PSS key: without CMS_KEY_PARAM, OpenSSL 3.0 writes the signatureAlgorithm
	 * (rsaEncryption) before it has a signing context, then signs with PSS padding, and
	 * the result does not verify. With it, the algorithm is taken from the context.
	 */
	if (pss)
		si = CMS_add1_signer(cms, signer->cert, signer->key, md, flags | CMS_KEY_PARAM);
	else
		si = CMS_add1_signer(cms, signer->cert, signer->key, md, flags);
	if (si == NULL || add_capabilities(si, signer->caps) != 0 ||
	    add_key_preference(si, enc != NULL ? enc : signer->cert, false) != 0 ||
	    (enc != NULL && (add_key_preference(si, enc, true) != 0 ||
	    CMS_add1_cert(cms, enc) != 1)))
		goto fail;
	for (int i = 0; signer->chain != NULL && i < sk_X509_num(signer->chain); i++) {
		X509 *c = sk_X509_value(signer->chain, i);

		if (X509_cmp(c, signer->cert) != 0 && CMS_add1_cert(cms, c) != 1)
			goto fail;
	}
	return cms;
fail:
	CMS_ContentInfo_free(cms);
	return NULL;
}

/*
 * OpenSSL's CMS code, for key types cms_signed does not encode (RSA-PSS, EdDSA, ...):
 * stream the entity through the tee into `out` and the CMS digest BIO chain, sign with the
 * digest cms_signed would use for the key, and return the DER (OPENSSL_free) and the
 * entity's SHA-256.
 */
static enum smime_status
sign_openssl(const struct smime_message *msg, const struct smime_signer *signer,
    const struct smime_options *opt, struct tee *t, unsigned char sha[32],
    unsigned char **der, size_t *der_len, struct smime_error *err)
{
	const struct cms_signed_digest *dig = cms_signed_digest_for(signer->key);
	enum smime_status st = SMIME_ERROR;
	CMS_ContentInfo *cms = NULL;
	EVP_MD_CTX *audit = NULL;
	BIO *chain = NULL;
	ASN1_OCTET_STRING *md;
	int len;

	if ((cms = new_signed(signer, EVP_get_digestbynid(dig->nid))) == NULL ||
	    (chain = CMS_dataInit(cms, NULL)) == NULL) {
		set_err(err, "cannot set up CMS signing (key and certificate match?)");
		goto out;
	}
	if (audit_begin(dig, &audit) != 0) {
		set_err(err, "cannot set up SHA-256");
		goto out;
	}
	t->cms = chain;
	t->audit = audit;
	st = tee_entity(msg, opt, t, err);
	t->cms = NULL;
	t->audit = NULL;
	if (st != SMIME_OK)
		goto out;
	st = SMIME_ERROR;
	if (CMS_dataFinal(cms, chain) != 1) {
		set_err(err, "CMS signing failed");
		goto out;
	}
	md = CMS_signed_get0_data_by_OBJ(CMS_get0_SignerInfos(cms) ?
	    sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0) : NULL,
	    OBJ_nid2obj(NID_pkcs9_messageDigest), -3, V_ASN1_OCTET_STRING);
	if (md == NULL || (size_t)ASN1_STRING_length(md) != dig->len ||
	    audit_end(audit, ASN1_STRING_get0_data(md), sha) != 0) {
		set_err(err, "CMS signature without the expected digest");
		goto out;
	}
	if ((len = i2d_CMS_ContentInfo(cms, der)) <= 0) {
		set_err(err, "cannot encode the CMS signature");
		goto out;
	}
	*der_len = (size_t)len;
	st = SMIME_OK;
out:
	if (chain != NULL)
		BIO_free_all(chain);
	EVP_MD_CTX_free(audit);
	CMS_ContentInfo_free(cms);
	return st;
}

/*
 * Our encoder: digest the entity with the signer's digest while it goes to `out`, then
 * encode the SignedData from the signer's template (or a temporary one).
 */
static enum smime_status
sign_template(const struct smime_message *msg, const struct smime_signer *signer,
    const struct smime_options *opt, struct tee *t, unsigned char sha[32],
    unsigned char **der, size_t *der_len, struct smime_error *err)
{
	enum smime_status st = SMIME_ERROR;
	struct cms_signed_template *own = NULL;
	const struct cms_signed_template *tmpl = signer->tmpl;
	EVP_MD_CTX *md = NULL, *audit = NULL;
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (tmpl == NULL && (tmpl = own = cms_signed_template_new(signer->key, signer->cert,
	    signer->chain, signer->enc_cert, signer->caps, err)) == NULL)
		goto out;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, cms_signed_md(tmpl), NULL) != 1 ||
	    audit_begin(cms_signed_template_digest(tmpl), &audit) != 0) {
		set_err(err, "cannot set up the digests");
		goto out;
	}
	t->md = md;
	t->audit = audit;
	st = tee_entity(msg, opt, t, err);
	t->md = NULL;
	t->audit = NULL;
	if (st != SMIME_OK)
		goto out;
	st = SMIME_ERROR;
	if (EVP_DigestFinal_ex(md, d, &mdlen) != 1 || audit_end(audit, d, sha) != 0) {
		set_err(err, "cannot digest the entity");
		goto out;
	}
	if (cms_signed_encode(tmpl, d, mdlen, time(NULL), der, der_len, err) != 0)
		goto out;
	st = SMIME_OK;
out:
	EVP_MD_CTX_free(md);
	EVP_MD_CTX_free(audit);
	cms_signed_template_free(own);
	return st;
}

/*
 * Write a multipart/signed body to `out` (boundary given), signing the canonical entity.
 * `sha` receives the entity's SHA-256 (the audit figure; the CMS messageDigest too unless
 * the signer's digest is another one).
 */
static enum smime_status
sign_body(const struct smime_message *msg, const struct smime_signer *signer,
    const struct smime_options *opt, const char *boundary, struct spool *out,
    unsigned char sha[32], struct smime_error *err)
{
	enum smime_status st = SMIME_ERROR;
	BIO *sink = NULL;
	unsigned char *der = NULL;
	size_t derlen = 0;
	struct tee t;
	char line[128];

	tee_init(&t, out);
	snprintf(line, sizeof(line), "This is an S/MIME signed message.\r\n\r\n--%s\r\n", boundary);
	if (put(out, line) != 0) {
		set_err(err, "cannot write the result (size limit?)");
		goto out;
	}
	if (signer->tmpl != NULL || cms_signed_supported(signer->key))
		st = sign_template(msg, signer, opt, &t, sha, &der, &derlen, err);
	else
		st = sign_openssl(msg, signer, opt, &t, sha, &der, &derlen, err);
	if (st != SMIME_OK)
		goto out;
	st = SMIME_ERROR;
	if (derlen > INT_MAX) {
		set_err(err, "CMS signature too large");
		goto out;
	}
	snprintf(line, sizeof(line), "\r\n--%s\r\n", boundary);
	if (put(out, line) != 0 ||
	    put(out, "Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n"
	    "Content-Description: S/MIME Cryptographic Signature\r\n\r\n") != 0 ||
	    (sink = smime_bio_spool_sink(out, 1)) == NULL ||
	    BIO_write(sink, der, (int)derlen) != (int)derlen || smime_bio_b64_finish(sink) != 0) {
		set_err(err, "cannot write the result (size limit?)");
		goto out;
	}
	snprintf(line, sizeof(line), "\r\n--%s--\r\n", boundary);
	if (put(out, line) != 0) {
		set_err(err, "cannot write the result (size limit?)");
		goto out;
	}
	st = SMIME_OK;
out:
	tee_free(&t);
	BIO_free(sink);
	OPENSSL_free(der);
	return st;
}

bool
smime_is_smime(const struct smime_message *msg)
{
	struct mime_ct ct;

	mime_canon_top_ct(msg, &ct);
	if (!ct.present)
		return false;
	return mime_ct_is(&ct, "multipart", "signed") ||
	    mime_ct_is(&ct, "application", "pkcs7-mime") ||
	    mime_ct_is(&ct, "application", "x-pkcs7-mime") ||
	    mime_ct_is(&ct, "application", "pkcs7-signature") ||
	    mime_ct_is(&ct, "application", "x-pkcs7-signature");
}

void
smime_result_free(struct smime_result *res)
{
	if (res == NULL)
		return;
	for (size_t i = 0; i < res->remove_count; i++)
		free(res->remove[i]);
	free(res->remove);
	for (size_t i = 0; i < res->add_count; i++) {
		free(res->add[i].name);
		free(res->add[i].value);
	}
	free(res->add);
	spool_free(res->body);
	memset(res, 0, sizeof(*res));
}

static int
add_edit(struct smime_result *res, const char *name, const char *value)
{
	struct smime_header *na = realloc(res->add, (res->add_count + 1) * sizeof(*na));

	if (na == NULL)
		return -1;
	res->add = na;
	na[res->add_count].name = strdup(name);
	na[res->add_count].value = strdup(value);
	res->add_count++;
	return na[res->add_count - 1].name && na[res->add_count - 1].value ? 0 : -1;
}

static int
remove_edit(struct smime_result *res, const char *name)
{
	char **nr;

	for (size_t i = 0; i < res->remove_count; i++)
		if (strcasecmp(res->remove[i], name) == 0)
			return 0;
	if ((nr = realloc(res->remove, (res->remove_count + 1) * sizeof(*nr))) == NULL)
		return -1;
	res->remove = nr;
	nr[res->remove_count] = strdup(name);
	return nr[res->remove_count++] != NULL ? 0 : -1;
}

/* Remove Content-*, keep exactly one MIME-Version, add `ct` and the other fields given. */
static int
header_edits(const struct smime_message *msg, struct smime_result *res, const char *ct,
    bool encrypted)
{
	size_t mv = 0;

	for (size_t i = 0; i < msg->header_count; i++) {
		if (mime_canon_is_moved(msg->headers[i].name) &&
		    remove_edit(res, msg->headers[i].name) != 0)
			return -1;
		if (strcasecmp(msg->headers[i].name, "MIME-Version") == 0)
			mv++;
	}
	if (mv > 1 && remove_edit(res, "MIME-Version") != 0)
		return -1;
	if (mv != 1 && add_edit(res, "MIME-Version", "1.0") != 0)
		return -1;
	if (add_edit(res, "Content-Type", ct) != 0)
		return -1;
	if (encrypted && (add_edit(res, "Content-Transfer-Encoding", "base64") != 0 ||
	    add_edit(res, "Content-Disposition", "attachment; filename=\"smime.p7m\"") != 0 ||
	    add_edit(res, "Content-Description", "S/MIME Encrypted Message") != 0))
		return -1;
	return 0;
}

static enum smime_status
precheck(const struct smime_message *msg, const struct smime_options *opt,
    struct smime_result *out, struct smime_error *err)
{
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (err != NULL)
		err->text[0] = '\0';
	if (msg == NULL || opt == NULL || out == NULL || msg->body == NULL ||
	    (msg->headers == NULL && msg->header_count > 0)) {
		set_err(err, "invalid arguments");
		return SMIME_ERROR;
	}
	if (msg->header_count > SMIME_MAX_HEADERS) {
		set_err(err, "too many header fields");
		return SMIME_SKIP;
	}
	if (smime_is_smime(msg)) {
		set_err(err, "already S/MIME");
		return SMIME_SKIP;
	}
	return SMIME_OK;
}

enum smime_status
smime_sign(const struct smime_message *msg, const struct smime_signer *signer,
    const struct smime_options *opt, struct smime_result *out, struct smime_error *err)
{
	enum smime_status st = precheck(msg, opt, out, err);
	char boundary[MIME_BOUNDARY_LEN + 1], ct[256];

	if (st != SMIME_OK)
		return st;
	st = SMIME_ERROR;
	if (signer == NULL || signer->key == NULL || signer->cert == NULL) {
		set_err(err, "no signer");
		goto out;
	}
	if (mime_boundary_make(boundary, sizeof(boundary)) != 0 ||
	    (out->body = spool_new(opt->mem_limit, opt->spool_dir, opt->max_size)) == NULL) {
		set_err(err, "out of memory or no randomness");
		goto out;
	}
	st = sign_body(msg, signer, opt, boundary, out->body, out->entity_sha256, err);
	if (st != SMIME_OK)
		goto out;
	snprintf(ct, sizeof(ct), "multipart/signed; protocol=\"application/pkcs7-signature\"; "
	    "micalg=%s; boundary=\"%s\"", signer_digest(signer)->micalg, boundary);
	if (header_edits(msg, out, ct, false) != 0) {
		set_err(err, "out of memory");
		st = SMIME_ERROR;
	}
out:
	if (st != SMIME_OK)
		smime_result_free(out);
	else
		ERR_clear_error();
	return st;
}

enum smime_status
smime_encrypt(const struct smime_message *msg, const struct smime_signer *signer,
    X509 *const *recipients, size_t recipient_count, const struct smime_options *opt,
    struct smime_result *out, struct smime_error *err)
{
	enum smime_status st = precheck(msg, opt, out, err);
	const bool gcm = opt != NULL && opt->cipher == SMIME_AES256_GCM;
	STACK_OF(X509) *rcpts = NULL;
	CMS_ContentInfo *cms = NULL;
	struct spool *inner = NULL;
	BIO *src = NULL, *sink = NULL;
	EVP_MD_CTX *md = NULL;
	char boundary[MIME_BOUNDARY_LEN + 1], ct[256], prefix[256];
	size_t plen = 0;

	if (st != SMIME_OK)
		return st;
	st = SMIME_ERROR;
	if (recipients == NULL || recipient_count == 0) {
		set_err(err, "no recipient certificates");
		goto out;
	}
	if ((rcpts = sk_X509_new_null()) == NULL)
		goto out;
	for (size_t i = 0; i < recipient_count; i++)
		if (recipients[i] == NULL || !sk_X509_push(rcpts, recipients[i]))
			goto out;
	inner = spool_new(opt->mem_limit, opt->spool_dir, opt->max_size);
	out->body = spool_new(opt->mem_limit, opt->spool_dir, opt->max_size);
	if (inner == NULL || out->body == NULL)
		goto out;
	if (signer != NULL) {
		if (signer->key == NULL || signer->cert == NULL ||
		    mime_boundary_make(boundary, sizeof(boundary)) != 0)
			goto out;
		plen = (size_t)snprintf(prefix, sizeof(prefix), "Content-Type: multipart/signed; "
		    "protocol=\"application/pkcs7-signature\"; micalg=%s;\r\n"
		    "\tboundary=\"%s\"\r\n\r\n", signer_digest(signer)->micalg, boundary);
		st = sign_body(msg, signer, opt, boundary, inner, out->entity_sha256, err);
	} else {
		struct tee t;
		unsigned int mdlen = 0;

		if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
			goto out;
		tee_init(&t, inner);
		t.md = md;
		st = tee_entity(msg, opt, &t, err);
		tee_free(&t);
		if (st == SMIME_OK && EVP_DigestFinal_ex(md, out->entity_sha256, &mdlen) != 1)
			st = SMIME_ERROR;
	}
	if (st != SMIME_OK)
		goto out;
	st = SMIME_ERROR;
	cms = CMS_encrypt(rcpts, NULL, gcm ? EVP_aes_256_gcm() : EVP_aes_256_cbc(),
	    CMS_BINARY | CMS_PARTIAL | CMS_STREAM);
	if (cms == NULL) {
		set_err(err, "cannot set up CMS encryption (unusable recipient certificate?)");
		goto out;
	}
	if ((src = smime_bio_spool_source(inner, prefix, plen)) == NULL ||
	    (sink = smime_bio_spool_sink(out->body, 1)) == NULL)
		goto out;
	if (i2d_CMS_bio_stream(sink, cms, src, CMS_BINARY | CMS_STREAM) != 1 ||
	    smime_bio_b64_finish(sink) != 0) {
		set_err(err, "CMS encryption failed");
		goto out;
	}
	snprintf(ct, sizeof(ct), "application/pkcs7-mime; smime-type=%s; name=\"smime.p7m\"",
	    gcm ? "authEnveloped-data" : "enveloped-data");
	if (header_edits(msg, out, ct, true) != 0) {
		set_err(err, "out of memory");
		goto out;
	}
	st = SMIME_OK;
out:
	if (st == SMIME_ERROR && err != NULL && err->text[0] == '\0')
		set_err(err, "internal error while encrypting");
	if (st != SMIME_OK)
		smime_result_free(out);
	BIO_free(src);
	BIO_free(sink);
	EVP_MD_CTX_free(md);
	CMS_ContentInfo_free(cms);
	spool_free(inner);
	sk_X509_free(rcpts);
	if (st == SMIME_OK)
		ERR_clear_error();
	return st;
}
