/*
 * enrol_hook: in-band enrolment in the milter (see enrol_hook.h). Owns the enrolment slots
 * hung on snapshots (each holds one struct enrol_ctx) and the registry that lets
 * enrol_hook_shutdown close them all before the CA closes its store. Reply texts are parsed
 * into a bounded buffer that is wiped (it holds a token) before it is freed.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>

#include "ca/ca.h"
#include "common/log.h"
#include "common/util.h"
#include "milter/process/attribution.h"
#include "milter/process/decide.h"
#include "milter/process/enrol_hook.h"
#include "milter/engine/spool.h"
#include "policy/enrol.h"
#include "policy/reply_parse.h"

#define ENROL_HOOK_RETRY 60     /* seconds before a failed open is tried again */
#define BODY_CHUNK 16384

/*
 * One per snapshot that needed enrolment; lifetime: from the first need until the snapshot is
 * freed. `ctx` is set once (under hook_lock) and read-only afterwards; shutdown closes it.
 */
struct enrol_slot {
	struct enrol_ctx *ctx;
	time_t failed_at;
	struct enrol_slot *prev, *next;   /* the registry, under hook_lock */
};

static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static struct enrol_slot *slots;
static bool shut_down;

/* The answer text of the last reply handled on this thread (see enrol_hook_reply). */
static _Thread_local char answer_buf[ENROL_ANSWER_MAX];

static time_t
now_of(const struct milter_runtime *rt)
{
	return rt->now != NULL ? rt->now() : time(NULL);
}

bool
enrol_hook_enabled(const struct snapshot *snap)
{
	const char *a = snap->conf->enrol_address;

	return a != NULL && a[0] != '\0';
}

bool
enrol_hook_is_reply(const struct snapshot *snap, const struct msg_ctx *msg)
{
	if (!enrol_hook_enabled(snap) || msg == NULL)
		return false;
	for (size_t i = 0; i < msg->rcpt_count; i++)
		if (strcasecmp(msg->rcpts[i], snap->conf->enrol_address) == 0)
			return true;
	return false;
}

bool
enrol_hook_own_mail(const struct snapshot *snap, const char *from)
{
	return enrol_hook_enabled(snap) && from != NULL &&
	    strcasecmp(from, snap->conf->enrol_address) == 0;
}

static void enrol_hook_snapshot_free(struct snapshot *snap);

/* The enrolment context of `snap`, opened on first need; NULL when it cannot be opened. */
static struct enrol_ctx *
hook_ctx(struct milter_runtime *rt, const struct snapshot *csnap)
{
	/* like runtime_inbound: the slot is the one mutable part of a snapshot */
	struct snapshot *snap = (struct snapshot *)csnap;
	struct enrol_params p;
	struct enrol_slot *slot;
	struct enrol_ctx *ctx = NULL;
	char err[512] = "", safe[600];
	time_t now = now_of(rt);

	pthread_mutex_lock(&hook_lock);
	if (shut_down || rt->ca == NULL)
		goto out;
	if ((slot = snap->enrol) == NULL) {
		if ((slot = calloc(1, sizeof(*slot))) == NULL)
			goto out;
		slot->next = slots;
		if (slots != NULL)
			slots->prev = slot;
		slots = slot;
		snap->enrol = slot;
		snap->enrol_free = enrol_hook_snapshot_free;
	}
	if ((ctx = slot->ctx) != NULL)
		goto out;
	if (slot->failed_at != 0 && now >= slot->failed_at &&
	    now - slot->failed_at < ENROL_HOOK_RETRY)
		goto out;
	enrol_params_from_conf(&p, snap->conf);
	p.ca = rt->ca;
	p.store = ca_store(rt->ca);
	p.actor = "milter";
	if (enrol_open(&p, &ctx, err, sizeof(err)) < 0) {
		ctx = NULL;
		slot->failed_at = now;
		as_log(AS_LEVEL_ERR, NULL, "event=enrol-setup status=failed reason=%s",
		    as_log_value(err, safe, sizeof(safe)));
		goto out;
	}
	slot->ctx = ctx;
	/* at reload this runs before the swap numbers the snapshot: no generation here */
	as_log(AS_LEVEL_INFO, NULL, "event=enrol-setup status=ok enrol_address=%s "
	    "unenrolled_action=%s",
	    as_log_value(snap->conf->enrol_address, safe, sizeof(safe)),
	    as_conf_enum_word("unenrolled_action", snap->conf->unenrolled_action));
out:
	pthread_mutex_unlock(&hook_lock);
	return ctx;
}

