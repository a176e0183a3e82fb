/*
 * domain: domains.db, the domain control validations of ca_domain.h: Random Values waiting
 * for their TXT record (stored as SHA-256 only), the validations they gave, and the check
 * organization-validated issuance makes. Owns domains.db; its audit records are written in
 * the transaction of each change.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ca/ca_domain.h"
#include "ca/ca_int.h"
#include "common/log.h"

#define DOMAIN_REC_VERSION 1

/* The stored record; times are int64 so the layout does not depend on time_t. */
struct domain_rec {
	uint8_t version;
	uint8_t pending, validated;
	unsigned char pending_hash[32], value_hash[32];
	int64_t pending_created, pending_expires, validated_at, valid_until;
	char id[17];
	char method[16];
	char evidence[CA_DOMAIN_EVIDENCE_MAX];
};

int
ca_domain_normalise(const char *in, char out[CA_DOMAIN_MAX + 1], struct ca_error *err)
{
	size_t n, i, lab = 0, labels = 1;

	if (in == NULL || (n = strnlen(in, CA_DOMAIN_MAX + 2)) == 0 || n > CA_DOMAIN_MAX) {
		ca_seterr(err, "a domain is 1..%d characters", CA_DOMAIN_MAX);
		return CA_INVALID;
	}
	if (in[n - 1] == '.')
		n--;     /* an absolute name means the same domain */
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '.') {
			if (lab == 0 || in[i - 1] == '-')
				goto bad;
			lab = 0;
			labels++;
		} else if (isalnum(c) || (c == '-' && lab > 0)) {
			if (++lab > 63)
				goto bad;
		} else {
			goto bad;
		}
		out[i] = (char)tolower(c);
	}
	out[n] = '\0';
	if (lab == 0 || out[n - 1] == '-' || labels < 2)
		goto bad;
	return CA_OK;
bad:
	ca_seterr(err, "not a domain name of at least two LDH labels (A-labels for IDNs)");
	return CA_INVALID;
}

static void
rec_to_info(const char *domain, const struct domain_rec *r, struct ca_domain_info *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->domain, sizeof(out->domain), "%s", domain);
	out->pending = r->pending != 0;
	memcpy(out->pending_hash, r->pending_hash, 32);
	out->pending_created = (time_t)r->pending_created;
	out->pending_expires = (time_t)r->pending_expires;
	out->validated = r->validated != 0;
	memcpy(out->id, r->id, sizeof(out->id));
	out->id[sizeof(out->id) - 1] = '\0';
	memcpy(out->method, r->method, sizeof(out->method));
	out->method[sizeof(out->method) - 1] = '\0';
	memcpy(out->value_hash, r->value_hash, 32);
	out->validated_at = (time_t)r->validated_at;
	out->valid_until = (time_t)r->valid_until;
	memcpy(out->evidence, r->evidence, sizeof(out->evidence));
	out->evidence[sizeof(out->evidence) - 1] = '\0';
}

/* Read the record of `d` (flags: 0 or DB_RMW). 0, DB_NOTFOUND or a DB error. */
static int
rec_get(struct ca *ca, DB_TXN *txn, const char *d, struct domain_rec *r, u_int32_t flags)
{
	DBT k, v;
	int ret;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	memset(r, 0, sizeof(*r));
	k.data = (void *)d;
	k.size = (u_int32_t)strlen(d);
	v.data = r;
	v.ulen = sizeof(*r);
	v.flags = DB_DBT_USERMEM;
	ret = ca->domains->get(ca->domains, txn, &k, &v, flags);
	if (ret == 0 && (v.size != sizeof(*r) || r->version != DOMAIN_REC_VERSION))
		return DB_NOTFOUND;  /* damaged: treated as absent, so nothing rests on it */
	return ret;
}

static int
rec_put(struct ca *ca, DB_TXN *txn, const char *d, const struct domain_rec *r)
{
	DBT k, v;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)d;
	k.size = (u_int32_t)strlen(d);
	v.data = (void *)r;
	v.size = sizeof(*r);
	return ca->domains->put(ca->domains, txn, &k, &v, 0);
}

