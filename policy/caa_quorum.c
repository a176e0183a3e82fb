/*
 * caa_quorum: runs as_caa_check once per perspective (in parallel) and applies the rule of
 * caa_quorum.h. Owns the per-perspective results of one check.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/caa_quorum.h"

struct caa_run {
	const struct as_caa_params *p;
	const char *domain;
	struct as_caa_result res[AS_PERSPECTIVES_MAX];
	int rc[AS_PERSPECTIVES_MAX];
};

static void
one(size_t i, const char *addr, void *arg)
{
	struct caa_run *run = arg;
	struct as_caa_params q = *run->p;

	q.resolver = addr;
	run->rc[i] = as_caa_check(&q, run->domain, &run->res[i]);
}

/* Append to the evidence text; silently truncated at its bound. */
#define ev(r, ...) as_appendf((r)->evidence, sizeof((r)->evidence), __VA_ARGS__)

static const char *
dnssec_word(const struct as_caa_result *r)
{
	switch (r->outcome) {
	case AS_CAA_BOGUS: return "bogus";
	case AS_CAA_LOOKUP_FAILED: return "failed";
	case AS_CAA_ALLOWED_INSECURE: return "insecure";
	default: return r->secure ? "secure" : "insecure";
	}
}

int
as_caa_check_quorum(const struct as_caa_params *p, const struct as_perspectives *ps,
    const char *domain, struct as_caa_result *out)
{
	static struct caa_run zero;
	struct caa_run *run;
	unsigned allowed = 0, permits = 0, forbidden = 0, bogus = 0;
	bool secure_forbid = false, all_started_ok = true;
	size_t i, witness = AS_PERSPECTIVES_MAX;

	memset(out, 0, sizeof(*out));
	out->outcome = AS_CAA_LOOKUP_FAILED;
	if (p == NULL || ps == NULL || ps->n == 0 || ps->n > AS_PERSPECTIVES_MAX) {
		ev(out, "caa: no DNS perspective configured");
		return -1;
	}
	if (ps->n == 1) {
		struct as_caa_params q = *p;

		q.resolver = ps->addr[0];
		return as_caa_check(&q, domain, out);
	}
	/* the per-perspective results are large: keep them off the milter thread's stack */
	if ((run = malloc(sizeof(*run))) == NULL) {
		ev(out, "caa: out of memory");
		return -1;
	}
	*run = zero;
	run->p = p;
	run->domain = domain;
	as_perspectives_run(ps, one, run);
	for (i = 0; i < ps->n; i++) {
		const struct as_caa_result *r = &run->res[i];

		if (run->rc[i] < 0)
			all_started_ok = false;
		if (r->outcome == AS_CAA_ALLOWED)
			allowed++;
		if (as_caa_permits(r->outcome))
			permits++;
		if (r->outcome == AS_CAA_FORBIDDEN) {
			forbidden++;
			if (r->secure)
				secure_forbid = true;
		}
		if (r->outcome == AS_CAA_BOGUS)
			bogus++;
	}
	if (permits >= ps->quorum && !secure_forbid)
		out->outcome = allowed >= ps->quorum ? AS_CAA_ALLOWED : AS_CAA_ALLOWED_INSECURE;
	else if (secure_forbid || forbidden >= ps->quorum)
		out->outcome = AS_CAA_FORBIDDEN;
	else if (bogus >= ps->quorum)
		out->outcome = AS_CAA_BOGUS;
	else
		out->outcome = AS_CAA_LOOKUP_FAILED;
	out->secure = out->outcome == AS_CAA_ALLOWED && allowed >= ps->quorum;
	ev(out, "perspectives=%zu quorum=%u permit=%u forbid=%u%s decision=%s;", ps->n,
	    ps->quorum, permits, forbidden, secure_forbid ? " secure_forbid=yes" : "",
	    as_caa_outcome_name(out->outcome));
	for (i = 0; i < ps->n; i++) {
		const struct as_caa_result *r = &run->res[i];

		ev(out, " p%zu=%s:%s:dnssec=%s", i + 1, ps->addr[i], as_caa_outcome_name(r->outcome),
		    dnssec_word(r));
		if (witness == AS_PERSPECTIVES_MAX && (r->outcome == out->outcome ||
		    (out->outcome == AS_CAA_LOOKUP_FAILED && r->outcome != AS_CAA_ALLOWED)))
			witness = i;
	}
	if (witness < ps->n)
		ev(out, "; p%zu: %s", witness + 1, run->res[witness].evidence);
	free(run);
	return all_started_ok ? 0 : (out->outcome == AS_CAA_LOOKUP_FAILED ? -1 : 0);
}
