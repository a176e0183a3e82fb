/*
 * mime_canon: builds the canonical, 7bit-clean inner entity of a message (see mime_canon.h).
 *
 * Passes over the body spool, never holding the body in memory:
 *   0. a quick check: is the whole body already 7bit-clean (no 8bit or NUL byte, no line over
 *      998)? Then it is copied as received, line ends made CRLF, without parsing its structure.
 *   1. otherwise a scan walks the MIME tree and decides per entity: keep, relabel 8bit as
 *      7bit, re-encode as quoted-printable or as base64; structural faults answer SKIP here.
 *   2. the emit pass walks the same tree again and writes the entity with those decisions.
 * Owns the walk state: one header-block buffer, the boundary stack and the decision array.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter/engine/mime_canon.h"
#include "milter/engine/mime_enc.h"

enum act { ACT_KEEP = 0, ACT_RELABEL, ACT_QP, ACT_B64 };
enum charset { CS_ASCII = 0, CS_UTF8, CS_UNKNOWN };

/* The decision for one entity, made by the scan pass. */
struct ent {
	unsigned char act;
	unsigned char cs;
	bool bare_lf;		/* CRLF and lone LF line ends mixed: an LF is data (=0A) */
};

struct field {
	size_t off, len, nlen;
};

/* One header block in canonical form. Lifetime: reused for each entity of one walk. */
struct hblock {
	char *buf;
	size_t len, bcap;		/* buf grows by need up to HB_MAX */
	struct field *f;
	size_t nf, fcap;		/* f grows by need up to SMIME_MAX_HEADERS */
	struct mime_ct ct;
	enum mime_cte cte;
};

/* Per-leaf content statistics of the scan pass. */
struct stats {
	size_t total, n8, nnul, linelen;
	bool longline, u8bad, fragile;
	bool crlf, lf;			/* line ends seen */
	int u8need;
};

/* Lifetime: one call of mime_canon_entity. The reader comes last: it is not zeroed. */
struct walk {
	const struct smime_message *msg;
	bool header_protection;
	bool emit;
	struct mime_out *o;
	struct ent *ents;
	size_t nents, cap, next;
	char bnd[SMIME_MAX_MIME_DEPTH][MIME_MAX_BOUNDARY + 1];
	size_t blen[SMIME_MAX_MIME_DEPTH];
	int nb;
	struct hblock hb;
	size_t linelen;
	struct smime_error *err;
	enum smime_status st;
	struct mime_reader rd;		/* large; set up by mime_reader_init */
};

#define HB_MAX SMIME_MAX_HEADER_LEN

static int stop(struct walk *w, enum smime_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
stop(struct walk *w, enum smime_status st, const char *fmt, ...)
{
	va_list ap;

	if (w->st == SMIME_OK) {
		w->st = st;
		if (w->err != NULL) {
			va_start(ap, fmt);
			vsnprintf(w->err->text, sizeof(w->err->text), fmt, ap);
			va_end(ap);
		}
	}
	return -1;
}

bool
mime_canon_is_moved(const char *name)
{
	return strncasecmp(name, "Content-", 8) == 0;
}

static int
next_line(struct walk *w, struct mime_line *ln)
{
	int r = mime_reader_next(&w->rd, ln);

	if (r < 0)
		return stop(w, SMIME_ERROR, "cannot read the message body");
	if (r > 0)
		w->linelen = (ln->cont ? w->linelen : 0) + ln->n;
	return r;
}

/* 0, or 1 + 2 * level + (1 for a close delimiter) when the line is a delimiter of a level. */
static int
match(const struct walk *w, const struct mime_line *ln)
{
	if (ln->cont || ln->more || ln->n < 2 || ln->p[0] != '-' || ln->p[1] != '-')
		return 0;
	for (int lv = w->nb - 1; lv >= 0; lv--) {
		size_t bl = w->blen[lv], i = 2 + bl;
		int close = 0;

		if (ln->n < i || memcmp(ln->p + 2, w->bnd[lv], bl) != 0)
			continue;
		if (ln->n - i >= 2 && ln->p[i] == '-' && ln->p[i + 1] == '-') {
			close = 1;
			i += 2;
		}
		while (i < ln->n && (ln->p[i] == ' ' || ln->p[i] == '\t'))
			i++;
		if (i == ln->n)
			return 1 + 2 * lv + close;
	}
	return 0;
}

/* No NUL and no byte >= 0x80 in p[0..n), tested eight bytes at a time. */
static bool
bytes_clean(const unsigned char *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t v;

		memcpy(&v, p + i, 8);
		/* a high bit set, or a zero byte (its high bit appears after the subtraction) */
		if (((v | ((v - ones) & ~v)) & highs) != 0)
			return false;
	}
	for (; i < n; i++)
		if (p[i] == 0 || p[i] >= 0x80)
			return false;
	return true;
}

