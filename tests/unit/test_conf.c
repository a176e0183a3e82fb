/*
 * test_conf: the configuration parser accepts good files, rejects each class of bad input with
 * file:line, reads back its own dump, and agrees with the man page on the list of options.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "tests/tap.h"

static struct as_conf *
parse(const char *text, struct as_conf_error *err)
{
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	struct as_conf *conf;

	if (fp == NULL)
		return NULL;
	conf = as_conf_load_stream(fp, "test.conf", err);
	fclose(fp);
	return conf;
}

/* The text must be rejected with an error that names test.conf:LINE and contains `word`. */
static void
rejects(const char *text, unsigned line, const char *word, const char *what)
{
	struct as_conf_error err = { "" };
	struct as_conf *conf = parse(text, &err);
	char where[32];

	if (line > 0)
		snprintf(where, sizeof(where), "test.conf:%u: ", line);
	else
		snprintf(where, sizeof(where), "test.conf: ");
	tap_ok(conf == NULL && strncmp(err.text, where, strlen(where)) == 0 &&
	    strstr(err.text, word) != NULL, "rejects %s (%s)", what, err.text);
	as_conf_free(conf);
}

static void
test_defaults(void)
{
	struct as_conf *conf = as_conf_defaults();

	tap_ok(conf != NULL, "every default in the table parses");
	if (conf == NULL)
		return;
	tap_ok(conf->challenge_lifetime == 86400, "challenge_lifetime defaults to 24h");
	tap_ok(conf->validation_reuse == 30 * 86400, "validation_reuse defaults to 30 days");
	tap_ok(conf->cert_validity == 365 * 86400, "cert_validity defaults to 365 days");
	tap_ok(conf->sign && conf->encrypt == AS_ENCRYPT_WHEN_POSSIBLE, "sign and encrypt defaults");
	tap_ok(conf->on_error == AS_ACT_TEMPFAIL, "internal errors tempfail by default");
	tap_ok(conf->internal_networks.count == 2, "internal_networks default has two items");
	tap_ok(conf->socket_mode == 0660, "socket_mode is octal 0660");
	as_conf_free(conf);
}

static void
test_good_file(void)
{
	struct as_conf_error err = { "" };
	struct as_conf *conf = parse(
	    "# comment\n"
	    "\n"
	    "   local_domains example.org, example.net  example.com\n"
	    "log_level = debug\n"
	    "message_size_limit 20M\n"
	    "memory_spool_limit 64k\n"
	    "challenge_lifetime 2h\n"
	    "header_protection on\n"
	    "enrol_address enrol@gw.example.org\n"
	    "challenge_subject_prefix \"Please reply:\"\n"
	    "cert_validity 2w\n"
	    "renew_before 1w\n"
	    "socket inet:8891@127.0.0.1\n"
	    "ca_domain \"\"\n"
	    "key_type RSA-3072\n", &err);

	tap_ok(conf != NULL, "a good file parses (%s)", err.text);
	if (conf == NULL)
		return;
	tap_ok(conf->local_domains.count == 3 &&
	    strcmp(conf->local_domains.item[1], "example.net") == 0, "list split on commas and spaces");
	tap_ok(as_conf_list_has(&conf->local_domains, "EXAMPLE.com"), "list lookup ignores case");
	tap_ok(conf->log_level == AS_LEVEL_DEBUG, "key = value form and enum");
	tap_ok(conf->message_size_limit == 20LL * 1024 * 1024, "size suffix M");
	tap_ok(conf->memory_spool_limit == 64 * 1024, "size suffix k");
	tap_ok(conf->challenge_lifetime == 7200, "duration suffix h");
	tap_ok(conf->cert_validity == 14 * 86400, "duration suffix w");
	tap_ok(conf->header_protection, "bool on");
	tap_ok(strcmp(conf->challenge_subject_prefix, "Please reply:") == 0, "quoted string keeps spaces");
	tap_ok(conf->ca_domain[0] == '\0', "\"\" sets an empty string");
	tap_ok(conf->key_type == AS_KEY_RSA3072, "enum ignores case");
	as_conf_free(conf);
}

