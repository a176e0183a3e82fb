/*
 * smimea: SMIMEA lookups with DNSSEC validation, the choice of a certificate from the records,
 * and the per-process TTL cache (see smimea.h). Owns the cache and its copies of records.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "policy/dnssec.h"
#include "policy/smimea.h"

#define MAILBOX_MAX 256
#define LOCAL_MAX 64

enum entry_kind { ENTRY_RECORDS, ENTRY_NONE, ENTRY_FAILED };

/* One cached answer. Lifetime: until it expires or is evicted (under the cache lock). */
struct entry {
	char mailbox[MAILBOX_MAX];
	time_t expires;
	enum entry_kind kind;
	struct as_smimea_record *recs;
	size_t n;
	char why[160];
};

struct as_smimea {
	char *resolver;
	char *anchor_file;
	time_t (*now)(void);
	pthread_mutex_t lock;
	struct entry *cache[AS_SMIMEA_CACHE_MAX];
	size_t count;
};

static time_t
now_of(const struct as_smimea *s)
{
	return s->now != NULL ? s->now() : time(NULL);
}

static void
records_free(struct as_smimea_record *recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(recs[i].data);
	free(recs);
}

static void
entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	records_free(e->recs, e->n);
	free(e);
}

struct as_smimea *
as_smimea_new(const struct as_smimea_params *p, char *why, size_t whycap)
{
	struct as_smimea *s = calloc(1, sizeof(*s));

	if (s == NULL || pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		snprintf(why, whycap, "out of memory");
		return NULL;
	}
	s->resolver = strdup(p->resolver != NULL ? p->resolver : "");
	s->anchor_file = strdup(p->trust_anchor_file != NULL ? p->trust_anchor_file : "");
	s->now = p->now;
	if (s->resolver == NULL || s->anchor_file == NULL) {
		as_smimea_free(s);
		snprintf(why, whycap, "out of memory");
		return NULL;
	}
	return s;
}

void
as_smimea_free(struct as_smimea *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->count; i++)
		entry_free(s->cache[i]);
	pthread_mutex_destroy(&s->lock);
	free(s->resolver);
	free(s->anchor_file);
	free(s);
}

int
as_smimea_owner(const char *mailbox, char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];
	const char *at = mailbox != NULL ? strrchr(mailbox, '@') : NULL;
	size_t llen, o = 0;
	char domain[MAILBOX_MAX];

	if (at == NULL || at == mailbox || at[1] == '\0' || strlen(at + 1) >= sizeof(domain))
		return -1;
	llen = (size_t)(at - mailbox);
	if (llen > LOCAL_MAX)
		return -1;
	for (const char *p = mailbox; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f)
			return -1;
	for (size_t i = 0; at[1 + i] != '\0'; i++) {
		char c = (char)tolower((unsigned char)at[1 + i]);

		if (!(isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_'))
			return -1;
		domain[i] = c;
		domain[i + 1] = '\0';
	}
	if (EVP_Digest(mailbox, llen, md, NULL, EVP_sha256(), NULL) != 1)
		return -1;
	if (cap < 28 * 2 + strlen("._smimecert.") + strlen(domain) + 2)
		return -1;
	for (size_t i = 0; i < 28; i++) {
		out[o++] = digits[md[i] >> 4];
		out[o++] = digits[md[i] & 15];
	}
	snprintf(out + o, cap - o, "._smimecert.%s%s", domain,
	    domain[strlen(domain) - 1] == '.' ? "" : ".");
	return 0;
}

/* ------------------------------------------------------------------ choosing */

/* The bytes a selector names, hashed per the matching type; compared with the record. */
static bool
matches(X509 *cert, const struct as_smimea_record *r)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int len;
	bool ok = false;

	if (r->selector == 0)
		len = i2d_X509(cert, &der);
	else
		len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	if (len <= 0)
		return false;
	if (r->mtype == 0)
		ok = (size_t)len == r->len && memcmp(der, r->data, r->len) == 0;
	else if (EVP_Digest(der, (size_t)len, md, &mdlen, r->mtype == 1 ? EVP_sha256() :
	    EVP_sha512(), NULL) == 1)
		ok = mdlen == r->len && memcmp(md, r->data, mdlen) == 0;
	OPENSSL_free(der);
	return ok;
}

