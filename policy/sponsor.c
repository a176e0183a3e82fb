/*
 * sponsor: parses the sponsor source file into a sorted, read-only table and looks mailboxes
 * up in it. Owns the table and every string in it.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "policy/sponsor.h"

struct as_sponsor_table {
	struct as_sponsor_entry *e;
	size_t n, cap;
};

static void seterr(struct as_sponsor_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
seterr(struct as_sponsor_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
}

/* Strict UTF-8: no overlongs, surrogates or code points past U+10FFFF; no control characters. */
static bool
valid_text(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		unsigned long cp;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
			return false;
		i += k + 1;
	}
	return true;
}

static void
trim(char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* A mailbox: one '@', non-empty local part and domain, no white space or control bytes. */
static bool
normalise_mailbox(const char *in, size_t n, char *out, size_t cap)
{
	const char *at = NULL;

	if (n == 0 || n >= cap || n > AS_SPONSOR_MAILBOX_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',' || c == '|')
			return false;
		if (c == '@') {
			if (at != NULL)
				return false;
			at = in + i;
		}
	}
	if (at == NULL || at == in || at == in + n - 1)
		return false;
	if (!valid_text((const unsigned char *)in, n))
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = in + i > at ? (char)tolower((unsigned char)in[i]) : in[i];
	out[n] = '\0';
	return true;
}

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct as_sponsor_entry *)a)->mailbox,
	    ((const struct as_sponsor_entry *)b)->mailbox);
}

void
as_sponsor_free(struct as_sponsor_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->e[i].mailbox);
		free(t->e[i].given_name);
		free(t->e[i].surname);
	}
	free(t->e);
	free(t);
}

/* Parse one non-comment line into an entry; returns NULL on success or the reason. */
static const char *
parse_line(char *line, size_t len, struct as_sponsor_entry *e)
{
	char mbox[AS_SPONSOR_MAILBOX_MAX + 1];
	char *p = line, *given, *sur;
	size_t ml = 0, gl, sl;
	char *bar, *rest;
	size_t rl;

	while (ml < len && p[ml] != ' ' && p[ml] != '\t')
		ml++;
	if (!normalise_mailbox(p, ml, mbox, sizeof(mbox)))
		return "bad mailbox";
	rest = p + ml;
	rl = len - ml;
	bar = memchr(rest, '|', rl);
	if (bar != NULL) {
		if (memchr(bar + 1, '|', (size_t)(rest + rl - bar - 1)) != NULL)
			return "more than one '|'";
		given = rest;
		gl = (size_t)(bar - rest);
		sur = bar + 1;
		sl = (size_t)(rest + rl - sur);
	} else {
		char *tab;

		/* Tab-separated: mailbox TAB given TAB surname. */
		if (rl == 0 || rest[0] != '\t')
			return "expected 'given name | surname' or two TAB-separated fields";
		given = rest + 1;
		tab = memchr(given, '\t', rl - 1);
		if (tab == NULL)
			return "expected 'given name | surname' or two TAB-separated fields";
		gl = (size_t)(tab - given);
		sur = tab + 1;
		sl = (size_t)(rest + rl - sur);
		if (memchr(sur, '\t', sl) != NULL)
			return "too many TAB-separated fields";
	}
	trim(&given, &gl);
	trim(&sur, &sl);
	if (gl == 0 || sl == 0)
		return "empty given name or surname";
	if (gl > AS_SPONSOR_NAME_MAX || sl > AS_SPONSOR_NAME_MAX)
		return "name too long";
	if (!valid_text((unsigned char *)given, gl) || !valid_text((unsigned char *)sur, sl))
		return "name is not UTF-8 text";
	e->mailbox = strdup(mbox);
	e->given_name = strndup(given, gl);
	e->surname = strndup(sur, sl);
	if (e->mailbox == NULL || e->given_name == NULL || e->surname == NULL) {
		free(e->mailbox);
		free(e->given_name);
		free(e->surname);
		return "out of memory";
	}
	return NULL;
}

