/*
 * authority: the CA certificates. `ca init` makes a root (BR 7.1.2.1) and an issuing
 * intermediate (BR 7.1.2.2); `ca rotate` makes a new intermediate under a root the admin brings
 * back; `ca import` takes an issuing CA from the organisation's PKI. Owns cas.db and the meta
 * word active_ca; the issuing CA's key is saved by issuer_key.c (an encrypted file, or the URI
 * of its PKCS#11 token key). The root key is handed to the caller and never stored here.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "ca/ca_int.h"

#define DAY 86400LL
/* Every reserved S/MIME policy this CA issues under (BR 7.1.6.3, option 1). */
#define SUBCA_POLICIES "2.23.140.1.5.1.3,2.23.140.1.5.1.2,2.23.140.1.5.2.3,2.23.140.1.5.2.2," \
	"2.23.140.1.5.3.3,2.23.140.1.5.3.2"

void
ca_authority_free(struct ca_authority *a)
{
	if (a == NULL)
		return;
	X509_free(a->cert);
	X509_free(a->root);
	EVP_PKEY_free(a->root_key);
	X509_CRL_free(a->root_crl);
	memset(a, 0, sizeof(*a));
}

int
ca_active_id(struct ca *ca, char id[41], struct ca_error *err)
{
	int ret = ca_meta_get_str(ca, NULL, "active_ca", id, 41);

	if (ret == DB_NOTFOUND || (ret == 0 && id[0] == '\0')) {
		ca_seterr(err, "no issuing CA: run autosmimectl ca init (or ca import)");
		return CA_NOTFOUND;
	}
	return ca_db_result(ret, err, "active CA");
}

static int
cas_load(struct ca *ca, const char *id, struct ca_issuer *out, struct ca_error *err)
{
	DBT k, d;
	struct ca_cas_rec h;
	const unsigned char *p;
	int ret;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)id;
	k.size = (u_int32_t)strlen(id);
	d.flags = DB_DBT_MALLOC;
	if ((ret = ca->cas->get(ca->cas, NULL, &k, &d, 0)) != 0)
		return ca_db_result(ret, err, "issuing CA");
	memcpy(&h, d.data, sizeof(h) <= d.size ? sizeof(h) : 0);
	if (d.size < sizeof(h) || d.size != sizeof(h) + h.cert_len + h.root_len) {
		free(d.data);
		ca_seterr(err, "issuing CA record %s is damaged", id);
		return CA_ERR;
	}
	p = (unsigned char *)d.data + sizeof(h);
	out->cert = d2i_X509(NULL, &p, h.cert_len);
	if (h.root_len > 0)
		out->root = d2i_X509(NULL, &p, h.root_len);
	out->created = (time_t)h.created;
	snprintf(out->id, sizeof(out->id), "%s", id);
	free(d.data);
	if (out->cert == NULL) {
		ca_seterr(err, "issuing CA record %s is damaged", id);
		return CA_ERR;
	}
	return CA_OK;
}

int
ca_issuer_get(struct ca *ca, const char *id, bool need_key, struct ca_issuer **out,
    struct ca_error *err)
{
	struct ca_issuer *iss = NULL;
	size_t i;
	int r = CA_ERR;

	pthread_mutex_lock(&ca->lock);
	for (i = 0; i < ca->n_issuers; i++)
		if (strcmp(ca->issuers[i]->id, id) == 0)
			iss = ca->issuers[i];
	if (iss == NULL) {
		if (ca->n_issuers >= sizeof(ca->issuers) / sizeof(ca->issuers[0]) ||
		    (iss = calloc(1, sizeof(*iss))) == NULL) {
			ca_seterr(err, "too many issuing CAs loaded");
			goto out;
		}
		if ((r = cas_load(ca, id, iss, err)) != CA_OK) {
			X509_free(iss->cert);
			X509_free(iss->root);
			free(iss);
			goto out;
		}
		r = CA_ERR;
		ca->issuers[ca->n_issuers++] = iss;
	}
	if (need_key && iss->key == NULL) {
		if (ca->read_only) {
			ca_seterr(err, "the CA was opened read-only");
			goto out;
		}
		if (ca_issuer_key_load(ca, id, &iss->key, &iss->in_token, err) != CA_OK)
			goto out;
		if (X509_check_private_key(iss->cert, iss->key) != 1) {
			EVP_PKEY_free(iss->key);
			iss->key = NULL;
			ca_seterr(err, "the key of issuing CA %s does not match its certificate", id);
			goto out;
		}
	}
	*out = iss; /* borrowed: lives as long as the struct ca */
	r = CA_OK;
out:
	pthread_mutex_unlock(&ca->lock);
	return r;
}

