/*
 * test_caa: the CAA issuemail check (caa.c) with our own DNSSEC validation (dnssec.c) against
 * the harness DNS (nsd + ldns-signzone behind a validating unbound on loopback), run by
 * caa_dns.sh which starts it and exports the names. Alone it checks argument handling only.
 *
 * Each harness zone must give the S/MIME BR outcome, through unbound (DNS_RESOLVER) and, to
 * prove that we validate ourselves, through nsd directly (CAA_RAW_RESOLVER: an authoritative
 * server that hands out expired signatures without complaint).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/caa.h"
#include "tests/tap.h"

/* The validator gives up after AS_DNSSEC_DEADLINE_S; one more query timeout on top. */
#define AS_DNSSEC_BOUND_S 45

static const char *
env(const char *n)
{
	const char *v = getenv(n);

	return v != NULL && *v != '\0' ? v : NULL;
}

struct caa_case {
	const char *domain_env;   /* a DNS_ZONE_* variable, or NULL for `literal` */
	const char *prefix;       /* prepended label(s) ("" or "user.") */
	enum as_caa_outcome want;
	const char *must_say;     /* a text the evidence must contain */
	const char *what;
};

static void
run_cases(const struct as_caa_params *p, const struct caa_case *c, size_t n, const char *via)
{
	struct as_caa_result res;
	char dom[300];
	size_t i;

	for (i = 0; i < n; i++) {
		const char *z = env(c[i].domain_env);
		struct timespec t0, t1;
		int rc;

		if (z == NULL) {
			tap_ok(0, "%s: %s not set", via, c[i].domain_env);
			continue;
		}
		snprintf(dom, sizeof(dom), "%s%s", c[i].prefix, z);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = as_caa_check(p, dom, &res);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		tap_ok(rc == 0 && res.outcome == c[i].want &&
		    (c[i].must_say == NULL || strstr(res.evidence, c[i].must_say) != NULL),
		    "%s: %s -> %s", via, c[i].what, as_caa_outcome_name(c[i].want));
		tap_diag("%s: got %s in %lds: %s", dom, as_caa_outcome_name(res.outcome),
		    (long)(t1.tv_sec - t0.tv_sec), res.evidence);
		tap_ok(t1.tv_sec - t0.tv_sec <= AS_DNSSEC_BOUND_S, "%s: %s answered within %d s",
		    via, c[i].what, AS_DNSSEC_BOUND_S);
	}
}

