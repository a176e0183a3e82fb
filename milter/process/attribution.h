/*
 * attribution: the facts and rules decide() reads, gathered from one connection, message and
 * configuration snapshot, so that signing (session.c, process.c) and enrolment replies
 * (enrol_hook.c) judge a sender by the same rule.
 */
#ifndef AUTOSMIME_MILTER_ATTRIBUTION_H
#define AUTOSMIME_MILTER_ATTRIBUTION_H

#include "milter/process/decide.h"
#include "milter/process/message.h"

/* Fill in and rules; `from` (the From: mailbox or NULL) is borrowed like everything else. */
void attribution_gather(const struct snapshot *snap, const struct conn_ctx *conn,
    const struct msg_ctx *msg, const char *from, struct decide_input *in,
    struct decide_rules *rules);

/* Record the client of a new connection: internal, local post, and the address itself. */
void attribution_connect(struct conn_ctx *conn, const struct sockaddr *addr);

#endif
