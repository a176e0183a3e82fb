/*
 * mime_boundary: unique, unpredictable multipart boundaries without a DRBG draw per message.
 * Owns a per-process random key and a message counter.
 *
 * A boundary is the first 16 bytes of SHA-256(key || counter), in hex. libmilter runs every
 * MTA connection in a new thread, and a thread's first RAND_bytes instantiates (and at exit
 * frees) that thread's own DRBG: measured as about 4% of the daemon's CPU per message. One
 * draw per process plus a hash keeps boundaries unique (the counter) and unguessable from the
 * boundaries a sender has seen (the key), so message content cannot be crafted to end a part.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "milter/engine/mime_boundary.h"

static unsigned char key[32];
static EVP_MD *sha256;
static int ready;
static atomic_uint_fast64_t counter;
static CRYPTO_ONCE once = CRYPTO_ONCE_STATIC_INIT;

/* Once per process; on failure `ready` stays 0 and every call fails (the caller tempfails). */
static void
init(void)
{
	if (RAND_bytes(key, sizeof(key)) != 1)
		return;
	if ((sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		return;
	ready = 1;		/* key and sha256 live for the whole process */
}

int
mime_boundary_make(char *b, size_t cap)
{
	static const char hexd[] = "0123456789abcdef";
	unsigned char in[sizeof(key) + 8], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	uint64_t n;
	size_t o = 0;

	if (cap < MIME_BOUNDARY_LEN + 1 || !CRYPTO_THREAD_run_once(&once, init) || !ready)
		return -1;
	n = atomic_fetch_add(&counter, 1);
	memcpy(in, key, sizeof(key));
	for (int i = 0; i < 8; i++)
		in[sizeof(key) + i] = (unsigned char)(n >> (8 * i));
	if (EVP_Digest(in, sizeof(in), md, &mdlen, sha256, NULL) != 1 || mdlen < 16)
		return -1;
	memcpy(b, "smime-", 6);
	o = 6;
	for (int i = 0; i < 16; i++) {
		b[o++] = hexd[md[i] >> 4];
		b[o++] = hexd[md[i] & 15];
	}
	b[o] = '\0';
	return 0;
}
