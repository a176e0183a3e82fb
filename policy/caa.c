/*
 * caa: the CAA issuemail check for a mailbox domain (see caa.h): tree climb, alias following,
 * record evaluation and the evidence text. DNSSEC validation is dnssec.c's; this file owns
 * only the per-check validator it creates.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/caa.h"
#include "policy/dnssec.h"

#define CAA_FLAG_CRITICAL 128

const char *
as_caa_outcome_name(enum as_caa_outcome o)
{
	switch (o) {
	case AS_CAA_ALLOWED: return "allowed";
	case AS_CAA_ALLOWED_INSECURE: return "allowed-insecure";
	case AS_CAA_FORBIDDEN: return "forbidden";
	case AS_CAA_BOGUS: return "bogus";
	case AS_CAA_LOOKUP_FAILED: return "lookup-failed";
	}
	return "?";
}

bool
as_caa_permits(enum as_caa_outcome o)
{
	return o == AS_CAA_ALLOWED || o == AS_CAA_ALLOWED_INSECURE;
}

/* Append to the evidence; silently truncated at the bound. */
static void
ev(struct as_caa_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
ev(struct as_caa_result *r, const char *fmt, ...)
{
	size_t len = strlen(r->evidence);
	va_list ap;

	if (len + 1 >= sizeof(r->evidence))
		return;
	va_start(ap, fmt);
	vsnprintf(r->evidence + len, sizeof(r->evidence) - len, fmt, ap);
	va_end(ap);
}

/* Copy `n` bytes of DNS data into a printable, quote-free text (hostile input). */
static void
printable(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 5 < cap; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, cap - o, "\\%03u", p[i]);
	}
	out[o] = '\0';
}

