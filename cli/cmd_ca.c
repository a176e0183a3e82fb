/*
 * cmd_ca: `autosmimectl ca init|show|import|rotate|revoke-issuer`, the administration of the
 * issuing CAs. The root key leaves through the file the admin names in `ca init` (written
 * before anything is stored) and comes back only for `ca rotate`, `ca revoke-issuer` and the
 * root's CRL; it is never stored in the CA's store. With a PKCS#11 token, --key-uri (or
 * ca_pkcs11_key_uri) names the issuing CA's token key and any root key "file" may be the URI
 * of a token key: neither key then leaves the token.
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cli/cli.h"

static int
write_pem_cert(const char *path, X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int r = -1;

	if (b != NULL && PEM_write_bio_X509(b, x) && (n = BIO_get_mem_data(b, &data)) > 0)
		r = cli_write_file(path, data, (size_t)n, 0644);
	BIO_free(b);
	return r;
}

static void
print_authority(const struct ca_authority *a)
{
	char nb[32], na[32], subj[256];

	cli_time(a->created, nb, sizeof(nb));
	X509_NAME_oneline(X509_get_subject_name(a->cert), subj, sizeof(subj));
	{
		struct tm tm;
		time_t t;

		ASN1_TIME_to_tm(X509_get0_notAfter(a->cert), &tm);
		t = timegm(&tm);
		cli_time(t, na, sizeof(na));
	}
	printf("ca_id=%s active=%s created=%s not_after=%s subject=\"%s\"\n", a->id,
	    a->active ? "yes" : "no", nb, na, subj);
}

static int
show_cb(const struct ca_authority *a, void *arg)
{
	bool pem = *(bool *)arg;

	print_authority(a);
	if (pem && a->active) {
		PEM_write_X509(stdout, a->cert);
		if (a->root != NULL)
			PEM_write_X509(stdout, a->root);
	}
	return 0;
}

static enum ca_key_type
key_opt(const char *v, bool *bad)
{
	int k = ca_key_type_parse(v);

	if (k < 0)
		*bad = true;
	return k < 0 ? CA_KEY_EC_P384 : (enum ca_key_type)k;
}

/*
 * The options `ca init` and `ca rotate` share; --root-cn only where `root_cn_allowed`.
 * Returns 0, or -1 on a bad or missing option (the caller prints its usage).
 */
static int
authority_opts(struct cli *cli, int argc, char **argv, bool root_cn_allowed,
    struct ca_authority_request *req, const char **root_cert, const char **root_key)
{
	static const struct option opts[] = {
		{ "key-type", required_argument, NULL, 'k' }, { "root-cert", required_argument, NULL, 'c' },
		{ "root-key", required_argument, NULL, 'K' }, { "cn", required_argument, NULL, 'n' },
		{ "root-cn", required_argument, NULL, 'N' }, { "key-uri", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 } };
	bool bad = false;
	int c;

	memset(req, 0, sizeof(*req));
	req->key_type = CA_KEY_EC_P384;
	req->actor = cli->actor;
	*root_cert = *root_key = NULL;
	optind = 0; /* 0: GNU getopt starts afresh (main used "+" mode) */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': req->key_type = key_opt(optarg, &bad); break;
		case 'c': *root_cert = optarg; break;
		case 'K': *root_key = optarg; break;
		case 'n': req->common_name = optarg; break;
		case 'u': req->key_uri = optarg; break;
		case 'N':
			if (!root_cn_allowed)
				bad = true;
			req->root_common_name = optarg;
			break;
		default: bad = true; break;
		}
	}
	if (req->key_uri == NULL && cli->conf->ca_pkcs11_key_uri != NULL &&
	    cli->conf->ca_pkcs11_key_uri[0] != '\0')
		req->key_uri = cli->conf->ca_pkcs11_key_uri;
	return bad || *root_cert == NULL || *root_key == NULL || optind != argc ? -1 : 0;
}

/* The root's CRL into crl_dir, named by the root's id; a warning when it cannot be written. */
static void
publish_root_crl(struct cli *cli, X509 *root, X509_CRL *crl)
{
	char rid[41];

	if (crl == NULL || ca_root_id(root, rid) != CA_OK || cli_publish_crl(cli, rid, crl) < 0)
		fprintf(stderr, "%s: warning: cannot publish the root CRL into crl_dir %s\n",
		    cli->prog, cli->conf->crl_dir);
}

