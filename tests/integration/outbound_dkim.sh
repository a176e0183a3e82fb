#!/bin/bash
# outbound_dkim: autosmime, then OpenDKIM (smtpd_milters: S/MIME first, DKIM last). The DKIM
# key is published as TXT in a DNSSEC-signed harness zone (the mail domain); the delivered
# message is checked by a second, verifying OpenDKIM whose libunbound resolver forwards to the
# harness unbound with the harness trust anchor: the DKIM signature verifies (the key record
# resolves DNSSEC-secure), and the S/MIME signature verifies with openssl and gpgsm. A changed body
# byte must fail DKIM (the check can fail). With the order reversed (DKIM first), the S/MIME
# rewrite breaks the DKIM signature: the reason for the documented order.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/harness/dns.sh"
# The mail domain is a signed harness zone, so the DKIM key can be published and validated.
PF_LOCAL_DOMAINS=$DNS_ZONE_NOCAA
. "$top_srcdir/tests/harness/postfix.sh"
. "$top_srcdir/tests/harness/milter.sh"
. "$top_srcdir/tests/harness/opendkim.sh"
. "$top_srcdir/tests/harness/smime.sh"
. "$top_srcdir/tests/integration/outbound_lib.sh"
h_need_cmd nsd unbound ldns-signzone drill opendkim opendkim-genkey gpgsm

DOM=$DNS_ZONE_NOCAA
ALICE=alice@$DOM
DAVE=dave@remote.test
h_need_root
h_init dkim
dns_start
tap_ok $? "harness DNS (nsd + validating unbound) runs"
ob_setup dkim "$ALICE" || { echo "1..0 # SKIP set-up failed"; exit 1; }
ob_issue "$ALICE"
tap_ok $? "$ALICE is enrolled"
smime_gpgsm_trust "$OB_CHAIN"
tap_ok $? "gpgsm trusts the test root"

dk_init "$DOM" sel1 unix
tap_ok $? "OpenDKIM signing key made for $DOM"
# TXT strings are at most 255 octets: split the key record.
txt=$(printf '%s' "$DK_TXT" | fold -w 200 | sed 's/.*/"&"/' | tr '\n' ' ')
dns_add_rr "$DOM" "sel1._domainkey IN TXT $txt"
tap_ok $? "the DKIM key is published in $DOM"
tap_check "and resolves DNSSEC-secure through unbound" dns_ad "sel1._domainkey.$DOM" TXT
dk_start
tap_ok $? "OpenDKIM (signing) runs"
ms_start && pf_start
tap_ok $? "milter and Postfix run"
pf_milter "$MS_PF_SOCKET $DK_PF_SOCKET"
tap_ok $? "smtpd_milters = autosmime, then OpenDKIM"

# A verifying OpenDKIM (test mode, -t) with libunbound pointed at the harness resolver.
VDIR=$(mktemp -d "${DK_BASE:-/run}/autosmime-dkimv.XXXXXX") && chmod 0755 "$VDIR"
h_at_exit "rm -rf '$VDIR'"
# libunbound answers "test." itself (RFC 6761 special-use) unless told not to.
cat > "$VDIR/unbound.conf" <<EOF
server:
	local-zone: "test." nodefault
	do-not-query-localhost: no
	trust-anchor-file: "$DNS_TRUST_ANCHOR"
forward-zone:
	name: "."
	forward-addr: $DNS_RESOLVER
EOF
cat > "$VDIR/opendkim.conf" <<EOF
Syslog no
Mode v
ResolverConfiguration $VDIR/unbound.conf
TrustAnchorFile $DNS_TRUST_ANCHOR
AlwaysAddARHeader yes
AuthservID verifier.test
EOF
# dkim_verify FILE: the verifier's verdict on FILE (a message as delivered, LF or CRLF).
dkim_verify() {
	tr -d '\r' < "$1" | sed 's/$/\r/' > "$1.crlf"
	opendkim -x "$VDIR/opendkim.conf" -t "$1.crlf" > "$1.dkim" 2>&1
	grep -q "verification (s=sel1, d=$DOM, [0-9]*-bit key) succeeded" "$1.dkim"
}

ob_msg "$ALICE" "<$DAVE>" "dkim chain"
ob_submit "$ALICE" "$DAVE" "$m"
tap_ok $? "an enrolled sender's mail is accepted and delivered"
f=$ob_got
tap_check "it carries exactly one DKIM-Signature, d=$DOM s=sel1" \
	eval '[ "$(grep -c "^DKIM-Signature:" "$f")" = 1 ] && sed -n "/^DKIM-Signature:/,/^[^ \t]/p" "$f" | tr -d " \t\n" | grep -q "d=$DOM;s=sel1;"'
tap_check "it is multipart/signed (S/MIME applied before DKIM)" smime_is_signed "$f"
dkim_verify "$f"
tap_ok $? "the DKIM signature of the delivered message verifies (OpenDKIM, key from the harness DNS)"
[ $? = 0 ] || sed 's/^/#   /' "$f.dkim"
smime_verify_openssl "$f" "$OB_ROOT" "$H_TMP/dkim-content.txt"
tap_ok $? "the S/MIME signature verifies with openssl cms"
tap_check "over the original text" grep -q 'The original text, line two.' "$H_TMP/dkim-content.txt"
smime_verify_gpgsm "$f"
tap_ok $? "the S/MIME signature verifies with gpgsm"
# A control: one body byte changed must fail DKIM.
sed '0,/The original text/s/original/Original/' "$f" > "$H_TMP/tampered.eml"
# (the signed part is quoted-printable or 7bit; the changed word sits in it either way)
tap_check "control: a changed body byte fails DKIM verification" eval '! dkim_verify "$H_TMP/tampered.eml"'

# The wrong order for contrast: DKIM first, then the S/MIME rewrite.
pf_milter "$DK_PF_SOCKET $MS_PF_SOCKET"
ob_msg "$ALICE" "<$DAVE>" "dkim first"
ob_submit "$ALICE" "$DAVE" "$m"
tap_ok $? "reversed order: delivered"
f=$ob_got
tap_check "reversed order: signed by both" eval 'smime_is_signed "$f" && grep -q "^DKIM-Signature:" "$f"'
tap_check "reversed order: the DKIM signature no longer verifies (why S/MIME goes first)" eval '! dkim_verify "$f"'

ms_stop
tap_check "the milter's log has no sanitizer report" ms_sanitizer_clean
tap_done
