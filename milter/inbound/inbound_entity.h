/*
 * inbound_entity: split a MIME entity held in a spool (a decrypted inner entity) into its
 * header fields and a new body spool, so it can replace the outer message's Content-* fields
 * and body. Bounded: SMIME_MAX_HEADERS fields, SMIME_MAX_HEADER_LEN bytes per field.
 */
#ifndef AUTOSMIME_INBOUND_ENTITY_H
#define AUTOSMIME_INBOUND_ENTITY_H

#include <stddef.h>

#include "milter/engine/smime.h"

/* Lifetime: the caller's; free with inbound_entity_free. Values keep folding as LF + WSP. */
struct inbound_entity {
	struct smime_header *headers;
	size_t header_count;
	struct spool *body;
};

/* 0, or -1 (malformed beyond the bounds, or out of memory) with why. */
int inbound_entity_split(struct spool *in, const struct smime_options *opt,
    struct inbound_entity *out, char *why, size_t whycap);
void inbound_entity_free(struct inbound_entity *e);

#endif
