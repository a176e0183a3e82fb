/*
 * enrol_store: the enrolment databases of policy/, inside the CA's Berkeley DB environment
 * (ca/store.h): challenges, the one-open-challenge-per-mailbox index, validations and the
 * challenge send times for the rate limits. Every change that touches more than one record
 * runs in one transaction (store_txn_run), so a crash leaves either all of it or none.
 *
 * Files (owned by policy/):
 *   enrol_chal.db   token hash (32 bytes) -> challenge record
 *   enrol_open.db   mailbox -> token hash of its open challenge (at most one)
 *   enrol_valid.db  mailbox -> newest validation record (method, BR version, time, evidence)
 *   enrol_rate.db   mailbox, AS_ES_GLOBAL_KEY or AS_ES_CLIENT_PREFIX + client network -> send
 *                   times (int64, oldest first)
 * Tokens never reach the store: only their SHA-256 (token.h). Mailboxes are stored as given;
 * the caller normalises them (enrol.c lower-cases the domain).
 *
 * Lifetime: one struct as_estore per process (after the store is open), shared by threads.
 */
#ifndef AUTOSMIME_POLICY_ENROL_STORE_H
#define AUTOSMIME_POLICY_ENROL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "ca/store.h"
#include "policy/ratelimit.h"
#include "policy/token.h"

#define AS_ES_MAILBOX_MAX 254
#define AS_ES_MSGID_MAX 256
#define AS_ES_EVIDENCE_MAX 2048
#define AS_ES_RL_MAX 4096            /* send times kept per key */
#define AS_ES_MAX_FAILURES 5         /* wrong tokens before a challenge is burnt */
#define AS_ES_GLOBAL_KEY "\001global"
#define AS_ES_CLIENT_PREFIX "\002client "   /* + the client's network (enrol.c) */
#define AS_ES_CLIENT_MAX 64

/* Results; the store functions return one of these. */
#define AS_ES_OK 0
#define AS_ES_ERR (-1)        /* database failure (the caller answers TEMPFAIL) */
#define AS_ES_NOTFOUND (-2)   /* no (open, unexpired) challenge / no validation */
#define AS_ES_EXISTS (-3)     /* the mailbox already has an open challenge */
#define AS_ES_LIMITED (-4)    /* a rate limit refuses another challenge */
#define AS_ES_MISMATCH (-5)   /* wrong token or In-Reply-To */

enum as_chal_state { AS_CHAL_OPEN, AS_CHAL_USED, AS_CHAL_CANCELLED };

/* One challenge as stored. */
struct as_challenge {
	unsigned char hash[AS_TOKEN_HASH_LEN];
	char mailbox[AS_ES_MAILBOX_MAX + 1];
	char id[AS_TOKEN_ID_LEN + 1];           /* public id (as_token_id) */
	char message_id[AS_ES_MSGID_MAX];       /* of the challenge mail, "<...>" */
	time_t created, expires;
	enum as_chal_state state;
	int failures;                           /* wrong tokens so far */
};

/* One validation (S/MIME BR 3.2.2.2) as stored. */
struct as_validation {
	char id[AS_TOKEN_ID_LEN + 1];           /* random; the issuance's validation_ref */
	char method[16];                        /* "3.2.2.2" */
	char br_version[16];
	time_t time;
	char evidence[AS_ES_EVIDENCE_MAX];
};

struct as_estore;

int as_estore_open(struct store *st, struct as_estore **out, char *err, size_t errcap);
void as_estore_close(struct as_estore *es);

/*
 * Record a new challenge `c` (state OPEN) for c->mailbox at `now`, in one transaction: refuse
 * with AS_ES_EXISTS while an unexpired open challenge exists (an expired one is retired),
 * with AS_ES_LIMITED when `lim` says no (*verdict says which limit, *retry_at when), else store
 * the challenge, the index entry and the send time for the mailbox and the gateway.
 */
