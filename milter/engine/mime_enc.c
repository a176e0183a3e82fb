/*
 * mime_enc: quoted-printable and base64 encoders (see mime_enc.h). Owns nothing but the
 * small per-part state in the caller's structs.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "milter/engine/mime_enc.h"

static const char hex[] = "0123456789ABCDEF";
static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
qp_init(struct qp_enc *q)
{
	q->col = 0;
	q->held = -1;
}

/* Emit `n` encoded characters, breaking softly first if they would pass the limit. */
static void
qp_put(struct qp_enc *q, struct mime_out *o, const char *s, size_t n)
{
	if (q->col + n > MIME_ENC_LINE - 1) {	/* leave room for the '=' of a soft break */
		mime_out_text(o, "=", 1);
		mime_out_nl(o);
		q->col = 0;
	}
	mime_out_text(o, s, n);
	q->col += n;
}

static void
qp_byte(struct qp_enc *q, struct mime_out *o, unsigned char c, int encode)
{
	if (encode) {
		char e[3] = { '=', hex[c >> 4], hex[c & 15] };

		qp_put(q, o, e, 3);
	} else {
		char ch = (char)c;

		qp_put(q, o, &ch, 1);
	}
}

void
qp_data(struct qp_enc *q, struct mime_out *o, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (q->held >= 0) {
			qp_byte(q, o, (unsigned char)q->held, 0);
			q->held = -1;
		}
		/* where this byte lands: at a line's start, or after the soft break qp_put makes */
		bool starts = q->col == 0 || q->col + 1 > MIME_ENC_LINE - 1;
		/* "From " at a line's start: mbox delivery would write ">From " */
		bool from = c == 'F' && starts && (n - i < 5 || memcmp(p + i + 1, "rom ", 4) == 0);

		if (c == ' ' || c == '\t')
			q->held = c;
		else if (c >= 33 && c <= 126 && c != '=' && !from &&
		    !(c == '.' && q->col == 0) && !(c == '-' && q->col == 0))
			qp_byte(q, o, c, 0);	/* leading '.'/'-' encoded: no dot-stuffing or delimiter look-alikes */
		else
			qp_byte(q, o, c, 1);
	}
}

void
qp_eol(struct qp_enc *q, struct mime_out *o)
{
	if (q->held >= 0) {
		qp_byte(q, o, (unsigned char)q->held, 1);
		q->held = -1;
	}
	mime_out_nl(o);
	q->col = 0;
}

void
b64_init(struct b64_enc *b)
{
	memset(b, 0, sizeof(*b));
}

/*
 * Encoded lines are gathered in a local buffer and written in large pieces. A line end is
 * put in the buffer only when another group follows; the last one is left to mime_out_nl
 * so that it stays pending exactly as if each group had been written on its own.
 */
#define B64_BUF 4096

/* Lifetime: one b64_data or b64_final call. */
struct b64_out {
	char buf[B64_BUF];
	size_t len;
	bool nl;			/* a line ended and its CRLF is not yet in buf */
};

static void
b64_spill(struct b64_out *bo, struct mime_out *o)
{
	if (bo->len > 0)
		mime_out_text(o, bo->buf, bo->len);
	bo->len = 0;
}

static void
b64_group(struct b64_enc *b, struct b64_out *bo, struct mime_out *o, const unsigned char *in,
    size_t n)
{
	char *e;

	if (bo->len + 6 > sizeof(bo->buf))
		b64_spill(bo, o);
	if (bo->nl) {
		bo->buf[bo->len++] = '\r';
		bo->buf[bo->len++] = '\n';
		bo->nl = false;
	}
	e = bo->buf + bo->len;
	e[0] = b64chars[in[0] >> 2];
	e[1] = b64chars[((in[0] & 3) << 4) | (n > 1 ? in[1] >> 4 : 0)];
	e[2] = n > 1 ? b64chars[((in[1] & 15) << 2) | (n > 2 ? in[2] >> 6 : 0)] : '=';
	e[3] = n > 2 ? b64chars[in[2] & 63] : '=';
	bo->len += 4;
	b->col += 4;
	if (b->col >= MIME_ENC_LINE) {
		bo->nl = true;
		b->col = 0;
	}
}

/* Write what is gathered; a line end still owed becomes the writer's pending one. */
static void
b64_done(struct b64_out *bo, struct mime_out *o)
{
	b64_spill(bo, o);
	if (bo->nl)
		mime_out_nl(o);
}

void
b64_data(struct b64_enc *b, struct mime_out *o, const unsigned char *p, size_t n)
{
	struct b64_out bo;

	bo.len = 0;
	bo.nl = false;
	while (n > 0 && b->npend > 0 && b->npend < 3) {
		b->pend[b->npend++] = *p++;
		n--;
	}
	if (b->npend == 3) {
		b64_group(b, &bo, o, b->pend, 3);
		b->npend = 0;
	}
	while (n >= 3) {
		b64_group(b, &bo, o, p, 3);
		p += 3;
		n -= 3;
	}
	while (n > 0) {
		b->pend[b->npend++] = *p++;
		n--;
	}
	b64_done(&bo, o);
}

void
b64_final(struct b64_enc *b, struct mime_out *o)
{
	if (b->npend > 0) {
		struct b64_out bo;

		bo.len = 0;
		bo.nl = false;
		b64_group(b, &bo, o, b->pend, b->npend);
		b64_done(&bo, o);
	}
	b->npend = 0;
	if (b->col > 0)
		mime_out_nl(o);
	b->col = 0;
}
