/*
 * runtime: configuration snapshots with reference counts, and their atomic swap on reload.
 * Owns the snapshots and each snapshot's inbound pipeline; the CA handle and key cache are
 * only borrowed here.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "milter/engine/smime.h"
#include "milter/inbound/inbound.h"
#include "milter/process/netsendermap.h"
#include "milter/process/runtime.h"
#include "policy/smimea.h"

#define INBOUND_OUTPUT_SLACK (1024 * 1024)

static void
snapshot_free(struct snapshot *snap)
{
	if (snap == NULL)
		return;
	/* stops the CRL thread; a fetch in progress ends within crl_fetch_timeout */
	inbound_free(snap->inbound);
	if (snap->enrol_free != NULL)
		snap->enrol_free(snap);   /* before the config it borrows from */
	as_smimea_free(snap->smimea);
	pthread_mutex_destroy(&snap->inbound_lock);
	as_conf_free(snap->conf);
	sendermap_free(snap->map);
	netlist_free(snap->nets);
	netsendermap_free(snap->netmap);
	free(snap);
}

struct snapshot *
snapshot_new(struct as_conf *conf, char *why, size_t cap)
{
	struct snapshot *snap = calloc(1, sizeof(*snap));
	struct sendermap_error merr = { "" };

	if (snap == NULL) {
		snprintf(why, cap, "out of memory");
		as_conf_free(conf);
		return NULL;
	}
	if (pthread_mutex_init(&snap->inbound_lock, NULL) != 0) {
		snprintf(why, cap, "cannot create a lock");
		as_conf_free(conf);
		free(snap);
		return NULL;
	}
	snap->conf = conf; /* transferred */
	snap->refs = 1;
	for (size_t i = 0; i < conf->sender_capabilities.count; i++)
		snap->sender_caps |= smime_cap_parse(conf->sender_capabilities.item[i]);
	if (conf->sender_map_file != NULL && *conf->sender_map_file != '\0')
		snap->map = sendermap_load(conf->sender_map_file, &merr);
	else
		snap->map = sendermap_empty();
	if (snap->map == NULL) {
		snprintf(why, cap, "sender_map_file: %s", merr.text[0] ? merr.text : "out of memory");
		goto fail;
	}
	snap->nets = netlist_parse(&conf->internal_networks, why, cap);
	if (snap->nets == NULL)
		goto fail;
	if (conf->network_sender_map_file != NULL && *conf->network_sender_map_file != '\0') {
		char nwhy[400];

		snap->netmap = netsendermap_load(conf->network_sender_map_file, nwhy, sizeof(nwhy));
		if (snap->netmap == NULL)
			snprintf(why, cap, "network_sender_map_file: %s", nwhy);
	} else if ((snap->netmap = netsendermap_empty()) == NULL)
		snprintf(why, cap, "out of memory");
	if (snap->netmap == NULL)
		goto fail;
	if (conf->smimea_lookup) {
		struct as_smimea_params sp = { conf->dns_resolver, conf->dns_trust_anchor_file, NULL };

		if ((snap->smimea = as_smimea_new(&sp, why, cap)) == NULL)
			goto fail;
	}
	return snap;
fail:
	snapshot_free(snap);
	return NULL;
}

int
runtime_init(struct milter_runtime *rt, struct snapshot *first)
{
	if (pthread_mutex_init(&rt->lock, NULL) != 0) {
		snapshot_free(first);
		return -1;
	}
	rt->current = first; /* transferred */
	rt->generations = 1;
	first->generation = 1;
	return 0;
}

void
runtime_destroy(struct milter_runtime *rt)
{
	runtime_release(rt, rt->current);
	rt->current = NULL;
	pthread_mutex_destroy(&rt->lock);
}

struct snapshot *
runtime_acquire(struct milter_runtime *rt)
{
	struct snapshot *snap;

	pthread_mutex_lock(&rt->lock);
	snap = rt->current;
	snap->refs++;
	pthread_mutex_unlock(&rt->lock);
	return snap;
}

void
runtime_release(struct milter_runtime *rt, struct snapshot *snap)
{
	bool last;

	if (snap == NULL)
		return;
	pthread_mutex_lock(&rt->lock);
	last = --snap->refs == 0;
	pthread_mutex_unlock(&rt->lock);
	if (last)
		snapshot_free(snap);
}

void
runtime_swap(struct milter_runtime *rt, struct snapshot *snap)
{
	struct snapshot *old;

	pthread_mutex_lock(&rt->lock);
	old = rt->current;
	snap->generation = ++rt->generations;
	rt->current = snap; /* transferred */
	pthread_mutex_unlock(&rt->lock);
	runtime_release(rt, old);
}