void
enrol_hook_prepare(struct milter_runtime *rt, const struct snapshot *snap)
{
	struct ca_error cerr;

	/* outside a message: pass the store's gate; while it is shut the first message opens it */
	if (!enrol_hook_enabled(snap) || rt->ca == NULL || ca_enter(rt->ca, &cerr) != CA_OK)
		return;
	(void)hook_ctx(rt, snap);
	ca_leave(rt->ca);
}

/* The snapshot's destructor for its enrolment slot (set in hook_ctx as snap->enrol_free). */
static void
enrol_hook_snapshot_free(struct snapshot *snap)
{
	struct enrol_slot *slot;

	pthread_mutex_lock(&hook_lock);
	if ((slot = snap->enrol) != NULL) {
		if (slot->prev != NULL)
			slot->prev->next = slot->next;
		else
			slots = slot->next;
		if (slot->next != NULL)
			slot->next->prev = slot->prev;
		enrol_close(slot->ctx);
		free(slot);
		snap->enrol = NULL;
	}
	pthread_mutex_unlock(&hook_lock);
}

void
enrol_hook_shutdown(void)
{
	pthread_mutex_lock(&hook_lock);
	shut_down = true;
	for (struct enrol_slot *s = slots; s != NULL; s = s->next) {
		enrol_close(s->ctx);
		s->ctx = NULL;
	}
	pthread_mutex_unlock(&hook_lock);
}

static void
temp_failure(struct process_outcome *out, const char *text)
{
	out->action = PROCESS_TEMPFAIL;
	out->rcode = "451";
	out->xcode = "4.3.0";
	out->text = text;
}

/*
 * The message as text for as_reply_parse: "Name: value" lines, an empty line, the body; at
 * most the parser's own bounds are copied. NULL when memory runs out. Holds the token: the
 * caller wipes it.
 */
static char *
reply_text(const struct msg_ctx *msg, size_t *len)
{
	size_t cap = AS_REPLY_MAX_HEADER + AS_REPLY_MAX_BODY + 4, o = 0;
	char *buf = malloc(cap);
	ssize_t n = 0;

	*len = 0;
	if (buf == NULL)
		return NULL;
	for (size_t i = 0; i < msg->header_count; i++) {
		size_t nl = strlen(msg->headers[i].name), vl = strlen(msg->headers[i].value);

		if (o + nl + vl + 3 > AS_REPLY_MAX_HEADER)
			break;
		memcpy(buf + o, msg->headers[i].name, nl);
		o += nl;
		buf[o++] = ':';
		buf[o++] = ' ';
		memcpy(buf + o, msg->headers[i].value, vl);
		o += vl;
		buf[o++] = '\n';
	}
	buf[o++] = '\n';
	if (msg->body != NULL) {
		size_t limit = o + AS_REPLY_MAX_BODY;

		if (spool_rewind(msg->body) != 0)
			goto fail;
		while (o < limit && (n = spool_read(msg->body, buf + o,
		    limit - o < BODY_CHUNK ? limit - o : BODY_CHUNK)) > 0)
			o += (size_t)n;
		if (o < limit && n < 0)
			goto fail;
	}
	buf[o] = '\0';
	*len = o;
	return buf;
fail:
	as_wipe(buf, o);
	free(buf);
	return NULL;
}

