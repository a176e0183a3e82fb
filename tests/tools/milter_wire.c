/*
 * milter_wire: speak the MTA side of milter protocol version 6 to a milter, the way Postfix
 * does: negotiate, honour the steps the milter asks to skip and the replies it says it won't
 * send, and apply its end-of-message modifications to a copy of the message.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/tools/milter_wire.h"

/* Protocol constants (milter protocol version 6). */
#define MW_VERSION 6
#define ACT_ALL 0x1ff           /* every modification action an MTA may allow */
#define P_NOCONNECT 0x1
#define P_NOHELO 0x2
#define P_NOMAIL 0x4
#define P_NORCPT 0x8
#define P_NOBODY 0x10
#define P_NOHDRS 0x20
#define P_NOEOH 0x40
#define P_NR_HDR 0x80
#define P_NOUNKNOWN 0x100
#define P_NODATA 0x200
#define P_SKIP 0x400
#define P_RCPT_REJ 0x800
#define P_NR_CONN 0x1000
#define P_NR_HELO 0x2000
#define P_NR_MAIL 0x4000
#define P_NR_RCPT 0x8000
#define P_NR_DATA 0x10000
#define P_NR_UNKN 0x20000
#define P_NR_EOH 0x40000
#define P_NR_BODY 0x80000
#define P_HDR_LEADSPC 0x100000
#define P_ALL 0x1fffff

#define BODY_CHUNK 65535

/* Lifetime: one milter connection. */
struct mw_conn {
	int fd;
	int timeout_ms;
	uint32_t offer;      /* protocol flags offered (P_ALL unless mw_set_offer) */
	uint32_t protocol;   /* flags the milter asked for */
	uint32_t actions;    /* modification actions the milter asked for */
	int session_open;
	int lost;            /* an I/O failure: the milter went away or timed out */
	unsigned eom_pause;  /* seconds to wait before end-of-message */
};

static void
errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
wait_fd(struct mw_conn *c, short events)
{
	struct pollfd p = { c->fd, events, 0 };
	int r;

	do
		r = poll(&p, 1, c->timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		errno = ETIMEDOUT;
	return r > 0 ? 0 : -1;
}

static int
write_all(struct mw_conn *c, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n;

		if (wait_fd(c, POLLOUT) < 0) {
			c->lost = 1;
			return -1;
		}
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			c->lost = 1;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
read_all(struct mw_conn *c, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n;

		if (wait_fd(c, POLLIN) < 0) {
			c->lost = 1;
			return -1;
		}
		n = recv(c->fd, p, len, 0);
		if (n == 0) {
			c->lost = 1;
			errno = ECONNRESET;
			return -1;
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			c->lost = 1;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One packet: 4-byte length (command byte included), command, data. */
static int
send_packet(struct mw_conn *c, char cmd, const void *data, size_t len)
{
	unsigned char hdr[5];
	uint32_t n = htonl((uint32_t)len + 1);

	memcpy(hdr, &n, 4);
	hdr[4] = (unsigned char)cmd;
	if (write_all(c, hdr, sizeof(hdr)) < 0)
		return -1;
	return len ? write_all(c, data, len) : 0;
}

/* Read one packet; *data is malloc'd (NUL-terminated for convenience). */
static int
read_packet(struct mw_conn *c, char *cmd, char **data, size_t *len, char *err, size_t errlen)
{
	uint32_t n;
	unsigned char hdr[5];

	if (read_all(c, hdr, sizeof(hdr)) < 0) {
		errf(err, errlen, "reading from the milter: %s", strerror(errno));
		return -1;
	}
	memcpy(&n, hdr, 4);
	n = ntohl(n);
	if (n == 0 || n > MW_MAX_PACKET) {
		errf(err, errlen, "the milter sent a packet of bad length %u", n);
		return -1;
	}
	*cmd = (char)hdr[4];
	*len = n - 1;
	*data = malloc(*len + 1);
	if (*data == NULL) {
		errf(err, errlen, "out of memory");
		return -1;
	}
	if (*len > 0 && read_all(c, *data, *len) < 0) {
		errf(err, errlen, "reading from the milter: %s", strerror(errno));
		free(*data);
		*data = NULL;
		return -1;
	}
	(*data)[*len] = '\0';
	return 0;
}

/* A growing byte buffer for building packets. */
struct buf {
	char *p;
	size_t len, cap;
};

static int
buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

static int
buf_str(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s) + 1);
}

struct mw_conn *
mw_connect(const char *spec, int timeout, char *err, size_t errlen)
{
	struct mw_conn *c = calloc(1, sizeof(*c));
	const char *rest;

	if (c == NULL) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	c->fd = -1;
	c->timeout_ms = timeout * 1000;
	c->offer = P_ALL;
	if ((rest = strchr(spec, ':')) == NULL) {
		errf(err, errlen, "socket \"%s\" has no type (unix:, inet:, inet6:)", spec);
		goto fail;
	}
	rest++;
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		if (strlen(rest) >= sizeof(sun.sun_path)) {
			errf(err, errlen, "socket path too long");
			goto fail;
		}
		strcpy(sun.sun_path, rest);
		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			errf(err, errlen, "connect %s: %s", spec, strerror(errno));
			goto fail;
		}
	} else if (strncmp(spec, "inet:", 5) == 0 || strncmp(spec, "inet6:", 6) == 0) {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
		char port[16];
		const char *at = strchr(rest, '@');
		int one = 1, r;

		if (at == NULL || (size_t)(at - rest) >= sizeof(port)) {
			errf(err, errlen, "inet socket must be inet:PORT@HOST");
			goto fail;
		}
		memcpy(port, rest, (size_t)(at - rest));
		port[at - rest] = '\0';
		hints.ai_family = spec[4] == '6' ? AF_INET6 : AF_INET;
		if ((r = getaddrinfo(at + 1, port, &hints, &res)) != 0) {
			errf(err, errlen, "%s: %s", spec, gai_strerror(r));
			goto fail;
		}
		c->fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0 || connect(c->fd, res->ai_addr, res->ai_addrlen) < 0) {
			errf(err, errlen, "connect %s: %s", spec, strerror(errno));
			freeaddrinfo(res);
			goto fail;
		}
		freeaddrinfo(res);
		/* like Postfix: small packets go out at once */
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	} else {
		errf(err, errlen, "unknown socket type in \"%s\"", spec);
		goto fail;
	}
	return c;
