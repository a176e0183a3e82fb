/*
 * smime-tool: test driver for the S/MIME engine. Reads a message (.eml: header, empty line,
 * body; CRLF, LF or CR line ends) with the body streamed into a spool, applies smime_sign /
 * smime_encrypt / smime_verify / smime_decrypt with keys and certificates from PEM files,
 * and writes the resulting message. Exit 0 = done, 2 = skipped (reason on stderr), 1 = error.
 *
 *   smime-tool sign    [opts] -k key -c cert [-C chain] in.eml out.eml
 *   smime-tool encrypt [opts] [-k key -c cert] -r rcpt.pem [-r ...] [-g] in.eml out.eml
 *   smime-tool verify  -A cafile in.eml content.out
 *   smime-tool decrypt -k key -c cert in.eml content.out
 * opts: -H header protection, -m mem_limit, -M max_size, -d spool dir, -n repeat (prints the
 * CPU time per message), -R (prints the peak RSS growth in KiB).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "milter/engine/smime.h"
#include "milter/engine/smime_inbound.h"

#define MAX_RCPT 16

/* The parsed input. Lifetime: the process. */
struct input {
	struct smime_header *h;
	size_t n, cap;
	struct spool *body;
};

static void
die(const char *what)
{
	fprintf(stderr, "smime-tool: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* Read one physical line (LF, CRLF or CR ends it) into a growing buffer; -1 at EOF. */
static long
get_line(FILE *f, char **buf, size_t *cap, const char **term)
{
	size_t n = 0;
	int c;

	*term = "";
	for (;;) {
		c = getc(f);
		if (c == EOF)
			break;
		if (c == '\n') {
			*term = "\n";
			break;
		}
		if (c == '\r') {
			int d = getc(f);

			if (d == '\n') {
				*term = "\r\n";
			} else {
				if (d != EOF)
					ungetc(d, f);
				*term = "\r";
			}
			break;
		}
		if (n + 2 > *cap) {
			*cap = *cap ? *cap * 2 : 256;
			if ((*buf = realloc(*buf, *cap)) == NULL)
				die("out of memory");
		}
		(*buf)[n++] = (char)c;
	}
	if (c == EOF && n == 0)
		return -1;
	if (*buf == NULL && (*buf = malloc(*cap = 256)) == NULL)
		die("out of memory");
	(*buf)[n] = '\0';
	return (long)n;
}

static void
read_input(const char *path, struct input *in, size_t mem_limit, const char *dir)
{
	FILE *f = fopen(path, "rb");
	char *line = NULL, chunk[65536];
	size_t cap = 0, k;
	const char *term;
	long n;

	if (f == NULL)
		die("cannot open input");
	memset(in, 0, sizeof(*in));
	while ((n = get_line(f, &line, &cap, &term)) > 0) {
		if ((line[0] == ' ' || line[0] == '\t') && in->n > 0) {
			struct smime_header *h = &in->h[in->n - 1];
			size_t ol = strlen(h->value);
			const char *fold = strcmp(term, "\r\n") == 0 ? "\r\n" : "\n";

			h->value = realloc(h->value, ol + strlen(fold) + (size_t)n + 1);
			if (h->value == NULL)
				die("out of memory");
			memcpy(h->value + ol, fold, strlen(fold));
			memcpy(h->value + ol + strlen(fold), line, (size_t)n + 1);
			continue;
		}
		char *colon = strchr(line, ':'), *v;

		if (colon == NULL)
			die("input header line without a colon");
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (in->n == in->cap) {
			in->cap = in->cap ? in->cap * 2 : 32;
			if ((in->h = realloc(in->h, in->cap * sizeof(*in->h))) == NULL)
				die("out of memory");
		}
		in->h[in->n].name = strdup(line);
		in->h[in->n].value = strdup(v);
		in->n++;
	}
	free(line);
	if ((in->body = spool_new(mem_limit, dir, 0)) == NULL)
		die("spool_new");
	while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (spool_write(in->body, chunk, k) != 0)
			die("spool_write");
	fclose(f);
}

static void
free_input(struct input *in)
{
	for (size_t i = 0; i < in->n; i++) {
		free(in->h[i].name);
		free(in->h[i].value);
	}
	free(in->h);
	spool_free(in->body);
}

static void
copy_spool(struct spool *sp, FILE *out)
{
	char buf[65536];
	ssize_t k;

	if (spool_rewind(sp) != 0)
		die("rewind");
	while ((k = spool_read(sp, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)k, out) != (size_t)k)
			die("write");
	if (k < 0)
		die("read");
}

static void
write_result(const char *path, const struct input *in, const struct smime_result *res)
{
	FILE *out = fopen(path, "wb");

	if (out == NULL)
		die("cannot create output");
	for (size_t i = 0; i < in->n; i++) {
		bool removed = false;

		for (size_t j = 0; j < res->remove_count; j++)
			if (strcasecmp(in->h[i].name, res->remove[j]) == 0)
				removed = true;
		if (!removed)
			fprintf(out, "%s: %s\r\n", in->h[i].name, in->h[i].value);
	}
	for (size_t i = 0; i < res->add_count; i++)
		fprintf(out, "%s: %s\r\n", res->add[i].name, res->add[i].value);
	fputs("\r\n", out);
	copy_spool(res->body, out);
	if (fclose(out) != 0)
		die("write output");
}

static EVP_PKEY *
load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL)
		die("cannot open key");
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		die("cannot read key");
	return k;
}

