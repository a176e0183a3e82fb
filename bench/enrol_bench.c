/*
 * enrol_bench: enrolment latency, from an accepted reply to the certificate stored (not a test).
 * The real path: for a fresh mailbox enrol_unenrolled_sender sends a challenge (the sendmail
 * command is a script that keeps the mail), a reply quoting its Subject and Message-ID is parsed
 * (as_reply_parse) and then enrol_handle_reply is timed: sender/session checks, token check,
 * validation record, issuance (ca_issue), confirmation mail. CAA and SPF checks are off (no
 * DNS here; tests/harness/dns.sh has the resolver for that). Beside it, ca_issue alone with a
 * CA-made key and with a key made beforehand (the CSR path: what a pool of pre-generated keys
 * would leave on the reply path). Per key type (ECDSA P-256, RSA-2048): wall-clock mean, p50,
 * p90, p99, max into a fresh store.
 *
 *   enrol_bench [-n p256_count] [-r rsa_count] [-o results.tsv]
 * The -o file gets one line per figure: bench<TAB>case<TAB>metric<TAB>value<TAB>unit.
 * Owns a temporary directory (mkdtemp under /tmp), removed at the end.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "common/conf.h"
#include "common/log.h"
#include "policy/enrol.h"
#include "policy/reply_parse.h"

/* Settings and the open CA. Lifetime: the process. */
struct run {
	struct ca *ca;
	FILE *tsv;
	long seq;
	const char *dir;
	struct as_conf *conf;
};

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "enrol_bench: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	ERR_print_errors_fp(stderr);
	exit(1);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
secret(const char *path, const char *v)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(v, fp) < 0 || fclose(fp) != 0 || chmod(path, 0600) != 0)
		die("cannot write", path);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* A DER PKCS#10 request for a key made now (outside the timed part). */
static unsigned char *
make_csr(EVP_PKEY *key, int *len)
{
	X509_REQ *rq = X509_REQ_new();
	unsigned char *der = NULL;

	if (rq == NULL || !X509_REQ_set_pubkey(rq, key) || X509_REQ_sign(rq, key, EVP_sha256()) <= 0 ||
	    (*len = i2d_X509_REQ(rq, &der)) <= 0)
		die("cannot make a CSR", NULL);
	X509_REQ_free(rq);
	return der;
}

static void
summary(struct run *r, const char *name, double *lat, int n)
{
	double sum = 0;

	for (int i = 0; i < n; i++)
		sum += lat[i];
	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
	printf("%-34s %5d %9.2f %9.2f %9.2f %9.2f %9.2f\n", name, n, sum / n, lat[n / 2],
	    lat[n * 9 / 10], lat[n * 99 / 100], lat[n - 1]);
	if (r->tsv != NULL) {
		fprintf(r->tsv, "enrol\t%s\tmean\t%.3f\tms\n", name, sum / n);
		fprintf(r->tsv, "enrol\t%s\tp50\t%.3f\tms\n", name, lat[n / 2]);
		fprintf(r->tsv, "enrol\t%s\tp90\t%.3f\tms\n", name, lat[n * 9 / 10]);
		fprintf(r->tsv, "enrol\t%s\tp99\t%.3f\tms\n", name, lat[n * 99 / 100]);
		fprintf(r->tsv, "enrol\t%s\tmax\t%.3f\tms\n", name, lat[n - 1]);
	}
}

/* The text of the header field `name` in `msg` (first line only), or "". */
static void
header_value(const char *msg, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	const char *p = msg;

	out[0] = '\0';
	while (p != NULL && *p != '\0' && *p != '\r' && *p != '\n') {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *e;

			while (*v == ' ' || *v == '\t')
				v++;
			for (e = v; *e != '\0' && *e != '\r' && *e != '\n'; e++)
				;
			snprintf(out, cap, "%.*s", (int)(e - v), v);
			return;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || len > 1 << 20 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = calloc(1, (size_t)len + 1)) == NULL ||
	    fread(buf, 1, (size_t)len, f) != (size_t)len)
		die("cannot read the captured challenge", path);
	fclose(f);
	return buf;
}

/* The whole reply path through policy/enrol.h, timed from the parsed reply to the result. */
static int
ca_key_of_word(const char *word)
{
	int kt = ca_key_type_parse(word);

	return kt >= 0 ? kt : CA_KEY_RSA2048;
}

/*
 * `warm`: before each timed reply, wait (untimed) until the CA's key pool is full again, as it
 * is when replies arrive further apart than a key takes to make: the milter's normal case.
 */
