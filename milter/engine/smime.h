/*
 * smime: the S/MIME message engine. Turns a message (header fields + body) into
 * multipart/signed (RFC 8551, detached CMS SignedData) and/or application/pkcs7-mime
 * enveloped-data / authEnveloped-data, and back (verify, decrypt) for inbound mail.
 *
 * It knows MIME and CMS, nothing about libmilter, the CA store or policy: callers hand it
 * keys and certificates. The result is expressed as edits to the outer header plus a new
 * body, which is exactly what a milter can apply (chgheader/addheader/replacebody), and what
 * offline mode applies to a file.
 *
 * The main header of milter/engine/ (libautosmime-smime.a): the folder owns MIME reading and
 * canonical form, transfer encodings, the body spool and CMS. It calls nothing of the project
 * outside itself (doc/ARCHITECTURE.md), so tests, fuzzers and benchmarks use it alone.
 */
#ifndef AUTOSMIME_SMIME_H
#define AUTOSMIME_SMIME_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "milter/engine/spool.h"

/* Bounds on hostile input; the engine refuses (SMIME_SKIP, with a reason) beyond them. */
#define SMIME_MAX_HEADERS 1000
#define SMIME_MAX_HEADER_LEN (64 * 1024)
#define SMIME_MAX_MIME_DEPTH 64

/* One header field as the MTA gave it: name, and value with its folding (CRLF or LF kept). */
struct smime_header {
	char *name;
	char *value;
};

/* The message being transformed. Lifetime: per message; owned by the caller. */
struct smime_message {
	const struct smime_header *headers;
	size_t header_count;
	struct spool *body;        /* raw body as received, any line ends */
};

struct cms_signed_template;

/*
 * Who signs. The engine borrows these; the caller (key cache) owns them. tmpl, when not
 * NULL, is the cms_signed template built from exactly this key, cert and chain
 * (milter/cms_signed.h); with NULL the engine builds a temporary one per message (or uses
 * OpenSSL's CMS code for key types the encoder does not support).
 */
struct smime_signer {
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) *chain;     /* issuing CA(s), without the root; may be NULL */
	const struct cms_signed_template *tmpl;
	/*
	 * The signer's encryption certificate, when it is not `cert` (a signing-only
	 * certificate's partner): sent with the signature and named as the encryption key
	 * preference, so readers encrypt to it. NULL: cert.
	 */
	X509 *enc_cert;
	unsigned caps;             /* SMIME_CAP_* advertised in SMIMECapabilities; 0: default */
};

/* Content ciphers the signer's mail clients read (RFC 8551 2.5.2), in preference order. */
#define SMIME_CAP_AES256_GCM 0x01u
#define SMIME_CAP_AES128_GCM 0x02u
#define SMIME_CAP_AES256_CBC 0x04u
#define SMIME_CAP_AES192_CBC 0x08u
#define SMIME_CAP_AES128_CBC 0x10u
/* What every S/MIME 3.2+ client reads: AES-CBC (RFC 5751); GCM is S/MIME 4.0 only. */
#define SMIME_CAPS_DEFAULT (SMIME_CAP_AES256_CBC | SMIME_CAP_AES192_CBC | SMIME_CAP_AES128_CBC)
/* A capability word ("aes256-gcm", "aes128-cbc", ...) as its bit; 0 when unknown. */
unsigned smime_cap_parse(const char *word);

enum smime_cipher { SMIME_AES256_CBC, SMIME_AES256_GCM };

struct smime_options {
	bool header_protection;    /* copy From/To/Cc/Subject/Date into the signed entity */
	enum smime_cipher cipher;
	size_t mem_limit;          /* for the output spool */
	const char *spool_dir;
	size_t max_size;           /* for the output spool */
};

/*
 * The outcome: remove every header named in `remove`, then add `add` in order, then replace
 * the body with `body`. Owned by the caller after a successful call; free with
 * smime_result_free.
 */
struct smime_result {
	char **remove;
	size_t remove_count;
	struct smime_header *add;
	size_t add_count;
	struct spool *body;
	/* SHA-256 of the signed (or encrypted) entity, for audit; whatever the signature digest */
	unsigned char entity_sha256[32];
};

enum smime_status {
	SMIME_OK = 0,      /* result filled in */
	SMIME_SKIP = 1,    /* leave the message untouched (already S/MIME, malformed); reason set */
	SMIME_ERROR = -1,  /* internal failure; the milter answers a temporary failure */
	SMIME_FAIL = 2,    /* inbound only: the signature or encryption is bad; reason set */
};

/* Short reason for SKIP and ERROR, safe to log (never secret). */
struct smime_error {
	char text[256];
};

/*
 * Sign: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256, or sha-384 /
 * sha-512 for an EC P-384 / P-521 signer (the digest follows the key: cms_signed_digest_for).
 */
enum smime_status smime_sign(const struct smime_message *msg, const struct smime_signer *signer,
    const struct smime_options *opt, struct smime_result *out, struct smime_error *err);

/* Encrypt to every recipient certificate (RSA or EC); sign first when signer is not NULL. */
enum smime_status smime_encrypt(const struct smime_message *msg, const struct smime_signer *signer,
    X509 *const *recipients, size_t recipient_count, const struct smime_options *opt,
    struct smime_result *out, struct smime_error *err);

/* Is this message already signed or encrypted (never wrap it again)? */
bool smime_is_smime(const struct smime_message *msg);

void smime_result_free(struct smime_result *res);

#endif
