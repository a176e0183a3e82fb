/*
 * cmd_cert: the certificate commands of autosmimectl: issue, list, show, revoke, renew and
 * import (a recipient certificate). Output is one key=value line per certificate.
 */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "cli/cli.h"
#include "common/util.h"

#define CSR_FILE_MAX (64 * 1024)

static const char *const status_words[] = { "valid", "revoked", "expired" };

static void
print_info(const struct ca_cert_info *i)
{
	char na[32], nb[32];

	cli_time(i->not_before, nb, sizeof(nb));
	cli_time(i->not_after, na, sizeof(na));
	printf("serial=%s mailbox=%s status=%s profile=%s generation=%s key=%s not_before=%s "
	    "not_after=%s ca_id=%s", i->serial_hex, i->mailbox, status_words[i->status],
	    ca_profile_name(i->profile), ca_generation_name(i->generation),
	    ca_key_type_name(i->key_type), nb, na, i->ca_id);
	if (i->cert != NULL)
		printf(" use=%s", ca_uses_name(ca_cert_uses(i->cert)));
	if (i->status == CA_STATUS_REVOKED) {
		cli_time(i->revoked_at, na, sizeof(na));
		printf(" revoked_at=%s reason=%s", na, ca_reason_name(i->reason));
	}
	printf("\n");
}

/* A CSR from a PEM or DER file, as DER. */
static unsigned char *
read_csr(const char *path, size_t *len)
{
	unsigned char *raw = cli_read_file(path, CSR_FILE_MAX, len), *der = NULL;
	BIO *b = NULL;
	X509_REQ *req = NULL;
	int n;

	if (raw == NULL || *len < 11 || memcmp(raw, "-----BEGIN", 10) != 0)
		return raw; /* DER (or nothing); ca_issue checks it */
	if ((b = BIO_new_mem_buf(raw, (int)*len)) != NULL &&
	    (req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL)) != NULL &&
	    (n = i2d_X509_REQ(req, &der)) > 0)
		*len = (size_t)n;
	else
		*len = 0;
	BIO_free(b);
	X509_REQ_free(req);
	free(raw);
	if (der == NULL)
		return NULL;
	raw = malloc(*len);
	if (raw != NULL)
		memcpy(raw, der, *len);
	OPENSSL_free(der);
	return raw;
}

static int
write_issued(struct cli *cli, const char *out, const struct ca_issued *is)
{
	BIO *b = out != NULL ? BIO_new(BIO_s_mem()) : NULL;
	char *data;
	long n;
	int i, r = 0;

	if (out == NULL)
		return 0;
	if (b == NULL || !PEM_write_bio_X509(b, is->cert) ||
	    (is->enc_cert != NULL && !PEM_write_bio_X509(b, is->enc_cert)))
		r = -1;
	for (i = 0; r == 0 && i < sk_X509_num(is->chain); i++)
		if (!PEM_write_bio_X509(b, sk_X509_value(is->chain, i)))
			r = -1;
	if (r == 0 && ((n = BIO_get_mem_data(b, &data)) <= 0 ||
	    cli_write_file(out, data, (size_t)n, 0644) < 0))
		r = -1;
	BIO_free(b);
	if (r < 0)
		fprintf(stderr, "%s: error: cannot write %s\n", cli->prog, out);
	return r;
}

static void
print_issued(const char *mailbox, const struct ca_issued *is)
{
	char na[32];

	cli_time(is->not_after, na, sizeof(na));
	printf("serial=%s mailbox=%s not_after=%s%s%s\n", is->serial_hex, mailbox, na,
	    is->enc_cert != NULL ? " encryption_serial=" : "", is->enc_serial_hex);
}

