/*
 * audit_batch: ca_audit with group commit. Owns the in-process queue of audit records waiting
 * to be written (struct ca_audit_queue inside struct ca) and nothing on disk (audit.c owns the
 * log and its chain).
 *
 * A durable commit costs a log flush; one per record made the audit log the largest cost of a
 * signed message, and concurrent callers could not share a flush because each appender holds
 * the write lock on audit_count until its commit. So callers of one process share commits,
 * leader/follower style, without a thread of our own:
 *   - a caller puts its record (on its own stack) at the tail of the queue and waits;
 *   - when no batch is being written, a waiting caller becomes the leader: it takes up to
 *     AUDIT_BATCH_MAX records from the head, appends them in queue order in ONE transaction
 *     (so the hash chain has one order), commits once, gives every record its result and
 *     wakes its owner, then wakes the new head of the queue to lead the next batch;
 *   - ca_audit returns CA_OK only when the commit that holds its record succeeded (the same
 *     durability as before: a synchronous commit of the store).
 * A record refused by ca_audit_append (CA_INVALID) fails alone: the batch is retried without
 * it. A transaction failure fails every record of the batch with that error. Deadlock retry is
 * store_txn_run's. Other processes still serialise with us through Berkeley DB locks.
 * A caller whose record has not been taken by a leader within q->wait_ms gives up (CA_ERR,
 * nothing written); once taken, the leader always finishes the batch and signals.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "ca/ca_int.h"

#define AUDIT_BATCH_MAX 64
#define AUDIT_WAIT_MS (60 * 1000)

enum audit_req_state { REQ_QUEUED, REQ_TAKEN, REQ_DONE };

/* One ca_audit call. Lifetime: the stack frame of that call; the queue only borrows it. */
struct ca_audit_req {
	const char *event, *actor, *fields;
	struct ca_audit_req *next;
	pthread_cond_t cond;          /* signalled when done, or when it may lead */
	enum audit_req_state state;
	bool refused;                 /* ca_audit_append said CA_INVALID: leave it out */
	int ret;                      /* 0, CA_INVALID, CA_ERR or a Berkeley DB error */
};

int
ca_audit_queue_init(struct ca_audit_queue *q)
{
	memset(q, 0, sizeof(*q));
	q->wait_ms = AUDIT_WAIT_MS;
	if (pthread_mutex_init(&q->lock, NULL) != 0)
		return -1;
	if (pthread_condattr_init(&q->cattr) != 0 ||
	    pthread_condattr_setclock(&q->cattr, CLOCK_MONOTONIC) != 0) {
		pthread_mutex_destroy(&q->lock);
		return -1;
	}
	q->ready = true;
	return 0;
}

void
ca_audit_queue_destroy(struct ca_audit_queue *q)
{
	if (!q->ready)
		return;
	pthread_condattr_destroy(&q->cattr);
	pthread_mutex_destroy(&q->lock);
	q->ready = false;
}

struct audit_batch {
	struct ca *ca;
	struct ca_audit_req **reqs;
	size_t n;
	size_t refused_at;            /* index of the record refused by this attempt, or n */
};

/* The unit of work: every record of the batch not yet refused, in queue order. */
static int
audit_batch_txn(DB_TXN *txn, void *arg)
{
	struct audit_batch *b = arg;
	size_t i;
	int ret;

	b->refused_at = b->n;
	for (i = 0; i < b->n; i++) {
		if (b->reqs[i]->refused)
			continue;
		ret = ca_audit_append(b->ca, txn, b->reqs[i]->event, b->reqs[i]->actor,
		    b->reqs[i]->fields);
		if (ret == CA_INVALID)
			b->refused_at = i;
		if (ret != 0)
			return ret;
	}
	return 0;
}

/* Write one batch (queue lock not held), set every result; true if it committed. */
static bool
audit_batch_write(struct ca *ca, struct ca_audit_req **reqs, size_t n)
{
	struct audit_batch b = { ca, reqs, n, n };
	size_t i, left = n, pass;
	int ret = 0;

	/* Each pass either commits or drops one refused record: at most n + 1 passes. */
	for (pass = 0; pass <= n && left > 0; pass++) {
		ret = store_txn_run(ca->st, audit_batch_txn, &b);
		if (ret != CA_INVALID || b.refused_at >= n)
			break;
		reqs[b.refused_at]->refused = true;
		reqs[b.refused_at]->ret = CA_INVALID;
		left--;
	}
	for (i = 0; i < n; i++)
		if (!reqs[i]->refused)
			reqs[i]->ret = ret;
	return left > 0 && ret == 0;
}

