/*
 * store: opens the transactional Berkeley DB environment, opens databases inside it and runs
 * units of work in transactions with deadlock retry. Owns nothing but the environment handle;
 * the databases belong to the modules that open them (see store.h).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ca/store.h"

#define STORE_TXN_RETRIES 200
#define STORE_CKP_KBYTES 1024

const char *
store_strerror(int ret)
{
	return db_strerror(ret);
}

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

static int
store_prepare_dir(const char *dir, char *err, size_t errcap)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errcap, "cannot create store directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errcap, "store directory %s is not a directory", dir);
		return -1;
	}
	if ((st.st_mode & 077) != 0 && chmod(dir, 0700) < 0) {
		snprintf(err, errcap, "cannot make %s private (0700): %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int
store_open(const char *dir, struct store **out, char *err, size_t errcap)
{
	struct store *st = NULL;
	u_int32_t flags = DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL |
	    DB_THREAD | DB_RECOVER | DB_REGISTER;
	int r = -1, ret;

	*out = NULL;
	if (dir == NULL || dir[0] != '/') {
		snprintf(err, errcap, "store_dir must be an absolute path");
		return -1;
	}
	/* Files the environment creates (regions, logs, __db.register) stay private. */
	umask(umask(077) | 077);
	if (store_prepare_dir(dir, err, errcap) < 0)
		return -1;
	st = calloc(1, sizeof(*st));
	if (st == NULL || (st->dir = strdup(dir)) == NULL) {
		snprintf(err, errcap, "out of memory");
		goto out;
	}
	if ((ret = db_env_create(&st->env, 0)) != 0) {
		snprintf(err, errcap, "db_env_create: %s", db_strerror(ret));
		goto out;
	}
	/* Sizing: many lockers for threads and processes at once; logs rotate at 10 MB. */
	st->env->set_cachesize(st->env, 0, 16 * 1024 * 1024, 1);
	st->env->set_lk_max_lockers(st->env, 20000);
	st->env->set_lk_max_locks(st->env, 20000);
	st->env->set_lk_max_objects(st->env, 20000);
	st->env->set_lk_detect(st->env, DB_LOCK_DEFAULT);
	st->env->set_lg_max(st->env, 10 * 1024 * 1024);
	st->env->set_lg_bsize(st->env, 256 * 1024);
	st->env->set_lg_filemode(st->env, 0600);
	st->env->set_thread_count(st->env, 512);
	st->env->set_isalive(st->env, store_is_alive);
	st->env->log_set_config(st->env, DB_LOG_AUTO_REMOVE, 1);
	if ((ret = st->env->open(st->env, dir, flags, 0600)) != 0) {
		snprintf(err, errcap, "cannot open store %s: %s", dir, db_strerror(ret));
		goto out;
	}
	/* Release locks and abort transactions left by processes that died. */
	if ((ret = st->env->failchk(st->env, 0)) != 0) {
		snprintf(err, errcap, "store %s failchk: %s", dir, db_strerror(ret));
		goto out;
	}
	*out = st; /* transferred */
	st = NULL;
	r = 0;
out:
	store_close(st);
	return r;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->env != NULL)
		st->env->close(st->env, 0);
	free(st->dir);
	free(st);
}

int
store_db_open(struct store *st, const char *file, DBTYPE type, unsigned int flags, DB **out,
    char *err, size_t errcap)
{
	DB *db = NULL;
	int ret;

	*out = NULL;
	if ((ret = db_create(&db, st->env, 0)) != 0) {
		snprintf(err, errcap, "db_create %s: %s", file, db_strerror(ret));
		return -1;
	}
	if (flags != 0 && (ret = db->set_flags(db, flags)) != 0) {
		snprintf(err, errcap, "set_flags %s: %s", file, db_strerror(ret));
		db->close(db, 0);
		return -1;
	}
	ret = db->open(db, NULL, file, NULL, type, DB_CREATE | DB_THREAD | DB_AUTO_COMMIT, 0600);
	if (ret != 0) {
		snprintf(err, errcap, "cannot open %s/%s: %s", st->dir, file, db_strerror(ret));
		db->close(db, 0);
		return -1;
	}
	*out = db; /* transferred */
	return 0;
}

int
store_txn_begin(struct store *st, DB_TXN **out)
{
	return st->env->txn_begin(st->env, NULL, out, 0);
}

int
store_txn_commit(DB_TXN *txn)
{
	return txn->commit(txn, 0);
}

void
store_txn_abort(DB_TXN *txn)
{
	if (txn != NULL)
		txn->abort(txn);
}

/* Back off a little, more after each failed attempt, so that contenders interleave. */
static void
store_backoff(int attempt)
{
	struct timespec ts = { 0, 0 };
	long ns = 20000L * (attempt < 50 ? attempt + 1 : 50);

	ts.tv_nsec = ns + (long)(rand() % 20000);
	nanosleep(&ts, NULL);
}

int
store_txn_run(struct store *st, store_txn_fn fn, void *arg)
{
	DB_TXN *txn;
	int attempt, ret = 0;

	for (attempt = 0; attempt < STORE_TXN_RETRIES; attempt++) {
		txn = NULL;
		if ((ret = store_txn_begin(st, &txn)) != 0)
			return ret;
		ret = fn(txn, arg);
		if (ret == 0)
			return store_txn_commit(txn); /* commit frees txn, even on failure */
		store_txn_abort(txn);
		if (ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED)
			return ret;
		store_backoff(attempt);
	}
	return ret;
}

void
store_checkpoint(struct store *st, int force)
{
	st->env->txn_checkpoint(st->env, force ? 0 : STORE_CKP_KBYTES, 0, force ? DB_FORCE : 0);
}
