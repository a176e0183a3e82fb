/*
 * ca_int: what the files of ca/ share and nobody else sees: the struct ca, the record formats of
 * the CA's databases, and the helpers one file offers another.
 *
 * Databases (files in store_dir, each owned by ca/):
 *   certs.db       serial hex -> cert record (header + DER)
 *   certs_mbox.db  secondary index: normalised mailbox -> serial hex (DB_DUPSORT)
 *   keys.db        serial hex -> PKCS#8 EncryptedPrivateKeyInfo (AES-256) of the user key
 *   revoked.db     serial hex -> revocation record
 *   recipients.db  normalised mailbox -> recipient record (header + DER)
 *   meta.db        word -> value (generation, crl number per CA, active CA, audit head)
 *   audit.db       recno -> audit record text (append only, hash chained)
 *   cas.db         CA id -> issuing CA record (header + cert DER + root DER)
 *   domains.db     domain -> domain control validation record (domain.c, ca_domain.h)
 * CA private keys live in store_dir/ca/<id>.key, encrypted PEM, 0600, or in a PKCS#11 token
 * named by store_dir/ca/<id>.uri (the key's RFC 7512 URI, 0600; issuer_key.c).
 */
#ifndef AUTOSMIME_CA_INT_H
#define AUTOSMIME_CA_INT_H

#include <pthread.h>
#include <stdarg.h>

#include "ca/ca.h"
#include "ca/store.h"
#include "common/util.h"

#define CA_MAILBOX_MAX 254
#define CA_CSR_MAX (16 * 1024)
/* S/MIME BR 6.3.2 allows 825 days; keep a day below it (notAfter is inclusive). */
#define CA_MAX_VALIDITY (AS_CERT_MAX_DAYS * 86400LL)
#define CA_SERIAL_BYTES 16

/* Fixed header of a cert record; followed by der_len bytes of DER. */
struct ca_cert_rec {
	uint8_t version;
	uint8_t profile, generation, key_type;
	int64_t issued_at, not_before, not_after;
	char ca_id[41];
	char mailbox[CA_MAILBOX_MAX + 2];
	uint32_t der_len;
};

struct ca_revoke_rec {
	int64_t time;
	int32_t reason;
	char ca_id[41];
};

/*
 * A recipients.db record. Version 1: the header, then der_len bytes of certificate DER.
 * Version 2 adds, after the DER, struct ca_recipient_ext and caps_len bytes of
 * SMIMECapabilities DER. Both are read; version 2 is written.
 */
struct ca_recipient_rec {
	int64_t stored_at;
	char source[32];
	uint32_t der_len;
};

#define CA_RECIPIENT_EXT_MAGIC "RCv2"
struct ca_recipient_ext {
	char magic[4];
	uint32_t caps_len;
};

/* Parse a record of either version; cert and caps are allocated. CA_ERR when damaged. */
int ca_recipient_rec_parse(const void *data, size_t size, struct ca_recipient_rec *h,
    X509 **cert, unsigned char **caps, size_t *caps_len, struct ca_error *err);

struct ca_cas_rec {
	int64_t created;
	uint32_t cert_len, root_len;
};

/* A loaded issuing CA: certificate, root and (unless read-only) key. Lifetime: the struct ca. */
struct ca_issuer {
	char id[41];
	X509 *cert;
	X509 *root;
	EVP_PKEY *key;
	time_t created;
	bool in_token;             /* key is a PKCS#11 token handle (issuer_key.c) */
};

/*
 * The queue of ca_audit calls waiting for a shared commit (audit_batch.c). `lock` guards every
 * field. Lifetime: the struct ca (init in ca_open, destroy in ca_close).
 */
struct ca_audit_req;
struct ca_audit_queue {
	pthread_mutex_t lock;
	pthread_condattr_t cattr;           /* CLOCK_MONOTONIC, for the records' waits */
	struct ca_audit_req *head, *tail;   /* not yet taken by a leader, in arrival order */
	unsigned queued;                    /* records between head and tail */
	bool writing;                       /* a leader is writing a batch */
	bool ready;                         /* initialised */
	int wait_ms;                        /* how long a record may wait to be taken */
	unsigned long batches, records;     /* written so far (statistics, tests) */
};

