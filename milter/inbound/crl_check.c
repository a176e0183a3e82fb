/*
 * crl_check: CRL checks with a remembered signature outcome (see crl_check.h). Owns the
 * pointer to OpenSSL's own check_crl, which it takes from a store context once.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "milter/inbound/crl_check.h"

static X509_STORE_CTX_check_crl_fn openssl_check;
static pthread_once_t openssl_once = PTHREAD_ONCE_INIT;

/* OpenSSL does not export check_crl; a context of a store that sets none starts with it. */
static void
openssl_init(void)
{
	X509_STORE *s = X509_STORE_new();
	X509_STORE_CTX *x = X509_STORE_CTX_new();

	if (s != NULL && x != NULL && X509_STORE_CTX_init(x, s, NULL, NULL) == 1)
		openssl_check = X509_STORE_CTX_get_check_crl(x);
	X509_STORE_CTX_free(x);
	X509_STORE_free(s);
}

/* OpenSSL's verify_cb_crl: the callback decides whether verification goes on. */
static int
notify(X509_STORE_CTX *ctx, int err)
{
	X509_STORE_CTX_set_error(ctx, err);
	return X509_STORE_CTX_get_verify_cb(ctx)(0, ctx);
}

/* OpenSSL's check_crl_time with notify: lastUpdate, then nextUpdate (no delta CRLs). */
static int
times_ok(X509_STORE_CTX *ctx, X509_CRL *crl)
{
	X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
	unsigned long fl = X509_VERIFY_PARAM_get_flags(vp);
	time_t t, *pt = NULL;
	int i;

	if (fl & X509_V_FLAG_USE_CHECK_TIME) {
		t = X509_VERIFY_PARAM_get_time(vp);
		pt = &t;
	} else if (fl & X509_V_FLAG_NO_CHECK_TIME) {
		return 1;
	}
	i = X509_cmp_time(X509_CRL_get0_lastUpdate(crl), pt);
	if (i == 0 && !notify(ctx, X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD))
		return 0;
	if (i > 0 && !notify(ctx, X509_V_ERR_CRL_NOT_YET_VALID))
		return 0;
	if (X509_CRL_get0_nextUpdate(crl) != NULL) {
		i = X509_cmp_time(X509_CRL_get0_nextUpdate(crl), pt);
		if (i == 0 && !notify(ctx, X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD))
			return 0;
		if (i < 0 && !notify(ctx, X509_V_ERR_CRL_HAS_EXPIRED))
			return 0;
	}
	return 1;
}

struct idp_scope {
	bool only_user, only_ca, only_attr;
};

/*
 * The IDP of crl when its scope needs no more than OpenSSL's only* flags: absent, or without
 * a distribution point name, reasons or indirectCRL. false: leave it to OpenSSL.
 */
static bool
simple_idp(X509_CRL *crl, struct idp_scope *sc)
{
	int crit = 0;
	ISSUING_DIST_POINT *idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit,
	    NULL);
	bool simple;

	*sc = (struct idp_scope){ false, false, false };
	if (idp == NULL)
		return crit == -1;   /* absent; present but undecodable or repeated: OpenSSL */
	simple = idp->distpoint == NULL && idp->onlysomereasons == NULL && idp->indirectCRL <= 0;
	*sc = (struct idp_scope){ idp->onlyuser > 0, idp->onlyCA > 0, idp->onlyattr > 0 };
	ISSUING_DIST_POINT_free(idp);
	return simple;
}

/*
 * The CRL's issuer as OpenSSL chose it when it scored the CRL, or NULL when this check must be
 * OpenSSL's own. Without extended CRL support the issuer is always on the chain, so OpenSSL
 * has set CRL_SCORE_SAME_PATH and never validates a separate CRL path.
 */
static X509 *
fast_issuer(X509_STORE_CTX *ctx, X509_CRL *crl)
{
	unsigned long fl = X509_VERIFY_PARAM_get_flags(X509_STORE_CTX_get0_param(ctx));

	if (fl & (X509_V_FLAG_EXTENDED_CRL_SUPPORT | X509_V_FLAG_USE_DELTAS))
		return NULL;
	if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0)
		return NULL;
	return X509_STORE_CTX_get0_current_issuer(ctx);
}

int
crl_check_cached(X509_STORE_CTX *ctx, X509_CRL *crl, struct crl_cache *c)
{
	X509 *issuer, *x = X509_STORE_CTX_get_current_cert(ctx);
	struct idp_scope sc;
	EVP_PKEY *ikey;
	bool in_scope;
	int rv;

	pthread_once(&openssl_once, openssl_init);
	if (openssl_check == NULL)
		return 0;    /* cannot happen with OpenSSL 3; never verify without a CRL check */
	if (c == NULL || x == NULL || (issuer = fast_issuer(ctx, crl)) == NULL ||
	    !simple_idp(crl, &sc))
		return openssl_check(ctx, crl);
	/* OpenSSL's crl_crldp_check for such an IDP; the CRL's issuer name matches (not indirect) */
	if (X509_get_extension_flags(x) & EXFLAG_CA)
		in_scope = !sc.only_attr && !sc.only_user;
	else
		in_scope = !sc.only_attr && !sc.only_ca;

	if ((X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(issuer) & KU_CRL_SIGN) &&
	    !notify(ctx, X509_V_ERR_KEYUSAGE_NO_CRL_SIGN))
		return 0;
	if (!in_scope && !notify(ctx, X509_V_ERR_DIFFERENT_CRL_SCOPE))
		return 0;
	if ((int)sc.only_user + (int)sc.only_ca + (int)sc.only_attr > 1 &&
	    !notify(ctx, X509_V_ERR_INVALID_EXTENSION))
		return 0;
	if (!times_ok(ctx, crl))
		return 0;
	if ((ikey = X509_get0_pubkey(issuer)) == NULL)
		return notify(ctx, X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY) ? 1 : 0;
	rv = X509_CRL_check_suiteb(crl, ikey,
	    X509_VERIFY_PARAM_get_flags(X509_STORE_CTX_get0_param(ctx)));
	if (rv != X509_V_OK && !notify(ctx, rv))
		return 0;
	if (!crl_cache_signature_ok(c, crl, ikey) &&
	    !notify(ctx, X509_V_ERR_CRL_SIGNATURE_FAILURE))
		return 0;
	return 1;
}