static bool
line_clean(const struct walk *w, const struct mime_line *ln)
{
	if (w->linelen > MIME_MAX_LINE)
		return false;
	return bytes_clean(ln->p, ln->n);
}

/*
 * Would the way to the reader change this line and break the signature (RFC 8551 3.1.1)?
 * Relays strip trailing white space, mbox delivery writes ">From " for "From ", and a lone CR
 * would come out as a line end. A piece that goes on (more) is part of a long line, which is
 * encoded anyway.
 */
static bool
line_fragile(const struct mime_line *ln)
{
	if (ln->more)
		return false;
	if (ln->term == MIME_TERM_CR)
		return true;
	if (ln->n > 0 && (ln->p[ln->n - 1] == ' ' || ln->p[ln->n - 1] == '\t'))
		return true;
	return !ln->cont && ln->n >= 5 && memcmp(ln->p, "From ", 5) == 0;
}

static void
emit_line(struct walk *w, const struct mime_line *ln)
{
	mime_out_text(w->o, ln->p, ln->n);
	if (!ln->more)
		mime_out_nl(w->o);
}

/* A preamble or epilogue line: no reader shows it, so its trailing white space can go. */
static void
emit_prose(struct walk *w, const struct mime_line *ln)
{
	size_t n = ln->n;

	if (!ln->more)
		while (n > 0 && (ln->p[n - 1] == ' ' || ln->p[n - 1] == '\t'))
			n--;
	mime_out_text(w->o, ln->p, n);
	if (!ln->more)
		mime_out_nl(w->o);
}

static void
emit_delim(struct walk *w, int lv, bool close)
{
	mime_out_text(w->o, "--", 2);
	mime_out_text(w->o, w->bnd[lv], w->blen[lv]);
	if (close)
		mime_out_text(w->o, "--", 2);
	mime_out_nl(w->o);
}

static int
new_ent(struct walk *w)
{
	if (w->emit) {
		if (w->next >= w->nents)
			return stop(w, SMIME_ERROR, "internal: MIME passes disagree");
		return (int)w->next++;
	}
	if (w->nents >= MIME_CANON_MAX_PARTS)
		return stop(w, SMIME_SKIP, "more than %d MIME parts", MIME_CANON_MAX_PARTS);
	if (w->nents == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 16;
		struct ent *ne = realloc(w->ents, ncap * sizeof(*ne));

		if (ne == NULL)
			return stop(w, SMIME_ERROR, "out of memory");
		w->ents = ne;
		w->cap = ncap;
	}
	memset(&w->ents[w->nents], 0, sizeof(w->ents[0]));
	return (int)w->nents++;
}

/* ---------------------------------------------------------------- header blocks */

static void
hb_reset(struct hblock *hb)
{
	hb->len = 0;
	hb->nf = 0;
	memset(&hb->ct, 0, sizeof(hb->ct));
	hb->cte = MIME_CTE_NONE;
}

static int
hb_append(struct walk *w, const void *p, size_t n)
{
	if (n > HB_MAX - w->hb.len)
		return stop(w, SMIME_SKIP, "MIME header block larger than %d bytes", HB_MAX);
	if (n == 0)
		return 0;
	if (w->hb.len + n > w->hb.bcap) {
		size_t ncap = w->hb.bcap ? w->hb.bcap : 1024;
		char *nb;

		while (ncap < w->hb.len + n)
			ncap *= 2;
		if (ncap > HB_MAX)
			ncap = HB_MAX;
		if ((nb = realloc(w->hb.buf, ncap)) == NULL)
			return stop(w, SMIME_ERROR, "out of memory");
		w->hb.buf = nb;
		w->hb.bcap = ncap;
	}
	memcpy(w->hb.buf + w->hb.len, p, n);
	w->hb.len += n;
	return 0;
}

