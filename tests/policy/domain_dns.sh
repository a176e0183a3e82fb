#!/bin/bash
# domain_dns: `autosmimectl domain validate|list|revoke` (S/MIME BR 3.2.2.1 by DNS Change, TLS BR
# 3.2.2.4.7) against DNS perspectives on loopback (perspectives_setup.sh), with a CA created
# here: the value and record printed, refusals (no record, wrong value, only 1 of 3 agreeing,
# two perspectives down, insecure and bogus zones), success with 2 of 3 (one forging, one with
# a validly signed lie), the evidence in the audit log, organization-validated issuance refused
# before and allowed after (also for a subdomain), expiry after the reuse period, and revoke.
PERSP_TEST_NAME=domain-dns
. "$(cd "$(dirname "$0")" && pwd)/perspectives_setup.sh"
CTL=$builddir/cli/autosmimectl
[ -x "$CTL" ] || { echo "1..0 # SKIP autosmimectl is not built"; exit 0; }
d=$H_TMP/ca
mkdir -p "$d/store" "$d/crl" && chmod 0700 "$d/store"
( umask 077; openssl rand -hex 32 > "$d/kek"; openssl rand -hex 32 > "$d/pass" )
# conf PERSPECTIVES [REUSE]: the configuration file with those perspectives
conf() {
	cat > "$d/conf" <<EOC
store_dir $d/store
key_encryption_key_file $d/kek
ca_passphrase_file $d/pass
crl_dir $d/crl
ca_base_url http://ca.example.org/pub
organization_name Example Org
organization_identifier NTRGB-12345678
organization_country GB
dns_trust_anchor_file $DNS_TRUST_ANCHOR
dns_perspectives $1
domain_validation_reuse ${2:-30d}
EOC
}
C() { ${TEST_WRAPPER:-} "$CTL" -c "$d/conf" "$@"; }
val() { sed -n "s/.* $1=\\([^ ]*\\).*/\\1/p" "$2" | head -n1; }
publish() { dns_add_rr "$1" "_autosmime-challenge IN TXT \"$2\"" && dnsp_flush; }

conf "$PERSP_GOOD1 $PERSP_GOOD2 $PERSP_LIAR"
C ca init --root-cert "$d/root.pem" --root-key "$d/root.key" > "$d/init.log" 2>&1
tap_ok $? "ca init"
D=$DNS_ZONE_OURS

C issue "u1@$D" --profile organization --key-type ec-p256 --dual-use --out "$d/c1.pem" > "$d/o" 2>&1
tap_is $? 4 "organization-validated issuance is refused before any domain validation (4)"
tap_check "the refusal names the command that fixes it" grep -q "no domain validation: autosmimectl domain validate $D" "$d/o"
C issue "u1@$D" --profile mailbox --key-type ec-p256 --dual-use --out "$d/m1.pem" > "$d/o" 2>&1
tap_ok $? "mailbox-validated issuance needs no domain validation"

C domain validate "$D" > "$d/v1" 2>&1
tap_ok $? "first domain validate creates a value (0)"
V=$(val value "$d/v1")
tap_check "the value is 160 bits of hex" eval '[ ${#V} = 40 ] && [ -z "$(printf %s "$V" | tr -d 0-9a-f)" ]'
tap_check "status=pending and the exact record to publish" grep -q "^record=_autosmime-challenge.$D. 300 IN TXT \"$V\"$" "$d/v1"
tap_check "the pending value expires in 30 days" eval '[ "$(val expires "$d/v1" | cut -c1-10)" = "$(date -u -d "+30 days" +%Y-%m-%d)" ]'
C audit show > "$d/a" 2>&1
tap_check "domain-challenge audited with the value's hash only" eval 'grep -q "domain-challenge.*domain=$D method=3.2.2.4.7 value_sha256=" "$d/a" && ! grep -q "$V" "$d/a" "$d/store"/*.db'

