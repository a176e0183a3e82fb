/*
 * spf: runs libspf2 over an ldns-backed DNS layer. Owns, per check, one SPF server, its DNS
 * layer and resolver, and the request/response; all are freed before it returns, so checks
 * in different threads share nothing.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "common/util.h"
#include "policy/dns.h"
#include "policy/spf.h"

#define SPF_NAME_MAX 253

/* A dname rdata as text without the final dot, or NULL. The caller frees. */
static char *
dname_text(const ldns_rdf *rdf)
{
	char *s = rdf != NULL ? ldns_rdf2str(rdf) : NULL;
	size_t n;

	if (s != NULL && (n = strlen(s)) > 1 && s[n - 1] == '.')
		s[n - 1] = '\0';
	return s;
}

/* Fill record i of spfrr from one answer RR; false when it can't. */
static bool
fill_rr(SPF_dns_rr_t *spfrr, int i, const ldns_rr *rr, ns_type type)
{
	switch (type) {
	case ns_t_a:
	case ns_t_aaaa: {
		const ldns_rdf *rd = ldns_rr_rdf(rr, 0);
		size_t want = type == ns_t_a ? 4 : 16;

		if (rd == NULL || ldns_rdf_size(rd) != want ||
		    SPF_dns_rr_buf_realloc(spfrr, i, want) != SPF_E_SUCCESS)
			return false;
		memcpy(type == ns_t_a ? (void *)&spfrr->rr[i]->a : (void *)&spfrr->rr[i]->aaaa,
		    ldns_rdf_data(rd), want);
		return true;
	}
	case ns_t_txt:
	case ns_t_spf: {
		size_t total = 0, o = 0;

		/* The character-strings of one TXT record are concatenated (RFC 7208 3.3). */
		for (size_t k = 0; k < ldns_rr_rd_count(rr); k++)
			total += ldns_rdf_size(ldns_rr_rdf(rr, k));
		if (total > 65535 || SPF_dns_rr_buf_realloc(spfrr, i, total + 1) != SPF_E_SUCCESS)
			return false;
		for (size_t k = 0; k < ldns_rr_rd_count(rr); k++) {
			const ldns_rdf *rd = ldns_rr_rdf(rr, k);
			const uint8_t *d = ldns_rdf_data(rd);
			size_t sz = ldns_rdf_size(rd);

			if (sz == 0 || (size_t)d[0] + 1 > sz)
				return false;
			memcpy(spfrr->rr[i]->txt + o, d + 1, d[0]);
			o += d[0];
		}
		spfrr->rr[i]->txt[o] = '\0';
		return true;
	}
	case ns_t_mx:
	case ns_t_ptr: {
		char *s = dname_text(ldns_rr_rdf(rr, type == ns_t_mx ? 1 : 0));
		bool ok = false;

		if (s != NULL && strlen(s) <= SPF_NAME_MAX &&
		    SPF_dns_rr_buf_realloc(spfrr, i, strlen(s) + 1) == SPF_E_SUCCESS) {
			memcpy(type == ns_t_mx ? spfrr->rr[i]->mx : spfrr->rr[i]->ptr, s,
			    strlen(s) + 1);
			ok = true;
		}
		free(s);
		return ok;
	}
	default:
		return false;
	}
}

/* libspf2's lookup callback: one query through ldns, converted to an SPF_dns_rr_t. */
static SPF_dns_rr_t *
ldns_lookup(SPF_dns_server_t *srv, const char *domain, ns_type type, int should_cache)
{
	ldns_resolver *res = srv->hook;
	ldns_rdf *name = NULL;
	ldns_pkt *pkt = NULL;
	ldns_rr_list *answers = NULL;
	SPF_dns_rr_t *spfrr = NULL;
	int herrno = TRY_AGAIN;

	(void)should_cache;
	if (type != ns_t_a && type != ns_t_aaaa && type != ns_t_txt && type != ns_t_mx &&
	    type != ns_t_ptr) {
		herrno = NO_DATA;  /* type 99 (SPF) is obsolete: treat as absent */
		goto out;
	}
	if (domain == NULL || strlen(domain) > SPF_NAME_MAX ||
	    (name = ldns_dname_new_frm_str(domain)) == NULL) {
		herrno = HOST_NOT_FOUND;
		goto out;
	}
	if (ldns_resolver_query_status(&pkt, res, name, (ldns_rr_type)type, LDNS_RR_CLASS_IN,
	    LDNS_RD) != LDNS_STATUS_OK || pkt == NULL)
		goto out;
	if (ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NXDOMAIN) {
		herrno = HOST_NOT_FOUND;
		goto out;
	}
	if (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR)
		goto out;
	answers = ldns_pkt_rr_list_by_type(pkt, (ldns_rr_type)type, LDNS_SECTION_ANSWER);
	if (answers == NULL || ldns_rr_list_rr_count(answers) == 0) {
		herrno = NO_DATA;
		goto out;
	}
	spfrr = SPF_dns_rr_new_init(srv, domain, type,
	    (int)ldns_rr_ttl(ldns_rr_list_rr(answers, 0)), NETDB_SUCCESS);
	if (spfrr == NULL)
		goto out;
	for (size_t i = 0; i < ldns_rr_list_rr_count(answers) && i < 1000; i++) {
		if (!fill_rr(spfrr, spfrr->num_rr, ldns_rr_list_rr(answers, i), type))
			continue;
		spfrr->num_rr++;
	}
	if (spfrr->num_rr == 0)
		spfrr->herrno = NO_DATA;
out:
	if (spfrr == NULL)
		spfrr = herrno == HOST_NOT_FOUND ? SPF_dns_rr_new_nxdomain(srv, domain) :
		    SPF_dns_rr_new_init(srv, domain, type, 0, herrno);
	ldns_rr_list_deep_free(answers);
	ldns_pkt_free(pkt);
	ldns_rdf_deep_free(name);
	return spfrr;
}

