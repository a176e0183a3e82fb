/*
 * dnssec: validates DNS answers from the anchor down (see dnssec.h). Owns the validator: its
 * resolver, the anchors read from the file, and the cache of zone keys it has validated.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "policy/dns.h"
#include "policy/dnssec.h"
#include "policy/dnssec_denial.h"

#define ZONES_MAX 32

/* A zone the walk has settled: its validated keys (SECURE) or that it is insecure. */
struct zone_entry {
	ldns_rdf *name;
	enum as_dnssec_state state;
	ldns_rr_list *keys;
};

struct as_dnssec {
	ldns_resolver *res;
	ldns_rr_list *anchors;       /* DS and DNSKEY RRs */
	time_t now;
	struct timespec deadline;
	int queries;
	as_dnssec_send_fn send;      /* NULL: the resolver */
	void *send_ctx;
	struct zone_entry zones[ZONES_MAX];
	size_t n_zones;
};

static void
why(struct as_dnssec_answer *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
why(struct as_dnssec_answer *a, const char *fmt, ...)
{
	va_list ap;

	if (a == NULL || a->why[0] != '\0')
		return;     /* keep the first, deepest reason */
	va_start(ap, fmt);
	vsnprintf(a->why, sizeof(a->why), fmt, ap);
	va_end(ap);
}

/* A printable name for evidence text; DNS names from answers are hostile, ldns escapes them. */
static void
name_str(const ldns_rdf *n, char *out, size_t cap)
{
	char *s = n != NULL ? ldns_rdf2str(n) : NULL;

	snprintf(out, cap, "%s", s != NULL ? s : "?");
	free(s);
}

const char *
as_dnssec_state_name(enum as_dnssec_state s)
{
	switch (s) {
	case AS_DNSSEC_SECURE: return "secure";
	case AS_DNSSEC_INSECURE: return "insecure";
	case AS_DNSSEC_BOGUS: return "bogus";
	case AS_DNSSEC_FAILED: return "failed";
	}
	return "?";
}

static int
load_anchors(const char *path, ldns_rr_list **out, char *err, size_t errcap)
{
	FILE *fp = NULL;
	ldns_rr_list *list = NULL;
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = 3600;
	struct stat st;
	int r = -1, line = 0;

	*out = NULL;
	if (path == NULL || *path == '\0') {
		snprintf(err, errcap, "dns_trust_anchor_file is not set");
		return -1;
	}
	if ((fp = fopen(path, "r")) == NULL || fstat(fileno(fp), &st) < 0 ||
	    !S_ISREG(st.st_mode) || st.st_size > AS_DNSSEC_ANCHOR_FILE_MAX) {
		snprintf(err, errcap, "cannot read trust anchor file %s (a regular file up to %d bytes)",
		    path, AS_DNSSEC_ANCHOR_FILE_MAX);
		goto out;
	}
	if ((list = ldns_rr_list_new()) == NULL)
		goto out;
	while (!feof(fp) && line < 10000) {
		ldns_rr *rr = NULL;
		ldns_status s = ldns_rr_new_frm_fp(&rr, fp, &ttl, &origin, &prev);

		line++;
		if (s == LDNS_STATUS_SYNTAX_EMPTY || s == LDNS_STATUS_SYNTAX_TTL ||
		    s == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (s != LDNS_STATUS_OK) {
			if (feof(fp))
				break;
			snprintf(err, errcap, "trust anchor file %s: %s", path, ldns_get_errorstr_by_id(s));
			goto out;
		}
		if ((ldns_rr_get_type(rr) != LDNS_RR_TYPE_DS &&
		    ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNSKEY) ||
		    ldns_rr_list_rr_count(list) >= AS_DNSSEC_ANCHORS_MAX) {
			ldns_rr_free(rr);
			continue;
		}
		ldns_rr_list_push_rr(list, rr);
	}
	if (ldns_rr_list_rr_count(list) == 0) {
		snprintf(err, errcap, "trust anchor file %s holds no DS or DNSKEY record", path);
		goto out;
	}
	*out = list; /* transferred */
	list = NULL;
	r = 0;
out:
	if (list != NULL)
		ldns_rr_list_deep_free(list);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	if (fp != NULL)
		fclose(fp);
	return r;
}

int
as_dnssec_new(const char *resolver, const char *anchor_file, time_t now,
    struct as_dnssec **out, char *err, size_t errcap)
{
	struct as_dnssec *v = NULL;
	int r = -1;

	*out = NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	if (as_dns_resolver_new(resolver, true, &v->res, err, errcap) < 0 ||
	    load_anchors(anchor_file, &v->anchors, err, errcap) < 0)
		goto out;
	v->now = now != 0 ? now : time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &v->deadline);
	v->deadline.tv_sec += AS_DNSSEC_DEADLINE_S;
	*out = v; /* transferred */
	v = NULL;
	r = 0;
out:
	as_dnssec_free(v);
	return r;
}

void
as_dnssec_free(struct as_dnssec *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n_zones; i++) {
		ldns_rdf_deep_free(v->zones[i].name);
		if (v->zones[i].keys != NULL)
			ldns_rr_list_deep_free(v->zones[i].keys);
	}
	if (v->anchors != NULL)
		ldns_rr_list_deep_free(v->anchors);
	if (v->res != NULL)
		ldns_resolver_deep_free(v->res);
	free(v);
}

