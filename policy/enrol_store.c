/*
 * enrol_store: the enrolment databases (see enrol_store.h): record formats, and one store_txn_run
 * unit of work per operation. Owns the four DB handles it opens in the shared environment.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "common/util.h"
#include "policy/enrol_store.h"

struct as_estore {
	struct store *st;   /* borrowed: the CA's environment */
	DB *chal, *open, *valid, *rate;
};

/* On-disk records: fixed layout, zeroed before filling (no stray bytes on disk). */
struct chal_rec {
	uint8_t version, state;
	uint16_t failures;
	int64_t created, expires;
	char mailbox[AS_ES_MAILBOX_MAX + 1];
	char id[AS_TOKEN_ID_LEN + 1];
	char msgid[AS_ES_MSGID_MAX];
};

struct valid_rec {
	uint8_t version;
	int64_t time;
	char id[AS_TOKEN_ID_LEN + 1];
	char method[16], br[16];
	uint32_t ev_len;    /* followed by ev_len bytes of evidence */
};

#define REC_VERSION 1

static void
dbt_in(DBT *d, const void *p, size_t n)
{
	memset(d, 0, sizeof(*d));
	d->data = (void *)(uintptr_t)p;
	d->size = (u_int32_t)n;
}

static void
dbt_out(DBT *d, void *p, size_t cap)
{
	memset(d, 0, sizeof(*d));
	d->data = p;
	d->ulen = (u_int32_t)cap;
	d->flags = DB_DBT_USERMEM;
}

static void
copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src != NULL ? src : "");
}

static void
rec_from(struct chal_rec *r, const struct as_challenge *c)
{
	memset(r, 0, sizeof(*r));
	r->version = REC_VERSION;
	r->state = (uint8_t)c->state;
	r->failures = (uint16_t)(c->failures < 0 ? 0 : c->failures > 65535 ? 65535 : c->failures);
	r->created = (int64_t)c->created;
	r->expires = (int64_t)c->expires;
	copy_str(r->mailbox, sizeof(r->mailbox), c->mailbox);
	copy_str(r->id, sizeof(r->id), c->id);
	copy_str(r->msgid, sizeof(r->msgid), c->message_id);
}

static void
rec_to(struct as_challenge *c, const struct chal_rec *r, const unsigned char *hash)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->hash, hash, AS_TOKEN_HASH_LEN);
	c->state = (enum as_chal_state)r->state;
	c->failures = r->failures;
	c->created = (time_t)r->created;
	c->expires = (time_t)r->expires;
	memcpy(c->mailbox, r->mailbox, sizeof(c->mailbox));
	c->mailbox[sizeof(c->mailbox) - 1] = '\0';
	memcpy(c->id, r->id, sizeof(c->id));
	c->id[sizeof(c->id) - 1] = '\0';
	memcpy(c->message_id, r->msgid, sizeof(c->message_id));
	c->message_id[sizeof(c->message_id) - 1] = '\0';
}

int
as_estore_open(struct store *st, struct as_estore **out, char *err, size_t errcap)
{
	struct as_estore *es = NULL;

	*out = NULL;
	if (st == NULL || (es = calloc(1, sizeof(*es))) == NULL) {
		snprintf(err, errcap, "no store or out of memory");
		return -1;
	}
	es->st = st;
	if (store_db_open(st, "enrol_chal.db", DB_BTREE, 0, &es->chal, err, errcap) < 0 ||
	    store_db_open(st, "enrol_open.db", DB_BTREE, 0, &es->open, err, errcap) < 0 ||
	    store_db_open(st, "enrol_valid.db", DB_BTREE, 0, &es->valid, err, errcap) < 0 ||
	    store_db_open(st, "enrol_rate.db", DB_BTREE, 0, &es->rate, err, errcap) < 0) {
		as_estore_close(es);
		return -1;
	}
	*out = es; /* transferred */
	return 0;
}

void
as_estore_close(struct as_estore *es)
{
	if (es == NULL)
		return;
	store_db_close(es->st, &es->chal);
	store_db_close(es->st, &es->open);
	store_db_close(es->st, &es->valid);
	store_db_close(es->st, &es->rate);
	free(es);
}