fail:
	mw_close(c);
	return NULL;
}

void
mw_set_eom_pause(struct mw_conn *c, unsigned seconds)
{
	c->eom_pause = seconds;
}

void
mw_offer_no_reply(struct mw_conn *c, int yes)
{
	uint32_t nr = P_NR_HDR | P_NR_CONN | P_NR_HELO | P_NR_MAIL | P_NR_RCPT | P_NR_DATA |
	    P_NR_UNKN | P_NR_EOH | P_NR_BODY;

	c->offer = yes ? P_ALL : P_ALL & ~nr;
}

void
mw_negotiated(const struct mw_conn *c, unsigned long *actions, unsigned long *protocol)
{
	*actions = c->actions;
	*protocol = c->protocol;
}

int
mw_lost(const struct mw_conn *c)
{
	return c != NULL && c->lost;
}

void
mw_close(struct mw_conn *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0) {
		if (c->session_open && !c->lost)
			send_packet(c, 'Q', NULL, 0);
		close(c->fd);
	}
	free(c);
}

/* Send macros for the stage `stage`: name/value pairs, NULL-terminated. */
static int
send_macros(struct mw_conn *c, char stage, const char *const *pairs)
{
	struct buf b = { 0 };
	char st = stage;
	int r = -1;

	if (buf_add(&b, &st, 1) < 0)
		goto out;
	for (size_t i = 0; pairs[i] != NULL; i += 2) {
		if (pairs[i + 1] == NULL)
			continue;
		if (buf_str(&b, pairs[i]) < 0 || buf_str(&b, pairs[i + 1]) < 0)
			goto out;
	}
	r = send_packet(c, 'D', b.p, b.len);
out:
	free(b.p);
	return r;
}

/*
 * Wait for the reply to a command. Returns the action byte ('c', 't', ...) or 0 on error;
 * progress packets are skipped.
 */
static char
read_reply(struct mw_conn *c, char *reply, size_t replylen, char *err, size_t errlen)
{
	for (int guard = 0; guard < 100000; guard++) {
		char cmd, *data = NULL;
		size_t len;

		if (read_packet(c, &cmd, &data, &len, err, errlen) < 0)
			return 0;
		if (cmd == 'p') {
			free(data);
			continue;
		}
		if (cmd == 'y' && reply != NULL)
			snprintf(reply, replylen, "%s", data);
		free(data);
		return cmd;
	}
	errf(err, errlen, "the milter sent too many progress packets");
	return 0;
}

