/*
 * test_spf: SPF results through libspf2 over our ldns DNS layer, against the harness DNS
 * (run by spf_dns.sh, which starts it and publishes the TXT records below). Alone, without
 * DNS_RESOLVER in the environment, it skips. Also checks argument validation offline.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/spf.h"
#include "tests/tap.h"

struct spf_case {
	const char *ip, *helo, *from;
	enum as_spf_result want;
	const char *what;
};

int
main(void)
{
	const char *resolver = getenv("DNS_RESOLVER");
	const char *parent = getenv("DNS_PARENT");
	enum as_spf_result res;
	char err[256], from[300];

	tap_ok(as_spf_check("127.0.0.1@53", "not-an-ip", "h.example", "a@b.example", &res, err,
	    sizeof(err)) == -1 && res == AS_SPF_PERMERROR, "a bad client IP is refused: %s", err);
	tap_ok(as_spf_check("127.0.0.1@0", "192.0.2.1", "h.example", "a@b.example", &res, err,
	    sizeof(err)) == 0 && res == AS_SPF_TEMPERROR, "a bad resolver is a temperror: %s", err);
	tap_ok(strcmp(as_spf_result_name(AS_SPF_SOFTFAIL), "softfail") == 0 &&
	    strcmp(as_spf_result_name((enum as_spf_result)99), "temperror") == 0, "result names");
	if (resolver == NULL || parent == NULL) {
		tap_diag("DNS_RESOLVER not set: run through spf_dns.sh for the DNS cases");
		return tap_done();
	}
	{
		struct spf_case cases[] = {
			{ "192.0.2.1", "gw.local.test", "alice@ours", AS_SPF_PASS, "ip4 match: pass" },
			{ "192.0.2.9", "gw.local.test", "alice@ours", AS_SPF_FAIL, "-all: fail" },
			{ "2001:db8::1", "gw.local.test", "alice@ours", AS_SPF_PASS, "ip6 match: pass" },
			{ "2001:db8::9", "gw.local.test", "alice@ours", AS_SPF_FAIL, "IPv6 client: fail" },
			{ "192.0.2.9", "gw.local.test", "a@soft", AS_SPF_SOFTFAIL, "~all: softfail" },
			{ "192.0.2.9", "gw.local.test", "a@neutral", AS_SPF_NEUTRAL, "?all: neutral" },
			{ "192.0.2.5", "gw.local.test", "a@amech", AS_SPF_PASS, "a mechanism: pass" },
			{ "192.0.2.6", "gw.local.test", "a@amech", AS_SPF_FAIL, "a mechanism: fail" },
			{ "192.0.2.1", "gw.local.test", "a@incl", AS_SPF_PASS, "include: pass" },
			{ "192.0.2.7", "gw.local.test", "a@mxmech", AS_SPF_PASS, "mx mechanism: pass" },
			{ "192.0.2.1", "gw.local.test", "a@perm", AS_SPF_PERMERROR, "syntax error: permerror" },
			{ "192.0.2.1", "gw.local.test", "a@nospf", AS_SPF_NONE, "no record: none" },
			{ "192.0.2.1", "gw.local.test", "a@servfail", AS_SPF_TEMPERROR,
			  "SERVFAIL zone: temperror" },
			{ "192.0.2.1", "ours", "", AS_SPF_PASS, "null sender: HELO domain checked: pass" },
			{ "127.0.0.1", "gw.local.test", "a@soft", AS_SPF_NONE,
			  "loopback client: not checked (libspf2 would pass it): none" },
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			char helo[300];
			const char *at = strchr(cases[i].from, '@');

			if (at != NULL)
				snprintf(from, sizeof(from), "%s.%s", cases[i].from, parent);
			else
				snprintf(from, sizeof(from), "%s", cases[i].from);
			if (strchr(cases[i].helo, '.') == NULL)
				snprintf(helo, sizeof(helo), "%s.%s", cases[i].helo, parent);
			else
				snprintf(helo, sizeof(helo), "%s", cases[i].helo);
			err[0] = '\0';
			as_spf_check(resolver, cases[i].ip, helo, from, &res, err, sizeof(err));
			tap_ok(res == cases[i].want, "%s (%s from %s: %s) %s", cases[i].what, from,
			    cases[i].ip, as_spf_result_name(res), err);
		}
	}
	return tap_done();
}
