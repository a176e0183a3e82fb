/*
 * spool: a byte buffer for one message body that stays in memory up to a bound and then moves
 * to a private temporary file (0600, unlinked at once so no path ever leaks it).
 *
 * Lifetime: per message. Used by the milter to collect the body, by the S/MIME engine for its
 * output, by offline mode and by the benchmarks. Not thread-safe; one owner at a time.
 */
#ifndef AUTOSMIME_SPOOL_H
#define AUTOSMIME_SPOOL_H

#include <stddef.h>
#include <sys/types.h>

struct spool;

/*
 * mem_limit: bytes kept in memory before spilling to a file in `dir`.
 * max_size: total bytes accepted; spool_write fails with SPOOL_TOO_BIG past it (0 = no limit).
 */
struct spool *spool_new(size_t mem_limit, const char *dir, size_t max_size);
void spool_free(struct spool *sp);

#define SPOOL_ERROR (-1)
#define SPOOL_TOO_BIG (-2)

/* Append; returns 0, SPOOL_ERROR (I/O, memory; errno set) or SPOOL_TOO_BIG. */
int spool_write(struct spool *sp, const void *data, size_t len);

/* Total bytes written so far. */
size_t spool_size(const struct spool *sp);

/* Reading: rewind to the start, then read sequentially; spool_read returns bytes, 0 at end, -1. */
int spool_rewind(struct spool *sp);
ssize_t spool_read(struct spool *sp, void *buf, size_t len);

/* Drop everything written; the spool is ready for new data (and back in memory). */
int spool_truncate(struct spool *sp);

/* Did the data move to a file? (for tests of bounded memory) */
int spool_on_disk(const struct spool *sp);

#endif
