/*
 * cmd_crl: `autosmimectl crl` (a fresh CRL of every issuing CA whose key is on the host, into
 * crl_dir as DER and PEM, next to the CA certificate for the AIA URL; the roots' CRLs when the
 * admin brings the root key, a warning or error when one is due; --if-due for timers) and
 * `export-p12` (a user's key, certificate and chain as PKCS#12; the password comes from a file
 * or the terminal).
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

struct crl_run {
	struct cli *cli;
	long long next;
	bool if_due;
	int result;
	char ids[64][41];
	int n;
	X509 *roots[16];
	int nroots;
};

static int
collect_cb(const struct ca_authority *a, void *arg)
{
	struct crl_run *run = arg;
	int i;

	if (run->n < 64)
		memcpy(run->ids[run->n++], a->id, 41);
	if (a->root == NULL)
		return 0;
	for (i = 0; i < run->nroots; i++)
		if (X509_cmp(run->roots[i], a->root) == 0)
			return 0;
	if (run->nroots < 16 && X509_up_ref(a->root))
		run->roots[run->nroots++] = a->root;
	return 0;
}

static void
print_crl(const char *id, X509_CRL *crl, const char *path)
{
	ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	int entries = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));

	/* an empty CRL has no list at all, which the stack reads as -1 */
	printf("ca_id=%s number=%ld entries=%d file=%s\n", id, num != NULL ? ASN1_INTEGER_get(num) :
	    -1L, entries > 0 ? entries : 0, path);
	ASN1_INTEGER_free(num);
}

/* With --if-due, whether the CRL of id is due; otherwise every CRL is signed. */
static bool
want_crl(struct crl_run *run, const char *id)
{
	struct ca_crl_state st;
	struct ca_error err = { "" };

	if (!run->if_due)
		return true;
	if (ca_crl_state(run->cli->ca, id, &st, &err) != CA_OK) {
		run->result = cli_fail(run->cli, CA_ERR, &err);
		return false;
	}
	return ca_crl_due(&st, time(NULL));
}

static void
publish(struct crl_run *run, const char *id, X509_CRL *crl)
{
	struct cli *cli = run->cli;
	char path[4096];

	if (cli_publish_crl(cli, id, crl) < 0 || cli_publish_path(cli, id, ".crl", path,
	    sizeof(path)) < 0) {
		fprintf(stderr, "%s: error: cannot write the CRL into %s\n", cli->prog,
		    cli->conf->crl_dir);
		run->result = EX_CLI_ERROR;
	} else
		print_crl(id, crl, path);
}

/*
 * A root's CRL: re-signed when the admin brought its key; otherwise a warning once it is due
 * and an error in its last 30 days, so that a timer's failure shows before relying parties
 * stop trusting the chain.
 */
static void
root_crl(struct crl_run *run, X509 *root, X509 *given, EVP_PKEY *key)
{
	struct cli *cli = run->cli;
	struct ca_error err = { "" };
	struct ca_crl_state st;
	X509_CRL *crl = NULL;
	char rid[41], when[32];
	time_t now = time(NULL);
	bool urgent;
	int r;

	if (ca_root_id(root, rid) != CA_OK)
		return;
	if (given != NULL && X509_cmp(given, root) == 0) {
		if (!want_crl(run, rid))
			return;
		if ((r = ca_root_crl_make(cli->ca, given, key, &crl, &err)) != CA_OK)
			run->result = cli_fail(cli, r, &err);
		else
			publish(run, rid, crl);
		X509_CRL_free(crl);
		return;
	}
	if (ca_crl_state(cli->ca, rid, &st, &err) != CA_OK) {
		run->result = cli_fail(cli, CA_ERR, &err);
		return;
	}
	if (!ca_crl_due(&st, now))
		return;
	if (st.number == 0) {
		/* a store made before root CRLs were tracked */
		fprintf(stderr, "%s: warning: no CRL of root %s is recorded: sign one with "
		    "autosmimectl crl --root-cert FILE --root-key FILE\n", cli->prog, rid);
		return;
	}
	urgent = st.next_update - now < 30 * 86400;
	cli_time(st.next_update, when, sizeof(when));
	fprintf(stderr, "%s: %s: the CRL of root %s %s %s: sign the next one with autosmimectl "
	    "crl --root-cert FILE --root-key FILE\n", cli->prog, urgent ? "error" : "warning", rid,
	    st.next_update > now ? "expires" : "expired", when);
	if (urgent)
		run->result = EX_CLI_ERROR;
}

