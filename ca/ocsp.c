/*
 * ocsp: the OCSP responder of the CA (RFC 6960, RFC 5019 profile). Owns struct ca_ocsp: the
 * issuing CAs as CertID issuer hashes (SHA-1 and SHA-256), each one's delegated signer
 * (ocsp_responder.c), and the cache of signed single responses without a nonce, keyed by the
 * request's CertID DER. A cached response is served while the certificate's status in the
 * store (read on every request, so a revocation shows at once) is the one it states and less
 * than min(validity / 2, 4 days) has passed since its thisUpdate (S/MIME BR 4.9.10); only then,
 * for a nonce, several CertIDs or an unknown serial is anything signed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ocsp.h>

#include "ca/ca_int.h"

#define OCSP_DEFAULT_VALIDITY (4LL * 86400)
#define OCSP_DEFAULT_RESPONDER (30LL * 86400)
#define OCSP_REFRESH_MAX (4LL * 86400)
#define OCSP_BUCKETS 1024
#define OCSP_CID_MAX 512
#define OCSP_ISSUERS_MAX 64
#define OCSP_RELOAD_EVERY 60

struct ocsp_issuer {
	char id[41];
	X509 *cert;
	OCSP_CERTID *by_sha1, *by_sha256;   /* issuer hashes; the serial is ignored */
	X509 *signer;
	EVP_PKEY *signer_key;
	time_t renew_at;
};

struct ocsp_entry {
	struct ocsp_entry *next;
	unsigned char key[OCSP_CID_MAX];
	size_t klen;
	int status, reason;
	time_t revoked_at, this_update, next_update;
	unsigned char *der;
	size_t len;
};

/* `lock` guards everything below it. */
struct ca_ocsp {
	struct ca *ca;
	long long validity, responder_validity;
	unsigned cache_max;
	char actor[64];
	bool transient_ca_keys;
	pthread_mutex_t lock;
	struct ocsp_issuer issuers[OCSP_ISSUERS_MAX];
	size_t n_issuers;
	time_t issuers_read;
	struct ocsp_entry *buckets[OCSP_BUCKETS];
	unsigned cached;
};

/* What the store says of one CertID. */
struct ocsp_status {
	int status, reason;
	time_t revoked_at;
};

static void
cache_flush(struct ca_ocsp *o)
{
	size_t i;

	for (i = 0; i < OCSP_BUCKETS; i++)
		while (o->buckets[i] != NULL) {
			struct ocsp_entry *e = o->buckets[i];

			o->buckets[i] = e->next;
			free(e->der);
			free(e);
		}
	o->cached = 0;
}

static unsigned
bucket_of(const unsigned char *k, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ k[i]) * 16777619u;
	return h % OCSP_BUCKETS;
}

static struct ocsp_entry *
cache_find(struct ca_ocsp *o, const unsigned char *k, size_t n)
{
	struct ocsp_entry *e;

	for (e = o->buckets[bucket_of(k, n)]; e != NULL; e = e->next)
		if (e->klen == n && memcmp(e->key, k, n) == 0)
			return e;
	return NULL;
}

/* Keep (a copy of) a signed response; the cache is emptied when full, so it stays bounded. */
static void
cache_put(struct ca_ocsp *o, const unsigned char *k, size_t n, const struct ocsp_status *s,
    time_t this_update, const unsigned char *der, size_t len)
{
	struct ocsp_entry *e = cache_find(o, k, n);
	unsigned b = bucket_of(k, n);
	unsigned char *copy = malloc(len);

	if (copy == NULL)
		return;
	memcpy(copy, der, len);
	if (e == NULL) {
		if (o->cached >= o->cache_max)
			cache_flush(o);
		if ((e = calloc(1, sizeof(*e))) == NULL) {
			free(copy);
			return;
		}
		memcpy(e->key, k, n);
		e->klen = n;
		e->next = o->buckets[b];
		o->buckets[b] = e;
		o->cached++;
	}
	free(e->der);
	e->der = copy;
	e->len = len;
	e->status = s->status;
	e->reason = s->reason;
	e->revoked_at = s->revoked_at;
	e->this_update = this_update;
	e->next_update = this_update + (time_t)o->validity;
}

static long long
refresh_after(const struct ca_ocsp *o)
{
	return o->validity / 2 < OCSP_REFRESH_MAX ? o->validity / 2 : OCSP_REFRESH_MAX;
}

