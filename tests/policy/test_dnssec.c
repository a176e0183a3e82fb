/*
 * test_dnssec: our own DNSSEC validation (dnssec.c) of wildcard answers and NSEC3 zones against
 * the harness DNS (nsd serving zones signed by ldns-signzone, behind a validating unbound), run
 * by dnssec_dns.sh which starts it and exports the names. Alone it checks argument handling.
 *
 * Forged answers go through the validator's transport hook: a wrapper that fetches the real,
 * signed answers and then replays the wildcard answer of a name that does not exist for a name
 * that has records of its own, or strips the proof that came with a wildcard answer.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/dns.h"
#include "policy/dnssec.h"
#include "policy/smimea.h"
#include "tests/tap.h"

/* REPLAY: target's answer is donor's, renamed; STRIP: the NSEC/NSEC3 proof removed; DENY: an
 * empty answer "proven" by donor's NSEC RRset renamed to target. */
enum forge { FORGE_NONE, FORGE_REPLAY, FORGE_STRIP, FORGE_DENY };

/* The transport: real answers from `res`, altered for target/type. */
struct wire {
	ldns_resolver *res;
	enum forge forge;
	ldns_rr_type type;         /* only queries of this type are altered */
	ldns_rdf *target, *donor;  /* REPLAY, DENY: target's query is answered from donor's */
	int forged;                /* how many answers were altered */
};

static const char *
env(const char *n)
{
	const char *v = getenv(n);

	return v != NULL && *v != '\0' ? v : NULL;
}

static void
rename_answers(ldns_pkt *pkt, const ldns_rdf *to)
{
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);

		ldns_rdf_deep_free(ldns_rr_owner(rr));
		ldns_rr_set_owner(rr, ldns_rdf_clone(to));
	}
}

/* Drop NSEC, NSEC3 and their RRSIGs from the authority section. */
static void
strip_proof(ldns_pkt *pkt)
{
	ldns_rr_list *old = ldns_pkt_authority(pkt), *keep = ldns_rr_list_new();
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(old); i++) {
		ldns_rr *rr = ldns_rr_list_rr(old, i);
		ldns_rr_type t = ldns_rr_get_type(rr);

		if (t == LDNS_RR_TYPE_RRSIG && ldns_rr_rrsig_typecovered(rr) != NULL)
			t = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr));
		if (t != LDNS_RR_TYPE_NSEC && t != LDNS_RR_TYPE_NSEC3)
			ldns_rr_list_push_rr(keep, ldns_rr_clone(rr));
	}
	ldns_rr_list_deep_free(old);
	ldns_pkt_set_authority(pkt, keep);
	ldns_pkt_set_nscount(pkt, (uint16_t)ldns_rr_list_rr_count(keep));
}

/* Donor's NSEC RRset (asked for as such), renamed to the target, as the whole authority. */
static void
deny_with(ldns_pkt *pkt)
{
	ldns_rr_list *an = ldns_pkt_answer(pkt);

	ldns_rr_list_deep_free(ldns_pkt_authority(pkt));
	ldns_pkt_set_authority(pkt, an);
	ldns_pkt_set_nscount(pkt, (uint16_t)ldns_rr_list_rr_count(an));
	ldns_pkt_set_answer(pkt, ldns_rr_list_new());
	ldns_pkt_set_ancount(pkt, 0);
	ldns_rr_list_deep_free(ldns_pkt_additional(pkt));
	ldns_pkt_set_additional(pkt, ldns_rr_list_new());
	ldns_pkt_set_arcount(pkt, 0);
}

static ldns_pkt *
wire_send(void *ctx, const ldns_rdf *name, ldns_rr_type type)
{
	struct wire *w = ctx;
	bool hit = w->forge != FORGE_NONE && type == w->type &&
	    ldns_dname_compare(name, w->target) == 0;
	const ldns_rdf *ask = hit && w->forge != FORGE_STRIP ? w->donor : name;
	ldns_pkt *pkt = NULL;

	if (hit && w->forge == FORGE_DENY)
		type = LDNS_RR_TYPE_NSEC;
	if (ldns_resolver_send(&pkt, w->res, ask, type, LDNS_RR_CLASS_IN, LDNS_RD) !=
	    LDNS_STATUS_OK) {
		if (pkt != NULL)
			ldns_pkt_free(pkt);
		return NULL;
	}
	if (hit && pkt != NULL) {
		w->forged++;
		if (w->forge == FORGE_STRIP) {
			strip_proof(pkt);
		} else {
			rename_answers(pkt, w->target);
			if (w->forge == FORGE_DENY)
				deny_with(pkt);
		}
	}
	return pkt;
}

struct check {
	const char *zone_env;       /* DNS_ZONE_* */
	const char *name;           /* below the zone ("" the apex); "@user" an SMIMEA owner */
	ldns_rr_type type;
	enum forge forge;
	const char *donor;          /* REPLAY: as name */
	enum as_dnssec_state want;
	const char *data;           /* a text the first record must hold, or NULL */
	bool nxdomain;
	const char *what;
};

