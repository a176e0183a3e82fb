/*
 * signals: the reload/shutdown signal thread and the sigwait() that keeps SIGHUP away from
 * libmilter's signal thread (see signals.h). Owns the thread.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <libmilter/mfapi.h>

#include "common/log.h"
#include "milter/daemon/sdnotify.h"
#include "milter/daemon/signals.h"
#include "milter/process/enrol_hook.h"

static pthread_t thread;
static bool started;
static atomic_int stopping;       /* signals_stop asked the thread to end */
static atomic_int stop_requested; /* SIGTERM seen */
static struct milter_runtime *runtime;
static const char *path;
static int given;

/*
 * Called by libmilter's signal thread (and nobody else in this program): wait for the
 * signals it asked for, except the ones this module handles.
 */
int
sigwait(const sigset_t *set, int *sig)
{
	sigset_t rest = *set;
	int r;

	sigdelset(&rest, SIGHUP);
	sigdelset(&rest, SIGTERM);
	do
		r = sigwaitinfo(&rest, NULL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno;
	*sig = r;
	return 0;
}

static void
handled(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

int
signals_block(void)
{
	sigset_t set;

	handled(&set);
	signal(SIGPIPE, SIG_IGN);
	return pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 ? 0 : -1;
}

/* SIGHUP: the new snapshot's enrolment context is opened before any connection takes it. */
static void
reload(void)
{
	struct snapshot *snap = runtime_load(runtime, path, given);

	if (snap == NULL)
		return;
	if (runtime->ca != NULL)
		enrol_hook_prepare(runtime, snap);
	runtime_install(runtime, snap); /* transferred */
}

static void *
loop(void *arg)
{
	sigset_t set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	while (!atomic_load(&stopping)) {
		int sig = sigwaitinfo(&set, NULL);

		if (sig < 0 || atomic_load(&stopping))
			continue;
		if (sig == SIGHUP) {
			as_log(AS_LEVEL_NOTICE, NULL, "event=signal signal=HUP action=reload");
			sdnotify_reloading();
			reload();
			sdnotify_send("READY=1");
		} else if (sig == SIGTERM) {
			as_log(AS_LEVEL_NOTICE, NULL, "event=signal signal=TERM action=stop");
			atomic_store(&stop_requested, 1);
			sdnotify_send("STOPPING=1");
			smfi_stop();
		}
	}
	return NULL;
}

int
signals_start(struct milter_runtime *rt, const char *conf_path, int path_given)
{
	runtime = rt;
	path = conf_path;
	given = path_given;
	if (pthread_create(&thread, NULL, loop, NULL) != 0)
		return -1;
	started = true;
	return 0;
}

void
signals_stop(void)
{
	if (!started)
		return;
	atomic_store(&stopping, 1);
	pthread_kill(thread, SIGHUP);
	pthread_join(thread, NULL);
	started = false;
}

int
signals_stop_requested(void)
{
	return atomic_load(&stop_requested);
}
