/*
 * test_session: the milter callbacks driven through struct mfi_ops by a recording MTA side
 * (this test's view of libmilter: it hands over macros, keeps the private pointer, and
 * applies the header and body edits the callbacks ask for). The CA and S/MIME engine are the
 * real ones, with a CA state made by the fixture program; signed results are checked with
 * `openssl cms -verify` and encrypted ones decrypted with `openssl cms -decrypt`.
 *
 * The stages the daemon negotiates without a reply (connect, helo, rcpt, header, body) must
 * answer MFI_CONTINUE whatever happens; their failures are answered at end of header or end
 * of message. Out-of-memory at a stage is caused for real: the test is linked with
 * -Wl,--wrap=strdup,--wrap=strndup and can make the next allocation of that kind fail.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ca/ca.h"
#include "common/log.h"
#include "milter/process/keycache.h"
#include "milter/process/message.h"
#include "milter/process/runtime.h"
#include "milter/daemon/session.h"
#include "tests/tap.h"

#define MAXH 64

/* Allocation failures on demand: while fail_allocs > 0, each strdup/strndup fails once. */
static int fail_allocs;
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

char *
__wrap_strdup(const char *s)
{
	if (fail_allocs > 0) {
		fail_allocs--;
		return NULL;
	}
	return __real_strdup(s);
}

char *
__wrap_strndup(const char *s, size_t n)
{
	if (fail_allocs > 0) {
		fail_allocs--;
		return NULL;
	}
	return __real_strndup(s, n);
}

/* Set when a no-reply stage answered anything but MFI_CONTINUE, in any run. */
static int nr_violations;

static enum mfi_status
nr(enum mfi_status st, const char *stage)
{
	if (st != MFI_CONTINUE) {
		nr_violations++;
		tap_diag("the no-reply stage %s answered %d", stage, (int)st);
	}
	return st;
}

/* The recording MTA side. Lifetime: one simulated SMTP connection. */
struct mta {
	const char *login;
	const char *qid;
	void *priv;
	char *hname[MAXH], *hvalue[MAXH];
	int deleted[MAXH];
	int nh;
	char *body;
	size_t body_len;
	int replaced;
	int edits;
	int fail_replacebody;
	int fail_setpriv;
	char reply[256];
};

static const char *
m_getsymval(void *ctx, const char *name)
{
	struct mta *m = ctx;

	if (strcmp(name, "{auth_authen}") == 0)
		return m->login;
	if (strcmp(name, "i") == 0)
		return m->qid;
	return NULL;
}

static void *
m_getpriv(void *ctx)
{
	return ((struct mta *)ctx)->priv;
}

static int
m_setpriv(void *ctx, void *p)
{
	if (((struct mta *)ctx)->fail_setpriv && p != NULL)
		return -1;
	((struct mta *)ctx)->priv = p;
	return 0;
}

static int
m_setreply(void *ctx, const char *r, const char *x, const char *t)
{
	snprintf(((struct mta *)ctx)->reply, 256, "%s %s %s", r, x, t);
	return 0;
}

static int
m_chgheader(void *ctx, const char *name, int idx, const char *value)
{
	struct mta *m = ctx;
	int seen = 0;

	m->edits++;
	for (int i = 0; i < m->nh; i++)
		if (!m->deleted[i] && strcasecmp(m->hname[i], name) == 0 && ++seen == idx) {
			if (value == NULL)
				m->deleted[i] = 1;
			else {
				free(m->hvalue[i]);
				m->hvalue[i] = strdup(value);
			}
			return 0;
		}
	return 0;
}

static int
m_addheader(void *ctx, const char *name, const char *value)
{
	struct mta *m = ctx;

	m->edits++;
	if (m->nh >= MAXH)
		return -1;
	m->hname[m->nh] = strdup(name);
	m->hvalue[m->nh++] = strdup(value);
	return 0;
}

static int
m_replacebody(void *ctx, const unsigned char *data, size_t len)
{
	struct mta *m = ctx;

	m->edits++;
	if (m->fail_replacebody)
		return -1;
	if (!m->replaced) {
		m->body_len = 0;
		m->replaced = 1;
	}
	m->body = realloc(m->body, m->body_len + len + 1);
	memcpy(m->body + m->body_len, data, len);
	m->body_len += len;
	m->body[m->body_len] = '\0';
	return 0;
}

static const struct mfi_ops ops = {
	m_getsymval, m_getpriv, m_setpriv, m_setreply, m_chgheader, m_addheader, m_replacebody,
};

static struct milter_runtime rt;
static char dir[] = "/tmp/test_session.XXXXXX";

static void
mta_free(struct mta *m)
{
	for (int i = 0; i < m->nh; i++) {
		free(m->hname[i]);
		free(m->hvalue[i]);
	}
	free(m->body);
	memset(m, 0, sizeof(*m));
}

/*
 * Connect from `client` (IPv4 text; a TCP client port) as `login`, or "local" for a sendmail(1)
 * post (127.0.0.1 port 0, as Postfix's non_smtpd_milters see it); the connect answer, which
 * must be CONTINUE.
 */
