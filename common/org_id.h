/*
 * org_id: S/MIME BR 7.1.4.2.2 (d) checks of an organizationIdentifier, shared by the config
 * check, the CA's request checks and its certificate checker.
 */
#ifndef AUTOSMIME_COMMON_ORG_ID_H
#define AUTOSMIME_COMMON_ORG_ID_H

#include <stdbool.h>
#include <stddef.h>

/* An assigned ISO 3166-1 alpha-2 code (two capitals). */
bool as_country_code_ok(const char *cc);

/*
 * Check the len bytes of id: scheme VAT/NTR/PSD/LEI/GOV/INT, an ISO 3166-1 country (XG for the
 * global LEI and INT), +subdivision for NTR and GOV only, '-' and a reference. For national
 * schemes the country must equal `country` unless that is NULL or empty. Returns 0, or -1 with
 * the reason in why. warn (may be NULL) gets a SHOULD-level remark or "".
 */
int as_org_id_check(const char *id, size_t len, const char *country, char *why, size_t whycap,
    char *warn, size_t warncap);

#endif
