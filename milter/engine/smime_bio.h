/*
 * smime_bio: OpenSSL BIOs over spools, so CMS code streams message data without copying
 * it into memory: a source that reads an optional prefix and then a spool, a sink that
 * appends to a spool, and a sink that base64-encodes (76-character CRLF lines) into a spool.
 */
#ifndef AUTOSMIME_SMIME_BIO_H
#define AUTOSMIME_SMIME_BIO_H

#include <stddef.h>

#include <openssl/bio.h>

#include "milter/engine/mime.h"
#include "milter/engine/spool.h"

/*
 * Source: `prefix` (copied, may be NULL) then the spool from its start (rewound here).
 * The spool is borrowed and must outlive the BIO.
 */
BIO *smime_bio_spool_source(struct spool *sp, const char *prefix, size_t prefix_len);

/* Sink appending to the borrowed spool; base64 when b64 (finish with smime_bio_b64_finish). */
BIO *smime_bio_spool_sink(struct spool *sp, int b64);
/* Write the last base64 group and line end; 0 or -1 when any write failed. */
int smime_bio_b64_finish(BIO *b);

/* mime_out writer callback appending to a spool (arg = struct spool *). */
int smime_spool_out(void *arg, const void *p, size_t n);

#endif
