/*
 * dnssec_denial: NSEC and NSEC3 proofs of non-existence (see dnssec_denial.h). Names are
 * compared in canonical DNS order; NSEC3 hashes as their base32hex owner labels, whose order is
 * the order of the hashes. Owns nothing beyond each call.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/dnssec_denial.h"

#define NSEC3_SHA1 1
#define NSEC3_SHA1_LEN 20
#define NSEC3_LABEL_LEN 32   /* base32hex of 20 octets */

static enum as_denial
fail(enum as_denial d, char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum as_denial
fail(enum as_denial d, char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && cap > 0) {
		va_start(ap, fmt);
		vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return d;
}

static bool
has(const ldns_rdf *bitmap, ldns_rr_type t)
{
	return bitmap != NULL && ldns_nsec_bitmap_covers_type(bitmap, t);
}

/* NS without SOA: the parent side of a zone cut. */
static bool
is_cut(const ldns_rdf *bitmap)
{
	return has(bitmap, LDNS_RR_TYPE_NS) && !has(bitmap, LDNS_RR_TYPE_SOA);
}

static bool
below(const ldns_rdf *name, const ldns_rdf *ancestor)
{
	return ldns_dname_is_subdomain(name, ancestor);
}

static bool
in_zone(const struct as_denial_set *s, const ldns_rdf *name)
{
	return ldns_dname_compare(name, s->zone) == 0 || below(name, s->zone);
}

/* The ancestor of `name` (or name itself) with `labels` labels; NULL when longer than name. */
static ldns_rdf *
suffix(const ldns_rdf *name, size_t labels)
{
	size_t n = ldns_dname_label_count(name);

	return labels > n ? NULL : ldns_dname_clone_from(name, (uint16_t)(n - labels));
}

/* How many rightmost labels the two names share. */
static size_t
common_labels(const ldns_rdf *a, const ldns_rdf *b)
{
	size_t k, best = 0, na = ldns_dname_label_count(a), nb = ldns_dname_label_count(b);

	for (k = 1; k <= na && k <= nb; k++) {
		ldns_rdf *x = suffix(a, k), *y = suffix(b, k);
		bool same = x != NULL && y != NULL && ldns_dname_compare(x, y) == 0;

		ldns_rdf_deep_free(x);
		ldns_rdf_deep_free(y);
		if (!same)
			break;
		best = k;
	}
	return best;
}

/* "*." + parent, or NULL. */
static ldns_rdf *
wildcard_at(const ldns_rdf *parent)
{
	ldns_rdf *w = ldns_dname_new_frm_str("*");

	if (w != NULL && ldns_dname_cat(w, parent) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(w);
		w = NULL;
	}
	return w;
}

static bool
too_many(const struct as_denial_set *s)
{
	return s->recs == NULL || ldns_rr_list_rr_count(s->recs) > AS_DENIAL_MAX_RECORDS;
}

/* ------------------------------------------------------------------ NSEC */

static const ldns_rdf *
nsec_next(const ldns_rr *rr)
{
	return ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC && ldns_rr_rd_count(rr) >= 1 ?
	    ldns_rr_rdf(rr, 0) : NULL;
}

/*
 * Does this NSEC prove that `name` does not exist: owner < name < next in canonical order, the
 * last NSEC of the zone wrapping round to the apex? An NSEC at a zone cut or a DNAME says
 * nothing about the names below its owner.
 */
static bool
nsec_covers(const struct as_denial_set *s, const ldns_rr *rr, const ldns_rdf *name)
{
	const ldns_rdf *owner = ldns_rr_owner(rr), *next = nsec_next(rr);
	const ldns_rdf *bm = ldns_nsec_get_bitmap(rr);

	if (next == NULL || !in_zone(s, owner) || !in_zone(s, next) || !in_zone(s, name))
		return false;
	if (below(name, owner) && (is_cut(bm) || has(bm, LDNS_RR_TYPE_DNAME)))
		return false;
	if (ldns_dname_compare(owner, name) >= 0)
		return false;
	if (ldns_dname_compare(owner, next) < 0)
		return ldns_dname_compare(name, next) < 0;
	return true;   /* the last NSEC: everything after its owner */
}

static const ldns_rr *
nsec_match(const struct as_denial_set *s, const ldns_rdf *name)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(s->recs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(s->recs, i);

		if (nsec_next(rr) != NULL && ldns_dname_compare(ldns_rr_owner(rr), name) == 0)
			return rr;
	}
	return NULL;
}

