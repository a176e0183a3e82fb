/*
 * hsm: CA keys that live in a PKCS#11 token, reached through libp11's OpenSSL engine
 * ("pkcs11", Debian libengine-pkcs11-openssl) and the PKCS#11 module of ca_pkcs11_module
 * (empty: libp11's default, the p11-kit proxy). Owns the engine handle of a struct ca and the
 * rules a key's RFC 7512 URI must follow. The key loaded is a handle: every signature is a
 * C_Sign in the token and the private value never enters this process.
 *
 * This is the one file that uses OpenSSL's ENGINE API, deprecated in OpenSSL 3.0 but the only
 * PKCS#11 path Debian 12 ships (it has no pkcs11-provider); the deprecation warnings are
 * silenced here and nowhere else. Once a provider is packaged, only this file changes.
 */
#include "config.h"

#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "ca/ca_int.h"
#include "common/util.h"

#define URI_MAX 1024
/*
 * After a failed login or a missing token, the next attempt waits this long: a daemon that
 * retried on every message would spend a real HSM's few PIN tries in seconds.
 */
#define RETRY_AFTER 60

bool
ca_hsm_is_uri(const char *s)
{
	return s != NULL && strncmp(s, "pkcs11:", 7) == 0;
}

/* A PKCS#11 URI naming one private key; the PIN never travels in it (it is in the PIN file). */
int
ca_hsm_uri_check(const char *uri, struct ca_error *err)
{
	size_t i, n = strlen(uri);

	if (!ca_hsm_is_uri(uri) || n > URI_MAX || n <= 7) {
		ca_seterr(err, "a CA key URI is a PKCS#11 URI (RFC 7512) of at most %d characters",
		    URI_MAX);
		return CA_INVALID;
	}
	for (i = 0; i < n; i++)
		if (uri[i] <= ' ' || uri[i] > '~') {
			ca_seterr(err, "the CA key URI has a space or a control or non-ASCII "
			    "character (percent-encode it)");
			return CA_INVALID;
		}
	if (strstr(uri, "pin-value") != NULL || strstr(uri, "pin-source") != NULL) {
		ca_seterr(err, "the CA key URI must not carry a PIN: ca_pkcs11_pin_file holds it");
		return CA_INVALID;
	}
	return CA_OK;
}

/*
 * libp11 makes its RSA, EC and EVP_PKEY method tables once per process and never frees them;
 * OpenSSL unloads it at exit, which turns those tables into leaks. Keeping the engine's
 * library mapped (RTLD_NODELETE) leaves them what they are: reachable process-lifetime data.
 */
static void
engine_pin(ENGINE *e)
{
	ENGINE_GEN_INT_FUNC_PTR f = ENGINE_get_init_function(e);
	Dl_info info;
	void *h;

	if (f != NULL && dladdr((void *)(uintptr_t)f, &info) != 0 && info.dli_fname != NULL &&
	    (h = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE)) != NULL)
		dlclose(h); /* drops this reference; NODELETE keeps the library */
}

/* The engine, loaded and logged-in-ready, with the module and the PIN (read, then wiped). */
static ENGINE *
engine_start(struct ca *ca, struct ca_error *err)
{
	unsigned char *pin = NULL;
	size_t plen = 0;
	ENGINE *e = NULL;

	if (ca->p11_pin_file == NULL) {
		ca_seterr(err, "ca_pkcs11_pin_file is not set: the PKCS#11 token needs its PIN");
		return NULL;
	}
	if (ca_secret_file_read(ca->p11_pin_file, "PKCS#11 PIN", &pin, &plen, err) != CA_OK)
		return NULL;
	if ((e = ENGINE_by_id("pkcs11")) == NULL) {
		ca_seterr_ssl(err, "cannot load the OpenSSL pkcs11 engine (libengine-pkcs11-openssl)");
		goto fail;
	}
	engine_pin(e);
	/* QUIET: libp11 reports through the error queue, not on stderr. */
	if (!ENGINE_ctrl_cmd_string(e, "QUIET", NULL, 0) || (ca->p11_module != NULL &&
	    !ENGINE_ctrl_cmd_string(e, "MODULE_PATH", ca->p11_module, 0)) ||
	    !ENGINE_ctrl_cmd_string(e, "PIN", (const char *)pin, 0)) {
		ca_seterr_ssl(err, "cannot configure the pkcs11 engine");
		goto fail;
	}
	if (!ENGINE_init(e)) {
		char what[600];

		snprintf(what, sizeof(what), "cannot start the PKCS#11 module %s",
		    ca->p11_module != NULL ? ca->p11_module : "(p11-kit proxy)");
		ca_seterr_ssl(err, what);
		goto fail;
	}
	ENGINE_free(e); /* the functional reference of ENGINE_init keeps it */
	as_wipe(pin, plen);
	free(pin);
	return e;
fail:
	ENGINE_free(e);
	as_wipe(pin, plen);
	free(pin);
	return NULL;
}

