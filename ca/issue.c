/*
 * issue: ca_issue and ca_renew. Checks the request (mailbox, names, validity, CSR or key type),
 * builds the certificate (profile.c), re-checks it (check.c) and stores certificate, encrypted
 * key, mailbox index, generation counter and audit record in one transaction. Owns certs.db and
 * keys.db writes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "ca/ca_domain.h"
#include "ca/ca_int.h"
#include "ca/keypool.h"
#include "common/log.h"
#include "common/util.h"

#define DEFAULT_VALIDITY (365LL * 86400)

void
ca_issued_free(struct ca_issued *issued)
{
	if (issued == NULL)
		return;
	X509_free(issued->cert);
	X509_free(issued->enc_cert);
	sk_X509_pop_free(issued->chain, X509_free);
	memset(issued, 0, sizeof(*issued));
}

/* A subject name value: UTF-8, no control bytes, 1..64 octets, not only '.', '-', ' '. */
static int
name_ok(const char *what, const char *v, struct ca_error *err)
{
	size_t i, len;
	bool meta = true;

	if (v == NULL)
		return CA_OK;
	len = strnlen(v, 65);
	if (len == 0 || len > 64 || !ca_utf8_valid(v, 64)) {
		ca_seterr(err, "%s must be 1..64 octets of UTF-8", what);
		return CA_INVALID;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
			ca_seterr(err, "%s has a control character", what);
			return CA_INVALID;
		}
		if (v[i] != '.' && v[i] != '-' && v[i] != ' ')
			meta = false;
	}
	if (meta) {
		ca_seterr(err, "%s holds no name", what);
		return CA_INVALID;
	}
	return CA_OK;
}

static int
check_request(struct ca *ca, const struct ca_issue_request *req, struct ca_error *err)
{
	if ((unsigned)req->profile > CA_PROFILE_ORGANIZATION ||
	    (unsigned)req->generation > CA_GEN_MULTIPURPOSE ||
	    (unsigned)req->key_type > CA_KEY_RSA4096) {
		ca_seterr(err, "unknown profile, generation or key type");
		return CA_INVALID;
	}
	if (req->validity_seconds < 0 || req->validity_seconds > CA_MAX_VALIDITY ||
	    (req->validity_seconds > 0 && req->validity_seconds < 3600)) {
		ca_seterr(err, "validity must be between one hour and %lld days", CA_MAX_VALIDITY /
		    86400);
		return CA_INVALID;
	}
	if (req->profile != CA_PROFILE_MAILBOX) {
		if (ca->org_name == NULL || ca->org_id == NULL) {
			ca_seterr(err, "organization_name and organization_identifier must be set for "
			    "the %s profile", ca_profile_name(req->profile));
			return CA_INVALID;
		}
		if (name_ok("organization_name", ca->org_name, err) != CA_OK ||
		    name_ok("organization_identifier", ca->org_id, err) != CA_OK ||
		    ca_org_check(ca, err) != CA_OK)
			return CA_INVALID;
	}
	if (req->profile == CA_PROFILE_SPONSOR) {
		if (req->pseudonym != NULL && (req->given_name != NULL || req->surname != NULL)) {
			ca_seterr(err, "a pseudonym excludes given name and surname");
			return CA_INVALID;
		}
		if (req->pseudonym == NULL && req->given_name == NULL && req->surname == NULL) {
			ca_seterr(err, "the sponsor profile needs a given name/surname or a pseudonym");
			return CA_INVALID;
		}
		if (name_ok("given name", req->given_name, err) != CA_OK ||
		    name_ok("surname", req->surname, err) != CA_OK ||
		    name_ok("pseudonym", req->pseudonym, err) != CA_OK)
			return CA_INVALID;
	} else if (req->given_name != NULL || req->surname != NULL || req->pseudonym != NULL) {
		ca_seterr(err, "personal names belong to the sponsor profile only");
		return CA_INVALID;
	}
	if (req->upn != NULL && (req->generation != CA_GEN_MULTIPURPOSE ||
	    strlen(req->upn) > CA_MAILBOX_MAX || !ca_utf8_valid(req->upn, CA_MAILBOX_MAX) ||
	    strchr(req->upn, '@') == NULL)) {
		ca_seterr(err, "a UPN (user@realm) is allowed only in the Multipurpose generation");
		return CA_INVALID;
	}
	return ca_base_url_check(ca, err);
}

