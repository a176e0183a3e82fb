/*
 * ratelimit: may another challenge go out? A pure function over stored send times, so that the
 * gateway can never be used to mail-bomb anyone: per mailbox per hour and per day, and for the
 * whole gateway per hour, and per SMTP client host per hour. The caller loads the times (the challenge store keeps them), asks,
 * and records the new time only when it sends.
 */
#ifndef AUTOSMIME_POLICY_RATELIMIT_H
#define AUTOSMIME_POLICY_RATELIMIT_H

#include <stddef.h>
#include <time.h>

#define AS_RL_HOUR 3600
#define AS_RL_DAY 86400

/* Limits, usually copied from struct as_conf (challenge_limit_*). 0 means "none allowed". */
struct as_ratelimit {
	long long mailbox_hour;
	long long mailbox_day;
	long long global_hour;
	long long client_hour;      /* per SMTP client host (see as_ratelimit_check_client) */
};

enum as_rl_verdict {
	AS_RL_OK,
	AS_RL_MAILBOX_HOUR,
	AS_RL_MAILBOX_DAY,
	AS_RL_GLOBAL_HOUR,
	AS_RL_CLIENT_HOUR,
};

/*
 * Decide at `now` given the send times of this mailbox and of the whole gateway (any order;
 * times in the future count as now, so a clock step back can't open the gate). When refused,
 * *retry_at (if not NULL) is the earliest time the same question could be answered OK.
 */
enum as_rl_verdict as_ratelimit_check(const struct as_ratelimit *lim,
    const time_t *mailbox_times, size_t n_mailbox, const time_t *global_times, size_t n_global,
    time_t now, time_t *retry_at);

/*
 * The same with the send times of the SMTP client host that carried the message as well
 * (client_hour per hour), so that one host sending with forged senders uses up its own budget
 * and not the gateway's. client_times NULL: no client limit applies (the CLI, renewals).
 */
enum as_rl_verdict as_ratelimit_check_client(const struct as_ratelimit *lim,
    const time_t *mailbox_times, size_t n_mailbox, const time_t *client_times, size_t n_client,
    const time_t *global_times, size_t n_global, time_t now, time_t *retry_at);

/* Drop times older than `window` seconds before now, in place; returns how many are left. */
size_t as_ratelimit_prune(time_t *times, size_t n, time_t now, long long window);

/* "ok", "mailbox-hour", "mailbox-day", "global-hour", "client-hour". */
const char *as_rl_verdict_name(enum as_rl_verdict v);

#endif
