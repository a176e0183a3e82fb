/*
 * revoke: revocation with RFC 5280 reason codes and the CRL of each issuing CA (monotone CRL
 * number per CA, nextUpdate at most 10 days out, reason code on every entry). Owns revoked.db
 * and the meta words crl_number:<ca id>.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "ca/ca_int.h"
#include "common/log.h"

#define CRL_MAX_NEXT (10LL * 86400)
#define CRL_DEFAULT_NEXT (7LL * 86400)

static bool
reason_allowed(int reason)
{
	switch (reason) {
	case CA_REASON_KEY_COMPROMISE: case CA_REASON_CA_COMPROMISE:
	case CA_REASON_AFFILIATION_CHANGED: case CA_REASON_SUPERSEDED:
	case CA_REASON_CESSATION: case CA_REASON_CERTIFICATE_HOLD:
	case CA_REASON_PRIVILEGE_WITHDRAWN: case CA_REASON_AA_COMPROMISE:
		return true;
	default:
		return false;
	}
}

struct revoke_arg {
	struct ca *ca;
	const char *serial, *actor;
	int reason;
	struct ca_error *err;
};

static int
revoke_txn(DB_TXN *txn, void *argp)
{
	struct revoke_arg *a = argp;
	struct ca_cert_info info;
	struct ca_revoke_rec rv;
	char fields[512], vb[300];
	DBT k, d;
	int ret, r;

	if ((r = ca_cert_rec_load(a->ca, txn, a->serial, &info, false, a->err)) != CA_OK)
		return r;
	if (info.status == CA_STATUS_REVOKED) {
		ca_seterr(a->err, "certificate %s is already revoked", a->serial);
		return CA_INVALID;
	}
	if (a->reason == CA_REASON_CERTIFICATE_HOLD && info.generation == CA_GEN_STRICT) {
		ca_seterr(a->err, "certificateHold is not allowed for Strict certificates");
		return CA_INVALID;
	}
	memset(&rv, 0, sizeof(rv));
	rv.time = ca_now(a->ca);
	rv.reason = a->reason;
	memcpy(rv.ca_id, info.ca_id, sizeof(rv.ca_id));
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)a->serial;
	k.size = (u_int32_t)strlen(a->serial);
	d.data = &rv;
	d.size = sizeof(rv);
	if ((ret = a->ca->revoked->put(a->ca->revoked, txn, &k, &d, DB_NOOVERWRITE)) != 0 ||
	    (ret = ca_bump_generation(a->ca, txn)) != 0)
		return ret;
	snprintf(fields, sizeof(fields), "serial=%s mailbox=%s reason=%s ca_id=%s", a->serial,
	    as_log_value(info.mailbox, vb, sizeof(vb)), ca_reason_name(a->reason), info.ca_id);
	return ca_audit_append(a->ca, txn, "revoke", a->actor, fields);
}

int
ca_revoke(struct ca *ca, const char *serial_hex, int reason, const char *actor,
    struct ca_error *err)
{
	struct revoke_arg a;
	char serial[41], ab[80];
	int ret;

	if (ca->read_only) {
		ca_seterr(err, "the CA was opened read-only");
		return CA_INVALID;
	}
	if (!reason_allowed(reason)) {
		ca_seterr(err, "reason code %d is not allowed (never unspecified)", reason);
		return CA_INVALID;
	}
	if (ca_serial_normalise(serial_hex, serial) < 0) {
		ca_seterr(err, "a serial number is 1..40 hex digits");
		return CA_INVALID;
	}
	a = (struct revoke_arg){ ca, serial, as_log_value(actor != NULL ? actor : "-", ab,
		sizeof(ab)), reason, err };
	ret = store_txn_run(ca->st, revoke_txn, &a);
	if (ret == 0)
		ca_after_commit(ca);
	return ca_db_result(ret, err, "revoke");
}

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

struct crl_arg {
	struct ca *ca;
	struct ca_issuer *iss;
	long long next;
	X509_CRL *crl;
	const char *actor;
	struct ca_error *err;
};

static int
crl_txn(DB_TXN *txn, void *argp)
{
	struct crl_arg *a = argp;
	struct ca *ca = a->ca;
	char key[64], serial[41], fields[256];
	struct ca_revoke_rec rv;
	X509_CRL *crl = NULL;
	ASN1_TIME *t = NULL;
	ASN1_INTEGER *num = NULL;
	X509V3_CTX ctx;
	X509_EXTENSION *ext = NULL;
	uint64_t n;
	time_t now = ca_now(ca);
	DBC *cur = NULL;
	DBT k, d;
	int ret, count = 0;

	snprintf(key, sizeof(key), "crl_number:%s", a->iss->id);
	if ((ret = ca_meta_get_u64(ca, txn, key, &n, DB_RMW)) != 0 ||
	    (ret = ca_meta_put_u64(ca, txn, key, n + 1)) != 0)
		return ret;
	ret = CA_ERR;
	if ((crl = X509_CRL_new()) == NULL || (t = ASN1_TIME_new()) == NULL ||
	    (num = ASN1_INTEGER_new()) == NULL || !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(a->iss->cert)) ||
	    !ASN1_TIME_set(t, now) || !X509_CRL_set1_lastUpdate(crl, t) ||
	    !ASN1_TIME_set(t, now + (time_t)a->next) || !X509_CRL_set1_nextUpdate(crl, t) ||
	    !ASN1_INTEGER_set_uint64(num, n + 1) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0))
		goto fail;
	X509V3_set_ctx(&ctx, a->iss->cert, NULL, NULL, crl, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier,
	    "keyid:always")) == NULL || !X509_CRL_add_ext(crl, ext, -1))
		goto fail;
	if ((ret = ca->revoked->cursor(ca->revoked, txn, &cur, 0)) != 0)
		goto out;
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	while ((ret = cur->get(cur, &k, &d, DB_NEXT)) == 0) {
		if (d.size != sizeof(rv) || k.size >= sizeof(serial))
			continue;
		memcpy(&rv, d.data, sizeof(rv));
		rv.ca_id[sizeof(rv.ca_id) - 1] = '\0';
		if (strcmp(rv.ca_id, a->iss->id) != 0)
			continue;
		memcpy(serial, k.data, k.size);
		serial[k.size] = '\0';
		if (crl_add(crl, serial, &rv) < 0) {
			ret = CA_ERR;
			goto fail;
		}
		count++;
	}
	if (ret != DB_NOTFOUND)
		goto out;
	cur->close(cur);
	cur = NULL;
	X509_CRL_sort(crl);
	if (X509_CRL_sign(crl, a->iss->key, ca_sig_md(a->iss->key)) <= 0) {
		ret = CA_ERR;
		goto fail;
	}
	snprintf(fields, sizeof(fields), "ca_id=%s number=%llu entries=%d", a->iss->id,
	    (unsigned long long)(n + 1), count);
	if ((ret = ca_audit_append(ca, txn, "crl", a->actor, fields)) != 0)
		goto out;
	a->crl = crl; /* transferred */
	crl = NULL;
	goto out;
