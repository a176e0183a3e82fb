/*
 * store_backup: the store's side of backup and restore. A hot copy of the running
 * environment (DB_ENV->backup: the database files, then the log files they need), made
 * self-consistent by catastrophic recovery in a private environment of its own (it touches no
 * shared memory and no other process); the CA key files in store_dir/ca/ beside it; and the
 * test restore needs, "does any process have this store open".
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca/store.h"

#define COPY_MAX_FILE (64L * 1024 * 1024)

/* Copy one regular file, 0600, fsynced. */
static int
copy_file(const char *from, const char *to, char *err, size_t cap)
{
	char buf[65536];
	int in, out = -1, r = -1;
	ssize_t n;

	if ((in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		snprintf(err, cap, "cannot read %s: %s", from, strerror(errno));
		return -1;
	}
	if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, cap, "cannot create %s: %s", to, strerror(errno));
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			snprintf(err, cap, "cannot write %s: %s", to, strerror(errno));
			goto out;
		}
	if (n < 0 || fsync(out) < 0) {
		snprintf(err, cap, "cannot copy %s: %s", from, strerror(errno));
		goto out;
	}
	r = 0;
out:
	close(in);
	if (out >= 0 && close(out) < 0 && r == 0) {
		snprintf(err, cap, "cannot write %s: %s", to, strerror(errno));
		r = -1;
	}
	return r;
}

/* Files that describe a store in use, not its content. */
static bool
in_use_file(const char *name)
{
	return strcmp(name, "store.users") == 0 || strcmp(name, "store.openlock") == 0 ||
	    strcmp(name, "store.shmkey") == 0 || strncmp(name, "__db.", 5) == 0;
}

/* Copy the regular files of one directory (not those of a store in use) into another. */
static int
copy_dir(const char *from, const char *to, char *err, size_t cap)
{
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int r = 0;

	if ((d = opendir(from)) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, cap, "cannot read %s: %s", from, strerror(errno));
		return -1;
	}
	if (mkdir(to, 0700) < 0 && errno != EEXIST) {
		snprintf(err, cap, "cannot create %s: %s", to, strerror(errno));
		closedir(d);
		return -1;
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		char f[4352], t[4352];

		if (de->d_name[0] == '.' || in_use_file(de->d_name))
			continue;
		snprintf(f, sizeof(f), "%s/%s", from, de->d_name);
		snprintf(t, sizeof(t), "%s/%s", to, de->d_name);
		if (lstat(f, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > COPY_MAX_FILE)
			continue;
		r = copy_file(f, t, err, cap);
	}
	closedir(d);
	return r;
}

int
store_copy_keys(const char *from_dir, const char *to_dir, char *err, size_t cap)
{
	char from[4096], to[4096];

	snprintf(from, sizeof(from), "%s/ca", from_dir);
	snprintf(to, sizeof(to), "%s/ca", to_dir);
	return copy_dir(from, to, err, cap);
}

int
store_copy_tree(const char *from_dir, const char *to_dir, char *err, size_t cap)
{
	if (copy_dir(from_dir, to_dir, err, cap) < 0)
		return -1;
	return store_copy_keys(from_dir, to_dir, err, cap);
}

int
store_backup(struct store *st, const char *target, char *err, size_t cap)
{
	int ret;

	/* The database files first, then every log file from the oldest one they need. */
	ret = st->env->backup(st->env, target, DB_BACKUP_SINGLE_DIR);
	if (ret != 0) {
		snprintf(err, cap, "backup to %s: %s", target, db_strerror(ret));
		return store_note(st, ret);
	}
	return 0;
}

/* Berkeley DB's own words about a damaged copy: the last one is kept for the error. */
static __thread char last_db_message[256];

static void
keep_message(const DB_ENV *env, const char *pfx, const char *msg)
{
	(void)env;
	(void)pfx;
	snprintf(last_db_message, sizeof(last_db_message), "%s", msg);
}

int
store_recover_copy(const char *dir, char *err, size_t cap)
{
	DB_ENV *env;
	int ret;

	if ((ret = db_env_create(&env, 0)) != 0) {
		snprintf(err, cap, "db_env_create: %s", db_strerror(ret));
		return ret;
	}
	last_db_message[0] = '\0';
	env->set_errcall(env, keep_message);
	env->set_cachesize(env, 0, 16 * 1024 * 1024, 1);
	env->set_lg_max(env, 10 * 1024 * 1024);
	/* Private: the copy's regions live in this process only, and go with it. */
	ret = env->open(env, dir, DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG |
	    DB_INIT_MPOOL | DB_PRIVATE | DB_RECOVER_FATAL, 0600);
	if (ret != 0)
		snprintf(err, cap, "recovery of the copy in %s: %s%s%.200s", dir, db_strerror(ret),
		    last_db_message[0] ? ": " : "", last_db_message);
	else if ((ret = env->txn_checkpoint(env, 0, 0, DB_FORCE)) != 0)
		snprintf(err, cap, "checkpoint of the copy in %s: %s", dir, db_strerror(ret));
	env->close(env, 0);
	return ret;
}

void
store_forget_locks(const char *dir)
{
	static const char *const names[] = { "store.users", "store.openlock", "store.shmkey",
		"__db.001", "__db.002", "__db.003", "__db.004", "__db.005", "__db.006" };
	char path[4096];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
}

int
store_claim(const char *dir, char *err, size_t cap)
{
	char path[4096];
	int open_fd, users_fd;

	snprintf(path, sizeof(path), "%s/store.openlock", dir);
	if ((open_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, cap, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/store.users", dir);
	if ((users_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, cap, "cannot open %s: %s", path, strerror(errno));
		close(open_fd);
		return -1;
	}
	if (flock(open_fd, LOCK_EX | LOCK_NB) < 0 || flock(users_fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, cap, "the store %s is open in another process (the daemon or a "
		    "command): stop it first", dir);
		close(open_fd);
		close(users_fd);
		return -1;
	}
	close(users_fd);   /* store.openlock keeps everyone out from here on */
	return open_fd;
}

/* The files of a store directory and its ca/ (two levels: that is all a store has). */
static int
each_file(const char *dir, int depth, int (*fn)(const char *path, bool is_dir, void *arg),
    void *arg)
{
	char path[4352];
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int r = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &sb) < 0)
			continue;
		if (S_ISDIR(sb.st_mode) && depth > 0)
			r = each_file(path, depth - 1, fn, arg);
		if (r == 0)
			r = fn(path, S_ISDIR(sb.st_mode), arg);
	}
	closedir(d);
	return r;
}

struct owner {
	uid_t uid;
	gid_t gid;
};

static int
give(const char *path, bool is_dir, void *arg)
{
	const struct owner *o = arg;

	(void)is_dir;
	return lchown(path, o->uid, o->gid);
}

int
store_chown_tree(const char *dir, uid_t uid, gid_t gid, char *err, size_t cap)
{
	struct owner o = { uid, gid };

	if (each_file(dir, 1, give, &o) < 0) {
		snprintf(err, cap, "chown in %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int
drop(const char *path, bool is_dir, void *arg)
{
	(void)arg;
	if (is_dir)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void
store_remove_tree(const char *dir)
{
	each_file(dir, 1, drop, NULL);
	rmdir(dir);
}
