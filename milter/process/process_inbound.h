/*
 * process_inbound: the inbound part of end-of-message processing (DESIGN 2.3): which mail is
 * inbound, the inbound pipeline (milter/inbound/) over its local recipients, and the one
 * event=inbound line per message. process.c and the callbacks call it; it calls nothing of
 * process.c and answers through a struct process_outcome (outcome.h).
 */
#ifndef AUTOSMIME_MILTER_PROCESS_INBOUND_H
#define AUTOSMIME_MILTER_PROCESS_INBOUND_H

#include <stdbool.h>

#include "milter/engine/spool.h"
#include "milter/process/message.h"
#include "milter/process/outcome.h"
#include "milter/process/runtime.h"

/*
 * Is this message inbound: neither authenticated nor from internal_networks, inbound
 * processing configured, and at least one recipient in local_domains?
 */
bool process_is_inbound(const struct snapshot *snap, const struct conn_ctx *conn,
    const struct msg_ctx *msg);

/*
 * Run the pipeline of snap over the message, whose body is `body` (never NULL), and fill
 * out. `from` may be NULL.
 */
void process_inbound(struct milter_runtime *rt, const struct snapshot *snap,
    const struct msg_ctx *msg, struct spool *body, const char *from,
    struct process_outcome *out);

#endif