void
ca_issuer_drop_key(struct ca *ca, const char *id)
{
	size_t i;

	pthread_mutex_lock(&ca->lock);
	for (i = 0; i < ca->n_issuers; i++)
		if (strcmp(ca->issuers[i]->id, id) == 0) {
			EVP_PKEY_free(ca->issuers[i]->key);  /* OpenSSL clears private keys it frees */
			ca->issuers[i]->key = NULL;
		}
	pthread_mutex_unlock(&ca->lock);
}

/* Subject CN, O, C (BR 7.1.4.3.1); the CN is cut so that it stays within 64 characters. */
static X509_NAME *
ca_subject(struct ca *ca, const char *cn, const char *kind, time_t now)
{
	X509_NAME *n = X509_NAME_new();
	char buf[65], stamp[16];
	struct tm tm;

	if (cn == NULL) {
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
		snprintf(buf, sizeof(buf), "%.28s S/MIME %.10s %.14s", ca->org_name, kind, stamp);
		cn = buf;
	}
	if (n == NULL || !X509_NAME_add_entry_by_NID(n, NID_countryName, MBSTRING_ASC,
	    (const unsigned char *)ca->org_country, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_NID(n, NID_organizationName, MBSTRING_UTF8,
	    (const unsigned char *)ca->org_name, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0)) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

/* A CA certificate: the root when issuer is NULL, else an issuing CA under it. */
static X509 *
ca_cert_make(struct ca *ca, X509_NAME *subj, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    time_t now, long long days, struct ca_error *err)
{
	X509 *x = X509_new();
	ASN1_INTEGER *serial = NULL;
	char rid[41], url[512], val[600];
	unsigned char ski[20];
	time_t end = now + (time_t)(days * DAY);

	if (x == NULL || !X509_set_version(x, X509_VERSION_3) || ca_rand_serial(&serial) < 0 ||
	    !X509_set_serialNumber(x, serial) || !X509_set_subject_name(x, subj) ||
	    !X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : subj) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), now) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), end) == NULL || !X509_set_pubkey(x, key)) {
		ca_seterr_ssl(err, "cannot build the CA certificate");
		goto fail;
	}
	/* An issuing CA never outlives its root. */
	if (issuer != NULL && ASN1_TIME_compare(X509_get0_notAfter(x),
	    X509_get0_notAfter(issuer)) > 0 && !X509_set1_notAfter(x, X509_get0_notAfter(issuer)))
		goto fail;
	if (ca_add_ext_conf(x, NULL, NID_subject_key_identifier, "hash", err) != CA_OK)
		goto fail;
	if (issuer == NULL) {
		if (ca_add_ext_conf(x, x, NID_basic_constraints, "critical,CA:TRUE", err) != CA_OK ||
		    ca_add_ext_conf(x, x, NID_key_usage, "critical,keyCertSign,cRLSign",
		    err) != CA_OK || ca_add_ext_conf(x, x, NID_authority_key_identifier,
		    "keyid:always", err) != CA_OK)
			goto fail;
	} else {
		if (ca_ski(issuer, ski) < 0) {
			ca_seterr(err, "the root has no subjectKeyIdentifier");
			goto fail;
		}
		ca_hex(ski, 20, rid);
		if (ca_add_ext_conf(x, issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0",
		    err) != CA_OK || ca_add_ext_conf(x, issuer, NID_key_usage,
		    "critical,keyCertSign,cRLSign", err) != CA_OK ||
		    ca_add_ext_conf(x, issuer, NID_ext_key_usage, "emailProtection", err) != CA_OK ||
		    ca_add_policies(x, SUBCA_POLICIES, err) != CA_OK || ca_add_ext_conf(x, issuer, NID_authority_key_identifier,
		    "keyid:always", err) != CA_OK)
			goto fail;
		if (ca_url(ca, rid, ".crl", url, sizeof(url)) < 0)
			goto fail;
		snprintf(val, sizeof(val), "URI:%s", url);
		if (ca_add_ext_conf(x, issuer, NID_crl_distribution_points, val, err) != CA_OK ||
		    ca_url(ca, rid, ".crt", url, sizeof(url)) < 0)
			goto fail;
		snprintf(val, sizeof(val), "caIssuers;URI:%s", url);
		if (ca_add_ext_conf(x, issuer, NID_info_access, val, err) != CA_OK)
			goto fail;
	}
	if (ca_sign_cert(x, ikey != NULL ? ikey : key, false, err) != CA_OK)
		goto fail;
	ASN1_INTEGER_free(serial);
	return x;
