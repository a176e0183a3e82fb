/*
 * session: the milter callbacks over struct mfi_ops (see session.h). Owns the connection and
 * message contexts it hangs on the MTA's private pointer, and the failures deferred from the
 * stages that do not reply to the next one that does.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "common/log.h"
#include "milter/process/attribution.h"
#include "milter/process/decide.h"
#include "milter/process/enrol_hook.h"
#include "milter/process/message.h"
#include "milter/process/process.h"
#include "milter/process/process_inbound.h"
#include "milter/daemon/session.h"

static enum mfi_status
answer(const struct mfi_ops *ops, void *ctx, const struct process_outcome *out)
{
	switch (out->action) {
	case PROCESS_TEMPFAIL:
		ops->setreply(ctx, out->rcode, out->xcode, out->text);
		return MFI_TEMPFAIL;
	case PROCESS_REJECT:
		ops->setreply(ctx, out->rcode, out->xcode, out->text);
		return MFI_REJECT;
	case PROCESS_PASS:
		return MFI_ACCEPT;
	case PROCESS_DISCARD:
		return MFI_DISCARD;
	case PROCESS_MODIFY:
		break;
	}
	return MFI_CONTINUE;
}

static void
fail_log(const char *qid, const char *stage)
{
	as_log(AS_LEVEL_ERR, qid, "event=error stage=%s reason=\"internal failure\"", stage);
}

/* The on_error answer; without a snapshot (no connection context) a temporary failure. */
static enum mfi_status
fail_answer(const struct mfi_ops *ops, void *ctx, const struct snapshot *snap)
{
	struct process_outcome out = { 0 };

	if (snap != NULL)
		process_fail(snap, &out);
	else {
		out.action = PROCESS_TEMPFAIL;
		out.rcode = "451";
		out.xcode = "4.3.0";
		out.text = "S/MIME processing failed temporarily, try again later";
	}
	return answer(ops, ctx, &out);
}

/* Internal failure at a stage that replies: logged and answered now. */
static enum mfi_status
fail(const struct mfi_ops *ops, void *ctx, const struct snapshot *snap, const char *qid,
    const char *stage)
{
	fail_log(qid, stage);
	return fail_answer(ops, ctx, snap);
}

/*
 * Internal failure at a stage that does not reply: logged now, answered by the next stage
 * that replies (end of header or end of message), so the message still ends in the on_error
 * answer, never accepted.
 */
static void
defer_fail(struct msg_ctx *msg, const char *stage)
{
	fail_log(msg->qid, stage);
	msg_defer(msg, MSG_DEFER_ERROR, stage);
}

/* Answer a deferred failure at the stage `at` that replies. */
static enum mfi_status
deferred_answer(const struct mfi_ops *ops, void *ctx, const struct conn_ctx *conn,
    const char *at)
{
	struct process_outcome out = { 0 };

	if (conn->msg->deferred == MSG_DEFER_OVERSIZE)
		process_oversize(conn->snap, &out);
	else
		process_fail(conn->snap, &out);
	as_log(AS_LEVEL_DEBUG, conn->msg->qid, "event=deferred stage=%s answered=%s",
	    conn->msg->deferred_stage, at);
	return answer(ops, ctx, &out);
}

static struct conn_ctx *
conn_of(const struct mfi_ops *ops, void *ctx)
{
	return ops->getpriv(ctx);
}

enum mfi_status
session_connect(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx,
    const char *hostname, const struct sockaddr *addr)
{
	struct conn_ctx *conn = calloc(1, sizeof(*conn));

	/* no reply at connect: DATA finds no context and answers the failure */
	if (conn == NULL) {
		fail_log(NULL, "connect");
		return MFI_CONTINUE;
	}
	conn->snap = runtime_acquire(rt);
	attribution_connect(conn, addr);
	strcpy(conn->client, "unknown");
	if (addr != NULL && addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)addr)->sin_addr,
		    conn->client, sizeof(conn->client));
	else if (addr != NULL && addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr,
		    conn->client, sizeof(conn->client));
	if (ops->setpriv(ctx, conn) != 0) {
		fail_log(NULL, "connect");
		runtime_release(rt, conn->snap);
		free(conn);
		return MFI_CONTINUE;
	}
	(void)hostname;
	return MFI_CONTINUE;
}