static void
sha256(const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 32;

	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1)
		memset(out, 0, 32);
}

/* What one transaction of this file does; `op` picks the body. */
struct dom_txn {
	struct ca *ca;
	enum { OP_CHALLENGE, OP_RECORD, OP_REVOKE } op;
	const char *domain, *actor, *evidence;
	const unsigned char *hash;   /* new pending hash, or the found value's hash */
	long long reuse;
	time_t now;
	struct domain_rec rec;
	int result;                  /* CA_* for the caller */
	char fields[CA_DOMAIN_EVIDENCE_MAX + 400];
};

static void
hash_prefix(const unsigned char *h, char out[17])
{
	ca_hex(h, 8, out);
}

static int
dom_txn_fn(DB_TXN *txn, void *argp)
{
	struct dom_txn *a = argp;
	char b1[CA_DOMAIN_MAX * 2 + 8], b2[CA_DOMAIN_EVIDENCE_MAX * 2 + 8], hp[17];
	const char *event;
	int ret;

	a->result = CA_OK;
	ret = rec_get(a->ca, txn, a->domain, &a->rec, DB_RMW);
	if (ret != 0 && ret != DB_NOTFOUND)
		return ret;
	as_log_value(a->domain, b1, sizeof(b1));
	if (a->op == OP_CHALLENGE) {
		if (ret == DB_NOTFOUND)
			a->rec.version = DOMAIN_REC_VERSION;
		a->rec.pending = 1;
		memcpy(a->rec.pending_hash, a->hash, 32);
		a->rec.pending_created = a->now;
		a->rec.pending_expires = a->now + CA_DOMAIN_VALUE_LIFETIME;
		hash_prefix(a->hash, hp);
		snprintf(a->fields, sizeof(a->fields), "domain=%s method=%s value_sha256=%s "
		    "expires=%lld", b1, CA_DOMAIN_METHOD, hp, (long long)a->rec.pending_expires);
		event = "domain-challenge";
	} else if (a->op == OP_RECORD) {
		unsigned char idb[8];

		if (ret == DB_NOTFOUND || !a->rec.pending || a->rec.pending_expires <= a->now) {
			a->result = CA_NOTFOUND;
			return DB_NOTFOUND;
		}
		if (CRYPTO_memcmp(a->rec.pending_hash, a->hash, 32) != 0) {
			a->result = CA_MISMATCH;
			return DB_NOTFOUND;
		}
		if (RAND_bytes(idb, sizeof(idb)) != 1)
			return EIO;
		a->rec.pending = 0;
		memset(a->rec.pending_hash, 0, 32);
		a->rec.validated = 1;
		memcpy(a->rec.value_hash, a->hash, 32);
		ca_hex(idb, sizeof(idb), a->rec.id);
		snprintf(a->rec.method, sizeof(a->rec.method), "%s", CA_DOMAIN_METHOD);
		a->rec.validated_at = a->now;
		a->rec.valid_until = a->now + a->reuse;
		snprintf(a->rec.evidence, sizeof(a->rec.evidence), "%s", a->evidence);
		hash_prefix(a->hash, hp);
		snprintf(a->fields, sizeof(a->fields), "domain=%s validation=%s result=valid method=%s "
		    "value_sha256=%s valid_until=%lld evidence=%s", b1, a->rec.id, CA_DOMAIN_METHOD, hp,
		    (long long)a->rec.valid_until, as_log_value(a->evidence, b2, sizeof(b2)));
		event = "domain-validation";
	} else {
		DBT k;

		if (ret == DB_NOTFOUND) {
			a->result = CA_NOTFOUND;
			return DB_NOTFOUND;
		}
		memset(&k, 0, sizeof(k));
		k.data = (void *)a->domain;
		k.size = (u_int32_t)strlen(a->domain);
		if ((ret = a->ca->domains->del(a->ca->domains, txn, &k, 0)) != 0)
			return ret;
		snprintf(a->fields, sizeof(a->fields), "domain=%s validation=%s had_pending=%s", b1,
		    a->rec.validated ? a->rec.id : "-", a->rec.pending ? "yes" : "no");
		return ca_audit_append(a->ca, txn, "domain-revoke", a->actor, a->fields);
	}
	if ((ret = rec_put(a->ca, txn, a->domain, &a->rec)) != 0)
		return ret;
	return ca_audit_append(a->ca, txn, event, a->actor, a->fields);
}

