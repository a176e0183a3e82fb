/*
 * lookup: reading certificates back: by serial, by mailbox (the certs_mbox.db secondary index),
 * listings with filters, the signer of a mailbox (certificate + decrypted key + chain) and
 * recipient certificates (ours first, then harvested/imported ones). Owns recipients.db and
 * the index key form (the mailbox in ASCII lower case).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "ca/ca_int.h"
#include "common/log.h"
#include "common/util.h"

static void
index_key(const char *mailbox, char *out, size_t cap)
{
	size_t i;

	for (i = 0; mailbox[i] != '\0' && i + 1 < cap; i++)
		out[i] = (char)tolower((unsigned char)mailbox[i]);
	out[i] = '\0';
}

int
ca_by_mailbox_cb(DB *sdb, const DBT *pkey, const DBT *pdata, DBT *skey)
{
	struct ca_cert_rec h;
	char *key;

	(void)sdb;
	(void)pkey;
	if (pdata->size < sizeof(h))
		return DB_DONOTINDEX;
	memcpy(&h, pdata->data, sizeof(h));
	h.mailbox[sizeof(h.mailbox) - 1] = '\0';
	if ((key = malloc(sizeof(h.mailbox))) == NULL)
		return ENOMEM;
	index_key(h.mailbox, key, sizeof(h.mailbox));
	memset(skey, 0, sizeof(*skey));
	skey->data = key;
	skey->size = (u_int32_t)strlen(key);
	skey->flags = DB_DBT_APPMALLOC;
	return 0;
}

/* The mailbox index follows certs.db; again after every reopen of the store. */
int
ca_associate(void *arg)
{
	struct ca *ca = arg;

	return ca->certs->associate(ca->certs, NULL, ca->by_mailbox, ca_by_mailbox_cb,
	    DB_CREATE | DB_AUTO_COMMIT);
}

