/*
 * test_reply_parse: token candidates from a table of real-looking replies (Thunderbird,
 * Outlook, Apple Mail, mutt, webmail HTML), RFC 2047 subjects, QP and base64 bodies, the
 * RFC 8823 response block, Subject/body disagreement, bounds, and 1,000 generated hostile
 * inputs from a fixed seed.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "policy/reply_parse.h"
#include "tests/tap.h"

#define TA "Q2hhbGxlbmdlVG9rZW4tXzEy"
#define TB "Zm9vYmFyYmF6cXV4LV9hYmNk"

struct reply_case {
	const char *name;
	const char *msg;
	enum as_reply_verdict verdict;
	const char *token;
	int n_subject, n_body, n_block;   /* expected counts; -1 = don't care */
};

static const struct reply_case cases[] = {
	{ "Thunderbird: Re: subject, '> ' quoted body",
	  "From: Alice <alice@example.org>\n"
	  "To: enroll@gw.example\n"
	  "Subject: Re: ACME: " TA "\n"
	  "In-Reply-To: <abc.123@gw.example>\n"
	  "Message-ID: <reply-1@example.org>\n"
	  "Content-Type: text/plain; charset=UTF-8; format=flowed\n"
	  "Content-Transfer-Encoding: 7bit\n"
	  "\n"
	  "Yes please.\n\n"
	  "On 20.11.25 10:00, enroll@gw.example wrote:\n"
	  "> Reply to this mail to receive your certificate.\n"
	  ">\n"
	  "> ACME: " TA "\n",
	  AS_REPLY_ONE, TA, 1, 1, 0 },
	{ "Outlook: AW:, folded subject with prefix, multipart/alternative QP with soft break",
	  "From: \"Bob\" <bob@example.org>\r\n"
	  "Subject: AW: [Mail security]\r\n\tACME: " TA "\r\n"
	  "MIME-Version: 1.0\r\n"
	  "Content-Type: multipart/alternative;\r\n\tboundary=\"_000_XYZ_\"\r\n"
	  "\r\n"
	  "--_000_XYZ_\r\n"
	  "Content-Type: text/plain; charset=\"iso-8859-1\"\r\n"
	  "Content-Transfer-Encoding: quoted-printable\r\n"
	  "\r\n"
	  "Gr=FC=DFe\r\n"
	  "________________________________\r\n"
	  "Von: enroll@gw.example\r\n"
	  "Betreff: ACME: Q2hhbGxlbmdlVG9=\r\nrZW4tXzEy\r\n"
	  "\r\n"
	  "--_000_XYZ_\r\n"
	  "Content-Type: text/html; charset=\"iso-8859-1\"\r\n"
	  "\r\n"
	  "<html><body>ACME: " TB "</body></html>\r\n"
	  "--_000_XYZ_--\r\n",
	  AS_REPLY_ONE, TA, 1, 1, 0 },
	{ "Apple Mail: UTF-8 B-encoded subject, base64 body",
	  "Subject: =?utf-8?B?UmU6IEFDTUU6IFEyaGhiR3hsYm1kbFZHOXJaVzR0WHpFeQ==?=\n"
	  "Content-Type: text/plain; charset=utf-8\n"
	  "Content-Transfer-Encoding: base64\n"
	  "\n"
	  "%B64%\n",
	  AS_REPLY_ONE, TA, 1, 1, 0 },
	{ "mutt: nested '>' quoting, token wrapped over two quoted lines",
	  "Subject: Re: Fwd: ACME: " TA "\n"
	  "\n"
	  "* Carol <carol@example.org> [2025-11-20 10:00]:\n"
	  ">> > ACME: Q2hhbGxlbmdl\n"
	  ">> > VG9rZW4tXzEy\n",
	  AS_REPLY_ONE, TA, 1, 1, 0 },
	{ "ISO-8859-1 Q-encoded subject with accented prefix",
	  "Subject: =?ISO-8859-1?Q?R=E9f=2E=3A_S=E9curit=E9?= ACME: " TA "\n"
	  "\n"
	  "merci\n",
	  AS_REPLY_ONE, TA, 1, 0, 0 },
	{ "token split over two adjacent encoded-words",
	  "Subject: =?utf-8?q?Re=3A_ACME=3A_Q2hhbGxlbm?=\n =?utf-8?q?dlVG9rZW4tXzEy?=\n"
	  "\n"
	  "ok\n",
	  AS_REPLY_ONE, TA, 1, 0, 0 },
	{ "webmail HTML-only reply with tags inside the token",
	  "Subject: Re: your certificate\n"
	  "Content-Type: text/html; charset=utf-8\n"
	  "Content-Transfer-Encoding: quoted-printable\n"
	  "\n"
	  "<html><head><style>p{color:red}</style></head><body><div>Yes</div>\n"
	  "<blockquote type=3D\"cite\">ACME:&nbsp;<b>Q2hhbGxlbmdl</b>VG9rZW4tXzEy</blockquote>\n"
	  "</body></html>\n",
	  AS_REPLY_ONE, TA, 0, 1, 0 },
	{ "RFC 8823 response block only",
	  "Subject: Re: challenge\n"
	  "\n"
	  "-----BEGIN ACME RESPONSE-----\n"
	  TA "\n"
	  "-----END ACME RESPONSE-----\n",
	  AS_REPLY_ONE, TA, 0, 0, 1 },
	{ "RFC 8823 block quoted and wrapped",
	  "Subject: Re: ACME: " TA "\n"
	  "\n"
	  "> -----BEGIN ACME RESPONSE-----\n"
	  "> Q2hhbGxlbmdlVG9r\n"
	  "> ZW4tXzEy\n"
	  "> -----END ACME RESPONSE-----\n",
	  AS_REPLY_ONE, TA, 1, 0, 1 },
	{ "RFC 8823 block with junk is not a candidate",
	  "Subject: Re: x\n"
	  "\n"
	  "-----BEGIN ACME RESPONSE-----\n"
	  TA " and more\n"
	  "-----END ACME RESPONSE-----\n",
	  AS_REPLY_NONE, NULL, 0, 0, 0 },
	{ "Subject and body carry different tokens",
	  "Subject: Re: ACME: " TA "\n"
	  "\n"
	  "> ACME: " TB "\n",
	  AS_REPLY_CONFLICT, NULL, 1, 1, 0 },
	{ "Subject and response block disagree",
	  "Subject: Re: ACME: " TA "\n"
	  "\n"
	  "-----BEGIN ACME RESPONSE-----\n" TB "\n-----END ACME RESPONSE-----\n",
	  AS_REPLY_CONFLICT, NULL, 1, 0, 1 },
	{ "no token at all",
	  "Subject: Re: hello\n\nthanks\n",
	  AS_REPLY_NONE, NULL, 0, 0, 0 },
	{ "a longer run after ACME: is not a token",
	  "Subject: ACME: " TA "X\n\nACME: " TA "abc\n",
	  AS_REPLY_NONE, NULL, 0, 0, 0 },
	{ "a shorter run is not a token",
	  "Subject: ACME: Q2hhbGxl\n\n",
	  AS_REPLY_NONE, NULL, 0, 0, 0 },
	{ "spaces inside the token, lower-case marker",
	  "Subject: Re\n\nacme: Q2hh bGxl bmdl VG9r ZW4t XzEy\n",
	  AS_REPLY_ONE, TA, 0, 1, 0 },
	{ "nested multipart/mixed > alternative > base64 text/plain",
	  "Subject: Re: ACME: " TA "\n"
	  "MIME-Version: 1.0\n"
	  "Content-Type: multipart/mixed; boundary=outer\n"
	  "\n"
	  "preamble\n"
	  "--outer\n"
	  "Content-Type: multipart/alternative; boundary=\"in ner\"\n"
	  "\n"
	  "--in ner\n"
	  "Content-Type: text/plain\n"
	  "Content-Transfer-Encoding: BASE64\n"
	  "\n"
	  "%B64%\n"
	  "--in ner--\n"
	  "--outer\n"
	  "Content-Type: application/pdf\n"
	  "\n"
	  "ACME: " TB "\n"
	  "--outer--\n",
	  AS_REPLY_ONE, TA, 1, 1, 0 },
	{ "multipart without boundary: no body candidates",
	  "Subject: Re: ACME: " TA "\n"
	  "Content-Type: multipart/mixed\n"
	  "\n"
	  "ACME: " TB "\n",
	  AS_REPLY_ONE, TA, 1, 0, 0 },
	{ "header section without a body",
	  "Subject: Re: ACME: " TA,
	  AS_REPLY_ONE, TA, 1, 0, 0 },
	{ "the same token twice counts once",
	  "Subject: Re: ACME: " TA "\n\n> ACME: " TA "\n> > ACME: " TA "\n",
	  AS_REPLY_ONE, TA, 1, 1, 0 },
};