void
as_dnssec_answer_clear(struct as_dnssec_answer *a)
{
	if (a == NULL)
		return;
	if (a->rrset != NULL)
		ldns_rr_list_deep_free(a->rrset);
	ldns_rdf_deep_free(a->alias);
	memset(a, 0, sizeof(*a));
}

void
as_dnssec_set_transport(struct as_dnssec *v, as_dnssec_send_fn send, void *ctx)
{
	v->send = send;
	v->send_ctx = ctx;
}

/* One query within the budget and the deadline; NULL when there is no usable answer. */
static ldns_pkt *
query(struct as_dnssec *v, const ldns_rdf *name, ldns_rr_type type, struct as_dnssec_answer *a)
{
	struct timespec now;
	ldns_pkt *pkt = NULL;
	char n[300];

	name_str(name, n, sizeof(n));
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (v->queries >= AS_DNSSEC_MAX_QUERIES || now.tv_sec > v->deadline.tv_sec) {
		why(a, "query budget or time exhausted at %s", n);
		return NULL;
	}
	v->queries++;
	if (v->send != NULL)
		pkt = v->send(v->send_ctx, name, type);
	else if (ldns_resolver_send(&pkt, v->res, name, type, LDNS_RR_CLASS_IN, LDNS_RD) !=
	    LDNS_STATUS_OK && pkt != NULL) {
		ldns_pkt_free(pkt);
		pkt = NULL;
	}
	if (pkt == NULL) {
		why(a, "no answer for %s (timeout or network error)", n);
		return NULL;
	}
	if (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR &&
	    ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NXDOMAIN) {
		char *rc = ldns_pkt_rcode2str(ldns_pkt_get_rcode(pkt));

		why(a, "%s for %s", rc != NULL ? rc : "error", n);
		free(rc);
		ldns_pkt_free(pkt);
		return NULL;
	}
	return pkt;
}

/* The RRs of `sec` with this owner and type (or, for RRSIG, covering `type`); a new list of
 * clones, possibly empty, or NULL on memory failure. */
static ldns_rr_list *
pick(const ldns_pkt *pkt, ldns_pkt_section sec, const ldns_rdf *owner, ldns_rr_type type,
    bool sigs)
{
	ldns_rr_list *all = ldns_pkt_get_section_clone(pkt, sec), *out = ldns_rr_list_new();
	size_t i;

	if (all == NULL || out == NULL) {
		if (all != NULL)
			ldns_rr_list_deep_free(all);
		if (out != NULL)
			ldns_rr_list_free(out);
		return NULL;
	}
	for (i = 0; i < ldns_rr_list_rr_count(all); i++) {
		ldns_rr *rr = ldns_rr_list_rr(all, i);
		bool match;

		if (owner != NULL && ldns_dname_compare(ldns_rr_owner(rr), owner) != 0)
			continue;
		if (sigs)
			match = ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG &&
			    ldns_rr_rrsig_typecovered(rr) != NULL &&
			    ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == type;
		else
			match = ldns_rr_get_type(rr) == type;
		if (match)
			ldns_rr_list_push_rr(out, ldns_rr_clone(rr));
	}
	ldns_rr_list_deep_free(all);
	return out;
}