static void
run_enrol(struct run *r, const char *name, const char *key_word, int n, bool warm)
{
	struct enrol_params p;
	struct enrol_ctx *ctx = NULL;
	double *lat = calloc((size_t)n, sizeof(*lat));
	char err[256], mailbox[64], path[128], subject[512], msgid[300], reply[2048];

	if (lat == NULL)
		die("out of memory", NULL);
	enrol_params_from_conf(&p, r->conf);
	p.ca = r->ca;
	p.store = ca_store(r->ca);
	p.key_type = as_conf_enum_index("key_type", key_word);
	p.actor = "enrol:bench";
	if (p.key_type < 0 || enrol_open(&p, &ctx, err, sizeof(err)) != 0)
		die("enrol_open", err);
	snprintf(path, sizeof(path), "%s/mail.eml", r->dir);
	for (int i = 0; i < n; i++) {
		struct enrol_decision dec;
		struct enrol_reply_facts facts;
		struct as_reply_tokens tok;
		struct enrol_reply_result res;
		char *chal;
		double t0;

		snprintf(mailbox, sizeof(mailbox), "enrol%ld@bench.test", r->seq++);
		if (enrol_unenrolled_sender(ctx, mailbox, time(NULL), &dec) != 0 ||
		    dec.event != ENROL_EV_CHALLENGE_SENT)
			die("enrol_unenrolled_sender sent no challenge", mailbox);
		chal = read_file(path);
		header_value(chal, "Subject", subject, sizeof(subject));
		header_value(chal, "Message-ID", msgid, sizeof(msgid));
		free(chal);
		snprintf(reply, sizeof(reply), "From: %s\r\nTo: %s\r\nSubject: Re: %s\r\n"
		    "Message-ID: <reply%d@bench.test>\r\nIn-Reply-To: %s\r\n\r\n"
		    "Here is my reply.\r\n", mailbox, r->conf->enrol_address, subject, i, msgid);
		if (as_reply_parse(reply, strlen(reply), &tok) != 0)
			die("as_reply_parse", NULL);
		memset(&facts, 0, sizeof(facts));
		facts.envelope_sender = mailbox;
		facts.from_mailbox = mailbox;
		facts.sasl_login = mailbox;
		facts.login_may_use = true;
		facts.client_ip = "127.0.0.1";
		facts.helo = "client.bench.test";
		facts.client_internal = true;
		if (warm && ca_keypool_wait(r->ca, (enum ca_key_type)ca_key_of_word(key_word), 4,
		        60000) != CA_OK)
			die("the key pool did not refill", key_word);
		t0 = now_ms();
		if (enrol_handle_reply(ctx, &facts, &tok, time(NULL), &res) != 0 ||
		    res.status != ENROL_REPLY_ISSUED)
			die("enrol_handle_reply did not issue", res.answer);
		lat[i] = now_ms() - t0;
		as_reply_tokens_wipe(&tok);
	}
	summary(r, name, lat, n);
	enrol_close(ctx);
	free(lat);
}

static void
run_case(struct run *r, const char *name, enum ca_key_type kt, int n, bool pregen)
{
	double *lat = calloc((size_t)n, sizeof(*lat));
	char mailbox[64];

	if (lat == NULL)
		die("out of memory", NULL);
	for (int i = 0; i < n; i++) {
		struct ca_issue_request req;
		struct ca_issued is;
		struct ca_error err;
		EVP_PKEY *key = NULL;
		unsigned char *csr = NULL;
		int csr_len = 0;
		double t0;

		memset(&req, 0, sizeof(req));
		snprintf(mailbox, sizeof(mailbox), "user%ld@bench.test", r->seq++);
		req.mailbox = mailbox;
		req.key_type = kt;
		req.actor = "enrol:bench";
		req.validation_ref = "bench";
		if (pregen) {
			key = kt == CA_KEY_EC_P256 ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
			if (key == NULL)
				die("keygen", NULL);
			csr = make_csr(key, &csr_len);
			req.csr_der = csr;
			req.csr_len = (size_t)csr_len;
		}
		t0 = now_ms();
		if (ca_issue(r->ca, &req, &is, &err) != CA_OK)
			die("ca_issue", err.text);
		lat[i] = now_ms() - t0;
		ca_issued_free(&is);
		OPENSSL_free(csr);
		EVP_PKEY_free(key);
	}
	summary(r, name, lat, n);
	free(lat);
}