/*
 * An NSEC covering `name`, and the closest encloser it implies (the longer of the names name
 * shares with the NSEC's owner and next name); `want` > 0 asks for that encloser's label count.
 */
static const ldns_rr *
nsec_cover(const struct as_denial_set *s, const ldns_rdf *name, size_t want, size_t *ce_labels)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(s->recs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(s->recs, i);
		size_t a, b;

		if (!nsec_covers(s, rr, name))
			continue;
		a = common_labels(name, ldns_rr_owner(rr));
		b = common_labels(name, nsec_next(rr));
		if (want > 0 && (a > b ? a : b) != want)
			continue;
		if (ce_labels != NULL)
			*ce_labels = a > b ? a : b;
		return rr;
	}
	return NULL;
}

static enum as_denial
nsec_nxdomain(const struct as_denial_set *s, const ldns_rdf *name, char *why, size_t cap)
{
	ldns_rdf *ce = NULL, *wc = NULL;
	enum as_denial d = AS_DENIAL_FAILED;
	size_t ce_labels = 0;

	if (nsec_cover(s, name, 0, &ce_labels) == NULL)
		return fail(d, why, cap, "no NSEC covers the name");
	if ((ce = suffix(name, ce_labels)) == NULL || !in_zone(s, ce) ||
	    (wc = wildcard_at(ce)) == NULL)
		d = fail(d, why, cap, "NSEC closest encloser outside the zone");
	else if (nsec_match(s, wc) != NULL || nsec_cover(s, wc, 0, NULL) == NULL)
		d = fail(d, why, cap, "no NSEC denies the wildcard at the closest encloser");
	else
		d = AS_DENIAL_PROVEN;
	ldns_rdf_deep_free(ce);
	ldns_rdf_deep_free(wc);
	return d;
}

static enum as_denial
nsec_nodata(const struct as_denial_set *s, const ldns_rdf *name, ldns_rr_type type,
    bool *delegation, char *why, size_t cap)
{
	const ldns_rr *m = nsec_match(s, name), *c;
	ldns_rdf *ce = NULL, *wc = NULL;
	enum as_denial d = AS_DENIAL_FAILED;
	size_t i, ce_labels = 0;

	if (m != NULL) {
		const ldns_rdf *bm = ldns_nsec_get_bitmap(m);

		if (has(bm, type) || has(bm, LDNS_RR_TYPE_CNAME))
			return fail(d, why, cap, "the NSEC at the name lists the type");
		if (type != LDNS_RR_TYPE_DS && is_cut(bm))
			return fail(d, why, cap, "NSEC from the parent side of a zone cut");
		*delegation = is_cut(bm);
		return AS_DENIAL_PROVEN;
	}
	/* An empty non-terminal: an NSEC whose next name lies below it. */
	for (i = 0; i < ldns_rr_list_rr_count(s->recs); i++) {
		c = ldns_rr_list_rr(s->recs, i);
		if (nsec_covers(s, c, name) && below(nsec_next(c), name))
			return AS_DENIAL_PROVEN;
	}
	/* A wildcard that matches the name and lacks the type (RFC 4035 3.1.3.4). */
	if (nsec_cover(s, name, 0, &ce_labels) == NULL)
		return fail(d, why, cap, "no NSEC matches or covers the name");
	if ((ce = suffix(name, ce_labels)) != NULL && (wc = wildcard_at(ce)) != NULL &&
	    (m = nsec_match(s, wc)) != NULL && !has(ldns_nsec_get_bitmap(m), type) &&
	    !has(ldns_nsec_get_bitmap(m), LDNS_RR_TYPE_CNAME) && !is_cut(ldns_nsec_get_bitmap(m)))
		d = AS_DENIAL_PROVEN;
	else
		d = fail(d, why, cap, "the name does not exist and no wildcard NSEC denies the type");
	ldns_rdf_deep_free(ce);
	ldns_rdf_deep_free(wc);
	return d;
}

/* ------------------------------------------------------------------ NSEC3 */