static int
hb_new_field(struct walk *w)
{
	if (w->hb.nf >= SMIME_MAX_HEADERS)
		return stop(w, SMIME_SKIP, "more than %d header fields", SMIME_MAX_HEADERS);
	if (w->hb.nf == w->hb.fcap) {
		size_t ncap = w->hb.fcap ? w->hb.fcap * 2 : 16;
		struct field *nf;

		if (ncap > SMIME_MAX_HEADERS)
			ncap = SMIME_MAX_HEADERS;
		if ((nf = realloc(w->hb.f, ncap * sizeof(*nf))) == NULL)
			return stop(w, SMIME_ERROR, "out of memory");
		w->hb.f = nf;
		w->hb.fcap = ncap;
	}
	w->hb.f[w->hb.nf].off = w->hb.len;
	w->hb.f[w->hb.nf].len = 0;
	w->hb.nf++;
	return 0;
}

/* Close the last field: find its name, note Content-Type and Content-Transfer-Encoding. */
static int
hb_end_field(struct walk *w)
{
	struct field *f;
	const char *s, *colon;
	size_t nl;

	if (w->hb.nf == 0)
		return 0;
	f = &w->hb.f[w->hb.nf - 1];
	f->len = w->hb.len - f->off;
	s = w->hb.buf + f->off;
	colon = memchr(s, ':', f->len);
	if (colon == NULL)
		return stop(w, SMIME_SKIP, "malformed MIME header field");
	nl = (size_t)(colon - s);
	while (nl > 0 && (s[nl - 1] == ' ' || s[nl - 1] == '\t'))
		nl--;
	if (nl == 0)
		return stop(w, SMIME_SKIP, "MIME header field without a name");
	for (size_t i = 0; i < nl; i++)
		if (s[i] <= 32 || s[i] >= 127)
			return stop(w, SMIME_SKIP, "malformed MIME header field name");
	f->nlen = nl;
	if (mime_name_is(s, nl, "Content-Type") && !w->hb.ct.present)
		mime_ct_parse(colon + 1, f->len - (size_t)(colon + 1 - s), &w->hb.ct);
	else if (mime_name_is(s, nl, "Content-Transfer-Encoding") && w->hb.cte == MIME_CTE_NONE)
		w->hb.cte = mime_cte_parse(colon + 1, f->len - (size_t)(colon + 1 - s));
	return 0;
}

/* Read the header block of a part or embedded message from the body. */
static int
read_headers(struct walk *w)
{
	struct mime_line ln;
	int r;

	hb_reset(&w->hb);
	for (;;) {
		r = next_line(w, &ln);
		if (r < 0)
			return -1;
		if (r == 0 || match(w, &ln) != 0)
			return stop(w, SMIME_SKIP, "MIME part header not terminated");
		if (!ln.cont && ln.n == 0)
			break;
		if (!line_clean(w, &ln))
			return stop(w, SMIME_SKIP, "8bit, NUL or over-long line in a MIME part header");
		if (!ln.cont) {
			if (ln.p[0] == ' ' || ln.p[0] == '\t') {
				if (w->hb.nf == 0)
					return stop(w, SMIME_SKIP, "malformed MIME header folding");
				if (hb_append(w, "\r\n", 2) < 0)
					return -1;
			} else if (hb_end_field(w) < 0 || hb_new_field(w) < 0) {
				return -1;
			}
		}
		if (hb_append(w, ln.p, ln.n) < 0)
			return -1;
	}
	return hb_end_field(w);
}

/*
 * Add one outer header field to the top block, folding made CRLF. A field that cannot be
 * carried 7bit-clean answers SKIP when required, else it is left out (returns 1).
 */
