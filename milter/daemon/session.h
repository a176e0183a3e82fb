/*
 * session: the milter callbacks, written against struct mfi_ops so that libmilter, offline
 * mode and unit tests drive the same code. Each callback is thin: it records what the MTA
 * tells it into the connection/message context and hands the complete message to process.c
 * at end of data, then applies the computed edits.
 *
 * Every callback is safe with a missing private pointer (the MTA may skip steps, or close a
 * connection whose connect callback failed).
 *
 * Replies: session_connect, session_helo, session_envfrom, session_envrcpt, session_header and
 * session_body always return MFI_CONTINUE, so the adapter may tell the MTA not to wait for
 * their replies (milter protocol 6, SMFIP_NR_*). What they decide is kept in the connection
 * or message context and answered at the next stage that replies:
 *   - a pass decided at MAIL FROM (mail never touched) is an ACCEPT at DATA, which spares
 *     the MTA sending headers and body;
 *   - a failure (out of memory, spool error, a body above message_size_limit) is logged when
 *     it happens and answered with the answer it always had: at DATA for connect, MAIL FROM
 *     and recipients, at end of header for headers, at end of message for the body.
 * Later data of a failed message is dropped. session_data, session_eoh and session_eom reply;
 * end of header also answers what DATA would have, for an MTA without a DATA stage.
 */
#ifndef AUTOSMIME_MILTER_SESSION_H
#define AUTOSMIME_MILTER_SESSION_H

#include <stddef.h>
#include <sys/socket.h>

#include "milter/daemon/mfi.h"
#include "milter/process/runtime.h"

/* Bytes per replacebody call. */
#define SESSION_BODY_CHUNK 65536

enum mfi_status session_connect(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx,
    const char *hostname, const struct sockaddr *addr);
enum mfi_status session_helo(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx,
    const char *helo);
enum mfi_status session_envfrom(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx,
    char **argv);
enum mfi_status session_envrcpt(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx,
    char **argv);
enum mfi_status session_data(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx);
enum mfi_status session_header(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx,
    const char *name, const char *value);
enum mfi_status session_eoh(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx);
enum mfi_status session_body(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx,
    const unsigned char *data, size_t len);
enum mfi_status session_eom(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx);
enum mfi_status session_abort(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx);
enum mfi_status session_close(struct milter_runtime *rt, const struct mfi_ops *ops, void *ctx);

#endif
