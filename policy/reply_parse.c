/*
 * reply_parse: walks the headers and MIME structure of a reply and collects token candidates
 * from the Subject, the first text part of the body and RFC 8823 response blocks. Owns the
 * temporary decode buffers of one call; everything it keeps is in the caller's struct.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "policy/mime_decode.h"
#include "policy/reply_parse.h"

#define CT_MAX 512       /* Content-Type and Content-Transfer-Encoding values kept */
#define BOUNDARY_MAX 72  /* RFC 2046 5.1.1: at most 70 characters */

/* The headers of the message or of one MIME part that the parser needs. */
struct part_headers {
	char ctype[CT_MAX];
	char cte[CT_MAX];
};

/* State of one parse; lifetime: one as_reply_parse call. */
struct walk {
	struct as_reply_tokens *out;
	size_t parts;
};

enum want { WANT_PLAIN, WANT_HTML };

/* One line of [p, end): sets *next past the LF; the returned length excludes CR LF. */
static size_t
line_len(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t n;

	if (nl == NULL) {
		*next = end;
		n = (size_t)(end - p);
	} else {
		*next = nl + 1;
		n = (size_t)(nl - p);
	}
	if (n > 0 && p[n - 1] == '\r')
		n--;
	return n;
}

/* Append to a bounded, NUL-terminated field; returns false when it had to cut. */
static bool
field_append(char *dst, size_t *dlen, size_t cap, const char *src, size_t n)
{
	bool cut = false;

	if (*dlen + n + 1 > cap) {
		n = cap - 1 - *dlen;
		cut = true;
	}
	memcpy(dst + *dlen, src, n);
	*dlen += n;
	dst[*dlen] = '\0';
	return !cut;
}

static void
copy_msgid(char *dst, size_t cap, const char *value, bool last)
{
	const char *p = value, *found = NULL, *found_end = NULL;

	while ((p = strchr(p, '<')) != NULL) {
		const char *e = strchr(p, '>');

		if (e == NULL)
			break;
		found = p;
		found_end = e + 1;
		if (!last)
			break;
		p = e + 1;
	}
	dst[0] = '\0';
	if (found != NULL && (size_t)(found_end - found) < cap) {
		size_t n = (size_t)(found_end - found);

		for (size_t i = 0; i < n; i++)
			if ((unsigned char)found[i] < 0x21 || found[i] == 0x7f)
				return;
		memcpy(dst, found, n);
		dst[n] = '\0';
	}
}

/* Past the blank line that ends a header section, searching from p; end when there is none. */
static const char *
find_body(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	/* p may be inside a line: start at the next one. */
	p = nl != NULL ? nl + 1 : end;
	while (p < end) {
		const char *next;

		if (line_len(p, end, &next) == 0)
			return next;
		p = next;
	}
	return end;
}

/*
 * Walk a header section in [p, end). Fills `ph`; when `top` is given also the Subject and the
 * message ids. Returns the start of the body (end when the section never ends).
 */
