/*
 * ca: opening and closing the CA (store environment, the CA's databases, the key-encryption
 * key), error texts, the meta database (generation counter and other words) and enum names.
 * Owns struct ca.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>

#include "ca/ca_int.h"
#include "ca/keypool.h"
#include "common/log.h"
#include "common/util.h"

void
ca_seterr(struct ca_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
}

/* The reason from the OpenSSL error queue (never holds secrets), then drain the queue. */
void
ca_seterr_ssl(struct ca_error *err, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[160];

	ERR_error_string_n(e, buf, sizeof(buf));
	ca_seterr(err, "%s%s%s", what, e != 0 ? ": " : "", e != 0 ? buf : "");
	ERR_clear_error();
}

time_t
ca_now(struct ca *ca)
{
	return ca->now != NULL ? ca->now() : time(NULL);
}

int
ca_db_result(int ret, struct ca_error *err, const char *what)
{
	if (ret == 0)
		return CA_OK;
	if (ret == DB_NOTFOUND) {
		ca_seterr(err, "%s: not found", what);
		return CA_NOTFOUND;
	}
	if (ret == CA_INVALID || ret == CA_NOTFOUND || ret == CA_ERR)
		return ret; /* err already filled by the unit of work */
	ca_seterr(err, "%s: store error: %s", what, store_strerror(ret));
	return CA_ERR;
}

void
ca_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* After each commit: checkpoint now and then so old log files go away (DB_LOG_AUTO_REMOVE). */
void
ca_after_commit(struct ca *ca)
{
	if ((__atomic_add_fetch(&ca->commits, 1, __ATOMIC_RELAXED) & 63) == 0)
		store_checkpoint(ca->st, 0);
}

int
ca_meta_get_u64(struct ca *ca, DB_TXN *txn, const char *key, uint64_t *out, u_int32_t flags)
{
	DBT k, d;
	uint64_t v = 0;
	int ret;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)key;
	k.size = (u_int32_t)strlen(key);
	d.data = &v;
	d.ulen = sizeof(v);
	d.flags = DB_DBT_USERMEM;
	ret = ca->meta->get(ca->meta, txn, &k, &d, flags);
	if (ret == DB_NOTFOUND) {
		*out = 0;
		return 0;
	}
	if (ret == 0 && d.size != sizeof(v))
		return DB_NOTFOUND;
	*out = v;
	return ret;
}

int
ca_meta_put_u64(struct ca *ca, DB_TXN *txn, const char *key, uint64_t v)
{
	DBT k, d;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)key;
	k.size = (u_int32_t)strlen(key);
	d.data = &v;
	d.size = sizeof(v);
	return ca->meta->put(ca->meta, txn, &k, &d, 0);
}

int
ca_meta_get_str(struct ca *ca, DB_TXN *txn, const char *key, char *buf, size_t cap)
{
	DBT k, d;
	int ret;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)key;
	k.size = (u_int32_t)strlen(key);
	d.data = buf;
	d.ulen = (u_int32_t)cap - 1;
	d.flags = DB_DBT_USERMEM;
	ret = ca->meta->get(ca->meta, txn, &k, &d, 0);
	buf[ret == 0 ? d.size : 0] = '\0';
	return ret;
}

int
ca_meta_put_str(struct ca *ca, DB_TXN *txn, const char *key, const char *v)
{
	DBT k, d;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)key;
	k.size = (u_int32_t)strlen(key);
	d.data = (void *)v;
	d.size = (u_int32_t)strlen(v);
	return ca->meta->put(ca->meta, txn, &k, &d, 0);
}

int
ca_bump_generation(struct ca *ca, DB_TXN *txn)
{
	uint64_t g;
	int ret;

	if ((ret = ca_meta_get_u64(ca, txn, "generation", &g, DB_RMW)) != 0)
		return ret;
	return ca_meta_put_u64(ca, txn, "generation", g + 1);
}

