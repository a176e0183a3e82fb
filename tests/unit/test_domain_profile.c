/*
 * test_domain_profile: per-domain certificate settings: parsing, lookup, defaults, and the
 * configuration check that refuses bad items at load time.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/conf.h"
#include "common/domain_profile.h"
#include "tests/tap.h"

static struct as_conf *
parse(const char *text, struct as_conf_error *err)
{
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	struct as_conf *conf = as_conf_load_stream(fp, "test.conf", err);

	fclose(fp);
	return conf;
}

int
main(void)
{
	struct as_conf_error err = { "" };
	struct as_conf *conf = parse("profile mailbox\nkey_type ec-p256\ncert_validity 365d\n"
	    "domain_profiles example.org=sponsor/rsa-3072/730d, Sales.Example.org=organization "
	    "p384.example=mailbox/ec-p384\n", &err);
	struct as_domain_profile defaults, dp;
	static const char *const bad[] = {
		"domain_profiles example.org\n",                   /* no = */
		"domain_profiles example.org=gold\n",              /* unknown profile */
		"domain_profiles example.org=mailbox/dsa-1024\n",  /* unknown key type */
		"domain_profiles example.org=mailbox/ec-p256/900d\n", /* above 825 days */
		"domain_profiles example.org=mailbox/ec-p256/10x\n",  /* bad duration */
		"domain_profiles example.org=mailbox/ec-p256/30d/x\n", /* too many parts */
		"domain_profiles a@example.org=mailbox\n",         /* a mailbox, not a domain */
		"domain_profiles =mailbox\n",                      /* empty domain */
	};

	if (!tap_ok(conf != NULL, "a configuration with domain_profiles loads (%s)", err.text))
		return tap_done();
	as_domain_profile_defaults(conf, &defaults);
	as_domain_profile_for(&conf->domain_profiles, &defaults, "alice@example.org", &dp);
	tap_ok(dp.profile == AS_PROFILE_SPONSOR && dp.key_type == AS_KEY_RSA3072 &&
	    dp.validity == 730 * 86400LL, "example.org gets sponsor, rsa-3072, 730 days");
	as_domain_profile_for(&conf->domain_profiles, &defaults, "bob@sales.EXAMPLE.org", &dp);
	tap_ok(dp.profile == AS_PROFILE_ORGANIZATION && dp.key_type == AS_KEY_EC_P256 &&
	    dp.validity == 365 * 86400LL, "domains compare ignoring case; missing parts are global");
	as_domain_profile_for(&conf->domain_profiles, &defaults, "carol@p384.example", &dp);
	tap_ok(dp.profile == AS_PROFILE_MAILBOX && dp.key_type == AS_KEY_EC_P384,
	    "key type without validity");
	as_domain_profile_for(&conf->domain_profiles, &defaults, "dave@sub.example.org", &dp);
	tap_ok(dp.profile == AS_PROFILE_MAILBOX && dp.key_type == AS_KEY_EC_P256 &&
	    strcmp(dp.domain, "sub.example.org") == 0, "a subdomain does not inherit its parent's item");
	as_domain_profile_for(&conf->domain_profiles, &defaults, "eve@other.test", &dp);
	tap_ok(dp.profile == AS_PROFILE_MAILBOX && dp.validity == 365 * 86400LL,
	    "a domain without an item gets the global settings");
	as_conf_free(conf);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct as_conf *c = parse(bad[i], &err);

		tap_ok(c == NULL && strstr(err.text, "domain_profiles item") != NULL,
		    "refused at load: %.*s (%s)", (int)strlen(bad[i]) - 1, bad[i], err.text);
		as_conf_free(c);
	}
	return tap_done();
}
