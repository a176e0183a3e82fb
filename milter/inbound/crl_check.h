/*
 * crl_check: the check OpenSSL makes of a CRL before it looks a certificate up in it
 * (x509_vfy.c check_crl), with the CRL's signature checked once per cached CRL object and
 * issuer key (crl_cache_signature_ok) instead of hashing the whole CRL on every message.
 *
 * Every other test is made in OpenSSL's order with OpenSSL's error codes: the issuer's cRLSign
 * key usage, the CRL's scope (IDP onlyUser/onlyCA/onlyAttr), an invalid IDP, lastUpdate and
 * nextUpdate, the issuer key, Suite B. CRLs whose checks need state OpenSSL keeps to itself
 * (an IDP distribution point name, reasons or indirect CRLs, delta CRLs, extended CRL
 * support, no CRL issuer found) go to OpenSSL's own check unchanged.
 */
#ifndef AUTOSMIME_CRL_CHECK_H
#define AUTOSMIME_CRL_CHECK_H

#include <openssl/x509_vfy.h>

#include "milter/inbound/crl_fetch.h"

/*
 * For X509_STORE_set_check_crl: checks crl for the current certificate of ctx, with the
 * signature outcome remembered in c (NULL: OpenSSL's check). 1 go on, 0 stop (as OpenSSL's).
 */
int crl_check_cached(X509_STORE_CTX *ctx, X509_CRL *crl, struct crl_cache *c);

#endif