C domain validate "$D" > "$d/v2" 2>&1
tap_is $? 4 "validate before the record exists: refused (4)"
tap_check "... status=failed, the reason says the record lacks the value" grep -q "status=failed agreed=0.*does not carry the pending value" "$d/v2"

publish "$D" "0000000000000000000000000000000000000000"
C domain validate "$D" > "$d/v3" 2>&1
tap_is $? 4 "a wrong value in the TXT record: refused (4)"
tap_check "... every perspective that answered securely says no-match" grep -q "p1=$PERSP_GOOD1:no-match:dnssec=secure" "$d/v3"

publish "$D" "$V"
conf "$PERSP_GOOD1 $PERSP_LIAR $PERSP_DEAD1"
C domain validate "$D" > "$d/v4" 2>&1
tap_is $? 4 "the right value seen by only 1 of 3 (one forging, one down): refused (4)"
tap_check "... agreed=1 quorum=2; the forging one is bogus, the dead one failed" eval 'grep -q "agreed=1 quorum=2" "$d/v4" && grep -q "p2=$PERSP_LIAR:bogus:dnssec=bogus" "$d/v4" && grep -q "p3=$PERSP_DEAD1:failed" "$d/v4"'

conf "$PERSP_GOOD1 $PERSP_GOOD2 $PERSP_LIAR"
C domain validate "$D" > "$d/v5" 2>&1
tap_ok $? "the right value seen by 2 of 3 (the third forging): valid (0)"
tap_check "... status=valid method=3.2.2.4.7 agreed=2 quorum=2" grep -q "status=valid validation=[0-9a-f]\{16\} method=3.2.2.4.7 agreed=2 quorum=2" "$d/v5"
tap_check "... evidence lists every perspective" eval 'grep -q "p1=$PERSP_GOOD1:match:dnssec=secure" "$d/v5" && grep -q "p2=$PERSP_GOOD2:match:dnssec=secure" "$d/v5" && grep -q "p3=$PERSP_LIAR:bogus" "$d/v5"'
ID=$(val validation "$d/v5")
C audit show > "$d/a" 2>&1
tap_check "the audit record holds the validation, the perspectives and their answers" eval 'grep "domain-validation" "$d/a" | grep "validation=$ID result=valid" | grep -q "p3=$PERSP_LIAR:bogus"'
tap_check "the failed attempts are audited too, with their reason" eval '[ "$(grep -c "domain-validation.*result=failed" "$d/a")" -ge 3 ]'
C audit verify > /dev/null 2>&1
tap_ok $? "the audit chain verifies"

C issue "u1@$D" --profile organization --key-type ec-p256 --dual-use --out "$d/c1.pem" > "$d/o" 2>&1
tap_ok $? "organization-validated issuance is allowed after domain validate"
tap_check "... it is organization-validated (BR 7.1: policy 2.23.140.1.5.2.3, subject O and organizationIdentifier)" eval 'openssl x509 -in "$d/c1.pem" -noout -text | grep -q "Policy: 2.23.140.1.5.2.3" && openssl x509 -in "$d/c1.pem" -noout -subject -nameopt RFC2253 | grep -q "CN=u1@$D,organizationIdentifier=NTRGB-12345678,O=Example Org,C=GB"'
C audit show --event issue > "$d/a" 2>&1
tap_check "... its audit record names the domain validation" eval 'grep "u1@$D" "$d/a" | grep -q "domain_validation=$ID validated_domain=$D"' ||
	tap_diag "$(cat "$d/a")"
C issue "u2@sales.$D" --profile organization --key-type ec-p256 --dual-use --out "$d/c2.pem" > "$d/o" 2>&1
tap_ok $? "a subdomain's mailbox is covered by the parent's validation"
C domain validate "$D" > "$d/v6" 2>&1
tap_ok $? "validate again while valid: reports the validation (0)"
tap_check "... status=valid, nothing pending" grep -q "domain=$D validation=$ID status=valid .* pending=no" "$d/v6"

