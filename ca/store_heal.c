/*
 * store_heal: the daemon's watcher. Every STORE_WATCH_MS it runs failchk (which frees what a
 * dead process left locked) and, when the environment panicked, failchk failed or a caller saw
 * DB_RUNRECOVERY, closes every handle and opens the store again (with recovery once it is the
 * only process), retrying until that works. Callers meanwhile are refused at the gate and
 * answer 4xx. One log line per event; while the store stays down its cause once a minute.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ca/store_int.h"
#include "common/log.h"

#define HEAL_LOG_EVERY 60

static long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The reason to reopen, or 0 when the store is fine. */
static int
check(struct store *st, char *cause, size_t cap)
{
	int ret;

	if (__atomic_load_n(&st->down, __ATOMIC_ACQUIRE)) {
		snprintf(cause, cap, "%.200s", st->cause);
		return DB_RUNRECOVERY;
	}
	if (__atomic_exchange_n(&st->broken, 0, __ATOMIC_ACQ_REL)) {
		snprintf(cause, cap, "panic or DB_RUNRECOVERY seen");
		return DB_RUNRECOVERY;
	}
	pthread_rwlock_rdlock(&st->gate);
	ret = st->env != NULL ? store_failchk(st->env) : DB_RUNRECOVERY;
	pthread_rwlock_unlock(&st->gate);
	if (ret != 0)
		snprintf(cause, cap, "failchk: %s", db_strerror(ret));
	return ret;
}

static void
heal(struct store *st, const char *cause)
{
	struct timespec t0;
	char err[300], s1[300], s2[400];
	bool was_down = __atomic_load_n(&st->down, __ATOMIC_ACQUIRE), recovered;
	time_t now = time(NULL);
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!was_down)
		as_log(AS_LEVEL_WARNING, NULL, "event=store status=broken cause=%s",
		    as_log_value(cause, s1, sizeof(s1)));
	pthread_rwlock_wrlock(&st->gate);
	__atomic_store_n(&st->suspect, 1, __ATOMIC_RELEASE);   /* a reopen recovers when it can */
	ret = store_reopen(st, &recovered, err, sizeof(err));
	__atomic_store_n(&st->down, ret != 0, __ATOMIC_RELEASE);
	if (ret != 0)
		snprintf(st->cause, sizeof(st->cause), "%.290s", err);
	pthread_rwlock_unlock(&st->gate);
	if (ret == 0) {
		__atomic_add_fetch(&st->heals, 1, __ATOMIC_RELAXED);
		as_log(AS_LEVEL_NOTICE, NULL, "event=store status=reopened recovery=%s ms=%ld",
		    recovered ? "yes" : "no", ms_since(&t0));
		st->cause_logged = 0;
	} else if (!was_down || now - st->cause_logged >= HEAL_LOG_EVERY) {
		as_log(AS_LEVEL_ERR, NULL, "event=store status=down action=tempfail cause=%s",
		    as_log_value(err, s2, sizeof(s2)));
		st->cause_logged = now;
	}
}

static void *
watch(void *arg)
{
	struct store *st = arg;
	struct timespec pause = { 0, STORE_WATCH_MS * 1000L * 1000L };
	char cause[300];

	while (!__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE)) {
		nanosleep(&pause, NULL);
		if (check(st, cause, sizeof(cause)) != 0)
			heal(st, cause);
	}
	return NULL;
}

int
store_watch_start(struct store *st)
{
	if (st->watching)
		return 0;
	if (pthread_create(&st->watcher, NULL, watch, st) != 0)
		return -1;
	st->watching = true;
	return 0;
}
