/*
 * caps-tool: SMIMECapabilities for the inbound tests. OpenSSL's `cms -sign` always lists the
 * same CBC ciphers (or nothing with -nosmimecap), so this signs with a chosen attribute, and
 * reads back what the harvest stored:
 *   caps-tool sign CERT KEY CHAIN IN KIND   detached multipart/signed of IN (CRLF, signed as
 *                                           is) on stdout; KIND: gcm (AES-256-GCM and -CBC),
 *                                           cbc (AES-256-CBC, AES-128-CBC), junk (a SEQUENCE
 *                                           that is no AlgorithmIdentifier list), big (> 4 KB)
 *   caps-tool stored CONF MAILBOX           "caps=gcm|no-gcm|unknown|none" of the stored record
 *   caps-tool parse FILE                    smime_caps_has_aes256_gcm of FILE's bytes
 *   caps-tool put CONF MAILBOX CERT v1|bad  write a raw record as an older release did (v1:
 *                                           header + DER, no capabilities) or a damaged v2
 *                                           (unknown extension magic), to test the reader
 * Exit: 0 done, 1 failure, 2 usage.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>

#include "ca/ca_int.h"
#include "common/conf.h"
#include "milter/engine/smime_inbound.h"

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

static const char *
word(int has)
{
	return has > 0 ? "gcm" : has == 0 ? "no-gcm" : "unknown";
}

/* Add the SMIMECapabilities attribute of `kind` to si. 0 or -1. */
static int
add_caps(CMS_SignerInfo *si, const char *kind)
{
	STACK_OF(X509_ALGOR) *algs = NULL;
	unsigned char *raw = NULL;
	size_t n;
	int r = -1;

	if (strcmp(kind, "gcm") == 0 || strcmp(kind, "cbc") == 0) {
		if ((algs = sk_X509_ALGOR_new_null()) == NULL ||
		    (strcmp(kind, "gcm") == 0 &&
		    PKCS7_simple_smimecap(algs, NID_aes_256_gcm, -1) != 1) ||
		    PKCS7_simple_smimecap(algs, NID_aes_256_cbc, -1) != 1 ||
		    (strcmp(kind, "cbc") == 0 &&
		    PKCS7_simple_smimecap(algs, NID_aes_128_cbc, -1) != 1) ||
		    CMS_add_smimecap(si, algs) != 1)
			goto out;
		r = 0;
	} else if (strcmp(kind, "junk") == 0) {
		/* SEQUENCE { INTEGER 5, BOOLEAN TRUE }: valid DER, not a capabilities list */
		static const unsigned char junk[] = { 0x30, 0x06, 0x02, 0x01, 0x05, 0x01, 0x01, 0xff };

		if (CMS_signed_add1_attr_by_NID(si, NID_SMIMECapabilities, V_ASN1_SEQUENCE, junk,
		    (int)sizeof(junk)) == 1)
			r = 0;
	} else if (strcmp(kind, "big") == 0) {
		/* SEQUENCE of 600 copies of { aes-256-cbc }: about 7 KB, over the bound */
		static const unsigned char one[] = { 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48,
			0x01, 0x65, 0x03, 0x04, 0x01, 0x2a };
		size_t body = 600 * sizeof(one);

		n = 4 + body;
		if ((raw = malloc(n)) == NULL)
			goto out;
		raw[0] = 0x30;
		raw[1] = 0x82;
		raw[2] = (unsigned char)(body >> 8);
		raw[3] = (unsigned char)(body & 0xff);
		for (size_t i = 0; i < 600; i++)
			memcpy(raw + 4 + i * sizeof(one), one, sizeof(one));
		if (CMS_signed_add1_attr_by_NID(si, NID_SMIMECapabilities, V_ASN1_SEQUENCE, raw,
		    (int)n) == 1)
			r = 0;
	}
out:
	sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
	free(raw);
	return r;
}

/*
 * The multipart/signed entity, written here: SMIME_write_CMS of OpenSSL 3.0 refuses a
 * signature finished with CMS_PARTIAL + CMS_final ("attribute error").
 */