/* An NSEC3 of this zone: its owner one base32hex hash label below the apex. */
static bool
n3_in_zone(const struct as_denial_set *s, const ldns_rr *rr)
{
	const ldns_rdf *owner = ldns_rr_owner(rr);
	ldns_rdf *parent;
	bool ok;

	if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC3 || ldns_rr_rd_count(rr) < 5 ||
	    ldns_rdf_size(owner) < 1 || ldns_rdf_data(owner)[0] != NSEC3_LABEL_LEN ||
	    (parent = ldns_dname_left_chop(owner)) == NULL)
		return false;
	ok = ldns_dname_compare(parent, s->zone) == 0;
	ldns_rdf_deep_free(parent);
	return ok;
}

/* SHA-1, flags 0 or 1, a next hash of SHA-1's length (RFC 5155 8.1-8.2). */
static bool
n3_known(const struct as_denial_set *s, const ldns_rr *rr)
{
	const ldns_rdf *next = ldns_nsec3_next_owner(rr);

	return n3_in_zone(s, rr) && ldns_nsec3_algorithm(rr) == NSEC3_SHA1 &&
	    ldns_nsec3_flags(rr) <= 1 && next != NULL && ldns_rdf_size(next) == 1 + NSEC3_SHA1_LEN;
}

static bool
n3_usable(const struct as_denial_set *s, const ldns_rr *rr)
{
	return n3_known(s, rr) && ldns_nsec3_iterations(rr) <= AS_DENIAL_NSEC3_MAX_ITERATIONS;
}

/* Can we work with this set at all? INSECURE for iterations above the bound or no NSEC3 of a
 * known algorithm (RFC 9276 3.2, RFC 5155 8.1); FAILED for no NSEC3 at all. */
static enum as_denial
n3_check_set(const struct as_denial_set *s, char *why, size_t cap)
{
	size_t i, usable = 0, unknown = 0;

	if (too_many(s))
		return fail(AS_DENIAL_FAILED, why, cap, "too many NSEC3 records");
	for (i = 0; i < ldns_rr_list_rr_count(s->recs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(s->recs, i);

		if (!n3_in_zone(s, rr))
			continue;   /* another zone's: proves nothing here */
		if (!n3_known(s, rr))
			unknown++;
		else if (!n3_usable(s, rr))
			return fail(AS_DENIAL_INSECURE, why, cap, "NSEC3 with %u iterations (more than %d)",
			    (unsigned)ldns_nsec3_iterations(rr), AS_DENIAL_NSEC3_MAX_ITERATIONS);
		else
			usable++;
	}
	if (usable > 0)
		return AS_DENIAL_PROVEN;
	if (unknown > 0)
		return fail(AS_DENIAL_INSECURE, why, cap, "NSEC3 of an unknown hash algorithm or flags");
	return fail(AS_DENIAL_FAILED, why, cap, "no NSEC3 record");
}

/* hash(name) with rr's parameters, as an owner name in the zone; NULL on failure. */
static ldns_rdf *
n3_hashed(const struct as_denial_set *s, const ldns_rr *rr, const ldns_rdf *name)
{
	ldns_rdf *h = ldns_nsec3_hash_name_frm_nsec3(rr, name);

	if (h != NULL && ldns_dname_cat(h, s->zone) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(h);
		h = NULL;
	}
	return h;
}

/* The next hashed owner as a name in the zone. */
static ldns_rdf *
n3_next(const struct as_denial_set *s, const ldns_rr *rr)
{
	char *t = ldns_rdf2str(ldns_nsec3_next_owner(rr));
	ldns_rdf *n = t != NULL ? ldns_dname_new_frm_str(t) : NULL;

	free(t);
	if (n != NULL && ldns_dname_cat(n, s->zone) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(n);
		n = NULL;
	}
	return n;
}

/* The usable NSEC3 whose owner is hash(name) (cover false) or whose span covers it (true). */
static const ldns_rr *
n3_find(const struct as_denial_set *s, const ldns_rdf *name, bool cover)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(s->recs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(s->recs, i);
		ldns_rdf *h, *next = NULL;
		bool hit = false;

		if (!n3_usable(s, rr) || (h = n3_hashed(s, rr, name)) == NULL)
			continue;
		if (!cover) {
			hit = ldns_dname_compare(h, ldns_rr_owner(rr)) == 0;
		} else if ((next = n3_next(s, rr)) != NULL) {
			int lo = ldns_dname_compare(ldns_rr_owner(rr), h), hi = ldns_dname_compare(h, next);

			if (ldns_dname_compare(ldns_rr_owner(rr), next) < 0)
				hit = lo < 0 && hi < 0;
			else   /* the last NSEC3 of the chain wraps round */
				hit = lo < 0 || hi < 0;
		}
		ldns_rdf_deep_free(h);
		ldns_rdf_deep_free(next);
		if (hit)
			return rr;
	}
	return NULL;
}

