/*
 * test_dnssec_denial: the NSEC and NSEC3 proofs of dnssec_denial.c on records built here (the
 * NSEC3 hashes computed with ldns), for the cases a signed test zone cannot show: iterations
 * above the bound, an unknown hash algorithm, an opt-out span over an unsigned delegation that
 * has no NSEC3 of its own, missing closest-encloser pieces, a wildcard proof whose encloser
 * does not match the RRSIG's labels. Signatures are dnssec.c's business (test_dnssec).
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/dnssec_denial.h"
#include "tests/tap.h"

#define ZONE "z.test."

static ldns_rdf *
dn(const char *s)
{
	ldns_rdf *d = ldns_dname_new_frm_str(s);

	if (d == NULL) {
		fprintf(stderr, "bad name %s\n", s);
		exit(2);
	}
	return d;
}

/* The base32hex hash label of `name` (0 iterations, no salt), into out. */
static void
hash_label(const char *name, char *out, size_t cap)
{
	ldns_rdf *n = dn(name), *h = ldns_nsec3_hash_name(n, 1, 0, 0, NULL);
	char *t = h != NULL ? ldns_rdf2str(h) : NULL;

	snprintf(out, cap, "%s", t != NULL ? t : "?");
	if (strchr(out, '.') != NULL)
		*strchr(out, '.') = '\0';
	free(t);
	ldns_rdf_deep_free(h);
	ldns_rdf_deep_free(n);
}