/* Can mail be encrypted to this certificate now? NULL when yes, else why not. */
static const char *
unusable(X509 *cert, time_t now)
{
	EVP_PKEY *key = X509_get0_pubkey(cert);
	uint32_t ku = X509_get_key_usage(cert);
	int type = key != NULL ? EVP_PKEY_get_base_id(key) : 0;

	if (X509_cmp_time(X509_get0_notAfter(cert), &now) <= 0 ||
	    X509_cmp_time(X509_get0_notBefore(cert), &now) > 0)
		return "certificate outside its validity period";
	if (type == EVP_PKEY_RSA) {
		if (ku != UINT32_MAX && !(ku & KU_KEY_ENCIPHERMENT))
			return "RSA key without keyEncipherment";
	} else if (type == EVP_PKEY_EC) {
		if (ku != UINT32_MAX && !(ku & KU_KEY_AGREEMENT))
			return "EC key without keyAgreement";
	} else
		return "key type cannot encrypt";
	return NULL;
}

/*
 * PKIX-EE: the certificate validates to one of the anchors, is for email protection and names
 * the mailbox. NULL when it does, else why not.
 */
static const char *
pkix_fails(X509 *cert, const struct as_smimea_query *q, time_t now)
{
	const char *why = "PKIX-EE: no PKIX anchors";
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();

	if (store == NULL || ctx == NULL || q->pkix_anchors == NULL)
		goto out;
	why = "PKIX-EE: internal failure";
	for (int i = 0; i < sk_X509_num(q->pkix_anchors); i++)
		if (X509_STORE_add_cert(store, sk_X509_value(q->pkix_anchors, i)) != 1)
			goto out;
	if (X509_STORE_CTX_init(ctx, store, cert, q->pkix_anchors) != 1)
		goto out;
	/* not X509_PURPOSE_SMIME_ENCRYPT: it wants keyEncipherment, which EC keys never have */
	X509_STORE_CTX_set_time(ctx, 0, now);
	if (X509_verify_cert(ctx) != 1)
		why = "PKIX-EE certificate does not validate to a PKIX anchor";
	else if (X509_check_email(cert, q->mailbox, 0, 0) != 1)
		why = "PKIX-EE certificate does not name the mailbox";
	else if ((X509_get_extended_key_usage(cert) & XKU_SMIME) == 0)
		why = "PKIX-EE certificate is not for email protection";
	else
		why = NULL;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return why;
}

/* The certificate one record gives, or NULL with why. */
static X509 *
from_record(const struct as_smimea_record *r, const struct as_smimea_query *q, time_t now,
    const char **why)
{
	X509 *cand = NULL;
	const char *bad;

	if (r->usage == 0 || r->usage == 2) {
		*why = "trust-anchor usage (0/2) gives no end-entity certificate";
		return NULL;
	}
	if (r->usage > 3 || r->selector > 1 || r->mtype > 2) {
		*why = "unknown usage, selector or matching type";
		return NULL;
	}
	if (r->selector == 0 && r->mtype == 0) {
		const unsigned char *p = r->data;

		cand = d2i_X509(NULL, &p, (long)r->len);
		if (cand == NULL || p != r->data + r->len) {
			X509_free(cand);
			*why = "record data is not one DER certificate";
			return NULL;
		}
	} else {
		for (size_t i = 0; i < q->known_count && cand == NULL; i++)
			if (q->known[i] != NULL && matches(q->known[i], r) &&
			    X509_up_ref(q->known[i]) == 1)
				cand = q->known[i];
		if (cand == NULL) {
			*why = "no held certificate matches the record";
			return NULL;
		}
	}
	if ((bad = unusable(cand, now)) != NULL) {
		*why = bad;
		X509_free(cand);
		return NULL;
	}
	if (r->usage == 1 && (bad = pkix_fails(cand, q, now)) != NULL) {
		*why = bad;
		X509_free(cand);
		return NULL;
	}
	return cand;
}

enum as_smimea_status
as_smimea_choose(const struct as_smimea_record *recs, size_t n, const struct as_smimea_query *q,
    time_t now, X509 **out, char *why, size_t whycap)
{
	const char *last = "no SMIMEA record";

	*out = NULL;
	/* DANE-EE first: it needs nothing but the secure answer */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n && i < AS_SMIMEA_MAX_RECORDS; i++) {
			const char *w = NULL;

			if ((pass == 0) != (recs[i].usage == 3))
				continue;
			if ((*out = from_record(&recs[i], q, now, &w)) != NULL) {
				snprintf(why, whycap, "usage=%u selector=%u matching=%u",
				    recs[i].usage, recs[i].selector, recs[i].mtype);
				return AS_SMIMEA_FOUND;
			}
			last = w;
		}
	snprintf(why, whycap, "%s", last);
	return AS_SMIMEA_NONE;
}

/* ------------------------------------------------------------------ DNS */