int
cmd_crl(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "days", required_argument, NULL, 'd' }, { "if-due", no_argument, NULL, 'i' },
		{ "root-cert", required_argument, NULL, 'c' }, { "root-key", required_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 } };
	const char *usage = "crl [--days N (1..10)] [--if-due] [--root-cert FILE --root-key FILE]";
	const char *root_cert = NULL, *root_key = NULL;
	struct crl_run run;
	struct ca_error err = { "" };
	X509_CRL *crl;
	X509 *given = NULL;
	EVP_PKEY *key = NULL;
	char *end;
	int c, r, i;

	memset(&run, 0, sizeof(run));
	run.cli = cli;
	optind = 0; /* 0: GNU getopt starts afresh (main used "+" mode) */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			run.next = strtoll(optarg, &end, 10) * 86400;
			if (*end != '\0' || run.next < 86400 || run.next > 10 * 86400)
				return cli_usage(cli, "%s", usage);
			break;
		case 'i': run.if_due = true; break;
		case 'c': root_cert = optarg; break;
		case 'K': root_key = optarg; break;
		default: return cli_usage(cli, "%s", usage);
		}
	}
	if (optind != argc || (root_cert == NULL) != (root_key == NULL))
		return cli_usage(cli, "%s", usage);
	if ((r = cli_open_ca(cli, false)) != EX_CLI_OK)
		return r;
	if (root_cert != NULL &&
	    (r = cli_load_root(cli, root_cert, root_key, &given, &key)) != EX_CLI_OK)
		return r;
	if ((r = ca_authority_foreach(cli->ca, collect_cb, &run, &err)) != CA_OK) {
		run.result = cli_fail(cli, r, &err);
		goto out;
	}
	if (run.n == 0) {
		snprintf(err.text, sizeof(err.text), "no issuing CA: run ca init");
		run.result = cli_fail(cli, CA_NOTFOUND, &err);
		goto out;
	}
	for (i = 0; i < run.n; i++) {
		if (!want_crl(&run, run.ids[i]))
			continue;
		if ((r = ca_crl_make(cli->ca, run.ids[i], run.next, &crl, &err)) != CA_OK) {
			/* an issuing CA whose key left the host (imported elsewhere, revoked) */
			run.result = cli_fail(cli, r, &err);
			continue;
		}
		publish(&run, run.ids[i], crl);
		X509_CRL_free(crl);
	}
	for (i = 0; i < run.nroots; i++)
		root_crl(&run, run.roots[i], given, key);
	if (given != NULL) {
		for (i = 0; i < run.nroots && X509_cmp(run.roots[i], given) != 0; i++)
			;
		if (i == run.nroots) {
			fprintf(stderr, "%s: refused: %s is not the root of an issuing CA here\n",
			    cli->prog, root_cert);
			run.result = EX_CLI_REFUSED;
		}
	}
out:
	for (i = 0; i < run.nroots; i++)
		X509_free(run.roots[i]);
	X509_free(given);
	EVP_PKEY_free(key);
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
		{ "compat", no_argument, NULL, 'c' }, { "only", required_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 } };
	static const char usage[] = "export-p12 MAILBOX --out FILE [--password-file F] [--compat] "
	    "[--only signing|encryption]";
	const char *out = NULL, *pwfile = NULL;
	struct ca_signer *who[2] = { NULL, NULL };
	struct ca_error err = { "" };
	PKCS12 *p12 = NULL;
	unsigned char *der = NULL;
	char pw[256], fields[500], vb[300];
	bool compat = false;
	const char *only = NULL;
	size_t n = 1;
	int c, r, len;

	optind = 0; /* 0: GNU getopt starts afresh (main used "+" mode) */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'p': pwfile = optarg; break;
		case 'c': compat = true; break;
		case 'y': only = optarg; break;
		default: return cli_usage(cli, usage);
		}
	}
	if (optind + 1 != argc || out == NULL || (only != NULL && strcmp(only, "signing") != 0 &&
	    strcmp(only, "encryption") != 0))
		return cli_usage(cli, usage);
	if ((r = cli_open_ca(cli, false)) != EX_CLI_OK)
		return r;
	if ((r = ca_signer_load(cli->ca, argv[optind], &who[0], &err)) != CA_OK)
		return cli_fail(cli, r, &err);
	/* a signing-only certificate's partner: the key mail to the user is encrypted to */
	if ((r = ca_decrypter_load(cli->ca, argv[optind], &who[1], &err)) == CA_OK &&
	    strcmp(who[1]->serial_hex, who[0]->serial_hex) != 0)
		n = 2;
	else if (r != CA_OK && r != CA_NOTFOUND) {
		r = cli_fail(cli, r, &err);
		goto out;
	}
	if (only != NULL && strcmp(only, "encryption") == 0) {
		/* one key: importers that cannot take the other one (gpgsm 2.2 and EC keys) */
		if (who[1] == NULL) {
			r = cli_fail(cli, CA_NOTFOUND, &err);
			goto out;
		}
		ca_signer_free(who[0]);
		who[0] = who[1];
		who[1] = NULL;
		n = 1;
	} else if (only != NULL)
		n = 1;
	if ((r = read_password(cli, pwfile, pw, sizeof(pw))) != EX_CLI_OK)
		goto out;
	r = EX_CLI_ERROR;
	p12 = cli_p12_build(pw, argv[optind], who, n, compat);
	as_wipe(pw, sizeof(pw));
	if (p12 == NULL || (len = i2d_PKCS12(p12, &der)) <= 0 ||
	    cli_write_file(out, der, (size_t)len, 0600) < 0) {
		fprintf(stderr, "%s: error: cannot write %s\n", cli->prog, out);
		goto out;
	}
	snprintf(fields, sizeof(fields), "serial=%s%s%s file=%s format=%s", who[0]->serial_hex,
	    n == 2 ? " encryption_serial=" : "", n == 2 ? who[1]->serial_hex : "",
	    as_log_value(out, vb, sizeof(vb)), compat ? "compat" : "aes");
	if ((r = ca_audit(cli->ca, "export-p12", cli->actor, fields, &err)) != CA_OK) {
		r = cli_fail(cli, r, &err);
		goto out;
	}
	printf("serial=%s%s%s mailbox=%s file=%s format=%s\n", who[0]->serial_hex,
	    n == 2 ? " encryption_serial=" : "", n == 2 ? who[1]->serial_hex : "", argv[optind],
	    out, compat ? "compat" : "aes");
	r = EX_CLI_OK;
out:
	OPENSSL_free(der);
	PKCS12_free(p12);
	ca_signer_free(who[0]);
	ca_signer_free(who[1]);
	return r;
}
