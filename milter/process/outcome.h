/*
 * outcome: the answer of per-message processing, as data. process.c, process_inbound.c and
 * enrol_hook.c each fill one; the libmilter callbacks and offline mode apply it. Keeping the
 * type and its standard answers here lets every producer sit beside the others instead of
 * calling back into process.c.
 */
#ifndef AUTOSMIME_MILTER_OUTCOME_H
#define AUTOSMIME_MILTER_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>

#include "milter/inbound/inbound.h"
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

/* The answer for an internal failure, per on_error (accept means pass). */
void process_fail(const struct snapshot *snap, struct process_outcome *out);

/* The answer for a message above message_size_limit, per oversize_action. */
void process_oversize(const struct snapshot *snap, struct process_outcome *out);

/* Free what `out` owns and reset it to PROCESS_PASS. */
void process_outcome_free(struct process_outcome *out);

#endif
