/*
 * test_audit_batch: group commit of the audit log (ca/audit_batch.c) on a real store in a
 * temporary directory.
 *   1. 8 threads x 200 ca_audit calls at once (thread 0 also sends one over-long event): every
 *      valid call succeeds, the refused one fails alone, the chain verifies, exactly 1,600
 *      records, each thread's records in its own call order, and fewer commits than records.
 *   2. Deterministic batch: a transaction of the test holds the write lock on the audit
 *      counter, so the first caller (the leader) blocks inside Berkeley DB while six more queue
 *      behind it, one of them with an event only ca_audit_append refuses (sent through
 *      ca_audit_submit, which skips ca_audit's early check). Released, the six go out in ONE
 *      batch: the bad one fails alone (the batch is retried without it), the others commit,
 *      and the whole thing costs at most three commits (the lock holder's, the leader's, the
 *      batch's) where one commit per record would take seven.
 *   3. A waiting caller whose record no leader takes gives up after wait_ms with an error and
 *      writes nothing; the blocked leader still completes.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ca/ca_int.h"
#include "tests/ca/secret_file.h"
#include "tests/tap.h"

#define THREADS 8
#define PER_THREAD 200
#define BAD_AT 100
#define WAIT_POLL_MS (60 * 1000)   /* bound of every poll; valgrind is slow */

static struct ca *ca;

struct worker {
	pthread_t tid;
	int id, n, ok, refused, other;
	const char *event;            /* phase 2/3: one call with this event */
	bool raw;                     /* through ca_audit_submit (no early check) */
	int ret;
	struct ca_error err;
};

static unsigned long
commits(void)
{
	DB_ENV *env = ca_store(ca)->env;
	DB_TXN_STAT *sp = NULL;
	unsigned long n = 0;

	if (env->txn_stat(env, &sp, 0) == 0) {
		n = (unsigned long)sp->st_ncommits;
		free(sp);
	}
	return n;
}

static void *
many(void *arg)
{
	struct worker *w = arg;
	struct ca_error err = { "" };
	char actor[16], fields[128];
	int i, r;

	snprintf(actor, sizeof(actor), "t%d", w->id);
	for (i = 0; i < w->n; i++) {
		if (w->id == 0 && i == BAD_AT) {
			r = ca_audit(ca, "an-event-name-far-longer-than-thirty-two", actor, "x=1",
			    &err);
			if (r == CA_INVALID)
				w->refused++;
			else
				w->other++;
		}
		snprintf(fields, sizeof(fields), "seq=%d pad=%0*d", i, 20 + i % 50, i);
		r = ca_audit(ca, "sign", actor, fields, &err);
		if (r == CA_OK)
			w->ok++;
		else
			w->other++;
	}
	return NULL;
}

static void *
one(void *arg)
{
	struct worker *w = arg;
	char actor[16];

	snprintf(actor, sizeof(actor), "b%d", w->id);
	memset(&w->err, 0, sizeof(w->err));
	w->ret = w->raw ? ca_audit_submit(ca, w->event, actor, "y=2") :
	    ca_audit(ca, w->event, actor, "y=2", &w->err);
	return NULL;
}

/* Per-thread order of phase 1, and which phase 2/3 records exist. */
struct scan {
	int next[THREADS];
	int bad_order, foreign;
	int b_seen[16];
};

static int
scan_cb(const struct ca_audit_record *rec, void *arg)
{
	struct scan *s = arg;
	int t, seq;

	if (sscanf(rec->actor, "t%d", &t) == 1 && t >= 0 && t < THREADS) {
		if (strcmp(rec->event, "sign") != 0 || sscanf(rec->fields, "seq=%d", &seq) != 1 ||
		    seq != s->next[t])
			s->bad_order++;
		s->next[t] = seq + 1;
	} else if (sscanf(rec->actor, "b%d", &t) == 1 && t >= 0 && t < 16) {
		s->b_seen[t]++;
	} else {
		s->foreign++;
	}
	return 0;
}

