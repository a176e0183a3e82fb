#!/bin/sh
# caps.sh: the signer's SMIMECapabilities travel with the harvested certificate and steer the
# cipher (offline mode: the daemon's own callbacks and process code). With `cipher aes256-gcm`
# and the local users' clients reading GCM (sender_capabilities): a correspondent whose
# signature (openssl cms -sign: CBC ciphers only) does not list AES-256-GCM gets
# enveloped-data (AES-256-CBC); one listing it (caps-tool) gets authEnveloped-data; one
# without capabilities (-nosmimecap) or with unknown ones gets CBC too (GCM only when known);
# the same certificate with new capabilities replaces them; hostile capabilities (not a list,
# too large, truncated) count as unknown. Without GCM in sender_capabilities the sender's own
# copy keeps every message CBC. Records written by older releases (no capabilities) and
# damaged ones are read correctly.
. "${top_srcdir:-../..}/tests/inbound/common.sh"
MILTER="$top_builddir/milter/autosmime-milter"
CAPS="$top_builddir/tests/inbound/caps-tool"
[ -x "$CTL" ] && [ -x "$MILTER" ] && [ -x "$CAPS" ] || skip_all "autosmimectl, autosmime-milter or caps-tool not built"
start_server ok || { echo "Bail out! crl-server did not start"; exit 1; }
make_pki "http://127.0.0.1:$PORT_ok/int.crl" || { echo "Bail out! PKI"; sed 's/^/# /' "$T/pki.log"; exit 1; }
make_gateway || { echo "Bail out! gateway CA"; sed 's/^/# /' "$T/gw.log"; exit 1; }
printf 'cipher aes256-gcm\nsender_capabilities aes256-gcm aes256-cbc\n' >> "$T/gw/conf"
content > "$T/content.txt"

signed() { # NAME OUT KIND: NAME's signed mail to bob; KIND openssl|nosmimecap|gcm|cbc|junk|big
	local name=$1 out=$2 kind=$3
	{ headers "$name@remote.test" bob@local.test "signed by $name ($kind)"
	  case $kind in
	  openssl) openssl cms -sign -in "$T/content.txt" -signer "$T/$name.pem" -inkey "$T/$name.key" -certfile "$T/int.pem" ;;
	  nosmimecap) openssl cms -sign -nosmimecap -in "$T/content.txt" -signer "$T/$name.pem" -inkey "$T/$name.key" -certfile "$T/int.pem" ;;
	  *) $TOOL_RUN "$CAPS" sign "$T/$name.pem" "$T/$name.key" "$T/int.pem" "$T/content.txt" "$kind" ;;
	  esac; } > "$out" 2>>"$T/cms.log"
}
harvest() { # NAME KIND: NAME's signed mail through the inbound pipeline; 0 when smime=pass
	signed "$1" "$T/in-$1.eml" "$2" &&
	timeout 300 $TOOL_RUN "$TOOL" -c "$T/gw/conf" -a gw.example -t "$T/root.pem" -C - \
	    -F "$1@remote.test" -r bob@local.test "$T/in-$1.eml" > "$T/out-$1.eml" 2>"$T/tool.err" &&
	    tr -d '\r' < "$T/out-$1.eml" | grep -q "smime=pass"
}
stored() { $TOOL_RUN "$CAPS" stored "$T/gw/conf" "$1" 2>>"$T/caps.err"; }
send() { # OUT RCPT...: bob's mail through offline mode
	local out=$1 args=
	shift
	for r in "$@"; do args="$args -r $r"; done
	printf 'From: <bob@local.test>\nTo: <%s>\nSubject: reply\nMessage-ID: <c%s@local.test>\nContent-Type: text/plain\n\nThe answer.\n' \
	    "$1" "$(date +%N)" > "$T/send.eml"
	"$MILTER" -c "$T/gw/conf" -t "$T/send.eml" -s bob@local.test $args > "$out" 2>"$T/milter.err"
}
smime_type() { tr -d '\r' < "$1" | awk '/^$/{exit} {print}' | grep -io 'smime-type=[a-z-]*' | head -n1 | cut -d= -f2; }

