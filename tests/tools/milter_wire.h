/*
 * milter_wire: the MTA side of the milter protocol (version 6), as Postfix and Sendmail speak
 * it: option negotiation, macros, the SMTP-stage commands, and the end-of-message replies with
 * their header and body modifications. Used by milter-send (tests and the milter benchmark).
 *
 * Lifetime: one struct mw_conn per milter connection; one struct mw_result per message.
 * Not thread-safe; one thread per connection.
 */
#ifndef AUTOSMIME_MILTER_WIRE_H
#define AUTOSMIME_MILTER_WIRE_H

#include <stddef.h>

/* Bounds on what the milter may send back. */
#define MW_MAX_PACKET (16u * 1024 * 1024)
#define MW_MAX_BODY (512u * 1024 * 1024)
#define MW_MAX_HEADERS 10000

struct mw_header {
	char *name;
	char *value; /* folded lines separated by "\n" + white space, as an MTA sends them */
};

/* A message as the MTA holds it: envelope, header fields, body in CRLF form. */
struct mw_message {
	char *envfrom;
	char **rcpt;
	size_t rcpt_count;
	struct mw_header *headers;
	size_t header_count;
	char *body;
	size_t body_len;
};

/* Per-connection identity the MTA reports in macros. */
struct mw_session {
	const char *client_name;
	const char *client_addr;  /* IPv4 or IPv6 text */
	const char *helo;
	const char *auth_authen;  /* SASL login, NULL if none */
	const char *daemon_name;
};

/* The milter's final word on a message and the message after its modifications. */
struct mw_result {
	char action;              /* 'c' continue, 'a' accept, 't' tempfail, 'r' reject, 'd' discard, 'y' reply */
	char reply[512];          /* SMTP reply text for 'y' */
	struct mw_message msg;    /* the message with modifications applied */
	unsigned changes;         /* number of modification packets */
	char stage;               /* command the final answer came after: M R T L N B, E (end of message) */
};

struct mw_conn;

/* "unix:/path", "local:/path", "inet:PORT@HOST", "inet6:PORT@HOST". Timeout in seconds per I/O. */
struct mw_conn *mw_connect(const char *socket_spec, int timeout, char *err, size_t errlen);

/* Negotiate and send connect/helo. Returns 0, or -1 with err (the connection is then unusable). */
int mw_open_session(struct mw_conn *c, const struct mw_session *s, char *err, size_t errlen);

/*
 * Send one message through the milter; the result owns its copy of the modified message.
 * On failure (-1) *out holds nothing that needs freeing.
 */
int mw_send_message(struct mw_conn *c, const struct mw_session *s, const char *queue_id,
    const struct mw_message *msg, struct mw_result *out, char *err, size_t errlen);

/*
 * Wait `seconds` before each end-of-message command (after the body), so a test can stop or
 * reload the milter in the middle of a transaction.
 */
void mw_set_eom_pause(struct mw_conn *c, unsigned seconds);

/*
 * Before mw_open_session: offer the no-reply flags (SMFIP_NR_*, the default) or not, as an
 * MTA older than protocol 6 would.
 */
void mw_offer_no_reply(struct mw_conn *c, int yes);

/* After mw_open_session: the actions and protocol flags the milter asked for. */
void mw_negotiated(const struct mw_conn *c, unsigned long *actions, unsigned long *protocol);

/*
 * True after an I/O failure on the connection (the milter closed it, reset it, or did not
 * answer within the timeout): what an MTA handles per milter_default_action.
 */
int mw_lost(const struct mw_conn *c);

void mw_close(struct mw_conn *c);
void mw_result_free(struct mw_result *r);
void mw_message_free(struct mw_message *m);

/* Parse an RFC 5322 file into header fields and a CRLF body. Returns 0 or -1 with err. */
int mw_message_parse(const char *data, size_t len, struct mw_message *out, char *err, size_t errlen);

/* Write the message as a file would hold it (CRLF line ends). */
int mw_message_write(const struct mw_message *m, int fd);

#endif
