#!/bin/sh
# badinput.sh: malformed inbound S/MIME never crashes or hangs the pipeline and is delivered
# untouched with a header saying why: truncated CMS, wrong content types, garbage, a huge
# certificate set, deep MIME nesting, encrypted-in-encrypted. Run under ASan by the sanitizer
# build and under valgrind by valgrind.sh.
. "${top_srcdir:-../..}/tests/inbound/common.sh"
[ -x "$CTL" ] || skip_all "autosmimectl not built"
start_server ok || { echo "Bail out! crl-server did not start"; exit 1; }
make_pki "http://127.0.0.1:$PORT_ok/int.crl" || { echo "Bail out! PKI"; sed 's/^/# /' "$T/pki.log"; exit 1; }
make_gateway || { echo "Bail out! gateway CA"; sed 's/^/# /' "$T/gw.log"; exit 1; }
hdr() { tr -d '\r' < "$1" | awk '/^$/{exit} {print}' | awk '/^[^ \t]/{if (h) print h; h=$0; next} {h=h " " $0} END{print h}' | grep -i "^$2:"; }
body_same() { [ "$(tr -d '\r' < "$1" | sed '1,/^$/d' | md5sum)" = "$(tr -d '\r' < "$2" | sed '1,/^$/d' | md5sum)" ]; }
check() { # NAME MESSAGE WHAT(ar|dec|none)
	local name=$1 msg=$2 what=$3 rc
	timeout 300 $TOOL_RUN "$TOOL" -c "$T/gw/conf" -a gw.example -t "$T/root.pem" -C - -W 500 \
	    -F alice@remote.test -r bob@local.test "$msg" > "$msg.out" 2>"$msg.err"
	rc=$?
	ok $rc "$name: processed without crash or hang (exit $rc)"
	[ $rc = 0 ] || { sed 's/^/# /' "$msg.err" | tail -5; return; }
	body_same "$msg" "$msg.out"; ok $? "$name: delivered untouched"
	case $what in
	ar) hdr "$msg.out" Authentication-Results | grep -q 'smime=permerror reason=' ;;
	dec) hdr "$msg.out" X-Autosmime-Decryption | grep -q 'none; reason=' ;;
	none) ! hdr "$msg.out" Authentication-Results >/dev/null ;;
	esac
	ok $? "$name: header says why ($what)"
}
mime() { headers alice@remote.test bob@local.test "$1"; printf 'MIME-Version: 1.0\r\nContent-Type: %s\r\n' "$2"; }

cms_sign alice alice@remote.test "$T/good.eml" -nodetach
head -c $(( $(wc -c < "$T/good.eml") / 2 )) "$T/good.eml" > "$T/b1.eml"
check "truncated opaque signed-data" "$T/b1.eml" ar

cms_sign alice alice@remote.test "$T/gd.eml"
awk '/^MIIG|^MII/ && !cut { cut = 1; print; next } cut == 1 { cut = 2; next } { print }' "$T/gd.eml" > "$T/b2.eml"
check "detached signature with base64 cut out" "$T/b2.eml" ar

{ mime "garbage" 'application/pkcs7-mime; smime-type=signed-data; name=smime.p7m'
  printf 'Content-Transfer-Encoding: base64\r\n\r\n'; head -c 3000 /dev/urandom | openssl base64 | sed 's/$/\r/'; } > "$T/b3.eml"
check "random bytes as signed-data" "$T/b3.eml" ar

content > "$T/content.txt"
{ mime "wrong type" 'application/pkcs7-mime; smime-type=signed-data; name=smime.p7m'
  printf 'Content-Transfer-Encoding: base64\r\n\r\n'
  openssl cms -encrypt -in "$T/content.txt" -outform DER "$T/carol.pem" | openssl base64 | sed 's/$/\r/'; } > "$T/b4.eml"
check "enveloped-data labelled signed-data" "$T/b4.eml" ar

{ mime "pgp" 'multipart/signed; protocol="application/pgp-signature"; micalg=pgp-sha256; boundary="b"'
  printf '\r\n--b\r\n'; content; printf '\r\n--b\r\nContent-Type: application/pgp-signature\r\n\r\n-----BEGIN PGP SIGNATURE-----\r\nAAAA\r\n-----END PGP SIGNATURE-----\r\n--b--\r\n'; } > "$T/b5.eml"