static int
issuer_add_cb(const struct ca_authority *a, void *arg)
{
	struct ca_ocsp *o = arg;
	struct ocsp_issuer *is;
	size_t i;

	for (i = 0; i < o->n_issuers; i++)
		if (strcmp(o->issuers[i].id, a->id) == 0)
			return 0;
	if (o->n_issuers >= OCSP_ISSUERS_MAX || a->cert == NULL)
		return 0;
	is = &o->issuers[o->n_issuers];
	memset(is, 0, sizeof(*is));
	snprintf(is->id, sizeof(is->id), "%s", a->id);
	is->by_sha1 = OCSP_cert_to_id(EVP_sha1(), NULL, a->cert);
	is->by_sha256 = OCSP_cert_to_id(EVP_sha256(), NULL, a->cert);
	if (is->by_sha1 == NULL || is->by_sha256 == NULL || !X509_up_ref(a->cert)) {
		OCSP_CERTID_free(is->by_sha1);
		OCSP_CERTID_free(is->by_sha256);
		return 0;
	}
	is->cert = a->cert;
	o->n_issuers++;
	return 0;
}

static struct ocsp_issuer *
issuer_match(struct ca_ocsp *o, const OCSP_CERTID *cid)
{
	size_t i;

	for (i = 0; i < o->n_issuers; i++)
		if (OCSP_id_issuer_cmp(o->issuers[i].by_sha1, cid) == 0 ||
		    OCSP_id_issuer_cmp(o->issuers[i].by_sha256, cid) == 0)
			return &o->issuers[i];
	return NULL;
}

/* An issuing CA made since the last read (ca rotate) is found within a minute. */
static struct ocsp_issuer *
issuer_find(struct ca_ocsp *o, const OCSP_CERTID *cid)
{
	struct ca_error e = { "" };
	struct ocsp_issuer *is = issuer_match(o, cid);
	time_t now = ca_now(o->ca);

	if (is != NULL || (o->issuers_read != 0 && now - o->issuers_read < OCSP_RELOAD_EVERY &&
	    now >= o->issuers_read))
		return is;
	o->issuers_read = now;
	(void)ca_authority_foreach(o->ca, issuer_add_cb, o, &e);
	return issuer_match(o, cid);
}

/* The delegated signer, made or renewed when due; the cache goes with the old one. */
static int
signer_ready(struct ca_ocsp *o, struct ocsp_issuer *is, struct ca_error *err)
{
	struct ca_issuer *iss;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	time_t renew_at = 0;
	int r;

	if (is->signer != NULL && ca_now(o->ca) < is->renew_at)
		return CA_OK;
	/* the stored responder needs no CA key; only a new one does */
	if ((r = ca_issuer_get(o->ca, is->id, false, &iss, err)) != CA_OK)
		return r;
	r = ca_ocsp_signer_get(o->ca, iss, o->responder_validity, o->actor, &cert, &key,
	    &renew_at, err);
	if (r == CA_NOKEY) {
		if ((r = ca_issuer_get(o->ca, is->id, true, &iss, err)) == CA_OK)
			r = ca_ocsp_signer_get(o->ca, iss, o->responder_validity, o->actor, &cert,
			    &key, &renew_at, err);
		if (o->transient_ca_keys)
			ca_issuer_drop_key(o->ca, is->id);
	}
	if (r != CA_OK)
		return r;
	X509_free(is->signer);
	EVP_PKEY_free(is->signer_key);
	is->signer = cert;
	is->signer_key = key;
	is->renew_at = renew_at;
	cache_flush(o);
	return CA_OK;
}

static void
serial_of(const OCSP_CERTID *cid, char out[41])
{
	ASN1_INTEGER *sn = NULL;
	BIGNUM *bn = NULL;
	char *hex = NULL;

	out[0] = '\0';
	if (OCSP_id_get0_info(NULL, NULL, NULL, &sn, (OCSP_CERTID *)cid) != 1 ||
	    (bn = ASN1_INTEGER_to_BN(sn, NULL)) == NULL || BN_is_negative(bn) ||
	    BN_num_bits(bn) > 160 || (hex = BN_bn2hex(bn)) == NULL ||
	    ca_serial_normalise(hex, out) < 0)
		out[0] = '\0';
	OPENSSL_free(hex);
	BN_free(bn);
}

/* good, revoked or unknown (not a serial this CA issued); CA_ERR when the store fails. */
static int
status_of(struct ca_ocsp *o, const struct ocsp_issuer *is, const OCSP_CERTID *cid,
    struct ocsp_status *s, char serial[41], struct ca_error *err)
{
	struct ca_cert_info info;
	int r;

