/*
 * enrol_hook: the milter's side of in-band enrolment (DESIGN 2.2, policy/enrol.h). At end of
 * message it recognises the gateway's own challenge and confirmation mail (passed untouched),
 * replies to the enrolment address (parsed, handed to enrol_handle_reply, never delivered),
 * unenrolled senders (enrol_unenrolled_sender: challenge, then pass/tempfail/reject) and
 * certificates due for renewal (enrol_renew; the current certificate signs meanwhile).
 *
 * Owns the per-snapshot enrolment context: opened on first need with the CA's own store
 * handle (ca_store), rebuilt with every new snapshot (SIGHUP), closed with the snapshot or at
 * enrol_hook_shutdown, whichever comes first (the CA closes the store after that).
 * Knows nothing of libmilter: it fills a struct process_outcome like process.c.
 */
#ifndef AUTOSMIME_MILTER_ENROL_HOOK_H
#define AUTOSMIME_MILTER_ENROL_HOOK_H

#include <stdbool.h>

#include <openssl/x509.h>

#include "milter/process/message.h"
#include "milter/process/outcome.h"
#include "milter/process/runtime.h"

/* SMTP answers to a sender without a certificate (tempfail / reject action). */
#define ENROL_HOOK_TEMPFAIL_TEXT "no S/MIME certificate yet: check your mailbox to enrol, " \
	"then this mail is sent signed"
#define ENROL_HOOK_REJECT_TEXT "no S/MIME certificate yet: check your mailbox to enrol, then " \
	"send again"
#define ENROL_HOOK_ISSUED_TEXT "your S/MIME certificate has just been issued: this mail is " \
	"sent signed on the next try"

/* Is enrolment configured (enrol_address set)? */
bool enrol_hook_enabled(const struct snapshot *snap);

/* Is one of the message's recipients the enrolment address? Such a message is a reply and
 * must reach end of message (never accepted early, never delivered). */
bool enrol_hook_is_reply(const struct snapshot *snap, const struct msg_ctx *msg);

/* Is `from` (a From: mailbox, may be NULL) the enrolment address, i.e. the gateway's own
 * challenge or confirmation mail? Such mail is never signed and never starts enrolment. */
bool enrol_hook_own_mail(const struct snapshot *snap, const char *from);

/*
 * A reply to the enrolment address (enrol_hook_is_reply): parse it (bounded), check and act
 * through enrol_handle_reply, and set `out`: DISCARD when a certificate was issued, REJECT
 * with the API's answer (what to do, never why) when refused or blocked, TEMPFAIL on an
 * internal failure. out->text stays valid until the next call on the same thread.
 */
void enrol_hook_reply(struct milter_runtime *rt, const struct snapshot *snap,
    const struct conn_ctx *conn, const struct msg_ctx *msg, struct process_outcome *out);

/*
 * A local sender the session may use has no valid certificate; conn->client names the host
 * whose challenge budget the challenge uses (challenge_limit_client_hour). Returns 1 when enrolment is
 * not configured or signing is off (the caller keeps its own unenrolled_action answer), else
 * 0 with `out` set: PASS, TEMPFAIL (451 4.7.0) or REJECT (550 5.7.0) per the policy answer,
 * or the on_error answer on an internal failure.
 */
int enrol_hook_unenrolled(struct milter_runtime *rt, const struct snapshot *snap,
    const struct conn_ctx *conn, const struct msg_ctx *msg, const char *from,
    struct process_outcome *out);

/*
 * The sender signs with `cert`: when it expires within renew_before and enrol_renewal_due
 * agrees, start the renewal (enrol_renew; rate-limited there). Never changes the message;
 * failures are logged only.
 */
void enrol_hook_renewal(struct milter_runtime *rt, const struct snapshot *snap,
    const struct msg_ctx *msg, const char *from, const X509 *cert);

/* Open the snapshot's enrolment context now (start-up, reload), so a bad setting shows in the
 * log before the first message; failures are logged and retried on need. */
void enrol_hook_prepare(struct milter_runtime *rt, const struct snapshot *snap);

/* Close every enrolment context before the CA closes its store; later use finds none. */
void enrol_hook_shutdown(void);

#endif
