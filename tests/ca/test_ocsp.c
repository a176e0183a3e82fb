/*
 * test_ocsp: the CA's OCSP responder (ca_ocsp_*) under a clock the test moves, on a real store:
 * good / revoked (time, reason) / unknown answers for SHA-1 and SHA-256 CertIDs, unauthorized
 * for a foreign issuer, malformedRequest for garbage, trailing bytes, every truncation of a
 * valid request, too many CertIDs and an oversized request; nonces of 1..32 octets echoed,
 * longer ones and absent ones not; the cache (the same bytes until half of the validity, then
 * re-signed; a revocation shows at once); the validity bounds of S/MIME BR 4.9.10; the delegated
 * responder certificate (profile, encrypted 0600 key, renewed after half of its validity,
 * audited); the pre-issuance checks passing every response and refusing a tampered one; the
 * AIA OCSP URL of certificates issued with ocsp_url.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "ca/ca.h"
#include "tests/ca/store_fixture.h"
#include "tests/tap.h"

#define DAY 86400
#define T0 1800000000
#define OCSP_URL "http://ocsp.example.org/ocsp"

static time_t clock_now = T0;
static struct store_fixture ts;
static struct ca *ca;
static struct ca_ocsp *oc;
static X509 *issuer;
static unsigned checked, check_failed;

static time_t
fixed_now(void)
{
	return clock_now;
}

static time_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	return t != NULL && ASN1_TIME_to_tm(t, &tm) == 1 ? timegm(&tm) : (time_t)-1;
}

/* DER of a request for certs (serials under `iss`), with a nonce of nonce_len (0: none). */
static unsigned char *
request(X509 *iss, const EVP_MD *md, ASN1_INTEGER **serials, int n, int nonce_len, int *len)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	unsigned char *der = NULL, nonce[64];
	int i;

	for (i = 0; i < n; i++)
		OCSP_request_add0_id(req, OCSP_cert_id_new(md, X509_get_subject_name(iss),
		    X509_get0_pubkey_bitstr(iss), serials[i]));
	memset(nonce, 0x5a, sizeof(nonce));
	if (nonce_len > 0)
		OCSP_request_add1_nonce(req, nonce, nonce_len);
	*len = i2d_OCSP_REQUEST(req, &der);
	OCSP_REQUEST_free(req);
	return der;
}

static unsigned char *
request_for(X509 *cert, const EVP_MD *md, int nonce_len, int *len)
{
	ASN1_INTEGER *sn = (ASN1_INTEGER *)X509_get0_serialNumber(cert);

	return request(issuer, md, &sn, 1, nonce_len, len);
}

/* Ask; every answer must pass the pre-issuance checks again here. */
static OCSP_RESPONSE *
ask(const unsigned char *req, size_t len, struct ca_ocsp_answer *a, unsigned char **keep,
    size_t *keep_len)
{
	struct ca_error err = { "" };
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t dlen = 0;
	OCSP_RESPONSE *resp;

	if (ca_ocsp_respond(oc, req, len, &der, &dlen, a) != CA_OK)
		return NULL;
	checked++;
	if (ca_ocsp_response_check(ca, der, dlen, &err) != CA_OK) {
		check_failed++;
		tap_diag("response fails the checks: %s", err.text);
	}
	p = der;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)dlen);
	if (keep != NULL) {
		*keep = der;
		*keep_len = dlen;
	} else
		free(der);
	return resp;
}

/* The status of the first SingleResponse; times and reason out. */
static int
first_status(OCSP_RESPONSE *resp, int *reason, time_t *rev, time_t *t0, time_t *t1)
{
	OCSP_BASICRESP *bs = resp != NULL ? OCSP_response_get1_basic(resp) : NULL;
	ASN1_GENERALIZEDTIME *r = NULL, *a = NULL, *b = NULL;
	int st = -1;

	if (bs != NULL && OCSP_resp_count(bs) >= 1) {
		st = OCSP_single_get0_status(OCSP_resp_get0(bs, 0), reason, &r, &a, &b);
		if (rev != NULL)
			*rev = asn1_time(r);
		if (t0 != NULL)
			*t0 = asn1_time(a);
		if (t1 != NULL)
			*t1 = asn1_time(b);
	}
	OCSP_BASICRESP_free(bs);
	return st;
}