static unsigned
queued(bool *writing)
{
	unsigned n;

	pthread_mutex_lock(&ca->audit_q.lock);
	n = ca->audit_q.queued;
	*writing = ca->audit_q.writing;
	pthread_mutex_unlock(&ca->audit_q.lock);
	return n;
}

/* Poll (bounded) until a leader is writing and `want` records wait behind it. */
static bool
wait_queued(unsigned want)
{
	struct timespec ms = { 0, 1000000L };
	bool writing = false;
	int i;

	for (i = 0; i < WAIT_POLL_MS; i++) {
		if (queued(&writing) == want && writing)
			return true;
		nanosleep(&ms, NULL);
	}
	return false;
}

/* Hold the write lock on the audit counter in a transaction of our own. */
static DB_TXN *
block_writers(void)
{
	DB_TXN *txn = NULL;
	uint64_t v;

	if (store_txn_begin(ca_store(ca), &txn) != 0)
		return NULL;
	if (ca_meta_get_u64(ca, txn, "audit_count", &v, DB_RMW) != 0) {
		store_txn_abort(txn);
		return NULL;
	}
	return txn;
}

static uint64_t
verified_count(struct ca_error *err)
{
	uint64_t n = 0;

	return ca_audit_verify(ca, &n, err) == CA_OK ? n : (uint64_t)-1;
}

static void
phase_concurrent(void)
{
	struct worker w[THREADS];
	struct ca_error err = { "" };
	struct scan s;
	unsigned long c0, c;
	int i, ok = 0, other = 0, refused = 0, started = 0, order_ok = 1;

	c0 = commits();
	memset(w, 0, sizeof(w));
	for (i = 0; i < THREADS; i++) {
		w[i].id = i;
		w[i].n = PER_THREAD;
		if (pthread_create(&w[i].tid, NULL, many, &w[i]) == 0)
			started++;
	}
	tap_ok(started == THREADS, "%d threads started", started);
	for (i = 0; i < started; i++) {
		pthread_join(w[i].tid, NULL);
		ok += w[i].ok;
		other += w[i].other;
		refused += w[i].refused;
	}
	c = commits() - c0;
	tap_ok(ok == THREADS * PER_THREAD && other == 0, "every valid call succeeded (%d ok, %d "
	    "failed)", ok, other);
	tap_ok(refused == 1, "the over-long event among them was refused alone");
	tap_ok(verified_count(&err) == THREADS * PER_THREAD, "chain verifies with exactly %d "
	    "records (%s)", THREADS * PER_THREAD, err.text);
	memset(&s, 0, sizeof(s));
	tap_ok(ca_audit_foreach(ca, scan_cb, &s, &err) == CA_OK, "audit log walks");
	for (i = 0; i < THREADS; i++)
		if (s.next[i] != PER_THREAD)
			order_ok = 0;
	tap_ok(s.bad_order == 0 && order_ok && s.foreign == 0, "each thread's records are in its "
	    "call order (%d out of order, %d foreign)", s.bad_order, s.foreign);
	tap_diag("%d records: %lu commits, %lu batches", ok, c, ca->audit_q.batches);
	tap_ok(c < THREADS * PER_THREAD * 3 / 4, "batched: %lu commits for %d records", c, ok);
}