/* The public key of a PKCS#10 request whose own signature verifies; other fields ignored. */
static int
csr_key(const unsigned char *der, size_t len, EVP_PKEY **out, struct ca_error *err)
{
	const unsigned char *p = der;
	X509_REQ *req = NULL;
	EVP_PKEY *key;
	int r = CA_INVALID;

	*out = NULL;
	if (len == 0 || len > CA_CSR_MAX) {
		ca_seterr(err, "the CSR is empty or larger than %d bytes", CA_CSR_MAX);
		return CA_INVALID;
	}
	if ((req = d2i_X509_REQ(NULL, &p, (long)len)) == NULL || p != der + len) {
		ca_seterr_ssl(err, "the CSR is not a DER PKCS#10 request");
		goto out;
	}
	if ((key = X509_REQ_get_pubkey(req)) == NULL) {
		ca_seterr_ssl(err, "the CSR has no usable public key");
		goto out;
	}
	if (X509_REQ_verify(req, key) != 1) {
		EVP_PKEY_free(key);
		ca_seterr_ssl(err, "the CSR signature does not verify");
		goto out;
	}
	*out = key; /* transferred */
	r = CA_OK;
out:
	X509_REQ_free(req);
	return r;
}

/* One certificate ready to store: record, wrapped key (NULL for a CSR's key), audit fields. */
struct leaf_made {
	char serial[41];
	X509 *x;
	unsigned char *rec, *wrapped;
	size_t rec_len, wrapped_len;
	char fields[1200];
};

static void
leaf_made_clear(struct leaf_made *m)
{
	X509_free(m->x);
	free(m->rec);
	OPENSSL_free(m->wrapped);
	memset(m, 0, sizeof(*m));
}

struct issue_txn_arg {
	struct ca *ca;
	struct leaf_made *leaves;
	size_t n;
	const char *event, *actor;
	int (*in_txn)(void *db_txn, void *arg);
	void *in_txn_arg;
	const char *org_domain;   /* organization-validated: the domain that must stay validated */
	time_t now;
	bool domain_gone;         /* it was revoked or expired meanwhile */
};

static int
issue_txn(DB_TXN *txn, void *argp)
{
	struct issue_txn_arg *a = argp;
	DBT k, d;
	int ret;

	if (a->org_domain != NULL) {
		struct ca_domain_info dv;
		bool expired;

		/* Read in the transaction: a domain revoke that commits first stops this issuance. */
		ret = ca_domain_covering(a->ca, txn, a->org_domain, a->now, &dv, &expired);
		if (ret == DB_NOTFOUND) {
			a->domain_gone = true;
			return CA_INVALID;
		}
		if (ret != 0)
			return ret;
	}
	for (size_t i = 0; i < a->n; i++) {
		struct leaf_made *m = &a->leaves[i];

		memset(&k, 0, sizeof(k));
		memset(&d, 0, sizeof(d));
		k.data = m->serial;
		k.size = (u_int32_t)strlen(m->serial);
		d.data = m->rec;
		d.size = (u_int32_t)m->rec_len;
		if ((ret = a->ca->certs->put(a->ca->certs, txn, &k, &d, DB_NOOVERWRITE)) != 0)
			return ret;
		if (m->wrapped != NULL) {
			d.data = m->wrapped;
			d.size = (u_int32_t)m->wrapped_len;
			if ((ret = a->ca->keys->put(a->ca->keys, txn, &k, &d, DB_NOOVERWRITE)) != 0)
				return ret;
		}
		if ((ret = ca_audit_append(a->ca, txn, a->event, a->actor, m->fields)) != 0)
			return ret;
	}
	if ((ret = ca_bump_generation(a->ca, txn)) != 0)
		return ret;
	return a->in_txn != NULL ? a->in_txn(txn, a->in_txn_arg) : 0;
}

/* What one issuance shares between the certificates of a pair. */
struct issue_ctx {
	struct ca *ca;
	struct ca_issuer *iss;
	const char *id, *mailbox, *extra_fields;
	const struct ca_issue_request *req;
	time_t not_before, not_after;
};

