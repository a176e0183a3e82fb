/*
 * bench_engine: in-process micro-benchmark of the S/MIME engine (milter/engine/smime.h), not a test.
 * Generates a small CA chain and signer/recipient keys in memory (ECDSA P-256, RSA-2048,
 * RSA-3072, and "pair": the default P-256 signing key with an RSA-2048 encryption
 * certificate, to an RSA-2048 recipient), then times sign, encrypt and sign+encrypt of 2 KB, 100 KB and 10 MB messages on
 * CPU time (CLOCK_PROCESS_CPUTIME_ID, one thread, so msgs/s is per core), with peak RSS per case.
 * Beside each key it measures OpenSSL's own limits in the same run: EVP_DigestSign of 32 bytes
 * (small messages cannot sign faster) and SHA-256 throughput (large ones cannot hash faster).
 * Last, the RSS growth while signing a 100 MB message with a 1 MB memory spool limit.
 * -R instead times the growth with recipients: encrypt and sign+encrypt of 2 KB and 100 KB to
 * 1, 10 and 100 recipients (all P-256 or all RSA-2048, plus the sender's copy of "pair"),
 * beside OpenSSL's own per-recipient work (an RSA public encryption; for P-256 an ephemeral
 * key and one ECDH derivation, as CMS key agreement does per recipient).
 * Every case runs in a forked child so that its peak RSS is its own.
 *
 *   bench_engine [-t seconds_per_case] [-o results.tsv] [-d spool_dir] [-m mem_limit]
 *                [-B big_message_MB] [-q] [-c case] [-R]
 *   -q: 2 KB and 100 KB only, no 100 MB case; -c: only the cases whose name contains `case`
 *   (e.g. -c sign-p256-2KB, for profiling with valgrind --tool=callgrind)
 * The -o file gets one line per figure: bench<TAB>case<TAB>metric<TAB>value<TAB>unit.
 * Owns nothing outside its process; temporary spool files are unlinked by the spool itself.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "milter/engine/cms_signed.h"
#include "milter/engine/smime.h"
#include "milter/engine/spool.h"

#define LINE "This line of the benchmark body is sixty-four characters long.\r\n"
#define LINE_LEN 64
#define NKEYS 4
#define MIN_ITER 3
#define MAX_RCPTS 100

enum op { OP_SIGN, OP_ENCRYPT, OP_SIGN_ENCRYPT };
static const char *const op_name[] = { "sign", "encrypt", "sign+encrypt" };

/*
 * One signer identity with a recipient. "pair" is the shipped default: a P-256 signing key
 * and an RSA-2048 encryption certificate (the sender's own copy), to an RSA-2048 recipient;
 * the others hold one dual-use key, the recipient of the same type. Lifetime: the process.
 */
struct ident {
	const char *name;
	EVP_PKEY *key, *rkey, *ekey;	/* ekey: NULL for one dual-use key */
	X509 *cert, *rcert, *ecert;
	struct cms_signed_template *tmpl;	/* as the key cache builds it, once per signer */
};

/* Settings and the shared CA chain. Lifetime: the process. */
struct bench {
	double seconds;
	const char *spool_dir;
	const char *only;          /* -c: run only cases whose name contains this */
	size_t mem_limit;
	FILE *tsv;
	STACK_OF(X509) *chain;
	EVP_PKEY *ca_key;
	X509 *ca_cert;
	X509 *const *rcpts;        /* -R: these recipients (then the sender's copy), else NULL */
	size_t nrcpts;
};

/* What a child reports through its pipe. */
struct figures {
	int ok;
	long iterations;
	double cpu_s, wall_s;
	long peak_rss_kb, rss_growth_kb;
	char err[200];
};