D2=$DNS_ZONE_NOCAA
conf "$PERSP_GOOD1 $PERSP_DEAD1 $PERSP_DEAD2"
C domain validate "$D2" > "$d/w1" 2>&1
V2=$(val value "$d/w1")
publish "$D2" "$V2"
C domain validate "$D2" > "$d/w2" 2>&1
tap_is $? 1 "two of three perspectives down: fails closed as a temporary error (1)"
tap_check "... the reason says they did not answer" grep -q "did not answer" "$d/w2"
conf "$PERSP_GOOD1 $PERSP_GOOD2 $PERSP_SIGNED_LIAR" 8s
C domain validate "$D2" > "$d/w3" 2>&1
tap_ok $? "2 of 3 saw the value; a secure answer without it does not veto"
tap_check "... the signed copy without the record is a secure no-match" grep -q "p3=$PERSP_SIGNED_LIAR:no-match:dnssec=secure" "$d/w3"
C issue "u3@$D2" --profile organization --key-type ec-p256 --dual-use --out "$d/c3.pem" > "$d/o" 2>&1
tap_ok $? "issuance for the second domain within its reuse period (8 s)"
until_s=$(( $(date +%s) + 12 ))
while [ "$(date +%s)" -lt "$until_s" ]; do
	C issue "u4@$D2" --profile organization --key-type ec-p256 --dual-use --out "$d/c4.pem" > "$d/o" 2>&1 || break
	rm -f "$d/c4.pem"
	sleep 1
done
tap_check "after the reuse period issuance is refused: only an expired validation" grep -q "only an expired domain validation" "$d/o"
C domain list > "$d/l" 2>&1
tap_check "domain list shows the first valid and the second expired" eval 'grep -q "^domain=$D validation=$ID status=valid" "$d/l" && grep -q "^domain=$D2 validation=[0-9a-f]* status=expired" "$d/l"'

for z in "$DNS_ZONE_INSECURE:insecure:not DNSSEC-signed (insecure)" "$DNS_ZONE_BOGUS:bogus:failed (bogus)"; do
	zone=${z%%:*}; rest=${z#*:}; what=${rest%%:*}; says=${rest#*:}
	conf "$PERSP_GOOD1 $PERSP_GOOD2 $PERSP_LIAR"
	C domain validate "$zone" > "$d/x1" 2>&1
	publish "$zone" "$(val value "$d/x1")"
	C domain validate "$zone" > "$d/x2" 2>&1
	tap_is $? 4 "the record in the $what zone: refused (4)"
	tap_check "... with a clear reason: $says" grep -q "$says" "$d/x2"
done

C domain revoke "$D" > "$d/r" 2>&1
tap_ok $? "domain revoke"
C issue "u5@$D" --profile organization --key-type ec-p256 --dual-use --out "$d/c5.pem" > "$d/o" 2>&1
tap_is $? 4 "after revoke organization-validated issuance is refused again"
C audit show > "$d/a" 2>&1
tap_check "the revoke is audited" grep -q "domain-revoke.*domain=$D validation=$ID" "$d/a"
C domain revoke "$D" > /dev/null 2>&1
tap_is $? 3 "revoking again: not found (3)"
C domain validate "bad..name" > /dev/null 2>&1
tap_is $? 4 "a malformed domain is refused (4)"
C domain frobnicate > /dev/null 2>&1
tap_is $? 2 "an unknown subcommand is a usage error (2)"
conf "$PERSP_GOOD1 $PERSP_GOOD2"
echo "dns_perspective_quorum 3" >> "$d/conf"
"$CTL" -c "$d/conf" -n > "$d/n" 2>&1
tap_is $? 1 "-n refuses a quorum above the number of perspectives"
conf "$PERSP_GOOD1 not-an-address"
C domain validate "$D" > "$d/n" 2>&1
rc=$?
tap_check "a perspective that is no address: error (1) naming it" eval '[ $rc = 1 ] && grep -q "not an IP address" "$d/n"' ||
	tap_diag "rc=$rc $(cat "$d/n")"
tap_done
