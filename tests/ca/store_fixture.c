/*
 * store_fixture: see store_fixture.h. Owns the test's directory.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/ca/secret_file.h"
#include "tests/ca/store_fixture.h"

void
store_fixture_make(const char *tag, struct store_fixture *t, struct ca_params *p)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/%s-XXXXXX", tag);
	if (mkdtemp(t->dir) == NULL) {
		printf("1..0 # SKIP no temporary directory\n");
		exit(0);
	}
	snprintf(t->kek, sizeof(t->kek), "%s/kek", t->dir);
	snprintf(t->pass, sizeof(t->pass), "%s/pass", t->dir);
	snprintf(t->store, sizeof(t->store), "%s/store", t->dir);
	write_secret(t->kek, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
	write_secret(t->pass, "a CA passphrase for tests\n");
	memset(p, 0, sizeof(*p));
	p->store_dir = t->store;
	p->kek_file = t->kek;
	p->ca_passphrase_file = t->pass;
	p->base_url = "http://ca.example.org/pub";
	p->organization_name = "Example Org";
	p->organization_identifier = "NTRGB-12345678";
	p->organization_country = "GB";
}

void
store_fixture_remove(const struct store_fixture *t)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		printf("# cannot remove %s\n", t->dir);
}