static void
phase_one_batch(void)
{
	struct worker lead, w[6];
	struct ca_error err = { "" };
	struct scan s;
	DB_TXN *blk;
	unsigned long c0, b0, c, b;
	int i, started = 0, valid_ok = 0;

	memset(&lead, 0, sizeof(lead));
	memset(w, 0, sizeof(w));
	b0 = ca->audit_q.batches;
	c0 = commits();
	if ((blk = block_writers()) == NULL) {
		tap_ok(false, "hold the audit counter lock");
		return;
	}
	lead.id = 0;
	lead.event = "sign";
	pthread_create(&lead.tid, NULL, one, &lead);
	tap_ok(wait_queued(0), "the first caller leads and blocks inside the store");
	for (i = 0; i < 6; i++) {
		w[i].id = i + 1;
		w[i].event = i == 3 ? "Not An Event!" : "sign";
		w[i].raw = i == 3;
		if (pthread_create(&w[i].tid, NULL, one, &w[i]) == 0)
			started++;
	}
	tap_ok(started == 6 && wait_queued(6), "six callers wait behind it");
	store_txn_commit(blk);
	pthread_join(lead.tid, NULL);
	for (i = 0; i < started; i++) {
		pthread_join(w[i].tid, NULL);
		if (i != 3 && w[i].ret == CA_OK)
			valid_ok++;
	}
	c = commits() - c0;
	b = ca->audit_q.batches - b0;
	tap_ok(lead.ret == CA_OK, "the leader's record committed");
	tap_ok(valid_ok == 5, "the five valid queued records committed (%d)", valid_ok);
	tap_ok(w[3].ret == CA_INVALID, "the refused record failed alone (ret %d)", w[3].ret);
	tap_ok(b == 2, "two batches: the leader's and the six queued (%lu)", b);
	tap_ok(c <= 3, "at most three commits for the lock holder and seven records (%lu)", c);
	memset(&s, 0, sizeof(s));
	ca_audit_foreach(ca, scan_cb, &s, &err);
	tap_ok(s.b_seen[0] == 1 && s.b_seen[1] == 1 && s.b_seen[2] == 1 && s.b_seen[3] == 1 &&
	    s.b_seen[4] == 0 && s.b_seen[5] == 1 && s.b_seen[6] == 1, "exactly the six good "
	    "records are in the log");
	tap_ok(verified_count(&err) == THREADS * PER_THREAD + 6, "chain verifies (%s)", err.text);
}

static void
phase_timeout(void)
{
	struct worker lead, late;
	struct ca_error err = { "" };
	struct scan s;
	DB_TXN *blk;

	memset(&lead, 0, sizeof(lead));
	memset(&late, 0, sizeof(late));
	pthread_mutex_lock(&ca->audit_q.lock);
	ca->audit_q.wait_ms = 300;
	pthread_mutex_unlock(&ca->audit_q.lock);
	if ((blk = block_writers()) == NULL) {
		tap_ok(false, "hold the audit counter lock");
		return;
	}
	lead.id = 10;
	lead.event = "sign";
	pthread_create(&lead.tid, NULL, one, &lead);
	tap_ok(wait_queued(0), "a leader blocks inside the store");
	late.id = 11;
	late.event = "sign";
	pthread_create(&late.tid, NULL, one, &late);
	pthread_join(late.tid, NULL);   /* returns by itself: the lock is still held */
	tap_ok(late.ret == CA_ERR && strstr(late.err.text, "timed out") != NULL, "a record no "
	    "leader takes gives up with an error (%s)", late.err.text);
	store_txn_commit(blk);
	pthread_join(lead.tid, NULL);
	tap_ok(lead.ret == CA_OK, "the blocked leader completes");
	memset(&s, 0, sizeof(s));
	ca_audit_foreach(ca, scan_cb, &s, &err);
	tap_ok(s.b_seen[10] == 1 && s.b_seen[11] == 0, "the given-up record was not written");
	tap_ok(verified_count(&err) == THREADS * PER_THREAD + 7, "chain verifies (%s)", err.text);
}

int
main(void)
{
	char dir[] = "/tmp/test-audit-XXXXXX", kek[96], store[96], cmd[160];
	struct ca_params p;
	struct ca_error err = { "" };

	if (mkdtemp(dir) == NULL)
		tap_skip_all("cannot make a temporary directory");
	snprintf(kek, sizeof(kek), "%s/kek", dir);
	snprintf(store, sizeof(store), "%s/store", dir);
	write_secret(kek, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
	memset(&p, 0, sizeof(p));
	p.store_dir = store;
	p.kek_file = kek;
	p.base_url = "http://ca.example.org/pub";
	p.organization_name = "Example Org";
	p.organization_country = "GB";
	if (ca_open(&p, &ca, &err) != CA_OK) {
		tap_ok(false, "open the CA store: %s", err.text);
	} else {
		phase_concurrent();
		phase_one_batch();
		phase_timeout();
		ca_close(ca);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		tap_diag("cannot remove %s", dir);
	return tap_done();
}
