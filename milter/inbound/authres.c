/*
 * authres: Authentication-Results parsing (authserv-id only) and formatting for the smime
 * method; see authres.h. Owns nothing.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "milter/inbound/authres.h"

#define MAX_COMMENT_DEPTH 16

const char *
authres_result_word(enum authres_result r)
{
	static const char *const words[] = { "none", "pass", "fail", "neutral", "policy",
		"temperror", "permerror" };

	if ((unsigned)r >= sizeof(words) / sizeof(words[0]))
		return "permerror";
	return words[r];
}

/* Skip white space, folding and (nested, bounded) comments; NULL on an unclosed comment. */
static const char *
skip_cfws(const char *p)
{
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '(')
			return p;
		int depth = 0;
		do {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(' && ++depth > MAX_COMMENT_DEPTH)
				return NULL;
			else if (*p == ')')
				depth--;
			p++;
		} while (depth > 0 && *p != '\0');
		if (depth > 0)
			return NULL;
	}
}

static bool
is_token_char(unsigned char c)
{
	return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

bool
authres_claims(const char *value, const char *authserv_id)
{
	char id[256];
	size_t n = 0;
	const char *p;

	if (value == NULL || authserv_id == NULL || authserv_id[0] == '\0')
		return false;
	if ((p = skip_cfws(value)) == NULL)
		return false;
	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\0')
				return false;
			if (*p == '\\' && p[1] != '\0')
				p++;
			if (*p == '\r' || *p == '\n')
				continue;
			if (n + 1 >= sizeof(id))
				return false;
			id[n++] = *p;
		}
	} else {
		/* '@' is not a token character, but some writers put a bare address-like id */
		for (; is_token_char((unsigned char)*p) || *p == '@'; p++) {
			if (n + 1 >= sizeof(id))
				return false;
			id[n++] = *p;
		}
	}
	id[n] = '\0';
	/* a trailing root dot names the same host */
	if (n > 1 && id[n - 1] == '.')
		id[--n] = '\0';
	size_t m = strlen(authserv_id);
	if (m > 1 && authserv_id[m - 1] == '.')
		m--;
	return n == m && strncasecmp(id, authserv_id, m) == 0;
}

/* Append a quoted-string of `s`, hostile bytes replaced, cut to fit. */
static void
put_quoted(char *out, size_t cap, size_t *len, const char *s, size_t max)
{
	size_t n = *len, used = 0;

	if (n + 3 > cap)
		return;
	out[n++] = '"';
	for (; *s != '\0' && used < max && n + 3 < cap; s++, used++) {
		unsigned char c = (unsigned char)*s;

		out[n++] = (c < 32 || c == 127 || c == '"' || c == '\\' || c >= 128) ? '?' : (char)c;
	}
	out[n++] = '"';
	out[n] = '\0';
	*len = n;
}

static void
put(char *out, size_t cap, size_t *len, const char *s)
{
	size_t k = strlen(s);

	if (*len + k + 1 > cap)
		return;
	memcpy(out + *len, s, k + 1);
	*len += k;
}

/* A mailbox or hex serial as a token when it is one, quoted otherwise. */
static void
put_value(char *out, size_t cap, size_t *len, const char *s)
{
	bool token = s[0] != '\0' && strlen(s) <= 254;

	for (const char *p = s; *p != '\0' && token; p++)
		token = is_token_char((unsigned char)*p) || *p == '@';
	if (token)
		put(out, cap, len, s);
	else
		put_quoted(out, cap, len, s, 254);
}

int
authres_format(char *out, size_t cap, const char *authserv_id, const struct authres_smime *r)
{
	size_t len = 0;

	if (cap < 64 || authserv_id == NULL || authserv_id[0] == '\0' ||
	    strlen(authserv_id) > 253)
		return -1;
	for (const char *p = authserv_id; *p != '\0'; p++)
		if (!is_token_char((unsigned char)*p))
			return -1;
	out[0] = '\0';
	put(out, cap, &len, authserv_id);
	put(out, cap, &len, ";\n\tsmime=");
	put(out, cap, &len, authres_result_word(r->result));
	if (r->reason != NULL && r->reason[0] != '\0') {
		put(out, cap, &len, " reason=");
		put_quoted(out, cap, &len, r->reason, 200);
	}
	if (r->identifier != NULL && r->identifier[0] != '\0') {
		put(out, cap, &len, "\n\tbody.smime-identifier=");
		put_value(out, cap, &len, r->identifier);
	}
	if (r->serial != NULL && r->serial[0] != '\0') {
		put(out, cap, &len, "\n\tbody.smime-serial=");
		put_value(out, cap, &len, r->serial);
	}
	if (r->issuer != NULL && r->issuer[0] != '\0') {
		put(out, cap, &len, "\n\tbody.smime-issuer=");
		put_quoted(out, cap, &len, r->issuer, 300);
	}
	return 0;
}
