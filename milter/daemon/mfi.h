/*
 * mfi: the one small interface between the milter callbacks and libmilter. Every smfi_* call
 * the callbacks make goes through a struct mfi_ops, so the same callbacks run under libmilter
 * (mfi_libmilter.c), in offline mode (offline.c) and under unit tests, whose implementation
 * records what the callbacks asked the MTA to do.
 *
 * `ctx` is opaque here: SMFICTX * under libmilter, the caller's own state elsewhere.
 */
#ifndef AUTOSMIME_MILTER_MFI_H
#define AUTOSMIME_MILTER_MFI_H

#include <stddef.h>

/* Callback answers; mfi_libmilter.c maps them to SMFIS_*. */
enum mfi_status {
	MFI_CONTINUE,
	MFI_ACCEPT,    /* no further processing of this message: it passes untouched */
	MFI_TEMPFAIL,
	MFI_REJECT,
	MFI_DISCARD,   /* accept and throw away (enrolment replies) */
};

/* Lifetime: static tables; the ops never change while callbacks run. */
struct mfi_ops {
	/* A macro value ("{auth_authen}", "i", ...), NULL when the MTA did not send it. */
	const char *(*getsymval)(void *ctx, const char *name);
	void *(*getpriv)(void *ctx);
	int (*setpriv)(void *ctx, void *priv);
	/* The remaining calls return 0 on success, -1 on failure. */
	int (*setreply)(void *ctx, const char *rcode, const char *xcode, const char *text);
	/* index counts headers of that name from 1; value NULL deletes */
	int (*chgheader)(void *ctx, const char *name, int index, const char *value);
	int (*addheader)(void *ctx, const char *name, const char *value);
	/* called repeatedly; the chunks together form the new body */
	int (*replacebody)(void *ctx, const unsigned char *data, size_t len);
};

#endif
