/*
 * test_crl_cadence: the CRL timetable under a fixed clock that the test moves: the root's CRL
 * made at ca_init (nextUpdate 364 days), due after half its period and re-signed with the root
 * key; an issuing CA's CRL due after half of its 7 days or at once after a revocation; an issuing
 * CA revoked into the root's CRL, its certificates counted as revoked. Also the library-level
 * refusals of issue 21: a bad organizationIdentifier at ca_init (no root key file left), PSS
 * under an EC issuing CA, and 825 days of validity.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "tests/ca/secret_file.h"
#include "tests/tap.h"

#define DAY 86400
#define T0 1800000000

static time_t clock_now = T0;
static char dir[256], kek[300], pass[300], store[300], store2[300];

static time_t
fixed_now(void)
{
	return clock_now;
}

static void
params_for(struct ca_params *p, const char *st, const char *org_id, const char *country)
{
	memset(p, 0, sizeof(*p));
	p->store_dir = st;
	p->kek_file = kek;
	p->ca_passphrase_file = pass;
	p->base_url = "http://ca.example.org/pub";
	p->organization_name = "Example Org";
	p->organization_identifier = org_id;
	p->organization_country = country;
	p->now = fixed_now;
}

static time_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	return ASN1_TIME_to_tm(t, &tm) == 1 ? timegm(&tm) : (time_t)-1;
}

static long
crl_number(X509_CRL *crl)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	long v = n != NULL ? ASN1_INTEGER_get(n) : -1;

	ASN1_INTEGER_free(n);
	return v;
}

static bool
due_at(struct ca *ca, const char *id, time_t when)
{
	struct ca_crl_state st;
	struct ca_error err;

	return ca_crl_state(ca, id, &st, &err) == CA_OK && ca_crl_due(&st, when);
}

static void
refusals(void)
{
	struct ca_params params;
	struct ca_authority_request areq;
	struct ca_authority auth;
	struct ca_error err = { "" };
	struct ca *ca = NULL;
	char keyfile[400];

	params_for(&params, store2, "NTRUS+CA-12345", "DE");
	if (!tap_ok(ca_open(&params, &ca, &err) == CA_OK, "second store opens (%s)", err.text))
		return;
	snprintf(keyfile, sizeof(keyfile), "%s/bad-root.key", dir);
	memset(&areq, 0, sizeof(areq));
	areq.key_type = CA_KEY_EC_P256;
	areq.root_key_file = keyfile;
	tap_ok(ca_init(ca, &areq, &auth, &err) == CA_INVALID &&
	    strstr(err.text, "differs from organization_country DE") != NULL,
	    "ca_init refuses NTRUS with country DE (%s)", err.text);
	tap_ok(access(keyfile, F_OK) != 0, "... and writes no root key file");
	ca_close(ca);
}

int
main(void)
{
	struct ca_params params;
	struct ca_authority_request areq;
	struct ca_authority auth, rot;
	struct ca_issue_request req;
	struct ca_issued is, old;
	struct ca_cert_info info;
	struct ca_crl_state st;
	struct ca_error err = { "" };
	struct ca *ca = NULL;
	X509_CRL *crl = NULL;
	char root_id[41], keyfile[400];
	int r;

	snprintf(dir, sizeof(dir), "/tmp/ca-crl-XXXXXX");
	if (mkdtemp(dir) == NULL)
		tap_skip_all("no temporary directory");
	snprintf(kek, sizeof(kek), "%s/kek", dir);
	snprintf(pass, sizeof(pass), "%s/pass", dir);
	snprintf(store, sizeof(store), "%s/store", dir);
	snprintf(store2, sizeof(store2), "%s/store2", dir);
	write_secret(kek, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
	write_secret(pass, "a CA passphrase for tests\n");
	refusals();

	params_for(&params, store, "NTRGB-12345678", "GB");
	r = ca_open(&params, &ca, &err);
	if (!tap_ok(r == CA_OK, "ca_open (%s)", err.text))
		return tap_done();
	snprintf(keyfile, sizeof(keyfile), "%s/root.key", dir);
	memset(&areq, 0, sizeof(areq));
	areq.key_type = CA_KEY_EC_P256;
	areq.actor = "test";
	areq.root_key_file = keyfile;
	r = ca_init(ca, &areq, &auth, &err);
	if (!tap_ok(r == CA_OK && access(keyfile, F_OK) == 0, "ca_init writes the root key file "
	    "(%s)", err.text))
		return tap_done();
	ca_root_id(auth.root, root_id);
	tap_ok(auth.root_crl != NULL && crl_number(auth.root_crl) == 1 &&
	    asn1_time(X509_CRL_get0_lastUpdate(auth.root_crl)) == T0 &&
	    asn1_time(X509_CRL_get0_nextUpdate(auth.root_crl)) == T0 + 364 * DAY &&
	    X509_CRL_verify(auth.root_crl, X509_get0_pubkey(auth.root)) == 1,
	    "root CRL at ca_init: number 1, thisUpdate now, nextUpdate +364 days, verifies");
	tap_ok(ca_crl_state(ca, root_id, &st, &err) == CA_OK && st.number == 1 &&
	    st.this_update == T0 && st.next_update == T0 + 364 * DAY && !st.stale,
	    "the store records the root CRL's dates");
	tap_ok(!due_at(ca, root_id, T0 + 181 * DAY) && due_at(ca, root_id, T0 + 182 * DAY),
	    "root CRL due after half its period (182 days), not before");

	clock_now = T0 + 200 * DAY;
	r = ca_root_crl_make(ca, auth.root, auth.root_key, &crl, &err);
	tap_ok(r == CA_OK && crl_number(crl) == 2 &&
	    asn1_time(X509_CRL_get0_lastUpdate(crl)) == clock_now &&
	    asn1_time(X509_CRL_get0_nextUpdate(crl)) == clock_now + 364 * DAY &&
	    !due_at(ca, root_id, clock_now + DAY), "root CRL re-signed at day 200: number 2, "
	    "nextUpdate +364 days, not due (%s)", err.text);
	X509_CRL_free(crl);
	crl = NULL;

	/* The issuing CA's CRL: 7 days, due after 3.5 or after a revocation. */
	tap_ok(due_at(ca, auth.id, clock_now), "issuing CA without a CRL is due");
	r = ca_crl_make(ca, auth.id, 0, &crl, &err);
	tap_ok(r == CA_OK && asn1_time(X509_CRL_get0_nextUpdate(crl)) == clock_now + 7 * DAY,
	    "issuing CA CRL: nextUpdate +7 days (%s)", err.text);
	X509_CRL_free(crl);
	crl = NULL;
	tap_ok(!due_at(ca, auth.id, clock_now + 3 * DAY) &&
	    due_at(ca, auth.id, clock_now + 3 * DAY + DAY / 2), "due after 3.5 days, not at 3");
	memset(&req, 0, sizeof(req));
	req.mailbox = "ada@example.org";
	req.key_type = CA_KEY_EC_P256;
	req.actor = "test";
	r = ca_issue(ca, &req, &old, &err);
	tap_ok(r == CA_OK, "issue under the first issuing CA (%s)", err.text);
	r = ca_revoke(ca, old.serial_hex, CA_REASON_SUPERSEDED, "test", &err);
	tap_ok(r == CA_OK && due_at(ca, auth.id, clock_now), "a revocation makes the CRL due at "
	    "once (%s)", err.text);
	ca_issued_free(&old);
	r = ca_issue(ca, &req, &old, &err);
	tap_ok(r == CA_OK, "issue again under the first issuing CA (%s)", err.text);

	/* Library refusals on a working CA. */
	req.mailbox = "pss@example.org";
	req.key_type = CA_KEY_RSA2048;
	req.rsa_pss = true;
	tap_ok(ca_issue(ca, &req, &is, &err) == CA_INVALID && strstr(err.text, "RSASSA-PSS") !=
	    NULL, "PSS under an EC issuing CA refused (%s)", err.text);
	req.rsa_pss = false;
	req.key_type = CA_KEY_EC_P256;
	req.validity_seconds = 825LL * DAY;
	tap_ok(ca_issue(ca, &req, &is, &err) == CA_INVALID, "825 days refused (%s)", err.text);
	req.validity_seconds = 824LL * DAY;
	r = ca_issue(ca, &req, &is, &err);
	tap_ok(r == CA_OK && asn1_time(X509_get0_notAfter(is.cert)) -
	    asn1_time(X509_get0_notBefore(is.cert)) + 1 == 824LL * DAY,
	    "824 days issued, counted inclusively (%s)", err.text);
	if (r == CA_OK)
		ca_issued_free(&is);

	/* Revoke the first issuing CA into the root CRL after a rotation. */
	tap_ok(ca_revoke_issuer(ca, auth.id, auth.root, auth.root_key, CA_REASON_CA_COMPROMISE,
	    "test", &crl, &err) == CA_INVALID, "the active issuing CA is not revoked (%s)",
	    err.text);
	memset(&areq, 0, sizeof(areq));
	areq.key_type = CA_KEY_EC_P256;
	areq.actor = "test";
	areq.root_cert = auth.root;
	areq.root_key = auth.root_key;
	clock_now += DAY;
	r = ca_rotate(ca, &areq, &rot, &err);
	tap_ok(r == CA_OK && rot.root_crl != NULL && crl_number(rot.root_crl) == 3,
	    "ca_rotate re-signs the root CRL (number 3) (%s)", err.text);
	r = ca_revoke_issuer(ca, auth.id, auth.root, auth.root_key, CA_REASON_CA_COMPROMISE,
	    "test", &crl, &err);
	tap_ok(r == CA_OK && crl != NULL && crl_number(crl) == 4 &&
	    sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) == 1 &&
	    ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(
	    X509_CRL_get_REVOKED(crl), 0)), X509_get0_serialNumber(auth.cert)) == 0,
	    "ca_revoke_issuer: the root CRL (number 4) lists the issuing CA (%s)", err.text);
	X509_CRL_free(crl);
	crl = NULL;
	tap_ok(ca_cert_get(ca, old.serial_hex, &info, &err) == CA_OK &&
	    info.status == CA_STATUS_REVOKED && info.reason == CA_REASON_CA_COMPROMISE,
	    "a certificate of the revoked issuing CA is revoked (cACompromise)");
	ca_cert_info_free(&info);
	{
		struct ca_signer *s = NULL;

		tap_ok(ca_signer_load(ca, "ada@example.org", &s, &err) != CA_OK,
		    "... and no longer signs");
		ca_signer_free(s);
	}
	tap_ok(ca_revoke_issuer(ca, auth.id, auth.root, auth.root_key, CA_REASON_CA_COMPROMISE,
	    "test", &crl, &err) == CA_INVALID, "a second revocation is refused (%s)", err.text);
	ca_issued_free(&old);
	ca_authority_free(&rot);
	ca_authority_free(&auth);
	ca_close(ca);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			tap_diag("cannot remove %s", dir);
	}
	return tap_done();
}
