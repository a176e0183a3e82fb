/*
 * cms_signed: our own DER encoder for the detached CMS SignedData of an S/MIME signature
 * (RFC 5652 5, RFC 8551 2.5), for ECDSA (ecdsa-with-SHA256/384/512) and RSA PKCS#1 v1.5
 * signers.
 *
 * Everything that does not change between messages (certificates, signer identifier,
 * algorithm identifiers, the constant signed attributes, a signing context) is encoded
 * once into a template per signer; a message then costs one digest over the signed
 * attributes, one signature and a few copies. The output has exactly the structure
 * OpenSSL's CMS_sign produces for the same signer (only signingTime and the signature
 * differ). Other key types (RSA-PSS, EdDSA, ...) are not supported here: smime_sign keeps
 * using OpenSSL's CMS code for them.
 */
#ifndef AUTOSMIME_CMS_SIGNED_H
#define AUTOSMIME_CMS_SIGNED_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "milter/engine/smime.h"

/* Bounds: more certificates or a larger certificate set is refused (SMIME_ERROR). */
#define CMS_SIGNED_MAX_CERTS 16
#define CMS_SIGNED_MAX_CERTS_LEN (256 * 1024)

/*
 * The per-signer constant part. Immutable once built, so any number of threads may encode
 * with one template at the same time. It holds its own references (the key through its
 * signing context); the certificates it was built from may be freed after
 * cms_signed_template_new returns. Lifetime: as long as its owner (key cache entry) wants.
 */
struct cms_signed_template;

/* Can this key be signed with here (EC P-256/P-384/P-521, or plain RSA)? */
bool cms_signed_supported(const EVP_PKEY *key);

/* A signature digest: what the SignedData, the signature and the micalg parameter name. */
struct cms_signed_digest {
	int nid;		/* NID_sha256, NID_sha384 or NID_sha512 */
	const char *name;	/* for EVP_MD_fetch */
	const char *micalg;	/* multipart/signed parameter (RFC 8551 3.5.3.2) */
	size_t len;		/* octets */
};

/*
 * The digest to sign with for `key`, shared by this encoder and the OpenSSL CMS path so the
 * two agree: SHA-384 for EC keys of 257..384 bits (P-384), SHA-512 for larger ones (P-521),
 * SHA-256 for everything else (P-256, RSA, RSA-PSS). RFC 5753 7.2 and RFC 6318 pair the
 * curve with the hash of its strength; gpgsm, for one, refuses a shorter hash. The result
 * is static storage: never freed.
 */
const struct cms_signed_digest *cms_signed_digest_for(const EVP_PKEY *key);

/*
 * Build the template for key + cert (+ chain: issuing CAs, may be NULL; duplicates and the
 * signer certificate itself are skipped; + enc_cert, the signer's encryption certificate
 * when it is another one, else NULL; caps: SMIME_CAP_* to advertise, 0 for the default). NULL on failure with err->text set (err may be
 * NULL): unsupported key, key and certificate do not match, chain too large, no memory.
 */
struct cms_signed_template *cms_signed_template_new(EVP_PKEY *key, X509 *cert,
    STACK_OF(X509) *chain, X509 *enc_cert, unsigned caps, struct smime_error *err);
void cms_signed_template_free(struct cms_signed_template *t);

/*
 * The template's digest (cms_signed_digest_for its key) and the implementation to digest the
 * content with (fetched once, per template).
 */
const struct cms_signed_digest *cms_signed_template_digest(const struct cms_signed_template *t);
const EVP_MD *cms_signed_md(const struct cms_signed_template *t);

/*
 * Encode the DER ContentInfo of a detached SignedData over content whose digest (with
 * cms_signed_md; digest_len octets, which must be its length) is `digest`, signed at `now`.
 * 0 and *der (malloc'd, caller frees) / *der_len, or -1 with err->text set.
 */
int cms_signed_encode(const struct cms_signed_template *t, const unsigned char *digest,
    size_t digest_len, time_t now, unsigned char **der, size_t *der_len,
    struct smime_error *err);

/*
 * Shared with the OpenSSL CMS path so both produce the same attribute values:
 * the SMIMECapabilities value (RFC 8551 2.5.2; OPENSSL_free it), and the
 * SMIMEEncryptionKeyPreference value [0] IMPLICIT IssuerAndSerialNumber (RFC 8551 2.5.3;
 * free() it). Both return the length, or -1.
 */
int cms_signed_caps_der(unsigned caps, unsigned char **der);
int cms_signed_keypref_der(X509 *cert, unsigned char **der);
/* Microsoft's encryption key preference (Outlook): a plain IssuerAndSerialNumber; free() it. */
int cms_signed_ms_keypref_der(X509 *cert, unsigned char **der);
/* Its OID as text, for the OpenSSL CMS path. */
#define CMS_SIGNED_MS_KEYPREF_OID "1.3.6.1.4.1.311.16.4"

#endif
