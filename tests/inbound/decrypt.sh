#!/bin/sh
# decrypt.sh: mail enveloped to keys the gateway holds (made by openssl cms: RSA, EC, AES-CBC
# and AES-GCM authEnveloped; and by gpgsm: RSA) is decrypted with a result header; signed
# content inside is verified; mail the gateway cannot decrypt passes untouched with a header
# saying why; forged result headers go.
. "${top_srcdir:-../..}/tests/inbound/common.sh"
[ -x "$CTL" ] || skip_all "autosmimectl not built"
start_server ok || { echo "Bail out! crl-server did not start"; exit 1; }
make_pki "http://127.0.0.1:$PORT_ok/int.crl" || { echo "Bail out! PKI"; sed 's/^/# /' "$T/pki.log"; exit 1; }
make_gateway || { echo "Bail out! gateway CA"; sed 's/^/# /' "$T/gw.log"; exit 1; }

run() { # MESSAGE OUT FROM [tool options]
	local msg=$1 out=$2 from=$3; shift 3
	timeout 300 $TOOL_RUN "$TOOL" -c "$T/gw/conf" -a gw.example -t "$T/root.pem" -C - -F "$from" "$@" \
	    "$msg" > "$out" 2>"$T/tool.err"
}
hdr() { tr -d '\r' < "$1" | awk '/^$/{exit} {print}' | awk '/^[^ \t]/{if (h) print h; h=$0; next} {h=h " " $0} END{print h}' | grep -i "^$2:"; }
body_is_content() { # the delivered body is the inner text, Content-Type text/plain
	tr -d '\r' < "$1" | sed '1,/^$/d' | grep -q '^Hello from the inbound tests.$' &&
	    hdr "$1" Content-Type | grep -q 'text/plain'
}
encrypt() { # OUT CERT [openssl cms options]: content enveloped to CERT
	local out=$1 cert=$2; shift 2
	content > "$T/content.txt"
	{ headers alice@remote.test bob@local.test encrypted
	  openssl cms -encrypt -in "$T/content.txt" "$@" "$cert"; } > "$out" 2>>"$T/cms.log"
}

encrypt "$T/e1.eml" "$T/bob.crt" -aes256
run "$T/e1.eml" "$T/d1.eml" alice@remote.test -r bob@local.test
ok $? "RSA enveloped-data processed"
hdr "$T/d1.eml" X-Autosmime-Decryption | grep -q 'decrypted; key=bob@local.test'
ok $? "RSA enveloped-data (openssl cms, AES-256-CBC): decrypted header"
body_is_content "$T/d1.eml"; ok $? "RSA: the body is the decrypted entity"
! grep -q 'pkcs7-mime' "$T/d1.eml"; ok $? "RSA: outer Content-Type replaced"

encrypt "$T/e2.eml" "$T/erin.crt" -aes256
run "$T/e2.eml" "$T/d2.eml" alice@remote.test -r bob@local.test -r erin@local.test
hdr "$T/d2.eml" X-Autosmime-Decryption | grep -q 'decrypted; key=erin@local.test' && body_is_content "$T/d2.eml"
ok $? "EC (ECDH) enveloped-data: decrypted with the second recipient's key"

encrypt "$T/e3.eml" "$T/erin.crt" -aes-256-gcm
grep -q 'authEnveloped-data' "$T/e3.eml"; ok $? "openssl made authEnveloped-data"
run "$T/e3.eml" "$T/d3.eml" alice@remote.test -r erin@local.test
hdr "$T/d3.eml" X-Autosmime-Decryption | grep -q 'decrypted' && body_is_content "$T/d3.eml"
ok $? "AES-256-GCM authEnveloped-data: decrypted"

# signed by alice, then enveloped to bob: decrypted and the inner signature verified
cms_sign alice alice@remote.test "$T/s4.eml"
# the signed entity is the part of s4 from its MIME-Version / Content-Type on
awk 'BEGIN{f=0} /^(MIME-Version|Content-Type)/{f=1} f{print}' "$T/s4.eml" > "$T/signed-entity.txt"
{ headers alice@remote.test bob@local.test "signed and encrypted"
  openssl cms -encrypt -in "$T/signed-entity.txt" -aes256 "$T/bob.crt"; } > "$T/e4.eml" 2>>"$T/cms.log"
run "$T/e4.eml" "$T/d4.eml" alice@remote.test -r bob@local.test
hdr "$T/d4.eml" X-Autosmime-Decryption | grep -q decrypted && has_result "$T/d4.eml" pass
ok $? "signed inside encrypted: decrypted and smime=pass"
hdr "$T/d4.eml" Content-Type | grep -q 'multipart/signed'
ok $? "signed inside encrypted: the signature stays for the client"

