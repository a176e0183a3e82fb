/*
 * ca: the public interface of the integrated certificate authority (libautosmime-ca).
 *
 * Owns the Berkeley DB environment, the issuing CA keys, the user keys (encrypted at rest),
 * certificates, revocations, recipient certificates and the hash-chained audit log. Callers are
 * the milter, policy/ and autosmimectl; none of them touches a CA key or a database directly.
 *
 * Lifetime: one struct ca per process (opened at start-up, shared by threads; every call is
 * thread-safe). Never includes libmilter.
 */
#ifndef AUTOSMIME_CA_H
#define AUTOSMIME_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct ca;

/* Error text safe to log or print (never a secret). */
struct ca_error {
	char text[256];
};

/* Return codes shared by every ca_* call. */
#define CA_OK 0
#define CA_ERR (-1)        /* internal failure (I/O, database, crypto) */
#define CA_NOTFOUND (-2)   /* no such certificate, mailbox or record */
#define CA_INVALID (-3)    /* the request is refused (bad mailbox, weak key, bad CSR, ...) */
#define CA_MISMATCH (-4)   /* the store disagrees with a signed statement about it */

enum ca_profile { CA_PROFILE_MAILBOX, CA_PROFILE_SPONSOR, CA_PROFILE_ORGANIZATION };
enum ca_generation { CA_GEN_STRICT, CA_GEN_MULTIPURPOSE };
enum ca_key_type { CA_KEY_EC_P256, CA_KEY_EC_P384, CA_KEY_RSA2048, CA_KEY_RSA3072, CA_KEY_RSA4096 };

/* Settings, usually copied from struct as_conf by the caller. Strings are borrowed. */
struct ca_params {
	const char *store_dir;           /* Berkeley DB environment */
	const char *kek_file;            /* 0600 key-encryption key for user keys */
	const char *ca_passphrase_file;  /* 0600 passphrase of the CA keys */
	const char *base_url;            /* http base for CRL DP and AIA */
	const char *crl_dir;
	const char *organization_name;
	const char *organization_identifier;
	const char *organization_country;
	bool read_only;                  /* the CLI's list/show: no key material loaded */
	time_t (*now)(void);             /* injectable clock; NULL means time() */
	/* Added for issue 7; zero means "not used". */
	bool keypool;                    /* keep CA-made RSA keys ready (background thread) */
	unsigned keypool_size;           /* keys kept ready per pooled type; 0: 4 */
	unsigned keypool_warm;           /* types pooled from the start: bits 1u << ca_key_type */
	/*
	 * Added for issue 20. With separate_encryption, a CA-made key is issued as a pair: a
	 * signing-only certificate of the request's key type and an encryption-only one of
	 * encryption_key_type (S/MIME BR strict profile), in one transaction.
	 */
	bool separate_encryption;
	enum ca_key_type encryption_key_type;
	/*
	 * PKCS#11 CA keys (hsm.c). The module (NULL: libp11's default, the p11-kit proxy) and
	 * the 0600 file holding the token's user PIN; used only when a CA key is in a token.
	 */
	const char *pkcs11_module;
	const char *pkcs11_pin_file;
	/* Added for OCSP (issue 16): when set, issued certificates carry it as AIA id-ad-ocsp. */
	const char *ocsp_url;
};

/* The encryption_key_type setting: "same" (one dual-use certificate) or a key type word. */
int ca_params_encryption(struct ca_params *params, const char *word);

/*
 * The settings of a configuration (common/conf.h) as the CLI and autosmime-ocspd open the CA
 * with: empty strings unset, encryption_key_type applied. Strings are borrowed from conf.
 */
struct as_conf;
void ca_params_from_conf(struct ca_params *p, const struct as_conf *conf, bool read_only);

int ca_open(const struct ca_params *params, struct ca **out, struct ca_error *err);
void ca_close(struct ca *ca);
/*
 * The CA's Berkeley DB environment (ca/store.h), for modules that keep their own databases in
 * it (policy/enrol): one environment handle per process. Borrowed: valid until ca_close, and
 * every database opened in it must be closed before that.
 */
struct store *ca_store(struct ca *ca);

