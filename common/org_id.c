/*
 * org_id: the organizationIdentifier rules of S/MIME BR 7.1.4.2.2 (d), in one place for the
 * config check (-n), the CA's request checks and its certificate checker. Owns the list of
 * registration schemes and of ISO 3166-1 alpha-2 country codes.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/org_id.h"

/* ISO 3166-1 alpha-2, officially assigned codes. */
static const char iso3166[] =
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ "
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ "
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ "
	"DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR "
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU "
	"ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ "
	"LA LB LC LI LK LR LS LT LU LV LY "
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ "
	"NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY "
	"QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ "
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ "
	"VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/* The schemes of BR 7.1.4.2.2 (d); `global`: the country is XG; `national`: it is the C. */
static const struct {
	const char name[4];
	bool global, subdivision;
} schemes[] = {
	{ "VAT", false, false }, { "NTR", false, true }, { "PSD", false, false },
	{ "LEI", true, false }, { "GOV", false, true }, { "INT", true, false },
};

bool
as_country_code_ok(const char *cc)
{
	const char *p;

	if (cc == NULL || strlen(cc) != 2 || !isupper((unsigned char)cc[0]) ||
	    !isupper((unsigned char)cc[1]))
		return false;
	for (p = iso3166; *p != '\0'; p += p[2] == ' ' ? 3 : 2)
		if (p[0] == cc[0] && p[1] == cc[1])
			return true;
	return false;
}

static int refuse(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
refuse(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return -1;
}

/* A German register entry in EUID form: DE, the register's code, '.', the entry. */
static bool
euid_de(const char *ref, size_t len)
{
	const char *dot = memchr(ref, '.', len);
	size_t i;

	if (len < 5 || ref[0] != 'D' || ref[1] != 'E' || dot == NULL || dot == ref + 2 ||
	    dot + 1 == ref + len)
		return false;
	for (i = 2; ref + i < dot; i++)
		if (!isupper((unsigned char)ref[i]) && !isdigit((unsigned char)ref[i]))
			return false;
	return true;
}

int
as_org_id_check(const char *id, size_t len, const char *country, char *why, size_t whycap,
    char *warn, size_t warncap)
{
	char cc[3];
	size_t i, s, ref;

	if (warn != NULL && warncap > 0)
		warn[0] = '\0';
	if (len < 7 || len > 64)
		return refuse(why, whycap, "organizationIdentifier must be 7..64 characters "
		    "(scheme, country, '-', reference)");
	for (s = 0; s < sizeof(schemes) / sizeof(schemes[0]); s++)
		if (memcmp(id, schemes[s].name, 3) == 0)
			break;
	if (s == sizeof(schemes) / sizeof(schemes[0]))
		return refuse(why, whycap, "organizationIdentifier scheme \"%.3s\" is not one of "
		    "VAT, NTR, PSD, LEI, GOV, INT (S/MIME BR 7.1.4.2.2 d)", id);
	memcpy(cc, id + 3, 2);
	cc[2] = '\0';
	if (schemes[s].global) {
		if (strcmp(cc, "XG") != 0)
			return refuse(why, whycap, "organizationIdentifier scheme %s is global: its "
			    "country must be XG, not \"%s\"", schemes[s].name, cc);
	} else if (!as_country_code_ok(cc)) {
		return refuse(why, whycap, "organizationIdentifier country \"%s\" is not an ISO "
		    "3166-1 country code", cc);
	} else if (country != NULL && country[0] != '\0' && strcmp(cc, country) != 0) {
		return refuse(why, whycap, "organizationIdentifier country %s differs from "
		    "organization_country %s", cc, country);
	}
	i = 5;
	if (id[i] == '+') {
		if (!schemes[s].subdivision)
			return refuse(why, whycap, "organizationIdentifier scheme %s takes no "
			    "+subdivision", schemes[s].name);
		for (i = 6; i < len && i < 9 && (isupper((unsigned char)id[i]) ||
		    isdigit((unsigned char)id[i])); i++)
			;
		if (i == 6)
			return refuse(why, whycap, "organizationIdentifier subdivision after '+' "
			    "must be an ISO 3166-2 code (1..3 letters or digits)");
	}
	if (i >= len || id[i] != '-' || i + 1 == len)
		return refuse(why, whycap, "organizationIdentifier needs '-' and a registration "
		    "reference after the country");
	ref = i + 1;
	for (i = ref; i < len; i++)
		if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
			return refuse(why, whycap, "organizationIdentifier reference must be "
			    "printable ASCII without spaces");
	if (schemes[s].name[0] == 'P') {
		/* PSD: the national authority's code (2..8 capitals), '-', its identifier */
		for (i = ref; i < len && isupper((unsigned char)id[i]); i++)
			;
		if (i - ref < 2 || i - ref > 8 || i + 1 >= len || id[i] != '-')
			return refuse(why, whycap, "PSD organizationIdentifier reference must be "
			    "the authority's code (2..8 capitals), '-', the identifier");
	}
	if (strcmp(schemes[s].name, "NTR") == 0 && strcmp(cc, "DE") == 0 &&
	    !euid_de(id + ref, len - ref) && warn != NULL && warncap > 0)
		snprintf(warn, warncap, "organizationIdentifier %.*s: a German NTR reference "
		    "should be the EUID (for example NTRDE-DEK1101R.HRB116737)", (int)len, id);
	return 0;
}
