/*
 * backup: a CA's backup and restore (see ca.h). The store makes the copy (store_backup.c);
 * this file decides what makes a copy good: it recovers, it opens, its audit chain verifies,
 * and it says how many certificates it holds.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ca/ca_int.h"

static int
count_cert(const struct ca_cert_info *info, void *arg)
{
	(void)info;
	(*(uint64_t *)arg)++;
	return 0;
}

static unsigned long long
dir_bytes(const char *dir)
{
	unsigned long long total = 0;
	char path[4352];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode))
			total += (unsigned long long)sb.st_size;
		else if (S_ISDIR(sb.st_mode))
			total += dir_bytes(path);
	}
	closedir(d);
	return total;
}

int
ca_backup(struct ca *ca, const char *dir, struct ca_error *err)
{
	char e[512] = "";

	if (store_backup(ca->st, dir, e, sizeof(e)) != 0 ||
	    store_copy_keys(ca->store_dir, dir, e, sizeof(e)) < 0) {
		ca_seterr(err, "%s", e);
		return CA_ERR;
	}
	return CA_OK;
}

int
ca_backup_check(const struct ca_params *p, struct ca_backup_info *info, struct ca_error *err)
{
	struct ca_cert_filter all = { NULL, NULL, -1, 0 };
	struct ca_params rp = *p;
	struct ca *copy = NULL;
	char e[512] = "";
	int r;

	memset(info, 0, sizeof(*info));
	/* Catastrophic recovery: every log record in the copy, whatever its checkpoints say. */
	if (store_recover_copy(p->store_dir, e, sizeof(e)) != 0) {
		ca_seterr(err, "%s", e);
		return CA_INVALID;
	}
	rp.read_only = true;
	rp.keypool = false;
	if ((r = ca_open(&rp, &copy, err)) != CA_OK)
		return r == CA_ERR ? CA_INVALID : r;
	r = ca_audit_verify(copy, &info->audit_records, err);
	if (r == CA_OK)
		r = ca_cert_foreach(copy, &all, count_cert, &info->certificates, err);
	ca_close(copy);
	store_forget_locks(p->store_dir);
	info->bytes = dir_bytes(p->store_dir);
	return r;
}

int
ca_restore(const struct ca_params *p, const char *backup_dir, struct ca_backup_info *info,
    char *previous, size_t prevcap, struct ca_error *err)
{
	char tmp[4096], old[4096], e[512] = "", stamp[32];
	struct ca_params tp = *p;
	struct stat sb, ob;
	bool had_store;
	int lock_fd = -1, r = CA_ERR;
	time_t now = time(NULL);
	struct tm tm;

	previous[0] = '\0';
	had_store = stat(p->store_dir, &sb) == 0;
	if (had_store && (lock_fd = store_claim(p->store_dir, e, sizeof(e))) < 0) {
		ca_seterr(err, "%s", e);
		return CA_INVALID;
	}
	/* Into a sibling first: the backup stays as it is, and the store is swapped in whole. */
	snprintf(tmp, sizeof(tmp), "%s.restore-%ld", p->store_dir, (long)getpid());
	if (mkdir(tmp, 0700) < 0) {
		ca_seterr(err, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (store_copy_tree(backup_dir, tmp, e, sizeof(e)) < 0) {
		ca_seterr(err, "%s", e);
		goto out;
	}
	tp.store_dir = tmp;
	if ((r = ca_backup_check(&tp, info, err)) != CA_OK) {
		if (r == CA_ERR)
			r = CA_INVALID;
		goto out;
	}
	r = CA_ERR;
	/* The restored files belong to whoever owned the store (the daemon's user). */
	if (had_store && (chown(tmp, sb.st_uid, sb.st_gid) < 0 ||
	    store_chown_tree(tmp, sb.st_uid, sb.st_gid, e, sizeof(e)) < 0)) {
		ca_seterr(err, "cannot give %s to the store's owner: %s", tmp, e[0] ? e : strerror(errno));
		goto out;
	}
	if (had_store) {
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
		snprintf(old, sizeof(old), "%s.old-%s", p->store_dir, stamp);
		for (int i = 2; i < 100 && lstat(old, &ob) == 0; i++)
			snprintf(old, sizeof(old), "%s.old-%s-%d", p->store_dir, stamp, i);
		if (rename(p->store_dir, old) < 0) {
			ca_seterr(err, "cannot move %s aside: %s", p->store_dir, strerror(errno));
			goto out;
		}
		snprintf(previous, prevcap, "%s", old);
	}
	if (rename(tmp, p->store_dir) < 0) {
		ca_seterr(err, "cannot move %s into place: %s", tmp, strerror(errno));
		if (had_store && rename(old, p->store_dir) == 0)
			previous[0] = '\0';
		goto out;
	}
	tmp[0] = '\0';
	r = CA_OK;
out:
	if (tmp[0] != '\0' && r != CA_OK)
		store_remove_tree(tmp);
	if (lock_fd >= 0)
		close(lock_fd);
	return r;
}
