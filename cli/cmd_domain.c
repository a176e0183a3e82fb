/*
 * cmd_domain: `autosmimectl domain validate|list|revoke`, domain control validation by DNS
 * Change (S/MIME BR 3.2.2.1, TLS BR 3.2.2.4.7) for organization-validated issuance. The CA
 * keeps the pending value and the validations (ca/ca_domain.h); policy/domain_txt.h asks the
 * DNS perspectives. Output is key=value lines. Owns nothing beyond the command.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ca/ca_domain.h"
#include "cli/cli.h"
#include "common/log.h"
#include "policy/domain_txt.h"

static void
print_record(const struct ca_domain_info *d, time_t now)
{
	char t1[64], t2[64];

	printf("domain=%s", d->domain);
	if (d->validated) {
		cli_time(d->validated_at, t1, sizeof(t1));
		cli_time(d->valid_until, t2, sizeof(t2));
		printf(" validation=%s status=%s method=%s validated_at=%s valid_until=%s", d->id,
		    d->valid_until > now ? "valid" : "expired", d->method, t1, t2);
	} else
		printf(" validation=none status=%s", d->pending ? "pending" : "none");
	if (d->pending) {
		cli_time(d->pending_expires, t1, sizeof(t1));
		printf(" pending=yes pending_expires=%s%s", t1, d->pending_expires <= now ?
		    " pending_status=expired" : "");
	} else
		printf(" pending=no");
	printf("\n");
}

/* A new value: print it and the exact record to publish. */
static int
new_value(struct cli *cli, const char *domain)
{
	char value[CA_DOMAIN_VALUE_LEN + 1], name[300], t[64];
	struct ca_domain_info d;
	struct ca_error err = { "" };
	int r;

	if ((r = ca_domain_challenge(cli->ca, domain, cli->actor, value, &d, &err)) != CA_OK)
		return cli_fail(cli, r, &err);
	if (as_domain_txt_name(d.domain, name, sizeof(name)) < 0) {
		fprintf(stderr, "%s: refused: the domain is too long for the record name\n",
		    cli->prog);
		return EX_CLI_REFUSED;
	}
	cli_time(d.pending_expires, t, sizeof(t));
	printf("domain=%s status=pending record_name=%s record_type=TXT value=%s expires=%s\n",
	    d.domain, name, value, t);
	printf("record=%s 300 IN TXT \"%s\"\n", name, value);
	printf("next=publish the record in a DNSSEC-signed zone, then run: autosmimectl domain "
	    "validate %s\n", d.domain);
	return EX_CLI_OK;
}

static int
audit_failure(struct cli *cli, const char *domain, const struct as_domain_txt_result *res)
{
	char f[AS_DOMAIN_TXT_EVIDENCE_MAX * 2 + 1200], b1[600], b2[800], b3[AS_DOMAIN_TXT_EVIDENCE_MAX * 2];
	struct ca_error err = { "" };

	snprintf(f, sizeof(f), "domain=%s result=failed method=%s reason=%s evidence=%s",
	    as_log_value(domain, b1, sizeof(b1)), CA_DOMAIN_METHOD,
	    as_log_value(res->reason, b2, sizeof(b2)), as_log_value(res->evidence, b3, sizeof(b3)));
	return ca_audit(cli->ca, "domain-validation", cli->actor, f, &err);
}

