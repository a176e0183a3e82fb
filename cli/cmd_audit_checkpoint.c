/*
 * cmd_audit_checkpoint: `autosmimectl audit checkpoint [--out FILE | --out-dir DIR]` signs
 * the audit chain's head for an auditor to keep off the host, and `audit verify --checkpoint
 * FILE [--signer CERT]` checks the log against such a file (ca/audit_checkpoint.c says what
 * they hold).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"

#define CHECKPOINT_FILE_MAX (64 * 1024)

#define CHECKPOINT_USAGE "audit checkpoint [--out FILE | --out-dir DIR]"

/* --out-dir: made when missing; checked before anything is signed. */
static int
out_dir_ready(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/*
 * A name of its own per checkpoint (its time and record count), so that a timer fills the
 * directory for the auditor to collect; an existing file is never replaced.
 */
static int
out_dir_file(const char *dir, const struct ca_checkpoint *cp, char *path, size_t size)
{
	struct tm tm;
	char when[32];
	struct stat st;
	time_t t = cp->time;
	int n;

	if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm) == 0)
		return -1;
	n = snprintf(path, size, "%s/checkpoint-%s-%" PRIu64 ".pem", dir, when, cp->records);
	if (n < 0 || (size_t)n >= size || lstat(path, &st) == 0)
		return -1;
	return 0;
}

int
cmd_audit_checkpoint(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "out", required_argument, NULL, 'o' },
		{ "out-dir", required_argument, NULL, 'd' }, { NULL, 0, NULL, 0 } };
	struct ca_checkpoint cp;
	struct ca_error err = { "" };
	const char *out = NULL, *dir = NULL;
	char *pem = NULL, path[4096];
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'd')
			dir = optarg;
		else
			return cli_usage(cli, CHECKPOINT_USAGE);
	}
	if (optind != argc || (out != NULL && dir != NULL))
		return cli_usage(cli, CHECKPOINT_USAGE);
	if (dir != NULL && out_dir_ready(dir) < 0) {
		fprintf(stderr, "%s: error: %s is not a directory that can be made or used\n",
		    cli->prog, dir);
		return EX_CLI_ERROR;
	}
	if ((r = cli_open_ca(cli, false)) != EX_CLI_OK)
		return r;
	if ((r = ca_audit_checkpoint(cli->ca, cli->actor, &pem, &cp, &err)) != CA_OK)
		return cli_fail(cli, r, &err);
	if (dir != NULL) {
		if (out_dir_file(dir, &cp, path, sizeof(path)) < 0) {
			fprintf(stderr, "%s: error: cannot make a new checkpoint file in %s\n", cli->prog,
			    dir);
			free(pem);
			return EX_CLI_ERROR;
		}
		out = path;
	}
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
cmd_audit_verify_checkpoint(struct cli *cli, const char *file, const char *signer,
    bool incremental)
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
		r = ca_audit_checkpoint_verify(cli->ca, (const char *)pem, len, pinned, incremental,
		    &cp, &records, &err);
	else
		goto out;
	if (r == CA_OK)
		printf("audit=ok records=%" PRIu64 " checkpoint=ok checkpoint_records=%" PRIu64
		    " checkpoint_time=%lld signer_sha256=%s%s\n", records, cp.records,
		    (long long)cp.time, cp.signer_sha256, incremental ? " verified=since-checkpoint" :
		    "");
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
