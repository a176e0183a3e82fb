/*
 * cmd_audit: `autosmimectl audit verify|show|export` over the hash-chained audit log, with
 * filters on mailbox, time range and event, and JSON (one array) or CSV (RFC 4180) export.
 * Checkpoints (audit checkpoint, verify --checkpoint) are in cmd_audit_checkpoint.c.
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"

enum audit_fmt { FMT_TEXT, FMT_JSON, FMT_CSV };

struct audit_filter {
	const char *mailbox, *event;
	long long since, until;
	enum audit_fmt fmt;
	unsigned long n;
};

/* The value of key=VALUE in a fields text (quoted values unescaped); false when absent. */
static bool
field_value(const char *fields, const char *key, char *buf, size_t cap)
{
	size_t kl = strlen(key), o = 0;
	const char *p = fields;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == fields || p[-1] == ' ') && p[kl] == '=')
			break;
		p += kl;
	}
	if (p == NULL)
		return false;
	p += kl + 1;
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"' && o + 1 < cap; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			buf[o++] = *p;
		}
	} else
		for (; *p != '\0' && *p != ' ' && o + 1 < cap; p++)
			buf[o++] = *p;
	buf[o] = '\0';
	return true;
}

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
csv_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static int
audit_cb(const struct ca_audit_record *rec, void *arg)
{
	struct audit_filter *f = arg;
	char mb[300], when[32];

	if (f->event != NULL && strcmp(rec->event, f->event) != 0)
		return 0;
	if ((f->since >= 0 && rec->time < f->since) || (f->until >= 0 && rec->time > f->until))
		return 0;
	if (f->mailbox != NULL && (!field_value(rec->fields, "mailbox", mb, sizeof(mb)) ||
	    strcasecmp(mb, f->mailbox) != 0))
		return 0;
	cli_time(rec->time, when, sizeof(when));
	switch (f->fmt) {
	case FMT_TEXT:
		printf("%llu %s event=%s actor=%s %s\n", (unsigned long long)rec->recno, when,
		    rec->event, rec->actor, rec->fields);
		break;
	case FMT_JSON:
		printf("%s{\"recno\":%llu,\"time\":\"%s\",\"event\":", f->n == 0 ? "" : ",\n",
		    (unsigned long long)rec->recno, when);
		json_str(rec->event);
		printf(",\"actor\":");
		json_str(rec->actor);
		printf(",\"fields\":");
		json_str(rec->fields);
		printf(",\"prev_sha256\":\"%s\"}", rec->prev_hash);
		break;
	case FMT_CSV:
		printf("%llu,%s,", (unsigned long long)rec->recno, when);
		csv_str(rec->event);
		putchar(',');
		csv_str(rec->actor);
		putchar(',');
		csv_str(rec->fields);
		printf(",%s\r\n", rec->prev_hash);
		break;
	}
	f->n++;
	return 0;
}

int
cmd_audit(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' }, { "mailbox", required_argument, NULL, 'm' },
		{ "since", required_argument, NULL, 's' }, { "until", required_argument, NULL, 'u' },
		{ "event", required_argument, NULL, 'e' }, { NULL, 0, NULL, 0 } };
	static const char *usage = "audit verify [--checkpoint FILE [--signer CERT] "
	    "[--incremental]] | audit checkpoint [--out FILE | --out-dir DIR] | audit show|export [--format json|csv] "
	    "[--mailbox M] [--since T] [--until T] [--event E]";
	struct audit_filter f = { NULL, NULL, -1, -1, FMT_TEXT, 0 };
	struct ca_error err = { "" };
	uint64_t count = 0;
	bool bad = false, export;
	int c, r;

	if (argc < 2)
		return cli_usage(cli, "%s", usage);
	if (strcmp(argv[1], "checkpoint") == 0)
		return cmd_audit_checkpoint(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0 && argc > 2) {
		static const struct option vopts[] = {
			{ "checkpoint", required_argument, NULL, 'c' },
			{ "signer", required_argument, NULL, 's' },
			{ "incremental", no_argument, NULL, 'i' }, { NULL, 0, NULL, 0 } };
		const char *file = NULL, *signer = NULL;
		bool incremental = false;

		optind = 0;
		while ((c = getopt_long(argc - 1, argv + 1, "", vopts, NULL)) != -1) {
			if (c == 'c')
				file = optarg;
			else if (c == 's')
				signer = optarg;
			else if (c == 'i')
				incremental = true;
			else
				bad = true;
		}
		if (bad || file == NULL || optind != argc - 1)
			return cli_usage(cli, "%s", usage);
		return cmd_audit_verify_checkpoint(cli, file, signer, incremental);
	}
	if (strcmp(argv[1], "verify") == 0) {
		if (argc != 2)
			return cli_usage(cli, "%s", usage);
		if ((r = cli_open_ca(cli, true)) != EX_CLI_OK)
			return r;
		r = ca_audit_verify(cli->ca, &count, &err);
		if (r == CA_INVALID) {
			printf("audit=broken records=%llu\n", (unsigned long long)count);
			fprintf(stderr, "%s: error: %s\n", cli->prog, err.text);
			return EX_CLI_ERROR;
		}
		if (r != CA_OK)
			return cli_fail(cli, r, &err);
		printf("audit=ok records=%llu\n", (unsigned long long)count);
		return EX_CLI_OK;
	}
	export = strcmp(argv[1], "export") == 0;
	if (!export && strcmp(argv[1], "show") != 0)
		return cli_usage(cli, "%s", usage);
	if (export)
		f.fmt = FMT_JSON;
	optind = 0; /* 0: GNU getopt starts afresh (main used "+" mode) */
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "json") == 0)
				f.fmt = FMT_JSON;
			else if (strcmp(optarg, "csv") == 0)
				f.fmt = FMT_CSV;
			else if (strcmp(optarg, "text") == 0)
				f.fmt = FMT_TEXT;
			else
				bad = true;
			break;
		case 'm': f.mailbox = optarg; break;
		case 'e': f.event = optarg; break;
		case 's': bad |= (f.since = cli_parse_time(optarg)) < 0; break;
		case 'u': bad |= (f.until = cli_parse_time(optarg)) < 0; break;
		default: bad = true; break;
		}
	}
	if (bad || optind != argc)
		return cli_usage(cli, "%s", usage);
	if ((r = cli_open_ca(cli, true)) != EX_CLI_OK)
		return r;
	if (f.fmt == FMT_JSON)
		printf("[");
	else if (f.fmt == FMT_CSV)
		printf("recno,time,event,actor,fields,prev_sha256\r\n");
	r = ca_audit_foreach(cli->ca, audit_cb, &f, &err);
	if (f.fmt == FMT_JSON)
		printf("]\n");
	return cli_fail(cli, r, &err);
}