/* Lower-case hex without leading zeros (except one), at most 40 digits. */
int
ca_serial_normalise(const char *in, char out[41])
{
	size_t i, n = 0;

	if (in == NULL)
		return -1;
	if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
		in += 2;
	while (in[0] == '0' && in[1] != '\0')
		in++;
	for (i = 0; in[i] != '\0'; i++) {
		if (!isxdigit((unsigned char)in[i]) || n >= 40)
			return -1;
		out[n++] = (char)tolower((unsigned char)in[i]);
	}
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

void
ca_cert_info_free(struct ca_cert_info *info)
{
	if (info == NULL)
		return;
	X509_free(info->cert);
	info->cert = NULL;
}

/* Fill info from a raw cert record; status from revoked.db and the clock. */
static int
rec_to_info(struct ca *ca, DB_TXN *txn, const char *serial, const DBT *d,
    struct ca_cert_info *out, bool want_cert, struct ca_error *err)
{
	struct ca_cert_rec h;
	struct ca_revoke_rec rv;
	const unsigned char *p;
	DBT k, rd;
	int ret;

	memset(out, 0, sizeof(*out));
	if (d->size < sizeof(h)) {
		ca_seterr(err, "certificate record %s is damaged", serial);
		return CA_ERR;
	}
	memcpy(&h, d->data, sizeof(h));
	if (d->size != sizeof(h) + h.der_len) {
		ca_seterr(err, "certificate record %s is damaged", serial);
		return CA_ERR;
	}
	snprintf(out->serial_hex, sizeof(out->serial_hex), "%s", serial);
	h.mailbox[sizeof(h.mailbox) - 1] = '\0';
	h.ca_id[sizeof(h.ca_id) - 1] = '\0';
	snprintf(out->mailbox, sizeof(out->mailbox), "%s", h.mailbox);
	snprintf(out->ca_id, sizeof(out->ca_id), "%s", h.ca_id);
	out->profile = h.profile;
	out->generation = h.generation;
	out->key_type = h.key_type;
	out->issued_at = (time_t)h.issued_at;
	out->not_before = (time_t)h.not_before;
	out->not_after = (time_t)h.not_after;
	out->status = ca_now(ca) > out->not_after ? CA_STATUS_EXPIRED : CA_STATUS_VALID;
	memset(&k, 0, sizeof(k));
	memset(&rd, 0, sizeof(rd));
	k.data = (void *)serial;
	k.size = (u_int32_t)strlen(serial);
	rd.data = &rv;
	rd.ulen = sizeof(rv);
	rd.flags = DB_DBT_USERMEM;
	ret = ca->revoked->get(ca->revoked, txn, &k, &rd, 0);
	if (ret == 0 && rd.size == sizeof(rv)) {
		out->status = CA_STATUS_REVOKED;
		out->revoked_at = (time_t)rv.time;
		out->reason = rv.reason;
	} else if (ret != 0 && ret != DB_NOTFOUND) {
		return ca_db_result(ret, err, "revocation");
	} else {
		/* a certificate of a revoked issuing CA is revoked with it */
		char key[64];
		uint64_t when = 0;

		snprintf(key, sizeof(key), "ca_revoked:%s", out->ca_id);
		if ((ret = ca_meta_get_u64(ca, txn, key, &when, 0)) != 0)
			return ca_db_result(ret, err, "revocation");
		if (when != 0) {
			out->status = CA_STATUS_REVOKED;
			out->revoked_at = (time_t)when;
			out->reason = CA_REASON_CA_COMPROMISE;
		}
	}
	if (want_cert) {
		p = (const unsigned char *)d->data + sizeof(h);
		if ((out->cert = d2i_X509(NULL, &p, h.der_len)) == NULL) {
			ca_seterr(err, "certificate %s does not decode", serial);
			return CA_ERR;
		}
	}
	return CA_OK;
}

int
ca_cert_rec_load(struct ca *ca, DB_TXN *txn, const char *serial, struct ca_cert_info *out,
    bool want_cert, struct ca_error *err)
{
	DBT k, d;
	int ret, r;

	memset(out, 0, sizeof(*out));
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)serial;
	k.size = (u_int32_t)strlen(serial);
	d.flags = DB_DBT_MALLOC;
	if ((ret = ca->certs->get(ca->certs, txn, &k, &d, 0)) != 0) {
		r = ca_db_result(ret, err, "certificate");
		if (r == CA_NOTFOUND)
			ca_seterr(err, "no certificate with serial %s", serial);
		return r;
	}
	r = rec_to_info(ca, txn, serial, &d, out, want_cert, err);
	free(d.data);
	return r;
}

int
ca_cert_get(struct ca *ca, const char *serial_hex, struct ca_cert_info *out,
    struct ca_error *err)
{
	char serial[41];

	memset(out, 0, sizeof(*out));
	if (ca_serial_normalise(serial_hex, serial) < 0) {
		ca_seterr(err, "a serial number is 1..40 hex digits");
		return CA_INVALID;
	}
	return ca_cert_rec_load(ca, NULL, serial, out, true, err);
}

static bool
filter_match(struct ca *ca, const struct ca_cert_filter *f, const struct ca_cert_info *i)
{
	if (f == NULL)
		return true;
	if (f->ca_id != NULL && strcmp(f->ca_id, i->ca_id) != 0)
		return false;
	if (f->status >= 0 && (int)i->status != f->status)
		return false;
	if (f->expiring_within > 0 && (i->status != CA_STATUS_VALID ||
	    i->not_after > ca_now(ca) + f->expiring_within))
		return false;
	return true;
}

/*
 * Whether a record can match the filter, from its fixed header alone: a listing over the whole
 * store then decodes (and looks up the revocation of) only the records that may match, not
 * every certificate. false only when filter_match would refuse it whatever its revocation.
 */
