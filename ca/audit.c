/*
 * audit: the append-only, hash-chained audit log (audit.db, a RECNO database).
 *
 * A record is one line of text: "1 TAB time TAB event TAB actor TAB fields TAB prev", where prev
 * is the hex SHA-256 of the whole previous record (64 zeros for the first). meta.db holds the
 * hash of the last record and the record count, updated in the same transaction, so removing
 * the newest records is detected too. Owns audit.db and the meta words audit_head/audit_count.
 * ca_audit itself (group commit of concurrent callers) is in audit_batch.c; signed checkpoints
 * of the head are in audit_checkpoint.c.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "ca/ca_int.h"

#define AUDIT_MAX 4096
#define AUDIT_FIELD_MAX 2048
#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/*
 * SHA-256 with the algorithm fetched once per process: SHA256() fetches it from the provider
 * on every call, a visible cost when every signed message appends a record.
 */
static EVP_MD *audit_md;
static CRYPTO_ONCE audit_md_once = CRYPTO_ONCE_STATIC_INIT;

static void
audit_md_fetch(void)
{
	audit_md = EVP_MD_fetch(NULL, "SHA256", NULL);	/* kept for the life of the process */
}

static void
audit_sha256(const void *p, size_t n, unsigned char md[SHA256_DIGEST_LENGTH])
{
	if (CRYPTO_THREAD_run_once(&audit_md_once, audit_md_fetch) && audit_md != NULL &&
	    EVP_Digest(p, n, md, NULL, audit_md, NULL) == 1)
		return;
	SHA256(p, n, md);
}

/* Copy a value, turning tabs, line breaks and other control bytes into spaces. */
static void
audit_clean(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; src != NULL && src[i] != '\0' && i + 1 < cap; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? ' ' : src[i];
	dst[i] = '\0';
}

bool
ca_audit_event_ok(const char *e)
{
	size_t i;

	if (e == NULL || e[0] == '\0' || strlen(e) > 32)
		return false;
	for (i = 0; e[i] != '\0'; i++)
		if (!islower((unsigned char)e[i]) && !isdigit((unsigned char)e[i]) && e[i] != '-' &&
		    e[i] != '_')
			return false;
	return true;
}

int
ca_audit_append(struct ca *ca, DB_TXN *txn, const char *event, const char *actor,
    const char *fields)
{
	char head[72], actor_c[128], *fields_c = NULL, *rec = NULL;
	unsigned char md[SHA256_DIGEST_LENGTH];
	uint64_t count;
	db_recno_t recno = 0;
	DBT k, d;
	int n, ret = CA_ERR;

	if (!ca_audit_event_ok(event))
		return CA_INVALID;
	if ((fields_c = malloc(AUDIT_FIELD_MAX)) == NULL || (rec = malloc(AUDIT_MAX)) == NULL)
		goto out;
	/* RMW: appenders queue here, so the chain has one order. */
	if ((ret = ca_meta_get_str(ca, txn, "audit_head", head, sizeof(head))) != 0 &&
	    ret != DB_NOTFOUND)
		goto out;
	if (ret == DB_NOTFOUND || head[0] == '\0')
		snprintf(head, sizeof(head), "%s", ZERO_HASH);
	if ((ret = ca_meta_get_u64(ca, txn, "audit_count", &count, DB_RMW)) != 0)
		goto out;
	audit_clean(actor_c, sizeof(actor_c), actor != NULL ? actor : "-");
	audit_clean(fields_c, AUDIT_FIELD_MAX, fields != NULL ? fields : "");
	n = snprintf(rec, AUDIT_MAX, "1\t%lld\t%s\t%s\t%s\t%s", (long long)ca_now(ca), event,
	    actor_c, fields_c, head);
	if (n < 0 || n >= AUDIT_MAX) {
		ret = CA_INVALID;
		goto out;
	}
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = &recno;
	k.ulen = sizeof(recno);
	k.flags = DB_DBT_USERMEM;
	d.data = rec;
	d.size = (u_int32_t)n;
	if ((ret = ca->audit->put(ca->audit, txn, &k, &d, DB_APPEND)) != 0)
		goto out;
	audit_sha256(rec, (size_t)n, md);
	ca_hex(md, sizeof(md), head);
	if ((ret = ca_meta_put_str(ca, txn, "audit_head", head)) != 0)
		goto out;
	ret = ca_meta_put_u64(ca, txn, "audit_count", count + 1);
out:
	free(fields_c);
	free(rec);
	return ret;
}