/* The nonce octets the response carries; 0 when none. */
static int
nonce_of(OCSP_RESPONSE *resp)
{
	OCSP_BASICRESP *bs = OCSP_response_get1_basic(resp);
	int i = bs != NULL ? OCSP_BASICRESP_get_ext_by_NID(bs, NID_id_pkix_OCSP_Nonce, -1) : -1;
	int n = 0;

	if (i >= 0) {
		const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(OCSP_BASICRESP_get_ext(bs, i));

		n = ASN1_STRING_length(v) - 2; /* the inner OCTET STRING's tag and length */
	}
	OCSP_BASICRESP_free(bs);
	return n;
}

/* The response verifies with the issuing CA as the only trust (delegated responder). */
static bool
verifies(OCSP_RESPONSE *resp)
{
	OCSP_BASICRESP *bs = OCSP_response_get1_basic(resp);
	X509_STORE *st = X509_STORE_new();
	STACK_OF(X509) *none = sk_X509_new_null();
	bool ok;

	X509_STORE_add_cert(st, issuer);
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(st), clock_now);
	ok = bs != NULL && OCSP_basic_verify(bs, none, st, OCSP_PARTIAL_CHAIN) == 1;
	OCSP_BASICRESP_free(bs);
	X509_STORE_free(st);
	sk_X509_free(none);
	return ok;
}

static X509 *
responder_of(OCSP_RESPONSE *resp)
{
	OCSP_BASICRESP *bs = OCSP_response_get1_basic(resp);
	X509 *x = NULL;

	if (bs != NULL && sk_X509_num(OCSP_resp_get0_certs(bs)) == 1)
		x = X509_dup(sk_X509_value(OCSP_resp_get0_certs(bs), 0));
	OCSP_BASICRESP_free(bs);
	return x;
}

static void
issue(const char *mailbox, struct ca_issued *out)
{
	struct ca_issue_request req;
	struct ca_error err = { "" };

	memset(&req, 0, sizeof(req));
	req.mailbox = mailbox;
	req.key_type = CA_KEY_EC_P256;
	req.actor = "test";
	req.single = true;
	if (ca_issue(ca, &req, out, &err) != CA_OK)
		tap_diag("issue %s: %s", mailbox, err.text);
}

