/*
 * process: what happens to one complete message at end of data: decide, look up the signer
 * and recipient certificates, sign or encrypt through the engine, write the audit record and
 * the log line. Inbound mail (neither authenticated nor internal, for a local recipient) goes
 * through the inbound pipeline instead (verify, decrypt, harvest, Authentication-Results).
 * The whole result is computed here before the caller applies a single edit, so a failure
 * never leaves a half-rewritten message.
 *
 * Shared by the libmilter callbacks and offline mode; knows nothing of libmilter.
 *
 * The main header of milter/process/ (libautosmime-process.a): the folder owns the facts of
 * one message and connection (message.h), its outcome (outcome.h), the decision who may sign
 * (decide.h), enrolment hooks, the key cache and configuration snapshots. It may call the
 * inbound pipeline, the engine, policy/, ca/ and common/; the producers of an outcome never
 * call back into this file.
 */
#ifndef AUTOSMIME_MILTER_PROCESS_H
#define AUTOSMIME_MILTER_PROCESS_H

#include <stdbool.h>

#include "milter/process/message.h"
#include "milter/process/outcome.h"
#include "milter/process/runtime.h"

/* Too many or too long headers: the message passes unsigned; this is its one NOTICE line
 * (event=pass reason=headers-too-large signed=no mail_from=... and the bounds). */
void process_log_headers_overflow(const struct msg_ctx *msg);

void process_message(struct milter_runtime *rt, const struct snapshot *snap,
    const struct conn_ctx *conn, const struct msg_ctx *msg, struct process_outcome *out);

#endif
