/*
 * inbound: S/MIME for mail to local recipients, the one entry point the daemon calls at end of
 * message for inbound mail: strip forged Authentication-Results that claim our authserv-id,
 * decrypt mail enveloped to a key the gateway holds, verify signatures (also inside decrypted
 * mail) against the trust anchors with CRL revocation checks, add Authentication-Results
 * (RFC 7281 smime method), and harvest valid signer certificates into the CA's recipient store.
 *
 * The answer is a set of header edits and optionally a new body, computed completely before
 * the caller applies anything. Knows nothing of libmilter.
 *
 * Lifetime: struct inbound is per process (anchors, CRL cache and its thread; thread-safe);
 * an inbound_result is per message.
 *
 * The main header of milter/inbound/ (libautosmime-inbound.a): the folder owns this pipeline,
 * Authentication-Results and the CRL fetcher. It may call the engine, ca/ and common/.
 */
#ifndef AUTOSMIME_INBOUND_H
#define AUTOSMIME_INBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "milter/inbound/authres.h"
#include "milter/inbound/recipient_chain.h"
#include "milter/engine/smime.h"

struct ca;
struct inbound;

#define INBOUND_DECRYPT_HEADER "X-Autosmime-Decryption"
#define INBOUND_MAX_KEY_TRIES 32   /* local recipients whose keys we try on one message */

/* Settings, usually from struct as_conf. Strings are copied. */
struct inbound_params {
	const char *authserv_id;         /* "" or NULL: the host name */
	bool verify, decrypt, harvest;
	const char *trust_anchor_file;   /* system CA bundle */
	const char *anchor_dir;          /* admin-imported anchors (*.pem, *.crt); NULL: none */
	bool crl_check;                  /* fetch CRLs from distribution points */
	const char *crl_cache_dir;       /* NULL or "": CRLs kept in memory only */
	int crl_timeout_ms;              /* one fetch; 0: default */
	int crl_wait_ms;                 /* message path wait on first sight; 0: default */
	size_t mem_limit;                /* spools */
	const char *spool_dir;
	size_t max_size;
	time_t (*now)(void);             /* injectable clock; NULL: time() */
};

/* `ca` is borrowed (may be NULL: no decryption, no harvest, no gateway anchors). */
struct inbound *inbound_new(const struct inbound_params *p, struct ca *ca, char *why,
    size_t whycap);
void inbound_free(struct inbound *ib);

/* The authserv-id in use (configured, or the host name). Valid while ib lives. */
const char *inbound_authserv_id(const struct inbound *ib);

/* The trust anchors (read-only; valid while ib lives), e.g. for SMIMEA PKIX-EE checks. */
STACK_OF(X509) *inbound_anchors(const struct inbound *ib);

/*
 * Whether `cert`, a recipient certificate, may be encrypted to as far as revocation goes: its
 * chain, built from the trust anchors and the CA certificates of chains verified so far, has
 * no certificate in the CRLs the cache holds now (nothing waits; a missing CRL is fetched for
 * later). With crl_check off: true. false fills res with the revoked one's depth and subject.
 */
bool inbound_recipient_usable(struct inbound *ib, X509 *cert,
    struct recipient_chain_result *res);

/* One message. Everything is borrowed. */
struct inbound_input {
	const char *qid;
	const struct smime_header *headers;
	size_t header_count;
	struct spool *body;
	const char *from;                /* the From: mailbox; NULL when none or several */
	char *const *rcpts;              /* local recipients: whose keys may decrypt */
	size_t rcpt_count;
};

/* Delete the index-th (from 1) field called name; listed highest index first per name. */
struct inbound_delete {
	char *name;
	int index;
};

/*
 * Apply `del` first, then edit.remove (every field of each name), then edit.add in order; the
 * body is replaced only when edit.body is not NULL.
 */
struct inbound_result {
	struct smime_result edit;
	struct inbound_delete *del;
	size_t del_count;
	enum authres_result smime;       /* AUTHRES_NONE when the message carried no signature */
	bool decrypted;
	/* For the caller's one log line per message (added with the daemon hook). */
	char signer[256];                /* certificate mailbox (see inbound_verdict.identifier) */
	char serial[80];
	bool harvested;                  /* the signer certificate was stored for encryption */
};

enum inbound_status {
	INBOUND_PASS,     /* nothing to change */
	INBOUND_MODIFY,   /* apply the result */
	INBOUND_ERROR,    /* internal failure: the caller answers a temporary failure */
};

enum inbound_status inbound_process(struct inbound *ib, const struct inbound_input *in,
    struct inbound_result *out);
void inbound_result_free(struct inbound_result *r);

#endif
