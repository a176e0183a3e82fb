/*
 * test_store_scale: the CA calls that keep their cost flat as the store grows, checked for
 * their results under a clock the test moves. Listings with filters (ca_cert_foreach) skip,
 * from the record header alone, what cannot match: each filter must still return exactly the
 * certificates it did when every record was decoded (valid, expiring soon, expired, revoked,
 * revoked and expired, by issuer). Bulk loading (ca_bulk_load, bench/store_fill -F): what is
 * issued with it on is there after the CA is closed and opened again, and a read-only CA
 * refuses it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca.h"
#include "tests/ca/ca_fixture.h"
#include "tests/tap.h"

#define DAY 86400LL
#define T0 1800000000

static time_t clock_now = T0;

static time_t
fixed_now(void)
{
	return clock_now;
}

/* The mailboxes a filter returns, as one sorted-by-store-order string "a,b,". */
struct seen {
	char list[512];
	int with_cert;
	int n;
};

static int
seen_cb(const struct ca_cert_info *i, void *arg)
{
	struct seen *s = arg;
	size_t len = strlen(s->list);

	snprintf(s->list + len, sizeof(s->list) - len, "%.*s,", (int)strcspn(i->mailbox, "@"),
	    i->mailbox);
	s->with_cert += i->cert != NULL;
	s->n++;
	return 0;
}

/* Whether filter f returns exactly the names in want (each followed by a comma, any order). */
static bool
returns(struct ca *ca, const struct ca_cert_filter *f, const char *want, int n_want)
{
	struct ca_error err = { "" };
	struct seen s;
	char copy[512], *tok, *save = NULL;

	memset(&s, 0, sizeof(s));
	if (ca_cert_foreach(ca, f, seen_cb, &s, &err) != CA_OK) {
		tap_diag("ca_cert_foreach: %s", err.text);
		return false;
	}
	if (s.n != n_want || s.with_cert != s.n) {
		tap_diag("got %d (%d with a certificate): %s", s.n, s.with_cert, s.list);
		return false;
	}
	snprintf(copy, sizeof(copy), "%s", want);
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char needle[80];

		snprintf(needle, sizeof(needle), "%s,", tok);
		if (strstr(s.list, needle) == NULL) {
			tap_diag("%s missing from %s", tok, s.list);
			return false;
		}
	}
	return true;
}

static int
issue(struct ca *ca, const char *mb, long long validity, char serial[41])
{
	struct ca_issue_request req;
	struct ca_issued is;
	struct ca_error err = { "" };
	int r;

	memset(&req, 0, sizeof(req));
	req.mailbox = mb;
	req.key_type = CA_KEY_EC_P256;
	req.validity_seconds = validity;
	req.actor = "test";
	if ((r = ca_issue(ca, &req, &is, &err)) != CA_OK) {
		tap_diag("issue %s: %s", mb, err.text);
		return r;
	}
	if (serial != NULL)
		memcpy(serial, is.serial_hex, 41);
	ca_issued_free(&is);
	return CA_OK;
}

