/*
 * dns-record: records the DNS fuzz target's seeds. Runs every lookup of fuzz_dns_lookups.h
 * through the validator against a real resolver (tests/harness/dns.sh's unbound), with the
 * in-process server of fuzz_dns_wire.c forwarding and recording each answer, and writes
 *   CORPUS/N-NAME.seq   the lookup's index byte and its answer sequence (a seed),
 *   DNSDIR/expect/N.txt the validated answer, when it was secure,
 *   DNSDIR/now          the time the signatures were checked at.
 *   usage: dns-record RESOLVER(ADDR@PORT) ANCHOR_DS_FILE CORPUS_DIR DNSDIR
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/fuzz/fuzz_dns_lookups.h"
#include "tests/fuzz/fuzz_dns_wire.h"

static void
write_file(const char *path, const void *a, size_t alen, const void *b, size_t blen)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fwrite(a, 1, alen, fp) != alen || (blen > 0 && fwrite(b, 1, blen, fp) != blen) ||
	    fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	char resolver[32], err[256], path[4096], stamp[32];
	time_t now = time(NULL);
	int port;

	if (argc != 5) {
		fprintf(stderr, "usage: dns-record RESOLVER ANCHOR CORPUS_DIR DNSDIR\n");
		return 2;
	}
	port = fuzz_dns_wire_start(argv[1]);
	snprintf(resolver, sizeof(resolver), "127.0.0.1@%d", port);
	for (size_t i = 0; i < FUZZ_DNS_LOOKUPS; i++) {
		struct as_dnssec *v;
		struct as_dnssec_answer a;
		ldns_rdf *name = ldns_dname_new_frm_str(fuzz_dns_lookups[i].name);
		unsigned char index = (unsigned char)i;
		uint8_t *seq;
		size_t len;
		char *text;

		if (name == NULL || as_dnssec_new(resolver, argv[2], now, &v, err, sizeof(err)) != 0) {
			fprintf(stderr, "dns-record: %s\n", err);
			return 1;
		}
		memset(&a, 0, sizeof(a));
		if (as_dnssec_lookup(v, name, fuzz_dns_lookups[i].type, &a) != 0) {
			fprintf(stderr, "dns-record: lookup %zu failed\n", i);
			return 1;
		}
		seq = fuzz_dns_wire_take(&len);
		snprintf(path, sizeof(path), "%s/%zu-%.40s%d.seq", argv[3], i, fuzz_dns_lookups[i].name,
		    (int)fuzz_dns_lookups[i].type);
		write_file(path, &index, 1, seq, len);
		snprintf(path, sizeof(path), "%s/expect/%zu.txt", argv[4], i);
		if (a.state == AS_DNSSEC_SECURE) {
			if ((text = fuzz_dns_answer_text(&a)) == NULL)
				return 1;
			write_file(path, text, strlen(text), NULL, 0);
			free(text);
		} else {
			remove(path);
		}
		printf("%zu %s type %d: %s (%zu bytes of answers)\n", i, fuzz_dns_lookups[i].name,
		    (int)fuzz_dns_lookups[i].type, as_dnssec_state_name(a.state), len);
		free(seq);
		as_dnssec_answer_clear(&a);
		ldns_rdf_deep_free(name);
		as_dnssec_free(v);
	}
	snprintf(stamp, sizeof(stamp), "%lld\n", (long long)now);
	snprintf(path, sizeof(path), "%s/now", argv[4]);
	write_file(path, stamp, strlen(stamp), NULL, 0);
	return 0;
}
