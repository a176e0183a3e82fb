/*
 * milter-send: play the MTA to a milter. Sends one message file through the milter and writes
 * the message as the milter left it, or (-n) sends many and prints throughput and latency
 * (with -o, the last message of the first connection is written too). -p pauses before each
 * end-of-message so a test can kill or reload the milter in mid-transaction; -N offers no
 * no-reply flags (an MTA before protocol 6); -P prints what the milter negotiated and the
 * command its final answer came after. Used by the daemon's protocol tests (tests/milter)
 * and by the milter benchmark.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/tools/milter_wire.h"

#define MAX_RCPT 100
#define MAX_FILE (256u * 1024 * 1024)
#define MAX_CONNECTIONS 1024

static void
usage(void)
{
	fprintf(stderr,
	    "usage: milter-send -S socket -f from -r rcpt [-r rcpt...] [-a login] [-c client-ip]\n"
	    "                   [-d daemon-name] [-q queue-id] [-o out.eml] [-t timeout] [-p pause]\n"
	    "                   [-N] [-P] message.eml\n"
	    "       milter-send -S socket -f from -r rcpt -n messages [-j connections] [-o last.eml]\n"
	    "                   [-N] message.eml\n"
	    "stderr: action=c|a|t|r|d|y changes=N [reply=...], or action=lost reason=... when the\n"
	    "milter went away (closed, reset, timed out or not there)\n"
	    "-N: offer no SMFIP_NR_* flags; -P: also print negotiated actions=0x.. protocol=0x..\n"
	    "and answered-after=M|R|T|L|N|B|E (the command the final answer followed)\n"
	    "exit: 0 continue/accept, 3 tempfail or milter lost, 4 reject, 5 discard, 1 error, 2 usage\n");
	exit(2);
}

/* Shared by the benchmark threads; read-only after start. */
struct bench {
	const char *socket;
	const struct mw_session *session;
	const struct mw_message *msg;
	int timeout;
	unsigned pause;
	int no_nr;
	long per_conn;
	int index;
	double *latency_ms;   /* one slot per message */
	struct mw_result *last; /* thread 0 with -o: the last message's result, else NULL */
	long failures;
	long unmodified;      /* continued or accepted with no edit (passed unsigned) */
	int lost;
	char err[256];
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *
bench_thread(void *arg)
{
	struct bench *b = arg;
	struct mw_conn *c = mw_connect(b->socket, b->timeout, b->err, sizeof(b->err));

	if (c != NULL)
		mw_offer_no_reply(c, !b->no_nr);
	if (c == NULL || mw_open_session(c, b->session, b->err, sizeof(b->err)) < 0) {
		b->failures = b->per_conn;
		b->lost = c == NULL || mw_lost(c);
		mw_close(c);
		return NULL;
	}
	mw_set_eom_pause(c, b->pause);
	for (long i = 0; i < b->per_conn; i++) {
		struct mw_result res;
		char qid[32];
		double t0 = now_ms();

		snprintf(qid, sizeof(qid), "B%02d%07ld", b->index, i);
		if (mw_send_message(c, b->session, qid, b->msg, &res, b->err, sizeof(b->err)) < 0) {
			b->failures += b->per_conn - i;
			b->lost = mw_lost(c);
			break;
		}
		if (res.action != 'c' && res.action != 'a')
			b->failures++;
		else if (res.changes == 0)
			b->unmodified++;
		b->latency_ms[i] = now_ms() - t0;
		if (b->last != NULL) {
			mw_result_free(b->last);
			*b->last = res; /* transferred */
		} else
			mw_result_free(&res);
	}
	mw_close(c);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int write_result(const struct mw_result *res, const char *out);

static int
run_bench(const char *socket, const struct mw_session *s, const struct mw_message *msg,
    long messages, int conns, int timeout, unsigned pause, int no_nr, const char *out)
{
	struct mw_result last;
	int lost = 0, rc;
	struct bench *b = calloc((size_t)conns, sizeof(*b));
	pthread_t *tid = calloc((size_t)conns, sizeof(*tid));
	double *lat = calloc((size_t)messages, sizeof(*lat)), t0, secs;
	long per = messages / conns, failures = 0, unmodified = 0;

	memset(&last, 0, sizeof(last));
	if (b == NULL || tid == NULL || lat == NULL) {
		fprintf(stderr, "milter-send: out of memory\n");
		return 1;
	}
	t0 = now_ms();
	for (int i = 0; i < conns; i++) {
		b[i] = (struct bench){ socket, s, msg, timeout, pause, no_nr, per, i,
			lat + i * per, i == 0 && out != NULL ? &last : NULL, 0, 0, 0, "" };
		if (pthread_create(&tid[i], NULL, bench_thread, &b[i]) != 0) {
			fprintf(stderr, "milter-send: cannot start thread\n");
			return 1;
		}
	}
	for (int i = 0; i < conns; i++) {
		pthread_join(tid[i], NULL);
		failures += b[i].failures;
		unmodified += b[i].unmodified;
		lost |= b[i].lost;
		if (b[i].err[0])
			fprintf(stderr, "milter-send: connection %d: %s\n", i, b[i].err);
	}
	secs = (now_ms() - t0) / 1e3;
	if (failures > 0) {
		printf("messages=%ld connections=%d failures=%ld unmodified=%ld\n", per * conns,
		    conns, failures, unmodified);
	} else {
		qsort(lat, (size_t)(per * conns), sizeof(*lat), cmp_double);
		printf("messages=%ld connections=%d seconds=%.3f msgs_per_s=%.1f p50_ms=%.3f "
		    "p99_ms=%.3f failures=0 unmodified=%ld\n", per * conns, conns, secs,
		    per * conns / secs, lat[(per * conns) / 2], lat[(per * conns) * 99 / 100],
		    unmodified);
	}
	rc = lost ? 3 : failures ? 1 : 0;
	if (out != NULL && last.action != 0) {
		/* the last message of the first connection, as in single mode */
		fprintf(stderr, "action=%c changes=%u%s%s\n", last.action, last.changes,
		    last.reply[0] ? " reply=" : "", last.reply);
		if ((last.action == 'c' || last.action == 'a') && write_result(&last, out) < 0 &&
		    rc == 0)
			rc = 1;
	}
	if (lost)
		fprintf(stderr, "action=lost reason=the milter went away\n");
	mw_result_free(&last);
	free(b);
	free(tid);
	free(lat);
	return rc;
}

/* Write the message as the milter left it to `out` ("-": standard output). */
static int
write_result(const struct mw_result *res, const char *out)
{
	int fd = strcmp(out, "-") == 0 ? 1 : open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int r = 0;

	if (fd < 0 || mw_message_write(&res->msg, fd) < 0) {
		fprintf(stderr, "milter-send: %s: %s\n", out, strerror(errno));
		r = -1;
	}
	if (fd > 1)
		close(fd);
	return r;
}

/* With -P: what the milter asked for at option negotiation. Returns 0 (for use in a chain). */
static int
print_negotiated(const struct mw_conn *conn, int print)
{
	unsigned long act, proto;

	if (print) {
		mw_negotiated(conn, &act, &proto);
		fprintf(stderr, "negotiated actions=0x%lx protocol=0x%lx\n", act, proto);
	}
	return 0;
}

static char *
read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	char *data;
	size_t got = 0;

	if (fd < 0 || fstat(fd, &st) < 0 || (size_t)st.st_size > MAX_FILE) {
		fprintf(stderr, "milter-send: %s: %s\n", path, fd < 0 ? strerror(errno) : "too large");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	data = malloc((size_t)st.st_size + 1);
	while (data != NULL && got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return data;
}

int
main(int argc, char **argv)
{
	struct mw_session s = { "client.test", "127.0.0.1", "client.test", NULL, "smtpd" };
	const char *socket = NULL, *from = NULL, *out = NULL, *qid = "T0000001";
	const char *rcpt[MAX_RCPT];
	size_t nrcpt = 0, len;
	long messages = 0;
	int conns = 1, timeout = 30, c, rc = 1, no_nr = 0, print_neg = 0;
	unsigned pause = 0;
	struct mw_message msg;
	struct mw_result res;
	struct mw_conn *conn = NULL;
	char err[256] = "", *data;

	while ((c = getopt(argc, argv, "S:f:r:a:c:d:q:o:t:n:j:p:NP")) != -1) {
		switch (c) {
		case 'S': socket = optarg; break;
		case 'f': from = optarg; break;
		case 'r':
			if (nrcpt >= MAX_RCPT)
				usage();
			rcpt[nrcpt++] = optarg;
			break;
		case 'a': s.auth_authen = optarg; break;
		case 'c': s.client_addr = optarg; break;
		case 'd': s.daemon_name = optarg; break;
		case 'q': qid = optarg; break;
		case 'o': out = optarg; break;
		case 't': timeout = atoi(optarg); break;
		case 'n': messages = atol(optarg); break;
		case 'N': no_nr = 1; break;
		case 'P': print_neg = 1; break;
		case 'j': conns = atoi(optarg); break;
		case 'p':
			if (atoi(optarg) < 0 || atoi(optarg) > 3600)
				usage();
			pause = (unsigned)atoi(optarg);
			break;
		default: usage();
		}
	}
	if (socket == NULL || from == NULL || nrcpt == 0 || optind != argc - 1 || timeout <= 0 ||
	    conns <= 0 || conns > MAX_CONNECTIONS || messages < 0 || (messages && messages < conns))
		usage();
	if ((data = read_file(argv[optind], &len)) == NULL)
		return 1;
	if (mw_message_parse(data, len, &msg, err, sizeof(err)) < 0) {
		fprintf(stderr, "milter-send: %s: %s\n", argv[optind], err);
		free(data);
		return 1;
	}
	free(data);
	msg.envfrom = strdup(from);
	msg.rcpt = calloc(nrcpt, sizeof(*msg.rcpt));
	for (size_t i = 0; msg.rcpt != NULL && i < nrcpt; i++)
		msg.rcpt[msg.rcpt_count++] = strdup(rcpt[i]);
	if (messages > 0) {
		rc = run_bench(socket, &s, &msg, messages, conns, timeout, pause, no_nr, out);
		mw_message_free(&msg);
		return rc;
	}
	conn = mw_connect(socket, timeout, err, sizeof(err));
	if (conn != NULL) {
		mw_set_eom_pause(conn, pause);
		mw_offer_no_reply(conn, !no_nr);
	}
	if (conn == NULL || mw_open_session(conn, &s, err, sizeof(err)) < 0 ||
	    print_negotiated(conn, print_neg) ||
	    mw_send_message(conn, &s, qid, &msg, &res, err, sizeof(err)) < 0) {
		if (conn == NULL || mw_lost(conn)) {
			/* an MTA applies milter_default_action here */
			fprintf(stderr, "action=lost reason=%s\n", err);
			rc = 3;
		} else
			fprintf(stderr, "milter-send: %s\n", err);
		goto out;
	}
	fprintf(stderr, "action=%c changes=%u%s%s\n", res.action, res.changes,
	    res.reply[0] ? " reply=" : "", res.reply);
	if (print_neg)
		fprintf(stderr, "answered-after=%c\n", res.stage);
	switch (res.action) {
	case 'c':
	case 'a':
		rc = write_result(&res, out != NULL ? out : "-") < 0 ? 1 : 0;
		break;
	case 't': rc = 3; break;
	case 'y': rc = res.reply[0] == '4' ? 3 : 4; break;
	case 'r': rc = 4; break;
	case 'd': rc = 5; break;
	default: rc = 1; break;
	}
	mw_result_free(&res);
out:
	mw_close(conn);
	mw_message_free(&msg);
	return rc;
}