/* Called with q->lock held and no batch being written: lead one batch from the head. */
static void
audit_lead(struct ca *ca, struct ca_audit_queue *q, struct ca_audit_req *self)
{
	struct ca_audit_req *reqs[AUDIT_BATCH_MAX];
	size_t n = 0, i;
	bool committed;

	q->writing = true;
	while (q->head != NULL && n < AUDIT_BATCH_MAX) {
		reqs[n] = q->head;
		q->head = q->head->next;
		reqs[n]->next = NULL;
		reqs[n]->state = REQ_TAKEN;
		n++;
	}
	if (q->head == NULL)
		q->tail = NULL;
	q->queued -= (unsigned)n;
	pthread_mutex_unlock(&q->lock);
	committed = audit_batch_write(ca, reqs, n);
	pthread_mutex_lock(&q->lock);
	q->batches++;
	q->records += n;
	for (i = 0; i < n; i++) {
		reqs[i]->state = REQ_DONE;
		if (reqs[i] != self)
			pthread_cond_signal(&reqs[i]->cond);
	}
	q->writing = false;
	/* The owner of the new head leads next (it may be self, which just loops). */
	if (q->head != NULL && q->head != self)
		pthread_cond_signal(&q->head->cond);
	/* The occasional checkpoint, once per commit as before, but after the followers go. */
	if (committed) {
		pthread_mutex_unlock(&q->lock);
		ca_after_commit(ca);
		pthread_mutex_lock(&q->lock);
	}
}

/* Take a record that no leader has taken out of the queue (q->lock held). */
static void
audit_unlink(struct ca_audit_queue *q, struct ca_audit_req *r)
{
	struct ca_audit_req **pp, *prev = NULL;

	for (pp = &q->head; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (*pp != r)
			continue;
		*pp = r->next;
		if (q->tail == r)
			q->tail = prev;
		q->queued--;
		return;
	}
}

static void
deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int
ca_audit_submit(struct ca *ca, const char *event, const char *actor, const char *fields)
{
	struct ca_audit_queue *q = &ca->audit_q;
	struct ca_audit_req r;
	struct timespec deadline;
	int rc;

	memset(&r, 0, sizeof(r));
	r.event = event;
	r.actor = actor;
	r.fields = fields;
	r.state = REQ_QUEUED;
	r.ret = CA_ERR;
	if (pthread_cond_init(&r.cond, &q->cattr) != 0)
		return CA_ERR;
	pthread_mutex_lock(&q->lock);
	deadline_after(&deadline, q->wait_ms);
	if (q->tail != NULL)
		q->tail->next = &r;
	else
		q->head = &r;
	q->tail = &r;
	q->queued++;
	while (r.state != REQ_DONE) {
		if (!q->writing) {
			audit_lead(ca, q, &r);
			continue;
		}
		if (r.state == REQ_TAKEN) {
			/* Its leader signals when the batch is done, whatever the outcome. */
			pthread_cond_wait(&r.cond, &q->lock);
			continue;
		}
		rc = pthread_cond_timedwait(&r.cond, &q->lock, &deadline);
		/* Give up only while no leader holds the record; a taken one always completes. */
		if (rc == ETIMEDOUT && r.state == REQ_QUEUED && q->writing) {
			audit_unlink(q, &r);
			r.ret = DB_TIMEOUT;
			break;
		}
	}
	pthread_mutex_unlock(&q->lock);
	pthread_cond_destroy(&r.cond);
	return r.ret;
}

int
ca_audit(struct ca *ca, const char *event, const char *actor, const char *fields,
    struct ca_error *err)
{
	int ret;

	if (!ca_audit_event_ok(event)) {
		ca_seterr(err, "audit event must be a lower-case word of at most 32 characters");
		return CA_INVALID;
	}
	ret = ca_audit_submit(ca, event, actor, fields);
	if (ret == CA_INVALID)
		ca_seterr(err, "audit record too long");
	if (ret == DB_TIMEOUT) {
		ca_seterr(err, "audit: timed out waiting for the batch writer");
		return CA_ERR;
	}
	return ca_db_result(ret, err, "audit");
}