/*
 * --- self-healing store (issue 13) ---
 * A long-running process starts the watcher once (ca_watch_start): it frees what dead
 * processes left locked and, when the environment panics or needs recovery, reopens every
 * handle in place. Every use of the CA (or of ca_store's databases) then sits between
 * ca_enter and ca_leave; ca_enter fails (CA_ERR, nothing may be used) while the store is being
 * or could not be reopened: answer 4xx. Not nested. Short-lived processes need neither.
 */
/*
 * Bulk loading (bench/store_fill only): with `on`, this handle's commits are atomic but not
 * durable (no log flush each); turning it off flushes the log and checkpoints, so everything
 * committed is durable when it returns. Not for the daemon or the CLI (ca/bulk.c).
 */
int ca_bulk_load(struct ca *ca, bool on, struct ca_error *err);

int ca_watch_start(struct ca *ca, struct ca_error *err);
int ca_enter(struct ca *ca, struct ca_error *err);
void ca_leave(struct ca *ca);

/*
 * --- key pool (added for issue 7; ca/keypool.h) ---
 * With params.keypool, ca_open starts one thread that keeps keypool_size keys ready of each
 * type in params.keypool_warm, and of any other RSA or P-384 type once one has been asked for
 * (a site that never issues RSA never spends CPU on RSA keys); ca_issue and ca_renew take a
 * ready key of the requested type and otherwise generate one as before.
 */
struct ca_keypool_figures {
	unsigned ready;                  /* keys waiting now */
	unsigned size;                   /* keys kept ready per pooled type */
	bool pooled;                     /* the thread keeps this type filled */
	bool generating;                 /* the thread is making a key of this type right now */
	unsigned long made, taken, missed, aborted;  /* since ca_open */
};
/* CA_NOTFOUND when the CA runs without a pool; CA_INVALID for an unknown type. */
int ca_keypool_stats(struct ca *ca, enum ca_key_type type, struct ca_keypool_figures *out);
/*
 * Wait (at most timeout_ms) until n keys of type are ready (n capped at the size; the type is
 * pooled from then on): CA_OK, CA_ERR on timeout, CA_INVALID for P-256 (never pooled).
 */
int ca_keypool_wait(struct ca *ca, enum ca_key_type type, unsigned n, int timeout_ms);

/* A request to issue. Either key_type (the CA generates the key) or csr_der (user key). */
struct ca_issue_request {
	const char *mailbox;             /* UTF-8; local part may be non-ASCII (SmtpUTF8Mailbox) */
	enum ca_profile profile;
	enum ca_generation generation;
	enum ca_key_type key_type;
	const unsigned char *csr_der;    /* PKCS#10; only its key is used */
	size_t csr_len;
	long long validity_seconds;      /* at most 825 days */
	bool rsa_pss;
	const char *given_name;          /* sponsor profile */
	const char *surname;
	const char *pseudonym;
	const char *validation_ref;      /* id of the validation record this issuance rests on */
	const char *actor;               /* who asked: "cli:root", "enrol:milter", ... (audit) */
	/* Added after the first contract; zero means "not used". */
	const char *upn;                 /* UPN otherName; Multipurpose generation only */
	/*
	 * Work of the caller's that must commit with the certificate or not at all (the enrolment
	 * state a validation spends): called inside the issuance's transaction with its
	 * Berkeley DB DB_TXN *; non-zero aborts the whole issuance (ca_issue returns CA_ERR, and
	 * the caller's own arg says why).
	 */
	int (*in_txn)(void *db_txn, void *arg);
	void *in_txn_arg;
	bool single;                     /* one dual-use certificate whatever the CA's default */
};

/* What was issued. Free with ca_issued_free. */
struct ca_issued {
	char serial_hex[41];
	X509 *cert;
	STACK_OF(X509) *chain;           /* issuing CA up to, not including, the root */
	time_t not_after;
	/* The encryption-only partner of a pair (separate_encryption); empty and NULL otherwise. */
	char enc_serial_hex[41];
	X509 *enc_cert;
};

int ca_issue(struct ca *ca, const struct ca_issue_request *req, struct ca_issued *out,
    struct ca_error *err);
void ca_issued_free(struct ca_issued *issued);

/*
 * The newest valid (not expired, not revoked) signing certificate of a mailbox (keyUsage
 * digitalSignature: dual-use or signing-only) with its decrypted key and chain. The key is
 * wiped when freed.
 */
