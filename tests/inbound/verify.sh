#!/bin/sh
# verify.sh: inbound signature results for mail signed by openssl cms (RSA and EC, detached
# and opaque) and gpgsm (RSA): pass, tampered, wrong From, expired, revoked (CRL over HTTP on
# loopback), untrusted root, CRL unavailable (temperror), forged Authentication-Results removed.
. "${top_srcdir:-../..}/tests/inbound/common.sh"
start_server ok || { echo "Bail out! crl-server did not start"; exit 1; }
URL="http://127.0.0.1:$PORT_ok/int.crl"
make_pki "$URL" || { echo "Bail out! cannot create the test PKI"; sed 's/^/# /' "$T/pki.log"; exit 1; }
cat "$T/root.pem" > "$T/anchors.pem"

run() { # FROM MESSAGE OUT [more tool options]
	local from=$1 msg=$2 out=$3; shift 3
	timeout 300 $TOOL_RUN "$TOOL" -a gw.example -t "$T/anchors.pem" -F "$from" -r bob@local.test "$@" \
	    "$msg" > "$out" 2>"$T/tool.err"
}
field() { tr -d '\r' < "$1" | awk '/^$/{exit} {print}' | awk '/^[^ \t]/{if (h) print h; h=$0; next} {h=h " " $0} END{print h}' | grep -i "^$2:"; }

cms_sign alice alice@remote.test "$T/m1.eml"
run alice@remote.test "$T/m1.eml" "$T/o1.eml" -C -
ok $? "RSA detached signature processed"
has_result "$T/o1.eml" pass; ok $? "RSA detached (openssl cms): smime=pass"
field "$T/o1.eml" Authentication-Results | grep -q "body.smime-identifier=alice@remote.test"
ok $? "identifier is the signer mailbox"
[ "$(tr -d '\r' < "$T/m1.eml" | sed '1,/^$/d' | md5sum)" = "$(tr -d '\r' < "$T/o1.eml" | sed '1,/^$/d' | md5sum)" ]
ok $? "body of a verified message untouched"

cms_sign carol carol@remote.test "$T/m2.eml"
run carol@remote.test "$T/m2.eml" "$T/o2.eml" -C -
has_result "$T/o2.eml" pass; ok $? "EC detached (openssl cms): smime=pass"

cms_sign carol carol@remote.test "$T/m3.eml" -nodetach
run carol@remote.test "$T/m3.eml" "$T/o3.eml" -C -
has_result "$T/o3.eml" pass; ok $? "EC opaque signed-data: smime=pass"

sed 's/Hello from the inbound tests/Hello from the evil tests!/' "$T/m1.eml" > "$T/m4.eml"
run alice@remote.test "$T/m4.eml" "$T/o4.eml" -C -
has_result "$T/o4.eml" fail; ok $? "tampered body: smime=fail"
field "$T/o4.eml" Authentication-Results | grep -q 'reason="signature does not verify'
ok $? "tampered body: reason says the signature does not verify"

run carol@remote.test "$T/m1.eml" "$T/o5.eml" -C -
has_result "$T/o5.eml" fail; ok $? "wrong From: smime=fail"
field "$T/o5.eml" Authentication-Results | grep -q 'does not name the From'
ok $? "wrong From: reason"

cms_sign dave dave@remote.test "$T/m6.eml"
run dave@remote.test "$T/m6.eml" "$T/o6.eml" -C -
has_result "$T/o6.eml" fail && field "$T/o6.eml" Authentication-Results | grep -q expired
ok $? "expired signer: smime=fail, reason expired"

cms_sign eve eve@remote.test "$T/m7.eml"
run eve@remote.test "$T/m7.eml" "$T/o7.eml" -C -
has_result "$T/o7.eml" fail && field "$T/o7.eml" Authentication-Results | grep -q revoked
ok $? "revoked signer (CRL fetched over HTTP): smime=fail, reason revoked"
run eve@remote.test "$T/m7.eml" "$T/o7b.eml"
has_result "$T/o7b.eml" pass; ok $? "the same message passes with CRL checks off (the CRL made the difference)"

content > "$T/content.txt"
{ headers mallory@remote.test bob@local.test "untrusted"
  openssl cms -sign -in "$T/content.txt" -signer "$T/mallory.pem" -inkey "$T/mallory.key" \
      -certfile "$T/evilroot.pem"; } > "$T/m8.eml" 2>>"$T/cms.log"