enum mfi_status
session_helo(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx, const char *helo)
{
	struct conn_ctx *conn = conn_of(ops, ctx);

	if (conn != NULL && helo != NULL)
		snprintf(conn->helo, sizeof(conn->helo), "%s", helo);
	return MFI_CONTINUE;
}

/*
 * Postfix assigns the queue id only after the first accepted RCPT and sends `i` with the RCPT
 * and end-of-data macros, so it is picked up again at each stage until it is known.
 */
static void
refresh_qid(const struct mfi_ops *ops, void *ctx, struct msg_ctx *msg)
{
	const char *qid;

	if (strcmp(msg->qid, "NOQUEUE") != 0)
		return;
	qid = ops->getsymval(ctx, "i");
	if (qid != NULL && *qid != '\0')
		snprintf(msg->qid, sizeof(msg->qid), "%s", qid);
}

/*
 * MAIL FROM does not reply: a decision taken here (pass untouched, or an internal failure)
 * is kept in the message and answered at DATA, the next stage that replies.
 */
enum mfi_status
session_envfrom(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx, char **argv)
{
	struct conn_ctx *conn = conn_of(ops, ctx);
	const char *login;
	struct msg_ctx *msg;
	char safe[300];

	/* without a context DATA answers the failure */
	if (conn == NULL)
		return MFI_CONTINUE;
	msg_free(conn->msg);
	conn->msg = msg = msg_new();
	if (msg == NULL) {
		fail_log(NULL, "envfrom");
		return MFI_CONTINUE;
	}
	refresh_qid(ops, ctx, msg);
	if (argv != NULL && argv[0] != NULL && msg_set_mail_from(msg, argv[0]) < 0) {
		defer_fail(msg, "envfrom");
		return MFI_CONTINUE;
	}
	login = ops->getsymval(ctx, "{auth_authen}");
	if (login != NULL && *login != '\0') {
		if (strlen(login) >= MSG_MAX_LOGIN) {
			as_log(AS_LEVEL_NOTICE, msg->qid, "event=pass reason=login-too-long");
			msg->pass = true;
			return MFI_CONTINUE;
		}
		msg->login = strdup(login);
		if (msg->login == NULL)
			defer_fail(msg, "envfrom");
	} else if (!conn->internal && !conn->local_submission &&
	    !runtime_inbound_enabled(conn->snap)) {
		/* inbound or relayed, and no inbound processing: never touched, never spooled */
		as_log(AS_LEVEL_DEBUG, msg->qid, "event=pass reason=not-outbound client=%s",
		    as_log_value(conn->client, safe, sizeof(safe)));
		msg->pass = true;
	}
	/* unauthenticated external mail waits for its recipients: inbound when one is local */
	return MFI_CONTINUE;
}

enum mfi_status
session_envrcpt(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx, char **argv)
{
	struct conn_ctx *conn = conn_of(ops, ctx);

	/* without a context DATA answers the failure; after one, or a pass, nothing to keep */
	if (conn == NULL || conn->msg == NULL || conn->msg->deferred != MSG_DEFER_NONE ||
	    conn->msg->pass)
		return MFI_CONTINUE;
	refresh_qid(ops, ctx, conn->msg);
	if (argv != NULL && argv[0] != NULL && msg_add_rcpt(conn->msg, argv[0]) < 0)
		defer_fail(conn->msg, "envrcpt");
	return MFI_CONTINUE;
}

/* The first stage after MAIL FROM that replies: it answers what MAIL FROM and RCPT kept. */
enum mfi_status
session_data(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx)
{
	struct conn_ctx *conn = conn_of(ops, ctx);

	(void)rt;
	if (conn == NULL || conn->msg == NULL)
		return fail(ops, ctx, conn != NULL ? conn->snap : NULL, NULL, "data");
	refresh_qid(ops, ctx, conn->msg);
	if (conn->msg->deferred != MSG_DEFER_NONE)
		return deferred_answer(ops, ctx, conn, "data");
	return conn->msg->pass ? MFI_ACCEPT : MFI_CONTINUE;
}

enum mfi_status
session_header(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx,
    const char *name, const char *value)
{
	struct conn_ctx *conn = conn_of(ops, ctx);

	if (conn == NULL || conn->msg == NULL || conn->msg->deferred != MSG_DEFER_NONE)
		return MFI_CONTINUE;
	if (msg_add_header(conn->msg, name != NULL ? name : "", value != NULL ? value : "") < 0)
		defer_fail(conn->msg, "header");
	return MFI_CONTINUE;
}

