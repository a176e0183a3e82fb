#!/bin/bash
# smime_checks: the harness's S/MIME checks (openssl cms and gpgsm) accept a message signed
# through a two-level test CA and reject the same message with one body byte changed, so
# that the end-to-end tests' verification can fail.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/harness/smime.sh"
h_need_cmd openssl gpgsm gpgconf
h_init smime
d=$H_TMP

ext() { printf '%s\n' "$@" > "$d/ext.cnf"; }
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=Test Root/O=autosmime" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	-keyout "$d/root.key" -out "$d/root.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=Test Issuing/O=autosmime" \
	-keyout "$d/sub.key" -out "$d/sub.csr" 2>/dev/null
ext "basicConstraints=critical,CA:TRUE,pathlen:0" "keyUsage=critical,keyCertSign,cRLSign" \
	"extendedKeyUsage=emailProtection" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid"
openssl x509 -req -in "$d/sub.csr" -CA "$d/root.pem" -CAkey "$d/root.key" -CAcreateserial -days 30 \
	-extfile "$d/ext.cnf" -out "$d/sub.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=alice@local.test" \
	-keyout "$d/alice.key" -out "$d/alice.csr" 2>/dev/null
ext "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
	"extendedKeyUsage=emailProtection" "subjectAltName=email:alice@local.test" \
	"subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid"
openssl x509 -req -in "$d/alice.csr" -CA "$d/sub.pem" -CAkey "$d/sub.key" -CAcreateserial -days 30 \
	-extfile "$d/ext.cnf" -out "$d/alice.pem" 2>/dev/null
tap_check "a test root, issuing CA and leaf exist" test -s "$d/alice.pem"

printf 'Content-Type: text/plain; charset=utf-8\r\n\r\nHello from alice.\r\nSecond line.\r\n' > "$d/inner"
{
	printf 'From: alice@local.test\nTo: bob@remote.test\nSubject: signed\n'
	openssl cms -sign -in "$d/inner" -signer "$d/alice.pem" -inkey "$d/alice.key" -certfile "$d/sub.pem" \
		-md sha256 -binary | tr -d '\r'
} > "$d/signed.eml"
tap_check "the message is multipart/signed" smime_is_signed "$d/signed.eml"
tap_check "an unsigned message is not" eval '! smime_is_signed "$d/inner"'
smime_split "$d/signed.eml" "$d/split"
tap_ok $? "smime_split finds content and signature"
tap_check "the content is the signed entity, CRLF" cmp -s "$d/split/content" "$d/inner"
smime_verify_openssl "$d/signed.eml" "$d/root.pem" "$d/out"
tap_ok $? "openssl cms -verify accepts it (LF-only input)"
tap_check "openssl's verified content is the original" grep -q 'Hello from alice' "$d/out"
smime_gpgsm_trust "$d/root.pem" "$d/sub.pem"
tap_ok $? "the test root is trusted by the private gpgsm home"
smime_verify_gpgsm "$d/signed.eml"
tap_ok $? "gpgsm --verify accepts it"

sed 's/Hello from alice/Hello from mallory/' "$d/signed.eml" > "$d/tampered.eml"
smime_verify_openssl "$d/tampered.eml" "$d/root.pem"
tap_ok $(( $? == 0 )) "openssl rejects a changed body"
smime_verify_gpgsm "$d/tampered.eml"
tap_ok $(( $? == 0 )) "gpgsm rejects a changed body"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=Other Root" \
	-keyout "$d/other.key" -out "$d/other.pem" 2>/dev/null
smime_verify_openssl "$d/signed.eml" "$d/other.pem"
tap_ok $(( $? == 0 )) "openssl rejects an untrusted chain"
tap_done
