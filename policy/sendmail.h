/*
 * sendmail: hand a finished message to the configured sendmail command (Postfix's or
 * Sendmail's sendmail, or anything compatible), so challenge and confirmation mail is queued
 * and delivered like any other mail.
 *
 * The command is split into words without a shell (see as_sendmail_split), run with fork/exec,
 * fed the message on its standard input, and waited for within a time bound; a non-zero exit
 * status, a signal or the time running out is a failure (the caller treats it as temporary).
 * Safe in a threaded daemon: SIGPIPE is blocked in the calling thread while writing.
 */
#ifndef AUTOSMIME_POLICY_SENDMAIL_H
#define AUTOSMIME_POLICY_SENDMAIL_H

#include <stddef.h>

#define AS_SENDMAIL_MAX_ARGS 32
#define AS_SENDMAIL_MAX_COMMAND 4096

/*
 * Split a command line into a NULL-terminated argv (free with as_sendmail_argv_free).
 * Words are separated by blanks; '...' keeps its text literally; "..." keeps it with \" and \\
 * escapes; outside quotes a backslash escapes the next character. Nothing else is special:
 * no variables, globs, pipes or redirections. The first word must be an absolute path.
 * Returns 0, or -1 with the reason in err.
 */
int as_sendmail_split(const char *command, char ***argv_out, char *err, size_t errcap);
void as_sendmail_argv_free(char **argv);

/*
 * Run `command` plus the `extra` arguments (NULL-terminated list, or NULL) and write the
 * message to its standard input. `timeout_ms` bounds the whole run; the child is killed when
 * it is exceeded. Returns 0 when the command exited 0, else -1 with a printable reason (with
 * up to 200 bytes of the command's output, control characters replaced) in err.
 */
int as_sendmail_inject(const char *command, const char *const *extra, const char *msg,
    size_t len, int timeout_ms, char *err, size_t errcap);

#endif
