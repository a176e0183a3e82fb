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

#include "milter/smime.h"

/*
 * Verify (purpose smimesign) against `store`. SMIME_OK: *signer (up-referenced, caller frees)
 * and *content (the signed entity, CRLF; caller frees with spool_free) are set. SMIME_FAIL:
 * the signature or certificate does not verify. SMIME_SKIP: not a signed message.
 * `opt` gives the spool settings for *content (mem_limit, spool_dir, max_size).
 */
enum smime_status smime_verify(const struct smime_message *msg, X509_STORE *store,
    const struct smime_options *opt, X509 **signer, struct spool **content,
    struct smime_error *err);

/* Decrypt with the key and its certificate. SMIME_FAIL: not for this key or corrupt. */
enum smime_status smime_decrypt(const struct smime_message *msg, EVP_PKEY *key, X509 *cert,
    const struct smime_options *opt, struct spool **content, struct smime_error *err);

#endif
