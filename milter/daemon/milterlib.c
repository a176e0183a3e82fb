/*
 * milterlib: adapts libmilter to session.c: the smfiDesc callbacks, and the mfi_ops that call
 * smfi_*. Owns nothing but the pointer to the process runtime.
 */
#include "config.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include <libmilter/mfapi.h>

#include "common/log.h"
#include "milter/daemon/milterlib.h"
#include "milter/daemon/session.h"

static struct milter_runtime *runtime;

/* Modification actions we use; libmilter checks them against the MTA's offer. */
#define ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY)
/*
 * Stages without a reply. DATA and end of header keep theirs: DATA answers ACCEPT early for
 * mail never touched (decided at MAIL FROM), which spares sending headers and body, and end
 * of header does the same for what the headers decide. DATA must reply in any case: Postfix's
 * smtpd writes RCPT and DATA, then its cleanup server writes the headers on the same
 * connection; without a reply in between, the second write waits on TCP for our delayed ACK
 * (Postfix does not set TCP_NODELAY on milter connections): measured through Postfix on an
 * inet socket, 22 msg/s at one session instead of about 430.
 */
#define NR_STAGES \
	(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_BODY)


static const char *
lm_getsymval(void *ctx, const char *name)
{
	return smfi_getsymval(ctx, (char *)name);
}

static void *
lm_getpriv(void *ctx)
{
	return smfi_getpriv(ctx);
}

static int
lm_setpriv(void *ctx, void *priv)
{
	return smfi_setpriv(ctx, priv) == MI_SUCCESS ? 0 : -1;
}

static int
lm_setreply(void *ctx, const char *rcode, const char *xcode, const char *text)
{
	return smfi_setreply(ctx, (char *)rcode, (char *)xcode, (char *)text) == MI_SUCCESS ? 0 : -1;
}

static int
lm_chgheader(void *ctx, const char *name, int index, const char *value)
{
	return smfi_chgheader(ctx, (char *)name, index, (char *)value) == MI_SUCCESS ? 0 : -1;
}

static int
lm_addheader(void *ctx, const char *name, const char *value)
{
	return smfi_addheader(ctx, (char *)name, (char *)value) == MI_SUCCESS ? 0 : -1;
}

static int
lm_replacebody(void *ctx, const unsigned char *data, size_t len)
{
	if (len > INT_MAX)
		return -1;
	return smfi_replacebody(ctx, (unsigned char *)data, (int)len) == MI_SUCCESS ? 0 : -1;
}

static const struct mfi_ops libmilter_ops = {
	lm_getsymval, lm_getpriv, lm_setpriv, lm_setreply, lm_chgheader, lm_addheader,
	lm_replacebody,
};

static sfsistat
status(enum mfi_status st)
{
	switch (st) {
	case MFI_ACCEPT:
		return SMFIS_ACCEPT;
	case MFI_TEMPFAIL:
		return SMFIS_TEMPFAIL;
	case MFI_REJECT:
		return SMFIS_REJECT;
	case MFI_DISCARD:
		return SMFIS_DISCARD;
	case MFI_CONTINUE:
		break;
	}
	return SMFIS_CONTINUE;
}

/*
 * The stages negotiated without a reply (NR_STAGES below). session.c answers MFI_CONTINUE
 * there and defers its failures to the next stage that replies (session.h). SMFIS_NOREPLY is
 * what libmilter expects from a stage the milter said it would not answer; when the MTA did
 * not offer the no-reply flag for it, libmilter sends a CONTINUE reply by itself (sendreply()
 * in libmilter/engine.c: "milter doesn't want to send a reply, but the MTA doesn't have that
 * feature: fake it"). Any other status at such a stage libmilter would turn into no reply
 * (and log that the milter lied), so nothing but CONTINUE may come back here.
 */
static sfsistat
noreply(enum mfi_status st, unsigned long stage)
{
	if (!(NR_STAGES & stage))
		return status(st);
	if (st != MFI_CONTINUE)
		as_log(AS_LEVEL_ERR, NULL, "event=error stage=noreply reason=\"status %d dropped\"",
		    (int)st);
	return SMFIS_NOREPLY;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
	return noreply(session_connect(runtime, &libmilter_ops, ctx, hostname, addr),
	    SMFIP_NR_CONN);
}

