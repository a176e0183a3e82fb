/*
 * fuzz_dns_wire: the in-process DNS server of the DNS fuzz target and its seed recorder
 * (see fuzz_dns_wire.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "tests/fuzz/fuzz_dns_wire.h"

#define MAX_PACKET 65535

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const uint8_t *seq;      /* replay: the current sequence and how far it was used */
static size_t seq_len, seq_off;
static uint8_t *rec;            /* record: what came back from upstream */
static size_t rec_len;
static struct sockaddr_in up;
static int recording;
static int sock = -1;

static void
fail(const char *what)
{
	perror(what);
	abort();
}

/* Forward a query upstream and wait (bounded) for its answer; 0 bytes when none came. */
static size_t
forward(const uint8_t *q, size_t qlen, uint8_t *a)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t n = 0;

	if (fd < 0)
		fail("socket");
	if (sendto(fd, q, qlen, 0, (struct sockaddr *)&up, sizeof(up)) < 0 ||
	    poll(&p, 1, 3000) != 1 || (n = recv(fd, a, MAX_PACKET, 0)) < 0)
		n = 0;
	close(fd);
	return (size_t)n;
}

static void
append(const uint8_t *a, size_t n)
{
	uint8_t *grown = realloc(rec, rec_len + n + 2);

	if (grown == NULL)
		abort();
	rec = grown;
	rec[rec_len] = (uint8_t)(n >> 8);
	rec[rec_len + 1] = (uint8_t)n;
	memcpy(rec + rec_len + 2, a, n);
	rec_len += n + 2;
}

/* Turn the query in a (qlen bytes) into a REFUSED answer; its length. */
static size_t
refused(uint8_t *a, const uint8_t *q, size_t qlen)
{
	memcpy(a, q, qlen);
	if (qlen >= 4) {
		a[2] |= 0x80;
		a[3] = (uint8_t)((a[3] & 0xf0) | 5);
	}
	return qlen;
}

/*
 * Does ldns read this as a DNS message? One that does not parse would make the resolver retry
 * after its retransmission interval; answering REFUSED instead keeps every input fast, and
 * ldns's own wire parser is not what this target is for.
 */
static bool
parses(const uint8_t *a, size_t n)
{
	ldns_pkt *p = NULL;

	if (ldns_wire2pkt(&p, a, n) != LDNS_STATUS_OK)
		return false;
	ldns_pkt_free(p);
	return true;
}

/* The answer to one query into a (at most MAX_PACKET bytes); its length. */
static size_t
answer(const uint8_t *q, size_t qlen, uint8_t *a)
{
	size_t n;

	pthread_mutex_lock(&lock);
	if (recording) {
		pthread_mutex_unlock(&lock);
		n = forward(q, qlen, a);
		pthread_mutex_lock(&lock);
		if (n > 0)
			append(a, n);
	} else if (seq_off + 2 <= seq_len &&
	    (n = (size_t)seq[seq_off] << 8 | seq[seq_off + 1]) <= seq_len - seq_off - 2) {
		memcpy(a, seq + seq_off + 2, n);
		seq_off += 2 + n;
		if (!parses(a, n))
			n = refused(a, q, qlen);
	} else {
		seq_off = seq_len;   /* used up */
		n = refused(a, q, qlen);
	}
	pthread_mutex_unlock(&lock);
	if (n >= 2 && qlen >= 2) {
		a[0] = q[0];
		a[1] = q[1];
	}
	return n;
}

static void *
serve(void *arg)
{
	static uint8_t q[MAX_PACKET], a[MAX_PACKET];

	(void)arg;
	for (;;) {
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(sock, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
		size_t m;

		if (n <= 0)
			continue;
		if ((m = answer(q, (size_t)n, a)) > 0)
			(void)sendto(sock, a, m, 0, (struct sockaddr *)&from, flen);
	}
	return NULL;
}

int
fuzz_dns_wire_start(const char *upstream)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	pthread_t t;

	if (upstream != NULL) {
		char host[64];
		const char *at = strchr(upstream, '@');

		memset(&up, 0, sizeof(up));
		up.sin_family = AF_INET;
		snprintf(host, sizeof(host), "%.*s", at != NULL ? (int)(at - upstream) : 63, upstream);
		up.sin_port = htons((uint16_t)(at != NULL ? atoi(at + 1) : 53));
		if (inet_pton(AF_INET, host, &up.sin_addr) != 1)
			fail("upstream address");
		recording = 1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    bind(sock, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(sock, (struct sockaddr *)&sin, &len) < 0)
		fail("fuzz DNS socket");
	if (pthread_create(&t, NULL, serve, NULL) != 0)
		fail("fuzz DNS thread");
	pthread_detach(t);
	return ntohs(sin.sin_port);
}

void
fuzz_dns_wire_replay(const uint8_t *s, size_t len)
{
	pthread_mutex_lock(&lock);
	seq = s;
	seq_len = len;
	seq_off = 0;
	pthread_mutex_unlock(&lock);
}

uint8_t *
fuzz_dns_wire_take(size_t *len)
{
	uint8_t *r;

	pthread_mutex_lock(&lock);
	r = rec;
	*len = rec_len;
	rec = NULL;
	rec_len = 0;
	pthread_mutex_unlock(&lock);
	return r;
}
