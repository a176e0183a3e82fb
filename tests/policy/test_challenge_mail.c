/*
 * test_challenge_mail: the challenge and confirmation mail (headers present and well-formed,
 * RFC 8823 subject, template checks, header injection refused, certs-only attachment readable
 * by openssl) and injection through a real sendmail-compatible command (a script that stores
 * its standard input and arguments), with failure, timeout and early-exit cases.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/util.h"
#include "policy/challenge_mail.h"
#include "policy/reply_parse.h"
#include "policy/sendmail.h"
#include "policy/token.h"
#include "tests/tap.h"

static char dir[] = "/tmp/autosmime-mailtest.XXXXXX";

/* The value of the first header `name` in the header section, or NULL. */
static char *
header(const char *msg, const char *name)
{
	static char val[1024];
	size_t nl = strlen(name);
	const char *p = msg;

	while (*p != '\0' && *p != '\n') {
		const char *e = strchr(p, '\n');

		if (e == NULL)
			break;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			size_t n = (size_t)(e - p) - nl - 2;
			if (n >= sizeof(val))
				n = sizeof(val) - 1;
			memcpy(val, p + nl + 2, n);
			val[n] = '\0';
			return val;
		}
		p = e + 1;
	}
	return NULL;
}

static bool
headers_wellformed(const char *msg)
{
	const char *p = msg;

	while (*p != '\n') {
		const char *e = strchr(p, '\n');
		const char *colon;

		if (e == NULL || (size_t)(e - p) > 998)
			return false;
		if (*p != ' ' && *p != '\t') {
			colon = memchr(p, ':', (size_t)(e - p));
			if (colon == NULL || colon == p)
				return false;
			for (const char *q = p; q < colon; q++)
				if (*q <= 32 || *q >= 127)
					return false;
		}
		for (const char *q = p; q < e; q++)
			if ((unsigned char)*q < 32 && *q != '\t')
				return false;
		p = e + 1;
	}
	return true;
}

static char *
slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "r");
	char *buf = malloc(1 << 20);

	*n = 0;
	if (fp != NULL) {
		*n = fread(buf, 1, (1 << 20) - 1, fp);
		fclose(fp);
	}
	buf[*n] = '\0';
	return buf;
}

static X509 *
make_cert(EVP_PKEY **keyp)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"alice@example.org",
	    -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
	X509_set_pubkey(x, key);
	X509_sign(x, key, EVP_sha256());
	X509_NAME_free(n);
	*keyp = key;
	return x;
}

