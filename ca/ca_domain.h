/*
 * ca_domain: domain control validations (S/MIME BR 3.2.2.1 by TLS BR 3.2.2.4.7, DNS Change),
 * part of the public CA contract beside ca.h.
 *
 * The CA keeps, per domain, the pending Random Value (only its SHA-256; at least 112 bits from
 * the OpenSSL CSPRNG, valid CA_DOMAIN_VALUE_LIFETIME) and the validation that a TXT record
 * proved (method, value hash, time, evidence, reuse limit). policy/ looks the TXT record up and
 * compares; ca/ re-checks the hash in constant time inside the transaction that records it.
 * Organization-validated issuance (ca_issue, ca_renew) needs a valid, unexpired validation of
 * the mailbox's domain or of a parent domain (ca_domain_valid_for).
 *
 * Database: domains.db, domain (lower case, A-labels) -> struct ca_domain_rec (ca_int.h).
 * Every change is one transaction with its audit record (domain-challenge, domain-validation,
 * domain-revoke).
 */
#ifndef AUTOSMIME_CA_DOMAIN_H
#define AUTOSMIME_CA_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "ca/ca.h"

#define CA_DOMAIN_MAX 253
#define CA_DOMAIN_VALUE_BYTES 20              /* 160 bits of CSPRNG output */
#define CA_DOMAIN_VALUE_LEN (2 * CA_DOMAIN_VALUE_BYTES)
#define CA_DOMAIN_VALUE_LIFETIME (30LL * 86400)   /* TLS BR 3.2.2.4.7: at most 30 days */
#define CA_DOMAIN_REUSE_MAX (398LL * 86400)       /* S/MIME BR 4.2.1: domain control */
#define CA_DOMAIN_EVIDENCE_MAX 1536
#define CA_DOMAIN_METHOD "3.2.2.4.7"

/* A domain's record as read. Lifetime: the caller's. */
struct ca_domain_info {
	char domain[CA_DOMAIN_MAX + 1];
	bool pending;                          /* a Random Value waits for its TXT record */
	unsigned char pending_hash[32];        /* SHA-256 of that value */
	time_t pending_created, pending_expires;
	bool validated;                        /* a validation was recorded (maybe expired) */
	char id[17];                           /* public id of the validation */
	char method[16];
	unsigned char value_hash[32];          /* SHA-256 of the value the TXT record carried */
	time_t validated_at, valid_until;
	char evidence[CA_DOMAIN_EVIDENCE_MAX]; /* resolver answers, DNSSEC status, perspectives */
};

/* Lower-case and check a domain name (LDH labels, '_' refused, at least two labels). */
int ca_domain_normalise(const char *in, char out[CA_DOMAIN_MAX + 1], struct ca_error *err);

/*
 * A new Random Value for `domain` (replacing a pending one; a recorded validation stays until
 * it expires or is revoked). `value` receives CA_DOMAIN_VALUE_LEN hex characters and a NUL.
 */
int ca_domain_challenge(struct ca *ca, const char *domain, const char *actor,
    char value[CA_DOMAIN_VALUE_LEN + 1], struct ca_domain_info *out, struct ca_error *err);

/* The record of `domain`: CA_OK, CA_NOTFOUND, CA_ERR. */
int ca_domain_get(struct ca *ca, const char *domain, struct ca_domain_info *out,
    struct ca_error *err);

/*
 * Record that the TXT record carried the pending value whose SHA-256 is `found_hash` (policy/
 * matched it). In one transaction: the pending value must still be open and equal (constant
 * time), it is spent, and the validation is stored, valid for `reuse_seconds` (1 ..
 * CA_DOMAIN_REUSE_MAX), with `evidence` and an audit record. CA_NOTFOUND: no open value;
 * CA_MISMATCH: another value is pending; CA_INVALID: bad arguments.
 */
int ca_domain_record(struct ca *ca, const char *domain, const unsigned char found_hash[32],
    long long reuse_seconds, const char *evidence, const char *actor,
    struct ca_domain_info *out, struct ca_error *err);

/* Remove the domain's pending value and validation (audit domain-revoke). CA_NOTFOUND too. */
int ca_domain_revoke(struct ca *ca, const char *domain, const char *actor, struct ca_error *err);

/* Every record, in domain order; cb returns non-zero to stop. */
typedef int (*ca_domain_cb)(const struct ca_domain_info *info, void *arg);
int ca_domain_foreach(struct ca *ca, ca_domain_cb cb, void *arg, struct ca_error *err);

/*
 * Is `domain` (a mailbox's domain) covered at time `now` by an unexpired validation of itself
 * or of a parent with at least two labels? CA_OK with *out filled, CA_NOTFOUND with the reason
 * in err, CA_ERR.
 */
int ca_domain_valid_for(struct ca *ca, const char *domain, time_t now,
    struct ca_domain_info *out, struct ca_error *err);

#endif
