/*
 * smime_inbound: verify and decrypt inbound S/MIME (see smime_inbound.h). The message is fed
 * to OpenSSL's S/MIME reader as its Content-* header fields followed by the body spool; the
 * output goes straight into a result spool. Owns nothing beyond one call.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>

#include "milter/engine/mime_canon.h"
#include "milter/engine/smime_bio.h"
#include "milter/engine/smime_inbound.h"

static void
set_err(struct smime_error *err, const char *text)
{
	if (err != NULL)
		snprintf(err->text, sizeof(err->text), "%s", text);
}

/* The message as OpenSSL's reader wants it: Content-* fields, empty line, body. */
static BIO *
message_bio(const struct smime_message *msg)
{
	size_t len = 3;
	char *prefix, *p;
	BIO *src, *buf;

	for (size_t i = 0; i < msg->header_count; i++)
		if (mime_canon_is_moved(msg->headers[i].name))
			len += strlen(msg->headers[i].name) + strlen(msg->headers[i].value) + 4;
	if (len > SMIME_MAX_HEADER_LEN * 4 || (prefix = malloc(len)) == NULL)
		return NULL;
	p = prefix;
	for (size_t i = 0; i < msg->header_count; i++)
		if (mime_canon_is_moved(msg->headers[i].name))
			p += sprintf(p, "%s: %s\r\n", msg->headers[i].name, msg->headers[i].value);
	p += sprintf(p, "\r\n");
	src = smime_bio_spool_source(msg->body, prefix, (size_t)(p - prefix));
	free(prefix);
	if (src == NULL)
		return NULL;
	if ((buf = BIO_new(BIO_f_buffer())) == NULL) {
		BIO_free(src);
		return NULL;
	}
	return BIO_push(buf, src);
}

static enum smime_status
read_cms(const struct smime_message *msg, const struct smime_options *opt, bool want_signed,
    CMS_ContentInfo **cms, BIO **bcont, struct spool **content, BIO **sink,
    struct smime_error *err)
{
	struct mime_ct ct;
	BIO *in = NULL;
	bool ok;

	*cms = NULL;
	*bcont = NULL;
	*sink = NULL;
	*content = NULL;
	if (msg == NULL || msg->body == NULL || opt == NULL) {
		set_err(err, "invalid arguments");
		return SMIME_ERROR;
	}
	mime_canon_top_ct(msg, &ct);
	if (want_signed)
		ok = mime_ct_is(&ct, "multipart", "signed") ||
		    ((mime_ct_is(&ct, "application", "pkcs7-mime") ||
		    mime_ct_is(&ct, "application", "x-pkcs7-mime")) &&
		    strcmp(ct.smime_type, "signed-data") == 0);
	else
		ok = (mime_ct_is(&ct, "application", "pkcs7-mime") ||
		    mime_ct_is(&ct, "application", "x-pkcs7-mime")) &&
		    strcmp(ct.smime_type, "signed-data") != 0 &&
		    strcmp(ct.smime_type, "certs-only") != 0 &&
		    strcmp(ct.smime_type, "compressed-data") != 0;
	if (!ok) {
		set_err(err, want_signed ? "not a signed message" : "not an encrypted message");
		return SMIME_SKIP;
	}
	if ((in = message_bio(msg)) == NULL) {
		set_err(err, "out of memory");
		return SMIME_ERROR;
	}
	*cms = SMIME_read_CMS(in, bcont);
	BIO_free_all(in);
	if (*cms == NULL) {
		set_err(err, "malformed S/MIME structure");
		return SMIME_FAIL;
	}
	if ((*content = spool_new(opt->mem_limit, opt->spool_dir, opt->max_size)) == NULL ||
	    (*sink = smime_bio_spool_sink(*content, 0)) == NULL) {
		set_err(err, "out of memory");
		return SMIME_ERROR;
	}
	return SMIME_OK;
}

/* The first SignerInfo's SMIMECapabilities value as a DER copy; NULL when absent or odd. */
static unsigned char *
signer_caps(CMS_ContentInfo *cms, size_t *len)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	CMS_SignerInfo *si;
	X509_ATTRIBUTE *attr;
	ASN1_TYPE *val;
	unsigned char *copy;
	int idx, n;

	*len = 0;
	if (sis == NULL || sk_CMS_SignerInfo_num(sis) < 1)
		return NULL;
	si = sk_CMS_SignerInfo_value(sis, 0);
	if ((idx = CMS_signed_get_attr_by_NID(si, NID_SMIMECapabilities, -1)) < 0 ||
	    (attr = CMS_signed_get_attr(si, idx)) == NULL ||
	    X509_ATTRIBUTE_count(attr) != 1 ||
	    (val = X509_ATTRIBUTE_get0_type(attr, 0)) == NULL ||
	    val->type != V_ASN1_SEQUENCE || val->value.sequence == NULL)
		return NULL;
	/* the ASN1_STRING of a SEQUENCE holds its whole encoding, tag and length included */
	n = ASN1_STRING_length(val->value.sequence);
	if (n <= 0 || n > SMIME_CAPS_MAX || (copy = malloc((size_t)n)) == NULL)
		return NULL;
	memcpy(copy, ASN1_STRING_get0_data(val->value.sequence), (size_t)n);
	*len = (size_t)n;
	return copy;
}

