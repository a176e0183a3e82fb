/*
 * enrol_ctx: the enrolment context and the facts both enrolment halves ask of it: settings
 * from the config, opening the databases, template and sponsor table, mailbox normalisation,
 * who may enrol, audit records, reusable validations, a mailbox's newest certificate, and the
 * names of events and statuses. Owns struct enrol_ctx and what it loaded. enrol.c (the mail
 * flows) and enrol_admin.c (renewal, status, CLI commands) stand on it; it calls neither.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "policy/challenge_mail.h"
#include "policy/enrol_int.h"

const char *
enrol_event_name(enum enrol_event e)
{
	switch (e) {
	case ENROL_EV_NOT_ELIGIBLE: return "not-eligible";
	case ENROL_EV_CHALLENGE_SENT: return "challenge-sent";
	case ENROL_EV_CHALLENGE_OPEN: return "challenge-open";
	case ENROL_EV_RATE_LIMITED: return "rate-limited";
	case ENROL_EV_ISSUED: return "issued";
	case ENROL_EV_BLOCKED: return "blocked";
	case ENROL_EV_ERROR: return "error";
	}
	return "?";
}

const char *
enrol_reply_status_name(enum enrol_reply_status s)
{
	switch (s) {
	case ENROL_REPLY_ISSUED: return "issued";
	case ENROL_REPLY_REFUSED: return "refused";
	case ENROL_REPLY_BLOCKED: return "blocked";
	case ENROL_REPLY_TEMPFAIL: return "tempfail";
	}
	return "?";
}

void
enrol_params_from_conf(struct enrol_params *p, const struct as_conf *c)
{
	memset(p, 0, sizeof(*p));
	p->enrol_address = c->enrol_address;
	p->local_domains = &c->local_domains;
	p->enrol_domains = &c->enrol_domains;
	p->enrol_exclude = &c->enrol_exclude;
	p->unenrolled_action = c->unenrolled_action;
	p->challenge_lifetime = c->challenge_lifetime;
	p->limits.mailbox_hour = c->challenge_limit_hour;
	p->limits.mailbox_day = c->challenge_limit_day;
	p->limits.global_hour = c->challenge_limit_global_hour;
	p->limits.client_hour = c->challenge_limit_client_hour;
	p->challenge_subject_prefix = c->challenge_subject_prefix;
	p->challenge_template_file = c->challenge_template_file;
	p->validation_reuse = c->validation_reuse;
	p->renew_before = c->renew_before;
	p->sendmail_command = c->sendmail_command;
	p->profile = c->profile;
	p->generation = c->generation;
	p->key_type = c->key_type;
	p->cert_validity = c->cert_validity;
	p->domain_profiles = &c->domain_profiles;
	p->sponsor_map_file = c->sponsor_map_file;
	p->dns_resolver = c->dns_resolver;
	p->dns_trust_anchor_file = c->dns_trust_anchor_file;
	p->ca_domain = c->ca_domain;
	p->caa_check = c->caa_check;
	p->spf_check = c->spf_check;
	p->allow_internal_unauthenticated = c->allow_internal_unauthenticated;
	p->dns_perspectives = &c->dns_perspectives;
	p->dns_perspective_quorum = c->dns_perspective_quorum;
}

const char *
enrol_actor(const struct enrol_ctx *ctx)
{
	return ctx->p.actor != NULL && ctx->p.actor[0] != '\0' ? ctx->p.actor : "enrol";
}

int
enrol_open(const struct enrol_params *p, struct enrol_ctx **out, char *err, size_t errcap)
{
	struct enrol_ctx *ctx = NULL;
	struct as_sponsor_error serr;
	int r = -1;

	*out = NULL;
	if (p == NULL || p->ca == NULL || p->store == NULL || p->enrol_address == NULL ||
	    strchr(p->enrol_address, '@') == NULL || p->sendmail_command == NULL ||
	    p->local_domains == NULL) {
		snprintf(err, errcap, "enrolment needs the CA, its store, enrol_address, "
		    "local_domains and sendmail_command");
		return -1;
	}
	if (p->challenge_lifetime <= 0 || p->challenge_lifetime > 86400) {
		snprintf(err, errcap, "challenge_lifetime must be within 24 hours (S/MIME BR)");
		return -1;
	}
	if (p->caa_check && (p->ca_domain == NULL || p->ca_domain[0] == '\0')) {
		snprintf(err, errcap, "caa_check needs ca_domain");
		return -1;
	}
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	ctx->p = *p;
	if (as_perspectives_from(p->dns_perspectives, p->dns_perspective_quorum, p->dns_resolver,
	    &ctx->perspectives, err, errcap) < 0)
		goto out;
	if (as_estore_open(p->store, &ctx->es, err, errcap) < 0)
		goto out;
	if (p->challenge_template_file != NULL && p->challenge_template_file[0] != '\0' &&
	    as_mail_template_load(p->challenge_template_file, &ctx->template_text, err,
	    errcap) < 0)
		goto out;
	if (p->sponsor_map_file != NULL && p->sponsor_map_file[0] != '\0' &&
	    as_sponsor_load(p->sponsor_map_file, &ctx->sponsors, &serr) < 0) {
		snprintf(err, errcap, "%s", serr.text);
		goto out;
	}
	*out = ctx; /* transferred */
	ctx = NULL;
	r = 0;
out:
	enrol_close(ctx);
	return r;
}

void
enrol_close(struct enrol_ctx *ctx)
{
	if (ctx == NULL)
		return;
	as_estore_close(ctx->es);
	free(ctx->template_text);
	as_sponsor_free(ctx->sponsors);
	free(ctx);
}