fail:
	ASN1_INTEGER_free(serial);
	X509_free(x);
	return NULL;
}

struct store_ca_arg {
	struct ca *ca;
	const char *id, *event, *actor;
	X509 *cert, *root;
	time_t now;
	EVP_PKEY *root_key;        /* set: the root's CRL is re-signed in the same transaction */
	X509_CRL *root_crl;
	struct ca_error *err;
};

static int
store_ca_txn(DB_TXN *txn, void *argp)
{
	struct store_ca_arg *a = argp;
	unsigned char *buf = NULL, *p;
	struct ca_cas_rec h;
	char fields[512];
	DBT k, d;
	int clen = i2d_X509(a->cert, NULL), rlen = a->root != NULL ? i2d_X509(a->root, NULL) : 0;
	int ret = CA_ERR;

	if (clen <= 0 || rlen < 0 || (buf = malloc(sizeof(h) + (size_t)clen + (size_t)rlen)) == NULL)
		return CA_ERR;
	memset(&h, 0, sizeof(h));
	h.created = a->now;
	h.cert_len = (uint32_t)clen;
	h.root_len = (uint32_t)rlen;
	memcpy(buf, &h, sizeof(h));
	p = buf + sizeof(h);
	i2d_X509(a->cert, &p);
	if (a->root != NULL)
		i2d_X509(a->root, &p);
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)a->id;
	k.size = (u_int32_t)strlen(a->id);
	d.data = buf;
	d.size = (u_int32_t)(sizeof(h) + (size_t)clen + (size_t)rlen);
	snprintf(fields, sizeof(fields), "ca_id=%s", a->id);
	if ((ret = a->ca->cas->put(a->ca->cas, txn, &k, &d, 0)) == 0 &&
	    (ret = ca_meta_put_str(a->ca, txn, "active_ca", a->id)) == 0 &&
	    (ret = ca_bump_generation(a->ca, txn)) == 0)
		ret = ca_audit_append(a->ca, txn, a->event, a->actor, fields);
	free(buf);
	if (ret == 0 && a->root_key != NULL) {
		char rid[41];

		X509_CRL_free(a->root_crl); /* from an attempt that deadlocked */
		a->root_crl = NULL;
		if (ca_root_id(a->root, rid) != CA_OK)
			return CA_ERR;
		ret = ca_crl_sign_txn(a->ca, txn, rid, a->root, a->root_key, CA_ROOT_CRL_NEXT,
		    a->actor, &a->root_crl, a->err);
	}
	return ret;
}

/*
 * Save the issuing CA key, then its record, the active pointer, the audit and (with root_key)
 * the root's next CRL in one txn.
 */
static int
ca_store_issuer(struct ca *ca, X509 *cert, X509 *root, EVP_PKEY *key, const char *key_uri,
    EVP_PKEY *root_key, const char *event, const char *actor, time_t now, char id[41], X509_CRL **root_crl,
    struct ca_error *err)
{
	struct store_ca_arg a;
	unsigned char ski[20];
	char path[1024];
	int ret;

	if (ca_ski(cert, ski) < 0) {
		ca_seterr(err, "issuing CA certificate has no 20-byte subjectKeyIdentifier");
		return CA_INVALID;
	}
	ca_hex(ski, 20, id);
	snprintf(path, sizeof(path), "%s/ca", ca->store_dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		ca_seterr(err, "cannot create %s", path);
		return CA_ERR;
	}
	if (ca_issuer_key_save(ca, id, key, key_uri, path, sizeof(path), err) != CA_OK)
		return CA_ERR;
	a = (struct store_ca_arg){ ca, id, event, actor, cert, root, now, root_key, NULL, err };
	ret = store_txn_run(ca->st, store_ca_txn, &a);
	if (ret != 0) {
		X509_CRL_free(a.root_crl);
		unlink(path);
		return ca_db_result(ret, err, "store issuing CA");
	}
	ca_after_commit(ca);
	if (root_crl != NULL)
		*root_crl = a.root_crl; /* transferred */
	else
		X509_CRL_free(a.root_crl);
	return CA_OK;
}

