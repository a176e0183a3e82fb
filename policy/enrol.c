/*
 * enrol: the enrolment flows (see enrol.h): a challenge for an unenrolled sender, the reply
 * that answers it, and the issuance that follows a validation (CAA, profile, ca_issue, the
 * confirmation mail). Owns nothing beyond each call: tokens and mail buffers are wiped and
 * freed before returning. Context, status and CLI commands live in enrol_admin.c.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>

#include "common/log.h"
#include "common/util.h"
#include "common/domain_profile.h"
#include "ca/ca_domain.h"
#include "policy/caa_quorum.h"
#include "policy/challenge_mail.h"
#include "policy/enrol_int.h"
#include "policy/sendmail.h"
#include "policy/spf.h"
#include "policy/token.h"

/* The user-facing answers: what to do, nothing about which check failed. */
static const char answer_refused_fmt[] =
    "Your reply could not be accepted. Reply from your own mailbox, logged in with your own "
    "account, to the most recent enrolment mail without changing its subject. If that mail "
    "is more than %s old, send any mail to receive a new one.";
/* Before the token is redeemed: the challenge stays open, nothing was confirmed. */
static const char answer_caa_fmt[] =
    "A certificate cannot be issued for your address at the moment: the DNS of your domain "
    "does not allow this certificate authority. Please tell your administrator. Your "
    "enrolment mail stays valid until %s; reply to it again once this is fixed.";
static const char answer_blocked[] =
    "Your address was confirmed, but a certificate cannot be issued for it at the moment. "
    "Please contact your administrator.";
static const char answer_tempfail[] =
    "A temporary problem prevented processing your reply. Please reply again later.";

/* "24 hours", "1 hour", "90 minutes": the configured lifetime in the words of the answer. */
static void
lifetime_words(long long secs, char *buf, size_t cap)
{
	if (secs % 3600 == 0)
		snprintf(buf, cap, "%lld hour%s", secs / 3600, secs == 3600 ? "" : "s");
	else
		snprintf(buf, cap, "%lld minutes", (secs + 59) / 60);
}

#define PURGE_INTERVAL 600

static const char *
v(const char *value, char *buf, size_t cap)
{
	return as_log_value(value != NULL ? value : "", buf, cap);
}

static enum enrol_action
unenrolled_action(const struct enrol_ctx *ctx)
{
	switch (ctx->p.unenrolled_action) {
	case AS_UNENROLLED_TEMPFAIL: return ENROL_ACT_TEMPFAIL;
	case AS_UNENROLLED_REJECT: return ENROL_ACT_REJECT;
	default: return ENROL_ACT_PASS;
	}
}

