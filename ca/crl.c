/*
 * crl: building and signing CRLs inside a transaction. Each issuing CA's CRL (nextUpdate at
 * most 10 days, S/MIME BR 4.9.7) and each root's CRL of revoked issuing CAs (nextUpdate at most
 * 12 months; an ARL with issuingDistributionPoint onlyContainsCACerts), with a monotone
 * number per CA and a reason code on every entry, each checked by crl_check.c before it is
 * returned. The commands that choose which CA signs are crl_make.c's. Owns the meta words
 * crl_number:<id>, crl_last:<id>, crl_next:<id> (thisUpdate/nextUpdate of the newest CRL) and
 * crl_stale:<id> (a revocation since then), which tell a timer when a CRL is due.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "ca/ca_int.h"

/* Add one revoked entry with its reason code. */
static int
crl_add(X509_CRL *crl, const char *serial, const struct ca_revoke_rec *rv)
{
	X509_REVOKED *e = X509_REVOKED_new();
	ASN1_ENUMERATED *code = ASN1_ENUMERATED_new();
	ASN1_INTEGER *sn = NULL;
	ASN1_TIME *t = ASN1_TIME_new();
	BIGNUM *bn = NULL;
	int ok;

	ok = e != NULL && code != NULL && t != NULL && BN_hex2bn(&bn, serial) > 0 &&
	    (sn = BN_to_ASN1_INTEGER(bn, NULL)) != NULL && X509_REVOKED_set_serialNumber(e, sn) &&
	    ASN1_TIME_set(t, (time_t)rv->time) != NULL && X509_REVOKED_set_revocationDate(e, t) &&
	    ASN1_ENUMERATED_set(code, rv->reason) &&
	    X509_REVOKED_add1_ext_i2d(e, NID_crl_reason, code, 0, 0) && X509_CRL_add0_revoked(crl, e);
	if (ok)
		e = NULL; /* transferred */
	X509_REVOKED_free(e);
	ASN1_ENUMERATED_free(code);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	BN_free(bn);
	return ok ? 0 : -1;
}

/* The revocations whose record names `id` as the CRL issuer, added to crl. */
static int
crl_entries(struct ca *ca, DB_TXN *txn, const char *id, X509_CRL *crl, int *count)
{
	struct ca_revoke_rec rv;
	char serial[41];
	DBC *cur = NULL;
	DBT k, d;
	int ret;

	if ((ret = ca->revoked->cursor(ca->revoked, txn, &cur, 0)) != 0)
		return ret;
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	while ((ret = cur->get(cur, &k, &d, DB_NEXT)) == 0) {
		if (d.size != sizeof(rv) || k.size >= sizeof(serial))
			continue;
		memcpy(&rv, d.data, sizeof(rv));
		rv.ca_id[sizeof(rv.ca_id) - 1] = '\0';
		if (strcmp(rv.ca_id, id) != 0)
			continue;
		memcpy(serial, k.data, k.size);
		serial[k.size] = '\0';
		if (crl_add(crl, serial, &rv) < 0) {
			ret = CA_ERR;
			break;
		}
		(*count)++;
	}
	cur->close(cur);
	return ret == DB_NOTFOUND ? 0 : ret;
}

static int
meta_key(char *buf, size_t cap, const char *word, const char *id)
{
	int n = snprintf(buf, cap, "%s:%s", word, id);

	return n > 0 && (size_t)n < cap ? 0 : CA_ERR;
}

