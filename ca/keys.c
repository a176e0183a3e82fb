/*
 * keys: private keys at rest. User keys are PKCS#8 EncryptedPrivateKeyInfo (PBES2, AES-256-CBC)
 * under the key-encryption key from a 0600 file; CA keys are encrypted PKCS#8 PEM (AES-256)
 * under the CA passphrase file, 0600. Also key generation and the key-type check of user keys.
 * Owns the secret files' reading rules (regular file, no group/other access, bounded size).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "ca/ca_int.h"
#include "common/util.h"

#define SECRET_MAX 4096
#define KEK_MIN 32
/*
 * The KEK is at least 32 characters of random text (ca init writes 64 hex digits: 256 bits),
 * not a human password, so PBKDF2 stretching adds nothing; a modest count keeps issuance fast.
 */
#define KEK_ITER 16

int
ca_secret_file_read(const char *path, const char *what, unsigned char **out, size_t *len,
    struct ca_error *err)
{
	unsigned char *buf = NULL;
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd = -1, r = CA_ERR;

	*out = NULL;
	*len = 0;
	if (path == NULL) {
		ca_seterr(err, "%s file is not configured", what);
		return CA_ERR;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		ca_seterr(err, "cannot open %s file %s: %s", what, path, strerror(errno));
		return CA_ERR;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ca_seterr(err, "%s file %s is not a regular file", what, path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		ca_seterr(err, "%s file %s is readable by group or others (chmod 600)", what, path);
		goto out;
	}
	if (st.st_size > SECRET_MAX || (buf = malloc(SECRET_MAX + 1)) == NULL) {
		ca_seterr(err, "%s file %s is too large", what, path);
		goto out;
	}
	while (got < SECRET_MAX && (n = read(fd, buf + got, SECRET_MAX - got)) > 0)
		got += (size_t)n;
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r' || buf[got - 1] == ' '))
		got--;
	buf[got] = '\0';
	if (got == 0) {
		ca_seterr(err, "%s file %s is empty", what, path);
		goto out;
	}
	*out = buf; /* transferred */
	*len = got;
	buf = NULL;
	r = CA_OK;
out:
	if (buf != NULL) {
		as_wipe(buf, SECRET_MAX + 1);
		free(buf);
	}
	close(fd);
	return r;
}

int
ca_kek_load(struct ca *ca, struct ca_error *err)
{
	if (ca_secret_file_read(ca->kek_file, "key-encryption key", &ca->kek, &ca->kek_len,
	    err) != CA_OK)
		return CA_ERR;
	if (ca->kek_len < KEK_MIN) {
		ca_seterr(err, "key-encryption key in %s is shorter than %d characters", ca->kek_file,
		    KEK_MIN);
		return CA_ERR;
	}
	return CA_OK;
}

int
ca_key_wrap(struct ca *ca, EVP_PKEY *key, unsigned char **der, size_t *len, struct ca_error *err)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	X509_SIG *enc = NULL;
	unsigned char *buf = NULL;
	int n, r = CA_ERR;

	*der = NULL;
	if (ca->kek == NULL) {
		ca_seterr(err, "no key-encryption key loaded");
		return CA_ERR;
	}
	if ((p8 = EVP_PKEY2PKCS8(key)) == NULL ||
	    (enc = PKCS8_encrypt(-1, EVP_aes_256_cbc(), (const char *)ca->kek, (int)ca->kek_len,
	    NULL, 0, KEK_ITER, p8)) == NULL || (n = i2d_X509_SIG(enc, &buf)) <= 0) {
		ca_seterr_ssl(err, "cannot encrypt the user key");
		goto out;
	}
	*der = buf; /* transferred */
	*len = (size_t)n;
	r = CA_OK;
out:
	PKCS8_PRIV_KEY_INFO_free(p8);
	X509_SIG_free(enc);
	return r;
}

int
ca_key_unwrap(struct ca *ca, const unsigned char *der, size_t len, EVP_PKEY **out,
    struct ca_error *err)
{
	const unsigned char *p = der;
	X509_SIG *enc = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	int r = CA_ERR;

	*out = NULL;
	if (ca->kek == NULL) {
		ca_seterr(err, "no key-encryption key loaded");
		return CA_ERR;
	}
	if ((enc = d2i_X509_SIG(NULL, &p, (long)len)) == NULL ||
	    (p8 = PKCS8_decrypt(enc, (const char *)ca->kek, (int)ca->kek_len)) == NULL ||
	    (*out = EVP_PKCS82PKEY(p8)) == NULL) {
		ca_seterr_ssl(err, "cannot decrypt the user key (wrong key-encryption key?)");
		goto out;
	}
	r = CA_OK;
out:
	X509_SIG_free(enc);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return r;
}