static int
hb_add_top(struct walk *w, const char *name, const char *value, bool required)
{
	size_t save_len = w->hb.len, save_nf = w->hb.nf, col;
	const char *why = NULL;
	const unsigned char *v = (const unsigned char *)value;

	if (strlen(value) > HB_MAX) {
		why = "header field longer than the limit";
		goto bad;
	}
	if (hb_new_field(w) < 0)
		return -1;
	if (hb_append(w, name, strlen(name)) < 0 || hb_append(w, ":", 1) < 0)
		return -1;
	if (*v != ' ' && *v != '\t' && hb_append(w, " ", 1) < 0)
		return -1;
	col = strlen(name) + 2;
	while (*v != '\0') {
		if (*v == '\r' || *v == '\n') {
			v += (v[0] == '\r' && v[1] == '\n') ? 2 : 1;
			if (*v == '\0')
				break;
			if (*v != ' ' && *v != '\t') {
				why = "malformed header folding";
				goto bad;
			}
			if (hb_append(w, "\r\n", 2) < 0)
				return -1;
			col = 0;
			continue;
		}
		if (*v >= 0x80 || *v == 0) {
			why = "8bit byte in a Content header field";
			goto bad;
		}
		if (++col > MIME_MAX_LINE) {
			why = "header line longer than 998";
			goto bad;
		}
		if (hb_append(w, v, 1) < 0)
			return -1;
		v++;
	}
	return hb_end_field(w);
bad:
	w->hb.len = save_len;
	w->hb.nf = save_nf;
	if (required)
		return stop(w, SMIME_SKIP, "%s (%s)", why, name);
	return 1;
}

static int
build_top(struct walk *w)
{
	static const char *const prot[] = { "From", "To", "Cc", "Subject", "Date" };
	const struct smime_message *m = w->msg;

	hb_reset(&w->hb);
	if (m->header_count > SMIME_MAX_HEADERS)
		return stop(w, SMIME_SKIP, "more than %d header fields", SMIME_MAX_HEADERS);
	if (w->header_protection)
		for (size_t p = 0; p < sizeof(prot) / sizeof(prot[0]); p++)
			for (size_t i = 0; i < m->header_count; i++)
				if (strcasecmp(m->headers[i].name, prot[p]) == 0 &&
				    hb_add_top(w, prot[p], m->headers[i].value, false) < 0)
					return -1;
	/* protection copies first; Content-Type parsing must only see the moved fields */
	memset(&w->hb.ct, 0, sizeof(w->hb.ct));
	w->hb.cte = MIME_CTE_NONE;
	for (size_t i = 0; i < m->header_count; i++)
		if (mime_canon_is_moved(m->headers[i].name) &&
		    hb_add_top(w, m->headers[i].name, m->headers[i].value, true) < 0)
			return -1;
	return 0;
}

static void
emit_headers(struct walk *w, int idx, bool top)
{
	static const char *const cs_name[] = { "us-ascii", "utf-8", "unknown-8bit" };
	const struct ent *e = &w->ents[idx];

	for (size_t i = 0; i < w->hb.nf; i++) {
		const struct field *f = &w->hb.f[i];

		if (e->act != ACT_KEEP &&
		    mime_name_is(w->hb.buf + f->off, f->nlen, "Content-Transfer-Encoding"))
			continue;
		mime_out_text(w->o, w->hb.buf + f->off, f->len);
		mime_out_nl(w->o);
	}
	if (top && !w->hb.ct.present) {
		mime_out_str(w->o, "Content-Type: text/plain; charset=");
		mime_out_str(w->o, cs_name[e->cs < 3 ? e->cs : 2]);
		mime_out_nl(w->o);
	}
	if (e->act == ACT_RELABEL)
		mime_out_str(w->o, "Content-Transfer-Encoding: 7bit");
	else if (e->act == ACT_QP)
		mime_out_str(w->o, "Content-Transfer-Encoding: quoted-printable");
	else if (e->act == ACT_B64)
		mime_out_str(w->o, "Content-Transfer-Encoding: base64");
	if (e->act != ACT_KEEP)
		mime_out_nl(w->o);
	mime_out_nl(w->o);	/* the empty line ending the header block */
}

/* ---------------------------------------------------------------- bodies */

static int do_part(struct walk *w, int depth, bool digest);