int
main(void)
{
	char tok[AS_TOKEN_LEN + 1], msgid[AS_MAIL_MSGID_MAX], err[512] = "", path[256], cmd[512];
	unsigned char hash[AS_TOKEN_HASH_LEN];
	struct as_challenge_mail cm = { 0 };
	char *msg = NULL, *v;
	size_t len = 0;
	time_t now = 1763632800; /* Thu, 20 Nov 2025 10:00:00 +0000 */

	if (mkdtemp(dir) == NULL)
		tap_skip_all("mkdtemp failed");
	as_token_new(tok, sizeof(tok), hash);
	cm.enrol_address = "enroll@gw.example";
	cm.mailbox = "alice@example.org";
	cm.token = tok;
	cm.subject_prefix = "[Mail security]";
	cm.now = now;
	cm.expires = now + 86400;

	tap_ok(as_mail_template_check(as_challenge_default_template, err, sizeof(err)) == 0,
	    "the built-in template passes its own checks");
	tap_ok(as_challenge_mail_build(&cm, &msg, &len, msgid, sizeof(msgid), err, sizeof(err)) == 0,
	    "challenge mail builds %s", err);
	tap_ok(headers_wellformed(msg), "headers are well-formed");
	v = header(msg, "Subject");
	snprintf(path, sizeof(path), "[Mail security] ACME: %s", tok);
	tap_ok(v != NULL && strcmp(v, path) == 0, "Subject: [prefix] ACME: <token>");
	v = header(msg, "Auto-Submitted");
	tap_ok(v != NULL && strcmp(v, "auto-generated; type=acme") == 0, "Auto-Submitted");
	tap_ok((v = header(msg, "From")) && strcmp(v, "enroll@gw.example") == 0 &&
	    (v = header(msg, "Reply-To")) && strcmp(v, "enroll@gw.example") == 0 &&
	    (v = header(msg, "To")) && strcmp(v, "alice@example.org") == 0, "From, Reply-To, To");
	v = header(msg, "Date");
	tap_ok(v != NULL && strcmp(v, "Thu, 20 Nov 2025 10:00:00 +0000") == 0, "Date: %s", v);
	v = header(msg, "Message-ID");
	tap_ok(v != NULL && strcmp(v, msgid) == 0 && msgid[0] == '<' &&
	    strstr(msgid, "@gw.example>") != NULL && strlen(msgid) == 1 + 32 + 10 + 11 + 1,
	    "Message-ID from random bytes and the enrolment domain: %s", msgid);
	tap_ok((v = header(msg, "MIME-Version")) && strcmp(v, "1.0") == 0 &&
	    (v = header(msg, "Content-Type")) && strcmp(v, "text/plain; charset=utf-8") == 0,
	    "MIME-Version and Content-Type");
	tap_ok(strstr(msg, "\n\nHello,\n") != NULL && strstr(msg, "alice@example.org, so that") &&
	    strstr(msg, "expires on Fri, 21 Nov 2025 10:00:00 +0000") && strstr(msg, "{{") == NULL,
	    "body from the template with substitutions");
	{
		struct as_reply_tokens t;
		char got[AS_TOKEN_LEN + 1];

		as_reply_parse(msg, len, &t);
		tap_ok(as_reply_pick(&t, got) == AS_REPLY_ONE && as_token_check(got, strlen(got), hash),
		    "the challenge parsed as a reply yields its own token");
	}
	{
		char msgid2[AS_MAIL_MSGID_MAX], *m2 = NULL;
		size_t l2;

		as_challenge_mail_build(&cm, &m2, &l2, msgid2, sizeof(msgid2), err, sizeof(err));
		tap_ok(m2 != NULL && strcmp(msgid, msgid2) != 0, "every challenge has its own Message-ID");
		as_wipe(m2, l2);
		free(m2);
	}

	/* Refusals: header injection and bad templates. */
	{
		struct as_challenge_mail bad = cm;
		char *m = NULL;
		size_t l;

		bad.mailbox = "alice@example.org\nBcc: victim@example.net";
		tap_ok(as_challenge_mail_build(&bad, &m, &l, msgid, sizeof(msgid), err, sizeof(err)) == -1,
		    "a line break in the mailbox is refused");
		bad = cm;
		bad.subject_prefix = "x\r\nBcc: y";
		tap_ok(as_challenge_mail_build(&bad, &m, &l, msgid, sizeof(msgid), err, sizeof(err)) == -1,
		    "a line break in the prefix is refused");
		bad = cm;
		bad.enrol_address = "Enrol <enroll@gw.example>";
		tap_ok(as_challenge_mail_build(&bad, &m, &l, msgid, sizeof(msgid), err, sizeof(err)) == -1,
		    "a display name in the enrolment address is refused");
		bad = cm;
		bad.template_text = "Hi {{name}}\n";
		tap_ok(as_challenge_mail_build(&bad, &m, &l, msgid, sizeof(msgid), err, sizeof(err)) == -1,
		    "an unknown placeholder is refused: %s", err);
		bad = cm;
		bad.token = "not-a-token";
		tap_ok(as_challenge_mail_build(&bad, &m, &l, msgid, sizeof(msgid), err, sizeof(err)) == -1,
		    "a malformed token is refused");
		bad = cm;
		bad.subject_prefix = "[Sicherheit f\xc3\xbcr E-Mail \xe2\x80\x93 Zertifikat]";
		bad.template_text = "Gr\xc3\xbc\xc3\x9f" "e {{mailbox}}\n";
		tap_ok(as_challenge_mail_build(&bad, &m, &l, msgid, sizeof(msgid), err, sizeof(err)) == 0 &&
		    strstr(m, "Subject: =?UTF-8?B?") != NULL && strstr(m, "?= ACME: ") != NULL &&
		    strstr(m, "Content-Transfer-Encoding: 8bit") != NULL && headers_wellformed(m),
		    "a UTF-8 prefix is RFC 2047-encoded, a UTF-8 body is 8bit");
		{
			struct as_reply_tokens t;
			char got[AS_TOKEN_LEN + 1];

			as_reply_parse(m, l, &t);
			tap_ok(as_reply_pick(&t, got) == AS_REPLY_ONE && strcmp(got, tok) == 0,
			    "the encoded subject still yields the token");
		}
		free(m);
	}
	{
		/* Lines that mbox delivery or a relay would change go quoted-printable, so the
		 * gateway's signature survives them; decoded, the text is the template's. */
		struct as_challenge_mail qp = cm;
		char *m, want[400], got[400];
		size_t l, gn = 0;
		const char *body, *q;
		bool fragile_left = false;

		qp.template_text = "From the IT team: {{mailbox}} \nx=y\t\ngr\xc3\xbc\xc3\x9f" "e\n"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
		snprintf(want, sizeof(want), "From the IT team: %s \nx=y\t\ngr\xc3\xbc\xc3\x9f" "e\n"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		    cm.mailbox);
		tap_ok(as_challenge_mail_build(&qp, &m, &l, msgid, sizeof(msgid), err, sizeof(err)) == 0 &&
		    strstr(m, "Content-Transfer-Encoding: quoted-printable\n\n") != NULL,
		    "a template with a \"From \" line, trailing white space or a long line is "
		    "quoted-printable");
		body = strstr(m, "\n\n") + 2;
		for (q = body; *q != '\0';) {
			const char *e = strchr(q, '\n');
			size_t n = e != NULL ? (size_t)(e - q) : strlen(q);

			if (n > 76 || strncmp(q, "From ", 5) == 0 || (n > 0 && (q[n - 1] == ' ' ||
			    q[n - 1] == '\t')))
				fragile_left = true;
			q += n + (e != NULL);
		}
		tap_ok(!fragile_left, "no encoded line starts with \"From \", ends in white space "
		    "or is longer than 76");
		for (q = body; *q != '\0' && gn + 1 < sizeof(got); q++) {
			unsigned int hex;

			if (*q == '=' && q[1] == '\n') {
				q++;
			} else if (*q == '=' && sscanf(q + 1, "%2X", &hex) == 1) {
				got[gn++] = (char)hex;
				q += 2;
			} else {
				got[gn++] = *q;
			}
		}
		got[gn] = '\0';
		tap_ok(strcmp(got, want) == 0, "decoded, the body is the rendered template byte for byte");
		free(m);
	}
	{
		FILE *fp;
		char *t = NULL;

		snprintf(path, sizeof(path), "%s/template", dir);
		fp = fopen(path, "w");
		fputs("Reply to get a certificate for {{mailbox}}.\n", fp);
		fclose(fp);
		tap_ok(as_mail_template_load(path, &t, err, sizeof(err)) == 0 && t != NULL,
		    "template file loads");
		free(t);
		fp = fopen(path, "w");
		for (int i = 0; i < 1000; i++)
			fputs("0123456789abcdefghijklmnopqrstuvwxyz", fp);
		fclose(fp);
		tap_ok(as_mail_template_load(path, &t, err, sizeof(err)) == -1,
		    "a template with a 36,000-byte line is refused: %s", err);
	}

	/* Injection through a real command. */
	{
		char script[256], args[256], stored[256], *got;
		FILE *fp;
		size_t gn;
		const char *extra[] = { "-f", "enroll@gw.example", NULL };

		snprintf(script, sizeof(script), "%s/fake sendmail", dir);
		snprintf(args, sizeof(args), "%s/args", dir);
		snprintf(stored, sizeof(stored), "%s/msg", dir);
		fp = fopen(script, "w");
		fprintf(fp, "#!/bin/sh\nprintf '%%s\\n' \"$@\" > '%s'\ncat > '%s'\n"
		    "[ -n \"$FAKE_EXIT\" ] && { echo 'queue file write error' >&2; exit $FAKE_EXIT; }\n"
		    "exit 0\n", args, stored);
		fclose(fp);
		chmod(script, 0700);
		snprintf(cmd, sizeof(cmd), "'%s' -i -t", script);
		tap_ok(as_sendmail_inject(cmd, extra, msg, len, 10000, err, sizeof(err)) == 0,
		    "injected through the script %s", err);
		got = slurp(stored, &gn);
		tap_ok(gn == len && memcmp(got, msg, len) == 0, "the command got the message byte for byte");
		free(got);
		got = slurp(args, &gn);
		tap_ok(strcmp(got, "-i\n-t\n-f\nenroll@gw.example\n") == 0,
		    "arguments split without a shell, extra arguments appended");
		free(got);
		setenv("FAKE_EXIT", "75", 1);
		tap_ok(as_sendmail_inject(cmd, NULL, msg, len, 10000, err, sizeof(err)) == -1 &&
		    strstr(err, "status 75") && strstr(err, "queue file write error"),
		    "a non-zero exit is a failure: %s", err);
		unsetenv("FAKE_EXIT");
		tap_ok(as_sendmail_inject("/bin/sleep 5", NULL, "x\n", 2, 300, err, sizeof(err)) == -1 &&
		    strstr(err, "timed out") != NULL, "a hanging command is killed: %s", err);
		{
			size_t bn = 4 << 20;
			char *big = malloc(bn);

			memset(big, 'a', bn);
			tap_ok(as_sendmail_inject("/bin/true", NULL, big, bn, 10000, err, sizeof(err)) == -1,
			    "a command that exits without reading: failure, no SIGPIPE: %s", err);
			free(big);
		}
		tap_ok(as_sendmail_inject("/nonexistent/sendmail -t", NULL, msg, len, 5000, err,
		    sizeof(err)) == -1, "a missing command fails: %s", err);
		tap_ok(as_sendmail_inject("sendmail -t", NULL, msg, len, 5000, err, sizeof(err)) == -1,
		    "a relative command is refused: %s", err);
	}
	{
		char **argv = NULL;

		tap_ok(as_sendmail_split("/usr/sbin/sendmail -C \"/etc/post fix\" -f 'a b' x\\ y;rm",
		    &argv, err, sizeof(err)) == 0 && strcmp(argv[2], "/etc/post fix") == 0 &&
		    strcmp(argv[4], "a b") == 0 && strcmp(argv[5], "x y;rm") == 0 && argv[6] == NULL,
		    "split: quotes and escapes, ';' is literal");
		as_sendmail_argv_free(argv);
		tap_ok(as_sendmail_split("/x 'open", &argv, err, sizeof(err)) == -1,
		    "an unterminated quote is refused");
		tap_ok(as_sendmail_split("/x a\tb\nc", &argv, err, sizeof(err)) == -1,
		    "a line break is refused");
		tap_ok(as_sendmail_split("", &argv, err, sizeof(err)) == -1, "empty is refused");
		{
			char many[400] = "/x";
			for (int i = 0; i < 40; i++)
				strcat(many, " a");
			tap_ok(as_sendmail_split(many, &argv, err, sizeof(err)) == -1,
			    "more than %d words are refused", AS_SENDMAIL_MAX_ARGS);
		}
	}

	/* Confirmation with the certificate. */
	{
		EVP_PKEY *key = NULL;
		X509 *cert = make_cert(&key);
		struct as_confirm_mail conf = { "enroll@gw.example", "alice@example.org",
			"<reply-1@example.org>", cert, NULL, now };
		char *m = NULL, p7[256], cmdline[600];
		size_t l = 0;
		FILE *fp;
		int rc;

		tap_ok(as_confirm_mail_build(&conf, &m, &l, msgid, sizeof(msgid), err, sizeof(err)) == 0 &&
		    headers_wellformed(m), "confirmation mail builds %s", err);
		tap_ok(strstr(m, "Content-Type: application/pkcs7-mime; smime-type=certs-only") != NULL &&
		    strstr(m, "-----BEGIN CERTIFICATE-----") != NULL &&
		    strstr(m, "In-Reply-To: <reply-1@example.org>") != NULL,
		    "certs-only and PEM attachments, threaded under the reply");
		/* Cut the base64 part out and let openssl read it. */
		{
			const char *s = strstr(m, "filename=\"smime.p7c\"\n\n");
			const char *e = s ? strstr(s, "\n\n--") : NULL;

			snprintf(p7, sizeof(p7), "%s/smime.p7c.b64", dir);
			fp = fopen(p7, "w");
			if (s != NULL && e != NULL)
				fwrite(s + 22, 1, (size_t)(e - s - 22) + 1, fp);
			fclose(fp);
			snprintf(cmdline, sizeof(cmdline), "openssl base64 -d -in '%s' | openssl pkcs7 "
			    "-inform DER -print_certs -noout 2>&1 | grep -q 'subject=CN *= *alice@example.org'", p7);
			rc = system(cmdline);
		}
		tap_ok(rc == 0, "openssl pkcs7 reads the certs-only attachment");
		free(m);
		conf.in_reply_to = "<x>\nBcc: y";
		tap_ok(as_confirm_mail_build(&conf, &m, &l, msgid, sizeof(msgid), err, sizeof(err)) == -1,
		    "a hostile In-Reply-To is refused");
		X509_free(cert);
		EVP_PKEY_free(key);
	}
	as_wipe(msg, len);
	free(msg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	return tap_done();
}
