/*
 * store_fill: grows a CA store to a given number of certificates for the scale benchmark
 * (bench/scale-bench.sh; not a test). Real issuance through ca_issue (CA-made P-256 keys,
 * encrypted at rest, audit record per certificate), from several threads at once, for
 * mailboxes fillNNNNNNN@DOMAIN; every 20th is then revoked (5%), as a store that has lived a
 * few years holds revoked certificates beside the valid ones.
 *
 *   store_fill -c CONF -d DOMAIN -f FROM -t TO [-j THREADS] [-F]
 *   store_fill -c CONF -a RECORDS [-j THREADS]
 *
 * Issues numbers FROM..TO-1, so a store can grow in steps (1,000, then 100,000, ...). Prints
 * one line: issued=N revoked=N seconds=S rate=R (certificates per second, wall clock).
 *
 * -F (fast fill, for growing a store to 10^6): the same ca_issue/ca_revoke calls, but the CA
 * handle is switched to bulk loading (ca_bulk_load: commits without a log flush each, one
 * flush and checkpoint at the end, included in the time). Measured on 2 cores with a P-256
 * issuing CA: a durable issuance waits for its fdatasync, so two threads reach about 900/s
 * with one core idle; without the flushes the fill is CPU-bound at about 1 ms per
 * certificate (OpenSSL's key encoders/decoders about half, the CA's signature and its
 * re-check, key wrapping, the Berkeley DB puts) and 10^6 take about 12 minutes. With the
 * default P-384 issuing CA its signature and re-check add about 1.2 ms per certificate,
 * which is why bench/scale-bench.sh makes a P-256 one. The certificates, keys, audit records
 * and revocations are the real ones; only their durability is deferred, so the rate printed
 * with -F is not the CA's issuance rate (scale-bench times durable issuance separately).
 * Each certificate is a single dual-use P-256 one (no separate encryption pair): the
 * parameters here leave separate_encryption off whatever the configuration says.
 * With -a it appends RECORDS audit records instead (ca_audit, durable, the daemon's
 * group commit shared by the threads), for bench/audit-bench.sh: records=N seconds=S rate=R.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca/ca.h"
#include "common/conf.h"

struct fill_job {
	struct ca *ca;
	const char *domain;     /* NULL: audit records only */
	long from, to, step, first;
	long issued, revoked, failed;
	char why[512];
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
nz(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* What a signed message leaves in the log, numbered. */
static void
append_records(struct fill_job *j)
{
	struct ca_error err;
	char fields[256];

	for (long i = j->first; i < j->to; i += j->step) {
		snprintf(fields, sizeof(fields), "mailbox=fill%07ld@bench.test serial=%016lx "
		    "queue_id=%lX rcpts=1 size=2048", i % 100000, (unsigned long)i * 2654435761UL,
		    (unsigned long)i);
		if (ca_audit(j->ca, "sign", "bench:store_fill", fields, &err) == CA_OK)
			j->issued++;
		else if (j->failed++ == 0)
			snprintf(j->why, sizeof(j->why), "audit record %ld: %s", i, err.text);
	}
}

/* Thread k takes the numbers first, first+step, ...: the threads share the range evenly. */
static void *
fill_thread(void *arg)
{
	struct fill_job *j = arg;
	struct ca_issue_request req;
	struct ca_issued is;
	struct ca_error err;
	char mb[128];

	if (j->domain == NULL) {
		append_records(j);
		return NULL;
	}
	for (long i = j->first; i < j->to; i += j->step) {
		memset(&req, 0, sizeof(req));
		snprintf(mb, sizeof(mb), "fill%07ld@%s", i, j->domain);
		req.mailbox = mb;
		req.key_type = CA_KEY_EC_P256;
		req.actor = "bench:store_fill";
		if (ca_issue(j->ca, &req, &is, &err) != CA_OK) {
			if (j->failed++ == 0)
				snprintf(j->why, sizeof(j->why), "%s: %s", mb, err.text);
			continue;
		}
		j->issued++;
		if (i % 20 == 19) {
			if (ca_revoke(j->ca, is.serial_hex, CA_REASON_CESSATION, "bench:store_fill",
			    &err) == CA_OK)
				j->revoked++;
			else if (j->failed++ == 0)
				snprintf(j->why, sizeof(j->why), "revoke %s: %s", mb, err.text);
		}
		ca_issued_free(&is);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	const char *conf_path = NULL, *domain = NULL;
	long from = -1, to = -1, threads = 2, issued = 0, revoked = 0, failed = 0, records = -1;
	bool fast = false;
	struct fill_job jobs[16];
	pthread_t tids[16];
	struct as_conf_error cerr;
	struct as_conf *conf;
	struct ca_params p;
	struct ca_error err;
	struct ca *ca;
	double t0, t;
	int c;

	while ((c = getopt(argc, argv, "a:c:d:Ff:t:j:")) != -1) {
		switch (c) {
		case 'a': records = atol(optarg); break;
		case 'c': conf_path = optarg; break;
		case 'd': domain = optarg; break;
		case 'F': fast = true; break;
		case 'f': from = atol(optarg); break;
		case 't': to = atol(optarg); break;
		case 'j': threads = atol(optarg); break;
		default: goto usage;
		}
	}
	if (records >= 0 && domain == NULL) {
		from = 0;
		to = records;
	}
	if (conf_path == NULL || (domain == NULL) != (records >= 0) || from < 0 || to < from ||
	    threads < 1 || threads > 16)
		goto usage;
	if ((conf = as_conf_load(conf_path, &cerr)) == NULL) {
		fprintf(stderr, "store_fill: %s\n", cerr.text);
		return 1;
	}
	memset(&p, 0, sizeof(p));
	p.store_dir = nz(conf->store_dir);
	p.kek_file = nz(conf->key_encryption_key_file);
	p.ca_passphrase_file = nz(conf->ca_passphrase_file);
	p.base_url = nz(conf->ca_base_url);
	p.crl_dir = nz(conf->crl_dir);
	p.organization_name = nz(conf->organization_name);
	p.organization_country = nz(conf->organization_country);
	if (ca_open(&p, &ca, &err) != CA_OK) {
		fprintf(stderr, "store_fill: %s\n", err.text);
		return 1;
	}
	if (fast && ca_bulk_load(ca, true, &err) != CA_OK) {
		fprintf(stderr, "store_fill: %s\n", err.text);
		return 1;
	}
	t0 = now_s();
	for (long k = 0; k < threads; k++) {
		memset(&jobs[k], 0, sizeof(jobs[k]));
		jobs[k] = (struct fill_job){ .ca = ca, .domain = domain, .from = from, .to = to,
		    .step = threads, .first = from + k };
		if (pthread_create(&tids[k], NULL, fill_thread, &jobs[k]) != 0)
			return 1;
	}
	for (long k = 0; k < threads; k++) {
		pthread_join(tids[k], NULL);
		issued += jobs[k].issued;
		revoked += jobs[k].revoked;
		if (jobs[k].failed != 0 && failed == 0)
			fprintf(stderr, "store_fill: %s\n", jobs[k].why);
		failed += jobs[k].failed;
	}
	/* The figure includes making it all durable. */
	if (fast && ca_bulk_load(ca, false, &err) != CA_OK) {
		fprintf(stderr, "store_fill: %s\n", err.text);
		failed++;
	}
	t = now_s() - t0;
	if (domain == NULL)
		printf("records=%ld failed=%ld seconds=%.1f rate=%.1f\n", issued, failed, t,
		    t > 0 ? issued / t : 0.0);
	else
		printf("issued=%ld revoked=%ld failed=%ld seconds=%.1f rate=%.1f\n", issued,
		    revoked, failed, t, t > 0 ? issued / t : 0.0);
	ca_close(ca);
	as_conf_free(conf);
	return failed != 0;
usage:
	fprintf(stderr, "usage: store_fill -c CONF -d DOMAIN -f FROM -t TO [-j THREADS(1..16)] [-F]\n"
	    "       store_fill -c CONF -a RECORDS [-j THREADS(1..16)]\n");
	return 2;
}
