/*
 * test_enrol_txn: a reply's challenge is spent, its validation recorded and the certificate
 * issued in one transaction, on a real CA and store. A failure inside that transaction leaves
 * the challenge open, no validation and no certificate (the user may reply again); racing
 * replies with the same token get exactly one certificate.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "policy/enrol_store.h"
#include "tests/policy/enrol_fixture.h"
#include "tests/tap.h"

#define RACERS 8

static struct as_estore *es;
static time_t now;

struct spend {
	const char *mailbox;
	const struct as_challenge *c;
	bool fail_after;   /* fail the transaction after the enrolment writes */
	int result;
};

/* A validation id of the right length: the challenge's own will do for the test. */
static const char *
c_id_of(const struct as_challenge *c)
{
	return c->id;
}

/* The same work policy/enrol.c hands to ca_issue. */
static int
spend_hook(void *db_txn, void *arg)
{
	struct spend *s = arg;
	struct as_validation v;
	int ret;

	s->result = as_estore_challenge_spend(es, db_txn, s->mailbox, s->c, now);
	if (s->result == AS_ES_NOTFOUND)
		return CA_ERR;
	if (s->result != 0)
		return s->result;
	memset(&v, 0, sizeof(v));
	snprintf(v.id, sizeof(v.id), "%s", c_id_of(s->c));
	snprintf(v.method, sizeof(v.method), "3.2.2.2");
	snprintf(v.evidence, sizeof(v.evidence), "challenge=%s", s->c->id);
	v.time = now;
	if ((ret = as_estore_validation_put_txn(es, db_txn, s->mailbox, &v)) != 0)
		return ret;
	return s->fail_after ? CA_ERR : 0;
}

static int
issue(const char *mailbox, struct spend *s)
{
	struct ca_issue_request req;
	struct ca_issued out;
	struct ca_error err;
	int r;

	memset(&req, 0, sizeof(req));
	memset(&out, 0, sizeof(out));
	req.mailbox = mailbox;
	req.profile = CA_PROFILE_MAILBOX;
	req.generation = CA_GEN_STRICT;
	req.key_type = CA_KEY_EC_P256;
	req.validity_seconds = 30LL * 86400;
	req.actor = "test";
	req.in_txn = spend_hook;
	req.in_txn_arg = s;
	r = ca_issue(ca, &req, &out, &err);
	if (r == CA_OK)
		ca_issued_free(&out);
	return r;
}

static int
count_one(const struct ca_cert_info *info, void *arg)
{
	(void)info;
	(*(int *)arg)++;
	return 0;
}

static int
certs_of(const char *mailbox)
{
	struct ca_cert_filter f = { mailbox, NULL, -1, 0 };
	struct ca_error err;
	int n = 0;

	return ca_cert_foreach(ca, &f, count_one, &n, &err) == CA_OK ? n : -1;
}

static int
challenge(const char *mailbox, char tok[AS_TOKEN_LEN + 1])
{
	struct as_ratelimit lim = { 10, 100, 100000, 100000 };
	enum as_rl_verdict v;
	struct as_challenge c;

	memset(&c, 0, sizeof(c));
	if (as_token_new(tok, AS_TOKEN_LEN + 1, c.hash) < 0 || as_token_id(c.hash, c.id) < 0)
		return AS_ES_ERR;
	snprintf(c.mailbox, sizeof(c.mailbox), "%s", mailbox);
	snprintf(c.message_id, sizeof(c.message_id), "<%s@gw.example>", c.id);
	c.created = now;
	c.expires = now + 3600;
	return as_estore_challenge_create(es, &c, &lim, now, &v, NULL);
}

struct racer {
	const char *mailbox, *tok;
	int checked, issued, spent_elsewhere;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	struct as_challenge c;
	struct spend s;

	r->checked = as_estore_challenge_check(es, r->mailbox, r->tok, AS_TOKEN_LEN, NULL, now, &c);
	if (r->checked != AS_ES_OK)
		return NULL;
	s = (struct spend){ r->mailbox, &c, false, 0 };
	r->issued = issue(r->mailbox, &s) == CA_OK;
	r->spent_elsewhere = s.result == AS_ES_NOTFOUND;
	return NULL;
}

int
main(void)
{
	char tok[AS_TOKEN_LEN + 1], err[256];
	struct as_challenge c;
	struct as_validation v;
	struct spend s;
	struct racer rs[RACERS];
	pthread_t th[RACERS];
	int issued = 0, accounted = 0, i;

	if (setup() < 0 || as_estore_open(st, &es, err, sizeof(err)) < 0) {
		printf("Bail out! set-up failed\n");
		return 1;
	}
	now = time(NULL);
	tap_ok(challenge("tx@example.org", tok) == AS_ES_OK, "a challenge is open");
	tap_ok(as_estore_challenge_check(es, "tx@example.org", tok, AS_TOKEN_LEN, NULL, now, &c) ==
	    AS_ES_OK, "the right token checks, the challenge is not spent yet");

	s = (struct spend){ "tx@example.org", &c, true, 0 };
	tap_ok(issue("tx@example.org", &s) != CA_OK,
	    "an issuance whose transaction fails after the enrolment writes fails");
	tap_ok(as_estore_challenge_check(es, "tx@example.org", tok, AS_TOKEN_LEN, NULL, now, &c) ==
	    AS_ES_OK, "... and the challenge is still open (the user may reply again)");
	tap_ok(as_estore_validation_get(es, "tx@example.org", &v) == AS_ES_NOTFOUND,
	    "... no validation was recorded");
	tap_ok(certs_of("tx@example.org") == 0, "... no certificate was issued");

	s = (struct spend){ "tx@example.org", &c, false, 0 };
	tap_ok(issue("tx@example.org", &s) == CA_OK, "the reply again: issued");
	tap_ok(certs_of("tx@example.org") == 1, "... one certificate");
	tap_ok(as_estore_validation_get(es, "tx@example.org", &v) == AS_ES_OK,
	    "... with its validation");
	tap_ok(as_estore_challenge_check(es, "tx@example.org", tok, AS_TOKEN_LEN, NULL, now, &c) ==
	    AS_ES_NOTFOUND, "... and the challenge is spent");
	s = (struct spend){ "tx@example.org", &c, false, 0 };
	tap_ok(issue("tx@example.org", &s) != CA_OK && s.result == AS_ES_NOTFOUND &&
	    certs_of("tx@example.org") == 1,
	    "issuing on the spent challenge again fails whole: still one certificate");

	tap_ok(challenge("race@example.org", tok) == AS_ES_OK, "a challenge for the race");
	for (i = 0; i < RACERS; i++) {
		rs[i] = (struct racer){ "race@example.org", tok, 0, 0, 0 };
		pthread_create(&th[i], NULL, race, &rs[i]);
	}
	for (i = 0; i < RACERS; i++) {
		pthread_join(th[i], NULL);
		issued += rs[i].issued;
		accounted += rs[i].issued || rs[i].spent_elsewhere || rs[i].checked == AS_ES_NOTFOUND;
	}
	tap_ok(issued == 1, "%d replies racing with one token: exactly one issuance (%d)", RACERS,
	    issued);
	tap_ok(accounted == RACERS,
	    "every other reply found the challenge spent, at its check or inside the issuance");
	tap_ok(certs_of("race@example.org") == 1, "one certificate for the racing mailbox");
	as_estore_close(es);
	ca_close(ca);
	fixture_cleanup();
	return tap_done();
}