# 1. verify returns the capabilities; the harvest stores them with the certificate
harvest alice openssl; ok $? "alice's openssl-signed mail passes and is harvested"
[ "$(stored alice@remote.test)" = "caps=no-gcm source=harvest" ]
ok $? "her stored record carries openssl's capabilities (no AES-256-GCM)"
harvest carol gcm; ok $? "carol's mail listing AES-256-GCM passes and is harvested"
[ "$(stored carol@remote.test)" = "caps=gcm source=harvest" ]; ok $? "her record lists GCM"
harvest rita nosmimecap; ok $? "rita's mail without SMIMECapabilities passes and is harvested"
[ "$(stored rita@remote.test)" = "caps=none source=harvest" ]; ok $? "her record has no capabilities"

# 2. the capabilities choose the cipher when aes256-gcm is configured
send "$T/o1.eml" alice@remote.test && [ "$(smime_type "$T/o1.eml")" = enveloped-data ]
ok $? "mail to alice (no GCM) is enveloped-data"
grep -q "cipher=aes256-cbc reason=recipient-capabilities" "$T/milter.err"
ok $? "the fallback is logged with cipher=aes256-cbc reason=recipient-capabilities"
openssl cms -decrypt -in "$T/o1.eml" -recip "$T/alice.pem" -inkey "$T/alice.key" -out "$T/d1" 2>/dev/null &&
    openssl cms -verify -in "$T/d1" -CAfile "$T/gw/ca/root.pem" -purpose any -out "$T/c1" 2>/dev/null &&
    grep -q "The answer" "$T/c1"
ok $? "alice decrypts it (AES-256-CBC) and the inner signature verifies"
openssl cms -cmsout -print -in "$T/o1.eml" 2>/dev/null | grep -q "aes-256-cbc"
ok $? "the content encryption algorithm is aes-256-cbc"
send "$T/o2.eml" carol@remote.test && [ "$(smime_type "$T/o2.eml")" = authEnveloped-data ]
ok $? "mail to carol (GCM listed) is authEnveloped-data"
! grep -q "reason=recipient-capabilities" "$T/milter.err"; ok $? "and no fallback is logged"
openssl cms -decrypt -in "$T/o2.eml" -recip "$T/carol.pem" -inkey "$T/carol.key" -out /dev/null 2>/dev/null
ok $? "carol decrypts it"
send "$T/o3.eml" rita@remote.test && [ "$(smime_type "$T/o3.eml")" = enveloped-data ] &&
    grep -q "cipher=aes256-cbc reason=recipient-capabilities rcpt=rita@remote.test" "$T/milter.err"
ok $? "mail to rita (no capabilities: not known to read GCM) is CBC, and says why"
send "$T/o4.eml" carol@remote.test alice@remote.test && [ "$(smime_type "$T/o4.eml")" = enveloped-data ]
ok $? "mail to carol and alice together falls back to CBC for alice"
openssl cms -decrypt -in "$T/o4.eml" -recip "$T/carol.pem" -inkey "$T/carol.key" -out /dev/null 2>/dev/null
ok $? "carol decrypts that one too"

# 3. the same certificate with new capabilities replaces the old ones
harvest alice gcm; ok $? "alice's next mail, now listing GCM, passes"
[ "$(stored alice@remote.test)" = "caps=gcm source=harvest" ]; ok $? "her record now lists GCM"
send "$T/o5.eml" alice@remote.test && [ "$(smime_type "$T/o5.eml")" = authEnveloped-data ]
ok $? "mail to alice is now authEnveloped-data"
harvest alice nosmimecap; ok $? "a later mail without capabilities passes"
[ "$(stored alice@remote.test)" = "caps=gcm source=harvest" ]; ok $? "and keeps the known capabilities"

