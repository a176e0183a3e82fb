/*
 * mime_enc: streaming transfer encoders for the S/MIME engine: quoted-printable (RFC 2045
 * 6.7, lines at most 76 characters with soft breaks) and base64 (76-character lines), both
 * writing through a struct mime_out so lines end in canonical CRLF.
 */
#ifndef AUTOSMIME_MIME_ENC_H
#define AUTOSMIME_MIME_ENC_H

#include <stddef.h>

#include "milter/engine/mime.h"

#define MIME_ENC_LINE 76

/* Quoted-printable state for one part. Lifetime: one part. */
struct qp_enc {
	size_t col;
	int held;			/* a space or tab not yet known to end the line; -1 = none */
};

void qp_init(struct qp_enc *q);
/* Bytes of one text line (possibly in pieces); qp_eol ends the line with a hard break. */
void qp_data(struct qp_enc *q, struct mime_out *o, const unsigned char *p, size_t n);
void qp_eol(struct qp_enc *q, struct mime_out *o);

/* Base64 state for one part or one CMS blob. Lifetime: one encoding. */
struct b64_enc {
	unsigned char pend[3];
	size_t npend;
	size_t col;
};

void b64_init(struct b64_enc *b);
void b64_data(struct b64_enc *b, struct mime_out *o, const unsigned char *p, size_t n);
/* Write the last group; ends the last line (the CRLF stays pending in the writer). */
void b64_final(struct b64_enc *b, struct mime_out *o);

#endif
