/*
 * domain_txt: asks every perspective for the challenge TXT record, validates each answer with
 * our own DNSSEC validator, and counts the perspectives that saw the pending value (see
 * domain_txt.h). Owns one validator per perspective for the length of a check.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/util.h"
#include "policy/dnssec.h"
#include "policy/domain_txt.h"

enum txt_status { TXT_MATCH, TXT_NO_MATCH, TXT_INSECURE, TXT_BOGUS, TXT_FAILED };

static const char *const status_words[] = { "match", "no-match", "insecure", "bogus",
	"failed" };

struct txt_one {
	enum txt_status status;
	unsigned records;
	char why[256];
};

struct txt_run {
	const struct as_domain_txt_params *p;
	const char *name;
	struct txt_one one[AS_PERSPECTIVES_MAX];
};

int
as_domain_txt_name(const char *domain, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s.%s.", AS_DOMAIN_TXT_LABEL, domain);

	return n < 0 || (size_t)n >= cap || n > 254 ? -1 : 0;
}

/* Does one TXT record carry the value? Its strings are joined (a long value may be split). */
static bool
txt_matches(const ldns_rr *rr, const unsigned char *expect)
{
	unsigned char buf[256 * 4], md[32];
	unsigned int mdlen = sizeof(md);
	size_t len = 0, s = 0, e, i;

	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		const uint8_t *d = ldns_rdf_data(f);
		size_t n = ldns_rdf_size(f);

		if (n == 0 || d[0] != n - 1 || len + n - 1 > sizeof(buf))
			return false;
		memcpy(buf + len, d + 1, n - 1);
		len += n - 1;
	}
	e = len;
	while (s < e && (buf[s] == ' ' || buf[s] == '\t'))
		s++;
	while (e > s && (buf[e - 1] == ' ' || buf[e - 1] == '\t'))
		e--;
	if (EVP_Digest(buf + s, e - s, md, &mdlen, EVP_sha256(), NULL) != 1)
		return false;
	return CRYPTO_memcmp(md, expect, sizeof(md)) == 0;
}

static void
one(size_t i, const char *addr, void *arg)
{
	struct txt_run *run = arg;
	struct txt_one *o = &run->one[i];
	struct as_dnssec *v = NULL;
	struct as_dnssec_answer a;
	ldns_rdf *cur = NULL;
	size_t k;
	int hops;

	o->status = TXT_FAILED;
	memset(&a, 0, sizeof(a));
	if (as_dnssec_new(addr, run->p->trust_anchor_file, run->p->now, &v, o->why,
	    sizeof(o->why)) < 0)
		return;
	cur = ldns_dname_new_frm_str(run->name);
	for (hops = 0; cur != NULL && hops <= AS_DOMAIN_TXT_MAX_ALIASES; hops++) {
		if (as_dnssec_lookup(v, cur, LDNS_RR_TYPE_TXT, &a) < 0) {
			snprintf(o->why, sizeof(o->why), "lookup could not start");
			break;
		}
		if (a.state == AS_DNSSEC_SECURE && a.alias != NULL) {
			ldns_rdf_deep_free(cur);
			cur = a.alias; /* transferred */
			a.alias = NULL;
			as_dnssec_answer_clear(&a);
			continue;
		}
		snprintf(o->why, sizeof(o->why), "%s", a.why);
		if (a.state == AS_DNSSEC_BOGUS)
			o->status = TXT_BOGUS;
		else if (a.state == AS_DNSSEC_INSECURE || (a.state == AS_DNSSEC_FAILED &&
		    a.insecure_proven))
			o->status = TXT_INSECURE;
		else if (a.state == AS_DNSSEC_FAILED)
			o->status = TXT_FAILED;
		else {
			o->status = TXT_NO_MATCH;
			for (k = 0; a.rrset != NULL && k < ldns_rr_list_rr_count(a.rrset) &&
			    k < AS_DOMAIN_TXT_MAX_RECORDS; k++) {
				o->records++;
				if (txt_matches(ldns_rr_list_rr(a.rrset, k), run->p->expect_sha256))
					o->status = TXT_MATCH;
			}
			if (a.nxdomain)
				snprintf(o->why, sizeof(o->why), "no such name");
		}
		break;
	}
	if (cur != NULL && hops > AS_DOMAIN_TXT_MAX_ALIASES)
		snprintf(o->why, sizeof(o->why), "more than %d aliases", AS_DOMAIN_TXT_MAX_ALIASES);
	as_dnssec_answer_clear(&a);
	ldns_rdf_deep_free(cur);
	as_dnssec_free(v);
}