static void
free_list(ldns_rr_list *l)
{
	if (l != NULL)
		ldns_rr_list_deep_free(l);
}

/* Does one of `sigs`, made by `signer`, verify `rrset` with `keys` at v->now? */
static bool
verify_set(struct as_dnssec *v, const ldns_rr_list *rrset, const ldns_rr_list *sigs,
    const ldns_rr_list *keys, const ldns_rdf *signer)
{
	size_t i;

	if (rrset == NULL || sigs == NULL || keys == NULL || ldns_rr_list_rr_count(rrset) == 0)
		return false;
	for (i = 0; i < ldns_rr_list_rr_count(sigs); i++) {
		const ldns_rr *sig = ldns_rr_list_rr(sigs, i);

		if (signer != NULL && (ldns_rr_rrsig_signame(sig) == NULL ||
		    ldns_dname_compare(ldns_rr_rrsig_signame(sig), signer) != 0))
			continue;
		if (ldns_verify_rrsig_keylist_time(rrset, sig, keys, v->now, NULL) == LDNS_STATUS_OK)
			return true;
	}
	return false;
}

/*
 * The labels count of the verifying RRSIG over `rrset` (owner `name`) that has the most, at most
 * name's own count (the leading "*" of a wildcard owner not counted): fewer than that means the
 * answer was synthesised from a wildcard. -1 when no signature verifies.
 */
static int
best_labels(struct as_dnssec *v, const ldns_rdf *name, const ldns_rr_list *rrset,
    const ldns_rr_list *sigs, const ldns_rr_list *keys, const ldns_rdf *signer)
{
	int own = ldns_dname_label_count(name) - (ldns_dname_is_wildcard(name) ? 1 : 0), best = -1;
	size_t i;

	if (rrset == NULL || sigs == NULL || keys == NULL || ldns_rr_list_rr_count(rrset) == 0)
		return -1;
	for (i = 0; i < ldns_rr_list_rr_count(sigs); i++) {
		const ldns_rr *sig = ldns_rr_list_rr(sigs, i);
		const ldns_rdf *lab = ldns_rr_rrsig_labels(sig);
		int n = lab != NULL ? ldns_rdf2native_int8(lab) : -1;

		if (n < 0 || n > own || n <= best || ldns_rr_rrsig_signame(sig) == NULL ||
		    ldns_dname_compare(ldns_rr_rrsig_signame(sig), signer) != 0)
			continue;
		if (ldns_verify_rrsig_keylist_time(rrset, sig, keys, v->now, NULL) == LDNS_STATUS_OK)
			best = n;
	}
	return best;
}

static struct zone_entry *
zone_find(struct as_dnssec *v, const ldns_rdf *name)
{
	size_t i;

	for (i = 0; i < v->n_zones; i++)
		if (ldns_dname_compare(v->zones[i].name, name) == 0)
			return &v->zones[i];
	return NULL;
}

static struct zone_entry *
zone_add(struct as_dnssec *v, const ldns_rdf *name, enum as_dnssec_state st, ldns_rr_list *keys)
{
	struct zone_entry *z;

	if (v->n_zones >= ZONES_MAX || (z = &v->zones[v->n_zones])->name != NULL) {
		free_list(keys);
		return NULL;
	}
	if ((z->name = ldns_rdf_clone(name)) == NULL) {
		free_list(keys);
		return NULL;
	}
	z->state = st;
	z->keys = keys; /* transferred */
	v->n_zones++;
	return z;
}

/*
 * Fetch the DNSKEY RRset of `zone` and accept it when a key that matches one of `trust` (DS
 * records or DNSKEYs) signs it. Returns the state; on SECURE *keys is the new RRset (owned).
 */