static void
die(const char *what)
{
	fprintf(stderr, "bench_engine: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
rss_now_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, resident = 0;

	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static long
rss_peak_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void
record(struct bench *b, const char *bench, const char *cs, const char *metric, double v,
    const char *unit)
{
	if (b->tsv != NULL)
		fprintf(b->tsv, "%s\t%s\t%s\t%.6g\t%s\n", bench, cs, metric, v, unit);
}

/* ------------------------------------------------------------ keys and certificates */

static EVP_PKEY *
gen_key(const char *type)
{
	EVP_PKEY *k = strcmp(type, "p256") == 0 ? EVP_EC_gen("P-256") :
	    EVP_RSA_gen(strcmp(type, "rsa2048") == 0 ? 2048 : 3072);

	if (k == NULL)
		die("key generation failed");
	return k;
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL || !X509_add_ext(x, e, -1))
		die("cannot add extension");
	X509_EXTENSION_free(e);
}

/* A certificate for `key` named `cn`, signed by issuer/ikey (self-signed when issuer is NULL). */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey, bool ca, bool ec)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	char san[300];
	long serial = 0;

	if (x == NULL || n == NULL)
		die("out of memory");
	RAND_bytes((unsigned char *)&serial, sizeof(serial));
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial & 0x7fffffff);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : n);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
	X509_set_pubkey(x, key);
	if (ca) {
		add_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, issuer != NULL ? issuer : x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		snprintf(san, sizeof(san), "email:%s", cn);
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, issuer, NID_key_usage, ec ? "critical,digitalSignature,keyAgreement" :
		    "critical,digitalSignature,keyEncipherment");
		add_ext(x, issuer, NID_ext_key_usage, "emailProtection");
		add_ext(x, issuer, NID_subject_alt_name, san);
	}
	add_ext(x, issuer != NULL ? issuer : x, NID_subject_key_identifier, "hash");
	if (X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256()) <= 0)
		die("cannot sign certificate");
	X509_NAME_free(n);
	return x;
}

static void
setup(struct bench *b, struct ident *ids)
{
	static const char *const names[NKEYS] = { "p256", "rsa2048", "rsa3072", "pair" };
	static const char *const sign_type[NKEYS] = { "p256", "rsa2048", "rsa3072", "p256" };
	static const char *const rcpt_type[NKEYS] = { "p256", "rsa2048", "rsa3072", "rsa2048" };
	EVP_PKEY *root_key = gen_key("p256");
	X509 *root = make_cert(root_key, "Bench Root CA", NULL, NULL, true, true);
	struct smime_error err;
	char cn[64];

	b->ca_key = gen_key("p256");
	b->ca_cert = make_cert(b->ca_key, "Bench Issuing CA", root, root_key, true, true);
	if ((b->chain = sk_X509_new_null()) == NULL || !sk_X509_push(b->chain, b->ca_cert))
		die("out of memory");
	for (int i = 0; i < NKEYS; i++) {
		bool pair = strcmp(names[i], "pair") == 0;

		memset(&ids[i], 0, sizeof(ids[i]));
		ids[i].name = names[i];
		ids[i].key = gen_key(sign_type[i]);
		snprintf(cn, sizeof(cn), "sender-%s@bench.test", names[i]);
		ids[i].cert = make_cert(ids[i].key, cn, b->ca_cert, b->ca_key, false,
		    strcmp(sign_type[i], "p256") == 0);
		ids[i].rkey = gen_key(rcpt_type[i]);
		snprintf(cn, sizeof(cn), "rcpt-%s@remote.test", names[i]);
		ids[i].rcert = make_cert(ids[i].rkey, cn, b->ca_cert, b->ca_key, false,
		    strcmp(rcpt_type[i], "p256") == 0);
		if (pair) {
			ids[i].ekey = gen_key("rsa2048");
			snprintf(cn, sizeof(cn), "sender-%s@bench.test", names[i]);
			ids[i].ecert = make_cert(ids[i].ekey, cn, b->ca_cert, b->ca_key, false, false);
		}
		if ((ids[i].tmpl = cms_signed_template_new(ids[i].key, ids[i].cert, b->chain,
		    ids[i].ecert, 0, &err)) == NULL)
			die(err.text);
	}
	X509_free(root);
	EVP_PKEY_free(root_key);
}

/* ------------------------------------------------------------ messages */

static const struct smime_header msg_headers[] = {
	{ "From", "sender@bench.test" }, { "To", "rcpt@remote.test" },
	{ "Subject", "benchmark message" }, { "Date", "Fri, 20 Nov 2026 12:00:00 +0000" },
	{ "Message-ID", "<bench@bench.test>" }, { "MIME-Version", "1.0" },
	{ "Content-Type", "text/plain; charset=us-ascii" },
};

