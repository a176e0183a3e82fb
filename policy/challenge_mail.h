/*
 * challenge_mail: the mail the gateway writes itself: the enrolment challenge (RFC 8823
 * conventions) and the confirmation that carries the new certificate and its chain.
 *
 * Messages are built in memory with LF line ends (what a local sendmail expects), ready for
 * as_sendmail_inject with "-t". Every header value is checked: a CR, LF or other control
 * character in an address or prefix refuses the build (no header injection).
 */
#ifndef AUTOSMIME_POLICY_CHALLENGE_MAIL_H
#define AUTOSMIME_POLICY_CHALLENGE_MAIL_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#define AS_MAIL_TEMPLATE_MAX (16 * 1024)
#define AS_MAIL_LINE_MAX 900        /* template lines; RFC 5322 allows 998 */
#define AS_MAIL_PREFIX_MAX 200
#define AS_MAIL_MSGID_MAX 256

/*
 * The built-in human text. Placeholders: {{mailbox}}, {{enrol_address}}, {{expires}} (an RFC
 * 5322 date), {{token}}. A template from challenge_template_file uses the same ones; {{token}}
 * is optional there (the Subject always carries it).
 */
extern const char as_challenge_default_template[];

/* Inputs of a challenge mail; strings borrowed for the call. */
struct as_challenge_mail {
	const char *enrol_address;   /* From and Reply-To; its domain names the Message-ID */
	const char *mailbox;         /* To */
	const char *token;           /* AS_TOKEN_LEN base64url characters */
	const char *subject_prefix;  /* NULL or "": none; UTF-8 is RFC 2047-encoded */
	const char *template_text;   /* NULL: as_challenge_default_template */
	time_t now;                  /* Date */
	time_t expires;
};

/*
 * Build the challenge mail: Subject "[prefix ]ACME: <token>", Auto-Submitted: auto-generated;
 * type=acme, Message-ID from 16 random bytes and the enrolment domain, Date, From, Reply-To,
 * To, MIME-Version, Content-Type text/plain; charset=utf-8. *out is malloc'd and NUL-
 * terminated; the Message-ID ("<...>") is copied to message_id for matching In-Reply-To.
 * The message holds the token: wipe it (as_wipe) before freeing. Returns 0 or -1 with err.
 */
int as_challenge_mail_build(const struct as_challenge_mail *p, char **out, size_t *outlen,
    char *message_id, size_t idcap, char *err, size_t errcap);

/* Inputs of a confirmation mail; borrowed. */
struct as_confirm_mail {
	const char *enrol_address;
	const char *mailbox;
	const char *in_reply_to;     /* NULL or a "<...>" id to thread the mail under */
	X509 *cert;
	STACK_OF(X509) *chain;       /* may be NULL */
	time_t now;
};

/*
 * Build the confirmation: multipart/mixed with a short text, the certificate and chain as
 * application/pkcs7-mime; smime-type=certs-only (smime.p7c), and the same as PEM
 * (certificate.pem). Returns 0 or -1 with err.
 */
int as_confirm_mail_build(const struct as_confirm_mail *p, char **out, size_t *outlen,
    char *message_id, size_t idcap, char *err, size_t errcap);

/* Read a template file: at most AS_MAIL_TEMPLATE_MAX bytes of UTF-8, lines short enough,
 * only known placeholders. Returns 0 with a malloc'd text, or -1 with err. */
int as_mail_template_load(const char *path, char **out, char *err, size_t errcap);

/* Check a template text the same way (also used on the built-in one by the tests). */
int as_mail_template_check(const char *text, char *err, size_t errcap);

/* "<32 hex digits@domain>" from the CSPRNG and the domain of `address`. Returns 0 or -1. */
int as_mail_message_id(const char *address, char *out, size_t cap);

/* RFC 5322 date in UTC, independent of the locale: "Thu, 20 Nov 2025 10:00:00 +0000". */
int as_mail_date(time_t t, char *out, size_t cap);

#endif