	s->status = V_OCSP_CERTSTATUS_UNKNOWN;
	s->reason = -1;
	s->revoked_at = 0;
	serial_of(cid, serial);
	if (is == NULL || serial[0] == '\0')
		return CA_OK;
	r = ca_cert_rec_load(o->ca, NULL, serial, &info, false, err);
	if (r == CA_NOTFOUND)
		return CA_OK;
	if (r != CA_OK)
		return CA_ERR;
	if (strcmp(info.ca_id, is->id) == 0) {
		s->status = info.status == CA_STATUS_REVOKED ? V_OCSP_CERTSTATUS_REVOKED :
		    V_OCSP_CERTSTATUS_GOOD;
		if (info.status == CA_STATUS_REVOKED) {
			s->reason = info.reason;
			s->revoked_at = info.revoked_at;
		}
	}
	ca_cert_info_free(&info);
	return CA_OK;
}

/* The request's nonce, when it holds one of 1..32 octets (RFC 8954); others are not echoed. */
static bool
nonce_usable(OCSP_REQUEST *req)
{
	int i = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1);
	X509_EXTENSION *e = i >= 0 ? OCSP_REQUEST_get_ext(req, i) : NULL;
	const ASN1_OCTET_STRING *v = e != NULL ? X509_EXTENSION_get_data(e) : NULL;
	const unsigned char *p;
	ASN1_OCTET_STRING *inner;
	bool ok;

	if (v == NULL || OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, i) >= 0)
		return false;
	p = ASN1_STRING_get0_data(v);
	inner = d2i_ASN1_OCTET_STRING(NULL, &p, ASN1_STRING_length(v));
	/* DER only: the short length form, so the value is two octets longer than the nonce */
	ok = inner != NULL && p == ASN1_STRING_get0_data(v) + ASN1_STRING_length(v) &&
	    ASN1_STRING_length(inner) >= 1 && ASN1_STRING_length(inner) <= 32 &&
	    ASN1_STRING_length(v) == ASN1_STRING_length(inner) + 2;
	ASN1_OCTET_STRING_free(inner);
	return ok;
}

int
ca_ocsp_status_response(int status, unsigned char **der, size_t *der_len)
{
	OCSP_RESPONSE *resp = OCSP_response_create(status, NULL);
	int len = resp != NULL ? i2d_OCSP_RESPONSE(resp, der) : -1;

	OCSP_RESPONSE_free(resp);
	if (len <= 0) {
		*der = NULL;
		return CA_ERR;
	}
	*der_len = (size_t)len;
	return CA_OK;
}

/* An error status answer in malloc'd memory, like every answer of ca_ocsp_respond. */
static int
refuse(struct ca_ocsp_answer *ans, int status, const char *why, unsigned char **der,
    size_t *len)
{
	unsigned char *ssl = NULL;
	size_t n = 0;

	ans->response_status = status;
	snprintf(ans->why, sizeof(ans->why), "%s", why);
	if (ca_ocsp_status_response(status, &ssl, &n) != CA_OK)
		return CA_ERR;
	if ((*der = malloc(n)) != NULL) {
		memcpy(*der, ssl, n);
		*len = n;
	}
	OPENSSL_free(ssl);
	return *der != NULL ? CA_OK : CA_ERR;
}

/* Sign one BasicOCSPResponse for the request's CertIDs under is; checked before it leaves. */
static int
build(struct ca_ocsp *o, struct ocsp_issuer *is, OCSP_REQUEST *req, bool nonce,
    const struct ocsp_status *first, time_t now, unsigned char **der, size_t *len,
    struct ca_error *err)
{
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_RESPONSE *resp = NULL;
	ASN1_TIME *t0 = ASN1_TIME_set(NULL, now);
	ASN1_TIME *t1 = ASN1_TIME_set(NULL, now + (time_t)o->validity);
	ASN1_TIME *rev = NULL;
	struct ocsp_status s;
	char serial[41];
	int i, n = OCSP_request_onereq_count(req), dl, r = CA_ERR;