/* A body of `size` bytes of 64-byte CRLF lines, streamed into a spool. */
static struct spool *
make_body(const struct bench *b, size_t size)
{
	static char chunk[LINE_LEN * 1024];
	struct spool *sp = spool_new(b->mem_limit, b->spool_dir, 0);

	if (sp == NULL)
		die("spool_new");
	if (chunk[0] == '\0')
		for (size_t i = 0; i < sizeof(chunk); i += LINE_LEN)
			memcpy(chunk + i, LINE, LINE_LEN);
	for (size_t done = 0; done < size;) {
		size_t k = size - done < sizeof(chunk) ? size - done : sizeof(chunk);

		if (spool_write(sp, chunk, k) != 0)
			die("spool_write");
		done += k;
	}
	return sp;
}

static enum smime_status
run_op(const struct bench *b, const struct ident *id, enum op op, const struct smime_message *m,
    struct smime_error *err)
{
	struct smime_signer sg = { id->key, id->cert, b->chain, id->tmpl, id->ecert, 0 };
	struct smime_options opt = { false, SMIME_AES256_CBC, b->mem_limit, b->spool_dir, 0 };
	/* the recipient(s) and the sender's own copy */
	X509 *rcpts[MAX_RCPTS + 1] = { id->rcert };
	size_t n = 1;
	struct smime_result res;
	enum smime_status st;

	if (b->rcpts != NULL)
		for (n = 0; n < b->nrcpts && n < MAX_RCPTS; n++)
			rcpts[n] = b->rcpts[n];
	rcpts[n++] = id->ecert != NULL ? id->ecert : id->cert;
	if (op == OP_SIGN)
		st = smime_sign(m, &sg, &opt, &res, err);
	else
		st = smime_encrypt(m, op == OP_SIGN_ENCRYPT ? &sg : NULL, rcpts, n, &opt, &res, err);
	if (st == SMIME_OK)
		smime_result_free(&res);
	return st;
}

/* In a child: repeat the operation for b->seconds of CPU (at least MIN_ITER times). */
static void
child_case(const struct bench *b, const struct ident *id, enum op op, size_t size, long iters,
    struct figures *f)
{
	struct smime_message m = { msg_headers, sizeof(msg_headers) / sizeof(msg_headers[0]), NULL };
	struct smime_error err = { "" };
	long rss0 = rss_now_kb();
	double c0, w0;

	m.body = make_body(b, size);
	if (iters == 0 && run_op(b, id, op, &m, &err) != SMIME_OK) {  /* warm-up */
		snprintf(f->err, sizeof(f->err), "%s", err.text);
		return;
	}
	c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	w0 = clock_s(CLOCK_MONOTONIC);
	for (f->iterations = 0;;) {
		if (run_op(b, id, op, &m, &err) != SMIME_OK) {
			snprintf(f->err, sizeof(f->err), "%s", err.text);
			return;
		}
		f->iterations++;
		f->cpu_s = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
		if (iters > 0 ? f->iterations >= iters :
		    f->iterations >= MIN_ITER && f->cpu_s >= b->seconds)
			break;
	}
	f->wall_s = clock_s(CLOCK_MONOTONIC) - w0;
	f->peak_rss_kb = rss_peak_kb();
	f->rss_growth_kb = f->peak_rss_kb - rss0;
	spool_free(m.body);
	f->ok = 1;
}

/* Fork, run the case in the child, read its figures. */
static int
run_case(const struct bench *b, const struct ident *id, enum op op, size_t size, long iters,
    struct figures *f)
{
	int fd[2], status;
	pid_t pid = -1;

	memset(f, 0, sizeof(*f));
	fflush(NULL);
	if (pipe(fd) != 0 || (pid = fork()) < 0)
		die("pipe/fork");
	if (pid == 0) {
		close(fd[0]);
		child_case(b, id, op, size, iters, f);
		if (write(fd[1], f, sizeof(*f)) != (ssize_t)sizeof(*f))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	if (read(fd[0], f, sizeof(*f)) != (ssize_t)sizeof(*f))
		snprintf(f->err, sizeof(f->err), "child died");
	close(fd[0]);
	waitpid(pid, &status, 0);
	return f->ok ? 0 : -1;
}

/* ------------------------------------------------------------ OpenSSL's own limits */

static double
raw_sign_rate(const struct bench *b, EVP_PKEY *key)
{
	unsigned char data[32] = { 1 }, sig[1024];
	double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), t = 0;
	long n = 0;

	while (n < MIN_ITER || t < b->seconds) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		size_t len = sizeof(sig);

