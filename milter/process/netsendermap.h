/*
 * netsendermap: which From: addresses mail from an internal network may be signed as without
 * SMTP authentication (network_sender_map_file). A client inside internal_networks proves no
 * identity, so only this explicit table attributes its mail. One line per network:
 * `192.0.2.10/32 scanner@example.org, alerts@example.org`; the syntax and bounds are those of
 * the sender map (sendermap.h), with a network (address or address/prefix) in place of the login.
 *
 * Lifetime: per configuration snapshot; read-only once loaded, shared by threads.
 */
#ifndef AUTOSMIME_MILTER_NETSENDERMAP_H
#define AUTOSMIME_MILTER_NETSENDERMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

struct netsendermap;

/* An empty table: nothing from a network is attributed. */
struct netsendermap *netsendermap_empty(void);

/* Parse a file or stream; NULL with "file:line: reason" or "file: invalid network" in why. */
struct netsendermap *netsendermap_load(const char *path, char *why, size_t cap);
struct netsendermap *netsendermap_load_stream(FILE *fp, const char *name, char *why, size_t cap);

void netsendermap_free(struct netsendermap *m);

/* Does one of the networks holding `client` allow `address`? Case-insensitive. */
bool netsendermap_allows(const struct netsendermap *m, const struct sockaddr *client,
    const char *address);

/* Number of network/address pairs (for logs and tests). */
size_t netsendermap_count(const struct netsendermap *m);

#endif
