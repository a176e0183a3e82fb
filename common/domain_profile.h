/*
 * domain_profile: per-domain certificate settings. The option domain_profiles holds items
 * DOMAIN=PROFILE[/KEY_TYPE[/VALIDITY]]; a mailbox whose domain has no item gets the global
 * profile, key_type and cert_validity. Parsed on demand: the list is short and issuance rare.
 */
#ifndef AUTOSMIME_DOMAIN_PROFILE_H
#define AUTOSMIME_DOMAIN_PROFILE_H

#include <stddef.h>

#include "common/conf.h"

#define AS_DOMAIN_MAX 253

/* Lifetime: a value; `domain` is a copy. */
struct as_domain_profile {
	char domain[AS_DOMAIN_MAX + 1];
	int profile;             /* enum as_profile */
	int key_type;            /* enum as_key_type */
	long long validity;      /* seconds */
};

/* The global settings (profile, key_type, cert_validity) as defaults. */
void as_domain_profile_defaults(const struct as_conf *conf, struct as_domain_profile *out);

/* Parse one item; parts it leaves out come from `defaults`. 0, or -1 with `why`. */
int as_domain_profile_parse(const char *item, const struct as_domain_profile *defaults,
    struct as_domain_profile *out, char *why, size_t whycap);

/* The settings for a mailbox (or a bare domain): its domain's item, else `defaults`. */
void as_domain_profile_for(const struct as_conf_list *items,
    const struct as_domain_profile *defaults, const char *mailbox,
    struct as_domain_profile *out);

#endif
