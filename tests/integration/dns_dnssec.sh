#!/bin/bash
# dns_dnssec: the harness's DNSSEC test DNS (nsd behind a validating unbound on loopback) gives the
# answers the enrolment (CAA) and inbound (SMIMEA) tests rely on: secure with AD, bogus and
# unreachable zones SERVFAIL, the insecure zone answers without AD, the NSEC3 and opt-out zones
# and the wildcards are served, records can be added.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/harness/dns.sh"
h_need_cmd nsd nsd-control unbound unbound-control drill ldns-keygen ldns-signzone openssl
h_init dns

dns_start
tap_ok $? "nsd ($DNS_AUTH_PORT) and unbound ($DNS_RESOLVER_PORT) start"
tap_check "the trust anchor file holds the parent's DS" grep -Eq "^$DNS_PARENT\.[[:space:]].*DS" "$DNS_TRUST_ANCHOR"
tap_check "DNS_RESOLVER is ADDR@PORT" eval '[ "$DNS_RESOLVER" = "127.0.0.1@$DNS_RESOLVER_PORT" ]'

caa() { dns_query "$1" CAA | awk '!/^;/ && $4 == "CAA" { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }'; }

tap_is "$(dns_rcode "$DNS_ZONE_OURS" CAA)" NOERROR "secure zone: NOERROR"
tap_check "secure zone: AD bit set" dns_ad "$DNS_ZONE_OURS" CAA
tap_is "$(caa "$DNS_ZONE_OURS")" "0 issuemail \"$DNS_CA_DOMAIN\"" "secure zone: CAA issuemail names our CA"
tap_is "$(caa "$DNS_ZONE_OTHER")" '0 issuemail "other-ca.example"' "other-CA zone: CAA names another CA"
tap_check "other-CA zone: AD bit set" dns_ad "$DNS_ZONE_OTHER" CAA
tap_is "$(caa "$DNS_ZONE_DENY")" '0 issuemail ";"' 'deny zone: issuemail ";"'
tap_is "$(dns_rcode "$DNS_ZONE_NOCAA" CAA)" NOERROR "no-CAA zone: NOERROR"
tap_is "$(caa "$DNS_ZONE_NOCAA")" "" "no-CAA zone: no CAA record"
tap_check "no-CAA zone: the empty answer is secure (AD)" dns_ad "$DNS_ZONE_NOCAA" CAA
tap_is "$(caa "$DNS_PARENT")" "" "the parent has no CAA (a tree climb finds nothing)"
tap_check "the parent is secure" dns_ad "$DNS_PARENT" SOA
tap_is "$(dns_rcode test CAA)" NOERROR "test. answers (a tree climb ends cleanly)"

tap_is "$(dns_rcode "$DNS_ZONE_BOGUS" CAA)" SERVFAIL "bogus zone: SERVFAIL"
tap_check "bogus zone: with +cd the data is there but not validated" \
	eval 'dns_query "$DNS_ZONE_BOGUS" CAA -o CD | grep -q issuemail && ! dns_ad "$DNS_ZONE_BOGUS" CAA'
tap_check "unbound logs why (signature expired)" grep -q "validation failure <$DNS_ZONE_BOGUS.*expired" "$DNS_DIR/unbound.log"

tap_is "$(dns_rcode "$DNS_ZONE_INSECURE" CAA)" NOERROR "insecure zone: NOERROR"
tap_check "insecure zone: no AD bit" eval '! dns_ad "$DNS_ZONE_INSECURE" CAA'
tap_is "$(caa "$DNS_ZONE_INSECURE")" "0 issuemail \"$DNS_CA_DOMAIN\"" "insecure zone: CAA present"

txt() { dns_query "$1" TXT | awk '!/^;/ && $4 == "TXT" { print $5 }'; }
tap_check "NSEC3 zone: signed with NSEC3 (NSEC3PARAM served)" \
	eval 'dns_query "$DNS_ZONE_NSEC3" NSEC3PARAM | grep -q "NSEC3PARAM[[:space:]]*1 0 0 -"'
tap_is "$(caa "$DNS_ZONE_NSEC3")" "0 issuemail \"$DNS_CA_DOMAIN\"" "NSEC3 zone: CAA names our CA"
tap_check "NSEC3 zone: AD bit set" dns_ad "$DNS_ZONE_NSEC3" CAA
tap_is "$(dns_rcode "nope.$DNS_ZONE_NSEC3" TXT)" NXDOMAIN "NSEC3 zone: NXDOMAIN for a name that does not exist"
tap_check "NSEC3 zone: the NXDOMAIN is secure (AD)" dns_ad "nope.$DNS_ZONE_NSEC3" TXT
tap_check "opt-out zone: every NSEC3 has the opt-out flag" \
	eval '! awk '\''$4 == "NSEC3" && $6 != 1'\'' "$DNS_DIR/zones/$DNS_ZONE_OPTOUT.signed" | grep -q . &&
		grep -q "NSEC3[[:space:]]*1 1 0" "$DNS_DIR/zones/$DNS_ZONE_OPTOUT.signed"'
