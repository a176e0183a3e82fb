/*
 * offline: one message file through the milter callbacks, with an mfi_ops implementation that
 * applies header edits and the new body to an in-memory copy of the file. Owns that copy.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "milter/daemon/mfi.h"
#include "milter/daemon/offline.h"
#include "milter/daemon/session.h"
#include "milter/engine/smime.h"

#define MAX_HEADERS (SMIME_MAX_HEADERS * 2)

struct hdr {
	char *name;
	char *value;
	bool deleted;
};

/* Lifetime: one offline run. */
struct offline {
	const struct offline_request *req;
	void *priv;
	struct hdr hdrs[MAX_HEADERS];
	size_t nhdrs;
	struct spool *newbody;     /* NULL until replacebody */
	const char *spool_dir;
	const char *rcode, *xcode;
	char text[256];
	bool failed;               /* an edit could not be applied */
};

static const char *
o_getsymval(void *ctx, const char *name)
{
	struct offline *o = ctx;

	if (strcmp(name, "{auth_authen}") == 0)
		return o->req->sender;
	if (strcmp(name, "i") == 0)
		return "offline";
	if (strcmp(name, "{daemon_name}") == 0)
		return "offline";
	return NULL;
}

static void *
o_getpriv(void *ctx)
{
	return ((struct offline *)ctx)->priv;
}

static int
o_setpriv(void *ctx, void *priv)
{
	((struct offline *)ctx)->priv = priv;
	return 0;
}

static int
o_setreply(void *ctx, const char *rcode, const char *xcode, const char *text)
{
	struct offline *o = ctx;

	o->rcode = rcode;
	o->xcode = xcode;
	snprintf(o->text, sizeof(o->text), "%s", text != NULL ? text : "");
	return 0;
}

static int
add_hdr(struct offline *o, const char *name, size_t nlen, const char *value, size_t vlen)
{
	if (o->nhdrs >= MAX_HEADERS)
		return -1;
	o->hdrs[o->nhdrs].name = strndup(name, nlen);
	o->hdrs[o->nhdrs].value = strndup(value, vlen);
	o->hdrs[o->nhdrs].deleted = false;
	if (o->hdrs[o->nhdrs].name == NULL || o->hdrs[o->nhdrs].value == NULL) {
		free(o->hdrs[o->nhdrs].name);
		free(o->hdrs[o->nhdrs].value);
		return -1;
	}
	o->nhdrs++;
	return 0;
}

static int
o_chgheader(void *ctx, const char *name, int index, const char *value)
{
	struct offline *o = ctx;
	int seen = 0;

	for (size_t i = 0; i < o->nhdrs; i++) {
		if (o->hdrs[i].deleted || strcasecmp(o->hdrs[i].name, name) != 0 || ++seen != index)
			continue;
		if (value == NULL) {
			o->hdrs[i].deleted = true;
			return 0;
		}
		free(o->hdrs[i].value);
		o->hdrs[i].value = strdup(value);
		return o->hdrs[i].value != NULL ? 0 : (o->failed = true, -1);
	}
	/* like the MTA: changing a header that is not there adds it */
	if (value != NULL && add_hdr(o, name, strlen(name), value, strlen(value)) < 0) {
		o->failed = true;
		return -1;
	}
	return 0;
}

static int
o_addheader(void *ctx, const char *name, const char *value)
{
	struct offline *o = ctx;

	if (add_hdr(o, name, strlen(name), value, strlen(value)) < 0) {
		o->failed = true;
		return -1;
	}
	return 0;
}

static int
o_replacebody(void *ctx, const unsigned char *data, size_t len)
{
	struct offline *o = ctx;

	if (o->newbody == NULL)
		o->newbody = spool_new(1024 * 1024, o->spool_dir, 0);
	if (o->newbody == NULL || spool_write(o->newbody, data, len) != 0) {
		o->failed = true;
		return -1;
	}
	return 0;
}