static enum as_dnssec_state
fetch_keys(struct as_dnssec *v, const ldns_rdf *zone, const ldns_rr_list *trust,
    ldns_rr_list **keys, struct as_dnssec_answer *a)
{
	ldns_pkt *pkt = query(v, zone, LDNS_RR_TYPE_DNSKEY, a);
	ldns_rr_list *set = NULL, *sigs = NULL, *trusted = NULL;
	enum as_dnssec_state st = AS_DNSSEC_BOGUS;
	char n[300];
	size_t i, j;

	*keys = NULL;
	name_str(zone, n, sizeof(n));
	if (pkt == NULL)
		return AS_DNSSEC_FAILED;
	set = pick(pkt, LDNS_SECTION_ANSWER, zone, LDNS_RR_TYPE_DNSKEY, false);
	sigs = pick(pkt, LDNS_SECTION_ANSWER, zone, LDNS_RR_TYPE_DNSKEY, true);
	trusted = ldns_rr_list_new();
	if (set == NULL || sigs == NULL || trusted == NULL) {
		st = AS_DNSSEC_FAILED;
		goto out;
	}
	for (i = 0; i < ldns_rr_list_rr_count(set); i++)
		for (j = 0; j < ldns_rr_list_rr_count(trust); j++)
			if (ldns_rr_compare_ds(ldns_rr_list_rr(set, i), ldns_rr_list_rr(trust, j))) {
				ldns_rr_list_push_rr(trusted, ldns_rr_list_rr(set, i));
				break;
			}
	if (ldns_rr_list_rr_count(trusted) == 0) {
		why(a, "no DNSKEY of %s matches its DS or trust anchor", n);
		goto out;
	}
	if (!verify_set(v, set, sigs, trusted, zone)) {
		why(a, "DNSKEY set of %s: signature does not verify (expired or wrong)", n);
		goto out;
	}
	*keys = set; /* transferred */
	set = NULL;
	st = AS_DNSSEC_SECURE;
out:
	if (trusted != NULL)
		ldns_rr_list_free(trusted);   /* borrowed members */
	free_list(set);
	free_list(sigs);
	ldns_pkt_free(pkt);
	return st;
}

static int best_labels(struct as_dnssec *v, const ldns_rdf *name, const ldns_rr_list *rrset,
    const ldns_rr_list *sigs, const ldns_rr_list *keys, const ldns_rdf *signer);

/* Verify every NSEC/NSEC3 RRset of the authority section with `keys`; the lists are
 * returned (owned) for the denial checks. False when one does not verify, or verifies only as
 * a wildcard expansion: an NSEC is never synthesised, and a wildcard's NSEC copied to another
 * owner would deny that owner's records. */
static bool
verified_denials(struct as_dnssec *v, const ldns_pkt *pkt, const ldns_rr_list *keys,
    const ldns_rdf *signer, ldns_rr_list **nsecs, ldns_rr_list **sigs, bool *nsec3)
{
	ldns_rr_type t;
	size_t i;
	bool ok = true;

	*nsec3 = false;
	*nsecs = pick(pkt, LDNS_SECTION_AUTHORITY, NULL, LDNS_RR_TYPE_NSEC, false);
	if (*nsecs != NULL && ldns_rr_list_rr_count(*nsecs) == 0) {
		free_list(*nsecs);
		*nsecs = pick(pkt, LDNS_SECTION_AUTHORITY, NULL, LDNS_RR_TYPE_NSEC3, false);
		*nsec3 = true;
	}
	t = *nsec3 ? LDNS_RR_TYPE_NSEC3 : LDNS_RR_TYPE_NSEC;
	*sigs = pick(pkt, LDNS_SECTION_AUTHORITY, NULL, t, true);
	if (*nsecs == NULL || *sigs == NULL || ldns_rr_list_rr_count(*nsecs) == 0 ||
	    ldns_rr_list_rr_count(*nsecs) > AS_DENIAL_MAX_RECORDS)
		return false;   /* none, or more than any proof needs: not worth verifying */
	for (i = 0; i < ldns_rr_list_rr_count(*nsecs) && ok; i++) {
		const ldns_rdf *owner = ldns_rr_owner(ldns_rr_list_rr(*nsecs, i));
		ldns_rr_list *set = pick(pkt, LDNS_SECTION_AUTHORITY, owner, t, false);
		ldns_rr_list *s = pick(pkt, LDNS_SECTION_AUTHORITY, owner, t, true);

		ok = best_labels(v, owner, set, s, keys, signer) ==
		    ldns_dname_label_count(owner) - (ldns_dname_is_wildcard(owner) ? 1 : 0);
		free_list(set);
		free_list(s);
	}
	return ok;
}

