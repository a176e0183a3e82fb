/*
 * spf: the SPF check (RFC 7208) that vouches for an unauthenticated internal sender's reply:
 * libspf2 evaluates the policy of the envelope sender's domain (or of the HELO name for the
 * null sender) for the client IP.
 *
 * libspf2's own DNS layer uses the system resolver (res_nquery), which can't be pointed at a
 * port. So this module gives libspf2 its own DNS layer (an SPF_dns_server_t) that answers from
 * ldns through the dns_resolver setting (ADDR[@PORT], see dns.h): SPF uses the same resolver
 * as the CAA check, and tests use the harness's unbound. No system resolv.conf is involved.
 * A loopback client gives "none" without a lookup: libspf2 would call it "pass" for any domain.
 */
#ifndef AUTOSMIME_POLICY_SPF_H
#define AUTOSMIME_POLICY_SPF_H

#include <stddef.h>

enum as_spf_result {
	AS_SPF_NONE,
	AS_SPF_NEUTRAL,
	AS_SPF_PASS,
	AS_SPF_FAIL,
	AS_SPF_SOFTFAIL,
	AS_SPF_TEMPERROR,
	AS_SPF_PERMERROR,
};

/*
 * Check `client_ip` (IPv4 or IPv6 text) for the envelope sender `mail_from` ("" or NULL for
 * the null sender: then postmaster@helo) with `helo`. `resolver` is the dns_resolver option.
 * The result is always set (temperror when the check could not run); the return value is 0,
 * or -1 when the arguments are unusable (then *result is permerror and err says why).
 * `err` also receives libspf2's explanation or error text when there is one (may be NULL).
 */
int as_spf_check(const char *resolver, const char *client_ip, const char *helo,
    const char *mail_from, enum as_spf_result *result, char *err, size_t errcap);

/* "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror" (RFC 7208 names). */
const char *as_spf_result_name(enum as_spf_result r);

#endif