static int
admin_ready(struct ca *ca, const char *key_uri, struct ca_error *err)
{
	if (ca->read_only) {
		ca_seterr(err, "the CA was opened read-only");
		return CA_INVALID;
	}
	/* A bad URI is refused before any key is made or written. */
	if (key_uri != NULL && ca_hsm_uri_check(key_uri, err) != CA_OK)
		return CA_INVALID;
	if (ca->org_name == NULL || ca->org_country == NULL || strlen(ca->org_country) != 2) {
		ca_seterr(err, "organization_name and organization_country (two letters) must be "
		    "set for CA certificates");
		return CA_INVALID;
	}
	if (ca_org_check(ca, err) != CA_OK)
		return CA_INVALID;
	return ca_base_url_check(ca, err);
}

/* A CA key: the token key of uri, or one made here of type. */
static EVP_PKEY *
ca_authority_key(struct ca *ca, const char *uri, enum ca_key_type type, struct ca_error *err)
{
	EVP_PKEY *key = NULL;
	enum ca_key_type t;

	if (uri == NULL)
		return ca_keygen(type, err);
	if (ca_hsm_key_load(ca, uri, &key, err) != CA_OK)
		return NULL;
	if (ca_token_key_type(key, &t, err) != CA_OK) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

static int
make_issuing(struct ca *ca, const struct ca_authority_request *req, X509 *root,
    EVP_PKEY *root_key, const char *event, struct ca_authority *out, struct ca_error *err)
{
	time_t now = ca_now(ca);
	EVP_PKEY *key = NULL;
	X509_NAME *subj = NULL;
	X509 *cert = NULL;
	int r = CA_ERR;

	if ((key = ca_authority_key(ca, req->key_uri, req->key_type, err)) == NULL)
		goto out;
	if ((subj = ca_subject(ca, req->common_name, "Issuing CA", now)) == NULL) {
		ca_seterr(err, "cannot build the issuing CA subject");
		goto out;
	}
	cert = ca_cert_make(ca, subj, key, root, root_key, now,
	    req->issuing_days > 0 ? req->issuing_days : 5 * 365, err);
	if (cert == NULL)
		goto out;
	if ((r = ca_store_issuer(ca, cert, root, key, req->key_uri, root_key, event, req->actor,
	    now, out->id,
	    &out->root_crl, err)) != CA_OK)
		goto out;
	out->cert = cert; /* transferred */
	cert = NULL;
	out->active = true;
	out->created = now;
	r = CA_OK;
out:
	EVP_PKEY_free(key);
	X509_NAME_free(subj);
	X509_free(cert);
	return r;
}

int
ca_init(struct ca *ca, const struct ca_authority_request *req, struct ca_authority *out,
    struct ca_error *err)
{
	struct ca_error ignore;
	char id[41];
	X509_NAME *subj = NULL;
	time_t now = ca_now(ca);
	bool root_in_token;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = admin_ready(ca, req->key_uri, err)) != CA_OK)
		return r;
	if (ca_hsm_is_uri(req->root_key_file) &&
	    ca_hsm_uri_check(req->root_key_file, err) != CA_OK)
		return CA_INVALID;
	if (ca_active_id(ca, id, &ignore) == CA_OK) {
		ca_seterr(err, "the CA is already initialised (issuing CA %s): use ca rotate", id);
		return CA_INVALID;
	}
	r = CA_ERR;
	root_in_token = ca_hsm_is_uri(req->root_key_file);
	if ((out->root_key = ca_authority_key(ca, root_in_token ? req->root_key_file : NULL,
	    req->key_type, err)) == NULL)
		goto out;
	if ((subj = ca_subject(ca, req->root_common_name, "Root CA", now)) == NULL)
		goto out;
	out->root = ca_cert_make(ca, subj, out->root_key, NULL, NULL, now,
	    req->root_days > 0 ? req->root_days : 20 * 365, err);
	if (out->root == NULL)
		goto out;
	/* The root key reaches the admin's file before anything is stored: no store without it. */
	if (req->root_key_file != NULL && !root_in_token &&
	    ca_write_key_file(ca, req->root_key_file, out->root_key, err) != CA_OK) {
		r = CA_INVALID;
		goto out;
	}
	r = make_issuing(ca, req, out->root, out->root_key, "ca-init", out, err);
	if (r != CA_OK && req->root_key_file != NULL && !root_in_token)
		unlink(req->root_key_file);
out:
	X509_NAME_free(subj);
	if (r != CA_OK)
		ca_authority_free(out);
	return r;
}

