/*
 * process: end-of-message decision and transformation (see process.h). Owns the recipient
 * certificates it looks up and the engine result until it hands the result to the caller.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "common/log.h"
#include "common/log_limit.h"
#include "milter/process/attribution.h"
#include "milter/process/decide.h"
#include "milter/process/enrol_hook.h"
#include "milter/process/keycache.h"
#include "milter/process/process.h"
#include "milter/process/process_inbound.h"
#include "milter/engine/smime_inbound.h"
#include "policy/smimea.h"

#define OUTPUT_SLACK (1024 * 1024)

static void
hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * Recipient certificates for encryption: every recipient's plus the sender's own. Returns the
 * count (> 0) when all were found, 0 when one is missing (sign only), -1 on a CA failure.
 */
/*
 * SMIMEA for a recipient the store has no certificate for (smimea_lookup on). A stored but
 * unusable record is offered for hash matching; the inbound trust anchors serve PKIX-EE.
 * Returns CA_OK with *out, or CA_NOTFOUND (also when DNS failed: encryption is opportunistic).
 */
static int
smimea_cert(struct milter_runtime *rt, const struct snapshot *snap, const struct msg_ctx *msg,
    const char *rcpt, X509 **out)
{
	struct ca_recipient_info held;
	struct ca_error cerr = { "" };
	struct as_smimea_query q = { rcpt, NULL, 0, NULL };
	struct inbound *ib = runtime_inbound(rt, snap);
	enum as_smimea_status st;
	char why[300], rb[300], wb[400];
	X509 *known[1];

	memset(&held, 0, sizeof(held));
	if (ca_recipient_get(rt->ca, rcpt, &held, &cerr) == CA_OK) {
		known[0] = held.cert;
		q.known = known;
		q.known_count = 1;
	}
	if (ib != NULL)
		q.pkix_anchors = inbound_anchors(ib);
	st = as_smimea_lookup(snap->smimea, &q, out, why, sizeof(why));
	ca_recipient_info_free(&held);
	as_log(st == AS_SMIMEA_FAILED ? AS_LEVEL_NOTICE : AS_LEVEL_INFO, msg->qid,
	    "event=smimea rcpt=%s result=%s detail=%s", as_log_value(rcpt, rb, sizeof(rb)),
	    st == AS_SMIMEA_FOUND ? "found" : st == AS_SMIMEA_NONE ? "none" : "failed",
	    as_log_value(why, wb, sizeof(wb)));
	return st == AS_SMIMEA_FOUND ? CA_OK : CA_NOTFOUND;
}

/*
 * Whether rcpt is known to read AES-256-GCM with `cert`: a harvested certificate whose
 * signer advertised it (SMIMECapabilities), or one of ours for a user whose clients the
 * admin says read it (sender_capabilities). Anything else (SMIMEA, an admin import, no or
 * unparseable capabilities) is not known to, and gets CBC: RFC 8551 2.7.1.
 */
static bool
reads_gcm(struct milter_runtime *rt, const struct snapshot *snap, const char *rcpt, X509 *cert)
{
	struct ca_recipient_info held;
	struct ca_error cerr = { "" };
	X509 *ours = NULL;
	bool reads = false;

	if (ca_encryption_cert(rt->ca, rcpt, &ours, &cerr) == CA_OK && X509_cmp(ours, cert) == 0)
		reads = (snap->sender_caps & SMIME_CAP_AES256_GCM) != 0;
	else if (ca_recipient_get(rt->ca, rcpt, &held, &cerr) == CA_OK) {
		reads = held.caps != NULL && X509_cmp(held.cert, cert) == 0 &&
		    smime_caps_has_aes256_gcm(held.caps, held.caps_len) == 1;
		ca_recipient_info_free(&held);
	}
	X509_free(ours);
	return reads;
}

/*
 * A recipient certificate whose chain holds a revoked certificate (per the CRLs the gateway
 * holds now; nothing waits) is not encrypted to: the message goes as for a recipient without
 * a certificate, and the log says which CA.
 */
static bool
chain_usable(struct milter_runtime *rt, const struct snapshot *snap, const struct msg_ctx *msg,
    const char *rcpt, X509 *cert)
{
	struct inbound *ib = runtime_inbound(rt, snap);
	struct recipient_chain_result res;
	char rb[300], sb[300];

	if (ib == NULL || inbound_recipient_usable(ib, cert, &res))
		return true;
	as_log(AS_LEVEL_NOTICE, msg->qid, "event=recipient-unusable rcpt=%s reason=%s depth=%d "
	    "revoked=%s action=%s", as_log_value(rcpt, rb, sizeof(rb)), res.depth > 0 ?
	    "\"issuer revoked\"" : "\"certificate revoked\"", res.depth,
	    as_log_value(res.subject, sb, sizeof(sb)), snap->conf->sign ? "sign-only" : "pass");
	return false;
}

