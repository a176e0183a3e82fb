/*
 * conf_warn: settings that are valid yet leave a feature off or a SHOULD unmet (enrolment
 * without ca_domain, no local_domains, a German NTR reference outside EUID form, ...): what
 * -n prints and the daemon logs at start, so that nothing is disabled silently.
 */
#ifndef AUTOSMIME_COMMON_CONF_WARN_H
#define AUTOSMIME_COMMON_CONF_WARN_H

#include <stddef.h>

#include "common/conf.h"

#define AS_CONF_WARN_MAX 16

struct as_conf_warning {
	char key[40];     /* the option to look at */
	char text[320];   /* one line, no secret */
};

/* Fill at most max warnings; returns how many there are. */
size_t as_conf_warnings(const struct as_conf *conf, struct as_conf_warning *out, size_t max);

#endif
