/*
 * mime_canon: builds the inner MIME entity that S/MIME signs or encrypts: the message's
 * Content-* header fields (or a text/plain default) and its body, in canonical CRLF form,
 * every line at most 998 characters, 8bit and binary parts re-encoded (quoted-printable for
 * text, base64 otherwise) so that the entity is 7bit-clean. A body that is already 7bit-clean
 * is copied as received (only line ends are made CRLF). Malformed structure that would need
 * re-encoding answers SMIME_SKIP with a reason.
 */
#ifndef AUTOSMIME_MIME_CANON_H
#define AUTOSMIME_MIME_CANON_H

#include <stdbool.h>

#include "milter/engine/mime.h"
#include "milter/engine/smime.h"

/* Most entities (parts) one message may have; more answers SMIME_SKIP. */
#define MIME_CANON_MAX_PARTS 10000

/* Write the entity to `o`, ending with its final CRLF (the writer is flushed). */
enum smime_status mime_canon_entity(const struct smime_message *msg, bool header_protection,
    struct mime_out *o, struct smime_error *err);

/* Header fields that move from the outer header into the entity (Content-*). */
bool mime_canon_is_moved(const char *name);

/* Top-level Content-Type of the message (first one), parsed; ct->present false if none. */
void mime_canon_top_ct(const struct smime_message *msg, struct mime_ct *ct);

#endif
