/*
 * mail_sign: signs one in-memory mail of the gateway's own (see mail_sign.h). Owns only the
 * buffers of one call; secrets in them (a challenge token) are wiped before they are freed.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/cms.h>

#include "common/util.h"
#include "policy/mail_sign.h"

/* Is the header starting at h (its whole field, folded lines included) a MIME header? */
static bool
mime_header(const char *h)
{
	return strncasecmp(h, "Content-", 8) == 0 || strncasecmp(h, "MIME-Version:", 13) == 0;
}

/* Copy the bytes of `b` into a malloc'd NUL-terminated buffer without CRs. */
static char *
bio_text(BIO *b, size_t *outlen)
{
	char *data, *o;
	long n = BIO_get_mem_data(b, &data);
	size_t k = 0;

	if (n <= 0 || (o = malloc((size_t)n + 1)) == NULL)
		return NULL;
	for (long i = 0; i < n; i++)
		if (data[i] != '\r')
			o[k++] = data[i];
	o[k] = '\0';
	*outlen = k;
	return o;
}

int
as_mail_sign(const char *msg, size_t len, X509 *cert, EVP_PKEY *key, STACK_OF(X509) *chain,
    char **out, size_t *outlen, char *err, size_t errcap)
{
	BIO *top = BIO_new(BIO_s_mem()), *inner = BIO_new(BIO_s_mem()), *data = NULL;
	BIO *signed_part = BIO_new(BIO_s_mem());
	const char *p = msg, *end = msg + len, *body = NULL;
	CMS_ContentInfo *cms = NULL;
	char *t = NULL, *s = NULL, *res;
	size_t tl = 0, sl = 0;
	bool in_mime = false;
	int r = -1;

	*out = NULL;
	if (top == NULL || inner == NULL || signed_part == NULL || msg == NULL || cert == NULL ||
	    key == NULL) {
		as_errf(err, errcap, "cannot sign: out of memory or no certificate");
		goto out;
	}
	/* headers: a field and its continuation lines go to one side */
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = eol != NULL ? (size_t)(eol - p) + 1 : (size_t)(end - p);

		if (n == 1 && *p == '\n') {
			body = p + 1;
			break;
		}
		if (*p != ' ' && *p != '\t')
			in_mime = mime_header(p);
		/* MIME-Version is written again by SMIME_write_CMS on top */
		if (!(in_mime && strncasecmp(p, "MIME-Version:", 13) == 0))
			BIO_write(in_mime ? inner : top, p, (int)n);
		p += n;
	}
	if (body == NULL) {
		as_errf(err, errcap, "cannot sign: no body");
		goto out;
	}
	BIO_write(inner, "\n", 1);
	BIO_write(inner, body, (int)(end - body));
	{
		char *d;
		long n = BIO_get_mem_data(inner, &d);

		/* streaming: SMIME_write_CMS reads the part once, digests and writes it; text
		 * mode (no CMS_BINARY): the digest is over CRLF lines, as RFC 8551 wants */
		if (n <= 0 || (data = BIO_new_mem_buf(d, (int)n)) == NULL ||
		    (cms = CMS_sign(cert, key, chain, NULL, CMS_DETACHED | CMS_STREAM)) == NULL) {
			as_errf(err, errcap, "cannot sign the gateway's mail");
			goto out;
		}
		if (SMIME_write_CMS(signed_part, cms, data, CMS_DETACHED | CMS_STREAM) != 1) {
			as_errf(err, errcap, "cannot write the signed mail");
			goto out;
		}
	}
	if ((t = bio_text(top, &tl)) == NULL || (s = bio_text(signed_part, &sl)) == NULL ||
	    (res = malloc(tl + sl + 1)) == NULL) {
		as_errf(err, errcap, "out of memory");
		goto out;
	}
	memcpy(res, t, tl);
	memcpy(res + tl, s, sl + 1);
	*out = res;
	*outlen = tl + sl;
	r = 0;
out:
	if (t != NULL) {
		as_wipe(t, tl);
		free(t);
	}
	if (s != NULL) {
		as_wipe(s, sl);
		free(s);
	}
	CMS_ContentInfo_free(cms);
	BIO_free(top);
	BIO_free(inner);
	BIO_free(data);
	BIO_free(signed_part);
	return r;
}