enum step { STEP_CUT, STEP_NOCUT, STEP_END, STEP_INSECURE, STEP_BOGUS, STEP_FAILED };

/*
 * One step down from secure zone `cur` (keys `ck`) to `child`: ask for child's DS. A signed
 * DS set makes child a secure zone (its keys in *child_keys); a signed denial says either
 * "no zone cut here", "a delegation without DS" (insecure) or "no such name" (end).
 */
static enum step
step(struct as_dnssec *v, const ldns_rdf *cur, const ldns_rr_list *ck, const ldns_rdf *child,
    ldns_rr_list **child_keys, struct as_dnssec_answer *a)
{
	ldns_pkt *pkt = query(v, child, LDNS_RR_TYPE_DS, a);
	ldns_rr_list *ds = NULL, *sigs = NULL, *nsecs = NULL, *nsigs = NULL;
	struct as_denial_set ds_set;
	enum as_denial d;
	enum step r = STEP_BOGUS;
	bool nsec3, cut = false;
	char n[300], w[160];

	*child_keys = NULL;
	name_str(child, n, sizeof(n));
	if (pkt == NULL)
		return STEP_FAILED;
	ds = pick(pkt, LDNS_SECTION_ANSWER, child, LDNS_RR_TYPE_DS, false);
	sigs = pick(pkt, LDNS_SECTION_ANSWER, child, LDNS_RR_TYPE_DS, true);
	if (ds == NULL || sigs == NULL) {
		r = STEP_FAILED;
		goto out;
	}
	if (ldns_rr_list_rr_count(ds) > 0) {
		enum as_dnssec_state st;

		if (!verify_set(v, ds, sigs, ck, cur)) {
			why(a, "DS set of %s: signature does not verify", n);
			goto out;
		}
		st = fetch_keys(v, child, ds, child_keys, a);
		r = st == AS_DNSSEC_SECURE ? STEP_CUT : st == AS_DNSSEC_FAILED ? STEP_FAILED : STEP_BOGUS;
		goto out;
	}
	/* An alias at child (the server answers a DS query with it): no zone cut there, once
	 * the CNAME proves to be cur's own, signed data. */
	{
		ldns_rr_list *cn = pick(pkt, LDNS_SECTION_ANSWER, child, LDNS_RR_TYPE_CNAME, false);
		ldns_rr_list *cs = pick(pkt, LDNS_SECTION_ANSWER, child, LDNS_RR_TYPE_CNAME, true);
		bool alias = cn != NULL && ldns_rr_list_rr_count(cn) > 0;
		bool ok = alias && verify_set(v, cn, cs, ck, cur);

		free_list(cn);
		free_list(cs);
		if (alias) {
			if (!ok)
				why(a, "CNAME at %s: signature does not verify", n);
			r = ok ? STEP_NOCUT : STEP_BOGUS;
			goto out;
		}
	}
	/* No DS: the denial must be signed by cur and prove it. */
	if (!verified_denials(v, pkt, ck, cur, &nsecs, &nsigs, &nsec3)) {
		why(a, "no DS for %s and no valid signed denial", n);
		goto out;
	}
	ds_set.recs = nsecs;
	ds_set.nsec3 = nsec3;
	ds_set.zone = cur;
	if (ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NXDOMAIN) {
		d = as_denial_nxdomain(&ds_set, child, w, sizeof(w));
		r = d == AS_DENIAL_PROVEN ? STEP_END : d == AS_DENIAL_INSECURE ? STEP_INSECURE :
		    STEP_BOGUS;
	} else {
		d = as_denial_nodata(&ds_set, child, LDNS_RR_TYPE_DS, &cut, w, sizeof(w));
		r = d == AS_DENIAL_PROVEN ? (cut ? STEP_INSECURE : STEP_NOCUT) :
		    d == AS_DENIAL_INSECURE ? STEP_INSECURE : STEP_BOGUS;
	}
	if (r == STEP_BOGUS || d == AS_DENIAL_INSECURE)
		why(a, "no DS for %s: %s", n, w);
out:
	free_list(ds);
	free_list(sigs);
	free_list(nsecs);
	free_list(nsigs);
	ldns_pkt_free(pkt);
	return r;
}

