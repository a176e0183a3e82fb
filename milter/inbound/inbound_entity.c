/*
 * inbound_entity: header/body split of one MIME entity (see inbound_entity.h). Owns the
 * header array and body spool it builds until the caller takes them.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter/inbound/inbound_entity.h"
#include "milter/engine/mime.h"
#include "milter/engine/spool.h"

void
inbound_entity_free(struct inbound_entity *e)
{
	for (size_t i = 0; i < e->header_count; i++) {
		free(e->headers[i].name);
		free(e->headers[i].value);
	}
	free(e->headers);
	spool_free(e->body);
	memset(e, 0, sizeof(*e));
}

/* Append bytes to the value being collected (bounded). */
static int
grow(char **buf, size_t *len, const void *p, size_t n)
{
	char *nb;

	if (*len + n + 1 > SMIME_MAX_HEADER_LEN)
		return -1;
	if ((nb = realloc(*buf, *len + n + 1)) == NULL)
		return -1;
	memcpy(nb + *len, p, n);
	*len += n;
	nb[*len] = '\0';
	*buf = nb;
	return 0;
}

/* Turn "Name: value" into a header; -1 when it is not a header line. */
static int
add_field(struct inbound_entity *e, char *line, size_t len)
{
	char *colon = memchr(line, ':', len), *name, *value;
	const char *v;
	struct smime_header *nh;

	if (colon == NULL || colon == line || e->header_count >= SMIME_MAX_HEADERS)
		return -1;
	for (char *p = line; p < colon; p++)
		if ((unsigned char)*p <= 32 || (unsigned char)*p >= 127)
			return -1;
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	nh = realloc(e->headers, (e->header_count + 1) * sizeof(*nh));
	if (nh == NULL)
		return -1;
	e->headers = nh;
	name = strndup(line, (size_t)(colon - line));
	value = strdup(v);
	if (name == NULL || value == NULL) {
		free(name);
		free(value);
		return -1;
	}
	e->headers[e->header_count].name = name;
	e->headers[e->header_count].value = value;
	e->header_count++;
	return 0;
}

int
inbound_entity_split(struct spool *in, const struct smime_options *opt,
    struct inbound_entity *out, char *why, size_t whycap)
{
	struct mime_reader *rd = NULL;
	struct mime_line ln;
	char *cur = NULL;
	size_t cur_len = 0;
	bool in_body = false;
	int k, r = -1;

	memset(out, 0, sizeof(*out));
	if ((rd = malloc(sizeof(*rd))) == NULL ||
	    (out->body = spool_new(opt->mem_limit, opt->spool_dir, opt->max_size)) == NULL ||
	    mime_reader_init(rd, in) != 0) {
		snprintf(why, whycap, "out of memory");
		goto out;
	}
	while ((k = mime_reader_next(rd, &ln)) == 1) {
		if (in_body) {
			size_t tl;
			const char *t = mime_term_bytes(ln.term, &tl);

			if (spool_write(out->body, ln.p, ln.n) != 0 ||
			    (tl > 0 && spool_write(out->body, t, tl) != 0)) {
				snprintf(why, whycap, "decrypted content too large");
				goto out;
			}
			continue;
		}
		if (ln.cont) {
			/* the rest of an over-long header line: keep it as part of the value */
			if (cur != NULL && grow(&cur, &cur_len, ln.p, ln.n) != 0)
				goto bad;
			continue;
		}
		if (ln.n == 0 && !ln.more) {
			in_body = true;
			continue;
		}
		if ((ln.p[0] == ' ' || ln.p[0] == '\t') && cur != NULL) {
			if (grow(&cur, &cur_len, "\n", 1) != 0 || grow(&cur, &cur_len, ln.p, ln.n) != 0)
				goto bad;
			continue;
		}
		if (cur != NULL && add_field(out, cur, cur_len) != 0)
			goto bad;
		free(cur);
		cur = NULL;
		cur_len = 0;
		if (grow(&cur, &cur_len, ln.p, ln.n) != 0)
			goto bad;
	}
	if (k < 0) {
		snprintf(why, whycap, "reading the decrypted content failed");
		goto out;
	}
	if (cur != NULL && add_field(out, cur, cur_len) != 0)
		goto bad;
	if (out->header_count == 0)
		goto bad;
	r = 0;
	goto out;
bad:
	snprintf(why, whycap, "decrypted content is not a MIME entity");
out:
	free(cur);
	free(rd);
	if (r != 0)
		inbound_entity_free(out);
	return r;
}
