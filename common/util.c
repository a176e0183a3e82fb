/*
 * util: secret handling and version checks shared by the daemon, the CLI and the libraries.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "common/util.h"

void
as_errf(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

void
as_appendf(char *buf, size_t cap, const char *fmt, ...)
{
	size_t len = strnlen(buf, cap);
	va_list ap;

	if (len + 1 >= cap)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, cap - len, fmt, ap);
	va_end(ap);
}

void
as_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

bool
as_equal_ct(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

int
as_openssl_check(char *buf, size_t cap)
{
	unsigned long runtime = OpenSSL_version_num();

	if (OPENSSL_VERSION_MAJOR != (runtime >> 28) || runtime < OPENSSL_VERSION_NUMBER) {
		snprintf(buf, cap, "built with %s but running with %s: rebuild autosmime",
		    OPENSSL_VERSION_TEXT, OpenSSL_version(OPENSSL_VERSION));
		return -1;
	}
	return 0;
}

const char *
as_version_line(void)
{
	static char line[160];

	snprintf(line, sizeof(line), "%s %s (%s)", PACKAGE_NAME, PACKAGE_VERSION,
	    OpenSSL_version(OPENSSL_VERSION));
	return line;
}