run mallory@remote.test "$T/m8.eml" "$T/o8.eml" -C -
has_result "$T/o8.eml" neutral && field "$T/o8.eml" Authentication-Results | grep -q 'trusted root'
ok $? "untrusted root: smime=neutral, reason names the trust"

# Forged results claiming our authserv-id go; other services' results stay.
{ printf 'Authentication-Results: gw.example; smime=pass body.smime-identifier=alice@remote.test\r\n'
  printf 'Authentication-Results: mx.other.example; spf=pass\r\n'
  printf 'Authentication-Results: (forged)\r\n GW.EXAMPLE; smime=pass\r\n'
  cat "$T/m4.eml"; } > "$T/m9.eml"
run alice@remote.test "$T/m9.eml" "$T/o9.eml" -C -
[ "$(field "$T/o9.eml" Authentication-Results | grep -ci 'gw.example')" = 1 ] && has_result "$T/o9.eml" fail
ok $? "forged Authentication-Results removed, ours says fail"
field "$T/o9.eml" Authentication-Results | grep -q 'mx.other.example; spf=pass'
ok $? "another service's Authentication-Results kept"

{ headers alice@remote.test bob@local.test plain; content; } > "$T/m10.eml"
run alice@remote.test "$T/m10.eml" "$T/o10.eml" -C -
! field "$T/o10.eml" Authentication-Results >/dev/null
ok $? "unsigned mail gets no smime result"

# gpgsm (GnuPG) makes the signature: RSA sender rita, key imported from PKCS#12.
if command -v gpgsm >/dev/null && command -v gpgconf >/dev/null; then
	gpgsm_home "$T/root.pem"
	gpgsm --batch --disable-dirmngr --import "$T/root.pem" "$T/int.pem" >/dev/null 2>&1
	content > "$T/content.txt"
	gpgsm_sign rita@remote.test "$T/rita.key" "$T/rita.pem" "$T/int.pem" "$T/content.txt" "$T/rita.sig"
	ok $? "gpgsm made a detached signature"
	{ headers rita@remote.test bob@local.test "signed by gpgsm"
	  printf 'MIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="gpgsm-b"\r\n\r\n'
	  printf -- '--gpgsm-b\r\n'; cat "$T/content.txt"
	  printf -- '\r\n--gpgsm-b\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n'
	  sed 's/$/\r/' "$T/rita.sig"
	  printf -- '\r\n--gpgsm-b--\r\n'; } > "$T/m11.eml"
	run rita@remote.test "$T/m11.eml" "$T/o11.eml" -C -
	has_result "$T/o11.eml" pass; ok $? "RSA detached (gpgsm): smime=pass"
	sed 's/Second line/Second lime/' "$T/m11.eml" > "$T/m12.eml"
	run rita@remote.test "$T/m12.eml" "$T/o12.eml" -C -
	has_result "$T/o12.eml" fail; ok $? "gpgsm signature over a tampered body: smime=fail"
else
	ok 0 "# SKIP gpgsm not installed"
fi

# CRLs: disk cache, then the distribution point unavailable.
run alice@remote.test "$T/m1.eml" "$T/o13.eml" -C "$T/crlcache"
has_result "$T/o13.eml" pass && [ "$(ls "$T/crlcache" | grep -c '\.crl$')" = 1 ]
ok $? "CRL kept in the disk cache"
mv "$T/www/int.crl" "$T/int.crl.saved"
run eve@remote.test "$T/m7.eml" "$T/o14.eml" -C "$T/crlcache"
has_result "$T/o14.eml" fail; ok $? "the cached CRL still revokes while the server has none"
start=$(date +%s)
run alice@remote.test "$T/m1.eml" "$T/o15.eml" -C - -W 1500
end=$(date +%s)
has_result "$T/o15.eml" temperror && field "$T/o15.eml" Authentication-Results | grep -q 'revocation status unknown'
ok $? "CRL not obtainable: smime=temperror"
[ $((end - start)) -lt 20 ]; ok $? "CRL failure answered within the bound ($((end - start)) s)"
mv "$T/int.crl.saved" "$T/www/int.crl"
run alice@remote.test "$T/m1.eml" "$T/o16.eml" -C - -n 5
has_result "$T/o16.eml" pass; ok $? "repeated verification with the memory cache"
done_testing