/* Issuer and serial of an IssuerAndSerialNumber whose outer tag is `tag` (0x30 or 0xA0). */
static X509 *
find_issuer_serial(const unsigned char *der, long len, STACK_OF(X509) *certs)
{
	const unsigned char *p = der, *q;
	long clen;
	int tag, xclass, inf;
	X509_NAME *name = NULL;
	ASN1_INTEGER *serial = NULL;
	X509 *found = NULL;

	inf = ASN1_get_object(&p, &clen, &tag, &xclass, len);
	if ((inf & 0x80) || inf != V_ASN1_CONSTRUCTED || clen <= 0 || p + clen != der + len)
		return NULL;
	q = p;
	if ((name = d2i_X509_NAME(NULL, &q, clen)) == NULL ||
	    (serial = d2i_ASN1_INTEGER(NULL, &q, (long)(p + clen - q))) == NULL ||
	    q != p + clen)
		goto out;
	for (int i = 0; i < sk_X509_num(certs) && found == NULL; i++) {
		X509 *c = sk_X509_value(certs, i);

		if (X509_NAME_cmp(X509_get_issuer_name(c), name) == 0 &&
		    ASN1_INTEGER_cmp(X509_get0_serialNumber(c), serial) == 0)
			found = c;
	}
out:
	X509_NAME_free(name);
	ASN1_INTEGER_free(serial);
	return found;
}

/* The encryption certificate the first signer names, among `certs`; NULL when none. */
static X509 *
signer_enc_cert(CMS_ContentInfo *cms, STACK_OF(X509) *certs)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	ASN1_OBJECT *ms = OBJ_txt2obj("1.3.6.1.4.1.311.16.4", 1);
	CMS_SignerInfo *si;
	X509 *found = NULL;

	if (sis == NULL || sk_CMS_SignerInfo_num(sis) < 1 || certs == NULL) {
		ASN1_OBJECT_free(ms);
		return NULL;
	}
	si = sk_CMS_SignerInfo_value(sis, 0);
	for (int pass = 0; pass < 2 && found == NULL; pass++) {
		int idx = pass == 0 ? CMS_signed_get_attr_by_NID(si, NID_id_smime_aa_encrypKeyPref,
		    -1) : ms != NULL ? CMS_signed_get_attr_by_OBJ(si, ms, -1) : -1;
		X509_ATTRIBUTE *attr;
		ASN1_TYPE *val;
		ASN1_STRING *str;

		if (idx < 0 || (attr = CMS_signed_get_attr(si, idx)) == NULL ||
		    X509_ATTRIBUTE_count(attr) != 1 ||
		    (val = X509_ATTRIBUTE_get0_type(attr, 0)) == NULL)
			continue;
		/* [0] IMPLICIT comes as an "other" type, the SEQUENCE as a sequence: both whole */
		if (val->type != V_ASN1_OTHER && val->type != V_ASN1_SEQUENCE)
			continue;
		str = val->value.asn1_string;
		if (str != NULL && ASN1_STRING_length(str) > 2 &&
		    ASN1_STRING_length(str) <= SMIME_CAPS_MAX &&
		    ASN1_STRING_get0_data(str)[0] == (pass == 0 ? 0xA0 : 0x30))
			found = find_issuer_serial(ASN1_STRING_get0_data(str),
			    ASN1_STRING_length(str), certs);
	}
	ASN1_OBJECT_free(ms);
	if (found != NULL && X509_up_ref(found) != 1)
		found = NULL;
	return found;
}

void
smime_signer_keys_clear(struct smime_signer_keys *k)
{
	if (k == NULL)
		return;
	free(k->caps);
	X509_free(k->enc_cert);
	sk_X509_pop_free(k->certs, X509_free);
	memset(k, 0, sizeof(*k));
}

