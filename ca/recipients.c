/*
 * recipients: listing, reading and removing the recipient certificates of recipients.db
 * (harvested from signed inbound mail, imported by the admin, found in SMIMEA). Storing and
 * the encryption lookup stay in lookup.c; both use the same key form (the normalised mailbox
 * in ASCII lower case) and record layout (struct ca_recipient_rec + DER).
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_int.h"
#include "common/log.h"

void
ca_recipient_info_free(struct ca_recipient_info *info)
{
	if (info == NULL)
		return;
	X509_free(info->cert);
	free(info->caps);
	memset(info, 0, sizeof(*info));
}

int
ca_recipient_rec_parse(const void *data, size_t size, struct ca_recipient_rec *h, X509 **cert,
    unsigned char **caps, size_t *caps_len, struct ca_error *err)
{
	const unsigned char *d = data, *q;
	struct ca_recipient_ext ext;
	size_t rest;

	*cert = NULL;
	*caps = NULL;
	*caps_len = 0;
	if (size < sizeof(*h))
		goto damaged;
	memcpy(h, d, sizeof(*h));
	h->source[sizeof(h->source) - 1] = '\0';
	if (h->der_len == 0 || h->der_len > size - sizeof(*h))
		goto damaged;
	rest = size - sizeof(*h) - h->der_len;
	if (rest != 0) {
		/* version 2: the capabilities follow the certificate */
		if (rest < sizeof(ext))
			goto damaged;
		memcpy(&ext, d + sizeof(*h) + h->der_len, sizeof(ext));
		if (memcmp(ext.magic, CA_RECIPIENT_EXT_MAGIC, sizeof(ext.magic)) != 0 ||
		    ext.caps_len > CA_RECIPIENT_CAPS_MAX || rest != sizeof(ext) + ext.caps_len)
			goto damaged;
		if (ext.caps_len > 0) {
			if ((*caps = malloc(ext.caps_len)) == NULL) {
				ca_seterr(err, "out of memory");
				return CA_ERR;
			}
			memcpy(*caps, d + sizeof(*h) + h->der_len + sizeof(ext), ext.caps_len);
			*caps_len = ext.caps_len;
		}
	}
	q = d + sizeof(*h);
	if ((*cert = d2i_X509(NULL, &q, h->der_len)) == NULL ||
	    q != d + sizeof(*h) + h->der_len) {
		X509_free(*cert);
		*cert = NULL;
		free(*caps);
		*caps = NULL;
		*caps_len = 0;
		goto damaged;
	}
	return CA_OK;
damaged:
	ca_seterr(err, "recipient record is damaged");
	return CA_ERR;
}