static int
dom_run(struct dom_txn *a, struct ca_error *err, const char *what)
{
	int ret;

	a->result = CA_OK;
	ret = store_txn_run(a->ca->st, dom_txn_fn, a);
	if (a->result != CA_OK)
		return a->result;
	if (ret != 0)
		return ca_db_result(ret, err, what);
	ca_after_commit(a->ca);
	return CA_OK;
}

int
ca_domain_challenge(struct ca *ca, const char *domain, const char *actor,
    char value[CA_DOMAIN_VALUE_LEN + 1], struct ca_domain_info *out, struct ca_error *err)
{
	unsigned char raw[CA_DOMAIN_VALUE_BYTES], h[32];
	struct dom_txn a;
	char d[CA_DOMAIN_MAX + 1];
	int r;

	value[0] = '\0';
	if ((r = ca_domain_normalise(domain, d, err)) != CA_OK)
		return r;
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		ca_seterr_ssl(err, "the random generator failed");
		return CA_ERR;
	}
	ca_hex(raw, sizeof(raw), value);
	as_wipe(raw, sizeof(raw));
	sha256(value, CA_DOMAIN_VALUE_LEN, h);
	memset(&a, 0, sizeof(a));
	a = (struct dom_txn){ .ca = ca, .op = OP_CHALLENGE, .domain = d, .actor = actor,
		.hash = h, .now = ca_now(ca) };
	if ((r = dom_run(&a, err, "domain challenge")) != CA_OK) {
		as_wipe(value, CA_DOMAIN_VALUE_LEN);
		value[0] = '\0';
		return r;
	}
	if (out != NULL)
		rec_to_info(d, &a.rec, out);
	return CA_OK;
}

int
ca_domain_get(struct ca *ca, const char *domain, struct ca_domain_info *out,
    struct ca_error *err)
{
	struct domain_rec rec;
	char d[CA_DOMAIN_MAX + 1];
	int r, ret;

	if ((r = ca_domain_normalise(domain, d, err)) != CA_OK)
		return r;
	if ((ret = rec_get(ca, NULL, d, &rec, 0)) == DB_NOTFOUND) {
		ca_seterr(err, "no record for %s", d);
		return CA_NOTFOUND;
	}
	if (ret != 0)
		return ca_db_result(ret, err, "domain");
	rec_to_info(d, &rec, out);
	return CA_OK;
}

int
ca_domain_record(struct ca *ca, const char *domain, const unsigned char found_hash[32],
    long long reuse_seconds, const char *evidence, const char *actor,
    struct ca_domain_info *out, struct ca_error *err)
{
	struct dom_txn a;
	char d[CA_DOMAIN_MAX + 1];
	int r;

	if ((r = ca_domain_normalise(domain, d, err)) != CA_OK)
		return r;
	if (found_hash == NULL || reuse_seconds < 1 || reuse_seconds > CA_DOMAIN_REUSE_MAX) {
		ca_seterr(err, "the reuse period must be 1 s .. %lld days", CA_DOMAIN_REUSE_MAX / 86400);
		return CA_INVALID;
	}
	memset(&a, 0, sizeof(a));
	a = (struct dom_txn){ .ca = ca, .op = OP_RECORD, .domain = d, .actor = actor,
		.evidence = evidence != NULL ? evidence : "", .hash = found_hash,
		.reuse = reuse_seconds, .now = ca_now(ca) };
	r = dom_run(&a, err, "domain validation");
	if (r == CA_NOTFOUND)
		ca_seterr(err, "no open Random Value for %s (expired or never made): run domain "
		    "validate again for a new one", d);
	else if (r == CA_MISMATCH)
		ca_seterr(err, "the value found is not the one pending for %s", d);
	else if (r == CA_OK && out != NULL)
		rec_to_info(d, &a.rec, out);
	return r;
}

