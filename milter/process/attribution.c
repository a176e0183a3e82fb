/*
 * attribution: copies of connection, message and snapshot facts into decide's structures.
 * Owns nothing.
 */
#include "config.h"

#include <netinet/in.h>
#include <string.h>

#include "milter/process/attribution.h"

void
attribution_connect(struct conn_ctx *conn, const struct sockaddr *addr)
{
	size_t len = 0;

	conn->local_submission = decide_local_submission(addr);
	conn->internal = !conn->local_submission && netlist_match(conn->snap->nets, addr);
	if (addr != NULL && addr->sa_family == AF_INET)
		len = sizeof(struct sockaddr_in);
	else if (addr != NULL && addr->sa_family == AF_INET6)
		len = sizeof(struct sockaddr_in6);
	conn->has_client_sa = len > 0;
	if (len > 0)
		memcpy(&conn->client_sa, addr, len);
}

void
attribution_gather(const struct snapshot *snap, const struct conn_ctx *conn,
    const struct msg_ctx *msg, const char *from, struct decide_input *in,
    struct decide_rules *rules)
{
	memset(in, 0, sizeof(*in));
	in->login = msg->login;
	in->internal = conn->internal;
	in->from = from;
	in->local_submission = conn->local_submission;
	in->envelope = msg->mail_from;
	in->client = conn->has_client_sa ? (const struct sockaddr *)&conn->client_sa : NULL;
	rules->local_domains = &snap->conf->local_domains;
	rules->map = snap->map;
	rules->netmap = snap->netmap;
	rules->local_attribution = snap->conf->local_submission_attribution;
}
