/*
 * sendmail: splits the sendmail command without a shell and injects a message through it
 * with a bounded wait. Owns the child process of one call, and its pipes, until it returns.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/sendmail.h"

extern char **environ;

void
as_sendmail_argv_free(char **argv)
{
	if (argv == NULL)
		return;
	for (char **a = argv; *a != NULL; a++)
		free(*a);
	free(argv);
}

int
as_sendmail_split(const char *command, char ***argv_out, char *err, size_t errcap)
{
	char **argv = NULL, *word = NULL;
	size_t argc = 0, len;
	const char *p = command;
	int r = -1;

	*argv_out = NULL;
	if (command == NULL || (len = strlen(command)) == 0 || len > AS_SENDMAIL_MAX_COMMAND) {
		as_errf(err, errcap, "sendmail command is empty or too long");
		goto out;
	}
	argv = calloc(AS_SENDMAIL_MAX_ARGS + 1, sizeof(*argv));
	word = malloc(len + 1);
	if (argv == NULL || word == NULL) {
		as_errf(err, errcap, "out of memory");
		goto out;
	}
	for (;;) {
		size_t o = 0;
		bool have = false;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		while (*p != '\0' && *p != ' ' && *p != '\t') {
			unsigned char c = (unsigned char)*p;

			if (c < 0x20 || c == 0x7f) {
				as_errf(err, errcap, "control character in the sendmail command");
				goto out;
			}
			have = true;
			if (c == '\'') {
				const char *e = strchr(p + 1, '\'');

				if (e == NULL) {
					as_errf(err, errcap, "unterminated ' in the sendmail command");
					goto out;
				}
				memcpy(word + o, p + 1, (size_t)(e - p - 1));
				o += (size_t)(e - p - 1);
				p = e + 1;
			} else if (c == '"') {
				p++;
				while (*p != '"') {
					if (*p == '\0') {
						as_errf(err, errcap, "unterminated \" in the sendmail command");
						goto out;
					}
					if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
						p++;
					word[o++] = *p++;
				}
				p++;
			} else if (c == '\\') {
				if (p[1] == '\0') {
					as_errf(err, errcap, "trailing \\ in the sendmail command");
					goto out;
				}
				word[o++] = p[1];
				p += 2;
			} else {
				word[o++] = *p++;
			}
		}
		if (!have)
			break;
		if (argc >= AS_SENDMAIL_MAX_ARGS) {
			as_errf(err, errcap, "more than %d words in the sendmail command",
			    AS_SENDMAIL_MAX_ARGS);
			goto out;
		}
		word[o] = '\0';
		if ((argv[argc] = strdup(word)) == NULL) {
			as_errf(err, errcap, "out of memory");
			goto out;
		}
		argc++;
	}
	if (argc == 0 || argv[0][0] != '/') {
		as_errf(err, errcap, "the sendmail command must start with an absolute path");
		goto out;
	}
	*argv_out = argv;   /* transferred */
	argv = NULL;
	r = 0;
out:
	as_sendmail_argv_free(argv);
	free(word);
	return r;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Printable copy of the child's output for an error message. */
static void
clean_output(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			s[i] = ' ';
	s[n] = '\0';
	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
}

int
as_sendmail_inject(const char *command, const char *const *extra, const char *msg,
    size_t len, int timeout_ms, char *err, size_t errcap)
{
	char **base = NULL, **argv = NULL;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	pid_t pid = -1;
	sigset_t pipe_set, old_set;
	bool masked = false;
	char output[201];
	size_t outn = 0, done = 0, nbase = 0, nextra = 0;
	long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	int status = 0, r = -1;
	bool reaped = false, timed_out = false;
	char why[256] = "";

	if (as_sendmail_split(command, &base, why, sizeof(why)) != 0) {
		as_errf(err, errcap, "%s", why);
		goto out;
	}
	while (base[nbase] != NULL)
		nbase++;
	while (extra != NULL && extra[nextra] != NULL)
		nextra++;
	if (nbase + nextra > AS_SENDMAIL_MAX_ARGS ||
	    (argv = calloc(nbase + nextra + 1, sizeof(*argv))) == NULL) {
		as_errf(err, errcap, "too many arguments for the sendmail command");
		goto out;
	}
	memcpy(argv, base, nbase * sizeof(*argv));
	for (size_t i = 0; i < nextra; i++)
		argv[nbase + i] = (char *)extra[i];
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		as_errf(err, errcap, "pipe: %s", strerror(errno));
		goto out;
	}
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set) == 0)
		masked = true;
	pid = fork();
	if (pid < 0) {
		as_errf(err, errcap, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* Child: only async-signal-safe calls from here to exec. */
		struct sigaction dfl;
		sigset_t none;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGPIPE, &dfl, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0)
			_exit(127);
		closefrom(3);
		execve(argv[0], argv, environ);
		_exit(127);
	}
	close(in[0]);
	in[0] = -1;
	close(out[1]);
	out[1] = -1;
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	if (len == 0) {
		close(in[1]);
		in[1] = -1;
	}
	/* Feed stdin and collect output until both are done or time runs out. */
	while (in[1] >= 0 || out[0] >= 0) {
		struct pollfd pf[2];
		nfds_t n = 0;
		long long left = deadline - now_ms();

		if (left <= 0) {
			timed_out = true;
			break;
		}
		if (in[1] >= 0)
			pf[n++] = (struct pollfd){ .fd = in[1], .events = POLLOUT };
		if (out[0] >= 0)
			pf[n++] = (struct pollfd){ .fd = out[0], .events = POLLIN };
		if (poll(pf, n, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
			break;
		for (nfds_t i = 0; i < n; i++) {
			if (pf[i].fd == in[1] && pf[i].revents != 0) {
				ssize_t w = write(in[1], msg + done, len - done);

				if (w > 0)
					done += (size_t)w;
				if ((w < 0 && errno != EAGAIN && errno != EINTR) || done == len) {
					close(in[1]);
					in[1] = -1;
				}
			} else if (pf[i].fd == out[0] && pf[i].revents != 0) {
				char buf[512];
				ssize_t k = read(out[0], buf, sizeof(buf));

				if (k > 0 && outn < sizeof(output) - 1) {
					size_t take = (size_t)k;

					if (take > sizeof(output) - 1 - outn)
						take = sizeof(output) - 1 - outn;
					memcpy(output + outn, buf, take);
					outn += take;
				}
				if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
					close(out[0]);
					out[0] = -1;
				}
			}
		}
	}
	while (!timed_out && !reaped) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid) {
			reaped = true;
			break;
		}
		if (w < 0 && errno != EINTR)
			break;
		if (now_ms() >= deadline) {
			timed_out = true;
			break;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	if (!reaped) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		reaped = true;
		if (timed_out) {
			as_errf(err, errcap, "sendmail command timed out after %d ms", timeout_ms);
			goto out;
		}
	}
	clean_output(output, outn);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (done != len) {
			as_errf(err, errcap, "sendmail command exited before reading the message");
			goto out;
		}
		r = 0;
	} else if (WIFEXITED(status)) {
		as_errf(err, errcap, "sendmail command exited with status %d%s%s",
		    WEXITSTATUS(status), outn ? ": " : "", output);
	} else {
		as_errf(err, errcap, "sendmail command killed by signal %d",
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	}
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	if (masked) {
		/* Drop a SIGPIPE raised by our writes before unblocking it. */
		struct timespec zero = { 0, 0 };
		sigset_t pending;

		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE))
			sigtimedwait(&pipe_set, NULL, &zero);
		pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	}
	free(argv);
	as_sendmail_argv_free(base);
	return r;
}
