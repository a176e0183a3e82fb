/*
 * dnssec_denial: proofs that a name or a type does not exist, from NSEC (RFC 4035 5.4) or
 * NSEC3 (RFC 5155 8) records whose signatures the caller has already verified with the keys
 * of `zone`. Also the proof behind a wildcard-expanded answer: that the name asked for does not
 * exist, so the wildcard did apply (RFC 4035 5.3.4, RFC 5155 8.8).
 *
 * NSEC3 records with an unknown hash algorithm or unknown flags are ignored (RFC 5155 8.1-8.2);
 * more than AS_DENIAL_NSEC3_MAX_ITERATIONS iterations make the answer insecure (RFC 9276 3.2),
 * as does an opt-out span covering the next closer name (RFC 5155 9.2). Owns nothing.
 */
#ifndef AUTOSMIME_POLICY_DNSSEC_DENIAL_H
#define AUTOSMIME_POLICY_DNSSEC_DENIAL_H

#include <stdbool.h>
#include <stddef.h>

#include <ldns/ldns.h>

#define AS_DENIAL_NSEC3_MAX_ITERATIONS 150
#define AS_DENIAL_MAX_RECORDS 32   /* more NSEC/NSEC3 records than any proof needs: hostile */

enum as_denial {
	AS_DENIAL_PROVEN,     /* securely proven */
	AS_DENIAL_INSECURE,   /* opt-out span, or NSEC3 parameters we do not process */
	AS_DENIAL_FAILED,     /* no proof: the answer is bogus */
};

/* Verified NSEC or NSEC3 records (not both) of `zone`, borrowed. */
struct as_denial_set {
	const ldns_rr_list *recs;
	bool nsec3;
	const ldns_rdf *zone;
};

/* NXDOMAIN: `name` does not exist and no wildcard could have answered for it. */
enum as_denial as_denial_nxdomain(const struct as_denial_set *s, const ldns_rdf *name,
    char *why, size_t cap);

/*
 * NODATA: `name` (or the wildcard that matches it) exists without `type`. For DS, *delegation
 * tells that name is a delegation (NS without SOA): a cut without DS, an insecure child.
 */
enum as_denial as_denial_nodata(const struct as_denial_set *s, const ldns_rdf *name,
    ldns_rr_type type, bool *delegation, char *why, size_t cap);

/* A positive answer at `name` synthesised from the wildcard at `encloser` (the RRSIG's labels
 * count of name's rightmost labels): name itself, and every name between, does not exist. */
enum as_denial as_denial_wildcard(const struct as_denial_set *s, const ldns_rdf *name,
    const ldns_rdf *encloser, char *why, size_t cap);

#endif