int
ca_rotate(struct ca *ca, const struct ca_authority_request *req, struct ca_authority *out,
    struct ca_error *err)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = admin_ready(ca, req->key_uri, err)) != CA_OK)
		return r;
	if (req->root_cert == NULL || req->root_key == NULL ||
	    X509_check_private_key(req->root_cert, req->root_key) != 1) {
		ca_seterr(err, "ca rotate needs the root certificate and its matching key");
		return CA_INVALID;
	}
	if (!X509_up_ref(req->root_cert))
		return CA_ERR;
	out->root = req->root_cert;
	r = make_issuing(ca, req, out->root, req->root_key, "ca-rotate", out, err);
	if (r != CA_OK)
		ca_authority_free(out);
	return r;
}

static int
import_issuer(struct ca *ca, X509 *cert, EVP_PKEY *key, const char *key_uri,
    STACK_OF(X509) *chain, const char *actor, struct ca_authority *out, struct ca_error *err)
{
	X509 *root = NULL;
	uint32_t ku;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = ca_base_url_check(ca, err)) != CA_OK)
		return r;
	ku = X509_get_key_usage(cert);
	if (X509_check_ca(cert) != 1 || !(ku & KU_KEY_CERT_SIGN) || !(ku & KU_CRL_SIGN) ||
	    !(X509_get_extended_key_usage(cert) & XKU_SMIME)) {
		ca_seterr(err, "the certificate is not an S/MIME issuing CA (basicConstraints, "
		    "keyCertSign, cRLSign, emailProtection)");
		return CA_INVALID;
	}
	if (X509_check_private_key(cert, key) != 1) {
		ca_seterr(err, "the key does not match the certificate");
		return CA_INVALID;
	}
	if (chain != NULL && sk_X509_num(chain) > 0)
		root = sk_X509_value(chain, sk_X509_num(chain) - 1);
	if (root != NULL && X509_check_issued(root, cert) != X509_V_OK &&
	    sk_X509_num(chain) == 1) {
		ca_seterr(err, "the chain does not issue the certificate");
		return CA_INVALID;
	}
	r = ca_store_issuer(ca, cert, root, key, key_uri, NULL, "ca-import", actor, ca_now(ca),
	    out->id, NULL, err);
	if (r != CA_OK)
		return r;
	X509_up_ref(cert);
	out->cert = cert;
	if (root != NULL && X509_up_ref(root))
		out->root = root;
	out->active = true;
	out->created = ca_now(ca);
	return CA_OK;
}

int
ca_import(struct ca *ca, X509 *cert, EVP_PKEY *key, STACK_OF(X509) *chain, const char *actor,
    struct ca_authority *out, struct ca_error *err)
{
	return import_issuer(ca, cert, key, NULL, chain, actor, out, err);
}

int
ca_import_token(struct ca *ca, X509 *cert, const char *key_uri, STACK_OF(X509) *chain,
    const char *actor, struct ca_authority *out, struct ca_error *err)
{
	EVP_PKEY *key = NULL;
	enum ca_key_type t;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = ca_hsm_key_load(ca, key_uri, &key, err)) != CA_OK)
		return r;
	if ((r = ca_token_key_type(key, &t, err)) == CA_OK)
		r = import_issuer(ca, cert, key, key_uri, chain, actor, out, err);
	EVP_PKEY_free(key);
	return r;
}

int
ca_authority_foreach(struct ca *ca, ca_authority_cb cb, void *arg, struct ca_error *err)
{
	DBC *cur = NULL;
	DBT k, d;
	char active[41] = "", id[41];
	struct ca_error ignore;
	int ret, r = CA_OK;

	ca_active_id(ca, active, &ignore);
	if ((ret = ca->cas->cursor(ca->cas, NULL, &cur, 0)) != 0)
		return ca_db_result(ret, err, "issuing CAs");
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	while ((ret = cur->get(cur, &k, &d, DB_NEXT)) == 0) {
		struct ca_issuer iss;
		struct ca_authority a;

		if (k.size >= sizeof(id))
			continue;
		memcpy(id, k.data, k.size);
		id[k.size] = '\0';
		memset(&iss, 0, sizeof(iss));
		if ((r = cas_load(ca, id, &iss, err)) != CA_OK)
			break;
		memset(&a, 0, sizeof(a));
		memcpy(a.id, id, sizeof(id));
		a.cert = iss.cert;
		a.root = iss.root;
		a.created = iss.created;
		a.active = strcmp(id, active) == 0;
		ret = cb(&a, arg);
		ca_authority_free(&a);
		if (ret != 0)
			break;
	}
	cur->close(cur);
	return r;
}
