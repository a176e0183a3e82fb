/*
 * util: small helpers every module needs: secret wiping, constant-time comparison, the
 * OpenSSL run-time version check, and the version string.
 */
#ifndef AUTOSMIME_UTIL_H
#define AUTOSMIME_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* The longest validity issued, in days: S/MIME BR 6.3.2 allows 825; keep a day's margin. */
#define AS_CERT_MAX_DAYS 824LL

/* Format an error message into err (cap bytes); a NULL err or zero cap is ignored. */
void as_errf(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Append to the text in buf (cap bytes, NUL-terminated); silently truncated at the bound. */
void as_appendf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Overwrite a secret so the compiler cannot drop the write. */
void as_wipe(void *p, size_t n);

/* Equal in time that depends only on n, never on where the bytes differ. */
bool as_equal_ct(const void *a, const void *b, size_t n);

/*
 * The OpenSSL library loaded at run time must be the major version the program was built
 * against and not older than the headers. Returns 0, or -1 with a reason in buf.
 */
int as_openssl_check(char *buf, size_t cap);

/* "autosmime 0.1.0 (OpenSSL 3.0.x, Berkeley DB 5.3.x)". */
const char *as_version_line(void);

#endif
