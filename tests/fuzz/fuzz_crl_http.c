/*
 * fuzz_crl_http: the CRL fetcher's parser of HTTP answers (crl_http_answer) and of
 * distribution point URLs (crl_url_parse). Invariants: an accepted answer says
 * "HTTP/1.x 200", its body is non-empty, within the size limit and inside the buffer; an
 * accepted URL is http with a numeric port and parts that fit their fields.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "milter/inbound/crl_http.h"
#include "tests/fuzz/fuzz.h"

#define die(what) fuzz_fail("fuzz_crl_http", (what))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t limits[] = { 1, 100, 1 << 20 }, off = 0;
	char why[128], *url;
	struct crl_url u;

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		if (crl_http_answer(data, size, limits[i], &off, why, sizeof(why)) != 0)
			continue;
		if (size < 12 || memcmp(data, "HTTP/1.", 7) != 0 || memcmp(data + 8, " 200", 4) != 0)
			die("an answer other than 200 was accepted");
		if (off >= size || size - off > limits[i])
			die("the body is empty, too large or outside the answer");
	}
	if (size <= CRL_HTTP_MAX_URL + 64 && (url = strndup((const char *)data, size)) != NULL) {
		if (crl_url_parse(url, &u) == 0) {
			if (strncasecmp(url, "http://", 7) != 0)
				die("a URL other than http:// was accepted");
			if (u.port[0] == '\0' || strspn(u.port, "0123456789") != strlen(u.port))
				die("an accepted port is not a number");
			if (memchr(u.host, '\0', sizeof(u.host)) == NULL ||
			    memchr(u.path, '\0', sizeof(u.path)) == NULL)
				die("a URL part is not terminated");
		}
		free(url);
	}
	return 0;
}
