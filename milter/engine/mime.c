/*
 * mime: line reader, Content-Type / Content-Transfer-Encoding parsing and the CRLF-joining
 * output writer used by the S/MIME engine (see mime.h). Owns no state beyond its structs.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "milter/engine/mime.h"

int
mime_reader_init(struct mime_reader *rd, struct spool *sp)
{
	/* not memset: the 16 KB buffer is written before it is read */
	rd->sp = sp;
	rd->start = rd->end = 0;
	rd->eof = rd->error = rd->in_line = false;
	rd->lf_at = rd->cr_at = 0;
	rd->lf_found = rd->cr_found = false;
	return spool_rewind(sp);
}

static int
refill(struct mime_reader *rd)
{
	ssize_t n;

	if (rd->eof)
		return 0;
	if (rd->start > 0) {
		memmove(rd->buf, rd->buf + rd->start, rd->end - rd->start);
		rd->end -= rd->start;
		rd->lf_at = rd->lf_at > rd->start ? rd->lf_at - rd->start : 0;
		rd->cr_at = rd->cr_at > rd->start ? rd->cr_at - rd->start : 0;
		if (rd->lf_at == 0)
			rd->lf_found = false;
		if (rd->cr_at == 0)
			rd->cr_found = false;
		rd->start = 0;
	}
	if (rd->end >= sizeof(rd->buf))
		return 0;
	n = spool_read(rd->sp, rd->buf + rd->end, sizeof(rd->buf) - rd->end);
	if (n < 0) {
		rd->error = true;
		rd->eof = true;
		return -1;
	}
	if (n == 0)
		rd->eof = true;
	rd->end += (size_t)n;
	return 0;
}

/*
 * Index of the first byte c in [from, lim), or lim; *at and *found keep what earlier
 * searches learnt (see struct mime_reader) so that each byte is searched at most once.
 */
static size_t
find_byte(const unsigned char *buf, size_t from, size_t lim, int c, size_t *at, bool *found)
{
	const unsigned char *q;

	if (*found && *at >= from)
		return *at < lim ? *at : lim;
	if (!*found && *at > from)
		from = *at;
	if (from >= lim)
		return lim;
	q = memchr(buf + from, c, lim - from);
	if (q == NULL) {
		*at = lim;
		*found = false;
		return lim;
	}
	*at = (size_t)(q - buf);
	*found = true;
	return *at;
}

int
mime_reader_next(struct mime_reader *rd, struct mime_line *ln)
{
	size_t i, lim;

	for (;;) {
		size_t avail = rd->end - rd->start;

		lim = rd->start + (avail < MIME_CHUNK ? avail : MIME_CHUNK);
		i = find_byte(rd->buf, rd->start, lim, '\n', &rd->lf_at, &rd->lf_found);
		i = find_byte(rd->buf, rd->start, i, '\r', &rd->cr_at, &rd->cr_found);
		/* a CR at the end of the data read so far may be the first half of a CRLF */
		if (i < lim && !(rd->buf[i] == '\r' && i + 1 == rd->end && !rd->eof))
			break;
		if (i == lim && (avail >= MIME_CHUNK || rd->eof))
			break;
		if (refill(rd) < 0)
			return -1;
	}
	memset(ln, 0, sizeof(*ln));
	ln->p = rd->buf + rd->start;
	ln->n = i - rd->start;
	ln->cont = rd->in_line;
	if (i < lim) {
		if (rd->buf[i] == '\n') {
			ln->term = MIME_TERM_LF;
			rd->start = i + 1;
		} else if (i + 1 < rd->end && rd->buf[i + 1] == '\n') {
			ln->term = MIME_TERM_CRLF;
			rd->start = i + 2;
		} else {
			ln->term = MIME_TERM_CR;
			rd->start = i + 1;
		}
	} else if (ln->n == 0) {
		return rd->error ? -1 : 0;	/* end of data */
	} else {
		rd->start = i;
		ln->more = (ln->n == MIME_CHUNK && !(rd->eof && rd->start == rd->end));
	}
	rd->in_line = ln->more;
	return 1;
}

const char *
mime_term_bytes(enum mime_term t, size_t *len)
{
	switch (t) {
	case MIME_TERM_LF:
		*len = 1;
		return "\n";
	case MIME_TERM_CRLF:
		*len = 2;
		return "\r\n";
	case MIME_TERM_CR:
		*len = 1;
		return "\r";
	default:
		*len = 0;
		return "";
	}
}

bool
mime_name_is(const char *name, size_t len, const char *n)
{
	return strlen(n) == len && strncasecmp(name, n, len) == 0;
}

/* Skip white space and (nested) RFC 5322 comments. */
static size_t
skip_cfws(const char *v, size_t len, size_t i)
{
	int depth = 0;

	while (i < len) {
		char c = v[i];

		if (depth > 0) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			i++;
		} else if (c == '(') {
			depth = 1;
			i++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			i++;
		} else {
			break;
		}
	}
	return i;
}