/* Send a command and, unless the milter negotiated no reply for it, read the reply. */
static char
command(struct mw_conn *c, char cmd, const void *data, size_t len, uint32_t nr_flag,
    char *reply, size_t replylen, char *err, size_t errlen)
{
	if (send_packet(c, cmd, data, len) < 0) {
		errf(err, errlen, "writing to the milter: %s", strerror(errno));
		return 0;
	}
	if (nr_flag != 0 && (c->protocol & nr_flag))
		return 'c';
	return read_reply(c, reply, replylen, err, errlen);
}

int
mw_open_session(struct mw_conn *c, const struct mw_session *s, char *err, size_t errlen)
{
	uint32_t opt[3] = { htonl(MW_VERSION), htonl(ACT_ALL), htonl(c->offer) };
	struct buf b = { 0 };
	char cmd, *data = NULL, act;
	size_t len;
	uint16_t port = htons(25);
	const char *family = strchr(s->client_addr, ':') ? "6" : "4";
	int r = -1;

	if (send_packet(c, 'O', opt, sizeof(opt)) < 0 ||
	    read_packet(c, &cmd, &data, &len, err, errlen) < 0)
		goto out;
	if (cmd != 'O' || len < 12) {
		errf(err, errlen, "bad option negotiation reply '%c'", cmd);
		goto out;
	}
	memcpy(&c->actions, data + 4, 4);
	c->actions = ntohl(c->actions);
	memcpy(&c->protocol, data + 8, 4);
	c->protocol = ntohl(c->protocol);
	if (c->protocol & ~c->offer) {
		/* an MTA refuses a milter that asks for what it did not offer */
		errf(err, errlen, "the milter asked for protocol flags 0x%x not offered (0x%x)",
		    (unsigned)(c->protocol & ~c->offer), (unsigned)c->offer);
		goto out;
	}
	c->session_open = 1;
	{
		const char *const macros[] = { "j", "mta.test", "{daemon_name}", s->daemon_name,
			"{client_addr}", s->client_addr, "{client_name}", s->client_name, NULL };

		if (send_macros(c, 'C', macros) < 0)
			goto io;
	}
	if (!(c->protocol & P_NOCONNECT)) {
		if (buf_str(&b, s->client_name) < 0 || buf_add(&b, family, 1) < 0 ||
		    buf_add(&b, &port, 2) < 0 || buf_str(&b, s->client_addr) < 0)
			goto out;
		act = command(c, 'C', b.p, b.len, P_NR_CONN, NULL, 0, err, errlen);
		if (act != 'c') {
			if (act != 0)
				errf(err, errlen, "the milter answered '%c' to connect", act);
			goto out;
		}
	}
	if (!(c->protocol & P_NOHELO)) {
		act = command(c, 'H', s->helo, strlen(s->helo) + 1, P_NR_HELO, NULL, 0, err, errlen);
		if (act != 'c') {
			if (act != 0)
				errf(err, errlen, "the milter answered '%c' to HELO", act);
			goto out;
		}
	}
	r = 0;
	goto out;
io:
	errf(err, errlen, "writing to the milter: %s", strerror(errno));
out:
	free(b.p);
	free(data);
	return r;
}

static int
header_dup(struct mw_header *h, const char *name, const char *value)
{
	h->name = strdup(name);
	h->value = strdup(value);
	return (h->name && h->value) ? 0 : -1;
}

static int
message_copy(const struct mw_message *in, struct mw_message *out)
{
	memset(out, 0, sizeof(*out));
	out->envfrom = strdup(in->envfrom);
	out->headers = calloc(in->header_count + 1, sizeof(*out->headers));
	out->rcpt = calloc(in->rcpt_count + 1, sizeof(*out->rcpt));
	out->body = malloc(in->body_len + 1);
	if (!out->envfrom || !out->headers || !out->rcpt || !out->body)
		return -1;
	for (size_t i = 0; i < in->rcpt_count; i++) {
		if ((out->rcpt[i] = strdup(in->rcpt[i])) == NULL)
			return -1;
		out->rcpt_count++;
	}
	for (size_t i = 0; i < in->header_count; i++) {
		if (header_dup(&out->headers[i], in->headers[i].name, in->headers[i].value) < 0)
			return -1;
		out->header_count++;
	}
	memcpy(out->body, in->body, in->body_len);
	out->body_len = in->body_len;
	return 0;
}

