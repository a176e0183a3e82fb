/*
 * enrol_fixture: the real parts test_enrol runs against: a CA created in a temporary directory
 * (ca_open + ca_init, Berkeley DB on disk), a second handle on its environment for the
 * enrolment databases, the outbox of capture-sendmail.sh, replies built the way a mail client
 * builds them, and scans of the certificate store, the audit log and the log lines.
 * Owns the temporary directory and the globals declared in enrol_fixture.h.
 */
#include "config.h"

#include <openssl/pem.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "tests/policy/enrol_fixture.h"

char dir[64], outbox[128];
struct ca *ca;
struct store *st;
struct enrol_ctx *ctx;
struct enrol_params params;
/* The CA's settings, kept for reopen_ca. */
static struct ca_params cp;
static char cp_kek[128], cp_pass[128], cp_store[128], cp_crl[128];
static char sendmail_cmd[512];
char *local_items[4] = { "example.org", "other.example", NULL, NULL };
struct as_conf_list local_list = { local_items, 2 };
static char *exclude_items[1] = { "root@example.org" };
static struct as_conf_list exclude_list = { exclude_items, 1 };
static struct as_conf_list empty_list = { NULL, 0 };
char tokens[MAX_TOKENS][AS_TOKEN_LEN + 1];   /* every real token seen, for the leak check */
int n_tokens;
char refused_answer[ENROL_ANSWER_MAX];
char err_buf[256];
static char *log_text;     /* every log line, for the leak check */
static size_t log_len, log_cap;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void
log_sink(int level, const char *line, void *arg)
{
	size_t n = strlen(line);

	(void)level;
	(void)arg;
	if (getenv("ENROL_TEST_LOG") != NULL)
		fprintf(stderr, "log: %s\n", line);
	pthread_mutex_lock(&log_lock);
	if (log_len + n + 2 > log_cap && log_cap < 64 * 1024 * 1024) {
		size_t cap = (log_cap + n + 2) * 2;
		char *p = realloc(log_text, cap);

		if (p != NULL) {
			log_text = p;
			log_cap = cap;
		}
	}
	if (log_len + n + 2 <= log_cap) {
		memcpy(log_text + log_len, line, n);
		log_len += n;
		log_text[log_len++] = '\n';
		log_text[log_len] = '\0';
	}
	pthread_mutex_unlock(&log_lock);
}

int
log_leaks(void)
{
	int i, leaks = 0;

	for (i = 0; i < n_tokens && log_text != NULL; i++)
		leaks += strstr(log_text, tokens[i]) != NULL;
	return leaks;
}

static int
write_secret(const char *path)
{
	unsigned char raw[32];
	char hex[66];
	int fd, i;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	hex[64] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, hex, 65) != 65) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

static void
fixture_paths(void)
{
	snprintf(cp_kek, sizeof(cp_kek), "%s/kek", dir);
	snprintf(cp_pass, sizeof(cp_pass), "%s/pass", dir);
	snprintf(cp_store, sizeof(cp_store), "%s/store", dir);
	snprintf(cp_crl, sizeof(cp_crl), "%s/crl", dir);
	snprintf(outbox, sizeof(outbox), "%s/outbox", dir);
}

/* The CA's settings for the files under dir; then the CA is opened. */
static int
open_in_dir(void)
{
	struct ca_error err;
	const char *src = getenv("top_srcdir");

	if (src == NULL)
		return -1;
	fixture_paths();
	snprintf(sendmail_cmd, sizeof(sendmail_cmd), "%s/tests/policy/capture-sendmail.sh %s -i -t",
	    src, outbox);
	memset(&cp, 0, sizeof(cp));
	cp.store_dir = cp_store;
	cp.kek_file = cp_kek;
	cp.ca_passphrase_file = cp_pass;
	cp.base_url = "http://ca.example.org/pub";
	cp.crl_dir = cp_crl;
	cp.organization_name = "Example Org";
	cp.organization_identifier = "NTRGB-12345678";
	cp.organization_country = "GB";
	/* enrol_pkcs11.sh: the issuing CA key in its SoftHSM2 token */
	cp.pkcs11_module = getenv("ENROL_PKCS11_MODULE");
	cp.pkcs11_pin_file = getenv("ENROL_PKCS11_PIN_FILE");
	if (ca_open(&cp, &ca, &err) != CA_OK) {
		printf("# ca_open: %s\n", err.text);
		ca = NULL;
		return -1;
	}
	st = ca_store(ca);
	return 0;
}

