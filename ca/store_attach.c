/*
 * store_attach: opening and closing the Berkeley DB environment so that a process can never
 * run recovery under another live one. Who else has the store open is told by flock(2) on
 * store.users (shared while open; exclusive only under store.openlock, to learn "alone"),
 * never by a pid file: the kernel drops the lock of a process however it dies.
 * The regions live in System V shared memory under a key kept in store.shmkey with the
 * directory's device and inode (a copied store gets a key of its own).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/random.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ca/store_int.h"

#define ATTACH_LOCK_WAIT_MS 30000

/* failchk asks whether the process that owns a lock or transaction still runs. */
static int
store_is_alive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
	(void)env;
	(void)tid;
	(void)flags;
	if (pid == getpid())
		return 1;
	if (kill(pid, 0) == 0 || errno == EPERM)
		return 1;
	return 0;
}

/* A panic (this process's or one another process left in the region): reopen. */
static void
store_event(DB_ENV *env, u_int32_t event, void *info)
{
	struct store *st = env->app_private;

	(void)info;
	if (st != NULL && event == DB_EVENT_PANIC) {
		__atomic_store_n(&st->suspect, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&st->broken, 1, __ATOMIC_RELEASE);
	}
}

static int
lock_file(const char *dir, const char *name, char *err, size_t errcap)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		snprintf(err, errcap, "cannot open %s: %s", path, strerror(errno));
	return fd;
}

/* flock with a bound: an opener that hangs longer than this is a bug, not a wait. */
static int
lock_wait(int fd, int op)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < ATTACH_LOCK_WAIT_MS / 10; i++) {
		if (flock(fd, op | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		nanosleep(&ts, NULL);
	}
	errno = ETIMEDOUT;
	return -1;
}

static bool
shm_key_free(long base)
{
	for (long i = 0; i < STORE_SHM_SPAN; i++)
		if (shmget((key_t)(base + i), 0, 0) >= 0 || errno != ENOENT)
			return false;
	return true;
}

/*
 * The store's shared-memory key: the one recorded for this directory, or (alone only) a new
 * random one whose whole span no other segment uses.
 */
static int
shm_key(struct store *st, bool alone, char *err, size_t errcap)
{
	char path[4096], tmp[4200], line[128];
	unsigned long long dev = 0, ino = 0;
	struct stat sb;
	long key = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/store.shmkey", st->dir);
	if (stat(st->dir, &sb) < 0) {
		snprintf(err, errcap, "stat %s: %s", st->dir, strerror(errno));
		return -1;
	}
	if ((fp = fopen(path, "r")) != NULL) {
		if (fgets(line, sizeof(line), fp) == NULL ||
		    sscanf(line, "%ld %llu %llu", &key, &dev, &ino) != 3)
			key = 0;
		fclose(fp);
	}
	if (key > 0 && dev == (unsigned long long)sb.st_dev && ino == (unsigned long long)sb.st_ino) {
		st->shm_key = key;
		return 0;
	}
	if (!alone) {
		snprintf(err, errcap, "%s is missing or belongs to another directory", path);
		return -1;
	}
	for (int tries = 0; tries < 100; tries++) {
		uint32_t r;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			break;
		key = (long)(0x10000000u + (r % 0x60000000u)) & ~(long)(STORE_SHM_SPAN - 1);
		if (!shm_key_free(key))
			continue;
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		if ((fp = fopen(tmp, "w")) == NULL)
			break;
		fprintf(fp, "%ld %llu %llu\n", key, (unsigned long long)sb.st_dev,
		    (unsigned long long)sb.st_ino);
		if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
			fclose(fp);
			unlink(tmp);
			break;
		}
		fclose(fp);
		if (rename(tmp, path) < 0)
			break;
		st->shm_key = key;
		return 0;
	}
	snprintf(err, errcap, "cannot choose a shared-memory key for %s: %s", st->dir,
	    strerror(errno));
	return -1;
}

static int
env_configure(struct store *st, DB_ENV **out)
{
	DB_ENV *env;
	int ret;

	*out = NULL;
	if ((ret = db_env_create(&env, 0)) != 0)
		return ret;
	env->app_private = st;
	/* Sizing: many lockers for threads and processes at once; logs rotate at 10 MB. */
	env->set_cachesize(env, 0, 16 * 1024 * 1024, 1);
	env->set_lk_max_lockers(env, 20000);
	env->set_lk_max_locks(env, 20000);
	env->set_lk_max_objects(env, 20000);
	env->set_lk_detect(env, DB_LOCK_DEFAULT);
	env->set_lg_max(env, 10 * 1024 * 1024);
	env->set_lg_bsize(env, 256 * 1024);
	env->set_lg_filemode(env, 0600);
	env->set_thread_count(env, 512);
	env->set_isalive(env, store_is_alive);
	env->set_event_notify(env, store_event);
	env->set_shm_key(env, st->shm_key);
	env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1);
	*out = env;
	return 0;
}