/* The longest anchor owner that encloses `name`, or NULL (borrowed). */
static const ldns_rdf *
anchor_for(const struct as_dnssec *v, const ldns_rdf *name)
{
	const ldns_rdf *best = NULL;
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(v->anchors); i++) {
		const ldns_rdf *o = ldns_rr_owner(ldns_rr_list_rr(v->anchors, i));

		if ((ldns_dname_compare(o, name) == 0 || ldns_dname_is_subdomain(name, o)) &&
		    (best == NULL || ldns_dname_label_count(o) > ldns_dname_label_count(best)))
			best = o;
	}
	return best;
}

/*
 * Walk from the anchor down to `target`. SECURE: every cut on the way is signed; *zone and
 * *keys name the deepest secure zone enclosing target (borrowed from the cache). INSECURE: a
 * delegation without DS on the way, or no anchor encloses target.
 */
static enum as_dnssec_state
walk(struct as_dnssec *v, const ldns_rdf *target, const ldns_rdf **zone,
    const ldns_rr_list **keys, struct as_dnssec_answer *a)
{
	const ldns_rdf *anchor = anchor_for(v, target);
	struct zone_entry *z;
	ldns_rdf *child = NULL;
	uint8_t nt, i;

	*zone = NULL;
	*keys = NULL;
	if (anchor == NULL)
		return AS_DNSSEC_INSECURE;   /* indeterminate: outside every trust anchor */
	if ((z = zone_find(v, anchor)) == NULL) {
		ldns_rr_list *k = NULL, *trust;
		enum as_dnssec_state st;
		size_t j;

		if ((trust = ldns_rr_list_new()) == NULL)
			return AS_DNSSEC_FAILED;
		for (j = 0; j < ldns_rr_list_rr_count(v->anchors); j++)
			if (ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(v->anchors, j)), anchor) == 0)
				ldns_rr_list_push_rr(trust, ldns_rr_list_rr(v->anchors, j));
		st = fetch_keys(v, anchor, trust, &k, a);
		ldns_rr_list_free(trust);
		if (st != AS_DNSSEC_SECURE)
			return st;
		if ((z = zone_add(v, anchor, AS_DNSSEC_SECURE, k)) == NULL)
			return AS_DNSSEC_FAILED;
	}
	nt = ldns_dname_label_count(target);
	for (i = ldns_dname_label_count(anchor) + 1; i <= nt; i++) {
		struct zone_entry *c;
		ldns_rr_list *ck = NULL;
		enum step s;

		ldns_rdf_deep_free(child);
		if ((child = ldns_dname_clone_from(target, (uint16_t)(nt - i))) == NULL)
			return AS_DNSSEC_FAILED;
		if ((c = zone_find(v, child)) != NULL) {
			if (c->state != AS_DNSSEC_SECURE) {
				ldns_rdf_deep_free(child);
				return c->state;
			}
			z = c;
			continue;
		}
		s = step(v, z->name, z->keys, child, &ck, a);
		switch (s) {
		case STEP_CUT:
			if ((c = zone_add(v, child, AS_DNSSEC_SECURE, ck)) == NULL) {
				ldns_rdf_deep_free(child);
				return AS_DNSSEC_FAILED;
			}
			z = c;
			break;
		case STEP_NOCUT:
			break;
		case STEP_END:
			i = nt;  /* nothing exists below: target is securely absent */
			break;
		case STEP_INSECURE:
			zone_add(v, child, AS_DNSSEC_INSECURE, NULL);
			ldns_rdf_deep_free(child);
			return AS_DNSSEC_INSECURE;
		case STEP_BOGUS:
			ldns_rdf_deep_free(child);
			return AS_DNSSEC_BOGUS;
		case STEP_FAILED:
			ldns_rdf_deep_free(child);
			return AS_DNSSEC_FAILED;
		}
	}
	ldns_rdf_deep_free(child);
	*zone = z->name;
	*keys = z->keys;
	return AS_DNSSEC_SECURE;
}

