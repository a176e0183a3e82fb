/*
 * fuzz_reply: the enrolment reply parser (subject and body, RFC 2047, quoted text, QP,
 * base64, HTML, ACME response blocks). Invariants: every candidate is exactly AS_TOKEN_LEN
 * base64url characters, no source holds more than its bound, and a reply that picks one token
 * picks a candidate of some source that every other source agrees with.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/reply_parse.h"
#include "tests/fuzz/fuzz.h"

#define die(what) fuzz_fail("fuzz_reply", (what))

static void
check_source(char (*c)[AS_TOKEN_LEN + 1], size_t n)
{
	if (n > AS_REPLY_MAX_CANDIDATES)
		die("more candidates than the bound");
	for (size_t i = 0; i < n; i++)
		if (!as_token_wellformed(c[i], strlen(c[i])))
			die("a candidate is not a token of the exact length");
}

static bool
agrees(char (*c)[AS_TOKEN_LEN + 1], size_t n, const char *token)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i], token) != 0)
			return false;
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct as_reply_tokens t;
	char token[AS_TOKEN_LEN + 1];

	memset(&t, 0, sizeof(t));
	if (as_reply_parse((const char *)data, size, &t) != 0)
		goto out;
	check_source(t.subject, t.n_subject);
	check_source(t.body, t.n_body);
	check_source(t.block, t.n_block);
	if (memchr(t.message_id, '\0', sizeof(t.message_id)) == NULL ||
	    memchr(t.in_reply_to, '\0', sizeof(t.in_reply_to)) == NULL)
		die("a message id is not terminated");
	switch (as_reply_pick(&t, token)) {
	case AS_REPLY_ONE:
		if (!as_token_wellformed(token, strlen(token)))
			die("the picked token has the wrong shape");
		if (t.n_subject + t.n_body + t.n_block == 0)
			die("a token was picked from no candidate");
		if (!agrees(t.subject, t.n_subject, token) || !agrees(t.body, t.n_body, token) ||
		    !agrees(t.block, t.n_block, token))
			die("one token picked although the sources disagree");
		break;
	case AS_REPLY_NONE:
		if (t.n_subject + t.n_body + t.n_block != 0)
			die("candidates found but none picked");
		break;
	case AS_REPLY_CONFLICT:
		break;
	}
out:
	as_reply_tokens_wipe(&t);
	return 0;
}