/* Split a record in place into its six fields. */
static int
audit_parse(char *rec, struct ca_audit_record *out)
{
	char *f[6], *p = rec;
	int i;

	for (i = 0; i < 6; i++) {
		f[i] = p;
		p = strchr(p, '\t');
		if (i < 5) {
			if (p == NULL)
				return -1;
			*p++ = '\0';
		}
	}
	if (strcmp(f[0], "1") != 0 || strlen(f[5]) != 64)
		return -1;
	out->time = (time_t)strtoll(f[1], NULL, 10);
	out->event = f[2];
	out->actor = f[3];
	out->fields = f[4];
	out->prev_hash = f[5];
	return 0;
}

/*
 * Where a walk starts: record 1 (after = 0), or the record after `after`, whose hash must be
 * `head` (a checkpoint's). A walk from a checkpoint costs what was appended since.
 */
struct audit_from {
	uint64_t after;
	const char *head;
};

/* Position the cursor on record from->after and check it hashes to from->head. */
static int
audit_seek(DBC *cur, const struct audit_from *from, DBT *k, DBT *d, char prev[72],
    struct ca_error *err)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	db_recno_t recno = (db_recno_t)from->after;
	int ret;

	if (from->after > UINT32_MAX) {
		ca_seterr(err, "audit record %llu is out of range", (unsigned long long)from->after);
		return CA_MISMATCH;
	}
	*(db_recno_t *)k->data = recno;
	k->size = sizeof(recno);
	if ((ret = cur->get(cur, k, d, DB_SET)) == DB_NOTFOUND || ret == DB_KEYEMPTY || (ret == 0 &&
	    *(db_recno_t *)k->data != recno)) {
		ca_seterr(err, "the log no longer holds record %llu", (unsigned long long)recno);
		return CA_MISMATCH;
	}
	if (ret != 0)
		return ca_db_result(ret, err, "audit");
	audit_sha256(d->data, d->size, md);
	ca_hex(md, sizeof(md), prev);
	if (strcmp(prev, from->head) != 0) {
		ca_seterr(err, "record %llu does not hash to the checkpoint's head: the log was "
		    "rewritten at or before it", (unsigned long long)recno);
		return CA_MISMATCH;
	}
	return CA_OK;
}

/* The head and count in meta, as one commit left them (a short transaction of its own). */
static int
audit_meta_read(struct ca *ca, char head[72], uint64_t *count, struct ca_error *err)
{
	DB_TXN *txn = NULL;
	int ret;

	head[0] = '\0';
	if ((ret = store_txn_begin(ca->st, &txn)) != 0)
		return ca_db_result(ret, err, "audit");
	if (((ret = ca_meta_get_str(ca, txn, "audit_head", head, 72)) != 0 && ret != DB_NOTFOUND) ||
	    (ret = ca_meta_get_u64(ca, txn, "audit_count", count, 0)) != 0) {
		store_txn_abort(txn);
		return ca_db_result(ret, err, "audit");
	}
	if ((ret = store_txn_commit(txn)) != 0)
		return ca_db_result(ret, err, "audit");
	if (head[0] == '\0')
		snprintf(head, 72, "%s", ZERO_HASH);
	return CA_OK;
}

/*
 * A record past the head we verified up to: a commit since (meta read again counts it) or
 * one written around ca_audit_append, which is what a forged tail looks like. The cursor is
 * closed first: its page lock could hold up the writer whose meta update the read waits for.
 */
static int
audit_tail_check(struct ca *ca, DBC **cur, DBT *k, DBT *d, uint64_t n, struct ca_error *err)
{
	char head[72];
	uint64_t now = 0;
	int ret = (*cur)->get(*cur, k, d, DB_NEXT), r;

	(*cur)->close(*cur);
	*cur = NULL;
	if (ret == DB_NOTFOUND)
		return CA_OK;
	if (ret != 0)
		return ca_db_result(ret, err, "audit");
	if ((r = audit_meta_read(ca, head, &now, err)) != CA_OK)
		return r;
	if (now > n)
		return CA_OK;
	ca_seterr(err, "audit log holds records after record %llu, the last one written",
	    (unsigned long long)n);
	return CA_INVALID;
}

/*
 * Walk the log. With verify, check the chain and the record numbers up to the head and count
 * that meta held when the walk began (records appended meanwhile are left for the next
 * verify), then that nothing but such records follows; `bad` gets the first record that
 * fails (0 when the tail is what is wrong). The cursor reads committed data only and keeps
 * no lock behind it: a walk over ten million records must not fill the lock table, and the
 * log is append-only, so what it has passed cannot change under it.
 */