static enum mfi_status
open_conn(struct mta *m, const char *client, const char *login)
{
	struct sockaddr_in sin = { 0 };
	bool local = strcmp(client, "local") == 0;

	sin.sin_family = AF_INET;
	sin.sin_port = local ? 0 : htons(40000);
	inet_pton(AF_INET, local ? "127.0.0.1" : client, &sin.sin_addr);
	m->login = login;
	m->qid = "TESTQID";
	return nr(session_connect(&rt, &ops, m, "client", (struct sockaddr *)&sin), "connect");
}

/* One message: headers "Name: value" lines, body with LF; returns the eom answer. */
static enum mfi_status
run(struct mta *m, const char *client, const char *login, const char *const *hdrs,
    const char *const *rcpts, const char *body, enum mfi_status *early)
{
	char *argv[2] = { (char *)"<sender@example.org>", NULL };
	enum mfi_status st;
	char crlf[65536];
	size_t o = 0;

	*early = MFI_CONTINUE;
	if ((st = open_conn(m, client, login)) != MFI_CONTINUE ||
	    (st = nr(session_helo(&rt, &ops, m, "client.example"), "helo")) != MFI_CONTINUE ||
	    (st = nr(session_envfrom(&rt, &ops, m, argv), "envfrom")) != MFI_CONTINUE)
		goto early;
	for (int i = 0; rcpts != NULL && rcpts[i] != NULL; i++) {
		char *r[2] = { (char *)rcpts[i], NULL };

		if ((st = nr(session_envrcpt(&rt, &ops, m, r), "envrcpt")) != MFI_CONTINUE)
			goto early;
	}
	if ((st = session_data(&rt, &ops, m)) != MFI_CONTINUE)
		goto early;
	for (int i = 0; hdrs[i] != NULL; i++) {
		const char *colon = strchr(hdrs[i], ':');

		m->hname[m->nh] = strndup(hdrs[i], (size_t)(colon - hdrs[i]));
		m->hvalue[m->nh] = strdup(colon + 2);
		if ((st = nr(session_header(&rt, &ops, m, m->hname[m->nh], m->hvalue[m->nh]),
		    "header")) != MFI_CONTINUE) {
			m->nh++;
			goto early;
		}
		m->nh++;
	}
	if ((st = session_eoh(&rt, &ops, m)) != MFI_CONTINUE)
		goto early;
	for (const char *p = body; *p != '\0' && o < sizeof(crlf) - 2; p++) {
		if (*p == '\n')
			crlf[o++] = '\r';
		crlf[o++] = *p;
	}
	m->body = strndup(crlf, o);
	m->body_len = o;
	/* in two chunks, as an MTA may send them */
	if ((st = nr(session_body(&rt, &ops, m, (unsigned char *)crlf, o / 2), "body")) !=
	    MFI_CONTINUE ||
	    (st = nr(session_body(&rt, &ops, m, (unsigned char *)crlf + o / 2, o - o / 2),
	    "body")) != MFI_CONTINUE)
		goto early;
	st = session_eom(&rt, &ops, m);
	session_close(&rt, &ops, m);
	return st;
early:
	*early = st;
	session_close(&rt, &ops, m);
	return st;
}

/* Write the message as the MTA would deliver it. */
static void
save(const struct mta *m, const char *path)
{
	FILE *fp = fopen(path, "w");

	for (int i = 0; i < m->nh; i++)
		if (!m->deleted[i])
			fprintf(fp, "%s: %s\n", m->hname[i], m->hvalue[i]);
	fputc('\n', fp);
	for (size_t i = 0; i < m->body_len; i++)
		if (m->body[i] != '\r')
			fputc(m->body[i], fp);
	fclose(fp);
}

/* Run a shell command; every "%s" in it stands for the test directory. */
static int
sh(const char *pattern, const char *unused)
{
	char cmd[2048];
	size_t o = 0;

	(void)unused;
	for (const char *p = pattern; *p != '\0' && o + strlen(dir) + 1 < sizeof(cmd); p++) {
		if (p[0] == '%' && p[1] == 's') {
			memcpy(cmd + o, dir, strlen(dir));
			o += strlen(dir);
			p++;
		} else
			cmd[o++] = *p;
	}
	cmd[o] = '\0';
	return system(cmd) == 0;
}

static struct snapshot *
snap_with(const char *extra)
{
	char path[512], why[1200];
	struct as_conf_error err;
	struct as_conf *conf;
	struct snapshot *snap;
	FILE *fp;
	size_t o;

	snprintf(path, sizeof(path), "%s/test.conf", dir);
	/* each option given in `extra` replaces the fixture's line (options may appear once) */
	o = (size_t)snprintf(why, sizeof(why), "grep -v -e '^- '");
	for (const char *l = extra; *l != '\0' && o < sizeof(why); l += strcspn(l, "\n") + 1) {
		o += (size_t)snprintf(why + o, sizeof(why) - o, " -e '^%.*s '",
		    (int)strcspn(l, " \n"), l);
		if (l[strcspn(l, "\n")] == '\0')
			break;
	}
	if (o < sizeof(why))
		snprintf(why + o, sizeof(why) - o, " %s/autosmime.conf > %s", dir, path);
	if (o >= sizeof(why) || system(why) != 0) {
		tap_diag("cannot write %s", path);
		return NULL;
	}
	fp = fopen(path, "a");
	fputs(extra, fp);
	fclose(fp);
	conf = as_conf_load(path, &err);
	if (conf == NULL) {
		tap_diag("%s", err.text);
		return NULL;
	}
	snap = snapshot_new(conf, why, sizeof(why));
	if (snap == NULL)
		tap_diag("%s", why);
	return snap;
}

