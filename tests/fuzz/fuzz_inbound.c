/*
 * fuzz_inbound: mail from outside, from raw bytes to a verdict: the inbound pipeline
 * (forged Authentication-Results stripped, signatures verified against the fixed test root)
 * and the engine's verify and decrypt of multipart/signed, opaque signed-data, enveloped and
 * authEnveloped CMS, following one decrypted layer into its signature. Invariant: nothing
 * passes as signed unless one of the certificates the test root issued signed it, and the
 * result's header edits never keep a field that claims our authserv-id.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "milter/engine/smime_inbound.h"
#include "milter/inbound/authres.h"
#include "milter/inbound/inbound.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_util.h"

#define AUTHSERV "gw.fuzz.test"

#define die(what) fuzz_fail("fuzz_inbound", (what))

static struct inbound *
pipeline(void)
{
	static struct inbound *ib;
	struct inbound_params p;
	char why[256];

	if (ib != NULL)
		return ib;
	memset(&p, 0, sizeof(p));
	p.authserv_id = AUTHSERV;
	p.verify = true;
	p.trust_anchor_file = FUZZ_KEYDIR "/root.pem";
	p.mem_limit = 1 << 20;
	if ((ib = inbound_new(&p, NULL, why, sizeof(why))) == NULL) {
		fprintf(stderr, "fuzz_inbound: %s\n", why);
		abort();
	}
	return ib;
}

static bool
ours(const struct fuzz_keys *k, X509 *x)
{
	return x != NULL && (X509_cmp(x, k->signer) == 0 || X509_cmp(x, k->rsa) == 0 ||
	    X509_cmp(x, k->ec) == 0);
}

/* Verify a message; a pass must name one of the root's certificates. */
static void
verify(const struct fuzz_keys *k, const struct smime_message *m)
{
	struct smime_options opt = { false, SMIME_AES256_CBC, 1 << 20, NULL, 0 };
	struct smime_error err;
	struct spool *content = NULL;
	X509 *who = NULL;

	if (smime_verify(m, k->store, &opt, &who, &content, &err) == SMIME_OK && !ours(k, who))
		die("a signature verified for a certificate the root never issued");
	X509_free(who);
	spool_free(content);
}

/* Decrypt with one key; a decrypted entity is checked for a signature in turn. */
static void
decrypt(const struct fuzz_keys *k, const struct smime_message *m, EVP_PKEY *key, X509 *cert)
{
	struct smime_options opt = { false, SMIME_AES256_CBC, 1 << 20, NULL, 0 };
	struct smime_error err;
	struct spool *content = NULL;
	struct fuzz_msg inner;
	char *bytes;
	size_t len;

	if (smime_decrypt(m, key, cert, &opt, &content, &err) != SMIME_OK)
		goto out;
	if ((bytes = fuzz_spool_bytes(content, &len)) == NULL)
		goto out;
	if (fuzz_msg_parse((const uint8_t *)bytes, len, &inner) == 0) {
		verify(k, &inner.m);
		fuzz_msg_free(&inner);
	}
	free(bytes);
out:
	spool_free(content);
}

static void
run_pipeline(const struct fuzz_msg *msg)
{
	struct inbound_result r;
	struct inbound_input in;
	char *rcpts[1] = { (char *)"user@fuzz.test" };

	memset(&r, 0, sizeof(r));
	memset(&in, 0, sizeof(in));
	in.qid = "FUZZ";
	in.headers = msg->headers;
	in.header_count = msg->header_count;
	in.body = msg->body;
	in.rcpts = rcpts;
	in.rcpt_count = 1;
	if (inbound_process(pipeline(), &in, &r) != INBOUND_ERROR) {
		if (r.smime == AUTHRES_PASS && strcasecmp(r.signer, "signer@fuzz.test") != 0 &&
		    strcasecmp(r.signer, "rsa@fuzz.test") != 0 &&
		    strcasecmp(r.signer, "ec@fuzz.test") != 0)
			die("the pipeline passed a signer the root never issued");
		/* every field claiming our authserv-id is deleted, except the one we add */
		for (size_t i = 0; i < msg->header_count; i++) {
			int index = 0;
			bool deleted = false;

			if (strcasecmp(msg->headers[i].name, AUTHRES_HEADER) != 0)
				continue;
			for (size_t j = 0; j <= i; j++)
				if (strcasecmp(msg->headers[j].name, AUTHRES_HEADER) == 0)
					index++;
			for (size_t d = 0; d < r.del_count; d++)
				if (strcasecmp(r.del[d].name, AUTHRES_HEADER) == 0 &&
				    r.del[d].index == index)
					deleted = true;
			if (authres_claims(msg->headers[i].value, AUTHSERV) && !deleted)
				die("a forged Authentication-Results field for our id stays");
		}
	}
	inbound_result_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_keys *k = fuzz_keys();
	struct fuzz_msg msg;

	if (fuzz_msg_parse(data, size, &msg) != 0)
		return 0;
	run_pipeline(&msg);
	verify(k, &msg.m);
	decrypt(k, &msg.m, k->rsa_key, k->rsa);
	decrypt(k, &msg.m, k->ec_key, k->ec);
	fuzz_msg_free(&msg);
	return 0;
}
