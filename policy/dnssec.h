/*
 * dnssec: our own DNSSEC validation of answers fetched through the configured resolver, so a
 * bogus answer is caught even when that resolver does not validate (or validates wrongly).
 *
 * Queries carry DO and CD (the resolver hands us what it has, bogus or not); we build the chain
 * of trust ourselves from the trust anchor file (DS or DNSKEY records in zone-file syntax) down:
 * DNSKEY of the anchor zone matched against the anchor, then DS and DNSKEY per zone cut, RRSIGs
 * checked at the given time, NSEC/NSEC3 denials checked for empty answers and for delegations
 * without DS (an insecure zone). The zone that must sign data at a name is found by that walk,
 * never taken from the signer field of an answer's RRSIG (which an attacker chooses). Names
 * outside every anchor count as insecure (indeterminate): configure the root anchor in production.
 * A positive answer synthesised from a wildcard also needs the signed NSEC/NSEC3 proof that
 * the name asked for does not exist (dnssec_denial.h); NSEC3 opt-out spans and NSEC3 beyond
 * the iterations bound give insecure, never secure.
 *
 * Bounds: at most AS_DNSSEC_MAX_QUERIES queries and AS_DNSSEC_DEADLINE_S seconds per validator,
 * names of at most 253 characters, anchor files of at most 64 KiB, at most
 * AS_DENIAL_MAX_RECORDS NSEC/NSEC3 records per answer.
 */
#ifndef AUTOSMIME_POLICY_DNSSEC_H
#define AUTOSMIME_POLICY_DNSSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <ldns/ldns.h>

#define AS_DNSSEC_MAX_QUERIES 64
#define AS_DNSSEC_DEADLINE_S 30
#define AS_DNSSEC_ANCHOR_FILE_MAX (64 * 1024)
#define AS_DNSSEC_ANCHORS_MAX 64

enum as_dnssec_state {
	AS_DNSSEC_SECURE,    /* validated from the anchor down */
	AS_DNSSEC_INSECURE,  /* provably unsigned (delegation without DS) or outside the anchors */
	AS_DNSSEC_BOGUS,     /* should be signed and is not, or signatures/denials do not verify */
	AS_DNSSEC_FAILED,    /* no usable answer (SERVFAIL, timeout, budget exhausted) */
};

/*
 * A validator: resolver, anchors, cache of validated zone keys, query budget and deadline.
 * Lifetime: one check (a CAA tree climb, an SMIMEA lookup) in one thread.
 */
struct as_dnssec;

/* `resolver`: the dns_resolver option (see dns.h); `anchor_file`: DS/DNSKEY RRs; `now`:
 * the time signatures are checked at. Returns 0, or -1 with err. */
int as_dnssec_new(const char *resolver, const char *anchor_file, time_t now,
    struct as_dnssec **out, char *err, size_t errcap);
void as_dnssec_free(struct as_dnssec *v);

/* The result of one lookup; clear with as_dnssec_answer_clear. */
struct as_dnssec_answer {
	enum as_dnssec_state state;
	ldns_rr_list *rrset;     /* the RRset of name/type, or NULL when empty */
	ldns_rdf *alias;         /* set when name has a CNAME: the target (rrset is NULL) */
	bool nxdomain;
	bool insecure_proven;    /* FAILED, but the name lies in a provably insecure zone */
	char why[256];           /* a short explanation for the evidence text */
};

/*
 * Where queries go: by default the configured resolver. A test or fuzz harness may instead
 * answer them itself (recorded or altered packets), so that the whole validator runs on them.
 * `send` returns a new packet (the validator frees it) or NULL for "no answer".
 */
typedef ldns_pkt *(*as_dnssec_send_fn)(void *ctx, const ldns_rdf *name, ldns_rr_type type);
void as_dnssec_set_transport(struct as_dnssec *v, as_dnssec_send_fn send, void *ctx);

/* Look up `name`/`type` (type not CNAME) and validate. Returns 0 (state says how it went), or
 * -1 on bad arguments or memory. */
int as_dnssec_lookup(struct as_dnssec *v, const ldns_rdf *name, ldns_rr_type type,
    struct as_dnssec_answer *out);
void as_dnssec_answer_clear(struct as_dnssec_answer *a);

/* "secure", "insecure", "bogus", "failed". */
const char *as_dnssec_state_name(enum as_dnssec_state s);

#endif