/*
 * One message from a file (LF or CRLF): header fields (folded lines joined with their line
 * break kept) into hdrs (malloc'd, NULL-terminated), the body into *bodyp.
 */
static int
load(const char *path, char ***hdrs, char **bodyp)
{
	FILE *fp = fopen(path, "rb");
	char *text = NULL, **h = NULL, *p, *line;
	size_t len = 0, cap = 0, n = 0;
	int c;

	if (fp == NULL)
		return -1;
	while ((c = fgetc(fp)) != EOF) {
		if (c == '\r')
			continue;
		if (len + 2 > cap && (text = realloc(text, cap = cap * 2 + 4096)) == NULL)
			abort();
		text[len++] = (char)c;
	}
	fclose(fp);
	if (text == NULL)
		return -1;
	text[len] = '\0';
	h = calloc(MAXH, sizeof(*h));
	for (p = text; *p != '\0' && *p != '\n' && n + 1 < MAXH; ) {
		char *end = p;

		while ((end = strchr(end, '\n')) != NULL && (end[1] == ' ' || end[1] == '\t'))
			end++;
		if (end == NULL)
			end = p + strlen(p);
		line = strndup(p, (size_t)(end - p));
		h[n++] = line;
		p = *end != '\0' ? end + 1 : end;
	}
	*bodyp = strdup(*p == '\n' ? p + 1 : p);
	free(text);
	*hdrs = h;
	return 0;
}

static void
free_hdrs(char **h, char *b)
{
	for (size_t i = 0; h != NULL && h[i] != NULL; i++)
		free(h[i]);
	free(h);
	free(b);
}

/* The n-th (from 1) live header named name in the MTA's copy, NULL when none. */
static const char *
mta_header(const struct mta *m, const char *name, int nth)
{
	for (int i = 0, seen = 0; i < m->nh; i++)
		if (!m->deleted[i] && strcasecmp(m->hname[i], name) == 0 && ++seen == nth)
			return m->hvalue[i];
	return NULL;
}

/* Run the message in file `name` of the test directory from an outside client to bob. */
static enum mfi_status
run_inbound(struct mta *m, const char *name, enum mfi_status *early)
{
	static const char *const rcpt[] = { "<bob@example.net>", NULL };
	char path[512], **h = NULL, *b = NULL;
	enum mfi_status st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (load(path, &h, &b) != 0) {
		*early = MFI_REJECT;
		return MFI_REJECT;
	}
	st = run(m, "192.0.2.1", NULL, (const char *const *)h, rcpt, b, early);
	free_hdrs(h, b);
	return st;
}

static const char *const plain[] = { "From: Alice <alice@example.org>",
	"To: Bob <bob@example.net>", "Subject: quarterly numbers", "Message-ID: <1@example.org>",
	"Date: Mon, 02 Mar 2026 10:00:00 +0000", NULL };
static const char *const body = "Hello Bob,\n\nthe numbers are attached. Caf\xc3\xa9.\n";
static const char *const rcpt_bob_in[] = { "<bob@example.net>", NULL };

/* Open a connection from 192.0.2.1 and start a message from alice (logged in). */
static void
begin(struct mta *m)
{
	char *argv[2] = { (char *)"<alice@example.org>", NULL };

	open_conn(m, "192.0.2.1", "alice");
	nr(session_envfrom(&rt, &ops, m, argv), "envfrom");
}

/*
 * Failures at the stages without a reply: each is answered at the next stage that replies,
 * with the answer it had before (the on_error text, the oversize_action answer).
 */
