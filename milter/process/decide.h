/*
 * decide: which outbound messages may be signed, as pure functions of the session facts, the
 * From: header and the configuration (no I/O, no libmilter, no crypto), so the decision table
 * is tested on its own.
 *
 * Outbound means: the client authenticated ({auth_authen}), sits in internal_networks, or the
 * mail was posted locally (sendmail(1), which Postfix hands to non_smtpd_milters with a client
 * port of 0, something no TCP client has). Only then, and only for a From: mailbox in
 * local_domains that the gateway can attribute to the submitter, is a message a candidate for
 * signing, since a signature states the sender's identity:
 *   - an authenticated login may use its own address (login@first local domain when the login
 *     has no '@') and the addresses the sender map gives it;
 *   - unauthenticated mail from an internal network only the addresses network_sender_map_file
 *     lists for a network holding the client;
 *   - locally posted mail nothing, unless local_submission_attribution is envelope: then From:
 *     must equal the envelope sender, which Postfix's local_login_sender_maps restricts to the
 *     addresses the Unix login owns (postdrop enforces it; the milter sees no uid).
 */
#ifndef AUTOSMIME_MILTER_DECIDE_H
#define AUTOSMIME_MILTER_DECIDE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/conf.h"
#include "milter/process/netsendermap.h"
#include "milter/process/sendermap.h"

#define DECIDE_MAX_ADDR 256

enum decide_verdict {
	DECIDE_NOT_OUTBOUND,       /* neither authenticated nor internal: untouched */
	DECIDE_NO_FROM,            /* missing, several or unparsable From: mailboxes */
	DECIDE_FOREIGN_FROM,       /* From: outside local_domains: untouched */
	DECIDE_UNAUTHORISED_FROM,  /* login may not use that From: passes unsigned, logged */
	DECIDE_UNATTRIBUTED,       /* unauthenticated, From: not attributable: unsigned, logged */
	DECIDE_ALREADY_SMIME,      /* never wrap signed or encrypted mail again */
	DECIDE_SIGN,               /* a candidate: sign if the sender has a certificate */
};

/* The facts of one message. Strings are borrowed. */
struct decide_input {
	const char *login;         /* {auth_authen}; NULL or "" when not authenticated */
	bool internal;             /* client address in internal_networks (not a local post) */
	const char *from;          /* From: mailbox from decide_from_mailbox, NULL when none */
	bool already_smime;
	bool local_submission;     /* posted locally: decide_local_submission of the client */
	const char *envelope;      /* MAIL FROM without brackets, "" for <>, NULL when unknown */
	const struct sockaddr *client; /* the client address, NULL when none */
};

/* The configuration the decision reads. Pointers are borrowed. */
struct decide_rules {
	const struct as_conf_list *local_domains;
	const struct sendermap *map;
	const struct netsendermap *netmap;
	int local_attribution;     /* enum as_local_attribution */
};

enum decide_verdict decide(const struct decide_input *in, const struct decide_rules *rules);

/*
 * Is unauthenticated mail (internal or locally posted) attributable to its From: `from`? The
 * same rule holds for signing and for enrolment replies.
 */
bool decide_unauthenticated_attributed(const struct decide_input *in,
    const struct decide_rules *rules);

/*
 * Was the message posted locally? Postfix's non_smtpd_milters see an IP client with port 0,
 * which no TCP connection has. A missing address is not taken as local: the MTA did not say.
 */
bool decide_local_submission(const struct sockaddr *client);

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
