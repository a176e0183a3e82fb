/*
 * sendermap: the table of SASL logins to the extra addresses each login may send as
 * (sender_map_file). One line per login: `login addr1, addr2 ...`; `#` starts a comment.
 * The file is hostile input: every line, address and count is bounded, and any malformed
 * line fails the whole load so that a half-read table is never used.
 *
 * Lifetime: per configuration snapshot; read-only after sendermap_load, so threads share it.
 */
#ifndef AUTOSMIME_MILTER_SENDERMAP_H
#define AUTOSMIME_MILTER_SENDERMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SENDERMAP_MAX_FILE (16 * 1024 * 1024)
#define SENDERMAP_MAX_LINE 4096
#define SENDERMAP_MAX_ENTRIES 200000   /* login/address pairs in the whole file */
#define SENDERMAP_MAX_PER_LOGIN 256    /* addresses one login may collect */
#define SENDERMAP_MAX_ADDR 254         /* RFC 5321 path limit */
#define SENDERMAP_MAX_LOGIN 256

struct sendermap;

struct sendermap_error {
	char text[512];
};

/* An empty table (no sender_map_file). */
struct sendermap *sendermap_empty(void);

/* Parse a file; NULL with "file:line: reason" in err on any error. */
struct sendermap *sendermap_load(const char *path, struct sendermap_error *err);

/* Parse from a stream; `name` is used in messages. */
struct sendermap *sendermap_load_stream(FILE *fp, const char *name, struct sendermap_error *err);

void sendermap_free(struct sendermap *map);

/* May `login` send as `address` according to the table? Case-insensitive. */
bool sendermap_allows(const struct sendermap *map, const char *login, const char *address);

/* The login of pair i (i < sendermap_count), in sorted order: equal logins are adjacent. */
const char *sendermap_login_at(const struct sendermap *map, size_t i);

/* Number of login/address pairs (for logs and tests). */
size_t sendermap_count(const struct sendermap *map);

/*
 * Is `s` a plausible addr-spec: one '@', non-empty local part and domain, printable ASCII or
 * UTF-8 without spaces, at most SENDERMAP_MAX_ADDR bytes? Shared with the From: parser.
 */
bool sendermap_valid_address(const char *s);

#endif
