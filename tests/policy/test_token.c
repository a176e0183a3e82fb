/*
 * test_token: challenge tokens: length and alphabet, entropy in practice (10,000 unique),
 * hash-only checking, the constant-time comparison, and the RFC 8823 subject and block.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/util.h"
#include "policy/token.h"
#include "tests/tap.h"

#define N 10000

static int
cmp_tok(const void *a, const void *b)
{
	return memcmp(a, b, AS_TOKEN_LEN);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Time many comparisons of two buffers that differ at `pos`. */
static double
time_cmp(const unsigned char *a, const unsigned char *b, size_t n, int reps)
{
	volatile int sink = 0;
	double t0 = now_s();

	for (int i = 0; i < reps; i++)
		sink += as_equal_ct(a, b, n);
	(void)sink;
	return now_s() - t0;
}

int
main(void)
{
	char (*toks)[AS_TOKEN_LEN + 1] = calloc(N, AS_TOKEN_LEN + 1);
	unsigned char hash[AS_TOKEN_HASH_LEN], h2[AS_TOKEN_HASH_LEN];
	char tok[AS_TOKEN_LEN + 1], small[8], id[AS_TOKEN_ID_LEN + 1], buf[256];
	bool shape_ok = true, hash_ok = true, dup = false;
	int counts[256] = { 0 };

	if (toks == NULL)
		tap_skip_all("out of memory");
	tap_ok(as_token_new(small, sizeof(small), hash) == -1, "a too small buffer is refused");
	tap_ok(8 * AS_TOKEN_BYTES >= 128, "a token carries %d bits of randomness", 8 * AS_TOKEN_BYTES);
	for (int i = 0; i < N; i++) {
		if (as_token_new(toks[i], AS_TOKEN_LEN + 1, hash) != 0) {
			shape_ok = false;
			break;
		}
		if (strlen(toks[i]) != AS_TOKEN_LEN || !as_token_wellformed(toks[i], AS_TOKEN_LEN) ||
		    strchr(toks[i], '=') != NULL)
			shape_ok = false;
		as_token_hash(toks[i], AS_TOKEN_LEN, h2);
		if (memcmp(h2, hash, sizeof(hash)) != 0)
			hash_ok = false;
		for (int k = 0; k < AS_TOKEN_LEN; k++)
			counts[(unsigned char)toks[i][k]]++;
	}
	tap_ok(shape_ok, "%d tokens: %d characters of base64url, no padding", N, AS_TOKEN_LEN);
	tap_ok(hash_ok, "the hash returned is SHA-256 of the text");
	qsort(toks, N, AS_TOKEN_LEN + 1, cmp_tok);
	for (int i = 1; i < N; i++)
		if (memcmp(toks[i - 1], toks[i], AS_TOKEN_LEN) == 0)
			dup = true;
	tap_ok(!dup, "%d tokens are all different", N);
	{
		int used = 0, lo = N * AS_TOKEN_LEN, hi = 0;

		for (int c = 0; c < 256; c++) {
			if (counts[c] == 0)
				continue;
			used++;
			lo = counts[c] < lo ? counts[c] : lo;
			hi = counts[c] > hi ? counts[c] : hi;
		}
		/* 240,000 characters over 64 symbols: about 3,750 each; 3,000..4,500 is > 10 sigma. */
		tap_ok(used == 64 && lo > 3000 && hi < 4500,
		    "all 64 symbols are used evenly (min %d, max %d)", lo, hi);
	}

	tap_ok(as_token_new(tok, sizeof(tok), hash) == 0, "new token");
	tap_ok(as_token_check(tok, strlen(tok), hash), "the token checks against its stored hash");
	tap_ok(memmem(hash, sizeof(hash), tok, 4) == NULL, "the stored hash does not hold the text");
	{
		char bad[AS_TOKEN_LEN + 1];

		memcpy(bad, tok, sizeof(bad));
		bad[AS_TOKEN_LEN - 1] = bad[AS_TOKEN_LEN - 1] == 'A' ? 'B' : 'A';
		tap_ok(!as_token_check(bad, AS_TOKEN_LEN, hash), "a one-character change fails");
		bad[0] = bad[0] == 'A' ? 'B' : 'A';
		tap_ok(!as_token_check(bad, AS_TOKEN_LEN, hash), "a change in the first character fails");
	}
	tap_ok(!as_token_check(tok, AS_TOKEN_LEN - 1, hash), "a prefix fails");
	tap_ok(!as_token_check("", 0, hash), "empty fails");
	tap_ok(!as_token_wellformed("abc=defghijklmnopqrstuvw", 24), "'=' is not base64url");
	tap_ok(!as_token_wellformed("abc+defghijklmnopqrstuvw", 24), "'+' is not base64url");
	tap_ok(as_token_wellformed("abc-defghijklmnopqrst_vw", 24), "'-' and '_' are base64url");

	tap_ok(as_token_id(hash, id) == 0 && strlen(id) == AS_TOKEN_ID_LEN &&
	    strspn(id, "0123456789abcdef") == AS_TOKEN_ID_LEN, "challenge id is hex: %s", id);
	{
		char id2[AS_TOKEN_ID_LEN + 1], hexhash[65];

		for (int i = 0; i < 32; i++)
			snprintf(hexhash + 2 * i, 3, "%02x", hash[i]);
		tap_ok(as_token_id(hash, id2) == 0 && strcmp(id, id2) == 0 &&
		    strstr(hexhash, id) == NULL, "the id is stable and is not a piece of the stored hash");
	}

	/* Constant time: a difference in the first byte costs as much as one in the last. */
	{
		size_t n = 4096;
		unsigned char *a = malloc(n), *b1 = malloc(n), *b2 = malloc(n);
		double t_first = 0, t_last = 0;

		memset(a, 'x', n);
		memcpy(b1, a, n);
		memcpy(b2, a, n);
		b1[0] = 'y';
		b2[n - 1] = 'y';
		for (int round = 0; round < 5; round++) {
			t_first += time_cmp(a, b1, n, 20000);
			t_last += time_cmp(a, b2, n, 20000);
		}
		double ratio = t_last / t_first;
		tap_ok(ratio > 0.5 && ratio < 2.0,
		    "as_equal_ct takes the same time wherever the difference is (ratio %.2f)", ratio);
		free(a);
		free(b1);
		free(b2);
	}

	tap_ok(as_acme_subject(NULL, tok, buf, sizeof(buf)) > 0 && strncmp(buf, "ACME: ", 6) == 0 &&
	    strcmp(buf + 6, tok) == 0, "subject without prefix: ACME: <token>");
	tap_ok(as_acme_subject("[Mail security]", tok, buf, sizeof(buf)) > 0 &&
	    strncmp(buf, "[Mail security] ACME: ", 22) == 0, "subject with the human prefix");
	tap_ok(as_acme_subject("evil\r\nBcc: x@y", tok, buf, sizeof(buf)) == -1,
	    "a prefix with a line break is refused");
	tap_ok(as_acme_subject(NULL, "short", buf, sizeof(buf)) == -1, "a malformed token is refused");
	tap_ok(as_acme_subject(NULL, tok, buf, 10) == -1, "a too small buffer is refused");
	tap_ok(as_acme_response_block(tok, buf, sizeof(buf)) > 0 &&
	    strncmp(buf, AS_ACME_BEGIN "\n", strlen(AS_ACME_BEGIN) + 1) == 0 &&
	    strstr(buf, tok) != NULL && strstr(buf, AS_ACME_END "\n") != NULL,
	    "response block has BEGIN, the token, END");
	free(toks);
	return tap_done();
}
