/*
 * issuer_key: where an issuing CA's private key lives, store_dir/ca/<id>.key (encrypted PEM
 * under the CA passphrase) or, for a key kept in a PKCS#11 token, store_dir/ca/<id>.uri (its
 * RFC 7512 URI: no secret, but 0600 like the rest of the directory so nobody can point the CA
 * at another key). Owns the .uri files and ca_read_key_file (a path or a token URI); keys.c
 * owns the .key files, hsm.c the token.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "ca/ca_int.h"
#include "common/util.h"

static int
uri_path(struct ca *ca, const char *id, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/ca/%s.uri", ca->store_dir, id);

	return n > 0 && (size_t)n < cap ? 0 : -1;
}

static int
uri_write(const char *path, const char *uri, struct ca_error *err)
{
	size_t n = strlen(uri);
	int fd, ok;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		if (errno == EEXIST)
			ca_seterr(err, "%s exists: this token key already belongs to an issuing CA "
			    "(make a new key for a new CA)", path);
		else
			ca_seterr(err, "cannot create %s: %s", path, strerror(errno));
		return CA_ERR;
	}
	ok = write(fd, uri, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	if (close(fd) != 0 || !ok) {
		ca_seterr(err, "cannot write %s", path);
		unlink(path);
		return CA_ERR;
	}
	return CA_OK;
}

int
ca_issuer_key_save(struct ca *ca, const char *id, EVP_PKEY *key, const char *uri,
    char *path, size_t cap, struct ca_error *err)
{
	if (uri != NULL) {
		if (uri_path(ca, id, path, cap) < 0) {
			ca_seterr(err, "store_dir is too long");
			return CA_ERR;
		}
		return uri_write(path, uri, err);
	}
	if (ca_ca_key_path(ca, id, path, cap) < 0) {
		ca_seterr(err, "store_dir is too long");
		return CA_ERR;
	}
	return ca_write_key_file(ca, path, key, err);
}

int
ca_issuer_key_load(struct ca *ca, const char *id, EVP_PKEY **out, bool *in_token,
    struct ca_error *err)
{
	char path[1024];
	unsigned char *uri = NULL;
	size_t len = 0;
	struct stat st;
	int r;

	*out = NULL;
	*in_token = false;
	if (uri_path(ca, id, path, sizeof(path)) < 0) {
		ca_seterr(err, "store_dir is too long");
		return CA_ERR;
	}
	if (lstat(path, &st) == 0) {
		*in_token = true;
		if ((r = ca_secret_file_read(path, "CA key URI", &uri, &len, err)) != CA_OK)
			return r;
		r = ca_hsm_key_load(ca, (const char *)uri, out, err);
		free(uri);
		return r == CA_INVALID ? CA_ERR : r; /* a bad stored URI is the store's fault */
	}
	if (ca_ca_key_path(ca, id, path, sizeof(path)) < 0) {
		ca_seterr(err, "store_dir is too long");
		return CA_ERR;
	}
	return ca_key_file_read(ca, path, out, err);
}

/* A "key file" named by a PKCS#11 URI is the token key's handle (ca.h). */
int
ca_read_key_file(struct ca *ca, const char *path, EVP_PKEY **out, struct ca_error *err)
{
	if (ca_hsm_is_uri(path))
		return ca_hsm_key_load(ca, path, out, err);
	return ca_key_file_read(ca, path, out, err);
}

int
ca_token_key_type(EVP_PKEY *key, enum ca_key_type *out, struct ca_error *err)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	int n, r;

	/* The public half as plain OpenSSL sees it: the checks then run outside the token. */
	if ((n = i2d_PUBKEY(key, &der)) <= 0 || (p = der, pub = d2i_PUBKEY(NULL, &p, n)) == NULL) {
		OPENSSL_free(der);
		ca_seterr_ssl(err, "cannot read the public key of the token key");
		return CA_ERR;
	}
	r = ca_key_classify(pub, out, err);
	EVP_PKEY_free(pub);
	OPENSSL_free(der);
	return r;
}
