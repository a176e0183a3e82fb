/*
 * dns: the ldns resolver that CAA and SPF lookups share, built from the dns_resolver option:
 * "" (the nameservers of /etc/resolv.conf), "ADDR" or "ADDR@PORT" (IPv4 or IPv6 literal, the
 * same syntax as tests/harness/dns.sh's DNS_RESOLVER and unbound's). Queries go over UDP with
 * TCP fallback, the DO bit set, a bounded timeout and retry count.
 */
#ifndef AUTOSMIME_POLICY_DNS_H
#define AUTOSMIME_POLICY_DNS_H

#include <stddef.h>

#include <ldns/ldns.h>

#define AS_DNS_TIMEOUT_S 5
#define AS_DNS_RETRIES 2

/*
 * A new resolver. `dnssec_cd` sets the CD bit so that a validating resolver passes data it
 * considers bogus on to us, for our own validation. Returns 0, or -1 with err.
 * Lifetime: the caller's; one per thread (ldns resolvers are not shared between threads).
 */
int as_dns_resolver_new(const char *spec, bool dnssec_cd, ldns_resolver **out, char *err,
    size_t errcap);

#endif