/* The records of a secure RRset; -1 on memory failure. */
static int
parse_rrset(ldns_rr_list *set, struct entry *e, uint32_t *ttl)
{
	size_t n = ldns_rr_list_rr_count(set);

	*ttl = AS_SMIMEA_MAX_TTL;
	if ((e->recs = calloc(n > 0 ? n : 1, sizeof(*e->recs))) == NULL)
		return -1;
	for (size_t i = 0; i < n && e->n < AS_SMIMEA_MAX_RECORDS; i++) {
		ldns_rr *rr = ldns_rr_list_rr(set, i);
		struct as_smimea_record *r = &e->recs[e->n];
		const uint8_t *wire;
		size_t len;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SMIMEA)
			continue;
		if (ldns_rr_ttl(rr) < *ttl)
			*ttl = ldns_rr_ttl(rr);
		if (ldns_rr_rd_count(rr) == 4) {
			wire = ldns_rdf_data(ldns_rr_rdf(rr, 3));
			len = ldns_rdf_size(ldns_rr_rdf(rr, 3));
			r->usage = ldns_rdf2native_int8(ldns_rr_rdf(rr, 0));
			r->selector = ldns_rdf2native_int8(ldns_rr_rdf(rr, 1));
			r->mtype = ldns_rdf2native_int8(ldns_rr_rdf(rr, 2));
		} else if (ldns_rr_rd_count(rr) == 1 && ldns_rdf_size(ldns_rr_rdf(rr, 0)) > 3) {
			/* an ldns without the type's layout: usage, selector, matching, data */
			wire = ldns_rdf_data(ldns_rr_rdf(rr, 0));
			r->usage = wire[0];
			r->selector = wire[1];
			r->mtype = wire[2];
			len = ldns_rdf_size(ldns_rr_rdf(rr, 0)) - 3;
			wire += 3;
		} else
			continue;
		if (len == 0 || len > AS_SMIMEA_MAX_DATA)
			continue;
		if ((r->data = malloc(len)) == NULL)
			return -1;
		memcpy(r->data, wire, len);
		r->len = len;
		e->n++;
	}
	return 0;
}

/* Fill a fresh entry for the mailbox from DNS. -1 on memory failure. */
static int
fetch(struct as_smimea *s, const char *mailbox, struct entry *e)
{
	struct as_dnssec *v = NULL;
	struct as_dnssec_answer a;
	ldns_rdf *name = NULL;
	char owner[512], err[256];
	uint32_t ttl = AS_SMIMEA_NEG_TTL;
	time_t now = now_of(s);
	int r = -1, hops;

	memset(&a, 0, sizeof(a));
	e->kind = ENTRY_FAILED;
	if (as_smimea_owner(mailbox, owner, sizeof(owner)) != 0) {
		e->kind = ENTRY_NONE;
		snprintf(e->why, sizeof(e->why), "mailbox unusable for SMIMEA");
		r = 0;
		goto out;
	}
	if (as_dnssec_new(s->resolver, s->anchor_file, now, &v, err, sizeof(err)) != 0) {
		snprintf(e->why, sizeof(e->why), "validator: %.120s", err);
		ttl = AS_SMIMEA_FAIL_TTL;
		r = 0;
		goto out;
	}
	if ((name = ldns_dname_new_frm_str(owner)) == NULL)
		goto out;
	for (hops = 0; hops <= AS_SMIMEA_MAX_ALIASES; hops++) {
		if (as_dnssec_lookup(v, name, LDNS_RR_TYPE_SMIMEA, &a) != 0)
			goto out;
		if (a.state != AS_DNSSEC_SECURE || a.alias == NULL)
			break;
		ldns_rdf_deep_free(name);
		name = a.alias; /* transferred */
		a.alias = NULL;
		as_dnssec_answer_clear(&a);
	}
	r = 0;
	if (hops > AS_SMIMEA_MAX_ALIASES) {
		e->kind = ENTRY_NONE;
		snprintf(e->why, sizeof(e->why), "too many aliases");
	} else if (a.state == AS_DNSSEC_FAILED && !a.insecure_proven) {
		ttl = AS_SMIMEA_FAIL_TTL;
		snprintf(e->why, sizeof(e->why), "lookup failed: %.120s", a.why);
	} else if (a.state != AS_DNSSEC_SECURE) {
		/* insecure and bogus answers are ignored, as if there were none */
		e->kind = ENTRY_NONE;
		snprintf(e->why, sizeof(e->why), "dnssec=%s: ignored", a.state == AS_DNSSEC_FAILED ?
		    "insecure" : as_dnssec_state_name(a.state));
	} else if (a.rrset == NULL) {
		e->kind = ENTRY_NONE;
		snprintf(e->why, sizeof(e->why), "dnssec=secure: no SMIMEA record");
	} else {
		e->kind = ENTRY_RECORDS;
		if (parse_rrset(a.rrset, e, &ttl) != 0) {
			r = -1;
			goto out;
		}
		snprintf(e->why, sizeof(e->why), "dnssec=secure: %zu record(s)", e->n);
	}
out:
	if (ttl > AS_SMIMEA_MAX_TTL)
		ttl = AS_SMIMEA_MAX_TTL;
	e->expires = now + (time_t)ttl;
	as_dnssec_answer_clear(&a);
	ldns_rdf_deep_free(name);
	as_dnssec_free(v);
	return r;
}