struct ca_signer {
	char serial_hex[41];
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) *chain;
	time_t not_after;
};

int ca_signer_load(struct ca *ca, const char *mailbox, struct ca_signer **out,
    struct ca_error *err);
void ca_signer_free(struct ca_signer *signer);

/*
 * Key, certificate and chain of one stored certificate whatever its state (expired, revoked,
 * superseded): what decrypting mail sent to an older certificate needs. Never for signing.
 */
int ca_signer_load_serial(struct ca *ca, const char *serial_hex, struct ca_signer **out,
    struct ca_error *err);

/*
 * The newest valid encryption certificate of a mailbox (keyEncipherment or keyAgreement:
 * dual-use or encryption-only) with its key and chain: the same as ca_signer_load for a
 * dual-use certificate, its partner for a pair.
 */
int ca_decrypter_load(struct ca *ca, const char *mailbox, struct ca_signer **out,
    struct ca_error *err);

/* The certificate of ca_decrypter_load without its key; CA_NOTFOUND when there is none. */
int ca_encryption_cert(struct ca *ca, const char *mailbox, X509 **out, struct ca_error *err);

/* What a certificate may do, from its keyUsage (no keyUsage: everything). */
#define CA_USE_SIGN 1u
#define CA_USE_ENCRYPT 2u
unsigned ca_cert_uses(X509 *cert);
const char *ca_uses_name(unsigned uses); /* "dual", "sign", "encrypt" */

/*
 * A counter that changes whenever any certificate is issued, revoked or renewed, so a cache
 * can tell cheaply whether what it holds may be stale.
 */
int ca_generation_counter(struct ca *ca, uint64_t *out, struct ca_error *err);

/*
 * The certificate to encrypt to for mailbox: ours (the newest valid one that may encrypt),
 * else the harvested or imported one.
 */
int ca_recipient_cert(struct ca *ca, const char *mailbox, X509 **out, struct ca_error *err);

/*
 * Append one record to the audit log. `event` is a word ("sign", "issue", "challenge", ...);
 * `fields` is a key=value text (values quoted as as_log_value does). Chained by SHA-256.
 */
int ca_audit(struct ca *ca, const char *event, const char *actor, const char *fields,
    struct ca_error *err);

/* ---------------------------------------------------------------- additions (CA engineer) */

/* Reason codes of RFC 5280 5.3.1 accepted by ca_revoke (never unspecified). */
enum ca_reason {
	CA_REASON_KEY_COMPROMISE = 1, CA_REASON_CA_COMPROMISE = 2, CA_REASON_AFFILIATION_CHANGED = 3,
	CA_REASON_SUPERSEDED = 4, CA_REASON_CESSATION = 5, CA_REASON_CERTIFICATE_HOLD = 6,
	CA_REASON_PRIVILEGE_WITHDRAWN = 9, CA_REASON_AA_COMPROMISE = 10
};

/* Words for enums ("mailbox", "strict", "ec-p256", "keyCompromise"); NULL when out of range. */
const char *ca_profile_name(enum ca_profile p);
const char *ca_generation_name(enum ca_generation g);
const char *ca_key_type_name(enum ca_key_type k);
const char *ca_reason_name(int reason);
/* Parse those words; -1 when unknown. */
int ca_profile_parse(const char *word);
int ca_generation_parse(const char *word);
int ca_key_type_parse(const char *word);
int ca_reason_parse(const char *word);

/* Check a mailbox the way ca_issue does. CA_OK or CA_INVALID with the reason. */
int ca_mailbox_check(const char *mailbox, struct ca_error *err);

/* --- CA administration (autosmimectl ca ...) --- */
struct ca_authority_request {
	enum ca_key_type key_type;       /* of the CA keys; default CA_KEY_EC_P384 */
	const char *common_name;         /* issuing CA CN; NULL: "<O> S/MIME Issuing CA <date>" */
	const char *root_common_name;    /* ca_init only; NULL: "<O> S/MIME Root CA <date>" */
	long long root_days;             /* root validity; 0: 20 years */
	long long issuing_days;          /* issuing CA validity; 0: 5 years */
	/* ca_init: written (encrypted, 0600, never over a file) before anything is stored */
	const char *root_key_file;
	X509 *root_cert;                 /* ca_rotate: the root that signs (borrowed) */
	EVP_PKEY *root_key;              /* ca_rotate: its key (borrowed) */
	const char *actor;
	/*
	 * PKCS#11: the issuing CA key is the token key of this RFC 7512 URI (made by the token's
	 * tools, non-extractable); key_type is then the key's own. NULL: a key made here and
	 * stored encrypted. ca_init: a root_key_file that is a PKCS#11 URI names the root's token
	 * key instead of a file to write.
	 */
	const char *key_uri;
};

