/*
 * test_authres: unit tests of the Authentication-Results helpers (authserv-id recognition
 * for forged-header removal, result formatting with hostile text) and of the CRL URL parser.
 */
#include "config.h"

#include <string.h>

#include "milter/inbound/authres.h"
#include "milter/inbound/crl_http.h"
#include "tests/tap.h"

int
main(void)
{
	char buf[AUTHRES_MAX_VALUE];
	struct crl_url u;
	struct authres_smime r = { AUTHRES_PASS, NULL, "alice@example.org", "1A2B", "CN=Test CA,O=X" };

	tap_ok(authres_claims("gw.example; smime=pass", "gw.example"), "plain id");
	tap_ok(authres_claims("  GW.Example ; dkim=pass", "gw.example"), "case and spaces");
	tap_ok(authres_claims("(comment (nested)) gw.example; none", "gw.example"), "comments");
	tap_ok(authres_claims("\"gw.example\"; spf=pass", "gw.example"), "quoted id");
	tap_ok(authres_claims("gw.example. 1; smime=pass", "gw.example"), "root dot and version");
	tap_ok(authres_claims("\r\n\tgw.example;smime=pass", "gw.example"), "folded");
	tap_ok(!authres_claims("mx.other.example; smime=pass", "gw.example"), "other id kept");
	tap_ok(!authres_claims("gw.example.evil; smime=pass", "gw.example"), "longer id kept");
	tap_ok(!authres_claims("(unclosed gw.example; smime=pass", "gw.example"), "unclosed comment");
	tap_ok(!authres_claims("", "gw.example"), "empty value");
	tap_ok(!authres_claims("gw.example", ""), "empty own id");

	tap_ok(authres_format(buf, sizeof(buf), "gw.example", &r) == 0, "format");
	tap_ok(strcmp(buf, "gw.example;\n\tsmime=pass\n\tbody.smime-identifier=alice@example.org"
	    "\n\tbody.smime-serial=1A2B\n\tbody.smime-issuer=\"CN=Test CA,O=X\"") == 0,
	    "formatted value: %s", buf);
	r.result = AUTHRES_FAIL;
	r.reason = "bad \"quote\"\r\nInjected: yes";
	r.identifier = "we ird@x";
	tap_ok(authres_format(buf, sizeof(buf), "gw.example", &r) == 0 &&
	    strstr(buf, "smime=fail reason=\"bad ?quote???Injected: yes\"") != NULL &&
	    strstr(buf, "body.smime-identifier=\"we ird@x\"") != NULL && strchr(buf, '\r') == NULL,
	    "hostile reason quoted: %s", buf);
	tap_ok(authres_format(buf, sizeof(buf), "bad id;", &r) == -1, "bad authserv-id refused");
	tap_ok(authres_format(buf, 32, "gw.example", &r) == -1, "tiny buffer refused");
	tap_ok(strcmp(authres_result_word(AUTHRES_TEMPERROR), "temperror") == 0, "temperror word");

	tap_ok(crl_url_parse("http://crl.example/int.crl", &u) == 0 &&
	    strcmp(u.host, "crl.example") == 0 && strcmp(u.port, "80") == 0 &&
	    strcmp(u.path, "/int.crl") == 0, "simple URL");
	tap_ok(crl_url_parse("http://127.0.0.1:8080/a/b.crl#x", &u) == 0 &&
	    strcmp(u.port, "8080") == 0 && strcmp(u.path, "/a/b.crl") == 0, "port, fragment");
	tap_ok(crl_url_parse("http://[::1]:81/c", &u) == 0 && strcmp(u.host, "::1") == 0,
	    "IPv6 literal");
	tap_ok(crl_url_parse("HTTP://h", &u) == 0 && strcmp(u.path, "/") == 0, "no path");
	tap_ok(crl_url_parse("https://h/x.crl", &u) == -1, "https refused");
	tap_ok(crl_url_parse("http://user@h/x.crl", &u) == -1, "user info refused");
	tap_ok(crl_url_parse("http://h:99999/x", &u) == -1, "bad port");
	tap_ok(crl_url_parse("http://h:/x", &u) == -1, "empty port");
	tap_ok(crl_url_parse("http://h/a b", &u) == -1, "space refused");
	tap_ok(crl_url_parse("ldap://h/x", &u) == -1, "ldap refused");
	tap_ok(crl_url_parse("http://[::1/x", &u) == -1, "unclosed bracket");
	return tap_done();
}
