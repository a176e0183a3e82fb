/*
 * crl_http: bounded HTTP/1.0 GET over a plain socket (see crl_http.h). One connection per
 * call, closed on return; reads until the server closes, never more than the bound.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "milter/inbound/crl_http.h"

#define HEAD_MAX (16 * 1024)

static void
set_why(char *why, size_t cap, const char *text)
{
	if (why != NULL && cap > 0)
		snprintf(why, cap, "%s", text);
}

int
crl_url_parse(const char *url, struct crl_url *out)
{
	const char *p, *end, *slash;
	size_t hl;

	memset(out, 0, sizeof(*out));
	if (url == NULL || strlen(url) >= CRL_HTTP_MAX_URL || strncasecmp(url, "http://", 7) != 0)
		return -1;
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 32 || (unsigned char)*p >= 127)
			return -1;
	p = url + 7;
	slash = strchr(p, '/');
	end = slash != NULL ? slash : p + strlen(p);
	if (memchr(p, '@', (size_t)(end - p)) != NULL)
		return -1;
	snprintf(out->port, sizeof(out->port), "80");
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (rb == NULL || (size_t)(rb - p - 1) >= sizeof(out->host) || rb == p + 1)
			return -1;
		memcpy(out->host, p + 1, (size_t)(rb - p - 1));
		p = rb + 1;
		if (p < end && *p != ':')
			return -1;
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));

		hl = (size_t)((colon != NULL ? colon : end) - p);
		if (hl == 0 || hl >= sizeof(out->host))
			return -1;
		memcpy(out->host, p, hl);
		p += hl;
	}
	if (p < end && *p == ':') {
		size_t pl = (size_t)(end - p - 1);
		long port;
		char *e;

		if (pl == 0 || pl >= sizeof(out->port))
			return -1;
		memcpy(out->port, p + 1, pl);
		out->port[pl] = '\0';
		/* digits only: strtol alone would take "+4" or " 4" (found by fuzz_crl_http) */
		if (strspn(out->port, "0123456789") != pl)
			return -1;
		port = strtol(out->port, &e, 10);
		if (*e != '\0' || port < 1 || port > 65535)
			return -1;
	}
	snprintf(out->path, sizeof(out->path), "%s", slash != NULL ? slash : "/");
	/* the fragment never goes on the wire */
	char *hash = strchr(out->path, '#');
	if (hash != NULL)
		*hash = '\0';
	return 0;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for `events` until the deadline; 1 ready, 0 timeout, -1 error. */
static int
wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		struct pollfd pfd = { fd, events, 0 };
		int r;

		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static int
connect_any(const struct crl_url *u, long long deadline, char *why, size_t whycap)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((rc = getaddrinfo(u->host, u->port, &hints, &res)) != 0) {
		set_why(why, whycap, "host name lookup failed");
		return -1;
	}
	set_why(why, whycap, "connection failed");
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		int err = 0;
		socklen_t el = sizeof(err);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
			break;
		if (now_ms() >= deadline)
			set_why(why, whycap, "connection timed out");
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int
send_all(int fd, const char *buf, size_t len, long long deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, deadline) != 1)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

/* Status 200 and the offset of the body; -1 otherwise. */
static int
parse_head(const unsigned char *buf, size_t len, size_t *body_off, char *why, size_t whycap)
{
	const unsigned char *end = NULL;
	int status = 0;

	for (size_t i = 0; i + 3 < len; i++)
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
			end = buf + i;
			*body_off = i + 4;
			break;
		}
	if (end == NULL) {
		for (size_t i = 0; i + 1 < len; i++)
			if (memcmp(buf + i, "\n\n", 2) == 0) {
				end = buf + i;
				*body_off = i + 2;
				break;
			}
	}
	if (end == NULL || len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ') {
		set_why(why, whycap, "not an HTTP answer");
		return -1;
	}
	for (int i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9') {
			set_why(why, whycap, "not an HTTP answer");
			return -1;
		}
		status = status * 10 + (buf[i] - '0');
	}
	if (status != 200) {
		if (why != NULL)
			snprintf(why, whycap, "HTTP status %d", status);
		return -1;
	}
	return 0;
}

int
crl_http_answer(const unsigned char *buf, size_t n, size_t max_size, size_t *body_off,
    char *why, size_t whycap)
{
	if (parse_head(buf, n, body_off, why, whycap) != 0)
		return -1;
	if (n - *body_off > max_size) {
		set_why(why, whycap, "answer too large");
		return -1;
	}
	if (n == *body_off) {
		set_why(why, whycap, "empty answer");
		return -1;
	}
	return 0;
}

int
crl_http_get(const char *url, int timeout_ms, size_t max_size, unsigned char **body,
    size_t *len, char *why, size_t whycap)
{
	long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	struct crl_url u;
	char req[CRL_HTTP_MAX_URL + 512];
	unsigned char *buf = NULL;
	size_t cap = max_size + HEAD_MAX, n = 0, off = 0;
	int fd = -1, r = -1, k;

	*body = NULL;
	*len = 0;
	if (crl_url_parse(url, &u) != 0) {
		set_why(why, whycap, "not an http URL");
		return -1;
	}
	k = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s%s%s%s%s\r\n"
	    "User-Agent: autosmime-crl\r\nAccept: application/pkix-crl\r\nConnection: close\r\n\r\n",
	    u.path, strchr(u.host, ':') != NULL ? "[" : "", u.host,
	    strchr(u.host, ':') != NULL ? "]" : "", strcmp(u.port, "80") != 0 ? ":" : "",
	    strcmp(u.port, "80") != 0 ? u.port : "");
	if (k < 0 || (size_t)k >= sizeof(req)) {
		set_why(why, whycap, "URL too long");
		return -1;
	}
	if ((fd = connect_any(&u, deadline, why, whycap)) < 0)
		goto out;
	if (send_all(fd, req, (size_t)k, deadline) != 0) {
		set_why(why, whycap, "sending the request failed");
		goto out;
	}
	if ((buf = malloc(cap + 1)) == NULL) {
		set_why(why, whycap, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t got;

		if (n == cap) {
			set_why(why, whycap, "answer too large");
			goto out;
		}
		got = recv(fd, buf + n, cap - n, 0);
		if (got > 0) {
			n += (size_t)got;
			continue;
		}
		if (got == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			set_why(why, whycap, "reading the answer failed");
			goto out;
		}
		k = wait_fd(fd, POLLIN, deadline);
		if (k != 1) {
			set_why(why, whycap, k == 0 ? "timed out" : "reading the answer failed");
			goto out;
		}
	}
	if (crl_http_answer(buf, n, max_size, &off, why, whycap) != 0)
		goto out;
	memmove(buf, buf + off, n - off);
	*len = n - off;
	*body = buf; /* transferred */
	buf = NULL;
	r = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return r;
}