/*
 * The zone that must have signed data at `name`, found by walking from the anchor (never from
 * the signer name an answer claims, which an attacker chooses). Unsigned data, or no data at
 * all, is acceptable only where this is INSECURE.
 */
static enum as_dnssec_state
zone_of(struct as_dnssec *v, const ldns_rdf *name, const ldns_rdf **zone,
    const ldns_rr_list **keys, struct as_dnssec_answer *a)
{
	return walk(v, name, zone, keys, a);
}

static void
why_zone(struct as_dnssec_answer *a, const char *what, const ldns_rdf *zone)
{
	char n[300];

	name_str(zone, n, sizeof(n));
	why(a, "%s (zone %s)", what, n);
}

/*
 * The state of a positive answer at `name`: signed by `zone`, and when synthesised from a
 * wildcard (RRSIG labels fewer than name's) also the signed proof that name itself does not
 * exist (RFC 4035 5.3.4, RFC 5155 8.8); without it a wildcard's records could be replayed for a
 * name that has records of its own.
 */
static enum as_dnssec_state
signed_answer(struct as_dnssec *v, const ldns_pkt *pkt, const ldns_rdf *name,
    const ldns_rr_list *set, const ldns_rr_list *sigs, const ldns_rr_list *keys,
    const ldns_rdf *zone, struct as_dnssec_answer *a)
{
	int own = ldns_dname_label_count(name) - (ldns_dname_is_wildcard(name) ? 1 : 0);
	int lab = best_labels(v, name, set, sigs, keys, zone);
	ldns_rr_list *nsecs = NULL, *nsigs = NULL;
	enum as_dnssec_state st = AS_DNSSEC_BOGUS;
	struct as_denial_set ds;
	ldns_rdf *ce = NULL;
	enum as_denial d;
	char w[160];
	bool nsec3;

	if (lab < 0) {
		why_zone(a, ldns_rr_list_rr_count(sigs) == 0 ? "unsigned answer from a signed zone" :
		    "answer signature does not verify (expired or wrong)", zone);
		return AS_DNSSEC_BOGUS;
	}
	if (lab == own)
		return AS_DNSSEC_SECURE;
	if ((ce = ldns_dname_clone_from(name, (uint16_t)(ldns_dname_label_count(name) - lab))) ==
	    NULL)
		return AS_DNSSEC_FAILED;
	if (!verified_denials(v, pkt, keys, zone, &nsecs, &nsigs, &nsec3)) {
		why_zone(a, "wildcard answer without a signed proof that the name does not exist",
		    zone);
		goto out;
	}
	ds.recs = nsecs;
	ds.nsec3 = nsec3;
	ds.zone = zone;
	d = as_denial_wildcard(&ds, name, ce, w, sizeof(w));
	if (d != AS_DENIAL_PROVEN)
		why(a, "wildcard answer: %s", w);
	st = d == AS_DENIAL_PROVEN ? AS_DNSSEC_SECURE : d == AS_DENIAL_INSECURE ?
	    AS_DNSSEC_INSECURE : AS_DNSSEC_BOGUS;
out:
	ldns_rdf_deep_free(ce);
	free_list(nsecs);
	free_list(nsigs);
	return st;
}

