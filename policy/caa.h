/*
 * caa: may our CA issue an S/MIME certificate for a mailbox domain? CAA `issuemail` (RFC 9495)
 * with the relevant-RRset search of RFC 8659 (climb from the domain toward the root, stopping
 * below the root, until a CAA RRset is found; a CNAME at a name is followed for that name's
 * query, at most AS_CAA_MAX_ALIASES times) and our own DNSSEC validation (dnssec.h).
 *
 * Only `issuemail` restricts S/MIME: a set of `issue`/`issuewild` records alone allows it. A
 * record with the critical flag and a tag we do not know forbids issuance (RFC 8659 4.1).
 * The issuer-domain-name is compared case-insensitively; parameters after ';' are ignored.
 * A bogus answer blocks; a lookup failure blocks unless the name is provably insecure
 * (S/MIME BR 4.2.2.1), which gives ALLOWED_INSECURE.
 */
#ifndef AUTOSMIME_POLICY_CAA_H
#define AUTOSMIME_POLICY_CAA_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define AS_CAA_EVIDENCE_MAX 1024
#define AS_CAA_MAX_ALIASES 8
#define AS_CAA_MAX_RECORDS 32     /* records of the relevant set listed in the evidence */

enum as_caa_outcome {
	AS_CAA_ALLOWED,            /* no issuemail record, or one names ca_domain */
	AS_CAA_ALLOWED_INSECURE,   /* lookup failed, but the zone is provably unsigned */
	AS_CAA_FORBIDDEN,          /* issuemail records, none for us (or issuemail ";") */
	AS_CAA_BOGUS,              /* DNSSEC validation failed: blocks */
	AS_CAA_LOOKUP_FAILED,      /* no answer in a signed (or unknown) zone: blocks */
};

/* Settings, usually from struct as_conf; strings borrowed for the call. */
struct as_caa_params {
	const char *resolver;           /* dns_resolver: "", ADDR or ADDR@PORT */
	const char *trust_anchor_file;  /* dns_trust_anchor_file: DS or DNSKEY RRs */
	const char *ca_domain;          /* our issuer-domain-name */
	time_t now;                     /* signature validity time; 0: time() */
};

/* Outcome plus evidence for the validation record: the name where the relevant set was found,
 * its records (escaped), the DNSSEC state and why. Lifetime: the caller's. */
struct as_caa_result {
	enum as_caa_outcome outcome;
	char evidence[AS_CAA_EVIDENCE_MAX];
	bool secure;   /* the decision rests on DNSSEC-secure answers all the way (issue 16) */
};

/*
 * Check `domain` (the mailbox's domain, ASCII or A-labels, at most 253 characters). Returns 0
 * with the result filled in (outcome and evidence), or -1 when the check could not start (bad
 * arguments, unreadable anchor file): then the outcome is LOOKUP_FAILED and evidence says why.
 */
int as_caa_check(const struct as_caa_params *p, const char *domain, struct as_caa_result *out);

/* Does the outcome permit issuance (ALLOWED or ALLOWED_INSECURE)? */
bool as_caa_permits(enum as_caa_outcome o);

/* "allowed", "allowed-insecure", "forbidden", "bogus", "lookup-failed". */
const char *as_caa_outcome_name(enum as_caa_outcome o);

#endif
