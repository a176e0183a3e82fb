/*
 * crl-server: a tiny HTTP/1.0 file server on 127.0.0.1 for the CRL tests (no python or
 * busybox needed in CI). Serves files of one directory by their base name, one connection at
 * a time; ends by itself after 600 s so a broken test never leaves it behind.
 *   crl-server DIR PORTFILE [MODE]
 * MODE: "ok" (default), "slow" (never answers), "huge" (an endless 200 body), "404".
 * Writes the port it listens on to PORTFILE once ready.
 */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void
serve(int c, const char *dir, const char *mode)
{
	char req[4096], path[4200], buf[8192];
	ssize_t n = 0, k;
	char *sp, *end, *slash;
	int fd;

	while (n < (ssize_t)sizeof(req) - 1 && (k = read(c, req + n, sizeof(req) - 1 - (size_t)n)) > 0) {
		n += k;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	req[n] = '\0';
	if (strcmp(mode, "slow") == 0) {
		sleep(30);
		return;
	}
	if (strcmp(mode, "huge") == 0) {
		dprintf(c, "HTTP/1.0 200 OK\r\n\r\n");
		memset(buf, 'A', sizeof(buf));
		for (int i = 0; i < 100000; i++)
			if (write(c, buf, sizeof(buf)) < 0)
				return;
		return;
	}
	if (strncmp(req, "GET ", 4) != 0 || (sp = strchr(req + 4, ' ')) == NULL ||
	    strcmp(mode, "404") == 0) {
		dprintf(c, "HTTP/1.0 404 Not Found\r\n\r\n");
		return;
	}
	*sp = '\0';
	slash = strrchr(req + 4, '/');
	end = slash != NULL ? slash + 1 : req + 4;
	if (*end == '\0' || *end == '.' || strlen(end) > 200) {
		dprintf(c, "HTTP/1.0 404 Not Found\r\n\r\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, end);
	if ((fd = open(path, O_RDONLY)) < 0) {
		dprintf(c, "HTTP/1.0 404 Not Found\r\n\r\n");
		return;
	}
	dprintf(c, "HTTP/1.0 200 OK\r\nContent-Type: application/pkix-crl\r\n\r\n");
	while ((k = read(fd, buf, sizeof(buf))) > 0)
		if (write(c, buf, (size_t)k) != k)
			break;
	close(fd);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	const char *mode = argc > 3 ? argv[3] : "ok";
	FILE *pf;
	int s, one = 1;

	if (argc < 3)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	alarm(600);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 16) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &al) != 0)
		return 1;
	if ((pf = fopen(argv[2], "w")) == NULL)
		return 1;
	fprintf(pf, "%d\n", ntohs(a.sin_port));
	fclose(pf);
	for (;;) {
		int c = accept(s, NULL, NULL);

		if (c < 0)
			continue;
		serve(c, argv[1], mode);
		close(c);
	}
}