struct snapshot *
runtime_load(struct milter_runtime *rt, const char *path, int path_given)
{
	struct as_conf_error cerr = { "" };
	struct as_conf *conf;
	struct snapshot *snap;
	char why[512] = "";

	if (!path_given && access(path, F_OK) < 0 && errno == ENOENT)
		conf = as_conf_defaults();
	else
		conf = as_conf_load(path, &cerr);
	if (conf == NULL) {
		char safe[600];

		as_log(AS_LEVEL_ERR, NULL, "event=reload status=failed reason=%s",
		    as_log_value(cerr.text, safe, sizeof(safe)));
		return NULL;
	}
	snap = snapshot_new(conf, why, sizeof(why)); /* conf transferred */
	if (snap == NULL) {
		char safe[600];

		as_log(AS_LEVEL_ERR, NULL, "event=reload status=failed reason=%s",
		    as_log_value(why, safe, sizeof(safe)));
		return NULL;
	}
	as_log_set_level(snap->conf->log_level);
	/* the CA is open by now: set inbound up before the swap, off the message path */
	if (rt->ca != NULL && runtime_inbound_enabled(snap))
		(void)runtime_inbound(rt, snap);
	return snap;
}

void
runtime_install(struct milter_runtime *rt, struct snapshot *snap)
{
	runtime_swap(rt, snap);
	/* only the reloading thread swaps, so snap stays current while this logs */
	as_log(AS_LEVEL_NOTICE, NULL, "event=reload status=ok generation=%lu sender_map_entries=%zu",
	    snap->generation, sendermap_count(snap->map));
}

bool
runtime_inbound_enabled(const struct snapshot *snap)
{
	return snap->conf->inbound_verify || snap->conf->inbound_decrypt;
}

static struct inbound *
inbound_make(struct milter_runtime *rt, const struct as_conf *conf, bool crl_disk, char *why,
    size_t cap)
{
	struct inbound_params p = { 0 };

	p.authserv_id = conf->authserv_id;
	p.verify = conf->inbound_verify;
	p.decrypt = conf->inbound_decrypt;
	p.harvest = conf->harvest_certificates;
	p.trust_anchor_file = conf->trust_anchor_file;
	p.anchor_dir = conf->trust_anchor_dir;
	p.crl_check = conf->crl_check;
	p.crl_cache_dir = crl_disk ? conf->crl_cache_dir : NULL;
	p.crl_timeout_ms = (int)conf->crl_fetch_timeout * 1000;
	/* crl_wait 0 means "never wait"; the cache reads 0 as its default */
	p.crl_wait_ms = conf->crl_wait > 0 ? (int)conf->crl_wait * 1000 : 1;
	p.mem_limit = (size_t)conf->memory_spool_limit;
	p.spool_dir = conf->spool_dir;
	p.max_size = (size_t)conf->message_size_limit * 2 + INBOUND_OUTPUT_SLACK;
	p.now = rt->now;
	return inbound_new(&p, rt->ca, why, cap);
}

struct inbound *
runtime_inbound(struct milter_runtime *rt, const struct snapshot *csnap)
{
	/* the one mutable part of a snapshot: made once, under its own lock */
	struct snapshot *snap = (struct snapshot *)csnap;
	const struct as_conf *conf = snap->conf;
	struct inbound *ib;
	char why[512] = "", safe[600];
	time_t now;

	if (!runtime_inbound_enabled(snap))
		return NULL;
	pthread_mutex_lock(&snap->inbound_lock);
	if ((ib = snap->inbound) != NULL)
		goto out;
	now = rt->now != NULL ? rt->now() : time(NULL);
	if (snap->inbound_failed_at != 0 && now - snap->inbound_failed_at < RUNTIME_INBOUND_RETRY &&
	    now >= snap->inbound_failed_at)
		goto out;
	ib = inbound_make(rt, conf, true, why, sizeof(why));
	if (ib == NULL && conf->crl_check && conf->crl_cache_dir != NULL &&
	    *conf->crl_cache_dir != '\0') {
		/* an unusable cache directory costs restarts a refetch, not inbound mail */
		as_log(AS_LEVEL_WARNING, NULL, "event=inbound-setup status=degraded "
		    "reason=%s crl_cache=memory", as_log_value(why, safe, sizeof(safe)));
		ib = inbound_make(rt, conf, false, why, sizeof(why));
	}
	if (ib == NULL) {
		snap->inbound_failed_at = now;
		as_log(AS_LEVEL_ERR, NULL, "event=inbound-setup status=failed generation=%lu reason=%s",
		    snap->generation, as_log_value(why, safe, sizeof(safe)));
		goto out;
	}
	snap->inbound = ib;
	as_log(AS_LEVEL_INFO, NULL, "event=inbound-setup status=ok verify=%s decrypt=%s "
	    "harvest=%s crl_check=%s", conf->inbound_verify ? "yes" : "no",
	    conf->inbound_decrypt ? "yes" : "no", conf->harvest_certificates ? "yes" : "no",
	    conf->crl_check ? "yes" : "no");
out:
	pthread_mutex_unlock(&snap->inbound_lock);
	return ib;
}

int
runtime_inbound_start(struct milter_runtime *rt)
{
	struct snapshot *snap = runtime_acquire(rt);
	int r = 0;

	if (runtime_inbound_enabled(snap) && runtime_inbound(rt, snap) == NULL)
		r = -1;
	runtime_release(rt, snap);
	return r;
}
