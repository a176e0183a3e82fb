/*
 * revoke: revocation with RFC 5280 reason codes, of subscriber certificates (into their issuing
 * CA's CRL) and of issuing CAs (into their root's CRL, re-signed at once), and whether a CA
 * certificate is a revoked one of ours. Owns revoked.db and the meta words ca_revoked:<ca id>.
 * The CRLs themselves are crl.c's.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "ca/ca_int.h"
#include "common/log.h"

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
	    (ret = ca_bump_generation(a->ca, txn)) != 0 ||
	    (ret = ca_crl_mark_stale(a->ca, txn, info.ca_id)) != 0)
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


/* The reasons RFC 5280 and S/MIME BR 4.9.1.2 give for revoking a CA certificate. */
static bool
ca_reason_allowed(int reason)
{
	return reason == CA_REASON_KEY_COMPROMISE || reason == CA_REASON_CA_COMPROMISE ||
	    reason == CA_REASON_AFFILIATION_CHANGED || reason == CA_REASON_SUPERSEDED ||
	    reason == CA_REASON_CESSATION;
}

struct revoke_issuer_arg {
	struct ca *ca;
	const char *ca_id, *root_id, *serial, *actor;
	X509 *root;
	EVP_PKEY *root_key;
	int reason;
	X509_CRL *arl;
	struct ca_error *err;
};

static int
revoke_issuer_txn(DB_TXN *txn, void *argp)
{
	struct revoke_issuer_arg *a = argp;
	struct ca_revoke_rec rv;
	char key[64], active[41] = "", fields[300];
	DBT k, d;
	int ret;

	if ((ret = ca_meta_get_str(a->ca, txn, "active_ca", active, sizeof(active))) != 0 &&
	    ret != DB_NOTFOUND)
		return ret;
	if (strcmp(active, a->ca_id) == 0) {
		ca_seterr(a->err, "%s is the active issuing CA: run ca rotate first, then revoke it",
		    a->ca_id);
		return CA_INVALID;
	}
	memset(&rv, 0, sizeof(rv));
	rv.time = ca_now(a->ca);
	rv.reason = a->reason;
	snprintf(rv.ca_id, sizeof(rv.ca_id), "%s", a->root_id);
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)a->serial;
	k.size = (u_int32_t)strlen(a->serial);
	d.data = &rv;
	d.size = sizeof(rv);
	ret = a->ca->revoked->put(a->ca->revoked, txn, &k, &d, DB_NOOVERWRITE);
	if (ret == DB_KEYEXIST) {
		ca_seterr(a->err, "issuing CA %s is already revoked", a->ca_id);
		return CA_INVALID;
	}
	snprintf(key, sizeof(key), "ca_revoked:%s", a->ca_id);
	snprintf(fields, sizeof(fields), "ca_id=%s serial=%s root_id=%s reason=%s", a->ca_id,
	    a->serial, a->root_id, ca_reason_name(a->reason));
	if (ret != 0 || (ret = ca_meta_put_u64(a->ca, txn, key, (uint64_t)rv.time)) != 0 ||
	    (ret = ca_bump_generation(a->ca, txn)) != 0 ||
	    (ret = ca_audit_append(a->ca, txn, "ca-revoke", a->actor, fields)) != 0)
		return ret;
	return ca_crl_sign_txn(a->ca, txn, a->root_id, a->root, a->root_key, CA_ROOT_CRL_NEXT,
	    a->actor, &a->arl, a->err);
}

int
ca_revoke_issuer(struct ca *ca, const char *ca_id, X509 *root, EVP_PKEY *root_key,
    int reason, const char *actor, X509_CRL **arl, struct ca_error *err)
{
	struct revoke_issuer_arg a;
	struct ca_issuer *iss;
	char root_id[41], serial[41], ab[80];
	BIGNUM *bn = NULL;
	char *hex = NULL;
	int r, ret;

	*arl = NULL;
	if (!ca_reason_allowed(reason)) {
		ca_seterr(err, "a CA is revoked for keyCompromise, cACompromise, "
		    "affiliationChanged, superseded or cessationOfOperation");
		return CA_INVALID;
	}
	if ((r = ca_root_check(ca, root, root_key, root_id, err)) != CA_OK ||
	    (r = ca_issuer_get(ca, ca_id, false, &iss, err)) != CA_OK)
		return r;
	if (X509_check_issued(root, iss->cert) != X509_V_OK) {
		ca_seterr(err, "issuing CA %s is not under that root", ca_id);
		return CA_INVALID;
	}
	r = CA_ERR;
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(iss->cert), NULL)) == NULL ||
	    (hex = BN_bn2hex(bn)) == NULL || ca_serial_normalise(hex, serial) < 0) {
		ca_seterr(err, "issuing CA %s has an unusable serial number", ca_id);
		goto out;
	}
	a = (struct revoke_issuer_arg){ ca, iss->id, root_id, serial, as_log_value(actor != NULL ?
		actor : "-", ab, sizeof(ab)), root, root_key, reason, NULL, err };
	if ((ret = store_txn_run(ca->st, revoke_issuer_txn, &a)) != 0) {
		X509_CRL_free(a.arl);
		r = ca_db_result(ret, err, "revoke issuing CA");
		goto out;
	}
	ca_after_commit(ca);
	*arl = a.arl; /* transferred */
	r = CA_OK;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return r;
}

int
ca_issuer_revoked(struct ca *ca, X509 *cert, bool *revoked, struct ca_error *err)
{
	struct ca_issuer *iss;
	struct ca_error ignore;
	unsigned char ski[20];
	char id[41], key[64];
	uint64_t when = 0;
	int ret;

	*revoked = false;
	if (X509_check_ca(cert) != 1 || ca_ski(cert, ski) < 0)
		return CA_OK;
	ca_hex(ski, 20, id);
	/* the key identifier names the record; the certificate itself must be the stored one */
	if (ca_issuer_get(ca, id, false, &iss, &ignore) != CA_OK || X509_cmp(iss->cert, cert) != 0)
		return CA_OK;
	snprintf(key, sizeof(key), "ca_revoked:%s", id);
	if ((ret = ca_meta_get_u64(ca, NULL, key, &when, 0)) != 0)
		return ca_db_result(ret, err, "issuing CA revocation");
	*revoked = when != 0;
	return CA_OK;
}
