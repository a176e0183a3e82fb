/*
 * cmdline: the options autosmime-milter and autosmimectl share: -c FILE, -n (check the
 * configuration and exit), -d (dump the effective configuration), -V (version).
 */
#ifndef AUTOSMIME_CMDLINE_H
#define AUTOSMIME_CMDLINE_H

#include "common/conf.h"

/*
 * Load the configuration for a program. A missing default file is fine (defaults apply) unless
 * `required`; a file named with -c must exist. Prints the error to stderr and returns NULL.
 */
struct as_conf *as_cmdline_load_conf(const char *prog, const char *path, int path_given);

/*
 * -n: load, print each warning (conf_warn.h) to stderr, then "PATH: configuration ok" and
 * return 0; or print the error and return 1.
 */
int as_cmdline_check(const char *prog, const char *path, int path_given);

/* -d: print the effective configuration; 0 or 1 like as_cmdline_check. */
int as_cmdline_dump(const char *prog, const char *path, int path_given);

/*
 * What a daemon answers before it starts: the OpenSSL version check, then -n or -d. Returns
 * the exit status when the program is done, -1 when it goes on to start.
 */
int as_cmdline_early(const char *prog, int check, int dump, const char *path, int path_given);

#endif
