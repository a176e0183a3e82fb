/*
 * fuzz_dns: the DNSSEC validator (policy/dnssec.c) and through it the CAA, SMIMEA and TXT
 * answer handling, fed recorded answer sequences through its real resolver: the first byte
 * picks a lookup (fuzz_dns_lookups.h), the rest is the sequence of answers the in-process
 * server (fuzz_dns_wire.c) gives, mutated. Invariant: an answer is reported secure only when
 * it is exactly the genuine answer recorded from the signed test zones (dns/expect/N.txt):
 * no forged, replayed, truncated or stripped answer may come out secure.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_dns_lookups.h"
#include "tests/fuzz/fuzz_dns_wire.h"

#ifndef FUZZ_DNSDIR
#error "FUZZ_DNSDIR must name tests/fuzz/dns"
#endif

#define die(what) fuzz_fail("fuzz_dns", (what))

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	size_t n;

	if (fp == NULL)
		return NULL;
	if ((buf = calloc(1, 1 << 16)) == NULL)
		abort();
	n = fread(buf, 1, (1 << 16) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int port;
	static time_t now;
	static char *expect[FUZZ_DNS_LOOKUPS];
	char resolver[32], err[256], path[4096], *got;
	const struct fuzz_dns_lookup *l;
	struct as_dnssec_answer a;
	struct as_dnssec *v = NULL;
	ldns_rdf *name;

	if (port == 0) {
		char *t;

		port = fuzz_dns_wire_start(NULL);
		if ((t = slurp(FUZZ_DNSDIR "/now")) == NULL)
			die("no " FUZZ_DNSDIR "/now");
		now = (time_t)strtoll(t, NULL, 10);
		free(t);
		for (size_t i = 0; i < FUZZ_DNS_LOOKUPS; i++) {
			snprintf(path, sizeof(path), "%s/expect/%zu.txt", FUZZ_DNSDIR, i);
			expect[i] = slurp(path);   /* NULL: the genuine answer was not secure */
		}
	}
	if (size < 1)
		return 0;
	l = &fuzz_dns_lookups[data[0] % FUZZ_DNS_LOOKUPS];
	fuzz_dns_wire_replay(data + 1, size - 1);
	snprintf(resolver, sizeof(resolver), "127.0.0.1@%d", port);
	if (as_dnssec_new(resolver, FUZZ_DNSDIR "/anchor.ds", now, &v, err, sizeof(err)) != 0)
		die(err);
	memset(&a, 0, sizeof(a));
	if ((name = ldns_dname_new_frm_str(l->name)) == NULL)
		abort();
	if (as_dnssec_lookup(v, name, l->type, &a) == 0 && a.state == AS_DNSSEC_SECURE) {
		const char *want = expect[data[0] % FUZZ_DNS_LOOKUPS];

		if ((got = fuzz_dns_answer_text(&a)) == NULL)
			abort();
		if (want == NULL || strcmp(got, want) != 0) {
			fprintf(stderr, "fuzz_dns: %s type %d came out secure as:\n%sgenuine:\n%s",
			    l->name, (int)l->type, got, want != NULL ? want : "(not secure)\n");
			die("an answer other than the genuine one was reported secure");
		}
		free(got);
	}
	as_dnssec_answer_clear(&a);
	ldns_rdf_deep_free(name);
	as_dnssec_free(v);
	return 0;
}
