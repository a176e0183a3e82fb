/*
 * smimea-tool: one or more SMIMEA lookups through policy/smimea.h against a real resolver
 * (the harness DNS in the tests), printing what was found, for smimea.sh.
 *
 * usage: smimea-tool -R ADDR@PORT -A ANCHORFILE [-k KNOWN.pem]... [-p PKIX-ANCHORS.pem]
 *            [-o OUT.pem] [-n COUNT] [-W FILE] MAILBOX
 * -n looks up COUNT times in one process (the cache answers after the first); -W waits
 * (at most 60 s) between lookups until FILE exists, so a test can change the zone in between.
 * Prints per lookup "found sha256=<hex> why=..." (exit 0), "none why=..." (exit 1) or
 * "failed why=..." (exit 2); 3 on a usage or set-up error.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "policy/smimea.h"

#define MAX_KNOWN 8

static X509 *
read_cert(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;

	if (fp == NULL)
		return NULL;
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	return x;
}

static STACK_OF(X509) *
read_certs(const char *path)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	FILE *fp = fopen(path, "r");
	X509 *x;

	if (fp == NULL || sk == NULL) {
		if (fp != NULL)
			fclose(fp);
		sk_X509_free(sk);
		return NULL;
	}
	while ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL)
		sk_X509_push(sk, x);
	fclose(fp);
	return sk;
}

int
main(int argc, char **argv)
{
	struct as_smimea_params p = { "", "", NULL };
	struct as_smimea_query q = { NULL, NULL, 0, NULL };
	struct as_smimea *s;
	X509 *known[MAX_KNOWN];
	const char *outpath = NULL;
	size_t nknown = 0;
	int c, count = 1, rc = 3;
	const char *gate = NULL;
	char why[400];

	while ((c = getopt(argc, argv, "R:A:k:p:o:n:W:")) != -1) {
		switch (c) {
		case 'R':
			p.resolver = optarg;
			break;
		case 'A':
			p.trust_anchor_file = optarg;
			break;
		case 'k':
			if (nknown >= MAX_KNOWN || (known[nknown] = read_cert(optarg)) == NULL) {
				fprintf(stderr, "smimea-tool: cannot read %s\n", optarg);
				return 3;
			}
			nknown++;
			break;
		case 'p':
			if ((q.pkix_anchors = read_certs(optarg)) == NULL) {
				fprintf(stderr, "smimea-tool: cannot read %s\n", optarg);
				return 3;
			}
			break;
		case 'o':
			outpath = optarg;
			break;
		case 'n':
			count = atoi(optarg);
			break;
		case 'W':
			gate = optarg;
			break;
		default:
			return 3;
		}
	}
	if (optind + 1 != argc || count < 1 || count > 100)
		return 3;
	q.mailbox = argv[optind];
	q.known = known;
	q.known_count = nknown;
	if ((s = as_smimea_new(&p, why, sizeof(why))) == NULL) {
		fprintf(stderr, "smimea-tool: %s\n", why);
		return 3;
	}
	for (int i = 0; i < count; i++) {
		X509 *cert = NULL;
		enum as_smimea_status st;

		for (int t = 0; i > 0 && gate != NULL && access(gate, F_OK) != 0 && t < 600; t++)
			usleep(100000);
		st = as_smimea_lookup(s, &q, &cert, why, sizeof(why));

		if (st == AS_SMIMEA_FOUND) {
			unsigned char md[EVP_MAX_MD_SIZE];
			unsigned int n = 0;

			X509_digest(cert, EVP_sha256(), md, &n);
			printf("found sha256=");
			for (unsigned int k = 0; k < n; k++)
				printf("%02x", md[k]);
			printf(" why=%s\n", why);
			if (outpath != NULL) {
				FILE *fp = fopen(outpath, "w");

				if (fp != NULL) {
					PEM_write_X509(fp, cert);
					fclose(fp);
				}
			}
			rc = 0;
		} else {
			printf("%s why=%s\n", st == AS_SMIMEA_NONE ? "none" : "failed", why);
			rc = st == AS_SMIMEA_NONE ? 1 : 2;
		}
		fflush(stdout);
		X509_free(cert);
	}
	as_smimea_free(s);
	for (size_t i = 0; i < nknown; i++)
		X509_free(known[i]);
	sk_X509_pop_free(q.pkix_anchors, X509_free);
	return rc;
}
