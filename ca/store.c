/*
 * store: the store handle: opening and closing it, the registry of the databases opened in it
 * (so that a reopen can put new handles where their owners look), the gate callers pass while
 * a reopen may happen, and units of work in transactions with deadlock retry. The environment
 * itself is opened by store_attach.c; the watcher that decides to reopen is store_heal.c.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ca/store_int.h"

#define STORE_TXN_RETRIES 200
#define STORE_CKP_KBYTES 1024
#define STORE_OPEN_WAIT_MS 15000

const char *
store_strerror(int ret)
{
	return db_strerror(ret);
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
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	struct store *st = NULL;
	bool recovered;
	int ret, i;

	*out = NULL;
	if (dir == NULL || dir[0] != '/') {
		snprintf(err, errcap, "store_dir must be an absolute path");
		return -1;
	}
	/* Files the environment creates (regions, logs, lock files) stay private. */
	umask(umask(077) | 077);
	if (store_prepare_dir(dir, err, errcap) < 0)
		return -1;
	st = calloc(1, sizeof(*st));
	if (st == NULL || (st->dir = strdup(dir)) == NULL) {
		free(st);
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	st->users_fd = -1;
	pthread_rwlock_init(&st->gate, NULL);
	pthread_mutex_init(&st->reg, NULL);
	/*
	 * An environment that needs recovery while others have it open: they reopen it once
	 * they notice (the daemon within STORE_WATCH_MS), so wait for that instead of failing.
	 */
	for (i = 0; i < STORE_OPEN_WAIT_MS / 100; i++) {
		if ((ret = store_attach(st, &recovered, err, errcap)) != DB_RUNRECOVERY)
			break;
		nanosleep(&pause, NULL);
	}
	if (ret != 0) {
		store_close(st);
		return -1;
	}
	*out = st; /* transferred */
	return 0;
}

static void
slots_close(struct store *st)
{
	/* Newest first: a secondary index closes before its primary. */
	for (size_t i = st->nslots; i-- > 0;)
		if (*st->slots[i].db != NULL) {
			(*st->slots[i].db)->close(*st->slots[i].db, 0);
			*st->slots[i].db = NULL;
		}
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->watching) {
		__atomic_store_n(&st->stop, 1, __ATOMIC_RELEASE);
		pthread_join(st->watcher, NULL);
	}
	slots_close(st);   /* what owners forgot; normally nothing */
	store_detach(st);
	pthread_rwlock_destroy(&st->gate);
	pthread_mutex_destroy(&st->reg);
	free(st->dir);
	free(st);
}

static int
db_open_one(struct store *st, const struct store_slot *s, DB **out, char *err, size_t errcap)
{
	DB *db = NULL;
	int ret;

	*out = NULL;
	if ((ret = db_create(&db, st->env, 0)) != 0) {
		snprintf(err, errcap, "db_create %s: %s", s->file, db_strerror(ret));
		return ret;
	}
	if (s->flags != 0 && (ret = db->set_flags(db, s->flags)) != 0) {
		snprintf(err, errcap, "set_flags %s: %s", s->file, db_strerror(ret));
		db->close(db, 0);
		return ret;
	}
	ret = db->open(db, NULL, s->file, NULL, s->type, DB_CREATE | DB_THREAD | DB_AUTO_COMMIT,
	    0600);
	if (ret != 0) {
		snprintf(err, errcap, "cannot open %s/%s: %s", st->dir, s->file, db_strerror(ret));
		db->close(db, 0);
		return ret;
	}
	*out = db; /* transferred */
	return 0;
}

