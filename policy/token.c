/*
 * token: creates challenge tokens, hashes and checks them, and writes the RFC 8823 subject and
 * response block around them. Owns nothing beyond the caller's buffers; holds no state.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/util.h"
#include "policy/token.h"

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool
as_token_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_';
}

bool
as_token_wellformed(const char *text, size_t len)
{
	if (text == NULL || len != AS_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!as_token_char((unsigned char)text[i]))
			return false;
	return true;
}

int
as_token_hash(const char *text, size_t len, unsigned char hash[AS_TOKEN_HASH_LEN])
{
	unsigned int outlen = 0;

	if (EVP_Digest(text, len, hash, &outlen, EVP_sha256(), NULL) != 1 ||
	    outlen != AS_TOKEN_HASH_LEN)
		return -1;
	return 0;
}

int
as_token_new(char *text, size_t cap, unsigned char hash[AS_TOKEN_HASH_LEN])
{
	unsigned char raw[AS_TOKEN_BYTES];
	char tmp[AS_TOKEN_LEN + 1];
	size_t o = 0;
	int r = -1;

	if (text == NULL || cap <= AS_TOKEN_LEN)
		goto out;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		goto out;
	/* AS_TOKEN_BYTES is a multiple of 3, so every group gives four characters. */
	for (size_t i = 0; i + 2 < sizeof(raw); i += 3) {
		unsigned long v = ((unsigned long)raw[i] << 16) | ((unsigned long)raw[i + 1] << 8) |
		    raw[i + 2];
		tmp[o++] = b64url[(v >> 18) & 63];
		tmp[o++] = b64url[(v >> 12) & 63];
		tmp[o++] = b64url[(v >> 6) & 63];
		tmp[o++] = b64url[v & 63];
	}
	tmp[o] = '\0';
	if (as_token_hash(tmp, AS_TOKEN_LEN, hash) != 0)
		goto out;
	memcpy(text, tmp, AS_TOKEN_LEN + 1);
	r = 0;
out:
	as_wipe(raw, sizeof(raw));
	as_wipe(tmp, sizeof(tmp));
	return r;
}

bool
as_token_check(const char *candidate, size_t len,
    const unsigned char stored_hash[AS_TOKEN_HASH_LEN])
{
	unsigned char h[AS_TOKEN_HASH_LEN];
	bool shape, same;

	if (candidate == NULL || stored_hash == NULL)
		return false;
	shape = as_token_wellformed(candidate, len);
	if (as_token_hash(candidate, len, h) != 0)
		return false;
	same = as_equal_ct(h, stored_hash, AS_TOKEN_HASH_LEN);
	as_wipe(h, sizeof(h));
	return shape && same;
}

int
as_token_id(const unsigned char hash[AS_TOKEN_HASH_LEN], char out[AS_TOKEN_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char h[AS_TOKEN_HASH_LEN];
	unsigned int outlen = 0;

	if (EVP_Digest(hash, AS_TOKEN_HASH_LEN, h, &outlen, EVP_sha256(), NULL) != 1)
		return -1;
	for (size_t i = 0; i < AS_TOKEN_ID_LEN / 2; i++) {
		out[2 * i] = hex[h[i] >> 4];
		out[2 * i + 1] = hex[h[i] & 15];
	}
	out[AS_TOKEN_ID_LEN] = '\0';
	return 0;
}

int
as_acme_subject(const char *prefix, const char *token, char *out, size_t cap)
{
	int n;

	if (token == NULL || !as_token_wellformed(token, strlen(token)))
		return -1;
	if (prefix == NULL)
		prefix = "";
	for (const unsigned char *p = (const unsigned char *)prefix; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return -1;
	n = snprintf(out, cap, "%s%s" AS_ACME_MARKER " %s", prefix, *prefix ? " " : "", token);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}

int
as_acme_response_block(const char *token, char *out, size_t cap)
{
	int n;

	if (token == NULL || !as_token_wellformed(token, strlen(token)))
		return -1;
	n = snprintf(out, cap, AS_ACME_BEGIN "\n%s\n" AS_ACME_END "\n", token);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}
