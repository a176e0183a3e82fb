/*
 * token: enrolment challenge tokens (S/MIME BR 3.2.2.2) and the RFC 8823 text conventions.
 *
 * A token is AS_TOKEN_BYTES random bytes from the OpenSSL CSPRNG written as base64url without
 * padding. Only its SHA-256 hash is ever stored; a candidate from a reply is hashed and the
 * hashes compared with as_equal_ct. The token text itself is a secret: never log it.
 */
#ifndef AUTOSMIME_POLICY_TOKEN_H
#define AUTOSMIME_POLICY_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define AS_TOKEN_BYTES 18          /* 144 bits of entropy, at least the 128 the policy asks */
#define AS_TOKEN_LEN 24            /* base64url characters of AS_TOKEN_BYTES, no padding */
#define AS_TOKEN_HASH_LEN 32       /* SHA-256 */
#define AS_TOKEN_ID_LEN 16         /* hex characters of the public challenge id */

/* The marker that precedes a token in a subject or a body line (RFC 8823 section 3). */
#define AS_ACME_MARKER "ACME:"
#define AS_ACME_BEGIN "-----BEGIN ACME RESPONSE-----"
#define AS_ACME_END "-----END ACME RESPONSE-----"

/*
 * A fresh token. `text` receives AS_TOKEN_LEN characters and a NUL (cap > AS_TOKEN_LEN);
 * `hash` its SHA-256. Returns 0, or -1 when the CSPRNG or the hash fails (nothing is output).
 */
int as_token_new(char *text, size_t cap, unsigned char hash[AS_TOKEN_HASH_LEN]);

/* SHA-256 of `len` bytes of token text. Returns 0 or -1. */
int as_token_hash(const char *text, size_t len, unsigned char hash[AS_TOKEN_HASH_LEN]);

/* Is this exactly AS_TOKEN_LEN characters of the base64url alphabet? */
bool as_token_wellformed(const char *text, size_t len);

/* Is c in the base64url alphabet (A-Z a-z 0-9 - _)? */
bool as_token_char(int c);

/*
 * Does the candidate match the stored hash? The candidate is hashed and the two hashes are
 * compared with as_equal_ct, so the time taken does not depend on where they differ.
 * A malformed candidate is hashed all the same and then refused.
 */
bool as_token_check(const char *candidate, size_t len,
    const unsigned char stored_hash[AS_TOKEN_HASH_LEN]);

/*
 * The public id of a challenge: the first 8 bytes of a second hash over the token hash, in
 * hex, so a log line or an audit record can name the challenge without revealing anything
 * that helps to answer it. `out` must hold AS_TOKEN_ID_LEN + 1 bytes.
 */
int as_token_id(const unsigned char hash[AS_TOKEN_HASH_LEN], char out[AS_TOKEN_ID_LEN + 1]);

/*
 * The RFC 8823 subject: "[prefix ]ACME: <token>". The prefix is optional human text (NULL or
 * "" for none) and must not hold control characters. Returns the length, or -1 when the
 * prefix is bad or `cap` is too small.
 */
int as_acme_subject(const char *prefix, const char *token, char *out, size_t cap);

/*
 * The response block an ACME-style client may put in its reply body instead of relying on the
 * quoted subject: BEGIN line, the token on its own line, END line, each ending in "\n".
 * Returns the length or -1.
 */
int as_acme_response_block(const char *token, char *out, size_t cap);

#endif