void
enrol_hook_reply(struct milter_runtime *rt, const struct snapshot *snap,
    const struct conn_ctx *conn, const struct msg_ctx *msg, struct process_outcome *out)
{
	struct enrol_reply_facts f;
	struct enrol_reply_result res;
	struct decide_input in;
	struct decide_rules rules;
	struct as_reply_tokens *tok = NULL;
	struct enrol_ctx *ctx;
	char *text = NULL, mailbox[DECIDE_MAX_ADDR], b1[300], b2[300], b3[300];
	const char *from = msg_from_mailbox(msg, mailbox, sizeof(mailbox)) == 0 ? mailbox : NULL;
	size_t len = 0;

	memset(out, 0, sizeof(*out));
	if ((ctx = hook_ctx(rt, snap)) == NULL) {
		temp_failure(out, "S/MIME enrolment is not available now, reply again later");
		as_log(AS_LEVEL_ERR, msg->qid, "event=enrol_reply status=tempfail reason=no-context");
		return;
	}
	if (msg->mail_from == NULL || msg->mail_from[0] == '\0') {
		/* a bounce or other null-sender mail: never answered, never delivered; a bounced
		 * challenge gives its slot of the hourly budget back */
		char chal[17] = "";
		int b = (text = reply_text(msg, &len)) != NULL ? enrol_bounce(ctx, text, len, chal) :
		    -1;

		out->action = PROCESS_DISCARD;
		as_log(b < 0 ? AS_LEVEL_WARNING : AS_LEVEL_NOTICE, msg->qid, "event=enrol_reply "
		    "status=ignored reason=null-sender bounce=%s challenge=%s client=%s",
		    b > 0 ? "challenge" : b == 0 ? "unknown" : "error", chal[0] != '\0' ? chal : "-",
		    as_log_value(conn->client, b1, sizeof(b1)));
		goto out;
	}
	if ((tok = calloc(1, sizeof(*tok))) == NULL || (text = reply_text(msg, &len)) == NULL ||
	    as_reply_parse(text, len, tok) < 0) {
		temp_failure(out, "S/MIME enrolment failed temporarily, reply again later");
		as_log(AS_LEVEL_ERR, msg->qid, "event=enrol_reply status=tempfail reason=parse");
		goto out;
	}
	memset(&f, 0, sizeof(f));
	f.qid = msg->qid;
	f.envelope_sender = msg->mail_from;
	f.from_mailbox = from != NULL ? from : "";
	f.sasl_login = msg->login;
	f.login_may_use = from != NULL && decide_login_may_use(msg->login, from,
	    &snap->conf->local_domains, snap->map);
	f.client_ip = conn->client;
	f.helo = conn->helo;
	/* unauthenticated replies count only when attributable, the rule signing follows */
	attribution_gather(snap, conn, msg, from, &in, &rules);
	f.client_internal = decide_unauthenticated_attributed(&in, &rules);
	enrol_handle_reply(ctx, &f, tok, now_of(rt), &res);
	switch (res.status) {
	case ENROL_REPLY_ISSUED:
		out->action = PROCESS_DISCARD;
		break;
	case ENROL_REPLY_REFUSED:
	case ENROL_REPLY_BLOCKED:
		/* the API leaves showing its answer to us: the SMTP reply is the only channel */
		snprintf(answer_buf, sizeof(answer_buf), "%s", res.answer);
		out->action = PROCESS_REJECT;
		out->rcode = "550";
		out->xcode = "5.7.1";
		out->text = answer_buf;
		break;
	case ENROL_REPLY_TEMPFAIL:
		snprintf(answer_buf, sizeof(answer_buf), "%s", res.answer);
		temp_failure(out, answer_buf);
		break;
	}
	as_log(res.status == ENROL_REPLY_ISSUED ? AS_LEVEL_INFO : AS_LEVEL_NOTICE, msg->qid,
	    "event=enrol_reply status=%s from=%s login=%s client=%s challenge=%s serial=%s "
	    "confirmation=%s", enrol_reply_status_name(res.status),
	    as_log_value(from, b1, sizeof(b1)), as_log_value(msg->login, b2, sizeof(b2)),
	    as_log_value(conn->client, b3, sizeof(b3)),
	    res.challenge_id[0] != '\0' ? res.challenge_id : "-",
	    res.serial_hex[0] != '\0' ? res.serial_hex : "-", res.confirmation_sent ? "sent" : "no");
out:
	if (tok != NULL) {
		as_reply_tokens_wipe(tok);
		free(tok);
	}
	if (text != NULL) {
		as_wipe(text, len);
		free(text);
	}
}

static const char *
outcome_word(const struct process_outcome *out)
{
	return out->action == PROCESS_TEMPFAIL ? "tempfail" : out->action == PROCESS_REJECT ?
	    "reject" : "pass";
}

/*
 * Enrolment failed for an unenrolled sender. With unenrolled_action pass the message would
 * have gone out unsigned anyway, so it still does (a broken challenge must not hold mail);
 * otherwise on_error decides.
 */
static void
enrol_failed(const struct snapshot *snap, struct process_outcome *out)
{
	if (snap->conf->unenrolled_action == AS_UNENROLLED_PASS)
		out->action = PROCESS_PASS;
	else
		process_fail(snap, out);
}

