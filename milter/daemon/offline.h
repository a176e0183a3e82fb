/*
 * offline: `autosmime-milter -t in.eml -s sender [-r rcpt ...]`: feed one message file through
 * the same callbacks as the daemon (as an authenticated session of `sender`), apply the edits
 * they ask for to the file's header and body, and print the result on stdout.
 */
#ifndef AUTOSMIME_MILTER_OFFLINE_H
#define AUTOSMIME_MILTER_OFFLINE_H

#include <stdio.h>

#include "milter/process/runtime.h"

/* Exit codes of offline mode besides 0 (printed) and 1 (error). */
#define OFFLINE_EXIT_TEMPFAIL 75   /* the milter would answer a temporary failure */
#define OFFLINE_EXIT_REJECT 69     /* the milter would reject the message */

struct offline_request {
	const char *file;
	const char *sender;
	const char *const *rcpts;
	int rcpt_count;
};

/* Returns the process exit status; the message goes to `out`, diagnostics to stderr. */
int offline_run(struct milter_runtime *rt, const struct offline_request *req, FILE *out);

#endif