static bool
is_tspecial(char c)
{
	return strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

/* Read an RFC 2045 token into out (lower-cased when fold), cut at cap-1. */
static size_t
get_token(const char *v, size_t len, size_t i, char *out, size_t cap, bool fold)
{
	size_t o = 0;

	while (i < len && (unsigned char)v[i] > 32 && (unsigned char)v[i] < 127 && !is_tspecial(v[i])) {
		if (o + 1 < cap)
			out[o++] = fold ? (char)tolower((unsigned char)v[i]) : v[i];
		i++;
	}
	if (cap > 0)
		out[o] = '\0';
	return i;
}

/* Parse a token or quoted-string value; *too_long when it did not fit. */
static size_t
get_value(const char *v, size_t len, size_t i, char *out, size_t cap, bool *too_long)
{
	size_t o = 0;

	*too_long = false;
	if (i < len && v[i] == '"') {
		for (i++; i < len && v[i] != '"'; i++) {
			if (v[i] == '\\' && i + 1 < len)
				i++;
			if (v[i] == '\r' || v[i] == '\n')
				continue;	/* folding inside a quoted string */
			if (o + 1 < cap)
				out[o++] = v[i];
			else
				*too_long = true;
		}
		if (i < len)
			i++;
		out[o] = '\0';
		return i;
	}
	while (i < len && (unsigned char)v[i] > 32 && (unsigned char)v[i] < 127 && !is_tspecial(v[i])) {
		if (o + 1 < cap)
			out[o++] = v[i];
		else
			*too_long = true;
		i++;
	}
	out[o] = '\0';
	return i;
}

static bool
boundary_ok(const char *b)
{
	size_t n = strlen(b);

	if (n == 0 || n > MIME_MAX_BOUNDARY || b[n - 1] == ' ')
		return false;
	for (; *b != '\0'; b++)
		if (!isalnum((unsigned char)*b) && strchr("'()+_,-./:=? ", *b) == NULL)
			return false;
	return true;
}

void
mime_ct_parse(const char *v, size_t len, struct mime_ct *ct)
{
	size_t i;

	memset(ct, 0, sizeof(*ct));
	ct->present = true;
	i = skip_cfws(v, len, 0);
	i = get_token(v, len, i, ct->type, sizeof(ct->type), true);
	i = skip_cfws(v, len, i);
	if (i < len && v[i] == '/') {
		i = skip_cfws(v, len, i + 1);
		i = get_token(v, len, i, ct->subtype, sizeof(ct->subtype), true);
	}
	/* parameters; anything unparsable ends the list */
	for (int guard = 0; guard < 100; guard++) {
		char name[32], val[MIME_MAX_BOUNDARY + 2];
		bool too_long;

		i = skip_cfws(v, len, i);
		if (i >= len || v[i] != ';')
			break;
		i = skip_cfws(v, len, i + 1);
		i = get_token(v, len, i, name, sizeof(name), true);
		i = skip_cfws(v, len, i);
		if (i >= len || v[i] != '=')
			break;
		i = skip_cfws(v, len, i + 1);
		i = get_value(v, len, i, val, sizeof(val), &too_long);
		if (strcmp(name, "boundary") == 0 && !ct->has_boundary) {
			ct->has_boundary = true;
			if (too_long || !boundary_ok(val))
				ct->bad_boundary = true;
			else
				memcpy(ct->boundary, val, strlen(val) + 1);
		} else if (strcmp(name, "smime-type") == 0) {
			size_t k;

			for (k = 0; val[k] != '\0' && k + 1 < sizeof(ct->smime_type); k++)
				ct->smime_type[k] = (char)tolower((unsigned char)val[k]);
			ct->smime_type[k] = '\0';
		}
	}
}

enum mime_cte
mime_cte_parse(const char *v, size_t len)
{
	char tok[32];
	size_t i = skip_cfws(v, len, 0);

	get_token(v, len, i, tok, sizeof(tok), true);
	if (strcmp(tok, "7bit") == 0)
		return MIME_CTE_7BIT;
	if (strcmp(tok, "8bit") == 0)
		return MIME_CTE_8BIT;
	if (strcmp(tok, "binary") == 0)
		return MIME_CTE_BINARY;
	if (strcmp(tok, "quoted-printable") == 0)
		return MIME_CTE_QP;
	if (strcmp(tok, "base64") == 0)
		return MIME_CTE_BASE64;
	return tok[0] == '\0' ? MIME_CTE_NONE : MIME_CTE_OTHER;
}

bool
mime_ct_is(const struct mime_ct *ct, const char *type, const char *subtype)
{
	return strcmp(ct->type, type) == 0 && (subtype == NULL || strcmp(ct->subtype, subtype) == 0);
}

void
mime_out_text(struct mime_out *o, const void *p, size_t n)
{
	if (o->failed)
		return;
	if (o->pending_nl) {
		o->pending_nl = false;
		if (o->write(o->arg, "\r\n", 2) != 0) {
			o->failed = true;
			return;
		}
	}
	if (n > 0 && o->write(o->arg, p, n) != 0)
		o->failed = true;
}

void
mime_out_str(struct mime_out *o, const char *s)
{
	mime_out_text(o, s, strlen(s));
}

void
mime_out_nl(struct mime_out *o)
{
	if (o->pending_nl)
		mime_out_text(o, "", 0);
	o->pending_nl = true;
}

void
mime_out_flush(struct mime_out *o)
{
	if (o->pending_nl)
		mime_out_text(o, "", 0);
}