/*
 * Every recipient's certificate and last the sender's own encryption certificate (the
 * sender's copy): the count, 0 when one is unknown, -1 on error. *no_gcm (when not NULL) is
 * set to the first recipient not known to read AES-256-GCM.
 */
static int
recipient_certs(struct milter_runtime *rt, const struct snapshot *snap, const struct msg_ctx *msg,
    X509 *sender_cert, X509 ***out, const char **no_gcm, struct ca_error *err)
{
	X509 **certs = calloc(msg->rcpt_count + 1, sizeof(*certs));
	size_t n = 0;
	int r = -1;

	*out = NULL;
	if (certs == NULL) {
		snprintf(err->text, sizeof(err->text), "out of memory");
		return -1;
	}
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		int rc = ca_recipient_cert(rt->ca, msg->rcpts[i], &certs[n], err);

		if (rc == CA_NOTFOUND && snap->smimea != NULL)
			rc = smimea_cert(rt, snap, msg, msg->rcpts[i], &certs[n]);

		if (rc == CA_OK && !chain_usable(rt, snap, msg, msg->rcpts[i], certs[n])) {
			X509_free(certs[n]);
			certs[n] = NULL;
			rc = CA_NOTFOUND;  /* as for a recipient without a certificate */
		}
		if (rc == CA_NOTFOUND || rc == CA_INVALID) {
			r = 0;
			goto out;
		}
		if (rc != CA_OK)
			goto out;
		if (no_gcm != NULL && *no_gcm == NULL && !reads_gcm(rt, snap, msg->rcpts[i],
		    certs[n]))
			*no_gcm = msg->rcpts[i];
		n++;
	}
	if (sender_cert == NULL) {
		r = 0; /* no certificate to keep the sender's copy readable: sign only */
		goto out;
	}
	if (X509_up_ref(sender_cert) != 1)
		goto out;
	certs[n++] = sender_cert;
	*out = certs;
	certs = NULL; /* transferred */
	r = (int)n;
out:
	if (certs != NULL) {
		for (size_t i = 0; i < n; i++)
			X509_free(certs[i]);
		free(certs);
	}
	return r;
}

static void
free_certs(X509 **certs, int n)
{
	for (int i = 0; i < n; i++)
		X509_free(certs[i]);
	free(certs);
}

static void
log_pass(const struct msg_ctx *msg, enum decide_verdict v, const char *from)
{
	char f[300], l[300];
	int level = (v == DECIDE_NOT_OUTBOUND || v == DECIDE_FOREIGN_FROM) ? AS_LEVEL_DEBUG :
	    v == DECIDE_UNAUTHORISED_FROM || v == DECIDE_UNATTRIBUTED ? AS_LEVEL_NOTICE :
	    AS_LEVEL_INFO;

	as_log(level, msg->qid, "event=pass reason=%s from=%s login=%s", decide_reason(v),
	    as_log_value(from, f, sizeof(f)), as_log_value(msg->login, l, sizeof(l)));
}

/*
 * A fault that fails every message (a full disk, a broken store) is logged once a minute per
 * stage and reason, with the count held back, not once per message; the rest go to debug.
 */
static void
log_failure(const char *qid, const char *stage, const char *reason, const char *action)
{
	static struct as_log_limit limit = AS_LOG_LIMIT_INIT(60);
	char key[AS_LOG_LIMIT_KEY], safe[600];
	unsigned long held;

	snprintf(key, sizeof(key), "%s %s", stage, reason);
	as_log_value(reason, safe, sizeof(safe));
	if (!as_log_limit_pass(&limit, key, time(NULL), &held)) {
		ERR_clear_error();
		as_log(AS_LEVEL_DEBUG, qid, "event=error stage=%s reason=%s action=%s", stage, safe,
		    action);
		return;
	}
	as_log_ssl(AS_LEVEL_ERR, qid, "event=error stage=%s reason=%s action=%s repeated=%lu",
	    stage, safe, action, held);
}

static int
audit_and_log(struct milter_runtime *rt, const struct msg_ctx *msg, const char *from,
    const struct ca_signer *signer, const struct smime_result *res, bool encrypted,
    struct ca_error *err)
{
	char sha[65], mid[300], f[300], fields[1200];
	const char *message_id = msg_header(msg, "Message-ID", 1);

