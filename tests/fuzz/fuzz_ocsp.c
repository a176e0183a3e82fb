/*
 * fuzz_ocsp: the OCSP responder's parsers of hostile input: a DER OCSPRequest through
 * ca_ocsp_respond, as it comes and again with its CertIDs pointed at the test CA (so mutated
 * nonces, extensions, signatures and CertID lists reach the signing path), and the GET path
 * decoder and listen address parser of autosmime-ocspd (ocsp/codec.c). The CA is made once per
 * process in a temporary store: one good and one revoked certificate. Invariants: every answer
 * decodes; what does not decode is malformedRequest; a successful answer passes the
 * pre-issuance checks again, answers each CertID in order (the good serial good, the revoked
 * one revoked with keyCompromise) and echoes a nonce only when the request has one; nothing
 * is an internalError; a decoded GET path re-encodes to the same DER.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>

#include "ca/ca.h"
#include "ocsp/http.h"
#include "tests/ca/store_fixture.h"
#include "tests/fuzz/fuzz.h"

#define die(what) fuzz_fail("fuzz_ocsp", (what))

static struct ca *ca;
static struct ca_ocsp *oc;
static X509 *issuer;
static ASN1_INTEGER *good_sn, *revoked_sn;
static struct store_fixture ts;

static void
cleanup(void)
{
	ca_ocsp_free(oc);
	ca_close(ca);
	X509_free(issuer);
	ASN1_INTEGER_free(good_sn);
	ASN1_INTEGER_free(revoked_sn);
	store_fixture_remove(&ts);
}

static ASN1_INTEGER *
issue(const char *mailbox, bool revoke)
{
	struct ca_issue_request req = { 0 };
	struct ca_issued out;
	struct ca_error err = { "" };
	ASN1_INTEGER *sn;

	req.mailbox = mailbox;
	req.key_type = CA_KEY_EC_P256;
	req.actor = "fuzz";
	req.single = true;
	if (ca_issue(ca, &req, &out, &err) != CA_OK)
		die("cannot issue");
	sn = ASN1_INTEGER_dup(X509_get0_serialNumber(out.cert));
	if (revoke && ca_revoke(ca, out.serial_hex, CA_REASON_KEY_COMPROMISE, "fuzz", &err) != CA_OK)
		die("cannot revoke");
	ca_issued_free(&out);
	return sn;
}

static void
setup(void)
{
	struct ca_params p;
	struct ca_ocsp_params op = { 0 };
	struct ca_authority_request areq = { 0 };
	struct ca_authority auth;
	struct ca_error err = { "" };
	char root[400];

	store_fixture_make("fuzz-ocsp", &ts, &p);
	snprintf(root, sizeof(root), "%s/root.key", ts.dir);
	areq.key_type = CA_KEY_EC_P256;
	areq.actor = "fuzz";
	areq.root_key_file = root;
	if (ca_open(&p, &ca, &err) != CA_OK || ca_init(ca, &areq, &auth, &err) != CA_OK)
		die("cannot make the test CA");
	issuer = X509_dup(auth.cert);
	ca_authority_free(&auth);
	good_sn = issue("good@example.org", false);
	revoked_sn = issue("gone@example.org", true);
	op.actor = "fuzz";
	if (ca_ocsp_new(ca, &op, &oc, &err) != CA_OK)
		die("cannot start the responder");
	atexit(cleanup);
}

/* Independently of the responder: a nonce extension whose value is 04 LL and LL octets. */
static bool
nonce_ok(OCSP_REQUEST *req)
{
	int i = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1);
	const ASN1_OCTET_STRING *v;
	const unsigned char *b;
	int n;

	if (i < 0 || OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, i) >= 0)
		return false;
	v = X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(req, i));
	b = ASN1_STRING_get0_data(v);
	n = ASN1_STRING_length(v);
	return n >= 3 && n <= 34 && b[0] == 0x04 && b[1] == n - 2;
}

