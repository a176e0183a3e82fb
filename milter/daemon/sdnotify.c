/*
 * sdnotify: the service manager's readiness protocol (see sdnotify.h). Owns the socket address
 * read from the environment at start.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "milter/daemon/sdnotify.h"

static struct sockaddr_un addr;
static socklen_t addr_len;   /* 0: no manager to tell */

int
sdnotify_init(void)
{
	const char *name = getenv("NOTIFY_SOCKET");
	size_t n;

	addr_len = 0;
	if (name == NULL || *name == '\0')
		return 0;
	n = strlen(name);
	/* a path, or '@' for the abstract namespace; nothing else is defined */
	if ((name[0] != '/' && name[0] != '@') || n >= sizeof(addr.sun_path)) {
		as_log(AS_LEVEL_WARNING, NULL, "event=notify status=failed reason=\"NOTIFY_SOCKET "
		    "is not a unix socket path\"");
		unsetenv("NOTIFY_SOCKET");
		return -1;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, name, n);
	if (addr.sun_path[0] == '@')
		addr.sun_path[0] = '\0';
	addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	unsetenv("NOTIFY_SOCKET");
	return 0;
}

int
sdnotify_send(const char *state)
{
	ssize_t sent;
	int fd, e;

	if (addr_len == 0)
		return 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *)&addr,
	    addr_len);
	e = errno;
	close(fd);
	if (sent < 0) {
		as_log(AS_LEVEL_WARNING, NULL, "event=notify status=failed reason=\"%s\"", strerror(e));
		return -1;
	}
	return 0;
}

int
sdnotify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return sdnotify_send("RELOADING=1");
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000u);
	return sdnotify_send(msg);
}
