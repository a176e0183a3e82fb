/*
 * smime_inbound: the inbound half of the S/MIME engine: verify a multipart/signed or opaque
 * signed-data message against a trust store, and decrypt enveloped-data or authEnveloped-data
 * with the gateway's key. Results come back as the inner MIME entity in a spool.
 *
 * Note: OpenSSL's S/MIME reader holds the CMS structure of the message in memory, so callers
 * bound inbound message sizes before calling these.
 */
#ifndef AUTOSMIME_SMIME_INBOUND_H
#define AUTOSMIME_SMIME_INBOUND_H

#include <openssl/x509.h>

#include "milter/engine/smime.h"

/*
 * Verify (purpose smimesign) against `store`. SMIME_OK: *signer (up-referenced, caller frees)
 * and *content (the signed entity, CRLF; caller frees with spool_free) are set. SMIME_FAIL:
 * the signature or certificate does not verify. SMIME_SKIP: not a signed message.
 * `opt` gives the spool settings for *content (mem_limit, spool_dir, max_size).
 */
enum smime_status smime_verify(const struct smime_message *msg, X509_STORE *store,
    const struct smime_options *opt, X509 **signer, struct spool **content,
    struct smime_error *err);

/* The largest SMIMECapabilities attribute value kept (DER); a larger one counts as absent. */
#define SMIME_CAPS_MAX 4096

/*
 * smime_verify, and on SMIME_OK also the first signer's SMIMECapabilities signed attribute
 * (RFC 8551 2.5.2) as DER in *caps (caller frees; NULL and *caps_len 0 when absent, malformed
 * or larger than SMIME_CAPS_MAX). caps/caps_len may be NULL: then exactly smime_verify.
 */
enum smime_status smime_verify_caps(const struct smime_message *msg, X509_STORE *store,
    const struct smime_options *opt, X509 **signer, struct spool **content,
    unsigned char **caps, size_t *caps_len, struct smime_error *err);

/*
 * What else a verified signature says about its signer's keys. On SMIME_OK of
 * smime_verify_keys: the capabilities as smime_verify_caps gives them; enc_cert, the
 * certificate the signer asks to be encrypted to (SMIMEEncryptionKeyPreference, RFC 8551
 * 2.5.3, or Microsoft's attribute), found among the message's certificates, NULL when not
 * named or not there (its chain is NOT verified here); certs, every certificate the
 * message carried, to build that chain. Free with smime_signer_keys_clear.
 */
struct smime_signer_keys {
	unsigned char *caps;
	size_t caps_len;
	X509 *enc_cert;
	STACK_OF(X509) *certs;
};
void smime_signer_keys_clear(struct smime_signer_keys *k);
enum smime_status smime_verify_keys(const struct smime_message *msg, X509_STORE *store,
    const struct smime_options *opt, X509 **signer, struct spool **content,
    struct smime_signer_keys *keys, struct smime_error *err);

/*
 * Whether SMIMECapabilities DER (hostile: from a correspondent's signature) lists
 * id-aes256-GCM: 1 yes, 0 no, -1 unknown (absent, too large or not parseable).
 */
int smime_caps_has_aes256_gcm(const unsigned char *caps, size_t caps_len);

/* Decrypt with the key and its certificate. SMIME_FAIL: not for this key or corrupt. */
enum smime_status smime_decrypt(const struct smime_message *msg, EVP_PKEY *key, X509 *cert,
    const struct smime_options *opt, struct spool **content, struct smime_error *err);

#endif
