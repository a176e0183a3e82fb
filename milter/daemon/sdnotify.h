/*
 * sdnotify: tells the service manager what the daemon is doing (systemd's Type=notify, the
 * sd_notify datagram protocol: READY=1, RELOADING=1, STOPPING=1, STATUS=...). It is a datagram
 * to the unix socket named in $NOTIFY_SOCKET, so no library is linked; without that variable
 * every call does nothing.
 */
#ifndef AUTOSMIME_MILTER_SDNOTIFY_H
#define AUTOSMIME_MILTER_SDNOTIFY_H

/*
 * Read $NOTIFY_SOCKET once, before any thread starts, and remove it from the environment so
 * that programs the daemon runs (sendmail_command) do not talk to the manager in its name.
 * Returns -1 (logged) when the variable names no usable socket, 0 otherwise.
 */
int sdnotify_init(void);

/* Send newline-separated assignments, e.g. "READY=1\nSTATUS=serving"; 0 when sent or unset. */
int sdnotify_send(const char *state);

/* RELOADING=1 with the CLOCK_MONOTONIC time in microseconds, as the protocol asks. */
int sdnotify_reloading(void);

#endif
