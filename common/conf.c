/*
 * conf: parse `key value` configuration files against the table in conf_table.c.
 *
 * Owns every struct as_conf it returns. The file is hostile input: lines, lists and numbers are
 * bounded, and the first bad line stops the parse with file:line so nothing half-read is used.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/conf.h"
#include "common/domain_profile.h"
#include "common/org_id.h"

static void set_error(struct as_conf_error *err, const char *file, unsigned line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
set_error(struct as_conf_error *err, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL)
		return;
	if (line > 0)
		n = snprintf(err->text, sizeof(err->text), "%s:%u: ", file, line);
	else
		n = snprintf(err->text, sizeof(err->text), "%s: ", file);
	if (n < 0 || (size_t)n >= sizeof(err->text))
		return;
	va_start(ap, fmt);
	vsnprintf(err->text + n, sizeof(err->text) - (size_t)n, fmt, ap);
	va_end(ap);
}

static void
list_clear(struct as_conf_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->item[i]);
	free(list->item);
	list->item = NULL;
	list->count = 0;
}

static int
parse_bool(const char *text, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };

	for (int i = 0; yes[i] != NULL; i++)
		if (strcasecmp(text, yes[i]) == 0) {
			*out = true;
			return 0;
		}
	for (int i = 0; no[i] != NULL; i++)
		if (strcasecmp(text, no[i]) == 0) {
			*out = false;
			return 0;
		}
	return -1;
}

static int
parse_list(const char *text, struct as_conf_list *out, const char **why)
{
	struct as_conf_list list = { NULL, 0 };
	const char *p = text;

	while (*p != '\0') {
		size_t n;
		char **grown;

		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		n = strcspn(p, ", \t");
		if (memchr(p, '"', n) != NULL) {
			*why = "has an item with a quote in it";
			goto fail;
		}
		if (list.count >= AS_CONF_MAX_LIST) {
			*why = "has too many items";
			goto fail;
		}
		grown = realloc(list.item, (list.count + 1) * sizeof(*grown));
		if (grown == NULL)
			goto nomem;
		list.item = grown;
		list.item[list.count] = strndup(p, n);
		if (list.item[list.count] == NULL)
			goto nomem;
		list.count++;
		p += n;
	}
	list_clear(out);
	*out = list; /* transferred */
	return 0;
nomem:
	*why = "cannot be stored: out of memory";
fail:
	list_clear(&list);
	return -1;
}

/* With a word list, every item of a LIST option must be one of the words. */
static int
list_words_ok(const struct as_conf_list *list, const char *const *words, const char **why)
{
	for (size_t i = 0; words != NULL && i < list->count; i++) {
		int j = 0;

		while (words[j] != NULL && strcasecmp(list->item[i], words[j]) != 0)
			j++;
		if (words[j] == NULL) {
			*why = "has an item that is not one of the allowed words";
			return -1;
		}
	}
	return 0;
}

/* Apply one value to its field. Returns 0, or -1 with *why set. */
static int
apply_value(struct as_conf *conf, const struct as_conf_option *opt, const char *value,
    const char **why)
{
	void *field = (char *)conf + opt->offset;
	long long num;

	switch (opt->type) {
	case AS_CONF_BOOL:
		if (parse_bool(value, field) < 0) {
			*why = "expects yes or no";
			return -1;
		}
		return 0;
	case AS_CONF_INT:
	case AS_CONF_DURATION:
	case AS_CONF_SIZE:
		if (as_conf_parse_number(value, opt->type, &num, why) < 0)
			return -1;
		if (num < opt->min || num > opt->max) {
			*why = "is out of range";
			return -1;
		}
		*(long long *)field = num;
		return 0;
	case AS_CONF_ENUM:
		for (int i = 0; opt->words[i] != NULL; i++)
			if (strcasecmp(value, opt->words[i]) == 0) {
				*(int *)field = i;
				return 0;
			}
		*why = "is not one of the allowed words";
		return -1;
	case AS_CONF_PATH:
	case AS_CONF_STRING: {
		char *copy;

		if (opt->type == AS_CONF_PATH && *value != '\0' && *value != '/') {
			*why = "must be an absolute path";
			return -1;
		}
		copy = strdup(value);
		if (copy == NULL) {
			*why = "cannot be stored: out of memory";
			return -1;
		}
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	}
	case AS_CONF_LIST:
		if (parse_list(value, field, why) < 0)
			return -1;
		return list_words_ok(field, opt->words, why);
	}
	*why = "has an unknown type";
	return -1;
}

void
as_conf_free(struct as_conf *conf)
{
	if (conf == NULL)
		return;
	for (size_t i = 0; i < as_conf_option_count; i++) {
		const struct as_conf_option *opt = &as_conf_options[i];
		void *field = (char *)conf + opt->offset;

		if (opt->type == AS_CONF_STRING || opt->type == AS_CONF_PATH)
			free(*(char **)field);
		else if (opt->type == AS_CONF_LIST)
			list_clear(field);
	}
	free(conf);
}