static bool
domain_ok(const char *d)
{
	size_t n = strlen(d), i, lab = 0;

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (lab == 0)
				return false;
			lab = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++lab > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/* The tag of a CAA record (ldns keeps a length octet in front of it). */
static void
caa_tag(const ldns_rdf *rdf, char *out, size_t cap)
{
	const uint8_t *p = ldns_rdf_data(rdf);
	size_t n = ldns_rdf_size(rdf);

	if (n > 0 && p[0] == n - 1) {
		p++;
		n--;
	}
	printable(p, n, out, cap);
}

/* The issuer-domain-name of an issuemail value: up to ';', white space trimmed. */
static void
caa_issuer(const ldns_rdf *rdf, char *out, size_t cap)
{
	const uint8_t *p = ldns_rdf_data(rdf);
	size_t n = ldns_rdf_size(rdf), s = 0, e;

	while (s < n && (p[s] == ' ' || p[s] == '\t'))
		s++;
	e = s;
	while (e < n && p[e] != ';')
		e++;
	while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t'))
		e--;
	printable(p + s, e - s, out, cap);
}

static bool
known_tag(const char *t)
{
	static const char *const tags[] = { "issue", "issuewild", "iodef", "issuemail",
		"issuevmc", "contactemail", "contactphone", NULL };
	size_t i;

	for (i = 0; tags[i] != NULL; i++)
		if (strcasecmp(t, tags[i]) == 0)
			return true;
	return false;
}

/* Decide on the relevant RRset and list it in the evidence. */
static enum as_caa_outcome
evaluate(const ldns_rr_list *set, const char *ca_domain, struct as_caa_result *res)
{
	size_t i, n_issuemail = 0;
	bool ours = false, critical_unknown = false;

	ev(res, " records=[");
	for (i = 0; i < ldns_rr_list_rr_count(set); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(set, i);
		char tag[64], issuer[300], val[300];
		int flags;

		if (ldns_rr_rd_count(rr) != 3)
			continue;
		flags = ldns_rdf2native_int8(ldns_rr_rdf(rr, 0));
		caa_tag(ldns_rr_rdf(rr, 1), tag, sizeof(tag));
		printable(ldns_rdf_data(ldns_rr_rdf(rr, 2)), ldns_rdf_size(ldns_rr_rdf(rr, 2)), val,
		    sizeof(val));
		if (i < AS_CAA_MAX_RECORDS)
			ev(res, "%s%d %s \"%s\"", i > 0 ? "; " : "", flags, tag, val);
		if (strcasecmp(tag, "issuemail") == 0) {
			n_issuemail++;
			caa_issuer(ldns_rr_rdf(rr, 2), issuer, sizeof(issuer));
			if (issuer[0] != '\0' && strcasecmp(issuer, ca_domain) == 0)
				ours = true;
		} else if ((flags & CAA_FLAG_CRITICAL) != 0 && !known_tag(tag)) {
			critical_unknown = true;
		}
	}
	ev(res, "]");
	if (critical_unknown) {
		ev(res, " critical unknown tag");
		return AS_CAA_FORBIDDEN;
	}
	if (n_issuemail == 0) {
		ev(res, " no issuemail");
		return AS_CAA_ALLOWED;
	}
	if (ours) {
		ev(res, " issuemail names %s", ca_domain);
		return AS_CAA_ALLOWED;
	}
	ev(res, " issuemail does not name %s", ca_domain);
	return AS_CAA_FORBIDDEN;
}

/*
 * The CAA RRset of one name, aliases followed. *state is the weakest DNSSEC state seen along
 * the alias chain. Returns 0 with a (possibly empty) *set, or 1 when the lookup failed / was
 * bogus (outcome set in res), or -1 on memory failure.
 */
static int
name_lookup(struct as_dnssec *v, const ldns_rdf *name, ldns_rr_list **set,
    enum as_dnssec_state *state, struct as_caa_result *res)
{
	ldns_rdf *cur = ldns_rdf_clone(name);
	struct as_dnssec_answer a;
	int hops, r = -1;
	char *s;

	*set = NULL;
	*state = AS_DNSSEC_SECURE;
	for (hops = 0; cur != NULL && hops <= AS_CAA_MAX_ALIASES; hops++) {
		if (as_dnssec_lookup(v, cur, LDNS_RR_TYPE_CAA, &a) < 0)
			break;
		s = ldns_rdf2str(cur);
		if (a.state == AS_DNSSEC_FAILED) {
			ev(res, "lookup of %s failed (%s)", s != NULL ? s : "?", a.why);
			if (a.insecure_proven) {
				ev(res, "; the zone is provably insecure");
				res->outcome = AS_CAA_ALLOWED_INSECURE;
			} else {
				res->outcome = AS_CAA_LOOKUP_FAILED;
			}
			r = 1;
		} else if (a.state == AS_DNSSEC_BOGUS) {
			ev(res, "dnssec=bogus at %s (%s)", s != NULL ? s : "?", a.why);
			res->outcome = AS_CAA_BOGUS;
			r = 1;
		} else {
			if (a.state == AS_DNSSEC_INSECURE)
				*state = AS_DNSSEC_INSECURE;
			if (a.alias != NULL) {
				char *t = ldns_rdf2str(a.alias);

				ev(res, "%s CNAME %s; ", s != NULL ? s : "?", t != NULL ? t : "?");
				free(t);
				ldns_rdf_deep_free(cur);
				cur = a.alias; /* transferred */
				a.alias = NULL;
				free(s);
				as_dnssec_answer_clear(&a);
				continue;
			}
			*set = a.rrset; /* transferred; NULL when empty */
			a.rrset = NULL;
			r = 0;
		}
		free(s);
		as_dnssec_answer_clear(&a);
		ldns_rdf_deep_free(cur);
		return r;
	}
	if (cur != NULL && hops > AS_CAA_MAX_ALIASES) {
		ev(res, "more than %d aliases (CNAME loop?)", AS_CAA_MAX_ALIASES);
		res->outcome = AS_CAA_LOOKUP_FAILED;
		r = 1;
	}
	ldns_rdf_deep_free(cur);
	return r;
}

int
as_caa_check(const struct as_caa_params *p, const char *domain, struct as_caa_result *out)
{
	struct as_dnssec *v = NULL;
	ldns_rdf *x = NULL, *parent;
	ldns_rr_list *set = NULL;
	enum as_dnssec_state st, worst = AS_DNSSEC_SECURE;
	char err[256];
	int r = -1, k;

	if (out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	out->outcome = AS_CAA_LOOKUP_FAILED;
	if (p == NULL || domain == NULL || !domain_ok(domain) || p->ca_domain == NULL ||
	    p->ca_domain[0] == '\0') {
		ev(out, "caa: bad domain or ca_domain not set");
		return -1;
	}
	if (as_dnssec_new(p->resolver, p->trust_anchor_file, p->now, &v, err, sizeof(err)) < 0) {
		ev(out, "caa: %s", err);
		return -1;
	}
	if ((x = ldns_dname_new_frm_str(domain)) == NULL) {
		ev(out, "caa: bad domain");
		goto out;
	}
	ev(out, "caa domain=%s: ", domain);
	while (ldns_dname_label_count(x) > 0) {
		k = name_lookup(v, x, &set, &st, out);
		if (k != 0) {
			r = k < 0 ? -1 : 0;
			goto out;
		}
		if (st == AS_DNSSEC_INSECURE)
			worst = st;
		{
			char *s = ldns_rdf2str(x);

			ev(out, "%s(%s) ", s != NULL ? s : "?", as_dnssec_state_name(st));
			free(s);
		}
		if (set != NULL && ldns_rr_list_rr_count(set) > 0) {
			char *s = ldns_rdf2str(x);

			ev(out, "relevant set at %s", s != NULL ? s : "?");
			free(s);
			out->outcome = evaluate(set, p->ca_domain, out);
			break;
		}
		if (set != NULL) {
			ldns_rr_list_deep_free(set);
			set = NULL;
		}
		if ((parent = ldns_dname_left_chop(x)) == NULL)
			goto out;
		ldns_rdf_deep_free(x);
		x = parent;
	}
	if (ldns_dname_label_count(x) == 0) {
		ev(out, "no CAA record up to the root");
		out->outcome = AS_CAA_ALLOWED;
	}
	ev(out, "; dnssec=%s", as_dnssec_state_name(worst));
	out->secure = worst == AS_DNSSEC_SECURE;
	r = 0;
out:
	if (set != NULL)
		ldns_rr_list_deep_free(set);
	ldns_rdf_deep_free(x);
	as_dnssec_free(v);
	return r;
}
