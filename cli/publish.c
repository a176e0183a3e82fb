/*
 * cli publish: the CA material autosmimectl hands to a web server (CA certificates for the AIA
 * URL, CRLs as DER and PEM, in crl_dir, readable by all) and the root certificate and key the
 * admin brings for a root operation. Shared by the ca and crl commands.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/pem.h>

#include "cli/cli.h"

int
cli_publish_path(struct cli *cli, const char *id, const char *suffix, char *buf, size_t cap)
{
	struct stat st;
	int n;

	if (cli->conf->crl_dir == NULL || cli->conf->crl_dir[0] == '\0')
		return -1;
	if (mkdir(cli->conf->crl_dir, 0755) < 0 && errno != EEXIST)
		return -1;
	/* a web server publishes it: readable and searchable by all whatever the umask */
	if (stat(cli->conf->crl_dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    ((st.st_mode & 0055) != 0055 && chmod(cli->conf->crl_dir,
	    (st.st_mode & 07777) | 0755) < 0))
		return -1;
	n = snprintf(buf, cap, "%s/%s%s", cli->conf->crl_dir, id, suffix);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

int
cli_publish_cert(struct cli *cli, const char *id, X509 *cert)
{
	char path[4096];
	unsigned char *der = NULL;
	int n, r = -1;

	if (cli_publish_path(cli, id, ".crt", path, sizeof(path)) == 0 &&
	    (n = i2d_X509(cert, &der)) > 0)
		r = cli_write_file(path, der, (size_t)n, 0644);
	OPENSSL_free(der);
	return r;
}

int
cli_publish_crl(struct cli *cli, const char *id, X509_CRL *crl)
{
	char path[4096], *pem;
	unsigned char *der = NULL;
	BIO *b = BIO_new(BIO_s_mem());
	long pl;
	int n, r = -1;

	if (b != NULL && cli_publish_path(cli, id, ".crl", path, sizeof(path)) == 0 &&
	    (n = i2d_X509_CRL(crl, &der)) > 0 && cli_write_file(path, der, (size_t)n, 0644) == 0 &&
	    PEM_write_bio_X509_CRL(b, crl) && (pl = BIO_get_mem_data(b, &pem)) > 0 &&
	    cli_publish_path(cli, id, ".crl.pem", path, sizeof(path)) == 0 &&
	    cli_write_file(path, pem, (size_t)pl, 0644) == 0)
		r = 0;
	OPENSSL_free(der);
	BIO_free(b);
	return r;
}

int
cli_load_root(struct cli *cli, const char *cert_path, const char *key_path, X509 **root,
    EVP_PKEY **key)
{
	struct ca_error err = { "" };
	STACK_OF(X509) *certs;
	int r;

	*root = NULL;
	*key = NULL;
	if ((certs = cli_read_certs(cert_path)) == NULL) {
		fprintf(stderr, "%s: error: cannot read %s\n", cli->prog, cert_path);
		return EX_CLI_ERROR;
	}
	*root = sk_X509_shift(certs);
	sk_X509_pop_free(certs, X509_free);
	if ((r = ca_read_key_file(cli->ca, key_path, key, &err)) != CA_OK) {
		X509_free(*root);
		*root = NULL;
		return cli_fail(cli, r, &err);
	}
	return EX_CLI_OK;
}
