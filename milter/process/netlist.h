/*
 * netlist: the internal_networks list parsed into address/prefix pairs, and the test "is this
 * client address inside one of them". IPv4-mapped IPv6 clients match IPv4 networks.
 *
 * Lifetime: per configuration snapshot; read-only once parsed, shared by threads.
 */
#ifndef AUTOSMIME_MILTER_NETLIST_H
#define AUTOSMIME_MILTER_NETLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "common/conf.h"

struct netlist;

/* Parse "10.0.0.0/8", "192.0.2.1", "2001:db8::/32"; NULL with the bad item in why. */
struct netlist *netlist_parse(const struct as_conf_list *items, char *why, size_t cap);
void netlist_free(struct netlist *nets);

/* Is the address inside one of the networks? A NULL or non-IP address never is. */
bool netlist_match(const struct netlist *nets, const struct sockaddr *sa);

#endif
