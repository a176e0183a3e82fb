/*
 * milterclient: a small MTA side of the milter protocol (version 6) for the daemon tests.
 * Connects to a milter socket, sends one message (or the same message -n times on one
 * connection), applies the header and body edits the milter answers with, and prints the
 * resulting message on stdout and "action=... reply=..." on stderr.
 *
 * usage: milterclient [-a login] [-c client-ip] [-r rcpt]... [-n count] [-p pause-seconds]
 *                     [-o out-file] SOCKET MESSAGE
 * SOCKET is unix:PATH or inet:PORT@127.0.0.1. Exit 0 when the dialogue completed, 3 when the
 * milter went away (what an MTA would treat per milter_default_action), 1 on other errors.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAXH 256
#define TIMEOUT_MS 30000

static int fd = -1;
static char *hname[MAXH], *hvalue[MAXH];
static int hdel[MAXH], nh;
static char *newbody;
static size_t newlen;
static int replaced;

static void
lost(const char *why)
{
	fprintf(stderr, "action=lost reason=%s\n", why);
	exit(3);
}

/*
 * Like an MTA's buffered stream: macro packets wait in a buffer and go out in the same write
 * as the command they belong to (two small writes in a row would wait for a delayed ACK).
 */
static unsigned char *pending;
static size_t pending_len;

static void
send_cmd(char cmd, const void *data, size_t len)
{
	unsigned char *grown = realloc(pending, pending_len + len + 5);
	uint32_t n = htonl((uint32_t)len + 1);

	if (grown == NULL)
		lost("memory");
	pending = grown;
	memcpy(pending + pending_len, &n, 4);
	pending[pending_len + 4] = (unsigned char)cmd;
	if (len > 0)
		memcpy(pending + pending_len + 5, data, len);
	pending_len += len + 5;
	if (cmd == 'D')
		return;
	if (write(fd, pending, pending_len) != (ssize_t)pending_len)
		lost("write");
	pending_len = 0;
}

static void
read_full(void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, TIMEOUT_MS) <= 0)
			lost("timeout");
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			lost("eof");
		got += (size_t)n;
	}
}

/* Read one reply; returns the command byte, data in *data (NUL-terminated). */
static char
read_reply(char **data, size_t *len)
{
	uint32_t n;
	char cmd;

	read_full(&n, 4);
	n = ntohl(n);
	if (n == 0 || n > 64 * 1024 * 1024)
		lost("bad length");
	read_full(&cmd, 1);
	*len = n - 1;
	*data = malloc(n);
	if (*len > 0)
		read_full(*data, *len);
	(*data)[*len] = '\0';
	return cmd;
}

/* Apply modification replies until a final one; returns the final command. */
static char
answer(char **reply)
{
	for (;;) {
		char *d;
		size_t len;
		char c = read_reply(&d, &len);

		if (c == 'h' && nh < MAXH) {
			hname[nh] = strdup(d);
			hvalue[nh++] = strdup(d + strlen(d) + 1);
		} else if (c == 'm') {
			uint32_t idx;
			char *name = d + 4, *value = name + strlen(name) + 1;
			int seen = 0;

			memcpy(&idx, d, 4);
			idx = ntohl(idx);
			for (int i = 0; i < nh; i++)
				if (!hdel[i] && strcasecmp(hname[i], name) == 0 &&
				    ++seen == (int)idx) {
					if (*value == '\0')
						hdel[i] = 1;
					else {
						free(hvalue[i]);
						hvalue[i] = strdup(value);
					}
				}
		} else if (c == 'b') {
			if (!replaced)
				newlen = 0;
			replaced = 1;
			newbody = realloc(newbody, newlen + len + 1);
			memcpy(newbody + newlen, d, len);
			newlen += len;
		} else if (c == 'p') {
			/* progress: keep waiting */
		} else {
			if (c == 'y' && reply != NULL)
				*reply = strdup(d);
			free(d);
			return c;
		}
		free(d);
	}
}

/* All macros of one stage go in one packet: a second packet would replace the first. */
static void
macros(char cmd, const char *n1, const char *v1, const char *n2, const char *v2)
{
	char buf[1024];
	size_t o = 0;

	buf[o++] = cmd;
	o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s", n1) + 1;
	o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s", v1) + 1;
	if (n2 != NULL) {
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s", n2) + 1;
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s", v2) + 1;
	}
	send_cmd('D', buf, o);
}

static void
connect_to(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un sun = { 0 };

		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", spec + 5);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			lost("connect");
	} else if (strncmp(spec, "inet:", 5) == 0) {
		struct sockaddr_in sin = { 0 };
		const char *at = strchr(spec, '@');

		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)atoi(spec + 5));
		inet_pton(AF_INET, at != NULL ? at + 1 : "127.0.0.1", &sin.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			lost("connect");
	} else {
		fprintf(stderr, "milterclient: bad socket %s\n", spec);
		exit(1);
	}
}

static const char *
action_name(char c)
{
	switch (c) {
	case 'c':
		return "continue";
	case 'a':
		return "accept";
	case 't':
		return "tempfail";
	case 'r':
		return "reject";
	case 'y':
		return "reply";
	case 'd':
		return "discard";
	}
	return "other";
}