	hex(res->entity_sha256, sizeof(res->entity_sha256), sha);
	as_log_value(message_id != NULL ? message_id : "", mid, sizeof(mid));
	as_log_value(from, f, sizeof(f));
	snprintf(fields, sizeof(fields),
	    "qid=%s message_id=%s sender=%s recipients=%zu sha256=%s serial=%s encrypted=%s",
	    msg->qid, mid, f, msg->rcpt_count, sha, signer->serial_hex, encrypted ? "yes" : "no");
	if (ca_audit(rt->ca, "sign", "milter", fields, err) != CA_OK)
		return -1;
	as_log(AS_LEVEL_INFO, msg->qid,
	    "event=sign sender=%s recipients=%zu serial=%s sha256=%s encrypted=%s message_id=%s",
	    f, msg->rcpt_count, signer->serial_hex, sha, encrypted ? "yes" : "no", mid);
	return 0;
}

void
process_log_headers_overflow(const struct msg_ctx *msg)
{
	char safe[600];

	/* the one record an admin finds when such a message went out unsigned */
	as_log(AS_LEVEL_NOTICE, msg->qid, "event=pass reason=headers-too-large signed=no "
	    "mail_from=%s limit_headers=%d limit_header_bytes=%d",
	    as_log_value(msg->mail_from, safe, sizeof(safe)), SMIME_MAX_HEADERS,
	    SMIME_MAX_HEADER_LEN);
}

