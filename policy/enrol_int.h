/*
 * enrol_int: what enrol_ctx.c (the context), enrol.c (the mail flows) and enrol_admin.c
 * (renewal, status, CLI commands) share; nobody outside policy/enrol*.c includes it.
 */
#ifndef AUTOSMIME_POLICY_ENROL_INT_H
#define AUTOSMIME_POLICY_ENROL_INT_H

#include "policy/enrol.h"
#include "policy/enrol_store.h"
#include "policy/perspective.h"
#include "policy/sponsor.h"

/* Per process; see enrol.h. `last_purge` is touched atomically. */
struct enrol_ctx {
	struct enrol_params p;              /* strings borrowed from the caller's config */
	struct as_estore *es;
	char *template_text;                /* NULL: the built-in text */
	struct as_sponsor_table *sponsors;  /* NULL: no table */
	long long last_purge;
	struct as_perspectives perspectives; /* dns_perspectives, or dns_resolver alone */
};

/* "Local@Example.ORG" -> "local@example.org" (ASCII folded, as Postfix delivers); refuses what ca_mailbox_check refuses.
 * Returns 0 or -1. */
int enrol_mailbox_norm(const char *in, char *out, size_t cap);

/* May this (normalised) mailbox enrol? local_domains, enrol_domains, enrol_exclude. */
bool enrol_eligible(const struct enrol_ctx *ctx, const char *mailbox);

/* One audit record; fields are printf-formatted key=value text. Failures are logged. */
void enrol_audit(struct enrol_ctx *ctx, const char *event, const char *actor, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

/* Send a challenge to a normalised, eligible mailbox (see enrol_start); `client` (an SMTP
 * client address, or NULL) also counts it against that host's network (challenge_limit_client_hour). */
int enrol_send_challenge(struct enrol_ctx *ctx, const char *mailbox, const char *client,
    const char *actor, time_t now, struct enrol_decision *out);

/* The network a client address counts under: an IPv4 address as it is, an IPv6 address's
 * /64 ("2001:db8::/64"), an IPv4-mapped IPv6 address as IPv4, anything else (a local
 * submission without an address) "local". Returns 0, or -1 when cap is too small. */
int enrol_client_net(const char *client, char *out, size_t cap);

/* The newest valid certificate of a mailbox: 0 (found), 1 (none), -1 (error). */
int enrol_newest_cert(struct enrol_ctx *ctx, const char *mailbox, char serial[41],
    time_t *not_after);

const char *enrol_actor(const struct enrol_ctx *ctx);

/* Sign a mail of the gateway (challenge, confirmation) with the certificate of enrol_address,
 * issuing or renewing that first when needed (enrol_gateway.c). *out malloc'd; 0 or -1. */
int enrol_gateway_sign(struct enrol_ctx *ctx, const char *actor, time_t now, const char *msg,
    size_t len, char **out, size_t *outlen, char *err, size_t errcap);

#endif
