/*
 * http: the HTTP side of autosmime-ocspd (RFC 6960 appendix A, RFC 5019 5 and 6): GET
 * <path>/<url-encoded base64 request> and POST application/ocsp-request on one listening
 * address, with bounded sizes, answered by ca_ocsp_respond. Owns the libmicrohttpd daemon.
 */
#ifndef AUTOSMIME_OCSP_HTTP_H
#define AUTOSMIME_OCSP_HTTP_H

#include "ca/ca.h"

struct ocsp_http;

struct ocsp_http_params {
	const char *listen;              /* ADDR:PORT or [ADDR6]:PORT */
	const char *url;                 /* ocsp_url: its path is the GET prefix; NULL: "/" */
	unsigned connections;
};

/* Start serving (its own thread); the ca and the ocsp must outlive ocsp_http_stop. */
int ocsp_http_start(const struct ocsp_http_params *p, struct ca *ca, struct ca_ocsp *ocsp,
    struct ocsp_http **out, char *why, size_t cap);
void ocsp_http_stop(struct ocsp_http *h);

/* Decoders the handler uses, hostile input, bounded by cap: 0 with *len, or -1. */
int ocsp_http_b64_decode(const char *text, unsigned char *out, size_t cap, size_t *len);
/* The path of an http:// URL with a trailing '/': "/" when it has none. */
int ocsp_http_prefix(const char *url, char *out, size_t cap);
/* ADDR:PORT or [ADDR6]:PORT into a socket address. */
int ocsp_http_addr(const char *spec, void *ss, unsigned *sslen, int *family);

#endif
