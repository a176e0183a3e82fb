/*
 * decide: the outbound/signing decision and the From: mailbox parser behind it. Owns nothing;
 * every function reads its arguments only.
 */
#include "config.h"

#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "milter/process/decide.h"
#include "milter/engine/smime.h"

#define MAX_COMMENT_DEPTH 16

const char *
decide_reason(enum decide_verdict v)
{
	switch (v) {
	case DECIDE_NOT_OUTBOUND:
		return "not-outbound";
	case DECIDE_NO_FROM:
		return "no-from";
	case DECIDE_FOREIGN_FROM:
		return "foreign-from";
	case DECIDE_UNAUTHORISED_FROM:
		return "unauthorised-from";
	case DECIDE_UNATTRIBUTED:
		return "unattributed";
	case DECIDE_ALREADY_SMIME:
		return "already-smime";
	case DECIDE_SIGN:
		return "sign";
	}
	return "unknown";
}

bool
decide_is_local(const char *address, const struct as_conf_list *local_domains)
{
	const char *at = address != NULL ? strrchr(address, '@') : NULL;

	return at != NULL && at[1] != '\0' && as_conf_list_has(local_domains, at + 1);
}

bool
decide_login_may_use(const char *login, const char *address,
    const struct as_conf_list *local_domains, const struct sendermap *map)
{
	if (login == NULL || *login == '\0' || address == NULL)
		return false;
	if (strchr(login, '@') != NULL) {
		if (strcasecmp(login, address) == 0)
			return true;
	} else if (local_domains->count > 0) {
		const char *at = strrchr(address, '@');
		size_t llen = strlen(login);

		if (at != NULL && (size_t)(at - address) == llen &&
		    strncasecmp(address, login, llen) == 0 &&
		    strcasecmp(at + 1, local_domains->item[0]) == 0)
			return true;
	}
	return sendermap_allows(map, login, address);
}

bool
decide_local_submission(const struct sockaddr *client)
{
	if (client == NULL)
		return false;
	if (client->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)client)->sin_port == 0;
	if (client->sa_family == AF_INET6)
		return ((const struct sockaddr_in6 *)(const void *)client)->sin6_port == 0;
	return false;
}

bool
decide_unauthenticated_attributed(const struct decide_input *in, const struct decide_rules *rules)
{
	if (in->from == NULL || *in->from == '\0')
		return false;
	if (in->local_submission)
		return rules->local_attribution == AS_LOCAL_ENVELOPE && in->envelope != NULL &&
		    strcasecmp(in->envelope, in->from) == 0;
	return in->internal && netsendermap_allows(rules->netmap, in->client, in->from);
}

enum decide_verdict
decide(const struct decide_input *in, const struct decide_rules *rules)
{
	bool authenticated = in->login != NULL && *in->login != '\0';

	if (!authenticated && !in->internal && !in->local_submission)
		return DECIDE_NOT_OUTBOUND;
	if (in->from == NULL || *in->from == '\0')
		return DECIDE_NO_FROM;
	if (!decide_is_local(in->from, rules->local_domains))
		return DECIDE_FOREIGN_FROM;
	/* an authenticated session is held to its login even from an internal host */
	if (authenticated) {
		if (!decide_login_may_use(in->login, in->from, rules->local_domains, rules->map))
			return DECIDE_UNAUTHORISED_FROM;
	} else if (!decide_unauthenticated_attributed(in, rules))
		return DECIDE_UNATTRIBUTED;
	if (in->already_smime)
		return DECIDE_ALREADY_SMIME;
	return DECIDE_SIGN;
}

/*
 * First pass over a From: value: drop comments and folding, keep quoted strings, and find the
 * one angle-addr if any. Writes the cleaned text to buf. Returns -1 on anything that is not a
 * single mailbox.
 */