int
cmd_issue(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "profile", required_argument, NULL, 'p' }, { "generation", required_argument, NULL, 'g' },
		{ "key-type", required_argument, NULL, 'k' }, { "csr", required_argument, NULL, 'c' },
		{ "days", required_argument, NULL, 'd' }, { "given-name", required_argument, NULL, 'G' },
		{ "surname", required_argument, NULL, 'S' }, { "pseudonym", required_argument, NULL, 'P' },
		{ "upn", required_argument, NULL, 'u' }, { "pss", no_argument, NULL, 'x' },
		{ "out", required_argument, NULL, 'o' }, { "validation", required_argument, NULL, 'v' },
		{ "dual-use", no_argument, NULL, '1' }, { NULL, 0, NULL, 0 } };
	struct ca_issue_request req;
	struct ca_issued is;
	struct ca_error err = { "" };
	const char *csr = NULL, *out = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0;
	bool bad = false;
	char *end;
	long long days;
	int c, r, v;

	memset(&req, 0, sizeof(req));
	req.profile = (enum ca_profile)cli->conf->profile;
	req.generation = (enum ca_generation)cli->conf->generation;
	req.key_type = (enum ca_key_type)cli->conf->key_type;
	req.validity_seconds = cli->conf->cert_validity;
	req.actor = cli->actor;
	optind = 0; /* 0: GNU getopt starts afresh (main used "+" mode) */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if ((v = ca_profile_parse(optarg)) < 0)
				bad = true;
			req.profile = (enum ca_profile)(v < 0 ? 0 : v);
			break;
		case 'g':
			if ((v = ca_generation_parse(optarg)) < 0)
				bad = true;
			req.generation = (enum ca_generation)(v < 0 ? 0 : v);
			break;
		case 'k':
			if ((v = ca_key_type_parse(optarg)) < 0)
				bad = true;
			req.key_type = (enum ca_key_type)(v < 0 ? 0 : v);
			break;
		case 'd':
			days = strtoll(optarg, &end, 10);
			if (*end != '\0' || days < 1 || days > AS_CERT_MAX_DAYS)
				bad = true;
			req.validity_seconds = days * 86400;
			break;
		case 'c': csr = optarg; break;
		case 'G': req.given_name = optarg; break;
		case 'S': req.surname = optarg; break;
		case 'P': req.pseudonym = optarg; break;
		case 'u': req.upn = optarg; break;
		case 'x': req.rsa_pss = true; break;
		case 'o': out = optarg; break;
		case 'v': req.validation_ref = optarg; break;
		case '1': req.single = true; break;
		default: bad = true; break;
		}
	}
	if (bad || optind + 1 != argc)
		return cli_usage(cli, "issue MAILBOX [--profile P] [--generation G] [--key-type T | "
		    "--csr FILE] [--days N] [--given-name N] [--surname N] [--pseudonym N] [--upn U] "
		    "[--pss] [--validation REF] [--dual-use] [--out FILE]");
	req.mailbox = argv[optind];
	if (csr != NULL) {
		if ((der = read_csr(csr, &der_len)) == NULL || der_len == 0) {
			free(der);
			fprintf(stderr, "%s: refused: cannot read a CSR from %s\n", cli->prog, csr);
			return EX_CLI_REFUSED;
		}
		req.csr_der = der;
		req.csr_len = der_len;
	}
	if ((r = cli_open_ca(cli, false)) != EX_CLI_OK) {
		free(der);
		return r;
	}
	r = ca_issue(cli->ca, &req, &is, &err);
	free(der);
	if (r != CA_OK)
		return cli_fail(cli, r, &err);
	print_issued(req.mailbox, &is);
	r = write_issued(cli, out, &is) < 0 ? EX_CLI_ERROR : EX_CLI_OK;
	ca_issued_free(&is);
	return r;
}

static int
list_cb(const struct ca_cert_info *i, void *arg)
{
	(*(unsigned long *)arg)++;
	print_info(i);
	return 0;
}

int
cmd_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mailbox", required_argument, NULL, 'm' }, { "status", required_argument, NULL, 's' },
		{ "issuer", required_argument, NULL, 'i' }, { "expiring", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 } };
	struct ca_cert_filter f = { NULL, NULL, -1, 0 };
	struct ca_error err = { "" };
	unsigned long n = 0;
	bool bad = false;
	char *end;
	int c, r, i;

	optind = 0; /* 0: GNU getopt starts afresh (main used "+" mode) */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': f.mailbox = optarg; break;
		case 'i': f.ca_id = optarg; break;
		case 's':
			for (i = 0; i < 3; i++)
				if (strcmp(optarg, status_words[i]) == 0)
					f.status = i;
			bad |= f.status < 0;
			break;
		case 'e':
			f.expiring_within = strtoll(optarg, &end, 10) * 86400;
			bad |= *end != '\0' || f.expiring_within <= 0;
			break;
		default: bad = true; break;
		}
	}
	if (bad || optind != argc)
		return cli_usage(cli, "list [--mailbox M] [--status valid|revoked|expired] "
		    "[--issuer CA_ID] [--expiring DAYS]");
	if ((r = cli_open_ca(cli, true)) != EX_CLI_OK)
		return r;
	return cli_fail(cli, ca_cert_foreach(cli->ca, &f, list_cb, &n, &err), &err);
}

struct show_arg {
	const char *format;
	unsigned long n;
};

static int
show_one(const struct ca_cert_info *i, void *argp)
{
	struct show_arg *a = argp;
	unsigned char *der = NULL;
	int n;

	a->n++;
	if (strcmp(a->format, "pem") == 0)
		PEM_write_X509(stdout, i->cert);
	else if (strcmp(a->format, "der") == 0) {
		if ((n = i2d_X509(i->cert, &der)) > 0)
			fwrite(der, 1, (size_t)n, stdout);
		OPENSSL_free(der);
	} else {
		print_info(i);
		X509_print_fp(stdout, i->cert);
	}
	return 0;
}

