/*
 * ratelimit: the challenge rate-limit decision as a pure function over send times. Owns no
 * state; storage of the times belongs to the challenge store.
 */
#include "config.h"

#include <stdlib.h>

#include "policy/ratelimit.h"

static int
cmp_desc(const void *a, const void *b)
{
	time_t x = *(const time_t *)a, y = *(const time_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * With `limit` sends allowed per `window`: is the window full at `now`? When it is, the
 * window frees up when the limit-th most recent send ages out.
 */
static int
window_full(const time_t *times, size_t n, time_t now, long long window, long long limit,
    time_t *free_at)
{
	time_t *recent;
	size_t k = 0;
	int full;

	if (limit <= 0) {
		*free_at = (time_t)-1;
		return 1;
	}
	recent = malloc((n ? n : 1) * sizeof(*recent));
	if (recent == NULL) {
		/* Without memory nobody can be told to wait for long: refuse for a minute. */
		*free_at = now + 60;
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		time_t t = times[i] > now ? now : times[i];

		if ((long long)(now - t) < window)
			recent[k++] = t;
	}
	full = (long long)k >= limit;
	if (full) {
		qsort(recent, k, sizeof(*recent), cmp_desc);
		*free_at = recent[limit - 1] + (time_t)window;
	}
	free(recent);
	return full;
}

/* The later of two retry times; (time_t)-1 ("never") wins. */
static time_t
later(time_t a, time_t b)
{
	return a == (time_t)-1 || b == (time_t)-1 ? (time_t)-1 : (a > b ? a : b);
}

enum as_rl_verdict
as_ratelimit_check(const struct as_ratelimit *lim, const time_t *mailbox_times, size_t n_mailbox,
    const time_t *global_times, size_t n_global, time_t now, time_t *retry_at)
{
	return as_ratelimit_check_client(lim, mailbox_times, n_mailbox, NULL, 0, global_times,
	    n_global, now, retry_at);
}

enum as_rl_verdict
as_ratelimit_check_client(const struct as_ratelimit *lim, const time_t *mailbox_times,
    size_t n_mailbox, const time_t *client_times, size_t n_client, const time_t *global_times,
    size_t n_global, time_t now, time_t *retry_at)
{
	time_t at = 0, t;
	enum as_rl_verdict v = AS_RL_OK;

	/* the client's own limit is named first: a flooding host is told about its own budget */
	if (client_times != NULL &&
	    window_full(client_times, n_client, now, AS_RL_HOUR, lim->client_hour, &t)) {
		v = AS_RL_CLIENT_HOUR;
		at = t;
	}
	if (window_full(global_times, n_global, now, AS_RL_HOUR, lim->global_hour, &t)) {
		if (v == AS_RL_OK)
			v = AS_RL_GLOBAL_HOUR;
		at = later(t, at);
	}
	if (window_full(mailbox_times, n_mailbox, now, AS_RL_DAY, lim->mailbox_day, &t)) {
		if (v == AS_RL_OK)
			v = AS_RL_MAILBOX_DAY;
		at = later(t, at);
	}
	if (window_full(mailbox_times, n_mailbox, now, AS_RL_HOUR, lim->mailbox_hour, &t)) {
		if (v == AS_RL_OK)
			v = AS_RL_MAILBOX_HOUR;
		at = later(t, at);
	}
	if (retry_at != NULL)
		*retry_at = v == AS_RL_OK ? now : at;
	return v;
}

size_t
as_ratelimit_prune(time_t *times, size_t n, time_t now, long long window)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (times[i] > now || (long long)(now - times[i]) < window)
			times[k++] = times[i];
	return k;
}

const char *
as_rl_verdict_name(enum as_rl_verdict v)
{
	switch (v) {
	case AS_RL_OK:
		return "ok";
	case AS_RL_MAILBOX_HOUR:
		return "mailbox-hour";
	case AS_RL_MAILBOX_DAY:
		return "mailbox-day";
	case AS_RL_GLOBAL_HOUR:
		return "global-hour";
	case AS_RL_CLIENT_HOUR:
		return "client-hour";
	}
	return "unknown";
}
