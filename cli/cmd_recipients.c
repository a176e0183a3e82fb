/*
 * cmd_recipients: `autosmimectl recipients import|list|show|remove`, the admin's view of the
 * recipient certificates the gateway encrypts to (harvested from signed inbound mail,
 * imported here, or from SMIMEA). Owns nothing beyond one command run.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cli/cli.h"
#include "common/log.h"

#define RECIPIENTS_USAGE "recipients import CERTFILE [--mailbox M] | list [--mailbox M] | " \
	"show MAILBOX | remove MAILBOX"
#define MAX_IMPORT_MAILBOXES 16

static void
fingerprint(X509 *cert, char *out, size_t cap)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t o = 0;

	out[0] = '\0';
	if (X509_digest(cert, EVP_sha256(), md, &n) != 1)
		return;
	for (unsigned int i = 0; i < n && o + 3 < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%02x", md[i]);
}

static void
subject_line(X509 *cert, char *out, size_t cap)
{
	char raw[512];

	X509_NAME_oneline(X509_get_subject_name(cert), raw, sizeof(raw));
	as_log_value(raw, out, cap);
}

static int
list_cb(const struct ca_recipient_info *info, void *arg)
{
	char stored[40], until[40], fp[80], mb[300], subj[600];
	struct tm tm;
	const ASN1_TIME *na = X509_get0_notAfter(info->cert);

	(void)arg;
	cli_time(info->stored_at, stored, sizeof(stored));
	if (ASN1_TIME_to_tm(na, &tm) == 1)
		strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		snprintf(until, sizeof(until), "-");
	fingerprint(info->cert, fp, sizeof(fp));
	subject_line(info->cert, subj, sizeof(subj));
	printf("mailbox=%s source=%s stored=%s not_after=%s sha256=%s subject=%s\n",
	    as_log_value(info->mailbox, mb, sizeof(mb)), info->source, stored, until, fp, subj);
	return 0;
}

static int
do_list(struct cli *cli, int argc, char **argv)
{
	struct ca_error err = { "" };
	const char *mailbox = NULL;
	int r;

	if (argc == 3 && strcmp(argv[1], "--mailbox") == 0)
		mailbox = argv[2];
	else if (argc != 1)
		return cli_usage(cli, RECIPIENTS_USAGE);
	if ((r = cli_open_ca(cli, true)) != EX_CLI_OK)
		return r;
	return cli_fail(cli, ca_recipient_foreach(cli->ca, mailbox, list_cb, NULL, &err), &err);
}

static int
do_show(struct cli *cli, int argc, char **argv)
{
	struct ca_recipient_info info;
	struct ca_error err = { "" };
	int r;

	if (argc != 2)
		return cli_usage(cli, RECIPIENTS_USAGE);
	if ((r = cli_open_ca(cli, true)) != EX_CLI_OK)
		return r;
	if ((r = ca_recipient_get(cli->ca, argv[1], &info, &err)) != CA_OK)
		return cli_fail(cli, r, &err);
	list_cb(&info, NULL);
	r = PEM_write_X509(stdout, info.cert) == 1 ? EX_CLI_OK : EX_CLI_ERROR;
	ca_recipient_info_free(&info);
	return r;
}

static int
do_remove(struct cli *cli, int argc, char **argv)
{
	struct ca_error err = { "" };
	char mb[300];
	int r;

	if (argc != 2)
		return cli_usage(cli, RECIPIENTS_USAGE);
	if ((r = cli_open_ca(cli, true)) != EX_CLI_OK)
		return r;
	r = cli_fail(cli, ca_recipient_remove(cli->ca, argv[1], cli->actor, &err), &err);
	if (r == EX_CLI_OK)
		printf("mailbox=%s removed=yes\n", as_log_value(argv[1], mb, sizeof(mb)));
	return r;
}

/* Store cert under one mailbox; prints the outcome. */
static int
import_one(struct cli *cli, const char *mailbox, X509 *cert)
{
	struct ca_error err = { "" };
	char mb[300];
	int r;

	r = cli_fail(cli, ca_recipient_store(cli->ca, mailbox, cert, "import", &err), &err);
	if (r == EX_CLI_OK)
		printf("mailbox=%s imported=yes\n", as_log_value(mailbox, mb, sizeof(mb)));
	return r;
}

static int
do_import(struct cli *cli, int argc, char **argv)
{
	STACK_OF(OPENSSL_STRING) *emails = NULL;
	STACK_OF(X509) *certs = NULL;
	const char *mailbox = NULL;
	X509 *cert;
	int r;

	if (argc == 4 && strcmp(argv[2], "--mailbox") == 0)
		mailbox = argv[3];
	else if (argc != 2)
		return cli_usage(cli, RECIPIENTS_USAGE);
	if ((certs = cli_read_certs(argv[1])) == NULL || sk_X509_num(certs) < 1) {
		fprintf(stderr, "%s: refused: no certificate in %s\n", cli->prog, argv[1]);
		sk_X509_pop_free(certs, X509_free);
		return EX_CLI_REFUSED;
	}
	/* the first certificate is the recipient's; the rest would be its chain */
	cert = sk_X509_value(certs, 0);
	if ((r = cli_open_ca(cli, true)) != EX_CLI_OK)
		goto out;
	if (mailbox != NULL) {
		r = import_one(cli, mailbox, cert);
		goto out;
	}
	emails = X509_get1_email(cert);
	if (emails == NULL || sk_OPENSSL_STRING_num(emails) < 1) {
		fprintf(stderr, "%s: refused: the certificate names no mailbox\n", cli->prog);
		r = EX_CLI_REFUSED;
		goto out;
	}
	if (sk_OPENSSL_STRING_num(emails) > MAX_IMPORT_MAILBOXES) {
		fprintf(stderr, "%s: refused: the certificate names more than %d mailboxes; "
		    "choose one with --mailbox\n", cli->prog, MAX_IMPORT_MAILBOXES);
		r = EX_CLI_REFUSED;
		goto out;
	}
	for (int i = 0; i < sk_OPENSSL_STRING_num(emails); i++) {
		int one = import_one(cli, sk_OPENSSL_STRING_value(emails, i), cert);

		if (one != EX_CLI_OK)
			r = one;
	}
out:
	X509_email_free(emails);
	sk_X509_pop_free(certs, X509_free);
	return r;
}

int
cmd_recipients(struct cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(cli, RECIPIENTS_USAGE);
	if (strcmp(argv[1], "import") == 0)
		return do_import(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return do_list(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return do_show(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "remove") == 0)
		return do_remove(cli, argc - 1, argv + 1);
	return cli_usage(cli, RECIPIENTS_USAGE);
}