int
ca_generation_counter(struct ca *ca, uint64_t *out, struct ca_error *err)
{
	return ca_db_result(ca_meta_get_u64(ca, NULL, "generation", out, 0), err, "generation");
}

static char *
dup_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? strdup(s) : NULL;
}

int
ca_open(const struct ca_params *params, struct ca **out, struct ca_error *err)
{
	struct ca *ca = NULL;
	struct ca_error perr = { "" };
	char why[256];
	int r = CA_ERR;

	*out = NULL;
	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		ca_seterr(err, "out of memory");
		return CA_ERR;
	}
	pthread_mutex_init(&ca->lock, NULL);
	if (ca_audit_queue_init(&ca->audit_q) < 0) {
		ca_seterr(err, "cannot set up the audit queue");
		goto out;
	}
	ca->store_dir = dup_or_null(params->store_dir);
	ca->kek_file = dup_or_null(params->kek_file);
	ca->pass_file = dup_or_null(params->ca_passphrase_file);
	ca->base_url = dup_or_null(params->base_url);
	ca->crl_dir = dup_or_null(params->crl_dir);
	ca->org_name = dup_or_null(params->organization_name);
	ca->org_id = dup_or_null(params->organization_identifier);
	ca->org_country = dup_or_null(params->organization_country);
	ca->read_only = params->read_only;
	ca->now = params->now;
	if (ca->store_dir == NULL) {
		ca_seterr(err, "store_dir is not set");
		goto out;
	}
	if (store_open(ca->store_dir, &ca->st, why, sizeof(why)) < 0) {
		ca_seterr(err, "%s", why);
		goto out;
	}
	if (store_db_open(ca->st, "certs.db", DB_BTREE, 0, &ca->certs, why, sizeof(why)) < 0 ||
	    store_db_open(ca->st, "certs_mbox.db", DB_BTREE, DB_DUP | DB_DUPSORT, &ca->by_mailbox,
	    why, sizeof(why)) < 0 ||
	    store_db_open(ca->st, "keys.db", DB_BTREE, 0, &ca->keys, why, sizeof(why)) < 0 ||
	    store_db_open(ca->st, "revoked.db", DB_BTREE, 0, &ca->revoked, why, sizeof(why)) < 0 ||
	    store_db_open(ca->st, "recipients.db", DB_BTREE, 0, &ca->recipients, why,
	    sizeof(why)) < 0 ||
	    store_db_open(ca->st, "meta.db", DB_BTREE, 0, &ca->meta, why, sizeof(why)) < 0 ||
	    store_db_open(ca->st, "audit.db", DB_RECNO, 0, &ca->audit, why, sizeof(why)) < 0 ||
	    store_db_open(ca->st, "cas.db", DB_BTREE, 0, &ca->cas, why, sizeof(why)) < 0) {
		ca_seterr(err, "%s", why);
		goto out;
	}
	if (ca->certs->associate(ca->certs, NULL, ca->by_mailbox, ca_by_mailbox_cb,
	    DB_CREATE | DB_AUTO_COMMIT) != 0) {
		ca_seterr(err, "cannot associate the mailbox index");
		goto out;
	}
	if (!ca->read_only && ca_kek_load(ca, err) != CA_OK)
		goto out;
	/* Without the pool issuance still works (keys made on demand), so this only warns. */
	if (params->keypool && !ca->read_only &&
	    ca_kpool_new(params->keypool_size, params->keypool_warm, &ca->pool, &perr) != CA_OK)
		as_log(AS_LEVEL_WARNING, NULL, "event=keypool status=failed reason=%s",
		    as_log_value(perr.text, why, sizeof(why)));
	*out = ca; /* transferred */
	ca = NULL;
	r = CA_OK;
out:
	ca_close(ca);
	return r;
}

struct store *
ca_store(struct ca *ca)
{
	return ca != NULL ? ca->st : NULL;
}

int
ca_keypool_stats(struct ca *ca, enum ca_key_type type, struct ca_keypool_stats *out)
{
	memset(out, 0, sizeof(*out));
	return ca->pool != NULL ? ca_kpool_stats(ca->pool, type, out) : CA_NOTFOUND;
}