/* The open challenge of a mailbox inside txn (read for update). 0, DB_NOTFOUND or an error. */
static int
get_open(struct as_estore *es, DB_TXN *txn, const char *mailbox, unsigned char *hash,
    struct chal_rec *rec)
{
	DBT k, d;
	int ret;

	dbt_in(&k, mailbox, strlen(mailbox));
	dbt_out(&d, hash, AS_TOKEN_HASH_LEN);
	if ((ret = es->open->get(es->open, txn, &k, &d, DB_RMW)) != 0)
		return ret;
	if (d.size != AS_TOKEN_HASH_LEN)
		return DB_NOTFOUND;
	dbt_in(&k, hash, AS_TOKEN_HASH_LEN);
	dbt_out(&d, rec, sizeof(*rec));
	if ((ret = es->chal->get(es->chal, txn, &k, &d, DB_RMW)) != 0)
		return ret;
	return d.size == sizeof(*rec) ? 0 : DB_NOTFOUND;
}

static int
put_chal(struct as_estore *es, DB_TXN *txn, const unsigned char *hash, const struct chal_rec *r)
{
	DBT k, d;

	dbt_in(&k, hash, AS_TOKEN_HASH_LEN);
	dbt_in(&d, r, sizeof(*r));
	return es->chal->put(es->chal, txn, &k, &d, 0);
}

static int
del_open(struct as_estore *es, DB_TXN *txn, const char *mailbox)
{
	DBT k;
	int ret;

	dbt_in(&k, mailbox, strlen(mailbox));
	ret = es->open->del(es->open, txn, &k, 0);
	return ret == DB_NOTFOUND ? 0 : ret;
}

/* Remove the index entry of mailbox, but only when it points at the challenge `hash`. */
static int
del_open_if(struct as_estore *es, DB_TXN *txn, const char *mailbox, const unsigned char *hash)
{
	unsigned char oh[AS_TOKEN_HASH_LEN];
	DBT ok, od;
	int ret;

	dbt_in(&ok, mailbox, strlen(mailbox));
	dbt_out(&od, oh, sizeof(oh));
	ret = es->open->get(es->open, txn, &ok, &od, DB_RMW);
	if (ret == 0 && od.size == sizeof(oh) && memcmp(oh, hash, sizeof(oh)) == 0)
		return es->open->del(es->open, txn, &ok, 0);
	return ret == DB_NOTFOUND ? 0 : ret;
}

/* Load the send times of a key (pruned to `window`), n up to AS_ES_RL_MAX. */
static int
rate_load(struct as_estore *es, DB_TXN *txn, const char *key, int64_t *times, size_t *n,
    time_t now, long long window)
{
	DBT k, d;
	size_t i, o = 0, cnt;
	int ret;

	*n = 0;
	dbt_in(&k, key, strlen(key));
	dbt_out(&d, times, AS_ES_RL_MAX * sizeof(int64_t));
	ret = es->rate->get(es->rate, txn, &k, &d, DB_RMW);
	if (ret == DB_NOTFOUND)
		return 0;
	if (ret != 0)
		return ret;
	cnt = d.size / sizeof(int64_t);
	for (i = 0; i < cnt; i++)
		if (times[i] > (int64_t)now - window)
			times[o++] = times[i];
	*n = o;
	return 0;
}

static int
rate_store(struct as_estore *es, DB_TXN *txn, const char *key, int64_t *times, size_t n,
    time_t now)
{
	DBT k, d;

	if (n >= AS_ES_RL_MAX) {        /* keep the newest */
		memmove(times, times + 1, (AS_ES_RL_MAX - 1) * sizeof(int64_t));
		n = AS_ES_RL_MAX - 1;
	}
	times[n++] = (int64_t)now;
	dbt_in(&k, key, strlen(key));
	dbt_in(&d, times, n * sizeof(int64_t));
	return es->rate->put(es->rate, txn, &k, &d, 0);
}

struct create_arg {
	struct as_estore *es;
	const struct as_challenge *c;
	const struct as_ratelimit *lim;
	time_t now;
	int result;
	enum as_rl_verdict verdict;
	time_t retry_at;
	const char *client_key;   /* NULL: no per-client limit */
	int64_t *mt, *gt, *ct;    /* AS_ES_RL_MAX each (ct only with client_key) */
};