static const struct mfi_ops offline_ops = {
	o_getsymval, o_getpriv, o_setpriv, o_setreply, o_chgheader, o_addheader, o_replacebody,
};

/* Read the whole file, at most `limit` bytes. */
static char *
slurp(const char *path, size_t limit, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (fp == NULL) {
		fprintf(stderr, "autosmime-milter: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		size_t got;

		if (n == cap) {
			char *grown;

			if (cap > limit) {
				fprintf(stderr, "autosmime-milter: %s: larger than message_size_limit\n",
				    path);
				goto fail;
			}
			cap = cap == 0 ? 65536 : cap * 2;
			grown = realloc(buf, cap + 1);
			if (grown == NULL)
				goto fail;
			buf = grown;
		}
		got = fread(buf + n, 1, cap - n, fp);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(fp)) {
		fprintf(stderr, "autosmime-milter: %s: read error\n", path);
		goto fail;
	}
	fclose(fp);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	fclose(fp);
	free(buf);
	return NULL;
}

/* Split the header section; returns the offset of the body, or -1 on too many headers. */
static long
parse_headers(struct offline *o, const char *msg, size_t len)
{
	size_t p = 0;

	while (p < len) {
		size_t eol = p, colon, vstart, vend, next;

		while (eol < len && msg[eol] != '\n')
			eol++;
		if (eol == p || (eol == p + 1 && msg[p] == '\r'))
			return (long)(eol < len ? eol + 1 : eol);   /* the empty line */
		for (colon = p; colon < eol && msg[colon] != ':' && msg[colon] != ' ' &&
		    msg[colon] != '\t'; colon++)
			;
		if (colon == p || colon >= eol || msg[colon] != ':')
			return (long)p;   /* not a header line: the body starts here */
		/* the value runs over continuation lines (starting with white space) */
		next = eol < len ? eol + 1 : eol;
		while (next < len && (msg[next] == ' ' || msg[next] == '\t')) {
			while (next < len && msg[next] != '\n')
				next++;
			eol = next;
			next = next < len ? next + 1 : next;
		}
		vstart = colon + 1;
		while (vstart < eol && (msg[vstart] == ' ' || msg[vstart] == '\t'))
			vstart++;
		vend = eol;
		if (vend > vstart && msg[vend - 1] == '\r')
			vend--;
		{
			/* keep the folding, but as bare LF the way an MTA hands it over */
			char *v = strndup(msg + vstart, vend - vstart);
			size_t w = 0;

			if (v == NULL)
				return -1;
			for (size_t r = 0; v[r] != '\0'; r++)
				if (!(v[r] == '\r' && v[r + 1] == '\n'))
					v[w++] = v[r];
			v[w] = '\0';
			if (add_hdr(o, msg + p, colon - p, v, w) < 0) {
				free(v);
				return -1;
			}
			free(v);
		}
		p = next;
	}
	return (long)len;
}

/* Feed the body with CRLF line ends, as an MTA sends it. */
static enum mfi_status
feed_body(struct milter_runtime *rt, struct offline *o, const char *body, size_t len)
{
	char buf[SESSION_BODY_CHUNK + 2];
	size_t n = 0;
	enum mfi_status st = MFI_CONTINUE;

	for (size_t i = 0; i < len && st == MFI_CONTINUE; i++) {
		if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r'))
			buf[n++] = '\r';
		buf[n++] = body[i];
		if (n >= SESSION_BODY_CHUNK) {
			st = session_body(rt, &offline_ops, o, (unsigned char *)buf, n);
			n = 0;
		}
	}
	if (n > 0 && st == MFI_CONTINUE)
		st = session_body(rt, &offline_ops, o, (unsigned char *)buf, n);
	return st;
}

/* Print with LF line ends, like a message in a Unix mailbox. */
static int
print_result(struct offline *o, const char *body, size_t blen, FILE *out)
{
	char buf[65536];
	ssize_t n;
	bool cr = false;

	for (size_t i = 0; i < o->nhdrs; i++)
		if (!o->hdrs[i].deleted)
			fprintf(out, "%s: %s\n", o->hdrs[i].name, o->hdrs[i].value);
	fputc('\n', out);
	if (o->newbody == NULL) {
		fwrite(body, 1, blen, out);
		return ferror(out) ? -1 : 0;
	}
	if (spool_rewind(o->newbody) != 0)
		return -1;
	while ((n = spool_read(o->newbody, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++) {
			if (cr && buf[i] != '\n')
				fputc('\r', out);
			cr = buf[i] == '\r';
			if (!cr)
				fputc(buf[i], out);
		}
	if (cr)
		fputc('\r', out);
	return n < 0 || ferror(out) ? -1 : 0;
}

int
offline_run(struct milter_runtime *rt, const struct offline_request *req, FILE *out)
{
	struct offline *o = calloc(1, sizeof(*o));
	struct snapshot *snap = NULL;
	char *file = NULL, from[300];
	char *argv[2] = { from, NULL };
	size_t len = 0;
	long body;
	enum mfi_status st;
	int r = 1;

	if (o == NULL)
		return 1;
	o->req = req;
	snap = runtime_acquire(rt);
	o->spool_dir = snap->conf->spool_dir;
	file = slurp(req->file, (size_t)snap->conf->message_size_limit + 1024 * 1024, &len);
	if (file == NULL)
		goto out;
	body = parse_headers(o, file, len);
	if (body < 0) {
		fprintf(stderr, "autosmime-milter: %s: too many or unreadable headers\n", req->file);
		goto out;
	}
	snprintf(from, sizeof(from), "<%s>", req->sender);
	st = session_connect(rt, &offline_ops, o, "localhost", NULL);
	if (st == MFI_CONTINUE)
		st = session_envfrom(rt, &offline_ops, o, argv);
	for (int i = 0; i < req->rcpt_count && st == MFI_CONTINUE; i++) {
		char *rargv[2] = { (char *)req->rcpts[i], NULL };

		st = session_envrcpt(rt, &offline_ops, o, rargv);
	}
	if (st == MFI_CONTINUE)
		st = session_data(rt, &offline_ops, o);
	for (size_t i = 0; i < o->nhdrs && st == MFI_CONTINUE; i++)
		st = session_header(rt, &offline_ops, o, o->hdrs[i].name, o->hdrs[i].value);
	if (st == MFI_CONTINUE)
		st = session_eoh(rt, &offline_ops, o);
	if (st == MFI_CONTINUE)
		st = feed_body(rt, o, file + body, len - (size_t)body);
	if (st == MFI_CONTINUE)
		st = session_eom(rt, &offline_ops, o);
	session_close(rt, &offline_ops, o);
	if (st == MFI_DISCARD) {
		/* an enrolment reply: the milter would throw it away */
		fprintf(stderr, "autosmime-milter: discarded\n");
		r = 0;
		goto out;
	}
	if (st == MFI_TEMPFAIL || st == MFI_REJECT) {
		fprintf(stderr, "autosmime-milter: %s %s %s\n", o->rcode ? o->rcode : "",
		    o->xcode ? o->xcode : "", o->text);
		r = st == MFI_TEMPFAIL ? OFFLINE_EXIT_TEMPFAIL : OFFLINE_EXIT_REJECT;
		goto out;
	}
	if (o->failed || print_result(o, file + body, len - (size_t)body, out) < 0) {
		fprintf(stderr, "autosmime-milter: could not write the result\n");
		goto out;
	}
	r = fflush(out) == 0 ? 0 : 1;
out:
	for (size_t i = 0; i < o->nhdrs; i++) {
		free(o->hdrs[i].name);
		free(o->hdrs[i].value);
	}
	spool_free(o->newbody);
	free(o);
	free(file);
	runtime_release(rt, snap);
	return r;
}