		if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
		    EVP_DigestSign(ctx, sig, &len, data, sizeof(data)) != 1)
			die("EVP_DigestSign");
		EVP_MD_CTX_free(ctx);
		n++;
		t = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	}
	return (double)n / t;
}

static double
sha256_mb_s(const struct bench *b)
{
	static unsigned char buf[1 << 20];
	unsigned char md[32];
	double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), t = 0;
	long n = 0;

	memset(buf, 'a', sizeof(buf));
	while (n < MIN_ITER || t < b->seconds) {
		if (EVP_Digest(buf, sizeof(buf), md, NULL, EVP_sha256(), NULL) != 1)
			die("EVP_Digest");
		n++;
		t = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	}
	return (double)n * sizeof(buf) / 1e6 / t;
}

/* ------------------------------------------------------------ growth with recipients */

static const char *const size_name[] = { "2KB", "100KB", "10MB" };

/*
 * OpenSSL's own work for one recipient, in ms of CPU: an RSA public encryption of a 32-byte
 * content key, or for P-256 an ephemeral key pair and one ECDH derivation (what CMS key
 * agreement does per recipient, before its KDF and key wrap).
 */
static double
raw_rcpt_ms(const struct bench *b, EVP_PKEY *peer, bool ec)
{
	unsigned char in[32] = { 1 }, out[512];
	double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), t = 0;
	long n = 0;

	while (n < MIN_ITER || t < b->seconds) {
		EVP_PKEY *eph = ec ? EVP_EC_gen("P-256") : NULL;
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(ec ? eph : peer, NULL);
		size_t len = sizeof(out);
		int ok = ctx != NULL && (!ec || eph != NULL);

		if (ok && ec)
			ok = EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
			    EVP_PKEY_derive(ctx, out, &len) == 1;
		else if (ok)
			ok = EVP_PKEY_encrypt_init(ctx) == 1 &&
			    EVP_PKEY_encrypt(ctx, out, &len, in, sizeof(in)) == 1;
		if (!ok)
			die("raw recipient operation");
		EVP_PKEY_CTX_free(ctx);
		EVP_PKEY_free(eph);
		n++;
		t = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	}
	return t * 1e3 / (double)n;
}

/* MAX_RCPTS recipient certificates of one key type, signed by the bench CA. */
static void
make_rcpts(const struct bench *b, const char *type, X509 **certs, EVP_PKEY **keys)
{
	char cn[64];

	for (int i = 0; i < MAX_RCPTS; i++) {
		keys[i] = gen_key(type);
		snprintf(cn, sizeof(cn), "rcpt%d-%s@remote.test", i, type);
		certs[i] = make_cert(keys[i], cn, b->ca_cert, b->ca_key, false,
		    strcmp(type, "p256") == 0);
	}
}

/*
 * One series of -R: op on a message of `size` to 1, 10 and 100 recipients of `type`.
 * ms/rcpt divides by the recipients plus the sender's copy; "added" is the cost of each
 * recipient beyond the first (the growth), to compare with OpenSSL's raw figure.
 */
static int
recipients_series(struct bench *b, const struct ident *pair, const char *type, enum op op,
    size_t size, const char *size_label, double raw)
{
	static const size_t counts[] = { 1, 10, 100 };
	struct figures f;
	double first = 0;
	int failures = 0;
	char cs[80];

	for (size_t c = 0; c < 3; c++) {
		double ms, added = 0;
		bool grows;
		char ab[16] = "-";

		snprintf(cs, sizeof(cs), "%s-%s-%s-%zurcpt", op_name[op], type, size_label, counts[c]);
		if (b->only != NULL && strstr(cs, b->only) == NULL)
			continue;
		b->nrcpts = counts[c];
		if (run_case(b, pair, op, size, 0, &f) != 0) {
			printf("%s FAILED: %s\n", cs, f.err);
			failures++;
			continue;
		}
		ms = f.cpu_s * 1e3 / (double)f.iterations;
		if (c == 0)
			first = ms;
		grows = c > 0 && first > 0;
		if (grows) {
			added = (ms - first) / (double)(counts[c] - 1);
			snprintf(ab, sizeof(ab), "%.3f", added);
		}
		printf("%-8s %-13s %-6s %5zu %10.3f %9.3f %9s %10.3f\n", type, op_name[op],
		    size_label, counts[c], ms, ms / (double)(counts[c] + 1), ab, raw);
		record(b, "engine-rcpts", cs, "cpu", ms, "ms/msg");
		record(b, "engine-rcpts", cs, "cpu-per-rcpt", ms / (double)(counts[c] + 1), "ms/rcpt");
		if (grows)
			record(b, "engine-rcpts", cs, "cpu-added-rcpt", added, "ms/rcpt");
	}
	return failures;
}

