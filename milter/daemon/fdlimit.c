/*
 * fdlimit: raises the daemon's soft descriptor limit to its hard limit at start (see
 * fdlimit.h). Owns nothing.
 */
#include "config.h"

#include <sys/resource.h>

#include "common/log.h"
#include "milter/daemon/fdlimit.h"

long
fdlimit_raise(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	was = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			as_log(AS_LEVEL_WARNING, NULL, "event=fdlimit status=failed soft=%llu hard=%llu",
			    (unsigned long long)was, (unsigned long long)rl.rlim_max);
			return (long)was;
		}
	}
	as_log(was < rl.rlim_cur ? AS_LEVEL_INFO : AS_LEVEL_DEBUG, NULL,
	    "event=fdlimit status=ok soft=%llu was=%llu", (unsigned long long)rl.rlim_cur,
	    (unsigned long long)was);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 4096)
		as_log(AS_LEVEL_WARNING, NULL, "event=fdlimit status=low soft=%llu "
		    "reason=\"about one descriptor per concurrent SMTP session is needed; raise "
		    "LimitNOFILE\"", (unsigned long long)rl.rlim_cur);
	return rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
}
