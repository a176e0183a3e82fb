/*
 * keycache: per-sender cache of signing keys and certificates from the CA (ca_signer_load),
 * because loading and decrypting a key costs far more than one signature.
 *
 * An entry is used while it is younger than the TTL, the CA's generation counter has not
 * changed (issue, revoke, renew) and its certificate has not expired. "No certificate" is
 * cached the same way, so unenrolled senders do not hit the store for every message.
 * Entries are reference-counted: a signer stays valid while a message uses it even if the
 * cache drops it meanwhile. Thread-safe.
 *
 * Lifetime: per process (created after the CA is opened, freed before it is closed).
 */
#ifndef AUTOSMIME_MILTER_KEYCACHE_H
#define AUTOSMIME_MILTER_KEYCACHE_H

#include <stddef.h>
#include <time.h>

#include "ca/ca.h"

struct keycache;
struct keycache_entry;
struct cms_signed_template;

struct keycache *keycache_new(struct ca *ca, time_t (*now)(void), size_t max_entries);
void keycache_free(struct keycache *kc);

/*
 * The signer of `mailbox`. CA_OK: *out is a reference (release with keycache_put) and
 * keycache_signer(*out) is set. CA_NOTFOUND: no valid certificate. CA_ERR: see err.
 * ttl is cert_cache_ttl in seconds; 0 disables caching. caps (SMIME_CAP_*) go into the
 * template; an entry built for other caps is reloaded.
 */
int keycache_get(struct keycache *kc, const char *mailbox, long long ttl, unsigned caps,
    struct keycache_entry **out, struct ca_error *err);
const struct ca_signer *keycache_signer(const struct keycache_entry *e);
/*
 * The sender's own encryption certificate (ca_encryption_cert): the signer's certificate
 * when it is dual-use, its partner for a pair; NULL when the sender has none.
 */
X509 *keycache_encryption_cert(const struct keycache_entry *e);
/*
 * The signer's CMS template (milter/cms_signed.h) for smime_signer.tmpl, valid as long as
 * the reference; NULL when there is none (the engine then copes per message).
 */
const struct cms_signed_template *keycache_template(const struct keycache_entry *e);
void keycache_put(struct keycache *kc, struct keycache_entry *e);

/* Statistics for tests and logs. */
struct keycache_stats {
	unsigned long hits, loads, entries;
};
void keycache_stats(struct keycache *kc, struct keycache_stats *out);

#endif