int
as_dnssec_lookup(struct as_dnssec *v, const ldns_rdf *name, ldns_rr_type type,
    struct as_dnssec_answer *out)
{
	ldns_pkt *pkt = NULL;
	ldns_rr_list *set = NULL, *sigs = NULL, *nsecs = NULL, *nsigs = NULL;
	const ldns_rr_list *keys = NULL;
	const ldns_rdf *zone = NULL;
	struct as_denial_set ds;
	ldns_rr_type t = type;
	enum as_denial d;
	char w[160];
	bool nsec3;
	int r = -1;

	if (v == NULL || name == NULL || out == NULL || type == LDNS_RR_TYPE_CNAME)
		return -1;
	memset(out, 0, sizeof(*out));
	out->state = AS_DNSSEC_FAILED;
	if ((pkt = query(v, name, type, out)) == NULL) {
		struct as_dnssec_answer tmp = { .state = AS_DNSSEC_FAILED };

		/* A failure may still be tolerable (BR 4.2.2.1): is the name provably insecure? */
		out->insecure_proven = zone_of(v, name, &zone, &keys, &tmp) == AS_DNSSEC_INSECURE;
		return 0;
	}
	out->nxdomain = ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NXDOMAIN;
	if ((set = pick(pkt, LDNS_SECTION_ANSWER, name, type, false)) == NULL)
		goto out;
	if (ldns_rr_list_rr_count(set) == 0) {
		/* An alias (its target may not exist: NXDOMAIN then concerns the target). */
		free_list(set);
		if ((set = pick(pkt, LDNS_SECTION_ANSWER, name, LDNS_RR_TYPE_CNAME, false)) == NULL)
			goto out;
		if (ldns_rr_list_rr_count(set) > 0) {
			t = LDNS_RR_TYPE_CNAME;
			out->nxdomain = false;
		}
	}
	if (ldns_rr_list_rr_count(set) > 0) {
		if ((sigs = pick(pkt, LDNS_SECTION_ANSWER, name, t, true)) == NULL)
			goto out;
		out->state = zone_of(v, name, &zone, &keys, out);
		if (out->state == AS_DNSSEC_SECURE)
			out->state = signed_answer(v, pkt, name, set, sigs, keys, zone, out);
		if (t == LDNS_RR_TYPE_CNAME) {
			if (ldns_rr_list_rr_count(set) != 1 ||
			    (out->alias = ldns_rdf_clone(ldns_rr_rdf(ldns_rr_list_rr(set, 0), 0))) == NULL)
				goto out;
		} else {
			out->rrset = set; /* transferred */
			set = NULL;
		}
		r = 0;
		goto out;
	}
	/* Empty answer: NODATA or NXDOMAIN, to be proven by NSEC/NSEC3 signed by the zone. */
	out->state = zone_of(v, name, &zone, &keys, out);
	if (out->state != AS_DNSSEC_SECURE) {
		r = 0;
		goto out;
	}
	out->state = AS_DNSSEC_BOGUS;
	if (!verified_denials(v, pkt, keys, zone, &nsecs, &nsigs, &nsec3)) {
		why_zone(out, "empty answer without a valid signed denial", zone);
		r = 0;
		goto out;
	}
	ds.recs = nsecs;
	ds.nsec3 = nsec3;
	ds.zone = zone;
	d = out->nxdomain ? as_denial_nxdomain(&ds, name, w, sizeof(w)) :
	    as_denial_nodata(&ds, name, type, NULL, w, sizeof(w));
	if (d != AS_DENIAL_PROVEN)
		why(out, "%s: %s", out->nxdomain ? "NXDOMAIN" : "empty answer", w);
	out->state = d == AS_DENIAL_PROVEN ? AS_DNSSEC_SECURE : d == AS_DENIAL_INSECURE ?
	    AS_DNSSEC_INSECURE : AS_DNSSEC_BOGUS;
	r = 0;
out:
	free_list(set);
	free_list(sigs);
	free_list(nsecs);
	free_list(nsigs);
	if (pkt != NULL)
		ldns_pkt_free(pkt);
	return r;
}
