/*
 * ca_fixture: a CA of the test organisation (Example Org, NTRGB-12345678, GB) in a new
 * temporary directory, with its key-encryption key and passphrase files, for the C tests.
 */
#ifndef AUTOSMIME_TESTS_CA_CA_FIXTURE_H
#define AUTOSMIME_TESTS_CA_CA_FIXTURE_H

#include "ca/ca.h"

/* Lifetime: the test's; params point into it. */
struct ca_fixture {
	char dir[64], kek[128], pass[128], store[128];
};

/* Make the directory and secrets and fill params (zeroed first). Skips the whole test (TAP
 * "1..0 # SKIP") when no temporary directory can be made. */
void ca_fixture_params(struct ca_fixture *f, struct ca_params *params);
/* Remove the directory and everything in it. */
void ca_fixture_remove(const struct ca_fixture *f);

#endif
