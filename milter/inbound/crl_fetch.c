/*
 * crl_fetch: CRL cache and fetch thread (see crl_fetch.h). Owns the cache entries, their
 * CRLs and the thread; the disk files under cache_dir are written here and nowhere else.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "milter/inbound/crl_fetch.h"
#include "milter/inbound/crl_http.h"

/* Refresh this long before nextUpdate (or after a fetch without nextUpdate). */
#define REFRESH_MARGIN_S 3600
#define IDLE_WAKE_S 30

/* One URL. Guarded by the cache lock; `fetching` entries are never evicted. */
struct crl_entry {
	char *url;
	X509_CRL *crl;
	time_t next_update;     /* 0: none given */
	time_t fetched_at, last_try, last_used;
	bool fetching;
	bool tried;             /* at least one fetch finished (ok or not) */
	unsigned waiters;
	char why[128];          /* last failure */
	EVP_PKEY *sig_key;      /* crl's signature was checked with this key (NULL: not yet) */
	bool sig_ok;            /* and this was the outcome; both go when crl is replaced */
};

struct crl_cache {
	struct crl_cache_params p;
	char *dir;
	pthread_mutex_t lock;
	pthread_cond_t work;    /* the thread waits on it */
	pthread_cond_t done;    /* message paths wait on it */
	pthread_t thread;
	bool stop;
	struct crl_entry *e[CRL_CACHE_MAX_ENTRIES];
	size_t n;
};

static time_t
now(const struct crl_cache *c)
{
	return c->p.now != NULL ? c->p.now() : time(NULL);
}

