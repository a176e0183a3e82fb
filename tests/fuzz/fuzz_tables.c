/*
 * fuzz_tables: the tables an admin edits, the sender map (login -> addresses) and the sponsor
 * table (mailbox -> given name | surname), from arbitrary bytes. The first byte picks the
 * table. Invariants: a table either loads whole or not at all; in a loaded sender map every
 * address listed on a line is allowed for that line's login; in a loaded sponsor table every
 * entry is found again by its mailbox, with names within their bounds.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter/process/sendermap.h"
#include "policy/sponsor.h"
#include "tests/fuzz/fuzz.h"

#define die(what) fuzz_fail("fuzz_tables", (what))

/*
 * Every `login addr, addr` line of the text must be allowed by the loaded map. A comment is a
 * line or a token that starts with '#'; a CR before the line end belongs to the line end.
 */
static void
check_sendermap(const struct sendermap *map, char *text)
{
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);
		char *s2 = NULL, *login, *addr;

		if (len > 0 && line[len - 1] == '\r')
			line[len - 1] = '\0';
		if ((login = strtok_r(line, " \t", &s2)) == NULL || *login == '#')
			continue;
		while ((addr = strtok_r(NULL, ", \t", &s2)) != NULL && *addr != '#')
			if (!sendermap_allows(map, login, addr))
				die("a listed address is not allowed for its login");
	}
}

static void
check_sponsors(const struct as_sponsor_table *t)
{
	for (size_t i = 0; i < as_sponsor_count(t); i++) {
		const struct as_sponsor_entry *e = as_sponsor_at(t, i);

		if (e == NULL || as_sponsor_lookup(t, e->mailbox) != e)
			die("an entry is not found by its own mailbox");
		if (*e->given_name == '\0' || *e->surname == '\0' ||
		    strlen(e->given_name) > AS_SPONSOR_NAME_MAX ||
		    strlen(e->surname) > AS_SPONSOR_NAME_MAX)
			die("a name outside its bounds was kept");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *fp;
	char *text;

	if (size < 1)
		return 0;
	if ((text = strndup((const char *)data + 1, size - 1)) == NULL ||
	    (fp = fmemopen((void *)(data + 1), size - 1 > 0 ? size - 1 : 1, "r")) == NULL) {
		free(text);
		return 0;
	}
	if (data[0] & 1) {
		struct as_sponsor_table *t = NULL;
		struct as_sponsor_error err;

		if (as_sponsor_parse(fp, "fuzz", &t, &err) == 0) {
			check_sponsors(t);
			as_sponsor_free(t);
		} else if (t != NULL) {
			die("a failed parse left a table");
		}
	} else {
		struct sendermap_error err;
		struct sendermap *map = sendermap_load_stream(fp, "fuzz", &err);

		/* NUL bytes end the text strtok sees: only check what both read alike */
		if (map != NULL && memchr(data + 1, '\0', size - 1) == NULL)
			check_sendermap(map, text);
		sendermap_free(map);
	}
	fclose(fp);
	free(text);
	return 0;
}
