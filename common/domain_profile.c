/*
 * domain_profile: parse and look up the per-domain certificate settings of domain_profiles.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/domain_profile.h"
#include "common/util.h"

#define DAY 86400LL

void
as_domain_profile_defaults(const struct as_conf *conf, struct as_domain_profile *out)
{
	memset(out, 0, sizeof(*out));
	out->profile = conf->profile;
	out->key_type = conf->key_type;
	out->validity = conf->cert_validity;
}

int
as_domain_profile_parse(const char *item, const struct as_domain_profile *defaults,
    struct as_domain_profile *out, char *why, size_t whycap)
{
	char buf[AS_DOMAIN_MAX + 64], *parts[3] = { NULL, NULL, NULL }, *eq, *p;
	const char *nwhy = NULL;
	size_t n = 0;

	*out = *defaults;
	out->domain[0] = '\0';
	if (strlen(item) >= sizeof(buf)) {
		snprintf(why, whycap, "too long");
		return -1;
	}
	strcpy(buf, item);
	eq = strchr(buf, '=');
	if (eq == NULL || eq == buf || eq[1] == '\0') {
		snprintf(why, whycap, "expected DOMAIN=PROFILE[/KEY_TYPE[/VALIDITY]]");
		return -1;
	}
	*eq = '\0';
	if (strlen(buf) > AS_DOMAIN_MAX || strchr(buf, '@') != NULL) {
		snprintf(why, whycap, "bad domain");
		return -1;
	}
	strcpy(out->domain, buf);
	for (p = eq + 1; p != NULL && n < 3; n++) {
		parts[n] = p;
		p = strchr(p, '/');
		if (p != NULL)
			*p++ = '\0';
	}
	if (p != NULL) {
		snprintf(why, whycap, "too many parts");
		return -1;
	}
	if ((out->profile = as_conf_enum_index("profile", parts[0])) < 0) {
		snprintf(why, whycap, "unknown profile \"%.32s\"", parts[0]);
		return -1;
	}
	if (parts[1] != NULL && (out->key_type = as_conf_enum_index("key_type", parts[1])) < 0) {
		snprintf(why, whycap, "unknown key type \"%.32s\"", parts[1]);
		return -1;
	}
	if (parts[2] != NULL) {
		if (as_conf_parse_duration(parts[2], &out->validity, &nwhy) < 0) {
			snprintf(why, whycap, "validity %s", nwhy);
			return -1;
		}
		/* the same bounds as cert_validity (S/MIME BR 6.3.2, with a day's margin) */
		if (out->validity < DAY || out->validity > AS_CERT_MAX_DAYS * DAY) {
			snprintf(why, whycap, "validity is out of range (1d to %lldd)",
			    AS_CERT_MAX_DAYS);
			return -1;
		}
	}
	return 0;
}

void
as_domain_profile_for(const struct as_conf_list *items,
    const struct as_domain_profile *defaults, const char *mailbox,
    struct as_domain_profile *out)
{
	const char *at = strrchr(mailbox, '@');
	const char *domain = at != NULL ? at + 1 : mailbox;

	for (size_t i = 0; items != NULL && i < items->count; i++) {
		struct as_domain_profile dp;
		char why[160];

		if (as_domain_profile_parse(items->item[i], defaults, &dp, why, sizeof(why)) == 0 &&
		    strcasecmp(dp.domain, domain) == 0) {
			*out = dp;
			return;
		}
	}
	*out = *defaults;
	snprintf(out->domain, sizeof(out->domain), "%s", domain);
}