static void
file_name(const struct crl_cache *c, const char *url, char *out, size_t cap)
{
	unsigned char md[32];
	char hex[65];

	EVP_Digest(url, strlen(url), md, NULL, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(out, cap, "%s/%s.crl", c->dir, hex);
}

static X509_CRL *
parse_crl(const unsigned char *data, size_t len)
{
	X509_CRL *crl = NULL;

	if (len > 10 && memcmp(data, "-----BEGIN", 10) == 0) {
		BIO *b = BIO_new_mem_buf(data, (int)len);

		if (b != NULL)
			crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
		BIO_free(b);
	} else {
		const unsigned char *q = data;

		crl = d2i_X509_CRL(NULL, &q, (long)len);
		if (crl != NULL && q != data + len) {
			X509_CRL_free(crl);
			crl = NULL;
		}
	}
	return crl;
}

static time_t
crl_next_update(const X509_CRL *crl)
{
	const ASN1_TIME *t = X509_CRL_get0_nextUpdate(crl);
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

static X509_CRL *
disk_load(const struct crl_cache *c, const char *url, size_t max)
{
	char path[4200];
	unsigned char *buf = NULL;
	X509_CRL *crl = NULL;
	struct stat st;
	ssize_t got;
	int fd;

	if (c->dir == NULL)
		return NULL;
	file_name(c, url, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (size_t)st.st_size <= max && (buf = malloc((size_t)st.st_size)) != NULL &&
	    (got = read(fd, buf, (size_t)st.st_size)) == st.st_size)
		crl = parse_crl(buf, (size_t)got);
	free(buf);
	close(fd);
	return crl;
}

static void
disk_save(const struct crl_cache *c, const char *url, X509_CRL *crl)
{
	char path[4200], tmp[4300];
	unsigned char *der = NULL;
	int len, fd;

	if (c->dir == NULL || (len = i2d_X509_CRL(crl, &der)) <= 0)
		return;
	file_name(c, url, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd >= 0) {
		bool ok = write(fd, der, (size_t)len) == len;

		ok = close(fd) == 0 && ok;
		if (!ok || rename(tmp, path) != 0) {
			unlink(tmp);
			as_log(AS_LEVEL_WARNING, NULL, "event=crl-cache-write-failed");
		}
	}
	OPENSSL_free(der);
}

/* Called wherever e->crl changes: a remembered signature check belongs to one CRL object. */
static void
entry_forget_signature(struct crl_entry *e)
{
	EVP_PKEY_free(e->sig_key);
	e->sig_key = NULL;
	e->sig_ok = false;
}

static bool
needs_fetch(const struct crl_cache *c, const struct crl_entry *e, time_t t)
{
	if (e->fetching)
		return false;
	if (e->tried && t - e->last_try < c->p.retry_s)
		return false;
	if (e->crl == NULL)
		return true;
	if (e->next_update != 0)
		return t >= e->next_update - REFRESH_MARGIN_S;
	return t - e->fetched_at >= REFRESH_MARGIN_S;
}

static void
fetch_one(struct crl_cache *c, struct crl_entry *e)
{
	char why[128] = "", vb[300];
	unsigned char *body = NULL;
	X509_CRL *crl = NULL;
	size_t len = 0;
	char *url = e->url;   /* stable: never freed while fetching */

	pthread_mutex_unlock(&c->lock);
	if (crl_http_get(url, c->p.timeout_ms, c->p.max_size, &body, &len, why, sizeof(why)) == 0) {
		if ((crl = parse_crl(body, len)) == NULL)
			snprintf(why, sizeof(why), "not a CRL");
		else
			disk_save(c, url, crl);
	}
	free(body);
	as_log(crl != NULL ? AS_LEVEL_INFO : AS_LEVEL_NOTICE, NULL, "event=crl-fetch url=%s result=%s",
	    as_log_value(url, vb, sizeof(vb)), crl != NULL ? "ok" : why);
	pthread_mutex_lock(&c->lock);
	e->fetching = false;
	e->tried = true;
	e->last_try = now(c);
	if (crl != NULL) {
		entry_forget_signature(e);
		X509_CRL_free(e->crl);
		e->crl = crl; /* transferred */
		e->next_update = crl_next_update(crl);
		e->fetched_at = e->last_try;
		e->why[0] = '\0';
	} else {
		snprintf(e->why, sizeof(e->why), "%s", why);
	}
	pthread_cond_broadcast(&c->done);
}

static void *
worker(void *arg)
{
	struct crl_cache *c = arg;

	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		struct crl_entry *pick = NULL;
		time_t t = now(c);

		for (size_t i = 0; i < c->n && pick == NULL; i++)
			if (needs_fetch(c, c->e[i], t) &&
			    (c->e[i]->crl == NULL || t - c->e[i]->last_used < 7 * 86400))
				pick = c->e[i];
		if (pick != NULL) {
			pick->fetching = true;
			fetch_one(c, pick);
			continue;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += IDLE_WAKE_S;
		pthread_cond_timedwait(&c->work, &c->lock, &ts);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

struct crl_cache *
crl_cache_new(const struct crl_cache_params *p, char *why, size_t whycap)
{
	struct crl_cache *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		snprintf(why, whycap, "out of memory");
		return NULL;
	}
	c->p = *p;
	c->p.cache_dir = NULL;
	if (c->p.timeout_ms <= 0)
		c->p.timeout_ms = 10000;
	if (c->p.max_size == 0)
		c->p.max_size = 4 * 1024 * 1024;
	if (c->p.wait_ms <= 0)
		c->p.wait_ms = 3000;
	if (c->p.retry_s <= 0)
		c->p.retry_s = 60;
	if (p->cache_dir != NULL && p->cache_dir[0] != '\0') {
		if ((c->dir = strdup(p->cache_dir)) == NULL) {
			free(c);
			snprintf(why, whycap, "out of memory");
			return NULL;
		}
		if (mkdir(c->dir, 0755) != 0 && errno != EEXIST) {
			snprintf(why, whycap, "cannot create the CRL cache directory");
			free(c->dir);
			free(c);
			return NULL;
		}
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->work, NULL);
	pthread_cond_init(&c->done, NULL);
	if (pthread_create(&c->thread, NULL, worker, c) != 0) {
		snprintf(why, whycap, "cannot start the CRL fetch thread");
		pthread_cond_destroy(&c->work);
		pthread_cond_destroy(&c->done);
		pthread_mutex_destroy(&c->lock);
		free(c->dir);
		free(c);
		return NULL;
	}
	return c;
}

static void
entry_free(struct crl_entry *e)
{
	if (e == NULL)
		return;
	entry_forget_signature(e);
	X509_CRL_free(e->crl);
	free(e->url);
	free(e);
}

void
crl_cache_free(struct crl_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_broadcast(&c->work);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	for (size_t i = 0; i < c->n; i++)
		entry_free(c->e[i]);
	pthread_cond_destroy(&c->work);
	pthread_cond_destroy(&c->done);
	pthread_mutex_destroy(&c->lock);
	free(c->dir);
	free(c);
}

/* The entry of url, created when new (evicting the least recently used idle one). */
static struct crl_entry *
entry_get(struct crl_cache *c, const char *url, time_t t)
{
	struct crl_entry *e;
	size_t victim = SIZE_MAX;

	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->e[i]->url, url) == 0)
			return c->e[i];
	if (c->n == CRL_CACHE_MAX_ENTRIES) {
		for (size_t i = 0; i < c->n; i++)
			if (!c->e[i]->fetching && c->e[i]->waiters == 0 &&
			    (victim == SIZE_MAX || c->e[i]->last_used < c->e[victim]->last_used))
				victim = i;
		if (victim == SIZE_MAX)
			return NULL;
		entry_free(c->e[victim]);
		c->e[victim] = c->e[--c->n];
	}
	if ((e = calloc(1, sizeof(*e))) == NULL || (e->url = strdup(url)) == NULL) {
		free(e);
		return NULL;
	}
	e->last_used = t;
	/* a CRL kept on disk by an earlier run serves until the thread refreshes it */
	if ((e->crl = disk_load(c, url, c->p.max_size)) != NULL) {
		e->next_update = crl_next_update(e->crl);
		e->fetched_at = t;
		if (e->next_update != 0 && e->next_update <= t) {
			X509_CRL_free(e->crl);
			e->crl = NULL;
			e->next_update = 0;
		}
	}
	c->e[c->n++] = e;
	return e;
}

void
crl_cache_deadline(const struct crl_cache *c, bool wait, struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	if (!wait)
		return;
	ts->tv_sec += c->p.wait_ms / 1000;
	ts->tv_nsec += (long)(c->p.wait_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

enum crl_state
crl_cache_get(struct crl_cache *c, const char *url, X509_CRL **out, char *why, size_t whycap)
{
	struct timespec ts;

	crl_cache_deadline(c, true, &ts);
	return crl_cache_get_until(c, url, &ts, out, why, whycap);
}

enum crl_state
crl_cache_get_until(struct crl_cache *c, const char *url, const struct timespec *deadline,
    X509_CRL **out, char *why, size_t whycap)
{
	struct crl_entry *e;
	enum crl_state st;
	struct timespec ts = *deadline;
	time_t t = now(c);

	*out = NULL;
	snprintf(why, whycap, "%s", "");
	if (crl_url_parse(url, &(struct crl_url){ { 0 }, { 0 }, { 0 } }) != 0) {
		snprintf(why, whycap, "CRL distribution point is not an http URL");
		return CRL_FAILED;
	}
	pthread_mutex_lock(&c->lock);
	if ((e = entry_get(c, url, t)) == NULL) {
		pthread_mutex_unlock(&c->lock);
		snprintf(why, whycap, "CRL cache full");
		return CRL_PENDING;
	}
	e->last_used = t;
	e->waiters++;
	/* wait for a first CRL, or for a fresh one when ours is past nextUpdate */
	while (!c->stop && (e->crl == NULL || (e->next_update != 0 && e->next_update <= t)) &&
	    (needs_fetch(c, e, t) || e->fetching)) {
		pthread_cond_broadcast(&c->work);
		if (pthread_cond_timedwait(&c->done, &c->lock, &ts) == ETIMEDOUT)
			break;
		t = now(c);
	}
	e->waiters--;
	if (e->crl != NULL) {
		X509_CRL_up_ref(e->crl);
		*out = e->crl;
		st = CRL_READY;
	} else if (e->tried && !e->fetching) {
		snprintf(why, whycap, "CRL fetch failed: %s", e->why);
		st = CRL_FAILED;
	} else {
		snprintf(why, whycap, "CRL fetch still in progress");
		st = CRL_PENDING;
	}
	if (needs_fetch(c, e, t))
		pthread_cond_broadcast(&c->work);
	pthread_mutex_unlock(&c->lock);
	return st;
}

size_t
crl_dp_urls(X509 *cert, char urls[][1024], size_t max)
{
	STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
	size_t n = 0;

	for (int i = 0; i < sk_DIST_POINT_num(dps) && i < 8 && n < max; i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (int j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname) && j < 8 &&
		    n < max; j++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);
			const unsigned char *s;
			int len;

			if (gn->type != GEN_URI)
				continue;
			s = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
			len = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
			if (len <= 7 || len >= 1024 || memchr(s, '\0', (size_t)len) != NULL ||
			    strncasecmp((const char *)s, "http://", 7) != 0)
				continue;
			memcpy(urls[n], s, (size_t)len);
			urls[n][len] = '\0';
			n++;
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	return n;
}

/* The entry that holds crl. crl is alive (the caller holds a reference), so no other entry's
 * CRL can share its address. */
static struct crl_entry *
entry_of_crl(const struct crl_cache *c, const X509_CRL *crl)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i]->crl == crl)
			return c->e[i];
	return NULL;
}

bool
crl_cache_signature_ok(struct crl_cache *c, X509_CRL *crl, EVP_PKEY *key)
{
	struct crl_entry *e;
	bool ok;

	pthread_mutex_lock(&c->lock);
	e = entry_of_crl(c, crl);
	if (e != NULL && e->sig_key != NULL && EVP_PKEY_eq(e->sig_key, key) == 1) {
		ok = e->sig_ok;
		pthread_mutex_unlock(&c->lock);
		return ok;
	}
	pthread_mutex_unlock(&c->lock);
	/* outside the lock: hashing a large CRL must not hold up the other milter threads */
	ok = X509_CRL_verify(crl, key) > 0;
	pthread_mutex_lock(&c->lock);
	if ((e = entry_of_crl(c, crl)) != NULL && EVP_PKEY_up_ref(key) == 1) {
		entry_forget_signature(e);
		e->sig_key = key;
		e->sig_ok = ok;
	}
	pthread_mutex_unlock(&c->lock);
	return ok;
}
