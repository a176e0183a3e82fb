/*
 * reply_parse: find the challenge token candidates in an enrolment reply.
 *
 * Sources, reported separately so the caller can refuse a reply whose sources disagree:
 *  - the Subject (unfolded, RFC 2047 B/Q encoded-words decoded, any "Re:"/"AW:"/human prefix
 *    ignored): the token after "ACME:";
 *  - the body: the first text/plain part (or, when there is none, the first text/html part
 *    reduced to text) of the message or of nested multiparts, quoted-printable or base64
 *    decoded, "> " quote prefixes of any depth removed: the token after "ACME:", white space
 *    and line breaks inside the token ignored;
 *  - RFC 8823 response blocks in that body text: the token alone between
 *    "-----BEGIN ACME RESPONSE-----" and "-----END ACME RESPONSE-----".
 * A candidate is exactly AS_TOKEN_LEN base64url characters; longer runs are not candidates.
 * Everything is bounded (AS_REPLY_MAX_*); hostile input gives fewer candidates, never a crash.
 * Candidates are secrets: wipe the struct with as_reply_tokens_wipe and never log them.
 */
#ifndef AUTOSMIME_POLICY_REPLY_PARSE_H
#define AUTOSMIME_POLICY_REPLY_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/token.h"

#define AS_REPLY_MAX_HEADER (64 * 1024)   /* bytes of the header section read */
#define AS_REPLY_MAX_FIELD 8192           /* bytes of one unfolded header field kept */
#define AS_REPLY_MAX_BODY (512 * 1024)    /* bytes of the body read */
#define AS_REPLY_MAX_TEXT (256 * 1024)    /* bytes of decoded text scanned */
#define AS_REPLY_MAX_PARTS 64             /* MIME parts visited */
#define AS_REPLY_MAX_DEPTH 5              /* multipart nesting followed */
#define AS_REPLY_MAX_CANDIDATES 8         /* per source */
#define AS_REPLY_MSGID_MAX 256

/* The result of one parse; lifetime: the caller's, typically one message. */
struct as_reply_tokens {
	char subject[AS_REPLY_MAX_CANDIDATES][AS_TOKEN_LEN + 1];
	size_t n_subject;
	char body[AS_REPLY_MAX_CANDIDATES][AS_TOKEN_LEN + 1];
	size_t n_body;
	char block[AS_REPLY_MAX_CANDIDATES][AS_TOKEN_LEN + 1];
	size_t n_block;
	/* "<...>" or "": the reply's Message-ID, and the message it answers (In-Reply-To, else
	 * the last References entry). Hostile text: escape before logging. */
	char message_id[AS_REPLY_MSGID_MAX];
	char in_reply_to[AS_REPLY_MSGID_MAX];
	bool truncated;     /* a bound was reached; some text was not scanned */
};

/* Parse `len` bytes of a message (CRLF or LF line ends). Returns 0, or -1 on bad arguments or
 * when memory runs out (then `out` holds what was found so far). */
int as_reply_parse(const char *msg, size_t len, struct as_reply_tokens *out);

enum as_reply_verdict {
	AS_REPLY_NONE,      /* no candidate anywhere */
	AS_REPLY_ONE,       /* every source that has candidates agrees on one token */
	AS_REPLY_CONFLICT,  /* more than one distinct token: refuse the reply */
};

/* Combine the sources; on AS_REPLY_ONE copies the token (AS_TOKEN_LEN + 1 bytes). */
enum as_reply_verdict as_reply_pick(const struct as_reply_tokens *t,
    char token[AS_TOKEN_LEN + 1]);

void as_reply_tokens_wipe(struct as_reply_tokens *t);

#endif
