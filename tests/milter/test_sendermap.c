/*
 * test_sendermap: the sender map parser on good and hostile input (long lines, NUL bytes,
 * garbage addresses, too many entries) and its lookups.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter/process/sendermap.h"
#include "tests/tap.h"

static struct sendermap *
parse(const char *text, size_t len, struct sendermap_error *err)
{
	FILE *fp = fmemopen((void *)text, len, "r");
	struct sendermap *map;

	if (fp == NULL)
		return NULL;
	map = sendermap_load_stream(fp, "map", err);
	fclose(fp);
	return map;
}

static int
rejects(const char *text, size_t len, const char *want)
{
	struct sendermap_error err = { "" };
	struct sendermap *map = parse(text, len, &err);

	if (map != NULL) {
		sendermap_free(map);
		return 0;
	}
	if (want != NULL && strstr(err.text, want) == NULL) {
		tap_diag("error was: %s", err.text);
		return 0;
	}
	return 1;
}

int
main(void)
{
	static const char good[] =
	    "# logins and the addresses they may use\n"
	    "alice  sales@example.org, Info@Example.org\n"
	    "\n"
	    "   bob\tbob.smith@example.org # a comment\r\n"
	    "alice support@example.org\n";
	struct sendermap_error err = { "" };
	struct sendermap *map = parse(good, strlen(good), &err);
	char *big;
	size_t n;

	tap_ok(map != NULL, "a well-formed map parses (%s)", err.text);
	tap_ok(sendermap_count(map) == 4, "it has four pairs");
	tap_ok(sendermap_allows(map, "alice", "sales@example.org"), "alice may use sales@");
	tap_ok(sendermap_allows(map, "ALICE", "info@example.ORG"), "lookups ignore case");
	tap_ok(sendermap_allows(map, "alice", "support@example.org"), "a second line adds to a login");
	tap_ok(sendermap_allows(map, "bob", "bob.smith@example.org"), "tabs, CRLF and comments");
	tap_ok(!sendermap_allows(map, "bob", "sales@example.org"), "bob may not use alice's address");
	tap_ok(!sendermap_allows(map, "mallory", "sales@example.org"), "unknown logins get nothing");
	tap_ok(!sendermap_allows(map, "alice", NULL), "NULL address is refused");
	sendermap_free(map);

	map = sendermap_empty();
	tap_ok(map != NULL && !sendermap_allows(map, "alice", "a@b"), "the empty map allows nothing");
	sendermap_free(map);

	tap_ok(rejects("alice\n", 6, "map:1: login without addresses"), "login alone is an error");
	tap_ok(rejects("ok a@b\nalice not-an-address\n", 28, "map:2: invalid address"),
	    "an address without @ fails with the line number");
	tap_ok(rejects("alice a@b@c\n", 12, "invalid address"), "two @ fail");
	tap_ok(rejects("alice @example.org\n", 19, "invalid address"), "empty local part fails");
	tap_ok(rejects("alice a@\n", 9, "invalid address"), "empty domain fails");
	tap_ok(rejects("alice <a@b>\n", 12, "invalid address"), "angle brackets fail");
	tap_ok(rejects("alice a\x01@b\n", 10, "invalid address"), "control bytes fail");
	tap_ok(rejects("alice a@b\0c@d\n", 14, "NUL byte"), "a NUL byte fails");

	big = malloc(SENDERMAP_MAX_LINE + 100);
	memset(big, 'x', SENDERMAP_MAX_LINE + 99);
	memcpy(big, "alice ", 6);
	big[SENDERMAP_MAX_LINE + 99] = '\n';
	tap_ok(rejects(big, SENDERMAP_MAX_LINE + 100, "line too long"), "an over-long line fails");
	free(big);

	/* a login with more addresses than the bound, spread over many short lines */
	n = (SENDERMAP_MAX_PER_LOGIN + 1) * 32;
	big = calloc(1, n + 1);
	for (int i = 0, o = 0; i <= SENDERMAP_MAX_PER_LOGIN; i++)
		o += snprintf(big + o, n + 1 - (size_t)o, "alice a%d@example.org\n", i);
	tap_ok(rejects(big, strlen(big), "too many addresses"), "too many addresses per login fail");
	free(big);

	big = malloc(SENDERMAP_MAX_ADDR + 32);
	memset(big, 'a', SENDERMAP_MAX_ADDR + 31);
	memcpy(big, "alice x@", 8);
	big[SENDERMAP_MAX_ADDR + 31] = '\n';
	tap_ok(rejects(big, SENDERMAP_MAX_ADDR + 32, "invalid address"), "an over-long address fails");
	free(big);

	/* random bytes never crash the parser */
	srand(4);
	for (int round = 0; round < 200; round++) {
		char junk[512];

		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (char)(rand() % 256);
		map = parse(junk, sizeof(junk), &err);
		sendermap_free(map);
	}
	tap_ok(1, "200 blocks of random bytes parse or fail without crashing");

	tap_ok(sendermap_load("/nonexistent/map", &err) == NULL &&
	    strstr(err.text, "/nonexistent/map") != NULL, "a missing file names the path");
	return tap_done();
}
