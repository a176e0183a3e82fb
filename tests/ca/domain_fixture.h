/*
 * domain_fixture: the CA tests' way to a domain control validation without DNS: a Random
 * Value from ca_domain_challenge, recorded with ca_domain_record as policy/domain_txt would
 * after the TXT check (which tests/policy/domain_dns.sh runs against real DNS).
 */
#ifndef AUTOSMIME_TESTS_CA_DOMAIN_FIXTURE_H
#define AUTOSMIME_TESTS_CA_DOMAIN_FIXTURE_H

#include "ca/ca_domain.h"

/* Challenge and record `domain` for `reuse` seconds. Returns the ca_domain_record result. */
int fixture_domain_validate(struct ca *ca, const char *domain, long long reuse,
    struct ca_domain_info *out, struct ca_error *err);

/* SHA-256 of a value, as the TXT check compares it. */
void fixture_value_hash(const char *value, unsigned char out[32]);

#endif
