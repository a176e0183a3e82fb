/*
 * smimea: recipient certificates from SMIMEA records (RFC 8162), for recipients the gateway
 * holds no certificate for. Only a DNSSEC-secure answer (policy/dnssec.h, our own validation)
 * counts: bogus, insecure and failed answers are ignored. Answers are cached by their TTL.
 *
 * Certificate usages (RFC 6698 2.1.1 / RFC 8162 2): 3 DANE-EE is trusted on DNSSEC alone;
 * 1 PKIX-EE needs the certificate to validate against the caller's PKIX anchors and to name
 * the mailbox; 0 PKIX-TA and 2 DANE-TA are refused (they constrain a CA, and mail gives us no
 * end-entity certificate to check against them). Selector 0 (full certificate) with matching
 * type 0 carries the certificate itself; every other selector/matching combination (SPKI,
 * SHA-256, SHA-512) is matched against certificates the caller already holds for the mailbox.
 * A chosen certificate must be inside its validity period and hold an RSA or EC key that may
 * encrypt (keyEncipherment / keyAgreement when keyUsage is present).
 *
 * Lifetime: struct as_smimea per process (the cache; thread-safe, lookups run unlocked).
 */
#ifndef AUTOSMIME_POLICY_SMIMEA_H
#define AUTOSMIME_POLICY_SMIMEA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#define AS_SMIMEA_MAX_RECORDS 32          /* records of one RRset considered */
#define AS_SMIMEA_MAX_DATA (16 * 1024)    /* association data of one record */
#define AS_SMIMEA_CACHE_MAX 4096
#define AS_SMIMEA_MAX_TTL (24 * 3600)     /* a longer TTL is cut to this */
#define AS_SMIMEA_NEG_TTL 300             /* no record, insecure, bogus */
#define AS_SMIMEA_FAIL_TTL 60             /* lookup failed */
#define AS_SMIMEA_MAX_ALIASES 8

/* Strings are copied. */
struct as_smimea_params {
	const char *resolver;            /* dns_resolver ("" : /etc/resolv.conf) */
	const char *trust_anchor_file;   /* DNSSEC anchors (DS or DNSKEY records) */
	time_t (*now)(void);             /* injectable clock; NULL: time() */
};

struct as_smimea;

struct as_smimea *as_smimea_new(const struct as_smimea_params *p, char *why, size_t whycap);
void as_smimea_free(struct as_smimea *s);

enum as_smimea_status {
	AS_SMIMEA_FOUND,    /* *out set (a reference the caller frees) */
	AS_SMIMEA_NONE,     /* no usable record in a secure answer, or the answer was not secure */
	AS_SMIMEA_FAILED,   /* the lookup failed (timeout, SERVFAIL): nothing known */
};

/* One lookup. Everything is borrowed. */
struct as_smimea_query {
	const char *mailbox;             /* local@domain; the local part is hashed as given */
	X509 *const *known;              /* certificates already held for the mailbox */
	size_t known_count;
	STACK_OF(X509) *pkix_anchors;    /* for usage 1; NULL refuses usage 1 */
};

/* One SMIMEA record's fields. */
struct as_smimea_record {
	uint8_t usage, selector, mtype;
	unsigned char *data;
	size_t len;
};

/* Look the mailbox up (cache first). why (safe to log) says what was found or refused. */
enum as_smimea_status as_smimea_lookup(struct as_smimea *s, const struct as_smimea_query *q,
    X509 **out, char *why, size_t whycap);

/* Choose a certificate from records (no I/O): FOUND or NONE, with why. */
enum as_smimea_status as_smimea_choose(const struct as_smimea_record *recs, size_t n,
    const struct as_smimea_query *q, time_t now, X509 **out, char *why, size_t whycap);

/* The owner name: hex(SHA-256(local part))[28 octets]._smimecert.<domain>. 0 or -1. */
int as_smimea_owner(const char *mailbox, char *out, size_t cap);

#endif
