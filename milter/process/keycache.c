/*
 * keycache: a mutex-guarded hash table of mailbox -> signer (or "none"), with reference
 * counts so that eviction never frees a key a message is signing with. Owns the entries, the
 * ca_signer objects and the CMS templates (cms_signed) in them; borrows the CA handle.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "milter/engine/cms_signed.h"
#include "milter/process/keycache.h"

#define BUCKETS 1024

/* Lifetime: from load until it is out of the table and its last user put it back. */
struct keycache_entry {
	struct keycache_entry *next;   /* bucket chain, while in the table */
	char *mailbox;                 /* lower case */
	struct ca_signer *signer;      /* NULL: the CA had no valid certificate */
	struct cms_signed_template *tmpl; /* NULL: key type without one, or building it failed */
	X509 *enc_cert;                /* the sender's encryption certificate; NULL: none */
	unsigned caps;                 /* SMIMECapabilities the template advertises */
	time_t loaded_at;
	uint64_t generation;
	unsigned refs;                 /* the table holds one while the entry is in it */
};

/* Lifetime: per process. */
struct keycache {
	pthread_mutex_t lock;
	struct ca *ca;
	time_t (*now)(void);
	size_t max_entries;
	size_t count;
	unsigned long hits, loads;
	struct keycache_entry *bucket[BUCKETS];
};

static time_t
clock_now(struct keycache *kc)
{
	return kc->now != NULL ? kc->now() : time(NULL);
}

static void
entry_free(struct keycache_entry *e)
{
	cms_signed_template_free(e->tmpl);
	X509_free(e->enc_cert);
	ca_signer_free(e->signer);
	free(e->mailbox);
	free(e);
}

struct keycache *
keycache_new(struct ca *ca, time_t (*now)(void), size_t max_entries)
{
	struct keycache *kc = calloc(1, sizeof(*kc));

	if (kc == NULL)
		return NULL;
	if (pthread_mutex_init(&kc->lock, NULL) != 0) {
		free(kc);
		return NULL;
	}
	kc->ca = ca;
	kc->now = now;
	kc->max_entries = max_entries > 0 ? max_entries : 1;
	return kc;
}

void
keycache_free(struct keycache *kc)
{
	if (kc == NULL)
		return;
	for (size_t i = 0; i < BUCKETS; i++) {
		struct keycache_entry *e = kc->bucket[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			/* entries still held by a message are a caller bug; free them anyway */
			entry_free(e);
		}
	}
	pthread_mutex_destroy(&kc->lock);
	free(kc);
}

static size_t
hash(const char *s)
{
	size_t h = 5381;

	for (; *s != '\0'; s++)
		h = h * 33 + (unsigned char)tolower((unsigned char)*s);
	return h % BUCKETS;
}

static bool
entry_fresh(struct keycache *kc, const struct keycache_entry *e, long long ttl, uint64_t gen,
    time_t now, unsigned caps)
{
	if (e->generation != gen || now < e->loaded_at || now - e->loaded_at >= ttl ||
	    e->caps != caps)
		return false;
	return e->signer == NULL || now < e->signer->not_after;
}

/* Take e out of the table (lock held); free it unless a message still holds it. */
static void
unlink_entry(struct keycache *kc, struct keycache_entry **link)
{
	struct keycache_entry *e = *link;

	*link = e->next;
	e->next = NULL;
	kc->count--;
	if (--e->refs == 0)
		entry_free(e);
}

/* Make room (lock held): drop stale entries, then the oldest one. */
static void
make_room(struct keycache *kc, long long ttl, uint64_t gen, time_t now, unsigned caps)
{
	struct keycache_entry **oldest = NULL;

	for (size_t i = 0; i < BUCKETS; i++)
		for (struct keycache_entry **l = &kc->bucket[i]; *l != NULL;) {
			if (!entry_fresh(kc, *l, ttl, gen, now, caps)) {
				unlink_entry(kc, l);
				continue;
			}
			l = &(*l)->next;
		}
	if (kc->count < kc->max_entries)
		return;
	for (size_t i = 0; i < BUCKETS; i++)
		for (struct keycache_entry **l = &kc->bucket[i]; *l != NULL; l = &(*l)->next)
			if (oldest == NULL || (*l)->loaded_at < (*oldest)->loaded_at)
				oldest = l;
	if (oldest != NULL)
		unlink_entry(kc, oldest);
}