/* -R: encrypt and sign+encrypt with the default pair, to recipients of each key type. */
static int
recipients_table(struct bench *b, const struct ident *pair)
{
	static const char *const types[] = { "p256", "rsa2048" };
	static const size_t sizes[] = { 2 * 1024, 100 * 1024 };
	X509 *certs[MAX_RCPTS];
	EVP_PKEY *keys[MAX_RCPTS];
	int failures = 0;
	char cs[80];

	printf("Growth with recipients: sender \"pair\" (P-256 signing, RSA-2048 sender's copy)\n");
	printf("%-8s %-13s %-6s %5s %10s %9s %9s %10s\n", "rcpt", "operation", "size", "rcpts",
	    "ms/msg", "ms/rcpt", "added", "raw/rcpt");
	for (int t = 0; t < 2; t++) {
		double raw;

		make_rcpts(b, types[t], certs, keys);
		raw = raw_rcpt_ms(b, keys[0], t == 0);
		snprintf(cs, sizeof(cs), "openssl-rcpt-%s", types[t]);
		record(b, "engine-rcpts", cs, "cpu", raw, "ms/rcpt");
		b->rcpts = certs;
		for (int o = OP_ENCRYPT; o <= OP_SIGN_ENCRYPT; o++)
			for (size_t s = 0; s < 2; s++)
				failures += recipients_series(b, pair, types[t], (enum op)o, sizes[s],
				    size_name[s], raw);
		b->rcpts = NULL;
		b->nrcpts = 0;
		for (int i = 0; i < MAX_RCPTS; i++) {
			X509_free(certs[i]);
			EVP_PKEY_free(keys[i]);
		}
	}
	return failures;
}

/* ------------------------------------------------------------ main */

