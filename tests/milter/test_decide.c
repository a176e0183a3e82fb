/*
 * test_decide: the outbound/signing decision table, the From: mailbox parser on ordinary and
 * hostile header values, and internal_networks matching.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "milter/process/decide.h"
#include "milter/process/netlist.h"
#include "tests/tap.h"

static int
from_is(const char *value, const char *want)
{
	char out[DECIDE_MAX_ADDR] = "";
	int rc = decide_from_mailbox(value, out, sizeof(out));

	if (want == NULL)
		return rc < 0;
	if (rc < 0 || strcmp(out, want) != 0) {
		tap_diag("got rc=%d out=%s", rc, out);
		return 0;
	}
	return 1;
}

static struct sockaddr_storage
addr(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') != NULL) {
		ss.ss_family = AF_INET6;
		inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&ss)->sin6_addr);
	} else {
		ss.ss_family = AF_INET;
		inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr);
	}
	return ss;
}

static bool
in_nets(const struct netlist *nets, const char *text)
{
	struct sockaddr_storage ss = addr(text);

	return netlist_match(nets, (struct sockaddr *)&ss);
}

int
main(void)
{
	char *domains[] = { "example.org", "example.net" };
	struct as_conf_list local = { domains, 2 };
	char *networds[] = { "127.0.0.0/8", "10.1.0.0/16", "192.0.2.7", "2001:db8::/32", "::1" };
	struct as_conf_list netitems = { networds, 5 };
	char *badwords[] = { "10.0.0.0/33" };
	struct as_conf_list bad = { badwords, 1 };
	static const char mapfile[] = "alice sales@example.org\nbob@example.net team@example.org\n";
	FILE *fp = fmemopen((void *)mapfile, sizeof(mapfile) - 1, "r");
	struct sendermap_error merr;
	struct sendermap *map = sendermap_load_stream(fp, "map", &merr);
	struct netlist *nets;
	char why[128], *longv;

	fclose(fp);
	tap_ok(map != NULL, "sender map for the table loads");

	/* From: parser */
	tap_ok(from_is("alice@example.org", "alice@example.org"), "bare address");
	tap_ok(from_is("Alice <alice@EXAMPLE.Org>", "alice@example.org"), "angle-addr, domain lowered");
	{
		/* a display name of 2,500 characters: the mailbox is still found (and signed for) */
		char *big = malloc(2600);

		if (big != NULL) {
			memset(big, 'n', 2500);
			snprintf(big + 2500, 100, " <alice@example.org>");
			tap_ok(from_is(big, "alice@example.org"), "a 2,500-character display name");
			big[0] = '"';
			big[2499] = '"';
			tap_ok(from_is(big, "alice@example.org"), "the same quoted");
			free(big);
		}
	}
	tap_ok(from_is("\"Doe, Alice\" <alice@example.org>", "alice@example.org"),
	    "quoted display name with a comma");
	tap_ok(from_is("alice@example.org (Alice (the) Admin)", "alice@example.org"),
	    "nested comment");
	tap_ok(from_is("Alice\n <alice@example.org>", "alice@example.org"), "folded value");
	tap_ok(from_is("=?utf-8?q?J=C3=B6rg?= <joerg@example.org>", "joerg@example.org"),
	    "encoded-word display name");
	tap_ok(from_is("<\"a b\"@example.org>", "\"a b\"@example.org"), "quoted local part");
	tap_ok(from_is("a@example.org, b@example.org", NULL), "two mailboxes are refused");
	tap_ok(from_is("undisclosed:;", NULL), "a group is refused");
	tap_ok(from_is("<@relay.example:a@example.org>", NULL), "a source route is refused");
	tap_ok(from_is("Alice alice@example.org", NULL), "a phrase without angle brackets is refused");
	tap_ok(from_is("<a@example.org", NULL), "unclosed angle bracket");
	tap_ok(from_is("\"unterminated <a@example.org>", NULL), "unterminated quote");
	tap_ok(from_is("(((((((((((((((((((((deep))))))))))))))))))))) a@example.org", NULL),
	    "comments nested deeper than the bound");
	tap_ok(from_is("<a@[192.0.2.1]>", NULL), "domain literals are refused");
	tap_ok(from_is("<a@exa mple.org>", NULL), "white space in the domain");
	tap_ok(from_is("<a@example..org>", NULL), "empty domain label");
	tap_ok(from_is("", NULL) && from_is("<>", NULL), "empty values");
	tap_ok(from_is("<a\x01@example.org>", NULL), "control byte");
	longv = malloc(100000);
	memset(longv, 'a', 99999);
	longv[99999] = '\0';
	longv[50] = '@';
	tap_ok(from_is(longv, NULL), "a 100 KB value is refused");
	free(longv);

	/* networks */
	nets = netlist_parse(&netitems, why, sizeof(why));
	tap_ok(nets != NULL, "internal_networks parse");
	tap_ok(in_nets(nets, "127.0.0.1") && in_nets(nets, "10.1.255.3") && in_nets(nets, "192.0.2.7"),
	    "IPv4 members match");
	tap_ok(!in_nets(nets, "10.2.0.1") && !in_nets(nets, "192.0.2.8") && !in_nets(nets, "8.8.8.8"),
	    "IPv4 outsiders do not");
	tap_ok(in_nets(nets, "::1") && in_nets(nets, "2001:db8:1::5") && !in_nets(nets, "2001:db9::1"),
	    "IPv6 prefixes");
	tap_ok(in_nets(nets, "::ffff:10.1.2.3") && !in_nets(nets, "::ffff:10.9.2.3"),
	    "IPv4-mapped IPv6 clients match IPv4 networks");
	tap_ok(!netlist_match(nets, NULL), "no address (local submission) is not internal");
	netlist_free(nets);
	tap_ok(netlist_parse(&bad, why, sizeof(why)) == NULL && strstr(why, "10.0.0.0/33") != NULL,
	    "a bad prefix is refused with the item named");

	/* decision table */
	{
		struct {
			const char *login;
			bool internal;
			const char *from;
			bool smime;
			enum decide_verdict want;
			const char *what;
		} t[] = {
			{ NULL, false, "alice@example.org", false, DECIDE_NOT_OUTBOUND,
			  "unauthenticated external client: untouched" },
			{ "", false, "alice@example.org", false, DECIDE_NOT_OUTBOUND,
			  "empty login counts as unauthenticated" },
			{ NULL, true, "alice@example.org", false, DECIDE_SIGN,
			  "internal client, local From: sign" },
			{ NULL, true, "someone@foreign.example", false, DECIDE_FOREIGN_FROM,
			  "internal client, foreign From: untouched" },
			{ NULL, true, NULL, false, DECIDE_NO_FROM, "internal client without From:" },
			{ "alice", false, "alice@example.org", false, DECIDE_SIGN,
			  "login maps to login@first local domain" },
			{ "alice", false, "ALICE@Example.org", false, DECIDE_SIGN,
			  "the match ignores case" },
			{ "alice", false, "alice@example.net", false, DECIDE_UNAUTHORISED_FROM,
			  "login@second domain is not implied" },
			{ "alice", false, "sales@example.org", false, DECIDE_SIGN,
			  "mapped address" },
			{ "alice", false, "bob@example.org", false, DECIDE_UNAUTHORISED_FROM,
			  "someone else's address: unsigned" },
			{ "alice", true, "bob@example.org", false, DECIDE_UNAUTHORISED_FROM,
			  "an internal host does not widen a login's rights" },
			{ "bob@example.net", false, "bob@example.net", false, DECIDE_SIGN,
			  "an address login may use itself" },
			{ "bob@example.net", false, "team@example.org", false, DECIDE_SIGN,
			  "address login with a mapped address" },
			{ "bob@example.net", false, "bob@example.org", false, DECIDE_UNAUTHORISED_FROM,
			  "address login in another local domain is not implied" },
			{ "alice", false, "alice@foreign.example", false, DECIDE_FOREIGN_FROM,
			  "authenticated, foreign From: untouched" },
			{ "alice", false, "alice@example.org", true, DECIDE_ALREADY_SMIME,
			  "already signed or encrypted: never wrapped again" },
			{ "alice", false, NULL, false, DECIDE_NO_FROM, "authenticated without From:" },
		};

		for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			struct decide_input in = { t[i].login, t[i].internal, t[i].from, t[i].smime };
			enum decide_verdict v = decide(&in, &local, map);

			tap_ok(v == t[i].want, "%s (%s)", t[i].what, decide_reason(v));
		}
	}
	{
		struct as_conf_list none = { NULL, 0 };
		struct decide_input in = { "alice", false, "alice@example.org", false };

		tap_ok(decide(&in, &none, map) == DECIDE_FOREIGN_FROM,
		    "no local_domains: nothing is local");
	}
	sendermap_free(map);
	return tap_done();
}