static struct keycache_entry **
find(struct keycache *kc, const char *mailbox)
{
	struct keycache_entry **l = &kc->bucket[hash(mailbox)];

	for (; *l != NULL; l = &(*l)->next)
		if (strcasecmp((*l)->mailbox, mailbox) == 0)
			return l;
	return NULL;
}

int
keycache_get(struct keycache *kc, const char *mailbox, long long ttl, unsigned caps,
    struct keycache_entry **out, struct ca_error *err)
{
	struct keycache_entry *e = NULL, **l;
	struct ca_signer *signer = NULL;
	uint64_t gen = 0;
	time_t now;
	int rc;

	*out = NULL;
	rc = ca_generation_counter(kc->ca, &gen, err);
	if (rc != CA_OK)
		return CA_ERR;
	now = clock_now(kc);
	pthread_mutex_lock(&kc->lock);
	l = find(kc, mailbox);
	if (l != NULL) {
		if (entry_fresh(kc, *l, ttl, gen, now, caps)) {
			e = *l;
			e->refs++;
			kc->hits++;
		} else
			unlink_entry(kc, l);
	}
	pthread_mutex_unlock(&kc->lock);
	if (e == NULL) {
		/* load outside the lock: a slow store must not stall other senders */
		rc = ca_signer_load(kc->ca, mailbox, &signer, err);
		if (rc != CA_OK && rc != CA_NOTFOUND)
			return CA_ERR;
		e = calloc(1, sizeof(*e));
		if (e == NULL || (e->mailbox = strdup(mailbox)) == NULL) {
			free(e);
			ca_signer_free(signer);
			snprintf(err->text, sizeof(err->text), "out of memory");
			return CA_ERR;
		}
		for (char *p = e->mailbox; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		e->signer = signer; /* transferred */
		/*
		 * the constant CMS parts, once per key instead of per message; on failure the
		 * engine builds one per message and reports why
		 */
		e->caps = caps;
		if (signer != NULL && ca_encryption_cert(kc->ca, mailbox, &e->enc_cert, err) ==
		    CA_ERR) {
			entry_free(e);
			return CA_ERR;
		}
		if (signer != NULL && cms_signed_supported(signer->key))
			e->tmpl = cms_signed_template_new(signer->key, signer->cert, signer->chain,
			    e->enc_cert, caps, NULL);
		e->loaded_at = now;
		e->generation = gen;
		e->refs = 1;
		pthread_mutex_lock(&kc->lock);
		kc->loads++;
		if (ttl > 0) {
			/* another thread may have loaded the same sender meanwhile: replace it */
			l = find(kc, mailbox);
			if (l != NULL)
				unlink_entry(kc, l);
			if (kc->count >= kc->max_entries)
				make_room(kc, ttl, gen, now, caps);
			e->refs++;
			e->next = kc->bucket[hash(e->mailbox)];
			kc->bucket[hash(e->mailbox)] = e;
			kc->count++;
		}
		pthread_mutex_unlock(&kc->lock);
	}
	if (e->signer == NULL) {
		keycache_put(kc, e);
		return CA_NOTFOUND;
	}
	*out = e;
	return CA_OK;
}

const struct ca_signer *
keycache_signer(const struct keycache_entry *e)
{
	return e->signer;
}

X509 *
keycache_encryption_cert(const struct keycache_entry *e)
{
	return e->enc_cert;
}

const struct cms_signed_template *
keycache_template(const struct keycache_entry *e)
{
	return e->tmpl;
}

void
keycache_put(struct keycache *kc, struct keycache_entry *e)
{
	bool last;

	if (e == NULL)
		return;
	pthread_mutex_lock(&kc->lock);
	last = --e->refs == 0;
	pthread_mutex_unlock(&kc->lock);
	if (last)
		entry_free(e);
}

void
keycache_stats(struct keycache *kc, struct keycache_stats *out)
{
	pthread_mutex_lock(&kc->lock);
	out->hits = kc->hits;
	out->loads = kc->loads;
	out->entries = kc->count;
	pthread_mutex_unlock(&kc->lock);
}