static int
ca_init_cmd(struct cli *cli, int argc, char **argv)
{
	struct ca_authority_request req;
	struct ca_authority a;
	struct ca_error err = { "" };
	const char *root_cert, *root_key;
	char rid[41];
	int r;

	if (authority_opts(cli, argc, argv, true, &req, &root_cert, &root_key) < 0)
		return cli_usage(cli, "ca init --root-cert FILE --root-key FILE|URI [--key-type T] "
		    "[--key-uri URI] [--cn NAME] [--root-cn NAME]");
	if (cli_ensure_secret(cli->conf->key_encryption_key_file, "key-encryption key") < 0 ||
	    cli_ensure_secret(cli->conf->ca_passphrase_file, "CA passphrase") < 0) {
		fprintf(stderr, "%s: error: cannot create the secret files\n", cli->prog);
		return EX_CLI_ERROR;
	}
	if ((r = cli_open_ca(cli, false)) != EX_CLI_OK)
		return r;
	/* ca_init writes the root key (encrypted under the CA passphrase) before it stores. */
	req.root_key_file = root_key;
	if ((r = ca_init(cli->ca, &req, &a, &err)) != CA_OK)
		return cli_fail(cli, r, &err);
	if (write_pem_cert(root_cert, a.root) < 0)
		fprintf(stderr, "%s: warning: cannot write %s; the root certificate is in the "
		    "store: autosmimectl ca show --pem\n", cli->prog, root_cert);
	if (ca_root_id(a.root, rid) != CA_OK || cli_publish_cert(cli, rid, a.root) < 0 ||
	    cli_publish_cert(cli, a.id, a.cert) < 0)
		fprintf(stderr, "%s: warning: cannot publish into crl_dir %s\n", cli->prog,
		    cli->conf->crl_dir);
	publish_root_crl(cli, a.root, a.root_crl);
	printf("root_id=%s root_cert=%s root_key=%s\n", rid, root_cert, root_key);
	print_authority(&a);
	ca_authority_free(&a);
	return EX_CLI_OK;
}

static int
ca_rotate_cmd(struct cli *cli, int argc, char **argv)
{
	struct ca_authority_request req;
	struct ca_authority a;
	struct ca_error err = { "" };
	const char *root_cert, *root_key;
	X509 *root = NULL;
	EVP_PKEY *rk = NULL;
	int r;

	if (authority_opts(cli, argc, argv, false, &req, &root_cert, &root_key) < 0)
		return cli_usage(cli, "ca rotate --root-cert FILE --root-key FILE|URI [--key-type T] "
		    "[--key-uri URI] [--cn NAME]");
	if ((r = cli_open_ca(cli, false)) != EX_CLI_OK ||
	    (r = cli_load_root(cli, root_cert, root_key, &root, &rk)) != EX_CLI_OK)
		return r;
	req.root_cert = root;
	req.root_key = rk;
	r = ca_rotate(cli->ca, &req, &a, &err);
	EVP_PKEY_free(rk);
	X509_free(root);
	if (r != CA_OK)
		return cli_fail(cli, r, &err);
	if (cli_publish_cert(cli, a.id, a.cert) < 0)
		fprintf(stderr, "%s: warning: cannot publish into crl_dir\n", cli->prog);
	publish_root_crl(cli, a.root, a.root_crl);
	print_authority(&a);
	ca_authority_free(&a);
	return EX_CLI_OK;
}

static int
ca_revoke_issuer_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root-cert", required_argument, NULL, 'c' }, { "root-key", required_argument, NULL, 'K' },
		{ "reason", required_argument, NULL, 'r' }, { NULL, 0, NULL, 0 } };
	const char *root_cert = NULL, *root_key = NULL, *usage = "ca revoke-issuer CA_ID "
	    "--root-cert FILE --root-key FILE --reason keyCompromise|cACompromise|"
	    "affiliationChanged|superseded|cessationOfOperation";
	struct ca_error err = { "" };
	X509_CRL *arl = NULL;
	X509 *root = NULL;
	EVP_PKEY *rk = NULL;
	int c, r, reason = -1;
	bool bad = false;

	optind = 0; /* 0: GNU getopt starts afresh (main used "+" mode) */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': root_cert = optarg; break;
		case 'K': root_key = optarg; break;
		case 'r': bad |= (reason = ca_reason_parse(optarg)) < 0; break;
		default: bad = true; break;
		}
	}
	if (bad || root_cert == NULL || root_key == NULL || reason < 0 || optind + 1 != argc)
		return cli_usage(cli, "%s", usage);
	if ((r = cli_open_ca(cli, false)) != EX_CLI_OK ||
	    (r = cli_load_root(cli, root_cert, root_key, &root, &rk)) != EX_CLI_OK)
		return r;
	r = ca_revoke_issuer(cli->ca, argv[optind], root, rk, reason, cli->actor, &arl, &err);
	EVP_PKEY_free(rk);
	if (r == CA_OK) {
		publish_root_crl(cli, root, arl);
		printf("ca_id=%s revoked reason=%s\n", argv[optind], ca_reason_name(reason));
	}
	X509_CRL_free(arl);
	X509_free(root);
	return cli_fail(cli, r, &err);
}