static bool
header_may_match(struct ca *ca, const struct ca_cert_filter *f, const DBT *d)
{
	struct ca_cert_rec h;
	time_t now;

	if (f == NULL || d->size < sizeof(h))
		return true;   /* rec_to_info reports a damaged record */
	memcpy(&h, d->data, sizeof(h));
	h.ca_id[sizeof(h.ca_id) - 1] = '\0';
	if (f->ca_id != NULL && strcmp(f->ca_id, h.ca_id) != 0)
		return false;
	now = ca_now(ca);
	/* expired (not_after passed) overrides valid; revocation can only take valid away */
	if ((f->status == CA_STATUS_VALID || f->expiring_within > 0) && now > (time_t)h.not_after)
		return false;
	if (f->status == CA_STATUS_EXPIRED && now <= (time_t)h.not_after)
		return false;
	if (f->expiring_within > 0 && (time_t)h.not_after > now + f->expiring_within)
		return false;
	return true;
}

int
ca_cert_foreach(struct ca *ca, const struct ca_cert_filter *f, ca_cert_cb cb, void *arg,
    struct ca_error *err)
{
	char key[CA_MAILBOX_MAX + 2], serial[41];
	struct ca_cert_info info;
	DBC *cur = NULL;
	DBT k, pk, d;
	u_int32_t first;
	int ret, r = CA_OK;

	memset(&k, 0, sizeof(k));
	memset(&pk, 0, sizeof(pk));
	memset(&d, 0, sizeof(d));
	d.flags = DB_DBT_REALLOC;
	pk.flags = DB_DBT_REALLOC;
	if (f != NULL && f->mailbox != NULL) {
		if (strlen(f->mailbox) > CA_MAILBOX_MAX) {
			ca_seterr(err, "mailbox is too long");
			return CA_INVALID;
		}
		index_key(f->mailbox, key, sizeof(key));
		k.data = key;
		k.size = (u_int32_t)strlen(key);
		ret = ca->by_mailbox->cursor(ca->by_mailbox, NULL, &cur, 0);
		first = DB_SET;
	} else {
		k.flags = DB_DBT_REALLOC;
		ret = ca->certs->cursor(ca->certs, NULL, &cur, 0);
		first = DB_FIRST;
	}
	if (ret != 0)
		return ca_db_result(ret, err, "certificates");
	for (;;) {
		if (f != NULL && f->mailbox != NULL)
			ret = cur->pget(cur, &k, &pk, &d, first == DB_SET ? DB_SET : DB_NEXT_DUP);
		else
			ret = cur->get(cur, &k, &d, first == DB_FIRST ? DB_FIRST : DB_NEXT);
		first = 0;
		if (ret == DB_NOTFOUND)
			break;
		if (ret != 0) {
			r = ca_db_result(ret, err, "certificates");
			break;
		}
		{
			const DBT *sk = f != NULL && f->mailbox != NULL ? &pk : &k;

			if (sk->size >= sizeof(serial))
				continue;
			memcpy(serial, sk->data, sk->size);
			serial[sk->size] = '\0';
		}
		if (!header_may_match(ca, f, &d))
			continue;
		if ((r = rec_to_info(ca, NULL, serial, &d, &info, true, err)) != CA_OK)
			break;
		if (filter_match(ca, f, &info) && cb(&info, arg) != 0) {
			ca_cert_info_free(&info);
			break;
		}
		ca_cert_info_free(&info);
	}
	cur->close(cur);
	if (k.flags == DB_DBT_REALLOC)
		free(k.data);
	free(pk.data);
	free(d.data);
	return r;
}

unsigned
ca_cert_uses(X509 *cert)
{
	uint32_t ku = X509_get_key_usage(cert);
	unsigned uses = 0;

	if (ku == UINT32_MAX)
		return CA_USE_SIGN | CA_USE_ENCRYPT;
	if (ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION))
		uses |= CA_USE_SIGN;
	if (ku & (EVP_PKEY_is_a(X509_get0_pubkey(cert), "EC") ? KU_KEY_AGREEMENT :
	    KU_KEY_ENCIPHERMENT))
		uses |= CA_USE_ENCRYPT;
	return uses;
}

