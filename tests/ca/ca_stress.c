/*
 * ca_stress: a helper for the crash, concurrency and tamper tests (not a test itself).
 *   ca_stress issue DIR COUNT THREADS TAG  issue COUNT certificates per thread (P-256)
 *   ca_stress audit DIR COUNT THREADS TAG  COUNT ca_audit calls per thread (group commit)
 *   ca_stress check DIR [EXPECT]           every indexed certificate has its key and exactly
 *                                          one audit record; the audit chain verifies;
 *                                          prints "certs=N"; with EXPECT the count must match
 *   ca_stress tamper DIR edit|remove|reorder|remove-last|append [N]  change audit.db as an
 *                                 intruder would (at record N, 2 by default; reorder swaps N
 *                                 and N+1; append adds a copy of record N after the last one,
 *                                 leaving the head and count in meta as they were)
 *   ca_stress tamper DIR rewrite  edit record 2 and re-chain every later record and the head
 *       in meta.db, as someone holding the store would: the chain verifies afterwards
 * DIR holds kek, pass and store (set up by `autosmimectl ca init`). With the issuing CA key in
 * a PKCS#11 token, CA_STRESS_PKCS11_MODULE and CA_STRESS_PKCS11_PIN_FILE name its module and PIN.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "ca/ca_int.h"

static struct ca *ca;
static int count;
static const char *tag;
static int failures;

static void *
issuer_thread(void *arg)
{
	long t = (long)arg;
	struct ca_issue_request req;
	struct ca_issued is;
	struct ca_error err;
	char mb[128];
	int i;

	for (i = 0; i < count; i++) {
		memset(&req, 0, sizeof(req));
		snprintf(mb, sizeof(mb), "%s.t%ld.n%d@example.org", tag, t, i % 7);
		req.mailbox = mb;
		req.actor = "stress";
		if (ca_issue(ca, &req, &is, &err) != CA_OK) {
			fprintf(stderr, "issue: %s\n", err.text);
			__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
			continue;
		}
		printf("issued %s\n", is.serial_hex);
		fflush(stdout);
		ca_issued_free(&is);
	}
	return NULL;
}

static void *
audit_thread(void *arg)
{
	long t = (long)arg;
	struct ca_error err;
	char actor[96], fields[64];
	int i;

	snprintf(actor, sizeof(actor), "%s.t%ld", tag, t);
	for (i = 0; i < count; i++) {
		snprintf(fields, sizeof(fields), "seq=%d", i);
		if (ca_audit(ca, "stress", actor, fields, &err) != CA_OK) {
			fprintf(stderr, "audit: %s\n", err.text);
			__atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

struct audit_count {
	char serial[41];
	int hits;
	int issues;
};

static int
audit_cb(const struct ca_audit_record *rec, void *arg)
{
	struct audit_count *a = arg;
	char want[64];

	if (strcmp(rec->event, "issue") != 0)
		return 0;
	a->issues++;
	snprintf(want, sizeof(want), "serial=%s ", a->serial);
	if (strncmp(rec->fields, want, strlen(want)) == 0)
		a->hits++;
	return 0;
}

static int
check_cb(const struct ca_cert_info *info, void *arg)
{
	int *bad = arg;
	struct audit_count a;
	struct ca_error err;
	DBT k, d;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)info->serial_hex;
	k.size = (u_int32_t)strlen(info->serial_hex);
	d.flags = DB_DBT_MALLOC;
	if (ca->keys->get(ca->keys, NULL, &k, &d, 0) != 0) {
		fprintf(stderr, "certificate %s has no key\n", info->serial_hex);
		(*bad)++;
	}
	free(d.data);
	memset(&a, 0, sizeof(a));
	memcpy(a.serial, info->serial_hex, sizeof(a.serial));
	ca_audit_foreach(ca, audit_cb, &a, &err);
	if (a.hits != 1) {
		fprintf(stderr, "certificate %s has %d audit records\n", info->serial_hex, a.hits);
		(*bad)++;
	}
	(*(bad + 1))++;
	return 0;
}

/*
 * A consistent rewrite: the first letter of record 2's actor changes (to 'M'), then every later record's prev field (the last 64 hex
 * digits) is replaced by the hash of the rewritten record before it, and the head is updated.
 */
static int
rewrite(void)
{
	DB_TXN *txn = NULL;
	DBC *cur = NULL;
	DBT k, d;
	db_recno_t recno;
	unsigned char md[32];
	char prev[65] = "";
	int ret;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = &recno;
	k.ulen = sizeof(recno);
	k.flags = DB_DBT_USERMEM;
	d.flags = DB_DBT_REALLOC;
	if (store_txn_begin(ca->st, &txn) != 0 || ca->audit->cursor(ca->audit, txn, &cur, 0) != 0)
		return 1;
	while ((ret = cur->get(cur, &k, &d, DB_NEXT)) == 0) {
		char *rec = d.data, *tab;

		if (recno == 2) {
			/* the fourth field is the actor: "1 TAB time TAB event TAB actor ..." */
			tab = rec;
			for (int i = 0; i < 3 && tab != NULL; i++) {
				tab = memchr(tab, '\t', d.size - (size_t)(tab - rec));
				if (tab != NULL)
					tab++;
			}
			if (tab == NULL)
				break;
			*tab = *tab == 'M' ? 'N' : 'M';
		}
		if (recno > 2 && d.size > 64)
			memcpy(rec + d.size - 64, prev, 64);
		if (recno >= 2 && (ret = cur->put(cur, &k, &d, DB_CURRENT)) != 0)
			break;
		SHA256(d.data, d.size, md);
		ca_hex(md, sizeof(md), prev);
	}
	cur->close(cur);
	free(d.data);
	if ((ret != 0 && ret != DB_NOTFOUND) || ca_meta_put_str(ca, txn, "audit_head", prev) != 0) {
		store_txn_abort(txn);
		return 1;
	}
	return store_txn_commit(txn) != 0;
}