static int
recipient_key(const char *mailbox, char *key, size_t cap, struct ca_error *err)
{
	int r;

	if (mailbox == NULL || strlen(mailbox) > CA_MAILBOX_MAX) {
		ca_seterr(err, "mailbox is missing or too long");
		return CA_INVALID;
	}
	if ((r = ca_mailbox_normalise(mailbox, key, cap, err)) != CA_OK)
		return r;
	for (char *p = key; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return CA_OK;
}

/* A record into info; CA_ERR when damaged. */
static int
rec_to_info(const DBT *k, const DBT *d, struct ca_recipient_info *info, struct ca_error *err)
{
	struct ca_recipient_rec h;
	int r;

	memset(info, 0, sizeof(*info));
	if (k->size == 0 || k->size >= sizeof(info->mailbox)) {
		ca_seterr(err, "recipient record is damaged");
		return CA_ERR;
	}
	memcpy(info->mailbox, k->data, k->size);
	info->mailbox[k->size] = '\0';
	if ((r = ca_recipient_rec_parse(d->data, d->size, &h, &info->cert, &info->caps,
	    &info->caps_len, err)) != CA_OK)
		return r;
	snprintf(info->source, sizeof(info->source), "%s", h.source);
	info->stored_at = (time_t)h.stored_at;
	return CA_OK;
}

int
ca_recipient_get(struct ca *ca, const char *mailbox, struct ca_recipient_info *out,
    struct ca_error *err)
{
	char key[CA_MAILBOX_MAX + 2];
	DBT k, d;
	int ret, r;

	memset(out, 0, sizeof(*out));
	if ((r = recipient_key(mailbox, key, sizeof(key), err)) != CA_OK)
		return r;
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = key;
	k.size = (u_int32_t)strlen(key);
	d.flags = DB_DBT_MALLOC;
	if ((ret = ca->recipients->get(ca->recipients, NULL, &k, &d, 0)) != 0) {
		r = ca_db_result(ret, err, "recipient certificate");
		if (r == CA_NOTFOUND)
			ca_seterr(err, "no recipient certificate stored for this mailbox");
		return r;
	}
	r = rec_to_info(&k, &d, out, err);
	free(d.data);
	return r;
}

int
ca_recipient_foreach(struct ca *ca, const char *mailbox, ca_recipient_cb cb, void *arg,
    struct ca_error *err)
{
	struct ca_recipient_info info;
	DBC *cur = NULL;
	DBT k, d;
	int ret, r = CA_OK;

	if (mailbox != NULL) {
		r = ca_recipient_get(ca, mailbox, &info, err);
		if (r == CA_NOTFOUND)
			return CA_OK;
		if (r != CA_OK)
			return r;
		(void)cb(&info, arg);
		ca_recipient_info_free(&info);
		return CA_OK;
	}
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.flags = DB_DBT_REALLOC;
	d.flags = DB_DBT_REALLOC;
	if ((ret = ca->recipients->cursor(ca->recipients, NULL, &cur, 0)) != 0)
		return ca_db_result(ret, err, "recipient certificates");
	for (;;) {
		bool stop;

		if ((ret = cur->get(cur, &k, &d, DB_NEXT)) == DB_NOTFOUND)
			break;
		if (ret != 0) {
			r = ca_db_result(ret, err, "recipient certificates");
			break;
		}
		if ((r = rec_to_info(&k, &d, &info, err)) != CA_OK)
			break;
		stop = cb(&info, arg) != 0;
		ca_recipient_info_free(&info);
		if (stop)
			break;
	}
	cur->close(cur);
	free(k.data);
	free(d.data);
	return r;
}

struct remove_arg {
	struct ca *ca;
	const char *key;
	const char *fields;
	const char *actor;
};

static int
remove_txn(DB_TXN *txn, void *argp)
{
	struct remove_arg *a = argp;
	DBT k;
	int ret;

	memset(&k, 0, sizeof(k));
	k.data = (void *)a->key;
	k.size = (u_int32_t)strlen(a->key);
	if ((ret = a->ca->recipients->del(a->ca->recipients, txn, &k, 0)) != 0 ||
	    (ret = ca_bump_generation(a->ca, txn)) != 0)
		return ret;
	return ca_audit_append(a->ca, txn, "recipient-remove", a->actor, a->fields);
}

int
ca_recipient_remove(struct ca *ca, const char *mailbox, const char *actor, struct ca_error *err)
{
	char key[CA_MAILBOX_MAX + 2], fields[400], vb[300];
	struct remove_arg a;
	int r;

	if ((r = recipient_key(mailbox, key, sizeof(key), err)) != CA_OK)
		return r;
	snprintf(fields, sizeof(fields), "mailbox=%s", as_log_value(key, vb, sizeof(vb)));
	a = (struct remove_arg){ ca, key, fields, actor != NULL ? actor : "ca" };
	r = ca_db_result(store_txn_run(ca->st, remove_txn, &a), err, "recipient remove");
	if (r == CA_NOTFOUND)
		ca_seterr(err, "no recipient certificate stored for this mailbox");
	if (r == CA_OK)
		ca_after_commit(ca);
	return r;
}