static void
stat_line(struct stats *s, const struct mime_line *ln)
{
	s->linelen = (ln->cont ? s->linelen : 0) + ln->n;
	if (s->linelen > MIME_MAX_LINE)
		s->longline = true;
	s->total += ln->n + 1;
	if (line_fragile(ln))
		s->fragile = true;
	if (!ln->more && ln->term == MIME_TERM_CRLF)
		s->crlf = true;
	if (!ln->more && ln->term == MIME_TERM_LF)
		s->lf = true;
	for (size_t i = 0; i < ln->n; i++) {
		unsigned char c = ln->p[i];

		if (c == 0)
			s->nnul++;
		if (c >= 0x80)
			s->n8++;
		if (s->u8need > 0) {
			if ((c & 0xC0) == 0x80) {
				s->u8need--;
				continue;
			}
			s->u8bad = true;
			s->u8need = 0;
		}
		if (c < 0x80)
			continue;
		if (c >= 0xC2 && c <= 0xDF)
			s->u8need = 1;
		else if (c >= 0xE0 && c <= 0xEF)
			s->u8need = 2;
		else if (c >= 0xF0 && c <= 0xF4)
			s->u8need = 3;
		else
			s->u8bad = true;
	}
	if (!ln->more && s->u8need > 0) {
		s->u8bad = true;
		s->u8need = 0;
	}
}

static int
do_leaf(struct walk *w, const struct mime_ct *ct, enum mime_cte cte, int idx, bool top)
{
	struct stats s;
	struct mime_line ln;
	struct qp_enc qp;
	struct b64_enc b64;
	enum mime_term pend = MIME_TERM_NONE;
	int act = w->ents[idx].act, code, r;
	size_t tl;
	const char *tb;
	bool reencodable;

	memset(&s, 0, sizeof(s));
	qp_init(&qp);
	b64_init(&b64);
	for (;;) {
		r = next_line(w, &ln);
		if (r < 0)
			return -1;
		if (r == 0) {
			code = 0;
			break;
		}
		if ((code = match(w, &ln)) != 0)
			break;
		if (!w->emit) {
			stat_line(&s, &ln);
			continue;
		}
		if (act == ACT_QP) {
			/* the previous line's end: a lone CR is text; the end before a
			 * delimiter belongs to the delimiter, so it waits for the next line */
			if (pend == MIME_TERM_CR)
				qp_data(&qp, w->o, (const unsigned char *)"\r", 1);
			else if (pend == MIME_TERM_LF && w->ents[idx].bare_lf)
				qp_data(&qp, w->o, (const unsigned char *)"\n", 1);
			else if (pend != MIME_TERM_NONE)
				qp_eol(&qp, w->o);
			qp_data(&qp, w->o, ln.p, ln.n);
			pend = ln.more ? MIME_TERM_NONE :
			    ln.term != MIME_TERM_NONE ? ln.term : MIME_TERM_LF;
		} else if (act == ACT_B64) {
			tb = mime_term_bytes(pend, &tl);
			b64_data(&b64, w->o, (const unsigned char *)tb, tl);
			b64_data(&b64, w->o, ln.p, ln.n);
			pend = ln.more ? MIME_TERM_NONE : ln.term;
		} else {
			emit_line(w, &ln);
		}
	}
	if (w->emit) {
		if (act == ACT_QP && pend != MIME_TERM_NONE)
			qp_eol(&qp, w->o);
		if (act == ACT_B64) {
			if (top) {
				tb = mime_term_bytes(pend, &tl);
				b64_data(&b64, w->o, (const unsigned char *)tb, tl);
			}
			b64_final(&b64, w->o);
		}
		return code;
	}
	/* scan pass: decide; fragile lines are re-encoded where the encoding is ours to choose */
	reencodable = cte == MIME_CTE_NONE || cte == MIME_CTE_7BIT || cte == MIME_CTE_8BIT ||
	    cte == MIME_CTE_BINARY;
	/* a lone LF among CRLF line ends is data, kept as =0A, not made a line end */
	w->ents[idx].bare_lf = s.crlf && s.lf;
	if (w->ents[idx].bare_lf)
		s.fragile = true;
	if (s.n8 == 0 && s.nnul == 0 && !s.longline && !(s.fragile && reencodable)) {
		act = (cte == MIME_CTE_8BIT || cte == MIME_CTE_BINARY) ? ACT_RELABEL : ACT_KEEP;
	} else if (cte == MIME_CTE_QP || cte == MIME_CTE_BASE64) {
		return stop(w, SMIME_SKIP, "invalid %s content (8bit, NUL or long lines)",
		    cte == MIME_CTE_QP ? "quoted-printable" : "base64");
	} else if (cte == MIME_CTE_OTHER) {
		return stop(w, SMIME_SKIP, "unknown transfer encoding on 8bit content");
	} else {
		bool text = (!ct->present || strcmp(ct->type, "text") == 0) && s.nnul == 0 &&
		    s.n8 <= s.total / 4;

		act = text ? ACT_QP : ACT_B64;
	}
	w->ents[idx].act = (unsigned char)act;
	w->ents[idx].cs = s.n8 == 0 ? CS_ASCII : s.u8bad ? CS_UNKNOWN : CS_UTF8;
	return code;
}

