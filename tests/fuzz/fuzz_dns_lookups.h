/*
 * fuzz_dns_lookups: the lookups the DNS fuzz target makes and its seeds were recorded for,
 * in the zones of tests/harness/dns.sh, and the text form of a validated answer that the
 * target compares with the recorded genuine one. Shared by fuzz_dns.c and dns-record.c.
 */
#ifndef AUTOSMIME_FUZZ_DNS_LOOKUPS_H
#define AUTOSMIME_FUZZ_DNS_LOOKUPS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "policy/dnssec.h"

struct fuzz_dns_lookup {
	const char *name;
	ldns_rr_type type;
};

static const struct fuzz_dns_lookup fuzz_dns_lookups[] = {
	{ "caa-ours.autosmime.test.", LDNS_RR_TYPE_CAA },
	{ "caa-other.autosmime.test.", LDNS_RR_TYPE_CAA },
	{ "caa-deny.autosmime.test.", LDNS_RR_TYPE_CAA },
	{ "no-caa.autosmime.test.", LDNS_RR_TYPE_CAA },
	{ "nothing-here.caa-ours.autosmime.test.", LDNS_RR_TYPE_CAA },
	{ "caa-ours.autosmime.test.", LDNS_RR_TYPE_TXT },
	{ "bogus.autosmime.test.", LDNS_RR_TYPE_CAA },
	{ "insecure.autosmime.test.", LDNS_RR_TYPE_CAA },
	{ "autosmime.test.", LDNS_RR_TYPE_DNSKEY },
	/* Wildcard expansions with their proofs, and a name with its own records beside them. */
	{ "x.wild.caa-ours.autosmime.test.", LDNS_RR_TYPE_TXT },
	{ "exists.wild.caa-ours.autosmime.test.", LDNS_RR_TYPE_TXT },
	/* NSEC3 (RFC 5155): an answer, a name that does not exist, no data, a wildcard. */
	{ "nsec3.autosmime.test.", LDNS_RR_TYPE_CAA },
	{ "nothing-here.nsec3.autosmime.test.", LDNS_RR_TYPE_CAA },
	{ "nsec3.autosmime.test.", LDNS_RR_TYPE_AAAA },
	{ "x.wild.nsec3.autosmime.test.", LDNS_RR_TYPE_TXT },
	/* SMIMEA owner for local part "fuzzer", answered by the zone's *._smimecert.wild. */
	{ "425b824e2cf09c3870112ecea73fbb50f568d8f7d9ef8d45ef54caf6._smimecert.wild.nsec3.autosmime.test.",
	    LDNS_RR_TYPE_SMIMEA },
	/* Opt-out: NXDOMAIN and a wildcard inside an opt-out span are insecure, never secure. */
	{ "nothing-here.optout.autosmime.test.", LDNS_RR_TYPE_CAA },
	{ "x.wild.optout.autosmime.test.", LDNS_RR_TYPE_TXT },
};
#define FUZZ_DNS_LOOKUPS (sizeof(fuzz_dns_lookups) / sizeof(fuzz_dns_lookups[0]))

/* The answer as text: denial flags, alias, then each RR in canonical form (RFC 4034 6.2: names
 * in lower case, as signatures cover them) with its TTL set to 0 (a TTL is not covered by the
 * signature), sorted. Caller frees; NULL when out of memory. */
static inline char *
fuzz_dns_answer_text(const struct as_dnssec_answer *a)
{
	char *out = NULL, *alias = NULL;
	size_t len = 0;
	FILE *fp;

	if (a->alias != NULL) {
		ldns_rdf *lower = ldns_rdf_clone(a->alias);

		if (lower != NULL) {
			ldns_dname2canonical(lower);
			alias = ldns_rdf2str(lower);
			ldns_rdf_deep_free(lower);
		}
	}
	fp = open_memstream(&out, &len);
	if (fp == NULL) {
		free(alias);
		return NULL;
	}
	fprintf(fp, "nxdomain=%d alias=%s\n", a->nxdomain ? 1 : 0, alias != NULL ? alias : "-");
	if (a->rrset != NULL) {
		ldns_rr_list *copy = ldns_rr_list_clone(a->rrset);

		for (size_t i = 0; copy != NULL && i < ldns_rr_list_rr_count(copy); i++) {
			ldns_rr2canonical(ldns_rr_list_rr(copy, i));
			ldns_rr_set_ttl(ldns_rr_list_rr(copy, i), 0);
		}
		if (copy != NULL) {
			ldns_rr_list_sort(copy);
			for (size_t i = 0; i < ldns_rr_list_rr_count(copy); i++) {
				char *s = ldns_rr2str(ldns_rr_list_rr(copy, i));

				fputs(s != NULL ? s : "?\n", fp);
				free(s);
			}
			ldns_rr_list_deep_free(copy);
		}
	}
	fclose(fp);
	free(alias);
	return out;
}

#endif
