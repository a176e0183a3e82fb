/*
 * test_decide: the outbound/signing decision table, the From: mailbox parser on ordinary and
 * hostile header values, internal_networks matching, the network sender map and what counts as
 * a local post.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter/process/decide.h"
#include "milter/process/netlist.h"
#include "milter/process/netsendermap.h"
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
		static const char nettext[] =
		    "# network  addresses its unauthenticated mail may be signed as\n"
		    "192.0.2.7 scanner@example.org\n"
		    "10.1.0.0/16 alerts@example.org, Ops@example.org\n";
		FILE *nfp = fmemopen((void *)nettext, sizeof(nettext) - 1, "r");
		struct netsendermap *netmap = netsendermap_load_stream(nfp, "nets", why, sizeof(why));
		enum { REMOTE, INTERNAL, LOCAL } ;
		struct {
			const char *login;
			int origin;
			const char *client;
			const char *from;
			const char *envelope;
			int mode;
			bool smime;
			enum decide_verdict want;
			const char *what;
		} t[] = {
			{ NULL, REMOTE, "8.8.8.8", "alice@example.org", "alice@example.org", 0, false,
			  DECIDE_NOT_OUTBOUND, "unauthenticated external client: untouched" },
			{ "", REMOTE, "8.8.8.8", "alice@example.org", NULL, 0, false,
			  DECIDE_NOT_OUTBOUND, "empty login counts as unauthenticated" },
			{ NULL, INTERNAL, "127.0.0.1", "alice@example.org", "alice@example.org", 0,
			  false, DECIDE_UNATTRIBUTED,
			  "internal client, local From: not attributable, unsigned" },
			{ NULL, INTERNAL, "192.0.2.7", "scanner@example.org", "", 0, false, DECIDE_SIGN,
			  "internal client, From: its network may use: sign" },
			{ NULL, INTERNAL, "10.1.4.4", "OPS@example.org", "", 0, false, DECIDE_SIGN,
			  "network table ignores case, prefixes match" },
			{ NULL, INTERNAL, "10.1.4.4", "scanner@example.org", "", 0, false,
			  DECIDE_UNATTRIBUTED, "another network's address: unsigned" },
			{ NULL, INTERNAL, "192.0.2.7", "alice@example.org", "alice@example.org", 1,
			  false, DECIDE_UNATTRIBUTED, "envelope attribution is for local posts only" },
			{ NULL, INTERNAL, "127.0.0.1", "someone@foreign.example", NULL, 0, false,
			  DECIDE_FOREIGN_FROM, "internal client, foreign From: untouched" },
			{ NULL, INTERNAL, "127.0.0.1", NULL, NULL, 0, false, DECIDE_NO_FROM,
			  "internal client without From:" },
			{ NULL, LOCAL, "127.0.0.1", "alice@example.org", "alice@example.org", 0, false,
			  DECIDE_UNATTRIBUTED, "local post, attribution none: unsigned" },
			{ NULL, LOCAL, "127.0.0.1", "alice@example.org", "Alice@example.org", 1, false,
			  DECIDE_SIGN, "local post, envelope mode, From: = envelope sender: sign" },
			{ NULL, LOCAL, "127.0.0.1", "bob@example.org", "alice@example.org", 1, false,
			  DECIDE_UNATTRIBUTED, "local post with a forged From: unsigned" },
			{ NULL, LOCAL, "127.0.0.1", "alice@example.org", "", 1, false,
			  DECIDE_UNATTRIBUTED, "local post with a null sender: unsigned" },
			{ NULL, LOCAL, "127.0.0.1", "alice@example.org", NULL, 1, false,
			  DECIDE_UNATTRIBUTED, "local post, envelope unknown: unsigned" },
			{ NULL, LOCAL, "192.0.2.7", "scanner@example.org", "x@example.org", 1, false,
			  DECIDE_UNATTRIBUTED, "a local post is not a network client" },
			{ "alice", REMOTE, "8.8.8.8", "alice@example.org", NULL, 0, false, DECIDE_SIGN,
			  "login maps to login@first local domain" },
			{ "alice", REMOTE, "8.8.8.8", "ALICE@Example.org", NULL, 0, false, DECIDE_SIGN,
			  "the match ignores case" },
			{ "alice", REMOTE, "8.8.8.8", "alice@example.net", NULL, 0, false,
			  DECIDE_UNAUTHORISED_FROM, "login@second domain is not implied" },
			{ "alice", REMOTE, "8.8.8.8", "sales@example.org", NULL, 0, false, DECIDE_SIGN,
			  "mapped address" },
			{ "alice", REMOTE, "8.8.8.8", "bob@example.org", NULL, 0, false,
			  DECIDE_UNAUTHORISED_FROM, "someone else's address: unsigned" },
			{ "alice", INTERNAL, "192.0.2.7", "scanner@example.org", NULL, 0, false,
			  DECIDE_UNAUTHORISED_FROM, "an internal host does not widen a login's rights" },
			{ "bob@example.net", REMOTE, "8.8.8.8", "bob@example.net", NULL, 0, false,
			  DECIDE_SIGN, "an address login may use itself" },
			{ "bob@example.net", REMOTE, "8.8.8.8", "team@example.org", NULL, 0, false,
			  DECIDE_SIGN, "address login with a mapped address" },
			{ "bob@example.net", REMOTE, "8.8.8.8", "bob@example.org", NULL, 0, false,
			  DECIDE_UNAUTHORISED_FROM, "address login in another local domain is not implied" },
			{ "alice", REMOTE, "8.8.8.8", "alice@foreign.example", NULL, 0, false,
			  DECIDE_FOREIGN_FROM, "authenticated, foreign From: untouched" },
			{ "alice", REMOTE, "8.8.8.8", "alice@example.org", NULL, 0, true,
			  DECIDE_ALREADY_SMIME, "already signed or encrypted: never wrapped again" },
			{ "alice", REMOTE, "8.8.8.8", NULL, NULL, 0, false, DECIDE_NO_FROM,
			  "authenticated without From:" },
		};

		if (nfp != NULL)
			fclose(nfp);
		tap_ok(netmap != NULL && netsendermap_count(netmap) == 3, "network sender map loads");
		for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			struct sockaddr_storage ss = addr(t[i].client);
			struct decide_input in = { t[i].login, t[i].origin == INTERNAL, t[i].from,
				t[i].smime, t[i].origin == LOCAL, t[i].envelope, (struct sockaddr *)&ss };
			struct decide_rules rules = { &local, map, netmap,
				t[i].mode ? AS_LOCAL_ENVELOPE : AS_LOCAL_NONE };
			enum decide_verdict v = decide(&in, &rules);

			tap_ok(v == t[i].want, "%s (%s)", t[i].what, decide_reason(v));
		}
		{
			struct as_conf_list none = { NULL, 0 };
			struct decide_input in = { "alice", false, "alice@example.org", false, false,
				NULL, NULL };
			struct decide_rules rules = { &none, map, netmap, AS_LOCAL_NONE };

			tap_ok(decide(&in, &rules) == DECIDE_FOREIGN_FROM,
			    "no local_domains: nothing is local");
		}
		netsendermap_free(netmap);
	}
	/* what counts as a local post: an IP client with port 0 (Postfix's non_smtpd_milters) */
	{
		struct sockaddr_storage ss = addr("127.0.0.1"), s6 = addr("::1");

		tap_ok(decide_local_submission((struct sockaddr *)&ss), "127.0.0.1 port 0 is a local post");
		tap_ok(decide_local_submission((struct sockaddr *)&s6), "::1 port 0 is a local post");
		((struct sockaddr_in *)&ss)->sin_port = htons(40000);
		tap_ok(!decide_local_submission((struct sockaddr *)&ss), "a TCP client port is not");
		tap_ok(!decide_local_submission(NULL), "no address is not (the MTA did not say)");
	}
	/* hostile network tables fail as a whole */
	{
		static const char *badnets[] = { "10.0.0.0/33 a@example.org\n",
			"not-a-net a@example.org\n", "192.0.2.1\n", "192.0.2.1 not-an-address\n" };

		for (size_t i = 0; i < sizeof(badnets) / sizeof(badnets[0]); i++) {
			FILE *bfp = fmemopen((void *)badnets[i], strlen(badnets[i]), "r");
			struct netsendermap *m = netsendermap_load_stream(bfp, "bad", why, sizeof(why));

			tap_ok(m == NULL && strncmp(why, "bad", 3) == 0, "bad network table %zu refused: %s",
			    i, why);
			netsendermap_free(m);
			fclose(bfp);
		}
	}
	sendermap_free(map);
	return tap_done();
}
