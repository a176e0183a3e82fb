/*
 * fuzz_sign: the signing path's MIME reader and canonicaliser on arbitrary messages. Whatever
 * the engine signs must verify against the fixed test root, name the test signer, and give
 * back exactly the canonical entity (mime_canon_entity) of the input: a signature that does not
 * verify, or one over other bytes than the reader meant, aborts.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter/engine/mime_canon.h"
#include "milter/engine/smime_inbound.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_util.h"

static int
to_spool(void *arg, const void *p, size_t n)
{
	return spool_write(arg, p, n) == 0 ? 0 : -1;
}

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_sign: %s%s%s\n", what, detail != NULL ? ": " : "",
	    detail != NULL ? detail : "");
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_keys *k = fuzz_keys();
	struct smime_signer signer = { k->signer_key, k->signer, NULL, NULL, NULL, 0 };
	struct smime_options opt = { false, SMIME_AES256_CBC, 1 << 20, NULL, 0 };
	struct smime_result res;
	struct smime_error err = { "" };
	struct fuzz_msg msg;
	struct spool *canon = NULL, *content = NULL;
	struct mime_out o;
	X509 *who = NULL;
	char *want = NULL, *got = NULL;
	size_t want_len = 0, got_len = 0;
	enum smime_status st;

	if (fuzz_msg_parse(data, size, &msg) != 0)
		return 0;
	memset(&res, 0, sizeof(res));
	st = smime_sign(&msg.m, &signer, &opt, &res, &err);
	if (st == SMIME_ERROR)
		die("signing failed internally", err.text);
	if (st != SMIME_OK)
		goto out;
	/* what the signature must cover: the entity of the message as it came in */
	if ((canon = spool_new(1 << 20, NULL, 0)) == NULL)
		abort();
	o = (struct mime_out){ to_spool, canon, false, false };
	if (mime_canon_entity(&msg.m, false, &o, &err) != SMIME_OK || o.failed)
		die("signed, but the entity cannot be built again", err.text);
	if (fuzz_msg_apply(&msg, &res) != 0)
		abort();
	if (!smime_is_smime(&msg.m))
		die("the signed message is not recognised as S/MIME", NULL);
	st = smime_verify(&msg.m, k->store, &opt, &who, &content, &err);
	if (st != SMIME_OK)
		die("the engine's own signature does not verify", err.text);
	if (X509_cmp(who, k->signer) != 0)
		die("verified, but not as the test signer", NULL);
	want = fuzz_spool_bytes(canon, &want_len);
	got = fuzz_spool_bytes(content, &got_len);
	if (want == NULL || got == NULL)
		abort();
	if (want_len != got_len || memcmp(want, got, want_len) != 0)
		die("the verified content is not the canonical entity of the input", NULL);
out:
	free(want);
	free(got);
	X509_free(who);
	spool_free(content);
	spool_free(canon);
	smime_result_free(&res);
	fuzz_msg_free(&msg);
	return 0;
}