/*
 * Organization-validated issuance rests on a domain control validation (S/MIME BR 3.2.2.1):
 * find the one covering the mailbox's domain and name it in the audit fields.
 */
static int
org_domain_check(struct ca *ca, const char *mailbox, const char *extra, char *fields,
    size_t cap, char domain[CA_DOMAIN_MAX + 1], struct ca_error *err)
{
	struct ca_domain_info dv;
	const char *at = strrchr(mailbox, '@');
	int r;

	if (at == NULL || ca_domain_normalise(at + 1, domain, err) != CA_OK)
		return CA_INVALID;
	if ((r = ca_domain_valid_for(ca, domain, ca_now(ca), &dv, err)) != CA_OK)
		return r == CA_ERR ? CA_ERR : CA_INVALID;
	snprintf(fields, cap, "domain_validation=%s validated_domain=%s%s%s", dv.id, dv.domain,
	    extra != NULL ? " " : "", extra != NULL ? extra : "");
	return CA_OK;
}

/* Build, check and encode one certificate for `key`; `wrap` keeps the key (CA-made). */
static int
make_leaf(const struct issue_ctx *c, EVP_PKEY *key, enum ca_key_type kt, unsigned uses,
    bool wrap, const char *partner, struct leaf_made *m, struct ca_error *err)
{
	const struct ca_issue_request *req = c->req;
	struct ca_leaf_spec spec;
	struct ca_cert_rec h;
	char vb[300], refb[160];
	unsigned char *der = NULL;
	BIGNUM *bn = NULL;
	char *hex = NULL;
	int der_len, r;

	memset(m, 0, sizeof(*m));
	memset(&spec, 0, sizeof(spec));
	spec.req = req;
	spec.mailbox = c->mailbox;
	spec.pubkey = key;
	spec.not_before = c->not_before;
	spec.not_after = c->not_after;
	spec.uses = uses;
	if ((r = ca_leaf_build(c->ca, c->iss, &spec, &m->x, err)) != CA_OK)
		goto out;
	r = CA_ERR;
	if ((der_len = i2d_X509(m->x, &der)) <= 0) {
		ca_seterr_ssl(err, "cannot encode the certificate");
		goto out;
	}
	if ((r = ca_leaf_check(c->ca, c->iss, der, (size_t)der_len, &spec, err)) != CA_OK)
		goto out;
	r = CA_ERR;
	if (wrap && ca_key_wrap(c->ca, key, &m->wrapped, &m->wrapped_len, err) != CA_OK)
		goto out;
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(m->x), NULL)) == NULL ||
	    (hex = BN_bn2hex(bn)) == NULL || ca_serial_normalise(hex, m->serial) < 0)
		goto out;
	memset(&h, 0, sizeof(h));
	h.version = 1;
	h.profile = (uint8_t)req->profile;
	h.generation = (uint8_t)req->generation;
	h.key_type = (uint8_t)kt;
	h.issued_at = c->not_before;
	h.not_before = c->not_before;
	h.not_after = c->not_after;
	memcpy(h.ca_id, c->id, sizeof(h.ca_id));
	snprintf(h.mailbox, sizeof(h.mailbox), "%s", c->mailbox);
	h.der_len = (uint32_t)der_len;
	if ((m->rec = malloc(sizeof(h) + (size_t)der_len)) == NULL)
		goto out;
	memcpy(m->rec, &h, sizeof(h));
	memcpy(m->rec + sizeof(h), der, (size_t)der_len);
	m->rec_len = sizeof(h) + (size_t)der_len;
	snprintf(m->fields, sizeof(m->fields), "serial=%s mailbox=%s profile=%s generation=%s "
	    "key=%s csr=%s ca_id=%s validation=%s use=%s%s%s%s%s", m->serial,
	    as_log_value(c->mailbox, vb, sizeof(vb)), ca_profile_name(req->profile),
	    ca_generation_name(req->generation), ca_key_type_name(kt),
	    req->csr_der != NULL ? "yes" : "no", c->id,
	    as_log_value(req->validation_ref != NULL ? req->validation_ref : "-", refb,
	    sizeof(refb)), ca_uses_name(uses), partner != NULL ? " pair=" : "",
	    partner != NULL ? partner : "", c->extra_fields != NULL ? " " : "",
	    c->extra_fields != NULL ? c->extra_fields : "");
	r = CA_OK;