const char *
ca_uses_name(unsigned uses)
{
	if (uses == CA_USE_SIGN)
		return "sign";
	if (uses == CA_USE_ENCRYPT)
		return "encrypt";
	return uses == 0 ? "none" : "dual";
}

/* The newest valid certificate of a mailbox that may do `use`. */
struct pick {
	struct ca_cert_info best;
	bool found;
	time_t now;
	unsigned use;
};

static int
pick_cb(const struct ca_cert_info *i, void *arg)
{
	struct pick *p = arg;

	if (i->status != CA_STATUS_VALID || i->not_before > p->now || i->cert == NULL ||
	    !(ca_cert_uses(i->cert) & p->use))
		return 0;
	if (!p->found || i->not_after > p->best.not_after ||
	    (i->not_after == p->best.not_after && i->issued_at > p->best.issued_at)) {
		ca_cert_info_free(&p->best);
		p->best = *i;
		if (!X509_up_ref(i->cert))
			p->best.cert = NULL;
		p->found = true;
	}
	return 0;
}

static int
pick_valid(struct ca *ca, const char *mailbox, unsigned use, struct pick *p,
    struct ca_error *err)
{
	struct ca_cert_filter f = { mailbox, NULL, -1, 0 };
	int r;

	memset(p, 0, sizeof(*p));
	p->now = ca_now(ca);
	p->use = use;
	if ((r = ca_cert_foreach(ca, &f, pick_cb, p, err)) != CA_OK)
		return r;
	if (!p->found || p->best.cert == NULL) {
		ca_seterr(err, "no valid %s certificate for this mailbox", use == CA_USE_SIGN ?
		    "signing" : "encryption");
		return CA_NOTFOUND;
	}
	return CA_OK;
}

void
ca_signer_free(struct ca_signer *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->key); /* OpenSSL clears private key material when freeing it */
	X509_free(s->cert);
	sk_X509_pop_free(s->chain, X509_free);
	as_wipe(s, sizeof(*s));
	free(s);
}

/* The decrypted key and the chain of one stored certificate; `info` gives up its cert. */
static int
signer_of(struct ca *ca, struct ca_cert_info *info, struct ca_signer **out, struct ca_error *err)
{
	struct ca_signer *s = NULL;
	struct ca_issuer *iss;
	DBT k, d;
	int ret, r = CA_ERR;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->chain = sk_X509_new_null()) == NULL)
		goto out;
	memcpy(s->serial_hex, info->serial_hex, sizeof(s->serial_hex));
	s->cert = info->cert; /* transferred */
	info->cert = NULL;
	s->not_after = info->not_after;
	k.data = s->serial_hex;
	k.size = (u_int32_t)strlen(s->serial_hex);
	d.flags = DB_DBT_MALLOC;
	if ((ret = ca->keys->get(ca->keys, NULL, &k, &d, 0)) != 0) {
		r = ca_db_result(ret, err, "user key");
		if (r == CA_NOTFOUND)
			ca_seterr(err, "no key stored for certificate %s", s->serial_hex);
		goto out;
	}
	if ((r = ca_key_unwrap(ca, d.data, d.size, &s->key, err)) != CA_OK)
		goto out;
	r = CA_ERR;
	if (ca_issuer_get(ca, info->ca_id, false, &iss, err) != CA_OK)
		goto out;
	if (!X509_up_ref(iss->cert) || !sk_X509_push(s->chain, iss->cert))
		goto out;
	*out = s; /* transferred */
	s = NULL;
	r = CA_OK;
out:
	if (d.data != NULL) {
		as_wipe(d.data, d.size);
		free(d.data);
	}
	ca_signer_free(s);
	return r;
}

/* The newest valid certificate of mailbox that may do `use`, with its key. */
static int
load_for_use(struct ca *ca, const char *mailbox, unsigned use, struct ca_signer **out,
    struct ca_error *err)
{
	struct pick p;
	int r;