/* The enrolment settings, and a sendmail command that keeps the last mail in dir/mail.eml. */
static struct as_conf *
load_conf(const char *dir)
{
	char path[128], script[128];
	struct as_conf_error cerr;
	struct as_conf *conf;
	FILE *f;

	snprintf(script, sizeof(script), "%s/sendmail.sh", dir);
	if ((f = fopen(script, "w")) == NULL ||
	    fprintf(f, "#!/bin/sh\ncat > '%s/mail.eml'\n", dir) < 0 || fclose(f) != 0 ||
	    chmod(script, 0700) != 0)
		die("cannot write", script);
	snprintf(path, sizeof(path), "%s/autosmime.conf", dir);
	if ((f = fopen(path, "w")) == NULL ||
	    fprintf(f, "local_domains bench.test\nenrol_address enrol@bench.test\n"
	    "sendmail_command %s\ncaa_check no\nspf_check no\n"
	    "challenge_limit_global_hour 1000\n", script) < 0 || fclose(f) != 0)
		die("cannot write", path);
	if ((conf = as_conf_load(path, &cerr)) == NULL)
		die("configuration", cerr.text);
	return conf;
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/autosmime-enrol-bench.XXXXXX", kek[96], pass[96], store[96], cmd[128];
	struct run r = { NULL, NULL, 0, NULL, NULL };
	struct ca_params p;
	struct ca_authority_request areq;
	struct ca_authority a;
	struct ca_error err;
	int n = 200, nr = 40, c;

	while ((c = getopt(argc, argv, "n:r:o:")) != -1) {
		switch (c) {
		case 'n': n = atoi(optarg); break;
		case 'r': nr = atoi(optarg); break;
		case 'o':
			if ((r.tsv = fopen(optarg, "a")) == NULL)
				die("cannot open", optarg);
			break;
		default:
			fprintf(stderr, "usage: enrol_bench [-n p256_count] [-r rsa_count] [-o tsv]\n");
			return 2;
		}
	}
	if (n < 1 || nr < 1 || n + nr > 900 || mkdtemp(dir) == NULL)
		die("bad counts or no temporary directory", NULL);
	snprintf(kek, sizeof(kek), "%s/kek", dir);
	snprintf(pass, sizeof(pass), "%s/pass", dir);
	snprintf(store, sizeof(store), "%s/store", dir);
	secret(kek, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
	secret(pass, "enrol bench passphrase\n");
	if (mkdir(store, 0700) != 0)
		die("mkdir", store);
	memset(&p, 0, sizeof(p));
	p.store_dir = store;
	p.kek_file = kek;
	p.ca_passphrase_file = pass;
	p.base_url = "http://pki.bench.test/";
	p.crl_dir = dir;
	p.organization_name = "Bench Org";
	p.organization_country = "DE";
	p.keypool = true;   /* as the milter runs it, with RSA-2048 in the configuration */
	p.keypool_warm = 1u << CA_KEY_RSA2048;
	memset(&areq, 0, sizeof(areq));
	areq.key_type = CA_KEY_EC_P384;
	areq.actor = "bench";
	if (ca_open(&p, &r.ca, &err) != CA_OK || ca_init(r.ca, &areq, &a, &err) != CA_OK)
		die("CA set-up", err.text);
	as_log_set_level(AS_LEVEL_WARNING);  /* one info line per step would time the terminal */
	r.dir = dir;
	r.conf = load_conf(dir);
	printf("enrolment: reply accepted -> certificate stored (CAA and SPF checks off), and "
	    "ca_issue alone\n");
	printf("%-34s %5s %9s %9s %9s %9s %9s\n", "case", "n", "mean_ms", "p50_ms", "p90_ms",
	    "p99_ms", "max_ms");
	run_enrol(&r, "enrol-reply-p256", "ec-p256", n, false);
	run_enrol(&r, "enrol-reply-rsa2048-burst", "rsa-2048", nr, false);
	run_enrol(&r, "enrol-reply-rsa2048-pool-warm", "rsa-2048", nr, true);
	run_case(&r, "issue-p256", CA_KEY_EC_P256, n, false);
	run_case(&r, "issue-rsa2048", CA_KEY_RSA2048, nr, false);
	run_case(&r, "issue-p256-pregenerated-key", CA_KEY_EC_P256, n, true);
	run_case(&r, "issue-rsa2048-pregenerated-key", CA_KEY_RSA2048, nr, true);
	ca_authority_free(&a);
	as_conf_free(r.conf);
	ca_close(r.ca);
	if (r.tsv != NULL)
		fclose(r.tsv);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) != 0;
}