int
as_sponsor_parse(FILE *fp, const char *name, struct as_sponsor_table **out,
    struct as_sponsor_error *err)
{
	struct as_sponsor_table *t = calloc(1, sizeof(*t));
	char line[AS_SPONSOR_LINE_MAX + 2];
	unsigned long lineno = 0;
	int r = -1;

	*out = NULL;
	if (t == NULL) {
		seterr(err, "%s: out of memory", name);
		goto out;
	}
	for (;;) {
		size_t len = 0;
		int c;
		bool toolong = false, nul = false;

		/* Read one line by hand: fgets can't see NUL bytes. */
		while ((c = getc(fp)) != EOF && c != '\n') {
			if (c == '\0')
				nul = true;
			if (len < AS_SPONSOR_LINE_MAX)
				line[len++] = (char)c;
			else
				toolong = true;
		}
		if (c == EOF && len == 0 && !toolong) {
			if (ferror(fp)) {
				seterr(err, "%s: read error: %s", name, strerror(errno));
				goto out;
			}
			break;
		}
		lineno++;
		if (toolong || nul) {
			seterr(err, "%s:%lu: %s", name, lineno, nul ? "NUL byte" : "line too long");
			goto out;
		}
		if (len > 0 && line[len - 1] == '\r')
			len--;
		line[len] = '\0';
		{
			size_t i = 0;

			while (i < len && (line[i] == ' ' || line[i] == '\t'))
				i++;
			if (i == len || line[i] == '#')
				continue;
			if (i > 0) {
				seterr(err, "%s:%lu: the mailbox must start the line", name, lineno);
				goto out;
			}
		}
		if (t->n >= AS_SPONSOR_ENTRIES_MAX) {
			seterr(err, "%s:%lu: more than %d entries", name, lineno, AS_SPONSOR_ENTRIES_MAX);
			goto out;
		}
		if (t->n == t->cap) {
			size_t nc = t->cap ? t->cap * 2 : 64;
			struct as_sponsor_entry *ne = realloc(t->e, nc * sizeof(*ne));

			if (ne == NULL) {
				seterr(err, "%s: out of memory", name);
				goto out;
			}
			t->e = ne;
			t->cap = nc;
		}
		const char *why = parse_line(line, len, &t->e[t->n]);
		if (why != NULL) {
			seterr(err, "%s:%lu: %s", name, lineno, why);
			goto out;
		}
		t->n++;
		if (c == EOF)
			break;
	}
	if (t->n > 0)
		qsort(t->e, t->n, sizeof(t->e[0]), cmp_entry);
	for (size_t i = 1; i < t->n; i++) {
		if (strcmp(t->e[i - 1].mailbox, t->e[i].mailbox) == 0) {
			seterr(err, "%s: mailbox listed twice", name);
			goto out;
		}
	}
	*out = t;   /* transferred */
	t = NULL;
	r = 0;
out:
	as_sponsor_free(t);
	return r;
}

int
as_sponsor_load(const char *path, struct as_sponsor_table **out, struct as_sponsor_error *err)
{
	FILE *fp = fopen(path, "re");
	int r;

	*out = NULL;
	if (fp == NULL) {
		seterr(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	r = as_sponsor_parse(fp, path, out, err);
	fclose(fp);
	return r;
}

const struct as_sponsor_entry *
as_sponsor_lookup(const struct as_sponsor_table *t, const char *mailbox)
{
	char key[AS_SPONSOR_MAILBOX_MAX + 1];
	struct as_sponsor_entry probe = { .mailbox = key };

	if (t == NULL || mailbox == NULL || t->n == 0 ||
	    !normalise_mailbox(mailbox, strlen(mailbox), key, sizeof(key)))
		return NULL;
	return bsearch(&probe, t->e, t->n, sizeof(t->e[0]), cmp_entry);
}

size_t
as_sponsor_count(const struct as_sponsor_table *t)
{
	return t != NULL ? t->n : 0;
}

const struct as_sponsor_entry *
as_sponsor_at(const struct as_sponsor_table *t, size_t i)
{
	return t != NULL && i < t->n ? &t->e[i] : NULL;
}