	*out = NULL;
	if ((r = pick_valid(ca, mailbox, use, &p, err)) != CA_OK)
		return r;
	r = signer_of(ca, &p.best, out, err);
	ca_cert_info_free(&p.best);
	return r;
}

int
ca_signer_load(struct ca *ca, const char *mailbox, struct ca_signer **out, struct ca_error *err)
{
	return load_for_use(ca, mailbox, CA_USE_SIGN, out, err);
}

int
ca_decrypter_load(struct ca *ca, const char *mailbox, struct ca_signer **out,
    struct ca_error *err)
{
	return load_for_use(ca, mailbox, CA_USE_ENCRYPT, out, err);
}

int
ca_signer_load_serial(struct ca *ca, const char *serial_hex, struct ca_signer **out,
    struct ca_error *err)
{
	struct ca_cert_info info;
	int r;

	*out = NULL;
	memset(&info, 0, sizeof(info));
	if ((r = ca_cert_get(ca, serial_hex, &info, err)) != CA_OK)
		return r;
	r = signer_of(ca, &info, out, err);
	ca_cert_info_free(&info);
	return r;
}

int
ca_encryption_cert(struct ca *ca, const char *mailbox, X509 **out, struct ca_error *err)
{
	struct pick p;
	int r;

	*out = NULL;
	if ((r = pick_valid(ca, mailbox, CA_USE_ENCRYPT, &p, err)) != CA_OK)
		return r;
	*out = p.best.cert; /* transferred */
	p.best.cert = NULL;
	ca_cert_info_free(&p.best);
	return CA_OK;
}

int
ca_valid_key_type(struct ca *ca, const char *mailbox, unsigned use, enum ca_key_type *out,
    struct ca_error *err)
{
	struct pick p;
	int r;

	if ((r = pick_valid(ca, mailbox, use, &p, err)) != CA_OK)
		return r;
	*out = p.best.key_type;
	ca_cert_info_free(&p.best);
	return CA_OK;
}

int
ca_recipient_cert(struct ca *ca, const char *mailbox, X509 **out, struct ca_error *err)
{
	struct ca_recipient_rec h;
	char key[CA_MAILBOX_MAX + 2];
	unsigned char *caps = NULL;
	size_t caps_len = 0;
	struct pick p;
	DBT k, d;
	int ret, r;

	*out = NULL;
	if ((r = pick_valid(ca, mailbox, CA_USE_ENCRYPT, &p, err)) == CA_OK) {
		*out = p.best.cert; /* transferred */
		return CA_OK;
	}
	if (r != CA_NOTFOUND)
		return r;
	if (strlen(mailbox) > CA_MAILBOX_MAX)
		return CA_INVALID;
	index_key(mailbox, key, sizeof(key));
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = key;
	k.size = (u_int32_t)strlen(key);
	d.flags = DB_DBT_MALLOC;
	if ((ret = ca->recipients->get(ca->recipients, NULL, &k, &d, 0)) != 0) {
		r = ca_db_result(ret, err, "recipient certificate");
		if (r == CA_NOTFOUND)
			ca_seterr(err, "no certificate for this recipient");
		return r;
	}
	r = ca_recipient_rec_parse(d.data, d.size, &h, out, &caps, &caps_len, err);
	free(d.data);
	free(caps);
	if (r != CA_OK)
		return r;
	if (X509_cmp_time(X509_get0_notAfter(*out), NULL) < 0) {
		X509_free(*out);
		*out = NULL;
		ca_seterr(err, "the stored recipient certificate has expired");
		return CA_NOTFOUND;
	}
	if (!(ca_cert_uses(*out) & CA_USE_ENCRYPT)) {
		X509_free(*out);
		*out = NULL;
		ca_seterr(err, "the stored recipient certificate may not be used for encryption");
		return CA_NOTFOUND;
	}
	return CA_OK;
}