/* Does -c select any case of this key? */
static bool
key_wanted(const struct bench *b, const char *key, size_t nsizes)
{
	char cs[64];

	if (b->only == NULL)
		return true;
	for (int o = 0; o < 3; o++)
		for (size_t s = 0; s < nsizes; s++) {
			snprintf(cs, sizeof(cs), "%s-%s-%s", op_name[o], key, size_name[s]);
			if (strstr(cs, b->only) != NULL)
				return true;
		}
	return false;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_engine [-t seconds] [-o results.tsv] [-d spool_dir] "
	    "[-m mem_limit] [-B big_MB] [-q] [-c case] [-R]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const size_t sizes[] = { 2 * 1024, 100 * 1024, 10 * 1024 * 1024 };
	struct bench b = { 1.5, "/tmp", NULL, 1 << 20, NULL, NULL, NULL, NULL, NULL, 0 };
	struct ident ids[NKEYS];
	struct figures f;
	size_t nsizes = 3, big_mb = 100;
	double sha;
	int c, failures = 0;
	char cs[64];

	bool rcpt_growth = false;

	while ((c = getopt(argc, argv, "t:o:d:m:B:qc:R")) != -1) {
		switch (c) {
		case 't': b.seconds = atof(optarg); break;
		case 'o':
			if ((b.tsv = fopen(optarg, "a")) == NULL)
				die("cannot open the -o file");
			break;
		case 'd': b.spool_dir = optarg; break;
		case 'm': b.mem_limit = strtoul(optarg, NULL, 10); break;
		case 'B': big_mb = strtoul(optarg, NULL, 10); break;
		case 'q': nsizes = 2; big_mb = 0; break;
		case 'c': b.only = optarg; break;
		case 'R': rcpt_growth = true; break;
		default: usage();
		}
	}
	if (b.seconds <= 0 || b.mem_limit < 4096)
		usage();
	setup(&b, ids);
	if (rcpt_growth) {
		failures = recipients_table(&b, &ids[NKEYS - 1]);
		goto done;
	}
	printf("S/MIME engine, CPU time per case >= %.1f s, memory spool limit %zu bytes\n",
	    b.seconds, b.mem_limit);
	sha = sha256_mb_s(&b);
	printf("OpenSSL SHA-256: %.0f MB/s (the limit for large messages)\n\n", sha);
	record(&b, "engine", "openssl-sha256", "rate", sha, "MB/s");
	for (int k = 0; k < NKEYS; k++) {
		double raw;

		if (!key_wanted(&b, ids[k].name, nsizes))
			continue;
		raw = raw_sign_rate(&b, ids[k].key);

		printf("%-8s OpenSSL EVP_DigestSign(32 bytes): %.0f signatures/s per core\n",
		    ids[k].name, raw);
		snprintf(cs, sizeof(cs), "openssl-sign-%s", ids[k].name);
		record(&b, "engine", cs, "rate", raw, "sig/s");
		printf("%-8s %-13s %-6s %10s %9s %9s %12s %10s %9s\n", "key", "operation", "size",
		    "msgs/s", "MB/s", "ms/msg", "of-raw-sign", "peak_rss", "rss_grow");
		for (int o = 0; o < 3; o++) {
			for (size_t s = 0; s < nsizes; s++) {
				double rate, mbs;
				char pct[16];

				snprintf(cs, sizeof(cs), "%s-%s-%s", op_name[o], ids[k].name, size_name[s]);
				if (b.only != NULL && strstr(cs, b.only) == NULL)
					continue;
				if (run_case(&b, &ids[k], (enum op)o, sizes[s], 0, &f) != 0) {
					printf("%-8s %-13s %-6s FAILED: %s\n", ids[k].name, op_name[o],
					    size_name[s], f.err);
					failures++;
					continue;
				}
				rate = (double)f.iterations / f.cpu_s;
				mbs = rate * (double)sizes[s] / 1e6;
				if (o == OP_ENCRYPT)  /* no signature: the sign rate is no limit */
					snprintf(pct, sizeof(pct), "-");
				else
					snprintf(pct, sizeof(pct), "%.0f%%", 100 * rate / raw);
				printf("%-8s %-13s %-6s %10.1f %9.1f %9.3f %12s %8ldKB %7ldKB\n",
				    ids[k].name, op_name[o], size_name[s], rate, mbs, 1e3 / rate, pct,
				    f.peak_rss_kb, f.rss_growth_kb);
				record(&b, "engine", cs, "rate", rate, "msg/s");
				record(&b, "engine", cs, "throughput", mbs, "MB/s");
				record(&b, "engine", cs, "cpu", 1e3 / rate, "ms/msg");
				record(&b, "engine", cs, "peak-rss", (double)f.peak_rss_kb, "KB");
				record(&b, "engine", cs, "rss-growth", (double)f.rss_growth_kb, "KB");
			}
		}
		printf("\n");
	}
	if (big_mb > 0 && (b.only == NULL || strstr("sign-p256-MB sign+encrypt-p256-MB", b.only) ||
	    strstr(b.only, "MB") != NULL)) {
		printf("Bounded memory: one %zu MB message, memory spool limit %zu bytes\n", big_mb,
		    b.mem_limit);
		for (int o = 0; o < 3; o += 2) {
			snprintf(cs, sizeof(cs), "%s-p256-%zuMB", op_name[o], big_mb);
			if (b.only != NULL && strstr(cs, b.only) == NULL)
				continue;
			if (run_case(&b, &ids[0], (enum op)o, big_mb << 20, 1, &f) != 0) {
				printf("  %s p256: FAILED: %s\n", op_name[o], f.err);
				failures++;
				continue;
			}
			printf("  %-13s p256: RSS growth %ld KB (peak %ld KB), %.2f s CPU, %.0f MB/s\n",
			    op_name[o], f.rss_growth_kb, f.peak_rss_kb, f.cpu_s,
			    (double)(big_mb << 20) / 1e6 / f.cpu_s);
			record(&b, "engine", cs, "rss-growth", (double)f.rss_growth_kb, "KB");
			record(&b, "engine", cs, "throughput", (double)(big_mb << 20) / 1e6 / f.cpu_s,
			    "MB/s");
		}
	}
done:
	for (int k = 0; k < NKEYS; k++) {
		cms_signed_template_free(ids[k].tmpl);
		EVP_PKEY_free(ids[k].key);
		EVP_PKEY_free(ids[k].rkey);
		X509_free(ids[k].cert);
		X509_free(ids[k].rcert);
	}
	sk_X509_pop_free(b.chain, X509_free);
	EVP_PKEY_free(b.ca_key);
	if (b.tsv != NULL)
		fclose(b.tsv);
	return failures ? 1 : 0;
}