encrypt "$T/e5.eml" "$T/carol.pem" -aes256
run "$T/e5.eml" "$T/d5.eml" alice@remote.test -r bob@local.test
hdr "$T/d5.eml" X-Autosmime-Decryption | grep -q 'none; reason="not encrypted to a key the gateway holds"'
ok $? "enveloped to a foreign key: header says why"
grep -q 'application/pkcs7-mime' "$T/d5.eml" && [ "$(tr -d '\r' < "$T/d5.eml" | sed '1,/^$/d' | md5sum)" = "$(tr -d '\r' < "$T/e5.eml" | sed '1,/^$/d' | md5sum)" ]
ok $? "enveloped to a foreign key: delivered untouched"

run "$T/e1.eml" "$T/d6.eml" alice@remote.test -r nobody@local.test
hdr "$T/d6.eml" X-Autosmime-Decryption | grep -q 'no key held for any recipient'
ok $? "no recipient key held: header says why"

{ printf 'X-Autosmime-Decryption: decrypted; key=forged@local.test\r\n'; cat "$T/e5.eml"; } > "$T/e7.eml"
run "$T/e7.eml" "$T/d7.eml" alice@remote.test -r bob@local.test
[ "$(hdr "$T/d7.eml" X-Autosmime-Decryption | wc -l)" = 1 ] && ! grep -q forged "$T/d7.eml"
ok $? "forged decryption header removed"

if command -v gpgsm >/dev/null && command -v gpgconf >/dev/null; then
	gpgsm_home "$T/gw/ca/root.pem"
	gpgsm --batch --disable-dirmngr --import "$T/gw/chain.pem" "$T/bob.crt" >/dev/null 2>&1
	content > "$T/content.txt"
	timeout 60 gpgsm --batch --disable-dirmngr --disable-policy-checks --encrypt --base64 \
	    -r bob@local.test -o "$T/gpgsm.b64" "$T/content.txt" > "$T/gpgsm.log" 2>&1
	ok $? "gpgsm encrypted to bob"
	{ headers alice@remote.test bob@local.test "gpgsm encrypted"
	  printf 'MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n'
	  sed 's/$/\r/' "$T/gpgsm.b64"; } > "$T/e8.eml"
	run "$T/e8.eml" "$T/d8.eml" alice@remote.test -r bob@local.test
	hdr "$T/d8.eml" X-Autosmime-Decryption | grep -q decrypted && body_is_content "$T/d8.eml"
	ok $? "RSA enveloped-data (gpgsm): decrypted"
else
	ok 0 "# SKIP gpgsm not installed"
fi
# After a renewal the old certificate stays valid until it expires: mail a correspondent still
# encrypts to it must decrypt with the old key the gateway holds.
old_serial=$(openssl x509 -in "$T/erin.crt" -noout -serial | sed 's/^serial=//')
"$CTL" -c "$T/gw/conf" renew "$old_serial" > "$T/renew.log" 2>&1
ok $? "erin's certificate renewed"
new_serial=$(sed -n 's/^serial=\([0-9A-Fa-f]*\).*/\1/p' "$T/renew.log" | head -n 1)
"$CTL" -c "$T/gw/conf" show "$new_serial" --format pem > "$T/erin-new.crt" 2>/dev/null
[ -n "$new_serial" ] && [ "$(echo "$new_serial" | tr a-f A-F)" != "$old_serial" ] &&
    [ "$(openssl x509 -in "$T/erin-new.crt" -noout -serial | sed 's/^serial=//')" != "$old_serial" ]
ok $? "the current certificate is the successor ($new_serial, was $old_serial)"
encrypt "$T/e9.eml" "$T/erin.crt" -aes256
run "$T/e9.eml" "$T/d9.eml" alice@remote.test -r erin@local.test
hdr "$T/d9.eml" X-Autosmime-Decryption | grep -q 'decrypted; key=erin@local.test' && body_is_content "$T/d9.eml"
ok $? "mail enveloped to the superseded certificate still decrypts"
encrypt "$T/e10.eml" "$T/erin-new.crt" -aes256
run "$T/e10.eml" "$T/d10.eml" alice@remote.test -r erin@local.test
hdr "$T/d10.eml" X-Autosmime-Decryption | grep -q 'decrypted; key=erin@local.test' && body_is_content "$T/d10.eml"
ok $? "mail enveloped to the successor decrypts"

done_testing
