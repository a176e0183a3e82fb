/*
 * milterlib: the libmilter side of autosmime-milter: struct mfi_ops over the real smfi_*
 * calls, and the smfiDesc whose callbacks forward to session.c. The only file besides
 * daemon.c that includes libmilter.
 */
#ifndef AUTOSMIME_MILTER_MILTERLIB_H
#define AUTOSMIME_MILTER_MILTERLIB_H

#include "milter/process/runtime.h"

/* Register the filter with libmilter; callbacks use `rt` (borrowed for the process). */
int milterlib_register(struct milter_runtime *rt);

#endif