static sfsistat
cb_helo(SMFICTX *ctx, char *helo)
{
	return noreply(session_helo(runtime, &libmilter_ops, ctx, helo), SMFIP_NR_HELO);
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	return noreply(session_envfrom(runtime, &libmilter_ops, ctx, argv), SMFIP_NR_MAIL);
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	return noreply(session_envrcpt(runtime, &libmilter_ops, ctx, argv), SMFIP_NR_RCPT);
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	return noreply(session_header(runtime, &libmilter_ops, ctx, name, value), SMFIP_NR_HDR);
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	return status(session_eoh(runtime, &libmilter_ops, ctx));
}

/*
 * DATA answers what MAIL FROM and RCPT decided without a reply. Its reply matters even when
 * there is nothing to say: without this callback libmilter would ask the MTA to skip the
 * stage, and Postfix would then stall on a delayed TCP ACK on inet sockets (see NR_STAGES).
 */
static sfsistat
cb_data(SMFICTX *ctx)
{
	return status(session_data(runtime, &libmilter_ops, ctx));
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	/*
	 * Postfix and Sendmail send the last chunk on its own, before an empty end of message;
	 * libmilter would not call xxfi_eom after a body chunk that came inside end of message
	 * and answered NOREPLY, so an MTA that did that would time out (its default action).
	 */
	return noreply(session_body(runtime, &libmilter_ops, ctx, data, len), SMFIP_NR_BODY);
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	return status(session_eom(runtime, &libmilter_ops, ctx));
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	return status(session_abort(runtime, &libmilter_ops, ctx));
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	return status(session_close(runtime, &libmilter_ops, ctx));
}


/*
 * Option negotiation (libmilter/engine.c, st_optionneg): f0 is what the MTA offers as
 * actions, f1 its protocol flags plus the no-reply flags libmilter can fake; *pf1 arrives
 * holding the flags libmilter would send without this callback (SMFIP_NO* for the callbacks
 * not registered, here NOUNKNOWN) plus SMFIP_SKIP when the MTA offers it. We keep those, drop
 * SKIP (we never return SMFIS_SKIP, and without this callback libmilter does not ask for it)
 * and add the no-reply stages. libmilter then removes from what it sends the no-reply flags
 * the MTA did not offer and fakes those replies (see noreply() above).
 */
static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
    unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
    unsigned long *pf3)
{
	(void)ctx;
	(void)f2;
	(void)f3;
	if ((f0 & ACTIONS) != ACTIONS)
		as_log(AS_LEVEL_WARNING, NULL, "event=negotiate reason=\"the MTA does not allow "
		    "header and body changes\" offered=0x%lx", f0);
	*pf0 = f0 & ACTIONS;
	*pf1 = (*pf1 & ~(unsigned long)SMFIP_SKIP) | (f1 & NR_STAGES);
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

int
milterlib_register(struct milter_runtime *rt)
{
	struct smfiDesc desc;
	runtime = rt;
	memset(&desc, 0, sizeof(desc));
	desc.xxfi_name = (char *)"autosmime";
	desc.xxfi_version = SMFI_VERSION;
	desc.xxfi_flags = ACTIONS;
	desc.xxfi_connect = cb_connect;
	desc.xxfi_helo = cb_helo;
	desc.xxfi_envfrom = cb_envfrom;
	desc.xxfi_envrcpt = cb_envrcpt;
	desc.xxfi_header = cb_header;
	desc.xxfi_data = cb_data;
	desc.xxfi_eoh = cb_eoh;
	desc.xxfi_body = cb_body;
	desc.xxfi_eom = cb_eom;
	desc.xxfi_abort = cb_abort;
	desc.xxfi_close = cb_close;
	desc.xxfi_negotiate = cb_negotiate;
	return smfi_register(desc) == MI_SUCCESS ? 0 : -1;
}
