#!/bin/bash
# smimea.sh: SMIMEA (RFC 8162) lookups through policy/smimea.c against the harness DNS (nsd +
# validating unbound on loopback, zones signed at test time): a secure usage-3 full
# certificate is used; bogus and insecure answers are ignored; NSEC3 zones and wildcard
# SMIMEA (secure with their proofs, insecure in an opt-out span); matching types 1 and 2 and
# selector 1 are matched against certificates already held; usage 1 needs PKIX validation;
# usage 2 is refused; answers are cached by TTL. Then the daemon (offline mode) encrypts to
# an SMIMEA certificate only from the secure zone.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/harness/dns.sh"
h_need_cmd nsd nsd-control unbound unbound-control drill ldns-keygen ldns-signzone openssl
: "${top_builddir:=../..}"
TOOL="$top_builddir/tests/inbound/smimea-tool"
MILTER="$top_builddir/milter/autosmime-milter"
CTL="$top_builddir/cli/autosmimectl"
[ -x "$TOOL" ] || { echo "1..0 # SKIP smimea-tool not built"; exit 0; }
h_init smimea
W=$H_TMP/w
mkdir -p "$W"

dns_start
tap_ok $? "the test DNS starts"
look() { ${TOOL_RUN:-} "$TOOL" -R "$DNS_RESOLVER" -A "$DNS_TRUST_ANCHOR" "$@" 2>"$W/tool.err"; }
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
mkcert() { # ADDR [extra req options]: self-signed EC certificate W/ADDR.{crt,key}
	local a=$1; shift
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	    -subj "/CN=$a" -addext "subjectAltName=email:$a" -addext "extendedKeyUsage=emailProtection" \
	    -keyout "$W/$a.key" -out "$W/$a.crt" "$@" >/dev/null 2>&1
}
Z=$DNS_ZONE_OURS
S=$DNS_DIR/smimea

out=$(look "bob@$Z"); rc=$?
tap_is "$rc" 0 "secure zone, usage 3 selector 0 matching 0: found"
tap_check "it is the published certificate" eval '[ "$out" = "found sha256=$(fp "$S/bob@$Z.crt") why=dnssec=secure: 1 record(s); usage=3 selector=0 matching=0" ]'
out=$(look "bob@$DNS_ZONE_BOGUS"); rc=$?
tap_check "bogus zone: ignored (none)" eval '[ $rc = 1 ] && echo "$out" | grep -q bogus'
out=$(look "bob@$DNS_ZONE_INSECURE"); rc=$?
tap_check "insecure zone: ignored (none)" eval '[ $rc = 1 ] && echo "$out" | grep -q insecure'
out=$(look "nobody@$Z"); rc=$?
tap_check "no record in a secure zone: none" eval '[ $rc = 1 ] && echo "$out" | grep -q "no SMIMEA record"'
out=$(look "bob@$DNS_ZONE_SERVFAIL"); rc=$?
tap_check "unreachable zone: not used" eval '[ $rc != 0 ]'

# NSEC3 zones and wildcards: *._smimecert.wild.ZONE serves every mailbox @wild.ZONE without its own
found() { # ADDR CERT: the lookup finds exactly CERT, secure
	local out
	out=$(look "$1") && echo "$out" | grep -q "^found sha256=$(fp "$2") why=dnssec=secure"
}
tap_check "NSEC3 zone: found" found "bob@$DNS_ZONE_NSEC3" "$S/bob@$DNS_ZONE_NSEC3.crt"
for z in "$Z" "$DNS_ZONE_NSEC3"; do
	tap_check "wildcard SMIMEA ($z): a mailbox without its own gets the wildcard's" \
		found "carol@wild.$z" "$S/any@wild.$z.crt"
	tap_check "wildcard SMIMEA ($z): a mailbox with its own keeps it" \
		found "bob@wild.$z" "$S/bob@wild.$z.crt"
done
tap_check "opt-out zone: a mailbox with its own NSEC3 record: found" \
	found "bob@$DNS_ZONE_OPTOUT" "$S/bob@$DNS_ZONE_OPTOUT.crt"
out=$(look "carol@wild.$DNS_ZONE_OPTOUT"); rc=$?
tap_check "opt-out zone: the wildcard's SMIMEA is insecure: ignored" \
	eval '[ $rc = 1 ] && echo "$out" | grep -q insecure'

# matching 1 (SHA-256 of the certificate) and 2 with selector 1 (SHA-512 of the key)
mkcert "carol@$Z" && dns_add_smimea "carol@$Z" "$W/carol@$Z.crt" 3 0 1
tap_ok $? "published carol: usage 3 selector 0 matching 1"
out=$(look -k "$W/carol@$Z.crt" "carol@$Z"); rc=$?
tap_check "matching 1: the held certificate matches the hash" eval '[ $rc = 0 ] && echo "$out" | grep -q "sha256=$(fp "$W/carol@$Z.crt")"'
mkcert "other@$Z"
out=$(look -k "$W/other@$Z.crt" "carol@$Z"); rc=$?
tap_check "matching 1: a different held certificate does not" eval '[ $rc = 1 ] && echo "$out" | grep -q "no held certificate matches"'
out=$(look "carol@$Z"); rc=$?
tap_is "$rc" 1 "matching 1 without a held certificate: none"
mkcert "dave@$Z" && dns_add_smimea "dave@$Z" "$W/dave@$Z.crt" 3 1 2
tap_ok $? "published dave: usage 3 selector 1 matching 2"
out=$(look -k "$W/other@$Z.crt" -k "$W/dave@$Z.crt" "dave@$Z"); rc=$?
tap_check "selector 1 matching 2: the held certificate with that key is chosen" eval '[ $rc = 0 ] && echo "$out" | grep -q "sha256=$(fp "$W/dave@$Z.crt")"'