# 4. hostile capabilities: a SEQUENCE that is no list, an oversized one, truncated DER
harvest rita junk; ok $? "rita's mail with a malformed capabilities attribute still passes"
[ "$(stored rita@remote.test)" = "caps=unknown source=harvest" ]; ok $? "they are stored but read as unknown"
send "$T/o6.eml" rita@remote.test && [ "$(smime_type "$T/o6.eml")" = enveloped-data ]
ok $? "unknown capabilities get CBC"
harvest carol big; ok $? "carol's mail with a 7 KB capabilities attribute passes"
[ "$(stored carol@remote.test)" = "caps=gcm source=harvest" ]; ok $? "the oversized attribute is ignored (counts as absent)"
printf '\060\013\060\011\006\007' > "$T/trunc.der"
[ "$($CAPS parse "$T/trunc.der")" = "caps=unknown" ]; ok $? "truncated DER parses as unknown"
: > "$T/empty.der"
[ "$($CAPS parse "$T/empty.der")" = "caps=unknown" ]; ok $? "empty input parses as unknown"
printf '\060\015\060\013\006\011\140\206\110\001\145\003\004\001\056' > "$T/gcm.der"
[ "$($CAPS parse "$T/gcm.der")" = "caps=gcm" ]; ok $? "a hand-made list with id-aes256-GCM parses as gcm"
printf '\060\015\060\013\006\011\140\206\110\001\145\003\004\001\056\000' > "$T/trail.der"
[ "$($CAPS parse "$T/trail.der")" = "caps=unknown" ]; ok $? "trailing bytes make it unknown"

# 5. the record format: an older release's record (no capabilities) still reads; damage is seen
$CAPS put "$T/gw/conf" dave.v1@remote.test "$T/rita.pem" v1 2>>"$T/caps.err"
ok $? "a version 1 record is written as an older release did"
$CAPS put "$T/gw/conf" rita@remote.test "$T/rita.pem" v1 2>>"$T/caps.err" &&
    [ "$(stored rita@remote.test)" = "caps=none source=import" ]
ok $? "a version 1 record reads, without capabilities"
send "$T/o7.eml" rita@remote.test && [ "$(smime_type "$T/o7.eml")" = enveloped-data ] &&
    openssl cms -decrypt -in "$T/o7.eml" -recip "$T/rita.pem" -inkey "$T/rita.key" -out /dev/null 2>/dev/null
ok $? "the daemon encrypts to a version 1 record (no capabilities: CBC)"
$CTL -c "$T/gw/conf" recipients list 2>/dev/null | grep "^mailbox=rita@remote.test" | grep -q "source=import"
ok $? "recipients list reads version 1 and 2 records"
$CAPS put "$T/gw/conf" rita@remote.test "$T/rita.pem" bad 2>>"$T/caps.err" && ! stored rita@remote.test > /dev/null
ok $? "a record with an unknown extension is reported damaged"
harvest rita cbc; ok $? "a new harvest replaces the damaged record"
[ "$(stored rita@remote.test)" = "caps=no-gcm source=harvest" ]; ok $? "with the new capabilities"

# 6. the sender's own copy: local clients that do not read GCM keep everything CBC
sed -i '/^sender_capabilities/d' "$T/gw/conf"
send "$T/o8.eml" carol@remote.test && [ "$(smime_type "$T/o8.eml")" = enveloped-data ] &&
    grep -q "cipher=aes256-cbc reason=recipient-capabilities rcpt=bob@local.test" "$T/milter.err"
ok $? "default sender_capabilities: mail to carol (GCM listed) is CBC for bob's own copy"
openssl cms -decrypt -in "$T/o8.eml" -recip "$T/carol.pem" -inkey "$T/carol.key" -out "$T/d8" 2>/dev/null &&
    openssl cms -cmsout -print -in "$T/d8" 2>/dev/null | grep -A3 "S/MIME Capabilities" > "$T/caps8.txt"
! openssl cms -cmsout -print -in "$T/d8" 2>/dev/null | grep -qi gcm
ok $? "and bob's signature no longer advertises GCM"
done_testing
