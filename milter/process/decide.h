/*
 * decide: which outbound messages may be signed, as pure functions of the session facts, the
 * From: header and the configuration (no I/O, no libmilter, no crypto), so the decision table
 * is tested on its own.
 *
 * Outbound means: the client authenticated ({auth_authen}) or sits in internal_networks. Only
 * then, and only for a From: mailbox in local_domains that the session may use, is a message a
 * candidate for signing. An authenticated login may use its own address (login@first local
 * domain when the login has no '@') and the addresses the sender map gives it.
 */
#ifndef AUTOSMIME_MILTER_DECIDE_H
#define AUTOSMIME_MILTER_DECIDE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/conf.h"
#include "milter/process/sendermap.h"

#define DECIDE_MAX_ADDR 256

enum decide_verdict {
	DECIDE_NOT_OUTBOUND,       /* neither authenticated nor internal: untouched */
	DECIDE_NO_FROM,            /* missing, several or unparsable From: mailboxes */
	DECIDE_FOREIGN_FROM,       /* From: outside local_domains: untouched */
	DECIDE_UNAUTHORISED_FROM,  /* login may not use that From: passes unsigned, logged */
	DECIDE_ALREADY_SMIME,      /* never wrap signed or encrypted mail again */
	DECIDE_SIGN,               /* a candidate: sign if the sender has a certificate */
};

/* The facts of one message. Strings are borrowed. */
struct decide_input {
	const char *login;         /* {auth_authen}; NULL or "" when not authenticated */
	bool internal;             /* client address in internal_networks */
	const char *from;          /* From: mailbox from decide_from_mailbox, NULL when none */
	bool already_smime;
};

enum decide_verdict decide(const struct decide_input *in, const struct as_conf_list *local_domains,
    const struct sendermap *map);

/* A short word for logs: "not-outbound", "no-from", ... */
const char *decide_reason(enum decide_verdict v);

/* May this login send as `address`? */
bool decide_login_may_use(const char *login, const char *address,
    const struct as_conf_list *local_domains, const struct sendermap *map);

/* Is the domain of `address` one of local_domains? */
bool decide_is_local(const char *address, const struct as_conf_list *local_domains);

/*
 * The single mailbox of a From: header value ("Name <a@b>", "a@b (comment)", quoted local
 * parts, folded lines), written to out with the domain in lower case. Returns 0, or -1 when
 * the value has no mailbox, several, a group, a source route, or exceeds the bounds.
 */
int decide_from_mailbox(const char *value, char *out, size_t cap);

#endif
