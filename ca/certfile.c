/*
 * certfile: certificates kept as PEM files beside the keys in store_dir/ca (the audit
 * checkpoint signer, the OCSP responders): read one back, write one exclusively (0644,
 * synced). Owns nothing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "ca/ca_int.h"

X509 *
ca_cert_file_read(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;

	if (fp == NULL)
		return NULL;
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	return x;
}

int
ca_cert_file_write(const char *path, X509 *x, struct ca_error *err)
{
	FILE *fp = NULL;
	int fd, r = CA_ERR;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0) {
		ca_seterr(err, "cannot create %s: %s", path, strerror(errno));
		return CA_ERR;
	}
	if ((fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		goto out;
	}
	if (PEM_write_X509(fp, x) && fflush(fp) == 0 && fsync(fileno(fp)) == 0)
		r = CA_OK;
	else
		ca_seterr(err, "cannot write %s", path);
out:
	if (fp != NULL && fclose(fp) != 0)
		r = CA_ERR;
	if (r != CA_OK)
		unlink(path);
	return r;
}
