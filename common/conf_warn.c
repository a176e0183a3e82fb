/*
 * conf_warn: the warnings of a loaded configuration (see conf_warn.h). Each rule names the
 * option and says what stays off and what to set.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/conf_warn.h"
#include "common/org_id.h"

struct warn_list {
	struct as_conf_warning *out;
	size_t max, n;
};

static void warn(struct warn_list *w, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
warn(struct warn_list *w, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (w->n < w->max) {
		snprintf(w->out[w->n].key, sizeof(w->out[w->n].key), "%s", key);
		va_start(ap, fmt);
		vsnprintf(w->out[w->n].text, sizeof(w->out[w->n].text), fmt, ap);
		va_end(ap);
	}
	w->n++;
}

size_t
as_conf_warnings(const struct as_conf *conf, struct as_conf_warning *out, size_t max)
{
	struct warn_list w = { out, max, 0 };
	const char *id = conf->organization_identifier;
	char why[200], remark[200];
	bool enrol = conf->enrol_address[0] != '\0';

	if (conf->local_domains.count == 0)
		warn(&w, "local_domains", "local_domains is empty: no sender is local, so nothing "
		    "is signed and nobody enrols");
	if (!enrol)
		warn(&w, "enrol_address", "enrol_address is empty: enrolment is off, senders "
		    "without a certificate are never challenged");
	if (enrol && conf->caa_check && conf->ca_domain[0] == '\0')
		warn(&w, "ca_domain", "caa_check is on but ca_domain is empty: enrolment cannot "
		    "start; set ca_domain to the CA domain your CAA issuemail records name (or "
		    "caa_check no)");
	if (enrol && conf->ca_base_url[0] == '\0')
		warn(&w, "ca_base_url", "ca_base_url is empty: the CA cannot issue (the CRL and "
		    "AIA URLs of every certificate need it)");
	if (conf->profile != 0 && (conf->organization_name[0] == '\0' || id[0] == '\0'))
		warn(&w, "organization_identifier", "profile %s needs organization_name and "
		    "organization_identifier: issuance will be refused",
		    as_conf_enum_word("profile", conf->profile));
	if (id[0] != '\0' && as_org_id_check(id, strlen(id), conf->organization_country, why,
	    sizeof(why), remark, sizeof(remark)) == 0 && remark[0] != '\0')
		warn(&w, "organization_identifier", "%s", remark);
	return w.n;
}