/* Ask; req (when it decoded) is what the answer is held to. */
static void
ask(const unsigned char *der, size_t len, OCSP_REQUEST *req)
{
	struct ca_ocsp_answer a;
	struct ca_error err = { "" };
	unsigned char *out = NULL;
	const unsigned char *p;
	OCSP_RESPONSE *resp;
	OCSP_BASICRESP *bs;
	size_t olen = 0;
	int st, i;

	if (ca_ocsp_respond(oc, der, len, &out, &olen, &a) != CA_OK)
		die("no answer at all");
	p = out;
	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)olen)) == NULL || p != out + olen)
		die("the answer does not decode");
	st = OCSP_response_status(resp);
	if (st == OCSP_RESPONSE_STATUS_INTERNALERROR) {
		fprintf(stderr, "fuzz_ocsp: %s\n", a.why);
		die("internalError");
	}
	if (req == NULL && st != OCSP_RESPONSE_STATUS_MALFORMEDREQUEST)
		die("what does not decode was not malformedRequest");
	if (st == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		if (ca_ocsp_response_check(ca, out, olen, &err) != CA_OK)
			die("a successful answer fails the checks");
		bs = OCSP_response_get1_basic(resp);
		if (bs == NULL || OCSP_resp_count(bs) != OCSP_request_onereq_count(req))
			die("not every CertID is answered");
		for (i = 0; i < OCSP_resp_count(bs); i++) {
			OCSP_SINGLERESP *s = OCSP_resp_get0(bs, i);
			OCSP_CERTID *want = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));
			ASN1_INTEGER *sn = NULL;
			int reason = -2, cs;

			if (OCSP_id_cmp(OCSP_SINGLERESP_get0_id(s), want) != 0)
				die("answers out of the request's order");
			cs = OCSP_single_get0_status(s, &reason, NULL, NULL, NULL);
			OCSP_id_get0_info(NULL, NULL, NULL, &sn, want);
			if (ASN1_INTEGER_cmp(sn, revoked_sn) == 0 && i == 0 &&
			    (cs != V_OCSP_CERTSTATUS_REVOKED ||
			    reason != OCSP_REVOKED_STATUS_KEYCOMPROMISE))
				die("the revoked certificate is not revoked (keyCompromise)");
			if (ASN1_INTEGER_cmp(sn, good_sn) == 0 && i == 0 &&
			    cs != V_OCSP_CERTSTATUS_GOOD)
				die("the good certificate is not good");
		}
		if ((OCSP_BASICRESP_get_ext_by_NID(bs, NID_id_pkix_OCSP_Nonce, -1) >= 0) !=
		    nonce_ok(req))
			die("a nonce is echoed when it should not be, or not when it should");
		if (nonce_ok(req) && OCSP_check_nonce(req, bs) != 1)
			die("the echoed nonce is not the request's");
		OCSP_BASICRESP_free(bs);
	}
	OCSP_RESPONSE_free(resp);
	free(out);
}

/* The request again with every CertID naming the test CA; serials picked by their parity. */
static void
ask_ours(OCSP_REQUEST *req)
{
	unsigned char *der = NULL;
	int i, n = OCSP_request_onereq_count(req), len;

	for (i = 0; i < n; i++) {
		OCSP_CERTID *cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, i));
		OCSP_CERTID *mine = OCSP_cert_to_id(EVP_sha1(), NULL, issuer);
		ASN1_OCTET_STRING *nh, *kh, *mnh, *mkh;
		ASN1_INTEGER *sn;
		ASN1_OBJECT *md;

		OCSP_id_get0_info(&nh, &md, &kh, &sn, cid);
		if (OBJ_obj2nid(md) == NID_sha256) {
			OCSP_CERTID_free(mine);
			mine = OCSP_cert_to_id(EVP_sha256(), NULL, issuer);
		}
		OCSP_id_get0_info(&mnh, NULL, &mkh, NULL, mine);
		if (OBJ_obj2nid(md) == NID_sha1 || OBJ_obj2nid(md) == NID_sha256) {
			ASN1_STRING_copy(nh, mnh);
			ASN1_STRING_copy(kh, mkh);
			if (ASN1_INTEGER_get(sn) % 3 == 1)
				ASN1_STRING_copy(sn, good_sn);
			else if (ASN1_INTEGER_get(sn) % 3 == 2)
				ASN1_STRING_copy(sn, revoked_sn);
		}
		OCSP_CERTID_free(mine);
	}
	if ((len = i2d_OCSP_REQUEST(req, &der)) > 0 && len <= CA_OCSP_REQUEST_MAX) {
		const unsigned char *p = der;
		OCSP_REQUEST *again = d2i_OCSP_REQUEST(NULL, &p, len);

		if (again != NULL)
			ask(der, (size_t)len, again);
		OCSP_REQUEST_free(again);
	}
	OPENSSL_free(der);
}

static void
codec(const uint8_t *data, size_t size)
{
	unsigned char out[CA_OCSP_REQUEST_MAX], back[CA_OCSP_REQUEST_MAX];
	char *text, *enc;
	struct sockaddr_storage ss;
	unsigned sslen;
	int family;
	size_t len = 0, blen = 0;

	if (size > 3 * CA_OCSP_REQUEST_MAX || (text = strndup((const char *)data, size)) == NULL)
		return;
	if (ocsp_http_b64_decode(text, out, sizeof(out), &len) == 0) {
		if (len == 0 || len > sizeof(out))
			die("a decoded path is empty or over the bound");
		if ((enc = malloc(len / 3 * 4 + 8)) == NULL)
			die("out of memory");
		EVP_EncodeBlock((unsigned char *)enc, out, (int)len);
		if (ocsp_http_b64_decode(enc, back, sizeof(back), &blen) != 0 || blen != len ||
		    memcmp(out, back, len) != 0)
			die("a decoded path does not re-encode to the same bytes");
		free(enc);
	}
	if (ocsp_http_addr(text, &ss, &sslen, &family) == 0 && sslen > sizeof(ss))
		die("an address longer than its storage");
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	OCSP_REQUEST *req;

	if (oc == NULL)
		setup();
	req = size <= CA_OCSP_REQUEST_MAX ? d2i_OCSP_REQUEST(NULL, &p, (long)size) : NULL;
	if (req != NULL && p != data + size) {
		OCSP_REQUEST_free(req);
		req = NULL;   /* trailing bytes: must be malformed */
	}
	ask(data, size, req);
	if (req != NULL && OCSP_request_onereq_count(req) >= 1 &&
	    OCSP_request_onereq_count(req) <= CA_OCSP_CERTIDS_MAX)
		ask_ours(req);
	OCSP_REQUEST_free(req);
	codec(data, size);
	return 0;
}