int
ca_keypool_wait(struct ca *ca, enum ca_key_type type, unsigned n, int timeout_ms)
{
	return ca->pool != NULL ? ca_kpool_wait(ca->pool, type, n, timeout_ms) : CA_NOTFOUND;
}

void
ca_close(struct ca *ca)
{
	size_t i;

	if (ca == NULL)
		return;
	ca_kpool_free(ca->pool);   /* joins the thread first: nothing may use ca after this */
	DB **dbs[] = { &ca->by_mailbox, &ca->certs, &ca->keys, &ca->revoked, &ca->recipients,
		&ca->meta, &ca->audit, &ca->cas };
	/* The secondary index closes before its primary. */
	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		if (*dbs[i] != NULL)
			(*dbs[i])->close(*dbs[i], 0);
	if (ca->st != NULL) {
		store_checkpoint(ca->st, 0);
		store_close(ca->st);
	}
	for (i = 0; i < ca->n_issuers; i++) {
		X509_free(ca->issuers[i]->cert);
		X509_free(ca->issuers[i]->root);
		EVP_PKEY_free(ca->issuers[i]->key);
		free(ca->issuers[i]);
	}
	if (ca->kek != NULL) {
		as_wipe(ca->kek, ca->kek_len);
		free(ca->kek);
	}
	free(ca->store_dir);
	free(ca->kek_file);
	free(ca->pass_file);
	free(ca->base_url);
	free(ca->crl_dir);
	free(ca->org_name);
	free(ca->org_id);
	free(ca->org_country);
	ca_audit_queue_destroy(&ca->audit_q);
	pthread_mutex_destroy(&ca->lock);
	free(ca);
}

/* ---------------------------------------------------------------- names */

static const char *const profile_words[] = { "mailbox", "sponsor", "organization" };
static const char *const generation_words[] = { "strict", "multipurpose" };
static const char *const key_words[] = { "ec-p256", "ec-p384", "rsa-2048", "rsa-3072",
	"rsa-4096" };
static const char *const reason_words[] = { "unspecified", "keyCompromise", "cACompromise",
	"affiliationChanged", "superseded", "cessationOfOperation", "certificateHold", NULL,
	"removeFromCRL", "privilegeWithdrawn", "aACompromise" };

#define NWORDS(a) (sizeof(a) / sizeof((a)[0]))

static int
word_index(const char *const *words, size_t n, const char *w)
{
	size_t i;

	for (i = 0; w != NULL && i < n; i++)
		if (words[i] != NULL && strcasecmp(words[i], w) == 0)
			return (int)i;
	return -1;
}

const char *
ca_profile_name(enum ca_profile p)
{
	return (unsigned)p < NWORDS(profile_words) ? profile_words[p] : NULL;
}

const char *
ca_generation_name(enum ca_generation g)
{
	return (unsigned)g < NWORDS(generation_words) ? generation_words[g] : NULL;
}

const char *
ca_key_type_name(enum ca_key_type k)
{
	return (unsigned)k < NWORDS(key_words) ? key_words[k] : NULL;
}

const char *
ca_reason_name(int reason)
{
	return reason >= 0 && (unsigned)reason < NWORDS(reason_words) ? reason_words[reason] : NULL;
}

int
ca_profile_parse(const char *w)
{
	return word_index(profile_words, NWORDS(profile_words), w);
}

int
ca_generation_parse(const char *w)
{
	return word_index(generation_words, NWORDS(generation_words), w);
}

int
ca_key_type_parse(const char *w)
{
	return word_index(key_words, NWORDS(key_words), w);
}

/* Only the codes ca_revoke accepts: never unspecified(0), removeFromCRL(8) or 7 (unused). */
int
ca_reason_parse(const char *w)
{
	int i = word_index(reason_words, NWORDS(reason_words), w);

	return i <= 0 || i == 8 ? -1 : i;
}
