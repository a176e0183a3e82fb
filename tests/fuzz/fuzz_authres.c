/*
 * fuzz_authres: recognising Authentication-Results fields that claim our authserv-id (the
 * inbound path strips those when they come from outside) and formatting our own. Input: an
 * authserv-id candidate on the first line, a field value after it. Invariants: the claim
 * test ignores the case of the id as domain names do; whatever we format for an id is claimed
 * by that id, fits its buffer and keeps hostile reason text from ending the value early.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter/inbound/authres.h"
#include "tests/fuzz/fuzz.h"

#define die(what) fuzz_fail("fuzz_authres", (what))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char *id, *upper, *value, out[AUTHRES_MAX_VALUE];
	size_t idlen = nl != NULL ? (size_t)(nl - data) : size;
	struct authres_smime r = { AUTHRES_PASS, NULL, "alice@example.org", "01ab", NULL };

	if (memchr(data, '\0', size) != NULL)
		return 0;
	id = strndup((const char *)data, idlen);
	upper = strdup(id != NULL ? id : "");
	value = strndup(nl != NULL ? (const char *)nl + 1 : "", nl != NULL ? size - idlen - 1 : 0);
	if (id == NULL || upper == NULL || value == NULL)
		abort();
	for (char *p = upper; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	if (authres_claims(value, id) != authres_claims(value, upper) &&
	    strlen(id) == strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"))
		die("the claim test depends on the case of a domain id");
	r.reason = value;
	r.issuer = value;
	if (authres_format(out, sizeof(out), id, &r) == 0) {
		if (strlen(out) >= sizeof(out))
			die("the formatted value does not fit");
		if (!authres_claims(out, id))
			die("our own field is not claimed by our id");
		if (strstr(out, "smime=pass") == NULL)
			die("the result word was lost");
	}
	free(id);
	free(upper);
	free(value);
	return 0;
}
