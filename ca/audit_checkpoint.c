/*
 * audit_checkpoint: signed statements of the audit chain's head, for an auditor to keep off the
 * host. The hash chain shows an edit, but someone who holds the store can rewrite every record
 * and the head consistently; a checkpoint kept elsewhere commits to the hash of record N, so a
 * rewrite of any record up to N shows.
 *
 * A checkpoint is a CMS SignedData (PEM, content attached, signer certificate included) over a
 * short text: "autosmime audit checkpoint 1", records, head (hex SHA-256 of record N, as the
 * chain uses), time and the organisation. It is signed with a key of its own (EC P-256,
 * ca/audit-checkpoint.key, encrypted with the CA passphrase like the CA keys) whose self-signed
 * certificate (ca/audit-checkpoint.pem) the auditor pins; it is made on the first checkpoint.
 * Owns those two files. `openssl cms -verify` reads a checkpoint too.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca/ca_int.h"

#define CP_MAGIC "autosmime audit checkpoint 1"
#define CP_TEXT_MAX 1024
#define CP_PEM_MAX (64 * 1024)
#define CP_SIGNER_DAYS (20 * 365)

static int
cp_path(struct ca *ca, const char *ext, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/ca/audit-checkpoint.%s", ca->store_dir, ext);

	return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* The signer's certificate from its file, or NULL. */
static X509 *
cp_cert_load(struct ca *ca)
{
	char path[4096];

	return cp_path(ca, "pem", path, sizeof(path)) < 0 ? NULL : ca_cert_file_read(path);
}

/* A self-signed certificate for the checkpoint key: digitalSignature only, no EKU. */
static X509 *
cp_cert_make(struct ca *ca, EVP_PKEY *key, struct ca_error *err)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	char cn[160];
	int ok = 0;

	snprintf(cn, sizeof(cn), "%.100s audit checkpoint signer",
	    ca->org_name != NULL ? ca->org_name : "autosmime");
	if (x == NULL || n == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    !X509_set_version(x, 2) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_subject_name(x, n) || !X509_set_issuer_name(x, n) ||
	    !X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, NULL) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), CP_SIGNER_DAYS, 0, NULL) ||
	    !X509_set_pubkey(x, key))
		goto out;
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:FALSE")) == NULL ||
	    !X509_add_ext(x, ext, -1))
		goto out;
	X509_EXTENSION_free(ext);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, "critical,digitalSignature")) == NULL ||
	    !X509_add_ext(x, ext, -1))
		goto out;
	X509_EXTENSION_free(ext);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_key_identifier, "hash")) == NULL ||
	    !X509_add_ext(x, ext, -1))
		goto out;
	X509_EXTENSION_free(ext);
	ok = X509_sign(x, key, EVP_sha256()) > 0;
out:
	if (!ok) {
		ca_seterr_ssl(err, "cannot make the audit checkpoint certificate");
		X509_free(x);
		x = NULL;
	}
	BN_free(bn);
	X509_NAME_free(n);
	return x;
}

/* Write the certificate 0644 next to the key, created exclusively. */
static int
cp_cert_write(struct ca *ca, X509 *x, struct ca_error *err)
{
	char path[4096];

	if (cp_path(ca, "pem", path, sizeof(path)) < 0)
		return CA_ERR;
	return ca_cert_file_write(path, x, err);
}

