/*
 * enrol: enrolment by in-band token reply (S/MIME BR 3.2.2.2), as the API the milter and
 * autosmimectl call. No libmilter here: the caller passes the facts of the session.
 *
 *  - enrol_unenrolled_sender: mail from a local sender without a certificate. Decides whether
 *    the mailbox may enrol, reuses a recent validation (issues at once) or sends a challenge
 *    (rate-limited, at most one open per mailbox), and says what to do with the message.
 *  - enrol_handle_reply: a reply to the enrolment address. Checks the sender, the session, the
 *    token (single use, constant time), CAA, records the validation, issues through ca/ and
 *    mails the confirmation with the certificate. The caller discards the reply either way and,
 *    on refusal, may show `answer` to the user (it says what to do, never why a token failed).
 *  - enrol_renewal_due / enrol_renew: renewal before expiry (renew_before).
 *  - enrol_status / enrol_start / enrol_cancel: `autosmimectl enrol status|start|cancel`.
 * Every step writes an audit record (ca_audit); tokens never reach a log, audit or answer.
 *
 * Lifetime: one struct enrol_ctx per process, opened after the CA (it uses the CA's store
 * environment), shared by threads; each call creates its own DNS resolver.
 */
#ifndef AUTOSMIME_POLICY_ENROL_H
#define AUTOSMIME_POLICY_ENROL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "ca/ca.h"
#include "ca/store.h"
#include "common/conf.h"
#include "policy/ratelimit.h"
#include "policy/reply_parse.h"

#define ENROL_METHOD "3.2.2.2"
/* The S/MIME Baseline Requirements version followed: v1.0.14 (Ballot SMC016), the current
 * version on cabforum.org/working-groups/smime/documents when this was set. */
#define ENROL_BR_VERSION "1.0.14"
#define ENROL_ANSWER_MAX 512
#define ENROL_SENDMAIL_TIMEOUT_MS 30000

/* Settings, filled by enrol_params_from_conf plus ca and store. Strings and lists borrowed
 * for the life of the context (keep the struct as_conf alive). */
struct enrol_params {
	struct ca *ca;                      /* issuance and audit */
	struct store *store;                /* the CA's environment (see the report: ca_store) */
	const char *enrol_address;
	const struct as_conf_list *local_domains, *enrol_domains, *enrol_exclude;
	int unenrolled_action;              /* enum as_unenrolled_action */
	long long challenge_lifetime;       /* seconds, at most 24 h */
	struct as_ratelimit limits;
	const char *challenge_subject_prefix;
	const char *challenge_template_file; /* NULL/"": the built-in text */
	long long validation_reuse, renew_before;
	const char *sendmail_command;
	int sendmail_timeout_ms;            /* 0: ENROL_SENDMAIL_TIMEOUT_MS */
	int profile, generation, key_type;  /* enum as_profile / as_generation / as_key_type */
	long long cert_validity;
	const struct as_conf_list *domain_profiles; /* per-domain exceptions to the three above */
	const char *sponsor_map_file;       /* NULL/"": no sponsor table */
	const char *dns_resolver, *dns_trust_anchor_file, *ca_domain;
	bool caa_check, spf_check, allow_internal_unauthenticated;
	const char *actor;                  /* audit actor; NULL: "enrol" */
	/* multi-perspective DNS (issue 16): NULL or empty list: dns_resolver alone */
	const struct as_conf_list *dns_perspectives;
	long long dns_perspective_quorum;   /* 0: a majority */
};

/* Copy the enrolment settings of `conf` (ca and store are left NULL for the caller). */
void enrol_params_from_conf(struct enrol_params *p, const struct as_conf *conf);

struct enrol_ctx;

/* Open the enrolment databases, load the template and the sponsor table. 0 or -1 with err. */
int enrol_open(const struct enrol_params *p, struct enrol_ctx **out, char *err, size_t errcap);
void enrol_close(struct enrol_ctx *ctx);

/* What the milter does with the triggering message. */
enum enrol_action { ENROL_ACT_PASS, ENROL_ACT_TEMPFAIL, ENROL_ACT_REJECT };

/* What happened about enrolment. */
enum enrol_event {
	ENROL_EV_NOT_ELIGIBLE,      /* not a local mailbox, excluded, or not in enrol_domains */
	ENROL_EV_CHALLENGE_SENT,
	ENROL_EV_CHALLENGE_OPEN,    /* one is already open: nothing sent */
	ENROL_EV_RATE_LIMITED,      /* nothing sent */
	ENROL_EV_ISSUED,            /* a reusable validation let the CA issue at once */
	ENROL_EV_BLOCKED,           /* CAA (or a missing sponsor entry) blocks issuance */
	ENROL_EV_ERROR,             /* internal failure: the action is TEMPFAIL */
};

struct enrol_decision {
	enum enrol_action action;
	enum enrol_event event;
	char challenge_id[17];      /* public id of the challenge, when there is one */
	char serial_hex[41];        /* when ISSUED */
};