static int
create_txn(DB_TXN *txn, void *varg)
{
	struct create_arg *a = varg;
	struct chal_rec old, rec;
	unsigned char oh[AS_TOKEN_HASH_LEN];
	time_t *mt_t = NULL, *gt_t = NULL, *ct_t = NULL;
	size_t nm = 0, ng = 0, nc = 0, i;
	DBT k, d;
	int ret;

	a->result = AS_ES_OK;
	ret = get_open(a->es, txn, a->c->mailbox, oh, &old);
	if (ret == 0 && old.state == AS_CHAL_OPEN && old.expires > (int64_t)a->now) {
		a->result = AS_ES_EXISTS;
		return 0;
	}
	if (ret != 0 && ret != DB_NOTFOUND)
		return ret;
	if (ret == 0) {     /* an expired (or stale) challenge: retire it */
		dbt_in(&k, oh, sizeof(oh));
		if ((ret = a->es->chal->del(a->es->chal, txn, &k, 0)) != 0 && ret != DB_NOTFOUND)
			return ret;
	}
	if ((ret = rate_load(a->es, txn, a->c->mailbox, a->mt, &nm, a->now, AS_RL_DAY)) != 0 ||
	    (ret = rate_load(a->es, txn, AS_ES_GLOBAL_KEY, a->gt, &ng, a->now, AS_RL_HOUR)) != 0 ||
	    (a->client_key != NULL &&
	    (ret = rate_load(a->es, txn, a->client_key, a->ct, &nc, a->now, AS_RL_HOUR)) != 0))
		return ret;
	/* ratelimit.h works on time_t arrays. */
	mt_t = calloc(nm + 1, sizeof(time_t));
	gt_t = calloc(ng + 1, sizeof(time_t));
	ct_t = calloc(nc + 1, sizeof(time_t));
	if (mt_t == NULL || gt_t == NULL || ct_t == NULL) {
		free(mt_t);
		free(gt_t);
		free(ct_t);
		return ENOMEM;
	}
	for (i = 0; i < nm; i++)
		mt_t[i] = (time_t)a->mt[i];
	for (i = 0; i < ng; i++)
		gt_t[i] = (time_t)a->gt[i];
	for (i = 0; i < nc; i++)
		ct_t[i] = (time_t)a->ct[i];
	a->verdict = as_ratelimit_check_client(a->lim, mt_t, nm,
	    a->client_key != NULL ? ct_t : NULL, nc, gt_t, ng, a->now, &a->retry_at);
	free(mt_t);
	free(gt_t);
	free(ct_t);
	if (a->verdict != AS_RL_OK) {
		a->result = AS_ES_LIMITED;
		return 0;
	}
	rec_from(&rec, a->c);
	rec.state = AS_CHAL_OPEN;
	rec.failures = 0;
	dbt_in(&k, a->c->hash, AS_TOKEN_HASH_LEN);
	dbt_in(&d, &rec, sizeof(rec));
	if ((ret = a->es->chal->put(a->es->chal, txn, &k, &d, DB_NOOVERWRITE)) != 0)
		return ret;
	dbt_in(&k, a->c->mailbox, strlen(a->c->mailbox));
	dbt_in(&d, a->c->hash, AS_TOKEN_HASH_LEN);
	if ((ret = a->es->open->put(a->es->open, txn, &k, &d, 0)) != 0)
		return ret;
	if ((ret = rate_store(a->es, txn, a->c->mailbox, a->mt, nm, a->now)) != 0)
		return ret;
	if (a->client_key != NULL &&
	    (ret = rate_store(a->es, txn, a->client_key, a->ct, nc, a->now)) != 0)
		return ret;
	return rate_store(a->es, txn, AS_ES_GLOBAL_KEY, a->gt, ng, a->now);
}

static bool
mailbox_ok(const char *m)
{
	size_t n = m != NULL ? strlen(m) : 0;

	return n > 0 && n <= AS_ES_MAILBOX_MAX && m[0] != '\001' && m[0] != '\002';
}