enum ce_result { CE_PROVEN, CE_EXISTS, CE_NONE };

/*
 * The closest encloser proof (RFC 5155 8.3): the longest ancestor of name with a matching
 * NSEC3 (not a cut nor a DNAME), and an NSEC3 covering the next closer name. On CE_PROVEN *ce
 * is that ancestor (owned) and *nc the NSEC3 covering the next closer name.
 */
static enum ce_result
n3_closest(const struct as_denial_set *s, const ldns_rdf *name, ldns_rdf **ce,
    const ldns_rr **nc)
{
	size_t k = ldns_dname_label_count(name) + 1, n = k - 1, z = ldns_dname_label_count(s->zone);

	*ce = NULL;
	*nc = NULL;
	if (!in_zone(s, name))
		return CE_NONE;
	while (k-- > z) {
		ldns_rdf *anc = suffix(name, k), *next;
		const ldns_rr *m = anc != NULL ? n3_find(s, anc, false) : NULL;

		if (m == NULL) {
			ldns_rdf_deep_free(anc);
			continue;
		}
		if (k == n) {
			ldns_rdf_deep_free(anc);
			return CE_EXISTS;
		}
		if (is_cut(ldns_nsec3_bitmap(m)) || has(ldns_nsec3_bitmap(m), LDNS_RR_TYPE_DNAME) ||
		    (next = suffix(name, k + 1)) == NULL) {
			ldns_rdf_deep_free(anc);
			return CE_NONE;
		}
		*nc = n3_find(s, next, true);
		ldns_rdf_deep_free(next);
		if (*nc == NULL) {
			ldns_rdf_deep_free(anc);
			return CE_NONE;
		}
		*ce = anc; /* transferred */
		return CE_PROVEN;
	}
	return CE_NONE;
}

static enum as_denial
n3_nxdomain(const struct as_denial_set *s, const ldns_rdf *name, char *why, size_t cap)
{
	ldns_rdf *ce = NULL, *wc = NULL;
	const ldns_rr *nc;
	enum as_denial d;

	if ((d = n3_check_set(s, why, cap)) != AS_DENIAL_PROVEN)
		return d;
	if (n3_closest(s, name, &ce, &nc) != CE_PROVEN)
		return fail(AS_DENIAL_FAILED, why, cap, "no NSEC3 closest encloser proof");
	if ((wc = wildcard_at(ce)) == NULL || n3_find(s, wc, false) != NULL ||
	    n3_find(s, wc, true) == NULL)
		d = fail(AS_DENIAL_FAILED, why, cap, "no NSEC3 denies the wildcard at the closest encloser");
	else if (ldns_nsec3_optout(nc))
		d = fail(AS_DENIAL_INSECURE, why, cap, "opt-out NSEC3 covers the next closer name");
	else
		d = AS_DENIAL_PROVEN;
	ldns_rdf_deep_free(ce);
	ldns_rdf_deep_free(wc);
	return d;
}

