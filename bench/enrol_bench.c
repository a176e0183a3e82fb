/*
 * enrol_bench: enrolment latency, from an accepted reply to the certificate stored (not a test).
 * The enrolment API (policy/enrol.h) did not exist when this was written, so it measures the part
 * that dominates that path, ca_issue with a CA-made key: key generation, building and signing
 * the certificate, the profile check, wrapping the key and one durable Berkeley DB transaction
 * (certificate, key, audit record). Wall-clock latency of each issuance into a fresh store,
 * per key type (ECDSA P-256, RSA-2048): p50, p90, p99, max; and the same issuance with a key made
 * beforehand (the CSR path: what a pool of pre-generated keys would leave on the reply path).
 *
 *   enrol_bench [-n p256_count] [-r rsa_count] [-o results.tsv]
 * The -o file gets one line per figure: bench<TAB>case<TAB>metric<TAB>value<TAB>unit.
 * Owns a temporary directory (mkdtemp under /tmp), removed at the end.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/ca.h"

/* Settings and the open CA. Lifetime: the process. */
struct run {
	struct ca *ca;
	FILE *tsv;
	long seq;
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
run_case(struct run *r, const char *name, enum ca_key_type kt, int n, bool pregen)
{
	double *lat = calloc((size_t)n, sizeof(*lat)), sum = 0;
	char mailbox[64], cs[64];

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
		sum += lat[i];
		ca_issued_free(&is);
		OPENSSL_free(csr);
		EVP_PKEY_free(key);
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
	printf("%-34s %5d %9.2f %9.2f %9.2f %9.2f %9.2f\n", name, n, sum / n, lat[n / 2],
	    lat[n * 9 / 10], lat[n * 99 / 100], lat[n - 1]);
	if (r->tsv != NULL) {
		snprintf(cs, sizeof(cs), "%s", name);
		fprintf(r->tsv, "enrol\t%s\tmean\t%.3f\tms\n", cs, sum / n);
		fprintf(r->tsv, "enrol\t%s\tp50\t%.3f\tms\n", cs, lat[n / 2]);
		fprintf(r->tsv, "enrol\t%s\tp90\t%.3f\tms\n", cs, lat[n * 9 / 10]);
		fprintf(r->tsv, "enrol\t%s\tp99\t%.3f\tms\n", cs, lat[n * 99 / 100]);
		fprintf(r->tsv, "enrol\t%s\tmax\t%.3f\tms\n", cs, lat[n - 1]);
	}
	free(lat);
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/autosmime-enrol-bench.XXXXXX", kek[96], pass[96], store[96], cmd[128];
	struct run r = { NULL, NULL, 0 };
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
	if (n < 1 || nr < 1 || mkdtemp(dir) == NULL)
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
	memset(&areq, 0, sizeof(areq));
	areq.key_type = CA_KEY_EC_P384;
	areq.actor = "bench";
	if (ca_open(&p, &r.ca, &err) != CA_OK || ca_init(r.ca, &areq, &a, &err) != CA_OK)
		die("CA set-up", err.text);
	printf("enrolment: reply accepted -> certificate stored, measured as ca_issue "
	    "(policy/enrol.h not available)\n");
	printf("%-34s %5s %9s %9s %9s %9s %9s\n", "case", "n", "mean_ms", "p50_ms", "p90_ms",
	    "p99_ms", "max_ms");
	run_case(&r, "issue-p256", CA_KEY_EC_P256, n, false);
	run_case(&r, "issue-rsa2048", CA_KEY_RSA2048, nr, false);
	run_case(&r, "issue-p256-pregenerated-key", CA_KEY_EC_P256, n, true);
	run_case(&r, "issue-rsa2048-pregenerated-key", CA_KEY_RSA2048, nr, true);
	ca_authority_free(&a);
	ca_close(r.ca);
	if (r.tsv != NULL)
		fclose(r.tsv);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) != 0;
}