static void
malformed(void)
{
	static const unsigned char garbage[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
	struct ca_ocsp_answer a;
	struct ca_issued c;
	ASN1_INTEGER *sns[5];
	unsigned char *req, *big;
	OCSP_RESPONSE *resp;
	int len, i, bad = 0;

	issue("trunc@example.org", &c);
	resp = ask(garbage, sizeof(garbage), &a, NULL, NULL);
	tap_ok(resp != NULL && OCSP_response_status(resp) ==
	    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, "garbage: malformedRequest");
	OCSP_RESPONSE_free(resp);
	req = request_for(c.cert, EVP_sha1(), 0, &len);
	for (i = 0; i < len; i++) {   /* every truncation of a valid request */
		resp = ask(req, (size_t)i, &a, NULL, NULL);
		if (resp == NULL || OCSP_response_status(resp) !=
		    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST)
			bad++;
		OCSP_RESPONSE_free(resp);
	}
	tap_ok(bad == 0, "each of the %d truncations of a request: malformedRequest", len);
	big = malloc((size_t)len + 1);
	memcpy(big, req, (size_t)len);
	big[len] = 0;
	resp = ask(big, (size_t)len + 1, &a, NULL, NULL);
	tap_ok(resp != NULL && OCSP_response_status(resp) ==
	    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, "a trailing byte: malformedRequest");
	OCSP_RESPONSE_free(resp);
	free(big);
	OPENSSL_free(req);
	big = calloc(1, CA_OCSP_REQUEST_MAX + 1);
	resp = ask(big, CA_OCSP_REQUEST_MAX + 1, &a, NULL, NULL);
	tap_ok(resp != NULL && OCSP_response_status(resp) ==
	    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST && strstr(a.why, "too long") != NULL,
	    "%d bytes: malformedRequest (%s)", CA_OCSP_REQUEST_MAX + 1, a.why);
	OCSP_RESPONSE_free(resp);
	free(big);
	for (i = 0; i < 5; i++)
		sns[i] = (ASN1_INTEGER *)X509_get0_serialNumber(c.cert);
	req = request(issuer, EVP_sha1(), sns, 5, 0, &len);
	resp = ask(req, (size_t)len, &a, NULL, NULL);
	tap_ok(resp != NULL && OCSP_response_status(resp) ==
	    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, "5 CertIDs: malformedRequest");
	OCSP_RESPONSE_free(resp);
	OPENSSL_free(req);
	req = request(issuer, EVP_sha1(), sns, 0, 0, &len);
	resp = ask(req, (size_t)len, &a, NULL, NULL);
	tap_ok(resp != NULL && OCSP_response_status(resp) ==
	    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, "no CertID: malformedRequest");
	OCSP_RESPONSE_free(resp);
	OPENSSL_free(req);
	ca_issued_free(&c);
}

static void
foreign(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	struct ca_ocsp_answer a;
	ASN1_INTEGER *sn = ASN1_INTEGER_new();
	OCSP_RESPONSE *resp;
	unsigned char *req;
	int len;

	ASN1_INTEGER_set(sn, 12345);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"Someone Else CA", -1, -1, 0);
	req = request(x, EVP_sha256(), &sn, 1, 0, &len);
	resp = ask(req, (size_t)len, &a, NULL, NULL);
	tap_ok(resp != NULL && OCSP_response_status(resp) == OCSP_RESPONSE_STATUS_UNAUTHORIZED,
	    "a CertID of a foreign issuer: unauthorized");
	OCSP_RESPONSE_free(resp);
	OPENSSL_free(req);
	{
		/* ours first, then the foreign one: one signer cannot answer both */
		OCSP_REQUEST *two = OCSP_REQUEST_new();

		req = NULL;
		OCSP_request_add0_id(two, OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
		    X509_get0_pubkey_bitstr(issuer), sn));
		OCSP_request_add0_id(two, OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(x),
		    X509_get0_pubkey_bitstr(x), sn));
		len = i2d_OCSP_REQUEST(two, &req);
		resp = ask(req, (size_t)len, &a, NULL, NULL);
		tap_ok(resp != NULL && OCSP_response_status(resp) ==
		    OCSP_RESPONSE_STATUS_UNAUTHORIZED, "CertIDs of ours and of a foreign issuer: "
		    "unauthorized (%s)", a.why);
		OCSP_RESPONSE_free(resp);
		OPENSSL_free(req);
		OCSP_REQUEST_free(two);
	}
	ASN1_INTEGER_free(sn);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
nonces(X509 *cert)
{
	static const int lens[] = { 1, 16, 32 };
	struct ca_ocsp_answer a;
	OCSP_RESPONSE *resp;
	unsigned char *req;
	size_t i;
	int len;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		req = request_for(cert, EVP_sha256(), lens[i], &len);
		resp = ask(req, (size_t)len, &a, NULL, NULL);
		tap_ok(resp != NULL && nonce_of(resp) == lens[i] && a.nonce && !a.cached &&
		    a.max_age == 0, "a nonce of %d octets is echoed, not cached", lens[i]);
		OCSP_RESPONSE_free(resp);
		OPENSSL_free(req);
	}
	req = request_for(cert, EVP_sha256(), 33, &len);
	resp = ask(req, (size_t)len, &a, NULL, NULL);
	tap_ok(resp != NULL && OCSP_response_status(resp) == OCSP_RESPONSE_STATUS_SUCCESSFUL &&
	    nonce_of(resp) == 0, "a nonce of 33 octets (over RFC 8954's 32) is not echoed");
	OCSP_RESPONSE_free(resp);
	OPENSSL_free(req);
	req = request_for(cert, EVP_sha256(), 0, &len);
	resp = ask(req, (size_t)len, &a, NULL, NULL);
	tap_ok(resp != NULL && nonce_of(resp) == 0, "no nonce asked: none answered");
	OCSP_RESPONSE_free(resp);
	OPENSSL_free(req);
}

