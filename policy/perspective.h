/*
 * perspective: the resolvers a DNS check is asked of (dns_perspectives, dns_perspective_quorum)
 * and the runner that asks them all at once, one thread each, so a perspective that is down
 * costs its own bounded timeout (dns.h, dnssec.h) and never adds to the others'.
 *
 * With dns_perspectives empty there is one perspective, dns_resolver, and a quorum of 1:
 * today's single-resolver behaviour. Quorum 0 means a majority (n / 2 + 1).
 * Each check decides with its own rule (caa_quorum.h, domain_txt.h); a perspective that does
 * not answer never counts as agreeing.
 */
#ifndef AUTOSMIME_POLICY_PERSPECTIVE_H
#define AUTOSMIME_POLICY_PERSPECTIVE_H

#include <stddef.h>

#include "common/conf.h"

#define AS_PERSPECTIVES_MAX 8
#define AS_PERSPECTIVE_ADDR_MAX 64

/* Lifetime: the caller's; addresses are copies. */
struct as_perspectives {
	char addr[AS_PERSPECTIVES_MAX][AS_PERSPECTIVE_ADDR_MAX];
	size_t n;
	unsigned quorum;          /* 1 .. n */
};

/*
 * Build from the options: `list` (dns_perspectives, may be NULL or empty), `quorum`
 * (dns_perspective_quorum) and `single` (dns_resolver, used when the list is empty). Every
 * address is checked with the dns_resolver syntax. Returns 0, or -1 with err.
 */
int as_perspectives_from(const struct as_conf_list *list, long long quorum, const char *single,
    struct as_perspectives *out, char *err, size_t errcap);

/* Run work(i, addr, arg) for every perspective, each in its own thread; returns when all
 * have returned. When a thread cannot be started that perspective runs in the caller. */
void as_perspectives_run(const struct as_perspectives *ps,
    void (*work)(size_t i, const char *addr, void *arg), void *arg);

#endif
