/*
 * runtime: configuration snapshots with reference counts, and their atomic swap on reload.
 * Owns the snapshots; the CA handle and key cache are only borrowed here.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "milter/runtime.h"

static void
snapshot_free(struct snapshot *snap)
{
	if (snap == NULL)
		return;
	as_conf_free(snap->conf);
	sendermap_free(snap->map);
	netlist_free(snap->nets);
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
	snap->conf = conf; /* transferred */
	snap->refs = 1;
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

int
runtime_reload(struct milter_runtime *rt, const char *path, int path_given)
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
		return -1;
	}
	snap = snapshot_new(conf, why, sizeof(why)); /* conf transferred */
	if (snap == NULL) {
		char safe[600];

		as_log(AS_LEVEL_ERR, NULL, "event=reload status=failed reason=%s",
		    as_log_value(why, safe, sizeof(safe)));
		return -1;
	}
	as_log_set_level(snap->conf->log_level);
	runtime_swap(rt, snap);
	as_log(AS_LEVEL_NOTICE, NULL, "event=reload status=ok generation=%lu sender_map_entries=%zu",
	    snap->generation, sendermap_count(snap->map));
	return 0;
}