struct as_conf *
as_conf_defaults(void)
{
	struct as_conf *conf = calloc(1, sizeof(*conf));

	if (conf == NULL)
		return NULL;
	for (size_t i = 0; i < as_conf_option_count; i++) {
		const char *why = NULL;

		/* A default that does not parse is a bug in the table; a unit test catches it. */
		if (apply_value(conf, &as_conf_options[i], as_conf_options[i].default_value, &why) < 0) {
			as_conf_free(conf);
			return NULL;
		}
	}
	return conf;
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* A value may be wrapped in double quotes to keep spaces or to say "empty". */
static int
unquote(char *value, const char **why)
{
	size_t n = strlen(value);

	if (n == 0 || value[0] != '"')
		return 0;
	if (n < 2 || value[n - 1] != '"') {
		*why = "has an unterminated quote";
		return -1;
	}
	memmove(value, value + 1, n - 2);
	value[n - 2] = '\0';
	return 0;
}

/* Read one line into buf (without its newline). Returns 1, 0 at end of file, or -1 with *why. */
static int
read_line(FILE *fp, char *buf, size_t cap, const char **why)
{
	size_t len = 0;
	int c;

	while ((c = getc(fp)) != EOF && c != '\n') {
		if (c == '\0') {
			*why = "line contains a NUL byte";
			return -1;
		}
		if (len + 1 >= cap) {
			*why = "line is too long";
			return -1;
		}
		buf[len++] = (char)c;
	}
	if (ferror(fp)) {
		*why = "read error";
		return -1;
	}
	buf[len] = '\0';
	return (c == EOF && len == 0) ? 0 : 1;
}

struct as_conf *
as_conf_load_stream(FILE *fp, const char *name, struct as_conf_error *err)
{
	struct as_conf *conf = as_conf_defaults();
	unsigned *first_line = calloc(as_conf_option_count, sizeof(*first_line));
	char buf[AS_CONF_MAX_LINE + 1];
	unsigned lineno = 0;

	if (conf == NULL || first_line == NULL) {
		set_error(err, name, 0, "out of memory");
		goto fail;
	}
	for (;;) {
		const struct as_conf_option *opt;
		const char *why = NULL;
		char *line, *key, *value;
		int r;

		lineno++;
		r = read_line(fp, buf, sizeof(buf), &why);
		if (r == 0)
			break;
		if (r < 0) {
			set_error(err, name, lineno, "%s", why);
			goto fail;
		}
		line = trim(buf);
		if (*line == '\0' || *line == '#')
			continue;
		key = line;
		value = key + strcspn(key, " \t=");
		if (*value != '\0') {
			*value++ = '\0';
			while (isspace((unsigned char)*value) || *value == '=')
				value++;
		}
		opt = as_conf_find(key);
		if (opt == NULL) {
			set_error(err, name, lineno, "unknown option \"%.64s\"", key);
			goto fail;
		}
		if (first_line[opt - as_conf_options] != 0) {
			set_error(err, name, lineno, "duplicate option \"%s\" (first set on line %u)",
			    key, first_line[opt - as_conf_options]);
			goto fail;
		}
		first_line[opt - as_conf_options] = lineno;
		if (*value == '\0') {
			set_error(err, name, lineno, "option \"%s\" has no value (write \"\" for empty)",
			    key);
			goto fail;
		}
		if (unquote(value, &why) < 0 || apply_value(conf, opt, value, &why) < 0) {
			set_error(err, name, lineno, "option \"%s\" value \"%.64s\" %s", key, value, why);
			goto fail;
		}
	}
	free(first_line);
	if (as_conf_check(conf, name, err) < 0) {
		as_conf_free(conf);
		return NULL;
	}
	return conf;
fail:
	free(first_line);
	as_conf_free(conf);
	return NULL;
}

struct as_conf *
as_conf_load(const char *path, struct as_conf_error *err)
{
	struct as_conf *conf;
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		set_error(err, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	conf = as_conf_load_stream(fp, path, err);
	fclose(fp);
	return conf;
}

/* An address is local-part@domain with both parts present and no white space. */
static bool
looks_like_address(const char *s)
{
	const char *at = strrchr(s, '@');

	if (at == NULL || at == s || at[1] == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s))
			return false;
	return true;
}

int
as_conf_check(const struct as_conf *conf, const char *name, struct as_conf_error *err)
{
	char why[200];

	if (conf->enrol_address[0] != '\0' && !looks_like_address(conf->enrol_address)) {
		set_error(err, name, 0, "enrol_address \"%.64s\" is not a mail address",
		    conf->enrol_address);
		return -1;
	}
	if (strncmp(conf->socket, "unix:", 5) != 0 && strncmp(conf->socket, "local:", 6) != 0 &&
	    strncmp(conf->socket, "inet:", 5) != 0 && strncmp(conf->socket, "inet6:", 6) != 0) {
		set_error(err, name, 0, "socket \"%.64s\" must start with unix:, inet: or inet6:",
		    conf->socket);
		return -1;
	}
	if (conf->ca_base_url[0] != '\0' && strncmp(conf->ca_base_url, "http://", 7) != 0) {
		set_error(err, name, 0, "ca_base_url must be an http:// URL (S/MIME BR 7.1.2.3)");
		return -1;
	}
	/* OCSP: the same rule as ca_base_url; AIA URIs must be HTTP */
	if (conf->ocsp_url[0] != '\0' && (strncmp(conf->ocsp_url, "http://", 7) != 0 ||
	    strpbrk(conf->ocsp_url, " \t,\"'\\<>") != NULL)) {
		set_error(err, name, 0, "ocsp_url must be an http:// URL without spaces or commas "
		    "(RFC 5019, S/MIME BR 7.1.2.3)");
		return -1;
	}
	if (conf->organization_country[0] != '\0' &&
	    !as_country_code_ok(conf->organization_country)) {
		set_error(err, name, 0, "organization_country \"%.8s\" is not an ISO 3166-1 code "
		    "(two capital letters)", conf->organization_country);
		return -1;
	}
	if (conf->organization_identifier[0] != '\0' &&
	    as_org_id_check(conf->organization_identifier, strlen(conf->organization_identifier),
	    conf->organization_country, why, sizeof(why), NULL, 0) < 0) {
		set_error(err, name, 0, "organization_identifier \"%.64s\": %s",
		    conf->organization_identifier, why);
		return -1;
	}
	/* multi-perspective DNS (issue 16); each address is checked when the resolvers are made */
	if (conf->dns_perspectives.count > 8 || (conf->dns_perspectives.count > 0 &&
	    (unsigned long long)conf->dns_perspective_quorum > conf->dns_perspectives.count)) {
		set_error(err, name, 0, "dns_perspectives: at most 8, and dns_perspective_quorum "
		    "(%lld) at most their number (%zu)", conf->dns_perspective_quorum,
		    conf->dns_perspectives.count);
		return -1;
	}
	if (conf->memory_spool_limit > conf->message_size_limit) {
		set_error(err, name, 0, "memory_spool_limit is larger than message_size_limit");
		return -1;
	}
	for (size_t i = 0; i < conf->domain_profiles.count; i++) {
		struct as_domain_profile defaults, dp;

		as_domain_profile_defaults(conf, &defaults);
		if (as_domain_profile_parse(conf->domain_profiles.item[i], &defaults, &dp, why,
		        sizeof(why)) < 0) {
			set_error(err, name, 0, "domain_profiles item \"%.64s\": %s",
			    conf->domain_profiles.item[i], why);
			return -1;
		}
		/* a certificate that is due for renewal the day it is issued renews on every mail */
		if (conf->renew_before >= dp.validity) {
			set_error(err, name, 0, "renew_before is not shorter than the validity of "
			    "domain_profiles item \"%.64s\"", conf->domain_profiles.item[i]);
			return -1;
		}
	}
	if (conf->renew_before >= conf->cert_validity) {
		set_error(err, name, 0, "renew_before is not shorter than cert_validity");
		return -1;
	}
	if (conf->sender_capabilities.count == 0) {
		set_error(err, name, 0, "sender_capabilities is empty");
		return -1;
	}
	if (conf->challenge_limit_hour > conf->challenge_limit_day) {
		set_error(err, name, 0, "challenge_limit_hour is larger than challenge_limit_day");
		return -1;
	}
	return 0;
}

/* Print a value so that the parser reads it back unchanged. */
static void
dump_string(FILE *out, const char *s)
{
	bool quote = *s == '\0' || s[0] == '"' || s[0] == '=';

	for (const char *p = s; *p != '\0' && !quote; p++)
		quote = isspace((unsigned char)*p);
	if (quote)
		fprintf(out, "\"%s\"", s);
	else
		fputs(s, out);
}

void
as_conf_dump(const struct as_conf *conf, FILE *out)
{
	for (size_t i = 0; i < as_conf_option_count; i++) {
		const struct as_conf_option *opt = &as_conf_options[i];
		const void *field = (const char *)conf + opt->offset;

		fprintf(out, "%s ", opt->name);
		switch (opt->type) {
		case AS_CONF_BOOL:
			fputs(*(const bool *)field ? "yes" : "no", out);
			break;
		case AS_CONF_INT:
			if (strcmp(opt->name, "socket_mode") == 0)
				fprintf(out, "0%llo", *(const long long *)field);
			else
				fprintf(out, "%lld", *(const long long *)field);
			break;
		case AS_CONF_DURATION:
			fprintf(out, "%llds", *(const long long *)field);
			break;
		case AS_CONF_SIZE:
			fprintf(out, "%lld", *(const long long *)field);
			break;
		case AS_CONF_ENUM:
			fputs(opt->words[*(const int *)field], out);
			break;
		case AS_CONF_STRING:
		case AS_CONF_PATH:
			dump_string(out, *(char *const *)field);
			break;
		case AS_CONF_LIST: {
			const struct as_conf_list *list = field;

			/* a leading '=' would be read as the key's separator (found by fuzz_conf) */
			bool quote = list->count == 0 || list->item[0][0] == '=';

			if (quote)
				fputc('"', out);
			for (size_t j = 0; j < list->count; j++)
				fprintf(out, "%s%s", j ? " " : "", list->item[j]);
			if (quote)
				fputc('"', out);
			break;
		}
		}
		fputc('\n', out);
	}
}