static int
tamper(const char *how, db_recno_t at)
{
	DB_TXN *txn = NULL;
	DBT k, d, d2;
	db_recno_t r1 = at, r2 = at + 1;
	char *copy;
	int ret;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	memset(&d2, 0, sizeof(d2));
	k.data = &r1;
	k.size = sizeof(r1);
	d.flags = DB_DBT_MALLOC;
	d2.flags = DB_DBT_MALLOC;
	if (store_txn_begin(ca->st, &txn) != 0 || ca->audit->get(ca->audit, txn, &k, &d, 0) != 0)
		return 1;
	if (strcmp(how, "edit") == 0) {
		copy = d.data;
		copy[d.size > 20 ? 20 : 0] ^= 1; /* one bit of the record */
		ret = ca->audit->put(ca->audit, txn, &k, &d, 0);
	} else if (strcmp(how, "remove") == 0) {
		ret = ca->audit->del(ca->audit, txn, &k, 0);
	} else if (strcmp(how, "append") == 0) {
		db_recno_t last = 0;

		k.data = &last;
		k.size = sizeof(last);
		k.ulen = sizeof(last);
		k.flags = DB_DBT_USERMEM;
		ret = ca->audit->put(ca->audit, txn, &k, &d, DB_APPEND);
	} else if (strcmp(how, "remove-last") == 0) {
		DBC *cur = NULL;

		if ((ret = ca->audit->cursor(ca->audit, txn, &cur, 0)) == 0) {
			free(d2.data);
			d2.data = NULL;
			if ((ret = cur->get(cur, &k, &d2, DB_LAST)) == 0)
				ret = cur->del(cur, 0);
			cur->close(cur);
		}
	} else {
		k.data = &r2;
		if ((ret = ca->audit->get(ca->audit, txn, &k, &d2, 0)) == 0 &&
		    (ret = ca->audit->put(ca->audit, txn, &k, &d, 0)) == 0) {
			k.data = &r1;
			ret = ca->audit->put(ca->audit, txn, &k, &d2, 0);
		}
	}
	free(d.data);
	free(d2.data);
	if (ret != 0) {
		store_txn_abort(txn);
		return 1;
	}
	return store_txn_commit(txn) != 0;
}

int
main(int argc, char **argv)
{
	char kek[512], pass[512], store[512];
	struct ca_params p;
	struct ca_error err = { "" };
	pthread_t th[64];
	long t, threads;
	int r, stats[2] = { 0, 0 };
	uint64_t n;

	if (argc < 3) {
		fprintf(stderr, "usage: ca_stress issue|audit|check|tamper DIR ...\n");
		return 2;
	}
	snprintf(kek, sizeof(kek), "%s/kek", argv[2]);
	snprintf(pass, sizeof(pass), "%s/pass", argv[2]);
	snprintf(store, sizeof(store), "%s/store", argv[2]);
	memset(&p, 0, sizeof(p));
	p.store_dir = store;
	p.kek_file = kek;
	p.ca_passphrase_file = pass;
	p.base_url = "http://ca.example.org/pub";
	p.organization_name = "Example Org";
	p.organization_country = "GB";
	p.pkcs11_module = getenv("CA_STRESS_PKCS11_MODULE");
	p.pkcs11_pin_file = getenv("CA_STRESS_PKCS11_PIN_FILE");
	if (ca_open(&p, &ca, &err) != CA_OK) {
		fprintf(stderr, "ca_open: %s\n", err.text);
		return 1;
	}
	r = 0;
	if ((strcmp(argv[1], "issue") == 0 || strcmp(argv[1], "audit") == 0) && argc == 6) {
		count = atoi(argv[3]);
		threads = atol(argv[4]);
		tag = argv[5];
		if (threads < 1 || threads > 64)
			threads = 1;
		for (t = 0; t < threads; t++)
			pthread_create(&th[t], NULL, argv[1][0] == 'i' ? issuer_thread : audit_thread,
			    (void *)t);
		for (t = 0; t < threads; t++)
			pthread_join(th[t], NULL);
		r = failures != 0;
	} else if (strcmp(argv[1], "check") == 0) {
		if (ca_cert_foreach(ca, NULL, check_cb, stats, &err) != CA_OK) {
			fprintf(stderr, "list: %s\n", err.text);
			r = 1;
		}
		if (ca_audit_verify(ca, &n, &err) != CA_OK) {
			fprintf(stderr, "audit: %s\n", err.text);
			r = 1;
		}
		printf("certs=%d bad=%d\n", stats[1], stats[0]);
		if (stats[0] != 0 || (argc == 4 && stats[1] != atoi(argv[3])))
			r = 1;
	} else if (strcmp(argv[1], "tamper") == 0 && argc == 4 && strcmp(argv[3], "rewrite") == 0) {
		r = rewrite();
	} else if (strcmp(argv[1], "tamper") == 0 && (argc == 4 || argc == 5)) {
		r = tamper(argv[3], argc == 5 ? (db_recno_t)strtoul(argv[4], NULL, 10) : 2);
	} else
		r = 2;
	ca_close(ca);
	return r;
}
