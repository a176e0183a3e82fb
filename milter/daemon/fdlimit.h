/*
 * fdlimit: the daemon's descriptor limit. libmilter holds one descriptor per MTA connection
 * and each message may open spool files; a service's usual soft limit (1024) runs out near
 * 1,000 concurrent SMTP sessions, and a message that cannot open its spool is tempfailed.
 */
#ifndef AUTOSMIME_FDLIMIT_H
#define AUTOSMIME_FDLIMIT_H

/*
 * Raise the soft RLIMIT_NOFILE to the hard limit (what an unprivileged process may do).
 * Returns the soft limit now in force (-1 when it could not be read); logs the change.
 */
long fdlimit_raise(void);

#endif
