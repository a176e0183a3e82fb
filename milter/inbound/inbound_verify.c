/*
 * inbound_verify: trust anchors, per-message verification store with CRL revocation checks
 * of the whole chain (chain_crl.c), and the mapping of OpenSSL's findings to RFC 7281
 * results (see inbound_verify.h). Owns the per-message store and the verdict's
 * signer/content/chain until the caller takes them.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "milter/inbound/chain_crl.h"
#include "milter/inbound/inbound_verify.h"
#include "milter/engine/smime_inbound.h"
#include "milter/engine/spool.h"

#define MAX_ANCHOR_FILES 1000

/* ------------------------------------------------------------------ anchors */

static int
add_pem_file(const char *path, STACK_OF(X509) *sk)
{
	BIO *b = BIO_new_file(path, "r");
	X509 *x;
	int n = 0;

	if (b == NULL) {
		ERR_clear_error();
		return -1;
	}
	while (sk_X509_num(sk) < INBOUND_MAX_ANCHORS &&
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			break;
		}
		n++;
	}
	ERR_clear_error();
	BIO_free(b);
	return n;
}

static int
add_authority(const struct ca_authority *a, void *arg)
{
	STACK_OF(X509) *sk = arg;
	X509 *certs[2] = { a->root, a->cert };

	for (int i = 0; i < 2; i++)
		if (certs[i] != NULL && sk_X509_num(sk) < INBOUND_MAX_ANCHORS &&
		    X509_up_ref(certs[i]) && !sk_X509_push(sk, certs[i]))
			X509_free(certs[i]);
	return 0;
}

static bool
anchor_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] != '.' && len > 4 && (strcmp(n + len - 4, ".pem") == 0 ||
	    strcmp(n + len - 4, ".crt") == 0);
}

int
inbound_anchors_load(const char *file, const char *dir, struct ca *ca, STACK_OF(X509) **out,
    char *why, size_t whycap)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	struct ca_error cerr = { "" };
	int r = -1;

	*out = NULL;
	if (sk == NULL) {
		snprintf(why, whycap, "out of memory");
		goto out;
	}
	if (file != NULL && file[0] != '\0')
		(void)add_pem_file(file, sk);  /* a host without a CA bundle still has our CA */
	if (dir != NULL && dir[0] != '\0') {
		DIR *d = opendir(dir);
		struct dirent *de;
		int files = 0;

		while (d != NULL && (de = readdir(d)) != NULL && files < MAX_ANCHOR_FILES) {
			char path[4096];

			if (!anchor_name(de->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (add_pem_file(path, sk) >= 0)
				files++;
		}
		if (d != NULL)
			closedir(d);
	}
	if (ca != NULL && ca_authority_foreach(ca, add_authority, sk, &cerr) != CA_OK) {
		snprintf(why, whycap, "reading the gateway CA: %s", cerr.text);
		goto out;
	}
	*out = sk; /* transferred */
	sk = NULL;
	r = 0;
out:
	sk_X509_pop_free(sk, X509_free);
	return r;
}

/* ------------------------------------------------------------------ one verification */

/* What the store callbacks saw during one CMS_verify. Lifetime: one inbound_verify call. */
struct vstate {
	struct chain_crl cc;    /* the CRLs of the whole chain; cc.owner is this vstate */
	int err;                /* first certificate error that stops verification */
	int err_depth;          /* where in the chain (0: the signer) */
	X509 *leaf;             /* up-referenced */
	STACK_OF(X509) *chain;  /* the last chain that verified up to the signer */
};

/* The chain without its first certificate (the signer or partner), added to *to. */
static void
keep_chain(STACK_OF(X509) **to, STACK_OF(X509) *chain)
{
	if (*to == NULL && (*to = sk_X509_new_null()) == NULL)
		return;
	for (int i = 1; i < sk_X509_num(chain); i++)
		if (X509_up_ref(sk_X509_value(chain, i)) == 1 &&
		    !sk_X509_push(*to, sk_X509_value(chain, i)))
			X509_free(sk_X509_value(chain, i));
}

static int
verify_cb(int ok, X509_STORE_CTX *ctx)
{
	struct chain_crl *cc = chain_crl_of(ctx);
	struct vstate *s = cc != NULL ? cc->owner : NULL;
	int e = X509_STORE_CTX_get_error(ctx);

	if (s == NULL)
		return ok;
	if (s->leaf == NULL && X509_STORE_CTX_get0_cert(ctx) != NULL &&
	    X509_up_ref(X509_STORE_CTX_get0_cert(ctx)))
		s->leaf = X509_STORE_CTX_get0_cert(ctx);
	if (ok && chain_crl_own_revoked(cc, ctx)) {
		X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_REVOKED);
		ok = 0;
		e = X509_V_ERR_CERT_REVOKED;
	}
	/* depth 0 last, once every signature above it verified */
	if (ok && X509_STORE_CTX_get_error_depth(ctx) == 0 && s->chain == NULL)
		keep_chain(&s->chain, X509_STORE_CTX_get0_chain(ctx));
	if (ok)
		return 1;
	if (chain_crl_unknown(cc, e))
		return 1;   /* temperror below once the signature itself verified */
	if (s->err == 0) {
		s->err = e;
		s->err_depth = X509_STORE_CTX_get_error_depth(ctx);
	}
	return 0;
}

