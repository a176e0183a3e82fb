/*
 * fuzz_util: what several fuzz targets share: the fixed test keys of tests/fuzz/keys, a raw
 * message split into header fields and a body spool the way the daemon hands them to the
 * engine, and an engine result applied back onto a message.
 */
#ifndef AUTOSMIME_FUZZ_UTIL_H
#define AUTOSMIME_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "milter/engine/smime.h"

/* Lifetime: the process (loaded once, never freed: libFuzzer never returns). */
struct fuzz_keys {
	X509 *root;
	X509_STORE *store;    /* trusts root only */
	EVP_PKEY *signer_key;
	X509 *signer;
	EVP_PKEY *rsa_key;
	X509 *rsa;
	EVP_PKEY *ec_key;
	X509 *ec;
};

/* The keys (aborts when tests/fuzz/keys cannot be read: the harness is broken, not the input). */
const struct fuzz_keys *fuzz_keys(void);

/* A message split at the first empty line; header fields unfolded as the MTA would pass them. */
struct fuzz_msg {
	struct smime_header *headers;
	size_t header_count;
	struct spool *body;
	struct smime_message m;
};

/* 0, or -1 when the bytes do not make a message within the engine's bounds (skip the input). */
int fuzz_msg_parse(const uint8_t *data, size_t size, struct fuzz_msg *out);
void fuzz_msg_free(struct fuzz_msg *msg);

/* Apply a result (remove, add, replace body) to msg, as the milter does; 0 or -1. */
int fuzz_msg_apply(struct fuzz_msg *msg, struct smime_result *res);

/* The whole spool as one malloc'd buffer (NUL-terminated; *len without the NUL); NULL on error. */
char *fuzz_spool_bytes(struct spool *sp, size_t *len);

#endif
