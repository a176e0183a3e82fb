/*
 * keypool: keys made ahead of time by one background thread (see keypool.h). Owns the pooled
 * keys and the thread. Keys come from OpenSSL's key generation (its CSPRNG), stay in memory
 * only, and are freed with EVP_PKEY_free, which clears the private numbers; a key is removed
 * from the pool under the lock before it is returned, so no key is handed out twice.
 *
 * Shutdown is bounded: RSA generation runs with a progress callback that aborts it as soon as
 * ca_kpool_free has asked the thread to stop, so closing never waits for a whole RSA-4096 key.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "ca/ca_int.h"
#include "ca/keypool.h"
#include "common/log.h"

#define NTYPES (CA_KEY_RSA4096 + 1)
#define FAIL_PAUSE_S 1     /* after a failed generation, so a broken RNG does not spin */

/* One key type's shelf. Guarded by the pool's lock. */
struct shelf {
	EVP_PKEY *keys[CA_KEYPOOL_MAX];
	unsigned n;
	bool pooled;
	unsigned long made, taken, missed, aborted;
};

/* Lifetime: ca_kpool_new .. ca_kpool_free. `lock` guards everything but `stop`. */
struct ca_kpool {
	pthread_mutex_t lock;
	pthread_cond_t work;       /* the thread waits here for a shelf to fall below size */
	pthread_cond_t filled;     /* ca_kpool_wait waits here */
	pthread_t thread;
	int stop;                  /* atomic: read by the generation callback without the lock */
	int busy;                  /* type being generated, -1 for none */
	unsigned size;
	struct shelf shelf[NTYPES];
};

static bool
poolable(enum ca_key_type t)
{
	return t == CA_KEY_EC_P384 || t == CA_KEY_RSA2048 || t == CA_KEY_RSA3072 ||
	    t == CA_KEY_RSA4096;
}

/* Called by OpenSSL during RSA generation; returning 0 abandons the key. */
static int
progress(EVP_PKEY_CTX *ctx)
{
	struct ca_kpool *kp = EVP_PKEY_CTX_get_app_data(ctx);

	return __atomic_load_n(&kp->stop, __ATOMIC_ACQUIRE) ? 0 : 1;
}

static EVP_PKEY *
generate(struct ca_kpool *kp, enum ca_key_type t, struct ca_error *err)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;
	int bits = t == CA_KEY_RSA2048 ? 2048 : t == CA_KEY_RSA3072 ? 3072 : 4096;

	if (t == CA_KEY_EC_P384)
		return ca_keygen(t, err);   /* a few milliseconds: no need to interrupt it */
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) <= 0) {
		ca_seterr_ssl(err, "key generation setup failed");
		goto out;
	}
	EVP_PKEY_CTX_set_app_data(ctx, kp);
	EVP_PKEY_CTX_set_cb(ctx, progress);
	if (EVP_PKEY_keygen(ctx, &k) <= 0) {
		k = NULL;
		ca_seterr_ssl(err, "key generation failed");
	}
out:
	EVP_PKEY_CTX_free(ctx);
	return k;
}

/* The pooled shelf with the fewest keys below size (the one a caller most likely finds empty). */
static int
next_type(struct ca_kpool *kp)
{
	int t, best = -1;

	for (t = 0; t < NTYPES; t++)
		if (kp->shelf[t].pooled && kp->shelf[t].n < kp->size &&
		    (best < 0 || kp->shelf[t].n < kp->shelf[best].n))
			best = t;
	return best;
}

static void *
run(void *arg)
{
	struct ca_kpool *kp = arg;
	struct ca_error err = { "" };
	struct timespec until;
	char safe[300];
	EVP_PKEY *k;
	int t;

#ifdef __linux__
	/* Refilling is background work: let mail and enrolment threads run first. */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
#endif
	pthread_mutex_lock(&kp->lock);
	while (!__atomic_load_n(&kp->stop, __ATOMIC_ACQUIRE)) {
		if ((t = next_type(kp)) < 0) {
			pthread_cond_wait(&kp->work, &kp->lock);
			continue;
		}
		kp->busy = t;
		pthread_mutex_unlock(&kp->lock);
		k = generate(kp, (enum ca_key_type)t, &err);
		pthread_mutex_lock(&kp->lock);
		kp->busy = -1;
		if (k == NULL) {
			if (__atomic_load_n(&kp->stop, __ATOMIC_ACQUIRE)) {
				kp->shelf[t].aborted++;
				ERR_clear_error();
				break;
			}
			as_log(AS_LEVEL_ERR, NULL, "event=keypool status=failed key=%s reason=%s",
			    ca_key_type_name((enum ca_key_type)t),
			    as_log_value(err.text, safe, sizeof(safe)));
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += FAIL_PAUSE_S;
			pthread_cond_timedwait(&kp->work, &kp->lock, &until);
			continue;
		}
		if (kp->shelf[t].n < kp->size) {
			kp->shelf[t].keys[kp->shelf[t].n++] = k; /* transferred */
			kp->shelf[t].made++;
			pthread_cond_broadcast(&kp->filled);
		} else
			EVP_PKEY_free(k);
	}
	pthread_mutex_unlock(&kp->lock);
	return NULL;
}