/* What ca_init/ca_rotate made. root_key is only set by ca_init: the caller saves it and may
 * remove it from the host; the CA keeps only the root certificate. Free with ca_authority_free. */
struct ca_authority {
	char id[41];                     /* hex subject key identifier of the issuing CA */
	X509 *cert;                      /* issuing CA */
	X509 *root;
	EVP_PKEY *root_key;
	X509_CRL *root_crl;              /* the root's new CRL (ca_init, ca_rotate), to publish */
	bool active;
	time_t created;
};
void ca_authority_free(struct ca_authority *a);

int ca_init(struct ca *ca, const struct ca_authority_request *req, struct ca_authority *out,
    struct ca_error *err);
int ca_rotate(struct ca *ca, const struct ca_authority_request *req, struct ca_authority *out,
    struct ca_error *err);
/* Import an issuing CA from the organisation's PKI: cert + key (borrowed), chain up to the root. */
int ca_import(struct ca *ca, X509 *cert, EVP_PKEY *key, STACK_OF(X509) *chain, const char *actor,
    struct ca_authority *out, struct ca_error *err);
/* The same with the issuing CA key in a PKCS#11 token, named by its URI (ca_read_key_file). */
int ca_import_token(struct ca *ca, X509 *cert, const char *key_uri, STACK_OF(X509) *chain,
    const char *actor, struct ca_authority *out, struct ca_error *err);
/* Every issuing CA ever used, the active one flagged. cb returns non-zero to stop. */
typedef int (*ca_authority_cb)(const struct ca_authority *a, void *arg);
int ca_authority_foreach(struct ca *ca, ca_authority_cb cb, void *arg, struct ca_error *err);

/*
 * Read a private key file encrypted under the CA passphrase (or plain, for import). A path
 * that is a PKCS#11 URI ("pkcs11:...") gives a handle on that token key instead.
 */
int ca_read_key_file(struct ca *ca, const char *path, EVP_PKEY **out, struct ca_error *err);
/* Write a key encrypted (AES-256) under the CA passphrase, mode 0600, never over a file. */
int ca_write_key_file(struct ca *ca, const char *path, EVP_PKEY *key, struct ca_error *err);

/*
 * Read a secret file: a regular file without group/other access, at most 4 KiB, trailing
 * white space cut. *out is malloc'd and NUL-terminated; wipe it (as_wipe) before free.
 */
int ca_secret_file_read(const char *path, const char *what, unsigned char **out, size_t *len,
    struct ca_error *err);

/* --- certificates --- */
enum ca_status { CA_STATUS_VALID, CA_STATUS_REVOKED, CA_STATUS_EXPIRED };

/* One stored certificate. Free with ca_cert_info_free (cert may be NULL in listings). */
struct ca_cert_info {
	char serial_hex[41];
	char mailbox[256];
	char ca_id[41];
	enum ca_profile profile;
	enum ca_generation generation;
	enum ca_key_type key_type;
	enum ca_status status;
	time_t issued_at, not_before, not_after, revoked_at;
	int reason;                      /* when revoked */
	X509 *cert;
};
void ca_cert_info_free(struct ca_cert_info *info);

/* By serial (hex, any case). CA_NOTFOUND when unknown. */
int ca_cert_get(struct ca *ca, const char *serial_hex, struct ca_cert_info *out,
    struct ca_error *err);

struct ca_cert_filter {
	const char *mailbox;             /* NULL: all */
	const char *ca_id;               /* issuer; NULL: all */
	int status;                      /* -1: all, else enum ca_status */
	long long expiring_within;       /* seconds; 0: no filter; only valid certificates */
};
/* cb gets each match (info.cert is set); return non-zero to stop. */
typedef int (*ca_cert_cb)(const struct ca_cert_info *info, void *arg);
int ca_cert_foreach(struct ca *ca, const struct ca_cert_filter *f, ca_cert_cb cb, void *arg,
    struct ca_error *err);