static int
write_signed(BIO *data, CMS_ContentInfo *cms)
{
	static const char *bd = "caps-tool-boundary-7f3a";
	unsigned char *der = NULL, *p, buf[4096], line[80];
	int len, n;

	if ((len = i2d_CMS_ContentInfo(cms, NULL)) <= 0 || (der = malloc((size_t)len)) == NULL)
		return -1;
	p = der;
	i2d_CMS_ContentInfo(cms, &p);
	printf("MIME-Version: 1.0\r\nContent-Type: multipart/signed; "
	    "protocol=\"application/pkcs7-signature\"; micalg=\"sha-256\"; boundary=\"%s\"\r\n"
	    "\r\nThis is an S/MIME signed message\r\n\r\n--%s\r\n", bd, bd);
	while ((n = BIO_read(data, buf, (int)sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	printf("\r\n--%s\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n", bd);
	for (int off = 0; off < len; off += 57) {
		EVP_EncodeBlock(line, der + off, len - off < 57 ? len - off : 57);
		printf("%s\r\n", line);
	}
	printf("\r\n--%s--\r\n", bd);
	free(der);
	return fflush(stdout) == 0 ? 0 : -1;
}

static int
do_sign(const char *certf, const char *keyf, const char *chainf, const char *inf,
    const char *kind)
{
	BIO *b = NULL, *data = NULL;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	STACK_OF(X509) *chain = sk_X509_new_null();
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	X509 *c;
	int flags = CMS_DETACHED | CMS_BINARY | CMS_PARTIAL, r = 1;

	if (chain == NULL || (b = BIO_new_file(certf, "r")) == NULL ||
	    (cert = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL)
		goto out;
	BIO_free(b);
	if ((b = BIO_new_file(keyf, "r")) == NULL ||
	    (key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL)
		goto out;
	BIO_free(b);
	if ((b = BIO_new_file(chainf, "r")) == NULL)
		goto out;
	while ((c = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(chain, c)) {
			X509_free(c);
			goto out;
		}
	ERR_clear_error();
	if ((data = BIO_new_file(inf, "rb")) == NULL ||
	    (cms = CMS_sign(NULL, NULL, chain, NULL, flags)) == NULL ||
	    (si = CMS_add1_signer(cms, cert, key, NULL, flags | CMS_NOSMIMECAP)) == NULL ||
	    add_caps(si, kind) != 0 || CMS_final(cms, data, NULL, flags) != 1)
		goto out;
	if (BIO_reset(data) != 0 || write_signed(data, cms) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		ERR_print_errors_fp(stderr);
	BIO_free(b);
	BIO_free(data);
	X509_free(cert);
	EVP_PKEY_free(key);
	sk_X509_pop_free(chain, X509_free);
	CMS_ContentInfo_free(cms);
	return r;
}

static struct as_conf *
open_ca(const char *conf_path, struct ca **ca)
{
	struct as_conf_error cerr;
	struct as_conf *conf;
	struct ca_params cp = { 0 };
	struct ca_error err = { "" };

	*ca = NULL;
	if ((conf = as_conf_load(conf_path, &cerr)) == NULL) {
		fprintf(stderr, "caps-tool: cannot load %s\n", conf_path);
		return NULL;
	}
	cp.store_dir = nz(conf->store_dir);
	cp.kek_file = nz(conf->key_encryption_key_file);
	cp.ca_passphrase_file = nz(conf->ca_passphrase_file);
	cp.base_url = nz(conf->ca_base_url);
	cp.crl_dir = nz(conf->crl_dir);
	cp.organization_name = nz(conf->organization_name);
	cp.organization_identifier = nz(conf->organization_identifier);
	cp.organization_country = nz(conf->organization_country);
	if (ca_open(&cp, ca, &err) != CA_OK) {
		fprintf(stderr, "caps-tool: %s\n", err.text);
		as_conf_free(conf);
		return NULL;
	}
	return conf;
}

static int
do_stored(const char *conf_path, const char *mailbox)
{
	struct ca_error err = { "" };
	struct ca_recipient_info info;
	struct as_conf *conf;
	struct ca *ca;
	int rc, r = 1;

	if ((conf = open_ca(conf_path, &ca)) == NULL)
		return 1;
	if ((rc = ca_recipient_get(ca, mailbox, &info, &err)) != CA_OK) {
		fprintf(stderr, "caps-tool: %s\n", err.text);
		goto out;
	}
	printf("caps=%s source=%s\n", info.caps == NULL ? "none" :
	    word(smime_caps_has_aes256_gcm(info.caps, info.caps_len)), info.source);
	ca_recipient_info_free(&info);
	r = 0;
out:
	ca_close(ca);
	as_conf_free(conf);
	return r;
}

static int
do_put(const char *conf_path, const char *mailbox, const char *certf, const char *kind)
{
	struct ca_recipient_rec h;
	unsigned char buf[70000], *p;
	struct as_conf *conf;
	struct ca *ca;
	X509 *cert = NULL;
	BIO *b;
	DBT k, d;
	int len, r = 1;

	if ((b = BIO_new_file(certf, "r")) != NULL)
		cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (cert == NULL || (len = i2d_X509(cert, NULL)) <= 0 ||
	    (size_t)len + sizeof(h) + 16 > sizeof(buf)) {
		X509_free(cert);
		return 1;
	}
	if ((conf = open_ca(conf_path, &ca)) == NULL) {
		X509_free(cert);
		return 1;
	}
	memset(&h, 0, sizeof(h));
	h.stored_at = 1700000000;
	snprintf(h.source, sizeof(h.source), "import");
	h.der_len = (uint32_t)len;
	memcpy(buf, &h, sizeof(h));
	p = buf + sizeof(h);
	i2d_X509(cert, &p);
	if (strcmp(kind, "bad") == 0) {
		memcpy(p, "XXv9\0\0\0\0", 8);
		p += 8;
	}
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)mailbox;  /* the tests pass the key form: lower case */
	k.size = (u_int32_t)strlen(mailbox);
	d.data = buf;
	d.size = (u_int32_t)(p - buf);
	if (ca->recipients->put(ca->recipients, NULL, &k, &d, 0) == 0)
		r = 0;
	X509_free(cert);
	ca_close(ca);
	as_conf_free(conf);
	return r;
}

static int
do_parse(const char *file)
{
	unsigned char buf[SMIME_CAPS_MAX + 64];
	size_t n;
	FILE *f = fopen(file, "rb");

	if (f == NULL)
		return 1;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	printf("caps=%s\n", word(smime_caps_has_aes256_gcm(buf, n)));
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 7 && strcmp(argv[1], "sign") == 0)
		return do_sign(argv[2], argv[3], argv[4], argv[5], argv[6]);
	if (argc == 4 && strcmp(argv[1], "stored") == 0)
		return do_stored(argv[2], argv[3]);
	if (argc == 6 && strcmp(argv[1], "put") == 0)
		return do_put(argv[2], argv[3], argv[4], argv[5]);
	if (argc == 3 && strcmp(argv[1], "parse") == 0)
		return do_parse(argv[2]);
	fprintf(stderr, "usage: caps-tool sign CERT KEY CHAIN IN gcm|cbc|junk|big\n"
	    "       caps-tool stored CONF MAILBOX\n       caps-tool parse FILE\n"
	    "       caps-tool put CONF MAILBOX CERT v1|bad\n");
	return 2;
}