int
main(void)
{
	const char *resolver = env("DNS_RESOLVER"), *raw = env("CAA_RAW_RESOLVER");
	const char *anchor = env("DNS_TRUST_ANCHOR"), *anchor_key = env("DNS_TRUST_ANCHOR_KEY");
	const char *ca_domain = env("DNS_CA_DOMAIN");
	struct as_caa_params p = { 0 };
	struct as_caa_result res;
	const struct caa_case cases[] = {
		{ "DNS_ZONE_NOCAA", "", AS_CAA_ALLOWED, "no CAA record up to the root",
		  "no CAA anywhere" },
		{ "DNS_ZONE_NOCAA", "deep.sub.", AS_CAA_ALLOWED, "dnssec=", "a nonexistent name below it" },
		{ "DNS_ZONE_OURS", "", AS_CAA_ALLOWED, "dnssec=secure", "issuemail names us" },
		{ "DNS_ZONE_OURS", "mail.", AS_CAA_ALLOWED, "relevant set at caa-ours",
		  "the climb finds the parent's issuemail" },
		{ "DNS_ZONE_OTHER", "", AS_CAA_FORBIDDEN, "does not name", "issuemail names another CA" },
		{ "DNS_ZONE_DENY", "", AS_CAA_FORBIDDEN, "issuemail \";\"", "issuemail \";\"" },
		{ "DNS_ZONE_BOGUS", "", AS_CAA_BOGUS, "dnssec=bogus", "bogus-signed zone" },
		{ "DNS_ZONE_INSECURE", "", AS_CAA_ALLOWED, "dnssec=insecure",
		  "insecure zone, issuemail names us" },
		{ "DNS_ZONE_SERVFAIL", "", AS_CAA_LOOKUP_FAILED, "failed", "SERVFAIL in a signed zone" },
		{ "DNS_ZONE_INSECURE", "dead.", AS_CAA_ALLOWED_INSECURE, "provably insecure",
		  "lookup failure below an insecure delegation" },
		{ "DNS_ZONE_NOCAA", "issueonly.", AS_CAA_ALLOWED, "no issuemail",
		  "only `issue` records: S/MIME not restricted" },
		{ "DNS_ZONE_NOCAA", "params.", AS_CAA_ALLOWED, "names",
		  "issuemail naming us in another case, with parameters" },
		{ "DNS_ZONE_NOCAA", "crit.", AS_CAA_FORBIDDEN, "critical unknown tag",
		  "a critical unknown tag forbids" },
		{ "DNS_ZONE_NOCAA", "alias.", AS_CAA_FORBIDDEN, "CNAME",
		  "a CNAME is followed for its name's query" },
		{ "DNS_ZONE_NOCAA", "loop.", AS_CAA_LOOKUP_FAILED, NULL, "a CNAME loop fails" },
		{ "DNS_ZONE_NOCAA", "dangling.", AS_CAA_ALLOWED, "no CAA record up to the root",
		  "a CNAME to nothing: the climb goes on from the alias's own parent" },
		{ "DNS_ZONE_OURS", "x.wild.", AS_CAA_ALLOWED, "dnssec=secure",
		  "NSEC zone: a wildcard CAA names us" },
		{ "DNS_ZONE_NSEC3", "x.wild.", AS_CAA_ALLOWED, "dnssec=secure",
		  "NSEC3 zone: a wildcard CAA names us" },
		{ "DNS_ZONE_NSEC3", "exists.wild.", AS_CAA_FORBIDDEN, "does not name",
		  "NSEC3 zone: a name's own CAA beside the wildcard wins" },
		{ "DNS_ZONE_NSEC3", "user.nowhere.", AS_CAA_ALLOWED, "nsec3.autosmime.test.(secure)",
		  "NSEC3 zone: names that do not exist, the climb reaches the apex's issuemail" },
		{ "DNS_ZONE_OPTOUT", "x.wild.", AS_CAA_ALLOWED, "dnssec=insecure",
		  "opt-out zone: a wildcard CAA counts as insecure" },
	};
	/* nsd can't recurse: the cases it can answer itself (no SERVFAIL zone, no dead name). */
	const struct caa_case raw_cases[] = {
		cases[0], cases[2], cases[3], cases[4], cases[5], cases[6], cases[7], cases[10],
	};

	p.ca_domain = "ca.example";
	p.resolver = "127.0.0.1@1";
	p.trust_anchor_file = "/nonexistent/anchor";
	tap_ok(as_caa_check(&p, "example.org", &res) == -1 && res.outcome == AS_CAA_LOOKUP_FAILED &&
	    strstr(res.evidence, "trust anchor") != NULL, "a missing anchor file blocks: %s",
	    res.evidence);
	tap_ok(as_caa_check(&p, "bad domain", &res) == -1 && !as_caa_permits(res.outcome),
	    "a malformed domain is refused");
	tap_ok(as_caa_check(&p, "a..b", &res) == -1, "an empty label is refused");
	tap_ok(as_caa_permits(AS_CAA_ALLOWED_INSECURE) && !as_caa_permits(AS_CAA_BOGUS) &&
	    !as_caa_permits(AS_CAA_LOOKUP_FAILED) && !as_caa_permits(AS_CAA_FORBIDDEN),
	    "only the two ALLOWED outcomes permit");
	if (resolver == NULL || anchor == NULL || ca_domain == NULL) {
		tap_diag("DNS_RESOLVER not set: run through caa_dns.sh for the DNS cases");
		return tap_done();
	}
	p.ca_domain = ca_domain;
	p.resolver = resolver;
	p.trust_anchor_file = anchor;
	run_cases(&p, cases, sizeof(cases) / sizeof(cases[0]), "unbound, DS anchor");
	if (anchor_key != NULL) {
		p.trust_anchor_file = anchor_key;
		run_cases(&p, cases, 8, "unbound, DNSKEY anchor");
		p.trust_anchor_file = anchor;
	}
	if (raw != NULL) {
		p.resolver = raw;
		run_cases(&p, raw_cases, sizeof(raw_cases) / sizeof(raw_cases[0]),
		    "nsd (non-validating)");
	}
	/* A resolver that does not answer at all: a bounded failure, never permission. */
	p.resolver = env("CAA_DEAD_RESOLVER");
	if (p.resolver != NULL) {
		time_t t0 = time(NULL);

		tap_ok(as_caa_check(&p, env("DNS_ZONE_OURS"), &res) == 0 &&
		    res.outcome == AS_CAA_LOOKUP_FAILED, "a dead resolver: lookup-failed (%s)",
		    res.evidence);
		tap_ok(time(NULL) - t0 <= AS_DNSSEC_BOUND_S, "and it gives up in time");
	}
	return tap_done();
}
