/*
 * recipient_chain: the revocation check of a recipient certificate's chain from the CRL
 * cache, without waiting (see recipient_chain.h). Owns the store of one check.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "milter/inbound/chain_crl.h"
#include "milter/inbound/recipient_chain.h"

/* What one check saw; lifetime: one recipient_chain_check call. */
struct rstate {
	struct chain_crl cc;
	struct recipient_chain_result *out;
	bool revoked;
};

static void
subject_of(X509 *x, char *buf, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n = 0;

	if (b != NULL && X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
		n = BIO_read(b, buf, (int)cap - 1);
	buf[n > 0 ? n : 0] = '\0';
	BIO_free(b);
}

/* Every finding is noted and passed over: only a revocation on a trusted chain counts. */
static int
check_cb(int ok, X509_STORE_CTX *ctx)
{
	struct chain_crl *cc = chain_crl_of(ctx);
	struct rstate *s = cc != NULL ? cc->owner : NULL;
	int e = X509_STORE_CTX_get_error(ctx);

	if (s == NULL || (ok && !chain_crl_own_revoked(cc, ctx)))
		return 1;
	if (ok || e == X509_V_ERR_CERT_REVOKED) {
		if (!s->revoked && X509_STORE_CTX_get_current_cert(ctx) != NULL) {
			s->revoked = true;
			s->out->depth = X509_STORE_CTX_get_error_depth(ctx);
			subject_of(X509_STORE_CTX_get_current_cert(ctx), s->out->subject,
			    sizeof(s->out->subject));
		}
	} else if (chain_untrusted(e) || e == X509_V_ERR_CERT_SIGNATURE_FAILURE ||
	    e == X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY) {
		s->out->unchained = true;
	} else {
		(void)chain_crl_unknown(cc, e);
	}
	return 1;
}

enum recipient_chain_status
recipient_chain_check(X509 *cert, STACK_OF(X509) *anchors, STACK_OF(X509) *untrusted,
    struct crl_cache *crls, struct ca *ca, time_t (*now)(void),
    struct recipient_chain_result *out)
{
	struct rstate s = { .out = out };
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;

	memset(out, 0, sizeof(*out));
	if (crls == NULL || (store = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL)
		goto out;
	for (int i = 0; i < sk_X509_num(anchors); i++)
		if (X509_STORE_add_cert(store, sk_X509_value(anchors, i)) != 1)
			ERR_clear_error();
	/* never wait: encryption is decided from what the cache holds now */
	if (chain_crl_attach(store, &s.cc, crls, ca, false, &s) != 0)
		goto out;
	X509_STORE_set_verify_cb(store, check_cb);
	if (X509_STORE_CTX_init(ctx, store, cert, untrusted) != 1)
		goto out;
	if (now != NULL)
		X509_STORE_CTX_set_time(ctx, 0, now());
	(void)X509_verify_cert(ctx);
	out->unknown = s.cc.temp;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	if (s.revoked && !out->unchained)
		return RECIPIENT_CHAIN_REVOKED;
	out->depth = 0;
	out->subject[0] = '\0';
	return RECIPIENT_CHAIN_USABLE;
}