	*der = NULL;
	if (bs == NULL || t0 == NULL || t1 == NULL)
		goto ssl;
	for (i = 0; i < n; i++) {
		OCSP_CERTID *cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));

		if (i == 0)
			s = *first;
		else if (status_of(o, is, cid, &s, serial, err) != CA_OK)
			goto out;
		ASN1_TIME_free(rev);
		rev = s.status == V_OCSP_CERTSTATUS_REVOKED ? ASN1_TIME_set(NULL, s.revoked_at) :
		    NULL;
		if ((s.status == V_OCSP_CERTSTATUS_REVOKED && rev == NULL) ||
		    OCSP_basic_add1_status(bs, cid, s.status, s.reason, rev, t0, t1) == NULL)
			goto ssl;
	}
	if ((nonce && OCSP_copy_nonce(bs, req) != 1) ||
	    OCSP_basic_sign(bs, is->signer, is->signer_key, ca_sig_md(is->signer_key), NULL,
	    OCSP_RESPID_KEY) != 1 ||
	    (resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) == NULL ||
	    (dl = i2d_OCSP_RESPONSE(resp, der)) <= 0)
		goto ssl;
	*len = (size_t)dl;
	if ((r = ca_ocsp_response_check_signed(o->ca, *der, *len, is->signer, err)) != CA_OK) {
		OPENSSL_free(*der);
		*der = NULL;
		r = CA_ERR;
	}
	goto out;
ssl:
	ca_seterr_ssl(err, "cannot sign the OCSP response");
out:
	ASN1_TIME_free(rev);
	ASN1_TIME_free(t0);
	ASN1_TIME_free(t1);
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	return r;
}

static void
answer_fill(struct ca_ocsp_answer *ans, const struct ocsp_status *s, time_t this_update,
    time_t next_update)
{
	ans->cert_status = s->status;
	ans->reason = s->reason;
	ans->this_update = this_update;
	ans->next_update = next_update;
}

/* Under o->lock: the request parsed, bounded and naming one of our CAs. */
static int
respond_locked(struct ca_ocsp *o, OCSP_REQUEST *req, unsigned char **der, size_t *der_len,
    struct ca_ocsp_answer *ans)
{
	struct ca_error e = { "" };
	struct ocsp_issuer *is = NULL;
	struct ocsp_status s;
	struct ocsp_entry *ent;
	unsigned char key[OCSP_CID_MAX], *kp = key, *out = NULL;
	OCSP_CERTID *cid = NULL;
	time_t now = ca_now(o->ca);
	size_t len = 0;
	int i, klen;

	/* one responder signs for one CA: every CertID must name the same issuing CA of ours */
	cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0));
	if ((is = issuer_find(o, cid)) == NULL)
		return refuse(ans, OCSP_RESPONSE_STATUS_UNAUTHORIZED, "no issuing CA of ours",
		    der, der_len);
	for (i = 1; i < (int)ans->certids; i++)
		if (issuer_match(o, OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i))) != is)
			return refuse(ans, OCSP_RESPONSE_STATUS_UNAUTHORIZED,
			    "CertIDs of more than one issuer", der, der_len);
	snprintf(ans->ca_id, sizeof(ans->ca_id), "%s", is->id);
	if (signer_ready(o, is, &e) != CA_OK ||
	    status_of(o, is, cid, &s, ans->serial_hex, &e) != CA_OK)
		return refuse(ans, OCSP_RESPONSE_STATUS_INTERNALERROR, e.text, der, der_len);
	klen = i2d_OCSP_CERTID(cid, NULL);
	bool cacheable = ans->certids == 1 && !ans->nonce && s.status !=
	    V_OCSP_CERTSTATUS_UNKNOWN && klen > 0 && klen <= OCSP_CID_MAX &&
	    i2d_OCSP_CERTID(cid, &kp) == klen;
	if (cacheable && (ent = cache_find(o, key, (size_t)klen)) != NULL &&
	    ent->status == s.status && ent->reason == s.reason &&
	    ent->revoked_at == s.revoked_at && now >= ent->this_update &&
	    now < ent->this_update + (time_t)refresh_after(o) && (*der = malloc(ent->len))) {
		memcpy(*der, ent->der, ent->len);
		*der_len = ent->len;
		ans->cached = true;
		answer_fill(ans, &s, ent->this_update, ent->next_update);
		ans->max_age = (long long)(ent->this_update + refresh_after(o) - now);
		return CA_OK;
	}
	if (build(o, is, req, ans->nonce, &s, now, &out, &len, &e) != CA_OK)
		return refuse(ans, OCSP_RESPONSE_STATUS_INTERNALERROR, e.text, der, der_len);
	if (cacheable)
		cache_put(o, key, (size_t)klen, &s, now, out, len);
	answer_fill(ans, &s, now, now + (time_t)o->validity);
	ans->max_age = ans->nonce ? 0 : refresh_after(o);
	/* malloc'd like the cached copies, so the caller frees every answer with free() */
	if ((*der = malloc(len)) == NULL) {
		OPENSSL_free(out);
		return CA_ERR;
	}
	memcpy(*der, out, len);
	*der_len = len;
	OPENSSL_free(out);
	return CA_OK;
}

