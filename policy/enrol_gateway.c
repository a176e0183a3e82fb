/*
 * enrol_gateway: the gateway's own certificate for enrol_address, which signs the challenge
 * and confirmation mail so that users can tell them from imitations. Issued by the integrated
 * CA on first need (the gateway controls its own enrolment address: every mail to it reaches
 * the milter), kept in the store like any other certificate, and issued anew once it reaches
 * renew_before. Owns nothing between calls.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "policy/enrol_int.h"
#include "policy/mail_sign.h"

#define GATEWAY_VALIDATION_REF "gateway-enrol-address"

/* Issue the gateway certificate; 0 or -1 (audited either way). */
static int
gateway_issue(struct enrol_ctx *ctx, const char *actor, char *err, size_t errcap)
{
	struct ca_issue_request req;
	struct ca_issued is;
	struct ca_error cerr;
	char b1[300], b2[600];

	memset(&req, 0, sizeof(req));
	memset(&is, 0, sizeof(is));
	req.mailbox = ctx->p.enrol_address;
	req.profile = CA_PROFILE_MAILBOX;
	req.generation = CA_GEN_STRICT;
	req.key_type = CA_KEY_EC_P256;
	req.validity_seconds = ctx->p.cert_validity > 0 ? ctx->p.cert_validity : 365 * 86400LL;
	req.validation_ref = GATEWAY_VALIDATION_REF;
	req.single = true; /* it signs challenges; nobody encrypts to it */
	req.actor = actor;
	if (ca_issue(ctx->p.ca, &req, &is, &cerr) != CA_OK) {
		snprintf(err, errcap, "gateway certificate: %s", cerr.text);
		enrol_audit(ctx, "enrol-gateway-cert", actor, "mailbox=%s result=error reason=%s",
		    as_log_value(ctx->p.enrol_address, b1, sizeof(b1)),
		    as_log_value(cerr.text, b2, sizeof(b2)));
		return -1;
	}
	enrol_audit(ctx, "enrol-gateway-cert", actor, "mailbox=%s result=issued serial=%s "
	    "validation=%s", as_log_value(ctx->p.enrol_address, b1, sizeof(b1)), is.serial_hex,
	    GATEWAY_VALIDATION_REF);
	ca_issued_free(&is);
	return 0;
}

int
enrol_gateway_sign(struct enrol_ctx *ctx, const char *actor, time_t now, const char *msg,
    size_t len, char **out, size_t *outlen, char *err, size_t errcap)
{
	struct ca_signer *sg = NULL;
	struct ca_error cerr;
	int k, r;

	*out = NULL;
	k = ca_signer_load(ctx->p.ca, ctx->p.enrol_address, &sg, &cerr);
	if (k == CA_OK && (long long)sg->not_after - ctx->p.renew_before <= (long long)now) {
		/* renewal: the new certificate signs from now on; the old one simply expires */
		ca_signer_free(sg);
		sg = NULL;
		k = CA_NOTFOUND;
	}
	if (k == CA_NOTFOUND) {
		if (gateway_issue(ctx, actor, err, errcap) < 0)
			return -1;
		k = ca_signer_load(ctx->p.ca, ctx->p.enrol_address, &sg, &cerr);
	}
	if (k != CA_OK) {
		snprintf(err, errcap, "gateway certificate: %s", cerr.text);
		return -1;
	}
	r = as_mail_sign(msg, len, sg->cert, sg->key, sg->chain, out, outlen, err, errcap);
	ca_signer_free(sg);
	return r;
}