static void
maybe_purge(struct enrol_ctx *ctx, time_t now)
{
	long long last = __atomic_load_n(&ctx->last_purge, __ATOMIC_RELAXED);
	size_t n = 0;

	if ((long long)now - last < PURGE_INTERVAL ||
	    !__atomic_compare_exchange_n(&ctx->last_purge, &last, (long long)now, false,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	if (as_estore_purge(ctx->es, now, &n) != AS_ES_OK)
		as_log(AS_LEVEL_WARNING, NULL, "event=enrol-purge result=error");
	else if (n > 0)
		as_log(AS_LEVEL_INFO, NULL, "event=enrol-purge purged=%zu", n);
}

/* Replace *msg (len bytes, wiped and freed) by its signed form; 0, or -1 leaving it as is. */
static int
sign_own(struct enrol_ctx *ctx, const char *actor, time_t now, char **msg, size_t *len,
    char *err, size_t errcap)
{
	char *signed_msg = NULL;
	size_t n = 0;

	if (enrol_gateway_sign(ctx, actor, now, *msg, *len, &signed_msg, &n, err, errcap) < 0)
		return -1;
	as_wipe(*msg, *len);
	free(*msg);
	*msg = signed_msg;
	*len = n;
	return 0;
}

int
enrol_send_challenge(struct enrol_ctx *ctx, const char *mailbox, const char *client,
    const char *actor, time_t now, struct enrol_decision *out)
{
	const char *extra[] = { "-f", ctx->p.enrol_address, NULL };
	struct as_challenge c;
	struct as_challenge_mail m;
	enum as_rl_verdict verdict = AS_RL_OK;
	char tok[AS_TOKEN_LEN + 1], err[512], b1[300], b2[300], net[AS_ES_CLIENT_MAX + 1];
	char *msg = NULL;
	size_t len = 0;
	time_t retry_at = 0;
	int r = -1, k;

	out->event = ENROL_EV_ERROR;
	if (client != NULL && enrol_client_net(client, net, sizeof(net)) < 0)
		return -1;
	maybe_purge(ctx, now);
	if (as_estore_challenge_open(ctx->es, mailbox, now, &c) == AS_ES_OK) {
		memcpy(out->challenge_id, c.id, sizeof(out->challenge_id));
		out->event = ENROL_EV_CHALLENGE_OPEN;
		return 0;
	}
	memset(&c, 0, sizeof(c));
	if (as_token_new(tok, sizeof(tok), c.hash) < 0 || as_token_id(c.hash, c.id) < 0) {
		as_log_ssl(AS_LEVEL_ERR, NULL, "event=enrol-challenge result=error reason=csprng");
		goto out;
	}
	memset(&m, 0, sizeof(m));
	m.enrol_address = ctx->p.enrol_address;
	m.mailbox = mailbox;
	m.token = tok;
	m.subject_prefix = ctx->p.challenge_subject_prefix;
	m.template_text = ctx->template_text;
	m.now = now;
	m.expires = now + (time_t)ctx->p.challenge_lifetime;
	if (as_challenge_mail_build(&m, &msg, &len, c.message_id, sizeof(c.message_id), err,
	    sizeof(err)) < 0) {
		as_log(AS_LEVEL_ERR, NULL, "event=enrol-challenge mailbox=%s result=error reason=%s",
		    v(mailbox, b1, sizeof(b1)), v(err, b2, sizeof(b2)));
		goto out;
	}
	if (sign_own(ctx, actor, now, &msg, &len, err, sizeof(err)) < 0) {
		as_log(AS_LEVEL_ERR, NULL, "event=enrol-challenge mailbox=%s result=error reason=%s",
		    v(mailbox, b1, sizeof(b1)), v(err, b2, sizeof(b2)));
		goto out;
	}
	snprintf(c.mailbox, sizeof(c.mailbox), "%s", mailbox);
	c.created = now;
	c.expires = m.expires;
	k = as_estore_challenge_create_client(ctx->es, &c, client != NULL ? net : NULL,
	    &ctx->p.limits, now, &verdict, &retry_at);
	if (k == AS_ES_EXISTS) {
		out->event = ENROL_EV_CHALLENGE_OPEN;
		r = 0;
		goto out;
	}
	if (k == AS_ES_LIMITED) {
		out->event = ENROL_EV_RATE_LIMITED;
		enrol_audit(ctx, "enrol-challenge", actor, "mailbox=%s result=rate-limited limit=%s "
		    "client_net=%s retry_at=%lld", v(mailbox, b1, sizeof(b1)),
		    as_rl_verdict_name(verdict), client != NULL ? net : "-", (long long)retry_at);
		r = 0;
		goto out;
	}
	if (k != AS_ES_OK)
		goto out;
	memcpy(out->challenge_id, c.id, sizeof(out->challenge_id));
	if (as_sendmail_inject(ctx->p.sendmail_command, extra, msg, len,
	    ctx->p.sendmail_timeout_ms > 0 ? ctx->p.sendmail_timeout_ms : ENROL_SENDMAIL_TIMEOUT_MS,
	    err, sizeof(err)) < 0) {
		/* Not sent: no challenge stays open (the send time still counts for the limits). */
		as_estore_challenge_cancel(ctx->es, mailbox, NULL);
		enrol_audit(ctx, "enrol-challenge", actor, "mailbox=%s challenge=%s result=error "
		    "reason=%s", v(mailbox, b1, sizeof(b1)), c.id, v(err, b2, sizeof(b2)));
		goto out;
	}
	enrol_audit(ctx, "enrol-challenge", actor, "mailbox=%s challenge=%s result=sent "
	    "message_id=%s expires=%lld client_net=%s", v(mailbox, b1, sizeof(b1)), c.id,
	    v(c.message_id, b2, sizeof(b2)), (long long)c.expires, client != NULL ? net : "-");
	out->event = ENROL_EV_CHALLENGE_SENT;
	r = 0;
out:
	as_wipe(tok, sizeof(tok));
	if (msg != NULL) {
		as_wipe(msg, len);
		free(msg);
	}
	return r;
}

/* CAA for the mailbox's domain (unless caa_check is off). True when issuance may go on. */
static bool
caa_step(struct enrol_ctx *ctx, const char *mailbox, const char *actor, time_t now,
    struct as_caa_result *res)
{
	struct as_caa_params p = { .resolver = ctx->p.dns_resolver,
		.trust_anchor_file = ctx->p.dns_trust_anchor_file, .ca_domain = ctx->p.ca_domain,
		.now = now };
	char b1[300], b2[1400];

	memset(res, 0, sizeof(*res));
	if (!ctx->p.caa_check) {
		res->outcome = AS_CAA_ALLOWED;
		snprintf(res->evidence, sizeof(res->evidence), "caa_check off");
		return true;
	}
	as_caa_check_quorum(&p, &ctx->perspectives, strrchr(mailbox, '@') + 1, res);
	enrol_audit(ctx, "enrol-caa", actor, "mailbox=%s result=%s evidence=%s",
	    v(mailbox, b1, sizeof(b1)), as_caa_outcome_name(res->outcome),
	    v(res->evidence, b2, sizeof(b2)));
	return as_caa_permits(res->outcome);
}

static enum ca_profile
ca_profile_of(int p)
{
	return p == AS_PROFILE_SPONSOR ? CA_PROFILE_SPONSOR :
	    p == AS_PROFILE_ORGANIZATION ? CA_PROFILE_ORGANIZATION : CA_PROFILE_MAILBOX;
}

static enum ca_key_type
ca_key_of(int k)
{
	switch (k) {
	case AS_KEY_EC_P384: return CA_KEY_EC_P384;
	case AS_KEY_RSA2048: return CA_KEY_RSA2048;
	case AS_KEY_RSA3072: return CA_KEY_RSA3072;
	case AS_KEY_RSA4096: return CA_KEY_RSA4096;
	default: return CA_KEY_EC_P256;
	}
}

/* What the reply's issuance commits with it: the challenge spent, the validation stored. */
struct spend_arg {
	struct as_estore *es;
	const char *mailbox;
	const struct as_challenge *c;
	const struct as_validation *val;
	time_t now;
	int result;   /* AS_ES_NOTFOUND: the challenge was no longer open */
};

static int
spend_in_issuance(void *db_txn, void *varg)
{
	struct spend_arg *a = varg;
	DB_TXN *txn = db_txn;
	int ret;

	ret = as_estore_challenge_spend(a->es, txn, a->mailbox, a->c, a->now);
	if (ret == AS_ES_NOTFOUND) {
		a->result = AS_ES_NOTFOUND;
		return CA_ERR;
	}
	if (ret != 0)
		return ret;   /* a deadlock retries the whole issuance */
	return as_estore_validation_put_txn(a->es, txn, a->mailbox, a->val);
}

static int
spend_alone(DB_TXN *txn, void *arg)
{
	return spend_in_issuance(txn, arg);
}

/*
 * Issue on a recorded validation and mail the confirmation. Returns 0 (issued; *sent says
 * whether the confirmation went out), 1 (blocked: no sponsor entry for a sponsor profile),
 * or -1 (internal failure).
 */
static int
issue_step(struct enrol_ctx *ctx, const char *mailbox, const char *validation_id,
    const char *in_reply_to, const char *actor, time_t now, char serial[41], bool *sent,
    int (*in_txn)(void *db_txn, void *arg), void *in_txn_arg)
{
	const char *extra[] = { "-f", ctx->p.enrol_address, NULL };
	const struct as_sponsor_entry *se = NULL;
	struct as_domain_profile defaults, dp;
	struct ca_domain_info dv;
	struct ca_issue_request req;
	struct ca_issued is;
	struct ca_error cerr;
	struct as_confirm_mail cm;
	char err[512], b1[300], b2[600], msgid[AS_MAIL_MSGID_MAX];
	char *msg = NULL;
	size_t len = 0;
	int k;

	*sent = false;
	memset(&req, 0, sizeof(req));
	memset(&is, 0, sizeof(is));
	defaults = (struct as_domain_profile){ "", ctx->p.profile, ctx->p.key_type,
		ctx->p.cert_validity };
	as_domain_profile_for(ctx->p.domain_profiles, &defaults, mailbox, &dp);
	req.mailbox = mailbox;
	req.profile = ca_profile_of(dp.profile);
	req.generation = ctx->p.generation == AS_GEN_MULTIPURPOSE ? CA_GEN_MULTIPURPOSE :
	    CA_GEN_STRICT;
	req.key_type = ca_key_of(dp.key_type);
	req.validity_seconds = dp.validity;
	req.validation_ref = validation_id;
	req.actor = actor;
	req.in_txn = in_txn;
	req.in_txn_arg = in_txn_arg;
	if (req.profile == CA_PROFILE_SPONSOR) {
		se = ctx->sponsors != NULL ? as_sponsor_lookup(ctx->sponsors, mailbox) : NULL;
		if (se == NULL) {
			enrol_audit(ctx, "enrol-issue", actor, "mailbox=%s validation=%s result=blocked "
			    "reason=no-sponsor-entry", v(mailbox, b1, sizeof(b1)), validation_id);
			return 1;
		}
		req.given_name = se->given_name;
		req.surname = se->surname;
	}
	if (req.profile == CA_PROFILE_ORGANIZATION &&
	    (k = ca_domain_valid_for(ctx->p.ca, strrchr(mailbox, '@') + 1, now, &dv, &cerr)) !=
	    CA_OK) {
		if (k == CA_ERR)
			return -1;   /* the store failed: a temporary error, not a verdict */
		/* S/MIME BR 3.2.2.1: no organization-validated certificate without domain control */
		enrol_audit(ctx, "enrol-issue", actor, "mailbox=%s validation=%s result=blocked "
		    "reason=no-domain-validation detail=%s", v(mailbox, b1, sizeof(b1)), validation_id,
		    v(cerr.text, b2, sizeof(b2)));
		return 1;
	}
	if ((k = ca_issue(ctx->p.ca, &req, &is, &cerr)) != CA_OK) {
		enrol_audit(ctx, "enrol-issue", actor, "mailbox=%s validation=%s result=error "
		    "reason=%s", v(mailbox, b1, sizeof(b1)), validation_id,
		    v(cerr.text, b2, sizeof(b2)));
		return -1;
	}
	snprintf(serial, 41, "%s", is.serial_hex);
	enrol_audit(ctx, "enrol-issue", actor, "mailbox=%s validation=%s result=issued serial=%s "
	    "profile=%s", v(mailbox, b1, sizeof(b1)), validation_id, is.serial_hex,
	    ca_profile_name(req.profile));
	memset(&cm, 0, sizeof(cm));
	cm.enrol_address = ctx->p.enrol_address;
	cm.mailbox = mailbox;
	cm.in_reply_to = in_reply_to != NULL && in_reply_to[0] != '\0' ? in_reply_to : NULL;
	cm.cert = is.cert;
	cm.chain = is.chain;
	cm.now = now;
	if (as_confirm_mail_build(&cm, &msg, &len, msgid, sizeof(msgid), err, sizeof(err)) == 0 &&
	    sign_own(ctx, actor, now, &msg, &len, err, sizeof(err)) == 0 &&
	    as_sendmail_inject(ctx->p.sendmail_command, extra, msg, len,
	    ctx->p.sendmail_timeout_ms > 0 ? ctx->p.sendmail_timeout_ms : ENROL_SENDMAIL_TIMEOUT_MS,
	    err, sizeof(err)) == 0)
		*sent = true;
	enrol_audit(ctx, "enrol-confirm", actor, "mailbox=%s serial=%s result=%s%s%s",
	    v(mailbox, b1, sizeof(b1)), is.serial_hex, *sent ? "sent" : "error",
	    *sent ? "" : " reason=", *sent ? "" : v(err, b2, sizeof(b2)));
	free(msg);
	ca_issued_free(&is);
	return 0;
}

static void
new_validation_id(char id[17])
{
	unsigned char raw[8];
	int i;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		memset(raw, 0, sizeof(raw));   /* an id, not a secret: a fixed value still works */
	for (i = 0; i < 8; i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
}

/* The shared body of enrol_unenrolled_sender and enrol_renew. */
static int
sender_flow(struct enrol_ctx *ctx, const char *mailbox_in, const char *client, time_t now,
    bool renew, struct enrol_decision *out)
{
	struct as_validation val;
	struct as_caa_result caa;
	char mailbox[AS_ES_MAILBOX_MAX + 1];
	const char *actor = enrol_actor(ctx);
	bool sent;
	int k;

	memset(out, 0, sizeof(*out));
	out->action = ENROL_ACT_PASS;
	out->event = ENROL_EV_NOT_ELIGIBLE;
	if (ctx == NULL || mailbox_in == NULL || enrol_mailbox_norm(mailbox_in, mailbox,
	    sizeof(mailbox)) < 0 || !enrol_eligible(ctx, mailbox))
		return 0;
	if (enrol_validation_reusable(ctx, mailbox, now, NULL) &&
	    as_estore_validation_get(ctx->es, mailbox, &val) == AS_ES_OK) {
		/* BR 4.2.1: a validation may be reused for a while; CAA is checked every time. */
		if (!caa_step(ctx, mailbox, actor, now, &caa)) {
			out->event = ENROL_EV_BLOCKED;
			return 0;
		}
		k = issue_step(ctx, mailbox, val.id, NULL, actor, now, out->serial_hex, &sent, NULL,
		    NULL);
		if (k == 0) {
			out->event = ENROL_EV_ISSUED;
			return 0;
		}
		if (k == 1) {
			out->event = ENROL_EV_BLOCKED;
			return 0;
		}
		goto fail;
	}
	if (enrol_send_challenge(ctx, mailbox, client, actor, now, out) < 0)
		goto fail;
	out->action = renew ? ENROL_ACT_PASS : unenrolled_action(ctx);
	return 0;
fail:
	/* with unenrolled_action pass the mail goes out unsigned whatever enrolment did */
	out->event = ENROL_EV_ERROR;
	out->action = renew || ctx->p.unenrolled_action == AS_UNENROLLED_PASS ? ENROL_ACT_PASS :
	    ENROL_ACT_TEMPFAIL;
	return -1;
}

int
enrol_unenrolled_sender(struct enrol_ctx *ctx, const char *mailbox, time_t now,
    struct enrol_decision *out)
{
	return sender_flow(ctx, mailbox, NULL, now, false, out);
}

int
enrol_unenrolled_sender_at(struct enrol_ctx *ctx, const char *mailbox, const char *client,
    time_t now, struct enrol_decision *out)
{
	return sender_flow(ctx, mailbox, client != NULL ? client : "", now, false, out);
}

int
enrol_renew(struct enrol_ctx *ctx, const char *mailbox, time_t now, struct enrol_decision *out)
{
	return sender_flow(ctx, mailbox, NULL, now, true, out);
}

/* Is the session entitled to speak for `mailbox`? Sets *why (audit) and the SPF result. */
static bool
session_ok(struct enrol_ctx *ctx, const struct enrol_reply_facts *f, const char **why,
    enum as_spf_result *spf)
{
	char err[256];

	*spf = AS_SPF_NONE;
	if (f->sasl_login != NULL && f->sasl_login[0] != '\0') {
		*why = f->login_may_use ? "" : "login-may-not-use-mailbox";
		return f->login_may_use;
	}
	if (!ctx->p.allow_internal_unauthenticated || !f->client_internal) {
		*why = "unauthenticated";
		return false;
	}
	if (!ctx->p.spf_check) {
		*why = "";
		return true;
	}
	as_spf_check(ctx->p.dns_resolver, f->client_ip, f->helo, f->envelope_sender, spf, err,
	    sizeof(err));
	*why = *spf == AS_SPF_PASS ? "" : "spf-not-pass";
	return *spf == AS_SPF_PASS;
}

int
enrol_handle_reply(struct enrol_ctx *ctx, const struct enrol_reply_facts *f,
    const struct as_reply_tokens *reply, time_t now, struct enrol_reply_result *out)
{
	char from[AS_ES_MAILBOX_MAX + 1], env[AS_ES_MAILBOX_MAX + 1], tok[AS_TOKEN_LEN + 1];
	char b1[300], b2[300], b3[300], b4[300], b5[1400], when[48];
	const char *actor, *why = "";
	struct as_challenge c;
	struct as_caa_result caa;
	struct as_validation val;
	struct spend_arg spend;
	enum as_spf_result spf = AS_SPF_NONE;
	enum as_reply_verdict rv;
	bool sent = false;
	int k;

	if (out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	out->status = ENROL_REPLY_TEMPFAIL;
	snprintf(out->answer, sizeof(out->answer), "%s", answer_tempfail);
	if (ctx == NULL || f == NULL || reply == NULL)
		return -1;
	actor = enrol_actor(ctx);
	out->status = ENROL_REPLY_REFUSED;
	lifetime_words(ctx->p.challenge_lifetime, when, sizeof(when));
	snprintf(out->answer, sizeof(out->answer), answer_refused_fmt, when);
	memset(tok, 0, sizeof(tok));
	/* 1. The sender: From: and envelope sender are the same, eligible mailbox. */
	if (f->from_mailbox == NULL || f->envelope_sender == NULL ||
	    enrol_mailbox_norm(f->from_mailbox, from, sizeof(from)) < 0 ||
	    enrol_mailbox_norm(f->envelope_sender, env, sizeof(env)) < 0 || strcmp(from, env) != 0) {
		why = "from-differs-from-envelope";
		snprintf(from, sizeof(from), "%s", f->from_mailbox != NULL ? f->from_mailbox : "");
		goto refused;
	}
	if (!enrol_eligible(ctx, from)) {
		why = "not-eligible";
		goto refused;
	}
	/* 2. The session: an authenticated login that may use it, or internal + SPF pass. */
	if (!session_ok(ctx, f, &why, &spf))
		goto refused;
	/* 3. One token: the subject, body and response block must not disagree. */
	rv = as_reply_pick(reply, tok);
	if (rv != AS_REPLY_ONE) {
		why = rv == AS_REPLY_NONE ? "no-token" : "conflicting-tokens";
		goto refused;
	}
	/*
	 * 4. CAA before the token is spent: when DNS blocks issuance the challenge stays open for
	 * a reply after the admin's fix, and the answer confirms nothing.
	 */
	k = as_estore_challenge_open(ctx->es, from, now, &c);
	if (k == AS_ES_ERR)
		goto tempfail;
	if (k != AS_ES_OK) {
		why = "no-open-challenge";
		goto refused;
	}
	if (!caa_step(ctx, from, actor, now, &caa)) {
		struct tm tm;

		as_wipe(tok, sizeof(tok));
		if (caa.outcome == AS_CAA_LOOKUP_FAILED) {
			/* DNS gave no verdict (e.g. too few perspectives answered): try again later */
			out->status = ENROL_REPLY_TEMPFAIL;
			snprintf(out->answer, sizeof(out->answer), "%s", answer_tempfail);
			memcpy(out->challenge_id, c.id, sizeof(out->challenge_id));
			enrol_audit(ctx, "enrol-reply", actor, "mailbox=%s challenge=%s result=tempfail "
			    "reason=caa-lookup-failed challenge_kept=yes", v(from, b2, sizeof(b2)), c.id);
			return 0;
		}
		gmtime_r(&c.expires, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
		out->status = ENROL_REPLY_BLOCKED;
		snprintf(out->answer, sizeof(out->answer), answer_caa_fmt, when);
		memcpy(out->challenge_id, c.id, sizeof(out->challenge_id));
		enrol_audit(ctx, "enrol-reply", actor, "mailbox=%s challenge=%s result=blocked "
		    "reason=caa challenge_kept=yes", v(from, b2, sizeof(b2)), c.id);
		return 0;
	}
	/* 5. The open challenge of that mailbox: the token checked (a wrong one counted). */
	k = as_estore_challenge_check(ctx->es, from, tok, strlen(tok), reply->in_reply_to, now,
	    &c);
	as_wipe(tok, sizeof(tok));
	if (k == AS_ES_ERR)
		goto tempfail;
	if (k != AS_ES_OK) {
		why = k == AS_ES_MISMATCH ? "token-or-in-reply-to-mismatch" :
		    "no-open-challenge";
		goto refused;
	}
	memcpy(out->challenge_id, c.id, sizeof(out->challenge_id));
	enrol_audit(ctx, "enrol-reply", actor, "mailbox=%s challenge=%s result=accepted "
	    "login=%s client_ip=%s spf=%s reply_message_id=%s", v(from, b1, sizeof(b1)), c.id,
	    v(f->sasl_login, b2, sizeof(b2)), v(f->client_ip, b3, sizeof(b3)),
	    as_spf_result_name(spf), v(reply->message_id, b4, sizeof(b4)));
	/* 6. The validation record, then issuance. */
	memset(&val, 0, sizeof(val));
	new_validation_id(val.id);
	snprintf(val.method, sizeof(val.method), "%s", ENROL_METHOD);
	snprintf(val.br_version, sizeof(val.br_version), "%s", ENROL_BR_VERSION);
	val.time = now;
	snprintf(val.evidence, sizeof(val.evidence), "challenge=%s reply_message_id=%s login=%s "
	    "client_ip=%s spf=%s caa=%s caa_evidence=%s", c.id,
	    v(reply->message_id, b1, sizeof(b1)), v(f->sasl_login, b2, sizeof(b2)),
	    v(f->client_ip, b3, sizeof(b3)), as_spf_result_name(spf),
	    as_caa_outcome_name(caa.outcome), v(caa.evidence, b5, sizeof(b5)));
	enrol_audit(ctx, "enrol-validation", actor, "mailbox=%s validation=%s method=%s br=%s %s",
	    v(from, b1, sizeof(b1)), val.id, val.method, val.br_version, val.evidence);
	/*
	 * The challenge is spent and the validation recorded in the issuance's own transaction:
	 * a failure or a crash before its commit leaves the challenge open for another reply.
	 */
	spend = (struct spend_arg){ ctx->es, from, &c, &val, now, AS_ES_OK };
	k = issue_step(ctx, from, val.id, reply->message_id, actor, now, out->serial_hex, &sent,
	    spend_in_issuance, &spend);
	if (k < 0 && spend.result == AS_ES_NOTFOUND) {
		why = "no-open-challenge";   /* another reply spent it first */
		goto refused;
	}
	if (k < 0)
		goto tempfail;
	if (k == 1) {
		/* blocked before any issuance: the proof still counts, for when the admin acts */
		if (store_txn_run(ctx->p.store, spend_alone, &spend) != 0 &&
		    spend.result != AS_ES_NOTFOUND)
			goto tempfail;
		out->status = ENROL_REPLY_BLOCKED;
		snprintf(out->answer, sizeof(out->answer), "%s", answer_blocked);
		return 0;
	}
	out->status = ENROL_REPLY_ISSUED;
	out->confirmation_sent = sent;
	out->answer[0] = '\0';
	return 0;
refused:
	as_wipe(tok, sizeof(tok));
	enrol_audit(ctx, "enrol-reply", actor, "mailbox=%s result=refused reason=%s login=%s "
	    "client_ip=%s reply_message_id=%s", v(from, b1, sizeof(b1)), why,
	    v(f->sasl_login, b2, sizeof(b2)), v(f->client_ip, b3, sizeof(b3)),
	    v(reply->message_id, b4, sizeof(b4)));
	as_log(AS_LEVEL_NOTICE, f->qid, "event=enrol-reply result=refused mailbox=%s reason=%s",
	    b1, why);
	return 0;
tempfail:
	out->status = ENROL_REPLY_TEMPFAIL;
	snprintf(out->answer, sizeof(out->answer), "%s", answer_tempfail);
	enrol_audit(ctx, "enrol-reply", actor, "mailbox=%s result=tempfail",
	    v(from, b1, sizeof(b1)));
	return 0;
}

int
enrol_bounce(struct enrol_ctx *ctx, const char *text, size_t len, char challenge_id[17])
{
	struct as_challenge c;
	char id[AS_ES_MSGID_MAX], b1[300], b2[300];
	const char *p = text, *end = text + len, *lt, *gt;
	int tried = 0, k;

	challenge_id[0] = '\0';
	if (ctx == NULL || text == NULL)
		return -1;
	/* the DSN quotes the challenge's headers: try each Message-ID: line (a few at most) */
	while (p < end && tried < 8) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - p) > 11 && strncasecmp(p, "Message-ID:", 11) == 0 &&
		    (lt = memchr(p, '<', (size_t)(eol - p))) != NULL &&
		    (gt = memchr(lt, '>', (size_t)(eol - lt))) != NULL &&
		    (size_t)(gt - lt + 1) < sizeof(id)) {
			memcpy(id, lt, (size_t)(gt - lt + 1));
			id[gt - lt + 1] = '\0';
			tried++;
			k = as_estore_challenge_bounced(ctx->es, id, &c);
			if (k == AS_ES_ERR)
				return -1;
			if (k == AS_ES_OK) {
				memcpy(challenge_id, c.id, 17);
				enrol_audit(ctx, "enrol-challenge", enrol_actor(ctx), "mailbox=%s "
				    "challenge=%s result=bounced message_id=%s budget=refunded",
				    v(c.mailbox, b1, sizeof(b1)), c.id, v(id, b2, sizeof(b2)));
				return 1;
			}
		}
		p = eol + 1;
	}
	return 0;
}