static void
deferred_tests(const char *big)
{
	struct mta m = { 0 };
	struct conn_ctx *conn;
	char *rcpt[2] = { (char *)"<bob@example.net>", NULL };
	enum mfi_status st, early;
	char extra[600];
	size_t size;
	int bad = 0;

	runtime_swap(&rt, snap_with(""));
	/* out of memory at the second header */
	begin(&m);
	nr(session_header(&rt, &ops, &m, "From", "alice@example.org"), "header");
	fail_allocs = 1;
	st = session_header(&rt, &ops, &m, "Subject", "x");
	fail_allocs = 0;
	conn = m.priv;
	tap_ok(st == MFI_CONTINUE && m.reply[0] == '\0' && conn->msg->deferred == MSG_DEFER_ERROR,
	    "a header that cannot be kept: CONTINUE at the header, the failure is kept");
	nr(session_header(&rt, &ops, &m, "To", "bob@example.net"), "header");
	tap_ok(msg_header(conn->msg, "To", 1) == NULL, "later headers of a failed message are dropped");
	st = session_eoh(&rt, &ops, &m);
	tap_ok(st == MFI_TEMPFAIL && strcmp(m.reply, "451 4.3.0 S/MIME processing failed "
	    "temporarily, try again later") == 0,
	    "and end of header answers the on_error tempfail: 451 4.3.0 with its text");
	session_abort(&rt, &ops, &m);
	session_close(&rt, &ops, &m);
	mta_free(&m);

	/* out of memory at a recipient */
	begin(&m);
	fail_allocs = 1;
	st = session_envrcpt(&rt, &ops, &m, rcpt);
	fail_allocs = 0;
	bad |= nr(session_header(&rt, &ops, &m, "From", "alice@example.org"), "header") !=
	    MFI_CONTINUE;
	tap_ok(st == MFI_CONTINUE && !bad && m.reply[0] == '\0',
	    "a recipient that cannot be kept: no answer at RCPT or the headers");
	st = session_eoh(&rt, &ops, &m);
	tap_ok(st == MFI_TEMPFAIL && strncmp(m.reply, "451 4.3.0", 9) == 0,
	    "an MTA without DATA hears the recipient failure at end of header");
	session_close(&rt, &ops, &m);
	mta_free(&m);
	begin(&m);
	fail_allocs = 1;
	nr(session_envrcpt(&rt, &ops, &m, rcpt), "envrcpt");
	fail_allocs = 0;
	st = session_data(&rt, &ops, &m);
	tap_ok(st == MFI_TEMPFAIL && strncmp(m.reply, "451 4.3.0", 9) == 0,
	    "the recipient failure is answered at DATA");
	session_close(&rt, &ops, &m);
	mta_free(&m);

	/* out of memory at MAIL FROM: no reply there, DATA answers */
	{
		char *argv[2] = { (char *)"<alice@example.org>", NULL };

		open_conn(&m, "192.0.2.1", "alice");
		fail_allocs = 1;
		st = session_envfrom(&rt, &ops, &m, argv);
		fail_allocs = 0;
		conn = m.priv;
		tap_ok(st == MFI_CONTINUE && m.reply[0] == '\0' && conn->msg != NULL &&
		    conn->msg->deferred == MSG_DEFER_ERROR,
		    "a MAIL FROM that cannot be kept: no answer there, the failure is kept");
		nr(session_envrcpt(&rt, &ops, &m, rcpt), "envrcpt");
		st = session_data(&rt, &ops, &m);
		tap_ok(st == MFI_TEMPFAIL && strncmp(m.reply, "451 4.3.0", 9) == 0,
		    "and DATA answers 451 4.3.0");
		session_close(&rt, &ops, &m);
		mta_free(&m);
	}

	/* on_error reject: the deferred answer is still the configured one */
	runtime_swap(&rt, snap_with("on_error reject\n"));
	begin(&m);
	fail_allocs = 1;
	nr(session_header(&rt, &ops, &m, "From", "alice@example.org"), "header");
	fail_allocs = 0;
	st = session_eoh(&rt, &ops, &m);
	tap_ok(st == MFI_REJECT && strncmp(m.reply, "550 5.3.0", 9) == 0,
	    "with on_error reject a header failure is rejected 550 5.3.0 at end of header");
	session_close(&rt, &ops, &m);
	mta_free(&m);

	/* oversize: later chunks are dropped, the answer waits for end of message */
	runtime_swap(&rt, snap_with("message_size_limit 4k\n"));
	begin(&m);
	nr(session_header(&rt, &ops, &m, "From", "alice@example.org"), "header");
	session_eoh(&rt, &ops, &m);
	conn = m.priv;
	st = session_body(&rt, &ops, &m, (const unsigned char *)big, strlen(big));
	size = conn->msg->size;
	tap_ok(st == MFI_CONTINUE && m.reply[0] == '\0' &&
	    conn->msg->deferred == MSG_DEFER_OVERSIZE && conn->msg->body == NULL,
	    "an oversize chunk: no reply, the spool is freed, the failure kept");
	bad = 0;
	for (int i = 0; i < 3; i++)
		bad |= nr(session_body(&rt, &ops, &m, (const unsigned char *)big, strlen(big)),
		    "body") != MFI_CONTINUE;
	tap_ok(!bad && conn->msg->size == size && conn->msg->body == NULL,
	    "later body chunks after the failure are ignored");
	st = session_eom(&rt, &ops, &m);
	tap_ok(st == MFI_TEMPFAIL && strncmp(m.reply, "452 4.3.4", 9) == 0 && m.edits == 0,
	    "end of message answers the oversize_action tempfail 452 4.3.4");
	session_close(&rt, &ops, &m);
	mta_free(&m);

	/* a spool that cannot spill to disk: answered at end of message */
	/* a regular file where the spool directory should be: even root cannot write there */
	tap_ok(sh(": > %s/not-a-dir", NULL), "a file stands in for the spool directory");
	snprintf(extra, sizeof(extra), "memory_spool_limit 4k\nspool_dir %s/not-a-dir\n", dir);
	runtime_swap(&rt, snap_with(extra));
	begin(&m);
	nr(session_header(&rt, &ops, &m, "From", "alice@example.org"), "header");
	session_eoh(&rt, &ops, &m);
	st = session_body(&rt, &ops, &m, (const unsigned char *)big, strlen(big));
	conn = m.priv;
	tap_ok(st == MFI_CONTINUE && conn->msg->deferred == MSG_DEFER_ERROR,
	    "a spool write error: no reply at body");
	st = session_eom(&rt, &ops, &m);
	tap_ok(st == MFI_TEMPFAIL && strncmp(m.reply, "451 4.3.0", 9) == 0 && m.edits == 0,
	    "and end of message answers 451 4.3.0, nothing edited");
	session_close(&rt, &ops, &m);
	mta_free(&m);

	/* no connection context: connect and MAIL FROM answer nothing, DATA the failure */
	runtime_swap(&rt, snap_with(""));
	m.fail_setpriv = 1;
	begin(&m);
	tap_ok(m.priv == NULL && m.reply[0] == '\0', "a connect failure: no answer at MAIL FROM");
	st = session_data(&rt, &ops, &m);
	tap_ok(st == MFI_TEMPFAIL && strncmp(m.reply, "451 4.3.0", 9) == 0,
	    "and DATA answers it with 451 4.3.0");
	session_close(&rt, &ops, &m);
	mta_free(&m);

	/* and after all that, a normal message on the same rules still signs */
	st = run(&m, "192.0.2.1", "alice", plain, NULL, "Hello again.\n", &early);
	tap_ok(st == MFI_CONTINUE && m.replaced && mta_header(&m, "Content-Type", 1) != NULL &&
	    strstr(mta_header(&m, "Content-Type", 1), "multipart/signed") != NULL,
	    "a normal message still signs");
	mta_free(&m);
}