struct recip_arg {
	struct ca *ca;
	const char *key;
	const unsigned char *rec;
	size_t len;
	const char *fields;
};

static int
recip_txn(DB_TXN *txn, void *argp)
{
	struct recip_arg *a = argp;
	DBT k, d;
	int ret;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)a->key;
	k.size = (u_int32_t)strlen(a->key);
	d.data = (void *)a->rec;
	d.size = (u_int32_t)a->len;
	if ((ret = a->ca->recipients->put(a->ca->recipients, txn, &k, &d, 0)) != 0 ||
	    (ret = ca_bump_generation(a->ca, txn)) != 0)
		return ret;
	return ca_audit_append(a->ca, txn, "recipient-store", "ca", a->fields);
}

int
ca_recipient_store(struct ca *ca, const char *mailbox, X509 *cert, const char *source,
    struct ca_error *err)
{
	return ca_recipient_store_caps(ca, mailbox, cert, source, NULL, 0, err);
}

int
ca_recipient_store_caps(struct ca *ca, const char *mailbox, X509 *cert, const char *source,
    const unsigned char *caps, size_t caps_len, struct ca_error *err)
{
	struct ca_recipient_rec h;
	struct ca_recipient_ext ext;
	char norm[CA_MAILBOX_MAX + 2], key[CA_MAILBOX_MAX + 2], fields[768], vb[300], vb2[80];
	unsigned char *buf = NULL, *p;
	struct recip_arg a;
	size_t total;
	int len, r;

	if (caps == NULL)
		caps_len = 0;
	if (caps_len > CA_RECIPIENT_CAPS_MAX) {
		ca_seterr(err, "the capabilities are too large");
		return CA_INVALID;
	}
	if ((r = ca_mailbox_normalise(mailbox, norm, sizeof(norm), err)) != CA_OK)
		return r;
	if (cert == NULL || X509_check_email(cert, norm, 0, 0) != 1) {
		ca_seterr(err, "the certificate does not name this mailbox");
		return CA_INVALID;
	}
	if (!(X509_get_extended_key_usage(cert) & XKU_SMIME) ||
	    X509_cmp_time(X509_get0_notAfter(cert), NULL) < 0) {
		ca_seterr(err, "the certificate is expired or not for email protection");
		return CA_INVALID;
	}
	if ((len = i2d_X509(cert, NULL)) <= 0 || len > 64 * 1024 ||
	    (buf = malloc((total = sizeof(h) + (size_t)len + sizeof(ext) + caps_len))) == NULL) {
		ca_seterr(err, "the certificate cannot be encoded");
		return CA_INVALID;
	}
	memset(&h, 0, sizeof(h));
	h.stored_at = ca_now(ca);
	snprintf(h.source, sizeof(h.source), "%s", source != NULL ? source : "import");
	h.der_len = (uint32_t)len;
	memcpy(buf, &h, sizeof(h));
	p = buf + sizeof(h);
	i2d_X509(cert, &p);
	memset(&ext, 0, sizeof(ext));
	memcpy(ext.magic, CA_RECIPIENT_EXT_MAGIC, sizeof(ext.magic));
	ext.caps_len = (uint32_t)caps_len;
	memcpy(p, &ext, sizeof(ext));
	if (caps_len > 0)
		memcpy(p + sizeof(ext), caps, caps_len);
	index_key(norm, key, sizeof(key));
	snprintf(fields, sizeof(fields), "mailbox=%s source=%s capabilities=%s",
	    as_log_value(norm, vb, sizeof(vb)), as_log_value(h.source, vb2, sizeof(vb2)),
	    caps_len > 0 ? "yes" : "no");
	a = (struct recip_arg){ ca, key, buf, total, fields };
	r = ca_db_result(store_txn_run(ca->st, recip_txn, &a), err, "recipient store");
	if (r == CA_OK)
		ca_after_commit(ca);
	free(buf);
	return r;
}
