/*
 * fuzz_util: the fixed keys, message splitting and result applying for the fuzz targets
 * (see fuzz_util.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/pem.h>

#include "tests/fuzz/fuzz_util.h"

#ifndef FUZZ_KEYDIR
#error "FUZZ_KEYDIR must name tests/fuzz/keys"
#endif

static void *
load_pem(const char *name, int key)
{
	char path[4096];
	FILE *fp;
	void *obj;

	snprintf(path, sizeof(path), "%s/%s", FUZZ_KEYDIR, name);
	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "fuzz: cannot read %s\n", path);
		abort();
	}
	obj = key ? (void *)PEM_read_PrivateKey(fp, NULL, NULL, NULL) :
	    (void *)PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (obj == NULL) {
		fprintf(stderr, "fuzz: %s does not parse\n", path);
		abort();
	}
	return obj;
}

const struct fuzz_keys *
fuzz_keys(void)
{
	static struct fuzz_keys k;

	if (k.store != NULL)
		return &k;
	k.root = load_pem("root.pem", 0);
	k.signer = load_pem("signer.pem", 0);
	k.signer_key = load_pem("signer.key", 1);
	k.rsa = load_pem("rsa.pem", 0);
	k.rsa_key = load_pem("rsa.key", 1);
	k.ec = load_pem("ec.pem", 0);
	k.ec_key = load_pem("ec.key", 1);
	if ((k.store = X509_STORE_new()) == NULL || !X509_STORE_add_cert(k.store, k.root))
		abort();
	return &k;
}

/* Length of the line at p (up to and including its LF), within end. */
static size_t
line_len(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));

	return nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
}

static size_t
chomp(const uint8_t *p, size_t n)
{
	if (n > 0 && p[n - 1] == '\n')
		n--;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	return n;
}

int
fuzz_msg_parse(const uint8_t *data, size_t size, struct fuzz_msg *out)
{
	const uint8_t *p = data, *end = data + size;

	memset(out, 0, sizeof(*out));
	if ((out->headers = calloc(SMIME_MAX_HEADERS, sizeof(*out->headers))) == NULL)
		return -1;
	while (p < end) {
		size_t n = line_len(p, end), k = chomp(p, n), vlen;
		const uint8_t *line = p, *colon, *v;
		struct smime_header *h;

		if (k == 0) {          /* the empty line: the body follows */
			p += n;
			break;
		}
		if ((colon = memchr(p, ':', k)) == NULL || colon == p ||
		    out->header_count == SMIME_MAX_HEADERS || memchr(p, '\0', n) != NULL)
			goto fail;
		v = colon + 1;
		if (v < p + k && (*v == ' ' || *v == '\t'))
			v++;
		/* continuation lines belong to the value, their line ends kept */
		vlen = (size_t)(p + n - v);
		p += n;
		while (p < end && (*p == ' ' || *p == '\t')) {
			n = line_len(p, end);
			if (memchr(p, '\0', n) != NULL)
				goto fail;
			vlen += n;
			p += n;
		}
		vlen = chomp(v, vlen);
		if (vlen > SMIME_MAX_HEADER_LEN)
			goto fail;
		h = &out->headers[out->header_count++];
		h->name = strndup((const char *)line, (size_t)(colon - line));
		h->value = strndup((const char *)v, vlen);
		if (h->name == NULL || h->value == NULL)
			goto fail;
	}
	if ((out->body = spool_new(1 << 20, NULL, 0)) == NULL ||
	    (p < end && spool_write(out->body, p, (size_t)(end - p)) != 0))
		goto fail;
	out->m.headers = out->headers;
	out->m.header_count = out->header_count;
	out->m.body = out->body;
	return 0;
fail:
	fuzz_msg_free(out);
	return -1;
}

void
fuzz_msg_free(struct fuzz_msg *msg)
{
	for (size_t i = 0; msg->headers != NULL && i < msg->header_count; i++) {
		free(msg->headers[i].name);
		free(msg->headers[i].value);
	}
	free(msg->headers);
	spool_free(msg->body);
	memset(msg, 0, sizeof(*msg));
}

int
fuzz_msg_apply(struct fuzz_msg *msg, struct smime_result *res)
{
	size_t kept = 0;

	for (size_t i = 0; i < msg->header_count; i++) {
		bool gone = false;

		for (size_t r = 0; r < res->remove_count && !gone; r++)
			gone = strcasecmp(msg->headers[i].name, res->remove[r]) == 0;
		if (gone) {
			free(msg->headers[i].name);
			free(msg->headers[i].value);
		} else {
			msg->headers[kept++] = msg->headers[i];
		}
	}
	msg->header_count = kept;
	for (size_t a = 0; a < res->add_count; a++) {
		struct smime_header *h;

		if (msg->header_count == SMIME_MAX_HEADERS)
			return -1;
		h = &msg->headers[msg->header_count++];
		h->name = strdup(res->add[a].name);
		h->value = strdup(res->add[a].value);
		if (h->name == NULL || h->value == NULL)
			return -1;
	}
	if (res->body != NULL) {
		spool_free(msg->body);
		msg->body = res->body; /* transferred */
		res->body = NULL;
	}
	msg->m.headers = msg->headers;
	msg->m.header_count = msg->header_count;
	msg->m.body = msg->body;
	return 0;
}

char *
fuzz_spool_bytes(struct spool *sp, size_t *len)
{
	size_t cap = spool_size(sp), n = 0;
	char *buf = malloc(cap + 1);
	ssize_t got;

	if (buf == NULL || spool_rewind(sp) != 0) {
		free(buf);
		return NULL;
	}
	while (n < cap && (got = spool_read(sp, buf + n, cap - n)) > 0)
		n += (size_t)got;
	buf[n] = '\0';
	*len = n;
	return buf;
}
