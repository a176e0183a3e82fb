/*
 * inbound_verify: the trust decisions of inbound signature checking: the set of trust anchors
 * (system CA file, the gateway's own CA roots and issuing CAs, admin-imported anchors), a
 * per-message X509_STORE over them with revocation checking from the CRL cache, and the
 * classification of one verification into an RFC 7281 result with a reason.
 *
 * Lifetime: the anchor stack is per process (read-only once built); a verdict is per message.
 */
#ifndef AUTOSMIME_INBOUND_VERIFY_H
#define AUTOSMIME_INBOUND_VERIFY_H

#include <stdbool.h>
#include <time.h>

#include <openssl/x509.h>

#include "milter/inbound/authres.h"
#include "milter/inbound/crl_fetch.h"
#include "milter/engine/smime.h"

struct ca;

#define INBOUND_MAX_ANCHORS 4096

/*
 * Load anchors: every certificate of `file` (PEM bundle; missing file is not an error),
 * every *.pem / *.crt file in `dir` (NULL or "" for none), and the roots and issuing CAs of
 * `ca` (NULL for none). 0, or -1 with why.
 */
int inbound_anchors_load(const char *file, const char *dir, struct ca *ca,
    STACK_OF(X509) **out, char *why, size_t whycap);

/* What one signature check found. Free with inbound_verdict_clear. */
struct inbound_verdict {
	enum authres_result result;
	char reason[200];
	X509 *signer;              /* pass only (up-referenced) */
	X509 *enc_cert;            /* pass only: the certificate to encrypt to (the signer's own
	                              when it may encrypt, or the partner it names; verified);
	                              NULL when none (up-referenced) */
	unsigned char *caps;       /* pass only: signer's SMIMECapabilities DER, or NULL */
	size_t caps_len;
	struct spool *content;     /* pass only: the signed entity */
	STACK_OF(X509) *chain;     /* pass only: the verified chain above the signer (and above
	                              the partner it names), anchors included; or NULL */
	char identifier[256];      /* the certificate mailbox that matched From (pass), or the first one */
	char serial[80];
	char issuer[256];
	bool signed_message;       /* false: not a signed message at all (result NONE) */
};

void inbound_verdict_clear(struct inbound_verdict *v);

/*
 * Verify `msg` if it is signed. `from` is the From: mailbox (NULL when none or several).
 * `crls` may be NULL (revocation then unchecked); `ca` (may be NULL) says which of the
 * gateway's own issuing CAs are revoked; `now` NULL means the real clock.
 * Returns 0 (verdict filled; result NONE when not signed) or -1 on an internal failure.
 */
int inbound_verify(const struct smime_message *msg, const char *from, STACK_OF(X509) *anchors,
    struct crl_cache *crls, struct ca *ca, const struct smime_options *opt,
    time_t (*now)(void), struct inbound_verdict *v);

#endif