/* Apply one modification packet from the end-of-message phase. */
static int
apply_change(struct mw_message *m, char cmd, const char *data, size_t len, struct buf *newbody,
    int *body_replaced, char *err, size_t errlen)
{
	const char *name, *value;
	uint32_t idx = 0;
	struct mw_header *grown;

	switch (cmd) {
	case 'b':
		*body_replaced = 1;
		if (newbody->len + len > MW_MAX_BODY) {
			errf(err, errlen, "replacement body too large");
			return -1;
		}
		return buf_add(newbody, data, len);
	case 'h':
	case 'i':
	case 'm':
		if (cmd != 'h') {
			if (len < 4)
				goto bad;
			memcpy(&idx, data, 4);
			idx = ntohl(idx);
			data += 4;
			len -= 4;
		}
		name = data;
		if (memchr(name, '\0', len) == NULL)
			goto bad;
		value = name + strlen(name) + 1;
		if ((size_t)(value - data) >= len + 1 || memchr(value, '\0', len - (size_t)(value - data)) == NULL)
			goto bad;
		if (cmd == 'm') {
			/* idx counts occurrences of this name from 1; an empty value deletes it */
			uint32_t seen = 0;

			for (size_t i = 0; i < m->header_count; i++) {
				if (strcasecmp(m->headers[i].name, name) != 0 || ++seen != idx)
					continue;
				if (*value == '\0') {
					free(m->headers[i].name);
					free(m->headers[i].value);
					memmove(&m->headers[i], &m->headers[i + 1],
					    (m->header_count - i - 1) * sizeof(*m->headers));
					m->header_count--;
				} else {
					char *v = strdup(value);

					if (v == NULL)
						return -1;
					free(m->headers[i].value);
					m->headers[i].value = v;
				}
				return 0;
			}
			if (*value == '\0')
				return 0;
			/* changing a header that is not there adds it, as Postfix does */
		}
		if (m->header_count >= MW_MAX_HEADERS) {
			errf(err, errlen, "too many headers");
			return -1;
		}
		grown = realloc(m->headers, (m->header_count + 1) * sizeof(*grown));
		if (grown == NULL)
			return -1;
		m->headers = grown;
		if (cmd == 'i' && idx < m->header_count) {
			memmove(&m->headers[idx + 1], &m->headers[idx],
			    (m->header_count - idx) * sizeof(*grown));
		} else
			idx = (uint32_t)m->header_count;
		if (header_dup(&m->headers[idx], name, value) < 0)
			return -1;
		m->header_count++;
		return 0;
	case '+':
	case '-':
	case '2':
	case 'e':
	case 'q':
		return 0; /* envelope changes and quarantine: counted, not applied */
	default:
		break;
	}
bad:
	errf(err, errlen, "malformed modification '%c' from the milter", cmd);
	return -1;
}

/* Header values are sent without the leading space unless the milter asked for it. */
static const char *
header_value_for_wire(const struct mw_conn *c, const char *value)
{
	if (!(c->protocol & P_HDR_LEADSPC))
		while (*value == ' ')
			value++;
	return value;
}