static int
env_open(struct store *st, u_int32_t extra, char *err, size_t errcap)
{
	u_int32_t flags = DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL |
	    DB_THREAD | DB_SYSTEM_MEM | extra;
	struct store_shm_map before[STORE_SHM_MAPS];
	size_t nbefore;
	int ret;

	store_shm_before(st, before, &nbefore);

	if ((ret = env_configure(st, &st->env)) != 0) {
		snprintf(err, errcap, "db_env_create: %s", db_strerror(ret));
		return ret;
	}
	if ((ret = store_env_open(st->env, st->dir, flags)) != 0)
		snprintf(err, errcap, "cannot open store %s: %s", st->dir, db_strerror(ret));
	/* Release locks and abort transactions left by processes that died. */
	else if ((ret = store_failchk(st->env)) != 0)
		snprintf(err, errcap, "store %s failchk: %s", st->dir, db_strerror(ret));
	/*
	 * Berkeley DB logs no aborts: a later recovery undoes again every transaction since the
	 * last checkpoint that has no commit, the ones this recovery rolled back included, and
	 * undoing again a page free that shortened a file fails (ENOENT, "failed on backward
	 * pass") once the file has shrunk since. A checkpoint now puts them behind where any
	 * later recovery starts. Only here: a checkpoint forced by a process that joined the
	 * environment on a full disk left pages out of the files that recovery then did not
	 * bring back (store_faults.sh). When it fails the environment stays open; the next
	 * checkpoint of the commit cadence comes later.
	 */
	if (ret == 0 && (extra & DB_RECOVER) != 0)
		(void)st->env->txn_checkpoint(st->env, 0, 0, DB_FORCE);
	store_shm_after(st, before, nbefore);
	if (ret != 0) {
		st->env->close(st->env, 0);
		st->env = NULL;
		store_shm_release(st);
	}
	return ret;
}

static bool
regions_left(const struct store *st)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/__db.001", st->dir);
	return access(path, F_OK) == 0;
}

int
store_attach(struct store *st, bool *recovered, char *err, size_t errcap)
{
	int open_fd, ret;
	bool alone;

	*recovered = false;
	if ((open_fd = lock_file(st->dir, "store.openlock", err, errcap)) < 0)
		return EIO;
	if ((st->users_fd = lock_file(st->dir, "store.users", err, errcap)) < 0) {
		close(open_fd);
		return EIO;
	}
	if (lock_wait(open_fd, LOCK_EX) < 0) {
		snprintf(err, errcap, "cannot lock %s/store.openlock: %s", st->dir, strerror(errno));
		ret = EIO;
		goto out;
	}
	alone = flock(st->users_fd, LOCK_EX | LOCK_NB) == 0;
	if (!alone && flock(st->users_fd, LOCK_SH | LOCK_NB) < 0) {
		snprintf(err, errcap, "cannot lock %s/store.users: %s", st->dir, strerror(errno));
		ret = EIO;
		goto out;
	}
	if (shm_key(st, alone, err, errcap) < 0) {
		ret = EIO;
		goto out;
	}
	/*
	 * Alone beside regions that are still there: their owner died (the last one out removes
	 * them), so recover now rather than join and clean up after it. Alone after a panic of
	 * our own: the database files may lack what only the log holds, so recover as well.
	 */
	if (alone && (regions_left(st) || __atomic_load_n(&st->suspect, __ATOMIC_ACQUIRE))) {
		ret = env_open(st, DB_RECOVER, err, errcap);
		*recovered = ret == 0;
		goto opened;
	}
	ret = env_open(st, 0, err, errcap);
	if (ret != 0 && alone) {
		/* Nobody else is inside: recovery cannot pull the regions from under anyone. */
		ret = env_open(st, DB_RECOVER, err, errcap);
		*recovered = ret == 0;
	} else if (ret != 0 && ret != DB_RUNRECOVERY) {
		ret = DB_RUNRECOVERY;   /* needs recovery, which waits until the others left */
	}
opened:
	if (ret == 0)
		__atomic_store_n(&st->suspect, 0, __ATOMIC_RELEASE);
	if (ret == 0 && alone)
		flock(st->users_fd, LOCK_SH);   /* under store.openlock: nobody can slip in */
out:
	if (ret != 0) {
		close(st->users_fd);
		st->users_fd = -1;
	}
	close(open_fd);   /* releases store.openlock */
	return ret;
}

void
store_detach(struct store *st)
{
	DB_ENV *env;
	int open_fd = -1;
	bool last = false;
	char err[200];

	/*
	 * The last one out frees the shared memory (it would outlive the directory), unless the
	 * environment panicked: then the regions stay, so that the next one to open recovers.
	 * Removing the regions drops the cache, and a page whose write failed (a full disk) lives
	 * only there and in the log: so the last one out first writes every page back, and when
	 * that fails it leaves the regions too. Under store.openlock nobody joins meanwhile.
	 */
	if (st->users_fd >= 0 && !__atomic_load_n(&st->suspect, __ATOMIC_ACQUIRE) &&
	    (open_fd = lock_file(st->dir, "store.openlock", err, sizeof(err))) >= 0 &&
	    lock_wait(open_fd, LOCK_EX) == 0 && flock(st->users_fd, LOCK_EX | LOCK_NB) == 0) {
		last = true;
		if (st->env == NULL || st->env->txn_checkpoint(st->env, 0, 0, DB_FORCE) != 0)
			__atomic_store_n(&st->suspect, 1, __ATOMIC_RELEASE);
	}
	if (st->env != NULL)
		st->env->close(st->env, 0);
	st->env = NULL;
	store_shm_release(st);
	if (last && !__atomic_load_n(&st->suspect, __ATOMIC_ACQUIRE) &&
	    env_configure(st, &env) == 0) {
		env->app_private = NULL;
		env->remove(env, st->dir, 0);   /* frees env, whatever it returns */
	}
	if (st->users_fd >= 0)
		close(st->users_fd);
	st->users_fd = -1;
	if (open_fd >= 0)
		close(open_fd);
}