int
as_estore_challenge_create(struct as_estore *es, const struct as_challenge *c,
    const struct as_ratelimit *lim, time_t now, enum as_rl_verdict *verdict, time_t *retry_at)
{
	return as_estore_challenge_create_client(es, c, NULL, lim, now, verdict, retry_at);
}

int
as_estore_challenge_create_client(struct as_estore *es, const struct as_challenge *c,
    const char *client, const struct as_ratelimit *lim, time_t now,
    enum as_rl_verdict *verdict, time_t *retry_at)
{
	struct create_arg a = { .es = es, .c = c, .lim = lim, .now = now, .verdict = AS_RL_OK };
	char ckey[AS_ES_CLIENT_MAX + sizeof(AS_ES_CLIENT_PREFIX)];
	int ret;

	if (es == NULL || c == NULL || lim == NULL || !mailbox_ok(c->mailbox) ||
	    (client != NULL && (client[0] == '\0' || strlen(client) > AS_ES_CLIENT_MAX)))
		return AS_ES_ERR;
	if (client != NULL) {
		snprintf(ckey, sizeof(ckey), "%s%s", AS_ES_CLIENT_PREFIX, client);
		a.client_key = ckey;
	}
	a.mt = malloc(AS_ES_RL_MAX * sizeof(int64_t));
	a.gt = malloc(AS_ES_RL_MAX * sizeof(int64_t));
	a.ct = malloc(AS_ES_RL_MAX * sizeof(int64_t));
	if (a.mt == NULL || a.gt == NULL || a.ct == NULL) {
		free(a.mt);
		free(a.gt);
		free(a.ct);
		return AS_ES_ERR;
	}
	ret = store_txn_run(es->st, create_txn, &a);
	free(a.mt);
	free(a.gt);
	free(a.ct);
	if (verdict != NULL)
		*verdict = a.verdict;
	if (retry_at != NULL)
		*retry_at = a.retry_at;
	return ret != 0 ? AS_ES_ERR : a.result;
}

int
as_estore_challenge_open(struct as_estore *es, const char *mailbox, time_t now,
    struct as_challenge *out)
{
	unsigned char h[AS_TOKEN_HASH_LEN];
	struct chal_rec rec;
	DBT k, d;
	int ret;

	if (es == NULL || !mailbox_ok(mailbox))
		return AS_ES_ERR;
	dbt_in(&k, mailbox, strlen(mailbox));
	dbt_out(&d, h, sizeof(h));
	ret = es->open->get(es->open, NULL, &k, &d, 0);
	if (ret == DB_NOTFOUND || (ret == 0 && d.size != sizeof(h)))
		return AS_ES_NOTFOUND;
	if (ret != 0)
		return AS_ES_ERR;
	dbt_in(&k, h, sizeof(h));
	dbt_out(&d, &rec, sizeof(rec));
	ret = es->chal->get(es->chal, NULL, &k, &d, 0);
	if (ret == DB_NOTFOUND || (ret == 0 && d.size != sizeof(rec)))
		return AS_ES_NOTFOUND;
	if (ret != 0)
		return AS_ES_ERR;
	if (rec.state != AS_CHAL_OPEN || rec.expires <= (int64_t)now)
		return AS_ES_NOTFOUND;
	if (out != NULL)
		rec_to(out, &rec, h);
	return AS_ES_OK;
}

struct redeem_arg {
	struct as_estore *es;
	const char *mailbox, *token, *in_reply_to;
	size_t token_len;
	time_t now;
	bool spend;   /* false: only check (and count a failure); the caller spends it later */
	int result;
	struct as_challenge *out;
};

