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
};

int ca_open(const struct ca_params *params, struct ca **out, struct ca_error *err);
void ca_close(struct ca *ca);

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
};

/* What was issued. Free with ca_issued_free. */
struct ca_issued {
	char serial_hex[41];
	X509 *cert;
	STACK_OF(X509) *chain;           /* issuing CA up to, not including, the root */
	time_t not_after;
};

int ca_issue(struct ca *ca, const struct ca_issue_request *req, struct ca_issued *out,
    struct ca_error *err);
void ca_issued_free(struct ca_issued *issued);

/*
 * The newest valid (not expired, not revoked) certificate of a mailbox with its decrypted key
 * and chain, for signing and decrypting. The key is wiped when freed.
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
 * A counter that changes whenever any certificate is issued, revoked or renewed, so a cache
 * can tell cheaply whether what it holds may be stale.
 */
int ca_generation_counter(struct ca *ca, uint64_t *out, struct ca_error *err);

/* Recipient certificates (ours, harvested, imported, SMIMEA) usable for encryption to mailbox. */
int ca_recipient_cert(struct ca *ca, const char *mailbox, X509 **out, struct ca_error *err);

/*
 * Append one record to the audit log. `event` is a word ("sign", "issue", "challenge", ...);
 * `fields` is a key=value text (values quoted as as_log_value does). Chained by SHA-256.
 */
int ca_audit(struct ca *ca, const char *event, const char *actor, const char *fields,
    struct ca_error *err);

#endif
