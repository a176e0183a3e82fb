/*
 * mime_decode: bounded decoders for transfer encodings, encoded-words and HTML text, used by
 * reply_parse. Stateless; owns nothing but the caller's output buffer while it writes.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "policy/mime_decode.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

size_t
as_qp_decode(const char *in, size_t len, char *out, size_t cap, bool header)
{
	size_t o = 0, i = 0;

	while (i < len && o < cap) {
		unsigned char c = (unsigned char)in[i];

		if (c == '=') {
			int h1 = i + 1 < len ? hexval((unsigned char)in[i + 1]) : -1;
			int h2 = i + 2 < len ? hexval((unsigned char)in[i + 2]) : -1;

			if (h1 >= 0 && h2 >= 0) {
				out[o++] = (char)(h1 * 16 + h2);
				i += 3;
				continue;
			}
			/* A soft line break: '=' then optional blanks then the line end. */
			size_t j = i + 1;
			while (j < len && (in[j] == ' ' || in[j] == '\t'))
				j++;
			if (j < len && in[j] == '\r')
				j++;
			if (j < len && in[j] == '\n') {
				i = j + 1;
				continue;
			}
			if (j >= len) {
				i = j;
				continue;
			}
			out[o++] = '=';
			i++;
			continue;
		}
		out[o++] = (header && c == '_') ? ' ' : (char)c;
		i++;
	}
	return o;
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

size_t
as_b64_decode(const char *in, size_t len, char *out, size_t cap)
{
	unsigned long acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len && o < cap; i++) {
		int v = b64val((unsigned char)in[i]);

		if (in[i] == '=')
			break;
		if (v < 0)
			continue;
		acc = ((acc << 6) | (unsigned long)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	return o;
}

/*
 * Is there an encoded-word at in[i]? Sets the encoding, the text span and the end (one past
 * "?="). Encoded-words hold no white space (RFC 2047 section 5), which bounds the search.
 */
static bool
encoded_word(const char *in, size_t len, size_t i, char *enc, size_t *ts, size_t *te,
    size_t *end)
{
	size_t j, q1, q2;

	if (i + 1 >= len || in[i] != '=' || in[i + 1] != '?')
		return false;
	for (j = i + 2; j < len && in[j] != '?'; j++)
		if (in[j] == ' ' || in[j] == '\t' || j - i > 80)
			return false;
	if (j >= len || j == i + 2)
		return false;
	q1 = j;
	if (q1 + 2 >= len || in[q1 + 2] != '?')
		return false;
	*enc = in[q1 + 1];
	if (*enc != 'B' && *enc != 'b' && *enc != 'Q' && *enc != 'q')
		return false;
	for (q2 = q1 + 3; q2 + 1 < len; q2++) {
		if (in[q2] == ' ' || in[q2] == '\t' || in[q2] == '\r' || in[q2] == '\n')
			return false;
		if (in[q2] == '?' && in[q2 + 1] == '=')
			break;
	}
	if (q2 + 1 >= len)
		return false;
	*ts = q1 + 3;
	*te = q2;
	*end = q2 + 2;
	return true;
}

size_t
as_rfc2047_decode(const char *in, size_t len, char *out, size_t cap)
{
	size_t o = 0, i = 0;
	bool after_word = false;

	while (i < len && o < cap) {
		char enc;
		size_t ts, te, end;

		if (encoded_word(in, len, i, &enc, &ts, &te, &end)) {
			if (enc == 'B' || enc == 'b')
				o += as_b64_decode(in + ts, te - ts, out + o, cap - o);
			else
				o += as_qp_decode(in + ts, te - ts, out + o, cap - o, true);
			i = end;
			after_word = true;
			continue;
		}
		if (after_word && (in[i] == ' ' || in[i] == '\t')) {
			size_t j = i;
			char e2;
			size_t a, b, c;

			while (j < len && (in[j] == ' ' || in[j] == '\t'))
				j++;
			if (encoded_word(in, len, j, &e2, &a, &b, &c)) {
				i = j;
				continue;
			}
		}
		after_word = false;
		out[o++] = in[i++];
	}
	return o;
}

static const struct {
	const char *name;
	char c;
} entities[] = {
	{ "&nbsp;", ' ' }, { "&gt;", '>' }, { "&lt;", '<' }, { "&amp;", '&' }, { "&quot;", '"' },
	{ "&#45;", '-' }, { "&#95;", '_' }, { "&#58;", ':' }, { "&#x2D;", '-' }, { "&#x5F;", '_' },
	{ "&#8209;", '-' },
};

size_t
as_html_to_text(const char *in, size_t len, char *out, size_t cap)
{
	size_t o = 0, i = 0;

	while (i < len && o < cap) {
		if (in[i] == '<') {
			size_t j = i + 1;
			const char *skip_to = NULL;

			if (len - j >= 3 && memcmp(in + j, "!--", 3) == 0)
				skip_to = "-->";
			else if (len - j >= 5 && strncasecmp(in + j, "style", 5) == 0)
				skip_to = "</style";
			else if (len - j >= 6 && strncasecmp(in + j, "script", 6) == 0)
				skip_to = "</script";
			else if (len - j >= 4 && strncasecmp(in + j, "head", 4) == 0)
				skip_to = "</head";
			if (skip_to != NULL) {
				const char *e = memmem(in + j, len - j, skip_to, strlen(skip_to));

				j = e != NULL ? (size_t)(e - in) + strlen(skip_to) : len;
			}
			bool brk = (len - (i + 1) >= 2 && strncasecmp(in + i + 1, "br", 2) == 0) ||
			    (len - (i + 1) >= 1 && (in[i + 1] == 'p' || in[i + 1] == 'P')) ||
			    (len - (i + 1) >= 3 && strncasecmp(in + i + 1, "div", 3) == 0) ||
			    (len - (i + 1) >= 2 && strncasecmp(in + i + 1, "/p", 2) == 0) ||
			    (len - (i + 1) >= 4 && strncasecmp(in + i + 1, "/div", 4) == 0);
			while (j < len && in[j] != '>')
				j++;
			i = j < len ? j + 1 : len;
			out[o++] = brk ? '\n' : ' ';
			continue;
		}
		if (in[i] == '&') {
			bool done = false;

			for (size_t k = 0; k < sizeof(entities) / sizeof(entities[0]); k++) {
				size_t n = strlen(entities[k].name);

				if (len - i >= n && strncasecmp(in + i, entities[k].name, n) == 0) {
					out[o++] = entities[k].c;
					i += n;
					done = true;
					break;
				}
			}
			if (done)
				continue;
		}
		out[o++] = in[i++];
	}
	return o;
}
