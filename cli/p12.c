/*
 * p12: a user's PKCS#12 file for export-p12. Every key the user holds (the signing key and,
 * for a pair, the encryption key) goes in with its certificate, a shared localKeyID and the
 * mailbox as friendly name, and the issuing chain once. Two encodings: today's (PBES2 with
 * AES-256-CBC and PBKDF2, SHA-256 MAC) and the compatible one older importers need
 * (pbeWithSHAAnd3-KeyTripleDES-CBC for keys and certificates, SHA-1 MAC).
 */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "cli/cli.h"

/* A bag's attributes: the friendly name and a localKeyID tying key and certificate. */
static int
bag_attrs(PKCS12_SAFEBAG *bag, const char *name, const unsigned char *id, unsigned idlen)
{
	return PKCS12_add_friendlyname(bag, name, -1) == 1 &&
	    PKCS12_add_localkeyid(bag, (unsigned char *)id, (int)idlen) == 1 ? 0 : -1;
}

PKCS12 *
cli_p12_build(const char *pw, const char *name, struct ca_signer *const *who, size_t n,
    bool compat)
{
	const int nid_pbe = compat ? NID_pbe_WithSHA1And3_Key_TripleDES_CBC : NID_aes_256_cbc;
	STACK_OF(PKCS12_SAFEBAG) *certbags = NULL, *keybags = NULL;
	STACK_OF(PKCS7) *safes = NULL;
	PKCS12 *p12 = NULL;
	bool ok = false;

	if ((certbags = sk_PKCS12_SAFEBAG_new_null()) == NULL ||
	    (keybags = sk_PKCS12_SAFEBAG_new_null()) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		unsigned char id[EVP_MAX_MD_SIZE];
		unsigned idlen = 0;
		PKCS12_SAFEBAG *bag;

		if (X509_digest(who[i]->cert, EVP_sha1(), id, &idlen) != 1 ||
		    (bag = PKCS12_add_cert(&certbags, who[i]->cert)) == NULL ||
		    bag_attrs(bag, name, id, idlen) != 0 ||
		    (bag = PKCS12_add_key(&keybags, who[i]->key, 0, PKCS12_DEFAULT_ITER, nid_pbe,
		    pw)) == NULL || bag_attrs(bag, name, id, idlen) != 0)
			goto out;
	}
	/* the chain once: both certificates of a pair have the same issuer */
	for (int i = 0; n > 0 && i < sk_X509_num(who[0]->chain); i++)
		if (PKCS12_add_cert(&certbags, sk_X509_value(who[0]->chain, i)) == NULL)
			goto out;
	if (PKCS12_add_safe(&safes, certbags, nid_pbe, PKCS12_DEFAULT_ITER, pw) != 1 ||
	    PKCS12_add_safe(&safes, keybags, -1, 0, NULL) != 1 ||
	    (p12 = PKCS12_add_safes(safes, 0)) == NULL ||
	    PKCS12_set_mac(p12, pw, -1, NULL, 0, PKCS12_DEFAULT_ITER,
	    compat ? EVP_sha1() : EVP_sha256()) != 1)
		goto out;
	ok = true;
out:
	sk_PKCS12_SAFEBAG_pop_free(certbags, PKCS12_SAFEBAG_free);
	sk_PKCS12_SAFEBAG_pop_free(keybags, PKCS12_SAFEBAG_free);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	if (!ok) {
		PKCS12_free(p12);
		p12 = NULL;
	}
	return p12;
}