/* Append to the evidence text; silently truncated at its bound. */
#define ev(r, ...) as_appendf((r)->evidence, sizeof((r)->evidence), __VA_ARGS__)

/* Printable, quote-free text of a why (it may carry names from answers). */
static void
clean(const char *in, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; in[i] != '\0' && o + 1 < cap; i++)
		out[o++] = (in[i] >= 0x20 && in[i] < 0x7f && in[i] != '"' && in[i] != ';') ? in[i] :
		    '_';
	out[o] = '\0';
}

int
as_domain_txt_check(const struct as_domain_txt_params *p, const char *domain,
    struct as_domain_txt_result *out)
{
	char name[300], w[256];
	struct txt_run *run;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (p == NULL || p->ps == NULL || p->ps->n == 0 || p->ps->n > AS_PERSPECTIVES_MAX ||
	    p->expect_sha256 == NULL || domain == NULL ||
	    as_domain_txt_name(domain, name, sizeof(name)) < 0) {
		snprintf(out->reason, sizeof(out->reason), "bad domain or no DNS perspective");
		return -1;
	}
	if ((run = calloc(1, sizeof(*run))) == NULL) {
		snprintf(out->reason, sizeof(out->reason), "out of memory");
		return -1;
	}
	run->p = p;
	run->name = name;
	as_perspectives_run(p->ps, one, run);
	ev(out, "method=dns-txt name=%s perspectives=%zu quorum=%u;", name, p->ps->n,
	    p->ps->quorum);
	for (i = 0; i < p->ps->n; i++) {
		const struct txt_one *o = &run->one[i];

		switch (o->status) {
		case TXT_MATCH: out->agreed++; out->secure++; break;
		case TXT_NO_MATCH: out->secure++; break;
		case TXT_INSECURE: out->insecure++; break;
		case TXT_BOGUS: out->bogus++; break;
		case TXT_FAILED: out->failed++; break;
		}
		clean(o->why, w, sizeof(w));
		ev(out, " p%zu=%s:%s:dnssec=%s:records=%u%s%s", i + 1, p->ps->addr[i],
		    status_words[o->status], o->status <= TXT_NO_MATCH ? "secure" :
		    o->status == TXT_INSECURE ? "insecure" : o->status == TXT_BOGUS ? "bogus" :
		    "failed", o->records, w[0] != '\0' ? ":" : "", w);
	}
	out->valid = out->agreed >= p->ps->quorum;
	if (out->valid)
		out->reason[0] = '\0';
	else if (out->bogus > 0 && out->agreed + out->bogus >= p->ps->quorum)
		snprintf(out->reason, sizeof(out->reason), "DNSSEC validation of %.200s failed (bogus) "
		    "at %u of %zu perspectives", name, out->bogus, p->ps->n);
	else if (out->insecure > 0 && out->agreed + out->insecure >= p->ps->quorum)
		snprintf(out->reason, sizeof(out->reason), "%.200s is not DNSSEC-signed (insecure) at %u "
		    "of %zu perspectives: a validation needs a secure answer", name, out->insecure,
		    p->ps->n);
	else if (out->agreed + out->failed >= p->ps->quorum && out->failed > 0)
		snprintf(out->reason, sizeof(out->reason), "only %u of %zu perspectives saw the value "
		    "(%u did not answer; quorum %u): try again later", out->agreed, p->ps->n,
		    out->failed, p->ps->quorum);
	else
		snprintf(out->reason, sizeof(out->reason), "the TXT record at %.200s does not carry the "
		    "pending value (%u of %zu perspectives saw it, quorum %u)", name, out->agreed,
		    p->ps->n, p->ps->quorum);
	free(run);
	return 0;
}