static int
audit_walk(struct ca *ca, ca_audit_cb cb, void *arg, bool verify, const struct audit_from *from,
    uint64_t *count, uint64_t *bad, struct ca_error *err)
{
	DB_TXN *txn = NULL;
	DBC *cur = NULL;
	DBT k, d;
	db_recno_t recno;
	char prev[72], head[72], *copy = NULL;
	unsigned char md[SHA256_DIGEST_LENGTH];
	struct ca_audit_record rec;
	uint64_t n = 0, meta_count = 0;
	int ret, r = CA_ERR;

	snprintf(prev, sizeof(prev), "%s", ZERO_HASH);
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	if (verify && (r = audit_meta_read(ca, head, &meta_count, err)) != CA_OK)
		return r;
	r = CA_ERR;
	if ((ret = store_txn_begin(ca->st, &txn)) != 0 ||
	    (ret = ca->audit->cursor(ca->audit, txn, &cur, DB_READ_COMMITTED)) != 0) {
		r = ca_db_result(ret, err, "audit");
		goto out;
	}
	k.data = &recno;
	k.ulen = sizeof(recno);
	k.flags = DB_DBT_USERMEM;
	d.flags = DB_DBT_REALLOC;
	if (from != NULL && from->after > 0) {
		if ((r = audit_seek(cur, from, &k, &d, prev, err)) != CA_OK)
			goto out;
		r = CA_ERR;
		n = from->after;
	}
	while ((!verify || n < meta_count) && (ret = cur->get(cur, &k, &d, DB_NEXT)) == 0) {
		n++;
		if (d.size > AUDIT_MAX) {
			*bad = n;
			ca_seterr(err, "audit record %llu is oversized", (unsigned long long)n);
			r = CA_INVALID;
			goto out;
		}
		free(copy);
		if ((copy = malloc(d.size + 1)) == NULL)
			goto out;
		memcpy(copy, d.data, d.size);
		copy[d.size] = '\0';
		if (verify && (recno != n || audit_parse(copy, &rec) < 0 ||
		    strcmp(rec.prev_hash, prev) != 0)) {
			*bad = n;
			ca_seterr(err, "audit chain broken at record %llu", (unsigned long long)n);
			r = CA_INVALID;
			goto out;
		}
		audit_sha256(d.data, d.size, md);
		ca_hex(md, sizeof(md), prev);
		if (!verify) {
			if (audit_parse(copy, &rec) < 0)
				continue;
			rec.recno = recno;
			if (cb != NULL && cb(&rec, arg) != 0)
				break;
		}
	}
	if (ret != 0 && ret != DB_NOTFOUND) {
		r = ca_db_result(ret, err, "audit");
		goto out;
	}
	if (verify) {
		if (strcmp(head, prev) != 0 || meta_count != n) {
			*bad = 0;
			ca_seterr(err, "audit log ends at record %llu but %llu were written",
			    (unsigned long long)n, (unsigned long long)meta_count);
			r = CA_INVALID;
			goto out;
		}
		if ((r = audit_tail_check(ca, &cur, &k, &d, n, err)) != CA_OK) {
			*bad = 0;
			goto out;
		}
	}
	*count = n;
	r = CA_OK;
out:
	free(copy);
	free(d.data);
	if (cur != NULL)
		cur->close(cur);
	if (txn != NULL)
		store_txn_commit(txn);
	return r;
}

int
ca_audit_foreach(struct ca *ca, ca_audit_cb cb, void *arg, struct ca_error *err)
{
	uint64_t n, bad;

	return audit_walk(ca, cb, arg, false, NULL, &n, &bad, err);
}

int
ca_audit_verify(struct ca *ca, uint64_t *count, struct ca_error *err)
{
	uint64_t bad = 0, n = 0;
	int r = audit_walk(ca, NULL, NULL, true, NULL, &n, &bad, err);

	if (count != NULL)
		*count = n;
	return r;
}

int
ca_audit_verify_from(struct ca *ca, uint64_t after, const char *head, uint64_t *count,
    struct ca_error *err)
{
	struct audit_from from = { after, head };
	uint64_t bad = 0, n = 0;
	int r = audit_walk(ca, NULL, NULL, true, &from, &n, &bad, err);

	if (count != NULL)
		*count = n;
	return r;
}

int
ca_audit_hash_at(struct ca *ca, uint64_t n, char hex[65], struct ca_error *err)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	db_recno_t recno = (db_recno_t)n;
	DBT k, d;
	int ret;

	if (n == 0) {
		snprintf(hex, 65, "%s", ZERO_HASH);
		return CA_OK;
	}
	if (n > UINT32_MAX) {
		ca_seterr(err, "audit record %llu is out of range", (unsigned long long)n);
		return CA_INVALID;
	}
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = &recno;
	k.size = sizeof(recno);
	d.flags = DB_DBT_MALLOC;
	if ((ret = ca->audit->get(ca->audit, NULL, &k, &d, 0)) != 0)
		return ca_db_result(ret, err, "audit");
	audit_sha256(d.data, d.size, md);
	free(d.data);
	ca_hex(md, sizeof(md), hex);
	return CA_OK;
}