/* The owner for c's name in zone: "user@wild" becomes user's SMIMEA owner at wild.ZONE. */
static ldns_rdf *
owner_of(const char *spec, const char *zone)
{
	char buf[600];

	if (strchr(spec, '@') != NULL) {
		char mbox[400];

		snprintf(mbox, sizeof(mbox), "%s%s%s", spec, spec[strlen(spec) - 1] == '@' ? "" : ".",
		    zone);
		if (as_smimea_owner(mbox, buf, sizeof(buf)) != 0)
			return NULL;
	} else
		snprintf(buf, sizeof(buf), "%s%s%s", spec, *spec != '\0' ? "." : "", zone);
	return ldns_dname_new_frm_str(buf);
}

static void
run(const char *resolver, const char *anchor, const struct check *c, size_t n, const char *via)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *zone = env(c[i].zone_env);
		struct wire w = { .forge = c[i].forge, .type = c[i].type };
		struct as_dnssec *v = NULL;
		struct as_dnssec_answer a;
		ldns_rdf *name = NULL;
		char err[256], *data = NULL;
		bool ok;

		memset(&a, 0, sizeof(a));
		if (zone == NULL || (name = owner_of(c[i].name, zone)) == NULL ||
		    as_dns_resolver_new(resolver, true, &w.res, err, sizeof(err)) != 0 ||
		    as_dnssec_new(resolver, anchor, 0, &v, err, sizeof(err)) != 0) {
			tap_ok(0, "%s: %s: set-up failed", via, c[i].what);
			goto next;
		}
		w.target = name;
		if (c[i].forge == FORGE_REPLAY || c[i].forge == FORGE_DENY)
			w.donor = owner_of(c[i].donor, zone);
		as_dnssec_set_transport(v, wire_send, &w);
		if (as_dnssec_lookup(v, name, c[i].type, &a) != 0) {
			tap_ok(0, "%s: %s: lookup error", via, c[i].what);
			goto next;
		}
		if (a.rrset != NULL && ldns_rr_list_rr_count(a.rrset) > 0)
			data = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(a.rrset, 0),
			    c[i].type == LDNS_RR_TYPE_CAA ? 2 : 0));
		ok = a.state == c[i].want && a.nxdomain == c[i].nxdomain &&
		    (c[i].data == NULL || (data != NULL && strstr(data, c[i].data) != NULL)) &&
		    (c[i].forge == FORGE_NONE || w.forged > 0);
		tap_ok(ok, "%s: %s -> %s", via, c[i].what, as_dnssec_state_name(c[i].want));
		tap_diag("got %s%s, data %s, forged %d: %s", as_dnssec_state_name(a.state),
		    a.nxdomain ? " nxdomain" : "", data != NULL ? data : "-", w.forged, a.why);
		/* whatever the expectation, a forgery must never come out secure */
		if (c[i].forge != FORGE_NONE)
			tap_ok(a.state != AS_DNSSEC_SECURE, "%s: %s: never secure", via, c[i].what);
next:
		free(data);
		as_dnssec_answer_clear(&a);
		as_dnssec_free(v);
		if (w.res != NULL)
			ldns_resolver_deep_free(w.res);
		ldns_rdf_deep_free(name);
		ldns_rdf_deep_free(w.donor);
	}
}

#define T LDNS_RR_TYPE_TXT
#define CAA LDNS_RR_TYPE_CAA
#define SMIMEA LDNS_RR_TYPE_SMIMEA
#define S AS_DNSSEC_SECURE
#define I AS_DNSSEC_INSECURE
#define B AS_DNSSEC_BOGUS

