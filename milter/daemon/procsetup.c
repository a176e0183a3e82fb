/*
 * procsetup: socket permissions, TCP_NODELAY, pid file, daemonising and privilege drop for
 * autosmime-milter (see procsetup.h). Owns the readiness pipe.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "milter/daemon/procsetup.h"

/* How long (in 100 ms steps) a start waits for a stopping daemon of the same pid file. */
#define PIDFILE_WAIT_STEPS 100

#define MAX_FD_SCAN 1024

static int ready_fd = -1;

const char *
procsetup_unix_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	if (spec[0] == '/')
		return spec;
	return NULL;
}

int
procsetup_socket_perms(const char *path, long long mode, uid_t uid, gid_t gid)
{
	if (uid != (uid_t)-1 && chown(path, uid, gid) < 0)
		return -1;
	return chmod(path, (mode_t)mode);
}

int
procsetup_nodelay_listeners(void)
{
	int changed = 0;

	for (int fd = 0; fd < MAX_FD_SCAN; fd++) {
		int listening = 0, domain = 0, on = 1;
		socklen_t len = sizeof(listening);

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening)
			continue;
		len = sizeof(domain);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
		    (domain != AF_INET && domain != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == 0)
			changed++;
	}
	return changed;
}

/* Is pid a running autosmime-milter? Another program that got the pid since is not. */
static bool
pid_is_milter(long pid)
{
	char path[64], comm[32] = "";
	ssize_t n;
	int fd;

	if (kill((pid_t)pid, 0) < 0 && errno != EPERM)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return true;   /* no /proc: assume the worst */
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return true;
	comm[n] = '\0';
	/* comm holds the first 15 bytes of the program name */
	return strncmp(comm, "autosmime-milter", strcspn(comm, "\n")) == 0;
}

int
procsetup_pidfile_check(const char *path)
{
	char buf[32];
	ssize_t n;
	long pid;
	int fd, i;

	if (path == NULL || *path == '\0' || (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	if (pid <= 1 || pid == (long)getpid())
		return 0;
	/* a daemon that was just told to stop may still be closing: give it a moment */
	for (i = 0; i < PIDFILE_WAIT_STEPS && pid_is_milter(pid); i++)
		usleep(100 * 1000);
	if (pid_is_milter(pid)) {
		as_log(AS_LEVEL_ERR, NULL, "event=start status=failed reason=\"already running\" pid=%ld",
		    pid);
		return -1;
	}
	return 0;
}

void
procsetup_pidfile_remove(const char *path)
{
	if (path != NULL && *path != '\0' && unlink(path) < 0 && errno != ENOENT)
		as_log(AS_LEVEL_WARNING, NULL, "event=pidfile status=kept reason=\"%s\"",
		    strerror(errno));
}

int
procsetup_pidfile_write(const char *path)
{
	char buf[32];
	int fd, n, r = -1;

	if (path == NULL || *path == '\0')
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -1;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) == n)
		r = 0;
	if (close(fd) < 0)
		r = -1;
	return r;
}

int
procsetup_user(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int
procsetup_drop(const char *user, uid_t uid, gid_t gid)
{
	if (initgroups(user, gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		return -1;
	/* it must be impossible to get root back */
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return -1;
	return 0;
}

int
procsetup_daemonize(void)
{
	int fds[2], devnull;
	pid_t pid;
	char c = 0;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		int status;

		close(fds[1]);
		if (read(fds[0], &c, 1) == 1 && c == 1)
			_exit(0);
		/* the child failed before it was ready; it logged why */
		waitpid(pid, &status, WNOHANG);
		_exit(1);
	}
	close(fds[0]);
	ready_fd = fds[1];
	if (setsid() < 0)
		return -1;
	if (chdir("/") < 0)
		return -1;
	devnull = open("/dev/null", O_RDWR);
	if (devnull < 0)
		return -1;
	dup2(devnull, 0);
	dup2(devnull, 1);
	dup2(devnull, 2);
	if (devnull > 2)
		close(devnull);
	return 0;
}

bool
procsetup_stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (v == NULL || sscanf(v, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
procsetup_ready(int ok)
{
	char c = ok ? 1 : 0;

	if (ready_fd < 0)
		return;
	if (write(ready_fd, &c, 1) < 0) {
		/* the parent is gone; nothing to tell */
	}
	close(ready_fd);
	ready_fd = -1;
}