static int
redeem_txn(DB_TXN *txn, void *varg)
{
	struct redeem_arg *a = varg;
	unsigned char h[AS_TOKEN_HASH_LEN];
	struct chal_rec rec;
	bool tok_ok, irt_ok;
	int ret;

	a->result = AS_ES_NOTFOUND;
	ret = get_open(a->es, txn, a->mailbox, h, &rec);
	if (ret == DB_NOTFOUND)
		return 0;
	if (ret != 0)
		return ret;
	if (rec.state != AS_CHAL_OPEN || rec.expires <= (int64_t)a->now)
		return 0;
	/* Both checks always run, so the time taken does not say which one failed. */
	tok_ok = as_token_check(a->token, a->token_len, h);
	irt_ok = a->in_reply_to == NULL || a->in_reply_to[0] == '\0' ||
	    strcmp(a->in_reply_to, rec.msgid) == 0;
	if (!tok_ok || !irt_ok) {
		a->result = AS_ES_MISMATCH;
		if (++rec.failures >= AS_ES_MAX_FAILURES) {
			rec.state = AS_CHAL_CANCELLED;
			if ((ret = del_open(a->es, txn, a->mailbox)) != 0)
				return ret;
		}
		return put_chal(a->es, txn, h, &rec);
	}
	if (a->spend) {
		rec.state = AS_CHAL_USED;
		if ((ret = put_chal(a->es, txn, h, &rec)) != 0 ||
		    (ret = del_open(a->es, txn, a->mailbox)) != 0)
			return ret;
	}
	if (a->out != NULL)
		rec_to(a->out, &rec, h);
	a->result = AS_ES_OK;
	return 0;
}

int
as_estore_challenge_redeem(struct as_estore *es, const char *mailbox, const char *token,
    size_t token_len, const char *in_reply_to, time_t now, struct as_challenge *out)
{
	struct redeem_arg a = { .es = es, .mailbox = mailbox, .token = token,
		.in_reply_to = in_reply_to, .token_len = token_len, .now = now, .spend = true,
		.out = out };

	if (es == NULL || !mailbox_ok(mailbox) || token == NULL)
		return AS_ES_ERR;
	return store_txn_run(es->st, redeem_txn, &a) != 0 ? AS_ES_ERR : a.result;
}

int
as_estore_challenge_check(struct as_estore *es, const char *mailbox, const char *token,
    size_t token_len, const char *in_reply_to, time_t now, struct as_challenge *out)
{
	struct redeem_arg a = { .es = es, .mailbox = mailbox, .token = token,
		.in_reply_to = in_reply_to, .token_len = token_len, .now = now, .spend = false,
		.out = out };

	if (es == NULL || !mailbox_ok(mailbox) || token == NULL || out == NULL)
		return AS_ES_ERR;
	return store_txn_run(es->st, redeem_txn, &a) != 0 ? AS_ES_ERR : a.result;
}

int
as_estore_challenge_spend(struct as_estore *es, DB_TXN *txn, const char *mailbox,
    const struct as_challenge *c, time_t now)
{
	unsigned char h[AS_TOKEN_HASH_LEN];
	struct chal_rec rec;
	int ret;

	ret = get_open(es, txn, mailbox, h, &rec);
	if (ret == DB_NOTFOUND)
		return AS_ES_NOTFOUND;
	if (ret != 0)
		return ret;
	/* still the challenge that was checked, open and in time: nobody redeemed it meanwhile */
	if (CRYPTO_memcmp(h, c->hash, sizeof(h)) != 0 || rec.state != AS_CHAL_OPEN ||
	    rec.expires <= (int64_t)now)
		return AS_ES_NOTFOUND;
	rec.state = AS_CHAL_USED;
	if ((ret = put_chal(es, txn, h, &rec)) != 0 || (ret = del_open(es, txn, mailbox)) != 0)
		return ret;
	return AS_ES_OK;
}

struct cancel_arg {
	struct as_estore *es;
	const char *mailbox;
	int result;
	struct as_challenge *out;
};

static int
cancel_txn(DB_TXN *txn, void *varg)
{
	struct cancel_arg *a = varg;
	unsigned char h[AS_TOKEN_HASH_LEN];
	struct chal_rec rec;
	int ret;

	a->result = AS_ES_NOTFOUND;
	ret = get_open(a->es, txn, a->mailbox, h, &rec);
	if (ret == DB_NOTFOUND)
		return 0;
	if (ret != 0)
		return ret;
	if ((ret = del_open(a->es, txn, a->mailbox)) != 0)
		return ret;
	if (rec.state != AS_CHAL_OPEN)
		return 0;
	rec.state = AS_CHAL_CANCELLED;
	if ((ret = put_chal(a->es, txn, h, &rec)) != 0)
		return ret;
	if (a->out != NULL)
		rec_to(a->out, &rec, h);
	a->result = AS_ES_OK;
	return 0;
}

