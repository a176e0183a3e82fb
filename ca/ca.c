/*
 * ca: opening and closing the CA (store environment, the CA's databases, the key-encryption
 * key, the audit queue and the key pool). Owns struct ca. The folder's other files each own
 * one part (see ca.h); the helpers they share sit below them in base.c, meta.c and names.c,
 * so nothing here is called back.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/ca_int.h"
#include "ca/keypool.h"
#include "common/log.h"
#include "common/util.h"

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
	pthread_mutex_init(&ca->hsm_lock, NULL);
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
	ca->ocsp_url = dup_or_null(params->ocsp_url);
	ca->read_only = params->read_only;
	ca->separate_encryption = params->separate_encryption;
	ca->enc_key_type = params->encryption_key_type;
	ca->now = params->now;
	ca->p11_module = dup_or_null(params->pkcs11_module);
	ca->p11_pin_file = dup_or_null(params->pkcs11_pin_file);
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
	    store_db_open(ca->st, "cas.db", DB_BTREE, 0, &ca->cas, why, sizeof(why)) < 0 ||
	    store_db_open(ca->st, "domains.db", DB_BTREE, 0, &ca->domains, why, sizeof(why)) < 0) {
		ca_seterr(err, "%s", why);
		goto out;
	}
	if (ca_associate(ca) != 0 || store_on_reopen(ca->st, ca_associate, ca) != 0) {
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

int
ca_enter(struct ca *ca, struct ca_error *err)
{
	if (store_enter(ca->st) == 0)
		return CA_OK;
	ca_seterr(err, "the store is being reopened");
	return CA_ERR;
}

void
ca_leave(struct ca *ca)
{
	store_leave(ca->st);
}

int
ca_watch_start(struct ca *ca, struct ca_error *err)
{
	if (store_watch_start(ca->st) == 0)
		return CA_OK;
	ca_seterr(err, "cannot start the store watcher");
	return CA_ERR;
}

struct store *
ca_store(struct ca *ca)
{
	return ca != NULL ? ca->st : NULL;
}

int
ca_keypool_stats(struct ca *ca, enum ca_key_type type, struct ca_keypool_figures *out)
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
		&ca->meta, &ca->audit, &ca->cas, &ca->domains };
	/* The secondary index closes before its primary. */
	if (ca->st != NULL) {
		for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
			store_db_close(ca->st, dbs[i]);
		if (ca->st->env != NULL)
			store_checkpoint(ca->st, 0);
		store_close(ca->st);
	}
	for (i = 0; i < ca->n_issuers; i++) {
		X509_free(ca->issuers[i]->cert);
		X509_free(ca->issuers[i]->root);
		EVP_PKEY_free(ca->issuers[i]->key);
		free(ca->issuers[i]);
	}
	ca_hsm_close(ca); /* after the keys: each token key holds the engine too */
	free(ca->p11_module);
	free(ca->p11_pin_file);
	pthread_mutex_destroy(&ca->hsm_lock);
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
	free(ca->ocsp_url);
	ca_audit_queue_destroy(&ca->audit_q);
	pthread_mutex_destroy(&ca->lock);
	free(ca);
}