static int
do_multipart(struct walk *w, int depth, const char *boundary, bool digest)
{
	struct mime_line ln;
	int lv, code, r;

	if (w->nb >= SMIME_MAX_MIME_DEPTH)
		return stop(w, SMIME_SKIP, "MIME nesting deeper than %d", SMIME_MAX_MIME_DEPTH);
	lv = w->nb++;
	w->blen[lv] = strlen(boundary);
	memcpy(w->bnd[lv], boundary, w->blen[lv] + 1);
	for (;;) {	/* preamble */
		r = next_line(w, &ln);
		if (r < 0)
			return -1;
		if (r == 0)
			return stop(w, SMIME_SKIP, "multipart boundary not found");
		code = match(w, &ln);
		if (code == 1 + 2 * lv)
			break;
		if (code == 2 + 2 * lv)
			return stop(w, SMIME_SKIP, "multipart without body parts");
		if (code != 0)
			return stop(w, SMIME_SKIP, "unterminated multipart");
		if (!line_clean(w, &ln))
			return stop(w, SMIME_SKIP, "8bit, NUL or over-long line in a multipart preamble");
		if (w->emit)
			emit_prose(w, &ln);
	}
	if (w->emit)
		emit_delim(w, lv, false);
	for (;;) {
		code = do_part(w, depth + 1, digest);
		if (code < 0)
			return -1;
		if (code == 1 + 2 * lv) {
			if (w->emit)
				emit_delim(w, lv, false);
			continue;
		}
		if (code == 2 + 2 * lv)
			break;
		return stop(w, SMIME_SKIP, "unterminated multipart");
	}
	if (w->emit)
		emit_delim(w, lv, true);
	w->nb--;
	for (;;) {	/* epilogue, up to an enclosing delimiter or the end */
		r = next_line(w, &ln);
		if (r <= 0)
			return r;
		if ((code = match(w, &ln)) != 0)
			return code;
		if (!line_clean(w, &ln))
			return stop(w, SMIME_SKIP, "8bit, NUL or over-long line in a multipart epilogue");
		if (w->emit)
			emit_prose(w, &ln);
	}
}

static int
do_body(struct walk *w, int depth, const struct mime_ct *ct, enum mime_cte cte, int idx,
    bool top, bool is_message)
{
	bool container = false;

	if (depth > SMIME_MAX_MIME_DEPTH)
		return stop(w, SMIME_SKIP, "MIME nesting deeper than %d", SMIME_MAX_MIME_DEPTH);
	if (ct->present && strcmp(ct->type, "multipart") == 0) {
		if (!ct->has_boundary || ct->bad_boundary)
			return stop(w, SMIME_SKIP, "multipart without a valid boundary");
		if (cte != MIME_CTE_NONE && cte != MIME_CTE_7BIT && cte != MIME_CTE_8BIT &&
		    cte != MIME_CTE_BINARY)
			return stop(w, SMIME_SKIP, "multipart with a transfer encoding");
		container = true;
	} else if (is_message && (cte == MIME_CTE_NONE || cte == MIME_CTE_7BIT ||
	    cte == MIME_CTE_8BIT || cte == MIME_CTE_BINARY)) {
		container = true;
	}
	if (!container)
		return do_leaf(w, ct, cte, idx, top);
	if (!w->emit)
		w->ents[idx].act = (cte == MIME_CTE_8BIT || cte == MIME_CTE_BINARY) ?
		    ACT_RELABEL : ACT_KEEP;
	if (ct->present && strcmp(ct->type, "multipart") == 0)
		return do_multipart(w, depth, ct->boundary, strcmp(ct->subtype, "digest") == 0);
	return do_part(w, depth + 1, false);	/* the embedded message */
}