/*
 * Mail from `mailbox` (the From: mailbox the session may use), which has no valid
 * certificate. Returns 0, or -1 on an internal error (then event ERROR, action TEMPFAIL).
 */
int enrol_unenrolled_sender(struct enrol_ctx *ctx, const char *mailbox, time_t now,
    struct enrol_decision *out);

/*
 * The same for mail an SMTP client carried: `client` is its address ("" or NULL for a local
 * submission without one). The challenge also counts against the client's network
 * (challenge_limit_client_hour), so one host sending with forged senders cannot use up the
 * gateway's hourly budget for everybody else.
 */
int enrol_unenrolled_sender_at(struct enrol_ctx *ctx, const char *mailbox, const char *client,
    time_t now, struct enrol_decision *out);

/* The facts of the session that carried a reply; strings borrowed for the call. */
struct enrol_reply_facts {
	const char *qid;              /* for logs; may be NULL */
	const char *envelope_sender;  /* MAIL FROM */
	const char *from_mailbox;     /* the single mailbox of From: */
	const char *sasl_login;       /* NULL when not authenticated */
	bool login_may_use;           /* the milter's sender map: may the login use From:? */
	const char *client_ip;
	const char *helo;
	bool client_internal;         /* in internal_networks */
};

enum enrol_reply_status {
	ENROL_REPLY_ISSUED,           /* certificate issued (confirmation sent unless noted) */
	ENROL_REPLY_REFUSED,          /* not accepted as proof; `answer` says what to do */
	ENROL_REPLY_BLOCKED,          /* proof accepted, issuance blocked (CAA, sponsor table) */
	ENROL_REPLY_TEMPFAIL,         /* internal failure; the user may reply again later */
};

struct enrol_reply_result {
	enum enrol_reply_status status;
	char answer[ENROL_ANSWER_MAX];  /* short user-facing text (empty when ISSUED) */
	char challenge_id[17];
	char serial_hex[41];
	bool confirmation_sent;
};

/* Handle a parsed reply (reply_parse.h). Returns 0, or -1 on bad arguments (status
 * TEMPFAIL). The caller discards the reply in every case. */
int enrol_handle_reply(struct enrol_ctx *ctx, const struct enrol_reply_facts *facts,
    const struct as_reply_tokens *reply, time_t now, struct enrol_reply_result *out);

/*
 * A bounce (null sender) came back to the enrolment address: when the len bytes of text (its
 * headers and body) quote the Message-ID of an open challenge, that challenge is cancelled and
 * its send time no longer counts against challenge_limit_global_hour, so undeliverable
 * (forged or mistyped) senders cannot use up the gateway's budget. Returns 1 (challenge_id
 * set), 0 (no challenge of ours), or -1 (store error).
 */
int enrol_bounce(struct enrol_ctx *ctx, const char *text, size_t len, char challenge_id[17]);

/* Is there a validation of `mailbox` younger than validation_reuse? (*age_out if not NULL) */
bool enrol_validation_reusable(struct enrol_ctx *ctx, const char *mailbox, time_t now,
    long long *age_out);

/* Has the newest valid certificate of `mailbox` reached renew_before? False when there is
 * none. *not_after (if not NULL) gets its expiry. Returns 0, or -1 on a store error. */
int enrol_renewal_due(struct enrol_ctx *ctx, const char *mailbox, time_t now, bool *due,
    time_t *not_after);

/* Renew: like enrol_unenrolled_sender, but the action is always PASS (the old certificate
 * still signs). Call when enrol_renewal_due says so. */
int enrol_renew(struct enrol_ctx *ctx, const char *mailbox, time_t now,
    struct enrol_decision *out);

/* For `autosmimectl enrol status MAILBOX`. */
struct enrol_status {
	bool eligible;
	bool challenge_open;
	char challenge_id[17];
	time_t challenge_created, challenge_expires;
	bool validated;
	char validation_id[17];
	time_t validation_time;
	bool validation_reusable;
	char validation_evidence[2048];
	bool certified;               /* a valid certificate exists */
	char serial_hex[41];
	time_t not_after;
	bool renewal_due;
};
int enrol_status(struct enrol_ctx *ctx, const char *mailbox, time_t now,
    struct enrol_status *out, char *err, size_t errcap);

/* `enrol start`: send a challenge now (rate limits and the one-open rule apply). Returns 0
 * with the event (CHALLENGE_SENT, CHALLENGE_OPEN, RATE_LIMITED, NOT_ELIGIBLE) or -1. */
int enrol_start(struct enrol_ctx *ctx, const char *mailbox, const char *actor, time_t now,
    struct enrol_decision *out, char *err, size_t errcap);

/* `enrol cancel`: cancel the open challenge. 0, 1 when there was none, -1 on error. */
int enrol_cancel(struct enrol_ctx *ctx, const char *mailbox, const char *actor, char *err,
    size_t errcap);

const char *enrol_event_name(enum enrol_event e);
const char *enrol_reply_status_name(enum enrol_reply_status s);

#endif