/* "%B64%" in a case is replaced by base64 of a quoted body that carries TA. */
static char *
expand(const char *msg)
{
	static const char plain[] = "Sure.\n\nAm 20.11.2025 um 10:00 schrieb enroll@gw.example:\n"
	    "> Reply to this mail.\n> ACME: " TA "\n";
	unsigned char b64[256];
	const char *at = strstr(msg, "%B64%");
	char *out;
	int n;

	if (at == NULL)
		return strdup(msg);
	n = EVP_EncodeBlock(b64, (const unsigned char *)plain, (int)strlen(plain));
	out = malloc(strlen(msg) + (size_t)n + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, msg, (size_t)(at - msg));
	memcpy(out + (at - msg), b64, (size_t)n);
	strcpy(out + (at - msg) + n, at + 5);
	return out;
}

static uint32_t rng_state = 12345;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static const char *const frags[] = {
	"Subject: ", "ACME: ", TA, "\n", "\r\n", " ", "\t", "=?", "?=", "?B?", "?Q?", "=?utf-8?b?",
	"Content-Type: multipart/mixed; boundary=b\n", "--b\n", "--b--\n", "\n\n", "=\n", "=3",
	"Content-Transfer-Encoding: base64\n", "Content-Transfer-Encoding: quoted-printable\n",
	"Content-Type: text/html\n", "<", ">", "<!--", "&nbsp;", "> ", ">>>>>>>>",
	AS_ACME_BEGIN, AS_ACME_END, "In-Reply-To: <", "References: <a@b> <", "Message-ID: ",
	"Content-Type: multipart/alternative; boundary=\"", "\"", ";", "boundary=", "--",
};