/* The checkpoint key and certificate, made the first time. */
static int
cp_signer(struct ca *ca, EVP_PKEY **key, X509 **cert, struct ca_error *err)
{
	char kpath[4096];

	*key = NULL;
	*cert = NULL;
	if (cp_path(ca, "key", kpath, sizeof(kpath)) < 0)
		return CA_ERR;
	if (access(kpath, F_OK) == 0) {
		if (ca_key_file_read(ca, kpath, key, err) != CA_OK)
			return CA_ERR;
		if ((*cert = cp_cert_load(ca)) == NULL || X509_check_private_key(*cert, *key) != 1) {
			ca_seterr(err, "audit checkpoint certificate missing or not for its key");
			goto fail;
		}
		return CA_OK;
	}
	if ((*key = ca_keygen(CA_KEY_EC_P256, err)) == NULL ||
	    (*cert = cp_cert_make(ca, *key, err)) == NULL)
		goto fail;
	if (ca_write_key_file(ca, kpath, *key, err) != CA_OK)
		goto fail;
	if (cp_cert_write(ca, *cert, err) != CA_OK) {
		unlink(kpath);
		goto fail;
	}
	return CA_OK;
fail:
	EVP_PKEY_free(*key);
	X509_free(*cert);
	*key = NULL;
	*cert = NULL;
	return CA_ERR;
}

