/*
 * domain_fixture: see domain_fixture.h.
 */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>

#include "tests/ca/domain_fixture.h"

void
fixture_value_hash(const char *value, unsigned char out[32])
{
	unsigned int len = 32;

	if (EVP_Digest(value, strlen(value), out, &len, EVP_sha256(), NULL) != 1)
		memset(out, 0, 32);
}

int
fixture_domain_validate(struct ca *ca, const char *domain, long long reuse,
    struct ca_domain_info *out, struct ca_error *err)
{
	char value[CA_DOMAIN_VALUE_LEN + 1];
	unsigned char h[32];
	int r;

	if ((r = ca_domain_challenge(ca, domain, "test", value, NULL, err)) != CA_OK)
		return r;
	fixture_value_hash(value, h);
	return ca_domain_record(ca, domain, h, reuse, "test: recorded without DNS", "test", out,
	    err);
}
