/*
 * test_enrol_store: the enrolment databases on a real Berkeley DB environment in a temporary
 * directory: single use (also under racing threads), one open challenge per mailbox, expiry,
 * the failure budget, rate limits, purge, validations, and a process killed (SIGKILL) in the
 * middle of transactions leaving a consistent store after recovery.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "policy/enrol_store.h"
#include "tests/tap.h"

static char dir[64];
static struct store *st;
static struct as_estore *es;

static void
open_all(void)
{
	char err[256];

	if (store_open(dir, &st, err, sizeof(err)) < 0 || as_estore_open(st, &es, err,
	    sizeof(err)) < 0) {
		printf("Bail out! cannot open the store: %s\n", err);
		exit(1);
	}
}

static void
close_all(void)
{
	as_estore_close(es);
	store_close(st);
	es = NULL;
	st = NULL;
}

/* A new challenge for `mailbox`; its token is returned in `tok`. */
static int
make(const char *mailbox, time_t now, long long life, const struct as_ratelimit *lim,
    char tok[AS_TOKEN_LEN + 1], enum as_rl_verdict *v)
{
	struct as_challenge c;

	memset(&c, 0, sizeof(c));
	if (as_token_new(tok, AS_TOKEN_LEN + 1, c.hash) < 0 || as_token_id(c.hash, c.id) < 0)
		return AS_ES_ERR;
	snprintf(c.mailbox, sizeof(c.mailbox), "%s", mailbox);
	snprintf(c.message_id, sizeof(c.message_id), "<%s@gw.example>", c.id);
	c.created = now;
	c.expires = now + life;
	return as_estore_challenge_create(es, &c, lim, now, v, NULL);
}

struct race {
	const char *tok;
	time_t now;
	int result;
};

static void *
racer(void *arg)
{
	struct race *r = arg;

	r->result = as_estore_challenge_redeem(es, "race@example.org", r->tok, AS_TOKEN_LEN, NULL,
	    r->now, NULL);
	return NULL;
}

/* Child of the crash test: churn until killed. */
static void
churn(void)
{
	const struct as_ratelimit lim = { 1000000, 1000000, 1000000, 1000000 };
	char tok[AS_TOKEN_LEN + 1], mb[64];
	enum as_rl_verdict v;
	time_t now = 1700000000;
	unsigned i;

	open_all();
	for (i = 0;; i++) {
		snprintf(mb, sizeof(mb), "u%u@example.org", i % 50);
		if (make(mb, now + i, 3600, &lim, tok, &v) == AS_ES_EXISTS) {
			if (i % 3 == 0)
				as_estore_challenge_cancel(es, mb, NULL);
			else
				as_estore_challenge_redeem(es, mb, tok, AS_TOKEN_LEN, NULL, now + i, NULL);
		}
		if (i % 97 == 0)
			as_estore_purge(es, now + i - 1800, NULL);
	}
}