int
ca_crl_sign_txn(struct ca *ca, DB_TXN *txn, const char *id, X509 *cert, EVP_PKEY *key,
    long long next, const char *actor, X509_CRL **out, struct ca_error *err)
{
	char kn[64], kl[64], kx[64], ks[64], fields[256];
	X509_CRL *crl = NULL;
	ASN1_TIME *t = NULL;
	ASN1_INTEGER *num = NULL;
	X509V3_CTX ctx;
	X509_EXTENSION *ext = NULL;
	unsigned char *der = NULL;
	uint64_t n;
	time_t now = ca_now(ca);
	bool arl = X509_self_signed(cert, 0) == 1;
	int ret, count = 0, der_len;

	*out = NULL;
	if (meta_key(kn, sizeof(kn), "crl_number", id) < 0 ||
	    meta_key(kl, sizeof(kl), "crl_last", id) < 0 ||
	    meta_key(kx, sizeof(kx), "crl_next", id) < 0 ||
	    meta_key(ks, sizeof(ks), "crl_stale", id) < 0)
		return CA_ERR;
	if ((ret = ca_meta_get_u64(ca, txn, kn, &n, DB_RMW)) != 0 ||
	    (ret = ca_meta_put_u64(ca, txn, kn, n + 1)) != 0 ||
	    (ret = ca_meta_put_u64(ca, txn, kl, (uint64_t)now)) != 0 ||
	    (ret = ca_meta_put_u64(ca, txn, kx, (uint64_t)(now + next))) != 0 ||
	    (ret = ca_meta_put_u64(ca, txn, ks, 0)) != 0)
		return ret;
	ret = CA_ERR;
	if ((crl = X509_CRL_new()) == NULL || (t = ASN1_TIME_new()) == NULL ||
	    (num = ASN1_INTEGER_new()) == NULL || !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(cert)) ||
	    !ASN1_TIME_set(t, now) || !X509_CRL_set1_lastUpdate(crl, t) ||
	    !ASN1_TIME_set(t, now + (time_t)next) || !X509_CRL_set1_nextUpdate(crl, t) ||
	    !ASN1_INTEGER_set_uint64(num, n + 1) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0))
		goto fail;
	X509V3_set_ctx(&ctx, cert, NULL, NULL, crl, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier,
	    "keyid:always")) == NULL || !X509_CRL_add_ext(crl, ext, -1))
		goto fail;
	/* A root lists only issuing CAs: an ARL proper, which a leaf's check never takes. */
	if (arl) {
		X509_EXTENSION_free(ext);
		if ((ext = X509V3_EXT_nconf_nid(NULL, &ctx, NID_issuing_distribution_point,
		    "critical,onlyCA:TRUE")) == NULL || !X509_CRL_add_ext(crl, ext, -1))
			goto fail;
	}
	if ((ret = crl_entries(ca, txn, id, crl, &count)) != 0)
		goto out;
	X509_CRL_sort(crl);
	if (X509_CRL_sign(crl, key, ca_sig_md(key)) <= 0 || (der_len = i2d_X509_CRL(crl,
	    &der)) <= 0)
		goto fail;
	/* nothing is published that the CA's own CRL check refuses */
	if ((ret = ca_crl_check(der, (size_t)der_len, cert, arl, err)) != CA_OK)
		goto out;
	snprintf(fields, sizeof(fields), "ca_id=%s number=%llu entries=%d next_update=%lld", id,
	    (unsigned long long)(n + 1), count, (long long)(now + next));
	if ((ret = ca_audit_append(ca, txn, "crl", actor, fields)) != 0)
		goto out;
	*out = crl; /* transferred */
	crl = NULL;
	goto out;
fail:
	ca_seterr_ssl(err, "cannot build the CRL");
	ret = CA_ERR;
out:
	OPENSSL_free(der);
	X509_EXTENSION_free(ext);
	X509_CRL_free(crl);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(num);
	return ret;
}

int
ca_crl_mark_stale(struct ca *ca, DB_TXN *txn, const char *id)
{
	char ks[64];

	if (meta_key(ks, sizeof(ks), "crl_stale", id) < 0)
		return CA_ERR;
	return ca_meta_put_u64(ca, txn, ks, 1);
}

int
ca_root_id(X509 *root, char id[41])
{
	unsigned char ski[20];

	if (ca_ski(root, ski) < 0)
		return CA_ERR;
	ca_hex(ski, 20, id);
	return CA_OK;
}

int
ca_crl_state(struct ca *ca, const char *id, struct ca_crl_state *out, struct ca_error *err)
{
	char kn[64], kl[64], kx[64], ks[64];
	uint64_t n = 0, last = 0, next = 0, stale = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	if (meta_key(kn, sizeof(kn), "crl_number", id) < 0 ||
	    meta_key(kl, sizeof(kl), "crl_last", id) < 0 ||
	    meta_key(kx, sizeof(kx), "crl_next", id) < 0 ||
	    meta_key(ks, sizeof(ks), "crl_stale", id) < 0) {
		ca_seterr(err, "CA id is too long");
		return CA_INVALID;
	}
	if ((ret = ca_meta_get_u64(ca, NULL, kn, &n, 0)) != 0 ||
	    (ret = ca_meta_get_u64(ca, NULL, kl, &last, 0)) != 0 ||
	    (ret = ca_meta_get_u64(ca, NULL, kx, &next, 0)) != 0 ||
	    (ret = ca_meta_get_u64(ca, NULL, ks, &stale, 0)) != 0)
		return ca_db_result(ret, err, "CRL state");
	out->number = n;
	out->this_update = (time_t)last;
	out->next_update = (time_t)next;
	out->stale = stale != 0;
	return CA_OK;
}

bool
ca_crl_due(const struct ca_crl_state *s, time_t now)
{
	/* never signed (or by a version that kept no dates), a revocation since, or past half */
	if (s->next_update <= s->this_update || s->stale)
		return true;
	return now >= s->this_update + (s->next_update - s->this_update) / 2;
}
