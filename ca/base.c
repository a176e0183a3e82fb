/*
 * base: what every CA module shares and nothing else: error texts (with OpenSSL's queue),
 * store results as CA codes, the injectable clock, hex, ASN.1 times. Calls nothing above it in ca/.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "ca/ca_int.h"

void
ca_seterr(struct ca_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
}

/* The reason from the OpenSSL error queue (never holds secrets), then drain the queue. */
void
ca_seterr_ssl(struct ca_error *err, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[160];

	ERR_error_string_n(e, buf, sizeof(buf));
	ca_seterr(err, "%s%s%s", what, e != 0 ? ": " : "", e != 0 ? buf : "");
	ERR_clear_error();
}

time_t
ca_now(struct ca *ca)
{
	return ca->now != NULL ? ca->now() : time(NULL);
}

int
ca_db_result(int ret, struct ca_error *err, const char *what)
{
	if (ret == 0)
		return CA_OK;
	if (ret == DB_NOTFOUND) {
		ca_seterr(err, "%s: not found", what);
		return CA_NOTFOUND;
	}
	if (ret == CA_INVALID || ret == CA_NOTFOUND || ret == CA_ERR)
		return ret; /* err already filled by the unit of work */
	ca_seterr(err, "%s: store error: %s", what, store_strerror(ret));
	return CA_ERR;
}

void
ca_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

time_t
ca_time_of(const ASN1_TIME *t)
{
	struct tm tm;

	return t != NULL && ASN1_TIME_to_tm(t, &tm) == 1 ? timegm(&tm) : (time_t)-1;
}
