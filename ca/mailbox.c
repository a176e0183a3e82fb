/*
 * mailbox: checks a mailbox address (hostile input) before it reaches a certificate or an index
 * key: dot-atom local part of ASCII atext or UTF-8 (RFC 6531), an ASCII LDH domain of at least
 * two labels, RFC 5321 lengths. Quoted local parts and address literals are refused. Owns nothing.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "ca/ca_int.h"

bool
ca_utf8_valid(const char *s, size_t maxlen)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, k;
	unsigned int cp;

	while (p[i] != '\0') {
		if (i >= maxlen)
			return false;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = p[i] & 0x1f;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = p[i] & 0x0f;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = p[i] & 0x07;
		} else
			return false;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		/* No overlong forms, surrogates, C1 controls or values past U+10FFFF. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp < 0xa0))
			return false;
		i += n + 1;
	}
	return true;
}

static bool
atext(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL) || c >= 0x80;
}

bool
ca_mailbox_ascii_local(const char *mailbox)
{
	const char *p;

	for (p = mailbox; *p != '\0' && *p != '@'; p++)
		if ((unsigned char)*p >= 0x80)
			return false;
	return true;
}

int
ca_mailbox_normalise(const char *mailbox, char *out, size_t cap, struct ca_error *err)
{
	const char *at, *p, *label;
	size_t len, local_len, i;

	if (mailbox == NULL || mailbox[0] == '\0') {
		ca_seterr(err, "mailbox is empty");
		return CA_INVALID;
	}
	len = strnlen(mailbox, CA_MAILBOX_MAX + 1);
	if (len > CA_MAILBOX_MAX || len + 1 > cap) {
		ca_seterr(err, "mailbox is longer than %d octets", CA_MAILBOX_MAX);
		return CA_INVALID;
	}
	if (!ca_utf8_valid(mailbox, len)) {
		ca_seterr(err, "mailbox is not valid UTF-8");
		return CA_INVALID;
	}
	at = strrchr(mailbox, '@');
	if (at == NULL || at == mailbox || strchr(mailbox, '@') != at) {
		ca_seterr(err, "mailbox must be local-part@domain");
		return CA_INVALID;
	}
	local_len = (size_t)(at - mailbox);
	if (local_len > 64) {
		ca_seterr(err, "mailbox local part is longer than 64 octets");
		return CA_INVALID;
	}
	for (i = 0; i < local_len; i++) {
		unsigned char c = (unsigned char)mailbox[i];

		if (c == '.' && i > 0 && i + 1 < local_len && mailbox[i + 1] != '.')
			continue;
		if (!atext(c)) {
			ca_seterr(err, "mailbox local part has a character that is not allowed");
			return CA_INVALID;
		}
	}
	/* Domain: LDH labels, two or more, none longer than 63. */
	p = at + 1;
	if (strlen(p) > 253 || strchr(p, '.') == NULL) {
		ca_seterr(err, "mailbox domain must be a fully qualified domain name");
		return CA_INVALID;
	}
	label = p;
	for (;; p++) {
		if (*p == '.' || *p == '\0') {
			size_t l = (size_t)(p - label);

			if (l == 0 || l > 63 || label[0] == '-' || p[-1] == '-') {
				ca_seterr(err, "mailbox domain has an invalid label");
				return CA_INVALID;
			}
			if (*p == '\0')
				break;
			label = p + 1;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-') {
			ca_seterr(err, "mailbox domain must be ASCII letters, digits and hyphens "
			    "(use A-labels)");
			return CA_INVALID;
		}
	}
	memcpy(out, mailbox, len + 1);
	for (i = local_len + 1; i < len; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	/* A UTF-8 local part goes into SmtpUTF8Mailbox, whose domain must be U-labels. */
	if (!ca_mailbox_ascii_local(out) && (strncmp(out + local_len + 1, "xn--", 4) == 0 ||
	    strstr(out + local_len, ".xn--") != NULL)) {
		ca_seterr(err, "a non-ASCII local part with an A-label domain is not supported");
		return CA_INVALID;
	}
	return CA_OK;
}

int
ca_mailbox_check(const char *mailbox, struct ca_error *err)
{
	char buf[CA_MAILBOX_MAX + 2];

	return ca_mailbox_normalise(mailbox, buf, sizeof(buf), err);
}