/* Inbound mail through the callbacks: forged results, verification, decryption. */
static void
inbound_tests(void)
{
	struct mta m = { 0 };
	enum mfi_status st, early;
	const char *v;
	char path[512];

	runtime_swap(&rt, snap_with("crl_check no\nauthserv_id gw.example\n"));
	tap_ok(sh("printf 'Content-Type: text/plain\\r\\n\\r\\nInbound hello.\\r\\n' > %s/inner.txt && "
	    "{ printf 'From: <alice@example.org>\\r\\nTo: <bob@example.net>\\r\\nSubject: in\\r\\n"
	    "Authentication-Results: other.example; spf=pass\\r\\n"
	    "Authentication-Results: gw.example; smime=pass\\r\\n'; "
	    "openssl cms -sign -in %s/inner.txt -signer %s/alice@example.org.pem "
	    "-inkey %s/alice@example.org.key 2>/dev/null; } > %s/in-signed.eml && "
	    "sed 's/Inbound hello/Inbound HELLO/' %s/in-signed.eml > %s/in-tampered.eml && "
	    "{ printf 'From: <carol@remote.example>\\r\\nTo: <bob@example.net>\\r\\nSubject: enc\\r\\n'; "
	    "openssl cms -encrypt -aes256 -in %s/inner.txt %s/bob@example.net.pem 2>/dev/null; } "
	    "> %s/in-enc.eml", NULL), "openssl cms makes inbound test messages");

	st = run_inbound(&m, "in-signed.eml", &early);
	v = mta_header(&m, "Authentication-Results", 2);
	tap_ok(st == MFI_CONTINUE && v != NULL && strncmp(v, "gw.example;", 11) == 0 &&
	    strstr(v, "smime=pass") != NULL && strstr(v, "alice@example.org") != NULL &&
	    !m.replaced, "a valid signature from outside gets smime=pass, body untouched");
	tap_ok(mta_header(&m, "Authentication-Results", 1) != NULL &&
	    strstr(mta_header(&m, "Authentication-Results", 1), "other.example") != NULL &&
	    mta_header(&m, "Authentication-Results", 3) == NULL,
	    "the forged result claiming gw.example is deleted, another service's stays");
	mta_free(&m);

	st = run_inbound(&m, "in-tampered.eml", &early);
	v = mta_header(&m, "Authentication-Results", 2);
	tap_ok(st == MFI_CONTINUE && v != NULL && strstr(v, "smime=fail") != NULL,
	    "a tampered body gets smime=fail");
	mta_free(&m);

	st = run_inbound(&m, "in-enc.eml", &early);
	snprintf(path, sizeof(path), "%s/in-dec.eml", dir);
	save(&m, path);
	v = mta_header(&m, "X-Autosmime-Decryption", 1);
	tap_ok(st == MFI_CONTINUE && m.replaced && v != NULL && strstr(v, "decrypted") != NULL &&
	    sh("grep -q 'Inbound hello' %s/in-dec.eml && ! grep -qi 'pkcs7-mime' %s/in-dec.eml", NULL),
	    "mail enveloped to bob's gateway key arrives decrypted with X-Autosmime-Decryption");
	mta_free(&m);

	m.fail_replacebody = 1;
	st = run_inbound(&m, "in-enc.eml", &early);
	tap_ok(st == MFI_TEMPFAIL && strncmp(m.reply, "451 4.3.0", 9) == 0,
	    "a decrypted body the MTA refuses: 451, never a half-rewritten message");
	mta_free(&m);

	runtime_swap(&rt, snap_with("message_size_limit 4k\nauthserv_id gw.example\n"));
	{
		static char big[9000];
		const char *const h[] = { "From: <carol@remote.example>",
			"Authentication-Results: gw.example; smime=pass", "Subject: big", NULL };

		memset(big, 'y', sizeof(big) - 1);
		for (size_t i = 70; i < sizeof(big) - 1; i += 71)
			big[i] = '\n';

		st = run(&m, "192.0.2.1", NULL, h, rcpt_bob_in, big, &early);
		tap_ok(st == MFI_CONTINUE && early == MFI_CONTINUE &&
		    mta_header(&m, "Authentication-Results", 1) == NULL && !m.replaced,
		    "oversize inbound mail is not refused; the forged result still goes");
		mta_free(&m);
	}
	runtime_swap(&rt, snap_with("inbound_verify no\ninbound_decrypt no\n"));
	run(&m, "192.0.2.1", NULL, plain, rcpt_bob_in, body, &early);
	tap_ok(early == MFI_ACCEPT && m.edits == 0 && m.nh == 0,
	    "inbound processing off: external mail is accepted at DATA, before its headers");
	mta_free(&m);
	{
		char *argv[2] = { (char *)"<carol@remote.example>", NULL };
		char *r[2] = { (char *)"<bob@example.net>", NULL };
		struct conn_ctx *conn;

		open_conn(&m, "192.0.2.1", NULL);
		st = session_envfrom(&rt, &ops, &m, argv);
		conn = m.priv;
		tap_ok(st == MFI_CONTINUE && conn->msg->pass,
		    "the pass is decided at MAIL FROM, which does not answer");
		nr(session_envrcpt(&rt, &ops, &m, r), "envrcpt");
		tap_ok(conn->msg->rcpt_count == 0, "recipients of passed mail are not kept");
		nr(session_header(&rt, &ops, &m, "From", "carol@remote.example"), "header");
		tap_ok(session_eoh(&rt, &ops, &m) == MFI_ACCEPT,
		    "an MTA without DATA hears the pass at end of header");
		session_close(&rt, &ops, &m);
		mta_free(&m);
	}
}

