/*
 * store: the Berkeley DB environment under store_dir, shared by ca/ and policy/ (internal header,
 * not part of the public CA contract).
 *
 * Owns the environment handle (transactions, locking, logging, memory pool; recovery on open;
 * DB_REGISTER plus failchk so that a process that died holding locks cannot wedge the others;
 * log files removed automatically once checkpointed). Each module opens its own databases
 * through store_db_open and runs every multi-record change through store_txn_run, which retries
 * deadlocks. Files are 0600 in a 0700 directory.
 *
 * Lifetime: one struct store per process, shared by threads (all handles are DB_THREAD).
 */
#ifndef AUTOSMIME_CA_STORE_H
#define AUTOSMIME_CA_STORE_H

#include <stddef.h>

#include <db.h>

struct store {
	DB_ENV *env;
	char *dir;
};

/* Open (creating when absent) the environment in `dir`. 0, or -1 with a message in `err`. */
int store_open(const char *dir, struct store **out, char *err, size_t errcap);
void store_close(struct store *st);

/*
 * Open database file `file` (a btree unless `type` says otherwise) inside the environment.
 * `flags` are extra DB->set_flags flags (DB_DUPSORT, ...). Created 0600 when absent.
 */
int store_db_open(struct store *st, const char *file, DBTYPE type, unsigned int flags, DB **out,
    char *err, size_t errcap);

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

/* Text of a Berkeley DB error code. */
const char *store_strerror(int ret);

#endif
