/*
 * cmd_crl: `autosmimectl crl` (a fresh CRL of every issuing CA whose key is on the host, into
 * crl_dir as DER and PEM, next to the CA certificate for the AIA URL) and `export-p12` (a user's
 * key, certificate and chain as PKCS#12; the password comes from a file or the terminal).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/ui.h>

#include "cli/cli.h"
#include "common/log.h"
#include "common/util.h"

static int
publish_path(struct cli *cli, const char *id, const char *suffix, char *buf, size_t cap)
{
	int n;

	if (cli->conf->crl_dir == NULL || cli->conf->crl_dir[0] == '\0')
		return -1;
	if (mkdir(cli->conf->crl_dir, 0755) < 0 && errno != EEXIST)
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

	if (publish_path(cli, id, ".crt", path, sizeof(path)) == 0 &&
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

	if (b != NULL && publish_path(cli, id, ".crl", path, sizeof(path)) == 0 &&
	    (n = i2d_X509_CRL(crl, &der)) > 0 && cli_write_file(path, der, (size_t)n, 0644) == 0 &&
	    PEM_write_bio_X509_CRL(b, crl) && (pl = BIO_get_mem_data(b, &pem)) > 0 &&
	    publish_path(cli, id, ".crl.pem", path, sizeof(path)) == 0 &&
	    cli_write_file(path, pem, (size_t)pl, 0644) == 0)
		r = 0;
	OPENSSL_free(der);
	BIO_free(b);
	return r;
}

struct crl_run {
	struct cli *cli;
	long long next;
	int result;
	char ids[64][41];
	int n;
};

static int
collect_cb(const struct ca_authority *a, void *arg)
{
	struct crl_run *run = arg;

	if (run->n < 64)
		memcpy(run->ids[run->n++], a->id, 41);
	return 0;
}

int
cmd_crl(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "days", required_argument, NULL, 'd' }, { NULL, 0, NULL, 0 } };
	struct crl_run run;
	struct ca_error err = { "" };
	X509_CRL *crl;
	char *end, path[4096];
	int c, r, i;

	memset(&run, 0, sizeof(run));
	run.cli = cli;
	optind = 0; /* 0: GNU getopt starts afresh (main used "+" mode) */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'd')
			return cli_usage(cli, "crl [--days N (1..10)]");
		run.next = strtoll(optarg, &end, 10) * 86400;
		if (*end != '\0' || run.next < 86400 || run.next > 10 * 86400)
			return cli_usage(cli, "crl [--days N (1..10)]");
	}
	if (optind != argc)
		return cli_usage(cli, "crl [--days N (1..10)]");
	if ((r = cli_open_ca(cli, false)) != EX_CLI_OK)
		return r;
	if ((r = ca_authority_foreach(cli->ca, collect_cb, &run, &err)) != CA_OK)
		return cli_fail(cli, r, &err);
	if (run.n == 0) {
		snprintf(err.text, sizeof(err.text), "no issuing CA: run ca init");
		return cli_fail(cli, CA_NOTFOUND, &err);
	}
	for (i = 0; i < run.n; i++) {
		if ((r = ca_crl_make(cli->ca, run.ids[i], run.next, &crl, &err)) != CA_OK) {
			run.result = cli_fail(cli, r, &err);
			continue;
		}
		if (cli_publish_crl(cli, run.ids[i], crl) < 0 ||
		    publish_path(cli, run.ids[i], ".crl", path, sizeof(path)) < 0) {
			fprintf(stderr, "%s: error: cannot write the CRL into %s\n", cli->prog,
			    cli->conf->crl_dir);
			run.result = EX_CLI_ERROR;
		} else {
			const ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
			long v = num != NULL ? ASN1_INTEGER_get(num) : -1;

			printf("ca_id=%s number=%ld entries=%d file=%s\n", run.ids[i], v,
			    sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), path);
			ASN1_INTEGER_free((ASN1_INTEGER *)num);
		}
		X509_CRL_free(crl);
	}
	return run.result;
}

/* The export password: first line of a 0600 file, or typed twice at the terminal. */
static int
read_password(struct cli *cli, const char *file, char *buf, size_t cap)
{
	unsigned char *p = NULL;
	size_t len = 0;
	struct ca_error err = { "" };
	int r;

	if (file != NULL) {
		if ((r = ca_secret_file_read(file, "password", &p, &len, &err)) != CA_OK)
			return cli_fail(cli, r, &err);
		if (len >= cap) {
			as_wipe(p, len);
			free(p);
			fprintf(stderr, "%s: refused: password is too long\n", cli->prog);
			return EX_CLI_REFUSED;
		}
		memcpy(buf, p, len);
		buf[len] = '\0';
		as_wipe(p, len);
		free(p);
	} else if (EVP_read_pw_string(buf, (int)cap, "PKCS#12 export password: ", 1) != 0) {
		fprintf(stderr, "%s: error: no password entered\n", cli->prog);
		return EX_CLI_ERROR;
	}
	if (strlen(buf) < 8) {
		as_wipe(buf, cap);
		fprintf(stderr, "%s: refused: the export password needs at least 8 characters\n",
		    cli->prog);
		return EX_CLI_REFUSED;
	}
	return EX_CLI_OK;
}

int
cmd_export_p12(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' }, { "password-file", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 } };
	const char *out = NULL, *pwfile = NULL;
	struct ca_signer *s = NULL;
	struct ca_error err = { "" };
	PKCS12 *p12 = NULL;
	unsigned char *der = NULL;
	char pw[256], fields[400], vb[300];
	int c, r, n;

	optind = 0; /* 0: GNU getopt starts afresh (main used "+" mode) */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'p': pwfile = optarg; break;
		default: return cli_usage(cli, "export-p12 MAILBOX --out FILE [--password-file F]");
		}
	}
	if (optind + 1 != argc || out == NULL)
		return cli_usage(cli, "export-p12 MAILBOX --out FILE [--password-file F]");
	if ((r = cli_open_ca(cli, false)) != EX_CLI_OK)
		return r;
	if ((r = ca_signer_load(cli->ca, argv[optind], &s, &err)) != CA_OK)
		return cli_fail(cli, r, &err);
	if ((r = read_password(cli, pwfile, pw, sizeof(pw))) != EX_CLI_OK)
		goto out;
	r = EX_CLI_ERROR;
	/* OpenSSL 3 defaults: PBES2 with AES-256-CBC and PBKDF2, SHA-256 MAC. */
	p12 = PKCS12_create(pw, argv[optind], s->key, s->cert, s->chain, 0, 0, 0, 0, 0);
	as_wipe(pw, sizeof(pw));
	if (p12 == NULL || (n = i2d_PKCS12(p12, &der)) <= 0 ||
	    cli_write_file(out, der, (size_t)n, 0600) < 0) {
		fprintf(stderr, "%s: error: cannot write %s\n", cli->prog, out);
		goto out;
	}
	snprintf(fields, sizeof(fields), "serial=%s file=%s", s->serial_hex,
	    as_log_value(out, vb, sizeof(vb)));
	if ((r = ca_audit(cli->ca, "export-p12", cli->actor, fields, &err)) != CA_OK) {
		r = cli_fail(cli, r, &err);
		goto out;
	}
	printf("serial=%s mailbox=%s file=%s\n", s->serial_hex, argv[optind], out);
	r = EX_CLI_OK;
out:
	OPENSSL_free(der);
	PKCS12_free(p12);
	ca_signer_free(s);
	return r;
}
