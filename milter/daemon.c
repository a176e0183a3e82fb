/*
 * daemon: process set-up of autosmime-milter. Replaced by the libmilter service in the
 * milter issue; until then the binary only answers -V, -n and -d.
 */
#include "config.h"

#include <stdio.h>

#include "milter/daemon.h"

int
daemon_main(const struct daemon_options *opts)
{
	(void)opts;
	fprintf(stderr, "autosmime-milter: this build has no milter service; use -n, -d or -V\n");
	return 1;
}
