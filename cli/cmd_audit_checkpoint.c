/*
 * cmd_audit_checkpoint: `autosmimectl audit checkpoint [--out FILE]` signs the audit chain's
 * head for an auditor to keep off the host, and `audit verify --checkpoint FILE [--signer
 * CERT]` checks the log against such a file (ca/audit_checkpoint.c says what they hold).
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define CHECKPOINT_FILE_MAX (64 * 1024)

int
cmd_audit_checkpoint(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 } };
	struct ca_checkpoint cp;
	struct ca_error err = { "" };
	const char *out = NULL;
	char *pem = NULL;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'o')
			return cli_usage(cli, "audit checkpoint [--out FILE]");
		out = optarg;
	}
	if (optind != argc)
		return cli_usage(cli, "audit checkpoint [--out FILE]");
	if ((r = cli_open_ca(cli, false)) != EX_CLI_OK)
		return r;
	if ((r = ca_audit_checkpoint(cli->ca, cli->actor, &pem, &cp, &err)) != CA_OK)
		return cli_fail(cli, r, &err);
	if (out != NULL && cli_write_file(out, pem, strlen(pem), 0644) != 0) {
		fprintf(stderr, "%s: error: cannot write %s\n", cli->prog, out);
		free(pem);
		return EX_CLI_ERROR;
	}
	/* the summary goes where the PEM does not */
	fprintf(out != NULL ? stdout : stderr, "checkpoint records=%" PRIu64 " head=%s time=%lld "
	    "signer_sha256=%s%s%s\n", cp.records, cp.head, (long long)cp.time, cp.signer_sha256,
	    out != NULL ? " out=" : "", out != NULL ? out : "");
	if (out == NULL)
		fputs(pem, stdout);
	free(pem);
	return EX_CLI_OK;
}

/* The certificate an auditor pinned (--signer): exactly one in the file. */
static X509 *
pinned_signer(const char *path)
{
	STACK_OF(X509) *certs = cli_read_certs(path);
	X509 *x = NULL;

	if (certs != NULL && sk_X509_num(certs) == 1)
		x = sk_X509_shift(certs);
	sk_X509_pop_free(certs, X509_free);
	return x;
}

int
cmd_audit_verify_checkpoint(struct cli *cli, const char *file, const char *signer)
{
	struct ca_checkpoint cp;
	struct ca_error err = { "" };
	uint64_t records = 0;
	X509 *pinned = NULL;
	unsigned char *pem;
	size_t len = 0;
	int r;

	if ((pem = cli_read_file(file, CHECKPOINT_FILE_MAX, &len)) == NULL) {
		fprintf(stderr, "%s: error: cannot read checkpoint %s (at most %d bytes)\n", cli->prog,
		    file, CHECKPOINT_FILE_MAX);
		return EX_CLI_ERROR;
	}
	if (signer != NULL && (pinned = pinned_signer(signer)) == NULL) {
		fprintf(stderr, "%s: error: %s does not hold one certificate\n", cli->prog, signer);
		free(pem);
		return EX_CLI_ERROR;
	}
	if ((r = cli_open_ca(cli, true)) == EX_CLI_OK)
		r = ca_audit_checkpoint_verify(cli->ca, (const char *)pem, len, pinned, &cp, &records,
		    &err);
	else
		goto out;
	if (r == CA_OK)
		printf("audit=ok records=%" PRIu64 " checkpoint=ok checkpoint_records=%" PRIu64
		    " checkpoint_time=%lld signer_sha256=%s\n", records, cp.records,
		    (long long)cp.time, cp.signer_sha256);
	else if (r == CA_MISMATCH)
		printf("audit=rewritten records=%" PRIu64 " checkpoint_records=%" PRIu64 "\n",
		    records, cp.records);
	else if (r == CA_INVALID && cp.head[0] != '\0')	/* a good checkpoint, a broken chain */
		printf("audit=broken records=%" PRIu64 " checkpoint=ok\n", records);
	else if (r == CA_INVALID)
		printf("audit=unverified checkpoint=invalid\n");
	if (r != CA_OK) {
		fprintf(stderr, "%s: error: %s\n", cli->prog, err.text);
		r = EX_CLI_ERROR;
	} else
		r = EX_CLI_OK;
out:
	X509_free(pinned);
	free(pem);
	return r;
}
