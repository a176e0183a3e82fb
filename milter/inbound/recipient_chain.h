/*
 * recipient_chain: before a recipient certificate is encrypted to, its chain is built again
 * (trust anchors, and the CA certificates met in verified chains) and every certificate on it
 * but the anchor is looked up in the CRLs the gateway holds (and, for its own issuing CAs, in
 * its store). Only what the cache already has
 * counts: nothing waits on the network (a missing CRL is asked for, for the next message), and
 * each lookup is OpenSSL's sorted search of the CRL, not a walk over it.
 *
 * Lifetime: a result is per recipient of one message.
 */
#ifndef AUTOSMIME_RECIPIENT_CHAIN_H
#define AUTOSMIME_RECIPIENT_CHAIN_H

#include <stdbool.h>
#include <time.h>

#include <openssl/x509.h>

#include "milter/inbound/crl_fetch.h"

enum recipient_chain_status {
	RECIPIENT_CHAIN_USABLE,    /* no revocation known on a chain to an anchor (or no chain) */
	RECIPIENT_CHAIN_REVOKED,   /* a certificate of the chain is in its issuer's CRL */
};

struct recipient_chain_result {
	int depth;                 /* revoked: 0 the recipient's own, 1.. a CA above it */
	char subject[256];         /* revoked: that certificate's subject (RFC 2253) */
	bool unchained;            /* no chain to a trust anchor: nothing could be checked */
	bool unknown;              /* a CRL of the chain is not in the cache (yet) */
};

struct ca;

/* `untrusted` and `ca` (the gateway's own CAs) may be NULL; `now` NULL: the real clock. */
enum recipient_chain_status recipient_chain_check(X509 *cert, STACK_OF(X509) *anchors,
    STACK_OF(X509) *untrusted, struct crl_cache *crls, struct ca *ca, time_t (*now)(void),
    struct recipient_chain_result *out);

#endif
