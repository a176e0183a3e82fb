/*
 * procsetup: the process chores of the daemon around libmilter's socket: permissions of a
 * unix socket, TCP_NODELAY for inet sockets, the pid file, daemonising with a readiness
 * pipe, and dropping root privileges.
 */
#ifndef AUTOSMIME_MILTER_PROCSETUP_H
#define AUTOSMIME_MILTER_PROCSETUP_H

#include <stdbool.h>
#include <sys/types.h>

/* The path of a "unix:PATH" / "local:PATH" / bare-path socket spec, or NULL for inet. */
const char *procsetup_unix_path(const char *spec);

/* chmod (and chown to uid/gid when not -1) the unix socket. */
int procsetup_socket_perms(const char *path, long long mode, uid_t uid, gid_t gid);

/*
 * libmilter does not set TCP_NODELAY and keeps its listening socket to itself. Linux copies
 * TCP_NODELAY from a listening socket to the sockets it accepts, so setting it on every
 * listening TCP socket of the process (after smfi_opensocket) covers all connections.
 * Returns the number of sockets changed.
 */
int procsetup_nodelay_listeners(void);

/*
 * Refuse to start when the pid file names a live autosmime-milter (after waiting up to 10 s
 * for one that is stopping); a stale file or a pid reused by another program is no obstacle.
 */
int procsetup_pidfile_check(const char *path);
/* Remove the pid file at stop; a failure is logged. */
void procsetup_pidfile_remove(const char *path);
int procsetup_pidfile_write(const char *path);

/* Look up `user`: 0 with ids, -1 when unknown. */
int procsetup_user(const char *user, uid_t *uid, gid_t *gid);

/* Become uid/gid for good (supplementary groups of `user` included); verifies it stuck. */
int procsetup_drop(const char *user, uid_t uid, gid_t gid);

/*
 * Fork into the background. The parent waits until the child calls procsetup_ready (exit 0)
 * or exits/fails (exit 1); the child returns 0 with a new session and /dev/null on stdio.
 */
int procsetup_daemonize(void);
void procsetup_ready(int ok);

/* Is standard error the systemd journal ($JOURNAL_STREAM names its device and inode)? */
bool procsetup_stderr_is_journal(void);

#endif