/* Per process; see ca.h. `lock` guards `issuers` (the cache of loaded CA keys). */
struct ca {
	struct store *st;
	DB *certs, *by_mailbox, *keys, *revoked, *recipients, *meta, *audit, *cas;
	DB *domains;               /* domain control validations (domain.c) */
	char *store_dir, *kek_file, *pass_file, *base_url, *crl_dir;
	char *org_name, *org_id, *org_country;
	char *ocsp_url;            /* AIA id-ad-ocsp of issued certificates; NULL: none */
	bool read_only;
	bool separate_encryption;  /* CA-made keys issued as a signing + encryption pair */
	enum ca_key_type enc_key_type;
	time_t (*now)(void);
	pthread_mutex_t lock;
	struct ca_issuer *issuers[64];
	size_t n_issuers;
	unsigned char *kek;        /* hex text of the key-encryption key; wiped on close */
	size_t kek_len;
	unsigned long commits;
	struct ca_kpool *pool;     /* keys made ahead (keypool.c); NULL without params.keypool */
	struct ca_audit_queue audit_q;
	/* PKCS#11 CA keys (hsm.c); hsm_lock guards the three fields after the paths. */
	char *p11_module, *p11_pin_file;
	pthread_mutex_t hsm_lock;
	void *hsm;                 /* the pkcs11 ENGINE, started on first use */
	time_t hsm_failed_at;      /* last failed login or key lookup; 0: none since */
};

