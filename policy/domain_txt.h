/*
 * domain_txt: the DNS half of domain control validation by DNS Change (S/MIME BR 3.2.2.1,
 * TLS BR 3.2.2.4.7). The Random Value is published as a TXT record at
 * AS_DOMAIN_TXT_LABEL.<domain> (an underscore-prefixed label below the Authorization Domain
 * Name, so the record sits beside nothing else), looked up through every DNS perspective with
 * our own DNSSEC validation (dnssec.h), aliases followed at most AS_DOMAIN_TXT_MAX_ALIASES times.
 *
 * A perspective agrees when its answer is DNSSEC-secure and one TXT record (its strings
 * joined, white space around it trimmed) hashes to the pending value's SHA-256, compared in
 * constant time. The check passes when at least `quorum` perspectives agree. An insecure or
 * bogus answer never agrees, and the reason says so. A secure answer without the value does
 * not veto the others: absence is what a not-yet-updated secondary shows, not contrary proof.
 * Bounds: at most AS_DOMAIN_TXT_MAX_RECORDS records of at most 255 octets each are read.
 */
#ifndef AUTOSMIME_POLICY_DOMAIN_TXT_H
#define AUTOSMIME_POLICY_DOMAIN_TXT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "policy/perspective.h"

#define AS_DOMAIN_TXT_LABEL "_autosmime-challenge"
#define AS_DOMAIN_TXT_MAX_ALIASES 4
#define AS_DOMAIN_TXT_MAX_RECORDS 16
#define AS_DOMAIN_TXT_EVIDENCE_MAX 1400

struct as_domain_txt_params {
	const struct as_perspectives *ps;
	const char *trust_anchor_file;     /* dns_trust_anchor_file */
	time_t now;                        /* signature validity time; 0: time() */
	const unsigned char *expect_sha256;   /* 32 octets: the pending value's hash */
};

/* Lifetime: the caller's. */
struct as_domain_txt_result {
	bool valid;                        /* a quorum agreed */
	unsigned agreed, secure, insecure, bogus, failed;
	char reason[400];                  /* why not valid (for the admin) */
	char evidence[AS_DOMAIN_TXT_EVIDENCE_MAX];  /* per perspective: address, status, records */
};

/* The owner name the record must have: AS_DOMAIN_TXT_LABEL "." domain "." */
int as_domain_txt_name(const char *domain, char *out, size_t cap);

/* Check `domain` (normalised). Returns 0 with out filled (valid says the verdict), or -1 on
 * bad arguments (reason filled). */
int as_domain_txt_check(const struct as_domain_txt_params *p, const char *domain,
    struct as_domain_txt_result *out);

#endif
