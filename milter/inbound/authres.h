/*
 * authres: the Authentication-Results header field (RFC 8601) for the smime method (RFC 7281):
 * recognising fields that claim our authserv-id (forged when they arrive from outside), and
 * formatting our own result. Pure string work; no I/O, no OpenSSL.
 */
#ifndef AUTOSMIME_AUTHRES_H
#define AUTOSMIME_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#define AUTHRES_HEADER "Authentication-Results"
#define AUTHRES_MAX_VALUE 2048

/* RFC 7281 section 3 result words (RFC 8601 2.7 semantics). */
enum authres_result { AUTHRES_NONE, AUTHRES_PASS, AUTHRES_FAIL, AUTHRES_NEUTRAL,
	AUTHRES_POLICY, AUTHRES_TEMPERROR, AUTHRES_PERMERROR };

const char *authres_result_word(enum authres_result r);

/*
 * Does an Authentication-Results value (as received, possibly folded, with comments) name
 * `authserv_id` as its authserv-id? Compared case-insensitively, as domain names are.
 */
bool authres_claims(const char *value, const char *authserv_id);

/* The facts of one smime result; strings may be NULL or empty (then left out). */
struct authres_smime {
	enum authres_result result;
	const char *reason;       /* free text, put in reason="..." */
	const char *identifier;   /* body.smime-identifier: the signer's mailbox */
	const char *serial;       /* body.smime-serial: hex */
	const char *issuer;       /* body.smime-issuer: one-line issuer DN */
};

/*
 * Write "<authserv-id>; smime=<result> reason=\"...\" body.smime-identifier=..." to out.
 * Folded with LF + TAB (what libmilter expects). Hostile text (reason, issuer) is quoted with control characters, quotes and backslashes
 * replaced, and cut so the whole value fits `cap`. Returns 0, or -1 when the id is unusable.
 */
int authres_format(char *out, size_t cap, const char *authserv_id, const struct authres_smime *r);

#endif