int
main(void)
{
	const struct as_ratelimit big = { 1000, 1000, 100000, 100000 };
	const struct as_ratelimit lim = { 2, 3, 5, 5 };
	char tok[AS_TOKEN_LEN + 1], tok2[AS_TOKEN_LEN + 1], bad[AS_TOKEN_LEN + 1], why[256];
	struct as_challenge c;
	struct as_validation val, got;
	enum as_rl_verdict v;
	time_t now = 1700000000;
	size_t n;
	int i, ok;

	snprintf(dir, sizeof(dir), "/tmp/es-test-XXXXXX");
	if (mkdtemp(dir) == NULL)
		tap_skip_all("mkdtemp failed");
	open_all();

	/* One open challenge per mailbox; single use. */
	tap_ok(make("alice@example.org", now, 3600, &big, tok, &v) == AS_ES_OK, "create a challenge");
	tap_ok(make("alice@example.org", now + 1, 3600, &big, tok2, &v) == AS_ES_EXISTS,
	    "a second challenge while one is open is refused");
	tap_ok(as_estore_challenge_open(es, "alice@example.org", now, &c) == AS_ES_OK &&
	    c.state == AS_CHAL_OPEN && c.expires == now + 3600 && strlen(c.id) == AS_TOKEN_ID_LEN,
	    "the open challenge is found");
	memcpy(bad, tok, sizeof(bad));
	bad[0] = bad[0] == 'A' ? 'B' : 'A';
	tap_ok(as_estore_challenge_redeem(es, "alice@example.org", bad, AS_TOKEN_LEN, NULL, now,
	    NULL) == AS_ES_MISMATCH, "a wrong token is a mismatch");
	tap_ok(as_estore_challenge_redeem(es, "alice@example.org", tok, AS_TOKEN_LEN,
	    "<other@gw.example>", now, NULL) == AS_ES_MISMATCH,
	    "the right token with a wrong In-Reply-To is a mismatch");
	tap_ok(as_estore_challenge_redeem(es, "bob@example.org", tok, AS_TOKEN_LEN, NULL, now,
	    NULL) == AS_ES_NOTFOUND, "alice's token for bob (no challenge): not found");
	tap_ok(as_estore_challenge_redeem(es, "alice@example.org", tok, AS_TOKEN_LEN,
	    c.message_id, now + 10, &c) == AS_ES_OK && c.state == AS_CHAL_USED &&
	    c.failures == 2, "the right token and In-Reply-To redeem it (two failures counted)");
	tap_ok(as_estore_challenge_redeem(es, "alice@example.org", tok, AS_TOKEN_LEN, NULL,
	    now + 11, NULL) == AS_ES_NOTFOUND, "a reused token is refused (single use)");
	tap_ok(as_estore_challenge_open(es, "alice@example.org", now, NULL) == AS_ES_NOTFOUND,
	    "no open challenge after use");

	/* Tokens are bound to the mailbox: bob's token does not answer carol's challenge. */
	make("bob@example.org", now, 3600, &big, tok, &v);
	make("carol@example.org", now, 3600, &big, tok2, &v);
	tap_ok(as_estore_challenge_redeem(es, "carol@example.org", tok, AS_TOKEN_LEN, NULL, now,
	    NULL) == AS_ES_MISMATCH, "another mailbox's token is a mismatch");
	for (i = 0, ok = 1; i < AS_ES_MAX_FAILURES - 1; i++)
		ok &= as_estore_challenge_redeem(es, "carol@example.org", bad, AS_TOKEN_LEN, NULL,
		    now, NULL) == AS_ES_MISMATCH;
	tap_ok(ok && as_estore_challenge_redeem(es, "carol@example.org", tok2, AS_TOKEN_LEN, NULL,
	    now, NULL) == AS_ES_NOTFOUND, "after %d wrong tokens the challenge is burnt",
	    AS_ES_MAX_FAILURES);
	tap_ok(as_estore_challenge_cancel(es, "bob@example.org", &c) == AS_ES_OK &&
	    c.state == AS_CHAL_CANCELLED, "cancel bob's challenge");
	tap_ok(as_estore_challenge_redeem(es, "bob@example.org", tok, AS_TOKEN_LEN, NULL, now,
	    NULL) == AS_ES_NOTFOUND, "a cancelled challenge can't be answered");
	tap_ok(as_estore_challenge_cancel(es, "bob@example.org", NULL) == AS_ES_NOTFOUND,
	    "cancelling again: not found");

	/* Expiry. */
	make("dave@example.org", now, 60, &big, tok, &v);
	tap_ok(as_estore_challenge_redeem(es, "dave@example.org", tok, AS_TOKEN_LEN, NULL, now + 60,
	    NULL) == AS_ES_NOTFOUND, "an expired token is refused");
	tap_ok(make("dave@example.org", now + 61, 60, &big, tok, &v) == AS_ES_OK,
	    "an expired challenge does not block a new one");
	ok = as_estore_check(es, &n, why, sizeof(why)) == AS_ES_OK;
	tap_ok(ok, "store consistent: %s", why);

	/* Racing threads: one token, eight redeemers, one winner. */
	make("race@example.org", now, 3600, &big, tok, &v);
	{
		pthread_t th[8];
		struct race r[8];
		int wins = 0, lost = 0;

		for (i = 0; i < 8; i++) {
			r[i] = (struct race){ .tok = tok, .now = now };
			pthread_create(&th[i], NULL, racer, &r[i]);
		}
		for (i = 0; i < 8; i++) {
			pthread_join(th[i], NULL);
			wins += r[i].result == AS_ES_OK;
			lost += r[i].result == AS_ES_NOTFOUND;
		}
		tap_ok(wins == 1 && lost == 7, "8 racing redeems: exactly one wins (%d, %d)", wins, lost);
	}

	/* Rate limits: 2 per mailbox per hour, 3 per day, 5 for the gateway per hour. */
	for (i = 0, ok = 1; i < 2; i++) {
		ok &= make("eve@example.org", now + 10000 + i, 3600, &lim, tok, &v) == AS_ES_OK;
		as_estore_challenge_cancel(es, "eve@example.org", NULL);
	}
	tap_ok(ok && make("eve@example.org", now + 10002, 3600, &lim, tok, &v) == AS_ES_LIMITED &&
	    v == AS_RL_MAILBOX_HOUR, "the third challenge in an hour is refused (mailbox-hour)");
	tap_ok(make("eve@example.org", now + 13800, 3600, &lim, tok, &v) == AS_ES_OK,
	    "an hour later one more goes out");
	as_estore_challenge_cancel(es, "eve@example.org", NULL);
	tap_ok(make("eve@example.org", now + 18000, 3600, &lim, tok, &v) == AS_ES_LIMITED &&
	    v == AS_RL_MAILBOX_DAY, "the fourth in a day is refused (mailbox-day)");
	for (i = 0, ok = 1; i < 5; i++) {
		char mb[64];

		snprintf(mb, sizeof(mb), "g%d@example.org", i);
		ok &= make(mb, now + 30000, 3600, &lim, tok, &v) == AS_ES_OK;
	}
	tap_ok(ok && make("g9@example.org", now + 30001, 3600, &lim, tok, &v) == AS_ES_LIMITED &&
	    v == AS_RL_GLOBAL_HOUR, "the gateway-wide hourly limit holds");

	/* Purge. */
	ok = as_estore_purge(es, now + 100000, &n) == AS_ES_OK;
	tap_ok(ok && n >= 8, "purge removes expired challenges (%zu)", n);
	ok = as_estore_check(es, &n, why, sizeof(why)) == AS_ES_OK;
	tap_ok(ok && n == 0, "nothing left, index consistent: %s", why);
	tap_ok(as_estore_challenge_open(es, "g1@example.org", now + 30000, NULL) == AS_ES_NOTFOUND,
	    "a purged challenge is gone");

	/* Validations. */
	memset(&val, 0, sizeof(val));
	snprintf(val.id, sizeof(val.id), "0123456789abcdef");
	snprintf(val.method, sizeof(val.method), "3.2.2.2");
	snprintf(val.br_version, sizeof(val.br_version), "1.0.11");
	val.time = now;
	snprintf(val.evidence, sizeof(val.evidence), "challenge=abc login=alice caa=allowed");
	tap_ok(as_estore_validation_put(es, "alice@example.org", &val) == AS_ES_OK &&
	    as_estore_validation_get(es, "alice@example.org", &got) == AS_ES_OK &&
	    got.time == now && strcmp(got.method, "3.2.2.2") == 0 &&
	    strcmp(got.evidence, val.evidence) == 0 && strcmp(got.id, val.id) == 0,
	    "a validation round-trips");
	tap_ok(as_estore_validation_get(es, "nobody@example.org", &got) == AS_ES_NOTFOUND,
	    "no validation: not found");
	tap_ok(as_estore_challenge_open(es, "", now, NULL) == AS_ES_ERR &&
	    as_estore_challenge_open(es, AS_ES_GLOBAL_KEY, now, NULL) == AS_ES_ERR,
	    "bad mailboxes are refused");
	close_all();

	/* Crash: a process killed with SIGKILL mid-transaction; recovery leaves a consistent store. */
	for (i = 0; i < 3; i++) {
		pid_t pid = fork();
		struct timespec ts = { 0, 300000000L + 100000000L * i };

		if (pid == 0) {
			churn();
			_exit(0);
		}
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		open_all();
		ok = as_estore_check(es, &n, why, sizeof(why)) == AS_ES_OK;
		tap_ok(ok,
		    "killed during churn (%d): consistent after recovery, %zu challenges: %s", i, n, why);
		close_all();
	}
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			tap_diag("could not remove %s", dir);
	}
	return tap_done();
}
