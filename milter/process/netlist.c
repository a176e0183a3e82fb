/*
 * netlist: parse CIDR networks and match client addresses against them. Owns the array.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter/process/netlist.h"

struct net {
	int family;                /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

/* Lifetime: per configuration snapshot. */
struct netlist {
	struct net *nets;
	size_t count;
};

void
netlist_free(struct netlist *nets)
{
	if (nets == NULL)
		return;
	free(nets->nets);
	free(nets);
}

static int
parse_one(const char *item, struct net *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(item, '/');
	size_t hlen = slash != NULL ? (size_t)(slash - item) : strlen(item);
	unsigned max;
	char *end;

	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, item, hlen);
	host[hlen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else
		return -1;
	out->prefix = max;
	if (slash != NULL) {
		unsigned long v;

		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		v = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || v > max)
			return -1;
		out->prefix = (unsigned)v;
	}
	return 0;
}

struct netlist *
netlist_parse(const struct as_conf_list *items, char *why, size_t cap)
{
	struct netlist *nets = calloc(1, sizeof(*nets));

	if (nets == NULL)
		goto nomem;
	if (items->count > 0) {
		nets->nets = calloc(items->count, sizeof(nets->nets[0]));
		if (nets->nets == NULL)
			goto nomem;
	}
	for (size_t i = 0; i < items->count; i++) {
		if (parse_one(items->item[i], &nets->nets[nets->count]) < 0) {
			snprintf(why, cap, "internal_networks: invalid network \"%.64s\"",
			    items->item[i]);
			netlist_free(nets);
			return NULL;
		}
		nets->count++;
	}
	return nets;
nomem:
	netlist_free(nets);
	snprintf(why, cap, "out of memory");
	return NULL;
}

static bool
prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[bytes] ^ b[bytes]) & (unsigned char)(0xff << (8 - rest))) == 0;
}

bool
netlist_match(const struct netlist *nets, const struct sockaddr *sa)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	unsigned char addr[16];
	int family;

	if (nets == NULL || sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		family = AF_INET6;
		if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
			memmove(addr, addr + 12, 4);
			family = AF_INET;
		}
	} else
		return false;
	for (size_t i = 0; i < nets->count; i++)
		if (nets->nets[i].family == family &&
		    prefix_equal(addr, nets->nets[i].addr, nets->nets[i].prefix))
			return true;
	return false;
}
