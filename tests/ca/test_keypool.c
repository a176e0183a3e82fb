/*
 * test_keypool: the CA's pool of keys made ahead (ca/keypool.c, issue 7) through the public
 * API, on a real store in a temporary directory. A CA without the pool reports none and issues
 * as before (cold); with the pool, RSA-2048 fills in the background, issuance takes pooled
 * keys (every key distinct, the stored encrypted key matches the certificate, from several
 * threads at once), a type not yet pooled falls back to generating and is pooled from then on,
 * and closing while the thread is generating (RSA-2048, then RSA-4096) joins it promptly.
 * Latencies cold and warm are printed as diagnostics only: no pass/fail on speed.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "ca/ca.h"
#include "tests/ca/secret_file.h"
#include "tests/tap.h"

#define WAIT_MS (600 * 1000)   /* bound of every wait; valgrind makes RSA slow */
#define MAX_KEYS 32
#define THREADS 2
#define PER_THREAD 2

static struct ca_params params;
static EVP_PKEY *seen[MAX_KEYS];
static int n_seen;
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Remember the public key of an issued certificate; false if it was issued before. */
static bool
remember(X509 *cert)
{
	EVP_PKEY *k = X509_get_pubkey(cert);
	bool fresh = k != NULL;
	int i;

	pthread_mutex_lock(&seen_lock);
	for (i = 0; fresh && i < n_seen; i++)
		if (EVP_PKEY_eq(seen[i], k) == 1)
			fresh = false;
	if (fresh && n_seen < MAX_KEYS)
		seen[n_seen++] = k; /* transferred */
	else
		EVP_PKEY_free(k);
	pthread_mutex_unlock(&seen_lock);
	return fresh;
}

/* Issue one certificate; its key must be new and stored (encrypted) with the certificate. */
static int
issue(struct ca *ca, const char *mailbox, enum ca_key_type kt, double *ms)
{
	struct ca_issue_request req;
	struct ca_issued is;
	struct ca_signer *sg = NULL;
	struct ca_error err = { "" };
	double t0 = now_ms();
	int r;

	memset(&req, 0, sizeof(req));
	req.mailbox = mailbox;
	req.key_type = kt;
	req.actor = "test";
	r = ca_issue(ca, &req, &is, &err);
	if (ms != NULL)
		*ms = now_ms() - t0;
	if (r != CA_OK) {
		tap_diag("ca_issue %s: %s", mailbox, err.text);
		return -1;
	}
	r = remember(is.cert) ? 0 : -1;
	if (r == 0 && (ca_signer_load(ca, mailbox, &sg, &err) != CA_OK ||
	    strcmp(sg->serial_hex, is.serial_hex) != 0 ||
	    X509_check_private_key(is.cert, sg->key) != 1))
		r = -1;
	ca_signer_free(sg);
	ca_issued_free(&is);
	return r;
}

struct worker {
	struct ca *ca;
	int id, failed;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	char mb[64];
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		snprintf(mb, sizeof(mb), "thread%d-%d@example.org", w->id, i);
		if (issue(w->ca, mb, CA_KEY_RSA2048, NULL) != 0)
			w->failed++;
	}
	return NULL;
}

static int
by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
print_latency(const char *what, double *ms, int n)
{
	qsort(ms, (size_t)n, sizeof(*ms), by_value);
	tap_diag("benchmark: RSA-2048 issuance %s: n=%d p50=%.1f ms max=%.1f ms", what, n,
	    ms[n / 2], ms[n - 1]);
}

/* Close while the thread is generating a key of type kt; true if it was and close was prompt. */
static bool
close_while_generating(struct ca *ca, enum ca_key_type kt, double *close_ms)
{
	struct ca_keypool_figures st;
	double t0;
	int i;

	for (i = 0; i < WAIT_MS / 10; i++) {
		if (ca_keypool_stats(ca, kt, &st) != CA_OK || st.generating ||
		    st.ready >= st.size)
			break;
		usleep(10 * 1000);
	}
	t0 = now_ms();
	ca_close(ca);
	*close_ms = now_ms() - t0;
	return st.generating;
}

