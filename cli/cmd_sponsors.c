/*
 * cmd_sponsors: `autosmimectl sponsors import FILE|list`, the sponsor table (policy/sponsor.h)
 * that gives sponsor-validated certificates their given name and surname. Like postmap: the
 * file is checked completely, then installed as sponsor_map_file in one rename (a temporary
 * file next to the target), so the milter never reads half a table. Owns the file buffer.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"
#include "policy/sponsor.h"

#define SPONSOR_FILE_MAX (64 * 1024 * 1024)

static const char *
target(struct cli *cli)
{
	const char *t = cli->conf->sponsor_map_file;

	if (t == NULL || t[0] == '\0') {
		fprintf(stderr, "%s: error: sponsor_map_file is not set in the configuration\n",
		    cli->prog);
		return NULL;
	}
	return t;
}

static int
sponsors_import(struct cli *cli, const char *file)
{
	struct as_sponsor_table *t = NULL;
	struct as_sponsor_error serr = { "" };
	struct ca_error cerr = { "" };
	const char *dest = target(cli);
	unsigned char *buf = NULL;
	char fields[1200], safe[600];
	size_t len = 0, n;
	FILE *fp = NULL;
	int rc = EX_CLI_ERROR, k;

	if (dest == NULL)
		return EX_CLI_ERROR;
	if ((buf = cli_read_file(file, SPONSOR_FILE_MAX, &len)) == NULL) {
		fprintf(stderr, "%s: %s: %s: %s\n", cli->prog, errno == ENOENT ? "not found" :
		    "error", file, strerror(errno));
		return errno == ENOENT ? EX_CLI_NOTFOUND : EX_CLI_ERROR;
	}
	/* the bytes checked are the bytes installed */
	if (len > 0 && (fp = fmemopen(buf, len, "r")) == NULL) {
		fprintf(stderr, "%s: error: %s\n", cli->prog, strerror(errno));
		goto out;
	}
	if (fp == NULL) {
		fprintf(stderr, "%s: refused: %s: the file is empty\n", cli->prog, file);
		rc = EX_CLI_REFUSED;
		goto out;
	}
	if (as_sponsor_parse(fp, file, &t, &serr) < 0) {
		fprintf(stderr, "%s: refused: %s\n", cli->prog, serr.text);
		rc = EX_CLI_REFUSED;
		goto out;
	}
	n = as_sponsor_count(t);
	if ((rc = cli_open_ca(cli, true)) != EX_CLI_OK)
		goto out;
	rc = EX_CLI_ERROR;
	if (cli_write_file(dest, buf, len, 0640) < 0) {
		fprintf(stderr, "%s: error: cannot write %s: %s\n", cli->prog, dest, strerror(errno));
		goto out;
	}
	snprintf(fields, sizeof(fields), "entries=%zu file=%s", n,
	    as_log_value(dest, safe, sizeof(safe)));
	if ((k = ca_audit(cli->ca, "sponsors-import", cli->actor, fields, &cerr)) != CA_OK) {
		rc = cli_fail(cli, k, &cerr);
		goto out;
	}
	printf("sponsors=%zu installed=%s\n", n, dest);
	fprintf(stderr, "%s: reload autosmime-milter (SIGHUP) to use the new table\n", cli->prog);
	rc = EX_CLI_OK;
out:
	if (fp != NULL)
		fclose(fp);
	as_sponsor_free(t);
	free(buf);
	return rc;
}

static int
sponsors_list(struct cli *cli)
{
	struct as_sponsor_table *t = NULL;
	struct as_sponsor_error serr = { "" };
	const char *src = target(cli);
	FILE *fp;

	if (src == NULL)
		return EX_CLI_ERROR;
	if ((fp = fopen(src, "r")) == NULL) {
		fprintf(stderr, "%s: %s: %s: %s\n", cli->prog, errno == ENOENT ? "not found" :
		    "error", src, strerror(errno));
		return errno == ENOENT ? EX_CLI_NOTFOUND : EX_CLI_ERROR;
	}
	if (as_sponsor_parse(fp, src, &t, &serr) < 0) {
		fclose(fp);
		fprintf(stderr, "%s: error: %s\n", cli->prog, serr.text);
		return EX_CLI_ERROR;
	}
	fclose(fp);
	for (size_t i = 0; i < as_sponsor_count(t); i++) {
		const struct as_sponsor_entry *e = as_sponsor_at(t, i);

		printf("%s\t%s\t%s\n", e->mailbox, e->given_name, e->surname);
	}
	as_sponsor_free(t);
	return EX_CLI_OK;
}

int
cmd_sponsors(struct cli *cli, int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "import") == 0)
		return sponsors_import(cli, argv[2]);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return sponsors_list(cli);
	return cli_usage(cli, "sponsors import FILE | sponsors list");
}