out:
	if (r != CA_OK)
		leaf_made_clear(m);
	OPENSSL_free(der);
	OPENSSL_free(hex);
	BN_free(bn);
	return r;
}

static EVP_PKEY *
ca_made_key(struct ca *ca, enum ca_key_type kt, struct ca_error *err)
{
	EVP_PKEY *key = ca_kpool_take(ca->pool, kt);

	return key != NULL ? key : ca_keygen(kt, err);
}

int
ca_issue_with_event(struct ca *ca, const struct ca_issue_request *req, const char *event,
    const char *extra_fields, struct ca_issued *out, struct ca_error *err)
{
	char mailbox[CA_MAILBOX_MAX + 2], id[41], ab[80], org_fields[CA_DOMAIN_MAX + 160];
	char org_dom[CA_DOMAIN_MAX + 1];
	const char *org_domain = NULL;
	struct issue_ctx c;
	struct leaf_made leaves[2];
	struct issue_txn_arg a;
	enum ca_key_type kt = req->key_type;
	EVP_PKEY *key = NULL, *enc_key = NULL;
	long long validity = req->validity_seconds > 0 ? req->validity_seconds : DEFAULT_VALIDITY;
	bool pair = ca->separate_encryption && req->csr_der == NULL && !req->single;
	size_t n = 0;
	int r, ret;

	memset(out, 0, sizeof(*out));
	memset(leaves, 0, sizeof(leaves));
	if (ca->read_only) {
		ca_seterr(err, "the CA was opened read-only");
		return CA_INVALID;
	}
	if ((r = ca_mailbox_normalise(req->mailbox, mailbox, sizeof(mailbox), err)) != CA_OK ||
	    (r = check_request(ca, req, err)) != CA_OK)
		return r;
	if (req->profile == CA_PROFILE_ORGANIZATION) {
		if ((r = org_domain_check(ca, mailbox, extra_fields, org_fields, sizeof(org_fields),
		    org_dom, err)) != CA_OK)
			return r;
		extra_fields = org_fields;
		org_domain = org_dom;
	}
	if (req->csr_der != NULL) {
		if ((r = csr_key(req->csr_der, req->csr_len, &key, err)) != CA_OK ||
		    (r = ca_key_classify(key, &kt, err)) != CA_OK)
			goto out;
	} else if ((key = ca_made_key(ca, req->key_type, err)) == NULL ||
	    (pair && (enc_key = ca_made_key(ca, ca->enc_key_type, err)) == NULL)) {
		r = CA_ERR;
		goto out;
	}
	memset(&c, 0, sizeof(c));
	if ((r = ca_active_id(ca, id, err)) != CA_OK ||
	    (r = ca_issuer_get(ca, id, true, &c.iss, err)) != CA_OK)
		goto out;
	if (req->rsa_pss && !EVP_PKEY_is_a(c.iss->key, "RSA")) {
		ca_seterr(err, "RSASSA-PSS needs an RSA issuing CA; the active one (%s) has an "
		    "EC key", id);
		r = CA_INVALID;
		goto out;
	}
	c.ca = ca;
	c.id = id;
	c.mailbox = mailbox;
	c.extra_fields = extra_fields;
	c.req = req;
	c.not_before = ca_now(ca);
	/* notAfter is inclusive (RFC 5280), so the last second is not counted twice. */
	c.not_after = c.not_before + (time_t)validity - 1;
	if (X509_cmp_time(X509_get0_notAfter(c.iss->cert), &c.not_after) < 0) {
		ca_seterr(err, "the issuing CA expires before the certificate would: ca rotate");
		r = CA_INVALID;
		goto out;
	}
	if ((r = make_leaf(&c, key, kt, pair ? CA_USE_SIGN : CA_USE_SIGN | CA_USE_ENCRYPT,
	    req->csr_der == NULL, NULL, &leaves[n], err)) != CA_OK)
		goto out;
	n++;
	if (pair) {
		if ((r = make_leaf(&c, enc_key, ca->enc_key_type, CA_USE_ENCRYPT, true,
		    leaves[0].serial, &leaves[n], err)) != CA_OK)
			goto out;
		n++;
	}
	a = (struct issue_txn_arg){ ca, leaves, n, event, as_log_value(req->actor != NULL ?
		req->actor : "-", ab, sizeof(ab)), req->in_txn, req->in_txn_arg, org_domain,
		ca_now(ca), false };
	err->text[0] = '\0';
	if ((ret = store_txn_run(ca->st, issue_txn, &a)) != 0) {
		r = ca_db_result(ret, err, "issue");
		if (a.domain_gone)
			ca_seterr(err, "the domain validation of %s ended during issuance: autosmimectl "
			    "domain validate %s", org_domain, org_domain);
		if (err->text[0] == '\0')
			ca_seterr(err, "issue: the work that commits with it failed; nothing was issued");
		goto out;
	}
	ca_after_commit(ca);
	memcpy(out->serial_hex, leaves[0].serial, sizeof(out->serial_hex));
	out->cert = leaves[0].x; /* transferred */
	leaves[0].x = NULL;
	if (n > 1) {
		memcpy(out->enc_serial_hex, leaves[1].serial, sizeof(out->enc_serial_hex));
		out->enc_cert = leaves[1].x; /* transferred */
		leaves[1].x = NULL;
	}
	out->not_after = c.not_after;
	r = CA_ERR;
	if ((out->chain = sk_X509_new_null()) == NULL || !X509_up_ref(c.iss->cert) ||
	    !sk_X509_push(out->chain, c.iss->cert)) {
		ca_seterr(err, "out of memory");
		goto out; /* issued and stored; the caller sees CA_ERR but can look it up */
	}
	r = CA_OK;
out:
	if (r != CA_OK && r != CA_ERR)
		memset(out->serial_hex, 0, sizeof(out->serial_hex));
	for (size_t i = 0; i < 2; i++)
		leaf_made_clear(&leaves[i]);
	EVP_PKEY_free(key);
	EVP_PKEY_free(enc_key);
	return r;
}