int
smime_caps_has_aes256_gcm(const unsigned char *caps, size_t caps_len)
{
	const unsigned char *p = caps;
	X509_ALGORS *algs;
	int found = 0;

	if (caps == NULL || caps_len == 0 || caps_len > SMIME_CAPS_MAX)
		return -1;
	if ((algs = d2i_X509_ALGORS(NULL, &p, (long)caps_len)) == NULL) {
		ERR_clear_error();
		return -1;
	}
	if (p != caps + caps_len) {
		/* trailing bytes: not the encoding we stored */
		sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
		return -1;
	}
	for (int i = 0; i < sk_X509_ALGOR_num(algs) && !found; i++) {
		const ASN1_OBJECT *oid;

		X509_ALGOR_get0(&oid, NULL, NULL, sk_X509_ALGOR_value(algs, i));
		found = OBJ_obj2nid(oid) == NID_aes_256_gcm;
	}
	sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
	return found;
}

enum smime_status
smime_verify(const struct smime_message *msg, X509_STORE *store, const struct smime_options *opt,
    X509 **signer, struct spool **content, struct smime_error *err)
{
	return smime_verify_caps(msg, store, opt, signer, content, NULL, NULL, err);
}

enum smime_status
smime_verify_caps(const struct smime_message *msg, X509_STORE *store,
    const struct smime_options *opt, X509 **signer, struct spool **content,
    unsigned char **caps, size_t *caps_len, struct smime_error *err)
{
	struct smime_signer_keys k = { NULL, 0, NULL, NULL };
	enum smime_status st;

	if (caps != NULL)
		*caps = NULL;
	if (caps_len != NULL)
		*caps_len = 0;
	st = smime_verify_keys(msg, store, opt, signer, content, caps != NULL &&
	    caps_len != NULL ? &k : NULL, err);
	if (caps != NULL && caps_len != NULL) {
		*caps = k.caps; /* transferred */
		*caps_len = k.caps_len;
		k.caps = NULL;
	}
	smime_signer_keys_clear(&k);
	return st;
}

enum smime_status
smime_verify_keys(const struct smime_message *msg, X509_STORE *store,
    const struct smime_options *opt, X509 **signer, struct spool **content,
    struct smime_signer_keys *keys, struct smime_error *err)
{
	CMS_ContentInfo *cms = NULL;
	BIO *bcont = NULL, *sink = NULL;
	STACK_OF(X509) *signers = NULL;
	enum smime_status st;

	*signer = NULL;
	if (keys != NULL)
		memset(keys, 0, sizeof(*keys));
	st = read_cms(msg, opt, true, &cms, &bcont, content, &sink, err);
	if (st != SMIME_OK)
		goto out;
	if (CMS_get0_type(cms) == NULL || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		set_err(err, "not CMS SignedData");
		st = SMIME_FAIL;
		goto out;
	}
	if (CMS_verify(cms, NULL, store, bcont, sink, CMS_BINARY) != 1 ||
	    smime_bio_b64_finish(sink) != 0) {
		set_err(err, "signature or signer certificate does not verify");
		st = SMIME_FAIL;
		goto out;
	}
	signers = CMS_get0_signers(cms);
	if (signers == NULL || sk_X509_num(signers) < 1) {
		set_err(err, "no signer certificate");
		st = SMIME_FAIL;
		goto out;
	}
	*signer = sk_X509_value(signers, 0);
	X509_up_ref(*signer);
	if (keys != NULL) {
		keys->caps = signer_caps(cms, &keys->caps_len);
		keys->certs = CMS_get1_certs(cms);
		keys->enc_cert = signer_enc_cert(cms, keys->certs);
	}
	st = SMIME_OK;
out:
	if (st != SMIME_OK) {
		spool_free(*content);
		*content = NULL;
		smime_signer_keys_clear(keys);
	} else {
		ERR_clear_error();
	}
	sk_X509_free(signers);
	BIO_free(sink);
	BIO_free(bcont);
	CMS_ContentInfo_free(cms);
	return st;
}

enum smime_status
smime_decrypt(const struct smime_message *msg, EVP_PKEY *key, X509 *cert,
    const struct smime_options *opt, struct spool **content, struct smime_error *err)
{
	CMS_ContentInfo *cms = NULL;
	BIO *bcont = NULL, *sink = NULL;
	enum smime_status st;

	st = read_cms(msg, opt, false, &cms, &bcont, content, &sink, err);
	if (st != SMIME_OK)
		goto out;
	if (key == NULL) {
		set_err(err, "no key");
		st = SMIME_ERROR;
		goto out;
	}
	if (CMS_decrypt(cms, key, cert, NULL, sink, CMS_BINARY) != 1 ||
	    smime_bio_b64_finish(sink) != 0) {
		set_err(err, "cannot decrypt (not for this key, or corrupt)");
		st = SMIME_FAIL;
		goto out;
	}
	st = SMIME_OK;
	ERR_clear_error();
out:
	if (st != SMIME_OK) {
		spool_free(*content);
		*content = NULL;
	}
	BIO_free(sink);
	BIO_free(bcont);
	CMS_ContentInfo_free(cms);
	return st;
}