tap_check "opt-out zone: an exact answer is secure (AD)" dns_ad "$DNS_ZONE_OPTOUT" TXT
for z in "$DNS_ZONE_OURS" "$DNS_ZONE_NSEC3" "$DNS_ZONE_OPTOUT"; do
	tap_is "$(txt "x.y.wild.$z")" '"wildcard"' "wildcard TXT served below wild.$z"
	tap_is "$(txt "exists.wild.$z")" '"exists"' "exists.wild.$z keeps its own TXT"
done
tap_check "wildcard in the NSEC zone: AD" dns_ad "x.wild.$DNS_ZONE_OURS" TXT
tap_check "wildcard in the NSEC3 zone: AD" dns_ad "x.wild.$DNS_ZONE_NSEC3" TXT
tap_check "wildcard in the opt-out zone: no AD (the next closer name lies in an opt-out span)" \
	eval '! dns_ad "x.wild.$DNS_ZONE_OPTOUT" TXT'

t0=$(date +%s)
tap_is "$(dns_rcode "$DNS_ZONE_SERVFAIL" CAA)" SERVFAIL "servfail zone: SERVFAIL"
tap_check "servfail zone answers within 10 s" eval '[ $(( $(date +%s) - t0 )) -le 10 ]'
tap_is "$(dns_rcode example.com A)" SERVFAIL "names outside the test zones never leave loopback (SERVFAIL)"

for z in "$DNS_ZONE_OURS" "$DNS_ZONE_BOGUS" "$DNS_ZONE_INSECURE" "$DNS_ZONE_NSEC3" "$DNS_ZONE_OPTOUT" \
	"wild.$DNS_ZONE_OURS"; do
	owner=$(dns_smimea_owner "$DNS_SMIMEA_USER@$z")
	crt=$DNS_DIR/smimea/$DNS_SMIMEA_USER@$z.crt
	want=$(openssl x509 -in "$crt" -outform DER | od -An -v -tx1 | tr -d ' \n')
	got=$(dns_query "$owner" SMIMEA -o CD | awk '!/^;/ && $4 == "SMIMEA" { print $5, $6, $7, tolower($8 $9 $10 $11 $12 $13 $14 $15 $16) }')
	tap_is "$got" "3 0 0 $want" "SMIMEA for $DNS_SMIMEA_USER@$z is the fixture certificate"
done
owner=$(dns_smimea_owner "$DNS_SMIMEA_USER@$DNS_ZONE_OURS")
tap_is "${owner%%.*}" "$(printf %s "$DNS_SMIMEA_USER" | sha256sum | cut -c1-56)" "SMIMEA owner is sha256(local-part) cut to 28 octets"
tap_check "SMIMEA in the secure zone: AD" dns_ad "$owner" SMIMEA
tap_is "$(dns_rcode "$(dns_smimea_owner "$DNS_SMIMEA_USER@$DNS_ZONE_BOGUS")" SMIMEA)" SERVFAIL "SMIMEA in the bogus zone: SERVFAIL"
tap_check "SMIMEA in the insecure zone: no AD" eval '! dns_ad "$(dns_smimea_owner "$DNS_SMIMEA_USER@$DNS_ZONE_INSECURE")" SMIMEA'
tap_is "$(dns_query "$DNS_ZONE_OURS" TXT | awk '!/^;/ && $4 == "TXT" { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }')" \
	"\"$DNS_SPF_DEFAULT\"" "default SPF TXT record"

dns_add_rr "$DNS_ZONE_NOCAA" '@ IN CAA 0 issuemail "added.example"'
tap_ok $? "dns_add_rr re-signs and reloads"
tap_is "$(caa "$DNS_ZONE_NOCAA")" '0 issuemail "added.example"' "the added CAA is served at once (cache flushed)"
tap_check "and validates (AD)" dns_ad "$DNS_ZONE_NOCAA" CAA
dns_del_rr "$DNS_ZONE_NOCAA" @ CAA
tap_is "$(caa "$DNS_ZONE_NOCAA")" "" "dns_del_rr removes it again"
dns_del_rr "$DNS_ZONE_OURS" @ TXT && dns_add_rr "$DNS_ZONE_OURS" '@ IN TXT "v=spf1 ip4:127.0.0.9 -all"'
tap_is "$(dns_query "$DNS_ZONE_OURS" TXT | awk '!/^;/ && $4 == "TXT" { print $5, $6, $7 }')" \
	'"v=spf1 ip4:127.0.0.9 -all"' "the SPF record can be replaced"
dns_add_smimea "carol@$DNS_ZONE_OURS" "$DNS_DIR/smimea/$DNS_SMIMEA_USER@$DNS_ZONE_OURS.crt" 3 1 1
tap_ok $? "dns_add_smimea publishes a 3 1 1 record"
tap_check "it validates" dns_ad "$(dns_smimea_owner "carol@$DNS_ZONE_OURS")" SMIMEA

pids=$(dns_running_pids | tr '\n' ' ')
dns_stop
left=""
for p in $pids; do h_proc_alive_id "$p" && left="$left $p"; done
tap_is "$left" "" "dns_stop leaves no process behind"
tap_done
