/*
 * challenge_mail: writes the challenge and confirmation messages (headers, human text from a
 * template, certificate attachments). Owns the output buffer until it hands it to the caller.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>

#include "common/util.h"
#include "policy/challenge_mail.h"
#include "policy/token.h"

const char as_challenge_default_template[] =
    "Hello,\n"
    "\n"
    "this message comes from the mail gateway of your organisation. It lets you\n"
    "receive an S/MIME certificate for {{mailbox}}, so that the mail you send is\n"
    "signed from then on.\n"
    "\n"
    "To get your certificate, simply reply to this message (the text of your reply\n"
    "does not matter; keep the subject). Your reply is not delivered to anyone: it\n"
    "only proves that you can send mail as {{mailbox}}.\n"
    "\n"
    "This request expires on {{expires}}. If you did not send mail recently,\n"
    "you can ignore this message.\n"
    "\n"
    "ACME: {{token}}\n";

static const char *const placeholders[] = { "mailbox", "enrol_address", "expires", "token" };

/* A growable output buffer; once an append fails, all later ones do nothing. */
struct obuf {
	char *p;
	size_t n, cap;
	bool fail;
};

static void
ob_add(struct obuf *b, const char *s, size_t n)
{
	if (b->fail)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 4096;
		char *np;

		while (nc < b->n + n + 1)
			nc *= 2;
		np = malloc(nc);
		if (np == NULL) {
			b->fail = true;
			return;
		}
		if (b->p != NULL) {
			memcpy(np, b->p, b->n);
			as_wipe(b->p, b->cap);   /* the buffer may hold the token */
			free(b->p);
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
ob_str(struct obuf *b, const char *s)
{
	ob_add(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
ob_fmt(struct obuf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		b->fail = true;
	else
		ob_add(b, tmp, (size_t)n);
	as_wipe(tmp, sizeof(tmp));
}

static void
ob_free(struct obuf *b)
{
	if (b->p != NULL) {
		as_wipe(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->n = b->cap = 0;
}

/* UTF-8 text without control characters (TAB allowed when `tab`, LF when `lf`). */
static bool
clean_text(const char *s, size_t n, bool tab, bool lf)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\t' && tab)
			continue;
		if (c == '\n' && lf)
			continue;
		if (c < 0x20 || c == 0x7f)
			return false;
		if (c >= 0x80) {
			size_t k = c >= 0xf0 && c <= 0xf4 ? 3 : c >= 0xe0 && c <= 0xef ? 2 :
			    c >= 0xc2 && c <= 0xdf ? 1 : 0;

			if (k == 0)
				return false;
			for (size_t j = 1; j <= k; j++)
				if (i + j >= n || ((unsigned char)s[i + j] & 0xc0) != 0x80)
					return false;
			i += k;
		}
	}
	return true;
}

/* An address usable in a header: addr-spec shape, no control or special characters. */
static bool
header_address(const char *a)
{
	const char *at;

	if (a == NULL || *a == '\0' || strlen(a) > 254 || !clean_text(a, strlen(a), false, false))
		return false;
	for (const char *p = a; *p != '\0'; p++)
		if (*p == ' ' || *p == '<' || *p == '>' || *p == ',' || *p == '"' || *p == '(' ||
		    *p == ')' || *p == ';' || *p == '\\')
			return false;
	at = strrchr(a, '@');
	return at != NULL && at != a && at[1] != '\0' && strchr(a, '@') == at;
}

int
as_mail_date(time_t t, char *out, size_t cap)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
		"Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	int n;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11)
		return -1;
	n = snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
	    tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

int
as_mail_message_id(const char *address, char *out, size_t cap)
{
	unsigned char rnd[16];
	char hex[33];
	const char *at;
	int n;

	if (!header_address(address) || (at = strrchr(address, '@')) == NULL)
		return -1;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	n = snprintf(out, cap, "<%s.autosmime@%s>", hex, at + 1);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

int
as_mail_template_check(const char *text, char *err, size_t errcap)
{
	size_t len, line = 0;
	const char *p;

	if (text == NULL || (len = strlen(text)) > AS_MAIL_TEMPLATE_MAX) {
		as_errf(err, errcap, "template is missing or longer than %d bytes",
		    AS_MAIL_TEMPLATE_MAX);
		return -1;
	}
	if (!clean_text(text, len, true, true)) {
		as_errf(err, errcap, "template is not UTF-8 text without control characters");
		return -1;
	}
	for (p = text; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

		line++;
		if (n > AS_MAIL_LINE_MAX) {
			as_errf(err, errcap, "template line %zu is longer than %d bytes", line,
			    AS_MAIL_LINE_MAX);
			return -1;
		}
		p += n + (nl != NULL);
	}
	for (p = strstr(text, "{{"); p != NULL; p = strstr(p + 2, "{{")) {
		bool known = false;

		for (size_t i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++) {
			size_t k = strlen(placeholders[i]);

			if (strncmp(p + 2, placeholders[i], k) == 0 && strncmp(p + 2 + k, "}}", 2) == 0)
				known = true;
		}
		if (!known) {
			as_errf(err, errcap, "template has an unknown placeholder at byte %zu",
			    (size_t)(p - text));
			return -1;
		}
	}
	return 0;
}

int
as_mail_template_load(const char *path, char **out, char *err, size_t errcap)
{
	FILE *fp = fopen(path, "re");
	char *buf = NULL;
	size_t n;
	int r = -1;

	*out = NULL;
	if (fp == NULL) {
		as_errf(err, errcap, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf = malloc(AS_MAIL_TEMPLATE_MAX + 2);
	if (buf == NULL) {
		as_errf(err, errcap, "out of memory");
		goto out;
	}
	n = fread(buf, 1, AS_MAIL_TEMPLATE_MAX + 1, fp);
	if (ferror(fp) || n > AS_MAIL_TEMPLATE_MAX) {
		as_errf(err, errcap, "%s: %s", path, ferror(fp) ? "read error" : "too long");
		goto out;
	}
	if (memchr(buf, '\0', n) != NULL) {
		as_errf(err, errcap, "%s: NUL byte", path);
		goto out;
	}
	buf[n] = '\0';
	if (as_mail_template_check(buf, err, errcap) != 0)
		goto out;
	*out = buf;   /* transferred */
	buf = NULL;
	r = 0;
out:
	free(buf);
	fclose(fp);
	return r;
}

/* Append the template with placeholders replaced. */
static void
render(struct obuf *b, const char *tpl, const char *const values[4])
{
	const char *p = tpl;

	while (*p != '\0') {
		const char *o = strstr(p, "{{");
		bool done = false;

		if (o == NULL) {
			ob_str(b, p);
			break;
		}
		ob_add(b, p, (size_t)(o - p));
		for (size_t i = 0; i < 4; i++) {
			size_t k = strlen(placeholders[i]);

			if (strncmp(o + 2, placeholders[i], k) == 0 && strncmp(o + 2 + k, "}}", 2) == 0) {
				ob_str(b, values[i]);
				p = o + 4 + k;
				done = true;
				break;
			}
		}
		if (!done) {
			ob_add(b, o, 2);
			p = o + 2;
		}
	}
	if (b->n > 0 && b->p[b->n - 1] != '\n')
		ob_str(b, "\n");
}

static bool
is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/*
 * Does a line of `text` risk being changed on its way to the reader, breaking the gateway's
 * signature? A line starting "From " (mbox delivery writes ">From "), trailing white space
 * (relays strip it) or a line longer than 76 characters (relays may wrap it).
 */
static bool
text_fragile(const char *text, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *eol = memchr(text + i, '\n', n - i);
		size_t len = eol != NULL ? (size_t)(eol - text) - i : n - i;

		if (len > 76 || (len >= 5 && memcmp(text + i, "From ", 5) == 0) ||
		    (len > 0 && (text[i + len - 1] == ' ' || text[i + len - 1] == '\t')))
			return true;
		i += len + 1;
	}
	return false;
}

/* Quoted-printable (RFC 2045 6.7) of LF-ended text: '=', non-ASCII, a line's first 'F' and
 * its trailing white space encoded; soft breaks keep lines at most 76 characters. */
static void
ob_qp(struct obuf *b, const char *text, size_t n)
{
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		bool line_end = i + 1 == n || text[i + 1] == '\n';
		bool enc = c == '=' || c >= 0x7f || (c < 0x20 && c != '\t') ||
		    ((c == ' ' || c == '\t') && line_end) || (c == 'F' && col == 0);
		size_t w = enc ? 3 : 1;

		if (c == '\n') {
			ob_add(b, "\n", 1);
			col = 0;
			continue;
		}
		/* room for the soft break's '=' unless this is the line's last character */
		if (col + w > (line_end ? 76 : 75)) {
			ob_add(b, "=\n", 2);
			col = 0;
			enc = enc || c == 'F';
			w = enc ? 3 : 1;
		}
		if (enc)
			ob_fmt(b, "=%02X", c);
		else
			ob_add(b, (const char *)&c, 1);
		col += w;
	}
}

/* The transfer encoding header, the empty line and the text: 7bit or 8bit as it is, or
 * quoted-printable when a line is fragile. */
static void
text_part(struct obuf *b, const char *text, size_t n)
{
	if (text_fragile(text, n)) {
		ob_str(b, "Content-Transfer-Encoding: quoted-printable\n\n");
		ob_qp(b, text, n);
		return;
	}
	ob_fmt(b, "Content-Transfer-Encoding: %s\n\n", is_ascii(text) ? "7bit" : "8bit");
	ob_add(b, text, n);
}

/* The prefix as header text: as is when ASCII, else one RFC 2047 B encoded-word per chunk. */
static void
subject_prefix(struct obuf *b, const char *prefix)
{
	size_t len = strlen(prefix), i = 0;

	if (is_ascii(prefix)) {
		ob_str(b, prefix);
		return;
	}
	while (i < len) {
		/* 45 bytes encode to 60 characters: each word stays under 75 (RFC 2047 2). Cut
		 * only before a UTF-8 lead byte so no character is split across words. */
		size_t n = len - i > 45 ? 45 : len - i;
		unsigned char enc[64];

		while (n > 1 && i + n < len && ((unsigned char)prefix[i + n] & 0xc0) == 0x80)
			n--;
		EVP_EncodeBlock(enc, (const unsigned char *)prefix + i, (int)n);
		ob_fmt(b, "%s=?UTF-8?B?%s?=", i ? "\n " : "", (const char *)enc);
		i += n;
	}
}

int
as_challenge_mail_build(const struct as_challenge_mail *p, char **out, size_t *outlen,
    char *message_id, size_t idcap, char *err, size_t errcap)
{
	struct obuf b = { 0 };
	char date[64], expires[64], msgid[AS_MAIL_MSGID_MAX];
	const char *tpl = p->template_text != NULL ? p->template_text : as_challenge_default_template;
	const char *prefix = p->subject_prefix != NULL ? p->subject_prefix : "";
	int r = -1;

	*out = NULL;
	if (!header_address(p->enrol_address) || !header_address(p->mailbox)) {
		as_errf(err, errcap, "bad enrolment address or mailbox");
		goto out;
	}
	if (p->token == NULL || !as_token_wellformed(p->token, strlen(p->token))) {
		as_errf(err, errcap, "malformed token");
		goto out;
	}
	if (strlen(prefix) > AS_MAIL_PREFIX_MAX || !clean_text(prefix, strlen(prefix), false, false)) {
		as_errf(err, errcap, "bad challenge subject prefix");
		goto out;
	}
	if (as_mail_template_check(tpl, err, errcap) != 0)
		goto out;
	if (as_mail_date(p->now, date, sizeof(date)) != 0 ||
	    as_mail_date(p->expires, expires, sizeof(expires)) != 0 ||
	    as_mail_message_id(p->enrol_address, msgid, sizeof(msgid)) != 0 ||
	    strlen(msgid) >= idcap) {
		as_errf(err, errcap, "cannot make Date or Message-ID");
		goto out;
	}
	ob_fmt(&b, "From: %s\n", p->enrol_address);
	ob_fmt(&b, "Reply-To: %s\n", p->enrol_address);
	ob_fmt(&b, "To: %s\n", p->mailbox);
	ob_str(&b, "Subject: ");
	if (*prefix != '\0') {
		subject_prefix(&b, prefix);
		ob_str(&b, " ");
	}
	ob_fmt(&b, AS_ACME_MARKER " %s\n", p->token);
	ob_fmt(&b, "Date: %s\n", date);
	ob_fmt(&b, "Message-ID: %s\n", msgid);
	ob_str(&b, "Auto-Submitted: auto-generated; type=acme\n");
	ob_str(&b, "MIME-Version: 1.0\n");
	ob_str(&b, "Content-Type: text/plain; charset=utf-8\n");
	{
		const char *values[4] = { p->mailbox, p->enrol_address, expires, p->token };
		struct obuf body = { 0 };

		render(&body, tpl, values);
		text_part(&b, body.p != NULL ? body.p : "", body.n);
		if (body.fail)
			b.fail = true;
		ob_free(&body);
	}
	if (b.fail) {
		as_errf(err, errcap, "out of memory");
		goto out;
	}
	memcpy(message_id, msgid, strlen(msgid) + 1);
	*out = b.p;   /* transferred */
	*outlen = b.n;
	b.p = NULL;
	r = 0;
out:
	ob_free(&b);
	return r;
}

/* DER of a degenerate PKCS#7 SignedData that holds only certificates (RFC 8551 3.6). */
static int
certs_only(X509 *cert, STACK_OF(X509) *chain, unsigned char **der, int *derlen)
{
	PKCS7 *p7 = PKCS7_new();
	int r = -1;

	*der = NULL;
	if (p7 == NULL || PKCS7_set_type(p7, NID_pkcs7_signed) != 1 ||
	    PKCS7_content_new(p7, NID_pkcs7_data) != 1 || PKCS7_add_certificate(p7, cert) != 1)
		goto out;
	for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++)
		if (PKCS7_add_certificate(p7, sk_X509_value(chain, i)) != 1)
			goto out;
	*derlen = i2d_PKCS7(p7, der);
	if (*derlen <= 0)
		goto out;
	r = 0;
out:
	PKCS7_free(p7);
	return r;
}

static void
ob_base64(struct obuf *b, const unsigned char *d, size_t n)
{
	unsigned char line[80];

	for (size_t i = 0; i < n; i += 57) {
		int k = EVP_EncodeBlock(line, d + i, (int)(n - i > 57 ? 57 : n - i));

		ob_add(b, (const char *)line, (size_t)k);
		ob_str(b, "\n");
	}
}

static int
pem_of(X509 *cert, STACK_OF(X509) *chain, struct obuf *b)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int r = -1;

	if (mem == NULL || PEM_write_bio_X509(mem, cert) != 1)
		goto out;
	for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++)
		if (PEM_write_bio_X509(mem, sk_X509_value(chain, i)) != 1)
			goto out;
	n = BIO_get_mem_data(mem, &data);
	if (n <= 0)
		goto out;
	ob_add(b, data, (size_t)n);
	r = 0;
out:
	BIO_free(mem);
	return r;
}

int
as_confirm_mail_build(const struct as_confirm_mail *p, char **out, size_t *outlen,
    char *message_id, size_t idcap, char *err, size_t errcap)
{
	struct obuf b = { 0 };
	char date[64], until[64], msgid[AS_MAIL_MSGID_MAX], boundary[40];
	unsigned char rnd[12], *der = NULL;
	int derlen = 0, r = -1;
	const ASN1_TIME *na;
	struct tm tm;

	*out = NULL;
	if (!header_address(p->enrol_address) || !header_address(p->mailbox) || p->cert == NULL) {
		as_errf(err, errcap, "bad enrolment address, mailbox or certificate");
		goto out;
	}
	if (p->in_reply_to != NULL && (p->in_reply_to[0] != '<' ||
	    strlen(p->in_reply_to) >= AS_MAIL_MSGID_MAX ||
	    !clean_text(p->in_reply_to, strlen(p->in_reply_to), false, false) ||
	    strchr(p->in_reply_to, ' ') != NULL)) {
		as_errf(err, errcap, "bad In-Reply-To");
		goto out;
	}
	na = X509_get0_notAfter(p->cert);
	if (as_mail_date(p->now, date, sizeof(date)) != 0 || na == NULL ||
	    ASN1_TIME_to_tm(na, &tm) != 1 || as_mail_date(timegm(&tm), until, sizeof(until)) != 0 ||
	    as_mail_message_id(p->enrol_address, msgid, sizeof(msgid)) != 0 ||
	    strlen(msgid) >= idcap || RAND_bytes(rnd, sizeof(rnd)) != 1) {
		as_errf(err, errcap, "cannot make Date, Message-ID or boundary");
		goto out;
	}
	snprintf(boundary, sizeof(boundary), "=_autosmime_");
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(boundary + 12 + 2 * i, 3, "%02x", rnd[i]);
	if (certs_only(p->cert, p->chain, &der, &derlen) != 0) {
		as_errf(err, errcap, "cannot encode the certificate");
		goto out;
	}
	ob_fmt(&b, "From: %s\n", p->enrol_address);
	ob_fmt(&b, "To: %s\n", p->mailbox);
	ob_str(&b, "Subject: Your S/MIME certificate\n");
	ob_fmt(&b, "Date: %s\n", date);
	ob_fmt(&b, "Message-ID: %s\n", msgid);
	if (p->in_reply_to != NULL)
		ob_fmt(&b, "In-Reply-To: %s\nReferences: %s\n", p->in_reply_to, p->in_reply_to);
	ob_str(&b, "Auto-Submitted: auto-generated\n");
	ob_str(&b, "MIME-Version: 1.0\n");
	ob_fmt(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\n\n", boundary);
	ob_str(&b, "This is a message in MIME format.\n\n");
	ob_fmt(&b, "--%s\nContent-Type: text/plain; charset=utf-8\n", boundary);
	{
		struct obuf text = { 0 };

		ob_fmt(&text, "Hello,\n\nyour S/MIME certificate for %s has been issued; it is "
		    "valid\nuntil %s.\n\nThe mail you send through this gateway is signed "
		    "from now on.\nThe attachment smime.p7c (also as certificate.pem) holds your "
		    "certificate and\nthe certificates of the issuing CA; your mail program can "
		    "import them, but\nyou do not need to do anything.\n", p->mailbox, until);
		text_part(&b, text.p != NULL ? text.p : "", text.n);
		if (text.fail)
			b.fail = true;
		ob_free(&text);
	}
	ob_fmt(&b, "\n--%s\nContent-Type: application/pkcs7-mime; smime-type=certs-only; "
	    "name=\"smime.p7c\"\nContent-Transfer-Encoding: base64\n"
	    "Content-Disposition: attachment; filename=\"smime.p7c\"\n\n", boundary);
	ob_base64(&b, der, (size_t)derlen);
	ob_fmt(&b, "\n--%s\nContent-Type: application/x-pem-file; name=\"certificate.pem\"\n"
	    "Content-Transfer-Encoding: 7bit\n"
	    "Content-Disposition: attachment; filename=\"certificate.pem\"\n\n", boundary);
	if (pem_of(p->cert, p->chain, &b) != 0) {
		as_errf(err, errcap, "cannot encode the certificate as PEM");
		goto out;
	}
	ob_fmt(&b, "\n--%s--\n", boundary);
	if (b.fail) {
		as_errf(err, errcap, "out of memory");
		goto out;
	}
	memcpy(message_id, msgid, strlen(msgid) + 1);
	*out = b.p;   /* transferred */
	*outlen = b.n;
	b.p = NULL;
	r = 0;
out:
	OPENSSL_free(der);
	ob_free(&b);
	return r;
}