int as_estore_challenge_create(struct as_estore *es, const struct as_challenge *c,
    const struct as_ratelimit *lim, time_t now, enum as_rl_verdict *verdict, time_t *retry_at);

/*
 * The same, also counting the send against `client` (an SMTP client's network, at most
 * AS_ES_CLIENT_MAX bytes) under lim->client_hour; NULL: like as_estore_challenge_create.
 * A bounce gives the client's slot back no more than the mailbox's: a host that sends with
 * forged senders stays within its own budget.
 */
int as_estore_challenge_create_client(struct as_estore *es, const struct as_challenge *c,
    const char *client, const struct as_ratelimit *lim, time_t now,
    enum as_rl_verdict *verdict, time_t *retry_at);

/* The open, unexpired challenge of a mailbox: AS_ES_OK or AS_ES_NOTFOUND. */
int as_estore_challenge_open(struct as_estore *es, const char *mailbox, time_t now,
    struct as_challenge *out);

/*
 * Redeem the open challenge of `mailbox` with a candidate token, in one transaction (single
 * use): AS_ES_NOTFOUND when there is no open unexpired challenge; AS_ES_MISMATCH when the
 * token (compared in constant time) or a non-empty `in_reply_to` does not match (the failure
 * is counted; after AS_ES_MAX_FAILURES the challenge is cancelled); AS_ES_OK marks it used,
 * removes the index entry and copies it to *out.
 */
int as_estore_challenge_redeem(struct as_estore *es, const char *mailbox, const char *token,
    size_t token_len, const char *in_reply_to, time_t now, struct as_challenge *out);

/*
 * The two halves of redeem, for a reply that spends the challenge in the same transaction
 * as the issuance it leads to. check: as redeem (failures counted, the lock after
 * AS_ES_MAX_FAILURES) but AS_ES_OK leaves the challenge open and copies it to *out. spend,
 * inside the caller's txn: AS_ES_OK marks that same challenge used and removes its index
 * entry; AS_ES_NOTFOUND when it is no longer open (another reply spent it, it expired or
 * was cancelled); else a Berkeley DB error for the transaction to abort on.
 */
int as_estore_challenge_check(struct as_estore *es, const char *mailbox, const char *token,
    size_t token_len, const char *in_reply_to, time_t now, struct as_challenge *out);
int as_estore_challenge_spend(struct as_estore *es, DB_TXN *txn, const char *mailbox,
    const struct as_challenge *c, time_t now);

/* Cancel the open challenge of a mailbox (AS_ES_OK, AS_ES_NOTFOUND); *out gets it if not NULL. */
int as_estore_challenge_cancel(struct as_estore *es, const char *mailbox,
    struct as_challenge *out);

/* Delete challenges that expired at or before `now` (and index entries pointing at them). */
/*
 * The challenge mail with this Message-ID bounced: cancel its open challenge and return its
 * send time to the gateway's hourly budget (not to the mailbox's). AS_ES_OK (copied to *out
 * when not NULL) or AS_ES_NOTFOUND.
 */
int as_estore_challenge_bounced(struct as_estore *es, const char *message_id,
    struct as_challenge *out);

int as_estore_purge(struct as_estore *es, time_t now, size_t *purged);

/* Store (replace) the validation of a mailbox / read it (AS_ES_NOTFOUND when none). */
int as_estore_validation_put(struct as_estore *es, const char *mailbox,
    const struct as_validation *v);
int as_estore_validation_get(struct as_estore *es, const char *mailbox,
    struct as_validation *out);
/* The same put inside the caller's transaction: 0 or a Berkeley DB error. */
int as_estore_validation_put_txn(struct as_estore *es, DB_TXN *txn, const char *mailbox,
    const struct as_validation *v);

/* Consistency check (tests, after a crash): every index entry points to an open challenge of
 * its mailbox and every open challenge is indexed. Returns AS_ES_OK or AS_ES_ERR with why. */
int as_estore_check(struct as_estore *es, size_t *challenges, char *why, size_t whycap);

#endif
