/*
 * test_spool: unit tests of milter/engine/spool.c: memory up to the limit, then a private unlinked
 * 0600 file; data read back intact; max_size; truncate returns to memory.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "milter/engine/spool.h"
#include "tests/tap.h"

/* Is there an open descriptor of this process on a deleted autosmime.* file with mode 0600? */
static int
private_file_open(void)
{
	char path[64], target[PATH_MAX];
	struct stat st;

	for (int fd = 3; fd < 256; fd++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strstr(target, "autosmime.") != NULL && strstr(target, "(deleted)") != NULL &&
		    fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0600)
			return 1;
	}
	return 0;
}

int
main(void)
{
	struct spool *sp = spool_new(1000, "/tmp", 10000);
	unsigned char data[5000], back[6000];
	size_t got = 0;
	ssize_t k;
	int ok = 1;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7);
	tap_ok(sp != NULL, "spool_new");
	tap_ok(spool_write(sp, data, 600) == 0 && !spool_on_disk(sp), "600 bytes stay in memory");
	tap_ok(spool_write(sp, data + 600, 600) == 0 && spool_on_disk(sp), "past 1000 bytes: on disk");
	tap_ok(private_file_open(), "the file is unlinked and mode 0600");
	for (size_t i = 1200; i < sizeof(data); i += 7)
		ok &= spool_write(sp, data + i, i + 7 <= sizeof(data) ? 7 : sizeof(data) - i) == 0;
	tap_ok(ok && spool_size(sp) == sizeof(data), "small writes gathered: size %zu", spool_size(sp));
	tap_ok(spool_rewind(sp) == 0, "rewind");
	while ((k = spool_read(sp, back + got, 333)) > 0)
		got += (size_t)k;
	tap_ok(k == 0 && got == sizeof(data) && memcmp(back, data, got) == 0, "read back intact");
	tap_ok(spool_write(sp, data, 5001) == SPOOL_TOO_BIG, "max_size: SPOOL_TOO_BIG");
	tap_ok(spool_write(sp, data, 5000) == 0, "exactly max_size is accepted");
	tap_ok(spool_truncate(sp) == 0 && spool_size(sp) == 0 && !spool_on_disk(sp) &&
	    !private_file_open(), "truncate: empty, back in memory, file closed");
	tap_ok(spool_write(sp, "abc", 3) == 0 && spool_rewind(sp) == 0 &&
	    spool_read(sp, back, sizeof(back)) == 3 && memcmp(back, "abc", 3) == 0, "reuse after truncate");
	spool_free(sp);
	sp = spool_new(0, "/nonexistent-dir", 0);
	tap_ok(sp != NULL && spool_write(sp, "x", 1) == SPOOL_ERROR, "unwritable dir: SPOOL_ERROR");
	spool_free(sp);
	return tap_done();
}