void
inbound_verdict_clear(struct inbound_verdict *v)
{
	X509_free(v->signer);
	X509_free(v->enc_cert);
	sk_X509_pop_free(v->chain, X509_free);
	free(v->caps);
	spool_free(v->content);
	memset(v, 0, sizeof(*v));
}

static void
describe(X509 *cert, const char *from, struct inbound_verdict *v)
{
	ASN1_INTEGER *ser = X509_get_serialNumber(cert);
	BIGNUM *bn = ASN1_INTEGER_to_BN(ser, NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	BIO *b = BIO_new(BIO_s_mem());
	STACK_OF(OPENSSL_STRING) *emails;

	if (hex != NULL && strlen(hex) < sizeof(v->serial))
		snprintf(v->serial, sizeof(v->serial), "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	if (b != NULL && X509_NAME_print_ex(b, X509_get_issuer_name(cert), 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		int n = BIO_read(b, v->issuer, (int)sizeof(v->issuer) - 1);

		v->issuer[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
	if (from != NULL && X509_check_email(cert, from, 0, 0) == 1) {
		snprintf(v->identifier, sizeof(v->identifier), "%s", from);
		return;
	}
	emails = X509_get1_email(cert);
	if (sk_OPENSSL_STRING_num(emails) > 0 &&
	    strlen(sk_OPENSSL_STRING_value(emails, 0)) < sizeof(v->identifier))
		snprintf(v->identifier, sizeof(v->identifier), "%s",
		    sk_OPENSSL_STRING_value(emails, 0));
	X509_email_free(emails);
}

static void
classify_cert_error(int e, int depth, struct inbound_verdict *v)
{
	if (e == X509_V_ERR_CERT_REVOKED && depth > 0) {
		/* a CA above the signer is in its issuer's CRL (or ARL) */
		v->result = AUTHRES_FAIL;
		snprintf(v->reason, sizeof(v->reason), "issuer revoked: the CA at depth %d of the "
		    "signer's chain is revoked", depth);
		return;
	}
	if (chain_untrusted(e)) {
		v->result = AUTHRES_NEUTRAL;
		snprintf(v->reason, sizeof(v->reason),
		    "signer certificate does not chain to a trusted root");
		return;
	}
	switch (e) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		v->result = AUTHRES_FAIL;
		snprintf(v->reason, sizeof(v->reason), "signer certificate expired");
		return;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		v->result = AUTHRES_FAIL;
		snprintf(v->reason, sizeof(v->reason), "signer certificate not yet valid");
		return;
	case X509_V_ERR_CERT_REVOKED:
		v->result = AUTHRES_FAIL;
		snprintf(v->reason, sizeof(v->reason), "signer certificate revoked");
		return;
	case X509_V_ERR_INVALID_PURPOSE:
		v->result = AUTHRES_FAIL;
		snprintf(v->reason, sizeof(v->reason), "signer certificate not for e-mail signing");
		return;
	default:
		v->result = AUTHRES_FAIL;
		snprintf(v->reason, sizeof(v->reason), "signer certificate: %s",
		    X509_verify_cert_error_string(e));
		return;
	}
}

/* Whether a certificate's keyUsage allows encrypting to it (no keyUsage: yes). */
static bool
may_encrypt(X509 *c)
{
	uint32_t ku = X509_get_key_usage(c);

	return ku == UINT32_MAX || (ku & (EVP_PKEY_is_a(X509_get0_pubkey(c), "EC") ?
	    KU_KEY_AGREEMENT : KU_KEY_ENCIPHERMENT)) != 0;
}

/*
 * The certificate to encrypt to for a verified signer: a named partner that chains to the
 * anchors for e-mail encryption and names `from`, else the signer itself when it may
 * encrypt. Revocation is not looked at here: encryption checks the recipient's later.
 */
static X509 *
encryption_cert(X509 *signer, const struct smime_signer_keys *k, STACK_OF(X509) *anchors,
    const char *from, time_t (*now)(void), STACK_OF(X509) **chain)
{
	X509_STORE *plain = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509 *e = k->enc_cert, *out = NULL;

	if (e == NULL || X509_cmp(e, signer) == 0)
		goto signer;
	if (!may_encrypt(e) || X509_check_email(e, from, 0, 0) != 1 ||
	    (plain = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL)
		goto signer;
	for (int i = 0; i < sk_X509_num(anchors); i++)
		if (X509_STORE_add_cert(plain, sk_X509_value(anchors, i)) != 1)
			ERR_clear_error();
	if (X509_STORE_CTX_init(ctx, plain, e, k->certs) != 1 ||
	    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SMIME_ENCRYPT) != 1)
		goto signer;
	if (now != NULL)
		X509_STORE_CTX_set_time(ctx, 0, now());
	if (X509_verify_cert(ctx) == 1 && X509_up_ref(e) == 1) {
		out = e;
		keep_chain(chain, X509_STORE_CTX_get0_chain(ctx));
	}
signer:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(plain);
	if (out == NULL && may_encrypt(signer) && X509_up_ref(signer) == 1)
		out = signer;
	return out;
}

int
inbound_verify(const struct smime_message *msg, const char *from, STACK_OF(X509) *anchors,
    struct crl_cache *crls, struct ca *ca, const struct smime_options *opt,
    time_t (*now)(void), struct inbound_verdict *v)
{
	struct vstate s = { .err = 0 };
	struct smime_error err = { "" };
	X509_STORE *store = NULL;
	X509 *signer = NULL;
	struct spool *content = NULL;
	struct smime_signer_keys keys = { NULL, 0, NULL, NULL };
	enum smime_status st;
	int r = -1;

	memset(v, 0, sizeof(*v));
	if ((store = X509_STORE_new()) == NULL)
		goto out;
	for (int i = 0; i < sk_X509_num(anchors); i++)
		if (X509_STORE_add_cert(store, sk_X509_value(anchors, i)) != 1)
			ERR_clear_error();  /* a duplicate anchor is fine */
	/* the signer's CRL and every CA's above it, within one crl_wait in all */
	if (chain_crl_attach(store, &s.cc, crls, ca, true, &s) != 0)
		goto out;
	X509_STORE_set_verify_cb(store, verify_cb);
	if (now != NULL)
		X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), now());
	st = smime_verify_keys(msg, store, opt, &signer, &content, &keys, &err);
	ERR_clear_error();
	if (st == SMIME_ERROR)
		goto out;
	r = 0;
	if (st == SMIME_SKIP) {
		v->result = AUTHRES_NONE;
		goto out;
	}
	v->signed_message = true;
	if (s.leaf != NULL)
		describe(s.leaf, from, v);
	if (st == SMIME_FAIL) {
		if (s.err != 0) {
			classify_cert_error(s.err, s.err_depth, v);
		} else if (strncmp(err.text, "malformed", 9) == 0 ||
		    strncmp(err.text, "not CMS", 7) == 0 || strncmp(err.text, "no signer", 9) == 0) {
			v->result = AUTHRES_PERMERROR;
			snprintf(v->reason, sizeof(v->reason), "%s", err.text);
		} else {
			v->result = AUTHRES_FAIL;
			snprintf(v->reason, sizeof(v->reason),
			    "signature does not verify (content altered)");
		}
		goto out;
	}
	describe(signer, from, v);
	if (s.cc.temp) {
		v->result = AUTHRES_TEMPERROR;
		snprintf(v->reason, sizeof(v->reason), "revocation status unknown: %s", s.cc.why);
		goto out;
	}
	if (from == NULL || X509_check_email(signer, from, 0, 0) != 1) {
		v->result = AUTHRES_FAIL;
		snprintf(v->reason, sizeof(v->reason),
		    from == NULL ? "no single From: address to match the signer" :
		    "signer certificate does not name the From: address");
		goto out;
	}
	v->result = AUTHRES_PASS;
	v->enc_cert = encryption_cert(signer, &keys, anchors, from, now, &s.chain);
	v->chain = s.chain; /* transferred */
	s.chain = NULL;
	v->signer = signer; /* transferred */
	signer = NULL;
	v->caps = keys.caps; /* transferred */
	v->caps_len = keys.caps_len;
	keys.caps = NULL;
	v->content = content; /* transferred */
	content = NULL;
out:
	if (r != 0)
		memset(v, 0, sizeof(*v));
	X509_free(s.leaf);
	sk_X509_pop_free(s.chain, X509_free);
	X509_free(signer);
	smime_signer_keys_clear(&keys);
	spool_free(content);
	X509_STORE_free(store);
	return r;
}