static void
cert_sha256(X509 *x, char hex[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned int n = 0;

	hex[0] = '\0';
	if (X509_digest(x, EVP_sha256(), md, &n) == 1 && n == sizeof(md))
		ca_hex(md, sizeof(md), hex);
}

int
ca_audit_checkpoint(struct ca *ca, const char *actor, char **pem, struct ca_checkpoint *out,
    struct ca_error *err)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	CMS_ContentInfo *cms = NULL;
	BIO *in = NULL, *mem = NULL;
	char text[CP_TEXT_MAX], fields[256];
	BUF_MEM *bm;
	int r = CA_ERR;

	*pem = NULL;
	memset(out, 0, sizeof(*out));
	/* the head as committed: ca_audit_verify checks the whole chain and gives the count */
	if ((r = ca_audit_verify(ca, &out->records, err)) != CA_OK)
		return r;
	r = CA_ERR;
	if (ca_audit_hash_at(ca, out->records, out->head, err) != CA_OK)
		return CA_ERR;
	if (cp_signer(ca, &key, &cert, err) != CA_OK)
		return CA_ERR;
	out->time = ca_now(ca);
	cert_sha256(cert, out->signer_sha256);
	snprintf(text, sizeof(text), "%s\nrecords: %" PRIu64 "\nhead: %s\ntime: %lld\n"
	    "organization: %.100s\n", CP_MAGIC, out->records, out->head, (long long)out->time,
	    ca->org_name != NULL ? ca->org_name : "");
	if ((in = BIO_new_mem_buf(text, (int)strlen(text))) == NULL ||
	    (cms = CMS_sign(cert, key, NULL, in, CMS_BINARY)) == NULL ||
	    (mem = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_CMS_stream(mem, cms, NULL, 0) != 1) {
		ca_seterr_ssl(err, "cannot sign the audit checkpoint");
		goto out;
	}
	BIO_get_mem_ptr(mem, &bm);
	if ((*pem = malloc(bm->length + 1)) == NULL)
		goto out;
	memcpy(*pem, bm->data, bm->length);
	(*pem)[bm->length] = '\0';
	snprintf(fields, sizeof(fields), "records=%" PRIu64 " head=%s signer_sha256=%s",
	    out->records, out->head, out->signer_sha256);
	if ((r = ca_audit(ca, "audit-checkpoint", actor, fields, err)) != CA_OK) {
		free(*pem);
		*pem = NULL;
		goto out;
	}
	r = CA_OK;
out:
	BIO_free(mem);
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	X509_free(cert);
	EVP_PKEY_free(key);
	return r;
}

/* Parse the signed text: exact magic line, then the fields; 0 or -1. */
static int
cp_parse(const char *text, struct ca_checkpoint *cp)
{
	unsigned long long n;
	long long t;
	char head[65];

	if (strncmp(text, CP_MAGIC "\n", sizeof(CP_MAGIC)) != 0 ||
	    sscanf(text + sizeof(CP_MAGIC), "records: %llu\nhead: %64[0-9a-f]\ntime: %lld\n",
	    &n, head, &t) != 3 || strlen(head) != 64)
		return -1;
	cp->records = n;
	memcpy(cp->head, head, sizeof(head));
	cp->time = (time_t)t;
	return 0;
}

int
ca_audit_checkpoint_verify(struct ca *ca, const char *pem, size_t len, X509 *pinned,
    bool incremental, struct ca_checkpoint *cp, uint64_t *records, struct ca_error *err)
{
	CMS_ContentInfo *cms = NULL;
	STACK_OF(X509) *signers = NULL, *trusted = NULL;
	X509 *ours = NULL, *want;
	BIO *in = NULL, *out = NULL;
	char text[CP_TEXT_MAX + 1], head[65];
	int n, r = CA_INVALID;

	memset(cp, 0, sizeof(*cp));
	*records = 0;
	if (len > CP_PEM_MAX) {
		ca_seterr(err, "checkpoint file is larger than %d bytes", CP_PEM_MAX);
		return CA_INVALID;
	}
	want = pinned != NULL ? pinned : (ours = cp_cert_load(ca));
	if (want == NULL) {
		ca_seterr(err, "no audit checkpoint signer: none was ever made here and none given");
		return CA_INVALID;
	}
	if ((in = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (cms = PEM_ASN1_read_bio((d2i_of_void *)d2i_CMS_ContentInfo, PEM_STRING_CMS, in,
	    NULL, NULL, NULL)) == NULL) {
		ca_seterr(err, "not a checkpoint (no PEM CMS)");
		goto out;
	}
	/* the one trusted signer is the pinned certificate: no chain, no other signer */
	if ((trusted = sk_X509_new_null()) == NULL || !sk_X509_push(trusted, want) ||
	    (out = BIO_new(BIO_s_mem())) == NULL ||
	    CMS_verify(cms, trusted, NULL, NULL, out, CMS_NOINTERN | CMS_NO_SIGNER_CERT_VERIFY |
	    CMS_BINARY) != 1 ||
	    (signers = CMS_get0_signers(cms)) == NULL || sk_X509_num(signers) != 1 ||
	    X509_cmp(sk_X509_value(signers, 0), want) != 0) {
		ca_seterr_ssl(err, "checkpoint signature does not verify with the checkpoint signer");
		goto out;
	}
	n = BIO_read(out, text, CP_TEXT_MAX);
	if (n <= 0 || BIO_pending(out) > 0) {
		ca_seterr(err, "checkpoint text missing or too long");
		goto out;
	}
	text[n] = '\0';
	if (cp_parse(text, cp) != 0) {
		ca_seterr(err, "checkpoint text is not an autosmime audit checkpoint");
		goto out;
	}
	cert_sha256(want, cp->signer_sha256);
	if (incremental) {
		r = ca_audit_verify_from(ca, cp->records, cp->head, records, err);
		goto out;
	}
	/* the chain as it is now must verify, hold record N, and record N must hash to head */
	if ((r = ca_audit_verify(ca, records, err)) != CA_OK)
		goto out;
	if (*records < cp->records) {
		ca_seterr(err, "the log holds %" PRIu64 " records, the checkpoint %" PRIu64,
		    *records, cp->records);
		r = CA_MISMATCH;
		goto out;
	}
	if ((r = ca_audit_hash_at(ca, cp->records, head, err)) != CA_OK)
		goto out;
	if (strcmp(head, cp->head) != 0) {
		ca_seterr(err, "record %" PRIu64 " does not hash to the checkpoint's head: the log "
		    "was rewritten at or before it", cp->records);
		r = CA_MISMATCH;
		goto out;
	}
	r = CA_OK;
out:
	if (r == CA_INVALID && err->text[0] == '\0')
		ca_seterr(err, "checkpoint unreadable");
	sk_X509_free(signers);
	sk_X509_free(trusted);
	BIO_free(out);
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	X509_free(ours);
	return r;
}