EVP_PKEY *
ca_keygen(enum ca_key_type type, struct ca_error *err)
{
	EVP_PKEY *k = NULL;

	switch (type) {
	case CA_KEY_EC_P256:
		k = EVP_EC_gen("P-256");
		break;
	case CA_KEY_EC_P384:
		k = EVP_EC_gen("P-384");
		break;
	case CA_KEY_RSA2048:
		k = EVP_RSA_gen(2048);
		break;
	case CA_KEY_RSA3072:
		k = EVP_RSA_gen(3072);
		break;
	case CA_KEY_RSA4096:
		k = EVP_RSA_gen(4096);
		break;
	default:
		ca_seterr(err, "unknown key type");
		return NULL;
	}
	if (k == NULL)
		ca_seterr_ssl(err, "key generation failed");
	return k;
}

/* Which of the allowed key types a (public) key is; CA_INVALID for anything else. */
int
ca_key_classify(EVP_PKEY *key, enum ca_key_type *out, struct ca_error *err)
{
	char group[64];
	BIGNUM *e = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int bits = EVP_PKEY_get_bits(key), r = CA_INVALID;

	if (EVP_PKEY_is_a(key, "EC")) {
		if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
		    sizeof(group), NULL)) {
			ca_seterr(err, "EC key without a named curve");
			goto out;
		}
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
			*out = CA_KEY_EC_P256;
		else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
			*out = CA_KEY_EC_P384;
		else {
			ca_seterr(err, "EC curve %s is not allowed (P-256 or P-384)", group);
			goto out;
		}
	} else if (EVP_PKEY_is_a(key, "RSA")) {
		if (bits == 2048)
			*out = CA_KEY_RSA2048;
		else if (bits == 3072)
			*out = CA_KEY_RSA3072;
		else if (bits == 4096)
			*out = CA_KEY_RSA4096;
		else {
			ca_seterr(err, "RSA key of %d bits is not allowed (2048, 3072 or 4096)", bits);
			goto out;
		}
		if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) || !BN_is_odd(e) ||
		    BN_num_bits(e) < 17) {
			ca_seterr(err, "RSA public exponent must be odd and at least 65537");
			goto out;
		}
	} else {
		ca_seterr(err, "key algorithm is not allowed (RSA or ECDSA)");
		goto out;
	}
	/* The point is on the curve / the modulus is sane. */
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL ||
	    EVP_PKEY_public_check(ctx) != 1) {
		ca_seterr_ssl(err, "public key check failed");
		goto out;
	}
	r = CA_OK;
out:
	BN_free(e);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int
ca_ca_key_path(struct ca *ca, const char *id, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/ca/%s.key", ca->store_dir, id);

	return n > 0 && (size_t)n < cap ? 0 : -1;
}

int
ca_key_file_read(struct ca *ca, const char *path, EVP_PKEY **out, struct ca_error *err)
{
	unsigned char *pass = NULL;
	size_t plen = 0;
	BIO *bio = NULL;
	struct stat st;
	int r = CA_ERR;

	*out = NULL;
	if ((bio = BIO_new_file(path, "r")) == NULL || stat(path, &st) < 0) {
		ca_seterr(err, "cannot open key file %s", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		ca_seterr(err, "key file %s is readable by group or others (chmod 600)", path);
		goto out;
	}
	if (ca->pass_file != NULL &&
	    ca_secret_file_read(ca->pass_file, "CA passphrase", &pass, &plen, err) != CA_OK)
		goto out;
	*out = PEM_read_bio_PrivateKey(bio, NULL, NULL, pass != NULL ? pass : (void *)"");
	if (*out == NULL) {
		ca_seterr_ssl(err, "cannot read the private key (wrong passphrase?)");
		goto out;
	}
	r = CA_OK;
out:
	if (pass != NULL) {
		as_wipe(pass, plen);
		free(pass);
	}
	BIO_free(bio);
	return r;
}

int
ca_write_key_file(struct ca *ca, const char *path, EVP_PKEY *key, struct ca_error *err)
{
	unsigned char *pass = NULL;
	size_t plen = 0;
	FILE *fp = NULL;
	int fd = -1, r = CA_ERR;

	if (ca_secret_file_read(ca->pass_file, "CA passphrase", &pass, &plen, err) != CA_OK)
		return CA_ERR;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		ca_seterr(err, "cannot create key file %s: %s", path, strerror(errno));
		goto out;
	}
	if ((fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		goto out;
	}
	if (!PEM_write_PKCS8PrivateKey(fp, key, EVP_aes_256_cbc(), (char *)pass, (int)plen, NULL,
	    NULL) || fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
		ca_seterr_ssl(err, "cannot write key file");
		goto out;
	}
	r = CA_OK;
out:
	if (fp != NULL && fclose(fp) != 0)
		r = CA_ERR;
	if (r != CA_OK && fd >= 0)
		unlink(path);
	as_wipe(pass, plen);
	free(pass);
	return r;
}
