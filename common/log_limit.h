/*
 * log_limit: "once per interval" for log lines that a fault repeats with every message (a
 * full disk, a store being reopened). The first line of a kind is logged, the rest of the
 * interval is counted, and the next line logged says how many were held back.
 */
#ifndef AUTOSMIME_COMMON_LOG_LIMIT_H
#define AUTOSMIME_COMMON_LOG_LIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#define AS_LOG_LIMIT_KINDS 8
#define AS_LOG_LIMIT_KEY 160

struct as_log_limit {
	pthread_mutex_t lock;
	time_t interval;
	struct {
		char key[AS_LOG_LIMIT_KEY];
		time_t last;
		unsigned long held;
	} kind[AS_LOG_LIMIT_KINDS];
};

#define AS_LOG_LIMIT_INIT(seconds) { PTHREAD_MUTEX_INITIALIZER, (seconds), { { "", 0, 0 } } }

/*
 * true: log this line now (*held says how many lines of its kind were held back since the
 * last one logged); false: it was counted, do not log it. Keys longer than the table's slot
 * count as their first AS_LOG_LIMIT_KEY-1 bytes; the least recently logged kind makes room.
 */
bool as_log_limit_pass(struct as_log_limit *l, const char *key, time_t now, unsigned long *held);

#endif