static void
responder_files(const char *id, X509 *first)
{
	struct ca_error err = { "" };
	char path[600], line[64] = "";
	struct stat st;
	FILE *fp;
	X509 *x = NULL, *y = NULL;
	unsigned char *der = NULL;
	int len;

	snprintf(path, sizeof(path), "%s/ca/%s.ocsp.key", ts.store, id);
	if ((fp = fopen(path, "r")) != NULL) {
		if (fgets(line, sizeof(line), fp) == NULL)
			line[0] = '\0';
		fclose(fp);
	}
	tap_ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 &&
	    strstr(line, "ENCRYPTED PRIVATE KEY") != NULL,
	    "the responder key is stored encrypted, 0600");
	tap_ok(ca_ocsp_responder(oc, id, &x, &err) == CA_OK && X509_cmp(x, first) == 0,
	    "the responder certificate is kept while less than half its validity is gone");
	len = i2d_X509(x, &der);
	tap_ok(ca_ocsp_responder_check(ca, issuer, der, (size_t)len, &err) == CA_OK,
	    "the responder certificate passes its checks (%s)", err.text);
	tap_ok(X509_get_ext_by_NID(x, NID_id_pkix_OCSP_noCheck, -1) >= 0 &&
	    X509_get_extended_key_usage(x) == XKU_OCSP_SIGN && X509_get_key_usage(x) ==
	    KU_DIGITAL_SIGNATURE && X509_check_ca(x) == 0, "... nocheck, OCSPSigning, "
	    "digitalSignature, not a CA");
	tap_ok(asn1_time(X509_get0_notAfter(x)) - asn1_time(X509_get0_notBefore(x)) == 30 * DAY,
	    "... valid for 30 days");
	/* a check must fail on a certificate outside the profile */
	{
		X509 *bad = X509_dup(x);
		unsigned char *bder = NULL;
		int blen;

		BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();

		if (X509_add1_ext_i2d(bad, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT) != 1)
			tap_diag("cannot add basicConstraints");
		BASIC_CONSTRAINTS_free(bc);
		blen = i2d_re_X509_tbs(bad, NULL) > 0 ? i2d_X509(bad, &bder) : -1;
		tap_ok(ca_ocsp_responder_check(ca, issuer, bder, (size_t)blen, &err) ==
		    CA_INVALID, "a responder certificate with an extra extension is refused (%s)",
		    err.text);
		OPENSSL_free(bder);
		X509_free(bad);
	}
	OPENSSL_free(der);
	clock_now += 15 * DAY + 1;
	tap_ok(ca_ocsp_responder(oc, id, &y, &err) == CA_OK && X509_cmp(y, x) != 0 &&
	    asn1_time(X509_get0_notBefore(y)) == clock_now, "after half of 30 days a new "
	    "responder certificate is made (%s)", err.text);
	X509_free(x);
	X509_free(y);
}

static int
audit_count_cb(const struct ca_audit_record *rec, void *arg)
{
	if (strcmp(rec->event, "ocsp-responder") == 0)
		(*(int *)arg)++;
	return 0;
}

