/*
 * ca_fixture: see ca_fixture.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/ca/ca_fixture.h"
#include "tests/ca/secret_file.h"

void
ca_fixture_params(struct ca_fixture *f, struct ca_params *params)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/ca-test-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		printf("1..0 # SKIP no temporary directory\n");
		exit(0);
	}
	snprintf(f->kek, sizeof(f->kek), "%s/kek", f->dir);
	snprintf(f->pass, sizeof(f->pass), "%s/pass", f->dir);
	snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
	write_secret(f->kek, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
	write_secret(f->pass, "a CA passphrase for tests\n");
	memset(params, 0, sizeof(*params));
	params->store_dir = f->store;
	params->kek_file = f->kek;
	params->ca_passphrase_file = f->pass;
	params->base_url = "http://ca.example.org/pub";
	params->organization_name = "Example Org";
	params->organization_identifier = "NTRGB-12345678";
	params->organization_country = "GB";
}

void
ca_fixture_remove(const struct ca_fixture *f)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		printf("# cannot remove %s\n", f->dir);
}
