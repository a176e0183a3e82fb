/*
 * process_inbound: end of message for inbound mail: which mail is inbound, the call into the
 * inbound pipeline (milter/inbound.h) with the local recipients, and the one event=inbound
 * log line per message. Owns the pipeline's result until it hands it to the caller's outcome.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "milter/inbound/authres.h"
#include "milter/process/decide.h"
#include "milter/inbound/inbound.h"
#include "milter/process/process_inbound.h"

bool
process_is_inbound(const struct snapshot *snap, const struct conn_ctx *conn,
    const struct msg_ctx *msg)
{
	if ((msg->login != NULL && *msg->login != '\0') || conn->internal ||
	    conn->local_submission ||
	    !runtime_inbound_enabled(snap))
		return false;
	for (size_t i = 0; i < msg->rcpt_count; i++)
		if (decide_is_local(msg->rcpts[i], &snap->conf->local_domains))
			return true;
	return false;
}

/*
 * A message above message_size_limit is not spooled whole: its S/MIME is not looked at, but
 * Authentication-Results that claim our authserv-id still go (highest index first).
 */
static int
strip_only(const struct inbound *ib, const struct msg_ctx *msg, struct process_outcome *out)
{
	const char *id = inbound_authserv_id(ib);
	size_t n = msg_header_count(msg, AUTHRES_HEADER), k = 0;

	if (n == 0)
		return 0;
	if ((out->del = calloc(n, sizeof(*out->del))) == NULL)
		return -1;
	for (size_t i = n; i > 0; i--) {
		if (!authres_claims(msg_header(msg, AUTHRES_HEADER, i), id))
			continue;
		if ((out->del[k].name = strdup(AUTHRES_HEADER)) == NULL)
			return -1;
		out->del[k++].index = (int)i;
		out->del_count = k;
	}
	return 0;
}

static void
log_line(const struct msg_ctx *msg, const char *result, const char *from,
    const struct inbound_result *ir, size_t local, size_t removed, const char *reason)
{
	char f[300], s[300];

	as_log(AS_LEVEL_INFO, msg->qid,
	    "event=inbound result=%s from=%s signer=%s serial=%s decrypted=%s harvested=%s "
	    "forged_removed=%zu local_rcpts=%zu%s%s", result, as_log_value(from, f, sizeof(f)),
	    as_log_value(ir != NULL && ir->signer[0] ? ir->signer : NULL, s, sizeof(s)),
	    ir != NULL && ir->serial[0] ? ir->serial : "-",
	    ir != NULL && ir->decrypted ? "yes" : "no", ir != NULL && ir->harvested ? "yes" : "no",
	    removed, local, reason != NULL ? " reason=" : "", reason != NULL ? reason : "");
}

void
process_inbound(struct milter_runtime *rt, const struct snapshot *snap,
    const struct msg_ctx *msg, struct spool *body, const char *from,
    struct process_outcome *out)
{
	const struct as_conf *conf = snap->conf;
	struct inbound_result ir;
	struct inbound_input in = { 0 };
	struct inbound *ib;
	enum inbound_status st;
	char **local = NULL;
	size_t nlocal = 0;

	memset(&ir, 0, sizeof(ir));
	memset(out, 0, sizeof(*out));
	out->action = PROCESS_PASS;
	if ((ib = runtime_inbound(rt, snap)) == NULL) {
		log_line(msg, "error", from, NULL, 0, 0, "inbound-unavailable");
		goto fail;
	}
	if (msg->size > (size_t)conf->message_size_limit) {
		if (strip_only(ib, msg, out) != 0) {
			log_line(msg, "error", from, NULL, 0, 0, "out-of-memory");
			goto fail;
		}
		if (out->del_count > 0)
			out->action = PROCESS_MODIFY;
		log_line(msg, "skipped", from, NULL, 0, out->del_count, "oversize");
		return;
	}
	if ((local = calloc(msg->rcpt_count + 1, sizeof(*local))) == NULL) {
		log_line(msg, "error", from, NULL, 0, 0, "out-of-memory");
		goto fail;
	}
	for (size_t i = 0; i < msg->rcpt_count; i++)
		if (decide_is_local(msg->rcpts[i], &conf->local_domains))
			local[nlocal++] = msg->rcpts[i];
	in.qid = msg->qid;
	in.headers = msg->headers;
	in.header_count = msg->header_count;
	in.body = body;
	in.from = from;
	in.rcpts = local;
	in.rcpt_count = nlocal;
	st = inbound_process(ib, &in, &ir);
	if (st == INBOUND_ERROR) {
		log_line(msg, "error", from, NULL, nlocal, 0, "internal-failure");
		goto fail;
	}
	log_line(msg, ir.smime == AUTHRES_NONE ? "none" : authres_result_word(ir.smime), from,
	    &ir, nlocal, ir.del_count, NULL);
	if (st == INBOUND_MODIFY) {
		out->action = PROCESS_MODIFY;
		out->result = ir.edit; /* transferred */
		out->del = ir.del; /* transferred */
		out->del_count = ir.del_count;
		memset(&ir, 0, sizeof(ir));
	}
	free(local);
	return;
fail:
	inbound_result_free(&ir);
	free(local);
	process_outcome_free(out);
	process_fail(snap, out);
}
