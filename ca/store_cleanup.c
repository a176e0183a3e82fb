/*
 * store_cleanup: failchk and recovery, run so that a process that died while waiting for a
 * lock cannot hang the one cleaning up after it.
 *
 * Berkeley DB 5.3 frees a dead locker's mutex with pthread_cond_destroy on the condition
 * variable in the shared region. Since glibc 2.25 that call waits until every waiter has
 * woken up, and a waiter that was killed never does: failchk then blocks forever holding the
 * lock region, and every living process with it. The memory is the region's, and Berkeley
 * DB initialises the condition variable again before it reuses the mutex, so while this
 * process cleans up, destroying one is skipped; everywhere else it is the C library's.
 */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>

#include "ca/store_int.h"

static __thread int cleaning;

int
pthread_cond_destroy(pthread_cond_t *cond)
{
	static int (*real)(pthread_cond_t *);

	if (cleaning)
		return 0;
	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "pthread_cond_destroy");
	return real != NULL ? real(cond) : 0;
}

int
store_failchk(DB_ENV *env)
{
	int ret;

	cleaning = 1;
	ret = env->failchk(env, 0);
	cleaning = 0;
	return ret;
}

int
store_env_open(DB_ENV *env, const char *dir, u_int32_t flags)
{
	int ret;

	cleaning = (flags & DB_RECOVER) != 0;
	ret = env->open(env, dir, flags, 0600);
	cleaning = 0;
	return ret;
}
