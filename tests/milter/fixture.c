/*
 * fixture: builds a real CA state for the milter tests through the CA's own API: a store,
 * key-encryption key and passphrase files, a root and issuing CA, certificates for the given
 * mailboxes, and a configuration file pointing at all of it.
 *
 * usage: fixture DIR [-r mailbox] mailbox...   (-r: a recipient certificate only)
 * Writes DIR/autosmime.conf, DIR/root.pem, DIR/<mailbox>.pem and DIR/<mailbox>.key (the
 * user key in clear, 0600, so tests can decrypt what the milter encrypted to it).
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>

#include "ca/ca.h"

static int
write_secret(const char *path)
{
	unsigned char raw[32];
	char hex[65];
	int fd;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, hex, 64) != 64 || write(fd, "\n", 1) != 1)
		return -1;
	return close(fd);
}

static int
write_cert(const char *path, X509 *cert)
{
	FILE *fp = fopen(path, "w");
	int ok = fp != NULL && PEM_write_X509(fp, cert) == 1;

	if (fp != NULL && fclose(fp) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

static int
write_key(const char *path, EVP_PKEY *key)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
	int ok = fp != NULL && PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL) == 1;

	if (fp != NULL && fclose(fp) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct ca_params params = { 0 };
	struct ca_authority_request areq = { 0 };
	struct ca_authority auth = { 0 };
	struct ca_error err = { "" };
	struct ca *ca = NULL;
	char path[4096], store[4096], kek[4096], pass[4096];
	const char *dir;
	FILE *fp;
	int recipient_only = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: fixture DIR [-r] mailbox...\n");
		return 2;
	}
	dir = argv[1];
	snprintf(store, sizeof(store), "%s/store", dir);
	snprintf(kek, sizeof(kek), "%s/kek", dir);
	snprintf(pass, sizeof(pass), "%s/ca.pass", dir);
	if (mkdir(store, 0700) < 0 || write_secret(kek) < 0 || write_secret(pass) < 0) {
		perror("fixture");
		return 1;
	}
	params.store_dir = store;
	params.kek_file = kek;
	params.ca_passphrase_file = pass;
	params.base_url = "http://ca.example.org/autosmime";
	params.crl_dir = dir;
	params.organization_name = "Example Org";
	params.organization_identifier = "NTRGB-12345678";
	params.organization_country = "GB";
	if (ca_open(&params, &ca, &err) != CA_OK)
		goto fail;
	areq.key_type = CA_KEY_EC_P384;
	areq.actor = "test";
	if (ca_init(ca, &areq, &auth, &err) != CA_OK)
		goto fail;
	snprintf(path, sizeof(path), "%s/root.pem", dir);
	if (write_cert(path, auth.root) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/issuing.pem", dir);
	if (write_cert(path, auth.cert) < 0)
		goto fail;
	ca_authority_free(&auth);
	for (int i = 2; i < argc; i++) {
		struct ca_issue_request req = { 0 };
		struct ca_issued issued = { 0 };
		struct ca_signer *signer = NULL;

		if (strcmp(argv[i], "-r") == 0) {
			recipient_only = 1;
			continue;
		}
		req.mailbox = argv[i];
		req.profile = CA_PROFILE_MAILBOX;
		req.generation = CA_GEN_STRICT;
		req.key_type = CA_KEY_EC_P256;
		req.validity_seconds = 30 * 86400;
		req.actor = "test";
		if (ca_issue(ca, &req, &issued, &err) != CA_OK)
			goto fail;
		snprintf(path, sizeof(path), "%s/%s.pem", dir, argv[i]);
		if (write_cert(path, issued.cert) < 0)
			goto fail;
		if (ca_signer_load(ca, argv[i], &signer, &err) != CA_OK)
			goto fail;
		snprintf(path, sizeof(path), "%s/%s.key", dir, argv[i]);
		if (write_key(path, signer->key) < 0)
			goto fail;
		ca_signer_free(signer);
		if (recipient_only &&
		    ca_revoke(ca, issued.serial_hex, CA_REASON_SUPERSEDED, "test", &err) != CA_OK)
			goto fail;
		ca_issued_free(&issued);
	}
	ca_close(ca);
	ca = NULL;
	snprintf(path, sizeof(path), "%s/autosmime.conf", dir);
	fp = fopen(path, "w");
	if (fp == NULL)
		goto fail;
	fprintf(fp, "store_dir %s\nkey_encryption_key_file %s\nca_passphrase_file %s\n"
	    "crl_dir %s\nca_base_url http://ca.example.org/autosmime\n"
	    "organization_name \"Example Org\"\norganization_identifier NTRGB-12345678\n"
	    "organization_country GB\nlocal_domains example.org example.net\n"
	    "spool_dir %s\nlog_level debug\nsocket unix:%s/milter.sock\npid_file %s/milter.pid\n"
	    "memory_spool_limit 4k\n",
	    store, kek, pass, dir, dir, dir, dir);
	if (fclose(fp) != 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "fixture: %s\n", err.text);
	ca_close(ca);
	return 1;
}
