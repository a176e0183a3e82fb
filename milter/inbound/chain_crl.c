/*
 * chain_crl: CRL lookups for every certificate of one chain (see chain_crl.h). Owns the
 * store ex_data index that links a store to its struct chain_crl.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>

#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "milter/inbound/chain_crl.h"
#include "milter/inbound/crl_check.h"

#define MAX_DP_URLS 4

static int ex_index = -1;
static pthread_once_t ex_once = PTHREAD_ONCE_INIT;

static void
ex_init(void)
{
	ex_index = X509_STORE_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

struct chain_crl *
chain_crl_of(const X509_STORE_CTX *ctx)
{
	if (ex_index < 0)
		return NULL;
	return X509_STORE_get_ex_data(X509_STORE_CTX_get0_store(ctx), ex_index);
}

/* The top of the built chain: the trust anchor, whose revocation is not ours to check. */
static bool
is_anchor(const X509_STORE_CTX *ctx, X509 *cur)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	int n = sk_X509_num(chain);

	return n > 1 && sk_X509_value(chain, n - 1) == cur;
}

static STACK_OF(X509_CRL) *
lookup_crls(const X509_STORE_CTX *ctx, const X509_NAME *nm)
{
	struct chain_crl *cc = chain_crl_of(ctx);
	X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
	STACK_OF(X509_CRL) *sk = sk_X509_CRL_new_null();
	char urls[MAX_DP_URLS][1024], why[160] = "";
	size_t n;
	bool got = false;

	(void)nm;
	if (sk == NULL || cc == NULL || cc->crls == NULL || cur == NULL || is_anchor(ctx, cur))
		return sk;
	n = crl_dp_urls(cur, urls, MAX_DP_URLS);
	for (size_t i = 0; i < n; i++) {
		X509_CRL *crl = NULL;

		if (crl_cache_get_until(cc->crls, urls[i], &cc->deadline, &crl, why,
		    sizeof(why)) == CRL_READY) {
			if (sk_X509_CRL_push(sk, crl))
				got = true;
			else
				X509_CRL_free(crl);
		}
	}
	if (n > 0 && !got && !cc->temp) {
		cc->temp = true;
		snprintf(cc->why, sizeof(cc->why), "%s%s", X509_STORE_CTX_get_error_depth(ctx) > 0 ?
		    "issuer CRL: " : "", why);
	}
	return sk;
}

/* OpenSSL's CRL check, without hashing each cached CRL again for every message. */
static int
check_crl(X509_STORE_CTX *ctx, X509_CRL *crl)
{
	struct chain_crl *cc = chain_crl_of(ctx);

	return crl_check_cached(ctx, crl, cc != NULL ? cc->crls : NULL);
}

int
chain_crl_attach(X509_STORE *store, struct chain_crl *cc, struct crl_cache *crls,
    struct ca *ca, bool wait, void *owner)
{
	/* crl_check off: no revocation at all, the store's included */
	*cc = (struct chain_crl){ crls, crls != NULL ? ca : NULL, { 0, 0 }, false, "", owner };
	pthread_once(&ex_once, ex_init);
	if (ex_index < 0 || !X509_STORE_set_ex_data(store, ex_index, cc))
		return -1;
	if (crls == NULL)
		return 0;
	crl_cache_deadline(crls, wait, &cc->deadline);
	X509_STORE_set_lookup_crls(store, lookup_crls);
	X509_STORE_set_check_crl(store, check_crl);
	return X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL) == 1 ?
	    0 : -1;
}

bool
chain_crl_own_revoked(const struct chain_crl *cc, X509_STORE_CTX *ctx)
{
	struct ca_error err = { "" };
	X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
	bool revoked = false;

	if (cc == NULL || cc->ca == NULL || cur == NULL || X509_STORE_CTX_get_error_depth(ctx) < 1)
		return false;
	/* a store failure leaves it to the CRLs, as for any other CA */
	return ca_issuer_revoked(cc->ca, cur, &revoked, &err) == CA_OK && revoked;
}

bool
chain_crl_unknown(struct chain_crl *cc, int e)
{
	switch (e) {
	case X509_V_ERR_UNABLE_TO_GET_CRL:
		return true;   /* no distribution point (unchecked) or lookup_crls noted why */
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
	case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
	case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
	case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
		if (cc != NULL && !cc->temp)
			snprintf(cc->why, sizeof(cc->why), "CRL unusable: %s",
			    X509_verify_cert_error_string(e));
		if (cc != NULL)
			cc->temp = true;
		return true;
	default:
		return false;
	}
}

bool
chain_untrusted(int e)
{
	switch (e) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
		return true;
	default:
		return false;
	}
}