/* ca.c */
void ca_seterr(struct ca_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ca_seterr_ssl(struct ca_error *err, const char *what);
time_t ca_now(struct ca *ca);
int ca_db_result(int ret, struct ca_error *err, const char *what);
void ca_after_commit(struct ca *ca);
int ca_meta_get_u64(struct ca *ca, DB_TXN *txn, const char *key, uint64_t *out, u_int32_t flags);
int ca_meta_put_u64(struct ca *ca, DB_TXN *txn, const char *key, uint64_t v);
int ca_meta_get_str(struct ca *ca, DB_TXN *txn, const char *key, char *buf, size_t cap);
int ca_meta_put_str(struct ca *ca, DB_TXN *txn, const char *key, const char *v);
int ca_bump_generation(struct ca *ca, DB_TXN *txn);
void ca_hex(const unsigned char *p, size_t n, char *out);
/* An ASN.1 time as time_t; -1 when absent or unreadable. */
time_t ca_time_of(const ASN1_TIME *t);
/* The hex SHA-256 of audit record n as the chain computes it (64 zeros for n = 0). */
int ca_audit_hash_at(struct ca *ca, uint64_t n, char hex[65], struct ca_error *err);

/* audit.c: append inside the caller's transaction. */
int ca_audit_append(struct ca *ca, DB_TXN *txn, const char *event, const char *actor,
    const char *fields);
bool ca_audit_event_ok(const char *event);

/*
 * audit_batch.c: ca_audit's queue. ca_audit_submit appends one record through a shared
 * (batched) durable commit without checking the event first; returns 0 once committed,
 * CA_INVALID if ca_audit_append refused the record, DB_TIMEOUT if no leader took it within
 * q->wait_ms, else the error of the batch's transaction.
 */
int ca_audit_queue_init(struct ca_audit_queue *q);
void ca_audit_queue_destroy(struct ca_audit_queue *q);
int ca_audit_submit(struct ca *ca, const char *event, const char *actor, const char *fields);

/* keys.c */
int ca_kek_load(struct ca *ca, struct ca_error *err);
int ca_key_wrap(struct ca *ca, EVP_PKEY *key, unsigned char **der, size_t *len,
    struct ca_error *err);
int ca_key_unwrap(struct ca *ca, const unsigned char *der, size_t len, EVP_PKEY **out,
    struct ca_error *err);
EVP_PKEY *ca_keygen(enum ca_key_type type, struct ca_error *err);
int ca_key_classify(EVP_PKEY *key, enum ca_key_type *out, struct ca_error *err);
/* The key type of the mailbox's newest valid certificate for `use` (CA_USE_*), from its record. */
int ca_valid_key_type(struct ca *ca, const char *mailbox, unsigned use, enum ca_key_type *out,
    struct ca_error *err);
int ca_ca_key_path(struct ca *ca, const char *id, char *buf, size_t cap);
/* An encrypted (or plain) PEM key file; ca_read_key_file also takes a PKCS#11 URI. */
int ca_key_file_read(struct ca *ca, const char *path, EVP_PKEY **out, struct ca_error *err);

/*
 * hsm.c: a private key in a PKCS#11 token by its RFC 7512 URI. The EVP_PKEY is a handle (the
 * token signs); CA_INVALID for a malformed URI, CA_ERR when the token refuses or is absent.
 */
bool ca_hsm_is_uri(const char *s);
int ca_hsm_uri_check(const char *uri, struct ca_error *err);
int ca_hsm_key_load(struct ca *ca, const char *uri, EVP_PKEY **out, struct ca_error *err);
void ca_hsm_close(struct ca *ca);
/* Sign x with a token RSA key as RSASSA-PSS (SHA-256), encoded as BR 7.1.3.2 asks. */
int ca_hsm_sign_pss(X509 *x, EVP_PKEY *key, struct ca_error *err);

/*
 * issuer_key.c: where the key of issuing CA `id` lives. Save writes <id>.uri when uri is set
 * (the key is in a token), else the encrypted <id>.key; path gets the file written (for the
 * caller to unlink when what follows fails). Load reads whichever exists.
 */
int ca_issuer_key_save(struct ca *ca, const char *id, EVP_PKEY *key, const char *uri,
    char *path, size_t cap, struct ca_error *err);
int ca_issuer_key_load(struct ca *ca, const char *id, EVP_PKEY **out, bool *in_token,
    struct ca_error *err);
/* A token key (a handle) of an allowed type, checked on its public half. */
int ca_token_key_type(EVP_PKEY *key, enum ca_key_type *out, struct ca_error *err);

/* mailbox.c */
int ca_mailbox_normalise(const char *mailbox, char *out, size_t cap, struct ca_error *err);
bool ca_mailbox_ascii_local(const char *mailbox);
bool ca_utf8_valid(const char *s, size_t maxlen);

/* profile.c: build and sign a leaf; check.c: the BR 7.1 checker. */
struct ca_leaf_spec {
	const struct ca_issue_request *req;
	const char *mailbox;       /* normalised */
	EVP_PKEY *pubkey;
	time_t not_before, not_after;
	unsigned uses;             /* CA_USE_SIGN and/or CA_USE_ENCRYPT: the keyUsage bits */
};
const char *ca_leaf_key_usage(unsigned uses, bool ec);
int ca_leaf_build(struct ca *ca, const struct ca_issuer *iss, const struct ca_leaf_spec *spec,
    X509 **out, struct ca_error *err);
int ca_leaf_check(struct ca *ca, const struct ca_issuer *iss, const unsigned char *der,
    size_t len, const struct ca_leaf_spec *spec, struct ca_error *err);
/* certfile.c: a PEM certificate file (NULL when missing or damaged); written exclusively. */
X509 *ca_cert_file_read(const char *path);
int ca_cert_file_write(const char *path, X509 *x, struct ca_error *err);
/* check.c, for the other checkers: the BR 7.1.3 algorithm rules. */
bool ca_sigalg_fits(const X509_ALGOR *a, EVP_PKEY *issuer_key);
bool ca_spki_ok(X509 *x);
/* ocsp_url is unset, or an http:// URL without spaces or commas. */
int ca_ocsp_url_check(struct ca *ca, struct ca_error *err);
/* crl_check.c: a freshly signed CRL (arl: a root's, of CA certificates) re-decoded and checked. */
int ca_crl_check(const unsigned char *der, size_t len, X509 *issuer, bool arl,
    struct ca_error *err);
int ca_sign_cert(X509 *x, EVP_PKEY *key, bool pss, struct ca_error *err);
int ca_ski(X509 *x, unsigned char out[20]);
int ca_url(struct ca *ca, const char *id, const char *suffix, char *buf, size_t cap);
int ca_add_ext_conf(X509 *x, X509 *issuer, int nid, const char *value, struct ca_error *err);
const EVP_MD *ca_sig_md(EVP_PKEY *signer);
int ca_add_policies(X509 *x, const char *oids_comma_separated, struct ca_error *err);
int ca_base_url_check(struct ca *ca, struct ca_error *err);
/* organization_country an ISO 3166-1 code, organization_identifier per BR 7.1.4.2.2 (d). */
int ca_org_check(struct ca *ca, struct ca_error *err);
int ca_rand_serial(ASN1_INTEGER **out);
const char *ca_policy_oid(enum ca_profile p, enum ca_generation g);

/* authority.c */
int ca_issuer_get(struct ca *ca, const char *id, bool need_key, struct ca_issuer **out,
    struct ca_error *err);
int ca_active_id(struct ca *ca, char id[41], struct ca_error *err);
/* Free the loaded key of issuing CA id (ca_ocsp_params.transient_ca_keys); NULL-safe. */
void ca_issuer_drop_key(struct ca *ca, const char *id);

/* crl.c: sign the next CRL of `id` (issuing CA or root) inside txn; its entries are the
 * revocations whose record names id. */
int ca_crl_sign_txn(struct ca *ca, DB_TXN *txn, const char *id, X509 *cert, EVP_PKEY *key,
    long long next, const char *actor, X509_CRL **out, struct ca_error *err);
/* A revocation happened: the CRL of id is due. */
int ca_crl_mark_stale(struct ca *ca, DB_TXN *txn, const char *id);
/* crl_make.c: root and key match and some stored issuing CA is under root; id gets the
 * root's id. */
int ca_root_check(struct ca *ca, X509 *root, EVP_PKEY *root_key, char id[41],
    struct ca_error *err);

/*
 * ocsp_responder.c: the delegated responder of an issuing CA: certificate and key, loaded from
 * store_dir/ca/<id>.ocsp.{crt,key} or made (and audited) when missing, damaged or past half
 * of its validity. *renew_at says when to ask again. CA_NOKEY when a new one is due and
 * iss->key is not loaded: ask again with the key.
 */
#define CA_NOKEY (-10)
int ca_ocsp_signer_get(struct ca *ca, const struct ca_issuer *iss, long long validity,
    const char *actor, X509 **cert, EVP_PKEY **key, time_t *renew_at, struct ca_error *err);
/*
 * ocsp_check.c: ca_ocsp_response_check when the signer's certificate `checked` has already
 * passed ca_ocsp_responder_check (when it was loaded or made): a response carrying exactly it
 * is not checked against the profile again; everything else is.
 */
int ca_ocsp_response_check_signed(struct ca *ca, const unsigned char *der, size_t len,
    X509 *checked, struct ca_error *err);
/* ocsp_build.c: the responder certificate's TBS, signed by the issuing CA. */
int ca_ocsp_cert_build(struct ca *ca, const struct ca_issuer *iss, EVP_PKEY *pub,
    time_t now, long long validity, X509 **out, struct ca_error *err);

/* lookup.c */
int ca_cert_rec_load(struct ca *ca, DB_TXN *txn, const char *serial, struct ca_cert_info *out,
    bool want_cert, struct ca_error *err);
int ca_by_mailbox_cb(DB *sdb, const DBT *pkey, const DBT *pdata, DBT *skey);
int ca_associate(void *arg);
int ca_serial_normalise(const char *in, char out[41]);

/* issue.c: the shared body of ca_issue and ca_renew. */
int ca_issue_with_event(struct ca *ca, const struct ca_issue_request *req, const char *event,
    const char *extra_fields, struct ca_issued *out, struct ca_error *err);

/* domain.c: the validation covering normalised domain d at now, inside txn (ca_domain.h). */
struct ca_domain_info;
int ca_domain_covering(struct ca *ca, DB_TXN *txn, const char *d, time_t now,
    struct ca_domain_info *out, bool *expired);

#endif