int
mw_send_message(struct mw_conn *c, const struct mw_session *s, const char *queue_id,
    const struct mw_message *msg, struct mw_result *out, char *err, size_t errlen)
{
	struct buf b = { 0 }, newbody = { 0 };
	char act = 'c', envfrom[1024], stage = 'M';
	int r = -1, body_replaced = 0;

	memset(out, 0, sizeof(*out));
	if (message_copy(msg, &out->msg) < 0) {
		errf(err, errlen, "out of memory");
		goto out;
	}
	snprintf(envfrom, sizeof(envfrom), "<%s>", msg->envfrom);
	{
		const char *const macros[] = { "i", queue_id, "{auth_authen}", s->auth_authen,
			"{auth_type}", s->auth_authen ? "PLAIN" : NULL, "{mail_addr}", msg->envfrom,
			NULL };

		if (send_macros(c, 'M', macros) < 0)
			goto io;
	}
	if (!(c->protocol & P_NOMAIL)) {
		stage = 'M';
		act = command(c, 'M', envfrom, strlen(envfrom) + 1, P_NR_MAIL, out->reply,
		    sizeof(out->reply), err, errlen);
		if (act != 'c')
			goto done;
	}
	for (size_t i = 0; i < msg->rcpt_count; i++) {
		char rcpt[1024];
		const char *const macros[] = { "{rcpt_addr}", msg->rcpt[i], NULL };

		snprintf(rcpt, sizeof(rcpt), "<%s>", msg->rcpt[i]);
		if (send_macros(c, 'R', macros) < 0)
			goto io;
		if (!(c->protocol & P_NORCPT)) {
			stage = 'R';
			act = command(c, 'R', rcpt, strlen(rcpt) + 1, P_NR_RCPT, out->reply,
			    sizeof(out->reply), err, errlen);
			if (act != 'c')
				goto done;
		}
	}
	if (!(c->protocol & P_NODATA)) {
		stage = 'T';
		act = command(c, 'T', NULL, 0, P_NR_DATA, out->reply, sizeof(out->reply), err, errlen);
		if (act != 'c')
			goto done;
	}
	if (!(c->protocol & P_NOHDRS)) {
		for (size_t i = 0; i < msg->header_count; i++) {
			const char *v = header_value_for_wire(c, msg->headers[i].value);

			b.len = 0;
			if (buf_str(&b, msg->headers[i].name) < 0 || buf_str(&b, v) < 0)
				goto nomem;
			stage = 'L';
			act = command(c, 'L', b.p, b.len, P_NR_HDR, out->reply, sizeof(out->reply),
			    err, errlen);
			if (act != 'c')
				goto done;
		}
	}
	if (!(c->protocol & P_NOEOH)) {
		stage = 'N';
		act = command(c, 'N', NULL, 0, P_NR_EOH, out->reply, sizeof(out->reply), err, errlen);
		if (act != 'c')
			goto done;
	}
	if (!(c->protocol & P_NOBODY)) {
		for (size_t off = 0; off < msg->body_len; off += BODY_CHUNK) {
			size_t n = msg->body_len - off < BODY_CHUNK ? msg->body_len - off : BODY_CHUNK;

			stage = 'B';
			act = command(c, 'B', msg->body + off, n, P_NR_BODY, out->reply,
			    sizeof(out->reply), err, errlen);
			if (act == 's') {
				act = 'c';
				break;
			}
			if (act != 'c')
				goto done;
		}
	}
	/* end of message: modifications, then the final action */
	for (unsigned left = c->eom_pause; left > 0;)
		left = sleep(left);
	stage = 'E';
	if (send_packet(c, 'E', NULL, 0) < 0)
		goto io;
	for (unsigned guard = 0; guard < 2u * MW_MAX_HEADERS + MW_MAX_BODY / 1024; guard++) {
		char cmd, *data = NULL;
		size_t len;

		if (read_packet(c, &cmd, &data, &len, err, errlen) < 0)
			goto out;
		if (cmd == 'y')
			snprintf(out->reply, sizeof(out->reply), "%s", data);
		switch (cmd) {
		case 'y':
		case 'c':
		case 'a':
		case 't':
		case 'r':
		case 'd':
			free(data);
			act = cmd;
			goto done;
		case 'p':
			free(data);
			continue;
		default:
			break;
		}
		out->changes++;
		if (apply_change(&out->msg, cmd, data, len, &newbody, &body_replaced, err,
		        errlen) < 0) {
			free(data);
			goto out;
		}
		free(data);
	}
	errf(err, errlen, "the milter sent too many modifications");
	goto out;
done:
	if (act == 0)
		goto out;
	out->action = act;
	out->stage = stage;
	if (body_replaced) {
		free(out->msg.body);
		out->msg.body = newbody.p; /* transferred */
		out->msg.body_len = newbody.len;
		newbody.p = NULL;
	}
	/* a rejected or failed message ends the transaction; the connection stays usable */
	if (act != 'c' && act != 'a')
		send_packet(c, 'A', NULL, 0);
	r = 0;
	goto out;
nomem:
	errf(err, errlen, "out of memory");
	goto out;
io:
	errf(err, errlen, "writing to the milter: %s", strerror(errno));
out:
	if (r < 0)
		mw_result_free(out); /* a failed message leaves nothing to free */
	free(b.p);
	free(newbody.p);
	return r;
}

