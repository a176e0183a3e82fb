/*
 * message: the per-connection and per-message contexts the callbacks fill in, with the
 * bounds that keep hostile sessions from growing them without limit.
 *
 * A connection context points to an optional message context; msg_free is the one reset,
 * used at end of message, abort, the next MAIL FROM and close.
 */
#ifndef AUTOSMIME_MILTER_MESSAGE_H
#define AUTOSMIME_MILTER_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "milter/engine/smime.h"
#include "milter/process/runtime.h"

#define MSG_MAX_RCPTS 1000          /* beyond this a message is signed but never encrypted */
#define MSG_MAX_QID 64
#define MSG_MAX_LOGIN 256
#define MSG_MAX_ADDR 256

/*
 * A failure the MTA has not been told about yet: the stages that do not reply (see session.h)
 * record it here and the next stage that replies answers it.
 */
enum msg_deferred {
	MSG_DEFER_NONE,
	MSG_DEFER_ERROR,      /* internal failure: the on_error answer */
	MSG_DEFER_OVERSIZE,   /* above message_size_limit: the oversize_action answer */
};

/* Lifetime: from MAIL FROM to end of message or abort. Owned by its connection. */
struct msg_ctx {
	char qid[MSG_MAX_QID];      /* "i" macro, or "NOQUEUE" */
	char *login;                /* {auth_authen}; NULL when not authenticated */
	char **rcpts;               /* bare addresses, without angle brackets */
	size_t rcpt_count;
	bool rcpts_overflow;
	struct smime_header *headers;
	size_t header_count;
	size_t header_cap;
	size_t header_bytes;
	bool headers_overflow;      /* too many or too long: the message passes untouched */
	struct spool *body;         /* created at the first body chunk */
	size_t size;                /* header and body bytes seen */
	char *mail_from;            /* MAIL FROM without angle brackets, "" for <>; NULL if unknown */
	bool pass;                  /* decided at MAIL FROM: accepted untouched at DATA */
	enum msg_deferred deferred; /* set once, by the first failure; later data is dropped */
	const char *deferred_stage; /* static string naming the stage that failed */
};

/* Lifetime: from connect to close. Owned by libmilter's private pointer. */
struct conn_ctx {
	struct snapshot *snap;      /* held for the whole connection, even across a reload */
	bool internal;              /* client address in internal_networks, not a local post */
	bool local_submission;      /* posted with sendmail(1): no TCP client (decide.h) */
	bool has_client_sa;
	struct sockaddr_storage client_sa; /* for network_sender_map_file */
	char client[64];            /* client address text, for logs */
	char helo[256];             /* HELO/EHLO argument (enrolment replies: SPF) */
	struct msg_ctx *msg;
};

struct msg_ctx *msg_new(void);
void msg_free(struct msg_ctx *msg);

/* Append; return 0, or -1 when out of memory. Past the bounds they set the overflow flags. */
int msg_add_rcpt(struct msg_ctx *msg, const char *rcpt);
int msg_add_header(struct msg_ctx *msg, const char *name, const char *value);
/* Keep the MAIL FROM address (angle brackets dropped); 0, or -1 when out of memory. An
 * address longer than MSG_MAX_ADDR leaves mail_from NULL. */
int msg_set_mail_from(struct msg_ctx *msg, const char *addr);

/* Record the first failure (a later one changes nothing) and free the body spool: nothing
 * of this message will be processed. */
void msg_defer(struct msg_ctx *msg, enum msg_deferred what, const char *stage);

/* The value of the n-th (from 1) header named `name`, NULL when there is none. */
const char *msg_header(const struct msg_ctx *msg, const char *name, size_t n);
size_t msg_header_count(const struct msg_ctx *msg, const char *name);

/* The From: mailbox per decide_from_mailbox; -1 when none or several From:. */
int msg_from_mailbox(const struct msg_ctx *msg, char *out, size_t cap);

#endif
