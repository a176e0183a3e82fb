/*
 * inbound-tool: runs the inbound S/MIME pipeline (milter/inbound/inbound.h) on one message file and
 * prints the message as the milter would leave it, so the shell tests can check headers and
 * bodies of mail made by openssl cms and gpgsm. Options mirror the daemon's settings:
 *   -c CONF     open the CA from this configuration (decryption keys, harvest, gateway anchors)
 *   -a ID       authserv-id             -t FILE  trust anchor bundle   -d DIR  anchor directory
 *   -F MAILBOX  the From: mailbox       -r RCPT  a local recipient (repeatable)
 *   -C DIR      fetch CRLs, cache in DIR ("-": memory only)   -W MS  first-sight wait
 *   -T EPOCH    verification time       -n COUNT process the message COUNT times (cache tests)
 *   -E          print elapsed_ms=N (the message path only, the longest run) to stderr
 * Exit: 0 modified or passed, 1 internal error (the milter would tempfail), 2 usage.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ca/ca.h"
#include "common/conf.h"
#include "milter/inbound/inbound.h"
#include "milter/engine/spool.h"

#define MAX_RCPTS 64

static time_t fixed_now;

static time_t
clock_fixed(void)
{
	return fixed_now;
}

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

/* Read the header section (folding kept as LF + WSP) and the body into a spool. */
static int
read_message(FILE *fp, struct smime_header **hs, size_t *count, struct spool **body)
{
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;
	struct smime_header *h = NULL;

	*body = spool_new(1 << 20, "/tmp", 0);
	if (*body == NULL)
		return -1;
	while ((len = getline(&line, &cap, fp)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			break;
		if ((line[0] == ' ' || line[0] == '\t') && n > 0) {
			char *v = h[n - 1].value;
			size_t vl = strlen(v);

			if ((v = realloc(v, vl + (size_t)len + 2)) == NULL)
				return -1;
			v[vl] = '\n';
			memcpy(v + vl + 1, line, (size_t)len + 1);
			h[n - 1].value = v;
			continue;
		}
		char *colon = strchr(line, ':');
		if (colon == NULL)
			continue;
		if ((h = realloc(h, (n + 1) * sizeof(*h))) == NULL)
			return -1;
		*colon = '\0';
		h[n].name = strdup(line);
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		h[n].value = strdup(colon);
		n++;
	}
	while ((len = getline(&line, &cap, fp)) > 0)
		if (spool_write(*body, line, (size_t)len) != 0)
			return -1;
	free(line);
	*hs = h;
	*count = n;
	return 0;
}

static bool
deleted(const struct inbound_result *r, const char *name, int index)
{
	for (size_t i = 0; i < r->del_count; i++)
		if (strcasecmp(r->del[i].name, name) == 0 && r->del[i].index == index)
			return true;
	for (size_t i = 0; i < r->edit.remove_count; i++)
		if (strcasecmp(r->edit.remove[i], name) == 0)
			return true;
	return false;
}

static void
print_value(const char *v)
{
	for (; *v != '\0'; v++)
		if (*v == '\n')
			fputs("\r\n", stdout);
		else
			putchar(*v);
	fputs("\r\n", stdout);
}

static void
print_result(const struct smime_header *h, size_t n, struct spool *body,
    const struct inbound_result *r, bool modified)
{
	char buf[8192];
	ssize_t got;
	struct spool *b = modified && r->edit.body != NULL ? r->edit.body : body;

	for (size_t i = 0; i < n; i++) {
		int index = 0;

		for (size_t j = 0; j <= i; j++)
			if (strcasecmp(h[j].name, h[i].name) == 0)
				index++;
		if (modified && deleted(r, h[i].name, index))
			continue;
		printf("%s: ", h[i].name);
		print_value(h[i].value);
	}
	for (size_t i = 0; modified && i < r->edit.add_count; i++) {
		printf("%s: ", r->edit.add[i].name);
		print_value(r->edit.add[i].value);
	}
	fputs("\r\n", stdout);
	fflush(stdout);
	spool_rewind(b);
	while ((got = spool_read(b, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)got, stdout);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct inbound_params p = { 0 };
	struct inbound_input in = { 0 };
	struct inbound_result res;
	struct as_conf *conf = NULL;
	struct as_conf_error cerr;
	struct ca *ca = NULL;
	struct ca_error err = { "" };
	struct smime_header *hs = NULL;
	struct spool *body = NULL;
	char *rcpts[MAX_RCPTS], why[256] = "";
	const char *conf_path = NULL;
	struct inbound *ib = NULL;
	size_t nr = 0, count = 0;
	long repeat = 1, longest_ms = 0;
	bool elapsed = false;
	int c, rc = 1;
	FILE *fp;

	p.authserv_id = "gw.example";
	p.verify = p.decrypt = p.harvest = true;
	p.mem_limit = 1 << 20;
	p.spool_dir = "/tmp";
	p.max_size = 64 << 20;
	while ((c = getopt(argc, argv, "a:c:C:d:EF:n:r:t:T:W:")) != -1) {
		switch (c) {
		case 'E': elapsed = true; break;
		case 'a': p.authserv_id = optarg; break;
		case 'c': conf_path = optarg; break;
		case 'C':
			p.crl_check = true;
			p.crl_cache_dir = strcmp(optarg, "-") == 0 ? NULL : optarg;
			break;
		case 'd': p.anchor_dir = optarg; break;
		case 'F': in.from = optarg; break;
		case 'n': repeat = atol(optarg); break;
		case 'r':
			if (nr < MAX_RCPTS)
				rcpts[nr++] = optarg;
			break;
		case 't': p.trust_anchor_file = optarg; break;
		case 'T':
			fixed_now = (time_t)atoll(optarg);
			p.now = clock_fixed;
			break;
		case 'W': p.crl_wait_ms = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: inbound-tool [options] message\n");
			return 2;
		}
	}
	if (optind + 1 != argc || repeat < 1)
		return 2;
	if (conf_path != NULL) {
		struct ca_params cp = { 0 };

		if ((conf = as_conf_load(conf_path, &cerr)) == NULL) {
			fprintf(stderr, "inbound-tool: %s\n", cerr.text);
			return 1;
		}
		cp.store_dir = nz(conf->store_dir);
		cp.kek_file = nz(conf->key_encryption_key_file);
		cp.ca_passphrase_file = nz(conf->ca_passphrase_file);
		cp.base_url = nz(conf->ca_base_url);
		cp.crl_dir = nz(conf->crl_dir);
		cp.organization_name = nz(conf->organization_name);
		cp.organization_identifier = nz(conf->organization_identifier);
		cp.organization_country = nz(conf->organization_country);
		if (ca_open(&cp, &ca, &err) != CA_OK) {
			fprintf(stderr, "inbound-tool: %s\n", err.text);
			goto out;
		}
	}
	if ((fp = fopen(argv[optind], "r")) == NULL) {
		perror(argv[optind]);
		goto out;
	}
	c = read_message(fp, &hs, &count, &body);
	fclose(fp);
	if (c != 0)
		goto out;
	if ((ib = inbound_new(&p, ca, why, sizeof(why))) == NULL) {
		fprintf(stderr, "inbound-tool: %s\n", why);
		goto out;
	}
	in.qid = "TEST";
	in.headers = hs;
	in.header_count = count;
	in.body = body;
	in.rcpts = rcpts;
	in.rcpt_count = nr;
	for (long i = 0; i < repeat; i++) {
		struct timespec t0, t1;
		enum inbound_status st;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		st = inbound_process(ib, &in, &res);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 > longest_ms)
			longest_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;

		if (st == INBOUND_ERROR)
			goto out;
		if (i + 1 == repeat)
			print_result(hs, count, body, &res, st == INBOUND_MODIFY);
		inbound_result_free(&res);
	}
	if (elapsed)
		fprintf(stderr, "elapsed_ms=%ld\n", longest_ms);
	rc = 0;
out:
	inbound_free(ib);
	for (size_t i = 0; i < count; i++) {
		free(hs[i].name);
		free(hs[i].value);
	}
	free(hs);
	spool_free(body);
	ca_close(ca);
	as_conf_free(conf);
	return rc;
}
