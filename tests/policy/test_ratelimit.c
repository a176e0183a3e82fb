/*
 * test_ratelimit: the challenge rate limits: per mailbox per hour and per day, global per
 * hour, the retry time, clock steps, pruning, and a simulated flood.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "policy/ratelimit.h"
#include "tests/tap.h"

int
main(void)
{
	struct as_ratelimit lim = { .mailbox_hour = 3, .mailbox_day = 10, .global_hour = 1000 };
	time_t now = 1700000000, retry = 0;
	time_t mb[64], gl[2000];
	size_t nm = 0, ng = 0;

	tap_ok(as_ratelimit_check(&lim, NULL, 0, NULL, 0, now, &retry) == AS_RL_OK && retry == now,
	    "nothing sent yet: ok");
	mb[nm++] = now - 100;
	mb[nm++] = now - 200;
	tap_ok(as_ratelimit_check(&lim, mb, nm, mb, nm, now, NULL) == AS_RL_OK, "2 in the hour: ok");
	mb[nm++] = now - 3599;
	tap_ok(as_ratelimit_check(&lim, mb, nm, mb, nm, now, &retry) == AS_RL_MAILBOX_HOUR,
	    "3 in the hour: refused (%s)", as_rl_verdict_name(AS_RL_MAILBOX_HOUR));
	tap_ok(retry == now + 1, "retry when the oldest of the three is an hour old (%lld)",
	    (long long)(retry - now));
	tap_ok(as_ratelimit_check(&lim, mb, nm, mb, nm, now + 1, NULL) == AS_RL_OK,
	    "one second later: ok");

	nm = 0;
	for (int i = 0; i < 10; i++)
		mb[nm++] = now - 3600 - i * 7000;
	tap_ok(as_ratelimit_check(&lim, mb, nm, mb, nm, now, &retry) == AS_RL_MAILBOX_DAY,
	    "10 in the day (none in the hour): refused per day");
	tap_ok(retry == mb[9] + 86400, "retry when the tenth most recent is a day old");
	mb[9] = now - 86400;
	tap_ok(as_ratelimit_check(&lim, mb, nm, mb, nm, now, NULL) == AS_RL_OK,
	    "a send exactly a day ago no longer counts");

	nm = 0;
	mb[nm++] = now + 5000;
	mb[nm++] = now + 6000;
	mb[nm++] = now + 7000;
	tap_ok(as_ratelimit_check(&lim, mb, nm, mb, nm, now, NULL) == AS_RL_MAILBOX_HOUR,
	    "times in the future (clock stepped back) still count");

	for (ng = 0; ng < 1000; ng++)
		gl[ng] = now - (time_t)(ng * 3);
	tap_ok(as_ratelimit_check(&lim, NULL, 0, gl, ng, now, &retry) == AS_RL_GLOBAL_HOUR,
	    "1,000 by the gateway in the hour: refused globally");
	tap_ok(as_ratelimit_check(&lim, NULL, 0, gl, ng, now + 3600, NULL) == AS_RL_OK,
	    "an hour later: ok");

	/* A client host's own hourly budget, beside the global one. */
	{
		struct as_ratelimit cl = { 3, 10, 1000, 2 };
		time_t ct[2] = { now - 100, now - 50 };

		tap_ok(as_ratelimit_check_client(&cl, NULL, 0, ct, 1, NULL, 0, now, NULL) == AS_RL_OK,
		    "client: 1 of 2 in the hour: ok");
		tap_ok(as_ratelimit_check_client(&cl, NULL, 0, ct, 2, NULL, 0, now, &retry) ==
		    AS_RL_CLIENT_HOUR && retry == now - 100 + 3600,
		    "client: 2 of 2: refused until the older ages out");
		tap_ok(as_ratelimit_check_client(&cl, NULL, 0, NULL, 0, NULL, 0, now, NULL) == AS_RL_OK,
		    "no client times given: no client limit");
		tap_ok(as_ratelimit_check_client(&cl, NULL, 0, ct, 2, gl, ng, now, NULL) ==
		    AS_RL_CLIENT_HOUR, "client and global both full: the client's own limit is named");
		tap_ok(strcmp(as_rl_verdict_name(AS_RL_CLIENT_HOUR), "client-hour") == 0,
		    "verdict name client-hour");
	}

	struct as_ratelimit zero = { 0, 0, 0, 0 };
	tap_ok(as_ratelimit_check(&zero, NULL, 0, NULL, 0, now, &retry) != AS_RL_OK &&
	    retry == (time_t)-1, "limit 0: never");

	/* Flood: 1,000 requests for one mailbox within ten minutes; only 3 may go out. */
	{
		time_t sent[1000];
		size_t ns = 0;

		for (int i = 0; i < 1000; i++) {
			time_t t = now + (time_t)(i * 6 / 10);

			if (as_ratelimit_check(&lim, sent, ns, sent, ns, t, NULL) == AS_RL_OK)
				sent[ns++] = t;
		}
		tap_ok(ns == 3, "a flood of 1,000 requests in 10 minutes sends %zu challenges", ns);
	}
	/* Over a simulated week with a request every minute: at most 10 per rolling day. */
	{
		time_t *sent = malloc(10080 * sizeof(*sent));
		size_t ns = 0, worst = 0;

		for (int m = 0; m < 10080; m++) {
			time_t t = now + m * 60;

			ns = as_ratelimit_prune(sent, ns, t, AS_RL_DAY);
			if (as_ratelimit_check(&lim, sent, ns, sent, ns, t, NULL) == AS_RL_OK)
				sent[ns++] = t;
			if (ns > worst)
				worst = ns;
		}
		tap_ok(worst == 10, "a week of requests every minute: at most %zu in any day", worst);
		free(sent);
	}
	{
		time_t ts[4] = { now - 10, now - 90000, now + 10, now - 86399 };
		size_t k = as_ratelimit_prune(ts, 4, now, AS_RL_DAY);
		tap_ok(k == 3 && ts[0] == now - 10 && ts[1] == now + 10 && ts[2] == now - 86399,
		    "prune keeps the last day and the future, in order");
	}
	return tap_done();
}
