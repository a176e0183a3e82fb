/*
 * test_domain: the CA's domain control validations (ca/domain.c) with an injected clock:
 * organization-validated issuance refused without, allowed with, and refused again after
 * the reuse period or a revoke; the Random Value (length, uniqueness, 30-day life), the
 * constant-time hash check (mismatch, spent, expired), the reuse bounds, parent-domain
 * coverage, the audit records, and names that are refused.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca/ca_domain.h"
#include "tests/ca/ca_fixture.h"
#include "tests/ca/domain_fixture.h"
#include "tests/tap.h"

static time_t fake_now = 1900000000;

static time_t
clock_fn(void)
{
	return fake_now;
}

static int
org_issue(struct ca *ca, const char *mailbox, struct ca_error *err)
{
	struct ca_issue_request req;
	struct ca_issued is;
	int r;

	memset(&req, 0, sizeof(req));
	req.mailbox = mailbox;
	req.profile = CA_PROFILE_ORGANIZATION;
	req.key_type = CA_KEY_EC_P256;
	req.single = true;
	req.actor = "test";
	r = ca_issue(ca, &req, &is, err);
	if (r == CA_OK)
		ca_issued_free(&is);
	return r;
}

struct audit_count {
	int challenge, validation, revoke;
	bool value_seen;
	const char *value;
};

static int
count_cb(const struct ca_audit_record *e, void *arg)
{
	struct audit_count *c = arg;

	if (strcmp(e->event, "domain-challenge") == 0)
		c->challenge++;
	if (strcmp(e->event, "domain-validation") == 0)
		c->validation++;
	if (strcmp(e->event, "domain-revoke") == 0)
		c->revoke++;
	if (strstr(e->fields, c->value) != NULL)
		c->value_seen = true;
	return 0;
}

int
main(void)
{
	char v1[41], v2[41], norm[CA_DOMAIN_MAX + 1];
	struct ca_fixture fx;
	struct ca_params params;
	struct ca_authority_request areq;
	struct ca_authority auth;
	struct ca_domain_info info;
	struct ca_error err = { "" };
	struct audit_count ac;
	unsigned char h[32];
	struct ca *ca = NULL;
	uint64_t n;
	int r;

	ca_fixture_params(&fx, &params);
	params.now = clock_fn;
	r = ca_open(&params, &ca, &err);
	tap_ok(r == CA_OK, "ca_open (%s)", err.text);
	if (r != CA_OK)
		return tap_done();
	memset(&areq, 0, sizeof(areq));
	areq.key_type = CA_KEY_EC_P256;
	areq.actor = "test";
	tap_ok(ca_init(ca, &areq, &auth, &err) == CA_OK, "ca_init (%s)", err.text);
	ca_authority_free(&auth);

	r = org_issue(ca, "a@example.org", &err);
	tap_ok(r == CA_INVALID && strstr(err.text, "no domain validation") != NULL,
	    "organization-validated issuance without a validation is refused: %s", err.text);

	tap_ok(ca_domain_challenge(ca, "Example.ORG.", "test", v1, &info, &err) == CA_OK &&
	    strlen(v1) == CA_DOMAIN_VALUE_LEN && strspn(v1, "0123456789abcdef") == strlen(v1) &&
	    strcmp(info.domain, "example.org") == 0 && info.pending &&
	    info.pending_expires - info.pending_created == 30 * 86400,
	    "challenge: 160-bit hex value, name folded, pending for 30 days");
	tap_ok(ca_domain_challenge(ca, "example.org", "test", v2, NULL, &err) == CA_OK &&
	    strcmp(v1, v2) != 0, "a second challenge gives a new value and replaces the first");
	fixture_value_hash(v1, h);
	tap_ok(ca_domain_record(ca, "example.org", h, 86400, "ev", "test", NULL, &err) ==
	    CA_MISMATCH, "the replaced value no longer validates (mismatch)");
	fixture_value_hash(v2, h);
	tap_ok(ca_domain_record(ca, "example.org", h, 0, "ev", "test", NULL, &err) == CA_INVALID &&
	    ca_domain_record(ca, "example.org", h, CA_DOMAIN_REUSE_MAX + 1, "ev", "test", NULL,
	    &err) == CA_INVALID, "a reuse period of 0 or beyond 398 days is refused");
	fake_now += 30 * 86400;
	tap_ok(ca_domain_record(ca, "example.org", h, 86400, "ev", "test", NULL, &err) ==
	    CA_NOTFOUND, "a value 30 days old has expired: %s", err.text);
	tap_ok(ca_domain_challenge(ca, "example.org", "test", v2, NULL, &err) == CA_OK, "new value");
	fixture_value_hash(v2, h);
	tap_ok(ca_domain_record(ca, "example.org", h, 10 * 86400, "perspectives=3", "test", &info,
	    &err) == CA_OK && info.validated && !info.pending && strlen(info.id) == 16 &&
	    strcmp(info.method, "3.2.2.4.7") == 0 && info.valid_until == fake_now + 10 * 86400 &&
	    strcmp(info.evidence, "perspectives=3") == 0,
	    "the right value records a validation (method, id, evidence, reuse)");
	tap_ok(ca_domain_record(ca, "example.org", h, 86400, "ev", "test", NULL, &err) ==
	    CA_NOTFOUND, "the value is spent: it cannot validate twice");
	tap_ok(org_issue(ca, "a@example.org", &err) == CA_OK, "organization-validated issuance "
	    "with a valid validation (%s)", err.text);
	tap_ok(org_issue(ca, "b@mail.sales.example.org", &err) == CA_OK,
	    "a subdomain is covered by its parent's validation");
	tap_ok(org_issue(ca, "c@example.com", &err) == CA_INVALID, "another domain is not");
	tap_ok(ca_domain_valid_for(ca, "example.org", fake_now, &info, &err) == CA_OK &&
	    ca_domain_valid_for(ca, "xexample.org", fake_now, &info, &err) == CA_NOTFOUND,
	    "coverage is by labels, not by suffix text");
	fake_now += 10 * 86400;
	r = org_issue(ca, "a@example.org", &err);
	tap_ok(r == CA_INVALID && strstr(err.text, "only an expired") != NULL,
	    "after the reuse period issuance is refused: %s", err.text);
	fake_now -= 86400;
	tap_ok(org_issue(ca, "a@example.org", &err) == CA_OK, "a day before, it was allowed");
	tap_ok(ca_domain_revoke(ca, "example.org", "test", &err) == CA_OK &&
	    org_issue(ca, "a@example.org", &err) == CA_INVALID &&
	    ca_domain_get(ca, "example.org", &info, &err) == CA_NOTFOUND,
	    "revoke removes the validation: issuance refused again");
	tap_ok(ca_domain_revoke(ca, "example.org", "test", &err) == CA_NOTFOUND,
	    "revoking twice: not found");
	tap_ok(fixture_domain_validate(ca, "example.net", 3600, NULL, &err) == CA_OK &&
	    org_issue(ca, "x@example.net", &err) == CA_OK, "the fixture path validates");
	tap_ok(ca_domain_normalise("org", norm, &err) == CA_INVALID &&
	    ca_domain_normalise("a..b", norm, &err) == CA_INVALID &&
	    ca_domain_normalise("_x.example.org", norm, &err) == CA_INVALID &&
	    ca_domain_normalise("-a.example.org", norm, &err) == CA_INVALID &&
	    ca_domain_normalise("a-.example.org", norm, &err) == CA_INVALID &&
	    ca_domain_normalise("xn--bcher-kva.example", norm, &err) == CA_OK,
	    "a TLD alone, empty labels, '_' and edge hyphens are refused; A-labels accepted");
	memset(&ac, 0, sizeof(ac));
	ac.value = v2;
	r = ca_audit_foreach(ca, count_cb, &ac, &err);
	tap_ok(r == CA_OK && ac.challenge == 4 && ac.validation == 2 && ac.revoke == 1 &&
	    !ac.value_seen, "audit: 4 challenges, 2 validations, 1 revoke; no value in the clear "
	    "(%d %d %d)", ac.challenge, ac.validation, ac.revoke);
	tap_ok(ca_audit_verify(ca, &n, &err) == CA_OK, "audit chain verifies");
	ca_close(ca);
	ca_fixture_remove(&fx);
	return tap_done();
}
