/*
 * bench_issue: issuance throughput of the CA (not a test). Issues N certificates with CA-made
 * ECDSA P-256 keys and then RSA-2048 keys, one thread, durable commits, into a fresh store in
 * a temporary directory; then times the parts on their own: key generation, signing with the
 * P-384 issuing key, DER encoding, and a durable commit (one audit record).
 *
 * `bench_issue -a THREADS N` instead measures durable audit appends alone (ca_audit, which
 * batches concurrent callers into one commit): N records in all, shared out over THREADS
 * threads, into a fresh store; prints records/s, process CPU ms per record (getrusage) and
 * how many transactions were committed (txn_stat), i.e. how many log flushes the N cost.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "ca/store.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
secret(const char *path, const char *v)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		exit(1);
	fputs(v, fp);
	fclose(fp);
	chmod(path, 0600);
}

static double
issue_run(struct ca *ca, enum ca_key_type kt, int n)
{
	struct ca_issue_request req;
	struct ca_issued is;
	struct ca_error err;
	char mb[64];
	double t0 = now_s();
	int i;

	for (i = 0; i < n; i++) {
		memset(&req, 0, sizeof(req));
		snprintf(mb, sizeof(mb), "bench%d@example.org", i % 100);
		req.mailbox = mb;
		req.key_type = kt;
		if (ca_issue(ca, &req, &is, &err) != CA_OK) {
			fprintf(stderr, "issue: %s\n", err.text);
			exit(1);
		}
		ca_issued_free(&is);
	}
	return now_s() - t0;
}

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

struct audit_job {
	struct ca *ca;
	int n, failed;
	long id;
};

static void *
audit_thread(void *arg)
{
	struct audit_job *j = arg;
	struct ca_error err;
	char fields[96];
	int i;

	for (i = 0; i < j->n; i++) {
		snprintf(fields, sizeof(fields), "qid=B%ld.%d sender=bench@example.org mode=sign",
		    j->id, i);
		if (ca_audit(j->ca, "sign", "milter", fields, &err) != CA_OK)
			j->failed++;
	}
	return NULL;
}

/* The -a mode: durable audit appends from `threads` threads at once. */
static int
audit_bench(const struct ca_params *p, int threads, int n)
{
	struct audit_job jobs[64];
	pthread_t tids[64];
	struct ca_error err;
	struct ca *ca;
	DB_TXN_STAT *ts = NULL;
	DB_ENV *env;
	double t0, c0, t, c;
	unsigned long commits0 = 0, commits = 0;
	int i, failed = 0;

	if (threads < 1 || threads > 64 || n < threads) {
		fprintf(stderr, "usage: bench_issue -a THREADS(1..64) N(>=THREADS)\n");
		return 1;
	}
	if (ca_open(p, &ca, &err) != CA_OK) {
		fprintf(stderr, "setup: %s\n", err.text);
		return 1;
	}
	env = ca_store(ca)->env;
	if (env->txn_stat(env, &ts, 0) == 0) {
		commits0 = (unsigned long)ts->st_ncommits;
		free(ts);
	}
	t0 = now_s();
	c0 = cpu_s();
	for (i = 0; i < threads; i++) {
		jobs[i].ca = ca;
		jobs[i].n = n / threads + (i < n % threads);
		jobs[i].failed = 0;
		jobs[i].id = i;
		if (pthread_create(&tids[i], NULL, audit_thread, &jobs[i]) != 0)
			return 1;
	}
	for (i = 0; i < threads; i++) {
		pthread_join(tids[i], NULL);
		failed += jobs[i].failed;
	}
	t = now_s() - t0;
	c = cpu_s() - c0;
	if (env->txn_stat(env, &ts, 0) == 0) {
		commits = (unsigned long)ts->st_ncommits - commits0;
		free(ts);
	}
	printf("audit %2d threads: %6d records in %.2f s = %8.1f records/s, cpu %.3f ms/record, "
	    "%lu commits, %d failed\n", threads, n, t, n / t, c * 1e3 / n, commits, failed);
	ca_close(ca);
	return failed != 0;
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000, nr = n / 40, i, audit_threads = 0;
	char dir[] = "/tmp/bench-ca-XXXXXX", kek[64], pass[64], store[64], cmd[96];
	struct ca_params p;
	struct ca_authority_request areq;
	struct ca_authority a;
	struct ca_error err;
	struct ca *ca;
	EVP_PKEY *k, *cak = EVP_EC_gen("P-384");
	X509 *x;
	unsigned char *der;
	double t, tk, ts, te, tc;

	if (argc > 3 && strcmp(argv[1], "-a") == 0) {
		audit_threads = atoi(argv[2]);
		n = atoi(argv[3]);
	}
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(kek, sizeof(kek), "%s/kek", dir);
	snprintf(pass, sizeof(pass), "%s/pass", dir);
	snprintf(store, sizeof(store), "%s/store", dir);
	secret(kek, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
	secret(pass, "bench passphrase\n");
	memset(&p, 0, sizeof(p));
	p.store_dir = store;
	p.kek_file = kek;
	p.ca_passphrase_file = pass;
	p.base_url = "http://ca.example.org/pub";
	p.organization_name = "Bench Org";
	p.organization_country = "GB";
	if (audit_threads != 0) {
		i = audit_bench(&p, audit_threads, n);
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		EVP_PKEY_free(cak);
		return system(cmd) != 0 || i != 0;
	}
	memset(&areq, 0, sizeof(areq));
	areq.key_type = CA_KEY_EC_P384;
	if (ca_open(&p, &ca, &err) != CA_OK || ca_init(ca, &areq, &a, &err) != CA_OK) {
		fprintf(stderr, "setup: %s\n", err.text);
		return 1;
	}
	t = issue_run(ca, CA_KEY_EC_P256, n);
	printf("issue ec-p256:   %6d certs in %.2f s = %7.1f certs/s (durable commits, 1 thread)\n",
	    n, t, n / t);
	t = issue_run(ca, CA_KEY_RSA2048, nr);
	printf("issue rsa-2048:  %6d certs in %.2f s = %7.1f certs/s\n", nr, t, nr / t);
	/* Where the time goes, per certificate. */
	t = now_s();
	for (i = 0; i < n; i++)
		EVP_PKEY_free(EVP_EC_gen("P-256"));
	tk = (now_s() - t) / n;
	t = now_s();
	for (i = 0; i < nr; i++)
		EVP_PKEY_free(EVP_RSA_gen(2048));
	printf("  keygen rsa-2048:       %8.1f us\n", (now_s() - t) / nr * 1e6);
	k = EVP_EC_gen("P-256");
	x = X509_new();
	X509_set_pubkey(x, k);
	X509_set_subject_name(x, X509_get_subject_name(a.cert));
	X509_set_issuer_name(x, X509_get_subject_name(a.cert));
	t = now_s();
	for (i = 0; i < n; i++)
		X509_sign(x, cak, EVP_sha384());
	ts = (now_s() - t) / n;
	t = now_s();
	for (i = 0; i < n; i++) {
		der = NULL;
		i2d_X509(x, &der);
		OPENSSL_free(der);
		X509_verify(x, cak); /* the profile checker verifies once */
	}
	te = (now_s() - t) / n;
	t = now_s();
	for (i = 0; i < n; i++)
		ca_audit(ca, "bench", "bench", "x=1", &err);
	tc = (now_s() - t) / n;
	printf("  keygen ec-p256:        %8.1f us\n", tk * 1e6);
	printf("  sign (P-384 CA key):   %8.1f us\n", ts * 1e6);
	printf("  encode + verify:       %8.1f us\n", te * 1e6);
	printf("  durable commit:        %8.1f us (one audit record, fsync of the log)\n",
	    tc * 1e6);
	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(cak);
	ca_authority_free(&a);
	ca_close(ca);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) != 0;
}
