/*
 * inbound: the inbound S/MIME pipeline for one message (see inbound.h): forged result
 * removal, decryption with gateway-held keys, verification, harvest, result headers. Owns the
 * per-process anchors and CRL cache, and each result until the caller takes it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>

#include "ca/ca.h"
#include "common/log.h"
#include "milter/inbound/authres.h"
#include "milter/inbound/crl_fetch.h"
#include "milter/inbound/inbound.h"
#include "milter/inbound/inbound_entity.h"
#include "milter/inbound/inbound_verify.h"
#include "milter/inbound/issuer_pool.h"
#include "milter/engine/mime_canon.h"
#include "milter/engine/smime_inbound.h"
#include "milter/engine/spool.h"

/* Per process; see inbound.h. Read-only after inbound_new except the thread-safe CRL cache. */
struct inbound {
	char authserv_id[256];
	bool verify, decrypt, harvest;
	struct ca *ca;
	STACK_OF(X509) *anchors;
	struct crl_cache *crls;
	struct issuer_pool *issuers;     /* CA certificates of verified chains */
	struct smime_options opt;
	char *spool_dir;
	time_t (*now)(void);
};

struct inbound *
inbound_new(const struct inbound_params *p, struct ca *ca, char *why, size_t whycap)
{
	struct inbound *ib = calloc(1, sizeof(*ib));
	char idir[4200] = "";

	if (ib == NULL) {
		snprintf(why, whycap, "out of memory");
		return NULL;
	}
	if (p->authserv_id != NULL && p->authserv_id[0] != '\0')
		snprintf(ib->authserv_id, sizeof(ib->authserv_id), "%s", p->authserv_id);
	else if (gethostname(ib->authserv_id, sizeof(ib->authserv_id) - 1) != 0 ||
	    ib->authserv_id[0] == '\0')
		snprintf(ib->authserv_id, sizeof(ib->authserv_id), "localhost");
	ib->verify = p->verify;
	ib->decrypt = p->decrypt;
	ib->harvest = p->harvest;
	ib->ca = ca;
	ib->now = p->now;
	ib->opt.mem_limit = p->mem_limit;
	ib->opt.max_size = p->max_size;
	if (p->spool_dir != NULL && (ib->spool_dir = strdup(p->spool_dir)) == NULL) {
		snprintf(why, whycap, "out of memory");
		goto fail;
	}
	ib->opt.spool_dir = ib->spool_dir;
	if (inbound_anchors_load(p->trust_anchor_file, p->anchor_dir, ca, &ib->anchors, why,
	    whycap) != 0)
		goto fail;
	if (p->crl_check) {
		struct crl_cache_params cp = { p->crl_cache_dir, p->crl_timeout_ms, 0,
			p->crl_wait_ms, 0, p->now };

		if ((ib->crls = crl_cache_new(&cp, why, whycap)) == NULL)
			goto fail;
	}
	if (p->crl_cache_dir != NULL && p->crl_cache_dir[0] != '\0' &&
	    snprintf(idir, sizeof(idir), "%s/issuers", p->crl_cache_dir) >= (int)sizeof(idir)) {
		snprintf(why, whycap, "crl_cache_dir is too long");
		goto fail;
	}
	/* beside the CRL cache, which is made first */
	if (p->crl_check && (ib->issuers = issuer_pool_new(idir[0] != '\0' ? idir : NULL)) ==
	    NULL) {
		snprintf(why, whycap, "out of memory");
		goto fail;
	}
	return ib;
fail:
	inbound_free(ib);
	return NULL;
}

void
inbound_free(struct inbound *ib)
{
	if (ib == NULL)
		return;
	crl_cache_free(ib->crls);
	issuer_pool_free(ib->issuers);
	sk_X509_pop_free(ib->anchors, X509_free);
	free(ib->spool_dir);
	free(ib);
}

const char *
inbound_authserv_id(const struct inbound *ib)
{
	return ib->authserv_id;
}

STACK_OF(X509) *
inbound_anchors(const struct inbound *ib)
{
	return ib->anchors;
}

