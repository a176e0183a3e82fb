/*
 * autosmimectl: the administrator's command line over ca/ and policy/. This file parses the
 * global options and dispatches to one handler per command.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cmdline.h"
#include "common/util.h"

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
	    "  version  print the version\n", AS_CONF_DEFAULT_PATH);
}

int
main(int argc, char **argv)
{
	const char *path = AS_CONF_DEFAULT_PATH;
	int path_given = 0, check = 0, dump = 0, c;
	char why[256];

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
	fprintf(stderr, "autosmimectl: unknown command \"%s\"\n", argv[optind]);
	usage(stderr);
	return 2;
}
