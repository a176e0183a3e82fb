/*
 * fuzz_mime_decode: policy/'s small decoders (quoted-printable, base64, RFC 2047 words, HTML to
 * text) on arbitrary text, into small and large buffers. Invariants: nothing is written past
 * `cap` (the sanitizers and a guard byte watch), the count returned is at most `cap`, and
 * base64 decodes what OpenSSL's encoder made of the same bytes back to them exactly.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "policy/mime_decode.h"
#include "tests/fuzz/fuzz.h"

#define GUARD 0xa5

#define die(what) fuzz_fail("fuzz_mime_decode", (what))

/* Run one decoder into a buffer of `cap` bytes followed by a guard byte. */
static void
bounded(int which, const char *in, size_t len, size_t cap)
{
	char *out = malloc(cap + 1);
	size_t n = 0;

	if (out == NULL)
		abort();
	out[cap] = (char)GUARD;
	switch (which) {
	case 0: n = as_qp_decode(in, len, out, cap, false); break;
	case 1: n = as_qp_decode(in, len, out, cap, true); break;
	case 2: n = as_b64_decode(in, len, out, cap); break;
	case 3: n = as_rfc2047_decode(in, len, out, cap); break;
	default: n = as_html_to_text(in, len, out, cap); break;
	}
	if (n > cap)
		die("a decoder claims more bytes than it may write");
	if ((unsigned char)out[cap] != GUARD)
		die("a decoder wrote past its buffer");
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	unsigned char *enc;
	char *dec;
	size_t n;

	for (int which = 0; which < 5; which++) {
		bounded(which, in, size, 0);
		bounded(which, in, size, 7);
		bounded(which, in, size, size + 16);
	}
	/* base64 round trip */
	if (size > 64 * 1024)
		return 0;
	enc = malloc(4 * (size / 3 + 1) + 1);
	dec = malloc(size + 1);
	if (enc == NULL || dec == NULL)
		abort();
	n = (size_t)EVP_EncodeBlock(enc, data, (int)size);
	if (as_b64_decode((const char *)enc, n, dec, size + 1) != size ||
	    memcmp(dec, data, size) != 0)
		die("base64 does not decode OpenSSL's encoding back to the input");
	free(enc);
	free(dec);
	return 0;
}