/* Revoke with an RFC 5280 reason; certificateHold refused for Strict. Audit in the same txn. */
int ca_revoke(struct ca *ca, const char *serial_hex, int reason, const char *actor,
    struct ca_error *err);

/* A new certificate for the same mailbox, profile and generation with a new CA-made key. */
int ca_renew(struct ca *ca, const char *serial_hex, const char *actor, struct ca_issued *out,
    struct ca_error *err);

/* Store a recipient certificate (source: "import", "harvest", "smimea"). Must carry mailbox. */
int ca_recipient_store(struct ca *ca, const char *mailbox, X509 *cert, const char *source,
    struct ca_error *err);

/* The largest SMIMECapabilities blob a recipient record carries. */
#define CA_RECIPIENT_CAPS_MAX 4096

/*
 * ca_recipient_store with the signer's SMIMECapabilities attribute value (DER, opaque to the
 * CA; NULL/0: none known). The record, capabilities included, replaces any previous one.
 */
int ca_recipient_store_caps(struct ca *ca, const char *mailbox, X509 *cert, const char *source,
    const unsigned char *caps, size_t caps_len, struct ca_error *err);

/* --- recipient certificates (added for inbound S/MIME and autosmimectl recipients) --- */
/* One record of the recipient store. Free with ca_recipient_info_free. */
struct ca_recipient_info {
	char mailbox[256];               /* the key form: normalised, lower case */
	char source[32];                 /* "import", "harvest", "smimea" */
	time_t stored_at;
	X509 *cert;
	unsigned char *caps;             /* SMIMECapabilities DER, or NULL when none known */
	size_t caps_len;
};
void ca_recipient_info_free(struct ca_recipient_info *info);

/* The stored record of a mailbox (not our own issued certificates). CA_NOTFOUND when none. */
int ca_recipient_get(struct ca *ca, const char *mailbox, struct ca_recipient_info *out,
    struct ca_error *err);

/* Every record (mailbox NULL), or that mailbox's; cb returns non-zero to stop. */
typedef int (*ca_recipient_cb)(const struct ca_recipient_info *info, void *arg);
int ca_recipient_foreach(struct ca *ca, const char *mailbox, ca_recipient_cb cb, void *arg,
    struct ca_error *err);

/* Delete a mailbox's record, with an audit record in the same transaction. */
int ca_recipient_remove(struct ca *ca, const char *mailbox, const char *actor,
    struct ca_error *err);

/* --- CRL --- */
/* Make (and sign) the next CRL of issuing CA `ca_id` (NULL: active); number is monotone. */
int ca_crl_make(struct ca *ca, const char *ca_id, long long next_update_seconds, X509_CRL **out,
    struct ca_error *err);

/* nextUpdate of a root's CRL of issuing CAs: under the 12 months of S/MIME BR 4.9.7. */
#define CA_ROOT_CRL_NEXT (364LL * 86400)

/* Hex subject key identifier of a CA certificate: the id its CRL files are named by. */
int ca_root_id(X509 *root, char id[41]);

/*
 * Re-sign the CRL of a root (its revoked issuing CAs), with the root key the admin brings back.
 * The root must be that of an issuing CA in the store.
 */
int ca_root_crl_make(struct ca *ca, X509 *root, EVP_PKEY *root_key, X509_CRL **out,
    struct ca_error *err);

/*
 * Revoke issuing CA `ca_id` into its root's CRL, which is re-signed in the same transaction
 * and returned for publication. The active issuing CA is refused (ca rotate first); reasons are
 * keyCompromise, cACompromise, affiliationChanged, superseded or cessationOfOperation.
 * Certificates it issued count as revoked (cACompromise) from then on.
 */
int ca_revoke_issuer(struct ca *ca, const char *ca_id, X509 *root, EVP_PKEY *root_key,
    int reason, const char *actor, X509_CRL **arl, struct ca_error *err);

/*
 * Whether `cert` is one of the store's issuing CAs and revoked (ca_revoke_issuer): CA_OK
 * with *revoked set (false also for a CA the store does not hold), CA_ERR on a store failure.
 */