int
enrol_mailbox_norm(const char *in, char *out, size_t cap)
{
	struct ca_error cerr;
	const char *at;
	size_t n, i;

	if (in == NULL || (n = strlen(in)) == 0 || n > AS_ES_MAILBOX_MAX || n >= cap ||
	    (at = strrchr(in, '@')) == NULL || at == in || at[1] == '\0')
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)in[i] <= 0x20 || in[i] == 0x7f)
			return -1;
	memcpy(out, in, n + 1);
	/*
	 * The domain is case-insensitive everywhere; the local part as Postfix delivers it by
	 * default (local(8) and table lookups fold case), so HENRY@, Henry@ and henry@ are one
	 * mailbox for challenges, limits and validations. Non-ASCII bytes are left alone.
	 */
	for (i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x80)
			out[i] = (char)tolower((unsigned char)out[i]);
	return ca_mailbox_check(out, &cerr) == CA_OK ? 0 : -1;
}

int
enrol_client_net(const char *client, char *out, size_t cap)
{
	unsigned char a6[16];
	struct in_addr a4;
	char text[INET6_ADDRSTRLEN];
	const char *c = client != NULL ? client : "";
	int n;

	if (c[0] == '[' && strlen(c) < sizeof(text) + 2 && c[strlen(c) - 1] == ']') {
		snprintf(text, sizeof(text), "%.*s", (int)strlen(c) - 2, c + 1);
		c = text;
	}
	if (strncasecmp(c, "IPv6:", 5) == 0)
		c += 5;
	if (inet_pton(AF_INET, c, &a4) == 1)
		n = snprintf(out, cap, "%s", inet_ntop(AF_INET, &a4, text, sizeof(text)));
	else if (inet_pton(AF_INET6, c, a6) == 1) {
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (memcmp(a6, mapped, sizeof(mapped)) == 0)
			n = snprintf(out, cap, "%s", inet_ntop(AF_INET, a6 + 12, text, sizeof(text)));
		else {
			/* one site's /64 is one host as far as the budget goes (privacy addresses) */
			memset(a6 + 8, 0, 8);
			n = snprintf(out, cap, "%s/64", inet_ntop(AF_INET6, a6, text, sizeof(text)));
		}
	} else
		n = snprintf(out, cap, "local");
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* Does the list hold the mailbox, its domain or "@domain"? */
static bool
list_has_mailbox(const struct as_conf_list *l, const char *mailbox)
{
	const char *dom = strrchr(mailbox, '@');

	if (l == NULL || dom == NULL)
		return false;
	return as_conf_list_has(l, mailbox) || as_conf_list_has(l, dom) ||
	    as_conf_list_has(l, dom + 1);
}

bool
enrol_eligible(const struct enrol_ctx *ctx, const char *mailbox)
{
	const char *dom = strrchr(mailbox, '@');

	if (dom == NULL || !as_conf_list_has(ctx->p.local_domains, dom + 1))
		return false;
	if (strcasecmp(mailbox, ctx->p.enrol_address) == 0)
		return false;
	if (ctx->p.enrol_domains != NULL && ctx->p.enrol_domains->count > 0 &&
	    !as_conf_list_has(ctx->p.enrol_domains, dom + 1))
		return false;
	return !list_has_mailbox(ctx->p.enrol_exclude, mailbox);
}

void
enrol_audit(struct enrol_ctx *ctx, const char *event, const char *actor, const char *fmt, ...)
{
	char fields[4096];
	struct ca_error err;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fields, sizeof(fields), fmt, ap);
	va_end(ap);
	as_log(AS_LEVEL_INFO, NULL, "event=%s %s", event, fields);
	if (ca_audit(ctx->p.ca, event, actor, fields, &err) != CA_OK)
		as_log(AS_LEVEL_ERR, NULL, "event=audit-failed what=%s", event);
}

bool
enrol_validation_reusable(struct enrol_ctx *ctx, const char *mailbox, time_t now,
    long long *age_out)
{
	struct as_validation val;
	char mb[AS_ES_MAILBOX_MAX + 1];
	long long age;

	if (ctx == NULL || enrol_mailbox_norm(mailbox, mb, sizeof(mb)) < 0 ||
	    as_estore_validation_get(ctx->es, mb, &val) != AS_ES_OK)
		return false;
	age = (long long)now - (long long)val.time;
	if (age_out != NULL)
		*age_out = age;
	return age >= 0 && age < ctx->p.validation_reuse;
}

struct newest {
	char serial[41];
	time_t not_after;
	bool found;
};

static int
newest_cb(const struct ca_cert_info *info, void *arg)
{
	struct newest *n = arg;

	if (info->status == CA_STATUS_VALID && (!n->found || info->not_after > n->not_after)) {
		snprintf(n->serial, sizeof(n->serial), "%s", info->serial_hex);
		n->not_after = info->not_after;
		n->found = true;
	}
	return 0;
}

int
enrol_newest_cert(struct enrol_ctx *ctx, const char *mailbox, char serial[41],
    time_t *not_after)
{
	struct ca_cert_filter f = { .mailbox = mailbox, .status = CA_STATUS_VALID };
	struct newest n;
	struct ca_error err;
	int k;

	memset(&n, 0, sizeof(n));
	k = ca_cert_foreach(ctx->p.ca, &f, newest_cb, &n, &err);
	if (k != CA_OK && k != CA_NOTFOUND)
		return -1;
	if (!n.found)
		return 1;
	if (serial != NULL)
		memcpy(serial, n.serial, 41);
	if (not_after != NULL)
		*not_after = n.not_after;
	return 0;
}
