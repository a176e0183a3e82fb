/*
 * netsendermap: the network/address pairs (held in a sendermap keyed by the network text) and
 * each distinct network parsed once. Owns both.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/conf.h"
#include "milter/process/netlist.h"
#include "milter/process/netsendermap.h"
#include "milter/process/sendermap.h"

struct keyed_net {
	const char *key;           /* borrowed from the sendermap */
	struct netlist *net;
};

/* Lifetime: per configuration snapshot; immutable once loaded. */
struct netsendermap {
	struct sendermap *pairs;
	struct keyed_net *nets;
	size_t count;
};

void
netsendermap_free(struct netsendermap *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->count; i++)
		netlist_free(m->nets[i].net);
	free(m->nets);
	sendermap_free(m->pairs);
	free(m);
}

static struct netsendermap *
wrap(struct sendermap *pairs, const char *name, char *why, size_t cap)
{
	struct netsendermap *m = calloc(1, sizeof(*m));
	size_t n = sendermap_count(pairs);
	char ignored[128];

	if (m == NULL || (n > 0 && (m->nets = calloc(n, sizeof(m->nets[0]))) == NULL)) {
		free(m);
		sendermap_free(pairs);
		snprintf(why, cap, "%s: out of memory", name);
		return NULL;
	}
	m->pairs = pairs;
	for (size_t i = 0; i < n; i++) {
		const char *key = sendermap_login_at(pairs, i);
		char *one[1] = { (char *)key };
		struct as_conf_list list = { one, 1 };

		if (m->count > 0 && strcasecmp(m->nets[m->count - 1].key, key) == 0)
			continue;
		m->nets[m->count].key = key;
		m->nets[m->count].net = netlist_parse(&list, ignored, sizeof(ignored));
		if (m->nets[m->count].net == NULL) {
			snprintf(why, cap, "%s: invalid network \"%.64s\"", name, key);
			netsendermap_free(m);
			return NULL;
		}
		m->count++;
	}
	return m;
}

struct netsendermap *
netsendermap_empty(void)
{
	char why[64];
	struct sendermap *pairs = sendermap_empty();

	return pairs != NULL ? wrap(pairs, "empty", why, sizeof(why)) : NULL;
}

struct netsendermap *
netsendermap_load_stream(FILE *fp, const char *name, char *why, size_t cap)
{
	struct sendermap_error err = { "" };
	struct sendermap *pairs = sendermap_load_stream(fp, name, &err);

	if (pairs == NULL) {
		snprintf(why, cap, "%s", err.text);
		return NULL;
	}
	return wrap(pairs, name, why, cap);
}

struct netsendermap *
netsendermap_load(const char *path, char *why, size_t cap)
{
	struct sendermap_error err = { "" };
	struct sendermap *pairs = sendermap_load(path, &err);

	if (pairs == NULL) {
		snprintf(why, cap, "%s", err.text);
		return NULL;
	}
	return wrap(pairs, path, why, cap);
}

bool
netsendermap_allows(const struct netsendermap *m, const struct sockaddr *client,
    const char *address)
{
	if (m == NULL || client == NULL || address == NULL)
		return false;
	for (size_t i = 0; i < m->count; i++)
		if (netlist_match(m->nets[i].net, client) &&
		    sendermap_allows(m->pairs, m->nets[i].key, address))
			return true;
	return false;
}

size_t
netsendermap_count(const struct netsendermap *m)
{
	return m == NULL ? 0 : sendermap_count(m->pairs);
}