static STACK_OF(X509) *
load_certs(const char *path)
{
	FILE *f = fopen(path, "r");
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *x;

	if (f == NULL || sk == NULL)
		die("cannot open certificate file");
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
		sk_X509_push(sk, x);
	ERR_clear_error();
	fclose(f);
	if (sk_X509_num(sk) == 0)
		die("no certificate in file");
	return sk;
}

static long
maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	    ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static int
inbound(const char *cmd, const char *ca, EVP_PKEY *key, X509 *cert, const struct input *in,
    const struct smime_options *opt, const char *outpath)
{
	struct smime_message msg = { in->h, in->n, in->body };
	struct smime_error err = { "" };
	struct spool *content = NULL;
	X509 *signer = NULL;
	enum smime_status st;
	int rc = 1;

	if (strcmp(cmd, "verify") == 0) {
		X509_STORE *store = X509_STORE_new();

		if (store == NULL || ca == NULL || X509_STORE_load_file(store, ca) != 1)
			die("cannot load CA file");
		st = smime_verify(&msg, store, opt, &signer, &content, &err);
		X509_STORE_free(store);
	} else {
		st = smime_decrypt(&msg, key, cert, opt, &content, &err);
	}
	if (st == SMIME_OK) {
		FILE *out = fopen(outpath, "wb");

		if (out == NULL)
			die("cannot create output");
		copy_spool(content, out);
		fclose(out);
		if (signer != NULL) {
			char name[256];

			X509_NAME_oneline(X509_get_subject_name(signer), name, sizeof(name));
			printf("signer=%s\n", name);
		}
		rc = 0;
	} else {
		fprintf(stderr, "%s: %s\n", st == SMIME_SKIP ? "skip" : "error", err.text);
		rc = st == SMIME_SKIP ? 2 : st == SMIME_FAIL ? 3 : 1;
	}
	X509_free(signer);
	spool_free(content);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *cmd, *keyf = NULL, *certf = NULL, *chainf = NULL, *ca = NULL, *rcptf[MAX_RCPT];
	struct smime_options opt = { false, SMIME_AES256_CBC, 1 << 20, "/tmp", 0 };
	size_t nrcpt = 0;
	long repeat = 1, rss0;
	bool report_rss = false;
	int c, rc = 1;
	struct input in;
	struct smime_signer signer = { NULL, NULL, NULL, NULL, NULL, 0 };
	STACK_OF(X509) *certs = NULL, *enc = NULL, *rc_sk[MAX_RCPT];
	const char *encf = NULL;
	X509 *recips[MAX_RCPT];

	if (argc < 2)
		die("usage: smime-tool sign|encrypt|verify|decrypt [options] in out");
	cmd = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "k:c:C:A:r:gHm:M:d:n:Re:a:")) != -1) {
		switch (c) {
		case 'k': keyf = optarg; break;
		case 'c': certf = optarg; break;
		case 'C': chainf = optarg; break;
		case 'A': ca = optarg; break;
		case 'r':
			if (nrcpt == MAX_RCPT)
				die("too many recipients");
			rcptf[nrcpt++] = optarg;
			break;
		case 'g': opt.cipher = SMIME_AES256_GCM; break;
		case 'H': opt.header_protection = true; break;
		case 'm': opt.mem_limit = strtoul(optarg, NULL, 10); break;
		case 'M': opt.max_size = strtoul(optarg, NULL, 10); break;
		case 'd': opt.spool_dir = optarg; break;
		case 'n': repeat = strtol(optarg, NULL, 10); break;
		case 'R': report_rss = true; break;
		case 'e': encf = optarg; break; /* the signer's encryption certificate */
		case 'a': /* an SMIMECapabilities cipher to advertise; repeatable */
			if (smime_cap_parse(optarg) == 0)
				die("unknown capability");
			signer.caps |= smime_cap_parse(optarg);
			break;
		default: die("bad option");
		}
	}
	if (argc - optind != 2)
		die("need input and output paths");
	rss0 = maxrss_kb();
	read_input(argv[optind], &in, opt.mem_limit, opt.spool_dir);
	if (keyf != NULL)
		signer.key = load_key(keyf);
	if (certf != NULL) {
		certs = load_certs(certf);
		signer.cert = sk_X509_value(certs, 0);
	}
	if (chainf != NULL)
		signer.chain = load_certs(chainf);
	if (encf != NULL) {
		enc = load_certs(encf);
		signer.enc_cert = sk_X509_value(enc, 0);
	}
	for (size_t i = 0; i < nrcpt; i++) {
		rc_sk[i] = load_certs(rcptf[i]);
		recips[i] = sk_X509_value(rc_sk[i], 0);
	}
	if (strcmp(cmd, "verify") == 0 || strcmp(cmd, "decrypt") == 0) {
		rc = inbound(cmd, ca, signer.key, signer.cert, &in, &opt, argv[optind + 1]);
	} else {
		struct smime_message msg = { in.h, in.n, in.body };
		struct smime_result res;
		struct smime_error err = { "" };
		enum smime_status st = SMIME_ERROR;
		double t0 = cpu_seconds();

		for (long i = 0; i < repeat; i++) {
			if (i > 0)
				smime_result_free(&res);
			if (strcmp(cmd, "sign") == 0)
				st = smime_sign(&msg, &signer, &opt, &res, &err);
			else if (strcmp(cmd, "encrypt") == 0)
				st = smime_encrypt(&msg, signer.key != NULL ? &signer : NULL, recips,
				    nrcpt, &opt, &res, &err);
			else
				die("unknown command");
			if (st != SMIME_OK)
				break;
		}
		if (repeat > 1 && st == SMIME_OK)
			printf("cpu_us_per_message=%.1f\n", (cpu_seconds() - t0) * 1e6 / (double)repeat);
		if (st == SMIME_OK) {
			write_result(argv[optind + 1], &in, &res);
			if (report_rss)
				printf("rss_growth_kb=%ld on_disk=%d\n", maxrss_kb() - rss0,
				    spool_on_disk(res.body));
			smime_result_free(&res);
			rc = 0;
		} else {
			fprintf(stderr, "%s: %s\n", st == SMIME_SKIP ? "skip" : "error", err.text);
			ERR_print_errors_fp(stderr);
			rc = st == SMIME_SKIP ? 2 : 1;
		}
	}
	for (size_t i = 0; i < nrcpt; i++)
		sk_X509_pop_free(rc_sk[i], X509_free);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(enc, X509_free);
	sk_X509_pop_free(signer.chain, X509_free);
	EVP_PKEY_free(signer.key);
	free_input(&in);
	return rc;
}