int
as_estore_challenge_cancel(struct as_estore *es, const char *mailbox,
    struct as_challenge *out)
{
	struct cancel_arg a = { .es = es, .mailbox = mailbox, .out = out };

	if (es == NULL || !mailbox_ok(mailbox))
		return AS_ES_ERR;
	return store_txn_run(es->st, cancel_txn, &a) != 0 ? AS_ES_ERR : a.result;
}

struct bounce_arg {
	struct as_estore *es;
	const char *msgid;
	int result;
	struct as_challenge *out;
};

/*
 * The open challenge whose mail had msgid bounced: cancel it and give its send time back to
 * the gateway's hourly budget (the mailbox's own limits keep it: the address really was tried).
 */
static int
bounce_txn(DB_TXN *txn, void *varg)
{
	struct bounce_arg *a = varg;
	unsigned char h[AS_TOKEN_HASH_LEN];
	struct chal_rec rec;
	int64_t *gt = NULL;
	size_t ng = 0, i;
	DBC *cur = NULL;
	DBT k, d;
	int ret;

	a->result = AS_ES_NOTFOUND;
	if ((ret = a->es->chal->cursor(a->es->chal, txn, &cur, 0)) != 0)
		return ret;
	for (;;) {
		dbt_out(&k, h, sizeof(h));
		dbt_out(&d, &rec, sizeof(rec));
		if ((ret = cur->get(cur, &k, &d, DB_NEXT | DB_RMW)) != 0)
			break;
		rec.msgid[sizeof(rec.msgid) - 1] = '\0';
		if (k.size == sizeof(h) && d.size == sizeof(rec) && rec.state == AS_CHAL_OPEN &&
		    strcasecmp(rec.msgid, a->msgid) == 0)
			break;
	}
	if (ret != 0) {
		cur->close(cur);
		return ret == DB_NOTFOUND ? 0 : ret;
	}
	rec.state = AS_CHAL_CANCELLED;
	dbt_in(&d, &rec, sizeof(rec));
	ret = cur->put(cur, &k, &d, DB_CURRENT);
	cur->close(cur);
	if (ret != 0)
		return ret;
	rec.mailbox[sizeof(rec.mailbox) - 1] = '\0';
	if ((ret = del_open_if(a->es, txn, rec.mailbox, h)) != 0)
		return ret;
	if ((gt = malloc(AS_ES_RL_MAX * sizeof(int64_t))) == NULL)
		return ENOMEM;
	if ((ret = rate_load(a->es, txn, AS_ES_GLOBAL_KEY, gt, &ng, (time_t)rec.created + 1,
	    AS_RL_HOUR + 1)) == 0) {
		for (i = 0; i < ng && gt[i] != rec.created; i++)
			;
		if (i < ng) {
			DBT rk, rd;

			memmove(gt + i, gt + i + 1, (ng - i - 1) * sizeof(int64_t));
			ng--;
			dbt_in(&rk, AS_ES_GLOBAL_KEY, strlen(AS_ES_GLOBAL_KEY));
			dbt_in(&rd, gt, ng * sizeof(int64_t));
			ret = a->es->rate->put(a->es->rate, txn, &rk, &rd, 0);
		}
	}
	free(gt);
	if (ret == 0) {
		a->result = AS_ES_OK;
		if (a->out != NULL)
			rec_to(a->out, &rec, h);
	}
	return ret;
}

int
as_estore_challenge_bounced(struct as_estore *es, const char *message_id,
    struct as_challenge *out)
{
	struct bounce_arg a = { .es = es, .msgid = message_id, .out = out };

	if (es == NULL || message_id == NULL || message_id[0] == '\0' ||
	    strlen(message_id) >= AS_ES_MSGID_MAX)
		return AS_ES_ERR;
	return store_txn_run(es->st, bounce_txn, &a) != 0 ? AS_ES_ERR : a.result;
}

