/*
 * dns: parses the dns_resolver option and builds an ldns resolver from it. Owns nothing after
 * it returns; the resolver belongs to the caller.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/dns.h"

int
as_dns_resolver_new(const char *spec, bool dnssec_cd, ldns_resolver **out, char *err,
    size_t errcap)
{
	ldns_resolver *res = NULL;
	ldns_rdf *addr = NULL;
	char host[64];
	unsigned long port = 53;
	int r = -1;

	*out = NULL;
	if (spec == NULL || *spec == '\0') {
		if (ldns_resolver_new_frm_file(&res, NULL) != LDNS_STATUS_OK) {
			as_errf(err, errcap, "cannot read the system resolver configuration");
			goto out;
		}
	} else {
		const char *at = strchr(spec, '@');
		size_t hl = at != NULL ? (size_t)(at - spec) : strlen(spec);
		unsigned char bin[16];

		if (hl == 0 || hl >= sizeof(host)) {
			as_errf(err, errcap, "dns_resolver: bad address");
			goto out;
		}
		memcpy(host, spec, hl);
		host[hl] = '\0';
		if (at != NULL) {
			char *end;

			port = strtoul(at + 1, &end, 10);
			if (at[1] == '\0' || *end != '\0' || port == 0 || port > 65535) {
				as_errf(err, errcap, "dns_resolver: bad port (use ADDR@PORT)");
				goto out;
			}
		}
		if (inet_pton(AF_INET, host, bin) == 1)
			addr = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, bin);
		else if (inet_pton(AF_INET6, host, bin) == 1)
			addr = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, bin);
		else {
			as_errf(err, errcap, "dns_resolver: not an IP address (use ADDR@PORT)");
			goto out;
		}
		res = ldns_resolver_new();
		if (addr == NULL || res == NULL ||
		    ldns_resolver_push_nameserver(res, addr) != LDNS_STATUS_OK) {
			as_errf(err, errcap, "out of memory");
			goto out;
		}
		ldns_resolver_set_port(res, (uint16_t)port);
	}
	ldns_resolver_set_dnssec(res, true);
	ldns_resolver_set_dnssec_cd(res, dnssec_cd);
	ldns_resolver_set_edns_udp_size(res, 4096);
	ldns_resolver_set_timeout(res, (struct timeval){ .tv_sec = AS_DNS_TIMEOUT_S });
	ldns_resolver_set_retry(res, AS_DNS_RETRIES);
	ldns_resolver_set_recursive(res, true);
	ldns_resolver_set_fallback(res, true);
	ldns_resolver_set_random(res, false);
	*out = res;   /* transferred */
	res = NULL;
	r = 0;
out:
	ldns_rdf_deep_free(addr);
	if (res != NULL)
		ldns_resolver_deep_free(res);
	return r;
}