int
main(void)
{
	struct mta m = { 0 };
	struct ca_params params = { 0 };
	struct ca_error err;
	struct snapshot *snap;
	enum mfi_status st, early;
	char path[512], store[512], kek[512], pass[512], cmd[1024];
	const char *fixture = getenv("top_builddir");
	const char *rcpt_bob[] = { "<bob@example.net>", NULL };
	const char *rcpt_foreign[] = { "<bob@example.net>", "<x@elsewhere.example>", NULL };

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(cmd, sizeof(cmd), "%s/tests/milter/fixture %s alice@example.org bob@example.net "
	    ">/dev/null", fixture != NULL ? fixture : "../..", dir);
	if (system(cmd) != 0) {
		tap_ok(0, "the fixture builds a CA state");
		return tap_done();
	}
	as_log_open("test_session", 0, AS_LEVEL_ERR, true);
	snap = snap_with("");
	tap_ok(snap != NULL, "the fixture configuration loads");
	if (snap == NULL)
		return tap_done();
	runtime_init(&rt, snap);
	snprintf(store, sizeof(store), "%s/store", dir);
	snprintf(kek, sizeof(kek), "%s/kek", dir);
	snprintf(pass, sizeof(pass), "%s/ca.pass", dir);
	params.store_dir = store;
	params.kek_file = kek;
	params.ca_passphrase_file = pass;
	tap_ok(ca_open(&params, &rt.ca, &err) == CA_OK, "the CA opens");
	rt.keys = keycache_new(rt.ca, NULL, 100);

	/* close without a private pointer, and callbacks without a connection */
	tap_ok(session_close(&rt, &ops, &m) == MFI_CONTINUE, "close is safe with a NULL private");
	tap_ok(session_eom(&rt, &ops, &m) == MFI_TEMPFAIL && strncmp(m.reply, "451 4.3.0", 9) == 0,
	    "eom without a connection answers the on_error tempfail");
	mta_free(&m);

	/* inbound: unsigned mail to a local recipient passes the inbound pipeline untouched */
	st = run(&m, "192.0.2.1", NULL, plain, rcpt_bob, body, &early);
	tap_ok(st == MFI_CONTINUE && early == MFI_CONTINUE && m.edits == 0,
	    "unauthenticated external client: accepted untouched");
	mta_free(&m);
	{
		const char *const rcpt_out[] = { "<x@elsewhere.example>", NULL };

		run(&m, "192.0.2.1", NULL, plain, rcpt_out, body, &early);
		tap_ok(early == MFI_ACCEPT && m.edits == 0,
		    "external mail without a local recipient: accepted at end of header, untouched");
		mta_free(&m);
	}

	/* authenticated alice: signed */
	st = run(&m, "192.0.2.1", "alice", plain, NULL, body, &early);
	tap_ok(st == MFI_CONTINUE && early == MFI_CONTINUE && m.replaced, "alice's mail is rewritten");
	snprintf(path, sizeof(path), "%s/signed.eml", dir);
	save(&m, path);
	tap_ok(sh("grep -qi '^Content-Type: multipart/signed' %s/signed.eml", NULL),
	    "the result is multipart/signed");
	tap_ok(sh("openssl cms -verify -in %s/signed.eml -CAfile %s/root.pem -out %s/content "
	    "-purpose any 2>/dev/null", NULL) && sh("grep -q 'Caf' %s/content", NULL),
	    "openssl cms -verify accepts it and the content is there");
	tap_ok(sh("test $(grep -ci '^From:' %s/signed.eml) -eq 1 && grep -q '^Subject: quarterly' "
	    "%s/signed.eml", NULL), "routing headers stay outside, once");
	mta_free(&m);

	/* a MIME message: Content-Type is changed where it stands, the old encoding removed */
	{
		static const char *const mime[] = { "From: Alice <alice@example.org>",
			"To: Bob <bob@example.net>", "MIME-Version: 1.0",
			"Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit",
			"Subject: quarterly numbers", "Message-ID: <2@example.org>", NULL };
		int cts = 0, ctes = 0, mvs = 0, ct_at = -1;

		st = run(&m, "192.0.2.1", "alice", mime, NULL, body, &early);
		for (int i = 0; i < m.nh; i++) {
			if (m.deleted[i])
				continue;
			if (strcasecmp(m.hname[i], "Content-Type") == 0) {
				cts++;
				ct_at = i;
			}
			ctes += strcasecmp(m.hname[i], "Content-Transfer-Encoding") == 0;
			mvs += strcasecmp(m.hname[i], "MIME-Version") == 0;
		}
		tap_ok(st == MFI_CONTINUE && cts == 1 && ct_at == 3 &&
		    strstr(m.hvalue[ct_at], "multipart/signed") != NULL,
		    "Content-Type is replaced in place: one field, where the sender put it");
		tap_ok(ctes == 0 && mvs == 1 && m.nh == 7,
		    "the old Content-Transfer-Encoding is gone, MIME-Version kept, nothing added");
		/* one change, one deletion, the body */
		tap_ok(m.edits == 3, "three edits in all (%d)", m.edits);
		save(&m, path);
		tap_ok(sh("openssl cms -verify -in %s/signed.eml -CAfile %s/root.pem -out /dev/null "
		    "-purpose any 2>/dev/null", NULL), "and the result verifies");
		mta_free(&m);
	}

	/* to a recipient with a certificate: encrypted to bob and alice */
	st = run(&m, "192.0.2.1", "alice", plain, rcpt_bob, body, &early);
	save(&m, path);
	tap_ok(st == MFI_CONTINUE && sh("grep -qi 'application/pkcs7-mime' %s/signed.eml", NULL),
	    "with bob's certificate known the result is encrypted");
	tap_ok(sh("openssl cms -decrypt -in %s/signed.eml -recip %s/bob@example.net.pem "
	    "-inkey %s/bob@example.net.key -out %s/inner 2>/dev/null", NULL) &&
	    sh("openssl cms -verify -in %s/inner -CAfile %s/root.pem -purpose any -out /dev/null "
	    "2>/dev/null", NULL), "bob decrypts it and the inner signature verifies");
	tap_ok(sh("openssl cms -decrypt -in %s/signed.eml -recip %s/alice@example.org.pem "
	    "-inkey %s/alice@example.org.key -out /dev/null 2>/dev/null", NULL),
	    "the sender can decrypt her own copy");
	mta_free(&m);

	/* a recipient without a certificate: signed only */
	run(&m, "192.0.2.1", "alice", plain, rcpt_foreign, body, &early);
	save(&m, path);
	tap_ok(sh("grep -qi '^Content-Type: multipart/signed' %s/signed.eml", NULL),
	    "one recipient without a certificate: signed, not encrypted");
	mta_free(&m);

	/* someone else's From: */
	{
		const char *const h[] = { "From: bob@example.org", "Subject: x", NULL };

		run(&m, "192.0.2.1", "alice", h, NULL, body, &early);
		tap_ok(early == MFI_ACCEPT && m.edits == 0, "alice may not sign as bob: untouched");
		mta_free(&m);
	}
	/* internal host, no login: a client address proves no identity */
	run(&m, "127.0.0.1", NULL, plain, NULL, body, &early);
	tap_ok(early == MFI_ACCEPT && m.edits == 0, "internal client without login: unsigned");
	mta_free(&m);
	run(&m, "local", NULL, plain, NULL, body, &early);
	tap_ok(early == MFI_ACCEPT && m.edits == 0, "a sendmail(1) post: unsigned by default");
	mta_free(&m);
	{
		char extra[700], npath[600];
		FILE *fp;

		snprintf(npath, sizeof(npath), "%s/networks", dir);
		fp = fopen(npath, "w");
		fputs("127.0.0.0/8 alice@example.org\n", fp);
		fclose(fp);
		snprintf(extra, sizeof(extra), "network_sender_map_file %s\n"
		    "local_submission_attribution envelope\n", npath);
		runtime_swap(&rt, snap_with(extra));
		run(&m, "127.0.0.1", NULL, plain, NULL, body, &early);
		tap_ok(early == MFI_CONTINUE && m.replaced,
		    "internal client, From: its network may use: signed");
		mta_free(&m);
		run(&m, "local", NULL, plain, NULL, body, &early);
		/* run()'s envelope sender is sender@example.org, the From: alice */
		tap_ok(early == MFI_ACCEPT && m.edits == 0,
		    "a sendmail(1) post whose From: is not its envelope sender: unsigned");
		mta_free(&m);
		runtime_swap(&rt, snap_with(""));
	}
	/* a local sender without certificate */
	{
		const char *const h[] = { "From: carol@example.org", "Subject: x", NULL };

		st = run(&m, "192.0.2.1", "carol", h, NULL, body, &early);
		tap_ok(st == MFI_CONTINUE && m.edits == 0, "an unenrolled sender passes unsigned");
		mta_free(&m);
	}
	/* already signed */
	{
		const char *const h[] = { "From: alice@example.org", "MIME-Version: 1.0",
			"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; "
			"micalg=sha-256; boundary=\"b\"", NULL };

		st = run(&m, "192.0.2.1", "alice", h, NULL, "--b\n\nx\n--b--\n", &early);
		tap_ok(st == MFI_CONTINUE && m.edits == 0, "already signed mail is not wrapped again");
		mta_free(&m);
	}
	/* the MTA refuses an edit: tempfail, never a half-rewritten message */
	m.fail_replacebody = 1;
	st = run(&m, "192.0.2.1", "alice", plain, NULL, body, &early);
	tap_ok(st == MFI_TEMPFAIL && strncmp(m.reply, "451 4.3.0", 9) == 0,
	    "a failed edit answers 451 4.3.0");
	mta_free(&m);

	/* oversize: tempfail by default */
	{
		static char big[9000];

		memset(big, 'x', sizeof(big) - 1);
		for (size_t i = 70; i < sizeof(big) - 1; i += 71)
			big[i] = '\n';
		runtime_swap(&rt, snap_with("message_size_limit 4k\n"));
		st = run(&m, "192.0.2.1", "alice", plain, NULL, big, &early);
		tap_ok(early == MFI_CONTINUE && st == MFI_TEMPFAIL &&
		    strncmp(m.reply, "452 4.3.4", 9) == 0,
		    "above message_size_limit: no reply at body, 452 4.3.4 at end of message");
		mta_free(&m);
		runtime_swap(&rt, snap_with("message_size_limit 4k\noversize_action reject\n"));
		st = run(&m, "192.0.2.1", "alice", plain, NULL, big, &early);
		tap_ok(early == MFI_CONTINUE && st == MFI_REJECT &&
		    strncmp(m.reply, "552 5.3.4", 9) == 0,
		    "oversize_action reject: 552 5.3.4 at end of message");
		mta_free(&m);
		runtime_swap(&rt, snap_with("message_size_limit 4k\noversize_action accept\n"));
		st = run(&m, "192.0.2.1", "alice", plain, NULL, big, &early);
		tap_ok(early == MFI_CONTINUE && st == MFI_CONTINUE && m.edits == 0,
		    "oversize_action accept passes it untouched");
		mta_free(&m);
		deferred_tests(big);
	}
	/* unenrolled_action tempfail */
	{
		const char *const h[] = { "From: carol@example.org", "Subject: x", NULL };

		runtime_swap(&rt, snap_with("unenrolled_action tempfail\n"));
		st = run(&m, "192.0.2.1", "carol", h, NULL, body, &early);
		tap_ok(st == MFI_TEMPFAIL && strncmp(m.reply, "451 4.7.0", 9) == 0,
		    "unenrolled_action tempfail answers 451 4.7.0");
		mta_free(&m);
	}
	/* reload: a running connection keeps its snapshot */
	{
		struct mta m2 = { 0 };
		struct sockaddr_in sin = { 0 };
		char *argv[2] = { (char *)"<a@example.org>", NULL };
		struct conn_ctx *conn;

		runtime_swap(&rt, snap_with(""));
		sin.sin_family = AF_INET;
		inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
		m2.login = "alice";
		session_connect(&rt, &ops, &m2, "c", (struct sockaddr *)&sin);
		conn = m2.priv;
		runtime_swap(&rt, snap_with("local_domains other.example\n"));
		tap_ok(conn->snap != rt.current && conn->snap->refs == 1,
		    "after a reload the old snapshot lives on in its connection");
		session_envfrom(&rt, &ops, &m2, argv);
		session_header(&rt, &ops, &m2, "From", "alice@example.org");
		tap_ok(session_eoh(&rt, &ops, &m2) == MFI_CONTINUE,
		    "and the connection still decides by it");
		tap_ok(session_abort(&rt, &ops, &m2) == MFI_CONTINUE && conn->msg == NULL,
		    "abort resets the message");
		session_close(&rt, &ops, &m2);
		tap_ok(m2.priv == NULL, "close clears the private pointer");
		run(&m, "192.0.2.1", "alice", plain, NULL, body, &early);
		tap_ok(early == MFI_ACCEPT, "a new connection uses the new rules");
		mta_free(&m);
	}
	inbound_tests();
	tap_ok(nr_violations == 0, "no callback of a no-reply stage ever answered but CONTINUE");
	keycache_free(rt.keys);
	ca_close(rt.ca);
	runtime_destroy(&rt);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	return tap_done();
}
