/*
 * message: allocation and bounded growth of the per-message context (envelope, headers, body
 * spool). Owns every string and the spool of a message.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "milter/process/decide.h"
#include "milter/process/message.h"

struct msg_ctx *
msg_new(void)
{
	struct msg_ctx *msg = calloc(1, sizeof(*msg));

	if (msg != NULL)
		strcpy(msg->qid, "NOQUEUE");
	return msg;
}

void
msg_free(struct msg_ctx *msg)
{
	if (msg == NULL)
		return;
	free(msg->login);
	free(msg->mail_from);
	for (size_t i = 0; i < msg->rcpt_count; i++)
		free(msg->rcpts[i]);
	free(msg->rcpts);
	for (size_t i = 0; i < msg->header_count; i++) {
		free(msg->headers[i].name);
		free(msg->headers[i].value);
	}
	free(msg->headers);
	spool_free(msg->body);
	free(msg);
}

int
msg_set_mail_from(struct msg_ctx *msg, const char *addr)
{
	size_t len;

	free(msg->mail_from);
	msg->mail_from = NULL;
	if (*addr == '<')
		addr++;
	len = strcspn(addr, ">");
	if (len >= MSG_MAX_ADDR)
		return 0;
	if ((msg->mail_from = strndup(addr, len)) == NULL)
		return -1;
	return 0;
}

void
msg_defer(struct msg_ctx *msg, enum msg_deferred what, const char *stage)
{
	if (msg->deferred != MSG_DEFER_NONE)
		return;
	msg->deferred = what;
	msg->deferred_stage = stage;
	spool_free(msg->body);
	msg->body = NULL;
}

int
msg_add_rcpt(struct msg_ctx *msg, const char *rcpt)
{
	size_t len;
	char **grown, *copy;

	if (msg->rcpt_count >= MSG_MAX_RCPTS) {
		msg->rcpts_overflow = true;
		return 0;
	}
	if (*rcpt == '<')
		rcpt++;
	len = strcspn(rcpt, ">");
	if (len == 0 || len >= MSG_MAX_ADDR) {
		/* the null or an absurd recipient can never be encrypted to */
		msg->rcpts_overflow = true;
		return 0;
	}
	grown = realloc(msg->rcpts, (msg->rcpt_count + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	msg->rcpts = grown;
	copy = strndup(rcpt, len);
	if (copy == NULL)
		return -1;
	msg->rcpts[msg->rcpt_count++] = copy;
	return 0;
}

int
msg_add_header(struct msg_ctx *msg, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value);
	struct smime_header *h;

	msg->size += nlen + vlen + 4;
	if (msg->headers_overflow)
		return 0;
	if (msg->header_count >= SMIME_MAX_HEADERS || nlen + vlen + 2 > SMIME_MAX_HEADER_LEN ||
	    msg->header_bytes + nlen + vlen > (size_t)SMIME_MAX_HEADERS * 1024) {
		msg->headers_overflow = true;
		return 0;
	}
	if (msg->header_count == msg->header_cap) {
		size_t cap = msg->header_cap == 0 ? 32 : msg->header_cap * 2;

		h = realloc(msg->headers, cap * sizeof(*h));
		if (h == NULL)
			return -1;
		msg->headers = h;
		msg->header_cap = cap;
	}
	h = &msg->headers[msg->header_count];
	h->name = strdup(name);
	h->value = strdup(value);
	if (h->name == NULL || h->value == NULL) {
		free(h->name);
		free(h->value);
		return -1;
	}
	msg->header_count++;
	msg->header_bytes += nlen + vlen;
	return 0;
}

const char *
msg_header(const struct msg_ctx *msg, const char *name, size_t n)
{
	for (size_t i = 0; i < msg->header_count; i++)
		if (strcasecmp(msg->headers[i].name, name) == 0 && --n == 0)
			return msg->headers[i].value;
	return NULL;
}

size_t
msg_header_count(const struct msg_ctx *msg, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < msg->header_count; i++)
		if (strcasecmp(msg->headers[i].name, name) == 0)
			n++;
	return n;
}

int
msg_from_mailbox(const struct msg_ctx *msg, char *out, size_t cap)
{
	const char *from;

	if (msg_header_count(msg, "From") != 1)
		return -1;
	from = msg_header(msg, "From", 1);
	return decide_from_mailbox(from, out, cap);
}