bool
inbound_recipient_usable(struct inbound *ib, X509 *cert, struct recipient_chain_result *res)
{
	STACK_OF(X509) *untrusted;
	enum recipient_chain_status st;

	memset(res, 0, sizeof(*res));
	if (ib->crls == NULL)
		return true;  /* crl_check off */
	untrusted = issuer_pool_get(ib->issuers);
	st = recipient_chain_check(cert, ib->anchors, untrusted, ib->crls, ib->ca, ib->now, res);
	sk_X509_pop_free(untrusted, X509_free);
	return st != RECIPIENT_CHAIN_REVOKED;
}

void
inbound_result_free(struct inbound_result *r)
{
	if (r == NULL)
		return;
	smime_result_free(&r->edit);
	for (size_t i = 0; i < r->del_count; i++)
		free(r->del[i].name);
	free(r->del);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------------ edits */

static int
add_remove(struct smime_result *e, const char *name)
{
	char **nr;

	for (size_t i = 0; i < e->remove_count; i++)
		if (strcasecmp(e->remove[i], name) == 0)
			return 0;
	if ((nr = realloc(e->remove, (e->remove_count + 1) * sizeof(*nr))) == NULL)
		return -1;
	e->remove = nr;
	if ((nr[e->remove_count] = strdup(name)) == NULL)
		return -1;
	e->remove_count++;
	return 0;
}

static int
add_header(struct smime_result *e, const char *name, const char *value)
{
	struct smime_header *na;
	char *n, *v;

	if ((na = realloc(e->add, (e->add_count + 1) * sizeof(*na))) == NULL)
		return -1;
	e->add = na;
	n = strdup(name);
	v = strdup(value);
	if (n == NULL || v == NULL) {
		free(n);
		free(v);
		return -1;
	}
	na[e->add_count].name = n;
	na[e->add_count].value = v;
	e->add_count++;
	return 0;
}

/* Forged Authentication-Results (claiming our id), highest index first; and our own header. */
static int
strip_forged(const struct inbound *ib, const struct inbound_input *in, struct inbound_result *out)
{
	size_t count = 0, k = 0;
	int idx[SMIME_MAX_HEADERS];

	for (size_t i = 0; i < in->header_count && count < SMIME_MAX_HEADERS; i++) {
		if (strcasecmp(in->headers[i].name, AUTHRES_HEADER) != 0)
			continue;
		k++;
		if (authres_claims(in->headers[i].value, ib->authserv_id))
			idx[count++] = (int)k;
	}
	if (count > 0 && (out->del = calloc(count, sizeof(*out->del))) == NULL)
		return -1;
	for (size_t i = 0; i < count; i++) {
		if ((out->del[i].name = strdup(AUTHRES_HEADER)) == NULL)
			return -1;
		out->del[i].index = idx[count - 1 - i];
		out->del_count++;
	}
	for (size_t i = 0; i < in->header_count; i++)
		if (strcasecmp(in->headers[i].name, INBOUND_DECRYPT_HEADER) == 0)
			return add_remove(&out->edit, INBOUND_DECRYPT_HEADER);
	return 0;
}

/* ------------------------------------------------------------------ decryption */

enum dec_outcome { DEC_NOT_ENCRYPTED, DEC_DONE, DEC_UNDECRYPTABLE, DEC_ERROR };

/* Try the keys of the local recipients. *content and the mailbox used are set on DEC_DONE. */
/* The serials of a mailbox's stored certificates, newest first (bounded). */
struct serials {
	char hex[INBOUND_MAX_KEY_TRIES][41];
	time_t issued[INBOUND_MAX_KEY_TRIES];
	size_t n;
};

static int
collect_serial(const struct ca_cert_info *info, void *arg)
{
	struct serials *sv = arg;
	size_t i;

	/* keep the newest INBOUND_MAX_KEY_TRIES: insertion sort, dropping the oldest */
	if (sv->n == INBOUND_MAX_KEY_TRIES && info->issued_at <= sv->issued[sv->n - 1])
		return 0;
	if (sv->n < INBOUND_MAX_KEY_TRIES)
		sv->n++;
	for (i = sv->n - 1; i > 0 && sv->issued[i - 1] < info->issued_at; i--) {
		memcpy(sv->hex[i], sv->hex[i - 1], sizeof(sv->hex[i]));
		sv->issued[i] = sv->issued[i - 1];
	}
	snprintf(sv->hex[i], sizeof(sv->hex[i]), "%s", info->serial_hex);
	sv->issued[i] = info->issued_at;
	return 0;
}

/*
 * Try the keys the gateway holds for the local recipients: every stored certificate of each,
 * newest first, so mail sent to a certificate that was since renewed still decrypts.
 */
static enum dec_outcome
try_decrypt(struct inbound *ib, const struct inbound_input *in, const struct smime_message *sm,
    struct spool **content, char *who, size_t whocap, char *why, size_t whycap)
{
	struct smime_error err = { "" };
	bool any_key = false;
	size_t tries = 0;

	*content = NULL;
	snprintf(why, whycap, "no key held for any recipient");
	for (size_t i = 0; i < in->rcpt_count && tries < INBOUND_MAX_KEY_TRIES; i++) {
		struct ca_cert_filter f = { in->rcpts[i], NULL, -1, 0 };
		struct ca_error cerr = { "" };
		struct serials sv;

		if (ib->ca == NULL)
			break;
		sv.n = 0;
		if (ca_cert_foreach(ib->ca, &f, collect_serial, &sv, &cerr) != CA_OK) {
			snprintf(why, whycap, "key store: %s", cerr.text);
			return DEC_ERROR;
		}
		for (size_t j = 0; j < sv.n && tries < INBOUND_MAX_KEY_TRIES; j++) {
			struct ca_signer *s = NULL;
			enum smime_status st;
			int rc = ca_signer_load_serial(ib->ca, sv.hex[j], &s, &cerr);

			if (rc == CA_NOTFOUND || rc == CA_INVALID)
				continue;   /* an imported certificate without a key */
			if (rc != CA_OK) {
				snprintf(why, whycap, "key store: %s", cerr.text);
				return DEC_ERROR;
			}
			tries++;
			any_key = true;
			st = smime_decrypt(sm, s->key, s->cert, &ib->opt, content, &err);
			ca_signer_free(s);
			ERR_clear_error();
			if (st == SMIME_OK) {
				snprintf(who, whocap, "%s", in->rcpts[i]);
				return DEC_DONE;
			}
			if (st == SMIME_SKIP)
				return DEC_NOT_ENCRYPTED;
			if (st == SMIME_ERROR) {
				snprintf(why, whycap, "%s", err.text);
				return DEC_ERROR;
			}
			snprintf(why, whycap, "%s", err.text);
			if (strncmp(err.text, "malformed", 9) == 0)
				return DEC_UNDECRYPTABLE;
		}
	}
	if (!any_key) {
		/* still tell apart mail that is not encrypted at all */
		struct mime_ct ct;

		mime_canon_top_ct(sm, &ct);
		if (!((mime_ct_is(&ct, "application", "pkcs7-mime") ||
		    mime_ct_is(&ct, "application", "x-pkcs7-mime")) &&
		    strcmp(ct.smime_type, "signed-data") != 0 &&
		    strcmp(ct.smime_type, "certs-only") != 0 &&
		    strcmp(ct.smime_type, "compressed-data") != 0))
			return DEC_NOT_ENCRYPTED;
	} else if (strncmp(why, "cannot decrypt", 14) == 0) {
		snprintf(why, whycap, "not encrypted to a key the gateway holds");
	}
	return DEC_UNDECRYPTABLE;
}

/* Replace the outer Content-* fields and the body with the decrypted entity. */
static int
apply_entity(struct inbound_result *out, const struct inbound_input *in,
    struct inbound_entity *ent)
{
	for (size_t i = 0; i < in->header_count; i++)
		if (mime_canon_is_moved(in->headers[i].name) &&
		    add_remove(&out->edit, in->headers[i].name) != 0)
			return -1;
	for (size_t i = 0; i < ent->header_count; i++)
		if (mime_canon_is_moved(ent->headers[i].name) &&
		    add_header(&out->edit, ent->headers[i].name, ent->headers[i].value) != 0)
			return -1;
	out->edit.body = ent->body; /* transferred */
	ent->body = NULL;
	return 0;
}

/* The header list a verifier sees after decryption: outer non-Content fields + inner ones. */
static struct smime_header *
merged_headers(const struct inbound_input *in, const struct inbound_entity *ent, size_t *count)
{
	struct smime_header *h = calloc(in->header_count + ent->header_count + 1, sizeof(*h));
	size_t n = 0;

	if (h == NULL)
		return NULL;
	for (size_t i = 0; i < in->header_count; i++)
		if (!mime_canon_is_moved(in->headers[i].name))
			h[n++] = in->headers[i];
	for (size_t i = 0; i < ent->header_count; i++)
		if (mime_canon_is_moved(ent->headers[i].name))
			h[n++] = ent->headers[i];
	*count = n;
	return h;
}

/* ------------------------------------------------------------------ harvest */

/*
 * Store the signer's encryption certificate (its own, or the partner its signature names)
 * with the signer's capabilities unless the stored one is newer. The same certificate is
 * stored again only when it now comes with other capabilities.
 */
static bool
harvest(struct inbound *ib, const char *qid, const char *from, X509 *signer,
    const unsigned char *caps, size_t caps_len)
{
	struct ca_recipient_info held;
	struct ca_error cerr = { "" };
	X509 *old = NULL;
	char vb[300], eb[300];
	bool keep = false;
	int rc;

	rc = ca_recipient_cert(ib->ca, from, &old, &cerr);
	if (rc == CA_OK && ASN1_TIME_compare(X509_get0_notBefore(signer),
	    X509_get0_notBefore(old)) < 0)
		keep = true;
	else if (rc == CA_OK && X509_cmp(old, signer) == 0) {
		keep = true;
		memset(&held, 0, sizeof(held));
		if (caps_len > 0 && ca_recipient_get(ib->ca, from, &held, &cerr) == CA_OK &&
		    X509_cmp(held.cert, signer) == 0 && (held.caps_len != caps_len ||
		    memcmp(held.caps, caps, caps_len) != 0))
			keep = false;  /* same certificate, new capabilities */
		ca_recipient_info_free(&held);
	}
	X509_free(old);
	if (keep) {
		as_log(AS_LEVEL_DEBUG, qid, "event=harvest mailbox=%s result=kept-current",
		    as_log_value(from, vb, sizeof(vb)));
		return false;
	}
	cerr.text[0] = '\0';
	rc = ca_recipient_store_caps(ib->ca, from, signer, "harvest", caps, caps_len, &cerr);
	as_log(rc == CA_OK ? AS_LEVEL_INFO : AS_LEVEL_NOTICE, qid,
	    "event=harvest mailbox=%s result=%s capabilities=%s detail=%s",
	    as_log_value(from, vb, sizeof(vb)), rc == CA_OK ? "stored" : "refused",
	    caps_len > 0 ? "yes" : "no", as_log_value(cerr.text, eb, sizeof(eb)));
	return rc == CA_OK;
}

/* ------------------------------------------------------------------ the pipeline */

/* "none; reason="..."" with hostile characters of the reason replaced. */
static void
none_value(char *out, size_t cap, const char *why)
{
	size_t n = (size_t)snprintf(out, cap, "none; reason=\"");

	for (; *why != '\0' && n + 2 < cap; why++)
		out[n++] = (*why == '"' || *why == '\\' || (unsigned char)*why < 32 ||
		    (unsigned char)*why >= 127) ? '?' : *why;
	out[n++] = '"';
	out[n] = '\0';
}

enum inbound_status
inbound_process(struct inbound *ib, const struct inbound_input *in, struct inbound_result *out)
{
	struct smime_message sm = { in->headers, in->header_count, in->body };
	struct inbound_verdict v;
	struct inbound_entity ent = { 0 };
	struct smime_header *merged = NULL;
	struct spool *plain = NULL;
	char who[256] = "", why[256] = "", value[AUTHRES_MAX_VALUE], vb[300], rb[300];
	enum inbound_status st = INBOUND_ERROR;
	const char *qid = in->qid;

	memset(out, 0, sizeof(*out));
	memset(&v, 0, sizeof(v));
	if (in->body == NULL)
		return INBOUND_PASS;
	if (strip_forged(ib, in, out) != 0)
		goto out;
	if (ib->decrypt) {
		enum dec_outcome d = try_decrypt(ib, in, &sm, &plain, who, sizeof(who), why,
		    sizeof(why));

		if (d == DEC_ERROR)
			goto out;
		if (d == DEC_DONE) {
			if (inbound_entity_split(plain, &ib->opt, &ent, why, sizeof(why)) != 0) {
				d = DEC_UNDECRYPTABLE;
			} else if ((merged = merged_headers(in, &ent, &sm.header_count)) == NULL) {
				goto out;
			} else {
				sm.headers = merged;
				sm.body = ent.body;
			}
		}
		if (d == DEC_DONE) {
			snprintf(value, sizeof(value), "decrypted; key=%s", who);
			as_log(AS_LEVEL_INFO, qid, "event=decrypt result=ok key=%s",
			    as_log_value(who, vb, sizeof(vb)));
			out->decrypted = true;
		} else if (d == DEC_UNDECRYPTABLE) {
			none_value(value, sizeof(value), why);
			as_log(AS_LEVEL_INFO, qid, "event=decrypt result=none reason=%s",
			    as_log_value(why, rb, sizeof(rb)));
		}
		if ((d == DEC_DONE || d == DEC_UNDECRYPTABLE) &&
		    add_header(&out->edit, INBOUND_DECRYPT_HEADER, value) != 0)
			goto out;
	}
	if (ib->verify) {
		if (inbound_verify(&sm, in->from, ib->anchors, ib->crls, ib->ca, &ib->opt, ib->now,
		    &v) != 0)
			goto out;
		if (v.signed_message) {
			struct authres_smime a = { v.result, v.reason, v.identifier, v.serial,
				v.issuer };

			if (authres_format(value, sizeof(value), ib->authserv_id, &a) != 0)
				goto out;
			if (add_header(&out->edit, AUTHRES_HEADER, value) != 0)
				goto out;
			out->smime = v.result;
			snprintf(out->signer, sizeof(out->signer), "%s", v.identifier);
			snprintf(out->serial, sizeof(out->serial), "%s", v.serial);
			as_log(AS_LEVEL_DEBUG, qid,
			    "event=verify result=%s from=%s signer=%s serial=%s reason=%s",
			    authres_result_word(v.result), as_log_value(in->from, vb, sizeof(vb)),
			    as_log_value(v.identifier, rb, sizeof(rb)), v.serial[0] ? v.serial : "-",
			    v.reason[0] ? v.reason : "-");
			if (v.result == AUTHRES_PASS)
				issuer_pool_add(ib->issuers, v.chain);
			if (v.result == AUTHRES_PASS && ib->harvest && ib->ca != NULL &&
			    v.enc_cert != NULL)
				out->harvested = harvest(ib, qid, in->from, v.enc_cert,
				    v.caps, v.caps_len);
			else if (v.result == AUTHRES_PASS && ib->harvest && ib->ca != NULL)
				as_log(AS_LEVEL_INFO, qid, "event=harvest mailbox=%s "
				    "result=no-encryption-certificate",
				    as_log_value(in->from, vb, sizeof(vb)));
		}
	}
	if (out->decrypted && apply_entity(out, in, &ent) != 0)
		goto out;
	st = (out->del_count > 0 || out->edit.remove_count > 0 || out->edit.add_count > 0 ||
	    out->edit.body != NULL) ? INBOUND_MODIFY : INBOUND_PASS;
out:
	if (st != INBOUND_MODIFY)
		inbound_result_free(out);
	if (st == INBOUND_ERROR)
		as_log_ssl(AS_LEVEL_ERR, qid, "event=error stage=inbound reason=%s",
		    as_log_value(why[0] ? why : "internal failure", rb, sizeof(rb)));
	inbound_verdict_clear(&v);
	inbound_entity_free(&ent);
	free(merged);
	spool_free(plain);
	return st;
}