/* ------------------------------------------------------------------ cache */

/* Drop expired entries; when still full, the one closest to expiry. Under the lock. */
static void
make_room(struct as_smimea *s, time_t now)
{
	size_t o = 0, soonest = 0;

	for (size_t i = 0; i < s->count; i++) {
		if (s->cache[i]->expires <= now)
			entry_free(s->cache[i]);
		else
			s->cache[o++] = s->cache[i];
	}
	s->count = o;
	if (s->count < AS_SMIMEA_CACHE_MAX)
		return;
	for (size_t i = 1; i < s->count; i++)
		if (s->cache[i]->expires < s->cache[soonest]->expires)
			soonest = i;
	entry_free(s->cache[soonest]);
	s->cache[soonest] = s->cache[--s->count];
}

/* A private copy of the cached entry for mailbox, or NULL (not cached, expired, no memory). */
static struct entry *
cache_get(struct as_smimea *s, const char *mailbox, time_t now)
{
	struct entry *copy = NULL;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->count; i++) {
		const struct entry *e = s->cache[i];

		if (strcmp(e->mailbox, mailbox) != 0 || e->expires <= now)
			continue;
		if ((copy = calloc(1, sizeof(*copy))) == NULL)
			break;
		*copy = *e;
		copy->recs = calloc(e->n > 0 ? e->n : 1, sizeof(*copy->recs));
		copy->n = 0;
		for (size_t k = 0; copy->recs != NULL && k < e->n; k++) {
			copy->recs[k] = e->recs[k];
			if ((copy->recs[k].data = malloc(e->recs[k].len)) == NULL)
				break;
			memcpy(copy->recs[k].data, e->recs[k].data, e->recs[k].len);
			copy->n++;
		}
		if (copy->recs == NULL || copy->n != e->n) {
			entry_free(copy);
			copy = NULL;
		}
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return copy;
}

/* Keep e (transferred), replacing an older entry for the same mailbox. */
static void
cache_put(struct as_smimea *s, struct entry *e, time_t now)
{
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->count; i++)
		if (strcmp(s->cache[i]->mailbox, e->mailbox) == 0) {
			entry_free(s->cache[i]);
			s->cache[i] = s->cache[--s->count];
			break;
		}
	make_room(s, now);
	s->cache[s->count++] = e;
	pthread_mutex_unlock(&s->lock);
}

enum as_smimea_status
as_smimea_lookup(struct as_smimea *s, const struct as_smimea_query *q, X509 **out, char *why,
    size_t whycap)
{
	enum as_smimea_status st = AS_SMIMEA_FAILED;
	time_t now = now_of(s);
	struct entry *e;
	char key[MAILBOX_MAX];
	const char *at;
	bool fresh = false;

	*out = NULL;
	snprintf(why, whycap, "internal failure");
	if (q->mailbox == NULL || strlen(q->mailbox) >= sizeof(key) ||
	    (at = strrchr(q->mailbox, '@')) == NULL) {
		snprintf(why, whycap, "mailbox unusable for SMIMEA");
		return AS_SMIMEA_NONE;
	}
	/* the local part is case-sensitive (it is hashed as given), the domain is not */
	snprintf(key, sizeof(key), "%s", q->mailbox);
	for (char *p = key + (at - q->mailbox); *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if ((e = cache_get(s, key, now)) == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			return AS_SMIMEA_FAILED;
		snprintf(e->mailbox, sizeof(e->mailbox), "%s", key);
		if (fetch(s, key, e) != 0) {
			entry_free(e);
			return AS_SMIMEA_FAILED;
		}
		fresh = true;
	}
	if (e->kind == ENTRY_RECORDS) {
		char detail[200];

		st = as_smimea_choose(e->recs, e->n, q, now, out, detail, sizeof(detail));
		snprintf(why, whycap, "%s; %s", e->why, detail);
	} else {
		st = e->kind == ENTRY_FAILED ? AS_SMIMEA_FAILED : AS_SMIMEA_NONE;
		snprintf(why, whycap, "%s", e->why);
	}
	if (fresh)
		cache_put(s, e, now); /* transferred */
	else
		entry_free(e);
	return st;
}
