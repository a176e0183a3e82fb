/*
 * http: the libmicrohttpd daemon of autosmime-ocspd and its one handler. A GET carries the
 * request in the path after the ocsp_url prefix; a POST in a body of application/ocsp-request.
 * Both are bounded (CA_OCSP_REQUEST_MAX bytes of DER; 413/414 above, 415 for another type,
 * 405 for another method); what decodes goes to ca_ocsp_respond between ca_enter and ca_leave
 * (tryLater while the store reopens). Successful answers without a nonce carry the RFC 5019 6.2
 * cache headers up to the time the responder signs them again. One log line per request.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>
#include <openssl/ocsp.h>

#include "common/log.h"
#include "ocsp/http.h"

/* base64 of CA_OCSP_REQUEST_MAX bytes, percent-encoded at worst, plus the prefix */
#define GET_PATH_MAX (((CA_OCSP_REQUEST_MAX + 2) / 3) * 4 * 3 + 256)

struct ocsp_http {
	struct MHD_Daemon *d;
	struct ca *ca;
	struct ca_ocsp *ocsp;
	char prefix[256];
};

/* One POST being received; GETs need none. */
struct upload {
	size_t len;
	bool too_big;
	unsigned char buf[CA_OCSP_REQUEST_MAX];
};

static const char *const status_words[] = { "successful", "malformedRequest", "internalError",
	"tryLater", "unused", "sigRequired", "unauthorized" };
static const char *const cert_words[] = { "good", "revoked", "unknown" };

static void
http_date(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static enum MHD_Result
reply_plain(struct MHD_Connection *c, unsigned code, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
	    MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static void
client_of(struct MHD_Connection *c, char *buf, size_t cap)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	snprintf(buf, cap, "-");
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)cap);
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
		    (socklen_t)cap);
}

static void
log_answer(struct MHD_Connection *c, const char *method, const struct ca_ocsp_answer *a)
{
	char client[64], why[200];
	int st = a->response_status;

	client_of(c, client, sizeof(client));
	as_log(st == OCSP_RESPONSE_STATUS_INTERNALERROR ? AS_LEVEL_ERR : AS_LEVEL_INFO, NULL,
	    "event=ocsp client=%s method=%s status=%s cert=%s serial=%s ca=%s certids=%u "
	    "cached=%s nonce=%s%s%s", client, method,
	    st >= 0 && st <= 6 ? status_words[st] : "?",
	    a->cert_status >= 0 && a->cert_status <= 2 ? cert_words[a->cert_status] : "-",
	    a->serial_hex[0] != '\0' ? a->serial_hex : "-", a->ca_id[0] != '\0' ? a->ca_id : "-",
	    a->certids, a->cached ? "yes" : "no", a->nonce ? "yes" : "no",
	    a->why[0] != '\0' ? " reason=" : "",
	    a->why[0] != '\0' ? as_log_value(a->why, why, sizeof(why)) : "");
}