int
enrol_hook_unenrolled(struct milter_runtime *rt, const struct snapshot *snap,
    const struct conn_ctx *conn, const struct msg_ctx *msg, const char *from,
    struct process_outcome *out)
{
	const struct as_conf *conf = snap->conf;
	struct enrol_decision d;
	struct enrol_ctx *ctx;
	char safe[300];
	int rc;

	if (!enrol_hook_enabled(snap) || !conf->sign)
		return 1;
	memset(out, 0, sizeof(*out));
	if ((ctx = hook_ctx(rt, snap)) == NULL) {
		enrol_failed(snap, out);
		as_log(AS_LEVEL_ERR, msg->qid, "event=enrol sender=%s result=error reason=no-context "
		    "action=%s", as_log_value(from, safe, sizeof(safe)), outcome_word(out));
		return 0;
	}
	rc = enrol_unenrolled_sender_at(ctx, from, conn != NULL ? conn->client : NULL,
	    now_of(rt), &d);
	if (rc < 0 || d.event == ENROL_EV_ERROR) {
		enrol_failed(snap, out);
		as_log(AS_LEVEL_ERR, msg->qid, "event=enrol sender=%s result=error action=%s",
		    as_log_value(from, safe, sizeof(safe)), outcome_word(out));
		return 0;
	}
	if (d.event == ENROL_EV_ISSUED && conf->unenrolled_action != AS_UNENROLLED_PASS) {
		/* a reused validation issued at once: the retry gets signed */
		out->action = PROCESS_TEMPFAIL;
		out->rcode = "451";
		out->xcode = "4.7.0";
		out->text = ENROL_HOOK_ISSUED_TEXT;
	} else if (d.action == ENROL_ACT_TEMPFAIL) {
		out->action = PROCESS_TEMPFAIL;
		out->rcode = "451";
		out->xcode = "4.7.0";
		out->text = ENROL_HOOK_TEMPFAIL_TEXT;
	} else if (d.action == ENROL_ACT_REJECT) {
		out->action = PROCESS_REJECT;
		out->rcode = "550";
		out->xcode = "5.7.0";
		out->text = ENROL_HOOK_REJECT_TEXT;
	} else
		out->action = PROCESS_PASS;
	as_log(AS_LEVEL_INFO, msg->qid, "event=enrol sender=%s result=%s challenge=%s serial=%s "
	    "action=%s", as_log_value(from, safe, sizeof(safe)), enrol_event_name(d.event),
	    d.challenge_id[0] != '\0' ? d.challenge_id : "-",
	    d.serial_hex[0] != '\0' ? d.serial_hex : "-", outcome_word(out));
	return 0;
}

void
enrol_hook_renewal(struct milter_runtime *rt, const struct snapshot *snap,
    const struct msg_ctx *msg, const char *from, const X509 *cert)
{
	const struct as_conf *conf = snap->conf;
	const ASN1_TIME *na;
	struct enrol_decision d;
	struct enrol_ctx *ctx;
	struct tm tm;
	time_t now = now_of(rt), not_after;
	bool due = false;
	char safe[300];

	if (!enrol_hook_enabled(snap) || conf->renew_before <= 0 || cert == NULL ||
	    (na = X509_get0_notAfter(cert)) == NULL || ASN1_TIME_to_tm(na, &tm) != 1)
		return;
	/* the cheap test first: most signed mail is far from expiry and never reaches the store */
	not_after = timegm(&tm);
	if ((long long)not_after - conf->renew_before > (long long)now)
		return;
	if ((ctx = hook_ctx(rt, snap)) == NULL)
		return;
	if (enrol_renewal_due(ctx, from, now, &due, NULL) < 0) {
		as_log(AS_LEVEL_WARNING, msg->qid, "event=enrol-renew sender=%s result=error "
		    "stage=due", as_log_value(from, safe, sizeof(safe)));
		return;
	}
	if (!due)
		return;
	if (enrol_renew(ctx, from, now, &d) < 0)
		as_log(AS_LEVEL_WARNING, msg->qid, "event=enrol-renew sender=%s result=error",
		    as_log_value(from, safe, sizeof(safe)));
	else
		as_log(AS_LEVEL_INFO, msg->qid, "event=enrol-renew sender=%s result=%s challenge=%s "
		    "serial=%s", as_log_value(from, safe, sizeof(safe)), enrol_event_name(d.event),
		    d.challenge_id[0] != '\0' ? d.challenge_id : "-",
		    d.serial_hex[0] != '\0' ? d.serial_hex : "-");
}