int ca_issuer_revoked(struct ca *ca, X509 *cert, bool *revoked, struct ca_error *err);

/* What the store knows of the newest CRL of a CA (issuing CA id or root id). */
struct ca_crl_state {
	uint64_t number;                 /* 0: none signed yet */
	time_t this_update, next_update;
	bool stale;                      /* a revocation since it was signed */
};
int ca_crl_state(struct ca *ca, const char *id, struct ca_crl_state *out, struct ca_error *err);
/* Due: none yet, stale, or at least half of its period gone (a timer re-signs it). */
bool ca_crl_due(const struct ca_crl_state *s, time_t now);

/* --- audit --- */
struct ca_audit_record {
	uint64_t recno;
	time_t time;
	const char *event;
	const char *actor;
	const char *fields;
	const char *prev_hash;           /* hex SHA-256 of the previous record */
};
typedef int (*ca_audit_cb)(const struct ca_audit_record *rec, void *arg);
/*
 * Backup and restore. ca_backup makes a hot copy of the store (database files, then logs;
 * the CA key files) into dir, which must exist and be empty; it may run while the daemon
 * runs. ca_backup_check makes the copy at p->store_dir self-consistent (catastrophic
 * recovery, in a private environment) and opens it read-only: its audit chain must verify
 * (CA_INVALID otherwise) and info says what it holds. ca_restore claims p->store_dir
 * (CA_INVALID while any process has it open), checks a copy of backup_dir the same way, and
 * swaps it in; the old store is kept as <store_dir>.old-<UTC time>, named in previous.
 */
struct ca_backup_info {
	uint64_t audit_records;
	uint64_t certificates;
	unsigned long long bytes;
};
int ca_backup(struct ca *ca, const char *dir, struct ca_error *err);
int ca_backup_check(const struct ca_params *p, struct ca_backup_info *info,
    struct ca_error *err);
int ca_restore(const struct ca_params *p, const char *backup_dir, struct ca_backup_info *info,
    char *previous, size_t prevcap, struct ca_error *err);

/* Every record in order (strings valid during the call). */
int ca_audit_foreach(struct ca *ca, ca_audit_cb cb, void *arg, struct ca_error *err);
/* A signed audit checkpoint (audit_checkpoint.c): the chain's head after `records` records. */
struct ca_checkpoint {
	uint64_t records;
	char head[65];            /* hex SHA-256 of record `records`, 64 zeros for none */
	time_t time;
	char signer_sha256[65];   /* the checkpoint signer certificate's SHA-256 fingerprint */
};

/*
 * Sign the current head (the chain is verified first) with the checkpoint key, made with its
 * self-signed certificate on first use; *pem (malloc'd) is the PEM CMS for the auditor. An
 * audit-checkpoint event records it.
 */
int ca_audit_checkpoint(struct ca *ca, const char *actor, char **pem, struct ca_checkpoint *out,
    struct ca_error *err);

/*
 * Check a checkpoint (PEM, len bytes) against the log: its signature by `pinned` (NULL: this
 * store's checkpoint certificate), then the whole chain, then that record cp->records hashes
 * to its head. CA_OK; CA_INVALID when the checkpoint or the chain is bad; CA_MISMATCH when the
 * log was rewritten or cut before the checkpoint. *records gets the log's count. With
 * `incremental` only the records after the checkpoint's are walked (ca_audit_verify_from).
 */
int ca_audit_checkpoint_verify(struct ca *ca, const char *pem, size_t len, X509 *pinned,
    bool incremental, struct ca_checkpoint *cp, uint64_t *records, struct ca_error *err);

/* Check the whole chain; CA_INVALID with the first bad record number in err when broken. */
int ca_audit_verify(struct ca *ca, uint64_t *count, struct ca_error *err);
/*
 * Check only what follows record `after`: that record must hash to `head` (CA_MISMATCH
 * otherwise, or when the log no longer holds it), then the chain up to the head in meta, as
 * ca_audit_verify does. The records before are taken on the checkpoint's word.
 */
int ca_audit_verify_from(struct ca *ca, uint64_t after, const char *head, uint64_t *count,
    struct ca_error *err);

