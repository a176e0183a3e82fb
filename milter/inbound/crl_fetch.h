/*
 * crl_fetch: the process-wide cache of CRLs fetched from CRL distribution points, with a
 * background thread that fetches new URLs and refreshes cached CRLs before their nextUpdate,
 * so the message path rarely waits. On first sight of a URL the message path waits a short,
 * bounded time for the first fetch and otherwise gets CRL_PENDING (a temperror result).
 *
 * Fetched CRLs are also kept on disk (cache_dir/<sha256 of the URL>.crl, DER) so a restart
 * does not refetch. Their signatures are NOT checked when fetched: certificate verification
 * checks each CRL against its issuer (crl_cache_signature_ok remembers the outcome).
 * Lifetime: one per process; thread-safe.
 */
#ifndef AUTOSMIME_CRL_FETCH_H
#define AUTOSMIME_CRL_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#define CRL_CACHE_MAX_ENTRIES 512

struct crl_cache_params {
	const char *cache_dir;   /* NULL or "": memory only */
	int timeout_ms;          /* one HTTP fetch; 0: 10 s */
	size_t max_size;         /* one CRL; 0: 4 MiB */
	int wait_ms;             /* how long the message path waits on first sight; 0: 3 s */
	long long retry_s;       /* after a failed fetch; 0: 60 s */
	time_t (*now)(void);     /* injectable clock; NULL: time() */
};

struct crl_cache;

/* Starts the fetch thread. NULL with a reason in why. */
struct crl_cache *crl_cache_new(const struct crl_cache_params *p, char *why, size_t whycap);
/* Stops the thread (a fetch in progress finishes within its timeout) and frees everything. */
void crl_cache_free(struct crl_cache *c);

enum crl_state {
	CRL_READY,     /* *out set (up-referenced): the newest CRL we have, maybe past nextUpdate */
	CRL_PENDING,   /* first fetch not finished in time */
	CRL_FAILED,    /* the last fetch failed (why says how) and nothing is cached */
};

enum crl_state crl_cache_get(struct crl_cache *c, const char *url, X509_CRL **out, char *why,
    size_t whycap);
/*
 * The same, waiting at most until deadline (CLOCK_REALTIME), so that the CRLs of one chain
 * share one wait; a deadline already past never waits, yet asks the thread for the CRL.
 */
enum crl_state crl_cache_get_until(struct crl_cache *c, const char *url,
    const struct timespec *deadline, X509_CRL **out, char *why, size_t whycap);
/* now + the configured wait (wait) or now (never wait), for crl_cache_get_until. */
void crl_cache_deadline(const struct crl_cache *c, bool wait, struct timespec *ts);

/*
 * Whether crl's signature verifies with key. Checked once per cached CRL object and issuer
 * key and remembered in its cache entry until a newer fetch (or eviction) replaces the CRL,
 * so the message path does not hash the whole CRL again; a CRL not (or no longer) in the
 * cache is checked every time.
 */
bool crl_cache_signature_ok(struct crl_cache *c, X509_CRL *crl, EVP_PKEY *key);

/* The http URLs of a certificate's CRL distribution points (fullName URIs), at most max. */
size_t crl_dp_urls(X509 *cert, char urls[][1024], size_t max);

#endif
