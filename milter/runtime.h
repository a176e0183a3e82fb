/*
 * runtime: the process-wide state of autosmime-milter that callbacks share: the current
 * configuration snapshot (swapped atomically on SIGHUP), the CA handle and the key cache.
 *
 * A snapshot is reference-counted: a connection takes one at connect and keeps it until close,
 * so a reload never changes the rules under a running session; the old snapshot is freed when
 * its last connection ends.
 */
#ifndef AUTOSMIME_MILTER_RUNTIME_H
#define AUTOSMIME_MILTER_RUNTIME_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include "common/conf.h"
#include "milter/netlist.h"
#include "milter/sendermap.h"

struct ca;
struct keycache;

/* Lifetime: from snapshot_new until the last snapshot_release. Immutable in between. */
struct snapshot {
	struct as_conf *conf;
	struct sendermap *map;
	struct netlist *nets;
	unsigned long generation;   /* 1 for the first load, +1 per reload (for logs and tests) */
	unsigned refs;              /* guarded by the runtime lock */
};

/*
 * Build a snapshot from a loaded configuration (transferred, also on failure): reads the
 * sender map and parses the internal networks. NULL with a reason in why.
 */
struct snapshot *snapshot_new(struct as_conf *conf, char *why, size_t cap);

/* Lifetime: per process; set up by the daemon or offline mode, borrowed by callbacks. */
struct milter_runtime {
	pthread_mutex_t lock;
	struct snapshot *current;   /* the snapshot new connections take */
	unsigned long generations;
	struct ca *ca;              /* shared, thread-safe */
	struct keycache *keys;
	time_t (*now)(void);        /* injectable clock */
};

/* Initialise with a first snapshot (transferred). */
int runtime_init(struct milter_runtime *rt, struct snapshot *first);
/* Release the current snapshot; the CA and key cache belong to whoever opened them. */
void runtime_destroy(struct milter_runtime *rt);

/* Take a reference to the current snapshot; never NULL after runtime_init. */
struct snapshot *runtime_acquire(struct milter_runtime *rt);
void runtime_release(struct milter_runtime *rt, struct snapshot *snap);

/* Make `snap` (transferred) the current snapshot; the old one lives on in its connections. */
void runtime_swap(struct milter_runtime *rt, struct snapshot *snap);

/* SIGHUP: load `path` into a new snapshot and swap it in; on failure keep the old one. */
int runtime_reload(struct milter_runtime *rt, const char *path, int path_given);

#endif