check "multipart/signed with a PGP signature" "$T/b5.eml" ar

{ mime "enc garbage" 'application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m'
  printf 'Content-Transfer-Encoding: base64\r\n\r\n'; head -c 2000 /dev/urandom | openssl base64 | sed 's/$/\r/'; } > "$T/b6.eml"
check "random bytes as enveloped-data" "$T/b6.eml" dec

{ mime "certs-only" 'application/pkcs7-mime; smime-type=certs-only; name=smime.p7c'
  printf 'Content-Transfer-Encoding: base64\r\n\r\n'
  openssl crl2pkcs7 -nocrl -certfile "$T/alice.pem" -outform DER | openssl base64 | sed 's/$/\r/'; } > "$T/b7.eml"
check "certs-only (not for us)" "$T/b7.eml" none

# a huge certificate set: 300 distinct certificates in a signature
i=0
: > "$T/many.pem"
while [ $i -lt 300 ]; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
	    -subj "/CN=filler $i" -days 2 2>/dev/null >> "$T/many.pem"
	i=$((i + 1))
done
cat "$T/int.pem" >> "$T/many.pem"
content > "$T/content.txt"
{ headers alice@remote.test bob@local.test "many certs"
  openssl cms -sign -in "$T/content.txt" -signer "$T/alice.pem" -inkey "$T/alice.key" \
      -certfile "$T/many.pem" 2>>"$T/cms.log"; } > "$T/b8.eml"
timeout 300 $TOOL_RUN "$TOOL" -a gw.example -t "$T/root.pem" -C - -F alice@remote.test "$T/b8.eml" > "$T/b8.out" 2>/dev/null
ok $? "signature with 301 extra certificates processed"
has_result "$T/b8.out" pass; ok $? "huge certificate set: still verified (smime=pass)"

# deep nesting inside the signed content
{ i=0; while [ $i -lt 200 ]; do printf 'Content-Type: multipart/mixed; boundary="n%d"\r\n\r\n--n%d\r\n' $i $i; i=$((i + 1)); done
  printf 'Content-Type: text/plain\r\n\r\ndeep\r\n'
  i=199; while [ $i -ge 0 ]; do printf '\r\n--n%d--\r\n' $i; i=$((i - 1)); done; } > "$T/deep.txt"
{ headers alice@remote.test bob@local.test "deep"
  openssl cms -sign -in "$T/deep.txt" -signer "$T/alice.pem" -inkey "$T/alice.key" \
      -certfile "$T/int.pem" 2>>"$T/cms.log"; } > "$T/b9.eml"
timeout 300 $TOOL_RUN "$TOOL" -a gw.example -t "$T/root.pem" -C - -F alice@remote.test "$T/b9.eml" > "$T/b9.out" 2>/dev/null
ok $? "200-deep MIME nesting inside a signature processed"
has_result "$T/b9.out" pass; ok $? "deep nesting: the signature still verifies"

# encrypted inside encrypted: decrypted once, the inner layer passes on as it is
{ printf 'MIME-Version: 1.0\r\n'; openssl cms -encrypt -in "$T/content.txt" "$T/bob.crt"; } > "$T/inner.txt" 2>>"$T/cms.log"
{ headers alice@remote.test bob@local.test "double"
  openssl cms -encrypt -in "$T/inner.txt" "$T/bob.crt"; } > "$T/b10.eml" 2>>"$T/cms.log"
timeout 300 $TOOL_RUN "$TOOL" -c "$T/gw/conf" -a gw.example -t "$T/root.pem" -F alice@remote.test -r bob@local.test "$T/b10.eml" > "$T/b10.out" 2>/dev/null
ok $? "encrypted inside encrypted processed"
hdr "$T/b10.out" X-Autosmime-Decryption | grep -q decrypted && grep -q 'pkcs7-mime' "$T/b10.out"
ok $? "encrypted inside encrypted: one layer removed"

# a header-only message and an empty body
headers alice@remote.test bob@local.test empty > "$T/b11.eml"
check "no body at all" "$T/b11.eml" none
done_testing