static void
add(ldns_rr_list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
add(ldns_rr_list *l, const char *fmt, ...)
{
	char buf[512];
	ldns_rr *rr = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (ldns_rr_new_frm_str(&rr, buf, 0, NULL, NULL) != LDNS_STATUS_OK) {
		fprintf(stderr, "bad RR %s\n", buf);
		exit(2);
	}
	ldns_rr_list_push_rr(l, rr);
}

/*
 * An NSEC3 chain of two records: the apex (hash(z.test.) with NS SOA) and one wide span from
 * 00..0 to vv..v (flags `flags`, algorithm `alg`, `iter` iterations) that covers every other
 * hash. with_apex false leaves the apex record out.
 */
static ldns_rr_list *
chain(int alg, int flags, int iter, bool with_apex)
{
	ldns_rr_list *l = ldns_rr_list_new();
	char apex[64];

	hash_label(ZONE, apex, sizeof(apex));
	if (with_apex)
		add(l, "%s." ZONE " 60 IN NSEC3 1 %d 0 - %s NS SOA RRSIG DNSKEY NSEC3PARAM", apex,
		    flags, "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv");
	add(l, "00000000000000000000000000000000." ZONE " 60 IN NSEC3 %d %d %d - "
	    "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv TXT RRSIG", alg, flags, iter);
	return l;
}

static const char *
name_of(enum as_denial d)
{
	return d == AS_DENIAL_PROVEN ? "proven" : d == AS_DENIAL_INSECURE ? "insecure" : "failed";
}

static void
nsec3_cases(void)
{
	ldns_rdf *zone = dn(ZONE), *nope = dn("nope." ZONE), *deleg = dn("deleg." ZONE);
	ldns_rdf *x = dn("x.w." ZONE), *w = dn("w." ZONE);
	struct as_denial_set s = { .nsec3 = true, .zone = zone };
	ldns_rr_list *l;
	enum as_denial d;
	bool cut;
	char why[160];

	s.recs = l = chain(1, 0, 0, true);
	d = as_denial_nxdomain(&s, nope, why, sizeof(why));
	tap_ok(d == AS_DENIAL_PROVEN, "NSEC3 NXDOMAIN: closest encloser, next closer and wildcard "
	    "denied: %s", name_of(d));
	d = as_denial_wildcard(&s, x, w, why, sizeof(why));
	tap_ok(d == AS_DENIAL_PROVEN, "NSEC3 wildcard answer: next closer name covered: %s",
	    name_of(d));
	d = as_denial_nodata(&s, deleg, LDNS_RR_TYPE_DS, &cut, why, sizeof(why));
	tap_ok(d == AS_DENIAL_FAILED, "NSEC3 DS denial without a matching NSEC3 and no opt-out: "
	    "%s (%s)", name_of(d), why);
	d = as_denial_nodata(&s, zone, LDNS_RR_TYPE_SOA, &cut, why, sizeof(why));
	tap_ok(d == AS_DENIAL_FAILED, "NSEC3 NODATA for a type the bitmap lists: %s", name_of(d));
	d = as_denial_nodata(&s, zone, LDNS_RR_TYPE_SMIMEA, &cut, why, sizeof(why));
	tap_ok(d == AS_DENIAL_PROVEN && !cut, "NSEC3 NODATA at the apex: %s", name_of(d));
	ldns_rr_list_deep_free(l);

	s.recs = l = chain(1, 1, 0, true);
	d = as_denial_nxdomain(&s, nope, why, sizeof(why));
	tap_ok(d == AS_DENIAL_INSECURE, "NSEC3 NXDOMAIN inside an opt-out span: %s (%s)",
	    name_of(d), why);
	d = as_denial_nodata(&s, deleg, LDNS_RR_TYPE_DS, &cut, why, sizeof(why));
	tap_ok(d == AS_DENIAL_INSECURE && cut, "no DS for a delegation inside an opt-out span "
	    "(RFC 5155 8.6): %s", name_of(d));
	d = as_denial_wildcard(&s, x, w, why, sizeof(why));
	tap_ok(d == AS_DENIAL_INSECURE, "wildcard answer whose next closer name lies in an "
	    "opt-out span: %s", name_of(d));
	ldns_rr_list_deep_free(l);

	s.recs = l = chain(1, 0, 0, false);
	d = as_denial_nxdomain(&s, nope, why, sizeof(why));
	tap_ok(d == AS_DENIAL_FAILED, "NSEC3 NXDOMAIN without the closest encloser's NSEC3: %s",
	    name_of(d));
	ldns_rr_list_deep_free(l);

	/* the hashes are not those of these parameters: no proof either way */
	s.recs = l = chain(1, 0, AS_DENIAL_NSEC3_MAX_ITERATIONS + 1, true);
	d = as_denial_nxdomain(&s, nope, why, sizeof(why));
	tap_ok(d == AS_DENIAL_INSECURE, "NSEC3 with %d iterations: %s (%s)",
	    AS_DENIAL_NSEC3_MAX_ITERATIONS + 1, name_of(d), why);
	d = as_denial_wildcard(&s, x, w, why, sizeof(why));
	tap_ok(d == AS_DENIAL_INSECURE, "and a wildcard proof with it: %s", name_of(d));
	ldns_rr_list_deep_free(l);
	s.recs = l = chain(1, 0, AS_DENIAL_NSEC3_MAX_ITERATIONS, true);
	d = as_denial_nxdomain(&s, nope, why, sizeof(why));
	tap_ok(d != AS_DENIAL_INSECURE, "%d iterations are still checked: %s",
	    AS_DENIAL_NSEC3_MAX_ITERATIONS, name_of(d));
	ldns_rr_list_deep_free(l);

	l = ldns_rr_list_new();
	add(l, "00000000000000000000000000000000." ZONE " 60 IN NSEC3 2 0 0 - "
	    "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv TXT RRSIG");
	s.recs = l;
	d = as_denial_nxdomain(&s, nope, why, sizeof(why));
	tap_ok(d == AS_DENIAL_INSECURE, "NSEC3 of an unknown hash algorithm only: %s (%s)",
	    name_of(d), why);
	ldns_rr_list_deep_free(l);
	l = ldns_rr_list_new();
	add(l, "00000000000000000000000000000000.other.test. 60 IN NSEC3 1 0 0 - "
	    "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv TXT RRSIG");
	s.recs = l;
	d = as_denial_wildcard(&s, x, w, why, sizeof(why));
	tap_ok(d == AS_DENIAL_FAILED, "NSEC3 of another zone proves nothing: %s", name_of(d));
	ldns_rr_list_deep_free(l);

	ldns_rdf_deep_free(zone);
	ldns_rdf_deep_free(nope);
	ldns_rdf_deep_free(deleg);
	ldns_rdf_deep_free(x);
	ldns_rdf_deep_free(w);
}

static void
nsec_cases(void)
{
	ldns_rdf *zone = dn(ZONE), *w = dn("w." ZONE), *b = dn("b.w." ZONE);
	ldns_rdf *ab = dn("a.b.w." ZONE), *nope = dn("nope." ZONE);
	struct as_denial_set s = { .nsec3 = false, .zone = zone };
	ldns_rr_list *l = ldns_rr_list_new();
	enum as_denial d;
	char why[160];

	add(l, ZONE " 60 IN NSEC *.w." ZONE " NS SOA RRSIG NSEC DNSKEY");
	add(l, "*.w." ZONE " 60 IN NSEC a.w." ZONE " TXT RRSIG NSEC");
	add(l, "a.w." ZONE " 60 IN NSEC c.w." ZONE " TXT RRSIG NSEC");
	s.recs = l;
	d = as_denial_wildcard(&s, b, w, why, sizeof(why));
	tap_ok(d == AS_DENIAL_PROVEN, "NSEC wildcard answer: the name is covered: %s", name_of(d));
	d = as_denial_wildcard(&s, ab, w, why, sizeof(why));
	tap_ok(d == AS_DENIAL_PROVEN, "NSEC wildcard answer two labels below: %s", name_of(d));
	d = as_denial_wildcard(&s, b, zone, why, sizeof(why));
	tap_ok(d == AS_DENIAL_FAILED, "NSEC wildcard answer whose RRSIG names another source of "
	    "synthesis (*.%s): %s", ZONE, name_of(d));
	ldns_rr_list_deep_free(l);

	l = ldns_rr_list_new();
	add(l, "b.w." ZONE " 60 IN NSEC c.w." ZONE " TXT RRSIG NSEC");
	s.recs = l;
	d = as_denial_wildcard(&s, b, w, why, sizeof(why));
	tap_ok(d == AS_DENIAL_FAILED, "a wildcard answer for a name that has an NSEC (exists): %s",
	    name_of(d));
	d = as_denial_wildcard(&s, ab, w, why, sizeof(why));
	tap_ok(d == AS_DENIAL_FAILED, "below an existing name the wildcard one level up does not "
	    "apply: %s", name_of(d));
	d = as_denial_nxdomain(&s, nope, why, sizeof(why));
	tap_ok(d == AS_DENIAL_FAILED, "NXDOMAIN without a covering NSEC: %s", name_of(d));
	ldns_rr_list_deep_free(l);

	l = ldns_rr_list_new();
	add(l, "m." ZONE " 60 IN NSEC p." ZONE " TXT RRSIG NSEC");
	s.recs = l;
	d = as_denial_nxdomain(&s, nope, why, sizeof(why));
	tap_ok(d == AS_DENIAL_FAILED, "NXDOMAIN without the wildcard's denial: %s", name_of(d));
	add(l, ZONE " 60 IN NSEC a." ZONE " NS SOA RRSIG NSEC DNSKEY");
	d = as_denial_nxdomain(&s, nope, why, sizeof(why));
	tap_ok(d == AS_DENIAL_PROVEN, "NXDOMAIN with name and wildcard covered: %s", name_of(d));
	ldns_rr_list_deep_free(l);

	l = ldns_rr_list_new();
	add(l, "sub." ZONE " 60 IN NSEC t." ZONE " NS RRSIG NSEC");
	s.recs = l;
	ldns_rdf_deep_free(nope);
	nope = dn("x.sub." ZONE);
	d = as_denial_wildcard(&s, nope, zone, why, sizeof(why));
	tap_ok(d == AS_DENIAL_FAILED, "an NSEC at a zone cut proves nothing below it: %s",
	    name_of(d));
	ldns_rr_list_deep_free(l);

	ldns_rdf_deep_free(zone);
	ldns_rdf_deep_free(w);
	ldns_rdf_deep_free(b);
	ldns_rdf_deep_free(ab);
	ldns_rdf_deep_free(nope);
}

int
main(void)
{
	nsec3_cases();
	nsec_cases();
	return tap_done();
}