void
mw_message_free(struct mw_message *m)
{
	if (m == NULL)
		return;
	free(m->envfrom);
	for (size_t i = 0; i < m->rcpt_count; i++)
		free(m->rcpt[i]);
	free(m->rcpt);
	for (size_t i = 0; i < m->header_count; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	free(m->body);
	memset(m, 0, sizeof(*m));
}

void
mw_result_free(struct mw_result *r)
{
	if (r != NULL)
		mw_message_free(&r->msg);
}

/* Length of the line at p (without its end), and where the next line starts. */
static size_t
line_at(const char *p, const char *end, const char **next)
{
	const char *q = p;

	while (q < end && *q != '\n')
		q++;
	*next = q < end ? q + 1 : q;
	if (q > p && q[-1] == '\r')
		q--;
	return (size_t)(q - p);
}

int
mw_message_parse(const char *data, size_t len, struct mw_message *out, char *err, size_t errlen)
{
	const char *p = data, *end = data + len, *next;
	struct buf body = { 0 };

	memset(out, 0, sizeof(*out));
	while (p < end) {
		size_t n = line_at(p, end, &next);
		const char *colon;
		struct mw_header *grown;

		if (n == 0) {
			p = next;
			break;
		}
		if (*p == ' ' || *p == '\t') {
			/* continuation: append "\n" + the line to the previous value */
			struct mw_header *h;
			char *v;
			size_t old;

			if (out->header_count == 0)
				goto bad;
			h = &out->headers[out->header_count - 1];
			old = strlen(h->value);
			v = realloc(h->value, old + n + 2);
			if (v == NULL)
				goto nomem;
			v[old] = '\n';
			memcpy(v + old + 1, p, n);
			v[old + 1 + n] = '\0';
			h->value = v;
			p = next;
			continue;
		}
		colon = memchr(p, ':', n);
		if (colon == NULL || colon == p)
			goto bad;
		if (out->header_count >= MW_MAX_HEADERS)
			goto bad;
		grown = realloc(out->headers, (out->header_count + 1) * sizeof(*grown));
		if (grown == NULL)
			goto nomem;
		out->headers = grown;
		grown[out->header_count].name = strndup(p, (size_t)(colon - p));
		grown[out->header_count].value = strndup(colon + 1, n - (size_t)(colon + 1 - p));
		if (!grown[out->header_count].name || !grown[out->header_count].value) {
			free(grown[out->header_count].name);
			free(grown[out->header_count].value);
			goto nomem;
		}
		out->header_count++;
		p = next;
	}
	/* body in CRLF form, as an MTA hands it to a milter */
	while (p < end) {
		size_t n = line_at(p, end, &next);
		int had_newline = next > p + n;

		if (buf_add(&body, p, n) < 0 || (had_newline && buf_add(&body, "\r\n", 2) < 0))
			goto nomem;
		p = next;
	}
	if (buf_add(&body, "", 1) < 0)
		goto nomem;
	out->body = body.p; /* transferred */
	out->body_len = body.len - 1;
	return 0;
bad:
	errf(err, errlen, "not an RFC 5322 message: bad header line");
	goto fail;
nomem:
	errf(err, errlen, "out of memory");
fail:
	free(body.p);
	mw_message_free(out);
	return -1;
}

static int
fd_write(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
mw_message_write(const struct mw_message *m, int fd)
{
	for (size_t i = 0; i < m->header_count; i++) {
		const char *v = m->headers[i].value;

		if (fd_write(fd, m->headers[i].name, strlen(m->headers[i].name)) < 0 ||
		    fd_write(fd, ":", 1) < 0)
			return -1;
		if (*v != ' ' && *v != '\t' && *v != '\0' && fd_write(fd, " ", 1) < 0)
			return -1;
		/* folded values carry "\n" (or "\r\n") before each continuation line */
		for (const char *q = v; *q != '\0'; q++) {
			if (*q == '\r')
				continue;
			if (*q == '\n' ? fd_write(fd, "\r\n", 2) < 0 : fd_write(fd, q, 1) < 0)
				return -1;
		}
		if (fd_write(fd, "\r\n", 2) < 0)
			return -1;
	}
	if (fd_write(fd, "\r\n", 2) < 0)
		return -1;
	return fd_write(fd, m->body, m->body_len);
}