static void
ldns_layer_destroy(SPF_dns_server_t *srv)
{
	if (srv == NULL)
		return;
	if (srv->hook != NULL)
		ldns_resolver_deep_free(srv->hook);
	free(srv);
}

static enum as_spf_result
map_result(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS:
		return AS_SPF_PASS;
	case SPF_RESULT_FAIL:
		return AS_SPF_FAIL;
	case SPF_RESULT_SOFTFAIL:
		return AS_SPF_SOFTFAIL;
	case SPF_RESULT_NEUTRAL:
		return AS_SPF_NEUTRAL;
	case SPF_RESULT_NONE:
		return AS_SPF_NONE;
	case SPF_RESULT_PERMERROR:
		return AS_SPF_PERMERROR;
	default:
		return AS_SPF_TEMPERROR;
	}
}

int
as_spf_check(const char *resolver, const char *client_ip, const char *helo,
    const char *mail_from, enum as_spf_result *result, char *err, size_t errcap)
{
	SPF_dns_server_t *dns = NULL;
	SPF_server_t *spf = NULL;
	SPF_request_t *req = NULL;
	SPF_response_t *resp = NULL;
	ldns_resolver *res = NULL;
	struct in_addr a4;
	struct in6_addr a6;
	char from[SPF_NAME_MAX + 80];
	bool v6;
	SPF_errcode_t ec;
	int r = -1;

	*result = AS_SPF_PERMERROR;
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (client_ip == NULL || helo == NULL || *helo == '\0' || strlen(helo) > SPF_NAME_MAX ||
	    (mail_from != NULL && strlen(mail_from) > SPF_NAME_MAX + 64)) {
		as_errf(err, errcap, "missing or oversized client IP, HELO or sender");
		goto out;
	}
	if (inet_pton(AF_INET, client_ip, &a4) == 1)
		v6 = false;
	else if (inet_pton(AF_INET6, client_ip, &a6) == 1)
		v6 = true;
	else {
		as_errf(err, errcap, "client IP is not an address");
		goto out;
	}
	/* libspf2 answers "pass" for any loopback client; for us a local process proves nothing. */
	if ((!v6 && (ntohl(a4.s_addr) >> 24) == 127) || (v6 && IN6_IS_ADDR_LOOPBACK(&a6))) {
		*result = AS_SPF_NONE;
		as_errf(err, errcap, "loopback client: SPF not evaluated");
		r = 0;
		goto out;
	}
	if (mail_from == NULL || *mail_from == '\0')
		snprintf(from, sizeof(from), "postmaster@%s", helo);
	else
		snprintf(from, sizeof(from), "%s", mail_from);
	r = 0;
	*result = AS_SPF_TEMPERROR;
	if (as_dns_resolver_new(resolver, false, &res, err, errcap) != 0)
		goto out;
	dns = calloc(1, sizeof(*dns));
	if (dns == NULL)
		goto out;
	/* destroy stays NULL: libspf2 then leaves the layer to us (freed at out:). */
	dns->lookup = ldns_lookup;
	dns->name = "autosmime-ldns";
	dns->hook = res;   /* transferred */
	res = NULL;
	spf = SPF_server_new_dns(dns, 0);
	if (spf == NULL) {
		as_errf(err, errcap, "libspf2: cannot create a server");
		goto out;
	}
	req = SPF_request_new(spf);
	if (req == NULL ||
	    (v6 ? SPF_request_set_ipv6(req, a6) : SPF_request_set_ipv4(req, a4)) != SPF_E_SUCCESS ||
	    SPF_request_set_helo_dom(req, helo) != SPF_E_SUCCESS ||
	    SPF_request_set_env_from(req, from) != 0) {
		*result = AS_SPF_PERMERROR;
		as_errf(err, errcap, "libspf2 refused the request (malformed sender or HELO)");
		goto out;
	}
	ec = SPF_request_query_mailfrom(req, &resp);
	if (resp == NULL) {
		as_errf(err, errcap, "libspf2 gave no response");
		goto out;
	}
	*result = map_result(SPF_response_result(resp));
	/* libspf2 reports a record it cannot compile as "invalid" with the error code. */
	if (SPF_response_result(resp) == SPF_RESULT_INVALID && ec != SPF_E_NO_MEMORY &&
	    ec != SPF_E_DNS_ERROR && ec != SPF_E_SUCCESS)
		*result = AS_SPF_PERMERROR;
	if (SPF_response_get_smtp_comment(resp) != NULL)
		as_errf(err, errcap, "%s", SPF_response_get_smtp_comment(resp));
out:
	if (resp != NULL)
		SPF_response_free(resp);
	if (req != NULL)
		SPF_request_free(req);
	if (spf != NULL)
		SPF_server_free(spf);
	ldns_layer_destroy(dns);
	if (res != NULL)
		ldns_resolver_deep_free(res);
	return r;
}

const char *
as_spf_result_name(enum as_spf_result r)
{
	static const char *const names[] = { "none", "neutral", "pass", "fail", "softfail",
		"temperror", "permerror" };

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "temperror";
}