int
ca_ocsp_respond(struct ca_ocsp *o, const unsigned char *in, size_t len, unsigned char **der,
    size_t *der_len, struct ca_ocsp_answer *ans)
{
	const unsigned char *p = in;
	OCSP_REQUEST *req = NULL;
	int r, count;

	memset(ans, 0, sizeof(*ans));
	ans->cert_status = -1;
	ans->reason = -1;
	*der = NULL;
	*der_len = 0;
	if (len == 0 || len > CA_OCSP_REQUEST_MAX ||
	    (req = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL || p != in + len)
		r = refuse(ans, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, len > CA_OCSP_REQUEST_MAX ?
		    "request too long" : "request does not decode", der, der_len);
	else if ((count = OCSP_request_onereq_count(req)) < 1 || count > CA_OCSP_CERTIDS_MAX)
		r = refuse(ans, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, "1..4 CertIDs are allowed",
		    der, der_len);
	else {
		ans->certids = (unsigned)count;
		ans->nonce = nonce_usable(req);
		pthread_mutex_lock(&o->lock);
		r = respond_locked(o, req, der, der_len, ans);
		pthread_mutex_unlock(&o->lock);
	}
	OCSP_REQUEST_free(req);
	return *der != NULL ? r : CA_ERR;
}

int
ca_ocsp_responder(struct ca_ocsp *o, const char *id, X509 **out, struct ca_error *err)
{
	struct ocsp_issuer *is = NULL;
	size_t i;
	int r;

	*out = NULL;
	pthread_mutex_lock(&o->lock);
	o->issuers_read = ca_now(o->ca);
	(void)ca_authority_foreach(o->ca, issuer_add_cb, o, err);
	for (i = 0; i < o->n_issuers; i++)
		if (strcmp(o->issuers[i].id, id) == 0)
			is = &o->issuers[i];
	if (is == NULL) {
		ca_seterr(err, "no issuing CA %s", id);
		r = CA_NOTFOUND;
	} else if ((r = signer_ready(o, is, err)) == CA_OK && X509_up_ref(is->signer))
		*out = is->signer;
	pthread_mutex_unlock(&o->lock);
	return r;
}

int
ca_ocsp_new(struct ca *ca, const struct ca_ocsp_params *p, struct ca_ocsp **out,
    struct ca_error *err)
{
	struct ca_ocsp *o;

	*out = NULL;
	if (ca->read_only) {
		ca_seterr(err, "OCSP needs the CA opened with its keys");
		return CA_INVALID;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		ca_seterr(err, "out of memory");
		return CA_ERR;
	}
	o->ca = ca;
	o->validity = p->validity != 0 ? p->validity : OCSP_DEFAULT_VALIDITY;
	o->responder_validity = p->responder_validity != 0 ? p->responder_validity :
	    OCSP_DEFAULT_RESPONDER;
	o->cache_max = p->cache_max != 0 ? p->cache_max : 10000;
	snprintf(o->actor, sizeof(o->actor), "%s", p->actor != NULL ? p->actor : "ocsp");
	o->transient_ca_keys = p->transient_ca_keys;
	if (o->validity < CA_OCSP_VALIDITY_MIN || o->validity > CA_OCSP_VALIDITY_MAX ||
	    o->responder_validity < CA_OCSP_RESPONDER_MIN ||
	    o->responder_validity > CA_OCSP_RESPONDER_MAX) {
		free(o);
		ca_seterr(err, "OCSP validity must be 8 hours .. 10 days (S/MIME BR 4.9.10), the "
		    "responder's 2 .. 90 days");
		return CA_INVALID;
	}
	pthread_mutex_init(&o->lock, NULL);
	*out = o;
	return CA_OK;
}

void
ca_ocsp_free(struct ca_ocsp *o)
{
	size_t i;

	if (o == NULL)
		return;
	cache_flush(o);
	for (i = 0; i < o->n_issuers; i++) {
		X509_free(o->issuers[i].cert);
		X509_free(o->issuers[i].signer);
		EVP_PKEY_free(o->issuers[i].signer_key);
		OCSP_CERTID_free(o->issuers[i].by_sha1);
		OCSP_CERTID_free(o->issuers[i].by_sha256);
	}
	pthread_mutex_destroy(&o->lock);
	free(o);
}
