/*
 * cli: what the command files of autosmimectl share: the exit codes, the per-run context
 * (configuration and the CA handle), and small helpers for files and output.
 *
 * Lifetime: one struct cli per run, built by main() and passed to one command.
 */
#ifndef AUTOSMIME_CLI_H
#define AUTOSMIME_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "common/conf.h"

/* Stable exit codes (documented in autosmimectl(8)). */
#define EX_CLI_OK 0
#define EX_CLI_ERROR 1      /* internal failure, or audit verify found tampering */
#define EX_CLI_USAGE 2      /* bad command line */
#define EX_CLI_NOTFOUND 3   /* no such certificate, mailbox or CA */
#define EX_CLI_REFUSED 4    /* the CA refused the request (bad mailbox, weak key, ...) */

struct cli {
	const char *prog;
	struct as_conf *conf;
	struct ca *ca;
	char actor[64];
};

/* The CA parameters the configuration gives. */
void cli_ca_params(struct cli *cli, struct ca_params *p, bool read_only);
/* Open the CA from the configuration; read_only for commands that never touch keys. */
int cli_open_ca(struct cli *cli, bool read_only);
/* Map a CA_* result to an exit code, printing "autosmimectl: error: ..." unless CA_OK. */
int cli_fail(struct cli *cli, int ca_result, const struct ca_error *err);
int cli_usage(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Read a whole file (at most max bytes). Returns a malloc'd buffer or NULL with errno set. */
unsigned char *cli_read_file(const char *path, size_t max, size_t *len);
/* Write data to path atomically (temp file + rename) with the given mode. 0 or -1. */
int cli_write_file(const char *path, const void *data, size_t len, int mode);
/* Certificates from a PEM or DER file; NULL on error. */
STACK_OF(X509) *cli_read_certs(const char *path);
void cli_time(time_t t, char *buf, size_t cap);
/* Parse "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ" or seconds since the epoch; -1 on error. */
long long cli_parse_time(const char *s);
/* The 0600 secret files ca init needs: create with 64 random hex digits when missing. */
int cli_ensure_secret(const char *path, const char *what);

/* Publication in crl_dir (publish.c): <id>.crl (DER), <id>.crl.pem, <id>.crt (DER). 0 or -1.
 * cli_publish_path: the path of <id><suffix> in crl_dir, made publishable first. */
int cli_publish_crl(struct cli *cli, const char *id, X509_CRL *crl);
int cli_publish_cert(struct cli *cli, const char *id, X509 *cert);
int cli_publish_path(struct cli *cli, const char *id, const char *suffix, char *buf, size_t cap);
/* The root the admin brings back: certificate and key files (publish.c). EX_CLI_* code. */
int cli_load_root(struct cli *cli, const char *cert_path, const char *key_path, X509 **root,
    EVP_PKEY **key);

int cmd_ca(struct cli *cli, int argc, char **argv);
int cmd_issue(struct cli *cli, int argc, char **argv);
int cmd_list(struct cli *cli, int argc, char **argv);
int cmd_show(struct cli *cli, int argc, char **argv);
int cmd_revoke(struct cli *cli, int argc, char **argv);
int cmd_renew(struct cli *cli, int argc, char **argv);
int cmd_import(struct cli *cli, int argc, char **argv);
int cmd_crl(struct cli *cli, int argc, char **argv);
int cmd_export_p12(struct cli *cli, int argc, char **argv);
/* p12.c: the PKCS#12 of one user's keys (n of them), compat: 3DES and SHA-1 MAC. */
PKCS12 *cli_p12_build(const char *pw, const char *name, struct ca_signer *const *who, size_t n,
    bool compat);
int cmd_audit(struct cli *cli, int argc, char **argv);
/* cmd_audit_checkpoint.c: `audit checkpoint` (argv[0] = "checkpoint") and verify --checkpoint */
int cmd_audit_checkpoint(struct cli *cli, int argc, char **argv);
int cmd_audit_verify_checkpoint(struct cli *cli, const char *file, const char *signer,
    bool incremental);
int cmd_recipients(struct cli *cli, int argc, char **argv);
int cmd_enrol(struct cli *cli, int argc, char **argv);      /* cmd_enrol.c */
int cmd_sponsors(struct cli *cli, int argc, char **argv);   /* cmd_sponsors.c */
int cmd_domain(struct cli *cli, int argc, char **argv);     /* cmd_domain.c */
int cmd_backup(struct cli *cli, int argc, char **argv);     /* cmd_backup.c */
int cmd_restore(struct cli *cli, int argc, char **argv);    /* cmd_backup.c */

#endif
