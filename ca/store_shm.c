/*
 * store_shm: the System V segments an environment handle mapped. Closing a panicked
 * environment (after db_recover or a failed failchk) leaves its regions attached, 40 MB or
 * so each time; the store notes which mappings its open added and detaches what is still
 * there once the handle is closed, so a daemon that heals itself a thousand times keeps
 * its memory.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>

#include "ca/store_int.h"

/* Every /SYSV<key> mapping of this process in [key, key + span): start address and shmid. */
static size_t
mapped(long key, long span, struct store_shm_map *out, size_t cap)
{
	char line[512];
	size_t n = 0;
	FILE *fp;

	if ((fp = fopen("/proc/self/maps", "re")) == NULL)
		return 0;
	while (n < cap && fgets(line, sizeof(line), fp) != NULL) {
		unsigned long start, end, inode;
		char name[64];
		long k;

		if (sscanf(line, "%lx-%lx %*s %*s %*s %lu %63s", &start, &end, &inode, name) != 4 ||
		    strncmp(name, "/SYSV", 5) != 0)
			continue;
		k = strtol(name + 5, NULL, 16);
		if (k < key || k >= key + span)
			continue;
		out[n].addr = start;
		out[n].shmid = inode;
		n++;
	}
	fclose(fp);
	return n;
}

static bool
listed(const struct store_shm_map *set, size_t n, const struct store_shm_map *m)
{
	for (size_t i = 0; i < n; i++)
		if (set[i].addr == m->addr && set[i].shmid == m->shmid)
			return true;
	return false;
}

void
store_shm_before(struct store *st, struct store_shm_map *before, size_t *nbefore)
{
	*nbefore = mapped(st->shm_key, STORE_SHM_SPAN, before, STORE_SHM_MAPS);
}

void
store_shm_after(struct store *st, const struct store_shm_map *before, size_t nbefore)
{
	struct store_shm_map now[STORE_SHM_MAPS];
	size_t n = mapped(st->shm_key, STORE_SHM_SPAN, now, STORE_SHM_MAPS);

	st->nmaps = 0;
	for (size_t i = 0; i < n && st->nmaps < STORE_SHM_MAPS; i++)
		if (!listed(before, nbefore, &now[i]))
			st->maps[st->nmaps++] = now[i];
}

void
store_shm_release(struct store *st)
{
	struct store_shm_map now[STORE_SHM_MAPS];
	size_t n = mapped(st->shm_key, STORE_SHM_SPAN, now, STORE_SHM_MAPS);

	for (size_t i = 0; i < n; i++)
		if (listed(st->maps, st->nmaps, &now[i]))
			shmdt((const void *)now[i].addr);
	st->nmaps = 0;
}
