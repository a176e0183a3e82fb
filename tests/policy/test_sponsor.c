/*
 * test_sponsor: the sponsor table parser on good input (both formats, comments, CRLF, UTF-8
 * names, case of domains) and on hostile input (bad mailboxes, long lines, NUL bytes, bad
 * UTF-8, control characters, duplicates, missing fields, random bytes from a fixed seed).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/sponsor.h"
#include "tests/tap.h"

static int
parse_text(const char *text, size_t len, struct as_sponsor_table **t, struct as_sponsor_error *err)
{
	FILE *fp = fmemopen((void *)text, len, "r");
	int r;

	if (fp == NULL)
		return -2;
	r = as_sponsor_parse(fp, "test", t, err);
	fclose(fp);
	return r;
}

static const char good[] =
    "# sponsor table of Example Org\n"
    "\n"
    "alice@Example.ORG      Alice Marie | Example-Smith\n"
    "bob@example.org\tBob\tBuilder\r\n"
    "   # indented comment\n"
    "j\xc3\xbcrgen@example.org J\xc3\xbcrgen |  M\xc3\xbcller  \n"
    "carol@example.org\tCarol | O'Neil";

static const struct {
	const char *name;
	const char *text;
	size_t len;   /* 0: strlen */
} bad[] = {
	{ "no @", "alice.example.org Alice | A\n", 0 },
	{ "two @", "a@b@example.org Alice | A\n", 0 },
	{ "empty local part", "@example.org Alice | A\n", 0 },
	{ "missing surname", "alice@example.org Alice |\n", 0 },
	{ "missing given name", "alice@example.org | Smith\n", 0 },
	{ "no separator", "alice@example.org Alice Smith\n", 0 },
	{ "two bars", "alice@example.org Alice | Smith | X\n", 0 },
	{ "three tab fields", "alice@example.org\tA\tB\tC\n", 0 },
	{ "control character in a name", "alice@example.org Al\x01ice | Smith\n", 0 },
	{ "escape sequence in a name", "alice@example.org Al\x1b[31mice | Smith\n", 0 },
	{ "invalid UTF-8", "alice@example.org Al\xffice | Smith\n", 0 },
	{ "overlong UTF-8", "alice@example.org Al\xc0\xafice | Smith\n", 0 },
	{ "UTF-8 surrogate", "alice@example.org Al\xed\xa0\x80ice | Smith\n", 0 },
	{ "truncated UTF-8 at the end", "alice@example.org Alice | Smit\xc3", 0 },
	{ "name too long",
	  "alice@example.org Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa | S\n", 0 },
	{ "duplicate mailbox (domain case differs)",
	  "alice@example.org A | B\nalice@EXAMPLE.org C | D\n", 0 },
	{ "NUL byte", "alice@example.org A\0lice | B\n", 30 },
	{ "leading white space before the mailbox", "  alice@example.org A | B\n", 0 },
	{ "mailbox with angle brackets", "<alice@example.org> A | B\n", 0 },
};

int
main(void)
{
	struct as_sponsor_table *t = NULL;
	struct as_sponsor_error err = { "" };
	const struct as_sponsor_entry *e;

	tap_ok(parse_text(good, strlen(good), &t, &err) == 0, "good table parses %s", err.text);
	tap_ok(as_sponsor_count(t) == 4, "4 entries (%zu)", as_sponsor_count(t));
	e = as_sponsor_lookup(t, "alice@example.org");
	tap_ok(e != NULL && strcmp(e->given_name, "Alice Marie") == 0 &&
	    strcmp(e->surname, "Example-Smith") == 0, "alice: 'Alice Marie' / 'Example-Smith'");
	e = as_sponsor_lookup(t, "alice@EXAMPLE.org");
	tap_ok(e != NULL, "the domain compares case-insensitively");
	tap_ok(as_sponsor_lookup(t, "Alice@example.org") == NULL, "the local part is exact");
	e = as_sponsor_lookup(t, "bob@example.org");
	tap_ok(e != NULL && strcmp(e->given_name, "Bob") == 0 && strcmp(e->surname, "Builder") == 0,
	    "tab-separated with CRLF");
	e = as_sponsor_lookup(t, "j\xc3\xbcrgen@example.org");
	tap_ok(e != NULL && strcmp(e->surname, "M\xc3\xbcller") == 0, "UTF-8 names trimmed");
	e = as_sponsor_lookup(t, "carol@example.org");
	tap_ok(e != NULL && strcmp(e->given_name, "Carol") == 0 && strcmp(e->surname, "O'Neil") == 0,
	    "a tab before the '|' form, last line without a newline");
	tap_ok(as_sponsor_lookup(t, "nobody@example.org") == NULL && as_sponsor_lookup(t, "x") == NULL &&
	    as_sponsor_lookup(t, NULL) == NULL, "unknown or malformed mailboxes are not found");
	tap_ok(strcmp(as_sponsor_at(t, 0)->mailbox, "alice@example.org") == 0 &&
	    as_sponsor_at(t, 4) == NULL, "entries listed in order");
	as_sponsor_free(t);

	tap_ok(parse_text("", 0, &t, &err) == 0 && as_sponsor_count(t) == 0, "an empty table");
	as_sponsor_free(t);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);

		err.text[0] = '\0';
		t = (struct as_sponsor_table *)1;
		tap_ok(parse_text(bad[i].text, len, &t, &err) == -1 && t == NULL &&
		    strncmp(err.text, "test", 4) == 0, "refused: %s (%s)", bad[i].name, err.text);
	}
	{
		size_t n = 5000;
		char *lng = malloc(n + 1);

		memcpy(lng, "alice@example.org ", 18);
		memset(lng + 18, 'a', n - 18);
		lng[n] = '\0';
		tap_ok(parse_text(lng, n, &t, &err) == -1 && strstr(err.text, "too long") != NULL,
		    "a 5,000-byte line is refused: %s", err.text);
		free(lng);
	}
	{
		uint32_t s = 777;
		char buf[2048];
		int crashes = 0;

		for (int i = 0; i < 1000; i++) {
			size_t n = 0;

			s = s * 1103515245u + 12345u;
			n = (s >> 8) % sizeof(buf);
			for (size_t k = 0; k < n; k++) {
				s = s * 1103515245u + 12345u;
				buf[k] = (char)((s >> 16) & 0xff);
				if ((s >> 24) % 7 == 0)
					buf[k] = "@| \t\n#"[(s >> 10) % 6];
			}
			if (parse_text(buf, n, &t, &err) == 0)
				as_sponsor_free(t);
		}
		tap_ok(crashes == 0, "1,000 random inputs parsed or refused without a crash");
	}
	tap_ok(as_sponsor_load("/nonexistent/sponsors", &t, &err) == -1 && t == NULL,
	    "a missing file is an error: %s", err.text);
	return tap_done();
}
