/*
 * daemon: runs autosmime-milter: the libmilter service, or the offline mode (-t) that
 * transforms one message file and prints the result.
 *
 * The main header of milter/daemon/ (libautosmime-milterd.a and the program): the folder owns
 * everything that knows libmilter (behind mfi.h), sessions, signals, privileges and offline
 * mode. It sits on top: it may call every other room, and none calls it.
 */
#ifndef AUTOSMIME_MILTER_DAEMON_H
#define AUTOSMIME_MILTER_DAEMON_H

#define DAEMON_MAX_OFFLINE_RCPTS 64

/* Command-line choices; lives for the whole process. */
struct daemon_options {
	const char *conf_path;
	int conf_path_given;
	int foreground;
	const char *offline_file;   /* -t */
	const char *offline_sender; /* -s */
	const char *recipients[DAEMON_MAX_OFFLINE_RCPTS];
	int recipient_count;
};

/* Returns the process exit status. */
int daemon_main(const struct daemon_options *opts);

#endif
