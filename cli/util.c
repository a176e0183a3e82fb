/*
 * cli util: opening the CA from the configuration, exit-code mapping, file reading and atomic
 * writing, time formats. Shared by every command file of autosmimectl.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "cli/cli.h"
#include "common/util.h"

void
cli_ca_params(struct cli *cli, struct ca_params *p, bool read_only)
{
	ca_params_from_conf(p, cli->conf, read_only);
}

int
cli_open_ca(struct cli *cli, bool read_only)
{
	struct ca_params p;
	struct ca_error err = { "" };
	int r;

	cli_ca_params(cli, &p, read_only);
	if ((r = ca_open(&p, &cli->ca, &err)) != CA_OK)
		return cli_fail(cli, r, &err);
	return EX_CLI_OK;
}

int
cli_fail(struct cli *cli, int r, const struct ca_error *err)
{
	if (r == CA_OK)
		return EX_CLI_OK;
	fprintf(stderr, "%s: %s: %s\n", cli->prog, r == CA_NOTFOUND ? "not found" :
	    r == CA_INVALID ? "refused" : "error", err != NULL ? err->text : "failed");
	return r == CA_NOTFOUND ? EX_CLI_NOTFOUND : r == CA_INVALID ? EX_CLI_REFUSED : EX_CLI_ERROR;
}

int
cli_usage(struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: usage: ", cli->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return EX_CLI_USAGE;
}

unsigned char *
cli_read_file(const char *path, size_t max, size_t *len)
{
	unsigned char *buf = NULL;
	FILE *fp = fopen(path, "rb");
	size_t n;

	*len = 0;
	if (fp == NULL)
		return NULL;
	if ((buf = malloc(max + 1)) != NULL) {
		n = fread(buf, 1, max + 1, fp);
		if (n > max || ferror(fp)) {
			free(buf);
			buf = NULL;
			errno = EFBIG;
		} else {
			*len = n;
			buf[n] = '\0';
		}
	}
	fclose(fp);
	return buf;
}

int
cli_write_file(const char *path, const void *data, size_t len, int mode)
{
	char tmp[4096];
	int fd, n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	ssize_t w;
	size_t done = 0;

	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode)) < 0)
		return -1;
	while (done < len && (w = write(fd, (const char *)data + done, len - done)) > 0)
		done += (size_t)w;
	if (done != len || fchmod(fd, (mode_t)mode) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

STACK_OF(X509) *
cli_read_certs(const char *path)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *bio = BIO_new_file(path, "rb");
	X509 *x;

	if (sk == NULL || bio == NULL)
		goto fail;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			goto fail;
		}
	ERR_clear_error();
	if (sk_X509_num(sk) == 0) {
		BIO_reset(bio);
		if ((x = d2i_X509_bio(bio, NULL)) == NULL || !sk_X509_push(sk, x)) {
			X509_free(x);
			goto fail;
		}
	}
	BIO_free(bio);
	return sk;
fail:
	BIO_free(bio);
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

void
cli_time(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

long long
cli_parse_time(const char *s)
{
	struct tm tm;
	char *end;
	long long v;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) != NULL && *end == '\0')
		return (long long)timegm(&tm);
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) != NULL && *end == '\0')
		return (long long)timegm(&tm);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return -1;
	return v;
}

int
cli_ensure_secret(const char *path, const char *what)
{
	unsigned char raw[32];
	char hex[66];
	int fd, i;
	struct stat st;

	if (stat(path, &st) == 0)
		return 0;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	hex[64] = '\n';
	hex[65] = '\0';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, hex, 65) != 65 || fsync(fd) < 0) {
		if (fd >= 0)
			close(fd);
		as_wipe(hex, sizeof(hex));
		as_wipe(raw, sizeof(raw));
		return -1;
	}
	close(fd);
	as_wipe(hex, sizeof(hex));
	as_wipe(raw, sizeof(raw));
	fprintf(stderr, "created %s file %s (0600)\n", what, path);
	return 0;
}
