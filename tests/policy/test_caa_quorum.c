/*
 * test_caa_quorum: CAA issuemail asked of several DNS perspectives (caa_quorum.c) against
 * real resolvers on loopback, started by domain_dns.sh: two honest validating unbounds, one
 * unbound that forges unsigned CAA records (bogus to our validator), one nsd serving a validly
 * signed lie (issuemail ";" for the zone that names us), and dead ports. Alone it checks the
 * option parsing (perspective.c) only.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/caa_quorum.h"
#include "policy/dnssec.h"
#include "tests/tap.h"

/* The validator's deadline plus one query timeout: dead perspectives cost no more. */
#define BOUND_S (AS_DNSSEC_DEADLINE_S + 15)

static const char *
env(const char *n)
{
	const char *v = getenv(n);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* A perspective list from environment variable names. */
static int
perspectives(struct as_perspectives *ps, long long quorum, const char *const *names, size_t n)
{
	struct as_conf_list l;
	char *items[AS_PERSPECTIVES_MAX], err[256];
	size_t i;

	for (i = 0; i < n; i++)
		if ((items[i] = (char *)env(names[i])) == NULL)
			return -1;
	l.item = items;
	l.count = n;
	if (as_perspectives_from(&l, quorum, NULL, ps, err, sizeof(err)) < 0) {
		tap_diag("%s", err);
		return -1;
	}
	return 0;
}

static void
parsing(void)
{
	struct as_perspectives ps;
	struct as_conf_list l;
	char *three[] = { "127.0.0.1@53", "::1@53", "127.0.0.2" }, *bad[] = { "127.0.0.1@53", "x" };
	char *four[] = { "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4" }, err[256];

	l = (struct as_conf_list){ NULL, 0 };
	tap_ok(as_perspectives_from(&l, 0, "127.0.0.9@5353", &ps, err, sizeof(err)) == 0 &&
	    ps.n == 1 && ps.quorum == 1 && strcmp(ps.addr[0], "127.0.0.9@5353") == 0,
	    "no dns_perspectives: dns_resolver alone, quorum 1");
	l = (struct as_conf_list){ three, 3 };
	tap_ok(as_perspectives_from(&l, 0, "", &ps, err, sizeof(err)) == 0 && ps.n == 3 &&
	    ps.quorum == 2, "three perspectives, quorum 0: a majority of 2");
	l = (struct as_conf_list){ four, 4 };
	tap_ok(as_perspectives_from(&l, 0, "", &ps, err, sizeof(err)) == 0 && ps.quorum == 3,
	    "four perspectives: a majority is 3");
	l = (struct as_conf_list){ three, 3 };
	tap_ok(as_perspectives_from(&l, 4, "", &ps, err, sizeof(err)) == -1 &&
	    strstr(err, "dns_perspective_quorum") != NULL, "a quorum above the count is refused");
	l = (struct as_conf_list){ bad, 2 };
	tap_ok(as_perspectives_from(&l, 0, "", &ps, err, sizeof(err)) == -1 &&
	    strstr(err, "not an IP address") != NULL, "a perspective that is no address is refused: %s",
	    err);
}

struct qcase {
	const char *what;
	const char *names[4];
	size_t n;
	long long quorum;
	const char *zone_env;
	enum as_caa_outcome want;
	const char *must_say[3];
};

int
main(void)
{
	static const struct qcase cases[] = {
		{ "one forging perspective (bogus): the honest quorum allows", { "PERSP_GOOD1",
		  "PERSP_GOOD2", "PERSP_LIAR" }, 3, 0, "DNS_ZONE_OURS", AS_CAA_ALLOWED,
		  { "permit=2", ":bogus:dnssec=bogus", "issuemail names" } },
		{ "a forged allow for a denying zone: the quorum forbids", { "PERSP_GOOD1",
		  "PERSP_GOOD2", "PERSP_LIAR" }, 3, 0, "DNS_ZONE_OTHER", AS_CAA_FORBIDDEN,
		  { "forbid=2", ":bogus:", "does not name" } },
		{ "a validly signed forbid from one perspective vetoes the quorum", { "PERSP_GOOD1",
		  "PERSP_GOOD2", "PERSP_SIGNED_LIAR" }, 3, 0, "DNS_ZONE_OURS", AS_CAA_FORBIDDEN,
		  { "permit=2", "secure_forbid=yes", ":forbidden:dnssec=secure" } },
		{ "one perspective down: 2 of 3 still allow", { "PERSP_GOOD1", "PERSP_GOOD2",
		  "PERSP_DEAD1" }, 3, 0, "DNS_ZONE_OURS", AS_CAA_ALLOWED,
		  { "permit=2", ":lookup-failed:dnssec=failed", NULL } },
		{ "two perspectives down: fails closed (lookup-failed, temporary)", { "PERSP_GOOD1",
		  "PERSP_DEAD1", "PERSP_DEAD2" }, 3, 0, "DNS_ZONE_OURS", AS_CAA_LOOKUP_FAILED,
		  { "permit=1", "decision=lookup-failed", NULL } },
		{ "quorum 3 of 3 with one forging: not reached", { "PERSP_GOOD1", "PERSP_GOOD2",
		  "PERSP_LIAR" }, 3, 3, "DNS_ZONE_OURS", AS_CAA_LOOKUP_FAILED,
		  { "quorum=3", "permit=2", NULL } },
		{ "a bogus zone at every perspective: bogus", { "PERSP_GOOD1", "PERSP_GOOD2",
		  "PERSP_LIAR" }, 3, 0, "DNS_ZONE_BOGUS", AS_CAA_BOGUS,
		  { "decision=bogus", NULL, NULL } },
		{ "one perspective: as_caa_check through it", { "PERSP_GOOD1" }, 1, 0,
		  "DNS_ZONE_DENY", AS_CAA_FORBIDDEN, { "issuemail does not name", NULL, NULL } },
	};
	size_t ncases = sizeof(cases) / sizeof(cases[0]), i, k;

	tap_plan(5 + (int)ncases * 2);
	parsing();
	for (i = 0; i < ncases; i++) {
		const struct qcase *c = &cases[i];
		struct as_caa_params p = { .resolver = "", .trust_anchor_file = env("DNS_TRUST_ANCHOR"),
			.ca_domain = env("DNS_CA_DOMAIN"), .now = 0 };
		struct as_perspectives ps;
		struct as_caa_result res;
		struct timespec t0, t1;
		bool said = true;

		if (env(c->zone_env) == NULL || p.trust_anchor_file == NULL ||
		    perspectives(&ps, c->quorum, c->names, c->n) < 0) {
			tap_ok(1, "# SKIP %s: run by caa_quorum_dns.sh", c->what);
			tap_ok(1, "# SKIP bound");
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		as_caa_check_quorum(&p, &ps, env(c->zone_env), &res);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		for (k = 0; k < 3; k++)
			if (c->must_say[k] != NULL && strstr(res.evidence, c->must_say[k]) == NULL)
				said = false;
		tap_ok(res.outcome == c->want && said, "%s: %s (%s)", c->what,
		    as_caa_outcome_name(res.outcome), res.evidence);
		tap_ok(t1.tv_sec - t0.tv_sec <= BOUND_S, "%s: answered in %lld s (bound %d s)",
		    c->what, (long long)(t1.tv_sec - t0.tv_sec), BOUND_S);
	}
	return tap_failed != 0;
}