static void
process_one(struct milter_runtime *rt, const struct snapshot *snap,
    const struct conn_ctx *conn, const struct msg_ctx *msg, struct process_outcome *out)
{
	const struct as_conf *conf = snap->conf;
	struct decide_input in;
	struct decide_rules rules;
	struct smime_message sm = { msg->headers, msg->header_count, msg->body };
	struct smime_options opt = { 0 };
	struct smime_signer sg = { 0 };
	struct smime_error serr = { "" };
	struct ca_error cerr = { "" };
	struct keycache_entry *entry = NULL;
	struct spool *empty = NULL;
	const struct ca_signer *signer;
	enum decide_verdict v;
	enum smime_status st;
	X509 **certs = NULL;
	int ncerts = 0, rc;
	char from[DECIDE_MAX_ADDR], safe[600];
	const char *stage = "decide", *no_gcm = NULL;

	memset(out, 0, sizeof(*out));
	out->action = PROCESS_PASS;
	if (enrol_hook_is_reply(snap, msg)) {
		/* whatever the direction: parsed, answered, never delivered */
		enrol_hook_reply(rt, snap, conn, msg, out);
		return;
	}
	if (msg->headers_overflow) {
		process_log_headers_overflow(msg);
		return;
	}
	if (sm.body == NULL) {
		/* a message without body: the engine still wants a spool */
		empty = spool_new(4096, conf->spool_dir, 0);
		if (empty == NULL)
			goto fail;
		sm.body = empty;
	}
	attribution_gather(snap, conn, msg, msg_from_mailbox(msg, from, sizeof(from)) == 0 ? from :
	    NULL, &in, &rules);
	if (process_is_inbound(snap, conn, msg)) {
		process_inbound(rt, snap, msg, sm.body, in.from, out);
		goto out;
	}
	if (enrol_hook_own_mail(snap, in.from)) {
		/* the gateway's challenge or confirmation: never signed, never enrolled */
		as_log(AS_LEVEL_INFO, msg->qid, "event=pass reason=enrolment-mail");
		goto out;
	}
	in.already_smime = in.from != NULL && smime_is_smime(&sm);
	v = decide(&in, &rules);
	if (v != DECIDE_SIGN) {
		log_pass(msg, v, in.from);
		goto out;
	}
	stage = "signer";
	rc = keycache_get(rt->keys, from, conf->cert_cache_ttl, snap->sender_caps, &entry, &cerr);
	if (rc == CA_NOTFOUND && enrol_hook_unenrolled(rt, snap, conn, msg, from, out) == 0)
		goto out;
	if (rc == CA_NOTFOUND) {
		as_log(AS_LEVEL_INFO, msg->qid, "event=pass reason=not-enrolled from=%s action=%s",
		    as_log_value(from, safe, sizeof(safe)),
		    as_conf_enum_word("unenrolled_action", conf->unenrolled_action));
		if (conf->unenrolled_action == AS_UNENROLLED_TEMPFAIL) {
			out->action = PROCESS_TEMPFAIL;
			out->rcode = "451";
			out->xcode = "4.7.0";
			out->text = "sender has no S/MIME certificate yet";
		} else if (conf->unenrolled_action == AS_UNENROLLED_REJECT) {
			out->action = PROCESS_REJECT;
			out->rcode = "550";
			out->xcode = "5.7.0";
			out->text = "sender has no S/MIME certificate";
		}
		goto out;
	}
	if (rc != CA_OK)
		goto fail;
	signer = keycache_signer(entry);
	enrol_hook_renewal(rt, snap, msg, from, signer->cert);
	sg.key = signer->key;
	sg.cert = signer->cert;
	sg.chain = signer->chain;
	sg.tmpl = keycache_template(entry);
	sg.enc_cert = keycache_encryption_cert(entry);
	sg.caps = snap->sender_caps;
	opt.header_protection = conf->header_protection;
	opt.cipher = conf->cipher == AS_CIPHER_AES256_GCM ? SMIME_AES256_GCM : SMIME_AES256_CBC;
	opt.mem_limit = (size_t)conf->memory_spool_limit;
	opt.spool_dir = conf->spool_dir;
	opt.max_size = (size_t)conf->message_size_limit * 2 + OUTPUT_SLACK;
	if (conf->encrypt == AS_ENCRYPT_WHEN_POSSIBLE && msg->rcpt_count > 0 &&
	    !msg->rcpts_overflow) {
		stage = "recipients";
		ncerts = recipient_certs(rt, snap, msg, sg.enc_cert, &certs,
		    opt.cipher == SMIME_AES256_GCM ? &no_gcm : NULL, &cerr);
		if (ncerts < 0)
			goto fail;
		if (ncerts > 0 && opt.cipher == SMIME_AES256_GCM &&
		    (no_gcm != NULL || !(snap->sender_caps & SMIME_CAP_AES256_GCM))) {
			opt.cipher = SMIME_AES256_CBC;
			as_log(AS_LEVEL_INFO, msg->qid,
			    "event=cipher cipher=aes256-cbc reason=recipient-capabilities rcpt=%s",
			    as_log_value(no_gcm != NULL ? no_gcm : from, safe, sizeof(safe)));
		}
	}
	if (!conf->sign && ncerts == 0) {
		as_log(AS_LEVEL_INFO, msg->qid, "event=pass reason=signing-disabled");
		goto out;
	}
	stage = "engine";
	if (ncerts > 0)
		st = smime_encrypt(&sm, conf->sign ? &sg : NULL, certs, (size_t)ncerts, &opt,
		    &out->result, &serr);
	else
		st = smime_sign(&sm, &sg, &opt, &out->result, &serr);
	if (st == SMIME_SKIP) {
		as_log(AS_LEVEL_INFO, msg->qid, "event=pass reason=engine-skip detail=%s",
		    as_log_value(serr.text, safe, sizeof(safe)));
		goto out;
	}
	if (st != SMIME_OK)
		goto fail;
	out->action = PROCESS_MODIFY;
	out->encrypted = ncerts > 0;
	stage = "audit";
	if (audit_and_log(rt, msg, from, signer, &out->result, out->encrypted, &cerr) < 0)
		goto fail;
	goto out;
fail:
	if (out->action == PROCESS_MODIFY)
		smime_result_free(&out->result);
	memset(out, 0, sizeof(*out));
	process_fail(snap, out);
	log_failure(msg->qid, stage,
	    serr.text[0] ? serr.text : cerr.text[0] ? cerr.text : "internal failure",
	    as_conf_enum_word("on_error", conf->on_error));
out:
	free_certs(certs, ncerts);
	keycache_put(rt->keys, entry);
	spool_free(empty);
}

/* The CA's store may be reopening (ca_enter): then the message waits in the MTA (4xx). */
void
process_message(struct milter_runtime *rt, const struct snapshot *snap,
    const struct conn_ctx *conn, const struct msg_ctx *msg, struct process_outcome *out)
{
	struct ca_error cerr = { "" };

	if (rt->ca != NULL && ca_enter(rt->ca, &cerr) != CA_OK) {
		memset(out, 0, sizeof(*out));
		process_fail(snap, out);
		/* the cause is logged once a minute by the store, not per message */
		as_log(AS_LEVEL_DEBUG, msg->qid, "event=error stage=store reason=%s action=%s",
		    cerr.text, as_conf_enum_word("on_error", snap->conf->on_error));
		return;
	}
	process_one(rt, snap, conn, msg, out);
	if (rt->ca != NULL)
		ca_leave(rt->ca);
}