int
store_db_open(struct store *st, const char *file, DBTYPE type, unsigned int flags, DB **out,
    char *err, size_t errcap)
{
	struct store_slot s = { out, "", type, flags };
	int r = -1;

	*out = NULL;
	if (strlen(file) >= sizeof(s.file)) {
		snprintf(err, errcap, "database name %s is too long", file);
		return -1;
	}
	strcpy(s.file, file);
	pthread_mutex_lock(&st->reg);
	if (st->env == NULL)
		snprintf(err, errcap, "the store is being reopened");
	else if (st->nslots == STORE_MAX_DBS)
		snprintf(err, errcap, "too many databases open in the store");
	else if (db_open_one(st, &s, out, err, errcap) == 0) {
		st->slots[st->nslots++] = s;
		r = 0;
	}
	pthread_mutex_unlock(&st->reg);
	return r;
}

void
store_db_close(struct store *st, DB **db)
{
	pthread_mutex_lock(&st->reg);
	for (size_t i = 0; i < st->nslots; i++)
		if (st->slots[i].db == db) {
			memmove(&st->slots[i], &st->slots[i + 1],
			    (st->nslots - i - 1) * sizeof(st->slots[0]));
			st->nslots--;
			break;
		}
	pthread_mutex_unlock(&st->reg);
	if (*db != NULL)
		(*db)->close(*db, 0);
	*db = NULL;
}

int
store_on_reopen(struct store *st, int (*fn)(void *arg), void *arg)
{
	int r = -1;

	pthread_mutex_lock(&st->reg);
	if (st->nhooks < STORE_MAX_HOOKS) {
		st->hooks[st->nhooks].fn = fn;
		st->hooks[st->nhooks++].arg = arg;
		r = 0;
	}
	pthread_mutex_unlock(&st->reg);
	return r;
}

/* Called with the gate held for writing: no caller is inside. */
int
store_reopen(struct store *st, bool *recovered, char *err, size_t errcap)
{
	size_t i;
	int ret = 0;

	*recovered = false;
	pthread_mutex_lock(&st->reg);
	slots_close(st);
	store_detach(st);
	if ((ret = store_attach(st, recovered, err, errcap)) != 0)
		goto out;
	for (i = 0; i < st->nslots && ret == 0; i++)
		ret = db_open_one(st, &st->slots[i], st->slots[i].db, err, errcap);
	for (i = 0; i < st->nhooks && ret == 0; i++)
		if ((ret = st->hooks[i].fn(st->hooks[i].arg)) != 0)
			snprintf(err, errcap, "after reopening: %s", db_strerror(ret));
	if (ret != 0) {
		slots_close(st);
		store_detach(st);
	}
out:
	pthread_mutex_unlock(&st->reg);
	return ret;
}

int
store_enter(struct store *st)
{
	pthread_rwlock_rdlock(&st->gate);
	if (__atomic_load_n(&st->down, __ATOMIC_ACQUIRE)) {
		pthread_rwlock_unlock(&st->gate);
		return -1;
	}
	return 0;
}

void
store_leave(struct store *st)
{
	pthread_rwlock_unlock(&st->gate);
}

int
store_note(struct store *st, int ret)
{
	/* A missing page: the files lack what only the log holds (a write that failed). */
	if ((ret == DB_RUNRECOVERY || ret == DB_PAGE_NOTFOUND) && st != NULL) {
		__atomic_store_n(&st->suspect, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&st->broken, 1, __ATOMIC_RELEASE);
	}
	return ret;
}

int
store_txn_begin(struct store *st, DB_TXN **out)
{
	return store_note(st, st->env->txn_begin(st->env, NULL, out, 0));
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
		if (ret == 0) {
			/* commit frees txn, even on failure */
			ret = store_note(st, store_txn_commit(txn));
			/* now and then, so that recovery stays short and old logs go away */
			if (ret == 0 && (__atomic_add_fetch(&st->commits, 1, __ATOMIC_RELAXED) &
			    63) == 0)
				store_checkpoint(st, 0);
			return ret;
		}
		store_txn_abort(txn);
		if (ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED)
			return store_note(st, ret);
		store_backoff(attempt);
	}
	return ret;
}

void
store_checkpoint(struct store *st, int force)
{
	store_note(st, st->env->txn_checkpoint(st->env, force ? 0 : STORE_CKP_KBYTES, 0,
	    force ? DB_FORCE : 0));
}