int
main(void)
{
	char dir[] = "/tmp/ca-keypool-XXXXXX", kek[64], pass[64], store[64], mb[64], cmd[96];
	struct ca_authority_request areq;
	struct ca_authority auth;
	struct ca_keypool_figures st, st2;
	struct ca_error err = { "" };
	struct worker w[THREADS];
	pthread_t th[THREADS];
	struct ca *ca = NULL;
	double cold[3], warm[4], close_ms;
	int i, r, fails;

	if (mkdtemp(dir) == NULL)
		tap_skip_all("no temporary directory");
	snprintf(kek, sizeof(kek), "%s/kek", dir);
	snprintf(pass, sizeof(pass), "%s/pass", dir);
	snprintf(store, sizeof(store), "%s/store", dir);
	write_secret(kek, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
	write_secret(pass, "a CA passphrase for tests\n");
	params.store_dir = store;
	params.kek_file = kek;
	params.ca_passphrase_file = pass;
	params.base_url = "http://ca.example.org/pub";
	params.organization_name = "Example Org";
	params.organization_country = "GB";

	/* 1. No pool (the default): nothing changes. */
	r = ca_open(&params, &ca, &err);
	if (!tap_ok(r == CA_OK, "ca_open without a key pool (%s)", err.text))
		return tap_done();
	memset(&areq, 0, sizeof(areq));
	areq.key_type = CA_KEY_EC_P384;
	areq.actor = "test";
	r = ca_init(ca, &areq, &auth, &err);
	tap_ok(r == CA_OK, "ca_init (%s)", err.text);
	ca_authority_free(&auth);
	tap_ok(ca_keypool_stats(ca, CA_KEY_RSA2048, &st) == CA_NOTFOUND &&
	    ca_keypool_wait(ca, CA_KEY_RSA2048, 1, 0) == CA_NOTFOUND,
	    "without params.keypool there is no pool");
	for (i = 0, fails = 0; i < 3; i++) {
		snprintf(mb, sizeof(mb), "cold%d@example.org", i);
		fails += issue(ca, mb, CA_KEY_RSA2048, &cold[i]) != 0;
	}
	tap_ok(fails == 0, "RSA-2048 issuance without a pool: distinct keys, stored with the cert");
	print_latency("cold (key made in the reply path)", cold, 3);
	ca_close(ca);

	/* 2. Pool of 4: fills, issuance takes pooled keys. */
	params.keypool = true;
	params.keypool_size = 4;
	params.keypool_warm = 1u << CA_KEY_RSA2048;
	r = ca_open(&params, &ca, &err);
	if (!tap_ok(r == CA_OK, "ca_open with a key pool of 4 (%s)", err.text))
		return tap_done();
	tap_ok(ca_keypool_stats(ca, CA_KEY_RSA2048, &st) == CA_OK && st.pooled && st.size == 4,
	    "RSA-2048 (in keypool_warm) is pooled from the start, size 4");
	tap_ok(ca_keypool_stats(ca, CA_KEY_EC_P256, &st) == CA_OK && !st.pooled &&
	    ca_keypool_wait(ca, CA_KEY_EC_P256, 1, 0) == CA_INVALID, "P-256 is never pooled");
	r = ca_keypool_wait(ca, CA_KEY_RSA2048, 4, WAIT_MS);
	ca_keypool_stats(ca, CA_KEY_RSA2048, &st);
	tap_ok(r == CA_OK && st.ready == 4 && st.made >= 4, "the pool fills in the background (ready=%u made=%lu)", st.ready, st.made);
	tap_ok(ca_keypool_wait(ca, CA_KEY_RSA2048, 99, 1) == CA_OK,
	    "waiting for more than the size waits for a full pool");
	for (i = 0, fails = 0; i < 4; i++) {
		snprintf(mb, sizeof(mb), "warm%d@example.org", i);
		fails += issue(ca, mb, CA_KEY_RSA2048, &warm[i]) != 0;
	}
	r = ca_keypool_stats(ca, CA_KEY_RSA2048, &st);
	tap_ok(fails == 0 && r == CA_OK && st.taken == 4 && st.missed == 0,
	    "4 issuances took 4 pooled keys, none missed (taken=%lu missed=%lu)", st.taken,
	    st.missed);
	print_latency("warm (pooled key)", warm, 4);
	tap_ok(n_seen == 7, "all 7 certificates so far have distinct keys");

	/* 3. Several threads at once, more than the pool holds: pooled or made, never shared. */
	tap_ok(ca_keypool_wait(ca, CA_KEY_RSA2048, 4, WAIT_MS) == CA_OK, "the pool refills");
	for (i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ ca, i, 0 };
		pthread_create(&th[i], NULL, worker_run, &w[i]);
	}
	for (i = 0, fails = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		fails += w[i].failed;
	}
	ca_keypool_stats(ca, CA_KEY_RSA2048, &st2);
	tap_ok(fails == 0 && n_seen == 7 + THREADS * PER_THREAD &&
	    st2.taken + st2.missed == st.taken + st.missed + THREADS * PER_THREAD,
	    "%d concurrent issuances: distinct keys, each pooled or made (taken=%lu missed=%lu)",
	    THREADS * PER_THREAD, st2.taken, st2.missed);

	/* 4. A type not pooled yet: falls back to generating it, then pooled from then on. */
	tap_ok(ca_keypool_stats(ca, CA_KEY_EC_P384, &st) == CA_OK && !st.pooled && st.ready == 0,
	    "P-384 is not pooled before it is asked for");
	r = issue(ca, "p384-first@example.org", CA_KEY_EC_P384, NULL);
	ca_keypool_stats(ca, CA_KEY_EC_P384, &st);
	tap_ok(r == 0 && st.missed == 1 && st.taken == 0 && st.pooled,
	    "an empty pool falls back to a key made on demand, and the type becomes pooled");
	r = ca_keypool_wait(ca, CA_KEY_EC_P384, 1, WAIT_MS);
	tap_ok(r == CA_OK && issue(ca, "p384-second@example.org", CA_KEY_EC_P384, NULL) == 0 &&
	    ca_keypool_stats(ca, CA_KEY_EC_P384, &st) == CA_OK && st.taken == 1,
	    "the next P-384 issuance takes a pooled key");

	/* 5. Close while the thread makes an RSA-2048 key (it refills after the issuances). */
	ca_keypool_stats(ca, CA_KEY_RSA2048, &st);
	if (st.ready == st.size)
		(void)issue(ca, "drain@example.org", CA_KEY_RSA2048, NULL);
	r = close_while_generating(ca, CA_KEY_RSA2048, &close_ms);
	tap_ok(r && close_ms < 10000, "ca_close while an RSA-2048 key is generated joins the "
	    "thread (%.1f ms)", close_ms);

	/* 6. The same with RSA-4096, which takes seconds: generation is abandoned. */
	params.keypool_size = 1;
	params.keypool_warm = 0;
	r = ca_open(&params, &ca, &err);
	if (!tap_ok(r == CA_OK, "ca_open again with a pool of 1 (%s)", err.text))
		return tap_done();
	tap_ok(ca_keypool_stats(ca, CA_KEY_RSA2048, &st) == CA_OK && !st.pooled && st.made == 0,
	    "without keypool_warm no type is pooled (and no key made) until one is asked for");
	tap_ok(ca_keypool_wait(ca, CA_KEY_RSA4096, 1, 1) == CA_ERR &&
	    ca_keypool_stats(ca, CA_KEY_RSA4096, &st) == CA_OK && st.pooled,
	    "waiting for RSA-4096 asks the thread to pool it");
	r = close_while_generating(ca, CA_KEY_RSA4096, &close_ms);
	tap_ok(r && close_ms < 10000, "ca_close while an RSA-4096 key is generated abandons it "
	    "(%.1f ms)", close_ms);
	tap_diag("benchmark: ca_close during RSA-4096 generation took %.1f ms", close_ms);

	for (i = 0; i < n_seen; i++)
		EVP_PKEY_free(seen[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	return tap_done();
}