#define PURGE_BATCH 500

struct purge_arg {
	struct as_estore *es;
	time_t now;
	size_t done;
	bool more;
};

/* Delete up to PURGE_BATCH expired challenges (and their index entries) in one transaction. */
static int
purge_txn(DB_TXN *txn, void *varg)
{
	struct purge_arg *a = varg;
	unsigned char h[AS_TOKEN_HASH_LEN];
	struct chal_rec rec;
	DBC *cur = NULL;
	DBT k, d;
	size_t n = 0;
	int ret;

	a->more = false;
	if ((ret = a->es->chal->cursor(a->es->chal, txn, &cur, 0)) != 0)
		return ret;
	for (;;) {
		dbt_out(&k, h, sizeof(h));
		dbt_out(&d, &rec, sizeof(rec));
		ret = cur->get(cur, &k, &d, DB_NEXT | DB_RMW);
		if (ret == DB_NOTFOUND) {
			ret = 0;
			break;
		}
		if (ret != 0)
			break;
		if (k.size != sizeof(h) || d.size != sizeof(rec) || rec.expires > (int64_t)a->now)
			continue;
		rec.mailbox[sizeof(rec.mailbox) - 1] = '\0';
		/* The index entry goes too, but only when it points at this challenge. */
		if ((ret = del_open_if(a->es, txn, rec.mailbox, h)) != 0 ||
		    (ret = cur->del(cur, 0)) != 0)
			break;
		if (++n >= PURGE_BATCH) {
			a->more = true;
			break;
		}
	}
	cur->close(cur);
	if (ret == 0)
		a->done += n;
	return ret;
}

int
as_estore_purge(struct as_estore *es, time_t now, size_t *purged)
{
	struct purge_arg a = { .es = es, .now = now };
	int rounds;

	if (purged != NULL)
		*purged = 0;
	if (es == NULL)
		return AS_ES_ERR;
	for (rounds = 0; rounds < 10000; rounds++) {
		size_t before = a.done;

		if (store_txn_run(es->st, purge_txn, &a) != 0)
			return AS_ES_ERR;
		if (!a.more || a.done == before)
			break;
	}
	if (purged != NULL)
		*purged = a.done;
	return AS_ES_OK;
}

int
as_estore_validation_put(struct as_estore *es, const char *mailbox,
    const struct as_validation *v)
{
	return as_estore_validation_put_txn(es, NULL, mailbox, v);
}

int
as_estore_validation_put_txn(struct as_estore *es, DB_TXN *txn, const char *mailbox,
    const struct as_validation *v)
{
	struct valid_rec *r;
	size_t evl;
	DBT k, d;
	int ret;

	if (es == NULL || v == NULL || !mailbox_ok(mailbox))
		return AS_ES_ERR;
	evl = strnlen(v->evidence, sizeof(v->evidence) - 1);
	if ((r = calloc(1, sizeof(*r) + evl)) == NULL)
		return AS_ES_ERR;
	r->version = REC_VERSION;
	r->time = (int64_t)v->time;
	copy_str(r->id, sizeof(r->id), v->id);
	copy_str(r->method, sizeof(r->method), v->method);
	copy_str(r->br, sizeof(r->br), v->br_version);
	r->ev_len = (uint32_t)evl;
	memcpy(r + 1, v->evidence, evl);
	dbt_in(&k, mailbox, strlen(mailbox));
	dbt_in(&d, r, sizeof(*r) + evl);
	ret = es->valid->put(es->valid, txn, &k, &d, txn == NULL ? DB_AUTO_COMMIT : 0);
	free(r);
	if (txn != NULL)
		return ret;   /* a deadlock must reach the transaction's retry */
	return ret == 0 ? AS_ES_OK : AS_ES_ERR;
}

int
as_estore_validation_get(struct as_estore *es, const char *mailbox,
    struct as_validation *out)
{
	unsigned char buf[sizeof(struct valid_rec) + AS_ES_EVIDENCE_MAX];
	struct valid_rec r;
	DBT k, d;
	int ret;