/* One body part (or embedded message): header block, then its body. */
static int
do_part(struct walk *w, int depth, bool digest)
{
	struct mime_ct ct;
	enum mime_cte cte;
	bool is_message;
	int idx = new_ent(w);

	if (idx < 0 || read_headers(w) < 0)
		return -1;
	ct = w->hb.ct;
	cte = w->hb.cte;
	is_message = ct.present ? (mime_ct_is(&ct, "message", "rfc822")) : digest;
	if (w->emit)
		emit_headers(w, idx, false);
	return do_body(w, depth, &ct, cte, idx, false, is_message);
}

/* The quick pass: can the body be signed as it stands (7bit-clean, no fragile line)? */
static int
body_clean(struct walk *w, bool *clean)
{
	struct mime_line ln;
	bool crlf = false, lf = false;
	int r;

	*clean = true;
	if (mime_reader_init(&w->rd, w->msg->body) != 0)
		return stop(w, SMIME_ERROR, "cannot read the message body");
	while ((r = next_line(w, &ln)) > 0) {
		crlf = crlf || (!ln.more && ln.term == MIME_TERM_CRLF);
		lf = lf || (!ln.more && ln.term == MIME_TERM_LF);
		if (!line_clean(w, &ln) || line_fragile(&ln) || (crlf && lf)) {
			*clean = false;
			return 0;
		}
	}
	return r;
}

static int
walk_top(struct walk *w, bool opaque)
{
	struct mime_ct ct;
	enum mime_cte cte;
	int idx, code;

	if (mime_reader_init(&w->rd, w->msg->body) != 0)
		return stop(w, SMIME_ERROR, "cannot read the message body");
	w->nb = 0;
	w->next = 0;
	if (build_top(w) < 0 || (idx = new_ent(w)) < 0)
		return -1;
	ct = w->hb.ct;
	cte = w->hb.cte;
	if (opaque && !w->emit)
		return 0;
	if (w->emit)
		emit_headers(w, idx, true);
	if (opaque) {
		code = do_leaf(w, &ct, cte, idx, true);
	} else {
		code = do_body(w, 0, &ct, cte, idx, true, ct.present && mime_ct_is(&ct, "message",
		    "rfc822"));
	}
	if (code < 0)
		return -1;
	if (code != 0)
		return stop(w, SMIME_ERROR, "internal: delimiter outside multipart");
	return 0;
}

enum smime_status
mime_canon_entity(const struct smime_message *msg, bool header_protection, struct mime_out *o,
    struct smime_error *err)
{
	struct walk *w = malloc(sizeof(*w));
	enum smime_status st = SMIME_ERROR;
	bool clean;

	if (w == NULL)
		return SMIME_ERROR;
	memset(w, 0, offsetof(struct walk, rd));	/* the reader is set up by its init */
	w->msg = msg;
	w->header_protection = header_protection;
	w->o = o;
	w->err = err;
	if (msg->body == NULL) {
		stop(w, SMIME_ERROR, "out of memory or no body");
		goto out;
	}
	if (body_clean(w, &clean) < 0)
		goto out;
	w->emit = false;
	if (walk_top(w, clean) < 0)
		goto out;
	if (clean) {
		struct ent *e = &w->ents[0];

		e->act = (w->hb.cte == MIME_CTE_8BIT || w->hb.cte == MIME_CTE_BINARY) ?
		    ACT_RELABEL : ACT_KEEP;
	}
	w->emit = true;
	if (walk_top(w, clean) < 0)
		goto out;
	mime_out_flush(o);
	if (o->failed) {
		stop(w, SMIME_ERROR, "cannot write the entity (I/O error or size limit)");
		goto out;
	}
out:
	st = w->st;
	free(w->ents);
	free(w->hb.buf);
	free(w->hb.f);
	free(w);
	return st;
}

void
mime_canon_top_ct(const struct smime_message *msg, struct mime_ct *ct)
{
	memset(ct, 0, sizeof(*ct));
	for (size_t i = 0; i < msg->header_count; i++)
		if (strcasecmp(msg->headers[i].name, "Content-Type") == 0) {
			mime_ct_parse(msg->headers[i].value, strlen(msg->headers[i].value), ct);
			return;
		}
}
