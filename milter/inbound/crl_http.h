/*
 * crl_http: a small, bounded HTTP/1.0 GET client for fetching CRLs from a certificate's CRL
 * distribution point. http:// only (RFC 5280 4.2.1.13: CRLs are signed, no TLS needed), no
 * redirects, no proxies; the whole exchange (name lookup excepted) is bounded by a deadline
 * and the body by a size limit. Owns only the socket of one call.
 */
#ifndef AUTOSMIME_CRL_HTTP_H
#define AUTOSMIME_CRL_HTTP_H

#include <stddef.h>

#define CRL_HTTP_MAX_URL 1024

/* A parsed http URL. Lifetime: the caller's. */
struct crl_url {
	char host[256];   /* without brackets for IPv6 literals */
	char port[8];
	char path[CRL_HTTP_MAX_URL];
};

/* 0, or -1 when not an http URL we accept (https, user info, bad port, too long). */
int crl_url_parse(const char *url, struct crl_url *out);

/*
 * GET the URL; on 0 *body (malloc'd, caller frees) holds *len bytes of a 200 answer.
 * -1 with a short reason in why (safe to log) on any failure: connect, timeout, status,
 * body above max_size.
 */
int crl_http_get(const char *url, int timeout_ms, size_t max_size, unsigned char **body,
    size_t *len, char *why, size_t whycap);

/*
 * A whole answer as read from the socket: 0 when it is "HTTP/1.x 200" with a body of 1 to
 * max_size bytes, which starts at *body_off; -1 with a reason otherwise. (Split from
 * crl_http_get so that the parser of hostile answers is fuzzed without a socket.)
 */
int crl_http_answer(const unsigned char *buf, size_t n, size_t max_size, size_t *body_off,
    char *why, size_t whycap);

#endif