static enum as_denial
n3_nodata(const struct as_denial_set *s, const ldns_rdf *name, ldns_rr_type type,
    bool *delegation, char *why, size_t cap)
{
	ldns_rdf *ce = NULL, *wc = NULL;
	const ldns_rr *m, *nc;
	enum as_denial d;

	if ((d = n3_check_set(s, why, cap)) != AS_DENIAL_PROVEN)
		return d;
	if ((m = n3_find(s, name, false)) != NULL) {
		const ldns_rdf *bm = ldns_nsec3_bitmap(m);

		if (has(bm, type) || has(bm, LDNS_RR_TYPE_CNAME))
			return fail(AS_DENIAL_FAILED, why, cap, "the NSEC3 at the name lists the type");
		if (type != LDNS_RR_TYPE_DS && is_cut(bm))
			return fail(AS_DENIAL_FAILED, why, cap, "NSEC3 from the parent side of a zone cut");
		*delegation = is_cut(bm);
		return AS_DENIAL_PROVEN;
	}
	if (n3_closest(s, name, &ce, &nc) != CE_PROVEN)
		return fail(AS_DENIAL_FAILED, why, cap, "no NSEC3 matches the name, no closest encloser proof");
	d = fail(AS_DENIAL_FAILED, why, cap, "no NSEC3 denies the type at the name or its wildcard");
	if ((wc = wildcard_at(ce)) != NULL && (m = n3_find(s, wc, false)) != NULL) {
		/* RFC 5155 8.7: the wildcard that matches the name lacks the type */
		const ldns_rdf *bm = ldns_nsec3_bitmap(m);

		if (!has(bm, type) && !has(bm, LDNS_RR_TYPE_CNAME) && !is_cut(bm))
			d = ldns_nsec3_optout(nc) ? fail(AS_DENIAL_INSECURE, why, cap,
			    "opt-out NSEC3 covers the next closer name") : AS_DENIAL_PROVEN;
	} else if (type == LDNS_RR_TYPE_DS && ldns_nsec3_optout(nc)) {
		/* RFC 5155 8.6: maybe an unsigned delegation inside an opt-out span */
		*delegation = true;
		d = fail(AS_DENIAL_INSECURE, why, cap, "opt-out NSEC3 covers the next closer name");
	}
	ldns_rdf_deep_free(ce);
	ldns_rdf_deep_free(wc);
	return d;
}

static enum as_denial
n3_wildcard(const struct as_denial_set *s, const ldns_rdf *name, const ldns_rdf *encloser,
    char *why, size_t cap)
{
	ldns_rdf *next = suffix(name, (size_t)ldns_dname_label_count(encloser) + 1);
	const ldns_rr *nc;
	enum as_denial d;

	if ((d = n3_check_set(s, why, cap)) != AS_DENIAL_PROVEN)
		;
	else if (next == NULL || (nc = n3_find(s, next, true)) == NULL)
		d = fail(AS_DENIAL_FAILED, why, cap, "no NSEC3 covers the next closer name");
	else if (ldns_nsec3_optout(nc))
		d = fail(AS_DENIAL_INSECURE, why, cap, "opt-out NSEC3 covers the next closer name");
	ldns_rdf_deep_free(next);
	return d;
}

/* ------------------------------------------------------------------ entry points */

enum as_denial
as_denial_nxdomain(const struct as_denial_set *s, const ldns_rdf *name, char *why, size_t cap)
{
	if (s == NULL || name == NULL || too_many(s))
		return fail(AS_DENIAL_FAILED, why, cap, "no usable denial records");
	return s->nsec3 ? n3_nxdomain(s, name, why, cap) : nsec_nxdomain(s, name, why, cap);
}

enum as_denial
as_denial_nodata(const struct as_denial_set *s, const ldns_rdf *name, ldns_rr_type type,
    bool *delegation, char *why, size_t cap)
{
	bool dummy;

	if (delegation == NULL)
		delegation = &dummy;
	*delegation = false;
	if (s == NULL || name == NULL || too_many(s))
		return fail(AS_DENIAL_FAILED, why, cap, "no usable denial records");
	return s->nsec3 ? n3_nodata(s, name, type, delegation, why, cap) :
	    nsec_nodata(s, name, type, delegation, why, cap);
}

enum as_denial
as_denial_wildcard(const struct as_denial_set *s, const ldns_rdf *name,
    const ldns_rdf *encloser, char *why, size_t cap)
{
	if (s == NULL || name == NULL || encloser == NULL || too_many(s) || !in_zone(s, encloser) ||
	    !below(name, encloser))
		return fail(AS_DENIAL_FAILED, why, cap, "no usable denial records");
	if (s->nsec3)
		return n3_wildcard(s, name, encloser, why, cap);
	if (nsec_cover(s, name, ldns_dname_label_count(encloser), NULL) == NULL)
		return fail(AS_DENIAL_FAILED, why, cap, "no NSEC proves that the name does not exist");
	return AS_DENIAL_PROVEN;
}
