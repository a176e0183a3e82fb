/*
 * autosmime-milter: command line of the milter daemon. Parses options, loads the configuration
 * and hands over to the daemon; -n, -d and -V answer without starting it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/cmdline.h"
#include "common/util.h"
#include "milter/daemon/daemon.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: autosmime-milter [-fnV] [-d] [-c config]\n"
	    "       autosmime-milter [-c config] -t message.eml -s sender [-r recipient ...]\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -d       print the effective configuration and exit\n"
	    "  -f       stay in the foreground and log to stderr\n"
	    "  -n       check the configuration and exit\n"
	    "  -t FILE  offline mode: transform one message and print it\n"
	    "  -s ADDR  offline mode: the authenticated sender\n"
	    "  -r ADDR  offline mode: a recipient (repeatable)\n"
	    "  -V       print the version and exit\n", AS_CONF_DEFAULT_PATH);
}

int
main(int argc, char **argv)
{
	struct daemon_options opts = { 0 };
	const char *path = AS_CONF_DEFAULT_PATH;
	int path_given = 0, check = 0, dump = 0, c, rc;

	while ((c = getopt(argc, argv, "c:dfhnr:s:t:V")) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			path_given = 1;
			break;
		case 'd':
			dump = 1;
			break;
		case 'f':
			opts.foreground = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'r':
			if (opts.recipient_count >= DAEMON_MAX_OFFLINE_RCPTS) {
				fprintf(stderr, "autosmime-milter: too many -r recipients\n");
				return 2;
			}
			opts.recipients[opts.recipient_count++] = optarg;
			break;
		case 's':
			opts.offline_sender = optarg;
			break;
		case 't':
			opts.offline_file = optarg;
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
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((rc = as_cmdline_early("autosmime-milter", check, dump, path, path_given)) >= 0)
		return rc;
	opts.conf_path = path;
	opts.conf_path_given = path_given;
	return daemon_main(&opts);
}
