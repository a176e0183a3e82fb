/*
 * conf_value: the value-level half of the configuration: options of the table by name, enum
 * words, list membership, numbers with units. conf.c (the file parser) and domain_profile.c
 * both stand on it, so neither calls the other back.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/conf.h"

const struct as_conf_option *
as_conf_find(const char *name)
{
	for (size_t i = 0; i < as_conf_option_count; i++)
		if (strcmp(as_conf_options[i].name, name) == 0)
			return &as_conf_options[i];
	return NULL;
}

const char *
as_conf_enum_word(const char *option_name, int value)
{
	const struct as_conf_option *opt = as_conf_find(option_name);

	if (opt == NULL || opt->type != AS_CONF_ENUM || value < 0)
		return "?";
	for (int i = 0; opt->words[i] != NULL; i++)
		if (i == value)
			return opt->words[i];
	return "?";
}

int
as_conf_enum_index(const char *option_name, const char *word)
{
	const struct as_conf_option *opt = as_conf_find(option_name);

	if (opt == NULL || opt->type != AS_CONF_ENUM)
		return -1;
	for (int i = 0; opt->words[i] != NULL; i++)
		if (strcasecmp(opt->words[i], word) == 0)
			return i;
	return -1;
}

bool
as_conf_list_has(const struct as_conf_list *list, const char *word)
{
	for (size_t i = 0; i < list->count; i++)
		if (strcasecmp(list->item[i], word) == 0)
			return true;
	return false;
}

/* Number with an optional unit suffix; `units` maps suffix letters to multipliers. */
struct unit {
	char suffix;
	long long factor;
};

static const struct unit duration_units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 },
	{ 'd', 86400 }, { 'w', 604800 }, { 0, 0 } };
static const struct unit size_units[] = { { 'k', 1024LL }, { 'm', 1024LL * 1024 },
	{ 'g', 1024LL * 1024 * 1024 }, { 0, 0 } };

static int
parse_number(const char *text, const struct unit *units, int base, long long *out,
    const char **why)
{
	char *end;
	long long v, factor = 1;

	if (*text == '\0' || isspace((unsigned char)*text)) {
		*why = "expects a number";
		return -1;
	}
	if (units != NULL && *text == '-') {
		*why = "must not be negative";
		return -1;
	}
	errno = 0;
	v = strtoll(text, &end, base);
	if (end == text) {
		*why = "expects a number";
		return -1;
	}
	if (errno == ERANGE) {
		*why = "is out of range";
		return -1;
	}
	if (*end != '\0') {
		const struct unit *u = units;

		for (; u != NULL && u->suffix != 0; u++)
			if (tolower((unsigned char)*end) == u->suffix && end[1] == '\0')
				break;
		if (u == NULL || u->suffix == 0) {
			*why = "has an unknown unit or trailing text";
			return -1;
		}
		factor = u->factor;
	}
	if (v > LLONG_MAX / factor) {
		*why = "is out of range";
		return -1;
	}
	*out = v * factor;
	return 0;
}

int
as_conf_parse_duration(const char *text, long long *out, const char **why)
{
	return parse_number(text, duration_units, 10, out, why);
}

int
as_conf_parse_number(const char *text, enum as_conf_type type, long long *out, const char **why)
{
	return parse_number(text, type == AS_CONF_DURATION ? duration_units :
	    type == AS_CONF_SIZE ? size_units : NULL, type == AS_CONF_INT ? 0 : 10, out, why);
}
