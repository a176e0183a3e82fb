/*
 * cmd_enrol: `autosmimectl enrol status|start|cancel MAILBOX` over policy/enrol.h. Opens the
 * enrolment context in the CA's own store (ca_store) for the one command and closes it before
 * main() closes the CA. Owns nothing beyond the command.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "policy/enrol.h"

static int
open_enrol(struct cli *cli, bool read_only, struct enrol_ctx **ctx)
{
	struct enrol_params p;
	char err[512] = "";
	int rc;

	if ((rc = cli_open_ca(cli, read_only)) != EX_CLI_OK)
		return rc;
	enrol_params_from_conf(&p, cli->conf);
	p.ca = cli->ca;
	p.store = ca_store(cli->ca);
	p.actor = cli->actor;
	if (enrol_open(&p, ctx, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: error: enrolment: %s\n", cli->prog, err);
		return EX_CLI_ERROR;
	}
	return EX_CLI_OK;
}

static const char *
yn(bool b)
{
	return b ? "yes" : "no";
}

static int
enrol_status_cmd(struct cli *cli, struct enrol_ctx *ctx, const char *mailbox)
{
	struct enrol_status s;
	char err[256] = "", t1[64], t2[64];

	if (enrol_status(ctx, mailbox, time(NULL), &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s: %s\n", cli->prog,
		    strcmp(err, "not a mailbox") == 0 ? "refused" : "error", err);
		return strcmp(err, "not a mailbox") == 0 ? EX_CLI_REFUSED : EX_CLI_ERROR;
	}
	printf("mailbox=%s eligible=%s\n", mailbox, yn(s.eligible));
	if (s.challenge_open) {
		cli_time(s.challenge_created, t1, sizeof(t1));
		cli_time(s.challenge_expires, t2, sizeof(t2));
		printf("challenge=open id=%s created=%s expires=%s\n", s.challenge_id, t1, t2);
	} else
		printf("challenge=none\n");
	if (s.validated) {
		cli_time(s.validation_time, t1, sizeof(t1));
		printf("validation=%s time=%s reusable=%s method=%s\n", s.validation_id, t1,
		    yn(s.validation_reusable), ENROL_METHOD);
		printf("evidence=%s\n", s.validation_evidence);
	} else
		printf("validation=none\n");
	if (s.certified) {
		cli_time(s.not_after, t1, sizeof(t1));
		printf("certificate=%s not_after=%s renewal_due=%s\n", s.serial_hex, t1,
		    yn(s.renewal_due));
	} else
		printf("certificate=none\n");
	return EX_CLI_OK;
}

static int
enrol_start_cmd(struct cli *cli, struct enrol_ctx *ctx, const char *mailbox)
{
	struct enrol_decision d;
	char err[256] = "";

	if (enrol_start(ctx, mailbox, cli->actor, time(NULL), &d, err, sizeof(err)) < 0) {
		bool bad = strcmp(err, "not a mailbox") == 0;

		fprintf(stderr, "%s: %s: %s\n", cli->prog, bad ? "refused" : "error", err);
		return bad ? EX_CLI_REFUSED : EX_CLI_ERROR;
	}
	printf("mailbox=%s result=%s", mailbox, enrol_event_name(d.event));
	if (d.challenge_id[0] != '\0')
		printf(" challenge=%s", d.challenge_id);
	printf("\n");
	switch (d.event) {
	case ENROL_EV_CHALLENGE_SENT:
		return EX_CLI_OK;
	case ENROL_EV_CHALLENGE_OPEN:
		fprintf(stderr, "%s: refused: a challenge is already open (cancel it first)\n",
		    cli->prog);
		return EX_CLI_REFUSED;
	case ENROL_EV_RATE_LIMITED:
		fprintf(stderr, "%s: refused: the challenge rate limit is reached\n", cli->prog);
		return EX_CLI_REFUSED;
	case ENROL_EV_NOT_ELIGIBLE:
		fprintf(stderr, "%s: refused: the mailbox may not enrol (local_domains, "
		    "enrol_domains, enrol_exclude)\n", cli->prog);
		return EX_CLI_REFUSED;
	default:
		fprintf(stderr, "%s: error: no challenge was sent (see the log)\n", cli->prog);
		return EX_CLI_ERROR;
	}
}

static int
enrol_cancel_cmd(struct cli *cli, struct enrol_ctx *ctx, const char *mailbox)
{
	char err[256] = "";
	int k = enrol_cancel(ctx, mailbox, cli->actor, err, sizeof(err));

	if (k < 0) {
		bool bad = strcmp(err, "not a mailbox") == 0;

		fprintf(stderr, "%s: %s: %s\n", cli->prog, bad ? "refused" : "error", err);
		return bad ? EX_CLI_REFUSED : EX_CLI_ERROR;
	}
	if (k == 1) {
		fprintf(stderr, "%s: not found: no open challenge for %s\n", cli->prog, mailbox);
		return EX_CLI_NOTFOUND;
	}
	printf("mailbox=%s cancelled=yes\n", mailbox);
	return EX_CLI_OK;
}

int
cmd_enrol(struct cli *cli, int argc, char **argv)
{
	struct enrol_ctx *ctx = NULL;
	const char *sub = argc > 1 ? argv[1] : "";
	bool status = strcmp(sub, "status") == 0;
	int rc;

	if (argc != 3 || (!status && strcmp(sub, "start") != 0 && strcmp(sub, "cancel") != 0))
		return cli_usage(cli, "enrol status|start|cancel MAILBOX");
	/* status reads only; start and cancel write audit records */
	if ((rc = open_enrol(cli, status, &ctx)) != EX_CLI_OK)
		return rc;
	if (status)
		rc = enrol_status_cmd(cli, ctx, argv[2]);
	else if (strcmp(sub, "start") == 0)
		rc = enrol_start_cmd(cli, ctx, argv[2]);
	else
		rc = enrol_cancel_cmd(cli, ctx, argv[2]);
	enrol_close(ctx);   /* before main() closes the CA and its store */
	return rc;
}
