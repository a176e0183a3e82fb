/*
 * issuer_pool: the CA certificates met in chains the gateway verified (inbound signers and
 * the partners they name), so that a recipient certificate stored without its chain can be
 * chained again before encryption and every CA above it checked against its CRL. Bounded
 * (the oldest goes first); only certificates that say CA:TRUE. They are candidates, never
 * trust: a chain still has to reach a trust anchor. With a directory they are also kept there
 * (<sha256 of the DER>.crt), so a restart or a reload still knows them.
 *
 * Lifetime: one per process (held by struct inbound); thread-safe.
 */
#ifndef AUTOSMIME_ISSUER_POOL_H
#define AUTOSMIME_ISSUER_POOL_H

#include <openssl/x509.h>

#define ISSUER_POOL_MAX 256

struct issuer_pool;

/* dir: NULL for memory only; made when missing, read at once. NULL when out of memory. */
struct issuer_pool *issuer_pool_new(const char *dir);
void issuer_pool_free(struct issuer_pool *p);
/* Add the CA certificates of chain (others are skipped); duplicates are kept once. */
void issuer_pool_add(struct issuer_pool *p, STACK_OF(X509) *chain);
/* A copy (up-referenced) for one verification, or NULL when out of memory. */
STACK_OF(X509) *issuer_pool_get(struct issuer_pool *p);

#endif
