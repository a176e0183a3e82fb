/*
 * autosmimectl: the administrator's command line over ca/ and policy/. This file parses the
 * global options and dispatches to one handler per command (cmd_*.c, one file per group).
 */
#include "config.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ca/ca.h"
#include "cli/cli.h"
#include "common/cmdline.h"
#include "common/util.h"

/* One handler per command; each lives in the cmd_*.c file of its group. */
static const struct {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
} commands[] = {
	{ "ca", cmd_ca }, { "issue", cmd_issue }, { "list", cmd_list }, { "show", cmd_show },
	{ "revoke", cmd_revoke }, { "renew", cmd_renew }, { "crl", cmd_crl },
	{ "export-p12", cmd_export_p12 }, { "import", cmd_import }, { "audit", cmd_audit },
	{ "recipients", cmd_recipients }, { "enrol", cmd_enrol }, { "sponsors", cmd_sponsors },
	{ "backup", cmd_backup }, { "restore", cmd_restore },
	{ "domain", cmd_domain },
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: autosmimectl [-c config] [-n | -d | -V] [command [args]]\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -d       print the effective configuration and exit\n"
	    "  -n       check the configuration and exit\n"
	    "  -V       print the version and exit\n"
	    "commands:\n"
	    "  version                     print the version\n"
	    "  ca init|show|import|rotate|revoke-issuer\n"
	    "                              manage the root and issuing CAs\n"
	    "  issue MAILBOX [options]     issue a certificate (generated key or --csr FILE)\n"
	    "  list [filters]              list certificates\n"
	    "  show SERIAL|MAILBOX         show certificates (--format text|pem|der)\n"
	    "  revoke SERIAL --reason R    revoke a certificate\n"
	    "  renew SERIAL                issue a successor with a new key\n"
	    "  crl [--days N] [--if-due] [--root-cert F --root-key F]\n"
	    "                              write the CRLs into crl_dir\n"
	    "  export-p12 MAILBOX --out F  export key and certificate as PKCS#12\n"
	    "  import MAILBOX CERTFILE     store a recipient certificate\n"
	    "  audit verify|checkpoint|show|export  check, sign the head of, or read the audit log\n"
	    "  recipients import|list|show|remove   recipient certificates for encryption\n"
	    "  enrol status|start|cancel MAILBOX    in-band enrolment of a mailbox\n"
	    "  sponsors import FILE|list   the sponsor table (given name, surname)\n"
	    "  domain validate DOMAIN [--new] | list | revoke DOMAIN\n"
	    "                              domain control by DNS TXT (organization-validated)\n"
	    "  backup DIR                  consistent copy of the store, also while the daemon runs\n"
	    "  restore DIR                 put a backup in place of the store (daemon stopped)\n"
	    "exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 refused\n", AS_CONF_DEFAULT_PATH);
}

int
main(int argc, char **argv)
{
	const char *path = AS_CONF_DEFAULT_PATH;
	int path_given = 0, check = 0, dump = 0, c, rc;
	char why[256];
	struct cli cli;
	struct passwd *pw;
	size_t i;

	while ((c = getopt(argc, argv, "+c:dhnV")) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			path_given = 1;
			break;
		case 'd':
			dump = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'V':
			printf("%s\n", as_version_line());
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (as_openssl_check(why, sizeof(why)) < 0) {
		fprintf(stderr, "autosmimectl: %s\n", why);
		return 1;
	}
	if (check)
		return as_cmdline_check("autosmimectl", path, path_given);
	if (dump)
		return as_cmdline_dump("autosmimectl", path, path_given);
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[optind], "version") == 0) {
		printf("%s\n", as_version_line());
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		memset(&cli, 0, sizeof(cli));
		cli.prog = "autosmimectl";
		pw = getpwuid(getuid());
		snprintf(cli.actor, sizeof(cli.actor), "cli:%.50s", pw != NULL ? pw->pw_name : "?");
		if ((cli.conf = as_cmdline_load_conf("autosmimectl", path, path_given)) == NULL)
			return 1;
		rc = commands[i].fn(&cli, argc - optind, argv + optind);
		ca_close(cli.ca);
		as_conf_free(cli.conf);
		return rc;
	}
	fprintf(stderr, "autosmimectl: unknown command \"%s\"\n", argv[optind]);
	usage(stderr);
	return 2;
}