int
cmd_show(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
	struct show_arg a = { "text", 0 };
	struct ca_cert_info info;
	struct ca_error err = { "" };
	int c, r;

	optind = 0; /* 0: GNU getopt starts afresh (main used "+" mode) */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'f' || (strcmp(optarg, "text") != 0 && strcmp(optarg, "pem") != 0 &&
		    strcmp(optarg, "der") != 0))
			return cli_usage(cli, "show SERIAL|MAILBOX [--format text|pem|der]");
		a.format = optarg;
	}
	if (optind + 1 != argc)
		return cli_usage(cli, "show SERIAL|MAILBOX [--format text|pem|der]");
	if ((r = cli_open_ca(cli, true)) != EX_CLI_OK)
		return r;
	if (strchr(argv[optind], '@') != NULL) {
		struct ca_cert_filter f = { argv[optind], NULL, -1, 0 };

		if ((r = ca_cert_foreach(cli->ca, &f, show_one, &a, &err)) != CA_OK)
			return cli_fail(cli, r, &err);
		if (a.n == 0) {
			snprintf(err.text, sizeof(err.text), "no certificate for %s", argv[optind]);
			return cli_fail(cli, CA_NOTFOUND, &err);
		}
		return EX_CLI_OK;
	}
	if ((r = ca_cert_get(cli->ca, argv[optind], &info, &err)) != CA_OK)
		return cli_fail(cli, r, &err);
	show_one(&info, &a);
	ca_cert_info_free(&info);
	return EX_CLI_OK;
}

int
cmd_revoke(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' }, { NULL, 0, NULL, 0 } };
	struct ca_error err = { "" };
	const char *reason = NULL;
	int c, r, code;

	optind = 0; /* 0: GNU getopt starts afresh (main used "+" mode) */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r')
			return cli_usage(cli, "revoke SERIAL --reason REASON");
		reason = optarg;
	}
	if (optind + 1 != argc || reason == NULL)
		return cli_usage(cli, "revoke SERIAL --reason REASON");
	if ((code = ca_reason_parse(reason)) < 0) {
		fprintf(stderr, "%s: refused: reason \"%s\" is not allowed (keyCompromise, "
		    "cACompromise, affiliationChanged, superseded, cessationOfOperation, "
		    "certificateHold, privilegeWithdrawn, aACompromise)\n", cli->prog, reason);
		return EX_CLI_REFUSED;
	}
	if ((r = cli_open_ca(cli, false)) != EX_CLI_OK)
		return r;
	if ((r = ca_revoke(cli->ca, argv[optind], code, cli->actor, &err)) != CA_OK)
		return cli_fail(cli, r, &err);
	printf("serial=%s status=revoked reason=%s\n", argv[optind], ca_reason_name(code));
	return EX_CLI_OK;
}

int
cmd_renew(struct cli *cli, int argc, char **argv)
{
	struct ca_issued is;
	struct ca_error err = { "" };
	int r;

	if (argc != 2 || argv[1][0] == '-')
		return cli_usage(cli, "renew SERIAL");
	if ((r = cli_open_ca(cli, false)) != EX_CLI_OK)
		return r;
	if ((r = ca_renew(cli->ca, argv[1], cli->actor, &is, &err)) != CA_OK)
		return cli_fail(cli, r, &err);
	{
		char na[32];

		cli_time(is.not_after, na, sizeof(na));
		printf("serial=%s renews=%s not_after=%s%s%s\n", is.serial_hex, argv[1], na,
		    is.enc_cert != NULL ? " encryption_serial=" : "", is.enc_serial_hex);
	}
	ca_issued_free(&is);
	return EX_CLI_OK;
}

int
cmd_import(struct cli *cli, int argc, char **argv)
{
	struct ca_error err = { "" };
	STACK_OF(X509) *certs;
	int r;

	if (argc != 3)
		return cli_usage(cli, "import MAILBOX CERTFILE");
	if ((certs = cli_read_certs(argv[2])) == NULL) {
		fprintf(stderr, "%s: refused: no certificate in %s\n", cli->prog, argv[2]);
		return EX_CLI_REFUSED;
	}
	if ((r = cli_open_ca(cli, true)) == EX_CLI_OK) {
		r = cli_fail(cli, ca_recipient_store(cli->ca, argv[1], sk_X509_value(certs, 0),
		    "import", &err), &err);
		if (r == EX_CLI_OK)
			printf("mailbox=%s imported=yes\n", argv[1]);
	}
	sk_X509_pop_free(certs, X509_free);
	return r;
}