int
main(void)
{
	struct ca_fixture fx;
	struct ca_params params;
	struct ca_authority_request areq;
	struct ca_authority auth;
	struct ca_error err = { "" };
	struct ca_cert_filter f;
	struct ca *ca = NULL;
	char s_gone[41], s_old[41], id[41];
	int r, ok = 1;

	ca_fixture_params(&fx, &params);
	params.now = fixed_now;
	r = ca_open(&params, &ca, &err);
	tap_ok(r == CA_OK, "ca_open on a new store (%s)", err.text);
	if (r != CA_OK)
		return tap_done();
	memset(&areq, 0, sizeof(areq));
	areq.key_type = CA_KEY_EC_P256;
	areq.actor = "test";
	r = ca_init(ca, &areq, &auth, &err);
	tap_ok(r == CA_OK, "ca_init (%s)", err.text);
	if (r != CA_OK)
		return tap_done();
	memcpy(id, auth.id, sizeof(id));
	ca_authority_free(&auth);

	/* soon: 10 days; mid: 100; late: 400; gone: 10, revoked; short: 1 day, then expired;
	 * old: 1 day, revoked, then expired (revoked wins over expired). */
	ok &= issue(ca, "soon@example.org", 10 * DAY, NULL) == CA_OK;
	ok &= issue(ca, "mid@example.org", 100 * DAY, NULL) == CA_OK;
	ok &= issue(ca, "late@example.org", 400 * DAY, NULL) == CA_OK;
	ok &= issue(ca, "gone@example.org", 10 * DAY, s_gone) == CA_OK;
	ok &= issue(ca, "short@example.org", 1 * DAY, NULL) == CA_OK;
	ok &= issue(ca, "old@example.org", 1 * DAY, s_old) == CA_OK;
	ok &= ca_revoke(ca, s_gone, CA_REASON_CESSATION, "test", &err) == CA_OK;
	ok &= ca_revoke(ca, s_old, CA_REASON_SUPERSEDED, "test", &err) == CA_OK;
	tap_ok(ok, "six certificates issued, two revoked (%s)", err.text);
	clock_now = T0 + 2 * DAY;

	f = (struct ca_cert_filter){ NULL, NULL, -1, 30 * DAY };
	tap_ok(returns(ca, &f, "soon", 1), "expiring within 30 days: the valid one only, not the "
	    "revoked or the expired ones");
	f = (struct ca_cert_filter){ NULL, NULL, -1, 200 * DAY };
	tap_ok(returns(ca, &f, "soon,mid", 2), "expiring within 200 days: two");
	f = (struct ca_cert_filter){ NULL, NULL, -1, 7 * DAY };
	tap_ok(returns(ca, &f, "", 0), "expiring within 7 days: none (the soonest has 8 days "
	    "less a second left)");
	f = (struct ca_cert_filter){ NULL, NULL, CA_STATUS_VALID, 0 };
	tap_ok(returns(ca, &f, "soon,mid,late", 3), "status valid: three");
	f = (struct ca_cert_filter){ NULL, NULL, CA_STATUS_EXPIRED, 0 };
	tap_ok(returns(ca, &f, "short", 1), "status expired: the unrevoked expired one");
	f = (struct ca_cert_filter){ NULL, NULL, CA_STATUS_REVOKED, 0 };
	tap_ok(returns(ca, &f, "gone,old", 2), "status revoked: both, expired or not");
	f = (struct ca_cert_filter){ NULL, id, -1, 0 };
	tap_ok(returns(ca, &f, "soon,mid,late,gone,short,old", 6), "by issuer: all six");
	f = (struct ca_cert_filter){ NULL, "0000000000000000000000000000000000000000", -1, 0 };
	tap_ok(returns(ca, &f, "", 0), "by another issuer: none");
	f = (struct ca_cert_filter){ NULL, id, -1, 30 * DAY };
	tap_ok(returns(ca, &f, "soon", 1), "by issuer and expiring: one");
	f = (struct ca_cert_filter){ "old@example.org", NULL, CA_STATUS_REVOKED, 0 };
	tap_ok(returns(ca, &f, "old", 1), "by mailbox and status");

	/* Bulk loading: atomic commits without a flush each, durable once switched off. */
	r = ca_bulk_load(ca, true, &err);
	tap_ok(r == CA_OK, "bulk load on (%s)", err.text);
	ok = 1;
	for (int i = 0; i < 20; i++) {
		char mb[64];

		snprintf(mb, sizeof(mb), "bulk%02d@example.org", i);
		ok &= issue(ca, mb, 100 * DAY, NULL) == CA_OK;
	}
	tap_ok(ok, "20 issued while bulk loading");
	r = ca_bulk_load(ca, false, &err);
	tap_ok(r == CA_OK, "bulk load off: log flushed, checkpoint taken (%s)", err.text);
	ca_close(ca);
	ca = NULL;
	r = ca_open(&params, &ca, &err);
	tap_ok(r == CA_OK, "ca_open again (%s)", err.text);
	if (r != CA_OK)
		return tap_done();
	f = (struct ca_cert_filter){ NULL, NULL, CA_STATUS_VALID, 0 };
	{
		struct seen s;

		memset(&s, 0, sizeof(s));
		r = ca_cert_foreach(ca, &f, seen_cb, &s, &err);
		tap_ok(r == CA_OK && s.n == 23,
		    "after reopening: the 20 bulk-loaded and the 3 earlier valid ones (%d)", s.n);
	}
	ca_close(ca);
	params.read_only = true;
	ca = NULL;
	r = ca_open(&params, &ca, &err);
	tap_ok(r == CA_OK && ca_bulk_load(ca, true, &err) == CA_INVALID,
	    "a read-only CA refuses bulk loading");
	ca_close(ca);
	ca_fixture_remove(&fx);
	return tap_done();
}
