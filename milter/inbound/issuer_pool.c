/*
 * issuer_pool: the bounded set of CA certificates from verified chains (see issuer_pool.h).
 * Owns its certificates and the files of its directory.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "common/log.h"

#include "milter/inbound/issuer_pool.h"

#define MAX_CERT_FILE (64 * 1024)

struct issuer_pool {
	pthread_mutex_t lock;
	char *dir;              /* NULL: memory only */
	X509 *certs[ISSUER_POOL_MAX];
	size_t n, next;         /* next: the slot to reuse once full (oldest first) */
};

/* dir/<sha256 of the DER>.crt */
static int
file_of(const struct issuer_pool *p, X509 *x, char *out, size_t cap)
{
	unsigned char md[32];
	char hex[65];

	if (X509_digest(x, EVP_sha256(), md, NULL) != 1)
		return -1;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return snprintf(out, cap, "%s/%s.crt", p->dir, hex) < (int)cap ? 0 : -1;
}

static void
file_save(const struct issuer_pool *p, X509 *x)
{
	char path[4200], tmp[4300];
	unsigned char *der = NULL;
	int len, fd;
	bool ok = false;

	if (p->dir == NULL || file_of(p, x, path, sizeof(path)) < 0 ||
	    (len = i2d_X509(x, &der)) <= 0)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
		goto out;
	ok = write(fd, der, (size_t)len) == len;
	ok = close(fd) == 0 && ok && rename(tmp, path) == 0;
	if (!ok)
		unlink(tmp);
out:
	if (p->dir != NULL && !ok)
		as_log(AS_LEVEL_WARNING, NULL, "event=issuer-pool-write-failed");
	OPENSSL_free(der);
}

static void
file_drop(const struct issuer_pool *p, X509 *x)
{
	char path[4200];

	if (p->dir != NULL && file_of(p, x, path, sizeof(path)) == 0)
		unlink(path);
}

static X509 *
file_load(const char *path)
{
	unsigned char buf[MAX_CERT_FILE];
	const unsigned char *q = buf;
	X509 *x = NULL;
	struct stat st;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    st.st_size <= MAX_CERT_FILE && (got = read(fd, buf, (size_t)st.st_size)) == st.st_size &&
	    (x = d2i_X509(NULL, &q, (long)got)) != NULL && (q != buf + got ||
	    X509_check_ca(x) != 1)) {
		X509_free(x);
		x = NULL;
	}
	close(fd);
	return x;
}

static void
dir_load(struct issuer_pool *p)
{
	DIR *d = opendir(p->dir);
	struct dirent *de;
	char path[4200];

	while (d != NULL && p->n < ISSUER_POOL_MAX && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		X509 *x;

		if (len != 68 || strcmp(de->d_name + 64, ".crt") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", p->dir, de->d_name);
		if ((x = file_load(path)) != NULL)
			p->certs[p->n++] = x; /* transferred */
	}
	if (d != NULL)
		closedir(d);
}

struct issuer_pool *
issuer_pool_new(const char *dir)
{
	struct issuer_pool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if (pthread_mutex_init(&p->lock, NULL) != 0 ||
	    (dir != NULL && (p->dir = strdup(dir)) == NULL)) {
		free(p);
		return NULL;
	}
	if (p->dir != NULL && mkdir(p->dir, 0755) != 0 && errno != EEXIST) {
		as_log(AS_LEVEL_WARNING, NULL, "event=issuer-pool-dir-failed");
		free(p->dir);
		p->dir = NULL;  /* memory only: this costs a restart the pool, not mail */
	}
	if (p->dir != NULL)
		dir_load(p);
	return p;
}

void
issuer_pool_free(struct issuer_pool *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		X509_free(p->certs[i]);
	pthread_mutex_destroy(&p->lock);
	free(p->dir);
	free(p);
}

static bool
known(const struct issuer_pool *p, X509 *x)
{
	for (size_t i = 0; i < p->n; i++)
		if (X509_cmp(p->certs[i], x) == 0)
			return true;
	return false;
}

void
issuer_pool_add(struct issuer_pool *p, STACK_OF(X509) *chain)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		if (X509_check_ca(x) != 1 || known(p, x) || X509_up_ref(x) != 1)
			continue;
		file_save(p, x);
		if (p->n < ISSUER_POOL_MAX) {
			p->certs[p->n++] = x;
			continue;
		}
		file_drop(p, p->certs[p->next]);
		X509_free(p->certs[p->next]);
		p->certs[p->next] = x;
		p->next = (p->next + 1) % ISSUER_POOL_MAX;
	}
	pthread_mutex_unlock(&p->lock);
}

STACK_OF(X509) *
issuer_pool_get(struct issuer_pool *p)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	if (sk == NULL || p == NULL)
		return sk;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n; i++)
		if (X509_up_ref(p->certs[i]) == 1 && !sk_X509_push(sk, p->certs[i]))
			X509_free(p->certs[i]);
	pthread_mutex_unlock(&p->lock);
	return sk;
}