static void
test_bad_input(void)
{
	char longline[AS_CONF_MAX_LINE + 64];

	rejects("log_level info\nno_such_option 1\n", 2, "unknown option", "an unknown key");
	rejects("sign yes\n\nsign no\n", 3, "duplicate", "a duplicate key");
	rejects("sign perhaps\n", 1, "yes or no", "a bad bool");
	rejects("challenge_limit_hour 3x\n", 1, "unit", "trailing text after a number");
	rejects("challenge_limit_hour abc\n", 1, "number", "a non-number");
	rejects("challenge_limit_hour 101\n", 1, "out of range", "an int above its maximum");
	rejects("challenge_limit_hour 0\n", 1, "out of range", "an int below its minimum");
	rejects("cert_validity 826d\n", 1, "out of range", "a validity above 825 days");
	rejects("cert_validity 825d\n", 1, "out of range", "825 days, at the BR limit (824d is the most)");
	rejects("challenge_lifetime 25h\n", 1, "out of range", "a challenge lifetime above 24h");
	rejects("message_size_limit 99999999999999999999\n", 1, "out of range", "an overflowing number");
	rejects("message_size_limit 9000000000g\n", 1, "out of range", "a size that overflows its unit");
	rejects("cert_validity -5d\n", 1, "negative", "a negative duration");
	rejects("memory_spool_limit 10q\n", 1, "unit", "an unknown unit");
	rejects("log_level loud\n", 1, "allowed words", "a bad enum word");
	rejects("sender_capabilities aes256-cbc des-cbc\n", 1, "allowed words",
	    "a list item outside the option's words");
	rejects("sender_capabilities \"\"\n", 0, "is empty", "an empty capability list");
	rejects("store_dir var/lib\n", 1, "absolute path", "a relative path");
	rejects("user\n", 1, "no value", "a key without a value");
	rejects("challenge_subject_prefix \"open\n", 1, "unterminated quote", "an unterminated quote");
	rejects("local_domains a.example, \"b.example\n", 1, "quote", "a list item with a quote");
	rejects("enrol_address nobody\n", 0, "not a mail address", "an enrolment address without @");
	rejects("socket /tmp/x.sock\n", 0, "must start with", "a socket without a type");
	rejects("ca_base_url https://ca.example/\n", 0, "http://", "an https CRL base URL");
	rejects("organization_country usa\n", 0, "two capital letters", "a bad country code");
	rejects("memory_spool_limit 100m\nmessage_size_limit 10m\n", 0, "larger", "inconsistent sizes");
	rejects("cert_validity 30d\nrenew_before 30d\n", 0, "renew_before", "renewal due at issuance");
	rejects("renew_before 40d\ndomain_profiles a.example=mailbox/ec-p256/35d\n", 0,
	    "renew_before", "renewal due at issuance for one domain");

	memset(longline, 'a', sizeof(longline) - 2);
	memcpy(longline, "user ", 5);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	rejects(longline, 1, "too long", "a line longer than the limit");

	{
		static const char nul_text[] = "sign yes\nuser a\0b\n";
		struct as_conf_error err = { "" };
		FILE *fp = fmemopen((void *)nul_text, sizeof(nul_text) - 1, "r");
		struct as_conf *conf = as_conf_load_stream(fp, "test.conf", &err);

		fclose(fp);
		tap_ok(conf == NULL && strstr(err.text, "test.conf:2: ") && strstr(err.text, "NUL"),
		    "rejects a NUL byte (%s)", err.text);
		as_conf_free(conf);
	}
	{
		struct as_conf_error err = { "" };
		struct as_conf *conf = as_conf_load("/nonexistent/autosmime.conf", &err);

		tap_ok(conf == NULL && strstr(err.text, "/nonexistent/autosmime.conf: cannot open"),
		    "a missing file names the path (%s)", err.text);
	}
}

static void
test_dump_round_trip(void)
{
	struct as_conf_error err = { "" };
	struct as_conf *a = parse("local_domains a.example b.example\nchallenge_subject_prefix \"x y\"\n"
	    "log_level debug\nsocket_mode 0600\n", &err);
	struct as_conf *b = NULL;
	char *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0;
	FILE *out;

	if (a == NULL) {
		tap_ok(0, "dump round trip: first parse failed (%s)", err.text);
		return;
	}
	out = open_memstream(&text, &len);
	as_conf_dump(a, out);
	fclose(out);
	b = parse(text, &err);
	tap_ok(b != NULL, "the dump parses again (%s)", err.text);
	if (b != NULL) {
		out = open_memstream(&text2, &len2);
		as_conf_dump(b, out);
		fclose(out);
		tap_ok(len == len2 && memcmp(text, text2, len) == 0, "dumping the re-read dump is identical");
	}
	free(text);
	free(text2);
	as_conf_free(a);
	as_conf_free(b);
}

/* man/autosmime.conf.5 documents each option as `.TP` followed by `.B name`. */
static void
test_man_page_in_step(void)
{
	const char *srcdir = getenv("top_srcdir");
	char path[1024], line[512], prev[512] = "";
	size_t documented = 0, unknown = 0;
	unsigned char *seen = calloc(as_conf_option_count, 1);
	FILE *fp;

	snprintf(path, sizeof(path), "%s/man/autosmime.conf.5", srcdir ? srcdir : "../..");
	fp = fopen(path, "r");
	if (!tap_ok(fp != NULL && seen != NULL, "man page %s opens", path)) {
		free(seen);
		return;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(prev, ".TP", 3) == 0 && strncmp(line, ".B ", 3) == 0) {
			const struct as_conf_option *opt;

			line[strcspn(line, "\n")] = '\0';
			opt = as_conf_find(line + 3);
			if (opt == NULL) {
				tap_diag("man page documents unknown option %s", line + 3);
				unknown++;
			} else {
				seen[opt - as_conf_options] = 1;
				documented++;
			}
		}
		snprintf(prev, sizeof(prev), "%s", line);
	}
	fclose(fp);
	for (size_t i = 0; i < as_conf_option_count; i++)
		if (!seen[i])
			tap_diag("option %s is missing from the man page", as_conf_options[i].name);
	tap_ok(unknown == 0 && documented == as_conf_option_count,
	    "the man page documents exactly the %zu options of the table (%zu documented)",
	    as_conf_option_count, documented);
	free(seen);
}

int
main(void)
{
	test_defaults();
	test_good_file();
	test_bad_input();
	test_dump_round_trip();
	test_man_page_in_step();
	return tap_done();
}
