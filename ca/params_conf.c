/*
 * params_conf: struct ca_params from the configuration, the one mapping of the store and
 * profile options that autosmimectl and autosmime-ocspd open the CA with. Owns nothing.
 */
#include "config.h"

#include <string.h>

#include "ca/ca.h"
#include "common/conf.h"

static const char *
nz(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

void
ca_params_from_conf(struct ca_params *p, const struct as_conf *conf, bool read_only)
{
	memset(p, 0, sizeof(*p));
	p->store_dir = nz(conf->store_dir);
	p->kek_file = nz(conf->key_encryption_key_file);
	p->ca_passphrase_file = nz(conf->ca_passphrase_file);
	p->base_url = nz(conf->ca_base_url);
	p->crl_dir = nz(conf->crl_dir);
	p->organization_name = nz(conf->organization_name);
	p->organization_identifier = nz(conf->organization_identifier);
	p->organization_country = nz(conf->organization_country);
	p->ocsp_url = nz(conf->ocsp_url);
	p->read_only = read_only;
	p->pkcs11_module = nz(conf->ca_pkcs11_module);
	p->pkcs11_pin_file = nz(conf->ca_pkcs11_pin_file);
	ca_params_encryption(p, as_conf_enum_word("encryption_key_type",
	    conf->encryption_key_type));
}