static int
ca_import_cmd(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'c' }, { "key", required_argument, NULL, 'k' },
		{ "chain", required_argument, NULL, 'C' }, { NULL, 0, NULL, 0 } };
	const char *cert = NULL, *key = NULL, *chain = NULL;
	STACK_OF(X509) *certs = NULL, *ch = NULL;
	struct ca_authority a;
	struct ca_error err = { "" };
	EVP_PKEY *k = NULL;
	bool bad = false;
	int c, r = EX_CLI_ERROR;

	optind = 0; /* 0: GNU getopt starts afresh (main used "+" mode) */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'C': chain = optarg; break;
		default: bad = true; break;
		}
	}
	if (key == NULL && cli->conf->ca_pkcs11_key_uri != NULL &&
	    cli->conf->ca_pkcs11_key_uri[0] != '\0')
		key = cli->conf->ca_pkcs11_key_uri;
	if (bad || cert == NULL || key == NULL || optind != argc)
		return cli_usage(cli, "ca import --cert FILE --key FILE|URI [--chain FILE]");
	if (cli_ensure_secret(cli->conf->key_encryption_key_file, "key-encryption key") < 0 ||
	    cli_ensure_secret(cli->conf->ca_passphrase_file, "CA passphrase") < 0)
		return EX_CLI_ERROR;
	if ((r = cli_open_ca(cli, false)) != EX_CLI_OK)
		return r;
	if ((certs = cli_read_certs(cert)) == NULL ||
	    (chain != NULL && (ch = cli_read_certs(chain)) == NULL)) {
		fprintf(stderr, "%s: error: cannot read the certificate files\n", cli->prog);
		r = EX_CLI_ERROR;
		goto out;
	}
	if (strncmp(key, "pkcs11:", 7) == 0)
		r = ca_import_token(cli->ca, sk_X509_value(certs, 0), key, ch, cli->actor, &a, &err);
	else if ((r = ca_read_key_file(cli->ca, key, &k, &err)) == CA_OK)
		r = ca_import(cli->ca, sk_X509_value(certs, 0), k, ch, cli->actor, &a, &err);
	if (r != CA_OK) {
		r = cli_fail(cli, r, &err);
		goto out;
	}
	if (cli_publish_cert(cli, a.id, a.cert) < 0)
		fprintf(stderr, "%s: warning: cannot publish into crl_dir\n", cli->prog);
	print_authority(&a);
	ca_authority_free(&a);
	r = EX_CLI_OK;
out:
	EVP_PKEY_free(k);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(ch, X509_free);
	return r;
}

int
cmd_ca(struct cli *cli, int argc, char **argv)
{
	struct ca_error err = { "" };
	bool pem;
	int r;

	if (argc < 2)
		return cli_usage(cli, "ca init|show|import|rotate|revoke-issuer [options]");
	if (strcmp(argv[1], "revoke-issuer") == 0)
		return ca_revoke_issuer_cmd(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "init") == 0)
		return ca_init_cmd(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "rotate") == 0)
		return ca_rotate_cmd(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "import") == 0)
		return ca_import_cmd(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0) {
		pem = argc == 3 && strcmp(argv[2], "--pem") == 0;
		if (argc > 3 || (argc == 3 && !pem))
			return cli_usage(cli, "ca show [--pem]");
		if ((r = cli_open_ca(cli, true)) != EX_CLI_OK)
			return r;
		return cli_fail(cli, ca_authority_foreach(cli->ca, show_cb, &pem, &err), &err);
	}
	return cli_usage(cli, "ca init|show|import|rotate|revoke-issuer [options]");
}