int
main(int argc, char **argv)
{
	const char *login = NULL, *client = "192.0.2.10", *rcpts[64], *outfile = NULL;
	int nr = 0, count = 1, pause = 0, c;
	char *msg, *reply = NULL, final = 'c';
	size_t mlen = 0, body = 0;
	FILE *fp;

	while ((c = getopt(argc, argv, "a:c:r:n:p:o:")) != -1) {
		switch (c) {
		case 'a':
			login = optarg;
			break;
		case 'c':
			client = optarg;
			break;
		case 'r':
			if (nr < 64)
				rcpts[nr++] = optarg;
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 'p':
			pause = atoi(optarg);
			break;
		case 'o':
			outfile = optarg;
			break;
		default:
			return 1;
		}
	}
	if (argc - optind != 2)
		return 1;
	signal(SIGPIPE, SIG_IGN); /* a milter that dies must show as "lost", not kill us */
	if (nr == 0)
		rcpts[nr++] = "someone@elsewhere.example"; /* an SMTP transaction has at least one */
	fp = fopen(argv[optind + 1], "rb");
	if (fp == NULL)
		return 1;
	msg = malloc(16 * 1024 * 1024);
	mlen = fread(msg, 1, 16 * 1024 * 1024 - 1, fp);
	fclose(fp);
	msg[mlen] = '\0';
	connect_to(argv[optind]);
	{
		uint32_t neg[3] = { htonl(6), htonl(0x1ff), htonl(0) };
		char *d;
		size_t len;

		send_cmd('O', neg, sizeof(neg));
		if (read_reply(&d, &len) != 'O')
			lost("optneg");
		free(d);
	}
	{
		char buf[256];
		size_t o = 0;
		uint16_t port = htons(12345);

		macros('C', "j", "mx.example.org", "{daemon_name}", "test");
		o += (size_t)snprintf(buf, sizeof(buf), "client.example") + 1;
		buf[o++] = strchr(client, ':') != NULL ? '6' : '4';
		memcpy(buf + o, &port, 2);
		o += 2;
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s", client) + 1;
		send_cmd('C', buf, o);
		if ((final = answer(&reply)) != 'c')
			goto done;
	}
	for (int round = 0; round < count; round++) {
		const char *p = msg, *eol;

		for (int i = 0; i < nh; i++) {
			free(hname[i]);
			free(hvalue[i]);
			hdel[i] = 0;
		}
		nh = 0;
		replaced = 0;
		newlen = 0;
		macros('M', "i", "4QTEST", login != NULL ? "{auth_authen}" : NULL, login);
		send_cmd('M', "<sender@example.org>", 21);
		if ((final = answer(&reply)) != 'c')
			goto next;
		for (int i = 0; i < nr; i++) {
			char r[300];
			int n = snprintf(r, sizeof(r), "<%s>", rcpts[i]);

			send_cmd('R', r, (size_t)n + 1);
			if ((final = answer(&reply)) != 'c')
				goto next;
		}
		/* headers: unfolded name, value with LF folding kept */
		while (*p != '\0' && *p != '\n') {
			char hb[65536];
			const char *colon = strchr(p, ':'), *v;
			size_t nl, vl;

			eol = p;
			do {
				eol = strchr(eol, '\n');
				eol = eol != NULL ? eol + 1 : p + strlen(p);
			} while (*eol == ' ' || *eol == '\t');
			if (colon == NULL || colon > eol)
				break;
			nl = (size_t)(colon - p);
			v = colon + 1;
			while (*v == ' ')
				v++;
			vl = (size_t)(eol - v);
			while (vl > 0 && (v[vl - 1] == '\n' || v[vl - 1] == '\r'))
				vl--;
			if (nl + vl + 2 > sizeof(hb) || nh >= MAXH)
				break;
			memcpy(hb, p, nl);
			hb[nl] = '\0';
			memcpy(hb + nl + 1, v, vl);
			hb[nl + 1 + vl] = '\0';
			hname[nh] = strdup(hb);
			hvalue[nh++] = strdup(hb + nl + 1);
			send_cmd('L', hb, nl + vl + 2);
			if ((final = answer(&reply)) != 'c')
				goto next;
			p = eol;
		}
		if (*p == '\n')
			p++;
		body = (size_t)(p - msg);
		send_cmd('N', NULL, 0);
		if ((final = answer(&reply)) != 'c')
			goto next;
		if (pause > 0)
			sleep((unsigned)pause);
		{
			/* body with CRLF line ends, in chunks like an MTA */
			char *crlf = malloc((mlen - body) * 2 + 1);
			size_t o = 0;

			for (size_t i = body; i < mlen; i++) {
				if (msg[i] == '\n' && (i == body || msg[i - 1] != '\r'))
					crlf[o++] = '\r';
				crlf[o++] = msg[i];
			}
			for (size_t off = 0; off < o; off += 65535) {
				size_t n = o - off < 65535 ? o - off : 65535;

				send_cmd('B', crlf + off, n);
				if ((final = answer(&reply)) != 'c') {
					free(crlf);
					goto next;
				}
			}
			free(crlf);
		}
		send_cmd('E', NULL, 0);
		final = answer(&reply);
next:
		if (final != 'c' && final != 'a' && round + 1 < count)
			send_cmd('A', NULL, 0);
		if (round + 1 == count) {
			FILE *out = outfile != NULL ? fopen(outfile, "w") : stdout;

			for (int i = 0; i < nh; i++)
				if (!hdel[i])
					fprintf(out, "%s: %s\n", hname[i], hvalue[i]);
			fputc('\n', out);
			if (replaced) {
				for (size_t i = 0; i < newlen; i++)
					if (newbody[i] != '\r')
						fputc(newbody[i], out);
			} else
				fputs(msg + body, out);
			if (out != stdout)
				fclose(out);
		}
	}
done:
	send_cmd('Q', NULL, 0);
	fprintf(stderr, "action=%s modified=%s reply=%s\n", action_name(final),
	    replaced ? "yes" : "no", reply != NULL ? reply : "");
	close(fd);
	free(msg);
	return 0;
}
