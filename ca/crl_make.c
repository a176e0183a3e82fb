/*
 * crl_make: the CRL commands. ca_crl_make signs an issuing CA's next CRL with its key on the
 * host; ca_root_crl_make signs a root's with the key the admin brings back, after
 * ca_root_check has found the root above an issuing CA of the store. Owns nothing: the CRL
 * state is crl.c's.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ca/ca_int.h"

#define CRL_MAX_NEXT (10LL * 86400)
#define CRL_DEFAULT_NEXT (7LL * 86400)

struct crl_arg {
	struct ca *ca;
	const char *id;
	X509 *cert;
	EVP_PKEY *key;
	long long next;
	X509_CRL *crl;
	struct ca_error *err;
};

static int
crl_txn(DB_TXN *txn, void *argp)
{
	struct crl_arg *a = argp;

	return ca_crl_sign_txn(a->ca, txn, a->id, a->cert, a->key, a->next, "crl", &a->crl,
	    a->err);
}

static int
crl_run(struct crl_arg *a)
{
	int ret = store_txn_run(a->ca->st, crl_txn, a);

	if (ret != 0) {
		X509_CRL_free(a->crl);
		a->crl = NULL;
		return ca_db_result(ret, a->err, "CRL");
	}
	ca_after_commit(a->ca);
	return CA_OK;
}

int
ca_crl_make(struct ca *ca, const char *ca_id, long long next_update_seconds, X509_CRL **out,
    struct ca_error *err)
{
	struct crl_arg a;
	struct ca_issuer *iss;
	char id[41];
	int r;

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
	a = (struct crl_arg){ ca, iss->id, iss->cert, iss->key, next_update_seconds, NULL, err };
	if ((r = crl_run(&a)) != CA_OK)
		return r;
	*out = a.crl; /* transferred */
	return CA_OK;
}

struct root_known {
	X509 *root;
	bool found;
};

static int
root_known_cb(const struct ca_authority *a, void *arg)
{
	struct root_known *k = arg;

	if (a->root != NULL && X509_cmp(a->root, k->root) == 0)
		k->found = true;
	return k->found;
}

int
ca_root_check(struct ca *ca, X509 *root, EVP_PKEY *root_key, char id[41], struct ca_error *err)
{
	struct root_known k = { root, false };
	int r;

	if (ca->read_only) {
		ca_seterr(err, "the CA was opened read-only");
		return CA_INVALID;
	}
	if (root == NULL || root_key == NULL || X509_check_private_key(root, root_key) != 1) {
		ca_seterr(err, "the root certificate and its matching key are needed");
		return CA_INVALID;
	}
	if ((r = ca_authority_foreach(ca, root_known_cb, &k, err)) != CA_OK)
		return r;
	if (!k.found || ca_root_id(root, id) != CA_OK) {
		ca_seterr(err, "no issuing CA in the store is under that root");
		return CA_INVALID;
	}
	return CA_OK;
}

int
ca_root_crl_make(struct ca *ca, X509 *root, EVP_PKEY *root_key, X509_CRL **out,
    struct ca_error *err)
{
	struct crl_arg a;
	char id[41];
	int r;

	*out = NULL;
	if ((r = ca_root_check(ca, root, root_key, id, err)) != CA_OK)
		return r;
	a = (struct crl_arg){ ca, id, root, root_key, CA_ROOT_CRL_NEXT, NULL, err };
	if ((r = crl_run(&a)) != CA_OK)
		return r;
	*out = a.crl; /* transferred */
	return CA_OK;
}