/*
 * --- OCSP (issue 16; ca/ocsp*.c) ---
 * Answers RFC 6960 requests per the RFC 5019 profile for every certificate of every issuing CA
 * of the store. Each issuing CA gets a delegated responder certificate that it issues
 * (id-kp-OCSPSigning only, id-pkix-ocsp-nocheck, EC P-256; its key encrypted under the CA
 * passphrase in store_dir/ca/<id>.ocsp.key, the certificate beside it in <id>.ocsp.crt),
 * renewed when half of its validity is gone. Responses without a nonce are kept per CertID and
 * signed again only when the status changes or half of the response's validity is gone (at most
 * 4 days, S/MIME BR 4.9.10). Every response passes ca_ocsp_response_check before it leaves.
 * Thread-safe; needs a CA opened with keys (not read_only).
 */
struct ca_ocsp;

#define CA_OCSP_REQUEST_MAX 4096       /* bytes of DER; longer requests are malformed */
#define CA_OCSP_CERTIDS_MAX 4          /* CertIDs in one request */
#define CA_OCSP_VALIDITY_MIN (8LL * 3600)   /* S/MIME BR 4.9.10: at least 8 hours ... */
#define CA_OCSP_VALIDITY_MAX (10LL * 86400) /* ... and at most 10 days */
#define CA_OCSP_RESPONDER_MIN (2LL * 86400)
#define CA_OCSP_RESPONDER_MAX (90LL * 86400)

struct ca_ocsp_params {
	long long validity;              /* nextUpdate - thisUpdate; 0: 4 days */
	long long responder_validity;    /* of responder certificates; 0: 30 days */
	unsigned cache_max;              /* responses kept; 0: 10000 */
	const char *actor;               /* in the audit record of a responder certificate */
	/*
	 * The issuing CA key is read only to issue a responder certificate and freed at once, so
	 * a network-facing responder does not hold it. Only for a process in which nothing but
	 * this ca_ocsp uses the CA keys (autosmime-ocspd).
	 */
	bool transient_ca_keys;
};

/* What one answer was, for the log line and the HTTP cache headers. */
struct ca_ocsp_answer {
	int response_status;             /* OCSPResponseStatus (RFC 6960 4.2.1) */
	int cert_status;                 /* of the first CertID: V_OCSP_CERTSTATUS_*, -1: none */
	int reason;                      /* when revoked; -1: none */
	char serial_hex[41];             /* of the first CertID */
	char ca_id[41];                  /* issuing CA that answered */
	unsigned certids;
	bool cached, nonce;
	time_t this_update, next_update;
	long long max_age;               /* seconds a cache may keep it; 0: do not cache */
	char why[128];                   /* why a request was refused or failed */
};

int ca_ocsp_new(struct ca *ca, const struct ca_ocsp_params *p, struct ca_ocsp **out,
    struct ca_error *err);
void ca_ocsp_free(struct ca_ocsp *o);

/*
 * Answer a DER OCSPRequest (hostile input) with a DER OCSPResponse (*der malloc'd): successful,
 * malformedRequest, unauthorized (the CertIDs do not all name one issuing CA of ours) or
 * internalError.
 * CA_ERR only when not even that could be made (out of memory). Free *der with free().
 */
int ca_ocsp_respond(struct ca_ocsp *o, const unsigned char *req, size_t len,
    unsigned char **der, size_t *der_len, struct ca_ocsp_answer *ans);

/* A response of that status without a body (tryLater while the store is being reopened). */
int ca_ocsp_status_response(int status, unsigned char **der, size_t *der_len);

/* The current responder certificate of issuing CA id (made or renewed first when due). */
int ca_ocsp_responder(struct ca_ocsp *o, const char *id, X509 **out, struct ca_error *err);

/*
 * The pre-issuance checks: a responder certificate against the profile above (issuer: the
 * issuing CA), and a DER OCSPResponse: signed by a responder certificate of ours that passes,
 * for CertIDs of that CA, validity within S/MIME BR 4.9.10, nonce within RFC 8954.
 */
int ca_ocsp_responder_check(struct ca *ca, X509 *issuer, const unsigned char *der, size_t len,
    struct ca_error *err);
int ca_ocsp_response_check(struct ca *ca, const unsigned char *der, size_t len,
    struct ca_error *err);

#endif
