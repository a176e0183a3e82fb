/*
 * caa_quorum: the CAA issuemail check (caa.h) asked of every DNS perspective (perspective.h)
 * and decided by the quorum.
 *
 * Rule: issuance is allowed only when at least `quorum` perspectives permit it (allowed, or
 * allowed-insecure) and no perspective whose answer validated securely says forbidden; the
 * outcome is allowed when a quorum said allowed, else allowed-insecure. Otherwise: forbidden
 * when a secure perspective or a quorum said so, bogus when a quorum saw bogus data, and
 * lookup-failed (temporary: nothing issued, the challenge stays open) in every other case,
 * e.g. when perspectives are down. The evidence lists every perspective: address, outcome,
 * DNSSEC state, then the evidence of the first one that agreed with the decision.
 */
#ifndef AUTOSMIME_POLICY_CAA_QUORUM_H
#define AUTOSMIME_POLICY_CAA_QUORUM_H

#include "policy/caa.h"
#include "policy/perspective.h"

/* p->resolver is ignored: each perspective's address is used. Returns 0 with out filled,
 * -1 when the check could not start (out says why, outcome lookup-failed). With one
 * perspective this is as_caa_check through it. */
int as_caa_check_quorum(const struct as_caa_params *p, const struct as_perspectives *ps,
    const char *domain, struct as_caa_result *out);

#endif
