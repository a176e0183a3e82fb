/*
 * sendermap: parse sender_map_file into a sorted array of (login, address) pairs and answer
 * "may this login use this address" by binary search. Owns the pairs and their strings.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "milter/process/sendermap.h"

struct pair {
	char *login;
	char *address;
};

/* Lifetime: per configuration snapshot; immutable once loaded. */
struct sendermap {
	struct pair *pairs;
	size_t count;
	size_t cap;
};

struct sendermap *
sendermap_empty(void)
{
	return calloc(1, sizeof(struct sendermap));
}

void
sendermap_free(struct sendermap *map)
{
	if (map == NULL)
		return;
	for (size_t i = 0; i < map->count; i++) {
		free(map->pairs[i].login);
		free(map->pairs[i].address);
	}
	free(map->pairs);
	free(map);
}

size_t
sendermap_count(const struct sendermap *map)
{
	return map == NULL ? 0 : map->count;
}

const char *
sendermap_login_at(const struct sendermap *map, size_t i)
{
	return map != NULL && i < map->count ? map->pairs[i].login : NULL;
}

static bool
valid_token_byte(unsigned char c)
{
	/* printable ASCII except space, or any UTF-8 byte; never controls or DEL */
	return (c > 0x20 && c < 0x7f) || c >= 0x80;
}

bool
sendermap_valid_address(const char *s)
{
	const char *at = NULL;
	size_t n = 0;

	if (s == NULL)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++, n++) {
		if (n >= SENDERMAP_MAX_ADDR || !valid_token_byte(*p))
			return false;
		if (*p == '@') {
			if (at != NULL)
				return false;
			at = (const char *)p;
		}
		if (*p == '<' || *p == '>' || *p == ',' || *p == ';')
			return false;
	}
	return at != NULL && at != s && at[1] != '\0';
}

static bool
valid_login(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++, n++)
		if (n >= SENDERMAP_MAX_LOGIN || !valid_token_byte(*p) || *p == ',')
			return false;
	return n > 0;
}

static int
add_pair(struct sendermap *map, const char *login, const char *address)
{
	struct pair *grown;
	size_t cap;

	if (map->count == map->cap) {
		cap = map->cap == 0 ? 16 : map->cap * 2;
		grown = realloc(map->pairs, cap * sizeof(*grown));
		if (grown == NULL)
			return -1;
		map->pairs = grown;
		map->cap = cap;
	}
	map->pairs[map->count].login = strdup(login);
	map->pairs[map->count].address = strdup(address);
	if (map->pairs[map->count].login == NULL || map->pairs[map->count].address == NULL) {
		free(map->pairs[map->count].login);
		free(map->pairs[map->count].address);
		return -1;
	}
	map->count++;
	return 0;
}

static int
pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcasecmp(x->login, y->login);

	return c != 0 ? c : strcasecmp(x->address, y->address);
}

/* Parse one line (NUL-terminated, no line end). Returns 0 or -1 with a reason. */
static int
parse_line(struct sendermap *map, char *line, const char **why)
{
	char *p = line, *login, *tok;
	size_t added = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	login = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	if (*p == '\0') {
		*why = "login without addresses";
		return -1;
	}
	*p++ = '\0';
	if (!valid_login(login)) {
		*why = "invalid login";
		return -1;
	}
	for (tok = strtok(p, ", \t"); tok != NULL; tok = strtok(NULL, ", \t")) {
		if (*tok == '#')
			break;
		if (!sendermap_valid_address(tok)) {
			*why = "invalid address";
			return -1;
		}
		if (map->count >= SENDERMAP_MAX_ENTRIES) {
			*why = "too many entries";
			return -1;
		}
		if (add_pair(map, login, tok) < 0) {
			*why = "out of memory";
			return -1;
		}
		added++;
	}
	if (added == 0) {
		*why = "login without addresses";
		return -1;
	}
	return 0;
}

/* After sorting: no login may collect more than SENDERMAP_MAX_PER_LOGIN addresses. */
static int
check_per_login(const struct sendermap *map, const char **login)
{
	size_t run = 0;

	for (size_t i = 0; i < map->count; i++) {
		run = (i > 0 && strcasecmp(map->pairs[i].login, map->pairs[i - 1].login) == 0) ?
		    run + 1 : 1;
		if (run > SENDERMAP_MAX_PER_LOGIN) {
			*login = map->pairs[i].login;
			return -1;
		}
	}
	return 0;
}

struct sendermap *
sendermap_load_stream(FILE *fp, const char *name, struct sendermap_error *err)
{
	struct sendermap *map = sendermap_empty(), *r = NULL;
	char line[SENDERMAP_MAX_LINE + 1];
	size_t len = 0, total = 0, lineno = 1;
	const char *why = NULL, *login;
	int c;

	if (map == NULL) {
		snprintf(err->text, sizeof(err->text), "%s: out of memory", name);
		return NULL;
	}
	for (;;) {
		c = getc(fp);
		if (c != EOF && ++total > SENDERMAP_MAX_FILE) {
			why = "file too large";
			goto out;
		}
		if (c == EOF || c == '\n') {
			if (len > 0 && line[len - 1] == '\r')
				len--;
			line[len] = '\0';
			if (parse_line(map, line, &why) < 0)
				goto out;
			if (c == EOF)
				break;
			len = 0;
			lineno++;
			continue;
		}
		if (c == '\0') {
			why = "NUL byte";
			goto out;
		}
		if (len >= SENDERMAP_MAX_LINE) {
			why = "line too long";
			goto out;
		}
		line[len++] = (char)c;
	}
	if (ferror(fp)) {
		why = strerror(errno);
		goto out;
	}
	if (map->count > 0)
		qsort(map->pairs, map->count, sizeof(map->pairs[0]), pair_cmp);
	if (check_per_login(map, &login) < 0) {
		snprintf(err->text, sizeof(err->text), "%s: too many addresses for one login", name);
		goto fail;
	}
	r = map;
	map = NULL; /* transferred */
out:
	if (r == NULL && why != NULL)
		snprintf(err->text, sizeof(err->text), "%s:%zu: %s", name, lineno, why);
fail:
	sendermap_free(map);
	return r;
}

struct sendermap *
sendermap_load(const char *path, struct sendermap_error *err)
{
	struct sendermap *map;
	FILE *fp = fopen(path, "re");

	if (fp == NULL) {
		snprintf(err->text, sizeof(err->text), "%s: %s", path, strerror(errno));
		return NULL;
	}
	map = sendermap_load_stream(fp, path, err);
	fclose(fp);
	return map;
}

bool
sendermap_allows(const struct sendermap *map, const char *login, const char *address)
{
	struct pair key = { (char *)login, (char *)address };

	if (map == NULL || map->count == 0 || login == NULL || address == NULL)
		return false;
	return bsearch(&key, map->pairs, map->count, sizeof(map->pairs[0]), pair_cmp) != NULL;
}
