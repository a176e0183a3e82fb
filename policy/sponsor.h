/*
 * sponsor: the sponsor table, mailbox -> given name and surname, for sponsor-validated
 * certificates (S/MIME BR: the organisation vouches for the person's name).
 *
 * Source format (what `autosmimectl sponsors import` reads, like a postmap source file), UTF-8:
 *     # comment
 *     alice@example.org     Alice Marie | Example-Smith
 *     bob@example.org<TAB>Bob<TAB>Builder
 * The mailbox is the first field (up to white space); the rest is "given name | surname", or,
 * when there is no '|', exactly two TAB-separated fields. Names are trimmed, non-empty, valid
 * UTF-8 without control characters, at most AS_SPONSOR_NAME_MAX bytes. Domains compare
 * case-insensitively, local parts exactly. A mailbox listed twice is an error.
 *
 * Lifetime: a table is built once (per process or per import) and read-only afterwards.
 */
#ifndef AUTOSMIME_POLICY_SPONSOR_H
#define AUTOSMIME_POLICY_SPONSOR_H

#include <stddef.h>
#include <stdio.h>

#define AS_SPONSOR_LINE_MAX 1024
#define AS_SPONSOR_NAME_MAX 64
#define AS_SPONSOR_MAILBOX_MAX 254
#define AS_SPONSOR_ENTRIES_MAX 1000000

struct as_sponsor_entry {
	char *mailbox;      /* normalised: domain lower-cased */
	char *given_name;
	char *surname;
};

struct as_sponsor_table;

/* Error text with "name:line: reason"; never holds more of the input than the line number. */
struct as_sponsor_error {
	char text[256];
};

/* Parse a source file; on failure returns -1 with the first error (no partial table). */
int as_sponsor_parse(FILE *fp, const char *name, struct as_sponsor_table **out,
    struct as_sponsor_error *err);
int as_sponsor_load(const char *path, struct as_sponsor_table **out,
    struct as_sponsor_error *err);

/* The entry of a mailbox, or NULL. The pointer lives as long as the table. */
const struct as_sponsor_entry *as_sponsor_lookup(const struct as_sponsor_table *t,
    const char *mailbox);

/* Entries in mailbox order, for `sponsors list`. */
size_t as_sponsor_count(const struct as_sponsor_table *t);
const struct as_sponsor_entry *as_sponsor_at(const struct as_sponsor_table *t, size_t i);

void as_sponsor_free(struct as_sponsor_table *t);

#endif
