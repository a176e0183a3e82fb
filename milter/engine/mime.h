/*
 * mime: the small MIME primitives of the S/MIME engine: a bounded line reader over a spool
 * (CRLF, LF and lone CR all end a line), Content-Type and Content-Transfer-Encoding parsing,
 * and the output writer that joins lines with canonical CRLF.
 *
 * Every input is hostile: values are cut to fixed bounds and never trusted for sizes.
 */
#ifndef AUTOSMIME_MIME_H
#define AUTOSMIME_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "milter/engine/spool.h"

/* Lines longer than this come back in pieces (more/cont flags). */
#define MIME_CHUNK 8192
#define MIME_MAX_LINE 998		/* RFC 5322 2.1.1, without CRLF */
#define MIME_MAX_BOUNDARY 70		/* RFC 2046 5.1.1 */

/* Lifetime: one pass over one spool; the line points into the reader's buffer. */
struct mime_reader {
	struct spool *sp;
	unsigned char buf[2 * MIME_CHUNK];
	size_t start, end;
	bool eof;
	bool error;
	bool in_line;			/* the previous piece was not the end of its line */
	/*
	 * Scan memo, so that hostile data (say CR-only lines) never rescans a chunk: for LF
	 * and CR, the index of the next one at or after `start` (found), or the index below
	 * which there is none (not found). Indices are in buf and move with refill.
	 */
	size_t lf_at, cr_at;
	bool lf_found, cr_found;
};

enum mime_term { MIME_TERM_NONE = 0, MIME_TERM_LF, MIME_TERM_CRLF, MIME_TERM_CR };

/* One line or one piece of a long line. */
struct mime_line {
	const unsigned char *p;
	size_t n;
	enum mime_term term;		/* NONE when more follows or at end of data */
	bool cont;			/* continues the previous piece */
	bool more;			/* the line goes on in the next piece */
};

int mime_reader_init(struct mime_reader *rd, struct spool *sp);
/* 1 = a line, 0 = end of data, -1 = read error. */
int mime_reader_next(struct mime_reader *rd, struct mime_line *ln);
const char *mime_term_bytes(enum mime_term t, size_t *len);

enum mime_cte { MIME_CTE_NONE, MIME_CTE_7BIT, MIME_CTE_8BIT, MIME_CTE_BINARY, MIME_CTE_QP,
	MIME_CTE_BASE64, MIME_CTE_OTHER };

/* A parsed Content-Type; fields are lower-cased except boundary. Lifetime: caller's. */
struct mime_ct {
	bool present;
	char type[32];
	char subtype[64];
	char boundary[MIME_MAX_BOUNDARY + 1];
	bool has_boundary;
	bool bad_boundary;		/* present but empty, too long or with bad characters */
	char smime_type[32];
};

void mime_ct_parse(const char *v, size_t len, struct mime_ct *ct);
enum mime_cte mime_cte_parse(const char *v, size_t len);
bool mime_ct_is(const struct mime_ct *ct, const char *type, const char *subtype);

/* Case-insensitive "is this header field named n". */
bool mime_name_is(const char *name, size_t len, const char *n);

/*
 * Output writer: lines are joined by CRLF; the CRLF after a line is written only when more
 * follows (or on flush), so the last line of a part can share its CRLF with the delimiter.
 * Lifetime: one entity build.
 */
struct mime_out {
	int (*write)(void *arg, const void *p, size_t n);
	void *arg;
	bool pending_nl;
	bool failed;
};

void mime_out_text(struct mime_out *o, const void *p, size_t n);
void mime_out_str(struct mime_out *o, const char *s);
void mime_out_nl(struct mime_out *o);
void mime_out_flush(struct mime_out *o);

#endif