static enum MHD_Result
answer(struct ocsp_http *h, struct MHD_Connection *c, const char *method,
    const unsigned char *req, size_t len)
{
	struct ca_ocsp_answer a;
	struct ca_error e = { "" };
	struct MHD_Response *r;
	unsigned char *der = NULL;
	size_t dlen = 0;
	char hdr[128];
	enum MHD_Result ret;
	int rc;

	if (ca_enter(h->ca, &e) != CA_OK) {
		memset(&a, 0, sizeof(a));
		a.response_status = OCSP_RESPONSE_STATUS_TRYLATER;
		a.cert_status = -1;
		snprintf(a.why, sizeof(a.why), "%s", e.text);
		rc = ca_ocsp_status_response(OCSP_RESPONSE_STATUS_TRYLATER, &der, &dlen);
		if (der != NULL) { /* OpenSSL's allocation; copy into ours */
			unsigned char *copy = malloc(dlen);

			if (copy != NULL)
				memcpy(copy, der, dlen);
			OPENSSL_free(der);
			der = copy;
		}
	} else {
		rc = ca_ocsp_respond(h->ocsp, req, len, &der, &dlen, &a);
		ca_leave(h->ca);
	}
	log_answer(c, method, &a);
	if (rc == CA_ERR || der == NULL) {
		free(der);
		return reply_plain(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
	}
	if ((r = MHD_create_response_from_buffer(dlen, der, MHD_RESPMEM_MUST_FREE)) == NULL) {
		free(der);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/ocsp-response");
	if (a.response_status == OCSP_RESPONSE_STATUS_SUCCESSFUL && a.max_age > 0) {
		snprintf(hdr, sizeof(hdr), "max-age=%lld, public, no-transform, must-revalidate",
		    a.max_age);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, hdr);
		http_date(a.this_update, hdr, sizeof(hdr));
		MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, hdr);
		http_date(a.next_update, hdr, sizeof(hdr));
		MHD_add_response_header(r, MHD_HTTP_HEADER_EXPIRES, hdr);
	} else
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
on_get(struct ocsp_http *h, struct MHD_Connection *c, const char *url)
{
	unsigned char der[CA_OCSP_REQUEST_MAX];
	size_t plen = strlen(h->prefix), len = 0;

	if (strlen(url) > GET_PATH_MAX)
		return reply_plain(c, MHD_HTTP_URI_TOO_LONG, "request too long\n");
	if (strncmp(url, h->prefix, plen) != 0)
		return reply_plain(c, MHD_HTTP_NOT_FOUND, "not found\n");
	if (url[plen] == '\0')
		return reply_plain(c, MHD_HTTP_BAD_REQUEST, "no OCSP request in the path\n");
	if (ocsp_http_b64_decode(url + plen, der, sizeof(der), &len) < 0)
		len = 0; /* not base64, or over the bound: malformedRequest */
	return answer(h, c, "GET", der, len);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_size, void **state)
{
	struct ocsp_http *h = cls;
	struct upload *u = *state;
	const char *type, *clen;

	(void)version;
	if (strcmp(method, MHD_HTTP_METHOD_GET) == 0)
		return on_get(h, c, url);
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return reply_plain(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or POST only\n");
	if (u == NULL) {
		type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
		clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (type == NULL || strncasecmp(type, "application/ocsp-request", 24) != 0 ||
		    (type[24] != '\0' && type[24] != ';'))
			return reply_plain(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
			    "Content-Type must be application/ocsp-request\n");
		if (clen != NULL && strtoull(clen, NULL, 10) > CA_OCSP_REQUEST_MAX)
			return reply_plain(c, MHD_HTTP_CONTENT_TOO_LARGE, "request too long\n");
		if ((u = calloc(1, sizeof(*u))) == NULL)
			return MHD_NO;
		*state = u;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (u->too_big || *upload_size > sizeof(u->buf) - u->len)
			u->too_big = true;  /* a chunked body over the bound: read and drop */
		else {
			memcpy(u->buf + u->len, upload_data, *upload_size);
			u->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (u->too_big)
		return reply_plain(c, MHD_HTTP_CONTENT_TOO_LARGE, "request too long\n");
	return answer(h, c, "POST", u->buf, u->len);
}

static void
on_done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode t)
{
	(void)cls;
	(void)c;
	(void)t;
	free(*state);
	*state = NULL;
}

/* libmicrohttpd's own messages: the format comes from the library, not from a request */
__attribute__((format(printf, 2, 0))) static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512], safe[600];
	size_t l;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	l = strlen(line);
	while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
		line[--l] = '\0';
	as_log(AS_LEVEL_WARNING, NULL, "event=http reason=%s", as_log_value(line, safe,
	    sizeof(safe)));
}

int
ocsp_http_start(const struct ocsp_http_params *p, struct ca *ca, struct ca_ocsp *ocsp,
    struct ocsp_http **out, char *why, size_t cap)
{
	struct sockaddr_storage ss;
	struct ocsp_http *h;
	unsigned sslen = 0;
	int family = 0;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;

	*out = NULL;
	if (ocsp_http_addr(p->listen, &ss, &sslen, &family) < 0) {
		snprintf(why, cap, "ocsp_listen \"%.80s\" is not ADDR:PORT or [ADDR6]:PORT",
		    p->listen != NULL ? p->listen : "");
		return -1;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(why, cap, "out of memory");
		return -1;
	}
	if (ocsp_http_prefix(p->url, h->prefix, sizeof(h->prefix)) < 0) {
		free(h);
		snprintf(why, cap, "ocsp_url must be an http:// URL");
		return -1;
	}
	h->ca = ca;
	h->ocsp = ocsp;
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,   /* first, so that all goes to it */
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, p->connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, p->connections / 4 > 0 ? p->connections / 4 : 1,
	    MHD_OPTION_CONNECTION_TIMEOUT, 10u,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(GET_PATH_MAX + 16 * 1024),
	    MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
	    MHD_OPTION_END);
	if (h->d == NULL) {
		snprintf(why, cap, "cannot listen on %s", p->listen);
		free(h);
		return -1;
	}
	*out = h;
	return 0;
}

void
ocsp_http_stop(struct ocsp_http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