int
ca_issue(struct ca *ca, const struct ca_issue_request *req, struct ca_issued *out,
    struct ca_error *err)
{
	return ca_issue_with_event(ca, req, "issue", NULL, out, err);
}

/* Copy a subject attribute of the old certificate into buf; NULL when absent. */
static const char *
subject_attr(X509 *x, int nid, char *buf, size_t cap)
{
	int i = X509_NAME_get_index_by_NID(X509_get_subject_name(x), nid, -1);
	const ASN1_STRING *s;

	if (i < 0)
		return NULL;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(X509_get_subject_name(x), i));
	snprintf(buf, cap, "%.*s", ASN1_STRING_length(s), (const char *)ASN1_STRING_get0_data(s));
	return buf;
}

int
ca_renew(struct ca *ca, const char *serial_hex, const char *actor, struct ca_issued *out,
    struct ca_error *err)
{
	struct ca_issue_request req;
	struct ca_cert_info old;
	char gn[80], sn[80], ps[80], extra[80];
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = ca_cert_get(ca, serial_hex, &old, err)) != CA_OK)
		return r;
	memset(&req, 0, sizeof(req));
	req.mailbox = old.mailbox;
	req.profile = old.profile;
	req.generation = old.generation;
	req.key_type = old.key_type;
	req.actor = actor;
	/*
	 * Renewing the encryption half of a pair renews the pair: with the signing certificate's
	 * key type, read from its record (no key is decrypted for it).
	 */
	if (old.cert != NULL && ca_cert_uses(old.cert) == CA_USE_ENCRYPT) {
		struct ca_error ignored;
		enum ca_key_type skt;

		if (ca_valid_key_type(ca, old.mailbox, CA_USE_SIGN, &skt, &ignored) == CA_OK)
			req.key_type = skt;
	}
	if (old.profile == CA_PROFILE_SPONSOR) {
		req.given_name = subject_attr(old.cert, NID_givenName, gn, sizeof(gn));
		req.surname = subject_attr(old.cert, NID_surname, sn, sizeof(sn));
		req.pseudonym = subject_attr(old.cert, NID_pseudonym, ps, sizeof(ps));
	}
	snprintf(extra, sizeof(extra), "renews=%s", old.serial_hex);
	r = ca_issue_with_event(ca, &req, "renew", extra, out, err);
	ca_cert_info_free(&old);
	return r;
}
