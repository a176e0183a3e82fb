/* log_limit: see log_limit.h. */
#include "config.h"

#include <string.h>

#include "common/log_limit.h"

bool
as_log_limit_pass(struct as_log_limit *l, const char *key, time_t now, unsigned long *held)
{
	size_t i, oldest = 0;
	bool pass;

	*held = 0;
	pthread_mutex_lock(&l->lock);
	for (i = 0; i < AS_LOG_LIMIT_KINDS; i++) {
		if (strncmp(l->kind[i].key, key, AS_LOG_LIMIT_KEY - 1) == 0 && l->kind[i].key[0])
			break;
		if (l->kind[i].last < l->kind[oldest].last)
			oldest = i;
	}
	if (i == AS_LOG_LIMIT_KINDS) {
		i = oldest;
		strncpy(l->kind[i].key, key, AS_LOG_LIMIT_KEY - 1);
		l->kind[i].key[AS_LOG_LIMIT_KEY - 1] = '\0';
		l->kind[i].last = 0;
		l->kind[i].held = 0;
	}
	/* a clock stepped back counts as a new interval */
	pass = l->kind[i].last == 0 || now - l->kind[i].last >= l->interval ||
	    now < l->kind[i].last;
	if (pass) {
		*held = l->kind[i].held;
		l->kind[i].held = 0;
		l->kind[i].last = now;
	} else {
		l->kind[i].held++;
	}
	pthread_mutex_unlock(&l->lock);
	return pass;
}