static int
clean_value(const char *value, char *buf, size_t cap, int *angle_start, int *angle_end)
{
	size_t o = 0;
	int depth = 0, angles = 0;
	bool quoted = false;

	*angle_start = *angle_end = -1;
	for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
		unsigned char c = *p;

		if (c == '\r' || c == '\n')
			c = ' ';
		if (depth > 0) {
			if (c == '\\' && p[1] != '\0')
				p++;
			else if (c == '(' && ++depth > MAX_COMMENT_DEPTH)
				return -1;
			else if (c == ')')
				depth--;
			continue;
		}
		if (quoted) {
			if (c == '\\' && p[1] != '\0') {
				if (o + 2 >= cap)
					return -1;
				buf[o++] = (char)c;
				c = *++p;
			} else if (c == '"')
				quoted = false;
		} else if (c == '"')
			quoted = true;
		else if (c == '(') {
			depth = 1;
			c = ' ';
		} else if (c == '<') {
			if (angles++ > 0)
				return -1;
			*angle_start = (int)o + 1;
		} else if (c == '>') {
			if (*angle_start < 0 || *angle_end >= 0)
				return -1;
			*angle_end = (int)o;
		} else if (c == ',' || c == ':' || c == ';')
			return -1; /* several mailboxes, a group, or a source route */
		if (c < 0x20 && c != '\t')
			return -1;
		if (o + 1 >= cap)
			return -1;
		buf[o++] = (char)c;
	}
	if (quoted || depth > 0 || (*angle_start >= 0) != (*angle_end >= 0))
		return -1;
	buf[o] = '\0';
	return 0;
}

/* addr-spec check: dot-atom or quoted local part, '@', a dot-atom domain (no literals). */
static int
check_addr_spec(char *addr)
{
	char *at = strrchr(addr, '@'), *d;

	if (at == NULL || at == addr || at[1] == '\0')
		return -1;
	if (addr[0] == '"') {
		if (at - addr < 2 || at[-1] != '"')
			return -1;
	} else {
		for (char *p = addr; p < at; p++)
			if (isspace((unsigned char)*p) || *p == '"' || *p == '@' || *p == '\\' ||
			    *p == '[' || *p == ']' || *p == '<' || *p == '>')
				return -1;
		if (addr[0] == '.' || at[-1] == '.')
			return -1;
	}
	for (d = at + 1; *d != '\0'; d++) {
		unsigned char c = (unsigned char)*d;

		if (!(isalnum(c) || c == '-' || c == '.' || c >= 0x80))
			return -1;
		*d = (char)tolower(c);
	}
	if (at[1] == '.' || d[-1] == '.' || strstr(at + 1, "..") != NULL)
		return -1;
	return 0;
}

int
decide_from_mailbox(const char *value, char *out, size_t cap)
{
	/* as long as the header may be: a long display name still leaves a mailbox to sign for */
	char *buf;
	size_t vlen;
	int a0, a1, r = -1;
	char *s, *e;

	if (value == NULL || cap == 0 || (vlen = strlen(value)) > SMIME_MAX_HEADER_LEN ||
	    (buf = malloc(vlen + 2)) == NULL)
		return -1;
	if (clean_value(value, buf, vlen + 2, &a0, &a1) < 0)
		goto out;
	if (a0 >= 0) {
		s = buf + a0;
		e = buf + a1;
	} else {
		s = buf;
		e = buf + strlen(buf);
	}
	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*e = '\0';
	/* without angle brackets, a phrase (white space outside quotes) means no mailbox */
	if (a0 < 0) {
		bool q = false;

		for (char *p = s; *p != '\0'; p++) {
			if (*p == '"')
				q = !q;
			else if (!q && isspace((unsigned char)*p))
				goto out;
		}
	}
	if ((size_t)(e - s) >= cap || (size_t)(e - s) >= DECIDE_MAX_ADDR || check_addr_spec(s) < 0)
		goto out;
	memcpy(out, s, (size_t)(e - s) + 1);
	r = 0;
out:
	free(buf);
	return r;
}