int
ca_domain_revoke(struct ca *ca, const char *domain, const char *actor, struct ca_error *err)
{
	struct dom_txn a;
	char d[CA_DOMAIN_MAX + 1];
	int r;

	if ((r = ca_domain_normalise(domain, d, err)) != CA_OK)
		return r;
	memset(&a, 0, sizeof(a));
	a = (struct dom_txn){ .ca = ca, .op = OP_REVOKE, .domain = d, .actor = actor,
		.now = ca_now(ca) };
	r = dom_run(&a, err, "domain revoke");
	if (r == CA_NOTFOUND)
		ca_seterr(err, "no record for %s", d);
	return r;
}

int
ca_domain_foreach(struct ca *ca, ca_domain_cb cb, void *arg, struct ca_error *err)
{
	struct domain_rec rec;
	struct ca_domain_info info;
	char d[CA_DOMAIN_MAX + 1];
	DBC *cur = NULL;
	DBT k, v;
	int ret, stop = 0;

	if ((ret = ca->domains->cursor(ca->domains, NULL, &cur, 0)) != 0)
		return ca_db_result(ret, err, "domain list");
	for (;;) {
		memset(&k, 0, sizeof(k));
		memset(&v, 0, sizeof(v));
		k.data = d;
		k.ulen = sizeof(d) - 1;
		k.flags = DB_DBT_USERMEM;
		v.data = &rec;
		v.ulen = sizeof(rec);
		v.flags = DB_DBT_USERMEM;
		if ((ret = cur->get(cur, &k, &v, DB_NEXT)) != 0)
			break;
		d[k.size] = '\0';
		if (v.size != sizeof(rec) || rec.version != DOMAIN_REC_VERSION)
			continue;
		rec_to_info(d, &rec, &info);
		if ((stop = cb(&info, arg)) != 0)
			break;
	}
	cur->close(cur);
	if (ret != 0 && ret != DB_NOTFOUND && stop == 0)
		return ca_db_result(ret, err, "domain list");
	return CA_OK;
}

/* The covering validation of normalised `d` at `now`, read inside txn (may be NULL): 0 with
 * *out, DB_NOTFOUND (*expired says whether only an expired one exists) or a DB error. */
int
ca_domain_covering(struct ca *ca, DB_TXN *txn, const char *d, time_t now,
    struct ca_domain_info *out, bool *expired)
{
	struct domain_rec rec;
	const char *p;
	int ret;

	*expired = false;
	/* The domain itself, then each parent that still has two labels (never a TLD alone). */
	for (p = d; p != NULL && strchr(p, '.') != NULL; p = strchr(p, '.') + 1) {
		ret = rec_get(ca, txn, p, &rec, 0);
		if (ret != 0 && ret != DB_NOTFOUND)
			return ret;
		if (ret == 0 && rec.validated) {
			if (rec.valid_until > now && rec.validated_at <= now) {
				rec_to_info(p, &rec, out);
				return 0;
			}
			*expired = true;
		}
	}
	return DB_NOTFOUND;
}

int
ca_domain_valid_for(struct ca *ca, const char *domain, time_t now,
    struct ca_domain_info *out, struct ca_error *err)
{
	char d[CA_DOMAIN_MAX + 1];
	bool expired;
	int r, ret;

	if ((r = ca_domain_normalise(domain, d, err)) != CA_OK)
		return r;
	ret = ca_domain_covering(ca, NULL, d, now, out, &expired);
	if (ret == 0)
		return CA_OK;
	if (ret != DB_NOTFOUND)
		return ca_db_result(ret, err, "domain");
	ca_seterr(err, "%s has %s domain validation: autosmimectl domain validate %s", d,
	    expired ? "only an expired" : "no", d);
	return CA_NOTFOUND;
}