enum mfi_status
session_eoh(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx)
{
	struct conn_ctx *conn = conn_of(ops, ctx);
	struct msg_ctx *msg;
	struct decide_input in;
	struct decide_rules rules;
	enum decide_verdict v;
	char from[DECIDE_MAX_ADDR], f[300], l[300];

	if (conn == NULL || conn->msg == NULL)
		return fail(ops, ctx, conn != NULL ? conn->snap : NULL, NULL, "eoh");
	msg = conn->msg;
	refresh_qid(ops, ctx, msg);
	if (msg->deferred != MSG_DEFER_NONE)
		return deferred_answer(ops, ctx, conn, "eoh");
	/* an MTA without the DATA stage (milter protocol 2) hears a MAIL FROM pass here */
	if (msg->pass)
		return MFI_ACCEPT;
	/* a reply to the enrolment address always reaches end of message: never delivered */
	if (enrol_hook_is_reply(conn->snap, msg))
		return MFI_CONTINUE;
	if (msg->headers_overflow) {
		process_log_headers_overflow(msg);
		return MFI_ACCEPT;
	}
	/* decide early what needs no body, so untouched mail is never spooled */
	if (process_is_inbound(conn->snap, conn, msg))
		return MFI_CONTINUE;
	attribution_gather(conn->snap, conn, msg, msg_from_mailbox(msg, from, sizeof(from)) == 0 ?
	    from : NULL, &in, &rules);
	v = decide(&in, &rules);
	if (v == DECIDE_SIGN)
		return MFI_CONTINUE;
	as_log(v == DECIDE_UNAUTHORISED_FROM || v == DECIDE_UNATTRIBUTED ? AS_LEVEL_NOTICE :
	    v == DECIDE_NO_FROM ? AS_LEVEL_INFO : AS_LEVEL_DEBUG, msg->qid,
	    "event=pass reason=%s from=%s login=%s", decide_reason(v),
	    as_log_value(in.from, f, sizeof(f)), as_log_value(msg->login, l, sizeof(l)));
	return MFI_ACCEPT;
}

/* Logged once, when the limit is crossed; the oversize_action answer waits for end of message. */
static void
oversize(struct conn_ctx *conn)
{
	as_log(AS_LEVEL_NOTICE, conn->msg->qid, "event=oversize size=%zu limit=%lld action=%s",
	    conn->msg->size, conn->snap->conf->message_size_limit,
	    as_conf_enum_word("oversize_action", conn->snap->conf->oversize_action));
	msg_defer(conn->msg, MSG_DEFER_OVERSIZE, "body");
}

enum mfi_status
session_body(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx,
    const unsigned char *data, size_t len)
{
	struct conn_ctx *conn = conn_of(ops, ctx);
	const struct as_conf *conf;
	struct msg_ctx *msg;
	int rc;

	/* no reply here: end of message answers a missing context or an earlier failure */
	if (conn == NULL || conn->msg == NULL || conn->msg->deferred != MSG_DEFER_NONE)
		return MFI_CONTINUE;
	msg = conn->msg;
	conf = conn->snap->conf;
	msg->size += len;
	if (msg->size > (size_t)conf->message_size_limit) {
		/* inbound mail is never refused for its size: it passes, only forged results go */
		if (!process_is_inbound(conn->snap, conn, msg))
			oversize(conn);
		return MFI_CONTINUE;
	}
	if (msg->body == NULL) {
		msg->body = spool_new((size_t)conf->memory_spool_limit, conf->spool_dir,
		    (size_t)conf->message_size_limit);
		if (msg->body == NULL) {
			defer_fail(msg, "spool");
			return MFI_CONTINUE;
		}
	}
	rc = spool_write(msg->body, data, len);
	if (rc == SPOOL_TOO_BIG)
		oversize(conn);
	else if (rc != 0)
		defer_fail(msg, "spool");
	return MFI_CONTINUE;
}

/*
 * Header values go to the MTA with bare LF folding, as libmilter expects. index 0 adds the
 * field at the end; index n >= 1 replaces the n-th field of that name where it stands.
 */
static int
put_header(const struct mfi_ops *ops, void *ctx, const struct smime_header *h, int index)
{
	size_t n = strlen(h->value), o = 0;
	char *v = malloc(n + 1);
	int r;

	if (v == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!(h->value[i] == '\r' && h->value[i + 1] == '\n'))
			v[o++] = h->value[i];
	v[o] = '\0';
	r = index > 0 ? ops->chgheader(ctx, h->name, index, v) : ops->addheader(ctx, h->name, v);
	free(v);
	return r;
}