	if (es == NULL || out == NULL || !mailbox_ok(mailbox))
		return AS_ES_ERR;
	dbt_in(&k, mailbox, strlen(mailbox));
	dbt_out(&d, buf, sizeof(buf));
	ret = es->valid->get(es->valid, NULL, &k, &d, 0);
	if (ret == DB_NOTFOUND)
		return AS_ES_NOTFOUND;
	if (ret != 0 || d.size < sizeof(r))
		return AS_ES_ERR;
	memcpy(&r, buf, sizeof(r));
	if (r.ev_len >= AS_ES_EVIDENCE_MAX || d.size != sizeof(r) + r.ev_len)
		return AS_ES_ERR;
	memset(out, 0, sizeof(*out));
	out->time = (time_t)r.time;
	memcpy(out->id, r.id, sizeof(out->id) - 1);
	memcpy(out->method, r.method, sizeof(out->method) - 1);
	memcpy(out->br_version, r.br, sizeof(out->br_version) - 1);
	memcpy(out->evidence, buf + sizeof(r), r.ev_len);
	return AS_ES_OK;
}

int
as_estore_check(struct as_estore *es, size_t *challenges, char *why, size_t whycap)
{
	unsigned char h[AS_TOKEN_HASH_LEN], ih[AS_TOKEN_HASH_LEN];
	char mb[AS_ES_MAILBOX_MAX + 1];
	struct chal_rec rec;
	DBC *cur = NULL;
	DBT k, d;
	size_t n = 0, n_open = 0, n_index = 0;
	int ret, r = AS_ES_ERR;

	snprintf(why, whycap, "ok");
	if ((ret = es->chal->cursor(es->chal, NULL, &cur, 0)) != 0)
		goto out;
	for (;;) {
		dbt_out(&k, h, sizeof(h));
		dbt_out(&d, &rec, sizeof(rec));
		if ((ret = cur->get(cur, &k, &d, DB_NEXT)) != 0)
			break;
		n++;
		if (k.size != sizeof(h) || d.size != sizeof(rec)) {
			snprintf(why, whycap, "challenge record %zu has a bad size", n);
			goto out;
		}
		if (rec.state == AS_CHAL_OPEN) {
			DBT ik, id;

			n_open++;
			rec.mailbox[sizeof(rec.mailbox) - 1] = '\0';
			dbt_in(&ik, rec.mailbox, strlen(rec.mailbox));
			dbt_out(&id, ih, sizeof(ih));
			if (es->open->get(es->open, NULL, &ik, &id, 0) != 0 || id.size != sizeof(ih) ||
			    memcmp(ih, h, sizeof(h)) != 0) {
				snprintf(why, whycap, "an open challenge is not indexed");
				goto out;
			}
		}
	}
	cur->close(cur);
	cur = NULL;
	if (ret != DB_NOTFOUND)
		goto out;
	if ((ret = es->open->cursor(es->open, NULL, &cur, 0)) != 0)
		goto out;
	for (;;) {
		dbt_out(&k, mb, sizeof(mb) - 1);
		dbt_out(&d, ih, sizeof(ih));
		if ((ret = cur->get(cur, &k, &d, DB_NEXT)) != 0)
			break;
		n_index++;
		mb[k.size] = '\0';
		dbt_in(&k, ih, sizeof(ih));
		dbt_out(&d, &rec, sizeof(rec));
		if (es->chal->get(es->chal, NULL, &k, &d, 0) != 0 || rec.state != AS_CHAL_OPEN ||
		    strncmp(rec.mailbox, mb, sizeof(rec.mailbox)) != 0) {
			snprintf(why, whycap, "index entry %zu does not point at an open challenge of "
			    "its mailbox", n_index);
			goto out;
		}
	}
	if (ret != DB_NOTFOUND)
		goto out;
	if (n_index != n_open) {
		snprintf(why, whycap, "%zu open challenges, %zu index entries", n_open, n_index);
		goto out;
	}
	if (challenges != NULL)
		*challenges = n;
	r = AS_ES_OK;
out:
	if (cur != NULL)
		cur->close(cur);
	if (r != AS_ES_OK && strcmp(why, "ok") == 0)
		snprintf(why, whycap, "database error: %s", store_strerror(ret));
	return r;
}
