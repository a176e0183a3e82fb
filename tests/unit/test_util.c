/*
 * test_util: constant-time comparison, wiping, the OpenSSL run-time check and the version line.
 */
#include "config.h"

#include <string.h>

#include "common/util.h"
#include "tests/tap.h"

int
main(void)
{
	char secret[16] = "0123456789abcde";
	char why[256] = "";

	tap_ok(as_equal_ct("abcdef", "abcdef", 6), "equal bytes compare equal");
	tap_ok(!as_equal_ct("abcdef", "abcdeg", 6), "a difference in the last byte is seen");
	tap_ok(!as_equal_ct("xbcdef", "abcdef", 6), "a difference in the first byte is seen");
	as_wipe(secret, sizeof(secret));
	tap_ok(memcmp(secret, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0, "wipe zeroes the secret");
	tap_ok(as_openssl_check(why, sizeof(why)) == 0, "the OpenSSL library matches the headers %s", why);
	tap_ok(strncmp(as_version_line(), "autosmime " PACKAGE_VERSION " (OpenSSL 3", 23) == 0,
	    "version line: %s", as_version_line());
	return tap_done();
}