int
ca_kpool_new(unsigned size, unsigned warm, struct ca_kpool **out, struct ca_error *err)
{
	struct ca_kpool *kp;
	pthread_condattr_t ca;
	sigset_t all, old;
	int ret;

	*out = NULL;
	if ((kp = calloc(1, sizeof(*kp))) == NULL) {
		ca_seterr(err, "out of memory");
		return CA_ERR;
	}
	kp->size = size == 0 ? CA_KEYPOOL_DEFAULT : size > CA_KEYPOOL_MAX ? CA_KEYPOOL_MAX : size;
	kp->busy = -1;
	for (int t = 0; t < (int)(sizeof(kp->shelf) / sizeof(kp->shelf[0])); t++)
		if ((warm & (1u << t)) && poolable((enum ca_key_type)t))
			kp->shelf[t].pooled = true;
	pthread_mutex_init(&kp->lock, NULL);
	pthread_cond_init(&kp->work, NULL);
	/* ca_kpool_wait measures its timeout on the monotonic clock. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&kp->filled, &ca);
	pthread_condattr_destroy(&ca);
	/* The thread takes no signals: the daemon handles them in its own thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&kp->thread, NULL, run, kp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret != 0) {
		ca_seterr(err, "cannot start the key pool thread: %s", strerror(ret));
		pthread_cond_destroy(&kp->filled);
		pthread_cond_destroy(&kp->work);
		pthread_mutex_destroy(&kp->lock);
		free(kp);
		return CA_ERR;
	}
	*out = kp; /* transferred */
	return CA_OK;
}

EVP_PKEY *
ca_kpool_take(struct ca_kpool *kp, enum ca_key_type type)
{
	struct shelf *s;
	EVP_PKEY *k = NULL;

	if (kp == NULL || !poolable(type))
		return NULL;
	pthread_mutex_lock(&kp->lock);
	s = &kp->shelf[type];
	if (s->n > 0) {
		k = s->keys[--s->n]; /* transferred */
		s->keys[s->n] = NULL;
		s->taken++;
	} else
		s->missed++;
	s->pooled = true;   /* asked for once: keep it filled from now on */
	pthread_cond_signal(&kp->work);
	pthread_mutex_unlock(&kp->lock);
	return k;
}

int
ca_kpool_stats(struct ca_kpool *kp, enum ca_key_type type, struct ca_keypool_figures *out)
{
	struct shelf *s;

	memset(out, 0, sizeof(*out));
	if ((unsigned)type >= NTYPES)
		return CA_INVALID;
	pthread_mutex_lock(&kp->lock);
	s = &kp->shelf[type];
	out->ready = s->n;
	out->size = kp->size;
	out->pooled = s->pooled;
	out->generating = kp->busy == (int)type;
	out->made = s->made;
	out->taken = s->taken;
	out->missed = s->missed;
	out->aborted = s->aborted;
	pthread_mutex_unlock(&kp->lock);
	return CA_OK;
}

int
ca_kpool_wait(struct ca_kpool *kp, enum ca_key_type type, unsigned n, int timeout_ms)
{
	struct timespec until;
	int r = CA_OK;

	if ((unsigned)type >= NTYPES || !poolable(type))
		return CA_INVALID;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&kp->lock);
	if (n > kp->size)
		n = kp->size;
	if (!kp->shelf[type].pooled) {
		kp->shelf[type].pooled = true;
		pthread_cond_signal(&kp->work);
	}
	while (kp->shelf[type].n < n)
		if (pthread_cond_timedwait(&kp->filled, &kp->lock, &until) == ETIMEDOUT) {
			r = kp->shelf[type].n < n ? CA_ERR : CA_OK;
			break;
		}
	pthread_mutex_unlock(&kp->lock);
	return r;
}

void
ca_kpool_free(struct ca_kpool *kp)
{
	unsigned t, i;

	if (kp == NULL)
		return;
	pthread_mutex_lock(&kp->lock);
	__atomic_store_n(&kp->stop, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&kp->work);
	pthread_mutex_unlock(&kp->lock);
	pthread_join(kp->thread, NULL);
	for (t = 0; t < NTYPES; t++)
		for (i = 0; i < kp->shelf[t].n; i++)
			EVP_PKEY_free(kp->shelf[t].keys[i]);   /* clears the private numbers */
	pthread_cond_destroy(&kp->filled);
	pthread_cond_destroy(&kp->work);
	pthread_mutex_destroy(&kp->lock);
	free(kp);
}
