/*
 * signals: SIGHUP (reload) and SIGTERM (clean shutdown) for autosmime-milter.
 *
 * libmilter's own signal thread treats SIGHUP like SIGTERM and stops the filter. To keep
 * SIGHUP for reloading, this module defines sigwait() in the program: libmilter (a shared
 * library) resolves its sigwait call to it, and it waits for the requested set minus SIGHUP
 * and SIGTERM. Those two go to the thread started here, which reloads the configuration on
 * SIGHUP and calls smfi_stop() on SIGTERM. SIGINT still stops libmilter directly.
 */
#ifndef AUTOSMIME_MILTER_SIGNALS_H
#define AUTOSMIME_MILTER_SIGNALS_H

#include "milter/process/runtime.h"

/* Block the handled signals in the calling thread (call before any thread starts). */
int signals_block(void);

/* Start the signal thread; conf_path/path_given are used on reload. */
int signals_start(struct milter_runtime *rt, const char *conf_path, int path_given);

/* Stop and join the signal thread. */
void signals_stop(void);

/* Did a SIGTERM ask for the shutdown (as opposed to an error in smfi_main)? */
int signals_stop_requested(void);

#endif