fail:
	ca_seterr_ssl(a->err, "cannot build the CRL");
	ret = CA_ERR;
out:
	if (cur != NULL)
		cur->close(cur);
	X509_EXTENSION_free(ext);
	X509_CRL_free(crl);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(num);
	return ret;
}

int
ca_crl_make(struct ca *ca, const char *ca_id, long long next_update_seconds, X509_CRL **out,
    struct ca_error *err)
{
	struct crl_arg a;
	struct ca_issuer *iss;
	char id[41];
	int r, ret;

	*out = NULL;
	if (next_update_seconds == 0)
		next_update_seconds = CRL_DEFAULT_NEXT;
	if (next_update_seconds < 3600 || next_update_seconds > CRL_MAX_NEXT) {
		ca_seterr(err, "CRL nextUpdate must be between one hour and 10 days");
		return CA_INVALID;
	}
	if (ca_id == NULL) {
		if ((r = ca_active_id(ca, id, err)) != CA_OK)
			return r;
	} else if (snprintf(id, sizeof(id), "%s", ca_id) >= (int)sizeof(id)) {
		ca_seterr(err, "CA id is too long");
		return CA_INVALID;
	}
	if ((r = ca_issuer_get(ca, id, true, &iss, err)) != CA_OK)
		return r;
	a = (struct crl_arg){ ca, iss, next_update_seconds, NULL, "crl", err };
	ret = store_txn_run(ca->st, crl_txn, &a);
	if (ret != 0) {
		X509_CRL_free(a.crl);
		return ca_db_result(ret, err, "CRL");
	}
	ca_after_commit(ca);
	*out = a.crl; /* transferred */
	return CA_OK;
}