/* The first error says why ("PIN incorrect", "object not found"); the rest is the engine's. */
static void
load_error(const char *uri, struct ca_error *err)
{
	const char *why = ERR_reason_error_string(ERR_peek_error());

	ca_seterr(err, "cannot use the CA key %.300s in the PKCS#11 token: %s", uri,
	    why != NULL ? why : "token absent or no such key");
	ERR_clear_error();
}

int
ca_hsm_key_load(struct ca *ca, const char *uri, EVP_PKEY **out, struct ca_error *err)
{
	time_t now = time(NULL);
	int r;

	*out = NULL;
	if ((r = ca_hsm_uri_check(uri, err)) != CA_OK)
		return r;
	pthread_mutex_lock(&ca->hsm_lock);
	if (ca->hsm_failed_at != 0 && now - ca->hsm_failed_at < RETRY_AFTER &&
	    now >= ca->hsm_failed_at) {
		ca_seterr(err, "the PKCS#11 token failed %lld s ago; next try in %lld s",
		    (long long)(now - ca->hsm_failed_at),
		    (long long)(RETRY_AFTER - (now - ca->hsm_failed_at)));
		pthread_mutex_unlock(&ca->hsm_lock);
		return CA_ERR;
	}
	ERR_clear_error();
	if (ca->hsm == NULL)
		ca->hsm = engine_start(ca, err);
	if (ca->hsm != NULL &&
	    (*out = ENGINE_load_private_key(ca->hsm, uri, NULL, NULL)) == NULL)
		load_error(uri, err);
	ca->hsm_failed_at = *out == NULL ? now : 0;
	pthread_mutex_unlock(&ca->hsm_lock);
	return *out != NULL ? CA_OK : CA_ERR;
}

/*
 * RSASSA-PSS with SHA-256, MGF1-SHA-256, salt 32, in the one encoding S/MIME BR 7.1.3.2 allows
 * (the hash AlgorithmIdentifiers carry NULL parameters). The engine's legacy signing path
 * writes them without the NULL, so the algorithm is set here and only the signature comes
 * from the token.
 */
static const unsigned char pss_sha256_der[] = {
	0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x34,
	0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
	0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
	0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x20
};

int
ca_hsm_sign_pss(X509 *x, EVP_PKEY *key, struct ca_error *err)
{
	const unsigned char *p = pss_sha256_der;
	X509_ALGOR *alg = d2i_X509_ALGOR(NULL, &p, (long)sizeof(pss_sha256_der));
	const X509_ALGOR *outer;
	const ASN1_BIT_STRING *sig;
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *tbs = NULL, *buf = NULL;
	size_t siglen = 0;
	int tbslen, r = CA_ERR;

	/* X509 offers no setters for these two; they are the certificate's own, not shared. */
	X509_get0_signature(&sig, &outer, x);
	if (alg == NULL || mctx == NULL ||
	    !X509_ALGOR_copy((X509_ALGOR *)X509_get0_tbs_sigalg(x), alg) ||
	    !X509_ALGOR_copy((X509_ALGOR *)outer, alg) ||
	    (tbslen = i2d_re_X509_tbs(x, &tbs)) <= 0 ||
	    EVP_DigestSignInit(mctx, &pctx, EVP_sha256(), NULL, key) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0 ||
	    EVP_DigestSign(mctx, NULL, &siglen, tbs, (size_t)tbslen) != 1 ||
	    (buf = OPENSSL_malloc(siglen)) == NULL ||
	    EVP_DigestSign(mctx, buf, &siglen, tbs, (size_t)tbslen) != 1 ||
	    !ASN1_BIT_STRING_set((ASN1_BIT_STRING *)sig, buf, (int)siglen)) {
		ca_seterr_ssl(err, "cannot sign the certificate (RSASSA-PSS) in the PKCS#11 token");
		goto out;
	}
	/* a whole number of bytes: no unused bits */
	((ASN1_BIT_STRING *)sig)->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	((ASN1_BIT_STRING *)sig)->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	r = CA_OK;
out:
	OPENSSL_free(buf);
	OPENSSL_free(tbs);
	EVP_MD_CTX_free(mctx);
	X509_ALGOR_free(alg);
	return r;
}

void
ca_hsm_close(struct ca *ca)
{
	if (ca->hsm != NULL)
		ENGINE_finish(ca->hsm);
	ca->hsm = NULL;
}