# usage 2 refused; usage 1 needs PKIX
mkcert "erin@$Z" && dns_add_smimea "erin@$Z" "$W/erin@$Z.crt" 2 0 0
out=$(look "erin@$Z"); rc=$?
tap_check "usage 2 (DANE-TA): refused" eval '[ $rc = 1 ] && echo "$out" | grep -q "trust-anchor usage"'
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=smimea test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -keyout "$W/ca.key" -out "$W/ca.crt" >/dev/null 2>&1 &&
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=frank@$Z" \
    -keyout "$W/frank.key" -out "$W/frank.csr" >/dev/null 2>&1 &&
printf 'subjectAltName=email:frank@%s\nextendedKeyUsage=emailProtection\nkeyUsage=critical,digitalSignature,keyAgreement\n' "$Z" > "$W/frank.ext" &&
openssl x509 -req -in "$W/frank.csr" -CA "$W/ca.crt" -CAkey "$W/ca.key" -set_serial 7 -days 30 \
    -extfile "$W/frank.ext" -out "$W/frank.crt" >/dev/null 2>&1 &&
dns_add_smimea "frank@$Z" "$W/frank.crt" 1 0 0
tap_ok $? "published frank: usage 1 (PKIX-EE), issued by a test CA"
out=$(look -p "$W/ca.crt" "frank@$Z"); rc=$?
tap_is "$rc" 0 "usage 1: found when the certificate validates to a PKIX anchor"
[ "$rc" = 0 ] || tap_diag "$out"
out=$(look -p "$S/bob@$Z.crt" "frank@$Z"); rc=$?
tap_check "usage 1: refused when it does not" eval '[ $rc = 1 ] && echo "$out" | grep -q "PKIX-EE certificate does not validate"'

# data that is not a certificate
dns_add_rr "$Z" "$(dns_smimea_owner "gina@$Z") 300 IN SMIMEA 3 0 0 308203"
out=$(look "gina@$Z"); rc=$?
tap_check "a full-certificate record with garbage data: none" eval '[ $rc = 1 ] && echo "$out" | grep -q "not one DER certificate"'

# the cache: the record goes away between two lookups of one process
mkcert "hank@$Z" && dns_add_smimea "hank@$Z" "$W/hank@$Z.crt" 3 0 0
look -n 2 -W "$W/gate" "hank@$Z" > "$W/cache.out" &
lp=$!
h_wait 60 grep -q '^found' "$W/cache.out"
dns_del_rr "$Z" "$(dns_smimea_owner "hank@$Z")" SMIMEA
touch "$W/gate"
wait "$lp"
tap_is "$(grep -c '^found' "$W/cache.out")" 2 "a cached answer is used within its TTL"
out=$(look "hank@$Z"); rc=$?
tap_is "$rc" 1 "a new process (empty cache) sees the record gone"

# the daemon: bob@local.test's mail is encrypted to an SMIMEA certificate from the secure zone only
if [ -x "$MILTER" ] && [ -x "$CTL" ]; then
	G=$W/gw
	mkdir -p "$G/store" "$G/crl" "$G/ca"
	( umask 077; openssl rand -hex 32 > "$G/kek"; openssl rand -hex 32 > "$G/pass" )
	cat > "$G/conf" <<EOC
store_dir $G/store
key_encryption_key_file $G/kek
ca_passphrase_file $G/pass
crl_dir $G/crl
spool_dir $G
ca_base_url http://127.0.0.1/autosmime
local_domains local.test
organization_name autosmime test
organization_country DE
smimea_lookup yes
dns_resolver $DNS_RESOLVER
dns_trust_anchor_file $DNS_TRUST_ANCHOR
crl_cache_dir $G/crlcache
EOC
	{ "$CTL" -c "$G/conf" ca init --root-cert "$G/ca/root.pem" --root-key "$G/ca/root.key" &&
	  "$CTL" -c "$G/conf" issue bob@local.test; } > "$W/gw.log" 2>&1
	tap_ok $? "a gateway CA with local user bob@local.test"
	send() { # RCPT OUT
		printf 'From: <bob@local.test>\nTo: <%s>\nSubject: smimea\nMessage-ID: <s%s@local.test>\nContent-Type: text/plain\n\nFor your SMIMEA key.\n' \
		    "$1" "$(date +%N)" > "$W/in.eml"
		"$MILTER" -c "$G/conf" -t "$W/in.eml" -s bob@local.test -r "$1" > "$2" 2>>"$W/milter.err"
	}
	encrypted() { awk '/^\r?$/{exit} {print}' "$1" | grep -qi 'application/pkcs7-mime'; }
	send "bob@$Z" "$W/o1.eml"
	tap_check "to the secure zone's SMIMEA recipient: encrypted" encrypted "$W/o1.eml"
	tap_check "and it decrypts with that recipient's key" openssl cms -decrypt -in "$W/o1.eml" \
	    -recip "$S/bob@$Z.crt" -inkey "$S/bob@$Z.key" -out /dev/null
	send "bob@$DNS_ZONE_BOGUS" "$W/o2.eml"
	tap_check "bogus zone: signed, not encrypted" eval '[ -s "$W/o2.eml" ] && ! encrypted "$W/o2.eml"'
	send "bob@$DNS_ZONE_INSECURE" "$W/o3.eml"
	tap_check "insecure zone: signed, not encrypted" eval '[ -s "$W/o3.eml" ] && ! encrypted "$W/o3.eml"'
	tap_check "one event=smimea line per lookup" eval '[ "$(grep -c "event=smimea" "$W/milter.err")" = 3 ]'
else
	tap_skip "daemon SMIMEA encryption" "autosmime-milter or autosmimectl not built"
fi
dns_stop
tap_done
