/*
 * names: the words of the CA's enums (profiles, generations, key types, revocation reasons)
 * for configuration, the CLI and logs, both ways.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "ca/ca.h"

static const char *const profile_words[] = { "mailbox", "sponsor", "organization" };
static const char *const generation_words[] = { "strict", "multipurpose" };
static const char *const key_words[] = { "ec-p256", "ec-p384", "rsa-2048", "rsa-3072",
	"rsa-4096" };
static const char *const reason_words[] = { "unspecified", "keyCompromise", "cACompromise",
	"affiliationChanged", "superseded", "cessationOfOperation", "certificateHold", NULL,
	"removeFromCRL", "privilegeWithdrawn", "aACompromise" };

#define NWORDS(a) (sizeof(a) / sizeof((a)[0]))

static int
word_index(const char *const *words, size_t n, const char *w)
{
	size_t i;

	for (i = 0; w != NULL && i < n; i++)
		if (words[i] != NULL && strcasecmp(words[i], w) == 0)
			return (int)i;
	return -1;
}

const char *
ca_profile_name(enum ca_profile p)
{
	return (unsigned)p < NWORDS(profile_words) ? profile_words[p] : NULL;
}

const char *
ca_generation_name(enum ca_generation g)
{
	return (unsigned)g < NWORDS(generation_words) ? generation_words[g] : NULL;
}

const char *
ca_key_type_name(enum ca_key_type k)
{
	return (unsigned)k < NWORDS(key_words) ? key_words[k] : NULL;
}

const char *
ca_reason_name(int reason)
{
	return reason >= 0 && (unsigned)reason < NWORDS(reason_words) ? reason_words[reason] : NULL;
}

int
ca_profile_parse(const char *w)
{
	return word_index(profile_words, NWORDS(profile_words), w);
}

int
ca_generation_parse(const char *w)
{
	return word_index(generation_words, NWORDS(generation_words), w);
}

int
ca_key_type_parse(const char *w)
{
	return word_index(key_words, NWORDS(key_words), w);
}

/* Only the codes ca_revoke accepts: never unspecified(0), removeFromCRL(8) or 7 (unused). */
int
ca_reason_parse(const char *w)
{
	int i = word_index(reason_words, NWORDS(reason_words), w);

	return i <= 0 || i == 8 ? -1 : i;
}

int
ca_params_encryption(struct ca_params *params, const char *word)
{
	int k;

	if (word != NULL && strcmp(word, "same") == 0) {
		params->separate_encryption = false;
		return 0;
	}
	if (word == NULL || (k = ca_key_type_parse(word)) < 0)
		return -1;
	params->separate_encryption = true;
	params->encryption_key_type = (enum ca_key_type)k;
	return 0;
}
