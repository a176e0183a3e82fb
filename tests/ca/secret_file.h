/*
 * secret_file: the CA tests' helper for the key-encryption key and passphrase files they
 * create (0600, as ca_open requires).
 */
#ifndef AUTOSMIME_TESTS_CA_SECRET_FILE_H
#define AUTOSMIME_TESTS_CA_SECRET_FILE_H

/* Write `value` to `path` with mode 0600; exits 99 (a hard test error) when it cannot. */
void write_secret(const char *path, const char *value);

#endif
