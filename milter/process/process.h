/*
 * process: what happens to one complete message at end of data: decide, look up the signer
 * and recipient certificates, sign or encrypt through the engine, write the audit record and
 * the log line. Inbound mail (neither authenticated nor internal, for a local recipient) goes
 * through the inbound pipeline instead (verify, decrypt, harvest, Authentication-Results).
 * The whole result is computed here before the caller applies a single edit, so a failure
 * never leaves a half-rewritten message.
 *
 * Shared by the libmilter callbacks and offline mode; knows nothing of libmilter.
 */
#ifndef AUTOSMIME_MILTER_PROCESS_H
#define AUTOSMIME_MILTER_PROCESS_H

#include <stdbool.h>

#include "milter/inbound/inbound.h"
#include "milter/process/message.h"
#include "milter/process/runtime.h"
#include "milter/engine/smime.h"

enum process_action {
	PROCESS_PASS,      /* leave the message as it is */
	PROCESS_MODIFY,    /* apply `result` */
	PROCESS_TEMPFAIL,  /* answer rcode/xcode/text */
	PROCESS_REJECT,
	PROCESS_DISCARD,   /* accept and throw away: an enrolment reply (enrol_hook.c) */
};

/* Lifetime: one end-of-message; free with process_outcome_free. */
struct process_outcome {
	enum process_action action;
	struct smime_result result;  /* PROCESS_MODIFY only */
	const char *rcode;           /* static strings, for TEMPFAIL and REJECT */
	const char *xcode;
	const char *text;
	bool encrypted;
	/* Inbound only: delete these fields (by index, listed highest first) before `result`'s
	 * edits; result.body is NULL when the body stays. */
	struct inbound_delete *del;
	size_t del_count;
};

void process_message(struct milter_runtime *rt, const struct snapshot *snap,
    const struct conn_ctx *conn, const struct msg_ctx *msg, struct process_outcome *out);

/*
 * The inbound part of process_message (process_inbound.c): run the pipeline of snap over the
 * message, whose body is `body` (never NULL), and fill out. `from` may be NULL.
 */
void process_inbound(struct milter_runtime *rt, const struct snapshot *snap,
    const struct msg_ctx *msg, struct spool *body, const char *from,
    struct process_outcome *out);

/* The answer for an internal failure, per on_error (accept means pass). */
void process_fail(const struct snapshot *snap, struct process_outcome *out);

/* The answer for a message above message_size_limit, per oversize_action. */
void process_oversize(const struct snapshot *snap, struct process_outcome *out);

void process_outcome_free(struct process_outcome *out);

/*
 * Is this message inbound: neither authenticated nor from internal_networks, inbound
 * processing configured, and at least one recipient in local_domains?
 */
bool process_is_inbound(const struct snapshot *snap, const struct conn_ctx *conn,
    const struct msg_ctx *msg);

/* The From: mailbox of a message per decide_from_mailbox; -1 when none or several From:. */
int process_from(const struct msg_ctx *msg, char *out, size_t cap);

#endif