/* One generated input: structured fragments mixed with random bytes. */
static size_t
generate(char *buf, size_t cap)
{
	size_t len = 0, target = rng() % cap;

	while (len < target) {
		if (rng() % 3 == 0) {
			buf[len++] = (char)(rng() & 0xff);
		} else {
			const char *f = frags[rng() % (sizeof(frags) / sizeof(frags[0]))];
			size_t n = strlen(f);

			if (len + n > cap)
				break;
			memcpy(buf + len, f, n);
			len += n;
		}
	}
	return len;
}

int
main(void)
{
	struct as_reply_tokens t;
	char tok[AS_TOKEN_LEN + 1];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct reply_case *c = &cases[i];
		char *msg = expand(c->msg);
		enum as_reply_verdict v;
		bool ok;

		if (msg == NULL || as_reply_parse(msg, strlen(msg), &t) != 0) {
			tap_ok(0, "%s: parse", c->name);
			free(msg);
			continue;
		}
		v = as_reply_pick(&t, tok);
		ok = v == c->verdict && (c->token == NULL || strcmp(tok, c->token) == 0) &&
		    (c->n_subject < 0 || (size_t)c->n_subject == t.n_subject) &&
		    (c->n_body < 0 || (size_t)c->n_body == t.n_body) &&
		    (c->n_block < 0 || (size_t)c->n_block == t.n_block);
		tap_ok(ok, "%s (verdict %d, subject %zu, body %zu, block %zu)", c->name, (int)v,
		    t.n_subject, t.n_body, t.n_block);
		as_reply_tokens_wipe(&t);
		free(msg);
	}

	/* Message ids for the caller's In-Reply-To check. */
	{
		const char *m = "Message-ID:\n <r1@example.org>\nReferences: <c0@gw.example>\n"
		    " <c1@gw.example>\nSubject: x\n\n";
		as_reply_parse(m, strlen(m), &t);
		tap_ok(strcmp(t.message_id, "<r1@example.org>") == 0, "Message-ID: %s", t.message_id);
		tap_ok(strcmp(t.in_reply_to, "<c1@gw.example>") == 0,
		    "no In-Reply-To: the last References entry: %s", t.in_reply_to);
		m = "In-Reply-To: <c2@gw.example> (challenge)\nReferences: <c1@gw.example>\n\n";
		as_reply_parse(m, strlen(m), &t);
		tap_ok(strcmp(t.in_reply_to, "<c2@gw.example>") == 0, "In-Reply-To wins: %s",
		    t.in_reply_to);
		m = "In-Reply-To: <c2@gw\x01.example>\n\n";
		as_reply_parse(m, strlen(m), &t);
		tap_ok(t.in_reply_to[0] == '\0', "an id with a control byte is dropped");
	}

	/* Bounds: a huge subject, a huge body, too many candidates, deep nesting. */
	{
		size_t n = 2 * 1024 * 1024;
		char *big = malloc(n + 1);
		size_t o = 0;

		o += (size_t)sprintf(big, "Subject: ");
		while (o < 100000)
			big[o++] = 'x';
		o += (size_t)sprintf(big + o, " ACME: %s\n\n", TA);
		while (o + 40 < n)
			o += (size_t)sprintf(big + o, "> > ACME: %s\n", TA);
		big[o] = '\0';
		tap_ok(as_reply_parse(big, o, &t) == 0 && t.truncated && t.n_subject == 0 &&
		    t.n_body == 1, "a 100 kB subject is cut (token past the bound unseen), 2 MB body ok");

		o = (size_t)sprintf(big, "Subject: x\n\n");
		for (int i = 0; i < 50; i++) {
			char tk[AS_TOKEN_LEN + 1];

			snprintf(tk, sizeof(tk), "%s", TA);
			tk[0] = (char)('A' + i % 26);
			tk[1] = (char)('a' + i / 26);
			o += (size_t)sprintf(big + o, "ACME: %s\n", tk);
		}
		tap_ok(as_reply_parse(big, o, &t) == 0 && t.n_body == AS_REPLY_MAX_CANDIDATES &&
		    t.truncated && as_reply_pick(&t, tok) == AS_REPLY_CONFLICT,
		    "50 distinct tokens: at most %d kept, conflict", AS_REPLY_MAX_CANDIDATES);

		o = (size_t)sprintf(big, "Content-Type: multipart/mixed; boundary=b0\n\n");
		for (int i = 0; i < 20; i++)
			o += (size_t)sprintf(big + o, "--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n",
			    i, i + 1);
		o += (size_t)sprintf(big + o, "--b20\nContent-Type: text/plain\n\nACME: %s\n", TA);
		tap_ok(as_reply_parse(big, o, &t) == 0 && t.n_body == 0 && t.truncated,
		    "nesting deeper than %d is not followed", AS_REPLY_MAX_DEPTH);
		free(big);
	}
	tap_ok(as_reply_parse(NULL, 0, &t) == -1 && as_reply_parse("", 0, NULL) == -1,
	    "NULL arguments are refused");
	tap_ok(as_reply_parse("", 0, &t) == 0 && as_reply_pick(&t, tok) == AS_REPLY_NONE,
	    "an empty message has no token");

	/* Hostile input: 1,000 generated messages, each in its own exact-size heap block. */
	{
		char *buf = malloc(16384);
		size_t found = 0;
		int i;

		for (i = 0; i < 1000; i++) {
			size_t n = generate(buf, 16384);
			char *exact = malloc(n ? n : 1);

			memcpy(exact, buf, n);
			if (as_reply_parse(exact, n, &t) != 0)
				break;
			found += t.n_subject + t.n_body + t.n_block;
			as_reply_pick(&t, tok);
			free(exact);
		}
		tap_ok(i == 1000, "1,000 generated hostile inputs parsed without a crash (%zu candidates)",
		    found);
		free(buf);
	}
	return tap_done();
}