/* The new field of this name, if the outcome adds exactly one; else -1. */
static ssize_t
single_add(const struct smime_result *res, const char *name)
{
	ssize_t found = -1;

	for (size_t i = 0; i < res->add_count; i++)
		if (strcasecmp(res->add[i].name, name) == 0) {
			if (found >= 0)
				return -1;
			found = (ssize_t)i;
		}
	return found;
}

/*
 * Apply an outcome: deletions by index (inbound), then removal of every field of each name,
 * then the new fields, then the body when there is one. A removed name that comes back once
 * (Content-Type) is changed in place instead: the field keeps its position and the MTA gets
 * one edit, not two. A failure part-way leaves edits the MTA discards, because the caller
 * then answers a temporary failure.
 */
static int
apply(const struct mfi_ops *ops, void *ctx, const struct msg_ctx *msg,
    const struct process_outcome *out)
{
	const struct smime_result *res = &out->result;
	bool *done = NULL;
	unsigned char *buf = NULL;
	ssize_t n;
	int r = -1;

	for (size_t i = 0; i < out->del_count; i++)
		if (ops->chgheader(ctx, out->del[i].name, out->del[i].index, NULL) != 0)
			goto out;
	if (res->add_count > 0 && (done = calloc(res->add_count, sizeof(*done))) == NULL)
		goto out;
	for (size_t i = 0; i < res->remove_count; i++) {
		size_t count = msg_header_count(msg, res->remove[i]);
		ssize_t j = count > 0 ? single_add(res, res->remove[i]) : -1;
		size_t keep = j >= 0 ? 1 : 0;

		for (size_t k = count; k > keep; k--)
			if (ops->chgheader(ctx, res->remove[i], (int)k, NULL) != 0)
				goto out;
		if (j >= 0) {
			if (put_header(ops, ctx, &res->add[j], 1) != 0)
				goto out;
			done[j] = true;
		}
	}
	for (size_t i = 0; i < res->add_count; i++)
		if (!done[i] && put_header(ops, ctx, &res->add[i], 0) != 0)
			goto out;
	if (res->body == NULL) {
		r = 0;
		goto out;
	}
	buf = malloc(SESSION_BODY_CHUNK);
	if (buf == NULL || spool_rewind(res->body) != 0)
		goto out;
	while ((n = spool_read(res->body, buf, SESSION_BODY_CHUNK)) > 0)
		if (ops->replacebody(ctx, buf, (size_t)n) != 0)
			goto out;
	if (n < 0)
		goto out;
	r = 0;
out:
	free(done);
	free(buf);
	return r;
}

enum mfi_status
session_eom(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx)
{
	struct conn_ctx *conn = conn_of(ops, ctx);
	struct process_outcome out = { 0 };
	enum mfi_status st;

	if (conn == NULL || conn->msg == NULL)
		return fail(ops, ctx, conn != NULL ? conn->snap : NULL, NULL, "eom");
	refresh_qid(ops, ctx, conn->msg);
	if (conn->msg->deferred != MSG_DEFER_NONE) {
		st = deferred_answer(ops, ctx, conn, "eom");
	} else {
		process_message(rt, conn->snap, conn, conn->msg, &out);
		if (out.action == PROCESS_MODIFY && apply(ops, ctx, conn->msg, &out) != 0) {
			/* the MTA drops edits of a message it answers with a failure */
			st = fail(ops, ctx, conn->snap, conn->msg->qid, "apply");
		} else
			st = answer(ops, ctx, &out);
	}
	if (st == MFI_ACCEPT || st == MFI_CONTINUE)
		st = MFI_CONTINUE;
	process_outcome_free(&out);
	msg_free(conn->msg);
	conn->msg = NULL;
	return st;
}

enum mfi_status
session_abort(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx)
{
	struct conn_ctx *conn = conn_of(ops, ctx);

	if (conn != NULL) {
		msg_free(conn->msg);
		conn->msg = NULL;
	}
	return MFI_CONTINUE;
}

enum mfi_status
session_close(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx)
{
	struct conn_ctx *conn = conn_of(ops, ctx);

	if (conn == NULL)
		return MFI_CONTINUE;
	ops->setpriv(ctx, NULL);
	msg_free(conn->msg);
	runtime_release(rt, conn->snap);
	free(conn);
	return MFI_CONTINUE;
}
