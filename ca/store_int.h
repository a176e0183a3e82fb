/*
 * store_int: what the store's files share (store.c, store_attach.c, store_heal.c) and nobody
 * else sees.
 */
#ifndef AUTOSMIME_CA_STORE_INT_H
#define AUTOSMIME_CA_STORE_INT_H

#include "ca/store.h"

/*
 * store_attach.c: open st->env in st->dir, alone or beside other processes. Recovery runs
 * only when the environment needs it (open or failchk fails) and no other live process has
 * the store open; beside others such an environment is an error (DB_RUNRECOVERY) for the
 * caller to retry after they left. *recovered says whether recovery ran. 0 or a DB error.
 */
int store_attach(struct store *st, bool *recovered, char *err, size_t errcap);
/*
 * Close st->env; the last process out writes the cache back and removes the shared-memory
 * regions, or keeps them for the next opener to recover when that write fails.
 */
void store_detach(struct store *st);

#define STORE_SHM_SPAN 64   /* keys base .. base+63 are the environment's regions */

/*
 * store_shm.c: before/after an environment open, note the segments the open mapped; after
 * its close, detach those still mapped (a panicked close leaves them attached).
 */
void store_shm_before(struct store *st, struct store_shm_map *before, size_t *nbefore);
void store_shm_after(struct store *st, const struct store_shm_map *before, size_t nbefore);
void store_shm_release(struct store *st);

/*
 * store_cleanup.c: DB_ENV->failchk and DB_ENV->open (0600) for this store, safe against a
 * process that died waiting for a lock (see there). Berkeley DB results.
 */
int store_failchk(DB_ENV *env);
int store_env_open(DB_ENV *env, const char *dir, u_int32_t flags);

/* store.c: close every database and the environment, attach again, reopen, run the hooks. */
int store_reopen(struct store *st, bool *recovered, char *err, size_t errcap);

#endif