/* The same checks for an NSEC zone and an NSEC3 zone (both with wildcards under wild.). */
#define SIGNED_ZONE_CHECKS(Z, KIND) \
	{ Z, "x.wild", T, FORGE_NONE, NULL, S, "wildcard", false, KIND ": wildcard TXT for a name that does not exist" }, \
	{ Z, "a.b.wild", T, FORGE_NONE, NULL, S, "wildcard", false, KIND ": wildcard TXT two labels below" }, \
	{ Z, "x.wild", CAA, FORGE_NONE, NULL, S, "ca.", false, KIND ": wildcard CAA" }, \
	{ Z, "carol@wild", SMIMEA, FORGE_NONE, NULL, S, NULL, false, KIND ": wildcard SMIMEA for a mailbox without its own" }, \
	{ Z, "exists.wild", T, FORGE_NONE, NULL, S, "exists", false, KIND ": a name beside the wildcard, its own TXT" }, \
	{ Z, "bob@wild", SMIMEA, FORGE_NONE, NULL, S, NULL, false, KIND ": a mailbox with its own SMIMEA beside the wildcard" }, \
	{ Z, "exists.wild", T, FORGE_REPLAY, "x.wild", B, NULL, false, KIND ": wildcard TXT replayed for a name with its own records" }, \
	{ Z, "exists.wild", CAA, FORGE_REPLAY, "x.wild", B, NULL, false, KIND ": wildcard CAA replayed for a name with its own" }, \
	{ Z, "bob@wild", SMIMEA, FORGE_REPLAY, "carol@wild", B, NULL, false, KIND ": wildcard SMIMEA replayed for a mailbox with its own" }, \
	{ Z, "x.exists.wild", T, FORGE_REPLAY, "x.wild", B, NULL, false, KIND ": wildcard TXT replayed below an existing name (wrong source of synthesis)" }, \
	{ Z, "x.wild", T, FORGE_STRIP, NULL, B, NULL, false, KIND ": wildcard TXT with its proof stripped" }, \
	{ Z, "carol@wild", SMIMEA, FORGE_STRIP, NULL, B, NULL, false, KIND ": wildcard SMIMEA with its proof stripped" }, \
	{ Z, "x.wild", LDNS_RR_TYPE_A, FORGE_NONE, NULL, S, NULL, false, KIND ": the wildcard has no A: secure empty answer" }, \
	{ Z, "nope", T, FORGE_NONE, NULL, S, NULL, true, KIND ": a name that does not exist: secure NXDOMAIN" }, \
	{ Z, "", SMIMEA, FORGE_NONE, NULL, S, NULL, false, KIND ": no SMIMEA at the apex: secure empty answer" }, \
	{ Z, "nope", T, FORGE_STRIP, NULL, B, NULL, true, KIND ": NXDOMAIN with its denial stripped" }

int
main(void)
{
	const char *resolver = env("DNS_RESOLVER"), *raw = env("DNSSEC_RAW_RESOLVER");
	const char *anchor = env("DNS_TRUST_ANCHOR");
	const struct check checks[] = {
		SIGNED_ZONE_CHECKS("DNS_ZONE_OURS", "NSEC"),
		SIGNED_ZONE_CHECKS("DNS_ZONE_NSEC3", "NSEC3"),
		/* *.wild's NSEC (TXT CAA, no SMIMEA) verifies as an expansion at any name below it */
		{ "DNS_ZONE_OURS", "bob@wild", SMIMEA, FORGE_DENY, "*.wild", B, NULL, false,
		  "NSEC: a wildcard's NSEC copied to a mailbox's owner to deny its SMIMEA" },
		{ "DNS_ZONE_NSEC3", "", CAA, FORGE_NONE, NULL, S, "ca.", false, "NSEC3: CAA at the apex" },
		{ "DNS_ZONE_NSEC3", "bob@", SMIMEA, FORGE_NONE, NULL, S, NULL, false, "NSEC3: SMIMEA" },
		{ "DNS_ZONE_OPTOUT", "", T, FORGE_NONE, NULL, S, "v=spf1", false, "opt-out: TXT at the apex" },
		{ "DNS_ZONE_OPTOUT", "bob@", SMIMEA, FORGE_NONE, NULL, S, NULL, false, "opt-out: SMIMEA with its own NSEC3" },
		{ "DNS_ZONE_OPTOUT", "exists.wild", T, FORGE_NONE, NULL, S, "exists", false, "opt-out: a name with its own TXT" },
		{ "DNS_ZONE_OPTOUT", "x.wild", T, FORGE_NONE, NULL, I, "wildcard", false, "opt-out: wildcard TXT, next closer name in an opt-out span" },
		{ "DNS_ZONE_OPTOUT", "carol@wild", SMIMEA, FORGE_NONE, NULL, I, NULL, false, "opt-out: wildcard SMIMEA in an opt-out span" },
		{ "DNS_ZONE_OPTOUT", "nope", T, FORGE_NONE, NULL, I, NULL, true, "opt-out: NXDOMAIN in an opt-out span" },
		{ "DNS_ZONE_OPTOUT", "exists.wild", T, FORGE_REPLAY, "x.wild", B, NULL, false, "opt-out: wildcard TXT replayed for a name with its own" },
	};
	struct as_dnssec *v = NULL;
	char err[256];

	tap_ok(as_dnssec_new("127.0.0.1@1", "/nonexistent/anchor", 0, &v, err, sizeof(err)) == -1 &&
	    v == NULL, "a missing anchor file is refused: %s", err);
	if (resolver == NULL || anchor == NULL) {
		tap_diag("DNS_RESOLVER not set: run through dnssec_dns.sh for the DNS cases");
		return tap_done();
	}
	run(resolver, anchor, checks, sizeof(checks) / sizeof(checks[0]), "unbound");
	if (raw != NULL)
		run(raw, anchor, checks, sizeof(checks) / sizeof(checks[0]), "nsd (non-validating)");
	return tap_done();
}