static const char *
parse_headers(const char *p, const char *end, struct part_headers *ph, struct as_reply_tokens *top,
    char *subject, size_t subject_cap)
{
	char *cur = NULL;      /* the kept field being filled, or NULL */
	size_t *curlen = NULL, curcap = 0;
	size_t ctlen = 0, ctelen = 0, sublen = 0, irtlen = 0, reflen = 0, idlen = 0;
	char irt[AS_REPLY_MSGID_MAX * 2] = "", refs[AS_REPLY_MAX_FIELD] = "", mid[AS_REPLY_MSGID_MAX * 2] = "";
	const char *limit = end;
	const char *body = end;

	ph->ctype[0] = ph->cte[0] = '\0';
	if (subject != NULL)
		subject[0] = '\0';
	if ((size_t)(end - p) > AS_REPLY_MAX_HEADER) {
		limit = p + AS_REPLY_MAX_HEADER;
		if (top != NULL)
			top->truncated = true;
		body = find_body(limit, end);
	}
	while (p < limit) {
		const char *next;
		size_t n = line_len(p, limit, &next);

		if (n == 0) {
			body = next;
			break;
		}
		if (p[0] == ' ' || p[0] == '\t') {
			/* A continuation: unfolding removes only the line break. */
			if (cur != NULL && !field_append(cur, curlen, curcap, p, n) && top != NULL)
				top->truncated = true;
			p = next;
			continue;
		}
		const char *colon = memchr(p, ':', n);
		cur = NULL;
		if (colon != NULL) {
			size_t nl = (size_t)(colon - p);
			const char *v = colon + 1;
			size_t vn = n - nl - 1;
			while (nl > 0 && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
				nl--;
#define IS(name) (nl == sizeof(name) - 1 && strncasecmp(p, name, nl) == 0)
			if (IS("Content-Type") && ctlen == 0) {
				cur = ph->ctype; curlen = &ctlen; curcap = CT_MAX;
			} else if (IS("Content-Transfer-Encoding") && ctelen == 0) {
				cur = ph->cte; curlen = &ctelen; curcap = CT_MAX;
			} else if (top != NULL && IS("Subject") && sublen == 0) {
				cur = subject; curlen = &sublen; curcap = subject_cap;
			} else if (top != NULL && IS("In-Reply-To") && irtlen == 0) {
				cur = irt; curlen = &irtlen; curcap = sizeof(irt);
			} else if (top != NULL && IS("References") && reflen == 0) {
				cur = refs; curlen = &reflen; curcap = sizeof(refs);
			} else if (top != NULL && IS("Message-ID") && idlen == 0) {
				cur = mid; curlen = &idlen; curcap = sizeof(mid);
			}
#undef IS
			if (cur != NULL && !field_append(cur, curlen, curcap, v, vn) && top != NULL)
				top->truncated = true;
		}
		p = next;
	}
	if (top != NULL) {
		if (irt[0] != '\0')
			copy_msgid(top->in_reply_to, sizeof(top->in_reply_to), irt, false);
		if (top->in_reply_to[0] == '\0' && refs[0] != '\0')
			copy_msgid(top->in_reply_to, sizeof(top->in_reply_to), refs, true);
		copy_msgid(top->message_id, sizeof(top->message_id), mid, false);
	}
	return body;
}

/* The lower-case "type/subtype" of a Content-Type value; "text/plain" when absent. */
static void
media_type(const char *ctype, char *out, size_t cap)
{
	size_t o = 0;
	const char *p = ctype;

	while (*p == ' ' || *p == '\t')
		p++;
	while (*p != '\0' && *p != ';' && *p != ' ' && *p != '\t' && *p != '(' && o + 1 < cap)
		out[o++] = (char)tolower((unsigned char)*p++);
	out[o] = '\0';
	if (o == 0 || strchr(out, '/') == NULL)
		snprintf(out, cap, "text/plain");
}

/* The boundary parameter of a Content-Type value; false when absent or malformed. */
static bool
boundary_param(const char *ctype, char *out, size_t cap)
{
	const char *p = strchr(ctype, ';');

	while (p != NULL && *p == ';') {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		const char *name = p;
		while (*p != '\0' && *p != '=' && *p != ';')
			p++;
		size_t nl = (size_t)(p - name);
		while (nl > 0 && (name[nl - 1] == ' ' || name[nl - 1] == '\t'))
			nl--;
		if (*p != '=')
			continue;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		char val[BOUNDARY_MAX + 2];
		size_t o = 0;
		bool ok = true;
		if (*p == '"') {
			p++;
			while (*p != '\0' && *p != '"') {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (o + 1 >= sizeof(val))
					ok = false;
				else
					val[o++] = *p;
				p++;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p != '\0' && *p != ';' && *p != ' ' && *p != '\t') {
				if (o + 1 >= sizeof(val))
					ok = false;
				else
					val[o++] = *p;
				p++;
			}
		}
		val[o] = '\0';
		if (nl == 8 && strncasecmp(name, "boundary", 8) == 0) {
			if (!ok || o == 0 || o > BOUNDARY_MAX - 2 || o + 1 > cap)
				return false;
			memcpy(out, val, o + 1);
			return true;
		}
		while (*p != '\0' && *p != ';')
			p++;
	}
	return false;
}

/* Does the line [p, p+n) open (or close, setting *last) the part delimited by `b`? */
static bool
is_delimiter(const char *p, size_t n, const char *b, size_t bl, bool *last)
{
	if (n < bl + 2 || p[0] != '-' || p[1] != '-' || memcmp(p + 2, b, bl) != 0)
		return false;
	size_t i = bl + 2;
	*last = n >= i + 2 && p[i] == '-' && p[i + 1] == '-';
	if (*last)
		i += 2;
	for (; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t')
			return false;
	return true;
}

/*
 * Find the first part of the wanted kind, depth first. On success sets the body span and its
 * transfer encoding (lower case, copied into cte).
 */
static bool
find_text(struct walk *w, const char *body, const char *end, const struct part_headers *ph,
    int depth, enum want want, const char **tb, const char **te, char *cte, size_t ctecap)
{
	char mt[64];

	if (++w->parts > AS_REPLY_MAX_PARTS) {
		w->out->truncated = true;
		return false;
	}
	media_type(ph->ctype, mt, sizeof(mt));
	if (strncmp(mt, "multipart/", 10) == 0) {
		char b[BOUNDARY_MAX + 1];
		size_t bl;
		const char *p = body, *part = NULL;

		if (depth >= AS_REPLY_MAX_DEPTH) {
			w->out->truncated = true;
			return false;
		}
		if (!boundary_param(ph->ctype, b, sizeof(b)))
			return false;
		bl = strlen(b);
		/* An unterminated last part runs to the end of the body. */
		for (bool at_end = false; !at_end;) {
			const char *next = end;
			bool last = false, delim;

			at_end = p >= end;
			if (at_end) {
				delim = true;
			} else {
				size_t n = line_len(p, end, &next);

				delim = is_delimiter(p, n, b, bl, &last);
			}
			if (delim) {
				if (part != NULL) {
					/* The line break before the delimiter belongs to it. */
					const char *pe = p;
					struct part_headers sub;
					const char *sb;

					if (pe > part && pe[-1] == '\n')
						pe--;
					if (pe > part && pe[-1] == '\r')
						pe--;
					sb = parse_headers(part, pe, &sub, NULL, NULL, 0);
					if (find_text(w, sb, pe, &sub, depth + 1, want, tb, te, cte,
					    ctecap))
						return true;
				}
				if (last)
					return false;
				part = next;
			}
			p = next;
		}
		return false;
	}
	if (strcmp(mt, want == WANT_PLAIN ? "text/plain" : "text/html") != 0)
		return false;
	*tb = body;
	*te = end;
	{
		size_t o = 0;
		const char *q = ph->cte;

		while (*q == ' ' || *q == '\t')
			q++;
		while (*q != '\0' && *q != ' ' && *q != '\t' && *q != ';' && *q != '(' &&
		    o + 1 < ctecap)
			cte[o++] = (char)tolower((unsigned char)*q++);
		cte[o] = '\0';
	}
	return true;
}

static void
add_candidate(char list[][AS_TOKEN_LEN + 1], size_t *n, const char *tok, bool *truncated)
{
	for (size_t i = 0; i < *n; i++)
		if (as_equal_ct(list[i], tok, AS_TOKEN_LEN))
			return;
	if (*n >= AS_REPLY_MAX_CANDIDATES) {
		*truncated = true;
		return;
	}
	memcpy(list[*n], tok, AS_TOKEN_LEN);
	list[*n][AS_TOKEN_LEN] = '\0';
	(*n)++;
}

static bool
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Case-insensitive search for a needle in a bounded haystack. */
static const char *
find_ci(const char *h, size_t hl, const char *needle)
{
	size_t nl = strlen(needle);

	for (size_t i = 0; i + nl <= hl; i++)
		if (strncasecmp(h + i, needle, nl) == 0)
			return h + i;
	return NULL;
}

/* Collect "ACME: <token>" candidates in text; white space inside the token is ignored. */
static void
scan_markers(const char *text, size_t len, char list[][AS_TOKEN_LEN + 1], size_t *n,
    bool *truncated)
{
	const char *p = text, *end = text + len;
	size_t ml = strlen(AS_ACME_MARKER);

	while (p < end) {
		const char *m = find_ci(p, (size_t)(end - p), AS_ACME_MARKER);
		char tok[AS_TOKEN_LEN + 1];
		size_t got = 0;
		const char *q;

		if (m == NULL)
			break;
		q = m + ml;
		while (q < end && got < AS_TOKEN_LEN) {
			if (is_space((unsigned char)*q)) {
				q++;
				continue;
			}
			if (!as_token_char((unsigned char)*q))
				break;
			tok[got++] = *q++;
		}
		/* A longer run of token characters is some other text, not our token. */
		if (got == AS_TOKEN_LEN && !(q < end && as_token_char((unsigned char)*q)))
			add_candidate(list, n, tok, truncated);
		as_wipe(tok, sizeof(tok));
		p = m + ml;
	}
}

/* Collect RFC 8823 response blocks whose whole content is one token. */
static void
scan_blocks(const char *text, size_t len, struct as_reply_tokens *out)
{
	const char *p = text, *end = text + len;
	size_t bl = strlen(AS_ACME_BEGIN), el = strlen(AS_ACME_END);

	while (p < end) {
		const char *b = memmem(p, (size_t)(end - p), AS_ACME_BEGIN, bl);
		const char *e;
		char tok[AS_TOKEN_LEN + 1];
		size_t got = 0;
		bool ok = true;

		if (b == NULL)
			break;
		b += bl;
		e = memmem(b, (size_t)(end - b), AS_ACME_END, el);
		if (e == NULL)
			break;
		for (const char *q = b; q < e && ok; q++) {
			if (is_space((unsigned char)*q))
				continue;
			if (!as_token_char((unsigned char)*q) || got >= AS_TOKEN_LEN)
				ok = false;
			else
				tok[got++] = *q;
		}
		if (ok && got == AS_TOKEN_LEN)
			add_candidate(out->block, &out->n_block, tok, &out->truncated);
		as_wipe(tok, sizeof(tok));
		p = e + el;
	}
}

/* Remove quote prefixes ("> ", ">>", " > > ") from every line; LF line ends out. */
static size_t
unquote(const char *in, size_t len, char *out, size_t cap)
{
	const char *p = in, *end = in + len;
	size_t o = 0;

	while (p < end && o < cap) {
		const char *next;
		size_t n = line_len(p, end, &next);
		size_t i = 0;

		for (;;) {
			while (i < n && (p[i] == ' ' || p[i] == '\t'))
				i++;
			if (i < n && p[i] == '>')
				i++;
			else
				break;
		}
		if (n - i > cap - o)
			n = i + (cap - o);
		memcpy(out + o, p + i, n - i);
		o += n - i;
		if (o < cap)
			out[o++] = '\n';
		p = next;
	}
	return o;
}

static int
scan_body(struct walk *w, const char *body, const char *end, const struct part_headers *ph)
{
	const char *tb = NULL, *te = NULL;
	char cte[64];
	enum want want = WANT_PLAIN;
	char *dec = NULL, *txt = NULL;
	size_t dn, tn, blen;
	int r = -1;

	if (!find_text(w, body, end, ph, 0, WANT_PLAIN, &tb, &te, cte, sizeof(cte))) {
		w->parts = 0;
		want = WANT_HTML;
		if (!find_text(w, body, end, ph, 0, WANT_HTML, &tb, &te, cte, sizeof(cte)))
			return 0;
	}
	blen = (size_t)(te - tb);
	if (blen > AS_REPLY_MAX_TEXT) {
		blen = AS_REPLY_MAX_TEXT;
		w->out->truncated = true;
	}
	dec = malloc(blen + 1);
	txt = malloc(blen + 1);
	if (dec == NULL || txt == NULL)
		goto out;
	if (strcmp(cte, "quoted-printable") == 0)
		dn = as_qp_decode(tb, blen, dec, blen, false);
	else if (strcmp(cte, "base64") == 0)
		dn = as_b64_decode(tb, blen, dec, blen);
	else {
		memcpy(dec, tb, blen);
		dn = blen;
	}
	if (want == WANT_HTML) {
		tn = as_html_to_text(dec, dn, txt, blen);
		memcpy(dec, txt, tn);
		dn = tn;
	}
	tn = unquote(dec, dn, txt, blen);
	scan_markers(txt, tn, w->out->body, &w->out->n_body, &w->out->truncated);
	scan_blocks(txt, tn, w->out);
	r = 0;
out:
	if (dec != NULL) {
		as_wipe(dec, blen + 1);
		free(dec);
	}
	if (txt != NULL) {
		as_wipe(txt, blen + 1);
		free(txt);
	}
	return r;
}

int
as_reply_parse(const char *msg, size_t len, struct as_reply_tokens *out)
{
	struct part_headers ph;
	struct walk w = { .out = out, .parts = 0 };
	char *subject = NULL, *decoded = NULL;
	const char *body, *end;
	size_t dn;
	int r = -1;

	if (out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	if (msg == NULL)
		return -1;
	subject = malloc(AS_REPLY_MAX_FIELD);
	decoded = malloc(AS_REPLY_MAX_FIELD);
	if (subject == NULL || decoded == NULL)
		goto out;
	body = parse_headers(msg, msg + len, &ph, out, subject, AS_REPLY_MAX_FIELD);
	dn = as_rfc2047_decode(subject, strlen(subject), decoded, AS_REPLY_MAX_FIELD);
	scan_markers(decoded, dn, out->subject, &out->n_subject, &out->truncated);
	end = msg + len;
	if ((size_t)(end - body) > AS_REPLY_MAX_BODY) {
		end = body + AS_REPLY_MAX_BODY;
		out->truncated = true;
	}
	r = scan_body(&w, body, end, &ph);
out:
	if (subject != NULL) {
		as_wipe(subject, AS_REPLY_MAX_FIELD);
		free(subject);
	}
	if (decoded != NULL) {
		as_wipe(decoded, AS_REPLY_MAX_FIELD);
		free(decoded);
	}
	return r;
}

enum as_reply_verdict
as_reply_pick(const struct as_reply_tokens *t, char token[AS_TOKEN_LEN + 1])
{
	const char *first = NULL;
	const char (*lists[3])[AS_TOKEN_LEN + 1] = { t->subject, t->body, t->block };
	size_t counts[3] = { t->n_subject, t->n_body, t->n_block };

	for (size_t l = 0; l < 3; l++) {
		for (size_t i = 0; i < counts[l] && i < AS_REPLY_MAX_CANDIDATES; i++) {
			if (first == NULL)
				first = lists[l][i];
			else if (!as_equal_ct(first, lists[l][i], AS_TOKEN_LEN))
				return AS_REPLY_CONFLICT;
		}
	}
	if (first == NULL)
		return AS_REPLY_NONE;
	memcpy(token, first, AS_TOKEN_LEN);
	token[AS_TOKEN_LEN] = '\0';
	return AS_REPLY_ONE;
}

void
as_reply_tokens_wipe(struct as_reply_tokens *t)
{
	if (t != NULL)
		as_wipe(t, sizeof(*t));
}
