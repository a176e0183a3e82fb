/*
 * store: the Berkeley DB environment under store_dir, shared by ca/ and policy/ (internal header,
 * not part of the public CA contract).
 *
 * Owns the environment handle (transactions, locking, logging, memory pool; log files removed
 * automatically once checkpointed) and every database handle opened in it. A process that dies
 * with the store open can never hurt a living one:
 *   - store.users is flock(2)ed shared by every process that has the environment open, and
 *     store.openlock serialises the opening; an opener that gets store.users exclusively is
 *     alone, and only then may it run recovery (store_attach.c);
 *   - the locks and transactions a dead process left are released by DB_ENV->failchk (with an
 *     is_alive that asks the kernel), run at every open and every STORE_WATCH_MS by a daemon;
 *   - a panicked environment (DB_RUNRECOVERY, DB_EVENT_PANIC, a failed failchk) is closed and
 *     opened again in place by store_heal, behind a gate that callers pass with store_enter,
 *     so that the struct store and the DB * slots modules hold stay valid (store_heal.c).
 * Region memory is System V shared memory (DB_SYSTEM_MEM): no page of it is backed by the
 * store's filesystem, so a full disk cannot fault a write into it (SIGBUS).
 * Each module opens its own databases through store_db_open and closes them with
 * store_db_close; multi-record changes run through store_txn_run, which retries deadlocks.
 * Files are 0600 in a 0700 directory.
 *
 * Lifetime: one struct store per process, shared by threads (all handles are DB_THREAD).
 */
#ifndef AUTOSMIME_CA_STORE_H
#define AUTOSMIME_CA_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <sys/types.h>

#include <db.h>

#define STORE_MAX_DBS 24
#define STORE_MAX_HOOKS 4
#define STORE_WATCH_MS 250

struct store_slot {
	DB **db;            /* the owner's pointer, rewritten when the store is reopened */
	char file[64];
	DBTYPE type;
	unsigned flags;
};

struct store_hook {
	int (*fn)(void *arg);   /* run after a reopen (a secondary index associates again) */
	void *arg;
};

#define STORE_SHM_MAPS 16

struct store_shm_map {
	unsigned long addr;     /* where the segment is mapped in this process */
	unsigned long shmid;
};

struct store {
	DB_ENV *env;
	char *dir;
	int users_fd;           /* store.users, flocked shared while env is open */
	long shm_key;
	struct store_shm_map maps[STORE_SHM_MAPS];   /* what the open environment mapped */
	size_t nmaps;
	pthread_rwlock_t gate;  /* readers: callers between store_enter/leave; writer: heal */
	pthread_mutex_t reg;    /* guards slots and hooks */
	struct store_slot slots[STORE_MAX_DBS];
	size_t nslots;
	struct store_hook hooks[STORE_MAX_HOOKS];
	size_t nhooks;
	int broken;             /* atomic: the environment must be reopened */
	int suspect;            /* atomic: only the log may hold some changes: recover first */
	int down;               /* atomic: handles closed, a reopen failed; callers tempfail */
	char cause[300];        /* why, for the log */
	time_t cause_logged;
	pthread_t watcher;
	bool watching;
	int stop;               /* atomic */
	unsigned long heals;    /* atomic: reopens done */
	unsigned long commits;  /* atomic: by store_txn_run, for the checkpoint cadence */
};

/* Open (creating when absent) the environment in `dir`. 0, or -1 with a message in `err`. */
int store_open(const char *dir, struct store **out, char *err, size_t errcap);
/* Stops the watcher, closes every registered database and the environment. */
void store_close(struct store *st);

/*
 * Open database file `file` (a btree unless `type` says otherwise) inside the environment.
 * `flags` are extra DB->set_flags flags (DB_DUPSORT, ...). Created 0600 when absent. `*out`
 * must stay where it is until store_db_close: a reopen of the store writes the new handle there.
 */
int store_db_open(struct store *st, const char *file, DBTYPE type, unsigned int flags, DB **out,
    char *err, size_t errcap);
/* Close and forget a database opened with store_db_open; *db becomes NULL. */
void store_db_close(struct store *st, DB **db);
/* fn(arg) runs after every reopen, once the databases are open again; 0 or a DB error. */
int store_on_reopen(struct store *st, int (*fn)(void *arg), void *arg);

/*
 * A long-running process (the daemon) passes the gate around every use of the store's
 * handles: store_enter returns -1 (and nothing may be used) while the store is being or could
 * not be reopened. store_watch_start starts the thread that runs failchk every
 * STORE_WATCH_MS and heals the store. Short-lived processes need neither.
 */
int store_enter(struct store *st);
void store_leave(struct store *st);
int store_watch_start(struct store *st);
/*
 * Record a Berkeley DB result: DB_RUNRECOVERY and DB_PAGE_NOTFOUND mark the store for a
 * reopen with recovery. Returns ret.
 */
int store_note(struct store *st, int ret);

/* A unit of work run inside one transaction. Return 0 to commit, a DB error to abort. */
typedef int (*store_txn_fn)(DB_TXN *txn, void *arg);

/*
 * Begin a transaction, call fn, commit (durably) when it returns 0, abort otherwise. Deadlocks
 * (DB_LOCK_DEADLOCK, DB_LOCK_NOTGRANTED) abort and retry up to a bound. Returns fn's result or
 * the Berkeley DB error of begin/commit.
 */
int store_txn_run(struct store *st, store_txn_fn fn, void *arg);

/* Plain helpers: begin/commit/abort for callers that need their own control flow. */
int store_txn_begin(struct store *st, DB_TXN **out);
int store_txn_commit(DB_TXN *txn);
void store_txn_abort(DB_TXN *txn);

/* Checkpoint when enough log has accumulated, so old logs can be removed automatically. */
void store_checkpoint(struct store *st, int force);

/* Backup and restore (store_backup.c): a hot copy, its catastrophic recovery, the CA key
 * files, and claiming a directory nobody has open. 0 or a DB error / -1, with a message. */
int store_backup(struct store *st, const char *target, char *err, size_t cap);
int store_recover_copy(const char *dir, char *err, size_t cap);
int store_copy_keys(const char *from_dir, const char *to_dir, char *err, size_t cap);
/* Every file of a store directory (and its ca/) into another, 0600; not the in-use files. */
int store_copy_tree(const char *from_dir, const char *to_dir, char *err, size_t cap);
/* Give every file of a store directory to uid:gid; remove a store directory and its ca/. */
int store_chown_tree(const char *dir, uid_t uid, gid_t gid, char *err, size_t cap);
void store_remove_tree(const char *dir);
/* Remove the lock, key and region files a store directory carries only while in use. */
void store_forget_locks(const char *dir);
/*
 * Claim a store directory nobody has open: returns the fd of its store.openlock, held (close
 * it to let others in), or -1 with a message when a process has the store open.
 */
int store_claim(const char *dir, char *err, size_t cap);

/* Text of a Berkeley DB error code. */
const char *store_strerror(int ret);

#endif
