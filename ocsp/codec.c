/*
 * codec: the small parsers of autosmime-ocspd's input: the GET path (percent-decoding, then
 * base64 or base64url with or without padding, RFC 6960 appendix A.1), the path prefix of
 * ocsp_url, and the listening address. Every one is bounded by its output's size.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/evp.h>

#include "ocsp/http.h"

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decoded, base64url mapped to base64 and padded to whole quanta in *text, then
 * OpenSSL's decoder (which refuses any other character). cap bounds the DER.
 */
int
ocsp_http_b64_decode(const char *text, unsigned char *out, size_t cap, size_t *len)
{
	size_t tcap = (cap + 2) / 3 * 4 + 4, i, n = 0, pad = 0;
	unsigned char *b64 = malloc(tcap + 1), *der = NULL;
	int dl = -1;

	if (b64 == NULL)
		return -1;
	for (i = 0; text[i] != '\0'; i++) {
		int c = (unsigned char)text[i];

		if (c == '%') {
			int h = hex_value((unsigned char)text[i + 1]);
			int l = h >= 0 ? hex_value((unsigned char)text[i + 2]) : -1;

			if (l < 0)
				goto out;
			c = h * 16 + l;
			i += 2;
		}
		if (n >= tcap - 3)
			goto out;       /* more than cap bytes of DER */
		b64[n++] = (unsigned char)(c == '-' ? '+' : c == '_' ? '/' : c);
	}
	while (n % 4 != 0)
		b64[n++] = '=';
	while (pad < n && pad < 3 && b64[n - 1 - pad] == '=')
		pad++;
	/* '=' only at the end; EVP_DecodeBlock counts the padding as zero bytes */
	if (n == 0 || pad > 2 || memchr(b64, '=', n - pad) != NULL)
		goto out;
	b64[n] = '\0';
	/* the decoder writes whole quanta, padding included: into a buffer of that size */
	if ((der = malloc(n / 4 * 3)) == NULL || (dl = EVP_DecodeBlock(der, b64, (int)n)) < 0)
		goto out;
	dl -= (int)pad;
	if (dl > 0 && (size_t)dl <= cap)
		memcpy(out, der, (size_t)dl);
out:
	free(der);
	free(b64);
	if (dl <= 0 || (size_t)dl > cap)
		return -1;
	*len = (size_t)dl;
	return 0;
}

int
ocsp_http_prefix(const char *url, char *out, size_t cap)
{
	const char *p;
	size_t l;

	if (url == NULL || url[0] == '\0') {
		snprintf(out, cap, "/");
		return 0;
	}
	if (strncmp(url, "http://", 7) != 0)
		return -1;
	p = strchr(url + 7, '/');
	if (p == NULL)
		p = "/";
	l = strlen(p);
	if (l + 2 > cap)
		return -1;
	memcpy(out, p, l + 1);
	if (out[l - 1] != '/') {
		out[l] = '/';
		out[l + 1] = '\0';
	}
	return 0;
}

int
ocsp_http_addr(const char *spec, void *ssp, unsigned *sslen, int *family)
{
	struct sockaddr_storage *ss = ssp;
	char host[64];
	const char *colon;
	size_t hl;
	long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (spec == NULL)
		return -1;
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		hl = (size_t)(close - spec - 1);
		if (hl == 0 || hl >= sizeof(host))
			return -1;
		memcpy(host, spec + 1, hl);
		colon = close + 1;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL)
			return -1;
		hl = (size_t)(colon - spec);
		if (hl == 0 || hl >= sizeof(host))
			return -1;
		memcpy(host, spec, hl);
	}
	host[hl] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || colon[1] == '\0' || port < 1 || port > 65535)
		return -1;
	if (spec[0] != '[') {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return -1;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*in);
		*family = AF_INET;
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return -1;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*in6);
		*family = AF_INET6;
	}
	return 0;
}
