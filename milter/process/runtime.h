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
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "common/conf.h"
#include "milter/process/netlist.h"
#include "milter/process/netsendermap.h"
#include "milter/process/sendermap.h"

struct as_smimea;
struct ca;
struct enrol_slot;
struct inbound;
struct keycache;

/* Lifetime: from snapshot_new until the last snapshot_release. Immutable in between. */
struct snapshot {
	struct as_conf *conf;
	struct sendermap *map;
	struct netlist *nets;
	struct netsendermap *netmap; /* network_sender_map_file, empty when unset */
	unsigned long generation;   /* 1 for the first load, +1 per reload (for logs and tests) */
	unsigned sender_caps;       /* sender_capabilities as SMIME_CAP_* bits */
	unsigned refs;              /* guarded by the runtime lock */
	/*
	 * The inbound pipeline built from this configuration (trust anchors, CRL cache and its
	 * thread). It needs the CA, which the daemon opens after the first snapshot exists, so
	 * it is made by runtime_inbound on first need (or at reload) and freed with the
	 * snapshot. Guarded by inbound_lock until set; read-only (and thread-safe) after.
	 */
	pthread_mutex_t inbound_lock;
	struct inbound *inbound;
	struct as_smimea *smimea;   /* SMIMEA lookups and their cache; NULL when smimea_lookup is off */
	time_t inbound_failed_at;   /* last failed attempt; retried after RUNTIME_INBOUND_RETRY */
	/*
	 * The enrolment context (enrol_hook.c), made on first need like inbound; NULL until then.
	 * Its maker sets enrol_free, which snapshot_free calls before freeing the config the
	 * context borrows from: the runtime frees it without knowing what it is.
	 */
	struct enrol_slot *enrol;
	void (*enrol_free)(struct snapshot *snap);
};

#define RUNTIME_INBOUND_RETRY 60

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

/*
 * SIGHUP, in two steps so that the caller can prepare what it attaches to the new snapshot
 * (enrolment) before any connection sees it: runtime_load reads `path` into a new snapshot
 * and sets its inbound pipeline up (NULL on failure, logged: the old snapshot stays);
 * runtime_install swaps it in (transferred) and logs the reload.
 */
struct snapshot *runtime_load(struct milter_runtime *rt, const char *path, int path_given);
void runtime_install(struct milter_runtime *rt, struct snapshot *snap);

/*
 * The inbound pipeline of `snap` (held by the caller), made with rt->ca on first use. NULL
 * when inbound processing is off (inbound_verify and inbound_decrypt both "no") or when it
 * cannot be set up (logged; tried again after RUNTIME_INBOUND_RETRY seconds).
 */
struct inbound *runtime_inbound(struct milter_runtime *rt, const struct snapshot *snap);

/* Is inbound processing configured at all (inbound_verify or inbound_decrypt)? */
bool runtime_inbound_enabled(const struct snapshot *snap);

/*
 * Start-up: make the current snapshot's inbound pipeline now (after the CA is open), so a
 * bad trust anchor or CRL cache setting shows in the log before the first message.
 * 0, or -1 when it could not be made (the daemon still serves; inbound mail then gets the
 * on_error answer until it can).
 */
int runtime_inbound_start(struct milter_runtime *rt);

#endif
