/*
 * ocsp_responder: the delegated responder key and certificate of each issuing CA. Owns the
 * files store_dir/ca/<id>.ocsp.key (EC P-256, encrypted under the CA passphrase, 0600) and
 * <id>.ocsp.crt (PEM). A pair that is missing, damaged, not ours, failing the profile check or
 * past half of its validity is replaced: the new files are written beside the old ones and
 * renamed over them (key first; a crash in between leaves a mismatch that the next load
 * replaces again), and an ocsp-responder audit record names the new certificate.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "ca/ca_int.h"
#include "common/log.h"

static int
signer_paths(struct ca *ca, const char *id, char *key, char *crt, size_t cap)
{
	int a = snprintf(key, cap, "%s/ca/%s.ocsp.key", ca->store_dir, id);
	int b = snprintf(crt, cap, "%s/ca/%s.ocsp.crt", ca->store_dir, id);

	return a > 0 && (size_t)a < cap && b > 0 && (size_t)b < cap ? 0 : -1;
}

/* The stored pair, only if it still passes every check. */
static int
signer_load(struct ca *ca, const struct ca_issuer *iss, const char *keyp, const char *crtp,
    X509 **cert, EVP_PKEY **key)
{
	struct ca_error e = { "" };
	unsigned char *der = NULL;
	int len, r = CA_ERR;

	if (access(keyp, F_OK) != 0 || (*cert = ca_cert_file_read(crtp)) == NULL)
		return CA_NOTFOUND;
	if ((len = i2d_X509(*cert, &der)) <= 0 ||
	    ca_ocsp_responder_check(ca, iss->cert, der, (size_t)len, &e) != CA_OK ||
	    ca_read_key_file(ca, keyp, key, &e) != CA_OK ||
	    X509_check_private_key(*cert, *key) != 1) {
		as_log(AS_LEVEL_WARNING, NULL, "event=ocsp-responder ca=%s status=replaced "
		    "reason=\"%s\"", iss->id, e.text[0] != '\0' ? e.text : "key mismatch");
		goto out;
	}
	r = CA_OK;
out:
	OPENSSL_free(der);
	if (r != CA_OK) {
		X509_free(*cert);
		EVP_PKEY_free(*key);
		*cert = NULL;
		*key = NULL;
	}
	return r;
}

static int
signer_make(struct ca *ca, const struct ca_issuer *iss, long long validity, const char *actor,
    const char *keyp, const char *crtp, X509 **cert, EVP_PKEY **key, struct ca_error *err)
{
	char ktmp[1100], ctmp[1100], fields[256], *hex = NULL;
	unsigned char *der = NULL;
	BIGNUM *bn = NULL;
	int len, r = CA_ERR;

	if (iss->key == NULL) {
		ca_seterr(err, "the issuing CA key is needed for a new OCSP responder");
		return CA_NOKEY;
	}
	snprintf(ktmp, sizeof(ktmp), "%s.new.%ld", keyp, (long)getpid());
	snprintf(ctmp, sizeof(ctmp), "%s.new.%ld", crtp, (long)getpid());
	if ((*key = ca_keygen(CA_KEY_EC_P256, err)) == NULL ||
	    ca_ocsp_cert_build(ca, iss, *key, ca_now(ca), validity, cert, err) != CA_OK)
		goto out;
	if ((len = i2d_X509(*cert, &der)) <= 0 ||
	    ca_ocsp_responder_check(ca, iss->cert, der, (size_t)len, err) != CA_OK)
		goto out;
	unlink(ktmp);
	if (ca_write_key_file(ca, ktmp, *key, err) != CA_OK)
		goto out;
	unlink(ctmp);
	if (ca_cert_file_write(ctmp, *cert, err) != CA_OK || rename(ktmp, keyp) != 0 ||
	    rename(ctmp, crtp) != 0) {
		if (err->text[0] == '\0')
			ca_seterr(err, "cannot rename the OCSP responder files: %s",
			    strerror(errno));
		unlink(ktmp);
		unlink(ctmp);
		goto out;
	}
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(*cert), NULL)) == NULL ||
	    (hex = BN_bn2hex(bn)) == NULL)
		goto out;
	for (char *p = hex; *p != '\0'; p++)
		*p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
	snprintf(fields, sizeof(fields), "ca=%s serial=%s not_after=%lld", iss->id, hex,
	    (long long)ca_time_of(X509_get0_notAfter(*cert)));
	if (ca_audit(ca, "ocsp-responder", actor != NULL ? actor : "ocsp", fields, err) != CA_OK)
		goto out;
	as_log(AS_LEVEL_NOTICE, NULL, "event=ocsp-responder ca=%s serial=%s status=issued",
	    iss->id, hex);
	r = CA_OK;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	OPENSSL_free(der);
	if (r != CA_OK) {
		X509_free(*cert);
		EVP_PKEY_free(*key);
		*cert = NULL;
		*key = NULL;
	}
	return r;
}

int
ca_ocsp_signer_get(struct ca *ca, const struct ca_issuer *iss, long long validity,
    const char *actor, X509 **cert, EVP_PKEY **key, time_t *renew_at, struct ca_error *err)
{
	char keyp[1024], crtp[1024];
	time_t now = ca_now(ca), nb, na;
	int r;

	*cert = NULL;
	*key = NULL;
	if (signer_paths(ca, iss->id, keyp, crtp, sizeof(keyp)) < 0) {
		ca_seterr(err, "store_dir is too long");
		return CA_ERR;
	}
	if (signer_load(ca, iss, keyp, crtp, cert, key) == CA_OK) {
		nb = ca_time_of(X509_get0_notBefore(*cert));
		na = ca_time_of(X509_get0_notAfter(*cert));
		if (nb != (time_t)-1 && na > nb && now >= nb && now < nb + (na - nb) / 2) {
			*renew_at = nb + (na - nb) / 2;
			return CA_OK;
		}
		X509_free(*cert);
		EVP_PKEY_free(*key);
		*cert = NULL;
		*key = NULL;
	}
	if ((r = signer_make(ca, iss, validity, actor, keyp, crtp, cert, key, err)) != CA_OK)
		return r;
	nb = ca_time_of(X509_get0_notBefore(*cert));
	na = ca_time_of(X509_get0_notAfter(*cert));
	*renew_at = nb + (na - nb) / 2;
	return CA_OK;
}
