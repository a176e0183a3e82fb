/*
 * meta: the CA's meta database (the generation counter that tells caches a certificate
 * changed, and other named words and numbers) and the checkpoint cadence after commits.
 */
#include "config.h"

#include <string.h>

#include "ca/ca_int.h"

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
