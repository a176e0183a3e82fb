/*
 * chain_crl: revocation of every certificate of a chain from the CRL cache, for an
 * X509_STORE that verifies one chain (a signer's inbound, a recipient's before encryption).
 * Every CA in the chain is checked (X509_V_FLAG_CRL_CHECK_ALL), each from its own HTTP
 * distribution points through the same cache; the trust anchor at the top is not. All
 * lookups of one chain share one deadline, so a chain waits no longer than one certificate.
 * The gateway's own issuing CAs are also looked up in its store, which knows at once when
 * one is revoked (autosmimectl ca revoke-issuer), whether or not its root's CRL is reachable.
 *
 * Lifetime: a struct chain_crl lives for one verification; the store borrows it.
 */
#ifndef AUTOSMIME_CHAIN_CRL_H
#define AUTOSMIME_CHAIN_CRL_H

#include <stdbool.h>
#include <time.h>

#include <openssl/x509.h>

#include "milter/inbound/crl_fetch.h"

struct ca;

struct chain_crl {
	struct crl_cache *crls;
	struct ca *ca;             /* the gateway's store, or NULL */
	struct timespec deadline;  /* every CRL of this chain waits at most until then */
	bool temp;                 /* a CRL was needed and is not available (yet) */
	char why[160];
	void *owner;               /* the caller's own state, for its verify callback */
};

/*
 * Revocation checks for `store` from crls (wait: up to the cache's wait in all, else none at
 * all) and the store `ca` (may be NULL); cc is filled. 0, or -1 when the store cannot take it.
 */
int chain_crl_attach(X509_STORE *store, struct chain_crl *cc, struct crl_cache *crls,
    struct ca *ca, bool wait, void *owner);

/*
 * For a verify callback called with ok at a CA above the first certificate: whether it is one
 * of the gateway's own issuing CAs that its store says is revoked.
 */
bool chain_crl_own_revoked(const struct chain_crl *cc, X509_STORE_CTX *ctx);

/* The chain_crl of a store_ctx of such a store, or NULL. */
struct chain_crl *chain_crl_of(const X509_STORE_CTX *ctx);

/*
 * For a verify callback: e is an error that leaves the revocation status unknown (a CRL
 * missing, expired, not yet valid or not verifiable); notes why in cc (when not NULL).
 */
bool chain_crl_unknown(struct chain_crl *cc, int e);

/* e says the chain does not reach a trust anchor (no issuer, self-signed, untrusted). */
bool chain_untrusted(int e);

#endif
