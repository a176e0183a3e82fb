/*
 * enrol_admin: renewal due dates, enrolment status, and the `autosmimectl enrol` commands
 * (start, cancel), on top of the mail flows of enrol.c and the context of enrol_ctx.c.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "policy/challenge_mail.h"
#include "policy/enrol_int.h"

int
enrol_renewal_due(struct enrol_ctx *ctx, const char *mailbox, time_t now, bool *due,
    time_t *not_after)
{
	char mb[AS_ES_MAILBOX_MAX + 1];
	time_t na = 0;
	int k;

	*due = false;
	if (ctx == NULL || enrol_mailbox_norm(mailbox, mb, sizeof(mb)) < 0)
		return -1;
	if ((k = enrol_newest_cert(ctx, mb, NULL, &na)) < 0)
		return -1;
	if (not_after != NULL)
		*not_after = na;
	*due = k == 0 && (long long)na - ctx->p.renew_before <= (long long)now;
	return 0;
}

int
enrol_status(struct enrol_ctx *ctx, const char *mailbox, time_t now, struct enrol_status *out,
    char *err, size_t errcap)
{
	char mb[AS_ES_MAILBOX_MAX + 1];
	struct as_challenge c;
	struct as_validation val;
	long long age = 0;
	int k;

	memset(out, 0, sizeof(*out));
	if (ctx == NULL || enrol_mailbox_norm(mailbox, mb, sizeof(mb)) < 0) {
		snprintf(err, errcap, "not a mailbox");
		return -1;
	}
	out->eligible = enrol_eligible(ctx, mb);
	if ((k = as_estore_challenge_open(ctx->es, mb, now, &c)) == AS_ES_OK) {
		out->challenge_open = true;
		memcpy(out->challenge_id, c.id, sizeof(out->challenge_id));
		out->challenge_created = c.created;
		out->challenge_expires = c.expires;
	} else if (k == AS_ES_ERR) {
		snprintf(err, errcap, "store error");
		return -1;
	}
	if ((k = as_estore_validation_get(ctx->es, mb, &val)) == AS_ES_OK) {
		out->validated = true;
		memcpy(out->validation_id, val.id, sizeof(out->validation_id));
		out->validation_time = val.time;
		snprintf(out->validation_evidence, sizeof(out->validation_evidence), "%s",
		    val.evidence);
		out->validation_reusable = enrol_validation_reusable(ctx, mb, now, &age);
	} else if (k == AS_ES_ERR) {
		snprintf(err, errcap, "store error");
		return -1;
	}
	if ((k = enrol_newest_cert(ctx, mb, out->serial_hex, &out->not_after)) < 0) {
		snprintf(err, errcap, "CA store error");
		return -1;
	}
	out->certified = k == 0;
	out->renewal_due = out->certified &&
	    (long long)out->not_after - ctx->p.renew_before <= (long long)now;
	return 0;
}

int
enrol_start(struct enrol_ctx *ctx, const char *mailbox, const char *actor, time_t now,
    struct enrol_decision *out, char *err, size_t errcap)
{
	char mb[AS_ES_MAILBOX_MAX + 1];

	memset(out, 0, sizeof(*out));
	out->event = ENROL_EV_NOT_ELIGIBLE;
	if (ctx == NULL || enrol_mailbox_norm(mailbox, mb, sizeof(mb)) < 0) {
		snprintf(err, errcap, "not a mailbox");
		return -1;
	}
	if (!enrol_eligible(ctx, mb))
		return 0;
	if (enrol_send_challenge(ctx, mb, NULL, actor != NULL ? actor : enrol_actor(ctx), now, out) < 0) {
		snprintf(err, errcap, "the challenge could not be sent (see the log)");
		return -1;
	}
	return 0;
}

int
enrol_cancel(struct enrol_ctx *ctx, const char *mailbox, const char *actor, char *err,
    size_t errcap)
{
	char mb[AS_ES_MAILBOX_MAX + 1], b1[300];
	struct as_challenge c;
	int k;

	if (ctx == NULL || enrol_mailbox_norm(mailbox, mb, sizeof(mb)) < 0) {
		snprintf(err, errcap, "not a mailbox");
		return -1;
	}
	k = as_estore_challenge_cancel(ctx->es, mb, &c);
	if (k == AS_ES_ERR) {
		snprintf(err, errcap, "store error");
		return -1;
	}
	if (k == AS_ES_NOTFOUND)
		return 1;
	enrol_audit(ctx, "enrol-cancel", actor != NULL ? actor : enrol_actor(ctx),
	    "mailbox=%s challenge=%s", as_log_value(mb, b1, sizeof(b1)), c.id);
	return 0;
}
