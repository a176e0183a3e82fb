/*
 * keypool: a small bounded pool of private keys made ahead of time by one background thread,
 * so that issuing a certificate with a CA-made RSA key does not wait for RSA key generation
 * (issue 7). Owns the pooled keys (memory only; they never touch disk) and the thread.
 *
 * Pooled types: RSA-2048 from the start; RSA-3072, RSA-4096 and P-384 once a caller first asks
 * for one (so a site that never issues RSA-4096 never spends seconds of CPU on it). P-256 is
 * not pooled: generating it costs well under a millisecond of the enrolment budget.
 *
 * Lifetime: created by ca_open (struct ca_params.keypool), freed by ca_close; every call is
 * thread-safe. A key taken is removed from the pool, so it is handed out at most once.
 */
#ifndef AUTOSMIME_CA_KEYPOOL_H
#define AUTOSMIME_CA_KEYPOOL_H

#include <openssl/evp.h>

#include "ca/ca.h"

#define CA_KEYPOOL_DEFAULT 4   /* keys kept ready per pooled type when the size is 0 */
#define CA_KEYPOOL_MAX 32

struct ca_kpool;

/* Start the pool and its thread; `size` keys per type (0: the default, capped at the max). */
int ca_kpool_new(unsigned size, unsigned warm, struct ca_kpool **out, struct ca_error *err);

/*
 * A pooled key of `type` (the caller owns it), or NULL when none is ready or the type is not
 * pooled; then the caller generates one itself. Wakes the thread to refill.
 */
EVP_PKEY *ca_kpool_take(struct ca_kpool *kp, enum ca_key_type type);

/* Counters and state of one type; CA_INVALID for an unknown type. */
int ca_kpool_stats(struct ca_kpool *kp, enum ca_key_type type, struct ca_keypool_figures *out);

/* Wait until at least n keys of `type` are ready (n is capped at the pool size). */
int ca_kpool_wait(struct ca_kpool *kp, enum ca_key_type type, unsigned n, int timeout_ms);

/* Stop the thread (a key being generated is abandoned), join it, free every pooled key. */
void ca_kpool_free(struct ca_kpool *kp);

#endif