int
attach(const char *existing)
{
	snprintf(dir, sizeof(dir), "%s", existing);
	return open_in_dir();
}

int
setup(void)
{
	struct ca_authority_request req;
	struct ca_authority auth;
	struct ca_error err;

	snprintf(dir, sizeof(dir), "/tmp/enrol-test-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	fixture_paths();
	if (write_secret(cp_kek) < 0 || write_secret(cp_pass) < 0 || mkdir(cp_crl, 0700) < 0 ||
	    mkdir(outbox, 0700) < 0 || open_in_dir() < 0)
		return -1;
	memset(&req, 0, sizeof(req));
	memset(&auth, 0, sizeof(auth));
	req.key_type = CA_KEY_EC_P256;
	req.actor = "test";
	req.key_uri = getenv("ENROL_PKCS11_KEY_URI");
	if (ca_init(ca, &req, &auth, &err) != CA_OK) {
		printf("# ca_init: %s\n", err.text);
		return -1;
	}
	{
		/* the root for independent readers (openssl cms -verify -CAfile) */
		char path[128];
		FILE *fp;

		snprintf(path, sizeof(path), "%s/root.pem", dir);
		if ((fp = fopen(path, "w")) == NULL || PEM_write_X509(fp, auth.root) != 1 ||
		    fclose(fp) != 0) {
			printf("# cannot write %s\n", path);
			return -1;
		}
	}
	ca_authority_free(&auth);
	/* the CA's own handle, as the milter and autosmimectl pass it */
	if ((st = ca_store(ca)) == NULL)
		return -1;
	return 0;
}

void
base_params(struct enrol_params *p)
{
	memset(p, 0, sizeof(*p));
	p->ca = ca;
	p->store = st;
	p->enrol_address = "enrol@gw.example.org";
	p->local_domains = &local_list;
	p->enrol_domains = &empty_list;
	p->enrol_exclude = &exclude_list;
	p->unenrolled_action = AS_UNENROLLED_PASS;
	p->challenge_lifetime = 3600;
	p->limits = (struct as_ratelimit){ 3, 10, 100000, 100000 };
	p->challenge_subject_prefix = "Certificate request";
	p->validation_reuse = 30 * 86400LL;
	p->renew_before = 30 * 86400LL;
	p->sendmail_command = sendmail_cmd;
	p->profile = AS_PROFILE_MAILBOX;
	p->generation = AS_GEN_STRICT;
	p->key_type = AS_KEY_EC_P256;
	p->cert_validity = 365 * 86400LL;
	p->caa_check = false;
	p->spf_check = true;
	p->allow_internal_unauthenticated = false;
	p->actor = "enrol:test";
}

/* ---- the outbox ---- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Number of captured mails; the newest one's text in *newest (malloc'd) if asked. */
int
outbox_read(char **newest)
{
	DIR *d = opendir(outbox);
	struct dirent *e;
	char *names[MAX_MAILS];
	int n = 0, i;

	if (newest != NULL)
		*newest = NULL;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && n < MAX_MAILS) {
		size_t l = strlen(e->d_name);

		if (l > 4 && strcmp(e->d_name + l - 4, ".eml") == 0)
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
	if (newest != NULL && n > 0) {
		char path[512];
		FILE *fp;
		long sz;

		snprintf(path, sizeof(path), "%s/%s", outbox, names[n - 1]);
		if ((fp = fopen(path, "r")) != NULL) {
			fseek(fp, 0, SEEK_END);
			sz = ftell(fp);
			rewind(fp);
			if ((*newest = calloc(1, (size_t)sz + 1)) != NULL &&
			    fread(*newest, 1, (size_t)sz, fp) != (size_t)sz) {
				free(*newest);
				*newest = NULL;
			}
			fclose(fp);
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	return n;
}

/* Copy the value after "Name: " of the first such header line. */
static int
header(const char *mail, const char *name, char *out, size_t cap)
{
	const char *p = mail;
	size_t nl = strlen(name);

	while (p != NULL && *p != '\0' && *p != '\n') {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *e;

			while (*v == ' ')
				v++;
			e = strchr(v, '\n');
			snprintf(out, cap, "%.*s", (int)(e != NULL ? e - v : (long)strlen(v)), v);
			return 0;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

/* The token of a challenge mail (from its subject), remembered for the leak check. */
int
token_of(const char *mail, char tok[AS_TOKEN_LEN + 1])
{
	char subj[512];
	const char *p;

	if (header(mail, "Subject", subj, sizeof(subj)) < 0 || (p = strstr(subj, "ACME: ")) == NULL ||
	    strlen(p + 6) < AS_TOKEN_LEN)
		return -1;
	memcpy(tok, p + 6, AS_TOKEN_LEN);
	tok[AS_TOKEN_LEN] = '\0';
	if (n_tokens < MAX_TOKENS)
		memcpy(tokens[n_tokens++], tok, AS_TOKEN_LEN + 1);
	return 0;
}

/* A reply as a mail client writes it: Re: subject, In-Reply-To, the challenge quoted. */
char *
make_reply(const char *challenge, const char *from, const char *subj_tok, const char *body_tok)
{
	char msgid[300] = "", *out;
	const char *body = strstr(challenge, "\n\n"), *p;
	size_t cap = strlen(challenge) * 2 + 2048, o;
	static int seq;

	header(challenge, "Message-ID", msgid, sizeof(msgid));
	if ((out = malloc(cap)) == NULL)
		return NULL;
	o = (size_t)snprintf(out, cap, "From: <%s>\nTo: enrol@gw.example.org\n"
	    "Subject: Re: Certificate request ACME: %s\nIn-Reply-To: %s\n"
	    "Message-ID: <reply%d@example.org>\nMIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n\nYes, please.\n\n", from, subj_tok, msgid,
	    ++seq);
	for (p = body != NULL ? body + 2 : ""; *p != '\0' && o + 8 < cap;) {
		const char *e = strchr(p, '\n');
		size_t l = e != NULL ? (size_t)(e - p) : strlen(p);

		/* Quote the challenge; its "ACME: <token>" line carries body_tok instead. */
		if (strncmp(p, "ACME: ", 6) == 0)
			o += (size_t)snprintf(out + o, cap - o, "> ACME: %s\n", body_tok);
		else
			o += (size_t)snprintf(out + o, cap - o, "> %.*s\n", (int)l, p);
		p = e != NULL ? e + 1 : p + l;
	}
	return out;
}

int
reply(const char *text, const struct enrol_reply_facts *f, time_t now,
    struct enrol_reply_result *res)
{
	struct as_reply_tokens t;
	int r;

	if (text == NULL || as_reply_parse(text, strlen(text), &t) < 0)
		return -1;
	r = enrol_handle_reply(ctx, f, &t, now, res);
	as_reply_tokens_wipe(&t);
	return r;
}

static int
count_cb(const struct ca_cert_info *info, void *arg)
{
	(void)info;
	(*(int *)arg)++;
	return 0;
}

int
cert_count(void)
{
	struct ca_cert_filter f = { .status = -1 };
	struct ca_error err;
	int n = 0;

	ca_cert_foreach(ca, &f, count_cb, &n, &err);
	return n;
}

static int
audit_cb(const struct ca_audit_record *rec, void *arg)
{
	struct audit_scan *a = arg;
	int i;

	a->records++;
	if (strcmp(rec->event, "enrol-reply") == 0 && strstr(rec->fields, "result=refused"))
		a->refused++;
	for (i = 0; i < n_tokens; i++)
		if (strstr(rec->fields, tokens[i]) != NULL || strstr(rec->actor, tokens[i]) != NULL)
			a->leaks++;
	return 0;
}

struct audit_scan
audit_scan(void)
{
	struct audit_scan a = { 0, 0, 0 };
	struct ca_error err;

	ca_audit_foreach(ca, audit_cb, &a, &err);
	return a;
}

/* A fresh challenge for `mb`: its mail text (malloc'd) and token. */
char *
challenge_for(const char *mb, time_t now, char tok[AS_TOKEN_LEN + 1])
{
	struct enrol_decision d;
	char *mail = NULL;
	int before = outbox_read(NULL);

	if (enrol_unenrolled_sender(ctx, mb, now, &d) != 0 || d.event != ENROL_EV_CHALLENGE_SENT ||
	    outbox_read(&mail) != before + 1 || token_of(mail, tok) < 0) {
		printf("# no challenge for %s (event %s)\n", mb, enrol_event_name(d.event));
		free(mail);
		return NULL;
	}
	return mail;
}

struct enrol_reply_facts
facts_for(const char *mb)
{
	struct enrol_reply_facts f = { .qid = "TESTQ", .envelope_sender = mb, .from_mailbox = mb,
		.sasl_login = mb, .login_may_use = true, .client_ip = "192.0.2.10",
		.helo = "client.example.org", .client_internal = false };

	return f;
}

void
fixture_cleanup(void)
{
	char cmd[128];

	free(log_text);
	log_text = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
}
