/*
 * log: the one logging layer of autosmime.
 *
 * One line per event: the queue id first where there is one ("3F2A1C: "), then key=value
 * fields. Lines go to syslog (facility from the config, mail by default) or to stderr in the
 * foreground. Callers pass hostile values through as_log_value() so a field can't be forged.
 * Secrets (tokens, keys, passphrases) are never passed here. Process-wide state.
 */
#ifndef AUTOSMIME_LOG_H
#define AUTOSMIME_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/conf.h"

#define AS_LOG_LINE_MAX 2048

/* Levels are enum as_log_level from conf.h: AS_LEVEL_ERR .. AS_LEVEL_DEBUG. */

void as_log_open(const char *ident, int facility, int level, bool to_stderr);
void as_log_set_level(int level);
void as_log_close(void);

/* Log one event. `qid` may be NULL. */
void as_log(int level, const char *qid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like as_log, then drain the OpenSSL error queue into an ssl_error="..." field. */
void as_log_ssl(int level, const char *qid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Make a hostile value safe as a key=value field: quoted when it has spaces, '"', '=' or is
 * empty; control bytes, backslashes and quotes escaped; cut at `cap`. Returns buf.
 */
const char *as_log_value(const char *value, char *buf, size_t cap);

/* Tests capture lines here instead of syslog/stderr; NULL restores normal output. */
typedef void (*as_log_sink_fn)(int level, const char *line, void *arg);
void as_log_set_sink(as_log_sink_fn fn, void *arg);

#endif
