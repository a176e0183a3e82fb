/*
 * store_fixture: a private directory for a C test's CA: /tmp/<tag>-XXXXXX with the 0600
 * key-encryption key and CA passphrase in it, and ca_params for a store inside it (Example Org,
 * NTRGB-12345678, GB, base URL http://ca.example.org/pub). Removed at the end.
 */
#ifndef AUTOSMIME_TESTS_CA_STORE_FIXTURE_H
#define AUTOSMIME_TESTS_CA_STORE_FIXTURE_H

#include "ca/ca.h"

struct store_fixture {
	char dir[256], kek[300], pass[300], store[300];
};

/* Skips the whole test (TAP) when no directory can be made. */
void store_fixture_make(const char *tag, struct store_fixture *t, struct ca_params *p);
void store_fixture_remove(const struct store_fixture *t);

#endif
