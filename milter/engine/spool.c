/*
 * spool: one message body, in memory up to mem_limit and then in a private temporary file
 * (mkstemp in the given directory, mode 0600, unlinked at once so no path ever names it).
 *
 * Owns the memory buffer and the file descriptor of one spool. When the data moves to the
 * file, the memory buffer is released, so peak memory stays at about mem_limit whatever the
 * message size. Reading uses a small fixed buffer of the caller.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "milter/engine/spool.h"

/* Lifetime: per message; see spool.h. */
struct spool {
	size_t mem_limit;
	size_t max_size;
	char *dir;
	unsigned char *buf;	/* in-memory data while fd < 0 */
	size_t cap;
	size_t size;		/* bytes written */
	size_t rpos;		/* read position (memory mode) */
	int fd;			/* >= 0 once on disk */
	unsigned char *wbuf;	/* on disk: small writes are gathered here first */
	size_t wlen;
};

#define SPOOL_WBUF 65536

struct spool *
spool_new(size_t mem_limit, const char *dir, size_t max_size)
{
	struct spool *sp = calloc(1, sizeof(*sp));

	if (sp == NULL)
		return NULL;
	sp->mem_limit = mem_limit;
	sp->max_size = max_size;
	sp->fd = -1;
	sp->dir = strdup(dir != NULL && *dir != '\0' ? dir : "/tmp");
	if (sp->dir == NULL) {
		free(sp);
		return NULL;
	}
	return sp;
}

void
spool_free(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->fd >= 0)
		close(sp->fd);
	free(sp->buf);
	free(sp->wbuf);
	free(sp->dir);
	free(sp);
}

static int
write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Move the in-memory data to a fresh private file and drop the buffer. */
static int
spill(struct spool *sp)
{
	int r = -1;
	size_t plen = strlen(sp->dir) + sizeof("/autosmime.XXXXXX");
	char *path = malloc(plen);
	int fd = -1;
	mode_t old;

	if (path == NULL)
		goto out;
	snprintf(path, plen, "%s/autosmime.XXXXXX", sp->dir);
	old = umask(077);
	fd = mkstemp(path);
	umask(old);
	if (fd < 0)
		goto out;
	/* unlinked at once: the file lives only as long as the descriptor */
	if (unlink(path) != 0 || fchmod(fd, 0600) != 0)
		goto out;
	if (write_all(fd, sp->buf, sp->size) != 0)
		goto out;
	if (sp->wbuf == NULL && (sp->wbuf = malloc(SPOOL_WBUF)) == NULL)
		goto out;
	sp->wlen = 0;
	free(sp->buf);
	sp->buf = NULL;
	sp->cap = 0;
	sp->fd = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0) {
		int e = errno;

		close(fd);
		errno = e;
	}
	free(path);
	return r;
}

/* Write gathered bytes to the end of the file. */
static int
flush_wbuf(struct spool *sp)
{
	if (sp->fd < 0 || sp->wlen == 0)
		return 0;
	if (lseek(sp->fd, 0, SEEK_END) < 0 || write_all(sp->fd, sp->wbuf, sp->wlen) != 0)
		return -1;
	sp->wlen = 0;
	return 0;
}

int
spool_write(struct spool *sp, const void *data, size_t len)
{
	if (sp == NULL) {
		errno = EINVAL;
		return SPOOL_ERROR;
	}
	if (len == 0)
		return 0;
	if (sp->max_size != 0 && (len > sp->max_size || sp->size > sp->max_size - len))
		return SPOOL_TOO_BIG;
	if (sp->fd < 0 && sp->size + len > sp->mem_limit) {
		if (spill(sp) != 0)
			return SPOOL_ERROR;
	}
	if (sp->fd >= 0) {
		if (sp->wlen + len > SPOOL_WBUF && flush_wbuf(sp) != 0)
			return SPOOL_ERROR;
		if (len >= SPOOL_WBUF) {
			if (lseek(sp->fd, 0, SEEK_END) < 0 || write_all(sp->fd, data, len) != 0)
				return SPOOL_ERROR;
		} else {
			memcpy(sp->wbuf + sp->wlen, data, len);
			sp->wlen += len;
		}
		sp->size += len;
		return 0;
	}
	if (sp->size + len > sp->cap) {
		size_t ncap = sp->cap ? sp->cap : 4096;
		unsigned char *nb;

		while (ncap < sp->size + len)
			ncap *= 2;
		if (ncap > sp->mem_limit && sp->mem_limit >= sp->size + len)
			ncap = sp->mem_limit;
		nb = realloc(sp->buf, ncap);
		if (nb == NULL)
			return SPOOL_ERROR;
		sp->buf = nb;
		sp->cap = ncap;
	}
	memcpy(sp->buf + sp->size, data, len);
	sp->size += len;
	return 0;
}

size_t
spool_size(const struct spool *sp)
{
	return sp != NULL ? sp->size : 0;
}

int
spool_rewind(struct spool *sp)
{
	if (sp == NULL)
		return -1;
	sp->rpos = 0;
	if (sp->fd >= 0 && (flush_wbuf(sp) != 0 || lseek(sp->fd, 0, SEEK_SET) < 0))
		return -1;
	return 0;
}

ssize_t
spool_read(struct spool *sp, void *buf, size_t len)
{
	if (sp == NULL)
		return -1;
	if (sp->fd >= 0) {
		if (sp->wlen > 0) {	/* written since the rewind: flush, keep the position */
			off_t pos = lseek(sp->fd, 0, SEEK_CUR);

			if (pos < 0 || flush_wbuf(sp) != 0 || lseek(sp->fd, pos, SEEK_SET) < 0)
				return -1;
		}
		for (;;) {
			ssize_t n = read(sp->fd, buf, len);

			if (n < 0 && errno == EINTR)
				continue;
			return n;
		}
	}
	if (sp->rpos >= sp->size)
		return 0;
	if (len > sp->size - sp->rpos)
		len = sp->size - sp->rpos;
	memcpy(buf, sp->buf + sp->rpos, len);
	sp->rpos += len;
	return (ssize_t)len;
}

int
spool_truncate(struct spool *sp)
{
	if (sp == NULL)
		return -1;
	if (sp->fd >= 0) {
		close(sp->fd);
		sp->fd = -1;
	}
	free(sp->buf);
	free(sp->wbuf);
	sp->wbuf = NULL;
	sp->wlen = 0;
	sp->buf = NULL;
	sp->cap = 0;
	sp->size = 0;
	sp->rpos = 0;
	return 0;
}

int
spool_on_disk(const struct spool *sp)
{
	return sp != NULL && sp->fd >= 0;
}