static int
check_value(struct cli *cli, const struct ca_domain_info *d, const struct as_perspectives *ps)
{
	struct as_domain_txt_params p;
	struct as_domain_txt_result res;
	struct ca_domain_info out;
	struct ca_error err = { "" };
	char t[64];
	int r;

	memset(&p, 0, sizeof(p));
	p.ps = ps;
	p.trust_anchor_file = cli->conf->dns_trust_anchor_file;
	p.expect_sha256 = d->pending_hash;
	if (as_domain_txt_check(&p, d->domain, &res) < 0) {
		fprintf(stderr, "%s: error: %s\n", cli->prog, res.reason);
		return EX_CLI_ERROR;
	}
	if (!res.valid) {
		if (audit_failure(cli, d->domain, &res) != CA_OK)
			fprintf(stderr, "%s: error: the failed attempt could not be audited\n",
			    cli->prog);
		printf("domain=%s status=failed agreed=%u quorum=%u reason=\"%s\"\n", d->domain,
		    res.agreed, ps->quorum, res.reason);
		printf("evidence=%s\n", res.evidence);
		fprintf(stderr, "%s: refused: %s\n", cli->prog, res.reason);
		/* nobody answered enough: a temporary failure, not a verdict on the record */
		return res.failed > 0 && res.agreed + res.failed >= ps->quorum && res.bogus == 0 &&
		    res.insecure == 0 ? EX_CLI_ERROR : EX_CLI_REFUSED;
	}
	r = ca_domain_record(cli->ca, d->domain, d->pending_hash, cli->conf->domain_validation_reuse,
	    res.evidence, cli->actor, &out, &err);
	if (r != CA_OK)
		return cli_fail(cli, r, &err);
	cli_time(out.valid_until, t, sizeof(t));
	printf("domain=%s status=valid validation=%s method=%s agreed=%u quorum=%u valid_until=%s\n",
	    out.domain, out.id, out.method, res.agreed, ps->quorum, t);
	printf("evidence=%s\n", res.evidence);
	return EX_CLI_OK;
}

static int
validate_cmd(struct cli *cli, const char *domain, bool fresh)
{
	struct as_perspectives ps;
	struct ca_domain_info d;
	struct ca_error err = { "" };
	time_t now = time(NULL);
	char e[400];
	int r;

	/* a configuration error shows before any value is made */
	if (as_perspectives_from(&cli->conf->dns_perspectives, cli->conf->dns_perspective_quorum,
	    cli->conf->dns_resolver, &ps, e, sizeof(e)) < 0) {
		fprintf(stderr, "%s: error: %s\n", cli->prog, e);
		return EX_CLI_ERROR;
	}
	r = ca_domain_get(cli->ca, domain, &d, &err);
	if (r != CA_OK && r != CA_NOTFOUND)
		return cli_fail(cli, r, &err);
	if (fresh || r == CA_NOTFOUND || (!d.pending && !(d.validated && d.valid_until > now)))
		return new_value(cli, domain);
	if (!d.pending) {
		print_record(&d, now);   /* still valid: --new starts a fresh validation */
		return EX_CLI_OK;
	}
	if (d.pending_expires <= now) {
		fprintf(stderr, "%s: note: the pending value expired; here is a new one\n", cli->prog);
		return new_value(cli, domain);
	}
	return check_value(cli, &d, &ps);
}

static int
list_one(const struct ca_domain_info *d, void *arg)
{
	print_record(d, *(const time_t *)arg);
	return 0;
}

int
cmd_domain(struct cli *cli, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	struct ca_error err = { "" };
	time_t now = time(NULL);
	int rc;

	if (strcmp(sub, "validate") == 0 && (argc == 3 || (argc == 4 &&
	    strcmp(argv[3], "--new") == 0))) {
		if ((rc = cli_open_ca(cli, true)) != EX_CLI_OK)
			return rc;
		return validate_cmd(cli, argv[2], argc == 4);
	}
	if (strcmp(sub, "list") == 0 && argc == 2) {
		if ((rc = cli_open_ca(cli, true)) != EX_CLI_OK)
			return rc;
		return cli_fail(cli, ca_domain_foreach(cli->ca, list_one, &now, &err), &err);
	}
	if (strcmp(sub, "revoke") == 0 && argc == 3) {
		if ((rc = cli_open_ca(cli, true)) != EX_CLI_OK)
			return rc;
		if ((rc = ca_domain_revoke(cli->ca, argv[2], cli->actor, &err)) != CA_OK)
			return cli_fail(cli, rc, &err);
		printf("domain=%s revoked=yes\n", argv[2]);
		return EX_CLI_OK;
	}
	return cli_usage(cli, "domain validate DOMAIN [--new] | domain list | domain revoke DOMAIN");
}