int
main(void)
{
	struct ca_params params;
	struct ca_ocsp_params op = { 0 };
	struct ca_authority_request areq;
	struct ca_authority auth;
	struct ca_issued good, rev, other;
	struct ca_ocsp_answer a;
	struct ca_error err = { "" };
	struct ca_ocsp *bad = NULL;
	OCSP_RESPONSE *resp;
	unsigned char *req, *der1 = NULL, *der2 = NULL, *der3 = NULL;
	size_t l1 = 0, l2 = 0, l3 = 0;
	char keyfile[400];
	time_t t0, t1, rt;
	int len, reason, audits = 0;
	X509 *resp1;

	store_fixture_make("ca-ocsp", &ts, &params);
	params.ocsp_url = OCSP_URL;
	params.now = fixed_now;
	if (!tap_ok(ca_open(&params, &ca, &err) == CA_OK, "ca_open (%s)", err.text))
		return tap_done();
	snprintf(keyfile, sizeof(keyfile), "%s/root.key", ts.dir);
	memset(&areq, 0, sizeof(areq));
	areq.key_type = CA_KEY_EC_P384;
	areq.actor = "test";
	areq.root_key_file = keyfile;
	if (!tap_ok(ca_init(ca, &areq, &auth, &err) == CA_OK, "ca_init (%s)", err.text))
		return tap_done();
	issuer = auth.cert;
	issue("good@example.org", &good);
	issue("gone@example.org", &rev);
	{
		AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(good.cert, NID_info_access, NULL,
		    NULL);
		int i, found = 0;

		for (i = 0; aia != NULL && i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
			ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);

			found += OBJ_obj2nid(ad->method) == NID_ad_OCSP &&
			    strcmp((const char *)ASN1_STRING_get0_data(
			    ad->location->d.uniformResourceIdentifier), OCSP_URL) == 0;
		}
		AUTHORITY_INFO_ACCESS_free(aia);
		tap_ok(found == 1, "a certificate issued with ocsp_url carries it as AIA OCSP");
	}
	op.validity = 7 * 3600;
	tap_ok(ca_ocsp_new(ca, &op, &bad, &err) == CA_INVALID, "a validity of 7 hours is refused");
	op.validity = 11LL * DAY;
	tap_ok(ca_ocsp_new(ca, &op, &bad, &err) == CA_INVALID, "a validity of 11 days is refused");
	op.validity = 0;
	op.actor = "test";
	op.transient_ca_keys = true;  /* the renewal below then reads the CA key again */
	if (!tap_ok(ca_ocsp_new(ca, &op, &oc, &err) == CA_OK, "ca_ocsp_new (%s)", err.text))
		return tap_done();

	req = request_for(good.cert, EVP_sha1(), 0, &len);
	resp = ask(req, (size_t)len, &a, &der1, &l1);
	tap_ok(resp != NULL && first_status(resp, NULL, NULL, &t0, &t1) == V_OCSP_CERTSTATUS_GOOD &&
	    t0 == clock_now && t1 - t0 == 4 * DAY && !a.cached && a.max_age == 2 * DAY,
	    "good (SHA-1 CertID): thisUpdate now, nextUpdate +4 days, cache for 2 days");
	tap_ok(resp != NULL && verifies(resp), "... verifies up to the issuing CA (delegated)");
	resp1 = responder_of(resp);
	OCSP_RESPONSE_free(resp);
	clock_now += 3600;
	resp = ask(req, (size_t)len, &a, &der2, &l2);
	tap_ok(resp != NULL && a.cached && l1 == l2 && memcmp(der1, der2, l1) == 0 &&
	    a.max_age == 2 * DAY - 3600, "an hour later: the same signed bytes from the cache");
	OCSP_RESPONSE_free(resp);
	clock_now = T0 + 2 * DAY;
	resp = ask(req, (size_t)len, &a, &der3, &l3);
	tap_ok(resp != NULL && !a.cached && first_status(resp, NULL, NULL, &t0, &t1) ==
	    V_OCSP_CERTSTATUS_GOOD && t0 == clock_now && (l3 != l1 || memcmp(der1, der3, l1) != 0),
	    "after 2 days (half of 4): signed again, thisUpdate moves on");
	OCSP_RESPONSE_free(resp);
	free(der1);
	free(der2);
	free(der3);
	OPENSSL_free(req);

	req = request_for(rev.cert, EVP_sha256(), 0, &len);
	resp = ask(req, (size_t)len, &a, NULL, NULL);
	tap_ok(resp != NULL && first_status(resp, NULL, NULL, NULL, NULL) ==
	    V_OCSP_CERTSTATUS_GOOD, "SHA-256 CertID: good before the revocation");
	OCSP_RESPONSE_free(resp);
	ca_revoke(ca, rev.serial_hex, CA_REASON_KEY_COMPROMISE, "test", &err);
	resp = ask(req, (size_t)len, &a, NULL, NULL);
	tap_ok(resp != NULL && first_status(resp, &reason, &rt, NULL, NULL) ==
	    V_OCSP_CERTSTATUS_REVOKED && reason == OCSP_REVOKED_STATUS_KEYCOMPROMISE &&
	    rt == clock_now && !a.cached, "revoked at once despite the cache: keyCompromise, time");
	OCSP_RESPONSE_free(resp);
	OPENSSL_free(req);

	{
		ASN1_INTEGER *sn = ASN1_INTEGER_new();

		ASN1_INTEGER_set_uint64(sn, 0x1234567890abcdefULL);
		req = request(issuer, EVP_sha1(), &sn, 1, 0, &len);
		resp = ask(req, (size_t)len, &a, NULL, NULL);
		tap_ok(resp != NULL && first_status(resp, NULL, NULL, NULL, NULL) ==
		    V_OCSP_CERTSTATUS_UNKNOWN && !a.cached, "a serial never issued: unknown");
		OCSP_RESPONSE_free(resp);
		OPENSSL_free(req);
		ASN1_INTEGER_free(sn);
	}
	issue("other@example.org", &other);
	{
		ASN1_INTEGER *sns[3] = { (ASN1_INTEGER *)X509_get0_serialNumber(other.cert),
			(ASN1_INTEGER *)X509_get0_serialNumber(rev.cert),
			(ASN1_INTEGER *)X509_get0_serialNumber(good.cert) };
		OCSP_BASICRESP *bs;
		int s0, s1, s2;

		req = request(issuer, EVP_sha256(), sns, 3, 16, &len);
		resp = ask(req, (size_t)len, &a, NULL, NULL);
		bs = resp != NULL ? OCSP_response_get1_basic(resp) : NULL;
		s0 = bs != NULL ? OCSP_single_get0_status(OCSP_resp_get0(bs, 0), NULL, NULL, NULL,
		    NULL) : -1;
		s1 = bs != NULL ? OCSP_single_get0_status(OCSP_resp_get0(bs, 1), NULL, NULL, NULL,
		    NULL) : -1;
		s2 = bs != NULL ? OCSP_single_get0_status(OCSP_resp_get0(bs, 2), NULL, NULL, NULL,
		    NULL) : -1;
		tap_ok(bs != NULL && OCSP_resp_count(bs) == 3 && s0 == V_OCSP_CERTSTATUS_GOOD &&
		    s1 == V_OCSP_CERTSTATUS_REVOKED && s2 == V_OCSP_CERTSTATUS_GOOD,
		    "three CertIDs: answered in order (good, revoked, good)");
		OCSP_BASICRESP_free(bs);
		OCSP_RESPONSE_free(resp);
		OPENSSL_free(req);
	}
	nonces(good.cert);
	malformed();
	foreign();
	/* a tampered response must fail the checks */
	{
		unsigned char *der = NULL;
		size_t dl = 0;

		req = request_for(good.cert, EVP_sha1(), 0, &len);
		if (ca_ocsp_respond(oc, req, (size_t)len, &der, &dl, &a) == CA_OK && dl > 10) {
			der[dl - 5] ^= 0x01;   /* inside the responder certificate's signature */
			tap_ok(ca_ocsp_response_check(ca, der, dl, &err) == CA_INVALID,
			    "a tampered response fails the checks (%s)", err.text);
		} else
			tap_ok(0, "a tampered response fails the checks");
		free(der);
		OPENSSL_free(req);
	}
	responder_files(auth.id, resp1);
	X509_free(resp1);
	req = request_for(good.cert, EVP_sha1(), 0, &len);
	resp = ask(req, (size_t)len, &a, NULL, NULL);
	resp1 = resp != NULL ? responder_of(resp) : NULL;
	tap_ok(resp != NULL && verifies(resp) && !a.cached && resp1 != NULL &&
	    asn1_time(X509_get0_notBefore(resp1)) == clock_now, "responses are then signed by "
	    "the new responder");
	X509_free(resp1);
	OCSP_RESPONSE_free(resp);
	OPENSSL_free(req);
	ca_audit_foreach(ca, audit_count_cb, &audits, &err);
	tap_ok(audits == 2, "each responder certificate has an audit record (%d)", audits);
	tap_ok(check_failed == 0, "all %u responses passed the pre-issuance checks", checked);

	ca_issued_free(&good);
	ca_issued_free(&rev);
	ca_issued_free(&other);
	ca_ocsp_free(oc);
	ca_authority_free(&auth);
	ca_close(ca);
	store_fixture_remove(&ts);
	return tap_done();
}
